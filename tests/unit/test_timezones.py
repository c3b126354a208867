"""Zone ids as OpsGenie (Java) accepts them, resolved to canonical IANA zones."""

import pickle
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from oncall_sync.timezones import (
    JAVA_SHORT_IDS,
    UnknownTimeZone,
    local_to_utc,
    resolve_zone,
    tzinfo_for,
    zones_equivalent,
)

# Java's ZoneId.SHORT_IDS with each target resolved through tzdata 2026 links.
JAVA_SHORT_CANONICAL = {
    "ACT": "Australia/Darwin",
    "AET": "Australia/Sydney",
    "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo",
    "AST": "America/Anchorage",
    "BET": "America/Sao_Paulo",
    "BST": "Asia/Dhaka",
    "CAT": "Africa/Maputo",  # Java: Africa/Harare, a tzdata link
    "CNT": "America/St_Johns",
    "CST": "America/Chicago",
    "CTT": "Asia/Shanghai",
    "EAT": "Africa/Nairobi",  # Java: Africa/Addis_Ababa, a tzdata link
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
    "EST": "Etc/GMT+5",  # fixed -05:00, no DST
    "MST": "Etc/GMT+7",  # fixed -07:00
    "HST": "Etc/GMT+10",  # fixed -10:00
}


def offset_hours(zone_id: str, at: datetime) -> float:
    offset = at.astimezone(tzinfo_for(zone_id)).utcoffset()
    assert offset is not None
    return offset.total_seconds() / 3600


def test_java_short_table_is_complete() -> None:
    assert set(JAVA_SHORT_IDS) == set(JAVA_SHORT_CANONICAL)


@pytest.mark.parametrize(("raw", "canonical"), sorted(JAVA_SHORT_CANONICAL.items()))
def test_every_java_short_id_resolves_to_its_region_zone(raw: str, canonical: str) -> None:
    resolution = resolve_zone(raw)
    assert resolution.raw == raw
    assert resolution.canonical == canonical
    assert resolution.kind == "java_short"
    assert raw in resolution.note
    tzinfo_for(resolution.canonical)  # loadable


def test_java_est_is_fixed_while_pst_has_dst() -> None:
    winter, summer = datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 7, 15, tzinfo=UTC)
    est = resolve_zone("EST").canonical
    assert offset_hours(est, winter) == offset_hours(est, summer) == -5
    pst = resolve_zone("PST").canonical
    assert (offset_hours(pst, winter), offset_hours(pst, summer)) == (-8, -7)
    assert offset_hours(resolve_zone("HST").canonical, summer) == -10
    assert offset_hours(resolve_zone("MST").canonical, summer) == -7


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("US/Pacific", "America/Los_Angeles"),
        ("US/Eastern", "America/New_York"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Canada/Pacific", "America/Vancouver"),
        ("GMT", "Etc/GMT"),
        ("Zulu", "Etc/UTC"),
        ("UTC", "Etc/UTC"),
        ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("Africa/Asmera", "Africa/Nairobi"),
        ("Africa/Timbuktu", "Africa/Abidjan"),
    ],
)
def test_legacy_link_resolves_to_its_canonical_zone(raw: str, canonical: str) -> None:
    resolution = resolve_zone(raw)
    assert (resolution.canonical, resolution.kind) == (canonical, "link")
    assert raw in resolution.note and canonical in resolution.note


def test_etc_utc_is_itself_a_zone_not_a_link() -> None:
    assert resolve_zone("Etc/UTC") == resolve_zone("Etc/UTC").model_copy(
        update={"canonical": "Etc/UTC", "kind": "iana", "note": ""}
    )


def test_plain_iana_zone_is_kept_with_an_empty_note() -> None:
    resolution = resolve_zone("Europe/Berlin")
    assert (resolution.canonical, resolution.kind, resolution.note) == (
        "Europe/Berlin",
        "iana",
        "",
    )


@pytest.mark.parametrize(
    ("raw", "canonical", "hours"),
    [
        ("GMT-8:00", "Etc/GMT+8", -8),
        ("GMT-08:00", "Etc/GMT+8", -8),
        ("GMT+8:00", "Etc/GMT-8", 8),
        ("GMT+5", "Etc/GMT-5", 5),
        ("GMT-5", "Etc/GMT+5", -5),
        ("UTC+05:00", "Etc/GMT-5", 5),
        ("GMT+0530", "UTC+05:30", 5.5),
        ("GMT+05:30", "UTC+05:30", 5.5),
        ("GMT-03:30", "UTC-03:30", -3.5),
        ("UTC+05:45", "UTC+05:45", 5.75),
        ("GMT+14:00", "Etc/GMT-14", 14),
        ("GMT-13:00", "UTC-13:00", -13),  # no Etc/GMT+13 in tzdata
    ],
)
def test_custom_offset_keeps_the_iso_sign(raw: str, canonical: str, hours: float) -> None:
    resolution = resolve_zone(raw)
    assert (resolution.canonical, resolution.kind) == (canonical, "custom_offset")
    assert offset_hours(resolution.canonical, datetime(2025, 7, 1, tzinfo=UTC)) == hours
    assert offset_hours(resolution.canonical, datetime(2025, 1, 1, tzinfo=UTC)) == hours


def test_custom_offset_note_warns_of_the_inverted_etc_sign() -> None:
    assert "inverted" in resolve_zone("GMT-8:00").note
    assert "fixed offset" in resolve_zone("GMT+05:30").note


def test_fixed_offset_form_resolves_to_itself() -> None:
    assert resolve_zone("UTC+05:30").canonical == "UTC+05:30"


def test_monrovia_is_kept_but_flagged_as_the_servers_utc() -> None:
    resolution = resolve_zone("Africa/Monrovia")
    assert (resolution.canonical, resolution.kind) == ("Africa/Monrovia", "server_alias")
    assert "UTC" in resolution.note
    assert zones_equivalent("Africa/Monrovia", "UTC")
    assert not zones_equivalent("Africa/Monrovia", "UTC", start_year=1960, years=20)


@pytest.mark.parametrize("raw", ["Mars/Base", "Pacific Standard Time", "GMT+19", "GMT+5:75", "XYZ"])
def test_unknown_zone_is_an_error_naming_the_raw_value(raw: str) -> None:
    with pytest.raises(UnknownTimeZone, match=re.escape(f"'{raw}'")):
        resolve_zone(raw)


def test_empty_zone_is_an_error() -> None:
    with pytest.raises(UnknownTimeZone):
        resolve_zone("")


def test_case_insensitive_match_is_accepted_when_unambiguous_and_said() -> None:
    resolution = resolve_zone("america/new_york")
    assert resolution.canonical == "America/New_York"
    assert "ignoring case" in resolution.note
    assert resolve_zone("pst").canonical == "America/Los_Angeles"
    assert resolve_zone("us/pacific").canonical == "America/Los_Angeles"


def test_surrounding_blanks_are_removed_and_said() -> None:
    resolution = resolve_zone(" Europe/Paris ")
    assert resolution.canonical == "Europe/Paris"
    assert "blanks" in resolution.note


def test_tzinfo_for_rejects_an_unresolved_id() -> None:
    with pytest.raises(UnknownTimeZone, match="Mars/Base"):
        tzinfo_for("Mars/Base")


def test_tzinfo_for_agrees_with_the_standard_library() -> None:
    at = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
    for zone in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe"):
        assert (
            at.astimezone(tzinfo_for(zone)).utcoffset() == at.astimezone(ZoneInfo(zone)).utcoffset()
        )


@pytest.mark.parametrize(
    ("a", "b", "equivalent"),
    [
        ("Europe/Berlin", "Europe/Paris", True),
        ("America/Los_Angeles", "America/Phoenix", False),
        ("Etc/GMT+8", "GMT-8:00", True),
        ("US/Pacific", "PST", True),
        ("UTC", "GMT", True),
        ("Zulu", "Etc/UTC", True),
        ("EST", "America/New_York", False),
        ("EST", "America/Panama", True),
        ("Asia/Calcutta", "IST", True),
        ("GMT+05:30", "Asia/Kolkata", True),
        ("Europe/London", "Europe/Lisbon", True),
        ("Europe/London", "Europe/Dublin", True),
        ("America/New_York", "America/Chicago", False),
        ("Europe/Berlin", "Africa/Lagos", False),  # same winter offset, no DST in Lagos
    ],
)
def test_equivalence_is_judged_by_offsets(a: str, b: str, equivalent: bool) -> None:
    assert zones_equivalent(a, b) is equivalent
    assert zones_equivalent(b, a) is equivalent


def test_equivalence_depends_on_the_span_of_years() -> None:
    # Europe/Berlin and Europe/Paris differed before 1946 (and in 1945 by two hours).
    assert not zones_equivalent("Europe/Berlin", "Europe/Paris", start_year=1940, years=10)
    # British Columbia keeps UTC-7 all year from November 2026 (tzdata 2026): what OpsGenie
    # returns for Canada/Pacific (America/Los_Angeles) stops being the same zone.
    assert zones_equivalent("Canada/Pacific", "US/Pacific", start_year=2020, years=6)
    assert not zones_equivalent("Canada/Pacific", "US/Pacific", start_year=2026, years=2)


def test_equivalence_catches_a_change_at_a_different_hour_of_the_day() -> None:
    # London and Berlin differ always; a subtler pair: New York and Toronto share rules
    # (equivalent), New York and Havana both observe DST with the same offsets but switch at
    # different hours of the day (Havana at midnight, New York at 02:00) and on different days
    # in some years.
    assert zones_equivalent("America/New_York", "America/Toronto")
    assert not zones_equivalent("America/New_York", "America/Havana")


def test_equivalence_of_an_unknown_zone_is_an_error() -> None:
    with pytest.raises(UnknownTimeZone, match="Mars/Base"):
        zones_equivalent("Mars/Base", "UTC")


def test_local_time_in_the_spring_gap_moves_to_the_end_of_the_gap() -> None:
    berlin = tzinfo_for("Europe/Berlin")
    moved = local_to_utc(datetime(2026, 3, 29, 2, 30), berlin)
    assert moved == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert moved.astimezone(berlin).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 0)


def test_ambiguous_local_time_is_its_first_occurrence() -> None:
    new_york = tzinfo_for("America/New_York")
    first = local_to_utc(datetime(2026, 11, 1, 1, 30), new_york)
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, not EST
    assert local_to_utc(datetime(2026, 11, 1, 1, 30, fold=1), new_york) == first


def test_ordinary_local_time_converts_plainly() -> None:
    berlin = tzinfo_for("Europe/Berlin")
    assert local_to_utc(datetime(2026, 7, 1, 9), berlin) == datetime(2026, 7, 1, 7, tzinfo=UTC)
    fixed = tzinfo_for("UTC+05:30")
    assert local_to_utc(datetime(2026, 7, 1, 9), fixed) == datetime(
        2026, 7, 1, 9, tzinfo=UTC
    ) - timedelta(hours=5, minutes=30)


def test_zones_come_from_the_tzdata_package_not_the_os() -> None:
    # tzdata 2026: British Columbia keeps UTC-7 from November 2026; an older OS tzdata
    # (this machine's is 2025b) still says UTC-8 there.
    winter = datetime(2026, 12, 1, 20, tzinfo=UTC)
    assert offset_hours("America/Vancouver", winter) == -7


def test_a_zone_pickles_by_name() -> None:
    zone = tzinfo_for("Europe/Berlin")
    restored = pickle.loads(pickle.dumps(datetime(2026, 7, 1, 9, tzinfo=zone)))
    assert restored.tzinfo is zone
    assert restored.utcoffset() == timedelta(hours=2)


def test_a_zero_custom_offset_is_gmt() -> None:
    resolution = resolve_zone("GMT+00:00")
    assert (resolution.canonical, resolution.kind) == ("Etc/GMT", "custom_offset")


def test_blanks_and_case_together_still_resolve() -> None:
    resolution = resolve_zone(" us/eastern")
    assert (resolution.raw, resolution.canonical) == (" us/eastern", "America/New_York")
    assert "blanks" in resolution.note and "ignoring case" in resolution.note


def test_unknown_zone_with_blanks_names_the_raw_value() -> None:
    with pytest.raises(UnknownTimeZone, match=re.escape("' Mars/Base'")):
        resolve_zone(" Mars/Base")
