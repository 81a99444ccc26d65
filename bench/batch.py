"""Batch benchmark: cut + metrics on 200 spectra and 20 maps written by the sample generator.

Writes, in a temporary folder, 200 Kβ valence-to-core spectra (100 NeXus, 100 I20 ASCII) and 20 Kα
RXES maps (10 + 10) with ``xestools.samples`` (different scan numbers, hence different Poisson noise),
then runs ``xestools.batch.run_batch`` with a recipe of two cuts (CEE at Kα1, CIE above the edge) and
line-shape metrics, once with 1 worker and once with all cores, after an untimed warm-up run (which
starts the worker server process); then on a 2-worker Dask ``LocalCluster`` (``scheduler="local:2"``,
its start-up and a warm-up run on 4 files not timed) compared with the process pool of 2 workers
timed in the same run. Prints ``name: value unit`` lines:

- ``batch_files``: number of input files
- ``batch_1_worker``: files per second with one worker process
- ``batch_N_workers``: files per second with N = all cores
- ``batch_pool_2_workers`` / ``batch_dask_local_2_workers``: files per second, pool and cluster path
- ``batch_dask_vs_pool``: their ratio (goal ≥ 0.7; the cluster's overhead per file)

Usage: ``python bench/batch.py [--repeats N]`` (best of N runs per setting, default 1).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xestools import samples  # noqa: E402
from xestools.batch import CutStep, Recipe, run_batch  # noqa: E402

N_SPECTRA = 200
N_MAPS = 20


def write_inputs(folder: Path) -> list[Path]:
    """The 220 input files, half NeXus and half ASCII of each kind."""
    paths: list[Path] = []
    start = dt.datetime(2025, 10, 13, 4, 0, 0, tzinfo=samples.BST)
    for index in range(N_SPECTRA):
        scan = samples.lower_xes_scan(991000 + index, start + dt.timedelta(minutes=20 * index), 9620.0, 9680.0,
                                      4.0, "XES_Parameters1")
        paths.append(_write(scan, folder, ascii_copy=index % 2 == 1))
    base = samples.rxes_map_scan()
    for index in range(N_MAPS):
        scan = dataclasses.replace(base, number=992000 + index)
        paths.append(_write(scan, folder, ascii_copy=index % 2 == 1))
    return paths


def _write(scan, folder: Path, *, ascii_copy: bool) -> Path:
    if ascii_copy:
        path = folder / scan.ascii_name
        samples.write_ascii(scan, path)
    else:
        path = folder / scan.nexus_name
        samples.write_nexus(scan, path)
    return path


def recipe() -> Recipe:
    return Recipe(name="bench", cuts=(CutStep("CEE", samples.KALPHA1, 1.0), CutStep("CIE", 9661.1, 0.6)),
                  metrics=True)


def files_per_second(inputs: list[Path], out: Path, jobs: int, repeats: int, run=run_batch) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        report = run([str(p) for p in inputs], recipe(), out, jobs=jobs)
        elapsed = time.perf_counter() - began
        if report.failures:
            raise SystemExit(f"bench/batch.py: {len(report.failures)} input(s) failed: "
                             f"{report.failures[0].problems()[0]}")
        best = min(best, elapsed)
    return len(inputs) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="xestools-bench-batch-") as temporary:
        folder = Path(temporary)
        (folder / "in").mkdir()
        (folder / "out").mkdir()
        inputs = write_inputs(folder / "in")
        run_batch([str(p) for p in inputs[:4]], recipe(), folder / "out", jobs=cores)   # starts the worker server
        print(f"batch_files: {len(inputs)} files")
        print(f"batch_1_worker: {files_per_second(inputs, folder / 'out', 1, args.repeats):.1f} files/s")
        print(f"batch_{cores}_workers: {files_per_second(inputs, folder / 'out', cores, args.repeats):.1f} files/s")
        pool, dask = pool_and_cluster(inputs, folder / "out", args.repeats)
        print(f"batch_pool_2_workers: {pool:.1f} files/s")
        print(f"batch_dask_local_2_workers: {dask:.1f} files/s")
        print(f"batch_dask_vs_pool: {dask / pool:.2f} x")
    return 0


def pool_and_cluster(inputs: list[Path], out: Path, repeats: int) -> tuple[float, float]:
    """Files/s of the 2-process pool and of a 2-worker LocalCluster (started and warmed up untimed)."""
    from functools import partial

    from xestools.batch_cluster import DaskRunner

    pool = files_per_second(inputs, out, 2, repeats)
    with DaskRunner("local:2") as cluster:
        on_cluster = partial(run_batch, scheduler=cluster)
        on_cluster([str(p) for p in inputs[:4]], recipe(), out)     # the workers import xestools
        dask = files_per_second(inputs, out, 2, repeats, run=on_cluster)
    return pool, dask


if __name__ == "__main__":
    sys.exit(main())
