"""The fewest requests a complete extract of a PagerDuty account needs, given the API's paging
and includes (reference §9), counted from the account itself. The connector's client is checked
against it. docs/emulator-pagerduty.md explains the formula.

Decisions:
- Every list is read with `limit=100`; a list costs at least one request even when empty.
- Users come with contact methods, notification rules and team references in one pass
  (`include[]`); handoff rules cost one request per user, and only when asked for.
- Teams and members (the only source of roles) need the `teams` ability; without it, neither is
  requested (the abilities call says so first).
- Schedules: one list pass with layers, in a zone Z the client picks before it knows the
  schedules (`list_zone`, UTC by default), also carrying the overrides sub-schedule for the
  override window. Restrictions come back in the list's zone, so a schedule with restrictions in
  another zone is read again, either alone (`GET /schedules/{id}`, in its own zone) or by one
  more list pass in its zone: per zone, the cheaper of the two. `list_zone=None` counts with the
  cheapest Z, which only a client that knows the zones beforehand (a re-sync) can pick. Zones
  count by `render.zone_identity`. Filtered list passes (`team_ids[]`, `query`) are not
  considered.
- Overrides: one unpaged request per schedule with an override meeting [since, until); the list
  pass's overrides sub-schedule shows which (the emulator renders it on lists).
- Escalation policies carry the assignment-strategy include; an account without the
  entitlement answers the first page 403, which costs one request before the re-read.
- The offset cap: a list over 10,000 items cannot be paged to its end; then `exact` is False and
  the count is a lower bound (the client must split the list with filters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime

from oncall_sync.emulator.pagerduty.account import Account
from oncall_sync.emulator.pagerduty.calls import MAX_LIMIT, OFFSET_CAP
from oncall_sync.emulator.pagerduty.render import parse_instant, zone_identity

PAGE = MAX_LIMIT
V3_PAGE = 1000


@dataclass(frozen=True)
class RequestCount:
    """The fewest requests per part of the extract; `total` adds them up."""

    abilities: int
    users: int
    handoff_rules: int
    teams: int
    members: int
    schedules: int
    schedules_reread: int
    overrides: int
    escalation_policies: int
    services: int
    v3_schedules: int
    exact: bool = True

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self) if f.name != "exact")


def pages(count: int, size: int = PAGE) -> int:
    """Requests to page through `count` items, `size` at a time (one for an empty list)."""
    return max(1, math.ceil(count / size))


def minimum_requests(
    account: Account,
    since: datetime,
    until: datetime,
    *,
    list_zone: str | None = "Etc/UTC",
    with_handoff_rules: bool = False,
    assignment_strategies_entitled: bool = True,
) -> RequestCount:
    """The fewest requests that read `account` whole, overrides in [since, until), the schedule
    list read in `list_zone` (None: the cheapest zone)."""
    n_schedules = len(account.schedules)
    has_teams = "teams" in account.abilities
    lists = [len(account.users), len(account.schedules), len(account.escalation_policies)]
    lists += [len(account.services), *(len(m) for m in account.members.values())]
    lists += [len(account.teams)]

    restricted_by_zone: dict[str, int] = {}
    for schedule in account.schedules:
        if any(layer.get("restrictions") for layer in schedule.get("schedule_layers") or []):
            zone = zone_identity(schedule.get("time_zone") or "Etc/UTC")
            restricted_by_zone[zone] = restricted_by_zone.get(zone, 0) + 1
    list_pass = pages(n_schedules)
    cost = {zone: min(n, list_pass) for zone, n in restricted_by_zone.items()}
    if list_zone is None:  # the list pass takes the costliest zone off the bill
        reread = sum(cost.values()) - max(cost.values(), default=0)
    else:
        reread = sum(c for zone, c in cost.items() if zone != zone_identity(list_zone))

    with_overrides = 0
    for schedule in account.schedules:
        for override in account.overrides.get(schedule["id"], []):
            start, end = parse_instant(override["start"]), parse_instant(override["end"])
            if start < end and start < until and end > since:
                with_overrides += 1
                break

    return RequestCount(
        abilities=1,
        users=pages(len(account.users)),
        handoff_rules=len(account.users) if with_handoff_rules else 0,
        teams=pages(len(account.teams)) if has_teams else 0,
        members=sum(pages(len(account.members.get(t["id"], []))) for t in account.teams)
        if has_teams
        else 0,
        schedules=list_pass,
        schedules_reread=reread,
        overrides=with_overrides,
        escalation_policies=pages(len(account.escalation_policies))
        + (0 if assignment_strategies_entitled else 1),
        services=pages(len(account.services)),
        v3_schedules=pages(len(account.v3_schedules), V3_PAGE),
        exact=all(n <= OFFSET_CAP for n in lists),
    )
