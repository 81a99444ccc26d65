"""JSON for metadata and ScanInfo inside our exports (numpy values, enums and dataclasses included),
and the one bounded JSON reader for files the program reads back (sessions, markers, messages).

numpy is imported only when a value needs it, so the light runtime paths can read JSON here.
"""
from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import os
import re

#: deeper than this is not a file we wrote (ours nest a dozen levels); Python's parser recurses
MAX_JSON_DEPTH = 100
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: linear time on long strings
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _default(value):
    import numpy as np

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


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of ``text`` nest (strings skipped), without parsing it."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(_DEPTH_STEP[c] for c in brackets), default=0)


def loads_bounded(text: str | bytes, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` for files we read back: ValueError (never RecursionError or MemoryError)
    when ``text`` is larger than ``max_bytes``, nests deeper than ``max_depth`` or is not JSON."""
    if len(text) > max_bytes:
        raise ValueError(f"{len(text) / 1e6:.1f} MB, more than the {max_bytes / 1e6:.1f} MB such a file may have")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not text ({exc.reason})") from exc
    depth = json_depth(text)
    if depth > max_depth:
        raise ValueError(f"nested {depth} levels deep (at most {max_depth} expected)")
    try:
        return json.loads(text)
    except RecursionError:  # a parser built with a smaller stack than ours
        raise ValueError("nested too deeply to read") from None
