"""The XES tab's save dialogs: the selected item (CSV/NeXus), a fit report, the metrics, the plot.

Each asks for a path and hands it to the panel's workspace command; a cancelled dialog does nothing.
"""
from __future__ import annotations

from xestools.io import formats


def safe_name(name: str) -> str:
    """A file-name stem from an item name (letters, digits, - _ . only)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("_") or "item"


def ask_path(panel, title: str, suggestion: str, filters: str) -> str:
    """The save dialog of gui/common/save_target.py, starting beside the selected item's data."""
    from xestools.gui.common.save_target import ask_save_path

    item = panel.current_item()
    source = getattr(item.spectrum, "source", None) if item is not None else None
    return ask_save_path(panel, title, suggestion, filters, source if isinstance(source, str) and source else None)


def export_selected(panel, name: str) -> None:
    """Ask where to write the selected item in the table's format ``name`` ("csv", "nxs", …)."""
    fmt = formats.by_name(name)
    item = panel.require_selected()
    if item is not None:
        path = ask_path(panel, f"Export item as {fmt.title}", f"{safe_name(item.name)}{fmt.extension}",
                        fmt.file_filter)
        if path:
            panel.export_item(item.uid, path)


def export_report(panel) -> None:
    item = panel.require_selected()
    if item is None:
        return
    if not item.fit_report:
        panel.status_message.emit(f"{item.name} has no fit report; select a background or residual item.")
        return
    path = ask_path(panel, "Save fit report", f"{safe_name(item.name)}_fit.txt", "Text (*.txt)")
    if path:
        panel.save_fit_report(item.uid, path)


def export_metrics(panel) -> None:
    path = ask_path(panel, "Export metrics", "xes_metrics.csv", "CSV (*.csv)")
    if path:
        panel.export_metrics(path)


def export_plot(panel) -> None:
    path = ask_path(panel, "Export plot", "xes_overlay.png", formats.save_filter(formats.FIGURE))
    if path:
        panel.export_plot(path)
