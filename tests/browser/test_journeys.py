"""The operator's and the analyst's journeys in headless Chromium, on the production shape: what a
person clicks and reads, a screenshot per step (build/browser/<journey>/), in this order:

operator: sign in; find the sync DAG and read its doc; trigger a dry run from the form, then a
real one, and read their reports; meet a failure (the emulator's 503s outlast extract's
retries), read the error in the failed task's log and in the run's Sync report tab; switch the
fault off, Clear the failed task, watch the run finish, read the re-run's report.

analyst: Browse -> Sync reports fits a 1400-px window; the chart and the filters; a run with
thousands of items opens paged, with its per-entity-type chart beside its table; its items
download as CSV and JSON.
"""

from __future__ import annotations

import csv
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from oncall_sync.emulator.app import EmulatorConfig
from oncall_sync.emulator.generator import generate_account
from oncall_sync.emulator.server import RunningEmulator, run_emulator
from tests.browser.ui import (
    ARTIFACTS,
    RUN_TIMEOUT_MS,
    Journey,
    new_page,
    open_dag,
    open_tab,
    report_frame,
    run_header,
    set_switch,
    sign_in,
    submit_trigger,
    trigger_form,
)
from tests.production.native import ADMIN, DAG_ID, NativeShape, wait_for

pytestmark = pytest.mark.browser
RUN_TIMEOUT = RUN_TIMEOUT_MS / 1000


def per_type_totals(frame: FrameLocator) -> dict[str, int]:
    """The "all" row of a run's per-entity-type table, by column heading."""
    table = frame.locator("table.per-type")
    headings = [h.strip() for h in table.locator("thead th").all_inner_texts()[1:]]
    totals = table.locator("tr.total td.n").all_inner_texts()
    return {heading: int(total) for heading, total in zip(headings, totals, strict=True)}


def wait_for_run(page: Page, deployment: NativeShape, run_id: str, state: str) -> None:
    """Wait for the run to end (the REST API, with a timeout), then read its state on the page."""
    assert deployment.api is not None
    deployment.api.wait_for_run(DAG_ID, run_id, RUN_TIMEOUT, states=(state,))
    page.goto(f"{deployment.api_url}/dags/{DAG_ID}/runs/{run_id}")
    expect(run_header(page, run_id)).to_contain_text(state.capitalize())


def test_the_operators_journey(
    browser: Browser, deployment: NativeShape, emulator: RunningEmulator
) -> None:
    page = new_page(browser)
    journey = Journey(page, ARTIFACTS / "operator")
    base = deployment.api_url

    with journey.step("sign in"):
        sign_in(page, base, ADMIN, deployment.password)

    with journey.step("find the sync DAG and read its doc"):
        page.get_by_role("link", name="Dags").first.click()
        page.get_by_role("textbox", name=re.compile("Search Dags")).fill("opsgenie")
        page.get_by_role("link", name=DAG_ID, exact=True).first.click()
        page.get_by_role("button", name="Dag Docs").click()
        docs = page.get_by_role("dialog")
        expect(docs.get_by_role("heading", name="Dag Documentation")).to_be_visible()
        expect(docs).to_contain_text("OpsGenie → on-call store, one way, every night")
        for task in ("extract", "validate", "transform", "conflict_resolve", "load", "report"):
            expect(docs.locator("strong", has_text=re.compile(f"^{task}$"))).to_be_visible()

    with journey.step("fill the trigger form for a dry run", full_page=True):
        page.keyboard.press("Escape")
        form = trigger_form(page)
        expect(form.get_by_text("Run Parameters")).to_be_visible()
        expect(form).to_contain_text("Plan and report, write nothing.")
        set_switch(form, "dry_run", on=True)

    with journey.step("the dry run's report"):
        dry_run = submit_trigger(page, form)
        wait_for_run(page, deployment, dry_run, "success")
        open_tab(page, "Sync report")
        frame = report_frame(page)
        expect(frame.locator(".facts")).to_contain_text("dry run: nothing was written")
        expect(frame.locator(".facts")).to_contain_text("0 rows written")
        planned = per_type_totals(frame)
        assert planned["created"] > 0, planned

    with journey.step("the real run's report"):
        open_dag(page, base, DAG_ID)
        form = trigger_form(page)
        set_switch(form, "dry_run", on=False)
        real_run = submit_trigger(page, form)
        wait_for_run(page, deployment, real_run, "success")
        open_tab(page, "Sync report")
        frame = report_frame(page)
        expect(frame.locator(".badge")).to_have_text("success")
        written = frame.locator(".facts").inner_text()
        assert int(re.search(r"(\d+) rows written", written).group(1)) > 0  # type: ignore[union-attr]
        # The dry run planned exactly what the real run then did.
        assert per_type_totals(frame)["created"] == planned["created"]

    with journey.step("a run that fails at extract"):
        emulator.faults.add("503", path="/v2/users*")  # OpsGenie answers 503 until switched off
        open_dag(page, base, DAG_ID)
        failing_run = submit_trigger(page, trigger_form(page))
        wait_for_run(page, deployment, failing_run, "failed")
        extract_row = page.get_by_role("row").filter(
            has=page.get_by_role("link", name="extract", exact=True)
        )
        expect(extract_row).to_contain_text("Failed")

    with journey.step("the error in words, in the failed task's log"):
        extract_row.get_by_role("link", name="extract", exact=True).click()
        expect(page.get_by_text("Task Tries")).to_be_visible()
        # Every try failed: extract's retries (3) are spent.
        tries = page.get_by_role("button", name=re.compile(r"^\d+$"))
        expect(tries).to_have_count(4)
        page.get_by_role("combobox").filter(has_text="All Log Levels").first.click()
        page.get_by_role("option", name="ERROR").click()
        page.get_by_role("button", name="Log Settings").click()
        page.get_by_role("menuitem", name=re.compile("^Wrap")).click()
        log = page.locator("body")
        expect(log).to_contain_text("RetryBudgetExhausted: OpsGenie request GET /v2/users")
        expect(log).to_contain_text("(last: 503 server error)")
        expect(log).to_contain_text("the API is throttling or unreachable")

    with journey.step("the failed run's Sync report"):
        page.goto(f"{base}/dags/{DAG_ID}/runs/{failing_run}")
        open_tab(page, "Sync report")
        frame = report_frame(page)
        expect(frame.locator(".badge")).to_have_text("failed")
        expect(frame.locator(".failure")).to_contain_text("The run stopped at extract.")
        expect(frame.locator(".failure")).to_contain_text("503 server error")

    with journey.step("clear the failed task, once OpsGenie answers again"):
        emulator.faults.clear()
        page.goto(f"{base}/dags/{DAG_ID}/runs/{failing_run}/tasks/extract")
        page.get_by_role("button", name=re.compile("to clear$")).click()
        clear = page.get_by_role("dialog")
        expect(clear.get_by_role("heading", name=re.compile("Clear Task Instance"))).to_be_visible()
        for task in ("extract", "load", "report"):  # extract and everything after it
            expect(clear.get_by_role("cell", name=task, exact=True)).to_be_visible()

    with journey.step("the cleared run finishes"):
        clear.get_by_role("button", name="Confirm").click()
        expect(clear).to_be_hidden()
        api = deployment.api
        assert api is not None
        # Cleared, the run is queued again: only then is its next end the re-run's.
        wait_for(
            "the cleared run to start again",
            lambda: api.run_state(DAG_ID, failing_run) != "failed",
            RUN_TIMEOUT,
        )
        wait_for_run(page, deployment, failing_run, "success")

    with journey.step("the re-run's report"):
        open_tab(page, "Sync report")
        frame = report_frame(page)
        expect(frame.locator(".badge")).to_have_text("success")
        expect(frame.locator(".facts")).to_contain_text("0 rows written")
        totals = per_type_totals(frame)
        # The real run wrote everything already: the re-run finds it all unchanged.
        assert totals["unchanged"] == planned["created"], totals
        assert "created" not in totals

    page.context.close()


# --- the analyst ----------------------------------------------------------------------------

BIG_SCALE = 8  # the demo account x8: 1,600 people, about 9,000 records in all


def big_snapshot(staging: Path) -> tuple[str, str]:
    """A large account's snapshot, extracted once in this process; (its raw/ folder, account)."""
    from tests.reliability.harness import client_factory, run_context

    account = generate_account("demo", seed=11, scale=BIG_SCALE)
    with run_emulator(account, EmulatorConfig(rate_limits_enabled=False)) as source:
        ctx = run_context(staging / "snapshots", "large-account")
        from oncall_sync import pipeline

        summary = pipeline.extract(ctx, client_factory(source))
    return str(summary["snapshot_uri"]), str(summary["source_account"])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_analysts_pages(browser: Browser, deployment: NativeShape) -> None:
    api = deployment.api
    assert api is not None
    runs: list[dict[str, Any]] = api.runs(DAG_ID)
    if not runs:  # run alone: one ordinary sync first, so that there are two accounts to filter
        api.unpause(DAG_ID)
        api.wait_for_run(DAG_ID, api.trigger(DAG_ID, {"dry_run": True}), RUN_TIMEOUT)
    # In a thread of its own: Playwright's sync API holds this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        snapshot, big_account = pool.submit(big_snapshot, deployment.staging).result()
    big_run = api.trigger(DAG_ID, {"snapshot_uri": snapshot})
    api.unpause(DAG_ID)
    api.wait_for_run(DAG_ID, big_run, RUN_TIMEOUT)

    page = new_page(browser)
    sign_in(page, deployment.api_url, ADMIN, deployment.password)
    journey = Journey(page, ARTIFACTS / "analyst")

    with journey.step("Sync reports fits the window"):
        page.get_by_role("button", name="Browse").click()
        page.get_by_role("menuitem", name="Sync reports").click()
        frame = report_frame(page)
        expect(frame.locator("h1")).to_have_text("Sync reports")
        expect(frame.locator("svg.chart")).to_be_visible()
        table = frame.locator("table.runs")
        expect(table.locator("tbody tr").first).to_be_visible()
        # Nothing hidden sideways: the table's last column and each run's link are in view.
        content = page.frame_locator("iframe").first.locator("html")
        widths = content.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert widths[0] <= widths[1], f"the page is wider than its frame: {widths}"
        frame_box = page.locator("iframe").first.bounding_box()
        last_heading = table.locator("thead th").last.bounding_box()
        assert frame_box and last_heading
        assert last_heading["x"] + last_heading["width"] <= frame_box["x"] + frame_box["width"]
        assert last_heading["x"] + last_heading["width"] <= 1400
        expect(table.locator("thead th").last).to_have_text("quarantined")
        big_row = table.locator("tbody tr", has_text=big_account)
        expect(big_row).to_have_count(1)
        expect(big_row.locator(".badge")).to_have_text("success")

    with journey.step("the chart and the runs, filtered by account"):
        frame.get_by_label("Account", exact=True).select_option(big_account)
        expect(frame.get_by_label("Account", exact=True)).to_have_value(big_account)
        expect(table.locator("tbody tr")).to_have_count(1)
        created = int(big_row.locator("td.n").first.inner_text())
        assert created > 5000, created
        bar_titles = frame.locator("svg.chart [data-outcome='created'] rect title")
        expect(bar_titles).to_have_count(1)
        expect(bar_titles.first).to_have_text(re.compile(f": {created} created$"))

    with journey.step("filtered by entity type and outcome"):
        frame.get_by_label("Entity type", exact=True).select_option("schedule")
        expect(frame.locator("h2").first).to_contain_text("counting schedule")
        schedules_created = int(big_row.locator("td.n").first.inner_text())
        assert 0 < schedules_created < created
        frame.get_by_label("Outcome", exact=True).select_option("conflicts")
        expect(frame.locator("h2").first).to_contain_text("counting schedule")
        expect(frame.get_by_label("Outcome", exact=True)).to_have_value("conflicts")
        expect(table.locator("tbody tr")).to_have_count(1)

    with journey.step("a run with thousands of items opens paged", full_page=True):
        frame.get_by_role("link", name="Clear filters").click()
        expect(frame.get_by_label("Account", exact=True)).to_have_value("")
        frame.get_by_label("Account", exact=True).select_option(big_account)
        expect(table.locator("tbody tr")).to_have_count(1)
        big_row.get_by_role("link").first.click()
        expect(frame.locator("h1")).to_contain_text("Sync report")
        heading = frame.locator("h2", has_text="Items").inner_text()
        items = int(re.search(r"(\d+) in this run", heading).group(1))  # type: ignore[union-attr]
        assert items > 5000, heading
        expect(frame.locator("table.items tbody tr")).to_have_count(100)
        pages = -(-items // 100)
        expect(frame.locator("nav.pager")).to_contain_text(f"page 1 of {pages}")
        chart = frame.locator("section.by-type svg.chart").bounding_box()
        per_type = frame.locator("table.per-type").bounding_box()
        assert chart and per_type and chart["x"] >= per_type["x"] + per_type["width"]
        expect(
            frame.locator("section.by-type svg.chart [data-entity-type='person']")
        ).to_have_count(1)

    with journey.step("page 2 of the items, filtered by outcome"):
        frame.get_by_label("Outcome", exact=True).select_option("invited")
        expect(frame.locator("h2", has_text="Items")).to_contain_text("matching")
        heading = frame.locator("h2", has_text="Items").inner_text()
        invited = int(re.search(r"(\d+) matching", heading).group(1))  # type: ignore[union-attr]
        assert invited > 1000
        frame.get_by_role("link", name="next →").click()
        expect(frame.locator("nav.pager")).to_contain_text("page 2 of")
        outcomes = set(frame.locator("table.items tbody tr td:nth-child(4)").all_inner_texts())
        assert outcomes == {"invited"}

    with journey.step("the run's items download as CSV and JSON"):
        frame.get_by_role("link", name="Clear filters").click()
        expect(frame.locator("h2", has_text="Items")).to_contain_text(f"{items} in this run")
        with page.expect_download() as as_csv:
            frame.get_by_role("link", name="Download CSV").click()
        with page.expect_download() as as_json:
            frame.get_by_role("link", name="Download JSON").click()
        csv_path = ARTIFACTS / "analyst" / "items.csv"
        json_path = ARTIFACTS / "analyst" / "items.json"
        as_csv.value.save_as(csv_path)
        as_json.value.save_as(json_path)
        rows = read_csv(csv_path)
        assert len(rows) == items
        assert rows == json.loads(json_path.read_text())
        assert sum(row["outcome"] == "invited" for row in rows) == invited

    page.context.close()
