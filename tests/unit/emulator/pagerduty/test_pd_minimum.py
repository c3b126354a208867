"""The minimum is reachable: a plain reader following minimum.py's plan reads a generated account
whole, against the emulator, in exactly that many requests."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from oncall_sync.emulator.pagerduty.account import Account
from oncall_sync.emulator.pagerduty.app import create_app
from oncall_sync.emulator.pagerduty.calls import TEST_API_KEY, PagerDutyConfig
from oncall_sync.emulator.pagerduty.generator import generate_account
from oncall_sync.emulator.pagerduty.minimum import minimum_requests
from oncall_sync.emulator.pagerduty.render import parse_instant, zone_identity

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


class Reader:
    """Reads everything with `limit=100`, counting requests."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.requests = client, 0

    def get(self, path: str, **params: Any) -> Any:
        self.requests += 1
        return self.client.get(path, params=params)

    def pages(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            response = self.get(path, **params, limit=100, offset=len(items))
            if response.status_code == 403:
                raise PermissionError(response.text)
            body = response.json()
            items += body[key]
            if not body["more"]:
                return items


def read_everything(
    client: TestClient, since: datetime, until: datetime, list_zone: str
) -> tuple[int, dict[str, Any]]:
    r = Reader(client)
    window = {"since": since.isoformat(), "until": until.isoformat()}
    got: dict[str, Any] = {"abilities": r.get("/abilities").json()["abilities"]}
    got["users"] = r.pages(
        "/users", "users", **{"include[]": ["contact_methods", "notification_rules", "teams"]}
    )
    got["members"] = {}
    if "teams" in got["abilities"]:
        got["teams"] = r.pages("/teams", "teams")
        for team in got["teams"]:
            got["members"][team["id"]] = r.pages(f"/teams/{team['id']}/members", "members")
    listed = r.pages(
        "/schedules",
        "schedules",
        time_zone=list_zone,
        **window,
        **{"include[]": ["schedule_layers", "overrides_subschedule"]},
    )
    schedules = {s["id"]: s for s in listed}
    elsewhere: dict[str, list[str]] = {}
    for s in listed:
        zone = zone_identity(s["time_zone"])
        restricted = any(layer["restrictions"] for layer in s["schedule_layers"])
        if restricted and zone != zone_identity(list_zone):
            elsewhere.setdefault(zone, []).append(s["id"])
    list_pages = max(1, -(-len(listed) // 100))
    for zone, ids in elsewhere.items():
        if len(ids) <= list_pages:
            for sid in ids:
                schedules[sid] = r.get(f"/schedules/{sid}").json()["schedule"]
        else:
            again = r.pages(
                "/schedules", "schedules", time_zone=zone, **{"include[]": "schedule_layers"}
            )
            schedules.update({s["id"]: s for s in again if s["id"] in ids})
    got["schedules"] = schedules
    # The list pass's overrides sub-schedule shows which schedules have overrides to read.
    got["overrides"] = {
        s["id"]: r.get(f"/schedules/{s['id']}/overrides", **window, overflow="true").json()[
            "overrides"
        ]
        for s in listed
        if s["overrides_subschedule"]["rendered_schedule_entries"]
    }
    strategies = "escalation_rule_assignment_strategies"
    try:
        got["policies"] = r.pages(
            "/escalation_policies", "escalation_policies", **{"include[]": strategies}
        )
    except PermissionError:  # not entitled: read them again without
        got["policies"] = r.pages("/escalation_policies", "escalation_policies")
    got["services"] = r.pages("/services", "services")
    got["v3"] = []
    offset = 0
    while True:
        body = r.get("/v3/schedules", limit=1000, offset=offset).json()
        got["v3"] += body["schedules"]
        offset += len(body["schedules"])
        if not body["more"]:
            break
    return r.requests, got


@pytest.mark.parametrize("size", ["tiny", "demo"])
@pytest.mark.parametrize("entitled", [True, False])
def test_a_plain_reader_reads_everything_in_exactly_the_minimum(size: str, entitled: bool) -> None:
    account = generate_account(size)
    if size == "demo":  # and an account without teams, for once
        account = replace(account, abilities=[a for a in account.abilities if a != "teams"])
    config = PagerDutyConfig(rate_limits_enabled=False, assignment_strategies_entitled=entitled)
    client = TestClient(
        create_app(account, config), headers={"Authorization": f"Token token={TEST_API_KEY}"}
    )
    since, until = account.now, account.now + timedelta(days=28)
    requests, got = read_everything(client, since, until, "UTC")
    expected = minimum_requests(
        account, since, until, list_zone="UTC", assignment_strategies_entitled=entitled
    )
    assert requests == expected.total
    assert_complete(account, got, since, until, entitled)


def assert_complete(
    account: Account, got: dict[str, Any], since: datetime, until: datetime, entitled: bool
) -> None:
    assert [u["id"] for u in got["users"]] == [u["id"] for u in account.users]
    for user in got["users"]:
        assert user["contact_methods"] == account.contact_methods.get(user["id"], [])
        rules = account.notification_rules.get(user["id"], [])
        assert [r["id"] for r in user["notification_rules"]] == [r["id"] for r in rules]
    if "teams" in account.abilities:
        assert got["members"] == account.members
    for sched in account.schedules:  # every restriction as the schedule's own zone has it
        read = got["schedules"][sched["id"]]
        assert [layer["restrictions"] for layer in read["schedule_layers"]] == [
            layer["restrictions"] for layer in sched["schedule_layers"]
        ]
    for sid, overrides in account.overrides.items():
        meeting = [
            o["id"]
            for o in overrides
            if parse_instant(o["start"]) < until
            and parse_instant(o["end"]) > since
            and parse_instant(o["start"]) < parse_instant(o["end"])
        ]
        assert [o["id"] for o in got["overrides"].get(sid, [])] == meeting
    assert [p["id"] for p in got["policies"]] == [p["id"] for p in account.escalation_policies]
    rule = got["policies"][0]["escalation_rules"][0]
    assert ("escalation_rule_assignment_strategy" in rule) is entitled
    assert [s["id"] for s in got["services"]] == [s["id"] for s in account.services]
    assert [s["id"] for s in got["v3"]] == [s["id"] for s in account.v3_schedules]
