"""Queue routing: jobs go to the pools an environment declares, by memory tier then kind."""

from __future__ import annotations

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment
from common.errors import ConfigError
from foreman.routing import QueueRouting
from tests.support.environments import write_environment


def _routes(routing: QueueRouting) -> dict[tuple[str, int], str]:
    """{(kind, tier index): queue}: the rows the foreman's SQL routes jobs by."""
    return {(row["kind"], row["memory_tier"]): row["queue"] for row in routing.as_rows()}


def _env(tmp_path, monkeypatch, routing=None, queues=None):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    sections = {
        "database": {"kind": "embedded"},
        "lake": {"backend": "filesystem", "root": "lake"},
        "executor": {
            "kind": "batch",
            "memory_tiers_mb": [4096, 16384, 65536],
            "queues": queues if queues is not None else {"spot": 64, "large_memory": 16},
        },
    }
    if routing is not None:
        sections["routing"] = routing
    write_environment(tmp_path, "staging", sections)
    return load_environment("staging")


def test_large_memory_pool_takes_only_the_tiers_that_need_it(tmp_path, monkeypatch):
    env = _env(
        tmp_path,
        monkeypatch,
        {"default_queue": "spot", "memory_queues": {"large_memory": 16384}},
    )
    routing = QueueRouting.for_environment(env)
    assert routing.enabled
    routes = _routes(routing)
    for kind in ("survey", "download", "process"):
        assert [routes[kind, tier] for tier in (0, 1, 2)] == [
            "spot",
            "large_memory",
            "large_memory",
        ]
    assert routing.queues == ["large_memory", "spot"]


def test_kind_rules_apply_below_the_memory_rules(tmp_path, monkeypatch):
    env = _env(
        tmp_path,
        monkeypatch,
        {
            "default_queue": "spot",
            "kind_queues": {"survey": "small"},
            "memory_queues": {"large_memory": 65536, "medium": 16384},
        },
        queues={"spot": 10, "small": 2, "medium": 4, "large_memory": 1},
    )
    routing = QueueRouting.for_environment(env)
    routes = _routes(routing)
    assert [routes["survey", tier] for tier in (0, 1, 2)] == ["small", "medium", "large_memory"]
    assert routes["download", 0] == "spot"


def test_without_routing_every_job_stays_where_it_was_queued(tmp_path, monkeypatch):
    routing = QueueRouting.for_environment(_env(tmp_path, monkeypatch, queues={}))
    assert not routing.enabled
    assert _routes(routing)["process", 2] == "default"


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        ({"default_queue": "gpu"}, "routed to queue 'gpu', which has no capacity"),
        ({"default_queue": "spot", "memory_queues": {"huge": 1}}, "queue 'huge'"),
        ({"default_queue": "spot", "kind_queues": {"align": "spot"}}, "unknown job kind 'align'"),
        ({"default_queue": "spot", "memory_queues": {"spot": "big"}}, "memory_queues.spot must be"),
        ({"default_queue": ""}, "routing.default_queue"),
        ({"queue": "spot"}, "unknown key routing.queue"),
    ],
)
def test_routes_to_undeclared_queues_are_refused(tmp_path, monkeypatch, routing, message):
    # A malformed value is refused as the file loads; a route to an undeclared queue when
    # the routes are read (it needs [executor] too). Either way, before any job moves.
    with pytest.raises(ConfigError, match=message):
        QueueRouting.for_environment(_env(tmp_path, monkeypatch, routing))


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_shipped_cloud_environments_route_every_job_to_a_declared_pool(name, monkeypatch):
    monkeypatch.delenv(ENVIRONMENTS_DIR_VARIABLE, raising=False)
    routing = QueueRouting.for_environment(load_environment(name))
    assert routing.enabled
    assert _routes(routing)["download", 0] == "spot"
    assert _routes(routing)["process", 2] == "large_memory"
