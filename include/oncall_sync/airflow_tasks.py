"""The bridge between Airflow and the pipeline: turn a task's context into a RunContext, run the
pipeline function, time it, and hand back the small summary that becomes the XCom."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from oncall_sync import pipeline
from oncall_sync.staging import Staging

log = logging.getLogger(__name__)

TASKS = ("extract", "validate", "transform", "conflict_resolve", "load", "report")


def sync_schedule(default: str) -> str:
    """The cron of the nightly sync: env ONCALL_SYNC_SCHEDULE, else Variable oncall_sync_schedule.

    The Variable is read when the DAG file is parsed; any failure to reach it (no metadata DB in
    a unit test, say) falls back to the default rather than breaking the parse.
    """
    value = os.environ.get("ONCALL_SYNC_SCHEDULE")
    if value:
        return value
    try:
        from airflow.sdk import Variable

        return str(Variable.get("oncall_sync_schedule", default=default))
    except Exception:  # the DAG must parse even where Variables cannot be read
        return default


def run_context(context: Mapping[str, Any]) -> pipeline.RunContext:
    dag_run = context["dag_run"]
    params = pipeline.SyncParams.model_validate(dict(context["params"]))
    return pipeline.RunContext(
        dag_id=dag_run.dag_id, run_id=dag_run.run_id, params=params, staging=Staging()
    )


def run_task(name: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Run one pipeline task for this DAG run; the returned summary is the task's XCom."""
    ctx = run_context(context)
    started = time.monotonic()
    if name == "report":
        ti = context["ti"]
        summaries = {task: ti.xcom_pull(task_ids=task) or {} for task in TASKS if task != "report"}
        start_date = getattr(context["dag_run"], "start_date", None)
        result = pipeline.report(
            ctx, summaries, started_at=start_date if isinstance(start_date, datetime) else None
        )
    else:
        result = getattr(pipeline, name)(ctx)
    result = {**result, "duration_seconds": round(time.monotonic() - started, 3)}
    log.info("%s done in %.1f s", name, result["duration_seconds"])
    return result
