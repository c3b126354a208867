"""Extract's retry delay: a minute in production, seconds where a test deployment says so."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall_sync.airflow_tasks import retry_delay

MINUTE = timedelta(minutes=1)


def test_without_the_setting_the_default_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONCALL_SYNC_RETRY_DELAY_SECONDS", raising=False)
    assert retry_delay(default=MINUTE) == MINUTE


def test_the_setting_gives_the_delay_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCALL_SYNC_RETRY_DELAY_SECONDS", "2.5")
    assert retry_delay(default=MINUTE) == timedelta(seconds=2.5)


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_setting_that_is_not_a_positive_number_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ONCALL_SYNC_RETRY_DELAY_SECONDS", value)
    with pytest.raises(ValueError, match="ONCALL_SYNC_RETRY_DELAY_SECONDS must be a positive"):
        retry_delay(default=MINUTE)
