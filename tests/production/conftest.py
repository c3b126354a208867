"""The native production shape for the tests of this folder: one per module, stopped after it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.production.native import NativeShape

PG_DSN_VAR = "ONCALL_SYNC_TEST_PG_DSN"
REDIS_URL_VAR = "ONCALL_SYNC_TEST_REDIS_URL"

# Test settings only, none of them a production setting (NativeShape refuses overrides):
# - a killed worker's task is declared dead after 20 s without a heartbeat (default 5 min),
#   checked every 2 s, so the retry comes quickly;
# - extract's retries wait 2 s, not a minute.
TUNING = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "ONCALL_SYNC_RETRY_DELAY_SECONDS": "2",
}


def shape_options() -> dict[str, str]:
    dsn = os.environ.get(PG_DSN_VAR)
    if not dsn:
        pytest.skip(f"the production shape needs PostgreSQL: set {PG_DSN_VAR} (.ci/run does)")
    redis_url = os.environ.get(REDIS_URL_VAR, "redis://127.0.0.1:6379/0")
    if not _reachable(redis_url):
        pytest.skip(f"the production shape needs Redis at {redis_url} (set {REDIS_URL_VAR})")
    return {"pg_dsn": dsn, "redis_url": redis_url}


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeShape]:
    workdir = Path(tmp_path_factory.mktemp("production-shape"))
    # Half the emulator's rate limits: extract reads for ~10 s, long enough to be cut mid-way.
    with NativeShape(
        workdir,
        workers=2,
        emulator_flags={"rate_limit_scale": "0.5"},
        tuning=TUNING,
        **shape_options(),
    ) as running:
        yield running
