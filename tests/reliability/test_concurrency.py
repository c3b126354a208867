"""Two syncs at once never interleave their loads: the DAG allows one active run, and the store's
load lock (PostgreSQL advisory lock, SQLite BEGIN IMMEDIATE) makes a second writer, from any
deployment, wait for the first or fail cleanly. Real processes on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from oncall_sync.emulator.generator import generate_account
from oncall_sync.model import Plan
from oncall_sync.store.config import make_engine
from oncall_sync.store.repo import apply_plan
from tests.reliability.conftest import new_sqlite_store
from tests.reliability.harness import (
    ENTITY_TABLES,
    FIGURES,
    PROJECT,
    advisory_locks,
    changed_account,
    dump,
    run_context,
    snapshot_of,
    spawn_worker,
    sync,
    wait_for_event,
)


def test_the_dag_allows_one_active_run_at_a_time() -> None:
    # Read from the DAG file itself: the decorator's argument is what the scheduler gets.
    tree = ast.parse((PROJECT / "dags" / "opsgenie_sync.py").read_text())
    settings = {
        kw.arg: kw.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dag"
        for kw in node.keywords
    }
    assert ast.literal_eval(settings["max_active_runs"]) == 1


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two plans made against the same empty store: two deployments syncing at once."""
    root = tmp_path_factory.mktemp("plans")
    before = generate_account("tiny", 7)
    url = new_sqlite_store(root)
    out: dict[str, str] = {}
    for run_id, account in (("first", before), ("second", changed_account(before))):
        uri = snapshot_of(account, root / "snapshots", run_id)
        ctx = run_context(root / "staging", run_id, snapshot_uri=uri)
        sync(ctx, url, until="conflict_resolve")
        out[run_id] = ctx.path("plan", "plan.json")
    return out


def events_of(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(" ", 2)[:2]) for line in path.read_text().splitlines()]  # type: ignore[misc]


def waiting_on_the_advisory_lock(engine: Engine) -> bool:
    return advisory_locks(engine, granted=False) > 0


def test_a_second_load_waits_for_the_first_and_both_land_in_order(
    store_url: str, plans: dict[str, str], tmp_path: Path, open_store: Callable[[str], Engine]
) -> None:
    events, release = tmp_path / "events.log", tmp_path / "release"
    first = spawn_worker(
        store_url, events, "apply", plans["first"], pause_at="INSERT INTO person", release=release
    )
    wait_for_event(events, "paused", first)
    second = spawn_worker(store_url, events, "apply", plans["second"])
    wait_for_event(events, "attempting", second)

    engine = open_store(store_url)
    if make_url(store_url).get_backend_name() == "postgresql":
        # Seen, not assumed: the second backend queues on the advisory lock.
        deadline = time.monotonic() + 60
        while not waiting_on_the_advisory_lock(engine):
            assert time.monotonic() < deadline, "the second load never queued on the lock"
            time.sleep(0.05)
    else:
        time.sleep(1.0)  # room for a broken lock to let the second writer in; it must not
    assert ("acquired", second.pid) not in [(w, int(p)) for p, w in events_of(events)]
    release.touch()

    assert first.wait(timeout=120) == 0
    assert second.wait(timeout=120) == 0
    order = [(int(pid), word) for pid, word in events_of(events)]
    first_commit = order.index((first.pid, "committing"))
    second_lock = order.index((second.pid, "acquired"))
    assert order.index((first.pid, "acquired")) < first_commit < second_lock

    assert dump(engine) == serial_store(tmp_path, plans)
    FIGURES["crashes"]["concurrent loads serialized"] += 1


def serial_store(tmp_path: Path, plans: dict[str, str]) -> dict[str, list[tuple[object, ...]]]:
    """The two plans applied one after the other, in one process."""
    engine = make_engine(new_sqlite_store(tmp_path, "serial"))
    try:
        for run_id in ("first", "second"):
            apply_plan(engine, Plan.model_validate_json(Path(plans[run_id]).read_text()))
        return dump(engine, ENTITY_TABLES)
    finally:
        engine.dispose()


def test_a_second_sqlite_load_that_cannot_wait_fails_cleanly_and_writes_nothing(
    plans: dict[str, str], tmp_path: Path, open_store: Callable[[str], Engine]
) -> None:
    store_url = new_sqlite_store(tmp_path)
    events, release = tmp_path / "events.log", tmp_path / "release"
    first = spawn_worker(
        store_url, events, "apply", plans["first"], pause_at="INSERT INTO person", release=release
    )
    wait_for_event(events, "paused", first)
    # A deployment whose busy timeout runs out while the first load holds the lock.
    second = spawn_worker(store_url, events, "apply", plans["second"], "--busy-ms", "50")
    assert second.wait(timeout=60) == 1
    release.touch()
    assert first.wait(timeout=120) == 0

    error = next(line for line in events.read_text().splitlines() if " error " in line)
    assert "StoreWriteError" in error and "nothing was written" in error
    assert "another load holds the store's write lock" in error
    only_first = make_engine(new_sqlite_store(tmp_path, "only-first"))
    try:
        apply_plan(only_first, Plan.model_validate_json(Path(plans["first"]).read_text()))
        assert dump(open_store(store_url)) == dump(only_first)
    finally:
        only_first.dispose()
    FIGURES["crashes"]["second load refused cleanly"] += 1
