"""Retention is a pure function; these properties hold for every generated backup history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ops.db.backups.retention import RetentionCandidate, select_backups_to_delete
from ops.db.backups.settings import RetentionPolicy

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

policies = st.builds(
    RetentionPolicy,
    keep_last=st.integers(0, 5),
    keep_daily=st.integers(0, 10),
    keep_weekly=st.integers(0, 6),
    keep_monthly=st.integers(0, 6),
)


@st.composite
def histories(draw) -> list[RetentionCandidate]:
    offsets = draw(st.lists(st.integers(-3600, 400 * 24 * 3600), max_size=40, unique=True))
    backups = []
    for offset in offsets:
        created = NOW - timedelta(seconds=offset)
        kind = draw(st.sampled_from(["logical", "physical"]))
        verified = draw(st.sampled_from([True, False, None]))
        backups.append(RetentionCandidate(f"{created.isoformat()}-{kind}", kind, created, verified))
    return backups


@settings(max_examples=150, deadline=None)
@given(histories(), policies)
def test_newest_verified_backup_always_survives(backups, policy):
    doomed = {b.name for b in select_backups_to_delete(backups, policy, NOW)}
    verified = [b for b in backups if b.verified]
    if verified:
        assert max(verified, key=lambda b: b.created_at).name not in doomed


@settings(max_examples=150, deadline=None)
@given(histories(), policies)
def test_only_existing_backups_are_deleted_and_the_last_n_of_each_kind_kept(backups, policy):
    doomed = {b.name for b in select_backups_to_delete(backups, policy, NOW)}
    assert doomed <= {b.name for b in backups}
    for kind in ("logical", "physical"):
        newest = sorted((b for b in backups if b.kind == kind), key=lambda b: b.created_at)
        for backup in newest[len(newest) - policy.keep_last :] if policy.keep_last else []:
            assert backup.name not in doomed


@settings(max_examples=150, deadline=None)
@given(histories(), policies)
def test_pruning_twice_deletes_nothing_more(backups, policy):
    doomed = {b.name for b in select_backups_to_delete(backups, policy, NOW)}
    survivors = [b for b in backups if b.name not in doomed]
    assert select_backups_to_delete(survivors, policy, NOW) == []


@settings(max_examples=150, deadline=None)
@given(histories(), policies)
def test_each_recent_day_keeps_its_newest_backup(backups, policy):
    doomed = {b.name for b in select_backups_to_delete(backups, policy, NOW)}
    for kind in ("logical", "physical"):
        for days_ago in range(policy.keep_daily):
            day = (NOW - timedelta(days=days_ago)).date()
            that_day = [b for b in backups if b.kind == kind and b.created_at.date() == day
                        and b.created_at <= NOW]  # fmt: skip
            if that_day:
                assert max(that_day, key=lambda b: b.created_at).name not in doomed


def test_a_long_daily_history_keeps_exactly_what_the_policy_says():
    backups = [
        RetentionCandidate(f"b{day}", "logical", NOW - timedelta(days=day), verified=False)
        for day in range(100)
    ]
    policy = RetentionPolicy(keep_last=2, keep_daily=7, keep_weekly=0, keep_monthly=0)
    doomed = select_backups_to_delete(backups, policy, NOW)
    kept = {b.name for b in backups} - {b.name for b in doomed}
    assert kept == {f"b{day}" for day in range(7)}


def test_an_old_verified_backup_survives_when_nothing_newer_is_verified():
    backups = [
        RetentionCandidate("old", "logical", NOW - timedelta(days=300), verified=True),
        *[
            RetentionCandidate(f"new{day}", "logical", NOW - timedelta(days=day), verified=False)
            for day in range(5)
        ],
    ]
    policy = RetentionPolicy(keep_last=1, keep_daily=0, keep_weekly=0, keep_monthly=0)
    doomed = {b.name for b in select_backups_to_delete(backups, policy, NOW)}
    assert doomed == {"new1", "new2", "new3", "new4"}
