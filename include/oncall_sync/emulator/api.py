"""What every emulator handler shares: the request as handlers see it (`Call`), a success
(`Reply`), an OpsGenie error (`ApiError`), the key's scope and the common parameter checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

Region = Literal["us", "eu"]


class KeyInfo(BaseModel):
    """What an API key may do: its region, and the team it is bound to (None: global)."""

    region: Region = "us"
    team_id: str | None = None


class ApiError(Exception):
    """An OpsGenie error response."""

    def __init__(
        self,
        status: int,
        message: str,
        code: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = headers or {}


@dataclass
class Reply:
    """A success body: `data` (or `raw_data`, already JSON) plus envelope extras and headers.

    `result` is the human message OpsGenie adds on some answers; with neither `data` nor
    `raw_data` the body has no `data` key at all (a heartbeat ping's PONG)."""

    data: Any = None
    raw_data: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    result: str | None = None
    status: int = 200


@dataclass
class Call:
    """One request as the handlers see it."""

    params: list[str]
    query: dict[str, str]
    key: KeyInfo
    base_url: str
    user_shift: int


Handler = Callable[[Call], Reply]


def not_authorized(entity: str) -> ApiError:
    return ApiError(403, f"Api key is not authorized to access the {entity}", code=40301)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def owned(call: Call, team_id: str | None) -> bool:
    """Whether the call's key may see an entity of `team_id` (a team key: only its team's)."""
    return call.key.team_id is None or call.key.team_id == team_id


def identifier_type(call: Call, *names: str, allowed: tuple[str, ...] = ("id", "name")) -> str:
    """The identifier type the first present selector names (default the first allowed)."""
    for name in names:
        if name in call.query:
            value = call.query[name]
            if value not in allowed:
                raise ApiError(
                    422, f"Invalid {name} [{value}]: must be one of [{', '.join(allowed)}]"
                )
            return value
    return allowed[0]


def int_param(query: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    if name not in query:
        return default
    try:
        value = int(query[name])
    except ValueError:
        raise ApiError(422, f"Invalid {name} [{query[name]}]: must be an integer") from None
    if value < minimum:
        raise ApiError(422, f"Invalid {name} [{value}]: must be at least {minimum}")
    return value
