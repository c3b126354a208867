"""The requests an emulator received, so a test can prove a client never changed anything.

A call changes state when its method is not GET, or when it pings a heartbeat (a GET that resets
the heartbeat's timer, reference opsgenie-api-extended.md 5.3). The emulator's own endpoints
(under /_emulator/) are not OpsGenie calls and are not recorded.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass

PING = re.compile(r"^/v2/heartbeats/[^/]+/ping/?$")


@dataclass(frozen=True)
class RecordedCall:
    """One request: its method, path (as sent, percent-encoded) and query string."""

    method: str
    path: str
    query: str = ""

    @property
    def changes_state(self) -> bool:
        return self.method != "GET" or bool(PING.match(self.path))


class CallLog:
    """Every call received (the latest `keep` of them) and every state-changing one (all)."""

    def __init__(self, keep: int = 1_000_000) -> None:
        self._lock = threading.Lock()
        self._recent: deque[RecordedCall] = deque(maxlen=keep)
        self._changing: list[RecordedCall] = []
        self.total = 0

    def record(self, method: str, path: str, query: str = "") -> None:
        call = RecordedCall(method, path, query)
        with self._lock:
            self._recent.append(call)
            self.total += 1
            if call.changes_state:
                self._changing.append(call)

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._recent)

    def state_changing(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._changing)

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
            self._changing.clear()
            self.total = 0
