"""The lake bucket's policy as the AWS stack would write it, rendered from the HCL itself.

The AWS provider cannot run here, so `data "aws_iam_policy_document"` blocks of
infrastructure/modules/s3_bucket are rendered by this small interpreter of the few expression
forms they use (the bucket ARN, the `for` over the protected prefixes, the writer list). An
expression it does not know fails loudly: the test must be taught it, never silently pass.
A static evaluator then answers "may this principal do this action on this key?" the way S3
does for a bucket policy with only Deny statements (an explicit Deny wins; else not denied).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import hcl2

from common.environments import REPO_ROOT

MODULE = REPO_ROOT / "infrastructure/modules/s3_bucket/main.tf"
_BUCKET_ARN = "${aws_s3_bucket.this[0].arn}"
_PREFIX_FOR = (
    '${[for prefix in var.write_protected_prefixes : "${aws_s3_bucket.this[0].arn}/${prefix}*"]}'
)


def _documents() -> dict[str, dict[str, Any]]:
    with MODULE.open() as handle:
        parsed = hcl2.load(handle)
    found = {}
    for block in parsed.get("data", []):
        for kind, bodies in block.items():
            if kind.strip('"') == "aws_iam_policy_document":
                found.update({name.strip('"'): body for name, body in bodies.items()})
    return found


def _string(value: str, bucket_arn: str) -> str:
    text = value[1:-1] if value.startswith('"') and value.endswith('"') else value
    text = text.replace(_BUCKET_ARN, bucket_arn)
    if "${" in text:
        raise AssertionError(f"the policy renderer does not know the expression {value!r}")
    return text


def _list(value: Any, bucket_arn: str, variables: dict[str, list[str]]) -> list[str]:
    if value == _PREFIX_FOR:
        return [f"{bucket_arn}/{prefix}*" for prefix in variables["write_protected_prefixes"]]
    if isinstance(value, str) and value.startswith("${var.") and value.endswith("}"):
        return list(variables[value[6:-1]])
    if isinstance(value, list):
        return [_string(item, bucket_arn) for item in value]
    raise AssertionError(f"the policy renderer does not know the list {value!r}")


def render_statements(
    document: str, *, bucket: str, prefixes: list[str], writers: list[str]
) -> list[dict[str, Any]]:
    """The IAM JSON statements of data.aws_iam_policy_document.<document> in the module."""
    arn = f"arn:aws:s3:::{bucket}"
    variables = {"write_protected_prefixes": prefixes, "writer_role_arns": writers}
    statements = []
    for statement in _documents()[document]["statement"]:
        principals = statement["principals"][0]
        rendered: dict[str, Any] = {
            "Sid": _string(statement["sid"], arn),
            "Effect": _string(statement["effect"], arn),
            "Principal": "*"
            if principals["identifiers"] == ['"*"']
            else {_string(principals["type"], arn): _list(principals["identifiers"], arn, {})},
            "Action": _list(statement["actions"], arn, variables),
            "Resource": _list(statement["resources"], arn, variables),
        }
        conditions: dict[str, dict[str, list[str]]] = {}
        for condition in statement.get("condition", []):
            test = _string(condition["test"], arn)
            key = _string(condition["variable"], arn)
            conditions.setdefault(test, {})[key] = _list(condition["values"], arn, variables)
        if conditions:
            rendered["Condition"] = conditions
        statements.append(rendered)
    return statements


def policy_json(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def denied(
    statements: list[dict[str, Any]], *, principal_arn: str, action: str, resource: str
) -> bool:
    """Whether an explicit Deny of these statements applies to the request (TLS assumed)."""
    for statement in statements:
        if statement["Effect"] != "Deny" or statement["Principal"] != "*":
            continue
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in statement["Action"]):
            continue
        if not any(fnmatch.fnmatchcase(resource, pattern) for pattern in statement["Resource"]):
            continue
        if _conditions_hold(statement.get("Condition", {}), principal_arn):
            return True
    return False


def _conditions_hold(conditions: dict[str, dict[str, list[str]]], principal_arn: str) -> bool:
    context = {"aws:PrincipalArn": principal_arn, "aws:SecureTransport": "true"}
    for test, values in conditions.items():
        for key, expected in values.items():
            actual = context[key]
            if test == "ArnNotEquals":
                holds = all(not fnmatch.fnmatchcase(actual, arn) for arn in expected)
            elif test == "Bool":
                holds = actual in expected
            else:
                raise AssertionError(f"the evaluator does not know the condition {test}")
            if not holds:
                return False
    return True
