"""The OpsGenie emulator as an ASGI app: the read side of the REST API, faithful to
docs/emulator.md and reference/opsgenie-api.md (envelopes, paging, expand, keys, limits, faults);
the extended constructs of opsgenie-api-extended.md come from `emulator.extended_api`.
Every call is recorded (`app.calls`, a `CallLog`); writes answer 405, except a heartbeat ping.
Emulator-only endpoints live under /_emulator/ (the paging computation, the call log): they need
a key and are never recorded, limited or faulted.

Configuration (`EmulatorConfig`):
- `region` "us" | "eu": a key bound to the other region gets 401 "Could not authenticate".
- `api_keys`: key -> `KeyInfo(region, team_id)`; None gives the three test keys below, the team
  key scoped to the account's first team. A team key gets 403/40301 on schedules, escalations,
  teams and services its team does not own (team-less ones included) and on /v2/request-limits/.
- `services_enabled`: False answers /v1/services with 402 (a plan without the Service API).
- `latency_ms`: added to every request (asyncio.sleep, so it costs no CPU).
- `rate_limits` (domain -> per_second, per_minute), `rate_limit_scale`, `rate_limits_enabled`:
  per-domain token buckets; defaults in `oncall_sync.emulator.ratelimit` (configuration 50/s and
  3000/min, search, schedule-oncalls and heartbeat 20/s and 1200/min). Over the limit: 429
  with OpsGenie's message and `X-RateLimit-Period-In-Sec: 1|60`.
- `now`: the clock for on-calls and timelines without `date` (None: the wall clock).
Faults: `app.state.faults` (a `FaultPlan`), switched on by tests at runtime.

The app answers every request itself instead of going through Starlette's router: the benchmark
drives ~13,000 requests through it, and a dropped connection needs the server's raw transport.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from oncall_sync.emulator import paging, timeline
from oncall_sync.emulator.api import (
    ApiError,
    Call,
    Handler,
    KeyInfo,
    Region,
    Reply,
    identifier_type,
    owned,
)
from oncall_sync.emulator.api import dumps as _dumps
from oncall_sync.emulator.api import int_param as _int_param
from oncall_sync.emulator.api import not_authorized as _not_authorized
from oncall_sync.emulator.calls import PING, CallLog
from oncall_sync.emulator.extended_api import ExtendedApi
from oncall_sync.emulator.faults import FaultPlan, FaultRule
from oncall_sync.emulator.generator import Account, Payload
from oncall_sync.emulator.ratelimit import (
    CONFIGURATION,
    DEFAULT_RATE_LIMITS,
    SCHEDULE_ONCALLS,
    SEARCH,
    RateLimit,
    RateLimiter,
)
from oncall_sync.emulator.transport import connection_fault, send_raw

__all__ = ["ApiError", "Call", "KeyInfo", "Reply"]  # moved to emulator.api; still importable here

# Test keys only: they open nothing but an emulator.
TEST_API_KEY = "0b1e5c5e-7d4a-4c3e-9f0a-5e11ab1ec0de"
TEST_EU_API_KEY = "e0e0e0e0-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
TEST_TEAM_API_KEY = "7ea70000-5c0b-4e5d-9a1b-2c3d4e5f6a7b"

THROTTLED_MESSAGE = (
    "You are making too many requests! To avoid errors, we recommend you limit requests."
)
PLAN_MESSAGE = (
    "Your plan does not include the Service API: it needs the Standard or Enterprise plan."
)
OK_TYPE = b"application/json;charset=UTF-8"
ERROR_TYPE = b"application/json; charset=UTF-8"
USER_SORTS = {
    "username",
    "fullName",
    "fullName.raw",
    "createdAt",
    "insertedAt",
    "role",
    "verified",
    "blocked",
}
USER_QUERY_FIELDS = {
    "username",
    "fullName",
    "blocked",
    "verified",
    "role",
    "locale",
    "timeZone",
    "createdAt",
}
MAX_LIMIT = 100
EMULATOR_PREFIX = "/_emulator/"
PING_METHODS = frozenset({"GET", "POST", "PUT", "PATCH"})


class EmulatorConfig(BaseModel):
    """The knobs of one emulator (see the module docstring)."""

    region: Region = "us"
    api_keys: dict[str, KeyInfo] | None = None
    services_enabled: bool = True
    latency_ms: float = Field(default=0.0, ge=0)
    rate_limits: dict[str, RateLimit] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    rate_limit_scale: float = Field(default=1.0, gt=0)
    rate_limits_enabled: bool = True
    now: datetime | None = None
    fault_seed: int = 0


def default_keys(account: Account, region: Region) -> dict[str, KeyInfo]:
    first_team = account.teams[0]["id"] if account.teams else None
    return {
        TEST_API_KEY: KeyInfo(region="us"),
        TEST_EU_API_KEY: KeyInfo(region="eu"),
        TEST_TEAM_API_KEY: KeyInfo(region=region, team_id=first_team),
    }


class EmulatorApp(Starlette):
    """The emulator; `state.account`, `state.config`, `state.faults`, `state.limiter` are live."""

    def __init__(self, account: Account, config: EmulatorConfig, faults: FaultPlan) -> None:
        super().__init__()
        self.account, self.config, self.faults = account, config, faults
        self.keys = (
            config.api_keys if config.api_keys is not None else default_keys(account, config.region)
        )
        self.limiter = RateLimiter(config.rate_limits, config.rate_limit_scale)
        self.state.account, self.state.config = account, config
        self.state.faults, self.state.limiter = faults, self.limiter
        self._index()
        self._cache: dict[tuple[str, str | None], str] = {}
        # (path segments with "*" for an identifier, rate-limit domain, handler); first match wins.
        self.routes_table: list[tuple[tuple[str, ...], str, Handler]] = [
            (("v2", "account"), CONFIGURATION, self.get_account),
            (("v2", "request-limits"), CONFIGURATION, self.get_request_limits),
            (("v2", "users"), SEARCH, self.list_users),
            (("v2", "users", "*"), CONFIGURATION, self.get_user),
            (("v2", "users", "*", "contacts"), CONFIGURATION, self.get_contacts),
            (("v2", "users", "*", "teams"), CONFIGURATION, self.get_user_teams),
            (("v2", "teams"), CONFIGURATION, self.list_teams),
            (("v2", "teams", "*"), CONFIGURATION, self.get_team),
            (("v2", "schedules"), CONFIGURATION, self.list_schedules),
            (("v2", "schedules", "on-calls"), SCHEDULE_ONCALLS, self.all_on_calls),
            (("v2", "schedules", "*"), CONFIGURATION, self.get_schedule),
            (("v2", "schedules", "*", "rotations"), CONFIGURATION, self.get_rotations),
            (("v2", "schedules", "*", "overrides"), CONFIGURATION, self.get_overrides),
            (("v2", "schedules", "*", "timeline"), SCHEDULE_ONCALLS, self.get_timeline),
            (("v2", "schedules", "*", "on-calls"), SCHEDULE_ONCALLS, self.get_on_calls),
            (("v2", "escalations"), CONFIGURATION, self.list_escalations),
            (("v2", "escalations", "*"), CONFIGURATION, self.get_escalation),
            (("v1", "services"), CONFIGURATION, self.list_services),
            (("v1", "services", "*"), CONFIGURATION, self.get_service),
        ]
        # Every call received, so tests can prove a client never changed state (emulator.calls).
        self.calls = CallLog()
        self.state.calls = self.calls
        # The constructs of reference/opsgenie-api-extended.md (emulator.extended_api).
        self.extended = ExtendedApi(self)
        self.routes_table += self.extended.routes()
        # Emulator-only endpoints, outside OpsGenie's namespace: not recorded, limited or faulted.
        self.emulator_routes: dict[str, Handler] = {
            "paging": self.emulator_paging,
            "calls": self.emulator_calls,
        }

    def _index(self) -> None:
        """Lookups by id and name, and the users list pre-sorted for every sort field."""
        a = self.account
        self.users_by_id = {u["id"]: u for u in a.users}
        self.users_by_name = {u["username"].casefold(): u for u in a.users}
        self.teams_by_id = {t["id"]: t for t in a.teams}
        self.teams_by_name = {t["name"]: t for t in a.teams}
        self.schedules_by_id = {s["id"]: s for s in a.schedules}
        self.schedules_by_name = {s["name"]: s for s in a.schedules}
        self.escalations_by_id = {e["id"]: e for e in a.escalations}
        self.escalations_by_name = {e["name"]: e for e in a.escalations}
        self.services_by_id = {s["id"]: s for s in a.services}
        self.user_teams: dict[str, list[Payload]] = {}
        for team in a.teams:
            for member in team.get("members", []):
                ref = {"id": team["id"], "name": team["name"]}
                self.user_teams.setdefault(member["user"]["id"], []).append(ref)
        text_key: dict[str, Callable[[Payload], Any]] = {
            "username": lambda u: u["username"].casefold(),
            "fullName": lambda u: u["fullName"].casefold(),
            "fullName.raw": lambda u: u["fullName"],
            "createdAt": lambda u: u["createdAt"],
            "role": lambda u: u["role"]["name"],
            "verified": lambda u: u["verified"],
            "blocked": lambda u: u["blocked"],
        }
        self.users_sorted = {name: sorted(a.users, key=key) for name, key in text_key.items()}
        self.users_sorted["insertedAt"] = list(a.users)
        # Users pages are the hottest list: serialise each user once, join per page (keyed by
        # object, not by id, so an account with repeated ids still pages what it holds).
        self.user_json = {id(u): _dumps(u) for u in a.users}

    # -- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        if path.startswith(EMULATOR_PREFIX):
            await self._emulator_only(scope, path, send, started, request_id)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        self.calls.record(scope["method"], path, query)
        fault = self.faults.pick(path) if self.faults.rules else None
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        # "malformed" spoils an answer and "shift_users" moves data: both answer normally first.
        if (
            fault is not None
            and fault.kind not in ("malformed", "shift_users")
            and await self._inject(fault, send, request_id, started)
        ):
            return
        try:
            reply = self.dispatch(scope, path)
            status, headers = reply.status, reply.headers
            body = self._body(reply, started, request_id)
        except ApiError as error:
            status, headers = error.status, error.headers
            body = self._error_body(error.message, error.code, started, request_id)
        if fault is not None and fault.kind == "malformed" and status < 300:
            body = body[: max(1, len(body) // 2)]
        await self._send(send, status, body, headers, started, request_id)

    async def _emulator_only(
        self, scope: Scope, path: str, send: Send, started: float, request_id: str
    ) -> None:
        """An /_emulator/ request: the key is checked, nothing else applies."""
        try:
            if scope["method"] != "GET":
                raise ApiError(405, f"Request method '{scope['method']}' not supported")
            key = self._authenticate(scope)
            handler = self.emulator_routes.get(path[len(EMULATOR_PREFIX) :].strip("/"))
            if handler is None:
                raise ApiError(404, "No handler found")
            reply = handler(self._call(scope, [], key))
            status, body = reply.status, self._body(reply, started, request_id)
        except ApiError as error:
            status = error.status
            body = self._error_body(error.message, error.code, started, request_id)
        await self._send(send, status, body, {}, started, request_id)

    async def _inject(self, fault: FaultRule, send: Send, request_id: str, started: float) -> bool:
        """Inject a response-level fault; True when the request is answered (or cut) by it."""
        handled = await connection_fault(fault, send)
        if handled is not None:
            return handled
        if fault.kind == "429":
            headers = {
                "X-RateLimit-State": "THROTTLED",
                "X-RateLimit-Reason": "injected",
                "X-RateLimit-Period-In-Sec": str(fault.period),
            }
            body = self._error_body(THROTTLED_MESSAGE, None, started, request_id)
            await self._send(send, 429, body, headers, started, request_id)
            return True
        status = int(fault.kind)
        messages = {
            500: "Internal Server Error",
            501: "Not Implemented",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }
        if status == 502:  # a gateway error comes from CloudFront, not from OpsGenie: HTML
            html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            await send_raw(send, 502, html, [(b"content-type", b"text/html")])
            return True
        body = self._error_body(messages[status], None, started, request_id)
        await self._send(send, status, body, {}, started, request_id)
        return True

    def _body(self, reply: Reply, started: float, request_id: str) -> bytes:
        tail = {
            **({"result": reply.result} if reply.result is not None else {}),
            **reply.extra,
            "took": round(time.perf_counter() - started, 3),
            "requestId": request_id,
        }
        if reply.data is None and reply.raw_data is None and reply.result is not None:
            return _dumps(tail).encode()
        data = reply.raw_data if reply.raw_data is not None else _dumps(reply.data)
        return ('{"data":' + data + "," + _dumps(tail)[1:]).encode()

    @staticmethod
    def _error_body(message: str, code: int | None, started: float, request_id: str) -> bytes:
        body: dict[str, Any] = {"code": code} if code is not None else {}
        body.update(
            message=message, took=round(time.perf_counter() - started, 3), requestId=request_id
        )
        return _dumps(body).encode()

    async def _send(
        self,
        send: Send,
        status: int,
        body: bytes,
        headers: dict[str, str],
        started: float,
        request_id: str,
    ) -> None:
        raw_headers = [
            (b"content-type", OK_TYPE if status < 400 else ERROR_TYPE),
            (b"x-request-id", request_id.encode()),
            (b"x-response-time", f"{time.perf_counter() - started:.3f}".encode()),
        ]
        if "X-RateLimit-State" not in headers:
            raw_headers.append((b"x-ratelimit-state", b"OK"))
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send_raw(send, status, body, raw_headers)

    # -- routing and auth --------------------------------------------------------------------------

    def dispatch(self, scope: Scope, path: str) -> Reply:
        method = scope["method"]
        # Reads only; a heartbeat ping (any of its four verbs) is the one write answered.
        if method != "GET" and not (method in PING_METHODS and PING.match(path)):
            raise ApiError(405, f"Request method '{method}' not supported")
        key = self._authenticate(scope)
        pattern, domain, handler, params = self._route(path)
        if pattern[:2] == ("v1", "services") and not self.config.services_enabled:
            raise ApiError(402, PLAN_MESSAGE)
        if self.config.rate_limits_enabled:
            period = self.limiter.take(domain)
            if period is not None:
                raise ApiError(
                    429,
                    THROTTLED_MESSAGE,
                    headers={
                        "X-RateLimit-State": "THROTTLED",
                        "X-RateLimit-Reason": domain,
                        "X-RateLimit-Period-In-Sec": str(period),
                    },
                )
        return handler(self._call(scope, params, key))

    def _call(self, scope: Scope, params: list[str], key: KeyInfo) -> Call:
        query = dict(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        host = "127.0.0.1"
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1")
                break
        return Call(
            params, query, key, f"{scope.get('scheme', 'http')}://{host}", self.faults.user_shift
        )

    def _route(self, path: str) -> tuple[tuple[str, ...], str, Handler, list[str]]:
        """The route for a path (segments percent-decoded one by one, so %2F stays in a name)."""
        trimmed = path.strip("/")
        segments = tuple(unquote(s) for s in trimmed.split("/")) if trimmed else ()
        for pattern, domain, handler in self.routes_table:
            if len(pattern) == len(segments) and all(
                p == "*" or p == s for p, s in zip(pattern, segments, strict=True)
            ):
                params = [s for p, s in zip(pattern, segments, strict=True) if p == "*"]
                return pattern, domain, handler, params
        raise ApiError(404, "No handler found")

    def _authenticate(self, scope: Scope) -> KeyInfo:
        header = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        scheme, _, secret = header.partition(" ")
        if scheme != "GenieKey" or not secret.strip():
            raise ApiError(401, "Could not authenticate")
        secret = secret.strip()
        try:
            uuid.UUID(secret)
        except ValueError:
            raise ApiError(422, "Key format is not valid!") from None
        info = self.keys.get(secret)
        if info is None or info.region != self.config.region:
            raise ApiError(401, "Could not authenticate")  # unknown, or bound to the other region
        return info

    _owned = staticmethod(owned)
    _identifier_type = staticmethod(identifier_type)

    def now(self) -> datetime:
        return (self.config.now or datetime.now(UTC)).astimezone(UTC)

    def _cached(self, name: str, scope: str | None, build: Callable[[], Any]) -> str:
        key = (name, scope)
        if key not in self._cache:
            self._cache[key] = _dumps(build())
        return self._cache[key]

    # -- emulator-only: the paging computation and the call log ------------------------------------

    def emulator_paging(self, call: Call) -> Reply:
        """`who_is_paged` for the alert the query describes (docs/emulator.md, "Paging")."""
        q = call.query
        try:
            alert = paging.Alert(
                created_at=q.get("at") or self.now().isoformat(),
                team_id=q.get("team") or None,
                integration_id=q.get("integration") or None,
                message=q.get("message", ""),
                tags=tuple(t for t in q.get("tags", "").split(",") if t),
                priority=q.get("priority", "P3"),
                alias=q.get("alias", ""),
                description=q.get("description", ""),
                source=q.get("source", ""),
                entity=q.get("entity", ""),
                extra_properties={
                    k[len("extra.") :]: v for k, v in q.items() if k.startswith("extra.")
                },
            )
            minutes = _int_param(q, "minutes", 60, minimum=1)
            answer = paging.who_is_paged(self.account, alert, minutes)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise ApiError(422, f"Invalid paging question: {error}") from None
        return Reply(answer.model_dump(mode="json"))

    def emulator_calls(self, call: Call) -> Reply:
        """The calls received so far: all, or (`stateChanging=true`) the state-changing ones."""
        changing = call.query.get("stateChanging", "false").lower() == "true"
        calls = self.calls.state_changing() if changing else self.calls.calls
        return Reply(
            {
                "total": self.calls.total,
                "calls": [{"method": c.method, "path": c.path, "query": c.query} for c in calls],
            }
        )

    # -- account -----------------------------------------------------------------------------------

    def get_account(self, call: Call) -> Reply:
        a = self.account
        return Reply({"name": a.name, "userCount": len(a.users), "plan": a.plan})

    def get_request_limits(self, call: Call) -> Reply:
        if call.key.team_id is not None:
            raise _not_authorized("request limits")
        return Reply({"rateLimits": self.limiter.describe()})

    # -- users -------------------------------------------------------------------------------------

    def list_users(self, call: Call) -> Reply:
        q = call.query
        limit = _int_param(q, "limit", 100, minimum=1)
        limit = min(limit, MAX_LIMIT)
        offset = _int_param(q, "offset", 0, minimum=0)
        sort = q.get("sort", "username")
        if sort not in USER_SORTS:
            raise ApiError(422, f"Invalid sort field [{sort}]")
        order = q.get("order", "asc").lower()
        if order not in ("asc", "desc"):
            raise ApiError(422, f"Invalid order [{order}]: must be one of [asc, desc]")
        users = self.users_sorted[sort]
        if order == "desc":
            users = users[::-1]
        query_text = q.get("query", "")
        if query_text:
            users = _filter_users(users, query_text)
        if call.user_shift > 0:  # users created at the front while the client pages
            users = [_phantom_user(n) for n in range(call.user_shift)] + users
        elif call.user_shift < 0:  # the first users deleted while the client pages
            users = users[-call.user_shift :]
        total = len(users)
        page = users[offset : offset + limit]

        def link(at: int) -> str:
            url = f"{call.base_url}/v2/users?limit={limit}&offset={at}"
            url += f"&order={order.upper()}&sort={sort}"
            return url + (f"&query={quote(query_text)}" if query_text else "")

        paging = {}
        if offset + limit < total:
            paging["next"] = link(offset + limit)
        if offset > 0:
            paging["prev"] = link(max(0, offset - limit))
        paging["first"] = link(0)
        paging["last"] = link(((total - 1) // limit) * limit if total else 0)
        headers = {f"X-Paging-{k.capitalize()}": v for k, v in paging.items()}
        raw = "[" + ",".join(self.user_json.get(id(u)) or _dumps(u) for u in page) + "]"
        return Reply(raw_data=raw, extra={"totalCount": total, "paging": paging}, headers=headers)

    def _user(self, call: Call) -> Payload:
        ident = call.params[0]
        user = self.users_by_id.get(ident) or self.users_by_name.get(ident.casefold())
        if user is None:
            raise ApiError(404, f"No user exists with identifier [{ident}]")
        return user

    def get_user(self, call: Call) -> Reply:
        user = self._user(call)
        expand = call.query.get("expand", "").split(",")
        if "contact" in expand or "contacts" in expand:
            user = {
                **user,
                "userContacts": [
                    {
                        "id": c["id"],
                        "to": c["to"],
                        "contactMethod": c["method"],
                        "disabledReason": c["status"]["disabledReason"],
                        "enabled": c["status"]["enabled"],
                    }
                    for c in self.account.contacts.get(user["id"], [])
                ],
            }
        return Reply(user)

    def get_contacts(self, call: Call) -> Reply:
        user = self._user(call)
        return Reply(self.account.contacts.get(user["id"], []))

    def get_user_teams(self, call: Call) -> Reply:
        user = self._user(call)
        return Reply(self.user_teams.get(user["id"], []))

    # -- teams -------------------------------------------------------------------------------------

    def list_teams(self, call: Call) -> Reply:
        def build() -> list[Payload]:
            return [
                {k: t[k] for k in ("id", "name", "description", "links") if k in t}
                for t in self.account.teams
                if self._owned(call, t["id"])
            ]

        return Reply(raw_data=self._cached("teams", call.key.team_id, build))

    def get_team(self, call: Call) -> Reply:
        ident = call.params[0]
        by = self._identifier_type(call, "identifierType")
        team = (self.teams_by_id if by == "id" else self.teams_by_name).get(ident)
        if team is None:
            if call.key.team_id is not None:
                raise _not_authorized("team")
            raise ApiError(404, f"No team exists with {by} [{ident}]")
        if not self._owned(call, team["id"]):
            raise _not_authorized("team")
        return Reply({k: team[k] for k in ("id", "name", "description", "members") if k in team})

    # -- schedules ---------------------------------------------------------------------------------

    def list_schedules(self, call: Call) -> Reply:
        expand = "rotation" in call.query.get("expand", "").split(",")

        def build() -> list[Payload]:
            return [
                s if expand else {**s, "rotations": []}
                for s in self.account.schedules
                if self._owned(call, (s.get("ownerTeam") or {}).get("id"))
            ]

        raw = self._cached(f"schedules:{expand}", call.key.team_id, build)
        return Reply(raw_data=raw, extra={"expandable": ["rotation"]})

    def _schedule(self, call: Call, *selectors: str) -> Payload:
        ident = call.params[0]
        by = self._identifier_type(call, *selectors)
        schedule = (self.schedules_by_id if by == "id" else self.schedules_by_name).get(ident)
        if schedule is None:
            if call.key.team_id is not None:  # OpsGenie answers a team key 403, not 404 (DXW)
                raise _not_authorized("schedule")
            raise ApiError(404, f"No schedule exists with {by} [{ident}]")
        if not self._owned(call, (schedule.get("ownerTeam") or {}).get("id")):
            raise _not_authorized("schedule")
        return schedule

    def get_schedule(self, call: Call) -> Reply:
        return Reply(self._schedule(call, "identifierType"))

    def get_rotations(self, call: Call) -> Reply:
        return Reply(self._schedule(call, "scheduleIdentifierType", "identifierType")["rotations"])

    def get_overrides(self, call: Call) -> Reply:
        schedule = self._schedule(call, "scheduleIdentifierType", "identifierType")
        return Reply(self.account.overrides.get(schedule["id"], []))

    def _date(self, call: Call) -> datetime:
        if call.query.get("date"):
            try:
                return timeline.parse_instant(call.query["date"])
            except ValueError:
                raise ApiError(422, f"Invalid date [{call.query['date']}]") from None
        return self.now()

    def _on_call(self, schedule: Payload, call: Call, moment: datetime) -> Payload:
        parent = {"id": schedule["id"], "name": schedule["name"], "enabled": schedule["enabled"]}
        overrides = self.account.overrides.get(schedule["id"], [])
        who = timeline.on_call_at(schedule, overrides, moment)
        if call.query.get("flat", "false").lower() == "true":
            names = timeline.flat_recipients(who, self.teams_by_id, self.escalations_by_id)
            return {"_parent": parent, "onCallRecipients": names}
        people = [
            timeline.participant_payload(w, self.teams_by_id, self.escalations_by_id) for w in who
        ]
        return {"_parent": parent, "onCallParticipants": people}

    def get_on_calls(self, call: Call) -> Reply:
        schedule = self._schedule(call, "scheduleIdentifierType", "identifierType")
        return Reply(self._on_call(schedule, call, self._date(call)))

    def all_on_calls(self, call: Call) -> Reply:
        moment = self._date(call)
        return Reply(
            [
                self._on_call(s, call, moment)
                for s in self.account.schedules
                if self._owned(call, (s.get("ownerTeam") or {}).get("id"))
            ]
        )

    def get_timeline(self, call: Call) -> Reply:
        schedule = self._schedule(call, "identifierType")
        zone = timeline.resolve_zone(schedule.get("timezone") or "UTC")
        amount = _int_param(call.query, "interval", 1, minimum=1)
        unit = call.query.get("intervalUnit", "weeks")
        if unit not in ("days", "weeks", "months"):
            raise ApiError(
                422, f"Invalid intervalUnit [{unit}]: must be one of [days, weeks, months]"
            )
        start = timeline.local_day_start(self._date(call), zone)
        end = timeline.add_interval(start, zone, amount, unit)
        expand = set(call.query.get("expand", "").split(","))
        lines = timeline.schedule_timeline(
            schedule, self.account.overrides.get(schedule["id"], []), start, end
        )

        def rotations(
            pick: Callable[[timeline.RotationTimeline], list[timeline.Period]],
        ) -> list[Payload]:
            return [
                {
                    "id": line.rotation.get("id", ""),
                    "name": line.rotation.get("name", ""),
                    "order": float(order),
                    "periods": timeline.period_payloads(pick(line)),
                }
                for order, line in enumerate(lines, start=1)
            ]

        data: Payload = {
            "_parent": {
                "id": schedule["id"],
                "name": schedule["name"],
                "enabled": schedule["enabled"],
            },
            "startDate": timeline.iso(start),
            "endDate": timeline.iso(end),
            "finalTimeline": {"rotations": rotations(lambda line: line.final)},
        }
        if "base" in expand:
            data["baseTimeline"] = {"rotations": rotations(lambda line: line.base)}
        if "override" in expand:
            only_overrides = [p for line in lines for p in line.final if p.kind == "override"]
            data["overrideTimeline"] = {
                "rotations": rotations(lambda line: [p for p in line.final if p.kind == "override"])
                if only_overrides
                else []
            }
        if "forwarding" in expand:
            rules = self.account.forwarding_rules
            forwarded = {id(line): timeline.forwarding_periods(line.final, rules) for line in lines}
            data["forwardingTimeline"] = {
                "rotations": rotations(lambda line: forwarded[id(line)])
                if any(forwarded.values())
                else []
            }
        return Reply(data, extra={"expandable": ["base", "forwarding", "override"]})

    # -- escalations -------------------------------------------------------------------------------

    def list_escalations(self, call: Call) -> Reply:
        def build() -> list[Payload]:
            return [
                e
                for e in self.account.escalations
                if self._owned(call, (e.get("ownerTeam") or {}).get("id"))
            ]

        return Reply(raw_data=self._cached("escalations", call.key.team_id, build))

    def get_escalation(self, call: Call) -> Reply:
        ident = call.params[0]
        by = self._identifier_type(call, "identifierType")
        escalation = (self.escalations_by_id if by == "id" else self.escalations_by_name).get(ident)
        if escalation is None:
            if call.key.team_id is not None:
                raise _not_authorized("escalation")
            raise ApiError(404, f"No escalation exists with {by} [{ident}]")
        if not self._owned(call, (escalation.get("ownerTeam") or {}).get("id")):
            raise _not_authorized("escalation")
        return Reply(escalation)

    # -- services ----------------------------------------------------------------------------------

    def list_services(self, call: Call) -> Reply:
        q = call.query
        limit = min(_int_param(q, "limit", 20, minimum=1), MAX_LIMIT)
        offset = _int_param(q, "offset", 0, minimum=0)
        services = [s for s in self.account.services if self._owned(call, s["teamId"])]
        sort, order = q.get("sort"), q.get("order", "asc").lower()
        if sort == "name":
            services.sort(key=lambda s: s["name"].casefold(), reverse=order == "desc")
        total = len(services)

        def link(at: int) -> str:
            url = f"{call.base_url}/v1/services?limit={limit}"
            return url + (f"&sort={sort}&offset={at}&order={order}" if sort else f"&offset={at}")

        paging = {"first": link(0)}
        if offset + limit < total:
            paging["next"] = link(offset + limit)
        paging["last"] = link(((total - 1) // limit) * limit if total else 0)
        headers = {f"X-Paging-{k.capitalize()}": v for k, v in paging.items()}
        return Reply(services[offset : offset + limit], extra={"paging": paging}, headers=headers)

    def get_service(self, call: Call) -> Reply:
        service = self.services_by_id.get(call.params[0])
        if service is None:
            raise ApiError(404, f"No service exists with id [{call.params[0]}]")
        if not self._owned(call, service["teamId"]):
            raise _not_authorized("service")
        return Reply(service)


def _filter_users(users: list[Payload], query_text: str) -> list[Payload]:
    """The minimal `query=field:value` filter (exact, case-insensitive); other queries ignored."""
    name, _, wanted = query_text.partition(":")
    if name not in USER_QUERY_FIELDS or not wanted:
        return users

    def value(user: Payload) -> str:
        raw = user.get(name)
        if isinstance(raw, dict):
            raw = raw.get("name")
        return str(raw).lower()

    return [u for u in users if value(u) == wanted.lower()]


def _phantom_user(n: int) -> Payload:
    """A user created while a client pages (the "shift_users" fault)."""
    return {
        "blocked": False,
        "verified": True,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"phantom-user-{n}")),
        "username": f"aaa.new.hire{n}@example.com",
        "fullName": f"New Hire {n}",
        "role": {"id": "User", "name": "User"},
        "timeZone": "Europe/London",
        "locale": "en_GB",
        "userAddress": {"country": "", "state": "", "city": "", "line": "", "zipCode": ""},
        "createdAt": "2026-11-01T00:00:00.0Z",
    }


def create_app(
    account: Account, config: EmulatorConfig | None = None, *, faults: FaultPlan | None = None
) -> EmulatorApp:
    """The emulator app for `account`; faults live on `app.state.faults`."""
    config = config or EmulatorConfig()
    return EmulatorApp(account, config, faults or FaultPlan(seed=config.fault_seed))
