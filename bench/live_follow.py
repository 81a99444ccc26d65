"""Following a growing scan (Qt-free part): prints ``name: value unit`` lines.

The replayer (``python -m xestools.replay``, a child process, as GDA is another program) writes a
synthetic 300 × 1000 I20 map at 500 points/s; this process follows it with :class:`xestools.live.Follower`,
polling every ``--interval`` s (the default follow interval).

- ``update_ms_at_10pct`` / ``_50pct`` / ``_100pct``: median cost of one poll that found new points
  (read the new rows + rebuild the map), while the scan passes 10 %, 50 % and 100 % (the last one
  includes the final update), and the minimum (less disturbed by other load on the machine).
  Goal: the 100 % figure within 1.5 × the 10 % one.
- ``latency_ms_median`` / ``latency_ms_p95``: from a point's flush by the writer to the poll that
  returns a model containing it (the GUI drawing is added to this after the GUI reshape).
  Goal: ≤ 1.5 × the polling interval + 50 ms.
- ``gui_<kind>_latency_ms_median`` / ``_p95``: the same in the window (``MainWindow`` with its
  ``LiveController``, a CEE cut on the map): from a point's flush by the writer to the end of the
  event-loop turn that drew the map and its profile with it (the controller's poll, then the canvas'
  idle draw). Goal: ≤ 1.5 × the polling interval + 50 ms.
- ``gui_<kind>_update_ms_at_10pct`` / ``_50pct`` / ``_100pct``: median cost of one such tick that found
  new points (read, rebuild, map + cut profile recomputed and drawn).
- ``gui_<kind>_bare_update_ms_at_…``: the same-run reference, a bare blitted update on plain
  matplotlib canvases of the same pixel sizes with the same map and a profile (``set_data``,
  ``draw_artist`` over the saved background, ``blit``; the median of three runs after each of the
  window's ticks and ten after the phase, so that both see the same load on the machine), and
  ``gui_<kind>_update_ratio_at_…``, the window's tick ÷ that. Goal: ≤ 1.5 at every stage.
- ``folder_list_500_ms``, ``folder_idle_poll_ms``, ``folder_new_scan_poll_ms``: the folder poller
  over 500 sample scans (first listing, a poll with nothing new, a poll finding one new scan).

To stay short, each phase starts the replay just before its mark (``--start-at``, written at once)
and paces ``--window`` seconds of points up to it; ``--full`` replays the whole scan instead (10 min).

Usage: ``python bench/live_follow.py [--format nxs|dat|both] [--interval S] [--window S] [--full] [--no-gui]``
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "io"))

import i20_synth  # noqa: E402  (test helper that writes I20-format files)
sys.path.insert(0, str(ROOT / "bench"))
from _common import BareLiveUpdate  # noqa: E402

from xestools.live import Follower  # noqa: E402

SHAPE = (300, 1000)
RATE = 500.0


def _replay(src: Path, dest: Path, times: Path, *, start_at: int, stop_after: int | None) -> subprocess.Popen:
    command = [sys.executable, "-m", "xestools.replay", str(src), str(dest), "--rate", str(RATE),
               "--start-at", str(start_at), "--times", str(times)]
    if stop_after is not None:
        command += ["--stop-after", str(stop_after)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _follow(dest: Path, process: subprocess.Popen, interval: float, last: int):
    """Poll every ``interval`` s until the writer is done and ``last`` points are in; returns the updates."""
    while not dest.exists() and process.poll() is None:
        time.sleep(0.01)
    follower = Follower(dest, stale_after=3600)
    updates = []                                   # (seconds the poll took, when it returned, points in the model)
    next_poll = time.monotonic()
    while follower.following:
        started = time.perf_counter()
        update = follower.poll()
        took = time.perf_counter() - started
        if update.changed:
            updates.append((took, time.monotonic(), update.progress.measured))
        if process.poll() is not None and follower.progress.measured >= last:
            break
        next_poll += interval
        time.sleep(max(0.0, next_poll - time.monotonic()))
    _, errors = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"the replayer failed: {errors}")
    return updates


def _latencies(times: list, updates: list, first_paced: int) -> list[float]:
    """Seconds from each paced point's flush to the first update whose model holds it."""
    found = []
    position = 0
    for count, written in times:
        if count <= first_paced:
            continue
        while position < len(updates) and updates[position][2] < count:
            position += 1
        if position < len(updates):
            found.append(updates[position][1] - written)
    return found


def _phase(src: Path, folder: Path, label: str, fraction: float, args) -> tuple[float, list[float]]:
    total = SHAPE[0] * SHAPE[1]
    mark = int(round(total * fraction))
    start_at = max(0, mark - int(args.window * RATE)) if not args.full else 0
    dest, times = folder / f"{label}{src.suffix}", folder / f"{label}.times.json"
    process = _replay(src, dest, times, start_at=start_at, stop_after=None if mark >= total else mark)
    updates = _follow(dest, process, args.interval, mark)
    written = json.loads(times.read_text())
    # the first update catches up with the points written at once: not an incremental update
    costs = [took * 1000.0 for took, _, _ in updates[1:]] or [updates[0][0] * 1000.0]
    return costs, _latencies(written, updates, start_at)


def _source(folder: Path, kind: str) -> Path:
    scan = i20_synth.make_rxes(*SHAPE, seed=11)
    path = folder / f"{kind}_source_300x1000_1.{kind}"
    (i20_synth.write_nexus if kind == "nxs" else i20_synth.write_ascii)(path, scan)
    return path


def _folder(folder: Path) -> None:
    """The folder poller over 500 copies of a sample scan: first listing, an idle poll, one new scan."""
    import shutil

    from xestools.live import FolderPoller

    watched = folder / "watched"
    watched.mkdir()
    sample = ROOT / "data_samples" / "990111_1.nxs"
    for number in range(500):
        shutil.copy(sample, watched / f"{700000 + number}_1.nxs")
    os.utime(watched, ns=(10**18, 10**18))          # a settled folder mtime, as a minute later
    poller = FolderPoller(watched)
    started = time.perf_counter()
    listed = len(poller.poll())
    print(f"folder_list_{listed}_ms: {(time.perf_counter() - started) * 1000:.1f} ms")
    idle = []
    for _ in range(20):
        started = time.perf_counter()
        poller.poll()
        idle.append(time.perf_counter() - started)
    print(f"folder_idle_poll_ms: {statistics.median(idle) * 1000:.3f} ms")
    shutil.copy(sample, watched / "700500_1.nxs")
    started = time.perf_counter()
    new = poller.poll()
    assert len(new) == 1
    print(f"folder_new_scan_poll_ms: {(time.perf_counter() - started) * 1000:.1f} ms")


def _gui_follow(window, app, dest: Path, process: subprocess.Popen, interval: float, last: int, between=None):
    """The window follows ``dest``: one controller poll + drawing per ``interval``; returns the updates.

    ``between()`` runs after each tick that found new points, while the loop waits for the next poll."""
    key = os.path.abspath(dest)
    while not dest.exists() and process.poll() is None:
        time.sleep(0.01)
    window.live.follow_path(str(dest))
    while window.workspace.dataset(key) is None:
        app.processEvents()
        time.sleep(0.005)
    window.live.timer.stop()                       # this loop drives the polls, at the same interval
    if window.rxes_panel.document is not None and not window.rxes_panel.document.cuts.entries():
        window.rxes_panel.add_cut("CEE")
    app.processEvents()
    live = window.live.live
    updates = []                                   # (seconds the tick took, when it ended, points drawn)
    next_poll = time.monotonic()
    while live.is_following(key):
        started = time.perf_counter()
        before = live.progress(key).measured
        window.live.poll()
        app.processEvents()                        # the canvases' idle draws
        took = time.perf_counter() - started
        measured = live.progress(key).measured
        if measured != before:
            updates.append((took, time.monotonic(), measured))
            if between is not None:
                between()
        if process.poll() is not None and measured >= last:
            break
        next_poll += interval
        while time.monotonic() < next_poll:
            app.processEvents()
            time.sleep(0.002)
    _, errors = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"the replayer failed: {errors}")
    window.workspace.close(key)
    app.processEvents()
    return updates


def _gui(folder: Path, src: Path, kind: str, args) -> None:
    from PySide6.QtWidgets import QApplication

    os.environ["XESTOOLS_SETTINGS_FILE"] = str(folder / "settings.ini")
    app = QApplication.instance() or QApplication([])
    from xestools.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1366, 768)
    window.show()
    app.processEvents()
    total = SHAPE[0] * SHAPE[1]
    latencies: list[float] = []
    from xestools import load

    intensity = next(m for m in load(src) if hasattr(m, "incident_axis")).intensity   # the map being replayed
    sizes = [(c.canvas.width(), c.canvas.height()) for c in (window.rxes_panel.map_canvas, window.rxes_panel.profile_canvas)]
    for fraction in (0.1, 0.5, 1.0):
        mark = int(round(total * fraction))
        start_at = max(0, mark - int(args.window * RATE))
        label = f"gui_{kind}_{int(fraction * 100)}"
        dest, times = folder / f"{label}_1{src.suffix}", folder / f"{label}.times.json"
        process = _replay(src, dest, times, start_at=start_at, stop_after=None if mark >= total else mark)
        reference = BareLiveUpdate(intensity, *sizes, fraction)
        samples: list[float] = []
        try:
            # the reference runs between the window's ticks (three updates after each), under the same load
            updates = _gui_follow(window, app, dest, process, args.interval, mark,
                                  between=lambda: samples.extend(reference.update() for _ in range(3)))
            samples += [reference.update() for _ in range(10)]
        finally:
            reference.close()
        costs = [took * 1000.0 for took, _, _ in updates[1:]] or [updates[0][0] * 1000.0]
        latencies += _latencies(json.loads(times.read_text()), updates, start_at)
        bare = statistics.median(samples) * 1000.0
        stage = f"at_{int(fraction * 100)}pct"
        print(f"gui_{kind}_update_ms_{stage}: {statistics.median(costs):.1f} ms")
        print(f"gui_{kind}_bare_update_ms_{stage}: {bare:.1f} ms")
        print(f"gui_{kind}_update_ratio_{stage}: {statistics.median(costs) / bare:.2f} x")
    ordered = sorted(latencies)
    print(f"gui_{kind}_latency_ms_median: {statistics.median(ordered) * 1000:.0f} ms")
    print(f"gui_{kind}_latency_ms_p95: {ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms")
    window.shutdown()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--format", choices=("nxs", "dat", "both"), default="both")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval (s)")
    parser.add_argument("--window", type=float, default=6.0, help="seconds of paced points per phase")
    parser.add_argument("--full", action="store_true", help="replay the whole scan once (about 10 minutes)")
    parser.add_argument("--no-gui", action="store_true", help="skip the window's latency and update cost")
    args = parser.parse_args(argv)
    kinds = ("nxs", "dat") if args.format == "both" else (args.format,)
    print(f"shape: {SHAPE[0]}x{SHAPE[1]} points")
    print(f"rate: {RATE:g} points/s")
    print(f"poll_interval: {args.interval * 1000:.0f} ms")
    with tempfile.TemporaryDirectory(prefix="xestools-live-bench-") as name:
        folder = Path(name)
        _folder(folder)
        for kind in kinds:
            src = _source(folder, kind)
            latencies: list[float] = []
            phases = ((1.0,) if args.full else (0.1, 0.5, 1.0))
            for fraction in phases:
                costs, found = _phase(src, folder, f"{kind}_{int(fraction * 100)}", fraction, args)
                latencies += found
                where = "full_scan" if args.full else f"at_{int(fraction * 100)}pct"
                # the median is what a user sees; the minimum is the cost without the other load on the machine
                print(f"{kind}_update_ms_{where}: {statistics.median(costs):.1f} ms")
                print(f"{kind}_update_ms_min_{where}: {min(costs):.1f} ms")
                print(f"{kind}_updates_{where}: {len(costs)} updates")
            ordered = sorted(latencies)
            print(f"{kind}_latency_ms_median: {statistics.median(ordered) * 1000:.0f} ms")
            print(f"{kind}_latency_ms_p95: {ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms")
            print(f"{kind}_latency_goal_ms: {(1.5 * args.interval + 0.05) * 1000:.0f} ms")
            if not args.no_gui:
                _gui(folder, src, kind, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
