"""Aggregating gene matrices takes memory for one file's read and one block of genes,
however many samples the group has (each size measured in a process of its own)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

pytestmark = pytest.mark.integration

CHILD = """
import json, sys
from pathlib import Path
import numpy as np
from workers.processors.expression.aggregate import write_group_matrix
def rss(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
files = [Path(p) for p in sys.argv[2:]]
before = rss("VmRSS:")
write_group_matrix("g", files, Path(sys.argv[1]), target=np.linspace(0, 100, 20000),
                   samples_per_read=25)
print(json.dumps({"before": before, "peak": rss("VmHWM:")}))
"""


def _peak_growth(out: Path, paths: list[Path]) -> int:
    """How far the process's memory rose above where it stood before the call (bytes)."""
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), *map(str, paths)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[3],
    )  # fmt: skip
    report = json.loads(completed.stdout)
    return int(report["peak"] - report["before"])


@pytest.mark.slow
def test_memory_grows_with_one_block_not_with_the_matrix(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    genes, per_file = 20_000, 50
    names = [f"G{number:06d}" for number in range(genes)]
    paths = []
    for number in range(16):
        values = rng.gamma(0.6, 40.0, size=(genes, per_file)).round(3)
        columns = [f"F{number}S{i}" for i in range(per_file)]
        path = tmp_path / f"f{number}.tsv"
        frame = pl.DataFrame({"Gene": names}).hstack(pl.DataFrame(values, schema=columns))
        frame.write_csv(path, separator="\t")
        paths.append(path)
    small = _peak_growth(tmp_path / "small.tsv", paths[:2])  # 100 samples: 16 MB as doubles
    large = _peak_growth(tmp_path / "large.tsv", paths)  # 800 samples: 128 MB
    # Measured: about 75 MB at both sizes (polars' and numpy's working memory for one file
    # and one block), within 10 MB of each other. Eight times the matrix may add at most a
    # quarter of the difference in its size.
    assert large - small < (128e6 - 16e6) / 4, f"{small / 1e6:.0f} MB → {large / 1e6:.0f} MB"
