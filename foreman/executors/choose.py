"""Which executor an environment runs its jobs on (`[executor] kind`)."""

from __future__ import annotations

from common.environments import Environment
from common.errors import ConfigError
from foreman.executors.base import Executor


def executor_for(env: Environment) -> Executor:
    """The executor `env.executor.kind` names, ready to submit."""
    kind = env.executor.kind
    if kind == "local":
        from foreman.executors.local import LocalExecutor

        return LocalExecutor(env)
    if kind == "null":
        from foreman.executors.null import NullExecutor

        return NullExecutor(env)
    if kind == "batch":
        from foreman.executors.batch import BatchExecutor  # boto3 is slow to import

        return BatchExecutor(env)
    raise ConfigError(f"{env.path}: unknown executor kind {kind!r} (local, batch, null)")
