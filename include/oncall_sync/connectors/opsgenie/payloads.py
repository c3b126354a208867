"""Pydantic models of the OpsGenie resources we read, one class per resource, with the API's own
field names as aliases. Unknown fields are ignored; the fields later stages rely on are checked.

The snapshot keeps the raw payloads; these models only decide whether a record is usable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Account(Payload):
    name: str
    user_count: int | None = Field(default=None, alias="userCount")


class Role(Payload):
    id: str | None = None
    name: str


class User(Payload):
    id: str = Field(min_length=1)
    username: str = Field(min_length=1)
    full_name: str = Field(default="", alias="fullName")
    role: Role | None = None
    time_zone: str | None = Field(default=None, alias="timeZone")
    locale: str | None = None
    blocked: bool = False
    verified: bool = False
    tags: list[str] = []
    created_at: datetime | None = Field(default=None, alias="createdAt")


class ContactStatus(Payload):
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, alias="disabledReason")


class Contact(Payload):
    """An item of GET /v2/users/{id}/contacts: the key is `method` (not `contactMethod`)."""

    id: str = Field(min_length=1)
    method: Literal["email", "sms", "voice", "mobile"]
    to: str = Field(min_length=1)
    status: ContactStatus = ContactStatus()
    apply_order: int | None = Field(default=None, alias="applyOrder")


class TeamRef(Payload):
    id: str = Field(min_length=1)
    name: str | None = None


class TeamListItem(Payload):
    """An item of GET /v2/teams: no members (quirk 7)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str | None = None


class UserRef(Payload):
    id: str = Field(min_length=1)
    username: str | None = None


class TeamMember(Payload):
    user: UserRef
    role: str = "user"


class Team(Payload):
    """GET /v2/teams/{id}: the team with its members; `role` of a member is a plain string."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str | None = None
    members: list[TeamMember] = []


class Participant(Payload):
    type: Literal["user", "team", "escalation", "none"]
    id: str | None = None
    username: str | None = None
    name: str | None = None


class DailyWindow(Payload):
    start_hour: int = Field(alias="startHour", ge=0, le=24)
    start_min: int = Field(alias="startMin", ge=0, le=59)
    end_hour: int = Field(alias="endHour", ge=0, le=24)
    end_min: int = Field(alias="endMin", ge=0, le=59)


class WeekdayWindow(DailyWindow):
    start_day: Weekday = Field(alias="startDay")
    end_day: Weekday = Field(alias="endDay")


class TimeRestriction(Payload):
    """`time-of-day` carries one `restriction`; `weekday-and-time-of-day` a `restrictions` list."""

    type: Literal["time-of-day", "weekday-and-time-of-day"]
    restriction: DailyWindow | None = None
    restrictions: list[WeekdayWindow] | None = None


class Rotation(Payload):
    id: str = Field(min_length=1)
    name: str | None = None
    start_date: datetime = Field(alias="startDate")
    end_date: datetime | None = Field(default=None, alias="endDate")
    type: Literal["daily", "weekly", "hourly"]
    length: int = Field(default=1, ge=1)
    participants: list[Participant] = []
    time_restriction: TimeRestriction | None = Field(default=None, alias="timeRestriction")


class Schedule(Payload):
    """An item of GET /v2/schedules?expand=rotation; `timezone` is passed through unchanged
    (it may be a Java short id, a legacy link or Africa/Monrovia standing for UTC)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str | None = None
    timezone: str | None = None
    enabled: bool = True
    owner_team: TeamRef | None = Field(default=None, alias="ownerTeam")
    rotations: list[Rotation] = []


class OverrideRotationRef(Payload):
    id: str | None = None
    name: str | None = None


class ScheduleOverride(Payload):
    alias: str = Field(min_length=1)
    user: Participant
    start_date: datetime = Field(alias="startDate")
    end_date: datetime = Field(alias="endDate")
    rotations: list[OverrideRotationRef] = []


class Duration(Payload):
    time_amount: int = Field(alias="timeAmount", ge=0)
    time_unit: str = Field(default="minutes", alias="timeUnit")


class Recipient(Payload):
    type: Literal["user", "team", "schedule"]
    id: str | None = None
    name: str | None = None
    username: str | None = None


class EscalationRule(Payload):
    condition: Literal["if-not-acked", "if-not-closed"] = "if-not-acked"
    notify_type: Literal["default", "next", "previous", "users", "admins", "all", "random"] = Field(
        default="default", alias="notifyType"
    )
    delay: Duration
    recipient: Recipient


class EscalationRepeat(Payload):
    wait_interval: int | None = Field(default=None, alias="waitInterval")
    count: int | None = None
    reset_recipient_states: bool | None = Field(default=None, alias="resetRecipientStates")
    close_alert_after_all: bool | None = Field(default=None, alias="closeAlertAfterAll")


class Escalation(Payload):
    """`repeat` may be absent (quirk 15)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str | None = None
    owner_team: TeamRef | None = Field(default=None, alias="ownerTeam")
    rules: list[EscalationRule] = []
    repeat: EscalationRepeat | None = None


class Service(Payload):
    """An item of GET /v1/services (services live on /v1, quirk 14)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str | None = None
    team_id: str | None = Field(default=None, alias="teamId")
    tags: list[str] = []
    is_external: bool | None = Field(default=None, alias="isExternal")
