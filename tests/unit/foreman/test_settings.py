"""Foreman settings from `[foreman]`, memory tiers, and worker failure reasons."""

from __future__ import annotations

import pytest

from common.environments import load_environment
from common.errors import ConfigError, first_line
from common.settings.jobs import ForemanSettings
from common.worker_identity import memory_mb_for_tier
from tests.support.environments import write_environment


@pytest.fixture
def env_with(tmp_path, monkeypatch):
    monkeypatch.setenv("REFINERY_ENVIRONMENTS_DIR", str(tmp_path))

    def make(foreman=None, tiers=(1024, 2048, 4096)):
        sections = {
            "database": {"kind": "embedded"},
            "lake": {"backend": "filesystem", "root": "lake"},
            "executor": {"kind": "null", "memory_tiers_mb": list(tiers)},
        }
        if foreman is not None:
            sections["foreman"] = foreman
        write_environment(tmp_path, "unit", sections)
        return load_environment("unit")

    return make


def test_defaults_when_the_section_is_absent(env_with):
    assert ForemanSettings.for_environment(env_with()) == ForemanSettings()


def test_values_are_read_and_typed(env_with):
    settings = ForemanSettings.for_environment(env_with({"batch_size": 50, "poll_seconds": 1}))
    assert (settings.batch_size, settings.poll_seconds) == (50, 1.0)


def test_a_retry_delay_of_zero_means_retry_at_once(env_with):
    assert (
        ForemanSettings.for_environment(env_with({"retry_delay_seconds": 0})).retry_delay_seconds
        == 0
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"poll": 1}, "unknown key foreman.poll"),
        ({"poll_seconds": 0}, "foreman.poll_seconds must be a positive number"),
        ({"batch_size": "many"}, "foreman.batch_size must be an integer"),
        ({"stale_after_seconds": 10, "worker_heartbeat_seconds": 6}, "at least twice"),
        ({"retry_delay_seconds": -1}, "foreman.retry_delay_seconds must be 0 or more"),
    ],
)
def test_bad_settings_are_one_line_errors(env_with, section, message):
    with pytest.raises(ConfigError, match=message):
        ForemanSettings.for_environment(env_with(section))


def test_memory_tiers_stop_at_the_largest(env_with):
    env = env_with()
    assert [memory_mb_for_tier(env, tier) for tier in range(5)] == [1024, 2048, 4096, 4096, 4096]


def test_failure_reasons_are_one_short_line():
    assert (
        first_line(RuntimeError("disk full\nmore detail"), typed=True) == "RuntimeError: disk full"
    )
    assert first_line(KeyError(), typed=True) == "KeyError"
    assert len(first_line(ValueError("x" * 2000), typed=True, limit=500)) == 500
    assert first_line(OSError("two\nlines")) == "two"


def test_metrics_address_is_a_free_loopback_port_by_default_and_empty_turns_it_off(env_with):
    from common.settings.jobs import parse_address

    assert parse_address(ForemanSettings.for_environment(env_with()).metrics_address) == (
        "127.0.0.1",
        0,
    )
    off = ForemanSettings.for_environment(env_with({"metrics_address": ""}))
    assert parse_address(off.metrics_address) is None
    assert parse_address("[::1]:9000") == ("::1", 9000)


@pytest.mark.parametrize("address", ["9464", "127.0.0.1:", "127.0.0.1:99999", ":9464"])
def test_a_malformed_metrics_address_is_a_one_line_error(env_with, address):
    with pytest.raises(ConfigError, match=r"foreman.metrics_address must be HOST:PORT"):
        ForemanSettings.for_environment(env_with({"metrics_address": address}))


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_staging_and_prod_fix_the_metrics_port_their_foreman_host_is_scraped_on(name, monkeypatch):
    from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment

    monkeypatch.delenv(ENVIRONMENTS_DIR_VARIABLE, raising=False)  # the shipped files
    settings = ForemanSettings.for_environment(load_environment(name))
    assert settings.metrics_address == "127.0.0.1:9464"
