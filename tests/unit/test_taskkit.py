"""Task errors a person can fix reach the terminal as one line, not a traceback."""

from __future__ import annotations

import errno

import invoke
import pytest
from invoke.exceptions import Exit

from ops.taskkit import task


def _run(raised: BaseException) -> Exit:
    @task
    def failing(c):
        raise raised

    with pytest.raises(Exit) as caught:
        failing(invoke.Context())
    return caught.value


def test_an_os_error_is_one_line_naming_the_file():
    stopped = _run(OSError(errno.ENOSPC, "No space left on device", "/backups/b1"))
    assert stopped.code == 1
    assert stopped.message == "error: No space left on device: /backups/b1"


def test_an_os_error_without_a_file_is_its_reason():
    stopped = _run(NotADirectoryError(errno.ENOTDIR, "Not a directory"))
    assert stopped.message == "error: Not a directory"


def test_every_task_keeps_the_error_contract():
    """One place guarantees it: every task of the collection is built by `ops.taskkit.task`."""
    from ops.taskkit import RefineryTask
    from ops.tasks import ns

    def tasks(collection):
        yield from collection.tasks.values()
        for child in collection.collections.values():
            yield from tasks(child)

    plain = sorted(t.name for t in tasks(ns) if not isinstance(t, RefineryTask))
    assert plain == []


def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_a_log(tmp_path, monkeypatch):
    monkeypatch.setenv("REFINERY_STATE_DIR", str(tmp_path))
    stopped = _run(KeyError("missing"))
    assert stopped.code == 1
    assert stopped.message.startswith("error: unexpected KeyError: 'missing' (traceback in ")
    assert "\n" not in stopped.message
    assert "Traceback" in (tmp_path / "inv-errors.log").read_text()


def test_error_lines_escape_newlines_and_terminal_sequences():
    from common.errors import ValidationError

    stopped = _run(ValidationError("bad\nname \x1b]8;;http://example.invalid\x1b\\x"))
    assert stopped.code == 2
    assert stopped.message == "error: bad\\x0aname \\x1b]8;;http://example.invalid\\x1b\\x"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("3", 3), (" 7 ", 7), ("+2", 2), ("abc", "whole number"), ("١٢", "whole number"),
     ("²", "whole number"), ("1.5", "whole number"), ("0", "at least 1"),
     ("-4", "at least 1"), ("101", "at most 100"), ("9" * 40, "at most 100")],
)  # fmt: skip
def test_numeric_options_are_ascii_numbers_within_bounds(given, expected):
    seen = []

    @task(bounds={"attempts": (1, 100)})
    def retry(c, attempts=3):
        seen.append(attempts)

    if isinstance(expected, int):
        retry(invoke.Context(), attempts=given)
        assert seen == [expected]
        return
    with pytest.raises(Exit) as caught:
        retry(invoke.Context(), attempts=given)
    assert caught.value.code == 2 and expected in caught.value.message
    assert caught.value.message.startswith("error: --attempts ") and seen == []


def test_the_console_prints_markup_emoji_codes_and_escapes_as_text():
    from ops.taskkit import SafeConsole

    console = SafeConsole(force_terminal=True, width=200, color_system="truecolor")
    with console.capture() as captured:
        console.print("[/] [link=http://example.invalid]x[/link] :warning: \x1b[31mred")
        with console.status("[/]") as status:
            status.update("[bold]y[/]")
    text = captured.get()
    assert "[/] [link=http://example.invalid]x[/link] :warning: \\x1b[31mred" in text
    assert "\x1b]8;" not in text and "⚠" not in text


def test_no_task_prints_rich_markup_that_would_show_literally():
    """Every console prints text as it is (SafeConsole), so a markup tag in a string literal
    would reach the terminal as `[dim]…[/dim]`; style goes through `styled()` instead."""
    import re

    from common.environments import REPO_ROOT

    tag = re.compile(r"\[(dim|bold|italic|red|green|yellow|blue|cyan|magenta)\b[^]]*\].*\[/")
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in sorted((REPO_ROOT / "ops").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if tag.search(line)
    ]
    assert found == []


def test_a_progress_step_is_one_plain_line_on_stderr(capsys):
    from ops.progress import progress_display
    from ops.taskkit import err_console

    with err_console.capture() as captured, progress_display() as progress:
        progress("AWS emulator on 127.0.0.1:24566")
    assert captured.get().strip() == "… AWS emulator on 127.0.0.1:24566"
