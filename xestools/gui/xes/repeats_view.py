"""The Repeats view: are the repeats of a measurement consistent, and do they drift (radiation damage)?

For the ticked spectra or the members of an average, :func:`xestools.analysis.repeats.repeats_table`
(through the workspace) gives each repeat's peak, first moment, area, IAD and χ²ᵣ against the others
with σ, per-repeat flags and the trends. The view plots the metrics against repeat number with σ error
bars and the trend line, the χ²ᵣ of each repeat, says the trend in words, and lists the table. "Exclude
from the series average" leaves the selected repeat out of the average (one undo step; the average's
name and provenance say so). The numbers are the analysis module's; this view only shows them.
"""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from xestools.analysis.repeats import TREND_METRICS, TREND_SIGMA, trend_line
from xestools.gui.common.canvas import PlotCanvas
from xestools.gui.xes.fit_tool import PlotDialog, with_sigma
from xestools.gui.common.geometry import fit_dialog
from xestools.workspace.items import ItemKind

log = logging.getLogger("xestools.gui.xes.repeats_view")

PREFERRED_SIZE = (1150, 800)
COLUMNS = ("#", "repeat", "peak (eV)", "first moment (eV)", "area", "IAD", "χ²ᵣ", "flags")
METRIC_TITLES = {"peak": "peak (eV)", "first_moment": "first moment (eV)", "area": "area"}


def trend_in_words(trend) -> str:
    """A trend as a sentence: which metric, how much per repeat, how many σ, flagged or not."""
    name = trend.metric.replace("_", " ")
    if not np.isfinite(trend.slope_per_repeat):
        return f"{name}: too few repeats for a trend (three or more needed)"
    text = (f"{name} changes by {with_sigma(trend.slope_per_repeat, trend.slope_sigma)} per repeat "
            f"({trend.significance:.1f}σ)")
    if trend.flagged:
        return f"{text}: a trend beyond {TREND_SIGMA:g}σ — radiation damage is the usual cause"
    return f"{text}: no trend beyond {TREND_SIGMA:g}σ"


class RepeatsDialog(PlotDialog):
    """The repeats table of items ``uids`` of the XES workspace; ``average_uid`` is the average they make."""

    def __init__(self, workspace, uids, average_uid: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace, self.uids, self.average_uid = workspace, list(uids), average_uid
        self.setWindowTitle("Repeats — consistency and trends")
        self.table_result = None
        self._build()
        self.refresh()
        fit_dialog(self, PREFERRED_SIZE)

    @classmethod
    def of_item_or_ticked(cls, workspace, uid: int | None, parent=None) -> "RepeatsDialog":
        """The members of the average ``uid``, or the ticked measured spectra when ``uid`` is no average."""
        item = workspace.item(uid) if uid is not None else None
        if item is not None and item.kind is ItemKind.AVERAGE:
            return cls(workspace, item.inputs, item.uid, parent)
        ticked = workspace.ticked_scan_uids()
        average = next((other.uid for other in workspace.all_items() if other.kind is ItemKind.AVERAGE
                        and sorted(other.inputs) == sorted(ticked)), None)
        return cls(workspace, ticked, average, parent)

    def _build(self) -> None:
        self.plot = PlotCanvas(self, figsize=(7.0, 4.5))
        figure = self.plot.figure
        self.metric_axes = {name: figure.add_subplot(2, 2, index + 1) for index, name in enumerate(TREND_METRICS)}
        self.chi2_axes = figure.add_subplot(2, 2, 4)
        figure.subplots_adjust(left=0.1, right=0.98, top=0.94, bottom=0.1, hspace=0.45, wspace=0.3)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([400, 220])      # five or more rows of the table show on a laptop screen
        self.trend_label = QLabel()
        self.trend_label.setWordWrap(True)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("reason (e.g. radiation damage)")
        self.exclude_button = QPushButton("&Exclude from the series average")
        self.exclude_button.clicked.connect(lambda _checked=False: self.exclude_selected())
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(QLabel("Reason"))
        row.addWidget(self.reason_edit, 1)
        row.addWidget(self.exclude_button)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.trend_label)
        layout.addLayout(row)

    # ------------------------------------------------------------------ content
    def refresh(self) -> None:
        """Compute the table again (after an exclusion the average changed; the repeats did not)."""
        try:
            self.table_result = self.workspace.repeats_of(self.uids)
        except (ValueError, LookupError) as exc:
            self.table_result = None
            self.trend_label.setText(f"No repeats table: {exc}")
            self.table.setRowCount(0)
            self._update_buttons()
            return
        self._fill_table()
        self._draw()
        result = self.table_result
        words = [trend_in_words(trend) for trend in result.trends]
        inconsistent = [row.label for row in result.rows if row.flags]
        words.append(f"inconsistent: {', '.join(inconsistent)}" if inconsistent else "every repeat consistent with the others")
        self.trend_label.setText(f"Window {result.window[0]:.2f}–{result.window[1]:.2f} eV. " + "; ".join(words) + ".")
        self._update_buttons()

    def _fill_table(self) -> None:
        rows = self.table_result.rows
        excluded = self._excluded_positions()
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            flags = list(row.flags) + (["excluded from the average"] if index in excluded else [])
            texts = (str(index + 1), row.label, with_sigma(row.peak, row.peak_sigma),
                     with_sigma(row.first_moment, row.first_moment_sigma), with_sigma(row.area, row.area_sigma),
                     with_sigma(row.iad, row.iad_sigma), f"{row.chi2_reduced:.3g}", "; ".join(flags) or "—")
            for column, text in enumerate(texts):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.table.setItem(index, column, cell)
        self.table.resizeColumnsToContents()

    def _excluded_positions(self) -> set[int]:
        average = self.workspace.item(self.average_uid) if self.average_uid is not None else None
        if average is None:
            return set()
        return {self.uids.index(average.inputs[p]) for p in average.params.get("excluded", [])
                if p < len(average.inputs) and average.inputs[p] in self.uids}

    def _draw(self) -> None:
        rows = self.table_result.rows
        number = np.arange(1, len(rows) + 1)
        flagged = np.array([bool(row.flags) for row in rows])
        for trend in self.table_result.trends:
            axes = self.metric_axes[trend.metric]
            axes.clear()
            values = np.array([getattr(row, trend.metric) for row in rows], float)
            sigmas = np.array([getattr(row, f"{trend.metric}_sigma") for row in rows], float)
            axes.errorbar(number, values, yerr=sigmas, fmt="o", ms=4, capsize=2, color="#1f77b4")
            if flagged.any():
                axes.plot(number[flagged], values[flagged], "o", ms=8, mfc="none", color="#d62728")
            axes.plot(number, trend_line(self.table_result, trend.metric), "-",
                      color="#d62728" if trend.flagged else "0.5", lw=1.0)
            axes.set_title(f"{METRIC_TITLES[trend.metric]}" + (" — trend!" if trend.flagged else ""), fontsize="small")
            axes.tick_params(labelsize="small")
            axes.ticklabel_format(axis="y", useOffset=False)
        axes = self.chi2_axes
        axes.clear()
        axes.bar(number, [row.chi2_reduced for row in rows], color=["#d62728" if f else "#1f77b4" for f in flagged])
        axes.axhline(1.0, color="0.4", lw=0.8)
        axes.set_title("χ²ᵣ against the others", fontsize="small")
        axes.tick_params(labelsize="small")
        for axes in (*self.metric_axes.values(), self.chi2_axes):
            axes.set_xticks(number)
        for axes in (self.metric_axes["area"], self.chi2_axes):     # the bottom row names the axis for both rows
            axes.set_xlabel("repeat", fontsize="small")
        self.plot.draw_idle()

    def _update_buttons(self) -> None:
        self.exclude_button.setEnabled(self.table_result is not None and self.selected_repeat() is not None)

    def selected_repeat(self) -> int | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        return rows.pop() if len(rows) == 1 else None

    # ------------------------------------------------------------------ commands
    def exclude_selected(self) -> None:
        """Leave the selected repeat out of the average (made first when the repeats have none)."""
        index = self.selected_repeat()
        if index is None:
            return
        average = self.workspace.item(self.average_uid) if self.average_uid is not None else None
        try:
            if average is None:
                self.average_uid = self.workspace.average(self.uids).uid
            self.workspace.exclude_repeat(self.average_uid, self.uids[index], self.reason_edit.text().strip())
        except (ValueError, LookupError) as exc:
            self.trend_label.setText(f"Cannot exclude the repeat: {exc}")
            return
        self.refresh()
        self.table.selectRow(index)
