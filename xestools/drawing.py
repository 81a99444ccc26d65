"""Qt-free drawing shared by the GUI canvases and ``xestools plot``: the XES overlay, ±σ bands,
legend placement, intensity labels, and cut overlays and profiles of a map.

Artists are made once and updated afterwards (the GUI redraws on every change); a headless figure
uses the same classes, so an exported figure looks like the screen.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.layout_engine import LayoutEngine
from matplotlib.patches import PathPatch, Polygon
from matplotlib.path import Path
from matplotlib.transforms import Bbox

#: Distinct colours for up to 10 cuts (then they repeat).
CUT_COLORS = ("#e41a1c", "#377eb8", "#ff7f00", "#4daf4a", "#984ea3", "#a65628", "#f781bf",
              "#17becf", "#bcbd22", "#666666")
#: Line colours given to new XES items in turn (matplotlib's tab10, readable on white).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
#: A thin white stroke under cut lines keeps them visible on any colour map.
CUT_LINE_HALO = patheffects.withStroke(linewidth=2.8, foreground="white", alpha=0.55)
#: with more visible items than this (the palette size: colours repeat) a legend cannot tell
#: them apart; a note points to the scan list instead (and the redraw stays fast)
LEGEND_MAX = 10
#: up to this many visible items the legend sits inside the axes; beyond, right of them
LEGEND_INSIDE = 6
#: legend labels longer than this are shortened in the middle (the list and tooltips keep the full name)
LEGEND_LABEL_CHARS = 64
#: … and right of the axes, where the legend has about a quarter of the figure's width
LEGEND_OUTSIDE_CHARS = 34
#: right edge of the axes (figure fraction) without / with the legend outside
PLOT_RIGHT, PLOT_RIGHT_WITH_LEGEND = 0.97, 0.72
#: top edge of the axes without / with the note that replaces a crowded legend
PLOT_TOP, PLOT_TOP_WITH_NOTE = 0.96, 0.93
#: the XES overlay's figure size (inches) and margins, on screen and in ``xestools plot``
XES_FIGSIZE = (7.0, 4.5)
XES_MARGINS = {"left": 0.12, "right": PLOT_RIGHT, "top": PLOT_TOP, "bottom": 0.12}


class MarginsToFit(LayoutEngine):
    """A layout engine that, at every draw, moves each subplot's edges in just enough (from the
    margins its gridspec gives) that its tick labels, axis labels, title and legend stay inside the
    figure: long tick labels (raw intensities like 0.00250) never push the y label off the canvas.
    ``subplots_adjust`` still sets the starting margins (a legend right of the axes, say)."""

    _adjust_compatible = True
    _colorbar_gridspec = False

    def __init__(self, pad_px: float = 3.0) -> None:
        super().__init__()
        self.pad_px = pad_px

    def execute(self, fig) -> None:
        renderer = fig._get_renderer()
        box = fig.bbox
        for ax in fig.axes:
            spec = ax.get_subplotspec()
            if spec is None or not ax.get_visible():
                continue
            base = spec.get_position(fig)
            ax.set_position(base)
            fit_axis_label(ax, renderer, box)      # one or two lines: decides the left margin
            tight = ax.get_tightbbox(renderer)
            if tight is None or box.width <= 0 or box.height <= 0:
                continue
            left = max(0.0, box.x0 + self.pad_px - tight.x0) / box.width
            bottom = max(0.0, box.y0 + self.pad_px - tight.y0) / box.height
            right = max(0.0, tight.x1 - box.x1 + self.pad_px) / box.width
            top = max(0.0, tight.y1 - box.y1 + self.pad_px) / box.height
            width, height = base.width - left - right, base.height - bottom - top
            if width > 0.05 and height > 0.05:
                ax.set_position(Bbox.from_bounds(base.x0 + left, base.y0 + bottom, width, height))
            shrink_to_fit(ax.yaxis.label, renderer, box)




def shrink_to_fit(label, renderer, box, *, along: str = "y", smallest: float = 6.0) -> None:
    """Make an axis label smaller, a point at a time down to ``smallest``, until it lies inside
    ``box`` (display pixels, e.g. the figure's bbox) ``along`` its axis: an x label's width, a y label's
    height (the other coordinate follows the tick labels and is only known at the next draw)."""
    along_x = along == "x"
    while label.get_text() and label.get_fontsize() > smallest:
        extent = label.get_window_extent(renderer)
        low, high = (extent.x0, extent.x1) if along_x else (extent.y0, extent.y1)
        if low >= (box.x0 if along_x else box.y0) and high <= (box.x1 if along_x else box.y1):
            return
        label.set_fontsize(label.get_fontsize() - 1)


def fit_axis_label(ax: Axes, renderer, box, *, readable: float = 8.0) -> None:
    """The y label of ``ax`` inside ``box`` and shorter than the axes: one line at its own
    size if it fits, else two lines (split at the comma, "÷" or parenthesis nearest its middle)
    before any font below ``readable`` points."""
    label = ax.yaxis.label
    text = label.get_text().replace("\n", " ")
    label.set_text(text)
    shrink_to_fit(label, renderer, box, smallest=readable)
    extent = label.get_window_extent(renderer)
    if extent.y0 >= box.y0 and extent.y1 <= box.y1 and extent.height <= 0.9 * ax.bbox.height:
        return
    cuts = [i for i in range(1, len(text)) if text[i - 1:i + 1] in (", ", " ÷", " (")]
    if cuts:
        middle = min(cuts, key=lambda i: abs(i - len(text) / 2))
        label.set_text(text[:middle].rstrip() + "\n" + text[middle:].strip())
    shrink_to_fit(label, renderer, box)


def band_style(color: str) -> dict:
    """Cut band look: translucent fill, dashed opaque edges (visible where the fill blends in)."""
    return {"facecolor": mcolors.to_rgba(color, 0.22), "edgecolor": mcolors.to_rgba(color, 0.95),
            "linewidth": 0.9, "linestyle": (0, (4, 3))}


# ---------------------------------------------------------------------- bands, legends, labels
def band_polygons(x, y, sigma) -> list[np.ndarray]:
    """Closed y ± σ polygons, one per run of at least two finite points (NaN gaps stay gaps)."""
    x, y, sigma = (np.asarray(values, dtype=float) for values in (x, y, sigma))
    finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(sigma)
    polygons = []
    if finite.any():
        edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            if stop - start < 2:
                continue
            xs, lower, upper = x[start:stop], y[start:stop] - sigma[start:stop], y[start:stop] + sigma[start:stop]
            polygons.append(np.column_stack([np.concatenate([xs, xs[::-1]]), np.concatenate([lower, upper[::-1]])]))
    return polygons


_LEGEND_BOXES = ("upper right", "upper left", "upper center", "lower right", "lower left", "lower center",
                 "center right", "center left")
_CORNERS = ("upper right", "upper left", "lower right", "lower left")


def _box_origin(name: str, width: float, height: float) -> tuple[float, float]:
    x = {"right": 1 - width, "left": 0.0, "center": 0.5 - width / 2}[name.split()[1]]
    y = {"upper": 1 - height, "lower": 0.0, "center": 0.5 - height / 2}[name.split()[0]]
    return x, y


def legend_location(ax: Axes, lines: Sequence, labels: Sequence[str], *, fontsize_pt: float = 8.33,
                    box: tuple[float, float] | None = None, places: Sequence[str] = _LEGEND_BOXES,
                    avoid_crossings: bool = True) -> str | None:
    """The legend position whose box covers the fewest data points (a cheap ``loc="best"``).

    Matplotlib's "best" tests every candidate against every vertex at each draw (tens of ms on
    long spectra); counting points per place once is enough. ``box`` is the legend's size in axes
    fractions (default: estimated from the labels and the axes' size in pixels). With
    ``avoid_crossings`` a line crossing the box counts as hiding data (a steep peak may pass through
    a box with none of its points inside) and None is returned when every place hides data.
    Ties keep the order of ``places``.
    """
    from matplotlib.path import Path
    from matplotlib.transforms import Bbox

    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    if not lines or x1 == x0 or y1 == y0:
        return places[0]
    if box is None:
        font_px = fontsize_pt * ax.figure.dpi / 72.0
        longest = max((len(label) for label in labels), default=10)
        # pads + handle ≈ 4.6 font sizes, a character ≈ 0.6; 3 % of the axes to spare
        box = (min(1.0, (4.6 + 0.6 * longest) * font_px / max(ax.bbox.width, 1.0) + 0.03),
               min(1.0, (1.5 + 1.5 * len(labels)) * font_px / max(ax.bbox.height, 1.0) + 0.03))
    width, height = box
    paths = []
    for line in lines:
        x, y = (np.asarray(values, dtype=float) for values in line.get_data())
        uv = np.column_stack([(x - x0) / (x1 - x0), (y - y0) / (y1 - y0)])
        paths.append(uv[np.isfinite(uv).all(axis=1)])
    scores = {}
    for name in places:
        bx, by = _box_origin(name, width, height)
        score = 0
        for uv in paths:
            inside = np.count_nonzero((uv[:, 0] >= bx) & (uv[:, 0] <= bx + width)
                                      & (uv[:, 1] >= by) & (uv[:, 1] <= by + height))
            crossed = avoid_crossings and len(uv) >= 2 and (
                inside > 0 or Path(uv).intersects_bbox(Bbox.from_bounds(bx, by, width, height), filled=False))
            score += inside + (1000 if crossed else 0)
        scores[name] = score
    best = min(places, key=lambda name: scores[name])
    return best if not avoid_crossings or scores[best] < 1000 else None


def legend_text(label: str, limit: int = LEGEND_LABEL_CHARS) -> str:
    """``label`` shortened in the middle to ``limit`` characters (start and end tell items apart)."""
    if len(label) <= limit:
        return label
    keep = limit - 1
    return label[: keep - keep // 2] + "…" + label[len(label) - keep // 2:]


def intensity_label(spectra: Sequence, *, scale: str = "data") -> str:
    """Names what is plotted: raw FFI1, area-normalised (by whose area, over which window when all
    items share one normalisation), a mixture, or each item scaled to its own maximum."""
    if scale == "max":
        return "Intensity ÷ its maximum (each item)"
    records = [spectrum.metadata.get("normalisation") for spectrum in spectra]
    normalised = [record for record in records if isinstance(record, dict)]
    if spectra and len(normalised) == len(spectra):
        shared = {(_reference_name(record), tuple(np.round(record.get("window") or (), 2))) for record in normalised}
        if len(shared) == 1:
            (reference, window), = shared
            if reference and len(window) == 2:
                whose = "own area" if reference == "own" else f"area of {reference}"
                return f"Intensity ÷ {whose}, {window[0]:.0f}–{window[1]:.0f} eV (eV⁻¹)"
        return "Area-normalised intensity (eV⁻¹)"
    if normalised:
        return "Intensity (mixed: ROI counts / I1 and area-normalised)"
    return "Intensity (ROI counts / I1)"


#: shown above the XES plot when raw and area-normalised items share its y axis
MIXED_WARNING = "⚠ Raw and area-normalised items share this y axis: their heights are not comparable"


def is_mixed(spectra: Sequence, scale: str = "data") -> bool:
    """Some, not all, of ``spectra`` are area-normalised, and they are drawn as they are (not each
    divided by its maximum): one y axis then holds two different quantities."""
    if scale == "max":
        return False
    normalised = [isinstance(spectrum.metadata.get("normalisation"), dict) for spectrum in spectra]
    return any(normalised) and not all(normalised)


def _reference_name(record: dict) -> str:
    """Short name of a normalisation reference: its file name, "own" for itself."""
    if record.get("reference") == "self":
        return "own"
    source = record.get("reference_source")
    return os.path.basename(source) if source else str(record.get("reference") or "")


# ---------------------------------------------------------------------- the XES overlay
@dataclass(frozen=True, eq=False)
class OverlayEntry:
    """One line of the XES overlay: its identity (``key``), data, colour, name and stale mark."""

    key: int
    spectrum: object
    colour: str
    name: str
    stale: bool = False


class _DrawKey:
    """What a line's or band's data were made from: the spectrum object itself (held, so its id
    cannot be reused by a new one), the offset and the y scale."""

    __slots__ = ("spectrum", "offset", "scale")

    def __init__(self, spectrum, offset: float, scale: str) -> None:
        self.spectrum, self.offset, self.scale = spectrum, offset, scale

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _DrawKey) and other.spectrum is self.spectrum
                and other.offset == self.offset and other.scale == self.scale)

    __hash__ = None


def display_data(spectrum, scale: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(energy, intensity, σ) as shown: divided by the largest |intensity| when ``scale`` is "max"
    (display only; the data are unchanged)."""
    energy = np.asarray(spectrum.energy, dtype=float)
    intensity = np.asarray(spectrum.intensity, dtype=float)
    sigma = None if spectrum.uncertainty is None else np.asarray(spectrum.uncertainty, dtype=float)
    if scale == "max":
        finite = np.abs(intensity[np.isfinite(intensity)])
        peak = float(finite.max()) if finite.size else 0.0
        if peak > 0:
            intensity = intensity / peak
            sigma = None if sigma is None else sigma / peak
    return energy, intensity, sigma


def offset_step(shown, fraction: float) -> float:
    """Offset between successive items: ``fraction`` of the largest intensity range shown, so the
    same setting suits counts per monitor and normalised data."""
    if fraction <= 0:
        return 0.0
    ranges = [float(np.nanmax(y) - np.nanmin(y)) for _, y, _ in shown if np.isfinite(y).any()]
    return fraction * max(ranges) if ranges else 0.0


def magnitude_ratio(shown) -> float:
    """Largest over smallest peak |intensity| of the shown items (1 with fewer than two)."""
    peaks = [float(np.nanmax(np.abs(y))) for _, y, _ in shown if np.isfinite(y).any()]
    peaks = [peak for peak in peaks if peak > 0]
    return max(peaks) / min(peaks) if len(peaks) >= 2 else 1.0


class XesOverlay:
    """Overlaid 1D spectra with ±σ bands (one collection), a legend placed where it hides no line,
    a y label naming what is plotted, and an optional highlighted energy window."""

    def __init__(self, ax: Axes, *, empty_text: str = "Open XES scans to overlay them") -> None:
        self.ax = ax
        self.figure = ax.figure
        self.figure.subplots_adjust(**XES_MARGINS)
        self.figure.set_layout_engine(MarginsToFit())
        ax.set_xlabel("ω (eV)")
        ax.set_ylabel(intensity_label([]))
        # every item's ±σ band in one collection: one artist to draw, not one per item
        self.bands = PolyCollection([], alpha=0.25, linewidths=0, zorder=2)
        ax.add_collection(self.bands, autolim=False)
        self.window_patch = ax.axvspan(0.0, 1.0, color="#ffbf00", alpha=0.18, lw=0, visible=False)
        # above the axes, right-aligned: replaces the legend when it cannot tell the items apart
        self.legend_note = ax.text(1.0, 1.012, "", ha="right", va="bottom", transform=ax.transAxes,
                                   fontsize="small", color="0.3", visible=False)
        self.empty_text = ax.text(0.5, 0.5, empty_text, ha="center", va="center", transform=ax.transAxes,
                                  color="0.45")
        # above the axes, left-aligned: raw and area-normalised items on one y axis are not comparable
        self.mixed_warning = ax.text(0.0, 1.012, MIXED_WARNING, ha="left", va="bottom", transform=ax.transAxes,
                                     fontsize="small", color="#b00020", fontweight="bold", visible=False, wrap=True)
        self.lines: dict[int, object] = {}
        self._line_keys: dict[int, _DrawKey] = {}
        self._band_cache: dict[int, tuple[_DrawKey, list]] = {}
        self._legend_key: tuple | None = None

    def update(self, entries: Sequence[OverlayEntry], settings) -> list:
        """Show ``entries`` with ``settings`` (an XesPlotSettings); touches a line's data only when
        its spectrum, scale or offset changed. Returns the shown (energy, y, σ) of each entry."""
        live = {entry.key for entry in entries}
        for key in list(self.lines):
            if key not in live:
                self.lines.pop(key).remove()
                self._line_keys.pop(key, None)
        scale = settings.y_scale
        shown = [display_data(entry.spectrum, scale) for entry in entries]
        step = offset_step(shown, settings.offset_fraction)
        polygons, colours = [], []
        for index, (entry, (energy, intensity, sigma)) in enumerate(zip(entries, shown)):
            offset = index * step
            line = self._line(entry, energy, intensity + offset, _DrawKey(entry.spectrum, offset, scale))
            line.set_color(entry.colour)
            line.set_label(entry.name + (" (stale)" if entry.stale else "") + (f"  +{offset:.3g}" if offset else ""))
            line.set_linestyle("--" if entry.stale else "-")
            line.set_zorder(3 + index)
            if settings.bands and sigma is not None:
                found = self._bands_of(entry.key, self._line_keys[entry.key], energy, intensity + offset, sigma)
                polygons.extend(found)
                colours.extend([entry.colour] * len(found))
        self.bands.set_verts(polygons)
        self.bands.set_facecolor(colours or "none")
        self._band_cache = {key: cached for key, cached in self._band_cache.items() if key in live}
        axis_labels = {entry.spectrum.axis_label for entry in entries}
        self.ax.set_xlabel(" / ".join(sorted(axis_labels)) if axis_labels else "ω (eV)")
        y_label = intensity_label([entry.spectrum for entry in entries], scale=scale)
        self.ax.set_ylabel(y_label, fontsize="medium" if len(y_label) <= 40 else "small")
        self.mixed_warning.set_visible(is_mixed([entry.spectrum for entry in entries], scale))
        self.empty_text.set_visible(not entries)
        self.ax.relim(visible_only=True)
        self.ax.autoscale_view()
        self._update_legend(entries)
        return shown

    def _line(self, entry: OverlayEntry, x, y, key: _DrawKey):
        line = self.lines.get(entry.key)
        if line is None:
            line, = self.ax.plot(x, y, lw=1.3)
            self.lines[entry.key] = line
        elif self._line_keys.get(entry.key) != key:
            line.set_data(x, y)
        self._line_keys[entry.key] = key
        return line

    def _bands_of(self, key: int, draw_key: _DrawKey, x, y, sigma) -> list[np.ndarray]:
        cached = self._band_cache.get(key)
        if cached is not None and cached[0] == draw_key:
            return cached[1]
        polygons = band_polygons(x, y, sigma)
        self._band_cache[key] = (draw_key, polygons)
        return polygons

    def _update_legend(self, entries: Sequence[OverlayEntry]) -> None:
        """Legend of the shown items, rebuilt only when its entries change.

        Up to LEGEND_INSIDE items it sits inside the axes where it hides no line; with more items,
        or when no such place exists, right of the axes; beyond LEGEND_MAX colours repeat, so a
        short note replaces it (the list shows each item's colour).
        """
        crowded = len(entries) > LEGEND_MAX
        handles = [] if crowded else [self.lines[entry.key] for entry in entries]
        labels = [legend_text(handle.get_label()) for handle in handles]
        outside = LEGEND_INSIDE < len(entries) <= LEGEND_MAX
        location = "crowded" if crowded else "outside" if outside else legend_location(self.ax, handles, labels)
        if location is None:  # every place inside the axes would hide data
            outside, location = True, "outside"
        if outside:
            labels = [legend_text(handle.get_label(), LEGEND_OUTSIDE_CHARS) for handle in handles]
        key = (tuple(labels), tuple((h.get_color(), h.get_linestyle()) for h in handles), location, len(entries),
               self.mixed_warning.get_visible())
        if key == self._legend_key:
            return
        self._legend_key = key
        legend = self.ax.get_legend()
        if legend is not None:
            legend.remove()
        self.figure.subplots_adjust(right=PLOT_RIGHT_WITH_LEGEND if outside else PLOT_RIGHT,
                                    top=PLOT_TOP_WITH_NOTE if crowded or self.mixed_warning.get_visible() else PLOT_TOP)
        self.legend_note.set_visible(crowded)
        self.legend_note.set_text(f"{len(entries)} items: colours repeat — see the scan list for their names")
        if not handles:
            return
        if outside:
            self.ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                           fontsize="x-small", framealpha=0.9, handlelength=1.5)
        else:
            self.ax.legend(handles, labels, loc=location, fontsize="small", framealpha=0.85)

    def rescale_y(self) -> tuple[float, float] | None:
        """Fit the y axis to the lines within the current x range (5 % margin); returns the new
        limits, or None when no line has points there."""
        lo, hi = sorted(self.ax.get_xlim())
        values = []
        for line in self.lines.values():
            x, y = (np.asarray(data, dtype=float) for data in line.get_data())
            inside = (x >= lo) & (x <= hi) & np.isfinite(y)
            if inside.any():
                values.append(y[inside])
        if not values:
            return None
        joined = np.concatenate(values)
        bottom, top = float(joined.min()), float(joined.max())
        pad = 0.05 * ((top - bottom) or abs(top) or 1.0)
        self.ax.set_ylim(bottom - pad, top + pad)
        return bottom - pad, top + pad

    def show_window(self, lo: float, hi: float, visible: bool) -> None:
        """The normalisation window as a shaded span (hidden when empty or not asked for)."""
        self.window_patch.set_visible(visible and hi > lo)
        if hi > lo:
            self.window_patch.set_x(lo)
            self.window_patch.set_width(hi - lo)

    def close(self) -> None:
        self.lines.clear()
        self._line_keys.clear()
        self._band_cache.clear()


# ---------------------------------------------------------------------- cuts of a map
def profile_xlabel(axis: str) -> str:
    from xestools.model import EMISSION_LABEL, INCIDENT_LABEL, TRANSFER_LABEL

    return {"emission": EMISSION_LABEL, "incident": INCIDENT_LABEL, "transfer": TRANSFER_LABEL}.get(axis, axis)


def profile_ylabel(means: Sequence[bool]) -> str:
    """Profile y label naming the cuts' statistic: sum or mean over the band, or both when mixed."""
    kinds = {bool(m) for m in means}
    if kinds == {True}:
        return "Intensity (mean over band)"
    if kinds == {True, False}:
        return "Intensity (sum or mean over band)"
    return "Intensity (sum over band)"


def cut_legend_label(spec, result) -> str:
    """A cut's legend entry: its label, and why it is empty when it is."""
    label = spec.label()
    if result is not None and result.empty:
        label += f" — empty: {result.reason}"
    return label


class CutOverlay:
    """A cut on the map: its centre line (with a halo) and its band, in the current view."""

    def __init__(self, ax: Axes, color: str) -> None:
        (self.line,) = ax.plot([], [], color=color, lw=1.5, pickradius=6, path_effects=[CUT_LINE_HALO])
        self.band = Polygon(np.zeros((0, 2)), closed=True, **band_style(color))
        ax.add_patch(self.band)
        self._look: tuple[str, bool] | None = None

    def update(self, rxes_map, spec, view: str, color: str, *, selected: bool = False) -> None:
        """Centre line and band of ``spec`` in ``view``, clipped to the map (analysis geometry)."""
        from xestools.analysis import cut_band_polygon, cut_line

        line_x, line_y = cut_line(rxes_map, spec, view)
        self.line.set_data(line_x, line_y)
        self.band.set_xy(cut_band_polygon(rxes_map, spec, view))
        if self._look != (color, selected):     # a drag moves the cut: its look is set once, not per move
            self._look = (color, selected)
            self.line.set_color(color)
            self.line.set_linewidth(2.6 if selected else 1.5)
            self.band.update(band_style(color))

    @property
    def artists(self) -> tuple:
        return self.band, self.line

    def remove(self) -> None:
        for artist in self.artists:
            artist.remove()


def band_path(polygons: Sequence[np.ndarray]) -> Path:
    """The y ± σ polygons as one compound path: one patch draws them (a collection of one costs
    more per draw, which a cut drag pays on every move), looking the same pixel for pixel."""
    if not polygons:
        return Path(np.zeros((1, 2)), [Path.MOVETO])
    vertices = np.concatenate([np.concatenate([p, p[:1]]) for p in polygons])
    codes = np.full(len(vertices), Path.LINETO, dtype=Path.code_type)
    start = 0
    for polygon in polygons:
        codes[start] = Path.MOVETO
        start += len(polygon) + 1
        codes[start - 1] = Path.CLOSEPOLY
    return Path(vertices, codes)


class ProfileArtists:
    """A cut's profile in a profile axes: the line and its ±1σ band (NaN gaps stay gaps)."""

    def __init__(self, ax: Axes, color: str) -> None:
        self.ax = ax
        (self.line,) = ax.plot([], [], color=color, lw=1.3)
        self.band = PathPatch(band_path([]), facecolor=mcolors.to_rgba(color, 0.22), edgecolor="none",
                              linewidth=0)
        ax.add_artist(self.band)    # not add_patch: the empty band must not widen the data limits
        self._color = color

    def show(self, result, color: str) -> None:
        if color != self._color:
            self._color = color
            self.line.set_color(color)
            self.band.set_facecolor(mcolors.to_rgba(color, 0.22))
        if result is None or result.empty:
            self.line.set_data([], [])
            self.band.set_path(band_path([]))
            return
        self.line.set_data(result.x, result.intensity)
        self.band.set_path(band_path([] if result.uncertainty is None
                                     else band_polygons(result.x, result.intensity, result.uncertainty)))

    @property
    def artists(self) -> tuple:
        return self.band, self.line

    def remove(self) -> None:
        for artist in self.artists:
            artist.remove()


def _sigma(result) -> np.ndarray:
    if result.uncertainty is None:
        return np.zeros_like(np.asarray(result.intensity, float))
    sigma = np.asarray(result.uncertainty, float)
    return np.where(np.isfinite(sigma), sigma, 0.0)


def profile_data_range(results: Sequence) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """(x, y) ranges of the profiles ±σ, None where there are no data."""
    data = [result for result in results if result is not None and not result.empty]
    xs = np.concatenate([np.asarray(r.x, float) for r in data]) if data else np.array([])
    lows = [np.asarray(r.intensity, float) - _sigma(r) for r in data]
    highs = [np.asarray(r.intensity, float) + _sigma(r) for r in data]
    ys = np.concatenate(lows + highs) if data else np.array([])
    xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    return ((float(xs.min()), float(xs.max())) if xs.size else None,
            (float(ys.min()), float(ys.max())) if ys.size else None)


def profile_limits(results: Sequence) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """(x, y) limits of profile axes fitted to the profiles ±σ (2 % / 6 % margins); None where no data."""
    xlim = ylim = None
    (x_range, y_range) = profile_data_range(results)
    if x_range is not None:
        pad = 0.02 * (x_range[1] - x_range[0] or 1.0)
        xlim = (x_range[0] - pad, x_range[1] + pad)
    if y_range is not None:
        pad = 0.06 * (y_range[1] - y_range[0] or abs(y_range[1]) or 1.0)
        ylim = (y_range[0] - pad, y_range[1] + pad)
    return xlim, ylim


def fit_profile_axes(ax: Axes, results: Sequence, means: Sequence[bool], xlabel: str) -> None:
    """Limits from the profiles ±σ (2 % / 6 % margins), labels, grid, and headroom for the legend."""
    xlim, ylim = profile_limits(results)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(profile_ylabel(means), fontsize=9)
    ax.grid(True, alpha=0.3)


def short_cut_label(label: str) -> str:
    """A cut's legend label for a narrow panel: type and position, e.g. "CEE 8638.90" (the colour and
    the cut table tell the rest)."""
    head, equals, rest = label.partition(" = ")
    if equals and rest.split():
        return f"{head.split()[0]} {rest.split()[0]}" + (" (empty)" if " — empty" in rest else "")
    return legend_text(label, 16)


def profile_legend(ax: Axes, handles: Sequence, labels: Sequence[str]):
    """The legend of a profile panel above its axes, right-aligned, outside the data (it never hides
    a curve), in as many columns as fit the axes' width, with short labels when even one column of
    the full ones is wider than the axes; the caller leaves :func:`legend_rows` rows above the axes."""
    labels = fitting_labels(ax, labels)
    return ax.legend(handles, labels, fontsize=_PROFILE_LEGEND_PT, loc="lower right", bbox_to_anchor=(1.0, 1.01),
                     borderaxespad=0.0, ncol=legend_columns(ax, labels), framealpha=0.8, handlelength=1.4,
                     columnspacing=1.0)


#: profile legend font size (points) and the share of a character's height it is wide, on average
_PROFILE_LEGEND_PT, _CHAR_WIDTH = 7.0, 0.62
#: pixels left free above a profile panel's left corner for the y offset text ("×10⁻³")
_OFFSET_TEXT_PX = 56.0


def _column_px(ax: Axes, labels: Sequence[str]) -> float:
    font_px = _PROFILE_LEGEND_PT * ax.figure.dpi / 72.0
    return (max(len(label) for label in labels) * _CHAR_WIDTH + 3.4) * font_px


def fitting_labels(ax: Axes, labels: Sequence[str]) -> list[str]:
    """``labels``, or their short forms when one column of them is wider than the axes allow."""
    labels = list(labels)
    if labels and _column_px(ax, labels) > ax.bbox.width - _OFFSET_TEXT_PX:
        return [short_cut_label(label) for label in labels]
    return labels


def legend_columns(ax: Axes, labels: Sequence[str]) -> int:
    """How many legend columns of ``labels`` fit the axes' width, less the room of the offset text; ≥ 1."""
    if not labels:
        return 1
    return int(max(1, min(len(labels), (ax.bbox.width - _OFFSET_TEXT_PX) // max(_column_px(ax, labels), 1.0))))


def legend_rows(ax: Axes, labels: Sequence[str]) -> int:
    """Rows the profile legend of ``labels`` takes above ``ax`` (0 without labels)."""
    if not labels:
        return 0
    labels = fitting_labels(ax, labels)
    return -(-len(labels) // legend_columns(ax, labels))
