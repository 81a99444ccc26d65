"""The main window's commands: QActions of both tabs, the menus and the toolbar.

Every command of the RXES tab (open, export, views, channels, cuts, normalisation) and of the XES
tab (average, normalise, background, difference, metrics, export) has a menu entry; the frequent
ones a shortcut. The actions call the window (``window.<method>``); ``update`` enables them from
what is open.
"""
from __future__ import annotations

import importlib

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from xestools.runtime.safe import safe_slot
from xestools.workspace.cuts import CUT_TYPES

HELP_TEXT = """<h3>xestools</h3>
<p><b>Open</b> I20 NeXus (.nxs) or ASCII (.dat) scans with File → Open (Ctrl+O) or by dropping them on the
window. RXES maps appear in the <i>RXES map</i> tab, 1D XES spectra in the <i>XES</i> tab.</p>
<p><b>Views</b>: incident (Ω horizontal, ω vertical, Ctrl+1) or energy transfer (Ω horizontal, Ω − ω vertical,
Ctrl+2), drawn on true coordinates — the transfer view of a rectangular scan is a parallelogram.</p>
<p><b>Cuts</b> (@CUT_TYPES@): add them with the buttons
or the Analysis menu. Drag a cut line in the map; the arrow keys move the selected cut by 0.01 eV
(Shift: 0.1 eV); Delete removes it. Type position and width (eV) in the cut table. Profiles show sum or mean
over the band with ±1σ bands; the legend names each cut.</p>
<p><b>Channel</b>: upper (Si(642), medipix1) or lower (Ge(555), medipix2); a channel the scan lacks is
disabled. Cuts keep their positions across channel, view, scale and normalisation changes.</p>
<p><b>XES</b>: Analysis → XES spectra averages the ticked scans (Ctrl+Shift+A), normalises the selected items
(Ctrl+Shift+N), fits a background (Ctrl+Shift+B), subtracts B from A (Ctrl+Shift+D) and computes line-shape
metrics (Ctrl+Shift+M). Analysis → Fit lines (Ctrl+Alt+F) fits peaks to the selected item; Repeats checks the
ticked spectra (or an average's repeats) for consistency and trends and leaves a repeat out of the average;
Align to reference and Calibrate from a line make shifted or calibrated copies; Save XES recipe writes the
chain of a fit item for <tt>xestools batch</tt>.</p>
<p><b>Series</b>: repeats of a measurement (same sample, same Ω/ω ranges and steps) are grouped in the
dataset list; the same scan opened as .nxs and .dat is one scan. Analysis → Average the series (Ctrl+Alt+A)
averages the repeats of the current scan: maps into a new map, spectra into a new XES item. Map difference
A − B makes a new map with propagated σ. File → Save processing recipe writes the shown map's cuts for
<tt>xestools batch --recipe</tt>.</p>
<p><b>Scans being measured</b> open with the points written so far and are followed (the Follow box under
the dataset list; "in progress — N of M points"); the map, cuts and XES overlay update in place, keeping zoom
and cuts. File → Watch folder… opens and follows each new scan of a data folder; older ones are listed there.</p>
<p><b>Export</b>: profiles to CSV (with σ and points per bin) or NeXus, figures to PNG/SVG/PDF, the map to
NeXus or CSV (File menu); XES items to CSV or NeXus (Analysis → XES spectra).</p>
<p><b>Undo</b>: Edit → Undo (Ctrl+Z) / Redo (Ctrl+Shift+Z) takes back adding, moving, editing and removing cuts,
XES averages, normalisations, fits and removals, map normalisation, opening and closing datasets; a drag of a cut
line is one step. Switching view or channel is not a step and keeps the history.</p>
<p><b>Sessions</b>: File → Save session as… (Ctrl+Shift+S) writes what is open (files, channels, cuts, XES items
and how they were made) to a <i>.xes-session</i> file, e.g. one per sample or beamtime; File → Open session… and
Open recent session bring it back. The last session is also saved automatically and restored at start.</p>""".replace("@CUT_TYPES@", "; ".join(f"{kind.name}: {kind.description}" for kind in CUT_TYPES))

#: (cut type, shortcut, tip) of the Analysis menu's "Add … cut" commands, one per cut type
CUT_COMMANDS = tuple((kind.name, kind.shortcut, f"Cut at {kind.description}") for kind in CUT_TYPES)
#: (name, text, shortcut, tip) of the XES tab's commands; ``window.run_xes(name)`` runs one
XES_COMMANDS = (
    ("average", "&Average the ticked scans", "Ctrl+Shift+A", "New item: the point-by-point average of the ticked scans"),
    ("normalise", "&Normalise the selected items", "Ctrl+Shift+N", "Divide by an area over the chosen window"),
    ("background", "Fit a &background…", "Ctrl+Shift+B", "Fit a background to the selected item"),
    ("difference", "&Difference A − B", "Ctrl+Shift+D", "New item: A − B of the chosen items"),
    ("metrics", "Line-shape &metrics", "Ctrl+Shift+M", "Peak, FWHM, first moment, area and IAD of the ticked items"),
    ("export_csv", "Export selected item to &CSV…", None, "Write the selected item with its provenance"),
    ("export_nexus", "Export selected item to Ne&XuS…", None, "Write the selected item as NeXus NXdata"),
    ("export_report", "Save the fit &report…", None, "The fit report of a background or residual item"),
    ("export_metrics", "Export metrics to CS&V…", None, "The metrics table as CSV"),
    ("export_plot", "Export the XES &plot…", None, "The overlay as PNG, SVG or PDF"),
)


class WindowCommands:
    """Every QAction of the window, made once (see the module docstring)."""

    def __init__(self, window) -> None:
        self._window = window
        w = window
        self.open_action = self._make("&Open…", w.open_dialog, "Ctrl+O", "Open I20 NeXus/ASCII scans or xestools exports")
        self.watch_action = self._make("&Watch folder…", lambda: w.live.watch_dialog(),
                                       tip="Open and follow each new scan that appears in a data folder")
        self.open_folder_action = self._make("Open &folder…", w.open_folder_dialog, "Ctrl+Shift+O",
                                             "Open every scan in a folder; files that cannot be read are listed once")
        self.open_samples_action = self._make("Open sa&mple data", w.open_sample_data,
                                              tip="Open the synthetic example scans (written on first use to your "
                                                  "user data folder)")
        self.save_profiles_action = self._make("&Save cut profiles…", lambda: _export(w, "profiles_dialog"), "Ctrl+S",
                                               "Write the cut profiles to CSV (σ, points per bin) or NeXus")
        self.export_map_figure_action = self._make("Export map fi&gure…", lambda: _export(w, "figure_dialog", "map"),
                                                   tip="Save the map figure as PNG, SVG or PDF")
        self.export_profile_figure_action = self._make("Export &profile figure…",
                                                       lambda: _export(w, "figure_dialog", "profile"),
                                                       tip="Save the profile figure as PNG, SVG or PDF")
        self.export_map_data_action = self._make("Export map &data…", lambda: _export(w, "map_dialog"),
                                                 tip="Write the shown map to NeXus or CSV")
        self.open_session_action = self._make("Open sess&ion…", w.session_files.open_dialog,
                                              tip="Replace what is open with a saved .xes-session file")
        self.locate_missing_action = self._make("&Locate missing files…", w.session_files.locate_missing_dialog,
                                                tip="Point to the folder the session's data moved to; "
                                                    "every missing file under it is found again")
        self.save_session_action = self._make("Save session &as…", w.session_files.save_as_dialog, "Ctrl+Shift+S",
                                              "Save what is open (files, channels, cuts, XES items) as a .xes-session file")
        self.undo_action = self._make("&Undo", w.undo.undo, "Ctrl+Z", "Undo the last change of cuts, XES items or datasets")
        self.redo_action = self._make("&Redo", w.undo.redo, "Ctrl+Shift+Z", "Redo what was undone")
        w.undo.bind(self.undo_action, self.redo_action)
        self.close_dataset_action = self._make("&Close dataset", w.close_current_dataset, "Ctrl+W",
                                               "Close the selected dataset")
        self.quit_action = self._make("&Quit", w.close, "Ctrl+Q")
        self._view_and_channel(w)
        self.reset_zoom_action = self._make("&Reset zoom", lambda: w.rxes_panel.reset_zoom(), "Ctrl+0")
        self.add_cut_actions = {kind: self._make(f"Add {kind} cut", lambda k=kind: w.add_cut(k), shortcut, tip)
                                for kind, shortcut, tip in CUT_COMMANDS}
        self.remove_cuts_action = self._make("Remove all cuts", lambda: w.rxes_panel.remove_all_cuts())
        self.normalise_action = self._make("&Normalise map by XES reference…",
                                           lambda: w.rxes_panel.open_normalise_dialog(),
                                           tip="Divide the map by the area of an XES reference over a window")
        self.remove_normalisation_action = self._make("Remove map normalisation",
                                                      lambda: w.rxes_panel.remove_normalisation())
        self._series_commands(w)
        self._analysis_commands(w)
        self.xes_actions = {name: self._make(text, lambda n=name: w.run_xes(n), shortcut, tip)
                            for name, text, shortcut, tip in XES_COMMANDS}
        self.maximise_action = self._make("&Maximise plot", lambda: w.panels.toggle_maximised(), "Ctrl+Shift+F",
                                          "The plot alone, without panels and toolbar (double-click the tab "
                                          "title does the same); again to bring them back")
        self.full_screen_action = self._make("&Full screen", lambda: w.panels.toggle_full_screen(), "F11")
        self.help_action = self._make("xestools &help", w.show_help, "F1")
        self.about_action = self._make("&About xestools", lambda: _about(w))

    def _make(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(safe_slot(lambda _checked=False: self._run(slot)))
        return action

    def _run(self, slot) -> None:
        """A command ends the undo step before it (a drag just before Ctrl+Shift+E stays its own step)."""
        undo = getattr(self._window, "undo", None)
        if undo is not None:
            undo.flush()
        slot()

    def _series_commands(self, w) -> None:
        series = _Commands("xestools.gui.series_commands")
        self.average_series_action = self._make(
            "Average the &series of the current scan", lambda: series.average_series(w), "Ctrl+Alt+A",
            "Average the repeats of the current scan (maps: a new map in the RXES tab; spectra: a new XES item), "
            "with the weighting and grid chosen in the XES tab")
        self.follow_averages_action = self._make("&Keep series averages up to date", lambda: series.set_follow_averages(
            w, self.follow_averages_action.isChecked()), tip="Recompute an average when a repeat of its series arrives",
            checkable=True)
        self.complete_only_action = self._make("Average c&omplete scans only", lambda: series.set_complete_scans_only(
            w, self.complete_only_action.isChecked()), checkable=True,
            tip="Series averages leave out repeats still being measured (and take them in once complete)")
        from xestools.gui.common import settings as gui_settings

        w.workspace.series.set_complete_scans_only(gui_settings.complete_scans_only())   # the user's last choice
        self.complete_only_action.setChecked(w.workspace.series.complete_scans_only)
        self.map_difference_action = self._make("Map &difference A − B…", lambda: series.map_difference_dialog(w),
                                                tip="New map: A − B of two open maps, with propagated σ")
        self.save_recipe_action = self._make("Save processing r&ecipe…", lambda: series.save_recipe_dialog(w),
                                             tip="The shown map's cuts and settings as a recipe for 'xestools batch'")

    def _analysis_commands(self, w) -> None:
        analysis = _Commands("xestools.gui.xes.analysis_commands")
        self.fit_action = self._make("&Fit lines…", lambda: analysis.open_fit_tool(w), "Ctrl+Alt+F",
                                     "Fit peaks plus a background to the selected XES item (results table, accept as items)")
        self.repeats_action = self._make("&Repeats…", lambda: analysis.open_repeats(w), None,
                                         "Consistency and trends of the ticked spectra or of the selected average's repeats")
        self.align_action = self._make("Ali&gn to reference…", lambda: analysis.align_dialog(w), None,
                                       "Shift the ticked spectra onto a reference (new items with shift ± σ)")
        self.calibrate_action = self._make("&Calibrate from a line…", lambda: analysis.calibrate_dialog(w), None,
                                           "Energy calibration from a reference line at a known energy, applied to "
                                           "the ticked items as new items")
        self.save_xes_recipe_action = self._make("Save XES rec&ipe…", lambda: analysis.save_xes_recipe_dialog(w), None,
                                                 "The chain of the selected fit item (align → normalise → background "
                                                 "→ fit → metrics) as a recipe for 'xestools batch'")
        self.analysis_actions = (self.fit_action, self.repeats_action, self.align_action, self.calibrate_action,
                                 self.save_xes_recipe_action)
        if w.xes_panel is not None:        # the XES tools' "Fit & repeats" buttons run the same commands
            buttons = w.xes_panel.tools.analysis_buttons
            for name, action in (("fit", self.fit_action), ("repeats", self.repeats_action),
                                 ("align", self.align_action), ("calibrate", self.calibrate_action)):
                buttons[name].clicked.connect(action.trigger)

    def _view_and_channel(self, w) -> None:
        self.view_group = QActionGroup(w)
        self.incident_view_action = self._make("&Incident view (Ω, ω)", lambda: w.set_view("incident"), "Ctrl+1",
                                               checkable=True)
        self.transfer_view_action = self._make("&Transfer view (Ω, Ω − ω)", lambda: w.set_view("transfer"), "Ctrl+2",
                                               checkable=True)
        for action in (self.incident_view_action, self.transfer_view_action):
            self.view_group.addAction(action)
        self.incident_view_action.setChecked(True)
        self.channel_group = QActionGroup(w)
        self.upper_action = self._make("&Upper channel (medipix1)", lambda: w.set_channel("upper"), "Ctrl+U",
                                       checkable=True)
        self.lower_action = self._make("&Lower channel (medipix2)", lambda: w.set_channel("lower"), "Ctrl+L",
                                       checkable=True)
        for action in (self.upper_action, self.lower_action):
            self.channel_group.addAction(action)

    # ------------------------------------------------------------------ menus and toolbar
    def build_menus(self, menu_bar, panel_actions) -> None:
        """The menu bar; ``panel_actions``: the View menu's show/hide entries of the side panels."""
        file_menu = menu_bar.addMenu("&File")
        _add(file_menu, self.open_action, self.open_folder_action, self.watch_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(safe_slot(self.fill_recent_menu))
        file_menu.addAction(self.open_samples_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_session_action)
        self.recent_sessions_menu = file_menu.addMenu("Open rece&nt session")
        self.recent_sessions_menu.aboutToShow.connect(
            safe_slot(lambda: self._window.session_files.fill_recent_menu(self.recent_sessions_menu)))
        _add(file_menu, self.locate_missing_action, self.save_session_action, None, self.save_profiles_action, self.export_map_figure_action,
             self.export_profile_figure_action, self.export_map_data_action, self.save_recipe_action, None,
             self.close_dataset_action,
             self.quit_action)
        _add(menu_bar.addMenu("&Edit"), self.undo_action, self.redo_action)
        view_menu = menu_bar.addMenu("&View")
        _add(view_menu, self.incident_view_action, self.transfer_view_action, None, self.upper_action,
             self.lower_action, None, self.reset_zoom_action, self.maximise_action, self.full_screen_action, None)
        panels_menu = view_menu.addMenu("&Panels")
        _add(panels_menu, *panel_actions)
        analysis_menu = menu_bar.addMenu("&Analysis")
        _add(analysis_menu, *self.add_cut_actions.values(), self.remove_cuts_action, None, self.normalise_action,
             self.remove_normalisation_action, None, self.average_series_action, self.follow_averages_action,
             self.complete_only_action, self.map_difference_action, None, *self.analysis_actions, None)
        xes_menu = analysis_menu.addMenu("&XES spectra")
        actions = list(self.xes_actions.values())
        _add(xes_menu, *actions[:5], self.average_series_action, None, *actions[5:])
        help_menu = menu_bar.addMenu("&Help")
        _add(help_menu, self.help_action, self.about_action)

    def fill_recent_menu(self) -> None:
        from xestools.gui.common import settings as gui_settings

        menu, window = self.recent_menu, self._window
        menu.clear()
        files = gui_settings.recent_files()
        for path in files:
            action = menu.addAction(path)
            action.triggered.connect(safe_slot(lambda _=False, p=path: window.open_paths([p])))
        if files:
            menu.addSeparator()
            clear = menu.addAction("Clear list")
            clear.triggered.connect(safe_slot(lambda _=False: gui_settings.clear_recent_files()))
        else:
            menu.addAction("(no recent files)").setEnabled(False)

    def build_toolbar(self, window) -> None:
        toolbar = window.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        _add(toolbar, self.open_action, self.save_profiles_action, None, self.incident_view_action,
             self.transfer_view_action, None, *self.add_cut_actions.values(), None, self.export_map_figure_action)

    def update(self, rxes_panel, xes_available: bool, has_current: bool) -> None:
        """Enable what applies to what is open; check the shown view and channel."""
        has_map = rxes_panel.document is not None
        channels = rxes_panel.available_channels()
        for action in (self.incident_view_action, self.transfer_view_action, self.export_map_figure_action,
                       self.export_map_data_action, self.reset_zoom_action, self.normalise_action,
                       self.remove_cuts_action, self.save_profiles_action, self.export_profile_figure_action,
                       *self.add_cut_actions.values()):
            action.setEnabled(has_map)
        self.remove_normalisation_action.setEnabled(has_map and rxes_panel.document.normalisation is not None)
        self.close_dataset_action.setEnabled(has_current)
        self.average_series_action.setEnabled(has_current)
        self.map_difference_action.setEnabled(len(rxes_panel.documents) > 1)
        self.save_recipe_action.setEnabled(has_map)
        self.upper_action.setEnabled("upper" in channels)
        self.lower_action.setEnabled("lower" in channels)
        for action in (*self.xes_actions.values(), *self.analysis_actions):
            action.setEnabled(xes_available)
        if has_map and rxes_panel.document.channel is not None:
            (self.upper_action if rxes_panel.document.channel.value == "upper" else self.lower_action).setChecked(True)
        (self.transfer_view_action if rxes_panel.style.view == "transfer" else self.incident_view_action).setChecked(True)


class _Commands:
    """A command module imported when one of its commands first runs, not at start-up (its
    dialogs and what they import are not needed for the first window)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self._name), attribute)


def _add(target, *actions) -> None:
    """Add actions to a menu or toolbar; None adds a separator."""
    for action in actions:
        if action is None:
            target.addSeparator()
        else:
            target.addAction(action)


def _export(window, dialog: str, *args) -> None:
    """A File menu export of the RXES tab (gui/rxes/export.py), reporting in the window's status bar."""
    from xestools.gui.rxes import export

    getattr(export, dialog)(window, window.rxes_panel, *args, window._show_status)


def _about(window) -> None:
    from PySide6.QtWidgets import QMessageBox

    from xestools import __version__

    QMessageBox.about(window, "About xestools",
                      f"<b>xestools {__version__}</b><p>Viewer and analysis tools for X-ray emission "
                      "spectroscopy (XES/RXES) scans from the Diamond Light Source I20 beamline.</p>")
