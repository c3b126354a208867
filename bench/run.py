"""`python -m bench`: the whole benchmark, sizes by repeats by syncs, then one Airflow DAG run;
writes bench/results/latest.json and latest.md and prints the table."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import results
from bench.measure import Measured, spread
from bench.sync import (
    STAGES,
    BenchSize,
    Emulator,
    SyncRun,
    account_sizes,
    emulator_process,
    migrate_store,
    preload,
    run_sync,
)
from oncall_sync import pipeline
from oncall_sync.emulator.ratelimit import DEFAULT_RATE_LIMITS

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SIZES = ("demo", "large", "large-2x")
# 8x the emulator's defaults: configuration 400/s. At the defaults (50/s) one extract of `large`
# takes ~260 s, and the whole benchmark must fit in 15 minutes on 2 cores.
DEFAULT_RATE_LIMIT_SCALE = 8.0


def _sample(run: SyncRun, repeat: int) -> results.Sample:
    def figures(m: Measured) -> dict[str, float]:
        return {
            "wall_s": round(m.wall_s, 3),
            "cpu_s": round(m.cpu_s, 3),
            "peak_rss_mib": round(m.peak_rss_mib, 1),
            "start_rss_mib": round(m.start_rss_mib, 1),
        }

    load = run.summaries.get("load") or {}
    return {
        "repeat": repeat,
        "extract_live": run.extract_live,
        "stages": {name: figures(m) for name, m in run.stages.items()},
        "extract": run.extract,
        "rows_written": load.get("total_rows_written", 0),
        "plan": {
            k: v
            for k, v in (run.summaries.get("conflict_resolve") or {}).items()
            if not k.endswith("_uri")
        },
    }


def bench_size(
    size: BenchSize,
    *,
    workdir: Path,
    latency_ms: float,
    rate_limit_scale: float,
    repeats: int,
    full_repeats: int,
    pg_dsn: str | None,
    log: Any,
) -> dict[str, list[results.Sample]]:
    """All syncs of one account. The first `full_repeats` repeats: a first sync into an empty
    store, an unchanged second sync, and a first sync with contact details off, each extracting
    live. Repeats after those (budget): the first sync alone, its snapshot replayed. Then the
    PostgreSQL variants, once."""
    syncs: dict[str, list[results.Sample]] = {kind: [] for kind in results.SYNCS}
    with emulator_process(size, latency_ms, rate_limit_scale) as emulator:
        first_live: SyncRun | None = None
        unchanged_live: SyncRun | None = None
        for repeat in range(1, repeats + 1):
            full = repeat <= full_repeats
            folder = workdir / size.name / f"r{repeat}"
            folder.mkdir(parents=True)
            store = f"sqlite:///{folder / 'store.db'}"
            migrate_store(store)
            sync = partial(
                run_sync, size=size, emulator=emulator, staging_root=str(folder / "staging")
            )
            run = sync(
                store_url=store,
                run_id="first",
                params=pipeline.SyncParams(),
                replay_from=None if full else first_live,
            )
            first_live = first_live or run
            syncs["first"].append(_sample(run, repeat))
            log(size, "first", repeat, run)
            if not full:
                continue
            # One live extract of the unchanged account is enough: it is the same extract as the
            # first sync's; later repeats replay it and measure the store-side stages.
            run = sync(
                store_url=store,
                run_id="unchanged",
                params=pipeline.SyncParams(),
                replay_from=unchanged_live,
            )
            unchanged_live = unchanged_live or run
            syncs["unchanged"].append(_sample(run, repeat))
            log(size, "unchanged", repeat, run)
            store_nc = f"sqlite:///{folder / 'store_no_contacts.db'}"
            migrate_store(store_nc)
            run = sync(
                store_url=store_nc,
                run_id="no_contacts",
                params=pipeline.SyncParams(sync_contact_details=False),
            )
            syncs["no_contacts"].append(_sample(run, repeat))
            log(size, "no_contacts", repeat, run)
        if pg_dsn and first_live is not None:
            syncs.update(_postgresql(size, emulator, workdir, first_live, pg_dsn, log))
    return {kind: samples for kind, samples in syncs.items() if samples}


def _postgresql(
    size: BenchSize,
    emulator: Emulator,
    workdir: Path,
    first_run: SyncRun,
    pg_dsn: str,
    log: Any,
) -> dict[str, list[results.Sample]]:
    """The first and the unchanged sync into a scratch PostgreSQL database (snapshot replayed)."""
    from bench.store_bench import scratch_database

    folder = workdir / size.name / "pg"
    with scratch_database(pg_dsn) as url:
        migrate_store(url)
        out: dict[str, list[results.Sample]] = {}
        for kind, run_id in (("first_pg", "first"), ("unchanged_pg", "unchanged")):
            run = run_sync(
                size=size,
                emulator=emulator,
                staging_root=str(folder / "staging"),
                store_url=url,
                run_id=run_id,
                params=pipeline.SyncParams(),
                replay_from=first_run,
            )
            out[kind] = [_sample(run, 1)]
            log(size, kind, 1, run)
    return out


def _printer(started: float, loads: list[float]) -> Any:
    def log(size: BenchSize, kind: str, repeat: int, run: SyncRun) -> None:
        loads.append(os.getloadavg()[0])  # others' work on a shared machine shows here
        walls = " ".join(f"{n} {m.wall_s:.1f}" for n, m in run.stages.items())
        extra = ""
        if run.extract:
            extra = (
                f" | {run.extract['requests']} req, {run.extract['throttled_429']} 429s, "
                f"wall/bound {run.extract['wall_over_bound']:.2f}"
            )
        elapsed = time.perf_counter() - started
        print(f"[{elapsed:5.0f} s] {size.name} {kind} #{repeat}: {walls}{extra}", flush=True)

    return log


def growth_pair(sizes: list[str]) -> tuple[str, str] | None:
    """The 1x and 2x sizes to compare: `X` and `X-2x`, the largest such pair measured."""
    pairs = [(name, f"{name}-2x") for name in sizes if f"{name}-2x" in sizes]
    return pairs[-1] if pairs else None


def airflow_summary(
    workdir: Path, latency_ms: float, rate_limit_scale: float, demo: dict[str, Any] | None
) -> dict[str, Any]:
    """One DAG run through Airflow; overhead = DAG run wall - the stages' medians without it."""
    from bench.airflow_run import airflow_dag_run

    try:
        run = airflow_dag_run(workdir / "airflow", latency_ms, rate_limit_scale)
    except (SystemExit, Exception) as error:  # a failed Airflow run is reported, not fatal
        return {"error": str(error)[-2000:]}
    stages = (demo or {}).get("stages", {}).get("first", {})
    without = sum(stages[s]["wall_s"]["median"] for s in STAGES if s in stages)
    run["task_seconds_sum"] = round(sum(run["task_seconds"].values()), 3)
    run["stages_without_airflow_s"] = round(without, 3)
    wall = run.get("dag_run_seconds")
    run["overhead_s"] = round(wall - without, 3) if wall is not None and stages else None
    return run


def run_benchmark(
    sizes: list[str],
    *,
    repeats: int,
    big_repeats: int,
    latency_ms: float,
    rate_limit_scale: float,
    pg_dsn: str | None,
    with_airflow: bool,
    workdir: Path,
) -> dict[str, Any]:
    """Measure every size, then Airflow; return the whole result document."""
    started = time.perf_counter()
    # The client warns once per extract that the emulator's URL is plain http: known here.
    logging.getLogger("oncall_sync.connectors.opsgenie.client").setLevel(logging.ERROR)
    load_before = os.getloadavg()[0]
    preload()
    loads: list[float] = []
    log = _printer(started, loads)
    per_size: dict[str, Any] = {}
    repeats_used: dict[str, int] = {}
    for name in sizes:
        size = BenchSize.parse(name)
        full = min(big_repeats, repeats) if size.scale > 1 else repeats
        repeats_used[name] = full
        syncs = bench_size(
            size,
            workdir=workdir,
            latency_ms=latency_ms,
            rate_limit_scale=rate_limit_scale,
            repeats=repeats,
            full_repeats=full,
            pg_dsn=pg_dsn,
            log=log,
        )
        per_size[name] = {
            "account": account_sizes(size.size, size.scale),
            **results.size_summary(syncs),
            "samples": syncs,
        }
    document: dict[str, Any] = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": round(load_before, 2),
            # 1-minute load average after each sync: above the cores, someone else ran too.
            "load_average_during": spread(loads) if loads else None,
        },
        "settings": {
            "latency_ms": latency_ms,
            "rate_limit_scale": rate_limit_scale,
            "rate_limits": {
                domain: {
                    "per_second": round(limit.per_second * rate_limit_scale),
                    "per_minute": round(limit.per_minute * rate_limit_scale),
                }
                for domain, limit in DEFAULT_RATE_LIMITS.items()
            },
            "concurrency": 16,
            "repeats": repeats_used,
            "repeats_note": f"{repeats} of every first sync; "
            + ", ".join(f"{k} {v}" for k, v in repeats_used.items())
            + " of the live extracts and the other syncs (to fit the 15-minute budget, sizes "
            "above 1x extract live once and replay that snapshot in the first sync's later "
            "repeats; the unchanged sync extracts live in the first repeat and replays after)",
            "postgresql": bool(pg_dsn),
        },
        "sizes": per_size,
    }
    pair = growth_pair(list(per_size))
    if pair:
        document["growth_sizes"] = list(pair)
        document["growth"] = results.growth(per_size[pair[0]], per_size[pair[1]])
    if with_airflow:
        print("[Airflow] one DAG run of the demo account (airflow dags test) ...", flush=True)
        document["airflow"] = airflow_summary(
            workdir, latency_ms, rate_limit_scale, per_size.get("demo")
        )
    document["total_seconds"] = round(time.perf_counter() - started, 1)
    one_x, two_x = pair or ("large", "large-2x")
    document["targets"] = results.targets(document, one_x, two_x)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", help=f"comma-separated (default {','.join(DEFAULT_SIZES)})")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per size (default 3)")
    parser.add_argument(
        "--big-repeats",
        type=int,
        default=1,
        help="live extracts and unchanged/no-contacts syncs of sizes above 1x (default 1)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate-limit-scale", type=float, default=DEFAULT_RATE_LIMIT_SCALE)
    parser.add_argument("--quick", action="store_true", help="demo and large, one repeat")
    parser.add_argument("--pg-dsn", default=os.environ.get("ONCALL_SYNC_TEST_PG_DSN") or None)
    parser.add_argument("--no-airflow", action="store_true", help="skip the Airflow DAG run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.* go")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    sizes = (args.sizes or ",".join(DEFAULT_SIZES)).split(",")
    if args.quick:
        sizes = ["demo", "large"] if not args.sizes else sizes
        args.repeats = args.big_repeats = 1
    workdir = Path(tempfile.mkdtemp(prefix="oncall-sync-bench-"))
    try:
        document = run_benchmark(
            sizes,
            repeats=args.repeats,
            big_repeats=args.big_repeats,
            latency_ms=args.latency_ms,
            rate_limit_scale=args.rate_limit_scale,
            pg_dsn=args.pg_dsn,
            with_airflow=not args.no_airflow,
            workdir=workdir,
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    table = results.markdown(document)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(document, indent=1) + "\n")
    (args.out / "latest.md").write_text(table)
    print()
    print(table)
    print(f"written: {args.out / 'latest.json'}, {args.out / 'latest.md'}", file=sys.stderr)
    return 0
