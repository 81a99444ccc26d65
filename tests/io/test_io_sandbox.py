"""Loading never hangs: untrusted HDF5 is read in a time-limited reader process.

The damaged export in ../shared/data/damaged makes libhdf5 spin forever. Every test that could hang
before the fix runs the loader in a child process with a generous outer limit, so a regression fails
instead of blocking the suite; every process a test starts is ended by PID.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import psutil
import pytest

import i20_synth as synth
from xestools.io import XesFormatError, load, sandbox
from xestools.io.errors import XesReadRefused
from xestools.io.reader import read_in_process

ROOT = Path(__file__).resolve().parents[2]
DAMAGED = Path(os.environ.get("XESTOOLS_DAMAGED_DATA", ROOT.parent / "shared" / "data" / "damaged"))
HANGS = "corrupt_export_hangs_hdf5.nxs"
#: the outer limit for a child that must finish in about XESTOOLS_READ_TIMEOUT seconds
OUTER_LIMIT = 240


@pytest.fixture()
def hanging_file(tmp_path) -> Path:
    source = DAMAGED / HANGS
    if not source.is_file():
        message = f"damaged HDF5 sample not found at {source} (see ../shared/data/README.md)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    target = tmp_path / HANGS
    shutil.copyfile(source, target)
    return target


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox.forget()
    yield
    sandbox.shutdown()
    sandbox.forget()


def _child_env(timeout: float) -> dict:
    env = dict(os.environ, XESTOOLS_READ_TIMEOUT=str(timeout))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=60)


def _gone(pid: int, limit: float = 60.0) -> bool:
    """True once ``pid`` has ended within ``limit`` s and is not left as an unreaped child of this process.

    An orphan's zombie belongs to init, which reaps it in its own time.
    """
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE and process.ppid() != os.getpid():
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_damaged_hdf5_is_refused_within_the_limit(hanging_file):
    code = ("import sys\nfrom xestools.io import load, XesFormatError\n"
            "try:\n    load(sys.argv[1])\nexcept XesFormatError as error:\n    print('REFUSED', error)\n")
    process = subprocess.Popen([sys.executable, "-c", code, str(hanging_file)], env=_child_env(2),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=OUTER_LIMIT)
    except subprocess.TimeoutExpired:
        _end(process)
        pytest.fail(f"loading {HANGS} did not end within {OUTER_LIMIT} s")
    finally:
        _end(process)
    assert process.returncode == 0, err
    assert f"REFUSED {HANGS}: reading {HANGS} took more than 2 s; the file is probably damaged" in out


def test_refusal_kills_and_reaps_the_reader_and_the_next_file_loads(hanging_file, samples_dir, monkeypatch):
    monkeypatch.setenv("XESTOOLS_READ_TIMEOUT", "1.5")
    result: dict = {}

    def run():
        try:
            load(hanging_file)
        except XesFormatError as error:
            result["error"] = str(error)
            result["type"] = type(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    pids: list[int] = []
    end = time.monotonic() + 60
    while not pids and time.monotonic() < end:
        pids = sandbox.reader_pids()
        time.sleep(0.02)
    thread.join(OUTER_LIMIT)
    assert not thread.is_alive(), "the load did not come back"
    assert "took more than 1.5 s" in result["error"]
    assert issubclass(result["type"], XesReadRefused), "callers tell a refusal from a format error by its type"
    assert pids and _gone(pids[0]), "the overrunning reader process was left running or as a zombie"
    (spectrum_map,) = load(samples_dir / "990101_1.nxs")
    assert spectrum_map.shape[0] > 1


def test_reader_process_dies_with_its_parent(hanging_file):
    code = ("import sys, threading, time\nfrom xestools.io import load, sandbox, XesFormatError\n"
            "def run():\n    try:\n        load(sys.argv[1])\n    except XesFormatError:\n        pass\n"
            "threading.Thread(target=run, daemon=True).start()\n"
            "while not sandbox.reader_pids():\n    time.sleep(0.02)\n"
            "print(sandbox.reader_pids()[0], flush=True)\ntime.sleep(600)\n")
    process = subprocess.Popen([sys.executable, "-c", code, str(hanging_file)], env=_child_env(300),
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        reader = int(line)
        assert psutil.pid_exists(reader)
        time.sleep(1.0)  # the reader is now inside libhdf5, where only a signal reaches it
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        assert _gone(reader), "the reader process outlived its parent"
    finally:
        _end(process)


def test_a_crashing_reader_is_a_format_error(hanging_file, monkeypatch):
    monkeypatch.setenv("XESTOOLS_READ_TIMEOUT", "300")
    sandbox.warm_up()  # the signal must reach a reader that is reading, not one still starting
    (reader,) = sandbox.reader_pids()
    result: dict = {}

    def run():
        try:
            load(hanging_file)
        except XesFormatError as error:
            result["error"] = str(error)

    asked = threading.Event()
    original = sandbox._Worker.call

    def call(self, request, timeout):
        asked.set()
        return original(self, request, timeout)

    monkeypatch.setattr(sandbox._Worker, "call", call)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert asked.wait(60)
    time.sleep(0.5)  # the request is on its way; the reader is reading or about to
    os.kill(reader, signal.SIGSEGV)
    thread.join(OUTER_LIMIT)
    assert not thread.is_alive()
    assert "crashed the reader process (signal 11)" in result["error"]
    assert _gone(reader)


def _spy(monkeypatch) -> list:
    calls: list = []
    original = sandbox.read

    def spy(operation, path, channel=None):
        calls.append((operation, os.path.basename(path), channel))
        return original(operation, path, channel)

    monkeypatch.setattr(sandbox, "read", spy)
    return calls


def test_first_read_in_the_reader_process_later_reads_in_process(tmp_path, monkeypatch):
    scan = synth.make_rxes(5, 7, seed=2)
    path = tmp_path / "scan.nxs"
    synth.write_nexus(path, scan)
    calls = _spy(monkeypatch)
    (first,) = load(path)
    (second,) = load(path)
    assert calls == [("load", "scan.nxs", None)]
    assert not first.intensity.flags.writeable and not first.mask.flags.writeable
    np.testing.assert_array_equal(first.intensity, second.intensity)
    np.testing.assert_allclose(first.intensity, synth.truth_grid(scan, scan.roi["upper"] / scan.i1), rtol=1e-12)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))  # changed file: prove it again
    load(path)
    assert len(calls) == 2


def test_detection_does_not_prove_a_load(tmp_path, monkeypatch):
    from xestools.io import detect

    path = tmp_path / "scan.nxs"
    synth.write_nexus(path, synth.make_rxes(4, 5))
    calls = _spy(monkeypatch)
    detect(path)
    load(path, channel="upper")
    detect(path)
    load(path)
    load(path)
    assert [c[0] for c in calls] == ["detect", "load", "load"]


def test_text_files_are_read_in_process(samples_dir, monkeypatch):
    calls = _spy(monkeypatch)
    load(samples_dir / "ZnO_synthetic_990101_1.dat")
    assert calls == []


def test_reader_process_gives_what_the_in_process_reader_gives(real_file):
    path = real_file("279517_1.nxs")
    remote = load(path)
    local = read_in_process("load", str(path))
    assert len(remote) == len(local)
    for a, b in zip(remote, local):
        for name in ("incident", "emission", "intensity", "uncertainty", "mask", "incident_axis", "emission_axis"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert a.metadata == b.metadata and a.info == b.info


@pytest.mark.parametrize(("text", "expected"), [("", 10.0), ("2.5", 2.5), ("abc", 10.0), ("-1", 10.0),
                                                ("0", 10.0), ("inf", 10.0), ("nan", 10.0)])
def test_read_timeout_setting(monkeypatch, text, expected):
    monkeypatch.setenv("XESTOOLS_READ_TIMEOUT", text)
    assert sandbox.read_timeout() == expected


def test_silent_reader_overruns():
    read_end, write_end = os.pipe()
    try:
        start = time.monotonic()
        with pytest.raises(sandbox._Overrun):
            sandbox._read_exactly(read_end, 8, time.monotonic() + 0.2, idle=0.2)
        assert time.monotonic() - start >= 0.2
        os.write(write_end, b"1234")
        with pytest.raises(sandbox._Overrun):  # half a frame, then silence
            sandbox._read_exactly(read_end, 8, time.monotonic() + 5, idle=0.2)
        os.close(write_end)
        write_end = -1
        with pytest.raises(sandbox._Died):
            sandbox._read_exactly(read_end, 8, time.monotonic() + 5, idle=5)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_a_reader_that_died_while_idle_is_replaced(samples_dir):
    sandbox.warm_up()
    (idle,) = sandbox.reader_pids()
    os.kill(idle, signal.SIGKILL)
    sandbox._IDLE[-1].process.wait(timeout=60)  # every thread of it has ended
    (rxes,) = load(samples_dir / "990101_1.nxs")
    assert rxes.shape[0] > 1 and idle not in sandbox.reader_pids()
    assert _gone(idle)


def test_a_request_to_a_reader_gone_since_it_was_taken_goes_to_a_new_one(samples_dir, monkeypatch):
    sandbox.warm_up()
    worker = sandbox._IDLE[-1]
    os.kill(worker.pid, signal.SIGKILL)
    worker.process.wait(timeout=60)  # every thread of it has ended: its end of the pipe is closed
    monkeypatch.setattr(sandbox, "_take", lambda: worker)  # as if it died between the check and the request
    (rxes,) = load(samples_dir / "990101_1.nxs")
    assert rxes.shape[0] > 1
    assert _gone(worker.pid)


def test_relative_paths_mean_the_callers_folder(tmp_path, samples_dir, monkeypatch):
    sandbox.warm_up()  # started in another folder
    shutil.copyfile(samples_dir / "990101_1.nxs", tmp_path / "here.nxs")
    monkeypatch.chdir(tmp_path)
    (rxes,) = load("here.nxs")
    assert rxes.source == "here.nxs"
    with h5py.File(tmp_path / "here.nxs", "r") as handle:
        dims = tuple(int(v) for v in handle["/entry1/scan_dimensions"][()])
    assert sorted(rxes.shape) == sorted(dims)
    np.testing.assert_array_equal(rxes.intensity, read_in_process("load", str(tmp_path / "here.nxs"))[0].intensity)


def test_a_reader_killed_from_outside_is_replaced_and_the_good_file_loads(samples_dir, monkeypatch):
    """An outside kill (SIGKILL: a user, the OOM killer) says nothing about the file: read it again once."""
    sandbox.forget()
    original = sandbox._Worker._reply
    killed: list[int] = []

    def reply(self, timeout):
        if not killed and timeout != sandbox.STARTUP_LIMIT:  # a request is sent; stop the reader before it answers
            killed.append(self.pid)
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait(timeout=60)
        return original(self, timeout)

    monkeypatch.setattr(sandbox._Worker, "_reply", reply)
    (scan,) = load(samples_dir / "990101_1.nxs")
    assert killed, "the reader process was never asked"
    assert scan.intensity.size > 1
    assert _gone(killed[0])


def test_a_reader_killed_from_outside_twice_is_not_called_damaged(samples_dir, monkeypatch):
    sandbox.forget()
    original = sandbox._Worker._reply
    killed: list[int] = []

    def reply(self, timeout):
        if len(killed) < 2 and self.pid not in killed and timeout != sandbox.STARTUP_LIMIT:
            killed.append(self.pid)
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait(timeout=60)
        return original(self, timeout)

    monkeypatch.setattr(sandbox._Worker, "_reply", reply)
    with pytest.raises(XesReadRefused) as caught:
        load(samples_dir / "990101_1.nxs")
    message = str(caught.value)
    assert "stopped from outside (signal 9)" in message and "probably damaged" not in message
