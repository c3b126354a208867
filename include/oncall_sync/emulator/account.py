"""One generated OpsGenie account as the API returns it (raw payload dicts), and the counts that
size a complete extract of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Payload = dict[str, Any]


@dataclass
class Account:
    """One OpsGenie account: every entity as the API returns it (raw payload dicts).

    The fields after `services` are the constructs of reference/opsgenie-api-extended.md (full
    objects, as their GETs return them; `emulator.constructs` builds them, the app serves the
    list/get shapes from them). `time_zone` is the account's zone, which routing rules without a
    `timezone` and policies use; the API has no endpoint that returns it."""

    name: str
    plan: Payload
    users: list[Payload] = field(default_factory=list)
    contacts: dict[str, list[Payload]] = field(default_factory=dict)
    teams: list[Payload] = field(default_factory=list)
    schedules: list[Payload] = field(default_factory=list)
    overrides: dict[str, list[Payload]] = field(default_factory=dict)
    escalations: list[Payload] = field(default_factory=list)
    services: list[Payload] = field(default_factory=list)
    time_zone: str = "UTC"
    notification_rules: dict[str, list[Payload]] = field(default_factory=dict)  # by user id
    routing_rules: dict[str, list[Payload]] = field(default_factory=dict)  # by team id, in order
    forwarding_rules: list[Payload] = field(default_factory=list)
    integrations: list[Payload] = field(default_factory=list)
    integration_actions: dict[str, Payload] = field(default_factory=dict)  # advanced ones only
    heartbeats: list[Payload] = field(default_factory=list)
    maintenance: list[Payload] = field(default_factory=list)  # with their rules
    global_policies: list[Payload] = field(default_factory=list)  # alert policies, in order
    team_policies: dict[str, list[Payload]] = field(default_factory=dict)  # alert + notification
    custom_roles: list[Payload] = field(default_factory=list)
    team_roles: dict[str, list[Payload]] = field(default_factory=dict)
    incident_rules: dict[str, list[Payload]] = field(default_factory=dict)  # by service id
    service_incident_templates: dict[str, list[Payload]] = field(default_factory=dict)
    audience_templates: dict[str, Payload] = field(default_factory=dict)  # by service id
    incident_templates: list[Payload] = field(default_factory=list)  # account level

    def extract_counts(self) -> ExtractCounts:
        """The counts that decide how many requests a complete extract of the extended
        constructs needs (docs/emulator.md, "Request count"; reference section 11.3)."""
        integrations = [i for i in self.integrations if i["type"] not in UNSUPPORTED_INTEGRATIONS]
        return ExtractCounts(
            users=len(self.users),
            notification_rules=sum(len(r) for r in self.notification_rules.values()),
            teams=len(self.teams),
            policies=len(self.global_policies) + sum(len(p) for p in self.team_policies.values()),
            integrations=len(self.integrations),
            advanced_integrations=sum(1 for i in integrations if i.get("isAdvanced")),
            custom_roles=len(self.custom_roles),
            maintenance=len(self.maintenance),
            services=len(self.services),
            incident_templates=len(self.incident_templates),
        )


# Listed by /v2/integrations but not served by the Integration API (reference section 4.1).
UNSUPPORTED_INTEGRATIONS = frozenset({"Slack", "Zendesk", "IncomingCall"})


@dataclass(frozen=True)
class ExtractCounts:
    """What a complete extract of the extended constructs has to read, per kind (section 11.3):
    U users, R notification rules in all (one GET each), T teams, P policies (global alert, team
    alert and team notification; one GET each), I integrations (one GET and one actions list
    each), of which the advanced ones, C custom roles, M maintenance windows, S services and the
    account's incident templates (paged)."""

    users: int
    notification_rules: int
    teams: int
    policies: int
    integrations: int
    advanced_integrations: int
    custom_roles: int
    maintenance: int
    services: int
    incident_templates: int


def iso(moment: datetime) -> str:
    """OpsGenie's schedule-date format: UTC, seconds precision, literal Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(moment: datetime) -> str:
    """OpsGenie's timestamp format: UTC millis with trailing zeros trimmed (`...:32.54Z`)."""
    millis = f"{moment.microsecond // 1000:03d}".rstrip("0") or "0"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis}Z"
