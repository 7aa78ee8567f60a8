"""Environment-file settings: every section declared once, validated by one loader.

`base` holds the mechanism (registry, validation, one-line messages); `core`, `jobs` and
`operations` declare the sections. Importing this package registers all of them, so
`validate_file` knows every section an environment file may have.
"""

from __future__ import annotations

from common.settings import core, jobs, operations  # noqa: F401 - registers every section
from common.settings.base import (
    REQUIRED_SECTIONS,
    SECTIONS,
    Section,
    SettingProblem,
    validate_file,
    validate_section,
)

__all__ = [
    "REQUIRED_SECTIONS",
    "SECTIONS",
    "Section",
    "SettingProblem",
    "validate_file",
    "validate_section",
]
