"""The XES analysis commands of the Analysis menu: Fit lines, Repeats, Align, Calibrate, Save XES recipe.

The numbers come from the Qt-free workspace (:mod:`xestools.workspace.xes_results`,
:mod:`xestools.workspace.recipe`); this module asks the user (dialogs) and reports in the status bar.
A command that does not apply (nothing selected, too few ticked items) says why in the status bar.
"""
from __future__ import annotations

import contextlib
import importlib
import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QWidget)

from xestools.workspace.xes import data_window

log = logging.getLogger("xestools.gui.xes.analysis_commands")


def _xes(window):
    """The XES panel, made the current tab; None (with a message) when the XES tab is not available."""
    panel = window.xes_panel
    if panel is None:
        window._show_status("The XES tab is not available.")
        return None
    window.tabs.setCurrentWidget(panel)
    return panel


def _warm_fitting_library() -> None:
    """Import lmfit on the worker pool while the user fills in a form (its first import takes seconds)."""
    from xestools.gui.common import workers

    workers.submit(importlib.import_module, "lmfit")


@contextlib.contextmanager
def _busy():
    """A wait cursor while a command computes on the GUI thread (a fit behind an alignment or calibration)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


def _keep_open(window, dialog) -> None:
    """A non-modal tool window stays referenced by the main window while it is open."""
    tools = window.__dict__.setdefault("_analysis_tools", set())
    tools.add(dialog)
    dialog.destroyed.connect(lambda *_: tools.discard(dialog))
    dialog.show()


def open_fit_tool(window):
    """The Fit tool for the selected XES item."""
    from xestools.gui.xes.fit_tool import FitDialog

    panel = _xes(window)
    item = panel.require_selected() if panel is not None else None
    if item is None:
        return None
    dialog = FitDialog(panel.workspace, item.uid, parent=window)
    _keep_open(window, dialog)
    return dialog


def open_repeats(window):
    """The Repeats view of the selected average's members, or of the ticked spectra."""
    from xestools.gui.xes.repeats_view import RepeatsDialog

    panel = _xes(window)
    if panel is None:
        return None
    current = panel.current_item()
    dialog = RepeatsDialog.of_item_or_ticked(panel.workspace, None if current is None else current.uid, parent=window)
    _keep_open(window, dialog)
    return dialog


class _ReferenceForm(QDialog):
    """A small form: a reference item, an energy window, and the rows a command adds."""

    def __init__(self, title: str, items, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.items = list(items)
        self.form = QFormLayout(self)
        self.reference = QComboBox()
        self.reference.addItems([item.name for item in self.items])
        self.reference.currentIndexChanged.connect(self._window_of_reference)
        self.form.addRow("&Reference", self.reference)
        self.lo, self.hi = _energy_box(), _energy_box()
        row = QHBoxLayout()
        for part in (self.lo, QLabel("to"), self.hi):
            row.addWidget(part)
        self.form.addRow("&Window (eV)", row)
        self._window_of_reference(0)

    def finish(self) -> None:
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.form.addRow(buttons)

    def _window_of_reference(self, index: int) -> None:
        window = data_window(self.items[index].spectrum) if 0 <= index < len(self.items) else None
        if window is not None:
            self.lo.setValue(window[0])
            self.hi.setValue(window[1])

    def chosen(self):
        return self.items[self.reference.currentIndex()]

    def window(self) -> tuple[float, float]:
        return tuple(sorted((self.lo.value(), self.hi.value())))


def _energy_box(value: float = 0.0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(2)
    spin.setRange(-1e6, 1e6)
    spin.setValue(value)
    return spin


def align_form(window):
    """The form of "Align to reference…" for the ticked items (None with a message when it cannot apply)."""
    panel = _xes(window)
    if panel is None:
        return None
    ticked = panel.workspace.ticked_uids()
    if len(ticked) < 2:
        window._show_status("Tick the spectra to align and the reference (two or more items).")
        return None
    form = _ReferenceForm("Align to a reference", [panel.workspace.item(uid) for uid in ticked], window)
    form.method = QComboBox()
    form.method.addItems(["xcorr", "peak"])
    form.method.setToolTip("xcorr: cross-correlation over the window; peak: a fitted line's position in the window")
    form.form.addRow("&Method", form.method)
    form.finish()
    _warm_fitting_library()
    return form


def apply_align(window, form) -> list:
    """Align the other ticked items to the chosen reference (new items; one undo step)."""
    xes = window.xes_panel.workspace
    reference = form.chosen()
    others = [item.uid for item in form.items if item.uid != reference.uid]
    try:
        with _busy():
            added = xes.align(others, reference.uid, window=form.window(), method=form.method.currentText())
    except (ValueError, LookupError) as exc:
        window._show_status(f"Cannot align: {exc}")
        return []
    window._show_status("; ".join(item.name for item in added))
    return added


def align_dialog(window) -> None:
    form = align_form(window)
    if form is not None and form.exec() == QDialog.DialogCode.Accepted:
        apply_align(window, form)


def calibrate_form(window):
    """The form of "Calibrate from a line…": the line of a standard, its known energy, its window."""
    panel = _xes(window)
    if panel is None:
        return None
    items = panel.workspace.all_items()
    if not items or not panel.workspace.ticked_uids():
        window._show_status("Tick the items to calibrate; the reference line may be any item.")
        return None
    current = panel.current_item()
    form = _ReferenceForm("Calibrate from a reference line", items, window)
    if current is not None:
        form.reference.setCurrentIndex(items.index(current))
    form.known = _energy_box(9572.0)
    form.known.setToolTip("The line's known energy (e.g. the Kβ1,3 of the standard)")
    form.form.addRow("&Known energy (eV)", form.known)
    _warm_fitting_library()
    form.form.addRow(QLabel("The calibration is applied to the ticked items as new items; the originals keep "
                            "their raw energies."))
    form.finish()
    return form


def apply_calibration(window, form) -> list:
    xes = window.xes_panel.workspace
    try:
        with _busy():
            calibration = xes.calibration_from_item(form.chosen().uid, form.known.value(), form.window())
            added = xes.calibrate(xes.ticked_uids(), calibration)
    except (ValueError, LookupError) as exc:
        window._show_status(f"Cannot calibrate: {exc}")
        return []
    window._show_status(f"Calibration {calibration.offset:+.4f} ± {calibration.offset_sigma:.2g} eV applied to "
                        f"{len(added)} item(s)")
    return added


def calibrate_dialog(window) -> None:
    form = calibrate_form(window)
    if form is not None and form.exec() == QDialog.DialogCode.Accepted:
        apply_calibration(window, form)


def save_xes_recipe(window, path: str):
    """Write the XES chain of the selected fit item as a batch recipe; returns it (None with a message)."""
    from xestools.workspace.recipe import xes_recipe_from_workspace

    panel = _xes(window)
    item = panel.require_selected() if panel is not None else None
    if item is None:
        return None
    try:
        recipe = xes_recipe_from_workspace(panel.workspace, item.uid)
        recipe.save(path)
    except (ValueError, OSError) as exc:
        window._show_status(f"Cannot save the XES recipe: {exc}")
        return None
    window._show_status(f"XES recipe written to {path}: replay it with 'xestools batch --recipe {path} FILES…'")
    return recipe


def save_xes_recipe_dialog(window) -> None:
    path, _ = QFileDialog.getSaveFileName(window, "Save the XES recipe", "xes_recipe.json", "Recipe (*.json)")
    if path:
        save_xes_recipe(window, path)
