"""Deliberate failures for ``--crash-test KIND`` (tests, and support checking an install).

Each ``*_slot`` function runs through ``safe_slot`` from a QTimer, like any other slot, so the
reports name these functions.
"""
from __future__ import annotations

import ctypes
import logging
import os
import threading
import time

log = logging.getLogger("xestools.runtime.crashtest")


def exception_slot() -> None:
    raise RuntimeError("crash test: deliberate exception in a slot")


def _raise_in_thread() -> None:
    raise ValueError("crash test: deliberate exception in a worker thread")


def thread_slot() -> None:
    worker = threading.Thread(target=_raise_in_thread, name="xestools-crash-test-thread", daemon=True)
    worker.start()


def segfault_slot() -> None:
    log.critical("crash test: segmentation fault now (t=%.6f)", time.time())
    ctypes.string_at(0)


def abort_slot() -> None:
    log.critical("crash test: abort now (t=%.6f)", time.time())
    os.abort()


def block_event_loop_slot(seconds: float) -> None:
    """Blocks the GUI thread (the hang watchdog should name this function)."""
    log.warning("crash test: blocking the event loop for %.1f s", seconds)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)


def hang_in_shutdown(seconds: float) -> None:
    """Blocks the orderly shutdown (the supervisor should report a hang at exit and kill us)."""
    log.warning("crash test: hanging in the shutdown for %.0f s", seconds)
    time.sleep(seconds)


def oom_slot(limit_mb: float = 512.0) -> None:
    """Allocate until a MemoryError, bounded: on POSIX the address space is capped for the attempt."""
    chunks = []
    try:
        import resource
    except ImportError:
        resource = None
    previous = None
    if resource is not None:
        previous = resource.getrlimit(resource.RLIMIT_AS)
        import psutil

        ceiling = psutil.Process().memory_info().vms + int(limit_mb * 1024 * 1024)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, previous[1]))
    try:
        for _ in range(int(limit_mb / 16) + 1):
            chunks.append(bytearray(16 * 1024 * 1024))
        raise MemoryError(f"crash test: allocated {limit_mb:.0f} MB")
    finally:
        chunks.clear()
        if resource is not None and previous is not None:
            resource.setrlimit(resource.RLIMIT_AS, previous)


def mpl_callback_slot() -> None:
    """A matplotlib callback that raises, connected without safe_slot (tests the global fallback)."""
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure

    figure = Figure()
    canvas = FigureCanvasQTAgg(figure)
    figure.add_subplot().plot([0, 1], [0, 1])

    def failing_draw_callback(event):
        raise KeyError("crash test: deliberate exception in a matplotlib callback")

    cid = canvas.mpl_connect("draw_event", failing_draw_callback)
    try:
        canvas.draw()
    finally:
        canvas.mpl_disconnect(cid)
        figure.clear()
        canvas.deleteLater()


SLOTS = {"exception": exception_slot, "thread": thread_slot, "segfault": segfault_slot, "abort": abort_slot,
         "oom": oom_slot, "mpl-callback": mpl_callback_slot}


def linger_after_shutdown(seconds: float) -> None:
    """After the clean shutdown, before the process exits (like a slow interpreter teardown): a
    signal arriving now must not turn the clean exit into a kill."""
    log.warning("crash test: lingering %.1f s after the clean shutdown", seconds)
    time.sleep(seconds)
