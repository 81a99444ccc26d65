"""The processing recipe of what is shown: the current map's cuts, channel, view and normalisation. No Qt.

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
