"""Benchmark of the extract: the emulator (own process) serves a generated account with latency and
rate limits; we extract it with contacts and compare requests and wall time with their bounds.

    python bench/extract_bench.py --size large --latency-ms 20 --repeats 1

Bounds: requests >= minimum_requests(account sizes); wall >= max over rate-limit domains of
(requests in the domain / sustained rate of the domain), and >= requests x latency / concurrency.
The sustained rate of a domain is min(per-second limit, per-minute limit / 60); for OpsGenie's
configuration domain (contacts, teams, overrides: nearly all requests) that is the binding one.

Measured 2026-11-27 (large, 20 ms, concurrency 16, emulator's default limits, 2 cores): 13,110
requests = the minimum, 0 retries, 0 429s, 279.6 s against a bound of 260.2 s (configuration
domain, 13,010 requests at 50/s): 1.075x; peak RSS 123 MiB. The gap is our pacing at 47.5/s, which
keeps bursts plus refill under the limit in any rolling second as well as in the server's bucket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from oncall_sync.connectors.opsgenie.client import (
    DEFAULT_CONCURRENCY,
    OpsGenieClient,
    rate_limit_domain,
)
from oncall_sync.connectors.opsgenie.extract import ENTITY_TYPES, extract_snapshot, minimum_requests
from oncall_sync.emulator.generator import SIZES


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


def bound_seconds(
    by_endpoint: dict[str, int],
    rate_limits: dict[str, dict[str, int]],
    latency_ms: float,
    concurrency: int,
) -> dict[str, float]:
    """The lower bounds on wall time: one per rate-limit domain, and the latency one."""
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


async def _extract_once(base_url: str, key: str, concurrency: int) -> dict[str, Any]:
    async with OpsGenieClient(key, base_url=base_url, concurrency=concurrency) as client:
        started = time.monotonic()
        snapshot = await extract_snapshot(
            client, entity_types=set(ENTITY_TYPES), sync_contact_details=True
        )
        wall = time.monotonic() - started
    return {"wall_seconds": wall, "manifest": snapshot.manifest}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_extract_bench(
    size: str = "large",
    latency_ms: float = 20,
    concurrency: int = DEFAULT_CONCURRENCY,
    repeats: int = 3,
    *,
    rate_limit_scale: float = 1.0,
    scale: float = 1.0,
) -> dict[str, Any]:
    """Extract the `size` account `repeats` times and report requests, time and their bounds."""
    sizes = account_sizes(size, scale)
    minimum = minimum_requests(
        sizes["users"], sizes["teams"], sizes["schedules"], sizes["services"], True
    )
    process, base_url, key = start_emulator(size, latency_ms, rate_limit_scale, scale)
    runs: list[dict[str, Any]] = []
    try:
        for _ in range(repeats):
            outcome = asyncio.run(_extract_once(base_url, key, concurrency))
            manifest = outcome["manifest"]
            by_endpoint = manifest["requests"]["by_endpoint"]
            bounds = bound_seconds(by_endpoint, manifest["rate_limits"], latency_ms, concurrency)
            bound = max(bounds.values())
            total = manifest["requests"]["total"]
            runs.append(
                {
                    "wall_seconds": round(outcome["wall_seconds"], 2),
                    "requests": total,
                    "requests_by_endpoint": by_endpoint,
                    "retries": manifest["retries"],
                    "throttled_429": manifest["throttled_429"],
                    "throttled_share": round(manifest["throttled_429"] / max(total, 1), 5),
                    "counts": manifest["counts"],
                    "bounds_seconds": {k: round(v, 2) for k, v in bounds.items()},
                    "bound_seconds": round(bound, 2),
                    "binding_bound": max(bounds, key=lambda k: bounds[k]),
                    "wall_over_bound": round(outcome["wall_seconds"] / bound, 3),
                    "requests_over_minimum": round(total / minimum, 4),
                    "rate_limits": manifest["rate_limits"],
                }
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
    worst = max(runs, key=lambda r: r["wall_over_bound"])
    rss = peak_rss_mib()
    return {
        "size": size,
        "scale": scale,
        "account": sizes,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "rate_limit_scale": rate_limit_scale,
        "repeats": repeats,
        "minimum_requests": minimum,
        "runs": runs,
        "peak_rss_mib": round(rss, 1),
        "targets": {
            "requests <= 1.02 x minimum": all(r["requests_over_minimum"] <= 1.02 for r in runs),
            "wall <= 1.25 x bound": worst["wall_over_bound"] <= 1.25,
            "429s < 1%": all(r["throttled_share"] < 0.01 for r in runs),
            "peak RSS < 1 GiB": rss < 1024,
        },
        "pid": os.getpid(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=sorted(SIZES))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate-limit-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    result = run_extract_bench(
        args.size,
        args.latency_ms,
        args.concurrency,
        args.repeats,
        rate_limit_scale=args.rate_limit_scale,
        scale=args.scale,
    )
    print(json.dumps(result, indent=2))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
