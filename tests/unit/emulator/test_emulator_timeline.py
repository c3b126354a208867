"""The emulator's own on-call computation, on small hand-made schedules."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from oncall_sync.emulator.app import TEST_API_KEY, EmulatorConfig, create_app
from oncall_sync.emulator.generator import Account, generate_account
from oncall_sync.emulator.timeline import (
    base_periods,
    iso,
    on_call_at,
    parse_instant,
    resolve_zone,
    schedule_timeline,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ANN = {"type": "user", "id": "u-ann", "username": "ann@example.com"}
BOB = {"type": "user", "id": "u-bob", "username": "bob@example.com"}
CID = {"type": "user", "id": "u-cid", "username": "cid@example.com"}
NEW_YORK = resolve_zone("America/New_York")


def at(text: str) -> datetime:
    return parse_instant(text)


def rotation(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "r1",
        "name": "Primary",
        "startDate": "2026-03-02T14:00:00Z",  # Monday 09:00 in New York (EST)
        "type": "daily",
        "length": 1,
        "participants": [ANN, BOB],
    }
    return {**base, **fields}


def schedule(*rotations: dict[str, Any], zone: str = "America/New_York") -> dict[str, Any]:
    return {
        "id": "s1",
        "name": "Ops",
        "timezone": zone,
        "enabled": True,
        "rotations": list(rotations),
    }


def who(periods: list[Any]) -> list[tuple[str, str, str]]:
    return [(iso(p.start), iso(p.end), p.who.get("id", "none")) for p in periods]


def on_call_ids(
    sched: dict[str, Any], moment: str, overrides: list[dict[str, Any]] | None = None
) -> list[str]:
    return [w["id"] for w in on_call_at(sched, overrides or [], at(moment))]


# -- zones -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone_id", "july_offset_hours"),
    [
        ("PST", -7),  # Java maps PST to America/Los_Angeles, with DST
        ("EST", -5),  # ...but EST to a fixed -05:00
        ("IST", 5.5),
        ("US/Pacific", -7),
        ("Asia/Calcutta", 5.5),
        ("GMT-8:00", -8),
        ("GMT+05:30", 5.5),
        ("Africa/Monrovia", 0),
    ],
)
def test_opsgenie_zone_ids_resolve(zone_id: str, july_offset_hours: float) -> None:
    offset = datetime(2026, 7, 1, tzinfo=UTC).astimezone(resolve_zone(zone_id)).utcoffset()
    assert offset == timedelta(hours=july_offset_hours)


# -- rotations -----------------------------------------------------------------------------------


def test_daily_handoff_keeps_the_wall_clock_across_dst() -> None:
    periods = base_periods(
        rotation(), NEW_YORK, at("2026-03-07T00:00:00Z"), at("2026-03-10T00:00:00Z")
    )
    assert who(periods) == [
        ("2026-03-07T00:00:00Z", "2026-03-07T14:00:00Z", "u-ann"),
        ("2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "u-bob"),  # 09:00 EDT after the change
        ("2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z", "u-ann"),
        ("2026-03-09T13:00:00Z", "2026-03-10T00:00:00Z", "u-bob"),
    ]


def test_hourly_rotation_of_length_two_cycles_through_everyone() -> None:
    hourly = rotation(type="hourly", length=2, participants=[ANN, BOB, CID])
    periods = base_periods(hourly, NEW_YORK, at("2026-03-02T14:00:00Z"), at("2026-03-03T00:00:00Z"))
    assert [p[2] for p in who(periods)] == ["u-ann", "u-bob", "u-cid", "u-ann", "u-bob"]
    assert who(periods)[1][:2] == ("2026-03-02T16:00:00Z", "2026-03-02T18:00:00Z")


def test_weekly_rotation_hands_over_every_seven_days() -> None:
    weekly = rotation(type="weekly")
    assert on_call_ids(schedule(weekly), "2026-03-08T12:00:00Z") == ["u-ann"]
    assert on_call_ids(schedule(weekly), "2026-03-10T12:00:00Z") == ["u-bob"]
    assert on_call_ids(schedule(weekly), "2026-03-17T12:00:00Z") == ["u-ann"]


def test_a_handoff_ends_a_period_even_to_the_same_person() -> None:
    solo = rotation(participants=[ANN])
    periods = base_periods(solo, NEW_YORK, at("2026-03-03T00:00:00Z"), at("2026-03-05T00:00:00Z"))
    assert who(periods) == [
        ("2026-03-03T00:00:00Z", "2026-03-03T14:00:00Z", "u-ann"),
        ("2026-03-03T14:00:00Z", "2026-03-04T14:00:00Z", "u-ann"),
        ("2026-03-04T14:00:00Z", "2026-03-05T00:00:00Z", "u-ann"),
    ]


def test_time_of_day_window_wrapping_midnight_is_kept() -> None:
    night = rotation(
        participants=[ANN],
        timeRestriction={
            "type": "time-of-day",
            "restriction": {"startHour": 19, "startMin": 0, "endHour": 11, "endMin": 0},
        },
    )
    periods = base_periods(night, NEW_YORK, at("2026-03-03T05:00:00Z"), at("2026-03-04T05:00:00Z"))
    # 00:00-11:00 and 19:00-24:00 New York (EST, UTC-5), split by the 09:00 handoff
    assert who(periods) == [
        ("2026-03-03T05:00:00Z", "2026-03-03T14:00:00Z", "u-ann"),
        ("2026-03-03T14:00:00Z", "2026-03-03T16:00:00Z", "u-ann"),
        ("2026-03-04T00:00:00Z", "2026-03-04T05:00:00Z", "u-ann"),
    ]


def test_weekday_window_wrapping_the_week_is_kept() -> None:
    weekend = rotation(
        participants=[CID],
        type="weekly",
        timeRestriction={
            "type": "weekday-and-time-of-day",
            "restrictions": [
                {
                    "startDay": "friday",
                    "endDay": "monday",
                    "startHour": 18,
                    "endHour": 10,
                    "startMin": 0,
                    "endMin": 0,
                }
            ],
        },
    )
    periods = base_periods(
        weekend, NEW_YORK, at("2026-03-02T00:00:00Z"), at("2026-03-16T00:00:00Z")
    )
    assert who(periods) == [
        ("2026-03-02T14:00:00Z", "2026-03-02T15:00:00Z", "u-cid"),  # the rotation starts Mon 09:00
        # Fri 18:00 EST - Mon 10:00 EDT, split by the Mon 09:00 handoff (to the same person)
        ("2026-03-06T23:00:00Z", "2026-03-09T13:00:00Z", "u-cid"),
        ("2026-03-09T13:00:00Z", "2026-03-09T14:00:00Z", "u-cid"),
        ("2026-03-13T22:00:00Z", "2026-03-16T00:00:00Z", "u-cid"),
    ]
    assert on_call_ids(schedule(weekend), "2026-03-11T12:00:00Z") == []


def test_ended_and_future_rotations_put_nobody_on_call_outside_their_dates() -> None:
    ended = rotation(endDate="2026-03-05T00:00:00Z")
    future = rotation(id="r2", startDate="2026-04-01T13:00:00Z", participants=[CID])
    sched = schedule(ended, future)
    assert on_call_ids(sched, "2026-03-04T12:00:00Z") == ["u-bob"]
    assert on_call_ids(sched, "2026-03-20T12:00:00Z") == []
    assert on_call_ids(sched, "2026-04-02T12:00:00Z") == ["u-cid"]


def test_rotations_add_up() -> None:
    sched = schedule(rotation(), rotation(id="r2", participants=[CID]))
    assert on_call_ids(sched, "2026-03-02T15:00:00Z") == ["u-ann", "u-cid"]


def test_disabled_schedule_has_nobody_on_call() -> None:
    assert (
        on_call_at({**schedule(rotation()), "enabled": False}, [], at("2026-03-03T00:00:00Z")) == []
    )


# -- overrides -----------------------------------------------------------------------------------


def override(
    user: dict[str, Any], start: str, end: str, rotations: list[str] | None = None
) -> dict[str, Any]:
    return {
        "alias": "o1",
        "user": user,
        "startDate": start,
        "endDate": end,
        "rotations": [{"id": r, "name": r} for r in rotations or []],
    }


def test_unscoped_override_replaces_everyone_for_its_span() -> None:
    sched = schedule(rotation(), rotation(id="r2", participants=[CID]))
    o = override(BOB, "2026-03-02T15:00:00Z", "2026-03-02T17:00:00Z")
    assert on_call_ids(sched, "2026-03-02T16:00:00Z", [o]) == ["u-bob"]
    assert on_call_ids(sched, "2026-03-02T18:00:00Z", [o]) == ["u-ann", "u-cid"]


def test_scoped_override_replaces_only_its_rotation() -> None:
    sched = schedule(rotation(), rotation(id="r2", participants=[CID]))
    o = override(BOB, "2026-03-02T15:00:00Z", "2026-03-02T17:00:00Z", rotations=["r2"])
    assert on_call_ids(sched, "2026-03-02T16:00:00Z", [o]) == ["u-ann", "u-bob"]


def test_override_to_nobody_leaves_the_slot_empty() -> None:
    sched = schedule(rotation())
    o = override({"type": "none"}, "2026-03-02T15:00:00Z", "2026-03-02T17:00:00Z")
    assert on_call_ids(sched, "2026-03-02T16:00:00Z", [o]) == []


def test_override_periods_are_marked_in_the_final_timeline() -> None:
    sched = schedule(rotation())
    o = override(CID, "2026-03-02T15:00:00Z", "2026-03-02T17:00:00Z")
    [line] = schedule_timeline(sched, [o], at("2026-03-02T14:00:00Z"), at("2026-03-02T20:00:00Z"))
    assert [(iso(p.start), p.kind, p.who["id"]) for p in line.final] == [
        ("2026-03-02T14:00:00Z", "default", "u-ann"),
        ("2026-03-02T15:00:00Z", "override", "u-cid"),
        ("2026-03-02T17:00:00Z", "default", "u-ann"),
    ]
    assert len(line.base) == 1


BUSINESS_HOURS = {
    "type": "time-of-day",
    "restriction": {"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 0},
}


def test_scoped_override_holds_its_whole_span_even_outside_the_window() -> None:
    sched = schedule(rotation(timeRestriction=BUSINESS_HOURS))
    o = override(CID, "2026-03-03T01:00:00Z", "2026-03-03T03:00:00Z", rotations=["r1"])
    assert on_call_ids(sched, "2026-03-03T02:00:00Z") == []
    assert on_call_ids(sched, "2026-03-03T02:00:00Z", [o]) == ["u-cid"]


def test_whole_schedule_override_puts_its_person_on_call_where_nobody_was() -> None:
    sched = schedule(rotation(startDate="2026-05-01T13:00:00Z"))
    o = override(CID, "2026-03-03T01:00:00Z", "2026-03-03T03:00:00Z")
    assert on_call_ids(sched, "2026-03-03T02:00:00Z", [o]) == ["u-cid"]


def test_whole_schedule_override_displaces_scoped_ones() -> None:
    sched = schedule(rotation())
    scoped = override(BOB, "2026-03-03T01:00:00Z", "2026-03-03T05:00:00Z", rotations=["r1"])
    whole = override(CID, "2026-03-03T02:00:00Z", "2026-03-03T03:00:00Z")
    assert on_call_ids(sched, "2026-03-03T02:30:00Z", [scoped, whole]) == ["u-cid"]
    assert on_call_ids(sched, "2026-03-03T04:00:00Z", [scoped, whole]) == ["u-bob"]
    [line] = schedule_timeline(
        sched, [scoped, whole], at("2026-03-03T00:00:00Z"), at("2026-03-03T06:00:00Z")
    )
    assert [(iso(p.start), iso(p.end), p.kind, p.who["id"]) for p in line.final] == [
        ("2026-03-03T00:00:00Z", "2026-03-03T01:00:00Z", "default", "u-ann"),
        ("2026-03-03T01:00:00Z", "2026-03-03T02:00:00Z", "override", "u-bob"),
        ("2026-03-03T02:00:00Z", "2026-03-03T03:00:00Z", "override", "u-cid"),
        ("2026-03-03T03:00:00Z", "2026-03-03T05:00:00Z", "override", "u-bob"),
        ("2026-03-03T05:00:00Z", "2026-03-03T06:00:00Z", "default", "u-ann"),
    ]


def test_overlapping_overrides_add_up() -> None:
    sched = schedule(rotation())
    first = override(BOB, "2026-03-03T01:00:00Z", "2026-03-03T05:00:00Z", rotations=["r1"])
    second = override(CID, "2026-03-03T02:00:00Z", "2026-03-03T03:00:00Z", rotations=["r1"])
    assert on_call_ids(sched, "2026-03-03T02:30:00Z", [first, second]) == ["u-bob", "u-cid"]


def test_disabled_rotation_is_off_and_overrides_naming_it_change_nothing() -> None:
    sched = schedule(rotation(enabled=False), rotation(id="r2", participants=[CID]))
    o = override(BOB, "2026-03-03T01:00:00Z", "2026-03-03T05:00:00Z", rotations=["r1"])
    assert on_call_ids(sched, "2026-03-03T02:00:00Z", [o]) == ["u-cid"]


# -- the endpoints ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> TestClient:
    team = {
        "id": "t1",
        "name": "Ops",
        "description": "",
        "members": [{"user": {"id": "u-dan", "username": "dan@example.com"}, "role": "admin"}],
        "links": {},
    }
    sched = schedule(
        rotation(),
        rotation(id="r2", name="Team", participants=[{"type": "team", "id": "t1", "name": "Ops"}]),
    )
    account = Account(
        name="t",
        plan={},
        teams=[team],
        schedules=[sched],
        overrides={"s1": [override(CID, "2026-03-03T15:00:00Z", "2026-03-03T17:00:00Z", ["r1"])]},
    )
    config = EmulatorConfig(rate_limits_enabled=False, now=at("2026-03-02T15:00:00Z"))
    return TestClient(
        create_app(account, config), headers={"Authorization": f"GenieKey {TEST_API_KEY}"}
    )


def test_on_calls_nest_team_members_or_flatten_to_usernames(client: TestClient) -> None:
    nested = client.get("/v2/schedules/s1/on-calls").json()["data"]
    assert nested["_parent"] == {"id": "s1", "name": "Ops", "enabled": True}
    assert [p["name"] for p in nested["onCallParticipants"]] == ["ann@example.com", "Ops"]
    assert nested["onCallParticipants"][1]["onCallParticipants"][0]["name"] == "dan@example.com"
    flat = client.get("/v2/schedules/Ops/on-calls?scheduleIdentifierType=name&flat=true").json()[
        "data"
    ]
    assert flat["onCallRecipients"] == ["ann@example.com", "dan@example.com"]


def test_on_calls_at_a_date_apply_overrides(client: TestClient) -> None:
    data = client.get(
        "/v2/schedules/on-calls", params={"date": "2026-03-03T16:00:00Z", "flat": "true"}
    ).json()["data"]
    assert data == [
        {
            "_parent": {"id": "s1", "name": "Ops", "enabled": True},
            "onCallRecipients": ["cid@example.com", "dan@example.com"],
        }
    ]


def test_timeline_starts_at_local_midnight_and_expands_base_and_overrides(
    client: TestClient,
) -> None:
    response = client.get(
        "/v2/schedules/s1/timeline",
        params={
            "date": "2026-03-03T16:00:00Z",
            "interval": 1,
            "intervalUnit": "days",
            "expand": "base,override",
        },
    )
    body = response.json()
    assert body["expandable"] == ["base", "forwarding", "override"]
    data = body["data"]
    assert (data["startDate"], data["endDate"]) == ("2026-03-03T05:00:00Z", "2026-03-04T05:00:00Z")
    primary = data["finalTimeline"]["rotations"][0]
    assert primary["order"] == 1.0
    assert [(p["startDate"], p["type"], p["recipient"]["name"]) for p in primary["periods"]] == [
        ("2026-03-03T05:00:00Z", "default", "ann@example.com"),
        ("2026-03-03T14:00:00Z", "default", "bob@example.com"),
        ("2026-03-03T15:00:00Z", "override", "cid@example.com"),
        ("2026-03-03T17:00:00Z", "default", "bob@example.com"),
    ]
    assert len(data["baseTimeline"]["rotations"][0]["periods"]) == 2
    assert data["overrideTimeline"]["rotations"][0]["periods"][0]["recipient"]["type"] == "user"
    assert data["finalTimeline"]["rotations"][1]["periods"][0]["recipient"] == {
        "id": "t1",
        "type": "team",
        "name": "Ops",
    }


def test_every_generated_schedule_has_ordered_periods_inside_the_window() -> None:
    account = generate_account("demo")
    start, end = at("2026-10-26T00:00:00Z"), at("2026-11-09T00:00:00Z")
    checked = 0
    for sched in account.schedules:
        overrides = account.overrides.get(sched["id"], [])
        for line in schedule_timeline(sched, overrides, start, end):
            for earlier, later in zip(line.final, line.final[1:], strict=False):
                assert earlier.end <= later.start  # ordered, never overlapping
            for p in line.final:
                assert start <= p.start < p.end <= end
                checked += 1
    assert checked > 100
