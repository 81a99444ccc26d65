"""The one plot canvas of xestools: a Figure on a Qt widget with tracked connections and blitting.

Why a class of our own: every plot in the program must (1) disconnect every matplotlib callback
and every Qt signal it receives from long-lived objects when it closes, or the closed figure is
kept alive (measured: ~6 MB per forgotten connection); (2) follow the mouse with blitting (only
the animated artists are redrawn onto a cached background); (3) close deterministically, also
from dialogs, not only in ``closeEvent``. No pyplot: the Figure is built directly.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Iterable

from matplotlib.artist import Artist
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from xestools.io.atomic import atomic_path
from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.gui.canvas")


class PlotCanvas(QWidget):
    """A matplotlib ``Figure`` in a widget, with tracked connections and animated-artist blitting.

    ``connect(event, callback)`` wraps the callback in ``safe_slot`` and records its id;
    ``track_signal(signal, slot)`` connects a Qt signal from a long-lived object and records it;
    ``close()`` undoes all of it, clears the figure and schedules the widget for deletion.
    """

    closed = Signal()

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
            self.toolbar = NavigationToolbar2QT(self.canvas, self)
            self.toolbar.setIconSize(self.toolbar.iconSize() * 0.8)
            layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas)
        self._cids: list[int] = []
        self._signal_connections: list[tuple[object, Callable]] = []
        self._animated: list[Artist] = []
        self._background = None
        self._closed = False
        self.connect("draw_event", self._on_draw)

    # ------------------------------------------------------------------ connections
    def connect(self, event: str, callback: Callable) -> int:
        """``mpl_connect`` through ``safe_slot``; the id is recorded and released on close."""
        wrapped = callback if getattr(callback, "__wrapped_safe__", False) else safe_slot(callback)
        cid = self.canvas.mpl_connect(event, wrapped)
        self._cids.append(cid)
        return cid

    def disconnect_event(self, cid: int) -> None:
        self.canvas.mpl_disconnect(cid)
        if cid in self._cids:
            self._cids.remove(cid)

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

    @property
    def animated_artists(self) -> list[Artist]:
        return list(self._animated)

    def _on_draw(self, _event) -> None:
        """Re-capture the background after every full draw, then paint the animated artists on it."""
        if self._closed:
            return
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._draw_animated()

    def _draw_animated(self, artists: Iterable[Artist] | None = None) -> None:
        for artist in (self._animated if artists is None else artists):
            if artist.get_visible() and artist.figure is self.figure:
                self.figure.draw_artist(artist)

    def blit_artists(self, artists: Iterable[Artist] | None = None) -> None:
        """Repaint the animated artists (all, by default) on the cached background and blit.

        Without a background yet (never drawn) this schedules a full draw instead, which captures one.
        """
        if self._closed:
            return
        if self._background is None:
            self.canvas.draw_idle()
            return
        self.canvas.restore_region(self._background)
        self._draw_animated(artists)
        self.canvas.blit(self._blit_region())

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
    def save(self, path: str | os.PathLike, *, dpi: float = 150.0, **kwargs) -> None:
        """Save the figure (animated artists included) atomically; format from the extension."""
        animated = [artist for artist in self._animated if artist.get_animated()]
        for artist in animated:
            artist.set_animated(False)
        try:
            with atomic_path(path) as tmp:
                fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
                self.figure.savefig(tmp, dpi=dpi, format=fmt, **kwargs)
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
