"""The emulator's own on-call computation: who a schedule puts on call, and its timeline.

Kept independent of `oncall_sync.oncall` and of zone resolution in `oncall_sync.timezones` on
purpose (only Java's fixed table of short ids is shared): later work compares the two.
The semantics, as the emulator implements them (docs/emulator.md):
- a rotation hands over every `length` x `type` from its `startDate`; hourly turns are absolute
  hours, daily and weekly turns keep the wall-clock time of `startDate` in the schedule's zone
  (so handoffs stay at 09:00 across DST); turns cycle through `participants` in order;
- a rotation is active only in [startDate, endDate) and, if it has a time restriction, only inside
  its windows (in the schedule's zone); the turn clock keeps running outside the windows;
- all rotations of a schedule add up: everyone on call in any rotation is on call;
- an override scoped to rotations replaces their people for its whole span, inside or outside
  their windows and dates; an override naming no rotation leaves only its participant on call for
  its span (even where nobody was) and displaces scoped ones; overlapping overrides add up; user
  type `none` leaves the slot empty; disabled rotations and schedules have nobody on call;
- periods are per turn: a handoff ends a period even when the same person takes the next turn.
These match the rules `oncall_sync.oncall` documents; the code is separate so each checks the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Java's ZoneId.SHORT_IDS is a fact, not logic, so it is shared; how an id resolves (unknown ids
# fall back to GMT, as in Java) stays the emulator's own.
from oncall_sync.timezones import JAVA_SHORT_IDS

Payload = dict[str, Any]
Span = tuple[datetime, datetime]

CUSTOM_OFFSET = re.compile(r"^(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?$")
DAY_INDEX = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
NOBODY: Payload = {"type": "none"}


def resolve_zone(zone_id: str) -> tzinfo:
    """The tzinfo for an OpsGenie zone id: IANA, Java short id, or custom offset like GMT-8:00."""
    target = JAVA_SHORT_IDS.get(zone_id, zone_id)
    if target.startswith(("+", "-")):  # EST, MST and HST are fixed offsets in Java's table
        target = f"GMT{target}"
    match = CUSTOM_OFFSET.match(target)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        return timezone(sign * timedelta(minutes=minutes), zone_id)
    try:
        return ZoneInfo(target)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC  # Java maps unknown ids to GMT, and so do we


def parse_instant(text: str) -> datetime:
    """An API date (`2026-11-01T09:00:00Z`, with millis or an offset) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(local: datetime, zone: tzinfo) -> datetime:
    """Wall-clock time in `zone` to UTC (a time in a DST gap moves forward, as Java does)."""
    return local.replace(tzinfo=zone).astimezone(UTC)


def _local(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


@dataclass(frozen=True)
class Period:
    """One stretch of a rotation: who (a participant payload) from start to end, and why."""

    start: datetime
    end: datetime
    who: Payload
    kind: str = "default"  # "default" from the rotation, "override", or "forwarding"
    forwarded_from: str | None = None  # a forwarding period's `fromUser` (a username)


# -- rotations ---------------------------------------------------------------------------------


def turns(rotation: Payload, zone: tzinfo, start: datetime, end: datetime) -> Iterator[Period]:
    """The rotation's turns overlapping [start, end), before restrictions and date bounds."""
    participants = rotation.get("participants") or [NOBODY]
    length = max(1, int(rotation.get("length") or 1))
    anchor = parse_instant(rotation["startDate"])
    if rotation.get("type") == "hourly":
        step = timedelta(hours=length)
        k = (start - anchor) // step

        def boundary(i: int) -> datetime:
            return anchor + i * step
    else:
        days = length * (7 if rotation.get("type") == "weekly" else 1)
        local_anchor = _local(anchor, zone)

        def boundary(i: int) -> datetime:
            return _utc(local_anchor + timedelta(days=i * days), zone)

        k = (_local(start, zone) - local_anchor).days // days
        while boundary(k) > start:
            k -= 1
        while boundary(k + 1) <= start:
            k += 1
    while True:
        turn_start, turn_end = boundary(k), boundary(k + 1)
        if turn_start >= end:
            return
        yield Period(turn_start, turn_end, participants[k % len(participants)])
        k += 1


def restriction_windows(
    restriction: Payload | None, zone: tzinfo, start: datetime, end: datetime
) -> list[Span]:
    """The windows of a time restriction overlapping [start, end), merged, in UTC."""
    if not restriction:
        return [(start, end)]
    raw: list[Span] = []
    first_day = _local(start, zone).date() - timedelta(days=1)
    last_day = _local(end, zone).date()
    if restriction.get("type") == "time-of-day":
        r = restriction["restriction"]
        opens = timedelta(hours=r["startHour"], minutes=r["startMin"])
        closes = timedelta(hours=r["endHour"], minutes=r["endMin"])
        if opens == closes:
            return [(start, end)]  # start == end means always on
        if closes < opens:
            closes += timedelta(days=1)  # wraps midnight
        day = first_day
        while day <= last_day:
            midnight = datetime.combine(day, time())
            raw.append((_utc(midnight + opens, zone), _utc(midnight + closes, zone)))
            day += timedelta(days=1)
    else:
        monday = first_day - timedelta(days=first_day.weekday() + 7)
        while monday <= last_day:
            week = datetime.combine(monday, time())
            for r in restriction.get("restrictions") or []:
                opens = timedelta(
                    days=DAY_INDEX[r["startDay"]], hours=r["startHour"], minutes=r["startMin"]
                )
                closes = timedelta(
                    days=DAY_INDEX[r["endDay"]], hours=r["endHour"], minutes=r["endMin"]
                )
                if closes <= opens:
                    closes += timedelta(days=7)  # wraps the week (equal: the whole week)
                raw.append((_utc(week + opens, zone), _utc(week + closes, zone)))
            monday += timedelta(days=7)
    return _merge([(max(a, start), min(b, end)) for a, b in raw if a < end and b > start])


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def base_periods(rotation: Payload, zone: tzinfo, start: datetime, end: datetime) -> list[Period]:
    """Who the rotation has on call in [start, end): turns, cut to dates and restriction windows."""
    lo = max(start, parse_instant(rotation["startDate"]))
    hi = min(end, parse_instant(rotation["endDate"])) if rotation.get("endDate") else end
    if lo >= hi:
        return []
    windows = restriction_windows(rotation.get("timeRestriction"), zone, lo, hi)
    periods: list[Period] = []
    w = 0
    for turn in turns(rotation, zone, lo, hi):
        while w < len(windows) and windows[w][1] <= turn.start:
            w += 1
        i = w
        while i < len(windows) and windows[i][0] < turn.end:
            a, b = max(windows[i][0], turn.start, lo), min(windows[i][1], turn.end, hi)
            if a < b:  # windows are merged, so pieces of one turn never touch
                periods.append(Period(a, b, turn.who))
            i += 1
    return periods


@dataclass(frozen=True)
class OverrideSpan:
    """An override as the computation needs it: when, who, and which rotations (empty: all)."""

    start: datetime
    end: datetime
    who: Payload
    rotation_ids: frozenset[str]

    @property
    def whole_schedule(self) -> bool:
        return not self.rotation_ids


def override_spans(overrides: Sequence[Payload]) -> list[OverrideSpan]:
    """The overrides that cover any time (one ending before it starts covers nothing)."""
    spans = []
    for o in overrides:
        start, end = parse_instant(o["startDate"]), parse_instant(o["endDate"])
        if start < end:
            ids = frozenset(r.get("id", "") for r in o.get("rotations") or [])
            spans.append(OverrideSpan(start, end, o.get("user") or NOBODY, ids))
    return spans


def _cut(periods: Sequence[Period], holes: Sequence[Span]) -> list[Period]:
    """`periods` without the parts inside any of `holes`."""
    result = list(periods)
    for h_start, h_end in holes:
        kept: list[Period] = []
        for p in result:
            if p.end <= h_start or p.start >= h_end:
                kept.append(p)
                continue
            if p.start < h_start:
                kept.append(Period(p.start, h_start, p.who, p.kind))
            if p.end > h_end:
                kept.append(Period(h_end, p.end, p.who, p.kind))
        result = kept
    return result


def apply_overrides(
    rotation_id: str,
    periods: list[Period],
    spans: Sequence[OverrideSpan],
    start: datetime,
    end: datetime,
) -> list[Period]:
    """A rotation's row once overrides apply, clipped to [start, end).

    An override scoped to this rotation replaces its people for the whole span, inside or outside
    its windows and dates (OpsGenie draws it as one block in the rotation's row). A whole-schedule
    override does the same in every row and displaces scoped overrides too. Overlapping overrides
    add up."""
    whole = [o for o in spans if o.whole_schedule]
    scoped = [o for o in spans if rotation_id in o.rotation_ids]
    holes = [(o.start, o.end) for o in [*whole, *scoped]]
    pieces = _cut(periods, holes)
    for o in scoped:
        pieces += _cut(
            [Period(o.start, o.end, o.who, "override")], [(w.start, w.end) for w in whole]
        )
    pieces += [Period(o.start, o.end, o.who, "override") for o in whole]
    clipped = [
        Period(max(p.start, start), min(p.end, end), p.who, p.kind)
        for p in pieces
        if p.end > start and p.start < end
    ]
    return sorted(clipped, key=lambda p: (p.start, p.kind))


# -- schedules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationTimeline:
    rotation: Payload
    base: list[Period]
    final: list[Period]


def schedule_timeline(
    schedule: Payload, overrides: Sequence[Payload], start: datetime, end: datetime
) -> list[RotationTimeline]:
    """Base and final (overridden) periods of every enabled rotation in [start, end)."""
    zone = resolve_zone(schedule.get("timezone") or "UTC")
    spans = override_spans(overrides)
    result = []
    for rotation in schedule.get("rotations") or []:
        if rotation.get("enabled", True) is False:
            continue  # a disabled rotation is off, and overrides naming it change nothing
        base = base_periods(rotation, zone, start, end)
        final = apply_overrides(rotation.get("id", ""), base, spans, start, end)
        result.append(RotationTimeline(rotation, base, final))
    return result


def on_call_at(schedule: Payload, overrides: Sequence[Payload], moment: datetime) -> list[Payload]:
    """The participants the schedule has on call at `moment`, rotations in order, no repeats.

    A whole-schedule override leaves only its people on call, even where no rotation had anyone."""
    if not schedule.get("enabled", True):
        return []
    spans = [o for o in override_spans(overrides) if o.start <= moment < o.end]
    whole = [o.who for o in spans if o.whole_schedule]
    if whole:
        return _distinct(whole)
    found: list[Payload] = []
    for line in schedule_timeline(schedule, overrides, moment, moment + timedelta(seconds=1)):
        found += [p.who for p in line.final if p.start <= moment < p.end]
    return _distinct(found)


def _distinct(people: Sequence[Payload]) -> list[Payload]:
    """Real people only (no `none`), each once, first appearance first."""
    found: list[Payload] = []
    seen: set[tuple[str, str]] = set()
    for who in people:
        key = (who.get("type", "none"), who.get("id") or who.get("username") or "")
        if who.get("type", "none") != "none" and key not in seen:
            seen.add(key)
            found.append(who)
    return found


def local_day_start(moment: datetime, zone: tzinfo) -> datetime:
    """Midnight of `moment`'s day in `zone`, in UTC (where a timeline window begins)."""
    return _utc(datetime.combine(_local(moment, zone).date(), time()), zone)


def add_interval(start: datetime, zone: tzinfo, amount: int, unit: str) -> datetime:
    """`start` plus `amount` days, weeks or months of wall-clock time in `zone`."""
    local = _local(start, zone)
    if unit == "months":
        month = local.month - 1 + amount
        year, month = local.year + month // 12, month % 12 + 1
        day = min(local.day, _days_in_month(year, month))
        return _utc(local.replace(year=year, month=month, day=day), zone)
    days = amount * (7 if unit == "weeks" else 1)
    return _utc(local + timedelta(days=days), zone)


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


# -- payloads ----------------------------------------------------------------------------------


def recipient(who: Payload) -> Payload:
    """A timeline period's `recipient`: users by username, teams/escalations by name."""
    kind = who.get("type", "none")
    if kind == "none":
        return {"type": "none"}
    if kind == "user":
        return {"id": who.get("id", ""), "type": "user", "name": who.get("username", "")}
    return {"id": who.get("id", ""), "type": kind, "name": who.get("name", "")}


def period_payloads(periods: Sequence[Period]) -> list[Payload]:
    payloads = []
    for p in periods:
        payload = {
            "startDate": iso(p.start),
            "endDate": iso(p.end),
            "type": p.kind,
            "recipient": recipient(p.who),
        }
        if p.forwarded_from is not None:
            payload["fromUser"] = p.forwarded_from
        payloads.append(payload)
    return payloads


def forwarding_rule_spans(rules: Sequence[Payload], user: Payload) -> list[tuple[Span, Payload]]:
    """The windows in which `user` forwards, with the rule's target; empty windows dropped."""
    spans = []
    for rule in rules:
        source = rule.get("fromUser") or {}
        if source.get("id") != user.get("id"):
            continue
        start, end = parse_instant(rule["startDate"]), parse_instant(rule["endDate"])
        if start < end:
            spans.append(((start, end), rule.get("toUser") or {}))
    return spans


def forwarding_periods(periods: Sequence[Period], rules: Sequence[Payload]) -> list[Period]:
    """The `forwarding` periods of a rotation's row: where a user on call has a forwarding rule,
    its target for the overlap, with `fromUser` the user it comes from (reference 10)."""
    found = []
    for p in periods:
        if p.who.get("type") != "user":
            continue
        for (start, end), target in forwarding_rule_spans(rules, p.who):
            a, b = max(start, p.start), min(end, p.end)
            if a < b:
                to = {
                    "type": "user",
                    "id": target.get("id", ""),
                    "username": target.get("username", ""),
                }
                found.append(Period(a, b, to, "forwarding", p.who.get("username", "")))
    return sorted(found, key=lambda p: p.start)


def participant_payload(
    who: Payload, teams: Mapping[str, Payload], escalations: Mapping[str, Payload]
) -> Payload:
    """An `onCallParticipants` entry; teams nest their members, escalations their rule steps."""
    entry = recipient(who)
    entry = {"id": entry.get("id", ""), "name": entry.get("name", ""), "type": entry["type"]}
    if who.get("type") == "team":
        team = teams.get(who.get("id", ""), {})
        entry["onCallParticipants"] = [
            {"id": m["user"]["id"], "name": m["user"]["username"], "type": "user"}
            for m in team.get("members", [])
        ]
    elif who.get("type") == "escalation":
        escalation = escalations.get(who.get("id", ""), {})
        steps = []
        for rule in escalation.get("rules", []):
            step = recipient(rule["recipient"])
            step["escalationTime"] = rule["delay"]["timeAmount"]
            step["notifyType"] = rule["notifyType"]
            steps.append(step)
        entry["onCallParticipants"] = steps
    return entry


def flat_recipients(
    participants: Sequence[Payload],
    teams: Mapping[str, Payload],
    escalations: Mapping[str, Payload],
) -> list[str]:
    """`onCallRecipients`: usernames behind the participants (team members, escalation users)."""
    names: list[str] = []
    for who in participants:
        if who.get("type") == "user":
            names.append(who.get("username", ""))
        elif who.get("type") == "team":
            names += [
                m["user"]["username"] for m in teams.get(who.get("id", ""), {}).get("members", [])
            ]
        elif who.get("type") == "escalation":
            for rule in escalations.get(who.get("id", ""), {}).get("rules", []):
                if rule["recipient"].get("type") == "user":
                    names.append(rule["recipient"].get("username", ""))
    return list(dict.fromkeys(names))
