"""Soak: 5,000 synthetic mouse moves, clicks and key presses through the main window and plot canvases.

Would have caught the PySide6 build that drops a reference to None/True/False per call: the counts
must not fall, and nothing may be reported.
"""
from __future__ import annotations

import json
import subprocess
import sys

from .apprun import PROJECT_ROOT, app_env, make_dirs


def test_soak_5000_events_keeps_refcounts_and_reports_nothing(tmp_path):
    dirs = make_dirs(tmp_path)
    result_path = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, "-m", "tests.runtime.soak_driver", str(result_path), "5000"],
                          env=app_env(dirs), cwd=str(PROJECT_ROOT), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(result_path.read_text(encoding="utf-8"))
    print(result)
    assert result["events"] == 5000
    assert result["window_canvases"] >= 1, "the main window showed a plot canvas for the sample map"
    assert result["seen"]["motion"] > 500 and result["seen"]["press"] > 100 and result["seen"]["key"] > 50
    for name in ("None", "True", "False"):
        assert result["after"][name] >= result["before"][name] - 50, (name, result)
    assert result["reports"] == 0
    assert not list(dirs.crash_dir.glob("*.json")), "no crash report during the soak"
    assert not list(dirs.run_dir.glob("run-*.json")), "clean exit"
