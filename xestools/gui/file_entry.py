"""The GUI's file entry points: the open-scans and open-folder dialogs, and where the samples are.

What counts as a scan and the dialog filter come from :mod:`xestools.scanfiles` (shared with the
CLI); the dialogs open in the folder last used, else the current folder, and remember the folder
chosen. The samples come from :func:`xestools.samples.sample_folder` (the per-user data folder of
an installed copy), never from a checkout's ``data_samples/``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from xestools.gui.common import settings as gui_settings
from xestools.scanfiles import file_dialog_filter, natural_key, scan_files, start_folder

log = logging.getLogger("xestools.gui.file_entry")


def dialog_folder() -> str:
    """Where a file dialog opens: the folder last used if it still exists, else the current folder."""
    return str(start_folder(gui_settings.last_folder(""), Path.cwd()))


def ask_scan_files(parent: QWidget) -> list[str]:
    """Ask for scan files (every extension xestools reads); remembers their folder. [] when cancelled."""
    paths, _chosen_filter = QFileDialog.getOpenFileNames(parent, "Open scans", dialog_folder(), file_dialog_filter())
    if paths:
        gui_settings.set_last_folder(os.path.dirname(paths[0]))
    return list(paths)


def ask_folder(parent: QWidget) -> str:
    """Ask for a folder of scans; remembers it. "" when cancelled."""
    folder = QFileDialog.getExistingDirectory(parent, "Open every scan in a folder", dialog_folder())
    if folder:
        gui_settings.set_last_folder(folder)
    return folder


def folder_scans(folder: str | os.PathLike) -> tuple[list[str], str]:
    """The scan files in ``folder`` and "" — else those of its subfolders (one level down, then at
    any depth) and a note saying where they were found — or [] and a message naming the folder."""
    try:
        paths = [str(path) for path in scan_files(folder)]
    except OSError as exc:
        return [], f"Cannot list the folder {folder}: {exc.strerror or exc}"
    if paths:
        return paths, ""
    for depth, where in ((1, "its subfolders"), (None, "its subfolders at any depth")):
        paths, folders = _scans_below(Path(folder), depth)
        if paths:
            return paths, (f"No scan files directly in {folder}; opening {len(paths)} found in "
                           f"{folders} of {where}.")
    return [], f"No scan files in {folder} or its subfolders (xestools reads {file_dialog_filter().split(';;')[0]})."


def _scans_below(folder: Path, depth: int | None) -> tuple[list[str], int]:
    """The scan files in the subfolders of ``folder`` (``depth`` levels down, None: any), and in how
    many subfolders they are; unreadable subfolders are skipped (logged)."""
    found, folders, level = [], 0, [folder]
    while level and (depth is None or depth > 0):
        below = []
        for parent in level:
            try:
                below += sorted((p for p in parent.iterdir() if p.is_dir() and not p.is_symlink()), key=natural_key)
            except OSError as exc:
                log.info("skipping %s: %s", parent, exc)
        for sub in below:
            try:
                paths = [str(path) for path in scan_files(sub)]
            except OSError as exc:
                log.info("skipping %s: %s", sub, exc)
                continue
            found += paths
            folders += bool(paths)
        level = below
        depth = None if depth is None else depth - 1
    return found, folders


def sample_scans() -> tuple[list[str], str]:
    """The sample scans (written on first use to the per-user data folder) and "", or [] and a message."""
    from xestools.samples import default_folder, sample_folder

    try:
        folder = sample_folder()
    except OSError as exc:
        return [], f"Cannot write the sample data to {default_folder()}: {exc.strerror or exc}"
    return folder_scans(folder)
