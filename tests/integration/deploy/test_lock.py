"""The deploy lock on a real DynamoDB (moto server over HTTP) conditional write."""

from __future__ import annotations

import threading
import time

import pytest

from ops.deploy.errors import DeployError, DeployLockedError
from ops.deploy.lock import acquire_lock, break_stale_lock, current_holder, read_lock
from ops.deploy.settings import LockTable
from tests.support.deploy import create_lock_table

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(moto_server) -> LockTable:
    table = create_lock_table(moto_server.endpoint_url)
    return LockTable("staging", table, "us-east-1", moto_server.endpoint_url, lease_seconds=30)


def test_of_two_racing_deploys_exactly_one_gets_the_lock_and_the_other_names_it(settings):
    barrier = threading.Barrier(2)
    won, refused = [], []

    def contend(version: str) -> None:
        barrier.wait()
        try:
            won.append((version, acquire_lock(settings, version=version)))
        except DeployLockedError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=contend, args=(v,)) for v in ("v1.0.0-dev", "v1.0.1-dev")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1 and len(refused) == 1
    winner_version, lock = won[0]
    assert current_holder() in refused[0]
    assert f"deploy {winner_version}" in refused[0]
    assert "since" in refused[0]
    assert lock.release()
    assert read_lock(settings) is None


def test_a_waiting_deploy_gets_the_lock_once_the_holder_releases(settings):
    first = acquire_lock(settings, version="v1.0.0-dev")
    threading.Timer(1.0, first.release).start()
    started = time.monotonic()
    second = acquire_lock(settings, version="v1.0.1-dev", wait_seconds=20, poll_seconds=0.2)
    assert time.monotonic() - started >= 0.9
    assert read_lock(settings).version == "v1.0.1-dev"
    second.release()


def test_a_held_lock_renews_its_lease(settings):
    short = LockTable(**{**settings.__dict__, "lease_seconds": 1.0})
    lock = acquire_lock(short, version="v1.0.0-dev")
    first_expiry = read_lock(short).expires_at
    time.sleep(1.5)
    info = read_lock(short)
    assert info.expires_at > first_expiry and not info.expired
    lock.release()


def test_a_stale_lock_is_refused_and_only_broken_with_execute(settings):
    short = LockTable(**{**settings.__dict__, "lease_seconds": 0.5})
    dead = acquire_lock(short, version="v1.0.0-dev")
    dead._stop.set()  # the holder "dies": it stops renewing its lease
    time.sleep(1.0)
    with pytest.raises(DeployLockedError, match=r"stale.*deploy\.unlock -e staging --execute"):
        acquire_lock(settings, version="v1.0.1-dev")
    preview = break_stale_lock(settings, execute=False)
    assert preview.dry_run and not preview.removed and preview.lock.version == "v1.0.0-dev"
    assert read_lock(settings) is not None
    result = break_stale_lock(settings, execute=True)
    assert result.removed
    assert read_lock(settings) is None
    assert not dead.release()  # the dead holder cannot delete the next one's lock
    acquire_lock(settings, version="v1.0.1-dev").release()


def test_a_live_lock_cannot_be_broken(settings):
    lock = acquire_lock(settings, version="v1.0.0-dev")
    with pytest.raises(DeployLockedError, match="live, not stale"):
        break_stale_lock(settings, execute=True)
    assert read_lock(settings).token == lock.info.token
    lock.release()


def test_a_missing_lock_table_is_a_one_line_error(moto_server):
    settings = LockTable("staging", "no-such-table", "us-east-1", moto_server.endpoint_url, 900)
    with pytest.raises(DeployError, match=r"no-such-table .*ResourceNotFoundException"):
        acquire_lock(settings, version="v1.0.0-dev")
