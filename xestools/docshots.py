"""Screenshots of the real window for the user guide: ``python -m xestools.docshots OUTDIR``.

Drives the real main window offscreen through its public API and the workspace (opening files,
adding cuts, switching views, averaging, normalising, fitting a background), exactly as a user's
clicks would, and saves one PNG per :data:`SHOTS` entry at 1366×768. ``docs/guide.md`` shows them
from ``docs/images/``; regenerate them after every GUI change with
``python -m xestools.docshots docs/images``.

The pictures use the real I20 scans (``--data DIR``, else ``$XESTOOLS_REAL_DATA``, else
``../shared/data/i20`` next to the checkout). Where those are absent the synthetic samples stand
in (same roles: an RXES map, a wide Kβ scan, valence-to-core scans) and a note says so.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

#: Size of every window screenshot (a common laptop screen).
SIZE = (1366, 768)
#: Seconds to wait for files to be read before giving up.
LOAD_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class DataFiles:
    """The files each screenshot shows, by role."""

    folder: Path
    rxes_map: Path
    kbeta_wide: Path
    vtc: Path
    repeats: tuple[Path, ...]
    real: bool


def real_data_folder() -> Path:
    """Where the real I20 scans are expected: ``$XESTOOLS_REAL_DATA`` or ``../shared/data/i20`` of a checkout."""
    env = os.environ.get("XESTOOLS_REAL_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "i20"


def choose_data(folder: Path | None, scratch: Path) -> DataFiles:
    """The real files when present, else the synthetic samples generated into ``scratch``."""
    from xestools.samples import generate

    folder = folder or real_data_folder()
    real = {"rxes_map": "279517_1.nxs", "kbeta_wide": "280754_1.nxs", "vtc": "280772_1.nxs"}
    samples = generate(scratch / "samples")[0].parent
    repeats = tuple(samples / f"{n}_1.nxs" for n in (990111, 990112, 990113))
    if all((folder / name).is_file() for name in real.values()):
        return DataFiles(folder, *(folder / name for name in real.values()), repeats, True)
    print(f"note: the real I20 scans are not in {folder}; the screenshots show the synthetic samples",
          file=sys.stderr)
    return DataFiles(samples, samples / "990101_1.nxs", samples / "990110_1.nxs", samples / "990111_1.nxs",
                     repeats, False)


# ----------------------------------------------------------------------------- driving the window
def settle(app, seconds: float = 0.3) -> None:
    """Let Qt lay out, paint and deliver queued signals."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def open_files(app, window, paths) -> None:
    """Open files as File → Open would, and wait until they are read; errors are fatal here."""
    window.open_paths([str(p) for p in paths])
    end = time.monotonic() + LOAD_TIMEOUT_S
    while window.is_loading:
        if time.monotonic() > end:
            raise TimeoutError(f"reading {', '.join(map(str, paths))} took more than {LOAD_TIMEOUT_S:.0f} s")
        app.processEvents()
        time.sleep(0.01)
    settle(app)
    if window.last_errors:
        raise RuntimeError("could not open the screenshot files: " + "; ".join(window.last_errors))


def xes_item(window, path: Path):
    """The XES item loaded from ``path``."""
    for item in window.xes_panel.workspace.all_items():
        if item.source_path and Path(item.source_path).resolve() == path.resolve():
            return item
    raise LookupError(f"{path.name} is not in the XES list")


def show_only(window, uids) -> None:
    """Tick exactly ``uids`` in the XES list (the overlay shows the ticked items)."""
    workspace = window.xes_panel.workspace
    for item in workspace.all_items():
        workspace.set_visible(item.uid, item.uid in uids)


# ----------------------------------------------------------------------------- the screenshots
def peak_emission(rxes_map) -> float:
    """ω of the strongest emission (Kα1 on the real map): the column with the largest mean intensity."""
    import numpy as np

    intensity = np.asarray(rxes_map.intensity, dtype=float)
    if intensity.shape[0] != len(rxes_map.incident_axis):
        intensity = intensity.T
    return float(rxes_map.emission_axis[int(np.nanargmax(np.nanmean(intensity, axis=0)))])


def shot_map_incident(app, window, data: DataFiles):
    """RXES map in the incident view (Ω, ω) with a CIE and a CEE (HERFD) cut, default widths."""
    open_files(app, window, [data.rxes_map])
    panel = window.rxes_panel
    window.tabs.setCurrentWidget(panel)
    panel.set_view("incident")
    rxes_map = panel.document.raw_map()
    axis = rxes_map.incident_axis
    panel.add_cut("CIE", round(float(axis[(2 * len(axis)) // 3]), 2))
    panel.select_cut(panel.add_cut("CEE", round(peak_emission(rxes_map), 2)))
    return window


def shot_map_transfer(app, window, data: DataFiles):
    """The same map in the energy-transfer view (Ω, Ω − ω): the CEE cut is now diagonal, a CET cut horizontal."""
    open_files(app, window, [data.rxes_map])
    panel = window.rxes_panel
    window.tabs.setCurrentWidget(panel)
    panel.set_view("transfer")
    rxes_map = panel.document.raw_map()
    peak = peak_emission(rxes_map)
    panel.add_cut("CEE", round(peak, 2))
    middle = float(rxes_map.incident_axis[len(rxes_map.incident_axis) // 2])
    panel.select_cut(panel.add_cut("CET", round(middle - peak, 2)))
    return window


def shot_xes_overlay(app, window, data: DataFiles):
    """XES tab: the wide Kβ scan and the valence-to-core scan overlaid, each ÷ its maximum."""
    from dataclasses import replace

    open_files(app, window, [data.kbeta_wide, data.vtc])
    panel = window.xes_panel
    window.tabs.setCurrentWidget(panel)
    workspace = panel.workspace
    workspace.set_plot_settings(replace(workspace.settings.plot, y_scale="max"))
    panel.select_uids([xes_item(window, data.vtc).uid])
    return window


def shot_xes_average(app, window, data: DataFiles):
    """XES tab: three repeats and their point-by-point average."""
    open_files(app, window, list(data.repeats))
    panel = window.xes_panel
    window.tabs.setCurrentWidget(panel)
    uids = [xes_item(window, path).uid for path in data.repeats]
    average = panel.average(uids)
    panel.tools.setCurrentIndex(0)
    panel.select_uids([average.uid])
    return window


def shot_xes_normalise_metrics(app, window, data: DataFiles):
    """XES tab: the VtC scan normalised by the area of the wide Kβ scan, and the line-shape metrics."""
    import numpy as np

    open_files(app, window, [data.kbeta_wide, data.vtc])
    panel = window.xes_panel
    window.tabs.setCurrentWidget(panel)
    wide, vtc = xes_item(window, data.kbeta_wide), xes_item(window, data.vtc)
    lo = float(np.nanmin(wide.spectrum.energy))
    show_only(window, [])   # the new item alone is ticked
    normalised = panel.normalise(vtc.uid, (lo + 2.0, lo + 32.0), reference_uid=wide.uid)
    # renamed as a user would (double-click the name), so the legend stays readable
    panel.workspace.items.rename(normalised.uid, f"VtC ÷ Kβ area {lo + 2.0:.0f}–{lo + 32.0:.0f} eV")
    window.dataset_dock.hide()   # View → Datasets/Metadata: more room for the metrics table
    window.metadata_dock.hide()
    panel.compute_metrics([normalised.uid])
    panel.tools.setCurrentIndex(3)
    panel.select_uids([normalised.uid])
    return window


def shot_background_dialog(app, window, data: DataFiles):
    """The background dialog: the VtC scan with the wide Kβ scan's tail, fitted."""
    open_files(app, window, [data.kbeta_wide, data.vtc])
    panel = window.xes_panel
    window.tabs.setCurrentWidget(panel)
    wide, vtc = xes_item(window, data.kbeta_wide), xes_item(window, data.vtc)
    dialog = panel.open_background_dialog(vtc.uid)
    dialog.set_wide(wide.uid)
    dialog.resize(*SIZE)
    settle(app)
    dialog.run_fit()
    return dialog


#: (file name, what it shows, function preparing the window; returns the widget to grab)
SHOTS: tuple[tuple[str, Callable], ...] = (
    ("map-incident.png", shot_map_incident),
    ("map-transfer.png", shot_map_transfer),
    ("xes-overlay.png", shot_xes_overlay),
    ("xes-average.png", shot_xes_average),
    ("xes-normalise-metrics.png", shot_xes_normalise_metrics),
    ("background-dialog.png", shot_background_dialog),
)


# ----------------------------------------------------------------------------- running
def save_png(widget, path: Path) -> None:
    """Grab ``widget`` and write it as a small PNG (256-colour palette when Pillow is there), atomically."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from xestools.io.atomic import atomic_write

    raw = QByteArray()
    buffer = QBuffer(raw)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().toImage().save(buffer, "PNG")
    buffer.close()
    data = bytes(raw.data())
    try:
        from PIL import Image
    except ImportError:   # Pillow comes with matplotlib; without it the PNG is just larger
        atomic_write(path, data)
        return
    import io

    image = Image.open(io.BytesIO(data)).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    atomic_write(path, out.getvalue())


def take(app, name: str, prepare: Callable, data: DataFiles, out_dir: Path) -> Path:
    """One screenshot in a fresh window (so shots never depend on each other)."""
    from xestools.gui.main_window import MainWindow

    window = MainWindow()
    try:
        window.resize(*SIZE)
        window.show()
        settle(app)
        widget = prepare(app, window, data)
        settle(app, 0.8)
        path = out_dir / name
        save_png(widget, path)
        if widget is not window:
            widget.reject()
        return path
    finally:
        window.close_messages()
        window.shutdown()
        window.deleteLater()
        settle(app, 0.1)


def run(out_dir: Path, data_folder: Path | None = None, only: list[str] | None = None) -> list[Path]:
    """Write every screenshot (or those named in ``only``) into ``out_dir``; returns the paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xestools-docshots-") as scratch:
        # never the user's own window layout, recent files or last folder
        os.environ["XESTOOLS_SETTINGS_FILE"] = str(Path(scratch) / "settings.ini")
        app = QApplication.instance() or QApplication(["xestools-docshots"])
        data = choose_data(data_folder, Path(scratch))
        written = []
        for name, prepare in SHOTS:
            if only and name not in only:
                continue
            written.append(take(app, name, prepare, data, out_dir))
            print(written[-1])
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xestools.docshots",
                                     description="Write the user guide's screenshots of the real window (offscreen).")
    parser.add_argument("out", metavar="OUTDIR", type=Path, help="folder for the PNG files, e.g. docs/images")
    parser.add_argument("--data", metavar="DIR", type=Path,
                        help=f"folder of the real I20 scans (default: {real_data_folder()})")
    parser.add_argument("--only", metavar="NAME", action="append",
                        help="write only this screenshot (repeatable); names: " + ", ".join(n for n, _ in SHOTS))
    args = parser.parse_args(argv)
    unknown = set(args.only or ()) - {name for name, _ in SHOTS}
    if unknown:
        parser.error("unknown screenshot(s): " + ", ".join(sorted(unknown)))
    run(args.out, args.data, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
