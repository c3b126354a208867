"""PagerDuty endpoints about schedules: layer schedules (rendered by render.py), their overrides
and users, `/oncalls`, and the shift-based `/v3/schedules` (listed, never rendered).

Decisions:
- Rendering zone: `time_zone`, else for `GET /schedules` the caller's zone (a user key's user,
  else the account's zone) and for `GET /schedules/{id}` the schedule's own zone (§5.1).
  Instants are written in it; restrictions are re-expressed in it without an offset (§5.4, see
  render.restriction_in_zone), so a list read in another zone shifts them, as PagerDuty does.
- Window: `since`/`until`; a missing one is the other -/+ 2 weeks; with neither, rendered
  entries are empty and coverages null. List items carry `schedule_layers`,
  `overrides_subschedule` and `final_schedule` only when included; `GET /schedules/{id}`
  always carries them (and the calendar feed URLs, bearer credentials).
- `/schedules/{id}/overrides`: `since` and `until` required (400, code 2004); overrides meeting
  the window, cut to it unless `overflow=true` (the OAS wording for rendered entries, applied
  here too: UNCONFIRMED); `editable=true` keeps those not yet ended, ids only. Not paged.
- `/schedules/{id}/users`: the existing users in the final schedule over the window (default:
  now to now + 2 weeks). Not paged.
- `/oncalls`: `since` defaults to now, `until` to now (or to `since` when that is later); the
  window may span at most 90 days (400, code 2005). Rendered in `time_zone` (default the
  account's). Paged (25 by default). Items per render.oncalls.
- `/v3/schedules`: references with names, `limit` 100 (max 1000), no `total`, no offset cap;
  `/v3/schedules/{id}` the stored object (its `include[]=final_schedule` is not emulated);
  `/v3/schedules/{id}/overrides` an empty paged list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from oncall_sync.emulator.pagerduty.account import Payload, reference
from oncall_sync.emulator.pagerduty.calls import ApiError, Call, Reply, found, paged
from oncall_sync.emulator.pagerduty.render import (
    Piece,
    Rendering,
    format_instant,
    oncalls,
    overlaps,
    parse_instant,
    render_schedule,
    resolve_zone,
    restriction_in_zone,
    schedule_zone,
)

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from oncall_sync.emulator.pagerduty.app import PagerDutyApp

RENDERED = frozenset({"schedule_layers", "overrides_subschedule", "final_schedule"})
DEFAULT_SPAN = timedelta(weeks=2)
ONCALLS_HORIZON = timedelta(days=90)
ONCALLS_CACHED = 8


def caller_zone(app: PagerDutyApp, call: Call) -> str:
    """The zone a list renders in by default: the calling user's, else the account's."""
    user = app.index.users.get(call.key.user_id or "")
    return (user or {}).get("time_zone") or app.account.time_zone


def _entries(pieces: Sequence[Piece], zone: ZoneInfo) -> list[Payload]:
    return [
        {
            "start": format_instant(p.start, zone),
            "end": format_instant(p.end, zone),
            "user": p.user,
        }
        for p in pieces
    ]


def schedule_payload(app: PagerDutyApp, schedule: Payload, call: Call, *, single: bool) -> Payload:
    """A schedule as a list item (`single=False`) or as `GET /schedules/{id}` answers it."""
    shown_name = call.zone_name(schedule["time_zone"] if single else caller_zone(app, call))
    shown = resolve_zone(shown_name)
    window = call.window(shown_name, default_span=DEFAULT_SPAN)
    wanted = set(RENDERED) if single else call.includes() & RENDERED
    overflow = single and call.flag("overflow")
    out = {k: v for k, v in schedule.items() if k != "schedule_layers"}
    rendering: Rendering | None = None
    if window is not None and wanted:
        overrides = app.account.overrides.get(schedule["id"], [])
        rendering = render_schedule(schedule, overrides, *window, app.config.dst_rule)

    def rendered(pieces: Sequence[Piece]) -> tuple[list[Payload], float | None]:
        if rendering is None:
            return [], None
        return (
            _entries(pieces if overflow else rendering.clipped(pieces), shown),
            rendering.coverage(pieces),
        )

    if "schedule_layers" in wanted:
        own = schedule_zone(schedule)
        layers = []
        for position, layer in enumerate(schedule.get("schedule_layers") or []):
            entries, coverage = rendered(rendering.layers[position] if rendering else [])
            layers.append(
                {
                    **layer,
                    "start": format_instant(parse_instant(layer["start"]), shown),
                    "end": format_instant(parse_instant(layer["end"]), shown)
                    if layer.get("end")
                    else None,
                    "rotation_virtual_start": format_instant(
                        parse_instant(layer["rotation_virtual_start"]), shown
                    ),
                    "restrictions": [
                        restriction_in_zone(r, own, shown, call.now)
                        for r in layer.get("restrictions") or []
                    ],
                    "rendered_schedule_entries": entries,
                    "rendered_coverage_percentage": coverage,
                }
            )
        out["schedule_layers"] = layers
    blocks = {
        "overrides_subschedule": ("Overrides", rendering.overrides if rendering else []),
        "final_schedule": ("Final Schedule", rendering.final if rendering else []),
    }
    for name, (title, pieces) in blocks.items():
        if name in wanted:
            entries, coverage = rendered(pieces)
            out[name] = {
                "name": title,
                "rendered_schedule_entries": entries,
                "rendered_coverage_percentage": coverage,
            }
    if single:
        out.update(app.account.calendar_urls.get(schedule["id"], {}))
    next_for = call.one("include_next_oncall_for_user")
    if next_for:
        out["next_oncall_for_user"] = _next_oncall(app, schedule, next_for, call.now, shown)
    return out


def _next_oncall(
    app: PagerDutyApp, schedule: Payload, user_id: str, now: datetime, zone: ZoneInfo
) -> Payload | None:
    """The user's next (or current) final-schedule entry within 90 days, if any."""
    overrides = app.account.overrides.get(schedule["id"], [])
    final = render_schedule(schedule, overrides, now, now + ONCALLS_HORIZON, app.config.dst_rule)
    for piece in final.final:
        if piece.user.get("id") == user_id and piece.end > now:
            return _entries([piece], zone)[0]
    return None


def list_schedules(app: PagerDutyApp, call: Call) -> Reply:
    schedules = app.account.schedules
    query = (call.one("query") or "").casefold()
    if query:
        schedules = [s for s in schedules if query in s["name"].casefold()]
    team_ids = set(call.many("team_ids"))
    if team_ids:
        schedules = [s for s in schedules if any(t["id"] in team_ids for t in s["teams"])]
    page, body = paged(call, schedules, "schedules")
    body["schedules"] = [schedule_payload(app, s, call, single=False) for s in page]
    return Reply(body)


def _schedule(app: PagerDutyApp, call: Call) -> Payload:
    return found(app.index.schedules, call.params[0])


def get_schedule(app: PagerDutyApp, call: Call) -> Reply:
    return Reply({"schedule": schedule_payload(app, _schedule(app, call), call, single=True)})


def list_overrides(app: PagerDutyApp, call: Call) -> Reply:
    schedule = _schedule(app, call)
    zone = schedule_zone(schedule)
    window = call.window(schedule["time_zone"], default_span=None)
    if window is None:
        raise ApiError(400, 2004, ["since and until are required"])
    since, until = window
    editable, overflow = call.flag("editable"), call.flag("overflow")
    found = []
    for override in app.account.overrides.get(schedule["id"], []):
        start, end = parse_instant(override["start"]), parse_instant(override["end"])
        if not overlaps(start, end, since, until):
            continue
        if editable:
            if end > call.now:
                found.append({"id": override["id"]})
            continue
        if not overflow:
            start, end = max(start, since), min(end, until)
        found.append(
            {**override, "start": format_instant(start, zone), "end": format_instant(end, zone)}
        )
    return Reply({"overrides": found})


def list_schedule_users(app: PagerDutyApp, call: Call) -> Reply:
    schedule = _schedule(app, call)
    window = call.window(schedule["time_zone"], default_span=DEFAULT_SPAN)
    since, until = window or (call.now, call.now + DEFAULT_SPAN)
    overrides = app.account.overrides.get(schedule["id"], [])
    final = render_schedule(schedule, overrides, since, until, app.config.dst_rule).final
    seen = dict.fromkeys(p.user.get("id") for p in final)
    users = [app.index.users[uid] for uid in seen if uid in app.index.users]
    return Reply({"users": users})


# -- /oncalls --------------------------------------------------------------------------------------


def list_oncalls(app: PagerDutyApp, call: Call) -> Reply:
    zone_name = call.zone_name(app.account.time_zone)
    zone = resolve_zone(zone_name)
    since = call.instant("since", zone_name) or call.now
    until = call.instant("until", zone_name) or max(call.now, since)
    if until < since:
        raise ApiError(400, 2005, ["until must not be before since"])
    if until - since > ONCALLS_HORIZON:
        raise ApiError(400, 2005, ["The window between since and until may span at most 90 days"])
    schedule_filter = call.many("schedule_ids")
    user_ids = frozenset(call.many("user_ids")) or None
    policy_ids = frozenset(call.many("escalation_policy_ids")) or None
    schedule_ids = (
        frozenset(None if s in ("", "null") else s for s in schedule_filter)
        if schedule_filter
        else None
    )
    earliest = call.flag("earliest")
    # Every page of one query renders the same schedules: keep the last few answers.
    key = (since, until, app.config.dst_rule, user_ids, policy_ids, schedule_ids, earliest)
    items = app.oncalls_cache.get(key)
    if items is None:
        items = oncalls(
            app.account.escalation_policies,
            app.index.schedules,
            app.account.overrides,
            since,
            until,
            app.config.dst_rule,
            user_ids=set(user_ids) if user_ids else None,
            policy_ids=set(policy_ids) if policy_ids else None,
            schedule_ids=set(schedule_ids) if schedule_ids else None,
            earliest=earliest,
        )
        while len(app.oncalls_cache) >= ONCALLS_CACHED:
            app.oncalls_cache.pop(next(iter(app.oncalls_cache)))
        app.oncalls_cache[key] = items
    page, body = paged(call, items, "oncalls")
    includes = call.includes()
    out = []
    for item in page:
        user = item.user
        if "users" in includes and user.get("id") in app.index.users:
            user = dict(app.index.users[user["id"]])
        schedule = item.schedule
        if schedule is not None and "schedules" in includes:
            schedule = schedule_payload(
                app, app.index.schedules[schedule["id"]], call, single=False
            )
        policy = dict(item.policy) if "escalation_policies" in includes else reference(item.policy)
        out.append(
            {
                "escalation_policy": policy,
                "escalation_level": item.level,
                "schedule": schedule,
                "user": user,
                "start": format_instant(item.start, zone) if item.start else None,
                "end": format_instant(item.end, zone) if item.end else None,
            }
        )
    body["oncalls"] = out
    return Reply(body)


# -- /v3/schedules ---------------------------------------------------------------------------------


def list_v3_schedules(app: PagerDutyApp, call: Call) -> Reply:
    items = [{**reference(s), "name": s["name"]} for s in app.account.v3_schedules]
    _page, body = paged(
        call, items, "schedules", default_limit=100, max_limit=1000, with_total=False, cap=None
    )
    return Reply(body)


def _v3(app: PagerDutyApp, call: Call) -> Payload:
    return found(app.index.v3_schedules, call.params[0])


def get_v3_schedule(app: PagerDutyApp, call: Call) -> Reply:
    return Reply({"schedule": _v3(app, call)})


def list_v3_overrides(app: PagerDutyApp, call: Call) -> Reply:
    _v3(app, call)
    _page, body = paged(call, [], "overrides", with_total=False, cap=None)
    return Reply(body)
