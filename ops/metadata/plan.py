"""What a metadata sync would change: records against the catalog, as new, changed and removed
individuals and samples with their fields, and the records held back with their reasons.

Pure logic over plain values (records from the source, the catalog's current state), so the
dry run and `--execute` show exactly the same plan. A record names its sample (`sample_id`)
and individual (`individual_id`); each other field is the individual's or the sample's, as the
schema's `x-metadata` says. A field a record no longer has is removed from the catalog only
when the catalog still holds what that record said last time, so a value set by hand or by a
sample sheet is never dropped by a sync.

Every value goes through the same text check as any other input (`common.inputs.check_text`,
at most `[metadata] max_value_length` characters): a NUL, a control character or a 20 MB value
quarantines its record with the record id and field named, and the rest is applied. A sample
(or individual) that `inv data.delete` removed is not created again: its records are listed
as skipped, with when the deletion happened, unless the run restores it on purpose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from common.errors import ValidationError
from common.inputs import MAX_ID_LENGTH, check_text, displayable
from workers.schemas import validation as schemas

KIND = "metadata_record"
RECORD_ID = "sample_id"
INDIVIDUAL_ID = "individual_id"


@dataclass(frozen=True)
class Change:
    """One individual or sample that is new, changed or removed, and how its fields change."""

    level: str  # individual | sample
    action: str  # new | changed | removed
    individual: str
    sample: str  # '' for an individual
    fields: dict[str, list[Any]]  # field -> [before, after]
    detail: str = ""

    @property
    def name(self) -> str:
        return self.sample or self.individual


@dataclass(frozen=True)
class Quarantined:
    record_id: str
    record: dict[str, Any]
    reasons: list[str]


@dataclass(frozen=True)
class Skipped:
    """A valid record left out on purpose: what it names was deleted from the catalog."""

    record_id: str
    reason: str


@dataclass
class CatalogState:
    """The catalog's side: individuals and samples of the project, and the records last seen."""

    individuals: dict[str, tuple[int, dict[str, Any]]]  # name -> (id, metadata)
    samples: dict[tuple[str, str], tuple[int, dict[str, Any]]]  # (individual, sample) -> …
    known: dict[str, dict[str, Any]]  # record id -> {fields, sample_id, removed_at}
    quarantined: set[str] = field(default_factory=set)
    # what data.delete removed: (individual, sample) or (individual, '') -> how, in words
    deleted: dict[tuple[str, str], str] = field(default_factory=dict)

    def deletion_of(self, individual: str, sample: str) -> str | None:
        """Why a record for this sample may not create it again, or None when it may."""
        if (individual, sample) in self.deleted:
            return self.deleted[(individual, sample)]
        if individual not in self.individuals and (individual, "") in self.deleted:
            return self.deleted[(individual, "")]
        return None


@dataclass
class SyncPlan:
    changes: list[Change] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # valid and changed
    released: list[str] = field(default_factory=list)  # leave quarantine
    removed: list[str] = field(default_factory=list)  # record ids gone from the source
    skipped: list[Skipped] = field(default_factory=list)  # deleted in the catalog
    restored: dict[str, str] = field(default_factory=dict)  # record id -> individual, undeleted
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for change in self.changes:
            key = f"{change.level}s_{change.action}"
            counted[key] = counted.get(key, 0) + 1
        return {
            **{key: counted[key] for key in sorted(counted)},
            "records_unchanged": self.unchanged,
            "quarantined": len(self.quarantined),
            "released": len(self.released),
            # only when there are any: most projects never see a deletion
            **({"skipped_deleted": len(self.skipped)} if self.skipped else {}),
            **({"restored": len(self.restored)} if self.restored else {}),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "changes": [asdict(change) for change in self.changes],
            "quarantined": [asdict(entry) for entry in self.quarantined],
            "released": self.released,
            "skipped": [asdict(entry) for entry in self.skipped],
            "restored": sorted(self.restored),
        }


def plan_sync(
    records: list[dict[str, Any]],
    all_ids: set[str],
    state: CatalogState,
    version: int,
    *,
    deletions: dict[str, dict[str, str]] | None = None,
    max_length: int = 10_000,
    restore: frozenset[str] = frozenset(),
) -> SyncPlan:
    """Compare fetched `records` (and the source's full id list) with the catalog; records of
    a deleted sample are skipped unless their id is in `restore`."""
    plan = SyncPlan()
    valid = _validate(records, state, version, plan, max_length)
    valid = _without_deleted(valid, state, restore, plan)
    individual_fields = _agreeing_individuals(valid, state, version, plan)
    for individual, (values, last) in individual_fields.items():
        _individual_change(plan, state, individual, values, last)
    held = {entry.record_id for entry in plan.quarantined}
    for record_id, values in valid.items():
        if record_id not in held:
            _sample_change(plan, state, record_id, values, version)
    _removals(plan, state, all_ids, deletions or {})
    plan.changes.sort(key=lambda c: (c.action, c.level != "individual", c.individual, c.sample))
    return plan


def _validate(
    records: list[dict[str, Any]],
    state: CatalogState,
    version: int,
    plan: SyncPlan,
    max_length: int,
) -> dict[str, dict[str, Any]]:
    known_fields = set(schemas.fields(KIND, version))
    valid: dict[str, dict[str, Any]] = {}
    for record in records:
        record_id = str(record.get(RECORD_ID, "")).strip()
        text_problems = _text_problems(record, record_id, known_fields, max_length)
        if text_problems:
            shown_id = displayable(record_id)[:MAX_ID_LENGTH] or "?"
            plan.quarantined.append(
                Quarantined(shown_id, _storable(record, max_length), text_problems)
            )
            continue
        values = schemas.without_empty({k: v for k, v in record.items() if k in known_fields})
        where = f"record {record_id or '?'}"
        reasons = [str(p.message) for p in schemas.problems_in(KIND, version, values, where=where)]
        owner = _catalog_owner(state, values)
        if not reasons and owner and owner != values[INDIVIDUAL_ID]:
            reasons.append(
                f"sample {record_id} belongs to individual {owner} in the catalog, "
                f"not {values[INDIVIDUAL_ID]}"
            )
        if reasons:
            stored = _storable(record, max_length)
            plan.quarantined.append(Quarantined(record_id or "?", stored, reasons))
        else:
            valid[record_id] = values
    return valid


def _text_problems(
    record: dict[str, Any], record_id: str, known_fields: set[str], max_length: int
) -> list[str]:
    """Why the record's id or a value of a field we read is not storable text, if it is not."""
    problems = []
    try:
        check_text(record_id, "the record id", max_length=MAX_ID_LENGTH)
    except ValidationError as exc:
        problems.append(f"record {displayable(record_id)[:40] or '?'}: {exc}")
    shown = displayable(record_id)[:40] or "?"
    for name in sorted(known_fields & set(record)):
        try:
            check_text(record[name], f"field {name}", max_length=max_length)
        except ValidationError as exc:
            problems.append(f"record {shown}: {exc}")
    return problems


def _storable(record: dict[str, Any], max_length: int) -> dict[str, Any]:
    """The record as the quarantine can keep it: values that are not storable text shown
    with their control characters escaped and cut to a few hundred characters."""
    kept: dict[str, Any] = {}
    for key, value in record.items():
        name = displayable(str(key))[:200]
        text = value if isinstance(value, str) else repr(value)
        try:
            check_text(text, name, max_length=max_length)
            kept[name] = value if isinstance(value, str) else text
        except ValidationError:
            shown = displayable(text)
            kept[name] = shown[:200] + (f"… ({len(text):,} characters)" if len(shown) > 200 else "")
    return kept


def _without_deleted(
    valid: dict[str, dict[str, Any]], state: CatalogState, restore: frozenset[str], plan: SyncPlan
) -> dict[str, dict[str, Any]]:
    """`valid` without the records of deleted samples (skipped with the reason), except those
    restored on purpose."""
    kept = {}
    for record_id, values in valid.items():
        deleted = state.deletion_of(values[INDIVIDUAL_ID], record_id)
        if deleted is None:
            kept[record_id] = values
        elif record_id in restore:
            plan.restored[record_id] = values[INDIVIDUAL_ID]
            kept[record_id] = values
        else:
            plan.skipped.append(Skipped(record_id, deleted))
    return kept


def _catalog_owner(state: CatalogState, values: dict[str, Any]) -> str | None:
    """The individual the catalog files this record's sample under, when not its own."""
    sample, individual = values.get(RECORD_ID), values.get(INDIVIDUAL_ID)
    if (individual, sample) in state.samples:
        return None
    owners = sorted(ind for ind, name in state.samples if name == sample)
    return owners[0] if owners else None


def _level_fields(version: int, level: str, values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if schemas.metadata_level(KIND, version, k) == level}


def _agreeing_individuals(
    valid: dict[str, dict[str, Any]], state: CatalogState, version: int, plan: SyncPlan
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """{individual: (its fields, what its records said last)}; records that disagree about
    their individual are quarantined together."""
    by_individual: dict[str, list[str]] = {}
    for record_id, values in valid.items():
        by_individual.setdefault(values[INDIVIDUAL_ID], []).append(record_id)
    result = {}
    for individual, record_ids in sorted(by_individual.items()):
        seen = [_level_fields(version, "individual", valid[r]) for r in record_ids]
        if any(fields != seen[0] for fields in seen[1:]):
            differing = sorted({k for f in seen for k in f if any(g.get(k) != f[k] for g in seen)})
            reason = (
                f"records {', '.join(sorted(record_ids))} disagree about individual "
                f"{individual} ({', '.join(differing)})"
            )
            for record_id in record_ids:
                plan.quarantined.append(Quarantined(record_id, valid[record_id], [reason]))
            continue
        last: dict[str, Any] = {}
        for record_id in record_ids:
            if record_id in state.known:
                last.update(_level_fields(version, "individual", state.known[record_id]["fields"]))
        result[individual] = (seen[0], last)
    return result


def _individual_change(
    plan: SyncPlan,
    state: CatalogState,
    individual: str,
    values: dict[str, Any],
    last: dict[str, Any],
) -> None:
    current = state.individuals.get(individual)
    if current is None:
        plan.changes.append(
            Change("individual", "new", individual, "", {k: [None, v] for k, v in values.items()})
        )
        return
    changed = _field_changes(current[1], values, last)
    if changed:
        plan.changes.append(Change("individual", "changed", individual, "", changed))


def _field_changes(
    current: dict[str, Any], values: dict[str, Any], last: dict[str, Any]
) -> dict[str, list[Any]]:
    changed = {k: [current.get(k), v] for k, v in values.items() if current.get(k) != v}
    for key, before in last.items():
        if key not in values and key in current and current[key] == before:
            changed[key] = [before, None]
    return dict(sorted(changed.items()))


def _sample_change(
    plan: SyncPlan, state: CatalogState, record_id: str, values: dict[str, Any], version: int
) -> None:
    individual = values[INDIVIDUAL_ID]
    known = state.known.get(record_id)
    last_values = known["fields"] if known else {}
    sample_values = _level_fields(version, "sample", values)
    last_sample = _level_fields(version, "sample", last_values)
    current = state.samples.get((individual, record_id))
    if current is None:
        fields = {k: [None, v] for k, v in sample_values.items()}
        plan.changes.append(Change("sample", "new", individual, record_id, fields))
    else:
        changed = _field_changes(current[1], sample_values, last_sample)
        if changed:
            plan.changes.append(Change("sample", "changed", individual, record_id, changed))
    if record_id in state.quarantined:
        plan.released.append(record_id)
    if known is None or known["fields"] != values or known.get("removed_at"):
        plan.records[record_id] = values
    else:
        plan.unchanged += 1


def _removals(
    plan: SyncPlan, state: CatalogState, all_ids: set[str], deletions: dict[str, dict[str, str]]
) -> None:
    gone = sorted(set(state.known) - all_ids)
    plan.removed = gone
    remaining: dict[str, int] = {}
    for record_id, known in state.known.items():
        if record_id not in gone:
            individual = known["fields"].get(INDIVIDUAL_ID, "")
            remaining[individual] = remaining.get(individual, 0) + 1
    emptied: set[str] = set()
    for record_id in gone:
        known = state.known[record_id]
        individual = known["fields"].get(INDIVIDUAL_ID, "")
        deleted = deletions.get(record_id)
        detail = f"deleted {deleted['when']} by {deleted['by']}" if deleted else "not in the source"
        if known.get("removed_at"):
            detail += f"; reported since {known['removed_at']:%Y-%m-%d %H:%M}"
        plan.changes.append(Change("sample", "removed", individual, record_id, {}, detail))
        if not remaining.get(individual):
            emptied.add(individual)
    for individual in sorted(emptied):
        detail = "every record of this individual is gone from the source"
        plan.changes.append(Change("individual", "removed", individual, "", {}, detail))
