"""The foreman's timing and batching knobs: the environment file's `[foreman]` section.

Declared (with its limits) in `common.settings.jobs` and validated when the environment is
loaded; `ForemanSettings.for_environment(env)` gives it, defaults filled in.
"""

from __future__ import annotations

from common.settings.jobs import ForemanSettings, parse_address

__all__ = ["ForemanSettings", "parse_address"]
