"""The hand-built first entities of every generated PagerDuty account: each hard case once, by
name, so tests and docs can point at them ("Follow the sun", "Weekend cover", ...).

Times are placed relative to the account's `now` and, where a case is about DST, relative to the
next change of the schedule's own zone, so the cases stay hard whatever `now` is.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from oncall_sync.emulator.pagerduty.account import Payload, reference
from oncall_sync.emulator.pagerduty.builder import Builder, daily, weekly
from oncall_sync.emulator.pagerduty.render import DAY, WEEK, resolve_zone, to_utc

# Names of the hand-built entities (tests find them by these).
FOLLOW_THE_SUN = "Follow the sun"
WEEKEND_COVER = "Weekend cover"
CHANGING_LAYERS = "Changing layers"
EIGHT_HOURS = "Eight-hour turns"
CHATHAM = "Chatham gap handoff"
REPEATS = "Repeats and absentees"
RAILS_EASTERN = "Eastern, by its Rails name"
DATE_LINE = "Date line"
OFFICE_HOURS = "Office hours only"
ALL_ENDED = "All layers ended"
HARD_SCHEDULES = (
    FOLLOW_THE_SUN,
    WEEKEND_COVER,
    CHANGING_LAYERS,
    EIGHT_HOURS,
    CHATHAM,
    REPEATS,
    RAILS_EASTERN,
    DATE_LINE,
    OFFICE_HOURS,
    ALL_ENDED,
)
DELETED_USER_EMAIL = "former.employee@example.com"
DELETED_SCHEDULE_NAME = "Retired schedule"


def next_change(zone_name: str, after: datetime, *, spring: bool) -> datetime:
    """The first hour after `after` at which `zone_name`'s offset rises (spring) or falls."""
    zone = resolve_zone(zone_name)
    moment = after.replace(minute=0, second=0, microsecond=0)
    before = moment.astimezone(zone).utcoffset()
    for _ in range(400 * 24):
        moment += timedelta(hours=1)
        offset = moment.astimezone(zone).utcoffset()
        changed = before is not None and offset is not None and offset != before
        if changed and (offset > before) == spring:  # type: ignore[operator]
            return moment
        before = offset
    raise ValueError(f"{zone_name} changes its offset no more within 400 days of {after}")


def build_hard_cases(b: Builder) -> None:
    """Add the hard-case users, teams, schedules, policies, services and inventory to `b`."""
    a = b.account
    u = hard_users(b)
    deleted = b.deleted_user("Former Employee", DELETED_USER_EMAIL)

    platform = b.team("Platform SRE")
    payments = b.team("<b>Payments</b> & Ünïcode", default_role="none")  # a private team
    nights = b.team("Équipe Nuit 夜", parent=platform)
    empty = b.team("Empty team")
    for team, roster in (
        (platform, [(0, "manager"), (1, "responder"), (4, "observer"), (8, "responder")]),
        (payments, [(0, "responder"), (2, "manager"), (5, "observer"), (9, "responder")]),
        (nights, [(0, "observer"), (1, "manager"), (3, "responder"), (6, "responder")]),
    ):
        for index, role in roster:
            b.join(team, u[index], role)

    s = hard_schedules(b, u, deleted, platform, payments, nights, empty)
    v3 = b.v3_schedule("Shift-based support", "Europe/Berlin", [u[2], u[9]])
    retired = b.deleted_schedule(DELETED_SCHEDULE_NAME)

    def ref(obj: Payload) -> Payload:
        return reference(obj)

    everyone = "assign_to_everyone"
    p0 = b.policy(
        "Follow the sun policy",
        [
            (5, [ref(u[0])], everyone),
            (15, [ref(s[FOLLOW_THE_SUN])], everyone),
            (30, [ref(s[FOLLOW_THE_SUN]), ref(u[1]), ref(s[WEEKEND_COVER])], "round_robin"),
        ],
        num_loops=2,
        team=platform,
    )
    p1 = b.policy(
        "Weekend policy", [(1, [ref(s[WEEKEND_COVER])], everyone)], num_loops=9, team=payments
    )
    p2 = b.policy(
        "Absentees policy",
        [
            (10, [ref(deleted), ref(retired)], everyone),
            (20, [ref(v3)], everyone),
            (5, [ref(s[REPEATS])], everyone),
        ],
    )
    p3 = b.policy(
        "Ten targets policy",
        [
            (
                30,
                [*(ref(x) for x in u[:8]), ref(s[CHANGING_LAYERS]), ref(s[EIGHT_HOURS])],
                "round_robin",
            )
        ],
        num_loops=1,
        team=nights,
        handoff_notifications="always",
    )
    b.policy(
        "Relative delays policy",
        [
            (10, [ref(s[CHATHAM])], everyone),
            (20, [ref(s[RAILS_EASTERN])], everyone),
            (5, [ref(s[DATE_LINE])], everyone),
        ],
        num_loops=3,
        team=platform,
    )
    b.policy("Single rule policy", [(60, [ref(s[EIGHT_HOURS])], everyone)], team=platform)
    b.policy("Lord Howe policy", [(15, [ref(s[CHANGING_LAYERS]), ref(u[11])], everyone)])

    checkout = b.service(
        "<Checkout> & Café",
        p0,
        urgency_rule={
            "type": "use_support_hours",
            "during_support_hours": {"type": "constant", "urgency": "high"},
            "outside_support_hours": {"type": "constant", "urgency": "low"},
        },
        support_hours={
            "type": "fixed_time_per_day",
            "time_zone": "America/Lima",
            "days_of_week": [1, 2, 3, 4, 5],
            "start_time": "09:00:00",
            "end_time": "17:00:00",
        },
        scheduled_actions=[
            {
                "type": "urgency_change",
                "at": {"type": "named_time", "name": "support_hours_start"},
                "to_urgency": "high",
            }
        ],
        legacy_key=True,
    )
    b.integration(checkout, "events_api_v2_inbound_integration", "Events API v2")
    b.integration(checkout, "generic_email_inbound_integration", "Email")
    payments_api = b.service(
        "Payments API",
        p1,
        status="disabled",
        urgency_rule={"type": "constant", "urgency": "low"},
        auto_resolve_timeout=None,
    )
    b.integration(payments_api, "events_api_v2_inbound_integration", "Events API v2")
    b.service(
        "Maintenance window service",
        p2,
        status="maintenance",
        urgency_rule={"type": "constant", "urgency": "severity_based"},
    )
    search = b.service("Search", p3, status="warning")
    b.integration(search, "nagios_inbound_integration", "Nagios")

    b.extension("Incident webhook", checkout, with_token=False)
    b.extension("Chat bridge", payments_api, with_token=True)
    b.webhook_subscription("All incidents", None)
    b.webhook_subscription("Checkout incidents", checkout)
    assert len(a.schedules) == len(HARD_SCHEDULES)


def hard_users(b: Builder) -> list[Payload]:
    """Twelve users: every role, every contact type, zones odd and null, names odd."""
    specs: list[tuple[str, str, str, str | None]] = [
        ("Ada Lovelace", "ada.lovelace@example.com", "owner", "America/New_York"),
        ("Grace Hopper", "Grace.Hopper@EXAMPLE.com", "admin", None),
        ("Linus Torvalds", "linus.torvalds@example.com", "user", "Europe/London"),
        ("Margaret Hamilton", "margaret.hamilton@example.com", "limited_user", "Asia/Kolkata"),
        ("Alan Turing", "alan.turing@corp.example.org", "observer", "Australia/Sydney"),
        ("Barbara Liskov", "barbara.liskov@acme.test", "restricted_access", "America/St_Johns"),
        (
            '<i>Zoë</i> & "Quote" O\'Brien',
            "zoe.obrien@example.com",
            "read_only_user",
            "Asia/Kathmandu",
        ),
        ("Ken Thompson", "ken.thompson@example.com", "read_only_limited_user", "Pacific/Chatham"),
        ("Frances Allen", "frances.allen@example.com", "user", "America/New_York"),
        ("Dennis Ritchie", "dennis.ritchie@example.com", "user", "Europe/Berlin"),
        ("Radia Perlman", "radia.perlman@example.com", "limited_user", "Etc/UTC"),
        ("José Núñez", "jose.nunez@example.com", "user", "America/Sao_Paulo"),
    ]
    users = [
        b.user(i, role=role, time_zone=zone, name=name, email=email)
        for i, (name, email, role, zone) in enumerate(specs)
    ]
    ada = users[0]
    email = b.email(ada)
    phone = b.phone(ada, "phone", "Mobile")
    sms = b.phone(ada, "sms", "Mobile SMS")
    whatsapp = b.phone(ada, "whatsapp", "WhatsApp")
    push = b.push(ada)
    for contact, delay in ((push, 0), (whatsapp, 0), (sms, 1), (phone, 5), (email, 10)):
        b.rule(ada, contact, delay, "high")  # push and WhatsApp in parallel at 0
    b.rule(ada, email, 0, "low")
    b.rule(ada, push, 30, "low")
    b.handoff_rule(ada, email, "both", 60)
    b.handoff_rule(ada, push, "oncall", 15)

    margaret = users[3]
    off = b.email(margaret, enabled=False)
    barred = b.phone(margaret, "phone", "Old phone", blacklisted=True)
    b.rule(margaret, off, 0, "high")
    b.rule(margaret, barred, 2, "high")
    b.phone(users[4], "whatsapp", "WhatsApp")
    b.push(users[5])
    for user in users[1:]:
        if user is not users[2] and user is not users[3]:  # Linus has no contact methods at all
            b.ordinary_contacts(user)
    return users


def hard_schedules(
    b: Builder,
    u: list[Payload],
    deleted: Payload,
    platform: Payload,
    payments: Payload,
    nights: Payload,
    empty: Payload,
) -> dict[str, Payload]:
    """The ten hand-built schedules, by name."""
    s: dict[str, Payload] = {}

    def local(zone: str) -> tuple[datetime, datetime]:
        """Now and the Monday 00:00 of this week, as wall times in `zone`."""
        now = b.local_now(zone)
        monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0)
        return now, monday

    def at(zone: str, moment: datetime) -> datetime:
        return to_utc(moment, resolve_zone(zone))

    zone = "America/New_York"
    now, monday = local(zone)
    sun = s[FOLLOW_THE_SUN] = b.schedule(FOLLOW_THE_SUN, zone, [platform])
    b.layer(
        sun,
        "Layer 3: nights",
        users=[u[3], u[4]],
        turn=WEEK,
        virtual_start=monday - timedelta(weeks=26) + timedelta(hours=9),
        start=monday - timedelta(days=120),
        restrictions=[daily("22:00:00", 10 * 3600)],  # wraps midnight
    )
    b.layer(
        sun,
        "Layer 2: business hours",
        users=[u[1], u[2]],
        turn=DAY,
        virtual_start=monday - timedelta(weeks=10) + timedelta(hours=9),
        start=monday - timedelta(days=150),
        restrictions=[weekly(day, "09:00:00", 8 * 3600) for day in range(1, 6)],
    )
    b.layer(
        sun,
        "Layer 1: base",
        users=[u[0], u[1], u[8]],
        turn=WEEK,
        virtual_start=monday - timedelta(weeks=30) + timedelta(hours=10),
        start=monday - timedelta(days=200),
    )
    autumn = next_change(zone, b.now, spring=False)
    b.override(sun, u[9], b.now - timedelta(hours=2), b.now + timedelta(hours=6))
    b.override(sun, u[10], autumn - timedelta(hours=3), autumn + timedelta(hours=5))
    thursday = monday + timedelta(days=3)
    b.override(sun, u[11], at(zone, thursday.replace(hour=10)), at(zone, thursday.replace(hour=18)))
    # Overlaps the one before and, created later, wins from 14:00.
    b.override(sun, u[0], at(zone, thursday.replace(hour=14)), at(zone, thursday.replace(hour=20)))
    saturday = monday + timedelta(days=5)
    b.override(
        sun, deleted, at(zone, saturday.replace(hour=12)), at(zone, saturday.replace(hour=13))
    )
    sunday = monday + timedelta(days=6)
    b.override(sun, u[9], at(zone, sunday.replace(hour=8)), at(zone, sunday.replace(hour=10)))
    b.override(sun, u[9], at(zone, sunday.replace(hour=10)), at(zone, sunday.replace(hour=12)))

    zone = "Europe/London"
    now, monday = local(zone)
    weekend = s[WEEKEND_COVER] = b.schedule(WEEKEND_COVER, zone, [payments])
    b.layer(
        weekend,
        "Layer 2: weekends",
        users=[u[2], u[5]],
        turn=WEEK,
        # Saturday 12:00: the handoff falls inside the weekend window and splits it.
        virtual_start=monday - timedelta(weeks=9) + timedelta(days=5, hours=12),
        start=monday - timedelta(days=100),
        restrictions=[weekly(5, "18:00:00", 63 * 3600), weekly(7, "22:00:00", 10 * 3600)],
    )
    b.layer(
        weekend,
        "Layer 1: twelve hours",
        users=[u[6], u[9]],
        turn=12 * 3600,
        virtual_start=monday - timedelta(weeks=3) + timedelta(hours=8),
        start=monday - timedelta(days=60),
    )
    autumn = next_change(zone, b.now, spring=False)
    b.override(weekend, u[2], autumn - timedelta(hours=1), autumn + timedelta(hours=2))

    zone = "Australia/Lord_Howe"  # half-hour DST
    now, monday = local(zone)
    changing = s[CHANGING_LAYERS] = b.schedule(CHANGING_LAYERS, zone, [nights, platform])
    soon = (now + timedelta(days=5)).replace(hour=9, minute=0, second=0)
    b.layer(
        changing,
        "Layer 3: starts later and ends",
        users=[u[1], u[2]],
        turn=3 * DAY,
        virtual_start=soon,
        start=soon,
        end=soon + timedelta(days=35),
    )
    b.layer(
        changing,
        "Layer 2: anchored before its start",
        users=[u[3], u[4], u[5]],
        turn=2 * WEEK,
        virtual_start=(now - timedelta(days=60)).replace(hour=8, minute=0, second=0),
        start=(now - timedelta(days=3)).replace(hour=0, minute=0, second=0),
    )
    b.layer(
        changing,
        "Layer 1: ended",
        users=[u[6], u[7]],
        turn=DAY,
        virtual_start=(now - timedelta(days=90)).replace(hour=9, minute=0, second=0),
        start=(now - timedelta(days=90)).replace(hour=0, minute=0, second=0),
        end=(now - timedelta(days=10)).replace(hour=0, minute=0, second=0),
    )

    zone = "Asia/Kathmandu"  # +05:45
    now, monday = local(zone)
    eight = s[EIGHT_HOURS] = b.schedule(EIGHT_HOURS, zone, [nights])
    later = (now + timedelta(days=14)).replace(hour=0, minute=0, second=0)
    b.layer(
        eight,
        "Layer 2: takes over later",
        users=[u[8]],
        turn=WEEK,
        virtual_start=later,
        start=later,
        restrictions=[daily("00:00:00", DAY)],  # a whole day: no gap
    )
    b.layer(
        eight,
        "Layer 1: eight hours",
        users=[u[0], u[3], u[6]],
        turn=8 * 3600,
        virtual_start=(now - timedelta(days=20)).replace(hour=6, minute=0, second=0),
        start=(now - timedelta(days=30)).replace(hour=0, minute=0, second=0),
    )

    zone = "Pacific/Chatham"  # +12:45/+13:45; spring forward at 02:45, the handoff time
    now, monday = local(zone)
    chatham = s[CHATHAM] = b.schedule(CHATHAM, zone, [platform])
    b.layer(
        chatham,
        "Layer 2: Sunday nights",
        users=[u[10]],
        turn=WEEK,
        virtual_start=monday - timedelta(weeks=4),
        start=monday - timedelta(days=60),
        restrictions=[weekly(7, "20:00:00", 20 * 3600)],  # Sunday into Monday: wraps the week
    )
    b.layer(
        chatham,
        "Layer 1: handoff in the spring gap",
        users=[u[1], u[9]],
        turn=DAY,
        virtual_start=(now - timedelta(days=50)).replace(hour=2, minute=45, second=0),
        start=(now - timedelta(days=50)).replace(hour=0, minute=0, second=0),
    )

    zone = "Europe/Kiev"  # a legacy link name the API still lists
    now, monday = local(zone)
    repeats = s[REPEATS] = b.schedule(REPEATS, zone, [payments])
    b.layer(
        repeats,
        "Layer 1",
        users=[u[2], u[3], u[2], deleted],  # a repeated user and a deleted one
        turn=DAY,
        virtual_start=(now - timedelta(days=40)).replace(hour=0, minute=0, second=0),
        start=(now - timedelta(days=40)).replace(hour=0, minute=0, second=0),
    )
    b.override(repeats, u[4], b.now + timedelta(days=2), b.now + timedelta(days=3))

    zone = "Eastern Time (US & Canada)"  # a Rails name, as an old fixture returned one
    now, monday = local(zone)
    eastern = s[RAILS_EASTERN] = b.schedule(RAILS_EASTERN, zone, [])
    b.layer(
        eastern,
        "Layer 2: the repeated autumn hour",
        users=[u[4], u[5]],
        turn=DAY,
        virtual_start=(now - timedelta(days=20)).replace(hour=1, minute=30, second=0),
        start=(now - timedelta(days=20)).replace(hour=0, minute=0, second=0),
        restrictions=[daily("01:30:00", 2 * 3600)],
    )
    b.layer(
        eastern,
        "Layer 1: handoff in the spring gap",
        users=[u[6], u[7]],
        turn=DAY,
        virtual_start=(now - timedelta(days=20)).replace(hour=2, minute=30, second=0),
        start=(now - timedelta(days=20)).replace(hour=0, minute=0, second=0),
    )

    zone = "Etc/GMT+12"
    now, monday = local(zone)
    date_line = s[DATE_LINE] = b.schedule(DATE_LINE, zone, [])
    b.layer(
        date_line,
        "Layer 1: anchored in the future",
        users=[u[8], u[9], u[10]],
        turn=WEEK,
        virtual_start=(now + timedelta(days=10)).replace(hour=12, minute=0, second=0),
        start=(now - timedelta(days=30)).replace(hour=0, minute=0, second=0),
    )

    zone = "America/St_Johns"  # -03:30 with DST
    now, monday = local(zone)
    office = s[OFFICE_HOURS] = b.schedule(OFFICE_HOURS, zone, [])
    b.layer(
        office,
        "Layer 1: office hours",
        users=[u[11], u[0]],
        turn=WEEK,
        virtual_start=monday - timedelta(weeks=2) + timedelta(hours=9),
        start=monday - timedelta(days=30),
        restrictions=[weekly(day, "09:00:00", 8 * 3600) for day in range(1, 6)],
    )

    zone = "Asia/Kolkata"
    now, monday = local(zone)
    ended = s[ALL_ENDED] = b.schedule(ALL_ENDED, zone, [empty])
    b.layer(
        ended,
        "Layer 1: ended",
        users=[u[3]],
        turn=DAY,
        virtual_start=(now - timedelta(days=100)).replace(hour=9, minute=0, second=0),
        start=(now - timedelta(days=100)).replace(hour=0, minute=0, second=0),
        end=(now - timedelta(days=30)).replace(hour=0, minute=0, second=0),
    )
    return s
