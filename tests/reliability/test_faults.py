"""A flaky API never makes the store worse: under every fault the emulator injects, the whole
sync (extract..report through the pipeline functions, a real SQLite store) either completes with
exactly the store of a fault-free run, or fails with a clear error and writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from oncall_sync.connectors.opsgenie.errors import OpsGenieError, RetryBudgetExhausted
from oncall_sync.emulator.generator import generate_account
from oncall_sync.emulator.server import RunningEmulator, run_emulator
from tests.reliability.conftest import new_sqlite_store
from tests.reliability.harness import (
    FIGURES,
    client_factory,
    dump,
    entity_rows,
    note_client,
    note_faults,
    run_context,
    sync,
)

Dump = dict[str, list[tuple[Any, ...]]]


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with run_emulator(size="tiny", seed=7) as running:
        yield running


@pytest.fixture(autouse=True)
def faults_off(emulator: RunningEmulator) -> Iterator[None]:
    emulator.faults.reset()
    yield
    note_faults(emulator)
    emulator.faults.reset()


@pytest.fixture(scope="module")
def fault_free(emulator: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Dump:
    """The store a fault-free sync of the account leaves."""
    folder = tmp_path_factory.mktemp("fault-free")
    url = new_sqlite_store(folder)
    sync(run_context(folder / "staging", "fault-free"), url, client_factory(emulator))
    from oncall_sync.store.config import make_engine

    engine = make_engine(url)
    try:
        return dump(engine)
    finally:
        engine.dispose()


def synced_store(
    emulator: RunningEmulator,
    folder: Path,
    open_store: Callable[[str], Engine],
    *,
    timeout: float = 2.0,
    run_id: str = "faulty",
) -> tuple[dict[str, Any], Engine]:
    url = new_sqlite_store(folder)
    summaries = sync(
        run_context(folder / "staging", run_id), url, client_factory(emulator, timeout=timeout)
    )
    note_client(summaries["extract"])
    return summaries, open_store(url)


FAULT_BURSTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "429 storm": [("429", {"times": 8}), ("429", {"probability": 0.4, "path": "/v2/users/*"})],
    "5xx burst": [("500", {"times": 3}), ("502", {"times": 3}), ("503", {"times": 3})],
    "timeouts": [("timeout", {"times": 3, "delay_s": 1.0})],
    "dropped connections": [("drop", {"times": 5})],
    "malformed JSON": [("malformed", {"times": 5})],
}


@pytest.mark.parametrize("burst", FAULT_BURSTS, ids=list(FAULT_BURSTS))
def test_a_sync_through_a_burst_of_faults_leaves_the_fault_free_store(
    burst: str,
    emulator: RunningEmulator,
    fault_free: Dump,
    tmp_path: Path,
    open_store: Callable[[str], Engine],
) -> None:
    for kind, options in FAULT_BURSTS[burst]:
        emulator.faults.add(kind, **options)  # type: ignore[arg-type]

    summaries, engine = synced_store(
        emulator, tmp_path, open_store, timeout=0.3 if burst == "timeouts" else 2.0
    )

    injected = sum(emulator.faults.injected.values())
    assert injected > 0
    # Every injected fault cost the client one retry, and nothing else did.
    assert summaries["extract"]["retries"] == injected
    assert dump(engine) == fault_free
    assert summaries["report"]["failed"] == 0
    FIGURES["outcomes"]["fault runs completed identical"] += 1


def test_a_mix_of_every_fault_at_five_percent_leaves_the_fault_free_store(
    emulator: RunningEmulator,
    fault_free: Dump,
    tmp_path: Path,
    open_store: Callable[[str], Engine],
) -> None:
    for kind in ("429", "500", "502", "503", "drop", "malformed", "timeout"):
        emulator.faults.add(kind, probability=0.05, delay_s=1.0)  # type: ignore[arg-type]

    summaries, engine = synced_store(emulator, tmp_path, open_store, timeout=0.3)

    assert sum(emulator.faults.injected.values()) == summaries["extract"]["retries"] > 0
    assert dump(engine) == fault_free
    FIGURES["outcomes"]["fault runs completed identical"] += 1


def test_users_pages_shifting_while_paging_leave_the_store_of_a_settled_read(
    tmp_path: Path, open_store: Callable[[str], Engine]
) -> None:
    # ~120 users over two pages: the list moves between page requests.
    with run_emulator(generate_account("demo", 7, scale=0.6)) as emulator:
        emulator.faults.add("shift_users", times=2, path="/v2/users", mode="remove")
        _, shifted = synced_store(emulator, tmp_path / "shifted", open_store)
        note_faults(emulator)
        emulator.faults.clear()
        _, settled = synced_store(emulator, tmp_path / "settled", open_store, run_id="settled")

    assert emulator.faults.injected["shift_users"] == 2
    assert dump(shifted) == dump(settled)
    FIGURES["outcomes"]["fault runs completed identical"] += 1


@pytest.mark.parametrize(
    ("kind", "path"),
    [("503", "/v2/escalations"), ("drop", "/v2/schedules"), ("malformed", "/v2/teams")],
)
def test_faults_past_the_retry_budget_fail_clearly_and_write_nothing(
    kind: str,
    path: str,
    emulator: RunningEmulator,
    tmp_path: Path,
    open_store: Callable[[str], Engine],
) -> None:
    # A store that already holds the account: a failed run must leave it exactly so.
    url = new_sqlite_store(tmp_path)
    sync(run_context(tmp_path / "staging", "before"), url, client_factory(emulator))
    engine = open_store(url)
    before = dump(engine)
    emulator.faults.add(kind, path=path)  # type: ignore[arg-type]

    with pytest.raises(RetryBudgetExhausted) as raised:
        sync(run_context(tmp_path / "staging", "failing"), url, client_factory(emulator))

    message = str(raised.value)
    assert f"GET {path}" in message and "failed 10 times" in message
    assert "re-run the task later" in message
    assert emulator.api_key not in message
    assert dump(engine) == before
    FIGURES["outcomes"]["fault runs failed cleanly"] += 1


def test_users_that_never_stop_shifting_fail_clearly_and_write_nothing(
    tmp_path: Path, open_store: Callable[[str], Engine]
) -> None:
    url = new_sqlite_store(tmp_path)
    with run_emulator(generate_account("demo", 7, scale=0.6)) as emulator:
        emulator.faults.add("shift_users", path="/v2/users")
        with pytest.raises(OpsGenieError, match="kept changing"):
            sync(run_context(tmp_path / "staging", "shifting"), url, client_factory(emulator))
        note_faults(emulator)

    assert entity_rows(open_store(url)) == 0
    FIGURES["outcomes"]["fault runs failed cleanly"] += 1
