"""The xestools main window: the RXES and XES tabs, dataset and metadata docks, menus and toolbar.

What is open is the Qt-free :class:`~xestools.workspace.Workspace`; the tabs are views of its map
and XES parts. Files are read by the one :class:`~xestools.gui.loader.Loader` (worker pool, one
progress bar); the session is the workspace's state plus the window layout.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QTabWidget, QWidget)

from xestools.gui import file_entry, restore
from xestools.gui.common import settings as gui_settings
from xestools.gui.actions import HELP_TEXT, WindowCommands
from xestools.gui.dataset_panel import DatasetPanel
from xestools.gui.docks import SidePanels
from xestools.gui.common.geometry import fit_to_screen
from xestools.gui.live import LiveController
from xestools.gui.messages import help_dialog, warning_box
from xestools.gui.loader import Loader
from xestools.gui.metadata_panel import MetadataPanel
from xestools.gui.rxes.rxes_panel import RxesPanel
from xestools.gui.session_files import SessionFiles
from xestools.gui.undo import UndoController
from xestools.runtime.safe import safe_slot
from xestools.workspace import Dataset, Workspace

log = logging.getLogger("xestools.gui.main_window")

#: a status-bar message is cleared after this long (a newer one replaces it at once)
STATUS_TIMEOUT_MS = 12000


class MainWindow(QMainWindow):
    """The main window (see the module docstring); the runtime creates it and calls ``shutdown``."""

    user_action = Signal(str)

    def __init__(self, safe_mode: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.safe_mode = safe_mode
        self.setWindowTitle("xestools — XES/RXES viewer" + (" (safe mode)" if safe_mode else ""))
        self.setAcceptDrops(True)
        self.workspace = Workspace()
        self._shut_down = False
        self.last_errors: list[str] = []
        self._named: list[str] = []     # the paths last opened by the user, shown once read
        self._messages: list[QMessageBox] = []
        self.loader = Loader(self)
        self.restore_runner = restore.StepRunner(self)
        self._build_tabs()
        self._build_docks()
        self._build_status_bar()
        self.live = LiveController(self, self._show_status, self._error)   # growing scans, watched folder
        self.undo = UndoController(self.workspace, busy=lambda: self.is_loading, parent=self)
        self.session_files = SessionFiles(self, self._show_status, self._error)
        self.commands = WindowCommands(self)
        self.commands.build_menus(self.menuBar(), self.panels.actions.values())
        self.commands.build_toolbar(self)
        self._connect()
        self._update_actions()
        fit_to_screen(self)
        settings_problem = gui_settings.set_aside_if_damaged()
        if not safe_mode:   # safe mode starts from the default layout
            gui_settings.restore_window(self)
            self.panels.restore()
        self._show_status("Open a file (Ctrl+O) or File → Open sample data to start.")
        if settings_problem:
            self._error(settings_problem, title="Settings")

    # ------------------------------------------------------------------ construction
    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self.rxes_panel = RxesPanel(self.workspace.maps)
        self.rxes_panel.reference_provider = self.reference_spectra
        self.tabs.addTab(self.rxes_panel, "RXES map")
        self.xes_panel = self._make_xes_panel()
        if self.xes_panel is not None:
            self.tabs.addTab(self.xes_panel, "XES")
        self.setCentralWidget(self.tabs)

    def _make_xes_panel(self):
        """The XES tab, when the XES workflow module is importable; otherwise no tab at all."""
        try:
            from xestools.gui.xes.xes_panel import XesPanel
        except ImportError as exc:
            log.info("XES tab not available: %s", exc)
            return None
        return XesPanel(self.workspace.xes)

    def _build_docks(self) -> None:
        """Lists on top, the shown tab's tools below, in one column of docks (gui/docks.py)."""
        self.dataset_panel = DatasetPanel()
        self.metadata_panel = MetadataPanel()
        self.panels = panels = SidePanels(self, self.tabs)
        self.dataset_dock = panels.add("Datasets", "datasets_dock", self.dataset_panel)
        (cuts,) = self.rxes_panel.side_panels()
        panels.add(*cuts, tab=self.rxes_panel, scroll=True, below="datasets_dock")
        self.metadata_dock = panels.add("Metadata", "metadata_dock", self.metadata_panel, tabify_with="datasets_dock")
        if self.xes_panel is not None:
            items, tools = self.xes_panel.side_panels()
            panels.add(*tools, tab=self.xes_panel, scroll=True, below=cuts[1])
            panels.add(*items, tab=self.xes_panel, scroll=True, tabify_with="metadata_dock")
        for plot in (self.rxes_panel.map_canvas, self.rxes_panel.profile_canvas) + (
                (self.xes_panel.view.canvas,) if self.xes_panel is not None else ()):
            panels.maximise_on_title_double_click(plot)
        self.dataset_dock.raise_()

    def _build_status_bar(self) -> None:
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        self.statusBar().addPermanentWidget(self.progress)
        self.status_label = QLabel("")
        self.statusBar().addWidget(self.status_label, 1)
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(STATUS_TIMEOUT_MS)
        self._status_timer.timeout.connect(self.status_label.clear)

    def _connect(self) -> None:
        panel = self.rxes_panel
        for signal, slot in ((panel.status_message, self._show_status), (panel.document_changed, self._on_document_changed),
                             (panel.display_changed, self._on_display_changed),
                             (self.dataset_panel.dataset_selected, self._on_dataset_selected),
                             (self.loader.progress, self._on_load_progress), (self.loader.loaded, self._on_loaded),
                             (self.loader.failed, lambda exc: self._error(f"Loading failed: {exc}")),
                             (self.loader.busy_changed, self.progress.setVisible)):
            signal.connect(safe_slot(slot))
        panel.user_action.connect(self.user_action)
        if self.xes_panel is not None:
            self.xes_panel.status_message.connect(safe_slot(self._show_status))
            self.xes_panel.user_action.connect(self.user_action)
            self.xes_panel.open_requested.connect(safe_slot(self.open_dialog))
        self.workspace.status.connect(self._show_status)
        self.workspace.datasets_changed.connect(self._show_current)
        self.workspace.restored.connect(safe_slot(self._on_restored))
        self.workspace.attach_live(self.live.live)
        self.undo.applied.connect(safe_slot(lambda text: (self._update_actions(), self._show_status(text))))

    # ------------------------------------------------------------------ opening files
    def open_dialog(self) -> None:
        self.open_paths(file_entry.ask_scan_files(self))

    def open_folder_dialog(self) -> None:
        folder = file_entry.ask_folder(self)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str) -> None:
        """Open every scan in ``folder``; the files that cannot be read are listed once, in one message."""
        paths, problem = file_entry.folder_scans(folder)
        self.open_paths(paths)
        if problem:   # an error without scans, a note on where they were found with them
            (self._show_status if paths else self._error)(problem)

    def open_sample_data(self) -> None:
        paths, problem = file_entry.sample_scans()
        if problem:
            self._error(problem)
        self.open_paths(paths)

    def open_paths(self, paths: list[str], *, show: bool = True) -> None:
        """Read ``paths`` on the worker pool; maps go to the RXES tab, spectra to the XES tab.
        ``show``: once read, the first of them is the one shown (over a session restored meanwhile)."""
        paths = [os.fspath(p) for p in paths if p]
        if not paths or self._shut_down:
            return
        if show:
            self._named = [os.path.abspath(p) for p in paths]
        paths = self.live.take_in_progress(paths)   # scans being written open through a follower
        if not paths:
            return
        self.user_action.emit(f"open {len(paths)} file(s): " + ", ".join(os.path.basename(p) for p in paths))
        self._show_status("Loading " + ", ".join(os.path.basename(p) for p in paths) + " …")
        self.loader.open(paths)

    @property
    def is_loading(self) -> bool:
        """Files are being read (opened, or a session being restored)."""
        return self.loader.is_loading or self.workspace.is_restoring

    def _on_load_progress(self, done: int, total: int) -> None:
        if not self._shut_down:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _on_loaded(self, outcomes) -> None:
        if self._shut_down:
            return
        opened, errors = self.workspace.add_outcomes(outcomes)
        self._show_named()
        for dataset in opened:
            gui_settings.add_recent_file(dataset.path)
            self._show_tab_of(dataset)
        if opened:
            self._show_status("Opened " + ", ".join(os.path.basename(d.path) for d in opened))
            warnings = [f"{os.path.basename(d.path)}: {w}" for d in opened for w in d.warnings]
            if warnings:
                self._show_status("; ".join(warnings))
        if errors:
            header = [f"{len(errors)} of {len(outcomes)} files could not be opened:"] if len(errors) > 1 else []
            self._error("\n".join(header + errors), title="Could not open file" + ("s" if len(errors) > 1 else ""))
        self._update_actions()

    def _show_named(self) -> None:
        """The file the user named last (command line, Open…) is shown, even over a session read after it."""
        loaded = [key for key in self._named if self.workspace.dataset(key) is not None]
        maps = [key for key in loaded if self.workspace.dataset(key).kind == "rxes"]
        if loaded:
            self.select_dataset((maps or loaded)[0])
        if not self.loader.is_loading:
            self._named = []

    def watch_folder(self, folder: str, pattern: str | None = None) -> None:
        self.live.watch_folder(folder, pattern)

    def _show_tab_of(self, dataset: Dataset) -> None:
        if dataset.kind == "rxes":
            self.tabs.setCurrentWidget(self.rxes_panel)
        elif self.xes_panel is not None and self.rxes_panel.document is None:
            self.tabs.setCurrentWidget(self.xes_panel)

    # ------------------------------------------------------------------ datasets
    @property
    def datasets(self) -> list[Dataset]:
        return self.workspace.datasets

    def reference_spectra(self) -> list[tuple[str, object]]:
        """Loaded 1D spectra usable as normalisation references: (label, Spectrum)."""
        return self.workspace.reference_spectra()

    def _show_current(self) -> None:
        """Dataset list and metadata follow the workspace's datasets and its current one."""
        if self._shut_down:
            return
        self.metadata_panel.show_dataset(self.workspace.current)
        self.dataset_panel.set_datasets(self.workspace.datasets, self.workspace.current_key,
                                        self.workspace.series.groups())

    def select_dataset(self, key: str) -> None:
        if not self.workspace.select(key):
            return
        dataset = self.workspace.current
        if dataset.kind == "rxes":
            self.tabs.setCurrentWidget(self.rxes_panel)
        elif self.xes_panel is not None:
            self.tabs.setCurrentWidget(self.xes_panel)
        self._update_actions()

    def _on_dataset_selected(self, key: str) -> None:
        self.user_action.emit(f"select dataset {os.path.basename(key)}")
        self.select_dataset(key)

    def close_current_dataset(self) -> None:
        key = self.workspace.current_key
        if self.workspace.close(key) is None:
            return
        self._update_actions()
        self.user_action.emit(f"close dataset {os.path.basename(key)}")

    def _on_display_changed(self) -> None:
        """View/channel/normalisation changed in the panel's own controls: keep menus and toolbar in step."""
        if not self._shut_down:
            self._update_actions()

    def _on_document_changed(self) -> None:
        if not self._shut_down:
            self.workspace.follow_map()
        self._update_actions()

    # ------------------------------------------------------------------ commands
    def set_view(self, view: str) -> None:
        self.rxes_panel.set_view(view)
        self._update_actions()

    def set_channel(self, channel: str) -> None:
        if channel not in self.rxes_panel.available_channels():
            self._show_status(f"This scan has no {channel} channel.")
        else:
            self.rxes_panel.set_channel(channel)
        self._update_actions()

    def add_cut(self, kind: str) -> None:
        self.tabs.setCurrentWidget(self.rxes_panel)
        try:
            self.rxes_panel.select_cut(self.rxes_panel.add_cut(kind))
        except ValueError as exc:   # no map open, or the maximum number of cuts reached
            self._show_status(str(exc))

    def run_xes(self, command: str) -> None:
        """An XES command from the menu: shown in the XES tab, run by its panel."""
        if self.xes_panel is not None:
            self.tabs.setCurrentWidget(self.xes_panel)
            self.xes_panel.run(command)

    def _update_actions(self) -> None:
        self.commands.update(self.rxes_panel, self.xes_panel is not None, self.workspace.current_key is not None)

    # ------------------------------------------------------------------ messages
    def _show_status(self, text: str) -> None:
        """A status-bar line, replaced by the next one and cleared after STATUS_TIMEOUT_MS."""
        if not self._shut_down:
            self.status_label.setText(text)
            self._status_timer.start()

    def _error(self, text: str, title: str = "xestools") -> None:
        """A non-modal message (the window stays usable) and a status-bar line."""
        log.warning("%s: %s", title, text)
        self.last_errors.append(text)
        self._show_status(text.splitlines()[0])
        if self._shut_down:
            return
        box = warning_box(self, title, text)
        box.finished.connect(safe_slot(lambda _result, b=box: self._messages.remove(b) if b in self._messages else None))
        self._messages.append(box)
        box.show()

    def close_messages(self) -> None:
        for box in list(self._messages):
            box.close()
        self._messages.clear()

    def show_help(self) -> None:
        help_dialog(self, HELP_TEXT).show()

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt name
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt name
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # ------------------------------------------------------------------ session
    def session_state(self) -> dict:
        """The workspace as JSON-serialisable data: files, channels, cuts, view, XES tab, layout."""
        state = self.workspace.to_state()
        state["rxes"]["splitter"] = [int(v) for v in self.rxes_panel.splitter.sizes()]
        state["tab"] = "xes" if self.xes_panel is not None and self.tabs.currentWidget() is self.xes_panel else "rxes"
        state["geometry"] = bytes(self.saveGeometry().toBase64()).decode("ascii")
        state["window_state"] = bytes(self.saveState().toBase64()).decode("ascii")
        if self.xes_panel is None:
            state.pop("xes_panel", None)
        return state

    def restore_session(self, state: dict) -> None:
        """Reopen what ``session_state`` described (see :mod:`xestools.gui.restore`)."""
        restore.restore_session(self, state)

    def _on_restored(self, report) -> None:
        if not self._shut_down:
            restore.show_restored(self, report)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Close every canvas and panel, stop loading, save the layout; safe to call twice."""
        if self._shut_down:
            return
        try:
            gui_settings.save_window(self)
            self.panels.save()
        except RuntimeError as exc:
            log.warning("could not save window settings: %s", exc)
        self._shut_down = True
        self.close_messages()
        self.loader.close()
        self.restore_runner.stop()
        self.live.close()
        self.undo.close()
        self.rxes_panel.shutdown()
        if self.xes_panel is not None:
            self.xes_panel.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.shutdown()
        super().closeEvent(event)
