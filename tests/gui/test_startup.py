"""What start-up costs: the first window imports no heavy science or cluster package, and wrapping Qt
slots does not make PySide build help texts (both measured on the path to the first paint)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from xestools.runtime.safe import safe_slot

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("lmfit", "scipy", "xarray", "pandas", "distributed", "dask", "h5py")

FIRST_WINDOW = r"""
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from xestools.gui.main_window import MainWindow
window = MainWindow()
window.show()
app.processEvents()
print(json.dumps(sorted(sys.modules)))
"""
#: modules of commands run from menus and dialogs: imported when first used, not for the first window
ON_DEMAND = ("xestools.gui.series_commands", "xestools.gui.xes.analysis_commands", "xestools.recipe",
             "xestools.workspace.recipe")


def test_the_first_window_imports_no_heavy_package(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               XESTOOLS_SETTINGS_FILE=str(tmp_path / "settings.ini"))
    result = subprocess.run([sys.executable, "-c", FIRST_WINDOW], env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    modules = set(json.loads(result.stdout.strip().splitlines()[-1]))
    loaded = {name.split(".")[0] for name in modules}
    assert "matplotlib" in loaded and "xestools" in loaded
    assert not loaded & set(HEAVY)
    assert not modules & set(ON_DEMAND)


class _QtLikeSlot:
    """A callable whose ``__doc__`` is expensive, like a PySide method's (it builds a help text)."""

    def __init__(self) -> None:
        self.__name__ = self.__qualname__ = "setText"
        self.doc_reads = 0
        self.calls: list[str] = []

    @property
    def __doc__(self):  # noqa: D105 - counts the reads
        self.doc_reads += 1
        return "setText(self, arg__1: str) -> None"

    def __call__(self, text: str) -> None:
        self.calls.append(text)


def test_wrapping_a_slot_never_reads_its_doc():
    slot = _QtLikeSlot()
    wrapped = safe_slot(slot)
    wrapped("ready")
    assert slot.calls == ["ready"] and slot.doc_reads == 0
    assert wrapped.__qualname__ == "setText"


def test_the_first_paint_draws_no_hidden_plot(make_window, qtbot, monkeypatch):
    """At start the RXES tab shows its hint: no figure is drawn until a plot is shown (the hidden XES
    plot once cost a full draw before the first paint); showing the XES tab draws its plot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    drawn = []
    draw = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda canvas: (drawn.append(canvas), draw(canvas))[1])
    window = make_window()
    window.repaint()
    qtbot.wait(50)
    assert drawn == []
    window.tabs.setCurrentWidget(window.xes_panel)
    qtbot.waitUntil(lambda: window.xes_panel.view.canvas.has_background, timeout=10000)
    assert {id(canvas) for canvas in drawn} == {id(window.xes_panel.view.canvas.canvas)}
