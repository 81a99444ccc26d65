"""The scan-list model: domain items behind a Qt table model."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from xestools.gui.xes_model import ItemKind, ItemRole, XesListModel, recompute, recompute_dependants
from xestools.model import Channel, ScanInfo, Spectrum


def spectrum(offset=0.0, channel=Channel.LOWER, start=9620.0, label="s"):
    x = np.arange(start, start + 10.0, 0.5)
    return Spectrum(x, 1.0 + offset + 0.1 * (x - start), np.full(x.size, 0.01), channel=channel, label=label,
                    info=ScanInfo(scan_number=123, sample_name="ZnO"))


@pytest.fixture
def model(qtbot):
    return XesListModel()


def test_rows_columns_roles_and_check_state(model):
    item = model.add_item(ItemKind.SCAN, spectrum(), name="a.nxs", source_path="/data/a.nxs")
    assert model.rowCount() == 1 and model.columnCount() == 5
    index = model.index(0, 0)
    assert model.data(index) == "a.nxs"
    assert model.data(index, ItemRole) is item
    assert model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.data(model.index(0, 2)) == "lower"
    assert model.data(model.index(0, 3)) == "123"
    assert model.data(model.index(0, 4)) == "ZnO"
    assert "/data/a.nxs" in model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert model.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert not item.visible and model.visible_items() == []
    assert model.setData(index, "renamed", Qt.ItemDataRole.EditRole)
    assert item.name == "renamed"
    assert model.data(index, Qt.ItemDataRole.DecorationRole).name() == item.colour


def test_reorder_remove_clear(model, qtbot):
    uids = [model.add_item(ItemKind.SCAN, spectrum(i), name=f"s{i}").uid for i in range(4)]
    assert model.move(uids[0], +1)
    assert [item.name for item in model.items] == ["s1", "s0", "s2", "s3"]
    assert model.move(uids[3], -3)
    assert [item.name for item in model.items] == ["s3", "s1", "s0", "s2"]
    assert not model.move(uids[3], -1)
    with qtbot.waitSignal(model.items_reset):
        model.remove_uids([uids[1], uids[2]])
    assert [item.name for item in model.items] == ["s3", "s0"]
    model.clear()
    assert model.rowCount() == 0


def test_derived_items_recompute_and_turn_stale(model):
    a = model.add_item(ItemKind.SCAN, spectrum(0.0), name="a")
    b = model.add_item(ItemKind.SCAN, spectrum(2.0), name="b")
    average = model.add_item(ItemKind.AVERAGE, spectrum(1.0), name="avg", inputs=[a.uid, b.uid],
                             params={"grid": "overlap", "weighted": False})
    difference = model.add_item(ItemKind.DIFFERENCE, spectrum(0.0), name="a − avg", inputs=[a.uid, average.uid])
    assert [item.uid for item in model.dependants(a.uid)] == [average.uid, difference.uid]
    assert recompute(model, average.uid)
    np.testing.assert_allclose(average.spectrum.intensity, 2.0 + 0.1 * (average.spectrum.energy - 9620.0))
    assert recompute_dependants(model, average.uid) == []
    np.testing.assert_allclose(model.item(difference.uid).spectrum.intensity, -1.0, atol=1e-12)
    model.remove_uids([b.uid])
    assert model.item(average.uid).stale and "removed" in model.item(average.uid).stale_reason
    assert not recompute(model, average.uid)  # input gone: the last result is kept
    assert model.item(average.uid).spectrum is average.spectrum
    assert "stale" in model.data(model.index(model.row_of(average.uid), 0))


def test_channel_switch_marks_dependants_stale(model):
    upper, lower = spectrum(0.0, Channel.UPPER, 8630.0), spectrum(5.0, Channel.LOWER, 9560.0)
    scan = model.add_item(ItemKind.SCAN, upper, name="two", channels={Channel.UPPER: upper, Channel.LOWER: lower})
    normalised = model.add_item(ItemKind.NORMALISED, upper, name="n", inputs=[scan.uid], params={"window": [8631.0, 8635.0]})
    assert model.data(model.index(0, 2)) == "upper (of 2)"
    affected = model.set_channel(scan.uid, Channel.LOWER)
    assert [item.uid for item in affected] == [normalised.uid]
    assert scan.spectrum is lower and normalised.stale and "lower" in normalised.stale_reason
    assert not recompute(model, normalised.uid)  # window outside the lower channel: stays stale
    assert normalised.stale and "recompute failed" in normalised.stale_reason
    model.set_channel(scan.uid, Channel.UPPER)
    assert recompute(model, normalised.uid) and not normalised.stale
    with pytest.raises(ValueError):
        model.set_channel(normalised.uid, Channel.UPPER)
    single = model.add_item(ItemKind.SCAN, upper, name="one")
    with pytest.raises(ValueError, match="no lower channel"):
        model.set_channel(single.uid, Channel.LOWER)
