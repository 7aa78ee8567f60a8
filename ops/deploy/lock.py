"""The per-environment deploy lock: one DynamoDB item, taken with a conditional put.

The item lives in the environment's lock table (the one Terraform's S3 backend uses) under
`LockID = "refinery-deploy-lock/<env>"`, a key Terraform never writes. Taking it is a
conditional put (`attribute_not_exists(LockID)`), so of two deploys racing for it exactly one
wins, whichever machine they run on. The holder renews a lease while it works; a holder that
died leaves an item whose lease has expired, which `inv deploy.unlock` may break — never a
live one. The lock is released in `finally` by a delete conditioned on the holder's token.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from common.identity import operator_identity
from common.signals import leave_termination_signals_to_main_thread
from ops.deploy.errors import DeployError, DeployLockedError
from ops.deploy.settings import LockTable, dynamodb_client

log = logging.getLogger(__name__)
LOCK_KEY_PREFIX = "refinery-deploy-lock/"


def lock_key(environment: str) -> str:
    return f"{LOCK_KEY_PREFIX}{environment}"


def current_holder() -> str:
    """`user@host` of this process, as other people will see it in a refusal."""
    return operator_identity()


@dataclass(frozen=True)
class LockInfo:
    """Who holds a deploy lock, since when, and until when the lease runs."""

    environment: str
    holder: str
    pid: int
    since: str
    version: str
    operation: str
    expires_at: float
    token: str

    @property
    def expired(self) -> bool:
        return self.expires_at < time.time()

    @property
    def expires_iso(self) -> str:
        return datetime.fromtimestamp(self.expires_at, UTC).isoformat(timespec="seconds")

    def describe(self) -> str:
        state = "lease expired" if self.expired else f"lease until {self.expires_iso}"
        return (
            f"{self.holder} (pid {self.pid}) since {self.since}, {self.operation} "
            f"{self.version}, {state}"
        )


def _info_from_item(environment: str, item: dict) -> LockInfo:
    return LockInfo(
        environment=environment,
        holder=item.get("holder", {}).get("S", "?"),
        pid=int(item.get("pid", {}).get("N", "0")),
        since=item.get("since", {}).get("S", "?"),
        version=item.get("version", {}).get("S", "?"),
        operation=item.get("operation", {}).get("S", "deploy"),
        expires_at=float(item.get("expires_at", {}).get("N", "0")),
        token=item.get("token", {}).get("S", ""),
    )


def read_lock(settings: LockTable) -> LockInfo | None:
    """The current holder of the environment's deploy lock, or None."""
    client = dynamodb_client(settings)
    response = _call(
        settings,
        client.get_item,
        TableName=settings.lock_table,
        Key={"LockID": {"S": lock_key(settings.environment)}},
        ConsistentRead=True,
    )
    item = response.get("Item")
    return _info_from_item(settings.environment, item) if item else None


class DeployLock:
    """A held deploy lock; renews its lease in the background until released."""

    def __init__(self, settings: LockTable, info: LockInfo) -> None:
        self.settings = settings
        self.info = info
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_loop, daemon=True, name="deploy-lock")
        self.lost = False

    def _renew_loop(self) -> None:
        leave_termination_signals_to_main_thread()
        interval = max(self.settings.lease_seconds / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                self.renew()
            except DeployError as exc:
                self.lost = True
                log.warning(
                    "deploy lock lease not renewed: %s",
                    exc,
                    extra={"env": self.settings.environment},
                )
                return

    def renew(self) -> None:
        client = dynamodb_client(self.settings)
        expires = time.time() + self.settings.lease_seconds
        try:
            client.update_item(
                TableName=self.settings.lock_table,
                Key={"LockID": {"S": lock_key(self.settings.environment)}},
                UpdateExpression="SET expires_at = :expires",
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={
                    ":expires": {"N": f"{expires:.3f}"},
                    ":token": {"S": self.info.token},
                },
            )
        except ClientError as exc:
            raise DeployError(
                f"the {self.settings.environment} deploy lock was taken from this deploy "
                f"({_code(exc)}); stop and check `inv deploy.history -e "
                f"{self.settings.environment}`"
            ) from None

    def release(self) -> bool:
        """Delete the item if it is still ours; False when someone broke it meanwhile."""
        self._stop.set()
        if self._renewer.is_alive():
            self._renewer.join(timeout=5)
        client = dynamodb_client(self.settings)
        try:
            client.delete_item(
                TableName=self.settings.lock_table,
                Key={"LockID": {"S": lock_key(self.settings.environment)}},
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": self.info.token}},
            )
        except ClientError as exc:
            log.warning(
                "deploy lock was not ours any more at release: %s",
                _code(exc),
                extra={"env": self.settings.environment},
            )
            return False
        return True


def acquire_lock(
    settings: LockTable,
    *,
    version: str,
    operation: str = "deploy",
    wait_seconds: float = 0,
    poll_seconds: float = 1.0,
) -> DeployLock:
    """Take the environment's deploy lock, or raise DeployLockedError naming the holder."""
    client = dynamodb_client(settings)
    deadline = time.monotonic() + wait_seconds
    while True:
        now = time.time()
        info = LockInfo(
            environment=settings.environment,
            holder=current_holder(),
            pid=os.getpid(),
            since=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            version=version,
            operation=operation,
            expires_at=now + settings.lease_seconds,
            token=uuid.uuid4().hex,
        )
        try:
            client.put_item(
                TableName=settings.lock_table,
                Item={
                    "LockID": {"S": lock_key(settings.environment)},
                    "holder": {"S": info.holder},
                    "pid": {"N": str(info.pid)},
                    "since": {"S": info.since},
                    "version": {"S": version},
                    "operation": {"S": operation},
                    "expires_at": {"N": f"{info.expires_at:.3f}"},
                    "token": {"S": info.token},
                },
                ConditionExpression="attribute_not_exists(LockID)",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise _table_error(settings, exc) from None
        except BotoCoreError as exc:
            raise _table_error(settings, exc) from None
        else:
            lock = DeployLock(settings, info)
            lock._renewer.start()
            return lock
        holder = read_lock(settings)
        if holder is not None and (holder.expired or time.monotonic() >= deadline):
            raise DeployLockedError(_refusal(settings.environment, holder))
        time.sleep(poll_seconds)


@contextmanager
def deploy_lock(
    settings: LockTable, *, version: str, operation: str, wait_seconds: float
) -> Iterator[DeployLock]:
    """Hold the deploy lock for the body; always released in `finally`."""
    lock = acquire_lock(settings, version=version, operation=operation, wait_seconds=wait_seconds)
    try:
        yield lock
    finally:
        lock.release()


def _refusal(environment: str, holder: LockInfo) -> str:
    if holder.expired:
        return (
            f"{environment} deploy lock is stale: held by {holder.describe()}; if that deploy "
            f"is dead, break it with `inv deploy.unlock -e {environment} --execute`"
        )
    return (
        f"{environment} is being deployed by {holder.describe()}; wait for it to finish "
        f"or retry with --wait SECONDS"
    )


@dataclass(frozen=True)
class UnlockResult:
    """What `break_stale_lock` found and did."""

    lock: LockInfo | None
    removed: bool
    dry_run: bool


def break_stale_lock(settings: LockTable, *, execute: bool) -> UnlockResult:
    """Remove the lock only if its lease has expired; a dry run unless `execute`."""
    holder = read_lock(settings)
    if holder is None:
        return UnlockResult(None, False, not execute)
    if not holder.expired:
        raise DeployLockedError(
            f"{settings.environment} deploy lock is live, not stale: held by "
            f"{holder.describe()}; it is released when that deploy ends"
        )
    if not execute:
        return UnlockResult(holder, False, True)
    client = dynamodb_client(settings)
    try:
        client.delete_item(
            TableName=settings.lock_table,
            Key={"LockID": {"S": lock_key(settings.environment)}},
            ConditionExpression="#token = :token AND expires_at < :now",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={
                ":token": {"S": holder.token},
                ":now": {"N": f"{time.time():.3f}"},
            },
        )
    except ClientError as exc:
        if _code(exc) == "ConditionalCheckFailedException":
            raise DeployLockedError(
                f"{settings.environment} deploy lock changed while breaking it; "
                f"run `inv deploy.unlock -e {settings.environment}` again to see its holder"
            ) from None
        raise _table_error(settings, exc) from None
    return UnlockResult(holder, True, False)


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "error")


def _table_error(settings: LockTable, exc: Exception) -> DeployError:
    code = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return DeployError(
        f"DynamoDB table {settings.lock_table} ({settings.region}) refused the request: "
        f"{code}; check deploy.lock_table and your AWS credentials"
    )


def _call(settings: LockTable, method: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise _table_error(settings, exc) from None
