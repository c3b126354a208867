"""The transform step: an OpsGenie raw snapshot (minus quarantine) into the canonical model.

Pure: the raw snapshot in, an `OnCallConfig` plus fidelity notes, skipped and failed records out.
Every source record ends as mapped, skipped (with the reason) or failed (with the error), so the
counts add up to the source; every construct that is not a plain copy says how it came across.

Decisions:
- Quarantined records are skipped, and so is what cannot exist without them: the contacts and
  team memberships of a quarantined person or team, the rotations and overrides of a quarantined
  schedule. A rotation slot, override or escalation target that refers to a person, team,
  schedule or escalation that is not imported keeps its reference and gets an "approximated" note
  (the turn order stays right; conflict_resolve decides what the dangling slot means).
- An override scoped to rotations keeps the scope it can: references to rotations that are not
  imported are dropped (approximated); when none is left the override is skipped, because
  widening it to the whole schedule would put someone on call where OpsGenie did not.
- Escalation rules are grouped into levels by (offset from alert creation, condition), ordered by
  offset then condition; a level's timeout is the next level's offset minus its own, the last
  level's is the repeat wait when the policy repeats, else None.
- A notifyType that has no meaning for its recipient type keeps the closest meaning (the user
  itself, the schedule's current on-call, the team's own routing) and says so.
- Time restrictions become windows in canonical order (sorted, duplicates merged), so the record
  hash does not depend on the API's arbitrary order; `endHour: 24` is midnight at the end of the
  day, which is the same instant as 00:00 of the next day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from oncall_sync.model import (
    NOBODY,
    Condition,
    ContactKind,
    ContactMethod,
    EntityType,
    EscalationLevel,
    EscalationPolicy,
    EscalationRepeat,
    EscalationTarget,
    Fidelity,
    FidelityNote,
    MemberType,
    OnCallConfig,
    Override,
    Participant,
    Person,
    Rotation,
    Schedule,
    SchedulePick,
    Service,
    TargetType,
    Team,
    TeamAudience,
    TeamMember,
    TimeWindow,
    TurnUnit,
    WindowKind,
    normalise_email,
)
from oncall_sync.timezones import UnknownTimeZone, ZoneResolution, resolve_zone

# --- the API's vocabulary ----------------------------------------------------------------------

WEEKDAYS = {
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 7,
}
TURN_UNITS = {"hourly": TurnUnit.HOUR, "daily": TurnUnit.DAY, "weekly": TurnUnit.WEEK}
CONDITIONS = {"if-not-acked": Condition.NOT_ACKED, "if-not-closed": Condition.NOT_CLOSED}
PARTICIPANT_TYPES = {t.value: t for t in MemberType}
RESTRICTION_TYPES = ("time-of-day", "weekday-and-time-of-day")
RECIPIENT_TYPES = {t.value: t for t in TargetType}
NOTIFY_TYPES = ("default", "next", "previous", "users", "admins", "all", "random")
# Seconds per OpsGenie Duration.timeUnit (OAS enum, with its own spelling of milliseconds).
DELAY_UNITS: dict[str, float] = {
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
    "miliseconds": 0.001,
    "milliseconds": 0.001,
    "micros": 0.000001,
    "nanos": 0.000000001,
}
CONTACT_KINDS = {k.value: k for k in ContactKind}


# --- reading raw payloads (shared with quality.py) ---------------------------------------------


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A payload object, or an empty one when the API sent something else (so checks fail)."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def text(value: Any) -> str | None:
    """A non-empty string or None; numbers become strings (ids sent as numbers are still ids)."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def keyword(value: Any) -> str:
    """An enum-like field as a string to look up; anything but a string can never match."""
    return value if isinstance(value, str) else repr(value)


def whole_number(value: Any, default: int | None = None) -> int | None:
    """An integer from a JSON number or digit string; None when absent; ValueError otherwise."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"{value!r} is not a whole number")


def parse_instant(value: Any) -> datetime:
    """An ISO-8601 instant as aware UTC. OpsGenie returns UTC with `Z`; a value without an offset
    is read as UTC, since the API returns every timestamp in UTC (reference section 7)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not an ISO-8601 date")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 date") from None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iter_contacts(raw: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(user id, contact) pairs: the contacts file, else a user's `userContacts` (expand shape)."""
    by_user = raw.get("contacts")
    seen: set[str] = set()
    if isinstance(by_user, Mapping):
        for user_id, contacts in by_user.items():
            seen.add(str(user_id))
            for contact in as_list(contacts):
                yield str(user_id), as_mapping(contact)
    for user in as_list(raw.get("users")):
        user = as_mapping(user)
        user_id = text(user.get("id"))
        if user_id is not None and user_id not in seen and "userContacts" in user:
            for contact in as_list(user.get("userContacts")):
                yield user_id, as_mapping(contact)


def contact_method(contact: Mapping[str, Any]) -> Any:
    """The method: `method` on the contacts endpoint, `contactMethod` in `userContacts`."""
    return contact.get("method", contact.get("contactMethod"))


def contact_status(contact: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(enabled, disabled reason) from `status` (contacts endpoint) or top level (expand)."""
    status = as_mapping(contact.get("status")) if "status" in contact else contact
    enabled = status.get("enabled")
    reason = text(status.get("disabledReason"))
    return (True if enabled is None else bool(enabled)), reason


def delay_seconds(delay: Any) -> tuple[int, bool]:
    """An escalation rule's delay as (whole seconds, exact?). Absent is 0; the unit defaults to
    minutes (OAS); a unit finer than a second is rounded to the nearest second."""
    if delay is None:
        return 0, True
    if isinstance(delay, int | float) and not isinstance(delay, bool):
        delay = {"timeAmount": delay}  # a bare number is minutes, as requests send it
    delay = as_mapping(delay)
    amount = whole_number(delay.get("timeAmount"), default=0) or 0
    unit = delay.get("timeUnit") or "minutes"
    if not isinstance(unit, str) or unit.lower() not in DELAY_UNITS:
        raise ValueError(f"unknown delay unit {unit!r}")
    if amount < 0:
        raise ValueError(f"negative delay {amount} {unit}")
    seconds = amount * DELAY_UNITS[unit.lower()]
    return round(seconds), float(round(seconds)) == seconds


def _clock(restriction: Mapping[str, Any], end: str) -> tuple[time, bool]:
    """A restriction's start or end as (time of day, rolls to the next day?). `endHour: 24` (with
    minute 0) is the midnight that ends the day: 00:00 of the next."""
    hour = whole_number(restriction.get(f"{end}Hour"), default=0) or 0
    minute = whole_number(restriction.get(f"{end}Min"), default=0) or 0
    if not 0 <= minute <= 59:
        raise ValueError(f"{end}Min {minute} is outside 0-59")
    if end == "end" and hour == 24 and minute == 0:
        return time(0, 0), True
    if not 0 <= hour <= 23:
        allowed = "0-23 (24 only as an end at minute 0)"
        raise ValueError(f"{end}Hour {hour} is outside {allowed}")
    return time(hour, minute), False


def _weekday(restriction: Mapping[str, Any], key: str) -> int:
    day = restriction.get(key)
    if not isinstance(day, str) or day.strip().lower() not in WEEKDAYS:
        raise ValueError(f"{key} {day!r} is not a weekday name")
    return WEEKDAYS[day.strip().lower()]


def restriction_windows(time_restriction: Any) -> tuple[tuple[TimeWindow, ...], bool]:
    """A rotation's timeRestriction as canonical windows, and whether an `endHour: 24` was
    rewritten as 00:00 of the next day. Raises ValueError for a restriction that makes no sense."""
    if time_restriction is None:
        return (), False
    tr = as_mapping(time_restriction)
    kind = tr.get("type")
    rolled = False
    windows: list[TimeWindow] = []
    if kind == "time-of-day":
        restriction = tr.get("restriction")
        if not isinstance(restriction, Mapping):
            raise ValueError("a time-of-day restriction needs its `restriction` object")
        start, _ = _clock(restriction, "start")
        end, rolled = _clock(restriction, "end")
        windows.append(TimeWindow(kind=WindowKind.DAILY, start_time=start, end_time=end))
    elif kind == "weekday-and-time-of-day":
        restrictions = as_list(tr.get("restrictions"))
        if not restrictions:
            raise ValueError("a weekday-and-time-of-day restriction needs `restrictions`")
        for item in restrictions:
            item = as_mapping(item)
            start, _ = _clock(item, "start")
            end, next_day = _clock(item, "end")
            end_day = _weekday(item, "endDay")
            if next_day:
                end_day, rolled = end_day % 7 + 1, True
            windows.append(
                TimeWindow(
                    kind=WindowKind.WEEKLY,
                    start_weekday=_weekday(item, "startDay"),
                    start_time=start,
                    end_weekday=end_day,
                    end_time=end,
                )
            )
    else:
        raise ValueError(f"unknown time restriction type {kind!r}")
    unique = {
        (w.start_weekday or 0, w.start_time, w.end_weekday or 0, w.end_time): w for w in windows
    }
    return tuple(unique[key] for key in sorted(unique)), rolled


# --- results -----------------------------------------------------------------------------------


class MappingResult(BaseModel):
    """What transform produces. `failed` and `skipped` items are JSON-able dicts with
    entity_type, source_id, name and reason; `counts` are mapped records per entity type."""

    model_config = ConfigDict(frozen=True)

    config: OnCallConfig
    notes: list[FidelityNote]
    failed: list[dict[str, str]]
    skipped: list[dict[str, str]]
    counts: dict[str, int]


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            parts.append(f"{where}: {error['msg']}" if where else error["msg"])
        return "; ".join(parts)
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


_RECORD_ERRORS = (ValueError, TypeError, KeyError, AttributeError)


def _quarantine_key(item: Any) -> tuple[str, str]:
    kind: Any
    if isinstance(item, Mapping):
        kind, source_id = item.get("entity_type"), item.get("source_id")
    else:
        kind, source_id = item.entity_type, item.source_id
    return str(EntityType(kind)), str(source_id)


class _Mapper:
    """Holds one mapping's accumulators; each entity method maps one record or raises."""

    def __init__(self, raw: Mapping[str, Any], quarantine: Iterable[Any]) -> None:
        self.raw = raw
        self.quarantined = {_quarantine_key(item) for item in quarantine}
        self.notes: list[FidelityNote] = []
        self.failed: list[dict[str, str]] = []
        self.skipped: list[dict[str, str]] = []
        self.exact: Counter[tuple[EntityType, str]] = Counter()
        self.zones: dict[str, ZoneResolution | UnknownTimeZone] = {}
        users = [as_mapping(u) for u in as_list(raw.get("users"))]
        # What may be referred to: ids in the snapshot minus quarantine. None: type not extracted.
        self.user_ids = self._importable("users", EntityType.PERSON)
        self.team_ids = self._importable("teams", EntityType.TEAM)
        self.schedule_ids = self._importable("schedules", EntityType.SCHEDULE)
        self.escalation_ids = self._importable("escalations", EntityType.ESCALATION_POLICY)
        self.user_by_name = {
            normalise_email(u["username"]): text(u.get("id"))
            for u in users
            if isinstance(u.get("username"), str)
        }

    def _importable(self, key: str, kind: EntityType) -> set[str] | None:
        if key not in self.raw:
            return None
        ids = {text(as_mapping(r).get("id")) for r in as_list(self.raw.get(key))}
        return {i for i in ids if i is not None and (kind.value, i) not in self.quarantined}

    # -- bookkeeping ----------------------------------------------------------------------------

    def is_quarantined(self, kind: EntityType, source_id: str | None) -> bool:
        return source_id is not None and (kind.value, source_id) in self.quarantined

    def note(
        self, kind: EntityType, source_id: str, feature: str, fidelity: Fidelity, detail: str = ""
    ) -> None:
        self.notes.append(
            FidelityNote(
                entity_type=kind,
                source_id=source_id,
                feature=feature,
                fidelity=fidelity,
                detail=detail,
            )
        )

    def fail(self, kind: EntityType, source_id: str | None, name: Any, exc: Exception) -> None:
        self.failed.append(
            {
                "entity_type": kind.value,
                "source_id": source_id or "",
                "name": text(name) or "",
                "reason": _reason(exc),
            }
        )

    def skip(self, kind: EntityType, source_id: str | None, name: Any, reason: str) -> None:
        self.skipped.append(
            {
                "entity_type": kind.value,
                "source_id": source_id or "",
                "name": text(name) or "",
                "reason": reason,
            }
        )

    def zone(self, raw_zone: str) -> ZoneResolution:
        if raw_zone not in self.zones:
            try:
                self.zones[raw_zone] = resolve_zone(raw_zone)
            except UnknownTimeZone as exc:
                self.zones[raw_zone] = exc
        resolved = self.zones[raw_zone]
        if isinstance(resolved, UnknownTimeZone):
            raise resolved
        return resolved

    def zone_note(self, kind: EntityType, source_id: str, resolved: ZoneResolution) -> None:
        if resolved.kind == "iana":
            return
        if resolved.canonical == resolved.raw:
            detail = f"kept {resolved.raw} ({resolved.kind}): {resolved.note}"
        else:
            detail = f"converted from {resolved.raw} to {resolved.canonical}: {resolved.note}"
        self.note(kind, source_id, f"time zone ({resolved.kind})", Fidelity.EXACT, detail)

    def reference_note(
        self,
        kind: EntityType,
        source_id: str,
        feature: str,
        known: set[str] | None,
        ref_id: str,
        what: str,
    ) -> None:
        """A reference to something not imported is kept, and said so."""
        if known is None or ref_id in known:
            return
        self.note(
            kind,
            source_id,
            feature,
            Fidelity.APPROXIMATED,
            f"refers to {what} {ref_id}, which is not imported (quarantined or absent from the "
            "snapshot); the reference is kept",
        )

    # -- people and teams -------------------------------------------------------------------------

    def people(self) -> list[Person]:
        people: list[Person] = []
        seen: set[str] = set()
        for user in as_list(self.raw.get("users")):
            user = as_mapping(user)
            source_id, name = text(user.get("id")), user.get("username")
            if self.is_quarantined(EntityType.PERSON, source_id):
                self.skip(EntityType.PERSON, source_id, name, "quarantined")
                continue
            try:
                if source_id in seen:
                    raise ValueError("duplicate user id in the snapshot")
                people.append(self.person(user))
                seen.add(str(source_id))
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.PERSON, source_id, name, exc)
        return people

    def person(self, user: Mapping[str, Any]) -> Person:
        source_id = _required_text(user, "id")
        username = _required_text(user, "username")
        zone_raw = text(user.get("timeZone"))
        zone: str | None = None
        if zone_raw is not None:
            try:
                resolved = self.zone(zone_raw)
                zone = resolved.canonical
                self.zone_note(EntityType.PERSON, source_id, resolved)
            except UnknownTimeZone as exc:
                self.note(
                    EntityType.PERSON,
                    source_id,
                    "time zone",
                    Fidelity.APPROXIMATED,
                    f"{exc}; the raw value is kept, the canonical zone is left empty",
                )
        role = user.get("role")
        role_name = text(as_mapping(role).get("name")) if isinstance(role, Mapping) else text(role)
        person = Person(
            source_id=source_id,
            email=normalise_email(username),
            email_raw=username,
            display_name=text(user.get("fullName")) or username,
            time_zone=zone,
            time_zone_raw=zone_raw,
            locale=text(user.get("locale")),
            role=role_name,
            blocked=bool(user.get("blocked") or False),
            verified=True if user.get("verified") is None else bool(user.get("verified")),
        )
        self.exact[(EntityType.PERSON, "user")] += 1
        return person

    def contact_methods(self, people: set[str]) -> list[ContactMethod]:
        contacts: list[ContactMethod] = []
        users_extracted = "users" in self.raw
        for user_id, contact in iter_contacts(self.raw):
            source_id = text(contact.get("id"))
            label = f"{contact_method(contact)}:{contact.get('to')}"
            if self.is_quarantined(EntityType.CONTACT_METHOD, source_id):
                self.skip(EntityType.CONTACT_METHOD, source_id, label, "quarantined")
                continue
            if users_extracted and user_id not in people:
                why = self._absent_reason(EntityType.PERSON, user_id, "person")
                self.skip(EntityType.CONTACT_METHOD, source_id, label, why)
                continue
            try:
                kind = keyword(contact_method(contact))
                if kind not in CONTACT_KINDS:
                    raise ValueError(f"unknown contact method {kind!r}")
                enabled, disabled_reason = contact_status(contact)
                contacts.append(
                    ContactMethod(
                        source_id=_required_text(contact, "id"),
                        person_source_id=user_id,
                        kind=CONTACT_KINDS[kind],
                        address=_required_text(contact, "to"),
                        enabled=enabled,
                        disabled_reason=disabled_reason,
                        position=whole_number(contact.get("applyOrder")),
                    )
                )
                self.exact[(EntityType.CONTACT_METHOD, "contact")] += 1
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.CONTACT_METHOD, source_id, label, exc)
        return contacts

    def _absent_reason(self, kind: EntityType, source_id: str, what: str) -> str:
        if self.is_quarantined(kind, source_id):
            return f"its {what} {source_id} is quarantined"
        return f"its {what} {source_id} is not imported (failed or absent from the snapshot)"

    def teams(self, people: set[str]) -> tuple[list[Team], list[TeamMember]]:
        teams: list[Team] = []
        members: list[TeamMember] = []
        seen: set[str] = set()
        for team in as_list(self.raw.get("teams")):
            team = as_mapping(team)
            source_id, name = text(team.get("id")), team.get("name")
            if self.is_quarantined(EntityType.TEAM, source_id):
                self.skip(EntityType.TEAM, source_id, name, "quarantined")
                self._skip_members(team, f"its team {source_id} is quarantined")
                continue
            try:
                if source_id in seen:
                    raise ValueError("duplicate team id in the snapshot")
                teams.append(
                    Team(
                        source_id=_required_text(team, "id"),
                        name=_required_text(team, "name"),
                        description=_plain_text(team.get("description")),
                    )
                )
                seen.add(str(source_id))
                self.exact[(EntityType.TEAM, "team")] += 1
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.TEAM, source_id, name, exc)
                self._skip_members(team, f"its team {source_id} failed")
                continue
            members.extend(self.team_members(str(source_id), team, people))
        return teams, members

    def _skip_members(self, team: Mapping[str, Any], why: str) -> None:
        team_id = text(team.get("id"))
        for member in as_list(team.get("members")):
            user = as_mapping(as_mapping(member).get("user"))
            user_id = text(user.get("id")) or self._user_id_by_name(user.get("username"))
            self.skip(EntityType.TEAM_MEMBER, f"{team_id}:{user_id}", user.get("username"), why)

    def team_members(
        self, team_id: str, team: Mapping[str, Any], people: set[str]
    ) -> list[TeamMember]:
        members: dict[str, TeamMember] = {}
        users_extracted = "users" in self.raw
        for member in as_list(team.get("members")):
            member = as_mapping(member)
            user = as_mapping(member.get("user"))
            user_id = text(user.get("id")) or self._user_id_by_name(user.get("username"))
            source_id = f"{team_id}:{user_id}"
            name = user.get("username")
            if self.is_quarantined(EntityType.TEAM_MEMBER, source_id):
                self.skip(EntityType.TEAM_MEMBER, source_id, name, "quarantined")
                continue
            if users_extracted and user_id is not None and user_id not in people:
                why = self._absent_reason(EntityType.PERSON, user_id, "person")
                self.skip(EntityType.TEAM_MEMBER, source_id, name, why)
                continue
            try:
                if user_id is None:
                    raise ValueError("team member without a user id or a known username")
                role = member.get("role")
                role_name = text(
                    as_mapping(role).get("name") if isinstance(role, Mapping) else role
                )
                record = TeamMember(
                    team_source_id=team_id, person_source_id=user_id, role=role_name or "user"
                )
                if source_id in members:
                    self.skip(
                        EntityType.TEAM_MEMBER,
                        source_id,
                        name,
                        "the user is listed twice in the team; kept once, with the first role",
                    )
                    continue
                members[source_id] = record
                self.exact[(EntityType.TEAM_MEMBER, "team member")] += 1
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.TEAM_MEMBER, source_id, name, exc)
        return list(members.values())

    def _user_id_by_name(self, username: Any) -> str | None:
        if not isinstance(username, str):
            return None
        return self.user_by_name.get(normalise_email(username))

    # -- schedules ------------------------------------------------------------------------------

    def schedules(self) -> list[Schedule]:
        overrides_by_schedule = as_mapping(self.raw.get("overrides"))
        schedules: list[Schedule] = []
        mapped: set[str] = set()
        for schedule in as_list(self.raw.get("schedules")):
            schedule = as_mapping(schedule)
            source_id, name = text(schedule.get("id")), schedule.get("name")
            overrides = as_list(overrides_by_schedule.get(source_id)) if source_id else []
            if self.is_quarantined(EntityType.SCHEDULE, source_id) or source_id in mapped:
                why = "quarantined" if source_id not in mapped else "duplicate schedule id"
                self.skip(EntityType.SCHEDULE, source_id, name, why)
                self._skip_dependants(str(source_id), schedule, overrides, f"its schedule: {why}")
                continue
            try:
                mapped_schedule = self.schedule(schedule, overrides)
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.SCHEDULE, source_id, name, exc)
                self._skip_dependants(str(source_id), schedule, overrides, "its schedule failed")
                continue
            schedules.append(mapped_schedule)
            mapped.add(mapped_schedule.source_id)
        in_snapshot = {text(as_mapping(s).get("id")) for s in as_list(self.raw.get("schedules"))}
        for schedule_id, overrides in overrides_by_schedule.items():
            if schedule_id not in in_snapshot:
                for override in as_list(overrides):
                    alias = as_mapping(override).get("alias")
                    self.skip(
                        EntityType.OVERRIDE,
                        f"{schedule_id}:{alias}",
                        alias,
                        f"its schedule {schedule_id} is not in the snapshot",
                    )
        return schedules

    def _skip_dependants(
        self, schedule_id: str, schedule: Mapping[str, Any], overrides: list[Any], why: str
    ) -> None:
        for rotation in as_list(schedule.get("rotations")):
            rotation = as_mapping(rotation)
            self.skip(EntityType.ROTATION, text(rotation.get("id")), rotation.get("name"), why)
        for override in overrides:
            alias = as_mapping(override).get("alias")
            self.skip(EntityType.OVERRIDE, f"{schedule_id}:{alias}", alias, why)

    def schedule(self, schedule: Mapping[str, Any], overrides: list[Any]) -> Schedule:
        source_id = _required_text(schedule, "id")
        name = _required_text(schedule, "name")
        zone_raw = _required_text(schedule, "timezone")
        resolved = self.zone(zone_raw)
        owner = text(as_mapping(schedule.get("ownerTeam")).get("id"))
        if owner is not None:
            self.reference_note(
                EntityType.SCHEDULE, source_id, "owner team", self.team_ids, owner, "team"
            )
        rotations: list[Rotation] = []
        rotation_ids_by_name: dict[str, str] = {}
        for position, rotation in enumerate(as_list(schedule.get("rotations"))):
            rotation = as_mapping(rotation)
            rotation_id, rotation_name = text(rotation.get("id")), rotation.get("name")
            if isinstance(rotation_name, str) and rotation_id:
                rotation_ids_by_name.setdefault(rotation_name, rotation_id)
            if self.is_quarantined(EntityType.ROTATION, rotation_id):
                self.skip(EntityType.ROTATION, rotation_id, rotation_name, "quarantined")
                continue
            try:
                rotations.append(self.rotation(source_id, position, rotation))
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.ROTATION, rotation_id, rotation_name, exc)
        mapped_rotations = {r.source_id for r in rotations}
        mapped_overrides: dict[str, Override] = {}
        for override in overrides:
            override = as_mapping(override)
            alias = text(override.get("alias"))
            override_id = f"{source_id}:{alias}"
            if self.is_quarantined(EntityType.OVERRIDE, override_id):
                self.skip(EntityType.OVERRIDE, override_id, alias, "quarantined")
                continue
            try:
                if override_id in mapped_overrides:
                    raise ValueError("duplicate override alias in the schedule")
                mapped = self.override(source_id, override, mapped_rotations, rotation_ids_by_name)
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.OVERRIDE, override_id, alias, exc)
                continue
            if mapped is not None:
                mapped_overrides[override_id] = mapped
        # Only the zone decides whether the schedule maps; its note follows the success.
        self.zone_note(EntityType.SCHEDULE, source_id, resolved)
        self.exact[(EntityType.SCHEDULE, "schedule")] += 1
        if not owner:
            self.exact[(EntityType.SCHEDULE, "schedule without an owner team")] += 1
        return Schedule(
            source_id=source_id,
            name=name,
            description=_plain_text(schedule.get("description")),
            time_zone=resolved.canonical,
            time_zone_raw=zone_raw,
            enabled=True if schedule.get("enabled") is None else bool(schedule.get("enabled")),
            owner_team_source_id=owner,
            rotations=tuple(rotations),
            overrides=tuple(mapped_overrides[k] for k in sorted(mapped_overrides)),
        )

    def rotation(self, schedule_id: str, position: int, rotation: Mapping[str, Any]) -> Rotation:
        source_id = _required_text(rotation, "id")
        kind = keyword(rotation.get("type"))
        if kind not in TURN_UNITS:
            raise ValueError(f"unknown rotation type {kind!r} (hourly, daily or weekly)")
        anchor = parse_instant(rotation.get("startDate"))
        ends = None if rotation.get("endDate") is None else parse_instant(rotation["endDate"])
        members = tuple(
            self.participant(EntityType.ROTATION, source_id, p)
            for p in as_list(rotation.get("participants"))
        )
        windows, rolled = restriction_windows(rotation.get("timeRestriction"))
        mapped = Rotation(
            source_id=source_id,
            schedule_source_id=schedule_id,
            position=position,
            name=_plain_text(rotation.get("name")),
            turn_unit=TURN_UNITS[kind],
            turn_count=whole_number(rotation.get("length"), default=1),  # type: ignore[arg-type]
            anchor_at=anchor,
            ends_at=ends,
            members=members,
            windows=windows,
            enabled=True if rotation.get("enabled") is None else bool(rotation.get("enabled")),
        )
        odd = [m for m in (anchor, ends) if m is not None and (m.minute % 30 or m.second)]
        if odd:
            self.note(
                EntityType.ROTATION,
                source_id,
                "rotation time not on :00 or :30",
                Fidelity.EXACT,
                f"kept as given ({', '.join(m.strftime('%H:%M:%S') for m in odd)} UTC); OpsGenie "
                "itself rounds new rotations to the half hour, destinations may too",
            )
        odd_windows = [w for w in windows if w.start_time.minute % 30 or w.end_time.minute % 30]
        if odd_windows:
            self.note(
                EntityType.ROTATION,
                source_id,
                "time restriction minutes not on :00 or :30",
                Fidelity.EXACT,
                "kept as given; destinations that round to the half hour will shift them",
            )
        if rolled:
            self.note(
                EntityType.ROTATION,
                source_id,
                "time restriction ending at 24:00",
                Fidelity.EXACT,
                "stored as 00:00 of the next day, the same instant",
            )
        if windows:
            self.exact[(EntityType.ROTATION, f"time restriction ({windows[0].kind} windows)")] += 1
        self.exact[(EntityType.ROTATION, "rotation")] += 1
        return mapped

    def participant(self, kind: EntityType, owner_id: str, payload: Any) -> Participant:
        """A rotation slot or override user; non-user slots are kept exactly and said so."""
        payload = as_mapping(payload)
        member_type = keyword(payload.get("type") or ("user" if payload.get("id") else None))
        if member_type not in PARTICIPANT_TYPES:
            raise ValueError(f"unknown participant type {member_type!r}")
        where = "rotation" if kind is EntityType.ROTATION else "override"
        if member_type == "none":
            self.note(
                kind,
                owner_id,
                f"{where} participant of type none",
                Fidelity.EXACT,
                "an empty slot: nobody is on call for that turn; the turn order keeps it",
            )
            return NOBODY
        if member_type == "user":
            ref = text(payload.get("id")) or self._user_id_by_name(payload.get("username"))
            if ref is None:
                raise ValueError(f"user participant {payload.get('username')!r} has no known id")
            name = text(payload.get("username"))
            self.reference_note(
                kind, owner_id, f"{where} participant", self.user_ids, ref, "person"
            )
            return Participant(member_type=MemberType.USER, ref_source_id=ref, ref_name=name)
        ref = text(payload.get("id"))
        if ref is None:
            raise ValueError(f"{member_type} participant {payload.get('name')!r} has no id")
        known = self.team_ids if member_type == "team" else self.escalation_ids
        self.reference_note(kind, owner_id, f"{where} participant", known, ref, member_type)
        self.note(
            kind,
            owner_id,
            f"{where} participant of type {member_type}",
            Fidelity.EXACT,
            f"kept as a {member_type} slot ({payload.get('name') or ref}); destinations that "
            "take only people need to expand or drop it",
        )
        return Participant(
            member_type=PARTICIPANT_TYPES[member_type],
            ref_source_id=ref,
            ref_name=text(payload.get("name")),
        )

    def override(
        self,
        schedule_id: str,
        override: Mapping[str, Any],
        rotation_ids: set[str],
        rotation_ids_by_name: Mapping[str, str],
    ) -> Override | None:
        alias = _required_text(override, "alias")
        source_id = f"{schedule_id}:{alias}"
        if "user" not in override:
            raise ValueError("override without a user")
        participant = self.participant(EntityType.OVERRIDE, source_id, override["user"])
        scope = as_list(override.get("rotations"))
        kept: list[str] = []
        dropped: list[str] = []
        for ref in scope:
            ref = as_mapping(ref)
            name = text(ref.get("name"))
            rotation_id = text(ref.get("id")) or (rotation_ids_by_name.get(name) if name else None)
            if rotation_id is not None and rotation_id in rotation_ids:
                if rotation_id not in kept:
                    kept.append(rotation_id)
            else:
                dropped.append(rotation_id or name or "?")
        if scope and not kept:
            self.skip(
                EntityType.OVERRIDE,
                source_id,
                alias,
                f"scoped only to rotations that are not imported ({', '.join(dropped)}); "
                "applying it to the whole schedule would put someone on call where OpsGenie "
                "did not",
            )
            return None
        if dropped:
            self.note(
                EntityType.OVERRIDE,
                source_id,
                "override scoped to rotations",
                Fidelity.APPROXIMATED,
                f"references to rotations not imported were dropped: {', '.join(dropped)}",
            )
        mapped = Override(
            source_id=source_id,
            schedule_source_id=schedule_id,
            alias=alias,
            participant=participant,
            starts_at=parse_instant(override.get("startDate")),
            ends_at=parse_instant(override.get("endDate")),
            rotation_source_ids=tuple(sorted(kept)),
        )
        self.exact[(EntityType.OVERRIDE, "override")] += 1
        return mapped

    # -- escalation -----------------------------------------------------------------------------

    def escalation_policies(self) -> list[EscalationPolicy]:
        policies: list[EscalationPolicy] = []
        seen: set[str] = set()
        for escalation in as_list(self.raw.get("escalations")):
            escalation = as_mapping(escalation)
            source_id, name = text(escalation.get("id")), escalation.get("name")
            if self.is_quarantined(EntityType.ESCALATION_POLICY, source_id):
                self.skip(EntityType.ESCALATION_POLICY, source_id, name, "quarantined")
                continue
            try:
                if source_id in seen:
                    raise ValueError("duplicate escalation id in the snapshot")
                policies.append(self.escalation_policy(escalation))
                seen.add(str(source_id))
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.ESCALATION_POLICY, source_id, name, exc)
        return policies

    def escalation_policy(self, escalation: Mapping[str, Any]) -> EscalationPolicy:
        source_id = _required_text(escalation, "id")
        name = _required_text(escalation, "name")
        kind = EntityType.ESCALATION_POLICY
        owner = text(as_mapping(escalation.get("ownerTeam")).get("id"))
        if owner is not None:
            self.reference_note(kind, source_id, "owner team", self.team_ids, owner, "team")
        repeat = self.repeat(escalation.get("repeat"))
        grouped: dict[tuple[int, Condition], list[EscalationTarget]] = {}
        for index, rule in enumerate(as_list(escalation.get("rules"))):
            rule = as_mapping(rule)
            condition_raw = keyword(rule.get("condition") or "if-not-acked")
            if condition_raw not in CONDITIONS:
                raise ValueError(f"rule {index + 1}: unknown condition {condition_raw!r}")
            condition = CONDITIONS[condition_raw]
            try:
                offset, exact = delay_seconds(rule.get("delay"))
            except ValueError as exc:
                raise ValueError(f"rule {index + 1}: {exc}") from None
            if not exact:
                self.note(
                    kind,
                    source_id,
                    "escalation delay finer than a second",
                    Fidelity.APPROXIMATED,
                    f"rule {index + 1}: {rule.get('delay')} rounded to {offset} s",
                )
            target = self.target(source_id, index, rule)
            if target is None:
                continue
            if condition is Condition.NOT_CLOSED:
                self.exact[(kind, "condition if-not-closed")] += 1
            targets = grouped.setdefault((offset, condition), [])
            if target in targets:
                self.note(
                    kind,
                    source_id,
                    "repeated escalation rule",
                    Fidelity.EXACT,
                    f"rule {index + 1} repeats a recipient of its level; merged into one target",
                )
                continue
            targets.append(target)
        order = list(Condition)
        keys = sorted(grouped, key=lambda key: (key[0], order.index(key[1])))
        levels = []
        for position, (offset, condition) in enumerate(keys):
            if position + 1 < len(keys):
                timeout: int | None = keys[position + 1][0] - offset
            elif repeat is not None and repeat.count > 0:
                timeout = repeat.wait_minutes * 60
            else:
                timeout = None
            levels.append(
                EscalationLevel(
                    position=position,
                    condition=condition,
                    offset_seconds=offset,
                    timeout_seconds=timeout,
                    targets=tuple(grouped[(offset, condition)]),
                )
            )
        self.exact[(kind, "escalation policy")] += 1
        if repeat is not None:
            self.exact[(kind, "repeat")] += 1
        return EscalationPolicy(
            source_id=source_id,
            name=name,
            description=_plain_text(escalation.get("description")),
            owner_team_source_id=owner,
            levels=tuple(levels),
            repeat=repeat,
        )

    @staticmethod
    def repeat(payload: Any) -> EscalationRepeat | None:
        if payload is None:
            return None
        repeat = as_mapping(payload)
        if all(repeat.get(k) is None for k in ("count", "waitInterval")):
            return None  # all fields are nullable in the API; nothing to repeat
        return EscalationRepeat(
            count=whole_number(repeat.get("count"), default=0),  # type: ignore[arg-type]
            wait_minutes=whole_number(repeat.get("waitInterval"), default=0),  # type: ignore[arg-type]
            reset_recipients=bool(repeat.get("resetRecipientStates") or False),
            close_after_all=bool(repeat.get("closeAlertAfterAll") or False),
        )

    def target(
        self, policy_id: str, index: int, rule: Mapping[str, Any]
    ) -> EscalationTarget | None:
        kind = EntityType.ESCALATION_POLICY
        recipient = as_mapping(rule.get("recipient"))
        recipient_type = keyword(recipient.get("type"))
        if recipient_type not in RECIPIENT_TYPES:
            self.note(
                kind,
                policy_id,
                f"escalation recipient of type {recipient_type}",
                Fidelity.UNSUPPORTED,
                f"rule {index + 1} is left out: recipients are users, teams or schedules",
            )
            return None
        ref = text(recipient.get("id"))
        if ref is None and recipient_type == "user":
            ref = self._user_id_by_name(recipient.get("username"))
        if ref is None:
            raise ValueError(f"rule {index + 1}: the {recipient_type} recipient has no id")
        name = text(recipient.get("username" if recipient_type == "user" else "name"))
        known = {"user": self.user_ids, "team": self.team_ids, "schedule": self.schedule_ids}
        what = {"user": "person", "team": "team", "schedule": "schedule"}[recipient_type]
        self.reference_note(
            kind, policy_id, "escalation recipient", known[recipient_type], ref, what
        )
        notify = keyword(rule.get("notifyType") or "default")
        target_type = RECIPIENT_TYPES[recipient_type]
        pick: SchedulePick | None = None
        audience: TeamAudience | None = None
        closest = ""
        if target_type is TargetType.SCHEDULE:
            picks = {"default": SchedulePick.CURRENT, "next": SchedulePick.NEXT}
            picks["previous"] = SchedulePick.PREVIOUS
            pick = picks.get(notify, SchedulePick.CURRENT)
            if notify not in picks:
                closest = "the schedule's current on-call person"
        elif target_type is TargetType.TEAM:
            audiences = {a.value: a for a in TeamAudience}
            audience = audiences.get(notify, TeamAudience.DEFAULT)
            if notify not in audiences:
                closest = "the team's own routing (default)"
        elif notify != "default":
            closest = "the user"
        if closest:
            self.note(
                kind,
                policy_id,
                f"notifyType {notify} on a {recipient_type} recipient",
                Fidelity.APPROXIMATED,
                f"rule {index + 1}: {notify!r} has no meaning for a {recipient_type}; "
                f"notifies {closest}",
            )
        return EscalationTarget(
            target_type=target_type,
            ref_source_id=ref,
            ref_name=name,
            schedule_pick=pick,
            team_audience=audience,
        )

    # -- services -------------------------------------------------------------------------------

    def services(self) -> list[Service]:
        services: list[Service] = []
        seen: set[str] = set()
        for service in as_list(self.raw.get("services")):
            service = as_mapping(service)
            source_id, name = text(service.get("id")), service.get("name")
            if self.is_quarantined(EntityType.SERVICE, source_id):
                self.skip(EntityType.SERVICE, source_id, name, "quarantined")
                continue
            try:
                if source_id in seen:
                    raise ValueError("duplicate service id in the snapshot")
                owner = text(service.get("teamId"))
                mapped = Service(
                    source_id=_required_text(service, "id"),
                    name=_required_text(service, "name"),
                    description=_plain_text(service.get("description")),
                    owner_team_source_id=owner,
                    tags=tuple(sorted({t for t in as_list(service.get("tags")) if text(t)})),
                )
                if owner is not None:
                    self.reference_note(
                        EntityType.SERVICE, mapped.source_id, "owner team", self.team_ids, owner,
                        "team",
                    )  # fmt: skip
                services.append(mapped)
                seen.add(mapped.source_id)
                self.exact[(EntityType.SERVICE, "service")] += 1
            except _RECORD_ERRORS as exc:
                self.fail(EntityType.SERVICE, source_id, name, exc)
        return services

    def summary_notes(self) -> list[FidelityNote]:
        """Exact constructs as counts, one note per (entity type, construct)."""
        return [
            FidelityNote(
                entity_type=kind,
                source_id="*",
                feature=feature,
                fidelity=Fidelity.EXACT,
                detail=f"{count} mapped exactly (other notes say where not)",
            )
            for (kind, feature), count in self.exact.items()
        ]


def _required_text(payload: Mapping[str, Any], key: str) -> str:
    value = text(payload.get(key))
    if value is None:
        raise ValueError(f"missing {key}")
    return value


def _plain_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def map_snapshot(
    raw: Mapping[str, Any],
    *,
    quarantine: Iterable[Any] = (),
    source_system: str = "opsgenie",
    source_account: str | None = None,
) -> MappingResult:
    """Map a raw OpsGenie snapshot into the canonical model, leaving quarantined records out.

    `quarantine` holds items with `entity_type` and `source_id` (QuarantineItem or dicts).
    A record that cannot be mapped becomes `failed` and never stops the others.
    """
    account = source_account or text(as_mapping(raw.get("manifest")).get("source_account"))
    if account is None:
        raise ValueError("source_account is neither given nor in the snapshot's manifest")
    mapper = _Mapper(raw, quarantine)
    people = mapper.people()
    person_ids = {p.source_id for p in people}
    contacts = mapper.contact_methods(person_ids)
    teams, members = mapper.teams(person_ids)
    schedules = mapper.schedules()
    policies = mapper.escalation_policies()
    services = mapper.services()
    notes = [*mapper.notes, *mapper.summary_notes()]
    config = OnCallConfig(
        source_system=source_system,
        source_account=account,
        people=tuple(people),
        contact_methods=tuple(contacts),
        teams=tuple(teams),
        team_members=tuple(members),
        schedules=tuple(schedules),
        escalation_policies=tuple(policies),
        services=tuple(services),
        notes=tuple(notes),
    )
    counts = {
        EntityType.PERSON.value: len(people),
        EntityType.CONTACT_METHOD.value: len(contacts),
        EntityType.TEAM.value: len(teams),
        EntityType.TEAM_MEMBER.value: len(members),
        EntityType.SCHEDULE.value: len(schedules),
        EntityType.ROTATION.value: sum(len(s.rotations) for s in schedules),
        EntityType.OVERRIDE.value: sum(len(s.overrides) for s in schedules),
        EntityType.ESCALATION_POLICY.value: len(policies),
        EntityType.SERVICE.value: len(services),
    }
    return MappingResult(
        config=config,
        notes=notes,
        failed=mapper.failed,
        skipped=mapper.skipped,
        counts=counts,
    )
