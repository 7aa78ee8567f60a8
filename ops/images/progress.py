"""Rich rendering of a build or push as it streams: one spinner per image, then a line."""

from __future__ import annotations

from rich.console import Console
from rich.status import Status
from rich.text import Text

from ops.taskkit import styled


class RichProgress:
    """A `ProgressSink` that shows the engine's latest line under a spinner."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Status | None = None

    def begin(self, name: str, action: str) -> None:
        self._status = self.console.status(styled(action, "bold"))
        self._status.start()

    def line(self, name: str, text: str) -> None:
        if self._status is not None:
            self._status.update(Text.assemble(styled(name, "bold"), " ", styled(text[:120])))
        if text.startswith("Step "):
            self.console.print(styled(f"  {name}: {text}", "dim"))

    def end(self, name: str, summary: str) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        self.console.print(Text.assemble(styled("✓", "green"), " ", styled(summary)))
