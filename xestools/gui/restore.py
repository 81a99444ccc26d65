"""A session coming back in the main window: the layout at once, the workspace by
:meth:`xestools.workspace.Workspace.restore` (each file read once on the worker pool, then applied in
order), then what did not come back is said and the followed scans and watched folder are resumed."""
from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray

log = logging.getLogger("xestools.gui.restore")


def restore_session(window, state: dict) -> None:
    """Restore ``state`` (the main window's session) into ``window``; unknown keys are ignored."""
    if not isinstance(state, dict):
        log.warning("ignoring session state of type %s", type(state).__name__)
        return
    for key, name in (("geometry", "restoreGeometry"), ("window_state", "restoreState")):
        value = state.get(key)
        if isinstance(value, str) and value:
            getattr(window, name)(QByteArray.fromBase64(value.encode("ascii")))
    window.session_files.remember_restored(state)
    window.undo.start_over()
    window._show_status("Restoring the session …")
    window.workspace.restore(state, window.loader.read)
    window._update_actions()


def show_restored(window, report) -> None:
    """Say what did not come back; follow and watch again what was followed and watched."""
    if report.missing:
        window._error("These files of the session no longer exist and were skipped:\n" + "\n".join(report.missing)
                      + "\n\nIf their folder moved, use File → Locate missing files…", title="Restore session")
    if report.errors:
        window._error("These files of the session could not be read:\n" + "\n".join(report.errors),
                      title="Restore session")
    window.live.resume(report.live)
    window._show_status(f"Session restored: {len(report.opened)} file(s)")
    window._update_actions()
