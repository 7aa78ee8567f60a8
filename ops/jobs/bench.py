"""How fast the worker content is, next to peers run on the same machine in the same run.

    fastq_qc on gzipped FASTQ   vs  decompressing alone (Python's zlib, the floor for any
                                    pure-Python reader) and `gzip -dc` piped nowhere
    fastq_qc on plain FASTQ     vs  `wc -l` (a line count: the least any reader must do)
    download over loopback HTTP vs  curl writing the same file

Each pair is a `Comparison` (ops/benchkit.py): the ratio is the peer's time ÷ ours, so
above 1 means the worker code is faster than its peer, below 1 slower.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.shell import run_command
from ops.benchkit import Comparison
from ops.local.demo_data import write_demo_delivery
from workers.downloaders.transfer import fetch
from workers.processors.fastq_stats import fastq_stats


def _best(func: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def _pair(
    pair: str,
    ours: tuple[str, Callable[[], object]],
    peer: tuple[str, Callable[[], object]],
    megabytes: float,
    repeats: int,
) -> Comparison:
    peer_seconds = _best(peer[1], repeats)
    our_seconds = _best(ours[1], repeats)
    return Comparison(
        f"{pair}: {ours[0]}", our_seconds, peer[0], peer_seconds,
        unit="MB", refinery_work=round(megabytes, 1), peer_work=round(megabytes, 1),
    )  # fmt: skip


def _qc(path: Path) -> None:
    with open(path, "rb") as handle:
        fastq_stats(handle)


def _gunzip(path: Path) -> None:
    with gzip.open(path, "rb") as handle:
        while handle.read(1 << 21):
            pass


def run_workers_bench(*, reads: int = 100_000, repeats: int = 3) -> list[Comparison]:
    """Measure the QC reader and the downloader against their peers on synthetic data."""
    with tempfile.TemporaryDirectory(prefix="refinery-bench-") as folder:
        work = Path(folder)
        delivery = write_demo_delivery(work / "delivery", samples=1, reads=reads, read_length=150)
        zipped = delivery.fastq_files[0]
        plain = work / "plain.fastq"
        with gzip.open(zipped, "rb") as source, open(plain, "wb") as target:
            shutil.copyfileobj(source, target)
        plain_mb = plain.stat().st_size / 1e6
        gzipped = _pair(
            "QC of gzipped FASTQ",
            ("fastq_qc", lambda: _qc(zipped)),
            ("zlib decompress only", lambda: _gunzip(zipped)),
            plain_mb,
            repeats,
        )
        plain_qc = _pair(
            "QC of plain FASTQ",
            ("fastq_qc", lambda: _qc(plain)),
            ("wc -l", lambda: run_command(["wc", "-l", str(plain)])),
            plain_mb,
            repeats,
        )
        return [gzipped, plain_qc, _download_pair(plain, work, repeats)]


def _download_pair(plain: Path, work: Path, repeats: int) -> Comparison:
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    def handler(*args: Any, **kwargs: Any) -> Quiet:
        return Quiet(*args, directory=str(plain.parent), **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{plain.name}"
    size = plain.stat().st_size

    def ours() -> None:
        target = work / "ours.part"
        target.unlink(missing_ok=True)
        fetch(url, target, expected_size=size)

    def curl() -> None:
        run_command(["curl", "-sSf", "-o", str(work / "curl.out"), url])

    try:
        return _pair(
            "download over loopback HTTP",
            ("download (+md5, sha256)", ours),
            ("curl", curl),
            size / 1e6,
            repeats,
        )
    finally:
        server.shutdown()
        server.server_close()
