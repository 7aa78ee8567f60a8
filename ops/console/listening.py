"""Where `inv console` may listen, decided before anything starts.

Tokens travel in every request, so the console listens beyond loopback only when the
connection is encrypted: it serves TLS itself (`--certificate` and `--key`), or a proxy in
front does and says so (`--behind-proxy`: requests must carry `X-Forwarded-Proto: https`).
The address is an IP literal; a host name is never resolved (what it names can change under
the console), except `localhost`, which is taken to mean 127.0.0.1 without asking anyone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from common.errors import ValidationError
from common.settings.jobs import parse_address
from ops.console.security import Serving


@dataclass(frozen=True)
class ListeningPlan:
    serving: Serving
    certificate: str | None = None
    key: str | None = None

    @property
    def url(self) -> str:
        host = self.serving.host
        literal = f"[{host}]" if ":" in host else host
        return f"{self.serving.scheme}://{literal}:{self.serving.port}/"


def listening_plan(
    address: str, *, certificate: str = "", key: str = "", behind_proxy: bool = False
) -> ListeningPlan:
    """The checked address and TLS files, or a ValidationError saying what to change."""
    try:
        parsed = parse_address(address)
    except ValueError as exc:
        raise ValidationError(f"--address {exc}") from None
    if parsed is None:
        raise ValidationError("--address must be IP:PORT, such as 127.0.0.1:8765")
    host, port = parsed
    if host.lower() == "localhost":
        host = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValidationError(
            f"--address takes an IP address, not the name {host!r} (names are not resolved)"
        ) from None
    if bool(certificate) != bool(key):
        raise ValidationError("--certificate and --key go together")
    if certificate and behind_proxy:
        raise ValidationError("--behind-proxy means the proxy serves TLS: drop --certificate")
    files = [_readable(certificate, "--certificate"), _readable(key, "--key")] if key else []
    if not ip.is_loopback and not files and not behind_proxy:
        raise ValidationError(
            f"--address {ip} is beyond loopback: tokens would travel in clear text "
            "(give --certificate and --key, or --behind-proxy behind an HTTPS proxy)"
        )
    serving = Serving(host=str(ip), port=port, tls=bool(files), behind_proxy=behind_proxy)
    if files:
        return ListeningPlan(serving, certificate=files[0], key=files[1])
    return ListeningPlan(serving)


def _readable(path: str, option: str) -> str:
    file = Path(path).expanduser()
    try:
        with file.open("rb") as handle:
            head = handle.read(64 * 1024)
    except OSError as exc:
        raise ValidationError(f"{option} {path}: {exc.strerror or 'cannot be read'}") from None
    if b"-----BEGIN " not in head:
        raise ValidationError(f"{option} {path} is not a PEM file")
    return str(file.resolve())
