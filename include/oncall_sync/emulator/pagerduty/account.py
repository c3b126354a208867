"""One PagerDuty account as the emulator holds it: every object in its full API form, references
made from it on demand, and the list of every secret the account's API answers carry.

Objects are stored as `GET /<type>/{id}` returns them without `include[]` (references inside);
children the API serves apart (contact methods, notification rules, members with roles,
overrides, integrations) are stored by parent id. Instants are ISO strings in the owning
schedule's zone, as PagerDuty writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Payload = dict[str, Any]
Region = Literal["us", "eu"]

API_HOSTS: dict[str, str] = {
    "us": "https://api.pagerduty.com",
    "eu": "https://api.eu.pagerduty.com",
}
# Every secret value the generator writes starts with this, so a leak search can find them.
SECRET_MARK = "pdtestsecret"


@dataclass
class Account:
    """A generated PagerDuty account (see generator.py); the emulator serves it as it is."""

    subdomain: str
    region: Region
    now: datetime
    time_zone: str  # the account's zone: the default rendering zone of account-key callers
    abilities: list[str] = field(default_factory=list)
    users: list[Payload] = field(default_factory=list)
    contact_methods: dict[str, list[Payload]] = field(default_factory=dict)
    notification_rules: dict[str, list[Payload]] = field(default_factory=dict)
    handoff_rules: dict[str, list[Payload]] = field(default_factory=dict)
    teams: list[Payload] = field(default_factory=list)
    members: dict[str, list[Payload]] = field(default_factory=dict)
    schedules: list[Payload] = field(default_factory=list)
    overrides: dict[str, list[Payload]] = field(default_factory=dict)
    escalation_policies: list[Payload] = field(default_factory=list)
    # rule id -> "round_robin" | "assign_to_everyone"; served only behind its include.
    assignment_strategies: dict[str, str] = field(default_factory=dict)
    services: list[Payload] = field(default_factory=list)
    integrations: dict[str, list[Payload]] = field(default_factory=dict)
    v3_schedules: list[Payload] = field(default_factory=list)
    extensions: list[Payload] = field(default_factory=list)
    webhook_subscriptions: list[Payload] = field(default_factory=list)
    # People referenced by schedules, overrides and policies who are no longer in the account.
    deleted_users: list[Payload] = field(default_factory=list)
    deleted_schedules: list[Payload] = field(default_factory=list)
    # Calendar feed URLs (bearer credentials) per user and schedule id.
    calendar_urls: dict[str, Payload] = field(default_factory=dict)

    @property
    def api_host(self) -> str:
        return API_HOSTS[self.region]

    @property
    def web_host(self) -> str:
        # The EU form <subdomain>.eu.pagerduty.com is UNCONFIRMED (reference §1.1).
        suffix = ".eu.pagerduty.com" if self.region == "eu" else ".pagerduty.com"
        return f"https://{self.subdomain}{suffix}"


def reference(obj: Payload) -> Payload:
    """The `<type>_reference` form of a full object: id, type, summary, self, html_url."""
    kind = str(obj.get("type", ""))
    return {
        "id": obj.get("id"),
        "type": kind if kind.endswith("_reference") else f"{kind}_reference",
        "summary": obj.get("summary"),
        "self": obj.get("self"),
        "html_url": obj.get("html_url"),
    }


@dataclass(frozen=True)
class Secret:
    """One credential an API answer can carry: where it sits and its value."""

    where: str
    value: str


def account_secrets(account: Account) -> list[Secret]:
    """Every secret the account's API answers can carry: integration keys and e-mail addresses,
    legacy service keys, extension endpoint URLs and their config values, webhook subscription
    URLs, and calendar feed URLs. Later tests search staging, the store and logs for each."""
    found: list[Secret] = []

    def add(where: str, value: Any) -> None:
        if isinstance(value, str) and SECRET_MARK in value:
            found.append(Secret(where, value))

    for service in account.services:
        add(f"services/{service['id']}.service_key", service.get("service_key"))
        for integration in account.integrations.get(service["id"], []):
            base = f"services/{service['id']}/integrations/{integration['id']}"
            add(f"{base}.integration_key", integration.get("integration_key"))
            add(f"{base}.integration_email", integration.get("integration_email"))
    for extension in account.extensions:
        add(f"extensions/{extension['id']}.endpoint_url", extension.get("endpoint_url"))
        for name, value in sorted((extension.get("config") or {}).items()):
            add(f"extensions/{extension['id']}.config.{name}", value)
    for subscription in account.webhook_subscriptions:
        url = (subscription.get("delivery_method") or {}).get("url")
        add(f"webhook_subscriptions/{subscription['id']}.delivery_method.url", url)
    for owner, urls in sorted(account.calendar_urls.items()):
        for name, value in sorted(urls.items()):
            add(f"calendar/{owner}.{name}", value)
    return found


def secret_values(account: Account) -> frozenset[str]:
    """Just the values of `account_secrets`, as the OpsGenie emulator's `secret_values` gives
    them, so a leak search treats both sources alike."""
    return frozenset(s.value for s in account_secrets(account))
