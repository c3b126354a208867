"""The validate step: Great Expectations over the raw OpsGenie snapshot, bad records to quarantine.

One pandas DataFrame per kind of row (users, contacts, teams, team members, schedules, rotations,
time restrictions, rotation participants, overrides, escalations, escalation rules, services),
one expectation suite each, run in one ephemeral GX context per call. Checks that need Python
(strict email syntax, phone numbers, time zones, dates) compute a column first (a parsed value,
or the problem found) that GX then checks, so every check is counted and reported by GX; failing
rows are routed to quarantine by their row index (`result_format` COMPLETE).

Decisions:
- Quarantine at the smallest unit that can be left out: a bad contact quarantines that contact;
  anything wrong in a rotation (its fields, a time restriction, a participant that does not
  resolve) quarantines the rotation (the reason says which participant or restriction), not the
  schedule; a bad rule or a dangling recipient quarantines the escalation (rules have no ids).
- Users that share an email case-insensitively are all quarantined: we cannot tell which one is
  the person the email belongs to, and people are matched by email downstream.
- Nothing cascades here. The mapping leaves out what cannot exist without a quarantined record
  (a person's contacts and memberships, a schedule's rotations and overrides) and keeps slots
  that refer to a quarantined person, with a fidelity note.
- Time zones OpsGenie accepts but that are not plain IANA ids (Java short ids, legacy links,
  custom offsets, server aliases) are not rejected: they are listed as conversions.
- A restriction hour is 0-23; 24 is accepted as an end hour with minute 0 (the midnight that
  ends the day). Minutes are 0-59. Day names are matched case-insensitively.
- Emails: a loose shape check in GX, then email_validator's syntax check (no DNS); the `.test`
  domain reserved for testing is accepted, so demo and emulator accounts validate.
- Phone numbers: OpsGenie writes sms/voice numbers as "CC-NUMBER"; they must be valid numbers
  for their country (phonenumbers). Mobile contacts name an app device: not validated.
- A reference to an entity type that was not extracted cannot be checked and is not.
- The threshold is per entity type: the quarantined share of any one type above the maximum
  fails the task, so a handful of bad services is not hidden by thousands of good users.
"""

from __future__ import annotations

import logging
import os
import re
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from oncall_sync.connectors.opsgenie.mapping import (
    CONDITIONS,
    CONTACT_KINDS,
    DELAY_UNITS,
    NOTIFY_TYPES,
    PARTICIPANT_TYPES,
    RECIPIENT_TYPES,
    RESTRICTION_TYPES,
    TURN_UNITS,
    WEEKDAYS,
    as_list,
    as_mapping,
    contact_method,
    iter_contacts,
    parse_instant,
    text,
    whole_number,
)
from oncall_sync.model import EntityType, normalise_email
from oncall_sync.timezones import UnknownTimeZone, ZoneResolution, resolve_zone

# GX phones home for usage statistics unless told not to; it must be set before the import.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

log = logging.getLogger(__name__)

EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MISSING = "<missing>"  # stands in for an absent value that a value-set check must reject


class QuarantineItem(BaseModel):
    """A record left out of the sync, with the rule it failed and why."""

    model_config = ConfigDict(frozen=True)

    entity_type: EntityType
    source_id: str
    name: str = ""
    rule: str
    reason: str


class QualityReport(BaseModel):
    quarantine: list[QuarantineItem]
    summary: dict[str, Any]  # small: the validate task's XCom
    gx_results: dict[str, Any]  # the full GX results per suite, JSON-able, kept beside the report
    timezone_conversions: list[dict[str, str]]  # entity_type, source_id, raw, canonical, kind


class QuarantineThresholdExceeded(Exception):
    """Too much of the snapshot failed validation to trust a sync of the rest."""


# --- checks and frames -------------------------------------------------------------------------

Row = dict[str, Any]


@dataclass(frozen=True)
class Check:
    """One expectation; `reason` explains a failing row to a person."""

    rule: str
    expectation: Any  # a gx.expectations.Expectation (GX is imported lazily: it is slow)
    reason: Callable[[Row], str]


@dataclass
class Frame:
    """Rows of one kind; a failing row quarantines `(entity_type, row["q_id"])`."""

    name: str
    entity_type: EntityType
    rows: list[Row] = field(default_factory=list)
    numeric: tuple[str, ...] = ()
    instants: tuple[str, ...] = ()
    checks: list[Check] = field(default_factory=list)

    def dataframe(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows)
        for check in self.checks:  # rows may lack a key that no row had a value for
            for attribute in ("column", "column_A", "column_B"):
                column = getattr(check.expectation, attribute, None)
                if column is not None and column not in df.columns:
                    df[column] = None
        for column in self.numeric:
            df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
        for column in self.instants:
            df[column] = pd.to_datetime(df[column], utc=True)
        return df


def _gx() -> tuple[Any, Any]:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


# --- Python-side value checks ------------------------------------------------------------------


@cache
def email_problem(value: str) -> str | None:
    """None for a syntactically valid address, else what is wrong (no DNS lookups)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return str(exc)
    return None


_CC_NUMBER = re.compile(r"\+?(\d{1,3})-(.+)")


@cache
def phone_problem(value: str) -> str | None:
    """None for a valid phone number in OpsGenie's "CC-NUMBER" form (or E.164), else the problem."""
    import phonenumbers

    value = value.strip()
    match = _CC_NUMBER.fullmatch(value)
    candidate = (
        f"+{match[1]}{match[2]}" if match else value if value.startswith("+") else f"+{value}"
    )
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        return f"{value!r} is not a phone number ({exc})"
    if not phonenumbers.is_valid_number(number):
        return f"{value!r} is not a valid phone number for country code +{number.country_code}"
    return None


def _instant(value: Any) -> tuple[Any, str | None]:
    try:
        return parse_instant(value), None
    except ValueError as exc:
        return None, str(exc)


def _whole(value: Any, default: int | None = None) -> tuple[int | None, str | None]:
    try:
        return whole_number(value, default), None
    except ValueError as exc:
        return None, str(exc)


def _label(value: Any) -> str:
    """A value as a value-set column holds it: absent values become MISSING so they fail."""
    return MISSING if value is None else str(value)


def _shown(ref: Mapping[str, Any], ref_id: str | None) -> str:
    """A reference as people read it: name and id."""
    name = text(ref.get("username")) or text(ref.get("name"))
    if name and ref_id and name != ref_id:
        return f"{name} ({ref_id})"
    return name or ref_id or MISSING


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- building the frames -----------------------------------------------------------------------


class _Snapshot:
    """The raw snapshot's ids, so references can be checked; None: type not extracted."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.zones: dict[str, ZoneResolution | UnknownTimeZone] = {}
        self.users = [as_mapping(u) for u in as_list(raw.get("users"))]
        self.teams = [as_mapping(t) for t in as_list(raw.get("teams"))]
        self.schedules = [as_mapping(s) for s in as_list(raw.get("schedules"))]
        self.escalations = [as_mapping(e) for e in as_list(raw.get("escalations"))]
        self.services = [as_mapping(s) for s in as_list(raw.get("services"))]
        self.ids: dict[str, set[str] | None] = {
            kind: ({i for i in (text(r.get("id")) for r in rows) if i} if kind in raw else None)
            for kind, rows in (
                ("users", self.users),
                ("teams", self.teams),
                ("schedules", self.schedules),
                ("escalations", self.escalations),
            )
        }
        self.user_by_name = {
            normalise_email(u["username"]): text(u.get("id"))
            for u in self.users
            if isinstance(u.get("username"), str)
        }

    def user_id(self, ref: Mapping[str, Any]) -> str | None:
        username = ref.get("username")
        by_name = (
            self.user_by_name.get(normalise_email(username)) if isinstance(username, str) else None
        )
        return text(ref.get("id")) or by_name

    def zone(self, value: Any) -> str | None:
        """The raw zone id as given, resolved once and remembered (or its UnknownTimeZone)."""
        zone = text(value)
        if zone is not None and zone not in self.zones:
            try:
                self.zones[zone] = resolve_zone(zone)
            except UnknownTimeZone as exc:
                self.zones[zone] = exc
        return zone

    def resolvable(self, zones: Iterable[str]) -> list[str]:
        return sorted({z for z in zones if not isinstance(self.zones.get(z), UnknownTimeZone)})

    def zone_reason(self, row: Row) -> str:
        return str(self.zones.get(row["zone"], f"time zone {row['zone']!r} is not resolvable"))

    def dangling(self, kind: str, ref_id: str | None) -> str | None:
        """`kind id` when that kind was extracted and has no such id; else None (resolves, or
        cannot be checked)."""
        known = self.ids.get(f"{kind}s")
        if known is None or (ref_id is not None and ref_id in known):
            return None
        return f"{kind} {ref_id}"


def _placeholder(collection: str, index: int) -> str:
    return f"<{collection}[{index}] without id>"


def build_frames(raw: Mapping[str, Any]) -> tuple[list[Frame], dict[str, Any]]:
    """Every frame with its rows and checks, and the time-zone resolutions seen (raw -> result)."""
    snap = _Snapshot(raw)
    frames = [
        frame
        for build in (
            _user_frames,
            _contact_frames,
            _team_frames,
            _schedule_frames,
            _override_frames,
            _escalation_frames,
            _service_frames,
            _storable_frames,
        )
        for frame in build(snap)
    ]
    return frames, snap.zones


def unstorable_text(value: Any, *, skip: str | None = None) -> str | None:
    """Why a record's text cannot be stored faithfully (a NUL character: PostgreSQL's text
    cannot hold one, and dropping it would change the value), or None."""
    if isinstance(value, str):
        return (
            "contains a NUL character (\\x00), which the store cannot hold"
            if "\x00" in value
            else None
        )
    if isinstance(value, Mapping):
        items: Iterable[Any] = (v for k, v in value.items() if k != skip)
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        problem = unstorable_text(item)
        if problem:
            return problem
    return None


def _storable_frames(snap: _Snapshot) -> list[Frame]:
    """Every record's text, anywhere in it, can be stored as it is."""
    _, gxe = _gx()
    frames: list[Frame] = []

    def frame(name: str, kind: EntityType, records: Iterable[tuple[str, str, Any]]) -> None:
        storable = Frame(f"{name}_text", kind)
        for q_id, q_name, record in records:
            storable.rows.append(
                {
                    "q_id": q_id,
                    "q_name": q_name,
                    "unstorable": unstorable_text(record, skip="rotations"),
                }
            )
        storable.checks = [
            Check(
                f"{kind.value}.text_storable",
                gxe.ExpectColumnValuesToBeNull(column="unstorable"),
                lambda r: f"{r['q_name'] or r['q_id']}: {r['unstorable']}",
            )
        ]
        frames.append(storable)

    def listed(collection: str, rows: list[Mapping[str, Any]], name_key: str):
        for i, record in enumerate(rows):
            yield (
                text(record.get("id")) or _placeholder(collection, i),
                text(record.get(name_key)) or "",
                record,
            )

    frame("users", EntityType.PERSON, listed("users", snap.users, "username"))
    frame(
        "contacts",
        EntityType.CONTACT_METHOD,
        (
            (text(c.get("id")) or _placeholder("contacts", i), text(c.get("to")) or "", c)
            for i, (_, c) in enumerate(iter_contacts(snap.raw))
        ),
    )
    frame("teams", EntityType.TEAM, listed("teams", snap.teams, "name"))
    frame("schedules", EntityType.SCHEDULE, listed("schedules", snap.schedules, "name"))
    frame(
        "rotations",
        EntityType.ROTATION,
        (
            (
                text(as_mapping(r).get("id"))
                or f"<schedule {text(s.get('id'))} rotation {j} without id>",
                text(as_mapping(r).get("name")) or "",
                r,
            )
            for s in snap.schedules
            for j, r in enumerate(as_list(s.get("rotations")))
        ),
    )
    frame(
        "overrides",
        EntityType.OVERRIDE,
        (
            (
                f"{schedule_id}:{text(as_mapping(o).get('alias'))}",
                text(as_mapping(o).get("alias")) or "",
                o,
            )
            for schedule_id, items in as_mapping(snap.raw.get("overrides")).items()
            for o in as_list(items)
        ),
    )
    frame(
        "escalations", EntityType.ESCALATION_POLICY, listed("escalations", snap.escalations, "name")
    )
    frame("services", EntityType.SERVICE, listed("services", snap.services, "name"))
    return frames


def _identity_checks(rule: str, noun: str, *, named: bool = False) -> list[Check]:
    """Every record has an id, no two share one, and (where it has one) a name."""
    _, gxe = _gx()
    checks = [
        Check(
            f"{rule}.id_present",
            gxe.ExpectColumnValuesToNotBeNull(column="id"),
            lambda r: f"{noun} has no id",
        ),
        Check(
            f"{rule}.id_unique",
            gxe.ExpectColumnValuesToBeUnique(column="id"),
            lambda r: f"id {r['id']} is used by more than one {noun}",
        ),
    ]
    if named:
        checks.append(
            Check(
                f"{rule}.name_present",
                gxe.ExpectColumnValuesToNotBeNull(column="name"),
                lambda r: f"{noun} has no name",
            )
        )
    return checks


def _window_checks(rule: str) -> list[Check]:
    """startDate and endDate parse as instants, and the window ends after it starts."""
    _, gxe = _gx()
    return [
        Check(
            f"{rule}.start_parses",
            gxe.ExpectColumnValuesToBeNull(column="start_problem"),
            lambda r: f"startDate: {r['start_problem']}",
        ),
        Check(
            f"{rule}.end_parses",
            gxe.ExpectColumnValuesToBeNull(column="end_problem"),
            lambda r: f"endDate: {r['end_problem']}",
        ),
        Check(
            f"{rule}.end_after_start",
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="end_at", column_B="start_at", ignore_row_if="either_value_is_missing"
            ),
            lambda r: (
                f"endDate {r['end_at']:%Y-%m-%dT%H:%M:%SZ} is not after startDate "
                f"{r['start_at']:%Y-%m-%dT%H:%M:%SZ}"
            ),
        ),
    ]


def _resolvable_check(rule: str, what: str) -> Check:
    """The row's reference (its `dangling` column is None) resolves to something in the snapshot."""
    _, gxe = _gx()
    return Check(
        rule,
        gxe.ExpectColumnValuesToBeNull(column="dangling"),
        lambda row: f"{row['ref_text']} does not resolve to {what} in the snapshot",
    )


def _user_frames(snap: _Snapshot) -> list[Frame]:
    """Users: ids, emails (shape, strict syntax, unique case-insensitively), time zones."""
    _, gxe = _gx()
    users = Frame("users", EntityType.PERSON)
    for i, user in enumerate(snap.users):
        username = user.get("username")
        username = username if isinstance(username, str) else text(username)
        users.rows.append(
            {
                "q_id": text(user.get("id")) or _placeholder("users", i),
                "q_name": username or "",
                "id": text(user.get("id")),
                "username": username,
                "email_key": normalise_email(username) if username else None,
                "email_problem": email_problem(username) if username else None,
                "zone": snap.zone(user.get("timeZone")),
            }
        )
    sharing: dict[str, list[str]] = defaultdict(list)
    for row in users.rows:
        if row["email_key"]:
            sharing[row["email_key"]].append(row["q_id"])
    users.checks = [
        *_identity_checks("user", "user"),
        Check(
            "user.email_present",
            gxe.ExpectColumnValuesToNotBeNull(column="username"),
            lambda r: "user has no username (email)",
        ),
        Check(
            "user.email_format",
            gxe.ExpectColumnValuesToMatchRegex(column="username", regex=EMAIL_SHAPE),
            lambda r: f"username {r['username']!r} is not shaped like an email address",
        ),
        Check(
            "user.email_valid",
            gxe.ExpectColumnValuesToBeNull(column="email_problem"),
            lambda r: f"username {r['username']!r} is not a valid email: {r['email_problem']}",
        ),
        Check(
            "user.email_unique",
            gxe.ExpectColumnValuesToBeUnique(column="email_key"),
            lambda r: (
                f"email {r['email_key']} is shared case-insensitively by users "
                f"{', '.join(sharing[r['email_key']])}; all are quarantined since we cannot tell "
                "which one it belongs to"
            ),
        ),
        Check(
            "user.time_zone_resolvable",
            gxe.ExpectColumnValuesToBeInSet(
                column="zone",
                value_set=snap.resolvable(r["zone"] for r in users.rows if r["zone"]),
            ),
            snap.zone_reason,
        ),
    ]
    return [users]


def _contact_frames(snap: _Snapshot) -> list[Frame]:
    """Contacts: method, the address valid for its method, the owning user."""
    _, gxe = _gx()
    contacts = Frame("contacts", EntityType.CONTACT_METHOD)
    for i, (user_id, contact) in enumerate(iter_contacts(snap.raw)):
        method, to = contact_method(contact), contact.get("to")
        problem: str | None = None
        if method in ("email", "sms", "voice"):
            if not isinstance(to, str) or not to.strip():
                problem = "the contact has no address (`to`)"
            elif method == "email":
                shape = email_problem(to.strip())
                problem = f"{to!r} is not a valid email: {shape}" if shape else None
            else:
                problem = phone_problem(to)
        contacts.rows.append(
            {
                "q_id": text(contact.get("id")) or _placeholder("contacts", i),
                "q_name": f"{method}:{to}",
                "id": text(contact.get("id")),
                "user_id": user_id,
                "dangling": snap.dangling("user", user_id),
                "method": _label(method),
                "value_problem": problem,
            }
        )
    contacts.checks = [
        Check(
            "contact.id_present",
            gxe.ExpectColumnValuesToNotBeNull(column="id"),
            lambda r: "contact has no id",
        ),
        Check(
            "contact.method_known",
            gxe.ExpectColumnValuesToBeInSet(column="method", value_set=sorted(CONTACT_KINDS)),
            lambda r: f"contact method {r['method']!r} is not one of {', '.join(CONTACT_KINDS)}",
        ),
        Check(
            "contact.value_valid",
            gxe.ExpectColumnValuesToBeNull(column="value_problem"),
            lambda r: f"{r['method']} contact: {r['value_problem']}",
        ),
        Check(
            "contact.user_resolvable",
            gxe.ExpectColumnValuesToBeNull(column="dangling"),
            lambda r: f"contact belongs to user {r['user_id']}, who is not in the snapshot",
        ),
    ]
    return [contacts]


def _team_frames(snap: _Snapshot) -> list[Frame]:
    """Teams, and their members' users."""
    teams = Frame("teams", EntityType.TEAM)
    members = Frame("team_members", EntityType.TEAM_MEMBER)
    for i, team in enumerate(snap.teams):
        team_id = text(team.get("id"))
        teams.rows.append(
            {
                "q_id": team_id or _placeholder("teams", i),
                "q_name": text(team.get("name")) or "",
                "id": team_id,
                "name": text(team.get("name")),
            }
        )
        for member in as_list(team.get("members")):
            member_user = as_mapping(as_mapping(member).get("user"))
            member_id = snap.user_id(member_user)
            shown = _shown(member_user, member_id)
            members.rows.append(
                {
                    "q_id": f"{team_id}:{member_id}",
                    "q_name": f"{team.get('name')}: {member_user.get('username')}",
                    "dangling": snap.dangling("user", member_id),
                    "ref_text": f"member {shown}",
                }
            )
    teams.checks = [
        *_identity_checks("team", "team", named=True),
    ]
    members.checks = [_resolvable_check("team_member.user_resolvable", "a user")]
    return [teams, members]


def _schedule_frames(snap: _Snapshot) -> list[Frame]:
    """Schedules, their rotations, time restrictions and participants."""
    _, gxe = _gx()
    schedules = Frame("schedules", EntityType.SCHEDULE)
    rotations = Frame(
        "rotations", EntityType.ROTATION, numeric=("length",), instants=("start_at", "end_at")
    )
    restrictions = Frame(
        "time_restrictions",
        EntityType.ROTATION,
        numeric=("start_hour", "start_min", "end_hour", "end_min"),
    )
    participants = Frame("rotation_participants", EntityType.ROTATION)
    for i, schedule in enumerate(snap.schedules):
        schedule_id = text(schedule.get("id"))
        owner = text(as_mapping(schedule.get("ownerTeam")).get("id"))
        schedules.rows.append(
            {
                "q_id": schedule_id or _placeholder("schedules", i),
                "q_name": text(schedule.get("name")) or "",
                "id": schedule_id,
                "name": text(schedule.get("name")),
                "zone": snap.zone(schedule.get("timezone")),
                "dangling": snap.dangling("team", owner) if owner else None,
                "ref_text": f"owner team {owner}",
            }
        )
        for j, rotation in enumerate(as_list(schedule.get("rotations"))):
            rotation = as_mapping(rotation)
            rotation_id = text(rotation.get("id"))
            q_id = rotation_id or f"<schedule {schedule_id} rotation {j} without id>"
            q_name = f"{schedule.get('name')} / {rotation.get('name') or j}"
            length, _ = _whole(rotation.get("length"), default=1)
            start, start_problem = _instant(rotation.get("startDate"))
            end, end_problem = (
                (None, None)
                if rotation.get("endDate") is None
                else _instant(rotation.get("endDate"))
            )
            rotations.rows.append(
                {
                    "q_id": q_id,
                    "q_name": q_name,
                    "id": rotation_id,
                    "type": _label(rotation.get("type")),
                    "length": length,
                    "length_raw": rotation.get("length"),
                    "start_at": start,
                    "end_at": end,
                    "start_problem": start_problem,
                    "end_problem": end_problem,
                }
            )
            restrictions.rows.extend(
                _restriction_rows(q_id, q_name, rotation.get("timeRestriction"))
            )
            for k, participant in enumerate(as_list(rotation.get("participants"))):
                participant = as_mapping(participant)
                kind = participant.get("type")
                ref_id = (
                    snap.user_id(participant) if kind == "user" else text(participant.get("id"))
                )
                shown = _shown(participant, ref_id)
                participants.rows.append(
                    {
                        "q_id": q_id,
                        "q_name": q_name,
                        "type": _label(kind),
                        "dangling": None if kind == "none" else snap.dangling(str(kind), ref_id),
                        "ref_text": f"participant {k + 1} ({kind} {shown})",
                    }
                )
    schedules.checks = [
        *_identity_checks("schedule", "schedule", named=True),
        Check(
            "schedule.time_zone_present",
            gxe.ExpectColumnValuesToNotBeNull(column="zone"),
            lambda r: "schedule has no time zone",
        ),
        Check(
            "schedule.time_zone_resolvable",
            gxe.ExpectColumnValuesToBeInSet(
                column="zone",
                value_set=snap.resolvable(r["zone"] for r in schedules.rows if r["zone"]),
            ),
            snap.zone_reason,
        ),
        _resolvable_check("schedule.owner_team_resolvable", "a team"),
    ]
    rotations.checks = [
        *_identity_checks("rotation", "rotation"),
        Check(
            "rotation.type_known",
            gxe.ExpectColumnValuesToBeInSet(column="type", value_set=sorted(TURN_UNITS)),
            lambda r: f"rotation type {r['type']!r} is not hourly, daily or weekly",
        ),
        Check(
            "rotation.length_whole",
            gxe.ExpectColumnValuesToNotBeNull(column="length"),
            lambda r: f"length {r['length_raw']!r} is not a whole number",
        ),
        Check(
            "rotation.length_positive",
            gxe.ExpectColumnValuesToBeBetween(column="length", min_value=1),
            lambda r: f"length {_number(r['length'])} is less than 1",
        ),
        *_window_checks("rotation"),
    ]

    def where(row: Row) -> str:
        return f"time restriction {row['where']}"

    restrictions.checks = [
        Check(
            "rotation.restriction_type_known",
            gxe.ExpectColumnValuesToBeInSet(column="type", value_set=list(RESTRICTION_TYPES)),
            lambda r: (
                f"time restriction type {r['type']!r} is not one of {', '.join(RESTRICTION_TYPES)}"
            ),
        ),
        Check(
            "rotation.restriction_shape",
            gxe.ExpectColumnValuesToBeNull(column="problem"),
            lambda r: f"{where(r)}: {r['problem']}",
        ),
        Check(
            "rotation.restriction_start_hour",
            gxe.ExpectColumnValuesToBeBetween(column="start_hour", min_value=0, max_value=23),
            lambda r: f"{where(r)}: startHour {_number(r['start_hour'])} is outside 0-23",
        ),
        Check(
            "rotation.restriction_end_hour",
            gxe.ExpectColumnValuesToBeBetween(column="end_hour", min_value=0, max_value=24),
            lambda r: f"{where(r)}: endHour {_number(r['end_hour'])} is outside 0-24",
        ),
        Check(
            "rotation.restriction_end_at_24",
            gxe.ExpectColumnValuesToBeNull(column="end_24_problem"),
            lambda r: f"{where(r)}: {r['end_24_problem']}",
        ),
        Check(
            "rotation.restriction_start_minute",
            gxe.ExpectColumnValuesToBeBetween(column="start_min", min_value=0, max_value=59),
            lambda r: f"{where(r)}: startMin {_number(r['start_min'])} is outside 0-59",
        ),
        Check(
            "rotation.restriction_end_minute",
            gxe.ExpectColumnValuesToBeBetween(column="end_min", min_value=0, max_value=59),
            lambda r: f"{where(r)}: endMin {_number(r['end_min'])} is outside 0-59",
        ),
        Check(
            "rotation.restriction_start_day",
            gxe.ExpectColumnValuesToBeInSet(column="start_day", value_set=list(WEEKDAYS)),
            lambda r: f"{where(r)}: startDay {r['start_day']!r} is not a weekday name",
        ),
        Check(
            "rotation.restriction_end_day",
            gxe.ExpectColumnValuesToBeInSet(column="end_day", value_set=list(WEEKDAYS)),
            lambda r: f"{where(r)}: endDay {r['end_day']!r} is not a weekday name",
        ),
    ]
    participants.checks = [
        Check(
            "rotation.participant_type_known",
            gxe.ExpectColumnValuesToBeInSet(column="type", value_set=sorted(PARTICIPANT_TYPES)),
            lambda r: f"{r['ref_text']}: type {r['type']!r} is not user, team, escalation or none",
        ),
        _resolvable_check("rotation.participant_resolvable", "a user, team or escalation"),
    ]
    return [schedules, rotations, restrictions, participants]


def _override_frames(snap: _Snapshot) -> list[Frame]:
    """Overrides: their schedule, user, and dates."""
    _, gxe = _gx()
    overrides = Frame("overrides", EntityType.OVERRIDE, instants=("start_at", "end_at"))
    for schedule_id, items in as_mapping(snap.raw.get("overrides")).items():
        for override in as_list(items):
            override = as_mapping(override)
            alias = text(override.get("alias"))
            assignee = override.get("user")
            kind = as_mapping(assignee).get("type") if assignee is not None else None
            ref_id = (
                snap.user_id(as_mapping(assignee))
                if kind == "user"
                else text(as_mapping(assignee).get("id"))
            )
            start, start_problem = _instant(override.get("startDate"))
            end, end_problem = _instant(override.get("endDate"))
            shown = _shown(as_mapping(assignee), ref_id)
            overrides.rows.append(
                {
                    "q_id": f"{schedule_id}:{alias}",
                    "q_name": alias or "",
                    "alias": alias,
                    "schedule_dangling": snap.dangling("schedule", str(schedule_id)),
                    "user_type": _label(kind),
                    "dangling": None if kind == "none" else snap.dangling(str(kind), ref_id),
                    "ref_text": f"override {kind} {shown}",
                    "start_at": start,
                    "end_at": end,
                    "start_problem": start_problem,
                    "end_problem": end_problem,
                }
            )
    overrides.checks = [
        Check(
            "override.alias_present",
            gxe.ExpectColumnValuesToNotBeNull(column="alias"),
            lambda r: "override has no alias",
        ),
        Check(
            "override.schedule_resolvable",
            gxe.ExpectColumnValuesToBeNull(column="schedule_dangling"),
            lambda r: f"override belongs to {r['schedule_dangling']}, which is not in the snapshot",
        ),
        Check(
            "override.user_type_known",
            gxe.ExpectColumnValuesToBeInSet(
                column="user_type", value_set=sorted(PARTICIPANT_TYPES)
            ),
            lambda r: (
                f"override user type {r['user_type']!r} is not user, team, escalation or none"
            ),
        ),
        _resolvable_check("override.user_resolvable", "a user, team or escalation"),
        *_window_checks("override"),
    ]
    return [overrides]


def _escalation_frames(snap: _Snapshot) -> list[Frame]:
    """Escalations and their rules (condition, notifyType, recipient, delay)."""
    _, gxe = _gx()
    escalations = Frame("escalations", EntityType.ESCALATION_POLICY)
    rules = Frame("escalation_rules", EntityType.ESCALATION_POLICY, numeric=("delay_amount",))
    for i, escalation in enumerate(snap.escalations):
        escalation_id = text(escalation.get("id"))
        q_id = escalation_id or _placeholder("escalations", i)
        owner = text(as_mapping(escalation.get("ownerTeam")).get("id"))
        escalations.rows.append(
            {
                "q_id": q_id,
                "q_name": text(escalation.get("name")) or "",
                "id": escalation_id,
                "name": text(escalation.get("name")),
                "dangling": snap.dangling("team", owner) if owner else None,
                "ref_text": f"owner team {owner}",
                "repeat_problem": _repeat_problem(escalation.get("repeat")),
            }
        )
        for k, rule in enumerate(as_list(escalation.get("rules"))):
            rule = as_mapping(rule)
            recipient = as_mapping(rule.get("recipient"))
            kind = recipient.get("type")
            ref_id = snap.user_id(recipient) if kind == "user" else text(recipient.get("id"))
            delay = rule.get("delay")
            delay = {"timeAmount": delay} if isinstance(delay, int | float) else as_mapping(delay)
            amount, _ = _whole(delay.get("timeAmount"), default=0)
            unit = delay.get("timeUnit") or "minutes"
            shown = _shown(recipient, ref_id)
            rules.rows.append(
                {
                    "q_id": q_id,
                    "q_name": text(escalation.get("name")) or "",
                    "rule": k + 1,
                    "condition": _label(rule.get("condition") or "if-not-acked"),
                    "notify_type": _label(rule.get("notifyType") or "default"),
                    "recipient_type": _label(kind),
                    "dangling": snap.dangling(str(kind), ref_id)
                    if isinstance(kind, str) and kind in RECIPIENT_TYPES
                    else None,
                    "ref_text": f"rule {k + 1} recipient ({kind} {shown})",
                    "delay_unit": _label(unit.lower() if isinstance(unit, str) else unit),
                    "delay_amount": amount,
                    "delay_raw": delay.get("timeAmount"),
                }
            )
    escalations.checks = [
        *_identity_checks("escalation", "escalation", named=True),
        _resolvable_check("escalation.owner_team_resolvable", "a team"),
        Check(
            "escalation.repeat_sane",
            gxe.ExpectColumnValuesToBeNull(column="repeat_problem"),
            lambda r: f"repeat: {r['repeat_problem']}",
        ),
    ]
    rules.checks = [
        Check(
            "escalation.rule_condition_known",
            gxe.ExpectColumnValuesToBeInSet(column="condition", value_set=sorted(CONDITIONS)),
            lambda r: (
                f"rule {r['rule']}: condition {r['condition']!r} is not if-not-acked or "
                "if-not-closed"
            ),
        ),
        Check(
            "escalation.rule_notify_type_known",
            gxe.ExpectColumnValuesToBeInSet(column="notify_type", value_set=list(NOTIFY_TYPES)),
            lambda r: (
                f"rule {r['rule']}: notifyType {r['notify_type']!r} is not one of "
                f"{', '.join(NOTIFY_TYPES)}"
            ),
        ),
        Check(
            "escalation.rule_recipient_type_known",
            gxe.ExpectColumnValuesToBeInSet(
                column="recipient_type", value_set=sorted(RECIPIENT_TYPES)
            ),
            lambda r: (
                f"{r['ref_text']}: type {r['recipient_type']!r} is not user, team or schedule"
            ),
        ),
        _resolvable_check("escalation.rule_recipient_resolvable", "a user, team or schedule"),
        Check(
            "escalation.rule_delay_unit_known",
            gxe.ExpectColumnValuesToBeInSet(column="delay_unit", value_set=sorted(DELAY_UNITS)),
            lambda r: (
                f"rule {r['rule']}: delay unit {r['delay_unit']!r} is not one of "
                f"{', '.join(DELAY_UNITS)}"
            ),
        ),
        Check(
            "escalation.rule_delay_whole",
            gxe.ExpectColumnValuesToNotBeNull(column="delay_amount"),
            lambda r: f"rule {r['rule']}: delay {r['delay_raw']!r} is not a whole number",
        ),
        Check(
            "escalation.rule_delay_non_negative",
            gxe.ExpectColumnValuesToBeBetween(column="delay_amount", min_value=0),
            lambda r: f"rule {r['rule']}: delay {_number(r['delay_amount'])} is negative",
        ),
    ]
    return [escalations, rules]


def _service_frames(snap: _Snapshot) -> list[Frame]:
    """Services and their owner team."""
    services = Frame("services", EntityType.SERVICE)
    for i, service in enumerate(snap.services):
        owner = text(service.get("teamId"))
        services.rows.append(
            {
                "q_id": text(service.get("id")) or _placeholder("services", i),
                "q_name": text(service.get("name")) or "",
                "id": text(service.get("id")),
                "name": text(service.get("name")),
                "dangling": snap.dangling("team", owner) if owner else None,
                "ref_text": f"owner team (teamId) {owner}",
            }
        )
    services.checks = [
        *_identity_checks("service", "service", named=True),
        _resolvable_check("service.owner_team_resolvable", "a team"),
    ]
    return [services]


def _restriction_rows(q_id: str, q_name: str, time_restriction: Any) -> list[Row]:
    """One row per restriction interval of a rotation (none when it has no restriction)."""
    if time_restriction is None:
        return []
    tr = as_mapping(time_restriction)
    kind = tr.get("type")
    base = {"q_id": q_id, "q_name": q_name, "type": _label(kind)}
    if kind == "time-of-day":
        items, weekly = [tr.get("restriction")], False
    elif kind == "weekday-and-time-of-day":
        items, weekly = as_list(tr.get("restrictions")), True
    else:
        return [{**base, "where": "", "problem": None}]
    if not items or not isinstance(items[0], Mapping):
        shape = "`restrictions` (a non-empty list)" if weekly else "`restriction` (an object)"
        return [{**base, "where": "", "problem": f"{kind} needs {shape}"}]
    rows = []
    for n, item in enumerate(items, start=1):
        item = as_mapping(item)
        row: Row = {**base, "where": f"{n}" if weekly else "(time-of-day)"}
        problems = []
        for key, column in (
            ("startHour", "start_hour"),
            ("startMin", "start_min"),
            ("endHour", "end_hour"),
            ("endMin", "end_min"),
        ):
            row[column], problem = _whole(item.get(key), default=0)
            if problem:
                problems.append(f"{key}: {problem}")
        row["problem"] = "; ".join(problems) or None
        row["end_24_problem"] = (
            f"endHour 24 needs endMin 0, not {row['end_min']}"
            if row["end_hour"] == 24 and row["end_min"] not in (0, None)
            else None
        )
        for key, column in (("startDay", "start_day"), ("endDay", "end_day")):
            day = item.get(key)
            row[column] = (
                (day.strip().lower() if isinstance(day, str) else _label(day)) if weekly else None
            )
        rows.append(row)
    return rows


def _repeat_problem(repeat: Any) -> str | None:
    if repeat is None:
        return None
    if not isinstance(repeat, Mapping):
        return f"{repeat!r} is not an object"
    for key in ("count", "waitInterval"):
        value, problem = _whole(repeat.get(key), default=0)
        if problem:
            return f"{key}: {problem}"
        if value is not None and value < 0:
            return f"{key} {value} is negative"
    return None


# --- running GX ----------------------------------------------------------------------------------


def _quiet_context() -> Any:
    gx, _ = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def run_frames(frames: Iterable[Frame]) -> tuple[dict[str, Any], list[tuple[Frame, Check, Row]]]:
    """Run each non-empty frame's suite in one ephemeral context; return the GX results and the
    failing (frame, check, row) triples."""
    gx, _ = _gx()
    context = _quiet_context()
    source = context.data_sources.add_pandas("snapshot")
    results: dict[str, Any] = {}
    failures: list[tuple[Frame, Check, Row]] = []
    for frame in frames:
        if not frame.rows:
            continue
        df = frame.dataframe()
        batch = source.add_dataframe_asset(frame.name).add_batch_definition_whole_dataframe(
            frame.name
        )
        for check in frame.checks:
            check.expectation.meta = {"rule": check.rule}
        suite = context.suites.add(
            gx.ExpectationSuite(name=frame.name, expectations=[c.expectation for c in frame.checks])
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=frame.name, data=batch, suite=suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": df},
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
        )
        results[frame.name] = result.to_json_dict()
        by_rule = {check.rule: check for check in frame.checks}
        for outcome in result.results:
            check = by_rule[outcome.expectation_config.meta["rule"]]
            if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                # A check that could not run is a bug here, not bad data: say so loudly.
                log.error("GX check %s errored: %s", check.rule, outcome.exception_info)
            for index in outcome.result.get("unexpected_index_list") or []:
                failures.append((frame, check, frame.rows[int(index)]))
    return results, failures


# --- the report ------------------------------------------------------------------------------


def validate_snapshot(
    raw: Mapping[str, Any], *, max_quarantine_share: float = 0.2
) -> QualityReport:
    """Validate a raw OpsGenie snapshot; the report holds the quarantine and the GX results."""
    started = clock.perf_counter()
    frames, zones = build_frames(raw)
    gx_results, failures = run_frames(frames)

    reasons: dict[tuple[EntityType, str, str], tuple[str, list[str]]] = {}
    for frame, check, row in failures:
        key = (frame.entity_type, row["q_id"], check.rule)
        _, found = reasons.setdefault(key, (row["q_name"], []))
        reason = check.reason(row)
        if reason not in found:
            found.append(reason)
    quarantine = [
        QuarantineItem(
            entity_type=kind, source_id=source_id, name=name, rule=rule, reason="; ".join(found)
        )
        for (kind, source_id, rule), (name, found) in reasons.items()
    ]

    conversions = []
    by_name = {frame.name: frame for frame in frames}
    for name, kind in (("users", EntityType.PERSON), ("schedules", EntityType.SCHEDULE)):
        for row in by_name[name].rows:
            resolved = zones.get(row["zone"]) if row["zone"] else None
            if (
                resolved is not None
                and not isinstance(resolved, UnknownTimeZone)
                and resolved.kind != "iana"
            ):
                conversions.append(
                    {
                        "entity_type": kind.value,
                        "source_id": row["q_id"],
                        "raw": resolved.raw,
                        "canonical": resolved.canonical,
                        "kind": resolved.kind,
                    }
                )

    summary = _summary(frames, gx_results, quarantine, max_quarantine_share)
    summary["duration_seconds"] = round(clock.perf_counter() - started, 3)
    return QualityReport(
        quarantine=quarantine,
        summary=summary,
        gx_results=gx_results,
        timezone_conversions=conversions,
    )


MAIN_FRAMES = (
    "users",
    "contacts",
    "teams",
    "team_members",
    "schedules",
    "rotations",
    "overrides",
    "escalations",
    "services",
)


def _summary(
    frames: list[Frame],
    gx_results: Mapping[str, Any],
    quarantine: list[QuarantineItem],
    max_share: float,
) -> dict[str, Any]:
    rows_checked = {f.entity_type.value: len(f.rows) for f in frames if f.name in MAIN_FRAMES}
    quarantined_ids: dict[str, set[str]] = defaultdict(set)
    for item in quarantine:
        quarantined_ids[item.entity_type.value].add(item.source_id)
    rows_quarantined = {kind: len(ids) for kind, ids in sorted(quarantined_ids.items())}
    share = {
        kind: round(rows_quarantined.get(kind, 0) / total, 4)
        for kind, total in rows_checked.items()
        if total
    }
    evaluated = sum(r["statistics"]["evaluated_expectations"] for r in gx_results.values())
    successful = sum(r["statistics"]["successful_expectations"] for r in gx_results.values())
    errored = sorted(
        outcome["expectation_config"]["meta"]["rule"]
        for r in gx_results.values()
        for outcome in r["results"]
        if (outcome.get("exception_info") or {}).get("raised_exception")
    )
    return {
        "checks_run": evaluated,
        "checks_errored": errored,
        "checks_failed": evaluated - successful,
        "success_percent": round(100.0 * successful / evaluated, 2) if evaluated else 100.0,
        "rows_checked": rows_checked,
        "rows_quarantined": rows_quarantined,
        "quarantined_by_rule": dict(sorted(Counter(item.rule for item in quarantine).items())),
        "quarantine_share": share,
        "max_quarantine_share": max_share,
        "threshold_exceeded": sorted(kind for kind, s in share.items() if s > max_share),
        "suites": {
            name: {
                "rows": next(len(f.rows) for f in frames if f.name == name),
                "checks": r["statistics"]["evaluated_expectations"],
                "failed": r["statistics"]["unsuccessful_expectations"],
            }
            for name, r in gx_results.items()
        },
    }


def check_threshold(report: QualityReport, max_share: float) -> None:
    """Raise QuarantineThresholdExceeded when any entity type's quarantined share passes max_share,
    saying which types, which rules, how many and which ids to look at."""
    checked: Mapping[str, int] = report.summary.get("rows_checked", {})
    by_type: dict[str, list[QuarantineItem]] = defaultdict(list)
    for item in report.quarantine:
        by_type[item.entity_type.value].append(item)
    lines = []
    for kind, items in sorted(by_type.items()):
        total = checked.get(kind, 0)
        bad = len({item.source_id for item in items})
        if not total or bad / total <= max_share:
            continue
        rules: dict[str, list[str]] = defaultdict(list)
        for item in items:
            if item.source_id not in rules[item.rule]:
                rules[item.rule].append(item.source_id)
        detail = "; ".join(
            f"{rule}: {len(ids)} (e.g. {', '.join(ids[:3])})"
            for rule, ids in sorted(rules.items(), key=lambda kv: -len(kv[1]))
        )
        lines.append(f"- {kind}: {bad} of {total} quarantined ({bad / total:.1%}); {detail}")
    if lines:
        raise QuarantineThresholdExceeded(
            f"Validation quarantined more than {max_share:.0%} of some entity types:\n"
            + "\n".join(lines)
            + "\nLook at quality/quarantine.json for each record's rule and reason; fix the data "
            "in OpsGenie and re-run, or raise the max_quarantine_share param if this is expected."
        )
