"""Shared helpers for the GUI benchmarks (offscreen Qt, synthetic maps)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def synthetic_map(n_incident: int, n_emission: int, seed: int = 0):
    """A regular Ω×ω map with jittered read-backs, a Kα-like line and Poisson-like σ."""
    from xestools.model import Channel, RXESMap

    rng = np.random.default_rng(seed)
    incident_axis = np.linspace(9650.0, 9670.0, n_incident)
    emission_axis = np.linspace(8620.0, 8660.0, n_emission)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    incident = incident + rng.normal(0.0, 0.002, incident.shape)
    emission = emission + rng.normal(0.0, 0.002, emission.shape)
    intensity = np.exp(-((emission - 8638.9) / 1.5) ** 2) * (1.0 + np.tanh(incident - 9659.0)) + 0.01
    return RXESMap(incident, emission, incident_axis, emission_axis, intensity,
                   uncertainty=np.sqrt(intensity) * 0.05, channel=Channel.UPPER, source=f"synthetic_{n_incident}x{n_emission}")


def app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def map_panel(shape: tuple[int, int], view: str | None = None):
    """An RxesPanel shown offscreen (1200 × 900) with a synthetic map of ``shape``; returns (app, panel)."""
    from xestools.workspace.datasets import Dataset
    from xestools.gui.rxes.rxes_panel import RxesPanel

    application = app()
    panel = RxesPanel()
    panel.resize(1200, 900)
    panel.show()
    rxes_map = synthetic_map(*shape)
    panel.add_dataset(Dataset(rxes_map.source, [rxes_map]))
    if view is not None:
        panel.set_view(view)
    return application, panel


def shown_canvas(size: tuple[int, int]):
    """A plain matplotlib Qt canvas of ``size`` pixels at 100 dpi, shown (the bare references' canvas)."""
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure

    width, height = size
    canvas = FigureCanvasQTAgg(Figure(figsize=(width / 100.0, height / 100.0), dpi=100.0))
    canvas.resize(int(width), int(height))
    canvas.show()
    return canvas


class BareBlit:
    """The same-run reference: plain matplotlib (no xestools canvas) drawing the same picture.

    Two ``FigureCanvasQTAgg`` of the given pixel sizes: one with the map (``imshow``) and an animated
    cut line (white halo) and band, one with an animated profile line and its σ band. ``update`` is
    what a minimal blitting program does per step: ``set_data``/``set_xy``/``set_verts``, restore
    the saved background, ``draw_artist`` the moved artists, ``blit`` the axes.
    """

    def __init__(self, intensity, map_px: tuple[int, int], profile_px: tuple[int, int]) -> None:
        from matplotlib.collections import PolyCollection
        from matplotlib.patches import Polygon

        from xestools.drawing import CUT_LINE_HALO, band_style

        self.canvases = [shown_canvas(size) for size in (map_px, profile_px)]
        self.map_ax = self.canvases[0].figure.add_axes((0.11, 0.12, 0.72, 0.8))
        rows, columns = intensity.shape
        self.map_ax.imshow(intensity.T, origin="lower", extent=(0, rows, 0, columns), aspect="auto",
                           interpolation="nearest", interpolation_stage="data", resample=False)
        (self.line,) = self.map_ax.plot([], [], color="C0", lw=1.5, path_effects=[CUT_LINE_HALO], animated=True)
        self.band = Polygon(np.zeros((0, 2)), closed=True, animated=True, **band_style("C0"))
        self.map_ax.add_patch(self.band)
        self.profile_ax = self.canvases[1].figure.add_axes((0.1, 0.2, 0.85, 0.7))
        (self.profile,) = self.profile_ax.plot([], [], color="C0", lw=1.3, animated=True)
        self.sigma = PolyCollection([], facecolors="C0", alpha=0.22, linewidths=0, animated=True)
        self.profile_ax.add_collection(self.sigma, autolim=False)
        self.profile_ax.set_xlim(0, rows)
        self.profile_ax.set_ylim(float(np.nanmin(intensity)), float(np.nanmax(intensity.sum(axis=1))) + 1.0)
        self.intensity = intensity
        self.backgrounds = []
        for canvas in self.canvases:
            canvas.draw()
            self.backgrounds.append(canvas.copy_from_bbox(canvas.figure.bbox))

    def update(self, column: int, profile=None) -> None:
        """The cut at ``column`` (a CEE-like horizontal band): line, band, profile, two blits."""
        rows, columns = self.intensity.shape
        self.line.set_data([0, rows], [column, column])
        self.band.set_xy([(0, column - 2), (rows, column - 2), (rows, column + 2), (0, column + 2)])
        y = self.intensity[:, column] if profile is None else profile
        x = np.arange(y.size, dtype=float)
        self.profile.set_data(x, y)
        self.sigma.set_verts([np.column_stack([np.concatenate([x, x[::-1]]),
                                               np.concatenate([y - 0.05, (y + 0.05)[::-1]])])])
        for canvas, background, ax, artists in ((self.canvases[0], self.backgrounds[0], self.map_ax,
                                                 (self.band, self.line)),
                                                (self.canvases[1], self.backgrounds[1], self.profile_ax,
                                                 (self.sigma, self.profile))):
            canvas.restore_region(background)
            for artist in artists:
                ax.draw_artist(artist)
            canvas.blit(ax.bbox)

    def close(self) -> None:
        for canvas in self.canvases:
            canvas.close()
            canvas.figure.clear()
            canvas.deleteLater()


class BareLiveUpdate:
    """The bare blitted live update: plain matplotlib canvases with the same map (first ``fraction`` of
    the points measured, the rest NaN) and a cut profile; each ``update()`` does ``set_data`` on the
    image and the profile, restores the saved backgrounds, ``draw_artist`` both, ``blit`` both, and
    returns the seconds it took (a few more points each time)."""

    def __init__(self, intensity, map_px: tuple[int, int], profile_px: tuple[int, int], fraction: float):
        self.application = app()
        self.intensity = np.asarray(intensity, float)
        rows, columns = self.intensity.shape
        self.canvases = [shown_canvas(size) for size in (map_px, profile_px)]
        self.map_ax = self.canvases[0].figure.add_axes((0.11, 0.12, 0.72, 0.8))
        self.image = self.map_ax.imshow(np.full((columns, rows), np.nan), origin="lower", extent=(0, rows, 0, columns),
                                        aspect="auto", interpolation="nearest", interpolation_stage="data",
                                        resample=False, vmin=float(np.nanmin(self.intensity)),
                                        vmax=float(np.nanmax(self.intensity)), animated=True)
        self.profile_ax = self.canvases[1].figure.add_axes((0.1, 0.2, 0.85, 0.7))
        (self.profile,) = self.profile_ax.plot([], [], lw=1.3, animated=True)
        self.profile_ax.set_xlim(0, rows)
        self.profile_ax.set_ylim(0, float(np.nanmax(self.intensity)) * 5 + 1.0)
        self.backgrounds = []
        for canvas in self.canvases:
            canvas.draw()
            self.backgrounds.append(canvas.copy_from_bbox(canvas.figure.bbox))
        self.application.processEvents()
        self.measured = int(rows * columns * fraction)
        self.repeat = 0

    def update(self) -> float:
        import time

        rows, columns = self.intensity.shape
        shown = self.intensity.ravel().copy()
        shown[max(self.measured - self.repeat % max(self.measured, 1), 1):] = np.nan     # a few more points each time
        shown = shown.reshape(rows, columns)
        self.repeat += 1
        began = time.perf_counter()
        self.image.set_data(shown.T)
        self.profile.set_data(np.arange(rows), np.nansum(shown[:, columns // 2 - 2:columns // 2 + 3], axis=1))
        for canvas, background, ax, artist in ((self.canvases[0], self.backgrounds[0], self.map_ax, self.image),
                                               (self.canvases[1], self.backgrounds[1], self.profile_ax, self.profile)):
            canvas.restore_region(background)
            ax.draw_artist(artist)
            canvas.blit(ax.bbox)
        self.application.processEvents()
        return time.perf_counter() - began

    def close(self) -> None:
        for canvas in self.canvases:
            canvas.close()
            canvas.deleteLater()
        self.application.processEvents()
