"""Who is on call: rotation turns, windows, overrides and DST, with OpsGenie's semantics."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from oncall_sync.model import (
    NOBODY,
    MemberType,
    Override,
    Participant,
    Rotation,
    Schedule,
    TimeWindow,
    TurnUnit,
    WindowKind,
)
from oncall_sync.oncall import (
    Shift,
    merge_adjacent,
    on_call_at,
    rotation_shifts,
    schedule_shifts,
)
from oncall_sync.timezones import UnknownTimeZone, tzinfo_for

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def user(name: str) -> Participant:
    return Participant(member_type=MemberType.USER, ref_source_id=name, ref_name=f"{name}@x.com")


def team(name: str) -> Participant:
    return Participant(member_type=MemberType.TEAM, ref_source_id=name, ref_name=name)


ALICE, BOB, CAROL = user("alice"), user("bob"), user("carol")


def local(zone: str, *parts: int) -> datetime:
    """An aware instant from a local wall-clock time (first occurrence when ambiguous)."""
    return datetime(*parts, tzinfo=tzinfo_for(zone))  # type: ignore[misc]


def rotation(
    unit: TurnUnit,
    anchor: datetime,
    members: tuple[Participant, ...] = (ALICE, BOB),
    count: int = 1,
    windows: tuple[TimeWindow, ...] = (),
    source_id: str = "r1",
    **extra: Any,
) -> Rotation:
    return Rotation(
        source_id=source_id,
        schedule_source_id="s1",
        position=extra.pop("position", 0),
        turn_unit=unit,
        turn_count=count,
        anchor_at=anchor,
        members=members,
        windows=windows,
        **extra,
    )


def schedule(
    *rotations: Rotation, zone: str = BERLIN, overrides: tuple[Override, ...] = (), **extra: Any
) -> Schedule:
    return Schedule(
        source_id="s1",
        name="primary",
        time_zone=zone,
        time_zone_raw=zone,
        rotations=rotations,
        overrides=overrides,
        **extra,
    )


def override(
    who: Participant, starts: datetime, ends: datetime, *rotations: str, alias: str = "o1"
) -> Override:
    return Override(
        source_id=f"s1:{alias}",
        schedule_source_id="s1",
        alias=alias,
        participant=who,
        starts_at=starts,
        ends_at=ends,
        rotation_source_ids=rotations,
    )


def daily(start: time, end: time) -> TimeWindow:
    return TimeWindow(kind=WindowKind.DAILY, start_time=start, end_time=end)


def weekly(start_day: int, start: time, end_day: int, end: time) -> TimeWindow:
    return TimeWindow(
        kind=WindowKind.WEEKLY,
        start_weekday=start_day,
        start_time=start,
        end_weekday=end_day,
        end_time=end,
    )


def walls(shifts: list[Shift], zone: str) -> list[tuple[str, str, str]]:
    """Shifts as (local start, local end, who) for readable assertions."""
    tz = tzinfo_for(zone)
    fmt = "%a %m-%d %H:%M"
    return [
        (
            s.start.astimezone(tz).strftime(fmt),
            s.end.astimezone(tz).strftime(fmt),
            s.participant.ref_source_id or "-",
        )
        for s in shifts
    ]


def shifts_of(rot: Rotation, zone: str, start: datetime, end: datetime) -> list[Shift]:
    return rotation_shifts(rot, tzinfo_for(zone), start, end)


# --- turns ------------------------------------------------------------------------------------


def test_daily_rotation_hands_off_at_the_anchor_time() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), (ALICE, BOB, CAROL))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5), local(BERLIN, 2026, 1, 9))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 09:00", "Tue 01-06 09:00", "alice"),
        ("Tue 01-06 09:00", "Wed 01-07 09:00", "bob"),
        ("Wed 01-07 09:00", "Thu 01-08 09:00", "carol"),
        ("Thu 01-08 09:00", "Fri 01-09 00:00", "alice"),
    ]
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in got)
    assert {s.rotation_source_id for s in got} == {"r1"}
    assert {s.from_override for s in got} == {None}


def test_daily_rotation_of_length_three_keeps_each_person_three_days() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), count=3)
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5, 9), local(BERLIN, 2026, 1, 17, 9))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 09:00", "Thu 01-08 09:00", "alice"),
        ("Thu 01-08 09:00", "Sun 01-11 09:00", "bob"),
        ("Sun 01-11 09:00", "Wed 01-14 09:00", "alice"),
        ("Wed 01-14 09:00", "Sat 01-17 09:00", "bob"),
    ]


def test_hourly_rotation_of_length_eight() -> None:
    rot = rotation(TurnUnit.HOUR, local(BERLIN, 2026, 1, 5, 6), (ALICE, BOB, CAROL), count=8)
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5, 6), local(BERLIN, 2026, 1, 6, 14))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 06:00", "Mon 01-05 14:00", "alice"),
        ("Mon 01-05 14:00", "Mon 01-05 22:00", "bob"),
        ("Mon 01-05 22:00", "Tue 01-06 06:00", "carol"),
        ("Tue 01-06 06:00", "Tue 01-06 14:00", "alice"),
    ]


def test_weekly_rotation_of_length_two_hands_off_on_the_anchor_weekday() -> None:
    rot = rotation(TurnUnit.WEEK, local(BERLIN, 2026, 1, 7, 10), count=2)  # a Wednesday
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 2, 1), local(BERLIN, 2026, 3, 1))
    assert walls(got, BERLIN) == [
        ("Sun 02-01 00:00", "Wed 02-04 10:00", "bob"),
        ("Wed 02-04 10:00", "Wed 02-18 10:00", "alice"),
        ("Wed 02-18 10:00", "Sun 03-01 00:00", "bob"),
    ]


def test_query_long_after_the_anchor_picks_the_right_turn() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2019, 7, 24, 9), (ALICE, BOB, CAROL))
    at = local(BERLIN, 2026, 7, 24, 12)
    days = (datetime(2026, 7, 24) - datetime(2019, 7, 24)).days
    expected = (ALICE, BOB, CAROL)[days % 3]
    assert on_call_at(schedule(rot), at) == [expected]


def test_none_member_consumes_its_turn_and_nobody_is_on_call() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), (ALICE, NOBODY, BOB))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5, 9), local(BERLIN, 2026, 1, 8, 9))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 09:00", "Tue 01-06 09:00", "alice"),
        ("Wed 01-07 09:00", "Thu 01-08 09:00", "bob"),
    ]
    assert on_call_at(schedule(rot), local(BERLIN, 2026, 1, 6, 12)) == []


def test_team_participant_is_on_call_as_the_team() -> None:
    ops = team("ops")
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), (ops, ALICE))
    assert on_call_at(schedule(rot), local(BERLIN, 2026, 1, 5, 12)) == [ops]
    assert on_call_at(schedule(rot), local(BERLIN, 2026, 1, 6, 12)) == [ALICE]


def test_rotation_before_its_anchor_and_after_its_end_has_nobody() -> None:
    rot = rotation(
        TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), ends_at=local(BERLIN, 2026, 1, 7, 15)
    )
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 1), local(BERLIN, 2026, 1, 31))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 09:00", "Tue 01-06 09:00", "alice"),
        ("Tue 01-06 09:00", "Wed 01-07 09:00", "bob"),
        ("Wed 01-07 09:00", "Wed 01-07 15:00", "alice"),
    ]


def test_ended_and_future_rotations_give_no_shifts_in_the_query() -> None:
    ended = rotation(TurnUnit.DAY, local(BERLIN, 2025, 1, 5, 9), ends_at=local(BERLIN, 2025, 6, 1))
    future = rotation(TurnUnit.DAY, local(BERLIN, 2027, 1, 5, 9), source_id="r2")
    start, end = local(BERLIN, 2026, 1, 1), local(BERLIN, 2026, 2, 1)
    assert shifts_of(ended, BERLIN, start, end) == []
    assert shifts_of(future, BERLIN, start, end) == []
    assert schedule_shifts(schedule(ended, future), start, end) == []


def test_disabled_rotation_and_disabled_schedule_have_nobody() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    at = local(BERLIN, 2026, 1, 6, 12)
    assert on_call_at(schedule(rot.model_copy(update={"enabled": False})), at) == []
    assert on_call_at(schedule(rot, enabled=False), at) == []
    assert on_call_at(schedule(rot), at) == [BOB]


def test_rotation_without_members_has_nobody() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), members=())
    assert shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5), local(BERLIN, 2026, 2, 1)) == []


def test_schedule_with_an_unresolved_zone_is_an_error() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    with pytest.raises(UnknownTimeZone, match="US/Pacific-New"):
        on_call_at(schedule(rot, zone="US/Pacific-New"), local(BERLIN, 2026, 1, 6))


def test_naive_query_instants_are_refused() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    with pytest.raises(ValueError, match="aware"):
        schedule_shifts(schedule(rot), datetime(2026, 1, 5), datetime(2026, 1, 6))


# --- windows ----------------------------------------------------------------------------------


def test_daily_window_keeps_business_hours_only() -> None:
    rot = rotation(TurnUnit.WEEK, local(BERLIN, 2026, 1, 5, 9), windows=(daily(time(9), time(17)),))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5), local(BERLIN, 2026, 1, 7))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 09:00", "Mon 01-05 17:00", "alice"),
        ("Tue 01-06 09:00", "Tue 01-06 17:00", "alice"),
    ]


def test_daily_window_wrapping_midnight_is_one_overnight_span() -> None:
    rot = rotation(TurnUnit.WEEK, local(BERLIN, 2026, 1, 5, 9), windows=(daily(time(19), time(7)),))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5, 9), local(BERLIN, 2026, 1, 7, 9))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 19:00", "Tue 01-06 07:00", "alice"),
        ("Tue 01-06 19:00", "Wed 01-07 07:00", "alice"),
    ]


def test_daily_window_with_equal_start_and_end_is_always_active() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), windows=(daily(time(12), time(12)),))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5, 9), local(BERLIN, 2026, 1, 7, 9))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 09:00", "Tue 01-06 09:00", "alice"),
        ("Tue 01-06 09:00", "Wed 01-07 09:00", "bob"),
    ]


def test_weekly_window_is_one_continuous_span() -> None:
    # Mon 09:00 -> Fri 17:00 is continuous, not business hours every day.
    rot = rotation(
        TurnUnit.WEEK, local(BERLIN, 2026, 1, 5, 9), windows=(weekly(1, time(9), 5, time(17)),)
    )
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5), local(BERLIN, 2026, 1, 19))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 09:00", "Fri 01-09 17:00", "alice"),
        ("Mon 01-12 09:00", "Fri 01-16 17:00", "bob"),
    ]


def test_weekday_window_wrapping_the_week_is_kept() -> None:
    # Friday 18:00 -> Monday 10:00 (the "out of hours" rotation), handoff Friday 18:00.
    rot = rotation(
        TurnUnit.WEEK, local(BERLIN, 2026, 1, 2, 18), windows=(weekly(5, time(18), 1, time(10)),)
    )
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5), local(BERLIN, 2026, 1, 20))
    assert walls(got, BERLIN) == [
        ("Mon 01-05 00:00", "Mon 01-05 10:00", "alice"),
        ("Fri 01-09 18:00", "Mon 01-12 10:00", "bob"),
        ("Fri 01-16 18:00", "Mon 01-19 10:00", "alice"),
    ]


def test_several_weekly_windows_make_business_hours() -> None:
    days = tuple(weekly(d, time(9), d, time(17)) for d in range(1, 6))
    rot = rotation(TurnUnit.WEEK, local(BERLIN, 2026, 1, 5, 9), windows=days)
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5), local(BERLIN, 2026, 1, 12))
    assert [w[:2] for w in walls(got, BERLIN)] == [
        (f"{d} 01-{n:02d} 09:00", f"{d} 01-{n:02d} 17:00")
        for d, n in [("Mon", 5), ("Tue", 6), ("Wed", 7), ("Thu", 8), ("Fri", 9)]
    ]


def test_handoff_inside_a_window_splits_it_between_two_people() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 12), windows=(daily(time(9), time(17)),))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 6), local(BERLIN, 2026, 1, 7))
    assert walls(got, BERLIN) == [
        ("Tue 01-06 09:00", "Tue 01-06 12:00", "alice"),
        ("Tue 01-06 12:00", "Tue 01-06 17:00", "bob"),
    ]


# --- rotations add up, overrides replace ------------------------------------------------------


def test_rotations_add_up() -> None:
    day = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), (ALICE, BOB))
    backup = rotation(
        TurnUnit.WEEK, local(BERLIN, 2026, 1, 5, 9), (CAROL,), source_id="r2", position=1
    )
    sched = schedule(day, backup)
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 12)) == [BOB, CAROL]
    same = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), (BOB,), source_id="r3", position=2)
    assert on_call_at(schedule(day, same), local(BERLIN, 2026, 1, 6, 12)) == [BOB]


def test_whole_schedule_override_leaves_only_its_participant() -> None:
    day = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), (ALICE, BOB))
    backup = rotation(
        TurnUnit.WEEK, local(BERLIN, 2026, 1, 5, 9), (CAROL,), source_id="r2", position=1
    )
    dave = user("dave")
    cover = override(dave, local(BERLIN, 2026, 1, 6, 10), local(BERLIN, 2026, 1, 6, 14))
    sched = schedule(day, backup, overrides=(cover,))
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 12)) == [dave]
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 14)) == [BOB, CAROL]
    got = schedule_shifts(sched, local(BERLIN, 2026, 1, 6, 9), local(BERLIN, 2026, 1, 7, 9))
    assert walls(got, BERLIN) == [
        ("Tue 01-06 09:00", "Tue 01-06 10:00", "bob"),
        ("Tue 01-06 09:00", "Tue 01-06 10:00", "carol"),
        ("Tue 01-06 10:00", "Tue 01-06 14:00", "dave"),
        ("Tue 01-06 14:00", "Wed 01-07 09:00", "bob"),
        ("Tue 01-06 14:00", "Wed 01-07 09:00", "carol"),
    ]
    override_shift = got[2]
    assert (override_shift.rotation_source_id, override_shift.from_override) == (None, "s1:o1")


def test_whole_schedule_override_covers_time_no_rotation_had() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), windows=(daily(time(9), time(17)),))
    cover = override(CAROL, local(BERLIN, 2026, 1, 6, 20), local(BERLIN, 2026, 1, 6, 23))
    assert on_call_at(schedule(rot, overrides=(cover,)), local(BERLIN, 2026, 1, 6, 21)) == [CAROL]


def test_scoped_override_replaces_only_in_its_rotation() -> None:
    day = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), (ALICE, BOB))
    backup = rotation(
        TurnUnit.WEEK, local(BERLIN, 2026, 1, 5, 9), (CAROL,), source_id="r2", position=1
    )
    dave = user("dave")
    cover = override(dave, local(BERLIN, 2026, 1, 6, 10), local(BERLIN, 2026, 1, 6, 14), "r1")
    sched = schedule(day, backup, overrides=(cover,))
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 12)) == [dave, CAROL]
    got = [
        s
        for s in schedule_shifts(sched, local(BERLIN, 2026, 1, 6), local(BERLIN, 2026, 1, 7))
        if s.participant == dave
    ]
    assert [(s.rotation_source_id, s.from_override) for s in got] == [("r1", "s1:o1")]


def test_scoped_override_spans_outside_the_rotations_windows() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), windows=(daily(time(9), time(17)),))
    cover = override(CAROL, local(BERLIN, 2026, 1, 6, 15), local(BERLIN, 2026, 1, 6, 20), "r1")
    got = schedule_shifts(
        schedule(rot, overrides=(cover,)), local(BERLIN, 2026, 1, 6), local(BERLIN, 2026, 1, 7)
    )
    assert walls(got, BERLIN) == [
        ("Tue 01-06 09:00", "Tue 01-06 15:00", "bob"),
        ("Tue 01-06 15:00", "Tue 01-06 20:00", "carol"),
    ]


def test_override_to_nobody_leaves_nobody_on_call() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    cover = override(NOBODY, local(BERLIN, 2026, 1, 6, 10), local(BERLIN, 2026, 1, 6, 14))
    sched = schedule(rot, overrides=(cover,))
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 12)) == []
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 15)) == [BOB]


def test_whole_schedule_override_displaces_a_scoped_one() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    scoped = override(CAROL, local(BERLIN, 2026, 1, 6, 10), local(BERLIN, 2026, 1, 6, 14), "r1")
    whole = override(
        user("dave"), local(BERLIN, 2026, 1, 6, 12), local(BERLIN, 2026, 1, 6, 13), alias="o2"
    )
    sched = schedule(rot, overrides=(scoped, whole))
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 11)) == [CAROL]
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 12, 30)) == [user("dave")]
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 13, 30)) == [CAROL]


def test_overlapping_overrides_in_one_scope_add_up() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    first = override(CAROL, local(BERLIN, 2026, 1, 6, 10), local(BERLIN, 2026, 1, 6, 14))
    second = override(
        ALICE, local(BERLIN, 2026, 1, 6, 12), local(BERLIN, 2026, 1, 6, 16), alias="o2"
    )
    sched = schedule(rot, overrides=(first, second))
    assert on_call_at(sched, local(BERLIN, 2026, 1, 6, 13)) == [CAROL, ALICE]


def test_override_naming_a_missing_rotation_changes_nothing() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    cover = override(CAROL, local(BERLIN, 2026, 1, 6, 10), local(BERLIN, 2026, 1, 6, 14), "gone")
    assert on_call_at(schedule(rot, overrides=(cover,)), local(BERLIN, 2026, 1, 6, 12)) == [BOB]


def test_scoped_override_holds_its_span_even_before_the_rotation_starts() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    cover = override(CAROL, local(BERLIN, 2026, 1, 4, 12), local(BERLIN, 2026, 1, 5, 12), "r1")
    got = schedule_shifts(
        schedule(rot, overrides=(cover,)), local(BERLIN, 2026, 1, 4), local(BERLIN, 2026, 1, 6)
    )
    assert walls(got, BERLIN) == [
        ("Sun 01-04 12:00", "Mon 01-05 12:00", "carol"),
        ("Mon 01-05 12:00", "Tue 01-06 00:00", "alice"),
    ]


def test_override_is_clipped_to_the_query() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9))
    cover = override(CAROL, local(BERLIN, 2026, 1, 1), local(BERLIN, 2026, 2, 1))
    got = schedule_shifts(
        schedule(rot, overrides=(cover,)), local(BERLIN, 2026, 1, 6), local(BERLIN, 2026, 1, 7)
    )
    assert walls(got, BERLIN) == [("Tue 01-06 00:00", "Wed 01-07 00:00", "carol")]


# --- DST ----------------------------------------------------------------------------------------

# Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00.
# America/New_York: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00.
SPRING = {BERLIN: (2026, 3, 29), NEW_YORK: (2026, 3, 8)}
AUTUMN = {BERLIN: (2026, 10, 25), NEW_YORK: (2026, 11, 1)}


def at_wall(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    return local(zone, day.year, day.month, day.day, hour, minute)


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK])
@pytest.mark.parametrize("change", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_daily_0900_handoff_stays_0900_local_across_dst(
    zone: str, change: dict[str, tuple[int, int, int]]
) -> None:
    day = date(*change[zone])
    rot = rotation(TurnUnit.DAY, at_wall(zone, day - timedelta(days=10), 9))
    got = shifts_of(
        rot, zone, at_wall(zone, day - timedelta(days=2), 9), at_wall(zone, day + timedelta(2), 9)
    )
    tz = tzinfo_for(zone)
    assert [s.start.astimezone(tz).strftime("%m-%d %H:%M") for s in got] == [
        (day + timedelta(days=n)).strftime("%m-%d 09:00") for n in range(-2, 2)
    ]
    # The turn over the change night is an hour short in spring and an hour long in autumn.
    night = 23 if change is SPRING else 25
    assert [(s.end - s.start) / timedelta(hours=1) for s in got] == [24, night, 24, 24]


def test_berlin_daily_turn_over_the_spring_night_lasts_23_hours() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 3, 1, 9))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 3, 28, 9), local(BERLIN, 2026, 3, 30, 9))
    assert walls(got, BERLIN) == [
        ("Sat 03-28 09:00", "Sun 03-29 09:00", "bob"),
        ("Sun 03-29 09:00", "Mon 03-30 09:00", "alice"),
    ]
    assert [(s.end - s.start) / timedelta(hours=1) for s in got] == [23, 24]


def test_new_york_daily_turn_over_the_autumn_night_lasts_25_hours() -> None:
    rot = rotation(TurnUnit.DAY, local(NEW_YORK, 2026, 10, 1, 9))
    got = shifts_of(
        rot, NEW_YORK, local(NEW_YORK, 2026, 10, 31, 9), local(NEW_YORK, 2026, 11, 2, 9)
    )
    assert [w[:2] for w in walls(got, NEW_YORK)] == [
        ("Sat 10-31 09:00", "Sun 11-01 09:00"),
        ("Sun 11-01 09:00", "Mon 11-02 09:00"),
    ]
    assert [(s.end - s.start) / timedelta(hours=1) for s in got] == [25, 24]


@pytest.mark.parametrize(("zone", "change"), [(BERLIN, SPRING), (NEW_YORK, AUTUMN)])
def test_weekly_handoff_across_the_change_keeps_its_wall_clock(
    zone: str, change: dict[str, tuple[int, int, int]]
) -> None:
    day = date(*change[zone])  # a Sunday: hand off on Mondays at 10:00
    monday_after = day + timedelta(days=1)
    rot = rotation(TurnUnit.WEEK, at_wall(zone, monday_after - timedelta(weeks=4), 10))
    got = shifts_of(
        rot,
        zone,
        at_wall(zone, monday_after - timedelta(weeks=1), 10),
        at_wall(zone, monday_after, 10),
    )
    assert len(got) == 1
    start, end = got[0].start.astimezone(tzinfo_for(zone)), got[0].end.astimezone(tzinfo_for(zone))
    assert (start.strftime("%a %H:%M"), end.strftime("%a %H:%M")) == ("Mon 10:00", "Mon 10:00")
    hours = (got[0].end - got[0].start) / timedelta(hours=1)
    assert hours == 7 * 24 + (-1 if change is SPRING else 1)
    assert [s.participant for s in got] == [BOB]  # turn 3 from the anchor


def test_hourly_turns_step_in_elapsed_hours_across_spring_forward() -> None:
    rot = rotation(TurnUnit.HOUR, local(BERLIN, 2026, 3, 29, 0), (ALICE, BOB, CAROL))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 3, 29, 0), local(BERLIN, 2026, 3, 29, 5))
    assert walls(got, BERLIN) == [
        ("Sun 03-29 00:00", "Sun 03-29 01:00", "alice"),
        ("Sun 03-29 01:00", "Sun 03-29 03:00", "bob"),  # one elapsed hour: 01:00 CET -> 03:00
        ("Sun 03-29 03:00", "Sun 03-29 04:00", "carol"),
        ("Sun 03-29 04:00", "Sun 03-29 05:00", "alice"),
    ]
    assert all(s.end - s.start == timedelta(hours=1) for s in got)


def test_hourly_turns_step_in_elapsed_hours_across_fall_back() -> None:
    rot = rotation(TurnUnit.HOUR, local(NEW_YORK, 2026, 11, 1, 0), (ALICE, BOB, CAROL))
    start = local(NEW_YORK, 2026, 11, 1, 0).astimezone(UTC)
    got = shifts_of(rot, NEW_YORK, start, start + timedelta(hours=4))  # four elapsed hours
    assert [s.participant for s in got] == [ALICE, BOB, CAROL, ALICE]
    assert all(s.end - s.start == timedelta(hours=1) for s in got)
    # 01:00 happens twice: bob holds the first (EDT), carol the second (EST).
    assert [w[:2] for w in walls(got, NEW_YORK)][1:3] == [
        ("Sun 11-01 01:00", "Sun 11-01 01:00"),
        ("Sun 11-01 01:00", "Sun 11-01 02:00"),
    ]


@pytest.mark.parametrize(
    ("zone", "change", "hours"),
    [(BERLIN, SPRING, 1), (BERLIN, AUTUMN, 3), (NEW_YORK, SPRING, 1), (NEW_YORK, AUTUMN, 3)],
)
def test_window_0100_0300_on_the_change_day_follows_the_wall_clock(
    zone: str, change: dict[str, tuple[int, int, int]], hours: int
) -> None:
    day = date(*change[zone])
    rot = rotation(
        TurnUnit.WEEK,
        at_wall(zone, day - timedelta(days=20), 9),
        windows=(daily(time(1), time(3)),),
    )
    got = shifts_of(
        rot, zone, at_wall(zone, day - timedelta(days=1), 0), at_wall(zone, day + timedelta(2), 0)
    )
    assert [(s.end - s.start) / timedelta(hours=1) for s in got] == [2, hours, 2]
    assert [w[:2] for w in walls(got, zone)][1] == (
        day.strftime("%a %m-%d 01:00"),
        day.strftime("%a %m-%d 03:00"),
    )


def test_window_inside_the_spring_gap_is_empty_that_day() -> None:
    rot = rotation(
        TurnUnit.WEEK,
        local(NEW_YORK, 2026, 3, 2, 9),
        windows=(daily(time(2), time(2, 30)),),
    )
    got = shifts_of(rot, NEW_YORK, local(NEW_YORK, 2026, 3, 7), local(NEW_YORK, 2026, 3, 10))
    assert [w[0] for w in walls(got, NEW_YORK)] == ["Sat 03-07 02:00", "Mon 03-09 02:00"]


def test_handoff_in_the_spring_gap_moves_to_the_end_of_the_gap() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 3, 20, 2, 30))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 3, 28, 12), local(BERLIN, 2026, 3, 30, 12))
    assert [w[:2] for w in walls(got, BERLIN)] == [
        ("Sat 03-28 12:00", "Sun 03-29 03:00"),
        ("Sun 03-29 03:00", "Mon 03-30 02:30"),
        ("Mon 03-30 02:30", "Mon 03-30 12:00"),
    ]


def test_handoff_at_an_ambiguous_time_is_the_first_occurrence() -> None:
    rot = rotation(TurnUnit.DAY, local(NEW_YORK, 2026, 10, 20, 1, 30))
    got = shifts_of(
        rot, NEW_YORK, local(NEW_YORK, 2026, 10, 31, 12), local(NEW_YORK, 2026, 11, 1, 12)
    )
    handoff = got[1].start
    assert handoff == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT


# --- display and cost -------------------------------------------------------------------------


def test_shifts_are_per_turn_and_merge_adjacent_joins_same_person() -> None:
    rot = rotation(TurnUnit.DAY, local(BERLIN, 2026, 1, 5, 9), (ALICE,))
    got = shifts_of(rot, BERLIN, local(BERLIN, 2026, 1, 5, 9), local(BERLIN, 2026, 1, 8, 9))
    assert len(got) == 3
    merged = merge_adjacent(got)
    assert walls(merged, BERLIN) == [("Mon 01-05 09:00", "Thu 01-08 09:00", "alice")]


def test_two_weeks_of_a_three_rotation_schedule_come_out_turn_by_turn() -> None:
    hourly = rotation(TurnUnit.HOUR, local(BERLIN, 2024, 1, 1), (ALICE, BOB, CAROL))
    daily_rot = rotation(
        TurnUnit.DAY,
        local(BERLIN, 2024, 1, 1, 9),
        source_id="r2",
        position=1,
        windows=(daily(time(18), time(8)),),
    )
    weekly_rot = rotation(
        TurnUnit.WEEK,
        local(BERLIN, 2024, 1, 1, 9),
        source_id="r3",
        position=2,
        windows=tuple(weekly(d, time(9), d, time(17)) for d in range(1, 6)),
    )
    sched = schedule(hourly, daily_rot, weekly_rot)
    got = schedule_shifts(sched, local(BERLIN, 2026, 3, 20), local(BERLIN, 2026, 4, 3))
    by_rotation = {r: [s for s in got if s.rotation_source_id == r] for r in ("r1", "r2", "r3")}
    assert len(by_rotation["r1"]) == 14 * 24 - 1  # one hour lost to spring forward
    assert len(by_rotation["r2"]) == 15  # overnight windows, split by the 09:00 handoff: none
    assert len(by_rotation["r3"]) == 10  # two working weeks
