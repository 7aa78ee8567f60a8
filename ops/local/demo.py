"""What `inv local.demo` does after `local.up`: deliver, survey, wait with progress, report.

The foreman started by `local.up` runs the jobs; this only queues the survey and watches the
job tree it grows (survey → downloads → QC), then shows the per-sample QC table.
"""

from __future__ import annotations

from invoke.exceptions import Exit

from common.db import transaction
from common.environments import Environment
from common.errors import ExitCode
from ops.job_wait import wait_for_job_tree
from ops.local.demo_data import write_demo_delivery
from ops.local.qc_report import qc_rows, qc_table, write_qc_report
from ops.taskkit import console, folded, print_table
from workers.submit import submit_survey


def run_demo(env: Environment, *, samples: int, reads: int, timeout: float) -> None:
    delivery = write_demo_delivery(
        env.state_dir / "deliveries" / "demo", samples=samples, reads=reads
    )
    console.print(
        f"wrote a synthetic delivery of {len(delivery.samples)} paired-end samples "
        f"({delivery.reads_per_file:,} read pairs each) to {delivery.folder}"
    )
    with transaction(env) as conn:
        job_id, _payload = submit_survey(conn, str(delivery.folder))
    console.print(f"queued survey job {job_id}")
    progress = wait_for_job_tree(env, job_id, timeout=timeout)
    rows = qc_rows(env)
    console.print(folded(qc_table(rows)))
    report = write_qc_report(env, env.state_dir / "reports" / "qc_report.html")
    console.print(f"QC report: {report}")
    console.print("look around: inv jobs.status -e local    stop: inv local.down")
    if progress.failed:
        print_table(
            "Jobs that did not succeed",
            ("job", "kind", "reason"),
            progress.failed,
        )
        raise Exit(
            f"error: {len(progress.failed)} demo jobs did not succeed", code=ExitCode.FAILURE
        )
    if not progress.done:
        raise Exit(
            f"error: {progress.active} demo jobs still unfinished after {timeout:.0f} s; "
            "is the foreman running? (inv local.up starts it)",
            code=ExitCode.FAILURE,
        )
