"""Cold start to a painted main window vs a bare PySide6 window holding one matplotlib canvas.

Each start is a fresh interpreter (median of 7, ours and the bare one alternating); the child exits as soon as its window has painted.
Also reports whether lmfit/scipy were imported at start-up (they must not be).
Prints ``name: value unit``.

Both interpreters start from compiled bytecode, as an installed package does: the children write and
read it in a private cache folder (``PYTHONPYCACHEPREFIX``), filled by the warm-up runs. Without it,
under ``PYTHONDONTWRITEBYTECODE`` and a source checkout, every xestools start compiled its ~90
modules while the bare reference's packages came compiled (about +0.2 in the ratio here).
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PAINT_AND_EXIT = r"""
import json, sys
window.show()
app.processEvents()
window.repaint()          # synchronous paint of the whole window tree (canvas drawn included)
app.processEvents()
print(json.dumps({"heavy": sorted(m for m in ("lmfit", "scipy") if m in sys.modules)}))
"""

XESTOOLS = r"""
from PySide6.QtWidgets import QApplication
app = QApplication([])
from xestools.gui.main_window import MainWindow
window = MainWindow()
""" + PAINT_AND_EXIT

BARE = r"""
from PySide6.QtWidgets import QApplication, QMainWindow
from matplotlib.figure import Figure
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
app = QApplication([])
window = QMainWindow()
figure = Figure()
figure.add_subplot(1, 1, 1)
window.setCentralWidget(FigureCanvasQTAgg(figure))
""" + PAINT_AND_EXIT


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(code: str, settings: str) -> tuple[float, float, list[str]]:
    """(wall seconds, CPU seconds, heavy modules loaded) of one start."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), XESTOOLS_SETTINGS_FILE=settings,
               PYTHONPYCACHEPREFIX=os.path.join(os.path.dirname(settings), "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cpu, began = _children_cpu(), time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    elapsed, cpu = time.perf_counter() - began, _children_cpu() - cpu
    heavy = json.loads(result.stdout.strip().splitlines()[-1])["heavy"]
    return elapsed, cpu, heavy


def main(repeats: int = 7) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        settings = os.path.join(folder, "settings.ini")
        run(BARE, settings)  # warm the OS file cache and the bytecode for both
        run(XESTOOLS, settings)
        ours, bare, ours_cpu, bare_cpu, heavy = [], [], [], [], set()
        for _ in range(repeats):
            elapsed, cpu, loaded = run(XESTOOLS, settings)
            ours.append(elapsed)
            ours_cpu.append(cpu)
            heavy.update(loaded)
            elapsed, cpu, _loaded = run(BARE, settings)
            bare.append(elapsed)
            bare_cpu.append(cpu)
    print(f"startup_xestools_median: {statistics.median(ours) * 1000:.0f} ms")
    print(f"startup_bare_canvas_median: {statistics.median(bare) * 1000:.0f} ms")
    print(f"startup_ratio: {statistics.median(ours) / statistics.median(bare):.2f} x")
    # CPU time of the child (user + system) varies less than wall time on a shared machine
    print(f"startup_cpu_ratio: {statistics.median(ours_cpu) / statistics.median(bare_cpu):.2f} x")
    print(f"startup_heavy_modules_loaded: {len(heavy)} modules{(' (' + ', '.join(sorted(heavy)) + ')') if heavy else ''}")


if __name__ == "__main__":
    main()
