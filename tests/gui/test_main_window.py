"""MainWindow: opening real files on the pool, bad files, channel/view, session round trip, rendering."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from xestools.gui.main_window import MainWindow


@pytest.fixture
def window(make_window):
    return make_window(1300, 850)


def open_and_wait(window, qtbot, paths) -> None:
    window.open_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: not window.is_loading, timeout=30000)


def image_variance(widget) -> float:
    image = widget.grab().toImage()
    values = [image.pixelColor(x, y).value() for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)]
    return float(np.std(values))


def test_empty_window_shows_hint_and_real_menus(window):
    panel = window.rxes_panel
    assert panel.stack.currentIndex() == 0
    assert "Open sample data" in panel.hint.text()
    menus = [action.text().replace("&", "") for action in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Analysis", "Help"]
    for menu_action in window.menuBar().actions():
        for action in menu_action.menu().actions():
            assert action.isSeparator() or action.text(), "no empty placeholder actions"
    assert window.commands.open_action.shortcut().toString() == "Ctrl+O"
    assert window.commands.quit_action.shortcut().toString() == "Ctrl+Q"
    assert not window.commands.add_cut_actions["CEE"].isEnabled()


def test_keyboard_mnemonics_are_unique_in_every_menu(window):
    """Alt+letter must reach one entry: two entries of one menu never share their underlined letter."""
    def check(menu, where):
        letters = {}
        for action in menu.actions():
            text = action.text().replace("&&", "")
            if "&" in text:
                letter = text[text.index("&") + 1].lower()
                assert letter not in letters, f"{where}: {letters.get(letter)!r} and {text!r} share Alt+{letter}"
                letters[letter] = text
            if action.menu() is not None:
                check(action.menu(), f"{where} → {text.replace('&', '')}")

    check(window.menuBar(), "menu bar")
    for menu_action in window.menuBar().actions():
        check(menu_action.menu(), menu_action.text().replace("&", ""))


@pytest.mark.parametrize("name", ["279517_1.nxs", "XES_ZnZSM5_air500_279192_1.dat"])
def test_open_real_map_switch_view_and_render(window, qtbot, real_file, name, tmp_path):
    open_and_wait(window, qtbot, [real_file(name)])
    panel = window.rxes_panel
    assert panel.document is not None and window.last_errors == []
    assert window.dataset_panel.topLevelItemCount() == 1
    metadata = window.metadata_panel.as_dict()
    assert metadata.get("Sample") and metadata.get("Scan size")
    assert window.commands.upper_action.isEnabled() and not window.commands.lower_action.isEnabled()
    for kind in ("CIE", "CEE", "CET"):
        window.commands.add_cut_actions[kind].trigger()
    window.commands.transfer_view_action.trigger()
    assert panel.style.view == "transfer"
    assert len(panel.cut_results()) == 3
    assert image_variance(window) > 10
    window.grab().save(str(tmp_path / "window.png"))
    window.commands.incident_view_action.trigger()
    assert panel.style.view == "incident"


def test_bad_file_gives_named_message_and_window_stays_usable(window, qtbot, real_file, tmp_path):
    bad = tmp_path / "broken_scan.nxs"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 50)
    open_and_wait(window, qtbot, [real_file("279517_1.nxs")])
    state_before = window.rxes_panel.document.cuts.to_state(), window.rxes_panel.document.dataset.path
    open_and_wait(window, qtbot, [bad])
    assert window.last_errors and "broken_scan.nxs" in window.last_errors[-1]
    assert "broken_scan.nxs" in window.status_label.text()
    assert (window.rxes_panel.document.cuts.to_state(), window.rxes_panel.document.dataset.path) == state_before
    assert len(window.datasets) == 1
    window.rxes_panel.add_cut("CEE", 8638.9, 1.0)
    assert len(window.rxes_panel.cut_results()) == 1
    window.close_messages()


def test_session_round_trip_keeps_channel_view_and_cuts(window, qtbot, real_file, tmp_path, monkeypatch):
    open_and_wait(window, qtbot, [real_file("XES_ZnZSM5_air500_279192_1.dat")])
    panel = window.rxes_panel
    panel.add_cut("CEE", 8638.9, 1.0)
    panel.add_cut("CET", 1021.5, 0.5, mean=True)
    window.set_view("transfer")
    state = window.session_state()
    text = json.dumps(state)  # JSON-serialisable
    window.shutdown()

    other = MainWindow()
    qtbot.addWidget(other)
    try:
        other.restore_session(json.loads(text))
        qtbot.waitUntil(lambda: not other.is_loading and other.rxes_panel.document is not None, timeout=30000)
        restored = other.rxes_panel
        assert restored.style.view == "transfer"
        cuts = [(c["kind"], c["position"], c["width"], c["mean"]) for c in restored.document.cuts.to_state()]
        assert cuts == [("CEE", 8638.9, 1.0, False), ("CET", 1021.5, 0.5, True)]
        assert len(restored.cut_results()) == 2
        other.restore_session({"unknown": 1, "files": [{"path": str(tmp_path / "gone.nxs")}], "rxes": None})
        assert any("gone.nxs" in e for e in other.last_errors)
    finally:
        other.shutdown()


def test_xes_file_goes_to_xes_tab_and_is_a_reference(window, qtbot, samples_dir):
    path = samples_dir / "990110_1.nxs"
    if not path.is_file():
        pytest.fail(f"sample file {path} missing (python -m xestools.samples)")
    open_and_wait(window, qtbot, [path])
    assert window.rxes_panel.document is None
    assert [label for label, _ in window.reference_spectra()]
    if window.xes_panel is not None:
        assert window.tabs.currentWidget() is window.xes_panel


def test_drop_files_opens_them(window, qtbot, real_file, tmp_path):
    copy = tmp_path / "dropped.dat"
    shutil.copy(real_file("XES_ZnZSM5_air500_279192_1.dat"), copy)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copy))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: not window.is_loading and window.rxes_panel.document is not None, timeout=30000)
    from xestools.gui.common import settings

    assert str(copy) in settings.recent_files()


def test_open_sample_data(window, qtbot):
    window.open_sample_data()
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
    assert window.rxes_panel.document is not None
    assert len(window.datasets) >= 2


def test_shutdown_is_idempotent_and_closes_canvases(window):
    window.shutdown()
    window.shutdown()
    assert window.rxes_panel.map_canvas.is_closed and window.rxes_panel.profile_canvas.is_closed


def test_worker_result_is_delivered_even_when_the_job_finishes_before_connect(qtbot):
    """A job that is done before the caller connects must still deliver (the pool re-emits on the GUI thread)."""
    import time

    from xestools.gui.common import workers

    results, progress = [], []

    def job(value, report_progress=None):
        report_progress(1, 1)
        return value * 2

    for value in range(20):
        task = workers.submit(job, value)
        time.sleep(0.002)  # let the worker finish first
        task.finished.connect(results.append)
        task.progress.connect(lambda done, total: progress.append((done, total)))
    failing = workers.submit(int, "not a number")
    time.sleep(0.01)
    errors = []
    failing.failed.connect(errors.append)
    qtbot.waitUntil(lambda: len(results) == 20 and bool(errors), timeout=5000)
    assert sorted(results) == [2 * v for v in range(20)]
    assert progress and isinstance(errors[0], ValueError)


def test_session_restores_map_normalisation(window, qtbot, samples_dir):
    map_path, reference_path = samples_dir / "990101_1.nxs", samples_dir / "990102_1.nxs"
    open_and_wait(window, qtbot, [map_path, reference_path])
    panel = window.rxes_panel
    references = [s for _, s in window.reference_spectra() if s.channel is not None and s.channel.value == "upper"]
    panel.normalise(references[0], (8625.0, 8645.0))
    factor = panel.map_plot.rxes_map.metadata["normalisation"]["factor"]
    state = json.loads(json.dumps(window.session_state()))
    window.shutdown()
    other = MainWindow()
    qtbot.addWidget(other)
    try:
        other.restore_session(state)
        qtbot.waitUntil(lambda: not other.is_loading and other.rxes_panel.document is not None
                        and other.rxes_panel.document.normalisation is not None, timeout=30000)
        restored = other.rxes_panel.map_plot.rxes_map.metadata["normalisation"]
        assert restored["factor"] == pytest.approx(factor)
        assert "area of" in other.rxes_panel.map_plot.colorbar.ax.get_ylabel()
    finally:
        other.shutdown()


def test_recent_files_and_last_folder_persist(tmp_path, monkeypatch):
    from xestools.gui.common import settings

    monkeypatch.setenv("XESTOOLS_SETTINGS_FILE", str(tmp_path / "settings.ini"))
    for index in range(settings.MAX_RECENT + 3):
        settings.add_recent_file(str(tmp_path / f"scan_{index}.nxs"))
    settings.add_recent_file(str(tmp_path / "scan_5.nxs"))
    files = settings.recent_files()
    assert len(files) == settings.MAX_RECENT
    assert files[0].endswith("scan_5.nxs") and files.count(files[0]) == 1
    settings.set_last_folder(str(tmp_path))
    assert settings.last_folder("/nowhere") == str(tmp_path)
    settings.set_last_folder(str(tmp_path / "deleted"))
    assert settings.last_folder("/fallback") == "/fallback"


def test_opened_map_is_offered_to_the_xes_tab_for_slices(window, qtbot, real_file):
    """A map opened in the main window can be sliced to a 1D XES at a chosen Ω in the XES tab."""
    from xestools.analysis import xes_at_incident

    open_and_wait(window, qtbot, [real_file("279517_1.nxs")])
    xes = window.xes_panel
    assert len(xes.workspace.maps) == 1
    item = xes.add_map_slice(0, 9660.0)
    expected = xes_at_incident(window.rxes_panel.document.raw_map(), 9660.0)
    np.testing.assert_allclose(item.spectrum.intensity, expected.intensity, equal_nan=True)
    open_and_wait(window, qtbot, [real_file("279517_1.nxs")])
    assert len(xes.workspace.maps) == 1, "reopening the same map does not add it twice"


def test_closing_a_dataset_removes_it_from_the_xes_tab(window, qtbot, real_file, samples_dir):
    """Close → the file's scans, its map (offered for Ω slices) and slices taken from it leave the XES tab."""
    xes_path = samples_dir / "990110_1.nxs"
    if not xes_path.is_file():
        pytest.fail(f"sample file {xes_path} missing (python -m xestools.samples)")
    map_path = real_file("279517_1.nxs")
    open_and_wait(window, qtbot, [xes_path, map_path])
    xes = window.xes_panel
    assert len(xes.workspace.maps) == 1
    xes.add_map_slice(0, 9660.0)

    def sources():
        return {os.path.abspath(item.source_path or item.spectrum.source) for item in xes.workspace.all_items()}

    assert os.path.abspath(str(xes_path)) in sources()
    window.select_dataset(window.rxes_panel.document.dataset.key)
    window.close_current_dataset()
    assert xes.workspace.maps == []
    assert os.path.abspath(str(map_path)) not in sources(), "the map's Ω slice left with the map"
    assert os.path.abspath(str(xes_path)) in sources(), "the other file's scans stay"
    window.select_dataset(window.datasets[0].key)
    window.close_current_dataset()
    assert xes.workspace.all_items() == []
    assert window.dataset_panel.topLevelItemCount() == 0


def test_view_and_channel_actions_follow_the_panel_controls(window, qtbot, real_file):
    """Switching the view in the RXES tab's own combo box updates the View menu/toolbar check marks."""
    open_and_wait(window, qtbot, [real_file("279517_1.nxs")])
    panel = window.rxes_panel
    panel.controls.view_combo.setCurrentIndex(panel.controls.view_combo.findData("transfer"))
    assert panel.style.view == "transfer"
    assert window.commands.transfer_view_action.isChecked() and not window.commands.incident_view_action.isChecked()
    panel.controls.view_combo.setCurrentIndex(panel.controls.view_combo.findData("incident"))
    assert window.commands.incident_view_action.isChecked() and not window.commands.transfer_view_action.isChecked()
    from dataclasses import replace

    panel.set_style(replace(panel.style, view="transfer", scale="log"))    # as a restored session does
    assert window.commands.transfer_view_action.isChecked()


def test_metadata_times_are_readable():
    from xestools.gui.metadata_panel import readable_time

    assert readable_time("2025-10-10T08:43:21.272+01") == "2025-10-10 08:43:21 +01:00"
    assert readable_time("2025-10-10T08:43:21") == "2025-10-10 08:43:21"
    assert readable_time("Wed, 8 Oct 2025 17:04:54 BST") == "2025-10-08 17:04:54 +01:00"
    assert readable_time("not a time") == "not a time"
    assert readable_time(None) == ""


def test_window_fits_a_laptop_screen(window):
    """Every panel's controls must leave the window usable on a 1366 × 768 screen."""
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768, hint
