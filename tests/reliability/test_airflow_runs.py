"""The DAG run for real by Airflow (`airflow dags test`) in an Airflow home of its own: a run
through injected faults lands the fault-free store, a run with the wrong region's key fails in
words, and neither key is anywhere afterwards: task logs, Airflow's metadata DB (rendered fields,
XCom), staging, reports, the store, or what the commands printed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from oncall_sync.demo import demo_environment
from oncall_sync.emulator.app import EmulatorConfig, KeyInfo
from oncall_sync.emulator.generator import generate_account
from oncall_sync.emulator.server import RunningEmulator, run_emulator
from oncall_sync.store.config import make_engine
from tests.reliability.conftest import new_sqlite_store
from tests.reliability.harness import (
    FIGURES,
    client_factory,
    dump,
    note_faults,
    run_context,
    sync,
)

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
KEY = "5e1f0c3a-9b2d-4c6e-8f7a-0b1c2d3e4f5a"  # known to the emulator, US region
EU_KEY = "a7c3e9f1-2b4d-4e6f-8a0b-c1d2e3f4a5b6"  # known, but bound to the EU region
KEYS = (KEY, EU_KEY)


@dataclass
class Deployment:
    """One Airflow home, staging root and store, and everything the commands printed."""

    root: Path
    emulator: RunningEmulator
    printed: list[str] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.root / "airflow_home"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.root / 'store.db'}"

    def env(self, key: str) -> dict[str, str]:
        return demo_environment(self.emulator.base_url, key) | {
            "AIRFLOW_HOME": str(self.home),
            "ONCALL_SYNC_STORE_URL": self.store_url,
            "ONCALL_SYNC_STAGING": str(self.staging),
        }

    def airflow(self, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [AIRFLOW, *args], env=self.env(key), capture_output=True, text=True, timeout=600
        )
        self.printed.append(result.stdout + result.stderr)
        return result

    def task_logs(self) -> str:
        logs = sorted(self.home.glob("logs/**/*.log"), key=lambda p: p.stat().st_mtime)
        return "\n".join(p.read_text(errors="replace") for p in logs)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    config = EmulatorConfig(
        api_keys={KEY: KeyInfo(region="us"), EU_KEY: KeyInfo(region="eu")}, region="us"
    )
    with run_emulator(generate_account("tiny", 7), config) as emulator:
        deployment = Deployment(tmp_path_factory.mktemp("deployment"), emulator)
        deployment.home.mkdir()
        for args in (["db", "migrate"], ["dags", "reserialize"]):
            assert deployment.airflow(*args).returncode == 0, deployment.printed[-1][-3000:]
        yield deployment


@pytest.fixture(scope="module")
def faulty_run(deployment: Deployment) -> subprocess.CompletedProcess[str]:
    faults = deployment.emulator.faults
    faults.reset()
    # Spread over the endpoints, so that no one request meets more than the client's budget.
    for kind, path, times in (
        ("429", "/v2/users*", 3),
        ("503", "/v2/teams*", 3),
        ("502", "/v2/schedules*", 2),
        ("drop", "/v2/escalations*", 2),
        ("malformed", "/v1/services*", 2),
    ):
        faults.add(kind, path=path, times=times)  # type: ignore[arg-type]
    result = deployment.airflow("dags", "test", "opsgenie_sync", "-c", "{}")
    note_faults(deployment.emulator)
    faults.reset()
    return result


@pytest.fixture(scope="module")
def wrong_region_run(
    deployment: Deployment, faulty_run: subprocess.CompletedProcess[str]
) -> subprocess.CompletedProcess[str]:
    return deployment.airflow("dags", "test", "opsgenie_sync", "-c", "{}", key=EU_KEY)


def test_a_dag_run_through_injected_faults_lands_the_fault_free_store(
    deployment: Deployment, faulty_run: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    assert faulty_run.returncode == 0, (faulty_run.stdout + faulty_run.stderr)[-3000:]
    report = json.loads(
        next(deployment.staging.glob("opsgenie_sync/*/report/report.json")).read_text()
    )
    extract = report["tasks"]["extract"]
    # 12 faults, each absorbed by one retry of the client inside the extract task.
    assert extract["retries"] == 12 and extract["throttled_429"] == 3
    FIGURES["client"]["retries"] += extract["retries"]
    FIGURES["client"]["throttled_429"] += extract["throttled_429"]
    FIGURES["outcomes"]["fault runs completed identical (Airflow)"] += 1

    reference = new_sqlite_store(tmp_path)
    sync(
        run_context(tmp_path / "staging", "ref"),
        reference,
        client_factory(deployment.emulator, key=KEY),
    )
    stores = [make_engine(deployment.store_url), make_engine(reference)]
    try:
        assert dump(stores[0]) == dump(stores[1])
    finally:
        for engine in stores:
            engine.dispose()


def test_a_key_of_the_other_region_fails_the_run_at_once_in_words_not_the_key(
    wrong_region_run: subprocess.CompletedProcess[str],
) -> None:
    # `airflow dags test` runs the tasks in its own process: their logs are what it prints.
    output = wrong_region_run.stdout + wrong_region_run.stderr

    assert wrong_region_run.returncode != 0
    assert "OpsGenie rejected the API key (401 on GET /v2/account, region us)" in output
    assert 'set extra.region="eu" on connection opsgenie_default' in output
    # Failed without Airflow's retries: a wrong key does not get better in two minutes.
    assert "AirflowFailException" in output
    FIGURES["outcomes"]["wrong-region runs failed in words"] += 1


def files_holding(roots: list[Path], secrets: tuple[str, ...]) -> dict[str, list[str]]:
    """Every file under the roots whose bytes hold a secret (as text, any case)."""
    found: dict[str, list[str]] = {}
    patterns = {s: [s.encode(), s.upper().encode()] for s in secrets}
    searched = 0
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if not path.is_file():
                continue
            searched += 1
            data = path.read_bytes()
            for secret, forms in patterns.items():
                if any(form in data for form in forms):
                    found.setdefault(secret, []).append(str(path))
    FIGURES["outcomes"]["artefact files searched for the key"] = searched
    return found


def test_neither_key_is_anywhere_after_both_runs(
    deployment: Deployment,
    faulty_run: subprocess.CompletedProcess[str],
    wrong_region_run: subprocess.CompletedProcess[str],
    tmp_path: Path,
) -> None:
    metadata = deployment.home / "airflow.db"
    with sqlite3.connect(metadata) as db:
        xcoms = db.execute("SELECT count(*) FROM xcom").fetchone()[0]
        rendered = db.execute("SELECT count(*) FROM rendered_task_instance_fields").fetchone()[0]
    assert xcoms >= 6 and rendered >= 6  # there was something to search
    assert list(deployment.staging.glob("opsgenie_sync/*/report/report.html"))
    printed = tmp_path / "printed.txt"
    printed.write_text("\n".join(deployment.printed))
    engine = make_engine(deployment.store_url)
    try:
        (tmp_path / "store-dump.txt").write_text(repr(dump(engine, None)))
    finally:
        engine.dispose()
    roots = [deployment.home, deployment.staging, deployment.root / "store.db", tmp_path]

    # The search finds a key where one is: a control file beside the real ones.
    control = tmp_path / "control.txt"
    control.write_text(f"GenieKey {KEY}")
    assert files_holding([control], KEYS) == {KEY: [str(control)]}
    control.unlink()

    assert files_holding(roots, KEYS) == {}
