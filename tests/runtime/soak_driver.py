"""Child-process driver of the soak test: the real GUI runtime, 5,000 synthetic input events.

Run as ``python -m tests.runtime.soak_driver RESULT.json [EVENTS]`` with the usual XESTOOLS_* variables.
"""
from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from xestools.app import window_factory
from xestools.runtime.gui_process import run_gui
from xestools.runtime.options import parse_options

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_MAP = PROJECT_ROOT / "data_samples" / "990101_1.nxs"


def _loading(window) -> bool:
    value = window.is_loading
    return value() if callable(value) else bool(value)


def drive(runtime, result_path: Path, events: int) -> None:
    try:
        _drive(runtime, result_path, events)
    finally:
        runtime.shutdown("soak finished")


def _drive(runtime, result_path: Path, events: int) -> None:
    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from xestools.gui.common.canvas import PlotCanvas
    from xestools.runtime.selfcheck import refcounts

    app = QApplication.instance()
    window = runtime.window
    window.resize(1000, 700)
    if SAMPLE_MAP.exists():
        window.open_paths([str(SAMPLE_MAP)])
        deadline = time.monotonic() + 60
        while _loading(window) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
    standalone = PlotCanvas(toolbar=False)
    axes = standalone.figure.add_subplot()
    (line,) = axes.plot(range(100), [i * i for i in range(100)])
    cursor = standalone.add_animated(axes.axvline(0, color="red"))
    seen = {"motion": 0, "press": 0, "key": 0}

    def on_motion(event):
        seen["motion"] += 1
        if event.inaxes is axes and event.xdata is not None:
            cursor.set_xdata([event.xdata, event.xdata])
            standalone.blit_artists()

    def on_press(event):
        seen["press"] += 1

    def on_key(event):
        seen["key"] += 1

    standalone.connect("motion_notify_event", on_motion)
    standalone.connect("button_press_event", on_press)
    standalone.connect("key_press_event", on_key)
    standalone.resize(600, 400)
    standalone.show()
    standalone.draw()
    app.processEvents()

    window_canvases = [c for c in window.findChildren(PlotCanvas) if c.isVisible()]
    targets = [standalone.canvas] + [c.canvas for c in window_canvases]
    rng = random.Random(3)
    keys = [Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_A, Qt.Key.Key_X]

    def mouse(widget, kind, pos: QPoint, button=Qt.MouseButton.NoButton) -> None:
        local = QPointF(pos)
        buttons = button if kind == QEvent.Type.MouseButtonPress else Qt.MouseButton.NoButton
        event = QMouseEvent(kind, local, QPointF(widget.mapToGlobal(pos)), button, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)

    def one_event(index: int) -> None:
        choice = rng.random()
        if choice < 0.15:                               # hover anywhere over the main window
            mouse(window, QEvent.Type.MouseMove, QPoint(rng.randrange(window.width()), rng.randrange(window.height())))
            return
        widget = targets[index % len(targets)]
        pos = QPoint(rng.randrange(10, max(widget.width() - 10, 11)), rng.randrange(10, max(widget.height() - 10, 11)))
        if choice < 0.80:
            mouse(widget, QEvent.Type.MouseMove, pos)
        elif choice < 0.92:
            mouse(widget, QEvent.Type.MouseButtonPress, pos, Qt.MouseButton.LeftButton)
            mouse(widget, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.LeftButton)
        else:
            QTest.keyClick(widget if rng.random() < 0.7 else window, rng.choice(keys))

    for index in range(200):                            # warm-up: caches, first draws
        one_event(index)
    app.processEvents()
    before = refcounts()
    started = time.monotonic()
    for index in range(events):
        one_event(index)
        if index % 50 == 0:
            app.processEvents()
    app.processEvents()
    after = refcounts()
    result = {"before": before, "after": after, "events": events, "seconds": round(time.monotonic() - started, 2),
              "window_canvases": len(window_canvases), "seen": seen,
              "reports": len(runtime.reporter.written)}
    standalone.close()
    result_path.write_text(json.dumps(result), encoding="utf-8")


def main() -> int:
    result_path = Path(sys.argv[1])
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    options = parse_options(["--single-process", "--no-restore"])
    return run_gui(options, window_factory(), after_start=lambda runtime: drive(runtime, result_path, events))


if __name__ == "__main__":
    sys.exit(main())
