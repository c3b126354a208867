"""Constructs about people: notification rules with their steps, team routing rules, forwarding
rules (the edge cases first: time restrictions that wrap, disabled steps and rules, every action
type, routing to escalation/schedule/none, forwarding past/now/future, across DST, chained, to a
departed or blocked user)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from oncall_sync.emulator.account import Payload, iso
from oncall_sync.emulator.constructs.base import (
    ACTION_TYPES,
    MATCH_ALL,
    TIMED_ACTIONS,
    ConstructsBase,
    condition,
    criteria,
    dst_change_after,
    minutes,
    priority_is,
    tagged,
    time_of_day,
    user_ref,
    weekday_windows,
)
from oncall_sync.emulator.timeline import resolve_zone


class PeopleConstructs(ConstructsBase):
    """Notification, routing and forwarding rules."""

    # -- notification rules ------------------------------------------------------------------------

    def step(self, rule: Payload, contact: Payload, after: int, enabled: bool = True) -> Payload:
        step: Payload = {"_parent": {"id": rule["id"], "name": rule["name"]}, "id": self.new_id()}
        if rule["actionType"] in TIMED_ACTIONS:
            step["sendAfter"] = minutes(after)
        step["contact"] = {"method": contact["method"], "to": contact["to"]}
        step["enabled"] = enabled
        return step

    def notification_rule(
        self,
        name: str,
        action_type: str,
        steps: Sequence[tuple[Payload, int, bool]],
        *,
        rule_criteria: Payload | None = None,
        restriction: Payload | None = None,
        enabled: bool = True,
        repeat: Payload | None = None,
        notification_time: list[str] | None = None,
        schedules: list[Payload] | None = None,
    ) -> Payload:
        rule: Payload = {
            "id": self.new_id(),
            "name": name,
            "actionType": action_type,
            "criteria": rule_criteria or dict(MATCH_ALL),
        }
        if notification_time is not None:
            rule["notificationTime"] = notification_time
        rule["order"] = 0  # numbered per action type once the user's rules are all known
        if restriction is not None:
            rule["timeRestriction"] = restriction
        rule["steps"] = [self.step(rule, c, after, on) for c, after, on in steps]
        if schedules is not None:
            rule["schedules"] = [
                {"type": "schedule", "id": s["id"], "name": s["name"]} for s in schedules
            ]
        if repeat is not None:
            rule["repeat"] = repeat
        rule["enabled"] = enabled
        return rule

    def hard_cases(self) -> dict[str, str]:
        """Which user carries which hard case: the first users whose contacts allow it, the
        cases needing scarce contacts (mobile, voice, a disabled one) placed first."""
        methods = {
            u["id"]: {c["method"] for c in self.account.contacts.get(u["id"], [])}
            for u in self.users
        }
        disabled = {
            u["id"]
            for u in self.users
            for c in self.account.contacts.get(u["id"], [])
            if not c["status"]["enabled"]
        }
        needs: list[tuple[str, Callable[[str], bool]]] = [
            ("mobile-first", lambda u: "mobile" in methods[u]),
            ("nights", lambda u: "voice" in methods[u]),
            ("weekend", lambda u: u in disabled and len(methods[u]) > 0),
            ("p1-phone", lambda u: bool(methods[u] & {"sms", "voice"})),
            ("many-types", lambda u: bool(methods[u] & {"sms", "voice"})),
            ("renotify-phone", lambda u: bool(methods[u] & {"sms", "voice"})),
            ("database", lambda u: bool(methods[u])),
            ("shift-reminder", lambda u: bool(methods[u])),
            ("quiet-nights", lambda u: bool(methods[u])),
        ]
        cases: dict[str, str] = {}
        for case, fits in needs:
            user = next(
                (u["id"] for u in self.users if u["id"] not in cases and fits(u["id"])), None
            )
            if user is None:  # nobody has such contacts: the case goes to anyone with a contact
                user = next(
                    (u["id"] for u in self.users if u["id"] not in cases and methods[u["id"]]), None
                )
            if user is not None:
                cases[user] = case
        return cases

    def notification_rules(self) -> None:
        cases = self.hard_cases()
        for i, user in enumerate(self.users):
            contacts = self.account.contacts.get(user["id"], [])
            custom = self.custom_rules(i, contacts, cases.get(user["id"]))
            rules = custom + self.default_rules(user, contacts)
            by_type: dict[str, list[Payload]] = {}
            for rule in rules:
                by_type.setdefault(rule["actionType"], []).append(rule)
            ordered: list[Payload] = []
            for action_type in ACTION_TYPES:
                for order, rule in enumerate(by_type.get(action_type, [])):
                    rule["order"] = order
                    ordered.append(rule)
            self.account.notification_rules[user["id"]] = ordered

    def default_rules(self, user: Payload, contacts: list[Payload]) -> list[Payload]:
        own_email = [
            c
            for c in contacts
            if c["method"] == "email" and c["to"].casefold() == user["username"].casefold()
        ][:1]
        return [
            self.notification_rule("New Alert", "create-alert", [(c, 0, True) for c in own_email]),
            self.notification_rule(
                "Renotified Alert", "renotified-alert", [(c, 0, True) for c in own_email]
            ),
        ]

    def custom_rules(self, i: int, contacts: list[Payload], case: str | None) -> list[Payload]:
        """The user's hard case, if any; past the first twelve users, some at random."""
        if not contacts:
            return []
        rng = self.rng

        def pick(*methods: str) -> Payload:
            """The user's first contact of the first of `methods` they have."""
            for method in methods:
                found = next((c for c in contacts if c["method"] == method), None)
                if found is not None:
                    return found
            return contacts[0]

        phone, email = pick("sms", "voice"), pick("email")
        p1 = priority_is("P1")
        nights = time_of_day((19, 0), (7, 0))
        weekend = weekday_windows(("friday", 18, 0, "monday", 9, 0))
        if case == "p1-phone":
            return [
                self.notification_rule(
                    "P1 by phone",
                    "create-alert",
                    [(phone, 0, True), (email, 3, False)],  # a disabled step
                    rule_criteria=p1,
                    repeat={"loopAfter": 10, "enabled": True},
                )
            ]
        if case == "nights":
            voice = pick("voice", "sms")
            return [
                self.notification_rule(
                    "Nights",
                    "create-alert",
                    [(voice, 0, True), (email, 5, True)],
                    restriction=nights,
                )
            ]
        if case == "weekend":  # every contact, the disabled first one included
            steps = [(c, 2 * n, True) for n, c in enumerate(contacts)]
            return [self.notification_rule("Weekend", "create-alert", steps, restriction=weekend)]
        if case == "database":
            database = criteria(
                "match-any-condition",
                condition("tags", "contains", "database"),
                condition("message", "contains", "db"),
            )
            return [
                self.notification_rule(
                    "Database pages",
                    "create-alert",
                    [(email, 0, True)],
                    rule_criteria=database,
                    enabled=False,
                )
            ]
        if case == "shift-reminder":
            return [
                self.notification_rule(
                    "Shift reminder",
                    "schedule-start",
                    [(email, 0, True)],
                    notification_time=["15-minutes-ago", "just-before"],
                    schedules=self.account.schedules[:1],
                )
            ]
        if case == "many-types":
            return [
                self.notification_rule("Assigned", "assigned-alert", [(phone, 1, True)]),
                self.notification_rule("Acknowledged", "acknowledged-alert", [(email, 0, True)]),
                self.notification_rule("Closed", "closed-alert", [(email, 0, True)]),
                self.notification_rule("Notes", "add-note", [(email, 0, True)]),
                self.notification_rule(
                    "Shift end",
                    "schedule-end",
                    [(email, 0, True)],
                    notification_time=["1-hour-ago"],
                    schedules=self.account.schedules[:2],
                ),
                self.notification_rule("Calls", "incoming-call-routing", [(phone, 0, True)]),
            ]
        if case == "renotify-phone":
            urgent = criteria(
                "match-any-condition",
                condition("priority", "equals", "P1"),
                condition("priority", "equals", "P2"),
            )
            return [
                self.notification_rule(
                    "Renotify by phone",
                    "renotified-alert",
                    [(phone, 0, True)],
                    rule_criteria=urgent,
                )
            ]
        if (
            case == "quiet-nights"
        ):  # matches at night and pages nobody: a rule with no steps silences
            return [self.notification_rule("Quiet nights", "create-alert", [], restriction=nights)]
        if case == "mobile-first":
            mobile = pick("mobile")
            return [
                self.notification_rule(
                    "Mobile first",
                    "create-alert",
                    [(mobile, 0, True), (email, 1, True)],
                    repeat={"loopAfter": 0, "enabled": False},
                )
            ]
        if case is not None or i < 12 or rng.random() >= 0.25:
            return []
        result = []
        for _ in range(rng.randint(1, 2)):
            kind = rng.choice(["p1", "nights", "weekend", "business", "renotify", "start"])
            disabled_step = rng.random() < 0.1
            steps = [(phone, 0, True), (email, rng.choice([1, 2, 5]), not disabled_step)]
            if kind == "p1":
                rule = self.notification_rule(
                    "P1 by phone", "create-alert", steps, rule_criteria=p1
                )
            elif kind == "nights":
                rule = self.notification_rule("Nights", "create-alert", steps, restriction=nights)
            elif kind == "weekend":
                rule = self.notification_rule("Weekend", "create-alert", steps, restriction=weekend)
            elif kind == "business":
                hours = weekday_windows(
                    *[(d, 9, 0, d, 17, 30) for d in ("monday", "tuesday", "wednesday")]
                )
                rule = self.notification_rule("Office", "create-alert", steps, restriction=hours)
            elif kind == "renotify":
                rule = self.notification_rule("Renotify", "renotified-alert", steps[:1])
            else:
                rule = self.notification_rule(
                    "Shift reminder",
                    "schedule-start",
                    steps[1:],
                    notification_time=["just-before"],
                    schedules=[],
                )
            result.append(rule)
        return result

    # -- routing rules -----------------------------------------------------------------------------

    def notify(self, entity: Payload | None, kind: str) -> Payload:
        if entity is None or kind == "none":
            return {"type": "none"}
        return {"type": kind, "id": entity["id"], "name": entity["name"]}

    def routing_rule(
        self,
        name: str,
        rule_criteria: Payload,
        notify: Payload,
        *,
        zone: str | None = None,
        restriction: Payload | None = None,
        default: bool = False,
    ) -> Payload:
        rule: Payload = {
            "id": self.new_id(),
            "name": name,
            "isDefault": default,
            "order": 0,
            "criteria": rule_criteria,
        }
        if zone is not None:
            rule["timezone"] = zone
        if restriction is not None:
            rule["timeRestriction"] = restriction
        rule["notify"] = notify
        return rule

    def routing_rules(self) -> None:
        rng = self.rng
        for k, team in enumerate(self.teams):
            escalation, schedule = self.escalation_for(team), self.schedule_for(team)
            other = self.account.escalations[-1]
            rules: list[Payload] = []
            if k == 0:
                rules = [
                    self.routing_rule(
                        "P1 in production",
                        criteria(
                            "match-all-conditions",
                            condition("priority", "equals", "P1"),
                            condition("extra-properties", "equals", "prod", key="env"),
                        ),
                        self.notify(escalation, "escalation"),
                        zone="Europe/Berlin",
                    ),
                    self.routing_rule(
                        "After hours",
                        dict(MATCH_ALL),
                        self.notify(schedule, "schedule"),
                        zone="America/New_York",
                        restriction=weekday_windows(
                            ("friday", 18, 0, "monday", 9, 0),
                            ("wednesday", 18, 30, "thursday", 9, 0),
                        ),
                    ),
                    self.routing_rule(
                        "Noise",
                        criteria(
                            "match-any-condition",
                            condition("tags", "contains", "noise"),
                            condition("message", "starts-with", "[test]"),
                        ),
                        self.notify(None, "none"),
                    ),
                    self.routing_rule(
                        "Datadog nights",
                        criteria(
                            "match-all-conditions",
                            condition("source", "equals", "datadog"),
                            condition("priority", "equals", "P5", negate=True),
                        ),
                        self.notify(other, "escalation"),
                        restriction=time_of_day((19, 0), (7, 0)),  # the account's zone
                    ),
                ]
            elif k == 1:
                rules = [
                    self.routing_rule(
                        "Database hours",
                        criteria(
                            "match-all-conditions", condition("message", "contains", "database")
                        ),
                        self.notify(schedule, "schedule"),
                        zone="Asia/Kolkata",
                        restriction=time_of_day((9, 0), (17, 30)),
                    )
                ]
            elif rng.random() < 0.5:
                for _ in range(rng.randint(1, 2)):
                    tag = rng.choice(["database", "network", "payments", "noise"])
                    target = rng.choice(["escalation", "schedule", "none"])
                    rules.append(
                        self.routing_rule(
                            f"Tagged {tag}",
                            tagged(tag),
                            self.notify(escalation if target == "escalation" else schedule, target),
                            zone=rng.choice([None, "Europe/London", "America/Los_Angeles"]),
                            restriction=rng.choice(
                                [None, time_of_day((8, 0), (20, 0)), time_of_day((20, 0), (8, 0))]
                            ),
                        )
                    )
            owned = self.owned_escalations.get(team["id"], [])
            default_target = self.notify(escalation, "escalation") if owned else {"type": "none"}
            rules.append(
                self.routing_rule("Default Rule", dict(MATCH_ALL), default_target, default=True)
            )
            for order, rule in enumerate(rules):
                rule["order"] = order
            self.account.routing_rules[team["id"]] = rules

    # -- forwarding rules --------------------------------------------------------------------------

    def forwarding_rule(
        self, alias: str, source: Payload, target: Payload, start: datetime, end: datetime
    ) -> Payload:
        return {
            "id": self.new_id(),
            "alias": alias,
            "fromUser": user_ref(source),
            "toUser": user_ref(target),
            "startDate": iso(start),
            "endDate": iso(end),
        }

    def forwarding_rules(self) -> None:
        """The hard cases forward from distinct people (on-call ones first), so no person has two
        rules that overlap; the random ones skip people who already forward."""
        rng, now, users, day = self.rng, self.now, self.users, timedelta(days=1)
        blocked = next((u for u in users if u["blocked"]), users[-1])
        pool = list(
            {u["id"]: u for u in [*self.on_call_users, *users] if u is not blocked}.values()
        )
        sources = iter(pool * 2)  # a tiny account reuses people rather than fail

        eligible = [u for u in users if not u["blocked"]]

        def target_for(source: Payload, n: int) -> Payload:
            target = eligible[n % len(eligible)]
            return target if target["id"] != source["id"] else eligible[(n + 1) % len(eligible)]

        first, second = next(sources), next(sources)
        rules = [
            self.forwarding_rule("vacation-now", first, second, now - day, now + 2 * day),
            # A chain: the first rule's target forwards too, for part of the same window.
            self.forwarding_rule("chain-link", second, target_for(second, 7), now, now + day),
        ]
        expired, future = next(sources), next(sources)
        rules += [
            self.forwarding_rule(
                "expired-trip", expired, target_for(expired, 5), now - 30 * day, now - 20 * day
            ),
            self.forwarding_rule(
                "future-leave", future, target_for(future, 6), now + 10 * day, now + 17 * day
            ),
        ]
        for n, zone_id in enumerate(["America/New_York", "Europe/Berlin"]):
            change = dst_change_after(resolve_zone(zone_id), now - day)
            if change is not None:
                source = next(sources)
                rules.append(
                    self.forwarding_rule(
                        f"across-dst-{zone_id.split('/')[-1].lower()}",
                        source,
                        target_for(source, 10 + n),
                        change - 2 * day,
                        change + 3 * day,
                    )
                )
        departed = {"id": self.new_id(), "username": "departed.engineer@example.com"}
        rules.append(
            self.forwarding_rule("to-departed", next(sources), departed, now - day, now + day)
        )
        rules.append(self.forwarding_rule("to-blocked", next(sources), blocked, now, now + 5 * day))
        forwarding = {r["fromUser"]["id"] for r in rules}
        for n, user in enumerate(users):
            if n >= 12 and rng.random() < 0.03 and user["id"] not in forwarding:
                start = now + timedelta(days=rng.randint(-20, 60), hours=rng.randint(0, 23))
                length = timedelta(days=rng.randint(1, 14))
                target = target_for(user, rng.randrange(len(users)))
                rules.append(self.forwarding_rule(f"away-{n}", user, target, start, start + length))
        self.account.forwarding_rules = rules
