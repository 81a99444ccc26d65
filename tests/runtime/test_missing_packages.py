"""Launching with a Python that lacks a package: one line naming it and the install command, no traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: ``sitecustomize`` runs before the program: it makes the named packages unimportable, as in a bare interpreter
_BLOCKER = "import sys\nfor name in {names!r}:\n    sys.modules[name] = None\n"


def _run(tmp_path, names, *argv):
    (tmp_path / "sitecustomize.py").write_text(_BLOCKER.format(names=list(names)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(PROJECT_ROOT)]), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, *argv], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv", [[str(PROJECT_ROOT / "main_enhanced.py")], ["-m", "xestools.app", "--single-process"]])
def test_the_window_without_pyside6_says_which_package_and_how_to_install(tmp_path, argv):
    result = _run(tmp_path, ["PySide6"], *argv)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "PySide6 (PySide6-Essentials) is not installed" in lines[0]
    assert f"{sys.executable} -m pip install" in lines[0]
    assert "Traceback" not in result.stderr


def test_the_command_line_without_h5py_and_numpy_names_both(tmp_path):
    result = _run(tmp_path, ["numpy", "h5py"], "-m", "xestools", "info", str(PROJECT_ROOT / "data_samples"))
    assert result.returncode == 2
    assert "packages numpy, h5py are not installed" in result.stderr and "Traceback" not in result.stderr
