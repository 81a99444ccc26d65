"""A settings path that is not a regular file is never opened: Qt would block reading a FIFO for good."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
from xestools.gui.common import settings
store = settings.settings()
store.setValue("probe", "written")
store.sync()
print(settings.settings().value("probe"), store.fileName())
"""


def test_a_fifo_as_settings_file_is_left_alone_and_settings_still_work(tmp_path):
    fifo = tmp_path / "settings.ini"
    os.mkfifo(fifo)
    env = dict(os.environ, XESTOOLS_SETTINGS_FILE=str(fifo), PYTHONPATH=str(PROJECT_ROOT), TMPDIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    value, used = result.stdout.split()
    assert value == "written"
    assert used != str(fifo) and os.path.isfile(used)
    assert "is a FIFO (named pipe), not a regular file" in result.stderr
    assert fifo.is_fifo(), "the FIFO itself must not be touched"
