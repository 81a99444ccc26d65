"""Following growing scans in the window: a replayer writes in a child process, the window follows.

Checks behaviour only (no timings): the final state equals opening the finished file, cuts, zoom and
manual colour limits survive every update, no error dialog or error log for half-written rows, and a
watched folder picks up a new scan.
"""
from __future__ import annotations

import functools

import logging
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from xestools.io import load

WAIT_MS = 240_000
MAP_NXS = "279517_1.nxs"
MAP_DAT = "XES_ZnZSM5_air500_279192_1.dat"
XES_NXS = "279496_1.nxs"
XES_DAT = "ZnO_standard_280754_1.dat"


@pytest.fixture
def window(make_window, monkeypatch):
    monkeypatch.setenv("XESTOOLS_POLL_INTERVAL", "0.05")
    return make_window(1366, 768)


@pytest.fixture
def replay(replay_process):
    """The replayer at the window tests' default rate (see ``replay_process`` in tests/conftest.py)."""
    return functools.partial(replay_process, rate=150)


def _wait_for_points(path: Path, timeout: float = 120.0) -> None:
    """Until the replayer has written the header and a few points (the file looks in progress)."""
    from xestools.live import Follower

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            probe = Follower(path)
            if probe.poll().progress.measured >= 3:
                return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not get its first points")


def _loud_records(caplog):
    return [r.getMessage() for r in caplog.records if r.name.startswith("xestools") and r.levelno >= logging.WARNING]


def _same_arrays(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@pytest.mark.parametrize("name,options", [(MAP_NXS, ["--swmr"]), (MAP_NXS, ["--extendable"]), (MAP_NXS, []),
                                          (MAP_DAT, ["--split-rows"])],
                         ids=["nxs-swmr", "nxs-extendable", "nxs-filled", "dat-split-rows"])
def test_follow_replayed_real_map_to_the_end(window, qtbot, real_file, tmp_path, replay, caplog, name, options):
    caplog.set_level(logging.DEBUG, logger="xestools")
    src = real_file(name)
    dest = tmp_path / name
    process = replay(src, dest, *options)
    _wait_for_points(dest)
    window.open_paths([str(dest)])                      # File → Open while the scan is written
    key = os.path.abspath(dest)
    qtbot.waitUntil(lambda: window.workspace.dataset(key) is not None, timeout=WAIT_MS)
    live, panel = window.live.live, window.rxes_panel
    bar = window.live.bar
    assert live.is_following(key) and bar.follow_box.isChecked() and bar.follow_box.isVisibleTo(window)
    assert bar.progress_label.text().startswith("in progress — ")
    first = panel.document.display_map()
    assert np.isnan(first.intensity).any(), "the points not yet measured are blank"
    # the user's state: a cut of each kind, a zoom, manual colour limits
    idents = [panel.add_cut(kind) for kind in ("CIE", "CEE")]
    positions = {i: (panel.document.cuts.get(i).position, panel.document.cuts.get(i).width) for i in idents}
    (x0, x1), (y0, y1) = panel.map_ax.get_xlim(), panel.map_ax.get_ylim()
    zoom = ((x0 + (x1 - x0) * 0.2, x1 - (x1 - x0) * 0.3), (y0 + (y1 - y0) * 0.1, y1 - (y1 - y0) * 0.2))
    panel.map_ax.set_xlim(*zoom[0])
    panel.map_ax.set_ylim(*zoom[1])
    window.workspace.maps.set_style(replace(window.workspace.maps.style, limits="manual", vmin=0.0, vmax=1e-3))
    seen, lost = [], []

    def on_update(changed_key):
        if changed_key != key:
            return
        seen.append(live.progress(key).measured)
        if not np.allclose((*panel.map_ax.get_xlim(), *panel.map_ax.get_ylim()), (*zoom[0], *zoom[1])):
            lost.append(("zoom", seen[-1]))
        if {i: (panel.document.cuts.get(i).position, panel.document.cuts.get(i).width) for i in idents} != positions:
            lost.append(("cuts", seen[-1]))
        if panel.map_view.colour_range() != (0.0, 1e-3):
            lost.append(("colour limits", seen[-1]))

    live.data_updated.connect(on_update)
    qtbot.waitUntil(lambda: not live.is_following(key), timeout=WAIT_MS)
    on_update(key)
    assert lost == []
    assert process.wait(timeout=60) == 0
    assert len(seen) >= 2 and seen == sorted(seen)
    assert live.progress(key).complete and not bar.follow_box.isChecked()
    assert bar.progress_label.text().startswith("complete — ")
    finished = load(src)[0]
    shown = panel.document.display_map()
    assert _same_arrays(shown.intensity, finished.intensity) and _same_arrays(shown.mask, finished.mask)
    assert _same_arrays(shown.incident, finished.incident) and _same_arrays(shown.emission, finished.emission)
    # the cut profiles equal the cuts of the finished map, computed independently of the panel
    from xestools.analysis import View, cut

    for ident, result in zip(idents, [r for _e, r in panel.cut_results()]):
        expected = cut(finished, panel.document.cuts.get(ident).spec(), View("incident"))
        np.testing.assert_allclose(result.intensity, expected.intensity, rtol=1e-12)   # summation order
    assert window.last_errors == [] and _loud_records(caplog) == []


@pytest.mark.parametrize("name", [XES_NXS, XES_DAT])
def test_follow_replayed_real_xes_to_the_end(window, qtbot, real_file, tmp_path, replay, caplog, name):
    caplog.set_level(logging.DEBUG, logger="xestools")
    src = real_file(name)
    dest = tmp_path / name
    process = replay(src, dest, *(["--swmr"] if name.endswith(".nxs") else ["--split-rows"]))
    _wait_for_points(dest)
    window.open_paths([str(dest)])
    key = os.path.abspath(dest)
    qtbot.waitUntil(lambda: window.workspace.dataset(key) is not None, timeout=WAIT_MS)
    live, items = window.live.live, window.workspace.xes.items
    (item,) = [i for i in items.items if os.path.abspath(i.source_path) == key]
    uid, rows = item.uid, len(items)
    view = window.xes_panel.view
    energy = item.spectrum.energy
    zoom = (float(np.nanmin(energy)) + 1.0, float(np.nanmin(energy)) + 3.0)
    view.axes.set_xlim(*zoom)                         # the user zoomed in the XES overlay
    qtbot.waitUntil(lambda: not live.is_following(key), timeout=WAIT_MS)
    assert np.allclose(view.limits()[0], zoom)
    assert process.wait(timeout=60) == 0
    assert len(items) == rows and items.item(uid) is item, "the XES row is updated in place"
    finished = {s.channel: s for s in load(src)}
    assert set(item.channels) == set(finished)
    for channel, spectrum in finished.items():
        assert _same_arrays(item.channels[channel].energy, spectrum.energy)
        assert _same_arrays(item.channels[channel].intensity, spectrum.intensity)
    assert item.spectrum is item.channels[item.channel]
    assert window.last_errors == [] and _loud_records(caplog) == []


def test_follow_toggle_stops_and_restarts(window, qtbot, real_file, tmp_path, replay):
    dest = tmp_path / MAP_NXS
    process = replay(real_file(MAP_NXS), dest, "--swmr", rate=60)
    _wait_for_points(dest)
    window.open_paths([str(dest)])
    key = os.path.abspath(dest)
    qtbot.waitUntil(lambda: window.workspace.dataset(key) is not None, timeout=WAIT_MS)
    bar, live = window.live.bar, window.live.live
    bar.follow_box.setChecked(False)                  # the user switches Follow off
    assert not live.is_following(key) and "stopped by the user" in bar.progress_label.text()
    stopped_at = live.progress(key).measured
    qtbot.wait(500)
    assert live.progress(key).measured == stopped_at
    bar.follow_box.setChecked(True)
    qtbot.waitUntil(lambda: not live.is_following(key), timeout=WAIT_MS)
    assert process.wait(timeout=60) == 0
    assert live.progress(key).complete
    assert _same_arrays(window.rxes_panel.document.display_map().intensity, load(real_file(MAP_NXS))[0].intensity)


def test_watch_folder_lists_old_scans_and_follows_a_new_one(window, qtbot, real_file, tmp_path, replay):
    folder = tmp_path / "visit"
    folder.mkdir()
    for name in ("280754_1.nxs", "280772_1.nxs", "ZnO_standard_280772_1.dat"):
        shutil.copy(real_file(name), folder / name)
    window.watch_folder(str(folder))
    bar = window.live.bar
    qtbot.waitUntil(lambda: bar.entry_list.count() == 2, timeout=WAIT_MS)   # .nxs + .dat of one scan: one entry
    qtbot.waitUntil(lambda: len(window.workspace.datasets) == 1, timeout=WAIT_MS)   # only the newest is opened
    assert "Watching" in bar.folder_label.text()
    process = replay(real_file(MAP_NXS), folder / MAP_NXS, "--swmr", rate=200)
    key = os.path.abspath(folder / MAP_NXS)
    qtbot.waitUntil(lambda: window.workspace.dataset(key) is not None, timeout=WAIT_MS)
    assert bar.entry_list.count() == 3 and bar.entry_list.item(0).text() == MAP_NXS
    assert window.workspace.current_key == key and window.live.live.is_following(key)
    qtbot.waitUntil(lambda: not window.live.live.is_following(key), timeout=WAIT_MS)
    assert process.wait(timeout=60) == 0
    # an older scan is loaded only when chosen
    older = bar.entry_list.item(2)
    bar.entry_list.itemDoubleClicked.emit(older)
    qtbot.waitUntil(lambda: len(window.workspace.datasets) == 3, timeout=WAIT_MS)
    assert window.last_errors == []
    other = tmp_path / "other"        # watching another folder replaces the list
    other.mkdir()
    shutil.copy(real_file("280754_1.nxs"), other / "280754_1.nxs")
    window.watch_folder(str(other))
    assert [bar.entry_list.item(row).text() for row in range(bar.entry_list.count())] == ["280754_1.nxs"]
    assert str(other) in bar.folder_label.text()


def test_finished_file_opens_as_before(window, qtbot, real_file):
    window.open_paths([str(real_file(MAP_NXS))])
    qtbot.waitUntil(lambda: not window.is_loading and len(window.workspace.datasets) == 1, timeout=WAIT_MS)
    key = window.workspace.current_key
    assert not window.live.live.is_live(key) and not window.live.bar.follow_box.isVisibleTo(window)


def test_watch_and_poll_interval_switches(tmp_path):
    from xestools.gui.live import poll_interval_s
    from xestools.runtime.options import export_to_environment, parse_options

    parsed = parse_options(["--watch", str(tmp_path), "--watch-pattern", "*ZnO*"], environ={"XESTOOLS_POLL_INTERVAL": "0.25"})
    assert (parsed.watch, parsed.watch_pattern, parsed.poll_interval) == (str(tmp_path), "*ZnO*", 0.25)
    assert parse_options([], environ={"XESTOOLS_WATCH": str(tmp_path)}).watch == str(tmp_path)
    assert parse_options([], environ={}).poll_interval == 1.0
    with pytest.raises(SystemExit):
        parse_options(["--poll-interval", "0"], environ={})
    environ = {}
    export_to_environment(parsed, environ)
    assert environ["XESTOOLS_POLL_INTERVAL"] == "0.25"
    old = os.environ.get("XESTOOLS_POLL_INTERVAL")
    try:
        os.environ["XESTOOLS_POLL_INTERVAL"] = environ["XESTOOLS_POLL_INTERVAL"]
        assert poll_interval_s() == 0.25
    finally:
        if old is None:
            os.environ.pop("XESTOOLS_POLL_INTERVAL", None)
        else:
            os.environ["XESTOOLS_POLL_INTERVAL"] = old


def test_a_followed_scan_replaced_on_disk_is_said_and_kept(window, qtbot, real_file, tmp_path, replay):
    from xestools.replay import Replayer

    src = real_file("ZnO_standard_280772_1.dat")
    dest = tmp_path / src.name
    process = replay(src, dest, rate=30)
    other = tmp_path / "other" / src.name
    other.parent.mkdir()
    Replayer(real_file(XES_DAT), other).run()
    _wait_for_points(dest)
    window.open_paths([str(dest)])
    key = os.path.abspath(dest)
    qtbot.waitUntil(lambda: window.workspace.dataset(key) is not None, timeout=WAIT_MS)
    live = window.live.live
    qtbot.waitUntil(lambda: live.progress(key).measured >= 20, timeout=WAIT_MS)
    os.replace(other, dest)
    qtbot.waitUntil(lambda: not live.is_following(key), timeout=WAIT_MS)
    process.communicate(timeout=240)
    progress = live.progress(key)
    assert progress.state == "replaced"
    assert window.live.bar.progress_label.text().startswith("replaced — ")
    assert "was replaced" in window.status_label.text()
    dataset = window.workspace.dataset(key)
    assert dataset.scan_number == 280772
    spectrum = dataset.spectra[0]
    assert np.isfinite(spectrum.intensity).sum() == progress.measured < 201
