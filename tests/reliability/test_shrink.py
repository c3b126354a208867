"""A source that suddenly shrinks (0 users; half the schedules gone) is stopped before load by
the deletion guard: nothing is tombstoned, nothing written, and the message says what vanished."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from oncall_sync.emulator.generator import Account, generate_account
from oncall_sync.resolve import DeletionGuardTripped
from oncall_sync.store import schema
from tests.reliability.conftest import new_sqlite_store
from tests.reliability.harness import FIGURES, dump, run_context, snapshot_of, sync


def without_users(account: Account) -> Account:
    shrunk = copy.deepcopy(account)
    shrunk.users, shrunk.contacts = [], {}
    return shrunk


def without_half_the_schedules(account: Account) -> Account:
    shrunk = copy.deepcopy(account)
    gone = {s["id"] for s in shrunk.schedules[::2]}
    shrunk.schedules = [s for s in shrunk.schedules if s["id"] not in gone]
    shrunk.overrides = {k: v for k, v in shrunk.overrides.items() if k not in gone}
    return shrunk


def tombstones(engine: Engine) -> int:
    with engine.connect() as conn:
        return sum(
            conn.execute(
                select(func.count()).where(table.c.source_deleted_at.is_not(None))
            ).scalar_one()
            for table in schema.metadata.sorted_tables
            if "source_deleted_at" in table.c
        )


@pytest.mark.parametrize(
    ("shrink", "vanished"),
    [
        (without_users, "the source has 0 users; the store holds 12"),
        (without_half_the_schedules, "3 of 6 schedule records vanished (50% > 25%)"),
    ],
    ids=["0 users", "half the schedules"],
)
def test_a_source_that_shrinks_is_stopped_before_load_and_nothing_is_tombstoned(
    shrink: Callable[[Account], Account],
    vanished: str,
    tmp_path: Path,
    open_store: Callable[[str], Engine],
) -> None:
    account = generate_account("tiny", 7)
    url = new_sqlite_store(tmp_path)
    staging = tmp_path / "staging"
    sync(run_context(staging, "full", snapshot_uri=snapshot_of(account, staging, "a")), url)
    engine = open_store(url)
    before = dump(engine)
    shrunk_uri = snapshot_of(shrink(account), staging, "b")
    # Quarantine may not stop it first: the guard is what is under test.
    ctx = run_context(staging, "shrunk", snapshot_uri=shrunk_uri, max_quarantine_share=1.0)

    with pytest.raises(DeletionGuardTripped) as tripped:
        sync(ctx, url)

    message = str(tripped.value)
    assert vanished in message
    assert "nothing was written" in message and "deletion_guard_share" in message
    assert dump(engine) == before
    assert tombstones(engine) == 0
    assert not (staging / "opsgenie_sync" / "shrunk" / "report").exists()
    FIGURES["outcomes"]["shrinking sources stopped by the guard"] += 1
