"""What the platform adds to salmon: one sample quantified through the running environment,
next to `salmon quant` run by hand on the same reads, index, flags and threads.

The synthetic organism of ops/analyses/synthetic_reads.py is indexed through the platform
(`index.build`'s request, built by the environment's own foreman and worker); then, for each
sample in turn, on a quiet platform:

    Refinery   a delivery of the one sample is surveyed; the real foreman and workers
               download it and run its salmon job. Timed: from the foreman claiming the salmon
               job (its `dispatched_at`) to the bench seeing the job succeeded — the moment its
               analysis and files were committed, seen when the commit's notification on the
               jobs channel arrives (polled every POLL_SECONDS besides). The survey, the
               download and the index build are not timed; the worker's start, the index
               copied out of the lake, the read-length probe, salmon and the storing of its
               three files are.
    salmon     `salmon quant -i <the same index, long k-mer> -l A -r <the same FASTQ> --seqBias
               -p <[rnaseq] salmon_threads> -o <folder>` (the argv of
               workers.processors.salmon_tool.quantify), wall time of the process.

The sample's QC job is queued with its salmon job once its files are stored, as always, and
waits for the salmon job's end: before it did, the two ran side by side on the machine's cores,
and on a small machine that was most of the gap that grew with the reads.
`--json` also gives each sample's `worker_start_seconds`: the part from the claim to the worker
process marking the job running.

The per-sample ratio is salmon's time ÷ the platform's (target ≥ 0.95: at most 5% overhead).
salmon's own time varies by a tenth from one run to the next on the same reads (measured: 0.78
to 1.23 s at 100,000 reads), so `--json` also gives the median of the per-sample ratios and the
median of the per-sample differences (the platform's time less salmon's, in ms), which one
outlying run of either side does not move.
Both sides quantified the same reads when each processed the sample's every read and their
quant.sf NumReads totals (the fragments salmon assigned) agree within NUMREADS_TOLERANCE of the
total: salmon's mapping of a read does not depend on the run, so the totals differ only by the
three decimals quant.sf keeps per transcript (measured: under 0.01 reads in 100,000).
"""

from __future__ import annotations

import csv
import json
import select
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg2.extensions import connection as Connection

from common.db import connection, transaction
from common.environments import Environment
from common.errors import ConfigError, JobError
from common.lake import Lake, open_lake
from common.settings.jobs import RnaSeqSettings
from common.shell import run_command
from common.sql import query
from foreman.loop import NOTIFY_CHANNEL
from foreman.service import foreman_pid
from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from ops.benchkit import Comparison, wait_for_quiet_platform
from ops.index.build import build_index
from ops.progress import Progress, quiet
from workers.processors.indices import get_index
from workers.submit import submit_survey

TARGET_RATIO = 0.95
# The commit's notification ends the wait; the poll is only a fallback, and a slow one: a
# query every 20 ms took CPU from the two-threaded salmon it was timing, on two cores.
POLL_SECONDS = 0.5
NUMREADS_TOLERANCE = 1e-4
ORGANISM_SEED = 17
WAIT_SECONDS = 900.0


def _sql(name: str) -> str:
    return query(__file__, "salmon_bench.sql", name)


@dataclass(frozen=True)
class SampleRun:
    """One sample, both sides."""

    accession: str
    reads: int
    refinery_seconds: float
    salmon_seconds: float
    # Of refinery_seconds: from the claim to the worker process marking the job running.
    worker_start_seconds: float
    refinery_numreads: float
    salmon_numreads: float
    salmon_reads: int
    percent_mapped: float
    library_type: str


@dataclass(frozen=True)
class SalmonBench:
    """The comparisons (one per sample, one overall) and what stands beside them in `--json`."""

    comparisons: list[Comparison]
    samples: list[SampleRun]
    threads: int
    salmon_version: str

    @property
    def details(self) -> dict[str, Any]:
        total_reads = sum(s.reads for s in self.samples)
        ours = sum(s.refinery_seconds for s in self.samples)
        theirs = sum(s.salmon_seconds for s in self.samples)
        return {
            "threads": self.threads,
            "salmon_version": self.salmon_version,
            "timed": "Refinery: salmon job claimed → analysis committed; salmon: salmon quant",
            "poll_seconds": POLL_SECONDS,
            "numreads_tolerance": NUMREADS_TOLERANCE,
            "reads_per_second_per_thread": {
                "refinery": reads_per_second_per_thread(total_reads, ours, self.threads),
                "salmon": reads_per_second_per_thread(total_reads, theirs, self.threads),
            },
            "median_sample_ratio": statistics.median(
                s.salmon_seconds / s.refinery_seconds for s in self.samples
            ),
            "median_overhead_ms": statistics.median(
                (s.refinery_seconds - s.salmon_seconds) * 1000 for s in self.samples
            ),
            "samples": [s.__dict__ for s in self.samples],
        }


def reads_per_second_per_thread(reads: int, seconds: float, threads: int) -> float:
    return reads / seconds / threads if seconds > 0 else float("inf")


def numreads_total(quant_sf: Path) -> float:
    """The sum of a quant.sf's NumReads column: the fragments salmon assigned."""
    with open(quant_sf) as handle:
        return sum(float(row["NumReads"]) for row in csv.DictReader(handle, delimiter="\t"))


def run_salmon_bench(
    env: Environment, *, samples: int = 3, reads: int = 100_000, progress: Progress = quiet
) -> SalmonBench:
    """Quantify `samples` simulated single-end samples of `reads` reads each, through the
    running environment `env` and by hand; `env`'s background foreman must be up."""
    if foreman_pid(env) is None:
        raise ConfigError(f"no foreman runs for {env.name}: start it with inv local.up")
    threads = RnaSeqSettings.for_environment(env).salmon_threads
    organism = make_organism(ORGANISM_SEED)
    lake = open_lake(env)
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    with (
        connection(env, autocommit=True) as conn,
        tempfile.TemporaryDirectory(prefix="salmon-bench-") as scratch,
    ):
        work = Path(scratch)
        fasta, gtf = organism.write_genome(work / "reference")
        progress("indexing the synthetic organism")
        request = build_index(env, organism.name, fasta=str(fasta), gtf=str(gtf))
        index = _wait_for_index(conn, request.index_id)
        index_dir = _copy_index(lake, index, work / "index")
        runs = []
        for number in range(1, samples + 1):
            progress("quantifying", total=samples)
            runs.append(
                _one_sample(
                    env,
                    conn,
                    lake,
                    work,
                    organism_index=(organism, index_dir),
                    project=f"SB{stamp}N{number}",
                    seed=number,
                    reads=reads,
                    threads=threads,
                )
            )
            progress("quantifying", advance=1, total=samples)
    return SalmonBench(_comparisons(runs), runs, threads, str(index["salmon_version"]))


def _comparisons(runs: list[SampleRun]) -> list[Comparison]:
    comparisons = [
        Comparison(
            f"salmon quant {run.accession}",
            run.refinery_seconds,
            "salmon by hand",
            run.salmon_seconds,
            unit="reads",
            refinery_work=run.reads,
            peer_work=run.reads,
            target=TARGET_RATIO,
        )
        for run in runs
    ]
    total = sum(run.reads for run in runs)
    comparisons.append(
        Comparison(
            f"salmon quant, {len(runs)} samples",
            sum(r.refinery_seconds for r in runs),
            "salmon by hand",
            sum(r.salmon_seconds for r in runs),
            unit="reads",
            refinery_work=total,
            peer_work=total,
            target=TARGET_RATIO,
        )
    )
    return comparisons


def _wait_for_index(conn: Connection, index_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        index = get_index(conn, index_id)
        if index["state"] == "ready":
            return index
        if index["state"] == "failed":
            raise JobError(f"the bench's transcriptome index {index_id} failed to build")
        time.sleep(0.5)
    raise JobError(f"the bench's transcriptome index {index_id} was not built in time")


def _copy_index(lake: Lake, index: dict[str, Any], folder: Path) -> Path:
    """The long (k=31) index out of the lake, as the salmon job copies it."""
    prefix = str(index["prefix"])
    for info in lake.list(prefix + "long/"):
        target = folder / info.key[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        with lake.open_read(info.key) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
    return folder / "long"


def _one_sample(
    env: Environment, conn: Connection, lake: Lake, work: Path, *, organism_index: tuple[Any, Path],
    project: str, seed: int, reads: int, threads: int,
) -> SampleRun:  # fmt: skip
    organism, index_dir = organism_index
    delivery = work / project
    planted = write_delivery(
        delivery, organism, [PlannedSample("S", seed=seed, fragments=reads)], project=project
    )
    (accession,) = planted
    wait_for_quiet_platform(conn, timeout=WAIT_SECONDS)
    with transaction(env) as survey_conn:
        submit_survey(survey_conn, str(delivery), env)
    claimed, started, committed = _time_salmon_job(conn, accession)
    with conn.cursor() as cur:
        cur.execute(_sql("salmon_result"), {"accession": accession})
        result = cur.fetchone()
    if result is None:
        raise JobError(f"the salmon job of {accession} succeeded but left no quant.sf")
    metadata, lake_key = result
    ours = numreads_total(_lake_file(lake, lake_key, work / "ours.sf"))
    # the project's summary, queued by its last quantification
    wait_for_quiet_platform(conn, timeout=WAIT_SECONDS)
    fastq = planted[accession].files[0]
    output = work / f"{project}-salmon"
    start = time.perf_counter()
    run_command(
        [
            "salmon",
            "quant",
            "-i",
            index_dir,
            "-l",
            "A",
            "-r",
            fastq,
            "--seqBias",
            "-p",
            threads,
            "-o",
            output,
        ]
    )
    salmon_seconds = time.perf_counter() - start
    return SampleRun(
        accession=accession,
        reads=int(metadata["reads"]),
        refinery_seconds=committed - claimed,
        worker_start_seconds=started - claimed,
        salmon_seconds=salmon_seconds,
        refinery_numreads=ours,
        salmon_numreads=numreads_total(output / "quant.sf"),
        salmon_reads=int(
            json.loads((output / "aux_info" / "meta_info.json").read_text())["num_processed"]
        ),
        percent_mapped=float(metadata["percent_mapped"]),
        library_type=str(metadata["library_type"]),
    )


def _lake_file(lake: Lake, key: str, target: Path) -> Path:
    with lake.open_read(key) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)
    return target


def _time_salmon_job(conn: Connection, accession: str) -> tuple[float, float, float]:
    """(claimed, started, committed) of the sample's salmon job, as epoch seconds: woken by
    the jobs channel (the job's commit queues its project's summary, which notifies) or
    after POLL_SECONDS, whichever comes first."""
    deadline = time.monotonic() + WAIT_SECONDS
    with conn.cursor() as cur:
        cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
        try:
            while time.monotonic() < deadline:
                cur.execute(_sql("salmon_job"), {"accession": accession})
                row = cur.fetchone()
                seen = time.time()
                if row is not None and row[1] == "succeeded":
                    return float(row[2]), float(row[4]), seen
                if row is not None and row[1] == "failed":
                    raise JobError(f"the salmon job of {accession} failed: {row[3]}")
                select.select([conn], [], [], POLL_SECONDS)
                conn.poll()
                conn.notifies.clear()
        finally:
            cur.execute(f"UNLISTEN {NOTIFY_CHANNEL}")
    raise JobError(f"the salmon job of {accession} did not end in {WAIT_SECONDS:g} s")
