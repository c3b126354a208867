"""The seeded account generator: deterministic, right-sized, every hard case, no dangling ids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest

from oncall_sync.emulator.generator import Account, generate_account, with_bad_records

SIZES = ["tiny", "demo"]


@pytest.fixture(scope="module", params=SIZES)
def account(request: pytest.FixtureRequest) -> Account:
    return generate_account(request.param)


def rotations(account: Account) -> Iterator[dict[str, Any]]:
    for schedule in account.schedules:
        yield from schedule["rotations"]


def rules(account: Account) -> Iterator[dict[str, Any]]:
    for escalation in account.escalations:
        yield from escalation["rules"]


def test_same_seed_gives_the_same_account() -> None:
    assert asdict(generate_account("demo", 3)) == asdict(generate_account("demo", 3))


def test_another_seed_gives_another_account() -> None:
    assert generate_account("demo", 3).users != generate_account("demo", 4).users


def test_demo_has_the_documented_counts() -> None:
    demo = generate_account("demo")
    counts = (len(demo.users), len(demo.teams), len(demo.schedules), len(demo.escalations))
    assert counts == (200, 20, 30, 30)
    assert len(demo.services) == 10


def test_large_has_the_documented_counts_and_contacts_per_user() -> None:
    large = generate_account("large")
    assert (len(large.users), len(large.teams), len(large.schedules)) == (10_000, 1_000, 2_000)
    assert (len(large.escalations), len(large.services)) == (2_000, 500)
    per_user = [len(c) for c in large.contacts.values()]
    assert max(per_user) == 4
    assert sum(1 for n in per_user if n == 0) < 0.05 * len(per_user)  # a few users have none
    assert all(1 <= len(s["rotations"]) <= 3 for s in large.schedules)


def test_scale_multiplies_the_counts() -> None:
    doubled = generate_account("tiny", scale=2)
    assert (len(doubled.users), len(doubled.teams)) == (24, 6)


def test_unknown_size_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="tiny, demo, large"):
        generate_account("huge")


def test_emails_are_unique_case_insensitively(account: Account) -> None:
    emails = [u["username"].casefold() for u in account.users]
    assert len(emails) == len(set(emails))


def test_every_reference_resolves(account: Account) -> None:
    users = {u["id"]: u["username"] for u in account.users}
    teams = {t["id"]: t["name"] for t in account.teams}
    schedules = {s["id"]: s["name"] for s in account.schedules}
    escalations = {e["id"]: e["name"] for e in account.escalations}
    for team in account.teams:
        assert all(users[m["user"]["id"]] == m["user"]["username"] for m in team["members"])
    for rotation in rotations(account):
        for p in rotation["participants"]:
            known = {"user": users, "team": teams, "escalation": escalations}.get(p["type"])
            if known is not None:
                assert p["id"] in known
    for rule in rules(account):
        r = rule["recipient"]
        known = {"user": users, "team": teams, "schedule": schedules}[r["type"]]
        assert r["id"] in known
    for schedule_id, overrides in account.overrides.items():
        rotation_ids = {
            r["id"]
            for r in next(s for s in account.schedules if s["id"] == schedule_id)["rotations"]
        }
        for o in overrides:
            assert o["_parent"]["id"] == schedule_id
            assert {r["id"] for r in o["rotations"]} <= rotation_ids
            assert o["user"]["type"] == "none" or o["user"]["id"] in users
    assert all(s["teamId"] in teams for s in account.services)
    for owned in [*account.schedules, *account.escalations]:
        if "ownerTeam" in owned:
            assert teams[owned["ownerTeam"]["id"]] == owned["ownerTeam"]["name"]
    assert set(account.contacts) == set(users)


def test_payloads_have_the_api_shapes(account: Account) -> None:
    user = account.users[0]
    assert {"id", "username", "fullName", "role", "timeZone", "locale", "userAddress"} <= set(user)
    assert set(user["userAddress"]) == {"country", "state", "city", "line", "zipCode"}
    assert user["createdAt"].endswith("Z") and "." in user["createdAt"]
    contact = next(c for cs in account.contacts.values() for c in cs)
    assert set(contact) == {"id", "method", "to", "status", "applyOrder"}
    assert set(account.teams[0]) == {"id", "name", "description", "members", "links"}
    assert {"id", "name", "startDate", "type", "length", "participants"} <= set(
        next(rotations(account))
    )
    assert set(account.services[0]) == {
        "id",
        "name",
        "description",
        "teamId",
        "tags",
        "isExternal",
        "links",
    }
    assert set(account.plan) == {"maxUserCount", "name", "isYearly"}


def test_hard_zones_are_present(account: Account) -> None:
    zones = {s["timezone"] for s in account.schedules} | {u["timeZone"] for u in account.users}
    assert {"PST", "IST", "EST", "US/Pacific", "Asia/Calcutta", "GMT-8:00", "GMT+05:30"} <= zones
    assert "Africa/Monrovia" in zones


def test_time_restrictions_of_both_kinds_and_both_wraps(account: Account) -> None:
    restrictions = [r["timeRestriction"] for r in rotations(account) if "timeRestriction" in r]
    day = [r["restriction"] for r in restrictions if r["type"] == "time-of-day"]
    week = [
        w for r in restrictions if r["type"] == "weekday-and-time-of-day" for w in r["restrictions"]
    ]
    assert any((d["endHour"], d["endMin"]) < (d["startHour"], d["startMin"]) for d in day)
    assert any(w["startDay"] == "friday" and w["endDay"] == "monday" for w in week)
    assert any((d["endHour"], d["endMin"]) > (d["startHour"], d["startMin"]) for d in day)


def test_rotations_cover_types_participants_and_dates(account: Account) -> None:
    all_rotations = list(rotations(account))
    assert {r["type"] for r in all_rotations} == {"hourly", "daily", "weekly"}
    kinds = {p["type"] for r in all_rotations for p in r["participants"]}
    assert kinds == {"user", "team", "escalation", "none"}
    assert any(r.get("endDate", "9999") < "2026-11-01" for r in all_rotations)  # ended
    assert any(r["startDate"] > "2026-11-01" for r in all_rotations)  # not started yet
    assert {r["startDate"][14:16] for r in all_rotations} == {"00", "30"}


def test_overrides_include_scoped_unscoped_and_nobody(account: Account) -> None:
    overrides = [o for os in account.overrides.values() for o in os]
    assert any(o["rotations"] for o in overrides)
    assert any(not o["rotations"] for o in overrides)
    assert any(o["user"] == {"type": "none"} for o in overrides)


def test_escalations_cover_every_notify_type_condition_and_recipient(account: Account) -> None:
    all_rules = list(rules(account))
    assert {r["notifyType"] for r in all_rules} == {
        "default", "next", "previous", "users", "admins", "all", "random"
    }  # fmt: skip
    assert {r["condition"] for r in all_rules} == {"if-not-acked", "if-not-closed"}
    assert {r["recipient"]["type"] for r in all_rules} == {"user", "team", "schedule"}
    assert any("repeat" in e for e in account.escalations)
    assert any("repeat" not in e for e in account.escalations)


def test_team_less_entities_and_default_team_artefacts(account: Account) -> None:
    assert any("ownerTeam" not in s for s in account.schedules)
    assert any("ownerTeam" not in e for e in account.escalations)
    team = account.teams[0]
    schedule = next(s for s in account.schedules if s["name"] == f"{team['name']}_schedule")
    escalation = next(e for e in account.escalations if e["name"] == f"{team['name']}_escalation")
    steps = [
        (r["notifyType"], r["delay"]["timeAmount"], r["recipient"]["id"])
        for r in escalation["rules"]
    ]
    assert steps == [
        ("default", 0, schedule["id"]),
        ("next", 5, schedule["id"]),
        ("all", 10, team["id"]),
    ]
    assert "repeat" not in escalation


def test_odd_users_and_contacts_are_present(account: Account) -> None:
    assert any(not contacts for contacts in account.contacts.values())
    all_contacts = [c for cs in account.contacts.values() for c in cs]
    disabled = [c for c in all_contacts if not c["status"]["enabled"]]
    assert disabled and all(c["status"]["disabledReason"] for c in disabled)
    assert any(u["username"] != u["username"].lower() for u in account.users)
    assert any(u["blocked"] for u in account.users)
    assert any(not u["verified"] for u in account.users)


def test_names_carry_unicode_and_html(account: Account) -> None:
    names = [t["name"] for t in account.teams]
    assert "<b>Ops</b> & Ünïcode" in names
    assert any(not n.isascii() for n in names)
    assert any("<" in s["name"] for s in account.services)


def test_bad_records_are_added_to_a_copy() -> None:
    good = generate_account("tiny")
    bad = with_bad_records(good)
    assert len(good.users) == 12 and len(bad.users) == 14
    emails = [u["username"].casefold() for u in bad.users]
    assert len(emails) == len(set(emails)) + 1  # a twin differing only in case
    assert any("@" not in u["username"] for u in bad.users)
    assert bad.schedules[-1]["timezone"] == "Mars/Olympus_Mons"
    user_ids = {u["id"] for u in bad.users}
    participants = bad.schedules[-1]["rotations"][0]["participants"]
    assert any(p["type"] == "user" and p["id"] not in user_ids for p in participants)
    schedule_ids = {s["id"] for s in bad.schedules}
    last_rule = bad.escalations[-1]["rules"][-1]["recipient"]
    assert last_rule["type"] == "schedule" and last_rule["id"] not in schedule_ids
    backwards = bad.overrides[bad.schedules[-1]["id"]][-1]
    assert backwards["endDate"] < backwards["startDate"]
    assert "Mars/Olympus_Mons" not in {s["timezone"] for s in good.schedules}
