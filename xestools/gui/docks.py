"""The side panels of the main window: lists and tools in docks, so the plot gets the window.

Peers a scientist compares with (PyMca, silx view, DAWN) give the plot most of the window and keep
lists and tools in docks. Here every list and tool panel is a :class:`QDockWidget` in one column
beside the tabs: the dataset list and the metadata always, the XES item list and tools with the XES
tab, the cut table with the RXES tab. Each can be hidden (View menu or its close button), undocked
or resized; the user's choice of hidden panels and the dock layout are remembered in QSettings.
"Maximise plot" hides every panel and the toolbar until it is chosen again.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QTabWidget, QWidget

from xestools.gui.common import settings as gui_settings
from xestools.runtime.safe import safe_slot

#: width of the panel column in the first layout: 8 rows of every list and the cut table's columns
PANEL_WIDTH = 400
#: the largest share of the window's width the panel column keeps when the window is made narrow
PANEL_MAX_SHARE = 0.34
#: the narrowest a panel can be made (its contents scroll sideways below their own minimum)
PANEL_MIN_WIDTH = 180
#: the lists' share (%) of the column's height; the tools below get the rest
LIST_SHARE = 53
#: pixels Qt gives the lower dock beyond a vertical resizeDocks request (the upper one's tab bar)
SIZING_BIAS = 12
#: QSettings key of the panels the user hid
HIDDEN_KEY = "window/hidden_panels"


class PanelDock(QDockWidget):
    """A dock that tells when the user closed it (its close button), not when a tab switch hid it."""

    closed_by_user = Signal()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().closeEvent(event)
        self.closed_by_user.emit()


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area: a panel made smaller than its contents scrolls instead
    of overprinting them."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    area.setMinimumWidth(PANEL_MIN_WIDTH)
    return area


class SidePanels(QObject):
    """The docks of ``window`` and which of them show (see the module docstring).

    A dock bound to a tab shows while that tab is current and the user has not hidden it; the View
    menu's entry for it (``actions[name]``) is the user's choice, kept across tab switches and runs.
    """

    def __init__(self, window: QMainWindow, tabs: QTabWidget) -> None:
        super().__init__(window)
        self._window, self._tabs = window, tabs
        self.docks: dict[str, PanelDock] = {}
        self.actions: dict[str, QAction] = {}
        self._tab_of: dict[str, QWidget | None] = {}
        self._maximised: tuple[list[str], bool] | None = None     # (docks shown, toolbar shown) before
        self._first: PanelDock | None = None
        self._tools: list[PanelDock] = []     # the docks under the lists: one tab's tools each
        self._sized = False
        self._remembered = False      # the dock layout came from the settings
        window.installEventFilter(self)
        tabs.currentChanged.connect(safe_slot(lambda _index: self.apply()))
        tabs.tabBarDoubleClicked.connect(safe_slot(lambda _index: self.toggle_maximised()))

    def add(self, title: str, name: str, widget: QWidget, *, tab: QWidget | None = None,
            scroll: bool = False, below: str | None = None, tabify_with: str | None = None) -> PanelDock:
        """A dock named ``name`` holding ``widget``; ``tab``: shown only with that tab; ``below``: under
        that dock in the column; ``tabify_with``: sharing that dock's place, as a tab."""
        dock = PanelDock(title, self._window)
        dock.setObjectName(name)
        dock.setWidget(scrolled(widget) if scroll else widget)
        dock.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        self._window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        if tabify_with is not None:
            self._window.tabifyDockWidget(self.docks[tabify_with], dock)
        elif below is not None:
            self._window.splitDockWidget(self.docks[below], dock, Qt.Orientation.Vertical)
        self.docks[name], self._tab_of[name] = dock, tab
        action = QAction(title, self._window)
        action.setCheckable(True)
        action.setChecked(True)
        action.setStatusTip(f"Show or hide the {title} panel")
        action.toggled.connect(safe_slot(lambda _on: self.apply()))
        dock.closed_by_user.connect(safe_slot(lambda a=action: a.setChecked(False)))
        self.actions[name] = action
        if self._first is None:
            self._first = dock
        if below is not None:
            self._tools.append(dock)
        return dock

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt name
        if watched is self._window and event.type() == QEvent.Type.Show and not self._sized:
            self._sized = True
            QTimer.singleShot(0, safe_slot(self.first_layout))
        elif watched is self._window and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, safe_slot(self._keep_plot_room))    # once the docks have their new sizes
        return False

    def _keep_plot_room(self) -> None:
        """A window made narrow (half a laptop screen) narrows the panel column too, so the plot
        keeps at least 1 − PANEL_MAX_SHARE of the width."""
        widest = int(self._window.width() * PANEL_MAX_SHARE)
        shown = [d for d in self.docks.values() if d.isVisible() and not d.isFloating() and d.width() > widest]
        if shown:
            self._window.resizeDocks(shown[:1], [max(widest, PANEL_MIN_WIDTH)], Qt.Orientation.Horizontal)

    def first_layout(self) -> None:
        """The column's first width and the lists' share of its height, once the window has a size
        (docks cannot be sized before); a remembered layout is left as the user made it."""
        self.apply()
        if self._remembered or self._first is None:
            return
        self._window.resizeDocks([self._first], [PANEL_WIDTH], Qt.Orientation.Horizontal)
        self._set_tool_share(1.0 - LIST_SHARE / 100.0)

    def shown(self, name: str) -> bool:
        """The user wants panel ``name`` (it shows whenever its tab is current)."""
        return self.actions[name].isChecked()

    def apply(self) -> None:
        """Show the wanted panels of the current tab, hide the others (none while maximised)."""
        current = self._tabs.currentWidget()
        widths = [dock.width() for dock in self.docks.values() if dock.isVisible() and not dock.isFloating()]
        share = self._tool_share()
        for name, dock in self.docks.items():
            visible = (self._maximised is None and self.shown(name)
                       and self._tab_of[name] in (None, current))
            if visible == dock.isHidden():
                dock.setVisible(visible)
                if visible and self._tab_of[name] is not None:
                    dock.raise_()    # a tab's list comes to the front of the docks it shares a place with
        shown = [dock for dock in self.docks.values() if not dock.isHidden() and not dock.isFloating()]
        if shown and widths:    # the column keeps its width when a tab's panels replace the other's
            width = min(max(widths), max(int(self._window.width() * PANEL_MAX_SHARE), PANEL_MIN_WIDTH))
            self._window.resizeDocks(shown[:1], [width], Qt.Orientation.Horizontal)
        if share is not None:   # ... and the tab's tools the share of its height the other's had
            QTimer.singleShot(0, safe_slot(lambda: self._set_tool_share(share)))

    def _column_pair(self) -> tuple[PanelDock, PanelDock] | None:
        """(a list, the tools) docked and visible in the column, or None."""
        docked = [d for d in self.docks.values() if d.isVisible() and not d.isFloating()]
        tools = [d for d in docked if d in self._tools]
        lists = [d for d in docked if d not in self._tools]
        return (lists[0], tools[0]) if tools and lists else None

    def _tool_share(self) -> float | None:
        pair = self._column_pair()
        if pair is None or pair[0].height() + pair[1].height() <= 0:
            return None
        return pair[1].height() / (pair[0].height() + pair[1].height())

    def _set_tool_share(self, share: float) -> None:
        """The tools get ``share`` of the column's height (Qt sizes the docks' contents, so the lists'
        tab bar and title are taken off the request)."""
        pair = self._column_pair()
        if pair is None:
            return
        total = pair[0].height() + pair[1].height()
        tools = min(max(round(total * share) - SIZING_BIAS, 1), total - 1)
        if total > 2:
            self._window.resizeDocks(list(pair), [total - tools, tools], Qt.Orientation.Vertical)

    # ------------------------------------------------------------------ maximise, full screen
    @property
    def is_maximised(self) -> bool:
        return self._maximised is not None

    def toggle_maximised(self) -> None:
        """The plot alone: every panel and the toolbar hidden; again to bring them back."""
        toolbars = [bar for bar in self._window.findChildren(QWidget) if bar.objectName() == "main_toolbar"]
        if self._maximised is None:
            self._maximised = ([n for n, d in self.docks.items() if not d.isHidden()],
                               bool(toolbars and not toolbars[0].isHidden()))
            for bar in toolbars:
                bar.hide()
        else:
            toolbar_shown = self._maximised[1]
            self._maximised = None
            for bar in toolbars:
                bar.setVisible(toolbar_shown)
        self.apply()

    def maximise_on_title_double_click(self, plot) -> None:
        """A double-click above the axes of ``plot`` (a PlotCanvas: its title area) maximises it."""
        def on_press(event) -> None:
            axes = [ax for ax in plot.figure.axes if ax.get_visible()]
            if event.dblclick and event.inaxes is None and axes and event.y > max(ax.bbox.y1 for ax in axes):
                self.toggle_maximised()
        plot.connect("button_press_event", on_press)

    def toggle_full_screen(self) -> None:
        window = self._window
        window.showNormal() if window.isFullScreen() else window.showFullScreen()

    # ------------------------------------------------------------------ remembered choice
    def save(self) -> None:
        """The panels the user hid (the dock layout itself is in the window state)."""
        hidden = [name for name in self.docks if not self.shown(name)]
        gui_settings.set_value(HIDDEN_KEY, hidden)

    def restore(self) -> None:
        self._remembered = gui_settings.settings().contains("window/state")
        hidden = set(gui_settings.string_list(HIDDEN_KEY))
        for name, action in self.actions.items():
            action.setChecked(name not in hidden)
        self.apply()
