"""The XES tab inside the main window: 1D files land in it, its state is part of the session."""
from __future__ import annotations

import json

import pytest

from xestools.workspace.items import ItemKind


@pytest.fixture
def window(qtbot):
    from xestools.gui.main_window import MainWindow

    main = MainWindow()
    qtbot.addWidget(main)
    yield main
    main.shutdown()


def test_xes_files_open_in_the_xes_tab_and_survive_a_session(qtbot, window, real_file, samples_dir):
    panel = window.xes_panel
    assert panel is not None
    window.open_paths([str(real_file("280772_1.nxs")), str(samples_dir / "990111_1.nxs"), str(samples_dir / "990112_1.nxs")])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=30000)
    average = panel.average()
    assert average.kind is ItemKind.AVERAGE and len(average.inputs) == 3
    state = json.loads(json.dumps(window.session_state()))
    assert [item["name"] for item in state["xes_panel"]["items"]][-1] == average.name

    from xestools.gui.main_window import MainWindow

    other = MainWindow()
    qtbot.addWidget(other)
    try:
        other.restore_session(state)
        qtbot.waitUntil(lambda: other.xes_panel.model.rowCount() >= 4, timeout=30000)
        qtbot.wait(300)  # the main window reopens the files as well: they must not be duplicated
        names = [item.name for item in other.xes_panel.workspace.all_items()]
        assert names == [item.name for item in panel.workspace.all_items()]
    finally:
        other.shutdown()
