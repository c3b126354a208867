"""The bridge between Airflow and the pipeline: turn a task's context into a RunContext, run the
pipeline function, time it, and hand back the small summary that becomes the XCom.

The DAG file imports this module on every parse, so it imports nothing heavy at the top: the
pipeline (pydantic models, fsspec) is imported when a task runs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncall_sync import pipeline

log = logging.getLogger(__name__)

TASKS = ("extract", "validate", "transform", "conflict_resolve", "load", "invite", "report")


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


def retry_delay(default: timedelta) -> timedelta:
    """How long a retried task waits before its next try: env ONCALL_SYNC_RETRY_DELAY_SECONDS,
    else `default`. Test deployments set seconds, so a failure past the retries shows at once."""
    value = os.environ.get("ONCALL_SYNC_RETRY_DELAY_SECONDS")
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(
            f"ONCALL_SYNC_RETRY_DELAY_SECONDS must be a positive number of seconds, got {value!r}"
        )
    return timedelta(seconds=seconds)


def run_context(context: Mapping[str, Any]) -> pipeline.RunContext:
    from oncall_sync import pipeline
    from oncall_sync.staging import Staging

    dag_run = context["dag_run"]
    params = pipeline.SyncParams.model_validate(dict(context["params"]))
    return pipeline.RunContext(
        dag_id=dag_run.dag_id, run_id=dag_run.run_id, params=params, staging=Staging()
    )


def is_permanent(error: BaseException) -> bool:
    """A failure no retry can fix: a rejected or malformed key, a redirect off the API's host,
    a plan without the API, paging that loops, a source that shrank past the guard, too much
    quarantined. Retrying would only wait minutes and knock on the API again with a bad key."""
    from oncall_sync.connectors.opsgenie.errors import (
        AuthenticationError,
        KeyFormatError,
        NotInPlanError,
        PagingError,
        UnsafeRedirectError,
    )
    from oncall_sync.resolve import DeletionGuardTripped

    permanent: tuple[type[BaseException], ...] = (
        AuthenticationError,
        KeyFormatError,
        NotInPlanError,
        PagingError,
        UnsafeRedirectError,
        DeletionGuardTripped,
    )
    from oncall_sync.invitations.links import LinkSetupError
    from oncall_sync.quality import QuarantineThresholdExceeded

    return isinstance(error, (*permanent, QuarantineThresholdExceeded, LinkSetupError))


def run_task(name: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Run one pipeline task for this DAG run; the returned summary is the task's XCom.

    A permanent failure fails the task at once (AirflowFailException), skipping its retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from oncall_sync import pipeline

    ctx = run_context(context)
    pipeline.tune_garbage_collector()
    try:
        result = _run_task(name, ctx, context)
    except Exception as error:
        # Kept in staging, so that the report of a failed run can say where and why.
        pipeline.record_task_outcome(ctx, name, error)
        if not is_permanent(error):
            raise
        raise AirflowFailException(f"{type(error).__name__}: {error}") from error
    pipeline.record_task_outcome(ctx, name, None)
    if name == "report" and result.get("status") == "failed":
        raise AirflowFailException(
            f"The run failed at {result['failed_task']}: {result['error']} "
            f"(the report says what happened: {result['report_html']})"
        )
    return result


def _run_task(name: str, ctx: pipeline.RunContext, context: Mapping[str, Any]) -> dict[str, Any]:
    from oncall_sync import pipeline

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
