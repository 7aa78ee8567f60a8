"""The one way Refinery runs an external command (terraform, docker, pg_dump, rclone, ssh).

Every command is logged before it runs, its output is captured, and a failure becomes a
`CommandError` whose message ends with the last lines of stderr. Secrets travel in the
environment or in 0600 files, never in argv; values passed as `secrets` are also masked in
anything logged or raised, as a second line of defence.

A value that came from outside — a file's content, a command-line argument, a catalog or
environment-file value — is wrapped in `Value` (or passed through `values()`) where it joins an
argv. The wrapper refuses to run a command whose `Value` starts with `-`: a program would read
it as an option (`git fetch --upload-pack=…` runs a command). Callers also put such values
after `--` where the program supports it; the refusal holds where it does not.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import CommandError, ValidationError
from common.inputs import excerpt

log = logging.getLogger(__name__)
MASK = "********"


@dataclass(frozen=True)
class CommandResult:
    """What a finished command left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Value(str):
    """An argv element that is a value from outside, never an option: `run_command` and
    `start_command` refuse one that starts with `-`."""

    __slots__ = ()


def values(*parts: str | os.PathLike[str]) -> list[Value]:
    """Each part marked as a `Value` (paths as their text)."""
    return [Value(os.fspath(part)) for part in parts]


class OptionLikeValue(ValidationError):
    """A value from outside would have been read as an option by the program it was for."""


def refuse_option_like(argv: Sequence[object]) -> None:
    """Raise OptionLikeValue when a `Value` in `argv` starts with `-` (run_command does this
    itself; a caller may check before slower preparation)."""
    program = Path(str(argv[0])).name if argv else "?"
    for part in argv:
        if isinstance(part, Value) and part.startswith("-"):
            raise OptionLikeValue(
                f"refusing to run {program}: the value {excerpt(str(part))} starts with '-' and "
                "would be read as an option; check where it came from"
            )


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every non-empty secret in `text` with a mask."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def run_command(
    argv: Sequence[str | int | os.PathLike[str]],  # each part is passed as str(part)
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    secrets: Iterable[str] = (),
    check: bool = True,
    timeout: float | None = None,
    input_text: str | None = None,
    capture: bool = True,
) -> CommandResult:
    """Run `argv`, adding `env` on top of this process's environment."""
    refuse_option_like(argv)
    args = tuple(str(part) for part in argv)
    hidden = [secret for secret in secrets if secret]
    for secret in hidden:
        if any(secret in part for part in args):
            raise CommandError(f"refusing to run {args[0]}: a secret would appear in its argv")
    printable = redact(shlex.join(args), hidden)
    log.info("running %s", printable, extra={"command": args[0]})
    full_env = {**os.environ, **(env or {})}
    try:
        completed = subprocess.run(
            args,
            env=full_env,
            cwd=cwd,
            input=input_text,
            capture_output=capture,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise CommandError(f"{args[0]} is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"{printable} did not finish within {timeout:.0f} s") from None
    result = CommandResult(
        args, completed.returncode, completed.stdout or "", completed.stderr or ""
    )
    if check and result.returncode != 0:
        tail = redact(last_lines(result.stderr or result.stdout) or "(no output)", hidden)
        raise CommandError(f"{printable} exited {result.returncode}: {tail}")
    return result


def start_command(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str],
    secrets: Iterable[str] = (),
) -> subprocess.Popen:
    """Start `argv` with piped stdout/stderr for a caller that streams its output.

    Same rules as `run_command`: logged (masked) before it starts, refused when a secret would
    be in argv. `env` is the child's whole environment. The caller waits and checks the exit.
    """
    refuse_option_like(argv)
    args = tuple(str(part) for part in argv)
    hidden = [secret for secret in secrets if secret]
    if any(secret in part for secret in hidden for part in args):
        raise CommandError(f"refusing to run {args[0]}: a secret would appear in its argv")
    log.info("starting %s", redact(shlex.join(args), hidden), extra={"command": args[0]})
    return _popen(args, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)  # fmt: skip


def start_dialogue(
    argv: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str], errors: Path
) -> subprocess.Popen:
    """Start `argv` for a caller that talks to it in lines of text: its standard input and
    output are pipes, its standard error goes to the file `errors` (read when it fails; a pipe
    nobody drains could block it). Logged and refused like `run_command`; `env` is the child's
    whole environment. The caller closes its input and waits (an R session: one process for
    several steps)."""
    refuse_option_like(argv)
    args = tuple(str(part) for part in argv)
    log.info("starting %s", shlex.join(args), extra={"command": args[0]})
    with open(errors, "w") as error_file:
        return _popen(args, env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      stderr=error_file, text=True)  # fmt: skip


def start_detached(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    stdin: int = subprocess.DEVNULL,
) -> subprocess.Popen:
    """Start `argv` in its own session, its output appended to `log_file`, for a child that
    outlives this call and is watched by pid (a background foreman, a local worker, a sandbox
    service): a signal to our process group never reaches it, and its output is read from the
    file rather than a pipe nobody drains. Logged and refused like `run_command`; `env`, when
    given, is the child's whole environment; `stdin=subprocess.PIPE` for a child that is told
    what to do after it starts (a standby worker). The caller waits, polls or signals it."""
    refuse_option_like(argv)
    args = tuple(str(part) for part in argv)
    log.info("starting %s", shlex.join(args), extra={"command": args[0]})
    with open(log_file, "ab") as output:
        return _popen(args, cwd=cwd, env=dict(env) if env is not None else None, stdin=stdin,
                      stdout=output, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def _popen(args: tuple[str, ...], **options: Any) -> subprocess.Popen:
    """subprocess.Popen, a program that is not there said in one line (CommandError)."""
    try:
        return subprocess.Popen(args, **options)
    except FileNotFoundError:
        raise CommandError(f"{args[0]} is not installed or not on PATH") from None


def last_lines(text: str | None, count: int = 3) -> str:
    """The last `count` non-blank lines of a command's output, joined on one line with " | "
    ("" when there are none): what an error message quotes of what a command said."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return " | ".join(lines[-count:])


# Where Debian puts system daemons and tools (dockerd, debootstrap): on root's PATH only.
SYSTEM_PROGRAM_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find_program(name: str) -> str | None:
    """`name` on PATH, else in the system folders that only root's PATH holds: a user with
    passwordless sudo runs dockerd and debootstrap through `sudo -n` from there."""
    import shutil

    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SYSTEM_PROGRAM_DIRS))


def as_root(argv: Sequence[str | os.PathLike[str] | Value]) -> list[str | os.PathLike[str]]:
    """`argv` run as root: itself when we are root, else through `sudo -n` (passwordless sudo,
    never a prompt), for the few steps that need root by nature — starting a Docker engine,
    making the base OS image with debootstrap. Without such sudo it is a CommandError that
    says so, before anything runs."""
    if os.geteuid() == 0:
        return list(argv)
    try:
        probe = subprocess.run(
            ["sudo", "-n", "true"], stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
    except FileNotFoundError:
        probe = None
    if probe is None or probe.returncode != 0:
        raise CommandError(
            f"{Path(str(argv[0])).name} needs root: run as root or as a user with passwordless sudo"
        )
    return ["sudo", "-n", *argv]
