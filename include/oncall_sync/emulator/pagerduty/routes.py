"""The PagerDuty emulator's routes (path pattern, rate-limit operation, endpoint) and the lookups
by id the endpoints share. Unlisted paths answer 404 `{"error": {"message": "Not Found",
"code": 2100}}`, as PagerDuty does for what it does not know.
"""

from __future__ import annotations

from oncall_sync.emulator.pagerduty import inventory, people, schedules
from oncall_sync.emulator.pagerduty.account import Account, Payload
from oncall_sync.emulator.pagerduty.calls import Endpoint


class Index:
    """Objects by id, built once per app (the account is not edited while it is served)."""

    def __init__(self, account: Account) -> None:
        self.users = {u["id"]: u for u in account.users}
        self.teams = {t["id"]: t for t in account.teams}
        self.schedules = {s["id"]: s for s in account.schedules}
        self.policies = {p["id"]: p for p in account.escalation_policies}
        self.services = {s["id"]: s for s in account.services}
        self.v3_schedules = {s["id"]: s for s in account.v3_schedules}
        self.extensions = {e["id"]: e for e in account.extensions}
        self.webhooks = {w["id"]: w for w in account.webhook_subscriptions}
        self.contact_methods: dict[str, dict[str, Payload]] = {
            uid: {c["id"]: c for c in contacts} for uid, contacts in account.contact_methods.items()
        }
        self.notification_rules: dict[str, dict[str, Payload]] = {
            uid: {r["id"]: r for r in rules} for uid, rules in account.notification_rules.items()
        }


def _p(path: str) -> tuple[str, ...]:
    return tuple(path.split("/"))


# First match wins, so fixed segments ("users/me") come before wildcards ("users/*").
ROUTES: list[tuple[tuple[str, ...], str | None, Endpoint]] = [
    (_p("abilities"), None, people.list_abilities),
    (_p("abilities/*"), None, people.get_ability),
    (_p("users"), None, people.list_users),
    (_p("users/me"), None, people.get_me),
    (_p("users/*"), None, people.get_user),
    (_p("users/*/contact_methods"), None, people.list_contact_methods),
    (_p("users/*/contact_methods/*"), None, people.get_contact_method),
    (_p("users/*/notification_rules"), None, people.list_notification_rules),
    (_p("users/*/notification_rules/*"), None, people.get_notification_rule),
    (_p("users/*/oncall_handoff_notification_rules"), None, people.list_handoff_rules),
    (_p("teams"), None, people.list_teams),
    (_p("teams/*"), None, people.get_team),
    (_p("teams/*/members"), None, people.list_members),
    (_p("schedules"), None, schedules.list_schedules),
    (_p("schedules/*"), None, schedules.get_schedule),
    (_p("schedules/*/overrides"), None, schedules.list_overrides),
    (_p("schedules/*/users"), None, schedules.list_schedule_users),
    (_p("oncalls"), "oncalls", schedules.list_oncalls),
    (_p("v3/schedules"), None, schedules.list_v3_schedules),
    (_p("v3/schedules/*"), None, schedules.get_v3_schedule),
    (_p("v3/schedules/*/overrides"), None, schedules.list_v3_overrides),
    (_p("escalation_policies"), None, inventory.list_policies),
    (_p("escalation_policies/*"), None, inventory.get_policy),
    (_p("services"), None, inventory.list_services),
    (_p("services/*"), None, inventory.get_service),
    (_p("services/*/integrations/*"), None, inventory.get_integration),
    (_p("extensions"), None, inventory.list_extensions),
    (_p("extensions/*"), None, inventory.get_extension),
    (_p("webhook_subscriptions"), None, inventory.list_webhook_subscriptions),
    (_p("webhook_subscriptions/*"), None, inventory.get_webhook_subscription),
]
