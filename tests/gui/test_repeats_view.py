"""The Repeats view on copies of the real VtC scan 280772 (Poisson-noisy repeats, the last ones losing
Kβ2,5 intensity): metrics with σ error bars against repeat number, the trend flagged in words, the table
equal to repeats_table's, an exclusion from the average (one undo step), and a 1366×768 screen."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QScreen

from xestools.analysis.repeats import repeats_table
from xestools.gui.xes.repeats_view import RepeatsDialog
from xestools.model import evolve
from xestools.workspace import Workspace, load_files
from xestools.workspace.history import History, Recorder


def repeats(spectrum, damage: bool):
    """Five noisy copies; with ``damage`` the Kβ2,5 region loses 4 % more intensity in each repeat."""
    rng = np.random.default_rng(11)
    kb25 = np.exp(-0.5 * ((spectrum.energy - 9656.0) / 3.0) ** 2)
    copies = []
    for n in range(5):
        loss = 1 - (0.04 * n * kb25 if damage else 0)
        noisy = spectrum.intensity * loss + rng.normal(0, 1, spectrum.intensity.shape) * spectrum.uncertainty
        copies.append(evolve(spectrum, intensity=noisy, label=f"repeat {n + 1}", source=""))
    return copies


@pytest.fixture
def setup(real_file, qtbot, monkeypatch):
    monkeypatch.setattr(QScreen, "availableGeometry", lambda _screen: QRect(0, 0, 1366, 768))
    workspace = Workspace()
    workspace.add_outcomes(load_files([str(real_file("280772_1.nxs"))]))
    spectrum = workspace.xes.all_items()[0].spectrum
    workspace.xes.set_visible(workspace.xes.all_items()[0].uid, False)

    def make(damage: bool):
        copies = repeats(spectrum, damage)
        uids = [item.uid for item in workspace.xes.add_spectra(copies)]
        dialog = RepeatsDialog.of_item_or_ticked(workspace.xes, None)
        qtbot.addWidget(dialog)
        return workspace, copies, uids, dialog
    return make


def test_a_damaged_series_shows_its_trend_in_words_and_the_table_of_repeats_table(setup):
    workspace, copies, uids, dialog = setup(damage=True)
    expected = repeats_table(copies)
    assert dialog.uids == uids and dialog.table.rowCount() == 5
    for index, row in enumerate(expected.rows):
        assert dialog.table.item(index, 1).text() == row.label
        assert dialog.table.item(index, 6).text() == f"{row.chi2_reduced:.3g}"
    area = next(trend for trend in expected.trends if trend.metric == "area")
    assert area.flagged and "area changes by" in dialog.trend_label.text()
    assert "radiation damage is the usual cause" in dialog.trend_label.text()
    axes = dialog.metric_axes["area"]
    bars = axes.containers[0]                                   # the error bars: area ± σ at repeats 1…5
    np.testing.assert_allclose(bars.lines[0].get_ydata(), [row.area for row in expected.rows])
    segments = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1][1] - s[0][1] for s in segments], [2 * row.area_sigma for row in expected.rows])
    values = np.array([row.area for row in expected.rows])
    weights = 1 / np.array([row.area_sigma for row in expected.rows]) ** 2
    slope, intercept = np.polyfit(np.arange(1, 6), values, 1, w=np.sqrt(weights))
    np.testing.assert_allclose(axes.lines[-1].get_ydata(), intercept + slope * np.arange(1, 6), rtol=1e-9)


def test_poisson_repeats_raise_no_trend(setup):
    dialog = setup(damage=False)[3]
    assert "trend beyond" not in dialog.trend_label.text().replace("no trend beyond", "")


def test_excluding_a_repeat_makes_the_average_without_it_in_one_undo_step(setup, qtbot):
    workspace, copies, uids, dialog = setup(damage=True)
    history = History(Recorder(workspace))
    assert not dialog.exclude_button.isEnabled()
    dialog.table.selectRow(4)
    assert dialog.exclude_button.isEnabled()
    dialog.reason_edit.setText("radiation damage")
    dialog.exclude_selected()
    average = workspace.xes.item(dialog.average_uid)
    order = np.argsort(copies[0].energy)
    np.testing.assert_allclose(average.spectrum.intensity, np.mean([c.intensity for c in copies[:4]], axis=0)[order],
                               rtol=1e-12)
    assert average.name.endswith("without repeat 5") and "excluded from the average" in dialog.table.item(4, 7).text()
    assert history.commit() is not None and history.undo()
    assert workspace.xes.item(dialog.average_uid) is None


def test_the_view_fits_a_laptop_screen(setup, qtbot):
    dialog = setup(damage=True)[3]
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() <= 1366 - 16 and dialog.height() <= 768 - 40
    assert dialog.minimumSizeHint().height() <= 768 - 40
    assert dialog.rect().contains(dialog.exclude_button.geometry())


def test_an_exclusion_that_cannot_be_made_is_said(setup):
    workspace, copies, uids, dialog = setup(damage=False)
    dialog.table.selectRow(0)
    for uid in uids[1:]:
        workspace.xes.remove([uid])         # the other repeats are gone: nothing left to average
    dialog.exclude_selected()
    assert dialog.trend_label.text().startswith("Cannot exclude the repeat:")
