"""What every task module shares: the task decorator, environment loading, output.

Tasks are thin: they parse options, call one function and render its result. The `task`
decorator here turns any `RefineryError` into a one-line message and a non-zero exit, so a
person never sees a traceback for a problem they can fix, and runs every task in a tunnel scope:
a private database (`[database] tunnel = "foreman_host"`) is reached through an SSH tunnel
opened on first use and closed when the task ends (common/tunnel.py).
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import invoke
from invoke.exceptions import Exit
from rich.console import Console
from rich.table import Table

from common.environments import Environment, available_environments, load_environment
from common.errors import ConfigError, RefineryError
from common.tunnel import tunnel_scope

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

ENV_HELP = "environment name: local, staging, prod (files in infrastructure/environments/)"
JSON_HELP = "print machine-readable JSON instead of a table"


def task(*args: Any, **kwargs: Any) -> Callable:
    """`invoke.task`, plus clean one-line errors for every `RefineryError`."""

    def decorate(func: Callable) -> invoke.Task:
        @functools.wraps(func)
        def run(c: invoke.Context, *a: Any, **kw: Any) -> Any:
            configure_logging()
            try:
                with tunnel_scope():
                    return func(c, *a, **kw)
            except RefineryError as exc:
                raise Exit(f"error: {exc}", code=exc.exit_code) from None
            except OSError as exc:
                # A full disk, a folder that is a file, a permission: fixable, so one line.
                raise Exit(f"error: {os_error_line(exc)}", code=1) from None
            except KeyboardInterrupt:
                raise Exit("interrupted", code=130) from None

        options = dict(kwargs)
        if "positional" not in options:
            options["positional"] = _positional_parameters(func)
        return invoke.task(*args, **options)(run)

    if len(args) == 1 and callable(args[0]) and not kwargs:
        func, args = args[0], ()
        return decorate(func)
    return decorate


def os_error_line(exc: OSError) -> str:
    """ "No space left on device: /backups/x" rather than "[Errno 28] No space left…"."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{reason}: {exc.filename}" if exc.filename else reason


def _positional_parameters(func: Callable) -> list[str]:
    """Required parameters are positional, except `env`, which is always `-e/--env`.

    Invoke would make a required `env` positional too, and then `inv deploy --help` would
    read `--help` as the environment's name.
    """
    parameters = list(inspect.signature(func).parameters.values())[1:]
    return [
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty and p.name != "env" and p.kind != p.VAR_KEYWORD
    ]


def environment(name: str | None) -> Environment:
    """The environment `name`, validated; a ConfigError (one line) otherwise."""
    if not name:
        known = ", ".join(available_environments()) or "none"
        raise ConfigError(f"no environment given: pass -e ENV (known: {known})")
    env = load_environment(name)
    use_aws_credentials_file(env)
    return env


def use_aws_credentials_file(env: Environment) -> None:
    """Point this process's AWS clients (and Terraform) at `[aws] credentials_file`, unless
    credentials are already given in the environment. A missing file is not an error here:
    the first AWS call says what is missing."""
    if not env.aws.credentials_file or os.environ.get("AWS_ACCESS_KEY_ID"):
        return
    path = Path(env.aws.credentials_file).expanduser()
    path = path if path.is_absolute() else env.state_dir / path
    os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", str(path))


def configure_logging() -> None:
    """Warnings and errors to stderr by default; REFINERY_LOG_LEVEL=INFO shows commands run."""
    level = os.environ.get("REFINERY_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def print_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str = ""
) -> None:
    """Render rows as a rich table on stdout."""
    table = Table(title=title, caption=caption or None)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)


def print_json(value: Any) -> None:
    """Machine output: JSON on stdout, nothing else."""
    print(json.dumps(value, indent=2, default=str))
