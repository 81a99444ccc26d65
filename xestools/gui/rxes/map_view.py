"""The RXES map canvas: the map (:class:`~xestools.figures.MapPlot`), the cut overlays drawn by
:class:`~xestools.drawing.CutOverlay`, and the mouse and keys that move cuts.

Dragging a cut redraws only animated artists (blitting) and processes at most one pending mouse
position per event-loop turn (coalescing). Cut positions are changed in the cut model; the view
follows the model like every other view.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from xestools.drawing import CutOverlay, shrink_to_fit
from xestools.figures import MapPlot, colorbar_label, cut_position_at, scan_title, view_limits
from xestools.gui.common.canvas import PlotCanvas
from xestools.runtime.safe import safe_slot
from xestools.workspace.cuts import CutModel

#: Arrow-key step for the selected cut (eV); Shift multiplies by 10.
ARROW_STEP = 0.01
#: pixels by which the map's limits may differ from the axes' and still count as the same (a live
#: update keeps the axes, with their ticks and labels, when its limits moved by less)
SAME_LIMITS_PX = 0.25


class ReadoutLine(QWidget):
    """The one-line cursor readout below the map, selectable like a label.

    A label's new text asks its parent layout to lay out again (the whole tab: controls, splitters,
    scroll area: about 5 ms, on every move of a cut drag). Here the label sits in a widget of fixed
    height without a layout, so a new text repaints the line and nothing else moves.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._label = QLabel(" ", self)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setFixedHeight(self._label.sizeHint().height())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._label.text()

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name, so it connects like one
        self._label.setText(text)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._label.setGeometry(self.rect())

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):    # one line of the new font
            self.setFixedHeight(self._label.sizeHint().height())


class MapView(QObject):
    """Map canvas, map plot and cut overlays; ``canvas`` is the widget to lay out."""

    #: the user pressed on a cut (the panel selects it)
    cut_pressed = Signal(int)
    #: cursor readout: "Ω = … ω = … Ω − ω = … I = …", or " " outside the map
    readout = Signal(str)
    #: a cut was dragged to a new place (for the user-action log)
    cut_dropped = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = PlotCanvas(figsize=(6.5, 4.5))
        figure = self.canvas.figure
        self.ax = figure.add_axes((0.11, 0.12, 0.72, 0.8))
        self.colorbar_ax = figure.add_axes((0.85, 0.12, 0.025, 0.8))
        self.map_plot = MapPlot(self.ax, self.colorbar_ax)
        self.cuts: CutModel | None = None
        self.selected: int | None = None
        self._overlays: dict[int, CutOverlay] = {}
        self._drag: tuple[int, float, float] | None = None   # (ident, start position, start coordinate)
        self._pending_motion: tuple[float, float] | None = None
        self._pending_readout: tuple[float, float] | None = None
        self._closed = False
        self.canvas.canvas.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for event, callback in (("button_press_event", self._on_press), ("motion_notify_event", self._on_motion),
                                ("button_release_event", self._on_release), ("key_press_event", self._on_key),
                                ("figure_leave_event", lambda _event: self.readout.emit(" ")),
                                ("resize_event", self.layout), ("draw_event", self._note_frame)):
            self.canvas.connect(event, callback)
        self._framed: tuple | None = None     # the x axis and title as the last frame shows them
        self._kept: tuple | None = None       # (that look, [(text, its window extent)])
        self._motion_timer = QTimer(self)
        self._motion_timer.setSingleShot(True)
        self._motion_timer.setInterval(0)
        self._motion_timer.timeout.connect(self._apply_pending_motion)
        # a new map's first draw: each axes laid out in an event-loop turn, then drawn (draw_new_map)
        self._first_draw_timer = QTimer(self)
        self._first_draw_timer.setSingleShot(True)
        self._first_draw_timer.setInterval(0)
        self._first_draw_timer.timeout.connect(self._first_draw_step)
        self._to_lay_out: list = []

    def colour_range(self) -> tuple[float, float] | None:
        """(lo, hi) of the shown map's colour scale, None before a map is shown."""
        return self.map_plot.colour_range if self.map_plot.image is not None else None

    @property
    def view(self) -> str:
        return self.map_plot.style.view

    @property
    def dragging(self) -> int | None:
        """The id of the cut being dragged, or None."""
        return self._drag[0] if self._drag is not None else None

    def show_map(self, rxes_map, style) -> None:
        self.map_plot.set_map(rxes_map, style)
        # the readout below the map shows Ω, ω, Ω − ω and I; the toolbar need not look up the pixel too
        self.map_plot.image.set_mouseover(False)
        self.ax.set_title(scan_title(rxes_map), fontsize=9)
        self.layout()

    def draw_new_map(self) -> None:
        """Draw the map just shown, soon. The canvas's first draw also makes every tick and lays out
        every text (half as long again as the drawing itself): that is done first, an axes per
        event-loop turn (its tight box asks for all of it and renders nothing), then the draw, so the
        window waits for none of them as long as for all. The draw reuses the ticks and text sizes."""
        if self.canvas.has_background:
            self.canvas.draw_idle()
            return
        # the canvas's first resize (the page just shown) asked matplotlib for a draw at the next turn:
        # that draw is the one this makes two turns later (matplotlib skips an idle draw no longer pending)
        self.canvas.canvas._draw_pending = False
        self._to_lay_out = [self.ax, self.colorbar_ax]
        self._first_draw_timer.start()

    @safe_slot
    def _first_draw_step(self) -> None:
        if self._closed or self.canvas.has_background:     # closed, or drawn meanwhile
            return
        if not self._to_lay_out:
            self.canvas.draw_idle()
            return
        self._to_lay_out.pop(0).get_tightbbox(self.canvas.canvas.get_renderer())
        self._first_draw_timer.start()

    def update_map(self, rxes_map) -> str | None:
        """New values of the shown map on the same grid (a followed scan grew), without a relayout.

        The axes keep their limits when the map's own moved by less than :data:`SAME_LIMITS_PX`
        (its axes are means of read-backs, which shift a little with every point) or when the user
        zoomed in. Returns what to repaint: "image" (inside the map axes), "colour bar" (that too),
        "axes" (the limits or the colour bar's power of ten changed: a draw), or None when the map must be shown by :meth:`show_map`.
        """
        plot = self.map_plot
        if plot.rxes_map is None or scan_title(rxes_map) != self.ax.get_title() \
                or colorbar_label(rxes_map, plot.style).replace("\n", " ") != \
                colorbar_label(plot.rxes_map, plot.style).replace("\n", " "):
            return None
        whole = self.shows_whole_map()
        offset = plot.formatter.get_offset()
        norm_changed = plot.replace_data(rxes_map)
        if norm_changed is None:
            return None
        if whole and not self.shows_whole_map():
            (x0, x1), (y0, y1) = view_limits(rxes_map, self.view)
            self.ax.set_xlim(x0, x1)
            self.ax.set_ylim(y0, y1)
            return "axes"
        if plot.formatter.get_offset() != offset:
            return "axes"       # the colour bar's "×10⁻ⁿ" reaches over the map's margin: a draw
        return "colour bar" if norm_changed else "image"

    def shows_whole_map(self) -> bool:
        """The axes show the whole map (not zoomed), to within :data:`SAME_LIMITS_PX` pixels."""
        if self.map_plot.rxes_map is None:
            return False
        target = view_limits(self.map_plot.rxes_map, self.view)
        box = self.ax.bbox
        for (lo, hi), (want_lo, want_hi), pixels in ((self.ax.get_xlim(), target[0], box.width),
                                                     (self.ax.get_ylim(), target[1], box.height)):
            scale = pixels / (abs(want_hi - want_lo) or 1.0)
            if max(abs(lo - want_lo), abs(hi - want_hi)) * scale > SAME_LIMITS_PX:
                return False
        return True

    def repaint_image(self, colour_bar: bool = False) -> None:
        """Repaint the map's inside (and the colour bar) on the last frame; a draw when there is none."""
        parts = [self.canvas.inside_of(self.ax)]
        if colour_bar:
            # the bar, its ticks and labels (its x axis has none, its title is empty), in its column
            bar = self.colorbar_ax
            skipped = {bar.xaxis, bar.title, bar._left_title, bar._right_title, bar.patch}
            artists = sorted((a for a in bar.get_children() if a not in skipped), key=lambda a: a.get_zorder())
            figure = self.canvas.figure.bbox
            parts.append(((bar.bbox.x0 - 2.0, 0.0, figure.width, figure.height), [bar.patch, *artists]))
        if not self.canvas.repaint(parts):
            self.canvas.draw_idle()

    def layout(self, _event=None) -> None:
        """Fixed pixel margins for labels and colour bar, whatever the canvas size (no constrained layout)."""
        width, height = self.canvas.figure.bbox.width, self.canvas.figure.bbox.height
        if width < 50 or height < 50:
            return
        left, right, bottom, top, bar = 78.0, 108.0, 48.0, 26.0, 16.0
        self.ax.set_position((left / width, bottom / height, 1 - (left + right) / width,
                              1 - (bottom + top) / height))
        self.colorbar_ax.set_position(((width - right + 14) / width, bottom / height, bar / width,
                                       1 - (bottom + top) / height))
        self.fit_colorbar_label(height - 8.0)
        label = self.ax.yaxis.label
        label.set_fontsize(10.0)
        shrink_to_fit(label, self.canvas.canvas.get_renderer(), self.canvas.figure.bbox)

    def fit_colorbar_label(self, room_px: float) -> None:
        """The colour-bar label no longer than the canvas is tall: a smaller font, then two lines."""
        colorbar = self.map_plot.colorbar
        if colorbar is None:
            return
        label = colorbar.ax.yaxis.label
        text = label.get_text().replace("\n", " ")
        dpi = self.canvas.figure.dpi
        for size in (10.0, 9.0, 8.0):
            if len(text) * 0.6 * size * dpi / 72.0 <= room_px:
                label.set_text(text)
                label.set_fontsize(size)
                return
        head, sep, tail = text.partition("  [") if "  [" in text else text.partition(" / ")
        label.set_text(f"{head}\n{(sep + tail).strip()}" if sep else text)
        label.set_fontsize(7.0)

    # ------------------------------------------------------------------ overlays
    def overlay(self, ident: int) -> CutOverlay | None:
        return self._overlays.get(ident)

    def add_overlay(self, ident: int, color: str) -> None:
        overlay = CutOverlay(self.ax, color)
        for artist in overlay.artists:
            self.canvas.add_animated(artist)
        self._overlays[ident] = overlay

    def drop_overlay(self, ident: int) -> None:
        overlay = self._overlays.pop(ident, None)
        if overlay is not None:
            for artist in overlay.artists:
                self.canvas.remove_animated(artist)
            overlay.remove()

    def clear_overlays(self) -> None:
        for ident in list(self._overlays):
            self.drop_overlay(ident)

    def update_overlay(self, ident: int) -> None:
        entry = self.cuts.get(ident) if self.cuts is not None else None
        overlay = self._overlays.get(ident)
        if entry is not None and overlay is not None:
            overlay.update(self.map_plot.rxes_map, entry.spec(), self.view, entry.color, selected=ident == self.selected)

    def place_contour_labels(self) -> None:
        """Contour labels placed again, off the cut lines and bands (after cuts changed)."""
        artists = [a for overlay in self._overlays.values() for a in overlay.artists]
        if self.map_plot.rxes_map is not None and self.map_plot.set_label_obstacles(artists):
            self.canvas.draw_idle()

    def redraw_map_axes(self) -> bool:
        """Repaint only the map axes (the colour bar is unchanged); False when a full draw is needed.

        A view switch changes the ω axis, not the Ω axis: when the Ω axis and the title look as in
        the last frame, their texts are carried over rather than drawn again.
        """
        # everything the map axes draws (labels and title included) lies left of the colour bar,
        # whose antialiased outline reaches a pixel beyond its box
        right = self.colorbar_ax.bbox.x0 - 2.0
        look = self._frame_look()
        keep = []
        if self._framed == look:
            if self._kept is None or self._kept[0] != look:     # their boxes, kept while the look holds
                renderer = self.canvas.canvas.get_renderer()
                self._kept = (look, [(text, text.get_window_extent(renderer)) for text in self._unchanged_texts()])
            keep = self._kept[1]
        done = self.canvas.redraw_axes([self.ax], (0.0, 0.0, right, self.canvas.figure.bbox.height), keep=keep)
        if done:
            self._framed = look
        return done

    def _frame_look(self) -> tuple:
        """What decides the pixels of the Ω axis (ticks, labels) and the title."""
        ax = self.ax
        return (tuple(ax.get_xlim()), tuple(ax.bbox.bounds), tuple(ax.xaxis.get_majorticklocs()),
                tuple(self.canvas.figure.bbox.bounds), ax.xaxis.label.get_text(), ax.xaxis.label.get_fontsize(),
                ax.title.get_text(), ax.title.get_fontsize())

    def _note_frame(self, _event=None) -> None:
        self._framed = self._frame_look()

    def _unchanged_texts(self) -> list:
        """The title, the Ω axis label and the Ω tick labels of the ticks in view."""
        lo, hi = sorted(self.ax.get_xlim())
        locs = self.ax.xaxis.get_majorticklocs()
        ticks = self.ax.xaxis.get_major_ticks(len(locs))
        return [self.ax.title, self.ax.xaxis.label] + [tick.label1 for tick, loc in zip(ticks, locs) if lo <= loc <= hi]

    # ------------------------------------------------------------------ mouse and keys
    def _toolbar_busy(self) -> bool:
        toolbar = self.canvas.toolbar
        return toolbar is not None and bool(getattr(toolbar.mode, "value", toolbar.mode))

    def _cut_under(self, event) -> int | None:
        hits = [ident for ident, o in self._overlays.items() if o.line.contains(event)[0]]
        if not hits:
            hits = [ident for ident, o in self._overlays.items() if o.band.contains(event)[0]]
        return hits[-1] if hits else None

    def _on_press(self, event) -> None:
        if event.inaxes is not self.ax or event.button != 1 or self._toolbar_busy() or event.xdata is None:
            return
        ident = self._cut_under(event)
        if ident is None or self.cuts is None:
            return
        entry = self.cuts.get(ident)
        self.cut_pressed.emit(ident)
        self._drag = (ident, entry.position, cut_position_at(entry.kind, self.view, event.xdata, event.ydata))

    def _on_motion(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None:
            if self._drag is None:      # off the map (colour bar, margins): nothing to read
                self._pending_readout = None
                self.readout.emit(" ")
            return
        if self._drag is not None:
            self._pending_motion = (event.xdata, event.ydata)
        # the readout follows the pointer during a drag too (never the Ω where the drag started)
        self._pending_readout = (event.xdata, event.ydata)
        if not self._motion_timer.isActive():
            self._motion_timer.start()

    @safe_slot
    def _apply_pending_motion(self) -> None:
        """Process the latest mouse position only (mouse moves are coalesced)."""
        if self._closed:
            return
        if self._drag is not None and self._pending_motion is not None:
            x, y = self._pending_motion
            self._pending_motion = None
            ident, start, anchor = self._drag
            entry = self.cuts.get(ident) if self.cuts is not None else None
            if entry is None:
                self._drag = None
                return
            position = round(start + cut_position_at(entry.kind, self.view, x, y) - anchor, 2)
            self.cuts.update(ident, position=position)
        if self._pending_readout is not None:
            x, y = self._pending_readout
            self._pending_readout = None
            self._show_readout(x, y)

    def _show_readout(self, x: float, y: float) -> None:
        values = self.map_plot.value_at(x, y)
        if values is None:
            self.readout.emit(" ")
            return
        omega_in, emission, transfer, intensity = values
        self.readout.emit(f"Ω = {omega_in:.2f} eV   ω = {emission:.2f} eV   Ω − ω = {transfer:.2f} eV   "
                          f"I = {intensity:.4g}")

    def _on_release(self, event) -> None:
        if self._drag is None:
            return
        if event.xdata is not None and event.inaxes is self.ax:
            self._pending_motion = (event.xdata, event.ydata)
            self._pending_readout = (event.xdata, event.ydata)
        self._apply_pending_motion()
        ident = self._drag[0] if self._drag is not None else None
        self._drag = None
        if ident is not None:
            self.cut_dropped.emit(ident)

    def _on_key(self, event) -> None:
        ident = self.selected
        if ident is None or self.cuts is None or self.cuts.get(ident) is None:
            return
        key = event.key or ""
        factor = 10.0 if key.startswith("shift+") else 1.0
        base = key.split("+")[-1]
        direction = {"right": 1, "up": 1, "left": -1, "down": -1}.get(base)
        if direction is not None:
            entry = self.cuts.get(ident)
            self.cuts.update(ident, position=round(entry.position + direction * factor * ARROW_STEP, 2))
        elif base in ("delete", "backspace"):
            self.cuts.remove(ident)

    def close(self) -> None:
        """Stop the motion timer, drop the overlays and close the canvas; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._motion_timer.stop()
        self._first_draw_timer.stop()
        self.clear_overlays()
        self.cuts = None
        self.map_plot.colorbar = None
        self.canvas.close()
