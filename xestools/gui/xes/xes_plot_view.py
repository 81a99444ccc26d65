"""The XES tab's plot: a canvas drawing the Qt-free :class:`~xestools.drawing.XesOverlay`.

No form widgets here: the view shows what it is given (overlay entries and plot settings), reports
the mouse (cursor position, a dragged energy window) and saves the figure.
"""
from __future__ import annotations

import os
from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from xestools.drawing import XES_FIGSIZE, OverlayEntry, XesOverlay
from xestools.gui.common.canvas import PlotCanvas
from xestools.runtime.safe import safe_slot


class XesPlotView(QWidget):
    """Canvas + overlay + span selector for choosing an energy window by dragging."""

    #: (lo, hi) of a window dragged across the plot
    window_dragged = Signal(float, float)
    #: cursor readout text ("" when the mouse leaves the axes)
    cursor_text = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = PlotCanvas(self, figsize=XES_FIGSIZE)
        self.figure = self.canvas.figure
        self.axes = self.figure.add_subplot(1, 1, 1)
        self.overlay = XesOverlay(self.axes)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.canvas.connect("motion_notify_event", self._on_motion)
        from matplotlib.widgets import SpanSelector

        self._span_selector = SpanSelector(
            self.axes, safe_slot(self._on_span), "horizontal", useblit=True, interactive=False,
            props={"alpha": 0.25, "facecolor": "#ffbf00"}, minspan=1e-6,
        )
        self._span_selector.set_active(False)
        self._closed = False
        self._draw_on_show = False

    def show_entries(self, entries: Sequence[OverlayEntry], settings) -> list:
        """Draw ``entries`` with ``settings`` (one idle redraw); returns the shown data."""
        if self._closed:
            return []
        shown = self.overlay.update(entries, settings)
        self._draw_idle()
        return shown

    def rescale_y(self) -> tuple[float, float] | None:
        limits = self.overlay.rescale_y()
        self._draw_idle()
        return limits

    def show_window(self, lo: float, hi: float, visible: bool) -> None:
        self.overlay.show_window(lo, hi, visible)
        self._draw_idle()

    def _draw_idle(self) -> None:
        """One idle draw, or none until the plot is shown: the XES tab is hidden at start-up and
        behind the RXES tab, and drawing it there costs a full draw that nobody sees."""
        if self.isVisible():
            self.canvas.draw_idle()
        else:
            self._draw_on_show = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if self._draw_on_show:
            self._draw_on_show = False
            self.canvas.draw_idle()

    def set_window_dragging(self, active: bool) -> None:
        if self._span_selector is not None:
            self._span_selector.set_active(bool(active))

    def limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return tuple(self.axes.get_xlim()), tuple(self.axes.get_ylim())

    def save(self, path: str | os.PathLike) -> None:
        """PNG, SVG or PDF by extension."""
        self.canvas.save(path)

    def _on_motion(self, event) -> None:
        if event.inaxes is not self.axes or event.xdata is None:
            self.cursor_text.emit("")
            return
        symbol = self.axes.get_xlabel().split(" (")[0] or "E"
        self.cursor_text.emit(f"{symbol} = {event.xdata:.2f} eV   I = {event.ydata:.4g}")

    def _on_span(self, lo: float, hi: float) -> None:
        if not self._closed and hi > lo:
            self.window_dragged.emit(float(lo), float(hi))

    def close(self) -> bool:  # noqa: D401 - QWidget.close signature
        """Disconnect the span selector, close the canvas. Idempotent."""
        if self._closed:
            return True
        self._closed = True
        self._span_selector.set_active(False)
        self._span_selector.disconnect_events()
        self._span_selector = None
        self.overlay.close()
        self.canvas.close()
        return super().close()
