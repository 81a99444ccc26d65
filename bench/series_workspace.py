"""Benchmark of series in the workspace: scans joining their series as they arrive, averaging a
series of maps, and the dataset panel redrawn with series.

N synthetic repeats of one 60 × 200 map (different Poisson-like noise, jittered read-backs) arrive
one by one in the Qt-free workspace (each grouped into its series, the kept-up average recomputed),
then the series is averaged once more and the dataset panel (offscreen Qt) is filled with the groups.
Prints ``name: value unit`` lines (the median of ``--repeat`` runs).

Run: ``python bench/series_workspace.py [--maps 20]``
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time

from _common import app, synthetic_map   # noqa: F401  (sets the offscreen platform and sys.path)

import numpy as np


def repeats(count: int):
    from xestools.model import ScanInfo

    base = synthetic_map(60, 200)
    info = ScanInfo(sample_name="ZnO_bench", command="")
    maps = []
    for index in range(count):
        rng = np.random.default_rng(index)
        noisy = base.intensity * (1 + 0.05 * rng.standard_normal(base.shape))
        maps.append(dataclasses.replace(base, intensity=noisy, source=f"/bench/{900000 + index}_1.nxs",
                                        info=dataclasses.replace(info, scan_number=900000 + index)))
    return maps


def run_once(maps) -> dict[str, float]:
    from xestools.gui.dataset_panel import DatasetPanel
    from xestools.workspace import Workspace
    from xestools.workspace.datasets import LoadOutcome
    from xestools.workspace.series import average_map_series

    workspace = Workspace()
    workspace.series.follow_averages = True
    times: dict[str, float] = {}
    start = time.perf_counter()
    workspace.add_outcomes([LoadOutcome(m.source, objects=[m]) for m in maps[:2]])
    derived = average_map_series(workspace, os.path.abspath(maps[0].source))
    arrivals = []
    for rxes_map in maps[2:]:
        tick = time.perf_counter()
        workspace.add_outcomes([LoadOutcome(rxes_map.source, objects=[rxes_map])])
        arrivals.append(time.perf_counter() - tick)
    times["arrivals_total_s"] = time.perf_counter() - start
    times["arrival_with_kept_up_average_ms"] = 1000 * statistics.median(arrivals)
    tick = time.perf_counter()
    average_map_series(workspace, derived.members[0])
    times["average_series_of_all_ms"] = 1000 * (time.perf_counter() - tick)
    panel = DatasetPanel()
    tick = time.perf_counter()
    panel.set_datasets(workspace.datasets, workspace.current_key, workspace.series.groups())
    times["dataset_panel_fill_ms"] = 1000 * (time.perf_counter() - tick)
    panel.deleteLater()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    app()
    maps = repeats(args.maps)
    runs = [run_once(maps) for _ in range(args.repeat)]
    print(f"maps: {args.maps} count")
    print("map_shape: 60x200 points")
    for name in runs[0]:
        unit = "s" if name.endswith("_s") else "ms"
        print(f"{name}: {statistics.median(run[name] for run in runs):.3f} {unit}")


if __name__ == "__main__":
    main()
