"""A seeded generator of OpsGenie accounts, as the API's own raw payloads, with the hard cases in.

Every size carries the hard cases (legacy zones, wrapping windows, non-user participants, overrides,
repeats, odd users) on its first entities; the rest is seeded random fill. Same seed, same account.
"""

from __future__ import annotations

import copy
import random
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

from oncall_sync.emulator.account import Account, Payload, iso, iso_millis
from oncall_sync.emulator.constructs import add_extended_constructs

DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=UTC)

# (users, teams, schedules, escalations, services) per size; `scale` multiplies them.
SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "tiny": (12, 3, 6, 6, 2),
    "demo": (200, 20, 30, 30, 10),
    "large": (10_000, 1_000, 2_000, 2_000, 500),
}

# The zones OpsGenie accepts and returns that are not plain IANA ids, first in line for schedules
# and users so that every size carries each of them.
HARD_ZONES = [
    "PST",
    "IST",
    "EST",
    "US/Pacific",
    "Asia/Calcutta",
    "GMT-8:00",
    "GMT+05:30",
    "Africa/Monrovia",
]
PLAIN_ZONES = [
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Asia/Tokyo",
    "America/Sao_Paulo",
    "Europe/Istanbul",
    "UTC",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
NOTIFY_TYPES = ["default", "next", "previous", "users", "admins", "all", "random"]
# Which notify types make sense for which recipient type (TF escalation docs).
NOTIFY_BY_RECIPIENT = {
    "user": ["default"],
    "schedule": ["default", "next", "previous"],
    "team": ["default", "users", "admins", "all", "random"],
}
FIRST_NAMES = [
    "Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "Dennis", "Radia",
    "Edsger", "Hedy", "Tim", "Katherine", "Guido", "Anita", "Bjarne", "Sophie", "Yukihiro", "Joan",
    "José", "Zoë", "Søren", "Anaïs", "Łukasz", "Chloé", "Jürgen", "Ñusta", "Aiyana", "Mei",
]  # fmt: skip
LAST_NAMES = [
    "Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen",
    "Ritchie", "Perlman", "Dijkstra", "Lamarr", "Berners-Lee", "Johnson", "van Rossum", "Borg",
    "Stroustrup", "Wilson", "Matsumoto", "Clarke", "García", "Müller", "Øster", "O'Brien", "Núñez",
]  # fmt: skip
TEAM_WORDS = [
    "Platform", "Payments", "Search", "Identity", "Storage", "Network", "Mobile", "Billing",
    "Data", "Security", "Edge", "Checkout", "Messaging", "Observability", "Database", "Frontend",
]  # fmt: skip
# Team names a careless client would break on: HTML, unicode, spaces.
HARD_TEAM_NAMES = ["<b>Ops</b> & Ünïcode", "Integration Team", "Équipe Nuit 夜"]
DOMAINS = ["example.com", "corp.example.org", "acme.test"]
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP"]
CONTACT_METHODS = ["email", "sms", "voice", "mobile"]
DISABLED_REASONS = ["Disabled by user", "Invalid phone number", "Delivery failed repeatedly"]


# Numbers OpsGenie would have accepted: real area codes with the fictional 555-01xx lines, and a
# few European mobiles, in OpsGenie's "<country code>-<number>" form.
US_AREA_CODES = (202, 212, 305, 312, 415, 512, 617, 646, 702, 808)


def _phone_number(rng: random.Random) -> str:
    if rng.random() < 0.15:
        prefix, digits = rng.choice([("44-7400", 6), ("49-151", 8)])
        return prefix + "".join(str(rng.randint(0, 9)) for _ in range(digits))
    return f"1-{rng.choice(US_AREA_CODES)}55501{rng.randint(0, 99):02d}"


def web_base(account_name: str) -> str:
    return f"https://{account_name}.app.opsgenie.com"


class _Builder:
    """Holds the seeded randomness and the cross-references while one account is built."""

    def __init__(self, seed: int, now: datetime, counts: tuple[int, int, int, int, int]) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.n_users, self.n_teams, self.n_schedules, self.n_escalations, self.n_services = counts
        self.account = Account(
            name=f"acme-oncall-{seed}",
            plan={
                "maxUserCount": max(1000, self.n_users * 2),
                "name": "Enterprise",
                "isYearly": True,
            },
        )
        self.rotation_count = 0
        self.rule_count = 0

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def pick_zone(self, index: int) -> str:
        if index < len(HARD_ZONES):
            return HARD_ZONES[index]
        if self.rng.random() < 0.1:
            return self.rng.choice(HARD_ZONES)
        return self.rng.choice(PLAIN_ZONES)

    # -- users and contacts ---------------------------------------------------------------------

    def users(self) -> None:
        rng = self.rng
        for i in range(self.n_users):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode() + str(i)
            # A share of usernames keep capitals; the index keeps them unique case-insensitively.
            if i == 1 or (i > 12 and rng.random() < 0.05):
                local = ".".join(part[:1].upper() + part[1:] for part in local.split("."))
            domain = DOMAINS[i % len(DOMAINS)]
            if i == 1:
                domain = domain.upper()
            role = "Owner" if i == 0 else ("Admin" if i % 17 == 3 else "User")
            if i == 7 or (i > 12 and rng.random() < 0.02):
                role = "Stakeholder"
            created = self.now - timedelta(
                days=rng.randint(30, 2000), milliseconds=rng.randint(0, 86_399_999)
            )
            user: Payload = {
                "blocked": i == 4 or (i > 12 and rng.random() < 0.02),
                "verified": not (i == 5 or (i > 12 and rng.random() < 0.1)),
                "id": self.new_id(),
                "username": f"{local}@{domain}",
                "fullName": f"{first} {last}" if i != 6 else '<i>Zoë</i> & "Quote" O\'Brien',
                "role": {"id": role, "name": role},
                "timeZone": self.pick_zone(i),
                "locale": rng.choice(LOCALES),
                "userAddress": {"country": "", "state": "", "city": "", "line": "", "zipCode": ""},
                "createdAt": iso_millis(created),
            }
            if rng.random() < 0.3:
                user["tags"] = rng.sample(
                    ["oncall", "sre", "manager", "contractor"], k=rng.randint(1, 2)
                )
            if rng.random() < 0.2:
                user["details"] = {"department": [rng.choice(TEAM_WORDS)]}
            if rng.random() < 0.1:
                user["userAddress"] = {
                    "country": "US",
                    "state": "Indiana",
                    "city": "Terre Haute",
                    "line": f"{rng.randint(1, 999)} Stratford Park",
                    "zipCode": "47802",
                }
            self.account.users.append(user)
            self.account.contacts[user["id"]] = self.contacts_for(i, user["username"])

    def contacts_for(self, index: int, username: str) -> list[Payload]:
        rng = self.rng
        if index in (2, 9) or (index > 12 and rng.random() < 0.02):
            return []  # users without contacts
        contacts = []
        count = rng.randint(1, 4)
        for order in range(count):
            method = "email" if order == 0 else rng.choice(CONTACT_METHODS)
            if method == "email":
                to = username if order == 0 else f"alt{order}.{username.lower()}"
            elif method == "mobile":
                to = rng.choice(["iPhone 15", "Pixel 8", "Galaxy S24"])
            else:
                to = _phone_number(rng)
            disabled = (index == 3 and order == 0) or rng.random() < 0.05
            contacts.append(
                {
                    "id": self.new_id(),
                    "method": method,
                    "to": to,
                    "status": {
                        "enabled": not disabled,
                        "disabledReason": rng.choice(DISABLED_REASONS) if disabled else "",
                    },
                    "applyOrder": order,
                }
            )
        return contacts

    # -- teams ----------------------------------------------------------------------------------

    def teams(self) -> None:
        rng, users = self.rng, self.account.users
        base = web_base(self.account.name)
        names: set[str] = set()
        for i in range(self.n_teams):
            if i < len(HARD_TEAM_NAMES):
                name = HARD_TEAM_NAMES[i]
            else:
                name = f"{rng.choice(TEAM_WORDS)} {rng.choice(TEAM_WORDS)}"
                if name in names:
                    name = f"{name} {i}"
            names.add(name)
            team_id = self.new_id()
            size = min(len(users), rng.randint(2, 12))
            members = [
                {
                    "user": {"id": u["id"], "username": u["username"]},
                    "role": "admin" if k == 0 else "user",
                }
                for k, u in enumerate(rng.sample(users, size))
            ]
            self.account.teams.append(
                {
                    "id": team_id,
                    "name": name,
                    "description": "" if i % 3 else f"{name} on-call team",
                    "members": members,
                    "links": {
                        "web": f"{base}/teams/dashboard/{team_id}/main",
                        "api": f"https://api.opsgenie.com/v2/teams/{team_id}",
                    },
                }
            )

    # -- schedules, rotations, overrides ----------------------------------------------------------

    def schedules_and_escalations(self) -> None:
        """Schedules and escalations reference each other, so ids are drawn first."""
        teams = self.account.teams
        # Every other team keeps its default `<Team>_schedule` / `<Team>_escalation` pair.
        default_teams = teams[::2][: min(self.n_schedules, self.n_escalations) // 2 or 1]
        schedule_ids = [self.new_id() for _ in range(self.n_schedules)]
        escalation_ids = [self.new_id() for _ in range(self.n_escalations)]
        schedule_names: list[str] = []
        schedule_owner: list[Payload | None] = []
        for i in range(self.n_schedules):
            if i < len(default_teams):
                owner: Payload | None = default_teams[i]
                name = f"{default_teams[i]['name']}_schedule"
            else:
                # A share of schedules have no owner team (global schedules).
                owner = None if (i - len(default_teams)) % 5 == 1 else self.rng.choice(teams)
                name = f"{owner['name'] if owner else 'Global'} rota {i}"
            schedule_names.append(name)
            schedule_owner.append(owner)
        escalation_names = []
        escalation_owner: list[Payload | None] = []
        for i in range(self.n_escalations):
            if i < len(default_teams):
                escalation_owner.append(default_teams[i])
                escalation_names.append(f"{default_teams[i]['name']}_escalation")
            else:
                owner = None if (i - len(default_teams)) % 6 == 1 else self.rng.choice(teams)
                escalation_owner.append(owner)
                escalation_names.append(f"{owner['name'] if owner else 'Global'} policy {i}")
        self.schedule_refs = list(zip(schedule_ids, schedule_names, strict=True))
        self.escalation_refs = list(zip(escalation_ids, escalation_names, strict=True))

        for i, (sid, name) in enumerate(self.schedule_refs):
            owner = schedule_owner[i]
            schedule: Payload = {
                "id": sid,
                "name": name,
                "description": "" if i % 4 else "Primary on-call",
                "timezone": self.pick_zone(i),
                "enabled": i % 11 != 10,
            }
            if owner is not None:
                schedule["ownerTeam"] = {"id": owner["id"], "name": owner["name"]}
            n_rot = 1 if i < len(default_teams) else self.rng.randint(1, 3)
            schedule["rotations"] = [self.rotation(owner) for _ in range(n_rot)]
            self.account.schedules.append(schedule)
            overrides = self.overrides_for(i, schedule)
            if overrides:
                self.account.overrides[sid] = overrides

        for i, (eid, name) in enumerate(self.escalation_refs):
            owner = escalation_owner[i]
            if i < len(default_teams) and owner is not None:
                rules = self.default_rules(owner, self.schedule_refs[i])
            else:
                # The first custom escalations carry every notify type between them.
                n_rules = 4 if self.rule_count < len(NOTIFY_TYPES) else self.rng.randint(1, 4)
                # Delays are offsets from alert creation, so rule order follows them.
                rules = sorted(
                    (self.rule(owner) for _ in range(n_rules)),
                    key=lambda rule: int(rule["delay"]["timeAmount"]),
                )
            escalation: Payload = {"id": eid, "name": name, "description": ""}
            if owner is not None:
                escalation["ownerTeam"] = {"id": owner["id"], "name": owner["name"]}
            escalation["rules"] = rules
            # Default escalations come back without `repeat`; custom ones mostly carry it.
            if i >= len(default_teams) and i % 3 != 2:
                escalation["repeat"] = {
                    "waitInterval": self.rng.choice([0, 5, 10, 30]),
                    "count": self.rng.randint(0, 5),
                    "resetRecipientStates": self.rng.random() < 0.3,
                    "closeAlertAfterAll": self.rng.random() < 0.2,
                }
            self.account.escalations.append(escalation)

    def rotation(self, owner: Payload | None) -> Payload:
        rng, k = self.rng, self.rotation_count
        self.rotation_count += 1
        rtype = (
            ["weekly", "daily", "hourly"][k % 3]
            if k < 9
            else rng.choice(["weekly", "daily", "hourly"])
        )
        length = 1 if k < 3 else rng.choice([1, 1, 1, 2, 3, 12] if rtype == "hourly" else [1, 1, 2])
        # Starts at :00 or :30 local-looking hours, mostly in the past.
        start = self.now.replace(hour=0) - timedelta(days=rng.randint(7, 400))
        start += timedelta(
            hours=rng.randint(0, 23), minutes=30 * (k % 4 == 1 or rng.random() < 0.2)
        )
        end: datetime | None = None
        status = k % 6 if k < 12 else rng.choice([0, 0, 0, 0, 1, 2])
        if status == 1:  # ended
            end = self.now - timedelta(days=rng.randint(1, 30))
            start = min(start, end - timedelta(days=14))
        elif status == 2:  # starts in the future
            start = self.now + timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23))
        elif status == 3:  # bounded, still running
            end = self.now + timedelta(days=rng.randint(30, 120))
        rotation: Payload = {"id": self.new_id(), "name": f"Rota {k}"}
        rotation["startDate"] = iso(start)
        if end is not None:
            rotation["endDate"] = iso(end)
        rotation["type"] = rtype
        rotation["length"] = length
        rotation["participants"] = self.participants(k, owner)
        restriction = self.time_restriction(k)
        if restriction is not None:
            rotation["timeRestriction"] = restriction
        return rotation

    def participants(self, k: int, owner: Payload | None) -> list[Payload]:
        rng = self.rng
        pool = [m["user"] for m in owner["members"]] if owner else rng.sample(self.account.users, 4)
        people = rng.sample(pool, min(len(pool), rng.randint(1, 5)))
        result: list[Payload] = [
            {"type": "user", "id": u["id"], "username": u["username"]} for u in people
        ]
        extra = k % 5 if k < 10 else (rng.choice([1, 2, 3]) if rng.random() < 0.1 else 0)
        if extra == 1:
            team = owner or rng.choice(self.account.teams)
            result.append({"type": "team", "id": team["id"], "name": team["name"]})
        elif extra == 2:
            eid, ename = rng.choice(self.escalation_refs)
            result.append({"type": "escalation", "id": eid, "name": ename})
        elif extra == 3:
            result.insert(rng.randint(0, len(result)), {"type": "none"})
        return result

    def time_restriction(self, k: int) -> Payload | None:
        rng = self.rng
        kind = k % 5 if k < 10 else rng.choice([0, 0, 0, 1, 2, 3, 4])
        if kind == 1:  # business hours
            return {
                "type": "time-of-day",
                "restriction": {"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 30},
            }
        if kind == 2:  # overnight, wraps midnight
            return {
                "type": "time-of-day",
                "restriction": {"startHour": 19, "startMin": 0, "endHour": 11, "endMin": 0},
            }
        if kind == 3:  # weekdays
            return {
                "type": "weekday-and-time-of-day",
                "restrictions": [
                    {
                        "startDay": day,
                        "endDay": day,
                        "startHour": 10,
                        "endHour": 18,
                        "startMin": 0,
                        "endMin": 0,
                    }
                    for day in DAYS[:5]
                ],
            }
        if kind == 4:  # out of hours: wraps the week, plus one weeknight
            return {
                "type": "weekday-and-time-of-day",
                "restrictions": [
                    {
                        "startDay": "friday",
                        "endDay": "monday",
                        "startHour": 18,
                        "endHour": 10,
                        "startMin": 0,
                        "endMin": 0,
                    },
                    {
                        "startDay": "wednesday",
                        "endDay": "thursday",
                        "startHour": 18,
                        "endHour": 9,
                        "startMin": 30,
                        "endMin": 0,
                    },
                ],
            }
        return None

    def overrides_for(self, index: int, schedule: Payload) -> list[Payload]:
        rng = self.rng
        if not (index in (0, 2, 3) or rng.random() < 0.3):
            return []
        parent = {"id": schedule["id"], "name": schedule["name"], "enabled": schedule["enabled"]}
        result = []
        for n in range(1 if index else 2):
            start = self.now + timedelta(days=rng.randint(-3, 10), hours=rng.randint(0, 23))
            end = start + timedelta(hours=rng.choice([2, 8, 24, 72]))
            if index == 0 and n == 0:
                start, end = self.now - timedelta(hours=2), self.now + timedelta(hours=6)
            if index == 3 or rng.random() < 0.1:
                user: Payload = {"type": "none"}
            else:
                u = rng.choice(self.account.users)
                user = {"type": "user", "id": u["id"], "username": u["username"]}
            rotations = schedule["rotations"]
            scoped = index == 2 or (index > 3 and rng.random() < 0.4)
            result.append(
                {
                    "_parent": parent,
                    "alias": f"override-{index}-{n}",
                    "user": user,
                    "startDate": iso(start),
                    "endDate": iso(end),
                    "rotations": (
                        [{"id": r["id"], "name": r["name"]} for r in rotations[:1]]
                        if scoped
                        else []
                    ),
                }
            )
        return result

    # -- escalations ---------------------------------------------------------------------------

    def default_rules(self, team: Payload, schedule_ref: tuple[str, str]) -> list[Payload]:
        sid, sname = schedule_ref
        schedule = {"id": sid, "name": sname, "type": "schedule"}
        return [
            _rule("if-not-acked", "default", 0, schedule),
            _rule("if-not-acked", "next", 5, schedule),
            _rule(
                "if-not-acked", "all", 10, {"id": team["id"], "name": team["name"], "type": "team"}
            ),
        ]

    def rule(self, owner: Payload | None) -> Payload:
        rng, k = self.rng, self.rule_count
        self.rule_count += 1
        if k < len(NOTIFY_TYPES):
            notify = NOTIFY_TYPES[k]
            rtype = next(t for t, allowed in NOTIFY_BY_RECIPIENT.items() if notify in allowed)
            if notify == "default":
                rtype = "user"
        else:
            rtype = rng.choice(["user", "schedule", "schedule", "team"])
            notify = rng.choice(NOTIFY_BY_RECIPIENT[rtype])
        if rtype == "user":
            u = rng.choice(self.account.users)
            recipient: Payload = {"id": u["id"], "type": "user", "username": u["username"]}
        elif rtype == "team":
            team = owner or rng.choice(self.account.teams)
            recipient = {"id": team["id"], "name": team["name"], "type": "team"}
        else:
            sid, sname = rng.choice(self.schedule_refs)
            recipient = {"id": sid, "name": sname, "type": "schedule"}
        condition = "if-not-closed" if (k % 4 == 3 or rng.random() < 0.1) else "if-not-acked"
        return _rule(condition, notify, rng.choice([0, 0, 5, 10, 15, 30, 60]), recipient)

    # -- services ------------------------------------------------------------------------------

    def services(self) -> None:
        rng, base = self.rng, web_base(self.account.name)
        for i in range(self.n_services):
            team = self.account.teams[i % len(self.account.teams)]
            sid = self.new_id()
            self.account.services.append(
                {
                    "id": sid,
                    "name": f"{rng.choice(TEAM_WORDS)} service {i}" if i else "<Checkout> & Café",
                    "description": "" if i % 2 else "Customer facing",
                    "teamId": team["id"],
                    "tags": rng.sample(
                        ["tier-1", "tier-2", "customer", "internal"], k=rng.randint(0, 2)
                    ),
                    "isExternal": i % 7 == 6,
                    "links": {
                        "web": f"{base}/service/{sid}/status",
                        "api": f"https://api.opsgenie.com/v1/services/{sid}",
                    },
                }
            )


def _rule(condition: str, notify: str, minutes: int, recipient: Payload) -> Payload:
    return {
        "condition": condition,
        "notifyType": notify,
        "delay": {"timeAmount": minutes, "timeUnit": "minutes"},
        "recipient": recipient,
    }


def generate_account(
    size: str = "demo", seed: int = 7, *, scale: float = 1.0, now: datetime = DEFAULT_NOW
) -> Account:
    """Build the account of `size` ("tiny", "demo", "large") for `seed`, counts times `scale`."""
    if size not in SIZES:
        raise ValueError(f"unknown account size {size!r}; choose one of {', '.join(SIZES)}")
    counts = tuple(max(1, round(n * scale)) for n in SIZES[size])
    builder = _Builder(seed, now, counts)  # type: ignore[arg-type]
    builder.users()
    builder.teams()
    builder.schedules_and_escalations()
    builder.services()
    # The extended constructs draw from their own random stream: the entities above stay
    # byte-identical to what they were before the constructs existed (tests and bench pin them).
    add_extended_constructs(builder.account, seed, now)
    return builder.account


def with_bad_records(account: Account) -> Account:
    """A copy of `account` with records a careful sync must quarantine, one of each kind.

    Kinds: a username equal to another but for case, a username that is not an email, a phone
    contact that is not a number, a rotation participant and an escalation recipient that point
    nowhere, a schedule zone that does not exist, an override that ends before it starts.
    The original account is left untouched.
    """
    bad = copy.deepcopy(account)
    rng = random.Random(len(bad.users))

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    twin = {**bad.users[0], "id": new_id(), "username": bad.users[0]["username"].upper()}
    not_email = {**bad.users[-1], "id": new_id(), "username": "not-an-email"}
    bad.users += [twin, not_email]
    bad.contacts[twin["id"]] = []
    bad.contacts[not_email["id"]] = [
        {
            "id": new_id(),
            "method": "sms",
            "to": "call me maybe",
            "status": {"enabled": True, "disabledReason": ""},
            "applyOrder": 0,
        }
    ]
    schedule = bad.schedules[-1]
    schedule["timezone"] = "Mars/Olympus_Mons"
    schedule["rotations"][0]["participants"].append(
        {"type": "user", "id": new_id(), "username": "gone@example.com"}
    )
    bad.escalations[-1]["rules"].append(
        _rule(
            "if-not-acked", "default", 90, {"id": new_id(), "name": "Deleted", "type": "schedule"}
        )
    )
    parent = {"id": schedule["id"], "name": schedule["name"], "enabled": schedule["enabled"]}
    bad.overrides.setdefault(schedule["id"], []).append(
        {
            "_parent": parent,
            "alias": "backwards",
            "user": {"type": "none"},
            "startDate": "2026-11-02T10:00:00Z",
            "endDate": "2026-11-02T08:00:00Z",
            "rotations": [],
        }
    )
    return bad
