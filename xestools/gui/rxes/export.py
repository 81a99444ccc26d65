"""Export from the RXES tab: cut profiles (CSV/NeXus), figures (PNG/SVG/PDF), the map (NeXus/CSV).

Data files are written by the data core's writers (``xestools.io.write_csv``/``write_nexus``);
figures by the shared drawing (``figures.build_map_figure``) or the canvas, atomically in all cases.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from xestools.io import formats

log = logging.getLogger("xestools.gui.rxes.export")


def suggested_stem(panel) -> str:
    document = panel.document
    if document is None:
        return "xestools"
    stem = os.path.splitext(os.path.basename(document.dataset.path))[0]
    channel = f"_{document.channel.value}" if document.channel is not None else ""
    return f"{stem}{channel}"


def _profile_paths(path: str, entries) -> list[str]:
    if len(entries) == 1:
        return [path]
    stem, ext = os.path.splitext(path)
    return [f"{stem}_{index + 1}_{entry.kind}_{entry.position:.2f}{ext}" for index, entry in enumerate(entries)]


def export_profiles(panel, path: str | os.PathLike) -> list[str]:
    """Write every non-empty cut profile of the panel; one file per cut when there are several.

    The format follows the extension (the table of formats; CSV for an unknown one), with σ and
    points-per-bin columns and the record of the cut. Returns the paths written.
    """
    path = os.fspath(path)
    rxes_map = panel.map_plot.rxes_map
    pairs = [(entry, result) for entry, result in panel.cut_results() if result is not None and not result.empty]
    if not pairs:
        raise ValueError("no non-empty cut profile to save")
    fmt = formats.data_format_for(path)
    written = []
    for (entry, result), target in zip(pairs, _profile_paths(path, [e for e, _ in pairs])):
        spectrum = result.to_spectrum(rxes_map)  # its metadata holds the record of the cut, written once
        fmt.write(spectrum, target, columns={"npoints": np.asarray(result.npoints, dtype=float)})
        written.append(target)
    return written


def export_figure(canvas, path: str | os.PathLike, *, dpi: float = 200.0) -> None:
    """Save a PlotCanvas figure (cut lines and bands included) as PNG, SVG or PDF."""
    canvas.save(path, dpi=dpi)


def map_figure(panel, **options):
    """The shown map with its cuts and their profiles, drawn as ``xestools plot`` draws them: same
    style, cut colours and zoom as the screen (``figures.build_map_figure``)."""
    from xestools.figures import build_map_figure

    entries = [entry for entry, _ in panel.cut_results()]
    limits = (tuple(panel.map_ax.get_xlim()), tuple(panel.map_ax.get_ylim()))
    return build_map_figure(panel.map_plot.rxes_map, style=panel.style, cuts=[entry.spec() for entry in entries],
                            cut_colors=[entry.color for entry in entries], limits=limits, **options)


def export_map_figure(panel, path: str | os.PathLike, *, dpi: float = 200.0) -> None:
    """Write the shown map, cuts and profiles as one figure (PNG, SVG or PDF), like ``xestools plot``."""
    from xestools.figures import save_figure

    parts = map_figure(panel)
    try:
        save_figure(parts.figure, path, dpi=dpi)
    finally:
        parts.figure.clear()


def export_map(panel, path: str | os.PathLike) -> None:
    """Write the shown map (channel, normalisation included) in the data format its extension names."""
    rxes_map = panel.map_plot.rxes_map
    if rxes_map is None:
        raise ValueError("no map is open")
    formats.write(rxes_map, path)


# ---------------------------------------------------------------------- the File menu's dialogs
def save_name(parent, title: str, suggestion: str, file_filter: str, data_path: str | None = None) -> str:
    """Ask where to save (gui/common/save_target.py: last folder written to, else the processing folder
    beside ``data_path``); "" when cancelled or when the target is read-only."""
    from xestools.gui.common.save_target import ask_save_path

    return ask_save_path(parent, title, suggestion, file_filter, data_path)


def _data_path(panel) -> str | None:
    return panel.document.dataset.path if panel.document is not None else None


def profiles_dialog(parent, panel, status) -> None:
    if not panel.cut_results():
        status("Add a cut first: there is no profile to save.")
        return
    path = save_name(parent, "Save cut profiles", suggested_stem(panel) + ".csv",
                     formats.save_filter(formats.PROFILE, first="csv"), _data_path(panel))
    if path:
        written = export_profiles(panel, path)
        status("Saved " + ", ".join(os.path.basename(p) for p in written))


def figure_dialog(parent, panel, which: str, status) -> None:
    """The map figure (map, cuts and their profiles, as ``xestools plot`` draws them) or the profiles."""
    path = save_name(parent, f"Export {which} figure", suggested_stem(panel) + f"_{which}.png",
                     formats.save_filter(formats.FIGURE), _data_path(panel))
    if path:
        if which == "map":
            export_map_figure(panel, path)
        else:
            export_figure(panel.profile_canvas, path)
        status(f"Saved {os.path.basename(path)}")


def map_dialog(parent, panel, status) -> None:
    path = save_name(parent, "Export map data", suggested_stem(panel) + "_map.nxs",
                     formats.save_filter(formats.MAP, first="nxs"), _data_path(panel))
    if path:
        export_map(panel, path)
        status(f"Saved {os.path.basename(path)}")
