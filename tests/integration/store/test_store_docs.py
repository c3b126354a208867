"""The example queries in docs/store.md run as written on both engines and answer rightly."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, text

from oncall_sync.model import Action, EntityType, PlannedChange
from oncall_sync.store.repo import apply_plan
from tests.store_fixtures import create_plan, full_config, plan_of

DOC = Path(__file__).resolve().parents[3] / "docs" / "store.md"


def _doc_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_docs_hold_the_promised_queries() -> None:
    assert len(_doc_queries()) >= 8


def test_every_documented_query_runs_on_a_loaded_store(store: Engine) -> None:
    apply_plan(store, create_plan(full_config()))
    gone = PlannedChange(entity_type=EntityType.TEAM, source_id="t-pay", action=Action.TOMBSTONE)
    apply_plan(store, plan_of([gone]))
    results = []
    with store.connect() as conn:
        for query in _doc_queries():
            results.append(conn.execute(text(query)).all())
    by_first_line = dict(zip([q.splitlines()[0] for q in _doc_queries()], results, strict=True))
    members = by_first_line["-- The members of a schedule's rotations, in turn order."]
    assert [row.member for row in members] == [
        "alice@example.com",
        "bob@example.com",
        "(nobody)",
        "Payments",
        "SRE escalation",
        "carol@example.com",
        "(nobody)",
    ]
    tombstoned = [rows for q, rows in by_first_line.items() if q.startswith("SELECT 'schedule'")]
    assert [tuple(r)[:3] for r in tombstoned[0]] == [("team", "Payments", "t-pay")]
