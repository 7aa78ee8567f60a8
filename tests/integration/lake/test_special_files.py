"""`inv lake.check` never calls a lake "in sync" while a link or a FIFO sits in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.lake import open_lake

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("make_special", ["fifo", "symlink"])
def test_inv_lake_check_reports_a_fifo_or_a_symlink_and_exits_non_zero(make_env, make_special):
    env = make_env("sp")
    lake = open_lake(env)
    inv = [sys.executable, "-m", "invoke", "lake.check", "-e", env.name, "--json"]
    clean = subprocess.run(inv, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    target = lake.root / "raw/delivery-P/P-S1-R1/S1.fastq"
    target.parent.mkdir(parents=True)
    if make_special == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/etc/hostname")
    dirty = subprocess.run(inv, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert dirty.returncode == 3, dirty.stderr
    expected = "FIFO" if make_special == "fifo" else "symbolic link"
    assert json.loads(dirty.stdout)["differences"] == [
        {"kind": "special", "key": "raw/delivery-P/P-S1-R1/S1.fastq", "expected": "nothing",
         "actual": expected}
    ]  # fmt: skip
