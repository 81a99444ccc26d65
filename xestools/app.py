"""Entry point of the GUI: ``python main_enhanced.py [FILES...]``, ``xestools-gui``, ``python -m xestools.app``.

By default a light supervisor process starts the GUI as a child and watches it (see
``docs/runtime.md``); ``--single-process`` runs the GUI directly. This module imports neither Qt nor
matplotlib nor numpy, so the supervisor stays small. It is also the one place that joins the runtime
and the main window: :func:`window_factory` is handed to the runtime, which never imports ``gui``.
"""
from __future__ import annotations

import os
import sys

from xestools.requirements import GUI_PACKAGES, missing_message
from xestools.runtime.options import export_to_environment, parse_options


def window_factory():
    """How the runtime makes the main window (see :mod:`xestools.runtime.window_api`)."""
    from xestools.runtime.window_api import WindowFactory

    def create(safe_mode: bool):
        from xestools.gui.main_window import MainWindow

        return MainWindow(safe_mode=safe_mode)

    def wait_for_workers(msecs: int) -> bool:
        from xestools.gui.common import workers

        return workers.wait_for_idle(msecs)

    return WindowFactory(create, wait_for_workers)


def main(argv: list[str] | None = None) -> int:
    """Run xestools; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    problem = missing_message(GUI_PACKAGES)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    options = parse_options(argv)
    export_to_environment(options)
    if options.single_process or os.environ.get("XESTOOLS_SUPERVISED") == "1":
        from xestools.runtime.gui_process import run_gui

        return run_gui(options, window_factory())
    from xestools.runtime.supervisor import run_supervisor

    return run_supervisor(options)


if __name__ == "__main__":
    sys.exit(main())
