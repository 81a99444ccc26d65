"""The xestools main window: menus, toolbar, dataset and metadata panels, the RXES and XES tabs.

Opening files runs on the shared worker pool; results come back through queued signals. Maps go
to the RXES tab, 1D spectra to the XES tab. The window's state (open files, channel, view, cuts,
the XES panel) is a JSON-serialisable dict for the session module.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QTabWidget, QWidget)

from xestools.gui import settings as gui_settings
from xestools.gui.dataset_panel import DatasetPanel
from xestools.gui.datasets import Dataset, LoadOutcome, load_files
from xestools.gui.metadata_panel import MetadataPanel
from xestools.gui.rxes_panel import RxesPanel
from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.gui.main_window")

SESSION_VERSION = 1
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = PROJECT_ROOT / "data_samples"
FILE_FILTER = "Scan files (*.nxs *.nx5 *.h5 *.hdf5 *.dat *.txt *.csv *.xy);;All files (*)"
DATA_SUFFIXES = (".nxs", ".nx5", ".h5", ".hdf5", ".dat", ".txt", ".csv", ".xy")

HELP_TEXT = """<h3>xestools</h3>
<p><b>Open</b> I20 NeXus (.nxs) or ASCII (.dat) scans with File → Open (Ctrl+O) or by dropping them on the
window. RXES maps appear in the <i>RXES map</i> tab, 1D XES spectra in the <i>XES</i> tab.</p>
<p><b>Views</b>: incident (Ω horizontal, ω vertical, Ctrl+1) or energy transfer (Ω horizontal, Ω − ω vertical,
Ctrl+2), drawn on true coordinates — the transfer view of a rectangular scan is a parallelogram.</p>
<p><b>Cuts</b>: add CIE (constant Ω), CEE (constant ω, HERFD) or CET (constant Ω − ω) cuts with the buttons
or the Analysis menu. Drag a cut line in the map; the arrow keys move the selected cut by 0.01 eV
(Shift: 0.1 eV); Delete removes it. Type position and width (eV) in the cut table. Profiles show sum or mean
over the band with ±1σ bands; the legend names each cut.</p>
<p><b>Channel</b>: upper (Si(642), medipix1) or lower (Ge(555), medipix2); a channel the scan lacks is
disabled. Cuts keep their positions across channel, view, scale and normalisation changes.</p>
<p><b>Export</b>: profiles to CSV (with σ and points per bin) or NeXus, figures to PNG/SVG/PDF, the map to
NeXus or CSV (File menu).</p>"""


class MainWindow(QMainWindow):
    """The main window (see the module docstring); the runtime creates it and calls ``shutdown``."""

    user_action = Signal(str)

    def __init__(self, safe_mode: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.safe_mode = safe_mode
        self.setWindowTitle("xestools — XES/RXES viewer" + (" (safe mode)" if safe_mode else ""))
        self.setAcceptDrops(True)
        self._datasets: dict[str, Dataset] = {}
        self._current_key: str | None = None
        self._pending_state: dict[str, dict] = {}
        self._pending_current: str | None = None
        self._pending_normalisations: dict[str, dict] = {}
        self._loading = 0
        self._tasks: list = []
        self._shut_down = False
        self.last_errors: list[str] = []
        self._messages: list[QMessageBox] = []

        self.tabs = QTabWidget()
        self.rxes_panel = RxesPanel()
        self.rxes_panel.reference_provider = self.reference_spectra
        self.rxes_panel.status_message.connect(self._show_status)
        self.rxes_panel.user_action.connect(self.user_action)
        self.rxes_panel.document_changed.connect(self._on_document_changed)
        self.rxes_panel.display_changed.connect(self._on_display_changed)
        self.tabs.addTab(self.rxes_panel, "RXES map")
        self.xes_panel = self._make_xes_panel()
        if self.xes_panel is not None:
            self.tabs.addTab(self.xes_panel, "XES")
        self.setCentralWidget(self.tabs)

        self.dataset_panel = DatasetPanel()
        self.dataset_panel.dataset_selected.connect(self._on_dataset_selected)
        self.metadata_panel = MetadataPanel()
        self.dataset_dock = self._dock("Datasets", "datasets_dock", self.dataset_panel)
        self.metadata_dock = self._dock("Metadata", "metadata_dock", self.metadata_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dataset_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.metadata_dock)
        self.dataset_panel.setMinimumWidth(330)
        self.metadata_panel.setMinimumWidth(330)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        self.statusBar().addPermanentWidget(self.progress)
        self.status_label = QLabel("")
        self.statusBar().addWidget(self.status_label, 1)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._update_actions()
        self.resize(1280, 860)
        if not safe_mode:   # safe mode starts from the default layout
            self._restore_window_settings()
        self._show_status("Open a file (Ctrl+O) or File → Open sample data to start.")

    # ------------------------------------------------------------------ construction
    def _make_xes_panel(self):
        """The XES tab, when the XES workflow module is importable; otherwise no tab at all."""
        try:
            from xestools.gui.xes_panel import XesPanel
        except ImportError as exc:
            log.info("XES tab not available: %s", exc)
            return None
        panel = XesPanel()
        panel.status_message.connect(self._show_status)
        panel.user_action.connect(self.user_action)
        return panel

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        return dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(safe_slot(slot))
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open…", lambda _=False: self.open_dialog(), "Ctrl+O",
                                        "Open I20 NeXus/ASCII scans or xestools exports")
        self.open_samples_action = self._action("Open &sample data", lambda _=False: self.open_sample_data(),
                                                tip="Open the synthetic example scans shipped in data_samples/")
        self.save_profiles_action = self._action("&Save cut profiles…", lambda _=False: self.export_profiles_dialog(),
                                                 "Ctrl+S",
                                                 "Write the cut profiles to CSV (σ, points per bin) or NeXus")
        self.export_map_figure_action = self._action("Export map &figure…",
                                                     lambda _=False: self.export_figure_dialog("map"),
                                                     tip="Save the map figure as PNG, SVG or PDF")
        self.export_profile_figure_action = self._action("Export &profile figure…",
                                                         lambda _=False: self.export_figure_dialog("profile"),
                                                         tip="Save the profile figure as PNG, SVG or PDF")
        self.export_map_data_action = self._action("Export map &data…", lambda _=False: self.export_map_dialog(),
                                                   tip="Write the shown map to NeXus or CSV")
        self.close_dataset_action = self._action("&Close dataset", lambda _=False: self.close_current_dataset(),
                                                 "Ctrl+W", "Close the selected dataset")
        self.quit_action = self._action("&Quit", lambda _=False: self.close(), "Ctrl+Q")

        self.view_group = QActionGroup(self)
        self.incident_view_action = self._action("&Incident view (Ω, ω)", lambda _=False: self.set_view("incident"),
                                                 "Ctrl+1", checkable=True)
        self.transfer_view_action = self._action("&Transfer view (Ω, Ω − ω)",
                                                 lambda _=False: self.set_view("transfer"), "Ctrl+2", checkable=True)
        for action in (self.incident_view_action, self.transfer_view_action):
            self.view_group.addAction(action)
        self.incident_view_action.setChecked(True)
        self.channel_group = QActionGroup(self)
        self.upper_action = self._action("&Upper channel (medipix1)", lambda _=False: self.set_channel("upper"),
                                         "Ctrl+U", checkable=True)
        self.lower_action = self._action("&Lower channel (medipix2)", lambda _=False: self.set_channel("lower"),
                                         "Ctrl+L", checkable=True)
        for action in (self.upper_action, self.lower_action):
            self.channel_group.addAction(action)
        self.reset_zoom_action = self._action("&Reset zoom", lambda _=False: self.reset_zoom(), "Ctrl+0")

        self.add_cut_actions = {
            kind: self._action(f"Add {kind} cut", self._add_cut_callback(kind), shortcut, tip)
            for kind, shortcut, tip in (("CIE", "Ctrl+Shift+I", "Cut at constant incident energy Ω"),
                                        ("CEE", "Ctrl+Shift+E", "Cut at constant emission energy ω (HERFD)"),
                                        ("CET", "Ctrl+Shift+T", "Cut at constant energy transfer Ω − ω"))
        }
        self.remove_cuts_action = self._action("Remove all cuts", lambda _=False: self.rxes_panel.remove_all_cuts())
        self.normalise_action = self._action("&Normalise map by XES reference…",
                                             lambda _=False: self.rxes_panel.open_normalise_dialog(),
                                             tip="Divide the map by the area of an XES reference over a window")
        self.remove_normalisation_action = self._action("Remove map normalisation",
                                                        lambda _=False: self.rxes_panel.remove_normalisation())
        self.help_action = self._action("xestools &help", lambda _=False: self.show_help(),
                                        "F1")
        self.about_action = self._action("&About xestools", lambda _=False: self.show_about())

    def _add_cut_callback(self, kind: str):
        def add(_checked: bool = False) -> None:
            self.tabs.setCurrentWidget(self.rxes_panel)
            try:
                self.rxes_panel.select_cut(self.rxes_panel.add_cut(kind))
            except ValueError as exc:   # no map open, or the maximum number of cuts reached
                self._show_status(str(exc))
        return add

    def _build_menus(self) -> None:
        menu_bar = self.menuBar()
        file_menu = menu_bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.open_samples_action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_profiles_action)
        file_menu.addAction(self.export_map_figure_action)
        file_menu.addAction(self.export_profile_figure_action)
        file_menu.addAction(self.export_map_data_action)
        file_menu.addSeparator()
        file_menu.addAction(self.close_dataset_action)
        file_menu.addAction(self.quit_action)

        view_menu = menu_bar.addMenu("&View")
        view_menu.addAction(self.incident_view_action)
        view_menu.addAction(self.transfer_view_action)
        view_menu.addSeparator()
        view_menu.addAction(self.upper_action)
        view_menu.addAction(self.lower_action)
        view_menu.addSeparator()
        view_menu.addAction(self.reset_zoom_action)
        view_menu.addAction(self.dataset_dock.toggleViewAction())
        view_menu.addAction(self.metadata_dock.toggleViewAction())

        analysis_menu = menu_bar.addMenu("&Analysis")
        for action in self.add_cut_actions.values():
            analysis_menu.addAction(action)
        analysis_menu.addAction(self.remove_cuts_action)
        analysis_menu.addSeparator()
        analysis_menu.addAction(self.normalise_action)
        analysis_menu.addAction(self.remove_normalisation_action)

        help_menu = menu_bar.addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.save_profiles_action)
        toolbar.addSeparator()
        toolbar.addAction(self.incident_view_action)
        toolbar.addAction(self.transfer_view_action)
        toolbar.addSeparator()
        for action in self.add_cut_actions.values():
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.export_map_figure_action)

    @safe_slot
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = gui_settings.recent_files()
        for path in files:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(safe_slot(lambda _=False, p=path: self.open_paths([p])))
        if files:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear list")
            clear.triggered.connect(safe_slot(lambda _=False: gui_settings.clear_recent_files()))
        else:
            empty = self.recent_menu.addAction("(no recent files)")
            empty.setEnabled(False)

    def _restore_window_settings(self) -> None:
        store = gui_settings.settings()
        geometry = store.value("window/geometry")
        state = store.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)

    def _save_window_settings(self) -> None:
        store = gui_settings.settings()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
        store.sync()

    # ------------------------------------------------------------------ opening files
    def open_dialog(self) -> None:
        folder = gui_settings.last_folder(str(Path.home()))
        paths, _filter = QFileDialog.getOpenFileNames(self, "Open scans", folder, FILE_FILTER)
        if paths:
            gui_settings.set_last_folder(os.path.dirname(paths[0]))
            self.open_paths(paths)

    def open_sample_data(self) -> None:
        files = sorted(str(p) for p in SAMPLES_DIR.glob("*") if p.suffix.lower() in DATA_SUFFIXES) \
            if SAMPLES_DIR.is_dir() else []
        if not files:
            self._error(f"No sample data found in {SAMPLES_DIR}; regenerate it with "
                        "'python -m xestools.samples'.")
            return
        self.open_paths(files)

    def open_paths(self, paths: list[str]) -> None:
        """Load ``paths`` on the worker pool; maps go to the RXES tab, spectra to the XES tab."""
        from xestools.gui.workers import submit

        paths = [os.fspath(p) for p in paths if p]
        if not paths or self._shut_down:
            return
        self.user_action.emit(f"open {len(paths)} file(s): " + ", ".join(os.path.basename(p) for p in paths))
        self._loading += 1
        self.progress.setRange(0, len(paths))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self._show_status("Loading " + ", ".join(os.path.basename(p) for p in paths) + " …")
        task = submit(load_files, paths)
        task.progress.connect(self._on_load_progress)
        task.finished.connect(self._on_loaded)
        task.failed.connect(self._on_load_failed)
        self._tasks.append(task)

    @property
    def is_loading(self) -> bool:
        return self._loading > 0

    @safe_slot
    def _on_load_progress(self, done: int, total: int) -> None:
        if not self._shut_down:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _finish_task(self) -> None:
        self._tasks = [task for task in self._tasks if task is not self.sender()]
        self._loading = max(self._loading - 1, 0)
        if self._loading == 0:
            self.progress.setVisible(False)

    @safe_slot
    def _on_load_failed(self, exc: BaseException) -> None:
        self._finish_task()
        if not self._shut_down:
            log.error("loading failed", exc_info=(type(exc), exc, exc.__traceback__))
            self._error(f"Loading failed: {exc}")

    @safe_slot
    def _on_loaded(self, outcomes: list[LoadOutcome]) -> None:
        self._finish_task()
        if self._shut_down:
            return
        errors, opened = [], []
        for outcome in outcomes:
            if outcome.error:
                errors.append(outcome.error)
                continue
            dataset = Dataset(outcome.path, outcome.objects)
            self._add_dataset(dataset)
            opened.append(dataset)
            gui_settings.add_recent_file(outcome.path)
        if opened:
            self._refresh_dataset_panel()
            names = ", ".join(os.path.basename(d.path) for d in opened)
            self._show_status(f"Opened {names}")
            warnings = [f"{os.path.basename(d.path)}: {w}" for d in opened for w in d.warnings]
            if warnings:
                self._show_status("; ".join(warnings))
        self._apply_pending_normalisations()
        if self._pending_current and self._pending_current in self._datasets:
            self.select_dataset(self._pending_current)
            self._pending_current = None
        if errors:
            self._error("\n".join(errors), title="Could not open file" + ("s" if len(errors) > 1 else ""))
        self._update_actions()

    def _add_dataset(self, dataset: Dataset) -> None:
        key = dataset.key
        self._datasets[key] = dataset
        pending = self._pending_state.pop(key, None)
        if dataset.kind == "rxes":
            document = self.rxes_panel.add_dataset(dataset, show=True)
            if pending:
                self.rxes_panel.restore_document(document, pending)
                if isinstance(pending.get("normalisation"), dict):
                    self._pending_normalisations[key] = pending["normalisation"]
            if self.xes_panel is not None:
                for rxes_map in dataset.maps:  # the XES tab can take 1D slices of a map at chosen Ω
                    self.xes_panel.add_map(rxes_map, path=dataset.path)
            self.tabs.setCurrentWidget(self.rxes_panel)
        elif self.xes_panel is not None:
            self.xes_panel.add_spectra(dataset.spectra)
            if self.rxes_panel.document is None:
                self.tabs.setCurrentWidget(self.xes_panel)
        self._current_key = key
        self.metadata_panel.show_dataset(dataset)

    def _apply_pending_normalisations(self) -> None:
        """Re-apply session normalisations whose reference spectrum is now loaded."""
        for key, state in list(self._pending_normalisations.items()):
            source = os.path.abspath(str(state.get("reference_source") or ""))
            channel = state.get("reference_channel")
            window = state.get("window")
            reference = next((spectrum for dataset in self._datasets.values() for spectrum in dataset.spectra
                              if os.path.abspath(spectrum.source or dataset.path) == source
                              and (spectrum.channel.value if spectrum.channel else None) == channel), None)
            if reference is None or not isinstance(window, (list, tuple)) or len(window) != 2:
                continue
            del self._pending_normalisations[key]
            document = next((d for d in self.rxes_panel.documents if d.dataset.key == key), None)
            if document is None:
                continue
            try:
                if document is self.rxes_panel.document:
                    self.rxes_panel.normalise(reference, (float(window[0]), float(window[1])))
                else:
                    document.set_normalisation(reference, (float(window[0]), float(window[1])))
            except ValueError as exc:
                self._show_status(f"Session normalisation of {os.path.basename(key)} not restored: {exc}")

    # ------------------------------------------------------------------ datasets
    @property
    def datasets(self) -> list[Dataset]:
        return list(self._datasets.values())

    def reference_spectra(self) -> list[tuple[str, object]]:
        """Loaded 1D spectra usable as normalisation references: (label, Spectrum)."""
        found = []
        for dataset in self._datasets.values():
            for spectrum in dataset.spectra:
                channel = f" ({spectrum.channel})" if spectrum.channel is not None else ""
                found.append((f"{dataset.title}{channel}", spectrum))
        return found

    def _refresh_dataset_panel(self) -> None:
        self.dataset_panel.set_datasets(list(self._datasets.values()), self._current_key)

    def select_dataset(self, key: str) -> None:
        dataset = self._datasets.get(key)
        if dataset is None:
            return
        self._current_key = key
        self.metadata_panel.show_dataset(dataset)
        if dataset.kind == "rxes":
            self.rxes_panel.show_document(key)
            self.tabs.setCurrentWidget(self.rxes_panel)
        elif self.xes_panel is not None:
            self.tabs.setCurrentWidget(self.xes_panel)
        self._refresh_dataset_panel()
        self._update_actions()

    @safe_slot
    def _on_dataset_selected(self, key: str) -> None:
        self.user_action.emit(f"select dataset {os.path.basename(key)}")
        self.select_dataset(key)

    def close_current_dataset(self) -> None:
        key = self._current_key
        if key is None:
            return
        dataset = self._datasets.pop(key, None)
        if dataset is not None and dataset.kind == "rxes":
            self.rxes_panel.remove_dataset(key)
        if dataset is not None and self.xes_panel is not None:
            # its scans, its maps offered for Ω slices and the slices taken from them leave the XES tab too
            self.xes_panel.remove_source(dataset.path)
        self._current_key = next(reversed(self._datasets), None) if self._datasets else None
        self.metadata_panel.show_dataset(self._datasets.get(self._current_key) if self._current_key else None)
        self._refresh_dataset_panel()
        self._update_actions()
        self.user_action.emit(f"close dataset {os.path.basename(key)}")

    @safe_slot
    def _on_display_changed(self) -> None:
        """View/channel/normalisation changed in the panel's own controls: keep menus and toolbar in step."""
        if not self._shut_down:
            self._update_actions()

    @safe_slot
    def _on_document_changed(self) -> None:
        document = self.rxes_panel.document
        if document is not None and document.dataset.key in self._datasets and not self._shut_down:
            self._current_key = document.dataset.key
            self.metadata_panel.show_dataset(document.dataset)
            self._refresh_dataset_panel()
        self._update_actions()

    # ------------------------------------------------------------------ view and channel
    def set_view(self, view: str) -> None:
        self.rxes_panel.set_view(view)
        self._update_actions()

    def set_channel(self, channel: str) -> None:
        if channel not in self.rxes_panel.available_channels():
            self._show_status(f"This scan has no {channel} channel.")
            self._update_actions()
            return
        self.rxes_panel.set_channel(channel)
        self._update_actions()

    def reset_zoom(self) -> None:
        panel = self.rxes_panel
        if panel.document is not None:
            panel.map_plot.set_style(panel.style)
            from xestools.figures import view_limits

            (x0, x1), (y0, y1) = view_limits(panel.map_plot.rxes_map, panel.style.view)
            panel.map_ax.set_xlim(x0, x1)
            panel.map_ax.set_ylim(y0, y1)
            panel.map_canvas.draw_idle()

    def _update_actions(self) -> None:
        panel = self.rxes_panel
        has_map = panel.document is not None
        channels = panel.available_channels()
        for action in (self.incident_view_action, self.transfer_view_action, self.export_map_figure_action,
                       self.export_map_data_action, self.reset_zoom_action, self.normalise_action,
                       self.remove_cuts_action, *self.add_cut_actions.values()):
            action.setEnabled(has_map)
        self.save_profiles_action.setEnabled(has_map)
        self.export_profile_figure_action.setEnabled(has_map)
        self.remove_normalisation_action.setEnabled(has_map and panel.document.normalisation is not None)
        self.close_dataset_action.setEnabled(self._current_key is not None)
        self.upper_action.setEnabled("upper" in channels)
        self.lower_action.setEnabled("lower" in channels)
        if has_map and panel.document.channel is not None:
            (self.upper_action if panel.document.channel.value == "upper" else self.lower_action).setChecked(True)
        (self.transfer_view_action if panel.style.view == "transfer" else self.incident_view_action).setChecked(True)

    # ------------------------------------------------------------------ export
    def _save_name(self, title: str, suggestion: str, file_filter: str) -> str:
        folder = gui_settings.last_folder(str(Path.home()))
        path, _ = QFileDialog.getSaveFileName(self, title, os.path.join(folder, suggestion), file_filter)
        if path:
            gui_settings.set_last_folder(os.path.dirname(path))
        return path

    def export_profiles_dialog(self) -> None:
        from xestools.gui import export

        if not self.rxes_panel.cut_results():
            self._show_status("Add a cut first: there is no profile to save.")
            return
        path = self._save_name("Save cut profiles", export.suggested_stem(self.rxes_panel) + ".csv",
                               "CSV (*.csv);;NeXus (*.nxs)")
        if path:
            written = export.export_profiles(self.rxes_panel, path)
            self._show_status("Saved " + ", ".join(os.path.basename(p) for p in written))

    def export_figure_dialog(self, which: str) -> None:
        from xestools.gui import export

        path = self._save_name(f"Export {which} figure", export.suggested_stem(self.rxes_panel) + f"_{which}.png",
                               "PNG image (*.png);;SVG (*.svg);;PDF (*.pdf)")
        if path:
            canvas = self.rxes_panel.map_canvas if which == "map" else self.rxes_panel.profile_canvas
            export.export_figure(canvas, path)
            self._show_status(f"Saved {os.path.basename(path)}")

    def export_map_dialog(self) -> None:
        from xestools.gui import export

        path = self._save_name("Export map data", export.suggested_stem(self.rxes_panel) + "_map.nxs",
                               "NeXus (*.nxs);;CSV (*.csv)")
        if path:
            export.export_map(self.rxes_panel, path)
            self._show_status(f"Saved {os.path.basename(path)}")

    # ------------------------------------------------------------------ messages
    @safe_slot
    def _show_status(self, text: str) -> None:
        if not self._shut_down:
            self.status_label.setText(text)

    def _error(self, text: str, title: str = "xestools") -> None:
        """A non-modal message (the window stays usable) and a status-bar line."""
        log.warning("%s: %s", title, text)
        self.last_errors.append(text)
        self._show_status(text.splitlines()[0])
        if self._shut_down:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(safe_slot(lambda _result, b=box: self._messages.remove(b) if b in self._messages else None))
        self._messages.append(box)
        box.show()

    def show_help(self) -> None:
        QMessageBox.information(self, "xestools help", HELP_TEXT)

    def show_about(self) -> None:
        from xestools import __version__

        QMessageBox.about(self, "About xestools",
                          f"<b>xestools {__version__}</b><p>Viewer and analysis tools for X-ray emission "
                          "spectroscopy (XES/RXES) scans from the Diamond Light Source I20 beamline.</p>")

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
        """The workspace as JSON-serialisable data: files, channels, cuts, view, XES panel, geometry."""
        rxes = self.rxes_panel.session_state()
        documents = {os.path.abspath(d["path"]): d for d in rxes.pop("documents")}
        files = []
        for key, dataset in self._datasets.items():
            entry = {"path": dataset.path, "kind": dataset.kind}
            entry.update({k: v for k, v in documents.get(key, {}).items() if k != "path"})
            files.append(entry)
        state = {
            "version": SESSION_VERSION,
            "files": files,
            "current": self._datasets[self._current_key].path if self._current_key in self._datasets else None,
            "rxes": rxes,
            "tab": "xes" if self.xes_panel is not None and self.tabs.currentWidget() is self.xes_panel else "rxes",
            "geometry": bytes(self.saveGeometry().toBase64()).decode("ascii"),
            "window_state": bytes(self.saveState().toBase64()).decode("ascii"),
        }
        if self.xes_panel is not None:
            state["xes_panel"] = self.xes_panel.session_state()
        return state

    def restore_session(self, state: dict) -> None:
        """Reopen the files of ``state`` and reapply channels, cuts, view and layout; unknown keys are ignored."""
        if not isinstance(state, dict):
            log.warning("ignoring session state of type %s", type(state).__name__)
            return
        rxes = state.get("rxes") or {}
        if isinstance(rxes.get("style"), dict):
            self.rxes_panel.restore_style(rxes["style"])
        for key, name in (("geometry", "restoreGeometry"), ("window_state", "restoreState")):
            value = state.get(key)
            if isinstance(value, str) and value:
                getattr(self, name)(QByteArray.fromBase64(value.encode("ascii")))
        if self.xes_panel is not None and isinstance(state.get("xes_panel"), dict):
            self.xes_panel.restore_session(state["xes_panel"])
        paths, missing = [], []
        for entry in state.get("files") or []:
            if not isinstance(entry, dict) or not entry.get("path"):
                continue
            path = str(entry["path"])
            if not os.path.isfile(path):
                missing.append(path)
                continue
            self._pending_state[os.path.abspath(path)] = entry
            paths.append(path)
        current = state.get("current")
        self._pending_current = os.path.abspath(current) if isinstance(current, str) else None
        if missing:
            self._error("These files of the session no longer exist and were skipped:\n" + "\n".join(missing),
                        title="Restore session")
        if paths:
            self.open_paths(paths)
        self._update_actions()

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Close every canvas and panel, stop timers, save the layout; safe to call twice."""
        if self._shut_down:
            return
        try:
            self._save_window_settings()
        except RuntimeError as exc:
            log.warning("could not save window settings: %s", exc)
        self._shut_down = True
        for box in list(self._messages):
            box.close()
        self._messages.clear()
        self.rxes_panel.shutdown()
        if self.xes_panel is not None:
            self.xes_panel.shutdown()
        self._tasks.clear()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.shutdown()
        super().closeEvent(event)
