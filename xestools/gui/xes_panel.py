"""The XES tab: overlay, average, normalise, subtract a background, compare 1D spectra.

The panel turns user intent into calls on :mod:`xestools.analysis` and shows the results; the
state is the list of domain items in :class:`~xestools.gui.xes_model.XesListModel`. Every derived
result is a new, named, removable item that remembers its inputs and parameters.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
from typing import Iterable, Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from xestools.gui.canvas import PlotCanvas
from xestools.gui.xes_model import (
    ItemKind,
    ItemRole,
    XesItem,
    XesListModel,
    compute_derived,
    describe,
    intensity_label,
    recompute,
    recompute_dependants,
    spectra_of,
)
from xestools.io.atomic import atomic_write
from xestools.io.errors import XesFormatError
from xestools.model import Channel, RXESMap, Spectrum
from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.gui.xes_panel")

SESSION_VERSION = 1
#: with more visible items than this (the palette size: colours repeat) a legend cannot tell
#: them apart; a note points to the scan list instead (and the redraw stays fast)
LEGEND_MAX = 10
#: up to this many visible items the legend sits inside the axes; beyond, right of them
LEGEND_INSIDE = 6
#: legend labels longer than this are shortened in the middle (the list and tooltips keep the full name)
LEGEND_LABEL_CHARS = 64
#: … and right of the axes, where the legend has about a quarter of the figure's width
LEGEND_OUTSIDE_CHARS = 34
#: ticked items whose maxima differ by more than this get a hint to scale each to its maximum
MAGNITUDE_HINT_RATIO = 20.0
#: right edge of the axes (figure fraction) without / with the legend outside
PLOT_RIGHT, PLOT_RIGHT_WITH_LEGEND = 0.97, 0.72
#: top edge of the axes without / with the note that replaces a crowded legend
PLOT_TOP, PLOT_TOP_WITH_NOTE = 0.96, 0.93
LOAD_FILTER = "Scans (*.nxs *.nx5 *.h5 *.hdf5 *.dat *.txt *.csv *.xy);;All files (*)"


def load_files(paths: Sequence[str], report_progress=None) -> tuple[list[tuple[str, list]], list[tuple[str, str]]]:
    """Load each file with :func:`xestools.io.load`; runs on the worker pool.

    Returns ``(loaded, failures)``: ``loaded`` holds ``(path, objects)``, ``failures`` holds
    ``(path, reason)`` for files that could not be read (the others still load).
    """
    from xestools.io import load

    loaded, failures = [], []
    for done, path in enumerate(paths, start=1):
        try:
            loaded.append((path, load(path)))
        except XesFormatError as exc:
            failures.append((path, str(exc)))
        except OSError as exc:
            failures.append((path, f"{os.path.basename(path)}: cannot be read ({exc.strerror or exc})"))
        if report_progress is not None:
            report_progress(done, len(paths))
    return loaded, failures


def _y_label(items: Sequence[XesItem], *, scale: str = "data") -> str:
    return intensity_label([item.spectrum for item in items], scale=scale)


def _legend_text(label: str, limit: int = LEGEND_LABEL_CHARS) -> str:
    """``label`` shortened in the middle to ``limit`` characters (start and end tell items apart)."""
    if len(label) <= limit:
        return label
    keep = limit - 1
    return label[: keep - keep // 2] + "…" + label[len(label) - keep // 2:]


class XesPanel(QWidget):
    """The XES tab of the main window (see the main-window contract in the design notes)."""

    status_message = Signal(str)
    user_action = Signal(str)
    #: emitted after an asynchronous load: (files loaded, files failed)
    files_loaded = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = XesListModel(self)
        self.maps: list[RXESMap] = []
        self.failures: list[tuple[str, str]] = []
        self.metrics_rows: list = []
        self.background_settings: dict = {}
        self._pending_loads = 0
        self._closed = False
        self._line_artists: dict[int, object] = {}
        self._line_keys: dict[int, _DrawKey] = {}
        self._band_cache: dict[int, tuple[_DrawKey, list]] = {}
        self._legend_key: tuple | None = None
        self._magnitude_hint_key: tuple | None = None
        self._batch_depth = 0
        self._refresh_pending = False
        self._build()
        self.model.items_reset.connect(self._on_items_reset)
        self.model.item_changed.connect(self._on_item_changed)
        self._refresh_all()

    # ================================================================== construction
    def _build(self) -> None:
        self.list_view = QTreeView()
        self.list_view.setModel(self.model)
        self.list_view.setRootIsDecorated(False)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.SelectedClicked)
        self.list_view.setTextElideMode(Qt.TextElideMode.ElideRight)  # the tooltip has the full name
        self.list_view.setUniformRowHeights(True)
        # Fixed widths from the font, not ResizeToContents: that asks every row of every column
        # for its size on each change (~30 ms with 50 scans). The name column takes the rest.
        header = self.list_view.header()
        header.setStretchLastSection(False)
        metrics = self.list_view.fontMetrics()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, sample in ((1, "normalised"), (2, "upper (of 2)"), (3, "0000000"), (4, "ZnO_synth")):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 12)
        header.setMinimumSectionSize(40)
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.list_view.selectionModel().selectionChanged.connect(self._on_selection_changed)

        self.open_button = QPushButton("Open…")
        self.remove_button = QPushButton("Remove")
        self.clear_button = QPushButton("Clear")
        self.up_button = QPushButton("↑")
        self.down_button = QPushButton("↓")
        self.colour_button = QPushButton("Colour…")
        for button in (self.up_button, self.down_button):
            button.setFixedWidth(32)
        self.up_button.setToolTip("Move the selected item up")
        self.down_button.setToolTip("Move the selected item down")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.clear_button.clicked.connect(self._on_clear_clicked)
        self.up_button.clicked.connect(self._on_up_clicked)
        self.down_button.clicked.connect(self._on_down_clicked)
        self.colour_button.clicked.connect(self._on_colour_clicked)
        list_buttons = QHBoxLayout()
        for button in (self.open_button, self.remove_button, self.clear_button, self.up_button, self.down_button, self.colour_button):
            list_buttons.addWidget(button)

        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("Spectrometer channel of the selected scan (two-channel scans)")
        self.channel_combo.activated.connect(self._on_channel_activated)
        self.recompute_button = QPushButton("Recompute selected")
        self.recompute_button.setToolTip("Recompute the selected derived items from their current inputs")
        self.recompute_button.clicked.connect(self._on_recompute_clicked)
        channel_row = QHBoxLayout()
        channel_row.addWidget(QLabel("Channel"))
        channel_row.addWidget(self.channel_combo, 1)
        channel_row.addWidget(self.recompute_button)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.failure_label = QLabel("Files not loaded:")
        self.failure_list = QListWidget()
        self.failure_list.setMaximumHeight(90)
        self.failure_label.setVisible(False)
        self.failure_list.setVisible(False)

        self.map_combo = QComboBox()
        self.omega_spin = QDoubleSpinBox()
        self.omega_spin.setDecimals(2)
        self.omega_spin.setRange(0.0, 1e6)
        self.omega_spin.setSuffix(" eV")
        self.omega_width_spin = QDoubleSpinBox()
        self.omega_width_spin.setDecimals(2)
        self.omega_width_spin.setRange(0.0, 100.0)
        self.omega_width_spin.setSuffix(" eV")
        self.omega_width_spin.setSpecialValueText("nearest row")
        self.omega_width_spin.setToolTip("Full width of the Ω band to sum; 'nearest row' takes one row of the map")
        self.map_slice_button = QPushButton("Add XES at Ω")
        self.map_slice_button.clicked.connect(self._on_map_slice_clicked)
        self.map_combo.currentIndexChanged.connect(self._on_map_changed)
        self.map_box = QWidget()
        map_layout = QGridLayout(self.map_box)
        map_layout.setContentsMargins(0, 0, 0, 0)
        map_layout.addWidget(QLabel("Map"), 0, 0)
        map_layout.addWidget(self.map_combo, 0, 1, 1, 3)
        map_layout.addWidget(QLabel("Ω"), 1, 0)
        map_layout.addWidget(self.omega_spin, 1, 1)
        map_layout.addWidget(QLabel("width"), 1, 2)
        map_layout.addWidget(self.omega_width_spin, 1, 3)
        map_layout.addWidget(self.map_slice_button, 2, 0, 1, 4)
        self.map_box.setVisible(False)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(list_buttons)
        left_layout.addWidget(self.list_view, 1)
        left_layout.addLayout(channel_row)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.failure_label)
        left_layout.addWidget(self.failure_list)
        left_layout.addWidget(self.map_box)

        # ---------------------------------------------------------- plot
        self.plot = PlotCanvas(self, figsize=(7.0, 4.5))
        self.axes = self.plot.figure.add_subplot(1, 1, 1)
        self.plot.figure.subplots_adjust(left=0.12, right=PLOT_RIGHT, top=PLOT_TOP, bottom=0.12)
        self.axes.set_xlabel("ω (eV)")
        self.axes.set_ylabel(_y_label([]))
        from matplotlib.collections import PolyCollection

        # every item's ±σ band in one collection: one artist to draw, not one per item
        self._bands = PolyCollection([], alpha=0.25, linewidths=0, zorder=2)
        self.axes.add_collection(self._bands, autolim=False)
        self._window_patch = self.axes.axvspan(0.0, 1.0, color="#ffbf00", alpha=0.18, lw=0, visible=False)
        # above the axes, right-aligned: replaces the legend when it cannot tell the items apart
        self._legend_note = self.axes.text(1.0, 1.012, "", ha="right", va="bottom", transform=self.axes.transAxes,
                                           fontsize="small", color="0.3", visible=False)
        self._empty_text = self.axes.text(0.5, 0.5, "Open XES scans to overlay them", ha="center", va="center",
                                          transform=self.axes.transAxes, color="0.45")
        self.plot.connect("motion_notify_event", self._on_motion)
        from matplotlib.widgets import SpanSelector

        self._span_selector = SpanSelector(
            self.axes, safe_slot(self._on_window_span), "horizontal", useblit=True, interactive=False,
            props={"alpha": 0.25, "facecolor": "#ffbf00"}, minspan=1e-6,
        )
        self._span_selector.set_active(False)

        self.offset_spin = QDoubleSpinBox()
        self.offset_spin.setDecimals(0)
        self.offset_spin.setRange(0.0, 500.0)
        self.offset_spin.setSingleStep(10.0)
        self.offset_spin.setSuffix(" %")
        self.offset_spin.setSpecialValueText("none")
        self.offset_spin.setToolTip("Vertical offset between successive visible items, "
                                    "in % of the largest intensity range shown")
        self.stack_check = QCheckBox("Stack")
        self.stack_check.setToolTip("Offset each item by 110 % of the largest intensity range of the visible items")
        self.y_scale_combo = QComboBox()
        self.y_scale_combo.addItem("as measured", "data")
        self.y_scale_combo.addItem("each ÷ its maximum", "max")
        self.y_scale_combo.setToolTip("Display only: scale every ticked item to its own maximum to compare "
                                      "shapes of very different magnitude (the items are not changed)")
        self.y_scale_combo.currentIndexChanged.connect(self._on_plot_option_changed)
        self.bands_check = QCheckBox("±σ bands")
        self.bands_check.setChecked(True)
        self.cursor_label = QLabel("")
        self.export_plot_button = QPushButton("Export plot…")
        self.rescale_y_button = QPushButton("Fit Y")
        self.rescale_y_button.setToolTip("Fit the intensity axis to the ticked items inside the energy range shown "
                                         "(after zooming on a region, e.g. the valence-to-core lines)")
        self.rescale_y_button.clicked.connect(self._on_rescale_y_clicked)
        self.offset_spin.valueChanged.connect(self._on_plot_option_changed)
        self.stack_check.toggled.connect(self._on_plot_option_changed)
        self.bands_check.toggled.connect(self._on_plot_option_changed)
        self.export_plot_button.clicked.connect(self._on_export_plot_clicked)
        plot_controls = QHBoxLayout()
        plot_controls.addWidget(QLabel("Y scale"))
        plot_controls.addWidget(self.y_scale_combo)
        plot_controls.addWidget(QLabel("Offset"))
        plot_controls.addWidget(self.offset_spin)
        plot_controls.addWidget(self.stack_check)
        plot_controls.addWidget(self.bands_check)
        plot_controls.addWidget(self.rescale_y_button)
        plot_controls.addStretch(1)
        # the cursor readout and export on their own row keep the panel narrow enough for a laptop
        readout_row = QHBoxLayout()
        readout_row.addWidget(self.cursor_label, 1)
        readout_row.addWidget(self.export_plot_button)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_average_tab(), "Average")
        self.tabs.addTab(self._build_normalise_tab(), "Normalise")
        self.tabs.addTab(self._build_background_tab(), "Background")
        self.tabs.addTab(self._build_metrics_tab(), "Metrics")
        self.tabs.addTab(self._build_difference_tab(), "Difference")
        self.tabs.addTab(self._build_export_tab(), "Export")
        self.tabs.currentChanged.connect(self._on_tab_changed)

        plot_area = QWidget()
        plot_layout = QVBoxLayout(plot_area)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_layout.addWidget(self.plot, 1)
        plot_layout.addLayout(plot_controls)
        plot_layout.addLayout(readout_row)
        right = QSplitter(Qt.Orientation.Vertical)  # the user sizes plot against the tools
        right.addWidget(plot_area)
        right.addWidget(self.tabs)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setSizes([600, 250])

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)  # the list keeps room for names on a small screen
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([600, 800])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _build_average_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.average_name_edit = QLineEdit()
        self.average_name_edit.setPlaceholderText("automatic (average of N)")
        self.average_grid_combo = QComboBox()
        self.average_grid_combo.addItem("Overlap of the scans", "overlap")
        self.average_grid_combo.addItem("Union of the scans", "union")
        self.average_weighted_check = QCheckBox("Weight by 1/σ²")
        self.average_button = QPushButton("Average the ticked scans")
        self.average_button.clicked.connect(self._on_average_clicked)
        form.addRow("Name", self.average_name_edit)
        form.addRow("Grid", self.average_grid_combo)
        form.addRow("", self.average_weighted_check)
        form.addRow("", self.average_button)
        return tab

    def _build_normalise_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.window_lo_spin = QDoubleSpinBox()
        self.window_hi_spin = QDoubleSpinBox()
        for spin in (self.window_lo_spin, self.window_hi_spin):
            spin.setMinimumWidth(120)
            spin.setDecimals(2)
            spin.setRange(-1e6, 1e6)
            spin.setSingleStep(0.1)
            spin.setSuffix(" eV")
            spin.valueChanged.connect(self._on_window_typed)
        window_row = QHBoxLayout()
        window_row.addWidget(self.window_lo_spin)
        window_row.addWidget(QLabel("to"))
        window_row.addWidget(self.window_hi_spin)
        self.drag_window_button = QPushButton("Drag on plot")
        self.drag_window_button.setCheckable(True)
        self.drag_window_button.setToolTip("Drag across the plot to choose the area window")
        self.drag_window_button.toggled.connect(self._on_drag_window_toggled)
        window_row.addWidget(self.drag_window_button)
        window_row.addStretch(1)
        self.reference_combo = QComboBox()
        self.normalise_button = QPushButton("Normalise the selected items")
        self.normalise_button.clicked.connect(self._on_normalise_clicked)
        self.factor_label = QLabel("Factor: —")
        self.factor_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Window", window_row)
        form.addRow("Area of", self.reference_combo)
        form.addRow("", self.normalise_button)
        form.addRow("", self.factor_label)
        return tab

    def _build_background_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.background_button = QPushButton("Fit a background to the selected item…")
        self.background_button.clicked.connect(self._on_background_clicked)
        hint = QLabel("Models: linear, polynomial (0–3), Pearson VII and pseudo-Voigt tails and their sums; "
                      "exclusion spans; optional wide scan. Background and residual become new items.")
        hint.setWordWrap(True)
        layout.addWidget(self.background_button)
        layout.addWidget(hint)
        layout.addStretch(1)
        return tab

    def _build_metrics_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.metrics_lo_spin = QDoubleSpinBox()
        self.metrics_hi_spin = QDoubleSpinBox()
        for spin in (self.metrics_lo_spin, self.metrics_hi_spin):
            spin.setDecimals(2)
            spin.setRange(-1e6, 1e6)
            spin.setSuffix(" eV")
        self.metrics_full_range_check = QCheckBox("Whole range")
        self.metrics_full_range_check.setChecked(True)
        self.metrics_reference_combo = QComboBox()
        self.metrics_button = QPushButton("Compute for the ticked items")
        self.metrics_export_button = QPushButton("Export CSV…")
        self.metrics_button.clicked.connect(self._on_metrics_clicked)
        self.metrics_export_button.clicked.connect(self._on_metrics_export_clicked)
        row.addWidget(QLabel("Window"))
        row.addWidget(self.metrics_lo_spin)
        row.addWidget(QLabel("to"))
        row.addWidget(self.metrics_hi_spin)
        row.addWidget(self.metrics_full_range_check)
        row.addStretch(1)
        # a second row keeps the tab (and so the window) narrow enough for a laptop screen
        actions_row = QHBoxLayout()
        actions_row.addWidget(QLabel("IAD vs"))
        actions_row.addWidget(self.metrics_reference_combo, 1)
        actions_row.addWidget(self.metrics_button)
        actions_row.addWidget(self.metrics_export_button)
        from xestools.analysis.metrics import METRIC_COLUMNS

        self.metrics_table = QTableWidget(0, len(METRIC_COLUMNS))
        self.metrics_table.setHorizontalHeaderLabels([title for _, title in METRIC_COLUMNS])
        self.metrics_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.metrics_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)  # item names can be long
        header.resizeSection(0, 240)
        header.setStretchLastSection(True)
        self.metrics_table.verticalHeader().setVisible(False)
        self.metrics_table.verticalHeader().setDefaultSectionSize(self.metrics_table.fontMetrics().height() + 8)
        self.metrics_table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.metrics_table.setAlternatingRowColors(True)
        layout.addLayout(row)
        layout.addLayout(actions_row)
        layout.addWidget(self.metrics_table, 1)
        return tab

    def _build_difference_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.difference_a_combo = QComboBox()
        self.difference_b_combo = QComboBox()
        self.difference_button = QPushButton("Add A − B")
        self.difference_button.clicked.connect(self._on_difference_clicked)
        form.addRow("A", self.difference_a_combo)
        form.addRow("B", self.difference_b_combo)
        form.addRow("", self.difference_button)
        return tab

    def _build_export_tab(self) -> QWidget:
        tab = QWidget()
        layout = QHBoxLayout(tab)
        self.export_csv_button = QPushButton("Selected item → CSV…")
        self.export_nexus_button = QPushButton("Selected item → NeXus…")
        self.export_report_button = QPushButton("Fit report → text…")
        self.export_csv_button.clicked.connect(self._on_export_csv_clicked)
        self.export_nexus_button.clicked.connect(self._on_export_nexus_clicked)
        self.export_report_button.clicked.connect(self._on_export_report_clicked)
        for button in (self.export_csv_button, self.export_nexus_button, self.export_report_button):
            layout.addWidget(button)
        layout.addStretch(1)
        return tab

    # ================================================================== selection helpers
    def selected_uids(self) -> list[int]:
        rows = sorted({index.row() for index in self.list_view.selectionModel().selectedRows()})
        return [self.model.item_at(row).uid for row in rows if row < self.model.rowCount()]

    def select_uids(self, uids: Iterable[int]) -> None:
        from PySide6.QtCore import QItemSelectionModel

        selection = self.list_view.selectionModel()
        selection.clearSelection()
        for uid in uids:
            row = self.model.row_of(uid)
            if row >= 0:
                selection.select(self.model.index(row, 0),
                                 QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)

    def current_item(self) -> XesItem | None:
        uids = self.selected_uids()
        return self.model.item(uids[0]) if uids else None

    def _require_selected(self) -> XesItem | None:
        item = self.current_item()
        if item is None:
            self._status("Select an item in the list first.")
        return item

    def _status(self, text: str) -> None:
        log.info(text)
        self.status_message.emit(text)

    def _action(self, text: str) -> None:
        self.user_action.emit(f"XES: {text}")

    # ================================================================== loading
    def open_paths(self, paths: Sequence[str]) -> None:
        """Load files on the worker pool; spectra join the list, maps become available for Ω slices."""
        from xestools.gui.workers import submit

        paths = [os.fspath(path) for path in paths]
        if not paths:
            return
        self._action(f"open {len(paths)} file(s)")
        self._pending_loads += 1
        self.progress.setRange(0, len(paths))
        self.progress.setValue(0)
        self.progress.setFormat(f"Loading %v of {len(paths)}")
        self.progress.setVisible(True)
        task = submit(load_files, paths)
        task.progress.connect(self._on_load_progress)
        task.finished.connect(self._on_files_loaded)
        task.failed.connect(self._on_load_failed)

    @safe_slot
    def _on_load_progress(self, done: int, total: int) -> None:
        if not self._closed:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    @safe_slot
    def _on_files_loaded(self, result) -> None:
        if self._closed:
            return
        loaded, failures = result
        self._pending_loads = max(0, self._pending_loads - 1)
        self.progress.setVisible(self._pending_loads > 0)
        with self.batched():
            for path, objects in loaded:
                self._add_loaded(path, objects)
        self._add_failures(failures)
        message = f"Loaded {len(loaded)} file(s)"
        if failures:
            message += f"; {len(failures)} could not be read (listed under the scan list)"
        self._status(message)
        self.files_loaded.emit(len(loaded), len(failures))

    @safe_slot
    def _on_load_failed(self, exc) -> None:
        if self._closed:
            return
        self._pending_loads = max(0, self._pending_loads - 1)
        self.progress.setVisible(self._pending_loads > 0)
        log.error("loading failed", exc_info=(type(exc), exc, exc.__traceback__))
        self._add_failures([("(load)", f"unexpected error: {exc}")])
        self.files_loaded.emit(0, 1)

    def _add_failures(self, failures: Sequence[tuple[str, str]]) -> None:
        for path, reason in failures:
            self.failures.append((path, reason))
            self.failure_list.addItem(reason)
            self.failure_list.item(self.failure_list.count() - 1).setToolTip(path)
        visible = bool(self.failures)
        self.failure_label.setVisible(visible)
        self.failure_list.setVisible(visible)

    def _add_loaded(self, path: str, objects: Sequence) -> None:
        spectra = [obj for obj in objects if isinstance(obj, Spectrum)]
        for obj in objects:
            if isinstance(obj, RXESMap):
                self.add_map(obj, path=path)
        if spectra:
            self._add_scan(spectra, path)

    def add_spectra(self, spectra: Sequence[Spectrum]) -> list[XesItem]:
        """Add loaded spectra; spectra of one file that differ only by channel become one item."""
        groups: list[list[Spectrum]] = []
        for spectrum in spectra:
            last = groups[-1] if groups else None
            if (last and spectrum.source and last[0].source == spectrum.source
                    and spectrum.channel not in {s.channel for s in last}):
                last.append(spectrum)
            else:
                groups.append([spectrum])
        with self.batched():
            return [self._add_scan(group, group[0].source) for group in groups]

    def _add_scan(self, spectra: Sequence[Spectrum], path: str) -> XesItem:
        """One list item per file: a file already in the list is not added twice (e.g. when the
        main window reopens the files of a restored session), the existing item is returned."""
        first = spectra[0]
        if path:
            key = os.path.abspath(path)
            for existing in self.model.items:
                if existing.kind is ItemKind.SCAN and existing.source_path and os.path.abspath(existing.source_path) == key:
                    self._status(f"{os.path.basename(path)} is already in the XES list")
                    return existing
        name = os.path.basename(path) if path else (first.label or "scan")
        channels = {spectrum.channel: spectrum for spectrum in spectra}
        item = self.model.add_item(ItemKind.SCAN, first, name=name, source_path=path or first.source, channels=channels)
        self._suggest_windows(first)
        return item

    def add_map(self, rxes_map: RXESMap, *, path: str = "") -> None:
        """Make a map available for 1D XES slices at a chosen Ω."""
        if path and not rxes_map.source:
            from xestools.model import evolve

            rxes_map = evolve(rxes_map, source=path)
        for index, known in enumerate(self.maps):
            if known.source and known.source == rxes_map.source and known.channel == rxes_map.channel:
                self.map_combo.setCurrentIndex(index)
                return
        self.maps.append(rxes_map)
        self.map_combo.addItem(_map_title(rxes_map))
        self.map_combo.setCurrentIndex(self.map_combo.count() - 1)
        self.map_box.setVisible(True)

    def add_map_slice(self, map_index: int, omega: float, width: float | None = None) -> XesItem:
        """A 1D XES of a loaded map at incident energy Ω (``analysis.xes_at_incident``)."""
        rxes_map = self.maps[map_index]
        params = {"omega": float(omega), "width": None if not width else float(width),
                  "map_source": rxes_map.source, "map_channel": None if rxes_map.channel is None else str(rxes_map.channel)}
        name = f"{os.path.basename(rxes_map.source) or rxes_map.label} at Ω = {omega:.2f} eV"
        spectrum, _ = compute_derived(ItemKind.MAP_SLICE, [], params, label=name, source_map=rxes_map)
        self._action(f"XES of a map at Ω = {omega:.2f} eV")
        return self.model.add_item(ItemKind.MAP_SLICE, spectrum, name=name, params=params, source_map=rxes_map,
                                   source_path=rxes_map.source)

    def _suggest_windows(self, spectrum: Spectrum) -> None:
        """Give the window spin boxes a sensible range the first time data arrive."""
        if self.window_hi_spin.value() > self.window_lo_spin.value():
            return
        energy = np.asarray(spectrum.energy, dtype=float)
        energy = energy[np.isfinite(energy)]
        if energy.size:
            for lo_spin, hi_spin in ((self.window_lo_spin, self.window_hi_spin), (self.metrics_lo_spin, self.metrics_hi_spin)):
                lo_spin.setValue(float(energy.min()))
                hi_spin.setValue(float(energy.max()))

    # ================================================================== derived items
    def _ticked_scan_uids(self) -> list[int]:
        """Ticked measured spectra (loaded scans and map slices), not derived results."""
        return [item.uid for item in self.model.visible_items() if item.kind in (ItemKind.SCAN, ItemKind.MAP_SLICE)]

    def _ticked_uids(self) -> list[int]:
        return [item.uid for item in self.model.visible_items()]

    def average(self, uids: Sequence[int] | None = None, *, grid: str | None = None, weighted: bool | None = None,
                name: str = "") -> XesItem:
        """New average item of the given (default: ticked) items; it remembers its members."""
        uids = list(uids) if uids is not None else self._ticked_scan_uids()
        if len(uids) < 2:
            raise ValueError("tick at least two loaded scans to average")
        grid = grid or self.average_grid_combo.currentData()
        weighted = self.average_weighted_check.isChecked() if weighted is None else weighted
        params = {"grid": grid, "weighted": bool(weighted)}
        count = sum(item.kind is ItemKind.AVERAGE for item in self.model.items) + 1
        name = name or self.average_name_edit.text().strip() or f"average {count} ({len(uids)} scans" + (", 1/σ²)" if weighted else ")")
        spectrum, _ = compute_derived(ItemKind.AVERAGE, spectra_of(self.model, uids), params, label=name)
        self._action(f"average of {len(uids)} items ({grid}, {'weighted' if weighted else 'plain'})")
        return self.model.add_item(ItemKind.AVERAGE, spectrum, name=name, inputs=uids, params=params)

    def normalise(self, uid: int, window: tuple[float, float] | None = None, *, reference_uid: int | None = None) -> XesItem:
        """New item: ``uid`` divided by the area of itself or of ``reference_uid`` over ``window``."""
        window = tuple(sorted(window or (self.window_lo_spin.value(), self.window_hi_spin.value())))
        if window[1] <= window[0]:
            raise ValueError("choose a normalisation window (drag on the plot or type its limits)")
        for spin, value in ((self.window_lo_spin, window[0]), (self.window_hi_spin, window[1])):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self._update_window_patch()
        item = self.model.item(uid)
        inputs = [uid] + ([reference_uid] if reference_uid is not None else [])
        params = {"window": list(window), "reference": None if reference_uid is None else self.model.item(reference_uid).name}
        base = item.name
        suffix = "own area" if reference_uid is None else f"area of {params['reference']}"
        name = f"{base} / {suffix} {window[0]:.1f}–{window[1]:.1f}"
        spectrum, _ = compute_derived(ItemKind.NORMALISED, spectra_of(self.model, inputs), params, label=name)
        record = spectrum.metadata.get("normalisation", {}) or {}
        params["factor"] = record.get("factor")
        self.factor_label.setText(_factor_text(record))
        self._action(f"normalise {base} ({suffix}, {window[0]:.2f}–{window[1]:.2f} eV)")
        if record.get("window_clipped"):
            self._status(spectrum.metadata["warnings"][-1])  # the area was taken over less than the window asked
        return self.model.add_item(ItemKind.NORMALISED, spectrum, name=name, inputs=inputs, params=params)

    def add_difference(self, a_uid: int, b_uid: int) -> XesItem:
        a, b = self.model.item(a_uid), self.model.item(b_uid)
        name = f"{a.name} − {b.name}"
        spectrum, _ = compute_derived(ItemKind.DIFFERENCE, spectra_of(self.model, [a_uid, b_uid]), {}, label=name)
        self._action(f"difference {name}")
        return self.model.add_item(ItemKind.DIFFERENCE, spectrum, name=name, inputs=[a_uid, b_uid])

    def add_background_fit(self, uid: int, fit, *, wide_uid: int | None, settings: dict) -> tuple[XesItem, XesItem]:
        """Background and residual of an accepted fit as two new items (parameters remembered)."""
        from xestools.model import evolve

        item = self.model.item(uid)
        params = {
            "components": [component.spec() for component in fit.components],
            "exclusions": [list(span) for span in fit.exclusions],
            "weighted": bool(settings.get("weighted", True)),
            "weighting": fit.weighting,
            "wide": None if wide_uid is None else self.model.item(wide_uid).name,
            "r_squared": fit.r_squared,
        }
        inputs = [uid] + ([wide_uid] if wide_uid is not None else [])
        background_name = f"background of {item.name}"
        residual_name = f"{item.name} − background"
        with self.batched():  # two new items, one redraw
            background = self.model.add_item(ItemKind.BACKGROUND, evolve(fit.background, label=background_name),
                                             name=background_name, inputs=inputs, params=params, fit_report=fit.report)
            residual = self.model.add_item(ItemKind.RESIDUAL, evolve(fit.residual, label=residual_name),
                                           name=residual_name, inputs=inputs, params=params, fit_report=fit.report)
        self._action(f"background fit of {item.name}: {fit.model_name}, R² = {fit.r_squared:.4f}")
        return background, residual

    def set_channel(self, uid: int, channel: Channel | str) -> list[XesItem]:
        """Switch a scan's channel; averages, normalisations and differences are recomputed (or kept
        and marked stale when impossible); background fits are kept and marked stale, because their
        exclusion spans were chosen on the other channel's data — "Recompute selected" refits them."""
        channel = Channel(channel)
        with self.batched():
            affected = self.model.set_channel(uid, channel)
            self._action(f"channel of {self.model.item(uid).name} → {channel}")
            still_stale = recompute_dependants(self.model, uid, include_fits=False)
        if affected:
            if still_stale:
                self._status(f"{len(affected) - len(still_stale)} derived item(s) recomputed; "
                             f"{len(still_stale)} kept and marked stale: {still_stale[0].stale_reason}")
            else:
                self._status(f"{len(affected)} derived item(s) recomputed for the {channel} channel")
        return still_stale

    def recompute(self, uids: Sequence[int]) -> int:
        """Recompute the given derived items (and what depends on them); returns how many succeeded."""
        succeeded = 0
        with self.batched():
            for uid in uids:
                if recompute(self.model, uid):
                    succeeded += 1
                    recompute_dependants(self.model, uid)
        return succeeded

    def remove(self, uids: Sequence[int]) -> None:
        with self.batched():
            self.model.remove_uids(uids)

    def remove_source(self, path: str) -> None:
        """Forget everything that came from the file ``path`` (the main window closed it).

        Removed: the loaded scan items of that file, its maps (from the Ω-slice chooser) and the
        XES-at-Ω items taken from those maps — they are the file's own data. Kept: averages,
        normalisations, fits and differences that used them, with their last result, marked stale
        with the reason (as for a channel switch). They are the scientist's work, may already have
        been exported or compared, and the other members of an average are still loaded; removing
        them silently would lose it, while a stale mark says exactly why they can't be recomputed.
        """
        key = os.path.abspath(os.fspath(path))

        def same_file(other: str | None) -> bool:
            return bool(other) and os.path.abspath(other) == key

        doomed = [item.uid for item in self.model.items
                  if (item.kind is ItemKind.SCAN and same_file(item.source_path))
                  or (item.kind is ItemKind.MAP_SLICE and item.source_map is not None and same_file(item.source_map.source))]
        kept_maps = [m for m in self.maps if not same_file(m.source)]
        if not doomed and len(kept_maps) == len(self.maps):
            return
        name = os.path.basename(key)
        self._action(f"remove the items of {name}")
        if len(kept_maps) != len(self.maps):
            current = self.maps[self.map_combo.currentIndex()] if 0 <= self.map_combo.currentIndex() < len(self.maps) else None
            self.maps = kept_maps
            self.map_combo.blockSignals(True)
            self.map_combo.clear()
            for rxes_map in self.maps:
                self.map_combo.addItem(_map_title(rxes_map))
            self.map_combo.blockSignals(False)
            index = next((i for i, known in enumerate(self.maps) if known is current), len(self.maps) - 1)
            self.map_combo.setCurrentIndex(index)
            self._on_map_changed(index)
            self.map_box.setVisible(bool(self.maps))
        kept = {dependant.uid for uid in doomed for dependant in self.model.dependants(uid)} - set(doomed)
        with self.batched():
            self.model.remove_uids(doomed, reason=f"input file {name} was closed; the last result is kept")
        self._status(f"Removed {len(doomed)} item(s) of {name}"
                     + (f"; {len(kept)} derived item(s) kept, marked stale" if kept else ""))

    # ================================================================== background dialog
    def open_background_dialog(self, uid: int | None = None):
        """Open the (window-modal) background dialog for an item; returns the dialog."""
        from xestools.gui.background_dialog import BackgroundDialog

        item = self.model.item(uid) if uid is not None else self._require_selected()
        if item is None:
            return None
        candidates = [(other.uid, other.name, other.spectrum) for other in self.model.items
                      if other.uid != item.uid and other.spectrum.axis == item.spectrum.axis]
        settings = dict(self.background_settings)
        wide_name = settings.pop("wide_name", None)
        settings["wide"] = next((uid_ for uid_, name, _ in candidates if name == wide_name), None)
        dialog = BackgroundDialog(item.spectrum, wide_candidates=candidates, settings=settings, parent=self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        target = item.uid
        dialog.finished.connect(lambda result, d=dialog: self._on_background_finished(d, target, result))
        self._action(f"background dialog for {item.name}")
        dialog.open()
        return dialog

    @safe_slot
    def _on_background_finished(self, dialog, uid: int, result: int) -> None:
        settings = dialog.settings()
        wide_uid = dialog.wide_uid
        wide_item = self.model.item(wide_uid) if wide_uid is not None else None
        self.background_settings = {**settings, "wide": None, "wide_name": wide_item.name if wide_item else None}
        if result == 1 and dialog.fit is not None and not self._closed and self.model.item(uid) is not None:
            self.add_background_fit(uid, dialog.fit, wide_uid=wide_uid, settings=settings)

    # ================================================================== metrics and export
    def compute_metrics(self, uids: Sequence[int] | None = None, *, window: tuple[float, float] | None = None,
                        reference_uid: int | None = None) -> list:
        from dataclasses import replace

        from xestools.analysis.metrics import line_shape_metrics

        uids = list(uids) if uids is not None else self._ticked_uids()
        if window is None and not self.metrics_full_range_check.isChecked():
            window = (self.metrics_lo_spin.value(), self.metrics_hi_spin.value())
        reference = self.model.item(reference_uid).spectrum if reference_uid is not None else None
        rows = []
        reference_name = self.model.item(reference_uid).name if reference_uid else ""
        for uid in uids:
            # a scan with a background fit gets its background-subtracted row right after its raw one
            shown = [self.model.item(uid)] + [residual for residual in self.model.items
                                              if residual.kind is ItemKind.RESIDUAL and residual.inputs[:1] == [uid]
                                              and residual.uid not in uids]
            for item in shown:
                row = line_shape_metrics(item.spectrum, window=window, reference=reference)
                rows.append(replace(row, label=item.name, reference=reference_name))
        self.metrics_rows = rows
        self._fill_metrics_table()
        return rows

    def _fill_metrics_table(self) -> None:
        from xestools.analysis.metrics import METRIC_COLUMNS

        self.metrics_table.setRowCount(len(self.metrics_rows))
        for row_index, row in enumerate(self.metrics_rows):
            values = row.as_dict()
            for column, (key, _) in enumerate(METRIC_COLUMNS):
                cell = QTableWidgetItem(_metric_text(key, values[key]))
                if not isinstance(values[key], str):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    cell.setToolTip(repr(float(values[key])))  # full precision on hover; the CSV has it too
                else:
                    cell.setToolTip(values[key])
                self.metrics_table.setItem(row_index, column, cell)

    def export_metrics(self, path: str | os.PathLike) -> None:
        from xestools.analysis.metrics import metrics_csv

        atomic_write(path, metrics_csv(self.metrics_rows))
        self._status(f"Metrics written to {path}")

    def export_item(self, uid: int, path: str | os.PathLike) -> None:
        """CSV or NeXus by extension (.csv / .nxs, .h5); both read back by ``xestools.io.load``."""
        from xestools.io import write_csv, write_nexus

        item = self.model.item(uid)
        path = os.fspath(path)
        provenance = {
            "item": item.name,
            "kind": item.kind.value,
            "sources": ", ".join(self._source_names(item)),
            "channel": str(item.channel) if item.channel is not None else "",
            "parameters": json.dumps(item.params, default=str),
            "operations": json.dumps(item.spectrum.metadata.get("operations", []), default=str),
        }
        if path.lower().endswith((".nxs", ".nx5", ".h5", ".hdf5")):
            write_nexus(item.spectrum, path, process=provenance)
        else:
            write_csv(item.spectrum, path, header=provenance)
        self._action(f"export {item.name} to {os.path.basename(path)}")
        self._status(f"{item.name} written to {path}")

    def _source_names(self, item: XesItem) -> list[str]:
        if not item.inputs:
            return [item.source_path or item.spectrum.source or item.name]
        names = []
        for uid in item.inputs:
            parent = self.model.item(uid)
            names.extend(self._source_names(parent) if parent is not None else [f"(removed #{uid})"])
        return names

    def save_fit_report(self, uid: int, path: str | os.PathLike) -> None:
        item = self.model.item(uid)
        if not item.fit_report:
            raise ValueError(f"{item.name} has no fit report (only background and residual items do)")
        atomic_write(path, item.fit_report)

    def export_plot(self, path: str | os.PathLike) -> None:
        """PNG, SVG or PDF by extension."""
        self.plot.save(path)
        self._status(f"Plot written to {path}")

    # ================================================================== plot
    def _display_data(self, item: XesItem) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(energy, intensity, σ) as shown: divided by the item's largest |intensity| when the
        "each ÷ its maximum" scale is chosen (display only; the item's data are unchanged)."""
        spectrum = item.spectrum
        energy = np.asarray(spectrum.energy, dtype=float)
        intensity = np.asarray(spectrum.intensity, dtype=float)
        sigma = None if spectrum.uncertainty is None else np.asarray(spectrum.uncertainty, dtype=float)
        if self.y_scale_combo.currentData() == "max":
            finite = np.abs(intensity[np.isfinite(intensity)])
            peak = float(finite.max()) if finite.size else 0.0
            if peak > 0:
                intensity = intensity / peak
                sigma = None if sigma is None else sigma / peak
        return energy, intensity, sigma

    def _offset_step(self, shown: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]]) -> float:
        """Offset between successive items: a percentage of the largest intensity range shown
        (Stack: 110 %), so the same setting suits counts per monitor and normalised data."""
        percent = 110.0 if self.stack_check.isChecked() else self.offset_spin.value()
        if percent <= 0:
            return 0.0
        ranges = [float(np.nanmax(y) - np.nanmin(y)) for _, y, _ in shown if np.isfinite(y).any()]
        return percent / 100.0 * max(ranges) if ranges else 0.0

    def _refresh_plot(self) -> None:
        """Update the overlay in place: one line per visible item (its data touched only when the
        item's spectrum, scale or offset changed), all ±σ bands in one collection, the legend
        rebuilt only when its entries change; then one idle redraw."""
        if self._closed:
            return
        visible = self.model.visible_items()
        live = {item.uid for item in visible}
        for uid in list(self._line_artists):
            if uid not in live:
                self._line_artists.pop(uid).remove()
                self._line_keys.pop(uid, None)
        shown = [self._display_data(item) for item in visible]
        step = self._offset_step(shown)
        scale = self.y_scale_combo.currentData()
        band_polygons: list[np.ndarray] = []
        band_colours: list[str] = []
        for index, (item, (energy, intensity, sigma)) in enumerate(zip(visible, shown)):
            offset = index * step
            key = _DrawKey(item.spectrum, offset, scale)
            line = self._line_artists.get(item.uid)
            if line is None:
                line, = self.axes.plot(energy, intensity + offset, lw=1.3)
                self._line_artists[item.uid] = line
            elif self._line_keys.get(item.uid) != key:
                line.set_data(energy, intensity + offset)
            self._line_keys[item.uid] = key
            line.set_color(item.colour)
            line.set_label(item.name + (" (stale)" if item.stale else "") + (f"  +{offset:.3g}" if offset else ""))
            line.set_linestyle("--" if item.stale else "-")
            line.set_zorder(3 + index)
            if self.bands_check.isChecked() and sigma is not None:
                polygons = self._band_polygons(item.uid, key, energy, intensity + offset, sigma)
                band_polygons.extend(polygons)
                band_colours.extend([item.colour] * len(polygons))
        self._bands.set_verts(band_polygons)
        self._bands.set_facecolor(band_colours or "none")
        self._band_cache = {uid: cached for uid, cached in self._band_cache.items() if uid in live}
        axes_labels = {item.spectrum.axis_label for item in visible}
        self.axes.set_xlabel(" / ".join(sorted(axes_labels)) if axes_labels else "ω (eV)")
        y_label = _y_label(visible, scale=scale)
        self.axes.set_ylabel(y_label, fontsize="medium" if len(y_label) <= 40 else "small")
        self._empty_text.set_visible(not visible)
        self.axes.relim(visible_only=True)
        self.axes.autoscale_view()
        self._update_legend(visible)
        self._hint_magnitudes(visible, shown, scale)
        self.plot.draw_idle()

    def _hint_magnitudes(self, visible: Sequence[XesItem], shown, scale: str) -> None:
        """Tell the user once per set of ticked items when their sizes differ so much (> 20×) that
        the small ones are flat lines, and how to compare their shapes."""
        peaks = [float(np.nanmax(np.abs(y))) for _, y, _ in shown if np.isfinite(y).any()]
        peaks = [peak for peak in peaks if peak > 0]
        key = tuple(item.uid for item in visible)
        if scale != "data" or len(peaks) < 2 or key == self._magnitude_hint_key:
            return
        self._magnitude_hint_key = key
        ratio = max(peaks) / min(peaks)
        if ratio > MAGNITUDE_HINT_RATIO:
            self._status(f"The ticked items differ in size by {ratio:.0f}×: choose Y \"each ÷ its maximum\" "
                         "to compare their shapes, or untick the large ones")

    def rescale_y(self) -> tuple[float, float] | None:
        """Fit the y axis to the visible lines within the current x range (5 % margin); returns
        the new limits, or None when no line has points there."""
        lo, hi = sorted(self.axes.get_xlim())
        values = []
        for line in self._line_artists.values():
            x, y = (np.asarray(data, dtype=float) for data in line.get_data())
            inside = (x >= lo) & (x <= hi) & np.isfinite(y)
            if inside.any():
                values.append(y[inside])
        if not values:
            return None
        joined = np.concatenate(values)
        bottom, top = float(joined.min()), float(joined.max())
        pad = 0.05 * ((top - bottom) or abs(top) or 1.0)
        self.axes.set_ylim(bottom - pad, top + pad)
        self.plot.draw_idle()
        return bottom - pad, top + pad

    @safe_slot
    def _on_rescale_y_clicked(self, _checked: bool = False) -> None:
        if self.rescale_y() is None:
            self._status("No ticked item has points in the energy range shown.")

    def _band_polygons(self, uid: int, key: _DrawKey, energy: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> list[np.ndarray]:
        """Closed y ± σ polygons, one per run of finite points (NaN gaps stay gaps); cached per item."""
        cached = self._band_cache.get(uid)
        if cached is not None and cached[0] == key:
            return cached[1]
        finite = np.isfinite(energy) & np.isfinite(y) & np.isfinite(sigma)
        polygons = []
        if finite.any():
            edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
            for start, stop in zip(edges[::2], edges[1::2]):
                if stop - start < 2:
                    continue
                x, lower, upper = energy[start:stop], y[start:stop] - sigma[start:stop], y[start:stop] + sigma[start:stop]
                polygons.append(np.column_stack([np.concatenate([x, x[::-1]]), np.concatenate([lower, upper[::-1]])]))
        self._band_cache[uid] = (key, polygons)
        return polygons

    def _update_legend(self, visible: Sequence[XesItem]) -> None:
        """Legend of the visible items, rebuilt only when its entries change.

        Up to LEGEND_INSIDE items it sits inside the axes where it hides no line (a cheap
        estimate instead of matplotlib's "best" search, which costs tens of ms per draw); with
        more items, or when no such place exists, it sits right of the axes; beyond LEGEND_MAX
        colours repeat, so a short note replaces it (the list shows each item's colour).
        """
        crowded = len(visible) > LEGEND_MAX
        handles = [] if crowded else [self._line_artists[item.uid] for item in visible]
        labels = [_legend_text(handle.get_label()) for handle in handles]
        outside = LEGEND_INSIDE < len(visible) <= LEGEND_MAX
        location = "crowded" if crowded else "outside" if outside else self._emptiest_corner(handles, labels)
        if location is None:  # every place inside the axes would hide data
            outside, location = True, "outside"
        if outside:
            labels = [_legend_text(handle.get_label(), LEGEND_OUTSIDE_CHARS) for handle in handles]
        key = (tuple(labels), tuple((h.get_color(), h.get_linestyle()) for h in handles), location, len(visible))
        if key == self._legend_key:
            return
        self._legend_key = key
        legend = self.axes.get_legend()
        if legend is not None:
            legend.remove()
        self.plot.figure.subplots_adjust(right=PLOT_RIGHT_WITH_LEGEND if outside else PLOT_RIGHT,
                                         top=PLOT_TOP_WITH_NOTE if crowded else PLOT_TOP)
        self._legend_note.set_visible(crowded)
        self._legend_note.set_text(f"{len(visible)} items: colours repeat — see the scan list for their names")
        if not handles:
            return
        if outside:
            self.axes.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                             fontsize="x-small", framealpha=0.9, handlelength=1.5)
        else:
            self.axes.legend(handles, labels, loc=location, fontsize="small", framealpha=0.85)

    def _emptiest_corner(self, lines: Sequence, labels: Sequence[str]) -> str | None:
        """The axes position whose legend-sized box the lines cross least (axes coordinates), or
        None when every candidate box is crossed by a line.

        The box size is estimated from the labels' length and the axes' size in pixels. Score:
        points inside the box, plus a large penalty for each line crossing it (a steep peak may
        pass through a box with none of its points inside).
        """
        from matplotlib.path import Path
        from matplotlib.transforms import Bbox

        if not lines:
            return "upper right"
        bbox = self.axes.bbox
        font_px = 0.833 * 10.0 * self.plot.figure.dpi / 72.0  # "small" of a 10 pt font
        longest = max((len(label) for label in labels), default=10)
        # pads + handle ≈ 4.6 font sizes, a character ≈ 0.6; 3 % of the axes to spare
        width = min(1.0, (4.6 + 0.6 * longest) * font_px / max(bbox.width, 1.0) + 0.03)
        height = min(1.0, (1.5 + 1.5 * len(labels)) * font_px / max(bbox.height, 1.0) + 0.03)
        (x0, x1), (y0, y1) = self.axes.get_xlim(), self.axes.get_ylim()
        paths = []
        for line in lines:
            x, y = (np.asarray(values, dtype=float) for values in line.get_data())
            finite = np.isfinite(x) & np.isfinite(y)
            if np.count_nonzero(finite) >= 2:
                paths.append(np.column_stack([(x[finite] - x0) / ((x1 - x0) or 1.0), (y[finite] - y0) / ((y1 - y0) or 1.0)]))
        boxes = {
            "upper right": (1 - width, 1 - height), "upper left": (0.0, 1 - height),
            "upper center": (0.5 - width / 2, 1 - height),
            "lower right": (1 - width, 0.0), "lower left": (0.0, 0.0), "lower center": (0.5 - width / 2, 0.0),
            "center right": (1 - width, 0.5 - height / 2), "center left": (0.0, 0.5 - height / 2),
        }
        scores = {}
        for name, (bx, by) in boxes.items():
            box = Bbox.from_bounds(bx, by, width, height)
            score = 0
            for uv in paths:
                inside = np.count_nonzero((uv[:, 0] >= bx) & (uv[:, 0] <= bx + width) & (uv[:, 1] >= by) & (uv[:, 1] <= by + height))
                score += inside + (1000 if inside or Path(uv).intersects_bbox(box, filled=False) else 0)
            scores[name] = score
        best = min(boxes, key=lambda name: scores[name])  # dict order breaks ties: upper right first
        return best if scores[best] < 1000 else None

    def _update_window_patch(self) -> None:
        lo, hi = self.window_lo_spin.value(), self.window_hi_spin.value()
        visible = hi > lo and self.tabs.currentIndex() == 1 and self.model.rowCount() > 0
        self._window_patch.set_visible(visible)
        if hi > lo:
            self._window_patch.set_x(lo)
            self._window_patch.set_width(hi - lo)
        self.plot.draw_idle()

    # ================================================================== combos and refresh
    def _refresh_item_combos(self) -> None:
        items = self.model.items
        for combo, first in ((self.reference_combo, "its own area"), (self.metrics_reference_combo, "(no IAD)"),
                             (self.difference_a_combo, None), (self.difference_b_combo, None)):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            if first is not None:
                combo.addItem(first, None)
            for item in items:
                combo.addItem(item.name, item.uid)
            index = combo.findData(current)
            combo.setCurrentIndex(index if index >= 0 else 0)
            combo.blockSignals(False)
        if self.difference_b_combo.count() > 1 and self.difference_b_combo.currentIndex() == self.difference_a_combo.currentIndex():
            self.difference_b_combo.setCurrentIndex(1)

    def _refresh_channel_combo(self) -> None:
        item = self.current_item()
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        if item is not None and item.kind is ItemKind.SCAN:
            for channel in item.switchable_channels:
                self.channel_combo.addItem(str(channel), channel.value)
            index = self.channel_combo.findData(item.channel.value if item.channel is not None else None)
            self.channel_combo.setCurrentIndex(max(index, 0))
        self.channel_combo.setEnabled(self.channel_combo.count() > 1)
        self.channel_combo.blockSignals(False)

    def _refresh_all(self) -> None:
        self._refresh_item_combos()
        self._refresh_channel_combo()
        self._refresh_plot()

    @contextlib.contextmanager
    def batched(self):
        """Refresh the combos and the plot once at the end of many list changes, not per change."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._refresh_pending and not self._closed:
                self._refresh_pending = False
                self._refresh_all()

    @safe_slot
    def _on_items_reset(self) -> None:
        if self._closed:
            return
        if self._batch_depth:
            self._refresh_pending = True
            return
        self._refresh_all()

    @safe_slot
    def _on_item_changed(self, _uid: int) -> None:
        if self._closed:
            return
        if self._batch_depth:
            self._refresh_pending = True
            return
        self._refresh_item_combos()
        self._refresh_plot()

    @safe_slot
    def _on_selection_changed(self, *_args) -> None:
        self._refresh_channel_combo()
        item = self.current_item()
        if item is not None:
            normalisation = item.spectrum.metadata.get("normalisation")
            if isinstance(normalisation, dict) and normalisation.get("factor") is not None:
                self.factor_label.setText(_factor_text(normalisation))

    # ================================================================== slots
    @safe_slot
    def _on_open_clicked(self, _checked: bool = False) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open XES scans", "", LOAD_FILTER)
        self.open_paths(paths)

    @safe_slot
    def _on_remove_clicked(self, _checked: bool = False) -> None:
        uids = self.selected_uids()
        if uids:
            self._action(f"remove {len(uids)} item(s)")
            self.remove(uids)

    @safe_slot
    def _on_clear_clicked(self, _checked: bool = False) -> None:
        self._action("clear the XES list")
        self.model.clear()

    @safe_slot
    def _on_up_clicked(self, _checked: bool = False) -> None:
        self._move_selected(-1)

    @safe_slot
    def _on_down_clicked(self, _checked: bool = False) -> None:
        self._move_selected(+1)

    def _move_selected(self, delta: int) -> None:
        item = self.current_item()
        if item is not None and self.model.move(item.uid, delta):
            self.select_uids([item.uid])

    @safe_slot
    def _on_colour_clicked(self, _checked: bool = False) -> None:
        item = self._require_selected()
        if item is None:
            return
        colour = QColorDialog.getColor(QColor(item.colour), self, f"Colour of {item.name}")
        if colour.isValid():
            self.model.set_colour(item.uid, colour.name())

    @safe_slot
    def _on_channel_activated(self, _index: int) -> None:
        item = self.current_item()
        value = self.channel_combo.currentData()
        if item is not None and value is not None and (item.channel is None or item.channel.value != value):
            self.set_channel(item.uid, value)

    @safe_slot
    def _on_recompute_clicked(self, _checked: bool = False) -> None:
        uids = [uid for uid in self.selected_uids() if self.model.item(uid).kind.derived]
        if not uids:
            self._status("Select derived items (averages, normalised, fits, differences) to recompute.")
            return
        done = self.recompute(uids)
        self._status(f"Recomputed {done} of {len(uids)} item(s)")

    @safe_slot
    def _on_map_changed(self, index: int) -> None:
        if 0 <= index < len(self.maps):
            axis = np.asarray(self.maps[index].incident_axis, dtype=float)
            self.omega_spin.setRange(float(axis.min()), float(axis.max()))
            self.omega_spin.setValue(float(axis[len(axis) // 2]))

    @safe_slot
    def _on_map_slice_clicked(self, _checked: bool = False) -> None:
        index = self.map_combo.currentIndex()
        if index >= 0:
            self.add_map_slice(index, self.omega_spin.value(), self.omega_width_spin.value() or None)

    @safe_slot
    def _on_plot_option_changed(self, *_args) -> None:
        self.offset_spin.setEnabled(not self.stack_check.isChecked())
        self._refresh_plot()

    @safe_slot
    def _on_motion(self, event) -> None:
        if event.inaxes is not self.axes or event.xdata is None:
            self.cursor_label.setText("")
            return
        symbol = self.axes.get_xlabel().split(" (")[0] or "E"
        self.cursor_label.setText(f"{symbol} = {event.xdata:.2f} eV   I = {event.ydata:.4g}")

    @safe_slot
    def _on_drag_window_toggled(self, checked: bool) -> None:
        if self._span_selector is None:
            return
        self._span_selector.set_active(bool(checked))
        if checked:
            self._status("Drag across the plot to set the normalisation window.")

    def _on_window_span(self, lo: float, hi: float) -> None:
        if self._closed or hi <= lo:
            return
        for spin, value in ((self.window_lo_spin, lo), (self.window_hi_spin, hi)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self._update_window_patch()

    @safe_slot
    def _on_window_typed(self, _value: float) -> None:
        self._update_window_patch()

    @safe_slot
    def _on_tab_changed(self, _index: int) -> None:
        self._update_window_patch()

    @safe_slot
    def _on_average_clicked(self, _checked: bool = False) -> None:
        try:
            item = self.average()
        except ValueError as exc:
            self._status(f"Cannot average: {exc}")
            return
        self._status(f"{item.name}: {len(item.inputs)} members, {len(item.spectrum)} points")

    @safe_slot
    def _on_normalise_clicked(self, _checked: bool = False) -> None:
        reference = self.reference_combo.currentData()
        uids = self.selected_uids()
        if not uids:
            self._status("Select the items to normalise.")
            return
        for uid in uids:
            try:
                self.normalise(uid, reference_uid=reference)
            except ValueError as exc:
                self._status(f"Cannot normalise {self.model.item(uid).name}: {exc}")
                return

    @safe_slot
    def _on_background_clicked(self, _checked: bool = False) -> None:
        self.open_background_dialog()

    @safe_slot
    def _on_metrics_clicked(self, _checked: bool = False) -> None:
        try:
            self.compute_metrics(reference_uid=self.metrics_reference_combo.currentData())
        except ValueError as exc:
            self._status(f"Cannot compute metrics: {exc}")

    @safe_slot
    def _on_metrics_export_clicked(self, _checked: bool = False) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "xes_metrics.csv", "CSV (*.csv)")
        if path:
            self.export_metrics(path)

    @safe_slot
    def _on_difference_clicked(self, _checked: bool = False) -> None:
        a, b = self.difference_a_combo.currentData(), self.difference_b_combo.currentData()
        if a is None or b is None or a == b:
            self._status("Choose two different items for A and B.")
            return
        try:
            self.add_difference(a, b)
        except ValueError as exc:
            self._status(f"Cannot subtract: {exc}")

    def _ask_export_path(self, title: str, suggestion: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, suggestion, filters)
        return path

    @safe_slot
    def _on_export_csv_clicked(self, _checked: bool = False) -> None:
        item = self._require_selected()
        if item is not None:
            path = self._ask_export_path("Export item as CSV", f"{_safe_name(item.name)}.csv", "CSV (*.csv)")
            if path:
                self.export_item(item.uid, path)

    @safe_slot
    def _on_export_nexus_clicked(self, _checked: bool = False) -> None:
        item = self._require_selected()
        if item is not None:
            path = self._ask_export_path("Export item as NeXus", f"{_safe_name(item.name)}.nxs", "NeXus (*.nxs)")
            if path:
                self.export_item(item.uid, path)

    @safe_slot
    def _on_export_report_clicked(self, _checked: bool = False) -> None:
        item = self._require_selected()
        if item is None:
            return
        if not item.fit_report:
            self._status(f"{item.name} has no fit report; select a background or residual item.")
            return
        path = self._ask_export_path("Save fit report", f"{_safe_name(item.name)}_fit.txt", "Text (*.txt)")
        if path:
            self.save_fit_report(item.uid, path)

    @safe_slot
    def _on_export_plot_clicked(self, _checked: bool = False) -> None:
        path = self._ask_export_path("Export plot", "xes_overlay.png", "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)")
        if path:
            self.export_plot(path)

    # ================================================================== session
    def session_state(self) -> dict:
        """JSON-serialisable: items (with inputs and parameters), maps, plot and dialog settings."""
        items = []
        for item in self.model.items:
            items.append({
                "uid": item.uid,
                "kind": item.kind.value,
                "name": item.name,
                "colour": item.colour,
                "visible": item.visible,
                "source_path": item.source_path,
                "channel": None if item.channel is None else item.channel.value,
                "inputs": list(item.inputs),
                "params": json.loads(json.dumps(item.params, default=str)),
            })
        return {
            "version": SESSION_VERSION,
            "items": items,
            "maps": [{"path": m.source, "channel": None if m.channel is None else m.channel.value} for m in self.maps],
            "plot": {"offset_percent": self.offset_spin.value(), "stack": self.stack_check.isChecked(),
                     "bands": self.bands_check.isChecked(), "y_scale": self.y_scale_combo.currentData()},
            "normalise": {"window": [self.window_lo_spin.value(), self.window_hi_spin.value()]},
            "average": {"grid": self.average_grid_combo.currentData(), "weighted": self.average_weighted_check.isChecked()},
            "metrics": {"window": [self.metrics_lo_spin.value(), self.metrics_hi_spin.value()],
                        "whole_range": self.metrics_full_range_check.isChecked()},
            "background_dialog": json.loads(json.dumps(self.background_settings, default=str)),
            "failures": [list(failure) for failure in self.failures],
        }

    def restore_session(self, state: dict) -> None:
        """Rebuild the list: reload files (synchronously), recompute derived items in order.

        Tolerant of missing or unknown keys; items whose files or inputs are gone are listed as
        failures with the reason.
        """
        from xestools.io import load

        state = state or {}
        self.model.clear()
        self.maps.clear()
        self.map_combo.clear()
        plot = state.get("plot", {}) or {}
        self.offset_spin.setValue(float(plot.get("offset_percent", 0.0) or 0.0))  # older sessions: data units, not kept
        self.y_scale_combo.setCurrentIndex(max(self.y_scale_combo.findData(plot.get("y_scale", "data")), 0))
        self.stack_check.setChecked(bool(plot.get("stack", False)))
        self.bands_check.setChecked(bool(plot.get("bands", True)))
        window = (state.get("normalise", {}) or {}).get("window")
        if window and len(window) == 2:
            self.window_lo_spin.setValue(float(window[0]))
            self.window_hi_spin.setValue(float(window[1]))
        average = state.get("average", {}) or {}
        index = self.average_grid_combo.findData(average.get("grid", "overlap"))
        self.average_grid_combo.setCurrentIndex(max(index, 0))
        self.average_weighted_check.setChecked(bool(average.get("weighted", False)))
        metrics = state.get("metrics", {}) or {}
        if metrics.get("window") and len(metrics["window"]) == 2:
            self.metrics_lo_spin.setValue(float(metrics["window"][0]))
            self.metrics_hi_spin.setValue(float(metrics["window"][1]))
        self.metrics_full_range_check.setChecked(bool(metrics.get("whole_range", True)))
        self.background_settings = dict(state.get("background_dialog", {}) or {})

        failures: list[tuple[str, str]] = []
        cache: dict[str, list] = {}

        def objects_of(path: str) -> list:
            if path not in cache:
                cache[path] = load(path)
            return cache[path]

        for entry in state.get("maps", []) or []:
            try:
                found = [obj for obj in objects_of(entry["path"]) if isinstance(obj, RXESMap)
                         and (entry.get("channel") is None or obj.channel is None or obj.channel.value == entry["channel"])]
                if found:
                    self.add_map(found[0], path=entry["path"])
            except (XesFormatError, OSError, KeyError) as exc:
                failures.append((str(entry.get("path", "?")), f"map not reloaded: {exc}"))

        uid_map: dict[int, int] = {}
        with self.batched():
            self._restore_items(state, uid_map, objects_of, failures)
        self.failures.clear()
        self.failure_list.clear()
        self._add_failures(failures)
        self._refresh_all()

    def _restore_items(self, state: dict, uid_map: dict[int, int], objects_of, failures: list) -> None:
        for entry in state.get("items", []) or []:
            try:
                kind = ItemKind(entry["kind"])
                new = self._restore_item(entry, kind, uid_map, objects_of)
            except (XesFormatError, OSError, KeyError, ValueError, LookupError, TypeError) as exc:
                failures.append((str(entry.get("source_path") or entry.get("name", "?")), f"{entry.get('name', 'item')}: not restored ({exc})"))
                continue
            uid_map[int(entry.get("uid", new.uid))] = new.uid

    def _restore_item(self, entry: dict, kind: ItemKind, uid_map: dict[int, int], objects_of) -> XesItem:
        name = entry.get("name", "")
        colour = entry.get("colour")
        visible = bool(entry.get("visible", True))
        params = dict(entry.get("params", {}) or {})
        if kind is ItemKind.SCAN:
            path = entry["source_path"]
            spectra = [obj for obj in objects_of(path) if isinstance(obj, Spectrum)]
            if not spectra:
                raise ValueError(f"{os.path.basename(path)} holds no 1D spectrum")
            channels = {spectrum.channel: spectrum for spectrum in spectra}
            wanted = entry.get("channel")
            current = next((s for s in spectra if s.channel is not None and s.channel.value == wanted), spectra[0])
            return self.model.add_item(kind, current, name=name, colour=colour, visible=visible, source_path=path,
                                       channels=channels)
        if kind is ItemKind.MAP_SLICE:
            source = next((m for m in self.maps if m.source == params.get("map_source")
                           and (params.get("map_channel") is None or m.channel is None or m.channel.value == params["map_channel"])), None)
            if source is None:
                raise LookupError(f"map {params.get('map_source')} is not loaded")
            spectrum, _ = compute_derived(kind, [], params, label=name, source_map=source)
            return self.model.add_item(kind, spectrum, name=name, colour=colour, visible=visible, params=params,
                                       source_map=source, source_path=source.source)
        inputs = []
        for old in entry.get("inputs", []) or []:
            if int(old) not in uid_map:
                raise LookupError(f"input #{old} was not restored")
            inputs.append(uid_map[int(old)])
        spectrum, report = compute_derived(kind, spectra_of(self.model, inputs), params, label=name)
        return self.model.add_item(kind, spectrum, name=name, colour=colour, visible=visible, inputs=inputs,
                                   params=params, fit_report=report)

    # ================================================================== lifetime
    def shutdown(self) -> None:
        """Close the plot and any open dialog; disconnect the span selector. Idempotent."""
        if self._closed:
            return
        self._closed = True
        import sys

        dialog_module = sys.modules.get("xestools.gui.background_dialog")
        if dialog_module is not None:
            for dialog in self.findChildren(dialog_module.BackgroundDialog):
                dialog.reject()
        self._span_selector.set_active(False)
        self._span_selector.disconnect_events()
        self._span_selector = None
        self._line_artists.clear()
        self._line_keys.clear()
        self._band_cache.clear()
        self.plot.close()

    def describe_item(self, uid: int) -> str:
        return describe(self.model.item(uid), self.model)


def _factor_text(record: dict) -> str:
    """'Factor 1/A = …' with the area A and whose area it was."""
    factor, area = record.get("factor"), record.get("area")
    if factor is None:
        return "Factor: —"
    whose = record.get("reference") or "self"
    window = record.get("window") or ["?", "?"]
    area_text = f", area A = {area:.6g}" if area is not None else ""
    return (f"Factor 1/A = {factor:.6g}{area_text} (area of {whose} over "
            f"{float(window[0]):.2f}–{float(window[1]):.2f} eV)")


class _DrawKey:
    """What a line's or band's data were made from: the spectrum object itself (held, so its id
    cannot be reused by a new one), the offset and the y scale."""

    __slots__ = ("spectrum", "offset", "scale")

    def __init__(self, spectrum: Spectrum, offset: float, scale: str) -> None:
        self.spectrum, self.offset, self.scale = spectrum, offset, scale

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _DrawKey) and other.spectrum is self.spectrum
                and other.offset == self.offset and other.scale == self.scale)

    __hash__ = None


def _metric_text(key: str, value) -> str:
    """Table text: energies to 0.01 eV (0.001 eV for widths), areas and IAD to 4 significant figures."""
    if isinstance(value, str):
        return value
    if not np.isfinite(value):
        return "—"
    if key in ("peak_position", "first_moment", "window_lo", "window_hi"):
        return f"{value:.2f}"
    if key == "fwhm":
        return f"{value:.3f}"
    return f"{value:.4g}"


def _map_title(rxes_map: RXESMap) -> str:
    channel = f" [{rxes_map.channel}]" if rxes_map.channel is not None else ""
    return f"{os.path.basename(rxes_map.source) or rxes_map.label}{channel}"


def _safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("_") or "item"


__all__ = ["XesPanel", "load_files", "ItemRole"]
