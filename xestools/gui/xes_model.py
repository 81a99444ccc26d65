"""The XES scan list: domain items (loaded spectra and derived results) behind a Qt table model.

The state is a Python list of :class:`XesItem`; the Qt model only presents it. A derived item
(average, normalised, background, residual, difference, XES of a map at one Ω) remembers its
inputs by item id and its parameters, so it can be recomputed when an input changes (e.g. the
channel of a two-channel scan is switched) and rebuilt from a saved session. When a recompute is
impossible the item keeps its last result and is marked stale with the reason.
"""
from __future__ import annotations

import enum
import itertools
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from xestools.model import Channel, RXESMap, Spectrum

log = logging.getLogger("xestools.gui.xes_model")

#: Line colours given to new items in turn (matplotlib's tab10, readable on white).
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


class ItemKind(str, enum.Enum):
    SCAN = "scan"
    MAP_SLICE = "map slice"
    AVERAGE = "average"
    NORMALISED = "normalised"
    BACKGROUND = "background"
    RESIDUAL = "residual"
    DIFFERENCE = "difference"

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


COLUMNS = ("Name", "Kind", "Channel", "Scan", "Sample")
ItemRole = Qt.ItemDataRole.UserRole + 1


class XesListModel(QAbstractTableModel):
    """Table model over the list of :class:`XesItem`; column 0 carries the tick and the colour."""

    #: uid of an item whose result changed (new spectrum, channel, stale flag): the plot redraws.
    item_changed = Signal(int)
    #: the set or order of items changed.
    items_reset = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: list[XesItem] = []
        self._uids = itertools.count(1)
        self._colours = itertools.cycle(PALETTE)
        self.rowsInserted.connect(lambda *_: self.items_reset.emit())
        self.rowsRemoved.connect(lambda *_: self.items_reset.emit())
        self.rowsMoved.connect(lambda *_: self.items_reset.emit())
        self.modelReset.connect(self.items_reset.emit)

    # ------------------------------------------------------------------ list access
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
    def add_item(
        self,
        kind: ItemKind,
        spectrum: Spectrum,
        *,
        name: str = "",
        source_path: str = "",
        channels: dict | None = None,
        inputs: Iterable[int] = (),
        params: dict | None = None,
        colour: str | None = None,
        visible: bool = True,
        source_map: RXESMap | None = None,
        fit_report: str = "",
    ) -> XesItem:
        uid = next(self._uids)
        item = XesItem(
            uid=uid,
            kind=kind,
            name=name or spectrum.label or f"item {uid}",
            spectrum=spectrum,
            colour=colour or next(self._colours),
            visible=visible,
            source_path=source_path,
            channels=dict(channels or {spectrum.channel: spectrum}) if kind is ItemKind.SCAN else {},
            inputs=list(inputs),
            params=dict(params or {}),
            source_map=source_map,
            fit_report=fit_report,
        )
        row = len(self._items)
        self.beginInsertRows(QModelIndex(), row, row)
        self._items.append(item)
        self.endInsertRows()
        return item

    def remove_uids(self, uids: Iterable[int], *, reason: str = "an input was removed; the last result is kept") -> None:
        """Remove items; items derived from them keep their result, marked stale with ``reason``."""
        doomed = set(uids)
        affected = {dependant.uid for uid in doomed for dependant in self.dependants(uid)} - doomed
        for row in reversed(range(len(self._items))):
            if self._items[row].uid in doomed:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._items[row]
                self.endRemoveRows()
        for item in self._items:
            if item.uid in affected:
                self.set_stale(item.uid, True, reason)

    def clear(self) -> None:
        self.beginResetModel()
        self._items.clear()
        self.endResetModel()

    def move(self, uid: int, delta: int) -> bool:
        """Move an item up (delta < 0) or down by ``|delta|`` rows."""
        row = self.row_of(uid)
        target = row + delta
        if row < 0 or not 0 <= target < len(self._items) or delta == 0:
            return False
        destination = target + 1 if delta > 0 else target
        if not self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), destination):
            return False
        self._items.insert(target, self._items.pop(row))
        self.endMoveRows()
        return True

    def set_spectrum(self, uid: int, spectrum: Spectrum, **changes: Any) -> None:
        item = self.item(uid)
        if item is None:
            return
        item.spectrum = spectrum
        item.stale, item.stale_reason = False, ""
        for name, value in changes.items():
            setattr(item, name, value)
        self._row_changed(item)

    def set_stale(self, uid: int, stale: bool, reason: str = "") -> None:
        item = self.item(uid)
        if item is None:
            return
        item.stale, item.stale_reason = stale, reason if stale else ""
        self._row_changed(item)

    def set_visible(self, uid: int, visible: bool) -> None:
        item = self.item(uid)
        if item is not None and item.visible != visible:
            item.visible = visible
            self._row_changed(item)

    def set_colour(self, uid: int, colour: str) -> None:
        item = self.item(uid)
        if item is not None:
            item.colour = colour
            self._row_changed(item)

    def rename(self, uid: int, name: str) -> None:
        item = self.item(uid)
        if item is not None and name.strip():
            item.name = name.strip()
            self._row_changed(item)

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
        self._row_changed(item)
        affected = self.dependants(uid)
        for dependant in affected:
            self.set_stale(dependant.uid, True, f"input {item.name} switched to the {channel} channel")
        return affected

    def _row_changed(self, item: XesItem) -> None:
        row = self.row_of(item.uid)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        self.item_changed.emit(item.uid)

    # ------------------------------------------------------------------ Qt model interface
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            base |= Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        column = index.column()
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, column)
        if role == Qt.ItemDataRole.EditRole and column == 0:
            return item.name
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if item.visible else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return QColor(item.colour)
        if role == Qt.ItemDataRole.ForegroundRole and item.stale:
            return QColor("#b35900")
        if role == Qt.ItemDataRole.ToolTipRole:
            return describe(item, self)
        return None

    def setData(self, index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or index.column() != 0:
            return False
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.CheckStateRole:
            checked = value == Qt.CheckState.Checked or value == Qt.CheckState.Checked.value or value is True
            self.set_visible(item.uid, bool(checked))
            return True
        if role == Qt.ItemDataRole.EditRole and isinstance(value, str) and value.strip():
            self.rename(item.uid, value)
            return True
        return False

    @staticmethod
    def _display(item: XesItem, column: int) -> str:
        if column == 0:
            return ("⚠ stale: " if item.stale else "") + item.name
        if column == 1:
            return item.kind.value
        if column == 2:
            if item.kind is ItemKind.SCAN and len(item.switchable_channels) > 1:
                return f"{item.channel or '—'} (of {len(item.switchable_channels)})"
            return str(item.channel) if item.channel is not None else "—"
        if column == 3:
            return "" if item.scan_number is None else str(item.scan_number)
        return item.sample_name


def describe(item: XesItem, model: XesListModel | None = None) -> str:
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


def intensity_label(spectra: Sequence[Spectrum], *, scale: str = "data") -> str:
    """Names what is plotted: raw FFI1, area-normalised (by whose area, over which window when all
    items share one normalisation), a mixture, or each item scaled to its own maximum."""
    if scale == "max":
        return "Intensity ÷ its maximum (each item)"
    records = [spectrum.metadata.get("normalisation") for spectrum in spectra]
    normalised = [record for record in records if isinstance(record, dict)]
    if spectra and len(normalised) == len(spectra):
        shared = {(_reference_name(record), tuple(np.round(record.get("window") or (), 2))) for record in normalised}
        if len(shared) == 1:
            (reference, window), = shared
            if reference and len(window) == 2:
                whose = "own area" if reference == "own" else f"area of {reference}"
                return f"Intensity ÷ {whose}, {window[0]:.0f}–{window[1]:.0f} eV (eV⁻¹)"
        return "Area-normalised intensity (eV⁻¹)"
    if normalised:
        return "Intensity (mixed: ROI counts / I1 and area-normalised)"
    return "Intensity (ROI counts / I1)"


def _reference_name(record: dict) -> str:
    """Short name of a normalisation reference: its file name, "own" for itself."""
    if record.get("reference") == "self":
        return "own"
    source = record.get("reference_source")
    return os.path.basename(source) if source else str(record.get("reference") or "")


def spectra_of(model: XesListModel, uids: Iterable[int]) -> list[Spectrum]:
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


def recompute(model: XesListModel, uid: int) -> bool:
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
    if item.kind is ItemKind.NORMALISED:
        item.params["factor"] = (spectrum.metadata.get("normalisation") or {}).get("factor")
    model.set_spectrum(uid, spectrum, fit_report=report or item.fit_report)
    return True


def recompute_dependants(model: XesListModel, uid: int, *, include_fits: bool = True) -> list[XesItem]:
    """Recompute, in list order, every item derived from ``uid``; returns those still stale.

    With ``include_fits=False`` background fits are left marked stale for the user to refit.
    """
    still_stale = []
    for dependant in model.dependants(uid):
        fit = dependant.kind in (ItemKind.BACKGROUND, ItemKind.RESIDUAL)
        if fit and not include_fits:
            still_stale.append(dependant)
            continue
        if not recompute(model, dependant.uid):
            still_stale.append(dependant)
    return still_stale
