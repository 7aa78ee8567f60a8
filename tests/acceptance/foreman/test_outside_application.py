"""An application from outside the repository runs through the real foreman to a sealed result.

The test writes a package of its own (code and `applications.toml`, with its own name,
version and memory) into a folder on PYTHONPATH, names it in REFINERY_HANDLER_MODULES, and
drives everything through `inv` on a local environment: `analyses.run` accepts the
application because its manifest declares it, `foreman.run` dispatches it (with the memory
the manifest asks for) to a worker process that imports the package, and `analyses.seal`
seals the analysis that the shared lifecycle recorded under the package's own version.
"""

from __future__ import annotations

import json
import pwd
import stat
import textwrap

import pytest

from common import db
from common.lake import open_lake
from tests.integration.analyses.test_seal_and_run import BOT, _system_user
from tests.integration.lake.conftest import Catalog
from tests.support.foreman import FAST_FOREMAN, fetch, wait_until
from tests.support.inv import run_inv

pytestmark = pytest.mark.acceptance

CODE = '''
"""A lab's own application: the size and line count of every original file."""

from workers.processors.applications import run_application
from workers.registry import handler


def census(ctx, experiments):
    counts = {}
    for experiment in experiments:
        for original in experiment["files"]:
            with ctx.lake.open_read(original["lake_key"]) as raw:
                data = raw.read()
            counts[original["name"]] = {"bytes": len(data), "lines": data.count(b"\\n")}
    return {"census.json": (json.dumps(counts, sort_keys=True) + "\\n").encode()}


@handler("process", "lab_census")
def lab_census(ctx):
    return run_application(ctx, census, metadata={"memory_mb": ctx.memory_mb})
'''

MANIFEST = """
[[application]]
kind = "process"
name = "lab_census"
version = "3.2.1"
memory_mb = 1536
"""


def test_an_outside_application_runs_through_the_foreman_to_a_sealed_result(make_env, tmp_path):
    _system_user(BOT)
    package = tmp_path / "site" / "labtools"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "census.py").write_text("import json\n" + textwrap.dedent(CODE))
    (package / "applications.toml").write_text(MANIFEST)
    variables = {"REFINERY_HANDLER_MODULES": "labtools.census", "PYTHONPATH": str(package.parent)}

    env = make_env(
        "outsideapp",
        executor={"kind": "local", "concurrency": 2, "memory_tiers_mb": [1024, 2048]},
        foreman=FAST_FOREMAN,
        identity={"bot_user": BOT},
    )
    conn = db.connect(env)
    try:
        experiment = Catalog(env, conn, tmp_path).experiment("ERX31", files=2)
    finally:
        conn.close()

    queued = run_inv("analyses.run", "-e", env.name, "lab_census", "--experiment",
                     str(experiment), env=variables)  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    drained = run_inv("foreman.run", "-e", env.name, "--until-idle", env=variables)
    assert drained.returncode == 0, drained.stderr
    [(job_id,)] = fetch(env, "SELECT id FROM jobs WHERE handler = 'lab_census'")
    ended = (
        "SELECT state, failure_reason FROM jobs WHERE id = %s AND state IN ('succeeded', 'failed')"
    )
    state = wait_until(lambda: fetch(env, ended, (job_id,)), timeout=120,
                       what="the outside application's job never ended")  # fmt: skip
    assert state == [("succeeded", None)]

    sealed = run_inv("analyses.seal", "-e", env.name, env=variables)
    assert sealed.returncode == 0, sealed.stderr
    [(analysis_id, version, status, metadata)] = fetch(
        env,
        "SELECT id, application_version, status, metadata FROM analyses "
        "WHERE application = 'lab_census'",
    )
    assert (version, status) == ("3.2.1", "SUCCEEDED")
    # The foreman gave the attempt the memory its manifest asks for, above its tier's 1024 MB.
    assert metadata["memory_mb"] == 1536
    [(key,)] = fetch(env, "SELECT lake_key FROM files WHERE analysis_id = %s", (analysis_id,))
    with open_lake(env).open_read(key) as raw:
        census = json.loads(raw.read())
    assert census == {
        "r0.fastq.gz": {"bytes": len(b"ERX31-0") * 50, "lines": 0},
        "r1.fastq.gz": {"bytes": len(b"ERX31-1") * 50, "lines": 0},
    }
    # Sealed on the filesystem lake: the bot's, and nobody may write it.
    result = open_lake(env).root / key  # the lake of a local environment is a folder
    assert result.stat().st_uid == pwd.getpwnam(BOT).pw_uid
    assert stat.S_IMODE(result.stat().st_mode) & 0o222 == 0
