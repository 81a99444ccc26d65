"""The dataset panel: a view of what is open (sample, scan, kind, channels); not the store of it.

Repeats are grouped under their series ("ZnO_standard — VtC XES, 3 scans"); the same scan opened in
a second format (its twin) is listed under it, greyed, with the notice that it is counted once.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem,
                               QTreeWidgetItemIterator, QWidget)

from xestools.workspace.datasets import Dataset
from xestools.workspace.series import DerivedDataset, SeriesGroup
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
        self.setIndentation(12)
        self.itemSelectionChanged.connect(self._on_selection)

    def set_datasets(self, datasets: list[Dataset], current: str | None = None,
                     groups: list[SeriesGroup] | None = None) -> None:
        """Show ``datasets``; those of a series of two or more files (or with a twin) under its name.

        The rows are built apart and added at once: a row changed inside the shown tree makes the
        header size its columns to their contents again, over every row (100 files: a 100 ms stall)."""
        self.blockSignals(True)
        self.clear()
        by_key = {dataset.key: dataset for dataset in datasets}
        placed: set[str] = set()
        rows, series = [], []
        for group in groups or []:
            keys = [key for key in (*group.keys, *group.twin_keys) if key in by_key and key not in placed]
            averages = [d.key for d in datasets if isinstance(d, DerivedDataset) and d.operation == "average"
                        and d.key not in placed and set(d.members) & set(group.keys)]
            if len(keys) + len(averages) < 2:
                continue
            parent = self._series_item(group)
            for key in keys + averages:
                twin = key in group.twin_keys
                parent.addChild(self._dataset_item(by_key[key], twin_notices=group.notices if twin else (),
                                                   in_series=True))
                placed.add(key)
            rows.append(parent)
            series.append(parent)
        rows += [self._dataset_item(dataset) for dataset in datasets if dataset.key not in placed]
        self.addTopLevelItems(rows)
        for parent in series:
            parent.setFirstColumnSpanned(True)
        if series:
            self.expandAll()
        iterator = QTreeWidgetItemIterator(self)
        while current is not None and iterator.value() is not None:
            item = iterator.value()
            if item.data(0, Qt.ItemDataRole.UserRole) == current:
                item.setSelected(True)
            iterator += 1
        self.setRootIsDecorated(bool(placed))
        self.blockSignals(False)

    @staticmethod
    def _series_item(group: SeriesGroup) -> QTreeWidgetItem:
        item = QTreeWidgetItem([group.name])
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        item.setToolTip(0, "\n".join([group.name, *group.notices]))
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
        return item

    def _dataset_item(self, dataset: Dataset, twin_notices=(), in_series: bool = False) -> QTreeWidgetItem:
        """One dataset's row: scan number (an average's name when it has none) and format first; in a
        series the sample column names the file (the series names the sample)."""
        channels = ", ".join(c.value for c in dataset.channels) or "—"
        scan = "" if dataset.scan_number is None else str(dataset.scan_number)
        if isinstance(dataset, DerivedDataset):
            members = len(dataset.maps[0].metadata.get("members", [])) if dataset.maps else 0
            sample = f"average of {members}" if in_series else dataset.name
            kind, name = "RXES " + ("average" if dataset.operation == "average" else "A − B"), ""
        else:
            name = os.path.basename(dataset.path)
            sample = name if in_series else (dataset.sample_name or "—")
            kind = "RXES map" if dataset.kind == "rxes" else "XES"
        if twin_notices:
            kind = "same scan"
        fmt = "derived" if isinstance(dataset, DerivedDataset) else file_format(dataset.path)
        columns = {COL_SCAN: scan or sample if isinstance(dataset, DerivedDataset) else scan or name,
                   COL_FORMAT: fmt, COL_KIND: kind, COL_SAMPLE: sample, COL_CHANNELS: channels, COL_FILE: name}
        item = QTreeWidgetItem([columns[column] for column in range(len(COLUMNS))])
        item.setData(0, Qt.ItemDataRole.UserRole, dataset.key)
        for column in range(len(COLUMNS)):
            item.setToolTip(column, dataset.path)
        item.setToolTip(COL_SAMPLE, dataset.name if isinstance(dataset, DerivedDataset) else sample)
        if dataset.warnings:
            item.setToolTip(COL_SAMPLE, "\n".join([sample, *dataset.warnings]).strip())
            item.setForeground(COL_SAMPLE, Qt.GlobalColor.darkRed)
        if twin_notices:
            for column in range(len(COLUMNS)):
                item.setForeground(column, Qt.GlobalColor.gray)
                item.setToolTip(column, "\n".join(twin_notices))
        return item

    def selected_key(self) -> str | None:
        items = self.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    @safe_slot
    def _on_selection(self) -> None:
        key = self.selected_key()
        if key:
            self.dataset_selected.emit(key)
