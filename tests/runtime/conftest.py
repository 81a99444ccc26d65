"""Every process a runtime test starts is ended in teardown, by PID, whatever the test did."""
from __future__ import annotations

import psutil
import pytest

from .apprun import kill_leftovers


@pytest.fixture(autouse=True)
def end_started_processes():
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    yield
    kill_leftovers()
    for child in psutil.Process().children(recursive=True):
        if child.pid not in before:   # started by the test some other way (subprocess.run, a supervisor)
            try:
                child.kill()
            except psutil.Error:
                continue  # it ended by itself meanwhile
