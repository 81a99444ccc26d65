"""Background dialog: lifetime (30 open/close cycles leave nothing behind), editing, rendering."""
from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from xestools.gui.xes.background_dialog import BackgroundDialog
from xestools.workspace.items import ItemKind
from xestools.gui.xes.xes_panel import XesPanel
from xestools.model import Channel, Spectrum


def synthetic_pair():
    x = np.arange(9620.0, 9680.0, 0.3)
    wide_x = np.arange(9550.0, 9619.9, 0.3)

    def tail(energy):
        return 0.05 * 9.0 / ((energy - 9572.0) ** 2 + 9.0) + 3e-4

    line = 1.5e-3 * np.exp(-0.5 * ((x - 9657.0) / 2.0) ** 2)
    main = Spectrum(x, tail(x) + line, np.full(x.size, 3e-6), label="vtc", channel=Channel.LOWER, source="vtc")
    wide = Spectrum(wide_x, tail(wide_x), np.full(wide_x.size, 3e-6), label="wide", channel=Channel.LOWER, source="wide")
    return main, wide


def our_callbacks(registry) -> list:
    """Callbacks still registered on a canvas that belong to the dialog (matplotlib keeps its own)."""
    from matplotlib.widgets import SpanSelector

    found = []
    for callbacks in registry.callbacks.values():
        for reference in callbacks.values():
            target = reference()
            owner = getattr(target, "__self__", target)
            if isinstance(owner, (BackgroundDialog, SpanSelector)) or getattr(target, "__wrapped_safe__", False):
                found.append(target)
    return found


def image_is_not_blank(image) -> bool:
    """More than a handful of distinct colours in a grabbed widget."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.bytesPerLine() * image.height() // 4)
    return image.width() > 100 and image.height() > 100 and np.unique(pixels).size > 50


def flush_deletions():
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()


@pytest.fixture
def panel(qtbot):
    widget = XesPanel()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def test_open_and_close_30_times_leaves_nothing(qtbot, panel):
    main_item, wide_item = panel.add_spectra(list(synthetic_pair()))
    dialog_refs, canvas_refs, figure_refs = [], [], []
    for cycle in range(30):
        dialog = panel.open_background_dialog(main_item.uid)
        assert "lmfit" in sys.modules
        dialog.add_exclusion(9648.0, 9666.0)
        dialog.set_wide(wide_item.uid)
        plot = dialog.plot
        canvas_callbacks = plot.canvas.callbacks
        dialog_refs.append(weakref.ref(dialog))
        canvas_refs.append(weakref.ref(plot))
        figure_refs.append(weakref.ref(plot.figure))
        assert our_callbacks(canvas_callbacks)  # the helper does see the dialog's own callbacks
        if cycle % 2:
            dialog.reject()
        else:
            dialog.accept()
        assert plot.is_closed and plot.connection_count == 0
        assert our_callbacks(canvas_callbacks) == []
        del dialog, plot, canvas_callbacks
        flush_deletions()
    flush_deletions()
    assert [ref for ref in dialog_refs if ref() is not None] == []
    assert [ref for ref in canvas_refs if ref() is not None] == []
    assert [ref for ref in figure_refs if ref() is not None] == []
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, BackgroundDialog)]
    assert not panel.findChildren(BackgroundDialog)
    # 15 accepted fits: a background and a residual each
    assert sum(item.kind is ItemKind.BACKGROUND for item in panel.workspace.all_items()) == 15
    assert sum(item.kind is ItemKind.RESIDUAL for item in panel.workspace.all_items()) == 15


def test_exclusions_typed_drawn_and_removed(qtbot, panel):
    main, wide = synthetic_pair()
    dialog = BackgroundDialog(main, wide_candidates=[(7, "wide", wide)], settings={"components": ["linear"]})
    qtbot.addWidget(dialog)
    try:
        dialog.clear_exclusions()  # drop the default Kβ''–Kβ2,5 span derived from the data
        assert dialog.components() == ["linear"]
        dialog.exclusion_lo.setValue(9660.0)
        dialog.exclusion_hi.setValue(9650.0)
        dialog.add_span_button.click()
        dialog.draw_span_button.setChecked(True)
        dialog.add_exclusion(9630.0, 9635.5)  # (drawing a span with the mouse: test_exclusion_drawn_with_the_mouse)
        dialog.add_exclusion(9670.0, 9672.0)
        assert dialog.exclusions() == [(9650.0, 9660.0), (9630.0, 9635.5), (9670.0, 9672.0)]
        dialog.exclusion_list.setCurrentRow(1)
        dialog.remove_span_button.click()
        assert dialog.exclusions() == [(9650.0, 9660.0), (9670.0, 9672.0)]
        dialog.remove_exclusion(0)
        assert dialog.exclusions() == [(9670.0, 9672.0)]
        dialog.clear_spans_button.click()
        assert dialog.exclusions() == []
        dialog.set_components(["pseudovoigt", "polynomial1"])
        dialog.set_wide(7)
        assert dialog.settings() == {"components": ["pseudovoigt", "polynomial1"], "exclusions": [], "wide": 7, "weighted": True,
                                 "balanced": False}
        dialog.pearson_check.setChecked(False)
        dialog.pvoigt_check.setChecked(False)
        dialog.linear_check.setChecked(False)
        dialog.polynomial_check.setChecked(False)
        assert dialog.run_fit() is None
        assert "at least one" in dialog.report_view.toPlainText()
        dialog.accept()  # refused: nothing to fit, dialog stays open
        assert dialog.isVisible() or not dialog.plot.is_closed
    finally:
        dialog.reject()
        flush_deletions()


def test_dialog_renders_data_fit_and_residual(qtbot, panel, tmp_path):
    main_item, wide_item = panel.add_spectra(list(synthetic_pair()))
    dialog = panel.open_background_dialog(main_item.uid)
    dialog.add_exclusion(9648.0, 9666.0)
    dialog.set_wide(wide_item.uid)
    fit = dialog.run_fit()
    assert fit is not None and fit.r_squared > 0.999
    qtbot.wait(50)
    image = dialog.grab().toImage()
    image.save(str(tmp_path / "background_dialog.png"))
    assert image_is_not_blank(image)
    assert "p7_center" in dialog.report_view.toPlainText()
    xs, ys = dialog.background_line.get_data()
    assert len(xs) > 100 and np.all(np.isfinite(ys))
    _, residual = dialog.residual_line.get_data()
    residual = np.asarray(residual, dtype=float)
    low, high = dialog.residual_axes.get_ylim()
    shown = residual[np.isfinite(residual)]
    assert low <= shown.min() and shown.max() <= high, "the residual axis scales to the residual after a fit"
    dialog.reject()
    assert not any(item.kind is ItemKind.BACKGROUND for item in panel.workspace.all_items())  # Cancel adds nothing
    flush_deletions()


def test_shutdown_closes_an_open_dialog(qtbot):
    widget = XesPanel()
    qtbot.addWidget(widget)
    main_item, _ = widget.add_spectra(list(synthetic_pair()))
    dialog = widget.open_background_dialog(main_item.uid)
    ref = weakref.ref(dialog)
    plot = dialog.plot
    del dialog
    widget.shutdown()
    widget.shutdown()  # idempotent
    assert plot.is_closed
    del plot
    flush_deletions()
    assert ref() is None


def test_exclusion_drawn_with_the_mouse(qtbot):
    from matplotlib.backend_bases import MouseButton, MouseEvent

    main, _ = synthetic_pair()
    dialog = BackgroundDialog(main)
    qtbot.addWidget(dialog)
    try:
        dialog.clear_exclusions()  # drop the default Kβ''–Kβ2,5 span derived from the data
        dialog.plot.canvas.draw()
        axes = dialog.axes
        y = float(np.mean(axes.get_ylim()))
        (px0, py), (px1, _) = axes.transData.transform([(9650.0, y), (9664.0, y)])
        dialog.draw_span_button.setChecked(True)
        for name, px in (("button_press_event", px0), ("motion_notify_event", px1), ("button_release_event", px1)):
            dialog.plot.canvas.callbacks.process(name, MouseEvent(name, dialog.plot.canvas, px, py, button=MouseButton.LEFT))
        (span,) = dialog.exclusions()
        assert span[0] == pytest.approx(9650.0, abs=0.2) and span[1] == pytest.approx(9664.0, abs=0.2)
    finally:
        dialog.reject()
        flush_deletions()


def test_raw_wide_scan_is_shown_and_fitted_in_the_units_of_a_normalised_scan(qtbot):
    from xestools.analysis import normalise_area

    main_raw, wide = synthetic_pair()
    main = normalise_area(main_raw, (9570.0, 9575.0), reference=wide)
    inside = (wide.energy > 9570.0) & (wide.energy < 9575.0)  # trapezoid with interpolated window edges
    xs = np.concatenate([[9570.0], wide.energy[inside], [9575.0]])
    ys = np.interp(xs, wide.energy, wide.intensity)
    factor = 1.0 / float(np.sum(0.5 * (ys[1:] + ys[:-1]) * np.diff(xs)))
    dialog = BackgroundDialog(main, wide_candidates=[(7, "wide", wide)])
    qtbot.addWidget(dialog)
    dialog.set_wide(7)
    dialog.set_components(["pearson7", "linear"])
    dialog.add_exclusion(9645.0, 9670.0)
    assert "area of" in dialog.axes.get_ylabel()
    _, shown = dialog.wide_line.get_data()
    np.testing.assert_allclose(shown, wide.intensity * factor, rtol=1e-9)
    fit = dialog.run_fit()
    assert fit is not None and fit.r_squared > 0.99
    outside = (main.energy < 9645.0) | (main.energy > 9670.0)
    assert np.max(np.abs(fit.residual.intensity[outside])) < 0.02 * np.max(main.intensity)
    assert "the normalisation of this scan" in fit.report
    dialog.reject()


def test_dialog_opens_with_the_vtc_exclusion_derived_from_the_data(qtbot):
    from xestools.analysis.background import default_exclusions

    main, _ = synthetic_pair()
    dialog = BackgroundDialog(main)
    qtbot.addWidget(dialog)
    try:
        (span,) = dialog.exclusions()
        assert [span] == default_exclusions(main)
        assert span[0] < 9657.0 - 2.0 and span[1] > 9657.0 + 2.0  # the synthetic Kβ2,5 line (σ 2 eV) is covered
        fit = dialog.run_fit()
        assert fit is not None and "Physically sensible" in dialog.report_view.toPlainText()
        assert dialog.residual_axes.get_ylabel() == "(Data − background) / σ"
        np.testing.assert_allclose(dialog.residual_line.get_ydata(), fit.residual.intensity / fit.residual.uncertainty)
    finally:
        dialog.release()
