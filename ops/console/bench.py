"""`inv bench.console`: the console's search against plain `ILIKE`, on the same synthetic
catalog, in the same run.

A database `bench_console` on the environment's server holds `samples` synthetic samples
(100 projects, four samples per individual, a tissue, and metadata with a diagnosis, a site
and a note drawn from fixed vocabularies), generated in SQL and kept between runs unless its
size changes or `regenerate` is asked for. Both systems answer the same questions, restricted
to samples: how many match a word, and a page of 20 of them (the search ranked, with facet
counts, exactly as the console asks; ILIKE unranked over name, tissue, species and metadata,
every word of the question somewhere). Every question is asked `rounds` times of each; p50
and p95 of the latencies are reported. The search's index is rebuilt whenever the samples are
generated (its time is part of the setup).

Relevance is judged on the questions whose right answers the generator fixes (`JUDGED`): a
sample's name (that sample), and a tissue with a diagnosis (the samples having both). A
question's score is the share of its first page that is right, out of what could be right;
the bench stops with an error when the search scores below ILIKE on any of them.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from psycopg2.extensions import connection as Connection

from common import db
from common.db import fetch_one
from common.environments import Environment
from common.errors import ConfigError
from common.search.index import index_home, rebuild_index
from common.search.query import search
from common.sql import query
from foreman.migrations import apply_migrations
from ops.benchkit import Comparison

DATABASE = "bench_console"
PREFIXES = ("cardio", "neuro", "hepato", "nephro", "derma", "osteo", "gastro", "pneumo",
            "hemato", "myo")  # fmt: skip
SUFFIXES = ("pathy", "itis", "oma", "osis", "algia", "plasia", "trophy", "sclerosis", "emia",
            "genesis")  # fmt: skip
TISSUES = ("blood", "liver", "kidney", "lung", "brain", "heart", "skin", "colon", "stomach",
           "pancreas", "spleen", "thyroid", "muscle", "bone", "breast", "prostate", "ovary",
           "testis", "bladder", "esophagus", "adipose", "nerve", "artery", "retina", "tonsil",
           "placenta", "cartilage", "marrow", "lymph", "saliva")  # fmt: skip
SITES = ("oslo", "lyon", "porto", "turku", "ghent", "leiden", "basel", "graz", "brno", "cork",
         "malmo", "bergen", "aarhus", "tartu", "split", "bari", "pecs", "kaunas", "iasi",
         "lund")  # fmt: skip
# Searched words: rare (a diagnosis, ~1% of samples), common (a tissue, ~3%), a site word
# inside free text (~5%), and one that matches nothing.
QUERIES = ("hematogenesis", "neurosclerosis", "cardiopathy", "osteosclerosis", "kidney", "retina",
           "tonsil", "bergen", "tartu", "zymurgy")  # fmt: skip
# Questions with known right answers, at these shares of the catalog: a sample's name, and
# the tissue with the diagnosis of a sample there (shared by about 1 sample in 300).
JUDGED_NAMES = (0.0123, 0.5, 0.987)
JUDGED_PAIRS = (0.2, 0.4, 0.6)
PAGE = 20

Progress = Callable[[str], None]


@dataclass
class SystemLatency:
    system: str
    seconds: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class ConsoleBench:
    samples: int
    queries: int
    ours: SystemLatency
    peer: SystemLatency
    setup_seconds: float
    matches: dict[str, int]
    relevance: dict[str, dict[str, float]] = field(default_factory=dict)

    def comparisons(self) -> list[Comparison]:
        """Latency p50 and p95, the console's search against ILIKE (see ops/benchkit.py)."""
        return [
            Comparison(
                benchmark=f"search latency {name}, {self.samples:,} samples",
                refinery_seconds=getattr(self.ours, name),
                peer="ILIKE",
                peer_seconds=getattr(self.peer, name),
            )
            for name in ("p50", "p95")
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "queries": self.queries,
            "setup_seconds": self.setup_seconds,
            "matches": self.matches,
            "relevance": self.relevance,
        }


def bench_environment(env: Environment) -> Environment:
    if env.database.kind != "embedded":
        raise ConfigError("inv bench.console runs on an embedded environment (such as local)")
    return dataclasses.replace(env, database=dataclasses.replace(env.database, name=DATABASE))


def run_console_bench(
    env: Environment,
    *,
    samples: int,
    rounds: int = 5,
    regenerate: bool = False,
    progress: Progress = lambda message: None,
) -> ConsoleBench:
    if samples < 4 or rounds < 1:
        raise ConfigError("--samples must be at least 4 and --rounds at least 1")
    bench_env = bench_environment(env)
    started = time.perf_counter()
    with db.connection(bench_env) as conn:  # created on first use (embedded)
        apply_migrations(conn)
        if regenerate or _generated_size(conn) != samples:
            progress(f"generating {samples:,} samples")
            _generate(conn, samples)
            progress("indexing")
            rebuild_index(conn, index_home(conn))
        setup = time.perf_counter() - started
        conn.set_session(readonly=True)
        ours, peer = SystemLatency("search"), SystemLatency("ILIKE")
        questions = [*QUERIES, *judged_questions(samples)]
        matches: dict[str, int] = {}
        for word in QUERIES:  # warm both once: the bench measures steady state
            matches[word] = search(conn, word, filters={"entity": "sample"}).total
            peer_rows = ilike_samples(conn, word)
            peer_total = peer_rows[0][2] if peer_rows else 0
            if peer_total < matches[word]:
                raise ConfigError(f"ILIKE found fewer samples than the search for {word!r}")
        relevance = judge(conn, samples)
        for round_number in range(rounds):
            progress(f"round {round_number + 1} of {rounds}")
            for question in questions:
                ours.seconds.append(
                    _timed(partial(search, conn, question, filters={"entity": "sample"}))
                )
                peer.seconds.append(_timed(partial(ilike_samples, conn, question)))
    return ConsoleBench(samples, len(questions) * rounds, ours, peer, setup, matches, relevance)


def ilike_samples(conn: Connection, text: str, *, limit: int = PAGE) -> list[tuple[int, str, int]]:
    """The naive peer of `search`: (id, name, total matches) of the samples whose fields
    contain every word of `text`, unranked."""
    patterns = [f"%{_escaped(word)}%" for word in text.split()]
    with conn.cursor() as cur:
        cur.execute(query(__file__, "bench.sql", "ilike_samples"),
                    {"patterns": patterns, "limit": limit})  # fmt: skip
        rows = cur.fetchall()
    conn.rollback()
    return rows


def _escaped(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def judged_questions(samples: int) -> list[str]:
    """The judged questions; a pair is worked out as `insert_samples` writes sample `g`."""
    diagnoses = [prefix + suffix for prefix in PREFIXES for suffix in SUFFIXES]
    # (7 apart, so that round shares of a round size do not all land on one diagnosis)
    numbers = [round(share * samples) + 7 * place + 1 for place, share in enumerate(JUDGED_PAIRS)]
    return [*(f"SMP{max(1, round(share * samples))}" for share in JUDGED_NAMES),
            *(f"{TISSUES[g * 7 % len(TISSUES)]} {diagnoses[g * 13 % len(diagnoses)]}"
              for g in numbers)]  # fmt: skip


def judge(conn: Connection, samples: int) -> dict[str, dict[str, float]]:
    """{question: {system: share of the first page that is right}}; stops when the search
    is less relevant than ILIKE on any question."""
    scores: dict[str, dict[str, float]] = {}
    for question in judged_questions(samples):
        with conn.cursor() as cur:
            cur.execute(query(__file__, "bench.sql", "right_answers"), {"question": question})
            right = {row[0] for row in cur.fetchall()}
        conn.rollback()
        found = search(conn, question, filters={"entity": "sample"}, limit=PAGE)
        ours = [hit["entity_id"] for hit in found.hits]
        theirs = [row[0] for row in ilike_samples(conn, question)]
        best = max(1, min(PAGE, len(right)))
        scores[question] = {
            "search": len(right.intersection(ours)) / best,
            "ILIKE": len(right.intersection(theirs)) / best,
        }
        if scores[question]["search"] < scores[question]["ILIKE"]:
            raise ConfigError(f"the search is less relevant than ILIKE for {question!r}: "
                              f"{scores[question]}")  # fmt: skip
    return scores


def _timed(action: Callable[[], object]) -> float:
    clock = time.perf_counter()
    action()
    return time.perf_counter() - clock


def _generated_size(conn: Connection) -> int | None:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('bench_console_size') IS NOT NULL")
        if not fetch_one(cur)[0]:
            conn.commit()
            return None
        cur.execute("SELECT samples FROM bench_console_size")
        row = cur.fetchone()
    conn.commit()
    return row[0] if row else None


def _generate(conn: Connection, samples: int) -> None:
    """The synthetic catalog in a handful of set-based statements, indexed once at the end."""
    diagnoses = [prefix + suffix for prefix in PREFIXES for suffix in SUFFIXES]
    individuals = max(1, samples // 4)
    with conn.cursor() as cur:
        cur.execute("TRUNCATE projects, individuals, samples, aliquots, experiments, files, "
                    "analyses, analysis_targets, search_changes CASCADE")  # fmt: skip
        for table in ("projects", "individuals", "samples"):
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        params = {"individuals": individuals, "samples": samples, "tissues": list(TISSUES),
                  "diagnoses": diagnoses, "sites": list(SITES)}  # fmt: skip
        for name in ("insert_projects", "insert_individuals", "insert_samples"):
            cur.execute(query(__file__, "bench.sql", name), params)
        for table in ("projects", "individuals", "samples"):
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cur.execute("CREATE TABLE IF NOT EXISTS bench_console_size (samples bigint NOT NULL)")
        cur.execute("TRUNCATE bench_console_size")
        cur.execute("INSERT INTO bench_console_size VALUES (%s)", (samples,))
    conn.commit()
    with conn.cursor() as cur:
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE samples")
        cur.execute("VACUUM ANALYZE individuals")
        conn.autocommit = False
