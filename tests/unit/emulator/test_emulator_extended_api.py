"""The extended endpoints against reference/opsgenie-api-extended.md: list-vs-get shapes, wrapped
and paged lists, identifier types, errors, team keys, rate-limit domains, regions."""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import quote

import pytest

from oncall_sync.emulator.app import (
    TEST_API_KEY,
    TEST_EU_API_KEY,
    TEST_TEAM_API_KEY,
    EmulatorConfig,
    create_app,
)
from oncall_sync.emulator.generator import Account, generate_account
from oncall_sync.emulator.ratelimit import RateLimit, RateLimiter

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

AUTH = {"Authorization": f"GenieKey {TEST_API_KEY}"}
TEAM_AUTH = {"Authorization": f"GenieKey {TEST_TEAM_API_KEY}"}
NO_LIMITS = EmulatorConfig(rate_limits_enabled=False)


@pytest.fixture(scope="module")
def account() -> Account:
    return generate_account("tiny")


@pytest.fixture(scope="module")
def client(account: Account) -> TestClient:
    return TestClient(create_app(account, NO_LIMITS), headers=AUTH)


def data(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "paging" not in body or path.startswith("/v1/incident-templates")
    return body["data"]


def user_with_custom_rule(account: Account) -> dict[str, Any]:
    return next(u for u in account.users if len(account.notification_rules[u["id"]]) > 2)


# -- notification rules ----------------------------------------------------------------------------


def test_notification_rule_list_is_meta_only_and_get_has_steps(
    client: TestClient, account: Account
) -> None:
    user = user_with_custom_rule(account)
    listed = data(client, f"/v2/users/{user['id']}/notification-rules")
    rules = account.notification_rules[user["id"]]
    assert listed == [
        {k: r[k] for k in ("id", "name", "actionType", "order", "enabled")} for r in rules
    ]
    for rule in rules:
        full = data(client, f"/v2/users/{user['username']}/notification-rules/{rule['id']}")
        assert full == rule
        assert {"criteria", "steps"} <= set(full)
        steps = data(client, f"/v2/users/{user['id']}/notification-rules/{rule['id']}/steps")
        assert steps == full["steps"]  # the GET's inline steps are what /steps answers
        for step in steps:
            assert step["_parent"] == {"id": rule["id"], "name": rule["name"]}
            one = f"/v2/users/{user['id']}/notification-rules/{rule['id']}/steps/{step['id']}"
            assert data(client, one) == step


def test_notification_rule_order_counts_within_its_action_type(account: Account) -> None:
    for rules in account.notification_rules.values():
        by_type: dict[str, list[int]] = {}
        for rule in rules:
            by_type.setdefault(rule["actionType"], []).append(rule["order"])
        assert all(orders == list(range(len(orders))) for orders in by_type.values())


def test_send_after_only_on_create_and_assigned_rules(account: Account) -> None:
    steps = [
        (rule["actionType"], step)
        for rules in account.notification_rules.values()
        for rule in rules
        for step in rule["steps"]
    ]
    timed = {"create-alert", "assigned-alert"}
    assert all(("sendAfter" in step) == (kind in timed) for kind, step in steps)
    assert {kind for kind, _ in steps} >= timed | {"renotified-alert", "schedule-start"}


def test_unknown_rule_step_and_user_are_404(client: TestClient, account: Account) -> None:
    user = account.users[0]
    base = f"/v2/users/{user['id']}/notification-rules"
    assert client.get(f"{base}/no-such-rule").status_code == 404
    rule = account.notification_rules[user["id"]][0]
    assert client.get(f"{base}/{rule['id']}/steps/no-such-step").status_code == 404
    missing = client.get("/v2/users/nobody@example.com/notification-rules")
    assert missing.status_code == 404 and "No user exists" in missing.json()["message"]


# -- routing, team roles, forwarding ---------------------------------------------------------------


def test_routing_rules_are_full_in_the_list_with_the_default_last(
    client: TestClient, account: Account
) -> None:
    team = account.teams[0]
    listed = data(client, f"/v2/teams/{team['id']}/routing-rules")
    assert listed == account.routing_rules[team["id"]]
    assert [r["order"] for r in listed] == list(range(len(listed)))
    assert listed[-1]["isDefault"] and "timezone" not in listed[-1]
    assert not any(r["isDefault"] for r in listed[:-1])
    by_name = data(
        client,
        f"/v2/teams/{quote(team['name'], safe='')}/routing-rules/{listed[0]['id']}",
        teamIdentifierType="name",
    )
    assert by_name == listed[0]


def test_team_roles_are_full_in_the_list_and_found_by_name(
    client: TestClient, account: Account
) -> None:
    team = account.teams[0]
    roles = data(client, f"/v2/teams/{team['id']}/roles")
    assert roles == account.team_roles[team["id"]] and roles
    assert all(set(r) == {"id", "name", "rights"} for r in roles)
    role = roles[0]
    path = f"/v2/teams/{team['id']}/roles/{quote(role['name'], safe='')}"
    assert data(client, path, identifierType="name") == role
    assert data(client, f"/v2/teams/{account.teams[1]['id']}/roles") == []


def test_forwarding_rules_by_id_alias_and_user(client: TestClient, account: Account) -> None:
    listed = data(client, "/v2/forwarding-rules")
    assert listed == account.forwarding_rules
    rule = listed[0]
    assert set(rule) == {"id", "alias", "fromUser", "toUser", "startDate", "endDate"}
    assert data(client, f"/v2/forwarding-rules/{rule['id']}") == rule
    assert data(client, f"/v2/forwarding-rules/{rule['alias']}", identifierType="alias") == rule
    assert client.get(f"/v2/forwarding-rules/{rule['alias']}").status_code == 404  # id default
    bad = client.get(f"/v2/forwarding-rules/{rule['id']}", params={"identifierType": "name"})
    assert bad.status_code == 422
    own = data(client, f"/v2/users/{rule['fromUser']['username']}/forwarding-rules")
    assert rule in own and all(r["fromUser"]["id"] == rule["fromUser"]["id"] for r in own)


# -- integrations ----------------------------------------------------------------------------------


def test_integration_list_is_meta_with_team_id_only_for_team_owned(
    client: TestClient, account: Account
) -> None:
    listed = data(client, "/v2/integrations")
    assert [i["id"] for i in listed] == [i["id"] for i in account.integrations]
    for meta, full in zip(listed, account.integrations, strict=True):
        assert set(meta) <= {"id", "name", "enabled", "type", "teamId"}
        assert ("teamId" in meta) == ("ownerTeam" in full)
    only_api = data(client, "/v2/integrations", type="api")
    assert only_api and {i["type"] for i in only_api} == {"API"}
    team = account.teams[1]
    by_team = data(client, "/v2/integrations", teamName=team["name"])
    assert by_team == data(client, "/v2/integrations", teamId=team["id"])
    assert by_team and all(i["teamId"] == team["id"] for i in by_team)


def test_integration_get_is_discriminated_by_type(client: TestClient, account: Account) -> None:
    served: dict[str, Any] = {}
    for integration in account.integrations:  # the first of each type: Default API for API
        if integration["type"] != "Slack" and integration["type"] not in served:
            served[integration["type"]] = data(client, f"/v2/integrations/{integration['id']}")
    default = served["API"]
    assert default["isDefaultIntegration"] and default["isGlobal"] and "ownerTeam" not in default
    assert default["feature-type"] == "token-based" and default["apiKey"]
    email = served["Email"]
    assert email["feature-type"] == "email-based" and "apiKey" not in email
    assert email["emailAddress"] == f"{email['emailUsername']}@{account.name}.opsgenie.net"
    webhook = served["Webhook"]
    assert {"url", "headers", "alertFilter", "callback-type"} <= set(webhook)
    assert "feature-type" not in webhook  # outgoing only
    jira = served["Jira"]
    assert {"apiKey", "url", "jiraPassword", "callback-type"} <= set(jira)
    assert served["Jira"]["suppressNotifications"] is True
    assert served["AmazonSns"]["enabled"] is False
    for payload in served.values():
        assert {"id", "name", "type", "enabled", "isGlobal", "_readOnly"} <= set(payload)


def test_actions_have_five_lists_and_non_advanced_ones_are_refused(
    client: TestClient, account: Account
) -> None:
    advanced = next(i for i in account.integrations if i.get("isAdvanced"))
    actions = data(client, f"/v2/integrations/{advanced['id']}/actions")
    assert set(actions) == {"_parent", "create", "close", "acknowledge", "addNote", "ignore"}
    assert actions["_parent"]["id"] == advanced["id"]
    assert all(a["type"] == "create" and "filter" in a for a in actions["create"])
    assert all({"user", "note", "alias"} <= set(a) for a in actions["close"])
    plain = next(i for i in account.integrations if i.get("isAdvanced") is False)
    refused = client.get(f"/v2/integrations/{plain['id']}/actions")
    assert refused.status_code == 422 and "not an advanced integration" in refused.text


def test_unsupported_integration_is_listed_but_not_served(
    client: TestClient, account: Account
) -> None:
    slack = next(i for i in account.integrations if i["type"] == "Slack")
    assert slack["id"] in {i["id"] for i in data(client, "/v2/integrations")}
    assert client.get(f"/v2/integrations/{slack['id']}").status_code == 422
    assert client.get("/v2/integrations/no-such-id").status_code == 404


# -- heartbeats, maintenance -----------------------------------------------------------------------


def test_heartbeats_list_is_wrapped_and_names_are_identifiers(
    client: TestClient, account: Account
) -> None:
    listed = data(client, "/v2/heartbeats")
    assert set(listed) == {"heartbeats"} and listed["heartbeats"] == account.heartbeats
    spaced = next(b for b in account.heartbeats if " " in b["name"])
    assert data(client, f"/v2/heartbeats/{quote(spaced['name'])}") == spaced
    assert client.get("/v2/heartbeats/no-such-beat").status_code == 404


def test_maintenance_list_is_meta_filtered_by_type_and_get_has_rules(
    client: TestClient, account: Account
) -> None:
    every = data(client, "/v1/maintenance")
    assert all(set(m) == {"id", "status", "description", "time"} for m in every)
    assert len(every) == len(account.maintenance)
    assert {m["status"] for m in data(client, "/v1/maintenance", type="non-expired")} == {
        "active",
        "planned",
    }
    assert {m["status"] for m in data(client, "/v1/maintenance", type="past")} <= {
        "past",
        "cancelled",
    }
    assert client.get("/v1/maintenance", params={"type": "soon"}).status_code == 422
    for window in account.maintenance:
        assert data(client, f"/v1/maintenance/{window['id']}") == window
        assert window["rules"]


# -- policies and roles ----------------------------------------------------------------------------


def test_policies_are_listed_per_kind_and_scope_and_got_with_their_team(
    client: TestClient, account: Account
) -> None:
    global_alert = data(client, "/v2/policies/alert")
    assert [p["id"] for p in global_alert] == [p["id"] for p in account.global_policies]
    assert all(set(p) == {"id", "name", "type", "order", "enabled"} for p in global_alert)
    team = account.teams[0]
    team_alert = data(client, "/v2/policies/alert", teamId=team["id"])
    notification = data(client, "/v2/policies/notification", teamId=team["id"])
    policies = account.team_policies[team["id"]]
    assert [p["id"] for p in team_alert + notification] == [
        p["id"] for p in sorted(policies, key=lambda p: p["type"])
    ]
    assert [p["order"] for p in notification] == list(range(len(notification)))
    policy = notification[0]
    full = data(client, f"/v2/policies/{policy['id']}", teamId=team["id"])
    assert full["teamId"] == team["id"] and "timeRestrictions" in full
    assert client.get(f"/v2/policies/{policy['id']}").status_code == 404  # needs its teamId
    assert client.get("/v2/policies/notification").status_code == 422
    glob = global_alert[0]
    assert data(client, f"/v2/policies/{glob['id']}") == account.global_policies[0]


def test_custom_role_list_is_a_summary_and_get_has_rights(
    client: TestClient, account: Account
) -> None:
    listed = data(client, "/v2/roles")
    assert listed == [{"id": r["id"], "name": r["name"]} for r in account.custom_roles]
    role = account.custom_roles[0]
    assert data(client, f"/v2/roles/{role['id']}") == role
    by_name = data(client, f"/v2/roles/{quote(role['name'])}", identifierType="name")
    assert by_name == role and {"grantedRights", "disallowedRights", "extendedRole"} <= set(role)


# -- services and templates ------------------------------------------------------------------------


def test_service_incident_rules_templates_and_audience(
    client: TestClient, account: Account
) -> None:
    service = account.services[0]
    base = f"/v1/services/{service['id']}"
    rules = data(client, f"{base}/incident-rules")
    assert rules == account.incident_rules[service["id"]] and rules
    assert all(
        {"id", "conditionMatchType", "conditions", "incidentProperties"} <= set(r) for r in rules
    )
    templates = data(client, f"{base}/incident-templates")
    assert templates and set(templates[0]) == {"id", "name", "incidentProperties"}
    audience = data(client, f"{base}/audience-templates")
    assert set(audience) == {"responder", "stakeholder"}
    assert client.get(f"{base}/incident-rules/{rules[0]['id']}").status_code == 404  # no GET
    assert client.get("/v1/services/no-such/incident-rules").status_code == 404


def test_account_incident_templates_are_wrapped_and_paged(
    client: TestClient, account: Account
) -> None:
    first = client.get("/v1/incident-templates", params={"limit": 2}).json()
    assert list(first["data"]) == ["incidentTemplates"]
    assert first["data"]["incidentTemplates"] == account.incident_templates[:2]
    assert "prev" not in first["paging"] and "next" in first["paging"]
    collected, url = [], "/v1/incident-templates?limit=2"
    while url:
        body = client.get(url).json()
        collected += body["data"]["incidentTemplates"]
        url = body["paging"].get("next", "")
    assert collected == account.incident_templates
    default = client.get("/v1/incident-templates").json()
    assert "next" not in default["paging"]  # 20 by default: one page here


def test_service_constructs_follow_the_plan_gate_but_maintenance_does_not(account: Account) -> None:
    client = TestClient(create_app(account, EmulatorConfig(services_enabled=False)), headers=AUTH)
    assert client.get(f"/v1/services/{account.services[0]['id']}/incident-rules").status_code == 402
    assert client.get("/v1/maintenance").status_code == 200
    assert client.get("/v1/incident-templates").status_code == 200


# -- keys, regions, limits -------------------------------------------------------------------------


def test_team_key_reaches_only_its_team_and_nothing_account_wide(
    client: TestClient, account: Account
) -> None:
    own, other = account.teams[0], account.teams[1]

    def status(path: str, **params: Any) -> int:
        return client.get(path, params=params, headers=TEAM_AUTH).status_code

    assert status(f"/v2/teams/{own['id']}/routing-rules") == 200
    assert status(f"/v2/teams/{other['id']}/routing-rules") == 403
    assert status(f"/v2/teams/{other['id']}/roles") == 403
    assert status("/v2/policies/alert", teamId=own["id"]) == 200
    assert status("/v2/policies/notification", teamId=other["id"]) == 403
    for path in ("/v2/policies/alert", "/v2/forwarding-rules", "/v2/roles", "/v1/maintenance"):
        assert status(path) == 403, path
    assert status("/v1/incident-templates") == 403
    integrations = client.get("/v2/integrations", headers=TEAM_AUTH).json()["data"]
    assert integrations and all(i.get("teamId") == own["id"] for i in integrations)
    assert status("/v2/integrations", teamId=own["id"]) == 422
    foreign = next(i for i in account.integrations if "ownerTeam" not in i)
    assert status(f"/v2/integrations/{foreign['id']}") == 403
    beats = client.get("/v2/heartbeats", headers=TEAM_AUTH).json()["data"]["heartbeats"]
    assert beats and all(b["ownerTeam"]["id"] == own["id"] for b in beats)
    user = account.users[0]
    assert status(f"/v2/users/{user['id']}/notification-rules") == 200


def test_other_region_key_cannot_read_the_new_endpoints(client: TestClient) -> None:
    eu = {"Authorization": f"GenieKey {TEST_EU_API_KEY}"}
    for path in ("/v2/integrations", "/v2/heartbeats", "/v1/maintenance", "/v2/roles"):
        response = client.get(path, headers=eu)
        assert (
            response.status_code == 401 and response.json()["message"] == "Could not authenticate"
        )


def test_heartbeats_have_their_own_rate_limit_domain(account: Account) -> None:
    client = TestClient(create_app(account, EmulatorConfig()), headers=AUTH)
    limits = {
        "heartbeat": RateLimit(per_second=2, per_minute=100),
        "configuration": RateLimit(per_second=100, per_minute=1000),
    }
    client.app.limiter = RateLimiter(limits, clock=lambda: 0.0)  # type: ignore[attr-defined]
    assert [client.get("/v2/heartbeats").status_code for _ in range(3)] == [200, 200, 429]
    throttled = client.get("/v2/heartbeats/db-backup/ping")
    assert throttled.status_code == 429 and throttled.headers["X-RateLimit-Reason"] == "heartbeat"
    assert client.get("/v2/integrations").status_code == 200  # configuration is untouched
    assert client.get("/v2/forwarding-rules").status_code == 200


def test_the_new_endpoints_count_against_configuration(account: Account) -> None:
    client = TestClient(create_app(account, EmulatorConfig()), headers=AUTH)
    limits = {"configuration": RateLimit(per_second=1, per_minute=100)}
    client.app.limiter = RateLimiter(limits, clock=lambda: 0.0)  # type: ignore[attr-defined]
    assert client.get("/v2/roles").status_code == 200
    throttled = client.get(f"/v1/services/{account.services[0]['id']}/audience-templates")
    assert (
        throttled.status_code == 429 and throttled.headers["X-RateLimit-Reason"] == "configuration"
    )


def test_request_limits_name_the_heartbeat_domain(client: TestClient) -> None:
    domains = [d["domain"] for d in data(client, "/v2/request-limits/")["rateLimits"]]
    assert domains == ["configuration", "search", "schedule-oncalls", "heartbeat"]


def test_forwarding_timeline_shows_who_takes_over(client: TestClient, account: Account) -> None:
    """The timeline's `forwarding` expansion carries forwarding periods with `fromUser`."""
    rule = next(r for r in account.forwarding_rules if r["alias"] == "vacation-now")
    schedule = next(
        s
        for s in account.schedules
        if any(
            p.get("id") == rule["fromUser"]["id"] for r in s["rotations"] for p in r["participants"]
        )
    )
    found = []
    for day in ("2026-10-31", "2026-11-01", "2026-11-02"):
        timeline = data(
            client,
            f"/v2/schedules/{schedule['id']}/timeline",
            date=f"{day}T12:00:00Z",
            expand="forwarding",
            interval=1,
            intervalUnit="days",
        )
        for rotation in timeline["forwardingTimeline"]["rotations"]:
            found += rotation["periods"]
    assert found, "the forwarded user is on call at some point in those days"
    assert all(p["type"] == "forwarding" for p in found)
    assert {p["fromUser"] for p in found} == {rule["fromUser"]["username"]}
    assert {p["recipient"]["name"] for p in found} == {rule["toUser"]["username"]}
    assert all(rule["startDate"] <= p["startDate"] < p["endDate"] <= rule["endDate"] for p in found)
