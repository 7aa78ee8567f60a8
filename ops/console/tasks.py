"""`inv console -e ENV`: serve the web console (top-level task, like `inv rollback`)."""

from __future__ import annotations

import ipaddress

from invoke import Context

from common.errors import ValidationError
from ops.taskkit import ENV_HELP, environment, err_console, task
from ops.taskkit import console as out

DEFAULT_ADDRESS = "127.0.0.1:8765"


@task(
    help={
        "env": ENV_HELP,
        "address": f"HOST:PORT to listen on (default {DEFAULT_ADDRESS}, loopback only)",
    }
)
def console(c: Context, env: str, address: str = DEFAULT_ADDRESS) -> None:
    """Serve the web console: jobs, catalog, results, health and search (Ctrl-C stops it)."""
    import uvicorn

    from foreman.settings import parse_address
    from ops.console.app import create_app

    try:
        parsed = parse_address(address)
    except ValueError as exc:
        raise ValidationError(f"--address {exc}") from None
    if parsed is None:
        raise ValidationError("--address must be HOST:PORT")
    host, port = parsed
    settings = environment(env)
    app = create_app(settings)
    if not _is_loopback(host):
        err_console.print(
            f"note: listening on {host}, not loopback: put TLS in front before anyone uses it"
        )
    out.print(f"{settings.name} console on http://{host}:{port}/ (sign in with your API token)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
