"""A dataset built from the console in a real headless Chromium, after the RNA-seq chain.

Through `inv` on the shipped `local` environment: a synthetic organism is indexed and one
delivery (project RNA3, two samples of liver) processed; `inv users.add` gives an analyst a
token; `inv console` serves the console. In Chromium the analyst signs in, searches "liver",
builds a dataset of the samples found, reloads its page until it is ready and downloads the
archive, which verifies against its manifest and holds both samples. Then `POST
/api/datasets` with the bearer token queues a dataset of a sample, and without the header the
same request is refused and queues nothing; `inv datasets.create --search liver` finds the
same samples as the console did.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.acceptance.rnaseq.conftest import wait_for_quiet
from tests.support.services import free_port, stop_process, wait_for_port, which_or_fail
from workers.datasets.archive import verify_archive

pytestmark = [pytest.mark.acceptance, pytest.mark.salmon]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


def _post(url: str, body: dict, token: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_a_dataset_from_a_search_in_chromium_and_from_the_api(local_state, tmp_path):
    chromium = which_or_fail("chromium", "install Debian's chromium (scripts/system-packages.sh)")
    from playwright.sync_api import expect, sync_playwright

    organism = make_organism(11)
    fasta, gtf = organism.write_genome(tmp_path / "reference")
    write_delivery(tmp_path / "three", organism, [
        PlannedSample("C1", seed=6, fragments=6_000),
        PlannedSample("C2", seed=7, fragments=6_000),
    ], project="RNA3")  # fmt: skip
    inv_path = str(Path(sys.executable).with_name("inv"))
    port, console = free_port(), None

    def run(*args: str) -> str:
        outcome = local_state.inv(*args)
        assert outcome.returncode == 0, (args, outcome.stderr[-2000:])
        return outcome.stdout

    try:
        run("local.up")
        run("index.build", "-e", "local", "--organism", organism.name, "--fasta", str(fasta),
            "--gtf", str(gtf))  # fmt: skip
        run("jobs.survey", "-e", "local", str(tmp_path / "three"))
        wait_for_quiet(local_state.query)
        token = run("users.add", "-e", "local", "ana", "--role", "analyst").split()[-1]
        log = open(tmp_path / "console.log", "ab")  # noqa: SIM115 - closed with the process
        console = subprocess.Popen(
            [inv_path, "console", "-e", "local", "--address", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT, env=local_state.variables, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for_port(port, timeout=60, process=console)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(accept_downloads=True)
            page.goto(f"{base}/search")
            page.fill("input[name=token]", token)
            page.click("text=Sign in >> nth=-1")
            page.fill("input[name=q]", "liver")
            page.keyboard.press("Enter")
            expect(page.locator("#total")).to_contain_text("match")
            page.select_option("#aggregate", "all")
            page.click("#build-dataset")
            expect(page.get_by_role("heading", name="Dataset #1 · dataset")).to_be_visible()
            deadline = time.monotonic() + 180
            while page.locator("#state").inner_text() != "ready":
                assert time.monotonic() < deadline, page.content()[-2000:]
                time.sleep(1)
                page.reload()
            with page.expect_download() as download:
                page.click("#download")
            archive = tmp_path / "downloaded.zip"
            download.value.save_as(archive)
            browser.close()
        refused = _post(f"{base}/api/datasets", {"samples": [1]}, None)
        created = _post(f"{base}/api/datasets", {"samples": [1], "scale": "minmax"}, token)
        bad = _post(f"{base}/api/datasets", {"samples": [1], "scale": "loud"}, token)
        from_inv = json.loads(run("datasets.create", "-e", "local", "--search", "liver", "--json"))
        datasets = local_state.query("SELECT id, requested_by, request FROM datasets ORDER BY id")
    finally:
        if console is not None:
            stop_process(console)
        subprocess.run([inv_path, "local.down"], cwd=REPO_ROOT, env=local_state.variables,
                       capture_output=True, timeout=120)  # fmt: skip

    assert verify_archive(archive) == []
    with zipfile.ZipFile(archive) as opened:
        header = opened.read("ALL/ALL.tsv").decode().splitlines()[0].split("\t")
        assert header == ["Gene", "RNA3-C1-RUN1", "RNA3-C2-RUN1"]
    assert refused[0] == 403 and "Authorization header" in refused[1]["error"]
    assert created[0] == 201 and created[1]["dataset_id"] == 2, created
    assert bad[0] == 400 and "--scale is one of" in bad[1]["error"], bad
    assert [i for i, _, _ in datasets] == [1, 2, 3] and from_inv["dataset_id"] == 3
    assert [by for _, by, _ in datasets][:2] == ["ana", "ana"]
    assert datasets[2][2]["search"] == "liver" and datasets[2][2]["samples"] == [1, 2]
    assert datasets[0][2]["search"] == "liver" and datasets[0][2]["samples"] == [1, 2]
