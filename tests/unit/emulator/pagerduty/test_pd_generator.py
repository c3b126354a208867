"""The PagerDuty generator: every hard case in every size, determinism, consistent references,
the secrets list, and the fewest requests a complete extract needs."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from oncall_sync.emulator.pagerduty.account import (
    SECRET_MARK,
    Account,
    account_secrets,
    secret_values,
)
from oncall_sync.emulator.pagerduty.generator import SIZES, generate_account
from oncall_sync.emulator.pagerduty.hard_cases import (
    DELETED_SCHEDULE_NAME,
    DELETED_USER_EMAIL,
    HARD_SCHEDULES,
)
from oncall_sync.emulator.pagerduty.minimum import minimum_requests
from oncall_sync.emulator.pagerduty.render import (
    DAY,
    parse_instant,
    render_schedule,
    resolve_zone,
    seconds_of_day,
)

WEEK_SECONDS = 7 * DAY


@pytest.fixture(scope="module", params=["tiny", "demo", "large"])
def account(request: pytest.FixtureRequest) -> Account:
    return generate_account(request.param)


def layers(account: Account) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(s, layer) for s in account.schedules for layer in s["schedule_layers"]]


def zone_changes(name: str, year: int = 2026) -> bool:
    zone = resolve_zone(name)
    offsets = {datetime(year, m, 1).astimezone(zone).utcoffset() for m in range(1, 13)}
    return len(offsets) > 1


def test_sizes_have_their_counts(account: Account) -> None:
    counts = (
        len(account.users),
        len(account.teams),
        len(account.schedules),
        len(account.escalation_policies),
        len(account.services),
    )
    assert counts in SIZES.values()


def test_scale_multiplies_the_counts_but_never_drops_a_hard_case() -> None:
    doubled = generate_account("demo", scale=2)
    assert (len(doubled.users), len(doubled.schedules)) == (500, 80)
    shrunk = generate_account("tiny", scale=0.1)
    assert {s["name"] for s in shrunk.schedules} >= set(HARD_SCHEDULES)
    with pytest.raises(ValueError, match="unknown account size"):
        generate_account("huge")
    with pytest.raises(ValueError, match="scale must be positive"):
        generate_account("tiny", scale=0)


def test_the_same_seed_gives_the_same_account_and_another_seed_another() -> None:
    def dump(a: Account) -> str:
        return json.dumps(a.__dict__, default=str, sort_keys=True)

    assert dump(generate_account("demo", 3)) == dump(generate_account("demo", 3))
    assert dump(generate_account("demo", 3)) != dump(generate_account("demo", 4))


def test_every_reference_resolves_or_points_at_a_known_deleted_object(account: Account) -> None:
    known: dict[str, set[str]] = {
        "user": {u["id"] for u in account.users},
        "team": {t["id"] for t in account.teams},
        "schedule": {s["id"] for s in account.schedules},
        "escalation_policy": {p["id"] for p in account.escalation_policies},
        "service": {s["id"] for s in account.services},
        "schedule_v3": {s["id"] for s in account.v3_schedules},
    }
    deleted = {u["id"] for u in account.deleted_users} | {
        s["id"] for s in account.deleted_schedules
    }
    for cms in account.contact_methods.values():
        known.setdefault("contact_method", set()).update(c["id"] for c in cms)
    for rules in account.notification_rules.values():
        known.setdefault("notification_rule", set()).update(r["id"] for r in rules)
    for integrations in account.integrations.values():
        known.setdefault("integration", set()).update(i["id"] for i in integrations)
    dangling: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            kind = value.get("type")
            if isinstance(kind, str) and kind.endswith("_reference") and "id" in value:
                base = kind.removesuffix("_reference")
                if base.endswith("_contact_method"):
                    base = "contact_method"
                elif base.endswith("_integration"):
                    base = "integration"
                elif base.endswith("notification_rule"):
                    base = "notification_rule"
                if base in known and value["id"] not in known[base] and value["id"] not in deleted:
                    dangling.append(f"{kind} {value['id']}")
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit([account.users, account.teams, account.members, account.schedules, account.overrides])
    visit([account.escalation_policies, account.services, account.integrations])
    assert dangling == []


def test_user_teams_mirror_the_member_lists(account: Account) -> None:
    from_members = {
        (m["user"]["id"], team_id) for team_id, ms in account.members.items() for m in ms
    }
    from_users = {(u["id"], t["id"]) for u in account.users for t in u["teams"]}
    assert from_members == from_users


def test_emails_are_unique_ignoring_case(account: Account) -> None:
    emails = Counter(u["email"].casefold() for u in account.users)
    assert emails.most_common(1)[0][1] == 1


# -- the hard cases, in every size -----------------------------------------------------------------


def test_hard_schedules_are_all_there(account: Account) -> None:
    assert {s["name"] for s in account.schedules} >= set(HARD_SCHEDULES)


def test_a_higher_layer_replaces_lower_ones_somewhere(account: Account) -> None:
    """Some schedule's lowest layer is on call in a window yet shows less in the final one."""
    found = False
    for sched in account.schedules:
        if len(sched["schedule_layers"]) < 2:
            continue
        r = render_schedule(sched, [], account.now, account.now + timedelta(days=7))
        lowest_alone = r.coverage(r.layers[-1]) or 0
        shown = sum(
            (p.end - p.start).total_seconds()
            for p in r.clipped(r.final)
            if p.source.startswith(f"layer:{sched['schedule_layers'][-1]['id']}:")
        )
        if lowest_alone > 0 and shown < lowest_alone / 100 * 7 * DAY - 1:
            found = True
            break
    assert found


def test_restrictions_daily_and_weekly_wrapping_midnight_and_the_week(account: Account) -> None:
    kinds = set()
    for _s, layer in layers(account):
        for r in layer["restrictions"]:
            end = seconds_of_day(r["start_time_of_day"]) + r["duration_seconds"]
            if r["type"] == "daily_restriction":
                kinds.add("daily")
                if end > DAY:
                    kinds.add("daily wrapping midnight")
            else:
                kinds.add("weekly")
                if (r["start_day_of_week"] - 1) * DAY + end > WEEK_SECONDS:
                    kinds.add("weekly wrapping the week")
    assert kinds == {"daily", "daily wrapping midnight", "weekly", "weekly wrapping the week"}


def test_layers_that_ended_start_later_or_end_later(account: Account) -> None:
    now = account.now
    fates = set()
    for _s, layer in layers(account):
        start, end = parse_instant(layer["start"]), layer["end"] and parse_instant(layer["end"])
        if end and end <= now:
            fates.add("ended")
        if start > now:
            fates.add("starts later")
        if end and end > now:
            fates.add("ends later")
        if parse_instant(layer["rotation_virtual_start"]) < start:
            fates.add("anchored before its start")
        if parse_instant(layer["rotation_virtual_start"]) > start:
            fates.add("anchored after its start")
    assert fates == {
        "ended",
        "starts later",
        "ends later",
        "anchored before its start",
        "anchored after its start",
    }


def test_turn_lengths_of_hours_days_and_weeks(account: Account) -> None:
    lengths = {layer["rotation_turn_length_seconds"] for _s, layer in layers(account)}
    assert {8 * 3600, 12 * 3600, DAY, 3 * DAY, WEEK_SECONDS, 2 * WEEK_SECONDS} <= lengths


def test_zones_with_dst_odd_offsets_a_rails_name_and_a_legacy_link(account: Account) -> None:
    zones = {s["time_zone"] for s in account.schedules}
    assert sum(zone_changes(z) for z in zones) >= 4
    odd = {"Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe", "America/St_Johns"}
    assert odd <= zones
    assert {"Etc/GMT+12", "Eastern Time (US & Canada)", "Europe/Kiev"} <= zones


def test_overrides_overlapping_across_dst_and_for_a_deleted_user(account: Account) -> None:
    deleted = {u["id"] for u in account.deleted_users}
    found = set()
    by_id = {s["id"]: s for s in account.schedules}
    for sid, overrides in account.overrides.items():
        spans = [(parse_instant(o["start"]), parse_instant(o["end"]), o) for o in overrides]
        zone = resolve_zone(by_id[sid]["time_zone"])
        for i, (a, b, o) in enumerate(spans):
            if o["user"]["id"] in deleted:
                found.add("deleted user")
            if a.astimezone(zone).utcoffset() != b.astimezone(zone).utcoffset():
                found.add("across a DST change")
            if any(c < b and a < d for c, d, _ in spans[i + 1 :]):
                found.add("overlapping")
    assert found == {"deleted user", "across a DST change", "overlapping"}


def test_layers_reference_a_deleted_user_and_repeat_a_user(account: Account) -> None:
    deleted = {u["id"] for u in account.deleted_users}
    assert any(u["email"] == DELETED_USER_EMAIL for u in account.deleted_users)
    users = [[e["user"]["id"] for e in layer["users"]] for _s, layer in layers(account)]
    assert any(set(ids) & deleted for ids in users)
    assert any(len(ids) != len(set(ids)) for ids in users)


def test_policies_have_user_and_schedule_targets_repeats_and_relative_delays(
    account: Account,
) -> None:
    kinds, loops, delays = set(), set(), set()
    deleted = {u["id"] for u in account.deleted_users} | {
        s["id"] for s in account.deleted_schedules
    }
    for policy in account.escalation_policies:
        loops.add(policy["num_loops"])
        for rule in policy["escalation_rules"]:
            delays.add(rule["escalation_delay_in_minutes"])
            for target in rule["targets"]:
                kinds.add(target["type"] + (" (deleted)" if target["id"] in deleted else ""))
            if len(rule["targets"]) == 10:
                kinds.add("ten targets")
    assert kinds >= {
        "user_reference",
        "schedule_reference",
        "schedule_v3_reference",
        "user_reference (deleted)",
        "schedule_reference (deleted)",
        "ten targets",
    }
    assert {0, 1, 2, 3, 9} <= loops
    assert {1, 5, 10, 15, 20, 30, 60} <= delays
    assert set(account.assignment_strategies.values()) == {"round_robin", "assign_to_everyone"}
    assert any(s["name"] == DELETED_SCHEDULE_NAME for s in account.deleted_schedules)


def test_teams_have_every_role_private_nested_empty_and_shared_members(account: Account) -> None:
    roles = {m["role"] for ms in account.members.values() for m in ms}
    assert roles == {"manager", "responder", "observer"}
    assert {t["default_role"] for t in account.teams} == {"manager", "none"}
    assert any(t["parent"] for t in account.teams)
    assert any(not account.members[t["id"]] for t in account.teams)
    assert any(len(u["teams"]) >= 3 for u in account.users)


def test_users_have_every_role_and_contact_type_and_some_have_none(account: Account) -> None:
    assert {u["role"] for u in account.users} >= {
        "owner",
        "admin",
        "user",
        "limited_user",
        "observer",
        "restricted_access",
        "read_only_user",
        "read_only_limited_user",
    }
    types = {c["type"] for cms in account.contact_methods.values() for c in cms}
    assert types == {
        "email_contact_method",
        "phone_contact_method",
        "sms_contact_method",
        "whatsapp_contact_method",
        "push_notification_contact_method",
    }
    assert any(c.get("blacklisted") for cms in account.contact_methods.values() for c in cms)
    assert any(c.get("enabled") is False for cms in account.contact_methods.values() for c in cms)
    assert any(not account.contact_methods.get(u["id"]) for u in account.users)
    assert any(u["time_zone"] is None for u in account.users)
    urgencies = {r["urgency"] for rules in account.notification_rules.values() for r in rules}
    assert urgencies == {"high", "low"}
    assert account.handoff_rules


def test_services_carry_every_kind_of_secret_and_the_list_names_them_all(
    account: Account,
) -> None:
    secrets = account_secrets(account)
    kinds = {s.where.rsplit(".", 1)[-1] for s in secrets}
    assert kinds >= {
        "integration_key",
        "integration_email",
        "service_key",
        "endpoint_url",
        "token",
        "url",
        "http_cal_url",
        "web_cal_url",
    }
    assert all(SECRET_MARK in s.value for s in secrets)
    assert secret_values(account) == {s.value for s in secrets}
    # Nothing in the account carries the mark without the list naming it.
    token = re.compile(SECRET_MARK + "[0-9a-f]+")
    listed = Counter(t for s in secrets for t in token.findall(s.value))
    assert Counter(token.findall(json.dumps(account.__dict__, default=str))) == listed


def test_demo_and_large_have_lists_longer_than_a_page() -> None:
    demo = generate_account("demo")
    assert len(demo.users) > 100
    assert max(len(m) for m in demo.members.values()) > 100


# -- the fewest requests ---------------------------------------------------------------------------


def test_minimum_requests_for_the_tiny_account_part_by_part() -> None:
    tiny = generate_account("tiny")
    since, until = tiny.now, tiny.now + timedelta(days=28)
    count = minimum_requests(tiny, since, until)
    restricted_zones = {
        resolve_zone(s["time_zone"]).key
        for s in tiny.schedules
        if any(layer["restrictions"] for layer in s["schedule_layers"])
    }
    with_overrides = {
        sid
        for sid, overrides in tiny.overrides.items()
        if any(
            parse_instant(o["start"]) < until and parse_instant(o["end"]) > since for o in overrides
        )
    }
    # One list page holds all ten schedules, so each zone with restricted schedules costs one
    # more request (New York holds two: one by its Rails name), but the list pass's own zone.
    assert count.schedules_reread == len(restricted_zones)  # listed in UTC, where none is
    for list_zone in ("America/New_York", "Eastern Time (US & Canada)", None):
        again = minimum_requests(tiny, since, until, list_zone=list_zone)
        assert again.schedules_reread == len(restricted_zones) - 1
    assert count.overrides == len(with_overrides)
    assert count.members == len(tiny.teams)  # every team fits a page; the empty one costs one
    assert (count.users, count.teams, count.schedules, count.escalation_policies) == (1, 1, 1, 1)
    assert (count.abilities, count.services, count.v3_schedules, count.handoff_rules) == (
        1,
    ) * 3 + (0,)
    assert (
        count.total
        == 1
        + 1
        + 1
        + len(tiny.teams)
        + 1
        + count.schedules_reread
        + len(with_overrides)
        + 1
        + 1
        + 1
    )
    assert count.exact


def test_minimum_requests_follow_pages_abilities_entitlement_and_the_cap() -> None:
    demo = generate_account("demo")
    since, until = demo.now, demo.now + timedelta(days=28)
    base = minimum_requests(demo, since, until)
    assert base.users == 3  # 250 users
    assert base.members == len(demo.teams) + 1  # one team of more than 100
    assert minimum_requests(demo, since, until, with_handoff_rules=True).handoff_rules == 250
    refused = minimum_requests(demo, since, until, assignment_strategies_entitled=False)
    assert refused.escalation_policies == base.escalation_policies + 1
    no_teams = replace(demo, abilities=[a for a in demo.abilities if a != "teams"])
    assert (
        minimum_requests(no_teams, since, until).teams,
        minimum_requests(no_teams, since, until).members,
    ) == (0, 0)
    crowded = replace(demo, users=demo.users * 41)  # 10,250 users: past the offset cap
    capped = minimum_requests(crowded, since, until)
    assert (capped.users, capped.exact) == (103, False)
