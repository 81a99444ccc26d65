"""One owner for every change (DESIGN.md, issue 18): the state of the workspace's objects is assigned
only by the object itself (``self.field = …``) and their events are fired only by the object itself
(``self.event.emit(…)``). This reads every module of ``xestools/`` (ast, no imports of the GUI) and lists
each place that sets another object's state field, changes one of its lists or dicts in place, or fires
another object's event. The field and event names are taken from the live objects, so a new field or
event is covered without editing this test."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from xestools.workspace import Workspace
from xestools.workspace.datasets import Dataset
from xestools.workspace.documents import MapDocument
from xestools.workspace.events import Event
from xestools.workspace.items import XesItem
from xestools.workspace.live import LiveScans
from xestools.workspace.series import DerivedDataset

PACKAGE = Path(__file__).resolve().parents[2] / "xestools"
#: layers below the workspace (imports go down only): they cannot hold a workspace object
BELOW = ("model.py", "io", "analysis", "live", "drawing.py", "figures.py", "scanfiles.py", "samples.py", "replay.py")
MUTATORS = {"append", "extend", "insert", "clear", "pop", "popitem", "remove", "update", "setdefault", "add",
            "discard", "sort", "reverse"}
#: the items are plain records owned by their list, which edits them and fires ``item_changed``
RECORD_OWNERS = {"XesItemList": {f.name for f in dataclasses.fields(XesItem)}}


def _objects():
    workspace = Workspace()
    return [workspace, workspace.maps, workspace.xes, workspace.xes.items, workspace.series, LiveScans(workspace)]


def state_names() -> tuple[set[str], set[str], set[str]]:
    """(public state fields, those that hold a plain list/dict/set everywhere, event names)."""
    fields: dict[str, set[type]] = {}
    events: set[str] = set()
    for obj in _objects():
        for name, value in vars(obj).items():
            if isinstance(value, Event):
                events.add(name)
            elif not name.startswith("_"):
                fields.setdefault(name, set()).add(type(value))
    for record in (XesItem, MapDocument, Dataset, DerivedDataset):
        for field in dataclasses.fields(record):
            if not field.name.startswith("_"):
                kind = field.type if isinstance(field.type, type) else str(field.type).split("[")[0]
                fields.setdefault(field.name, set()).add({"list": list, "dict": dict, "tuple": tuple}.get(kind, object))
    containers = {name for name, kinds in fields.items() if kinds <= {list, dict, set}}
    return set(fields), containers, events


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


class _Finder(ast.NodeVisitor):
    def __init__(self, path: Path, fields: set[str], containers: set[str], events: set[str]) -> None:
        self.path, self.fields, self.containers, self.events = path, fields, containers, events
        self.classes: list[str] = []
        self.found: list[str] = []

    def _report(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.path}:{node.lineno}: {what}: {ast.unparse(node)[:90]}")

    def _foreign(self, target: ast.Attribute) -> bool:
        """``target`` (``x.field``) is a state field of an object other than ``self``."""
        if target.attr not in self.fields or _is_self(target.value):
            return False
        return not (self.classes and target.attr in RECORD_OWNERS.get(self.classes[-1], ()))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def _check_target(self, target: ast.AST, node: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element, node)
        elif isinstance(target, ast.Attribute) and self._foreign(target):
            self._report(node, "sets another object's field")
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute) \
                and self._foreign(target.value):
            self._report(node, "changes another object's field in place")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target, node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Attribute):
            owner = function.value
            if function.attr in ("emit", "fire") and owner.attr in self.events and not _is_self(owner.value):
                self._report(node, "fires another object's event")
            elif function.attr in MUTATORS and owner.attr in self.containers and self._foreign(owner):
                self._report(node, "changes another object's field in place")
        self.generic_visit(node)


def _modules(root: Path) -> dict[Path, ast.Module]:
    paths = [path for path in sorted(root.rglob("*.py")) if path.relative_to(root).parts[0] not in BELOW]
    return {path: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for path in paths}


def _own_fields_elsewhere(modules: dict[Path, ast.Module]) -> set[str]:
    """Fields that classes outside ``workspace/`` give themselves (``self.cuts = …`` of a map view):
    a name shared with those says nothing about whose state is set."""
    names = set()
    for path, tree in modules.items():
        if "workspace" in path.parts:
            continue
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            names |= {t.attr for t in targets if isinstance(t, ast.Attribute) and _is_self(t.value)}
    return names


def foreign_changes(root: Path = PACKAGE) -> list[str]:
    fields, containers, events = state_names()
    modules = _modules(root)
    fields -= _own_fields_elsewhere(modules)
    found = []
    for path, tree in modules.items():
        finder = _Finder(path.relative_to(root), fields, containers, events)
        finder.visit(tree)
        found += finder.found
    return found


def test_only_an_object_changes_its_state_and_fires_its_events():
    assert foreign_changes() == []


def test_the_scan_finds_each_kind_of_foreign_change(tmp_path):
    """The check itself: each way of changing another object's state is found, an owner's own change is not."""
    (tmp_path / "gui").mkdir()
    (tmp_path / "workspace").mkdir()
    (tmp_path / "gui" / "bad.py").write_text(
        "def restore(workspace, xes, index):\n"
        "    xes.current_map = index\n"
        "    xes.maps[0] = None\n"
        "    workspace.xes.failures.clear()\n"
        "    workspace.xes.maps_changed.emit()\n"
        "    xes.items.clear()\n", encoding="utf-8")       # an owner's method, not a list's
    (tmp_path / "workspace" / "xes.py").write_text(
        "class XesWorkspace:\n"
        "    def choose_map(self, index):\n"
        "        self.current_map = index\n"
        "        self.maps_changed.emit()\n", encoding="utf-8")
    found = [line.split(": ", 1)[1] for line in foreign_changes(tmp_path)]
    assert found == ["sets another object's field: xes.current_map = index",
                     "changes another object's field in place: xes.maps[0] = None",
                     "changes another object's field in place: workspace.xes.failures.clear()",
                     "fires another object's event: workspace.xes.maps_changed.emit()"]
