"""The XES items: loaded spectra and derived results, as a plain list with change callbacks.

The state is a Python list of :class:`XesItem`; a Qt model (``gui/xes/xes_model.py``) only presents it.
A derived item
(average, normalised, background, residual, difference, XES of a map at one Ω) remembers its
inputs by item id and its parameters, so it can be recomputed when an input changes (e.g. the
channel of a two-channel scan is switched) and rebuilt from a saved session. When a recompute is
impossible the item keeps its last result and is marked stale with the reason.
"""
from __future__ import annotations

import contextlib
import enum
import itertools
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from xestools.drawing import PALETTE
from xestools.model import Channel, RXESMap, Spectrum
from xestools.workspace.events import Event

log = logging.getLogger("xestools.workspace.items")


class ItemKind(str, enum.Enum):
    SCAN = "scan"
    MAP_SLICE = "map slice"
    AVERAGE = "average"
    NORMALISED = "normalised"
    BACKGROUND = "background"
    RESIDUAL = "residual"
    DIFFERENCE = "difference"
    FIT = "fit"
    CALIBRATED = "calibrated"
    ALIGNED = "aligned"

    @property
    def derived(self) -> bool:
        return self is not ItemKind.SCAN


@dataclass(eq=False)
class XesItem:
    """One row of the scan list.

    ``spectrum`` is the current result. A scan keeps every channel it was loaded with in
    ``channels`` so its channel can be switched without reloading. A derived item lists its input
    item ids in ``inputs`` (order matters: members of an average; [a, b] of a difference;
    [input, reference] of a normalisation; [input, wide] of a background) and its ``params``.
    """

    uid: int
    kind: ItemKind
    name: str
    spectrum: Spectrum
    colour: str
    visible: bool = True
    source_path: str = ""
    channels: dict[Channel | None, Spectrum] = field(default_factory=dict)
    inputs: list[int] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    stale: bool = False
    stale_reason: str = ""
    source_map: RXESMap | None = None
    fit_report: str = ""
    #: inputs that were removed (their file was closed): item id → file, so reopening it relinks them
    lost_inputs: dict[int, str] = field(default_factory=dict)

    @property
    def channel(self) -> Channel | None:
        return self.spectrum.channel

    @property
    def scan_number(self) -> int | None:
        info = self.spectrum.info
        return None if info is None else info.scan_number

    @property
    def sample_name(self) -> str:
        info = self.spectrum.info
        return "" if info is None else info.sample_name

    @property
    def switchable_channels(self) -> list[Channel]:
        return [channel for channel in self.channels if channel is not None]


class XesItemList:
    """The ordered items with plain callbacks, so a Qt model can follow without being the state.

    Structural changes are announced before and after (``about_to_insert(row)``/``inserted(row)``,
    ``about_to_remove(row)``/``removed(row)``, ``about_to_move(row, destination)``/``moved()``,
    ``about_to_reset()``/``reset()``), then ``structure_changed()``; a changed item (new spectrum,
    channel, stale flag, visibility, colour, name) emits ``item_changed(uid)``.
    """

    def __init__(self) -> None:
        self._items: list[XesItem] = []
        self._uids = itertools.count(1)
        self._colours = itertools.cycle(PALETTE)
        self._batching = False
        for name in ("about_to_insert", "inserted", "about_to_remove", "removed", "about_to_move", "moved",
                     "about_to_reset", "reset", "structure_changed", "item_changed"):
            setattr(self, name, Event())

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[XesItem]:
        return list(self._items)

    def item(self, uid: int) -> XesItem | None:
        for item in self._items:
            if item.uid == uid:
                return item
        return None

    def item_at(self, row: int) -> XesItem:
        return self._items[row]

    def row_of(self, uid: int) -> int:
        for row, item in enumerate(self._items):
            if item.uid == uid:
                return row
        return -1

    def visible_items(self) -> list[XesItem]:
        return [item for item in self._items if item.visible]

    def dependants(self, uid: int) -> list[XesItem]:
        """Items computed from ``uid``, directly or through other derived items, in list order."""
        found: set[int] = set()
        frontier = {uid}
        while frontier:
            nxt = {item.uid for item in self._items if item.uid not in found and frontier & set(item.inputs)}
            found |= nxt
            frontier = nxt
        return [item for item in self._items if item.uid in found]

    # ------------------------------------------------------------------ editing
    def add_item(self, kind: ItemKind, spectrum: Spectrum, *, name: str = "", source_path: str = "",
                 channels: dict | None = None, inputs: Iterable[int] = (), params: dict | None = None,
                 colour: str | None = None, visible: bool = True, source_map: RXESMap | None = None,
                 fit_report: str = "", lost_inputs: dict[int, str] | None = None, stale_reason: str = "") -> XesItem:
        """A new item at the end; ``stale_reason`` marks it stale (a restored item whose input file was closed)."""
        uid = next(self._uids)
        item = XesItem(
            uid=uid, kind=kind, name=name or spectrum.label or f"item {uid}", spectrum=spectrum,
            colour=colour or next(self._colours), visible=visible, source_path=source_path,
            channels=dict(channels or {spectrum.channel: spectrum}) if kind is ItemKind.SCAN else {},
            inputs=list(inputs), params=dict(params or {}), source_map=source_map, fit_report=fit_report,
            lost_inputs=dict(lost_inputs or {}), stale=bool(stale_reason), stale_reason=stale_reason,
        )
        row = len(self._items)
        if self._batching:
            self._items.append(item)
            return item
        self.about_to_insert.emit(row)
        self._items.append(item)
        self.inserted.emit(row)
        self.structure_changed.emit()
        return item

    @contextlib.contextmanager
    def batch(self):
        """Items added or reordered inside are announced once, as a reset, when it ends: a restored
        session adds dozens of items, and a list view that follows each insertion takes ms per row."""
        if self._batching:
            yield
            return
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            self.about_to_reset.emit()
            self.reset.emit()
            self.structure_changed.emit()

    def remove_uids(self, uids: Iterable[int], *, reason: str = "an input was removed; the last result is kept") -> None:
        """Remove items; items derived from them keep their result, marked stale with ``reason``."""
        doomed = set(uids)
        affected = {dependant.uid for uid in doomed for dependant in self.dependants(uid)} - doomed
        files = {item.uid: item.source_path for item in self._items
                 if item.uid in doomed and item.kind is ItemKind.SCAN and item.source_path}
        for item in self._items:
            if item.uid not in doomed:
                item.lost_inputs.update({uid: files[uid] for uid in item.inputs if uid in files})
        for row in reversed(range(len(self._items))):
            if self._items[row].uid in doomed:
                self.about_to_remove.emit(row)
                del self._items[row]
                self.removed.emit(row)
                self.structure_changed.emit()
        for item in self._items:
            if item.uid in affected:
                self.set_stale(item.uid, True, reason)

    def clear(self) -> None:
        self.about_to_reset.emit()
        self._items.clear()
        self.reset.emit()
        self.structure_changed.emit()

    def replace_all(self, items: Iterable[XesItem]) -> None:
        """Show exactly ``items`` (an undo puts a saved list back; their ids stay as they were)."""
        if self._batching:
            self._items = list(items)
            return
        self.about_to_reset.emit()
        self._items = list(items)
        self.reset.emit()
        self.structure_changed.emit()

    def reorder(self, uids: Iterable[int]) -> None:
        """Put the items of ``uids`` in that order (the others stay after them, in their order)."""
        rank = {uid: index for index, uid in enumerate(uids)}
        ordered = sorted(self._items, key=lambda item: rank.get(item.uid, len(rank)))
        if ordered != self._items:
            self.replace_all(ordered)

    def move(self, uid: int, delta: int) -> bool:
        """Move an item up (delta < 0) or down by ``|delta|`` rows."""
        row = self.row_of(uid)
        target = row + delta
        if row < 0 or not 0 <= target < len(self._items) or delta == 0:
            return False
        self.about_to_move.emit(row, target + 1 if delta > 0 else target)
        self._items.insert(target, self._items.pop(row))
        self.moved.emit()
        self.structure_changed.emit()
        return True

    def set_spectrum(self, uid: int, spectrum: Spectrum, **changes: Any) -> None:
        item = self.item(uid)
        if item is None:
            return
        item.spectrum = spectrum
        item.stale, item.stale_reason = False, ""
        for name, value in changes.items():
            setattr(item, name, value)
        self.item_changed.emit(uid)

    def set_inputs(self, uid: int, inputs: Iterable[int], *, name: str | None = None) -> None:
        """New inputs (and name) of a derived item, e.g. an average that follows a growing series."""
        item = self.item(uid)
        if item is not None:
            item.inputs = list(inputs)
            if name:
                item.name = name
            self.item_changed.emit(uid)

    def relink(self, scan: XesItem, path: str) -> list[int]:
        """``scan`` (of the file ``path``, opened again) replaces the inputs lost when that file was
        closed; returns the items that have all their inputs again."""
        relinked = []
        for item in self._items:
            lost = [uid for uid, known in item.lost_inputs.items() if os.path.abspath(known) == path]
            for uid in lost:
                item.inputs = [scan.uid if known == uid else known for known in item.inputs]
                del item.lost_inputs[uid]
            if lost:
                self.item_changed.emit(item.uid)
                if not item.lost_inputs:
                    relinked.append(item.uid)
        return relinked

    def set_stale(self, uid: int, stale: bool, reason: str = "") -> None:
        item = self.item(uid)
        if item is None:
            return
        item.stale, item.stale_reason = stale, reason if stale else ""
        self.item_changed.emit(uid)

    def set_visible(self, uid: int, visible: bool) -> None:
        item = self.item(uid)
        if item is not None and item.visible != visible:
            item.visible = visible
            self.item_changed.emit(uid)

    def set_colour(self, uid: int, colour: str) -> None:
        item = self.item(uid)
        if item is not None:
            item.colour = colour
            self.item_changed.emit(uid)

    def rename(self, uid: int, name: str) -> None:
        item = self.item(uid)
        if item is not None and name.strip():
            item.name = name.strip()
            self.item_changed.emit(uid)

    def set_channel(self, uid: int, channel: Channel) -> list[XesItem]:
        """Show ``channel`` of a loaded scan; returns the derived items that now need recomputing.

        Those items are marked stale (with the reason) rather than discarded.
        """
        item = self.item(uid)
        if item is None or item.kind is not ItemKind.SCAN:
            raise ValueError("only a loaded scan has a channel to switch")
        if channel not in item.channels:
            available = ", ".join(str(c) for c in item.switchable_channels) or "none"
            raise ValueError(f"{item.name} has no {channel} channel (available: {available})")
        if item.spectrum is item.channels[channel]:
            return []
        item.spectrum = item.channels[channel]
        self.item_changed.emit(uid)
        affected = self.dependants(uid)
        for dependant in affected:
            self.set_stale(dependant.uid, True, f"input {item.name} switched to the {channel} channel")
        return affected


def describe(item: XesItem, model: "XesItemList | None" = None) -> str:
    """Multi-line description for tooltips: source, channel, operations, parameters, staleness."""
    lines = [f"{item.name} ({item.kind.value})"]
    if item.source_path:
        lines.append(f"file: {item.source_path}")
    spectrum = item.spectrum
    lines.append(f"channel: {spectrum.channel or '—'}; {len(spectrum)} points, {spectrum.axis_label}")
    if item.inputs and model is not None:
        names = [model.item(uid).name if model.item(uid) is not None else f"(removed #{uid})" for uid in item.inputs]
        lines.append("from: " + ", ".join(names))
    if item.params:
        lines.append("parameters: " + ", ".join(f"{key}={value}" for key, value in item.params.items()))
    normalisation = spectrum.metadata.get("normalisation")
    if isinstance(normalisation, dict) and "factor" in normalisation:
        lines.append(f"normalisation factor: {normalisation['factor']:.6g}")
    for warning in spectrum.metadata.get("warnings", []) or []:
        lines.append(f"warning: {warning}")
    if item.stale:
        lines.append(f"STALE: {item.stale_reason}")
    return "\n".join(lines)


def spectra_of(model: XesItemList, uids: Iterable[int]) -> list[Spectrum]:
    """The current spectra of the given items (missing ones raise LookupError naming them)."""
    result = []
    for uid in uids:
        item = model.item(uid)
        if item is None:
            raise LookupError(f"input item #{uid} was removed")
        result.append(item.spectrum)
    return result


def compute_derived(kind: ItemKind, inputs: list[Spectrum], params: dict, *, label: str = "",
                    source_map: RXESMap | None = None) -> tuple[Spectrum, str]:
    """Run the analysis call that makes a derived item; returns (spectrum, fit report or "").

    The GUI holds no science: every number comes from ``xestools.analysis``.
    """
    from xestools import analysis
    from xestools.model import evolve

    if kind in _RESULT_KINDS:
        from xestools.workspace.results import compute_result

        return compute_result(kind.value, inputs, params, label=label)
    if kind is ItemKind.AVERAGE and params.get("excluded"):
        from xestools.analysis.repeats import average_excluding

        excluded = [int(index) for index in params["excluded"]]
        reasons = {int(index): str(reason) for index, reason in (params.get("reasons") or {}).items()}
        result = average_excluding(inputs, excluded, reasons=reasons, grid=params.get("grid", "overlap"),
                                   weighted=bool(params.get("weighted", False)), label=label)
        return result, ""
    if kind is ItemKind.AVERAGE:
        result = analysis.average_spectra(inputs, grid=params.get("grid", "overlap"),
                                          weighted=bool(params.get("weighted", False)), label=label)
        return result, ""
    if kind is ItemKind.NORMALISED:
        reference = inputs[1] if len(inputs) > 1 else None
        result = analysis.normalise_area(inputs[0], tuple(params["window"]), reference=reference)
        return evolve(result, label=label or result.label), ""
    if kind in (ItemKind.BACKGROUND, ItemKind.RESIDUAL):
        from xestools.analysis.background import fit_background

        wide = inputs[1] if len(inputs) > 1 else None
        fit = fit_background(inputs[0], params["components"], exclusions=[tuple(span) for span in params.get("exclusions", [])],
                             wide=wide, start=params.get("start") or None, weighted=bool(params.get("weighted", True)),
                             weighting=params.get("weighting"))
        chosen = fit.background if kind is ItemKind.BACKGROUND else fit.residual
        return evolve(chosen, label=label or chosen.label), fit.report
    if kind is ItemKind.DIFFERENCE:
        from xestools.analysis.metrics import difference

        return difference(inputs[0], inputs[1], label=label or None), ""
    if kind is ItemKind.MAP_SLICE:
        if source_map is None:
            raise LookupError("the map this XES was taken from is no longer loaded")
        width = params.get("width")
        result = analysis.xes_at_incident(source_map, float(params["omega"]), None if width is None else float(width))
        return evolve(result, label=label or result.label), ""
    raise ValueError(f"{kind.value} items are loaded, not computed")


_RESULT_KINDS = (ItemKind.FIT, ItemKind.CALIBRATED, ItemKind.ALIGNED)


def recompute(model: XesItemList, uid: int) -> bool:
    """Recompute one derived item from its inputs; on failure keep the last result, marked stale."""
    item = model.item(uid)
    if item is None or not item.kind.derived:
        return False
    try:
        inputs = spectra_of(model, item.inputs)
        spectrum, report = compute_derived(item.kind, inputs, item.params, label=item.name, source_map=item.source_map)
    except (ValueError, LookupError, KeyError, TypeError, ArithmeticError) as exc:
        log.info("recompute of %s failed: %s", item.name, exc)
        model.set_stale(uid, True, f"recompute failed: {exc}; the last result is kept")
        return False
    changes = {"fit_report": report or item.fit_report}
    if item.kind is ItemKind.NORMALISED:
        changes["params"] = {**item.params, "factor": (spectrum.metadata.get("normalisation") or {}).get("factor")}
    if item.kind in _RESULT_KINDS:
        from xestools.workspace.results import recorded_numbers

        changes["params"] = {**item.params, **recorded_numbers(item.kind.value, spectrum)}
    model.set_spectrum(uid, spectrum, **changes)
    return True


def recompute_dependants(model: XesItemList, uid: int, *, include_fits: bool = True) -> list[XesItem]:
    """Recompute, in list order, every item derived from ``uid``; returns those still stale.

    With ``include_fits=False`` background fits are left marked stale for the user to refit.
    """
    still_stale = []
    for dependant in model.dependants(uid):
        fit = dependant.kind in (ItemKind.BACKGROUND, ItemKind.RESIDUAL, ItemKind.FIT)
        if fit and not include_fits:
            still_stale.append(dependant)
            continue
        if not recompute(model, dependant.uid):
            still_stale.append(dependant)
    return still_stale
