"""The dataset panel: a view of what is open (sample, scan, kind, channels); not the store of it."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from xestools.workspace.datasets import Dataset
from xestools.runtime.safe import safe_slot

#: scan number and format first: three files of one sample are told apart without scrolling
COLUMNS = ("Scan", "Format", "Kind", "Sample", "Channels", "File")
COL_SCAN, COL_FORMAT, COL_KIND, COL_SAMPLE, COL_CHANNELS, COL_FILE = range(6)
#: pixels for the sample column; the rest size to their contents
SAMPLE_COLUMN_WIDTH = 130
#: what a file's extension says about its format
FORMATS = {".nxs": "NeXus", ".nx5": "NeXus", ".h5": "HDF5", ".hdf5": "HDF5", ".dat": "ASCII", ".txt": "text",
           ".csv": "CSV", ".xy": "text"}


def file_format(path: str) -> str:
    """"NeXus", "ASCII", … from the file's extension (the extension itself when unknown)."""
    extension = os.path.splitext(path)[1].lower()
    return FORMATS.get(extension, extension.lstrip(".") or "?")


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
        header.setSectionResizeMode(COL_SAMPLE, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(COL_SAMPLE, SAMPLE_COLUMN_WIDTH)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.itemSelectionChanged.connect(self._on_selection)

    def set_datasets(self, datasets: list[Dataset], current: str | None = None) -> None:
        self.blockSignals(True)
        self.clear()
        for dataset in datasets:
            channels = ", ".join(c.value for c in dataset.channels) or "—"
            scan = "" if dataset.scan_number is None else str(dataset.scan_number)
            name = os.path.basename(dataset.path)
            columns = {COL_SCAN: scan or name, COL_FORMAT: file_format(dataset.path),
                       COL_KIND: "RXES map" if dataset.kind == "rxes" else "XES",
                       COL_SAMPLE: dataset.sample_name or "—", COL_CHANNELS: channels, COL_FILE: name}
            item = QTreeWidgetItem([columns[column] for column in range(len(COLUMNS))])
            item.setData(0, Qt.ItemDataRole.UserRole, dataset.key)
            for column in range(len(COLUMNS)):
                item.setToolTip(column, dataset.path)
            item.setToolTip(COL_SAMPLE, dataset.sample_name or "")
            if dataset.warnings:
                item.setToolTip(COL_SAMPLE, "\n".join([dataset.sample_name or "", *dataset.warnings]).strip())
                item.setForeground(COL_SAMPLE, Qt.GlobalColor.darkRed)
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
