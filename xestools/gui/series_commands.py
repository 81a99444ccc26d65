"""Commands on series of repeats and derived maps: average a series, map difference A − B, save a recipe.

The work is done by the Qt-free workspace (:mod:`xestools.workspace.series`,
:mod:`xestools.workspace.recipe`); this module only asks the user (dialogs) and reports in the
status bar. A refusal (no repeats open, maps sharing no channel, no cut to save) is a status message.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from xestools.workspace import series as derived_maps
from xestools.workspace.recipe import save_recipe

log = logging.getLogger("xestools.gui.series_commands")


def average_series(window) -> None:
    """Average the series of the current scan: maps in the RXES tab, spectra in the XES tab."""
    workspace = window.workspace
    dataset = workspace.current
    if dataset is None:
        window._show_status("Open the repeats of a scan first: there is no series to average.")
        return
    tools = workspace.xes.settings.tools
    try:
        if dataset.kind == "rxes":
            derived = derived_maps.average_map_series(workspace, dataset.key, weighted=tools.average_weighted,
                                                      grid=tools.average_grid)
            window.tabs.setCurrentWidget(window.rxes_panel)
            notes = [str(note) for note in derived.maps[0].metadata.get("notes", [])]
            text = "; ".join([f"{derived.maps[0].label}: averaged map shown", *notes])
        else:
            item = derived_maps.average_spectra_series(workspace, dataset.key)
            if window.xes_panel is not None:
                window.tabs.setCurrentWidget(window.xes_panel)
            text = f"{item.name}: new item in the XES tab"
    except (ValueError, LookupError) as exc:
        window._show_status(f"Cannot average the series: {exc}")
        return
    window.user_action.emit(f"average series of {os.path.basename(dataset.key)}")
    window._update_actions()
    window._show_status(text)


def set_complete_scans_only(window, on: bool) -> None:
    """Series averages leave out repeats still being measured; the choice is remembered for the next start."""
    from xestools.gui.common import settings as gui_settings

    window.workspace.series.set_complete_scans_only(on)
    gui_settings.set_complete_scans_only(on)
    window.user_action.emit(f"average complete scans only: {'on' if on else 'off'}")


def set_follow_averages(window, on: bool) -> None:
    window.workspace.series.set_follow_averages(on)
    window.user_action.emit(f"keep series averages up to date: {'on' if on else 'off'}")


class MapDifferenceDialog(QDialog):
    """Choose maps A and B (open RXES datasets) for the difference A − B."""

    def __init__(self, choices: list[tuple[str, str]], current: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Map difference A − B")
        form = QFormLayout(self)
        form.addRow(QLabel("A − B on A's grid (B resampled if the grids differ), σ = √(σA² + σB²)."))
        self.a_combo, self.b_combo = QComboBox(), QComboBox()
        for combo in (self.a_combo, self.b_combo):
            for title, key in choices:
                combo.addItem(title, key)
            combo.setMinimumContentsLength(30)
        keys = [key for _title, key in choices]
        first = keys.index(current) if current in keys else 0
        self.a_combo.setCurrentIndex(first)
        self.b_combo.setCurrentIndex(1 if first == 0 and len(keys) > 1 else 0)
        form.addRow("Map A", self.a_combo)
        form.addRow("minus map B", self.b_combo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def choice(self) -> tuple[str, str]:
        return self.a_combo.currentData(), self.b_combo.currentData()


def map_difference_dialog(window, dialog_hook=None) -> None:
    """Ask for A and B and show A − B in the RXES tab (``dialog_hook(dialog)`` lets tests answer)."""
    workspace = window.workspace
    choices = [(dataset.title, dataset.key) for dataset in workspace.datasets if dataset.kind == "rxes"]
    if len(choices) < 2:
        window._show_status("Open two RXES maps to take their difference.")
        return
    dialog = MapDifferenceDialog(choices, workspace.current_key, window)
    try:
        accepted = dialog_hook(dialog) if dialog_hook is not None else dialog.exec() == QDialog.DialogCode.Accepted
        if not accepted:
            return
        key_a, key_b = dialog.choice()
    finally:
        dialog.deleteLater()
    try:
        derived = derived_maps.map_difference(workspace, key_a, key_b)
    except ValueError as exc:
        window._show_status(f"Cannot take the difference: {exc}")
        return
    window.tabs.setCurrentWidget(window.rxes_panel)
    window.user_action.emit(f"map difference {derived.name}")
    window._update_actions()
    window._show_status(f"{derived.name}: difference map shown")


def save_recipe_dialog(window, path: str | None = None) -> None:
    """File → Save processing recipe…: the shown map's cuts and settings as a recipe for ``xestools batch``."""
    from xestools.gui.rxes.export import save_name

    if window.workspace.maps.current is None or not window.workspace.maps.current.cuts.entries():
        window._show_status("Add the cuts the recipe should repeat to a map first.")
        return
    if path is None:
        path = save_name(window, "Save processing recipe", "recipe.json", "Recipe (*.json)",
                         window.workspace.maps.current.dataset.path)
    if not path:
        return
    try:
        recipe = save_recipe(window.workspace, path)
    except ValueError as exc:
        window._show_status(f"Cannot save the recipe: {exc}")
        return
    except OSError as exc:
        window._error(f"{path}: cannot write the recipe ({exc.strerror or exc})", title="Save processing recipe")
        return
    window.user_action.emit(f"save recipe {os.path.basename(path)}")
    window._show_status(f"Recipe with {len(recipe.cuts)} cut(s) saved to {path}; "
                        f"replay it with: xestools batch FILES --recipe {os.path.basename(path)} -o OUT")
