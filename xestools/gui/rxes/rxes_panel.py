"""The RXES tab: a map in the incident or transfer view, draggable CIE/CEE/CET cuts, their profiles.

The state is the Qt-free :class:`~xestools.workspace.maps.MapWorkspace` (documents, the shown one,
the style); each document's cuts are a :class:`~xestools.workspace.cuts.CutModel`. This panel
assembles the views — display controls (:mod:`map_controls`), the map (:mod:`map_view`), the
profiles (:mod:`profile_view`) and the cut table — and keeps them in step with the workspace.
Switching channel, view, colour scale or normalisation never moves a cut.
"""
from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QScrollArea, QSplitter,
                               QStackedWidget,
                               QVBoxLayout, QWidget)

from xestools.figures import MapStyle
from xestools.gui.rxes.cut_table import CutTable
from xestools.gui.rxes.map_controls import MapControls
from xestools.gui.rxes.map_view import SAME_LIMITS_PX, MapView, ReadoutLine
from xestools.gui.rxes.normalise_dialog import NormaliseDialog
from xestools.gui.rxes.profile_view import ProfileView
from xestools.model import Channel, Spectrum
from xestools.runtime.safe import safe_slot
from xestools.workspace.cuts import CUT_TYPES, CutModel
from xestools.workspace.datasets import Dataset
from xestools.workspace.documents import MapDocument
from xestools.workspace.maps import MapWorkspace

log = logging.getLogger("xestools.gui.rxes.rxes_panel")

HINT = ("<h3>No map open</h3><p>Open an RXES map with <b>File → Open…</b> (Ctrl+O), drop files onto the "
        "window, or try the bundled examples with <b>File → Open sample data</b>.</p>")


#: pixels below which the two profile panels and their legends would not be readable
PROFILES_MIN_WIDTH = 440
#: pixels (with the toolbar) below which the map's or the profiles' tick labels overprint one another
MAP_MIN_HEIGHT, PROFILES_MIN_HEIGHT = 220, 200
#: default split of the tab's height between the map and the profiles + cut table (relative sizes)
PROFILE_SHARE_MAP, PROFILE_SHARE_PROFILES = 60, 40


class _ScrollPage(QWidget):
    """The map page inside its scroll area: as tall as the scroll area, never shorter than its
    parts' minimum with the controls wrapped at the given width (then it scrolls)."""

    def __init__(self, controls: QWidget) -> None:
        super().__init__()
        self._controls = controls

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt name: asked by the scroll area
        wrapped = self._controls.heightForWidth(width) - self._controls.minimumSizeHint().height()
        return self.minimumSizeHint().height() + max(wrapped, 0)


class RxesPanel(QWidget):
    """Map + profile canvases, display controls and the cut table for the shown map document."""

    status_message = Signal(str)
    user_action = Signal(str)
    document_changed = Signal()
    #: the view, channel or normalisation of the shown map changed (from any control)
    display_changed = Signal()

    def __init__(self, workspace: MapWorkspace | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace if workspace is not None else MapWorkspace()
        self.reference_provider = lambda: []   # set by the main window: list of (label, Spectrum)
        self.last_profile_paint = 0.0
        self._results: dict[int, object] = {}
        self._bound_model: CutModel | None = None
        self._cut_workspace = None
        self._shut_down = False
        self.controls = MapControls()
        self.map_view = MapView(self)
        self.profile_view = ProfileView()
        self.cut_table = CutTable()
        self._build_ui()
        self._connect()

    # ------------------------------------------------------------------ construction
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack)
        self.hint = QLabel(HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.stack.addWidget(self.hint)
        page = _ScrollPage(self.controls)
        scroller = QScrollArea()    # on half a laptop screen the page scrolls; the plots stay readable
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setWidget(page)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.controls)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.profile_view.canvas)
        self.profile_view.canvas.setMinimumWidth(PROFILES_MIN_WIDTH)
        self.cut_box = self._cut_box()
        lower.addWidget(self.cut_box)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        lower.setSizes([600, 400])
        lower.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.map_view.canvas)
        self.splitter.addWidget(lower)
        # the map first (>= 300 px on a laptop), the profiles below it with the rest
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([PROFILE_SHARE_MAP, PROFILE_SHARE_PROFILES])
        self.splitter.setChildrenCollapsible(False)
        self._user_split = False      # until the user drags the splitter, the shares hold at any size
        self.splitter.splitterMoved.connect(self._on_splitter_moved)
        layout.addWidget(self.splitter)
        self.readout = ReadoutLine()
        layout.addWidget(self.readout)
        self.stack.addWidget(scroller)
        self.stack.setCurrentIndex(0)
        self.map_view.canvas.setMinimumHeight(MAP_MIN_HEIGHT)
        self.profile_view.canvas.setMinimumHeight(PROFILES_MIN_HEIGHT)

    def _cut_box(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        for kind, tip in ((kind.name, kind.description) for kind in CUT_TYPES):
            button = QPushButton(f"+ {kind}")
            button.setToolTip(f"Add a {kind} cut ({tip}) at the centre of the map")
            button.setProperty("cut_kind", kind)
            button.clicked.connect(self._on_add_cut_button)
            buttons.addWidget(button)
        clear = QPushButton("Remove all")
        clear.clicked.connect(self._on_remove_all_button)
        buttons.addWidget(clear)
        layout.addLayout(buttons)
        layout.addWidget(self.cut_table)
        box.setMinimumWidth(280)     # the table scrolls sideways on a small screen; the profiles keep their room
        return box

    def reset_zoom(self) -> None:
        """The whole map of the shown view again (View → Reset zoom)."""
        if self.document is not None:
            from xestools.figures import view_limits

            (x0, x1), (y0, y1) = view_limits(self.map_plot.rxes_map, self.style.view)
            self.map_ax.set_xlim(x0, x1)
            self.map_ax.set_ylim(y0, y1)
            self.map_canvas.draw_idle()

    def side_panels(self) -> list[tuple[str, str, QWidget]]:
        """(title, name, widget) of the cut table with its buttons, for the main window's docks;
        on its own the panel keeps it beside the profiles."""
        return [("Cuts", "cuts_dock", self.cut_box)]

    def _on_splitter_moved(self, _pos: int, _index: int) -> None:
        self._user_split = True

    def _apply_split(self) -> None:
        """Map and profiles share the height PROFILE_SHARE_MAP : PROFILE_SHARE_PROFILES (their minimum
        size hints would otherwise decide), until the user moves the splitter."""
        total = sum(self.splitter.sizes())
        if self._user_split or total <= 0:
            return
        share = PROFILE_SHARE_MAP / (PROFILE_SHARE_MAP + PROFILE_SHARE_PROFILES)
        self.splitter.blockSignals(True)
        self.splitter.setSizes([round(total * share), total - round(total * share)])
        self.splitter.blockSignals(False)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._apply_split()

    def _connect(self) -> None:
        """Bound slots only (no closures over the panel): a closed panel is freed like any object."""
        self.controls.colour_range = self.map_view.colour_range
        self.controls.message.connect(self.status_message)
        self.cut_table.message.connect(self.status_message)
        self.map_view.readout.connect(self.readout.setText)
        for signal, slot in ((self.controls.style_edited, self._on_style_edited),
                             (self.controls.view_chosen, self._on_view_chosen),
                             (self.controls.channel_chosen, self._on_channel_chosen),
                             (self.map_view.cut_pressed, self._on_cut_selected),
                             (self.map_view.cut_dropped, self._on_cut_dropped),
                             (self.cut_table.cut_selected, self._on_cut_selected)):
            signal.connect(slot)
        workspace = self.workspace
        self._hooks = [(workspace.current_changed, self._on_current_changed),
                       (workspace.display_changed, self._on_display_changed),
                       (workspace.style_changed, self._on_style_changed),
                       (workspace.action, self.user_action.emit)]
        for event, callback in self._hooks:
            event.connect(callback)

    # ------------------------------------------------------------------ the parts
    @property
    def document(self) -> MapDocument | None:
        return self.workspace.current

    @property
    def documents(self) -> list[MapDocument]:
        return self.workspace.documents

    @property
    def style(self) -> MapStyle:
        return self.workspace.style

    @property
    def map_canvas(self):
        return self.map_view.canvas

    @property
    def map_ax(self):
        return self.map_view.ax

    @property
    def map_plot(self):
        return self.map_view.map_plot

    @property
    def profile_canvas(self):
        return self.profile_view.canvas

    @property
    def profile_axes(self) -> dict:
        return self.profile_view.axes

    @property
    def selected_cut(self) -> int | None:
        return self.map_view.selected

    # ------------------------------------------------------------------ commands (workspace calls)
    def add_dataset(self, dataset: Dataset, *, show: bool = True, channel: str | None = None) -> MapDocument:
        return self.workspace.add_dataset(dataset, show=show, channel=channel)

    def set_channel(self, channel: str | Channel) -> None:
        self.workspace.set_channel(channel)

    def available_channels(self) -> tuple[str, ...]:
        return self.workspace.available_channels()

    def set_view(self, view: str) -> None:
        self.workspace.set_view(view)

    def set_style(self, style: MapStyle) -> None:
        self.workspace.set_style(style)

    def normalise(self, reference: Spectrum, window: tuple[float, float]) -> None:
        self.workspace.normalise(reference, window)

    def remove_normalisation(self) -> None:
        self.workspace.remove_normalisation()

    def add_cut(self, kind: str, position: float | None = None, width: float | None = None,
                mean: bool = False) -> int:
        return self.workspace.add_cut(kind, position, width, mean)

    def remove_all_cuts(self) -> None:
        self.workspace.remove_all_cuts()

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

    @safe_slot
    def _on_add_cut_button(self, _checked: bool = False) -> None:
        try:
            self.select_cut(self.add_cut(self.sender().property("cut_kind")))
        except ValueError as exc:
            self.status_message.emit(str(exc))

    @safe_slot
    def _on_remove_all_button(self, _checked: bool = False) -> None:
        self.remove_all_cuts()

    @safe_slot
    def _on_view_chosen(self, view: str) -> None:
        self.set_view(view)

    @safe_slot
    def _on_cut_selected(self, ident: int) -> None:
        self.select_cut(ident)

    @safe_slot
    def _on_channel_chosen(self, value: str) -> None:
        if self.document is not None and value in self.available_channels():
            self.set_channel(value)

    @safe_slot
    def _on_style_edited(self) -> None:
        style = self.controls.read_style(self.style)
        if style != self.style:
            self.set_style(style)
            self.user_action.emit(f"map style {style.scale} {style.cmap} {style.limits}")

    # ------------------------------------------------------------------ following the workspace
    def _on_current_changed(self) -> None:
        self._bind_cut_model(None)
        document = self.document
        if document is None:
            self._cut_workspace = None      # drops the closed map's prepared cut data
            self.stack.setCurrentIndex(0)
            self.document_changed.emit()
            return
        self.stack.setCurrentIndex(1)
        self._apply_split()
        self._show_controls()
        self.map_view.show_map(document.display_map(), self.style)
        self.cut_table.rxes_map = self.map_plot.rxes_map
        self._bind_cut_model(document.cuts)
        self._rescale_profiles()
        self.map_view.draw_new_map()
        self.document_changed.emit()

    def _show_controls(self) -> None:
        document = self.document
        self.controls.show_document(document.dataset.title, set(document.channels),
                                    document.channel.value if document.channel is not None else None)

    def _on_display_changed(self) -> None:
        if self.document is None or self._shut_down:
            return
        self._show_controls()
        if self._update_in_place():
            self.display_changed.emit()
            return
        before = self._colour_bar_look()
        self.map_view.show_map(self.document.display_map(), self.style)
        self.cut_table.rxes_map = self.map_plot.rxes_map
        # new points of a followed scan on the same colour scale: the colour bar need not be drawn again
        self._refresh_all_cuts(map_axes_only=before is not None and before == self._colour_bar_look())
        self.display_changed.emit()

    def _update_in_place(self) -> bool:
        """New values of the shown map on the same grid (a followed scan grew): the image, the cuts and
        their profiles updated in place and repainted without a relayout of the axes that did not change
        (the colour bar only when its normalisation changed, a profile panel only when its limits moved).
        False when the map must be shown again (another map, channel, normalisation or grid)."""
        shown, new = self.map_plot.rxes_map, self.document.display_map()
        if shown is None or new is shown or (new.source, new.channel) != (shown.source, shown.channel):
            return False
        repaint = self.map_view.update_map(new)
        if repaint is None:
            return False
        self.cut_table.rxes_map = self.map_plot.rxes_map
        for ident in list(self._results):
            self._update_views(ident)
        stale = self.profile_view.panels_to_refit(self.cut_results(), self.style.view, SAME_LIMITS_PX,
                                                  growing=bool(new.metadata.get("in_progress")))
        if stale is None:
            self._rescale_profiles()
        elif stale:
            self._rescale_profiles(only=stale)
        else:
            self.profile_canvas.blit_artists()
        if repaint == "axes":
            self.map_canvas.draw_idle()
        else:
            self.map_view.repaint_image(colour_bar=repaint == "colour bar")
        return True

    def _colour_bar_look(self) -> tuple | None:
        """What the colour bar shows (normalisation, label and its size), None before a map is shown."""
        plot = self.map_plot
        if plot.colorbar is None or plot.image is None:
            return None
        label = plot.colorbar.ax.yaxis.label
        return (plot.image, plot.image.norm, plot.image.get_cmap().name, label.get_text(), label.get_fontsize())

    def _on_style_changed(self, old: MapStyle) -> None:
        style = self.style
        view_changed = style.view != old.view
        self.controls.set_style(style)
        if view_changed:
            self.readout.setText(" ")     # read in the old view's coordinates: shown again on the next move
            self.display_changed.emit()
        if self.document is None or self._shut_down:
            return
        self.map_plot.set_style(style)
        self.map_view.layout()      # a longer colour-bar label (log scale) may need a smaller font
        self.map_view.place_contour_labels()
        if view_changed:
            # CEE and CET profiles are against Ω in both views: only the CIE panel changes
            self._refresh_all_cuts(profiles={"emission"}, map_axes_only=True)
        else:
            self.map_canvas.draw_idle()

    # ------------------------------------------------------------------ cuts: model → views
    def _bind_cut_model(self, model: CutModel | None) -> None:
        """Point overlays, profiles and the table at ``model``; stop following the previous one."""
        old = self._bound_model
        if old is not None:
            old.added.disconnect(self._on_cut_added)
            old.changed.disconnect(self._on_cut_changed)
            old.removed.disconnect(self._on_cut_removed)
        self.map_view.clear_overlays()
        self.profile_view.clear()
        self._results.clear()
        self._bound_model = model
        self.map_view.cuts = model
        self.map_view.selected = None
        self.cut_table.set_model(model)
        if model is not None:
            model.added.connect(self._on_cut_added)
            model.changed.connect(self._on_cut_changed)
            model.removed.connect(self._on_cut_removed)
            for entry in model.entries():
                self._create_views(entry.ident)
        self.profile_view.rebuild_legends(self.cut_results())

    def _create_views(self, ident: int) -> None:
        self.map_view.add_overlay(ident, self._bound_model.get(ident).color)
        self._update_views(ident)

    def _update_views(self, ident: int) -> None:
        """Overlay in the current view, and the cut recomputed on the shown map (equal to ``analysis.cut``)."""
        from xestools.analysis import View

        entry = self._bound_model.get(ident)
        self.map_view.update_overlay(ident)
        result = self._cuts_of_map().cut(entry.spec(), View(self.style.view))
        self._results[ident] = result
        self.profile_view.show(ident, result, entry.color)

    def _cuts_of_map(self):
        """The shown map prepared for repeated cuts (only the rows/columns a band reaches are reduced)."""
        from xestools.analysis.cut_workspace import CutWorkspace

        rxes_map = self.map_plot.rxes_map
        if self._cut_workspace is None or self._cut_workspace.rxes_map is not rxes_map:
            self._cut_workspace = CutWorkspace(rxes_map)
        return self._cut_workspace

    def _rescale_profiles(self, only: set[str] | None = None) -> None:
        self.profile_view.rescale(self.cut_results(), self.style.view, only=only)

    def _refresh_all_cuts(self, profiles: set[str] | None = None, *, map_axes_only: bool = False) -> None:
        """Recompute every cut; ``map_axes_only``: the colour bar is unchanged, redraw just the map axes."""
        for ident in list(self._results):
            self._update_views(ident)
        self._rescale_profiles(only=profiles)
        self.map_view.place_contour_labels()
        if map_axes_only and self.map_view.redraw_map_axes():
            return
        self.map_canvas.draw_idle()

    @safe_slot
    def _on_cut_added(self, ident: int) -> None:
        self._create_views(ident)
        self._rescale_profiles()
        self.map_canvas.blit_artists()
        self.map_view.place_contour_labels()

    @safe_slot
    def _on_cut_removed(self, ident: int) -> None:
        self.map_view.drop_overlay(ident)
        self.profile_view.remove(ident)
        self._results.pop(ident, None)
        if self.map_view.selected == ident:
            self.map_view.selected = None
        self._rescale_profiles()
        self.map_view.place_contour_labels()
        self.map_canvas.draw_idle()

    @safe_slot
    def _on_cut_changed(self, ident: int) -> None:
        if ident not in self._results:
            return
        self._update_views(ident)
        if self.map_view.dragging is not None:
            # the legend is part of the background (text is the costliest thing to draw); it is
            # rebuilt on release, while the cut table and the live lines follow the mouse
            self.map_canvas.blit_artists(list(self.map_view.overlay(ident).artists))
            self.profile_view.blit(ident)
            self.last_profile_paint = time.perf_counter()
        else:
            self._rescale_profiles()
            self.map_canvas.blit_artists()
            self.map_view.place_contour_labels()

    @safe_slot
    def _on_cut_dropped(self, ident: int) -> None:
        entry = self._bound_model.get(ident) if self._bound_model is not None else None
        if entry is not None:
            self.user_action.emit(f"drag cut {entry.kind} to {entry.position:.2f}")
        self._rescale_profiles()
        self.map_view.place_contour_labels()

    def select_cut(self, ident: int | None) -> None:
        previous, self.map_view.selected = self.map_view.selected, ident
        for changed in {previous, ident} - {None}:
            if changed in self._results:
                self.map_view.update_overlay(changed)
        self.cut_table.select_cut(ident)
        self.map_canvas.blit_artists()

    # ------------------------------------------------------------------ results and state
    def cut_results(self) -> list[tuple[object, object]]:
        """(CutEntry, CutResult) of every cut of the shown map, in table order."""
        if self._bound_model is None:
            return []
        return [(entry, self._results[entry.ident]) for entry in self._bound_model.entries()
                if entry.ident in self._results]

    def session_state(self) -> dict:
        state = self.workspace.to_state()
        state["splitter"] = [int(v) for v in self.splitter.sizes()]
        return state

    def restore_style(self, state: dict) -> None:
        try:
            self.workspace.restore_style(state)
        except (TypeError, ValueError) as exc:
            log.warning("ignoring map style from session: %s", exc)

    def restore_document(self, document: MapDocument, state: dict) -> None:
        """Apply a document's saved channel and cuts (tolerant of missing keys)."""
        self.workspace.restore_document(document, state)

    def shutdown(self) -> None:
        """Stop following the workspace, close both canvases; idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        for event, callback in self._hooks:
            event.disconnect(callback)
        self._hooks = []
        self._bind_cut_model(None)
        self._cut_workspace = None
        self.cut_table.shutdown()
        self.map_view.close()
        self.profile_view.close()
