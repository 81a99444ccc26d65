"""The Fit tool of the XES tab: fit peaks plus a background to one item, look, accept as "fit of …".

Peak positions are typed (comma-separated) or added by clicking on the plot while "Pick" is on.
The fit is :func:`xestools.workspace.results.run_fit` (lmfit's ``fit_lines``), run on the worker pool:
lmfit's first import takes seconds and the window must stay responsive meanwhile. The plot shows the
data, each component, the sum and, below, the residual in σ units; the table lists each component's
centre, FWHM, height and area with σ, the area ratios and χ²ᵣ, and says in words what is undetermined.
"Accept" adds the fit to the workspace (one undo step); "Export table…" writes ``parameters_csv``.
"""
from __future__ import annotations

import logging
import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from xestools.analysis.fitting import BACKGROUND_KINDS, PEAK_SHAPES
from xestools.drawing import intensity_label
from xestools.gui.common import workers
from xestools.gui.common.canvas import PlotCanvas
from xestools.gui.docks import scrolled
from xestools.gui.common.geometry import fit_dialog
from xestools.io.atomic import atomic_write
from xestools.runtime.safe import safe_slot
from xestools.workspace.results import FitSettings, run_fit
from xestools.workspace.xes import data_window

log = logging.getLogger("xestools.gui.xes.fit_tool")

PREFERRED_SIZE = (1200, 820)
COLUMNS = ("component", "centre", "FWHM", "height", "area", "note")
#: the numbers behind a table cell: (value, σ)
NUMBERS_ROLE = Qt.ItemDataRole.UserRole + 1
COMPONENT_COLOURS = ("#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def with_sigma(value: float, sigma: float) -> str:
    """``value ± σ`` with σ to two significant figures and the value to the same decimal place."""
    if not math.isfinite(sigma) or sigma <= 0:
        return f"{value:.6g} ± ?"
    decimals = max(0, 1 - int(math.floor(math.log10(sigma))))
    return f"{value:.{decimals}f} ± {sigma:.{decimals}f}"


def close_plot(plot: PlotCanvas) -> None:
    """Close a dialog's canvas; its axes are detached first, so the canvas clears an empty figure."""
    for axes in list(plot.figure.axes):
        plot.figure.delaxes(axes)
    plot.close()


class PlotDialog(QDialog):
    """A dialog with one canvas (``self.plot``) released once, at close or by the owner's ``release``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self._released = False

    def release(self) -> None:
        """Close the canvas (every connection); work still running is dropped when it arrives."""
        if self._released:
            return
        self._released = True
        close_plot(self.plot)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.release()
        super().closeEvent(event)


class FitDialog(PlotDialog):
    """Fit lines to item ``uid`` of the XES workspace ``workspace`` (module docstring)."""

    def __init__(self, workspace, uid: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace, self.uid = workspace, uid
        self.spectrum = workspace.item(uid).spectrum
        self.setWindowTitle(f"Fit lines — {workspace.item(uid).name}")
        self.fit = None
        self._fitted: FitSettings | None = None
        self._task = None
        self._build()
        self._update_buttons()
        self._draw()
        fit_dialog(self, PREFERRED_SIZE)

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.plot = PlotCanvas(self, figsize=(6.5, 5.0))
        self._axes = self.plot.figure.add_subplot(4, 1, (1, 3))
        self._residual_axes = self.plot.figure.add_subplot(4, 1, 4, sharex=self._axes)
        self.plot.figure.subplots_adjust(left=0.13, right=0.97, top=0.96, bottom=0.11, hspace=0.08)
        self._axes.tick_params(labelbottom=False)
        self.plot.connect("button_press_event", self._on_click)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.plot)
        top.addWidget(scrolled(self._controls()))
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        top.setSizes([760, 420])
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        splitter = QSplitter(Qt.Orientation.Vertical)      # the results table under the plot, full width
        splitter.addWidget(top)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([520, 170])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        self.status_label = QLabel("Type peak positions or tick Pick and click on the plot, then Fit.")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

    def _controls(self) -> QWidget:
        box = QWidget()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.positions_edit = QLineEdit()
        self.positions_edit.setPlaceholderText("e.g. 9637, 9656")
        self.pick_box = QCheckBox("&Pick on the plot (a click adds one)")
        clear = QPushButton("C&lear positions")
        clear.clicked.connect(lambda: self.positions_edit.clear())
        self.shape_combo = QComboBox()
        self.shape_combo.addItems(PEAK_SHAPES)
        self.shape_combo.setCurrentText("voigt")
        self.background_combo = QComboBox()
        self.background_combo.addItems(BACKGROUND_KINDS)
        self.background_combo.setCurrentText("linear")
        lo, hi = data_window(self.spectrum) or (0.0, 1.0)
        self.window_lo, self.window_hi = (self._energy_box(value) for value in (lo, hi))
        self.share_box = QCheckBox("&Shared width")
        self.share_box.setToolTip("Every peak as wide as the first (σ and shape parameter tied)")
        form.addRow("Peak positions (eV)", self.positions_edit)
        form.addRow(self.pick_box)
        form.addRow(clear)
        form.addRow("Peak s&hape", self.shape_combo)
        form.addRow("&Background", self.background_combo)
        window_row = QHBoxLayout()
        window_row.addWidget(self.window_lo)
        window_row.addWidget(QLabel("to"))
        window_row.addWidget(self.window_hi)
        form.addRow("Window (eV)", window_row)
        form.addRow(self.share_box)
        self.fit_button = QPushButton("&Fit")
        self.accept_button = QPushButton("&Accept as an item")
        self.export_button = QPushButton("&Export table…")
        self.close_button = QPushButton("Close")
        for button, slot in ((self.fit_button, self._on_fit_clicked), (self.accept_button, self._on_accept_clicked),
                             (self.export_button, self._on_export_clicked), (self.close_button, self.close)):
            button.clicked.connect(safe_slot(lambda _checked=False, s=slot: s()))
        layout = QVBoxLayout(box)
        layout.addLayout(form)
        for pair in ((self.fit_button, self.accept_button), (self.export_button, self.close_button)):
            row = QHBoxLayout()
            for button in pair:
                row.addWidget(button)
            layout.addLayout(row)
        layout.addStretch(1)
        return box

    def _energy_box(self, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setDecimals(2)
        spin.setRange(-1e6, 1e6)
        spin.setValue(value)
        return spin

    # ------------------------------------------------------------------ settings
    def positions(self) -> list[float]:
        """The typed positions; raises ValueError naming what is not a number."""
        text = self.positions_edit.text().replace(";", ",")
        values = []
        for part in (piece.strip() for piece in text.split(",")):
            if part:
                try:
                    values.append(float(part))
                except ValueError:
                    raise ValueError(f"{part!r} is not a peak position in eV") from None
        return values

    def _shown_positions(self) -> list[float]:
        """The positions to mark on the plot; none while one is half typed (Fit names the problem)."""
        try:
            return self.positions()
        except ValueError:
            return []

    def settings(self) -> FitSettings:
        lo, hi = sorted((self.window_lo.value(), self.window_hi.value()))
        return FitSettings(tuple(self.positions()), self.shape_combo.currentText(), self.background_combo.currentText(),
                           (lo, hi), self.share_box.isChecked())

    def add_position(self, energy: float) -> None:
        positions = self.positions_edit.text().strip()
        self.positions_edit.setText(f"{positions}, {energy:.2f}" if positions else f"{energy:.2f}")

    @property
    def fit_is_current(self) -> bool:
        try:
            return self.fit is not None and self._fitted == self.settings()
        except ValueError:
            return False

    # ------------------------------------------------------------------ fitting
    def start_fit(self) -> bool:
        """Fit on the worker pool with the current settings; False (reason shown) when they are not usable."""
        try:
            settings = self.settings()
        except ValueError as exc:
            self.status_label.setText(str(exc))
            return False
        if not settings.centers:
            self.status_label.setText("Give at least one peak position (type it, or tick Pick and click on the plot).")
            return False
        self._task = workers.submit(run_fit, self.spectrum, settings)
        self._task.finished.connect(lambda fit, s=settings: self._on_fitted(fit, s))
        self._task.failed.connect(self._on_failed)
        self.status_label.setText("Fitting… (the first fit also loads the fitting library, a few seconds)")
        self._update_buttons()
        return True

    def _on_fitted(self, fit, settings: FitSettings) -> None:
        self._task = None
        if self._released:
            return
        self.fit, self._fitted = fit, settings
        self._fill_table(fit)
        undetermined = ", ".join(fit.undetermined)
        self.status_label.setText(
            f"χ²ᵣ = {fit.chi2_reduced:.3g} on {fit.n_points} points" + ("" if fit.success else " — did not converge")
            + (f" — undetermined: {undetermined}" if undetermined else "") + ".")
        self._draw()
        self._update_buttons()

    def _on_failed(self, exc) -> None:
        self._task = None
        if self._released:
            return
        if not isinstance(exc, (ValueError, ArithmeticError)):
            log.error("line fit failed", exc_info=exc)
        self.fit, self._fitted = None, None
        self.status_label.setText(f"The fit could not be made: {exc}")
        self._draw()
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self._task is not None
        self.fit_button.setEnabled(not busy)
        self.accept_button.setEnabled(not busy and self.fit is not None)
        self.export_button.setEnabled(not busy and self.fit is not None)

    def _fill_table(self, fit) -> None:
        rows = []
        for component in fit.components:
            cells = [(component.name, None)] + [(getattr(component, key), None) for key in ("center", "fwhm", "height", "area")]
            bad = [key for key in ("center", "fwhm", "height", "area") if not getattr(component, key).determined]
            rows.append((cells, "undetermined: " + ", ".join(bad) if bad else component.shape))
        for key, ratio in fit.ratios.items():
            rows.append(([(f"area ratio {key}", None), (None, None), (None, None), (None, None), (ratio, None)],
                         "" if ratio.determined else "undetermined"))
        rows.append(([("χ²ᵣ", None), (None, f"{fit.chi2_reduced:.4g}")], "weighted by 1/σ" if fit.weighted
                     else "unweighted: σ missing"))
        self.table.setRowCount(len(rows))
        for row, (cells, note) in enumerate(rows):
            for column in range(len(COLUMNS)):
                self.table.setItem(row, column, QTableWidgetItem(""))
            for column, (quantity, text) in enumerate(cells):
                cell = self.table.item(row, column)
                if isinstance(quantity, str):
                    cell.setText(quantity)
                elif quantity is not None:
                    cell.setText(with_sigma(quantity.value, quantity.sigma))
                    cell.setData(NUMBERS_ROLE, (quantity.value, quantity.sigma))
                elif text:
                    cell.setText(text)
            self.table.item(row, len(COLUMNS) - 1).setText(note)
        self.table.resizeColumnsToContents()

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        axes, residual = self._axes, self._residual_axes
        axes.clear()
        residual.clear()
        spectrum = self.spectrum
        axes.plot(spectrum.energy, spectrum.intensity, ".", ms=3, color="#1f77b4", label="data")
        fit = self.fit
        if fit is not None:
            for index, component in enumerate(fit.components):
                axes.plot(fit.energy, component.curve + fit.background_curve, "-", lw=1.0,
                          color=COMPONENT_COLOURS[index % len(COMPONENT_COLOURS)], label=f"{component.name}")
            if fit.background_kind != "none":
                axes.plot(fit.energy, fit.background_curve, "--", lw=0.8, color="0.4", label="background")
            axes.plot(fit.energy, fit.best_fit, "-", lw=1.6, color="#d62728", label="sum")
            residual.plot(fit.energy, fit.residual_sigma, ".-", ms=2, lw=0.6, color="#9467bd")
            residual.axhline(0.0, color="0.4", lw=0.8)
        else:
            residual.text(0.5, 0.5, "Fit to see the residual here", ha="center", va="center",
                          transform=residual.transAxes, color="0.4", fontsize="small")
        for position in self._shown_positions():
            axes.axvline(position, color="0.6", lw=0.8, ls=":")
        axes.set_ylabel(intensity_label([spectrum]), fontsize="small")
        axes.tick_params(labelbottom=False)
        residual.set_ylabel("Residual / σ" if fit is None or fit.weighted else "Residual / rms", fontsize="small")
        residual.set_xlabel(spectrum.axis_label)
        axes.legend(loc="upper left", fontsize="small", markerscale=2)
        self.plot.draw_idle()

    def _on_click(self, event) -> None:
        if self.pick_box.isChecked() and event.inaxes is self._axes and event.xdata is not None and event.button == 1:
            self.add_position(float(event.xdata))
            self._draw()

    # ------------------------------------------------------------------ commands
    def _on_fit_clicked(self) -> None:
        self.start_fit()

    def accept_fit(self) -> list:
        """Add the current fit to the workspace as "fit of …" plus its components; [] when there is none."""
        if not self.fit_is_current or self.workspace.item(self.uid) is None:
            self.status_label.setText("Fit with the current settings first (Fit), then accept.")
            return []
        added = self.workspace.add_fit(self.uid, self._fitted, self.fit)
        self.status_label.setText(f"Added {added[0].name} and its {len(added) - 1} component(s) to the XES list.")
        return added

    def _on_accept_clicked(self) -> None:
        self.accept_fit()

    def export_table(self, path: str) -> None:
        """CSV: the parameters table (``parameters_csv``). NeXus: the fitted sum with the fit's record
        (model, start values, bounds, every quantity and σ) as the NXprocess parameters."""
        import json

        from xestools.analysis.fitting import parameters_csv
        from xestools.io import formats

        if formats.data_format_for(path).name == "nxs":
            process = {key: json.dumps(value) if isinstance(value, dict) else value
                       for key, value in self.fit.operation().items()}
            formats.write(self.fit.to_spectra()[0], path, process=process)
        else:
            atomic_write(path, parameters_csv(self.fit))
        self.status_label.setText(f"Fit written to {path}")

    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the fit", "fit_parameters.csv",
                                              "Parameters table, CSV (*.csv);;Fitted sum with the model, NeXus (*.nxs)")
        if path:
            try:
                self.export_table(path)
            except OSError as exc:
                self.status_label.setText(f"Could not write {path}: {exc}")
