"""Environment-file settings: every section declared once, validated by one loader.

`base` holds the mechanism (registry, validation, one-line messages); `core`, `jobs`,
`datasets`, `operations` and `deployment` declare the sections. A section's module is imported
when a file that has the section is loaded (`base.SECTION_MODULES`), so `validate_file` knows every
section an environment file may have without building every schema for every command.
"""

from __future__ import annotations

from common.settings.base import (
    REQUIRED_SECTIONS,
    Section,
    SettingProblem,
    all_sections,
    schema_of,
    validate_file,
    validate_section,
)

__all__ = [
    "REQUIRED_SECTIONS",
    "Section",
    "SettingProblem",
    "all_sections",
    "schema_of",
    "validate_file",
    "validate_section",
]
