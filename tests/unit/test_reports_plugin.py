"""The Sync reports app and the plugin that mounts it: the pages an analyst reads (list, chart,
filters, each run with its items and downloads), and refusing whoever may not read them."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

from oncall_sync.model import Action
from oncall_sync.reports_ui.app import create_app
from oncall_sync.staging import path_component
from tests.unit.test_reports_ui import A_RUN, NOW, P, S, change, report_document, write_report

PLUGIN_FILE = Path(__file__).resolve().parents[2] / "plugins" / "oncall_sync_reports.py"
RUN_ID = "manual__2026-11-27T02:00:00+00:00"


def _load_plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("oncall_sync_reports", PLUGIN_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _allow_all() -> Any:
    return lambda dag_id: True


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    root = tmp_path / "staging"
    root.mkdir()
    return root


@pytest.fixture
def client(staging: Path) -> TestClient:
    return TestClient(create_app(str(staging), access=_allow_all))


def cells(html: str, row_marker: str) -> list[str]:
    """The text of each cell of the table row that holds `row_marker`."""
    row = next(r for r in re.findall(r"<tr.*?</tr>", html, flags=re.S) if row_marker in r)
    texts = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    return [re.sub(r"<[^>]+>", " ", t).split()[0] if t.strip() else "" for t in texts]


def test_the_list_shows_each_run_with_status_and_counts(staging: Path, client: TestClient) -> None:
    write_report(staging, "opsgenie_sync", RUN_ID, A_RUN)
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="runs/opsgenie_sync/' + path_component(RUN_ID) + '"' in page.text
    # created, updated, unchanged, skipped, failed, conflicts, invited, quarantined
    assert cells(page.text, 'data-run="')[3:] == ["2", "1", "3", "2", "1", "2", "1", "1"]
    assert ">success<" in page.text
    assert "<svg" in page.text and "Outcomes per run" in page.text


def test_the_list_escapes_what_the_source_wrote(staging: Path, client: TestClient) -> None:
    write_report(staging, "opsgenie_sync", "run-1", report_document(account="<script>x</script>"))
    page = client.get("/")
    assert "<script>x</script>" not in page.text
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text


def test_the_list_says_so_when_there_are_no_reports(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "No sync reports yet" in page.text


def test_a_failed_run_says_where_it_stopped(staging: Path, client: TestClient) -> None:
    failure = {"task": "extract", "state": "failed", "error": "OpsGenie answered 503"}
    write_report(staging, "opsgenie_sync", RUN_ID, report_document(failures=[failure]))
    page = client.get("/")
    assert ">failed<" in page.text and "at extract" in page.text
    run_page = client.get(f"/runs/opsgenie_sync/{RUN_ID}")
    assert "The run stopped at extract." in run_page.text
    assert "OpsGenie answered 503" in run_page.text


def test_filters_narrow_the_runs_and_their_counts(staging: Path, client: TestClient) -> None:
    write_report(staging, "opsgenie_sync", "a", A_RUN)
    later = report_document(
        change(S, "s", Action.CREATE), account="eu", finished_at=NOW + timedelta(1)
    )
    write_report(staging, "opsgenie_sync__eu", "b", later)
    assert [r["run_id"] for r in client.get("/reports.json").json()] == ["b", "a"]
    eu = client.get("/reports.json", params={"account": "eu"}).json()
    assert [r["run_id"] for r in eu] == ["b"]
    failing = client.get("/reports.json", params={"outcome": "failed"}).json()
    assert [r["run_id"] for r in failing] == ["a"]
    schedules = client.get("/reports.json", params={"entity_type": "schedule"}).json()
    assert [(r["run_id"], r["counts"]["created"], r["counts"]["skipped"]) for r in schedules] == [
        ("b", 1, 0),
        ("a", 0, 1),
    ]
    page = client.get("/", params={"account": "eu"})
    assert 'data-run="b"' in page.text and 'data-run="a"' not in page.text
    assert '<option value="eu" selected>' in page.text
    empty = client.get("/", params={"reason": "no such reason"})
    assert "No run matches these filters" in empty.text


def test_the_list_is_paged_newest_first(staging: Path, client: TestClient) -> None:
    for n in range(30):
        write_report(
            staging,
            "opsgenie_sync",
            f"run-{n:02}",
            report_document(finished_at=NOW + timedelta(hours=n)),
        )
    first, second = client.get("/").text, client.get("/", params={"page": 2}).text
    assert first.count('data-run="') == 25 and second.count('data-run="') == 5
    assert 'data-run="run-29"' in first and 'data-run="run-00"' in second
    assert "page 1 of 2 (30 runs)" in first and "older" in first
    assert client.get("/", params={"page": 0}).status_code == 422


def test_a_run_page_has_its_chart_beside_its_table_and_its_items(
    staging: Path, client: TestClient
) -> None:
    write_report(staging, "opsgenie_sync", RUN_ID, A_RUN)
    page = client.get(f"/runs/opsgenie_sync/{RUN_ID}")
    assert page.status_code == 200
    assert 'class="by-type"' in page.text and "<svg" in page.text
    assert cells(page.text, 'data-entity-type="person"')[0] == "person"
    assert page.text.count("<tr><td>") == 11  # every listed item
    assert "items.csv" in page.text and "items.json" in page.text
    assert 'href="manual__2026-11-27T02_00_00_00_00/report.html"' in page.text
    only_failed = client.get(f"/runs/opsgenie_sync/{RUN_ID}", params={"outcome": "failed"})
    assert only_failed.text.count("<tr><td>") == 1 and "invalid payload: id" in only_failed.text


def test_thousands_of_items_are_paged_a_hundred_at_a_time(
    staging: Path, client: TestClient
) -> None:
    many = [change(P, f"u{n:04}", Action.CREATE) for n in range(2500)]
    write_report(staging, "opsgenie_sync", RUN_ID, report_document(*many))
    first = client.get(f"/runs/opsgenie_sync/{RUN_ID}")
    last = client.get(f"/runs/opsgenie_sync/{RUN_ID}", params={"page": 25})
    assert first.text.count("<tr><td>") == 100 and last.text.count("<tr><td>") == 100
    assert "page 1 of 25" in first.text and "u0000" in first.text and "u2499" in last.text


def test_downloads_hold_every_item_as_csv_and_as_json(staging: Path, client: TestClient) -> None:
    write_report(staging, "opsgenie_sync", RUN_ID, A_RUN)
    as_csv = client.get(f"/runs/opsgenie_sync/{RUN_ID}/items.csv")
    as_json = client.get(f"/runs/opsgenie_sync/{RUN_ID}/items.json")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows == as_json.json()
    assert len(rows) == 11
    assert {
        "entity_type": "schedule",
        "source_id": "s1",
        "name": "s1 name",
        "outcome": "skipped",
        "reason": "owner team not synced",
    } in rows
    filtered = client.get(f"/runs/opsgenie_sync/{RUN_ID}/items.json", params={"outcome": "created"})
    assert [r["source_id"] for r in filtered.json()] == ["u1", "u2"]


def test_a_run_is_served_by_its_airflow_run_id_and_its_report_html(
    staging: Path, client: TestClient
) -> None:
    write_report(staging, "opsgenie_sync", RUN_ID, A_RUN)
    for requested in (RUN_ID, path_component(RUN_ID)):
        assert client.get(f"/runs/opsgenie_sync/{requested}").status_code == 200
        html = client.get(f"/runs/opsgenie_sync/{requested}/report.html")
        assert html.text == "<p>the whole report</p>"
        assert html.headers["x-content-type-options"] == "nosniff"


def test_a_run_without_a_report_gets_a_friendly_404(client: TestClient) -> None:
    response = client.get("/runs/some_other_dag/manual__1")
    assert response.status_code == 404
    assert "has not finished yet" in response.text
    assert 'href="../../"' in response.text
    assert client.get("/runs/some_other_dag/manual__1/items.csv").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/runs/../secret",
        "/runs/%2E%2E/%2E%2E",
        "/runs/opsgenie_sync/..%2F..%2Fsecret",
        "/runs/..%2F..%2Fsecret/report",
        "/runs/opsgenie_sync/%2E%2E",
        "/runs/opsgenie_sync/%2E%2E/report.html",
        "/runs/%2E%2E/secret/items.json",
    ],
)
def test_paths_cannot_leave_the_staging_root(
    tmp_path: Path, staging: Path, client: TestClient, path: str
) -> None:
    (tmp_path / "secret" / "report").mkdir(parents=True)
    (tmp_path / "secret" / "report" / "report.html").write_text("TOP SECRET")
    (tmp_path / "secret" / "report" / "report.json").write_text(json.dumps(A_RUN))
    response = client.get(path)
    assert response.status_code == 404
    assert "TOP SECRET" not in response.text and "u1 name" not in response.text


def test_a_symlink_out_of_the_staging_root_is_not_followed(
    tmp_path: Path, staging: Path, client: TestClient
) -> None:
    outside = tmp_path / "outside" / "run" / "report"
    outside.mkdir(parents=True)
    (outside / "report.html").write_text("TOP SECRET")
    (outside / "report.json").write_text(json.dumps(A_RUN))
    (staging / "opsgenie_sync").symlink_to(tmp_path / "outside")
    for path in ("/runs/opsgenie_sync/run", "/runs/opsgenie_sync/run/report.html"):
        response = client.get(path)
        assert response.status_code == 404
        assert "TOP SECRET" not in response.text and "u1 name" not in response.text


def test_runs_of_dags_the_caller_may_not_read_are_hidden_and_refused(staging: Path) -> None:
    write_report(staging, "opsgenie_sync", "run-1", A_RUN)
    write_report(staging, "private_sync", "run-1", A_RUN)
    client = TestClient(
        create_app(str(staging), access=lambda: lambda dag_id: dag_id != "private_sync")
    )
    assert [r["dag_id"] for r in client.get("/reports.json").json()] == ["opsgenie_sync"]
    assert "private_sync" not in client.get("/").text
    for path in ("", "/items.csv", "/items.json", "/report.html"):
        assert client.get(f"/runs/private_sync/run-1{path}").status_code == 403


def test_the_airflow_app_refuses_anonymous_callers(staging: Path) -> None:
    write_report(staging, "opsgenie_sync", "run-1", A_RUN)
    client = TestClient(create_app(str(staging)))
    for path in (
        "/",
        "/reports.json",
        "/runs/opsgenie_sync/run-1",
        "/runs/opsgenie_sync/run-1/items.csv",
    ):
        response = client.get(path)
        assert response.status_code == 401
        assert "run-1" not in response.text


def test_the_staging_root_comes_from_the_environment_per_request(
    staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_report(staging, "opsgenie_sync", "run-1", A_RUN)
    monkeypatch.setenv("ONCALL_SYNC_STAGING", str(staging))
    client = TestClient(create_app(access=_allow_all))
    assert [r["run_id"] for r in client.get("/reports.json").json()] == ["run-1"]


def test_the_plugin_registers_the_app_and_the_views() -> None:
    plugin = _load_plugin()
    cls = plugin.OncallSyncReportsPlugin
    assert cls.fastapi_apps[0]["url_prefix"] == "/oncall-sync"
    views = {view["destination"]: view for view in cls.external_views}
    assert views["nav"]["href"] == "oncall-sync/"
    assert views["dag_run"]["href"] == "oncall-sync/runs/{DAG_ID}/{RUN_ID}"
    assert all(view["url_route"] for view in cls.external_views)


_IN_AIRFLOW = """
import json, sys
from starlette.testclient import TestClient
from airflow.api_fastapi.app import create_app, get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

client = TestClient(create_app())
token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
bearer = {"Authorization": f"Bearer {token}"}
client.cookies.set("_token", token)
result = {
    "anonymous": TestClient(client.app).get("/oncall-sync/reports.json").status_code,
    "listing": client.get("/oncall-sync/reports.json").json(),
    "report": client.get("/oncall-sync/runs/opsgenie_sync/manual__1/report.html").text,
    "page": client.get("/oncall-sync/runs/opsgenie_sync/manual__1").text,
    "views": client.get("/api/v2/plugins", headers=bearer).json()["plugins"][0]["external_views"],
}
print("RESULT=" + json.dumps(result))
"""


@pytest.mark.slow
def test_the_airflow_api_server_mounts_the_page_behind_its_login(
    tmp_path: Path, staging: Path
) -> None:
    """In Airflow's own API app: anonymous callers get 401, a logged-in UI session the report."""
    write_report(staging, "opsgenie_sync", "manual__1", A_RUN)
    home = tmp_path / "airflow_home"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGIN_FILE.parent),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__API_AUTH__JWT_SECRET": "a-test-only-signing-key",
        "ONCALL_SYNC_STAGING": str(staging),
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-c", _IN_AIRFLOW], env=env, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT=")]
    assert lines, done.stderr[-2000:]
    result = json.loads(lines[0].removeprefix("RESULT="))
    assert result["anonymous"] == 401
    assert [r["run_id"] for r in result["listing"]] == ["manual__1"]
    assert result["report"] == "<p>the whole report</p>"
    assert "Per entity type" in result["page"]
    assert {view["destination"] for view in result["views"]} == {"nav", "dag_run"}


def test_a_run_that_read_nothing_says_so_instead_of_empty_tables(
    staging: Path, client: TestClient
) -> None:
    failure = {"task": "extract", "state": "failed", "error": "OpsGenie answered 503"}
    write_report(staging, "opsgenie_sync", RUN_ID, report_document(failures=[failure]))
    page = client.get(f"/runs/opsgenie_sync/{RUN_ID}").text
    assert "No records were read or planned in this run" in page
    assert 'table class="per-type"' not in page and "items.csv" not in page
