"""Series, averaged maps, map difference and the processing recipe in the main window.

The tests change the workspace (or trigger the menu actions) and check that the dataset panel, the
RXES tab and the XES tab follow; numbers against independent numpy computations.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xestools.analysis.series import average_series
from xestools.gui import series_commands
from xestools.gui.rxes.export import export_map
from xestools.io import load
from xestools.io.reader import load as read_back
from xestools.workspace.datasets import LoadOutcome
from xestools.workspace.series import DerivedDataset

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"


@pytest.fixture
def window(make_window):
    return make_window(1366, 768)


def open_and_wait(window, qtbot, paths) -> None:
    window.open_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: not window.is_loading, timeout=30000)


def poisson_repeat(rxes_map, seed: int, folder: Path):
    rng = np.random.default_rng(seed)
    monitor = np.asarray(rxes_map.monitor, dtype=float)
    counts = rng.poisson(np.nan_to_num(rxes_map.intensity) * monitor).astype(float)
    info = dataclasses.replace(rxes_map.info, scan_number=rxes_map.info.scan_number + seed)
    repeat = dataclasses.replace(rxes_map, intensity=counts / monitor, uncertainty=np.sqrt(counts) / monitor,
                                 source=str(folder / f"repeat_{seed}.nxs"), info=info,
                                 metadata={"intensity_source": "FFI1"})
    return repeat, counts, monitor


def top_items(tree):
    return [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]


def test_twins_are_shown_as_one_scan_and_never_averaged_twice(window, qtbot, real_file):
    open_and_wait(window, qtbot, [real_file("280772_1.nxs"), real_file("ZnO_standard_280772_1.dat")])
    (series,) = top_items(window.dataset_panel)
    assert series.text(0) == "ZnO_standard — VtC XES, 1 scan"
    assert "counted once" in series.toolTip(0)
    kinds = sorted(series.child(i).text(2) for i in range(series.childCount()))
    assert kinds == ["XES", "same scan"]
    before = len(window.workspace.xes.items.items)
    window.commands.average_series_action.trigger()
    assert len(window.workspace.xes.items.items) == before
    assert "one scan" in window.status_label.text()


def test_sample_repeats_form_a_series_and_the_action_averages_them(window, qtbot):
    paths = [SAMPLES / f"99011{i}_1.nxs" for i in (1, 2, 3)]
    open_and_wait(window, qtbot, paths[:2])
    assert top_items(window.dataset_panel)[0].text(0) == "ZnO_synthetic — VtC XES, 2 scans"
    open_and_wait(window, qtbot, paths[2:])
    (series,) = top_items(window.dataset_panel)
    assert series.text(0) == "ZnO_synthetic — VtC XES, 3 scans" and series.childCount() == 3
    window.commands.average_series_action.trigger()
    item = window.workspace.xes.items.items[-1]
    assert item.name.startswith("Average of ZnO_synthetic")
    assert window.tabs.currentWidget() is window.xes_panel
    expected = average_series([load(p)[0] for p in paths])
    np.testing.assert_allclose(item.spectrum.intensity, expected.intensity, rtol=1e-12)


def test_averaged_map_is_a_map_like_any_other(window, qtbot, real_file, tmp_path):
    (real,) = load(real_file("279517_1.nxs"))
    repeats = [poisson_repeat(real, seed, tmp_path) for seed in (1, 2)]
    window.workspace.add_outcomes([LoadOutcome(r.source, objects=[r]) for r, _, _ in repeats])
    assert top_items(window.dataset_panel)[0].text(0).endswith("RXES, 2 scans")
    window.commands.average_series_action.trigger()
    panel = window.rxes_panel
    assert isinstance(panel.document.dataset, DerivedDataset)
    (_, counts_a, monitor), (_, counts_b, _) = repeats
    expected = (counts_a + counts_b) / monitor / 2
    np.testing.assert_allclose(panel.map_plot.rxes_map.intensity, expected, rtol=1e-12)
    window.add_cut("CEE")
    ((entry, result),) = panel.cut_results()
    band = np.abs(real.emission_axis - entry.position) <= entry.width / 2
    np.testing.assert_allclose(result.intensity, expected[:, band].sum(axis=1), rtol=1e-12)
    window.set_view("transfer")
    assert panel.style.view == "transfer" and panel.cut_results()
    export_map(panel, tmp_path / "average.nxs")
    (back,) = read_back(tmp_path / "average.nxs")
    assert [m["source"] for m in back.metadata["members"]] == [r.source for r, _, _ in repeats]
    (series,) = top_items(window.dataset_panel)      # the average is listed under its series
    rows = [(series.child(i).text(0), series.child(i).text(2)) for i in range(series.childCount())]
    assert rows[-1] == ("average of 2", "RXES average")


def test_map_difference_from_the_rxes_tab(window, qtbot, real_file, tmp_path):
    (real,) = load(real_file("279517_1.nxs"))
    (a, counts_a, monitor), (b, counts_b, _) = [poisson_repeat(real, seed, tmp_path) for seed in (1, 2)]
    window.workspace.add_outcomes([LoadOutcome(m.source, objects=[m]) for m in (a, b)])

    def answer(dialog):
        dialog.a_combo.setCurrentIndex(dialog.a_combo.findData(os.path.abspath(b.source)))
        dialog.b_combo.setCurrentIndex(dialog.b_combo.findData(os.path.abspath(a.source)))
        return True

    series_commands.map_difference_dialog(window, dialog_hook=answer)
    shown = window.rxes_panel.map_plot.rxes_map
    np.testing.assert_allclose(shown.intensity, (counts_b - counts_a) / monitor, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(shown.uncertainty, np.sqrt(counts_a + counts_b) / monitor, rtol=1e-12)
    assert window.rxes_panel.document.dataset.operation == "difference"


def test_recipe_saved_from_the_gui_replayed_by_the_cli_gives_the_same_cut(window, qtbot, real_file, tmp_path):
    path = real_file("279517_1.nxs")
    open_and_wait(window, qtbot, [path])
    window.rxes_panel.add_cut("CEE", 8638.9, 1.0, mean=False)
    window.rxes_panel.add_cut("CIE", 9661.0, 0.6, mean=True)
    window.set_view("transfer")
    recipe = tmp_path / "recipe.json"
    series_commands.save_recipe_dialog(window, str(recipe))
    assert recipe.is_file(), window.status_label.text()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "xestools", "batch", str(path), "--recipe", str(recipe),
                          "-o", str(tmp_path / "out"), "-j", "1", "-q"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    outputs = sorted((tmp_path / "out").glob("279517_1*.csv"))
    assert len(outputs) == 2
    for (entry, result) in window.rxes_panel.cut_results():
        (written,) = [o for o in outputs if entry.kind in o.name]
        (spectrum,) = read_back(written)
        np.testing.assert_allclose(spectrum.energy, result.x, rtol=1e-12)
        np.testing.assert_allclose(spectrum.intensity, result.intensity, rtol=1e-12)
        assert len(result.x) > 10 and np.isfinite(result.intensity).sum() > 10


def test_kept_up_average_follows_a_new_repeat_in_the_rxes_tab(window, qtbot, real_file, tmp_path):
    (real,) = load(real_file("279517_1.nxs"))
    repeats = [poisson_repeat(real, seed, tmp_path) for seed in (1, 2, 3)]
    window.workspace.add_outcomes([LoadOutcome(r.source, objects=[r]) for r, _, _ in repeats[:2]])
    window.commands.average_series_action.trigger()
    window.commands.follow_averages_action.trigger()
    assert window.workspace.series.follow_averages
    window.rxes_panel.add_cut("CEE", 8638.9, 1.0)
    new, counts_c, monitor = repeats[2]
    window.workspace.add_outcomes([LoadOutcome(new.source, objects=[new])])
    window.workspace.select(window.workspace.datasets[2].key)     # the average, updated in place
    shown = window.rxes_panel.map_plot.rxes_map
    total = repeats[0][1] + repeats[1][1] + counts_c
    np.testing.assert_allclose(shown.intensity, total / monitor / 3, rtol=1e-12)
    assert len(window.rxes_panel.cut_results()) == 1      # its cuts stay
    (series,) = top_items(window.dataset_panel)
    assert series.text(0).endswith("3 scans") and series.child(series.childCount() - 1).text(0) == "average of 3"


def test_complete_scans_only_is_an_option_of_the_average_action_and_remembered(make_window, qtbot, tmp_path):
    from xestools.live import Follower
    from xestools.replay import Replayer

    window = make_window(1366, 768)
    paths = [SAMPLES / f"99011{i}_1.nxs" for i in (1, 2, 3)]
    open_and_wait(window, qtbot, paths[:2])
    growing = tmp_path / paths[2].name
    Replayer(paths[2], growing).run(stop_after=25)
    window.workspace.add_outcomes([LoadOutcome(str(growing), objects=list(Follower(growing).poll().models))])
    window.workspace.select(window.workspace.datasets[0].key)
    action = window.commands.complete_only_action
    assert not action.isChecked() and not window.workspace.series.complete_scans_only
    window.commands.average_series_action.trigger()
    assert "(3 scans, 1 in progress)" in window.status_label.text()
    action.trigger()
    assert window.workspace.series.complete_scans_only
    window.workspace.select(window.workspace.datasets[0].key)
    window.commands.average_series_action.trigger()
    item = window.workspace.xes.items.items[-1]
    assert item.name.endswith("(2 scans; 1 in progress left out)") and len(item.inputs) == 2
    assert item.name in window.status_label.text()
    again = make_window(1366, 768)                       # the next start: the user's choice is remembered
    assert again.commands.complete_only_action.isChecked() and again.workspace.series.complete_scans_only
