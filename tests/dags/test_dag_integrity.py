"""The DAG folder parses; opsgenie_sync has the shape and safety settings operators rely on."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_the_dag_folder_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "opsgenie_sync" in dagbag.dag_ids


def test_opsgenie_sync_is_seven_tasks_in_a_line(dagbag):
    dag = dagbag.dags["opsgenie_sync"]
    order = ["extract", "validate", "transform", "conflict_resolve", "load", "invite", "report"]
    assert sorted(dag.task_ids) == sorted(order)
    for upstream, downstream in itertools.pairwise(order):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}


def test_opsgenie_sync_runs_nightly_alone_and_without_catchup(dagbag):
    dag = dagbag.dags["opsgenie_sync"]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.timetable.expression == "0 2 * * *"
    assert dag.doc_md and "safe" in dag.doc_md.lower()


def test_every_task_has_a_timeout_and_extract_retries_with_backoff(dagbag):
    dag = dagbag.dags["opsgenie_sync"]
    for task in dag.tasks:
        assert task.execution_timeout is not None, task.task_id
    extract = dag.get_task("extract")
    assert extract.retries >= 2 and extract.retry_exponential_backoff


def test_every_param_is_described(dagbag):
    dag = dagbag.dags["opsgenie_sync"]
    expected = {
        "entity_types", "teams", "services", "sync_contact_details", "conflict_strategy",
        "invite_users", "dry_run", "deletion_guard_share", "max_quarantine_share", "snapshot_uri",
        "invite_mail_connection", "invite_resend_after_days", "invite_valid_days",
    }  # fmt: skip
    assert set(dag.params.keys()) == expected
    for name in expected:
        assert dag.params.get_param(name).description, name
