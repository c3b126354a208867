"""Extract a complete raw snapshot of an OpsGenie account with the fewest requests the API
allows, fetching independent resources concurrently under the client's limits."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from oncall_sync.connectors.opsgenie import payloads
from oncall_sync.connectors.opsgenie.client import USERS_PAGE_SIZE, OpsGenieClient
from oncall_sync.connectors.opsgenie.errors import (
    NotFoundError,
    NotInPlanError,
    OpsGenieError,
    OutOfReachError,
    PagingError,
)
from oncall_sync.staging import FailedItem, Snapshot, Staging, write_snapshot

log = logging.getLogger(__name__)

# What a caller may ask for; contacts come with users and overrides with schedules.
ENTITY_TYPES = ("users", "teams", "schedules", "escalations", "services")
SNAPSHOT_FORMAT = 1
USER_READ_ATTEMPTS = 3
Progress = Callable[[str], None]


def minimum_requests(
    n_users: int, n_teams: int, n_schedules: int, n_services: int, with_contacts: bool
) -> int:
    """The fewest requests that read a whole account (all entity types), per the API's shape:

    1 account + 1 request-limits + ceil(max(users,1)/100) user pages + one contacts list per user
    (when contact details are on; contacts are only expandable on a single-user GET, so no
    cheaper way exists) + 1 team list + one GET per team (the list has no members) + 1 schedule
    list (expand=rotation inlines rotations) + one override list per schedule + 1 escalation
    list + ceil(max(services,1)/100) service pages.
    """
    return (
        2
        + math.ceil(max(n_users, 1) / USERS_PAGE_SIZE)
        + (n_users if with_contacts else 0)
        + 1
        + n_teams
        + 1
        + n_schedules
        + 1
        + math.ceil(max(n_services, 1) / USERS_PAGE_SIZE)
    )


@dataclass
class _Outcome:
    """What the concurrent fetches collect besides the records themselves."""

    failed: list[FailedItem] = field(default_factory=list)
    out_of_reach: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def fail(self, entity_type: str, source_id: str | None, reason: str, record: Any) -> None:
        self.failed.append(
            FailedItem(entity_type=entity_type, source_id=source_id, reason=reason, record=record)
        )

    def unreachable(self, entity_type: str, source_id: str) -> None:
        self.out_of_reach.setdefault(entity_type, []).append(source_id)


def _source_id(record: Any, key: str = "id") -> str | None:
    value = record.get(key) if isinstance(record, dict) else None
    return str(value) if value is not None else None


def validate_records(
    model: type[BaseModel],
    records: Iterable[Any],
    entity_type: str,
    outcome: _Outcome,
    id_key: str = "id",
) -> list[dict[str, Any]]:
    """Keep the raw records that the payload model accepts; the others become failed items."""
    kept: list[dict[str, Any]] = []
    for record in records:
        try:
            model.model_validate(record)
        except ValidationError as error:
            reasons = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
                for e in error.errors()[:5]
            )
            outcome.fail(
                entity_type, _source_id(record, id_key), f"invalid payload: {reasons}", record
            )
            continue
        kept.append(record)
    return kept


class _Reporter:
    def __init__(self, client: OpsGenieClient, progress: Progress | None) -> None:
        self.client = client
        self.progress = progress

    def __call__(self, message: str) -> None:
        line = f"{message} ({self.client.stats.total} requests so far)"
        # One channel only, so that a task log does not show every line twice.
        if self.progress:
            self.progress(line)
        else:
            log.info(line)


async def _read_users(client: OpsGenieClient, report: _Reporter) -> list[Any]:
    """Read the whole user list; if it shifts while we page (totalCount changes, an id repeats
    or the count does not add up), read it again from the start rather than drop or duplicate."""
    problem = ""
    for attempt in range(1, USER_READ_ATTEMPTS + 1):
        records: list[Any] = []
        ids: set[str] = set()
        totals: set[int] = set()
        problem = ""
        params: dict[str, str | int] = {
            "limit": USERS_PAGE_SIZE,
            "offset": 0,
            "sort": "username",
            "order": "asc",
        }
        async for page in client.pages("GET /v2/users", params=params):
            if page.total_count is not None:
                totals.add(page.total_count)
            for record in page.items:
                user_id = _source_id(record)
                if user_id is not None and user_id in ids:
                    problem = f"user {user_id} appeared twice"
                if user_id is not None:
                    ids.add(user_id)
                records.append(record)
        if len(totals) > 1:
            problem = f"totalCount changed while paging ({sorted(totals)})"
        elif totals and len(records) != next(iter(totals)):
            problem = f"read {len(records)} users but totalCount says {next(iter(totals))}"
        if not problem:
            return records
        report(f"users: the list shifted while paging ({problem}); reading it again")
        log.warning("users list shifted (attempt %d/%d): %s", attempt, USER_READ_ATTEMPTS, problem)
    raise PagingError(
        f"The users list kept changing while it was read ({problem}); someone is editing users "
        "right now: re-run the task when the account is quiet",
        endpoint="GET /v2/users",
    )


async def _children_of(
    client: OpsGenieClient,
    outcome: _Outcome,
    template: str,
    parent: tuple[str, str],
    child: tuple[str, type[BaseModel]],
    vanished: str,
    id_key: str = "id",
) -> list[dict[str, Any]] | None:
    """The validated list under one parent (a user's contacts, a schedule's overrides); None,
    with a failed item, when the parent is out of the key's reach or gone."""
    parent_type, parent_id = parent
    child_type, model = child
    try:
        data = await client.get_data(template, ids={"id": parent_id})
    except OutOfReachError as error:
        outcome.unreachable(parent_type, parent_id)
        outcome.fail(child_type, parent_id, f"out of the key's reach: {error}", None)
        return None
    except NotFoundError as error:
        outcome.fail(child_type, parent_id, f"{vanished}: {error}", None)
        return None
    records = data if isinstance(data, list) else []
    return validate_records(model, records, child_type, outcome, id_key)


async def _users_and_contacts(
    client: OpsGenieClient,
    snapshot: Snapshot,
    outcome: _Outcome,
    with_contacts: bool,
    report: _Reporter,
) -> None:
    raw_users = await _read_users(client, report)
    snapshot.users = validate_records(payloads.User, raw_users, "users", outcome)
    report(f"users: {len(snapshot.users)} read")
    if not with_contacts:
        return
    contacts: dict[str, list[dict[str, Any]]] = {}

    async def fetch(user_id: str) -> None:
        found = await _children_of(
            client,
            outcome,
            "GET /v2/users/{id}/contacts",
            ("users", user_id),
            ("contacts", payloads.Contact),
            "user vanished while reading contacts",
        )
        if found is not None:
            contacts[user_id] = found
            if len(contacts) % 1000 == 0:
                report(f"contacts: {len(contacts)} of {len(snapshot.users)} users read")

    async with asyncio.TaskGroup() as group:
        for user in snapshot.users:
            group.create_task(fetch(str(user["id"])))
    # Keep the users' order so that the file is stable between runs.
    snapshot.contacts = {
        str(u["id"]): contacts[str(u["id"])] for u in snapshot.users if str(u["id"]) in contacts
    }
    report(f"contacts: {sum(len(c) for c in snapshot.contacts.values())} read")


async def _team(
    client: OpsGenieClient, listed: dict[str, Any], outcome: _Outcome
) -> dict[str, Any] | None:
    team_id = str(listed["id"])
    try:
        data = await client.get_data("GET /v2/teams/{id}", ids={"id": team_id})
    except OutOfReachError as error:
        outcome.unreachable("teams", team_id)
        outcome.fail("teams", team_id, f"out of the key's reach: {error}", listed)
        return None
    except NotFoundError as error:
        outcome.fail("teams", team_id, f"team vanished between list and GET: {error}", listed)
        return None
    if not isinstance(data, dict):
        outcome.fail("teams", team_id, "GET /v2/teams/{id} returned no team object", listed)
        return None
    if "links" in listed and "links" not in data:
        data = {**data, "links": listed["links"]}
    return data


async def _teams(
    client: OpsGenieClient, snapshot: Snapshot, outcome: _Outcome, report: _Reporter
) -> None:
    listed = validate_records(
        payloads.TeamListItem, await _list(client, "GET /v2/teams"), "teams", outcome
    )
    found = await asyncio.gather(*(_team(client, item, outcome) for item in listed))
    snapshot.teams = validate_records(
        payloads.Team, [team for team in found if team is not None], "teams", outcome
    )
    report(f"teams: {len(snapshot.teams)} read")


async def _schedules_and_overrides(
    client: OpsGenieClient, snapshot: Snapshot, outcome: _Outcome, report: _Reporter
) -> None:
    # expand=rotation inlines every rotation: no GET per schedule (without it: rotations: []).
    raw = await _list(client, "GET /v2/schedules", {"expand": "rotation"})
    snapshot.schedules = validate_records(payloads.Schedule, raw, "schedules", outcome)
    report(f"schedules: {len(snapshot.schedules)} read")
    ids = [str(s["id"]) for s in snapshot.schedules]
    found = await asyncio.gather(
        *(
            _children_of(
                client,
                outcome,
                "GET /v2/schedules/{id}/overrides",
                ("schedules", i),
                ("overrides", payloads.ScheduleOverride),
                "schedule vanished",
                id_key="alias",
            )
            for i in ids
        )
    )
    snapshot.overrides = {i: o for i, o in zip(ids, found, strict=True) if o is not None}
    report(f"overrides: {sum(len(o) for o in snapshot.overrides.values())} read")


async def _escalations(
    client: OpsGenieClient, snapshot: Snapshot, outcome: _Outcome, report: _Reporter
) -> None:
    raw = await _list(client, "GET /v2/escalations")
    snapshot.escalations = validate_records(payloads.Escalation, raw, "escalations", outcome)
    report(f"escalations: {len(snapshot.escalations)} read")


async def _services(
    client: OpsGenieClient, snapshot: Snapshot, outcome: _Outcome, report: _Reporter
) -> bool:
    """Read services (on /v1); False when the plan or key does not allow them (skipped)."""
    records: list[Any] = []
    seen: set[str] = set()
    try:
        async for page in client.pages("GET /v1/services", params={"limit": 100, "offset": 0}):
            for record in page.items:
                service_id = _source_id(record)
                if service_id is not None and service_id in seen:
                    continue
                if service_id is not None:
                    seen.add(service_id)
                records.append(record)
    except (NotInPlanError, OutOfReachError) as error:
        outcome.skipped["services"] = f"{error.status}: {error}"
        report(f"services: skipped ({error.status})")
        return False
    snapshot.services = validate_records(payloads.Service, records, "services", outcome)
    report(f"services: {len(snapshot.services)} read")
    return True


async def _list(
    client: OpsGenieClient, template: str, params: dict[str, str | int] | None = None
) -> list[Any]:
    data = await client.get_data(template, params=params)
    return data if isinstance(data, list) else []


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first connector error in a (nested) group, else its first leaf."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        current = pending.pop(0)
        if isinstance(current, BaseExceptionGroup):
            pending = list(current.exceptions) + pending
        else:
            leaves.append(current)
    return next((e for e in leaves if isinstance(e, OpsGenieError)), leaves[0])


def _normalise(entity_types: Iterable[str]) -> set[str]:
    wanted = {e for e in entity_types if e not in ("contacts", "overrides")}
    unknown = wanted - set(ENTITY_TYPES)
    if unknown:
        raise ValueError(
            f"Unknown entity types {sorted(unknown)}; choose from {', '.join(ENTITY_TYPES)}"
        )
    return wanted


async def extract_snapshot(
    client: OpsGenieClient,
    *,
    entity_types: set[str],
    sync_contact_details: bool,
    progress: Progress | None = None,
) -> Snapshot:
    """Read the asked-for entity types of the account behind `client` into a raw Snapshot."""
    wanted = _normalise(entity_types)
    started = datetime.now(UTC)
    report = _Reporter(client, progress)
    snapshot = Snapshot()
    outcome = _Outcome()
    account = payloads.Account.model_validate(await client.account())
    limits = await client.load_rate_limits()
    report(f"account {account.name}: rate limits from {client.rate_limit_source}")
    if client.team_scoped_key:
        report(
            "warning: the API key is team-scoped (403 on /v2/request-limits/): lists show only "
            "its team's entities, so this snapshot is not the whole account"
        )

    services_ok = True
    try:
        async with asyncio.TaskGroup() as group:
            if "users" in wanted:
                group.create_task(
                    _users_and_contacts(client, snapshot, outcome, sync_contact_details, report)
                )
            if "teams" in wanted:
                group.create_task(_teams(client, snapshot, outcome, report))
            if "schedules" in wanted:
                group.create_task(_schedules_and_overrides(client, snapshot, outcome, report))
            if "escalations" in wanted:
                group.create_task(_escalations(client, snapshot, outcome, report))
            services_task = (
                group.create_task(_services(client, snapshot, outcome, report))
                if "services" in wanted
                else None
            )
    except BaseExceptionGroup as group:
        # Surface the person-readable error itself, not an ExceptionGroup traceback.
        raise _first_leaf(group) from None
    if services_task is not None:
        services_ok = services_task.result()

    client.stats.finished = time.monotonic()
    finished = datetime.now(UTC)
    written = [
        e
        for e in ("users", "contacts", "teams", "schedules", "overrides", "escalations", "services")
        if (e in wanted)
        or (e == "contacts" and "users" in wanted and sync_contact_details)
        or (e == "overrides" and "schedules" in wanted)
    ]
    if not services_ok:
        written.remove("services")
    if not ("users" in wanted and sync_contact_details):
        snapshot.contacts = None
    snapshot.failed = outcome.failed
    snapshot.manifest = {
        "format": SNAPSHOT_FORMAT,
        "source_system": "opsgenie",
        "source_account": account.name,
        "region": client.region,
        "api_base": client.base_url,
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "finished_at": finished.isoformat().replace("+00:00", "Z"),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "entity_types": written,
        "sync_contact_details": sync_contact_details,
        "counts": {
            "users": len(snapshot.users),
            "contacts": sum(len(c) for c in (snapshot.contacts or {}).values()),
            "teams": len(snapshot.teams),
            "schedules": len(snapshot.schedules),
            "overrides": sum(len(o) for o in snapshot.overrides.values()),
            "escalations": len(snapshot.escalations),
            "services": len(snapshot.services),
            "failed": len(snapshot.failed),
        },
        "skipped": outcome.skipped,
        "out_of_reach": {k: sorted(v) for k, v in outcome.out_of_reach.items()},
        "requests": {
            "total": client.stats.total,
            "by_endpoint": dict(sorted(client.stats.by_endpoint.items())),
        },
        "retries": client.stats.retries,
        "throttled_429": client.stats.throttled_429,
        "rate_limits": {
            domain: {"per_second": lim.per_second, "per_minute": lim.per_minute}
            for domain, lim in sorted(limits.items())
        },
        "rate_limit_source": client.rate_limit_source,
        # "team": lists were filtered to one team's entities; absence proves no deletion.
        "key_scope": "team" if client.team_scoped_key else "account",
    }
    report(
        "extract done: "
        + ", ".join(f"{k} {v}" for k, v in snapshot.manifest["counts"].items())
        + f"; {client.stats.retries} retries, {client.stats.throttled_429} throttled"
    )
    return snapshot


def extract_to_staging(
    client_factory: Callable[[], OpsGenieClient],
    staging: Staging,
    run_dir: str,
    *,
    entity_types: set[str],
    sync_contact_details: bool,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Extract and write the raw snapshot under `run_dir`/raw; the manifest plus its URI.

    The client is built inside the event loop this function runs, and always closed.
    """

    async def run() -> Snapshot:
        async with client_factory() as client:
            return await extract_snapshot(
                client,
                entity_types=entity_types,
                sync_contact_details=sync_contact_details,
                progress=progress,
            )

    snapshot = asyncio.run(run())
    raw = write_snapshot(staging, run_dir, snapshot)
    return {**snapshot.manifest, "snapshot_uri": raw}
