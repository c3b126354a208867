"""Reads one run's report.json into what the Sync reports pages show: the run's digest (status,
account, counts per outcome, counts per entity type and reason) and its items, one per record.

Decisions:
- This module is the only one that knows report.json's layout (written by oncall_sync.report);
  the pages, the charts and the downloads read the typed digest and items below. When the
  report's own typed summary exists, this is where it is imported.
- Outcomes are the analyst's words, not the plan's verbs: created, updated, unchanged, skipped
  (the plan's skip and skipped_local_edit), tombstoned, conflicts, failed, quarantined, invited.
- A conflict is an item of its own (the record it concerns also has its plan action), so the
  conflicts count is what the report counts, not a subset of the other outcomes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OUTCOMES = (
    "created",
    "updated",
    "unchanged",
    "skipped",
    "tombstoned",
    "conflicts",
    "failed",
    "quarantined",
    "invited",
)
# The outcomes the analyst's chart follows run by run.
CHARTED = ("created", "updated", "skipped", "failed", "conflicts")
# Each record lands in exactly one of these; conflicts and invitations are flags on records
# that also have one of them (a person created and invited, a zone stored and flagged).
EXCLUSIVE = ("created", "updated", "unchanged", "skipped", "tombstoned", "failed", "quarantined")
FLAGS = ("conflicts", "invited")

# The plan's action (report.json "entities" and "summary.actions") -> outcome.
_PLAN_ACTIONS = {
    "create": "created",
    "update": "updated",
    "unchanged": "unchanged",
    "skip": "skipped",
    "skipped_local_edit": "skipped",
    "tombstone": "tombstoned",
    "conflict": "conflicts",
}
# report.json's listed changes: the key, the outcome, and the reason shown when none is given.
_LISTED_CHANGES = (
    ("created", "created", ""),
    ("updated", "updated", ""),
    ("tombstoned", "tombstoned", "gone from the source"),
    ("skipped_local_edit", "skipped", "edited in the store (preserve_local)"),
    ("conflict_items", "conflicts", ""),
)


@dataclass(frozen=True)
class ReportItem:
    """One record's outcome in a run: what the downloads hold, one row each."""

    entity_type: str
    source_id: str
    name: str
    outcome: str
    reason: str

    def as_row(self) -> dict[str, str]:
        return {
            "entity_type": self.entity_type,
            "source_id": self.source_id,
            "name": self.name,
            "outcome": self.outcome,
            "reason": self.reason,
        }


ITEM_FIELDS = ("entity_type", "source_id", "name", "outcome", "reason")
# (entity type, outcome, reason) -> how many records
Facets = Counter[tuple[str, str, str]]


@dataclass(frozen=True)
class RunDigest:
    """What the list page shows of one run, and what its filters select on."""

    dag_id: str
    run_id: str  # the run's staging folder
    airflow_run_id: str = ""  # as Airflow spells it (folders sanitise ':' and '+')
    status: str | None = None
    dry_run: bool | None = None
    source_system: str = ""
    account: str = ""
    finished_at: datetime | None = None
    failed_task: str | None = None
    error: str | None = None
    rows_written: int | None = None
    facets: Facets = field(default_factory=Counter)
    unreadable: str | None = None  # why report.json could not be read, if it could not

    def counts(self, entity_type: str | None = None, reason: str | None = None) -> dict[str, int]:
        """Records per outcome, optionally for one entity type and/or one reason only."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for (kind, outcome, why), count in self.facets.items():
            if (entity_type is None or kind == entity_type) and (reason is None or why == reason):
                counts[outcome] = counts.get(outcome, 0) + count
        return counts

    def per_entity_type(self) -> dict[str, dict[str, int]]:
        """Entity type -> outcome -> records, entity types in the order the report gives them."""
        table: dict[str, dict[str, int]] = {}
        for (kind, outcome, _), count in self.facets.items():
            row = table.setdefault(kind, dict.fromkeys(OUTCOMES, 0))
            row[outcome] += count
        return table


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def items(report: Mapping[str, Any]) -> Iterator[ReportItem]:
    """Every record report.json lists, with its outcome and reason.

    Unchanged records are counted in the report, not listed, so they have no items; skipped
    records are listed per reason (up to the report's per-group limit).
    """
    for key, outcome, default_reason in _LISTED_CHANGES:
        for change in _dicts(report.get(key)):
            yield _item(change, outcome, _text(change.get("reason")) or default_reason)
    for group in _dicts(report.get("skipped")):
        for member in _dicts(group.get("items")):
            yield _item({**group, **member}, "skipped", _text(group.get("reason")))
    for conflict in _dicts(report.get("conflicts")):
        kind = _text(conflict.get("kind")).replace("_", " ")
        detail = "; ".join(
            part for part in (_text(conflict.get(k)) for k in ("detail", "resolution")) if part
        )
        yield _item(conflict, "conflicts", f"{kind}: {detail}" if detail else kind)
    for failure in _dicts(report.get("failed")):
        yield _item(failure, "failed", _text(failure.get("reason") or failure.get("error")))
    for held in _dicts(report.get("quarantine")):
        yield _item(held, "quarantined", _text(held.get("reason")))
    for invitation in _dicts(report.get("invitations")):
        yield ReportItem(
            entity_type="person",
            source_id=_text(invitation.get("person_source_id")),
            name=_text(invitation.get("email")),
            outcome="invited",
            reason=_text(invitation.get("status")),
        )


def _item(record: Mapping[str, Any], outcome: str, reason: str) -> ReportItem:
    return ReportItem(
        entity_type=_text(record.get("entity_type")),
        source_id=_text(record.get("source_id")),
        name=_text(record.get("name")),
        outcome=outcome,
        reason=reason,
    )


def _reason_key(item: ReportItem) -> str:
    """The reason a filter groups by: a conflict's kind, not its per-record detail."""
    return item.reason.split(":", 1)[0] if item.outcome == "conflicts" else item.reason


def facets(report: Mapping[str, Any]) -> Facets:
    """(entity type, outcome, reason) -> records, adding up to the report's own counts."""
    counted: Facets = Counter()
    listed: Counter[tuple[str, str]] = Counter()
    for item in items(report):
        if item.outcome == "skipped":
            continue  # counted per group below: the groups' lists may be cut short
        counted[(item.entity_type, item.outcome, _reason_key(item))] += 1
        listed[(item.entity_type, item.outcome)] += 1
    for group in _dicts(report.get("skipped")):
        count = _int(group.get("count")) or len(_dicts(group.get("items")))
        counted[(_text(group.get("entity_type")), "skipped", _text(group.get("reason")))] += count
    for change in _dicts(report.get("skipped_local_edit")):
        key = (_text(change.get("entity_type")), "skipped")
        counted[(*key, _text(change.get("reason")) or _LISTED_CHANGES[3][2])] += 1
    # What the plan counts but does not list (unchanged records) comes from its per-type counts.
    entities = report.get("entities")
    if isinstance(entities, Mapping):
        for kind, actions in entities.items():
            if not isinstance(actions, Mapping):
                continue
            for action, count in actions.items():
                outcome = _PLAN_ACTIONS.get(str(action))
                if outcome in (None, "skipped") or _int(count) is None:
                    continue
                missing = int(count) - listed[(str(kind), str(outcome))]
                if missing > 0:
                    counted[(str(kind), str(outcome), "")] += missing
    return counted


def digest(dag_id: str, run_id: str, report: Any) -> RunDigest:
    """The run's digest from its parsed report.json."""
    if not isinstance(report, Mapping):
        return RunDigest(dag_id, run_id, unreadable="report.json is not a JSON object")
    summary = report.get("summary") if isinstance(report.get("summary"), Mapping) else {}
    sync_run = report.get("sync_run") if isinstance(report.get("sync_run"), Mapping) else {}
    assert isinstance(summary, Mapping) and isinstance(sync_run, Mapping)
    dry_run = summary.get("dry_run", sync_run.get("dry_run"))
    sync_run_id = _text(summary.get("run") or sync_run.get("id"))
    return RunDigest(
        dag_id=dag_id,
        run_id=run_id,
        airflow_run_id=sync_run_id.split("/", 1)[1] if "/" in sync_run_id else run_id,
        status=_text(summary.get("status") or sync_run.get("status")) or None,
        dry_run=dry_run if isinstance(dry_run, bool) else None,
        source_system=_text(summary.get("source_system") or sync_run.get("source_system")),
        account=_text(summary.get("source_account") or sync_run.get("source_account")),
        finished_at=_time(sync_run.get("finished_at")) or _time(summary.get("finished_at")),
        failed_task=_text(summary.get("failed_task")) or None,
        error=_text(summary.get("error")) or None,
        rows_written=_int(summary.get("rows_written")),
        facets=facets(report),
    )
