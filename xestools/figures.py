"""Map and profile figures, shared by the GUI canvas and ``xestools plot`` (no Qt here).

One implementation draws an RXES map in either view:

* incident view: Ω horizontal, ω vertical;
* transfer view: Ω horizontal, energy transfer Ω − ω vertical, on true coordinates. On a regular
  grid the transfer view is an exact affine shear of the incident image, (Ω, ω) → (Ω, Ω − ω), so it
  is drawn with ``imshow`` under an ``Affine2D`` shear (image cost); an irregular grid falls back to
  a ``pcolormesh`` quad mesh whose corners are the pixel edges mapped the same way.

Artists are created once (:class:`MapPlot`; the cut overlays, profiles and the XES overlay in
:mod:`xestools.drawing`) and updated afterwards, so the GUI can switch view, scale, limits or data
without clearing the figure. The headless figures (``build_map_figure``, ``build_spectrum_figure``)
use the same classes, so ``xestools plot`` draws what the screen shows.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter
from matplotlib.transforms import Affine2D, Bbox

from xestools.drawing import (CUT_COLORS, PALETTE, XES_FIGSIZE, CutOverlay, OverlayEntry, ProfileArtists, XesOverlay,
                              cut_legend_label, fit_profile_axes, profile_legend, profile_xlabel)
from xestools.model import EMISSION_LABEL, INCIDENT_LABEL, TRANSFER_LABEL, RXESMap, Spectrum
from xestools.plot_settings import COLORMAPS, SCALES, MapStyle, XesPlotSettings, enum_value  # noqa: F401 (re-exported)

log = logging.getLogger("xestools.figures")

#: Above this many cells the irregular-grid quad mesh is refused in favour of the nearest regular image.
MAX_MESH_CELLS = 1_000_000


def _grid():
    from xestools.analysis import grid  # owned by the io engineer; imported when first drawing

    return grid


def map_is_regular(rxes_map: RXESMap) -> bool:
    """True when both grid axes are evenly spaced (then both views are exact images)."""
    grid = _grid()
    return bool(grid.is_regular(rxes_map.incident_axis) and grid.is_regular(rxes_map.emission_axis))


def transfer_shear() -> Affine2D:
    """The exact map from incident-view to transfer-view coordinates: (Ω, ω) → (Ω, Ω − ω)."""
    return Affine2D(np.array([[1.0, 0.0, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]))


def view_limits(rxes_map: RXESMap, view: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits enclosing the whole map (pixel edges included) in ``view``."""
    grid = _grid()
    x_lo, x_hi = grid.image_extent(rxes_map.incident_axis)
    y_lo, y_hi = grid.image_extent(rxes_map.emission_axis)
    if enum_value(view) == "transfer":
        return (x_lo, x_hi), (x_lo - y_hi, x_hi - y_lo)
    return (x_lo, x_hi), (y_lo, y_hi)


def masked_intensity(rxes_map: RXESMap) -> np.ma.MaskedArray:
    """Intensity with unmeasured (mask False) and non-finite points masked, so they draw blank."""
    intensity = np.asarray(rxes_map.intensity, dtype=float)
    hidden = ~np.asarray(rxes_map.mask, dtype=bool) | ~np.isfinite(intensity)
    return np.ma.MaskedArray(intensity, mask=hidden)


def colour_limits(data: np.ma.MaskedArray, style: MapStyle) -> tuple[float, float]:
    """Colour limits: data min/max, percentiles of the finite values, or typed (missing ends from data).

    For a log scale the lower limit is the smallest positive value in range, since log(x ≤ 0) is undefined.
    """
    values = np.asarray(data.compressed(), dtype=float)
    values = values[np.isfinite(values)]
    if style.scale == "log":
        values = values[values > 0]
    if values.size == 0:
        return (1e-3, 1.0) if style.scale == "log" else (0.0, 1.0)
    if style.limits == "percentile":
        lo, hi = np.percentile(values, style.percentiles)
    else:
        lo, hi = float(values.min()), float(values.max())
    if style.limits == "manual":
        lo = style.vmin if style.vmin is not None else lo
        hi = style.vmax if style.vmax is not None else hi
    if style.scale == "log" and lo <= 0:
        lo = float(values.min())
    if style.scale == "sqrt" and lo < 0:
        lo = 0.0
    if not hi > lo:
        hi = lo + (abs(lo) * 1e-6 or 1e-12)
    return float(lo), float(hi)


#: mantissas of the round colour limits a scan still being measured is shown with (steps of at most a third)
_ROUND_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def _round_candidates(value: float) -> list[float]:
    """The round numbers of ``value``'s decade (divided by 10ⁿ rather than times 10⁻ⁿ: 3/10 is 0.3 exactly)."""
    power = int(np.floor(np.log10(value)))
    return [m * 10.0 ** power if power >= 0 else m / 10.0 ** -power for m in _ROUND_MANTISSAS]


def _round_above(value: float) -> float:
    """The smallest round number (a mantissa of :data:`_ROUND_MANTISSAS` × 10ⁿ) ≥ ``value`` > 0."""
    return next(c for c in _round_candidates(value) if c >= value)


def _round_below(value: float) -> float:
    """The largest round number ≤ ``value`` > 0."""
    return next(c for c in reversed(_round_candidates(value)) if c <= value)


def growing_colour_limits(lo: float, hi: float, style: MapStyle) -> tuple[float, float]:
    """Colour limits of a scan still being measured: ``lo``/``hi`` widened to round numbers, so that
    most new points change neither the colours already drawn nor the colour bar (its ticks are text,
    the dearest part of a live tick); the finished scan gets its exact limits back. Typed limits stay."""
    if style.limits == "manual" or not (np.isfinite(lo) and np.isfinite(hi)):
        return lo, hi
    if style.scale == "log":
        return float(_round_below(lo)), float(_round_above(hi))
    top = _round_above(hi) if hi > 0 else (-_round_below(-hi) if hi < 0 else 0.0)
    step = _round_above((top - lo) / 50.0)
    return float(np.floor(lo / step) * step), float(top)


def _same_norm(old: mcolors.Normalize, new: mcolors.Normalize) -> bool:
    """The same kind of normalisation over the same range (keeping ``old`` changes nothing drawn)."""
    return (type(old) is type(new) and (old.vmin, old.vmax, old.clip) == (new.vmin, new.vmax, new.clip)
            and getattr(old, "gamma", None) == getattr(new, "gamma", None))


def make_norm(style: MapStyle, lo: float, hi: float) -> mcolors.Normalize:
    """Linear, logarithmic or square-root colour normalisation between ``lo`` and ``hi``."""
    if style.scale == "log":
        return mcolors.LogNorm(vmin=lo, vmax=hi, clip=True)
    if style.scale == "sqrt":
        return mcolors.PowerNorm(gamma=0.5, vmin=lo, vmax=hi, clip=True)
    return mcolors.Normalize(vmin=lo, vmax=hi)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class IntensityFormatter(Formatter):
    """One number format for a map's intensities, shared by the colour bar and the contour labels.

    On a linear or square-root scale every value is written with the colour range's common power of
    ten (shown once, as the colour bar's offset "×10⁻³") and as many decimals as the range needs, so
    a contour label reads like the colour-bar tick next to it. On a log scale each value carries its
    own power of ten ("2.5×10⁻³"), as the bar's decades ("10⁻³") do.
    """

    def __init__(self) -> None:
        super().__init__()
        self.exponent, self.decimals, self.log = 0, 2, False

    def set_range(self, lo: float, hi: float, *, log: bool = False) -> None:
        self.log = log
        largest = max(abs(lo), abs(hi))
        self.exponent = int(np.floor(np.log10(largest))) if largest > 0 and not (1e-2 <= largest < 1e4) else 0
        span = abs(hi - lo) / 10.0 ** self.exponent
        self.decimals = int(min(max(0, 1 - np.floor(np.log10(span))), 6)) if span > 0 else 2

    def plain(self, value: float) -> str:
        """``value`` without the shared power of ten (the label of a contour)."""
        if self.log:
            if value <= 0:
                return f"{value:.2g}"
            power = int(np.floor(np.log10(value)))
            mantissa = value / 10.0 ** power
            return f"{mantissa:.2g}×10{str(power).translate(_SUPERSCRIPT)}" if power not in (0, 1, 2, 3) else f"{value:.3g}"
        return f"{value / 10.0 ** self.exponent:.{self.decimals}f}"

    def __call__(self, value: float, pos=None) -> str:
        return self.plain(value)

    def get_offset(self) -> str:
        return "" if self.log or self.exponent == 0 else f"×10{str(self.exponent).translate(_SUPERSCRIPT)}"


def colorbar_label(rxes_map: RXESMap, style: MapStyle) -> str:
    """Colour-bar label naming the intensity, its scale and any normalisation of the map."""
    source = rxes_map.metadata.get("intensity_source", "FFI1")
    label = f"Intensity ({source})"
    normalisation = rxes_map.metadata.get("normalisation")
    if isinstance(normalisation, dict) and normalisation:
        window = normalisation.get("window")
        reference = normalisation.get("reference") or "reference"
        if window is not None and len(window) == 2:
            label += f" / area of {reference} ({float(window[0]):.1f}–{float(window[1]):.1f} eV)"
        else:
            label += f" / area of {reference}"
    if style.scale != "linear":
        label += f"  [{style.scale} scale]"
    return label


def view_ylabel(view: str) -> str:
    return TRANSFER_LABEL if enum_value(view) == "transfer" else EMISSION_LABEL


# ---------------------------------------------------------------------- cut geometry helpers
def cut_position_at(kind, view: str, x: float, y: float) -> float:
    """The cut position that passes through the view point (x, y): Ω for CIE, ω for CEE, Ω − ω for CET."""
    from xestools.analysis.cuts import CutType

    return float(CutType(enum_value(kind)).definition.coordinate_in_view(float(x), float(y), enum_value(view)))


# ---------------------------------------------------------------------- the map
class MapPlot:
    """An RXES map on an Axes with a colour bar; artists made once, updated on every change."""

    def __init__(self, ax: Axes, cax: Axes | None = None) -> None:
        self.ax = ax
        self.cax = cax
        self.rxes_map: RXESMap | None = None
        self.style = MapStyle()
        self.image = None          # AxesImage (regular grid) or QuadMesh (irregular)
        self.colorbar = None
        self.contours = None
        self.contour_texts: list = []
        #: artists the contour labels keep off (the cut overlays, set by the screen's map view)
        self.label_obstacles: list = []
        #: the colour bar's tick format, which the contour labels share
        self.formatter = IntensityFormatter()
        self._regular = True
        self._data: np.ma.MaskedArray | None = None
        self._mesh_view: str | None = None

    # -- data
    def set_map(self, rxes_map: RXESMap, style: MapStyle | None = None) -> None:
        """Show ``rxes_map`` (same or new grid) with ``style``; reuses the image artist when it can."""
        self.rxes_map = rxes_map
        if style is not None:
            self.style = style
        self._data = masked_intensity(rxes_map)
        regular = map_is_regular(rxes_map) or rxes_map.intensity.size > MAX_MESH_CELLS
        if self.image is not None and regular != self._regular:
            self.image.remove()
            self.image = None
        self._regular = regular
        norm = make_norm(self.style, *self._colour_limits(self.style))
        if regular:
            self._show_image(norm)
        else:
            self._show_mesh(norm, force=True)
        self._apply_view()
        self._update_colorbar()
        self._update_contours()

    def replace_data(self, rxes_map: RXESMap) -> bool | None:
        """New values of the shown map on the same regular grid (a followed scan grew), without
        touching the axes limits, labels or title; the colour bar follows a new normalisation.

        Returns whether the normalisation changed, or None (nothing done) when the map is not
        shown as an image of the same shape: then :meth:`set_map` shows it.
        """
        old = self.rxes_map
        if (self.image is None or old is None or not self._regular
                or np.shape(rxes_map.intensity) != np.shape(old.intensity) or not map_is_regular(rxes_map)):
            return None
        before = self.image.norm
        self.rxes_map = rxes_map
        self._data = masked_intensity(rxes_map)
        self._show_image(make_norm(self.style, *self._colour_limits(self.style)))
        changed = self.image.norm is not before
        if changed:
            self._update_colorbar()
        if self.contours is not None or self.style.contour_levels > 0:
            self._update_contours()
        return changed

    def _colour_limits(self, style: MapStyle) -> tuple[float, float]:
        lo, hi = colour_limits(self._data, style)
        if self.rxes_map.metadata.get("in_progress"):
            return growing_colour_limits(lo, hi, style)
        return lo, hi

    def _show_image(self, norm) -> None:
        grid = _grid()
        extent = (*grid.image_extent(self.rxes_map.incident_axis), *grid.image_extent(self.rxes_map.emission_axis))
        image_data = self._data.T  # rows = ω, columns = Ω
        if self.image is None:
            self.image = self.ax.imshow(image_data, origin="lower", extent=extent, aspect="auto",
                                        cmap=self.style.cmap, norm=norm, interpolation="nearest",
                                        interpolation_stage="data", resample=False)
        else:       # each set_norm/set_cmap redraws the colour bar: only what changed (a live update: the data)
            self.image.set_data(image_data)
            if tuple(self.image.get_extent()) != tuple(extent):
                self.image.set_extent(extent)
            if not _same_norm(self.image.norm, norm):
                self.image.set_norm(norm)
            if self.image.get_cmap().name != self.style.cmap:
                self.image.set_cmap(self.style.cmap)

    def _show_mesh(self, norm, force: bool = False) -> None:
        from xestools.analysis import mesh_corners

        view = self.style.view
        if self.image is not None and not force and self._mesh_view == view:
            return
        if self.image is not None:
            self.image.remove()
        x, y = mesh_corners(self.rxes_map, view)
        self.image = self.ax.pcolormesh(x, y, self._data, cmap=self.style.cmap, norm=norm, shading="flat")
        self._mesh_view = view

    def _apply_view(self) -> None:
        view = self.style.view
        if self._regular:
            transform = (transfer_shear() + self.ax.transData) if view == "transfer" else self.ax.transData
            self.image.set_transform(transform)
        else:
            self._show_mesh(self.image.norm)
        (x0, x1), (y0, y1) = view_limits(self.rxes_map, view)
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self.ax.set_xlabel(INCIDENT_LABEL)
        self.ax.set_ylabel(view_ylabel(view))

    def _update_colorbar(self) -> None:
        if self.cax is None:
            return
        label = colorbar_label(self.rxes_map, self.style)
        norm = self.image.norm
        self.formatter.set_range(float(norm.vmin), float(norm.vmax), log=self.style.scale == "log")
        if self.colorbar is None:
            self.colorbar = self.ax.figure.colorbar(self.image, cax=self.cax)
        elif self.colorbar.mappable is not self.image or self.colorbar.norm is not norm:
            self.colorbar.update_normal(self.image)
        elif self.colour_bar_unchanged(label) and (self.style.scale == "log" or self.colorbar.formatter is self.formatter):
            return      # new data on the same scale (a followed scan): the bar as it is
        if self.style.scale != "log":    # a log bar keeps its decades ("10⁻³"), the labels' own notation
            self.colorbar.formatter = self.formatter
            self.colorbar.update_ticks()
        self.colorbar.set_label(label)

    def colour_bar_unchanged(self, label: str | None = None) -> bool:
        """The colour bar shows the image's current normalisation with ``label`` (default: the map's)."""
        if self.colorbar is None or self.image is None:
            return False
        label = colorbar_label(self.rxes_map, self.style) if label is None else label
        return (self.colorbar.mappable is self.image and self.colorbar.norm is self.image.norm
                and self.colorbar.ax.yaxis.label.get_text().replace("\n", " ") == label)

    def _update_contours(self) -> None:
        if self.contours is not None:
            self.contours.remove()
            self.contours = None
        self.contour_texts = []
        levels = int(self.style.contour_levels)
        if levels <= 0 or self.rxes_map is None:
            return
        centres_x = np.asarray(self.rxes_map.incident_axis, dtype=float)[:, None]
        centres_y = np.asarray(self.rxes_map.emission_axis, dtype=float)[None, :]
        x = np.broadcast_to(centres_x, self._data.shape)
        y = centres_x - centres_y if self.style.view == "transfer" else np.broadcast_to(centres_y, self._data.shape)
        lo, hi = self.image.norm.vmin, self.image.norm.vmax
        if self.style.scale == "log":
            level_values = np.geomspace(lo, hi, levels + 2)[1:-1]
        else:
            level_values = np.linspace(lo, hi, levels + 2)[1:-1]
        self.contours = self.ax.contour(x, y, self._data, levels=level_values, colors=self.style.contour_color,
                                        linewidths=0.7)
        if self.style.contour_labels:
            norm = self.image.norm
            self.formatter.set_range(float(norm.vmin), float(norm.vmax), log=self.style.scale == "log")
            formats = {level: self.formatter.plain(level) for level in self.contours.levels}
            if self.label_obstacles:    # on screen, with cuts: each label where no cut covers it
                positions = self._label_positions()
                self.contour_texts = list(self.ax.clabel(self.contours, inline=True, fontsize=7, fmt=formats,
                                                         manual=positions)) if positions else []
            else:
                self.contour_texts = list(self.ax.clabel(self.contours, inline=True, fontsize=7, fmt=formats))

    def set_label_obstacles(self, artists: Iterable) -> bool:
        """Place the contour labels off these artists (the cut lines and bands, anything with a
        path); returns True when labels were placed again (the caller redraws)."""
        self.label_obstacles = list(artists)
        if not self.contour_texts and not (self.style.contour_labels and self.style.contour_levels > 0):
            return False
        self._update_contours()
        return True

    def _label_positions(self) -> list[tuple[float, float]]:
        """One point per contour level, on its longest piece, whose label box touches no obstacle and
        no other label, nearest the middle of the piece (data coordinates)."""
        shapes = [(a.get_path().transformed(a.get_transform()), hasattr(a, "get_xy"))
                  for a in self.label_obstacles if hasattr(a, "get_path") and len(a.get_path().vertices)]
        font_px = 7.0 * self.ax.figure.dpi / 72.0
        inside, taken, chosen = self.ax.bbox, [], []
        for level, path in zip(self.contours.levels, self.contours.get_paths()):
            pieces = [p for p in path.to_polygons(closed_only=False) if len(p) >= 2]
            if not pieces:
                continue
            piece = max(pieces, key=len)
            points = self.ax.transData.transform(piece)
            half_w, half_h = 0.5 * len(self.formatter.plain(level)) * 0.62 * font_px + 3, 0.5 * font_px + 3
            middle = len(points) // 2
            for index in sorted(range(len(points)), key=lambda k: abs(k - middle)):
                x, y = points[index]
                box = Bbox.from_extents(x - half_w, y - half_h, x + half_w, y + half_h)
                if not (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1):
                    continue
                if any(path_.intersects_bbox(box, filled=filled) for path_, filled in shapes):
                    continue
                if any(box.overlaps(other) for other in taken):
                    continue
                taken.append(box)
                chosen.append(tuple(piece[index]))
                break
        return chosen

    # -- style
    def set_style(self, style: MapStyle) -> None:
        """Apply a new style, touching only what changed (a view switch is a transform change)."""
        old = self.style
        self.style = style
        if self.rxes_map is None:
            return
        if (style.scale, style.limits, style.percentiles, style.vmin, style.vmax) != (
                old.scale, old.limits, old.percentiles, old.vmin, old.vmax):
            self.image.set_norm(make_norm(style, *self._colour_limits(style)))
        if style.cmap != old.cmap:
            self.image.set_cmap(style.cmap)
        if style.view != old.view:
            self._apply_view()
        self._update_colorbar()
        if (style.view, style.contour_levels, style.contour_color, style.contour_labels, style.scale,
                style.limits, style.vmin, style.vmax, style.percentiles) != (
                old.view, old.contour_levels, old.contour_color, old.contour_labels, old.scale,
                old.limits, old.vmin, old.vmax, old.percentiles):
            self._update_contours()

    @property
    def colour_range(self) -> tuple[float, float]:
        norm = self.image.norm
        return float(norm.vmin), float(norm.vmax)

    def value_at(self, x: float, y: float) -> tuple[float, float, float, float] | None:
        """Cursor readout at view point (x, y): (Ω, ω, Ω − ω, intensity of the nearest grid point)."""
        if self.rxes_map is None or x is None or y is None:
            return None
        omega_in = float(x)
        emission = omega_in - float(y) if self.style.view == "transfer" else float(y)
        grid = _grid()
        (x0, x1), (e0, e1) = grid.image_extent(self.rxes_map.incident_axis), grid.image_extent(self.rxes_map.emission_axis)
        if not (x0 <= omega_in <= x1 and e0 <= emission <= e1):
            return None
        i = int(np.argmin(np.abs(self.rxes_map.incident_axis - omega_in)))
        j = int(np.argmin(np.abs(self.rxes_map.emission_axis - emission)))
        value = self._data[i, j]
        intensity = float("nan") if value is np.ma.masked else float(value)
        return omega_in, emission, omega_in - emission, intensity


# ---------------------------------------------------------------------- headless figures
@dataclass
class FigureParts:
    figure: Figure
    map_ax: Axes | None = None
    colorbar_ax: Axes | None = None
    profile_ax: Axes | None = None
    map_plot: MapPlot | None = None
    extra: dict = field(default_factory=dict)


def _parse_cut(cut):
    """A cut as a CutSpec: a CutSpec already, or a string ``TYPE:position:width[:mean]``."""
    from xestools.analysis import CutSpec, CutType

    if isinstance(cut, str):
        parts = cut.split(":")
        if len(parts) not in (3, 4):
            raise ValueError(f"cut {cut!r}: expected TYPE:position:width, e.g. CEE:8638.9:1.0")
        kind = CutType(parts[0].strip().upper())
        mean = len(parts) == 4 and parts[3].strip().lower() == "mean"
        return CutSpec(kind, float(parts[1]), float(parts[2]), mean)
    return cut


def build_map_figure(rxes_map: RXESMap, *, view: str = "incident", scale: str = "linear",
                     cuts: Sequence = (), cmap: str = "viridis", figsize=None,
                     style: MapStyle | None = None, cut_colors: Sequence[str] | None = None,
                     limits=None) -> FigureParts:
    """The map (with colour bar) and, when cuts are given, their overlays and profile panels below.

    Profiles against Ω (CEE, CET) and against ω or Ω − ω (CIE) get separate panels, since their
    abscissae are far apart. The cut overlays, profiles and legends are drawn by the classes the
    GUI canvases use; ``cut_colors`` and ``limits`` ((x0, x1), (y0, y1)) let the GUI export its state.
    """
    from xestools.analysis import View, cut as compute_cut

    specs = [_parse_cut(c) for c in cuts]
    colors = list(cut_colors) if cut_colors is not None else [CUT_COLORS[i % len(CUT_COLORS)] for i in range(len(specs))]
    style = style or MapStyle(view=enum_value(view), scale=scale, cmap=cmap)
    results = [compute_cut(rxes_map, spec, View(style.view)) for spec in specs]
    groups = [key for key in ("incident", "other")
              if any((r.axis == "incident") == (key == "incident") for r in results)]
    figure = Figure(figsize=figsize or ((7.0, 8.5) if specs else (7.0, 5.2)))
    map_ax, colorbar_ax, profile_axes = _map_figure_axes(figure, bool(specs), groups)
    plot = MapPlot(map_ax, colorbar_ax)
    plot.set_map(rxes_map, style)
    map_ax.set_title(scan_title(rxes_map), fontsize=10)
    xlim, ylim = limits if limits is not None else (map_ax.get_xlim(), map_ax.get_ylim())
    members: dict[str, list] = {key: [] for key in profile_axes}
    for spec, result, color in zip(specs, results, colors):
        CutOverlay(map_ax, color).update(rxes_map, spec, style.view, color)
        key = "incident" if result.axis == "incident" else "other"
        profile = ProfileArtists(profile_axes[key], color)
        profile.show(result, color)
        if result.empty:
            log.warning("cut %s is empty: %s", spec.label(), result.reason)
        members[key].append((spec, result, profile.line))
    map_ax.set_xlim(xlim)
    map_ax.set_ylim(ylim)
    for key, ax in profile_axes.items():
        entries = members[key]
        axis = entries[0][1].axis if entries else "incident"
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 4), useMathText=True)
        fit_profile_axes(ax, [r for _, r, _ in entries], [s.mean for s, _, _ in entries], profile_xlabel(axis))
        profile_legend(ax, [line for _, _, line in entries], [cut_legend_label(s, r) for s, r, _ in entries])
    first_profile = next(iter(profile_axes.values()), None)
    return FigureParts(figure, map_ax, colorbar_ax, first_profile, plot, extra={"profile_axes": profile_axes})


def _map_figure_axes(figure: Figure, with_profiles: bool, groups: list[str]):
    """Map, colour bar and (with cuts) one profile axes per group of abscissa, laid out on a grid."""
    if not with_profiles:
        grid_spec = figure.add_gridspec(1, 2, width_ratios=(30, 1), left=0.12, right=0.86, bottom=0.11,
                                        top=0.93, wspace=0.05)
        return figure.add_subplot(grid_spec[0, 0]), figure.add_subplot(grid_spec[0, 1]), {}
    grid_spec = figure.add_gridspec(2, 1, height_ratios=(3, 2), left=0.12, right=0.87, bottom=0.07, top=0.95,
                                    hspace=0.3)
    top = grid_spec[0].subgridspec(1, 2, width_ratios=(30, 1), wspace=0.05)
    bottom = grid_spec[1].subgridspec(1, max(len(groups), 1), wspace=0.42)
    profile_axes = {key: figure.add_subplot(bottom[0, index]) for index, key in enumerate(groups or ["incident"])}
    return figure.add_subplot(top[0, 0]), figure.add_subplot(top[0, 1]), profile_axes


def spectrum_names(spectra: Sequence[Spectrum]) -> list[str]:
    """Overlay names as the XES tab gives them: the file name, with the channel when a file has several."""
    names = []
    for index, spectrum in enumerate(spectra):
        name = os.path.basename(spectrum.source) or spectrum.label or f"spectrum {index + 1}"
        siblings = [s for s in spectra if s.source == spectrum.source]
        if len(siblings) > 1 and spectrum.channel is not None:
            name += f" ({spectrum.channel})"
        names.append(name)
    return names


def build_spectrum_figure(spectra: Iterable[Spectrum], *, figsize=XES_FIGSIZE, names: Sequence[str] | None = None,
                          colours: Sequence[str] | None = None, settings=None, limits=None) -> FigureParts:
    """1D spectra overlaid as in the XES tab (same colours, names, ±1σ bands, legend and labels).

    ``settings`` is an XesPlotSettings (default: as measured, no offset, bands on); ``limits``
    ((x0, x1), (y0, y1)) keeps a zoom.
    """
    spectra = list(spectra)
    names = list(names) if names is not None else spectrum_names(spectra)
    colours = list(colours) if colours is not None else [PALETTE[i % len(PALETTE)] for i in range(len(spectra))]
    figure = Figure(figsize=figsize)
    ax = figure.add_subplot(1, 1, 1)
    overlay = XesOverlay(ax)
    entries = [OverlayEntry(index, spectrum, colour, name)
               for index, (spectrum, colour, name) in enumerate(zip(spectra, colours, names))]
    overlay.update(entries, settings or XesPlotSettings())
    if limits is not None:
        ax.set_xlim(limits[0])
        ax.set_ylim(limits[1])
    return FigureParts(figure, profile_ax=ax, extra={"overlay": overlay})


def scan_title(scan) -> str:
    """Figure title naming the sample, scan number (or file), channel and any normalisation."""
    info = scan.info
    parts = []
    if info is not None and info.sample_name:
        parts.append(info.sample_name)
    if info is not None and info.scan_number is not None:
        parts.append(f"scan {info.scan_number}")
    elif scan.source:
        parts.append(os.path.basename(scan.source))
    elif scan.label:     # a result of many scans (an average, a difference) is named by its label
        parts = [scan.label]
    if scan.channel is not None:
        parts.append(f"{scan.channel} channel")
    return " — ".join(parts) or (scan.label or "")


def save_figure(figure: Figure, path: str | os.PathLike, *, dpi: float = 150.0) -> None:
    """Write ``figure`` atomically; the format follows the extension (the table's figure formats)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from xestools.io import formats
    from xestools.io.atomic import atomic_path

    found = formats.output_format(path, formats.FIGURE)
    if found is None:
        endings = ", ".join(fmt.extension for fmt in formats.output_formats(formats.FIGURE))
        raise ValueError(f"unsupported figure format {os.path.splitext(os.fspath(path))[1]!r}: use {endings}")
    if figure.canvas is None or not hasattr(figure.canvas, "print_figure") or type(figure.canvas).__name__ == "FigureCanvasBase":
        FigureCanvasAgg(figure)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format=found.name)


def _scan_parts(scan, *, view: str = "incident", scale: str = "linear", cuts: Sequence = (),
                cmap: str = "viridis", figsize=None) -> FigureParts:
    """The figure of a map (with cuts) or of spectra overlaid: the one drawing for files and notebooks."""
    if isinstance(scan, RXESMap):
        return build_map_figure(scan, view=view, scale=scale, cuts=cuts, cmap=cmap, figsize=figsize)
    spectra = [scan] if isinstance(scan, Spectrum) else list(scan) if isinstance(scan, (list, tuple)) else []
    if spectra and all(isinstance(s, Spectrum) for s in spectra):
        if cuts:
            raise ValueError("cuts need an RXES map; a spectrum has none")
        return build_spectrum_figure(spectra, figsize=figsize or XES_FIGSIZE)
    raise TypeError(f"can draw an RXESMap, a Spectrum or a list of spectra, not {type(scan).__name__}")


def plot(scan, *, view: str = "incident", scale: str = "linear", cuts: Sequence = (), cmap: str = "viridis",
         figsize=None) -> Figure:
    """A matplotlib Figure of ``scan`` as the viewer and ``xestools plot`` draw it (no pyplot).

    A map in the ``view`` "incident" (Ω–ω) or "transfer" (Ω–ET), with ``cuts`` (CutSpec objects or
    ``"TYPE:position:width"`` strings) drawn as bands and their profiles below; a Spectrum, or a list
    of spectra overlaid with ±1σ bands. In Jupyter the Figure shows itself; ``fig.savefig`` writes it.
    """
    return _scan_parts(scan, view=view, scale=scale, cuts=cuts, cmap=cmap, figsize=figsize).figure


def render_to_file(scan, path: str | os.PathLike, *, view: str = "incident", scale: str = "linear",
                   cuts: Sequence = (), cmap: str = "viridis", dpi: float = 150) -> None:
    """Render a map (with optional cuts and their profiles) or a spectrum to PNG/SVG/PDF.

    ``cuts`` holds CutSpec objects or strings ``TYPE:position:width`` such as ``"CEE:8638.9:1.0"``.
    The GUI draws with the same :class:`MapPlot`, so a headless figure looks like the screen.
    """
    parts = _scan_parts(scan, view=view, scale=scale, cuts=cuts, cmap=cmap)
    try:
        save_figure(parts.figure, path, dpi=dpi)
    finally:
        parts.figure.clear()
