"""The oncall-sync Airflow plugin: web apps served by the API server, and their entries in the UI.

The "Sync reports" pages (oncall_sync.reports_ui): Browse -> Sync reports, and a "Sync report"
tab on every DAG run; the invitation accept page (oncall_sync.invitations.accept). Logic lives
in include/oncall_sync; this file only registers it.
"""

from airflow.plugins_manager import AirflowPlugin

from oncall_sync.invitations.accept import URL_PREFIX as INVITATIONS_PREFIX
from oncall_sync.invitations.accept import create_accept_app
from oncall_sync.reports_ui.app import create_app as create_reports_app

REPORTS_PREFIX = "/oncall-sync"


class OncallSyncReportsPlugin(AirflowPlugin):
    """One entry per app in `fastapi_apps`; add yours as one more item."""

    name = "oncall_sync_reports"
    fastapi_apps = [
        {"app": create_reports_app(), "url_prefix": REPORTS_PREFIX, "name": "oncall-sync reports"},
        # The invitation accept page: no login, the signed link is the credential.
        {
            "app": create_accept_app(),
            "url_prefix": INVITATIONS_PREFIX,
            "name": "oncall-sync invitations",
        },
    ]
    # Relative hrefs: the UI resolves them against its base URL, so a proxied prefix still works.
    external_views = [
        {
            "name": "Sync reports",
            "href": REPORTS_PREFIX.lstrip("/") + "/",
            "destination": "nav",
            "category": "browse",
            "url_route": "oncall-sync-reports",
        },
        {
            "name": "Sync report",
            "href": REPORTS_PREFIX.lstrip("/") + "/runs/{DAG_ID}/{RUN_ID}",
            "destination": "dag_run",
            "url_route": "oncall-sync-run-report",
        },
    ]
