"""Series, averaged maps, map differences and the recipe in the Qt-free workspace.

Numbers are checked against independent numpy computations; map repeats are made from the real map
279517_1.nxs with different Poisson noise (counts ~ Poisson(I × I1), FFI1 = counts / I1, σ = √counts / I1).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
from xestools.analysis.series import average_series
from xestools.io import load
from xestools.workspace import Workspace
from xestools.workspace.datasets import LoadOutcome
from xestools.workspace.series import DerivedDataset, average_map_series, average_spectra_series, map_difference

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


def open_files(workspace, paths):
    return workspace.add_outcomes([LoadOutcome(str(p), objects=list(load(p))) for p in paths])


def poisson_repeat(rxes_map, seed: int, path: str):
    rng = np.random.default_rng(seed)
    monitor = np.asarray(rxes_map.monitor, dtype=float)
    counts = rng.poisson(np.nan_to_num(rxes_map.intensity) * monitor).astype(float)
    info = dataclasses.replace(rxes_map.info, scan_number=rxes_map.info.scan_number + seed)
    return dataclasses.replace(rxes_map, intensity=counts / monitor, uncertainty=np.sqrt(counts) / monitor,
                               source=path, info=info, metadata={"intensity_source": "FFI1"}), counts, monitor


@pytest.fixture(scope="module")
def repeats(real_file, tmp_path_factory):
    """Three Poisson repeats of the real map (as if read from three files), with counts and monitor."""
    (rxes_map,) = load(real_file("279517_1.nxs"))
    folder = tmp_path_factory.mktemp("maps")
    return [poisson_repeat(rxes_map, seed, str(folder / f"repeat_{seed}.nxs")) for seed in (1, 2, 3)]


def add_maps(workspace, maps):
    return workspace.add_outcomes([LoadOutcome(m.source, objects=[m]) for m in maps])


def test_twins_are_one_scan_with_a_notice(real_file):
    workspace = Workspace()
    messages = []
    workspace.status.connect(messages.append)
    open_files(workspace, [real_file("280772_1.nxs"), real_file("ZnO_standard_280772_1.dat")])
    (group,) = workspace.series.groups()
    assert group.name == "ZnO_standard — VtC XES, 1 scan"
    assert len(group.keys) == 1 and len(group.twin_keys) == 1
    assert "counted once" in group.notices[0] and any("counted once" in m for m in messages)
    with pytest.raises(ValueError, match="one scan"):
        average_spectra_series(workspace, group.keys[0])


def test_sample_repeats_form_one_series_and_average_as_average_series():
    workspace = Workspace()
    paths = [SAMPLES / f"99011{i}_1.nxs" for i in (1, 2, 3)]
    open_files(workspace, paths[:2])
    (group,) = workspace.series.groups()
    assert group.name == "ZnO_synthetic — VtC XES, 2 scans"
    open_files(workspace, paths[2:])          # a new scan joins its series as it arrives
    (group,) = workspace.series.groups()
    assert group.name.endswith("3 scans") and group.keys == tuple(os.path.abspath(p) for p in paths)
    item = average_spectra_series(workspace, group.keys[0], weighted=False, grid="overlap")
    spectra = [load(p)[0] for p in paths]
    expected = average_series(spectra)
    np.testing.assert_allclose(item.spectrum.intensity, expected.intensity, rtol=1e-12)
    np.testing.assert_allclose(item.spectrum.intensity, np.mean([s.intensity for s in spectra], axis=0), rtol=1e-12)


def test_averaged_map_against_numpy_and_it_follows_new_repeats(repeats):
    workspace = Workspace()
    maps = [r[0] for r in repeats]
    add_maps(workspace, maps[:2])
    derived = average_map_series(workspace, os.path.abspath(maps[0].source))
    (counts_a, monitor), (counts_b, _) = (repeats[0][1:]), (repeats[1][1:])
    (average,) = derived.maps
    np.testing.assert_allclose(average.intensity, (counts_a + counts_b) / monitor / 2, rtol=1e-12)
    np.testing.assert_allclose(average.uncertainty, np.sqrt(counts_a + counts_b) / monitor / 2, rtol=1e-12)
    assert workspace.maps.current.dataset is derived      # shown like any map, its members in provenance
    assert [m["source"] for m in average.metadata["members"]] == [maps[0].source, maps[1].source]
    workspace.series.follow_averages = True
    add_maps(workspace, maps[2:])
    (average,) = workspace.dataset(derived.key).maps
    counts_c = repeats[2][1]
    np.testing.assert_allclose(average.intensity, (counts_a + counts_b + counts_c) / monitor / 3, rtol=1e-12)


def test_map_difference_with_sigma(repeats):
    workspace = Workspace()
    (a, counts_a, monitor), (b, counts_b, _) = repeats[0], repeats[1]
    add_maps(workspace, [a, b])
    derived = map_difference(workspace, os.path.abspath(a.source), os.path.abspath(b.source))
    (difference,) = derived.maps
    np.testing.assert_allclose(difference.intensity, (counts_a - counts_b) / monitor, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(difference.uncertainty, np.sqrt(counts_a + counts_b) / monitor, rtol=1e-12)
    with pytest.raises(ValueError, match="two different"):
        map_difference(workspace, os.path.abspath(a.source), os.path.abspath(a.source))


def test_averaged_map_and_its_cuts_come_back_from_the_session(repeats):
    workspace = Workspace()
    maps = [r[0] for r in repeats[:2]]
    add_maps(workspace, maps)
    derived = average_map_series(workspace, os.path.abspath(maps[0].source))
    workspace.maps.add_cut("CEE", 8638.9, 1.0)
    state = workspace.to_state()
    assert isinstance(state["derived"][0]["members"], list)
    restored = Workspace()
    reads = []

    def reader(paths, deliver):     # as if the files were read on the worker pool
        reads.append(sorted(paths))
        deliver([LoadOutcome(m.source, objects=[m]) for m in maps if os.path.abspath(m.source) in paths])
    for rxes_map in maps:
        Path(rxes_map.source).touch()
    restored.restore(state, reader)
    assert reads == [sorted(os.path.abspath(m.source) for m in maps)]     # each file read once
    again = restored.dataset(derived.key)
    assert isinstance(again, DerivedDataset)
    np.testing.assert_array_equal(again.maps[0].intensity, derived.maps[0].intensity)
    (entry,) = restored.maps.document(derived.key).cuts.entries()
    assert (entry.kind, entry.position, entry.width) == ("CEE", 8638.9, 1.0)


def test_series_names_the_datasets_even_when_a_scan_keeps_another_source(repeats, tmp_path):
    """Our own exports keep the original file as ``source``: the series still points at the opened files."""
    workspace = Workspace()
    paths = [str(tmp_path / f"export_{i}.nxs") for i in (1, 2)]
    workspace.add_outcomes([LoadOutcome(path, objects=[r[0]]) for path, r in zip(paths, repeats)])
    (group,) = workspace.series.groups()
    assert group.keys == tuple(os.path.abspath(p) for p in paths)
    derived = average_map_series(workspace, os.path.abspath(paths[1]))
    assert derived.members == tuple(os.path.abspath(p) for p in paths)


def test_averaging_a_ticked_scan_and_its_twin_gives_the_one_scan_with_a_notice(real_file):
    """The XES tab's "Average the ticked scans" counts the .nxs and .dat of one scan once, and says so."""
    workspace = Workspace()
    said = []
    workspace.xes.status.connect(said.append)
    open_files(workspace, [real_file("280772_1.nxs"), real_file("ZnO_standard_280772_1.dat")])
    uids = [item.uid for item in workspace.xes.items.items]
    assert len(uids) == 2
    item = workspace.xes.average(uids)
    (single,) = load(real_file("280772_1.nxs"))
    np.testing.assert_array_equal(item.spectrum.uncertainty, single.uncertainty)
    assert len(item.spectrum.metadata["members"]) == 1 and "(1 scan)" in item.name
    assert any("is the same scan as 280772_1.nxs" in text for text in said)


def _with_a_repeat_in_progress(tmp_path, points=30):
    """Two finished repeats of the sample VtC series and a third being measured (followed: N of M points)."""
    from xestools.live import Follower
    from xestools.replay import Replayer

    workspace = Workspace()
    paths = [SAMPLES / f"99011{i}_1.nxs" for i in (1, 2, 3)]
    open_files(workspace, paths[:2])
    growing = tmp_path / paths[2].name
    Replayer(paths[2], growing).run(stop_after=points)
    update = Follower(growing).poll()
    assert update.progress.following and update.models[0].metadata["in_progress"]
    workspace.add_outcomes([LoadOutcome(str(growing), objects=list(update.models))])
    return workspace, paths, growing


def test_a_series_average_says_a_repeat_is_in_progress_or_leaves_it_out(tmp_path):
    workspace, paths, growing = _with_a_repeat_in_progress(tmp_path)
    key = workspace.datasets[0].key
    assert [g.name for g in workspace.series.groups()] == ["ZnO_synthetic — VtC XES, 3 scans, 1 in progress"]
    counted = average_spectra_series(workspace, key, complete_only=False)
    assert counted.name == "Average of ZnO_synthetic — VtC XES (3 scans, 1 in progress)"
    assert len(counted.inputs) == 3
    complete = average_spectra_series(workspace, key, complete_only=True)
    assert complete.name == "Average of ZnO_synthetic — VtC XES (2 scans; 1 in progress left out)"
    expected = average_series([load(p)[0] for p in paths[:2]])      # the two complete repeats, nothing else
    np.testing.assert_allclose(complete.spectrum.intensity, expected.intensity, rtol=1e-12)
    workspace.series.set_complete_scans_only(True)                 # the default when none is given
    assert average_spectra_series(workspace, key).name.endswith("(2 scans; 1 in progress left out)")


def test_a_kept_up_complete_only_average_takes_the_repeat_once_complete(tmp_path):
    workspace, paths, growing = _with_a_repeat_in_progress(tmp_path)
    workspace.series.follow_averages = True
    item = average_spectra_series(workspace, workspace.datasets[0].key, complete_only=True)
    assert len(item.inputs) == 2
    workspace.replace_models(os.path.abspath(growing), load(paths[2]))    # the followed scan completed
    item = workspace.xes.item(item.uid)
    assert item.name == "Average of ZnO_synthetic — VtC XES (3 scans)" and len(item.inputs) == 3
    assert [g.name for g in workspace.series.groups()] == ["ZnO_synthetic — VtC XES, 3 scans"]
    expected = average_series([load(p)[0] for p in paths])
    np.testing.assert_allclose(item.spectrum.intensity, expected.intensity, rtol=1e-12)


def test_a_kept_up_map_average_counts_the_repeat_in_progress(repeats):
    workspace = Workspace()
    workspace.series.follow_averages = True
    maps = [m for m, _, _ in repeats]
    running = dataclasses.replace(maps[2], metadata={**maps[2].metadata, "in_progress": True})
    workspace.add_outcomes([LoadOutcome(m.source, objects=[m]) for m in maps[:2]])
    derived = average_map_series(workspace, workspace.datasets[0].key, complete_only=False)
    assert derived.maps[0].label.endswith("(2 scans)")
    workspace.add_outcomes([LoadOutcome(running.source, objects=[running])])
    assert workspace.dataset(derived.key).maps[0].label.endswith("(3 scans, 1 in progress)")
    workspace.replace_models(os.path.abspath(running.source), [maps[2]])
    assert workspace.dataset(derived.key).maps[0].label.endswith("(3 scans)")
