"""`python -m foreman run -e ENV`: run the foreman in the foreground (a service's command)."""

from __future__ import annotations

import argparse
import logging
import sys

from common.environments import load_environment
from common.errors import ExitCode, RefineryError
from common.logformat import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m foreman", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="dispatch jobs until SIGTERM (leader or standby)")
    run.add_argument("-e", "--env", required=True, help="environment name")
    run.add_argument(
        "--until-idle", action="store_true", help="stop once nothing is pending (for batch runs)"
    )
    args = parser.parse_args(argv)
    configure_logging(default_level="INFO", timestamps=True)
    from foreman.loop import Foreman
    from foreman.service import registered_foreman

    try:
        env = load_environment(args.env)
        configure_logging(default_level="INFO", timestamps=True, env=env)
        foreman = Foreman(env)
        foreman.install_signal_handlers()
        with registered_foreman(env):
            report = foreman.run(stop_when_idle=args.until_idle)
    except RefineryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    logging.getLogger("foreman").info(
        "stopped: dispatched %d, lost %d, retried %d, failed %d",
        report.dispatched, report.lost, report.retried, report.failed,
        extra={"env": env.name, "foreman_id": report.foreman_id},
    )  # fmt: skip
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
