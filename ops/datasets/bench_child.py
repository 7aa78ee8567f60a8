"""One side of `inv bench.datasets`, run as a process of its own so its peak memory is its own.

    python -m ops.datasets.bench_child ours FILES TARGET OUT
    python -m ops.datasets.bench_child peer-join FILES MATRIX
    python -m ops.datasets.bench_child peer-write MATRIX OUT    (reads MATRIX.qn, R's output)

FILES lists the experiments' gene matrices, one path a line. `ours` is the dataset code
(`workers.processors.expression.aggregate`). The peer is shaped like the anchor's smasher:
pandas reads every file and joins them (an outer join by gene), R's preprocessCore normalises
the joined matrix (`peer_qn.R`), pandas writes it. The anchor hands the matrix to R in memory
(rpy2); here it goes through MATRIX, raw doubles in R's column order beside its gene and
sample names, the cheapest file R reads. Each prints one JSON line: its peak memory in MB.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np


def peak_rss_mb() -> float:
    """This process's high-water resident memory (VmHWM; ru_maxrss would include the parent's
    pages copied at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _files(listing: str) -> list[Path]:
    return [Path(line) for line in Path(listing).read_text().splitlines() if line]


def ours(listing: str, target: str, out: str) -> None:
    from workers.processors.expression.aggregate import write_group_matrix

    goal = np.loadtxt(target, dtype=np.float64, ndmin=1)
    write_group_matrix("all", _files(listing), Path(out), target=goal)


def peer_join(listing: str, matrix: str) -> None:
    import pandas as pd

    frames = [pd.read_csv(path, sep="\t", index_col=0) for path in _files(listing)]
    joined = pd.concat(frames, axis=1, join="outer").sort_index()
    del frames
    Path(matrix + ".genes").write_text("\n".join(joined.index.astype(str)) + "\n")
    Path(matrix + ".samples").write_text("\n".join(joined.columns.astype(str)) + "\n")
    np.asfortranarray(joined.to_numpy(dtype=np.float64)).T.tofile(matrix)


def peer_write(matrix: str, out: str) -> None:
    import pandas as pd

    genes = Path(matrix + ".genes").read_text().splitlines()
    samples = Path(matrix + ".samples").read_text().splitlines()
    values = np.fromfile(matrix + ".qn", dtype=np.float64).reshape(len(samples), len(genes)).T
    frame = pd.DataFrame(values, index=pd.Index(genes, name="Gene"), columns=samples)
    frame.to_csv(out, sep="\t")


def main(argv: list[str]) -> int:
    modes: dict[str, Callable[..., None]] = {
        "ours": ours,
        "peer-join": peer_join,
        "peer-write": peer_write,
    }
    if not argv or argv[0] not in modes:
        print(f"error: usage: bench_child {'|'.join(modes)} ARGS…", file=sys.stderr)
        return 2
    modes[argv[0]](*argv[1:])
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
