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


def test_the_supervisor_launches_the_gui_before_loading_its_crash_reporting(tmp_path):
    """The supervisor starts the GUI process first; what it needs to judge that process's end
    (crash reports, post-mortem, session age) is imported after the launch, not on the GUI's path."""
    probe = ("import json, sys; import xestools.app, xestools.runtime.supervisor; "
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('xestools'))))")
    env = app_env(make_dirs(tmp_path))
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
                            check=True)
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert not loaded & {"xestools.runtime.crash_reports", "xestools.runtime.postmortem", "xestools.session"}
