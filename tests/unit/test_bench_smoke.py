"""The benchmark's machinery on the `tiny` account, once: the result has its structure, and its
ratios are computed from the numbers it measured (no figure is asserted against a target)."""

from __future__ import annotations

import json
import statistics

import pytest

from bench.run import main
from bench.sync import bound_seconds


@pytest.fixture(scope="module")
def bench_result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as env:  # the SQLite syncs only, wherever this runs
        env.delenv("ONCALL_SYNC_TEST_PG_DSN", raising=False)
        code = main(
            ["--sizes", "tiny,tiny-2x", "--repeats", "1", "--no-airflow", "--out", str(out)]
        )
    assert code == 0
    assert (out / "latest.md").read_text().startswith("# oncall-sync benchmark")
    return json.loads((out / "latest.json").read_text())


def test_every_sync_measures_every_stage_in_its_own_process(bench_result: dict) -> None:
    tiny = bench_result["sizes"]["tiny"]
    assert set(tiny["samples"]) == {"first", "unchanged", "no_contacts"}
    for samples in tiny["samples"].values():
        stages = samples[0]["stages"]
        assert list(stages) == [
            "extract",
            "validate",
            "transform",
            "conflict_resolve",
            "load",
            "report",
        ]
        for figures in stages.values():
            assert figures["wall_s"] > 0 and figures["cpu_s"] >= 0
            assert figures["peak_rss_mib"] >= figures["start_rss_mib"] > 0


def test_first_sync_writes_rows_and_the_unchanged_sync_writes_none(bench_result: dict) -> None:
    samples = bench_result["sizes"]["tiny"]["samples"]
    assert samples["first"][0]["rows_written"] > 0
    assert samples["unchanged"][0]["rows_written"] == 0
    plan = samples["unchanged"][0]["plan"]
    assert plan["writes_planned"] == 0
    assert all(set(actions) == {"unchanged"} for actions in plan["counts"].values())


def test_extract_ratios_come_from_the_measured_requests_and_wall(bench_result: dict) -> None:
    sample = bench_result["sizes"]["tiny"]["samples"]["first"][0]
    extract = sample["extract"]
    assert extract["requests"] == sum(extract["requests_by_endpoint"].values())
    assert extract["requests_over_minimum"] == pytest.approx(
        extract["requests"] / extract["minimum_requests"], abs=1e-4
    )
    assert extract["bound_seconds"] == pytest.approx(
        max(extract["bounds_seconds"].values()), abs=0.006
    )
    # Wall and bound are stored rounded to 1 ms, and a tiny account's bound is a few tens of
    # ms: the ratio recomputed from them is only as exact as that rounding allows.
    wall, bound = sample["stages"]["extract"]["wall_s"], extract["bound_seconds"]
    rounding = 0.0005 / bound + 0.0005 * wall / (bound * (bound - 0.0005)) + 0.0005
    assert extract["wall_over_bound"] == pytest.approx(wall / bound, abs=rounding)
    no_contacts = bench_result["sizes"]["tiny"]["extract"]["no_contacts"]
    assert no_contacts["minimum_requests"] < extract["minimum_requests"]


def test_pipeline_time_and_growth_are_computed_from_the_stage_medians(bench_result: dict) -> None:
    tiny, doubled = bench_result["sizes"]["tiny"], bench_result["sizes"]["tiny-2x"]
    first = tiny["samples"]["first"][0]["stages"]
    stages = ("validate", "transform", "conflict_resolve", "load")
    assert tiny["pipeline_s"]["first"]["median"] == pytest.approx(
        sum(first[s]["wall_s"] for s in stages), abs=0.002
    )
    assert doubled["account"]["users"] == 2 * tiny["account"]["users"]
    growth = bench_result["growth"]["transform"]
    walls = [
        statistics.median(s["stages"]["transform"]["wall_s"] for s in size["samples"]["first"])
        for size in (tiny, doubled)
    ]
    assert growth["wall"] == pytest.approx(walls[1] / walls[0], rel=0.01)
    assert bench_result["growth_sizes"] == ["tiny", "tiny-2x"]


def test_every_target_row_carries_its_measurement(bench_result: dict) -> None:
    rows = bench_result["targets"]
    assert rows
    for row in rows:
        assert row["met"] == (row["measured"] <= row["limit"])


def test_the_wall_bound_is_each_domains_requests_over_its_sustained_rate() -> None:
    by_endpoint = {"GET /v2/users": 30, "GET /v2/teams/{id}": 100, "GET /v2/teams": 20}
    limits = {
        "search": {"per_second": 10, "per_minute": 1200},  # per second binds: 10/s
        "configuration": {"per_second": 50, "per_minute": 600},  # per minute binds: 10/s
    }
    bounds = bound_seconds(by_endpoint, limits, latency_ms=20, concurrency=4)
    assert bounds == pytest.approx(
        {"rate:search": 3.0, "rate:configuration": 12.0, "latency": 150 * 0.02 / 4}
    )
