"""The metadata panel: what the beamline recorded about the selected scan."""
from __future__ import annotations

import contextlib

from datetime import datetime, timedelta, timezone

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from xestools.workspace.datasets import Dataset


#: the zone names I20's ASCII headers use ("Wed, 8 Oct 2025 17:04:54 BST"), as UTC offsets
ZONE_OFFSETS = {"BST": timedelta(hours=1), "GMT": timedelta(0), "UTC": timedelta(0), "CEST": timedelta(hours=2),
                "CET": timedelta(hours=1)}


def parse_time(text: str) -> datetime | None:
    """A NeXus ISO 8601 stamp or an ASCII header date ("Wed, 8 Oct 2025 17:04:54 BST"); None otherwise."""
    text = text.strip()
    with contextlib.suppress(ValueError):      # not ISO 8601: one of the ASCII header forms below
        return datetime.fromisoformat(text)
    head, _, zone = text.rpartition(" ")
    for candidate, offset in ((head, ZONE_OFFSETS.get(zone.upper())), (text, None)):
        for pattern in ("%a, %d %b %Y %H:%M:%S", "%a %b %d %H:%M:%S %Y", "%d %b %Y %H:%M:%S"):
            try:
                stamp = datetime.strptime(candidate, pattern)
            except ValueError:
                continue
            return stamp.replace(tzinfo=timezone(offset)) if offset is not None else stamp
    return None


def readable_time(text: str | None) -> str:
    """A start or end time as "2025-10-10 08:43:21 +01:00" (fits the panel), alike for .nxs and .dat;
    text that is no time stamp is shown unchanged."""
    if not text:
        return ""
    stamp = parse_time(str(text))
    if stamp is None:
        return str(text)
    shown = stamp.strftime("%Y-%m-%d %H:%M:%S")
    if stamp.tzinfo is not None:
        offset = stamp.strftime("%z")
        shown += f" {offset[:3]}:{offset[3:5]}" if len(offset) >= 5 else ""
    return shown


def metadata_rows(dataset: Dataset) -> list[tuple[str, str]]:
    """(field, value) rows for a dataset: sample, times, experiment, command, size, energies, crystals."""
    info = dataset.info
    rows = [("File", dataset.path)]
    if info is not None:
        crystals = ", ".join(f"{channel}: {crystal}" for channel, crystal in info.spectrometer_crystals.items())
        radius = ", ".join(f"{channel}: {value:g} mm" for channel, value in info.rowland_radius_mm.items())
        rows += [
            ("Sample", info.sample_name),
            ("Scan number", "" if info.scan_number is None else str(info.scan_number)),
            ("Start", readable_time(info.start_time)),
            ("End", readable_time(info.end_time)),
            ("Experiment", info.experiment_id),
            ("Command", info.command),
            ("Scan size", " × ".join(str(n) for n in info.scan_dimensions)),
            ("Mono energy", "" if info.mono_energy is None else f"{info.mono_energy:.2f} eV"),
            ("Spectrometer crystals", crystals),
            ("Rowland radius", radius),
            ("Monitor", info.monitor),
            ("Counting time", "" if info.counting_time is None else f"{info.counting_time:g} s"),
            ("Format", info.source_format),
        ]
    rows.append(("Channels", ", ".join(c.value for c in dataset.channels) or "—"))
    for obj in dataset.objects:
        shape = " × ".join(str(n) for n in obj.shape) if hasattr(obj, "shape") else str(len(obj))
        name = obj.channel.value if obj.channel is not None else "data"
        rows.append((f"Points ({name})", shape))
        source = obj.metadata.get("intensity_source")
        if source:
            rows.append((f"Intensity ({name})", str(source)))
        order = obj.metadata.get("scan_order")
        if order:
            rows.append((f"Scan order ({name})", str(order)))
    for text in dataset.warnings:
        rows.append(("Warning", text))
    return [(key, value) for key, value in rows if value not in ("", None)]


class MetadataPanel(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(("Field", "Value"))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def show_dataset(self, dataset: Dataset | None) -> None:
        rows = metadata_rows(dataset) if dataset is not None else []
        self.setRowCount(len(rows))
        for row, (key, value) in enumerate(rows):
            self.setItem(row, 0, QTableWidgetItem(key))
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            self.setItem(row, 1, item)

    def as_dict(self) -> dict[str, str]:
        return {self.item(row, 0).text(): self.item(row, 1).text() for row in range(self.rowCount())}
