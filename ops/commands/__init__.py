"""One Invoke collection per area; `ops/tasks.py` composes them."""
