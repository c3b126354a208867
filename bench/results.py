"""From measured samples to the summary: medians and spreads, ratios to bounds, growth from 1x to
2x, the targets met or missed, and the markdown table. Pure functions of the raw samples."""

from __future__ import annotations

import statistics
from typing import Any

from bench.measure import spread

STAGES = ("extract", "validate", "transform", "conflict_resolve", "load", "report")
PIPELINE = ("validate", "transform", "conflict_resolve", "load")  # the store-side stages
SYNCS = {
    "first": "first sync into an empty store",
    "unchanged": "second sync, account unchanged",
    "no_contacts": "first sync, contact details off",
    "first_pg": "first sync into an empty PostgreSQL store",
    "unchanged_pg": "unchanged sync, PostgreSQL",
}
TARGETS = {
    "requests_over_minimum": 1.02,
    "wall_over_bound": 1.25,
    "throttled_share": 0.01,
    "pipeline_first_s": 30.0,
    "pipeline_unchanged_s": 10.0,
    "peak_rss_mib": 1024.0,
    "growth": 2.2,
    "airflow_overhead_s": 30.0,
}
Sample = dict[str, Any]  # one sync: {"repeat", "extract_live", "stages": {...}, "extract": {...}}


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def stage_spreads(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    """Per stage: wall, CPU and peak RSS over the repeats that measured it."""
    out: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        measured = [s["stages"][stage] for s in samples if stage in s["stages"]]
        if measured:
            out[stage] = {
                metric: spread([m[metric] for m in measured])
                for metric in ("wall_s", "cpu_s", "peak_rss_mib", "start_rss_mib")
            }
    return out


def pipeline_seconds(sample: Sample) -> float:
    """validate + transform + conflict_resolve + load of one sync."""
    return sum(sample["stages"][stage]["wall_s"] for stage in PIPELINE)


def extract_summary(samples: list[Sample]) -> dict[str, Any] | None:
    """The live extracts among `samples`: requests against the minimum, wall against the bound."""
    live = [s["extract"] for s in samples if s.get("extract_live") and s.get("extract")]
    if not live:
        return None
    walls = [s["stages"]["extract"]["wall_s"] for s in samples if s.get("extract_live")]
    return {
        "runs": len(live),
        "requests": _median([e["requests"] for e in live]),
        "minimum_requests": live[0]["minimum_requests"],
        "requests_over_minimum": max(e["requests_over_minimum"] for e in live),
        "retries": max(e["retries"] for e in live),
        "throttled_429": max(e["throttled_429"] for e in live),
        "throttled_share": max(e["throttled_share"] for e in live),
        "wall_s": spread(walls),
        "bound_s": live[0]["bound_seconds"],
        "binding_bound": live[0]["binding_bound"],
        "bounds_s": live[0]["bounds_seconds"],
        "wall_over_bound": spread([e["wall_over_bound"] for e in live]),
        "requests_by_endpoint": live[0]["requests_by_endpoint"],
    }


def size_summary(syncs: dict[str, list[Sample]]) -> dict[str, Any]:
    """Everything measured at one size, reduced to medians and spreads."""
    summary: dict[str, Any] = {"stages": {}, "pipeline_s": {}, "end_to_end_s": {}}
    for kind, samples in syncs.items():
        if not samples:
            continue
        summary["stages"][kind] = stage_spreads(samples)
        summary["pipeline_s"][kind] = spread([pipeline_seconds(s) for s in samples])
        # End to end only where the extract was live (a replayed snapshot costs no API time).
        whole = [
            sum(m["wall_s"] for m in s["stages"].values()) for s in samples if s.get("extract_live")
        ]
        if whole:
            summary["end_to_end_s"][kind] = spread(whole)
        loads = [s for s in samples if s["rows_written"] and s["stages"]["load"]["wall_s"] > 0]
        if loads:
            summary.setdefault("load_rows_per_s", {})[kind] = spread(
                [s["rows_written"] / s["stages"]["load"]["wall_s"] for s in loads]
            )
    summary["extract"] = {
        "with_contacts": extract_summary(syncs.get("first", []) + syncs.get("unchanged", [])),
        "no_contacts": extract_summary(syncs.get("no_contacts", [])),
    }
    rss = [
        m["peak_rss_mib"]
        for kind in ("first", "unchanged", "no_contacts")
        for s in syncs.get(kind, [])
        for m in s["stages"].values()
    ]
    summary["peak_rss_mib"] = max(rss) if rss else None
    return summary


def growth(small: dict[str, Any], big: dict[str, Any]) -> dict[str, dict[str, float]]:
    """2x size over 1x size, per stage of the first sync: wall time, and peak RSS both whole and
    above the RSS every stage starts with (the shared imports, which do not grow)."""
    out: dict[str, dict[str, float]] = {}
    for stage, m_big in big["stages"].get("first", {}).items():
        m_small = small["stages"].get("first", {}).get(stage)
        if not m_small:
            continue

        def ratio(metric: str, a: dict[str, Any] = m_small, b: dict[str, Any] = m_big) -> float:
            return round(b[metric]["median"] / max(a[metric]["median"], 1e-9), 3)

        above_small = m_small["peak_rss_mib"]["median"] - m_small["start_rss_mib"]["median"]
        above_big = m_big["peak_rss_mib"]["median"] - m_big["start_rss_mib"]["median"]
        out[stage] = {
            "wall": ratio("wall_s"),
            "cpu": ratio("cpu_s"),
            "peak_rss": ratio("peak_rss_mib"),
            "rss_above_start": round(above_big / max(above_small, 1e-9), 3),
        }
    small_p, big_p = small["pipeline_s"].get("first"), big["pipeline_s"].get("first")
    if small_p and big_p:
        out["pipeline"] = {"wall": round(big_p["median"] / small_p["median"], 3)}
    return out


def targets(result: dict[str, Any], one_x: str = "large", two_x: str = "large-2x") -> list[Any]:
    """Each target with what was measured and whether it was met (None: not measured)."""
    rows: list[dict[str, Any]] = []

    def add(name: str, measured: float | None, limit: float, unit: str = "") -> None:
        met = None if measured is None else measured <= limit
        rows.append(
            {"target": name, "limit": limit, "measured": measured, "unit": unit, "met": met}
        )

    for size, summary in result["sizes"].items():
        for kind in ("with_contacts", "no_contacts"):
            ex = summary["extract"].get(kind)
            if not ex:
                continue
            label = f"{size} extract ({kind.replace('_', ' ')})"
            add(f"{label}: requests / minimum", ex["requests_over_minimum"], 1.02, "x")
            add(f"{label}: wall / bound (median)", ex["wall_over_bound"]["median"], 1.25, "x")
            add(f"{label}: 429s / requests (worst)", ex["throttled_share"], 0.01)
    big = result["sizes"].get(one_x)
    if big:
        first, again = big["pipeline_s"].get("first"), big["pipeline_s"].get("unchanged")
        add(
            f"{one_x}: validate+transform+resolve+load, empty SQLite store",
            first and first["median"],
            TARGETS["pipeline_first_s"],
            "s",
        )
        add(
            f"{one_x}: the same, unchanged re-sync",
            again and again["median"],
            TARGETS["pipeline_unchanged_s"],
            "s",
        )
        add(f"{one_x}: peak RSS of any stage", big["peak_rss_mib"], TARGETS["peak_rss_mib"], "MiB")
    for stage, ratios in result.get("growth", {}).items():
        add(f"{two_x} / {one_x}: {stage} wall", ratios["wall"], TARGETS["growth"], "x")
        if "rss_above_start" in ratios:
            add(
                f"{two_x} / {one_x}: {stage} RSS above start",
                ratios["rss_above_start"],
                TARGETS["growth"],
                "x",
            )
    airflow = result.get("airflow")
    if airflow and airflow.get("overhead_s") is not None:
        add(
            "Airflow overhead per DAG run",
            airflow["overhead_s"],
            TARGETS["airflow_overhead_s"],
            "s",
        )
    return rows


def _cell(s: dict[str, Any] | None, digits: int = 1) -> str:
    if not s:
        return "–"
    if s["n"] == 1:
        return f"{s['median']:.{digits}f}"
    return f"{s['median']:.{digits}f} [{s['min']:.{digits}f}–{s['max']:.{digits}f}]"


def _mark(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "not measured"}[met]


def markdown(result: dict[str, Any]) -> str:
    """The results as a markdown document: settings, headline, extract, stages, growth, targets."""
    s = result["settings"]
    limits = ", ".join(
        f"{domain} {v['per_second']}/s ({v['per_minute']}/min)"
        for domain, v in s["rate_limits"].items()
    )
    lines = [
        "# oncall-sync benchmark",
        "",
        f"{result['generated_at']} · {result['machine']['cpus']} cores · load average "
        f"{result['machine']['load_average_before']} before the run, "
        f"{_cell(result['machine'].get('load_average_during'))} during · "
        f"total {result['total_seconds']:.0f} s.",
        f"Emulator in its own process: latency {s['latency_ms']:g} ms; rate limits {limits} "
        f"(the emulator's defaults x{s['rate_limit_scale']:g}, raised so the run fits 15 minutes; "
        f"the bound uses these); client concurrency {s['concurrency']}.",
        f"Repeats: {s['repeats_note']}. Cells: median [min–max] over the repeats. Every stage runs "
        "in its own forked process (imports done once before): wall and CPU time of the stage, "
        "peak RSS of that process.",
        "",
        "## Headline",
        "",
        "| size | users | extract / bound | requests / minimum | first sync s | "
        "validate..load s (first) | unchanged sync s | validate..load s (unchanged) | "
        "peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size, summary in result["sizes"].items():
        ex = summary["extract"].get("with_contacts") or {}
        e2e, pipe = summary["end_to_end_s"], summary["pipeline_s"]
        ratio = _cell(ex.get("wall_over_bound"), 2) + "x" if ex else "–"
        lines.append(
            f"| {size} | {summary['account']['users']} | {ratio} | "
            f"{ex.get('requests_over_minimum', 0):.3f}x | {_cell(e2e.get('first'))} | "
            f"{_cell(pipe.get('first'))} | {_cell(e2e.get('unchanged'))} | "
            f"{_cell(pipe.get('unchanged'))} | {summary['peak_rss_mib']:.0f} |"
        )
    if result.get("growth"):
        one, two = result["growth_sizes"]
        ratios = ", ".join(
            f"{stage} {r['wall']:.2f}x" for stage, r in result["growth"].items() if "wall" in r
        )
        lines += ["", f"Growth, {two} over {one} (wall time of the first sync): {ratios}."]
    airflow = result.get("airflow") or {}
    if airflow.get("overhead_s") is not None:
        lines += ["", f"Airflow's overhead on one DAG run: {airflow['overhead_s']:.1f} s."]
    lines += [
        "",
        "## Extract: requests against the minimum, wall time against the bound",
        "",
        "| size | contacts | runs | requests | minimum | req / min | retries | 429s | wall s | "
        "bound s | binding | wall / bound |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, summary in result["sizes"].items():
        for kind, ex in summary["extract"].items():
            if not ex:
                continue
            lines.append(
                f"| {size} | {'on' if kind == 'with_contacts' else 'off'} | {ex['runs']} | "
                f"{ex['requests']:.0f} | {ex['minimum_requests']} | "
                f"{ex['requests_over_minimum']:.3f} | {ex['retries']} | {ex['throttled_429']} | "
                f"{_cell(ex['wall_s'])} | {ex['bound_s']:.1f} | {ex['binding_bound']} | "
                f"{_cell(ex['wall_over_bound'], 2)} |"
            )
    lines += [
        "",
        "## Stages: wall seconds",
        "",
        "| size | sync | n | " + " | ".join(STAGES) + " | validate..load | load rows/s |",
        "|---|---|---|" + "---|" * (len(STAGES) + 2),
    ]
    for size, summary in result["sizes"].items():
        for kind, stages in summary["stages"].items():
            n = max(m["wall_s"]["n"] for m in stages.values())
            cells = " | ".join(
                _cell(stages[st]["wall_s"]) if st in stages else "replayed" for st in STAGES
            )
            rows = summary.get("load_rows_per_s", {}).get(kind)
            lines.append(
                f"| {size} | {kind} | {n} | {cells} | {_cell(summary['pipeline_s'][kind])} | "
                f"{_cell(rows, 0)} |"
            )
    lines += [
        "",
        "## Stages: CPU seconds / peak RSS MiB (first sync, medians)",
        "",
        "| size | " + " | ".join(STAGES) + " |",
        "|---|" + "---|" * len(STAGES),
    ]
    for size, summary in result["sizes"].items():
        stages = summary["stages"].get("first", {})
        cells = " | ".join(
            f"{stages[st]['cpu_s']['median']:.1f} / {stages[st]['peak_rss_mib']['median']:.0f}"
            if st in stages
            else "–"
            for st in STAGES
        )
        lines.append(f"| {size} | {cells} |")
    if result.get("growth"):
        lines += [
            "",
            f"## Growth: {result['growth_sizes'][1]} over {result['growth_sizes'][0]} "
            "(first sync, medians)",
            "",
            "| stage | wall | CPU | peak RSS | RSS above the shared start |",
            "|---|---|---|---|---|",
        ]
        for stage, r in result["growth"].items():
            cells = " | ".join(
                f"{r[k]:.2f}x" if k in r else "–"
                for k in ("wall", "cpu", "peak_rss", "rss_above_start")
            )
            lines.append(f"| {stage} | {cells} |")
    airflow = result.get("airflow")
    if airflow:
        lines += ["", "## Airflow: one DAG run (`airflow dags test`, demo account)", ""]
        if airflow.get("error"):
            lines.append(f"Failed: {airflow['error']}")
        else:
            lines.append(
                f"DAG run {airflow['dag_run_seconds']:.1f} s (state {airflow['state']}); the six "
                f"stages without Airflow {airflow['stages_without_airflow_s']:.1f} s (medians); "
                f"**overhead {airflow['overhead_s']:.1f} s**. Sum of Airflow's task durations "
                f"{airflow['task_seconds_sum']:.1f} s; the whole `airflow dags test` command "
                f"{airflow['command_seconds']:.1f} s (process start, DAG parse, run, exit)."
            )
    lines += ["", "## Targets", "", "| target | limit | measured | met |", "|---|---|---|---|"]
    for t in result["targets"]:
        measured = "–" if t["measured"] is None else f"{t['measured']:g}{t['unit']}"
        lines.append(
            f"| {t['target']} | {t['limit']:g}{t['unit']} | {measured} | {_mark(t['met'])} |"
        )
    return "\n".join(lines) + "\n"
