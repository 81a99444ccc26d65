"""The RXES tab's profile canvas: one panel for profiles against Ω (CEE, CET), one against ω or
Ω − ω (CIE), each cut drawn by :class:`~xestools.drawing.ProfileArtists` with its ±σ band.

Panels are laid out with fixed pixel margins; when only some panels' content changed (a view
switch changes the CIE panel alone) only those are repainted.
"""
from __future__ import annotations

from typing import Sequence

from xestools.drawing import (ProfileArtists, cut_legend_label, fit_profile_axes, legend_rows, profile_legend,
                              profile_data_range, profile_limits, profile_xlabel, profile_ylabel, shrink_to_fit)
from xestools.gui.common.canvas import PlotCanvas
from xestools.workspace.cuts import CUT_KINDS

#: pixels an x tick label of a profile (e.g. "9660.5") needs, with space around it
TICK_LABEL_PX = 64.0

PANELS = ("incident", "emission")
#: pixels one row of a profile legend (7 pt, frame pads shared) takes above the panels
LEGEND_ROW_PX = 13.5
#: share of a panel's range the profiles of a scan still being measured fill at least, and the margin they
#: keep from its edges (the fitted margin is 6 % of the data), before the panel is fitted again
GROWING_FILL, GROWING_MARGIN = 0.75, 0.02


class ProfileView:
    """Profile canvas, its two panels, the profiles by cut id, legends and the empty-state hint."""

    def __init__(self) -> None:
        self.canvas = PlotCanvas(figsize=(6.5, 2.8))
        figure = self.canvas.figure
        self.axes = {"incident": figure.add_axes((0.08, 0.2, 0.4, 0.72)),
                     "emission": figure.add_axes((0.57, 0.2, 0.4, 0.72))}
        for ax in self.axes.values():
            # small intensities as "7.5" with a ×10⁻³ offset: tick labels stay short and never reach the next panel
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 4), useMathText=True)
        self.legends: dict[str, object] = {}
        self._legend_content: dict[str, tuple[list, list[str]]] = {}
        self._legend_signature: dict[str, tuple] = {}
        buttons = ", ".join(f"+ {name}" for name in CUT_KINDS)
        self.hint = figure.text(0.5, 0.5, f"Add a cut ({buttons} or the Analysis menu) to see its profile here", ha="center", va="center", color="0.4", fontsize=9)
        self._profiles: dict[int, tuple[str, ProfileArtists]] = {}
        self._layout: list[str] = []
        #: per panel, its y axis and legend as the last frame shows them, and (that look, kept texts)
        self._framed: dict[str, tuple] = {}
        self._kept: dict[str, tuple] = {}
        self.canvas.connect("resize_event", self.layout)
        self.canvas.connect("draw_event", self._note_frame)

    def profile(self, ident: int) -> ProfileArtists | None:
        found = self._profiles.get(ident)
        return found[1] if found is not None else None

    def panel_of(self, ident: int) -> str:
        return self._profiles[ident][0]

    def show(self, ident: int, result, color: str) -> None:
        """Draw a cut's profile in the panel of its abscissa (created or moved there as needed)."""
        key = "incident" if result.axis == "incident" else "emission"
        found = self._profiles.get(ident)
        if found is None or found[0] != key:
            self.remove(ident)
            profile = ProfileArtists(self.axes[key], color)
            for artist in profile.artists:
                self.canvas.add_animated(artist)
            self._profiles[ident] = (key, profile)
        self._profiles[ident][1].show(result, color)

    def remove(self, ident: int) -> None:
        found = self._profiles.pop(ident, None)
        if found is not None:
            for artist in found[1].artists:
                self.canvas.remove_animated(artist)
            found[1].remove()

    def clear(self) -> None:
        for ident in list(self._profiles):
            self.remove(ident)

    def blit(self, ident: int) -> None:
        """A profile spans its panel: repaint that panel, not a smaller region, not the other panel."""
        self.canvas.blit_axes(self.axes[self.panel_of(ident)])

    def rescale(self, entries: Sequence[tuple], view: str, only: set[str] | None = None) -> None:
        """Fit the panels to ``entries`` ((CutEntry, CutResult) in table order), label them, place the
        legends, then repaint: only the panels named in ``only`` when the layout is unchanged."""
        used = {self._profiles[e.ident][0] for e, _ in entries if e.ident in self._profiles}
        layout = [key for key in PANELS if key in used]
        partial = only is not None and layout == self._layout and bool(layout)
        self.hint.set_visible(not layout)
        self._layout = layout
        for key in layout:
            if partial and key not in only:
                continue
            members = [(e, r) for e, r in entries if self._profiles.get(e.ident, ("",))[0] == key]
            axis = "incident" if key == "incident" else ("transfer" if view == "transfer" else "emission")
            fit_profile_axes(self.axes[key], [r for _, r in members], [e.mean for e, _ in members],
                             profile_xlabel(axis))
        self.rebuild_legends(entries)
        if partial:
            changed = [key for key in layout if key in only]
            if not changed:
                return
            looks = {key: self._frame_look(key) for key in changed}
            keep = [pair for key in changed for pair in self._unchanged(key, looks[key])]
            if self.canvas.redraw_axes([self.axes[k] for k in changed], self._slot(changed), keep=keep):
                self._framed.update(looks)
                return
        self.canvas.draw_idle()

    def _frame_look(self, key: str) -> tuple:
        """What decides the pixels of a panel's y axis (ticks, labels, offset) and its legend."""
        ax = self.axes[key]
        legend = self.legends.get(key)
        return (tuple(ax.get_ylim()), tuple(ax.bbox.bounds), tuple(ax.yaxis.get_majorticklocs()),
                tuple(self.canvas.figure.bbox.bounds), ax.yaxis.label.get_text(), ax.yaxis.label.get_fontsize(),
                id(legend), self._legend_signature.get(key))

    def _note_frame(self, _event=None) -> None:
        self._framed = {key: self._frame_look(key) for key in self._layout}

    def _unchanged(self, key: str, look: tuple) -> list:
        """(text or legend, window extent) of what a view switch leaves as it was in this panel: the
        y axis (its values do not depend on the view) and the legend; none when they changed."""
        if self._framed.get(key) != look:
            return []
        kept = self._kept.get(key)
        if kept is None or kept[0] != look:     # their boxes, kept while the look holds
            ax = self.axes[key]
            renderer = self.canvas.canvas.get_renderer()
            lo, hi = sorted(ax.get_ylim())
            locs = ax.yaxis.get_majorticklocs()
            texts = [ax.yaxis.label, ax.yaxis.offsetText] + [
                tick.label1 for tick, loc in zip(ax.yaxis.get_major_ticks(len(locs)), locs) if lo <= loc <= hi]
            if self.legends.get(key) is not None:
                texts.append(self.legends[key])
            kept = (look, [(artist, artist.get_window_extent(renderer)) for artist in texts])
            self._kept[key] = kept
        return kept[1]

    def panels_to_refit(self, entries: Sequence[tuple], view: str, same_px: float, *,
                        growing: bool = False) -> set[str] | None:
        """Panels whose fitted limits would move by more than ``same_px`` pixels or whose labels would
        change with ``entries`` (new data of the same cuts); None when the panels or legends change.

        ``growing`` (a scan still being measured): a panel also keeps its limits while the profiles
        stay inside them (:data:`GROWING_MARGIN` off the edges) and fill at least :data:`GROWING_FILL`
        of them, so that it is laid out again when a profile outgrows it rather than at every new
        maximum; the last update of the scan fits it exactly. The others need only a blit.
        """
        used = {self._profiles[e.ident][0] for e, _ in entries if e.ident in self._profiles}
        if [key for key in PANELS if key in used] != self._layout:
            return None
        shown = {key: labels for key, (_, labels) in self._legend_content.items()}
        wanted: dict[str, list[str]] = {}
        for entry, result in entries:
            if entry.ident in self._profiles:
                wanted.setdefault(self._profiles[entry.ident][0], []).append(cut_legend_label(entry.spec(), result))
        if wanted != shown:
            return None
        stale = set()
        for key in self._layout:
            ax = self.axes[key]
            members = [(e, r) for e, r in entries if self._profiles.get(e.ident, ("",))[0] == key]
            axis = "incident" if key == "incident" else ("transfer" if view == "transfer" else "emission")
            if ax.get_xlabel() != profile_xlabel(axis) or ax.get_ylabel() != profile_ylabel([e.mean for e, _ in members]):
                stale.add(key)
                continue
            results = [r for _, r in members]
            ranges = profile_data_range(results)
            for now, want, data, pixels in zip((ax.get_xlim(), ax.get_ylim()), profile_limits(results), ranges,
                                               (ax.bbox.width, ax.bbox.height)):
                if want is None:
                    continue
                span = abs(now[1] - now[0]) or 1.0
                if max(abs(now[0] - want[0]), abs(now[1] - want[1])) * pixels <= same_px * span:
                    continue
                margin = GROWING_MARGIN * span
                if growing and now[0] + margin <= data[0] and data[1] <= now[1] - margin \
                        and data[1] - data[0] >= GROWING_FILL * span:
                    continue
                stale.add(key)
        return stale

    def rebuild_legends(self, entries: Sequence[tuple]) -> None:
        """Legends of the panels' cuts, above the panels (outside the data); the layout makes room."""
        self._legend_content = {}
        for key in self.axes:
            members = [(e, r) for e, r in entries if self._profiles.get(e.ident, ("",))[0] == key]
            if members:
                self._legend_content[key] = ([self._profiles[e.ident][1].line for e, _ in members],
                                             [cut_legend_label(e.spec(), r) for e, r in members])
        self.layout()

    def _place_legends(self) -> None:
        """Legends built again only when their entries, colours or panel widths changed: building
        one lays out its text (tens of ms), and a view switch or a dropped cut usually changes none."""
        signature = {key: (tuple(labels), tuple(str(h.get_color()) for h in handles),
                           tuple(id(h) for h in handles), round(self.axes[key].bbox.width, 1))
                     for key, (handles, labels) in self._legend_content.items()}
        for key in list(self.legends):
            if signature.get(key) != self._legend_signature.get(key):
                self.legends.pop(key).remove()
        for key, (handles, labels) in self._legend_content.items():
            if key not in self.legends:
                self.legends[key] = profile_legend(self.axes[key], handles, labels)
        self._legend_signature = signature

    def _slot(self, keys: list[str]) -> tuple[float, float, float, float]:
        """Pixel columns of the canvas holding these panels with their tick and axis labels.

        Panels sit ``gap`` pixels apart (see ``layout``); a panel's x tick labels overhang its right
        edge by at most half a label, its y labels fill the gap on its left, so the border between
        two columns is drawn just right of the left panel's overhang.
        """
        width, height = self.canvas.figure.bbox.width, self.canvas.figure.bbox.height
        boxes = [self.axes[key].bbox for key in self._layout]
        overhang = 26.0
        left = min(0.0 if index == 0 else boxes[index - 1].x1 + overhang
                   for index, key in enumerate(self._layout) if key in keys)
        right = max(width if index == len(boxes) - 1 else boxes[index].x1 + overhang
                    for index, key in enumerate(self._layout) if key in keys)
        return (left, 0.0, right, height)

    def layout(self, _event=None) -> None:
        """Fixed pixel margins around the panels, room above them for the legends' rows."""
        for key, ax in self.axes.items():
            ax.set_visible(key in self._layout)
        width, height = self.canvas.figure.bbox.width, self.canvas.figure.bbox.height
        if width < 50 or height < 50 or not self._layout:
            self._place_legends()
            return
        left, right, bottom, gap = 74.0, 26.0, 44.0, 92.0
        count = len(self._layout)
        axes_width = (width - left - right - gap * (count - 1)) / count
        for index, key in enumerate(self._layout):
            x0 = left + index * (axes_width + gap)
            self.axes[key].set_position((x0 / width, bottom / height, max(axes_width, 10) / width, 0.5))
        rows = max((legend_rows(self.axes[key], labels) for key, (_, labels) in self._legend_content.items()
                    if key in self._layout), default=0)
        top = 20.0 + LEGEND_ROW_PX * rows
        for key in self._layout:
            x0, _y0, w, _h = self.axes[key].get_position().bounds
            self.axes[key].set_position((x0, bottom / height, w, max(1 - (bottom + top) / height, 0.05)))
        for key in self._layout:
            fit_ticks_and_label(self.axes[key], self.canvas.canvas.get_renderer())
        self._place_legends()

    def close(self) -> None:
        self.clear()
        self.canvas.close()


def fit_ticks_and_label(ax, renderer) -> None:
    """As many x ticks as their labels fit side by side; axis labels no larger than the canvas."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=max(2, int(ax.bbox.width // TICK_LABEL_PX)), steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.label.set_fontsize(10.0)
    ax.yaxis.label.set_fontsize(9.0)     # as fit_profile_axes sets it: a wider canvas grows it back
    for label, along in ((ax.xaxis.label, "x"), (ax.yaxis.label, "y")):
        shrink_to_fit(label, renderer, ax.figure.bbox, along=along)
