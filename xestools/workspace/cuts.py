"""Cut definitions as a model: positions and widths in data coordinates (eV), not in widgets.

The map overlay, the cut table and the profile plot all show this model; a channel, view,
colour-scale or normalisation change never touches it, so cuts survive all of those, and the
session stores it as plain dicts. No Qt: listeners connect plain callbacks (``added``, ``changed``,
``removed``, each called with the cut id).
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

from xestools.drawing import CUT_COLORS
from xestools.model import CUT_KINDS as CUT_TYPES
from xestools.workspace.events import Event

log = logging.getLogger("xestools.workspace.cuts")

#: the cut types by name ("CIE", "CEE", "CET"); ``CUT_TYPES`` holds what each is (``xestools.model.CutKind``)
CUT_KINDS = tuple(kind.name for kind in CUT_TYPES)
#: At least this many cuts at once (colours repeat beyond ``len(CUT_COLORS)``).
MAX_CUTS = 16


@dataclass(frozen=True)
class CutEntry:
    """One cut: kind CIE/CEE/CET, position and full width in eV, sum or mean, its colour."""

    ident: int
    kind: str
    position: float
    width: float
    mean: bool = False
    color: str = CUT_COLORS[0]

    def spec(self):
        from xestools.analysis import CutSpec, CutType

        return CutSpec(CutType(self.kind), float(self.position), float(self.width), bool(self.mean))

    def label(self) -> str:
        return self.spec().label()

    def to_state(self) -> dict:
        return {"kind": self.kind, "position": float(self.position), "width": float(self.width),
                "mean": bool(self.mean), "color": self.color}


class CutModel:
    """Ordered cuts of one map with change callbacks (``added``, ``changed``, ``removed`` carry the id)."""

    def __init__(self) -> None:
        self.added = Event()
        self.changed = Event()
        self.removed = Event()
        self._entries: dict[int, CutEntry] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[CutEntry]:
        return list(self._entries.values())

    def get(self, ident: int) -> CutEntry | None:
        return self._entries.get(ident)

    def _free_color(self) -> str:
        used = [entry.color for entry in self._entries.values()]
        for color in CUT_COLORS:
            if color not in used:
                return color
        return CUT_COLORS[len(used) % len(CUT_COLORS)]

    def add(self, kind: str, position: float, width: float, mean: bool = False, color: str | None = None) -> int:
        kind = str(getattr(kind, "value", kind)).upper()
        if kind not in CUT_KINDS:
            raise ValueError(f"cut type must be one of {CUT_KINDS}, not {kind!r}")
        if len(self._entries) >= MAX_CUTS:
            raise ValueError(f"at most {MAX_CUTS} cuts at once; remove one first")
        ident = next(self._ids)
        self._entries[ident] = CutEntry(ident, kind, float(position), max(float(width), 0.0), bool(mean),
                                        color or self._free_color())
        self.added.emit(ident)
        return ident

    def update(self, ident: int, **changes) -> None:
        """Change kind/position/width/mean/color of a cut; emits ``changed`` when something differs."""
        entry = self._entries.get(ident)
        if entry is None:
            return
        values = entry.to_state()
        for key, value in changes.items():
            if key not in values:
                raise KeyError(f"unknown cut property {key!r}")
            values[key] = value
        values["kind"] = str(getattr(values["kind"], "value", values["kind"])).upper()
        values["position"] = float(values["position"])
        values["width"] = max(float(values["width"]), 0.0)
        new = CutEntry(ident, values["kind"], values["position"], values["width"], bool(values["mean"]),
                       values["color"])
        if new != entry:
            self._entries[ident] = new
            self.changed.emit(ident)

    def remove(self, ident: int) -> None:
        if self._entries.pop(ident, None) is not None:
            self.removed.emit(ident)

    def clear(self) -> None:
        for ident in list(self._entries):
            self.remove(ident)

    def to_state(self) -> list[dict]:
        return [entry.to_state() for entry in self._entries.values()]

    def set_entries(self, entries) -> None:
        """Put back exactly ``entries`` (ids included), as an undo does: removed, changed and added
        cuts each emit their callback; unchanged ones emit nothing."""
        wanted = {entry.ident: entry for entry in entries}
        for ident in [ident for ident in self._entries if ident not in wanted]:
            self.remove(ident)
        old = dict(self._entries)
        self._entries = dict(wanted)
        for ident, entry in wanted.items():
            if ident not in old:
                self.added.emit(ident)
            elif old[ident] != entry:
                self.changed.emit(ident)

    def restore(self, states) -> None:
        """Replace the cuts with ``states`` (list of dicts); malformed entries are skipped and logged."""
        self.clear()
        for state in states if isinstance(states, list) else []:
            try:
                self.add(state["kind"], float(state["position"]), float(state["width"]),
                         bool(state.get("mean", False)), state.get("color"))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("skipping cut from session %r: %s", state, exc)
