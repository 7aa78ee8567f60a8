"""`inv console` refuses what it must, over real HTTP: sign-in checks the token and keeps only a
local `next`; a form post needs the token of its cookie and the console's own origin; the API
changes nothing on a cookie alone; bad query values and pages are 400, unknown ids 404, a
stopped database 503 — each a plain page with the security headers; and `inv console` listens
beyond loopback only with TLS or behind an HTTPS proxy (refusals tested through `inv`, TLS and
the proxy mode on loopback)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from common.environments import REPO_ROOT
from common.errors import ExitCode
from tests.integration.console.conftest import ConsoleClient
from tests.integration.metrics.conftest import add_job
from tests.support.services import free_port

pytestmark = pytest.mark.integration
PLANT = '"><b id="planted">X</b>'


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(console: ConsoleClient, token: str, *, next_path: str = "/jobs") -> requests.Session:
    """A browser-like session signed in through the sign-in form."""
    session = requests.Session()
    form = session.get(f"{console.base}/login", timeout=30)
    answer = session.post(
        f"{console.base}/login",
        data={"token": token, "next": next_path, "csrf": _form_token(form.text)},
        headers={"Origin": console.base},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303, answer.text[:300]
    return session


def _state(conn, job_id: int) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT state FROM jobs WHERE id = %s", (job_id,))
        state = cur.fetchone()[0]
    conn.commit()
    return state


def test_sign_in_checks_the_token_before_keeping_it(env, serve_console, people):
    console = serve_console(env)
    _, token = people("analyst")
    session = requests.Session()
    form = session.get(f"{console.base}/login", timeout=30)
    refused = session.post(
        f"{console.base}/login",
        data={"token": "rfy_not-a-token", "next": "/jobs", "csrf": _form_token(form.text)},
        headers={"Origin": console.base}, allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert refused.status_code == 401
    assert "this API token is not valid" in refused.text
    assert "refinery_token" not in refused.headers.get("set-cookie", "")
    assert "refinery_token" not in session.cookies

    signed_in = sign_in(console, token, next_path="/catalog")
    assert signed_in.get(f"{console.base}/catalog", timeout=30).status_code == 200


def test_the_sign_in_form_must_come_from_the_console(env, serve_console, people):
    console = serve_console(env)
    _, token = people("analyst")
    no_form = requests.post(f"{console.base}/login", data={"token": token, "next": "/jobs"},
                            headers={"Origin": console.base}, allow_redirects=False,
                            timeout=30)  # fmt: skip
    assert no_form.status_code == 403
    assert "refinery_token" not in no_form.headers.get("set-cookie", "")
    session = requests.Session()
    form = session.get(f"{console.base}/login", timeout=30)
    elsewhere = session.post(
        f"{console.base}/login",
        data={"token": token, "next": "/jobs", "csrf": _form_token(form.text)},
        headers={"Origin": "http://127.0.0.1:1"}, allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert elsewhere.status_code == 403
    assert "refinery_token" not in session.cookies


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "/\\evil.example", "http://evil.example/", "javascript:alert(1)",
     "/\t/evil.example", "jobs", PLANT, "/%0a/x\r\nSet-Cookie: a=b"],
)  # fmt: skip
def test_next_is_kept_only_as_a_local_path(env, serve_console, people, target):
    console = serve_console(env)
    _, token = people("analyst")
    shown = console.get("/login", params={"next": target})
    if any(ord(char) < 0x20 for char in target):
        assert shown.status_code == 400  # control characters in a query value
    else:
        assert 'name="next" value="/"' in shown.text
        assert "<b id" not in shown.text
    session = requests.Session()
    form = session.get(f"{console.base}/login", timeout=30)
    answer = session.post(
        f"{console.base}/login",
        data={"token": token, "next": target, "csrf": _form_token(form.text)},
        headers={"Origin": console.base}, allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    kept = session.post(
        f"{console.base}/login",
        data={"token": token, "next": "/jobs?state=failed",
              "csrf": _form_token(session.get(f"{console.base}/login", timeout=30).text)},
        headers={"Origin": console.base}, allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert kept.headers["location"] == "/jobs?state=failed"


def test_a_form_post_needs_its_form_token_and_the_consoles_origin(env, conn, serve_console, people):
    failed = add_job(conn, state="failed", attempt=3, reason="disk full")
    console = serve_console(env)
    _, engineer = people("engineer")
    session = sign_in(console, engineer)
    page = session.get(f"{console.base}/jobs/{failed}", timeout=30)
    token = _form_token(page.text)
    retry = f"{console.base}/jobs/{failed}/retry"

    forged = [
        ({}, {"Origin": console.base}),  # no form token
        ({"csrf": "0" * 64}, {"Origin": console.base}),  # a wrong one
        ({"csrf": token}, {"Origin": "http://127.0.0.1:1"}),  # another origin (another port)
        ({"csrf": token}, {"Origin": "null"}),
        ({"csrf": token}, {"Referer": "http://127.0.0.1:1/page"}),
    ]
    for data, headers in forged:
        answer = session.post(retry, data=data, headers=headers, allow_redirects=False, timeout=30)
        assert answer.status_code == 403, (data, headers)
        assert "default-src 'none'" in answer.headers["content-security-policy"]
    cookie_only = session.post(f"{console.base}/api/jobs/{failed}/retry",
                               headers={"Origin": console.base}, timeout=30)  # fmt: skip
    assert cookie_only.status_code == 403 and "Authorization" in cookie_only.json()["error"]
    assert _state(conn, failed) == "failed"

    done = session.post(retry, data={"csrf": token}, headers={"Origin": console.base},
                        allow_redirects=False, timeout=30)  # fmt: skip
    assert done.status_code == 303
    assert _state(conn, failed) == "pending"

    other = requests.Session()  # another person's session: its own form token
    analyst_session = sign_in(console, people("analyst")[1])
    other.cookies.update(analyst_session.cookies)
    assert _form_token(other.get(f"{console.base}/jobs", timeout=30).text) != token

    refused_logout = session.post(f"{console.base}/logout", headers={"Origin": console.base},
                                  allow_redirects=False, timeout=30)  # fmt: skip
    assert refused_logout.status_code == 403
    logout = session.post(f"{console.base}/logout", data={"csrf": token},
                          headers={"Origin": console.base}, allow_redirects=False,
                          timeout=30)  # fmt: skip
    assert logout.status_code == 303 and "refinery_token" not in session.cookies


def test_a_form_token_is_good_only_for_the_console_that_drew_it(env, conn, serve_console, people):
    """A restarted console draws a new key: a page from before must be reloaded."""
    failed = add_job(conn, state="failed", attempt=3, reason="disk full")
    first, second = serve_console(env), serve_console(env)
    _, engineer = people("engineer")
    session = sign_in(first, engineer)
    token = _form_token(session.get(f"{first.base}/jobs/{failed}", timeout=30).text)
    stale = requests.post(f"{second.base}/jobs/{failed}/retry", data={"csrf": token},
                          cookies={"refinery_token": engineer},
                          headers={"Origin": second.base}, allow_redirects=False,
                          timeout=30)  # fmt: skip
    assert stale.status_code == 403 and "reload" in stale.text
    assert _state(conn, failed) == "failed"


def test_localhost_is_taken_as_127_0_0_1(env, serve_console, people):
    console = serve_console(env, host="localhost")
    _, token = people("analyst")
    assert console.get("/api/jobs", token=token).status_code == 200  # reached on 127.0.0.1


def test_bad_input_is_a_plain_400_or_404_page_with_the_security_headers(env, serve_console, people):
    console = serve_console(env)
    _, token = people("analyst")
    cases = {
        "/search?q=a%00b": 400, "/search?q=%01": 400, "/jobs?state=fai%0aled": 400,
        "/search?q=x&page=99999999999999999999": 400, "/search?q=x&page=-1": 400,
        "/search?q=x&page=0": 400, "/search?q=x&page=two": 400, "/search?q=x&page=%EF%BC%92": 400,
        "/jobs/99999999999999999999": 404, "/catalog/samples/99999999999999999999": 404,
        "/no-such-page": 404, "/jobs/1/retry": 405,
    }  # fmt: skip
    for path, status in cases.items():
        for prefix in ("", "/api"):
            answer = console.get(prefix + path, token=token)
            assert answer.status_code == status, (prefix + path, answer.text[:300])
            assert "Traceback" not in answer.text
            assert "default-src 'none'" in answer.headers["content-security-policy"], path
            assert answer.headers["x-content-type-options"] == "nosniff"
            if prefix:
                assert answer.json()["error"]
            else:
                assert 'id="error"' in answer.text
    assert console.get("/search?q=x&page=2", token=token).status_code == 200


def test_a_request_naming_another_host_is_refused(env, serve_console, people):
    console = serve_console(env)
    _, token = people("analyst")
    rebound = console.get("/api/jobs", token=token, headers={"Host": "evil.example"})
    assert rebound.status_code == 400
    by_name = console.get("/api/jobs", token=token, headers={"Host": f"localhost:{console.port}"})
    assert by_name.status_code == 200


def test_a_stopped_database_is_503_with_one_line(make_env, serve_console, monkeypatch):
    monkeypatch.setenv("REFINERY_STOPPED_PASSWORD", "unused")
    database = {"kind": "dsn", "host": "127.0.0.1", "port": free_port(), "name": "refinery",
                "password_env": "REFINERY_STOPPED_PASSWORD"}  # fmt: skip
    stopped = make_env("stopped", database=database)
    console = serve_console(stopped)
    for prefix in ("", "/api"):
        answer = console.get(prefix + "/jobs", token="rfy_anything")
        assert answer.status_code == 503, answer.text[:300]
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        message = answer.json()["error"] if prefix else answer.text
        assert "database is not reachable" in message
        if prefix:
            assert "\n" not in message


def _inv_console(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("inv")), "console", *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--address", "0.0.0.0:8765"], "beyond loopback"),
        (["--address", "[::]:8765"], "beyond loopback"),
        (["--address", "192.0.2.1:8765"], "beyond loopback"),
        (["--address", "console.invalid:8765"], "not the name"),
        (["--address", "127.0.0.1"], "HOST:PORT"),
        (["--address", "127.0.0.1:8765", "--certificate", "/dev/null"], "go together"),
        (["--address", "0.0.0.0:8765", "--certificate", "/nonexistent.pem", "--key", "/x"],
         "--certificate /nonexistent.pem"),
    ],
)  # fmt: skip
def test_inv_console_refuses_to_listen_where_tokens_would_travel_in_clear(env, options, says):
    result = _inv_console("-e", env.name, *options)
    assert result.returncode == ExitCode.USAGE, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    assert "Traceback" not in result.stderr


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "console.pem", folder / "console.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_with_a_certificate_the_console_serves_https_and_a_secure_cookie(
    env, serve_console, people, tmp_path
):
    cert, key = _certificate(tmp_path)
    console = serve_console(env, "--certificate", str(cert), "--key", str(key), scheme="https")
    _, token = people("analyst")
    form = requests.get(f"{console.base}/login", verify=str(cert), timeout=30)
    assert form.status_code == 200 and "Secure" in form.headers["set-cookie"]
    session = requests.Session()  # verify per request: a session's own is overridden by the
    fresh = session.get(f"{console.base}/login", verify=str(cert), timeout=30)  # environment's
    answer = session.post(
        f"{console.base}/login",
        data={"token": token, "next": "/jobs", "csrf": _form_token(fresh.text)},
        headers={"Origin": console.base}, allow_redirects=False, verify=str(cert), timeout=30,
    )  # fmt: skip
    assert answer.status_code == 303
    assert re.search(r"refinery_token=[^;]+;.*Secure", answer.headers["set-cookie"], re.I)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{console.port}/login", timeout=10)


def test_behind_a_proxy_only_forwarded_https_requests_are_served(env, serve_console, people):
    console = serve_console(env, "--behind-proxy")
    _, token = people("analyst")
    assert console.get("/api/jobs", token=token).status_code == 400
    assert console.get("/api/jobs", token=token,
                       headers={"X-Forwarded-Proto": "http"}).status_code == 400  # fmt: skip
    proxied = {"X-Forwarded-Proto": "https"}
    assert console.get("/api/jobs", token=token, headers=proxied).status_code == 200
    form = console.get("/login", headers=proxied)
    assert "Secure" in form.headers["set-cookie"]
    own = f"https://127.0.0.1:{console.port}"
    answer = console.post(  # the cookie as the proxy passes it on (it is Secure: not over http)
        "/login",
        data={"token": token, "next": "/jobs", "csrf": _form_token(form.text)},
        cookies={"refinery_sign_in": form.cookies["refinery_sign_in"]},
        headers={**proxied, "Origin": own}, allow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    assert re.search(r"refinery_token=[^;]+;.*Secure", answer.headers["set-cookie"], re.I)
