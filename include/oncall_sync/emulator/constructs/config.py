"""Constructs about the account's configuration: integrations (every type, advanced ones with
actions, secrets in their payloads), heartbeats, alert and notification policies (global and per
team), maintenance windows (past, active, planned, cancelled, indefinite), custom and team roles,
service incident rules, incident and audience templates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from oncall_sync.emulator.account import Payload, iso
from oncall_sync.emulator.constructs.base import (
    MATCH_ALL,
    TEAM_RIGHTS,
    USER_RIGHTS,
    ConstructsBase,
    condition,
    criteria,
    minutes,
    priority_is,
    ref,
    tagged,
    time_of_day,
    weekday_windows,
)


class ConfigConstructs(ConstructsBase):
    """Integrations, heartbeats, policies, maintenance, roles and service constructs."""

    # -- integrations and their actions ------------------------------------------------------------

    def integration(
        self, name: str, kind: str, owner: Payload | None, *, enabled: bool = True
    ) -> Payload:
        result: Payload = {"id": self.new_id(), "name": name, "type": kind, "enabled": enabled}
        if owner is not None:
            result["ownerTeam"] = ref(owner)
        result["isGlobal"] = owner is None
        result["_readOnly"] = ["type"]
        return result

    def incoming(
        self,
        integration: Payload,
        responders: list[Payload],
        *,
        advanced: bool = False,
        suppress: bool = False,
        priority: str = "{{priority}}",
        ignore_responders: bool = False,
        tags: list[str] | None = None,
        email: bool = False,
    ) -> Payload:
        integration.update(
            {
                "suppressNotifications": suppress,
                "ignoreTeamsFromPayload": False,
                "ignoreRecipientsFromPayload": False,
                "ignoreRespondersFromPayload": ignore_responders,
                "ignoreTagsFromPayload": False,
                "ignoreExtraPropertiesFromPayload": False,
                "recipients": [dict(r) for r in responders],
                "responders": responders,
                "isAdvanced": advanced,
                "priority": priority,
                "customPriority": "",
                "tags": tags or [],
                "extraProperties": {},
            }
        )
        if "ownerTeam" in integration:
            integration["assignedTeam"] = dict(integration["ownerTeam"])
        if email:
            username = f"{integration['name'].lower().replace(' ', '-')}-{self.secret_word('mail')}"
            integration.update(
                {
                    "feature-type": "email-based",
                    "emailUsername": username,
                    "emailAddress": f"{username}@{self.account.name}.opsgenie.net",
                }
            )
            integration["_readOnly"].append("emailAddress")
        else:
            integration.update(
                {
                    "feature-type": "token-based",
                    "allowConfigurationAccess": integration["type"] == "API",
                    "allowReadAccess": True,
                    "allowWriteAccess": True,
                    "allowDeleteAccess": integration["type"] != "API",
                    "apiKey": self.api_key(),
                }
            )
            integration["_readOnly"].append("apiKey")
        return integration

    def outgoing(self, integration: Payload, callback: str, **credentials: Any) -> Payload:
        integration.update(
            {
                "alertFilter": {
                    "conditionMatchType": "match-any-condition",
                    "conditions": [condition("priority", "equals", "P1")],
                },
                "forwardingEnabled": True,
                "forwardingActionMappings": [{"action": "create", "customerAction": "open"}],
                "updatesEnabled": False,
                "updatesActionMappings": [],
                "alertActions": [],
                "sendAlertActions": True,
                "callback-type": callback,
                **credentials,
            }
        )
        return integration

    def webhook_url(self) -> str:
        return f"https://hooks.example.com/oncall/{self.hex(8)}?token={self.secret_word('token')}"

    def integrations(self) -> None:
        rng, teams = self.rng, self.teams
        t0, t1, t2 = self.team(0), self.team(1), self.team(2)
        default_api = self.incoming(self.integration("Default API", "API", None), [])
        default_api["isDefaultIntegration"] = True
        team_api = self.incoming(
            self.integration(f"{t0['name']} API", "API", t0),
            [self.responder(t0, "team")],
            advanced=True,
        )
        team_api["isDefaultIntegration"] = False
        datadog = self.incoming(
            self.integration("Datadog", "Datadog", None), [], advanced=True, tags=["datadog"]
        )
        mailbox = self.incoming(
            self.integration("Support mailbox", "Email", t1),
            [self.responder(t1, "team")],
            email=True,
        )
        webhook = self.outgoing(
            self.integration("Deploy hooks", "Webhook", t2),
            "webhook-callback",
            url=self.webhook_url(),
            headers={
                "Authorization": f"Bearer {self.secret_word('bearer')}",
                "X-Webhook-Token": self.secret_word("header"),
            },
            addAlertDetails=True,
            addAlertDescription=True,
        )
        sns = self.incoming(
            self.integration("AWS alarms", "AmazonSns", t2, enabled=False),
            [self.responder(self.schedule_for(t2), "schedule")],
        )
        jira = self.outgoing(
            self.incoming(
                self.integration("Jira Service Desk", "Jira", t1),
                [self.responder(self.on_call_users[0], "user")],
                suppress=True,
            ),
            "bidirectional-callback-new",
            url=f"https://{self.secret_word('jira')}.atlassian.example",
            jiraUsername="oncall-bot@example.com",
            jiraPassword=self.secret_word("password"),
            projectKey="OPS",
        )
        prometheus = self.incoming(
            self.integration("Prometheus", "Prometheus", None),
            [self.responder(self.escalation_for(t1), "escalation")],
            priority="P2",
            ignore_responders=True,
        )
        slack = self.integration("Slack", "Slack", t0)
        found = [default_api, team_api, datadog, mailbox, webhook, sns, jira, prometheus, slack]
        for k, team in enumerate(teams[3:], start=3):
            if rng.random() < 0.5:
                kind = rng.choice(["API", "Datadog", "Email", "Webhook"])
                name = f"{team['name']} {kind} {k}"
                if kind == "Webhook":
                    found.append(
                        self.outgoing(
                            self.integration(name, kind, team),
                            "webhook-callback",
                            url=self.webhook_url(),
                            headers={"X-Webhook-Token": self.secret_word("header")},
                            addAlertDetails=False,
                            addAlertDescription=True,
                        )
                    )
                    continue
                found.append(
                    self.incoming(
                        self.integration(name, kind, team, enabled=rng.random() > 0.1),
                        [self.responder(team, "team")],
                        advanced=kind != "Email" and rng.random() < 0.3,
                        email=kind == "Email",
                    )
                )
        self.account.integrations = found
        self.account.integration_actions = {
            i["id"]: self.actions(i, k) for k, i in enumerate(found) if i.get("isAdvanced")
        }

    def action(
        self, kind: str, name: str, order: int, action_filter: Payload, **extra: Any
    ) -> Payload:
        result: Payload = {"type": kind, "name": name, "order": order, "filter": action_filter}
        if kind == "create":
            result.update(
                source="{{source}}",
                message="{{message}}",
                description="{{description}}",
                entity="{{entity}}",
                priority=extra.pop("priority", "{{priority}}"),
                customPriority="",
                appendAttachments=True,
                alertActions=[],
                ignoreAlertActionsFromPayload=False,
                recipients=[dict(r) for r in extra.get("responders", [])],
                responders=extra.pop("responders", []),
                ignoreRecipientsFromPayload=False,
                ignoreTeamsFromPayload=False,
                ignoreRespondersFromPayload=extra.pop("ignore_responders", False),
                tags=extra.pop("tags", []),
                ignoreTagsFromPayload=False,
                extraProperties={},
                ignoreExtraPropertiesFromPayload=False,
                alias="{{alias}}",
            )
        elif kind != "ignore":
            result.update(user="Opsgenie", note="{{note}}", alias="{{alias}}")
        return result

    def actions(self, integration: Payload, k: int) -> Payload:
        """Five lists (reference 4.5). Create and ignore share one order sequence, so which of
        them comes first for a payload is never a tie."""
        parent = {
            "id": integration["id"],
            "name": integration["name"],
            "enabled": integration["enabled"],
            "type": integration["type"],
        }
        if "ownerTeam" in integration:
            parent["teamId"] = integration["ownerTeam"]["id"]
        everything = {"conditionMatchType": "match-all", "conditions": []}
        owner = self.teams[k % len(self.teams)]
        if "ownerTeam" in integration:
            owner = next(t for t in self.teams if t["id"] == integration["ownerTeam"]["id"])
        p1 = {
            "conditionMatchType": "match-all-conditions",
            "conditions": [condition("priority", "equals", "P1")],
        }
        heartbeat = {
            "conditionMatchType": "match-any-condition",
            "conditions": [
                condition("message", "starts-with", "[heartbeat]"),
                condition("tags", "contains", "ignore-me"),
            ],
        }
        create = [
            self.action(
                "create",
                "P1 to the escalation",
                0,
                p1,
                responders=[self.responder(self.escalation_for(owner), "escalation")],
                priority="P1",
                tags=["p1"],
                ignore_responders=True,
            )
        ]
        if integration["type"] == "Datadog":  # no catch-all: unmatched payloads create nothing
            critical = {
                "conditionMatchType": "match-all-conditions",
                "conditions": [condition("tags", "contains", "critical")],
            }
            create.append(
                self.action(
                    "create",
                    "Critical to the second team",
                    2,
                    critical,
                    responders=[self.responder(self.team(1), "team")],
                    priority="P2",
                )
            )
        else:
            create.append(
                self.action(
                    "create",
                    "Everything else",
                    2,
                    everything,
                    responders=[self.responder(owner, "team")],
                )
            )
        return {
            "_parent": parent,
            "create": create,
            "close": [self.action("close", "Close on resolve", 0, dict(heartbeat))],
            "acknowledge": [self.action("acknowledge", "Ack", 0, dict(everything))],
            "addNote": [self.action("addNote", "Note", 0, dict(everything))],
            "ignore": [self.action("ignore", "Drop heartbeats", 1, heartbeat)],
        }

    # -- heartbeats --------------------------------------------------------------------------------

    def heartbeat(
        self,
        name: str,
        interval: int,
        unit: str,
        *,
        enabled: bool,
        expired: bool,
        last_ping: datetime | None,
        owner: Payload | None,
    ) -> Payload:
        beat: Payload = {
            "name": name,
            "description": f"{name} checks in every {interval} {unit}",
            "interval": interval,
            "intervalUnit": unit,
            "enabled": enabled,
            "expired": expired,
        }
        if last_ping is not None:
            beat["lastPingTime"] = last_ping.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        if owner is not None:
            beat["ownerTeam"] = ref(owner)
        beat.update(alertMessage=f"{name} is expired", alertTags=["heartbeat"], alertPriority="P3")
        return beat

    def heartbeats(self) -> None:
        now, rng = self.now, self.rng
        beats = [
            self.heartbeat(
                "db-backup",
                1,
                "days",
                enabled=True,
                expired=False,
                last_ping=now - timedelta(hours=3),
                owner=self.team(0),
            ),
            self.heartbeat(
                "queue worker",  # a space: the name is the identifier in the path
                10,
                "minutes",
                enabled=True,
                expired=True,
                last_ping=now - timedelta(days=1),
                owner=None,
            ),
            self.heartbeat(
                "legacy-cron",
                2,
                "hours",
                enabled=False,
                expired=False,
                last_ping=None,
                owner=self.team(1),
            ),
        ]
        for k in range(len(self.teams) // 4):
            beats.append(
                self.heartbeat(
                    f"job-{k}",
                    rng.choice([5, 15, 60]),
                    "minutes",
                    enabled=rng.random() > 0.1,
                    expired=rng.random() < 0.1,
                    last_ping=now - timedelta(minutes=rng.randint(1, 600)),
                    owner=rng.choice([None, *self.teams]),
                )
            )
        self.account.heartbeats = beats

    # -- policies ----------------------------------------------------------------------------------

    def policy(
        self,
        name: str,
        kind: str,
        team: Payload | None,
        policy_filter: Payload,
        *,
        enabled: bool = True,
        restriction: Payload | None = None,
        **fields: Any,
    ) -> Payload:
        result: Payload = {
            "id": self.new_id(),
            "name": name,
            "type": kind,
            "policyDescription": f"{name} ({'team' if team else 'global'} {kind} policy)",
        }
        if team is not None:
            result["teamId"] = team["id"]
        result.update(enabled=enabled, filter=policy_filter)
        if restriction is not None:
            result["timeRestrictions"] = restriction
        if kind == "alert":
            result.update(
                message=fields.pop("message", "{{message}}"),
                alias="{{alias}}",
                description="{{description}}",
                entity="{{entity}}",
                source="{{source}}",
                priority=fields.pop("priority", "{{priority}}"),
                tags=fields.pop("tags", []),
                actions=[],
                details={},
                responders=fields.pop("responders", []),
                **{"continue": fields.pop("chain", False)},
                ignoreOriginalActions=False,
                ignoreOriginalDetails=False,
                ignoreOriginalResponders=fields.pop("replace_responders", False),
                ignoreOriginalTags=False,
                ignoreOriginalTeams=False,
            )
        else:
            result.update(
                suppress=fields.pop("suppress", False),
                **fields,
            )
        return result

    def policies(self) -> None:
        rng = self.rng
        t0, t1, t2 = self.team(0), self.team(1), self.team(2)
        weekend = weekday_windows(("saturday", 0, 0, "monday", 0, 0))
        self.account.global_policies = [
            self.policy(
                "Production to P1",
                "alert",
                None,
                tagged("prod"),
                priority="P1",
                tags=["prod-escalated"],
                chain=True,
            ),
            self.policy(
                "Weekend responders",
                "alert",
                None,
                dict(MATCH_ALL),
                restriction=weekend,
                responders=[self.responder(self.on_call_users[-1], "user")],
            ),
            self.policy(
                "Disabled relabel",
                "alert",
                None,
                dict(MATCH_ALL),
                enabled=False,
                message="[relabel] {{message}}",
            ),
            self.policy(
                "No-op at night",
                "alert",
                None,
                criteria("match-all-conditions", condition("message", "contains", "[noop]")),
                restriction=time_of_day((23, 0), (6, 0)),
                responders=[],
                replace_responders=True,
            ),
        ]
        teams: dict[str, list[Payload]] = {
            t0["id"]: [
                self.policy(
                    "Checkout tag",
                    "alert",
                    t0,
                    criteria("match-all-conditions", condition("message", "contains", "checkout")),
                    priority="P2",
                    tags=["checkout"],
                ),
                self.policy(
                    "Weekend quiet",
                    "notification",
                    t0,
                    priority_is("P5"),
                    restriction=weekday_windows(("saturday", 0, 0, "monday", 6, 0)),
                    suppress=True,
                ),
                self.policy(
                    "Hold until morning",
                    "notification",
                    t0,
                    criteria(
                        "match-any-condition",
                        condition("priority", "equals", "P4"),
                        condition("priority", "equals", "P5"),
                    ),
                    restriction=time_of_day((22, 0), (7, 0)),
                    delayAction={"delayOption": "next-time", "untilHour": 8, "untilMinute": 0},
                ),
            ]
        }
        teams.setdefault(t1["id"], []).extend(
            [
                self.policy(
                    "Delay flaky",
                    "notification",
                    t1,
                    tagged("flaky"),
                    delayAction={"delayOption": "for-duration", "duration": minutes(15)},
                ),
                self.policy(
                    "Restart P1",
                    "notification",
                    t1,
                    priority_is("P1"),
                    autoRestartAction={"duration": minutes(30), "maxRepeatCount": 2},
                ),
                self.policy(
                    "Close transient",
                    "notification",
                    t1,
                    tagged("transient"),
                    autoCloseAction={"duration": minutes(2, "hours")},
                ),
                self.policy(
                    "Deduplicate",
                    "notification",
                    t1,
                    dict(MATCH_ALL),
                    deduplicationAction={
                        "deduplicationActionType": "value-based",
                        "count": 5,
                        "duration": minutes(10),
                    },
                ),
            ]
        )
        teams.setdefault(t2["id"], []).extend(
            [
                self.policy(
                    "Next weekday",
                    "notification",
                    t2,
                    tagged("non-urgent"),
                    delayAction={"delayOption": "next-weekday", "untilHour": 9, "untilMinute": 0},
                ),
                self.policy(
                    "Weekly on Monday",
                    "notification",
                    t2,
                    tagged("weekly"),
                    delayAction={"delayOption": "next-monday", "untilHour": 9, "untilMinute": 30},
                ),
                self.policy(
                    "Switched off", "alert", t2, dict(MATCH_ALL), enabled=False, priority="P5"
                ),
            ]
        )
        for team in self.teams[3:]:
            if rng.random() < 0.3:
                tag = rng.choice(["flaky", "noise", "batch"])
                teams.setdefault(team["id"], []).append(
                    self.policy(
                        f"Delay {tag}",
                        "notification",
                        team,
                        tagged(tag),
                        delayAction={
                            "delayOption": "for-duration",
                            "duration": minutes(rng.choice([5, 30])),
                        },
                    )
                )
        self.account.team_policies = teams

    # -- maintenance -------------------------------------------------------------------------------

    def maintenance_window(
        self,
        description: str,
        status: str,
        kind: str,
        start: datetime,
        end: datetime | None,
        rules: list[Payload],
    ) -> Payload:
        time: Payload = {"type": kind, "startDate": iso(start)}
        if end is not None:
            time["endDate"] = iso(end)
        return {
            "id": self.new_id(),
            "status": status,
            "description": description,
            "time": time,
            "rules": rules,
        }

    @staticmethod
    def disable(integration: Payload) -> Payload:
        return {"state": "disabled", "entity": {"id": integration["id"], "type": "integration"}}

    @staticmethod
    def force(policy: Payload, state: str) -> Payload:
        return {"state": state, "entity": {"id": policy["id"], "type": "policy"}}

    def maintenance(self) -> None:
        now, rng, hour, day = self.now, self.rng, timedelta(hours=1), timedelta(days=1)
        by_name = {i["name"]: i for i in self.account.integrations}
        policies = {p["name"]: p for p in self.account.global_policies}
        policies.update({p["name"]: p for ps in self.account.team_policies.values() for p in ps})
        windows = [
            self.maintenance_window(
                "Datadog migration",
                "past",
                "schedule",
                now - 10 * day,
                now - 9 * day,
                [self.disable(by_name["Datadog"])],
            ),
            self.maintenance_window(
                "Prometheus upgrade",
                "active",
                "schedule",
                now - hour,
                now + day,
                [
                    self.disable(by_name["Prometheus"]),
                    self.force(policies["Production to P1"], "disabled"),
                    self.force(policies["Weekend quiet"], "enabled"),
                ],
            ),
            self.maintenance_window(
                "Team API freeze",
                "planned",
                "schedule",
                now + 7 * day,
                now + 7 * day + 4 * hour,
                [
                    self.disable(self.account.integrations[1]),
                    self.force(policies["Disabled relabel"], "enabled"),
                ],
            ),
            self.maintenance_window(
                "Cancelled freeze",
                "cancelled",
                "schedule",
                now + 2 * day,
                now + 3 * day,
                [self.disable(by_name["Default API"])],
            ),
            self.maintenance_window(
                "Jira off until further notice",
                "active",
                "indefinitely",
                now - 2 * day,
                None,
                [self.disable(by_name["Jira Service Desk"])],
            ),
            self.maintenance_window(
                "Quick fix",
                "past",
                "for-1-hour",
                now - 3 * day,
                now - 3 * day + hour,
                [self.force(policies["Checkout tag"], "disabled")],
            ),
        ]
        for k in range(len(self.teams) // 10):
            start = now + timedelta(days=rng.randint(-60, 60), hours=rng.randint(0, 23))
            end = start + timedelta(hours=rng.choice([1, 4, 12]))
            status = "past" if end <= now else ("active" if start <= now else "planned")
            target = rng.choice(self.account.integrations[:8])
            windows.append(
                self.maintenance_window(
                    f"Window {k}", status, "schedule", start, end, [self.disable(target)]
                )
            )
        self.account.maintenance = windows

    # -- roles -------------------------------------------------------------------------------------

    def roles(self) -> None:
        rng = self.rng
        custom = [
            (
                "Incident Commander",
                "user",
                ["alert-escalate", "alert-update-priority"],
                ["logs-page-access"],
            ),
            ("Read-only Auditor", "observer", ["logs-page-access", "reports-access"], []),
            ("Status Page Editor", "stakeholder", [], ["integration-edit"]),
        ]
        for k in range(len(self.teams) // 50):
            granted = rng.sample(USER_RIGHTS, 2)
            custom.append((f"Custom role {k}", "user", granted, []))
        self.account.custom_roles = [
            {
                "id": self.new_id(),
                "name": name,
                "extendedRole": extended,
                "grantedRights": granted,
                "disallowedRights": denied,
            }
            for name, extended, granted, denied in custom
        ]
        for k, team in enumerate(self.teams):
            if k == 0:
                names = ["Incident Lead", "Observer"]
            elif k == 1:
                names = []  # a team with no custom roles answers an empty list
            else:
                names = ["Rotation Manager"] if rng.random() < 0.3 else []
            self.account.team_roles[team["id"]] = [
                {
                    "id": self.new_id(),
                    "name": name,
                    "rights": [
                        {"right": right, "granted": (n + len(name)) % 2 == 0}
                        for n, right in enumerate(TEAM_RIGHTS)
                    ],
                }
                for name in names
            ]

    # -- services: incident rules, templates, audiences --------------------------------------------

    def incident_properties(self, message: str, priority: str, stakeholders: bool) -> Payload:
        return {
            "message": message,
            "description": f"{message}: opened by a service incident rule",
            "tags": ["incident"],
            "details": {"runbook": "https://runbooks.example.com/incident"},
            "priority": priority,
            "stakeholderProperties": {
                "enable": stakeholders,
                "message": f"We are looking into: {message}",
                "description": "Updates follow on the status page",
            },
        }

    def services(self) -> None:
        rng, users = self.rng, self.users
        for k, service in enumerate(self.account.services):
            sid = service["id"]
            if k == 0:
                rules = [
                    {
                        "conditionMatchType": "match-all-conditions",
                        "conditions": [condition("message", "contains", "outage")],
                        "properties": self.incident_properties("Outage", "P1", True),
                    },
                    {
                        "conditionMatchType": "match-any-condition",
                        "conditions": [
                            condition("tags", "contains", "degraded"),
                            condition("priority", "equals", "P2"),
                        ],
                        "properties": self.incident_properties("Degraded", "P3", False),
                    },
                ]
            elif k == 1:
                rules = []
            else:
                rules = [
                    {
                        "conditionMatchType": "match-all",
                        "conditions": [],
                        "properties": self.incident_properties(
                            "Incident", "P3", rng.random() < 0.5
                        ),
                    }
                    for _ in range(rng.randint(0, 2))
                ]
            self.account.incident_rules[sid] = [
                {
                    "id": self.new_id(),
                    "order": order,
                    "conditionMatchType": r["conditionMatchType"],
                    "conditions": r["conditions"],
                    "incidentProperties": r["properties"],
                }
                for order, r in enumerate(rules)
            ]
            templates = []
            if k == 0 or rng.random() < 0.3:
                templates.append(
                    {
                        "id": self.new_id(),
                        "name": f"{service['name']} incident",
                        "incidentProperties": self.incident_properties(
                            "Service incident", "P2", True
                        ),
                    }
                )
            self.account.service_incident_templates[sid] = templates
            owner = service["teamId"]
            if k == 1:  # an audience nobody filled in
                audience: Payload = {
                    "responder": {"teams": [], "individuals": []},
                    "stakeholder": {
                        "individuals": [],
                        "conditionMatchType": "match-any-condition",
                        "conditions": [],
                    },
                }
            else:
                audience = {
                    "responder": {
                        "teams": [owner],
                        "individuals": [u["id"] for u in rng.sample(users, 2)],
                    },
                    "stakeholder": {
                        "individuals": [rng.choice(users)["id"]],
                        "conditionMatchType": "match-all-conditions"
                        if k == 0
                        else "match-any-condition",
                        "conditions": [
                            {"matchField": "customProperty", "key": "region", "value": "emea"},
                            {"matchField": "country", "value": "US"},
                        ],
                    },
                }
            self.account.audience_templates[sid] = audience
        service_ids = [s["id"] for s in self.account.services]
        count = 3 + len(service_ids) // 5
        self.account.incident_templates = [
            {
                "id": self.new_id(),
                "name": f"Incident template {k}",
                "message": f"Incident {k}",
                "description": "Raised from a template",
                "tags": ["template"],
                "details": {"owner": "platform"},
                "priority": ["P1", "P2", "P3"][k % 3],
                "impactedServices": service_ids[:20]
                if k == 0
                else rng.sample(service_ids, min(2, len(service_ids))),
                "stakeholderProperties": {
                    "enable": k % 2 == 0,
                    "message": f"Incident {k}",
                    "description": "",
                },
            }
            for k in range(count)
        ]
