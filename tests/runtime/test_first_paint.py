"""The launch path to the first paint: the runtime does nothing there that can wait until the window
is up (the memory monitor's psutil import once took 0.1–0.3 s before the first paint)."""
from __future__ import annotations

import json
import subprocess
import sys

from .apprun import app_env, make_dirs

LAUNCH = r"""
import json, sys
from xestools.gui import main_window
seen = {}
paint = main_window.MainWindow.paintEvent
def first_paint(self, event):
    seen.setdefault("psutil_at_first_paint", "psutil" in sys.modules)
    return paint(self, event)
main_window.MainWindow.paintEvent = first_paint
from xestools.app import main
seen["status"] = main(["--single-process", "--no-restore", "--quit-after", "1.5"])
seen["psutil_at_exit"] = "psutil" in sys.modules
print(json.dumps(seen))
"""


def test_the_memory_monitor_starts_after_the_first_paint(tmp_path):
    dirs = make_dirs(tmp_path)
    env = app_env(dirs, XESTOOLS_SETTINGS_FILE=str(tmp_path / "settings.ini"))
    result = subprocess.run([sys.executable, "-c", LAUNCH], env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"psutil_at_first_paint": False, "status": 0, "psutil_at_exit": True}, result.stderr
