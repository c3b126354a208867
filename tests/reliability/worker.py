"""A sync worker in its own process, for the crash and concurrency tests: it runs pipeline.load
(or store.repo.apply_plan on a plan file) and can be told to stop inside the open transaction.

    python -m tests.reliability.worker load <staging_root> <run_id> --events F [--pause-at S]
    python -m tests.reliability.worker apply <plan.json> --events F [--pause-at S] [--release R]

The store is ONCALL_SYNC_STORE_URL. Events go, one per line, to the events file: "acquired" when
the store's load lock is held, "paused" when the first statement starting with S (say "INSERT INTO
person") is about to run,
"committing" just before COMMIT, "done" after it, "error <text>" on failure. With --release the
pause lasts until that file exists; without, until the process is killed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event


def _note(events: Path, line: str) -> None:
    with events.open("a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {line}\n")
        handle.flush()
        os.fsync(handle.fileno())


def instrument(events: Path, pause_at: str | None, release: Path | None) -> None:
    """Listen on every engine (the pipeline builds its own) for the lock, the pause and COMMIT."""
    pause = re.compile(rf"^\s*{re.escape(pause_at)}\b", re.I) if pause_at else None
    paused = False

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal paused
        if pause is not None and not paused and pause.match(statement):
            paused = True
            _note(events, f"paused at {pause_at}")
            while release is None or not release.exists():
                time.sleep(0.02)

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE") or "pg_advisory_xact_lock" in statement:
            _note(events, "acquired")

    def commit(conn: Any) -> None:
        _note(events, "committing")

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "commit", commit)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["load", "apply"])
    parser.add_argument("args", nargs="+")
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--pause-at")
    parser.add_argument("--release", type=Path)
    parser.add_argument("--busy-ms", type=int, help="SQLite: wait this long for the write lock")
    options = parser.parse_args(argv)
    if options.busy_ms is not None:
        from oncall_sync.store import config

        config.SQLITE_BUSY_TIMEOUT_MS = options.busy_ms
    instrument(options.events, options.pause_at, options.release)
    _note(options.events, "attempting")
    try:
        if options.mode == "load":
            from oncall_sync import pipeline
            from oncall_sync.staging import Staging

            root, run_id = options.args
            ctx = pipeline.RunContext("opsgenie_sync", run_id, pipeline.SyncParams(), Staging(root))
            written = pipeline.load(ctx)["rows_written"]
        else:
            from oncall_sync.model import Plan
            from oncall_sync.store.config import make_engine
            from oncall_sync.store.repo import apply_plan

            plan = Plan.model_validate(json.loads(Path(options.args[0]).read_text()))
            written = apply_plan(make_engine(), plan)
    except Exception as error:  # the test reads the error text from the events file
        _note(options.events, f"error {type(error).__name__}: {error}".replace("\n", " "))
        traceback.print_exc()
        return 1
    _note(options.events, f"done {sum(written.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
