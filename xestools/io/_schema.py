"""The schema of what our own exports carry back: ``metadata``, ``info``, ``label`` and ``source``.

Our exports are read like any other untrusted file: a header edited by hand or crafted
(``{"warnings": 5}``) is a format error naming the file, not a broken window later on.
"""
from __future__ import annotations

import math
import numbers

from ..model import ScanInfo
from .errors import XesFormatError

_HINT = "the export was edited or damaged; export it again"
_TEXT_KEYS = ("intensity_source", "scan_order", "scan_direction", "mono_crystal", "sample_description")
_NUMBER_KEYS = ("incident_energy",)
_INFO_TEXT = ("sample_name", "start_time", "end_time", "experiment_id", "command", "monitor", "source_format")
_INFO_NUMBER = ("mono_energy", "counting_time")
#: more scan dimensions than this is not an XES scan
_MAX_DIMENSIONS = 8


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fail(path: str, where: str, problem: str) -> XesFormatError:
    return XesFormatError(path, f"{where}: {problem}", _HINT)


def metadata(value, path: str, where: str) -> dict:
    """The metadata object of an export, checked key by key for the keys the program relies on."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, where, f"metadata must be a JSON object, not {type(value).__name__}")
    warnings = value.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise _fail(path, where, "metadata 'warnings' must be a list of texts")
    operations = value.get("operations", [])
    if not isinstance(operations, list):
        raise _fail(path, where, "metadata 'operations' must be a list")
    normalisation = value.get("normalisation")
    if normalisation is not None and not isinstance(normalisation, (dict, str)):
        raise _fail(path, where, "metadata 'normalisation' must be an object")
    if isinstance(normalisation, dict) and "factor" in normalisation and normalisation["factor"] is not None \
            and not _is_number(normalisation["factor"]):
        raise _fail(path, where, "metadata 'normalisation.factor' must be a number")
    for key in _TEXT_KEYS:
        if key in value and not isinstance(value[key], str):
            raise _fail(path, where, f"metadata {key!r} must be a text")
    for key in _NUMBER_KEYS:
        if key in value and value[key] is not None and not _is_number(value[key]):
            raise _fail(path, where, f"metadata {key!r} must be a number")
    if "snake" in value and not isinstance(value["snake"], bool):
        raise _fail(path, where, "metadata 'snake' must be true or false")
    if "xes_energy_setpoints" in value and not _number_map(value["xes_energy_setpoints"]):
        raise _fail(path, where, "metadata 'xes_energy_setpoints' must map channels to numbers")
    return value


def _number_map(value) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _is_number(v) for k, v in value.items())


def text(value, path: str, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(path, where, f"must be a text, not {type(value).__name__}")
    return value


def info(value, path: str, where: str) -> ScanInfo | None:
    """ScanInfo from its exported JSON object (unknown keys from newer versions are ignored)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(path, where, f"info must be a JSON object, not {type(value).__name__}")
    kwargs = {key: value[key] for key in ScanInfo.__dataclass_fields__ if key in value}
    for key in _INFO_TEXT:
        if key in kwargs and not isinstance(kwargs[key], str):
            raise _fail(path, where, f"info {key!r} must be a text")
    for key in _INFO_NUMBER:
        if kwargs.get(key) is not None and not _is_number(kwargs[key]):
            raise _fail(path, where, f"info {key!r} must be a number")
    number = kwargs.get("scan_number")
    if number is not None and not _is_int(number):
        raise _fail(path, where, "info 'scan_number' must be an integer")
    dims = kwargs.get("scan_dimensions", [])
    if not isinstance(dims, list) or len(dims) > _MAX_DIMENSIONS or not all(_is_int(d) and d >= 0 for d in dims):
        raise _fail(path, where, f"info 'scan_dimensions' must be a list of at most {_MAX_DIMENSIONS} counts")
    kwargs["scan_dimensions"] = tuple(dims)
    crystals = kwargs.get("spectrometer_crystals", {})
    if not isinstance(crystals, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in crystals.items()):
        raise _fail(path, where, "info 'spectrometer_crystals' must map channels to texts")
    radius = kwargs.get("rowland_radius_mm", {})
    if not _number_map(radius) or not all(math.isfinite(v) for v in radius.values()):
        raise _fail(path, where, "info 'rowland_radius_mm' must map channels to numbers")
    return ScanInfo(**kwargs)
