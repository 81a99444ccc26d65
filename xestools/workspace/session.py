"""The workspace as JSON data and back, without Qt (the session file holds it under "main_window").

A restore goes one way (:meth:`Workspace.restore <xestools.workspace.workspace.Workspace.restore>`):
:func:`restore_paths` lists every file the state needs, once; the caller's reader reads each once (the
GUI on its worker pool); :func:`loaded_lookup` turns what was read into ``objects_of(path)``; then the
workspace applies maps, cuts, derived maps and the XES items in that order. The files are applied as
they arrive, but normalisations, derived maps and the XES items wait until everything is read, so none
of them waits for a file that may still arrive. Missing or unknown keys are tolerated; what cannot be
rebuilt becomes a failure naming why.
"""
from __future__ import annotations

import json
import math
import os
from typing import Callable

from xestools.io.errors import XesFormatError
from xestools.model import RXESMap, Spectrum
from xestools.workspace.items import ItemKind, XesItemList, compute_derived, spectra_of
from xestools.workspace.views import XesPlotSettings, XesSettings, XesToolSettings

SESSION_VERSION = 1
#: what a restore tolerates from one entry before listing it as not restored
RESTORE_ERRORS = (XesFormatError, OSError, KeyError, ValueError, LookupError, TypeError)


def xes_to_state(workspace) -> dict:
    """Items (with inputs and parameters), maps, plot and tool settings, dialog settings, failures."""
    items = [{
        "uid": item.uid,
        "kind": item.kind.value,
        "name": item.name,
        "colour": item.colour,
        "visible": item.visible,
        "source_path": item.source_path,
        "channel": None if item.channel is None else item.channel.value,
        "inputs": list(item.inputs),
        "params": json.loads(json.dumps(item.params, default=str)),
        "input_files": {str(uid): path for uid, path in item.lost_inputs.items()},
    } for item in workspace.items.items]
    plot, tools = workspace.settings.plot, workspace.settings.tools
    return {
        "version": SESSION_VERSION,
        "items": items,
        "maps": [{"path": m.source, "channel": None if m.channel is None else m.channel.value} for m in workspace.maps],
        "plot": {"offset_percent": plot.offset_percent, "stack": plot.stack, "bands": plot.bands,
                 "y_scale": plot.y_scale},
        "normalise": {"window": list(tools.normalise_window)},
        "average": {"grid": tools.average_grid, "weighted": tools.average_weighted},
        "metrics": {"window": list(tools.metrics_window), "whole_range": tools.metrics_whole_range},
        "background_dialog": json.loads(json.dumps(workspace.background_settings, default=str)),
        "failures": [list(failure) for failure in workspace.failures],
    }


def dicts_in(value) -> list[dict]:
    """The objects of a saved list; [] when a damaged file holds something else there."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def xes_paths(state: dict) -> list[str]:
    """Every file an XES state's maps, scan items and closed inputs were read from, without repeats."""
    state = state if isinstance(state, dict) else {}
    paths = [entry.get("path") for entry in dicts_in(state.get("maps"))]
    for entry in dicts_in(state.get("items")):
        if entry.get("kind") == ItemKind.SCAN.value:
            paths.append(entry.get("source_path"))
        files = entry.get("input_files")
        paths += list(files.values()) if isinstance(files, dict) else []
    return list(dict.fromkeys(str(path) for path in paths if path))


def restore_paths(state: dict) -> tuple[list[str], list[str]]:
    """Every file a workspace state needs, each once in order: (paths to read, paths that no longer exist)."""
    files = [entry.get("path") for entry in dicts_in(state.get("files"))]
    xes = xes_paths(state.get("xes_panel"))
    wanted = list(dict.fromkeys(os.path.abspath(str(path)) for path in files + xes if path))
    present = [path for path in wanted if os.path.isfile(path)]
    return present, [path for path in wanted if path not in present]


def merge_restoring(saved: dict, now: dict) -> dict:
    """The state to keep while ``saved`` is being restored: ``saved`` (a copy), with the files and
    derived maps the user opened meanwhile (``now``) added after its own."""
    known = {os.path.abspath(str(entry.get("path"))) for entry in dicts_in(saved.get("files"))}
    files = dicts_in(saved.get("files")) + [entry for entry in now["files"] if os.path.abspath(entry["path"]) not in known]
    names = {entry.get("name") for entry in dicts_in(saved.get("derived"))}
    derived = dicts_in(saved.get("derived")) + [entry for entry in now["derived"] if entry["name"] not in names]
    merged = {**now, **{key: value for key, value in saved.items() if key in now}, "files": files, "derived": derived}
    if not isinstance(merged.get("rxes"), dict):
        merged["rxes"] = now["rxes"]
    return merged


def _pair(value) -> tuple[float, float] | None:
    """Two finite numbers (a window), or None for anything else a damaged file may hold."""
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        return None
    try:
        pair = (float(value[0]), float(value[1]))
    except (TypeError, ValueError, OverflowError):
        return None
    return pair if all(math.isfinite(v) for v in pair) else None


def _section(state: dict, name: str) -> dict:
    """A sub-object of a saved state; {} when it is missing or not an object."""
    value = state.get(name)
    return value if isinstance(value, dict) else {}


def _number(value, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return number if math.isfinite(number) else default


def settings_from_state(state: dict) -> XesSettings:
    """Plot and tool settings of a state; values a control could not show fall back to defaults."""
    plot, average, metrics = _section(state, "plot"), _section(state, "average"), _section(state, "metrics")
    grid = average.get("grid", "overlap")
    tools = XesToolSettings(
        average_grid=grid if grid in ("overlap", "union") else "overlap",
        average_weighted=bool(average.get("weighted", False)),
        normalise_window=_pair(_section(state, "normalise").get("window")) or (0.0, 0.0),
        metrics_window=_pair(metrics.get("window")) or (0.0, 0.0),
        metrics_whole_range=bool(metrics.get("whole_range", True)))
    y_scale = plot.get("y_scale", "data")
    # older sessions stored the offset in data units: not kept (any number is read as a percentage)
    return XesSettings(XesPlotSettings(offset_percent=_number(plot.get("offset_percent", 0.0) or 0.0, 0.0),
                                       stack=bool(plot.get("stack", False)), bands=bool(plot.get("bands", True)),
                                       y_scale=y_scale if y_scale in ("data", "max") else "data"), tools)


def maps_of_state(state: dict, objects_of: Callable[[str], list]) -> tuple[list[tuple[RXESMap, str]], list]:
    """The XES tab's maps of a state as (map, path), and failures naming those not read again."""
    found, failures = [], []
    for entry in dicts_in(state.get("maps")):
        try:
            maps = [obj for obj in objects_of(entry["path"]) if isinstance(obj, RXESMap)
                    and (entry.get("channel") is None or obj.channel is None or obj.channel.value == entry["channel"])]
        except (XesFormatError, OSError, KeyError, TypeError) as exc:
            failures.append((str(entry.get("path", "?")), f"map not reloaded: {exc}"))
            continue
        if maps:
            found.append((maps[0], entry["path"]))
    return found, failures


class _Inputs:
    """Saved item ids → new ones, and the saved scans' files (to name an input that did not come back)."""

    def __init__(self, entries: list[dict]) -> None:
        self.new: dict[int, int] = {}
        self.files: dict[int, str] = {}
        for entry in entries:
            try:
                if entry.get("kind") == ItemKind.SCAN.value:
                    self.files[int(entry["uid"])] = str(entry["source_path"])
                for old, path in (entry.get("input_files") or {}).items():
                    self.files.setdefault(int(old), str(path))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue

    def name(self, old: int) -> str:
        return os.path.basename(self.files[old]) if old in self.files else f"#{old}"


def _int(value) -> int | None:
    """A saved item id, or None when the session holds something else there."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _NotYet(LookupError):
    """A derived item's input is later in the saved list: built on the next pass."""


def restore_items(items: XesItemList, maps: list[RXESMap], state: dict, objects_of: Callable[[str], list]) -> list:
    """Add the saved items to ``items`` in their saved order (derived items are built once their inputs
    are), announced as one change; returns failures naming each item not restored and why."""
    with items.batch():
        return _restore_items(items, maps, state, objects_of)


def _restore_items(items: XesItemList, maps: list[RXESMap], state: dict, objects_of: Callable[[str], list]) -> list:
    entries = dicts_in(state.get("items"))
    inputs = _Inputs(entries)
    failures, waiting = [], list(entries)
    while waiting:
        left = []
        for entry in waiting:
            try:
                new = _restore_item(items, maps, entry, inputs, objects_of)
            except _NotYet:
                left.append(entry)
                continue
            except RESTORE_ERRORS as exc:
                failures.append((str(entry.get("source_path") or entry.get("name", "?")),
                                 f"{entry.get('name', 'item')}: not restored ({exc})"))
                continue
            if _int(entry.get("uid")) is not None:
                inputs.new[_int(entry["uid"])] = new.uid
        if len(left) == len(waiting):
            for entry in left:
                missing = [inputs.name(_int(old)) for old in entry.get("inputs") or [] if _int(old) not in inputs.new]
                failures.append((str(entry.get("name", "?")), f"{entry.get('name', 'item')}: not restored "
                                 f"(its input {', '.join(missing) or '?'} was not restored)"))
            break
        waiting = left
    saved = [inputs.new[_int(entry.get("uid"))] for entry in entries if _int(entry.get("uid")) in inputs.new]
    items.reorder(saved)      # a derived item saved above its inputs was built after them
    return failures


def _restore_item(items: XesItemList, maps: list[RXESMap], entry: dict, inputs: _Inputs, objects_of) -> object:
    kind = ItemKind(entry["kind"])
    common = {"name": entry.get("name", ""), "colour": entry.get("colour"), "visible": bool(entry.get("visible", True))}
    params = dict(entry.get("params", {}) or {})
    if kind is ItemKind.SCAN:
        path = entry["source_path"]
        spectra = [obj for obj in objects_of(path) if isinstance(obj, Spectrum)]
        if not spectra:
            raise ValueError(f"{os.path.basename(path)} holds no 1D spectrum")
        channels = {spectrum.channel: spectrum for spectrum in spectra}
        wanted = entry.get("channel")
        current = next((s for s in spectra if s.channel is not None and s.channel.value == wanted), spectra[0])
        return items.add_item(kind, current, source_path=path, channels=channels, **common)
    if kind is ItemKind.MAP_SLICE:
        source = next((m for m in maps if m.source == params.get("map_source")
                       and (params.get("map_channel") is None or m.channel is None
                            or m.channel.value == params["map_channel"])), None)
        if source is None:
            raise LookupError(f"map {os.path.basename(str(params.get('map_source')))} was not restored")
        spectrum, _ = compute_derived(kind, [], params, label=common["name"], source_map=source)
        return items.add_item(kind, spectrum, params=params, source_map=source, source_path=source.source, **common)
    uids, spectra, lost = [], [], {}
    closed = {int(old): str(path) for old, path in (entry.get("input_files") or {}).items()}
    for old in (int(value) for value in entry.get("inputs", []) or []):
        if old in closed:       # closed before the save: its file gives the data, the item stays stale
            uids.append(-old)
            lost[-old] = closed[old]
            spectra.append(next(obj for obj in objects_of(closed[old]) if isinstance(obj, Spectrum)))
        elif old in inputs.new:
            uids.append(inputs.new[old])
            spectra += spectra_of(items, [inputs.new[old]])
        else:
            raise _NotYet(old)
    spectrum, report = compute_derived(kind, spectra, params, label=common["name"])
    reason = f"input file {', '.join(sorted(os.path.basename(p) for p in lost.values()))} was closed; " \
             "the last result is kept" if lost else ""
    return items.add_item(kind, spectrum, inputs=uids, params=params, fit_report=report, lost_inputs=lost,
                          stale_reason=reason, **common)


def loaded_lookup(outcomes) -> Callable[[str], list]:
    """``objects_of`` over load outcomes: the objects of a path, or its load error as XesFormatError."""
    by_path = {os.path.abspath(outcome.path): outcome for outcome in outcomes}

    def objects_of(path: str) -> list:
        outcome = by_path.get(os.path.abspath(path))
        if outcome is None:
            raise XesFormatError(path, "was not read")
        if outcome.error:
            raise OSError(outcome.error)
        return outcome.objects
    return objects_of
