"""The processing recipe of what is shown: the current map's cuts, channel, view and normalisation, or the
XES chain of a fit item (:func:`xes_recipe_from_workspace`). No Qt.

:func:`recipe_from_workspace` turns the RXES tab's state into a :class:`~xestools.recipe.Recipe`,
so ``xestools batch --recipe`` replays, on every scan of an experiment, the cuts the user made in
the GUI (same positions, widths, statistic and view; the same channel; the same normalisation window
and reference file). An averaged map adds the series average (same weighting and grid).
"""
from __future__ import annotations

import os

from xestools.recipe import CutStep, Recipe
from xestools.workspace.series import DerivedDataset


def recipe_from_workspace(workspace, name: str = "") -> Recipe:
    """The recipe of the shown map (ValueError when no map is open or it has no cut)."""
    document = workspace.maps.current
    if document is None:
        raise ValueError("open a map and make the cuts the recipe should repeat")
    entries = document.cuts.entries()
    if not entries:
        raise ValueError("the shown map has no cut: add the cuts the recipe should repeat")
    view = workspace.maps.style.view
    cuts = tuple(CutStep.from_spec(entry.spec(), view) for entry in entries)
    fields: dict = {"name": name or f"cuts of {document.dataset.title}",
                    "channel": document.channel.value if document.channel is not None else None,
                    "cuts": cuts}
    if document.normalisation is not None:
        reference = document.normalisation["reference"]
        if not reference.source or not os.path.isfile(reference.source):
            raise ValueError("the normalisation reference is not a file the recipe can name")
        fields.update(normalise_window=tuple(float(v) for v in document.normalisation["window"]),
                      normalise_reference=os.path.abspath(reference.source))
    dataset = document.dataset
    if isinstance(dataset, DerivedDataset) and dataset.operation == "average":
        fields.update(average=True, average_weighted=bool(dataset.options.get("weighted", False)),
                      average_grid=str(dataset.options.get("grid", "overlap")))
    return Recipe(**fields)


def save_recipe(workspace, path: str | os.PathLike, name: str = "") -> Recipe:
    """Write the recipe of the shown map to ``path`` (atomically, by :meth:`Recipe.save`)."""
    recipe = recipe_from_workspace(workspace, name)
    recipe.save(path)
    return recipe


#: the XES steps in the order ``xestools batch`` does them (a chain is walked back from the fit)
_XES_ORDER = ("fit", "residual", "normalised", "aligned")


def _file_of(xes, uid: int, what: str) -> str:
    """The file of a loaded scan item (a recipe names files, not items)."""
    from xestools.workspace.items import ItemKind

    item = xes.item(uid)
    if item is None or item.kind is not ItemKind.SCAN or not item.source_path or not os.path.isfile(item.source_path):
        raise ValueError(f"the {what} must be a loaded scan file for the recipe to name it")
    return os.path.abspath(item.source_path)


def _xes_step(xes, item, fields: dict, steps: dict) -> None:
    """The recipe fields of one derived item of the chain (ValueError for a step batch cannot replay)."""
    params = item.params
    if item.kind.value == "residual":
        if len(item.inputs) > 1 or params.get("weighting") not in (None, "sigma", "none"):
            raise ValueError(f"{item.name}: a background with a wide scan or balanced weights is not a batch step")
        fields.update(background_components=tuple(params["components"]),
                      background_exclusions=tuple(tuple(float(v) for v in span) for span in params.get("exclusions", [])),
                      background_weighted=bool(params.get("weighted", True)))
    elif item.kind.value == "normalised":
        fields.update(normalise_window=tuple(float(v) for v in params["window"]),
                      normalise_reference=_file_of(xes, item.inputs[1], "normalisation reference")
                      if len(item.inputs) > 1 else None)
    elif item.kind.value == "aligned":
        window = params.get("window")
        steps.update(align_reference=_file_of(xes, item.inputs[1], "alignment reference"),
                     align_method=str(params.get("method", "xcorr")),
                     align_window=None if not window else (float(window[0]), float(window[1])))


def xes_recipe_from_workspace(xes, fit_uid: int, name: str = "") -> Recipe:
    """The XES chain that made the fit item ``fit_uid`` (align → normalise → background → fit → metrics)
    as a recipe ``xestools batch`` replays on other scans. ValueError names a step batch cannot replay."""
    from xestools.workspace.items import ItemKind
    from xestools.workspace.results import FitSettings
    from xestools.xes_recipe import XesSteps

    fit_item = xes.item(fit_uid)
    if fit_item is None or fit_item.kind is not ItemKind.FIT:
        raise ValueError("choose a fit item (accept a fit in the Fit tool first)")
    settings = FitSettings.from_params(fit_item.params)
    axis = fit_item.spectrum.axis
    fields: dict = {"name": name or f"XES chain of {fit_item.name}"}
    steps: dict = {"fit_peaks": settings.centers, "fit_shape": settings.shape, "fit_background": settings.background,
                   "fit_share_width": settings.share_width,
                   "fit_windows": () if settings.window is None else ((axis, settings.window),)}
    rank, current = 0, xes.item(fit_item.inputs[0])
    while current is not None and current.kind is not ItemKind.SCAN:
        kind = current.kind.value
        if kind not in _XES_ORDER or _XES_ORDER.index(kind) <= rank:
            raise ValueError(f"{current.name}: a {kind} step here is not one batch can replay "
                             "(the chain is align → normalise → background → fit)")
        rank = _XES_ORDER.index(kind)
        _xes_step(xes, current, fields, steps)
        current = xes.item(current.inputs[0])
    if current is None:
        raise ValueError(f"an input of {fit_item.name} was removed")
    fields["channel"] = None if current.channel is None else current.channel.value
    tools = xes.settings.tools
    fields["metrics"] = True
    if not tools.metrics_whole_range and tools.metrics_window[1] > tools.metrics_window[0]:
        fields["metrics_windows"] = ((axis, tuple(tools.metrics_window)),)
    return Recipe(xes=XesSteps(**steps), **fields)
