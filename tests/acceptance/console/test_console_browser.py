"""The console in a real headless Chromium after `inv local.demo`: search a sample by a metadata
word, open it and see its QC plots; filter failed jobs and read a reason; an analyst cannot
retry a job; a page without a token is refused.

Everything runs through `inv` in a state folder of its own (as the demo's own test does): the
demo, `inv users.add`, `inv console`. The one failed job is written straight into the jobs
table, since nothing in the demo fails. Set REFINERY_CONSOLE_SCREENSHOT to a path to keep the
screenshot of the sample page (the README's is made that way).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from common.embedded import EmbeddedCluster
from common.environments import REPO_ROOT
from tests.support.services import free_port, stop_process, wait_for_port, which_or_fail

pytestmark = pytest.mark.acceptance
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.mark.slow
def test_console_in_a_browser_after_the_demo(server_tmp_path, tmp_path):
    chromium = which_or_fail("chromium", "install Debian's chromium (scripts/system-packages.sh)")
    from playwright.sync_api import expect, sync_playwright

    state = server_tmp_path / "state"
    variables = {**os.environ, "REFINERY_STATE_DIR": str(state), "COLUMNS": "200"}
    variables.pop("REFINERY_ENVIRONMENTS_DIR", None)  # the shipped local environment
    variables.pop("REFINERY_HANDLER_MODULES", None)
    inv_path = str(Path(sys.executable).with_name("inv"))

    def inv(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([inv_path, *args], cwd=REPO_ROOT, env=variables,
                                capture_output=True, text=True, timeout=600)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    port = free_port()
    console = None
    try:
        inv("local.demo", "--samples", "3", "--reads", "500")
        analyst = inv("users.add", "-e", "local", "ana", "--role", "analyst").stdout.split()[-1]
        failed_job = _add_failed_job(state, "download of S9_R1.fastq.gz failed: HTTP 503")
        log = open(tmp_path / "console.log", "ab")  # noqa: SIM115 - closed with the process
        console = subprocess.Popen(
            [inv_path, "console", "-e", "local", "--address", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT, env=variables, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for_port(port, timeout=60, process=console)
        base = f"http://127.0.0.1:{port}"

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            refused = page.goto(f"{base}/jobs")
            assert refused.status == 401
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

            page.fill("input[name=token]", analyst)
            page.click("text=Sign in >> nth=-1")
            expect(page.get_by_role("heading", name="Jobs")).to_be_visible()

            # search by a metadata word (the tissue), open the sample, see its QC plots
            page.fill("input[name=q]", "liver")
            page.keyboard.press("Enter")
            expect(page.locator("#total")).to_contain_text("match")
            page.locator("#hits").get_by_role("link", name="S2", exact=True).click()
            expect(page.get_by_role("heading", name="Sample S2")).to_be_visible()
            expect(page.locator("#tissue")).to_have_text("liver")
            plots = page.locator("#qc-plots img")
            expect(plots.first).to_be_visible()
            assert plots.count() >= 2
            assert page.evaluate(
                "[...document.querySelectorAll('#qc-plots img')].every(i => i.naturalWidth > 0)"
            )
            screenshot = tmp_path / "console.png"
            page.screenshot(path=str(screenshot), full_page=False)
            if os.environ.get("REFINERY_CONSOLE_SCREENSHOT"):
                shutil.copy(screenshot, os.environ["REFINERY_CONSOLE_SCREENSHOT"])

            # filter the failed jobs and read the reason
            page.goto(f"{base}/jobs")
            page.select_option("select[name=state]", "failed")
            page.click("form.filters button")
            expect(page.locator("#jobs tbody tr")).to_have_count(1)
            expect(page.locator("#jobs .reason")).to_have_text(
                "download of S9_R1.fastq.gz failed: HTTP 503"
            )
            page.locator("#jobs a", has_text=str(failed_job)).click()
            expect(page.locator("#reason")).to_contain_text("HTTP 503")

            # an analyst is offered no retry, and one forced through is refused
            expect(page.locator("#retry")).to_have_count(0)
            forced = page.request.post(f"{base}/jobs/{failed_job}/retry")
            assert forced.status == 403
            page.reload()
            expect(page.locator("#state")).to_have_text("failed")
            browser.close()
    finally:
        if console is not None:
            stop_process(console)
        subprocess.run([inv_path, "local.down"], cwd=REPO_ROOT, env=variables,
                       capture_output=True, timeout=120)  # fmt: skip


def _add_failed_job(state: Path, reason: str) -> int:
    address = EmbeddedCluster(state / "postgres").address()
    conn = psycopg2.connect(host=address.host, port=address.port, user=address.user,
                            password=address.password, dbname="refinery")  # fmt: skip
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO jobs (kind, state, attempt, max_attempts, ended_at, failure_reason)"
                " VALUES ('download', 'failed', 3, 3, now(), %s) RETURNING id",
                (reason,),
            )
            job_id = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    return job_id
