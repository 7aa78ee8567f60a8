"""Sealed means sealed on S3: the lake bucket's policy, rendered from the HCL, denies exactly
what ops/analyses/seal.py promises — PutObject and DeleteObject (and version deletes) under
`analyses/` to every principal but the bot's role — and the AWS stack wires it to the lake
with the role its pipelines run as. (The emulator cannot tell principals apart in a bucket
policy; what it does enforce is tested in tests/integration/analyses/test_seal_and_run.py.)
"""

from __future__ import annotations

import hcl2
import pytest

from common.environments import REPO_ROOT
from common.lake.layout import analysis_prefix, computed_file_key
from ops.analyses import seal
from tests.support.bucket_policy import denied, render_statements

BUCKET = "refinery-staging-lake"
BOT = "arn:aws:iam::123456789012:role/refinery-staging-batch-job"
OPERATOR = "arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123"
FOREMAN = "arn:aws:iam::123456789012:role/refinery-staging-foreman"
RESULT = f"arn:aws:s3:::{BUCKET}/{computed_file_key(7, 'quant.sf')}"
RAW = f"arn:aws:s3:::{BUCKET}/raw/ena-PRJ1/ERX1/r1.fastq.gz"


@pytest.fixture(scope="module")
def statements() -> list[dict]:
    return render_statements(
        "write_protected", bucket=BUCKET, prefixes=["analyses/"], writers=[BOT]
    )


@pytest.mark.parametrize("action", ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"])
@pytest.mark.parametrize("principal", [OPERATOR, FOREMAN])
def test_nobody_but_the_bot_may_overwrite_or_delete_a_result(statements, action, principal):
    assert denied(statements, principal_arn=principal, action=action, resource=RESULT)


@pytest.mark.parametrize("action", ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"])
def test_the_bot_still_writes_results(statements, action):
    assert not denied(statements, principal_arn=BOT, action=action, resource=RESULT)


def test_reading_results_and_writing_outside_analyses_are_untouched(statements):
    assert not denied(statements, principal_arn=OPERATOR, action="s3:GetObject", resource=RESULT)
    assert not denied(statements, principal_arn=OPERATOR, action="s3:PutObject", resource=RAW)


def test_the_protected_prefix_is_where_results_live_and_what_seal_checks(statements):
    [statement] = statements
    assert statement["Sid"] == "OnlyTheBotWritesResults"
    results_root = analysis_prefix(7).split("/")[0] + "/"  # analyses/
    assert statement["Resource"] == [f"arn:aws:s3:::{BUCKET}/{results_root}*"]
    assert "OnlyTheBotWritesResults" in (seal.__doc__ or "")
    assert "analyses/" in (seal.__doc__ or "")


def _module_call(stack: str, name: str) -> dict:
    with (REPO_ROOT / f"infrastructure/stacks/{stack}/main.tf").open() as handle:
        for block in hcl2.load(handle)["module"]:
            if f'"{name}"' in block:
                return block[f'"{name}"']
    raise AssertionError(f"stacks/{stack} has no module {name}")


def test_the_aws_stack_protects_the_lake_for_the_bot_role_only():
    lake = _module_call("aws", "lake_bucket")
    assert lake["write_protected_prefixes"] == ['"analyses/"']
    assert lake["writer_role_arns"] == ["${module.iam.bot_role_arn}"]
    with (REPO_ROOT / "infrastructure/modules/iam/outputs.tf").open() as handle:
        outputs = {name.strip('"'): body for block in hcl2.load(handle)["output"]
                   for name, body in block.items()}  # fmt: skip
    # The bot on AWS is the role its pipelines run as: the Batch job role.
    assert outputs["bot_role_arn"]["value"] == "${try(aws_iam_role.batch_job[0].arn, null)}"


def test_the_bucket_policy_combines_tls_only_with_the_write_protection():
    text = (REPO_ROOT / "infrastructure/modules/s3_bucket/main.tf").read_text()
    assert "policy = data.aws_iam_policy_document.this[0].json" in text
    assert "data.aws_iam_policy_document.tls_only[0].json" in text
    assert "data.aws_iam_policy_document.write_protected : document.json" in text
