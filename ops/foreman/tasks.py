"""`inv foreman.*`: the dispatch loop, and on-call's status and restart (ops/foreman/oncall.py)."""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task


@task(help={"env": ENV_HELP, "until_idle": "stop once no job is pending (for one-off drains)"})
def run(c: Context, env: str, until_idle: bool = False) -> None:
    """Run the foreman in the foreground: leader or standby, dispatching until SIGTERM."""
    from foreman.loop import Foreman
    from foreman.service import registered_foreman

    settings = environment(env)
    foreman = Foreman(settings)
    foreman.install_signal_handlers()
    console.print(f"foreman {foreman.foreman_id} for {settings.name} (stop with Ctrl-C)")
    with registered_foreman(settings):
        report = foreman.run(stop_when_idle=until_idle)
    console.print(
        f"stopped: dispatched {report.dispatched}, lost {report.lost}, "
        f"retried {report.retried}, failed {report.failed}"
    )


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def status(c: Context, env: str, json: bool = False) -> None:
    """Which foreman leads, how old its heartbeat is, its version and host (on-call)."""
    from ops.foreman.oncall import foreman_status

    report = foreman_status(environment(env))
    if json:
        print_json(report.to_dict())
        return
    print_table(
        f"{report.environment}: foremen (hosts {', '.join(report.hosts)} via {report.way_in})",
        ("foreman", "role", "heartbeat age (s)", "version", "host", "pid", "started"),
        report.rows(),
        caption="" if report.leader else "NO LEADER: inv foreman.restart -e " + report.environment,
    )


@task(help={"env": ENV_HELP, "version": "release to start (default: the one running now)"})
def restart(c: Context, env: str, version: str = "") -> None:
    """Restart the foreman on its hosts and wait for a fresh heartbeat (on-call)."""
    from ops.foreman.oncall import restart_foreman_now

    report = restart_foreman_now(environment(env), version=version or None)
    beat = report.heartbeat
    console.print(
        f"restarted {report.version} on {', '.join(r.host for r in report.hosts)}; "
        f"{beat.role} {beat.foreman_id} on {beat.hostname} beat at {beat.beat_at.isoformat()}"
    )


ns = Collection("foreman")
ns.add_task(run)
ns.add_task(status)
ns.add_task(restart)
