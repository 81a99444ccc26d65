"""Load benchmarks: prints ``name: value unit`` lines.

- ``load_nxs_rxes`` / ``load_dat_rxes``: the real 2D maps (279517_1.nxs, XES_ZnZSM5_air500_279192_1.dat),
  median of several loads (goal: well under 50 ms).
- ``load_nxs_synthetic_300x1000`` / ``load_dat_synthetic_300x1000``: a synthetic I20-format map.
- ``peak_memory_2000x2000_ratio``: peak memory while loading a 2000 × 2000 synthetic NeXus map,
  relative to the size of the loaded map's arrays (goal < 3). Measured both with tracemalloc
  (numpy allocations) and as the RSS increase in a fresh child process; the larger is printed.
  Both measure the reader itself (in-process, as in the reader process or for a proven file).
- ``reader_process_start``: starting the reader process that reads untrusted HDF5 (once per session).
- ``guard_overhead_*``: what the first read of an HDF5 file costs more than later reads, which are
  in-process: the round trip through the warm reader process (median over fresh copies of the file).

The ``load_*`` figures are later reads of an already-read (proven) file, as when a scan is reopened.

Usage: ``python bench/load.py [--real-data DIR] [--repeats N]``
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "io"))

import i20_synth  # noqa: E402  (test helper that writes I20-format files)

from xestools.io import load, sandbox  # noqa: E402
from xestools.io.reader import read_in_process  # noqa: E402


def median_ms(path, repeats: int) -> float:
    load(path)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        load(path)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def first_read_overhead_ms(path, repeats: int) -> tuple[float, float]:
    """(first read through the warm reader process, later in-process read), medians in ms."""
    sandbox.warm_up()
    first, later = [], []
    for _ in range(repeats):
        sandbox.forget()
        start = time.perf_counter()
        load(path)
        first.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        load(path)
        later.append((time.perf_counter() - start) * 1e3)
    return statistics.median(first), statistics.median(later)


def reader_start_ms() -> float:
    sandbox.shutdown()
    start = time.perf_counter()
    sandbox.warm_up()
    return (time.perf_counter() - start) * 1e3


def print_guard_overhead(name: str, path, repeats: int) -> None:
    first, later = first_read_overhead_ms(path, repeats)
    print(f"load_{name}_first_read: {first:.2f} ms")
    print(f"guard_overhead_{name}: {first - later:.2f} ms per file")


def arrays_bytes(rxes) -> int:
    return sum(a.nbytes for a in (rxes.incident, rxes.emission, rxes.intensity, rxes.uncertainty,
                                  rxes.monitor, rxes.mask) if a is not None)


def _rss_child(path: str) -> None:
    """Child process: print the RSS increase of one load and the loaded arrays' size."""
    import psutil

    process = psutil.Process()
    import h5py  # noqa: F401  (imported before the baseline so library pages do not count)
    import numpy  # noqa: F401

    gc.collect()
    baseline = process.memory_info().rss
    peak = [baseline]
    import threading

    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rxes = read_in_process("load", path)[0]
    stop.set()
    sampler.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    print(peak[0] - baseline, arrays_bytes(rxes))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-data", default=os.environ.get("XESTOOLS_REAL_DATA", ROOT.parent / "shared" / "data" / "i20"))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        _rss_child(args.rss_child)
        return 0
    real = Path(args.real_data)
    nxs, dat = real / "279517_1.nxs", real / "XES_ZnZSM5_air500_279192_1.dat"
    print(f"reader_process_start: {reader_start_ms():.0f} ms")
    if nxs.is_file():
        print(f"load_nxs_rxes: {median_ms(nxs, args.repeats):.2f} ms")
        print_guard_overhead("nxs_rxes", nxs, args.repeats)
    else:
        print(f"load_nxs_rxes: skipped ({nxs} not found)")
    if dat.is_file():
        print(f"load_dat_rxes: {median_ms(dat, args.repeats):.2f} ms")
    else:
        print(f"load_dat_rxes: skipped ({dat} not found)")
    with tempfile.TemporaryDirectory() as folder:
        scan = i20_synth.make_rxes(300, 1000, seed=3)
        synthetic_nxs, synthetic_dat = Path(folder) / "300x1000.nxs", Path(folder) / "300x1000.dat"
        i20_synth.write_nexus(synthetic_nxs, scan)
        i20_synth.write_ascii(synthetic_dat, scan)
        repeats = max(3, args.repeats // 3)
        print(f"load_nxs_synthetic_300x1000: {median_ms(synthetic_nxs, repeats):.2f} ms")
        print(f"load_dat_synthetic_300x1000: {median_ms(synthetic_dat, repeats):.2f} ms")
        print_guard_overhead("nxs_synthetic_300x1000", synthetic_nxs, repeats)
        del scan
        big = Path(folder) / "2000x2000.nxs"
        scan = i20_synth.make_rxes(2000, 2000, seed=4)
        i20_synth.write_nexus(big, scan)
        del scan
        gc.collect()
        tracemalloc.start()
        rxes = read_in_process("load", str(big))[0]
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size = arrays_bytes(rxes)
        del rxes
        gc.collect()
        child = subprocess.run([sys.executable, __file__, "--rss-child", str(big)], capture_output=True, text=True,
                               check=True)
        rss_increase, child_size = (int(v) for v in child.stdout.split())
        traced_ratio = traced_peak / size
        rss_ratio = rss_increase / child_size
        print(f"peak_memory_2000x2000_traced: {traced_ratio:.2f} x ({traced_peak / 1e6:.0f} MB for {size / 1e6:.0f} MB of arrays)")
        print(f"peak_memory_2000x2000_rss: {rss_ratio:.2f} x ({rss_increase / 1e6:.0f} MB)")
        print(f"peak_memory_2000x2000_ratio: {max(traced_ratio, rss_ratio):.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
