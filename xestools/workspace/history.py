"""Undo and redo of workspace changes, without Qt.

A :class:`Snapshot` holds what an undo step puts back: the open datasets, each map document's cuts
and normalisation, the XES items (copies, so later edits do not reach into the snapshot) and the
maps offered for Ω slices. Spectra, maps and datasets are immutable or never changed in place, so
a snapshot shares them and costs a few small lists. Not in a snapshot (not undo steps, and left
alone by an undo): the view, the colour scale, the shown channel of a map, the current dataset and
the XES plot and tool settings — so the undo history survives a channel or view switch.

A :class:`Recorder` watches a workspace and turns what changed since its last snapshot into a
:class:`Step` (before, after, a label naming the change); the GUI decides *when* a step ends (a drag
is one step: it takes the step when the mouse is released). :class:`History` is a plain undo stack
for callers without Qt; the GUI pushes the same steps on a ``QUndoStack``.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from dataclasses import dataclass, replace

from xestools.workspace.cuts import CutEntry
from xestools.workspace.events import Event
from xestools.workspace.items import XesItem

#: steps kept; older ones are dropped (a step keeps closed datasets in memory)
MAX_STEPS = 100


def _copy_item(item: XesItem) -> XesItem:
    return replace(item, channels=dict(item.channels), inputs=list(item.inputs), lost_inputs=dict(item.lost_inputs),
                   params=json.loads(json.dumps(item.params, default=str)) if item.params else {})


def _item_signature(item: XesItem) -> tuple:
    return (item.uid, item.kind, item.name, item.colour, item.visible, tuple(item.inputs),
            json.dumps(item.params, sort_keys=True, default=str), id(item.spectrum), item.stale, item.stale_reason)


@dataclass(frozen=True)
class DocumentState:
    """One map document as an undo step puts it back: the document, its cuts, its normalisation."""

    key: str
    document: object
    cuts: tuple[CutEntry, ...]
    normalisation: dict | None


@dataclass(frozen=True)
class Snapshot:
    datasets: tuple            # (key, Dataset) in opening order
    current_key: str | None
    documents: tuple[DocumentState, ...]
    current_document: str | None
    items: tuple[XesItem, ...]
    xes_maps: tuple
    xes_current_map: int

    @classmethod
    def capture(cls, workspace) -> "Snapshot":
        maps, xes = workspace.maps, workspace.xes
        documents = tuple(DocumentState(d.dataset.key, d, tuple(d.cuts.entries()), d.normalisation)
                          for d in maps.documents)
        current = maps.current.dataset.key if maps.current is not None else None
        return cls(tuple((d.key, d) for d in workspace.datasets), workspace.current_key, documents, current,
                   tuple(_copy_item(item) for item in xes.items.items), tuple(xes.maps), xes.current_map)

    def signature(self) -> tuple:
        """Equal for two snapshots an undo could not tell apart."""
        return (tuple(key for key, _ in self.datasets),
                tuple((d.key, d.cuts, id(d.normalisation)) for d in self.documents),
                tuple(_item_signature(item) for item in self.items), tuple(id(m) for m in self.xes_maps))

    def restore(self, workspace) -> None:
        """Put the workspace back to this snapshot through its owners' methods; views follow their events."""
        workspace.replace_datasets(dict(self.datasets), self.current_key)
        workspace.maps.put_back([(d.document, d.cuts, d.normalisation) for d in self.documents], self.current_document)
        xes = workspace.xes
        if tuple(_item_signature(i) for i in xes.items.items) != tuple(_item_signature(i) for i in self.items):
            xes.items.replace_all([_copy_item(item) for item in self.items])
        xes.set_maps(self.xes_maps, self.xes_current_map)


def describe_change(before: Snapshot, after: Snapshot) -> str:
    """A short label for the change from ``before`` to ``after`` ("add CEE cut", "close x.nxs", …)."""
    old_sets, new_sets = dict(before.datasets), dict(after.datasets)
    opened = [os.path.basename(key) for key in new_sets if key not in old_sets]
    closed = [os.path.basename(key) for key in old_sets if key not in new_sets]
    if closed:
        return "close " + ", ".join(closed)
    if opened:
        return "open " + ", ".join(opened)
    label = _describe_cuts(before, after) or _describe_items(before, after)
    if label:
        return label
    old_norm = {d.key: d.normalisation for d in before.documents}
    for state in after.documents:
        if state.key in old_norm and old_norm[state.key] is not state.normalisation:
            return "normalise map" if state.normalisation is not None else "remove map normalisation"
    return "change"


def _describe_cuts(before: Snapshot, after: Snapshot) -> str:
    old = {(d.key, c.ident): c for d in before.documents for c in d.cuts}
    new = {(d.key, c.ident): c for d in after.documents for c in d.cuts}
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


def _describe_items(before: Snapshot, after: Snapshot) -> str:
    old = {item.uid: item for item in before.items}
    new = {item.uid: item for item in after.items}
    added = [item for uid, item in new.items() if uid not in old]
    removed = [item for uid, item in old.items() if uid not in new]
    if added:
        kinds = Counter(item.kind.value for item in added)
        return "add " + ", ".join(f"{kind}" if n == 1 else f"{n} {kind}s" for kind, n in kinds.items())
    if removed:
        return f"remove {removed[0].name}" if len(removed) == 1 else f"remove {len(removed)} XES items"
    if [i.uid for i in before.items] != [i.uid for i in after.items]:
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
    """One undo step: the workspace before and after, and what changed."""

    label: str
    before: Snapshot
    after: Snapshot


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
        self._last = Snapshot.capture(workspace)
        self._hooks: list[tuple[Event, object]] = []
        self._watched: set[int] = set()
        self._watch()

    def _watch(self) -> None:
        ws = self.workspace
        events = [ws.datasets_changed, ws.maps.current_changed, ws.maps.display_changed, ws.xes.maps_changed,
                  ws.xes.items.structure_changed, ws.xes.items.item_changed]
        for event in events:
            self._hook(event, self._on_change)
        self._hook(ws.maps.document_added, self._watch_document)
        for document in ws.maps.documents:
            self._watch_document(document)

    def _hook(self, event: Event, callback) -> None:
        event.connect(callback)
        self._hooks.append((event, callback))

    def _watch_document(self, document) -> None:
        if id(document.cuts) in self._watched:
            return
        self._watched.add(id(document.cuts))
        for event in (document.cuts.added, document.cuts.changed, document.cuts.removed):
            self._hook(event, self._on_change)

    def _on_change(self, *_args) -> None:
        if not self._applying:
            self.touched.emit()

    def close(self) -> None:
        for event, callback in self._hooks:
            event.disconnect(callback)
        self._hooks.clear()
        self._watched.clear()

    def take_step(self, label: str = "") -> Step | None:
        now = Snapshot.capture(self.workspace)
        if now.signature() == self._last.signature():
            return None
        step = Step(label or describe_change(self._last, now), self._last, now)
        self._last = now
        return step

    def rebase(self) -> None:
        """What is open now is the starting point (after a session was opened): no step for it."""
        self._last = Snapshot.capture(self.workspace)

    def apply(self, step: Step, *, undo: bool) -> None:
        snapshot = step.before if undo else step.after
        with self._quiet():
            snapshot.restore(self.workspace)
        self._last = Snapshot.capture(self.workspace)

    @contextlib.contextmanager
    def _quiet(self):
        self._applying = True
        try:
            yield
        finally:
            self._applying = False


class History:
    """A plain undo stack of steps over a :class:`Recorder` (the GUI uses a QUndoStack instead)."""

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
