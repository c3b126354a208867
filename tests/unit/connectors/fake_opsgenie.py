"""A small in-memory OpsGenie behind httpx.MockTransport, for unit tests of the client and the
extract (the full emulator is exercised by the integration tests)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

BASE = "https://api.opsgenie.com"
KEY = "0b9a2f7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"


def user(n: int) -> dict[str, Any]:
    return {
        "id": f"u-{n:05d}",
        "username": f"user{n:05d}@example.com",
        "fullName": f"User {n}",
        "role": {"id": "User", "name": "User"},
        "timeZone": "Africa/Monrovia" if n % 2 else "America/Los_Angeles",
        "locale": "en_US",
        "blocked": False,
        "verified": True,
        "createdAt": "2017-05-12T09:39:14.41Z",
        "userAddress": {"country": "", "state": "", "city": "", "line": "", "zipCode": ""},
    }


def contact(n: int, method: str = "email") -> dict[str, Any]:
    return {
        "id": f"c-{n:05d}-{method}",
        "method": method,
        "to": f"user{n:05d}@example.com" if method == "email" else "+1 555 0100",
        "status": {"enabled": True},
        "applyOrder": 0,
    }


def rotation(n: int) -> dict[str, Any]:
    return {
        "id": f"r-{n}",
        "name": f"rota {n}",
        "startDate": "2026-01-05T09:00:00Z",
        "type": "weekly",
        "length": 1,
        "participants": [{"type": "user", "id": "u-00000", "username": "user00000@example.com"}],
    }


@dataclass
class FakeAccount:
    users: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    teams: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    overrides: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)


def make_account(n_users: int = 3, n_teams: int = 2, n_schedules: int = 2) -> FakeAccount:
    users = [user(i) for i in range(n_users)]
    return FakeAccount(
        users=users,
        contacts={u["id"]: [contact(i), contact(i, "sms")] for i, u in enumerate(users)},
        teams=[
            {
                "id": f"t-{i}",
                "name": f"Team {i}",
                "description": "",
                "members": [
                    {
                        "user": {"id": "u-00000", "username": "user00000@example.com"},
                        "role": "admin",
                    }
                ],
            }
            for i in range(n_teams)
        ],
        schedules=[
            {
                "id": f"s-{i}",
                "name": f"Schedule {i}",
                "description": "",
                "timezone": "Africa/Monrovia",
                "enabled": True,
                "ownerTeam": {"id": "t-0", "name": "Team 0"},
                "rotations": [rotation(i)],
            }
            for i in range(n_schedules)
        ],
        overrides={
            f"s-{i}": [
                {
                    "alias": f"o-{i}",
                    "user": {"type": "user", "id": "u-00000", "username": "user00000@example.com"},
                    "startDate": "2026-02-01T00:00:00Z",
                    "endDate": "2026-02-02T00:00:00Z",
                    "rotations": [],
                }
            ]
            for i in range(n_schedules)
        },
        escalations=[
            {
                "id": "e-1",
                "name": "Team 0_escalation",
                "ownerTeam": {"id": "t-0", "name": "Team 0"},
                "rules": [
                    {
                        "condition": "if-not-acked",
                        "notifyType": "default",
                        "delay": {"timeAmount": 0, "timeUnit": "minutes"},
                        "recipient": {"type": "schedule", "id": "s-0", "name": "Schedule 0"},
                    }
                ],
            }
        ],
        services=[
            {"id": "svc-1", "name": "Checkout", "teamId": "t-0", "tags": [], "isExternal": False}
        ],
    )


Handler = Callable[[httpx.Request], httpx.Response | None]


def envelope(data: Any, **extra: Any) -> dict[str, Any]:
    return {"data": data, "took": 0.001, "requestId": "req-1", **extra}


def respond(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


class FakeOpsGenie:
    """Serves a FakeAccount; `before` hooks may answer a request first (faults, errors)."""

    def __init__(self, account: FakeAccount, *, base: str = BASE, key: str = KEY) -> None:
        self.account = account
        self.base = base
        self.key = key
        self.requests: list[httpx.Request] = []
        self.counts: Counter[str] = Counter()
        self.before: list[Handler] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.counts[request.url.path] += 1
        for hook in self.before:
            answer = hook(request)
            if answer is not None:
                return answer
        if request.headers.get("Authorization") != f"GenieKey {self.key}":
            return respond(401, {"message": "Could not authenticate", "took": 0.0})
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rstrip("/")
        raw = request.url.raw_path.decode().split("?", 1)[0].strip("/")
        parts = [unquote(part) for part in raw.split("/")]
        acc = self.account
        if path == "/v2/account":
            return respond(200, envelope({"name": "acme", "userCount": len(acc.users)}))
        if path == "/v2/request-limits":
            return respond(
                200,
                envelope(
                    {
                        "rateLimits": [
                            {
                                "domain": "configuration",
                                "limits": [
                                    {"limit": 6000, "periodInSeconds": 60},
                                    {"limit": 200, "periodInSeconds": 1},
                                ],
                            }
                        ]
                    }
                ),
            )
        if path == "/v2/users":
            return self.paged(request, acc.users, "/v2/users", default_limit=100)
        if parts[:2] == ["v2", "users"] and len(parts) == 4 and parts[3] == "contacts":
            return respond(200, envelope(acc.contacts.get(parts[2], [])))
        if path == "/v2/teams":
            listed = [{k: t[k] for k in ("id", "name", "description")} for t in acc.teams]
            for item in listed:
                item["links"] = {"web": "https://acme.app.opsgenie.com/teams", "api": BASE}
            return respond(200, envelope(listed))
        if parts[:2] == ["v2", "teams"] and len(parts) == 3:
            team = next((t for t in acc.teams if t["id"] == parts[2]), None)
            if team is None:
                return respond(404, {"message": "Team not found"})
            return respond(200, envelope(team))
        if path == "/v2/schedules":
            expand = request.url.params.get("expand") == "rotation"
            items = [s if expand else {**s, "rotations": []} for s in acc.schedules]
            return respond(200, envelope(items, expandable=["rotation"]))
        if parts[:2] == ["v2", "schedules"] and len(parts) == 4 and parts[3] == "overrides":
            return respond(200, envelope(acc.overrides.get(parts[2], [])))
        if path == "/v2/escalations":
            return respond(200, envelope(acc.escalations))
        if path == "/v1/services":
            return self.paged(request, acc.services, "/v1/services", default_limit=20)
        return respond(404, {"message": "No handler found"})

    def paged(
        self, request: httpx.Request, items: list[dict[str, Any]], path: str, default_limit: int
    ) -> httpx.Response:
        params = request.url.params
        limit = min(int(params.get("limit", default_limit)), 100)
        offset = int(params.get("offset", 0))
        page = items[offset : offset + limit]

        def link(at: int) -> str:
            return f"{self.base}{path}?limit={limit}&offset={at}&order=ASC&sort=username"

        paging = {"first": link(0), "last": link(max(0, (len(items) - 1) // limit * limit))}
        if offset + limit < len(items):
            paging["next"] = link(offset + limit)
        if offset > 0:
            paging["prev"] = link(max(0, offset - limit))
        return respond(200, envelope(page, totalCount=len(items), paging=paging))
