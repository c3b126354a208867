"""The opsgenie_sync DAG run for real by Airflow (`airflow dags test`) against the emulator, with
the store on SQLite and on PostgreSQL: what the analyst and the operator rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from oncall_sync.demo import demo_environment
from oncall_sync.emulator.server import run_emulator
from oncall_sync.store import schema
from tests.store_fixtures import (  # noqa: F401  (fixtures are found by name)
    postgres_server,
    postgres_store_url,
    store,
)

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
ENTITY_TABLES = ("person", "team", "schedule", "rotation", "escalation_policy", "service")


@pytest.fixture(scope="module")
def airflow_ready() -> None:
    """Airflow's metadata DB (SQLite in the test AIRFLOW_HOME), with the DAG serialized."""
    env = demo_environment("http://127.0.0.1:1", "unused")
    for args in (["db", "migrate"], ["dags", "reserialize"]):
        subprocess.run([AIRFLOW, *args], env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    with run_emulator(size="tiny") as emu:
        yield emu


class Sync:
    """Runs the DAG against one store and one staging root, and reads back what it wrote."""

    def __init__(self, store_url: str, staging: Path, emulator: Any) -> None:
        self.store_url, self.staging, self.emulator = store_url, staging, emulator

    def env(self, emulator: Any | None = None) -> dict[str, str]:
        emu = emulator or self.emulator
        return demo_environment(emu.base_url, emu.api_key) | {
            "ONCALL_SYNC_STORE_URL": self.store_url,
            "ONCALL_SYNC_STAGING": str(self.staging),
        }

    def run(self, conf: dict[str, Any] | None = None, *, emulator: Any = None) -> dict[str, Any]:
        """One DAG run; returns its report.json, or raises with Airflow's output on failure."""
        result = subprocess.run(
            [AIRFLOW, "dags", "test", "opsgenie_sync", "-c", json.dumps(conf or {})],
            env=self.env(emulator),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise DagRunFailed(result.stdout + result.stderr + self.task_logs())
        return self.latest_report()

    def task(self, task_id: str, run_id: str) -> subprocess.CompletedProcess[str]:
        """Run one task of an existing DAG run again, inside Airflow."""
        return subprocess.run(
            [AIRFLOW, "tasks", "test", "opsgenie_sync", task_id, run_id],
            env=self.env(),
            capture_output=True,
            text=True,
        )

    @staticmethod
    def task_logs() -> str:
        """The newest attempt log of each task: where a failed task's error is."""
        logs = Path(os.environ["AIRFLOW_HOME"], "logs").glob("dag_id=opsgenie_sync/**/*.log")
        newest = sorted(logs, key=lambda p: p.stat().st_mtime)[-6:]
        return "\n".join(p.read_text(errors="replace") for p in newest)

    def latest_report(self) -> dict[str, Any]:
        reports = sorted(
            self.staging.glob("opsgenie_sync/*/report/report.json"), key=lambda p: p.stat().st_mtime
        )
        return json.loads(reports[-1].read_text())


class DagRunFailed(AssertionError):
    pass


@pytest.fixture
def sync(store: Engine, tmp_path: Path, emulator: Any, airflow_ready: None) -> Sync:  # noqa: F811
    return Sync(store.url.render_as_string(hide_password=False), tmp_path / "staging", emulator)


def count(engine: Engine, table: str, where: str = "", **params: Any) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(schema.metadata.tables[table])
        if where:
            query = query.where(text(where).bindparams(**params))
        return int(conn.execute(query).scalar_one())


def stable_snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, minus the columns that record when and by which run they were synced."""
    volatile = {"last_synced_at", "last_sync_run_id", "sync_run_id", "started_at", "finished_at"}
    with engine.connect() as conn:
        out = {}
        for table in schema.metadata.sorted_tables:
            if table.name in ("sync_run", "sync_run_item"):
                continue
            columns = [c for c in table.c if c.name not in volatile]
            out[table.name] = sorted(
                (tuple(str(v) for v in row) for row in conn.execute(select(*columns))), key=str
            )
        return out


def test_first_sync_imports_everything_and_an_unchanged_second_sync_writes_nothing(sync, store):  # noqa: F811
    first = sync.run()
    summary = first["summary"]
    assert summary["rows_written"] > 0 and not summary["dry_run"]
    account = sync.emulator.account
    assert first["source_counts"]["users"] == len(account.users)
    # Every source record ends in exactly one action, and the counts add up to the source.
    assert sum(first["entities"]["person"].values()) == len(account.users)
    assert all(row["adds_up"] for row in first["reconciliation"]), first["reconciliation"]
    assert sum(first["entities"]["schedule"].values()) == len(account.schedules)
    assert sum(first["entities"]["escalation_policy"].values()) == len(account.escalations)
    quarantined_contacts = sum(
        1 for q in first["quarantine"] if q["entity_type"] == "contact_method"
    )
    contacts = sum(len(c) for c in account.contacts.values())
    assert sum(first["entities"]["contact_method"].values()) + quarantined_contacts == contacts
    created_people = first["entities"]["person"].get("create", 0)
    assert count(store, "person") == created_people
    assert count(store, "schedule") == first["entities"]["schedule"].get("create", 0)
    assert count(store, "sync_run") == 1
    assert Path(sync.staging, first["tasks"]["extract"]["snapshot_uri"]).exists()
    # XCom carries summaries, never data: every task's summary stays small.
    for task, summary in first["tasks"].items():
        assert len(json.dumps(summary)) < 8_000, task

    second = sync.run()
    assert second["summary"]["rows_written"] == 0
    writes = {"create", "update", "tombstone", "skipped_local_edit", "conflict"}
    assert not writes & set(second["summary"]["actions"]), second["summary"]["actions"]
    assert second["summary"]["actions"]["unchanged"] == sum(
        first["summary"]["actions"].get(a, 0) for a in ("create", "update", "unchanged")
    )


def test_clearing_and_rerunning_any_task_leaves_the_same_store(sync, store):  # noqa: F811
    report = sync.run()
    before = stable_snapshot(store)
    run_id = report["summary"]["run"].split("/", 1)[1]
    # `airflow tasks test` runs one task of the existing run, as a cleared task runs again.
    for task_id in ("extract", "validate", "transform", "conflict_resolve", "load", "report"):
        result = sync.task(task_id, run_id)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert stable_snapshot(store) == before, f"re-running {task_id} changed the store"
    again = sync.latest_report()
    assert again["summary"]["run"] == report["summary"]["run"]
    # Re-planned after the load, every created record now reads as unchanged.
    assert again["summary"]["actions"].get("unchanged") == report["summary"]["actions"]["create"]
    assert again["summary"]["rows_written"] == 0


def test_preserve_local_keeps_a_local_edit_and_overwrite_source_replaces_it(sync, store):  # noqa: F811
    sync.run()
    team = sync.emulator.account.teams[0]
    with store.begin() as conn:
        conn.execute(
            text("UPDATE team SET description = 'edited by hand' WHERE source_id = :id"),
            {"id": team["id"]},
        )
    kept = sync.run({"conflict_strategy": "preserve_local"})
    assert kept["entities"]["team"].get("skipped_local_edit") == 1
    assert [c["source_id"] for c in kept["skipped_local_edit"]] == [team["id"]]
    with store.connect() as conn:
        description = conn.execute(
            text("SELECT description FROM team WHERE source_id = :id"), {"id": team["id"]}
        ).scalar_one()
    assert description == "edited by hand"

    replaced = sync.run({"conflict_strategy": "overwrite_source"})
    assert replaced["entities"]["team"].get("update") == 1
    with store.connect() as conn:
        description = conn.execute(
            text("SELECT description FROM team WHERE source_id = :id"), {"id": team["id"]}
        ).scalar_one()
    assert description == team.get("description", "")


def test_the_four_conflicts_appear_in_the_report_with_their_resolution(sync, store):  # noqa: F811
    from oncall_sync.store.migrate import migrate

    migrate(store)
    account = sync.emulator.account
    local_user = account.users[0]["username"].lower()
    with store.begin() as conn:  # objects created locally, before any sync
        conn.execute(
            schema.person.insert().values(email_norm=local_user, display_name="Local person")
        )
        conn.execute(schema.team.insert().values(name=account.teams[0]["name"]))
        conn.execute(
            schema.schedule.insert().values(
                name=account.schedules[0]["name"], time_zone="UTC", time_zone_raw="UTC"
            )
        )
    report = sync.run({"invite_users": "unmatched"})
    kinds = {c["kind"]: c for c in report["conflicts"]}
    assert set(kinds) >= {
        "user_not_found", "team_name_collision", "duplicate_schedule", "timezone_mismatch",
    }  # fmt: skip
    for conflict in kinds.values():
        assert conflict["resolution"], conflict
    matched = [
        c for c in report["created"] if c["entity_type"] == "person" and "matched" in c["reason"]
    ]
    assert len(matched) == 1
    assert (
        count(store, "person", "email_norm = :email", email=local_user) == 1
    )  # adopted, not duplicated
    assert count(store, "team") == len(account.teams) + 1  # the local team is left alone


def test_dry_run_plans_and_reports_but_writes_nothing(sync, store):  # noqa: F811
    report = sync.run({"dry_run": True})
    assert report["summary"]["dry_run"] is True
    assert report["summary"]["actions"].get("create", 0) > 0
    for table in ENTITY_TABLES:
        assert count(store, table) == 0
    assert count(store, "sync_run") == 0
    html = Path(sync.staging).glob("opsgenie_sync/*/report/report.html")
    assert "Dry run." in next(iter(html)).read_text()


def test_the_deletion_guard_stops_a_shrunken_source_before_load(sync, store):  # noqa: F811
    sync.run()
    before = stable_snapshot(store)
    full = sync.emulator.account
    shrunk = replace(full, schedules=full.schedules[: len(full.schedules) // 2])
    with run_emulator(account=shrunk) as small, pytest.raises(DagRunFailed) as failure:
        sync.run(emulator=small)
    assert "deletion guard" in str(failure.value)
    assert "schedule" in str(failure.value)
    # The report still runs, and tells the analyst where the run stopped and why.
    stopped = sync.latest_report()
    assert stopped["summary"]["status"] == "failed"
    assert stopped["summary"]["failed_task"] == "conflict_resolve"
    assert "vanished" in stopped["summary"]["error"]
    assert count(store, "sync_run", "status = 'failed'") == 1
    assert stable_snapshot(store) == before
    assert count(store, "schedule", "source_deleted_at IS NOT NULL") == 0
