"""A worker killed with SIGKILL in the middle of load, its transaction open, leaves the store
exactly as before; running load again from there gives exactly the store of an uninterrupted run.
On SQLite and PostgreSQL, with a real child process."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from oncall_sync.emulator.generator import generate_account
from tests.reliability.conftest import new_sqlite_store
from tests.reliability.harness import (
    ENTITY_TABLES,
    FIGURES,
    advisory_locks,
    changed_account,
    dump,
    row_counts,
    run_context,
    snapshot_of,
    spawn_worker,
    store_env,
    sync,
    wait_for_event,
)

TABLES = [*ENTITY_TABLES, "sync_run_item"]


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Yesterday's and today's account, extracted once and replayed by every run."""
    root = tmp_path_factory.mktemp("snapshots")
    before = generate_account("demo", 7)
    return {
        "v1": snapshot_of(before, root, "v1"),
        "v2": snapshot_of(changed_account(before), root, "v2"),
    }


def lock_is_held(store_url: str, engine: Engine) -> bool:
    """Another connection sees the load lock taken (not guessed from timing)."""
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        probe = sqlite3.connect(url.database or "", timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            return "locked" in str(error)
        finally:
            probe.close()
        return False
    return advisory_locks(engine, granted=True) > 0


def lock_is_released(store_url: str, engine: Engine, timeout: float = 30.0) -> bool:
    """The server ends a killed client's session when it notices the dropped connection, which
    takes a moment on a loaded machine: wait for that, with a deadline, instead of racing it."""
    deadline = time.monotonic() + timeout
    while lock_is_held(store_url, engine):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def plan_v2(staging: Path, store_url: str, snapshots: dict[str, str]) -> None:
    """Yesterday's sync applied, today's planned against it: load is the next step."""
    sync(run_context(staging, "v1", snapshot_uri=snapshots["v1"]), store_url, until="load")
    sync(
        run_context(staging, "v2", snapshot_uri=snapshots["v2"]),
        store_url,
        until="conflict_resolve",
    )


@pytest.mark.parametrize("pause_at", ["INSERT INTO person", "DELETE FROM sync_run_item"])
def test_a_load_killed_inside_its_transaction_leaves_the_store_as_before_and_reruns_clean(
    pause_at: str,
    store_url: str,
    snapshots: dict[str, str],
    tmp_path: Path,
    open_store: Callable[[str], Engine],
) -> None:
    staging = tmp_path / "staging"
    plan_v2(staging, store_url, snapshots)
    engine = open_store(store_url)
    before = dump(engine, TABLES)

    events = tmp_path / "events.log"
    worker = spawn_worker(store_url, events, "load", str(staging), "v2", pause_at=pause_at)
    wait_for_event(events, "paused", worker)
    assert lock_is_held(store_url, engine)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL

    # Nothing of the killed transaction survives, and its lock went with it.
    assert lock_is_released(store_url, engine)
    assert dump(engine, TABLES) == before

    rerun = spawn_worker(store_url, tmp_path / "rerun.log", "load", str(staging), "v2")
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read().decode() if rerun.stderr else ""

    # The store of a run nobody killed, built on a fresh store of the same engine.
    reference = reference_store(store_url, tmp_path, snapshots)
    with store_env(reference):
        assert dump(engine, TABLES) == dump(open_store(reference), TABLES)
    assert row_counts(engine)["sync_run_item"] > 0
    FIGURES["crashes"]["killed mid-load, store intact, rerun identical"] += 1


def reference_store(store_url: str, tmp_path: Path, snapshots: dict[str, str]) -> str:
    """An uninterrupted v1 then v2 sync. On SQLite a new file; on PostgreSQL the same engine
    kind, in a new SQLite file too: the dump holds no engine-specific values."""
    url = new_sqlite_store(tmp_path, "reference")
    staging = tmp_path / "reference-staging"
    sync(run_context(staging, "v1", snapshot_uri=snapshots["v1"]), url, until="load")
    sync(run_context(staging, "v2", snapshot_uri=snapshots["v2"]), url, until="load")
    return url
