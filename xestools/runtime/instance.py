"""One GUI per session file: a lock next to the session, and a hand-over channel for a second launch.

The first GUI holds ``<session file>.lock`` (``QLockFile``; a lock left by a dead process is taken
over) and listens on a local socket named after the session file (see :func:`server_name`). A second launch of
the same session cannot take the lock; it sends its file names over the socket, the first GUI opens
them through the window's ``open_paths`` and comes to the front, and the second launch ends (exit
status 0). When the first does not answer, or with ``--new-instance``, the second GUI works on its
own session and settings files (``session-2.json``, ``settings-2.ini``, … next to the session), so
the two never overwrite each other.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QLockFile, QObject, QTimer
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from xestools.io._json import loads_bounded
from xestools.runtime import safe
from xestools.runtime.files import folder_problem

log = logging.getLogger("xestools.runtime.instance")

HANDOVER_TIMEOUT_MS = 5000
MAX_MESSAGE_BYTES = 1024 * 1024
MAX_SLOTS = 20
MAX_SOCKET_PATH = 100      # sun_path holds 108 bytes on Linux, 104 on macOS
#: a hand-over names at most this many files, each path at most PATH_MAX long
MAX_HANDOVER_FILES = 10_000
MAX_PATH_CHARS = 4096
#: a connection that has not sent its one line by then is closed; at most this many at once
IDLE_CONNECTION_MS = 10_000
MAX_CONNECTIONS = 8


def handover_paths(raw: bytes) -> list[str]:
    """The file paths of one hand-over line ``{"open": ["/abs/path", …]}``; ValueError says what is wrong."""
    try:
        message = loads_bounded(raw, max_bytes=MAX_MESSAGE_BYTES, max_depth=4)
    except ValueError as error:  # too deep or large, not JSON, not UTF-8: all ValueErrors
        raise ValueError(f"not a JSON hand-over message ({error})") from None
    if not isinstance(message, dict) or set(message) != {"open"}:
        raise ValueError('a hand-over message is one JSON object {"open": [paths]}')
    paths = message["open"]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ValueError('"open" must be a list of file paths (strings)')
    if len(paths) > MAX_HANDOVER_FILES:
        raise ValueError(f"{len(paths)} files in one hand-over (at most {MAX_HANDOVER_FILES})")
    bad = [p for p in paths if not p or len(p) > MAX_PATH_CHARS or "\0" in p or not os.path.isabs(p)]
    if bad:
        raise ValueError(f"{len(bad)} path(s) are not absolute file paths (e.g. {bad[0][:80]!r})")
    return paths


def server_name(session_file: Path) -> str:
    """The hand-over socket: a full path in a folder only this user can write (the session's folder,
    else ``XDG_RUNTIME_DIR``), so no other user can put a socket there to catch the file names; a
    plain name (in the temporary folder, user-only access) when neither fits a socket path."""
    session_file = Path(session_file).resolve()
    digest = hashlib.sha1(str(session_file).encode("utf-8")).hexdigest()[:16]
    for folder in (session_file.parent, os.environ.get("XDG_RUNTIME_DIR")):
        if folder and folder_problem(Path(folder)) is None:
            candidate = os.path.join(folder, f".xestools-{digest}.sock")
            if len(candidate.encode("utf-8")) < MAX_SOCKET_PATH:
                return candidate
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return f"xestools-{uid}-{digest}"


class InstanceLock(QObject):
    """The lock of one session file and, once taken, the server that receives hand-overs."""

    def __init__(self, session_file: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session_file = Path(session_file)
        self.session_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.lock = QLockFile(str(self.session_file) + ".lock")
        self.lock.setStaleLockTime(0)        # stale only when its process is gone
        self.name = server_name(self.session_file)
        self.server: QLocalServer | None = None
        self._connections: set[QLocalSocket] = set()
        self._open_paths: Callable[[list[str]], None] | None = None

    def acquire(self) -> bool:
        return self.lock.tryLock(0)

    def holder_pid(self) -> int | None:
        info = self.lock.getLockInfo()
        return int(info[0]) if isinstance(info, tuple) and info and info[0] else None

    def serve(self, open_paths: Callable[[list[str]], None]) -> None:
        """Listen for hand-overs; ``open_paths(paths)`` runs on the GUI thread for each."""
        self._open_paths = open_paths
        QLocalServer.removeServer(self.name)     # a socket file left by a crashed holder of the lock
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(self.name):
            log.warning("no hand-over channel for a second launch: %s", self.server.errorString())
            return
        self.server.newConnection.connect(safe.safe_slot(self._accept))

    def _accept(self) -> None:
        while self.server is not None and self.server.hasPendingConnections():
            connection = self.server.nextPendingConnection()
            if len(self._connections) >= MAX_CONNECTIONS:
                log.warning("refusing a hand-over connection: %d are already open", len(self._connections))
                connection.abort()
                connection.deleteLater()
                continue
            self._connections.add(connection)
            timer = QTimer(connection)
            timer.setSingleShot(True)
            timer.timeout.connect(safe.safe_slot(lambda c=connection: self._drop(c, "sent no complete message")))
            timer.start(IDLE_CONNECTION_MS)
            connection.readyRead.connect(safe.safe_slot(lambda c=connection: self._receive(c)))
            connection.disconnected.connect(safe.safe_slot(lambda c=connection: self._forget(c)))

    def _forget(self, connection: QLocalSocket) -> None:
        if connection in self._connections:
            self._connections.discard(connection)
            connection.deleteLater()

    def _drop(self, connection: QLocalSocket, why: str) -> None:
        """End a connection that misbehaves (idle, too long) without answering it."""
        log.warning("closing a hand-over connection that %s", why)
        self._connections.discard(connection)
        connection.abort()
        connection.deleteLater()

    def _answer(self, connection: QLocalSocket, reply: dict) -> None:
        connection.write(json.dumps(reply).encode("utf-8") + b"\n")
        connection.flush()
        connection.disconnectFromServer()

    def _receive(self, connection: QLocalSocket) -> None:
        if not connection.canReadLine():
            if connection.bytesAvailable() > MAX_MESSAGE_BYTES:
                self._drop(connection, f"sent more than {MAX_MESSAGE_BYTES} bytes without a line end")
            return
        try:
            paths = handover_paths(bytes(connection.readLine(MAX_MESSAGE_BYTES + 1)))
        except ValueError as error:
            log.warning("refusing a malformed hand-over message: %s", error)
            self._answer(connection, {"ok": False, "error": str(error)})
            return
        log.info("a second launch handed over %d file(s): %s", len(paths),
                 ", ".join(os.path.basename(p) for p in paths))
        self._answer(connection, {"ok": True, "pid": os.getpid()})
        if self._open_paths is not None:
            self._open_paths(paths)

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.lock.isLocked():
            self.lock.unlock()


def hand_over(name: str, paths: list[str], timeout_ms: int = HANDOVER_TIMEOUT_MS) -> dict | None:
    """Send ``paths`` to the GUI listening on ``name``; its reply, or None when it does not answer."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        log.info("no answer on the hand-over channel: %s", socket.errorString())
        return None
    socket.write(json.dumps({"open": [os.path.abspath(p) for p in paths]}).encode("utf-8") + b"\n")
    socket.flush()
    if not socket.waitForBytesWritten(timeout_ms) and socket.bytesToWrite():
        return None
    while not socket.canReadLine():
        if not socket.waitForReadyRead(timeout_ms):
            log.info("the running xestools did not confirm the hand-over: %s", socket.errorString())
            return None
    try:
        reply = loads_bounded(bytes(socket.readLine(MAX_MESSAGE_BYTES)), max_bytes=MAX_MESSAGE_BYTES, max_depth=4)
    except ValueError:
        return None
    socket.disconnectFromServer()
    return reply if isinstance(reply, dict) and reply.get("ok") else None


def separate_slot(session_file: Path) -> tuple[InstanceLock, Path, Path] | None:
    """The first free numbered session of its own (lock taken), with its settings file:
    ``session-2.json`` and ``settings-2.ini`` next to ``session.json``; None when all are taken."""
    session_file = Path(session_file)
    for number in range(2, MAX_SLOTS + 1):
        candidate = session_file.with_name(f"{session_file.stem}-{number}{session_file.suffix}")
        lock = InstanceLock(candidate)
        if lock.acquire():
            return lock, candidate, session_file.with_name(f"settings-{number}.ini")
    return None


@dataclass
class Claim:
    """What :func:`claim` decided: ``lock`` is None when the files went to the running GUI (this
    launch has nothing more to do); else the session file this GUI works on, and a message when it
    is not the one asked for."""

    lock: InstanceLock | None
    session_file: Path
    message: str = ""


def claim(session_file: Path, files: list[str], *, new: bool, can_ask: bool) -> Claim:
    """Take ``session_file``'s lock, or deal with the GUI that holds it (see the module docstring)."""
    session_file = Path(session_file)
    lock = InstanceLock(session_file)
    if lock.acquire():
        return Claim(lock, session_file)
    pid = lock.holder_pid()
    choice = "separate" if new else (ask_user(pid, files) if can_ask else "hand-over")
    if choice == "cancel":
        log.info("a second launch was cancelled by the user (xestools %s runs with this session)", pid)
        return Claim(None, session_file)
    if choice == "hand-over":
        reply = hand_over(lock.name, files)
        if reply is not None:
            text = (f"xestools is already running (process {reply.get('pid', pid)}) with this session: "
                    + (f"{len(files)} file(s) opened there." if files else "its window was brought to the front."))
            log.info("%s", text)
            print(f"xestools: {text}", file=sys.stderr)
            return Claim(None, session_file)
        log.warning("xestools (process %s) holds %s but does not answer: using a separate session", pid,
                    session_file)
    return _separate(session_file, pid)


def _separate(session_file: Path, pid: int | None) -> Claim:
    slot = separate_slot(session_file)
    if slot is None:
        raise RuntimeError(f"{MAX_SLOTS} xestools windows already use the sessions in {session_file.parent}")
    lock, own_session, settings_file = slot
    current = os.environ.get("XESTOOLS_SETTINGS_FILE")
    if current:
        base = Path(current)
        settings_file = base.with_name(f"{base.stem}-{own_session.stem.rsplit('-', 1)[1]}{base.suffix or '.ini'}")
    os.environ["XESTOOLS_SETTINGS_FILE"] = str(settings_file)
    message = (f"Another xestools (process {pid}) is using the session {session_file.name}. This window keeps "
               f"its own session ({own_session.name}) and settings ({settings_file.name}), so neither "
               "overwrites the other.")
    return Claim(lock, own_session, message)


def ask_user(pid: int | None, files: list[str]) -> str:
    """"hand-over", "separate" or "cancel"."""
    from PySide6.QtWidgets import QMessageBox

    text = f"xestools is already running (process {pid}) with the same session."
    if files:
        text += "\n\nOpen " + ", ".join(os.path.basename(f) for f in files[:5]) + \
            (" …" if len(files) > 5 else "") + " there?"
    box = QMessageBox(QMessageBox.Icon.Question, "xestools is already running", text)
    there = box.addButton("Open the files there" if files else "Show the running xestools",
                          QMessageBox.ButtonRole.AcceptRole)
    separate = box.addButton("Open a separate window (own session)", QMessageBox.ButtonRole.ActionRole)
    box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(there)
    box.exec()
    clicked = box.clickedButton()
    return "hand-over" if clicked is there else "separate" if clicked is separate else "cancel"
