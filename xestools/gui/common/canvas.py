"""The one plot canvas of xestools: a Figure on a Qt widget with tracked connections and blitting.

Why a class of our own: every plot in the program must (1) disconnect every matplotlib callback
and every Qt signal it receives from long-lived objects when it closes, or the closed figure is
kept alive (measured: ~6 MB per forgotten connection); (2) follow the mouse with blitting (only
the animated artists are redrawn onto a cached background); (3) close deterministically, also
from dialogs, not only in ``closeEvent``. No pyplot: the Figure is built directly.
"""
from __future__ import annotations

import logging
import math
import os
from typing import Callable, Iterable

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox, IdentityTransform
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from xestools.figures import save_figure
from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.gui.common.canvas")


class _Toolbar(NavigationToolbar2QT):
    """The toolbar without its (x, y) label formats no message per mouse move (each ``format_coord``
    under the pointer costs about a millisecond of a cut drag); the cursor still follows the mode."""

    def mouse_move(self, event) -> None:
        if self.coordinates:
            super().mouse_move(event)
        else:
            self._update_cursor(event)


class PlotCanvas(QWidget):
    """A matplotlib ``Figure`` in a widget, with tracked connections and animated-artist blitting.

    ``connect(event, callback)`` wraps the callback in ``safe_slot`` and records its id;
    ``track_signal(signal, slot)`` connects a Qt signal from a long-lived object and records it;
    ``close()`` undoes all of it, clears the figure and schedules the widget for deletion.
    """

    closed = Signal()
    #: some axes were redrawn by ``redraw_axes`` or repainted in place (no full draw, so no matplotlib draw_event)
    partial_redrawn = Signal()

    def __init__(self, parent: QWidget | None = None, *, figsize: tuple[float, float] = (6.0, 4.0),
                 toolbar: bool = True, dpi: float = 100.0) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.toolbar: NavigationToolbar2QT | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        if toolbar:
            # no (x, y) label in the toolbar: each view has one labelled cursor readout of its own
            self.toolbar = _Toolbar(self.canvas, self, coordinates=False)
            self.toolbar.setIconSize(self.toolbar.iconSize() * 0.8)
            layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas)
        self._cids: list[int] = []
        self._signal_connections: list[tuple[object, Callable]] = []
        self._animated: list[Artist] = []
        self._background = None
        self._extents: dict[int, tuple[int, int, int, int] | None] = {}
        self._stale_regions: list[tuple[int, int, int, int]] = []
        self._partial_blits = False   # becomes True once a caller names the artists it moved
        self._background_size: tuple[float, float] | None = None
        self._closed = False
        self.connect("draw_event", self._on_draw)

    # ------------------------------------------------------------------ connections
    def connect(self, event: str, callback: Callable) -> int:
        """``mpl_connect`` through ``safe_slot``; the id is recorded and released on close."""
        wrapped = callback if getattr(callback, "__wrapped_safe__", False) else safe_slot(callback)
        cid = self.canvas.mpl_connect(event, wrapped)
        self._cids.append(cid)
        return cid

    def track_signal(self, signal, slot: Callable) -> None:
        """Connect a Qt signal of a long-lived object to ``slot``; disconnected when the canvas closes."""
        signal.connect(slot)
        self._signal_connections.append((signal, slot))

    @property
    def connection_count(self) -> int:
        """Matplotlib callbacks and Qt connections still held (0 after ``close``)."""
        return len(self._cids) + len(self._signal_connections)

    @property
    def is_closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ blitting
    def add_animated(self, artist: Artist) -> Artist:
        """Mark ``artist`` as animated: drawn by ``blit_artists`` on top of the cached background."""
        artist.set_animated(True)
        if artist not in self._animated:
            self._animated.append(artist)
        return artist

    def remove_animated(self, artist: Artist) -> None:
        if artist in self._animated:
            self._animated.remove(artist)
            extent = self._extents.pop(id(artist), None)
            if extent is not None:
                self._stale_regions.append(extent)   # repainted (without it) by the next blit

    @property
    def has_background(self) -> bool:
        """A background without the animated artists was captured at the last full draw (blitting is ready)."""
        return self._background is not None

    @property
    def animated_artists(self) -> list[Artist]:
        return list(self._animated)

    def _on_draw(self, _event) -> None:
        """Re-capture the background after every full draw, then paint the animated artists on it.

        A draw by another canvas (savefig to SVG or PDF swaps the figure's canvas while it prints)
        has no pixels to capture; the screen is redrawn after the save.
        """
        if self._closed or self.figure.canvas is not self.canvas:
            return
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._background_size = (self.figure.bbox.width, self.figure.bbox.height)
        self._extents.clear()
        self._stale_regions.clear()
        self._draw_animated()

    def _draw_animated(self, artists: Iterable[Artist] | None = None) -> None:
        for artist in (self._animated if artists is None else artists):
            if artist.get_visible() and artist.figure is self.figure:
                self.figure.draw_artist(artist)

    def blit_axes(self, ax: Axes) -> None:
        """Repaint the animated artists of one axes (all clipped to it) on the background, blit its box.

        Cheaper than ``blit_artists`` when other axes hold animated artists that did not change.
        """
        members = [a for a in self._animated if a.axes is ax]
        if self._closed or self._background is None or not all(a.get_clip_on() for a in members):
            self.blit_artists()
            return
        width, height = int(self.figure.bbox.width), int(self.figure.bbox.height)
        box = ax.bbox
        x0, y0 = max(int(box.x0) - 2, 0), max(int(box.y0) - 2, 0)
        x1, y1 = min(int(math.ceil(box.x1)) + 2, width), min(int(math.ceil(box.y1)) + 2, height)
        if x1 <= x0 or y1 <= y0:
            return
        self._restore_part((x0, y0, x1, y1))
        self._draw_animated(members)
        self.canvas.blit(Bbox.from_extents(x0, y0, x1, y1))
        for artist in members:
            self._extents.pop(id(artist), None)

    def blit_artists(self, changed: Iterable[Artist] | None = None) -> None:
        """Repaint animated artists on the cached background and blit.

        ``changed`` names the animated artists that moved since the last blit: then only the region
        they covered before and cover now is restored, repainted and copied to the screen (with every
        other animated artist overlapping it), which keeps a drag cheap on a large canvas. Without it
        all animated artists are repainted over their axes. Without a background yet (never drawn)
        this schedules a full draw instead, which captures one.
        """
        if self._closed:
            return
        if self._background is None:
            self.canvas.draw_idle()
            return
        if changed is not None:
            self._partial_blits = True
        region = None if changed is None else self._dirty_region(list(changed))
        if region is None:
            box = self._blit_region()
            if box is self.figure.bbox:
                self.canvas.restore_region(self._background)
            else:       # clipped artists paint only inside their axes: restore just those
                width, height = int(self.figure.bbox.width), int(self.figure.bbox.height)
                x0, y0 = max(int(box.x0), 0), max(int(box.y0), 0)
                x1, y1 = min(int(math.ceil(box.x1)), width), min(int(math.ceil(box.y1)), height)
                self._restore_part((x0, y0, x1, y1))
                box = Bbox.from_extents(x0, y0, x1, y1)
            self._draw_animated()
            self.canvas.blit(box)
            self._stale_regions.clear()
            if self._partial_blits:     # where everything was painted, for the next partial blit
                renderer = self.canvas.get_renderer()
                self._extents = {id(a): self._extent(a, renderer) for a in self._animated}
            return
        if region is False:
            return
        x0, y0, x1, y1 = region
        self._restore_part(region)
        inside = [a for a in self._animated if _overlaps(self._extents.get(id(a)), region)]
        self._draw_animated(inside)
        self.canvas.blit(Bbox.from_extents(x0, y0, x1, y1))

    def redraw_axes(self, axes: Iterable[Axes], region: tuple[float, float, float, float],
                    keep: Iterable[tuple[Artist, Bbox]] = ()) -> bool:
        """Redraw only ``axes`` (whose labels stay inside ``region``, display pixels) on the last frame.

        For a change confined to some axes (a view switch changes one profile panel, not its
        neighbour): the region is cleared to the figure colour, those axes are drawn, the blit
        background is re-captured and the animated artists painted, without laying out and drawing
        the rest of the figure. ``keep`` names texts and legends of those axes, each with its window
        extent, that look the same and sit where they did in the last frame (the caller knows): they
        are not drawn again, their pixels are carried over from the last frame (text is the costliest
        thing to draw); one whose box meets the data area or another text is drawn after all. Returns False (nothing done) when there
        is no valid frame to start from; the caller then asks for a full draw.
        """
        size = (self.figure.bbox.width, self.figure.bbox.height)
        if self._closed or self._background is None or self._background_size != size:
            return False
        renderer = self.canvas.get_renderer()
        x0, y0 = max(int(math.floor(region[0])), 0), max(int(math.floor(region[1])), 0)
        x1, y1 = min(int(math.ceil(region[2])), int(size[0])), min(int(math.ceil(region[3])), int(size[1]))
        if x1 <= x0 or y1 <= y0:
            return False
        axes = list(axes)
        kept = [(artist, _pixel_box(extent, x0, y0, x1, y1)) for artist, extent in keep if artist.get_visible()]
        # the data area (whole pixels inside the axes box; its outline stays where the axes stays)
        inside = [(math.ceil(ax.bbox.x0), math.ceil(ax.bbox.y0), math.floor(ax.bbox.x1), math.floor(ax.bbox.y1))
                  for ax in axes]
        kept = [(artist, box) for artist, box in kept
                if box is not None and not any(_overlaps(box, data) for data in inside)]
        self.canvas.restore_region(self._background)
        clearing = Rectangle((x0, y0), x1 - x0, y1 - y0, transform=IdentityTransform(),
                             facecolor=self.figure.get_facecolor(), edgecolor="none")
        clearing.set_figure(self.figure)
        clearing.draw(renderer)
        # a hidden tick label moves its axis label while the axes lays itself out: put it back
        places = [(artist, artist.get_position()) for artist, _ in kept if hasattr(artist, "get_position")]
        for artist, _box in kept:
            artist.set_visible(False)
        try:
            for ax in axes:
                ax.draw(renderer)
        finally:
            for artist, _box in kept:
                artist.set_visible(True)
            for artist, place in places:
                artist.set_position(place)
        kept_ids = {id(artist) for artist, _ in kept}
        boxes = [box for _, box in kept]
        near = [text for ax in axes for text in _axis_texts(ax)
                if id(text) not in kept_ids and text.get_visible() and text.get_text() and _may_reach(text, boxes)]
        drawn = [box for box in (_pixel_box(text.get_window_extent(renderer), x0, y0, x1, y1) for text in near)
                 if box is not None]
        for artist, box in kept:
            if any(_overlaps(box, other) for other in drawn):
                artist.draw(renderer)       # a new text reaches into its box: draw it as a full draw would
            else:
                self._restore_part(box)
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._extents.clear()
        self._stale_regions.clear()
        self._draw_animated()
        self.canvas.blit(self.figure.bbox)     # animated artists elsewhere were repainted too
        self.partial_redrawn.emit()
        return True

    @staticmethod
    def inside_of(ax: Axes) -> tuple[tuple[float, float, float, float], list[Artist]]:
        """(region, artists) that draw the inside of ``ax``: its patch, images, lines and spines in the
        order a full draw draws them, not its ticks, labels or title (for :meth:`repaint`)."""
        skipped = {ax.xaxis, ax.yaxis, ax.title, ax._left_title, ax._right_title, ax.patch}
        artists = sorted((a for a in ax.get_children() if a not in skipped and not a.get_animated()),
                         key=lambda a: a.get_zorder())
        box = ax.bbox
        return (box.x0, box.y0, box.x1, box.y1), [ax.patch, *artists]

    def repaint(self, parts: Iterable[tuple[tuple[float, float, float, float], Iterable[Artist]]]) -> bool:
        """Redraw each part's artists (in drawing order) on the figure colour inside its region (display
        pixels, the regions apart) of the last frame; every pixel outside the regions stays as it was
        (e.g. a colour bar's offset text reaching over the map's margin, which did not change). Then
        the blit background is captured again, the animated artists are painted and all is blitted once.

        For new data on unchanged axes (a followed scan grew): no layout, and no text unless a part
        holds some. False (nothing done) when there is no valid frame to start from.
        """
        size = (self.figure.bbox.width, self.figure.bbox.height)
        if self._closed or self._background is None or self._background_size != size:
            return False
        renderer = self.canvas.get_renderer()
        boxes, painted = [], []
        self.canvas.restore_region(self._background)
        for region, artists in parts:
            x0, y0 = max(int(math.floor(region[0])), 0), max(int(math.floor(region[1])), 0)
            x1, y1 = min(int(math.ceil(region[2])), int(size[0])), min(int(math.ceil(region[3])), int(size[1]))
            if x1 <= x0 or y1 <= y0:
                continue
            clearing = Rectangle((x0, y0), x1 - x0, y1 - y0, transform=IdentityTransform(),
                                 facecolor=self.figure.get_facecolor(), edgecolor="none")
            clearing.set_figure(self.figure)
            clearing.draw(renderer)
            for artist in artists:
                artist.draw(renderer)
            boxes.append(Bbox.from_extents(x0, y0, x1, y1))
            painted.append(self.canvas.copy_from_bbox(boxes[-1]))
        if not boxes:
            return False
        self.canvas.restore_region(self._background)    # what was drawn outside the regions goes
        for region in painted:
            self.canvas.restore_region(region)
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._extents.clear()
        self._stale_regions.clear()
        self._draw_animated()
        self.canvas.blit(Bbox.union([*boxes, self._blit_region()]))
        self.partial_redrawn.emit()
        return True

    def _restore_part(self, box: tuple[int, int, int, int]) -> None:
        """Restore the background inside ``box`` (display pixels, origin bottom left) only.

        Agg addresses a saved region top-down from the region's own corner (here the figure's),
        so the box is flipped vertically and the region is put back at its origin.
        """
        x0, y0, x1, y1 = box
        height = int(self.figure.bbox.height)
        self.canvas.restore_region(self._background, bbox=(x0, height - y1, x1, height - y0), xy=(0, 0))

    def _extent(self, artist: Artist, renderer=None) -> tuple[int, int, int, int] | None:
        """Pixel box an animated artist paints into (line width and halo included), clipped to its axes.

        Plain arithmetic on four corners (no Bbox objects): a drag asks this twice per move.
        """
        if not artist.get_visible() or artist.figure is not self.figure:
            return None
        box = _data_extent(artist)
        if box is None:
            window = artist.get_window_extent(renderer if renderer is not None else self.canvas.get_renderer())
            box = tuple(window.extents) if window is not None else None
        if not box or not all(map(math.isfinite, box)) or (box[2] == box[0] and box[3] == box[1]):
            return None
        pad = 3.0 + 2.0 * float(getattr(artist, "get_linewidth", lambda: 1.0)() or 1.0) * self.figure.dpi / 72.0
        x0, y0, x1, y1 = box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad
        if artist.axes is not None and artist.get_clip_on():
            ax0, ay0, ax1, ay1 = artist.axes.bbox.extents
            x0, y0, x1, y1 = max(x0, ax0 - 2.0), max(y0, ay0 - 2.0), min(x1, ax1 + 2.0), min(y1, ay1 + 2.0)
            if x1 < x0 or y1 < y0:
                return None
        return (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))

    def _dirty_region(self, changed: list[Artist]):
        """Pixel box to repaint after ``changed`` moved; None to repaint everything, False for nothing."""
        known = self._extents
        if any(id(a) not in known for a in changed if a in self._animated):
            return None     # where it was painted last is not known: repaint everything once
        if any(id(a) not in known for a in self._animated if a not in changed):
            # after a full draw the extents of the artists that did not move are not known yet
            for artist in self._animated:
                if artist not in changed:
                    known[id(artist)] = self._extent(artist)
        boxes = list(self._stale_regions)
        self._stale_regions.clear()
        for artist in changed:
            if artist not in self._animated:
                continue
            old = known.get(id(artist))
            new = self._extent(artist)
            known[id(artist)] = new
            boxes.extend(box for box in (old, new) if box is not None)
        if not boxes:
            return False
        region = _union(boxes)
        grown = True
        while grown:        # an animated artist overlapping the region is repainted whole
            grown = False
            for artist in self._animated:
                box = known.get(id(artist))
                if box is not None and _overlaps(box, region) and _union([box, region]) != region:
                    region, grown = _union([box, region]), True
        width, height = self.figure.bbox.width, self.figure.bbox.height
        x0, y0, x1, y1 = max(region[0], 0), max(region[1], 0), min(region[2], int(width)), min(region[3], int(height))
        if x1 <= x0 or y1 <= y0:
            return False
        return (x0, y0, x1, y1)

    def _blit_region(self):
        """The union of the axes holding animated artists (clipped artists never paint outside them)."""
        boxes = {id(a.axes): a.axes.bbox for a in self._animated if a.axes is not None and a.get_clip_on()}
        if not boxes or len(boxes) != len({a.axes for a in self._animated}):
            return self.figure.bbox
        return Bbox.union(list(boxes.values())).expanded(1.02, 1.02)

    def draw_idle(self) -> None:
        if not self._closed:
            self.canvas.draw_idle()

    def draw(self) -> None:
        if not self._closed:
            self.canvas.draw()

    # ------------------------------------------------------------------ export
    def save(self, path: str | os.PathLike, *, dpi: float = 150.0) -> None:
        """Save the figure (animated artists included) atomically as PNG, SVG or PDF (by extension)."""
        animated = [artist for artist in self._animated if artist.get_animated()]
        for artist in animated:
            artist.set_animated(False)
        try:
            save_figure(self.figure, path, dpi=dpi)
        finally:
            for artist in animated:
                artist.set_animated(True)
            self.canvas.draw_idle()

    # ------------------------------------------------------------------ lifetime
    def close(self) -> bool:  # noqa: D401 - QWidget.close signature
        """Disconnect everything, clear the figure and schedule deletion. Idempotent."""
        if self._closed:
            return True
        self._closed = True
        for cid in self._cids:
            self.canvas.mpl_disconnect(cid)
        self._cids.clear()
        for signal, slot in self._signal_connections:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError) as exc:  # the sender was already deleted
                log.debug("signal already disconnected: %s", exc)
        self._signal_connections.clear()
        self._animated.clear()
        self._extents.clear()
        self._stale_regions.clear()
        self._background = None
        if self.toolbar is not None:
            self.toolbar.setParent(None)
            self.toolbar.deleteLater()
            self.toolbar = None
        self.figure.clear()
        self.closed.emit()
        result = super().close()
        self.setParent(None)
        self.deleteLater()
        return result

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        if not self._closed:
            self.close()
        super().closeEvent(event)


def _pixel_box(box: Bbox, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int] | None:
    """Whole pixels covering ``box`` (antialiased edges included), inside (x0, y0, x1, y1); None if outside."""
    if box is None or not np.all(np.isfinite(box.extents)):
        return None
    left, bottom = max(math.floor(box.x0) - 1, x0), max(math.floor(box.y0) - 1, y0)
    right, top = min(math.ceil(box.x1) + 1, x1), min(math.ceil(box.y1) + 1, y1)
    return (left, bottom, right, top) if right > left and top > bottom else None


def _may_reach(text, boxes: list[tuple[int, int, int, int]]) -> bool:
    """Whether ``text`` could reach into one of ``boxes``: a bound from its anchor and its length,
    without laying the text out (which costs as much as drawing it)."""
    if not boxes:
        return False
    x, y = text.get_transform().transform(text.get_unitless_position())
    reach = (len(text.get_text()) + 2) * text.get_fontsize() * text.figure.dpi / 72.0
    return any(box[0] - reach <= x <= box[2] + reach and box[1] - reach <= y <= box[3] + reach for box in boxes)


def _axis_texts(ax: Axes) -> list:
    """The texts an axes draws around its data: tick labels, axis labels, offsets, titles."""
    texts = [ax.title, ax._left_title, ax._right_title]
    for axis in (ax.xaxis, ax.yaxis):
        texts += [axis.label, axis.offsetText]
        texts += [tick.label1 for tick in axis.get_major_ticks()] + [tick.label2 for tick in axis.get_major_ticks()]
    return texts


def _union(boxes) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _overlaps(box, region) -> bool:
    return box is not None and box[0] < region[2] and region[0] < box[2] and box[1] < region[3] and region[1] < box[3]


def _data_extent(artist: Artist) -> tuple[float, float, float, float] | None:
    """Pixel box (x0, y0, x1, y1) of a line or polygon from its data bounds (4 corners transformed,
    not every vertex); () when it has no finite point.

    Exact for affine data transforms (linear axes, the transfer-view shear); None otherwise, and the
    caller falls back to ``get_window_extent``.
    """
    transform = artist.get_transform()
    if not transform.is_affine:
        return None
    if hasattr(artist, "get_xydata"):
        points = artist.get_xydata()
    elif hasattr(artist, "get_xy"):
        points = artist.get_xy()
    else:
        return None
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[0] == 0:
        return ()
    low, high = points.min(axis=0), points.max(axis=0)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        finite = points[np.isfinite(points).all(axis=1)]
        if finite.shape[0] == 0:
            return ()
        low, high = finite.min(axis=0), finite.max(axis=0)
    (a, c, e), (b, d, f), _ = transform.get_matrix()
    xs = (a * low[0] + c * low[1] + e, a * low[0] + c * high[1] + e, a * high[0] + c * low[1] + e,
          a * high[0] + c * high[1] + e)
    ys = (b * low[0] + d * low[1] + f, b * low[0] + d * high[1] + f, b * high[0] + d * low[1] + f,
          b * high[0] + d * high[1] + f)
    return (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))
