"""No axis label, tick label, title, colour-bar label or legend leaves its canvas, at the minimum
window size, 1366×768 and 1920×1080, in each tab and view, on the real I20 files."""
from __future__ import annotations

import pytest
from matplotlib.text import Text

from xestools.figures import MapStyle
from xestools.gui.common.geometry import MINIMUM_SIZE
from xestools.gui.main_window import MainWindow

SIZES = [MINIMUM_SIZE, (1366, 768), (1920, 1080)]
MAPS = ["279517_1.nxs", "XES_ZnZSM5_air500_279192_1.dat"]
SPECTRA = ["280772_1.nxs", "ZnO_standard_280772_1.dat", "280754_1.nxs", "279496_1.nxs"]


@pytest.fixture(scope="module")
def loaded(qapp, real_data, tmp_path_factory):
    import os

    os.environ["XESTOOLS_SETTINGS_FILE"] = str(tmp_path_factory.mktemp("settings") / "settings.ini")
    window = MainWindow()
    window.show()
    window.open_paths([str(real_data / name) for name in MAPS + SPECTRA])
    deadline = __import__("time").monotonic() + 60
    while window.is_loading and __import__("time").monotonic() < deadline:
        qapp.processEvents()
    assert not window.is_loading and window.last_errors == []
    yield window
    window.shutdown()
    window.deleteLater()


def outside_texts(canvas) -> list[str]:
    """Every visible, non-empty text artist (tick labels, axis labels, titles, offset texts, legend
    entries, contour labels) drawn outside the figure's pixel box, with where it is."""
    figure = canvas.figure
    canvas.draw()
    renderer = canvas.get_renderer()
    box = figure.bbox
    found = []
    for ax in figure.axes:
        if not ax.get_visible():
            continue
        artists = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label,
                   ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()]
        for axis in (ax.xaxis, ax.yaxis):
            artists += [tick.label1 for tick in axis._update_ticks() if tick.label1.get_visible()]
            artists += [tick.label2 for tick in axis._update_ticks() if tick.label2.get_visible()]
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            artists += list(legend.get_texts())
            found += [f"legend frame of {ax.get_label() or ax}" for frame in [legend.get_window_extent(renderer)]
                      if not _inside(frame, box)]
        artists += [t for t in ax.texts if isinstance(t, Text)]
        for text in artists:
            if not text.get_visible() or not text.get_text().strip():
                continue
            extent = text.get_window_extent(renderer)
            if not _inside(extent, box):
                found.append(f"{text.get_text()!r} at {tuple(round(v) for v in extent.extents)} "
                             f"in {tuple(round(v) for v in box.extents)}")
    for text in figure.texts:
        if text.get_visible() and text.get_text().strip() and not _inside(text.get_window_extent(renderer), box):
            found.append(repr(text.get_text()))
    return found


def _inside(extent, box, tolerance: float = 1.0) -> bool:
    return (extent.x0 >= box.x0 - tolerance and extent.x1 <= box.x1 + tolerance
            and extent.y0 >= box.y0 - tolerance and extent.y1 <= box.y1 + tolerance)


def settle(qapp, window, size) -> None:
    window.resize(*size)
    for _ in range(20):
        qapp.processEvents()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", MAPS)
def test_rxes_tab_texts_stay_inside(loaded, qapp, real_data, name, size):
    window = loaded
    window.select_dataset(str(real_data / name))
    panel = window.rxes_panel
    panel.remove_all_cuts()
    for kind in ("CIE", "CEE", "CET"):
        panel.add_cut(kind)
    settle(qapp, window, size)
    assert window.width() <= size[0] + 1 and window.height() <= size[1] + 1
    for view in ("incident", "transfer"):
        for scale in ("linear", "log"):
            panel.set_style(MapStyle(view=view, scale=scale, contour_levels=4, contour_labels=True))
            for _ in range(5):
                qapp.processEvents()
            for canvas in (panel.map_canvas, panel.profile_canvas):
                assert outside_texts(canvas.canvas) == [], (view, scale)
    panel.set_style(MapStyle())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("selection", [["280772_1.nxs"], SPECTRA], ids=["raw VtC", "all"])
def test_xes_tab_texts_stay_inside(loaded, qapp, real_data, selection, size):
    window = loaded
    panel = window.xes_panel
    window.tabs.setCurrentWidget(panel)
    names = {str(real_data / name) for name in selection}
    for item in panel.workspace.all_items():
        panel.workspace.set_visible(item.uid, item.spectrum.source in names)
    settle(qapp, window, size)
    canvas = panel.view.canvas.canvas
    texts = outside_texts(canvas)
    assert texts == []
    assert any(ax.yaxis.label.get_text() for ax in canvas.figure.axes), "the y label is there"
