"""PagerDuty endpoints about paging and routing: escalation policies, services and their
integrations, extensions and webhook subscriptions, with `include[]` where the API offers it.

Decisions:
- `include[]=targets` swaps user and schedule references for the objects (a schedule as a list
  item without layers); references to deleted users or schedules and `schedule_v3_reference`
  targets stay references.
- `include[]=escalation_rule_assignment_strategies` adds each rule's
  `escalation_rule_assignment_strategy`, a string or `{"type": ...}` per
  `assignment_strategy_form` (which one PagerDuty sends is UNCONFIRMED), or answers 403 when the
  account is not entitled (`assignment_strategies_entitled`).
- `user_ids[]` on policies keeps those with one of the users as a direct target.
- Services carry `integrations` as references; `include[]=integrations` returns the full objects
  with their `integration_key` / `integration_email` (secrets, account.account_secrets). A few
  services carry a legacy `service_key` on the service itself.
- Extensions keep `endpoint_url` and `config` as stored (both may embed credentials); webhook
  subscriptions return `delivery_method.url` and redact custom header values (null).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oncall_sync.emulator.pagerduty.account import Payload
from oncall_sync.emulator.pagerduty.calls import (
    ApiError,
    Call,
    Reply,
    found,
    invalid,
    paged,
)
from oncall_sync.emulator.pagerduty.schedules import schedule_payload

if TYPE_CHECKING:
    from oncall_sync.emulator.pagerduty.app import PagerDutyApp

SORTS = ("name", "name:asc", "name:desc")


def _sorted(call: Call, items: list[Payload]) -> list[Payload]:
    sort_by = call.one("sort_by")
    if not sort_by:
        return items
    if sort_by not in SORTS:
        raise invalid(f"sort_by must be one of {', '.join(SORTS)}, not {sort_by!r}", "sort_by")
    return sorted(
        items, key=lambda o: str(o.get("name", "")).casefold(), reverse=sort_by == "name:desc"
    )


def _named(call: Call, items: list[Payload]) -> list[Payload]:
    query = (call.one("query") or "").casefold()
    if query:
        items = [o for o in items if query in str(o.get("name", "")).casefold()]
    team_ids = set(call.many("team_ids"))
    if team_ids:
        items = [o for o in items if any(t["id"] in team_ids for t in o.get("teams") or [])]
    return items


# -- escalation policies ---------------------------------------------------------------------------


def policy_payload(app: PagerDutyApp, policy: Payload, includes: set[str], call: Call) -> Payload:
    index = app.index
    strategies = "escalation_rule_assignment_strategies" in includes
    if strategies and not app.config.assignment_strategies_entitled:
        raise ApiError(
            403, 2010, ["Round robin escalation rules are not available on the account's plan"]
        )
    rules = []
    for rule in policy["escalation_rules"]:
        out = dict(rule)
        if "targets" in includes:
            out["targets"] = [_target(app, t, call) for t in rule["targets"]]
        if strategies:
            strategy = app.account.assignment_strategies.get(rule["id"], "assign_to_everyone")
            out["escalation_rule_assignment_strategy"] = (
                strategy if app.config.assignment_strategy_form == "string" else {"type": strategy}
            )
        rules.append(out)
    result = {**policy, "escalation_rules": rules}
    if "services" in includes:
        result["services"] = [dict(index.services.get(s["id"], s)) for s in policy["services"]]
    if "teams" in includes:
        result["teams"] = [dict(index.teams.get(t["id"], t)) for t in policy["teams"]]
    return result


def _target(app: PagerDutyApp, target: Payload, call: Call) -> Payload:
    kind, ident = target.get("type"), target.get("id", "")
    if kind == "user_reference" and ident in app.index.users:
        return dict(app.index.users[ident])
    if kind == "schedule_reference" and ident in app.index.schedules:
        plain = Call([], {}, call.key, call.now, call.config)
        return schedule_payload(app, app.index.schedules[ident], plain, single=False)
    return dict(target)


def list_policies(app: PagerDutyApp, call: Call) -> Reply:
    policies = _named(call, app.account.escalation_policies)
    user_ids = set(call.many("user_ids"))
    if user_ids:
        policies = [
            p
            for p in policies
            if any(
                t.get("type") == "user_reference" and t.get("id") in user_ids
                for rule in p["escalation_rules"]
                for t in rule["targets"]
            )
        ]
    page, body = paged(call, _sorted(call, policies), "escalation_policies")
    includes = call.includes()
    body["escalation_policies"] = [policy_payload(app, p, includes, call) for p in page]
    return Reply(body)


def get_policy(app: PagerDutyApp, call: Call) -> Reply:
    policy = found(app.index.policies, call.params[0])
    return Reply({"escalation_policy": policy_payload(app, policy, call.includes(), call)})


# -- services and integrations ---------------------------------------------------------------------


def service_payload(app: PagerDutyApp, service: Payload, includes: set[str]) -> Payload:
    index = app.index
    out = dict(service)
    if "escalation_policies" in includes:
        ref: Payload = service["escalation_policy"]
        out["escalation_policy"] = dict(index.policies.get(ref["id"]) or ref)
    if "teams" in includes:
        out["teams"] = [dict(index.teams.get(t["id"], t)) for t in service["teams"]]
    if "integrations" in includes:
        out["integrations"] = [dict(i) for i in app.account.integrations.get(service["id"], [])]
    return out


def list_services(app: PagerDutyApp, call: Call) -> Reply:
    services = _named(call, app.account.services)
    name = call.one("name")
    if name:
        services = [s for s in services if s["name"] == name]
    call.zone_name(app.account.time_zone)  # accepted and checked; instants stay as stored
    page, body = paged(call, _sorted(call, services), "services")
    includes = call.includes()
    body["services"] = [service_payload(app, s, includes) for s in page]
    return Reply(body)


def _service(app: PagerDutyApp, call: Call) -> Payload:
    return found(app.index.services, call.params[0])


def get_service(app: PagerDutyApp, call: Call) -> Reply:
    return Reply({"service": service_payload(app, _service(app, call), call.includes())})


def get_integration(app: PagerDutyApp, call: Call) -> Reply:
    service = _service(app, call)
    integrations = {i["id"]: i for i in app.account.integrations.get(service["id"], [])}
    return Reply({"integration": found(integrations, call.params[1])})


# -- extensions and webhook subscriptions ----------------------------------------------------------


def _extension_payload(app: PagerDutyApp, extension: Payload, includes: set[str]) -> Payload:
    out = dict(extension)
    if "extension_objects" in includes:
        out["extension_objects"] = [
            dict(app.index.services.get(o["id"], o)) for o in extension["extension_objects"]
        ]
    return out


def list_extensions(app: PagerDutyApp, call: Call) -> Reply:
    extensions = _named(call, app.account.extensions)
    object_id = call.one("extension_object_id")
    if object_id:
        extensions = [
            e for e in extensions if any(o["id"] == object_id for o in e["extension_objects"])
        ]
    page, body = paged(call, extensions, "extensions")
    includes = call.includes()
    body["extensions"] = [_extension_payload(app, e, includes) for e in page]
    return Reply(body)


def get_extension(app: PagerDutyApp, call: Call) -> Reply:
    extension = found(app.index.extensions, call.params[0])
    return Reply({"extension": _extension_payload(app, extension, call.includes())})


def list_webhook_subscriptions(app: PagerDutyApp, call: Call) -> Reply:
    subscriptions = app.account.webhook_subscriptions
    filter_type, filter_id = call.one("filter_type"), call.one("filter_id")
    if filter_type:
        if filter_type not in ("account", "service", "team"):
            raise invalid("filter_type must be account, service or team", "filter_type")
        subscriptions = [
            s
            for s in subscriptions
            if s["filter"]["type"] == f"{filter_type}_reference"
            and (not filter_id or s["filter"].get("id") == filter_id)
        ]
    _page, body = paged(call, subscriptions, "webhook_subscriptions")
    return Reply(body)


def get_webhook_subscription(app: PagerDutyApp, call: Call) -> Reply:
    return Reply({"webhook_subscription": found(app.index.webhooks, call.params[0])})
