"""The XES chain of a fit item saved as a recipe: ``xestools batch`` on the same file gives the same fit
numbers as the workspace, bit for bit (align → normalise → fit on the real 280772 scan and its .dat twin)."""
from __future__ import annotations

import pytest

from xestools import batch
from xestools.recipe import Recipe
from xestools.workspace import Workspace, load_files
from xestools.workspace.recipe import xes_recipe_from_workspace
from xestools.workspace.results import FitSettings

NXS, DAT = "280772_1.nxs", "ZnO_standard_280772_1.dat"


@pytest.fixture
def chain(real_file, tmp_path):
    """In the workspace: the .dat scan aligned to the .nxs one, normalised to its own area, fitted."""
    workspace = Workspace()
    workspace.add_outcomes(load_files([str(real_file(NXS)), str(real_file(DAT))]))
    xes = workspace.xes
    reference, scan = (next(i for i in xes.all_items() if i.name == name) for name in (NXS, DAT))
    aligned = xes.align([scan.uid], reference.uid, window=(9625.0, 9670.0))[0]
    normalised = xes.normalise(aligned.uid, (9620.0, 9680.0))
    settings = FitSettings((9637.0, 9656.0), shape="voigt", background="linear", window=(9625.0, 9670.0))
    fit_item = xes.add_fit(normalised.uid, settings)[0]
    return workspace, fit_item, xes.fit_item(normalised.uid, settings)


def test_batch_replays_the_chain_with_the_same_fit_numbers(chain, real_file, tmp_path):
    workspace, fit_item, fit = chain
    recipe = xes_recipe_from_workspace(workspace.xes, fit_item.uid)
    path = tmp_path / "chain.json"
    recipe.save(path)
    again = Recipe.load(path)
    assert again.xes.align_reference == str(real_file(NXS)) and again.normalise_window == (9620.0, 9680.0)
    task = batch.Task(key="file:0", stem="dat", out_dir=str(tmp_path), recipe=again, timeout=0, path=str(real_file(DAT)))
    outcome = batch.run_task(task)
    assert outcome.error == "" and len(outcome.products) == 1 and outcome.products[0].error == ""
    replayed, shown = outcome.products[0].fit, fit.as_dict()
    for key in ("components", "background", "ratios", "chi2_reduced", "n_points"):
        assert replayed[key] == shown[key], key          # bit for bit: floats compared with ==
    assert fit_item.params["p2 centre"] == shown["components"][1]["center"]


def test_a_step_batch_cannot_replay_is_named(chain):
    workspace, fit_item, _ = chain
    xes = workspace.xes
    scans = [i.uid for i in xes.all_items() if i.kind.value == "scan"]
    average = xes.average(scans)
    fitted = xes.add_fit(average.uid, FitSettings((9656.0,), window=(9640.0, 9670.0)))[0]
    with pytest.raises(ValueError, match="average step"):
        xes_recipe_from_workspace(xes, fitted.uid)
    with pytest.raises(ValueError, match="choose a fit item"):
        xes_recipe_from_workspace(xes, average.uid)
