"""Issue 22: a session restore is applied in small steps (one file, one derived map, …) that the GUI
spreads over event-loop turns, each file as soon as its part of the read has arrived. Until the last
step the workspace describes the whole session being restored (a quit half-way keeps it), and the views
hear about the restore once: one "datasets changed", one "restored". Real I20 files."""
from __future__ import annotations

import json
import os

import pytest

from xestools.workspace import Workspace, load_files
from xestools.workspace.workspace import WAITING

NAMES = ("280772_1.nxs", "ZnO_standard_280772_1.dat", "280754_1.nxs", "279517_1.nxs", "ZnO_standard_280754_1.dat")


@pytest.fixture(scope="module")
def outcomes(real_file):
    return load_files([str(real_file(name)) for name in NAMES])


@pytest.fixture(scope="module")
def state(outcomes):
    """Five files, a cut on the shown map and an average of two scans."""
    workspace = Workspace()
    workspace.add_outcomes(outcomes)
    workspace.maps.add_cut("CEE", None, 1.0)
    a, b = (item.uid for item in workspace.xes.all_items()[:2])
    workspace.xes.average([a, b])
    return json.loads(json.dumps(workspace.to_state()))


class Turns:
    """A runner that takes one step per ``turn()``, as the GUI takes a slice per event-loop turn."""

    def __init__(self) -> None:
        self.steps = None

    def __call__(self, steps) -> None:
        self.steps = steps

    def turn(self):
        """The step taken (None for a plain step, WAITING), or False once the restore is over."""
        return next(self.steps, False)


def watched(workspace: Workspace) -> dict:
    heard = {"changed": 0, "restored": []}
    workspace.datasets_changed.connect(lambda: heard.__setitem__("changed", heard["changed"] + 1))
    workspace.restored.connect(heard["restored"].append)
    return heard


def saved_paths(state: dict) -> list[str]:
    return [entry["path"] for entry in state["files"]]


def test_a_restore_is_applied_in_steps_and_is_whole_until_the_last(state, outcomes):
    workspace = Workspace()
    heard = watched(workspace)
    turns = Turns()
    workspace.restore(state, lambda paths, deliver: deliver(outcomes), turns)
    taken, applied = 0, []
    while turns.turn() is not False:
        taken += 1
        if workspace.is_restoring:
            assert saved_paths(workspace.to_state()) == saved_paths(state)
            assert workspace.to_state()["xes_panel"]["items"] == state["xes_panel"]["items"]
        else:
            applied.append(taken)
    assert taken > len(NAMES)           # at least a step per file: the window paints between them
    assert applied == [taken]           # the last step (which selects the current dataset) ends the restore
    assert not workspace.is_restoring and len(heard["restored"]) == 1 and heard["changed"] == 1
    assert saved_paths(workspace.to_state()) == saved_paths(state)
    assert [entry.get("cuts") for entry in workspace.to_state()["files"]] == [entry.get("cuts") for entry in state["files"]]
    assert any(entry.get("cuts") for entry in state["files"])
    assert workspace.to_state()["xes_panel"]["items"] == state["xes_panel"]["items"]


def test_files_are_applied_as_their_part_of_the_read_arrives(state, outcomes):
    workspace = Workspace()
    heard = watched(workspace)
    deliveries = []
    workspace.restore(state, lambda paths, deliver: deliveries.append(deliver))
    deliver = deliveries[0]
    deliver(outcomes[2:4], more=True)        # a later part first: nothing is applied out of order
    assert workspace.datasets == [] and workspace.is_restoring
    deliver(outcomes[:2], more=True)
    assert [d.path for d in workspace.datasets] == [o.path for o in outcomes[:4]]
    assert workspace.is_restoring and heard == {"changed": 0, "restored": []}
    assert saved_paths(workspace.to_state()) == saved_paths(state)
    deliver(outcomes[4:])
    assert len(workspace.datasets) == len(NAMES) and not workspace.is_restoring
    assert len(heard["restored"]) == 1 and heard["changed"] == 1
    assert heard["restored"][0].opened == [o.path for o in outcomes]


def test_the_steps_wait_for_files_still_being_read(state, outcomes):
    workspace = Workspace()
    turns = Turns()
    deliveries = []
    workspace.restore(state, lambda paths, deliver: deliveries.append(deliver), turns)
    deliveries[0](outcomes[:1], more=True)
    taken = [turns.turn() for _ in range(3)]
    assert taken[-1] is WAITING and len(workspace.datasets) == 1


def test_a_restore_cleared_half_way_stops_at_its_next_step(state, outcomes):
    workspace = Workspace()
    heard = watched(workspace)
    turns = Turns()
    workspace.restore(state, lambda paths, deliver: deliver(outcomes), turns)
    turns.turn()
    turns.turn()
    workspace.clear()                        # File → Open session… while the last one is applied
    while turns.turn() is not False:
        pass
    assert workspace.datasets == [] and heard["restored"] == [] and not workspace.is_restoring
    assert os.path.abspath(outcomes[0].path) not in [d.key for d in workspace.datasets]
