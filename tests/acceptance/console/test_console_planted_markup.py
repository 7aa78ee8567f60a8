"""Markup planted in every field a person or a source can write stays text in a real Chromium,
on every page; and a form posted from a page on another local port changes nothing.

Everything is planted through the real paths, by `inv`:
- a project title: `inv projects.add --title`;
- a delivery's sample-sheet text (species, tissue, platform) and a FASTQ file name:
  `inv jobs.survey` of a delivery folder, run by the real foreman (`python -m foreman run`),
  in which the empty FASTQ with the planted name really fails its QC, so the failure reason
  carries it;
- metadata values (diagnosis, tissue, species): `inv metadata.sync --execute` from a REDCap
  API on loopback (the outer boundary: tests/support/redcap.py);
- a search query, a login `next`, and a filter value an error message repeats: in the URL.
Nothing is written with SQL. The planted text cannot hold a slash (it is also a file name),
so its refresh goes to `?moved`: a page that obeyed it would change its own URL.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.foreman import fetch, make_foreman_env, start_foreman, wait_until
from tests.support.redcap import TOKEN, RedcapServer
from tests.support.services import free_port, stop_process, wait_for_port, which_or_fail

pytestmark = pytest.mark.acceptance
PLANT = '"><b id="planted">X<b><meta http-equiv="refresh" content="0;url=?moved">'
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
INV = str(Path(sys.executable).with_name("inv"))
BAD_FASTQ = f"bad{PLANT}.fq"


def _inv(*args: str) -> str:
    result = subprocess.run([INV, *args], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "COLUMNS": "200"},
                            cwd=Path(__file__).resolve().parents[3])  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _delivery(folder: Path) -> Path:
    folder.mkdir()
    rows = [
        ["project", "sample_id", "individual", "species", "tissue", "run_id", "read1", "platform"],
        ["CRC", "D1", "I1", PLANT, PLANT, "R1", "good.fq", PLANT],
        ["CRC", "D2", "I2", "Homo sapiens", "blood", "R1", BAD_FASTQ, "ILLUMINA"],
    ]
    sheet = io.StringIO()
    csv.writer(sheet, lineterminator="\n").writerows(rows)
    (folder / "samplesheet.csv").write_text(sheet.getvalue())
    (folder / "good.fq").write_bytes(b"@r1\nACGTACGT\n+\nIIIIIIII\n@r2\nACGTTTTT\n+\nIIIIIIII\n")
    (folder / BAD_FASTQ).write_bytes(b"")  # no reads: its QC fails, naming the file
    return folder


def _all_ended(env) -> bool:
    jobs = fetch(env, "SELECT kind, state FROM jobs")
    ended = all(state in ("succeeded", "failed", "cancelled") for _, state in jobs)
    return ended and any(kind == "process" for kind, _ in jobs)


class _Hostile(BaseHTTPRequestHandler):
    """A page on another local port that posts a form to the console as soon as it loads."""

    target = ""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><html><body>"
            f'<form method="post" action="{self.target}"><input name="csrf" value="guess"></form>'
            "<script>document.forms[0].submit()</script></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_planted_markup_stays_text_on_every_page_and_a_forged_post_is_refused(
    make_env, tmp_path, session_dirs, monkeypatch
):
    chromium = which_or_fail("chromium", "install Debian's chromium (scripts/system-packages.sh)")
    from playwright.sync_api import sync_playwright

    redcap = RedcapServer()
    monkeypatch.setenv("REFINERY_REDCAP_TOKEN", TOKEN)
    env = make_foreman_env(make_env, "planted", retry_delay_seconds=0)
    from tests.support.environments import write_environment

    # the same environment, with its [metadata] section pointing at the REDCap on loopback
    text = (session_dirs["environments"] / "planted.toml").read_text()
    write_environment(session_dirs["environments"], "planted-extra",
                      {"metadata": {"project": "CRC", "redcap_url": redcap.url,
                                    "overlap_minutes": 0}})  # fmt: skip
    extra = (session_dirs["environments"] / "planted-extra.toml").read_text()
    (session_dirs["environments"] / "planted.toml").write_text(text + "\n" + extra)
    (session_dirs["environments"] / "planted-extra.toml").unlink()

    hostile_server = None
    console = None
    try:
        _inv("projects.add", "-e", env.name, "CRC", "--title", PLANT, "--owner", "lab",
             "--schema-version", "1")  # fmt: skip
        redcap.project.put("M1", individual_id="PT1", species=PLANT, tissue=PLANT,
                           diagnosis=PLANT)  # fmt: skip
        _inv("metadata.sync", "-e", env.name, "--execute")
        _inv("jobs.survey", "-e", env.name, str(_delivery(tmp_path / "delivery")))
        foreman = start_foreman(env, session_dirs["logs"])  # the real foreman, by its pid
        try:
            wait_until(lambda: _all_ended(env), timeout=300, what="survey, downloads and QC")
        finally:
            foreman.send_signal(signal.SIGTERM)
            foreman.wait(timeout=60)
        engineer = _inv("users.add", "-e", env.name, "eng", "--role", "engineer").split()[-1]

        [(failed_job, reason)] = fetch(
            env, "SELECT id, failure_reason FROM jobs WHERE state = 'failed'"
        )
        assert PLANT in reason  # the QC of the empty file with the planted name really failed
        ids = dict(fetch(env, "SELECT 'project', id FROM projects WHERE accession = 'CRC'"))
        samples = [row[0] for row in fetch(env, "SELECT id FROM samples ORDER BY id")]
        experiments = [row[0] for row in fetch(env, "SELECT id FROM experiments ORDER BY id")]
        analyses = [row[0] for row in fetch(env, "SELECT id FROM analyses ORDER BY id")]
        assert len(samples) == 3 and experiments and analyses, (samples, experiments, analyses)
        synced = fetch(
            env,
            "SELECT s.tissue, i.metadata->>'diagnosis' FROM samples s "
            "JOIN individuals i ON i.id = s.individual_id WHERE s.name = 'M1'",
        )
        assert synced == [(PLANT, PLANT)], synced  # the metadata sync wrote it as it came

        port = free_port()
        log = open(tmp_path / "console.log", "ab")  # noqa: SIM115 - closed with the process
        console = subprocess.Popen(
            [INV, "console", "-e", env.name, "--address", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=Path(__file__).resolve().parents[3],
        )  # fmt: skip
        wait_for_port(port, timeout=60, process=console)
        base = f"http://127.0.0.1:{port}"
        planted_q = quote(PLANT)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()

            def visit(path: str, *, shows_plant: bool = True, status: int = 200) -> None:
                response = page.goto(base + path)
                assert response is not None and response.status == status, path
                url = page.url
                page.wait_for_timeout(1200)  # a refresh of 0 s would have happened by now
                assert page.url == url and not url.endswith("?moved"), f"{path} navigated away"
                assert page.query_selector("#planted") is None, f"{path} made planted markup"
                assert page.query_selector("b") is None, f"{path} has a <b>"
                assert page.query_selector("meta[http-equiv]") is None, path
                assert len(page.query_selector_all("meta")) == 1, path  # the template's charset
                if shows_plant:
                    assert PLANT in page.inner_text("body"), f"{path} does not show the plant"

            # signed out: the sign-in page reflects `next` and a page's path
            visit(f"/login?next={planted_q}", shows_plant=False)
            assert page.input_value("input[name=next]") == "/"
            visit(f"/catalog/projects/{ids['project']}?x={planted_q}", status=401,
                  shows_plant=False)  # fmt: skip

            page.goto(f"{base}/login")
            page.fill("input[name=token]", engineer)
            page.click("text=Sign in >> nth=-1")
            page.wait_for_url(f"{base}/jobs")  # `next` defaults to /, which shows the jobs

            visit("/jobs")
            visit(f"/jobs?state=failed&reason={quote(reason[:40])}", shows_plant=False)
            visit(f"/jobs/{failed_job}")
            visit("/catalog")
            visit(f"/catalog/projects/{ids['project']}")
            for sample in samples:
                visit(f"/catalog/samples/{sample}", shows_plant=True)
            for experiment in experiments:
                visit(f"/catalog/experiments/{experiment}", shows_plant=False)
            visit("/results", shows_plant=False)
            for analysis in analyses:
                visit(f"/results/{analysis}", shows_plant=False)
            visit("/health", shows_plant=False)
            visit("/search?q=planted", shows_plant=False)
            visit(f"/search?q={planted_q}")
            visit(f"/jobs?state={planted_q}", status=400)  # an error page repeats the value
            visit(f"/search?q=x&entity={planted_q}", status=400)
            visit(f"/search?q=x&page={planted_q}", status=400, shows_plant=False)
            visit("/jobs/99999999999999999999", status=404, shows_plant=False)
            visit(f"/no-such-page/{planted_q}", status=404, shows_plant=False)

            # a page on another local port posts a retry form while the engineer is signed in
            hostile_port = free_port()
            _Hostile.target = f"{base}/jobs/{failed_job}/retry"
            hostile_server = ThreadingHTTPServer(("127.0.0.1", hostile_port), _Hostile)
            threading.Thread(target=hostile_server.serve_forever, daemon=True).start()
            with page.expect_response(re.compile(r".*/retry$")) as forged:
                page.goto(f"http://127.0.0.1:{hostile_port}/")
            assert forged.value.status == 403
            # the browser did send the cookie (same site: another port is no other site)
            assert "refinery_token=" in forged.value.request.all_headers().get("cookie", "")
            page.wait_for_timeout(500)
            assert fetch(env, "SELECT state FROM jobs WHERE id = %s", (failed_job,)) == [
                ("failed",)
            ]

            # the console's own form does retry it
            page.goto(f"{base}/jobs/{failed_job}")
            page.click("#retry")
            page.wait_for_url(f"{base}/jobs/{failed_job}")
            assert fetch(env, "SELECT state FROM jobs WHERE id = %s", (failed_job,)) == [
                ("pending",)
            ]
            browser.close()
    finally:
        if hostile_server is not None:
            hostile_server.shutdown()
            hostile_server.server_close()
        if console is not None:
            stop_process(console)
        redcap.stop()
