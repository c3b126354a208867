"""
### opsgenie_sync: OpsGenie → on-call store, one way, every night

- **extract**: reads the account through connection `opsgenie_default` (or replays
  `snapshot_uri`) into this run's staging folder. Safe to re-run: it rewrites the snapshot.
- **validate**: Great Expectations over the snapshot; bad records go to quarantine with the
  rule and reason; fails when the quarantined share passes `max_quarantine_share`. Safe.
- **transform**: snapshot minus quarantine into the canonical model, with a fidelity note for
  everything not imported exactly. Safe.
- **conflict_resolve**: compares with the store and writes the plan; **stops the run** when the
  source shrank past `deletion_guard_share`. Safe: it re-reads the store.
- **load**: applies the plan in ONE transaction (nothing on `dry_run`). Safe: it upserts by
  source id, so a re-run leaves the same store.
- **invite**: mails the invitations that are due through the SMTP connection named by
  `invite_mail_connection` (nothing without it, nothing on `dry_run`); a re-run never mails an
  invitation twice. Safe.
- **report**: writes report.json, report.html (the log prints where) and the sync_run row. Safe.

Data moves between tasks through staging (`ONCALL_SYNC_STAGING`, keyed by dag id and run id);
XCom carries small summaries only. The store is `ONCALL_SYNC_STORE_URL` or connection
`oncall_store`. The schedule comes from `ONCALL_SYNC_SCHEDULE` or the Variable
`oncall_sync_schedule` (default: nightly at 02:00 UTC).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from oncall_sync.airflow_tasks import retry_delay, run_task, sync_schedule

SCHEDULE = sync_schedule(default="0 2 * * *")

PARAMS = {
    "entity_types": Param(
        ["users", "teams", "schedules", "escalations", "services"],
        type="array",
        items={
            "type": "string",
            "enum": ["users", "teams", "schedules", "escalations", "services"],
        },
        description="Which OpsGenie entity types to sync.",
    ),
    "teams": Param(
        [],
        type="array",
        items={"type": "string"},
        description="Team names or ids to sync; empty: all teams.",
    ),
    "services": Param(
        [],
        type="array",
        items={"type": "string"},
        description="Service names or ids: each selects its owning team and what that team owns.",
    ),
    "sync_contact_details": Param(
        True, type="boolean", description="Import email, SMS, voice and mobile contacts."
    ),
    "conflict_strategy": Param(
        "preserve_local",
        enum=["preserve_local", "overwrite_source"],
        description="Keep rows edited in the store, or overwrite them with the source.",
    ),
    "invite_users": Param(
        "unmatched",
        type=["string", "array"],
        description="'unmatched' invites every user not found in the store by email; "
        "'none' invites nobody; or a list of emails to invite.",
    ),
    "dry_run": Param(False, type="boolean", description="Plan and report, write nothing."),
    "deletion_guard_share": Param(
        0.25,
        type="number",
        minimum=0,
        maximum=1,
        description="Stop before load when more than this share of any entity type vanished.",
    ),
    "max_quarantine_share": Param(
        0.2,
        type="number",
        minimum=0,
        maximum=1,
        description="Fail validate when more than this share of records is quarantined.",
    ),
    "invite_mail_connection": Param(
        "oncall_sync_mail",
        type=["null", "string"],
        description="SMTP connection that mails invitations; none, or no such connection: "
        "invitations are recorded and not sent.",
    ),
    "invite_resend_after_days": Param(
        7,
        type="integer",
        minimum=0,
        description="Mail an unanswered invitation again after this many days (0: never).",
    ),
    "invite_valid_days": Param(
        14, type="integer", minimum=1, description="How long an invitation's accept link holds."
    ),
    "snapshot_uri": Param(
        None,
        type=["null", "string"],
        description="Replay a stored snapshot (a raw/ folder) instead of calling the API.",
    ),
}


@dag(
    dag_id="opsgenie_sync",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    params=PARAMS,
    tags=["oncall-sync", "opsgenie"],
    default_args={
        "owner": "data-platform",
        # Only extract meets transient faults; the other tasks would fail the same way again.
        "retries": 0,
        "execution_timeout": timedelta(minutes=30),
    },
)
def opsgenie_sync():
    @task(
        retries=3,
        retry_delay=retry_delay(default=timedelta(minutes=1)),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(minutes=10),
    )
    def extract() -> dict:
        return run_task("extract", get_current_context())

    @task
    def validate() -> dict:
        return run_task("validate", get_current_context())

    @task
    def transform() -> dict:
        return run_task("transform", get_current_context())

    @task
    def conflict_resolve() -> dict:
        return run_task("conflict_resolve", get_current_context())

    @task
    def load() -> dict:
        return run_task("load", get_current_context())

    # Its own task: a mail failure never touches load's transaction. Retries meet a mail server
    # that is briefly away; a re-run never mails an invitation twice.
    @task(retries=2, retry_delay=timedelta(minutes=2))
    def invite() -> dict:
        return run_task("invite", get_current_context())

    # Runs after a failure too, to report where and why; it then fails the run itself.
    @task(trigger_rule="all_done")
    def report() -> dict:
        return run_task("report", get_current_context())

    extract() >> validate() >> transform() >> conflict_resolve() >> load() >> invite() >> report()


opsgenie_sync()
