"""JSON from files and messages we did not just write (state files, hand-overs, recipes), read with a depth limit.

Python's parser recurses once per level: a file of 100,000 ``[`` raises RecursionError, which escapes
every ``except ValueError`` and stopped the program at each launch. Light: no numpy (the supervisor uses it).
"""
from __future__ import annotations

import itertools
import json
import re


#: deeper than any file xestools writes (sessions nest about 8 levels); deep enough to read any of them
MAX_JSON_DEPTH = 100
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonTooDeep(ValueError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH`: refused before the parser recurses into it."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (brackets inside strings do not count)."""
    steps = _BRACKETS.findall(_STRING.sub('""', text))
    return max(itertools.accumulate(_STEP[bracket] for bracket in steps), default=0)


def loads_bounded(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` for files and messages we did not just write: nesting deeper than ``max_depth`` is a
    :class:`JsonTooDeep` (a ValueError) instead of a RecursionError that would escape every handler."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JsonTooDeep(f"JSON nested {depth} levels deep (at most {max_depth} are read)")
    try:
        return json.loads(text)
    except RecursionError as error:  # a parser with a smaller stack than ours
        raise JsonTooDeep(f"JSON nested too deeply to read ({error})") from None
