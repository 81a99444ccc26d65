"""Runtime figures that tests must not assert: signal-to-exit time, and the cost of the autosave.

- ``sigterm_exit``: SIGTERM to the supervisor of an idle GUI until the supervisor has exited
  (median of 3 fresh starts, offscreen).
- ``autosave_poll``: one poll of the session state (``session_state()`` + JSON) with a sample map
  open, as the autosave does once a second on the GUI thread (median of 50).
- ``autosave_save``: one atomic session save (with the backup copy), as after every change.

Prints ``name: value unit``.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "data_samples" / "990101_1.nxs"


def _env(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XESTOOLS_")}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), XESTOOLS_LOG_DIR=str(folder / "logs"),
               XESTOOLS_SESSION_FILE=str(folder / "session.json"), XESTOOLS_LOG_LEVEL="WARNING",
               XESTOOLS_SETTINGS_FILE=str(folder / "settings.ini"))
    return env


def _wait_running(run_dir: Path, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited early with {process.returncode}")
        for marker in run_dir.glob("run-*.json"):
            try:
                if json.loads(marker.read_text()).get("phase") == "running":
                    return
            except (OSError, ValueError):
                continue
        time.sleep(0.02)
    raise RuntimeError("the app did not become ready")


def sigterm_exit_seconds() -> float:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        process = subprocess.Popen([sys.executable, str(ROOT / "main_enhanced.py")], env=_env(folder),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_running(folder / "logs" / "run", process)
            time.sleep(0.5)
            sent = time.perf_counter()
            os.kill(process.pid, signal.SIGTERM)
            status = process.wait(60)
            elapsed = time.perf_counter() - sent
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if status != 0:
            raise RuntimeError(f"exit status {status}")
        return elapsed


def autosave_costs() -> tuple[float, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as name:
        os.environ["XESTOOLS_SETTINGS_FILE"] = str(Path(name) / "settings.ini")
        from PySide6.QtWidgets import QApplication

        from xestools.app import window_factory
        from xestools.runtime.autosave import SessionKeeper

        app = QApplication.instance() or QApplication([])
        factory = window_factory()
        window = factory.create(False)
        window.show()
        window.open_paths([str(SAMPLE)])
        deadline = time.monotonic() + 60
        while window.is_loading and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        app.processEvents()
        keeper = SessionKeeper(Path(name) / "session.json", window, delay=1.5, safe_mode=False,
                               on_files=lambda names: None)
        polls = []
        for _ in range(50):
            began = time.perf_counter()
            keeper.state_text()
            polls.append(time.perf_counter() - began)
        saves = []
        for index in range(20):
            keeper.changed()
            began = time.perf_counter()
            keeper.save(force=True)
            saves.append(time.perf_counter() - began)
        keeper.stop()
        window.shutdown()
        window.close()
        factory.wait_for_workers(5000)
        return statistics.median(polls), statistics.median(saves)


def main() -> None:
    exits = [sigterm_exit_seconds() for _ in range(3)]
    print(f"sigterm_exit: {statistics.median(exits):.3f} s")
    poll, save = autosave_costs()
    print(f"autosave_poll: {poll * 1000:.2f} ms")
    print(f"autosave_save: {save * 1000:.2f} ms")


if __name__ == "__main__":
    main()
