"""Undo and redo of workspace changes, without Qt: the one undo stack (the GUI binds its menu to it).

Every change is a method of the object that owns the state and fires that object's event, so a
:class:`Recorder` knows from the events *which part* changed: the open datasets with their map
documents and normalisations, the cuts of one map, the XES items, or the maps offered for Ω slices.
When a step ends it records a :class:`Change` for each part that really differs — the part before and
after — instead of a snapshot of everything: moving a cut records that map's cuts, not the XES list.
Spectra, maps and datasets are immutable or never changed in place, so a part shares them; XES items
are copied (later edits do not reach into the step). Not undo steps, and left alone by an undo: the
view, the colour scale, the shown channel of a map, the current dataset and the XES plot and tool
settings — so the undo history survives a channel or view switch.

The caller decides *when* a step ends (a drag is one step: the GUI ends it when the mouse is released).
:class:`History` is the stack of steps.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from dataclasses import dataclass, replace

from xestools.workspace.events import Event
from xestools.workspace.items import XesItem

#: steps kept; older ones are dropped (a step keeps closed datasets in memory)
MAX_STEPS = 100
STRUCTURE, ITEMS, XES_MAPS = "datasets", "items", "xes maps"


def _copy_item(item: XesItem) -> XesItem:
    return replace(item, channels=dict(item.channels), inputs=list(item.inputs), lost_inputs=dict(item.lost_inputs),
                   params=json.loads(json.dumps(item.params, default=str)) if item.params else {})


def _item_signature(item: XesItem) -> tuple:
    return (item.uid, item.kind, item.name, item.colour, item.visible, tuple(item.inputs),
            json.dumps(item.params, sort_keys=True, default=str), id(item.spectrum), item.stale, item.stale_reason)


@dataclass(frozen=True, eq=False)
class CutsOf:
    """The part "cuts of this map document" (one per document: compared by identity)."""

    document: object


@dataclass(frozen=True)
class Structure:
    """The open datasets (in order), the current one, each map document with its normalisation (its
    cuts are a part of their own: a closed document keeps them)."""

    datasets: tuple
    current_key: str | None
    documents: tuple            # (document, normalisation)
    current_document: str | None

    @classmethod
    def capture(cls, workspace) -> "Structure":
        maps = workspace.maps
        current = maps.current.dataset.key if maps.current is not None else None
        return cls(tuple((d.key, d) for d in workspace.datasets), workspace.current_key,
                   tuple((d, d.normalisation) for d in maps.documents), current)

    def signature(self) -> tuple:
        return (tuple(key for key, _ in self.datasets),
                tuple((document.dataset.key, id(normalisation)) for document, normalisation in self.documents))

    def put_back(self, workspace) -> None:
        workspace.replace_datasets(dict(self.datasets), self.current_key)
        workspace.maps.put_back(list(self.documents), self.current_document)


def _capture(workspace, part):
    """The current value of one part (see the module docstring)."""
    if part == STRUCTURE:
        return Structure.capture(workspace)
    if part == ITEMS:
        return tuple(_copy_item(item) for item in workspace.xes.items.items)
    if part == XES_MAPS:
        return tuple(workspace.xes.maps), workspace.xes.current_map
    return tuple(part.document.cuts.entries())


def _signature(part, value) -> tuple:
    if part == STRUCTURE:
        return value.signature()
    if part == ITEMS:
        return tuple(_item_signature(item) for item in value)
    if part == XES_MAPS:
        return tuple(id(m) for m in value[0])
    return value


@dataclass(frozen=True)
class Change:
    """One part of the workspace before and after a step; ``apply`` puts one side back through the
    owner's methods (views follow through the usual events)."""

    part: object
    before: object
    after: object

    def apply(self, workspace, *, undo: bool) -> None:
        value = self.before if undo else self.after
        if self.part == STRUCTURE:
            value.put_back(workspace)
        elif self.part == ITEMS:
            items = workspace.xes.items
            if tuple(_item_signature(i) for i in items.items) != _signature(ITEMS, value):
                items.replace_all([_copy_item(item) for item in value])
        elif self.part == XES_MAPS:
            workspace.xes.set_maps(*value)
        else:
            self.part.document.cuts.set_entries(value)

    def label(self) -> str:
        if self.part == STRUCTURE:
            return _describe_structure(self.before, self.after)
        if self.part == ITEMS:
            return _describe_items(self.before, self.after)
        if self.part == XES_MAPS:
            return ""
        return _describe_cuts(self.before, self.after)


def _describe_structure(before: Structure, after: Structure) -> str:
    old_sets, new_sets = dict(before.datasets), dict(after.datasets)
    closed = [os.path.basename(key) for key in old_sets if key not in new_sets]
    opened = [os.path.basename(key) for key in new_sets if key not in old_sets]
    if closed:
        return "close " + ", ".join(closed)
    if opened:
        return "open " + ", ".join(opened)
    old = {document.dataset.key: normalisation for document, normalisation in before.documents}
    for document, normalisation in after.documents:
        if document.dataset.key in old and old[document.dataset.key] is not normalisation:
            return "normalise map" if normalisation is not None else "remove map normalisation"
    return ""


def _describe_cuts(before: tuple, after: tuple) -> str:
    old = {c.ident: c for c in before}
    new = {c.ident: c for c in after}
    added = [c for k, c in new.items() if k not in old]
    removed = [c for k, c in old.items() if k not in new]
    changed = [(old[k], c) for k, c in new.items() if k in old and old[k] != c]
    if added:
        return f"add {added[0].kind} cut" if len(added) == 1 else f"add {len(added)} cuts"
    if removed:
        return f"remove {removed[0].kind} cut" if len(removed) == 1 else f"remove {len(removed)} cuts"
    if changed:
        was, now = changed[0]
        verb = "move" if was.position != now.position and was.width == now.width else "edit"
        return f"{verb} {now.kind} cut"
    return ""


def _describe_items(before: tuple, after: tuple) -> str:
    old = {item.uid: item for item in before}
    new = {item.uid: item for item in after}
    added = [item for uid, item in new.items() if uid not in old]
    removed = [item for uid, item in old.items() if uid not in new]
    if added:
        kinds = Counter(item.kind.value for item in added)
        return "add " + ", ".join(f"{kind}" if n == 1 else f"{n} {kind}s" for kind, n in kinds.items())
    if removed:
        return f"remove {removed[0].name}" if len(removed) == 1 else f"remove {len(removed)} XES items"
    if [i.uid for i in before] != [i.uid for i in after]:
        return "reorder XES items"
    for uid, item in new.items():
        if _item_signature(item) != _item_signature(old[uid]):
            if item.visible != old[uid].visible:
                return f"{'show' if item.visible else 'hide'} {item.name}"
            if item.channel != old[uid].channel:
                return f"channel of {item.name}"
            return f"change {item.name}"
    return ""


@dataclass(frozen=True)
class Step:
    """One undo step: the parts that changed, and a label naming the change."""

    label: str
    changes: tuple[Change, ...]


def _label(changes: tuple[Change, ...]) -> str:
    """Opening or closing a file names the step; else the cuts, the XES items, a normalisation."""
    by_part = {STRUCTURE: "", ITEMS: "", XES_MAPS: "", "cuts": ""}
    for change in changes:
        key = change.part if change.part in (STRUCTURE, ITEMS, XES_MAPS) else "cuts"
        by_part[key] = by_part[key] or change.label()
    structure = by_part[STRUCTURE]
    if structure.startswith(("open ", "close ")):
        return structure
    return by_part["cuts"] or by_part[ITEMS] or structure or "change"


class Recorder:
    """Turns workspace changes into steps (see the module docstring).

    ``touched()`` is emitted on every change the recorder sees (the GUI starts its timer there);
    ``take_step()`` returns the change since the last step, or None when nothing an undo could put
    back changed; ``apply(step, undo)`` restores one side without recording it as a new change.
    """

    def __init__(self, workspace) -> None:
        self.workspace = workspace
        self.touched = Event()
        self._applying = False
        self._last: dict[object, object] = {}
        self._dirty: dict[object, None] = {}
        self._hooks: list[tuple[Event, object]] = []
        self._cut_parts: dict[int, CutsOf] = {}
        self._watch()
        self.rebase()

    def _watch(self) -> None:
        ws = self.workspace
        for event in (ws.datasets_changed, ws.maps.current_changed, ws.maps.display_changed):
            self._hook(event, lambda *_args: self._on_change(STRUCTURE))
        self._hook(ws.xes.maps_changed, lambda *_args: self._on_change(XES_MAPS))
        for event in (ws.xes.items.structure_changed, ws.xes.items.item_changed):
            self._hook(event, lambda *_args: self._on_change(ITEMS))
        self._hook(ws.maps.document_added, self._watch_document)
        for document in ws.maps.documents:
            self._watch_document(document)

    def _hook(self, event: Event, callback) -> None:
        event.connect(callback)
        self._hooks.append((event, callback))

    def _watch_document(self, document) -> None:
        self._on_change(STRUCTURE)
        if id(document) in self._cut_parts:
            return
        part = self._cut_parts[id(document)] = CutsOf(document)
        self._last.setdefault(part, _capture(self.workspace, part))
        for event in (document.cuts.added, document.cuts.changed, document.cuts.removed):
            self._hook(event, lambda *_args, p=part: self._on_change(p))

    def _on_change(self, part) -> None:
        if not self._applying:
            self._dirty[part] = None
            self.touched.emit()

    def close(self) -> None:
        for event, callback in self._hooks:
            event.disconnect(callback)
        self._hooks.clear()
        self._cut_parts.clear()

    def take_step(self, label: str = "") -> Step | None:
        """The parts changed since the last step, each before and after; None when none really differs."""
        changes = []
        for part in self._dirty:
            now = _capture(self.workspace, part)
            before = self._last.get(part)
            if before is None or _signature(part, now) != _signature(part, before):
                if before is not None:
                    changes.append(Change(part, before, now))
                self._last[part] = now
        self._dirty.clear()
        if not changes:
            return None
        changes = tuple(changes)
        return Step(label or _label(changes), changes)

    def rebase(self) -> None:
        """What is open now is the starting point (after a session was opened): no step for it."""
        self._dirty.clear()
        parts = [STRUCTURE, ITEMS, XES_MAPS] + list(self._cut_parts.values())
        self._last = {part: _capture(self.workspace, part) for part in parts}

    def apply(self, step: Step, *, undo: bool) -> None:
        with self._quiet():
            for change in reversed(step.changes) if undo else step.changes:
                change.apply(self.workspace, undo=undo)
        for change in step.changes:
            self._last[change.part] = _capture(self.workspace, change.part)

    @contextlib.contextmanager
    def _quiet(self):
        self._applying = True
        try:
            yield
        finally:
            self._applying = False


class History:
    """The undo stack of one workspace over a :class:`Recorder`; ``changed()`` after every push, undo,
    redo or clear (the Edit menu follows it)."""

    def __init__(self, recorder: Recorder, limit: int = MAX_STEPS) -> None:
        self.recorder = recorder
        self.limit = limit
        self._steps: list[Step] = []
        self._index = 0
        self.changed = Event()

    def commit(self, label: str = "") -> Step | None:
        """End the current step (if anything changed) and push it; the redo side is dropped."""
        step = self.recorder.take_step(label)
        if step is not None:
            del self._steps[self._index:]
            self._steps.append(step)
            del self._steps[:-self.limit]
            self._index = len(self._steps)
            self.changed.emit()
        return step

    @property
    def count(self) -> int:
        return len(self._steps)

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._steps)

    @property
    def undo_text(self) -> str:
        return self._steps[self._index - 1].label if self.can_undo else ""

    @property
    def redo_text(self) -> str:
        return self._steps[self._index].label if self.can_redo else ""

    def undo(self) -> bool:
        self.commit()
        if not self.can_undo:
            return False
        self._index -= 1
        self.recorder.apply(self._steps[self._index], undo=True)
        self.changed.emit()
        return True

    def redo(self) -> bool:
        if self.commit() is not None:   # a new change since the undo replaces what could be redone
            return False
        if not self.can_redo:
            return False
        self.recorder.apply(self._steps[self._index], undo=False)
        self._index += 1
        self.changed.emit()
        return True

    def clear(self) -> None:
        self._steps.clear()
        self._index = 0
        self.recorder.rebase()
        self.changed.emit()
