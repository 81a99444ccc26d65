"""The layers of docs/architecture.md, held: the imports of every module under xestools/, read with
``ast`` (nothing is executed), follow the table below and form no cycle.

Every import counts, also one inside a function (a lazy import is still a dependency); only imports
under ``if TYPE_CHECKING:`` are skipped, since they never run. A new module must be given a layer
here: the test fails for a module the table does not place.
"""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xestools"

#: Layers from the floor up. "modules" are dotted names below ``xestools`` (a package takes all its
#: modules; the longest name wins); "may import" lists the other layers a layer may import. Every
#: layer may import itself and the package root (``xestools``: the version and the lazy public names).
LAYER_TABLE = """
layer      | modules                              | may import
model      | model                                | -
core       | numeric gda                          | model
io         | io                                   | model core
analysis   | analysis                             | model core
live       | live                                 | model core io
data       | samples scanfiles replay             | model core io
drawing    | plot_settings drawing figures        | model core io analysis
recipe     | recipe xes_recipe                    | model core io analysis
notebook   | convert display                      | model core io analysis drawing
workspace  | workspace                            | model core io analysis live data drawing recipe
session    | session                              | model core io analysis live data drawing recipe workspace
runtime    | runtime                              | model core io analysis live data drawing recipe workspace session
cli_errors | cli_errors                           | -
batch      | batch batch_cluster                  | model core io analysis live data drawing recipe cli_errors
cli        | cli cli_common cli_results           | model core io analysis live data drawing recipe session runtime cli_errors batch
launch     | requirements __main__                | cli
gui        | gui                                  | model core io analysis live data drawing recipe workspace session runtime
entry      | app docshots                         | model core io analysis live data drawing recipe workspace session runtime gui launch
"""
#: The one kind of upward import allowed: the notebook conveniences of the model objects
#: (``Spectrum.to_xarray()``, ``_repr_png_``, ``CutResult.to_pandas()`` …, docs/api.md) call the notebook layer
#: from inside the method, at call time. Nothing else may import upwards, and these never at module level.
CONVENIENCES = {("xestools.model", "xestools.convert"), ("xestools.model", "xestools.display"),
                ("xestools.analysis.cuts", "xestools.convert")}

#: Layers that import neither Qt (PySide6) nor the Qt matplotlib backend: everything but the runtime,
#: the gui and the entry points.
QT_FREE = {"model", "core", "io", "analysis", "live", "data", "drawing", "recipe", "workspace", "session",
           "cli_errors", "batch", "cli", "launch", "notebook"}
QT_MODULES = ("PySide6", "matplotlib.backends.backend_qtagg")
#: Layers that build matplotlib figures directly (Figure + FigureCanvasQTAgg), never through pyplot.
NO_PYPLOT = {"gui", "runtime"}


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]
    may_import: frozenset[str]


def parse_table(table: str) -> dict[str, Layer]:
    rows = [line for line in textwrap.dedent(table).strip().splitlines()[1:] if line.strip()]
    layers = {}
    for row in rows:
        name, modules, allowed = (cell.strip() for cell in row.split("|"))
        layers[name] = Layer(name, tuple(f"xestools.{m}" for m in modules.split()),
                             frozenset() if allowed == "-" else frozenset(allowed.split()))
    return layers


LAYERS = parse_table(LAYER_TABLE)


# ----------------------------------------------------------------------------- reading the imports
def module_names(package: Path) -> dict[str, Path]:
    """Dotted name → file, for every module of the package (a package is named by its __init__.py)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            skipped.update(id(inner) for child in node.body for inner in ast.walk(child))
    return skipped


def imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name ``name`` imports: ``from a import b`` gives ``a.b`` and ``a``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped = _type_checking_nodes(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def import_graph(package: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module → the package's modules it imports, module → every dotted name it imports).

    ``from pkg import sub`` is an edge to the module ``pkg.sub``, not to ``pkg`` (unless it also
    takes a name defined in ``pkg`` itself).
    """
    modules = module_names(package)
    internal, everything = {}, {}
    for name, path in modules.items():
        names = imported_names(name, path)
        everything[name] = names
        edges = {n for n in names if n in modules}
        edges -= {source for source in list(edges)
                  if any(n.startswith(source + ".") and n in modules for n in names)
                  and not _takes_attribute(source, names, modules)}
        edges.discard(name)
        internal[name] = edges
    return internal, everything


def _takes_attribute(source: str, names: set[str], modules: dict[str, Path]) -> bool:
    """True when ``from source import x`` takes some x that is not a module."""
    return any(n.startswith(source + ".") and n.count(".") == source.count(".") + 1 and n not in modules
               for n in names)


def layer_of(module: str, layers: dict[str, Layer] = LAYERS) -> str | None:
    if module == "xestools":
        return "root"
    best = None
    for layer in layers.values():
        for prefix in layer.modules:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (layer.name, prefix)
    return best[0] if best else None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def layer_violations(graph: dict[str, set[str]], layers: dict[str, Layer] = LAYERS) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        source = layer_of(module, layers)
        for target in sorted(targets):
            wanted = layer_of(target, layers)
            if source in (None, "root") or wanted in (source, "root"):
                continue
            if wanted not in layers[source].may_import:
                problems.append(f"{module} ({source}) imports {target} ({wanted})")
    return problems


def forbidden_imports(names: dict[str, set[str]], layer_names: set[str], forbidden: tuple[str, ...],
                      layers: dict[str, Layer] = LAYERS) -> list[str]:
    return [f"{module} imports {name}" for module, imported in sorted(names.items())
            if layer_of(module, layers) in layer_names
            for name in forbidden if any(n == name or n.startswith(name + ".") for n in imported)]


# ----------------------------------------------------------------------------- the rules
def without_conveniences(internal: dict[str, set[str]]) -> dict[str, set[str]]:
    return {module: {t for t in targets if (module, t) not in CONVENIENCES} for module, targets in internal.items()}


def module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.fixture(scope="module")
def graph():
    internal, everything = import_graph(PACKAGE)
    return without_conveniences(internal), everything


def test_the_notebook_conveniences_import_upwards_only_when_called():
    modules = module_names(PACKAGE)
    for importer, imported in sorted(CONVENIENCES):
        assert imported not in module_level_imports(modules[importer]), f"{importer} imports {imported} at load"


def test_every_module_has_a_layer(graph):
    internal, _ = graph
    unplaced = [module for module in internal if layer_of(module) is None]
    assert not unplaced, f"give these modules a layer in LAYER_TABLE: {unplaced}"


def test_no_import_cycles(graph):
    internal, _ = graph
    assert cycles(internal) == []


def test_imports_go_down_the_layer_table(graph):
    internal, _ = graph
    assert layer_violations(internal) == []


def test_only_the_runtime_gui_and_entry_points_import_qt(graph):
    _, names = graph
    assert forbidden_imports(names, QT_FREE, QT_MODULES) == []


def test_no_pyplot_in_gui_or_runtime(graph):
    _, names = graph
    assert forbidden_imports(names, NO_PYPLOT, ("matplotlib.pyplot",)) == []


def test_the_table_holds_the_rules_of_the_design():
    """The rules DESIGN.md states, read off the table (so an edit of the table cannot drop one)."""
    may = {name: layer.may_import for name, layer in LAYERS.items()}
    assert may["model"] == set()
    assert "analysis" not in may["io"] and "io" not in may["analysis"]
    assert not may["drawing"] & {"workspace", "session", "runtime", "gui", "cli", "batch"}
    assert not may["workspace"] & {"cli", "batch", "runtime", "gui"}
    assert "runtime" not in may["session"] and "gui" not in may["runtime"]
    assert [name for name, allowed in may.items() if "gui" in allowed] == ["entry"]
    assert "cli" not in may["batch"] and "batch" not in may["recipe"]


def test_the_reader_finds_cycles_and_upward_imports(tmp_path):
    """The checks above can fail: a small package with a cycle, an upward import and Qt in io."""
    package = tmp_path / "xestools"
    (package / "io").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text("from xestools.io import reader\n")
    (package / "io" / "__init__.py").write_text("from . import reader\n")
    (package / "io" / "reader.py").write_text(
        "from ..model import X\n"
        "def load():\n    from PySide6.QtCore import QObject\n"
        "    from xestools.analysis import cut\n")
    (package / "analysis.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from xestools.gui import window\n")
    internal, names = import_graph(package)
    assert cycles(internal) == [["xestools.io.reader", "xestools.model"]]
    assert layer_violations(internal) == [
        "xestools.io.reader (io) imports xestools.analysis (analysis)",
        "xestools.model (model) imports xestools.io.reader (io)",
    ]
    assert forbidden_imports(names, QT_FREE, QT_MODULES) == ["xestools.io.reader imports PySide6"]
