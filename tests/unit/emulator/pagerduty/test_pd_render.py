"""The PagerDuty emulator's own rendering, on small hand-made schedules: layer precedence,
restrictions, overrides, DST spring and autumn in two zones, a layer's end, handoff times; and
the rendering against a deliberately naive instant-by-instant reading of the same rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from oncall_sync.emulator.pagerduty.generator import generate_account
from oncall_sync.emulator.pagerduty.render import (
    DAY,
    WEEK,
    DstRule,
    Piece,
    layer_pieces,
    on_call_at,
    oncalls,
    override_pieces,
    parse_instant,
    render_schedule,
    resolve_zone,
    restriction_in_zone,
    seconds_of_day,
    to_local,
    to_utc,
)

ANN = {"id": "PANN001", "type": "user_reference", "summary": "Ann"}
BOB = {"id": "PBOB002", "type": "user_reference", "summary": "Bob"}
CID = {"id": "PCID003", "type": "user_reference", "summary": "Cid"}
DEE = {"id": "PDEE004", "type": "user_reference", "summary": "Dee"}


def at(text: str) -> datetime:
    return parse_instant(text)


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def layer(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "PLAYER1",
        "name": "Layer 1",
        "start": "2026-01-01T00:00:00Z",
        "end": None,
        "rotation_virtual_start": "2026-03-02T09:00:00-05:00",  # a Monday, 09:00 in New York
        "rotation_turn_length_seconds": DAY,
        "users": [{"user": ANN}, {"user": BOB}],
        "restrictions": [],
    }
    users = fields.pop("people", None)
    if users is not None:
        base["users"] = [{"user": u} for u in users]
    return {**base, **fields}


def schedule(*layers: dict[str, Any], zone: str = "America/New_York") -> dict[str, Any]:
    """Layers in API order: the first is the highest."""
    return {"id": "PSCHED1", "name": "Ops", "time_zone": zone, "schedule_layers": list(layers)}


def daily(start: str, seconds: int) -> dict[str, Any]:
    return {"type": "daily_restriction", "start_time_of_day": start, "duration_seconds": seconds}


def weekly(day: int, start: str, seconds: int) -> dict[str, Any]:
    return {
        "type": "weekly_restriction",
        "start_day_of_week": day,
        "start_time_of_day": start,
        "duration_seconds": seconds,
    }


def override(user: dict[str, Any], start: str, end: str, ident: str = "POV1") -> dict[str, Any]:
    return {"id": ident, "start": start, "end": end, "user": user}


def who(pieces: list[Piece]) -> list[tuple[str, str, str]]:
    return [(z(p.start), z(p.end), p.user["summary"]) for p in pieces]


def final(
    sched: dict[str, Any],
    since: str,
    until: str,
    overrides: list[Any] | None = None,
    rule: DstRule = "wall_clock_days",
) -> list[tuple[str, str, str]]:
    rendering = render_schedule(sched, overrides or [], at(since), at(until), rule)
    return who(rendering.clipped(rendering.final))


def on_call(sched: dict[str, Any], moment: str, overrides: list[Any] | None = None) -> str | None:
    user = on_call_at(sched, overrides or [], at(moment))
    return user["summary"] if user else None


NEW_YORK = resolve_zone("America/New_York")


# -- one layer -------------------------------------------------------------------------------------


def test_turns_cycle_through_the_users_from_the_virtual_start() -> None:
    sched = schedule(layer(people=[ANN, BOB, CID]))
    assert final(sched, "2026-03-03T00:00:00Z", "2026-03-06T00:00:00Z") == [
        ("2026-03-03T00:00:00Z", "2026-03-03T14:00:00Z", "Ann"),
        ("2026-03-03T14:00:00Z", "2026-03-04T14:00:00Z", "Bob"),
        ("2026-03-04T14:00:00Z", "2026-03-05T14:00:00Z", "Cid"),
        ("2026-03-05T14:00:00Z", "2026-03-06T00:00:00Z", "Ann"),
    ]


def test_turns_before_the_virtual_start_count_backwards() -> None:
    # The anchor lies a week after the layer starts: turn -1 (Bob) ends at the anchor.
    sched = schedule(
        layer(rotation_virtual_start="2026-03-09T09:00:00-04:00", start="2026-03-01T00:00:00Z")
    )
    assert on_call(sched, "2026-03-09T12:00:00Z") == "Bob"  # 08:00 EDT, turn -1
    assert on_call(sched, "2026-03-09T14:00:00Z") == "Ann"  # 10:00 EDT, turn 0
    assert on_call(sched, "2026-03-08T12:00:00Z") == "Ann"  # turn -2


def test_a_handoff_ends_an_entry_even_to_the_same_user() -> None:
    sched = schedule(layer(people=[ANN]))
    assert final(sched, "2026-03-03T00:00:00Z", "2026-03-05T00:00:00Z") == [
        ("2026-03-03T00:00:00Z", "2026-03-03T14:00:00Z", "Ann"),
        ("2026-03-03T14:00:00Z", "2026-03-04T14:00:00Z", "Ann"),
        ("2026-03-04T14:00:00Z", "2026-03-05T00:00:00Z", "Ann"),
    ]


def test_a_layer_counts_only_between_its_start_and_end() -> None:
    sched = schedule(
        layer(
            start="2026-03-03T12:00:00Z",
            end="2026-03-04T18:00:00Z",
            rotation_virtual_start="2026-03-02T09:00:00-05:00",
        )
    )
    # It starts inside Ann's turn 0 and ends inside her turn 2: both are cut.
    assert final(sched, "2026-03-03T00:00:00Z", "2026-03-06T00:00:00Z") == [
        ("2026-03-03T12:00:00Z", "2026-03-03T14:00:00Z", "Ann"),
        ("2026-03-03T14:00:00Z", "2026-03-04T14:00:00Z", "Bob"),
        ("2026-03-04T14:00:00Z", "2026-03-04T18:00:00Z", "Ann"),
    ]


def test_daily_restriction_wrapping_midnight() -> None:
    night = schedule(
        layer(people=[ANN], turn=WEEK, restrictions=[daily("22:00:00", 10 * 3600)]), zone="UTC"
    )
    night["schedule_layers"][0]["rotation_turn_length_seconds"] = WEEK
    night["schedule_layers"][0]["rotation_virtual_start"] = "2026-03-02T00:00:00Z"
    assert final(night, "2026-03-03T00:00:00Z", "2026-03-05T00:00:00Z") == [
        ("2026-03-03T00:00:00Z", "2026-03-03T08:00:00Z", "Ann"),
        ("2026-03-03T22:00:00Z", "2026-03-04T08:00:00Z", "Ann"),
        ("2026-03-04T22:00:00Z", "2026-03-05T00:00:00Z", "Ann"),
    ]


def test_weekly_restriction_wrapping_the_week() -> None:
    # Sunday 22:00 for 10 hours: into Monday 08:00, across the ISO week's end.
    sched = schedule(
        layer(
            people=[ANN],
            rotation_virtual_start="2026-03-04T00:00:00Z",
            rotation_turn_length_seconds=WEEK,
            restrictions=[weekly(7, "22:00:00", 10 * 3600)],
        ),
        zone="UTC",
    )
    assert final(sched, "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z") == [
        ("2026-03-01T22:00:00Z", "2026-03-02T08:00:00Z", "Ann"),
        ("2026-03-08T22:00:00Z", "2026-03-09T08:00:00Z", "Ann"),
    ]


def test_overlapping_restrictions_form_one_window() -> None:
    sched = schedule(
        layer(
            people=[ANN],
            rotation_virtual_start="2026-03-02T00:00:00Z",
            rotation_turn_length_seconds=WEEK,
            restrictions=[daily("09:00:00", 4 * 3600), daily("12:00:00", 3 * 3600)],
        ),
        zone="UTC",
    )
    assert final(sched, "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z") == [
        ("2026-03-03T09:00:00Z", "2026-03-03T15:00:00Z", "Ann")
    ]


def test_a_handoff_inside_a_window_splits_it_between_two_users() -> None:
    # Friday 18:00 to Monday 09:00 (London, winter), weekly turns handing over Saturday 12:00.
    sched = schedule(
        layer(
            rotation_virtual_start="2026-02-28T12:00:00Z",  # Saturday
            rotation_turn_length_seconds=WEEK,
            restrictions=[weekly(5, "18:00:00", 63 * 3600)],
        ),
        zone="Europe/London",
    )
    assert final(sched, "2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z") == [
        ("2026-03-06T18:00:00Z", "2026-03-07T12:00:00Z", "Ann"),
        ("2026-03-07T12:00:00Z", "2026-03-09T09:00:00Z", "Bob"),
    ]


def test_turns_keep_counting_while_masked_and_nobody_is_skipped_forward() -> None:
    # Daily turns Ann, Bob, Cid from Monday 09:00; only weekdays 09:00-17:00 show.
    sched = schedule(
        layer(
            people=[ANN, BOB, CID],
            restrictions=[weekly(d, "09:00:00", 8 * 3600) for d in range(1, 6)],
        )
    )
    # Mon Ann, Tue Bob, Wed Cid, Thu Ann, Fri Bob, Sat Cid (masked), Sun Ann (masked), Mon Bob.
    assert on_call(sched, "2026-03-06T15:00:00Z") == "Bob"  # Friday 10:00 EST
    assert on_call(sched, "2026-03-07T15:00:00Z") is None  # Saturday: a gap
    assert on_call(sched, "2026-03-09T15:00:00Z") == "Bob"  # Monday 11:00 EDT


def test_a_turn_wholly_masked_gives_its_user_nothing() -> None:
    # Daily turns through seven slots, Mondays only: every Monday is slot 0 (Ann), so the
    # others' turns all fall on masked days and none of them is ever moved onto a Monday.
    sched = schedule(
        layer(
            people=[ANN, BOB, CID, DEE, BOB, CID, DEE],
            rotation_virtual_start="2026-03-02T00:00:00Z",
            restrictions=[weekly(1, "00:00:00", DAY)],
        ),
        zone="UTC",
    )
    entries = final(sched, "2026-03-02T00:00:00Z", "2026-03-30T00:00:00Z")
    assert {u for _s, _e, u in entries} == {"Ann"}
    assert [s for s, _e, _u in entries] == [f"2026-03-{d:02d}T00:00:00Z" for d in (2, 9, 16, 23)]


# -- layers together -------------------------------------------------------------------------------


def test_a_higher_layer_replaces_the_lower_ones() -> None:
    low = layer(id="PLOW", people=[ANN])
    high = layer(id="PHIGH", people=[BOB])
    assert on_call(schedule(high, low), "2026-03-04T12:00:00Z") == "Bob"
    assert on_call(schedule(low, high), "2026-03-04T12:00:00Z") == "Ann"  # order is precedence


def test_lower_layers_show_through_where_the_higher_one_is_empty() -> None:
    base = layer(id="PBASE", people=[ANN], rotation_turn_length_seconds=WEEK)
    office = layer(
        id="POFFICE", people=[BOB], restrictions=[weekly(d, "09:00:00", 8 * 3600) for d in (1, 2)]
    )
    assert final(schedule(office, base), "2026-03-02T12:00:00Z", "2026-03-03T00:00:00Z") == [
        ("2026-03-02T12:00:00Z", "2026-03-02T14:00:00Z", "Ann"),
        ("2026-03-02T14:00:00Z", "2026-03-02T22:00:00Z", "Bob"),
        ("2026-03-02T22:00:00Z", "2026-03-03T00:00:00Z", "Ann"),
    ]


def test_a_layer_that_ended_hands_back_to_the_one_below() -> None:
    ended = layer(id="PENDED", people=[BOB], end="2026-03-04T18:00:00Z")
    base = layer(id="PBASE", people=[CID], rotation_turn_length_seconds=WEEK)
    sched = schedule(ended, base)
    assert on_call(sched, "2026-03-04T17:59:59Z") == "Bob"
    assert on_call(sched, "2026-03-04T18:00:00Z") == "Cid"


def test_everyone_masked_or_ended_is_a_gap() -> None:
    sched = schedule(layer(end="2026-03-03T00:00:00Z"))
    assert on_call(sched, "2026-03-05T00:00:00Z") is None
    assert final(sched, "2026-03-04T00:00:00Z", "2026-03-06T00:00:00Z") == []


# -- overrides -------------------------------------------------------------------------------------


def test_an_override_sits_above_every_layer() -> None:
    sched = schedule(layer(id="PHIGH", people=[BOB]), layer(id="PLOW", people=[ANN]))
    overrides = [override(DEE, "2026-03-04T10:00:00Z", "2026-03-04T12:00:00Z")]
    assert final(sched, "2026-03-04T09:00:00Z", "2026-03-04T13:00:00Z", overrides) == [
        ("2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z", "Bob"),
        ("2026-03-04T10:00:00Z", "2026-03-04T12:00:00Z", "Dee"),
        ("2026-03-04T12:00:00Z", "2026-03-04T13:00:00Z", "Bob"),
    ]


def test_an_override_covers_a_gap_too() -> None:
    sched = schedule(layer(end="2026-03-03T00:00:00Z"))
    overrides = [override(DEE, "2026-03-05T00:00:00Z", "2026-03-05T06:00:00Z")]
    assert on_call(sched, "2026-03-05T03:00:00Z", overrides) == "Dee"


def test_the_later_of_overlapping_overrides_wins() -> None:
    overrides = [
        override(CID, "2026-03-04T10:00:00Z", "2026-03-04T18:00:00Z", "POV1"),
        override(DEE, "2026-03-04T14:00:00Z", "2026-03-04T20:00:00Z", "POV2"),
    ]
    assert who(override_pieces(overrides)) == [
        ("2026-03-04T10:00:00Z", "2026-03-04T14:00:00Z", "Cid"),
        ("2026-03-04T14:00:00Z", "2026-03-04T20:00:00Z", "Dee"),
    ]
    # Listed the other way round, Cid's covers Dee's middle.
    assert who(override_pieces(overrides[::-1])) == [
        ("2026-03-04T10:00:00Z", "2026-03-04T18:00:00Z", "Cid"),
        ("2026-03-04T18:00:00Z", "2026-03-04T20:00:00Z", "Dee"),
    ]


def test_one_users_touching_overrides_merge_and_a_backwards_one_covers_nothing() -> None:
    overrides = [
        override(DEE, "2026-03-04T08:00:00Z", "2026-03-04T10:00:00Z", "POV1"),
        override(DEE, "2026-03-04T10:00:00Z", "2026-03-04T12:00:00Z", "POV2"),
        override(ANN, "2026-03-05T12:00:00Z", "2026-03-05T10:00:00Z", "POV3"),
    ]
    assert who(override_pieces(overrides)) == [
        ("2026-03-04T08:00:00Z", "2026-03-04T12:00:00Z", "Dee")
    ]


def test_entries_meeting_the_window_keep_their_extent_with_overflow() -> None:
    sched = schedule(layer(people=[ANN, BOB]))
    rendering = render_schedule(sched, [], at("2026-03-04T10:00:00Z"), at("2026-03-04T12:00:00Z"))
    assert who(rendering.final) == [("2026-03-03T14:00:00Z", "2026-03-04T14:00:00Z", "Bob")]
    assert who(rendering.clipped(rendering.final)) == [
        ("2026-03-04T10:00:00Z", "2026-03-04T12:00:00Z", "Bob")
    ]
    assert rendering.coverage(rendering.final) == 100.0


def test_an_instant_window_gives_the_entry_containing_it() -> None:
    sched = schedule(layer(people=[ANN, BOB]))
    rendering = render_schedule(sched, [], at("2026-03-04T14:00:00Z"), at("2026-03-04T14:00:00Z"))
    assert who(rendering.final) == [("2026-03-04T14:00:00Z", "2026-03-05T14:00:00Z", "Ann")]
    assert rendering.coverage(rendering.final) is None


def test_coverage_is_the_covered_share_of_the_window() -> None:
    sched = schedule(layer(people=[ANN], restrictions=[daily("09:00:00", 9 * 3600)]), zone="UTC")
    rendering = render_schedule(sched, [], at("2026-03-04T00:00:00Z"), at("2026-03-06T00:00:00Z"))
    assert rendering.coverage(rendering.final) == 37.5


# -- DST: spring and autumn, in two zones ----------------------------------------------------------


def test_new_york_spring_daily_handoff_stays_at_nine_local() -> None:
    sched = schedule(layer())
    assert final(sched, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z") == [
        ("2026-03-07T00:00:00Z", "2026-03-07T14:00:00Z", "Ann"),
        ("2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "Bob"),  # 23 hours long
        ("2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z", "Ann"),
        ("2026-03-09T13:00:00Z", "2026-03-10T00:00:00Z", "Bob"),
    ]


def test_new_york_spring_under_the_elapsed_rule_moves_the_handoff_to_ten() -> None:
    sched = schedule(layer())
    assert final(sched, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z", rule="elapsed") == [
        ("2026-03-08T00:00:00Z", "2026-03-08T14:00:00Z", "Bob"),  # 10:00 EDT
        ("2026-03-08T14:00:00Z", "2026-03-09T00:00:00Z", "Ann"),
    ]


def test_new_york_autumn_daily_turn_lasts_25_hours() -> None:
    sched = schedule(layer(rotation_virtual_start="2026-10-26T09:00:00-04:00"))
    assert final(sched, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z") == [
        ("2026-10-31T12:00:00Z", "2026-10-31T13:00:00Z", "Ann"),
        ("2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z", "Bob"),  # 09:00 EDT to 09:00 EST
        ("2026-11-01T14:00:00Z", "2026-11-02T12:00:00Z", "Ann"),
    ]


def test_london_spring_and_autumn_keep_the_nine_oclock_handoff() -> None:
    sched = schedule(layer(rotation_virtual_start="2026-03-23T09:00:00Z"), zone="Europe/London")
    assert [e[1] for e in final(sched, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z")] == [
        "2026-03-28T09:00:00Z",
        "2026-03-29T08:00:00Z",  # 09:00 BST
        "2026-03-30T08:00:00Z",
        "2026-03-31T00:00:00Z",
    ]
    autumn = schedule(
        layer(rotation_virtual_start="2026-10-19T09:00:00+01:00"), zone="Europe/London"
    )
    assert final(autumn, "2026-10-24T00:00:00Z", "2026-10-26T00:00:00Z") == [
        ("2026-10-24T00:00:00Z", "2026-10-24T08:00:00Z", "Ann"),
        ("2026-10-24T08:00:00Z", "2026-10-25T09:00:00Z", "Bob"),  # 25 hours
        ("2026-10-25T09:00:00Z", "2026-10-26T00:00:00Z", "Ann"),
    ]


def test_twelve_hour_turns_step_in_elapsed_time_across_the_change() -> None:
    sched = schedule(
        layer(
            rotation_virtual_start="2026-03-07T09:00:00-05:00", rotation_turn_length_seconds=43_200
        )
    )
    handoffs = [e[0] for e in final(sched, "2026-03-07T14:00:00Z", "2026-03-09T00:00:00Z")]
    assert handoffs == [
        "2026-03-07T14:00:00Z",
        "2026-03-08T02:00:00Z",
        "2026-03-08T14:00:00Z",  # 10:00 EDT: the wall-clock handoff moved an hour
    ]


def test_a_handoff_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist in New York on 8 March 2026: that turn starts at 03:30 EDT.
    sched = schedule(layer(rotation_virtual_start="2026-03-01T02:30:00-05:00"))
    handoffs = [e[0] for e in final(sched, "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z")]
    assert handoffs[1:] == ["2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"]


def test_a_handoff_in_the_repeated_autumn_hour_is_its_first_occurrence() -> None:
    sched = schedule(layer(rotation_virtual_start="2026-10-25T01:30:00-04:00"))
    handoffs = [e[0] for e in final(sched, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z")]
    assert handoffs[1:] == ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]  # EDT, then EST


def test_chatham_handoff_at_the_quarter_to_three_gap() -> None:
    sched = schedule(
        layer(rotation_virtual_start="2026-09-20T02:45:00+12:45"), zone="Pacific/Chatham"
    )
    handoffs = [e[0] for e in final(sched, "2026-09-25T00:00:00Z", "2026-09-28T00:00:00Z")]
    assert handoffs[1:] == [
        "2026-09-25T14:00:00Z",  # 02:45 +12:45
        "2026-09-26T14:00:00Z",  # 02:45 does not exist on the 27th: 03:45 +13:45
        "2026-09-27T13:00:00Z",  # 02:45 +13:45
    ]


@pytest.mark.parametrize(
    ("zone", "day", "expected_windows"),
    [
        # New York, spring: 00:00 EST to 06:00 EDT is five hours on the 8th.
        ("America/New_York", "2026-03-08", [("2026-03-08T05:00:00Z", "2026-03-08T10:00:00Z")]),
        # Berlin, autumn: 00:00 CEST to 06:00 CET is seven hours on the 25th.
        ("Europe/Berlin", "2026-10-25", [("2026-10-24T22:00:00Z", "2026-10-25T05:00:00Z")]),
    ],
)
def test_a_restriction_across_the_change_keeps_its_wall_clock_ends(
    zone: str, day: str, expected_windows: list[tuple[str, str]]
) -> None:
    sched = schedule(
        layer(
            people=[ANN],
            rotation_turn_length_seconds=WEEK,
            restrictions=[daily("00:00:00", 6 * 3600)],
        ),
        zone=zone,
    )
    local_midnight = to_utc(datetime.fromisoformat(day), resolve_zone(zone))
    rendering = render_schedule(sched, [], local_midnight, local_midnight + timedelta(hours=12))
    assert [(z(p.start), z(p.end)) for p in rendering.clipped(rendering.final)] == expected_windows


def test_a_restriction_across_the_change_under_the_elapsed_rule_lasts_its_seconds() -> None:
    sched = schedule(
        layer(
            people=[ANN],
            rotation_turn_length_seconds=WEEK,
            restrictions=[daily("00:00:00", 21_600)],
        )
    )
    pieces = layer_pieces(
        sched["schedule_layers"][0],
        NEW_YORK,
        at("2026-03-08T05:00:00Z"),
        at("2026-03-08T17:00:00Z"),
        "elapsed",
    )
    assert who(pieces) == [("2026-03-08T05:00:00Z", "2026-03-08T11:00:00Z", "Ann")]


# -- /oncalls --------------------------------------------------------------------------------------


def policy(*rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "PPOLICY",
        "type": "escalation_policy",
        "summary": "Ops policy",
        "escalation_rules": [
            {"id": f"PRULE{i}", "escalation_delay_in_minutes": 10, "targets": targets}
            for i, targets in enumerate(rules)
        ],
    }


def test_oncalls_give_schedule_entries_per_level_and_permanent_user_targets() -> None:
    sched = schedule(layer(people=[ANN, BOB]))
    target = {"id": sched["id"], "type": "schedule_reference", "summary": "Ops"}
    pol = policy([target], [CID, target])
    items = oncalls(
        [pol], {sched["id"]: sched}, {}, at("2026-03-04T12:00:00Z"), at("2026-03-04T15:00:00Z")
    )
    assert [
        (i.level, i.user["summary"], i.schedule is not None, i.start and z(i.start)) for i in items
    ] == [
        (1, "Bob", True, "2026-03-03T14:00:00Z"),  # whole entries, not cut to the window
        (1, "Ann", True, "2026-03-04T14:00:00Z"),
        (2, "Cid", False, None),
        (2, "Bob", True, "2026-03-03T14:00:00Z"),
        (2, "Ann", True, "2026-03-04T14:00:00Z"),
    ]
    earliest = oncalls(
        [pol],
        {sched["id"]: sched},
        {},
        at("2026-03-04T12:00:00Z"),
        at("2026-03-09T12:00:00Z"),
        earliest=True,
    )
    assert len(earliest) == 5  # (level 1: Bob, Ann), (level 2: Cid, Bob, Ann)
    only_users = oncalls(
        [pol],
        {sched["id"]: sched},
        {},
        at("2026-03-04T12:00:00Z"),
        at("2026-03-04T12:00:00Z"),
        schedule_ids={None},
    )
    assert [(i.level, i.user["summary"]) for i in only_users] == [(2, "Cid")]


def test_oncalls_skip_absent_and_v3_schedules() -> None:
    pol = policy(
        [
            {"id": "PGONE", "type": "schedule_reference"},
            {"id": "PV3", "type": "schedule_v3_reference"},
        ]
    )
    assert oncalls([pol], {}, {}, at("2026-03-04T12:00:00Z"), at("2026-03-04T13:00:00Z")) == []


# -- restrictions shown in another zone ------------------------------------------------------------


@pytest.mark.parametrize(
    ("restriction", "schedule_zone", "shown_zone", "expected"),
    [
        (daily("08:00:00", 3600), "America/Chicago", "America/Los_Angeles", ("06:00:00", None)),
        (weekly(1, "01:00:00", 3600), "America/New_York", "UTC", ("05:00:00", 1)),
        (weekly(7, "22:00:00", 3600), "America/New_York", "UTC", ("02:00:00", 1)),
        (weekly(1, "01:00:00", 3600), "America/New_York", "America/New_York", ("01:00:00", 1)),
    ],
)
def test_restrictions_are_re_expressed_in_the_shown_zone_without_an_offset(
    restriction: dict[str, Any], schedule_zone: str, shown_zone: str, expected: tuple[str, Any]
) -> None:
    shown = restriction_in_zone(
        restriction,
        resolve_zone(schedule_zone),
        resolve_zone(shown_zone),
        at("2026-07-01T12:00:00Z"),
    )
    assert (shown["start_time_of_day"], shown.get("start_day_of_week")) == expected
    assert shown["duration_seconds"] == restriction["duration_seconds"]


# -- against a naive reading of the same rules -----------------------------------------------------


def naive_on_call(
    sched: dict[str, Any], overrides: list[dict[str, Any]], t: datetime
) -> str | None:
    """Who is on call at t, read straight from the documented rules, one instant at a time."""
    live = [
        o
        for o in overrides
        if parse_instant(o["start"]) <= t < parse_instant(o["end"])
        and parse_instant(o["start"]) < parse_instant(o["end"])
    ]
    if live:
        return str(live[-1]["user"]["id"])
    zone = resolve_zone(sched["time_zone"])
    for lay in sched["schedule_layers"]:
        if t < parse_instant(lay["start"]) or (lay["end"] and t >= parse_instant(lay["end"])):
            continue
        if lay["restrictions"] and not any(_inside(r, zone, t) for r in lay["restrictions"]):
            continue
        length = lay["rotation_turn_length_seconds"]
        anchor = parse_instant(lay["rotation_virtual_start"])
        if length % DAY == 0:  # whole days step in wall time
            local_anchor = to_local(anchor, zone)
            k = int((to_local(t, zone) - local_anchor).total_seconds() // length) + 2
            while to_utc(local_anchor + timedelta(seconds=k * length), zone) > t:
                k -= 1
        else:
            k = int((t - anchor).total_seconds() // length)
        return str(lay["users"][k % len(lay["users"])]["user"]["id"])
    return None


def _inside(r: dict[str, Any], zone: Any, t: datetime) -> bool:
    local = to_local(t, zone)
    for back in range(0, 16):
        day = local.date() - timedelta(days=back)
        if r["type"] == "weekly_restriction" and day.isoweekday() != r["start_day_of_week"]:
            continue
        opens_local = datetime.combine(day, datetime.min.time()) + timedelta(
            seconds=seconds_of_day(r["start_time_of_day"])
        )
        opens = to_utc(opens_local, zone)
        closes = to_utc(opens_local + timedelta(seconds=r["duration_seconds"]), zone)
        if opens <= t < closes:
            return True
    return False


def test_generated_hard_cases_match_the_naive_reading_every_hour_for_eight_weeks() -> None:
    account = generate_account("tiny")
    start = account.now - timedelta(days=7)
    checked = 0
    for sched in account.schedules:
        overrides = account.overrides.get(sched["id"], [])
        rendering = render_schedule(sched, overrides, start, start + timedelta(weeks=8))
        pieces = rendering.final
        # Every hour and one second either side of every handoff.
        instants = [start + timedelta(hours=h, minutes=7) for h in range(8 * 7 * 24)]
        for piece in pieces:
            instants += [piece.start, piece.start - timedelta(seconds=1)]
        for t in instants:
            if not start <= t < start + timedelta(weeks=8):
                continue
            covering = [p for p in pieces if p.start <= t < p.end]
            rendered = covering[0].user["id"] if covering else None
            assert len(covering) <= 1, (sched["name"], t)
            assert rendered == naive_on_call(sched, overrides, t), (sched["name"], t)
            checked += 1
    assert checked > 10 * 8 * 7 * 24


def test_rendering_a_window_and_asking_an_instant_agree() -> None:
    account = generate_account("tiny")
    for sched in account.schedules:
        overrides = account.overrides.get(sched["id"], [])
        since = account.now - timedelta(days=2)
        rendering = render_schedule(sched, overrides, since, since + timedelta(days=6))
        for piece in rendering.final:
            middle = piece.start + (piece.end - piece.start) / 2
            assert on_call_at(sched, overrides, middle) == piece.user
            assert on_call_at(sched, overrides, piece.start) == piece.user
