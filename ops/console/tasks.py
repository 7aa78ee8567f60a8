"""`inv console -e ENV`: serve the web console (top-level task, like `inv rollback`)."""

from __future__ import annotations

from invoke import Context

from ops.taskkit import ENV_HELP, environment, task
from ops.taskkit import console as out

DEFAULT_ADDRESS = "127.0.0.1:8765"


@task(
    help={
        "env": ENV_HELP,
        "address": f"IP:PORT to listen on (default {DEFAULT_ADDRESS}; an IP literal, or "
        "localhost for 127.0.0.1; beyond loopback only with TLS or --behind-proxy)",
        "certificate": "PEM certificate file: serve HTTPS (with --key)",
        "key": "PEM private key file of --certificate",
        "behind_proxy": "an HTTPS proxy in front terminates TLS: require X-Forwarded-Proto: https",
    }
)
def console(
    c: Context,
    env: str,
    address: str = DEFAULT_ADDRESS,
    certificate: str = "",
    key: str = "",
    behind_proxy: bool = False,
) -> None:
    """Serve the web console: jobs, catalog, results, health and search (Ctrl-C stops it)."""
    import uvicorn

    from ops.console.app import create_app
    from ops.console.listening import listening_plan

    plan = listening_plan(address, certificate=certificate, key=key, behind_proxy=behind_proxy)
    settings = environment(env)
    app = create_app(settings, plan.serving)
    out.print(f"{settings.name} console on {plan.url} (sign in with your API token)")
    uvicorn.run(
        app,
        host=plan.serving.host,
        port=plan.serving.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # never let a client's X-Forwarded-* rewrite who it is
        server_header=False,
        ssl_certfile=plan.certificate,
        ssl_keyfile=plan.key,
    )
