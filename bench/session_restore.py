"""Restoring a session of 100 real files with 20 cuts and 5 derived items, in the main window.

Copies of the real I20 files (``../shared/data/i20``, or ``XESTOOLS_REAL_DATA``) are made twice in a
temporary folder: one set is read with ``xestools.load`` in a loop (the same-run reference), the
other is restored. The session is built Qt-free (``Workspace``: the files, 20 cuts on the maps, 5
averages in the XES tab) and handed to ``MainWindow.restore_session``.

The machine's speed drifts by tens of per cent within a minute, so the load loop and the restore are
measured side by side ``REPEATS`` times on fresh copies; the figures are the medians of the runs
(each ratio taken within its run), and every run is listed last.

Prints ``name: value unit``:
- ``session_restore_load_loop_s``: reading the reference copies with ``xestools.load`` one by one;
- ``session_restore_s``: from ``restore_session`` to a usable window (the workspace's ``restored``
  event, the shown map drawn, and the event-loop turn after it);
- ``session_restore_ratio``: the two divided (goal ≤ 1.5);
- ``session_restore_longest_stall_ms``: the longest gap between ticks of a 10 ms ``QTimer`` while the
  restore runs (goal ≤ 100 ms): how long the window stops answering.
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import app

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("XESTOOLS_REAL_DATA", ROOT.parent / "shared" / "data" / "i20"))
FILES, CUTS, DERIVED = 100, 20, 5
#: load loop and restore, side by side, this many times (fresh copies each time): the medians are printed
REPEATS = 3


def copies(source: list[Path], folder: Path) -> list[str]:
    folder.mkdir()
    paths = []
    for number in range(FILES):
        original = source[number % len(source)]
        target = folder / f"c{number:03d}_{original.name}"
        shutil.copy(original, target)
        paths.append(str(target))
    return paths


def session_of(paths: list[str]) -> dict:
    """The saved state of a workspace with ``paths`` open, CUTS cuts on its maps and DERIVED averages."""
    from xestools.workspace import Workspace
    from xestools.workspace.datasets import load_files
    from xestools.workspace.items import ItemKind

    workspace = Workspace()
    workspace.add_outcomes(load_files(paths))
    documents = workspace.maps.documents
    for index in range(CUTS):
        workspace.maps.show(documents[index % len(documents)].dataset.key)
        workspace.maps.add_cut(("CIE", "CEE", "CET")[index % 3], None, 0.5)
    scans = [item.uid for item in workspace.xes.all_items() if item.kind is ItemKind.SCAN]
    same_grid = [uid for uid in scans if "280772" in workspace.xes.describe_item(uid)]
    for index in range(DERIVED):
        workspace.xes.average(same_grid[index * 2:index * 2 + 2] or scans[:2])
    return workspace.to_state()


def load_loop(paths: list[str]) -> float:
    import xestools

    began = time.perf_counter()
    for path in paths:
        xestools.load(path)
    return time.perf_counter() - began


def restore(state: dict, folder: Path) -> tuple[float, float, int]:
    """Seconds to a usable window, the longest event-loop gap (s), the files restored."""
    from PySide6.QtCore import QTimer

    application = app()
    os.environ["XESTOOLS_SETTINGS_FILE"] = str(folder / "settings.ini")
    from xestools.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1366, 768)
    window.show()
    application.processEvents()
    reports, ticks = [], []
    window.workspace.restored.connect(reports.append)
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    application.processEvents()
    began = time.perf_counter()
    ticks.append(began)
    window.restore_session(state)
    panel = window.rxes_panel
    # usable: the report said, and the shown map drawn (its first draw may come a few turns later)
    while not reports or (panel.document is not None and not panel.map_canvas.has_background):
        application.processEvents()
        time.sleep(0.001)
    application.processEvents()
    took = time.perf_counter() - began
    ticks.append(time.perf_counter())
    timer.stop()
    stall = max(b - a for a, b in zip(ticks, ticks[1:]))
    opened = len(reports[0].opened)
    window.shutdown()
    return took, stall, opened


def main() -> None:
    source = sorted(p for p in DATA.glob("*") if p.suffix in (".nxs", ".dat"))
    if not source:
        sys.exit(f"no real files in {DATA}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="xestools-restore-bench-") as name:
        folder = Path(name)
        for run in range(REPEATS):
            reference = copies(source, folder / f"reference{run}")
            restored = copies(source, folder / f"restored{run}")
            state = session_of(restored)
            loop = load_loop(reference)
            took, stall, opened = restore(state, folder)
            runs.append((loop, took, took / loop, stall))
    cuts = sum(len(entry.get("cuts") or []) for entry in state.get("files") or [])
    derived = [item for item in state["xes_panel"]["items"] if item.get("kind") != "scan"]
    loop, took, ratio, stall = (statistics.median(run[column] for run in runs) for column in range(4))
    print(f"session_restore_files: {opened} files")
    print(f"session_restore_cuts: {cuts} cuts")
    print(f"session_restore_derived_items: {len(derived)} items")
    print(f"session_restore_load_loop_s: {loop:.2f} s")
    print(f"session_restore_s: {took:.2f} s")
    print(f"session_restore_ratio: {ratio:.2f} x")
    print(f"session_restore_longest_stall_ms: {stall * 1000:.0f} ms")
    print("session_restore_runs: " + "; ".join(f"{a:.2f} s / {b:.2f} s = {c:.2f} x, stall {d * 1000:.0f} ms"
                                                for a, b, c, d in runs))


if __name__ == "__main__":
    main()
