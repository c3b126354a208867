"""The PagerDuty emulator as an ASGI app: transport, keys and regions, errors, paging, rate
limits, latency and faults. The endpoints themselves live in people.py and schedules.py.

Configuration (`PagerDutyConfig`, live: tests may change it while the app runs):
- `api_keys`: secret -> `KeyInfo(kind, region, read_only, user_id)`; None gives the test keys
  below. `Authorization: Token token=<key>` for API keys, `Bearer <token>` for OAuth tokens.
  A key of the other service region gets 401 (the error for it is UNCONFIRMED; 401 is what the
  reference expects). Non-GET: 403 for read-only keys, 405 for the others (writes are not
  emulated).
- `latency_ms`, `rate_limits_enabled`, `rate_limit_per_minute` (960), `operation_limits`
  (`oncalls`: 600), `rate_limit_scale`: see limits.py. `throttle_headers=False` makes 429s bare
  (no `ratelimit-*` headers), as PagerDuty sometimes sends them.
- `auth_error_json=False`: 401s answer Rails' plain-text "HTTP Token: Access denied." instead of
  JSON (a 401 body is not always JSON, reference §1.5).
- `error_shape`: "standard" `{"error": {"code", "message", "errors": [...]}}`, or one of the odd
  shapes a parser must survive: "errors_string" (`errors` one string), "errors_map" (`errors`
  field -> messages), "error_array" (`error` a list of strings). Applies to every JSON error.
- `assignment_strategies_entitled=False`: `include[]=escalation_rule_assignment_strategies`
  answers 403, as on plans without round robin; `assignment_strategy_form` "string" (OAS) or
  "object" (`{"type": ...}`, TF's client).
- `dst_rule`: the rendering's DST rule (render.py, decision 3).
- `now`: the emulator's clock for rendering defaults and `/oncalls` (None: the account's `now`).
Faults: `app.faults` (a `FaultPlan` from emulator/faults.py), switched on by tests at runtime.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from oncall_sync.emulator.faults import FaultPlan, FaultRule
from oncall_sync.emulator.pagerduty.account import Account, Payload
from oncall_sync.emulator.pagerduty.calls import (
    ApiError,
    Call,
    Endpoint,
    KeyInfo,
    PagerDutyConfig,
    Reply,
    default_keys,
    not_found,
)
from oncall_sync.emulator.pagerduty.limits import KeyRateLimiter, LimitState
from oncall_sync.emulator.pagerduty.render import OnCall
from oncall_sync.emulator.pagerduty.routes import ROUTES, Index
from oncall_sync.emulator.transport import connection_fault, send_raw

JSON_TYPE = b"application/json; charset=utf-8"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class PagerDutyApp(Starlette):
    """The emulator; `account`, `config`, `faults`, `limiter` are live."""

    def __init__(self, account: Account, config: PagerDutyConfig, faults: FaultPlan) -> None:
        super().__init__()
        self.account, self.config, self.faults = account, config, faults
        self.keys = config.api_keys if config.api_keys is not None else default_keys(account)
        self.limiter = KeyRateLimiter(
            config.rate_limit_per_minute, config.operation_limits, config.rate_limit_scale
        )
        self.index = Index(account)
        # /oncalls answers by query (schedules.list_oncalls); the account does not change.
        self.oncalls_cache: dict[tuple[Any, ...], list[OnCall]] = {}
        self.routes_table = ROUTES
        self.state.account, self.state.config = account, config
        self.state.faults, self.state.limiter = faults, self.limiter

    @property
    def now(self) -> datetime:
        return self.config.now or self.account.now

    # -- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        fault = self.faults.pick(path) if self.faults.rules else None
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        if (
            fault is not None
            and fault.kind not in ("malformed", "shift_users")
            and await self._inject(fault, send, request_id)
        ):
            return
        limit_state: LimitState | None = None
        try:
            reply, limit_state = self.dispatch(scope, path)
            status = 200 if reply.body is not None else 204
            body = _dumps(reply.body) if reply.body is not None else b""
            headers = reply.headers
        except ApiError as error:
            if error.status == 401 and not self.config.auth_error_json:
                text = b"HTTP Token: Access denied.\n"
                await send_raw(send, 401, text, [(b"content-type", b"text/html; charset=utf-8")])
                return
            status, body, headers = error.status, self.error_body(error), error.headers
            limit_state = error.limit_state
        if fault is not None and fault.kind == "malformed" and status == 200:
            body = body[: max(1, len(body) // 2)]
        if limit_state is not None and (status != 429 or self.config.throttle_headers):
            headers = {**limit_state.headers(), **headers}
        await self._send(send, status, body, headers, request_id)

    async def _inject(self, fault: FaultRule, send: Send, request_id: str) -> bool:
        """Inject a response-level fault; True when it answered (or cut) the request."""
        handled = await connection_fault(fault, send)
        if handled is not None:
            return handled
        if fault.kind == "429":
            headers = {}
            if self.config.throttle_headers:
                limit = str(self.limiter.per_minute)
                headers = {
                    "ratelimit-limit": limit,
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(fault.period),
                }
            body = self.error_body(ApiError(429, 2020))
            await self._send(send, 429, body, headers, request_id)
            return True
        if fault.kind == "502":  # from the load balancer in front, not from the API: HTML
            html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            await send_raw(send, 502, html, [(b"content-type", b"text/html")])
            return True
        status = int(fault.kind)
        texts = {500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}
        body = _dumps({"error": {"message": texts.get(status, "Server Error"), "code": status}})
        await self._send(send, status, body, {}, request_id)
        return True

    def error_body(self, error: ApiError) -> bytes:
        """The error envelope in the configured shape (module docstring)."""
        shape = self.config.error_shape
        if shape == "error_array":
            return _dumps({"error": [error.message, *error.errors]})
        inner: Payload = {"message": error.message, "code": error.code}
        if error.errors:
            if shape == "errors_string":
                inner["errors"] = " ".join(error.errors)
            elif shape == "errors_map":
                inner["errors"] = {error.field_name: list(error.errors)}
            else:
                inner["errors"] = list(error.errors)
        return _dumps({"error": inner})

    async def _send(
        self, send: Send, status: int, body: bytes, headers: dict[str, str], request_id: str
    ) -> None:
        raw = [(b"content-type", JSON_TYPE), (b"x-request-id", request_id.encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send_raw(send, status, body, raw)

    # -- routing, auth, limits -------------------------------------------------------------------

    def dispatch(self, scope: Scope, path: str) -> tuple[Reply, LimitState | None]:
        secret, key = self.authenticate(scope)
        state: LimitState | None = None
        trimmed = path.strip("/")
        segments = tuple(unquote(s) for s in trimmed.split("/")) if trimmed else ()
        route = self._route(segments)
        if self.config.rate_limits_enabled:
            state = self.limiter.take(secret, route[1] if route else None)
            if not state.allowed:
                raise _with_state(ApiError(429, 2020), state)
        if route is None:
            raise _with_state(not_found(), state)
        endpoint, _operation, params = route
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            if key.read_only:
                raise _with_state(ApiError(403, 2010, ["This API key is read-only"]), state)
            raise _with_state(
                ApiError(405, 2001, [f"The emulator serves reads only, not {method}"]), state
            )
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(
            scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
        ):
            query.setdefault(name, []).append(value)
        call = Call(params, query, key, self.now, self.config, self.faults.user_shift)
        try:
            return endpoint(self, call), state
        except ApiError as error:
            raise _with_state(error, state) from None

    def _route(self, segments: tuple[str, ...]) -> tuple[Endpoint, str | None, list[str]] | None:
        for pattern, operation, endpoint in self.routes_table:
            if len(pattern) == len(segments) and all(
                p == "*" or p == s for p, s in zip(pattern, segments, strict=True)
            ):
                params = [s for p, s in zip(pattern, segments, strict=True) if p == "*"]
                return endpoint, operation, params
        return None

    def authenticate(self, scope: Scope) -> tuple[str, KeyInfo]:
        """The credential and what it may do; 401 for anything else (reference §1.2)."""
        header = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                header = value.decode("latin-1").strip()
                break
        secret = ""
        if header.startswith("Token token="):
            secret = header.removeprefix("Token token=").strip().strip('"')
            info = self.keys.get(secret)
            if info is not None and info.kind == "oauth":
                info = None  # an OAuth token goes in a Bearer header
        elif header.startswith("Bearer "):
            secret = header.removeprefix("Bearer ").strip()
            info = self.keys.get(secret)
            if info is not None and info.kind != "oauth":
                info = None
        else:
            info = None
        if info is None or info.region != self.account.region:
            raise ApiError(401, 2006)  # unknown, malformed, or bound to the other region
        return secret, info


def _with_state(error: ApiError, state: LimitState | None) -> ApiError:
    error.limit_state = state
    return error


def create_app(
    account: Account, config: PagerDutyConfig | None = None, *, faults: FaultPlan | None = None
) -> PagerDutyApp:
    """The PagerDuty emulator app for `account`; faults live on `app.faults`."""
    config = config or PagerDutyConfig()
    return PagerDutyApp(account, config, faults or FaultPlan(seed=config.fault_seed))
