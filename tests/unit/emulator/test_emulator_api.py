"""The emulator app against the reference: envelopes, paging, expand, identifiers, keys, limits."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import replace
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
from oncall_sync.emulator.generator import Account, generate_account, with_bad_records
from oncall_sync.emulator.ratelimit import RateLimit, RateLimiter

with warnings.catch_warnings():  # starlette would rather we used httpx2; httpx is what we ship
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


def client_for(account: Account, config: EmulatorConfig = NO_LIMITS) -> TestClient:
    return TestClient(create_app(account, config), headers=AUTH)


def with_users(account: Account, count: int) -> Account:
    users = [
        {**account.users[0], "id": str(uuid.UUID(int=n)), "username": f"user{n:04d}@example.com"}
        for n in range(count)
    ]
    return replace(account, users=users, contacts={u["id"]: [] for u in users})


# -- envelope and headers --------------------------------------------------------------------------


def test_success_envelope_and_headers(client: TestClient) -> None:
    response = client.get("/v2/account")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"data", "took", "requestId"}
    assert isinstance(body["took"], float)
    assert (
        response.headers["X-Request-Id"] == body["requestId"] == str(uuid.UUID(body["requestId"]))
    )
    assert float(response.headers["X-Response-Time"]) >= 0
    assert response.headers["X-RateLimit-State"] == "OK"
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert body["data"]["userCount"] == 12
    assert set(body["data"]["plan"]) == {"maxUserCount", "name", "isYearly"}


def test_unknown_path_has_no_handler(client: TestClient) -> None:
    response = client.get("/v2/alerts-that-do-not-exist")
    assert response.status_code == 404
    assert response.json()["message"] == "No handler found"
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"


def test_trailing_slash_is_accepted(client: TestClient) -> None:
    assert client.get("/v2/users/").json()["totalCount"] == 12
    assert client.get("/v2/request-limits/").status_code == 200


def test_writes_are_not_served(client: TestClient) -> None:
    assert client.post("/v2/teams", json={"name": "x"}).status_code == 405


# -- users and paging ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "page_sizes"), [(0, [0]), (1, [1]), (100, [100]), (101, [100, 1])]
)
def test_users_paging_at_the_edges(account: Account, count: int, page_sizes: list[int]) -> None:
    client = client_for(with_users(account, count))
    seen, url, sizes = [], "/v2/users", []
    while url:
        body = client.get(url).json()
        assert body["totalCount"] == count
        sizes.append(len(body["data"]))
        seen += [u["username"] for u in body["data"]]
        url = body["paging"].get("next", "")
    assert sizes == page_sizes
    assert seen == sorted(seen) and len(set(seen)) == count


def test_users_paging_links_follow_the_real_format(account: Account) -> None:
    client = client_for(with_users(account, 101))
    first = client.get("/v2/users")
    link = "http://testserver/v2/users?limit=100&offset={}&order=ASC&sort=username"
    assert first.json()["paging"] == {
        "next": link.format(100),
        "first": link.format(0),
        "last": link.format(100),
    }
    assert first.headers["X-Paging-Next"] == link.format(100)
    assert "X-Paging-Prev" not in first.headers
    second = client.get("/v2/users", params={"offset": 100}).json()
    assert second["paging"] == {
        "prev": link.format(0),
        "first": link.format(0),
        "last": link.format(100),
    }


def test_single_page_has_first_and_last_only(client: TestClient) -> None:
    paging = client.get("/v2/users").json()["paging"]
    assert set(paging) == {"first", "last"}


def test_users_limit_is_capped_at_100(account: Account) -> None:
    body = client_for(with_users(account, 150)).get("/v2/users", params={"limit": 500}).json()
    assert len(body["data"]) == 100
    assert "limit=100&offset=100" in body["paging"]["next"]


def test_users_sort_and_order(client: TestClient) -> None:
    body = client.get("/v2/users", params={"sort": "fullName", "order": "desc", "limit": 5}).json()
    names = [u["fullName"].casefold() for u in body["data"]]
    assert names == sorted(names, reverse=True)
    assert "order=DESC&sort=fullName" in body["paging"]["first"]


def test_bad_paging_parameters_are_422(client: TestClient) -> None:
    assert client.get("/v2/users", params={"limit": "ten"}).status_code == 422
    assert client.get("/v2/users", params={"sort": "shoeSize"}).status_code == 422


def test_user_by_id_or_username_with_contacts_expanded(
    client: TestClient, account: Account
) -> None:
    user = next(u for u in account.users if u["username"] != u["username"].lower())
    by_name = client.get(f"/v2/users/{user['username'].lower()}").json()["data"]
    assert by_name == user
    expanded = client.get(f"/v2/users/{user['id']}", params={"expand": "contact"}).json()["data"]
    contact = account.contacts[user["id"]][0]
    assert expanded["userContacts"][0] == {
        "id": contact["id"],
        "to": contact["to"],
        "contactMethod": contact["method"],
        "disabledReason": contact["status"]["disabledReason"],
        "enabled": contact["status"]["enabled"],
    }
    assert "userContacts" not in client.get(f"/v2/users/{user['id']}").json()["data"]


def test_contacts_endpoint_uses_method_and_apply_order(
    client: TestClient, account: Account
) -> None:
    user = account.users[0]
    assert (
        client.get(f"/v2/users/{user['id']}/contacts").json()["data"]
        == account.contacts[user["id"]]
    )
    assert client.get("/v2/users/nobody@example.com/contacts").status_code == 404


# -- teams, schedules, escalations, services --------------------------------------------------


def test_team_list_has_links_but_no_members(client: TestClient, account: Account) -> None:
    teams = client.get("/v2/teams").json()["data"]
    assert len(teams) == len(account.teams)
    assert all(set(t) == {"id", "name", "description", "links"} for t in teams)


def test_team_by_id_and_by_name_has_members(client: TestClient, account: Account) -> None:
    team = account.teams[0]
    by_id = client.get(f"/v2/teams/{team['id']}").json()["data"]
    by_name = client.get(
        f"/v2/teams/{quote(team['name'], safe='')}", params={"identifierType": "name"}
    )
    assert by_id == by_name.json()["data"]
    assert by_id["members"] == team["members"]
    assert (
        client.get(f"/v2/teams/{quote(team['name'], safe='')}").status_code == 404
    )  # id by default


def test_schedule_list_rotations_only_with_expand(client: TestClient, account: Account) -> None:
    plain = client.get("/v2/schedules").json()
    assert plain["expandable"] == ["rotation"]
    assert all(s["rotations"] == [] for s in plain["data"])
    expanded = client.get("/v2/schedules", params={"expand": "rotation"}).json()
    assert expanded["data"] == account.schedules
    assert "totalCount" not in expanded and "paging" not in expanded


def test_schedule_by_name_has_full_rotations(client: TestClient, account: Account) -> None:
    schedule = account.schedules[0]
    name = quote(schedule["name"], safe="")
    response = client.get(f"/v2/schedules/{name}", params={"identifierType": "name"})
    assert response.json()["data"] == schedule
    rotations = client.get(
        f"/v2/schedules/{name}/rotations", params={"scheduleIdentifierType": "name"}
    )
    assert rotations.json()["data"] == schedule["rotations"]


def test_overrides_are_listed_unpaginated(client: TestClient, account: Account) -> None:
    schedule_id, overrides = next(iter(account.overrides.items()))
    body = client.get(f"/v2/schedules/{schedule_id}/overrides").json()
    assert body["data"] == overrides and "paging" not in body


def test_escalations_list_and_get_by_name(client: TestClient, account: Account) -> None:
    assert client.get("/v2/escalations").json()["data"] == account.escalations
    escalation = account.escalations[-1]
    name = quote(escalation["name"], safe="")
    assert client.get(f"/v2/escalations/{name}?identifierType=name").json()["data"] == escalation


def test_services_are_paged_on_v1(client: TestClient, account: Account) -> None:
    first = client.get("/v1/services", params={"limit": 1}).json()
    assert first["data"] == account.services[:1]
    assert first["paging"]["next"].endswith("/v1/services?limit=1&offset=1")
    second = client.get(first["paging"]["next"]).json()
    assert second["data"] == account.services[1:2] and "next" not in second["paging"]
    assert (
        client.get(f"/v1/services/{account.services[0]['id']}").json()["data"]
        == account.services[0]
    )
    assert client.get("/v2/services").status_code == 404


# -- keys, regions, plans ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "GenieKey",
        f"Bearer {TEST_API_KEY}",
        f"GenieKey {uuid.UUID(int=1)}",
        f"GenieKey {TEST_EU_API_KEY}",
    ],
)
def test_missing_unknown_or_other_region_key_cannot_authenticate(
    client: TestClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = TestClient(client.app).get("/v2/account", headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Could not authenticate"
    assert set(response.json()) == {"message", "took", "requestId"}


def test_us_key_cannot_authenticate_on_an_eu_emulator(account: Account) -> None:
    eu = TestClient(create_app(account, EmulatorConfig(region="eu")))
    assert eu.get("/v2/account", headers=AUTH).status_code == 401
    eu_auth = {"Authorization": f"GenieKey {TEST_EU_API_KEY}"}
    assert eu.get("/v2/account", headers=eu_auth).status_code == 200


def test_malformed_key_is_422(client: TestClient) -> None:
    response = client.get("/v2/account", headers={"Authorization": "GenieKey not-a-uuid"})
    assert response.status_code == 422
    assert response.json()["message"] == "Key format is not valid!"


def test_team_key_sees_only_its_team(client: TestClient, account: Account) -> None:
    team_id = account.teams[0]["id"]
    schedules = client.get("/v2/schedules", headers=TEAM_AUTH).json()["data"]
    assert schedules and all(s["ownerTeam"]["id"] == team_id for s in schedules)
    own = schedules[0]["id"]
    assert client.get(f"/v2/schedules/{own}", headers=TEAM_AUTH).status_code == 200
    other = next(s for s in account.schedules if s.get("ownerTeam", {}).get("id") != team_id)
    denied = client.get(f"/v2/schedules/{other['id']}/overrides", headers=TEAM_AUTH)
    assert denied.status_code == 403
    assert denied.json()["code"] == 40301
    assert denied.json()["message"] == "Api key is not authorized to access the schedule"
    assert client.get(f"/v2/teams/{account.teams[1]['id']}", headers=TEAM_AUTH).status_code == 403
    team_less = next(e for e in account.escalations if "ownerTeam" not in e)
    assert client.get(f"/v2/escalations/{team_less['id']}", headers=TEAM_AUTH).status_code == 403
    assert client.get("/v2/request-limits/", headers=TEAM_AUTH).status_code == 403
    assert client.get("/v2/users", headers=TEAM_AUTH).status_code == 200


def test_team_key_gets_403_for_a_missing_schedule_global_key_404(client: TestClient) -> None:
    assert client.get("/v2/schedules/no-such", headers=TEAM_AUTH).status_code == 403
    assert client.get("/v2/schedules/no-such").status_code == 404


def test_services_off_the_plan_are_402(account: Account) -> None:
    client = client_for(account, EmulatorConfig(services_enabled=False))
    response = client.get("/v1/services")
    assert response.status_code == 402
    assert "plan" in response.json()["message"]
    assert client.get(f"/v1/services/{account.services[0]['id']}").status_code == 402


# -- rate limits ---------------------------------------------------------------------------------


def frozen_limits(client: TestClient, limits: dict[str, RateLimit]) -> None:
    """Replace the app's buckets with ones on a stopped clock, so no token refills mid-test."""
    client.app.limiter = RateLimiter(limits, clock=lambda: 0.0)  # type: ignore[attr-defined]


def test_per_second_bucket_answers_429_with_period_1(account: Account) -> None:
    client = client_for(account, EmulatorConfig())
    frozen_limits(client, {"configuration": RateLimit(per_second=2, per_minute=100)})
    statuses = [client.get("/v2/teams").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = client.get("/v2/teams")
    assert throttled.headers["X-RateLimit-Period-In-Sec"] == "1"
    assert throttled.json()["message"].startswith("You are making too many requests!")
    assert client.get("/v2/users").status_code == 200  # the search domain has its own bucket


def test_per_minute_bucket_answers_429_with_period_60(account: Account) -> None:
    client = client_for(account, EmulatorConfig())
    frozen_limits(client, {"search": RateLimit(per_second=100, per_minute=3)})
    statuses = [client.get("/v2/users").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/v2/users").headers["X-RateLimit-Period-In-Sec"] == "60"


def test_request_limits_report_the_configured_limits(account: Account) -> None:
    limits = {"configuration": RateLimit(per_second=5, per_minute=100)}
    client = client_for(account, EmulatorConfig(rate_limits=limits, rate_limit_scale=2))
    data: dict[str, Any] = client.get("/v2/request-limits/").json()["data"]
    assert data == {
        "rateLimits": [
            {
                "domain": "configuration",
                "limits": [
                    {"limit": 200, "periodInSeconds": 60},
                    {"limit": 10, "periodInSeconds": 1},
                ],
            }
        ]
    }


def test_bad_records_are_served_as_they_are(account: Account) -> None:
    bad = with_bad_records(account)
    client = client_for(bad)
    assert client.get("/v2/users").json()["totalCount"] == len(bad.users)
    schedule = bad.schedules[-1]
    served = client.get(f"/v2/schedules/{schedule['id']}").json()["data"]
    assert served["timezone"] == "Mars/Olympus_Mons"
    timeline = client.get(
        f"/v2/schedules/{schedule['id']}/timeline", params={"date": "2026-11-02T00:00:00Z"}
    )
    assert timeline.status_code == 200
    on_calls = client.get("/v2/schedules/on-calls", params={"date": "2026-11-02T09:00:00Z"})
    assert len(on_calls.json()["data"]) == len(bad.schedules)
