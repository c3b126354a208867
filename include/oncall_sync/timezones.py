"""Time-zone ids as OpsGenie (Java) accepts them, resolved to canonical IANA zones.

The zone database is the `tzdata` package, never the OS: links are read from its `tzdata.zi`, so
a tzdata bump keeps the table right, and slim containers without `tzdata-legacy` still work.

Canonical ids are IANA Zone names (never Links), except for Java custom offsets that are not a
whole number of hours: those become the fixed-offset form `UTC+05:30` (not an IANA id; only
`tzinfo_for` here understands it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from importlib import resources
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

ZoneKind = Literal["iana", "link", "java_short", "custom_offset", "server_alias"]


class UnknownTimeZone(ValueError):
    """A zone id that cannot be resolved; the message carries the raw value."""

    def __init__(self, raw: str, detail: str = "") -> None:
        self.raw = raw
        message = f"unknown time zone {raw!r}"
        super().__init__(f"{message}: {detail}" if detail else message)


class ZoneResolution(BaseModel):
    model_config = ConfigDict(frozen=True)

    raw: str  # as the source gave it
    canonical: str  # IANA Zone name, or the fixed-offset form UTC+HH:MM
    kind: ZoneKind
    note: str  # what was converted and why; "" for a plain IANA zone


# Java's ZoneId.SHORT_IDS, its own fixed table (not tzdata's abbreviations). Region targets are
# followed through tzdata links afterwards, since several are Links in current tzdata.
JAVA_SHORT_IDS: dict[str, str] = {
    "ACT": "Australia/Darwin",
    "AET": "Australia/Sydney",
    "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo",
    "AST": "America/Anchorage",
    "BET": "America/Sao_Paulo",
    "BST": "Asia/Dhaka",
    "CAT": "Africa/Harare",
    "CNT": "America/St_Johns",
    "CST": "America/Chicago",
    "CTT": "Asia/Shanghai",
    "EAT": "Africa/Addis_Ababa",
    "ECT": "Europe/Paris",
    "IET": "America/Indiana/Indianapolis",
    "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo",
    "MIT": "Pacific/Apia",
    "NET": "Asia/Yerevan",
    "NST": "Pacific/Auckland",
    "PLT": "Asia/Karachi",
    "PNT": "America/Phoenix",
    "PRT": "America/Puerto_Rico",
    "PST": "America/Los_Angeles",
    "SST": "Pacific/Guadalcanal",
    "VST": "Asia/Ho_Chi_Minh",
    "EST": "-05:00",
    "MST": "-07:00",
    "HST": "-10:00",
}

# Zones OpsGenie hands back in place of what was sent (reference §7, §10.12): UTC, Etc/UTC, Zulu
# and GMT come back as Africa/Monrovia, a real zone at UTC+0 since 1972.
SERVER_ALIASES: dict[str, str] = {
    "Africa/Monrovia": "OpsGenie returns Africa/Monrovia for schedules created with UTC or GMT; "
    "it is UTC+0 since 1972",
}

_MAX_OFFSET_MINUTES = 18 * 60  # Java's ZoneOffset range
_CUSTOM_OFFSET = re.compile(r"(?:GMT|UTC|UT)([+-])(\d{1,2})(?::?(\d{2}))?")
_FIXED_FORM = re.compile(r"UTC([+-])(\d{2}):(\d{2})")


# --- the zone database ----------------------------------------------------------------------


@cache
def _tzdb() -> tuple[frozenset[str], dict[str, str]]:
    """Zone names and link -> canonical zone, from the tzdata package's tzdata.zi."""
    text = resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text("utf-8")
    zones: set[str] = set()
    links: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "Z":
            zones.add(fields[1])
        elif len(fields) >= 3 and fields[0] == "L":
            links[fields[2]] = fields[1]
    resolved = {link: _follow(target, links) for link, target in links.items()}
    return frozenset(zones), resolved


def _follow(name: str, links: dict[str, str]) -> str:
    seen = {name}
    while name in links:  # tzdata.zi links point at zones, but chains cost nothing to follow
        name = links[name]
        if name in seen:
            raise RuntimeError(f"tzdata link cycle at {name!r}")
        seen.add(name)
    return name


@cache
def _case_insensitive_index() -> dict[str, tuple[str, ...]]:
    zones, links = _tzdb()
    index: dict[str, set[str]] = {}
    for name in (*zones, *links, *JAVA_SHORT_IDS):
        index.setdefault(name.lower(), set()).add(name)
    return {key: tuple(sorted(names)) for key, names in index.items()}


class _PackagedZone(ZoneInfo):
    """A ZoneInfo read from the tzdata package: the OS zone files (often an older tzdata) play no
    part. Pickles by name, which a zone read from a stream otherwise cannot."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return tzinfo_for, (str(self.key),)


@cache
def _zoneinfo(name: str) -> ZoneInfo:
    path = resources.files("tzdata").joinpath("zoneinfo", *name.split("/"))
    with path.open("rb") as stream:
        return _PackagedZone.from_file(stream, key=name)


# --- offsets ----------------------------------------------------------------------------------


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _zone_for_offset(minutes: int) -> str:
    """IANA Etc/GMT-N for whole hours (POSIX sign: Etc/GMT+8 is UTC-8), else UTC+HH:MM."""
    if minutes == 0:
        return "Etc/GMT"
    hours, rest = divmod(abs(minutes), 60)
    etc = f"Etc/GMT{'+' if minutes < 0 else '-'}{hours}"
    if rest == 0 and etc in _tzdb()[0]:
        return etc
    return f"UTC{_offset_text(minutes)}"


def _parse_custom_offset(raw: str) -> int | None:
    """Minutes east of UTC for a Java custom id (GMT-8:00, GMT+0530, UTC+5), ISO sign."""
    match = _CUSTOM_OFFSET.fullmatch(raw)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    total = int(hours) * 60 + int(minutes or 0)
    if int(minutes or 0) >= 60 or total > _MAX_OFFSET_MINUTES:
        raise UnknownTimeZone(raw, "offset out of range (Java allows up to ±18:00)")
    return -total if sign == "-" else total


# --- public API -------------------------------------------------------------------------------


def resolve_zone(raw: str) -> ZoneResolution:
    """Resolve a Java/OpsGenie zone id to a canonical zone, saying what was converted.

    Order: an IANA Zone as is; a Java short id by Java's table; a tzdata Link to its Zone; a
    custom offset; lastly an exact match ignoring case, only when it names one zone. Anything
    else raises UnknownTimeZone (Java would silently use GMT; we never do).
    """
    zones, links = _tzdb()
    name = raw.strip()
    if not name:
        raise UnknownTimeZone(raw, "empty")
    if name != raw:
        try:
            inner = resolve_zone(name)
        except UnknownTimeZone:
            raise UnknownTimeZone(raw) from None
        note = f"surrounding blanks removed; {inner.note}".rstrip("; ")
        return inner.model_copy(update={"raw": raw, "note": note})
    resolved = _resolve_exact(name, zones, links, raw)
    if resolved is not None:
        return resolved
    matches = _case_insensitive_index().get(name.lower(), ())
    if len(matches) == 1:
        exact = _resolve_exact(matches[0], zones, links, raw)
        if exact is not None:
            note = f"matched {matches[0]!r} ignoring case (Java ids are case-sensitive)"
            return exact.model_copy(update={"note": f"{note}; {exact.note}".rstrip("; ")})
    if len(matches) > 1:
        raise UnknownTimeZone(raw, f"matches {', '.join(matches)} ignoring case")
    raise UnknownTimeZone(raw)


def _resolve_exact(
    name: str, zones: frozenset[str], links: dict[str, str], raw: str
) -> ZoneResolution | None:
    if name in SERVER_ALIASES:
        return ZoneResolution(
            raw=raw, canonical=name, kind="server_alias", note=SERVER_ALIASES[name]
        )
    if name in zones:
        return ZoneResolution(raw=raw, canonical=name, kind="iana", note="")
    if name in JAVA_SHORT_IDS:
        target = JAVA_SHORT_IDS[name]
        if target.startswith(("+", "-")):
            sign = -1 if target[0] == "-" else 1
            fixed = sign * (int(target[1:3]) * 60 + int(target[4:6]))
            canonical = _zone_for_offset(fixed)
            note = f"Java short id {name} is a fixed UTC{target} without DST"
        else:
            canonical = links.get(target, target)
            note = f"Java short id {name} maps to {target}"
            if canonical != target:
                note += f", a tzdata link to {canonical}"
        return ZoneResolution(raw=raw, canonical=canonical, kind="java_short", note=note)
    if name in links:
        canonical = links[name]
        note = f"legacy tzdata link {name} -> {canonical}"
        return ZoneResolution(raw=raw, canonical=canonical, kind="link", note=note)
    offset = _parse_custom_offset(name)
    if offset is not None:
        canonical = _zone_for_offset(offset)
        note = f"Java custom offset {name} is UTC{_offset_text(offset)}"
        if canonical.startswith("Etc/GMT") and offset != 0:
            note += f"; IANA {canonical} has the inverted POSIX sign"
        elif not canonical.startswith("Etc/"):
            note += "; kept as a fixed offset (no IANA zone for it)"
        return ZoneResolution(raw=raw, canonical=canonical, kind="custom_offset", note=note)
    return None


def tzinfo_for(canonical: str) -> tzinfo:
    """The tzinfo for a canonical id: a ZoneInfo from the tzdata package, or a fixed offset."""
    match = _FIXED_FORM.fullmatch(canonical)
    if match is not None:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta, canonical)
    zones, links = _tzdb()
    if canonical not in zones and canonical not in links:
        raise UnknownTimeZone(canonical, "not a canonical zone id (resolve it first)")
    return _zoneinfo(canonical)


def local_to_utc(local: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a local wall-clock time in `zone` (any tzinfo on `local` is ignored).

    The one rule for odd local times, used everywhere: a time that does not exist (spring
    forward) moves forward to the first instant that does, the end of the gap; an ambiguous
    time (fall back) is its first occurrence (fold=0).
    """
    wall = local.replace(tzinfo=None, fold=0)
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=0 and fold=1 map either side of the transition; find it by bisection.
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    before, after = min(first, other), max(first, other)
    offset_after = after.astimezone(zone).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if middle <= before:
            break
        if middle.astimezone(zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return after


def zones_equivalent(a: str, b: str, *, start_year: int = 2020, years: int = 10) -> bool:
    """True when two zone ids (raw or canonical) give the same UTC offset at every instant from
    the start of `start_year` for `years` years; judged by offsets, never by name.

    Offsets are sampled every 3 hours, and wherever either zone changes between samples the
    change is found to the second and both zones are compared either side of it. (A zone that
    changed and changed back within 3 hours would go unseen; tzdata has none in this era.)
    """
    return _equivalent(resolve_zone(a).canonical, resolve_zone(b).canonical, start_year, years)


_SAMPLE_STEP = timedelta(hours=3)


@cache
def _equivalent(a: str, b: str, start_year: int, years: int) -> bool:
    if a == b:
        return True
    zone_a, zone_b = tzinfo_for(a), tzinfo_for(b)

    def offsets(at: datetime) -> tuple[timedelta | None, timedelta | None]:
        return zone_a.utcoffset(at.astimezone(zone_a)), zone_b.utcoffset(at.astimezone(zone_b))

    at = datetime(start_year, 1, 1, tzinfo=UTC)
    stop = datetime(start_year + years, 1, 1, tzinfo=UTC)
    previous = offsets(at)
    if previous[0] != previous[1]:
        return False
    while at < stop:
        following = at + _SAMPLE_STEP
        current = offsets(following)
        if current[0] != current[1]:
            return False
        # Between samples either zone may change at a different instant than the other: find
        # each change and compare both zones on either side of it.
        for index, zone in enumerate((zone_a, zone_b)):
            if current[index] != previous[index]:
                change = _first_change(zone, at, following, previous[index])
                for instant in (change - timedelta(seconds=1), change):
                    left, right = offsets(instant)
                    if left != right:
                        return False
        at, previous = following, current
    return True


def _first_change(zone: tzinfo, lo: datetime, hi: datetime, offset: timedelta | None) -> datetime:
    """The first instant in (lo, hi] whose offset differs from `offset`, to the second."""
    while hi - lo > timedelta(seconds=1):
        middle = (lo + (hi - lo) / 2).replace(microsecond=0)
        if middle <= lo:
            break
        if zone.utcoffset(middle.astimezone(zone)) == offset:
            lo = middle
        else:
            hi = middle
    return hi
