"""Hostile input through the console's real HTTP surface (`inv console`, one process for the
module): markup, NUL and control characters, undecodable bytes, look-alike digits, very long
strings and numbers out of range, in every query parameter a page reads, in `next`, and in
the forms that change something. Every answer is a page the console meant (200, 303, 400,
401, 403, 404), never a 500 or a traceback; every one carries the security headers; planted
markup never comes back as markup; and nothing is changed by a form without its token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.environments import REPO_ROOT
from ops.users.logins import add_user, remove_user
from tests.acceptance.hostile.strategies import hostile_text, not_a_number_in
from tests.support.foreman import fetch
from tests.support.services import free_port, stop_process, wait_for_port

pytestmark = pytest.mark.acceptance
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HTML = (
    '"><b id="planted">X</b>', "<meta http-equiv=refresh content=0;url=/x>", "'><i>",
    "</title><b>", "<!--", "]]>", "<svg onload=x>", "javascript:x", "//evil.example",
    "/\\evil.example", "\x00", "\x01", "\t", "\n", "\x7f", "\u0085", "%00",
)  # fmt: skip
PARAMETERS = {
    "/search": ("q", "page", "entity", "project", "tissue", "application", "status"),
    "/jobs": ("state", "kind", "queue", "reason"),
    "/results": ("status", "application"),
}
MEANT = {200, 303, 400, 401, 403, 404}


def html_text() -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(HTML), st.text(max_size=4))
    return st.lists(pieces, min_size=1, max_size=5).map("".join)


@pytest.fixture(scope="module")
def console(hostile_env, session_dirs):
    """`inv console` on the module's environment, and an engineer's token for it."""
    user = add_user(hostile_env, f"h{os.getpid()}", "engineer")
    port = free_port()
    log = open(session_dirs["logs"] / f"console-hostile-{port}.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("inv")), "console", "-e", hostile_env.name,
         "--address", f"127.0.0.1:{port}"],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60, process=process)
        yield f"http://127.0.0.1:{port}", user.token
    finally:
        stop_process(process)
        remove_user(hostile_env, user.name)


def _assert_meant(answer: requests.Response, what: object) -> None:
    assert answer.status_code in MEANT, (what, answer.status_code, answer.text[:300])
    assert "Traceback" not in answer.text
    assert "default-src 'none'" in answer.headers["content-security-policy"], what
    assert '<b id="planted">' not in answer.text and "<meta http-equiv" not in answer.text
    assert "<svg" not in answer.text and "<i>" not in answer.text, what


@EXAMPLES
@given(
    path=st.sampled_from(sorted(PARAMETERS)),
    data=st.data(),
    value=st.one_of(html_text(), hostile_text(), not_a_number_in(1, 10_000)),
    api=st.booleans(),
)
def test_a_hostile_query_value_gets_a_meant_answer_with_the_headers(
    console, path, data, value, api
):
    base, token = console
    name = data.draw(st.sampled_from(PARAMETERS[path]))
    params = {name: value.encode("utf-8", "surrogateescape")}
    if path == "/search" and name != "q":
        params["q"] = b"blood"
    answer = requests.get(f"{base}{'/api' if api else ''}{path}", params=params,
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
    _assert_meant(answer, (path, name, value))


@EXAMPLES
@given(target=st.one_of(html_text(), hostile_text()))
def test_a_hostile_next_is_never_followed_off_the_console(console, target):
    base, token = console
    session = requests.Session()
    shown = session.get(f"{base}/login", params={"next": target.encode("utf-8", "surrogateescape")},
                        timeout=30)  # fmt: skip
    _assert_meant(shown, target)
    form = session.get(f"{base}/login", timeout=30).text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    answer = session.post(
        f"{base}/login",
        data={"token": token, "next": target.encode("utf-8", "surrogateescape"), "csrf": csrf},
        headers={"Origin": base}, allow_redirects=False, timeout=30,
    )  # fmt: skip
    _assert_meant(answer, target)
    if answer.status_code == 303:
        location = answer.headers["location"]
        assert location.startswith("/") and not location.startswith("//"), location
        assert "\\" not in location


@EXAMPLES
@given(
    csrf=st.one_of(html_text(), hostile_text()),
    origin=st.one_of(  # what a header can hold: printable ASCII, not opening with a space
        st.none(),
        st.sampled_from(["null", "http://127.0.0.1:1", "http://localhost", "https://evil.example"]),
        st.from_regex(r"([!-~][ -~]{0,39})?", fullmatch=True),
    ),
)
def test_a_hostile_form_token_or_origin_changes_nothing(console, hostile_env, csrf, origin):
    base, token = console
    [(job_id,)] = fetch(
        hostile_env,
        "INSERT INTO jobs (kind, state, attempt, max_attempts, ended_at, failure_reason)"
        " VALUES ('download', 'failed', 3, 3, now(), 'x') RETURNING id",
    )  # a failed job to retry: written straight into the table, since no command fails one
    session = requests.Session()
    session.cookies.set("refinery_token", token)
    headers = {"Origin": origin} if origin is not None else {}
    for action in ("retry", "cancel"):
        answer = session.post(f"{base}/jobs/{job_id}/{action}",
                              data={"csrf": csrf.encode("utf-8", "surrogateescape")},
                              headers=headers, allow_redirects=False, timeout=30)  # fmt: skip
        _assert_meant(answer, (csrf, origin))
        assert answer.status_code in (400, 403), answer.status_code
    assert fetch(hostile_env, "SELECT state FROM jobs WHERE id = %s", (job_id,)) == [("failed",)]
