"""The pieces the PagerDuty generator builds accounts from: ids, users and contact methods,
teams, schedules and layers, policies, services and the rest of the inventory, each in the API's
own payload shape with its cross-references kept consistent (generator.py drives it).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from oncall_sync.emulator.generator import FIRST_NAMES, LAST_NAMES, TEAM_WORDS
from oncall_sync.emulator.pagerduty.account import SECRET_MARK, Account, Payload, reference
from oncall_sync.emulator.pagerduty.render import (
    DAY,
    WEEK,
    format_instant,
    resolve_zone,
    to_local,
    to_utc,
)

ACCOUNT_ZONE = "America/Los_Angeles"

ABILITIES = [
    "advanced_permissions",
    "manage_schedules",
    "on_call_handoff_notifications",
    "read_only_users",
    "service_support_hours",
    "teams",
    "urgencies",
]
TEAM_ROLES = ["manager", "responder", "observer"]
PLAIN_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Dublin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "Etc/UTC",
]
COLORS = ["green", "red", "purple", "teal", "orange", "brown", "cayenne", "turquoise"]
DOMAINS = ["example.com", "corp.example.org", "acme.test"]
TURNS = [DAY, WEEK, WEEK, 2 * WEEK, 43_200, 28_800, 3 * DAY]
HANDOFF_HOURS = [0, 8, 9, 10, 17, 20]
INTEGRATION_TYPES = [
    "events_api_v2_inbound_integration",
    "generic_email_inbound_integration",
    "generic_events_api_inbound_integration",
    "nagios_inbound_integration",
    "aws_cloudwatch_inbound_integration",
]
SERVICE_STATUSES = ["active", "active", "active", "warning", "critical", "maintenance", "disabled"]


class Builder:
    """Seeded randomness, ids and cross-references while one account is built."""

    def __init__(self, seed: int, now: datetime, counts: tuple[int, ...], region: str) -> None:
        self.rng = random.Random(seed)
        self.now = now.astimezone(UTC)
        self.n_users, self.n_teams, self.n_schedules, self.n_policies, self.n_services = counts
        self.account = Account(
            subdomain=f"acme-oncall-{seed}",
            region="eu" if region == "eu" else "us",
            now=self.now,
            time_zone=ACCOUNT_ZONE,
            abilities=list(ABILITIES),
        )
        self._ids: set[str] = set()
        self.users_by_id: dict[str, Payload] = {}
        self.teams_by_id: dict[str, Payload] = {}
        self.schedules_by_id: dict[str, Payload] = {}
        self.schedules_by_team: dict[str, list[Payload]] = {}

    # -- identity ------------------------------------------------------------------------------

    def new_id(self) -> str:
        """A PagerDuty-style id: P and six upper-case letters or digits, unique in the account."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        while True:
            ident = "P" + "".join(self.rng.choices(alphabet, k=6))
            if ident not in self._ids:
                self._ids.add(ident)
                return ident

    def secret(self, length: int = 24) -> str:
        return SECRET_MARK + "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def api(self, path: str) -> str:
        return f"{self.account.api_host}/{path}"

    def web(self, path: str) -> str:
        return f"{self.account.web_host}/{path}"

    def entity(
        self, kind: str, path: str, summary: str, *, web_path: str | None = "", **fields: Any
    ) -> Payload:
        """A new object's leading fields: id, type, summary, self, html_url (at `web_path`, the
        API `path` by default; None: null), then `fields`. `path` ends where the id goes."""
        ident = self.new_id()
        web = None if web_path is None else self.web(f"{web_path or path}{ident}")
        return {
            "id": ident,
            "type": kind,
            "summary": summary,
            "self": self.api(f"{path}{ident}"),
            "html_url": web,
            **fields,
        }

    def stamp(self, moment: datetime) -> str:
        return format_instant(moment, resolve_zone(ACCOUNT_ZONE))

    # -- users, contact methods, notification rules --------------------------------------------

    def user(
        self,
        index: int,
        *,
        role: str,
        time_zone: str | None,
        name: str | None = None,
        email: str | None = None,
    ) -> Payload:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = name or f"{first} {last}"
        if email is None:
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            local = local.encode("ascii", "ignore").decode() or "user"
            email = f"{local}{index}@{DOMAINS[index % len(DOMAINS)]}"
        user = self.entity("user", "users/", name, name=name, email=email)
        uid = user["id"]
        user.update(
            {
                "time_zone": time_zone,
                "color": rng.choice(COLORS),
                "avatar_url": f"https://secure.gravatar.com/avatar/{uid.lower()}.png?d=mm&r=PG",
                "description": "" if index % 3 else f"On-call engineer {index}",
                "job_title": "" if index % 4 else rng.choice(["SRE", "Engineer", "Manager"]),
                "role": role,
                "invitation_sent": index % 9 == 5,
                "created_via_sso": index % 5 == 0,
                "teams": [],
                "contact_methods": [],
                "notification_rules": [],
            }
        )
        self.account.users.append(user)
        self.users_by_id[uid] = user
        self.account.calendar_urls[uid] = self.calendar(f"users/{uid}")
        return user

    def calendar(self, path: str) -> Payload:
        token = self.secret()
        return {
            "http_cal_url": self.web(f"private/{token}/feed/{path}"),
            "web_cal_url": self.web(f"private/{token}/feed/{path}").replace("https:", "webcal:"),
        }

    def contact(self, user: Payload, kind: str, label: str, address: str, **extra: Any) -> Payload:
        contact = self.entity(
            f"{kind}_contact_method",
            f"users/{user['id']}/contact_methods/",
            label,
            web_path=None,
            label=label,
            address=address,
            **extra,
        )
        self.account.contact_methods.setdefault(user["id"], []).append(contact)
        user["contact_methods"].append(reference(contact))
        return contact

    def email(self, user: Payload, label: str = "Work", **extra: Any) -> Payload:
        fields = {"send_short_email": False, "enabled": True, **extra}
        return self.contact(user, "email", label, user["email"], **fields)

    def phone(self, user: Payload, kind: str, label: str, **extra: Any) -> Payload:
        rng = self.rng
        if rng.random() < 0.2:
            country, number = 44, "7400" + "".join(str(rng.randint(0, 9)) for _ in range(6))
        else:
            country, number = 1, f"{rng.choice((202, 415, 512, 617))}55501{rng.randint(0, 99):02d}"
        fields = {"country_code": country, "enabled": True, "blacklisted": False, **extra}
        return self.contact(user, kind, label, number, **fields)

    def push(self, user: Payload) -> Payload:
        created = self.stamp(self.now - timedelta(days=self.rng.randint(10, 500)))
        fields = {
            "device_type": self.rng.choice(["ios", "android"]),
            "sounds": [{"type": "alert_high_urgency", "file": "default"}],
            "created_at": created,
            "blacklisted": False,
        }
        return self.contact(user, "push_notification", "iPhone", "a1b2c3d4e5f6", **fields)

    def rule(self, user: Payload, contact: Payload, delay: int, urgency: str) -> Payload:
        rule = self.entity(
            "assignment_notification_rule",
            f"users/{user['id']}/notification_rules/",
            f"{delay} minutes: channel {contact['id']}",
            web_path=None,
            start_delay_in_minutes=delay,
            created_at=self.stamp(self.now - timedelta(days=self.rng.randint(1, 300))),
            contact_method=reference(contact),
            urgency=urgency,
        )
        self.account.notification_rules.setdefault(user["id"], []).append(rule)
        user["notification_rules"].append(reference(rule))
        return rule

    def handoff_rule(
        self, user: Payload, contact: Payload, handoff_type: str, minutes: int
    ) -> Payload:
        rule: Payload = {
            "id": self.new_id(),
            "type": "oncall_handoff_notification_rule",
            "handoff_type": handoff_type,
            "notify_advance_in_minutes": minutes,
            "contact_method": reference(contact),
        }
        self.account.handoff_rules.setdefault(user["id"], []).append(rule)
        return rule

    def ordinary_contacts(self, user: Payload) -> None:
        """One e-mail, maybe a phone or SMS; high-urgency rules on each, a low one on e-mail."""
        rng = self.rng
        email = self.email(user)
        self.rule(user, email, 0, "high")
        if rng.random() < 0.6:
            kind = rng.choice(["phone", "sms"])
            contact = self.phone(user, kind, "Mobile")
            self.rule(user, contact, rng.choice([0, 1, 3, 5]), "high")
        if rng.random() < 0.5:
            self.rule(user, email, rng.choice([0, 15]), "low")
        if rng.random() < 0.1:
            self.handoff_rule(user, email, "both", 60)

    # -- teams -----------------------------------------------------------------------------------

    def team(
        self, name: str, *, default_role: str = "manager", parent: Payload | None = None
    ) -> Payload:
        team = self.entity(
            "team",
            "teams/",
            name,
            name=name,
            description=f"{name} on-call" if len(self.account.teams) % 2 == 0 else None,
            default_role=default_role,
            parent=reference(parent) if parent is not None else None,
        )
        tid = team["id"]
        self.account.teams.append(team)
        self.account.members[tid] = []
        self.teams_by_id[tid] = team
        return team

    def join(self, team: Payload, user: Payload, role: str) -> None:
        """Make `user` a member of `team` with `role`, once."""
        members = self.account.members[team["id"]]
        if any(m["user"]["id"] == user["id"] for m in members):
            return
        members.append({"user": reference(user), "role": role})
        user["teams"].append(reference(team))

    def team_users(self, team: Payload | None, count: int) -> list[Payload]:
        pool = (
            [self.users_by_id[m["user"]["id"]] for m in self.account.members[team["id"]]]
            if team is not None
            else []
        )
        if len(pool) < count:
            pool = pool + self.rng.sample(self.account.users, min(len(self.account.users), count))
        picked = list(dict.fromkeys(u["id"] for u in self.rng.sample(pool, min(count, len(pool)))))
        return [self.users_by_id[i] for i in picked]

    # -- schedules -------------------------------------------------------------------------------

    def schedule(self, name: str, zone_name: str, teams: list[Payload]) -> Payload:
        schedule = self.entity(
            "schedule",
            "schedules/",
            name,
            name=name,
            description=None if len(self.account.schedules) % 3 else f"{name} rota",
            time_zone=zone_name,
            escalation_policies=[],
            users=[],
            teams=[reference(t) for t in teams],
            schedule_layers=[],
        )
        sid = schedule["id"]
        self.account.schedules.append(schedule)
        self.schedules_by_id[sid] = schedule
        for team in teams:
            self.schedules_by_team.setdefault(team["id"], []).append(schedule)
        self.account.calendar_urls[sid] = self.calendar(f"schedules/{sid}")
        return schedule

    def layer(
        self,
        schedule: Payload,
        name: str,
        *,
        users: list[Payload],
        turn: int,
        virtual_start: datetime,
        start: datetime,
        end: datetime | None = None,
        restrictions: list[Payload] | None = None,
    ) -> Payload:
        """Append a layer below the ones already added (layers are built highest first).

        Datetimes are naive wall times in the schedule's zone."""
        zone = resolve_zone(schedule["time_zone"])

        def instant(local: datetime) -> str:
            return format_instant(to_utc(local, zone), zone)

        layer: Payload = {
            "id": self.new_id(),
            "name": name,
            "start": instant(start),
            "end": instant(end) if end is not None else None,
            "rotation_virtual_start": instant(virtual_start),
            "rotation_turn_length_seconds": turn,
            "users": [{"user": reference(u)} for u in users],
            "restrictions": restrictions or [],
        }
        schedule["schedule_layers"].append(layer)
        seen = {u["id"] for u in schedule["users"]}
        for user in users:
            if user["id"] not in seen and user["id"] in self.users_by_id:
                schedule["users"].append(reference(user))
                seen.add(user["id"])
        return layer

    def override(self, schedule: Payload, user: Payload, start: datetime, end: datetime) -> Payload:
        """An override from `start` to `end` (UTC instants), written in the schedule's zone."""
        zone = resolve_zone(schedule["time_zone"])
        override: Payload = {
            "id": self.new_id(),
            "start": format_instant(start, zone),
            "end": format_instant(end, zone),
            "user": reference(user),
        }
        self.account.overrides.setdefault(schedule["id"], []).append(override)
        return override

    def local_now(self, zone_name: str) -> datetime:
        return to_local(self.now, resolve_zone(zone_name))

    def random_schedule(self, index: int, teams: list[Payload]) -> Payload:
        rng = self.rng
        team = rng.choice(teams) if teams and rng.random() < 0.85 else None
        zone = rng.choice(PLAIN_ZONES)
        label = team["name"] if team else "Global"
        schedule = self.schedule(f"{label} rota {index}", zone, [team] if team else [])
        local_now = self.local_now(zone)
        for level in range(rng.randint(1, 3), 0, -1):
            turn = rng.choice(TURNS)
            handoff = local_now.replace(
                hour=rng.choice(HANDOFF_HOURS), minute=rng.choice([0, 0, 30]), second=0
            )
            virtual_start = handoff - timedelta(days=rng.randint(1, 200))
            start = local_now - timedelta(days=rng.randint(1, 400))
            end: datetime | None = None
            fate = rng.random()
            if fate < 0.1:  # ended
                end = local_now - timedelta(days=rng.randint(1, 60))
                start = min(start, end - timedelta(days=7))
            elif fate < 0.2:  # bounded, still running
                end = local_now + timedelta(days=rng.randint(10, 120))
            elif fate < 0.25:  # starts later
                start = local_now + timedelta(days=rng.randint(1, 30))
            self.layer(
                schedule,
                f"Layer {level}",
                users=self.team_users(team, rng.randint(1, 5)),
                turn=turn,
                virtual_start=virtual_start,
                start=start,
                end=end,
                restrictions=self.random_restrictions() if level > 1 or fate > 0.7 else [],
            )
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 3)):
                start = self.now + timedelta(days=rng.randint(-14, 30), hours=rng.randint(0, 23))
                length = timedelta(hours=rng.choice([2, 8, 24, 72]))
                self.override(schedule, rng.choice(self.account.users), start, start + length)
        return schedule

    def random_restrictions(self) -> list[Payload]:
        choice = self.rng.randrange(5)
        if choice == 0:
            return [daily("09:00:00", 8 * 3600)]
        if choice == 1:
            return [daily("18:00:00", 15 * 3600)]  # wraps midnight
        if choice == 2:
            return [weekly(day, "09:00:00", 8 * 3600) for day in range(1, 6)]
        if choice == 3:
            return [weekly(5, "17:00:00", 64 * 3600)]  # the weekend, wrapping the week
        return [daily("00:00:00", 6 * 3600), daily("20:00:00", 4 * 3600)]  # touching windows

    # -- escalation policies ---------------------------------------------------------------------

    def policy(
        self,
        name: str,
        rules: list[tuple[int, list[Payload], str]],
        *,
        num_loops: int = 0,
        team: Payload | None = None,
        handoff_notifications: str = "if_has_services",
    ) -> Payload:
        """A policy; each rule is (delay in minutes, target references, assignment strategy)."""
        escalation_rules: list[Payload] = []
        for delay, targets, strategy in rules:
            rid = self.new_id()
            escalation_rules.append(
                {"id": rid, "escalation_delay_in_minutes": delay, "targets": targets}
            )
            self.account.assignment_strategies[rid] = strategy
        policy = self.entity(
            "escalation_policy",
            "escalation_policies/",
            name,
            name=name,
            description="" if len(self.account.escalation_policies) % 2 else f"{name}.",
            num_loops=num_loops,
            on_call_handoff_notifications=handoff_notifications,
            escalation_rules=escalation_rules,
            services=[],
            teams=[reference(team)] if team is not None else [],
        )
        pid = policy["id"]
        self.account.escalation_policies.append(policy)
        for rule in escalation_rules:
            for target in rule["targets"]:
                schedule = self.schedules_by_id.get(target.get("id", ""))
                if target.get("type") == "schedule_reference" and schedule is not None:
                    refs = schedule["escalation_policies"]
                    if all(r["id"] != pid for r in refs):
                        refs.append(reference(policy))
        return policy

    def random_policy(self, index: int, teams: list[Payload]) -> Payload:
        rng = self.rng
        team = rng.choice(teams) if teams and rng.random() < 0.8 else None
        owned = self.schedules_by_team.get(team["id"], []) if team else []
        rules = []
        for _ in range(rng.randint(1, 4)):
            targets: list[Payload] = []
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                if rng.random() < 0.6:
                    targets.append(reference(rng.choice(owned or self.account.schedules)))
                else:
                    targets.append(reference(rng.choice(self.account.users)))
            unique = list({t["id"]: t for t in targets}.values())
            strategy = (
                "round_robin" if len(unique) > 1 and rng.random() < 0.3 else "assign_to_everyone"
            )
            rules.append((rng.choice([1, 5, 5, 10, 15, 30, 60]), unique, strategy))
        label = team["name"] if team else "Global"
        return self.policy(
            f"{label} escalation {index}",
            rules,
            num_loops=rng.choice([0, 0, 1, 2, 3, 9]),
            team=team,
            handoff_notifications=rng.choice(["if_has_services", "if_has_services", "always"]),
        )

    # -- services and integrations ---------------------------------------------------------------

    def service(
        self,
        name: str,
        policy: Payload,
        *,
        status: str = "active",
        urgency_rule: Payload | None = None,
        support_hours: Payload | None = None,
        scheduled_actions: list[Payload] | None = None,
        auto_resolve_timeout: int | None = 14_400,
        legacy_key: bool = False,
    ) -> Payload:
        created = self.now - timedelta(days=self.rng.randint(30, 900))
        service = self.entity("service", "services/", name, web_path="service-directory/")
        vid = service["id"]
        service |= {
            "name": name,
            "description": None if len(self.account.services) % 2 else f"{name} service",
            "status": status,
            "auto_resolve_timeout": auto_resolve_timeout,
            "acknowledgement_timeout": 1800,
            "created_at": self.stamp(created),
            "last_incident_timestamp": self.stamp(created + timedelta(days=10)),
            "alert_creation": "create_alerts_and_incidents",
            "alert_grouping_parameters": {"type": None},
            "auto_pause_notifications_parameters": {"enabled": False, "timeout": None},
            "escalation_policy": reference(policy),
            "teams": [dict(t) for t in policy["teams"]],
            "integrations": [],
            "incident_urgency_rule": urgency_rule or {"type": "constant", "urgency": "high"},
            "support_hours": support_hours,
            "scheduled_actions": scheduled_actions or [],
            "addons": [],
            "response_play": None,
        }
        if legacy_key:
            service["service_key"] = self.secret(32)
        self.account.services.append(service)
        self.account.integrations[vid] = []
        policy["services"].append(reference(service))
        return service

    def integration(self, service: Payload, kind: str, name: str) -> Payload:
        integration = self.entity(
            kind,
            f"services/{service['id']}/integrations/",
            name,
            name=name,
            service=reference(service),
            created_at=service["created_at"],
            vendor=None,
        )
        if kind == "generic_email_inbound_integration":
            integration["integration_email"] = (
                f"{self.secret(16)}@{self.account.subdomain}.pagerduty.com"
            )
            integration["email_incident_creation"] = "on_new_email"
            integration["email_filter_mode"] = "all-email"
        else:
            integration["integration_key"] = self.secret(32)
        self.account.integrations[service["id"]].append(integration)
        service["integrations"].append(reference(integration))
        return integration

    def random_service(self, index: int) -> Payload:
        rng = self.rng
        policy = rng.choice(self.account.escalation_policies)
        service = self.service(
            f"{rng.choice(TEAM_WORDS)} service {index}",
            policy,
            status=rng.choice(SERVICE_STATUSES),
            urgency_rule={"type": "constant", "urgency": rng.choice(["high", "high", "low"])},
            auto_resolve_timeout=rng.choice([14_400, 14_400, None, 3600]),
            legacy_key=rng.random() < 0.05,
        )
        for _ in range(rng.choice([0, 1, 1, 2])):
            kind = rng.choice(INTEGRATION_TYPES)
            self.integration(
                service, kind, kind.replace("_inbound_integration", "").replace("_", " ")
            )
        return service

    # -- the rest of the inventory ---------------------------------------------------------------

    def extension(self, name: str, service: Payload, *, with_token: bool) -> Payload:
        extension = self.entity("extension", "extensions/", name, web_path=None)
        extension |= {
            "name": name,
            "endpoint_url": f"https://hooks.example.test/pagerduty/{self.secret()}",
            "extension_schema": {
                "id": "PJFWPEP",
                "type": "extension_schema_reference",
                "summary": "Generic V2 Webhook",
                "self": self.api("extension_schemas/PJFWPEP"),
                "html_url": None,
            },
            "extension_objects": [reference(service)],
            "config": {"referer": "oncall-sync emulator"},
            "temporarily_disabled": False,
        }
        if with_token:
            extension["config"]["token"] = self.secret()
        self.account.extensions.append(extension)
        return extension

    def webhook_subscription(self, description: str, target: Payload | None) -> Payload:
        wid = self.new_id()
        subscription: Payload = {
            "id": wid,
            "type": "webhook_subscription",
            "active": True,
            "delivery_method": {
                "id": self.new_id(),
                "type": "http_delivery_method",
                "url": f"https://hooks.example.test/v3/{self.secret()}",
                "custom_headers": [{"name": "X-Routing", "value": None}],  # values redacted
                "temporarily_disabled": False,
            },
            "description": description,
            "events": ["incident.triggered", "incident.acknowledged", "incident.resolved"],
            "filter": (
                {"type": "account_reference"}
                if target is None
                else {"id": target["id"], "type": f"{target['type']}_reference"}
            ),
        }
        self.account.webhook_subscriptions.append(subscription)
        return subscription

    def v3_schedule(self, name: str, zone_name: str, users: list[Payload]) -> Payload:
        start = self.local_now(zone_name).replace(hour=9, minute=0, second=0)
        schedule = self.entity("schedule_v3", "v3/schedules/", name, web_path="schedules/")
        schedule |= {
            "name": name,
            "description": "Shift-based schedule: not a layer schedule",
            "time_zone": zone_name,
            "rotations": [
                {
                    "id": self.new_id(),
                    "events": [
                        {
                            "id": self.new_id(),
                            "name": "Day shift",
                            "start_time": {"date_time": start.isoformat(), "time_zone": zone_name},
                            "end_time": {
                                "date_time": (start + timedelta(hours=8)).isoformat(),
                                "time_zone": zone_name,
                            },
                            "effective_since": format_instant(self.now, resolve_zone(zone_name)),
                            "effective_until": None,
                            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
                            "assignment_strategy": {
                                "type": "rotating_member_assignment_strategy",
                                "shifts_per_member": 1,
                                "members": [
                                    {"type": "user_member", "user_id": u["id"]} for u in users
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        self.account.v3_schedules.append(schedule)
        return schedule

    def deleted_user(self, name: str, email: str) -> Payload:
        user = self.entity("user", "users/", name, name=name, email=email)
        self.account.deleted_users.append(user)
        return user

    def deleted_schedule(self, name: str) -> Payload:
        schedule = self.entity("schedule", "schedules/", name, name=name)
        self.account.deleted_schedules.append(schedule)
        return schedule

    # -- the whole account -----------------------------------------------------------------------

    def random_fill(self) -> None:
        rng, a = self.rng, self.account
        for i in range(len(a.users), self.n_users):
            role = rng.choice(["user", "user", "user", "limited_user", "limited_user", "admin"])
            user = self.user(i, role=role, time_zone=rng.choice([*PLAIN_ZONES, None]))
            self.ordinary_contacts(user)
        first_random_team = len(a.teams)
        for i in range(first_random_team, self.n_teams):
            team = self.team(f"{rng.choice(TEAM_WORDS)} {rng.choice(TEAM_WORDS)} {i}")
            size = rng.randint(2, 15)
            if i in (first_random_team, first_random_team + 50):  # more than a page of members
                size = min(len(a.users), 120 + i)
            for user in rng.sample(a.users, min(size, len(a.users))):
                self.join(team, user, rng.choice(TEAM_ROLES))
        teams = a.teams
        for i in range(len(a.schedules), self.n_schedules):
            self.random_schedule(i, teams)
        for i in range(len(a.escalation_policies), self.n_policies):
            self.random_policy(i, teams)
        for i in range(len(a.services), self.n_services):
            self.random_service(i)
        for i in range(len(a.v3_schedules), max(1, self.n_schedules // 400)):
            self.v3_schedule(f"Shift-based {i}", rng.choice(PLAIN_ZONES), rng.sample(a.users, 2))

    def finish(self) -> Account:
        """Lists in the API's default order (by name, then id)."""
        a = self.account

        def by_name(items: list[Payload]) -> list[Payload]:
            return sorted(items, key=lambda o: (str(o.get("name", "")).casefold(), o["id"]))

        a.users = by_name(a.users)
        a.teams = by_name(a.teams)
        a.schedules = by_name(a.schedules)
        a.escalation_policies = by_name(a.escalation_policies)
        a.services = by_name(a.services)
        return a


def daily(start_time_of_day: str, duration_seconds: int) -> Payload:
    return {
        "type": "daily_restriction",
        "start_time_of_day": start_time_of_day,
        "duration_seconds": duration_seconds,
    }


def weekly(start_day_of_week: int, start_time_of_day: str, duration_seconds: int) -> Payload:
    return {
        "type": "weekly_restriction",
        "start_day_of_week": start_day_of_week,
        "start_time_of_day": start_time_of_day,
        "duration_seconds": duration_seconds,
    }
