"""Issue 17: quitting while a session is being restored wiped it (SIGTERM 0.1–0.3 s after the start of a
48-file session saved a session with 0 files, and the next launch restored the empty one). The real
application runs in a child process, offscreen, on copies of the real files; it is told to quit while
the restore is still reading them, and the session it leaves must still list every file."""
from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from xestools.session import SessionStore

from .apprun import app_env, console, finish, make_dirs, start, wait_ready

MAPS, SPECTRA = ("279517_1.nxs",), ("ZnO_standard_280772_1.dat", "ZnO_standard_280754_1.dat",
                                     "XES_ZnZSM5_air500_279192_1.dat")


def copies(real_file, folder, count: int = 48) -> list[str]:
    """``count`` files: a few maps (slow to read) and many spectra, each a copy under its own name."""
    folder.mkdir()
    names = [MAPS[0]] * 8 + [SPECTRA[i % len(SPECTRA)] for i in range(count - 8)]
    paths = []
    for index, name in enumerate(names):
        path = folder / f"copy{index:02d}_{name}"
        shutil.copyfile(real_file(name), path)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("delay", [0.1, 0.3])
def test_sigterm_during_a_restore_keeps_every_file_of_the_session(tmp_path, real_file, delay):
    dirs = make_dirs(tmp_path)
    paths = copies(real_file, tmp_path / "data")
    files = [{"path": path, "kind": "rxes" if path.endswith(".nxs") else "xes"} for path in paths]
    SessionStore(dirs.session_file).save({"main_window": {"version": 1, "files": files, "current": paths[0]}})
    process = start(dirs, env=app_env(dirs, XESTOOLS_LOG_LEVEL="INFO"))
    wait_ready(dirs, process)
    time.sleep(delay)               # the 48 files take seconds to read: the restore is under way
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process) == 0, console(process)
    result = SessionStore(dirs.session_file).load()
    saved = [entry["path"] for entry in result.state["main_window"]["files"]]
    assert [os.path.abspath(path) for path in saved] == paths, console(process)
