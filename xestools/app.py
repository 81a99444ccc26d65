"""Entry point of the GUI: ``python main_enhanced.py [FILES...]``, ``xestools-gui``, ``python -m xestools.app``.

By default a light supervisor process starts the GUI as a child and watches it (see
``docs/runtime.md``); ``--single-process`` runs the GUI directly. This module imports neither Qt nor
matplotlib nor numpy, so the supervisor stays small.
"""
from __future__ import annotations

import os
import sys

from xestools.runtime.options import parse_options


def main(argv: list[str] | None = None) -> int:
    """Run xestools; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    options = parse_options(argv)
    if options.single_process or os.environ.get("XESTOOLS_SUPERVISED") == "1":
        from xestools.runtime.gui_process import run_gui

        return run_gui(options)
    from xestools.runtime.supervisor import run_supervisor

    return run_supervisor(options)


if __name__ == "__main__":
    sys.exit(main())
