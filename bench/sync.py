"""One sync of a benchmark account, stage by stage, each stage measured in its own child process.

The stages are the plain functions the DAG's tasks call (oncall_sync.pipeline), run here without a
scheduler, against the emulator in its own process and a store named by ONCALL_SYNC_STORE_URL.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import Measured, in_child
from oncall_sync import pipeline
from oncall_sync.connectors.opsgenie.client import (
    DEFAULT_CONCURRENCY,
    OpsGenieClient,
    rate_limit_domain,
)
from oncall_sync.connectors.opsgenie.extract import minimum_requests
from oncall_sync.emulator.generator import SIZES
from oncall_sync.staging import MANIFEST, Staging

STAGES = ("extract", "validate", "transform", "conflict_resolve", "load", "report")
DAG_ID = "opsgenie_sync"


def preload() -> None:
    """Import what the stages import lazily, once, before any fork: stage times are work only."""
    import great_expectations  # noqa: F401

    import oncall_sync.connectors.opsgenie.extract
    import oncall_sync.connectors.opsgenie.mapping
    import oncall_sync.quality
    import oncall_sync.report
    import oncall_sync.resolve
    import oncall_sync.store.migrate
    import oncall_sync.store.repo  # noqa: F401

    # The imported modules are hundreds of thousands of objects: left in the collected
    # generations, a child's first full collection walks them all (and copies their pages),
    # charging a stage ~0.2 s that depends on where the parent's gc counters stood at fork.
    # Stages then run with the collector set as a DAG task sets it (airflow_tasks.run_task).
    from oncall_sync.pipeline import tune_garbage_collector

    gc.collect()
    tune_garbage_collector()


def account_sizes(size: str, scale: float = 1.0) -> dict[str, int]:
    """The counts the generator builds for `size` (same rounding as generate_account)."""
    users, teams, schedules, escalations, services = (max(1, round(n * scale)) for n in SIZES[size])
    return {
        "users": users,
        "teams": teams,
        "schedules": schedules,
        "escalations": escalations,
        "services": services,
    }


@dataclass(frozen=True)
class BenchSize:
    """A benchmark account: the generator's size and a scale (`large-2x` is large at scale 2)."""

    name: str
    size: str
    scale: float

    @classmethod
    def parse(cls, name: str) -> BenchSize:
        size, _, factor = name.partition("-")
        return cls(name=name, size=size, scale=float(factor.rstrip("x")) if factor else 1.0)

    def minimum_requests(self, with_contacts: bool) -> int:
        n = account_sizes(self.size, self.scale)
        return minimum_requests(
            n["users"], n["teams"], n["schedules"], n["services"], with_contacts
        )


@dataclass(frozen=True)
class Emulator:
    base_url: str
    api_key: str
    latency_ms: float
    concurrency: int = DEFAULT_CONCURRENCY

    def client(self) -> OpsGenieClient:
        return OpsGenieClient(self.api_key, base_url=self.base_url, concurrency=self.concurrency)


def start_emulator(
    size: str, latency_ms: float, rate_limit_scale: float, scale: float
) -> tuple[subprocess.Popen[str], str, str]:
    """Start `python -m oncall_sync.emulator` and read the URL and key it prints."""
    command = [
        sys.executable,
        "-m",
        "oncall_sync.emulator",
        "--size",
        size,
        "--scale",
        str(scale),
        "--latency-ms",
        str(latency_ms),
        "--rate-limit-scale",
        str(rate_limit_scale),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    found: dict[str, str] = {}
    assert process.stdout is not None
    while len(found) < 2:
        line = process.stdout.readline()
        if not line:
            process.kill()
            raise RuntimeError("the emulator exited before printing its URL")
        name, _, value = line.strip().partition("=")
        if name in ("OPSGENIE_EMULATOR_URL", "OPSGENIE_EMULATOR_KEY"):
            found[name] = value
    return process, found["OPSGENIE_EMULATOR_URL"], found["OPSGENIE_EMULATOR_KEY"]


@contextmanager
def emulator_process(
    size: BenchSize, latency_ms: float, rate_limit_scale: float
) -> Iterator[Emulator]:
    """The emulator serving `size` in its own process, so its CPU is not the stage's."""
    process, url, key = start_emulator(size.size, latency_ms, rate_limit_scale, size.scale)
    try:
        yield Emulator(url, key, latency_ms)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def migrate_store(store_url: str) -> None:
    """Bring a new store to the current schema (as `make migrate` does before the first sync)."""
    subprocess.run(
        [sys.executable, "-m", "oncall_sync.store", "migrate"],
        env={**os.environ, "ONCALL_SYNC_STORE_URL": store_url},
        check=True,
        stdout=subprocess.DEVNULL,
    )


@dataclass
class SyncRun:
    """The measured stages of one sync (extract absent when its snapshot was replayed)."""

    stages: dict[str, Measured] = field(default_factory=dict)
    extract_live: bool = True
    extract: dict[str, Any] = field(default_factory=dict)  # requests, bounds, ratios
    run_dir: str = ""

    @property
    def summaries(self) -> dict[str, Any]:
        return {name: m.value for name, m in self.stages.items()}


def _extract_stage(ctx: pipeline.RunContext, emulator: Emulator) -> dict[str, Any]:
    summary = pipeline.extract(ctx, emulator.client)
    manifest = json.loads(Path(ctx.path("raw", MANIFEST)).read_text())
    return {"summary": summary, "manifest": manifest}


def bound_seconds(
    by_endpoint: dict[str, int],
    rate_limits: dict[str, dict[str, int]],
    latency_ms: float,
    concurrency: int,
) -> dict[str, float]:
    """The lower bounds on wall time: one per rate-limit domain, and the latency one.

    A domain's bound is its requests over its sustained rate, min(per-second, per-minute / 60);
    the latency bound is requests x latency / concurrency.
    """
    per_domain: dict[str, int] = {}
    for template, count in by_endpoint.items():
        domain = rate_limit_domain(template)
        per_domain[domain] = per_domain.get(domain, 0) + count
    bounds: dict[str, float] = {}
    for domain, count in per_domain.items():
        limits = rate_limits.get(domain)
        if limits:
            sustained = min(limits["per_second"], limits["per_minute"] / 60)
            bounds[f"rate:{domain}"] = count / sustained
    total = sum(by_endpoint.values())
    bounds["latency"] = total * latency_ms / 1000 / concurrency
    return bounds


def extract_figures(
    manifest: dict[str, Any], wall_s: float, minimum: int, emulator: Emulator
) -> dict[str, Any]:
    """Requests against the minimum and wall time against the bound, from one extract."""
    by_endpoint = manifest["requests"]["by_endpoint"]
    total = manifest["requests"]["total"]
    bounds = bound_seconds(
        by_endpoint, manifest["rate_limits"], emulator.latency_ms, emulator.concurrency
    )
    bound = max(bounds.values())
    return {
        "requests": total,
        "requests_by_endpoint": by_endpoint,
        "minimum_requests": minimum,
        "requests_over_minimum": round(total / minimum, 4),
        "retries": manifest["retries"],
        "throttled_429": manifest["throttled_429"],
        "throttled_share": round(manifest["throttled_429"] / max(total, 1), 5),
        "api_seconds": manifest["duration_seconds"],
        "bounds_seconds": {k: round(v, 2) for k, v in bounds.items()},
        "bound_seconds": round(bound, 3),
        "binding_bound": max(bounds, key=lambda k: bounds[k]),
        "wall_over_bound": round(wall_s / bound, 3),
        "rate_limits": manifest["rate_limits"],
    }


def run_sync(
    *,
    size: BenchSize,
    emulator: Emulator,
    staging_root: str,
    store_url: str,
    run_id: str,
    params: pipeline.SyncParams,
    replay_from: SyncRun | None = None,
) -> SyncRun:
    """Run the six stages once, each in its own child; replay `replay_from`'s snapshot if given."""
    os.environ["ONCALL_SYNC_STORE_URL"] = store_url  # the children inherit it
    ctx = pipeline.RunContext(DAG_ID, run_id, params, Staging(staging_root))
    result = SyncRun(run_dir=ctx.run_dir)
    started_at = datetime.now(UTC)
    summaries: dict[str, Any] = {}
    if replay_from is None:
        measured = in_child(lambda: _extract_stage(ctx, emulator))
        summaries["extract"] = measured.value["summary"]
        result.stages["extract"] = Measured(
            measured.wall_s,
            measured.cpu_s,
            measured.peak_rss_mib,
            measured.start_rss_mib,
            summaries["extract"],
        )
        result.extract = extract_figures(
            measured.value["manifest"],
            measured.wall_s,
            size.minimum_requests(params.sync_contact_details),
            emulator,
        )
    else:
        # Not measured: the live extract of this account was measured in an earlier repeat.
        shutil.copytree(Path(replay_from.run_dir) / "raw", Path(ctx.path("raw")))
        summaries["extract"] = replay_from.summaries["extract"]
        result.extract_live = False
    steps: dict[str, Callable[[], Any]] = {
        "validate": lambda: pipeline.validate(ctx),
        "transform": lambda: pipeline.transform(ctx),
        "conflict_resolve": lambda: pipeline.conflict_resolve(ctx),
        "load": lambda: pipeline.load(ctx),
        "report": lambda: pipeline.report(ctx, summaries, started_at),
    }
    for name, step in steps.items():
        result.stages[name] = in_child(step)
        summaries[name] = result.stages[name].value
    return result
