"""Test-wide settings: Airflow never touches ~/airflow or loads its examples, GX stays offline."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

# Set before anything imports Airflow: its configuration is read once, at import.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="oncall-sync-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT / "plugins")
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("ONCALL_SYNC_STAGING", str(_AIRFLOW_HOME / "staging"))
