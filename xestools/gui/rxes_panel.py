"""The RXES tab: a map in the incident or transfer view, draggable CIE/CEE/CET cuts, their profiles.

State lives in models: each open map is a :class:`MapDocument` (dataset, channel, cut model,
normalisation). Widgets show the current document; switching channel, view, colour scale or
normalisation never moves a cut. Dragging a cut redraws only animated artists (blitting) and
processes at most one pending mouse position per event-loop turn (coalescing).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
from matplotlib.patches import Polygon
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QSizePolicy, QSpinBox,
                               QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from xestools.figures import (COLORMAPS, CUT_LINE_HALO, SCALES, MapPlot, MapStyle, band_style, band_vertices,
                              cut_position_at, legend_corner, legend_headroom, profile_xlabel, profile_ylabel,
                              scan_title)
from xestools.gui.canvas import PlotCanvas
from xestools.gui.cut_model import CutModel
from xestools.gui.cut_table import CutTable
from xestools.gui.datasets import Dataset
from xestools.analysis.grid import estimate_step
from xestools.model import Channel, RXESMap, Spectrum
from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.gui.rxes_panel")

#: Arrow-key step for the selected cut (eV); Shift multiplies by 10.
ARROW_STEP = 0.01

HINT = ("<h3>No map open</h3><p>Open an RXES map with <b>File → Open…</b> (Ctrl+O), drop files onto the "
        "window, or try the bundled examples with <b>File → Open sample data</b>.</p>")


@dataclass
class MapDocument:
    """One open map file: its channels, the shown channel, its cuts and its normalisation."""

    dataset: Dataset
    channel: Channel | None
    cuts: CutModel
    normalisation: dict | None = None     # {"reference": Spectrum, "window": (lo, hi)}
    _display_cache: dict = field(default_factory=dict)

    def raw_map(self) -> RXESMap:
        return self.dataset.map_for(self.channel) or self.dataset.maps[0]

    def display_map(self) -> RXESMap:
        """The shown map: the raw map of the channel, normalised (from raw, never compounding) if asked."""
        key = (self.channel, id(self.normalisation))
        cached = self._display_cache.get(key)
        if cached is not None:
            return cached
        rxes_map = self.raw_map()
        if self.normalisation is not None:
            from xestools.analysis import normalise_map

            rxes_map = normalise_map(rxes_map, self.normalisation["reference"], tuple(self.normalisation["window"]))
        self._display_cache.clear()
        self._display_cache[key] = rxes_map
        return rxes_map

    def set_normalisation(self, reference: Spectrum | None, window=None) -> None:
        self.normalisation = None if reference is None else {"reference": reference, "window": tuple(window)}
        self._display_cache.clear()


class _CutArtists:
    """Artists of one cut: line and band on the map, line, ±σ band and legend slot in a profile axes."""

    def __init__(self, line, band, profile_line, profile_band) -> None:
        self.line = line
        self.band = band
        self.profile_line = profile_line
        self.profile_band = profile_band
        self.result = None
        self.profile_axis = ""


class RxesPanel(QWidget):
    """Map + profile canvases, display controls and the cut table for the current map document."""

    status_message = Signal(str)
    user_action = Signal(str)
    document_changed = Signal()
    #: the view, channel or normalisation of the shown map changed (from any control)
    display_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._documents: dict[str, MapDocument] = {}
        self._document: MapDocument | None = None
        self._style = MapStyle()
        self._artists: dict[int, _CutArtists] = {}
        self._selected: int | None = None
        self._drag: tuple[int, float, float] | None = None   # (ident, start position, start coordinate)
        self._pending_motion: tuple[float, float] | None = None
        self._pending_readout: tuple[float, float] | None = None
        self._dragging = False
        self._shut_down = False
        self.last_profile_paint = 0.0
        self.reference_provider = lambda: []   # set by the main window: list of (label, Spectrum)
        self._bound_model: CutModel | None = None
        self._legend_slots: dict[int, tuple[str, int]] = {}
        self._workspace = None
        self._build_ui()

    # ------------------------------------------------------------------ construction
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        self._stack = QStackedWidget()
        outer.addWidget(self._stack)
        self._hint = QLabel(HINT)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._stack.addWidget(self._hint)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._build_controls())

        self.map_canvas = PlotCanvas(figsize=(6.5, 4.5))
        figure = self.map_canvas.figure
        self.map_ax = figure.add_axes((0.11, 0.12, 0.72, 0.8))
        self.colorbar_ax = figure.add_axes((0.85, 0.12, 0.025, 0.8))
        self.map_plot = MapPlot(self.map_ax, self.colorbar_ax)
        self.map_canvas.canvas.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.map_canvas.connect("button_press_event", self._on_press)
        self.map_canvas.connect("motion_notify_event", self._on_motion)
        self.map_canvas.connect("button_release_event", self._on_release)
        self.map_canvas.connect("key_press_event", self._on_key)
        self.map_canvas.connect("figure_leave_event", self._on_leave)
        self.map_canvas.connect("resize_event", self._layout_map)

        self.profile_canvas = PlotCanvas(figsize=(6.5, 2.8))
        pfig = self.profile_canvas.figure
        self.profile_axes = {
            "incident": pfig.add_axes((0.08, 0.2, 0.4, 0.72)),
            "emission": pfig.add_axes((0.57, 0.2, 0.4, 0.72)),
        }
        for ax in self.profile_axes.values():
            # small intensities as "7.5" with a ×10⁻³ offset: tick labels stay short and never reach the next panel
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 4), useMathText=True)
        self._legends: dict[str, object] = {}
        self._profile_hint = pfig.text(0.5, 0.5, "Add a cut (+ CIE, + CEE, + CET or the Analysis menu) to see "
                                       "its profile here", ha="center", va="center", color="0.4", fontsize=9)
        self.profile_canvas.connect("resize_event", self._layout_profiles)

        self.cut_table = CutTable()
        self.cut_table.cut_selected.connect(self._on_table_selected)

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.profile_canvas)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        for kind, tip in (("CIE", "constant incident energy Ω"), ("CEE", "constant emission energy ω (HERFD)"),
                          ("CET", "constant energy transfer Ω − ω")):
            button = QPushButton(f"+ {kind}")
            button.setToolTip(f"Add a {kind} cut ({tip}) at the centre of the map")
            button.clicked.connect(self._add_cut_slot(kind))
            buttons.addWidget(button)
        clear = QPushButton("Remove all")
        clear.clicked.connect(self._remove_all_slot)
        buttons.addWidget(clear)
        table_layout.addLayout(buttons)
        table_layout.addWidget(self.cut_table)
        lower.addWidget(table_box)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        table_box.setMinimumWidth(470)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.map_canvas)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout.addWidget(self.splitter)
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.readout)
        self._stack.addWidget(page)
        self._stack.setCurrentIndex(0)

        self._motion_timer = QTimer(self)
        self._motion_timer.setSingleShot(True)
        self._motion_timer.setInterval(0)
        self._motion_timer.timeout.connect(self._apply_pending_motion)

    def _build_controls(self) -> QVBoxLayout:
        """Two rows of display controls: what is shown, then colour limits and contours (one row
        needs ~1300 px, wider than a laptop screen)."""
        display_row = QHBoxLayout()
        self.title_label = QLabel("")
        self.title_label.setStyleSheet("font-weight: bold")
        # the map repeats the title; here it yields its room to the controls on a narrow window
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title_label.setMinimumWidth(120)
        display_row.addWidget(self.title_label, 1)
        display_row.addWidget(QLabel("Channel"))
        self.channel_combo = QComboBox()
        for channel in Channel:
            self.channel_combo.addItem(f"{channel.value} ({channel.detector})", channel.value)
        self.channel_combo.currentIndexChanged.connect(self._on_channel_combo)
        display_row.addWidget(self.channel_combo)
        display_row.addWidget(QLabel("View"))
        self.view_combo = QComboBox()
        self.view_combo.addItem("Ω – ω (incident)", "incident")
        self.view_combo.addItem("Ω – (Ω − ω) (transfer)", "transfer")
        self.view_combo.currentIndexChanged.connect(self._on_view_combo)
        display_row.addWidget(self.view_combo)
        display_row.addWidget(QLabel("Scale"))
        self.scale_combo = QComboBox()
        for scale in SCALES:
            self.scale_combo.addItem({"linear": "linear", "log": "log", "sqrt": "square root"}[scale], scale)
        self.scale_combo.currentIndexChanged.connect(self._on_style_controls)
        display_row.addWidget(self.scale_combo)
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItems(COLORMAPS)
        self.cmap_combo.setToolTip("Colour map (perceptually uniform ones first)")
        self.cmap_combo.currentIndexChanged.connect(self._on_style_controls)
        display_row.addWidget(self.cmap_combo)
        colour_row = QHBoxLayout()
        colour_row.addStretch(1)
        colour_row.addWidget(QLabel("Limits"))
        self.limits_combo = QComboBox()
        self.limits_combo.addItem("data min–max", "data")
        self.limits_combo.addItem("1–99 percentile", "percentile")
        self.limits_combo.addItem("typed", "manual")
        self.limits_combo.currentIndexChanged.connect(self._on_limits_mode)
        colour_row.addWidget(self.limits_combo)
        self.vmin_edit = QLineEdit()
        self.vmax_edit = QLineEdit()
        for edit, tip in ((self.vmin_edit, "lower colour limit"), (self.vmax_edit, "upper colour limit")):
            edit.setPlaceholderText(tip.split()[0])
            edit.setToolTip(tip)
            edit.setMinimumWidth(64)
            edit.setMaximumWidth(90)
            edit.setEnabled(False)
            edit.editingFinished.connect(self._on_style_controls)
            colour_row.addWidget(edit)
        colour_row.addWidget(QLabel("Contours"))
        self.contour_spin = QSpinBox()
        self.contour_spin.setRange(0, 30)
        self.contour_spin.setToolTip("Number of contour levels (0 = none)")
        self.contour_spin.valueChanged.connect(self._on_style_controls)
        colour_row.addWidget(self.contour_spin)
        self.contour_color = QComboBox()
        self.contour_color.addItems(["white", "black", "red"])
        self.contour_color.currentIndexChanged.connect(self._on_style_controls)
        colour_row.addWidget(self.contour_color)
        self.contour_labels = QCheckBox("labels")
        self.contour_labels.toggled.connect(self._on_style_controls)
        colour_row.addWidget(self.contour_labels)
        controls = QVBoxLayout()
        controls.addLayout(display_row)
        controls.addLayout(colour_row)
        return controls

    # ------------------------------------------------------------------ documents
    @property
    def document(self) -> MapDocument | None:
        return self._document

    @property
    def documents(self) -> list[MapDocument]:
        return list(self._documents.values())

    @property
    def style(self) -> MapStyle:
        return self._style

    def add_dataset(self, dataset: Dataset, *, show: bool = True, channel: str | None = None) -> MapDocument:
        """Register an RXES dataset (all its channels) and, by default, show it."""
        document = self._documents.get(dataset.key)
        if document is None:
            first = dataset.maps[0].channel
            document = MapDocument(dataset, first, CutModel(self))
            self._documents[dataset.key] = document
        elif document.dataset is not dataset:
            # the file was opened again: new data, same cuts; keep the channel when it still exists
            document.dataset = dataset
            if document.channel not in dataset.channels:
                document.channel = dataset.maps[0].channel
            document._display_cache.clear()
            if document is self._document:
                self._document = None   # force show_document to redraw from the new data
        if channel is not None and any(c.value == channel for c in dataset.channels):
            document.channel = Channel(channel)
        if show:
            self.show_document(dataset.key)
        return document

    def remove_dataset(self, key: str) -> None:
        document = self._documents.pop(key, None)
        if document is None:
            return
        if document is self._document:
            remaining = list(self._documents)
            if remaining:
                self.show_document(remaining[-1])
            else:
                self._bind_cut_model(None)
                self._document = None
                self._workspace = None      # drops the closed map's prepared cut data
                self._stack.setCurrentIndex(0)
                self.document_changed.emit()
        document.cuts.deleteLater()

    def show_document(self, key: str) -> None:
        document = self._documents[key]
        if document is self._document:
            return
        self._bind_cut_model(None)
        self._document = document
        self._stack.setCurrentIndex(1)
        self.title_label.setText(document.dataset.title)
        self.title_label.setToolTip(document.dataset.title)
        self._sync_channel_combo()
        self._show_map(document.display_map())
        self._bind_cut_model(document.cuts)
        self._rescale_profiles()
        self.map_canvas.draw_idle()
        self.document_changed.emit()

    def _show_map(self, rxes_map: RXESMap) -> None:
        self.map_plot.set_map(rxes_map, self._style)
        # the readout below the map shows Ω, ω, Ω − ω and I; the toolbar need not look up the pixel too
        self.map_plot.image.set_mouseover(False)
        self.map_ax.set_title(scan_title(rxes_map), fontsize=9)
        self._layout_map()

    def _bind_cut_model(self, model: CutModel | None) -> None:
        """Point overlays, profiles and the table at ``model``; disconnect from the previous one."""
        old = self._bound_model
        if old is not None:
            old.added.disconnect(self._on_cut_added)
            old.changed.disconnect(self._on_cut_changed)
            old.removed.disconnect(self._on_cut_removed)
        for ident in list(self._artists):
            self._drop_artists(ident)
        self._bound_model = model
        self._selected = None
        self.cut_table.set_model(model)
        if model is not None:
            model.added.connect(self._on_cut_added)
            model.changed.connect(self._on_cut_changed)
            model.removed.connect(self._on_cut_removed)
            for entry in model.entries():
                self._create_artists(entry.ident)
        self._rebuild_legends()

    def _sync_channel_combo(self) -> None:
        document = self._document
        available = {c.value for c in document.dataset.channels} if document else set()
        combo_model = self.channel_combo.model()
        self.channel_combo.blockSignals(True)
        for row in range(self.channel_combo.count()):
            item = combo_model.item(row)
            value = self.channel_combo.itemData(row)
            item.setEnabled(value in available)
            item.setToolTip("" if value in available else f"this scan has no {value} channel")
        if document is not None and document.channel is not None:
            self.channel_combo.setCurrentIndex(self.channel_combo.findData(document.channel.value))
        self.channel_combo.blockSignals(False)

    # ------------------------------------------------------------------ channel / view / style
    def set_channel(self, channel: str | Channel) -> None:
        """Show another channel of the current scan; cuts, view and scale stay as they are."""
        document = self._document
        value = getattr(channel, "value", channel)
        if document is None:
            return
        if value not in {c.value for c in document.dataset.channels}:
            raise ValueError(f"{document.dataset.title} has no {value} channel")
        if document.channel is not None and document.channel.value == value:
            return
        document.channel = Channel(value)
        document._display_cache.clear()
        self._sync_channel_combo()
        self._show_map(document.display_map())
        self._refresh_all_cuts()
        self.user_action.emit(f"channel {value}")
        self.display_changed.emit()

    def available_channels(self) -> tuple[str, ...]:
        return tuple(c.value for c in self._document.dataset.channels) if self._document else ()

    def set_view(self, view: str) -> None:
        view = getattr(view, "value", view)
        if view == self._style.view:
            return
        self._apply_style(replace(self._style, view=view))
        self.view_combo.blockSignals(True)
        self.view_combo.setCurrentIndex(self.view_combo.findData(view))
        self.view_combo.blockSignals(False)
        self.user_action.emit(f"view {view}")

    def set_style(self, style: MapStyle) -> None:
        """Apply a complete style (used by the session and the controls)."""
        self._apply_style(style)
        self._sync_style_controls()

    def _apply_style(self, style: MapStyle) -> None:
        view_changed = style.view != self._style.view
        self._style = style
        if view_changed:
            self.display_changed.emit()
        if self._document is None:
            return
        self.map_plot.set_style(style)
        if view_changed:
            # CEE and CET profiles are against Ω in both views: only the CIE panel changes
            self._refresh_all_cuts(profiles={"emission"}, map_axes_only=True)
        else:
            self.map_canvas.draw_idle()

    def _sync_style_controls(self) -> None:
        style = self._style
        widgets = (self.view_combo, self.scale_combo, self.cmap_combo, self.limits_combo, self.contour_spin,
                   self.contour_color, self.contour_labels, self.vmin_edit, self.vmax_edit)
        for widget in widgets:
            widget.blockSignals(True)
        self.view_combo.setCurrentIndex(self.view_combo.findData(style.view))
        self.scale_combo.setCurrentIndex(self.scale_combo.findData(style.scale))
        self.cmap_combo.setCurrentText(style.cmap)
        self.limits_combo.setCurrentIndex(self.limits_combo.findData(style.limits))
        self.contour_spin.setValue(style.contour_levels)
        self.contour_color.setCurrentText(style.contour_color)
        self.contour_labels.setChecked(style.contour_labels)
        self.vmin_edit.setText("" if style.vmin is None else f"{style.vmin:g}")
        self.vmax_edit.setText("" if style.vmax is None else f"{style.vmax:g}")
        self.vmin_edit.setEnabled(style.limits == "manual")
        self.vmax_edit.setEnabled(style.limits == "manual")
        for widget in widgets:
            widget.blockSignals(False)

    @safe_slot
    def _on_channel_combo(self, index: int) -> None:
        value = self.channel_combo.itemData(index)
        if self._document is not None and value in self.available_channels():
            self.set_channel(value)

    @safe_slot
    def _on_view_combo(self, index: int) -> None:
        self.set_view(self.view_combo.itemData(index))

    @safe_slot
    def _on_limits_mode(self, _index: int) -> None:
        manual = self.limits_combo.currentData() == "manual"
        self.vmin_edit.setEnabled(manual)
        self.vmax_edit.setEnabled(manual)
        if manual and self._document is not None and not self.vmin_edit.text():
            lo, hi = self.map_plot.colour_range
            self.vmin_edit.setText(f"{lo:.6g}")
            self.vmax_edit.setText(f"{hi:.6g}")
        self._on_style_controls()

    @safe_slot
    def _on_style_controls(self, *_args) -> None:
        def number(edit: QLineEdit) -> float | None:
            text = edit.text().strip()
            if not text:
                return None
            try:
                value = float(text)
            except ValueError:
                self.status_message.emit(f"not a number: {text!r}")
                return None
            return value if math.isfinite(value) else None

        style = replace(self._style, scale=self.scale_combo.currentData(), cmap=self.cmap_combo.currentText(),
                        limits=self.limits_combo.currentData(), vmin=number(self.vmin_edit),
                        vmax=number(self.vmax_edit), contour_levels=self.contour_spin.value(),
                        contour_color=self.contour_color.currentText(),
                        contour_labels=self.contour_labels.isChecked())
        if style != self._style:
            self._apply_style(style)
            self.user_action.emit(f"map style {style.scale} {style.cmap} {style.limits}")

    # ------------------------------------------------------------------ normalisation
    def normalise(self, reference: Spectrum, window: tuple[float, float]) -> None:
        """Divide the shown map by the area of ``reference`` over ``window`` (from the raw map: no compounding)."""
        document = self._document
        if document is None:
            raise ValueError("no map is open")
        previous = document.normalisation
        document.set_normalisation(reference, window)
        try:
            display = document.display_map()
        except ValueError:
            document.normalisation = previous
            document._display_cache.clear()
            raise
        self._show_map(display)
        self._refresh_all_cuts()
        self.user_action.emit(f"normalise map by {reference.label or reference.source} over {window}")
        self.display_changed.emit()

    def remove_normalisation(self) -> None:
        document = self._document
        if document is None or document.normalisation is None:
            return
        document.set_normalisation(None)
        self._show_map(document.display_map())
        self._refresh_all_cuts()
        self.user_action.emit("remove map normalisation")
        self.display_changed.emit()

    def open_normalise_dialog(self) -> None:
        references = list(self.reference_provider())
        if not references:
            QMessageBox.information(self, "Normalise map", "Open an XES spectrum first (File → Open…); it is "
                                    "used as the reference whose area over a window divides the map.")
            return
        dialog = NormaliseDialog(references, self)
        try:
            if dialog.exec() == QDialog.DialogCode.Accepted:
                reference, window = dialog.choice()
                try:
                    self.normalise(reference, window)
                except ValueError as exc:
                    QMessageBox.warning(self, "Normalise map", f"Cannot normalise: {exc}")
        finally:
            dialog.deleteLater()

    # ------------------------------------------------------------------ cuts: model → artists
    def add_cut(self, kind: str, position: float | None = None, width: float | None = None,
                mean: bool = False) -> int:
        """Add a cut (at the centre of the current map when no position is given); returns its id."""
        document = self._document
        if document is None:
            raise ValueError("open a map before adding cuts")
        rxes_map = document.display_map()
        steps = {"CIE": estimate_step(rxes_map.incident_axis), "CEE": estimate_step(rxes_map.emission_axis)}
        steps["CET"] = max(steps["CIE"], steps["CEE"])
        if position is None:
            omega_in = float(np.mean(rxes_map.incident_axis[[0, -1]]))
            emission = float(np.mean(rxes_map.emission_axis[[0, -1]]))
            position = {"CIE": omega_in, "CEE": emission, "CET": omega_in - emission}[kind]
            position = round(position, 2)
        if width is None:
            # three grid steps: band edges fall midway between grid values, so read-back jitter never
            # decides whether a neighbouring row or column is in the band
            width = round(3 * steps[kind], 2) or 0.5
        ident = document.cuts.add(kind, position, width, mean)
        self.user_action.emit(f"add cut {kind} at {position:.2f} width {width:.2f}")
        return ident

    def remove_all_cuts(self) -> None:
        if self._document is not None:
            self._document.cuts.clear()
            self.user_action.emit("remove all cuts")

    def _add_cut_slot(self, kind: str):
        @safe_slot
        def slot(_checked: bool = False) -> None:
            try:
                self.select_cut(self.add_cut(kind))
            except ValueError as exc:
                self.status_message.emit(str(exc))
        return slot

    @safe_slot
    def _remove_all_slot(self, _checked: bool = False) -> None:
        self.remove_all_cuts()

    def _create_artists(self, ident: int) -> None:
        entry = self._bound_model.get(ident)
        (line,) = self.map_ax.plot([], [], color=entry.color, lw=1.5, pickradius=6,
                                   path_effects=[CUT_LINE_HALO])
        band = Polygon(np.zeros((0, 2)), closed=True, **band_style(entry.color))
        self.map_ax.add_patch(band)
        (profile_line,) = self.profile_axes["incident"].plot([], [], color=entry.color, lw=1.3)
        profile_band = Polygon(np.zeros((0, 2)), closed=True, facecolor=entry.color, alpha=0.22, lw=0)
        self.profile_axes["incident"].add_patch(profile_band)
        for artist in (band, line):
            self.map_canvas.add_animated(artist)
        for artist in (profile_band, profile_line):
            self.profile_canvas.add_animated(artist)
        self._artists[ident] = _CutArtists(line, band, profile_line, profile_band)
        self._update_overlay(ident)
        self._update_profile(ident)

    def _drop_artists(self, ident: int) -> None:
        artists = self._artists.pop(ident, None)
        if artists is None:
            return
        for artist in (artists.line, artists.band):
            self.map_canvas.remove_animated(artist)
            artist.remove()
        for artist in (artists.profile_line, artists.profile_band):
            self.profile_canvas.remove_animated(artist)
            artist.remove()

    def _update_overlay(self, ident: int) -> None:
        """Centre line and band of the cut in the current view, clipped to the map (analysis geometry)."""
        from xestools.analysis import cut_band_polygon, cut_line

        entry = self._bound_model.get(ident)
        artists = self._artists[ident]
        spec = entry.spec()
        rxes_map = self.map_plot.rxes_map
        line_x, line_y = cut_line(rxes_map, spec, self._style.view)
        artists.line.set_data(line_x, line_y)
        artists.line.set_color(entry.color)
        artists.line.set_linewidth(2.6 if ident == self._selected else 1.5)
        artists.band.set_xy(cut_band_polygon(rxes_map, spec, self._style.view))
        artists.band.update(band_style(entry.color))

    def _update_profile(self, ident: int) -> None:
        """Recompute the cut on the shown map (a cut workspace: equal to ``analysis.cut``), move its profile."""
        from xestools.analysis import View

        entry = self._bound_model.get(ident)
        artists = self._artists[ident]
        result = self._cut_workspace().cut(entry.spec(), View(self._style.view))
        artists.result = result
        axis_key = "incident" if result.axis == "incident" else "emission"
        if axis_key != artists.profile_axis:
            self._move_profile_artists(artists, axis_key)
        artists.profile_line.set_color(entry.color)
        artists.profile_band.set_facecolor(entry.color)
        if result.empty:
            artists.profile_line.set_data([], [])
            artists.profile_band.set_xy(np.zeros((0, 2)))
            return
        artists.profile_line.set_data(result.x, result.intensity)
        if result.uncertainty is not None:
            artists.profile_band.set_xy(band_vertices(result.x, result.intensity, result.uncertainty))
        else:
            artists.profile_band.set_xy(np.zeros((0, 2)))

    def _cut_workspace(self):
        """The shown map prepared for repeated cuts (only the rows/columns a band reaches are reduced)."""
        from xestools.analysis.cut_workspace import CutWorkspace

        rxes_map = self.map_plot.rxes_map
        if self._workspace is None or self._workspace.rxes_map is not rxes_map:
            self._workspace = CutWorkspace(rxes_map)
        return self._workspace

    def _move_profile_artists(self, artists: _CutArtists, axis_key: str) -> None:
        ax = self.profile_axes[axis_key]
        for name in ("profile_line", "profile_band"):
            old = getattr(artists, name)
            self.profile_canvas.remove_animated(old)
            old.remove()
        (line,) = ax.plot([], [], color=artists.line.get_color(), lw=1.3)
        band = Polygon(np.zeros((0, 2)), closed=True, facecolor=artists.line.get_color(), alpha=0.22, lw=0)
        ax.add_patch(band)
        self.profile_canvas.add_animated(band)
        self.profile_canvas.add_animated(line)
        artists.profile_line, artists.profile_band, artists.profile_axis = line, band, axis_key

    def _legend_label(self, ident: int) -> str:
        entry = self._bound_model.get(ident)
        label = entry.label()
        result = self._artists[ident].result
        if result is not None and result.empty:
            label += f" — empty: {result.reason}"
        return label

    def _rebuild_legends(self) -> None:
        for legend in self._legends.values():
            legend.remove()
        self._legends = {}
        self._legend_slots: dict[int, tuple[str, int]] = {}
        for axis_key, ax in self.profile_axes.items():
            members = [ident for ident, a in self._artists.items() if a.profile_axis == axis_key]
            if not members:
                continue
            handles = [self._artists[ident].profile_line for ident in members]
            labels = [self._legend_label(ident) for ident in members]
            legend = ax.legend(handles, labels, fontsize=7, loc=legend_corner(ax, handles), framealpha=0.8)
            self._legends[axis_key] = legend
            for slot, ident in enumerate(members):
                self._legend_slots[ident] = (axis_key, slot)

    def _rescale_profiles(self, only: set[str] | None = None) -> None:
        """Fit profile axes to their data, lay them out, label them, then redraw the profile canvas.

        ``only`` names the profile panels whose content changed (a view switch changes the CIE panel
        alone); when the panel layout is unchanged just those are redrawn, not the whole canvas.
        """
        used = {a.profile_axis for a in self._artists.values()}
        layout = [key for key in ("incident", "emission") if key in used]
        partial = only is not None and layout == getattr(self, "_profile_layout", None) and bool(layout)
        self._profile_hint.set_visible(not layout)
        self._profile_layout = layout
        self._layout_profiles()
        for key in layout:
            if partial and key not in only:
                continue
            ax = self.profile_axes[key]
            data = [a for a in self._artists.values() if a.profile_axis == key and a.result is not None
                    and not a.result.empty]
            xs = np.concatenate([np.asarray(a.result.x, float) for a in data]) if data else np.array([])
            lows = [np.asarray(a.result.intensity, float) - _sigma(a.result) for a in data]
            highs = [np.asarray(a.result.intensity, float) + _sigma(a.result) for a in data]
            ys = np.concatenate(lows + highs) if data else np.array([])
            xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
            if xs.size:
                pad = 0.02 * (xs.max() - xs.min() or 1.0)
                ax.set_xlim(xs.min() - pad, xs.max() + pad)
            if ys.size:
                pad = 0.06 * (ys.max() - ys.min() or abs(ys.max()) or 1.0)
                ax.set_ylim(ys.min() - pad, ys.max() + pad)
            if key == "incident":
                ax.set_xlabel(profile_xlabel("incident"))
            else:
                ax.set_xlabel(profile_xlabel("transfer" if self._style.view == "transfer" else "emission"))
            means = [self._bound_model.get(i).mean for i, a in self._artists.items() if a.profile_axis == key]
            ax.set_ylabel(profile_ylabel(means), fontsize=9)
            if ys.size:     # limits were just set from the data, so the headroom never compounds
                legend_headroom(ax, len(means))
            ax.grid(True, alpha=0.3)
        self._rebuild_legends()
        if partial:
            changed = [key for key in layout if key in only]
            if not changed or self.profile_canvas.redraw_axes([self.profile_axes[k] for k in changed],
                                                               self._profile_slot(changed)):
                return
        self.profile_canvas.draw_idle()

    def _profile_slot(self, keys: list[str]) -> tuple[float, float, float, float]:
        """Pixel columns of the canvas holding these profile panels with their tick and axis labels.

        Panels sit ``gap`` pixels apart (see ``_layout_profiles``); a panel's x tick labels overhang
        its right edge by at most half a label, its y labels fill the gap on its left, so the border
        between two columns is drawn just right of the left panel's overhang.
        """
        width, height = self.profile_canvas.figure.bbox.width, self.profile_canvas.figure.bbox.height
        boxes = [self.profile_axes[key].bbox for key in self._profile_layout]
        overhang = 26.0
        left = min(0.0 if index == 0 else boxes[index - 1].x1 + overhang
                   for index, key in enumerate(self._profile_layout) if key in keys)
        right = max(width if index == len(boxes) - 1 else boxes[index].x1 + overhang
                    for index, key in enumerate(self._profile_layout) if key in keys)
        return (left, 0.0, right, height)

    def _layout_map(self, _event=None) -> None:
        """Fixed pixel margins for labels and colour bar, whatever the canvas size (no constrained layout)."""
        width, height = self.map_canvas.figure.bbox.width, self.map_canvas.figure.bbox.height
        if width < 50 or height < 50:
            return
        left, right, bottom, top, bar = 78.0, 100.0, 48.0, 26.0, 16.0
        self.map_ax.set_position((left / width, bottom / height, 1 - (left + right) / width,
                                  1 - (bottom + top) / height))
        self.colorbar_ax.set_position(((width - right + 14) / width, bottom / height, bar / width,
                                       1 - (bottom + top) / height))

    def _layout_profiles(self, _event=None) -> None:
        layout = getattr(self, "_profile_layout", [])
        for key, ax in self.profile_axes.items():
            ax.set_visible(key in layout)
        width, height = self.profile_canvas.figure.bbox.width, self.profile_canvas.figure.bbox.height
        if width < 50 or height < 50:
            return
        left, right, bottom, top, gap = 74.0, 12.0, 44.0, 20.0, 92.0
        count = len(layout)
        if not count:
            return
        axes_width = (width - left - right - gap * (count - 1)) / count
        for index, key in enumerate(layout):
            x0 = left + index * (axes_width + gap)
            self.profile_axes[key].set_position((x0 / width, bottom / height, max(axes_width, 10) / width,
                                                 1 - (bottom + top) / height))

    def _refresh_all_cuts(self, profiles: set[str] | None = None, *, map_axes_only: bool = False) -> None:
        """Recompute every cut; ``map_axes_only``: the colour bar is unchanged, redraw just the map axes."""
        for ident in list(self._artists):
            self._update_overlay(ident)
            self._update_profile(ident)
        self._rescale_profiles(only=profiles)
        if map_axes_only:
            # everything the map axes draws (labels and title included) lies left of the colour bar,
            # whose antialiased outline reaches a pixel beyond its box
            figure_height = self.map_canvas.figure.bbox.height
            right = self.colorbar_ax.bbox.x0 - 2.0
            if self.map_canvas.redraw_axes([self.map_ax], (0.0, 0.0, right, figure_height)):
                return
        self.map_canvas.draw_idle()

    @safe_slot
    def _on_cut_added(self, ident: int) -> None:
        self._create_artists(ident)
        self._rescale_profiles()
        self.map_canvas.blit_artists()

    @safe_slot
    def _on_cut_removed(self, ident: int) -> None:
        self._drop_artists(ident)
        if self._selected == ident:
            self._selected = None
        self._rescale_profiles()
        self.map_canvas.draw_idle()

    @safe_slot
    def _on_cut_changed(self, ident: int) -> None:
        if ident not in self._artists:
            return
        self._update_overlay(ident)
        self._update_profile(ident)
        if self._dragging:
            # the legend is part of the background (text is the costliest thing to draw); it is
            # rebuilt on release, while the cut table and the live lines follow the mouse
            artists = self._artists[ident]
            self.map_canvas.blit_artists([artists.band, artists.line])
            # a profile spans its panel: repaint that panel, not a smaller region, not the other panel
            self.profile_canvas.blit_axes(self.profile_axes[artists.profile_axis])
            self.last_profile_paint = time.perf_counter()
        else:
            self._rescale_profiles()
            self.map_canvas.blit_artists()

    # ------------------------------------------------------------------ selection and mouse
    def select_cut(self, ident: int | None) -> None:
        previous, self._selected = self._selected, ident
        for changed in {previous, ident} - {None}:
            if changed in self._artists:
                self._update_overlay(changed)
        self.cut_table.select_cut(ident)
        self.map_canvas.blit_artists()

    @property
    def selected_cut(self) -> int | None:
        return self._selected

    @safe_slot
    def _on_table_selected(self, ident: int) -> None:
        self.select_cut(ident)

    def _toolbar_busy(self) -> bool:
        toolbar = self.map_canvas.toolbar
        return toolbar is not None and bool(getattr(toolbar.mode, "value", toolbar.mode))

    def _cut_under(self, event) -> int | None:
        hits = [ident for ident, a in self._artists.items() if a.line.contains(event)[0]]
        if not hits:
            hits = [ident for ident, a in self._artists.items() if a.band.contains(event)[0]]
        return hits[-1] if hits else None

    def _on_press(self, event) -> None:
        if event.inaxes is not self.map_ax or event.button != 1 or self._toolbar_busy() or event.xdata is None:
            return
        ident = self._cut_under(event)
        if ident is None:
            return
        entry = self._bound_model.get(ident)
        self.select_cut(ident)
        self._drag = (ident, entry.position, cut_position_at(entry.kind, self._style.view, event.xdata, event.ydata))
        self._dragging = True

    def _on_motion(self, event) -> None:
        if event.inaxes is not self.map_ax or event.xdata is None:
            return
        if self._drag is not None:
            self._pending_motion = (event.xdata, event.ydata)
        else:
            self._pending_readout = (event.xdata, event.ydata)
        if not self._motion_timer.isActive():
            self._motion_timer.start()

    @safe_slot
    def _apply_pending_motion(self) -> None:
        """Process the latest mouse position only (mouse moves are coalesced)."""
        if self._shut_down:
            return
        if self._drag is not None and self._pending_motion is not None:
            x, y = self._pending_motion
            self._pending_motion = None
            ident, start, anchor = self._drag
            entry = self._bound_model.get(ident) if self._bound_model is not None else None
            if entry is None:
                self._drag = None
                return
            position = round(start + cut_position_at(entry.kind, self._style.view, x, y) - anchor, 2)
            self._bound_model.update(ident, position=position)
        if self._pending_readout is not None:
            x, y = self._pending_readout
            self._pending_readout = None
            self._show_readout(x, y)

    def _show_readout(self, x: float, y: float) -> None:
        values = self.map_plot.value_at(x, y)
        if values is None:
            self.readout.setText(" ")
            return
        omega_in, emission, transfer, intensity = values
        self.readout.setText(f"Ω = {omega_in:.2f} eV   ω = {emission:.2f} eV   Ω − ω = {transfer:.2f} eV   "
                             f"I = {intensity:.4g}")

    def _on_release(self, event) -> None:
        if self._drag is None:
            return
        if event.xdata is not None and event.inaxes is self.map_ax:
            self._pending_motion = (event.xdata, event.ydata)
        self._apply_pending_motion()
        ident = self._drag[0]
        self._drag = None
        self._dragging = False
        entry = self._bound_model.get(ident) if self._bound_model is not None else None
        if entry is not None:
            self.user_action.emit(f"drag cut {entry.kind} to {entry.position:.2f}")
        self._rescale_profiles()

    def _on_leave(self, _event) -> None:
        self.readout.setText(" ")

    def _on_key(self, event) -> None:
        ident = self._selected
        if ident is None or self._bound_model is None or self._bound_model.get(ident) is None:
            return
        key = event.key or ""
        factor = 10.0 if key.startswith("shift+") else 1.0
        base = key.split("+")[-1]
        direction = {"right": 1, "up": 1, "left": -1, "down": -1}.get(base)
        if direction is not None:
            entry = self._bound_model.get(ident)
            self._bound_model.update(ident, position=round(entry.position + direction * factor * ARROW_STEP, 2))
        elif base in ("delete", "backspace"):
            self._bound_model.remove(ident)

    # ------------------------------------------------------------------ results and state
    def cut_results(self) -> list[tuple[object, object]]:
        """(CutEntry, CutResult) of every cut of the current map, in table order."""
        if self._bound_model is None:
            return []
        return [(entry, self._artists[entry.ident].result) for entry in self._bound_model.entries()
                if entry.ident in self._artists]

    def document_state(self, document: MapDocument) -> dict:
        state = {"path": document.dataset.path, "channel": document.channel.value if document.channel else None,
                 "cuts": document.cuts.to_state()}
        if document.normalisation is not None:
            reference = document.normalisation["reference"]
            state["normalisation"] = {"window": [float(v) for v in document.normalisation["window"]],
                                      "reference_source": reference.source,
                                      "reference_channel": reference.channel.value if reference.channel else None}
        return state

    def session_state(self) -> dict:
        style = self._style
        return {
            "documents": [self.document_state(d) for d in self._documents.values()],
            "current": self._document.dataset.path if self._document else None,
            "style": {"view": style.view, "scale": style.scale, "cmap": style.cmap, "limits": style.limits,
                      "vmin": style.vmin, "vmax": style.vmax, "contour_levels": style.contour_levels,
                      "contour_color": style.contour_color, "contour_labels": style.contour_labels},
            "splitter": [int(v) for v in self.splitter.sizes()],
        }

    def restore_style(self, state: dict) -> None:
        known = {"view", "scale", "cmap", "limits", "vmin", "vmax", "contour_levels", "contour_color",
                 "contour_labels"}
        values = {k: v for k, v in (state or {}).items() if k in known}
        try:
            style = replace(MapStyle(), **values)
        except (TypeError, ValueError) as exc:
            log.warning("ignoring map style from session: %s", exc)
            return
        self.set_style(style)

    def restore_document(self, document: MapDocument, state: dict) -> None:
        """Apply a document's saved channel and cuts (tolerant of missing keys)."""
        channel = state.get("channel")
        if channel in {c.value for c in document.dataset.channels}:
            if document is self._document:
                self.set_channel(channel)
            else:
                document.channel = Channel(channel)
                document._display_cache.clear()
        document.cuts.restore(state.get("cuts", []))

    def shutdown(self) -> None:
        """Close both canvases and stop the motion timer; idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self._motion_timer.stop()
        self._bind_cut_model(None)
        self._workspace = None
        self.cut_table.shutdown()
        self.map_plot.colorbar = None
        self.map_canvas.close()
        self.profile_canvas.close()
        for document in self._documents.values():
            document.cuts.deleteLater()
        self._documents.clear()
        self._document = None


def _sigma(result) -> np.ndarray:
    if result.uncertainty is None:
        return np.zeros_like(np.asarray(result.intensity, float))
    sigma = np.asarray(result.uncertainty, float)
    return np.where(np.isfinite(sigma), sigma, 0.0)


class NormaliseDialog(QDialog):
    """Choose an XES reference and an energy window; the map is divided by the reference's area there."""

    def __init__(self, references: list[tuple[str, Spectrum]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Normalise map by XES reference area")
        self._references = references
        form = QFormLayout(self)
        self.reference_combo = QComboBox()
        for label, _spectrum in references:
            self.reference_combo.addItem(label)
        form.addRow("Reference spectrum", self.reference_combo)
        self.lo_spin, self.hi_spin = QDoubleSpinBox(), QDoubleSpinBox()
        for spin in (self.lo_spin, self.hi_spin):
            spin.setDecimals(2)
            spin.setRange(-1e6, 1e6)
            spin.setSuffix(" eV")
        form.addRow("Window from ω", self.lo_spin)
        form.addRow("to ω", self.hi_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.reference_combo.currentIndexChanged.connect(self._on_reference)
        self._on_reference(0)

    @safe_slot
    def _on_reference(self, index: int) -> None:
        if 0 <= index < len(self._references):
            energy = np.asarray(self._references[index][1].energy, dtype=float)
            self.lo_spin.setValue(float(np.nanmin(energy)))
            self.hi_spin.setValue(float(np.nanmax(energy)))

    def choice(self) -> tuple[Spectrum, tuple[float, float]]:
        spectrum = self._references[self.reference_combo.currentIndex()][1]
        lo, hi = sorted((self.lo_spin.value(), self.hi_spin.value()))
        return spectrum, (lo, hi)
