"""PlotCanvas: tracked connections, safe callbacks, blitting, deterministic close, no leaks."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal
from PySide6.QtWidgets import QApplication, QDialog, QVBoxLayout

from xestools.gui.common.canvas import PlotCanvas
from xestools.runtime import safe


class Source(QObject):
    """Stands for a long-lived object (dataset list, session) that signals into plots."""

    changed = Signal(str)


def flush_deletes() -> None:
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()


def test_connect_records_and_close_disconnects(qtbot):
    source = Source()
    canvas = PlotCanvas()
    qtbot.addWidget(canvas)
    seen = []
    cid = canvas.connect("button_press_event", lambda event: seen.append(event.button))
    canvas.track_signal(source.changed, lambda text: seen.append(text))
    assert canvas.connection_count == 3  # draw_event (blitting) + press + signal
    MouseEvent("button_press_event", canvas.canvas, 10, 10, button=1)._process()
    source.changed.emit("hello")
    assert seen == [1, "hello"]
    canvas.close()
    canvas.close()  # idempotent
    assert canvas.connection_count == 0
    assert cid not in canvas.canvas.callbacks.callbacks.get("button_press_event", {})
    source.changed.emit("after close")
    assert seen == [1, "hello"]
    assert not canvas.figure.axes


def test_callback_exception_is_reported_not_raised(qtbot):
    reported = []
    safe.add_exception_presenter(lambda exc, context: reported.append(str(exc)))
    try:
        canvas = PlotCanvas()
        qtbot.addWidget(canvas)

        def broken(_event):
            raise RuntimeError("boom in callback")

        canvas.connect("button_press_event", broken)
        MouseEvent("button_press_event", canvas.canvas, 5, 5, button=1)._process()
        assert reported == ["boom in callback"]
        canvas.close()
    finally:
        safe.clear_exception_handlers()


def test_blitting_draws_animated_artists_on_captured_background(qtbot):
    canvas = PlotCanvas(toolbar=False)
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    ax = canvas.figure.add_subplot(1, 1, 1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    (line,) = ax.plot([0, 1], [0.5, 0.5], color="red", lw=6)
    canvas.add_animated(line)
    canvas.draw()
    assert canvas.has_background
    draws = []
    canvas.connect("draw_event", lambda event: draws.append(1))
    line.set_ydata([0.9, 0.9])
    canvas.blit_artists()
    assert draws == [], "blitting must not trigger a full draw"
    buffer = np.asarray(canvas.canvas.buffer_rgba())
    red = (buffer[..., 0] > 200) & (buffer[..., 1] < 60)
    rows = np.nonzero(red.any(axis=1))[0]
    assert rows.size and rows.max() < buffer.shape[0] * 0.4, "animated line not drawn at its new place"
    canvas.close()


def test_save_includes_animated_artists(qtbot, tmp_path):
    canvas = PlotCanvas(toolbar=False)
    qtbot.addWidget(canvas)
    ax = canvas.figure.add_subplot(1, 1, 1)
    (line,) = ax.plot([0, 1], [0, 1], color="red", lw=8)
    canvas.add_animated(line)
    canvas.save(tmp_path / "out.png", dpi=50)
    from matplotlib.image import imread

    image = imread(tmp_path / "out.png")
    assert ((image[..., 0] > 0.8) & (image[..., 1] < 0.3)).sum() > 50
    assert line.get_animated()
    canvas.close()


@pytest.mark.parametrize("suffix", ["svg", "pdf"])
def test_vector_save_reports_no_error_and_keeps_blitting(qtbot, tmp_path, suffix):
    """savefig to SVG/PDF draws through another canvas; the blit handler must leave that draw alone."""
    from xestools.runtime import safe

    errors = []
    safe.add_exception_reporter(lambda exc, context: errors.append((context, exc)))
    try:
        canvas = PlotCanvas(toolbar=False)
        qtbot.addWidget(canvas)
        ax = canvas.figure.add_subplot(1, 1, 1)
        (line,) = ax.plot([0, 1], [0, 1], color="red")
        canvas.add_animated(line)
        canvas.draw()
        canvas.save(tmp_path / f"out.{suffix}")
        assert (tmp_path / f"out.{suffix}").stat().st_size > 1000
        canvas.draw()
        assert errors == []
        canvas.close()
    finally:
        safe.clear_exception_handlers()


def test_canvas_in_dialog_closes_on_accept_and_reject(qtbot):
    for finish in ("accept", "reject"):
        dialog = QDialog()
        canvas = PlotCanvas(dialog)
        QVBoxLayout(dialog).addWidget(canvas)
        dialog.finished.connect(lambda _result, c=canvas: c.close())
        figure_ref = weakref.ref(canvas.figure)
        dialog.show()
        getattr(dialog, finish)()
        assert canvas.is_closed and canvas.connection_count == 0
        dialog.deleteLater()
        del canvas, dialog
        flush_deletes()
        assert figure_ref() is None


def _open_close_map_tab(source: Source):
    """One cycle: a map tab with image, colour bar, cuts, connections; then closed."""
    from xestools.workspace.datasets import Dataset
    from xestools.gui.rxes.rxes_panel import RxesPanel
    from xestools.model import Channel, RXESMap

    incident_axis = np.linspace(9650, 9660, 30)
    emission_axis = np.linspace(8620, 8640, 60)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    intensity = np.random.default_rng(0).random(incident.shape)
    rxes_map = RXESMap(incident, emission, incident_axis, emission_axis, intensity,
                       uncertainty=intensity * 0.1, channel=Channel.UPPER, source="cycle.nxs")
    panel = RxesPanel()
    panel.add_dataset(Dataset("cycle.nxs", [rxes_map]))
    for kind in ("CIE", "CEE", "CET"):
        panel.add_cut(kind, None, 0.5)
    panel.map_canvas.track_signal(source.changed, panel.status_message)
    panel.set_view("transfer")
    panel.map_canvas.canvas.draw()
    refs = [weakref.ref(panel.map_canvas.figure), weakref.ref(panel.profile_canvas.figure),
            weakref.ref(panel.map_canvas.canvas), weakref.ref(panel.profile_canvas.canvas), weakref.ref(panel)]
    canvases = (panel.map_canvas, panel.profile_canvas)
    panel.shutdown()
    assert all(c.connection_count == 0 for c in canvases)
    panel.deleteLater()
    return refs


def _open_close_map_canvas(source: Source):
    """One cycle of the canvas alone: image, colour bar, cut line and band, connections; then closed."""
    from matplotlib.patches import Polygon

    from xestools.figures import MapPlot
    from xestools.model import RXESMap

    incident_axis = np.linspace(9650, 9660, 30)
    emission_axis = np.linspace(8620, 8640, 60)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    rxes_map = RXESMap(incident, emission, incident_axis, emission_axis, incident - emission)
    canvas = PlotCanvas()
    ax = canvas.figure.add_axes((0.1, 0.1, 0.7, 0.8))
    cax = canvas.figure.add_axes((0.85, 0.1, 0.03, 0.8))
    plot = MapPlot(ax, cax)
    plot.set_map(rxes_map)
    (line,) = ax.plot([9655, 9655], [8620, 8640])
    band = ax.add_patch(Polygon([[9654, 8620], [9656, 8620], [9656, 8640], [9654, 8640]], alpha=0.2))
    canvas.add_animated(line)
    canvas.add_animated(band)
    canvas.connect("motion_notify_event", lambda event: line.set_xdata([event.xdata] * 2))
    canvas.track_signal(source.changed, canvas.setToolTip)
    canvas.canvas.draw()
    refs = [weakref.ref(canvas.figure), weakref.ref(canvas.canvas), weakref.ref(canvas), weakref.ref(plot)]
    canvas.close()
    assert canvas.connection_count == 0
    return refs


def _assert_all_released(cycle, count: int) -> None:
    source = Source()
    flush_deletes()
    top_level_before = len(QApplication.topLevelWidgets())
    all_refs = []
    for _ in range(count):
        all_refs.extend(cycle(source))
    flush_deletes()
    alive = [ref() for ref in all_refs if ref() is not None]
    assert not alive, f"{len(alive)} figures/canvases/panels still alive, e.g. {type(alive[0]).__name__}"
    assert source.receivers("2changed(QString)") == 0
    assert len(QApplication.topLevelWidgets()) == top_level_before


def test_leak_open_close_map_canvas_50_times(qtbot):
    _assert_all_released(_open_close_map_canvas, 50)


def test_leak_open_close_full_map_tab(qtbot):
    _assert_all_released(_open_close_map_tab, 12)


def test_partial_blit_of_moved_artists_paints_what_a_full_repaint_paints(qtbot):
    """Moving one of several animated artists repaints only a region, with the same pixels as repainting all."""
    from matplotlib.patches import Polygon

    canvas = PlotCanvas(toolbar=False)
    qtbot.addWidget(canvas)
    canvas.resize(500, 360)
    canvas.show()
    qtbot.waitExposed(canvas)
    ax = canvas.figure.add_subplot(1, 1, 1)
    ax.imshow(np.random.default_rng(0).random((40, 50)), extent=(0, 10, 0, 8), aspect="auto")
    band = Polygon([[2, 1], [3, 1], [3, 3], [2, 3]], closed=True, facecolor=(1, 0, 0, 0.3), edgecolor="red")
    ax.add_patch(band)
    (moving,) = ax.plot([2.5, 2.5], [1, 3], color="white", lw=3)
    (still,) = ax.plot([0, 10], [2, 2], color="cyan", lw=2, alpha=0.6)   # crosses the moving band
    for artist in (band, moving, still):
        canvas.add_animated(artist)
    canvas.draw()
    draws = []
    canvas.connect("draw_event", lambda event: draws.append(1))
    canvas.blit_artists([band, moving])          # first blit after a draw: a full repaint
    for step in range(1, 8):
        x = 2.5 + 0.7 * step
        band.set_xy([[x - 0.5, 1], [x + 0.5, 1.2], [x + 0.5, 3], [x - 0.5, 3.3]])
        moving.set_xdata([x, x])
        canvas.blit_artists([band, moving])
    partial = np.array(canvas.canvas.buffer_rgba())
    canvas.blit_artists()
    full = np.array(canvas.canvas.buffer_rgba())
    assert draws == []
    np.testing.assert_array_equal(partial, full)
    canvas.remove_animated(still)
    still.remove()
    canvas.blit_artists([band, moving])          # the removed line's pixels are restored too
    without = np.array(canvas.canvas.buffer_rgba())
    canvas.blit_artists()
    np.testing.assert_array_equal(without, np.array(canvas.canvas.buffer_rgba()))
    canvas.close()


def test_blit_axes_repaints_one_axes_like_a_full_blit(qtbot):
    canvas = PlotCanvas(toolbar=False)
    qtbot.addWidget(canvas)
    canvas.resize(500, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    left, right = canvas.figure.add_subplot(1, 2, 1), canvas.figure.add_subplot(1, 2, 2)
    (moving,) = left.plot([0, 1], [0, 1], color="red", lw=3)
    (other,) = right.plot([0, 1], [1, 0], color="blue", lw=3)
    band = left.fill_between([0, 1], [0.2, 0.2], [0.5, 0.7], color="red", alpha=0.3)
    for artist in (moving, other, band):
        canvas.add_animated(artist)
    canvas.draw()
    draws = []
    canvas.connect("draw_event", lambda event: draws.append(1))
    for shift in (0.1, 0.3, 0.2):
        moving.set_ydata([shift, 1 - shift])
        canvas.blit_axes(left)
    partial = np.array(canvas.canvas.buffer_rgba())
    canvas.blit_artists()
    assert draws == []
    np.testing.assert_array_equal(partial, np.array(canvas.canvas.buffer_rgba()))
    canvas.close()


def _own_objects() -> dict[str, int]:
    """Live objects of xestools classes, and Python wrappers of Qt objects, by type."""
    import collections

    import shiboken6

    gc.collect()
    counts = collections.Counter(f"{type(obj).__module__}.{type(obj).__qualname__}" for obj in gc.get_objects()
                                 if str(type(obj).__module__).startswith("xestools."))
    counts.update(f"Qt {type(obj).__qualname__}" for obj in shiboken6.getAllValidWrappers())
    return counts


def _map_tab_on(workspace, source: Source) -> None:
    """One map tab on a workspace that outlives it (as in the main window): shown, cut, drawn, closed."""
    from xestools.gui.rxes.rxes_panel import RxesPanel
    from xestools.workspace.datasets import Dataset

    panel = RxesPanel(workspace)
    panel.add_dataset(Dataset("cycle.nxs", [_small_map()]))
    for kind in ("CIE", "CEE", "CET"):
        panel.add_cut(kind, None, 0.5)
    panel.map_canvas.track_signal(source.changed, panel.status_message)
    panel.set_view("transfer")
    panel.map_canvas.canvas.draw()
    panel.profile_canvas.canvas.draw()
    panel.shutdown()
    panel.deleteLater()
    for key in [document.dataset.key for document in workspace.documents]:
        workspace.remove(key)


def _small_map():
    from xestools.model import Channel, RXESMap

    incident_axis = np.linspace(9650, 9660, 30)
    emission_axis = np.linspace(8620, 8640, 60)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    intensity = np.random.default_rng(0).random(incident.shape)
    return RXESMap(incident, emission, incident_axis, emission_axis, intensity, uncertainty=intensity * 0.1,
                   channel=Channel.UPPER, source="cycle.nxs")


def test_no_object_of_ours_survives_closed_map_tabs(qtbot):
    """Whatever a map tab creates (event hooks, cut models, Qt objects) goes with it, also when the
    workspace it showed lives on."""
    from xestools.workspace.maps import MapWorkspace

    source, workspace = Source(), MapWorkspace()
    for _ in range(2):      # first use fills module-level caches
        _map_tab_on(workspace, source)
    flush_deletes()
    before = _own_objects()
    for _ in range(8):
        _map_tab_on(workspace, source)
    flush_deletes()
    after = _own_objects()
    grown = {name: after[name] - before[name] for name in after if after[name] > before[name]}
    assert not grown, f"objects that outlive closed map tabs (type: more after 8 cycles): {grown}"
