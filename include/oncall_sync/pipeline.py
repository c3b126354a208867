"""The six tasks of a sync, as plain functions the DAG calls (and tests and the benchmark too).

Each task reads its inputs from run-scoped staging and returns a small JSON summary (the XCom),
so any one of them can be cleared and re-run alone and finds what it needs. Data never travels
through XCom (DESIGN.md rule 1).
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from oncall_sync.model import EntityType, OnCallConfig, Plan
from oncall_sync.staging import Staging, load_snapshot

log = logging.getLogger(__name__)

SourceEntityType = Literal["users", "teams", "schedules", "escalations", "services"]
SOURCE_ENTITY_TYPES: tuple[SourceEntityType, ...] = (
    "users",
    "teams",
    "schedules",
    "escalations",
    "services",
)

# What each source entity type brings into the store.
ENTITY_TYPES_OF: dict[str, tuple[EntityType, ...]] = {
    "users": (EntityType.PERSON, EntityType.CONTACT_METHOD),
    "teams": (EntityType.TEAM, EntityType.TEAM_MEMBER),
    "schedules": (EntityType.SCHEDULE, EntityType.ROTATION, EntityType.OVERRIDE),
    "escalations": (EntityType.ESCALATION_POLICY,),
    "services": (EntityType.SERVICE,),
}


class SyncParams(BaseModel):
    """The DAG params, validated once more here so that plain-Python callers get the same checks."""

    entity_types: list[SourceEntityType] = Field(default_factory=lambda: list(SOURCE_ENTITY_TYPES))
    teams: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    sync_contact_details: bool = True
    conflict_strategy: Literal["preserve_local", "overwrite_source"] = "preserve_local"
    invite_users: str | list[str] = "unmatched"
    dry_run: bool = False
    deletion_guard_share: float = Field(default=0.25, ge=0.0, le=1.0)
    max_quarantine_share: float = Field(default=0.2, ge=0.0, le=1.0)
    snapshot_uri: str | None = None
    connection_id: str = "opsgenie_default"
    invite_mail_connection: str | None = "oncall_sync_mail"
    invite_resend_after_days: int = Field(default=7, ge=0)
    invite_valid_days: int = Field(default=14, ge=1)

    @field_validator("invite_users")
    @classmethod
    def _invite_users_is_known(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str) and value not in ("none", "unmatched"):
            # A comma-separated list typed into the trigger form.
            emails = [e.strip() for e in value.split(",") if e.strip()]
            if not emails or any("@" not in e for e in emails):
                raise ValueError("invite_users is 'none', 'unmatched' or a list of emails")
            return emails
        return value

    @property
    def store_entity_types(self) -> list[EntityType]:
        return [kind for source in self.entity_types for kind in ENTITY_TYPES_OF[source]]


@dataclass(frozen=True)
class RunContext:
    """Where one DAG run keeps its files, and what it was asked to do."""

    dag_id: str
    run_id: str
    params: SyncParams
    staging: Staging

    @property
    def run_dir(self) -> str:
        return self.staging.run_path(self.dag_id, self.run_id)

    def path(self, *parts: str) -> str:
        return Staging.join(self.run_dir, *parts)

    @property
    def sync_run_id(self) -> str:
        return f"{self.dag_id}/{self.run_id}"


def record_task_outcome(ctx: RunContext, task: str, error: BaseException | None) -> None:
    """Keep each task's last outcome beside the data, for the report of a run that failed."""
    outcome: dict[str, Any] = {"task": task, "state": "success" if error is None else "failed"}
    if error is not None:
        outcome |= {"error_type": type(error).__name__, "error": str(error)}
    ctx.staging.write_json(ctx.path("tasks", f"{task}.json"), outcome)


def failed_tasks(ctx: RunContext) -> list[dict[str, Any]]:
    """The tasks of this run whose last attempt failed, in pipeline order."""
    order = ("extract", "validate", "transform", "conflict_resolve", "load", "invite")
    outcomes = []
    for task in order:
        uri = ctx.path("tasks", f"{task}.json")
        if ctx.staging.exists(uri):
            outcome = ctx.staging.read_json(uri)
            if outcome.get("state") == "failed":
                outcomes.append(outcome)
    return outcomes


def _progress(message: str) -> None:
    log.info("%s", message)


# --- extract -------------------------------------------------------------------------------


def extract(ctx: RunContext, client_factory: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Pull the account (or replay a stored snapshot) into this run's raw/ folder."""
    from oncall_sync.staging import write_snapshot

    params = ctx.params
    if params.snapshot_uri:
        snapshot = load_snapshot(params.snapshot_uri)
        write_snapshot(ctx.staging, ctx.run_dir, snapshot)
        log.info("replayed snapshot %s into %s", params.snapshot_uri, ctx.path("raw"))
        manifest = {**snapshot.manifest, "replayed_from": params.snapshot_uri}
    else:
        from oncall_sync.connectors.opsgenie.extract import extract_to_staging

        if client_factory is None:
            from oncall_sync.connectors.opsgenie.hook import OpsGenieHook

            hook = OpsGenieHook(params.connection_id)
            client_factory = hook.get_client
        manifest = extract_to_staging(
            client_factory,
            ctx.staging,
            ctx.run_dir,
            entity_types=set(params.entity_types),
            sync_contact_details=params.sync_contact_details,
            progress=_progress,
        )
    return {
        "snapshot_uri": ctx.path("raw"),
        "source_account": manifest.get("source_account"),
        "region": manifest.get("region"),
        "counts": manifest.get("counts", {}),
        "skipped": manifest.get("skipped", {}),
        "out_of_reach": {k: len(v) for k, v in manifest.get("out_of_reach", {}).items()},
        "requests": manifest.get("requests", {}).get("total"),
        "retries": manifest.get("retries"),
        "throttled_429": manifest.get("throttled_429"),
        "duration_seconds": manifest.get("duration_seconds"),
        "replayed_from": manifest.get("replayed_from"),
    }


def raw_of(ctx: RunContext) -> dict[str, Any]:
    """The run's snapshot as the mapping validate and transform read: absent types left out."""
    snapshot = load_snapshot(ctx.path("raw"))
    raw: dict[str, Any] = {"manifest": snapshot.manifest}
    for name in snapshot.manifest.get("entity_types", []):
        value = getattr(snapshot, name, None)
        if value is not None:
            raw[name] = value
    raw["failed"] = [item.model_dump(mode="json") for item in snapshot.failed]
    return raw


def snapshot_manifest(ctx: RunContext) -> dict[str, Any]:
    """The run's manifest alone: cheap, where the whole snapshot is not needed."""
    return dict(ctx.staging.read_json(ctx.path("raw", "manifest.json")))


def raw_failures(ctx: RunContext) -> list[dict[str, Any]]:
    """Records the extract could not take (raw/failed.json), or [] when there is none."""
    uri = ctx.path("raw", "failed.json")
    return list(ctx.staging.read_json(uri)) if ctx.staging.exists(uri) else []


def tune_garbage_collector() -> None:
    """A task holds a whole account in memory; the collector's default thresholds make it walk
    those objects again and again (measured: transform 30% slower, and growing faster than
    linearly with the account). Freeze what imports created and collect far less often."""
    gc.freeze()
    gc.set_threshold(100_000, 20, 100)


# --- validate ------------------------------------------------------------------------------


def validate(ctx: RunContext) -> dict[str, Any]:
    """Great Expectations over the raw snapshot; failing records go to quarantine."""
    from oncall_sync.quality import check_threshold, validate_snapshot

    report = validate_snapshot(raw_of(ctx), max_quarantine_share=ctx.params.max_quarantine_share)
    ctx.staging.write_json(
        ctx.path("quality", "quarantine.json"),
        [item.model_dump(mode="json") for item in report.quarantine],
    )
    ctx.staging.write_json(ctx.path("quality", "gx_results.json"), report.gx_results)
    ctx.staging.write_json(
        ctx.path("quality", "timezone_conversions.json"), report.timezone_conversions
    )
    check_threshold(report, ctx.params.max_quarantine_share)
    return {
        **report.summary,
        "quarantined": len(report.quarantine),
        "timezone_conversions": len(report.timezone_conversions),
        "gx_results_uri": ctx.path("quality", "gx_results.json"),
    }


# --- transform -----------------------------------------------------------------------------


def transform(ctx: RunContext) -> dict[str, Any]:
    """Raw snapshot minus quarantine into the canonical model, with fidelity notes."""
    from oncall_sync.connectors.opsgenie.mapping import map_snapshot
    from oncall_sync.quality import QuarantineItem

    quarantine = [
        QuarantineItem.model_validate(item)
        for item in ctx.staging.read_json(ctx.path("quality", "quarantine.json"))
    ]
    raw = raw_of(ctx)
    result = map_snapshot(raw, quarantine=quarantine)
    ctx.staging.write_json(
        ctx.path("canonical", "config.json"), result.config.model_dump(mode="json")
    )
    ctx.staging.write_json(ctx.path("canonical", "failed.json"), list(result.failed))
    ctx.staging.write_json(ctx.path("canonical", "skipped.json"), list(result.skipped))
    fidelity: dict[str, int] = {}
    for note in result.config.notes:
        fidelity[note.fidelity.value] = fidelity.get(note.fidelity.value, 0) + 1
    return {
        "counts": result.counts,
        "failed": len(result.failed),
        "skipped": len(result.skipped),
        "fidelity_notes": fidelity,
        "config_uri": ctx.path("canonical", "config.json"),
    }


def load_config(ctx: RunContext) -> OnCallConfig:
    return OnCallConfig.model_validate(ctx.staging.read_json(ctx.path("canonical", "config.json")))


# --- conflict_resolve ----------------------------------------------------------------------


def _store_engine() -> Any:
    from oncall_sync.store.config import store_url

    return _engine_for(store_url())


@functools.lru_cache(maxsize=4)
def _engine_for(url: str) -> Any:
    """One engine (and connection pool) per store URL for the life of the process."""
    from oncall_sync.store.config import make_engine

    return make_engine(url)


def _ensure_migrated(engine: Any) -> None:
    from oncall_sync.store.migrate import is_behind, migrate

    if is_behind(engine):
        log.info("the store's schema is behind: migrating it first")
        migrate(engine)


def store_view(engine: Any, config: OnCallConfig) -> Any:
    """Read the part of the store a plan depends on, in a handful of queries."""
    from oncall_sync.resolve import StoreView
    from oncall_sync.store.repo import find_by_name, find_people_by_email, read_state

    with engine.connect() as conn:
        return StoreView(
            records=read_state(conn, config.source_system, config.source_account).records,
            people_by_email=find_people_by_email(conn, [p.email for p in config.people]),
            names={
                EntityType.TEAM: find_by_name(
                    conn, EntityType.TEAM, [t.name for t in config.teams]
                ),
                EntityType.SCHEDULE: find_by_name(
                    conn, EntityType.SCHEDULE, [s.name for s in config.schedules]
                ),
            },
        )


def conflict_resolve(ctx: RunContext) -> dict[str, Any]:
    """Compare with the store and write the plan; the deletion guard may stop the run here."""
    from oncall_sync.resolve import SyncOptions, plan_changes, plan_summary
    from oncall_sync.store.repo import store_form

    config = load_config(ctx)
    manifest = snapshot_manifest(ctx)
    # Only what the extract really read can be compared: an entity type skipped by the API
    # (services on a plan without them) must not look like everything of it was deleted.
    extracted = set(manifest.get("entity_types", SOURCE_ENTITY_TYPES))
    partial = manifest.get("key_scope") == "team" or bool(manifest.get("out_of_reach"))
    if partial:
        log.warning(
            "the snapshot is partial (team-scoped key or entities out of reach): no tombstones"
        )
    engine = _store_engine()
    _ensure_migrated(engine)
    options = SyncOptions(
        conflict_strategy=ctx.params.conflict_strategy,
        invite_users=ctx.params.invite_users,
        deletion_guard_share=ctx.params.deletion_guard_share,
        entity_types=[
            kind
            for source in ctx.params.entity_types
            if source in extracted
            for kind in ENTITY_TYPES_OF[source]
        ],
        teams=ctx.params.teams,
        services=ctx.params.services,
        sync_contact_details=ctx.params.sync_contact_details and "contacts" in extracted,
        partial_source=partial,
    )
    plan = plan_changes(
        config,
        store_view(engine, config),
        options,
        run_id=ctx.sync_run_id,
        store_form=store_form,
        withheld=withheld_ids(ctx),
    )
    ctx.staging.write_json(ctx.path("plan", "plan.json"), plan.model_dump(mode="json"))
    summary = plan_summary(plan)
    log.info("plan: %s", summary)
    return {**summary, "partial_source": partial, "plan_uri": ctx.path("plan", "plan.json")}


def withheld_ids(ctx: RunContext) -> set[str]:
    """Source ids the source still has but this run leaves out: quarantined by validate, failed
    in extract or transform. A bad record today must not read as a deletion (a tombstone)."""
    quarantine = ctx.staging.read_json(ctx.path("quality", "quarantine.json"))
    failed = ctx.staging.read_json(ctx.path("canonical", "failed.json"))
    failed += raw_failures(ctx)
    return {str(item["source_id"]) for item in [*quarantine, *failed] if item.get("source_id")}


def load_plan(ctx: RunContext) -> Plan:
    return Plan.model_validate(ctx.staging.read_json(ctx.path("plan", "plan.json")))


# --- load ----------------------------------------------------------------------------------


def load(ctx: RunContext) -> dict[str, Any]:
    """Apply the plan in one transaction; on dry_run, write nothing."""
    plan = load_plan(ctx)
    if ctx.params.dry_run:
        log.info("dry_run: the plan was not applied; the report shows what would happen")
        return {"dry_run": True, "rows_written": {}, "total_rows_written": 0}
    from oncall_sync.store.repo import apply_plan

    engine = _store_engine()
    _ensure_migrated(engine)
    written = apply_plan(engine, plan)
    total = sum(written.values())
    log.info("load wrote %d rows: %s", total, written)
    return {"dry_run": False, "rows_written": written, "total_rows_written": total}


# --- invite --------------------------------------------------------------------------------


def invite(ctx: RunContext) -> dict[str, Any]:
    """After load: mail the invitations that are due, opt-in (oncall_sync.invitations.send)."""
    from oncall_sync.invitations.send import InviteOptions, run_invite

    plan, params = load_plan(ctx), ctx.params
    engine = _store_engine()
    _ensure_migrated(engine)
    result = run_invite(
        engine,
        source_system=plan.source_system,
        source_account=plan.source_account,
        options=InviteOptions(
            invite_users=params.invite_users,
            mail_connection=params.invite_mail_connection,
            resend_after_days=params.invite_resend_after_days,
            valid_days=params.invite_valid_days,
            dry_run=params.dry_run,
        ),
        planned=[invitation.email for invitation in plan.invitations],
    )
    ctx.staging.write_json(ctx.path("invitations", "result.json"), result.staged())
    return result.summary.model_dump(mode="json")


# --- report --------------------------------------------------------------------------------


def report(
    ctx: RunContext, summaries: Mapping[str, Any], started_at: datetime | None = None
) -> dict[str, Any]:
    """Gather the task summaries and the plan into report.json and report.html.

    It also runs when an earlier task failed: the report then says which task failed and why,
    with whatever the run had produced by then.
    """
    from oncall_sync.report import build_report, render_html

    failures = failed_tasks(ctx)
    read = _reader(ctx)
    plan = (
        load_plan(ctx)
        if ctx.staging.exists(ctx.path("plan", "plan.json"))
        else Plan(source_system="opsgenie", source_account=_account_of(ctx), run_id=ctx.sync_run_id)
    )
    config_exists = ctx.staging.exists(ctx.path("canonical", "config.json"))
    notes = load_config(ctx).notes if config_exists else ()
    raw_failed = raw_failures(ctx)
    document = build_report(
        ctx=ctx,
        summaries=summaries,
        plan=plan,
        quarantine=read("quality", "quarantine.json"),
        notes=notes,
        failed=[*raw_failed, *read("canonical", "failed.json")],
        transform_skipped=read("canonical", "skipped.json"),
        started_at=started_at,
        finished_at=datetime.now(UTC),
        failures=failures,
    )
    json_uri = ctx.path("report", "report.json")
    html_uri = ctx.path("report", "report.html")
    ctx.staging.write_json(json_uri, document)
    ctx.staging.write_text(html_uri, render_html(document))
    if not ctx.params.dry_run:
        from oncall_sync.store.repo import record_sync_run

        try:
            record_sync_run(_store_engine(), document["sync_run"])
        except Exception:
            if not failures:
                raise
            log.exception("could not record the failed run in the store")
    log.info("sync report: %s", html_uri)
    return {**document["summary"], "report_html": html_uri, "report_json": json_uri}


def _reader(ctx: RunContext) -> Callable[..., list[Any]]:
    """Read a staged list, or [] when the task that writes it did not get that far."""

    def read(*parts: str) -> list[Any]:
        uri = ctx.path(*parts)
        return list(ctx.staging.read_json(uri)) if ctx.staging.exists(uri) else []

    return read


def _has_snapshot(ctx: RunContext) -> bool:
    return ctx.staging.exists(ctx.path("raw", "manifest.json"))


def _account_of(ctx: RunContext) -> str:
    if _has_snapshot(ctx):
        return str(snapshot_manifest(ctx).get("source_account") or "unknown")
    return "unknown"
