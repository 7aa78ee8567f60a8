"""Child tools (pg_dump & co.) get the database password from a 0600 file, never their environ."""

from __future__ import annotations

import os
import re
import stat
import threading
from pathlib import Path

import pytest

from common import db
from common.pgpass import libpq_child_environment
from common.shell import run_command
from ops.db.backups.tools import tool
from tests.support.foreman import wait_until

pytestmark = pytest.mark.integration


def _children_named(name: str) -> list[int]:
    """Live processes started by this test process whose program is `name`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            argv0 = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        if int(ppid) == os.getpid() and os.path.basename(argv0) == name.encode():
            found.append(int(entry.name))
    return found


REPO = Path(__file__).resolve().parents[3]
# PGPASSWORD set as a variable: env["PGPASSWORD"], {"PGPASSWORD": …}, PGPASSWORD=… in a command.
HANDS_OVER_PGPASSWORD = re.compile(r"""\[["']PGPASSWORD["']\]|PGPASSWORD=|["']PGPASSWORD["']\s*:""")


def _dump(env, target: Path) -> Path:
    """pg_dump exactly as the backups run it: through the command wrapper, with the
    environment `libpq_child_environment` gives every child tool."""
    with libpq_child_environment(env) as libpq:
        run_command([tool("pg_dump"), "-Fc", "-f", target], env=libpq)
    return target


def test_no_production_code_hands_a_password_to_a_child_in_its_environment():
    offenders = [
        f"{path.relative_to(REPO)}"
        for folder in ("common", "foreman", "workers", "ops")
        for path in (REPO / folder).rglob("*.py")
        if re.search(
            r"""\[["']PGPASSWORD["']\]|PGPASSWORD=|["']PGPASSWORD["']\s*:""", path.read_text()
        )
    ]
    assert offenders == []


def test_a_running_pg_dump_has_no_password_in_its_environment(env, tmp_path):
    password = str(db.connection_params(env)["password"])
    blocker = db.connect(env)
    with blocker.cursor() as cur:  # pg_dump waits for this lock: it is caught while it runs
        cur.execute("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
    outcome: dict[str, object] = {}
    dump = threading.Thread(
        target=lambda: outcome.setdefault("backup", _dump(env, tmp_path / "dump.custom"))
    )
    dump.start()
    try:
        pid = wait_until(lambda: _children_named("pg_dump"), timeout=30, what="pg_dump ran")[0]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        variables = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        assert password not in Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        assert "PGPASSWORD" not in variables
        passfile = Path(variables["PGPASSFILE"])
        assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
        assert password in passfile.read_text()
    finally:
        blocker.rollback()
        blocker.close()
        dump.join(60)
    assert Path(outcome["backup"]).stat().st_size > 0
    assert not passfile.exists()  # removed once the tool finished
