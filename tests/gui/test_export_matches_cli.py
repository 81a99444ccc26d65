"""The figures of ``xestools plot`` equal the GUI's export of the same state, pixel for pixel.

The spectrum: the XES tab with one scan loaded (default settings) exports its overlay; the CLI
plots the file. The map: the RXES tab with two cuts exports the map figure; the CLI plots the file
with the same cuts. Both compare the decoded PNG pixels (an independent reading of the files).
"""
from __future__ import annotations

import numpy as np

from xestools import cli
from xestools.drawing import XES_FIGSIZE
from xestools.workspace import load_files


def pixels(path) -> np.ndarray:
    from matplotlib.image import imread

    return np.asarray(imread(str(path)))


def assert_same_pixels(gui_png, cli_png) -> None:
    gui, other = pixels(gui_png), pixels(cli_png)
    assert gui.shape == other.shape, (gui.shape, other.shape)
    differing = np.count_nonzero(np.any(np.abs(gui - other) > 1e-6, axis=-1))
    assert differing == 0, f"{differing} of {gui.shape[0] * gui.shape[1]} pixels differ"
    assert np.unique(gui.reshape(-1, gui.shape[-1]), axis=0).shape[0] > 20, "the figure is blank"


def test_spectrum_export_equals_cli_plot(qtbot, real_file, tmp_path):
    from xestools.gui.xes.xes_panel import XesPanel

    path = real_file("280754_1.nxs")
    panel = XesPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    panel.show()
    try:
        (outcome,) = load_files([str(path)])
        panel.workspace.add_loaded(outcome.path, outcome.objects)
        # the export is the figure as shown; give it the size ``xestools plot`` uses and redraw
        panel.view.figure.set_size_inches(*XES_FIGSIZE, forward=False)
        panel.workspace.set_plot_settings(panel.workspace.settings.plot.__class__(bands=False))
        panel.workspace.set_plot_settings(panel.workspace.settings.plot.__class__(bands=True))
        panel.export_plot(tmp_path / "gui.png")
    finally:
        panel.shutdown()
    assert cli.main(["plot", str(path), "-o", str(tmp_path / "cli.png")]) == 0
    assert_same_pixels(tmp_path / "gui.png", tmp_path / "cli.png")


def test_map_with_cuts_export_equals_cli_plot(qtbot, real_file, tmp_path):
    from xestools.gui.rxes import export
    from xestools.gui.rxes.rxes_panel import RxesPanel
    from xestools.workspace import Dataset

    path = real_file("279517_1.nxs")
    panel = RxesPanel()
    qtbot.addWidget(panel)
    panel.resize(1100, 800)
    panel.show()
    try:
        (outcome,) = load_files([str(path)])
        panel.add_dataset(Dataset(outcome.path, outcome.objects))
        panel.set_view("transfer")
        panel.add_cut("CEE", 8638.9, 1.0)
        panel.add_cut("CIE", 9660.4, 0.9, mean=True)
        export.export_map_figure(panel, tmp_path / "gui.png", dpi=150)
    finally:
        panel.shutdown()
    assert cli.main(["plot", str(path), "--view", "transfer", "--cut", "CEE:8638.9:1.0",
                     "--cut", "CIE:9660.4:0.9:mean", "-o", str(tmp_path / "cli.png")]) == 0
    assert_same_pixels(tmp_path / "gui.png", tmp_path / "cli.png")
