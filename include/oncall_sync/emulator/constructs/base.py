"""What the construct builders share: the constructs' own random stream, lookups over the older
entities, payload helpers for conditions, time restrictions and durations, and the secret makers
(integration API keys read "5ec2e7" in their first group; other secrets contain "secret-")."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, tzinfo

from oncall_sync.emulator.account import Account, Payload

ACCOUNT_ZONES = ["America/New_York", "Europe/London", "Europe/Berlin"]
# Action types whose steps carry `sendAfter` (DOC-NRS); the others fire at once.
TIMED_ACTIONS = frozenset({"create-alert", "assigned-alert"})
ACTION_TYPES = [
    "create-alert",
    "acknowledged-alert",
    "closed-alert",
    "renotified-alert",
    "assigned-alert",
    "add-note",
    "schedule-start",
    "schedule-end",
    "incoming-call-routing",
]
MATCH_ALL: Payload = {"type": "match-all", "conditions": []}
TEAM_RIGHTS = ["manage-members", "edit-team-roles", "delete-team-roles", "access-member-profiles"]
USER_RIGHTS = [
    "alert-escalate",
    "alert-update-priority",
    "logs-page-access",
    "maintenance-edit",
    "reports-access",
    "integration-edit",
]


def condition(
    field: str, operation: str, expected: str = "", *, key: str | None = None, negate: bool = False
) -> Payload:
    """One filter condition in the API's shape (reference 2.2)."""
    result: Payload = {"field": field}
    if key is not None:
        result["key"] = key
    result.update(operation=operation, expectedValue=expected, **{"not": negate})
    return result


def criteria(kind: str, *conditions: Payload) -> Payload:
    return {"type": kind, "conditions": [{**c, "order": n} for n, c in enumerate(conditions)]}


def tagged(tag: str) -> Payload:
    """Criteria that match alerts carrying `tag`."""
    return criteria("match-all-conditions", condition("tags", "contains", tag))


def priority_is(priority: str) -> Payload:
    return criteria("match-all-conditions", condition("priority", "equals", priority))


def time_of_day(start: tuple[int, int], end: tuple[int, int]) -> Payload:
    return {
        "type": "time-of-day",
        "restriction": {
            "startHour": start[0],
            "startMin": start[1],
            "endHour": end[0],
            "endMin": end[1],
        },
    }


def weekday_windows(*windows: tuple[str, int, int, str, int, int]) -> Payload:
    """Windows given as `(startDay, startHour, startMin, endDay, endHour, endMin)`."""
    return {
        "type": "weekday-and-time-of-day",
        "restrictions": [
            {
                "startDay": sd,
                "endDay": ed,
                "startHour": sh,
                "endHour": eh,
                "startMin": sm,
                "endMin": em,
            }
            for sd, sh, sm, ed, eh, em in windows
        ],
    }


def minutes(amount: int, unit: str = "minutes") -> Payload:
    return {"timeAmount": amount, "timeUnit": unit}


def dst_change_after(zone: tzinfo, after: datetime, within_days: int = 400) -> datetime | None:
    """The first instant after `after` at which `zone`'s UTC offset changes (to the hour)."""
    offset = after.astimezone(zone).utcoffset()
    day = after
    for _ in range(within_days):
        following = day + timedelta(days=1)
        if following.astimezone(zone).utcoffset() != offset:
            hour = day
            while hour.astimezone(zone).utcoffset() == offset:
                hour += timedelta(hours=1)
            return hour
        day = following
    return None


def ref(entity: Payload) -> Payload:
    return {"id": entity["id"], "name": entity["name"]}


def user_ref(user: Payload) -> Payload:
    return {"id": user["id"], "username": user["username"]}


class ConstructsBase:
    """Holds the constructs' random stream and lookups while they are added to one account."""

    def __init__(self, account: Account, seed: int, now: datetime) -> None:
        self.account = account
        self.rng = random.Random(f"oncall-sync-extended-constructs-{seed}")
        self.now = now
        self.users = account.users
        self.teams = account.teams
        self.owned_escalations: dict[str | None, list[Payload]] = {}
        for escalation in account.escalations:
            owner = (escalation.get("ownerTeam") or {}).get("id")
            self.owned_escalations.setdefault(owner, []).append(escalation)
        self.owned_schedules: dict[str | None, list[Payload]] = {}
        for schedule in account.schedules:
            owner = (schedule.get("ownerTeam") or {}).get("id")
            self.owned_schedules.setdefault(owner, []).append(schedule)
        # Users who are somewhere in a rotation: forwarding them changes who gets paged.
        seen: dict[str, Payload] = {}
        by_id = {u["id"]: u for u in account.users}
        for schedule in account.schedules:
            for rotation in schedule["rotations"]:
                for p in rotation["participants"]:
                    if p["type"] == "user" and p["id"] in by_id:
                        seen.setdefault(p["id"], by_id[p["id"]])
        self.on_call_users = list(seen.values()) or list(account.users)
        self.secret_count = 0

    def new_id(self) -> str:
        """A random (version 4) UUID from the stream, formatted directly: `large` draws ~55,000
        of them and uuid.UUID's checks cost a third of the constructs' build time."""
        h = f"{self.rng.getrandbits(128):032x}"
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def team(self, k: int) -> Payload:
        return self.teams[k % len(self.teams)]

    def responder(self, entity: Payload, kind: str) -> Payload:
        if kind == "user":
            return {"type": "user", "id": entity["id"], "username": entity["username"]}
        return {"type": kind, "id": entity["id"], "name": entity["name"]}

    def escalation_for(self, team: Payload) -> Payload:
        """The team's default escalation, else one it owns, else any."""
        owned = self.owned_escalations.get(team["id"], [])
        default = next((e for e in owned if e["name"] == f"{team['name']}_escalation"), None)
        return default or (owned[0] if owned else self.rng.choice(self.account.escalations))

    def schedule_for(self, team: Payload) -> Payload:
        owned = self.owned_schedules.get(team["id"], [])
        return owned[0] if owned else self.rng.choice(self.account.schedules)

    # -- secrets -----------------------------------------------------------------------------------

    def api_key(self) -> str:
        """An integration API key: a UUID whose first group reads "5ec2e7" ("secret")."""
        self.secret_count += 1
        return f"5ec2e700-{self.hex(4)}-4{self.hex(3)}-8{self.hex(3)}-{self.hex(12)}"

    def secret_word(self, kind: str) -> str:
        self.secret_count += 1
        return f"secret-{kind}-{self.hex(16)}"
