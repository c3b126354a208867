"""Run the emulator on 127.0.0.1 in a background thread (uvicorn), for tests, the demo and bench.

with run_emulator(size="tiny") as emulator:
    auth = {"Authorization": f"GenieKey {emulator.api_key}"}
    httpx.get(f"{emulator.base_url}/v2/account", headers=auth)

The serving machinery (`bind_socket`, `uvicorn_config`, `serve_in_thread`, `ExitCleanServer`)
serves every emulator.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from oncall_sync.emulator.app import (
    TEST_API_KEY,
    TEST_EU_API_KEY,
    EmulatorApp,
    EmulatorConfig,
    create_app,
)
from oncall_sync.emulator.faults import FaultPlan
from oncall_sync.emulator.generator import Account, generate_account


@dataclass
class RunningEmulator:
    """A live emulator: where it listens, the key to use, and its live config, faults and data."""

    base_url: str
    api_key: str
    app: EmulatorApp
    config: EmulatorConfig
    faults: FaultPlan
    account: Account


def bind_socket(port: int = 0, host: str = "127.0.0.1") -> socket.socket:
    """A listening socket bound before the server starts, so port 0 yields a known free port."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets that say so,
    # and without it every keep-alive response waits ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: ASGIApp) -> uvicorn.Config:
    """Settings sized for ~1,000 requests/s from one client with keep-alive connections."""
    return uvicorn.Config(
        app,
        loop="asyncio",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        backlog=2048,
        timeout_keep_alive=30,
        # Requests stuck in a "timeout" fault must not hold shutdown for long.
        timeout_graceful_shutdown=1,
    )


@contextmanager
def run_emulator(
    account: Account | None = None,
    config: EmulatorConfig | None = None,
    *,
    size: str = "demo",
    seed: int = 7,
    port: int = 0,
) -> Iterator[RunningEmulator]:
    """Serve an emulator for the duration of the block; builds the `size`/`seed` account if none."""
    account = account or generate_account(size, seed)
    config = config or EmulatorConfig()
    app = create_app(account, config)
    with serve_in_thread(app, port, name="opsgenie-emulator") as base_url:
        yield RunningEmulator(
            base_url=base_url,
            api_key=TEST_API_KEY if config.region == "us" else TEST_EU_API_KEY,
            app=app,
            config=config,
            faults=app.faults,
            account=account,
        )


@contextmanager
def serve_in_thread(app: ASGIApp, port: int = 0, *, name: str = "emulator") -> Iterator[str]:
    """Serve `app` on 127.0.0.1 from a background thread for the block; yields its base URL."""
    sock = bind_socket(port)
    server = uvicorn.Server(uvicorn_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the emulator ({name}) did not start; see the log above")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class ExitCleanServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its clean shutdown, so the process would end with
    -15; a server asked to stop that stopped cleanly should exit 0."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
