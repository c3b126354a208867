"""The invite task in its own process, for the kill tests: `pipeline.invite` for one staged run.

    python -m tests.integration.invitations.invite_worker <staging_root> <run_id>

The store is ONCALL_SYNC_STORE_URL; the mail and link connections come from AIRFLOW_CONN_*.
Prints the task's summary (its XCom) as JSON on the last line.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from oncall_sync import pipeline
    from oncall_sync.staging import Staging

    root, run_id = argv
    ctx = pipeline.RunContext("opsgenie_sync", run_id, pipeline.SyncParams(), Staging(root))
    print(json.dumps(pipeline.invite(ctx)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
