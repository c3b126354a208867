"""Invariants of the on-call computation, checked on generated rotations around DST changes.

The oracles here are written independently of oncall.py: they read an instant's local wall
clock and count handoffs and window membership directly, instead of building boundaries.
"""

from __future__ import annotations

import bisect
import itertools
from datetime import UTC, datetime, time, timedelta, tzinfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

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
from oncall_sync.oncall import Shift, rotation_shifts, schedule_shifts
from oncall_sync.timezones import tzinfo_for


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# Each zone with the instants near which it changes offset in 2026, to steer examples onto
# DST days (zones without DST get ordinary instants).
CHANGES: dict[str, list[datetime]] = {
    "Europe/Berlin": [_utc(2026, 3, 29, 1), _utc(2026, 10, 25, 1)],
    "America/New_York": [_utc(2026, 3, 8, 7), _utc(2026, 11, 1, 6)],
    "Australia/Lord_Howe": [_utc(2026, 4, 4, 15), _utc(2026, 10, 3, 15, 30)],  # half-hour DST
    "Australia/Sydney": [_utc(2026, 4, 4, 16), _utc(2026, 10, 3, 16)],  # southern hemisphere
    "Asia/Kolkata": [_utc(2026, 3, 29, 1)],
    "Etc/UTC": [_utc(2026, 3, 29, 1)],
    "UTC+05:30": [_utc(2026, 10, 25, 1)],
}
HALF_HOUR = timedelta(minutes=30)


def person(name: str, kind: MemberType = MemberType.USER) -> Participant:
    return Participant(member_type=kind, ref_source_id=name, ref_name=name)


POOL = [person("alice"), person("bob"), person("carol"), person("ops", MemberType.TEAM), NOBODY]

half_hours = st.integers(min_value=0, max_value=47).map(lambda n: time(n // 2, 30 * (n % 2)))
daily_windows = st.builds(
    lambda s, e: (TimeWindow(kind=WindowKind.DAILY, start_time=s, end_time=e),),
    half_hours,
    half_hours,
)
weekly_window = st.builds(
    lambda sd, s, ed, e: TimeWindow(
        kind=WindowKind.WEEKLY, start_weekday=sd, start_time=s, end_weekday=ed, end_time=e
    ),
    st.integers(1, 7),
    half_hours,
    st.integers(1, 7),
    half_hours,
)
windows = st.one_of(
    st.just(()), daily_windows, st.lists(weekly_window, min_size=1, max_size=3).map(tuple)
)


@st.composite
def near_a_change(draw: st.DrawFn, zone_id: str, before_hours: int, after_hours: int) -> datetime:
    base = draw(st.sampled_from(CHANGES[zone_id]))
    return base + draw(st.integers(-2 * before_hours, 2 * after_hours)) * HALF_HOUR


@st.composite
def rotations(draw: st.DrawFn, zone_id: str, source_id: str = "r1", position: int = 0) -> Rotation:
    anchor = draw(near_a_change(zone_id, before_hours=24 * 40, after_hours=24 * 3))
    ends_at = draw(
        st.one_of(st.none(), st.integers(1, 24 * 60).map(lambda h: anchor + h * HALF_HOUR))
    )
    return Rotation(
        source_id=source_id,
        schedule_source_id="s1",
        position=position,
        turn_unit=draw(st.sampled_from(list(TurnUnit))),
        turn_count=draw(st.integers(1, 3)),
        anchor_at=anchor,
        ends_at=ends_at,
        members=tuple(draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=4))),
        windows=draw(windows),
    )


@st.composite
def queries(draw: st.DrawFn, zone_id: str) -> tuple[datetime, datetime]:
    start = draw(near_a_change(zone_id, before_hours=24 * 5, after_hours=24 * 2))
    return start, start + draw(st.integers(1, 2 * 24 * 10)) * HALF_HOUR


@st.composite
def instants_in(draw: st.DrawFn, start: datetime, end: datetime, count: int = 8) -> list[datetime]:
    seconds = int((end - start).total_seconds())
    offsets = draw(
        st.lists(
            st.one_of(
                st.integers(0, seconds - 1),
                st.integers(0, seconds // 1800 - 1).map(lambda n: n * 1800),
            ),
            min_size=1,
            max_size=count,
        )
    )
    return [start + timedelta(seconds=o) for o in offsets if o < seconds]


# --- independent oracles ----------------------------------------------------------------------


def wall(at: datetime, zone: tzinfo) -> datetime:
    return at.astimezone(zone)


def expected_turn(rotation: Rotation, zone: tzinfo, at: datetime) -> int:
    """The turn holding `at`, by counting handoffs on the local wall clock (elapsed hours for
    hourly rotations)."""
    if rotation.turn_unit is TurnUnit.HOUR:
        return int((at - rotation.anchor_at) // timedelta(hours=rotation.turn_count))
    anchor, now = wall(rotation.anchor_at, zone), wall(at, zone)
    days = (now.date() - anchor.date()).days
    if now.time() < anchor.time():
        days -= 1  # today's handoff has not come yet
    per_turn = rotation.turn_count * (7 if rotation.turn_unit is TurnUnit.WEEK else 1)
    return days // per_turn


def in_windows(rotation: Rotation, zone: tzinfo, at: datetime) -> bool:
    if not rotation.windows:
        return True
    local = wall(at, zone)
    minute = local.hour * 60 + local.minute + local.second / 60
    for window in rotation.windows:
        if window.kind is WindowKind.DAILY:
            start = window.start_time.hour * 60 + window.start_time.minute
            if (minute - start) % 1440 < window.duration_minutes:
                return True
        else:
            of_week = (local.isoweekday() - 1) * 1440 + minute
            if (of_week - window.start_minute_of_week) % 10080 < window.duration_minutes:
                return True
    return False


def odd_local_time(rotation: Rotation, zone: tzinfo, at: datetime) -> bool:
    """Instants the wall-clock oracle cannot judge: the repeated hour after a fall back (its wall
    times also happened an hour earlier), and the turn or window edges that a spring-forward gap
    moved (the oracle would place them at a time that never existed)."""
    local = wall(at, zone)
    earlier = wall(at - timedelta(hours=1), zone)
    if local.replace(tzinfo=None) - earlier.replace(tzinfo=None) != timedelta(hours=1):
        return True
    hour_ago = at - timedelta(hours=3)
    return hour_ago.astimezone(zone).utcoffset() != local.utcoffset()


def holders(shifts: list[Shift], at: datetime) -> list[Participant]:
    """Who holds `at` among one rotation's ordered, disjoint shifts."""
    index = bisect.bisect_right([s.start for s in shifts], at) - 1
    return [shifts[index].participant] if index >= 0 and at < shifts[index].end else []


def probe_instants(
    shifts: list[Shift], start: datetime, end: datetime, phase: int
) -> set[datetime]:
    """Where mistakes show: either side of every shift edge, and every half hour (plus a phase)."""
    second = timedelta(seconds=1)
    edges = {t + d for s in shifts for t in (s.start, s.end) for d in (-second, timedelta(0))}
    steps = int((end - start) / HALF_HOUR) + 1
    grid = {start + timedelta(seconds=phase) + n * HALF_HOUR for n in range(steps)}
    return {t for t in edges | grid if start <= t < end}


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, Rotation, tuple[datetime, datetime]]:
    zone_id = draw(st.sampled_from(list(CHANGES)))
    return zone_id, draw(rotations(zone_id)), draw(queries(zone_id))


SETTINGS = settings(max_examples=150, deadline=None)


# --- properties -------------------------------------------------------------------------------


@SETTINGS
@given(cases())
def test_shifts_of_a_rotation_are_ordered_disjoint_and_inside_the_query(
    case: tuple[str, Rotation, tuple[datetime, datetime]],
) -> None:
    zone_id, rotation, (start, end) = case
    shifts = rotation_shifts(rotation, tzinfo_for(zone_id), start, end)
    for shift in shifts:
        assert start <= shift.start < shift.end <= end
        assert rotation.anchor_at <= shift.start
        assert rotation.ends_at is None or shift.end <= rotation.ends_at
        assert shift.participant.member_type is not MemberType.NONE
        assert shift.start.tzinfo is UTC and shift.end.tzinfo is UTC
    for before, after in itertools.pairwise(shifts):
        assert before.end <= after.start


@SETTINGS
@given(cases(), st.integers(0, 1799))
def test_shifts_lie_inside_the_windows_in_local_time(
    case: tuple[str, Rotation, tuple[datetime, datetime]], phase: int
) -> None:
    zone_id, rotation, (start, end) = case
    zone = tzinfo_for(zone_id)
    shifts = rotation_shifts(rotation, zone, start, end)
    for at in probe_instants(shifts, start, end, phase):
        if holders(shifts, at) and not odd_local_time(rotation, zone, at):
            assert in_windows(rotation, zone, at), at


@SETTINGS
@given(cases(), st.integers(0, 1799))
def test_the_holder_at_any_instant_is_the_member_of_its_turn(
    case: tuple[str, Rotation, tuple[datetime, datetime]], phase: int
) -> None:
    zone_id, rotation, (start, end) = case
    zone = tzinfo_for(zone_id)
    shifts = rotation_shifts(rotation, zone, start, end)
    for at in probe_instants(shifts, start, end, phase):
        got = holders(shifts, at)
        active = at >= rotation.anchor_at and (rotation.ends_at is None or at < rotation.ends_at)
        if not active:
            assert got == []
        elif not odd_local_time(rotation, zone, at):
            member = rotation.members[expected_turn(rotation, zone, at) % len(rotation.members)]
            wanted = member is not NOBODY and in_windows(rotation, zone, at)
            assert got == ([member] if wanted else []), at


@st.composite
def overrides(draw: st.DrawFn, index: int, around: datetime) -> Override:
    starts = around + draw(st.integers(-2 * 24 * 3, 2 * 24 * 8)) * HALF_HOUR
    return Override(
        source_id=f"s1:o{index}",
        schedule_source_id="s1",
        alias=f"o{index}",
        participant=draw(st.sampled_from([person("dave"), person("erin"), NOBODY])),
        starts_at=starts,
        ends_at=starts + draw(st.integers(1, 2 * 24 * 3)) * HALF_HOUR,
        rotation_source_ids=draw(st.sampled_from([(), ("r1",), ("r2",), ("r1", "r2")])),
    )


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, tuple[datetime, datetime]]:
    zone_id = draw(st.sampled_from(list(CHANGES)))
    query = draw(queries(zone_id))
    count = draw(st.integers(0, 3))
    schedule = Schedule(
        source_id="s1",
        name="s",
        time_zone=zone_id,
        time_zone_raw=zone_id,
        rotations=(draw(rotations(zone_id, "r1", 0)), draw(rotations(zone_id, "r2", 1))),
        overrides=tuple(draw(overrides(i, query[0])) for i in range(count)),
    )
    return schedule, query


@SETTINGS
@given(schedules(), st.data())
def test_an_override_span_is_held_only_by_its_participant(
    case: tuple[Schedule, tuple[datetime, datetime]], data: st.DataObject
) -> None:
    schedule, (start, end) = case
    shifts = schedule_shifts(schedule, start, end)
    for at in data.draw(instants_in(start, end, count=12)):
        here = [s for s in shifts if s.start <= at < s.end]
        covering = [o for o in schedule.overrides if o.starts_at <= at < o.ends_at]
        whole = [o for o in covering if not o.rotation_source_ids]
        if whole:
            assert sorted(s.participant.ref_source_id or "" for s in here) == sorted(
                o.participant.ref_source_id or "" for o in whole if o.participant is not NOBODY
            )
            assert all(s.from_override and s.rotation_source_id is None for s in here)
            continue
        for rotation_id in ("r1", "r2"):
            scoped = [o for o in covering if rotation_id in o.rotation_source_ids]
            if scoped:
                in_rotation = [s for s in here if s.rotation_source_id == rotation_id]
                assert sorted(s.from_override or "" for s in in_rotation) == sorted(
                    o.source_id for o in scoped if o.participant is not NOBODY
                )


@SETTINGS
@given(schedules(), st.data())
def test_splitting_the_query_gives_the_same_shifts_cut_at_the_split(
    case: tuple[Schedule, tuple[datetime, datetime]], data: st.DataObject
) -> None:
    schedule, (start, end) = case
    split = data.draw(instants_in(start, end, count=1))[0]
    assume(start < split)
    whole = schedule_shifts(schedule, start, end)
    cut: list[Shift] = []
    for shift in whole:
        if shift.start < split < shift.end:
            cut += [
                shift.model_copy(update={"end": split}),
                shift.model_copy(update={"start": split}),
            ]
        else:
            cut.append(shift)
    halves = schedule_shifts(schedule, start, split) + schedule_shifts(schedule, split, end)

    def key(s: Shift) -> tuple[datetime, datetime, str, str, str]:
        return (
            s.start,
            s.end,
            s.rotation_source_id or "",
            s.from_override or "",
            s.participant.ref_source_id or "",
        )

    assert sorted(cut, key=key) == sorted(halves, key=key)
