"""Are the packages xestools needs importable by this Python? Checked before anything imports them.

Launching with another interpreter than the one xestools was installed into (a venv not activated) used
to end in ``No module named 'PySide6'`` and a traceback from the supervisor. ``importlib.util.find_spec``
looks a package up without importing it, so the check costs milliseconds and keeps the launcher light.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

#: import name → the distribution pip installs it from (pyproject.toml's dependencies)
GUI_PACKAGES = {"PySide6": "PySide6-Essentials", "matplotlib": "matplotlib", "numpy": "numpy", "h5py": "h5py",
                "platformdirs": "platformdirs"}
CLI_PACKAGES = {name: dist for name, dist in GUI_PACKAGES.items() if name != "PySide6"}
_CHECKOUT = Path(__file__).resolve().parents[1]


def missing(packages: dict[str, str]) -> list[str]:
    """The packages (import name, and the distribution where it differs) this interpreter cannot find."""
    absent = []
    for name, distribution in packages.items():
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent that fails to import, or a module set to None
            found = False
        if not found:
            absent.append(name if name == distribution else f"{name} ({distribution})")
    return absent


def install_hint() -> str:
    """The command that installs what is missing, for this very interpreter."""
    python = sys.executable or "python"
    if (_CHECKOUT / "pyproject.toml").is_file() and os.access(_CHECKOUT, os.R_OK):
        return f"{python} -m pip install -e {_CHECKOUT}"
    return f"{python} -m pip install xestools"


def missing_message(packages: dict[str, str]) -> str | None:
    """One line naming the missing packages and the install command (None when nothing is missing)."""
    absent = missing(packages)
    if not absent:
        return None
    names = ", ".join(absent)
    return (f"xestools: the Python package{'s' if len(absent) > 1 else ''} {names} "
            f"{'are' if len(absent) > 1 else 'is'} not installed for {sys.executable or 'this Python'}; "
            f"install with: {install_hint()}  (or activate the environment xestools was installed in)")


def cli_main(argv: list[str] | None = None) -> int:
    """The ``xestools`` command: the package check first, then :func:`xestools.cli.main` (which imports numpy)."""
    problem = missing_message(CLI_PACKAGES)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    from xestools.cli import main

    return main(argv)
