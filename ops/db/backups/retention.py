"""Retention: which backups `db.prune` deletes. A pure function, property-tested.

Each kind (logical, physical) is kept on its own: the newest `keep_last`, plus the newest
backup of each of the last `keep_daily` days, `keep_weekly` ISO weeks and `keep_monthly`
months (counted back from `now`, in UTC). Whatever else happens, the newest verified backup
is never deleted, and nothing dated after `now` (a skewed clock) is deleted either."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ops.db.backups.settings import RetentionPolicy


@dataclass(frozen=True)
class RetentionCandidate:
    """What retention needs to know about one backup."""

    name: str
    kind: str
    created_at: datetime
    verified: bool | None


def select_backups_to_delete(
    backups: Sequence[RetentionCandidate], policy: RetentionPolicy, now: datetime
) -> list[RetentionCandidate]:
    """The backups to delete, oldest first."""
    keep: set[str] = set()
    for kind in sorted({backup.kind for backup in backups}):
        # Backups dated in the future (a skewed clock) are kept below and take no slot here.
        of_kind = sorted(
            (backup for backup in backups if backup.kind == kind and backup.created_at <= now),
            key=lambda backup: (backup.created_at, backup.name),
            reverse=True,
        )
        keep.update(backup.name for backup in of_kind[: policy.keep_last])
        today = now.astimezone(UTC).date()
        keep.update(_newest_per_period(of_kind, policy.keep_daily, today, _day, _days_back))
        keep.update(_newest_per_period(of_kind, policy.keep_weekly, today, _week, _weeks_back))
        keep.update(_newest_per_period(of_kind, policy.keep_monthly, today, _month, _months_back))
    verified = [backup for backup in backups if backup.verified]
    if verified:
        keep.add(max(verified, key=lambda backup: (backup.created_at, backup.name)).name)
    keep.update(backup.name for backup in backups if backup.created_at > now)
    doomed = [backup for backup in backups if backup.name not in keep]
    return sorted(doomed, key=lambda backup: (backup.created_at, backup.name))


def _newest_per_period(
    newest_first: list[RetentionCandidate],
    periods: int,
    today: date,
    period_of: Callable[[date], Hashable],
    oldest_period: Callable[[date, int], Hashable],
) -> set[str]:
    if periods <= 0:
        return set()
    first_kept = oldest_period(today, periods)
    seen: set[Hashable] = set()
    kept: set[str] = set()
    for backup in newest_first:
        period = period_of(backup.created_at.astimezone(UTC).date())
        if period < first_kept or period > period_of(today) or period in seen:  # type: ignore[operator]
            continue
        seen.add(period)
        kept.add(backup.name)
    return kept


def _day(day: date) -> date:
    return day


def _days_back(today: date, count: int) -> date:
    return today - timedelta(days=count - 1)


def _week(day: date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return (year, week)


def _weeks_back(today: date, count: int) -> tuple[int, int]:
    return _week(today - timedelta(weeks=count - 1))


def _month(day: date) -> tuple[int, int]:
    return (day.year, day.month)


def _months_back(today: date, count: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 - (count - 1)
    return (index // 12, index % 12 + 1)
