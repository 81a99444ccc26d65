"""Defaults from the data, not from the last scan: tool windows follow the selected spectrum, the file
named on the command line is shown, save dialogs start beside the data (never in a read-only folder),
Open folder looks into subfolders, the metrics table says what each row was computed on."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from xestools.gui.common import save_target

#: the synthetic Kα + Kβ scan (upper channel 8608–8647.5 eV) of the samples
KALPHA = "990102_1.nxs"


def finite_range(spectrum) -> tuple[float, float]:
    energy = np.asarray(spectrum.energy, dtype=float)
    energy = energy[np.isfinite(energy)]
    return round(float(energy.min()), 2), round(float(energy.max()), 2)


# ---------------------------------------------------------------------- windows from the selected data
def test_windows_follow_the_selected_spectrum_unless_they_overlap_it(make_window, qtbot, real_file, samples_dir):
    window = make_window()
    window.open_paths([str(samples_dir / KALPHA)])
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
    window.open_paths([str(real_file("280772_1.nxs"))])
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
    panel = window.xes_panel
    first_item, vtc = panel.workspace.all_items()
    tools = panel.workspace.settings.tools
    assert tools.normalise_window == finite_range(first_item.spectrum), "the first data gave the windows"
    vtc_range = finite_range(vtc.spectrum)
    assert vtc_range[0] > tools.normalise_window[1] and vtc_range[0] > tools.metrics_window[1]
    panel.select_uids([vtc.uid])
    tools = panel.workspace.settings.tools
    assert tools.normalise_window == vtc_range and tools.metrics_window == vtc_range
    assert (panel.tools.window_lo_spin.value(), panel.tools.window_hi_spin.value()) == pytest.approx(vtc_range)
    # a window the user put on these data stays where it is when they are selected again
    user_window = (vtc_range[0] + 10.0, vtc_range[0] + 20.0)
    panel.workspace.update_tools(normalise_window=user_window)
    panel.select_uids([])
    panel.select_uids([vtc.uid])
    assert panel.workspace.settings.tools.normalise_window == user_window
    panel.select_uids([first_item.uid])     # ... and moves to other data it misses
    assert panel.workspace.settings.tools.normalise_window == finite_range(first_item.spectrum)


def test_metrics_table_shows_what_each_row_was_computed_on(make_window, qtbot, real_file):
    window = make_window()
    window.open_paths([str(real_file("280772_1.nxs"))])
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
    panel = window.xes_panel
    (item,) = panel.workspace.all_items()
    panel.compute_metrics([item.uid])
    table = panel.tools.metrics_table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    on, window_column = headers.index("Computed on"), headers.index("Window (eV)")
    lo, hi = finite_range(item.spectrum)
    assert table.item(0, on).text() == panel.workspace.metrics_rows[0].computed_on
    assert table.item(0, on).text().startswith("raw")
    assert table.item(0, window_column).text() == f"{lo:.2f}–{hi:.2f}"


# ---------------------------------------------------------------------- the command-line file is shown
def test_a_file_named_after_a_restore_is_the_one_shown(make_window, qtbot, real_file, monkeypatch):
    """Start-up: the session's files and the command line's file are read by two tasks; whichever
    finishes last, the named file is the one shown."""
    from xestools.gui.loader import Loader
    from xestools.workspace.datasets import load_files

    restored_map, named_map = str(real_file("279517_1.nxs")), str(real_file("XES_ZnZSM5_air500_279192_1.dat"))
    first = make_window()
    first.open_paths([restored_map, str(real_file("280772_1.nxs"))])
    qtbot.waitUntil(lambda: not first.is_loading, timeout=60000)
    first.select_dataset(os.path.abspath(restored_map))
    state = first.session_state()
    for named_first in (True, False):
        window = make_window()
        session_reads, opens = [], []
        monkeypatch.setattr(Loader, "read", lambda _loader, paths, deliver: session_reads.append((paths, deliver)))
        monkeypatch.setattr(Loader, "open", lambda _loader, paths: opens.append(list(paths)) or True)
        window.restore_session(state)
        window.open_paths([named_map])
        ((paths, deliver),), (named,) = session_reads, opens
        steps = [lambda: window._on_loaded(load_files(named)), lambda: deliver(load_files(paths))]
        for step in steps if named_first else steps[::-1]:
            step()
        qtbot.waitUntil(lambda: not window.workspace.is_restoring, timeout=30000)   # applied a slice per turn
        assert len(window.datasets) == 3
        assert window.workspace.current_key == os.path.abspath(named_map), named_first
        assert window.rxes_panel.document.dataset.key == os.path.abspath(named_map), named_first
        monkeypatch.undo()
    again = make_window()                  # a session alone shows its own current map
    again.restore_session(state)
    qtbot.waitUntil(lambda: not again.is_loading and len(again.datasets) == 2, timeout=60000)
    assert again.rxes_panel.document.dataset.key == os.path.abspath(restored_map)


# ---------------------------------------------------------------------- save dialogs
@pytest.fixture
def visit(tmp_path, monkeypatch):
    """A Diamond visit: read-only raw data beside a writable processing folder."""
    visit = tmp_path / "sp41335-1"
    (visit / "processing").mkdir(parents=True)
    data = visit / "279517_1.nxs"
    data.write_bytes(b"")
    read_only = {str(visit), str(data)}
    real_access = os.access
    # the test may run as root, for whom every folder is writable: the read-only visit is simulated
    monkeypatch.setattr(os, "access", lambda path, mode: (str(path) not in read_only or not mode & os.W_OK)
                        and real_access(path, mode))
    monkeypatch.setenv("XESTOOLS_SETTINGS_FILE", str(tmp_path / "settings.ini"))
    return visit


def test_save_dialogs_start_beside_the_data_never_in_a_read_only_folder(visit, tmp_path):
    home = tmp_path / "home"
    data = visit / "279517_1.nxs"
    assert save_target.start_folder("", data, home) == str(visit / "processing")
    shutil.rmtree(visit / "processing")
    assert save_target.start_folder("", data, home) == str(home), "not the read-only data folder"
    written = tmp_path / "results"
    written.mkdir()
    assert save_target.start_folder(str(written), data, home) == str(written)
    assert save_target.start_folder(str(tmp_path / "gone"), None, home) == str(home)
    nested = visit / "raw"
    nested.mkdir()
    (visit / "processing").mkdir()
    assert save_target.start_folder("", nested / "1.nxs", home) == str(visit / "processing")


def test_a_read_only_target_is_refused_before_anything_is_computed(visit, qtbot, monkeypatch):
    from xestools.gui.rxes import export
    from xestools.gui.rxes.rxes_panel import RxesPanel

    asked, warned, computed = [], [], []
    target = str(visit / "profiles.csv")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _p, _t, start, _f: asked.append(start) or (target, ""))
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warned.append(text))
    monkeypatch.setattr(export, "export_profiles", lambda *args: computed.append(args) or [])
    panel = RxesPanel()
    qtbot.addWidget(panel)
    monkeypatch.setattr(panel, "cut_results", lambda: [object()])
    export.profiles_dialog(None, panel, lambda _text: None)
    assert computed == [] and len(warned) == 1 and str(visit) in warned[0] and "read-only" in warned[0]
    assert save_target.refusal(visit / "processing" / "x.csv") == ""
    assert "does not exist" in save_target.refusal(visit / "nowhere" / "x.csv")


def test_the_folder_written_to_is_where_the_next_save_starts(visit, monkeypatch):
    chosen = str(visit / "processing" / "map.nxs")
    starts = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _p, _t, start, _f: starts.append(start) or (chosen, ""))
    assert save_target.ask_save_path(None, "Export", "a.csv", "CSV (*.csv)") == chosen
    save_target.ask_save_path(None, "Export", "b.csv", "CSV (*.csv)")
    assert Path(starts[1]).parent == visit / "processing"


# ---------------------------------------------------------------------- open folder
def test_open_folder_looks_into_subfolders(make_window, qtbot, tmp_path, real_file):
    top = tmp_path / "data"
    for sub, name in (("2025-10-10", "279517_1.nxs"), ("2025-10-11", "280772_1.nxs")):
        (top / sub).mkdir(parents=True)
        shutil.copy(real_file(name), top / sub / name)
    deep = tmp_path / "deep" / "a" / "b"
    deep.mkdir(parents=True)
    shutil.copy(real_file("280754_1.nxs"), deep / "280754_1.nxs")
    window = make_window()
    window.open_folder(str(top))
    assert "opening 2 found in 2 of its subfolders" in window.status_label.text()   # while they are read
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
    assert window.last_errors == [] and len(window.datasets) == 2
    window.open_folder(str(tmp_path / "deep"))
    assert "opening 1 found in 1 of its subfolders at any depth" in window.status_label.text()
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
    assert window.last_errors == [] and len(window.datasets) == 3
