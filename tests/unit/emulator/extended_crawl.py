"""A complete read of the extended constructs with the fewest requests the API shapes allow
(reference opsgenie-api-extended.md 11.3), as a test's yardstick: what it fetched, by path."""

from __future__ import annotations

import math
from typing import Any

from oncall_sync.emulator.account import ExtractCounts

PAGE = 100


def extended_minimum(n: ExtractCounts, *, actions_for_every_integration: bool = False) -> int:
    """docs/emulator.md's request count for the extended constructs (user and service pages,
    which the base extract reads anyway, not included)."""
    actions = n.integrations if actions_for_every_integration else n.advanced_integrations
    return (
        n.users  # one notification-rule list per user
        + n.notification_rules  # one GET per rule (it carries the steps)
        + 1  # forwarding rules
        + 2 * n.teams  # routing rules and team roles, per team
        + 1  # global alert policies
        + 2 * n.teams  # alert and notification policies, per team
        + n.policies  # one GET per policy
        + 1  # custom roles
        + n.custom_roles  # one GET per role
        + 1  # integrations
        + n.integrations  # one GET per integration
        + actions  # the actions of the advanced ones (or of every one)
        + 1  # heartbeats
        + 1  # maintenance
        + n.maintenance  # one GET per window (the list has no rules)
        + 3 * n.services  # incident rules, incident templates, audience, per service
        + math.ceil(max(n.incident_templates, 1) / PAGE)  # account incident templates, paged
    )


def crawl(
    client: Any, user_ids: list[str], team_ids: list[str], service_ids: list[str]
) -> dict[str, Any]:
    """Every extended construct, read the cheapest way: each answer's `data` by request (a 4xx
    answer kept as its status). User, team and service ids come from the base extract."""
    found: dict[str, Any] = {}

    def get(path: str, **params: Any) -> Any:
        response = client.get(path, params=params)
        key = path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
        found[key] = response.json()["data"] if response.status_code < 300 else response.status_code
        return found[key]

    for user in user_ids:
        for rule in get(f"/v2/users/{user}/notification-rules"):
            get(f"/v2/users/{user}/notification-rules/{rule['id']}")
    get("/v2/forwarding-rules")
    for team in team_ids:
        get(f"/v2/teams/{team}/routing-rules")
        get(f"/v2/teams/{team}/roles")
    for policy in get("/v2/policies/alert"):
        get(f"/v2/policies/{policy['id']}")
    for team in team_ids:
        for kind in ("alert", "notification"):
            for policy in get(f"/v2/policies/{kind}", teamId=team):
                get(f"/v2/policies/{policy['id']}", teamId=team)
    for role in get("/v2/roles"):
        get(f"/v2/roles/{role['id']}")
    for meta in get("/v2/integrations"):
        full = get(f"/v2/integrations/{meta['id']}")
        if isinstance(full, dict) and full.get("isAdvanced"):
            get(f"/v2/integrations/{meta['id']}/actions")
    get("/v2/heartbeats")
    for window in get("/v1/maintenance"):
        get(f"/v1/maintenance/{window['id']}")
    for service in service_ids:
        for part in ("incident-rules", "incident-templates", "audience-templates"):
            get(f"/v1/services/{service}/{part}")
    url = f"/v1/incident-templates?limit={PAGE}&offset=0"
    while url:  # follow paging.next, as the API's paging asks
        body = client.get(url).json()
        found[url] = body["data"]
        url = body["paging"].get("next", "")
    return found
