"""Hang watchdog: notices when the GUI thread stops answering and records where it is stuck.

The GUI thread calls :meth:`HangWatchdog.beat` from a QTimer; a watchdog thread checks the time of
the last beat. After ``threshold`` seconds without one it logs every thread's stack and writes a
``hang`` report naming the function the GUI thread is blocked in. The program is not killed; when
the loop answers again that is logged too.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from typing import Callable

log = logging.getLogger("xestools.runtime.watchdog")


def all_stacks() -> dict[int, tuple[str, list[traceback.FrameSummary]]]:
    """``{thread ident: (thread name, frames outermost first)}`` for every Python thread."""
    names = {t.ident: t.name for t in threading.enumerate()}
    return {ident: (names.get(ident, f"thread {ident}"), traceback.extract_stack(frame))
            for ident, frame in sys._current_frames().items()}


def format_stacks(stacks: dict) -> str:
    parts = []
    for ident, (name, frames) in stacks.items():
        parts.append(f"Thread {name} (0x{ident:x}), most recent call last:\n" + "".join(traceback.format_list(frames)))
    return "\n".join(parts)


class HangWatchdog(threading.Thread):
    def __init__(self, threshold: float, report: Callable[..., object], *,
                 gui_thread_ident: int | None = None, poll: float | None = None) -> None:
        super().__init__(name="xestools-hang-watchdog", daemon=True)
        self.threshold = float(threshold)
        self.report = report
        self.gui_ident = gui_thread_ident if gui_thread_ident is not None else threading.main_thread().ident
        self.poll = poll if poll is not None else min(max(self.threshold / 5.0, 0.05), 1.0)
        self._last_beat = time.monotonic()
        self._stop_event = threading.Event()
        self.hangs = 0

    def beat(self) -> None:
        """Called on the GUI thread by a timer; cheap."""
        self._last_beat = time.monotonic()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        in_hang = False
        hang_started = 0.0
        while not self._stop_event.wait(self.poll):
            silent = time.monotonic() - self._last_beat
            if silent >= self.threshold and not in_hang:
                in_hang, hang_started = True, self._last_beat
                self.hangs += 1
                try:
                    self._record(silent)
                except Exception:  # the watchdog itself must survive
                    log.exception("could not record the hang")
            elif in_hang and self._last_beat > hang_started:
                in_hang = False
                log.warning("the event loop answers again after %.1f s", time.monotonic() - hang_started)

    def _record(self, silent: float) -> None:
        stacks = all_stacks()
        stacks.pop(threading.get_ident(), None)
        log.error("the event loop has not answered for %.1f s; stacks of all threads:\n%s",
                  silent, format_stacks(stacks))
        gui_name, gui_frames = stacks.get(self.gui_ident, ("MainThread", []))
        frames = [{"file": f.filename, "line": f.lineno, "function": f.name, "code": (f.line or "").strip()}
                  for f in gui_frames]
        blocking = frames[-1] if frames else {"function": "?", "file": "?", "line": 0}
        summary = (f"The event loop did not answer for {silent:.1f} s; the GUI thread is blocked in "
                   f"{blocking['function']} ({blocking['file'].rsplit('/', 1)[-1]}:{blocking['line']})")
        gui_thread = next((t for t in threading.enumerate() if t.ident == self.gui_ident), None)
        self.report("hang", summary, thread=gui_thread, frames=frames,
                    extra={"blocking_function": blocking["function"], "silent_seconds": round(silent, 2),
                           "threshold_seconds": self.threshold,
                           "all_stacks": {name: [f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})"
                                                 for f in frames_] for _, (name, frames_) in stacks.items()}})
