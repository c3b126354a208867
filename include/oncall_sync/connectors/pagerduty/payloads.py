"""Pydantic models of the PagerDuty REST API (v2) resources we read, one class per resource, with
the API's own field names (`self` is `self_url` in Python, aliased to `self`).

Decisions (what a lossless, element-by-element extract needs):
- Nothing is dropped: unknown fields are kept (`extra="allow"`, in `model_extra`).
- Only identity is strict: an object without an `id` is not that object. Every other field is
  optional and `Lenient`: a value that fails its type (a string turn length, a weekday of 9) is
  kept as an `Invalid` holding the raw value and the reasons, and its parent still validates. So
  an odd contact method never rejects its user, nor an odd restriction its layer, nor an odd
  layer its schedule. `invalid_parts(model)` lists every `Invalid` with its element path, for the
  findings of the quality stage.
- Enumerations the API may grow (roles, contact types, urgencies, statuses) are plain strings;
  whether a value is supported is for mapping to say, not for parsing to refuse. A contact
  method of an unknown type is a plain `ContactMethod`, a target of an unknown type a
  `Reference`.
- References and full objects share a field (`include[]` swaps one for the other): a `type`
  ending in `_reference` makes a `Reference`, anything else the full model.
- Credentials the API returns are `SecretStr` (integration keys and e-mails, legacy service
  keys, calendar feed URLs, extension endpoint URLs, webhook URLs); `SECRET_FIELDS` names every
  field that holds one (an extension's `config` too, a free-form object), so the extract can
  drop them before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

T = TypeVar("T")


class Invalid(BaseModel):
    """A value that did not fit its field: kept as it came, with the reasons."""

    model_config = ConfigDict(frozen=True)

    value: Any
    errors: tuple[str, ...]


def _keep_invalid(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if isinstance(value, Invalid):
        return value
    try:
        return handler(value)
    except ValidationError as error:
        # The union's own `Invalid` branch always fails too; it says nothing about the value.
        reasons = tuple(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
            for e in error.errors()
            if e["loc"][:1] != ("Invalid",)
        )
        return Invalid(value=value, errors=reasons)


# A field whose odd value is kept as `Invalid` instead of rejecting the object around it.
Lenient = Annotated[T | Invalid, WrapValidator(_keep_invalid)]
Text = Lenient[str | None]
Flag = Lenient[bool | None]
Count = Lenient[int | None]
Instant = Lenient[datetime | None]
Secret = Lenient[SecretStr | None]


class Payload(BaseModel):
    """Every PagerDuty payload: unknown fields kept, frozen, Python names or API names accepted."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Resource(Payload):
    """The fields every PagerDuty object and reference has (DEV-REF)."""

    id: str = Field(min_length=1)
    type: Text = None
    summary: Text = None
    self_url: Text = Field(default=None, alias="self")
    html_url: Text = None


class Reference(Resource):
    """`<type>_reference`: only the five common fields."""


def _reference_or_object(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "reference" if isinstance(kind, str) and kind.endswith("_reference") else "object"


# A field holding either a reference or, with the matching include, the full object.
RefOr = Annotated[
    Annotated[Reference, Tag("reference")] | Annotated[T, Tag("object")],
    Discriminator(_reference_or_object),
]


# -- errors and paging -----------------------------------------------------------------------------


class ErrorDetail(Payload):
    """`error` of an error answer; `errors` comes as a list, one string or a field -> list map."""

    code: Count = None
    message: Text = None
    errors: Lenient[list[str] | str | dict[str, list[str]] | None] = None

    def details(self) -> list[str]:
        """Every detail as one flat list of strings, whatever shape `errors` came in."""
        raw = self.errors
        if isinstance(raw, str):
            return [raw]
        if isinstance(raw, dict):
            return [f"{name}: {m}" for name, messages in raw.items() for m in messages]
        if isinstance(raw, list):
            return list(raw)
        return []


class ErrorResponse(Payload):
    """An error answer; `error` may also be a plain list of strings (go-pagerduty #478)."""

    error: Lenient[ErrorDetail | list[str] | None] = None


class Page(Payload):
    """The classic paging fields of a list answer (the items sit under the resource's plural)."""

    limit: Count = None
    offset: Count = None
    more: Flag = None
    total: Count = None


class Abilities(Payload):
    abilities: list[Lenient[str]] = []


# -- users -----------------------------------------------------------------------------------------


class ContactMethod(Resource):
    """Any contact method; the subclasses add their type's fields. Unknown types stay this."""

    label: Text = None
    address: Text = None
    enabled: Flag = None


class EmailContactMethod(ContactMethod):
    send_short_email: Flag = None
    send_html_email: Flag = None


class PhoneContactMethod(ContactMethod):
    """`phone_contact_method`, `sms_contact_method` and `whatsapp_contact_method`; `address` is
    the number without `country_code`."""

    country_code: Count = None
    blacklisted: Flag = None


class PushContactMethod(ContactMethod):
    device_type: Text = None
    sounds: list[Lenient[dict[str, Any]]] = []
    created_at: Instant = None
    blacklisted: Flag = None


PHONE_TYPES = frozenset({"phone_contact_method", "sms_contact_method", "whatsapp_contact_method"})


def _contact_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if isinstance(kind, str) and kind.endswith("_reference"):
        return "reference"
    if kind == "email_contact_method":
        return "email"
    if kind in PHONE_TYPES:
        return "phone"
    if kind == "push_notification_contact_method":
        return "push"
    return "other"


AnyContactMethod = Annotated[
    Annotated[Reference, Tag("reference")]
    | Annotated[EmailContactMethod, Tag("email")]
    | Annotated[PhoneContactMethod, Tag("phone")]
    | Annotated[PushContactMethod, Tag("push")]
    | Annotated[ContactMethod, Tag("other")],
    Discriminator(_contact_kind),
]


class NotificationRule(Resource):
    """`start_delay_in_minutes` counts from the assignment: absolute per rule, not relative."""

    start_delay_in_minutes: Count = None
    urgency: Text = None
    contact_method: Lenient[AnyContactMethod | None] = None
    created_at: Instant = None


class HandoffNotificationRule(Resource):
    handoff_type: Text = None
    notify_advance_in_minutes: Count = None
    contact_method: Lenient[AnyContactMethod | None] = None


class Team(Resource):
    name: Text = None
    description: Text = None
    default_role: Text = None
    parent: Lenient[Reference | None] = None


class User(Resource):
    name: Text = None
    email: Text = None
    time_zone: Text = None  # IANA; null means the account's zone
    role: Text = None
    color: Text = None
    avatar_url: Text = None
    description: Text = None
    job_title: Text = None
    invitation_sent: Flag = None
    created_via_sso: Flag = None
    teams: list[Lenient[RefOr[Team]]] = []
    contact_methods: list[Lenient[AnyContactMethod]] = []
    notification_rules: list[Lenient[RefOr[NotificationRule]]] = []
    http_cal_url: Secret = None
    web_cal_url: Secret = None


class TeamMember(Payload):
    """An item of `GET /teams/{id}/members`: the only place a member's role is given."""

    user: Lenient[RefOr[User]]
    role: Text = None


# -- schedules -------------------------------------------------------------------------------------


class Restriction(Payload):
    """`daily_restriction` or `weekly_restriction` (ISO weekday 1 = Monday); wall-clock times
    in the rendering zone of the answer (the schedule's own zone on `GET /schedules/{id}`)."""

    type: Text = None
    start_time_of_day: Lenient[time | None] = None
    duration_seconds: Lenient[Annotated[int, Field(ge=0)] | None] = None
    start_day_of_week: Lenient[Annotated[int, Field(ge=1, le=7)] | None] = None


class LayerUser(Payload):
    """An item of a layer's `users`: the reference is wrapped (`{"user": {...}}`)."""

    user: Lenient[RefOr[User]]


class RenderedEntry(Payload):
    start: Instant = None
    end: Instant = None
    user: Lenient[RefOr[User] | None] = None


class ScheduleLayer(Payload):
    """One layer; the API lists them highest first, and keeps ended ones."""

    id: str = Field(min_length=1)
    name: Text = None
    start: Instant = None
    end: Instant = None
    rotation_virtual_start: Instant = None
    rotation_turn_length_seconds: Lenient[Annotated[int, Field(gt=0)] | None] = None
    users: list[Lenient[LayerUser]] = []
    restrictions: list[Lenient[Restriction]] = []
    rendered_schedule_entries: list[Lenient[RenderedEntry]] = []
    rendered_coverage_percentage: Lenient[float | None] = None


class SubSchedule(Payload):
    """`overrides_subschedule` and `final_schedule`."""

    name: Text = None
    rendered_schedule_entries: list[Lenient[RenderedEntry]] = []
    rendered_coverage_percentage: Lenient[float | None] = None


class Schedule(Resource):
    name: Text = None
    description: Text = None
    time_zone: Text = None  # IANA, or a Rails display name in old answers
    schedule_layers: list[Lenient[ScheduleLayer]] = []
    overrides_subschedule: Lenient[SubSchedule | None] = None
    final_schedule: Lenient[SubSchedule | None] = None
    escalation_policies: list[Lenient[Reference]] = []
    users: list[Lenient[Reference]] = []
    teams: list[Lenient[RefOr[Team]]] = []
    next_oncall_for_user: Lenient[RenderedEntry | None] = None
    http_cal_url: Secret = None
    web_cal_url: Secret = None


class Override(Payload):
    """An item of `GET /schedules/{id}/overrides`: schedule-wide, never tied to a layer."""

    id: str = Field(min_length=1)
    start: Instant = None
    end: Instant = None
    user: Lenient[RefOr[User] | None] = None


class V3Schedule(Resource):
    """A shift-based schedule, listed only to be reported as not extracted."""

    name: Text = None
    time_zone: Text = None


# -- escalation policies ---------------------------------------------------------------------------


class AssignmentStrategy(Payload):
    type: Text = None


def _target_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("user", "schedule") else "reference"


Target = Annotated[
    Annotated[Reference, Tag("reference")]
    | Annotated[User, Tag("user")]
    | Annotated[Schedule, Tag("schedule")],
    Discriminator(_target_kind),
]


class EscalationRule(Payload):
    """`escalation_delay_in_minutes` runs from the moment this rule is reached (relative)."""

    id: str = Field(min_length=1)
    escalation_delay_in_minutes: Count = None
    targets: list[Lenient[Target]] = []
    escalation_rule_assignment_strategy: Lenient[str | AssignmentStrategy | None] = None


class EscalationPolicy(Resource):
    name: Text = None
    description: Text = None
    num_loops: Count = None
    on_call_handoff_notifications: Text = None
    escalation_rules: list[Lenient[EscalationRule]] = []
    services: list[Lenient[Reference]] = []
    teams: list[Lenient[RefOr[Team]]] = []


# -- services --------------------------------------------------------------------------------------


class Integration(Resource):
    name: Text = None
    service: Lenient[Reference | None] = None
    vendor: Lenient[Reference | None] = None
    created_at: Instant = None
    integration_key: Secret = None
    integration_email: Secret = None


class UrgencyRule(Payload):
    type: Text = None
    urgency: Text = None


class IncidentUrgencyRule(UrgencyRule):
    during_support_hours: Lenient[UrgencyRule | None] = None
    outside_support_hours: Lenient[UrgencyRule | None] = None


class SupportHours(Payload):
    type: Text = None
    time_zone: Text = None
    days_of_week: list[Lenient[Annotated[int, Field(ge=1, le=7)]]] = []
    start_time: Lenient[time | None] = None
    end_time: Lenient[time | None] = None


class ScheduledAction(Payload):
    type: Text = None
    at: Lenient[dict[str, Any] | None] = None
    to_urgency: Text = None


class Service(Resource):
    name: Text = None
    description: Text = None
    status: Text = None
    escalation_policy: Lenient[RefOr[EscalationPolicy] | None] = None
    teams: list[Lenient[RefOr[Team]]] = []
    integrations: list[Lenient[RefOr[Integration]]] = []
    incident_urgency_rule: Lenient[IncidentUrgencyRule | None] = None
    support_hours: Lenient[SupportHours | None] = None
    scheduled_actions: list[Lenient[ScheduledAction]] = []
    auto_resolve_timeout: Count = None
    acknowledgement_timeout: Count = None
    created_at: Instant = None
    last_incident_timestamp: Instant = None
    service_key: Secret = None  # legacy ingestion key


# -- /oncalls and the rest of the inventory ------------------------------------------------------


class Oncall(Payload):
    """An item of `GET /oncalls`; `start`/`end` null: always on call (a direct user target)."""

    user: Lenient[RefOr[User] | None] = None
    schedule: Lenient[RefOr[Schedule] | None] = None
    escalation_policy: Lenient[RefOr[EscalationPolicy] | None] = None
    escalation_level: Count = None
    start: Instant = None
    end: Instant = None


class Extension(Resource):
    name: Text = None
    endpoint_url: Secret = None
    extension_schema: Lenient[Reference | None] = None
    extension_objects: list[Lenient[RefOr[Service]]] = []
    config: Lenient[dict[str, Any] | None] = None  # free-form; may embed credentials
    temporarily_disabled: Flag = None


class DeliveryMethod(Payload):
    type: Text = None
    url: Secret = None
    custom_headers: list[Lenient[dict[str, Any]]] = []


class WebhookSubscription(Payload):
    id: str = Field(min_length=1)
    type: Text = None
    active: Flag = None
    description: Text = None
    delivery_method: Lenient[DeliveryMethod | None] = None
    events: list[Lenient[str]] = []
    filter: Lenient[dict[str, Any] | None] = None


# Every field that holds a credential, per model (by API name): never staged, stored or logged.
SECRET_FIELDS: dict[type[BaseModel], frozenset[str]] = {
    User: frozenset({"http_cal_url", "web_cal_url"}),
    Schedule: frozenset({"http_cal_url", "web_cal_url"}),
    Integration: frozenset({"integration_key", "integration_email"}),
    Service: frozenset({"service_key"}),
    Extension: frozenset({"endpoint_url", "config"}),
    DeliveryMethod: frozenset({"url"}),
}


def invalid_parts(model: BaseModel, path: str = "") -> Iterator[tuple[str, Invalid]]:
    """Every `Invalid` inside `model`, with its element path (`schedule_layers.0.restrictions.1.
    start_day_of_week`), depth first in field order."""

    def walk(value: Any, where: str) -> Iterator[tuple[str, Invalid]]:
        if isinstance(value, Invalid):
            yield where, value
        elif isinstance(value, BaseModel):
            yield from invalid_parts(value, where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, f"{where}.{i}" if where else str(i))

    for name, info in type(model).model_fields.items():
        key = info.alias or name
        yield from walk(getattr(model, name), f"{path}.{key}" if path else key)
