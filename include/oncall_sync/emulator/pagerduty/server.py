"""Run the PagerDuty emulator on 127.0.0.1 in a background thread, for tests, the demo and bench.

with run_pagerduty_emulator(size="tiny") as emulator:
    auth = {"Authorization": f"Token token={emulator.api_key}"}
    httpx.get(f"{emulator.base_url}/abilities", headers=auth)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from oncall_sync.emulator.faults import FaultPlan
from oncall_sync.emulator.pagerduty.account import Account
from oncall_sync.emulator.pagerduty.app import PagerDutyApp, create_app
from oncall_sync.emulator.pagerduty.calls import PagerDutyConfig, key_for_region
from oncall_sync.emulator.pagerduty.generator import generate_account
from oncall_sync.emulator.server import serve_in_thread


@dataclass
class RunningPagerDuty:
    """A live emulator: where it listens, the key to use, and its live config, faults and data."""

    base_url: str
    api_key: str
    app: PagerDutyApp
    config: PagerDutyConfig
    faults: FaultPlan
    account: Account


@contextmanager
def run_pagerduty_emulator(
    account: Account | None = None,
    config: PagerDutyConfig | None = None,
    *,
    size: str = "demo",
    seed: int = 7,
    region: str = "us",
    port: int = 0,
) -> Iterator[RunningPagerDuty]:
    """Serve an emulator for the block; builds the `size`/`seed`/`region` account if none given."""
    account = account or generate_account(size, seed, region=region)
    config = config or PagerDutyConfig()
    app = create_app(account, config)
    with serve_in_thread(app, port, name="pagerduty-emulator") as base_url:
        yield RunningPagerDuty(
            base_url=base_url,
            api_key=key_for_region(account.region),
            app=app,
            config=config,
            faults=app.faults,
            account=account,
        )
