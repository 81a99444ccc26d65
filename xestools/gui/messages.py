"""Messages and the help that fit a laptop screen: long texts scroll or fold into "Show Details…".

A QMessageBox grows with its text; the help (about 1000 px of text) or a list of sixty unreadable
files would put its OK button below a 768-pixel screen's edge.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

from xestools.gui.common.geometry import fit_dialog

#: lines of a message shown in the box itself; the whole text is under "Show Details…"
MAX_MESSAGE_LINES = 12
#: the help window's size on a screen that has room for it
HELP_SIZE = (700, 720)


def warning_box(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """A non-modal warning (deleted when closed): at most MAX_MESSAGE_LINES lines, the rest folded."""
    lines = text.splitlines()
    shown = text
    if len(lines) > MAX_MESSAGE_LINES:
        shown = "\n".join(lines[:MAX_MESSAGE_LINES - 1] + [f"… and {len(lines) - MAX_MESSAGE_LINES + 1} more "
                                                            "lines (Show Details…)"])
    box = QMessageBox(QMessageBox.Icon.Warning, title, shown, QMessageBox.StandardButton.Ok, parent)
    if shown != text:
        box.setDetailedText(text)
    box.setModal(False)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box


def help_dialog(parent: QWidget | None, html: str) -> QDialog:
    """The help text in a scrolling window sized to the screen."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("xestools help")
    browser = QTextBrowser()
    browser.setHtml(html)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser, 1)
    layout.addWidget(buttons)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    fit_dialog(dialog, HELP_SIZE)
    return dialog
