"""The sync report: every task's summary and the plan, as report.json and a readable report.html.

It answers an analyst's questions without logs (what was created, updated, unchanged, skipped
and why, failed and with what error; conflicts; invitations) and an on-call lead's (did my
schedules come across exactly?). The counts reconcile with the source: every source record ends
in exactly one action.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from oncall_sync.model import Action, EntityType, FidelityNote, Plan

REPORT_FORMAT = 1
LISTED_PER_GROUP = 50  # items shown per group in the HTML; report.json has them all


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _group_by_reason(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        groups[(str(item.get("entity_type", "")), str(item.get("reason", "")))].append(item)
    return [
        {
            "entity_type": kind,
            "reason": reason,
            "count": len(members),
            "items": [
                {"source_id": m.get("source_id"), "name": m.get("name", "")}
                for m in members[:LISTED_PER_GROUP]
            ],
        }
        for (kind, reason), members in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
    ]


def _schedule_fidelity(plan: Plan, notes: Sequence[FidelityNote]) -> list[dict[str, Any]]:
    """Per schedule: what happened to it and to its rotations, and every note about them."""
    rotation_owner: dict[str, str] = {}
    rows: dict[str, dict[str, Any]] = {}
    for change in plan.changes:
        if change.entity_type is EntityType.SCHEDULE:
            rows[change.source_id] = {
                "source_id": change.source_id,
                "name": change.name,
                "action": change.action.value,
                "reason": change.reason,
                "rotations": Counter(),
                "notes": [],
            }
    for change in plan.changes:
        if change.entity_type is EntityType.ROTATION and change.record:
            owner = change.record.get("schedule_source_id")
            if owner in rows:
                rotation_owner[change.source_id] = owner
                rows[owner]["rotations"][change.action.value] += 1
    for note in notes:
        owner = (
            note.source_id
            if note.entity_type is EntityType.SCHEDULE
            else rotation_owner.get(note.source_id)
        )
        if owner in rows:
            rows[owner]["notes"].append(note.model_dump(mode="json"))
    result = []
    for row in rows.values():
        fidelity = {n["fidelity"] for n in row["notes"]}
        row["fidelity"] = (
            "unsupported"
            if "unsupported" in fidelity
            else "approximated"
            if "approximated" in fidelity
            else "exact"
        )
        row["rotations"] = dict(row["rotations"])
        result.append(row)
    return sorted(result, key=lambda r: (r["fidelity"] == "exact", r["name"]))


def build_report(
    *,
    ctx: Any,
    summaries: Mapping[str, Any],
    plan: Plan,
    quarantine: Sequence[Mapping[str, Any]],
    notes: Sequence[FidelityNote],
    failed: Sequence[Mapping[str, Any]],
    transform_skipped: Sequence[Mapping[str, Any]] = (),
    started_at: datetime | None,
    finished_at: datetime,
    failures: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The whole report as JSON-able data; `summary` is what the report task puts in XCom."""
    per_entity: dict[str, Counter[str]] = {kind.value: Counter() for kind in EntityType}
    for change in plan.changes:
        per_entity[change.entity_type.value][change.action.value] += 1
    for item in transform_skipped:  # records transform could not keep without what they need
        per_entity.setdefault(str(item.get("entity_type")), Counter())["skip"] += 1
    by_action = Counter(change.action.value for change in plan.changes)
    if transform_skipped:
        by_action["skip"] += len(transform_skipped)

    def listed(action: Action) -> list[dict[str, Any]]:
        return [
            {
                "entity_type": c.entity_type.value,
                "source_id": c.source_id,
                "name": c.name,
                "reason": c.reason,
                "diff": {k: list(v) for k, v in c.diff.items()},
            }
            for c in plan.changes
            if c.action is action
        ]

    extract_summary = summaries.get("extract", {}) or {}
    load_summary = summaries.get("load", {}) or {}
    invite_summary = summaries.get("invite", {}) or {}
    dry_run = bool(ctx.params.dry_run)
    failure = failures[0] if failures else None
    status = "failed" if failure else "dry_run" if dry_run else "success"
    summary = {
        "status": status,
        "failed_task": failure["task"] if failure else None,
        "error": failure.get("error") if failure else None,
        "source_system": plan.source_system,
        "source_account": plan.source_account,
        "run": ctx.sync_run_id,
        "dry_run": dry_run,
        "actions": dict(by_action),
        "conflicts": len(plan.conflicts),
        "conflicts_needing_review": sum(c.needs_review for c in plan.conflicts),
        "invitations": len(plan.invitations),
        # Mails the invite task had accepted by the mail server, and its one-sentence account.
        "invitations_mailed": invite_summary.get("sent", 0) + invite_summary.get("reminders", 0),
        "invitation_delivery": invite_summary.get("message", ""),
        "quarantined": len(quarantine),
        "failed": len(failed),
        "rows_written": load_summary.get("total_rows_written", 0),
        "api_requests": extract_summary.get("requests"),
    }
    sync_run = {
        "id": ctx.sync_run_id,
        "source_system": plan.source_system,
        "source_account": plan.source_account,
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "status": status,
        "dry_run": dry_run,
        "conflict_strategy": ctx.params.conflict_strategy,
        "params": ctx.params.model_dump(mode="json"),
        "stats": {
            "actions": dict(by_action),
            "rows_written": summary["rows_written"],
            "failed_task": summary["failed_task"],
            "error": summary["error"],
        },
    }
    return {
        "format": REPORT_FORMAT,
        "summary": summary,
        "sync_run": sync_run,
        "source_counts": extract_summary.get("counts", {}),
        "entities": {kind: dict(c) for kind, c in per_entity.items() if c},
        "created": listed(Action.CREATE),
        "updated": listed(Action.UPDATE),
        "tombstoned": listed(Action.TOMBSTONE),
        "skipped_local_edit": listed(Action.SKIPPED_LOCAL_EDIT),
        "skipped": _group_by_reason([*listed(Action.SKIP), *transform_skipped]),
        "reconciliation": reconcile(
            extract_summary.get("counts", {}), per_entity, quarantine, failed
        ),
        "conflict_items": listed(Action.CONFLICT),
        "failed": [dict(item) for item in failed],
        "conflicts": [c.model_dump(mode="json") for c in plan.conflicts],
        "invitations": [i.model_dump(mode="json") for i in plan.invitations],
        "quarantine": [dict(item) for item in quarantine],
        "fidelity": [n.model_dump(mode="json") for n in notes],
        "fidelity_counts": dict(Counter(n.fidelity.value for n in notes)),
        "schedules": _schedule_fidelity(plan, notes),
        "tasks": {name: value for name, value in summaries.items()},
    }


# The extract's counts per raw file, and the store entity type each becomes.
_RECONCILED = {
    "users": "person",
    "contacts": "contact_method",
    "teams": "team",
    "schedules": "schedule",
    "overrides": "override",
    "escalations": "escalation_policy",
    "services": "service",
}


def reconcile(
    source_counts: Mapping[str, int],
    per_entity: Mapping[str, Mapping[str, int]],
    quarantine: Sequence[Mapping[str, Any]],
    failed: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Per entity type: does every source record end in exactly one outcome? (rule 3)"""
    quarantined = Counter(str(q.get("entity_type")) for q in quarantine)
    failures = Counter(str(f.get("entity_type")) for f in failed)
    rows = []
    for raw, kind in _RECONCILED.items():
        if raw not in source_counts:
            continue
        planned = sum(per_entity.get(kind, {}).values())
        failed_here = failures[kind] + failures[raw]
        accounted = planned + quarantined[kind] + failed_here
        rows.append(
            {
                "entity_type": kind,
                "source": source_counts[raw],
                "planned": planned,
                "quarantined": quarantined[kind],
                "failed": failed_here,
                "accounted": accounted,
                "adds_up": accounted == source_counts[raw] + failures[raw],
            }
        )
    return rows


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("oncall_sync", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["LISTED"] = LISTED_PER_GROUP
    return env


def render_html(document: Mapping[str, Any]) -> str:
    """report.html: autoescaped, so names from the source render as text, never as markup."""
    return _environment().get_template("report.html").render(r=document)
