"""`inv arrays.chip` refuses what cannot be a chip definition in one line, exit 2, storing
nothing: a path that is not a file, a file makecdfenv cannot read, a probe-to-gene table naming
probe sets the chip does not have, and other files for a chip already known."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from ops.arrays.synthetic_arrays import make_chip

pytestmark = [pytest.mark.integration, pytest.mark.r, pytest.mark.arrays]

INV = str(Path(sys.executable).with_name("inv"))


def chip_task(env_name: str, cdf: Path | str, genes: Path | str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INV, "arrays.chip", "-e", env_name, "--cdf", str(cdf), "--genes", str(genes)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_what_cannot_be_a_chip_definition_is_refused_and_nothing_is_stored(make_env, tmp_path):
    env = make_env("chips")
    chip = make_chip(tmp_path / "chip", probe_sets=40, probes=4)
    lake = Path(env.lake.root)

    assert "--cdf 'nowhere.CDF' is not a file" in one_line(
        chip_task(env.name, "nowhere.CDF", chip.probe_genes)
    )
    garbage = tmp_path / "Garbage.CDF"
    garbage.write_text("this is not a CDF file\n")
    assert "Garbage.CDF: makecdfenv could not read it as a CDF file" in one_line(
        chip_task(env.name, garbage, chip.probe_genes)
    )
    strangers = tmp_path / "strangers.tsv"
    strangers.write_text("probe_set\tgene\nRFY00001_at\tG1\nX1_at\tG2\nX2_at\tG3\n")
    assert "strangers.tsv: 2 probe sets are not on chip RFY-Test1 (e.g. X1_at, X2_at)" in (
        one_line(chip_task(env.name, chip.cdf, strangers))
    )
    assert not lake.exists() or not any(lake.rglob("*.*"))

    assert chip_task(env.name, chip.cdf, chip.probe_genes).returncode == 0
    other = tmp_path / "other.tsv"
    other.write_text("probe_set\tgene\nRFY00001_at\tG1\n")
    assert "chip RFY-Test1 (rfytest1cdf) is already known, from other files" in one_line(
        chip_task(env.name, chip.cdf, other)
    )
    stored = sorted(p.name for p in (lake / "chips/affymetrix/rfytest1cdf").iterdir())
    assert stored == ["cdfenv.rds", "chip.json", "probe_genes.tsv"]
    assert (lake / "chips/affymetrix/rfytest1cdf/probe_genes.tsv").read_bytes() == (
        chip.probe_genes.read_bytes()
    )
