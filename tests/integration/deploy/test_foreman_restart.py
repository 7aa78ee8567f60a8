"""The foreman restart runbook over a real sshd on loopback."""

from __future__ import annotations

import pytest

from common.errors import ConfigError
from common.settings.deployment import ForemanHostSection
from ops.foreman_restart import (
    ForemanHost,
    ForemanRestartError,
    foreman_host,
    restart_foreman,
)
from tests.support.sshd import unused_port

pytestmark = pytest.mark.integration


def _settings(ssh, tmp_path, *, hosts, command):
    section = ForemanHostSection(
        hosts=[f"{host}:{port}" for host, port in hosts],
        key_file=str(ssh.client_key),
        restart_command=command,
        connect_timeout_seconds=5,
    )
    return ForemanHost(
        section, tuple(hosts), ssh.user, ssh.client_key, known_hosts_file=None, way_in_command=""
    )


def test_restart_command_runs_on_the_host_with_the_version(ssh_server, tmp_path):
    marker = tmp_path / "restarted"
    settings = _settings(
        ssh_server,
        tmp_path,
        hosts=[(ssh_server.host, ssh_server.port)],
        command=f"echo {{environment}} {{version}} > {marker}",
    )
    [result] = restart_foreman(settings, environment="staging", version="v3.0.0-dev")
    assert result.ok and result.exit_code == 0
    assert marker.read_text().strip() == "staging v3.0.0-dev"


def test_one_aggregate_error_names_every_failed_host_after_trying_all(ssh_server, tmp_path):
    marker = tmp_path / "restarted"
    bad_port = unused_port()
    settings = _settings(
        ssh_server,
        tmp_path,
        hosts=[(ssh_server.host, ssh_server.port), ("127.0.0.1", bad_port)],
        command=f"touch {marker}",
    )
    with pytest.raises(ForemanRestartError) as caught:
        restart_foreman(settings, environment="staging", version="v3.0.0-dev")
    error = caught.value
    assert error.failed_hosts == [f"127.0.0.1:{bad_port}"]
    assert f"127.0.0.1:{bad_port}" in str(error) and "1 of 2 host(s)" in str(error)
    assert [r.ok for r in error.results] == [True, False]
    assert marker.exists()  # the good host was restarted despite the bad one


def test_a_failing_restart_command_is_reported_with_its_exit_code(ssh_server, tmp_path):
    settings = _settings(
        ssh_server,
        tmp_path,
        hosts=[(ssh_server.host, ssh_server.port)],
        command="echo unit not found >&2; exit 5",
    )
    with pytest.raises(ForemanRestartError, match="exited 5: unit not found"):
        restart_foreman(settings, environment="staging", version="v3.0.0-dev")


def test_a_key_file_readable_by_others_is_refused(make_env, ssh_server, tmp_path):
    key = tmp_path / "key"
    key.write_text(ssh_server.client_key.read_text())
    key.chmod(0o644)
    env = make_env(
        "hosts",
        foreman_host={
            "hosts": ["127.0.0.1"],
            "user": "x",
            "key_file": str(key),
            "restart_command": "true",
        },
    )
    with pytest.raises(ConfigError, match="must be 0600"):
        foreman_host(env)
    key.chmod(0o600)
    assert foreman_host(env).hosts == (("127.0.0.1", 22),)
