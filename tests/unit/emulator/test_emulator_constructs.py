"""The generator's extended constructs: every construct and edge case from `tiny` up, seeded,
references that resolve, older entities unchanged, and the request count a complete read needs."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest

from oncall_sync.emulator.app import TEST_API_KEY, EmulatorConfig, create_app
from oncall_sync.emulator.constructs.base import ACTION_TYPES
from oncall_sync.emulator.generator import DEFAULT_NOW, Account, generate_account
from oncall_sync.emulator.timeline import parse_instant, resolve_zone
from tests.unit.emulator.extended_crawl import crawl, extended_minimum

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

OLDER = [
    "name",
    "plan",
    "users",
    "contacts",
    "teams",
    "schedules",
    "overrides",
    "escalations",
    "services",
]
# sha256 (first 16 hex digits) of the older entities' JSON, taken from the generator before the
# extended constructs existed (main at 9c67e77): tests and the benchmark pin these accounts.
PINNED = {"tiny": "0dfda8ca80b4380a", "demo": "ee2cb348fa99f6d2"}


@pytest.fixture(scope="module", params=["tiny", "demo"])
def account(request: pytest.FixtureRequest) -> Account:
    return generate_account(request.param)


def rules(account: Account) -> Iterator[dict[str, Any]]:
    for user_rules in account.notification_rules.values():
        yield from user_rules


def steps(account: Account) -> Iterator[dict[str, Any]]:
    for rule in rules(account):
        yield from rule["steps"]


def all_policies(account: Account) -> list[dict[str, Any]]:
    return account.global_policies + [p for ps in account.team_policies.values() for p in ps]


def older_digest(account: Account) -> str:
    fields = asdict(account)
    return hashlib.sha256(json.dumps({k: fields[k] for k in OLDER}).encode()).hexdigest()[:16]


# -- older entities, determinism -------------------------------------------------------------------


@pytest.mark.parametrize("size", ["tiny", "demo"])
def test_older_entities_are_byte_identical_to_before_the_constructs(size: str) -> None:
    assert older_digest(generate_account(size, 7)) == PINNED[size]


def test_same_seed_gives_the_same_constructs() -> None:
    assert asdict(generate_account("demo", 3)) == asdict(generate_account("demo", 3))


def test_another_seed_gives_other_constructs() -> None:
    one, two = generate_account("tiny", 3), generate_account("tiny", 4)
    assert one.integrations != two.integrations
    assert one.notification_rules != two.notification_rules


# -- notification rules ----------------------------------------------------------------------------


def test_every_user_has_the_default_rules(account: Account) -> None:
    for user in account.users:
        user_rules = account.notification_rules[user["id"]]
        default = next(r for r in user_rules if r["name"] == "New Alert")
        assert default["actionType"] == "create-alert" and default["enabled"]
        assert default["criteria"] == {"type": "match-all", "conditions": []}
        own_email = [
            c
            for c in account.contacts[user["id"]]
            if c["method"] == "email" and c["to"].casefold() == user["username"].casefold()
        ]
        if own_email:
            assert [
                (s["contact"]["method"], s["sendAfter"]["timeAmount"]) for s in default["steps"]
            ] == [("email", 0)]
        else:
            assert default["steps"] == []  # no contact left: a rule that reaches nobody
        assert any(r["name"] == "Renotified Alert" for r in user_rules)


def test_custom_rules_cover_restrictions_criteria_and_disabled_parts(account: Account) -> None:
    custom = [r for r in rules(account) if r["name"] not in ("New Alert", "Renotified Alert")]
    restrictions = [r["timeRestriction"] for r in custom if "timeRestriction" in r]
    day = [r["restriction"] for r in restrictions if r["type"] == "time-of-day"]
    week = [
        w for r in restrictions if r["type"] == "weekday-and-time-of-day" for w in r["restrictions"]
    ]
    assert any((d["endHour"], d["endMin"]) < (d["startHour"], d["startMin"]) for d in day)
    assert any(w["startDay"] == "friday" and w["endDay"] == "monday" for w in week)
    assert {r["criteria"]["type"] for r in custom} == {
        "match-all",
        "match-any-condition",
        "match-all-conditions",
    }
    assert any(not r["enabled"] for r in custom)
    assert any(not s["enabled"] for s in steps(account))
    assert any(r.get("repeat", {}).get("enabled") for r in custom)
    assert any(r["steps"] == [] for r in custom)
    assert {r["actionType"] for r in rules(account)} == set(ACTION_TYPES)  # all nine (OAS)
    schedule_rules = [r for r in rules(account) if r["actionType"].startswith("schedule-")]
    assert all(r["notificationTime"] for r in schedule_rules)
    assert {s["contact"]["method"] for s in steps(account)} == {"email", "sms", "voice", "mobile"}


def test_steps_use_the_users_own_contacts_disabled_ones_included(account: Account) -> None:
    disabled_used = False
    for user_id, user_rules in account.notification_rules.items():
        contacts = {(c["method"], c["to"]): c for c in account.contacts[user_id]}
        for rule in user_rules:
            for step in rule["steps"]:
                contact = contacts[(step["contact"]["method"], step["contact"]["to"])]
                disabled_used |= not contact["status"]["enabled"]
    assert disabled_used


# -- routing and forwarding ------------------------------------------------------------------------


def test_every_team_has_routing_rules_ending_with_its_default(account: Account) -> None:
    assert set(account.routing_rules) == {t["id"] for t in account.teams}
    escalations = {e["id"] for e in account.escalations}
    schedules = {s["id"] for s in account.schedules}
    notify = set()
    for team_rules in account.routing_rules.values():
        assert [r["isDefault"] for r in team_rules] == [False] * (len(team_rules) - 1) + [True]
        for rule in team_rules:
            target = rule["notify"]
            notify.add(target["type"])
            known = {"escalation": escalations, "schedule": schedules}.get(target["type"])
            assert known is None or target["id"] in known
    assert notify == {"escalation", "schedule", "none"}
    every = [r for rs in account.routing_rules.values() for r in rs]
    assert any("timezone" in r for r in every) and any(
        "timezone" not in r and not r["isDefault"] for r in every
    )
    kinds = {r["timeRestriction"]["type"] for r in every if "timeRestriction" in r}
    assert kinds == {"time-of-day", "weekday-and-time-of-day"}
    assert {r["criteria"]["type"] for r in every} == {
        "match-all",
        "match-any-condition",
        "match-all-conditions",
    }
    assert any(c.get("key") == "env" for r in every for c in r["criteria"]["conditions"])


def test_forwarding_rules_cover_time_people_and_dst(account: Account) -> None:
    forwards = account.forwarding_rules
    users = {u["id"]: u for u in account.users}
    now = DEFAULT_NOW
    spans = [(parse_instant(r["startDate"]), parse_instant(r["endDate"])) for r in forwards]
    assert all(start < end for start, end in spans)
    assert any(end <= now for _, end in spans)  # expired
    assert any(start <= now < end for start, end in spans)  # in force
    assert any(start > now for start, _ in spans)  # future
    assert all(r["fromUser"]["id"] in users for r in forwards)
    assert any(r["toUser"]["id"] not in users for r in forwards)  # a departed user
    assert any(users.get(r["toUser"]["id"], {}).get("blocked") for r in forwards)
    sources = {r["fromUser"]["id"] for r in forwards}
    assert any(r["toUser"]["id"] in sources for r in forwards)  # a chain
    for zone_id in ("America/New_York", "Europe/Berlin"):
        zone = resolve_zone(zone_id)
        assert any(
            start.astimezone(zone).utcoffset() != end.astimezone(zone).utcoffset()
            for start, end in spans
        ), f"no forwarding window spans a DST change of {zone_id}"
    hard = [r for r in forwards if not r["alias"].startswith("away-")]
    assert len({r["fromUser"]["id"] for r in hard}) == len(hard)  # no overlapping doubles


# -- integrations, heartbeats, maintenance, policies, roles, services ------------------------------


def test_integrations_of_several_types_with_actions_for_the_advanced(account: Account) -> None:
    integrations = account.integrations
    assert {"API", "Email", "Webhook", "Datadog", "AmazonSns", "Jira", "Prometheus", "Slack"} <= {
        i["type"] for i in integrations
    }
    assert sum(1 for i in integrations if i.get("isDefaultIntegration")) == 1
    assert any("ownerTeam" in i for i in integrations) and any(i["isGlobal"] for i in integrations)
    assert any(not i["enabled"] for i in integrations)
    advanced = {i["id"] for i in integrations if i.get("isAdvanced")}
    assert advanced and set(account.integration_actions) == advanced
    for actions in account.integration_actions.values():
        assert actions["create"] and actions["ignore"]
        orders = [a["order"] for kind in ("create", "ignore") for a in actions[kind]]
        assert len(orders) == len(set(orders))  # create and ignore never tie
    teams, escalations = {t["id"] for t in account.teams}, {e["id"] for e in account.escalations}
    schedules, users = {s["id"] for s in account.schedules}, {u["id"] for u in account.users}
    known = {"team": teams, "escalation": escalations, "schedule": schedules, "user": users}
    responders = [r for i in integrations for r in i.get("responders", [])]
    responders += [
        r
        for a in account.integration_actions.values()
        for c in a["create"]
        for r in c["responders"]
    ]
    assert {r["type"] for r in responders} == set(known)
    assert all(r["id"] in known[r["type"]] for r in responders)


def test_heartbeats_cover_states_and_owners(account: Account) -> None:
    beats = account.heartbeats
    assert any(b["enabled"] for b in beats) and any(not b["enabled"] for b in beats)
    assert any(b["expired"] for b in beats) and any("lastPingTime" not in b for b in beats)
    assert any("ownerTeam" in b for b in beats) and any("ownerTeam" not in b for b in beats)
    assert any(" " in b["name"] for b in beats)
    assert len({b["name"] for b in beats}) == len(beats)


def test_maintenance_past_active_future_cancelled_and_indefinite(account: Account) -> None:
    windows = account.maintenance
    assert {m["status"] for m in windows} == {"past", "active", "planned", "cancelled"}
    assert {m["time"]["type"] for m in windows} >= {"schedule", "indefinitely", "for-1-hour"}
    integrations = {i["id"] for i in account.integrations}
    policies = {p["id"] for p in all_policies(account)}
    for window in windows:
        start = parse_instant(window["time"]["startDate"])
        end = parse_instant(window["time"]["endDate"]) if "endDate" in window["time"] else None
        if window["status"] == "active":
            assert start <= DEFAULT_NOW and (end is None or end > DEFAULT_NOW)
        for rule in window["rules"]:
            entity = rule["entity"]
            if entity["type"] == "integration":
                assert entity["id"] in integrations and rule["state"] == "disabled"
            else:
                assert entity["id"] in policies and rule["state"] in ("enabled", "disabled")
    states = {r["state"] for m in windows for r in m["rules"] if r["entity"]["type"] == "policy"}
    assert states == {"enabled", "disabled"}


def test_policies_of_both_kinds_global_and_per_team(account: Account) -> None:
    glob = account.global_policies
    assert glob and all(p["type"] == "alert" and "teamId" not in p for p in glob)
    assert any(p["continue"] for p in glob) and any(not p["enabled"] for p in glob)
    assert any("timeRestrictions" in p for p in glob)
    team = [p for ps in account.team_policies.values() for p in ps]
    assert {p["type"] for p in team} == {"alert", "notification"}
    teams = {t["id"] for t in account.teams}
    assert all(p["teamId"] in teams for p in team)
    notification = [p for p in team if p["type"] == "notification"]
    effects = {
        key
        for p in notification
        for key in ("delayAction", "autoRestartAction", "autoCloseAction", "deduplicationAction")
        if key in p
    }
    assert effects == {"delayAction", "autoRestartAction", "autoCloseAction", "deduplicationAction"}
    assert any(p["suppress"] for p in notification)
    options = {p["delayAction"]["delayOption"] for p in notification if "delayAction" in p}
    assert {"for-duration", "next-time", "next-weekday", "next-monday"} <= options


def test_roles_custom_and_per_team(account: Account) -> None:
    assert {r["extendedRole"] for r in account.custom_roles} == {"user", "observer", "stakeholder"}
    assert set(account.team_roles) == {t["id"] for t in account.teams}
    assert any(account.team_roles.values()) and any(not r for r in account.team_roles.values())
    granted = {
        g["granted"] for roles in account.team_roles.values() for r in roles for g in r["rights"]
    }
    assert granted == {True, False}


def test_service_rules_templates_and_audiences(account: Account) -> None:
    services = {s["id"] for s in account.services}
    assert set(account.incident_rules) == services == set(account.audience_templates)
    assert any(account.incident_rules.values()) and any(
        not r for r in account.incident_rules.values()
    )
    kinds = {r["conditionMatchType"] for rs in account.incident_rules.values() for r in rs}
    assert {"match-all-conditions", "match-any-condition"} <= kinds
    assert any(account.service_incident_templates.values())
    assert account.incident_templates
    assert all(set(t["impactedServices"]) <= services for t in account.incident_templates)
    users, teams = {u["id"] for u in account.users}, {t["id"] for t in account.teams}
    for audience in account.audience_templates.values():
        assert set(audience["responder"]["teams"]) <= teams
        assert set(audience["responder"]["individuals"]) <= users


# -- counts and the request budget -----------------------------------------------------------------


def test_extract_counts_report_what_the_account_holds(account: Account) -> None:
    n = account.extract_counts()
    assert n.users == len(account.users) and n.teams == len(account.teams)
    assert n.notification_rules == sum(1 for _ in rules(account))
    assert n.policies == len(all_policies(account))
    assert n.integrations == len(account.integrations)
    assert n.advanced_integrations == len(account.integration_actions)
    assert (n.custom_roles, n.maintenance) == (len(account.custom_roles), len(account.maintenance))
    assert (n.services, n.incident_templates) == (
        len(account.services),
        len(account.incident_templates),
    )


def test_a_complete_read_takes_the_documented_number_of_requests(account: Account) -> None:
    """The minimal crawl reads every construct exactly as the account holds it, with exactly the
    requests docs/emulator.md counts."""
    app = create_app(account, EmulatorConfig(rate_limits_enabled=False))
    client = TestClient(app, headers={"Authorization": f"GenieKey {TEST_API_KEY}"})
    found = crawl(
        client,
        [u["id"] for u in account.users],
        [t["id"] for t in account.teams],
        [s["id"] for s in account.services],
    )
    assert app.calls.total == extended_minimum(account.extract_counts())
    assert app.calls.state_changing() == []
    for user in account.users:
        for rule in account.notification_rules[user["id"]]:
            assert found[f"/v2/users/{user['id']}/notification-rules/{rule['id']}"] == rule
    for integration in account.integrations:
        served = found[f"/v2/integrations/{integration['id']}"]
        assert served == (422 if integration["type"] == "Slack" else integration)
    got = [v for k, v in found.items() if k.startswith("/v1/maintenance/")]
    assert got == account.maintenance
    templates = [
        t
        for k, v in found.items()
        if k.startswith("/v1/incident-templates")
        for t in v["incidentTemplates"]
    ]
    assert templates == account.incident_templates


def test_the_documented_counts_for_tiny_and_demo() -> None:
    """docs/emulator.md quotes these; the formula is the reference's 11.3 (2I: actions read for
    every integration) and the tighter one (actions only for advanced ones)."""
    quoted = {"tiny": (116, 109), "demo": (854, 842)}
    for size, (reference, tight) in quoted.items():
        n = generate_account(size).extract_counts()
        assert extended_minimum(n, actions_for_every_integration=True) == reference
        assert extended_minimum(n) == tight


def test_large_builds_every_construct_in_proportion() -> None:
    large = generate_account("large")
    n = large.extract_counts()
    assert n.users == 10_000 and 2 * n.users <= n.notification_rules <= 3 * n.users
    assert n.incident_templates > 100  # the account templates need a second page
    assert n.integrations > n.teams // 3
    assert len(large.maintenance) > 100 and len(large.forwarding_rules) > 100
