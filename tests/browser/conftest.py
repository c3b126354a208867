"""One deployment of the production shape for the browser journeys (a session), the OpsGenie
emulator held in this process so a test can switch its faults on, and headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from oncall_sync.emulator.server import RunningEmulator, run_emulator
from tests.browser.ui import CHROMIUM, CHROMIUM_ARGS, new_page, sign_in
from tests.production.conftest import shape_options
from tests.production.native import ADMIN, DAG_ID, Emulator, NativeShape

# Test settings only (NativeShape refuses to override a deployment setting with them): extract's
# retries wait 2 s, so a failure past its retries shows in about a minute, not seven.
TUNING = {"ONCALL_SYNC_RETRY_DELAY_SECONDS": "2"}
# The nightly default would start a catch-up run the moment the DAG is unpaused; the journeys
# trigger every run themselves. A leap-day schedule's last date is before the DAG's start_date,
# so nothing runs on its own (an operator sets ONCALL_SYNC_SCHEDULE in .env the same way).
SCHEDULE = "0 2 29 2 *"


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    with run_emulator(size="demo") as running:
        yield running


@pytest.fixture(scope="session")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, emulator: RunningEmulator
) -> Iterator[NativeShape]:
    workdir = Path(tmp_path_factory.mktemp("browser-shape"))
    with NativeShape(
        workdir,
        workers=1,
        emulator=Emulator(emulator.base_url, emulator.api_key),
        tuning=TUNING,
        schedule=SCHEDULE,
        **shape_options(),
    ) as shape:
        yield shape


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"the browser tests drive {CHROMIUM}: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, deployment: NativeShape) -> Iterator[Page]:
    """A new browser window, signed in as the admin."""
    window = new_page(browser)
    sign_in(window, deployment.api_url, ADMIN, deployment.password)
    yield window
    window.context.close()


__all__ = ["DAG_ID"]
