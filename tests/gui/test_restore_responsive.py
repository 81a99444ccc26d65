"""Issue 22: a restore of many files keeps the window answering. Its steps run a slice per event-loop
turn (a timer fires between them while the files are being applied), the autosaved state lists the
whole session all the while, the window's objects are out of the garbage collector's full scans until
the restore is over, the dataset list is filled once, and the hidden XES tab is not drawn until it is
shown. The loader reads a restore in parts and hands each over as it arrives. Real files."""
from __future__ import annotations

import gc
import shutil

import pytest
from PySide6.QtCore import QTimer

from xestools.workspace import Workspace, load_files

NAMES = ("279517_1.nxs", "ZnO_standard_280772_1.dat", "280772_1.nxs", "ZnO_standard_280754_1.dat")


@pytest.fixture
def copies(real_file, tmp_path):
    """Sixteen files: copies of four real ones, each under its own name."""
    folder = tmp_path / "data"
    folder.mkdir()
    paths = []
    for index in range(16):
        name = NAMES[index % len(NAMES)]
        target = folder / f"c{index:02d}_{name}"
        shutil.copyfile(real_file(name), target)
        paths.append(str(target))
    return paths


@pytest.fixture
def session(copies):
    """The saved state of a workspace with the copies open and a cut on the shown map."""
    workspace = Workspace()
    workspace.add_outcomes(load_files(copies))
    workspace.maps.add_cut("CEE", None, 1.0)
    return workspace.to_state()


def test_the_window_answers_between_the_steps_of_a_restore(make_window, qtbot, monkeypatch, copies, session):
    from xestools.gui import restore

    window = make_window()
    qtbot.wait(200)                                     # the window's first paint is over
    outcomes = load_files(copies)
    monkeypatch.setattr(window.loader, "read", lambda paths, deliver: deliver(outcomes))   # all read at once
    monkeypatch.setattr(restore, "SLICE_S", 0.0)        # one step per turn
    refreshes, draws, seen = [], {"map": 0, "xes": 0}, []
    original = window.dataset_panel.set_datasets
    monkeypatch.setattr(window.dataset_panel, "set_datasets", lambda *a, **k: (refreshes.append(1), original(*a, **k)))
    for name, canvas in (("map", window.rxes_panel.map_canvas.canvas), ("xes", window.xes_panel.view.canvas.canvas)):
        drawn = canvas.draw
        monkeypatch.setattr(canvas, "draw", lambda drawn=drawn, name=name: (draws.__setitem__(name, draws[name] + 1), drawn()))

    def tick() -> None:
        if window.workspace.is_restoring:
            seen.append((len(window.workspace.datasets), [f["path"] for f in window.session_state()["files"]],
                         gc.get_freeze_count()))
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(0)
    reports = []
    window.workspace.restored.connect(reports.append)
    window.restore_session(session)
    qtbot.waitUntil(lambda: bool(reports), timeout=30000)
    qtbot.wait(100)
    timer.stop()
    assert len(reports[0].opened) == len(copies)
    assert any(0 < opened < len(copies) for opened, _, _ in seen), seen   # the timer fired half-way through
    assert all(files == copies for _, files, _ in seen)                   # the autosave keeps the whole session
    assert all(frozen for _, _, frozen in seen) and gc.get_freeze_count() == 0    # no full collection of the window
    assert len(refreshes) == 1                                            # the dataset list is filled once
    assert 1 <= draws["map"] <= 2 and draws["xes"] == 0                   # the hidden XES tab is not drawn
    window.tabs.setCurrentWidget(window.xes_panel)
    qtbot.waitUntil(lambda: draws["xes"] >= 1, timeout=5000)
    assert len(window.xes_panel.view.axes.get_lines()) >= len(copies) // 2


def test_the_loader_hands_a_restore_over_in_parts(make_window, qtbot, copies):
    from xestools.gui.loader import RESTORE_PART

    window = make_window()
    parts = []
    window.loader.read(copies, lambda outcomes, more=False: parts.append(([o.path for o in outcomes], more)))
    qtbot.waitUntil(lambda: bool(parts) and not parts[-1][1], timeout=60000)
    assert len(parts) == -(-len(copies) // RESTORE_PART) > 1
    assert [more for _, more in parts] == [True] * (len(parts) - 1) + [False]
    assert sorted(path for paths, _ in parts for path in paths) == sorted(copies)
    assert all(len(paths) <= RESTORE_PART for paths, _ in parts)


def test_the_shown_maps_first_draw_comes_turns_after_its_show(make_window, qtbot, monkeypatch, copies, session):
    """Showing the map (its artists, the page laid out) and its first draw (ticks and texts made, then
    rendered) are in different event-loop turns: a timer fires between them, and the map is drawn once."""
    window = make_window()
    qtbot.wait(200)
    outcomes = load_files(copies)
    monkeypatch.setattr(window.loader, "read", lambda paths, deliver: deliver(outcomes))
    panel, draws, seen = window.rxes_panel, [], []
    canvas = panel.map_canvas.canvas
    drawn = canvas.draw
    monkeypatch.setattr(canvas, "draw", lambda: (draws.append(1), drawn()))
    timer = QTimer()
    timer.timeout.connect(lambda: seen.append((panel.document is not None, panel.map_canvas.has_background)))
    timer.start(0)
    reports = []
    window.workspace.restored.connect(reports.append)
    window.restore_session(session)
    qtbot.waitUntil(lambda: bool(reports) and panel.map_canvas.has_background, timeout=30000)
    qtbot.wait(100)
    timer.stop()
    assert (True, False) in seen            # a turn saw the map shown and not yet drawn
    assert len(draws) == 1
