"""Environment files written by tests, so code under test loads them like real ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def write_environment(directory: Path, name: str, sections: dict[str, dict[str, Any]]) -> Path:
    """Write `<directory>/<name>.toml` from {section: {key: value}}."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
        lines.append("")
    path = directory / f"{name}.toml"
    path.write_text("\n".join(lines))
    return path
