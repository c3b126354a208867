"""The sync report: counts that reconcile with the source, failures said plainly, text escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from oncall_sync.model import Action, EntityType, Plan, PlannedChange
from oncall_sync.pipeline import RunContext, SyncParams
from oncall_sync.report import build_report, reconcile, render_html
from oncall_sync.staging import Staging

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def ctx(**params) -> RunContext:
    return RunContext("opsgenie_sync", "run-1", SyncParams(**params), Staging("/nonexistent"))


def change(kind: EntityType, source_id: str, action: Action, name: str = "") -> PlannedChange:
    return PlannedChange(entity_type=kind, source_id=source_id, action=action, name=name)


def plan(*changes: PlannedChange) -> Plan:
    return Plan(source_system="opsgenie", source_account="acme", run_id="r", changes=changes)


def test_counts_reconcile_when_every_source_record_has_one_outcome():
    rows = reconcile(
        {"users": 3, "teams": 1},
        {"person": {"create": 2}, "team": {"unchanged": 1}},
        quarantine=[{"entity_type": "person", "source_id": "u3"}],
        failed=[],
    )
    assert [(r["entity_type"], r["adds_up"]) for r in rows] == [("person", True), ("team", True)]


def test_a_record_with_no_outcome_makes_the_counts_not_add_up():
    [row] = reconcile({"users": 3}, {"person": {"create": 2}}, quarantine=[], failed=[])
    assert row["accounted"] == 2 and row["adds_up"] is False


def test_a_failed_run_reports_the_task_and_its_error():
    document = build_report(
        ctx=ctx(),
        summaries={},
        plan=plan(),
        quarantine=[],
        notes=(),
        failed=[],
        started_at=NOW,
        finished_at=NOW,
        failures=[{"task": "conflict_resolve", "state": "failed", "error": "3 of 4 vanished"}],
    )
    assert document["summary"]["status"] == "failed"
    assert document["sync_run"]["status"] == "failed"
    html = render_html(document)
    assert "This run failed at conflict_resolve" in html and "3 of 4 vanished" in html
    assert "nothing was written to the store" in html


def test_names_from_the_source_render_as_text():
    hostile = "<script>alert(1)</script>"
    document = build_report(
        ctx=ctx(),
        summaries={},
        plan=plan(change(EntityType.TEAM, "t1", Action.CREATE, name=hostile)),
        quarantine=[],
        notes=(),
        failed=[],
        started_at=NOW,
        finished_at=NOW,
    )
    html = render_html(document)
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_dry_run_says_nothing_was_written():
    document = build_report(
        ctx=ctx(dry_run=True),
        summaries={},
        plan=plan(change(EntityType.PERSON, "u1", Action.CREATE)),
        quarantine=[],
        notes=(),
        failed=[],
        started_at=NOW,
        finished_at=NOW,
    )
    assert document["summary"]["status"] == "dry_run"
    assert "Nothing was written to the store" in render_html(document)
