"""The canonical on-call model: source-neutral, what every connector maps onto and the store holds.

Time is kept as people mean it: handoffs are an anchor instant read in the schedule's IANA zone,
turn length is a unit and a count (never seconds), windows are local wall-clock times, and
escalation levels keep OpsGenie's offset from alert creation beside the derived timeout.
References between entities are source ids, so the model needs no store to be complete.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class CanonicalModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def normalise_email(email: str) -> str:
    """Emails match case-insensitively and without surrounding blanks."""
    return email.strip().lower()


def record_hash(record: BaseModel | dict[str, Any]) -> str:
    """sha256 of a record's canonical JSON: equal content gives an equal hash on any machine."""
    data = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def _require_aware(value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError("instants must carry a zone offset (they are stored in UTC)")
    return value


# --- enums ---------------------------------------------------------------------------------


class EntityType(StrEnum):
    PERSON = "person"
    CONTACT_METHOD = "contact_method"
    TEAM = "team"
    TEAM_MEMBER = "team_member"
    SCHEDULE = "schedule"
    ROTATION = "rotation"
    OVERRIDE = "override"
    ESCALATION_POLICY = "escalation_policy"
    SERVICE = "service"


class ContactKind(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    MOBILE = "mobile"


class MemberType(StrEnum):
    USER = "user"
    TEAM = "team"
    ESCALATION = "escalation"
    NONE = "none"  # an empty slot: nobody is on call for that turn, and the turn order keeps it


class TurnUnit(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class WindowKind(StrEnum):
    DAILY = "daily"  # the same local span every day
    WEEKLY = "weekly"  # one continuous span from a weekday and time to a weekday and time


class Condition(StrEnum):
    NOT_ACKED = "not_acked"
    NOT_CLOSED = "not_closed"


class TargetType(StrEnum):
    USER = "user"
    TEAM = "team"
    SCHEDULE = "schedule"


class SchedulePick(StrEnum):
    CURRENT = "current"
    NEXT = "next"
    PREVIOUS = "previous"


class TeamAudience(StrEnum):
    DEFAULT = "default"  # the team's own routing decides
    ALL = "all"
    ADMINS = "admins"
    USERS = "users"
    RANDOM = "random"


class Fidelity(StrEnum):
    EXACT = "exact"
    APPROXIMATED = "approximated"
    UNSUPPORTED = "unsupported"


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


# --- people and teams ------------------------------------------------------------------------


class Person(CanonicalModel):
    source_id: str
    email: str  # normalised (normalise_email); the match key
    email_raw: str  # as the source spells it
    display_name: str
    time_zone: str | None = None  # canonical id (see Schedule.time_zone)
    time_zone_raw: str | None = None  # as the source gave it
    locale: str | None = None
    role: str | None = None
    blocked: bool = False
    verified: bool = True

    @field_validator("email")
    @classmethod
    def _email_is_normalised(cls, value: str) -> str:
        if value != normalise_email(value):
            raise ValueError("email must be normalised (stripped, lower-case)")
        return value


class ContactMethod(CanonicalModel):
    source_id: str
    person_source_id: str
    kind: ContactKind
    address: str
    enabled: bool = True
    disabled_reason: str | None = None
    position: int | None = None  # the source's apply order


class Team(CanonicalModel):
    source_id: str
    name: str
    description: str = ""


class TeamMember(CanonicalModel):
    team_source_id: str
    person_source_id: str
    role: str = "user"

    @property
    def source_id(self) -> str:
        return f"{self.team_source_id}:{self.person_source_id}"


# --- schedules -------------------------------------------------------------------------------


class TimeWindow(CanonicalModel):
    """A span in which a rotation is active, in the schedule's local wall-clock time.

    Daily: start_time to end_time every day; end before start wraps midnight; end == start is
    the whole day. Weekly: from (start_weekday, start_time) to (end_weekday, end_time), ISO
    weekdays 1 = Monday .. 7 = Sunday; an end before the start wraps the week; equal is the
    whole week.
    """

    kind: WindowKind
    start_weekday: int | None = Field(default=None, ge=1, le=7)
    start_time: time
    end_weekday: int | None = Field(default=None, ge=1, le=7)
    end_time: time

    @model_validator(mode="after")
    def _weekdays_match_kind(self) -> TimeWindow:
        has_days = self.start_weekday is not None and self.end_weekday is not None
        if self.kind is WindowKind.WEEKLY and not has_days:
            raise ValueError("a weekly window needs start_weekday and end_weekday")
        if self.kind is WindowKind.DAILY and (self.start_weekday or self.end_weekday):
            raise ValueError("a daily window has no weekdays")
        return self

    @property
    def start_minute_of_week(self) -> int:
        day = (self.start_weekday or 1) - 1
        return day * 1440 + self.start_time.hour * 60 + self.start_time.minute

    @property
    def end_minute_of_week(self) -> int:
        day = (self.end_weekday or 1) - 1
        return day * 1440 + self.end_time.hour * 60 + self.end_time.minute

    @property
    def duration_minutes(self) -> int:
        """Length of one occurrence; a wrap is taken modulo a day or a week, equal is the whole."""
        period = 1440 if self.kind is WindowKind.DAILY else 10080
        if self.kind is WindowKind.DAILY:
            start = self.start_time.hour * 60 + self.start_time.minute
            end = self.end_time.hour * 60 + self.end_time.minute
        else:
            start, end = self.start_minute_of_week, self.end_minute_of_week
        return (end - start) % period or period


class Participant(CanonicalModel):
    """Who fills a rotation slot or an override: a user, a team, an escalation, or nobody."""

    member_type: MemberType
    ref_source_id: str | None = None
    ref_name: str | None = None  # the user's email or the team's / escalation's name

    @model_validator(mode="after")
    def _reference_matches_type(self) -> Participant:
        if self.member_type is MemberType.NONE and self.ref_source_id is not None:
            raise ValueError("a 'none' participant refers to nobody")
        if self.member_type is not MemberType.NONE and not self.ref_source_id:
            raise ValueError(f"a {self.member_type} participant needs ref_source_id")
        return self


NOBODY = Participant(member_type=MemberType.NONE)


class Rotation(CanonicalModel):
    source_id: str
    schedule_source_id: str
    position: int  # order within the schedule; rotations add up, position only orders them
    name: str = ""
    turn_unit: TurnUnit
    turn_count: int = Field(ge=1)
    anchor_at: datetime  # the cadence anchor; its local time in the schedule zone is the handoff
    ends_at: datetime | None = None
    members: tuple[Participant, ...] = ()
    windows: tuple[TimeWindow, ...] = ()  # empty: active all the time
    enabled: bool = True

    _aware = field_validator("anchor_at", "ends_at")(_require_aware)

    @model_validator(mode="after")
    def _ends_after_anchor(self) -> Rotation:
        if self.ends_at is not None and self.ends_at <= self.anchor_at:
            raise ValueError("a rotation must end after it starts")
        if len({w.kind for w in self.windows}) > 1:
            raise ValueError("a rotation's windows are all daily or all weekly")
        return self


class Override(CanonicalModel):
    source_id: str  # "<schedule source id>:<alias>": aliases are unique per schedule only
    schedule_source_id: str
    alias: str
    participant: Participant
    starts_at: datetime
    ends_at: datetime
    rotation_source_ids: tuple[str, ...] = ()  # empty: the whole schedule

    _aware = field_validator("starts_at", "ends_at")(_require_aware)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Override:
        if self.ends_at <= self.starts_at:
            raise ValueError("an override must end after it starts")
        return self


class Schedule(CanonicalModel):
    source_id: str
    name: str
    description: str = ""
    time_zone: str  # canonical id: IANA, or the fixed form UTC+05:30 (timezones.tzinfo_for)
    time_zone_raw: str  # as the source gave it
    enabled: bool = True
    owner_team_source_id: str | None = None
    rotations: tuple[Rotation, ...] = ()
    overrides: tuple[Override, ...] = ()


# --- escalation ------------------------------------------------------------------------------


class EscalationTarget(CanonicalModel):
    target_type: TargetType
    ref_source_id: str
    ref_name: str | None = None
    schedule_pick: SchedulePick | None = None  # schedules only: which on-call person
    team_audience: TeamAudience | None = None  # teams only: who in the team

    @model_validator(mode="after")
    def _qualifiers_match_type(self) -> EscalationTarget:
        if self.schedule_pick is not None and self.target_type is not TargetType.SCHEDULE:
            raise ValueError("schedule_pick applies to schedule targets only")
        if self.team_audience is not None and self.target_type is not TargetType.TEAM:
            raise ValueError("team_audience applies to team targets only")
        return self


class EscalationLevel(CanonicalModel):
    """Targets notified together, `offset_seconds` after the alert was created (OpsGenie's meaning).

    `timeout_seconds` is derived: the wait before the next level, or the repeat's wait for the
    last level, or None when nothing follows.
    """

    position: int
    condition: Condition = Condition.NOT_ACKED
    offset_seconds: int = Field(ge=0)
    timeout_seconds: int | None = Field(default=None, ge=0)
    targets: tuple[EscalationTarget, ...]


class EscalationRepeat(CanonicalModel):
    count: int = Field(ge=0)
    wait_minutes: int = Field(ge=0)
    reset_recipients: bool = False
    close_after_all: bool = False


class EscalationPolicy(CanonicalModel):
    source_id: str
    name: str
    description: str = ""
    owner_team_source_id: str | None = None
    levels: tuple[EscalationLevel, ...] = ()
    repeat: EscalationRepeat | None = None


class Service(CanonicalModel):
    source_id: str
    name: str
    description: str = ""
    owner_team_source_id: str | None = None
    tags: tuple[str, ...] = ()


# --- the whole account, fidelity, invitations -------------------------------------------------


class FidelityNote(CanonicalModel):
    """How one source construct came across: exactly, approximately (how) or not at all (why)."""

    entity_type: EntityType
    source_id: str
    feature: str  # the source construct, e.g. "rotation participant of type team"
    fidelity: Fidelity
    detail: str = ""


class Invitation(CanonicalModel):
    email: str
    person_source_id: str
    status: InvitationStatus = InvitationStatus.PENDING


class OnCallConfig(CanonicalModel):
    """One source account's on-call configuration in canonical form."""

    source_system: str
    source_account: str
    people: tuple[Person, ...] = ()
    contact_methods: tuple[ContactMethod, ...] = ()
    teams: tuple[Team, ...] = ()
    team_members: tuple[TeamMember, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    escalation_policies: tuple[EscalationPolicy, ...] = ()
    services: tuple[Service, ...] = ()
    notes: tuple[FidelityNote, ...] = ()


# --- the plan: what conflict_resolve decides and load applies ---------------------------------


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIPPED_LOCAL_EDIT = "skipped_local_edit"  # preserve_local kept a row edited in the store
    CONFLICT = "conflict"  # needs a person; nothing is written for it
    TOMBSTONE = "tombstone"  # gone from the source: marked deleted, never removed
    SKIP = "skip"  # not synced, with the reason (not selected, user not invited, ...)


class PlannedChange(CanonicalModel):
    entity_type: EntityType
    source_id: str
    name: str = ""  # what a person recognises it by
    action: Action
    reason: str = ""
    diff: dict[str, tuple[Any, Any]] = Field(default_factory=dict)  # field: (store, source)
    record: dict[str, Any] | None = None  # the canonical record to write (create / update)
    store_id: int | None = None  # an existing row to update, adopt or tombstone


class ConflictKind(StrEnum):
    USER_NOT_FOUND = "user_not_found"
    DUPLICATE_SCHEDULE = "duplicate_schedule"
    TEAM_NAME_COLLISION = "team_name_collision"
    TIMEZONE_MISMATCH = "timezone_mismatch"


class Conflict(CanonicalModel):
    """One of the seed's four conflicts, met on one entity, and how the plan resolved it."""

    kind: ConflictKind
    entity_type: EntityType
    source_id: str
    name: str = ""
    detail: str = ""
    resolution: str = ""
    needs_review: bool = False


class Plan(CanonicalModel):
    source_system: str
    source_account: str
    run_id: str
    changes: tuple[PlannedChange, ...] = ()
    invitations: tuple[Invitation, ...] = ()
    conflicts: tuple[Conflict, ...] = ()


# --- flat records: the unit of planning, hashing and storage ----------------------------------


class EntityRecord(CanonicalModel):
    """One row-level entity: schedules are stored without their rotations and overrides, which
    are records of their own, so a changed rotation updates one row and a vanished one is
    tombstoned alone."""

    entity_type: EntityType
    source_id: str
    name: str
    data: dict[str, Any]

    @property
    def hash(self) -> str:
        return record_hash(self.data)


def entity_records(config: OnCallConfig) -> dict[EntityType, list[EntityRecord]]:
    """Flatten a config into records per entity type, in a stable order."""

    def rec(kind: EntityType, source_id: str, name: str, model: BaseModel, **exclude: bool):
        data = model.model_dump(mode="json", exclude=set(exclude) or None)
        return EntityRecord(entity_type=kind, source_id=source_id, name=name, data=data)

    out: dict[EntityType, list[EntityRecord]] = {kind: [] for kind in EntityType}
    for p in config.people:
        out[EntityType.PERSON].append(rec(EntityType.PERSON, p.source_id, p.email, p))
    for c in config.contact_methods:
        label = f"{c.kind}:{c.address}"
        out[EntityType.CONTACT_METHOD].append(rec(EntityType.CONTACT_METHOD, c.source_id, label, c))
    for t in config.teams:
        out[EntityType.TEAM].append(rec(EntityType.TEAM, t.source_id, t.name, t))
    for m in config.team_members:
        out[EntityType.TEAM_MEMBER].append(rec(EntityType.TEAM_MEMBER, m.source_id, m.source_id, m))
    for s in config.schedules:
        out[EntityType.SCHEDULE].append(
            rec(EntityType.SCHEDULE, s.source_id, s.name, s, rotations=True, overrides=True)
        )
        for r in s.rotations:
            out[EntityType.ROTATION].append(rec(EntityType.ROTATION, r.source_id, r.name, r))
        for o in s.overrides:
            out[EntityType.OVERRIDE].append(rec(EntityType.OVERRIDE, o.source_id, o.alias, o))
    for e in config.escalation_policies:
        out[EntityType.ESCALATION_POLICY].append(
            rec(EntityType.ESCALATION_POLICY, e.source_id, e.name, e)
        )
    for v in config.services:
        out[EntityType.SERVICE].append(rec(EntityType.SERVICE, v.source_id, v.name, v))
    return out


def config_from_records(
    source_system: str,
    source_account: str,
    records: dict[EntityType, list[dict[str, Any]]],
    notes: tuple[FidelityNote, ...] = (),
) -> OnCallConfig:
    """Rebuild a config from flat record data (the inverse of entity_records)."""
    get = lambda kind: records.get(kind, [])  # noqa: E731
    rotations: dict[str, list[Rotation]] = {}
    for data in get(EntityType.ROTATION):
        rotation = Rotation.model_validate(data)
        rotations.setdefault(rotation.schedule_source_id, []).append(rotation)
    overrides: dict[str, list[Override]] = {}
    for data in get(EntityType.OVERRIDE):
        override = Override.model_validate(data)
        overrides.setdefault(override.schedule_source_id, []).append(override)
    schedules = []
    for data in get(EntityType.SCHEDULE):
        sid = data["source_id"]
        schedules.append(
            Schedule.model_validate(
                {
                    **data,
                    "rotations": sorted(rotations.get(sid, []), key=lambda r: r.position),
                    "overrides": sorted(overrides.get(sid, []), key=lambda o: o.source_id),
                }
            )
        )
    return OnCallConfig(
        source_system=source_system,
        source_account=source_account,
        people=tuple(Person.model_validate(d) for d in get(EntityType.PERSON)),
        contact_methods=tuple(
            ContactMethod.model_validate(d) for d in get(EntityType.CONTACT_METHOD)
        ),
        teams=tuple(Team.model_validate(d) for d in get(EntityType.TEAM)),
        team_members=tuple(TeamMember.model_validate(d) for d in get(EntityType.TEAM_MEMBER)),
        schedules=tuple(schedules),
        escalation_policies=tuple(
            EscalationPolicy.model_validate(d) for d in get(EntityType.ESCALATION_POLICY)
        ),
        services=tuple(Service.model_validate(d) for d in get(EntityType.SERVICE)),
        notes=notes,
    )
