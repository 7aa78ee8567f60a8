"""`inv logs -e ENV`: show an environment's logs (local files or CloudWatch Logs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context
from rich.text import Text

from common.inputs import MAX_BIGINT
from ops.taskkit import ENV_HELP, console, environment, styled, task

if TYPE_CHECKING:
    from ops.logs.local import LogLine


@task(
    default=True,
    bounds={"job": (0, MAX_BIGINT)},
    help={
        "env": ENV_HELP,
        "filter": "only lines matching this (CloudWatch filter pattern; text or regex locally)",
        "since": "how far back to start: 30m, 1h, 2d, 1w (default 1h)",
        "watch": "keep following new lines until interrupted",
        "job": "only this job's log (its id in the jobs table)",
    },
)
def show(
    c: Context, env: str, filter: str = "", since: str = "1h", watch: bool = False, job: int = 0
) -> None:
    """Show an environment's logs (foreman and jobs), or one job's."""
    from common.shell import run_command
    from ops.logs.cloudwatch import LogTarget, awslogs_argv, environment_log_group, job_log_target
    from ops.logs.local import follow_local_logs, parse_since, read_local_logs

    settings = environment(env)
    duration = parse_since(since)
    job_id = job or None
    if settings.logs.get("kind", "files") == "cloudwatch":
        if job_id is not None:
            target = job_log_target(settings, job_id)
        else:
            target = LogTarget(environment_log_group(settings))
        argv = awslogs_argv(settings, target, pattern=filter or None, since=since, watch=watch)
        run_command(argv, capture=False)
        return
    pattern = filter or None
    for line in read_local_logs(settings, job_id=job_id, pattern=pattern, since=duration):
        _print_line(line)
    if watch:
        for line in follow_local_logs(settings, job_id=job_id, pattern=pattern):
            _print_line(line)


def _print_line(line: LogLine) -> None:
    # Log lines hold brackets, escape sequences, anything a job printed: shown as they are.
    console.print(Text.assemble(styled(line.source, "dim"), " ", styled(line.text)))


ns = Collection("logs")
ns.add_task(show, default=True)
