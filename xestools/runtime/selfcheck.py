"""Start-up self-check of the Qt binding: does it lose references to None/True/False?

Some PySide6 builds on CPython < 3.12 (PySide6-Essentials 6.12.0 measured) drop a reference to None
on every void Qt call and to True/False on every ``Signal(bool).emit``; hours later the interpreter
aborts with "Fatal Python error: none_dealloc". Counting references before and after a few hundred
such calls finds the defect in milliseconds, so we can say so at start-up instead.
"""
from __future__ import annotations

import logging
import sys

log = logging.getLogger("xestools.runtime.selfcheck")

CALLS = 300
RECOMMENDATION = ("install a PySide6 without the defect: pip install \"PySide6-Essentials>=6.11,<6.12\" "
                  "(or use Python 3.12 or newer)")


def refcounts() -> dict[str, int]:
    return {"None": sys.getrefcount(None), "True": sys.getrefcount(True), "False": sys.getrefcount(False)}


def check_refcounts(calls: int = CALLS) -> dict:
    """Make ``calls`` void Qt calls and bool-signal emissions; returns counts and a verdict.

    ``{"ok": bool, "before": {...}, "after": {...}, "lost": {...}}``. Loss means a count fell by at
    least a quarter of the number of calls (half of the emits carry True, half False; ordinary churn
    moves a count by a handful).
    """
    from PySide6.QtCore import QObject, QTimer, Signal

    class _Probe(QObject):
        toggled = Signal(bool)

    probe = _Probe()
    received = [0]

    def count(value: bool) -> None:   # counts without keeping the bools (that would hide a loss)
        received[0] += 1

    probe.toggled.connect(count)
    timer = QTimer()
    before = refcounts()
    for index in range(calls):
        timer.stop()                      # void C++ method
        probe.setObjectName("probe")      # void with an argument
        probe.blockSignals(False)
        probe.toggled.emit(index % 2 == 0)
    after = refcounts()
    probe.toggled.disconnect(count)
    lost = {name: before[name] - after[name] for name in before}
    ok = all(loss < calls // 4 for loss in lost.values())
    return {"ok": ok, "before": before, "after": after, "lost": lost, "calls": calls, "received": received[0]}


def run_selfcheck() -> dict:
    """Log the result; a failure is logged as CRITICAL with what to install."""
    from PySide6 import __version__ as pyside_version

    result = check_refcounts()
    if result["ok"]:
        log.debug("Qt binding self-check passed: %s", result)
    else:
        log.critical("PySide6 %s on Python %s loses references to None/True/False (%s); the program "
                     "would abort later with 'none_dealloc'. To fix: %s", pyside_version,
                     sys.version.split()[0], result["lost"], RECOMMENDATION)
    result["message"] = "" if result["ok"] else (
        f"This PySide6 ({pyside_version}) has a known defect on Python {sys.version.split()[0]} that makes "
        f"xestools crash after a while. Please {RECOMMENDATION}.")
    return result


def pyplot_imported() -> bool:
    return "matplotlib.pyplot" in sys.modules
