"""JSON for metadata and ScanInfo inside our exports (numpy values, enums and dataclasses included)."""
from __future__ import annotations

import dataclasses
import enum
import json
import os

import numpy as np


def _default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return repr(value)


def dumps(value) -> str:
    """Compact one-line JSON (NaN allowed, as Python's json reads it back)."""
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def info_dict(info) -> dict | None:
    if info is None:
        return None
    data = dataclasses.asdict(info)
    data["spectrometer_crystals"] = dict(info.spectrometer_crystals)
    data["rowland_radius_mm"] = dict(info.rowland_radius_mm)
    return data
