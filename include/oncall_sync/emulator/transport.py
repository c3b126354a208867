"""Raw ASGI answers the emulators' faults need: an answer with exactly the given headers, a
connection closed without any answer, and the faults that act on the connection rather than on
the API's answer. Shared by the OpsGenie and PagerDuty emulators."""

from __future__ import annotations

import asyncio

from starlette.types import Send

from oncall_sync.emulator.faults import FaultRule


async def send_raw(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """Answer with exactly these headers (plus Content-Length) and body."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def drop_connection(send: Send) -> None:
    """Close the connection without a response. Under uvicorn `send` is bound to the request
    cycle, which holds the transport; elsewhere (an in-process ASGI client) raise instead."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionResetError("emulator fault: connection dropped")
    transport.close()
    # Tell the server the client is gone, so it does not answer 500 on a closed socket.
    cycle.disconnected = True  # type: ignore[union-attr]
    await asyncio.sleep(0)


async def connection_fault(fault: FaultRule, send: Send) -> bool | None:
    """Apply a fault that needs no API body: "timeout" sleeps `delay_s` and returns False (the
    answer follows, too late for the client), "drop" closes the connection and "redirect"
    answers 302 to `location` (both True: the request is done). None for every other kind."""
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay_s)
        return False
    if fault.kind == "drop":
        await drop_connection(send)
        return True
    if fault.kind == "redirect":
        await send_raw(send, 302, b"", [(b"location", fault.location.encode())])
        return True
    return None
