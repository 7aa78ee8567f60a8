"""`inv foreman.*`: the dispatch loop."""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, console, environment, task


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


ns = Collection("foreman")
ns.add_task(run)
