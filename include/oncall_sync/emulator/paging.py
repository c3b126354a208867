"""The emulator's own answer to "who is paged, by which method, at which minute" for an alert,
following reference/opsgenie-api-extended.md 12.2 step by step. Written apart from any core code
on purpose: a test compares the two over thousands of generated alerts.

`who_is_paged(account, alert, minutes)` returns the pages (minute, person, method, address) of
the first `minutes` minutes, what it could not decide (with the candidates), notes on what it did
decide (an alert that is never created, a person with no matching rule), and every assumption it
relied on; each page names the assumptions on its own path. The steps, in order:
1. maintenance in effect at creation (integrations off, policies forced on or off);
2. the integration: enabled, advanced actions (first matching create/ignore wins) or its own
   responders, suppressNotifications;
3. global alert policies, first match plus `continue`;
4. the one team whose policies apply: its alert policies, then notification policies (suppress,
   delay, auto-close, auto-restart);
5. responders: teams through their routing rules (first match by order, at creation, in the
   rule's or the account's zone), users, schedules (on call at the start), escalations;
6. escalations: every rule at start + delay (absolute), then `repeat`;
7. schedules through the emulator's own timeline (`emulator.timeline`: rotations, restrictions,
   overrides, in the schedule's zone);
8. forwarding at the moment a person is reached;
9. the person's first enabled matching rule of the action type (create-alert, then
   renotified-alert), its restriction in the user's zone;
10. the rule's enabled steps at reach + sendAfter, skipping disabled contacts, looping on repeat.

Assumptions: every point the reference marks UNCONFIRMED is decided as below (the text is
`ASSUMPTIONS`, filled in here at import, and docs/emulator.md lists the same), and an answer names
the ones it used; each page names those on its own path.
{assumptions}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from oncall_sync.emulator import timeline
from oncall_sync.emulator.account import UNSUPPORTED_INTEGRATIONS, Account, Payload
from oncall_sync.emulator.criteria import criteria_match, in_restriction

ASSUMPTIONS: dict[str, str] = {
    "no-response": (
        "Nobody acknowledges or closes the alert within the horizon: the answer is who would be "
        "paged if nobody responds, so `if-not-acked` and `if-not-closed` rules alike fire."
    ),
    "team-alert-via-default-api": (
        "An alert raised for a team without an integration comes through the account's Default "
        "API integration, with that team as its only responder."
    ),
    "maintenance": (
        "A maintenance window is in effect from time.startDate to time.endDate (no end: "
        "indefinitely) unless cancelled, judged at the alert's creation; it turns its "
        "integrations off and forces its policies on or off. An integration that is off (by "
        "maintenance or `enabled: false`) creates no alert."
    ),
    "action-order": (
        "An advanced integration tries its `create` and `ignore` actions together by `order` "
        "(ignore first on a tie); the first whose filter matches decides; none matching creates "
        "no alert."
    ),
    "templates": (
        "Template values (`{{priority}}`, `{{message}}`) keep the alert's value; `{{message}}` "
        "inside a message is replaced by the current message; other text is literal."
    ),
    "list-conditions": (
        "On list fields (tags, actions, teams, recipients, responders) `contains` and `equals` "
        "hold when one element equals the expected value, other operations when one element "
        "satisfies them, `is-empty` when the list is empty; comparisons are case-sensitive."
    ),
    "priority-order": ("`greater-than`/`less-than` on P1..P5 compare the digit (P4 > P3)."),
    "team-policy-scope": (
        "Team policies apply for the integration's owner team, else for the only responder when "
        "that is a team; with several responders no team's policies apply."
    ),
    "notification-policies": (
        "Notification policies: first match per team (`continue` honoured); `suppress` silences "
        "the whole alert; `delayAction` moves the start of every notification (routing is still "
        "decided at creation); `autoCloseAction` closes the alert `duration` after creation; "
        "`autoRestartAction` notifies the responders again every `duration` after the start, "
        "`maxRepeatCount` times; deduplication changes nothing for one alert."
    ),
    "delay-times": (
        "`next-time` is the next untilHour:untilMinute after creation in the account's zone; "
        "`next-weekday` the next such time Monday to Friday; `next-<day>` the next on that day."
    ),
    "non-team-responders": (
        "Routing rules apply to team responders only: a user responder is notified at the "
        "start, a schedule responder pages who is on call then (no escalation), an escalation "
        "responder runs that escalation from the start."
    ),
    "routing": (
        "Routing rules are matched once, at creation (for a team reached by an escalation: when "
        "that rule fires), on the alert as the policies left it, the restriction in the rule's "
        "`timezone` or else the account's zone."
    ),
    "escalation-repeat": (
        "`repeat` runs all rules again `count` times, each cycle starting `waitInterval` "
        "minutes after the previous cycle's last rule; `closeAlertAfterAll` closes the alert "
        "right after the last rule of the last cycle (later steps are not sent)."
    ),
    "team-recipient": (
        "A team escalation recipient with `notifyType: default` is routed by that team's "
        "routing rules; `users`/`admins`/`all` page its members with role user / admin / any."
    ),
    "next-previous": (
        "`next`/`previous` on a schedule page, for each rotation in effect at that instant, the "
        "participant after / before the one whose turn it is (overrides ignored)."
    ),
    "nested-participants": (
        "A team on call in a rotation pages all its members; an escalation on call runs that "
        "escalation from that instant."
    ),
    "forwarding": (
        "Forwarding is decided when a person is reached: chains are followed, a loop stops "
        "where it closes, a forward to a user no longer in the account pages nobody."
    ),
    "blocked-users": ("Blocked users are not notified."),
    "muted-users": ("A user whose `mutedUntil` is after a notification's instant is not notified."),
    "action-types": (
        "A person's first reach uses their `create-alert` rules, every later reach (another "
        "escalation rule, a repeat, an auto-restart) their `renotified-alert` rules; reaches of "
        "one person at the same instant count once; a new reach does not cancel earlier steps."
    ),
    "no-matching-rule": (
        "A person with no enabled matching rule of that action type gets nothing from that reach."
    ),
    "steps": (
        "A rule's enabled steps fire `sendAfter` minutes after the reach (action types without "
        "sendAfter: at once); a step whose contact (method and address) is disabled on the user "
        "is skipped; a step whose contact the user no longer has still fires to its address."
    ),
    "rule-repeat": (
        "`repeat.loopAfter` (enabled, > 0) sends the rule's steps again every loopAfter minutes "
        "after the reach."
    ),
    "minutes": (
        "A page's minute is the whole minutes since creation, rounded up; the answer holds "
        "minutes 0 to N-1."
    ),
    "random-member": (
        "`notifyType: random` picks one member at random: not decided; the answer names the "
        "candidates and pages none of them."
    ),
}
# Assumptions every answer rests on, whatever path its pages take.
GENERAL = ("no-response", "action-types", "steps", "minutes", "blocked-users", "forwarding")
UNITS = {"minutes": 1.0, "hours": 60.0, "days": 1440.0, "seconds": 1 / 60, "weeks": 10080.0}
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
TIMED_ACTIONS = frozenset({"create-alert", "assigned-alert"})
MAX_DEPTH = 8

__doc__ = (__doc__ or "").replace(
    "{assumptions}", "\n".join(f"- {name}: {text}" for name, text in ASSUMPTIONS.items())
)


class Alert(BaseModel):
    """An alert as it reaches OpsGenie: through an integration, for a team, or both (the team as a
    responder in the integration's payload)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    created_at: datetime
    team_id: str | None = None
    integration_id: str | None = None
    message: str = ""
    tags: tuple[str, ...] = ()
    priority: str = "P3"
    alias: str = ""
    description: str = ""
    source: str = ""
    entity: str = ""
    extra_properties: dict[str, str] = Field(default_factory=dict)

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("created_at needs a time zone (UTC: add Z or +00:00)")
        return value.astimezone(UTC)

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: str) -> str:
        if value not in ("P1", "P2", "P3", "P4", "P5"):
            raise ValueError(f"priority must be P1..P5, not {value!r}")
        return value

    @model_validator(mode="after")
    def _target(self) -> Alert:
        if self.team_id is None and self.integration_id is None:
            raise ValueError("an alert needs a team_id, an integration_id, or both")
        return self


class Page(BaseModel):
    """One notification: when (minute since creation, and the instant), whom, how, why."""

    minute: int
    at: datetime
    user_id: str
    username: str
    method: str
    address: str
    action_type: str
    rule: str
    via: str
    assumptions: tuple[str, ...] = ()


class Undecided(BaseModel):
    """A step the computation could not decide exactly; nobody is paged for it."""

    minute: int
    step: str
    reason: str
    candidates: tuple[str, ...] = ()


class PagingAnswer(BaseModel):
    """Who is paged for `alert` in its first `minutes` minutes, and what that answer rests on."""

    alert: Alert
    minutes: int
    pages: list[Page]
    undecided: list[Undecided]
    notes: list[str]
    assumptions: dict[str, str]


@dataclass(frozen=True)
class _Reach:
    """A person reached (before forwarding) at an instant, how, and on which assumptions."""

    at: datetime
    user_id: str
    via: str
    assumptions: frozenset[str]
    seq: int


def _duration(value: Any) -> timedelta:
    """An API duration (`{timeAmount, timeUnit}`, or a bare number of minutes)."""
    if isinstance(value, dict):
        amount, unit = float(value.get("timeAmount") or 0), value.get("timeUnit") or "minutes"
        return timedelta(minutes=amount * UNITS.get(unit, 1.0))
    return timedelta(minutes=float(value or 0))


def _name(ref: Payload) -> str:
    return str(ref.get("name") or ref.get("username") or ref.get("id") or "")


def _template(value: Any, current: str) -> str:
    """A policy/action field value: a template keeps the alert's value (assumption templates)."""
    text = str(value or "")
    if not text or text == "{{" + "priority}}":
        return current
    return text.replace("{{message}}", current) if "{{message}}" in text else text


class _Run:
    """One computation: the account's lookups, the alert as it evolves, what was found."""

    def __init__(self, account: Account, alert: Alert, minutes: int) -> None:
        self.account, self.alert, self.minutes = account, alert, minutes
        self.t0 = alert.created_at
        self.end = self.t0 + timedelta(minutes=minutes)
        self.zone = timeline.resolve_zone(account.time_zone or "UTC")
        a = account
        self.users = {u["id"]: u for u in a.users}
        self.teams = {t["id"]: t for t in a.teams}
        self.schedules = {s["id"]: s for s in a.schedules}
        self.escalations = {e["id"]: e for e in a.escalations}
        self.integrations = {i["id"]: i for i in a.integrations}
        self.forwards: dict[str, list[Payload]] = {}
        for rule in a.forwarding_rules:
            self.forwards.setdefault((rule.get("fromUser") or {}).get("id", ""), []).append(rule)
        self.reaches: list[_Reach] = []
        self.undecided: list[Undecided] = []
        self.notes: list[str] = []
        self.used: set[str] = set(GENERAL)
        self.open_until: datetime | None = None  # the alert closes after this instant
        self.fields: dict[str, Any] = {}
        self.responders: list[Payload] = []
        self.forced: dict[str, bool] = {}

    # -- helpers -----------------------------------------------------------------------------------

    def minute(self, moment: datetime) -> int:
        return max(0, math.ceil((moment - self.t0).total_seconds() / 60 - 1e-9))

    def use(self, *names: str) -> frozenset[str]:
        self.used.update(names)
        return frozenset(names)

    def undecide(
        self, moment: datetime, step: str, reason: str, candidates: Iterable[str] = ()
    ) -> None:
        if moment < self.end:
            self.undecided.append(
                Undecided(
                    minute=self.minute(moment),
                    step=step,
                    reason=reason,
                    candidates=tuple(candidates),
                )
            )

    def close_at(self, moment: datetime) -> None:
        if self.open_until is None or moment < self.open_until:
            self.open_until = moment

    def refresh_names(self) -> None:
        """The condition fields that name responders, after every change to them."""
        names = [self.responder_name(r) for r in self.responders]
        self.fields["responders"] = self.fields["recipients"] = names
        self.fields["teams"] = [
            self.responder_name(r) for r in self.responders if r.get("type") == "team"
        ]

    def responder_name(self, ref: Payload) -> str:
        lookup = {"team": self.teams, "schedule": self.schedules, "escalation": self.escalations}
        if ref.get("type") == "user":
            user = self.users.get(ref.get("id", ""))
            return user["username"] if user else _name(ref)
        entity = lookup.get(ref.get("type", ""), {}).get(ref.get("id", ""))
        return entity["name"] if entity else _name(ref)

    def add_responders(self, extra: Iterable[Payload], replace: bool = False) -> None:
        found = [] if replace else list(self.responders)
        keys = {(r.get("type"), r.get("id")) for r in found}
        for ref in extra:
            key = (ref.get("type"), ref.get("id"))
            if key not in keys:
                keys.add(key)
                found.append(ref)
        self.responders = found
        self.refresh_names()

    # -- 1-2: maintenance and the integration ------------------------------------------------------

    def maintenance(self) -> set[str]:
        """Integrations turned off at creation; fills `forced` with policies forced on or off."""
        off: set[str] = set()
        for window in self.account.maintenance:
            span = window.get("time") or {}
            if window.get("status") == "cancelled" or "startDate" not in span:
                continue
            start = timeline.parse_instant(span["startDate"])
            end = timeline.parse_instant(span["endDate"]) if span.get("endDate") else None
            if not (start <= self.t0 and (end is None or self.t0 < end)):
                continue
            self.use("maintenance")
            for rule in window.get("rules") or []:
                entity = rule.get("entity") or {}
                if entity.get("type") == "integration":
                    off.add(entity.get("id", ""))
                elif entity.get("type") == "policy":
                    self.forced[entity.get("id", "")] = rule.get("state") == "enabled"
        return off

    def integration(self) -> tuple[bool, str | None]:
        """Steps 1-2: whether an alert is created and notifies, and the integration's owner team."""
        alert = self.alert
        self.fields = {
            "message": alert.message,
            "alias": alert.alias,
            "description": alert.description,
            "source": alert.source,
            "entity": alert.entity,
            "tags": list(alert.tags),
            "actions": [],
            "extra-properties": dict(alert.extra_properties),
            "details": dict(alert.extra_properties),
            "priority": alert.priority,
        }
        payload: list[Payload] = []
        if alert.team_id is not None:
            if alert.team_id not in self.teams:
                raise ValueError(f"no team with id {alert.team_id!r} in this account")
            payload = [{"type": "team", "id": alert.team_id}]
        self.add_responders(payload)
        off = self.maintenance()
        if alert.integration_id is not None:
            integration = self.integrations.get(alert.integration_id)
            if integration is None:
                raise ValueError(f"no integration with id {alert.integration_id!r} in this account")
        else:
            self.use("team-alert-via-default-api")
            integration = next(
                (i for i in self.account.integrations if i.get("isDefaultIntegration")), None
            )
            if integration is None:
                return True, None
        name = f"integration {integration['name']!r}"
        if integration["type"] in UNSUPPORTED_INTEGRATIONS or "feature-type" not in integration:
            self.notes.append(f"{name} receives no alerts (outgoing only or not in the API)")
            return False, None
        if integration["id"] in off or not integration.get("enabled", True):
            self.use("maintenance")
            self.notes.append(f"{name} is off at creation: no alert")
            return False, None
        owner = (integration.get("ownerTeam") or {}).get("id")
        source = integration
        if integration.get("isAdvanced"):
            self.use("action-order", "templates")
            action = self.first_action(integration)
            if action is None:
                self.notes.append(f"no action of {name} matches: no alert")
                return False, owner
            if action["type"] == "ignore":
                self.notes.append(f"{name} ignores the alert (action {action.get('name')!r})")
                return False, owner
            source = action
        if source.get("ignoreRespondersFromPayload") or source.get("ignoreTeamsFromPayload"):
            self.responders = []
        if source.get("ignoreTagsFromPayload"):
            self.fields["tags"] = []
        self.add_responders(source.get("responders") or [])
        self.fields["priority"] = _template(source.get("priority"), self.fields["priority"])
        if "message" in source:
            self.fields["message"] = _template(source["message"], self.fields["message"])
        self.fields["tags"] = list(
            dict.fromkeys([*self.fields["tags"], *(source.get("tags") or [])])
        )
        if integration.get("suppressNotifications"):
            self.notes.append(f"{name} suppresses notifications: the alert notifies nobody")
            return False, owner
        return True, owner

    def first_action(self, integration: Payload) -> Payload | None:
        actions = self.account.integration_actions.get(integration["id"]) or {}
        candidates = [
            (a.get("order", 0), 0, n, a) for n, a in enumerate(actions.get("ignore") or [])
        ]
        candidates += [
            (a.get("order", 0), 1, n, a) for n, a in enumerate(actions.get("create") or [])
        ]
        for *_, action in sorted(candidates, key=lambda c: c[:3]):
            if criteria_match(action.get("filter"), self.fields, key="conditionMatchType"):
                return action
        return None

    # -- 3-4: policies -----------------------------------------------------------------------------

    def applicable(self, policies: Sequence[Payload], kind: str) -> list[Payload]:
        """The policies of `kind` that apply at creation: first match, then on while `continue`."""
        found = []
        for policy in policies:
            if policy.get("type") != kind:
                continue
            enabled = self.forced.get(policy.get("id", ""), bool(policy.get("enabled", True)))
            if not enabled or not criteria_match(policy.get("filter"), self.fields):
                continue
            if not in_restriction(policy.get("timeRestrictions"), self.zone, self.t0):
                continue
            found.append(policy)
            if not policy.get("continue"):
                break
        return found

    def alert_policies(self, policies: Sequence[Payload]) -> None:
        for policy in self.applicable(policies, "alert"):
            self.use("templates")
            self.fields["priority"] = _template(policy.get("priority"), self.fields["priority"])
            self.fields["message"] = _template(policy.get("message"), self.fields["message"])
            tags = list(policy.get("tags") or [])
            if not policy.get("ignoreOriginalTags"):
                tags = [*self.fields["tags"], *tags]
            self.fields["tags"] = list(dict.fromkeys(tags))
            details = dict(policy.get("details") or {})
            if not policy.get("ignoreOriginalDetails"):
                details = {**self.fields["details"], **details}
            self.fields["details"] = self.fields["extra-properties"] = details
            self.add_responders(
                policy.get("responders") or [], replace=bool(policy.get("ignoreOriginalResponders"))
            )
            self.notes.append(f"alert policy {policy.get('name')!r} applies")

    def policy_team(self, owner: str | None) -> str | None:
        if owner is not None:
            return owner
        if len(self.responders) == 1 and self.responders[0].get("type") == "team":
            return self.responders[0].get("id")
        return None

    def notification_policies(self, team_id: str) -> tuple[bool, datetime, list[datetime]]:
        """Whether anyone is notified, when notifications start, and when they restart."""
        start, restarts = self.t0, list[timedelta]()
        policies = self.account.team_policies.get(team_id, [])
        for policy in self.applicable(policies, "notification"):
            self.use("notification-policies")
            name = f"notification policy {policy.get('name')!r}"
            if policy.get("suppress"):
                self.notes.append(f"{name} suppresses notifications")
                return False, start, []
            if policy.get("delayAction"):
                self.use("delay-times")
                start = max(start, self.delay_until(policy["delayAction"]))
                self.notes.append(f"{name} delays notifications to {timeline.iso(start)}")
            if policy.get("autoCloseAction"):
                closes = self.t0 + _duration(policy["autoCloseAction"].get("duration"))
                self.close_at(closes - timedelta(microseconds=1))
                self.notes.append(f"{name} closes the alert at {timeline.iso(closes)}")
            if policy.get("autoRestartAction"):
                restart = policy["autoRestartAction"]
                every = _duration(restart.get("duration"))
                count = int(restart.get("maxRepeatCount") or 0)
                if every > timedelta(0):
                    restarts = [every * k for k in range(1, count + 1)]
            if policy.get("deduplicationAction"):
                self.notes.append(f"{name} deduplicates: no effect on one alert")
        return True, start, [start + r for r in restarts]

    def delay_until(self, action: Payload) -> datetime:
        option = action.get("delayOption", "")
        if option == "for-duration":
            return self.t0 + _duration(action.get("duration"))
        wanted = time(int(action.get("untilHour") or 0), int(action.get("untilMinute") or 0))
        local_day = self.t0.astimezone(self.zone).date()
        for offset in range(0, 9):
            day = local_day + timedelta(days=offset)
            moment = datetime.combine(day, wanted, tzinfo=self.zone).astimezone(UTC)
            if moment <= self.t0:
                continue
            if option == "next-weekday" and day.weekday() >= 5:
                continue
            if (
                option.startswith("next-")
                and option[5:] in DAYS
                and DAYS[day.weekday()] != option[5:]
            ):
                continue
            return moment
        return self.t0

    # -- 5-8: responders, routing, escalations, schedules, forwarding ------------------------------

    def respond(self, ref: Payload, start: datetime, renotify: bool) -> None:
        kind, rid = ref.get("type"), ref.get("id", "")
        tag = "again: " if renotify else ""
        if kind == "team":
            self.route(
                rid, self.t0, start, f"{tag}team {self.responder_name(ref)!r}", (), frozenset()
            )
            return
        used = self.use("non-team-responders")
        if kind == "user":
            self.reach(rid, start, f"{tag}responder", used)
        elif kind == "schedule":
            self.schedule(rid, start, f"{tag}schedule responder", (), used)
        elif kind == "escalation":
            self.escalate(rid, start, f"{tag}escalation responder", (), used)
        else:
            self.undecide(start, f"responder {_name(ref)!r}", f"unknown responder type {kind!r}")

    def route(
        self,
        team_id: str,
        decide_at: datetime,
        start: datetime,
        via: str,
        stack: tuple[str, ...],
        used: frozenset[str],
    ) -> None:
        used = used | self.use("routing")
        if team_id in stack or len(stack) > MAX_DEPTH:
            self.undecide(start, via, "the team is reached again through itself: a loop")
            return
        team = self.teams.get(team_id)
        rules = self.account.routing_rules.get(team_id)
        if team is None or not rules:
            self.undecide(start, via, "the team or its routing rules are not in the account")
            return
        for rule in sorted(rules, key=lambda r: (bool(r.get("isDefault")), r.get("order", 0))):
            zone = timeline.resolve_zone(rule["timezone"]) if rule.get("timezone") else self.zone
            if not criteria_match(rule.get("criteria"), self.fields):
                continue
            if not in_restriction(rule.get("timeRestriction"), zone, decide_at):
                continue
            notify = rule.get("notify") or {"type": "none"}
            here = f"{via} > routing rule {rule.get('name')!r}"
            inner = (*stack, team_id)
            if notify.get("type") == "escalation":
                self.escalate(notify.get("id", ""), start, here, inner, used)
            elif notify.get("type") == "schedule":
                self.schedule(notify.get("id", ""), start, here, inner, used)
            else:
                self.notes.append(f"{here} routes to nobody")
            return
        self.notes.append(f"{via}: no routing rule matches")

    def escalate(
        self,
        escalation_id: str,
        start: datetime,
        via: str,
        stack: tuple[str, ...],
        used: frozenset[str],
    ) -> None:
        escalation = self.escalations.get(escalation_id)
        if escalation_id in stack or len(stack) > MAX_DEPTH:
            self.undecide(start, via, "the escalation is reached again through itself: a loop")
            return
        if escalation is None:
            self.undecide(start, via, f"escalation {escalation_id!r} is not in the account")
            return
        rules = escalation.get("rules") or []
        if not rules:
            return
        delays = [_duration(r.get("delay")) for r in rules]
        repeat = escalation.get("repeat") or {}
        cycles = 1 + int(repeat.get("count") or 0) if repeat else 1
        if cycles > 1:
            used = used | self.use("escalation-repeat")
        period = max(delays) + timedelta(minutes=int(repeat.get("waitInterval") or 0))
        inner = (*stack, escalation_id)
        last = start
        for cycle in range(cycles):
            for n, (rule, delay) in enumerate(zip(rules, delays, strict=True)):
                fires = start + cycle * period + delay
                last = max(last, fires)
                if fires >= self.end:
                    continue
                again = f" (repeat {cycle})" if cycle else ""
                here = f"{via} > escalation {escalation['name']!r} rule {n + 1}{again}"
                self.recipient(rule, fires, here, inner, used)
            if start + (cycle + 1) * period >= self.end:
                break
        if repeat.get("closeAlertAfterAll") and cycles > 1:
            self.close_at(start + (cycles - 1) * period + max(delays))
        elif repeat.get("closeAlertAfterAll"):
            self.close_at(last)

    def recipient(
        self, rule: Payload, at: datetime, via: str, stack: tuple[str, ...], used: frozenset[str]
    ) -> None:
        ref = rule.get("recipient") or {}
        kind, rid, notify = ref.get("type"), ref.get("id", ""), rule.get("notifyType", "default")
        if kind == "user":
            self.reach(rid, at, via, used)
        elif kind == "schedule" and notify in ("next", "previous"):
            self.neighbours(
                rid, at, notify, f"{via} ({notify})", stack, used | self.use("next-previous")
            )
        elif kind == "schedule":
            self.schedule(rid, at, via, stack, used)
        elif kind == "team":
            used = used | self.use("team-recipient")
            team = self.teams.get(rid)
            if notify == "default":
                self.route(rid, at, at, f"{via} > team {_name(ref)!r}", stack, used)
            elif team is None:
                self.undecide(at, via, f"team {rid!r} is not in the account")
            elif notify == "random":
                self.use("random-member")
                names = [m["user"]["username"] for m in team.get("members", [])]
                self.undecide(at, f"{via} (random)", "one member at random", names)
            else:
                roles = {"users": {"user"}, "admins": {"admin"}}.get(notify)
                for member in team.get("members", []):
                    if roles is None or member.get("role") in roles:
                        self.reach(member["user"]["id"], at, f"{via} ({notify})", used)
        else:
            self.undecide(at, via, f"unknown recipient type {kind!r}")

    def participant(
        self, who: Payload, at: datetime, via: str, stack: tuple[str, ...], used: frozenset[str]
    ) -> None:
        kind = who.get("type")
        if kind == "user":
            self.reach(who.get("id", ""), at, via, used)
        elif kind == "team":
            used = used | self.use("nested-participants")
            team = self.teams.get(who.get("id", ""))
            for member in (team or {}).get("members", []):
                self.reach(member["user"]["id"], at, f"{via} > team {who.get('name')!r}", used)
        elif kind == "escalation":
            used = used | self.use("nested-participants")
            self.escalate(who.get("id", ""), at, via, stack, used)

    def schedule(
        self, schedule_id: str, at: datetime, via: str, stack: tuple[str, ...], used: frozenset[str]
    ) -> None:
        schedule = self.schedules.get(schedule_id)
        if schedule is None:
            self.undecide(at, via, f"schedule {schedule_id!r} is not in the account")
            return
        overrides = self.account.overrides.get(schedule_id, [])
        here = f"{via} > schedule {schedule['name']!r}"
        for who in timeline.on_call_at(schedule, overrides, at):
            self.participant(who, at, here, stack, used)

    def neighbours(
        self,
        schedule_id: str,
        at: datetime,
        direction: str,
        via: str,
        stack: tuple[str, ...],
        used: frozenset[str],
    ) -> None:
        schedule = self.schedules.get(schedule_id)
        if schedule is None:
            self.undecide(at, via, f"schedule {schedule_id!r} is not in the account")
            return
        if not schedule.get("enabled", True):
            return
        zone = timeline.resolve_zone(schedule.get("timezone") or "UTC")
        step = 1 if direction == "next" else -1
        for rotation in schedule.get("rotations") or []:
            if rotation.get("enabled", True) is False:
                continue
            begins = timeline.parse_instant(rotation["startDate"])
            ends = timeline.parse_instant(rotation["endDate"]) if rotation.get("endDate") else None
            if at < begins or (ends is not None and at >= ends):
                continue
            participants = rotation.get("participants") or []
            turn = next(timeline.turns(rotation, zone, at, at + timedelta(seconds=1)), None)
            if turn is None or not participants:
                continue
            index = next((i for i, p in enumerate(participants) if p is turn.who), 0)
            who = participants[(index + step) % len(participants)]
            self.participant(who, at, f"{via} > {schedule['name']!r}", stack, used)

    def reach(self, user_id: str, at: datetime, via: str, used: frozenset[str]) -> None:
        """Step 8: a person reached at `at`, after forwarding; recorded for steps 9-10."""
        seen = [user_id]
        current = user_id
        while True:
            rule = next(
                (
                    r
                    for r in self.forwards.get(current, [])
                    if timeline.parse_instant(r["startDate"])
                    <= at
                    < timeline.parse_instant(r["endDate"])
                ),
                None,
            )
            if rule is None:
                break
            target = (rule.get("toUser") or {}).get("id", "")
            used = used | self.use("forwarding")
            if target in seen:
                self.undecide(
                    at,
                    via,
                    "forwarding rules form a loop; paging where it closes",
                    [self.users.get(u, {}).get("username", u) for u in seen],
                )
                break
            if target not in self.users:
                gone = (rule.get("toUser") or {}).get("username", target)
                self.notes.append(f"{via}: forwarded to {gone}, who is no longer in the account")
                return
            via = f"{via} > forwarded by {self.users.get(current, {}).get('username', current)}"
            seen.append(target)
            current = target
        user = self.users.get(current)
        if user is None:
            self.undecide(at, via, f"user {current!r} is not in the account")
            return
        if user.get("blocked"):
            self.notes.append(f"{via}: {user['username']} is blocked and not notified")
            return
        self.reaches.append(_Reach(at, current, via, used, len(self.reaches)))

    # -- 9-10: notification rules and steps --------------------------------------------------------

    def pages(self) -> list[Page]:
        pages: list[Page] = []
        notified: set[str] = set()
        seen: set[tuple[str, datetime]] = set()
        for r in sorted(self.reaches, key=lambda r: (r.at, r.seq)):
            if (r.user_id, r.at) in seen or r.at >= self.end:
                continue
            if self.open_until is not None and r.at > self.open_until:
                continue
            seen.add((r.user_id, r.at))
            action = "renotified-alert" if r.user_id in notified else "create-alert"
            notified.add(r.user_id)
            pages += self.steps(r, action)
        return sorted(pages, key=lambda p: (p.at, p.username, p.method, p.address, p.action_type))

    def rule_for(self, user: Payload, action: str, at: datetime) -> Payload | None:
        zone = timeline.resolve_zone(user.get("timeZone") or self.account.time_zone or "UTC")
        rules = [
            r
            for r in self.account.notification_rules.get(user["id"], [])
            if r.get("actionType") == action and r.get("enabled", True)
        ]
        for rule in sorted(rules, key=lambda r: r.get("order", 0)):
            if criteria_match(rule.get("criteria"), self.fields) and in_restriction(
                rule.get("timeRestriction"), zone, at
            ):
                return rule
        return None

    def steps(self, reach: _Reach, action: str) -> list[Page]:
        user = self.users[reach.user_id]
        rule = self.rule_for(user, action, reach.at)
        if rule is None:
            self.use("no-matching-rule")
            self.notes.append(
                f"{user['username']} has no matching {action} rule at minute "
                f"{self.minute(reach.at)}: not notified"
            )
            return []
        disabled = {
            (c["method"], c["to"])
            for c in self.account.contacts.get(user["id"], [])
            if not (c.get("status") or {}).get("enabled", True)
        }
        muted = timeline.parse_instant(user["mutedUntil"]) if user.get("mutedUntil") else None
        starts = [reach.at]
        loop = rule.get("repeat") or {}
        if loop.get("enabled") and int(loop.get("loopAfter") or 0) > 0:
            self.use("rule-repeat")
            every = timedelta(minutes=int(loop["loopAfter"]))
            while starts[-1] + every < self.end:
                starts.append(starts[-1] + every)
        found = []
        for step in rule.get("steps") or []:
            contact = step.get("contact") or {}
            if not step.get("enabled", True):
                continue
            if (contact.get("method"), contact.get("to")) in disabled:
                self.notes.append(
                    f"{user['username']}: step to disabled {contact.get('method')} skipped"
                )
                continue
            after = _duration(step.get("sendAfter")) if action in TIMED_ACTIONS else timedelta(0)
            for start in starts:
                at = start + after
                if self.minute(at) >= self.minutes:
                    continue
                if self.open_until is not None and at > self.open_until:
                    continue
                if muted is not None and at < muted:
                    self.use("muted-users")
                    continue
                found.append(
                    Page(
                        minute=self.minute(at),
                        at=at,
                        user_id=user["id"],
                        username=user["username"],
                        method=str(contact.get("method", "")),
                        address=str(contact.get("to", "")),
                        action_type=action,
                        rule=str(rule.get("name", "")),
                        via=reach.via,
                        assumptions=tuple(sorted(reach.assumptions)),
                    )
                )
        return found

    # -- the whole ---------------------------------------------------------------------------------

    def run(self) -> PagingAnswer:
        created, owner = self.integration()
        if created:
            self.alert_policies(self.account.global_policies)
            team_id = self.policy_team(owner)
            start, restarts = self.t0, list[datetime]()
            if team_id is not None:
                self.use("team-policy-scope")
                self.alert_policies(self.account.team_policies.get(team_id, []))
                created, start, restarts = self.notification_policies(team_id)
            if created:
                for moment, renotify in [(start, False), *[(r, True) for r in restarts]]:
                    for ref in list(self.responders):
                        self.respond(ref, moment, renotify)
        pages = self.pages() if created else []
        return PagingAnswer(
            alert=self.alert,
            minutes=self.minutes,
            pages=pages,
            undecided=sorted(self.undecided, key=lambda u: (u.minute, u.step)),
            notes=self.notes,
            assumptions={name: ASSUMPTIONS[name] for name in sorted(self.used)},
        )


def who_is_paged(account: Account, alert: Alert, minutes: int) -> PagingAnswer:
    """Who `account` pages for `alert`, minute by minute, over its first `minutes` minutes."""
    if minutes < 1:
        raise ValueError("minutes must be at least 1")
    return _Run(account, alert, minutes).run()
