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


def test_session_restore_reads_files_on_the_worker_pool(qtbot, window, real_file, samples_dir, monkeypatch):
    """Restoring a session never reads a file on the GUI thread (a slow network folder would freeze it)."""
    import threading

    import xestools.io as io

    paths = [str(real_file("280772_1.nxs")), str(samples_dir / "990111_1.nxs"), str(real_file("279517_1.nxs"))]
    window.open_paths(paths)
    qtbot.waitUntil(lambda: not window.is_loading and window.xes_panel.model.rowCount() == 2, timeout=30000)
    window.xes_panel.add_map_slice(0, 9660.0)
    state = json.loads(json.dumps(window.session_state()))

    threads = []
    real_load = io.load

    def recording_load(path, *args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(io, "load", recording_load)
    from xestools.gui.main_window import MainWindow

    other = MainWindow()
    qtbot.addWidget(other)
    try:
        other.restore_session(state)
        assert other.is_loading and other.xes_panel.model.rowCount() == 0   # nothing was read yet
        qtbot.waitUntil(lambda: not other.is_loading and other.xes_panel.model.rowCount() == 3, timeout=30000)
        assert threads and not any(threads), "a file was read on the GUI thread"
        names = [item.name for item in other.xes_panel.workspace.all_items()]
        assert names == [item.name for item in window.xes_panel.workspace.all_items()]
    finally:
        other.shutdown()


def test_every_xes_command_is_in_the_menu_and_runs(qtbot, window, samples_dir):
    commands = window.commands.xes_actions
    assert set(commands) == {"average", "normalise", "background", "difference", "metrics", "export_csv",
                             "export_nexus", "export_report", "export_metrics", "export_plot"}
    shortcuts = {name: action.shortcut().toString() for name, action in commands.items() if not action.shortcut().isEmpty()}
    assert shortcuts == {"average": "Ctrl+Shift+A", "normalise": "Ctrl+Shift+N", "background": "Ctrl+Shift+B",
                         "difference": "Ctrl+Shift+D", "metrics": "Ctrl+Shift+M"}
    analysis = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Analysis")
    xes_menu = next(a.menu() for a in analysis.actions() if a.menu() is not None)
    assert set(commands.values()) <= set(xes_menu.actions())
    all_shortcuts = [a.shortcut().toString() for a in window.findChildren(type(commands["average"])) if not a.shortcut().isEmpty()]
    assert len(all_shortcuts) == len(set(all_shortcuts)), "a shortcut is used twice"
    window.open_paths([str(samples_dir / name) for name in ("990111_1.nxs", "990112_1.nxs")])
    qtbot.waitUntil(lambda: not window.is_loading and window.xes_panel.model.rowCount() == 2, timeout=30000)
    commands["average"].trigger()
    kinds = [item.kind for item in window.xes_panel.workspace.all_items()]
    assert kinds == [ItemKind.SCAN, ItemKind.SCAN, ItemKind.AVERAGE]
    assert window.tabs.currentWidget() is window.xes_panel and window.xes_panel.tools.currentIndex() == 0
    commands["metrics"].trigger()
    assert window.xes_panel.tools.metrics_table.rowCount() == 3


def test_export_commands_from_the_menu_write_readable_files(qtbot, window, samples_dir, tmp_path, monkeypatch):
    import numpy as np

    from xestools.gui.xes import xes_export
    from xestools.io import load

    window.open_paths([str(samples_dir / "990111_1.nxs")])
    qtbot.waitUntil(lambda: not window.is_loading and window.xes_panel.model.rowCount() == 1, timeout=30000)
    asked = []

    def answer(_parent, title, suggestion, _filters):
        asked.append(title)
        return str(tmp_path / suggestion)

    monkeypatch.setattr(xes_export, "ask_path", answer)
    panel = window.xes_panel
    window.commands.xes_actions["export_csv"].trigger()
    assert asked == [] and "Select an item" in window.status_label.text()   # nothing selected: nothing asked
    (item,) = panel.workspace.all_items()
    panel.select_uids([item.uid])
    for name in ("export_csv", "export_nexus", "export_plot"):
        window.commands.xes_actions[name].trigger()
    assert asked == ["Export item as CSV", "Export item as NeXus", "Export plot"]
    for suffix in (".csv", ".nxs"):
        (reread,) = load(tmp_path / f"990111_1.nxs{suffix}")
        np.testing.assert_allclose(reread.intensity, item.spectrum.intensity, rtol=1e-9)
    assert (tmp_path / "xes_overlay.png").stat().st_size > 1000
