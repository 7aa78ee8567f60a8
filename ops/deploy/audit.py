"""The deploy audit log: one DynamoDB item per deploy or rollback, updated step by step.

Records share the environment's lock table with the deploy lock (and Terraform's own locks),
under keys `refinery-deploy-audit/<env>/<started_at>/<deploy_id>`: no extra table to create
or secure, and a prefix nothing else writes. Each item says who ran what, when, from which git
commit, what the Terraform plan would change (counts), which steps finished (with the facts a
re-run may reuse, such as pushed image references), the outcome and the error line. It is
written when the deploy starts and after every step, so an interrupted deploy leaves a record
a re-run can pick up from. History is a filtered scan: the table holds a handful of items per
deploy, never enough to make that slow.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from common.identity import operator_identity
from ops.deploy.errors import DeployError
from ops.deploy.settings import LockTable, dynamodb_client

AUDIT_KEY_PREFIX = "refinery-deploy-audit/"
OUTCOMES = ("running", "succeeded", "failed", "interrupted")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class DeployRecord:
    """One deploy or rollback as the audit log keeps it."""

    environment: str
    action: str
    version: str
    git_sha: str
    deploy_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    actor: str = field(default_factory=operator_identity)
    pid: int = field(default_factory=os.getpid)
    started_at: str = field(default_factory=now_iso)
    finished_at: str = ""
    outcome: str = "running"
    error: str = ""
    plan: dict[str, int] = field(default_factory=dict)
    steps_done: list[str] = field(default_factory=list)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumed_from: str = ""
    rolled_back_from: str = ""

    @property
    def key(self) -> str:
        return f"{AUDIT_KEY_PREFIX}{self.environment}/{self.started_at}/{self.deploy_id}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditLog:
    """Reads and writes the audit records of one environment."""

    def __init__(self, settings: LockTable) -> None:
        self.settings = settings
        self.client = dynamodb_client(settings)

    def save(self, record: DeployRecord) -> None:
        """Write the whole record (items are small; a full put keeps them consistent)."""
        body = json.dumps(record.as_dict(), sort_keys=True, default=str)
        item = {
            "LockID": {"S": record.key},
            "kind": {"S": "deploy-audit"},
            "environment": {"S": record.environment},
            "started_at": {"S": record.started_at},
            "outcome": {"S": record.outcome},
            "record": {"S": body},
        }
        self._call(self.client.put_item, TableName=self.settings.lock_table, Item=item)

    def history(self, *, limit: int | None = None) -> list[DeployRecord]:
        """Records of this environment, newest first."""
        prefix = f"{AUDIT_KEY_PREFIX}{self.settings.environment}/"
        records: list[DeployRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self.settings.lock_table,
            "FilterExpression": "begins_with(LockID, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": prefix}},
            "ConsistentRead": True,
        }
        while True:
            response = self._call(self.client.scan, **kwargs)
            for item in response.get("Items", []):
                records.append(DeployRecord(**json.loads(item["record"]["S"])))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        records.sort(key=lambda record: record.started_at, reverse=True)
        return records[:limit] if limit else records

    def latest(self) -> DeployRecord | None:
        records = self.history(limit=1)
        return records[0] if records else None

    def successful(self) -> list[DeployRecord]:
        """Succeeded deploys and rollbacks, newest first."""
        return [record for record in self.history() if record.outcome == "succeeded"]

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            raise DeployError(
                f"deploy audit log in {self.settings.lock_table} ({self.settings.region}) "
                f"is unreachable: {code}; check deploy.lock_table and your AWS credentials"
            ) from None
