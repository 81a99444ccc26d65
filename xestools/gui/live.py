"""Following growing scans and watching a data folder in the window (the view of :mod:`xestools.workspace.live`).

:class:`LiveController` owns the QTimer that polls (every ``XESTOOLS_POLL_INTERVAL`` s, default 1 s),
the :class:`FollowBar` under the dataset list (Follow toggle and "in progress — N of M points" of the
current dataset, the watched folder and its older scans, loaded when double-clicked), and the opening
of a scan still being written: its first read goes to the worker pool through the follower, so a file
that GDA holds open (also in SWMR mode) opens with the points so far instead of failing. It knows
live sources only through :class:`~xestools.workspace.live.LiveScans` and the follower's progress: a
followed file replaced, deleted or renamed is said in the status bar and the bar ("replaced — …").
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QInputDialog, QLabel, QListWidget, QListWidgetItem,
                               QSizePolicy, QVBoxLayout, QWidget)

from xestools.live import DEFAULT_INTERVAL_S, looks_in_progress
from xestools.runtime.safe import safe_slot
from xestools.workspace.live import LiveScans

log = logging.getLogger("xestools.gui.live")


def poll_interval_s() -> float:
    """The poll interval from ``XESTOOLS_POLL_INTERVAL`` (set by ``--poll-interval``), default 1 s."""
    raw = os.environ.get("XESTOOLS_POLL_INTERVAL", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_INTERVAL_S
    except ValueError:
        log.warning("XESTOOLS_POLL_INTERVAL=%r is not a number; polling every %g s", raw, DEFAULT_INTERVAL_S)
        return DEFAULT_INTERVAL_S
    return value if value > 0 else DEFAULT_INTERVAL_S


class FollowBar(QWidget):
    """Follow toggle and progress of the current dataset; the watched folder and its scans."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.follow_box = QCheckBox("Follow (re-read new points as they are written)")
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.folder_label = QLabel("")
        self.folder_label.setWordWrap(True)
        self.entry_list = QListWidget()
        self.entry_list.setToolTip("Scans of the watched folder, newest first; double-click one to open it")
        self.entry_list.setMaximumHeight(120)
        for widget in (self.follow_box, self.progress_label, self.folder_label, self.entry_list):
            layout.addWidget(widget)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._shown: tuple[str, int] | None = None     # (folder, number of entries) the list shows
        self.show_progress(False, False, "")
        self.show_entries("", [])

    def show_progress(self, live: bool, following: bool, text: str) -> None:
        self.follow_box.blockSignals(True)
        self.follow_box.setChecked(following)
        self.follow_box.blockSignals(False)
        self.follow_box.setVisible(live)
        self.progress_label.setVisible(live)
        self.progress_label.setText(text)

    def show_entries(self, folder: str, entries) -> None:
        self.folder_label.setVisible(bool(folder))
        self.entry_list.setVisible(bool(folder))
        self.folder_label.setText(f"Watching {folder} — {len(entries)} scan(s)" if folder else "")
        if (folder, len(entries)) == self._shown:
            return
        self._shown = (folder, len(entries))
        self.entry_list.clear()
        for entry in entries:
            item = QListWidgetItem(entry.name)
            item.setData(Qt.ItemDataRole.UserRole, entry.path)
            item.setToolTip("\n".join(entry.paths))
            self.entry_list.addItem(item)


class LiveController(QObject):
    """Polls followed scans and the watched folder for ``window`` (module docstring)."""

    def __init__(self, window, show_status, show_error, interval_s: float | None = None) -> None:
        super().__init__(window)
        self.window = window
        self._status, self._error = show_status, show_error     # (text) and (text, title) of the window
        self.live = LiveScans(window.workspace)
        self.bar = FollowBar()
        self._tasks: list = []
        self._zoom = None        # (key, limits) of the shown map while a poll runs
        self._first_listing = False   # the next folder poll lists what was there before watching
        self._closed = False
        self.timer = QTimer(self)
        self.timer.setInterval(int(round(1000 * (interval_s or poll_interval_s()))))
        self.timer.timeout.connect(safe_slot(self.poll))
        self._install()

    def _install(self) -> None:
        """The bar goes under the dataset list in the Datasets dock."""
        dock = self.window.dataset_dock
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(dock.widget(), 1)      # the dataset list takes the height the bar does not need
        layout.addWidget(self.bar, 0)
        dock.setWidget(container)
        self.bar.follow_box.toggled.connect(safe_slot(self._on_follow_toggled))
        self.bar.entry_list.itemDoubleClicked.connect(safe_slot(self._on_entry_chosen))
        self.live.progress_changed.connect(self._on_progress)
        self.live.data_updated.connect(self._keep_zoom)
        self.live.entries_changed.connect(self._show_entries)
        self.window.workspace.datasets_changed.connect(self.show_current)

    # ------------------------------------------------------------------ opening
    def take_in_progress(self, paths: list[str]) -> list[str]:
        """Open the scans of ``paths`` that are being written through a follower; returns the others."""
        rest = []
        for path in paths:
            if looks_in_progress(path, stale_after=self.live.stale_after):
                self.follow_path(path)
            else:
                rest.append(path)
        return rest

    def follow_path(self, path: str) -> None:
        """Open ``path`` through a follower: the first read on the worker pool, then polled by the timer."""
        from xestools.gui.common.workers import submit

        if self._closed:
            return
        key = os.path.abspath(path)
        if self.window.workspace.dataset(key) is not None:
            self.window.workspace.select(key)
            return
        follower = self.live.follower(path)
        task = submit(self.live.first_poll, follower)   # through the io layer's time-limited reader
        task.finished.connect(safe_slot(lambda update, f=follower, t=task: self._on_first_read(f, update, t)))
        task.failed.connect(safe_slot(lambda exc, t=task, p=path: self._on_first_failed(p, exc, t)))
        self._tasks.append(task)

    def _on_first_read(self, follower, update, task) -> None:
        self._tasks = [t for t in self._tasks if t is not task]
        if self._closed:
            return
        dataset, error = self.live.add_first(follower, update)
        if error:
            self._error(error, "Could not open file")
        if dataset is not None:
            from xestools.gui.common import settings as gui_settings

            gui_settings.add_recent_file(dataset.path)
            self.window.select_dataset(dataset.key)        # its tab, menus and toolbar
            self._status(f"Opened {os.path.basename(dataset.path)} while it is being written; following it")
        self._start_timer()

    def _on_first_failed(self, path: str, exc: BaseException, task) -> None:
        self._tasks = [t for t in self._tasks if t is not task]
        log.error("following %s failed", path, exc_info=(type(exc), exc, exc.__traceback__))
        if not self._closed:
            self._error(f"{os.path.basename(path)}: cannot be followed ({exc}); see the log",
                                   "Could not open file")

    def _start_timer(self) -> None:
        if (self.live.following_keys or self.live.poller is not None) and not self.timer.isActive():
            self.timer.start()

    # ------------------------------------------------------------------ polling
    def poll(self) -> None:
        """One timer tick: new points of every followed scan, new scans of the watched folder."""
        if self._closed:
            return
        panel = self.window.rxes_panel
        shown = panel.document.dataset.key if panel.document is not None else None
        self._zoom = (shown, self._zoom_if_zoomed(panel)) if shown in self.live.following_keys else None
        try:
            self.live.poll()
        finally:
            self._zoom = None
        first_listing, self._first_listing = self._first_listing, False
        new = self.live.poll_folder()
        if new and first_listing:
            self.window.open_paths([new[0].path])   # the newest scan: followed if it is being written
        elif new:
            self.follow_path(new[0].path)           # a new scan: followed from its first line on
        if not self.live.following_keys and self.live.poller is None:
            self.timer.stop()

    def _keep_zoom(self, key: str) -> None:
        """Right after the shown map got its new points: put the user's zoom back."""
        panel = self.window.rxes_panel
        if self._zoom is None or self._zoom[1] is None or self._zoom[0] != key or panel.document is None \
                or panel.document.dataset.key != key:
            return
        (xlim, ylim) = self._zoom[1]
        if (tuple(panel.map_ax.get_xlim()), tuple(panel.map_ax.get_ylim())) == (xlim, ylim):
            return      # updated in place, the zoom kept: nothing to draw again
        panel.map_ax.set_xlim(*xlim)
        panel.map_ax.set_ylim(*ylim)
        panel.map_canvas.draw_idle()

    @staticmethod
    def _zoom_if_zoomed(panel):
        """The map axes' limits when the user zoomed in (not the whole map), else None."""
        if panel.map_view.shows_whole_map():
            return None
        return tuple(panel.map_ax.get_xlim()), tuple(panel.map_ax.get_ylim())

    # ------------------------------------------------------------------ the bar
    def _on_progress(self, key: str) -> None:
        """Show the current dataset's progress; say when and why following a scan stopped."""
        self.show_current()
        progress = self.live.progress(key)
        if progress is not None and not progress.following and not self._closed:
            self._status(f"{os.path.basename(key)}: {progress.text}")
            self.window._show_current()     # the dataset list: its series no longer counts it "in progress"

    def show_current(self) -> None:
        if self._closed:
            return
        key = self.window.workspace.current_key
        self.bar.show_progress(self.live.is_live(key), self.live.is_following(key), self.live.progress_text(key))

    def _show_entries(self) -> None:
        if not self._closed:
            poller = self.live.poller
            self.bar.show_entries(poller.folder if poller is not None else "", self.live.entries)

    def _on_follow_toggled(self, on: bool) -> None:
        key = self.window.workspace.current_key
        if key is None:
            return
        self.window.user_action.emit(f"follow {os.path.basename(key)} {'on' if on else 'off'}")
        self.live.set_follow(key, on)
        self._start_timer()

    def _on_entry_chosen(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.window.open_paths([path])

    # ------------------------------------------------------------------ watching a folder
    def watch_folder(self, folder: str, pattern: str | None = None) -> None:
        """Watch ``folder``: list its scans, open and follow the newest and every new one."""
        try:
            self.live.watch(folder, pattern)
        except ValueError as exc:
            self._error(str(exc), "Watch folder")
            return
        self._first_listing = True
        self.window.user_action.emit(f"watch folder {folder}" + (f" ({pattern})" if pattern else ""))
        self._status(f"Watching {folder} for new scans" + (f" matching {pattern}" if pattern else ""))
        self.poll()
        self._start_timer()

    def resume(self, state: dict) -> None:
        """Follow and watch again what a restored session followed and watched (the scans already in
        the folder are listed, not opened: they were restored with the session)."""
        state = state if isinstance(state, dict) else {}
        for path in state.get("followed") or []:
            self.live.follow_open(os.path.abspath(str(path)))
        watched = state.get("watched")
        if isinstance(watched, dict) and watched.get("folder"):
            try:
                self.live.watch(str(watched["folder"]), watched.get("pattern") or None)
            except ValueError as exc:
                self._error(f"The session's watched folder is not watched again: {exc}", "Watch folder")
            else:
                self.live.poll_folder()
        self._start_timer()

    def watch_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Watch a data folder for new scans")
        if not folder:
            return
        pattern, accepted = QInputDialog.getText(
            self.window, "Watch folder", "Only scans whose file name matches (e.g. *ZnO*; empty: every I20 scan):")
        if accepted:
            self.watch_folder(folder, pattern.strip() or None)

    def close(self) -> None:
        self._closed = True
        self.timer.stop()
        self._tasks.clear()
