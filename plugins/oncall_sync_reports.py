"""The "Sync reports" page in the Airflow UI: every sync run's report found in staging, newest
first, with its counts, and each run's report.html; served by the API server as a plugin."""

import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import fsspec
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment

from oncall_sync.invitations.accept import URL_PREFIX as INVITATIONS_PREFIX
from oncall_sync.invitations.accept import create_accept_app
from oncall_sync.staging import Staging, default_root, path_component

REPORT_DIR = "report"
REPORT_HTML = "report.html"
REPORT_JSON = "report.json"
URL_PREFIX = "/oncall-sync"

# The report's summary is owned by the report task; we read it leniently, so a renamed key
# shows as a blank cell rather than a broken page. An action's count sums its aliases.
ACTION_ALIASES: dict[str, tuple[str, ...]] = {
    "created": ("created", "create"),
    "updated": ("updated", "update"),
    "unchanged": ("unchanged",),
    "skipped": ("skipped", "skip", "skipped_local_edit"),
    "tombstoned": ("tombstoned", "tombstone"),
    "failed": ("failed", "fail", "errors"),
    "conflicts": ("conflicts", "conflict"),
    "invitations": ("invitations", "invited"),
    "quarantined": ("quarantined",),
}
# Nested dicts that hold the run's totals: preferred to summing per-entity-type children.
TOTAL_KEYS = ("actions", "totals", "total", "counts")
TIME_KEYS = ("finished_at", "generated_at", "completed_at", "started_at", "created_at")

# A dependency that authenticates the caller and answers "may this caller read dag_id's runs?"
ReadableDags = Callable[[str], bool]
AccessDependency = Callable[..., Awaitable[ReadableDags] | ReadableDags]


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list | dict):
        return len(value)
    return None


def action_counts(summary: Any) -> dict[str, int]:
    """Run-wide count per action from a report summary: flat, under "actions" (or "totals"),
    or per entity type. Counts at the summary's own level win over nested ones."""
    if not isinstance(summary, dict):
        return {}
    direct: dict[str, int] = {}
    for action, aliases in ACTION_ALIASES.items():
        counts = [c for alias in aliases if (c := _count(summary.get(alias))) is not None]
        if counts:
            direct[action] = sum(counts)
    for key in TOTAL_KEYS:
        if totals := action_counts(summary.get(key)):
            return {**totals, **direct}
    summed: dict[str, int] = {}
    for child in summary.values():
        for action, count in action_counts(child).items():
            summed[action] = summed.get(action, 0) + count
    return {**summed, **direct}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _report_time(report: dict[str, Any]) -> datetime | None:
    for section in (report.get("sync_run"), report, report.get("run"), report.get("summary")):
        if isinstance(section, dict):
            for key in TIME_KEYS:
                if (when := _parse_time(section.get(key))) is not None:
                    return when
    return None


def _first_value(report: dict[str, Any], key: str) -> Any:
    for section in (report.get("sync_run"), report.get("summary"), report.get("run"), report):
        if isinstance(section, dict) and key in section:
            return section[key]
    return None


def _modified(fs: Any, path: str) -> datetime | None:
    """The file's modification time, for reports that carry no timestamp of their own."""
    try:
        info = fs.info(path)
    except (OSError, ValueError):
        return None
    stamp = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, tz=UTC)
    if isinstance(stamp, datetime):
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return _parse_time(stamp)


def list_reports(root: str) -> list[dict[str, Any]]:
    """Every run under `root` with a report.json, newest first, with its summary's counts.

    Layout: <root>/<dag_id>/<run_id>/report/report.json (and report.html beside it).
    A report.json that cannot be read is listed with its error, not hidden.
    """
    staging = Staging(root)
    fs, _ = fsspec.core.url_to_fs(staging.root)
    listed: list[tuple[datetime, dict[str, Any]]] = []
    for dag_id in staging.list(staging.root):
        dag_dir = Staging.join(staging.root, dag_id)
        for run_id in staging.list(dag_dir):
            report_dir = Staging.join(dag_dir, run_id, REPORT_DIR)
            json_uri = Staging.join(report_dir, REPORT_JSON)
            if not staging.exists(json_uri):
                continue
            entry: dict[str, Any] = {
                "dag_id": dag_id,
                "run_id": run_id,
                "counts": {},
                "status": None,
                "dry_run": None,
                "finished_at": None,
                "has_html": staging.exists(Staging.join(report_dir, REPORT_HTML)),
                "error": None,
            }
            when: datetime | None = None
            try:
                report = staging.read_json(json_uri)
            except (OSError, ValueError) as error:
                entry["error"] = f"report.json unreadable: {error}"
            else:
                if isinstance(report, dict):
                    entry["counts"] = action_counts(report.get("summary"))
                    entry["status"] = _first_value(report, "status")
                    entry["dry_run"] = _first_value(report, "dry_run")
                    when = _report_time(report)
                else:
                    entry["error"] = "report.json is not a JSON object"
            when = when or _modified(fs, fs._strip_protocol(json_uri))
            entry["finished_at"] = when.isoformat() if when else None
            listed.append((when or datetime.min.replace(tzinfo=UTC), entry))
    listed.sort(key=lambda item: (item[0], item[1]["run_id"]), reverse=True)
    return [entry for _, entry in listed]


def _safe_segment(name: str) -> str:
    """The staging folder a URL segment names; 404 for anything that is not one plain segment."""
    if name in ("", ".", "..") or any(sep in name for sep in ("/", "\\", "\x00")):
        raise HTTPException(status_code=404, detail="No such run")
    try:
        return path_component(name)
    except ValueError:
        raise HTTPException(status_code=404, detail="No such run") from None


def _confined(root: str, *segments: str) -> str:
    """The path of `segments` under `root`; for a local root, symlinks may not lead outside."""
    target = Staging.join(root, *segments)
    if "://" in root and not root.startswith("file://"):
        return target
    local_root = os.path.realpath(root.removeprefix("file://"))
    resolved = os.path.realpath(target.removeprefix("file://"))
    if os.path.commonpath([local_root, resolved]) != local_root:
        raise HTTPException(status_code=404, detail="No such run")
    return resolved


def read_report_html(root: str, dag_id: str, run_id: str) -> str | None:
    """The report.html of one run (dag_id and run_id as Airflow spells them), or None."""
    uri = _confined(root, _safe_segment(dag_id), _safe_segment(run_id), REPORT_DIR, REPORT_HTML)
    staging = Staging(root)
    return staging.read_text(uri) if staging.exists(uri) else None


_PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sync reports</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2933; }
 table { border-collapse: collapse; width: 100%; }
 th, td { padding: .4rem .6rem; border-bottom: 1px solid #d9e2ec; text-align: left; }
 td.n { text-align: right; font-variant-numeric: tabular-nums; }
 .failed { color: #b42318; font-weight: 600; } .muted { color: #7b8794; }
</style></head><body>
<h1>Sync reports</h1>
<p class="muted">Staging root: <code>{{ root }}</code>. Newest first.</p>
{% if reports %}
<table>
<thead><tr><th>DAG</th><th>Run</th><th>Finished</th><th>Status</th>
{% for action in actions %}<th>{{ action }}</th>{% endfor %}<th></th></tr></thead>
<tbody>
{% for r in reports %}
<tr>
 <td>{{ r.dag_id }}</td><td>{{ r.run_id }}{% if r.dry_run %} <em>(dry run)</em>{% endif %}</td>
 <td>{{ r.finished_at or "" }}</td><td>{{ r.status or "" }}</td>
 {% for action in actions %}
 <td class="n{% if action == 'failed' and r.counts.get(action) %} failed{% endif %}">
  {{ r.counts.get(action, "") }}</td>
 {% endfor %}
 <td>{% if r.error %}<span class="failed">{{ r.error }}</span>
 {% elif r.has_html %}
  <a href="runs/{{ r.dag_id | urlencode }}/{{ r.run_id | urlencode }}">report</a>
 {% endif %}</td>
</tr>
{% endfor %}
</tbody></table>
{% else %}
<p>No sync reports yet. A run's report appears here when its <code>report</code> task is done.</p>
{% endif %}
</body></html>
"""
)

_MISSING = Environment(autoescape=True).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>No report</title></head>
<body style="font-family: system-ui, sans-serif; margin: 1.5rem">
<p>No sync report for run <code>{{ run_id }}</code> of <code>{{ dag_id }}</code>:
its <code>report</code> task has not finished yet, or this DAG is not an oncall-sync DAG.</p>
<p><a href="{{ back }}">All sync reports</a></p></body></html>"""
)


async def airflow_dag_access(request: Request) -> ReadableDags:
    """The Airflow user behind the request (401 without one) and the DAGs whose runs they may read.

    Airflow mounts plugin apps without its own authentication, and reports name people.
    """
    # Imported here: the plugin module is also loaded by components that never serve it.
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


def create_app(
    staging_root: str | None = None, access: AccessDependency = airflow_dag_access
) -> FastAPI:
    """The reports app; the staging root is read per request unless given (env may change)."""
    app = FastAPI(title="oncall-sync reports", docs_url=None, redoc_url=None, openapi_url=None)
    # Evaluated at runtime by FastAPI, hence no `from __future__ import annotations` here.
    Viewer = Annotated[ReadableDags, Depends(access)]

    def root() -> str:
        return (staging_root or default_root()).rstrip("/")

    def readable(may_read: ReadableDags) -> list[dict[str, Any]]:
        return [r for r in list_reports(root()) if may_read(r["dag_id"])]

    @app.get("/", response_class=HTMLResponse)
    def reports_page(may_read: Viewer) -> HTMLResponse:
        page = _PAGE.render(root=root(), reports=readable(may_read), actions=list(ACTION_ALIASES))
        return HTMLResponse(page)

    @app.get("/reports.json")
    def reports_json(may_read: Viewer) -> JSONResponse:
        return JSONResponse(readable(may_read))

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse)
    def report_page(dag_id: str, run_id: str, may_read: Viewer) -> HTMLResponse:
        if not may_read(dag_id):
            raise HTTPException(status_code=403, detail="Not allowed to read this DAG's runs")
        html = read_report_html(root(), dag_id, run_id)
        if html is None:
            missing = _MISSING.render(dag_id=dag_id, run_id=run_id, back="../../")
            return HTMLResponse(missing, status_code=404)
        # The report is our own autoescaped HTML; nosniff keeps browsers from second-guessing it.
        return HTMLResponse(html, headers={"X-Content-Type-Options": "nosniff"})

    return app


class OncallSyncReportsPlugin(AirflowPlugin):
    """Adds "Sync reports" to the nav, and a "Sync report" tab on every DAG run."""

    name = "oncall_sync_reports"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "oncall-sync reports"},
        # The invitation accept page: no login, the signed link is the credential.
        {
            "app": create_accept_app(),
            "url_prefix": INVITATIONS_PREFIX,
            "name": "oncall-sync invitations",
        },
    ]
    # Relative hrefs: the UI resolves them against its base URL, so a proxied prefix still works.
    external_views = [
        {
            "name": "Sync reports",
            "href": URL_PREFIX.lstrip("/") + "/",
            "destination": "nav",
            "category": "browse",
            "url_route": "oncall-sync-reports",
        },
        {
            "name": "Sync report",
            "href": URL_PREFIX.lstrip("/") + "/runs/{DAG_ID}/{RUN_ID}",
            "destination": "dag_run",
            "url_route": "oncall-sync-run-report",
        },
    ]


def _json_default(value: Any) -> str:  # pragma: no cover - used by `python -m` debugging only
    return str(value)


if __name__ == "__main__":  # print what the page would list, for an operator at a shell
    print(json.dumps(list_reports(default_root()), indent=2, default=_json_default))
