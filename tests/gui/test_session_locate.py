"""A session whose data moved: reopened from another folder, File → Locate missing files…, and the
autosaved sessions offered under File → Open recent session (real files, main window)."""
from __future__ import annotations

import os
import shutil

MAP = "279517_1.nxs"


def _cuts(window) -> list[str]:
    return [document.get("cuts") for document in window.workspace.to_state()["rxes"].get("documents", [])]


def _saved_with_a_cut(make_window, qtbot, map_path, session_path):
    window = make_window()
    window.open_paths([os.path.relpath(map_path)])
    qtbot.waitUntil(lambda: not window.is_loading and len(window.workspace.datasets) == 1, timeout=30000)
    window.add_cut("CEE")
    written = window.session_files.save(str(session_path))
    window.shutdown()
    return written


def test_a_session_reopens_from_another_folder_and_a_moved_folder_is_located(make_window, qtbot, tmp_path,
                                                                             monkeypatch, real_file):
    data = tmp_path / "mnt" / "beamtime" / "maps"
    data.mkdir(parents=True)
    shutil.copy(real_file(MAP), data / MAP)
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")          # the map is opened as ../mnt/beamtime/maps/…
    (tmp_path / "sessions").mkdir()
    written = _saved_with_a_cut(make_window, qtbot, data / MAP, tmp_path / "sessions" / "ZnO")

    monkeypatch.chdir(tmp_path)                      # another working folder
    window = make_window()
    assert window.session_files.open(str(written), confirm=False)
    qtbot.waitUntil(lambda: not window.is_loading and len(window.workspace.datasets) == 1, timeout=30000)
    assert window.rxes_panel.cut_table.rowCount() == 1 and not window.last_errors

    shutil.move(tmp_path / "mnt" / "beamtime", tmp_path / "laptop-copy")     # the data folder moved
    shutil.rmtree(tmp_path / "mnt")
    other = make_window()
    assert other.session_files.open(str(written), confirm=False)
    qtbot.waitUntil(lambda: not other.is_loading, timeout=30000)
    assert not other.workspace.datasets and "no longer exist" in other.last_errors[-1]
    assert other.session_files.locate_missing(str(tmp_path / "laptop-copy"), confirm=False) == (1, 0)
    qtbot.waitUntil(lambda: not other.is_loading and len(other.workspace.datasets) == 1, timeout=30000)
    assert other.workspace.datasets[0].path == str(tmp_path / "laptop-copy" / "maps" / MAP)
    assert other.rxes_panel.cut_table.rowCount() == 1


def test_open_recent_session_offers_the_autosaved_history(make_window, tmp_path, monkeypatch):
    from xestools.runtime.autosave import history_for
    from xestools.session import SessionStore

    session_file = tmp_path / "state" / "session.json"
    monkeypatch.setenv("XESTOOLS_SESSION_FILE", str(session_file))
    store = SessionStore(session_file, history_for(session_file))
    store.save({"main_window": {"files": [{"path": f"/data/{k}.nxs"} for k in range(16)]}})
    window = make_window()
    window.commands.recent_sessions_menu.aboutToShow.emit()
    actions = window.commands.recent_sessions_menu.actions()
    texts = [action.text() for action in actions]
    assert "Restore previous session (autosaved):" in texts
    assert texts[-1].endswith(" — 16 files")
    actions[-1].trigger()                                   # restores it (its files are gone: said so)
    assert "/data/15.nxs" in window.last_errors[-1] and "no longer exist" in window.last_errors[-1]
    from xestools.gui.common import settings as gui_settings

    assert not gui_settings.recent_files(gui_settings.RECENT_SESSIONS), "the history is listed apart"
