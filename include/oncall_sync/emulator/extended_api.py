"""The emulator's endpoints for the constructs of reference/opsgenie-api-extended.md: notification
rules and steps, routing, forwarding, integrations and actions, heartbeats, maintenance, policies,
roles, service incident rules and templates, audience templates, account incident templates.

Decisions (the reference leaves these open; docs/emulator.md lists them as assumptions):
- Team keys: team-owned constructs of another team answer 403/40301, as schedules do. Account-wide
  ones with no team (forwarding rules, maintenance, global alert policies, custom roles, account
  incident templates) answer a team key 403/40301, as team-less schedules do. User sub-resources
  (notification rules, a user's forwarding rules) stay open to team keys, as contacts are.
  Heartbeats and integrations list only the team's own; `teamId`/`teamName` on the integrations
  list are refused with 422 for a team key.
- An integration the API does not support (Slack, Zendesk, Incoming Call) is listed but its GET and
  actions answer 422. The actions of an integration that is not advanced answer 422.
- A team policy is found only with its `teamId`, a global one only without.
- `/v1/incident-templates` pages like the services list: `limit` 20 by default, at most 100.
- A heartbeat ping (GET, POST, PUT or PATCH) always answers 202 PONG, known name or not; a known
  heartbeat's `lastPingTime` moves to now and `expired` turns false, as the emulator serves it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oncall_sync.emulator.account import UNSUPPORTED_INTEGRATIONS, Payload
from oncall_sync.emulator.api import (
    ApiError,
    Call,
    Handler,
    Reply,
    identifier_type,
    int_param,
    not_authorized,
    owned,
)
from oncall_sync.emulator.ratelimit import CONFIGURATION, HEARTBEAT

if TYPE_CHECKING:
    from oncall_sync.emulator.app import EmulatorApp

MAINTENANCE_TYPES = {
    "all": None,
    "past": {"past", "cancelled"},
    "non-expired": {"active", "planned"},
}
PONG = "PONG - Heartbeat received"
Route = tuple[tuple[str, ...], str, Handler]


def _by(items: list[Payload], key: str) -> dict[str, Payload]:
    return {item[key]: item for item in items if key in item}


def _meta(item: Payload, *keys: str) -> Payload:
    return {k: item[k] for k in keys if k in item}


def _team_id(item: Payload) -> str | None:
    owner = item.get("ownerTeam") or {}
    return owner.get("id")


class ExtendedApi:
    """Handlers over the account's extended constructs; `routes()` joins the app's table."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        a = app.account
        self.account = a
        self.rules_by_user = a.notification_rules
        self.integrations_by_id = _by(a.integrations, "id")
        self.heartbeats_by_name = _by(a.heartbeats, "name")
        self.maintenance_by_id = _by(a.maintenance, "id")
        self.forwarding_by_id = _by(a.forwarding_rules, "id")
        self.forwarding_by_alias = _by(a.forwarding_rules, "alias")
        self.roles_by_id = _by(a.custom_roles, "id")
        self.roles_by_name = _by(a.custom_roles, "name")
        # The live part of heartbeats: pings received, by name.
        self.pings: dict[str, datetime] = {}

    def routes(self) -> list[Route]:
        user, team, service = ("v2", "users", "*"), ("v2", "teams", "*"), ("v1", "services", "*")
        rules = (*user, "notification-rules", "*")
        return [
            ((*user, "notification-rules"), CONFIGURATION, self.list_notification_rules),
            (rules, CONFIGURATION, self.get_notification_rule),
            ((*rules, "steps"), CONFIGURATION, self.list_steps),
            ((*rules, "steps", "*"), CONFIGURATION, self.get_step),
            ((*user, "forwarding-rules"), CONFIGURATION, self.user_forwarding_rules),
            ((*team, "routing-rules"), CONFIGURATION, self.list_routing_rules),
            ((*team, "routing-rules", "*"), CONFIGURATION, self.get_routing_rule),
            ((*team, "roles"), CONFIGURATION, self.list_team_roles),
            ((*team, "roles", "*"), CONFIGURATION, self.get_team_role),
            (("v2", "forwarding-rules"), CONFIGURATION, self.list_forwarding_rules),
            (("v2", "forwarding-rules", "*"), CONFIGURATION, self.get_forwarding_rule),
            (("v2", "integrations"), CONFIGURATION, self.list_integrations),
            (("v2", "integrations", "*"), CONFIGURATION, self.get_integration),
            (("v2", "integrations", "*", "actions"), CONFIGURATION, self.get_actions),
            (("v2", "heartbeats"), HEARTBEAT, self.list_heartbeats),
            (("v2", "heartbeats", "*"), HEARTBEAT, self.get_heartbeat),
            (("v2", "heartbeats", "*", "ping"), HEARTBEAT, self.ping),
            (("v1", "maintenance"), CONFIGURATION, self.list_maintenance),
            (("v1", "maintenance", "*"), CONFIGURATION, self.get_maintenance),
            (("v2", "policies", "alert"), CONFIGURATION, self.list_alert_policies),
            (("v2", "policies", "notification"), CONFIGURATION, self.list_notification_policies),
            (("v2", "policies", "*"), CONFIGURATION, self.get_policy),
            (("v2", "roles"), CONFIGURATION, self.list_roles),
            (("v2", "roles", "*"), CONFIGURATION, self.get_role),
            ((*service, "incident-rules"), CONFIGURATION, self.list_incident_rules),
            ((*service, "incident-templates"), CONFIGURATION, self.list_service_templates),
            ((*service, "audience-templates"), CONFIGURATION, self.get_audience_template),
            (("v1", "incident-templates"), CONFIGURATION, self.list_incident_templates),
        ]

    # -- users: notification rules, steps, forwarding ----------------------------------------------

    def _rules(self, call: Call) -> tuple[Payload, list[Payload]]:
        user = self.app._user(call)
        return user, self.rules_by_user.get(user["id"], [])

    def _rule(self, call: Call) -> Payload:
        _, rules = self._rules(call)
        rule = next((r for r in rules if r["id"] == call.params[1]), None)
        if rule is None:
            raise ApiError(404, f"No notification rule exists with id [{call.params[1]}]")
        return rule

    def list_notification_rules(self, call: Call) -> Reply:
        _, rules = self._rules(call)
        return Reply([_meta(r, "id", "name", "actionType", "order", "enabled") for r in rules])

    def get_notification_rule(self, call: Call) -> Reply:
        return Reply(self._rule(call))

    def list_steps(self, call: Call) -> Reply:
        return Reply(self._rule(call)["steps"])

    def get_step(self, call: Call) -> Reply:
        step = next((s for s in self._rule(call)["steps"] if s["id"] == call.params[2]), None)
        if step is None:
            raise ApiError(404, f"No notification rule step exists with id [{call.params[2]}]")
        return Reply(step)

    def user_forwarding_rules(self, call: Call) -> Reply:
        user = self.app._user(call)
        return Reply(
            [r for r in self.account.forwarding_rules if r["fromUser"].get("id") == user["id"]]
        )

    # -- teams: routing rules, team roles ----------------------------------------------------------

    def _team(self, call: Call) -> Payload:
        ident = call.params[0]
        by = identifier_type(call, "teamIdentifierType")
        team = (self.app.teams_by_id if by == "id" else self.app.teams_by_name).get(ident)
        if team is None:
            if call.key.team_id is not None:
                raise not_authorized("team")
            raise ApiError(404, f"No team exists with {by} [{ident}]")
        if not owned(call, team["id"]):
            raise not_authorized("team")
        return team

    def list_routing_rules(self, call: Call) -> Reply:
        return Reply(self.account.routing_rules.get(self._team(call)["id"], []))

    def get_routing_rule(self, call: Call) -> Reply:
        rules = self.account.routing_rules.get(self._team(call)["id"], [])
        rule = next((r for r in rules if r["id"] == call.params[1]), None)
        if rule is None:
            raise ApiError(404, f"No routing rule exists with id [{call.params[1]}]")
        return Reply(rule)

    def list_team_roles(self, call: Call) -> Reply:
        return Reply(self.account.team_roles.get(self._team(call)["id"], []))

    def get_team_role(self, call: Call) -> Reply:
        roles = self.account.team_roles.get(self._team(call)["id"], [])
        by = identifier_type(call, "identifierType")
        role = next((r for r in roles if r[by] == call.params[1]), None)
        if role is None:
            raise ApiError(404, f"No team role exists with {by} [{call.params[1]}]")
        return Reply(role)

    # -- forwarding rules --------------------------------------------------------------------------

    @staticmethod
    def _account_wide(call: Call, entity: str) -> None:
        """Constructs that belong to no team are out of a team key's reach."""
        if call.key.team_id is not None:
            raise not_authorized(entity)

    def list_forwarding_rules(self, call: Call) -> Reply:
        self._account_wide(call, "forwarding rule")
        return Reply(self.account.forwarding_rules)

    def get_forwarding_rule(self, call: Call) -> Reply:
        self._account_wide(call, "forwarding rule")
        by = identifier_type(call, "identifierType", allowed=("id", "alias"))
        found = self.forwarding_by_id if by == "id" else self.forwarding_by_alias
        rule = found.get(call.params[0])
        if rule is None:
            raise ApiError(404, f"No forwarding rule exists with {by} [{call.params[0]}]")
        return Reply(rule)

    # -- integrations ------------------------------------------------------------------------------

    def list_integrations(self, call: Call) -> Reply:
        q = call.query
        if call.key.team_id is not None and ("teamId" in q or "teamName" in q):
            raise ApiError(422, "teamId and teamName can not be used with a team API key")
        team_id = q.get("teamId")
        if "teamName" in q:
            team = self.app.teams_by_name.get(q["teamName"])
            team_id = team["id"] if team else f"unknown team {q['teamName']}"
        found = []
        for i in self.account.integrations:
            owner = _team_id(i)
            if not owned(call, owner) or (team_id is not None and owner != team_id):
                continue
            if "type" in q and i["type"].casefold() != q["type"].casefold():
                continue
            meta = _meta(i, "id", "name", "enabled", "type")
            if owner is not None:
                meta["teamId"] = owner
            found.append(meta)
        return Reply(found)

    def _integration(self, call: Call) -> Payload:
        integration = self.integrations_by_id.get(call.params[0])
        if integration is None:
            raise ApiError(404, f"No integration exists with id [{call.params[0]}]")
        if not owned(call, _team_id(integration)):
            raise not_authorized("integration")
        if integration["type"] in UNSUPPORTED_INTEGRATIONS:
            raise ApiError(
                422, f"Integration type [{integration['type']}] is not supported by the API"
            )
        return integration

    def get_integration(self, call: Call) -> Reply:
        return Reply(self._integration(call))

    def get_actions(self, call: Call) -> Reply:
        integration = self._integration(call)
        actions = self.account.integration_actions.get(integration["id"])
        if actions is None:
            raise ApiError(
                422, f"Integration [{integration['name']}] is not an advanced integration"
            )
        return Reply(actions)

    # -- heartbeats --------------------------------------------------------------------------------

    def _live(self, beat: Payload) -> Payload:
        pinged = self.pings.get(beat["name"])
        if pinged is None:
            return beat
        stamp = pinged.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return {**beat, "expired": False, "lastPingTime": stamp}

    def list_heartbeats(self, call: Call) -> Reply:
        beats = [self._live(b) for b in self.account.heartbeats if owned(call, _team_id(b))]
        return Reply({"heartbeats": beats})

    def get_heartbeat(self, call: Call) -> Reply:
        beat = self.heartbeats_by_name.get(call.params[0])
        if beat is None:
            raise ApiError(404, f"No heartbeat exists with name [{call.params[0]}]")
        if not owned(call, _team_id(beat)):
            raise not_authorized("heartbeat")
        return Reply(self._live(beat))

    def ping(self, call: Call) -> Reply:
        if call.params[0] in self.heartbeats_by_name:
            self.pings[call.params[0]] = self.app.now()
        return Reply(result=PONG, status=202)

    # -- maintenance -------------------------------------------------------------------------------

    def list_maintenance(self, call: Call) -> Reply:
        self._account_wide(call, "maintenance")
        kind = call.query.get("type", "all")
        if kind not in MAINTENANCE_TYPES:
            raise ApiError(422, f"Invalid type [{kind}]: must be one of [all, past, non-expired]")
        statuses = MAINTENANCE_TYPES[kind]
        return Reply(
            [
                _meta(m, "id", "status", "description", "time")
                for m in self.account.maintenance
                if statuses is None or m["status"] in statuses
            ]
        )

    def get_maintenance(self, call: Call) -> Reply:
        self._account_wide(call, "maintenance")
        window = self.maintenance_by_id.get(call.params[0])
        if window is None:
            raise ApiError(404, f"No maintenance exists with id [{call.params[0]}]")
        return Reply(window)

    # -- policies ----------------------------------------------------------------------------------

    def _policies(self, call: Call, *, required: bool = False) -> list[Payload]:
        """The policies of the scope `teamId` names: a team's, or the global ones."""
        team_id = call.query.get("teamId")
        if not team_id:
            if required:
                raise ApiError(422, "teamId is required for notification policies")
            self._account_wide(call, "policy")
            return self.account.global_policies
        if team_id not in self.app.teams_by_id:
            if call.key.team_id is not None:
                raise not_authorized("policy")
            raise ApiError(404, f"No team exists with id [{team_id}]")
        if not owned(call, team_id):
            raise not_authorized("policy")
        return self.account.team_policies.get(team_id, [])

    @staticmethod
    def _policy_list(policies: list[Payload], kind: str) -> Reply:
        of_kind = [p for p in policies if p["type"] == kind]
        return Reply(
            [
                {**_meta(p, "id", "name", "type"), "order": order, "enabled": p["enabled"]}
                for order, p in enumerate(of_kind)
            ]
        )

    def list_alert_policies(self, call: Call) -> Reply:
        return self._policy_list(self._policies(call), "alert")

    def list_notification_policies(self, call: Call) -> Reply:
        return self._policy_list(self._policies(call, required=True), "notification")

    def get_policy(self, call: Call) -> Reply:
        policy = next((p for p in self._policies(call) if p["id"] == call.params[0]), None)
        if policy is None:
            raise ApiError(404, f"No policy exists with id [{call.params[0]}]")
        return Reply(policy)

    # -- custom roles ------------------------------------------------------------------------------

    def list_roles(self, call: Call) -> Reply:
        self._account_wide(call, "role")
        return Reply([_meta(r, "id", "name") for r in self.account.custom_roles])

    def get_role(self, call: Call) -> Reply:
        self._account_wide(call, "role")
        by = identifier_type(call, "identifierType")
        role = (self.roles_by_id if by == "id" else self.roles_by_name).get(call.params[0])
        if role is None:
            raise ApiError(404, f"No custom role exists with {by} [{call.params[0]}]")
        return Reply(role)

    # -- services: incident rules, templates, audiences --------------------------------------------

    def _service_part(self, call: Call, part: Callable[[str], Any]) -> Reply:
        service = self.app.get_service(call).data  # 404 and 403 as the service itself
        return Reply(part(service["id"]))

    def list_incident_rules(self, call: Call) -> Reply:
        return self._service_part(call, lambda sid: self.account.incident_rules.get(sid, []))

    def list_service_templates(self, call: Call) -> Reply:
        templates = self.account.service_incident_templates
        return self._service_part(call, lambda sid: templates.get(sid, []))

    def get_audience_template(self, call: Call) -> Reply:
        audiences = self.account.audience_templates
        empty: Payload = {
            "responder": {"teams": [], "individuals": []},
            "stakeholder": {"individuals": []},
        }
        return self._service_part(call, lambda sid: audiences.get(sid, empty))

    def list_incident_templates(self, call: Call) -> Reply:
        self._account_wide(call, "incident template")
        q = call.query
        limit = min(int_param(q, "limit", 20, minimum=1), 100)
        offset = int_param(q, "offset", 0, minimum=0)
        order = q.get("order", "asc").lower()
        if order not in ("asc", "desc"):
            raise ApiError(422, f"Invalid order [{order}]: must be one of [asc, desc]")
        templates = self.account.incident_templates
        if order == "desc":
            templates = templates[::-1]
        total = len(templates)

        def link(at: int) -> str:
            return f"{call.base_url}/v1/incident-templates?limit={limit}&offset={at}&order={order}"

        paging = {"first": link(0)}
        if offset + limit < total:
            paging["next"] = link(offset + limit)
        if offset > 0:
            paging["prev"] = link(max(0, offset - limit))
        paging["last"] = link(((total - 1) // limit) * limit if total else 0)
        page = templates[offset : offset + limit]
        return Reply({"incidentTemplates": page}, extra={"paging": paging})
