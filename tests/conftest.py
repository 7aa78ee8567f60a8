"""Fixtures every test layer shares.

One embedded PostgreSQL cluster per test session (real server, loopback, SCRAM password),
a template database with every migration applied, and a fresh database per test cloned from
it (`CREATE DATABASE … TEMPLATE`). That cluster holds only throwaway databases in a temporary
folder, so it runs without fsync and full-page writes (SESSION_CLUSTER_SETTINGS): a crash of
the machine loses its folder anyway, and a process killed — PostgreSQL's own, a worker's —
loses nothing the page cache holds. Cloning the template took 275 ms with them and 83 ms
without, and every test clones it. The clusters the tests start through `inv local.up` are
the product's own, with its settings. Tests get a real environment file pointing at their
database, in a temporary environments folder that subprocesses see through the environment.

Under pytest-xdist each worker is a session of its own: its own state folder (and so its own
embedded cluster on a free port), environments folder and moto server. The tests that share
what one machine has once (the Docker engine) run on one worker: tests/support/parallel.py.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common import db
from common.environments import (
    ENVIRONMENTS_DIR_VARIABLE,
    STATE_DIR_VARIABLE,
    Environment,
    load_environment,
)
from foreman.migrations import apply_migrations
from tests.support.docker_services import (  # noqa: F401 - session fixtures for every layer
    base_os_image,
    docker_engine,
    docker_registry,
)
from tests.support.environments import write_environment
from tests.support.parallel import (
    TERMINAL_INPUT,
    controller_terminal,
    group_items,
    restore_terminal,
    worker_name,
)
from tests.support.services import MotoServer, start_moto, stop_process

TEMPLATE_DATABASE = "refinery_template"
SESSION_CLUSTER_SETTINGS = {"fsync": "off", "full_page_writes": "off"}
_counter = itertools.count()
_PRIVATE_BASETEMP = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """(xdist, on the controller) Hand each worker the controller's terminal variables."""
    node.workerinput[TERMINAL_INPUT] = controller_terminal()


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path factory reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    """A worker restores the controller's terminal; the controller (or a run without workers)
    takes a temporary root of its own unless given --basetemp.

    pytest's default root, `/tmp/pytest-of-<user>`, is shared by every pytest run of that
    user on the machine, and each run resets it to 0700: the embedded server's user (which
    reaches a cluster under `tmp_path` through o+x on every parent) would be locked out
    whenever another checkout's suite started meanwhile. The private root is removed after a
    run that passed and kept after one that failed, for a look at what the tests left.
    """
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        restore_terminal(workerinput)
    elif config.option.basetemp is None:
        root = Path(tempfile.mkdtemp(prefix="refinery-pytest-"))
        root.chmod(0o711)
        config.option.basetemp = str(root)
        config.stash[_PRIVATE_BASETEMP] = root


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    root = session.config.stash.get(_PRIVATE_BASETEMP, None)
    if root is not None and exitstatus == 0:
        shutil.rmtree(root, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group the tests that must share an xdist worker before xdist reads the groups."""
    group_items(items)


@pytest.fixture(scope="session")
def session_dirs() -> Iterator[dict[str, Path]]:
    """A private state folder and environments folder for this test session.

    Not under pytest's temporary root: pytest keeps that 0700, and the embedded server runs
    as an unprivileged user (when the suite runs as root) that must reach its data folder.
    """
    root = Path(tempfile.mkdtemp(prefix=f"refinery-tests-{worker_name()}-"))
    root.chmod(0o755)
    dirs = {"state": root / "state", "environments": root / "environments", "logs": root / "logs"}
    for path in dirs.values():
        path.mkdir()
    os.environ[STATE_DIR_VARIABLE] = str(dirs["state"])
    os.environ[ENVIRONMENTS_DIR_VARIABLE] = str(dirs["environments"])
    yield dirs
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_tmp_path() -> Iterator[Path]:
    """A temporary folder an unprivileged server user can reach, for a test's own cluster.

    pytest's temporary root is kept 0700 (and reset to it by any other pytest run as root),
    which would lock the embedded server's user out of a data folder placed under it.
    """
    path = Path(tempfile.mkdtemp(prefix="refinery-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_template(session_dirs) -> Iterator[str]:
    """Start the session's embedded cluster and build the migrated template database."""
    write_environment(
        session_dirs["environments"],
        "template",
        {
            "database": {"kind": "embedded", "name": TEMPLATE_DATABASE},
            "lake": {"backend": "filesystem", "root": "lake"},
            "executor": {"kind": "null"},
        },
    )
    template_env = load_environment("template")
    try:
        conn = db.connect(template_env)
    except Exception as exc:
        pytest.fail(f"embedded PostgreSQL did not start: {exc}")
    try:
        admin = db.connection(template_env, dbname="postgres", autocommit=True)
        with admin as settings, settings.cursor() as cur:
            for name, value in SESSION_CLUSTER_SETTINGS.items():
                cur.execute(f"ALTER SYSTEM SET {name} = {value}")
            cur.execute("SELECT pg_reload_conf()")
        apply_migrations(conn)
    finally:
        conn.close()
    yield TEMPLATE_DATABASE
    db.embedded_cluster().stop()


@pytest.fixture
def make_env(session_dirs, postgres_template, tmp_path):
    """Factory: a new environment with its own fresh database and lake folder.

    `make_env("name", lake={...}, executor={...}, extra_section={...})` overrides sections.
    """

    def factory(name: str | None = None, **sections: dict[str, Any]) -> Environment:
        name = name or f"t{next(_counter)}"
        database = f"test_{os.getpid()}_{name.replace('-', '_')}_{next(_counter)}"
        template_env = load_environment("template")
        db.create_database(template_env, database, template=postgres_template)
        values: dict[str, dict[str, Any]] = {
            "database": {"kind": "embedded", "name": database},
            "lake": {"backend": "filesystem", "root": str(tmp_path / f"lake-{name}")},
            "executor": {"kind": "local", "concurrency": 2},
        }
        for section, overrides in sections.items():
            values[section] = {**values.get(section, {}), **overrides}
        write_environment(session_dirs["environments"], name, values)
        return load_environment(name)

    return factory


@pytest.fixture
def env(make_env) -> Environment:
    """A fresh environment named `test` with an empty, migrated database."""
    return make_env("test")


@pytest.fixture
def conn(env):
    """A connection to `env`'s database, closed after the test."""
    connection = db.connect(env)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def moto_server(session_dirs) -> Iterator[MotoServer]:
    """A real moto server (S3, DynamoDB, Batch, ECR, Logs, IAM) on loopback."""
    server = start_moto(session_dirs["logs"])
    previous = {key: os.environ.get(key) for key in _AWS_VARIABLES}
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": server.endpoint_url,
        }
    )
    yield server
    stop_process(server.process)
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
)
