"""The Sync reports web app the Airflow plugin mounts on the API server: the list of runs with
their chart and filters, each run's page, its items as CSV or JSON, and its report.html.

Decisions:
- Airflow mounts plugin apps without its own authentication, and reports name people: every
  route requires the caller's Airflow login (the UI's session cookie, or a bearer token) and
  shows only runs of DAGs the user may read (`airflow_dag_access`; tests pass their own).
- Server-side rendering, with the charts as inline SVG: the pages work inside the UI's iframe
  with no script and nothing fetched from elsewhere.
- Links are relative, so the pages work under any prefix the API server is proxied at.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures' annotations at
# runtime, including the Annotated aliases defined inside create_app.
import csv
import io
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from oncall_sync.reports_ui import charts
from oncall_sync.reports_ui.catalog import (
    ITEMS_PER_PAGE,
    RUNS_PER_PAGE,
    Catalog,
    NoSuchRun,
    Page,
    RunFilter,
    choices,
    items_json,
)
from oncall_sync.reports_ui.reader import CHARTED, ITEM_FIELDS, OUTCOMES, RunDigest
from oncall_sync.staging import default_root

# "May this caller read dag_id's runs?", answered by a dependency that authenticates the caller.
ReadableDags = Callable[[str], bool]
AccessDependency = Callable[..., Awaitable[ReadableDags] | ReadableDags]
CHARTED_RUNS = 30  # the chart shows the newest runs that pass the filters, oldest on the left
# Columns of the runs table, in the order a reader scans them.
TABLE_OUTCOMES = (
    "created",
    "updated",
    "unchanged",
    "skipped",
    "failed",
    "conflicts",
    "invited",
    "quarantined",
)


async def airflow_dag_access(request: Request) -> ReadableDags:
    """The Airflow user behind the request (401 without one) and the DAGs whose runs they may
    read."""
    # Imported here: the plugin is also loaded by components that never serve it.
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        DagAccessEntity,
        DagDetails,
    )
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPBearer

    credentials = await HTTPBearer(auto_error=False)(request)
    user = await get_user(request, None, credentials)

    def may_read(dag_id: str) -> bool:
        return get_auth_manager().is_authorized_dag(
            method="GET",
            access_entity=DagAccessEntity.RUN,
            details=DagDetails(id=dag_id),
            user=user,
        )

    return may_read


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("oncall_sync", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(OUTCOMES=OUTCOMES, CHARTED=CHARTED, TABLE_OUTCOMES=TABLE_OUTCOMES)
    return env


_TEMPLATES = _templates()


def _filter(
    account: str | None = None,
    entity_type: str | None = None,
    outcome: str | None = None,
    reason: str | None = None,
) -> RunFilter:
    """A filter from query parameters; an empty value (the form's "all") means no filter."""
    return RunFilter(
        account=account or None,
        entity_type=entity_type or None,
        outcome=outcome or None,
        reason=reason or None,
    )


def _chart_bars(runs: list[RunDigest], where: RunFilter) -> list[charts.RunBar]:
    bars = []
    for run in reversed(runs[:CHARTED_RUNS]):
        when = run.finished_at.strftime("%m-%d %H:%M") if run.finished_at else run.run_id[:11]
        bars.append(
            charts.RunBar(
                label=when,
                title=f"{run.airflow_run_id or run.run_id} ({run.status or 'no status'})",
                counts=where.counts(run),
                failed_run=run.status == "failed",
            )
        )
    return bars


def _csv_lines(rows: Iterator[dict[str, str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ITEM_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def create_app(
    staging_root: str | None = None, access: AccessDependency = airflow_dag_access
) -> FastAPI:
    """The reports app; the staging root is read per request unless given (env may change)."""
    app = FastAPI(title="oncall-sync reports", docs_url=None, redoc_url=None, openapi_url=None)
    Viewer = Annotated[ReadableDags, Depends(access)]
    Filter = Annotated[RunFilter, Depends(_filter)]
    PageNumber = Annotated[int, Query(ge=1)]

    def catalog() -> Catalog:
        return Catalog(staging_root or default_root())

    def readable(may_read: ReadableDags) -> list[RunDigest]:
        return [run for run in catalog().runs() if may_read(run.dag_id)]

    def one_run(dag_id: str, run_id: str, may_read: ReadableDags) -> tuple[Catalog, RunDigest]:
        if not may_read(dag_id):
            raise HTTPException(status_code=403, detail="Not allowed to read this DAG's runs")
        reports = catalog()
        try:
            return reports, reports.run(dag_id, run_id)
        except NoSuchRun:
            raise HTTPException(status_code=404, detail="No such run") from None

    @app.get("/", response_class=HTMLResponse)
    def reports_page(may_read: Viewer, where: Filter, page: PageNumber = 1) -> HTMLResponse:
        runs = readable(may_read)
        shown = [run for run in runs if where.admits(run)]
        html = _TEMPLATES.get_template("sync_reports.html").render(
            root=catalog().root,
            where=where,
            choices=choices(runs),
            chart=charts.outcomes_over_time(_chart_bars(shown, where)),
            page=Page.of(shown, page, RUNS_PER_PAGE),
            counts=where.counts,
            any_runs=bool(runs),
        )
        return HTMLResponse(html)

    @app.get("/reports.json")
    def reports_json(may_read: Viewer, where: Filter) -> JSONResponse:
        return JSONResponse(
            [
                {
                    "dag_id": run.dag_id,
                    "run_id": run.run_id,
                    "airflow_run_id": run.airflow_run_id,
                    "account": run.account,
                    "status": run.status,
                    "dry_run": run.dry_run,
                    "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                    "counts": where.counts(run),
                    "error": run.unreadable or run.error,
                }
                for run in readable(may_read)
                if where.admits(run)
            ]
        )

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse)
    def run_page(
        dag_id: str, run_id: str, may_read: Viewer, where: Filter, page: PageNumber = 1
    ) -> HTMLResponse:
        if not may_read(dag_id):
            raise HTTPException(status_code=403, detail="Not allowed to read this DAG's runs")
        reports = catalog()
        try:
            run = reports.run(dag_id, run_id)
            items = reports.items(dag_id, run_id, where)
        except NoSuchRun:
            missing = _TEMPLATES.get_template("sync_run_missing.html")
            return HTMLResponse(missing.render(dag_id=dag_id, run_id=run_id), status_code=404)
        table = run.per_entity_type()
        totals = run.counts()
        html = _TEMPLATES.get_template("sync_run.html").render(
            run=run,
            where=where,
            table=table,
            chart=charts.per_entity_type(table),
            totals=totals,
            used=[outcome for outcome in OUTCOMES if totals[outcome]],
            choices=choices([run]),
            page=Page.of(items, page, ITEMS_PER_PAGE),
            has_html=reports.report_html(dag_id, run_id) is not None,
        )
        return HTMLResponse(html)

    @app.get("/runs/{dag_id}/{run_id}/items.csv")
    def items_csv(dag_id: str, run_id: str, may_read: Viewer, where: Filter) -> Response:
        reports, run = one_run(dag_id, run_id, may_read)
        rows = (item.as_row() for item in reports.items(dag_id, run_id, where))
        name = f"{run.dag_id}__{run.run_id}__items.csv"
        return StreamingResponse(
            _csv_lines(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/runs/{dag_id}/{run_id}/items.json")
    def items_download(dag_id: str, run_id: str, may_read: Viewer, where: Filter) -> Response:
        reports, run = one_run(dag_id, run_id, may_read)
        name = f"{run.dag_id}__{run.run_id}__items.json"
        return Response(
            items_json(reports.items(dag_id, run_id, where)),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/runs/{dag_id}/{run_id}/report.html", response_class=HTMLResponse)
    def report_html(dag_id: str, run_id: str, may_read: Viewer) -> HTMLResponse:
        reports, _ = one_run(dag_id, run_id, may_read)
        html = reports.report_html(dag_id, run_id)
        if html is None:
            raise HTTPException(status_code=404, detail="This run has no report.html")
        # The report is our own autoescaped HTML; nosniff keeps browsers from second-guessing it.
        return HTMLResponse(html, headers={"X-Content-Type-Options": "nosniff"})

    return app


def query(where: RunFilter, **extra: Any) -> str:
    """The query string of a filter (and extra parameters), for links that keep it."""
    from urllib.parse import urlencode

    params = {
        "account": where.account,
        "entity_type": where.entity_type,
        "outcome": where.outcome,
        "reason": where.reason,
        **extra,
    }
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


_TEMPLATES.globals["query"] = query
