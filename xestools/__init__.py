"""xestools: XES/RXES viewer and analysis for Diamond I20 scan files.

The names in ``__all__`` are the public API for scripts and notebooks (see ``docs/api.md``): they
keep their meaning within a major version. Everything else, including modules not named there, is
private and may change. Names are imported on first use (PEP 562) so that ``import xestools`` stays
light: the crash supervisor and ``xestools --version`` must not load numpy, h5py or Qt.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: The one place the version is defined; pyproject.toml reads it from here.
__version__ = "0.2.0.dev0"

if TYPE_CHECKING:
    from xestools import analysis
    from xestools.convert import from_xarray
    from xestools.figures import plot
    from xestools.io import XesFormatError, detect, load, write_csv, write_nexus
    from xestools.model import Channel, RXESMap, ScanInfo, Spectrum
    from xestools.samples import sample_folder
    from xestools.scanfiles import load_folder, scan_files

_LAZY = {
    "analysis": ("xestools.analysis", None),
    "load": ("xestools.io", "load"),
    "detect": ("xestools.io", "detect"),
    "write_csv": ("xestools.io", "write_csv"),
    "write_nexus": ("xestools.io", "write_nexus"),
    "XesFormatError": ("xestools.io", "XesFormatError"),
    "Spectrum": ("xestools.model", "Spectrum"),
    "RXESMap": ("xestools.model", "RXESMap"),
    "ScanInfo": ("xestools.model", "ScanInfo"),
    "Channel": ("xestools.model", "Channel"),
    "sample_folder": ("xestools.samples", "sample_folder"),
    "scan_files": ("xestools.scanfiles", "scan_files"),
    "load_folder": ("xestools.scanfiles", "load_folder"),
    "from_xarray": ("xestools.convert", "from_xarray"),
    "plot": ("xestools.figures", "plot"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = target
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
