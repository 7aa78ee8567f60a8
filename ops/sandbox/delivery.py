"""A synthetic delivery in the sandbox's S3, put there as a sequencing core would upload one.

Rehearsing a release needs something to survey: `inv sandbox.delivery` writes the same
deterministic delivery `inv local.demo` surveys (a `samplesheet.csv` and paired FASTQ files),
uploads it under a fresh prefix of the deliveries bucket on the sandbox's AWS emulator, and
returns the `s3://` source to give `inv jobs.survey`. The bucket is the sequencing core's, not
the stack's, so it is created here when missing; the emulator's credentials are the ones
`inv sandbox.up` wrote for the sandbox.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from common.environments import Environment
from ops.local.demo_data import write_demo_delivery
from ops.progress import Progress, quiet
from ops.sandbox.emulator import client, emulator_port
from ops.sandbox.processes import SandboxError

DELIVERIES_BUCKET = "refinery-sandbox-deliveries"


def upload_demo_delivery(
    env: Environment, *, samples: int = 2, reads: int = 400, progress: Progress = quiet
) -> str:
    """Upload a synthetic delivery to the sandbox's deliveries bucket; its `s3://` source."""
    port = emulator_port(env)
    s3 = client(env, "s3")
    try:
        s3.head_bucket(Bucket=DELIVERIES_BUCKET)
    except ClientError:
        s3.create_bucket(Bucket=DELIVERIES_BUCKET)
    except BotoCoreError:
        raise SandboxError(
            f"the sandbox's AWS emulator does not answer on 127.0.0.1:{port}: "
            f"run inv sandbox.up -e {env.name} first"
        ) from None
    prefix = f"core-{uuid.uuid4().hex[:8]}/"
    with tempfile.TemporaryDirectory(prefix="refinery-delivery-") as scratch:
        folder = write_demo_delivery(
            Path(scratch) / "delivery", samples=samples, reads=reads
        ).folder
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        for path in files:
            key = prefix + path.relative_to(folder).as_posix()
            progress("uploading", 1, len(files))
            s3.upload_file(str(path), DELIVERIES_BUCKET, key)
    return f"s3://{DELIVERIES_BUCKET}/{prefix}"
