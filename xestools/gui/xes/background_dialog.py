"""Background extraction dialog: choose a model, exclusion spans and an optional wide scan, fit.

The fit itself is :func:`xestools.analysis.background.fit_background`; this dialog only collects
the user's choices and shows the data, the background, the residual and the fit report. OK and
Cancel both release the dialog's plot canvas (every connection, the span selector, the figure)
and schedule the dialog for deletion, so no dialog objects accumulate however often it is opened.
"""
from __future__ import annotations

import importlib
import logging
from typing import Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from xestools.gui.common.canvas import PlotCanvas
from xestools.gui.docks import scrolled
from xestools.gui.common.geometry import fit_dialog
from xestools.model import Spectrum
from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.gui.xes.background_dialog")

DEFAULT_SETTINGS = {"components": ["pearson7", "linear"], "exclusions": [], "wide": None, "weighted": True,
                    "balanced": False}


#: the size the dialog would like; a smaller screen gets a smaller dialog (geometry.fit_dialog)
PREFERRED_SIZE = (1180, 860)


class BackgroundDialog(QDialog):
    """Fit a background to one spectrum; on OK, :attr:`fit` holds the accepted result.

    ``wide_candidates`` are ``(item id, name, spectrum)`` of the other items the user may pick as
    the wide scan; :attr:`wide_uid` tells which one was used.
    """

    def __init__(
        self,
        spectrum: Spectrum,
        *,
        wide_candidates: Sequence[tuple[int, str, Spectrum]] = (),
        settings: dict | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        importlib.import_module("lmfit")  # the fitting library is loaded when the dialog opens
        self.setWindowTitle(f"Background — {spectrum.label or 'spectrum'}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.spectrum = spectrum
        self._candidates = list(wide_candidates)
        self.fit = None
        self._fitted_settings: dict | None = None
        self._released = False
        self._span_patches: list = []
        self._legend_label = "wide scan"
        self._build()
        chosen = {**DEFAULT_SETTINGS, **(settings or {})}
        if not chosen["exclusions"]:
            from xestools.analysis.background import default_exclusions

            chosen["exclusions"] = [list(span) for span in default_exclusions(spectrum)]  # Kβ'' through Kβ2,5
        self.apply_settings(chosen)
        self._draw_data()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.plot = PlotCanvas(self, figsize=(7.0, 5.0))
        self._axes = self.plot.figure.add_subplot(3, 1, (1, 2))
        self._residual_axes = self.plot.figure.add_subplot(3, 1, 3, sharex=self._axes)
        self.plot.figure.subplots_adjust(left=0.14, right=0.97, top=0.96, bottom=0.1, hspace=0.08)
        self._data_line, = self._axes.plot([], [], ".", ms=3, color="#1f77b4", label="data")
        self._wide_line, = self._axes.plot([], [], ".", ms=2, color="#7f7f7f", label="wide scan")
        self._fit_points, = self._axes.plot([], [], ".", ms=3, color="#2ca02c", label="fitted points")
        self._background_line, = self._axes.plot([], [], "-", lw=1.5, color="#d62728", label="background")
        self._residual_line, = self._residual_axes.plot([], [], "-", lw=1.0, color="#9467bd")
        self._zero_line = self._residual_axes.axhline(0.0, color="0.4", lw=0.8)
        from xestools.drawing import intensity_label

        self._axes.set_ylabel(intensity_label([self.spectrum]), fontsize="small")
        self._residual_axes.set_ylabel("(Data − background) / σ", fontsize="small")
        self._residual_axes.set_xlabel(self.spectrum.axis_label)
        # before a fit there is no residual: a note instead of an axis scaled to nothing (±1e-17)
        self._residual_note = self._residual_axes.text(
            0.5, 0.5, "Fit the background (Fit) to see the residual here", ha="center", va="center",
            transform=self._residual_axes.transAxes, color="0.4", fontsize="small")
        self._axes.tick_params(labelbottom=False)
        self._axes.legend(loc="upper right", fontsize="small", markerscale=2.5)
        self.plot.connect("motion_notify_event", self._on_motion)
        from matplotlib.widgets import SpanSelector

        self._span_selector = SpanSelector(
            self._axes, safe_slot(self._on_span), "horizontal", useblit=True, interactive=False,
            props={"alpha": 0.25, "facecolor": "#ff7f0e"}, minspan=1e-6,
        )
        self._span_selector.set_active(False)
        self._build_controls()

    def _build_model_box(self) -> QGroupBox:
        model_box = QGroupBox("Model (sum of the ticked components)")
        model_layout = QGridLayout(model_box)
        self.linear_check = QCheckBox("Linear")
        self.polynomial_check = QCheckBox("Polynomial, degree")
        self.degree_spin = QSpinBox()
        self.degree_spin.setRange(0, 3)
        self.degree_spin.setValue(2)
        self.degree_spin.setMaximumWidth(70)
        self.pearson_check = QCheckBox("Pearson VII tail")
        self.pvoigt_check = QCheckBox("Pseudo-Voigt tail")
        self.weighted_check = QCheckBox("Weight by 1/σ²")
        self.balanced_check = QCheckBox("Balance the two scans")
        self.balanced_check.setToolTip("With a wide scan: inflate each scan's σ by √(its reduced χ²), so the "
                                       "Kβ1,3 main line does not pull the background under the VtC lines")
        self.zoom_check = QCheckBox("Zoom on this scan")
        self.zoom_check.setToolTip("Limit the plot to this scan's range (the wide scan's main line is off scale)")
        self.zoom_check.setChecked(True)
        self.zoom_check.toggled.connect(self._on_zoom_toggled)
        model_layout.addWidget(self.linear_check, 0, 0)
        model_layout.addWidget(self.polynomial_check, 1, 0)
        model_layout.addWidget(self.degree_spin, 1, 1)
        model_layout.addWidget(self.pearson_check, 2, 0)
        model_layout.addWidget(self.pvoigt_check, 3, 0)
        model_layout.addWidget(self.weighted_check, 4, 0)
        model_layout.addWidget(self.zoom_check, 4, 1)
        model_layout.addWidget(self.balanced_check, 5, 0)
        return model_box

    def _build_wide_box(self) -> QGroupBox:
        wide_box = QGroupBox("Wide scan (joined to this one for the tail)")
        wide_layout = QVBoxLayout(wide_box)
        self.wide_combo = QComboBox()
        self.wide_combo.addItem("(none)", None)
        for uid, name, _ in self._candidates:
            self.wide_combo.addItem(name, uid)
        self.wide_combo.currentIndexChanged.connect(self._on_wide_changed)
        wide_layout.addWidget(self.wide_combo)
        return wide_box

    def _build_exclusion_box(self) -> QGroupBox:
        exclusion_box = QGroupBox("Exclusion spans (not fitted)")
        exclusion_layout = QGridLayout(exclusion_box)
        self.exclusion_list = QListWidget()
        self.exclusion_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.exclusion_list.setMaximumHeight(110)
        self.exclusion_lo = QDoubleSpinBox()
        self.exclusion_hi = QDoubleSpinBox()
        energy = np.asarray(self.spectrum.energy, dtype=float)
        finite = energy[np.isfinite(energy)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        for spin, value in ((self.exclusion_lo, lo + 0.4 * (hi - lo)), (self.exclusion_hi, lo + 0.6 * (hi - lo))):
            spin.setRange(-1e6, 1e6)
            spin.setDecimals(2)
            spin.setSingleStep(0.1)
            spin.setSuffix(" eV")
            spin.setValue(value)
        self.add_span_button = QPushButton("Add")
        self.draw_span_button = QPushButton("Draw with mouse")
        self.draw_span_button.setCheckable(True)
        self.draw_span_button.setToolTip("Drag across the upper plot to exclude a span")
        self.remove_span_button = QPushButton("Remove selected")
        self.clear_spans_button = QPushButton("Remove all")
        exclusion_layout.addWidget(self.exclusion_list, 0, 0, 1, 4)
        exclusion_layout.addWidget(QLabel("from"), 1, 0)
        exclusion_layout.addWidget(self.exclusion_lo, 1, 1)
        exclusion_layout.addWidget(QLabel("to"), 1, 2)
        exclusion_layout.addWidget(self.exclusion_hi, 1, 3)
        exclusion_layout.addWidget(self.add_span_button, 2, 0, 1, 2)
        exclusion_layout.addWidget(self.draw_span_button, 2, 2, 1, 2)
        exclusion_layout.addWidget(self.remove_span_button, 3, 0, 1, 2)
        exclusion_layout.addWidget(self.clear_spans_button, 3, 2, 1, 2)
        self.add_span_button.clicked.connect(self._on_add_span)
        self.draw_span_button.toggled.connect(self._on_draw_toggled)
        self.remove_span_button.clicked.connect(self._on_remove_selected)
        self.clear_spans_button.clicked.connect(self._on_clear_spans)
        return exclusion_box

    def _build_controls(self) -> None:
        """Model, wide scan and exclusions beside the plot; the fit report across the width below."""
        self.fit_button = QPushButton("Fit")
        self.fit_button.clicked.connect(self._on_fit_clicked)
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        self.report_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report_view.setMinimumHeight(110)
        self.report_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.report_view.setPlaceholderText("Press Fit to fit the background; the report appears here.")

        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        controls_layout.setContentsMargins(0, 0, 0, 0)
        controls_layout.addWidget(self._build_model_box())
        controls_layout.addWidget(self._build_wide_box())
        controls_layout.addWidget(self._build_exclusion_box())
        controls_layout.addWidget(self.fit_button)
        controls_layout.addStretch(1)

        # plot | controls on top, the fit report across the whole width below (its table is wide)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.plot)
        top.addWidget(scrolled(controls))   # on a laptop screen the controls scroll; the plot keeps its height
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        side = controls.sizeHint().width() + 24    # the controls whole (with room for a scroll bar)
        top.setSizes([PREFERRED_SIZE[0] - side, side])
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.report_view)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 130])
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add background and residual")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.status_label = QLabel("")
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        fit_dialog(self, PREFERRED_SIZE)

    @property
    def axes(self):
        """The data axes (data, wide scan, fitted points, background)."""
        return self._axes

    @property
    def wide_line(self):
        return self._wide_line

    @property
    def background_line(self):
        return self._background_line

    @property
    def residual_axes(self):
        return self._residual_axes

    @property
    def residual_line(self):
        return self._residual_line

    # ------------------------------------------------------------------ settings
    def components(self) -> list[str]:
        chosen = []
        if self.pearson_check.isChecked():
            chosen.append("pearson7")
        if self.pvoigt_check.isChecked():
            chosen.append("pseudovoigt")
        if self.linear_check.isChecked():
            chosen.append("linear")
        if self.polynomial_check.isChecked():
            chosen.append(f"polynomial{self.degree_spin.value()}")
        return chosen

    def set_components(self, components: Sequence[str]) -> None:
        from xestools.analysis.background import parse_component

        parsed = [parse_component(component) for component in components]
        kinds = {component.kind for component in parsed}
        self.linear_check.setChecked("linear" in kinds)
        self.pearson_check.setChecked("pearson7" in kinds)
        self.pvoigt_check.setChecked("pseudovoigt" in kinds)
        self.polynomial_check.setChecked("polynomial" in kinds)
        for component in parsed:
            if component.kind == "polynomial":
                self.degree_spin.setValue(component.degree)

    def exclusions(self) -> list[tuple[float, float]]:
        spans = []
        for row in range(self.exclusion_list.count()):
            spans.append(tuple(self.exclusion_list.item(row).data(Qt.ItemDataRole.UserRole)))
        return spans

    @property
    def wide_uid(self) -> int | None:
        return self.wide_combo.currentData()

    def wide_spectrum(self) -> Spectrum | None:
        uid = self.wide_uid
        for candidate_uid, _, spectrum in self._candidates:
            if candidate_uid == uid:
                return spectrum
        return None

    def settings(self) -> dict:
        """What the user chose, JSON-serialisable (saved with the session, reused next time)."""
        return {
            "components": self.components(),
            "exclusions": [list(span) for span in self.exclusions()],
            "wide": self.wide_uid,
            "weighted": self.weighted_check.isChecked(),
            "balanced": self.balanced_check.isChecked(),
        }

    def apply_settings(self, settings: dict) -> None:
        self.set_components(settings.get("components") or DEFAULT_SETTINGS["components"])
        self.weighted_check.setChecked(bool(settings.get("weighted", True)))
        self.balanced_check.setChecked(bool(settings.get("balanced", False)))
        self.clear_exclusions()
        for span in settings.get("exclusions", []) or []:
            self.add_exclusion(float(span[0]), float(span[1]))
        self.set_wide(settings.get("wide"))

    def set_wide(self, uid: int | None) -> None:
        index = self.wide_combo.findData(uid) if uid is not None else 0
        self.wide_combo.setCurrentIndex(max(index, 0))

    # ------------------------------------------------------------------ exclusions
    def add_exclusion(self, lo: float, hi: float) -> None:
        lo, hi = sorted((float(lo), float(hi)))
        if hi <= lo or (lo, hi) in self.exclusions():
            return
        from PySide6.QtWidgets import QListWidgetItem

        entry = QListWidgetItem(f"{lo:.2f} – {hi:.2f} eV")
        entry.setData(Qt.ItemDataRole.UserRole, (lo, hi))
        self.exclusion_list.addItem(entry)
        self._draw_spans()

    def remove_exclusion(self, row: int) -> None:
        if 0 <= row < self.exclusion_list.count():
            self.exclusion_list.takeItem(row)
            self._draw_spans()

    def clear_exclusions(self) -> None:
        self.exclusion_list.clear()
        self._draw_spans()

    @safe_slot
    def _on_add_span(self, _checked: bool = False) -> None:
        self.add_exclusion(self.exclusion_lo.value(), self.exclusion_hi.value())

    @safe_slot
    def _on_remove_selected(self, _checked: bool = False) -> None:
        rows = sorted((index.row() for index in self.exclusion_list.selectedIndexes()), reverse=True)
        for row in rows:
            self.exclusion_list.takeItem(row)
        self._draw_spans()

    @safe_slot
    def _on_clear_spans(self, _checked: bool = False) -> None:
        self.clear_exclusions()

    @safe_slot
    def _on_draw_toggled(self, checked: bool) -> None:
        self._span_selector.set_active(bool(checked))
        self.status_label.setText("Drag across the upper plot to add an exclusion span." if checked else "")

    def _on_span(self, lo: float, hi: float) -> None:
        if self._released:
            return
        self.add_exclusion(lo, hi)

    @safe_slot
    def _on_motion(self, event) -> None:
        if event.inaxes is None or event.xdata is None:
            return
        self.status_label.setText(f"{self.spectrum.axis_label.split(' ')[0]} = {event.xdata:.2f} eV, I = {event.ydata:.4g}")

    @safe_slot
    def _on_wide_changed(self, _index: int) -> None:
        self._draw_data()

    # ------------------------------------------------------------------ plotting
    def _draw_data(self) -> None:
        if self._released:
            return
        self._data_line.set_data(self.spectrum.energy, self.spectrum.intensity)
        wide = self.wide_spectrum()
        if wide is not None:
            scale = self._wide_display_scale(wide)
            self._wide_line.set_data(wide.energy, np.asarray(wide.intensity, dtype=float) * scale)
            self._wide_line.set_label("wide scan" if scale == 1.0 else f"wide scan × {scale:.4g}")
        else:
            self._wide_line.set_data([], [])
        fit = self.fit
        if fit is not None:
            order = np.argsort(fit.fit_energy)
            self._background_line.set_data(fit.fit_energy[order], fit.fit_curve[order])
            used = fit.fit_included
            self._fit_points.set_data(fit.fit_energy[used], fit.fit_intensity[used])
            in_sigma = fit.residual_in_sigma
            self._residual_line.set_data(fit.residual.energy, fit.residual.intensity if in_sigma is None else in_sigma)
            self._residual_axes.set_ylabel("Data − background" if in_sigma is None else "(Data − background) / σ",
                                           fontsize="small")
        else:
            for line in (self._background_line, self._fit_points, self._residual_line):
                line.set_data([], [])
        if self._legend_label != self._wide_line.get_label():
            self._legend_label = self._wide_line.get_label()
            self._axes.legend(loc="upper right", fontsize="small", markerscale=2.5)
        self._show_residual_axis(fit is not None)
        for axes in (self._axes, self._residual_axes):
            axes.relim(visible_only=True)
            axes.autoscale_view()
        if self.zoom_check.isChecked():
            self._zoom_on_main()
        self._draw_spans()

    def _show_residual_axis(self, fitted: bool) -> None:
        """The residual's y axis only once there is a residual; a note before."""
        self._residual_note.set_visible(not fitted)
        self._residual_axes.yaxis.set_visible(fitted)
        self._zero_line.set_visible(fitted)
        if fitted:
            self._residual_axes.set_autoscaley_on(True)  # the fixed limits of the empty axis no longer hold
        else:
            self._residual_axes.set_ylim(-1.0, 1.0)

    @property
    def residual_note(self):
        return self._residual_note

    def _wide_display_scale(self, wide: Spectrum) -> float:
        """The factor the fit applies to the wide scan (overlap match or the normalisation of this
        scan), so the plot shows the wide points in the units they were fitted in."""
        from xestools.analysis.background import units_factor

        if self.fit is not None and self.fit.wide_scale is not None:
            return float(self.fit.wide_scale)
        return units_factor(self.spectrum, wide)

    def _zoom_on_main(self) -> None:
        """Limit x to this scan (plus 5 %) and y to its data and background there."""
        energy = np.asarray(self.spectrum.energy, dtype=float)
        intensity = np.asarray(self.spectrum.intensity, dtype=float)
        finite = np.isfinite(energy) & np.isfinite(intensity)
        if np.count_nonzero(finite) < 2:
            return
        lo, hi = float(energy[finite].min()), float(energy[finite].max())
        margin = 0.05 * (hi - lo)
        self._axes.set_xlim(lo - margin, hi + margin)
        values = [intensity[finite]]
        if self.fit is not None:
            inside = (self.fit.fit_energy >= lo - margin) & (self.fit.fit_energy <= hi + margin)
            values.append(self.fit.fit_curve[inside & np.isfinite(self.fit.fit_curve)])
        joined = np.concatenate(values)
        bottom, top = float(joined.min()), float(joined.max())
        pad = 0.08 * (top - bottom or abs(top) or 1.0)
        self._axes.set_ylim(bottom - pad, top + pad)

    @safe_slot
    def _on_zoom_toggled(self, _checked: bool) -> None:
        self._draw_data()

    def _draw_spans(self) -> None:
        if self._released:
            return
        for patch in self._span_patches:
            patch.remove()
        self._span_patches = []
        for lo, hi in self.exclusions():
            for axes in (self._axes, self._residual_axes):
                self._span_patches.append(axes.axvspan(lo, hi, color="#ff7f0e", alpha=0.15, lw=0))
        self.plot.draw_idle()

    # ------------------------------------------------------------------ fitting
    def run_fit(self):
        """Fit with the current settings; shows the report; returns the fit or None (reason shown)."""
        from xestools.analysis.background import fit_background

        settings = self.settings()
        if not settings["components"]:
            self._show_failure("Tick at least one model component.")
            return None
        try:
            fit = fit_background(
                self.spectrum, settings["components"], exclusions=self.exclusions(),
                wide=self.wide_spectrum(), weighted=settings["weighted"],
                weighting="balanced" if settings["weighted"] and settings["balanced"] else None,
            )
        except ValueError as exc:
            self._show_failure(f"The fit could not be made: {exc}")
            return None
        self.fit = fit
        self._fitted_settings = settings
        self.report_view.setPlainText(fit.report)
        self.status_label.setText(f"R² = {fit.r_squared:.5f}" + ("" if fit.success else " — did not converge")
                                  + ("" if fit.sensible else " — not physically sensible: see the report"))
        self._draw_data()
        return fit

    def _show_failure(self, message: str) -> None:
        self.fit = None
        self._fitted_settings = None
        self.report_view.setPlainText(message)
        self.status_label.setText(message)
        self._draw_data()

    @safe_slot
    def _on_fit_clicked(self, _checked: bool = False) -> None:
        self.run_fit()

    @property
    def fit_is_current(self) -> bool:
        return self.fit is not None and self._fitted_settings == self.settings()

    # ------------------------------------------------------------------ lifetime
    def done(self, result: int) -> None:  # noqa: D401 - Qt override
        """Accept only with a current fit (fitting now if needed); release the canvas either way."""
        if result == QDialog.DialogCode.Accepted and not self.fit_is_current and self.run_fit() is None:
            return
        self.release()
        super().done(result)
        self.deleteLater()

    def release(self) -> None:
        """Disconnect the span selector, close the canvas. Idempotent."""
        if self._released:
            return
        self._released = True
        self._span_selector.set_active(False)
        self._span_selector.disconnect_events()
        self._span_selector = None
        self._span_patches = []
        # Detach the axes first: the canvas then clears an empty figure instead of resetting both
        # axes (ticks, spines, ~25 ms); nothing is drawn again, the axes go with the dialog.
        for axes in list(self.plot.figure.axes):
            self.plot.figure.delaxes(axes)
        self.plot.close()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.release()
        super().closeEvent(event)
