"""Shared fixtures: headless Qt, the real I20 files next to the checkout."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "QtAgg")

# Tests (and the app processes they start) must never read or write the user's own settings,
# recent files or session: point the per-user folders at a throw-away one for the whole run.
_USER_FOLDERS = tempfile.mkdtemp(prefix="xestools-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_USER_FOLDERS, "config")
os.environ["XDG_STATE_HOME"] = os.path.join(_USER_FOLDERS, "state")
os.environ.setdefault("XESTOOLS_SETTINGS_FILE", os.path.join(_USER_FOLDERS, "settings.ini"))

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("XESTOOLS_REAL_DATA", PROJECT_ROOT.parent / "shared" / "data" / "i20"))
SAMPLES = PROJECT_ROOT / "data_samples"


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of the real I20 scans; skip when absent, except under CI=true where that fails."""
    if not REAL_DATA.is_dir() or not any(REAL_DATA.iterdir()):
        message = f"real I20 data not found at {REAL_DATA} (see ../shared/data/README.md)"
        if _under_ci():
            pytest.fail(message)
        pytest.skip(message)
    return REAL_DATA


@pytest.fixture(scope="session")
def real_file(real_data):
    """``real_file("279517_1.nxs")`` -> path of that real file (skip/fail as for real_data)."""

    def _get(name: str) -> Path:
        path = real_data / name
        if not path.is_file():
            message = f"real I20 file {name} not found in {real_data}"
            if _under_ci():
                pytest.fail(message)
            pytest.skip(message)
        return path

    return _get


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture()
def sample(samples_dir):
    """``sample(name)``: the path of a bundled sample scan as a string, as a user would type it."""
    return lambda name: str(samples_dir / name)


@pytest.fixture
def replay_process():
    """``replay_process(src, dest, *options, rate=300)`` starts ``python -m xestools.replay``; all are ended
    after the test (killed if still writing)."""
    started: list[subprocess.Popen] = []

    def start(src, dest, *options, rate=300):
        env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
        process = subprocess.Popen([sys.executable, "-m", "xestools.replay", str(src), str(dest), "--rate", str(rate),
                                    *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)
