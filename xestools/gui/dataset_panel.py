"""The dataset panel: a view of what is open (sample, scan, kind, channels); not the store of it."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from xestools.workspace.datasets import Dataset
from xestools.runtime.safe import safe_slot

COLUMNS = ("Sample", "Scan", "Kind", "Channels", "File")
#: pixels for the sample column; the rest size to their contents
SAMPLE_COLUMN_WIDTH = 130


class DatasetPanel(QTreeWidget):
    """Lists datasets; emits ``dataset_selected(key)`` when the user picks one."""

    dataset_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(COLUMNS)
        self.setRootIsDecorated(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # long sample names are elided (full name in the tooltip) so scan, kind and channels stay visible
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(0, SAMPLE_COLUMN_WIDTH)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.itemSelectionChanged.connect(self._on_selection)

    def set_datasets(self, datasets: list[Dataset], current: str | None = None) -> None:
        self.blockSignals(True)
        self.clear()
        for dataset in datasets:
            channels = ", ".join(c.value for c in dataset.channels) or "—"
            scan = "" if dataset.scan_number is None else str(dataset.scan_number)
            item = QTreeWidgetItem([dataset.sample_name or "—", scan, "RXES map" if dataset.kind == "rxes" else "XES",
                                    channels, os.path.basename(dataset.path)])
            item.setData(0, Qt.ItemDataRole.UserRole, dataset.key)
            item.setToolTip(4, dataset.path)
            item.setToolTip(0, dataset.sample_name or "")
            if dataset.warnings:
                item.setToolTip(0, "\n".join([dataset.sample_name or "", *dataset.warnings]).strip())
                item.setForeground(0, Qt.GlobalColor.darkRed)
            self.addTopLevelItem(item)
            if dataset.key == current:
                item.setSelected(True)
        self.blockSignals(False)

    def selected_key(self) -> str | None:
        items = self.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    @safe_slot
    def _on_selection(self) -> None:
        key = self.selected_key()
        if key:
            self.dataset_selected.emit(key)
