"""The Sync reports pages' reading side: a run's report.json read into counts and items (reports
built by the report task's own builder), the runs in staging found, filtered and paged, charts."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from oncall_sync.model import (
    Action,
    Conflict,
    ConflictKind,
    EntityType,
    Invitation,
    Plan,
    PlannedChange,
)
from oncall_sync.pipeline import RunContext, SyncParams
from oncall_sync.report import LISTED_PER_GROUP, build_report
from oncall_sync.reports_ui import charts, reader
from oncall_sync.reports_ui.catalog import Catalog, NoSuchRun, Page, RunFilter, choices
from oncall_sync.staging import Staging, path_component

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
P, T, S, C = EntityType.PERSON, EntityType.TEAM, EntityType.SCHEDULE, EntityType.CONTACT_METHOD


def change(kind: EntityType, source_id: str, action: Action, reason: str = "") -> PlannedChange:
    return PlannedChange(
        entity_type=kind,
        source_id=source_id,
        action=action,
        name=f"{source_id} name",
        reason=reason,
    )


def report_document(
    *changes: PlannedChange,
    account: str = "acme",
    run_id: str = "manual__2026-11-27T02:00:00+00:00",
    finished_at: datetime = NOW,
    conflicts: tuple[Conflict, ...] = (),
    invitations: tuple[Invitation, ...] = (),
    quarantine: list[dict[str, Any]] | None = None,
    failed: list[dict[str, Any]] | None = None,
    failures: list[dict[str, Any]] | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """A report.json exactly as the report task writes it, from a plan."""
    plan = Plan(
        source_system="opsgenie",
        source_account=account,
        run_id=run_id,
        changes=changes,
        conflicts=conflicts,
        invitations=invitations,
    )
    ctx = RunContext("opsgenie_sync", run_id, SyncParams(dry_run=dry_run), Staging("/unused"))
    return build_report(
        ctx=ctx,
        summaries={"load": {"total_rows_written": 3}},
        plan=plan,
        quarantine=quarantine or [],
        notes=(),
        failed=failed or [],
        started_at=finished_at - timedelta(minutes=1),
        finished_at=finished_at,
        failures=failures or [],
    )


A_RUN = report_document(
    change(P, "u1", Action.CREATE),
    change(P, "u2", Action.CREATE),
    change(P, "u3", Action.UNCHANGED),
    change(T, "t1", Action.UPDATE),
    change(T, "t2", Action.SKIPPED_LOCAL_EDIT),
    change(S, "s1", Action.SKIP, reason="owner team not synced"),
    change(S, "s2", Action.TOMBSTONE),
    change(C, "c1", Action.UNCHANGED),
    change(C, "c2", Action.UNCHANGED),
    change(P, "u4", Action.CONFLICT, reason="already synced from pagerduty/x"),
    conflicts=(
        Conflict(
            kind=ConflictKind.TIMEZONE_MISMATCH,
            entity_type=P,
            source_id="u1",
            name="u1 name",
            detail="source zone 'PST' is not a canonical IANA id",
        ),
    ),
    invitations=(Invitation(email="u1@example.com", person_source_id="u1"),),
    quarantine=[
        {"entity_type": "schedule", "source_id": "s9", "name": "", "rule": "r", "reason": "bad"}
    ],
    failed=[{"entity_type": "person", "source_id": "u9", "reason": "invalid payload: id"}],
)


def test_a_reports_digest_counts_each_outcome_as_the_report_does() -> None:
    run = reader.digest("opsgenie_sync", "folder", A_RUN)
    assert run.counts() == {
        "created": 2,
        "updated": 1,
        "unchanged": 3,
        "skipped": 2,
        "tombstoned": 1,
        "conflicts": 2,  # the plan's conflict action and the seed's conflict record
        "failed": 1,
        "quarantined": 1,
        "invited": 1,
    }
    assert (run.status, run.account, run.dry_run, run.finished_at) == (
        "success",
        "acme",
        False,
        NOW,
    )
    assert run.airflow_run_id == "manual__2026-11-27T02:00:00+00:00"
    assert run.rows_written == 3


def test_counts_per_entity_type_and_per_reason() -> None:
    run = reader.digest("opsgenie_sync", "folder", A_RUN)
    table = run.per_entity_type()
    assert table["person"]["created"] == 2 and table["person"]["unchanged"] == 1
    assert table["contact_method"]["unchanged"] == 2
    assert table["schedule"]["skipped"] == 1 and table["schedule"]["quarantined"] == 1
    assert run.counts(entity_type="team") == {
        **dict.fromkeys(reader.OUTCOMES, 0),
        "updated": 1,
        "skipped": 1,
    }
    assert run.counts(reason="owner team not synced")["skipped"] == 1
    assert run.counts(reason="timezone mismatch")["conflicts"] == 1


def test_items_are_every_listed_record_with_its_outcome_and_reason() -> None:
    listed = {(i.source_id, i.outcome, i.reason) for i in reader.items(A_RUN)}
    assert listed == {
        ("u1", "created", ""),
        ("u2", "created", ""),
        ("t1", "updated", ""),
        ("s2", "tombstoned", "gone from the source"),
        ("t2", "skipped", "edited in the store (preserve_local)"),
        ("u4", "conflicts", "already synced from pagerduty/x"),
        ("s1", "skipped", "owner team not synced"),
        ("u1", "conflicts", "timezone mismatch: source zone 'PST' is not a canonical IANA id"),
        ("u9", "failed", "invalid payload: id"),
        ("s9", "quarantined", "bad"),
        ("u1", "invited", "pending"),
    }


def test_skips_beyond_the_reports_listed_ones_are_still_counted() -> None:
    many = [change(S, f"s{n}", Action.SKIP, reason="no rotations") for n in range(80)]
    document = report_document(*many)
    assert reader.digest("d", "r", document).counts()["skipped"] == 80
    assert len(list(reader.items(document))) == LISTED_PER_GROUP


@pytest.mark.parametrize("document", [[], "text", None])
def test_a_report_that_is_not_an_object_is_unreadable(document: Any) -> None:
    run = reader.digest("d", "r", document)
    assert run.unreadable == "report.json is not a JSON object"
    assert sum(run.counts().values()) == 0


def test_a_report_missing_sections_reads_as_zeros() -> None:
    run = reader.digest("d", "r", {"summary": {"status": "success"}, "entities": "odd"})
    assert run.status == "success" and sum(run.counts().values()) == 0
    assert list(reader.items({"created": "not a list", "failed": [1, None]})) == []


# --- the catalog of runs in staging ---------------------------------------------------------


def write_report(root: Path, dag_id: str, run_id: str, document: Any, html: bool = True) -> Path:
    folder = root / dag_id / path_component(run_id) / "report"
    folder.mkdir(parents=True)
    path = folder / "report.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    if html:
        (folder / "report.html").write_text("<p>the whole report</p>")
    return path


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    root = tmp_path / "staging"
    root.mkdir()
    return root


def test_runs_are_listed_newest_first_and_unreadable_ones_say_why(staging: Path) -> None:
    for day in (25, 27, 26):
        when = datetime(2026, 11, day, 2, tzinfo=UTC)
        run_id = f"scheduled__2026-11-{day}"
        write_report(staging, "opsgenie_sync", run_id, report_document(finished_at=when))
    broken = write_report(staging, "opsgenie_sync", "broken", "{not json", html=False)
    os.utime(broken, (1_000_000_000, 1_000_000_000))
    (staging / "opsgenie_sync" / "running" / "raw").mkdir(parents=True)  # no report yet
    runs = Catalog(str(staging)).runs()
    assert [r.run_id for r in runs] == [
        "scheduled__2026-11-27",
        "scheduled__2026-11-26",
        "scheduled__2026-11-25",
        "broken",
    ]
    assert runs[-1].unreadable is not None
    assert runs[-1].unreadable.startswith("report.json unreadable")
    assert runs[-1].finished_at == datetime.fromtimestamp(1_000_000_000, tz=UTC)


def test_an_absent_staging_root_lists_nothing(tmp_path: Path) -> None:
    assert Catalog(str(tmp_path / "nowhere")).runs() == []


def test_a_rewritten_report_is_read_again(staging: Path) -> None:
    path = write_report(staging, "opsgenie_sync", "run-1", report_document())
    catalog = Catalog(str(staging))
    assert catalog.runs()[0].counts()["created"] == 0
    path.write_text(json.dumps(report_document(change(P, "u1", Action.CREATE))))
    assert catalog.runs()[0].counts()["created"] == 1


def test_filters_select_runs_and_narrow_their_counts(staging: Path) -> None:
    write_report(staging, "opsgenie_sync", "a", A_RUN)
    write_report(
        staging,
        "opsgenie_sync__eu",
        "b",
        report_document(change(T, "t", Action.CREATE), account="eu", finished_at=NOW - DAY),
    )
    runs = Catalog(str(staging)).runs()
    by_account = [r.run_id for r in runs if RunFilter(account="eu").admits(r)]
    assert by_account == ["b"]
    with_failures = [r.run_id for r in runs if RunFilter(outcome="failed").admits(r)]
    assert with_failures == ["a"]
    teams = RunFilter(entity_type="team")
    assert [(r.run_id, teams.counts(r)["created"]) for r in runs if teams.admits(r)] == [
        ("a", 0),
        ("b", 1),
    ]
    reason = RunFilter(reason="owner team not synced")
    assert [r.run_id for r in runs if reason.admits(r)] == ["a"]
    offered = choices(runs)
    assert offered["account"] == [("acme", 1), ("eu", 1)]
    assert ("failed", 1) in offered["outcome"]
    assert ("owner team not synced", 1) in offered["reason"]


def test_a_run_is_found_by_its_airflow_run_id_or_its_folder(staging: Path) -> None:
    run_id = "manual__2026-11-27T02:00:00+00:00"
    write_report(staging, "opsgenie_sync", run_id, A_RUN)
    catalog = Catalog(str(staging))
    for name in (run_id, path_component(run_id)):
        assert catalog.run("opsgenie_sync", name).counts()["created"] == 2
        assert len(catalog.items("opsgenie_sync", name)) == 11
    only = catalog.items("opsgenie_sync", run_id, RunFilter(outcome="conflicts"))
    assert {i.source_id for i in only} == {"u1", "u4"}
    with pytest.raises(NoSuchRun):
        catalog.run("opsgenie_sync", "nope")
    with pytest.raises(NoSuchRun):
        catalog.run("..", "x")


def test_pages_cover_the_whole_list_and_clamp_out_of_range_numbers() -> None:
    rows = list(range(251))
    pages = [Page.of(rows, n, 100) for n in (1, 2, 3)]
    assert [p.rows[0] for p in pages] == [0, 100, 200] and len(pages[2].rows) == 51
    assert {p.pages for p in pages} == {3} and pages[0].total == 251
    assert Page.of(rows, 99, 100).number == 3
    assert Page.of([], 1, 100).pages == 1


# --- charts ---------------------------------------------------------------------------------


def test_the_chart_over_time_has_a_bar_with_its_number_per_run_and_outcome() -> None:
    bars = [
        charts.RunBar("11-25", "first", {"created": 989, "conflicts": 47}),
        charts.RunBar("11-26", "second", {"updated": 3, "failed": 2}, failed_run=True),
    ]
    svg = charts.outcomes_over_time(bars)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<title>first: 989 created</title>" in svg
    assert "<title>second: 2 failed</title>" in svg
    assert ">989</text>" in svg and ">2</text>" in svg
    assert svg.count("<rect") == 4  # only outcomes that happened get a bar
    assert 'class="muted failed-run"' in svg
    assert charts.outcomes_over_time([]) == ""


def test_the_per_entity_type_chart_has_a_row_per_type_with_its_total_and_flags() -> None:
    svg = charts.per_entity_type(
        {
            "person": {"created": 2, "unchanged": 5, "conflicts": 3, "invited": 2},
            "team": {"updated": 1},
            "empty": {},
        }
    )
    assert 'data-entity-type="person"' in svg and 'data-entity-type="team"' in svg
    assert "empty" not in svg
    assert "<title>person: 5 unchanged</title>" in svg
    # Conflicts and invitations flag records counted in the bar: written after it, not added.
    assert ">7<tspan" in svg and " · 3 conflicts · 2 invited</tspan>" in svg
    assert "person: 3 conflicts" not in svg
    assert charts.per_entity_type({}) == ""


def test_chart_text_from_the_source_is_escaped() -> None:
    svg = charts.outcomes_over_time([charts.RunBar("<b>", "<script>", {"created": 1})])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
