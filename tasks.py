"""Invoke looks for `tasks.py` in the folder it is run from; the collection is `ops/tasks.py`."""

from ops.tasks import ns  # noqa: F401
