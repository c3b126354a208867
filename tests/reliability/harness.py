"""What the reliability tests share: a whole sync driven through the six pipeline functions, a
dump of the store that two runs can be compared by, and the tallies docs/reliability.md quotes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from oncall_sync import pipeline
from oncall_sync.connectors.opsgenie.client import OpsGenieClient, RetryPolicy
from oncall_sync.emulator.generator import Account
from oncall_sync.emulator.server import RunningEmulator, run_emulator
from oncall_sync.staging import Staging
from oncall_sync.store import schema
from oncall_sync.store.config import ENV_VAR

# Fast enough for tests, patient enough that a storm at a set rate never exhausts it.
FAST_RETRY = RetryPolicy(max_attempts=10, base_delay=0.005, max_delay=0.02)
DAG_ID = "opsgenie_sync"
PROJECT = Path(__file__).resolve().parents[2]

# Columns that differ between two runs of the same plan by design: clocks, run ids, and the
# surrogate keys (a PostgreSQL sequence is not rolled back with a killed transaction).
VOLATILE = {
    "created_at",
    "updated_at",
    "last_synced_at",
    "last_sync_run_id",
    "local_modified_at",
    "sync_run_id",
    "invited_at",
    "store_id",
}
# Tables that describe runs rather than the on-call configuration itself.
RUN_TABLES = {"sync_run", "sync_run_item", "alembic_version"}
ENTITY_TABLES = [t.name for t in schema.metadata.sorted_tables if t.name not in RUN_TABLES]

# Tallies for docs/reliability.md, printed at the end of the session (see conftest.py).
FIGURES: dict[str, Counter[str]] = {
    "faults_injected": Counter(),
    "client": Counter(),
    "outcomes": Counter(),
    "crashes": Counter(),
}


def client_factory(
    emulator: RunningEmulator, *, key: str | None = None, timeout: float = 2.0
) -> Callable[[], OpsGenieClient]:
    def build() -> OpsGenieClient:
        return OpsGenieClient(
            key or emulator.api_key,
            base_url=emulator.base_url,
            retry=FAST_RETRY,
            timeout=timeout,
            seed=11,
        )

    return build


def run_context(staging_root: Path, run_id: str, **params: Any) -> pipeline.RunContext:
    return pipeline.RunContext(
        DAG_ID, run_id, pipeline.SyncParams(**params), Staging(str(staging_root))
    )


@contextmanager
def store_env(url: str) -> Iterator[None]:
    """Point the pipeline's store (ONCALL_SYNC_STORE_URL) at `url` for the block."""
    before = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before


def sync(
    ctx: pipeline.RunContext,
    store_url: str,
    factory: Callable[[], OpsGenieClient] | None = None,
    *,
    until: str = "report",
) -> dict[str, Any]:
    """Run extract..`until` as the DAG does, in order; the summaries (XComs) by task."""
    summaries: dict[str, Any] = {}
    with store_env(store_url):
        summaries["extract"] = pipeline.extract(ctx, factory)
        for name in ("validate", "transform", "conflict_resolve", "load"):
            if until == "extract":
                break
            summaries[name] = getattr(pipeline, name)(ctx)
            if name == until:
                return summaries
        if until == "report":
            summaries["report"] = pipeline.report(ctx, summaries)
    return summaries


def note_client(summary: dict[str, Any]) -> None:
    """Count the extract's retries and 429s into the figures."""
    FIGURES["client"]["requests"] += summary.get("requests") or 0
    FIGURES["client"]["retries"] += summary.get("retries") or 0
    FIGURES["client"]["throttled_429"] += summary.get("throttled_429") or 0


def note_faults(emulator: RunningEmulator) -> None:
    FIGURES["faults_injected"].update(emulator.faults.injected)


def dump(engine: Engine, tables: list[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the on-call tables minus volatile columns, in a stable order."""
    wanted = tables or ENTITY_TABLES
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            if table.name not in wanted:
                continue
            columns = [
                c
                for c in table.columns
                if c.name not in VOLATILE and not c.foreign_keys and not c.primary_key
            ]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in schema.metadata.sorted_tables
        }


def entity_rows(engine: Engine) -> int:
    counts = row_counts(engine)
    return sum(counts[name] for name in ENTITY_TABLES)


def changed_account(account: Account) -> Account:
    """The account a day later: people renamed, teams renamed, zones moved, a newcomer."""
    changed = copy.deepcopy(account)
    for user in changed.users[::7]:
        user["fullName"] = user["fullName"] + " Jr."
    for team in changed.teams[::3]:
        team["name"] = team["name"] + " (renamed)"
    for schedule in changed.schedules[::4]:
        schedule["timezone"] = "America/Chicago"
    newcomer = {
        **changed.users[0],
        "id": "00000000-0000-4000-8000-00000000beef",
        "username": "newcomer@example.com",
        "fullName": "New Comer",
    }
    changed.users.append(newcomer)
    changed.contacts[newcomer["id"]] = []
    return changed


def snapshot_of(account: Account, staging_root: Path, run_id: str) -> str:
    """Extract `account` through the emulator once; the raw/ folder runs can replay."""
    with run_emulator(account) as emulator:
        ctx = run_context(staging_root, run_id)
        summary = pipeline.extract(ctx, client_factory(emulator))
    return str(summary["snapshot_uri"])


def spawn_worker(
    store_url: str,
    events: Path,
    *args: str,
    pause_at: str | None = None,
    release: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start tests/reliability/worker.py on the store (see its docstring for the arguments)."""
    command = [sys.executable, "-m", "tests.reliability.worker", *args, "--events", str(events)]
    if pause_at:
        command += ["--pause-at", pause_at]
    if release:
        command += ["--release", str(release)]
    env = {**os.environ, "ONCALL_SYNC_STORE_URL": store_url}
    return subprocess.Popen(
        command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_for_event(events: Path, word: str, worker: subprocess.Popen[bytes]) -> None:
    """Block until the worker writes `word`; fail with its stderr if it dies first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if events.exists() and any(
            line.split(" ", 2)[1] == word for line in events.read_text().splitlines()
        ):
            return
        if worker.poll() is not None:
            err = worker.stderr.read().decode() if worker.stderr else ""
            pytest.fail(f"the worker exited {worker.returncode} before '{word}':\n{err[-3000:]}")
        time.sleep(0.02)
    pytest.fail(f"the worker never wrote '{word}'")


def advisory_locks(engine: Engine, *, granted: bool) -> int:
    """Advisory locks held (granted) or waited for in this store's database. pg_locks is
    cluster-wide, and other test runs take the same lock in their own databases at the same time."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted = :granted AND database ="
                    " (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"granted": granted},
            ).scalar_one()
        )
