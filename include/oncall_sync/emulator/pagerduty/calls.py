"""What the PagerDuty emulator's endpoints share: its configuration and keys, the request as
endpoints see it (`Call`), their answer (`Reply`), PagerDuty's errors and classic offset paging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from oncall_sync.emulator.pagerduty.account import Account, Payload, Region
from oncall_sync.emulator.pagerduty.limits import (
    DEFAULT_OPERATION_LIMITS,
    PER_KEY_PER_MINUTE,
    LimitState,
)
from oncall_sync.emulator.pagerduty.render import (
    DstRule,
    UnknownZone,
    parse_instant,
    resolve_zone,
)

if TYPE_CHECKING:
    from oncall_sync.emulator.pagerduty.app import PagerDutyApp

# Test credentials only: they open nothing but an emulator. API keys are 20 characters like
# PagerDuty's; each is recognisable in a leak search.
TEST_API_KEY = "u+PDemuUSacct0000001"
TEST_EU_API_KEY = "u+PDemuEUacct0000002"
TEST_READ_ONLY_API_KEY = "u+PDemuReadOnly00003"
TEST_USER_API_KEY = "u+PDemuUserKey000004"
TEST_OAUTH_TOKEN = "pdus+PDemuOAuthToken00000005"
TEST_KEYS = (
    TEST_API_KEY,
    TEST_EU_API_KEY,
    TEST_READ_ONLY_API_KEY,
    TEST_USER_API_KEY,
    TEST_OAUTH_TOKEN,
)

OFFSET_CAP = 10_000  # offset + limit, for classic paging
MAX_LIMIT = 100
ErrorShape = Literal["standard", "errors_string", "errors_map", "error_array"]

# PagerDuty's error codes (DEV-ERR) and the messages the emulator sends with them; the texts of
# 2004, 2005, 2006 and 2014 are UNCONFIRMED.
MESSAGES: dict[int, str] = {
    2001: "Invalid Input Provided",
    2002: "Arguments Caused Error",
    2004: "Invalid Since or Until",
    2005: "Invalid Date Range",
    2006: "Authentication failed",
    2010: "Access Denied",
    2014: "Account does not have the abilities to perform the action",
    2020: "Rate Limit Exceeded",
    2100: "Not Found",
}


class KeyInfo(BaseModel):
    """What a credential is: an account key, a user key, or an OAuth token; its region; whether
    it may only read; the user it acts as (user keys and user OAuth tokens)."""

    kind: Literal["account", "user", "oauth"] = "account"
    region: Region = "us"
    read_only: bool = False
    user_id: str | None = None


class PagerDutyConfig(BaseModel):
    """The knobs of one PagerDuty emulator (see the module docstring)."""

    api_keys: dict[str, KeyInfo] | None = None
    latency_ms: float = Field(default=0.0, ge=0)
    rate_limits_enabled: bool = True
    rate_limit_per_minute: int = Field(default=PER_KEY_PER_MINUTE, gt=0)
    operation_limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_OPERATION_LIMITS))
    rate_limit_scale: float = Field(default=1.0, gt=0)
    throttle_headers: bool = True
    auth_error_json: bool = True
    error_shape: ErrorShape = "standard"
    assignment_strategies_entitled: bool = True
    assignment_strategy_form: Literal["string", "object"] = "string"
    dst_rule: DstRule = "wall_clock_days"
    now: datetime | None = None
    fault_seed: int = 0


def default_keys(account: Account) -> dict[str, KeyInfo]:
    """The test keys: an account key per region, and in the account's region a read-only key,
    a user key and a user OAuth token acting as the account's owner."""
    owners = [u["id"] for u in account.users if u.get("role") == "owner"]
    first_user = owners[0] if owners else (account.users[0]["id"] if account.users else None)
    return {
        TEST_API_KEY: KeyInfo(region="us"),
        TEST_EU_API_KEY: KeyInfo(region="eu"),
        TEST_READ_ONLY_API_KEY: KeyInfo(region=account.region, read_only=True),
        TEST_USER_API_KEY: KeyInfo(kind="user", region=account.region, user_id=first_user),
        TEST_OAUTH_TOKEN: KeyInfo(kind="oauth", region=account.region, user_id=first_user),
    }


def key_for_region(region: Region) -> str:
    return TEST_API_KEY if region == "us" else TEST_EU_API_KEY


class ApiError(Exception):
    """A PagerDuty error answer: status, code, and the details of `errors`."""

    def __init__(
        self,
        status: int,
        code: int,
        errors: list[str] | None = None,
        *,
        message: str | None = None,
        field_name: str = "base",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status, self.code, self.errors = status, code, errors or []
        self.message = message or MESSAGES.get(code, "Error")
        self.field_name = field_name  # for the "errors_map" shape
        self.headers = headers or {}
        self.limit_state: LimitState | None = None  # the rate-limit headers to answer with
        super().__init__(f"{status} {code} {self.message}: {'; '.join(self.errors)}")


def invalid(detail: str, field_name: str = "base") -> ApiError:
    return ApiError(400, 2001, [detail], field_name=field_name)


def not_found() -> ApiError:
    return ApiError(404, 2100)


def found(objects: Mapping[str, Payload], ident: str) -> Payload:
    """The object with id `ident`, or PagerDuty's 404."""
    obj = objects.get(ident)
    if obj is None:
        raise not_found()
    return obj


@dataclass
class Reply:
    """A success: the JSON body (None: 204 No Content) and extra headers."""

    body: Payload | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One request as the endpoint functions see it."""

    params: list[str]
    query: dict[str, list[str]]
    key: KeyInfo
    now: datetime
    config: PagerDutyConfig
    user_shift: int = 0

    def one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def many(self, name: str) -> list[str]:
        """A set filter or include: `name[]` repeated (a plain `name` is taken too)."""
        return [*self.query.get(f"{name}[]", []), *self.query.get(name, [])]

    def includes(self) -> set[str]:
        return set(self.many("include"))

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.one(name)
        if value is None or value == "":
            return default
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise invalid(f"{name} must be true, false, 1 or 0, not {value!r}", name)

    def integer(self, name: str, default: int) -> int:
        value = self.one(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise invalid(f"{name} must be an integer, not {value!r}", name) from None

    def zone_name(self, default: str) -> str:
        """The `time_zone` parameter (IANA or Rails name), checked; `default` without one."""
        name = self.one("time_zone") or default
        try:
            resolve_zone(name)
        except UnknownZone:
            raise invalid(f"time_zone {name!r} is not a known time zone", "time_zone") from None
        return name

    def instant(self, name: str, zone_name: str) -> datetime | None:
        value = self.one(name)
        if value is None or value == "":
            return None
        try:
            return parse_instant(value, resolve_zone(zone_name))
        except ValueError:
            raise ApiError(400, 2004, [f"{name} is not a valid date: {value!r}"]) from None

    def window(
        self, zone_name: str, *, default_span: timedelta | None
    ) -> tuple[datetime, datetime] | None:
        """`since`/`until`: a missing one is the other -/+ `default_span`; both missing: None."""
        since, until = self.instant("since", zone_name), self.instant("until", zone_name)
        if since is None and until is None:
            return None
        if default_span is None and (since is None or until is None):
            missing = "since" if since is None else "until"
            raise ApiError(400, 2004, [f"{missing} is required"])
        span = default_span or timedelta()
        if since is None:
            assert until is not None
            since = until - span
        if until is None:
            until = since + span
        if until < since:
            raise ApiError(400, 2005, ["until must not be before since"])
        return since, until


def paged(
    call: Call,
    items: list[Any],
    key: str,
    *,
    default_limit: int = 25,
    max_limit: int = MAX_LIMIT,
    with_total: bool = True,
    cap: int | None = OFFSET_CAP,
) -> tuple[list[Any], Payload]:
    """Classic offset paging: the page of `items` and the envelope (`limit`, `offset`, `more`,
    `total`). Decision: a `limit` above the maximum is clamped (the reference leaves clamp or
    400 open); the cap applies to offset + the clamped limit."""
    limit = call.integer("limit", default_limit)
    offset = call.integer("offset", 0)
    if limit < 1:
        raise invalid(f"limit must be at least 1, not {limit}", "limit")
    if offset < 0:
        raise invalid(f"offset must not be negative, not {offset}", "offset")
    limit = min(limit, max_limit)
    if cap is not None and offset + limit > cap:
        raise ApiError(
            400,
            2002,
            [
                f"Offset+limit exceeds maximum allowed value of {cap}. "
                "Please try to refine your search to reduce the number of results."
            ],
        )
    page = items[offset : offset + limit]
    envelope: Payload = {key: page, "limit": limit, "offset": offset}
    envelope["more"] = offset + len(page) < len(items)
    if with_total:
        envelope["total"] = len(items) if call.flag("total") else None
    return page, envelope


Endpoint = Callable[["PagerDutyApp", Call], Reply]
