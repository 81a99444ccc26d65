"""Benchmark of the XES workflow: load 50 synthetic scans, average, normalise, fit a background.

Writes 50 synthetic I20 NeXus valence-to-core repeats and one wide Kβ1,3 scan to a temporary
folder (the project's sample generator), then times each step of the chain through the same
calls the GUI and CLI use, and the same steps driven through the XES panel (offscreen Qt,
including the plot redraw; the median and the worst of ``--repeat`` runs). Prints ``name: value unit`` lines. Goals (issue 5): the whole chain
< 2 s, each interactive step < 100 ms, the background fit < 1 s.

Run: ``python bench/xes_workflow.py [--scans 50]``
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def report(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.3f} {unit}" if isinstance(value, float) else f"{name}: {value} {unit}", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_scans(folder: Path, count: int) -> tuple[list[Path], Path]:
    from xestools import samples

    start = dt.datetime(2025, 10, 13, 4, 0, 0, tzinfo=dt.timezone.utc)
    paths = []
    for index in range(count):
        number = 995000 + index
        scan = samples.lower_xes_scan(number, start + dt.timedelta(minutes=20 * index), 9620.0, 9680.0, 4.0, "XES_Parameters1")
        path = folder / f"{number}_1.nxs"
        samples.write_nexus(scan, path)
        paths.append(path)
    wide = samples.lower_xes_scan(994999, start, 9558.0, 9619.8, 1.0, "XES_ParametersKb")
    wide_path = folder / "994999_1.nxs"
    samples.write_nexus(wide, wide_path)
    return paths, wide_path


def timed(function, *args, **kwargs):
    begin = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - begin


def core_chain(paths: list[Path], wide_path: Path) -> dict:
    from xestools import analysis
    from xestools.io import load

    figures = {}
    begin = time.perf_counter()
    spectra, figures["load"] = timed(lambda: [load(path)[0] for path in paths])
    (wide,), _ = timed(load, wide_path)
    average, figures["average"] = timed(analysis.average_spectra, spectra, grid="overlap", weighted=False)
    _, figures["average_weighted"] = timed(analysis.average_spectra, spectra, grid="overlap", weighted=True)
    normalised, figures["normalise"] = timed(analysis.normalise_area, average, (9560.0, 9590.0), reference=wide)
    _, figures["lmfit_import"] = timed(__import__, "lmfit")
    from xestools.analysis.background import fit_background

    fit, figures["background_fit"] = timed(
        fit_background, normalised, ["pearson7", "linear"], exclusions=[(9640.0, 9668.0)],
        wide=analysis.normalise_area(wide, (9560.0, 9590.0)),
    )
    from xestools.analysis.metrics import line_shape_metrics

    _, figures["metrics"] = timed(line_shape_metrics, fit.residual, window=(9640.0, 9668.0))
    figures["chain"] = time.perf_counter() - begin
    figures["r_squared"] = fit.r_squared
    return figures


def panel_chain(paths: list[Path], wide_path: Path) -> dict:
    from PySide6.QtWidgets import QApplication

    from xestools.gui.xes.xes_panel import XesPanel
    from xestools.io import load

    app = QApplication.instance() or QApplication([])
    spectra = [load(path)[0] for path in paths]
    wide = load(wide_path)[0]
    panel = XesPanel()
    panel.resize(1300, 850)
    panel.show()
    app.processEvents()

    def settle():
        app.processEvents()  # runs the pending draw_idle: the one redraw the user waits for

    figures = {}
    begin = time.perf_counter()
    items, figures["panel_add_50"] = timed(lambda: (panel.add_spectra(spectra + [wide]), settle()))
    _, figures["panel_stack_52_curves"] = timed(lambda: (panel.controls.stack_check.setChecked(True), settle()))
    _, figures["panel_unstack_52_curves"] = timed(lambda: (panel.controls.stack_check.setChecked(False), settle()))
    _, figures["panel_y_scale_max_52_curves"] = timed(lambda: (panel.controls.y_scale_combo.setCurrentIndex(1), settle()))
    _, figures["panel_y_scale_data_52_curves"] = timed(lambda: (panel.controls.y_scale_combo.setCurrentIndex(0), settle()))
    _, figures["panel_bands_off_52_curves"] = timed(lambda: (panel.controls.bands_check.setChecked(False), settle()))
    _, figures["panel_bands_on_52_curves"] = timed(lambda: (panel.controls.bands_check.setChecked(True), settle()))
    uids = [item.uid for item in panel.workspace.all_items()[:-1]]
    wide_uid = panel.workspace.all_items()[-1].uid
    average, figures["panel_average"] = timed(panel.average, uids, grid="overlap", weighted=False)
    _, figures["panel_average_redraw_52_curves"] = timed(settle)
    for item in panel.workspace.all_items():
        panel.workspace.set_visible(item.uid, item.uid == average.uid)
    settle()
    normalised, figures["panel_normalise"] = timed(panel.normalise, average.uid, (9560.0, 9590.0), reference_uid=wide_uid)
    _, figures["panel_normalise_redraw"] = timed(settle)
    _, figures["panel_toggle_item"] = timed(lambda: (panel.workspace.set_visible(average.uid, False), settle()))
    dialog, figures["panel_open_background_dialog"] = timed(panel.open_background_dialog, normalised.uid)
    dialog.add_exclusion(9640.0, 9668.0)
    dialog.set_wide(wide_uid)
    _, figures["panel_dialog_fit"] = timed(dialog.run_fit)
    _, figures["panel_accept_dialog"] = timed(lambda: (dialog.accept(), settle()))
    figures["panel_chain"] = time.perf_counter() - begin
    panel.shutdown()
    return figures


def median_figures(runs: list[dict]) -> dict:
    """Median of each step over the runs, and its worst case (the machine is shared: noisy)."""
    import statistics

    return {name: (statistics.median(run[name] for run in runs), max(run[name] for run in runs)) for name in runs[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the panel chain (median and max printed)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xes_bench_") as folder:
        begin = time.perf_counter()
        paths, wide_path = write_scans(Path(folder), args.scans)
        report("write_synthetic_scans", time.perf_counter() - begin, "s")
        report("scans", len(paths), "files")
        core = core_chain(paths, wide_path)
        report("load_50_scans", core["load"], "s")
        report("load_per_scan", 1000 * core["load"] / len(paths), "ms")
        report("average_plain", 1000 * core["average"], "ms")
        report("average_weighted", 1000 * core["average_weighted"], "ms")
        report("normalise", 1000 * core["normalise"], "ms")
        report("lmfit_import_first_use", 1000 * core["lmfit_import"], "ms")
        report("background_fit", 1000 * core["background_fit"], "ms")
        report("background_fit_r_squared", core["r_squared"], "")
        report("metrics", 1000 * core["metrics"], "ms")
        report("chain_total", core["chain"], "s")
        panel = median_figures([panel_chain(paths, wide_path) for _ in range(max(1, args.repeat))])
        for name, (median, worst) in panel.items():
            scale, unit = (1.0, "s") if name == "panel_chain" else (1000.0, "ms")
            report(name, scale * median, unit + f" (median of {max(1, args.repeat)}; max {scale * worst:.3f})")
    report("peak_memory_rss", peak_rss_mb(), "MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
