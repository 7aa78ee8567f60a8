"""`python -m workers run-job JOB_ID`: the command every executor runs for a job.

`run-job --submission TOKEN` is the form of a recorded submission (AWS Batch): the job and its
attempt are looked up from the token and the process's array index (`common.worker_identity`:
AWS_BATCH_JOB_ARRAY_INDEX, else the `:<index>` ending of AWS_BATCH_JOB_ID, else 0 for a lone
job), and an attempt that was superseded meanwhile is not run. `standby` loads the code and
the environment and then waits for one job on its standard input (`workers.standby`: the
local executor's spare worker). The worker records the Batch
job it ran as (AWS_BATCH_JOB_ID) beside the attempt, where it can be compared with the
foreman's record.

The environment comes from `-e` or REFINERY_ENVIRONMENT (set by the executor). Exit codes:
0 succeeded, 1 the handler failed (attempt recorded errored), 2 usage or configuration error,
8 the attempt is not this process's to run (already ended or re-dispatched), 9 a transfer
stalled (attempt recorded errored), 143 SIGTERM (common.errors.ExitCode).
"""

from __future__ import annotations

import argparse
import os
import sys

from common.environments import load_environment
from common.errors import ExitCode, RefineryError
from common.logformat import configure_logging
from common.worker_identity import array_index
from workers.runtime import (
    EXIT_HANDLER_FAILED,
    EXIT_USAGE,
    resolve_submission,
    run_job,
)
from workers.standby import wait_for_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run-job", help="run the current attempt of one job")
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("job_id", type=int, nargs="?", help="the job's id")
    target.add_argument("--submission", help="a recorded submission's token (array child)")
    run.add_argument("-e", "--env", help="environment name (default: $REFINERY_ENVIRONMENT)")
    standby = commands.add_parser("standby", help="wait for one job on standard input, run it")
    standby.add_argument("-e", "--env", help="environment name (default: $REFINERY_ENVIRONMENT)")
    args = parser.parse_args(argv)
    configure_logging(default_level="INFO", timestamps=True)
    env_name = args.env or os.environ.get("REFINERY_ENVIRONMENT")
    if not env_name:
        print("error: no environment: pass -e ENV or set REFINERY_ENVIRONMENT", file=sys.stderr)
        return EXIT_USAGE
    try:
        env = load_environment(env_name)
        configure_logging(default_level="INFO", timestamps=True, env=env)
        if args.command == "standby":
            return wait_for_job(env)
        if args.submission is None:
            return run_job(env, args.job_id)
        job_id, attempt = resolve_submission(env, args.submission, array_index())
        return run_job(env, job_id, attempt=attempt)
    except RefineryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.exit_code == ExitCode.USAGE else EXIT_HANDLER_FAILED


if __name__ == "__main__":
    sys.exit(main())
