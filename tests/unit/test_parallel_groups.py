"""The suite's workers: which tests share one (tests/support/parallel.py), proven on a small
suite of its own run through the real pytest-xdist, and the test command that uses them."""

from __future__ import annotations

import re

import pytest

from common.environments import REPO_ROOT

pytest_plugins = ["pytester"]

CONFTEST = f"""
import sys

import pytest

sys.path.insert(0, {str(REPO_ROOT)!r})
from tests.support.parallel import group_items, worker_name  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    group_items(items)


@pytest.fixture(scope="session")
def docker_engine():
    return "the engine's name is what the groups look for"


@pytest.fixture
def image(docker_engine):
    return docker_engine


@pytest.fixture
def who():
    return worker_name()
"""

TESTS = {
    "test_engine.py": """
import pytest

def test_asks_for_the_engine(docker_engine, who): print("RAN", who)
def test_asks_through_another_fixture(image, who): print("RAN", who)

@pytest.mark.docker
def test_marked_by_hand(who): print("RAN", who)
""",
    "test_sandbox.py": """
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.sandbox_ports]

def test_sandbox_up_once(who): print("RAN", who)
def test_sandbox_up_again(docker_engine, who): print("RAN", who)
""",
    "test_shared_module.py": """
import pytest

@pytest.fixture(scope="module")
def expensive():
    return object()

@pytest.mark.parametrize("n", range(4))
def test_shares_the_module_fixture(expensive, n, who): print("RAN", who)
""",
    "test_free.py": """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_needs_nothing_shared(n, who): print("RAN", who)
""",
}


@pytest.fixture
def small_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(
        ".ini",
        pytest="[pytest]\nmarkers =\n    docker: the engine\n    slow: slow\n"
        "    sandbox_ports: fixed ports\n",
    )
    for name, body in TESTS.items():
        pytester.path.joinpath(name).write_text(body)
    # Only xdist: the suite's other plugins would only slow each run's start.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # When this suite itself runs on a worker, its name must not leak into the small run.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    return pytester


def workers_by_test(result: pytest.RunResult) -> dict[str, str]:
    """{test name: the worker that ran it} from `-v` lines like `[gw1] … PASSED path::name@g`."""
    found = {}
    for line in result.outlines:
        match = re.match(r"\[(gw\d+)\].* PASSED (\S+)", line)
        if match:
            found[match.group(2).split("::", 1)[1].split("@", 1)[0]] = match.group(1)
    return found


def test_engine_tests_share_one_worker_a_modules_fixture_its_module_each_its_name(
    small_suite: pytest.Pytester,
) -> None:
    result = small_suite.runpytest_subprocess("-p", "xdist", "-n", "3", "--dist", "loadgroup",
                                              "-v", "-rP")  # fmt: skip
    result.assert_outcomes(passed=15)
    ran_on = workers_by_test(result)
    assert len(ran_on) == 15, result.outlines
    engine = {ran_on[name] for name in ran_on if name.startswith(("test_asks", "test_marked"))}
    module = {ran_on[name] for name in ran_on if name.startswith("test_shares")}
    sandbox = {ran_on[name] for name in ran_on if name.startswith("test_sandbox")}
    assert len(engine) == 1, ran_on
    assert len(module) == 1, ran_on
    assert len(sandbox) == 1, ran_on
    # Its own group (a line beside the engine's), even where it asks for the engine.
    groups = set(re.findall(r"(test_\w+)@([\w-]+)", result.stdout.str()))
    assert ("test_sandbox_up_again", "sandbox-ports") in groups, groups
    assert ("test_asks_for_the_engine", "docker-engine") in groups, groups
    # What each test was told its worker is: the worker that ran it.
    told = set(re.findall(r"^RAN (\S+)$", result.stdout.str(), re.M))
    assert told == set(ran_on.values()), (told, ran_on)


def test_without_workers_every_engine_test_is_marked_docker_and_slow_and_the_name_is_main(
    small_suite: pytest.Pytester,
) -> None:
    result = small_suite.runpytest_subprocess("-m", "not (docker and slow)", "-rP")
    result.assert_outcomes(passed=10, deselected=5)
    assert set(re.findall(r"^RAN (\S+)$", result.stdout.str(), re.M)) == {"main"}


def test_the_test_command_runs_pytest_on_workers_with_the_groups() -> None:
    script = (REPO_ROOT / "scripts" / "ci-test.sh").read_text()
    assert re.search(
        r"^exec \.venv/bin/pytest -n \d+ --dist loadgroup --durations=\d+ \"\$@\"$", script, re.M
    )


def test_the_sandbox_takes_the_engine_from_the_sessions_lease():
    """`inv sandbox.down` stops an engine that `inv sandbox.up` started. Were the sandbox's
    acceptance tests to let `sandbox.up` start dockerd, the other line's session would find it
    answering, use it, and lose it when a sandbox test ends: the sandbox fixture holds the
    engine through the lease, so `sandbox.up` finds one answering and leaves it alone."""
    import inspect

    from tests.acceptance.sandbox import conftest

    wrapped = getattr(conftest.sandbox, "__wrapped__", conftest.sandbox)
    assert "docker_engine" in inspect.signature(wrapped).parameters
