"""The Terraform in infrastructure/, checked without any provider: fmt, HCL parse, contracts.

The AWS provider cannot be downloaded here, so the AWS stack is proven by what can be checked
statically: it is formatted, it parses, every module follows the layout convention, every
variable is typed and described, it declares every output the deploy reads (the same set as
the null test stack), and the environments' tfvars only set variables the stack declares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest

from common.environments import REPO_ROOT
from common.shell import run_command
from ops.tf.binary import terraform_path
from ops.tf.outputs import REQUIRED_OUTPUTS

INFRA = REPO_ROOT / "infrastructure"
AWS_STACK = INFRA / "stacks/aws"
NULL_STACK = INFRA / "stacks/sandbox"
MODULE_DIRS = sorted(path for path in (INFRA / "modules").iterdir() if path.is_dir())
STACK_DIRS = [AWS_STACK, NULL_STACK, NULL_STACK / "modules/stand_in"]
LAYOUT = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _blocks(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """{name: body} of every `kind` block (variable, output…) in the folder's .tf files."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            document = hcl2.load(handle)
        for block in document.get(kind, []):
            for name, body in block.items():
                found[_unquote(name)] = body
    return found


def _tfvars(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        document = hcl2.load(handle)
    return {key: value for key, value in document.items() if not key.startswith("__")}


def test_infrastructure_is_terraform_fmt_clean():
    result = run_command(
        [terraform_path(), "fmt", "-check", "-recursive", "-list=true", str(INFRA)], check=False
    )
    assert result.returncode == 0, f"not fmt-clean: {result.stdout or result.stderr}"


@pytest.mark.parametrize("directory", MODULE_DIRS + STACK_DIRS, ids=lambda p: p.name)
def test_every_module_and_stack_has_the_standard_layout_and_parses(directory):
    missing = [name for name in LAYOUT if not (directory / name).is_file()]
    assert not missing, f"{directory} lacks {missing}"
    for path in directory.glob("*.tf"):
        with path.open() as handle:
            hcl2.load(handle)  # raises on a syntax error


@pytest.mark.parametrize("directory", MODULE_DIRS + STACK_DIRS, ids=lambda p: p.name)
def test_every_variable_is_typed_and_described(directory):
    variables = _blocks(directory, "variable")
    assert variables, f"{directory} declares no variables"
    for name, body in variables.items():
        assert "type" in body, f"{directory.name}: variable {name} has no type"
        assert _unquote(body.get("description", "")), f"{directory.name}: {name} undescribed"


@pytest.mark.parametrize("directory", MODULE_DIRS + STACK_DIRS, ids=lambda p: p.name)
def test_every_output_is_described(directory):
    for name, body in _blocks(directory, "output").items():
        assert _unquote(body.get("description", "")), f"{directory.name}: output {name}"


def test_aws_stack_declares_every_output_the_deploy_reads():
    declared = set(_blocks(AWS_STACK, "output"))
    assert set(REQUIRED_OUTPUTS) <= declared, set(REQUIRED_OUTPUTS) - declared


def test_null_stack_outputs_mirror_the_aws_stack():
    assert set(_blocks(NULL_STACK, "output")) == set(_blocks(AWS_STACK, "output"))


def test_providers_are_pinned_exactly_in_stacks():
    for stack, provider in ((AWS_STACK, "aws"), (NULL_STACK, "null")):
        with (stack / "versions.tf").open() as handle:
            terraform = hcl2.load(handle)["terraform"][0]
        constraint = _unquote(terraform["required_providers"][0][provider]["version"])
        assert constraint[0].isdigit(), f"{stack.name}: {provider} not pinned ({constraint})"
        assert "backend" in terraform, f"{stack.name} has no remote backend block"


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_tfvars_set_only_declared_variables_and_every_required_one(environment):
    declared = _blocks(AWS_STACK, "variable")
    values = _tfvars(INFRA / f"environments/{environment}.tfvars")
    assert set(values) <= set(declared), set(values) - set(declared)
    required = {name for name, body in declared.items() if "default" not in body}
    assert required <= set(values), required - set(values)
    assert set(values["batch_pools"]) == {"spot", "large_memory"}
    assert _unquote(values["environment"]) == environment


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_tfvars_hold_no_secret(environment):
    values = _tfvars(INFRA / f"environments/{environment}.tfvars")
    suspicious = [key for key in values if any(word in key for word in ("password", "secret"))]
    assert not suspicious


def test_database_is_encrypted_protected_backed_up_and_has_no_password_input():
    body = (INFRA / "modules/database/main.tf").read_text()
    for setting in (
        "storage_encrypted     = true",
        "manage_master_user_password   = true",
        "deletion_protection       = var.enable_deletion_protection",
        "backup_retention_period   = var.backup_retention_days",
        "skip_final_snapshot       = false",
        "publicly_accessible    = false",
    ):
        assert setting in body, setting
    assert "password" not in " ".join(_blocks(INFRA / "modules/database", "variable"))


def test_protected_resources_carry_the_protected_tag():
    for module, resource in (
        ("database", "aws_db_instance"),
        ("s3_bucket", "aws_s3_bucket"),
        ("dynamodb_table", "aws_dynamodb_table"),
    ):
        text = (INFRA / f"modules/{module}/main.tf").read_text()
        start = text.index(f'resource "{resource}" "this"')
        block = text[start : text.index("\n}\n", start)]
        assert "protected = " in block, f"{module}: {resource}.this is not tagged protected"
