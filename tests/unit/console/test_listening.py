"""Where `inv console` may listen, decided before it starts (the refusals themselves are run
through `inv console` in tests/integration/console/test_console_guards.py; tests never bind
beyond loopback, so the accepted non-loopback plans are checked here, without listening)."""

from __future__ import annotations

import pytest

from common.errors import ValidationError
from ops.console.listening import listening_plan
from ops.console.security import local_path

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_beyond_loopback_with_a_certificate_serves_tls_and_answers_to_any_host(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text(PEM)
    key.write_text(PEM.replace("CERTIFICATE", "PRIVATE KEY"))
    plan = listening_plan("0.0.0.0:8443", certificate=str(cert), key=str(key))
    assert plan.serving.tls and plan.serving.secure and plan.url == "https://0.0.0.0:8443/"
    assert plan.certificate == str(cert) and plan.key == str(key)
    assert plan.serving.allowed_hosts() is None


def test_beyond_loopback_behind_a_proxy_is_https_without_files():
    plan = listening_plan("[::]:8080", behind_proxy=True)
    assert plan.serving.behind_proxy and plan.serving.secure and plan.certificate is None
    assert plan.url == "https://[::]:8080/"


def test_on_loopback_only_the_consoles_own_address_is_a_host():
    plan = listening_plan("localhost:8765")
    assert plan.serving.host == "127.0.0.1" and not plan.serving.secure
    assert plan.serving.allowed_hosts() == {"127.0.0.1:8765", "localhost:8765"}
    assert listening_plan("[::1]:9000").serving.allowed_hosts() == {"[::1]:9000", "localhost:9000"}


def test_a_file_that_is_not_pem_is_refused(tmp_path):
    (tmp_path / "c.pem").write_text("not a certificate")
    with pytest.raises(ValidationError, match="not a PEM file"):
        listening_plan(
            "0.0.0.0:1", certificate=str(tmp_path / "c.pem"), key=str(tmp_path / "c.pem")
        )


@pytest.mark.parametrize(
    ("target", "kept"),
    [("/jobs?state=failed", "/jobs?state=failed"), ("/catalog/samples/3", "/catalog/samples/3"),
     ("//evil.example", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/"),
     ("javascript:x", "/"), ("/\t/evil.example", "/"), ("/ x", "/"), ("", "/"), ("jobs", "/"),
     ("/\x85x", "/")],
)  # fmt: skip
def test_next_is_kept_only_as_a_local_path(target, kept):
    assert local_path(target) == kept
