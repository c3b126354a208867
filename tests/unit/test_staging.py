"""Staging: run-scoped paths, atomic owner-only local files, fsspec URIs, snapshot replay."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from oncall_sync.staging import (
    FailedItem,
    Snapshot,
    Staging,
    load_snapshot,
    path_component,
    write_snapshot,
)


def test_airflow_run_ids_become_safe_path_segments() -> None:
    assert (
        path_component("manual__2026-11-27T01:00:00+00:00") == "manual__2026-11-27T01_00_00_00_00"
    )
    assert path_component("../../etc") == "_.._etc"
    with pytest.raises(ValueError):
        path_component("..")


def test_run_path_is_scoped_by_dag_and_run(tmp_path: Path) -> None:
    staging = Staging(str(tmp_path))

    run = staging.run_path("opsgenie_sync", "scheduled__2026-11-27T01:00:00+00:00")

    assert run == f"{tmp_path}/opsgenie_sync/scheduled__2026-11-27T01_00_00_00_00"


def test_local_writes_are_owner_only_and_leave_no_temporary_file(tmp_path: Path) -> None:
    staging = Staging(str(tmp_path))
    target = Staging.join(staging.run_path("d", "r"), "raw", "users.json")

    staging.write_json(target, [{"id": "u"}])
    staging.write_json(target, [{"id": "u2"}])

    assert staging.read_json(target) == [{"id": "u2"}]
    assert stat.S_IMODE(Path(target).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(target).parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
    assert staging.list(str(Path(target).parent)) == ["users.json"]


def test_exists_and_list_of_a_missing_folder(tmp_path: Path) -> None:
    staging = Staging(str(tmp_path))

    assert not staging.exists(str(tmp_path / "nope"))
    assert staging.list(str(tmp_path / "nope")) == []


def sample_snapshot() -> Snapshot:
    return Snapshot(
        manifest={"format": 1, "entity_types": ["users", "contacts", "schedules", "overrides"]},
        users=[{"id": "u", "username": "ü@x.com"}],
        contacts={"u": [{"id": "c", "method": "email", "to": "ü@x.com"}]},
        schedules=[{"id": "s", "name": "<b>S</b>", "rotations": []}],
        overrides={"s": []},
        failed=[FailedItem(entity_type="users", source_id="v", reason="bad", record={"id": "v"})],
    )


def test_snapshot_round_trips_through_local_staging(tmp_path: Path) -> None:
    staging = Staging(str(tmp_path))
    snapshot = sample_snapshot()

    raw = write_snapshot(staging, staging.run_path("d", "r"), snapshot)

    assert load_snapshot(raw) == snapshot
    assert not Path(raw, "teams.json").exists()
    assert load_snapshot(raw).teams == []


def test_snapshot_round_trips_through_an_fsspec_uri() -> None:
    staging = Staging("memory://oncall-tests")
    snapshot = sample_snapshot()

    raw = write_snapshot(staging, staging.run_path("d", "run:1"), snapshot)

    assert raw == "memory://oncall-tests/d/run_1/raw"
    assert load_snapshot(raw) == snapshot
    assert "manifest.json" in staging.list(raw)


def test_missing_snapshot_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"manifest\.json"):
        load_snapshot(str(tmp_path / "nothing"))


def test_default_root_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCALL_SYNC_STAGING", "s3://bucket/prefix/")

    assert Staging().root == "s3://bucket/prefix"


def test_text_files_are_written_like_json(tmp_path: Path) -> None:
    staging = Staging(str(tmp_path))
    target = Staging.join(staging.run_path("d", "r"), "report", "report.html")

    staging.write_text(target, "<h1>Sync ü</h1>")

    assert staging.read_text(target) == "<h1>Sync ü</h1>"
    assert stat.S_IMODE(Path(target).stat().st_mode) == 0o600
