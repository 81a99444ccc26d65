"""The GUI's file entry points: dialog start folder and filter, File → Open folder…, Open sample data."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from xestools.gui import file_entry
from xestools.gui.common import settings as gui_settings
from xestools.gui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XESTOOLS_SETTINGS_FILE", str(tmp_path / "settings.ini"))
    win = MainWindow()
    qtbot.addWidget(win)
    yield win
    win.shutdown()


def wait_loaded(window, qtbot) -> None:
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)


def test_open_dialog_starts_in_the_current_folder_then_the_last_used(window, qtbot, monkeypatch, tmp_path,
                                                                    samples_dir):
    asked = []

    def fake_dialog(parent, title, folder, file_filter):
        asked.append((folder, file_filter))
        return [str(samples_dir / "990110_1.nxs")], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(fake_dialog))
    monkeypatch.chdir(tmp_path)
    window.commands.open_action.trigger()
    wait_loaded(window, qtbot)
    assert Path(asked[0][0]) == tmp_path, "no folder used yet: the current folder"
    for extension in (".nxs", ".nx5", ".h5", ".hdf5", ".dat", ".txt", ".csv", ".xy"):
        assert f"*{extension}" in asked[0][1].split(";;")[0], f"the first filter covers {extension}"
    assert [os.path.basename(d.path) for d in window.datasets] == ["990110_1.nxs"]
    window.commands.open_action.trigger()
    wait_loaded(window, qtbot)
    assert Path(asked[1][0]) == samples_dir, "the folder of the files opened last"
    gui_settings.set_last_folder(str(tmp_path / "removed since"))
    assert Path(file_entry.dialog_folder()) == tmp_path, "a folder that no longer exists falls back to the current one"


def test_the_main_window_has_no_filter_of_its_own():
    import xestools.gui.main_window as main_window

    source = Path(main_window.__file__).read_text(encoding="utf-8")
    assert "*.nxs" not in source and "data_samples" not in source


def test_open_folder_opens_every_scan_and_lists_each_bad_file_once(window, qtbot, monkeypatch, tmp_path,
                                                                   samples_dir):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    for name in ("990101_1.nxs", "990110_1.nxs", "ZnO_synthetic_990110_1.dat"):
        shutil.copy(samples_dir / name, folder / name)
    (folder / "broken_1.nxs").write_bytes(b"not an HDF5 file")
    (folder / "notes_1.dat").write_text("# only a comment\n", encoding="utf-8")
    (folder / "medipix1-990101.hdf").write_bytes(b"raw detector frames")
    (folder / "logbook.pdf").write_bytes(b"%PDF")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args: str(folder)))
    window.commands.open_folder_action.trigger()
    wait_loaded(window, qtbot)
    opened = sorted(os.path.basename(d.path) for d in window.datasets)
    assert opened == ["990101_1.nxs", "990110_1.nxs", "ZnO_synthetic_990110_1.dat"]
    assert window.rxes_panel.document is not None
    assert len(window.last_errors) == 1, "one message for the whole folder"
    message = window.last_errors[0]
    assert message.startswith("2 of 5 files could not be opened")
    assert message.count("broken_1.nxs") == 1 and message.count("notes_1.dat") == 1
    assert "medipix1" not in message and "logbook" not in message
    assert gui_settings.last_folder("") == str(folder)


def test_open_folder_without_scans_says_so(window, tmp_path):
    (tmp_path / "readme.pdf").write_bytes(b"%PDF")
    window.open_folder(str(tmp_path))
    assert len(window.last_errors) == 1 and str(tmp_path) in window.last_errors[0]
    assert "No scan files" in window.last_errors[0]
    assert window.datasets == [] and not window.is_loading


def test_open_sample_data_uses_the_user_data_folder(window, qtbot, monkeypatch, tmp_path):
    """An installed copy has no data_samples/: the samples are written to the per-user data folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data home"))
    window.commands.open_samples_action.trigger()
    wait_loaded(window, qtbot)
    expected = (tmp_path / "data home" / "xestools" / "samples").resolve()
    folders = {Path(d.path).resolve().parent for d in window.datasets}
    assert folders == {expected}
    from xestools.samples import sample_names

    assert sorted(os.path.basename(d.path) for d in window.datasets) == sorted(n for n in sample_names() if n != "README.md")
    assert window.rxes_panel.document is not None and window.last_errors == []


def test_open_sample_data_where_the_folder_cannot_be_written(window, monkeypatch, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("in the way", encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    window.open_sample_data()
    assert len(window.last_errors) == 1 and "Cannot write the sample data" in window.last_errors[0]
    assert window.datasets == []
