"""The scheduler's overhead: one whole DAG run through Airflow (`airflow dags test`, as
`make demo` runs it) against the emulator, compared with the same stages run without Airflow."""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.sync import DAG_ID, BenchSize, emulator_process, migrate_store
from oncall_sync.demo import airflow, demo_environment


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def dag_run_timings(airflow_db: Path) -> dict[str, Any]:
    """The latest run's wall time and each task's duration, from Airflow's metadata DB."""
    with sqlite3.connect(airflow_db) as db:
        run_id, state, start, end = db.execute(
            "SELECT run_id, state, start_date, end_date FROM dag_run WHERE dag_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (DAG_ID,),
        ).fetchone()
        tasks = db.execute(
            "SELECT task_id, state, start_date, end_date FROM task_instance "
            "WHERE dag_id = ? AND run_id = ?",
            (DAG_ID, run_id),
        ).fetchall()
    durations = {task: _seconds(s, e) for task, _, s, e in tasks}
    return {
        "run_id": run_id,
        "state": state,
        "task_states": {task: task_state for task, task_state, _, _ in tasks},
        "dag_run_seconds": _seconds(start, end),
        "task_seconds": {k: round(v, 3) for k, v in durations.items() if v is not None},
    }


def airflow_dag_run(
    workdir: Path, latency_ms: float, rate_limit_scale: float, size: str = "demo"
) -> dict[str, Any]:
    """Run the DAG once on `size` in a scratch AIRFLOW_HOME; time the command and the DAG run."""
    home = workdir / "airflow_home"
    home.mkdir(parents=True, exist_ok=True)
    log_file = workdir / "airflow.log"
    store_url = f"sqlite:///{workdir / 'airflow_store.db'}"
    with emulator_process(BenchSize.parse(size), latency_ms, rate_limit_scale) as emulator:
        env = demo_environment(emulator.base_url, emulator.api_key) | {
            "AIRFLOW_HOME": str(home),
            "ONCALL_SYNC_STORE_URL": store_url,
            "ONCALL_SYNC_STAGING": str(workdir / "airflow_staging"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
        started = time.perf_counter()
        airflow(env, "db", "migrate", log_file=log_file)
        migrate_store(store_url)
        airflow(env, "dags", "reserialize", log_file=log_file)
        setup_s = time.perf_counter() - started
        started = time.perf_counter()
        airflow(env, "dags", "test", DAG_ID, "-c", "{}", log_file=log_file)
        command_s = time.perf_counter() - started
    timings = dag_run_timings(home / "airflow.db")
    return {
        "size": size,
        "setup_seconds": round(setup_s, 2),  # db migrate + store migrate + reserialize, once
        "command_seconds": round(command_s, 2),  # `airflow dags test`, process start to exit
        **timings,
        "log": str(log_file),
        "python": sys.executable,
    }
