"""Undo history costs on the real I20 files (Qt-free): capturing the whole workspace, taking a step, undoing.

Prints ``name: value unit`` lines. A step is taken at the end of every change (debounced in the GUI)
and records only the parts that changed, so it must stay far below a frame even with many XES items open;
``full_capture`` (every part, as after opening a session) is the upper bound.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xestools.workspace import Workspace, load_files  # noqa: E402
from xestools.workspace.history import History, Recorder  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "i20"
NAMES = ("279517_1.nxs", "280772_1.nxs", "ZnO_standard_280772_1.dat", "280754_1.nxs", "279496_1.nxs")


def timed(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000.0


def main() -> None:
    if not DATA.is_dir():
        print(f"real data not found at {DATA}")
        return
    workspace = Workspace()
    workspace.add_outcomes(load_files([str(DATA / name) for name in NAMES]))
    workspace.select(str(DATA / NAMES[0]))
    xes = workspace.xes
    scans = [item.uid for item in xes.all_items()][:2]
    for _ in range(20):                       # a long afternoon: 20 averages and 20 normalisations
        average = xes.average(scans)
        xes.normalise(average.uid, (9630.0, 9660.0))
    for position in range(10):
        workspace.maps.add_cut("CEE", 8630.0 + position, 1.0)
    history = History(Recorder(workspace))
    print(f"items: {len(xes.all_items())} count")
    print(f"full_capture: {timed(history.recorder.rebase, 50):.3f} ms")
    print(f"idle_step: {timed(history.commit, 50):.3f} ms")
    ident = workspace.maps.current.cuts.entries()[0].ident

    def move_and_commit() -> None:
        cut = workspace.maps.current.cuts.get(ident)
        workspace.maps.current.cuts.update(ident, position=cut.position + 0.01)
        history.commit()
    print(f"cut_move_step: {timed(move_and_commit, 50):.3f} ms")
    print(f"undo_cut_move: {timed(history.undo, 50):.3f} ms")
    print(f"redo_cut_move: {timed(history.redo, 50):.3f} ms")
    xes.remove([item.uid for item in xes.all_items()])
    history.commit()
    print(f"undo_clear_all_items: {timed(lambda: (history.undo(), history.redo()), 20) / 2:.3f} ms")


if __name__ == "__main__":
    main()
