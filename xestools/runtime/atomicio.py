"""``xestools.io.atomic`` for the supervisor, without importing the readers.

``xestools/io/__init__.py`` imports the readers, which import numpy; the supervisor must stay light.
When ``xestools.io`` is not imported yet, the atomic-write module is loaded from its file under its
real name, so later imports of ``xestools.io.atomic`` get this same module. Once ``xestools.io`` is
imported (the GUI process), the ordinary import is used.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "xestools.io.atomic"


def _load():
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    if "xestools.io" in sys.modules:
        import xestools.io.atomic as module

        return module
    path = Path(__file__).resolve().parents[1] / "io" / "atomic.py"
    spec = importlib.util.spec_from_file_location(_NAME, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module


_atomic = _load()
atomic_write = _atomic.atomic_write
atomic_path = _atomic.atomic_path
atomic_open = _atomic.atomic_open
