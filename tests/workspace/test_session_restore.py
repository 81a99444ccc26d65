"""A session comes back in one pass (Workspace.restore): every file it needs is read once, then maps,
cuts, derived maps and the derived XES items are applied in order (issue 13: derived items came back
"not restored" when their inputs arrived by another read). Until the restore has been applied, the
workspace's state is the state being restored (issue 17: a quit during a restore wiped the session).
Real I20 files."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from xestools.workspace import LoadOutcome, Workspace, load_files
from xestools.workspace.items import ItemKind

NAMES = ("280772_1.nxs", "ZnO_standard_280772_1.dat", "280754_1.nxs", "279517_1.nxs")


@pytest.fixture(scope="module")
def outcomes(real_file):
    return load_files([str(real_file(name)) for name in NAMES])


@pytest.fixture(scope="module")
def saved(outcomes):
    """A session: two formats of one VtC scan averaged, the average normalised, an XES at Ω of the map,
    a cut on the map."""
    workspace = Workspace()
    workspace.add_outcomes(outcomes)
    xes = workspace.xes
    a, b = (item.uid for item in xes.all_items()[:2])
    average = xes.average([a, b])
    xes.normalise(average.uid, (9630.0, 9660.0))
    xes.add_map_slice(0, 9660.0)
    workspace.maps.add_cut("CEE", 8638.9, 1.0)
    return json.loads(json.dumps(workspace.to_state())), workspace


def derived(workspace):
    return [(i.name, i.kind, i.inputs and [workspace.xes.item(u).name for u in i.inputs]) for i in workspace.xes.all_items()
            if i.kind.derived]


def expected_average(outcomes):
    nxs, dat = outcomes[0].objects[0], outcomes[1].objects[0]
    order_n, order_d = np.argsort(nxs.energy), np.argsort(dat.energy)
    return (nxs.intensity[order_n] + dat.intensity[order_d]) / 2


class Reader:
    """Records each read and delivers it when told (as the worker pool would, later)."""

    def __init__(self, outcomes=None) -> None:
        self.reads: list[list[str]] = []
        self.pending = []
        self.outcomes = outcomes

    def __call__(self, paths, deliver) -> None:
        self.reads.append(list(paths))
        self.pending.append((paths, deliver))

    def finish(self) -> None:
        for paths, deliver in self.pending:
            deliver(self.outcomes if self.outcomes is not None else load_files(paths))
        self.pending.clear()


def test_every_file_is_read_once_and_derived_items_come_back_with_their_numbers(saved, outcomes):
    state, original = saved
    workspace = Workspace()
    reader = Reader()
    workspace.restore(state, reader)
    assert [sorted(paths) for paths in reader.reads] == [sorted(os.path.abspath(o.path) for o in outcomes)]
    reader.finish()
    assert derived(workspace) == derived(original) and workspace.xes.failures == []
    assert [i.name for i in workspace.xes.all_items()] == [i.name for i in original.xes.all_items()]
    assert workspace.maps.current.cuts.to_state() == original.maps.current.cuts.to_state()
    average = next(i for i in workspace.xes.all_items() if i.kind is ItemKind.AVERAGE)
    np.testing.assert_allclose(average.spectrum.intensity, expected_average(outcomes), rtol=1e-12)
    normalised = next(i for i in workspace.xes.all_items() if i.kind is ItemKind.NORMALISED)
    energy, intensity = average.spectrum.energy, average.spectrum.intensity
    inside = (energy > 9630.0) & (energy < 9660.0)
    xs = np.concatenate([[9630.0], energy[inside], [9660.0]])
    ys = np.interp(xs, energy, intensity)
    area = float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2))     # trapezoid with interpolated edges
    np.testing.assert_allclose(normalised.spectrum.intensity * area, intensity, rtol=1e-9)


def test_until_the_restore_is_applied_the_state_is_the_one_being_restored(saved, outcomes, real_file):
    state, _ = saved
    workspace = Workspace()
    reader = Reader()
    workspace.restore(state, reader)
    assert workspace.is_restoring
    assert [f["path"] for f in workspace.to_state()["files"]] == [f["path"] for f in state["files"]]
    assert workspace.to_state()["xes_panel"]["items"] == state["xes_panel"]["items"]
    extra = load_files([str(real_file("280754_1.nxs"))])
    other = Workspace()
    other.restore({**state, "files": state["files"][:1]}, Reader())
    other.add_outcomes(extra)                    # a file the user opens while the session is read
    assert [f["path"] for f in other.to_state()["files"]] == [state["files"][0]["path"], extra[0].path]
    reader.finish()
    assert not workspace.is_restoring and len(workspace.to_state()["files"]) == len(state["files"])


def test_an_input_that_cannot_be_read_is_named(saved, outcomes):
    state, _ = saved
    workspace = Workspace()
    broken = [LoadOutcome(o.path, error=f"{os.path.basename(o.path)}: read failed") if o.path.endswith("/280772_1.nxs")
              else o for o in outcomes]
    reports = []
    workspace.restored.connect(reports.append)
    workspace.restore(state, Reader(broken))
    workspace.restore(state, lambda paths, deliver: deliver(broken))     # a second restore replaces the first
    assert reports[0].errors == ["280772_1.nxs: read failed"]
    reasons = [reason for _, reason in workspace.xes.failures]
    assert any(r.startswith("average 1 (1 scan): not restored (its input 280772_1.nxs was not restored)")
               for r in reasons), reasons
    assert not any(i.kind in (ItemKind.AVERAGE, ItemKind.NORMALISED) for i in workspace.xes.all_items())


def test_a_closed_input_reopened_relinks_its_average_and_a_session_saved_meanwhile_restores_it(outcomes):
    workspace = Workspace()
    workspace.add_outcomes(outcomes[:2])
    xes = workspace.xes
    a, b = (item.uid for item in xes.all_items())
    average = xes.average([a, b])
    workspace.close(os.path.abspath(outcomes[0].path))
    assert xes.item(average.uid).stale
    state = json.loads(json.dumps(workspace.to_state()))      # saved while the input was closed

    restored = Workspace()
    restored.restore(state)
    again = next(i for i in restored.xes.all_items() if i.kind is ItemKind.AVERAGE)
    assert again.stale and "280772_1.nxs was closed" in again.stale_reason   # as it was saved
    np.testing.assert_allclose(again.spectrum.intensity, expected_average(outcomes), rtol=1e-12)
    restored.add_outcomes(outcomes[:1])                         # the user opens the file again
    again = next(i for i in restored.xes.all_items() if i.kind is ItemKind.AVERAGE)
    assert not again.stale and restored.xes.failures == []
    np.testing.assert_allclose(again.spectrum.intensity, expected_average(outcomes), rtol=1e-12)

    workspace.add_outcomes(outcomes[:1])                        # and in the running session
    relinked = xes.item(average.uid)
    assert not relinked.stale and relinked.lost_inputs == {}
    assert [xes.item(uid).name for uid in relinked.inputs] == list(NAMES[:2])
    np.testing.assert_allclose(relinked.spectrum.intensity, expected_average(outcomes), rtol=1e-12)


def test_saved_order_is_kept_and_bad_entries_are_named(saved):
    """An average moved above its scans comes back there; entries with nonsense are listed, not raised."""
    state, original = saved
    items = state["xes_panel"]["items"]
    assert items[4]["kind"] == "normalised"
    moved = [items[4]] + items[:4] + items[5:] + [{"uid": "x", "kind": "average", "inputs": ["y"], "name": "odd"},
                                                 {"kind": "no such kind", "name": "odder"}]
    workspace = Workspace()
    workspace.restore({**state, "xes_panel": {**state["xes_panel"], "items": moved}})
    names = [item["name"] for item in moved[:-2]]
    assert [item.name for item in workspace.xes.all_items()] == names
    reasons = [reason for _, reason in workspace.xes.failures]
    assert any(r.startswith("odd: not restored") for r in reasons) and any(r.startswith("odder: not restored")
                                                                          for r in reasons), reasons
