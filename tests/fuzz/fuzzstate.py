"""Fuzzing the files and messages xestools reads back from itself: sessions, run markers, settings,
hand-over messages and recipes.

These are written by xestools, but a damaged one (a full disk, a crash mid-write, a hand edit, a planted
file) must never stop the program from starting. Each case is judged in a child process: the reader
either accepts it or refuses it with its own error type (a ValueError); any other exception, a hang or a
crash is a finding.

The child (``python fuzzstate.py``) reads ``kind<TAB>path`` lines on stdin and answers one JSON line each.
"""
from __future__ import annotations

import json
import os
import random
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
KINDS = ("session", "marker", "settings", "handover", "recipe")

#: values that stand in for any JSON value: wrong types, extremes, deep nesting, odd text
_ODD_VALUES = [None, True, 0, -1, 2 ** 63, -2 ** 63, 1e308, -1e308, 0.5, "", "x" * 5000, "\u0000", "../../etc/passwd",
               "/dev/zero", [], {}, [None], {"": None}, [[[[[[[[]]]]]]]], {"a": {"b": {"c": {}}}}, "NaN", [1, "2", None]]


# ----------------------------------------------------------------------------- seeds
def _session_seed() -> str:
    """A real session: two sample scans, a cut, an average; as xestools writes it."""
    from xestools import session
    from xestools.workspace import Workspace

    workspace = Workspace()
    workspace.restore({"files": [{"path": str(SAMPLES / "990101_1.nxs"), "kind": "rxes"},
                                 {"path": str(SAMPLES / "ZnO_synthetic_990101_1.dat"), "kind": "xes"},
                                 {"path": str(SAMPLES / "ZnO_synthetic_990110_1.dat"), "kind": "xes"}]})
    state = workspace.to_state()
    return session.encode({"main_window": state}, SAMPLES)


def _recipe_seed() -> str:
    return json.dumps({"format": "xestools-recipe", "version": 1, "name": "fuzz", "channel": None,
                       "cuts": [{"type": "CEE", "position": 8638.9, "width": 1.0, "statistic": "sum",
                                 "view": "incident"}],
                       "normalise": {"window": [9560, 9590], "reference": None},
                       "metrics": {"window": [9640, 9670], "reference": None},
                       "average": {"weighted": False, "grid": "overlap"}, "output": {"format": "csv"}})


def _marker_seed(pid: int = 424242) -> str:
    return json.dumps({"pid": pid, "phase": "running", "started_epoch": 1700000000.0, "supervisor_pid": 1,
                       "log_file": f"/nowhere/xestools-20260101-000000-{pid}.log", "open_files": ["a.nxs"]})


def seeds() -> dict[str, str]:
    return {"session": _session_seed(), "recipe": _recipe_seed(), "marker": _marker_seed(),
            "handover": json.dumps({"open": ["/data/279517_1.nxs", "/data/280772_1.nxs"]}),
            "settings": "[General]\nrecent_files=/data/a.nxs, /data/b.nxs\nlast_folder=/data\n"
                        "[window]\ngeometry=@ByteArray(\\x1\\xd9\\xd0\\xcb)\n"}


# ----------------------------------------------------------------------------- mutations
def _walk(value, path=()):
    yield path, value
    if len(path) > 30:  # inside a nest a mutation made: deep enough
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))


def _replace(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replace(value[head], rest, new)
    return copy


def _json_mutation(text: str, rng: random.Random) -> str:
    """A structural change: one node of the document replaced by an odd value, a deep nest or a copy of another."""
    document = json.loads(text)
    nodes = list(_walk(document))
    for _ in range(rng.randint(1, 3)):
        path, _value = rng.choice(nodes)
        choice = rng.random()
        if choice < 0.15:
            new = _deep(rng)
        elif choice < 0.3:
            new = rng.choice(nodes)[1]
        else:
            new = rng.choice(_ODD_VALUES)
        document = _replace(document, path, new)
        nodes = list(_walk(document))
    return json.dumps(document)


def _deep(rng: random.Random):
    depth = rng.choice((20, 120, 5000))
    value: object = []
    for _ in range(min(depth, 900)):
        value = [value]
    return value


def _byte_mutation(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    action = rng.random()
    if action < 0.3 and data:
        del data[rng.randrange(len(data)):]                          # truncated (a crash mid-write)
    elif action < 0.6:
        for _ in range(rng.randint(1, 8)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)  # flipped bytes
    elif action < 0.8:
        position = rng.randrange(len(data) + 1)
        data[position:position] = rng.choice((b"[" * 100_000, b"{" * 50_000, b"\x00" * 64, b"\xff\xfe", b'"'))
    else:
        data = bytearray(rng.randbytes(rng.randint(0, 4096)))
    return bytes(data)


def make_case(kind: str, seed_text: str, seed: int, index: int) -> bytes:
    rng = random.Random(f"{seed}:{kind}:{index}")
    if kind != "settings" and rng.random() < 0.6:
        return _json_mutation(seed_text, rng).encode("utf-8")
    return _byte_mutation(seed_text.encode("utf-8"), rng)


# ----------------------------------------------------------------------------- the child: read each case
def _read(kind: str, path: str) -> str:
    """``accepted`` or ``refused`` (the reader's own ValueError); anything else propagates."""
    if kind == "session":
        from xestools.session import SessionError, SessionStore, read_session_file
        from xestools.workspace import Workspace

        result = SessionStore(path).load()
        try:
            state = read_session_file(path)
        except SessionError:
            return "refused"
        if result.state is not None:
            Workspace().restore(state)   # a readable file of odd content: restored as far as it makes sense
        return "accepted"
    if kind == "marker":
        from xestools.runtime.runstate import MarkerRejected, validate_marker

        try:
            validate_marker(Path(path), Path(path).parent.parent)
        except MarkerRejected:
            return "refused"
        return "accepted"
    if kind == "handover":
        from xestools.runtime.instance import handover_paths

        try:
            handover_paths(Path(path).read_bytes())
        except ValueError:
            return "refused"
        return "accepted"
    if kind == "recipe":
        from xestools.recipe import Recipe, RecipeError

        try:
            Recipe.load(path)
        except RecipeError:
            return "refused"
        return "accepted"
    if kind == "settings":
        os.environ["XESTOOLS_SETTINGS_FILE"] = path
        from xestools.gui.common import settings

        problem = settings.set_aside_if_damaged()
        settings.recent_files()
        settings.last_folder()
        return "refused" if problem else "accepted"
    raise ValueError(f"unknown kind {kind}")


def _child() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for line in sys.stdin:
        kind, path = line.rstrip("\n").split("\t", 1)
        try:
            outcome = {"outcome": _read(kind, path)}
        except BaseException as error:  # the finding: any exception type the reader does not own
            outcome = {"outcome": "bad", "error": f"{type(error).__name__}: {str(error)[:200]}",
                       "where": traceback.format_exc().splitlines()[-3:]}
        print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _child()
