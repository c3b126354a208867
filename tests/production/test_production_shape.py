"""The production shape run for real: docker-compose.yaml's services started natively from its
settings (CeleryExecutor, PostgreSQL metadata, Redis broker, the store on PostgreSQL, the
emulator), a sync triggered through the REST API with params, and a worker killed mid-extract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from sqlalchemy import create_engine, select, text

from oncall_sync.staging import path_component
from oncall_sync.store import schema
from tests.production.native import (
    API_SERVER,
    DAG_ID,
    DAG_PROCESSOR,
    SCHEDULER,
    TRIGGERER,
    WORKER,
    NativeShape,
    leftover_processes,
    wait_for,
)

pytestmark = pytest.mark.production

# What an operator would trigger: every entity type with contacts, the source wins over local
# edits, a looser deletion guard; written for real.
CONF: dict[str, Any] = {
    "entity_types": ["users", "teams", "schedules", "escalations", "services"],
    "sync_contact_details": True,
    "conflict_strategy": "overwrite_source",
    "deletion_guard_share": 0.5,
    "dry_run": False,
}
RUN_TIMEOUT = 300.0
# Columns that record when and by which run a row was written: they differ between any two runs.
WHEN_AND_WHICH_RUN = {
    "created_at",
    "updated_at",
    "last_synced_at",
    "last_sync_run_id",
    "local_modified_at",
    "invited_at",
    "sync_run_id",
    "started_at",
    "finished_at",
}


def store_tables(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every table of the store, every column but the run's own clock and id, rows sorted."""
    engine = create_engine(url)
    try:
        tables: dict[str, list[dict[str, Any]]] = {}
        with engine.connect() as conn:
            for table in schema.metadata.sorted_tables:
                columns = [
                    c
                    for c in table.columns
                    if c.name not in WHEN_AND_WHICH_RUN
                    and not (table.name == "sync_run" and c.name == "id")
                ]
                rows = [dict(row._mapping) for row in conn.execute(select(*columns))]
                tables[table.name] = sorted(
                    rows, key=lambda row: json.dumps(row, sort_keys=True, default=str)
                )
        return tables
    finally:
        engine.dispose()


def report_of(shape: NativeShape, run_id: str) -> dict[str, Any]:
    path = shape.staging / DAG_ID / path_component(run_id) / "report" / "report.json"
    return dict(json.loads(path.read_text()))


@pytest.fixture(scope="module")
def reference(shape: NativeShape) -> Iterator[dict[str, Any]]:
    """An undisturbed sync into an empty store: its run id and every table afterwards."""
    api = shape.api
    assert api is not None
    api.unpause(DAG_ID)
    # Unpausing starts the latest nightly run (catchup is off, the latest interval still runs):
    # let it finish, then start from an empty store.
    wait_for(
        "the nightly run that unpausing starts",
        lambda: (
            [r for r in api.runs(DAG_ID) if r["run_type"] == "scheduled"]
            and all(r["state"] in ("success", "failed") for r in api.runs(DAG_ID))
        ),
        RUN_TIMEOUT,
    )
    shape.reset_store()
    run_id = api.trigger(DAG_ID, CONF)
    api.wait_for_run(DAG_ID, run_id, RUN_TIMEOUT)
    yield {"run_id": run_id, "tables": store_tables(shape.store_url)}


def test_compose_services_run_natively_on_celery_postgres_and_redis(
    shape: NativeShape, reference: dict[str, Any]
) -> None:
    names = {process.name for process in shape.processes if process.alive()}
    assert {API_SERVER, SCHEDULER, DAG_PROCESSOR, TRIGGERER} <= names
    assert {f"{WORKER}-1", f"{WORKER}-2"} <= names
    assert shape.env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # The broker's queues live in Redis under this run's prefix, and Celery's results in the
    # scratch metadata database on PostgreSQL: the run went through both.
    assert any(key.endswith(b"_kombu.binding.default") for key in shape.redis.keys_left())
    engine = create_engine(shape.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    try:
        with engine.connect() as conn:
            results = conn.execute(
                text("SELECT status, count(*) FROM celery_taskmeta GROUP BY status")
            ).all()
    finally:
        engine.dispose()
    assert dict(results).get("SUCCESS", 0) >= 6  # the six tasks of the reference run
    assert shape.store_url.startswith("postgresql+psycopg://")


def test_a_sync_triggered_through_the_rest_api_runs_with_its_params(
    shape: NativeShape, reference: dict[str, Any]
) -> None:
    report = report_of(shape, reference["run_id"])
    assert report["summary"]["status"] == "success"
    params = report["sync_run"]["params"]
    assert params["conflict_strategy"] == "overwrite_source"
    assert params["deletion_guard_share"] == 0.5
    assert params["dry_run"] is False
    assert report["summary"]["rows_written"] > 0
    tables = reference["tables"]
    users = report["source_counts"]["users"]
    assert len(tables["person"]) == len(tables["invitation"]) == users
    assert len(tables["contact_method"]) == report["source_counts"]["contacts"]
    [run] = tables["sync_run"]
    assert (run["status"], run["conflict_strategy"]) == ("success", "overwrite_source")


def test_a_worker_killed_mid_extract_is_retried_on_the_other_and_the_store_ends_identical(
    shape: NativeShape, reference: dict[str, Any]
) -> None:
    api = shape.api
    assert api is not None
    shape.reset_store()
    run_id = api.trigger(DAG_ID, CONF)
    raw_manifest = shape.staging / DAG_ID / path_component(run_id) / "raw" / "manifest.json"

    def mid_extract() -> dict[str, Any] | None:
        ti = api.task(DAG_ID, run_id, "extract")
        if ti["state"] != "running" or ti["try_number"] != 1 or not ti.get("pid"):
            return None
        log = api.log(DAG_ID, run_id, "extract", 1)
        # Past the users list, before the end: extract is reading the account.
        return ti if "users: " in log and "extract done" not in log else None

    first = wait_for("extract to be reading the account", mid_extract, RUN_TIMEOUT, every=0.2)
    victim = shape.worker_running(int(first["pid"]))
    assert victim is not None, f"no worker runs extract's process {first['pid']}"
    assert not raw_manifest.exists()
    killed = shape.kill_worker(victim)
    assert leftover_processes(killed) == []
    [survivor] = [w for w in shape.workers if w is not victim]
    assert survivor.alive()

    def second_try_running() -> dict[str, Any] | None:
        ti = api.task(DAG_ID, run_id, "extract")
        running = ti["try_number"] >= 2 and ti["state"] == "running" and ti.get("pid")
        return ti if running else None

    second = wait_for("extract's retry to start", second_try_running, RUN_TIMEOUT, every=0.2)
    assert shape.worker_running(int(second["pid"])) is survivor
    api.wait_for_run(DAG_ID, run_id, RUN_TIMEOUT)

    tries = {t["try_number"]: t for t in api.tries(DAG_ID, run_id, "extract")}
    assert tries[1]["state"] != "success"
    final = api.task(DAG_ID, run_id, "extract")
    assert (final["try_number"], final["state"]) == (2, "success")
    assert report_of(shape, run_id)["summary"]["status"] == "success"
    disturbed = store_tables(shape.store_url)
    for table, rows in reference["tables"].items():
        assert disturbed[table] == rows, f"table {table} differs from the undisturbed run's"


def test_stopping_the_shape_leaves_no_process_database_or_redis_key(shape: NativeShape) -> None:
    started = [p.pid for process in shape.processes for p in process.tree()]
    databases = list(shape.databases)
    assert started and len(databases) == 2
    shape.stop()
    assert leftover_processes(started) == []
    assert leftover_processes(shape.stopped_pids) == []
    assert [name for name in databases if shape.postgres.exists(name)] == []
    assert shape.redis.keys_left() == []
    assert not any(p.info["pid"] in started for p in psutil.process_iter(["pid"]))
