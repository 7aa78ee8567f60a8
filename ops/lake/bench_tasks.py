"""`inv bench.lake`: lake.check against rclone on a generated lake (see ops/lake/bench.py)."""

from __future__ import annotations

from ops.lake.bench import run_bench
from ops.taskkit import console, print_table, task


@task(
    help={
        "files": "how many small files to generate (default 100000)",
        "regenerate": "generate the lake again even if one of that size is there",
        "repeat": "runs per command; the median is reported (default 3)",
    }
)
def bench_lake(c, files=100_000, regenerate=False, repeat=3):
    """Time lake.check against rclone (size-only, checksum cold and warm) on one lake."""
    timings = run_bench(int(files), regenerate=regenerate, repeat=int(repeat), say=console.print)
    print_table(
        f"lake.check vs rclone, {int(files)} files (ratio = rclone time / ours; > 1 is faster)",
        ("mode", "ours (s)", "peer (s)", "ratio", "peer command"),
        (
            (t.mode, f"{t.ours:.2f}", f"{t.peer:.2f}", f"{t.ratio:.1f}x", t.peer_command)
            for t in timings
        ),
    )
