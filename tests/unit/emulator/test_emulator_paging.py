"""The emulator's own paging computation on small hand-made accounts (DST, forwarding windows,
maintenance, policies, wrapping restrictions), its properties on generated accounts, and its
emulator-only endpoint."""

from __future__ import annotations

import copy
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from oncall_sync.emulator.account import Account
from oncall_sync.emulator.alert_samples import sample_alerts
from oncall_sync.emulator.app import TEST_API_KEY, EmulatorConfig, create_app
from oncall_sync.emulator.constructs.base import time_of_day, weekday_windows
from oncall_sync.emulator.generator import generate_account
from oncall_sync.emulator.paging import ASSUMPTIONS, Alert, PagingAnswer, who_is_paged

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DOCS = Path(__file__).resolve().parents[3] / "docs" / "emulator.md"
TEAM = "team-ops"


def user(name: str, zone: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"u-{name}",
        "username": f"{name}@example.com",
        "timeZone": zone,
        "blocked": False,
        **extra,
    }


def contact(method: str, to: str, enabled: bool = True) -> dict[str, Any]:
    return {
        "id": f"c-{to}",
        "method": method,
        "to": to,
        "status": {"enabled": enabled, "disabledReason": "" if enabled else "Disabled by user"},
        "applyOrder": 0,
    }


def step(method: str, to: str, after: int = 0, enabled: bool = True) -> dict[str, Any]:
    return {
        "id": f"s-{method}-{after}",
        "sendAfter": {"timeAmount": after, "timeUnit": "minutes"},
        "contact": {"method": method, "to": to},
        "enabled": enabled,
    }


def rule(
    name: str, action: str, steps: list[dict[str, Any]], order: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"r-{name}",
        "name": name,
        "actionType": action,
        "criteria": {"type": "match-all", "conditions": []},
        "order": order,
        "steps": steps,
        "enabled": True,
        **extra,
    }


def defaults(email: str) -> list[dict[str, Any]]:
    return [
        rule("New Alert", "create-alert", [step("email", email)]),
        rule("Renotified Alert", "renotified-alert", [step("email", email)]),
    ]


def escalation(eid: str, *rules: tuple[int, str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "name": eid,
        "rules": [
            {
                "condition": "if-not-acked",
                "notifyType": notify,
                "delay": {"timeAmount": minutes, "timeUnit": "minutes"},
                "recipient": recipient,
            }
            for minutes, notify, recipient in rules
        ],
        **extra,
    }


def ref(kind: str, ident: str) -> dict[str, Any]:
    return {"type": kind, "id": ident, "name": ident}


def routing(
    name: str, target: dict[str, Any], *conditions: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    criteria = (
        {"type": "match-all-conditions", "conditions": list(conditions)}
        if conditions
        else {"type": "match-all", "conditions": []}
    )
    return {
        "id": f"rr-{name}",
        "name": name,
        "isDefault": False,
        "criteria": criteria,
        "notify": target,
        **extra,
    }


def tag_is(tag: str) -> dict[str, Any]:
    return {"field": "tags", "operation": "contains", "expectedValue": tag, "not": False}


def mini() -> Account:
    """Ops in New York: a daily 09:00 rotation Ann/Bob from Monday 2026-03-02 (Ann's turns are
    the even days since), escalation 0 min on call / 5 min next / 10 min the whole team; at night
    in Berlin P1 goes to Cid; tags `to-<name>` page one person directly."""
    ann = user("ann", "America/New_York")
    bob = user("bob", "Europe/London")
    cid = user("cid", "UTC")
    dan = user("dan", "UTC", blocked=True)
    eve = user("eve", "UTC")
    people = [ann, bob, cid, dan, eve]
    contacts = {
        "u-ann": [contact("email", "ann@example.com"), contact("sms", "1-2025550101")],
        "u-bob": [contact("email", "bob@example.com"), contact("sms", "44-7400000002")],
        "u-cid": [
            contact("email", "cid@example.com"),
            contact("voice", "1-2025550103", enabled=False),
        ],
        "u-dan": [contact("email", "dan@example.com")],
        "u-eve": [contact("email", "eve@example.com")],
    }
    members = [
        {"user": {"id": "u-ann", "username": "ann@example.com"}, "role": "admin"},
        {"user": {"id": "u-bob", "username": "bob@example.com"}, "role": "user"},
        {"user": {"id": "u-cid", "username": "cid@example.com"}, "role": "user"},
    ]
    schedule = {
        "id": "sched",
        "name": "Ops_schedule",
        "timezone": "America/New_York",
        "enabled": True,
        "rotations": [
            {
                "id": "rot",
                "name": "Daily",
                "startDate": "2026-03-02T14:00:00Z",  # Monday 09:00 EST
                "type": "daily",
                "length": 1,
                "participants": [
                    {"type": "user", "id": "u-ann", "username": "ann@example.com"},
                    {"type": "user", "id": "u-bob", "username": "bob@example.com"},
                ],
            }
        ],
    }
    escalations = [
        escalation(
            "esc",
            (0, "default", ref("schedule", "sched")),
            (5, "next", ref("schedule", "sched")),
            (10, "all", ref("team", TEAM)),
        ),
        escalation("nights", (0, "default", ref("user", "u-cid"))),
        *[
            escalation(f"direct-{p}", (0, "default", ref("user", f"u-{p}")))
            for p in ("ann", "bob", "cid", "eve")
        ],
    ]
    rules = [
        *[
            routing(f"to-{p}", ref("escalation", f"direct-{p}"), tag_is(f"to-{p}"))
            for p in ("ann", "bob", "cid", "eve")
        ],
        routing(
            "P1 nights",
            ref("escalation", "nights"),
            {"field": "priority", "operation": "equals", "expectedValue": "P1", "not": False},
            timezone="Europe/Berlin",
            timeRestriction=time_of_day((22, 0), (6, 0)),
        ),
        {**routing("Default Rule", ref("escalation", "esc")), "isDefault": True},
    ]
    for order, r in enumerate(rules):
        r["order"] = order
    return Account(
        name="mini",
        plan={},
        users=people,
        contacts=contacts,
        teams=[{"id": TEAM, "name": TEAM, "members": members}],
        schedules=[schedule],
        escalations=escalations,
        time_zone="Europe/Berlin",
        notification_rules={u["id"]: defaults(u["username"]) for u in people},
        routing_rules={TEAM: rules},
        integrations=[
            {
                "id": "int-default",
                "name": "Default API",
                "type": "API",
                "enabled": True,
                "isGlobal": True,
                "feature-type": "token-based",
                "isDefaultIntegration": True,
                "isAdvanced": False,
                "responders": [],
                "priority": "{{priority}}",
                "tags": [],
            }
        ],
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ask(account: Account, when: str, minutes: int = 15, **fields: Any) -> PagingAnswer:
    fields.setdefault("team_id", TEAM)
    return who_is_paged(account, Alert(created_at=at(when), **fields), minutes)


def pages(answer: PagingAnswer) -> list[tuple[int, str, str, str]]:
    """(minute, who, method, create|renotify) per page."""
    return [
        (
            p.minute,
            p.username.split("@")[0],
            p.method,
            "create" if p.action_type == "create-alert" else "renotify",
        )
        for p in answer.pages
    ]


def first(answer: PagingAnswer) -> list[str]:
    return sorted({p.username.split("@")[0] for p in answer.pages if p.minute == 0})


# -- escalation timing -----------------------------------------------------------------------------


def test_levels_fire_at_their_absolute_minutes() -> None:
    answer = ask(mini(), "2026-03-04T15:00:00Z")  # Wednesday 10:00 in New York: Ann's turn
    assert pages(answer) == [
        (0, "ann", "email", "create"),
        (5, "bob", "email", "create"),  # `next`: the one after Ann in the rotation
        (10, "ann", "email", "renotify"),
        (10, "bob", "email", "renotify"),
        (10, "cid", "email", "create"),
    ]
    assert "Default Rule" in answer.pages[0].via and "next-previous" in answer.pages[1].assumptions


def test_the_horizon_holds_minutes_zero_to_n_minus_one() -> None:
    assert [p[0] for p in pages(ask(mini(), "2026-03-04T15:00:00Z", minutes=10))] == [0, 5]
    with pytest.raises(ValueError, match="at least 1"):
        ask(mini(), "2026-03-04T15:00:00Z", minutes=0)


def test_repeat_cycles_and_close_after_all() -> None:
    account = mini()
    esc = next(e for e in account.escalations if e["id"] == "esc")
    esc["repeat"] = {
        "waitInterval": 10,
        "count": 1,
        "resetRecipientStates": False,
        "closeAlertAfterAll": True,
    }
    account.notification_rules["u-cid"][0]["steps"].append(
        step("email", "cid@example.com", after=2)
    )
    answer = ask(account, "2026-03-04T15:00:00Z", minutes=60)
    # cycle 2 starts 10 minutes after the first cycle's last rule (minute 10): 20, 25, 30
    assert sorted({p[0] for p in pages(answer)}) == [0, 5, 10, 12, 20, 25, 30]
    assert (30, "cid", "email", "renotify") in pages(answer)
    assert "escalation-repeat" in answer.assumptions


# -- DST -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "on_call"),
    [
        ("2026-03-09T12:30:00Z", ["ann"]),  # Monday 08:30 EDT: Sunday's turn still runs
        ("2026-03-09T13:30:00Z", ["bob"]),  # 09:30 EDT: the handoff stayed at 09:00 local
        ("2026-03-06T13:30:00Z", ["bob"]),  # the Friday before, 08:30 EST: Thursday's turn
    ],
)
def test_the_rotation_hands_over_at_local_nine_across_dst(when: str, on_call: list[str]) -> None:
    assert first(ask(mini(), when)) == on_call


@pytest.mark.parametrize(
    ("when", "paged"),
    [
        ("2026-03-28T04:30:00Z", ["cid"]),  # 05:30 CET: inside 22:00-06:00 Berlin
        ("2026-03-29T03:59:00Z", ["cid"]),  # 05:59 CEST, after the change: inside
        ("2026-03-29T04:00:00Z", ["ann"]),  # 06:00 CEST: outside, the default rule
        ("2026-03-28T20:59:00Z", ["ann"]),  # 21:59 CET: outside; Saturday's turn in New York
        ("2026-03-28T21:00:00Z", ["cid"]),  # 22:00 CET: inside
    ],
)
def test_the_routing_window_is_read_in_the_rule_zone_across_dst(
    when: str, paged: list[str]
) -> None:
    assert first(ask(mini(), when, priority="P1")) == paged


def test_a_notification_rule_window_wraps_midnight_in_the_user_zone_across_dst() -> None:
    account = mini()
    nights = rule(
        "Nights",
        "create-alert",
        [step("sms", "1-2025550101"), step("email", "ann@example.com", after=2)],
        timeRestriction=time_of_day((19, 0), (7, 0)),
    )
    account.notification_rules["u-ann"] = [nights, *defaults("ann@example.com")]
    account.notification_rules["u-ann"][1]["order"] = 1

    def direct(when: str) -> list[tuple[int, str, str, str]]:
        return pages(ask(account, when, tags=("to-ann",)))

    assert direct("2026-03-05T01:00:00Z") == [
        (0, "ann", "sms", "create"),
        (2, "ann", "email", "create"),
    ]
    assert direct("2026-03-05T13:00:00Z") == [(0, "ann", "email", "create")]  # 08:00 EST
    assert direct("2026-03-08T11:30:00Z") == [(0, "ann", "email", "create")]  # 07:30 EDT: out
    assert direct("2026-03-07T11:30:00Z")[0][2] == "sms"  # 06:30 EST the day before: in


@pytest.mark.parametrize(
    ("when", "method"),
    [
        ("2026-03-06T17:59:00Z", "email"),  # Friday 17:59 London: before the window
        ("2026-03-06T18:00:00Z", "sms"),  # Friday 18:00: the window opens
        ("2026-03-08T12:00:00Z", "sms"),  # Sunday: inside, across the weekend
        ("2026-03-09T08:59:00Z", "sms"),  # Monday 08:59: still inside
        ("2026-03-09T09:00:00Z", "email"),  # Monday 09:00: closed
        ("2026-03-30T08:30:00Z", "email"),  # Monday 09:30 BST (08:30Z): closed after the change
        ("2026-03-30T07:30:00Z", "sms"),  # Monday 08:30 BST: inside
    ],
)
def test_a_weekend_window_wraps_the_week(when: str, method: str) -> None:
    account = mini()
    weekend = rule(
        "Weekend",
        "create-alert",
        [step("sms", "44-7400000002")],
        timeRestriction=weekday_windows(("friday", 18, 0, "monday", 9, 0)),
    )
    account.notification_rules["u-bob"] = [weekend, *defaults("bob@example.com")]
    account.notification_rules["u-bob"][1]["order"] = 1
    assert [p[2] for p in pages(ask(account, when, tags=("to-bob",)))] == [method]


# -- forwarding ------------------------------------------------------------------------------------


def forward(account: Account, source: str, target: dict[str, Any], start: str, end: str) -> None:
    account.forwarding_rules.append(
        {
            "id": f"f-{source}-{target['id']}",
            "alias": f"{source}-away",
            "fromUser": {"id": f"u-{source}", "username": f"{source}@example.com"},
            "toUser": target,
            "startDate": start,
            "endDate": end,
        }
    )


def person(name: str) -> dict[str, Any]:
    return {"id": f"u-{name}", "username": f"{name}@example.com"}


def test_forwarding_replaces_the_person_for_its_window_only() -> None:
    account = mini()
    forward(account, "ann", person("cid"), "2026-03-04T15:00:00Z", "2026-03-04T16:00:00Z")
    inside = ask(account, "2026-03-04T15:00:00Z")
    assert pages(inside) == [
        (0, "cid", "email", "create"),
        (5, "bob", "email", "create"),
        (10, "bob", "email", "renotify"),
        (10, "cid", "email", "renotify"),  # Ann (forwarded) and Cid himself: once
    ]
    assert "forwarding" in inside.pages[0].assumptions and "forwarded by ann" in inside.pages[0].via
    assert first(ask(account, "2026-03-04T14:59:00Z")) == ["ann"]
    assert first(ask(account, "2026-03-04T16:00:00Z")) == ["ann"]  # the end is exclusive


def test_a_forwarding_window_spanning_dst_holds_on_both_sides() -> None:
    account = mini()
    forward(account, "ann", person("eve"), "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z")
    for when in ("2026-03-08T06:00:00Z", "2026-03-08T08:00:00Z", "2026-03-09T11:59:00Z"):
        assert first(ask(account, when, tags=("to-ann",))) == ["eve"], when
    assert first(ask(account, "2026-03-09T12:00:00Z", tags=("to-ann",))) == ["ann"]


def test_forwarding_chains_are_followed_and_loops_are_named() -> None:
    account = mini()
    forward(account, "ann", person("bob"), "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z")
    forward(account, "bob", person("cid"), "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z")
    assert first(ask(account, "2026-03-04T10:00:00Z", tags=("to-ann",))) == ["cid"]
    account.forwarding_rules[1]["toUser"] = person("ann")  # Bob forwards back to Ann
    looped = ask(account, "2026-03-04T10:00:00Z", tags=("to-ann",))
    assert first(looped) == ["bob"]
    assert [u.candidates for u in looped.undecided] == [("ann@example.com", "bob@example.com")]


def test_forwarding_to_a_departed_or_blocked_user_pages_nobody() -> None:
    account = mini()
    forward(
        account,
        "ann",
        {"id": "u-gone", "username": "gone@example.com"},
        "2026-03-04T00:00:00Z",
        "2026-03-05T00:00:00Z",
    )
    forward(account, "bob", person("dan"), "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z")
    gone = ask(account, "2026-03-04T10:00:00Z", tags=("to-ann",))
    assert gone.pages == [] and any("gone@example.com" in n for n in gone.notes)
    blocked = ask(account, "2026-03-04T10:00:00Z", tags=("to-bob",))
    assert blocked.pages == [] and any("dan@example.com is blocked" in n for n in blocked.notes)


# -- maintenance -----------------------------------------------------------------------------------


def window(status: str, start: str, end: str | None, *rules: dict[str, Any]) -> dict[str, Any]:
    time = {"type": "schedule" if end else "indefinitely", "startDate": start}
    if end:
        time["endDate"] = end
    return {
        "id": f"m-{status}-{start}",
        "status": status,
        "description": "",
        "time": time,
        "rules": list(rules),
    }


OFF_DEFAULT_API = {"state": "disabled", "entity": {"id": "int-default", "type": "integration"}}


def test_an_integration_off_for_maintenance_creates_no_alert() -> None:
    account = mini()
    account.maintenance = [
        window("active", "2026-03-04T14:00:00Z", "2026-03-04T16:00:00Z", OFF_DEFAULT_API)
    ]
    during = ask(account, "2026-03-04T15:00:00Z")
    assert during.pages == [] and any("off at creation" in n for n in during.notes)
    assert "maintenance" in during.assumptions
    assert first(ask(account, "2026-03-04T16:00:00Z")) == ["ann"]
    account.maintenance = [
        window("cancelled", "2026-03-04T14:00:00Z", "2026-03-04T16:00:00Z", OFF_DEFAULT_API)
    ]
    assert first(ask(account, "2026-03-04T15:00:00Z")) == ["ann"]
    account.maintenance = [window("active", "2026-03-04T14:00:00Z", None, OFF_DEFAULT_API)]
    assert ask(account, "2026-04-20T15:00:00Z").pages == []  # indefinitely


def test_maintenance_forces_a_disabled_policy_on() -> None:
    account = mini()
    account.global_policies = [
        {
            "id": "pol-raise",
            "name": "Raise",
            "type": "alert",
            "enabled": False,
            "filter": {"type": "match-all-conditions", "conditions": [tag_is("raise")]},
            "priority": "P1",
            "responders": [],
            "tags": [],
        }
    ]
    night = "2026-03-04T23:00:00Z"  # 00:00 CET: P1 would go to Cid
    assert first(ask(account, night, tags=("raise",))) == ["ann"]
    account.maintenance = [
        window(
            "active",
            "2026-03-04T00:00:00Z",
            "2026-03-06T00:00:00Z",
            {"state": "enabled", "entity": {"id": "pol-raise", "type": "policy"}},
        )
    ]
    assert first(ask(account, night, tags=("raise",))) == ["cid"]


# -- policies --------------------------------------------------------------------------------------


def alert_policy(name: str, conditions: list[dict[str, Any]], **effects: Any) -> dict[str, Any]:
    return {
        "id": f"pol-{name}",
        "name": name,
        "type": "alert",
        "enabled": True,
        "filter": {
            "type": "match-all-conditions" if conditions else "match-all",
            "conditions": conditions,
        },
        "priority": "{{priority}}",
        "tags": [],
        "responders": [],
        **effects,
    }


def test_global_alert_policies_apply_first_match_and_continue() -> None:
    account = mini()
    account.global_policies = [
        alert_policy("Prod is P1", [tag_is("prod")], priority="P1", **{"continue": True}),
        alert_policy("Add Eve", [], responders=[{"type": "user", "id": "u-eve"}]),
        alert_policy("Add Dan", [], responders=[{"type": "user", "id": "u-dan"}]),
    ]
    answer = ask(account, "2026-03-04T22:30:00Z", tags=("prod",))  # 23:30 CET: P1 at night
    assert first(answer) == ["cid", "eve"]  # P1 routes to nights; Eve added; Dan's never reached
    assert not any("dan" in n for n in answer.notes)
    assert first(ask(account, "2026-03-04T22:30:00Z")) == ["ann", "eve"]  # no prod tag: P3


def test_a_policy_time_restriction_is_read_in_the_account_zone() -> None:
    account = mini()
    account.global_policies = [
        alert_policy(
            "Weekend Eve",
            [],
            responders=[{"type": "user", "id": "u-eve"}],
            timeRestrictions=weekday_windows(("saturday", 0, 0, "monday", 0, 0)),
        )
    ]
    assert "eve" in first(ask(account, "2026-03-06T23:30:00Z"))  # Saturday 00:30 in Berlin
    assert "eve" not in first(ask(account, "2026-03-06T22:30:00Z"))  # Friday 23:30 in Berlin


def notification_policy(
    name: str, conditions: list[dict[str, Any]], **effects: Any
) -> dict[str, Any]:
    return {
        "id": f"np-{name}",
        "name": name,
        "type": "notification",
        "teamId": TEAM,
        "enabled": True,
        "filter": {"type": "match-all-conditions", "conditions": conditions},
        "suppress": False,
        **effects,
    }


def test_a_suppressing_team_policy_silences_the_alert_only_when_its_team_is_the_scope() -> None:
    account = mini()
    account.team_policies = {TEAM: [notification_policy("Quiet", [tag_is("quiet")], suppress=True)]}
    quiet = ask(account, "2026-03-04T15:00:00Z", tags=("quiet",))
    assert quiet.pages == [] and any("suppresses" in n for n in quiet.notes)
    account.teams.append({"id": "team-other", "name": "other", "members": []})
    account.routing_rules["team-other"] = [
        {**routing("Default Rule", {"type": "none"}), "isDefault": True, "order": 0}
    ]
    account.integrations.append(
        {
            **account.integrations[0],
            "id": "int-mon",
            "name": "Monitoring",
            "isDefaultIntegration": False,
            "responders": [{"type": "team", "id": TEAM}, {"type": "team", "id": "team-other"}],
        }
    )
    two_teams = ask(
        account, "2026-03-04T15:00:00Z", team_id=None, integration_id="int-mon", tags=("quiet",)
    )
    assert first(two_teams) == ["ann"]  # a global integration with two teams: no team's policies


def test_delay_until_next_morning_in_the_account_zone_across_dst() -> None:
    account = mini()
    p5 = {"field": "priority", "operation": "equals", "expectedValue": "P5", "not": False}
    account.team_policies = {
        TEAM: [
            notification_policy(
                "Morning",
                [p5],
                delayAction={"delayOption": "next-time", "untilHour": 8, "untilMinute": 0},
            )
        ]
    }
    before = ask(account, "2026-03-04T23:30:00Z", minutes=500, priority="P5")  # 00:30 CET
    assert pages(before)[:2] == [(450, "ann", "email", "create"), (455, "bob", "email", "create")]
    across = ask(account, "2026-03-28T23:30:00Z", minutes=400, priority="P5")  # 00:30 CET, Sunday
    assert pages(across)[0][0] == 390  # 08:00 CEST is 06:00Z: an hour sooner than in winter
    assert {"notification-policies", "delay-times"} <= set(before.assumptions)


@pytest.mark.parametrize(
    ("option", "when", "minute"),
    [
        ("for-duration", "2026-03-04T15:00:00Z", 15),
        ("next-weekday", "2026-03-06T20:00:00Z", 60 * 60 + 0),  # Friday 21:00 CET to Monday 09:00
        ("next-monday", "2026-03-03T15:00:00Z", (5 * 24 + 17) * 60),  # Tuesday 16:00 CET
        ("next-monday", "2026-03-09T07:00:00Z", 60),  # Monday 08:00 CET: 09:00 is still ahead
    ],
)
def test_delay_options(option: str, when: str, minute: int) -> None:
    account = mini()
    delay: dict[str, Any] = {"delayOption": option, "untilHour": 9, "untilMinute": 0}
    if option == "for-duration":
        delay = {"delayOption": option, "duration": {"timeAmount": 15, "timeUnit": "minutes"}}
    account.team_policies = {TEAM: [notification_policy("Delay", [], delayAction=delay)]}
    answer = ask(account, when, minutes=minute + 1)
    assert [p[0] for p in pages(answer)] == [minute]


def test_auto_close_stops_and_auto_restart_repeats() -> None:
    account = mini()
    account.team_policies = {
        TEAM: [
            notification_policy(
                "Close",
                [tag_is("transient")],
                autoCloseAction={"duration": {"timeAmount": 7, "timeUnit": "minutes"}},
            ),
            notification_policy(
                "Restart",
                [tag_is("restart")],
                autoRestartAction={
                    "duration": {"timeAmount": 30, "timeUnit": "minutes"},
                    "maxRepeatCount": 1,
                },
            ),
        ]
    }
    closed = ask(account, "2026-03-04T15:00:00Z", tags=("transient",))
    assert [p[0] for p in pages(closed)] == [0, 5]
    restarted = ask(account, "2026-03-04T15:00:00Z", minutes=45, tags=("restart",))
    assert [p[0] for p in pages(restarted)] == [0, 5, 10, 10, 10, 30, 35, 40, 40, 40]
    assert all(p[3] == "renotify" for p in pages(restarted) if p[0] >= 30)


# -- recipients, integrations, people --------------------------------------------------------------


def test_team_recipients_by_notify_type_and_random_is_undecided() -> None:
    account = mini()
    account.teams.append({"id": "team-db", "name": "db", "members": []})
    account.routing_rules["team-db"] = [
        {**routing("Default Rule", ref("escalation", "direct-eve")), "isDefault": True, "order": 0}
    ]
    esc = next(e for e in account.escalations if e["id"] == "direct-bob")
    esc["rules"] = escalation(
        "x",
        (0, "admins", ref("team", TEAM)),
        (1, "users", ref("team", TEAM)),
        (2, "random", ref("team", TEAM)),
        (3, "default", ref("team", "team-db")),  # routed by db's own rules: Eve
    )["rules"]
    answer = ask(account, "2026-03-04T15:00:00Z", tags=("to-bob",))
    assert [(p[0], p[1]) for p in pages(answer)] == [(0, "ann"), (1, "bob"), (1, "cid"), (3, "eve")]
    assert [(u.minute, u.reason) for u in answer.undecided] == [(2, "one member at random")]
    assert answer.undecided[0].candidates == (
        "ann@example.com",
        "bob@example.com",
        "cid@example.com",
    )
    assert {"random-member", "team-recipient"} <= set(answer.assumptions)


def test_a_team_routed_back_into_itself_is_a_named_loop() -> None:
    account = mini()
    esc = next(e for e in account.escalations if e["id"] == "esc")
    esc["rules"] = escalation("x", (0, "default", ref("team", TEAM)))["rules"]
    answer = ask(account, "2026-03-04T15:00:00Z")
    assert answer.pages == [] and "loop" in answer.undecided[0].reason


def test_advanced_integration_actions_first_match_ignore_and_none() -> None:
    account = mini()
    account.integrations.append(
        {
            **account.integrations[0],
            "id": "int-adv",
            "name": "Advanced",
            "isDefaultIntegration": False,
            "isAdvanced": True,
        }
    )
    account.integration_actions["int-adv"] = {
        "create": [
            {
                "type": "create",
                "name": "P1",
                "order": 2,
                "filter": {
                    "conditionMatchType": "match-all-conditions",
                    "conditions": [tag_is("db")],
                },
                "responders": [{"type": "user", "id": "u-eve"}],
                "priority": "P1",
                "tags": [],
            },
        ],
        "ignore": [
            {
                "type": "ignore",
                "name": "Drop test",
                "order": 1,
                "filter": {
                    "conditionMatchType": "match-any-condition",
                    "conditions": [tag_is("test")],
                },
            },
        ],
    }

    def via(tags: tuple[str, ...]) -> PagingAnswer:
        return ask(
            account, "2026-03-04T15:00:00Z", team_id=None, integration_id="int-adv", tags=tags
        )

    assert first(via(("db",))) == ["eve"]
    ignored = via(("db", "test"))  # the ignore action comes first by order
    assert ignored.pages == [] and any("ignores" in n for n in ignored.notes)
    unmatched = via(("web",))
    assert unmatched.pages == [] and any("no action" in n for n in unmatched.notes)


def test_suppressed_disabled_and_outgoing_integrations_notify_nobody() -> None:
    account = mini()
    base = {
        **account.integrations[0],
        "isDefaultIntegration": False,
        "responders": [{"type": "user", "id": "u-eve"}],
    }
    account.integrations += [
        {**base, "id": "int-quiet", "name": "Quiet", "suppressNotifications": True},
        {**base, "id": "int-off", "name": "Off", "enabled": False},
        {"id": "int-hook", "name": "Hook", "type": "Webhook", "enabled": True, "isGlobal": True},
        {**base, "id": "int-loud", "name": "Loud"},
    ]
    for integration, note in [
        ("int-quiet", "suppresses"),
        ("int-off", "off at creation"),
        ("int-hook", "receives no alerts"),
    ]:
        answer = ask(account, "2026-03-04T15:00:00Z", team_id=None, integration_id=integration)
        assert answer.pages == [] and any(note in n for n in answer.notes), integration
    assert first(ask(account, "2026-03-04T15:00:00Z", team_id=None, integration_id="int-loud")) == [
        "eve"
    ]


def test_steps_skip_disabled_contacts_and_steps_and_loop_on_repeat() -> None:
    account = mini()
    account.notification_rules["u-cid"][0]["steps"] = [
        step("email", "cid@example.com"),
        step("voice", "1-2025550103", after=1),  # a disabled contact
        step("email", "cid@example.com", after=3, enabled=False),
    ]
    account.notification_rules["u-cid"][0]["repeat"] = {"loopAfter": 6, "enabled": True}
    answer = ask(account, "2026-03-04T15:00:00Z", tags=("to-cid",))
    assert pages(answer) == [
        (0, "cid", "email", "create"),
        (6, "cid", "email", "create"),
        (12, "cid", "email", "create"),
    ]
    assert "rule-repeat" in answer.assumptions
    assert any("disabled voice" in n for n in answer.notes)


def test_no_matching_rule_and_muted_users_get_nothing() -> None:
    account = mini()
    account.notification_rules["u-eve"] = []
    answer = ask(account, "2026-03-04T15:00:00Z", tags=("to-eve",))
    assert answer.pages == [] and any("no matching create-alert rule" in n for n in answer.notes)
    account.users[0]["mutedUntil"] = "2026-03-04T15:03:00Z"
    account.notification_rules["u-ann"][0]["steps"].append(step("sms", "1-2025550101", after=5))
    muted = ask(account, "2026-03-04T15:00:00Z", tags=("to-ann",))
    assert pages(muted) == [(5, "ann", "sms", "create")]


def test_bad_questions_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="needs a team_id, an integration_id"):
        Alert(created_at=at("2026-03-04T15:00:00Z"))
    with pytest.raises(ValueError, match="time zone"):
        Alert(created_at=datetime(2026, 3, 4, 15), team_id=TEAM)
    with pytest.raises(ValueError, match="no team with id"):
        ask(mini(), "2026-03-04T15:00:00Z", team_id="nope")


# -- generated accounts ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["tiny", "demo"])
def test_answers_on_generated_accounts_hold_together(size: str) -> None:
    account = generate_account(size)
    rule_contacts = {
        user_id: {(s["contact"]["method"], s["contact"]["to"]) for r in rules for s in r["steps"]}
        for user_id, rules in account.notification_rules.items()
    }
    blocked = {u["id"] for u in account.users if u["blocked"]}
    alerts = sample_alerts(account, 800, seed=5)
    assert len({a.created_at for a in alerts}) > 400  # window edges recur on purpose
    paged = 0
    for alert in alerts:
        answer = who_is_paged(account, alert, 60)
        assert answer == who_is_paged(account, alert, 60)  # deterministic
        seen: set[str] = set()
        for page in answer.pages:
            assert 0 <= page.minute < 60 and page.user_id not in blocked
            assert (page.method, page.address) in rule_contacts[page.user_id]
            assert (page.user_id in seen) or page.action_type == "create-alert"
            seen.add(page.user_id)
        assert [(p.at, p.username) for p in answer.pages] == sorted(
            (p.at, p.username) for p in answer.pages
        )
        assert set(answer.assumptions) <= set(ASSUMPTIONS)
        assert all(set(p.assumptions) <= set(answer.assumptions) for p in answer.pages)
        paged += bool(answer.pages)
    assert paged > len(alerts) // 3


def test_every_assumption_is_documented() -> None:
    text = DOCS.read_text()
    missing = [name for name in ASSUMPTIONS if f"`{name}`" not in text]
    assert not missing, f"docs/emulator.md does not list {missing}"


# -- the emulator-only endpoint --------------------------------------------------------------------


def test_the_paging_endpoint_answers_what_the_function_does() -> None:
    account = generate_account("tiny")
    client = TestClient(
        create_app(account, EmulatorConfig()), headers={"Authorization": f"GenieKey {TEST_API_KEY}"}
    )
    team = account.teams[0]["id"]
    params = {
        "team": team,
        "at": "2026-11-01T09:00:00Z",
        "minutes": "30",
        "priority": "P1",
        "tags": "prod,db",
        "extra.env": "prod",
    }
    served = client.get("/_emulator/paging", params=params)
    assert served.status_code == 200
    expected = who_is_paged(
        account,
        Alert(
            created_at=datetime(2026, 11, 1, 9, tzinfo=UTC),
            team_id=team,
            priority="P1",
            tags=("prod", "db"),
            extra_properties={"env": "prod"},
        ),
        30,
    )
    assert served.json()["data"] == expected.model_dump(mode="json") and expected.pages
    assert client.get("/_emulator/paging", params={"at": "2026-11-01T09:00:00Z"}).status_code == 422
    assert (
        client.get("/_emulator/paging", params={"team": team, "priority": "P9"}).status_code == 422
    )
    assert client.app.calls.total == 0  # type: ignore[attr-defined]


def test_the_hand_made_account_is_not_changed_by_asking() -> None:
    account = mini()
    before = copy.deepcopy(account)
    ask(account, "2026-03-04T15:00:00Z", minutes=60)
    assert account == before
