"""What every task module shares: the task decorator, environment loading, output.

Tasks are thin: they parse options, call one function and render its result. The `task`
decorator here is the one place that keeps tracebacks away from people: a `RefineryError`
becomes its one-line message and exit code, numeric options are converted and bounded before
the task's body runs (Invoke's own conversion would raise a traceback on `--attempts abc`), and
anything unexpected becomes one `error:` line with the traceback kept in a log file. It also
runs every task in a tunnel scope: a private database (`[database] tunnel = "foreman_host"`)
is reached through an SSH tunnel opened on first use and closed when the task ends
(common/tunnel.py).

Output goes through `console`/`err_console`, which never interpret text: no rich markup, no
emoji codes, control characters shown as escapes. Folder names, failure reasons, backup notes
and log lines come from people and sources; printed, they stay exactly what they are.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, cast, overload

import invoke
from invoke.exceptions import Exit, ParseError
from invoke.parser import Argument
from rich.console import Console, RenderableType
from rich.status import Status
from rich.table import Table
from rich.text import Text

from common import logformat
from common.embedded import without_starting
from common.environments import available_environments
from common.errors import ConfigError, ExitCode, RefineryError, first_line
from common.inputs import MAX_NUMBER, displayable, parse_float, parse_int
from common.tunnel import tunnel_scope

if TYPE_CHECKING:
    # Loading an environment validates it against every settings schema: a task that takes
    # `-e` pays for that when it runs, and `inv --list` never does.
    from common.environments import Environment

log = logging.getLogger(__name__)

# Every environment file present, named in `-e`'s help (sandbox included).
ENV_HELP = (
    f"environment name: {', '.join(available_environments()) or 'none yet'}"
    " (files in infrastructure/environments/)"
)
JSON_HELP = "print machine-readable JSON instead of a table"
# One error line is at most this long: a value echoed from input never floods the terminal.
MAX_ERROR_LENGTH = 1000
UNEXPECTED_ERRORS_LOG = "inv-errors.log"
HELP_FLAGS = ("--help", "-h")


class SafeConsole(Console):
    """A rich console that shows every string as plain text.

    Markup and emoji codes are off, and control characters (terminal escape sequences,
    bidirectional overrides) and undecodable bytes are escaped, for strings printed directly,
    table cells, titles and captions alike. Deliberate styling uses `styled()`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs.update(markup=False, emoji=False)
        return super().render_str(displayable(text, keep_newlines=True), **kwargs)

    def status(self, status: RenderableType, **kwargs: Any) -> Status:
        """A spinner whose text (now and on every update) is plain text, not markup."""
        return _PlainStatus(_plain(status), console=self, **kwargs)


class _PlainStatus(Status):
    def update(self, status: RenderableType | None = None, **kwargs: Any) -> None:
        super().update(None if status is None else _plain(status), **kwargs)


def _plain(renderable: RenderableType) -> RenderableType:
    return styled(renderable) if isinstance(renderable, str) else renderable


def styled(text: str, style: str = "") -> Text:
    """`text` shown literally in `style` (rich's Text is never parsed as markup)."""
    return Text(displayable(text, keep_newlines=True), style=style)


console = SafeConsole(stderr=False)
err_console = SafeConsole(stderr=True)


class _UncastNumber(Argument):
    """A numeric option whose text Invoke keeps as given: the `task` wrapper converts it, so a
    bad value is one line instead of the ValueError Invoke's `int(value)` would raise."""

    def set_value(self, value: Any, cast: bool = True) -> None:
        self.raw_value = value
        self._value = value


class _Positional(Argument):
    """A positional argument that, given `--help`, gives it to its unset siblings too.

    Invoke's parser fills missing positionals before it looks for core flags, and refuses a
    command line that leaves one unset; so `inv users.add --help` would end in "did not receive
    required positional arguments: 'role'". Filled, every positional reaches the `task`
    wrapper, which prints the task's help instead of running it.
    """

    siblings: list[Argument]

    def set_value(self, value: Any, cast: bool = True) -> None:
        super().set_value(value, cast)
        if value in HELP_FLAGS:
            for sibling in self.siblings:
                if sibling.raw_value is None:
                    sibling.raw_value = sibling._value = value


class _PositionalUnless(_Positional):
    """A positional argument that another option makes unnecessary (Invoke's positionals are
    otherwise always required): with that option given and this one not, its value is "", so
    `inv jobs.survey --file LIST` needs no SOURCE and `inv jobs.retry --all-failed` no JOB_ID."""

    instead: Argument

    @property
    def value(self) -> Any:
        value = super().value
        return "" if value is None and self.instead.value else value

    @value.setter
    def value(self, arg: str) -> None:
        self.set_value(arg, cast=True)


class RefineryTask(invoke.Task):
    """`invoke.Task` with numeric options left for the `task` wrapper to convert, and
    positional arguments that let `--help` through (and that another option may stand in
    for: `positional_unless={"source": "file"}`)."""

    positional_unless: ClassVar[dict[str, str]] = {}

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        arguments = super().get_arguments(ignore_unknown_help)
        for argument in arguments:
            if argument.kind in (int, float) and not argument.incrementable:
                argument.__class__ = _UncastNumber
        positional = [a for a in arguments if a.positional and type(a) is Argument]
        by_name = {argument.name: argument for argument in arguments}
        for argument in positional:
            instead = self.positional_unless.get(str(argument.name))
            argument.__class__ = _PositionalUnless if instead else _Positional
            cast(_Positional, argument).siblings = positional
            if instead:
                cast(_PositionalUnless, argument).instead = by_name[instead]
        return arguments


Bounds = dict[str, tuple[float, float]]


@overload
def task(func: Callable[..., Any], /) -> invoke.Task: ...


@overload
def task(
    *,
    bounds: Bounds | None = None,
    read_only: bool = False,
    positional_unless: dict[str, str] | None = None,
    **kwargs: Any,
) -> Callable[[Callable[..., Any]], invoke.Task]: ...


def task(
    *args: Any,
    bounds: Bounds | None = None,
    read_only: bool = False,
    positional_unless: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """`invoke.task`, plus the error contract: one line, a non-zero exit, never a traceback.

    Numeric options (those whose default is an int or a float) accept ASCII numbers only,
    between 0 and MAX_NUMBER unless `bounds={"name": (minimum, maximum)}` says otherwise;
    anything else is refused before the task's body runs. A `read_only` task never starts the
    local environment's database: a stopped one is a one-line error (common/embedded.py). With
    `positional_unless={"source": "file"}` the positional `source` may be left out when
    `--file` is given (its value is then "").
    """

    def decorate(func: Callable) -> invoke.Task:
        numbers = _numeric_parameters(func, bounds or {})
        signature = inspect.signature(func)

        @functools.wraps(func)
        def run(c: invoke.Context, *a: Any, **kw: Any) -> Any:
            try:
                configure_logging()
                bound = signature.bind(c, *a, **kw)
                if _help_taken_as_positional(options["positional"], bound.arguments):
                    return None
                for name, (kind, low, high) in numbers.items():
                    if name in bound.arguments and bound.arguments[name] is not None:
                        what = "--" + name.replace("_", "-")
                        # bounds are floats for both kinds; parse_int compares them as numbers
                        parse: Callable[..., float] = parse_int if kind is int else parse_float
                        value = parse(bound.arguments[name], what, minimum=low, maximum=high)
                        bound.arguments[name] = value
                with tunnel_scope(), without_starting() if read_only else nullcontext():
                    return func(*bound.args, **bound.kwargs)
            except RefineryError as exc:
                raise Exit(error_line(str(exc)), code=exc.exit_code) from None
            except BrokenPipeError:  # not the task's error: `inv` stops quietly on it
                raise  # (stop_quietly_on_broken_pipe)
            except OSError as exc:
                # A full disk, a folder that is a file, a permission: fixable, so one line.
                raise Exit(error_line(os_error_line(exc)), code=ExitCode.FAILURE) from None
            except KeyboardInterrupt:
                raise Exit("interrupted", code=ExitCode.INTERRUPTED) from None
            except Exit as exc:
                if not exc.message:
                    raise
                message = displayable(str(exc.message))[:MAX_ERROR_LENGTH]
                raise Exit(message, code=exc.code) from None
            except Exception as exc:
                raise Exit(_unexpected(exc), code=ExitCode.FAILURE) from None

        options = dict(kwargs)
        options.setdefault("klass", RefineryTask)
        if not issubclass(options["klass"], RefineryTask):
            raise TypeError(f"task {func.__name__}: klass must derive from RefineryTask")
        if "positional" not in options:
            options["positional"] = _positional_parameters(func)
        made = invoke.task(**options)(run)
        made.positional_unless = dict(positional_unless or {})
        return made

    if len(args) == 1 and callable(args[0]) and not kwargs and bounds is None and not read_only:
        return decorate(args[0])
    if args:
        raise TypeError("task() takes options as keywords only")
    return decorate


def _help_taken_as_positional(positional: list[str], arguments: dict[str, Any]) -> bool:
    """Print the task's help when Invoke gave `--help` to a positional argument; True if so.

    Invoke's parser fills a task's missing positional arguments before it looks for core flags,
    so `inv jobs.cancel --help` would run the task with the job id "--help". The program that
    parsed the command line knows the task by its dotted name; its own help is printed.
    """
    if not any(arguments.get(name) in HELP_FLAGS for name in positional):
        return False
    from invoke.main import program  # the running `inv`; imported here, where it is needed

    for context in getattr(program, "tasks", None) or []:
        if any(argument.value in HELP_FLAGS for argument in context.positional_args):
            program.print_task_help(context.name)
            return True
    return False


def stop_quietly_on_broken_pipe() -> None:
    """When the reader of `inv`'s output goes away (`inv --list | head`), stop without a word.

    Python ignores SIGPIPE, so a write to a closed pipe raises BrokenPipeError; in Invoke's own
    output (`--list`, `--help`) or a task's, nothing catches it and a traceback reached the
    terminal. Like any Unix tool, `inv` now just stops (exit 1). Installed only when the process
    is `inv`.
    """
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, BrokenPipeError):
            previous(kind, value, tb)
            return
        # stdout to /dev/null, so the interpreter's last flush does not fail again
        with suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)

    sys.excepthook = hook

    def flush_at_exit() -> None:
        # Without PYTHONUNBUFFERED, short output (`--help TASK`) is still in the buffer when the
        # task returns, and the interpreter's own last flush would print "Exception ignored …
        # BrokenPipeError" and exit 120. Flushed here instead (registered first, so it runs
        # last of the exit handlers), a closed pipe stops `inv` the same way: exit 1, no word.
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            with suppress(OSError, ValueError):
                sys.stderr.flush()
            os._exit(1)

    atexit.register(flush_at_exit)


def one_line_parse_errors() -> None:
    """Make Invoke's own command-line errors keep the contract: one `error: …` line, exit 2.

    Invoke prints its ParseError as is ("No idea what '--bogus' is!", "'jobs.cancel' did not
    receive required positional arguments: 'job_id'") and exits 1. Its program parses a
    task's arguments after it has loaded this collection, so the running program's
    `parse_tasks` is wrapped here. Installed only when the process is `inv`.
    """
    from invoke.main import program  # the running `inv`

    parse_tasks = program.parse_tasks

    def parse_tasks_in_one_line() -> None:
        try:
            parse_tasks()
        except ParseError as exc:
            message = error_line(parse_error_message(exc))
            raise Exit(message, code=ExitCode.USAGE) from None

    setattr(program, "parse_tasks", parse_tasks_in_one_line)  # noqa: B010 (a method)


def parse_error_message(exc: ParseError) -> str:
    """Invoke's parse error in the words of the task it concerns."""
    context = exc.context
    name = context.name if context is not None else ""
    if not name:
        return str(exc)
    missing = context.missing_positional_args if context is not None else []
    if missing and "did not receive" in str(exc):
        needs = [
            str(argument.name).upper()
            + (f" or --{str(argument.instead.name).replace('_', '-')}"
               if isinstance(argument, _PositionalUnless) else "")
            for argument in missing
        ]  # fmt: skip
        return f"inv {name} needs {', '.join(needs)} (see inv {name} --help)"
    return f"inv {name}: {exc} (see inv {name} --help)"


def error_line(message: str) -> str:
    """`error: message` as one displayable line of bounded length."""
    return "error: " + displayable(message)[:MAX_ERROR_LENGTH]


def _unexpected(exc: Exception) -> str:
    """One line for an error nobody planned for; its traceback goes to a log file (and to
    stderr with REFINERY_LOG_LEVEL=DEBUG), where whoever fixes the bug can read it."""
    log.debug("unexpected error", exc_info=exc)
    from common.environments import state_root

    where = ""
    with suppress(OSError):
        path = state_root() / UNEXPECTED_ERRORS_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(f"--- {datetime.now(UTC).isoformat()} pid {os.getpid()}\n")
            handle.write("".join(traceback.format_exception(exc)))
        where = f" (traceback in {path})"
    return error_line(f"unexpected {type(exc).__name__}: {first_line(exc, '')}") + where


def _numeric_parameters(func: Callable, bounds: Bounds) -> dict[str, tuple[type, float, float]]:
    numbers = {}
    for parameter in list(inspect.signature(func).parameters.values())[1:]:
        default = parameter.default
        if isinstance(default, bool) or not isinstance(default, int | float):
            if parameter.name in bounds:
                raise TypeError(f"{func.__name__}: bounds for non-numeric {parameter.name}")
            continue
        low, high = bounds.get(parameter.name, (0, MAX_NUMBER))
        numbers[parameter.name] = (type(default), low, high)
    unknown = set(bounds) - set(numbers)
    if unknown:
        raise TypeError(f"{func.__name__}: bounds for unknown parameters {sorted(unknown)}")
    return numbers


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
    from common.environments import available_environments, load_environment

    if not name:
        known = ", ".join(available_environments()) or "none"
        raise ConfigError(f"no environment given: pass -e ENV (known: {known})")
    env = load_environment(name)
    configure_logging(env)  # the environment's [logs] format, now that it is known
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


def configure_logging(env: Environment | None = None) -> None:
    """Warnings and errors to stderr by default; REFINERY_LOG_LEVEL=INFO shows commands run,
    REFINERY_LOG_FORMAT=json (or `[logs] format = "json"`) makes each line a JSON object."""
    logformat.configure_logging(default_level="WARNING", env=env)


def folded(table: Table) -> Table:
    """`table` with every cell and header wrapped or folded onto more lines when the terminal
    is narrow, never cut short with an ellipsis: a version, a job id or a column name is read
    whole or not at all (rich's default cuts `v1.4.0-dev` to `v1.4.…` at 80 columns)."""
    for column in table.columns:
        column.overflow = "fold"
        column.no_wrap = False
    return table


def print_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str = ""
) -> None:
    """Render rows as a rich table on stdout (folded, never cut: see `folded`)."""
    table = Table(title=title, caption=caption or None)
    for column in columns:
        table.add_column(column)
    folded(table)
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)  # cells are plain text: see SafeConsole


def print_json(value: Any) -> None:
    """Machine output: JSON on stdout, nothing else."""
    print(json.dumps(value, indent=2, default=str))
