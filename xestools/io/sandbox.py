"""Untrusted HDF5 is read in a separate, warm reader process with a time limit.

A byte-corrupted HDF5 file can make libhdf5 spin forever, and native code cannot be interrupted from
Python in the same process. So the first read of an HDF5 file goes to a persistent reader process
(started on first use, kept warm); when a request overruns the limit the process is killed and the
file refused, and the next request starts a fresh one. Once a file has been read there, it is proven
good for this process: later reads of the same unchanged file (path, device, inode, size, mtime_ns)
are made in-process, at full speed.

The limit is ``XESTOOLS_READ_TIMEOUT`` seconds (read at every call; default 10).
"""
from __future__ import annotations

import atexit
import collections
import concurrent.futures
import logging
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from .errors import XesFormatError, XesReadRefused

log = logging.getLogger("xestools.io.sandbox")

TIMEOUT_ENV = "XESTOOLS_READ_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
#: a reader process that has not said "ready" by then cannot be started (a loaded machine is slow)
STARTUP_LIMIT = 120.0
#: idle reader processes kept warm (more are started while several files load at once)
MAX_IDLE = 2
#: files remembered as proven good
MAX_PROVEN = 512
_HEADER = struct.Struct("<QI")
_LENGTH = struct.Struct("<Q")
_CHUNK = 1 << 20


def read_timeout() -> float:
    """The limit in seconds from XESTOOLS_READ_TIMEOUT; the default when unset or not a positive number."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        log.warning("%s=%r is not a positive number of seconds; using %g s", TIMEOUT_ENV, text, DEFAULT_TIMEOUT)
        return DEFAULT_TIMEOUT
    return value


# ----------------------------------------------------------------------------- framing (both sides)
def send(stream, message) -> None:
    """One framed pickle (protocol 5, array buffers out of band so big maps are not copied)."""
    buffers: list[pickle.PickleBuffer] = []
    body = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    views = [buffer.raw() for buffer in buffers]
    parts = [_HEADER.pack(len(body), len(views))] + [_LENGTH.pack(v.nbytes) for v in views] + [body] + views
    for part in parts:
        stream.write(part)
    stream.flush()


def receive(stream):
    """The next framed pickle from a blocking stream, or None at end of stream."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    size, count = _HEADER.unpack(head)
    lengths = [_LENGTH.unpack(stream.read(_LENGTH.size))[0] for _ in range(count)]
    body = stream.read(size)
    buffers = [stream.read(length) for length in lengths]
    return pickle.loads(body, buffers=buffers)


class _Overrun(Exception):
    """The reader process did not answer within the limit."""


class _Died(Exception):
    """The reader process ended (crashed or was killed) before answering."""


class _Stale(_Died):
    """The reader process had already ended before the request was sent (not the file's doing)."""


def _read_exactly(fd: int, size: int, deadline: float, *, idle: float) -> bytearray:
    """``size`` bytes from ``fd``: the first by ``deadline``, then no gap longer than ``idle`` seconds."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    poller = select.poll()  # not select.select: a GUI may hold more than FD_SETSIZE descriptors
    poller.register(fd, select.POLLIN)
    done = 0
    while done < size:
        wait = deadline - time.monotonic()
        if wait <= 0 or not poller.poll(wait * 1000.0):
            raise _Overrun()
        try:
            count = os.readv(fd, [view[done:done + _CHUNK * 64]])
        except OSError as error:
            raise _Died() from error
        if count == 0:
            raise _Died()
        done += count
        deadline = time.monotonic() + idle
    return buffer


# ----------------------------------------------------------------------------- the reader process
class _Spawner:
    """Starts reader processes from one long-lived thread.

    Linux delivers PR_SET_PDEATHSIG when the *thread* that started a process ends; the GUI loads on
    pool threads that come and go, so every reader process is started from this thread instead.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, argv: list[str], env: dict) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="xestools-reader-spawner", daemon=True)
                self._thread.start()
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((argv, env, future))
        return future.result()

    def _run(self) -> None:
        while True:
            argv, env, future = self._jobs.get()
            try:
                future.set_result(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env))
            except OSError as error:
                future.set_exception(error)


_SPAWNER = _Spawner()
_LIVE: "set[_Worker]" = set()
_LIVE_LOCK = threading.Lock()


class _Worker:
    """One reader process and its two pipes."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        argv = [sys.executable, "-m", "xestools.io._sandbox_child", str(os.getpid())]
        self.process = _SPAWNER.start(argv, env)
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            ready = self._reply(STARTUP_LIMIT)
        except (_Overrun, _Died, pickle.UnpicklingError, EOFError) as error:
            self.kill()
            raise OSError(f"the xestools reader process did not start ({type(error).__name__})") from error
        if not (isinstance(ready, tuple) and ready[0] == "ready"):
            self.kill()
            raise OSError(f"the xestools reader process sent {ready!r} instead of ready")

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, request, timeout: float):
        try:
            send(self.process.stdin, request)
        except OSError as error:  # BrokenPipeError: it ended while idle
            raise _Stale() from error
        return self._reply(timeout)

    def _reply(self, timeout: float):
        fd = self.process.stdout.fileno()
        idle = max(timeout, 5.0)
        size, count = _HEADER.unpack(_read_exactly(fd, _HEADER.size, time.monotonic() + timeout, idle=idle))
        lengths = [_LENGTH.unpack(_read_exactly(fd, _LENGTH.size, time.monotonic() + idle, idle=idle))[0]
                   for _ in range(count)]
        body = _read_exactly(fd, size, time.monotonic() + idle, idle=idle)
        buffers = [_read_exactly(fd, length, time.monotonic() + idle, idle=idle) for length in lengths]
        return pickle.loads(body, buffers=buffers)

    def kill(self) -> None:
        """Kill and reap the process (no zombie is left)."""
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log.error("reader process %d did not end after SIGKILL", self.pid)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                log.debug("closing a pipe of reader process %d failed", self.pid, exc_info=True)


_IDLE: list[_Worker] = []
_IDLE_LOCK = threading.Lock()


def _take() -> _Worker:
    with _IDLE_LOCK:
        while _IDLE:
            worker = _IDLE.pop()
            if worker.process.poll() is None:
                return worker
            worker.kill()
    return _Worker()


def _give_back(worker: _Worker) -> None:
    with _IDLE_LOCK:
        if len(_IDLE) < MAX_IDLE:
            _IDLE.append(worker)
            return
    worker.kill()


def warm_up() -> None:
    """Start a reader process now (e.g. while the window opens) so the first file does not wait for it."""
    _give_back(_take())


@atexit.register
def shutdown() -> None:
    """End every reader process this process started (also called by tests)."""
    with _IDLE_LOCK:
        _IDLE.clear()
    with _LIVE_LOCK:
        workers = list(_LIVE)
    for worker in workers:
        worker.kill()


def reader_pids() -> list[int]:
    """Process ids of the live reader processes (for diagnostics and tests)."""
    with _LIVE_LOCK:
        return sorted(worker.pid for worker in _LIVE)


# ----------------------------------------------------------------------------- proven files
_PROVEN: "collections.OrderedDict[tuple, set[str]]" = collections.OrderedDict()
_PROVEN_LOCK = threading.Lock()


def _identity(path: str) -> tuple | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (os.path.abspath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _operation(operation: str, channel) -> str:
    return operation if operation == "detect" else f"load:{getattr(channel, 'value', channel)}"


def is_proven(path: str, operation: str, channel=None) -> bool:
    """True when this exact file already passed ``operation`` in a reader process.

    A full load proves every read a detection or a one-channel load makes.
    """
    key = _identity(path)
    with _PROVEN_LOCK:
        done = _PROVEN.get(key, set()) if key is not None else set()
    return bool(done) and (_operation(operation, channel) in done or "load:None" in done)


def _remember(key: tuple | None, path: str, operation: str, channel) -> None:
    if key is None or _identity(path) != key:
        return  # the file changed while it was read: prove it again next time
    with _PROVEN_LOCK:
        _PROVEN.setdefault(key, set()).add(_operation(operation, channel))
        _PROVEN.move_to_end(key)
        while len(_PROVEN) > MAX_PROVEN:
            _PROVEN.popitem(last=False)


def forget() -> None:
    """Forget every proven file (the next read of each goes to a reader process again)."""
    with _PROVEN_LOCK:
        _PROVEN.clear()


# ----------------------------------------------------------------------------- the entry point
def _freeze(value) -> None:
    """Arrays that arrive out of band are writable views of receive buffers: make them read-only again."""
    import dataclasses

    import numpy as np

    items = value if isinstance(value, list) else [value]
    for item in items:
        if dataclasses.is_dataclass(item):
            for field in dataclasses.fields(item):
                array = getattr(item, field.name)
                if isinstance(array, np.ndarray):
                    array.flags.writeable = False


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the folder was removed: only absolute paths still mean anything
        return None


#: signals that end a reader process from outside (a kill, the OOM killer, a shutdown), not through the file
_OUTSIDE_SIGNALS = {int(getattr(signal, name)) for name in ("SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
                    if hasattr(signal, name)}


class _RequestFailed(Exception):
    """A request that overran or whose reader process ended; carries the worker to kill and the cause."""

    def __init__(self, worker: "_Worker", cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.worker, self.cause = worker, cause


def _ask(request, limit: float):
    """(reply, worker): one request answered by a warm reader process (a stale one is replaced once)."""
    worker = _take()
    try:
        return worker.call(request, limit), worker
    except _Stale:
        worker.kill()
        log.info("reader process %d had ended while idle; starting another", worker.pid)
        worker = _Worker()
        return worker.call(request, limit), worker
    except (_Overrun, _Died, pickle.UnpicklingError, EOFError) as error:
        raise _RequestFailed(worker, error) from error


def _ended_how(worker: _Worker) -> tuple[str, bool]:
    """("signal 9" / "exit status 1", stopped from outside?) for a reader process that ended mid-request."""
    worker.kill()
    status = worker.process.returncode
    if status is not None and status < 0:
        return f"signal {-status}", -status in _OUTSIDE_SIGNALS
    return f"exit status {status}", False


def _call(path: str, request, limit: float):
    """The reply to ``request``; a reader process stopped from outside is replaced and the request sent once more."""
    name = os.path.basename(path)
    for attempt in (1, 2):
        try:
            reply, worker = _ask(request, limit)
        except OSError as error:
            log.exception("cannot start the reader process for %s", path)
            raise XesFormatError(path, f"cannot be read: {error}", "see the log; if it persists, send it to support") \
                from error
        except _RequestFailed as failure:
            worker = failure.worker
            if isinstance(failure.cause, _Overrun):
                worker.kill()
                log.info("reading %s took more than %g s: reader process %d killed", path, limit, worker.pid)
                raise XesReadRefused(path, f"reading {name} took more than {limit:g} s; the file is probably damaged",
                                     f"copy it again from the beamline; {TIMEOUT_ENV} sets the limit") from None
            how, from_outside = _ended_how(worker)
            log.info("reader process %d ended (%s) while reading %s", worker.pid, how, path)
            if from_outside and attempt == 1:
                continue
            if from_outside:
                raise XesReadRefused(path, f"the reader process was stopped from outside ({how}) while reading {name}, "
                                     "twice; the file itself was not judged", "open it again") from None
            raise XesReadRefused(path, f"reading {name} crashed the reader process ({how}); the file is probably "
                                 "damaged", "copy it again from the beamline") from None
        _give_back(worker)
        return reply
    raise AssertionError("unreachable: the second attempt returns or raises")


def read(operation: str, path: str, channel=None):
    """Run ``operation`` ("detect" or "load") on ``path`` in a reader process, within the time limit."""
    key = _identity(path)
    request = (operation, path, channel, _cwd())  # a relative path means the same file in the reader
    reply = _call(path, request, read_timeout())
    if reply[0] == "error":
        _, where, problem, hint = reply
        raise XesFormatError(where or path, problem, hint)
    result = reply[1]
    _freeze(result)
    _remember(key, path, operation, channel)
    return result


def enabled() -> bool:
    """The reader process needs POSIX pipes and select; elsewhere files are read in-process."""
    return os.name == "posix"
