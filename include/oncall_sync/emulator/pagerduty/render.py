"""The PagerDuty emulator's own rendering of layer schedules: each layer's entries, the overrides
sub-schedule, the final schedule and `/oncalls`, from the reference's layer semantics (§5.6-5.10).

Kept independent of `oncall_sync.oncall` and `oncall_sync.timezones` on purpose: the connector's
own computation is checked against this one over many instants, so neither may borrow the other's
logic. Inputs are the API's own payload dicts (layers, restrictions, overrides, policies).

Decisions (the reference leaves each UNCONFIRMED; docs/emulator-pagerduty.md lists them too):
1. Layer order: `schedule_layers[0]` is the highest layer, as the API returns them. At each instant
   an override wins; else the highest layer with someone on call; lower layers show through where
   higher ones are empty (restricted, not started, ended). Nobody on call at all is a gap.
2. Inside a layer: it counts only in [start, end). Turn k covers [b(k), b(k+1)) with
   b(k) = rotation_virtual_start + k x rotation_turn_length_seconds, for every integer k (turns
   before the virtual start count backwards); the user is `users[k mod n]`, repeats allowed.
   Restrictions only mask time: turns keep counting while masked, a handoff inside a window
   splits it between two users, and a turn wholly masked gives its user nothing.
3. DST, the switchable rule (`DstRule`). "wall_clock_days" (default, the reference's
   recommendation): a turn length that is a whole number of days steps in the schedule zone's
   wall time (a daily 09:00 handoff stays at 09:00, so the turn is 23 h or 25 h long on the
   change), other lengths step in elapsed seconds; a restriction window opens at its wall-clock
   time and closes at the wall-clock time `duration_seconds` later. "elapsed": every turn is
   exactly its seconds long and every window exactly its duration, from the wall-clock opening.
   A wall time that does not exist (spring gap) moves forward by the gap; an ambiguous one
   (autumn) is its first occurrence.
4. Restrictions: a layer's restrictions form a union of windows (overlapping ones merge). Daily
   windows open every local day at `start_time_of_day`; weekly ones every week on ISO weekday
   `start_day_of_week` (1 = Monday). A window may run past midnight and past the end of the week.
   A restriction of another type is ignored (nothing generated carries one).
5. Overrides sit above all layers. Where overrides overlap, the one later in the schedule's list
   (created later) wins. The overrides sub-schedule merges touching or overlapping stretches of
   the same user into one entry; an override that ends before it starts covers nothing.
6. Entries: a layer's entry is one turn inside one window, so a handoff ends an entry even when
   the same user takes the next turn. Final schedule entries are the layer entries and override
   stretches that show through, cut where a higher source begins or ends; they are not merged.
7. A rendering window [since, until) clips entries to it unless `overflow`; entries keep their
   whole extent with `overflow=true`. `since == until` asks for the entries containing that
   instant. Coverage is the share of the window the entries cover, in percent, two decimals.
8. `/oncalls`: one item per (policy, rule, target user, final-schedule entry) for schedule
   targets, entries overlapping the window and never clipped; one item with `start`/`end` null
   and `schedule` null for a user target. `escalation_level` is the 1-based rule position.
   `earliest=true` keeps the earliest item per (policy, level, user). v3 schedules and absent
   schedules give no items; a deleted user's reference is passed through as the payload has it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Payload = dict[str, Any]
Span = tuple[datetime, datetime]
DstRule = Literal["wall_clock_days", "elapsed"]
DST_RULES: tuple[str, ...] = ("wall_clock_days", "elapsed")

DAY = 86_400
WEEK = 7 * DAY

# Rails (ActiveSupport) display names PagerDuty pairs with IANA ids (DEV-TYPES); a subset, enough
# for the zones the generator uses and the common ones a caller may pass as `time_zone`.
RAILS_ZONES: dict[str, str] = {
    "International Date Line West": "Etc/GMT+12",
    "Hawaii": "Pacific/Honolulu",
    "Alaska": "America/Juneau",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Mountain Time (US & Canada)": "America/Denver",
    "Arizona": "America/Phoenix",
    "Central Time (US & Canada)": "America/Chicago",
    "Eastern Time (US & Canada)": "America/New_York",
    "Atlantic Time (Canada)": "America/Halifax",
    "Newfoundland": "America/St_Johns",
    "Brasilia": "America/Sao_Paulo",
    "UTC": "Etc/UTC",
    "London": "Europe/London",
    "Dublin": "Europe/Dublin",
    "Lisbon": "Europe/Lisbon",
    "Berlin": "Europe/Berlin",
    "Paris": "Europe/Paris",
    "Amsterdam": "Europe/Amsterdam",
    "Kyiv": "Europe/Kiev",
    "Moscow": "Europe/Moscow",
    "Kolkata": "Asia/Kolkata",
    "New Delhi": "Asia/Kolkata",
    "Kathmandu": "Asia/Kathmandu",
    "Tokyo": "Asia/Tokyo",
    "Sydney": "Australia/Sydney",
    "Auckland": "Pacific/Auckland",
    "Chatham Is.": "Pacific/Chatham",
}
# Zones whose instants PagerDuty (Rails) writes with a literal Z instead of +00:00.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Zulu"})


class UnknownZone(ValueError):
    """A `time_zone` that is neither an IANA id nor a Rails name the emulator knows."""


def resolve_zone(name: str) -> ZoneInfo:
    """The zone for an IANA id or a Rails display name ("Eastern Time (US & Canada)")."""
    target = RAILS_ZONES.get(name, name)
    try:
        return ZoneInfo(target)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZone(f"unknown time zone {name!r}") from None


def zone_identity(name: str) -> str:
    """What makes two zone names the same zone here: the IANA key they resolve to, with UTC's
    aliases as one (`UTC`, `Etc/UTC`, ...). Zones that are mere links (Europe/Kiev and
    Europe/Kyiv) stay apart, as a client cannot assume them alike without checking."""
    key = resolve_zone(name).key
    return "Etc/UTC" if key in UTC_NAMES else key


def parse_instant(text: str, zone: ZoneInfo | None = None) -> datetime:
    """An ISO 8601 instant (offset, Z, or none: then wall time in `zone`, else UTC) in UTC."""
    moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    if moment.tzinfo is None:
        return to_utc(moment, zone) if zone is not None else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_instant(moment: datetime, zone: ZoneInfo) -> str:
    """As PagerDuty writes instants: seconds, the rendering zone's offset, Z for UTC itself."""
    local = moment.astimezone(zone).replace(microsecond=0)
    if zone.key in UTC_NAMES:
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.isoformat()


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Wall time in `zone` to UTC. fold=0: a time in the spring gap moves forward by the gap (it
    is read with the offset before the change); an ambiguous autumn time is its first occurrence."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def seconds_of_day(text: str) -> int:
    """`HH:mm:ss` (or `HH:mm`) as seconds after midnight."""
    parts = [int(p) for p in text.split(":")]
    hours, minutes, seconds = [*parts, 0, 0][:3]
    return hours * 3600 + minutes * 60 + seconds


def overlaps(start: datetime, end: datetime, since: datetime, until: datetime) -> bool:
    """Whether [start, end) meets the window; an instant window asks for containment."""
    if since == until:
        return start <= since < end
    return start < until and end > since


@dataclass(frozen=True)
class Piece:
    """Someone on call from `start` to `end`, and where it comes from (`layer:<id>:<turn>` or
    `override:<id>`): pieces of one source never touch, so the source marks every handoff."""

    start: datetime
    end: datetime
    user: Payload
    source: str


# -- one layer -------------------------------------------------------------------------------------


class LayerClock:
    """Turn boundaries of a layer under a DST rule (decision 3)."""

    def __init__(self, layer: Payload, zone: ZoneInfo, rule: DstRule) -> None:
        self.anchor = parse_instant(layer["rotation_virtual_start"])
        self.length = int(layer["rotation_turn_length_seconds"])
        if self.length <= 0:
            raise ValueError(f"layer {layer.get('id')}: a turn must last at least one second")
        self.zone = zone
        self.wall = rule == "wall_clock_days" and self.length % DAY == 0
        self.local_anchor = to_local(self.anchor, zone)

    def boundary(self, k: int) -> datetime:
        if self.wall:
            return to_utc(self.local_anchor + timedelta(seconds=k * self.length), self.zone)
        return self.anchor + timedelta(seconds=k * self.length)

    def turn_at(self, moment: datetime) -> int:
        """The turn containing `moment`: the largest k with boundary(k) <= moment."""
        if self.wall:
            elapsed = (to_local(moment, self.zone) - self.local_anchor).total_seconds()
        else:
            elapsed = (moment - self.anchor).total_seconds()
        k = math.floor(elapsed / self.length)
        while self.boundary(k) > moment:
            k -= 1
        while self.boundary(k + 1) <= moment:
            k += 1
        return k

    @property
    def longest_turn(self) -> timedelta:
        # A wall-clock turn is at most a few hours longer than its seconds (a DST change).
        return timedelta(seconds=self.length) + (timedelta(days=1) if self.wall else timedelta())


def restriction_windows(
    restrictions: Sequence[Payload], zone: ZoneInfo, lo: datetime, hi: datetime, rule: DstRule
) -> list[Span]:
    """The union of a layer's restriction windows, merged and cut to [lo, hi) (decision 4)."""
    raw: list[Span] = []
    for restriction in restrictions:
        kind = restriction.get("type")
        if kind == "daily_restriction":
            step, opens_after = 1, seconds_of_day(restriction["start_time_of_day"])
        elif kind == "weekly_restriction":
            weekday = int(restriction["start_day_of_week"])
            step = 7
            opens_after = (weekday - 1) * DAY + seconds_of_day(restriction["start_time_of_day"])
        else:
            continue
        duration = timedelta(seconds=int(restriction["duration_seconds"]))
        # The first occurrence that can reach lo opened at most duration + one period before it.
        first = (to_local(lo, zone) - duration - timedelta(days=step + 1)).date()
        if step == 7:
            first -= timedelta(days=first.weekday())  # occurrences count from Mondays
        last = to_local(hi, zone).date() + timedelta(days=1)
        day = first
        while day <= last:
            opens_local = datetime.combine(day, time()) + timedelta(seconds=opens_after)
            opens = to_utc(opens_local, zone)
            if rule == "wall_clock_days":
                closes = to_utc(opens_local + duration, zone)
            else:
                closes = opens + duration
            if opens < hi and closes > lo and opens < closes:
                raw.append((max(opens, lo), min(closes, hi)))
            day += timedelta(days=step)
    return merge_spans(raw)


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def layer_pieces(
    layer: Payload, zone: ZoneInfo, lo: datetime, hi: datetime, rule: DstRule
) -> list[Piece]:
    """Who the layer alone has on call in [lo, hi), cut to it: turns inside windows (decision 2)."""
    users = [entry.get("user") or {} for entry in layer.get("users") or []]
    active_lo = max(lo, parse_instant(layer["start"]))
    active_hi = min(hi, parse_instant(layer["end"])) if layer.get("end") else hi
    if not users or active_lo >= active_hi:
        return []
    restrictions = layer.get("restrictions") or []
    windows = (
        restriction_windows(restrictions, zone, active_lo, active_hi, rule)
        if restrictions
        else [(active_lo, active_hi)]
    )
    if not windows:
        return []
    clock = LayerClock(layer, zone, rule)
    pieces: list[Piece] = []
    k = clock.turn_at(windows[0][0])
    w = 0
    layer_id = layer.get("id", "")
    while w < len(windows):
        turn_start, turn_end = clock.boundary(k), clock.boundary(k + 1)
        if turn_start >= windows[-1][1]:
            break
        while w < len(windows) and windows[w][1] <= turn_start:
            w += 1
        i = w
        while i < len(windows) and windows[i][0] < turn_end:
            start, end = max(windows[i][0], turn_start), min(windows[i][1], turn_end)
            if start < end:
                pieces.append(Piece(start, end, users[k % len(users)], f"layer:{layer_id}:{k}"))
            i += 1
        # Jump straight to the turn of the next window when whole turns fall between windows.
        k = k + 1 if w >= len(windows) or windows[w][0] < turn_end else clock.turn_at(windows[w][0])
    return pieces


# -- overrides and the final schedule --------------------------------------------------------------


def override_pieces(overrides: Sequence[Payload]) -> list[Piece]:
    """The overrides sub-schedule over all time: later overrides win, one user's stretches merge."""
    spans = []
    for order, override in enumerate(overrides):
        start, end = parse_instant(override["start"]), parse_instant(override["end"])
        if start < end:
            spans.append((start, end, order, override))
    bounds = sorted({b for s in spans for b in s[:2]})
    pieces: list[Piece] = []
    for a, b in pairwise(bounds):
        covering = [s for s in spans if s[0] <= a and s[1] >= b]
        if not covering:
            continue
        winner = max(covering, key=lambda s: s[2])[3]
        user = winner.get("user") or {}
        last = pieces[-1] if pieces else None
        if last is not None and last.end == a and last.user.get("id") == user.get("id"):
            pieces[-1] = Piece(last.start, b, last.user, last.source)
        else:
            pieces.append(Piece(a, b, user, f"override:{winner.get('id', '')}"))
    return pieces


def _uncovered(piece: Piece, covered: Sequence[Span]) -> list[Piece]:
    """The parts of `piece` outside the sorted, merged `covered` spans."""
    parts: list[Piece] = []
    cursor = piece.start
    for start, end in covered:
        if end <= cursor:
            continue
        if start >= piece.end:
            break
        if start > cursor:
            parts.append(Piece(cursor, start, piece.user, piece.source))
        cursor = max(cursor, end)
        if cursor >= piece.end:
            break
    if cursor < piece.end:
        parts.append(Piece(cursor, piece.end, piece.user, piece.source))
    return parts


@dataclass(frozen=True)
class Rendering:
    """A schedule rendered for a window: each layer's entries (in API order), the overrides
    sub-schedule and the final schedule; entries meet the window and keep their whole extent."""

    since: datetime
    until: datetime
    layers: list[list[Piece]]
    overrides: list[Piece]
    final: list[Piece]

    def clipped(self, pieces: Sequence[Piece]) -> list[Piece]:
        if self.since == self.until:
            return list(pieces)
        return [
            Piece(max(p.start, self.since), min(p.end, self.until), p.user, p.source)
            for p in pieces
        ]

    def coverage(self, pieces: Sequence[Piece]) -> float | None:
        window = (self.until - self.since).total_seconds()
        if window <= 0:
            return None
        covered = sum((p.end - p.start).total_seconds() for p in self.clipped(pieces))
        return round(100 * covered / window, 2)


def schedule_zone(schedule: Payload) -> ZoneInfo:
    return resolve_zone(schedule.get("time_zone") or "Etc/UTC")


def render_schedule(
    schedule: Payload,
    overrides: Sequence[Payload],
    since: datetime,
    until: datetime,
    rule: DstRule = "wall_clock_days",
) -> Rendering:
    """Render `schedule` for [since, until) (decisions 1, 5, 6, 7)."""
    if until < since:
        raise ValueError("until must not be before since")
    zone = schedule_zone(schedule)
    layers = schedule.get("schedule_layers") or []
    all_overrides = override_pieces(overrides)
    shown = [p for p in all_overrides if overlaps(p.start, p.end, since, until)]
    # Entries meeting the window may start or end outside it: render a margin wide enough for
    # the longest turn (a layer entry lies inside its turn) and for the overrides shown.
    margin = max(
        [LayerClock(layer, zone, rule).longest_turn for layer in layers], default=timedelta()
    ) + timedelta(seconds=1)
    lo = min([since - margin, *(p.start for p in shown)])
    hi = max([until + margin, *(p.end for p in shown)])
    per_layer = [layer_pieces(layer, zone, lo, hi, rule) for layer in layers]
    placed: list[Piece] = [
        Piece(max(p.start, lo), min(p.end, hi), p.user, p.source)
        for p in all_overrides
        if p.start < hi and p.end > lo
    ]
    covered = merge_spans((p.start, p.end) for p in placed)
    for pieces in per_layer:  # highest first
        added = [part for piece in pieces for part in _uncovered(piece, covered)]
        placed += added
        covered = merge_spans([*covered, *((p.start, p.end) for p in added)])
    placed.sort(key=lambda p: p.start)

    def meeting(pieces: Iterable[Piece]) -> list[Piece]:
        return [p for p in pieces if overlaps(p.start, p.end, since, until)]

    return Rendering(since, until, [meeting(p) for p in per_layer], shown, meeting(placed))


def on_call_at(
    schedule: Payload,
    overrides: Sequence[Payload],
    moment: datetime,
    rule: DstRule = "wall_clock_days",
) -> Payload | None:
    """The user reference on call at `moment`, or None in a gap."""
    final = render_schedule(schedule, overrides, moment, moment, rule).final
    return final[0].user if final else None


# -- /oncalls --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnCall:
    """One `/oncalls` item before serialisation (decision 8); start/end None: always on call."""

    policy: Payload
    level: int
    user: Payload
    schedule: Payload | None
    start: datetime | None
    end: datetime | None


def oncalls(
    policies: Sequence[Payload],
    schedules: Mapping[str, Payload],
    overrides: Mapping[str, Sequence[Payload]],
    since: datetime,
    until: datetime,
    rule: DstRule = "wall_clock_days",
    *,
    user_ids: set[str] | None = None,
    policy_ids: set[str] | None = None,
    schedule_ids: set[str | None] | None = None,
    earliest: bool = False,
) -> list[OnCall]:
    """Who each policy's rules put on call in [since, until], per target (decision 8).

    `schedule_ids` keeps only those schedules' items; a None in it keeps user targets' items too.
    """
    rendered: dict[str, list[Piece]] = {}
    items: list[OnCall] = []
    for policy in policies:
        if policy_ids is not None and policy["id"] not in policy_ids:
            continue
        for level, escalation_rule in enumerate(policy.get("escalation_rules") or [], start=1):
            for target in escalation_rule.get("targets") or []:
                kind = str(target.get("type", "")).removesuffix("_reference")
                if kind == "user":
                    if schedule_ids is None or None in schedule_ids:
                        items.append(OnCall(policy, level, target, None, None, None))
                    continue
                if kind != "schedule":
                    continue  # v3 schedules are not rendered here
                schedule = schedules.get(target.get("id", ""))
                if schedule is None or (
                    schedule_ids is not None and schedule["id"] not in schedule_ids
                ):
                    continue
                if schedule["id"] not in rendered:
                    rendered[schedule["id"]] = render_schedule(
                        schedule, overrides.get(schedule["id"], []), since, until, rule
                    ).final
                items += [
                    OnCall(policy, level, p.user, target, p.start, p.end)
                    for p in rendered[schedule["id"]]
                ]
    if user_ids is not None:
        items = [i for i in items if i.user.get("id") in user_ids]
    if earliest:
        first: dict[tuple[str, int, str], OnCall] = {}
        for item in items:
            key = (item.policy["id"], item.level, item.user.get("id", ""))
            if key not in first or _starts_before(item, first[key]):
                first[key] = item
        items = list(first.values())
    return items


def _starts_before(a: OnCall, b: OnCall) -> bool:
    if a.start is None:
        return b.start is not None
    return b.start is not None and a.start < b.start


# -- restrictions shown in another zone ------------------------------------------------------------


def restriction_in_zone(
    restriction: Payload, schedule_tz: ZoneInfo, shown_tz: ZoneInfo, reference: datetime
) -> Payload:
    """A restriction re-expressed in `shown_tz` without an offset, as a list rendered in the
    caller's zone shows it (§5.4): the occurrence in force at `reference` (the emulator's now) is
    converted, so the shift depends on both zones' offsets at that moment."""
    if zone_identity(schedule_tz.key) == zone_identity(shown_tz.key):
        return dict(restriction)
    local_ref = to_local(reference, schedule_tz)
    opens_after = seconds_of_day(restriction["start_time_of_day"])
    if restriction.get("type") == "weekly_restriction":
        monday = local_ref.date() - timedelta(days=local_ref.weekday())
        day: date = monday + timedelta(days=int(restriction["start_day_of_week"]) - 1)
    else:
        day = local_ref.date()
    opens = to_utc(datetime.combine(day, time()) + timedelta(seconds=opens_after), schedule_tz)
    shown = to_local(opens, shown_tz)
    result = {**restriction, "start_time_of_day": shown.strftime("%H:%M:%S")}
    if restriction.get("type") == "weekly_restriction":
        result["start_day_of_week"] = shown.isoweekday()
    return result
