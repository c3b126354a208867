"""The PagerDuty emulator against the reference: envelopes, auth and regions, paging with `more`
and the offset cap, includes, every endpoint's shape, error shapes."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from oncall_sync.emulator.pagerduty.account import SECRET_MARK, Account
from oncall_sync.emulator.pagerduty.app import PagerDutyApp, create_app
from oncall_sync.emulator.pagerduty.calls import (
    TEST_API_KEY,
    TEST_EU_API_KEY,
    TEST_OAUTH_TOKEN,
    TEST_READ_ONLY_API_KEY,
    TEST_USER_API_KEY,
    PagerDutyConfig,
)
from oncall_sync.emulator.pagerduty.generator import generate_account
from oncall_sync.emulator.pagerduty.hard_cases import (
    FOLLOW_THE_SUN,
    OFFICE_HOURS,
    WEEKEND_COVER,
)
from oncall_sync.emulator.pagerduty.render import (
    format_instant,
    parse_instant,
    render_schedule,
    resolve_zone,
)

with warnings.catch_warnings():  # starlette would rather we used httpx2; httpx is what we ship
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

AUTH = {"Authorization": f"Token token={TEST_API_KEY}"}
NO_LIMITS = PagerDutyConfig(rate_limits_enabled=False)


@pytest.fixture(scope="module")
def account() -> Account:
    return generate_account("tiny")


@pytest.fixture(scope="module")
def client(account: Account) -> TestClient:
    return TestClient(create_app(account, NO_LIMITS), headers=AUTH)


def client_for(
    account: Account, config: PagerDutyConfig | None = None, **headers: str
) -> TestClient:
    return TestClient(
        create_app(account, config or NO_LIMITS.model_copy()), headers={**AUTH, **headers}
    )


def by_name(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(i for i in items if i.get("name") == name)


def schedule_id(account: Account, name: str) -> str:
    return str(by_name(account.schedules, name)["id"])


def owner(account: Account) -> dict[str, Any]:
    return next(u for u in account.users if u["role"] == "owner")


def error(response: Any) -> tuple[int, int | None, list[str]]:
    inner = response.json()["error"]
    return response.status_code, inner.get("code"), inner.get("errors", [])


# -- envelope, headers, auth, regions --------------------------------------------------------------


def test_answers_carry_json_a_request_id_and_rate_limit_headers(account: Account) -> None:
    response = client_for(account, PagerDutyConfig()).get("/abilities")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["ratelimit-limit"] == "960"
    assert response.headers["ratelimit-remaining"] == "959"
    assert int(response.headers["ratelimit-reset"]) >= 0
    assert "teams" in response.json()["abilities"]


def test_unknown_paths_and_ids_are_not_found_in_pagerdutys_words(
    account: Account, client: TestClient
) -> None:
    response = client.get("/incidents-that-do-not-exist")
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Not Found", "code": 2100}}
    assert client.get("/users/PNOSUCH").json()["error"]["code"] == 2100
    uid, vid = account.users[0]["id"], account.services[0]["id"]
    for path in (
        f"/users/{uid}/contact_methods/PNOSUCH",
        f"/users/{uid}/notification_rules/PNOSUCH",
        f"/services/{vid}/integrations/PNOSUCH",
        "/extensions/PNOSUCH",
        "/webhook_subscriptions/PNOSUCH",
        "/escalation_policies/PNOSUCH",
        "/teams/PNOSUCH/members",
        "/v3/schedules/PNOSUCH",
    ):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize(
    "header",
    [
        None,
        f"GenieKey {TEST_API_KEY}",
        f"Token {TEST_API_KEY}",
        "Token token=u+NotAKnownKey0000000",
        f"Bearer {TEST_API_KEY}",  # an API key is not an OAuth token
        f"Token token={TEST_OAUTH_TOKEN}",  # and an OAuth token is not an API key
        f"Token token={TEST_EU_API_KEY}",  # bound to the other service region
    ],
)
def test_anything_but_a_known_token_of_this_region_is_401(
    account: Account, header: str | None
) -> None:
    client = TestClient(create_app(account, NO_LIMITS))
    response = client.get("/abilities", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Authentication failed", "code": 2006}}


def test_keys_are_bound_to_their_service_region() -> None:
    eu = generate_account("tiny", region="eu")
    client = TestClient(create_app(eu, NO_LIMITS))
    assert client.get("/abilities", headers=AUTH).status_code == 401
    eu_auth = {"Authorization": f"Token token={TEST_EU_API_KEY}"}
    assert client.get("/abilities", headers=eu_auth).status_code == 200
    user = client.get("/users", headers=eu_auth).json()["users"][0]
    assert user["self"].startswith("https://api.eu.pagerduty.com/users/")
    assert user["html_url"].startswith(f"https://{eu.subdomain}.eu.pagerduty.com/users/")


def test_a_401_can_be_plain_text(account: Account) -> None:
    client = TestClient(create_app(account, PagerDutyConfig(auth_error_json=False)))
    response = client.get("/abilities")
    assert response.status_code == 401
    assert response.text == "HTTP Token: Access denied.\n"
    assert response.headers["content-type"].startswith("text/html")


def test_oauth_tokens_go_in_a_bearer_header(account: Account) -> None:
    client = TestClient(create_app(account, NO_LIMITS))
    me = client.get("/users/me", headers={"Authorization": f"Bearer {TEST_OAUTH_TOKEN}"})
    assert me.json()["user"]["id"] == owner(account)["id"]


def test_writes_are_refused_for_read_only_keys_and_not_emulated_for_others(
    account: Account,
) -> None:
    read_only = client_for(account, Authorization=f"Token token={TEST_READ_ONLY_API_KEY}")
    assert read_only.get("/abilities").status_code == 200
    assert error(read_only.post("/teams", json={}))[:2] == (403, 2010)
    assert client_for(account).post("/teams", json={}).status_code == 405


def test_users_me_needs_a_user_token(account: Account, client: TestClient) -> None:
    status, code, errors = error(client.get("/users/me"))
    assert (status, code) == (400, 2001)
    assert "account-level access token" in errors[0]
    mine = client_for(account, Authorization=f"Token token={TEST_USER_API_KEY}").get("/users/me")
    assert mine.json()["user"]["email"] == owner(account)["email"]
    assert SECRET_MARK in mine.json()["user"]["http_cal_url"]  # one's own feed URL


# -- paging ----------------------------------------------------------------------------------------


def with_users(account: Account, count: int) -> Account:
    template = account.users[0]
    users = [
        {**template, "id": f"PU{n:05d}", "name": f"User {n:05d}", "email": f"u{n}@example.com"}
        for n in range(count)
    ]
    return replace(account, users=users, contact_methods={}, notification_rules={})


@pytest.mark.parametrize(
    ("count", "sizes"), [(0, [0]), (25, [25]), (26, [25, 1]), (60, [25, 25, 10])]
)
def test_offset_paging_stops_when_more_is_false(
    account: Account, count: int, sizes: list[int]
) -> None:
    client = client_for(with_users(account, count))
    seen: list[str] = []
    got: list[int] = []
    offset = 0
    while True:
        body = client.get("/users", params={"offset": offset}).json()
        assert (body["limit"], body["offset"], body["total"]) == (25, offset, None)
        got.append(len(body["users"]))
        seen += [u["id"] for u in body["users"]]
        offset += len(body["users"])
        if not body["more"]:
            break
    assert got == sizes
    assert len(seen) == len(set(seen)) == count


def test_total_only_when_asked_and_limit_clamped_to_100(account: Account) -> None:
    client = client_for(with_users(account, 150))
    body = client.get("/users", params={"limit": 500, "total": "true"}).json()
    assert (body["limit"], len(body["users"]), body["total"], body["more"]) == (100, 100, 150, True)
    assert client.get("/users", params={"total": "1"}).json()["total"] == 150
    assert client.get("/users", params={"total": "0"}).json()["total"] is None


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": "ten"}, {"offset": -1}, {"total": "maybe"}]
)
def test_bad_paging_arguments_are_400(client: TestClient, params: dict[str, Any]) -> None:
    assert error(client.get("/users", params=params))[:2] == (400, 2001)


def test_the_offset_cap_is_10000_for_offset_plus_limit(account: Account) -> None:
    client = client_for(with_users(account, 10_050))
    last = client.get("/users", params={"offset": 9_900, "limit": 100}).json()
    assert (len(last["users"]), last["more"]) == (100, True)  # more exist, out of reach
    status, code, errors = error(client.get("/users", params={"offset": 9_901, "limit": 100}))
    assert (status, code) == (400, 2002)
    assert errors[0].startswith("Offset+limit exceeds maximum allowed value of 10000.")
    assert client.get("/users", params={"offset": 9_950, "limit": 50}).status_code == 200


# -- users -----------------------------------------------------------------------------------------


def test_users_carry_references_unless_included(client: TestClient) -> None:
    plain = client.get("/users", params={"limit": 100}).json()["users"]
    ada = by_name(plain, "Ada Lovelace")
    assert {c["type"] for c in ada["contact_methods"]} == {
        f"{kind}_reference"
        for kind in (
            "email_contact_method",
            "phone_contact_method",
            "sms_contact_method",
            "whatsapp_contact_method",
            "push_notification_contact_method",
        )
    }
    reference_fields = {"id", "type", "summary", "self", "html_url"}
    assert all(set(c) == reference_fields for c in ada["contact_methods"])
    assert all(
        r["type"] == "assignment_notification_rule_reference" for r in ada["notification_rules"]
    )
    assert all(t["type"] == "team_reference" for t in ada["teams"])


def test_user_includes_swap_references_for_objects(client: TestClient) -> None:
    params = {"include[]": ["contact_methods", "notification_rules", "teams"], "limit": 100}
    ada = by_name(client.get("/users", params=params).json()["users"], "Ada Lovelace")
    phone = next(c for c in ada["contact_methods"] if c["type"] == "phone_contact_method")
    assert {"country_code", "address", "label", "blacklisted", "enabled"} <= set(phone)
    rules = ada["notification_rules"]
    assert {r["urgency"] for r in rules} == {"high", "low"}
    assert all(not r["contact_method"]["type"].endswith("_reference") for r in rules)
    assert all(t["type"] == "team" and "default_role" in t for t in ada["teams"])
    alone = client.get("/users", params={"include[]": "notification_rules", "limit": 100}).json()
    rule = by_name(alone["users"], "Ada Lovelace")["notification_rules"][0]
    assert rule["type"] == "assignment_notification_rule"
    assert rule["contact_method"]["type"].endswith("_reference")


def test_user_filters_by_query_and_team(account: Account, client: TestClient) -> None:
    assert [
        u["name"] for u in client.get("/users", params={"query": "lovelace"}).json()["users"]
    ] == ["Ada Lovelace"]
    team = by_name(account.teams, "Platform SRE")
    members = client.get("/users", params={"team_ids[]": team["id"]}).json()["users"]
    assert {u["id"] for u in members} == {m["user"]["id"] for m in account.members[team["id"]]}


def test_calendar_urls_come_only_on_request(account: Account, client: TestClient) -> None:
    uid = owner(account)["id"]
    assert "http_cal_url" not in client.get(f"/users/{uid}").json()["user"]
    asked = client.get(f"/users/{uid}", params={"include[]": "calendar_urls"}).json()["user"]
    assert SECRET_MARK in asked["http_cal_url"] and asked["web_cal_url"].startswith("webcal:")
    assert "http_cal_url" not in client.get("/users").json()["users"][0]


def test_per_user_contact_methods_and_notification_rules(
    account: Account, client: TestClient
) -> None:
    uid = owner(account)["id"]
    contacts = client.get(f"/users/{uid}/contact_methods").json()["contact_methods"]
    assert len(contacts) == 5
    one = client.get(f"/users/{uid}/contact_methods/{contacts[0]['id']}").json()
    assert one["contact_method"] == contacts[0]
    high = client.get(f"/users/{uid}/notification_rules").json()["notification_rules"]
    assert {r["urgency"] for r in high} == {"high"}  # the default
    every = client.get(f"/users/{uid}/notification_rules", params={"urgency": "all"}).json()
    assert {r["urgency"] for r in every["notification_rules"]} == {"high", "low"}
    full = client.get(
        f"/users/{uid}/notification_rules", params={"include[]": "contact_methods"}
    ).json()["notification_rules"]
    assert all("address" in r["contact_method"] for r in full)
    rule = client.get(f"/users/{uid}/notification_rules/{high[0]['id']}").json()
    assert rule["notification_rule"]["id"] == high[0]["id"]
    assert error(client.get(f"/users/{uid}/notification_rules", params={"urgency": "x"}))[0] == 400
    handoffs = client.get(f"/users/{uid}/oncall_handoff_notification_rules").json()
    assert {r["handoff_type"] for r in handoffs["oncall_handoff_notification_rules"]} == {
        "both",
        "oncall",
    }


# -- teams and abilities ---------------------------------------------------------------------------


def test_teams_members_and_roles(account: Account, client: TestClient) -> None:
    teams = client.get("/teams").json()["teams"]
    assert len(teams) == len(account.teams)
    platform = by_name(teams, "Platform SRE")
    assert client.get(f"/teams/{platform['id']}").json()["team"] == platform
    members = client.get(f"/teams/{platform['id']}/members").json()
    assert {m["role"] for m in members["members"]} == {"manager", "responder", "observer"}
    assert all(m["user"]["type"] == "user_reference" for m in members["members"])
    full = client.get(f"/teams/{platform['id']}/members", params={"include[]": "users"}).json()
    assert all(m["user"]["type"] == "user" and "email" in m["user"] for m in full["members"])
    nested = by_name(teams, "Équipe Nuit 夜")
    assert nested["parent"]["id"] == platform["id"]


def test_members_page_like_every_list() -> None:
    demo = generate_account("demo")
    big = max(demo.teams, key=lambda t: len(demo.members[t["id"]]))
    client = client_for(demo)
    first = client.get(f"/teams/{big['id']}/members", params={"limit": 100}).json()
    second = client.get(f"/teams/{big['id']}/members", params={"limit": 100, "offset": 100}).json()
    assert first["more"] and not second["more"]
    assert len(first["members"]) + len(second["members"]) == len(demo.members[big["id"]])


def test_an_account_without_the_teams_ability_gets_402(account: Account) -> None:
    without = replace(account, abilities=[a for a in account.abilities if a != "teams"])
    client = client_for(without)
    assert error(client.get("/teams"))[:2] == (402, 2014)
    assert client.get("/abilities/teams").status_code == 402
    assert client_for(account).get("/abilities/teams").status_code == 204


# -- schedules -------------------------------------------------------------------------------------


def test_schedule_list_items_carry_layers_and_renderings_only_when_included(
    client: TestClient,
) -> None:
    plain = client.get("/schedules").json()["schedules"]
    assert not {"schedule_layers", "final_schedule", "overrides_subschedule"} & set(plain[0])
    params = {"include[]": ["schedule_layers", "final_schedule", "overrides_subschedule"]}
    full = client.get("/schedules", params=params).json()["schedules"]
    sun = by_name(full, FOLLOW_THE_SUN)
    assert [layer["name"][:7] for layer in sun["schedule_layers"]] == [
        "Layer 3",
        "Layer 2",
        "Layer 1",
    ]
    # No window: no rendered entries, no coverage.
    assert sun["final_schedule"] == {
        "name": "Final Schedule",
        "rendered_schedule_entries": [],
        "rendered_coverage_percentage": None,
    }


def test_a_list_renders_in_the_callers_zone_and_shifts_restrictions(
    account: Account, client: TestClient
) -> None:
    params = {"include[]": "schedule_layers", "query": OFFICE_HOURS}
    item = client.get("/schedules", params=params).json()["schedules"][0]
    layer = item["schedule_layers"][0]
    assert layer["start"].endswith("-07:00")  # the account's zone, Los Angeles, in October
    # 09:00 in St John's (-02:30) is 04:30 in Los Angeles (-07:00), shown without an offset.
    assert {r["start_time_of_day"] for r in layer["restrictions"]} == {"04:30:00"}
    own = client.get("/schedules", params={**params, "time_zone": "America/St_Johns"}).json()
    assert {
        r["start_time_of_day"] for r in own["schedules"][0]["schedule_layers"][0]["restrictions"]
    } == {"09:00:00"}
    user_key = client_for(account, Authorization=f"Token token={TEST_USER_API_KEY}")
    as_owner = user_key.get("/schedules", params=params).json()["schedules"][0]
    assert as_owner["schedule_layers"][0]["start"].endswith("-04:00")  # Ada is in New York


def test_get_schedule_renders_in_its_own_zone_with_every_block(
    account: Account, client: TestClient
) -> None:
    sid = schedule_id(account, WEEKEND_COVER)
    since, until = account.now, account.now + timedelta(days=7)
    window = {"since": since.isoformat(), "until": until.isoformat()}
    body = client.get(f"/schedules/{sid}", params=window).json()["schedule"]
    assert body["time_zone"] == "Europe/London"
    assert body["schedule_layers"][0]["restrictions"][0]["start_time_of_day"] == "18:00:00"
    assert body["final_schedule"]["rendered_coverage_percentage"] == 100.0
    assert SECRET_MARK in body["http_cal_url"]
    sched = by_name(account.schedules, WEEKEND_COVER)
    expected = render_schedule(sched, account.overrides.get(sid, []), since, until)
    london = resolve_zone("Europe/London")
    assert [
        (e["start"], e["end"], e["user"]["id"])
        for e in body["final_schedule"]["rendered_schedule_entries"]
    ] == [
        (format_instant(p.start, london), format_instant(p.end, london), p.user["id"])
        for p in expected.clipped(expected.final)
    ]
    entries = body["final_schedule"]["rendered_schedule_entries"]
    assert entries[0]["start"] == format_instant(since, london)  # clipped to the window
    over = client.get(f"/schedules/{sid}", params={**window, "overflow": "true"}).json()
    assert (
        over["schedule"]["final_schedule"]["rendered_schedule_entries"][0]["start"]
        < entries[0]["start"]
    )
    utc = client.get(f"/schedules/{sid}", params={**window, "time_zone": "UTC"}).json()
    assert utc["schedule"]["final_schedule"]["rendered_schedule_entries"][0]["start"].endswith("Z")


def test_a_missing_end_of_the_window_is_two_weeks_away(
    account: Account, client: TestClient
) -> None:
    sid = schedule_id(account, FOLLOW_THE_SUN)
    body = client.get(
        f"/schedules/{sid}", params={"since": "2026-10-01T00:00:00Z", "time_zone": "UTC"}
    )
    entries = body.json()["schedule"]["final_schedule"]["rendered_schedule_entries"]
    assert entries[-1]["end"] == "2026-10-15T00:00:00Z"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, 400, 2001),
        ({"since": "yesterday"}, 400, 2004),
        ({"since": "2026-10-05T00:00:00Z", "until": "2026-10-01T00:00:00Z"}, 400, 2005),
    ],
)
def test_bad_schedule_arguments(
    account: Account, client: TestClient, params: dict[str, str], status: int, code: int
) -> None:
    sid = schedule_id(account, FOLLOW_THE_SUN)
    assert error(client.get(f"/schedules/{sid}", params=params))[:2] == (status, code)


def test_overrides_need_a_window_and_are_cut_to_it_unless_overflow(
    account: Account, client: TestClient
) -> None:
    sid = schedule_id(account, FOLLOW_THE_SUN)
    assert error(client.get(f"/schedules/{sid}/overrides"))[:2] == (400, 2004)
    assert error(client.get(f"/schedules/{sid}/overrides", params={"since": "2026-10-01"}))[:2] == (
        400,
        2004,
    )
    window = {"since": "2026-10-01T00:00:00Z", "until": "2026-10-01T01:00:00Z"}
    current = client.get(f"/schedules/{sid}/overrides", params=window).json()["overrides"]
    assert len(current) == 1  # the one running at the account's now
    assert current[0]["start"] == "2026-09-30T20:00:00-04:00"
    assert current[0]["end"] == "2026-09-30T21:00:00-04:00"
    whole = client.get(f"/schedules/{sid}/overrides", params={**window, "overflow": "true"}).json()
    assert whole["overrides"][0]["end"] == "2026-10-01T02:00:00-04:00"
    month = {"since": "2026-09-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}
    everything = client.get(f"/schedules/{sid}/overrides", params=month).json()["overrides"]
    assert len(everything) == len(account.overrides[sid])
    editable = client.get(f"/schedules/{sid}/overrides", params={**month, "editable": "true"})
    assert all(set(o) == {"id"} for o in editable.json()["overrides"])


def test_schedule_users_are_those_on_call_in_the_window(
    account: Account, client: TestClient
) -> None:
    sid = schedule_id(account, OFFICE_HOURS)
    users = client.get(f"/schedules/{sid}/users").json()["users"]
    assert {u["name"] for u in users} <= {"José Núñez", "Ada Lovelace"}
    assert users and all(u["type"] == "user" for u in users)


# -- /oncalls --------------------------------------------------------------------------------------


def test_oncalls_now_by_default(account: Account, client: TestClient) -> None:
    body = client.get("/oncalls", params={"limit": 100}).json()
    items = body["oncalls"]
    assert items and body["limit"] == 100
    permanent = [i for i in items if i["start"] is None]
    assert permanent and all(i["schedule"] is None and i["end"] is None for i in permanent)
    timed = [i for i in items if i["start"] is not None]
    assert all(i["start"].endswith("-07:00") for i in timed)  # the account's zone
    now = account.now
    assert all(parse_instant(i["start"]) <= now < parse_instant(i["end"]) for i in timed)
    assert {i["escalation_level"] for i in items} >= {1, 2, 3}


def test_oncalls_filters_earliest_includes_and_the_90_day_horizon(
    account: Account, client: TestClient
) -> None:
    window = {"since": "2026-10-01T00:00:00Z", "until": "2026-10-08T00:00:00Z", "limit": 100}
    policy = by_name(account.escalation_policies, "Follow the sun policy")
    mine = client.get("/oncalls", params={**window, "escalation_policy_ids[]": policy["id"]}).json()
    assert {i["escalation_policy"]["id"] for i in mine["oncalls"]} == {policy["id"]}
    earliest = client.get(
        "/oncalls", params={**window, "escalation_policy_ids[]": policy["id"], "earliest": "true"}
    ).json()["oncalls"]
    keys = [(i["escalation_level"], i["user"]["id"]) for i in earliest]
    assert len(keys) == len(set(keys)) < len(mine["oncalls"])
    only_users = client.get("/oncalls", params={**window, "schedule_ids[]": "null"}).json()
    assert all(i["schedule"] is None for i in only_users["oncalls"])
    included = client.get(
        "/oncalls", params={**window, "include[]": ["users", "escalation_policies", "schedules"]}
    ).json()["oncalls"]
    assert all(i["escalation_policy"]["type"] == "escalation_policy" for i in included)
    assert any(i["schedule"] and i["schedule"]["type"] == "schedule" for i in included)
    too_long = {"since": "2026-10-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"}
    assert error(client.get("/oncalls", params=too_long))[:2] == (400, 2005)


# -- escalation policies and services --------------------------------------------------------------


def test_policies_targets_and_their_includes(account: Account, client: TestClient) -> None:
    plain = client.get("/escalation_policies").json()["escalation_policies"]
    sun = by_name(plain, "Follow the sun policy")
    assert [r["escalation_delay_in_minutes"] for r in sun["escalation_rules"]] == [5, 15, 30]
    assert sun["num_loops"] == 2
    assert "escalation_rule_assignment_strategy" not in sun["escalation_rules"][2]
    params = {
        "include[]": ["targets", "escalation_rule_assignment_strategies", "services", "teams"]
    }
    full = client.get("/escalation_policies", params=params).json()["escalation_policies"]
    sun = by_name(full, "Follow the sun policy")
    assert [t["type"] for t in sun["escalation_rules"][2]["targets"]] == [
        "schedule",
        "user",
        "schedule",
    ]
    assert sun["escalation_rules"][2]["escalation_rule_assignment_strategy"] == "round_robin"
    assert sun["teams"][0]["type"] == "team" and sun["services"][0]["type"] == "service"
    absent = by_name(full, "Absentees policy")
    assert [t["type"] for r in absent["escalation_rules"] for t in r["targets"]] == [
        "user_reference",  # deleted: stays a reference
        "schedule_reference",
        "schedule_v3_reference",
        "schedule",
    ]


def test_assignment_strategies_as_objects_or_refused(account: Account) -> None:
    include = {"include[]": "escalation_rule_assignment_strategies"}
    objects = client_for(
        account, PagerDutyConfig(rate_limits_enabled=False, assignment_strategy_form="object")
    )
    rule = objects.get("/escalation_policies", params=include).json()["escalation_policies"][0][
        "escalation_rules"
    ][0]
    assert rule["escalation_rule_assignment_strategy"] in (
        {"type": "round_robin"},
        {"type": "assign_to_everyone"},
    )
    refused = client_for(
        account, PagerDutyConfig(rate_limits_enabled=False, assignment_strategies_entitled=False)
    )
    assert error(refused.get("/escalation_policies", params=include))[:2] == (403, 2010)
    assert refused.get("/escalation_policies").status_code == 200


def test_policy_filters_and_sorting(account: Account, client: TestClient) -> None:
    names = [
        p["name"]
        for p in client.get("/escalation_policies", params={"sort_by": "name:desc"}).json()[
            "escalation_policies"
        ]
    ]
    assert names == sorted(names, key=str.casefold, reverse=True)
    ada = owner(account)["id"]
    direct = client.get("/escalation_policies", params={"user_ids[]": ada}).json()
    assert {p["name"] for p in direct["escalation_policies"]} == {
        "Follow the sun policy",
        "Ten targets policy",
    }
    assert error(client.get("/escalation_policies", params={"sort_by": "id"}))[:2] == (400, 2001)


def test_services_hide_integration_secrets_behind_their_include(
    account: Account, client: TestClient
) -> None:
    plain = client.get("/services")
    assert "integration_key" not in plain.text
    checkout = by_name(plain.json()["services"], "<Checkout> & Café")
    assert SECRET_MARK in checkout["service_key"]  # legacy: on the service itself
    assert {i["type"] for i in checkout["integrations"]} == {
        "events_api_v2_inbound_integration_reference",
        "generic_email_inbound_integration_reference",
    }
    full = client.get(
        "/services", params={"include[]": ["integrations", "escalation_policies", "teams"]}
    )
    checkout = by_name(full.json()["services"], "<Checkout> & Café")
    keys = {
        i.get("integration_key") or i.get("integration_email") for i in checkout["integrations"]
    }
    assert all(SECRET_MARK in k for k in keys)
    assert checkout["escalation_policy"]["type"] == "escalation_policy"
    one = client.get(f"/services/{checkout['id']}/integrations/{checkout['integrations'][0]['id']}")
    assert one.json()["integration"] == checkout["integrations"][0]


def test_extensions_and_webhook_subscriptions(account: Account, client: TestClient) -> None:
    extensions = client.get("/extensions").json()
    assert len(extensions["extensions"]) == 2 and extensions["more"] is False
    assert all(SECRET_MARK in e["endpoint_url"] for e in extensions["extensions"])
    hooks = client.get("/webhook_subscriptions").json()["webhook_subscriptions"]
    assert all(h["delivery_method"]["custom_headers"][0]["value"] is None for h in hooks)
    account_wide = client.get("/webhook_subscriptions", params={"filter_type": "account"}).json()
    assert [h["description"] for h in account_wide["webhook_subscriptions"]] == ["All incidents"]


def test_v3_schedules_are_listed_apart_with_their_own_paging(
    account: Account, client: TestClient
) -> None:
    body = client.get("/v3/schedules").json()
    assert body["limit"] == 100 and "total" not in body
    assert [s["type"] for s in body["schedules"]] == ["schedule_v3_reference"]
    assert client.get("/v3/schedules", params={"limit": 5000}).json()["limit"] == 1000
    sid = body["schedules"][0]["id"]
    assert client.get(f"/v3/schedules/{sid}").json()["schedule"]["type"] == "schedule_v3"
    assert client.get(f"/v3/schedules/{sid}/overrides").json()["overrides"] == []
    assert client.get(f"/schedules/{sid}").status_code == 404  # the two lists are disjoint


# -- error shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (
            "errors_string",
            {
                "message": "Invalid Input Provided",
                "code": 2001,
                "errors": "sort_by must be one of name, name:asc, name:desc, not 'id'",
            },
        ),
        (
            "errors_map",
            {
                "message": "Invalid Input Provided",
                "code": 2001,
                "errors": {
                    "sort_by": ["sort_by must be one of name, name:asc, name:desc, not 'id'"]
                },
            },
        ),
    ],
)
def test_odd_error_shapes_can_be_switched_on(account: Account, shape: str, expected: Any) -> None:
    app: PagerDutyApp = create_app(account, PagerDutyConfig(rate_limits_enabled=False))
    client = TestClient(app, headers=AUTH)
    app.config.error_shape = shape  # type: ignore[assignment]
    assert client.get("/services", params={"sort_by": "id"}).json() == {"error": expected}
    app.config.error_shape = "error_array"
    assert client.get("/services", params={"sort_by": "id"}).json() == {
        "error": [
            "Invalid Input Provided",
            expected["errors"]
            if isinstance(expected["errors"], str)
            else expected["errors"]["sort_by"][0],
        ]
    }


def test_next_oncall_for_a_user_and_the_dst_rule_switch(account: Account) -> None:
    sid = schedule_id(account, FOLLOW_THE_SUN)
    client = client_for(account)
    frances = by_name(account.users, "Frances Allen")["id"]
    body = client.get(f"/schedules/{sid}", params={"include_next_oncall_for_user": frances})
    upcoming = body.json()["schedule"]["next_oncall_for_user"]
    assert upcoming["user"]["id"] == frances
    assert parse_instant(upcoming["end"]) > account.now
    window = {"since": "2026-10-25T00:00:00Z", "until": "2026-10-28T00:00:00Z"}

    def handoffs(rule: str) -> list[str]:
        config = PagerDutyConfig(rate_limits_enabled=False, dst_rule=rule)  # type: ignore[arg-type]
        answer = client_for(account, config).get(f"/schedules/{sid}", params=window).json()
        layer = answer["schedule"]["schedule_layers"][2]  # weekly turns, Monday 10:00
        return [e["start"] for e in layer["rendered_schedule_entries"]]

    wall, elapsed = handoffs("wall_clock_days"), handoffs("elapsed")
    # The layer was anchored on a Monday 10:00 in March, in winter time.
    assert "2026-10-26T10:00:00-04:00" in wall  # 10:00 on the wall clock, all year
    assert "2026-10-26T11:00:00-04:00" in elapsed  # whole weeks of seconds from 10:00 EST
