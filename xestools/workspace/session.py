"""The XES workspace as JSON data and back (the main window's session holds it under "xes_panel").

Restoring is split in two so no file is read on the GUI thread: :func:`xes_paths` names the files
a state needs; the caller reads them (on the worker pool) and hands :func:`xes_from_state` a
lookup. Missing or unknown keys are tolerated; what cannot be rebuilt becomes a failure naming why.

The main window reads the session's files too (on the same pool, in its own task), so a scan may
arrive after :func:`xes_from_state` ran, or its read there may have failed while the window's
succeeded. A derived item (average, normalisation, fit, difference, XES at Ω) whose inputs are not
there yet therefore waits: it is listed as "waiting for …" and built by :func:`retry_pending`
(called whenever a scan or map is added) once its inputs are in the list, matched by file and channel.
"""
from __future__ import annotations

import json
import os
from typing import Callable

from xestools.io.errors import XesFormatError
from xestools.model import RXESMap, Spectrum
from xestools.workspace.items import ItemKind, XesItem, compute_derived, spectra_of
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


def xes_paths(state: dict) -> list[str]:
    """Every file a state's maps and scan items were read from, in order, without repeats."""
    state = state if isinstance(state, dict) else {}
    paths = [entry.get("path") for entry in state.get("maps", []) or [] if isinstance(entry, dict)]
    paths += [entry.get("source_path") for entry in state.get("items", []) or []
              if isinstance(entry, dict) and entry.get("kind") == ItemKind.SCAN.value]
    return list(dict.fromkeys(str(path) for path in paths if path))


def _pair(value) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if isinstance(value, (list, tuple)) and len(value) == 2 else None


def settings_from_state(state: dict) -> XesSettings:
    """Plot and tool settings of a state; values a control could not show fall back to defaults."""
    plot = state.get("plot", {}) or {}
    average = state.get("average", {}) or {}
    metrics = state.get("metrics", {}) or {}
    grid = average.get("grid", "overlap")
    tools = XesToolSettings(
        average_grid=grid if grid in ("overlap", "union") else "overlap",
        average_weighted=bool(average.get("weighted", False)),
        normalise_window=_pair((state.get("normalise", {}) or {}).get("window")) or (0.0, 0.0),
        metrics_window=_pair(metrics.get("window")) or (0.0, 0.0),
        metrics_whole_range=bool(metrics.get("whole_range", True)))
    y_scale = plot.get("y_scale", "data")
    # older sessions stored the offset in data units: not kept (any number is read as a percentage)
    return XesSettings(XesPlotSettings(offset_percent=float(plot.get("offset_percent", 0.0) or 0.0),
                                       stack=bool(plot.get("stack", False)), bands=bool(plot.get("bands", True)),
                                       y_scale=y_scale if y_scale in ("data", "max") else "data"), tools)


def xes_from_state(workspace, state: dict, objects_of: Callable[[str], list]) -> None:
    """Rebuild ``workspace`` from ``state`` (see the module docstring)."""
    state = state if isinstance(state, dict) else {}
    workspace.pending_restore = None
    workspace.items.clear()
    workspace.maps.clear()
    workspace.current_map = -1
    workspace.maps_changed.emit()
    workspace.set_settings(settings_from_state(state))
    workspace.background_settings = dict(state.get("background_dialog", {}) or {})
    failures: list[tuple[str, str]] = []
    for entry in state.get("maps", []) or []:
        try:
            found = [obj for obj in objects_of(entry["path"]) if isinstance(obj, RXESMap)
                     and (entry.get("channel") is None or obj.channel is None or obj.channel.value == entry["channel"])]
            if found:
                workspace.add_map(found[0], path=entry["path"])
        except (XesFormatError, OSError, KeyError, TypeError) as exc:
            failures.append((str(entry.get("path", "?") if isinstance(entry, dict) else "?"), f"map not reloaded: {exc}"))
    pending = PendingRestore()
    for entry in state.get("items", []) or []:
        try:
            kind = ItemKind(entry["kind"])
            if kind is ItemKind.SCAN:
                pending.scans[int(entry["uid"])] = (os.path.abspath(str(entry["source_path"])), entry.get("channel"))
            for old, path in (entry.get("input_files") or {}).items():   # inputs closed before the save
                pending.scans.setdefault(int(old), (os.path.abspath(str(path)), None))
            new = _restore_item(workspace, entry, kind, pending.uid_map, objects_of)
        except _WaitingFor as waiting:
            scan = pending.scans.get(waiting.old) if waiting.old is not None else None
            wanted = os.path.basename(scan[0]) if scan else str(waiting)
            failure = (str(entry.get("name", "?")), f"{entry.get('name', 'item')}: waiting for its input {wanted}")
            pending.entries.append((entry, failure))
            failures.append(failure)
            continue
        except RESTORE_ERRORS as exc:
            failures.append((str(entry.get("source_path") or entry.get("name", "?")),
                             f"{entry.get('name', 'item')}: not restored ({exc})"))
            continue
        pending.uid_map[int(entry.get("uid", new.uid))] = new.uid
    workspace.failures.clear()
    workspace.pending_restore = pending
    workspace.add_failures(failures)
    retry_pending(workspace)


class _WaitingFor(LookupError):
    """A derived item's input is not in the list yet (its file may still arrive)."""

    def __init__(self, text: str, old: int | None = None) -> None:
        super().__init__(text)
        self.old = old


class PendingRestore:
    """What a restore still waits for: saved scan ids → (file, channel), saved → new ids, and the
    derived entries (with the failure row that lists them) whose inputs have not arrived."""

    def __init__(self) -> None:
        self.scans: dict[int, tuple[str, str | None]] = {}
        self.uid_map: dict[int, int] = {}
        self.entries: list[tuple[dict, tuple[str, str]]] = []


def retry_pending(workspace) -> int:
    """Build the waiting derived items whose inputs are now in the list; returns how many were built."""
    pending = getattr(workspace, "pending_restore", None)
    if pending is None:
        return 0
    for old, (path, channel) in pending.scans.items():
        if old not in pending.uid_map or workspace.items.item(pending.uid_map[old]) is None:
            found = next((item for item in workspace.items.items if item.kind is ItemKind.SCAN and item.source_path
                          and os.path.abspath(item.source_path) == path), None)
            if found is not None:
                pending.uid_map[old] = found.uid
                _drop_failures(workspace, lambda row, p=path: os.path.abspath(row[0]) == p)
    loaded_maps = {os.path.abspath(m.source) for m in workspace.maps if m.source}
    _drop_failures(workspace, lambda row: row[1].startswith("map not reloaded") and os.path.abspath(row[0]) in loaded_maps)
    built = 0
    progress = True
    while progress:
        progress = False
        for entry, failure in list(pending.entries):
            try:
                new = _restore_item(workspace, entry, ItemKind(entry["kind"]), pending.uid_map, None)
            except _WaitingFor:
                continue
            except RESTORE_ERRORS as exc:
                new = None
                _replace_failure(workspace, failure, (failure[0], f"{entry.get('name', 'item')}: not restored ({exc})"))
            else:
                pending.uid_map[int(entry.get("uid", new.uid))] = new.uid
                _drop_failures(workspace, lambda row, f=failure: row == f)
                built += 1
            pending.entries.remove((entry, failure))
            progress = progress or new is not None
    return built


def _drop_failures(workspace, doomed) -> None:
    kept = [row for row in workspace.failures if not doomed(row)]
    if len(kept) != len(workspace.failures):
        workspace.failures[:] = kept
        workspace.failures_changed.emit()


def _replace_failure(workspace, old: tuple[str, str], new: tuple[str, str]) -> None:
    workspace.failures[:] = [new if row == old else row for row in workspace.failures]
    workspace.failures_changed.emit()


def _restore_item(workspace, entry: dict, kind: ItemKind, uid_map: dict[int, int], objects_of) -> XesItem:
    items = workspace.items
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
        source = next((m for m in workspace.maps if m.source == params.get("map_source")
                       and (params.get("map_channel") is None or m.channel is None
                            or m.channel.value == params["map_channel"])), None)
        if source is None:
            raise _WaitingFor(f"map {os.path.basename(str(params.get('map_source')))}")
        spectrum, _ = compute_derived(kind, [], params, label=common["name"], source_map=source)
        return items.add_item(kind, spectrum, params=params, source_map=source, source_path=source.source, **common)
    inputs = []
    for old in entry.get("inputs", []) or []:
        if int(old) not in uid_map or items.item(uid_map[int(old)]) is None:
            raise _WaitingFor(f"#{old}", int(old))
        inputs.append(uid_map[int(old)])
    spectrum, report = compute_derived(kind, spectra_of(items, inputs), params, label=common["name"])
    return items.add_item(kind, spectrum, inputs=inputs, params=params, fit_report=report, **common)


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
