"""Run one stage in a forked child and measure it there: wall time, CPU time, peak RSS.

The parent imports everything the stages import once, then forks per stage, so a stage's numbers
carry neither the import time nor the memory high-water of the stages before it. Linux starts a
child's peak RSS at its RSS at fork (the shared, already imported modules), not at the parent's
peak: the figure is what a worker process running only that stage would peak at.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_FORK = multiprocessing.get_context("fork")


@dataclass(frozen=True)
class Measured:
    """One stage run: its own wall and CPU time, its process's peak RSS, and what it returned."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    start_rss_mib: float  # at fork: the imported modules every stage shares
    value: Any


class StageFailed(RuntimeError):
    """A stage raised in its child process; the message carries the child's traceback."""


def _rss_now_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _child(fn: Callable[[], Any], conn: Any) -> None:
    try:
        start_rss = _rss_now_mib()
        started, cpu = time.perf_counter(), time.process_time()
        value = fn()
        wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
        conn.send(("ok", wall, cpu_s, rss, start_rss, value))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def in_child(fn: Callable[[], Any]) -> Measured:
    """Run `fn` in a forked child process and measure it there (fn's value must pickle)."""
    receive, send = _FORK.Pipe(duplex=False)
    process = _FORK.Process(target=_child, args=(fn, send), daemon=True)
    process.start()
    send.close()
    try:
        message = receive.recv()
    except EOFError as error:
        process.join()
        raise StageFailed(f"the stage's process died (exit {process.exitcode})") from error
    process.join()
    if message[0] == "error":
        raise StageFailed(message[1])
    _, wall, cpu_s, rss, start_rss, value = message
    return Measured(wall, cpu_s, rss, start_rss, value)


def spread(samples: list[float]) -> dict[str, float | int]:
    """Median, min and max of repeated measurements, and how many there were."""
    return {
        "median": round(statistics.median(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
        "n": len(samples),
    }
