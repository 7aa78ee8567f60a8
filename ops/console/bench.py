"""`inv bench.console`: the console's search against plain `ILIKE`, on the same synthetic
catalog, in the same run.

A database `bench_console` on the environment's server holds `samples` synthetic samples
(100 projects, four samples per individual, a tissue, and metadata with a diagnosis, a site
and a note drawn from fixed vocabularies), generated in SQL and kept between runs unless its
size changes or `regenerate` is asked for. Both systems answer the same questions, restricted
to samples: how many match a word, and a page of 20 of them (the search ranked, with facet
counts, exactly as the console asks; ILIKE unranked over name, tissue, species and metadata).
Every word is asked `rounds` times of each; p50 and p95 of the latencies are reported.
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
from common.sql import query
from foreman.migrations import apply_migrations
from ops.benchkit import Comparison
from ops.console.search import ilike_samples, search

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
        setup = time.perf_counter() - started
        conn.set_session(readonly=True)
        ours, peer = SystemLatency("search"), SystemLatency("ILIKE")
        matches: dict[str, int] = {}
        for word in QUERIES:  # warm both once: the bench measures steady state
            matches[word] = search(conn, word, filters={"entity": "sample"}).total
            peer_rows = ilike_samples(conn, word)
            peer_total = peer_rows[0][2] if peer_rows else 0
            if peer_total < matches[word]:
                raise ConfigError(f"ILIKE found fewer samples than the search for {word!r}")
        for round_number in range(rounds):
            progress(f"round {round_number + 1} of {rounds}")
            for word in QUERIES:
                ours.seconds.append(
                    _timed(partial(search, conn, word, filters={"entity": "sample"}))
                )
                peer.seconds.append(_timed(partial(ilike_samples, conn, word)))
    return ConsoleBench(samples, len(QUERIES) * rounds, ours, peer, setup, matches)


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
                    "analyses, analysis_targets, search_documents CASCADE")  # fmt: skip
        for table in ("projects", "individuals", "samples"):
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        params = {"individuals": individuals, "samples": samples, "tissues": list(TISSUES),
                  "diagnoses": diagnoses, "sites": list(SITES)}  # fmt: skip
        for name in ("insert_projects", "insert_individuals", "insert_samples", "index_documents"):
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
        cur.execute("VACUUM ANALYZE search_documents")
        conn.autocommit = False
