"""Bad records dropped into a good snapshot, synced (validate..load) onto a store that holds the
good account, and what became of each: imported (and how faithfully), quarantined or failed with
its reason, or the run stopped cleanly with the store untouched."""

from __future__ import annotations

import copy
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from oncall_sync.connectors.opsgenie import extract, payloads
from oncall_sync.quality import QuarantineThresholdExceeded
from oncall_sync.resolve import IMPORT_SUFFIX, DeletionGuardTripped
from oncall_sync.staging import Snapshot, Staging, load_snapshot, write_snapshot
from oncall_sync.store import schema
from oncall_sync.store.config import make_engine
from oncall_sync.store.repo import StoreWriteError
from tests.reliability.harness import FIGURES, dump, run_context, sync

# The errors that stop a run on purpose, with a message for people; anything else is a crash.
CLEAN_STOPS = (QuarantineThresholdExceeded, DeletionGuardTripped, StoreWriteError)
HUGE = "Ä" * 100_000

# Where a record of each snapshot collection lands in the store, and the column that shows it.
STORED_AS = {
    "users": (schema.person, "display_name", "fullName"),
    "contacts": (schema.contact_method, "address", "to"),
    "teams": (schema.team, "name", "name"),
    "schedules": (schema.schedule, "name", "name"),
    "escalations": (schema.escalation_policy, "name", "name"),
    "services": (schema.service, "name", "name"),
    "overrides": (schema.schedule_override, "alias", "alias"),
}


@dataclass
class Base:
    """The good account: its snapshot, a store that holds it, and what validate already said."""

    snapshot: Snapshot
    store_file: Path
    quarantined: set[tuple[str, str, str]]
    failed: set[tuple[str, str]]
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one bad record."""

    what: str
    # imported | imported-renamed | imported-altered | quarantined | failed | stopped |
    # silently-dropped
    kind: str
    reasons: list[str]


def make_base(raw_uri: str, folder: Path) -> Base:
    """Sync the good snapshot once; every bad run starts from a copy of that store."""
    store_file = folder / "base.db"
    url = f"sqlite:///{store_file}"
    ctx = run_context(folder / "staging", "base", snapshot_uri=raw_uri)
    sync(ctx, url, until="load")
    quarantine, failed = _findings(ctx)
    snapshot = load_snapshot(raw_uri)
    user, team, schedule = snapshot.users[0], snapshot.teams[0], snapshot.schedules[0]
    tokens = {
        "{user0}": user["id"],
        "{user0_name}": user["username"],
        "{team0}": team["id"],
        "{team0_name}": team["name"],
        "{schedule0}": schedule["id"],
        "{schedule0_name}": schedule["name"],
    }
    return Base(snapshot, store_file, quarantine, failed, tokens)


def _findings(ctx: Any) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    quarantine = {
        (q["entity_type"], q["source_id"], q["reason"])
        for q in ctx.staging.read_json(ctx.path("quality", "quarantine.json"))
    }
    failed_items = ctx.staging.read_json(ctx.path("canonical", "failed.json"))
    failed_items += ctx.staging.read_json(ctx.path("raw", "failed.json"))
    failed = {(str(f.get("source_id") or ""), str(f.get("reason") or "")) for f in failed_items}
    return quarantine, failed


def fill(value: Any, tokens: dict[str, str]) -> Any:
    """Corpus placeholders ({user0}, {team0_name}, {huge}, ...) made real."""
    if isinstance(value, str):
        if value == "{huge}":
            return HUGE
        for token, real in tokens.items():
            value = value.replace(token, real)
        return value
    if isinstance(value, list):
        return [fill(v, tokens) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, tokens) for k, v in value.items()}
    return value


# The payload model the extract checks each collection's records with, as the API returns them.
GATE = {
    "users": payloads.User,
    "contacts": payloads.Contact,
    "teams": payloads.Team,
    "schedules": payloads.Schedule,
    "escalations": payloads.Escalation,
    "services": payloads.Service,
    "overrides": payloads.ScheduleOverride,
}


def with_records(snapshot: Snapshot, records: list[dict[str, Any]]) -> Snapshot:
    """The snapshot the extract would have written had the API also returned `records`: each
    goes through the extract's own payload gate first (refused ones become failed items)."""
    bad = snapshot.model_copy(deep=True)
    gate = extract._Outcome()
    for entry in records:
        collection, record = entry["entity_type"], entry["record"]
        id_key = "alias" if collection == "overrides" else "id"
        if not extract.validate_records(GATE[collection], [record], collection, gate, id_key):
            continue
        if collection == "contacts":
            assert bad.contacts is not None
            bad.contacts.setdefault(entry["owner"], []).append(record)
        elif collection == "overrides":
            bad.overrides.setdefault(entry["owner"], []).append(record)
        else:
            getattr(bad, collection).append(record)
    bad.failed += gate.failed
    return bad


def _ids_in(record: Any) -> set[str]:
    """The record's own id and the ids of what it nests (rotations)."""
    if not isinstance(record, dict):
        return set()
    ids = {record["id"]} if isinstance(record.get("id"), str) else set()
    rotations = record.get("rotations")
    if isinstance(rotations, list):
        ids |= {r["id"] for r in rotations if isinstance(r, dict) and isinstance(r.get("id"), str)}
    return ids


def _ids_of(entry: dict[str, Any]) -> set[str]:
    ids = _ids_in(entry["record"])
    if entry["entity_type"] == "overrides" and isinstance(entry["record"], dict):
        alias = entry["record"].get("alias")
        ids |= {alias, f"{entry['owner']}:{alias}"} if isinstance(alias, str) else set()
    return ids


def _source_id(entry: dict[str, Any]) -> str | None:
    record = entry["record"]
    if not isinstance(record, dict):
        return None
    if entry["entity_type"] == "overrides":
        alias = record.get("alias")
        return f"{entry['owner']}:{alias}" if isinstance(alias, str) else None
    value = record.get("id")
    return value if isinstance(value, str) else None


def run_bad(
    base: Base,
    what: str,
    records: list[dict[str, Any]],
    folder: Path,
    store_url: str | None = None,
) -> list[Outcome]:
    """Sync the good account plus `records`; the outcome of each record. Raises on a crash.

    The store is a copy of the base store (SQLite), or `store_url` as it is (an empty one).
    """
    records = fill(copy.deepcopy(records), base.tokens)
    bad = with_records(base.snapshot, records)
    raw = write_snapshot(Staging(str(folder)), str(folder / "bad"), bad)
    if store_url is None:
        store_file = folder / "store.db"
        with sqlite3.connect(base.store_file) as source, sqlite3.connect(store_file) as target:
            source.backup(target)
        store_url = f"sqlite:///{store_file}"
    url = store_url
    engine = make_engine(url)
    try:
        before = dump(engine)
        ctx = run_context(folder / "staging", "bad", snapshot_uri=raw, max_quarantine_share=1.0)
        try:
            sync(ctx, url, until="load")
        except CLEAN_STOPS as stop:
            assert dump(engine) == before, f"{what}: a stopped run wrote to the store"
            return [Outcome(what, "stopped", [str(stop)]) for _ in records]
        quarantine, failed = _findings(ctx)
        new_quarantine = quarantine - base.quarantined
        new_failed = failed - base.failed
        return [_outcome(what, entry, new_quarantine, new_failed, engine) for entry in records]
    finally:
        engine.dispose()


def _outcome(
    what: str,
    entry: dict[str, Any],
    quarantine: set[tuple[str, str, str]],
    failed: set[tuple[str, str]],
    engine: Any,
) -> Outcome:
    record, collection = entry["record"], entry["entity_type"]
    ids = _ids_of(entry)
    reasons = [reason for _, source_id, reason in quarantine if source_id in ids]
    if reasons:
        return Outcome(what, "quarantined", reasons)
    reasons = [reason for source_id, reason in failed if source_id in ids]
    if reasons:
        return Outcome(what, "failed", reasons)
    source_id = _source_id(entry)
    table, column, field_name = STORED_AS[collection]
    if source_id is not None:
        with engine.connect() as conn:
            stored = conn.execute(
                select(table.c[column]).where(table.c.source_id == source_id)
            ).scalar_one_or_none()
        if stored is not None:
            sent = record.get(field_name)
            kind = (
                "imported"
                if stored == sent
                else "imported-renamed"
                if stored == f"{sent}{IMPORT_SUFFIX}"
                else "imported-altered"
            )
            return Outcome(what, kind, [repr(stored)[:80]])
    # No id to follow (a record that is not an object, or has no id): any new finding is its.
    if source_id is None and failed:
        return Outcome(what, "failed", [reason for _, reason in failed])
    if source_id is None and quarantine:
        return Outcome(what, "quarantined", [reason for _, _, reason in quarantine])
    return Outcome(what, "silently-dropped", [])


def tally(outcomes: list[Outcome], source: str) -> None:
    for outcome in outcomes:
        FIGURES["outcomes"][f"bad input ({source}): {outcome.kind}"] += 1


def load_corpus(folder: Path) -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
