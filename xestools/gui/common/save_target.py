"""Where the save dialogs start, and refusing a target that cannot be written before any work.

At Diamond the raw data of a visit are read-only and results go to ``…/<visit>/processing``. A save
dialog starts in the folder last written to; else in a ``processing`` folder beside the data (in the
data's folder or its parent); else in the data's folder when it is writable; else in the home
folder — never in a read-only data folder. A chosen path whose folder (or existing file) cannot be
written is refused with a message naming it, before anything is computed or written.
"""
from __future__ import annotations

import os
from pathlib import Path

from xestools.gui.common import settings as gui_settings

#: QSettings key of the folder last written to by a save dialog (opening files does not change it)
LAST_SAVE_FOLDER = "last_save_folder"
#: the results folder of a Diamond visit, beside the raw data
PROCESSING = "processing"


def writable_folder(folder: str | os.PathLike) -> bool:
    return os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)


def start_folder(last_written: str, data_path: str | os.PathLike | None, home: str | os.PathLike) -> str:
    """Where a save dialog opens (see the module docstring)."""
    if last_written and writable_folder(last_written):
        return str(last_written)
    if data_path:
        data_folder = Path(data_path).resolve().parent
        for candidate in (data_folder / PROCESSING, data_folder.parent / PROCESSING):
            if writable_folder(candidate):
                return str(candidate)
        if writable_folder(data_folder):
            return str(data_folder)
    return str(home)


def refusal(path: str | os.PathLike) -> str:
    """Why ``path`` cannot be written ("" when it can): a missing or read-only folder, a read-only file."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        return f"The folder {folder} does not exist; choose another folder."
    if not writable_folder(folder):
        return (f"The folder {folder} is read-only (raw data folders are); nothing was written. "
                f"Choose another folder, e.g. the visit's '{PROCESSING}' folder.")
    if path.exists() and not os.access(path, os.W_OK):
        return f"The file {path} is read-only; nothing was written. Choose another name."
    return ""


def ask_save_path(parent, title: str, suggestion: str, file_filter: str, data_path: str | None = None) -> str:
    """Ask where to save (starting as the module docstring says); "" when cancelled or refused
    (then a message says why). The chosen folder is remembered."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    folder = start_folder(gui_settings.settings().value(LAST_SAVE_FOLDER, "") or "", data_path, Path.home())
    path, _ = QFileDialog.getSaveFileName(parent, title, os.path.join(folder, suggestion), file_filter)
    if not path:
        return ""
    problem = refusal(path)
    if problem:
        QMessageBox.warning(parent, title, problem)
        return ""
    gui_settings.set_value(LAST_SAVE_FOLDER, os.path.dirname(os.path.abspath(path)))
    return path
