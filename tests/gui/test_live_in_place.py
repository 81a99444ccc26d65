"""A followed scan's new points in the window are drawn in place, without laying out unchanged axes.

A growing synthetic ``.dat`` is written here, a few hundred rows between the controller's polls (no
child process, no timing). Checks: no tick draws a whole figure; a tick whose colour scale and profile
limits stay draws no axis (no tick labels, no text); what the canvases show after each tick is what a
full draw of them shows, pixel for pixel; the colour bar follows a new maximum; the final map equals
the finished file opened afresh; a zoom is kept.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parents[1]
if str(HERE / "io") not in sys.path:
    sys.path.insert(0, str(HERE / "io"))
import i20_synth  # noqa: E402  (the I20-format writer of tests/io)

SHAPE = (40, 120)
STEP = 300          # rows appended between two polls


class _Growing:
    """A .dat written in steps: header and first rows, then ``STEP`` more rows per ``grow()``."""

    def __init__(self, folder: Path, flat: bool):
        from xestools.replay import _split_dat

        scan = i20_synth.make_rxes(*SHAPE, seed=5)
        if flat:    # the extremes in the first rows: later points change neither the colour scale nor the profile range
            counts = scan.roi["upper"]
            counts[:] = 500.0 + (np.arange(counts.size) % 7)
            counts[0], counts[1] = 900.0, 100.0
            scan.i1[:] = 6.0e5
        self.source = folder / "source_1.dat"
        i20_synth.write_ascii(self.source, scan)
        self.header, self.rows, self.footer = _split_dat(self.source.read_bytes())
        self.path = folder / "growing_1.dat"
        self.written = 2 * SHAPE[1] + 10
        self.handle = open(self.path, "wb")
        self.handle.write(self.header + b"".join(self.rows[:self.written]))
        self.handle.flush()

    @property
    def done(self) -> bool:
        return self.written >= len(self.rows)

    def grow(self) -> None:
        self.handle.write(b"".join(self.rows[self.written:self.written + STEP]))
        self.written = min(self.written + STEP, len(self.rows))
        if self.done:
            self.handle.write(self.footer)
            self.handle.close()
        else:
            self.handle.flush()


@pytest.fixture
def following(make_window, qtbot, tmp_path):
    """(window, growing file): the file opened through a follower with a CEE cut; polls are driven by the test."""
    def start(flat: bool):
        window = make_window(1366, 768)
        growing = _Growing(tmp_path, flat)
        window.live.follow_path(str(growing.path))
        key = os.path.abspath(growing.path)
        qtbot.waitUntil(lambda: window.workspace.dataset(key) is not None, timeout=60_000)
        window.live.timer.stop()
        window.rxes_panel.add_cut("CEE")
        _settle(qtbot, window)
        return window, growing
    yield start


def _settle(qtbot, window) -> None:
    """Until both canvases have drawn what was asked (idle draws run)."""
    qtbot.wait(50)
    for canvas in (window.rxes_panel.map_canvas, window.rxes_panel.profile_canvas):
        canvas.canvas.draw()
    qtbot.wait(20)


class _Counts:
    """Calls of Figure.draw and Axis.draw while installed."""

    def __init__(self, monkeypatch):
        from matplotlib.axis import Axis
        from matplotlib.figure import Figure

        self.figure = self.axis = 0
        figure_draw, axis_draw = Figure.draw, Axis.draw

        def counted_figure(figure, renderer):
            self.figure += 1
            return figure_draw(figure, renderer)

        def counted_axis(axis, renderer):
            self.axis += 1
            return axis_draw(axis, renderer)

        monkeypatch.setattr(Figure, "draw", counted_figure)
        monkeypatch.setattr(Axis, "draw", counted_axis)

    def reset(self) -> None:
        self.figure = self.axis = 0


def _tick(qtbot, window, growing) -> None:
    growing.grow()
    window.live.poll()
    qtbot.wait(10)      # the idle draws a tick might have asked for


def _shown(canvas) -> np.ndarray:
    return np.asarray(canvas.canvas.buffer_rgba()).copy()


def _where(a: np.ndarray, b: np.ndarray) -> str:
    rows, columns = np.nonzero(np.any(a != b, axis=2))
    return f"{rows.size} pixels, rows {rows.min()}–{rows.max()}, columns {columns.min()}–{columns.max()}"


def _full_draw(canvas) -> np.ndarray:
    canvas.canvas.draw()
    return _shown(canvas)


def test_ticks_on_unchanged_axes_draw_no_figure_and_no_text(following, qtbot, monkeypatch):
    window, growing = following(flat=True)
    panel = window.rxes_panel
    counts = _Counts(monkeypatch)
    limits = (panel.map_ax.get_xlim(), panel.map_ax.get_ylim(), panel.profile_axes["incident"].get_ylim())
    quiet = 0
    while not growing.done:
        counts.reset()
        _tick(qtbot, window, growing)
        assert counts.figure == 0, "a live tick drew a whole figure"
        if growing.done:
            break
        quiet += counts.axis == 0
    assert quiet >= 3, "ticks that changed no limits still drew axes (tick labels)"
    assert (panel.map_ax.get_xlim(), panel.map_ax.get_ylim(), panel.profile_axes["incident"].get_ylim())[:2] == limits[:2]


def test_in_place_ticks_show_what_a_full_draw_shows_and_end_as_the_finished_file(following, qtbot):
    from xestools.drawing import profile_limits
    from xestools.figures import colour_limits, masked_intensity, view_limits
    from xestools.io import load

    window, growing = following(flat=False)
    panel = window.rxes_panel
    norms, maxima = set(), set()
    while not growing.done:
        _tick(qtbot, window, growing)
        norm = panel.map_plot.image.norm
        norms.add((norm.vmin, norm.vmax))
        data = masked_intensity(panel.map_plot.rxes_map)
        maxima.add(float(data.max()))
        assert norm.vmin <= data.min() and data.max() <= norm.vmax, "the growing scale holds every point drawn"
        for canvas in (panel.map_canvas, panel.profile_canvas):
            on_screen = _shown(canvas)
            full = _full_draw(canvas)
            assert np.array_equal(on_screen, full), f"an in-place tick differs from a full draw: {_where(on_screen, full)}"
        plot = panel.map_plot
        assert plot.colorbar.norm is plot.image.norm
        assert plot.colorbar.ax.get_ylim() == pytest.approx((plot.image.norm.vmin, plot.image.norm.vmax))
    assert len(norms) > 2, "the colour scale should have followed the growing maximum"
    assert len(norms) < len(maxima), "round growing limits: not every new maximum changes the colour bar"
    key = os.path.abspath(growing.path)
    qtbot.waitUntil(lambda: not window.live.live.is_following(key), timeout=10_000)
    fresh = next(m for m in load(growing.path) if hasattr(m, "incident_axis"))
    shown = panel.document.display_map()
    for name in ("intensity", "uncertainty", "monitor", "incident", "emission", "incident_axis", "emission_axis", "mask"):
        assert np.array_equal(getattr(shown, name), getattr(fresh, name), equal_nan=True), name
    image = panel.map_plot.image.get_array()
    expected = masked_intensity(fresh).T
    norm = panel.map_plot.image.norm
    assert (norm.vmin, norm.vmax) == colour_limits(masked_intensity(fresh), panel.style), \
        "the finished scan has its exact colour limits, as opened afresh"
    assert panel.map_plot.colorbar.norm is norm
    assert np.array_equal(np.ma.getmaskarray(image), np.ma.getmaskarray(expected))
    assert np.array_equal(image.filled(np.nan), expected.filled(np.nan), equal_nan=True)
    profile = panel.profile_axes["incident"]
    fitted = profile_limits([result for _, result in panel.cut_results()])
    pixel = [abs(b - a) / size for (a, b), size in zip(fitted, (profile.bbox.width, profile.bbox.height))]
    assert [*profile.get_xlim(), *profile.get_ylim()] == pytest.approx(
        [*fitted[0], *fitted[1]], abs=0.25 * max(pixel)), "the finished scan's profile is fitted to it"
    (x0, x1), (y0, y1) = view_limits(fresh, "incident")
    assert [*panel.map_ax.get_xlim(), *panel.map_ax.get_ylim()] == pytest.approx([x0, x1, y0, y1], abs=1e-2)


def test_a_zoom_is_kept_without_a_full_draw(following, qtbot, monkeypatch):
    window, growing = following(flat=True)
    panel = window.rxes_panel
    (x0, x1), (y0, y1) = panel.map_ax.get_xlim(), panel.map_ax.get_ylim()
    zoom = ((x0 + (x1 - x0) * 0.2, x0 + (x1 - x0) * 0.6), (y0 + (y1 - y0) * 0.3, y0 + (y1 - y0) * 0.7))
    panel.map_ax.set_xlim(*zoom[0])
    panel.map_ax.set_ylim(*zoom[1])
    _settle(qtbot, window)
    counts = _Counts(monkeypatch)
    for _ in range(3):
        _tick(qtbot, window, growing)
    assert counts.figure == 0
    assert (panel.map_ax.get_xlim(), panel.map_ax.get_ylim()) == zoom
