"""`inv release.verify --remote` never hands git an option: a remote that starts with `-` is
refused in one line and the command it smuggles never runs."""

from __future__ import annotations

import pytest

from tests.acceptance.release.test_release_tasks import inv

pytestmark = pytest.mark.acceptance


def test_a_remote_that_is_an_upload_pack_option_is_refused(repos, ssh_key, tmp_path):
    repos.trust(ssh=[ssh_key])
    repos.sign_tag(ssh_key, "v1.0.0-dev", "dev")
    checkout = repos.clone(tmp_path / "ci")
    pwned = tmp_path / "pwned"
    result = inv(checkout, "release.verify", "v1.0.0-dev", f"--remote=--upload-pack=touch {pwned}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: refusing to run git: the value '--upload-pack=touch"), lines
    assert not pwned.exists()
