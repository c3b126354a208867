"""The "Sync reports" plugin: listing reports from staging, serving them, and refusing the rest."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

PLUGIN_FILE = Path(__file__).resolve().parents[2] / "plugins" / "oncall_sync_reports.py"


def _load_plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("oncall_sync_reports", PLUGIN_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


plugin = _load_plugin()


def _write_report(
    root: Path,
    dag_id: str,
    run_id: str,
    report: Any,
    html: str | None = "<html><body>the report</body></html>",
    mtime: float | None = None,
) -> Path:
    folder = root / dag_id / run_id / "report"
    folder.mkdir(parents=True)
    json_file = folder / "report.json"
    json_file.write_text(report if isinstance(report, str) else json.dumps(report))
    if html is not None:
        (folder / "report.html").write_text(html)
    if mtime is not None:
        os.utime(json_file, (mtime, mtime))
    return folder


def _allow_all() -> Any:
    return lambda dag_id: True


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    root = tmp_path / "staging"
    root.mkdir()
    return root


@pytest.fixture
def client(staging: Path) -> TestClient:
    return TestClient(plugin.create_app(str(staging), access=_allow_all))


def test_flat_summary_counts_are_read_with_either_spelling() -> None:
    summary = {"create": 3, "updated": 2, "unchanged": 40, "failed": [{"id": "x"}], "dry_run": True}
    assert plugin.action_counts(summary) == {
        "created": 3,
        "updated": 2,
        "unchanged": 40,
        "failed": 1,
    }


def test_per_entity_type_summary_is_summed_across_types() -> None:
    summary = {
        "users": {"created": 2, "unchanged": 5},
        "teams": {"created": 1, "skipped_local_edit": 1},
        "run_id": "manual__x",
    }
    assert plugin.action_counts(summary) == {"created": 3, "unchanged": 5, "skipped": 1}


def test_totals_are_preferred_to_summing_the_breakdown_twice() -> None:
    summary = {
        "totals": {"created": 3, "updated": 1},
        "by_entity_type": {"users": {"created": 3}, "teams": {"updated": 1}},
    }
    assert plugin.action_counts(summary) == {"created": 3, "updated": 1}


def test_the_report_tasks_summary_shape_is_read_with_its_action_counts() -> None:
    # The shape oncall_sync.report writes: plan actions nested, run-wide counts beside them.
    summary = {
        "source_account": "acme",
        "run": "opsgenie_sync/manual__1",
        "dry_run": False,
        "actions": {"create": 7, "unchanged": 90, "skip": 2, "skipped_local_edit": 1},
        "conflicts": 4,
        "invitations": 3,
        "quarantined": 1,
        "failed": 0,
        "rows_written": 12,
        "api_requests": 512,
    }
    assert plugin.action_counts(summary) == {
        "created": 7,
        "unchanged": 90,
        "skipped": 3,
        "conflicts": 4,
        "invitations": 3,
        "quarantined": 1,
        "failed": 0,
    }


def test_status_and_time_come_from_the_sync_run_record(staging: Path) -> None:
    _write_report(
        staging,
        "opsgenie_sync",
        "manual__1",
        {
            "summary": {"dry_run": True, "actions": {"create": 1}},
            "sync_run": {"status": "dry_run", "finished_at": "2026-11-27T02:00:05+00:00"},
        },
    )
    [entry] = plugin.list_reports(str(staging))
    assert entry["status"] == "dry_run"
    assert entry["dry_run"] is True
    assert entry["finished_at"] == "2026-11-27T02:00:05+00:00"
    assert entry["counts"] == {"created": 1}


def test_reports_are_listed_newest_first_with_their_counts(staging: Path) -> None:
    _write_report(
        staging,
        "opsgenie_sync",
        "scheduled__2026-11-25",
        {"summary": {"created": 10, "finished_at": "2026-11-25T01:02:00Z"}},
    )
    _write_report(
        staging,
        "opsgenie_sync",
        "scheduled__2026-11-26",
        {"summary": {"unchanged": 10, "status": "success"}, "finished_at": "2026-11-26T01:02:00Z"},
    )
    listed = plugin.list_reports(str(staging))
    assert [r["run_id"] for r in listed] == ["scheduled__2026-11-26", "scheduled__2026-11-25"]
    assert listed[0]["counts"] == {"unchanged": 10}
    assert listed[0]["status"] == "success"
    assert listed[1]["counts"] == {"created": 10}
    assert listed[1]["finished_at"] == "2026-11-25T01:02:00+00:00"


def test_a_report_without_a_timestamp_is_ordered_by_its_file_time(staging: Path) -> None:
    _write_report(staging, "opsgenie_sync", "older", {"summary": {}}, mtime=1_700_000_000)
    _write_report(staging, "opsgenie_sync", "newer", {"summary": {}}, mtime=1_800_000_000)
    assert [r["run_id"] for r in plugin.list_reports(str(staging))] == ["newer", "older"]


def test_runs_without_a_report_are_not_listed_and_broken_ones_say_why(staging: Path) -> None:
    (staging / "opsgenie_sync" / "running" / "raw").mkdir(parents=True)
    _write_report(staging, "opsgenie_sync", "broken", "{not json", html=None)
    listed = plugin.list_reports(str(staging))
    assert [r["run_id"] for r in listed] == ["broken"]
    assert listed[0]["error"].startswith("report.json unreadable")
    assert listed[0]["has_html"] is False


def test_an_absent_staging_root_lists_nothing(tmp_path: Path) -> None:
    assert plugin.list_reports(str(tmp_path / "nowhere")) == []


def test_the_page_lists_reports_and_escapes_what_it_shows(
    staging: Path, client: TestClient
) -> None:
    _write_report(
        staging,
        "opsgenie_sync",
        "run-1",
        {"summary": {"status": "<script>x</script>", "failed": 2}},
    )
    response = client.get("/")
    assert response.status_code == 200
    assert "run-1" in response.text
    assert 'href="runs/opsgenie_sync/run-1"' in response.text
    assert "<script>x</script>" not in response.text
    assert "&lt;script&gt;x&lt;/script&gt;" in response.text


def test_the_page_says_so_when_there_are_no_reports(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "No sync reports yet" in response.text


def test_the_json_listing_matches_list_reports(staging: Path, client: TestClient) -> None:
    _write_report(staging, "opsgenie_sync", "run-1", {"summary": {"created": 1}})
    assert client.get("/reports.json").json() == plugin.list_reports(str(staging))


def test_a_run_report_is_served_by_its_airflow_run_id(staging: Path, client: TestClient) -> None:
    # Airflow run ids hold ':' and '+'; staging keys folders by the sanitised id.
    run_id = "manual__2026-11-27T09:00:00+00:00"
    folder_name = plugin.path_component(run_id)
    _write_report(staging, "opsgenie_sync", folder_name, {"summary": {}}, html="<p>hello</p>")
    for requested in (run_id, folder_name):
        response = client.get(f"/runs/opsgenie_sync/{requested}")
        assert response.status_code == 200
        assert response.text == "<p>hello</p>"


def test_a_run_without_a_report_gets_a_friendly_404(client: TestClient) -> None:
    response = client.get("/runs/some_other_dag/manual__1")
    assert response.status_code == 404
    assert "has not finished yet" in response.text
    assert 'href="../../"' in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/runs/../secret",
        "/runs/%2E%2E/%2E%2E",
        "/runs/opsgenie_sync/..%2F..%2Fsecret",
        "/runs/..%2F..%2Fsecret/report",
        "/runs/opsgenie_sync/%2E%2E",
    ],
)
def test_paths_cannot_leave_the_staging_root(
    tmp_path: Path, staging: Path, client: TestClient, path: str
) -> None:
    (tmp_path / "secret" / "report").mkdir(parents=True)
    (tmp_path / "secret" / "report" / "report.html").write_text("TOP SECRET")
    response = client.get(path)
    assert response.status_code == 404
    assert "TOP SECRET" not in response.text


def test_a_symlink_out_of_the_staging_root_is_not_followed(
    tmp_path: Path, staging: Path, client: TestClient
) -> None:
    outside = tmp_path / "outside" / "run" / "report"
    outside.mkdir(parents=True)
    (outside / "report.html").write_text("TOP SECRET")
    (staging / "opsgenie_sync").symlink_to(tmp_path / "outside")
    response = client.get("/runs/opsgenie_sync/run")
    assert response.status_code == 404
    assert "TOP SECRET" not in response.text


def test_runs_of_dags_the_caller_may_not_read_are_hidden_and_refused(staging: Path) -> None:
    _write_report(staging, "opsgenie_sync", "run-1", {"summary": {}})
    _write_report(staging, "private_sync", "run-1", {"summary": {}})
    client = TestClient(
        plugin.create_app(str(staging), access=lambda: lambda dag_id: dag_id != "private_sync")
    )
    assert [r["dag_id"] for r in client.get("/reports.json").json()] == ["opsgenie_sync"]
    assert client.get("/runs/private_sync/run-1").status_code == 403


def test_the_airflow_app_refuses_anonymous_callers(staging: Path) -> None:
    _write_report(staging, "opsgenie_sync", "run-1", {"summary": {}})
    client = TestClient(plugin.create_app(str(staging)))
    for path in ("/", "/reports.json", "/runs/opsgenie_sync/run-1"):
        response = client.get(path)
        assert response.status_code == 401
        assert "run-1" not in response.text


def test_the_staging_root_comes_from_the_environment_per_request(
    staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_report(staging, "opsgenie_sync", "run-1", {"summary": {}})
    monkeypatch.setenv("ONCALL_SYNC_STAGING", str(staging))
    client = TestClient(plugin.create_app(access=_allow_all))
    assert [r["run_id"] for r in client.get("/reports.json").json()] == ["run-1"]


def test_the_plugin_registers_the_app_and_the_views() -> None:
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
    "report": client.get("/oncall-sync/runs/opsgenie_sync/manual__1").text,
    "views": client.get("/api/v2/plugins", headers=bearer).json()["plugins"][0]["external_views"],
}
print("RESULT=" + json.dumps(result))
"""


@pytest.mark.slow
def test_the_airflow_api_server_mounts_the_page_behind_its_login(
    tmp_path: Path, staging: Path
) -> None:
    """In Airflow's own API app: anonymous callers get 401, a logged-in UI session the report."""
    _write_report(
        staging, "opsgenie_sync", "manual__1", {"summary": {"create": 2}}, html="<p>r</p>"
    )
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
    assert result["report"] == "<p>r</p>"
    assert {view["destination"] for view in result["views"]} == {"nav", "dag_run"}
