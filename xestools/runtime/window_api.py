"""The one interface between the runtime and the main window.

``runtime`` never imports ``gui``: ``xestools.app`` builds a :class:`WindowFactory` and hands it to
:func:`xestools.runtime.gui_process.run_gui`. The window it creates is a ``QWidget`` (the runtime
shows it, sets its title, watches its Close event, raises it) that also has:

- ``user_action``: a Qt signal ``(str)`` emitted for every user action (a breadcrumb; the session is
  saved shortly after);
- ``session_state() -> dict``: the workspace as JSON-serialisable data;
- ``restore_session(state: dict) -> None``: reopen what ``session_state`` described;
- ``open_paths(paths: list[str]) -> None``: open files (command line, a second launch's hand-over);
- ``shutdown() -> None``: close plots and panels, stop timers; idempotent.

``docs/runtime.md`` lists the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

REQUIRED = ("user_action", "session_state", "restore_session", "open_paths", "shutdown")


def _no_workers(msecs: int) -> bool:
    return True


@dataclass(frozen=True)
class WindowFactory:
    """``create(safe_mode)`` makes the main window; ``wait_for_workers(msecs)`` waits (at shutdown)
    for background jobs the window started, returning False when they are still busy."""

    create: Callable[[bool], Any]
    wait_for_workers: Callable[[int], bool] = _no_workers


def check_window(window: Any) -> Any:
    """``window`` itself, or TypeError naming what it lacks (a clear start-up failure report)."""
    missing = [name for name in REQUIRED if not hasattr(window, name)]
    if missing:
        raise TypeError(f"the main window {type(window).__name__} lacks {', '.join(missing)} "
                        "(see xestools.runtime.window_api)")
    return window
