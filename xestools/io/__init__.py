"""Readers and writers: I20 NeXus and ASCII scans, plain columns, xestools CSV and NeXus exports.

The public names are imported lazily (PEP 562) so that ``xestools.io.atomic`` and
``xestools.io.errors`` can be used without loading numpy and h5py: the crash supervisor writes its
reports through the same atomic-write helper and must stay light.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import XesFormatError

if TYPE_CHECKING:
    from .detection import Detection
    from .reader import detect, load
    from .writers import write_csv, write_nexus

_LAZY = {
    "Detection": ".detection",
    "detect": ".reader",
    "load": ".reader",
    "write_csv": ".writers",
    "write_nexus": ".writers",
}

__all__ = ["Detection", "XesFormatError", "detect", "load", "write_csv", "write_nexus"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
