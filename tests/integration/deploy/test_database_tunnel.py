"""A private database reached through the foreman host: a real sshd forwarding to a real
PostgreSQL, opened by the task's scope and closed with it, for psycopg2 and psql alike."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from common import db
from common.environments import REPO_ROOT, load_environment
from common.errors import DatabaseError
from common.tunnel import tunnel_scope
from tests.support.deploy import WAY_IN_STAND_IN
from tests.support.environments import write_environment

pytestmark = pytest.mark.integration


@pytest.fixture
def private_env(session_dirs, postgres_template, ssh_server, tmp_path):
    cluster = db.embedded_cluster().address()
    password_file = tmp_path / "password"
    password_file.touch(mode=0o600)
    password_file.write_text(cluster.password)

    def make(name: str, known_hosts, **way_in: str) -> tuple:
        write_environment(
            session_dirs["environments"],
            name,
            {
                "database": {
                    "kind": "dsn",
                    "host": "127.0.0.1",  # as the foreman host sees it
                    "port": cluster.port,
                    "name": postgres_template,
                    "user": cluster.user,
                    "password_file": str(password_file),
                    "sslmode": "disable",
                    "tunnel": "foreman_host",
                },
                "lake": {"backend": "filesystem", "root": "lake"},
                "executor": {"kind": "null"},
                "foreman_host": {
                    "hosts": [f"{ssh_server.host}:{ssh_server.port}"],
                    "user": ssh_server.user,
                    "key_file": str(ssh_server.client_key),
                    "known_hosts_file": str(known_hosts),
                    "restart_command": "true",
                    **way_in,
                },
            },
        )
        return load_environment(name), cluster

    return make


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_task_scope_tunnels_through_the_foreman_host_and_closes_the_tunnel(
    private_env, ssh_server
):
    env, cluster = private_env("private", ssh_server.known_hosts)
    assert db.connection_params(env)["port"] == cluster.port  # outside a task: direct
    with tunnel_scope():
        params = db.connection_params(env)
        local_port = params["port"]
        assert (params["host"], local_port != cluster.port) == ("127.0.0.1", True)
        for _ in range(2):  # one tunnel serves every connection of the task
            conn = db.connect(env)
            with conn.cursor() as cur:
                cur.execute("SELECT current_user, inet_server_port()")
                assert cur.fetchone() == (cluster.user, cluster.port)
            conn.close()
        assert db.connection_params(env)["port"] == local_port
    assert not _listening(local_port)


def test_an_unknown_host_key_is_refused_in_one_line(private_env, ssh_server, tmp_path):
    key = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    impostor = " ".join(key.with_suffix(".pub").read_text().split()[:2])
    other = tmp_path / "known_hosts"
    other.write_text(f"[127.0.0.1]:{ssh_server.port} {impostor}\n")
    env, _ = private_env("private-bad-key", other)
    with tunnel_scope(), pytest.raises(DatabaseError, match=r"cannot open the \S+ database"):
        db.connect(env)


def test_db_shell_runs_psql_through_the_tunnel(private_env, ssh_server):
    env, cluster = private_env("private-shell", ssh_server.known_hosts)
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "db.shell", "-e", env.name, "--command",
         "SELECT 'through the ' || 'tunnel'"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "through the tunnel" in result.stdout
    assert cluster.password not in result.stdout + result.stderr


def _tunnel_processes() -> list[str]:
    """Command lines of this process's children that run the way-in stand-in."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and "open_tunnel.py" in cmdline:
            found.append(cmdline)
    return found


def test_the_database_is_reached_through_the_way_in_then_sshd_then_the_forward(
    private_env, ssh_server
):
    """What staging does with `aws ec2-instance-connect open-tunnel`: SSH rides on the
    ProxyCommand's stdin and stdout, and the database forward rides inside SSH."""
    env, cluster = private_env(
        "private-way-in",
        ssh_server.known_hosts,
        way_in="instance_connect_endpoint",
        proxy_command=WAY_IN_STAND_IN,
    )
    with tunnel_scope():
        conn = db.connect(env)
        with conn.cursor() as cur:
            cur.execute("SELECT inet_server_port()")
            assert cur.fetchone() == (cluster.port,)
        conn.close()
        [command] = _tunnel_processes()  # the ProxyCommand carries the SSH connection
        assert f"--instance-id 127.0.0.1 --remote-port {ssh_server.port}" in command
    assert _tunnel_processes() == []  # closed with the task


@pytest.mark.slow
def test_a_way_in_that_refuses_is_one_line(private_env, ssh_server):
    env, _ = private_env(
        "private-way-in-bad",
        ssh_server.known_hosts,
        way_in="instance_connect_endpoint",
        proxy_command=WAY_IN_STAND_IN.replace("{host}", "10.0.0.9"),
    )
    with tunnel_scope(), pytest.raises(DatabaseError, match=r"cannot open the \S+ database") as e:
        db.connect(env)
    assert "\n" not in str(e.value)
    assert "the way in said: error: the sandbox tunnels to 127.0.0.1 only" in str(e.value)
