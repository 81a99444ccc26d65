"""XES panel on the real files and synthetic repeats: load, average, normalise, fit, switch, export."""
from __future__ import annotations

import json

import numpy as np
import pytest

from xestools import analysis
from xestools.workspace.items import ItemKind
from xestools.gui.xes.xes_panel import XesPanel
from xestools.io import load
from xestools.model import Channel, Spectrum
from xestools.workspace import load_files
from xestools.workspace.session import loaded_lookup, xes_paths

REPEATS = ("990111_1.nxs", "990112_1.nxs", "990113_1.nxs")
WIDE_SYNTHETIC = "990110_1.nxs"


@pytest.fixture
def panel(qtbot):
    widget = XesPanel()
    qtbot.addWidget(widget)
    widget.resize(1300, 850)
    widget.show()
    yield widget
    widget.shutdown()


def open_and_wait(qtbot, panel, paths):
    """Read the files (the main window's loader does this on the worker pool) into the workspace."""
    outcomes = load_files([str(path) for path in paths])
    with panel.batched():
        for outcome in outcomes:
            if not outcome.error:
                panel.workspace.add_loaded(outcome.path, outcome.objects)
    panel.workspace.add_failures([(outcome.path, outcome.error) for outcome in outcomes if outcome.error])
    failed = sum(bool(outcome.error) for outcome in outcomes)
    return len(outcomes) - failed, failed


def uid_of(panel, name):
    matches = [item.uid for item in panel.workspace.all_items() if item.name == name]
    assert matches, f"{name} not in {[item.name for item in panel.workspace.all_items()]}"
    return matches[0]


def tick_only(panel, uids):
    for item in panel.workspace.all_items():
        panel.workspace.set_visible(item.uid, item.uid in uids)


def independent_window_area(energy, intensity, lo, hi):
    """Trapezoid over [lo, hi] with linearly interpolated end points (written independently)."""
    order = np.argsort(energy)
    e, y = np.asarray(energy)[order], np.asarray(intensity)[order]
    inside = (e > lo) & (e < hi)
    xs = np.concatenate([[lo], e[inside], [hi]])
    ys = np.concatenate([[np.interp(lo, e, y)], y[inside], [np.interp(hi, e, y)]])
    return float(np.sum(0.5 * (ys[1:] + ys[:-1]) * np.diff(xs)))


def image_is_not_blank(image) -> bool:
    """More than a handful of distinct colours in a grabbed widget or saved PNG."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.bytesPerLine() * height // 4)
    return width > 100 and height > 100 and np.unique(pixels).size > 50


@pytest.fixture
def loaded(qtbot, panel, real_file, samples_dir):
    paths = [real_file("280754_1.nxs"), real_file("280772_1.nxs")] + [samples_dir / name for name in REPEATS + (WIDE_SYNTHETIC,)]
    loaded_count, failed = open_and_wait(qtbot, panel, paths)
    assert (loaded_count, failed) == (6, 0)
    return panel


def test_load_real_synthetic_and_bad_files(qtbot, panel, real_file, samples_dir, tmp_path):
    bad = tmp_path / "broken.nxs"
    bad.write_bytes(b"not an hdf5 file at all")
    paths = [real_file("280754_1.nxs"), real_file("ZnO_standard_280772_1.dat"), bad, tmp_path / "missing.dat"]
    paths += [samples_dir / name for name in REPEATS]
    loaded_count, failed = open_and_wait(qtbot, panel, paths)
    assert (loaded_count, failed) == (5, 2)
    names = [item.name for item in panel.workspace.all_items()]
    assert names == ["280754_1.nxs", "ZnO_standard_280772_1.dat", *REPEATS]
    wide = panel.workspace.item(uid_of(panel, "280754_1.nxs"))
    assert wide.scan_number == 280754 and wide.channel is Channel.LOWER and wide.sample_name == "ZnO_standard"
    assert len(wide.spectrum) == 207
    reasons = [reason for _, reason in panel.workspace.failures]
    assert any("broken.nxs" in reason for reason in reasons)
    assert any("missing.dat" in reason for reason in reasons)
    assert panel.list_pane.failure_list.count() == 2 and panel.list_pane.failure_list.isVisibleTo(panel)
    # the same file again (e.g. reopened by the main window after a session restore): not duplicated
    again = panel.add_spectra(load(real_file("280754_1.nxs")))
    assert again[0].uid == wide.uid and panel.model.rowCount() == 5


def test_average_matches_analysis_and_independent_numpy(loaded):
    panel = loaded
    uids = [uid_of(panel, name) for name in REPEATS]
    members = [panel.workspace.item(uid).spectrum for uid in uids]
    tick_only(panel, uids)
    plain = panel.average(grid="overlap", weighted=False)
    weighted = panel.average(grid="overlap", weighted=True)
    union = panel.average(uids, grid="union", weighted=False, name="union average")
    assert [panel.workspace.item(uid).kind for uid in (plain.uid, weighted.uid, union.uid)] == [ItemKind.AVERAGE] * 3
    assert plain.inputs == uids

    reference = analysis.average_spectra(members, grid="overlap", weighted=False)
    np.testing.assert_array_equal(plain.spectrum.energy, reference.energy)
    np.testing.assert_array_equal(plain.spectrum.intensity, reference.intensity)

    # the repeats share their energies: averaged point by point on the mean read-backs, not resampled
    orders = [np.argsort(m.energy) for m in members]
    np.testing.assert_allclose(plain.spectrum.energy, np.mean([m.energy[o] for m, o in zip(members, orders)], axis=0))
    ys = np.array([m.intensity[o] for m, o in zip(members, orders)])
    ss = np.array([m.uncertainty[o] for m, o in zip(members, orders)])
    np.testing.assert_allclose(plain.spectrum.intensity, ys.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(plain.spectrum.uncertainty, np.sqrt((ss**2).sum(axis=0)) / 3, rtol=1e-6)
    w = 1.0 / ss**2
    np.testing.assert_allclose(weighted.spectrum.intensity, (w * ys).sum(axis=0) / w.sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(weighted.spectrum.uncertainty, 1.0 / np.sqrt(w.sum(axis=0)), rtol=1e-6)
    assert union.spectrum.energy[0] == pytest.approx(min(float(np.min(m.energy)) for m in members))


def test_normalise_average_by_wide_kbeta_area(loaded):
    panel = loaded
    uids = [uid_of(panel, name) for name in REPEATS]
    tick_only(panel, uids)
    average = panel.average(grid="overlap", weighted=False)
    wide_uid = uid_of(panel, WIDE_SYNTHETIC)
    wide = panel.workspace.item(wide_uid).spectrum
    window = (9560.0, 9590.0)
    normalised = panel.normalise(average.uid, window, reference_uid=wide_uid)
    area = independent_window_area(wide.energy, wide.intensity, *window)
    record = normalised.spectrum.metadata["normalisation"]
    assert record["factor"] == pytest.approx(1.0 / area, rel=1e-9)
    np.testing.assert_allclose(normalised.spectrum.intensity, average.spectrum.intensity / area, rtol=1e-12)
    assert f"{1.0 / area:.6g}" in panel.tools.factor_label.text()
    # applying it again (to the normalised item) does not compound
    again = panel.normalise(normalised.uid, window, reference_uid=wide_uid)
    np.testing.assert_allclose(again.spectrum.intensity, normalised.spectrum.intensity, rtol=1e-12)
    # the real pair: VtC 280772 by the Kβ1,3 area of the wide scan 280754
    real_wide_uid = uid_of(panel, "280754_1.nxs")
    real = panel.normalise(uid_of(panel, "280772_1.nxs"), window, reference_uid=real_wide_uid)
    real_wide = panel.workspace.item(real_wide_uid).spectrum
    assert real.spectrum.metadata["normalisation"]["factor"] == pytest.approx(
        1.0 / independent_window_area(real_wide.energy, real_wide.intensity, *window), rel=1e-9)
    assert average.spectrum.metadata.get("normalisation") is None  # the input is untouched


def test_background_fit_through_dialog_residual_flat_where_excluded(qtbot, panel):
    x = np.arange(9620.0, 9680.0, 0.3)
    wide_x = np.arange(9550.0, 9619.9, 0.3)

    def tail(energy):  # Lorentzian Kβ1,3 tail + constant
        return 0.05 * 3.0**2 / ((energy - 9572.0) ** 2 + 3.0**2) + 3e-4

    line = 1.5e-3 * np.exp(-0.5 * ((x - 9657.0) / 2.0) ** 2)
    rng = np.random.default_rng(11)
    noise = 3e-6
    main = Spectrum(x, tail(x) + line + rng.normal(0, noise, x.size), np.full(x.size, noise), label="synthetic vtc",
                    channel=Channel.LOWER, source="synthetic-vtc")
    wide = Spectrum(wide_x, tail(wide_x) + rng.normal(0, noise, wide_x.size), np.full(wide_x.size, noise),
                    label="synthetic wide", channel=Channel.LOWER, source="synthetic-wide")
    main_item, wide_item = panel.add_spectra([main, wide])
    dialog = panel.open_background_dialog(main_item.uid)
    dialog.clear_exclusions()  # drop the default span derived from the data
    dialog.set_components(["pseudovoigt", "polynomial0"])
    dialog.add_exclusion(9648.0, 9666.0)
    dialog.set_wide(wide_item.uid)
    dialog.accept()  # fits on OK
    background = next(item for item in panel.workspace.all_items() if item.kind is ItemKind.BACKGROUND)
    residual = next(item for item in panel.workspace.all_items() if item.kind is ItemKind.RESIDUAL)
    assert background.inputs == [main_item.uid, wide_item.uid] == residual.inputs
    assert residual.params["exclusions"] == [[9648.0, 9666.0]]
    assert "R²" in residual.fit_report
    excluded = (x >= 9648.0) & (x <= 9666.0)
    leftover = residual.spectrum.intensity[excluded] - line[excluded]
    assert np.max(np.abs(leftover)) < 6 * noise
    assert abs(np.polyfit(x[excluded], leftover, 1)[0]) < noise / 5
    outside = ~excluded
    assert np.std(residual.spectrum.intensity[outside]) < 2 * noise
    assert panel.workspace.background_settings["components"] == ["pseudovoigt", "polynomial0"]
    assert panel.workspace.background_settings["wide_name"] == wide_item.name == "synthetic-wide"
    # recompute reproduces the same fit
    before = residual.spectrum.intensity.copy()
    assert panel.recompute([residual.uid]) == 1
    np.testing.assert_allclose(panel.workspace.item(residual.uid).spectrum.intensity, before, rtol=1e-6, atol=1e-12)


def test_real_background_with_wide_scan(loaded):
    panel = loaded
    main_uid, wide_uid = uid_of(panel, "280772_1.nxs"), uid_of(panel, "280754_1.nxs")
    dialog = panel.open_background_dialog(main_uid)
    dialog.add_exclusion(9640.0, 9668.0)
    dialog.set_wide(wide_uid)
    fit = dialog.run_fit()
    assert fit is not None and fit.success and fit.r_squared > 0.95
    dialog.accept()
    residual = next(item for item in panel.workspace.all_items() if item.kind is ItemKind.RESIDUAL)
    outside = (residual.spectrum.energy < 9640.0) | (residual.spectrum.energy > 9668.0)
    peak = np.nanmax(residual.spectrum.intensity)
    assert abs(np.nanmean(residual.spectrum.intensity[outside])) < 0.05 * peak


def test_switch_channel_of_two_channel_scan_keeps_derived_items(qtbot, panel, real_file, samples_dir):
    open_and_wait(qtbot, panel, [real_file("279496_1.nxs"), samples_dir / "990102_1.nxs"])
    real_uid, synthetic_uid = uid_of(panel, "279496_1.nxs"), uid_of(panel, "990102_1.nxs")
    real = panel.workspace.item(real_uid)
    assert set(real.switchable_channels) == {Channel.UPPER, Channel.LOWER}
    assert real.channel is Channel.UPPER
    average = panel.average([real_uid, synthetic_uid], grid="overlap", weighted=False, name="pair average")
    normalised = panel.normalise(real_uid, (8636.0, 8642.0))
    dialog = panel.open_background_dialog(real_uid)
    dialog.set_components(["linear"])
    dialog.add_exclusion(8637.0, 8641.0)
    dialog.accept()
    fits = [item for item in panel.workspace.all_items() if item.kind in (ItemKind.BACKGROUND, ItemKind.RESIDUAL)]
    assert len(fits) == 2
    count = panel.model.rowCount()

    panel.set_channel(real_uid, Channel.LOWER)  # upper + lower do not overlap: average kept, stale
    assert panel.model.rowCount() == count
    average_now = panel.workspace.item(average.uid)
    assert average_now is not None and average_now.stale and "kept" in average_now.stale_reason
    np.testing.assert_array_equal(average_now.spectrum.intensity, average.spectrum.intensity)
    normalised_now = panel.workspace.item(normalised.uid)
    assert normalised_now.stale  # window 8636–8642 is outside the lower channel
    for fit in fits:  # kept with their last result, marked stale for the user to refit
        assert panel.workspace.item(fit.uid).stale and panel.workspace.item(fit.uid).spectrum is fit.spectrum

    panel.set_channel(synthetic_uid, "lower")  # both lower: the average recomputes
    average_now = panel.workspace.item(average.uid)
    assert not average_now.stale
    lower_pair = [panel.workspace.item(uid).spectrum for uid in (real_uid, synthetic_uid)]
    assert all(spectrum.channel is Channel.LOWER for spectrum in lower_pair)
    expected = analysis.average_spectra(lower_pair, grid="overlap")
    np.testing.assert_allclose(average_now.spectrum.intensity, expected.intensity)
    assert average_now.spectrum.energy.min() >= 9564.0 - 0.01

    panel.set_channel(real_uid, Channel.UPPER)
    panel.set_channel(synthetic_uid, Channel.UPPER)
    assert not panel.workspace.item(normalised.uid).stale and not panel.workspace.item(average.uid).stale
    assert panel.recompute([fit.uid for fit in fits]) == 2
    assert not any(panel.workspace.item(fit.uid).stale for fit in fits)
    assert panel.model.rowCount() == count
    panel.select_uids([real_uid])
    assert panel.list_pane.channel_combo.count() == 2 and panel.list_pane.channel_combo.isEnabled()


def test_export_and_reread_every_item(qtbot, loaded, real_file, tmp_path):
    panel = loaded
    open_and_wait(qtbot, panel, [real_file("279517_1.nxs")])
    assert len(panel.workspace.maps) == 1
    panel.add_map_slice(0, 9660.4)
    uids = [uid_of(panel, name) for name in REPEATS]
    average = panel.average(uids, grid="overlap", weighted=True)
    panel.normalise(average.uid, (9560.0, 9590.0), reference_uid=uid_of(panel, WIDE_SYNTHETIC))
    panel.add_difference(uids[0], average.uid)
    dialog = panel.open_background_dialog(uid_of(panel, "280772_1.nxs"))
    dialog.clear_exclusions()  # drop the default span derived from the data
    dialog.add_exclusion(9640.0, 9668.0)
    dialog.set_wide(uid_of(panel, "280754_1.nxs"))
    dialog.accept()
    from xestools.analysis.alignment import Calibration
    from xestools.workspace.results import FitSettings

    panel.workspace.calibrate([uids[0]], Calibration(0.3, 0.01, reference="a standard"))
    panel.workspace.align([uids[1]], uids[0], window=(9625.0, 9670.0))
    panel.workspace.add_fit(uid_of(panel, "280772_1.nxs"), FitSettings((9656.0,), window=(9640.0, 9670.0)))
    kinds = {item.kind for item in panel.workspace.all_items()}
    assert kinds == set(ItemKind)
    for index, item in enumerate(panel.workspace.all_items()):
        for extension in ("csv", "nxs"):
            path = tmp_path / f"item{index}.{extension}"
            panel.export_item(item.uid, path)
            (back,) = load(path)
            original = item.spectrum
            np.testing.assert_allclose(back.energy, original.energy, rtol=1e-12, err_msg=f"{item.name} {extension}")
            np.testing.assert_allclose(back.intensity, original.intensity, rtol=1e-12, equal_nan=True)
            if original.uncertainty is not None:
                np.testing.assert_allclose(back.uncertainty, original.uncertainty, rtol=1e-12, equal_nan=True)
            assert back.channel == original.channel and back.axis == original.axis
        if item.fit_report:
            report = tmp_path / f"item{index}_fit.txt"
            panel.save_fit_report(item.uid, report)
            assert report.read_text(encoding="utf-8") == item.fit_report
    text = (tmp_path / f"item{[i.kind for i in panel.workspace.all_items()].index(ItemKind.RESIDUAL)}.csv").read_text(encoding="utf-8")
    assert "pearson7" in text and "280772" in text  # header names the model and the source


def test_map_slice_matches_analysis(qtbot, panel, real_file):
    open_and_wait(qtbot, panel, [real_file("279517_1.nxs")])
    open_and_wait(qtbot, panel, [real_file("279517_1.nxs")])  # the same map twice: listed once
    assert len(panel.workspace.maps) == 1 and panel.list_pane.map_combo.count() == 1 and panel.model.rowCount() == 0
    item = panel.add_map_slice(0, 9660.4, 0.6)
    expected = analysis.xes_at_incident(panel.workspace.maps[0], 9660.4, 0.6)
    np.testing.assert_allclose(item.spectrum.intensity, expected.intensity, equal_nan=True)
    assert item.spectrum.axis == "emission" and item.kind is ItemKind.MAP_SLICE


def test_metrics_table_and_csv(loaded, tmp_path):
    panel = loaded
    wide_uid = uid_of(panel, "280754_1.nxs")
    tick_only(panel, [wide_uid, uid_of(panel, WIDE_SYNTHETIC)])
    rows = panel.compute_metrics(window=(9560.0, 9590.0), reference_uid=uid_of(panel, WIDE_SYNTHETIC))
    assert panel.tools.metrics_table.rowCount() == 2
    wide = panel.workspace.item(wide_uid).spectrum
    top = wide.energy[np.nanargmax(wide.intensity)]
    assert rows[0].peak_position == pytest.approx(top, abs=0.6)  # fitted: within two steps of the top point
    assert 1.0 < rows[0].fwhm < 10.0
    assert rows[1].iad == pytest.approx(0.0, abs=1e-12)
    assert rows[0].iad > 0
    path = tmp_path / "metrics.csv"
    panel.export_metrics(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[1].startswith("280754_1.nxs,")


def test_session_round_trip(qtbot, loaded):
    panel = loaded
    uids = [uid_of(panel, name) for name in REPEATS]
    average = panel.average(uids, grid="union", weighted=True, name="vtc mean")
    normalised = panel.normalise(average.uid, (9560.0, 9590.0), reference_uid=uid_of(panel, WIDE_SYNTHETIC))
    dialog = panel.open_background_dialog(uid_of(panel, "280772_1.nxs"))
    dialog.clear_exclusions()  # drop the default span derived from the data
    dialog.add_exclusion(9640.0, 9668.0)
    dialog.set_wide(uid_of(panel, "280754_1.nxs"))
    dialog.accept()
    panel.workspace.set_visible(uids[0], False)
    panel.controls.stack_check.setChecked(True)
    panel.controls.offset_spin.setValue(30.0)
    panel.controls.y_scale_combo.setCurrentIndex(panel.controls.y_scale_combo.findData("max"))
    state = json.loads(json.dumps(panel.workspace.to_state()))

    other = XesPanel()
    qtbot.addWidget(other)
    try:
        other.workspace.restore(state, loaded_lookup(load_files(xes_paths(state))))     # the panel follows
        assert [(i.name, i.kind, i.visible, i.colour) for i in other.workspace.all_items()] == \
               [(i.name, i.kind, i.visible, i.colour) for i in panel.workspace.all_items()]
        for before, after in zip(panel.workspace.all_items(), other.workspace.all_items()):
            np.testing.assert_allclose(after.spectrum.intensity, before.spectrum.intensity, rtol=1e-6, atol=1e-12, equal_nan=True)
        restored = next(i for i in other.workspace.all_items() if i.name == normalised.name)
        assert restored.params["window"] == [9560.0, 9590.0]
        assert other.controls.stack_check.isChecked()
        assert other.controls.offset_spin.value() == 30.0 and other.controls.y_scale_combo.currentData() == "max"
        assert other.workspace.background_settings["exclusions"] == [[9640.0, 9668.0]]
        assert other.workspace.background_settings["wide_name"] == "280754_1.nxs"
        other.workspace.restore({"unknown": 1}, loaded_lookup([]))  # tolerant
        assert other.model.rowCount() == 0
    finally:
        other.shutdown()


def test_plot_renders_and_exports(qtbot, loaded, tmp_path):
    panel = loaded
    uids = [uid_of(panel, name) for name in REPEATS]
    tick_only(panel, uids)
    average = panel.average(uids)
    panel.controls.stack_check.setChecked(True)
    qtbot.wait(50)
    image = panel.grab().toImage()
    image.save(str(tmp_path / "xes_panel.png"))
    assert image_is_not_blank(image)
    axes = panel.view.axes
    assert axes.get_xlabel() == "ω (eV)"
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert any(average.name in label for label in labels) and len(labels) == 4
    assert len(panel.view.overlay.bands.get_paths()) == 4  # one ±σ polygon for every visible item, in one collection
    for extension in ("png", "svg", "pdf"):
        path = tmp_path / f"overlay.{extension}"
        panel.export_plot(path)
        assert path.stat().st_size > 1000
    from PySide6.QtGui import QImage

    assert image_is_not_blank(QImage(str(tmp_path / "overlay.png")))
    assert "ω (eV)" in (tmp_path / "overlay.svg").read_text(encoding="utf-8") or "ω" in (tmp_path / "overlay.svg").read_text(encoding="utf-8")


def test_span_selection_sets_normalisation_window(loaded):
    panel = loaded
    panel.tools.setCurrentIndex(1)
    panel.tools.drag_window_button.setChecked(True)
    panel.view.window_dragged.emit(9561.5, 9588.25)
    assert panel.tools.window_lo_spin.value() == pytest.approx(9561.5)
    assert panel.tools.window_hi_spin.value() == pytest.approx(9588.25)
    assert panel.view.overlay.window_patch.get_visible()
    assert panel.view.overlay.window_patch.get_x() == pytest.approx(9561.5)
    panel.tools.drag_window_button.setChecked(False)


def drag(canvas, axes, x0, x1, y):
    """Press, move and release the left button from data x0 to x1 at data y (matplotlib events)."""
    from matplotlib.backend_bases import MouseButton, MouseEvent

    (px0, py), (px1, _) = axes.transData.transform([(x0, y), (x1, y)])
    for name, px in (("button_press_event", px0), ("motion_notify_event", 0.5 * (px0 + px1)),
                     ("motion_notify_event", px1), ("button_release_event", px1)):
        event = MouseEvent(name, canvas, px, py, button=MouseButton.LEFT)
        canvas.callbacks.process(name, event)


def test_drag_on_plot_sets_window_and_cursor_readout(qtbot, loaded):
    from matplotlib.backend_bases import MouseEvent

    panel = loaded
    tick_only(panel, [uid_of(panel, WIDE_SYNTHETIC)])
    panel.tools.setCurrentIndex(1)
    panel.view.canvas.canvas.draw()
    y = float(np.mean(panel.view.axes.get_ylim()))
    panel.tools.drag_window_button.setChecked(True)
    drag(panel.view.canvas.canvas, panel.view.axes, 9562.0, 9587.0, y)
    assert panel.tools.window_lo_spin.value() == pytest.approx(9562.0, abs=0.2)
    assert panel.tools.window_hi_spin.value() == pytest.approx(9587.0, abs=0.2)
    panel.tools.drag_window_button.setChecked(False)
    drag(panel.view.canvas.canvas, panel.view.axes, 9570.0, 9575.0, y)  # inactive: the window stays
    assert panel.tools.window_lo_spin.value() == pytest.approx(9562.0, abs=0.2)
    px, py = panel.view.axes.transData.transform((9572.5, y))
    panel.view.canvas.canvas.callbacks.process("motion_notify_event", MouseEvent("motion_notify_event", panel.view.canvas.canvas, px, py))
    assert panel.controls.cursor_label.text().startswith("ω = 9572.")


def test_panels_closed_repeatedly_release_their_figures(qtbot, samples_dir):
    import gc
    import weakref

    from PySide6.QtCore import QCoreApplication, QEvent

    figures = []
    spectra = load(samples_dir / REPEATS[0]) + load(samples_dir / REPEATS[1])
    for _ in range(8):
        widget = XesPanel()
        widget.add_spectra(spectra)
        widget.average()
        widget.view.canvas.canvas.draw()
        figures.append(weakref.ref(widget.view.canvas.figure))
        widget.shutdown()
        assert widget.view.canvas.is_closed and widget.view.canvas.connection_count == 0
        widget.deleteLater()
        del widget
        for _ in range(3):  # deleteLater during a deletion posts further deferred deletes
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            QCoreApplication.processEvents()
    gc.collect()
    assert [ref for ref in figures if ref() is not None] == []


def test_remove_source_drops_the_file_and_keeps_derived_items_stale(qtbot, panel, samples_dir):
    paths = [samples_dir / name for name in REPEATS + (WIDE_SYNTHETIC, "990101_1.nxs")]
    assert open_and_wait(qtbot, panel, paths) == (5, 0)
    repeats = [uid_of(panel, name) for name in REPEATS]
    average = panel.average(repeats, grid="overlap", weighted=False, name="VtC average")
    normalised = panel.normalise(average.uid, (9560.0, 9590.0), reference_uid=uid_of(panel, WIDE_SYNTHETIC))
    map_slice = panel.add_map_slice(0, float(panel.workspace.maps[0].incident_axis[3]))
    before = np.array(average.spectrum.intensity)

    panel.remove_source(str(samples_dir / REPEATS[0]))
    names = [item.name for item in panel.workspace.all_items()]
    assert REPEATS[0] not in names and REPEATS[1] in names
    kept = panel.workspace.item(average.uid)
    assert kept is not None and kept.stale and REPEATS[0] in kept.stale_reason
    np.testing.assert_array_equal(kept.spectrum.intensity, before)
    assert panel.workspace.item(normalised.uid).stale  # depends on the average: stale too
    assert "(removed #" in panel.describe_item(average.uid)
    assert panel.recompute([average.uid]) == 0 and panel.workspace.item(average.uid).stale

    panel.remove_source(str(samples_dir / "990101_1.nxs"))  # a map: the chooser and its slices go
    assert panel.workspace.maps == [] and panel.list_pane.map_combo.count() == 0 and not panel.list_pane.map_box.isVisibleTo(panel)
    assert panel.workspace.item(map_slice.uid) is None

    count = panel.model.rowCount()
    panel.remove_source(str(samples_dir / "not_loaded.nxs"))  # unknown file: nothing happens
    assert panel.model.rowCount() == count
    state = json.loads(json.dumps(panel.workspace.to_state()))
    assert all(entry["source_path"] != str(samples_dir / REPEATS[0]) for entry in state["items"])


def test_y_scale_offset_and_legend_placement(qtbot, panel, samples_dir, real_file):
    paths = [samples_dir / name for name in REPEATS + (WIDE_SYNTHETIC,)] + [real_file("280754_1.nxs")]
    assert open_and_wait(qtbot, panel, paths) == (5, 0)
    messages = []
    panel.status_message.connect(messages.append)
    repeats = [uid_of(panel, name) for name in REPEATS]
    wide_uid = uid_of(panel, WIDE_SYNTHETIC)
    tick_only(panel, repeats + [wide_uid])
    assert any("differ in size" in message for message in messages)  # VtC ≪ Kβ1,3: the user is told

    panel.controls.y_scale_combo.setCurrentIndex(panel.controls.y_scale_combo.findData("max"))
    for uid in repeats + [wide_uid]:
        x, y = panel.view.overlay.lines[uid].get_data()
        intensity = np.asarray(panel.workspace.item(uid).spectrum.intensity, dtype=float)
        np.testing.assert_allclose(y, intensity / np.nanmax(np.abs(intensity)))
    assert "maximum" in panel.view.axes.get_ylabel()
    assert panel.workspace.item(wide_uid).spectrum.intensity.max() > 0.1  # display only: data unchanged
    panel.controls.y_scale_combo.setCurrentIndex(panel.controls.y_scale_combo.findData("data"))

    tick_only(panel, repeats)
    panel.controls.offset_spin.setValue(50.0)  # 50 % of the largest intensity range shown
    ranges = [np.nanmax(panel.workspace.item(uid).spectrum.intensity) - np.nanmin(panel.workspace.item(uid).spectrum.intensity)
              for uid in repeats]
    for index, uid in enumerate(repeats):
        _, y = panel.view.overlay.lines[uid].get_data()
        np.testing.assert_allclose(y - panel.workspace.item(uid).spectrum.intensity, index * 0.5 * max(ranges))
    assert "0.000000" not in panel.controls.offset_spin.text()
    panel.controls.offset_spin.setValue(0.0)
    assert panel.controls.offset_spin.text() == "none"

    legend = panel.view.axes.get_legend()
    assert legend is not None and len(legend.get_texts()) == 3 and legend.get_bbox_to_anchor() == panel.view.axes.bbox
    # seven items: the legend moves right of the axes
    average = panel.average(repeats, name="a deliberately long average name that is longer than a legend entry should be")
    normalised = panel.normalise(average.uid, (9620.0, 9680.0))
    tick_only(panel, [item.uid for item in panel.workspace.all_items()])
    legend = panel.view.axes.get_legend()
    assert legend is not None and len(legend.get_texts()) == 7
    assert all(len(text.get_text()) <= 34 for text in legend.get_texts())
    assert legend.get_bbox_to_anchor().x0 > panel.view.axes.bbox.x1  # outside, right of the axes: hides no data
    assert normalised.spectrum.metadata["normalisation"]["factor"] > 0
    tick_only(panel, [normalised.uid])
    assert panel.view.axes.get_ylabel() == "Intensity ÷ own area, 9620–9680 eV (eV⁻¹)"


def test_crowded_plot_shows_a_note_and_one_band_collection(qtbot, panel):
    x = np.linspace(9620.0, 9680.0, 121)
    spectra = [Spectrum(x, np.exp(-((x - 9650.0) / (5.0 + i)) ** 2) + i, np.full(x.size, 0.01), label=f"s{i}") for i in range(14)]
    spectra[3] = Spectrum(x, np.where(np.abs(x - 9650.0) < 3.0, np.nan, 1.0), np.full(x.size, 0.01), label="gap")
    panel.add_spectra(spectra)
    assert panel.view.axes.get_legend() is None and panel.view.overlay.legend_note.get_visible()
    assert "14 items" in panel.view.overlay.legend_note.get_text()
    assert len(panel.view.overlay.bands.get_paths()) == 15  # one polygon per item, two for the one with a NaN gap
    panel.controls.bands_check.setChecked(False)
    assert len(panel.view.overlay.bands.get_paths()) == 0


def test_fit_y_to_the_zoomed_energy_range(qtbot, panel, samples_dir):
    assert open_and_wait(qtbot, panel, [samples_dir / name for name in (WIDE_SYNTHETIC,) + REPEATS[:1]]) == (2, 0)
    panel.view.axes.set_xlim(9640.0, 9670.0)  # a toolbar zoom onto the valence-to-core lines
    bottom, top = panel.rescale_y()
    values = []
    for item in panel.workspace.all_items():
        inside = (item.spectrum.energy >= 9640.0) & (item.spectrum.energy <= 9670.0)
        values.extend(np.asarray(item.spectrum.intensity)[inside])
    span = max(values) - min(values)
    assert (bottom, top) == pytest.approx((min(values) - 0.05 * span, max(values) + 0.05 * span))
    assert panel.view.axes.get_ylim() == pytest.approx((bottom, top))
    panel.view.axes.set_xlim(100.0, 200.0)
    assert panel.rescale_y() is None


def test_lines_follow_replaced_spectra(qtbot, panel):
    x = np.linspace(9620.0, 9680.0, 61)
    item, = panel.add_spectra([Spectrum(x, np.ones(x.size), np.full(x.size, 0.1), label="one")])
    for level in (2.0, 3.0, 4.0):  # each old spectrum is freed: its id may be reused by the next
        panel.workspace.items.set_spectrum(item.uid, Spectrum(x, np.full(x.size, level), np.full(x.size, 0.1), label="one"))
        _, y = panel.view.overlay.lines[item.uid].get_data()
        np.testing.assert_array_equal(y, level)
        band, = panel.view.overlay.bands.get_paths()
        assert band.vertices[:, 1].max() == pytest.approx(level + 0.1)


def test_a_dropped_panel_is_freed_without_deletelater(qtbot, samples_dir):
    """No Qt connection holds the panel: dropping the last reference frees it and its workspace."""
    import gc
    import weakref

    from xestools.gui.rxes.rxes_panel import RxesPanel
    from xestools.workspace import Dataset

    spectra = load(samples_dir / REPEATS[0]) + load(samples_dir / REPEATS[1])
    widget = XesPanel()
    widget.add_spectra(spectra)
    widget.average()
    maps = RxesPanel()
    rxes_map = load(samples_dir / "990101_1.nxs")
    maps.add_dataset(Dataset(str(samples_dir / "990101_1.nxs"), rxes_map))
    maps.add_cut("CEE")
    workspaces = [weakref.ref(widget.workspace), weakref.ref(maps.workspace)]
    widget.shutdown()
    maps.shutdown()
    del widget, maps
    gc.collect()
    assert [ref for ref in workspaces if ref() is not None] == []
