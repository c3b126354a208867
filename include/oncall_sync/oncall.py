"""Who is on call: the shifts of a schedule between two instants, from the canonical model alone,
with OpsGenie's semantics. Pure functions; every instant in and out is aware, out in UTC.

The rules, as decided here:
- Turns. A rotation turns every `turn_count` x `turn_unit` from `anchor_at`, read in the
  schedule's zone. Day and week turns step in local wall-clock days, so a 09:00 handoff stays at
  09:00 across DST (a turn then lasts 23 or 25 hours). Hour turns step in elapsed hours, so
  they keep their length and drift by an hour against the wall clock at a DST change. Turn k is
  held by `members[k % len(members)]`; a `none` member holds its turn but nobody is on call.
  Nothing is on call before `anchor_at` or from `ends_at`; disabled rotations and disabled
  schedules have nobody on call.
- Windows. A rotation with windows is active only inside them, read in the schedule's local
  time; daily windows may wrap midnight, weekly ones the week, and start == end is always. A
  handoff inside a window splits it between two people.
- Odd local times follow `timezones.local_to_utc`: a time in a spring-forward gap moves forward
  to the end of the gap; an ambiguous time is its first occurrence (fold=0).
- Rotations add up: shifts of different rotations may overlap, and everyone in them is paged.
- Overrides replace. An override scoped to rotations replaces those rotations' people for its
  whole span, inside or outside their windows, turns and start and end dates (OpsGenie draws
  it as one block in the rotation's row). An override for the whole schedule (no rotations
  named) leaves only its participant on call for its span, even where no rotation had anyone;
  it also displaces scoped overrides. Overrides that overlap in the same scope add up.
  Overrides naming a rotation that is absent or disabled change nothing. An override to `none`
  leaves nobody on call.
- Shifts are per turn: one shift per turn and window occurrence (adjacent window occurrences are
  joined first), never merged across a handoff, even to the same person. `merge_adjacent` joins
  them for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from pydantic import BaseModel, ConfigDict

from oncall_sync.model import (
    MemberType,
    Override,
    Participant,
    Rotation,
    Schedule,
    TimeWindow,
    TurnUnit,
    WindowKind,
)
from oncall_sync.timezones import local_to_utc, tzinfo_for

Span = tuple[datetime, datetime]  # [start, end) in UTC


class Shift(BaseModel):
    """One participant on call from `start` to `end` (aware UTC, end exclusive)."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    participant: Participant
    rotation_source_id: str | None  # None: a whole-schedule override
    from_override: str | None = None  # the override's source_id when an override put them here


# --- turns ------------------------------------------------------------------------------------


class _Turns:
    """Turn boundaries of one rotation: turn k runs from start(k) to start(k + 1)."""

    def __init__(self, rotation: Rotation, zone: tzinfo) -> None:
        self.anchor = rotation.anchor_at.astimezone(UTC)
        self.zone = zone
        self.local_anchor = rotation.anchor_at.astimezone(zone).replace(tzinfo=None)
        if rotation.turn_unit is TurnUnit.HOUR:
            self.step = timedelta(hours=rotation.turn_count)
            self.in_wall_clock = False
        else:
            days = 7 if rotation.turn_unit is TurnUnit.WEEK else 1
            self.step = timedelta(days=days * rotation.turn_count)
            self.in_wall_clock = True

    def start(self, k: int) -> datetime:
        if k == 0 or not self.in_wall_clock:
            return self.anchor + k * self.step
        return local_to_utc(self.local_anchor + k * self.step, self.zone)

    def index_at(self, at: datetime) -> int:
        """The turn containing `at` (at >= anchor)."""
        k = max(0, (at - self.anchor) // self.step)
        if self.in_wall_clock:  # the elapsed estimate is off by at most the DST shifts
            while k > 0 and self.start(k) > at:
                k -= 1
            while self.start(k + 1) <= at:
                k += 1
        return k


# --- windows ----------------------------------------------------------------------------------


def _window_spans(
    windows: Sequence[TimeWindow], zone: tzinfo, lo: datetime, hi: datetime
) -> list[Span]:
    """The rotation's active spans within [lo, hi): all of it without windows."""
    if not windows:
        return [(lo, hi)]
    first_day = lo.astimezone(zone).date() - timedelta(days=8)  # a weekly window lasts < 8 days
    last_day = hi.astimezone(zone).date()
    spans: list[Span] = []
    for window in windows:
        for day in _days(first_day, last_day):
            if window.kind is WindowKind.WEEKLY and day.isoweekday() != window.start_weekday:
                continue
            local_start = datetime.combine(day, window.start_time)
            local_end = local_start + timedelta(minutes=window.duration_minutes)
            start, end = local_to_utc(local_start, zone), local_to_utc(local_end, zone)
            start, end = max(start, lo), min(end, hi)
            if start < end:  # a window wholly inside a DST gap is empty that day
                spans.append((start, end))
    return _union(spans)


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, with overlapping and touching spans joined."""
    joined: list[Span] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def _without(span: Span, holes: Sequence[Span]) -> list[Span]:
    """`span` minus the (sorted, disjoint) `holes`."""
    pieces: list[Span] = []
    start, end = span
    for hole_start, hole_end in holes:
        if hole_end <= start or hole_start >= end:
            continue
        if hole_start > start:
            pieces.append((start, hole_start))
        start = max(start, hole_end)
        if start >= end:
            return pieces
    if start < end:
        pieces.append((start, end))
    return pieces


# --- public API -------------------------------------------------------------------------------


def rotation_shifts(
    rotation: Rotation, zone: tzinfo, start: datetime, end: datetime
) -> list[Shift]:
    """One rotation's shifts within [start, end), without overrides, in time order."""
    lo, hi = _as_utc(start), _as_utc(end)
    if not rotation.enabled or not rotation.members:
        return []
    lo = max(lo, rotation.anchor_at.astimezone(UTC))
    if rotation.ends_at is not None:
        hi = min(hi, rotation.ends_at.astimezone(UTC))
    if hi <= lo:
        return []
    active = _window_spans(rotation.windows, zone, lo, hi)
    turns = _Turns(rotation, zone)
    members = rotation.members
    shifts: list[Shift] = []
    first_active = 0
    k = turns.index_at(lo)
    turn_start = turns.start(k)
    while turn_start < hi and first_active < len(active):
        turn_end = turns.start(k + 1)
        participant = members[k % len(members)]
        piece_start, piece_end = max(turn_start, lo), min(turn_end, hi)
        while first_active < len(active) and active[first_active][1] <= piece_start:
            first_active += 1
        if participant.member_type is not MemberType.NONE:
            for span_start, span_end in active[first_active:]:
                if span_start >= piece_end:
                    break
                shift_start, shift_end = max(piece_start, span_start), min(piece_end, span_end)
                if shift_start < shift_end:
                    shifts.append(
                        Shift(
                            start=shift_start,
                            end=shift_end,
                            participant=participant,
                            rotation_source_id=rotation.source_id,
                        )
                    )
        k, turn_start = k + 1, turn_end
    return shifts


def schedule_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """All shifts of a schedule within [start, end): every enabled rotation, overrides applied,
    ordered by start, then whole-schedule overrides before rotations in position order."""
    lo, hi = _as_utc(start), _as_utc(end)
    if not schedule.enabled or hi <= lo:
        return []
    zone = tzinfo_for(schedule.time_zone)
    rotations = sorted((r for r in schedule.rotations if r.enabled), key=lambda r: r.position)
    overrides = [o for o in schedule.overrides if _clip((o.starts_at, o.ends_at), lo, hi)]
    shifts: list[Shift] = []
    for rotation in rotations:
        scoped = [o for o in overrides if rotation.source_id in o.rotation_source_ids]
        shifts += _overridden(
            rotation_shifts(rotation, zone, lo, hi), scoped, rotation.source_id, lo, hi
        )
    whole = [o for o in overrides if not o.rotation_source_ids]
    shifts = _overridden(shifts, whole, None, lo, hi)
    order = {rotation.source_id: index for index, rotation in enumerate(rotations)}
    return sorted(shifts, key=lambda s: (s.start, order.get(s.rotation_source_id or "", -1), s.end))


def on_call_at(schedule: Schedule, at: datetime) -> list[Participant]:
    """Everyone on call at an instant (rotations add up), each once, nobody for `none` slots."""
    instant = _as_utc(at)
    people: list[Participant] = []
    for shift in schedule_shifts(schedule, instant, instant + timedelta(microseconds=1)):
        if shift.participant not in people:
            people.append(shift.participant)
    return people


def merge_adjacent(shifts: Iterable[Shift]) -> list[Shift]:
    """Join shifts that touch and agree on participant, rotation and override (for display)."""
    merged: list[Shift] = []
    open_by_key: dict[tuple[object, ...], int] = {}
    for shift in sorted(shifts, key=lambda s: (s.start, s.end)):
        key = (shift.participant, shift.rotation_source_id, shift.from_override)
        index = open_by_key.get(key)
        if index is not None and merged[index].end == shift.start:
            merged[index] = merged[index].model_copy(update={"end": shift.end})
        else:
            open_by_key[key] = len(merged)
            merged.append(shift)
    return merged


# --- helpers ----------------------------------------------------------------------------------


def _overridden(
    shifts: list[Shift],
    overrides: Sequence[Override],
    rotation_source_id: str | None,
    lo: datetime,
    hi: datetime,
) -> list[Shift]:
    """`shifts` with the overrides' spans cut out and the overrides' participants put in."""
    if not overrides:
        return shifts
    spans = [_clip((o.starts_at, o.ends_at), lo, hi) for o in overrides]
    holes = _union(span for span in spans if span is not None)
    kept = [
        shift.model_copy(update={"start": piece[0], "end": piece[1]})
        for shift in shifts
        for piece in _without((shift.start, shift.end), holes)
    ]
    for override, span in zip(overrides, spans, strict=True):
        if span is not None and override.participant.member_type is not MemberType.NONE:
            kept.append(
                Shift(
                    start=span[0],
                    end=span[1],
                    participant=override.participant,
                    rotation_source_id=rotation_source_id,
                    from_override=override.source_id,
                )
            )
    return kept


def _clip(span: Span, lo: datetime, hi: datetime) -> Span | None:
    start, end = max(_as_utc(span[0]), lo), min(_as_utc(span[1]), hi)
    return (start, end) if start < end else None


def _as_utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"instants must be aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)
