"""conflict_resolve: compare the source's canonical records with the store and decide, per entity,
what load will do (create, update, unchanged, skipped_local_edit, conflict, tombstone, skip).

Pure: the store is seen through a `StoreView` that the caller reads beforehand, so every rule
here is tested without a database. The seed's four conflicts are detected and resolved as
DESIGN.md's table says; a source that shrinks past the guard stops the run before anything is
written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field

from oncall_sync.model import (
    Action,
    Conflict,
    ConflictKind,
    EntityRecord,
    EntityType,
    Invitation,
    OnCallConfig,
    Plan,
    PlannedChange,
    entity_records,
)


class ConflictStrategy(StrEnum):
    PRESERVE_LOCAL = "preserve_local"
    OVERWRITE_SOURCE = "overwrite_source"


class DeletionGuardTripped(RuntimeError):
    """The source shrank more than the guard allows: nothing is written until a person looks."""


class StoredRecord(Protocol):
    """What the store tells about one of this source's rows (see store.repo.read_state)."""

    @property
    def store_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def source_hash(self) -> str | None: ...
    @property
    def local_modified(self) -> bool: ...
    @property
    def managed(self) -> str: ...
    @property
    def source_deleted_at(self) -> datetime | None: ...


class StoreRow(Protocol):
    """A row of the store that may not come from this source: found by email or by name.
    (store.repo.StoreRef is one; so is StoreRef below.)"""

    @property
    def store_id(self) -> int: ...
    @property
    def source_system(self) -> str | None: ...
    @property
    def source_account(self) -> str | None: ...
    @property
    def source_id(self) -> str | None: ...


@dataclass(frozen=True)
class StoreRef:
    store_id: int
    source_system: str | None = None
    source_account: str | None = None
    source_id: str | None = None


@dataclass
class StoreView:
    """The part of the store a plan depends on, read once before planning."""

    records: Mapping[EntityType, Mapping[str, StoredRecord]] = field(default_factory=dict)
    people_by_email: Mapping[str, StoreRow] = field(default_factory=dict)
    names: Mapping[EntityType, Mapping[str, Sequence[StoreRow]]] = field(default_factory=dict)


class SyncOptions(BaseModel):
    """The DAG params that shape a plan."""

    conflict_strategy: ConflictStrategy = ConflictStrategy.PRESERVE_LOCAL
    invite_users: str | list[str] = "unmatched"  # "none", "unmatched", or a list of emails
    deletion_guard_share: float = Field(default=0.25, ge=0.0, le=1.0)
    entity_types: list[EntityType] = Field(default_factory=lambda: list(EntityType))
    teams: list[str] = Field(default_factory=list)  # names or ids; empty: all
    services: list[str] = Field(default_factory=list)  # names or ids; empty: all
    sync_contact_details: bool = True
    # The snapshot may not hold everything the account has (a team-scoped key, entities out of
    # the key's reach): then nothing missing from it is taken as deleted.
    partial_source: bool = False


IMPORT_SUFFIX = " (OpsGenie)"


# --- selection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which source records a run covers; None means everything."""

    team_ids: frozenset[str] | None

    @property
    def is_partial(self) -> bool:
        return self.team_ids is not None


def select_scope(config: OnCallConfig, options: SyncOptions) -> Selection:
    """Teams named in params, plus the owning team of each named service.

    A service selects its owning team and what that team owns. Unknown names raise, so that a
    typo never turns into a run that silently syncs nothing.
    """
    if not options.teams and not options.services:
        return Selection(team_ids=None)
    by_team = {t.source_id: t for t in config.teams}
    team_key = {t.name: t.source_id for t in config.teams} | {t: t for t in by_team}
    service_key = {s.name: s for s in config.services} | {s.source_id: s for s in config.services}
    unknown = [t for t in options.teams if t not in team_key]
    unknown += [s for s in options.services if s not in service_key]
    if unknown:
        raise ValueError(f"selected teams or services not found in the source: {unknown}")
    ids = {team_key[t] for t in options.teams}
    for name in options.services:
        owner = service_key[name].owner_team_source_id
        if owner:
            ids.add(owner)
    return Selection(team_ids=frozenset(ids))


def _selected_source_ids(config: OnCallConfig, selection: Selection) -> dict[EntityType, set[str]]:
    """Source ids in scope per entity type for a partial selection."""
    teams = selection.team_ids or frozenset()
    schedules = {s.source_id for s in config.schedules if s.owner_team_source_id in teams}
    policies = {e.source_id for e in config.escalation_policies if e.owner_team_source_id in teams}
    members = [m for m in config.team_members if m.team_source_id in teams]
    people = {m.person_source_id for m in members}
    for s in config.schedules:
        if s.source_id in schedules:
            for r in s.rotations:
                people |= {p.ref_source_id for p in r.members if p.member_type == "user"}  # type: ignore[misc]
            for o in s.overrides:
                if o.participant.member_type == "user":
                    people.add(o.participant.ref_source_id)  # type: ignore[arg-type]
    for e in config.escalation_policies:
        if e.source_id in policies:
            for level in e.levels:
                people |= {t.ref_source_id for t in level.targets if t.target_type == "user"}
    return {
        EntityType.TEAM: set(teams),
        EntityType.TEAM_MEMBER: {m.source_id for m in members},
        EntityType.PERSON: people,
        EntityType.CONTACT_METHOD: {
            c.source_id for c in config.contact_methods if c.person_source_id in people
        },
        EntityType.SCHEDULE: schedules,
        EntityType.ROTATION: {
            r.source_id for s in config.schedules if s.source_id in schedules for r in s.rotations
        },
        EntityType.OVERRIDE: {
            o.source_id for s in config.schedules if s.source_id in schedules for o in s.overrides
        },
        EntityType.ESCALATION_POLICY: policies,
        EntityType.SERVICE: {
            v.source_id for v in config.services if v.owner_team_source_id in teams
        },
    }


# --- diffs and the deletion guard ----------------------------------------------------------


def field_diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose values differ, as (store, source)."""
    old = old or {}
    return {
        key: (old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    }


def check_deletion_guard(
    source: Mapping[EntityType, Iterable[str]],
    stored_active: Mapping[EntityType, Iterable[str]],
    max_share: float,
) -> None:
    """Raise when the source lost all its people, or more than `max_share` of any entity type."""
    problems: list[str] = []
    for kind, stored_ids in stored_active.items():
        stored = set(stored_ids)
        if not stored:
            continue
        present = set(source.get(kind, ()))
        vanished = stored - present
        share = len(vanished) / len(stored)
        if kind is EntityType.PERSON and not present:
            problems.append(f"the source has 0 users; the store holds {len(stored)} from it")
        elif share > max_share:
            examples = ", ".join(sorted(vanished)[:5])
            problems.append(
                f"{len(vanished)} of {len(stored)} {kind.value} records vanished "
                f"({share:.0%} > {max_share:.0%}), e.g. {examples}"
            )
    if problems:
        raise DeletionGuardTripped(
            "The source shrank past the deletion guard, so nothing was written: "
            + "; ".join(problems)
            + ". If this is intended, re-run with a higher deletion_guard_share param."
        )


# --- planning ------------------------------------------------------------------------------


def _invite_wanted(options: SyncOptions, email: str) -> bool:
    if isinstance(options.invite_users, list):
        return email in {e.strip().lower() for e in options.invite_users}
    return options.invite_users == "unmatched"


def _zone_conflicts(record: EntityRecord, stored: StoredRecord | None) -> list[Conflict]:
    """Timezone mismatch: a zone that was not an IANA id, or that differs from the store's."""
    from oncall_sync.timezones import UnknownTimeZone, zones_equivalent

    raw, canonical = record.data.get("time_zone_raw"), record.data.get("time_zone")
    if not canonical:
        return []
    found: list[Conflict] = []
    if raw and raw != canonical:
        try:
            equivalent = zones_equivalent(raw, canonical)
        except UnknownTimeZone:
            equivalent = False
        found.append(
            Conflict(
                kind=ConflictKind.TIMEZONE_MISMATCH,
                entity_type=record.entity_type,
                source_id=record.source_id,
                name=record.name,
                detail=f"source zone {raw!r} is not a canonical IANA id",
                resolution=f"stored {canonical!r}, raw value kept",
                needs_review=not equivalent,
            )
        )
    store_zone = stored.data.get("time_zone") if stored is not None else None
    if store_zone and store_zone != canonical and not zones_equivalent(store_zone, canonical):
        found.append(
            Conflict(
                kind=ConflictKind.TIMEZONE_MISMATCH,
                entity_type=record.entity_type,
                source_id=record.source_id,
                name=record.name,
                detail=f"store has {store_zone!r}, source has {canonical!r}",
                resolution="per conflict_strategy",
                needs_review=True,
            )
        )
    return found


def plan_changes(
    config: OnCallConfig,
    store: StoreView,
    options: SyncOptions,
    *,
    run_id: str,
    store_form: Callable[[EntityType, dict[str, Any]], dict[str, Any]] | None = None,
    withheld: Collection[str] = (),
) -> Plan:
    """Decide, for every source record and every stored record of this source, what load does.

    `store_form` puts a source record in the form the store gives it back (instants in UTC, say),
    so that a representation difference is never mistaken for a change. `withheld` are source
    ids the source still has but this run left out (quarantined or failed): their stored rows,
    and the rows that live inside them, are kept as they are, never tombstoned.
    """
    records = entity_records(config)
    if store_form is not None:
        records = {
            kind: [rec.model_copy(update={"data": store_form(kind, rec.data)}) for rec in recs]
            for kind, recs in records.items()
        }
    selection = select_scope(config, options)
    in_scope = _selected_source_ids(config, selection) if selection.is_partial else None
    wanted_types = set(options.entity_types)
    if not options.sync_contact_details:
        wanted_types.discard(EntityType.CONTACT_METHOD)

    changes: list[PlannedChange] = []
    conflicts: list[Conflict] = []
    invitations: list[Invitation] = []
    guard_source: dict[EntityType, set[str]] = {}
    guard_stored: dict[EntityType, set[str]] = {}
    skipped_people: set[str] = set()

    for kind in EntityType:
        stored_by_id = store.records.get(kind, {})
        if kind not in wanted_types:
            for rec in records[kind]:
                changes.append(_skip(rec, f"entity type {kind.value} not selected for this run"))
            continue
        seen: set[str] = set()
        for rec in records[kind]:
            seen.add(rec.source_id)
            if in_scope is not None and rec.source_id not in in_scope[kind]:
                changes.append(_skip(rec, "outside the selected teams and services"))
                continue
            if kind is EntityType.CONTACT_METHOD and rec.data["person_source_id"] in skipped_people:
                changes.append(_skip(rec, "its user is not synced (not found and not invited)"))
                continue
            if kind is EntityType.TEAM_MEMBER and rec.data["person_source_id"] in skipped_people:
                changes.append(_skip(rec, "its user is not synced (not found and not invited)"))
                continue
            stored = stored_by_id.get(rec.source_id)
            if "time_zone" in rec.data:
                conflicts.extend(_zone_conflicts(rec, stored))
            if stored is None:
                change, conflict, invitation = _plan_new(rec, store, options)
                if change.action is Action.SKIP and kind is EntityType.PERSON:
                    skipped_people.add(rec.source_id)
            else:
                change, conflict, invitation = _plan_existing(rec, stored, options), None, None
            changes.append(change)
            if conflict:
                conflicts.append(conflict)
            if invitation:
                invitations.append(invitation)

        # Tombstones: this source's stored rows the source no longer has.
        active = {
            sid
            for sid, s in stored_by_id.items()
            if s.source_deleted_at is None and s.managed != "detached"
        }
        if in_scope is None and not options.partial_source:
            held = {sid for sid in active - seen if _is_withheld(stored_by_id[sid], sid, withheld)}
            guard_source[kind] = seen | held
            guard_stored[kind] = active
            for sid in sorted(held):
                s = stored_by_id[sid]
                changes.append(
                    PlannedChange(
                        entity_type=kind,
                        source_id=sid,
                        name=s.name,
                        action=Action.SKIP,
                        reason="still in the source but quarantined or failed in this run: "
                        "the stored row is kept as it was",
                        store_id=s.store_id,
                    )
                )
            for sid in sorted(active - seen - held):
                s = stored_by_id[sid]
                changes.append(
                    PlannedChange(
                        entity_type=kind,
                        source_id=sid,
                        name=s.name,
                        action=Action.TOMBSTONE,
                        reason="no longer in the source",
                        store_id=s.store_id,
                    )
                )

    check_deletion_guard(guard_source, guard_stored, options.deletion_guard_share)
    return Plan(
        source_system=config.source_system,
        source_account=config.source_account,
        run_id=run_id,
        changes=tuple(changes),
        invitations=tuple(invitations),
        conflicts=tuple(conflicts),
    )


# The fields by which a row lives inside another (a person's contact, a schedule's rotation).
_CONTAINED_BY = ("person_source_id", "team_source_id", "schedule_source_id")


def _is_withheld(stored: StoredRecord, source_id: str, withheld: Collection[str]) -> bool:
    """Left out of this run rather than gone from the source: it, or what it lives inside."""
    return source_id in withheld or any(
        stored.data.get(field) in withheld for field in _CONTAINED_BY
    )


def _skip(rec: EntityRecord, reason: str) -> PlannedChange:
    return PlannedChange(
        entity_type=rec.entity_type,
        source_id=rec.source_id,
        name=rec.name,
        action=Action.SKIP,
        reason=reason,
    )


def _plan_new(
    rec: EntityRecord, store: StoreView, options: SyncOptions
) -> tuple[PlannedChange, Conflict | None, Invitation | None]:
    """A record this source never wrote: match people by email, detect name collisions."""
    base: dict[str, Any] = {
        "entity_type": rec.entity_type,
        "source_id": rec.source_id,
        "name": rec.name,
        "record": rec.data,  # a create's diff would repeat the whole record: none is kept
    }
    if rec.entity_type is EntityType.PERSON:
        return _plan_new_person(rec, store, options, base)
    if rec.entity_type in (EntityType.TEAM, EntityType.SCHEDULE):
        clashes = [
            ref
            for ref in store.names.get(rec.entity_type, {}).get(rec.name, [])
            if ref.source_system is None or ref.source_id != rec.source_id
        ]
        if clashes:
            return (
                _plan_name_collision(rec, clashes[0], options, base),
                _collision(rec, clashes[0], options),
                None,
            )
    return PlannedChange(action=Action.CREATE, reason="new in the source", **base), None, None


def _plan_new_person(
    rec: EntityRecord, store: StoreView, options: SyncOptions, base: dict[str, Any]
) -> tuple[PlannedChange, Conflict | None, Invitation | None]:
    email = rec.data["email"]
    match = store.people_by_email.get(email)
    if match is not None and match.source_system is None:
        return (
            PlannedChange(
                action=Action.CREATE,
                reason="matched an existing person by email; linked to this source",
                store_id=match.store_id,
                **base,
            ),
            None,
            None,
        )
    if match is not None:
        reason = (
            f"a person with this email is already synced from {match.source_system}"
            f"/{match.source_account}"
        )
        return PlannedChange(action=Action.CONFLICT, reason=reason, **base), None, None
    conflict = Conflict(
        kind=ConflictKind.USER_NOT_FOUND,
        entity_type=EntityType.PERSON,
        source_id=rec.source_id,
        name=email,
        detail="no person in the store has this email",
    )
    if _invite_wanted(options, email):
        conflict = conflict.model_copy(update={"resolution": "invited (pending)"})
        invitation = Invitation(email=email, person_source_id=rec.source_id)
        change = PlannedChange(action=Action.CREATE, reason="user not found: invited", **base)
        return change, conflict, invitation
    conflict = conflict.model_copy(
        update={
            "resolution": "not invited (invite_users); rotations keep the slot",
            "needs_review": True,
        }
    )
    change = PlannedChange(
        action=Action.SKIP,
        reason="user not found in the store and not invited (invite_users); "
        "rotations and escalations keep the slot",
        entity_type=rec.entity_type,
        source_id=rec.source_id,
        name=rec.name,
    )
    return change, conflict, None


def _collision(rec: EntityRecord, clash: StoreRow, options: SyncOptions) -> Conflict:
    kind = (
        ConflictKind.TEAM_NAME_COLLISION
        if rec.entity_type is EntityType.TEAM
        else ConflictKind.DUPLICATE_SCHEDULE
    )
    owner = f"{clash.source_system}/{clash.source_account}" if clash.source_system else "local"
    if options.conflict_strategy is ConflictStrategy.OVERWRITE_SOURCE:
        resolution = f"merged: the existing {owner} {rec.entity_type.value} adopted by this source"
    else:
        resolution = f"imported as {rec.name + IMPORT_SUFFIX!r}; the existing one left alone"
    return Conflict(
        kind=kind,
        entity_type=rec.entity_type,
        source_id=rec.source_id,
        name=rec.name,
        detail=f"a {owner} {rec.entity_type.value} named {rec.name!r} exists in the store",
        resolution=resolution,
    )


def _plan_name_collision(
    rec: EntityRecord, clash: StoreRow, options: SyncOptions, base: dict[str, Any]
) -> PlannedChange:
    if (
        options.conflict_strategy is ConflictStrategy.OVERWRITE_SOURCE
        and clash.source_system is None
    ):
        return PlannedChange(
            action=Action.CREATE,
            reason="name collision: merged into the existing local object",
            store_id=clash.store_id,
            **base,
        )
    renamed = {**rec.data, "name": rec.name + IMPORT_SUFFIX}
    return PlannedChange(
        action=Action.CREATE,
        reason=f"name collision: imported under a suffixed name {renamed['name']!r}",
        **{**base, "record": renamed},
    )


def _plan_existing(rec: EntityRecord, stored: StoredRecord, options: SyncOptions) -> PlannedChange:
    base: dict[str, Any] = {
        "entity_type": rec.entity_type,
        "source_id": rec.source_id,
        "name": rec.name,
        "store_id": stored.store_id,
    }
    if stored.managed == "detached":
        return PlannedChange(action=Action.SKIP, reason="detached: managed locally", **base)
    # A name we suffixed on import stays suffixed: compare against what we would write.
    data = rec.data
    if stored.data.get("name") == rec.name + IMPORT_SUFFIX:
        data = {**rec.data, "name": rec.name + IMPORT_SUFFIX}
    diff = field_diff(stored.data, data)
    if stored.source_deleted_at is not None:
        return PlannedChange(
            action=Action.UPDATE, reason="back in the source", record=data, diff=diff, **base
        )
    if stored.local_modified:
        if options.conflict_strategy is ConflictStrategy.PRESERVE_LOCAL:
            return PlannedChange(
                action=Action.SKIPPED_LOCAL_EDIT,
                reason="edited in the store; kept (preserve_local)",
                diff=diff,
                **base,
            )
        return PlannedChange(
            action=Action.UPDATE,
            reason="edited in the store; overwritten with the source (overwrite_source)",
            record=data,
            diff=diff,
            **base,
        )
    if not diff:
        return PlannedChange(action=Action.UNCHANGED, **base)
    return PlannedChange(
        action=Action.UPDATE, reason="changed in the source", record=data, diff=diff, **base
    )


# --- summaries -----------------------------------------------------------------------------


def plan_summary(plan: Plan) -> dict[str, Any]:
    """Counts per entity type and action, conflicts per kind: small enough for XCom."""
    counts: dict[str, Counter[str]] = {}
    for change in plan.changes:
        counts.setdefault(change.entity_type.value, Counter())[change.action.value] += 1
    return {
        "counts": {kind: dict(c) for kind, c in counts.items()},
        "conflicts": dict(Counter(c.kind.value for c in plan.conflicts)),
        "conflicts_needing_review": sum(c.needs_review for c in plan.conflicts),
        "invitations": len(plan.invitations),
        "writes_planned": sum(
            c.action in (Action.CREATE, Action.UPDATE, Action.TOMBSTONE) for c in plan.changes
        ),
    }
