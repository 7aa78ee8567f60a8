"""A real OpenSSH server on loopback: the sandbox's foreman host (and the tests' SSH host).

It gets its own host key and an authorized operator key, generated in its folder, and a
config that listens on 127.0.0.1 only and lets the current user in with that key alone.
`known_hosts` in the same folder holds the host key, so clients verify it strictly.
`path` (optional) is the PATH of its sessions: the sandbox puts the foreman host's own
commands there, as provisioning installs them on a real host.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from common.shell import run_command
from ops.sandbox.processes import SandboxError, free_port, spawn, stop_process, wait_for_port

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")
HOST_KEY = "host_ed25519"
CLIENT_KEY = "client_ed25519"
KNOWN_HOSTS = "known_hosts"


@dataclass
class SshServer:
    """A running sshd and the key that logs in to it."""

    host: str
    port: int
    user: str
    client_key: Path
    process: subprocess.Popen
    log_file: Path

    @property
    def known_hosts(self) -> Path:
        return self.client_key.with_name(KNOWN_HOSTS)


def _keygen(path: Path) -> None:
    if path.exists():
        return
    run_command(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", path])


def write_sshd_config(directory: Path, port: int, *, path: str | None = None) -> Path:
    """Keys (generated once) and a loopback-only sshd config in `directory`."""
    if not Path(SSHD).exists():
        raise SandboxError("sshd is not installed: run `bash scripts/system-packages.sh` as root")
    if shutil.which("ssh-keygen") is None:
        raise SandboxError("ssh-keygen is not installed: install openssh-client")
    directory.mkdir(parents=True, exist_ok=True)
    host_key, client_key = directory / HOST_KEY, directory / CLIENT_KEY
    _keygen(host_key)
    _keygen(client_key)
    authorized = directory / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    authorized.chmod(0o600)
    public_host_key = " ".join(Path(f"{host_key}.pub").read_text().split()[:2])
    (directory / KNOWN_HOSTS).write_text(f"[127.0.0.1]:{port} {public_host_key}\n")
    lines = [
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
        "AllowTcpForwarding local",
    ]
    if path:
        lines.append(f"SetEnv PATH={path}")
    config = directory / "sshd_config"
    config.write_text("\n".join(lines) + "\n")
    return config


def privilege_separation_dir_needed() -> Path | None:
    """The folder sshd chroots its unprivileged child into, when it needs one: only an sshd
    started as root separates privileges (and refuses to start without the folder, which a
    reboot removes from /run). A user's sshd serves that user alone and never looks for it;
    that user could not create it in /run either."""
    return PRIVSEP_DIR if os.geteuid() == 0 else None


def start_sshd(directory: Path, *, port: int | None = None, path: str | None = None) -> SshServer:
    """Generate keys and a config under `directory` and start sshd on 127.0.0.1:`port`."""
    port = port or free_port()
    config = write_sshd_config(directory, port, path=path)
    privilege_separation_dir = privilege_separation_dir_needed()
    if privilege_separation_dir is not None:
        privilege_separation_dir.mkdir(parents=True, exist_ok=True)
    log_file = directory / "sshd.log"
    process = spawn([SSHD, "-D", "-f", str(config), "-E", str(log_file)], log_file=log_file)
    try:
        wait_for_port(port, timeout=15, process=process)
    except SandboxError as exc:
        stop_process(process)
        detail = log_file.read_text()[-500:] if log_file.exists() else ""
        raise SandboxError(f"sshd did not start ({exc}): {detail}") from None
    return SshServer(
        "127.0.0.1", port, getpass.getuser(), directory / CLIENT_KEY, process, log_file
    )
