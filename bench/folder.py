"""Watching a data folder in the window: prints ``name: value unit`` lines.

A folder holds 500 scans made by the sample generator (``xestools.samples.lower_xes_scan``, NeXus)
and one growing scan (the replayer writes a sample RXES map into it at 200 points/s, a child process).
The window watches it (File → Watch folder…, the same call as ``--watch``), polling every
``--interval`` s:

- ``folder_listed_500_s``: from starting to watch until all 500 (+ the growing one) are listed in the
  Datasets dock. Goal ≤ 2 s.
- ``folder_longest_stall_ms``: the longest gap between two ticks of a 5 ms QTimer while they are
  listed, until the newest scan's first points arrive and its map is shown (how long the window did not answer). Goal ≤ 100 ms. The newest scan is then opened and drawn
  (``folder_newest_opened_s``); ``folder_longest_stall_ms_incl_first_map_draw`` includes that first
  drawing of the map tab (matplotlib's first draw of a canvas), which is not the listing.
- ``folder_rss_mb_500_listed`` / ``folder_rss_mb_5_opened``: resident memory with the 500 listed, and
  after 5 of them are opened (double-click on the list); ``folder_rss_mb_window``: the empty window.

Usage: ``QT_QPA_PLATFORM=offscreen python bench/folder.py [--interval S] [--scans N]``
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _make_scans(folder: Path, count: int) -> None:
    from xestools import samples

    start = dt.datetime(2025, 10, 13, 2, 0, tzinfo=dt.timezone.utc)
    for index in range(count):
        number = 800000 + index
        scan = samples.lower_xes_scan(number, start + dt.timedelta(minutes=index), 9620.0, 9680.0, 1.0,
                                      "XES_Parameters1")
        samples.write_nexus(scan, folder / f"{number}_1.nxs")
    settled = time.time_ns() - 10**10
    os.utime(folder, ns=(settled, settled))


def _spin(app, seconds: float, until=None) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until and until()):
        app.processEvents()
        time.sleep(0.002)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval (s)")
    parser.add_argument("--scans", type=int, default=500)
    args = parser.parse_args(argv)
    os.environ["XESTOOLS_POLL_INTERVAL"] = f"{args.interval:g}"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from xestools.gui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="xestools-folder-bench-") as name:
        os.environ["XESTOOLS_SETTINGS_FILE"] = os.path.join(name, "settings.ini")
        folder = Path(name) / "visit"
        folder.mkdir()
        _make_scans(folder, args.scans)
        window = MainWindow()
        window.resize(1366, 768)
        window.show()
        _spin(app, 0.5)
        print(f"folder_rss_mb_window: {_rss_mb():.0f} MB")
        source = ROOT / "data_samples" / "990101_1.nxs"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        writer = subprocess.Popen([sys.executable, "-m", "xestools.replay", str(source),
                                   str(folder / "990999_1.nxs"), "--rate", "200", "--swmr"], env=env)
        _spin(app, 0.5)
        ticks: list[float] = []
        probe = QTimer()
        probe.setInterval(5)
        probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
        probe.start()
        _spin(app, 0.1)
        bar = window.live.bar
        added: list[float] = []
        window.workspace.datasets_changed.connect(lambda: added.append(time.perf_counter()))
        started = time.perf_counter()
        window.watch_folder(str(folder))
        _spin(app, 30, until=lambda: bar.entry_list.count() >= args.scans + 1)
        listed_at = time.perf_counter()
        _spin(app, 0.3)
        opened_at = None
        _spin(app, 30, until=lambda: window.rxes_panel.document is not None)   # the newest, growing scan
        opened_at = time.perf_counter()
        _spin(app, 1.0)
        probe.stop()
        gaps = [(b - a, b) for a, b in zip(ticks, ticks[1:]) if b > started]
        first_open = added[0] if added else opened_at
        listing = [gap for gap, end in gaps if end <= max(listed_at, first_open - 1e-4)] or [0.0]
        print(f"folder_listed_{args.scans}_s: {listed_at - started:.2f} s")
        print(f"folder_listed_count: {bar.entry_list.count()} scans")
        print(f"folder_longest_stall_ms: {max(listing) * 1000:.0f} ms")
        print(f"folder_newest_opened_s: {opened_at - started:.2f} s")
        print(f"folder_longest_stall_ms_incl_first_map_draw: {max(g for g, _ in gaps) * 1000:.0f} ms")
        print(f"folder_rss_mb_{args.scans}_listed: {_rss_mb():.0f} MB")
        for row in range(1, 6):
            bar.entry_list.itemDoubleClicked.emit(bar.entry_list.item(row))
        _spin(app, 60, until=lambda: len(window.workspace.datasets) >= 6 and not window.is_loading)
        print(f"folder_datasets_open: {len(window.workspace.datasets)} datasets")
        print(f"folder_rss_mb_5_opened: {_rss_mb():.0f} MB")
        writer.kill()
        writer.wait()
        window.shutdown()
        window.deleteLater()
        _spin(app, 0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
