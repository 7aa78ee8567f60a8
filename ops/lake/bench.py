"""The lake benchmark: `inv lake.check` against `rclone` on the same generated lake.

A lake of N small files (and matching catalog rows in a bench database) is generated, then:

* size-only: `inv lake.check` (catalog rows vs one listing) against
  `rclone check --size-only LAKE MIRROR`, where MIRROR is a full copy of the lake. rclone
  compares two trees, so it gets the copy as the "catalog"; it lists two trees where we list one
  tree and read the catalog — both are the natural way each tool answers "is it in sync?".
* checksum, cold: `inv lake.check --checksums` with an empty cache against
  `rclone checksum sha256 SUMS LAKE`, SUMS being the catalog's sha256 list (each tool hashes
  every file once and compares with the catalog). `rclone check LAKE MIRROR` (which hashes both
  trees) is timed too, for reference only.
* checksum, warm: the same two commands again; ours answers from its checksum cache.

Every command runs as a subprocess, timed wall-clock, in the same run on the same tree; each
time is the median of `repeat` runs, so a burst of load elsewhere does not decide a ratio.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common import db
from common.db import fetch_one
from common.environments import (
    ENVIRONMENTS_DIR_VARIABLE,
    Environment,
    load_environment,
    state_root,
)
from common.lake.checksums import cache_path
from common.lake.layout import original_file_key
from common.shell import last_lines, run_command, values
from foreman.migrations import apply_migrations
from ops.benchkit import Comparison
from ops.progress import Progress, quiet

FILES_PER_EXPERIMENT = 100


def bench_environment(workdir: Path, name: str = "bench-lake") -> Environment:
    """An environment file for the bench (its own database, lake under its state folder)."""
    envs = workdir / "environments"
    envs.mkdir(parents=True, exist_ok=True)
    (envs / f"{name}.toml").write_text(
        f'[database]\nkind = "embedded"\nname = "refinery_{name.replace("-", "_")}"\n\n'
        f'[lake]\nbackend = "filesystem"\nroot = "{workdir / "lake"}"\n\n'
        '[executor]\nkind = "null"\n'
    )
    os.environ[ENVIRONMENTS_DIR_VARIABLE] = str(envs)
    return load_environment(name)


def generate(env: Environment, count: int, *, seed: int = 7) -> list[tuple[str, str]]:
    """Write `count` small files and their catalog rows; returns [(key, sha256)]."""
    db.drop_database(env, env.database.name)
    with db.connection(env) as conn:
        apply_migrations(conn)
        root = Path(env.lake.root)
        shutil.rmtree(root, ignore_errors=True)
        rng = random.Random(seed)
        rows: list[tuple[str, str]] = []
        buffer = io.StringIO()
        experiments = (count + FILES_PER_EXPERIMENT - 1) // FILES_PER_EXPERIMENT
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO projects (source, accession) VALUES ('bench', 'PRJBENCH') RETURNING id"
            )
            project = fetch_one(cur)[0]
            cur.execute(
                "INSERT INTO individuals (project_id, name) VALUES (%s, 'i') RETURNING id",
                (project,),
            )
            cur.execute(
                "INSERT INTO samples (individual_id, name) VALUES (%s, 's') RETURNING id",
                (fetch_one(cur)[0],),
            )
            cur.execute(
                "INSERT INTO aliquots (sample_id, name) VALUES (%s, 'a') RETURNING id",
                (fetch_one(cur)[0],),
            )
            aliquot = fetch_one(cur)[0]
            for number in range(experiments):
                accession = f"EXPB{number:07d}"
                cur.execute(
                    "INSERT INTO experiments (aliquot_id, accession) VALUES (%s, %s) RETURNING id",
                    (aliquot, accession),
                )
                experiment_id = fetch_one(cur)[0]
                for index in range(min(FILES_PER_EXPERIMENT, count - len(rows))):
                    key = original_file_key("bench", "PRJBENCH", accession, f"part{index:03d}.fq")
                    data = rng.randbytes(rng.randint(200, 4000))
                    path = root / key
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                    sha = hashlib.sha256(data).hexdigest()
                    rows.append((key, sha))
                    buffer.write(
                        f"original\t{experiment_id}\t{path.name}\t{key}\t{len(data)}\t{sha}\n"
                    )
            buffer.seek(0)
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.copy_from(
                buffer,
                "files",
                columns=("kind", "experiment_id", "name", "lake_key", "size_bytes", "sha256"),
            )
            cur.execute("UPDATE files SET stored_at = now()")
        conn.commit()
    return rows


def _timed(argv: list[str], *, expect_ok: bool = True, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = run_command(argv, env=env, check=False, timeout=3600)
    elapsed = time.perf_counter() - started
    if expect_ok and result.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {result.returncode}: {last_lines(result.stderr)}")
    return elapsed


def run_bench(
    count: int,
    workdir: Path | None = None,
    *,
    regenerate: bool = False,
    repeat: int = 3,
    progress: Progress = quiet,
) -> list[Comparison]:
    """`lake.check` against rclone on a lake of `count` files: size-only, then checksums
    with a cold and a warm cache (each time the median of `repeat` runs)."""
    workdir = workdir or state_root() / "bench-lake"
    env = bench_environment(workdir)
    lake, mirror = Path(env.lake.root), workdir / "mirror"
    sums, marker = workdir / "catalog.sha256", workdir / "generated"
    if regenerate or not marker.is_file() or marker.read_text() != str(count):
        marker.unlink(missing_ok=True)
        progress(f"generating {count} files and catalog rows")
        rows = generate(env, count)
        shutil.rmtree(mirror, ignore_errors=True)
        run_command(["cp", "-a", "--", lake, mirror])
        sums.write_text("".join(f"{sha}  {key}\n" for key, sha in rows))
        marker.write_text(str(count))
    else:
        progress(f"reusing the generated lake of {count} files in {workdir} (--regenerate to redo)")
    rclone_config = workdir / "rclone.conf"
    rclone_config.write_text("")
    rclone_env = {"RCLONE_CONFIG": str(rclone_config)}
    inv = [
        sys.executable,
        "-m",
        "invoke",
        "--search-root",
        str(Path(__file__).resolve().parents[2]),
    ]
    check = [*inv, "lake.check", "-e", env.name]
    cache = cache_path(env.state_dir)
    rclone_sizes = ["rclone", "check", "--size-only", "-q", *values(lake, mirror)]
    rclone_sums = ["rclone", "checksum", "sha256", "-q", *values(sums, lake)]
    rclone_both = ["rclone", "check", "-q", *values(lake, mirror)]

    def median_of(argv: list, *, before: Callable[[], None] = lambda: None) -> float:
        """The median of `repeat` timed runs (the same for both tools: load here varies)."""
        runs = []
        for _ in range(repeat):
            before()
            runs.append(_timed(argv, env=rclone_env if argv[0] == "rclone" else None))
        return statistics.median(runs)

    def cold() -> None:
        cache.unlink(missing_ok=True)

    work = f"{count} files"
    timings: list[Comparison] = []
    progress(f"size-only pass (median of {repeat})")
    peer, ours = median_of(rclone_sizes), median_of(check)
    timings.append(Comparison(f"lake.check size-only, {work}", ours,
                              "rclone check --size-only LAKE MIRROR", peer))  # fmt: skip
    progress(f"checksum pass, cold cache (median of {repeat})")
    peer, ours = median_of(rclone_sums), median_of([*check, "--checksums"], before=cold)
    cold_check = f"lake.check --checksums (cold), {work}"
    timings.append(Comparison(cold_check, ours, "rclone checksum sha256 SUMS LAKE", peer))
    both = median_of(rclone_both)
    timings.append(Comparison(cold_check, ours, "rclone check LAKE MIRROR (hashes both)", both))
    progress(f"checksum pass, warm cache (median of {repeat})")
    peer, ours = median_of(rclone_sums), median_of([*check, "--checksums"])
    timings.append(Comparison(f"lake.check --checksums (warm), {work}", ours,
                              "rclone checksum sha256 SUMS LAKE", peer))  # fmt: skip
    return timings
