"""PagerDuty endpoints about people: abilities, users (contact methods, notification rules,
handoff rules) and teams (members with roles), with `include[]` where the API offers it (§2.3).

Decisions:
- An include swaps references of its kind for full objects wherever they sit in the answer: with
  both `contact_methods` and `notification_rules`, the rules' own `contact_method` is full too;
  with `notification_rules` alone it stays a reference (which form PagerDuty sends is
  UNCONFIRMED). Include values an endpoint does not offer are ignored (UNCONFIRMED, §2.3).
- `query` on users matches the name or the e-mail, case-insensitively, anywhere in it.
- A deleted user is absent: 404 on its own paths, and references to it stay references when
  others are included.
- Teams answer 402 (code 2014) when the account lacks the `teams` ability (402 vs 403 is
  UNCONFIRMED); `/abilities/{name}` answers 204 or 402.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oncall_sync.emulator.pagerduty.account import Payload
from oncall_sync.emulator.pagerduty.calls import (
    ApiError,
    Call,
    Reply,
    found,
    invalid,
    paged,
)

if TYPE_CHECKING:
    from oncall_sync.emulator.pagerduty.app import PagerDutyApp


# -- abilities -------------------------------------------------------------------------------------


def list_abilities(app: PagerDutyApp, call: Call) -> Reply:
    return Reply({"abilities": list(app.account.abilities)})


def get_ability(app: PagerDutyApp, call: Call) -> Reply:
    require_ability(app, call.params[0])
    return Reply(None)


def require_ability(app: PagerDutyApp, ability: str) -> None:
    if ability not in app.account.abilities:
        raise ApiError(402, 2014, [f"The account does not have the {ability!r} ability"])


# -- users -----------------------------------------------------------------------------------------


def phantom_user(n: int) -> Payload:
    """A user created at the front of the list while a client pages (the "shift_users" fault)."""
    uid = f"PNEWH{n:02d}"
    return {
        "id": uid,
        "type": "user",
        "summary": f"Aaron New Hire {n}",
        "self": f"https://api.pagerduty.com/users/{uid}",
        "html_url": None,
        "name": f"Aaron New Hire {n}",
        "email": f"aaron.new.hire{n}@example.com",
        "time_zone": None,
        "color": "green",
        "avatar_url": None,
        "description": None,
        "job_title": None,
        "role": "user",
        "invitation_sent": True,
        "created_via_sso": False,
        "teams": [],
        "contact_methods": [],
        "notification_rules": [],
    }


def user_payload(app: PagerDutyApp, user: Payload, includes: set[str]) -> Payload:
    """A user with what `includes` asks for swapped in."""
    out = dict(user)
    index = app.index
    uid = user["id"]
    if "contact_methods" in includes:
        out["contact_methods"] = [dict(c) for c in app.account.contact_methods.get(uid, [])]
    if "notification_rules" in includes:
        out["notification_rules"] = [
            rule_payload(app, uid, r, includes) for r in app.account.notification_rules.get(uid, [])
        ]
    if "teams" in includes:
        out["teams"] = [dict(index.teams.get(t["id"], t)) for t in user.get("teams") or []]
    return out


def rule_payload(app: PagerDutyApp, user_id: str, rule: Payload, includes: set[str]) -> Payload:
    out = dict(rule)
    if "contact_methods" in includes:
        contact = app.index.contact_methods.get(user_id, {}).get(rule["contact_method"]["id"])
        if contact is not None:
            out["contact_method"] = dict(contact)
    return out


def _single_user(app: PagerDutyApp, call: Call, user: Payload) -> Reply:
    includes = call.includes()
    out = user_payload(app, user, includes)
    # Calendar feed URLs come only for oneself or on request (§3.2): bearer credentials.
    if "calendar_urls" in includes or call.key.user_id == user["id"]:
        out.update(app.account.calendar_urls.get(user["id"], {}))
    return Reply({"user": out})


def list_users(app: PagerDutyApp, call: Call) -> Reply:
    users = app.account.users
    query = (call.one("query") or "").casefold()
    if query:
        users = [
            u for u in users if query in u["name"].casefold() or query in u["email"].casefold()
        ]
    team_ids = set(call.many("team_ids"))
    if team_ids:
        users = [u for u in users if any(t["id"] in team_ids for t in u.get("teams") or [])]
    if call.user_shift > 0:  # users created at the front while the client pages
        users = [phantom_user(n) for n in range(call.user_shift)] + users
    elif call.user_shift < 0:  # the first users deleted while the client pages
        users = users[-call.user_shift :]
    page, body = paged(call, users, "users")
    includes = call.includes()
    body["users"] = [user_payload(app, u, includes) for u in page]
    return Reply(body)


def _user(app: PagerDutyApp, call: Call) -> Payload:
    return found(app.index.users, call.params[0])


def get_user(app: PagerDutyApp, call: Call) -> Reply:
    return _single_user(app, call, _user(app, call))


def get_me(app: PagerDutyApp, call: Call) -> Reply:
    user = app.index.users.get(call.key.user_id or "")
    if user is None:
        # What PagerDuty says to an account-level key (wording from memory: UNCONFIRMED).
        raise invalid(
            "Because this request was made using an account-level access token, we were unable"
            " to determine the user's identity. Please use a user-level token."
        )
    return _single_user(app, call, user)


def list_contact_methods(app: PagerDutyApp, call: Call) -> Reply:
    user = _user(app, call)
    return Reply({"contact_methods": list(app.account.contact_methods.get(user["id"], []))})


def get_contact_method(app: PagerDutyApp, call: Call) -> Reply:
    user = _user(app, call)
    contact = found(app.index.contact_methods.get(user["id"], {}), call.params[1])
    return Reply({"contact_method": contact})


def list_notification_rules(app: PagerDutyApp, call: Call) -> Reply:
    user = _user(app, call)
    urgency = call.one("urgency") or "high"  # the per-user endpoint defaults to high (OAS)
    if urgency not in ("high", "low", "all"):
        raise invalid(f"urgency must be high, low or all, not {urgency!r}", "urgency")
    includes = call.includes()
    rules = [
        rule_payload(app, user["id"], r, includes)
        for r in app.account.notification_rules.get(user["id"], [])
        if urgency == "all" or r["urgency"] == urgency
    ]
    return Reply({"notification_rules": rules})


def get_notification_rule(app: PagerDutyApp, call: Call) -> Reply:
    user = _user(app, call)
    rule = found(app.index.notification_rules.get(user["id"], {}), call.params[1])
    return Reply({"notification_rule": rule_payload(app, user["id"], rule, call.includes())})


def list_handoff_rules(app: PagerDutyApp, call: Call) -> Reply:
    user = _user(app, call)
    rules = list(app.account.handoff_rules.get(user["id"], []))
    return Reply({"oncall_handoff_notification_rules": rules})


# -- teams -----------------------------------------------------------------------------------------


def list_teams(app: PagerDutyApp, call: Call) -> Reply:
    require_ability(app, "teams")
    teams = app.account.teams
    query = (call.one("query") or "").casefold()
    if query:
        teams = [t for t in teams if query in t["name"].casefold()]
    _page, body = paged(call, teams, "teams")
    return Reply(body)


def _team(app: PagerDutyApp, call: Call) -> Payload:
    require_ability(app, "teams")
    return found(app.index.teams, call.params[0])


def get_team(app: PagerDutyApp, call: Call) -> Reply:
    return Reply({"team": _team(app, call)})


def list_members(app: PagerDutyApp, call: Call) -> Reply:
    team = _team(app, call)
    page, body = paged(call, app.account.members.get(team["id"], []), "members")
    if "users" in call.includes():
        body["members"] = [
            {**m, "user": dict(app.index.users.get(m["user"]["id"], m["user"]))} for m in page
        ]
    return Reply(body)
