"""The console benchmark runs end to end at a tiny size (timings are not asserted)."""

from __future__ import annotations

import pytest

from ops.console.bench import QUERIES, judged_questions, run_console_bench

pytestmark = pytest.mark.integration


def test_bench_console_searches_every_word_with_both_systems(make_env):
    env = make_env("benchconsole")
    result = run_console_bench(env, samples=2000, rounds=2)
    assert result.queries == 2 * (len(QUERIES) + len(judged_questions(2000)))
    assert len(result.ours.seconds) == len(result.peer.seconds) == result.queries
    # the vocabularies spread evenly: a tissue is 1 in 30 samples, a diagnosis 1 in 100
    assert result.matches["kidney"] == pytest.approx(2000 / 30, abs=2)
    assert result.matches["cardiopathy"] == 20
    assert result.matches["zymurgy"] == 0
    # every judged question has right answers, and the search puts them on its first page
    assert set(result.relevance) == set(judged_questions(2000))
    assert all(score["search"] == 1.0 for score in result.relevance.values()), result.relevance
    comparisons = result.comparisons()
    assert [row.benchmark for row in comparisons] == [
        "search latency p50, 2,000 samples", "search latency p95, 2,000 samples",
    ]  # fmt: skip
    assert all(row.refinery_seconds > 0 and row.peer_seconds > 0 for row in comparisons)
    assert all(row.peer == "ILIKE" and row.ratio > 0 for row in comparisons)
    again = run_console_bench(env, samples=2000, rounds=1)  # reuses the generated catalog
    assert again.matches == result.matches


def test_inv_bench_console_reports_both_percentiles_as_json(make_env):
    import json

    from tests.support.inv import run_inv

    env = make_env("benchconsoleinv")
    result = run_inv("bench.console", "-e", env.name, "--samples", "1500", "--rounds", "1",
                     "--json", timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)["comparisons"]
    assert [row["benchmark"] for row in rows] == [
        "search latency p50, 1,500 samples", "search latency p95, 1,500 samples",
    ]  # fmt: skip
    assert all(row["peer"] == "ILIKE" and row["ratio"] > 0 for row in rows)
