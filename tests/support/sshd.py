"""A real OpenSSH server on loopback for runbook tests, started and stopped by pid.

It gets its own host key, an authorized client key and a config in a temporary folder; it
listens on 127.0.0.1 only and lets the current user log in with the client key.
"""

from __future__ import annotations

import getpass
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.services import free_port, stop_process, wait_for_port, which_or_fail

SSHD = "/usr/sbin/sshd"


@dataclass
class SshServer:
    """A running sshd and the key that logs in to it."""

    host: str
    port: int
    user: str
    client_key: Path
    process: subprocess.Popen
    log_file: Path


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )


def start_sshd(directory: Path) -> SshServer:
    """Generate keys and a config under `directory` and start sshd; fail clearly if it can't."""
    if not Path(SSHD).exists():
        pytest.fail("sshd is not installed: run `bash scripts/system-packages.sh` as root")
    which_or_fail("ssh-keygen", "install openssh-client (scripts/system-packages.sh)")
    directory.mkdir(parents=True, exist_ok=True)
    host_key, client_key = directory / "host_ed25519", directory / "client_ed25519"
    _keygen(host_key)
    _keygen(client_key)
    authorized = directory / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    authorized.chmod(0o600)
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {port}",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {directory / 'sshd.pid'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PrintMotd no",
                "",
            ]
        )
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    log_file = directory / "sshd.log"
    process = subprocess.Popen(
        [SSHD, "-D", "-f", str(config), "-E", str(log_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=15, process=process)
    except RuntimeError as exc:
        stop_process(process)
        detail = log_file.read_text()[-500:] if log_file.exists() else ""
        pytest.fail(f"sshd did not start ({exc}): {detail}")
    return SshServer("127.0.0.1", port, getpass.getuser(), client_key, process, log_file)


def stop_sshd(server: SshServer) -> None:
    stop_process(server.process)


def unused_port() -> int:
    """A loopback port nothing listens on (for a host that must fail to connect)."""
    return free_port()
