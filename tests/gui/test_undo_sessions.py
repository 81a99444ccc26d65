"""Edit → Undo/Redo and File → Save session as…/Open session… in the main window, on the real files.

The workspace is changed through the window's commands; the widgets (cut table, dataset list, XES
list, menus) are checked to follow an undo and a redo."""
from __future__ import annotations

import json
import os

import pytest

from xestools.workspace.items import ItemKind

MAP, VTC_NXS, VTC_DAT = "279517_1.nxs", "280772_1.nxs", "ZnO_standard_280772_1.dat"


@pytest.fixture
def window(qtbot):
    from xestools.gui.main_window import MainWindow

    main = MainWindow()
    qtbot.addWidget(main)
    yield main
    main.shutdown()


@pytest.fixture
def loaded(window, qtbot, real_file):
    window.open_paths([str(real_file(name)) for name in (VTC_NXS, VTC_DAT, MAP)])
    qtbot.waitUntil(lambda: not window.is_loading and len(window.workspace.datasets) == 3, timeout=30000)
    window.undo.flush()
    return window


def undo_text(window) -> str:
    return window.commands.undo_action.text().replace("&", "")


def comparable(window, renumber: bool = False) -> str:
    """``to_state`` without view and tool settings (no undo steps); with ``renumber`` item ids are
    replaced by list positions (a restored session numbers its items afresh)."""
    state = window.workspace.to_state()
    if renumber:
        items = state["xes_panel"]["items"]
        position = {item["uid"]: index for index, item in enumerate(items)}
        for item in items:
            item["uid"], item["inputs"] = position[item["uid"]], [position[uid] for uid in item["inputs"]]
    for key in ("normalise", "metrics", "average", "plot"):
        state["xes_panel"].pop(key)
    state["rxes"].pop("style")
    return json.dumps(state, sort_keys=True)


def test_undo_redo_of_cuts_follows_in_the_table_and_survives_view_and_channel_switch(loaded, qtbot):
    window = loaded
    table = window.rxes_panel.cut_table
    assert window.commands.undo_action.isEnabled()            # opening the files is a step too
    before = comparable(window)
    window.add_cut("CEE")
    window.undo.flush()      # two commands a person gives are further apart than SETTLE_MS
    window.add_cut("CIE")
    window.undo.flush()
    assert undo_text(window) == "Undo add CIE cut" and table.rowCount() == 2
    after = comparable(window)
    window.set_view("transfer")
    window.set_channel("upper")
    window.undo.flush()
    assert undo_text(window) == "Undo add CIE cut"          # a view or channel switch is no step
    window.commands.undo_action.trigger()
    assert table.rowCount() == 1 and window.rxes_panel.style.view == "transfer"
    window.commands.undo_action.trigger()
    assert table.rowCount() == 0 and comparable(window) == before
    assert window.commands.redo_action.text().replace("&", "") == "Redo add CEE cut"
    window.commands.redo_action.trigger()
    window.commands.redo_action.trigger()
    assert table.rowCount() == 2 and comparable(window) == after
    window.rxes_panel.remove_all_cuts()
    window.undo.flush()
    assert undo_text(window) == "Undo remove 2 cuts" and table.rowCount() == 0
    window.commands.undo_action.trigger()
    assert table.rowCount() == 2 and comparable(window) == after


def test_a_drag_is_one_step(loaded, qtbot, monkeypatch):
    from xestools.gui import undo as undo_module

    window = loaded
    window.add_cut("CEE")
    window.undo.flush()
    cuts = window.rxes_panel.document.cuts
    ident = cuts.entries()[0].ident
    start = cuts.get(ident).position
    held = [True]
    monkeypatch.setattr(undo_module, "mouse_held", lambda: held[0])
    count = window.undo.history.count
    for step in range(1, 11):
        cuts.update(ident, position=start + 0.1 * step)
        qtbot.wait(50)
    qtbot.wait(undo_module.SETTLE_MS + 300)
    assert window.undo.history.count == count               # the button is still down: no step yet
    held[0] = False
    qtbot.waitUntil(lambda: window.undo.history.count == count + 1, timeout=5000)
    assert undo_text(window) == "Undo move CEE cut"
    window.commands.undo_action.trigger()
    assert cuts.get(ident).position == start


def test_closing_a_dataset_and_xes_work_are_undone(loaded, qtbot):
    window = loaded
    xes = window.workspace.xes
    uids = [item.uid for item in xes.all_items() if item.kind is ItemKind.SCAN]
    average = window.xes_panel.average(uids)
    window.undo.flush()
    window.xes_panel.normalise(average.uid, (9630.0, 9660.0))
    window.undo.flush()
    with_items = comparable(window)
    window.select_dataset(window.workspace.dataset(next(d.key for d in window.workspace.datasets
                                                        if d.path.endswith(VTC_NXS))).key)
    window.close_current_dataset()
    window.undo.flush()
    assert undo_text(window) == f"Undo close {VTC_NXS}"
    assert window.dataset_panel.topLevelItemCount() == 2 and window.xes_panel.model.rowCount() == 3
    assert all(item.stale for item in xes.all_items() if item.kind.derived)
    window.commands.undo_action.trigger()
    assert window.dataset_panel.topLevelItemCount() == 3 and window.xes_panel.model.rowCount() == 4
    assert not any(item.stale for item in xes.all_items()) and comparable(window) == with_items
    window.xes_panel.remove([average.uid])
    window.undo.flush()
    window.commands.undo_action.trigger()
    assert xes.item(average.uid) is not None and window.xes_panel.model.rowCount() == 4
    window.commands.undo_action.trigger()       # the normalisation
    window.commands.undo_action.trigger()       # the average
    assert window.xes_panel.model.rowCount() == 2
    window.commands.redo_action.trigger()
    window.commands.redo_action.trigger()
    assert window.xes_panel.model.rowCount() == 4 and comparable(window) == with_items


def test_session_file_round_trip_with_average_and_normalisation(loaded, qtbot, tmp_path):
    from xestools.gui.common import settings as gui_settings
    from xestools.gui.main_window import MainWindow

    window = loaded
    xes = window.workspace.xes
    uids = [item.uid for item in xes.all_items() if item.kind is ItemKind.SCAN]
    average = window.xes_panel.average(uids)
    normalised = window.xes_panel.normalise(average.uid, (9630.0, 9660.0))
    window.add_cut("CEE")
    written = window.session_files.save(str(tmp_path / "ZnO beamtime"))
    assert written.name == "ZnO beamtime.xes-session"
    assert gui_settings.recent_files(gui_settings.RECENT_SESSIONS)[0] == str(written)

    other = MainWindow()
    qtbot.addWidget(other)
    try:
        other.open_paths([window.workspace.datasets[0].path])       # replaced by the session
        qtbot.waitUntil(lambda: not other.is_loading, timeout=30000)
        assert other.session_files.open(str(written), confirm=False)
        qtbot.waitUntil(lambda: not other.is_loading and other.xes_panel.model.rowCount() == 4, timeout=30000)
        restored = {item.name: item for item in other.workspace.xes.all_items()}
        assert restored[normalised.name].kind is ItemKind.NORMALISED and not other.workspace.xes.failures
        assert list(restored[normalised.name].spectrum.intensity) == pytest.approx(list(normalised.spectrum.intensity),
                                                                                    rel=1e-12)
        assert other.rxes_panel.cut_table.rowCount() == 1
        assert comparable(other, renumber=True) == comparable(window, renumber=True)
        assert not other.commands.undo_action.isEnabled()     # the session is the new starting point
        other.commands.fill_recent_menu()
        other.commands.recent_sessions_menu.aboutToShow.emit()
        assert [a.text() for a in other.commands.recent_sessions_menu.actions()][0] == str(written)
    finally:
        other.shutdown()


@pytest.mark.parametrize("content", [b"{ not json", b'{"format": "something-else", "version": 1}', b"\x89HDF\r\n\xff"])
def test_a_bad_or_foreign_session_file_is_named_and_changes_nothing(loaded, content, tmp_path):
    window = loaded
    before = comparable(window)
    path = tmp_path / "other.xes-session"
    path.write_bytes(content)
    assert window.session_files.open(str(path), confirm=False) is False
    assert window.last_errors[-1].startswith("other.xes-session") and "Nothing was changed" in window.last_errors[-1]
    assert comparable(window) == before
    window.close_messages()


def test_closing_the_map_is_undone_and_the_map_tab_shows_it_again(loaded, qtbot):
    window = loaded
    window.select_dataset(next(d.key for d in window.workspace.datasets if d.path.endswith(MAP)))
    window.add_cut("CET")
    window.undo.flush()
    window.close_current_dataset()
    window.undo.flush()
    assert window.rxes_panel.document is None and not window.commands.add_cut_actions["CEE"].isEnabled()
    window.commands.undo_action.trigger()
    assert window.rxes_panel.document is not None and window.rxes_panel.cut_table.rowCount() == 1
    assert window.commands.add_cut_actions["CEE"].isEnabled()
    assert window.rxes_panel.map_plot.rxes_map.source.endswith(MAP)
    window.commands.redo_action.trigger()
    assert window.rxes_panel.document is None


def test_a_menu_command_right_after_an_edit_is_its_own_step(loaded):
    window = loaded
    window.commands.add_cut_actions["CEE"].trigger()
    window.undo.flush()
    cuts = window.rxes_panel.document.cuts
    ident = cuts.entries()[0].ident
    cuts.update(ident, width=2.0)                      # typed in the table, then at once:
    window.commands.add_cut_actions["CIE"].trigger()
    window.undo.flush()
    assert undo_text(window) == "Undo add CIE cut"
    window.commands.undo_action.trigger()
    assert undo_text(window) == "Undo edit CEE cut" and cuts.get(ident).width == 2.0


def test_relaunch_reads_each_file_once_and_restores_derived_items(loaded, qtbot, monkeypatch):
    """Issue 13: averages and normalisations came back as "not restored (input #1 …)" when the XES tab's
    own read of the session lost the race with the window's; issue 18: the files were read twice. Now
    one restore reads each file once, then builds the derived items from those reads."""
    from collections import Counter

    import xestools.io as io
    from xestools.gui.main_window import MainWindow

    window = loaded
    uids = [item.uid for item in window.workspace.xes.all_items() if item.kind is ItemKind.SCAN]
    average = window.xes_panel.average(uids)
    window.xes_panel.normalise(average.uid, (9630.0, 9660.0))
    state = json.loads(json.dumps(window.session_state()))
    reads = Counter()
    real_load = io.load

    def counting_load(path, *args, **kwargs):
        reads[os.path.basename(os.fspath(path))] += 1
        return real_load(path, *args, **kwargs)
    monkeypatch.setattr(io, "load", counting_load)
    other = MainWindow()
    qtbot.addWidget(other)
    try:
        other.restore_session(state)
        qtbot.waitUntil(lambda: not other.is_loading and other.xes_panel.model.rowCount() == 4, timeout=30000)
        assert reads == Counter({MAP: 1, VTC_NXS: 1, VTC_DAT: 1})
        assert [i.name for i in other.workspace.xes.all_items()] == [i.name for i in window.workspace.xes.all_items()]
        assert other.workspace.xes.failures == []
        assert comparable(other, renumber=True) == comparable(window, renumber=True)
    finally:
        other.shutdown()
