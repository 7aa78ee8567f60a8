from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from common import catalog
from common.environments import REPO_ROOT
from ops.users.logins import add_user, list_users, remove_user
from tests.support.services import free_port, stop_process, wait_for_port


class ConsoleClient:
    """The console served by a real `inv console` process, reached over HTTP."""

    def __init__(self, base: str, port: int = 0) -> None:
        self.base = base
        self.port = port

    def get(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {**_auth(token), **kwargs.pop("headers", {})}
        return requests.get(self.base + path, headers=headers, timeout=30, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {**_auth(token), **kwargs.pop("headers", {})}
        return requests.post(self.base + path, headers=headers, timeout=30, **kwargs)


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def serve_console(session_dirs):
    """Start `inv console -e ENV` on a free loopback port; stopped by pid at the end."""
    started: list[subprocess.Popen] = []

    def start(env, *options: str, scheme: str = "http", host: str = "127.0.0.1") -> ConsoleClient:
        port = free_port()
        log = open(session_dirs["logs"] / f"console-{env.name}-{port}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("inv")), "console", "-e", env.name,
             "--address", f"{host}:{port}", *options],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
            start_new_session=True,
        )  # fmt: skip
        started.append(process)
        wait_for_port(port, timeout=60, process=process)
        return ConsoleClient(f"{scheme}://127.0.0.1:{port}", port)

    yield start
    for process in started:
        stop_process(process)


@pytest.fixture
def people(env):
    """Factory: a person with a role; returns (name, API token). Removed afterwards."""
    created: list[str] = []

    def add(role: str) -> tuple[str, str]:
        name = f"c{os.getpid()}_{role}_{len(created)}"
        user = add_user(env, name, role)
        created.append(name)
        return name, user.token

    yield add
    existing = {u.name for u in list_users(env)}
    for name in created:
        if name in existing:
            remove_user(env, name)


def add_sample(conn, project: str, individual: str, sample: str, *, tissue: str = "",
               metadata: dict | None = None, experiment: str | None = None) -> int:  # fmt: skip
    project_id, _ = catalog.upsert_project(conn, "delivery", project, title=f"{project} study")
    person, _ = catalog.upsert_individual(conn, project_id, individual, species="Homo sapiens")
    sample_id, _ = catalog.upsert_sample(conn, person, sample, tissue=tissue, metadata=metadata)
    if experiment:
        aliquot, _ = catalog.upsert_aliquot(conn, sample_id, sample)
        catalog.upsert_experiment(conn, aliquot, experiment, library_layout="PAIRED")
    conn.commit()
    return sample_id
