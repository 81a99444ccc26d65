"""The XES list model: a Qt table model that follows the workspace's item list."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from xestools.gui.xes.xes_model import ItemKind, ItemRole, XesListModel
from xestools.model import Channel, ScanInfo, Spectrum
from xestools.workspace.items import XesItemList


def spectrum(offset=0.0, channel=Channel.LOWER, start=9620.0, label="s"):
    x = np.arange(start, start + 10.0, 0.5)
    return Spectrum(x, 1.0 + offset + 0.1 * (x - start), np.full(x.size, 0.01), channel=channel, label=label,
                    info=ScanInfo(scan_number=123, sample_name="ZnO"))


@pytest.fixture
def items():
    return XesItemList()


@pytest.fixture
def model(qtbot, items):
    return XesListModel(items)


def test_rows_columns_roles_and_check_state(model, items):
    item = items.add_item(ItemKind.SCAN, spectrum(), name="a.nxs", source_path="/data/a.nxs")
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
    assert not item.visible and items.visible_items() == []
    assert model.setData(index, "renamed", Qt.ItemDataRole.EditRole)
    assert item.name == "renamed"
    assert model.data(index, Qt.ItemDataRole.DecorationRole).name() == item.colour


def rows(model):
    return [model.data(model.index(row, 0)) for row in range(model.rowCount())]


def test_rows_follow_reorder_remove_clear_and_changes(model, items, qtbot):
    uids = [items.add_item(ItemKind.SCAN, spectrum(i), name=f"s{i}").uid for i in range(4)]
    assert rows(model) == ["s0", "s1", "s2", "s3"]
    assert items.move(uids[0], +1)
    assert rows(model) == ["s1", "s0", "s2", "s3"]
    assert items.move(uids[3], -3)
    assert rows(model) == ["s3", "s1", "s0", "s2"]
    assert not items.move(uids[3], -1)
    with qtbot.waitSignal(model.items_reset):
        items.remove_uids([uids[1], uids[2]])
    assert rows(model) == ["s3", "s0"]
    with qtbot.waitSignal(model.dataChanged):
        items.set_stale(uids[0], True, "an input was removed")
    assert rows(model) == ["s3", "⚠ stale: s0"]
    items.clear()
    assert model.rowCount() == 0
    model.detach()     # a closed panel's model stops listening: nothing keeps it alive
    assert len(items.item_changed) == 0 and len(items.about_to_insert) == 0
