"""The XES items as a Qt table model: it presents the workspace's list, it is not the state.

Column 0 carries the tick (visibility) and the colour; edits (tick, rename) go to the list, whose
callbacks drive the rows (the list announces a change before and after it, as Qt asks).
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from xestools.workspace.items import ItemKind, XesItem, XesItemList, describe

COLUMNS = ("Name", "Kind", "Channel", "Scan", "Sample")
ItemRole = Qt.ItemDataRole.UserRole + 1


class XesListModel(QAbstractTableModel):
    """Table model over an :class:`XesItemList` (one row per item, in list order)."""

    #: uid of an item whose result changed (new spectrum, channel, stale flag, tick, colour, name)
    item_changed = Signal(int)
    #: the set or order of items changed
    items_reset = Signal()

    def __init__(self, items: XesItemList, parent=None) -> None:
        super().__init__(parent)
        self.list = items
        self._hooks = [
            (items.about_to_insert, lambda row: self.beginInsertRows(QModelIndex(), row, row)),
            (items.inserted, lambda _row: self.endInsertRows()),
            (items.about_to_remove, lambda row: self.beginRemoveRows(QModelIndex(), row, row)),
            (items.removed, lambda _row: self.endRemoveRows()),
            (items.about_to_move, lambda row, dest: self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), dest)),
            (items.moved, self.endMoveRows),
            (items.about_to_reset, self.beginResetModel),
            (items.reset, self.endResetModel),
            (items.structure_changed, self.items_reset.emit),
            (items.item_changed, self._on_item_changed),
        ]
        for event, callback in self._hooks:
            event.connect(callback)

    def detach(self) -> None:
        """Stop following the list (the panel closes)."""
        for event, callback in self._hooks:
            event.disconnect(callback)
        self._hooks = []

    def item_at(self, row: int) -> XesItem:
        return self.list.item_at(row)

    def row_of(self, uid: int) -> int:
        return self.list.row_of(uid)

    def _on_item_changed(self, uid: int) -> None:
        row = self.list.row_of(uid)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        self.item_changed.emit(uid)

    # ------------------------------------------------------------------ Qt model interface
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.list)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            base |= Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.list):
            return None
        item = self.list.item_at(index.row())
        column = index.column()
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, column)
        if role == Qt.ItemDataRole.EditRole and column == 0:
            return item.name
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if item.visible else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return QColor(item.colour)
        if role == Qt.ItemDataRole.ForegroundRole and item.stale:
            return QColor("#b35900")
        if role == Qt.ItemDataRole.ToolTipRole:
            return describe(item, self.list)
        return None

    def setData(self, index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or index.column() != 0:
            return False
        item = self.list.item_at(index.row())
        if role == Qt.ItemDataRole.CheckStateRole:
            checked = value == Qt.CheckState.Checked or value == Qt.CheckState.Checked.value or value is True
            self.list.set_visible(item.uid, bool(checked))
            return True
        if role == Qt.ItemDataRole.EditRole and isinstance(value, str) and value.strip():
            self.list.rename(item.uid, value)
            return True
        return False

    @staticmethod
    def _display(item: XesItem, column: int) -> str:
        if column == 0:
            return ("⚠ stale: " if item.stale else "") + item.name
        if column == 1:
            return item.kind.value
        if column == 2:
            if item.kind is ItemKind.SCAN and len(item.switchable_channels) > 1:
                return f"{item.channel or '—'} (of {len(item.switchable_channels)})"
            return str(item.channel) if item.channel is not None else "—"
        if column == 3:
            return "" if item.scan_number is None else str(item.scan_number)
        return item.sample_name



__all__ = ["COLUMNS", "ItemKind", "ItemRole", "XesListModel"]
