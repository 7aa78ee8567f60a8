"""How a plan summary looks to a person: one rich table, protected resources called out."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ops.taskkit import folded
from ops.tf.plan import PlanSummary

_ROWS = (
    ("replace", "replaces", "bold red"),
    ("destroy", "destroys", "red"),
    ("update", "updates", "yellow"),
    ("create", "creates", "green"),
)


def render_plan_summary(summary: PlanSummary, *, title: str = "Terraform plan") -> Table:
    """A table of every resource the plan touches; protected ones are marked."""
    protected = set(summary.protected_changes)
    table = Table(title=title, caption=None if summary.has_changes else "no changes")
    table.add_column("action")
    table.add_column("resource")
    table.add_column("protected")
    for action, attribute, style in _ROWS:
        for address in getattr(summary, attribute):
            table.add_row(
                Text(action, style=style),
                address,  # a plain string: the console never reads it as markup
                Text("PROTECTED", style="bold red") if address in protected else "",
            )
    for name in summary.output_changes:
        table.add_row("output", name, "")
    return folded(table)
