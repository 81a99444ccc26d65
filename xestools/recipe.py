"""The batch recipe: what ``xestools batch`` does to every scan, as a small versioned JSON file.

:class:`Recipe` reads, checks and writes it (``docs/recipe.md`` describes the format), so the GUI can
save its current cuts and settings (:mod:`xestools.workspace.recipe`) and the CLI (``xestools batch``,
:mod:`xestools.batch`) can replay them. It sits below both: it imports neither the CLI nor the
workspace, only analysis (for cut specs and background components) and the atomic-write helper.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from xestools.io import formats
from xestools.io._json import loads_bounded
from xestools.io.regular_files import is_regular_file
from xestools.io.atomic import atomic_write
from xestools.model import cut_kind_names, cut_kinds_text

RECIPE_FORMAT = "xestools-recipe"
RECIPE_VERSION = 1
#: a recipe is a few kB; nesting deeper than this is not one
MAX_RECIPE_BYTES = 1024 * 1024
MAX_RECIPE_DEPTH = 16


class RecipeError(ValueError):
    """A recipe that cannot be used; the message says which field and why."""


def _window(value: Any, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RecipeError(f"{where} must be two energies [lo, hi] in eV, got {value!r}")
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise RecipeError(f"{where} must be two numbers (eV), got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        raise RecipeError(f"{where} must be two different finite energies, got {value!r}")
    return (min(lo, hi), max(lo, hi))


def _keys(data: Any, allowed: Sequence[str], where: str) -> dict:
    if not isinstance(data, dict):
        raise RecipeError(f"{where} must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise RecipeError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})")
    return data


@dataclass(frozen=True)
class CutStep:
    """One cut of every map: type CIE/CEE/CET, band centre and full width (eV), sum or mean, view."""

    type: str
    position: float
    width: float
    statistic: str = "sum"
    view: str = "incident"

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "CutStep":
        data = _keys(data, ("type", "position", "width", "statistic", "view"), where)
        kind = str(data.get("type", "")).upper()
        if kind not in cut_kind_names():
            raise RecipeError(f"{where}.type must be {cut_kinds_text()}, got {data.get('type')!r}")
        try:
            position, width = float(data["position"]), float(data["width"])
        except KeyError as missing:
            raise RecipeError(f"{where} needs {missing.args[0]!r} (eV)") from None
        except (TypeError, ValueError):
            raise RecipeError(f"{where}: position and width must be numbers (eV)") from None
        if not (math.isfinite(position) and math.isfinite(width)) or width <= 0:
            raise RecipeError(f"{where}: position must be finite and width positive, got {position}, {width}")
        statistic = str(data.get("statistic", "sum")).lower()
        view = str(data.get("view", "incident")).lower()
        if statistic not in ("sum", "mean") or view not in ("incident", "transfer"):
            raise RecipeError(f"{where}: statistic is sum or mean and view incident or transfer")
        return cls(kind, position, width, statistic, view)

    @classmethod
    def from_spec(cls, spec, view: Any = "incident") -> "CutStep":
        """The step of an analysis ``CutSpec`` in ``view`` (how the GUI saves its current cuts)."""
        return cls(spec.kind.value, spec.position, spec.width, spec.statistic, str(getattr(view, "value", view)))

    def spec(self):
        from xestools.analysis import CutSpec

        return CutSpec(self.type, self.position, self.width, self.statistic == "mean")


@dataclass(frozen=True)
class Recipe:
    """What ``xestools batch`` does to every scan; ``to_dict``/``save`` give the versioned JSON."""

    name: str = ""
    channel: str | None = None
    cuts: tuple[CutStep, ...] = ()
    normalise_window: tuple[float, float] | None = None
    normalise_reference: str | None = None
    background_components: tuple[str, ...] = ()
    background_exclusions: tuple[tuple[float, float], ...] = ()
    background_weighted: bool = True
    metrics: bool = False
    metrics_window: tuple[float, float] | None = None
    metrics_reference: str | None = None
    #: metrics windows per energy axis ((axis, (lo, hi)), …): metrics_window is emission eV only
    metrics_windows: tuple = ()
    #: the XES steps: alignment and line fit (xestools.xes_recipe.XesSteps)
    xes: Any = None
    average: bool = False
    average_weighted: bool = False
    average_grid: str = "overlap"
    output_format: str = "csv"

    def to_dict(self) -> dict[str, Any]:
        """The recipe as JSON-ready data (the file format documented in docs/recipe.md)."""
        data: dict[str, Any] = {"format": RECIPE_FORMAT, "version": RECIPE_VERSION, "name": self.name,
                                "channel": self.channel,
                                "cuts": [dataclasses.asdict(step) for step in self.cuts]}
        if self.normalise_window is not None:
            data["normalise"] = {"window": list(self.normalise_window), "reference": self.normalise_reference}
        if self.background_components:
            data["background"] = {"components": list(self.background_components),
                                  "exclusions": [list(span) for span in self.background_exclusions],
                                  "weighted": self.background_weighted}
        if self.metrics:
            data["metrics"] = {"window": None if self.metrics_window is None else list(self.metrics_window),
                               "reference": self.metrics_reference}
            if self.metrics_windows:
                data["metrics"]["windows"] = {axis: list(window) for axis, window in self.metrics_windows}
        if self.xes is not None:
            data["xes"] = self.xes.to_dict()
        if self.average:
            data["average"] = {"weighted": self.average_weighted, "grid": self.average_grid}
        data["output"] = {"format": self.output_format}
        return data

    def save(self, path: str | os.PathLike) -> None:
        """Write the recipe as JSON (atomically)."""
        atomic_write(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def from_dict(cls, data: Any, base: str | os.PathLike | None = None) -> "Recipe":
        """Check and read recipe JSON data; reference paths are relative to ``base`` (the recipe's folder)."""
        data = _keys(data, ("format", "version", "name", "channel", "cuts", "normalise", "background", "metrics",
                            "average", "output", "xes"), "recipe")
        if data.get("format") != RECIPE_FORMAT:
            raise RecipeError(f"not a xestools recipe: \"format\" must be {RECIPE_FORMAT!r}")
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise RecipeError(f"recipe \"version\" must be a positive integer, got {version!r}")
        if version > RECIPE_VERSION:
            raise RecipeError(f"recipe version {version} was written by a newer xestools (this one reads "
                              f"up to version {RECIPE_VERSION}); update xestools")
        channel = data.get("channel")
        if channel not in (None, "upper", "lower"):
            raise RecipeError(f"recipe channel must be upper, lower or null, got {channel!r}")
        cuts = data.get("cuts") or []
        if not isinstance(cuts, list):
            raise RecipeError("recipe \"cuts\" must be a list")
        fields: dict[str, Any] = {"name": str(data.get("name") or ""), "channel": channel,
                                  "cuts": tuple(CutStep.from_dict(c, f"cuts[{i}]") for i, c in enumerate(cuts))}
        fields.update(_optional_steps(data, base))
        return cls(**fields)

    def steps_for(self, cut: CutStep | None = None) -> dict:
        """The recipe as JSON data with only ``cut`` among its cuts (none for a map or a spectrum written whole):
        what one output records of how it was made."""
        data = self.to_dict()
        data["cuts"] = [] if cut is None else [dataclasses.asdict(cut)]
        return data

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Recipe":
        """Read a recipe file; RecipeError names the file and the problem."""
        if not is_regular_file(path):
            raise RecipeError(f"{path}: not a regular file (a recipe is a JSON file)")
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_RECIPE_BYTES + 1)
        except OSError as error:
            raise RecipeError(f"{path}: cannot read the recipe ({error.strerror or error})") from None
        try:
            data = loads_bounded(raw, max_bytes=MAX_RECIPE_BYTES, max_depth=MAX_RECIPE_DEPTH)
        except json.JSONDecodeError as error:
            raise RecipeError(f"{path}: not valid JSON (line {error.lineno}: {error.msg})") from None
        except ValueError as error:  # too large, nested too deeply, not UTF-8
            raise RecipeError(f"{path}: not a recipe: {error}") from None
        try:
            return cls.from_dict(data, Path(path).resolve().parent)
        except RecipeError as error:
            raise RecipeError(f"{os.path.basename(path)}: {error}") from None


def _reference(value: Any, base, where: str) -> str | None:
    if value in (None, "", "self"):
        return None
    if not isinstance(value, str):
        raise RecipeError(f"{where} must be a file name, got {type(value).__name__}")
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    if not is_regular_file(path):
        raise RecipeError(f"{where}: reference file {str(path)[:200]!r} does not exist or is not a regular file")
    return str(path)


def _xes_fields(data: dict, base) -> dict[str, Any]:
    """The per-axis metrics windows and the XES steps (xestools.xes_recipe) of recipe data."""
    from xestools.xes_recipe import XesSteps, axis_windows

    fields: dict[str, Any] = {}
    if isinstance(data.get("metrics"), dict):
        fields["metrics_windows"] = axis_windows(data["metrics"].get("windows"), "metrics.windows")
    if data.get("xes") is not None:
        fields["xes"] = XesSteps.from_dict(data["xes"], base)
    return fields


def _optional_steps(data: dict, base) -> dict[str, Any]:
    """The normalise, background, metrics, average and output parts of recipe data, checked."""
    fields: dict[str, Any] = {}
    if data.get("normalise") is not None:
        step = _keys(data["normalise"], ("window", "reference"), "normalise")
        fields["normalise_window"] = _window(step.get("window"), "normalise.window")
        if fields["normalise_window"] is None:
            raise RecipeError("normalise needs a window [lo, hi] in eV")
        fields["normalise_reference"] = _reference(step.get("reference"), base, "normalise.reference")
    if data.get("background") is not None:
        from xestools.analysis.background import parse_component

        step = _keys(data["background"], ("components", "exclusions", "weighted"), "background")
        components = step.get("components") or []
        try:
            fields["background_components"] = tuple(parse_component(c).spec() for c in components)
        except (TypeError, ValueError) as error:
            raise RecipeError(f"background.components: {error}") from None
        if not components:
            raise RecipeError("background needs at least one component (linear, polynomial2, pearson7, pseudovoigt)")
        fields["background_exclusions"] = tuple(_window(span, f"background.exclusions[{i}]")
                                                for i, span in enumerate(step.get("exclusions") or []))
        fields["background_weighted"] = bool(step.get("weighted", True))
    try:
        fields.update(_xes_fields(data, base))
    except ValueError as error:
        raise RecipeError(str(error)) from None
    if data.get("metrics") is not None:
        step = _keys(data["metrics"] if data["metrics"] is not True else {}, ("window", "reference", "windows"),
                     "metrics")
        fields.update(metrics=True, metrics_window=_window(step.get("window"), "metrics.window"),
                      metrics_reference=_reference(step.get("reference"), base, "metrics.reference"))
    if data.get("average") is not None:
        step = _keys(data["average"] if data["average"] is not True else {}, ("weighted", "grid"), "average")
        grid = step.get("grid", "overlap")
        if grid not in ("overlap", "union"):
            raise RecipeError(f"average.grid must be overlap or union, got {grid!r}")
        fields.update(average=True, average_weighted=bool(step.get("weighted", False)), average_grid=grid)
    output = _keys(data.get("output") or {}, ("format",), "output")
    fmt = output.get("format", "csv")
    names = formats.output_names()
    if fmt not in names:
        raise RecipeError(f"output.format must be {' or '.join(names)}, got {fmt!r}")
    fields["output_format"] = fmt
    return fields


__all__ = ["RECIPE_FORMAT", "RECIPE_VERSION", "CutStep", "Recipe", "RecipeError"]
