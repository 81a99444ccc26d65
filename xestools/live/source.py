"""The one interface of a live source: something that grows point by point while it is measured.

:class:`~xestools.live.Follower` drives any live source and knows nothing else about it; the
workspace (:mod:`xestools.workspace.live`) and the window (:mod:`xestools.gui.live`) know only the
follower. A source implements :class:`LiveSource`:

* ``path`` — what it reads, as the user named it (a file path, or e.g. a URL of a data service); the
  dataset it feeds is keyed by ``os.path.abspath(path)`` for files;
* ``look()`` — cheap, every poll: a marker that changes when there may be something new (for a file:
  size and mtime), None while the source does not exist yet; raises :class:`SourceStopped` when it is
  no longer the source that was being read (replaced, deleted, renamed — its *identity* changed);
* ``read_new()`` — read what is new; returns the number of new points (0: nothing complete yet). It
  raises :class:`SourceStopped` as ``look()`` does, and may raise the transient errors of a source
  caught mid-write (``TRANSIENT_ERRORS`` of the follower), which mean "try again at the next poll";
* ``measured`` / ``expected`` (None until known) / ``complete`` and ``complete_reason`` (said when it
  stops by itself, e.g. "footer written");
* ``models(channel, in_progress=...)`` — the Spectrum/RXESMap models of the points read so far;
* ``finalize()`` — before the last models of a source that stopped unfinished;
* ``error_is_final(error)`` — a format error that waiting will not cure (stop) rather than "not yet";
* ``vet()`` — before the first read in a long-lived process: "" when it may be read here, else why
  not (an HDF5 file that hangs or crashes libhdf5 in the io layer's reader process).

A new kind of source is one module with such a class plus one line in :mod:`xestools.live`:
``register(TheClass)`` (the class has ``accepts(path) -> bool`` and is built as ``TheClass(path)``). :func:`open_source`
picks the first registered class that accepts a path; sources registered later are asked first, so
a specific source can take over paths a general one would accept.

Files share :class:`FileIdentity`: the device and inode of the file first seen, a size that never
shrinks and a first block of bytes that never changes. A followed file replaced by another one
(``os.replace``, a new scan written under the same name), truncated, deleted or renamed stops being
followed with the reason, and what was read stays as it was: two scans are never spliced into one.
"""
from __future__ import annotations

import os
from stat import S_ISREG
from typing import Hashable, Protocol


class SourceStopped(Exception):
    """The source is no longer the one being read; ``kind`` is "replaced" or "missing"."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class LiveSource(Protocol):
    """What :class:`~xestools.live.Follower` needs of a source (module docstring)."""

    path: str
    measured: int

    @property
    def expected(self) -> int | None: ...

    @property
    def complete(self) -> bool: ...

    complete_reason: str

    def look(self) -> Hashable | None: ...

    def read_new(self) -> int: ...

    def models(self, channel=None, *, in_progress: bool) -> list: ...

    def finalize(self) -> None: ...

    def error_is_final(self, error: Exception) -> bool: ...

    def vet(self) -> str: ...


class FileIdentity:
    """Tells whether ``path`` is still the file first seen there (device, inode, size, first bytes).

    ``prefix_bytes`` of the file's start are remembered once that many exist (the header of a text
    scan; only the signature of an HDF5 file, whose superblock changes while it grows).
    """

    def __init__(self, path: str, prefix_bytes: int):
        self.path = path
        self.prefix_bytes = prefix_bytes
        self._inode: tuple[int, int] | None = None
        self._size = 0
        self._prefix = b""

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def look(self) -> tuple[int, int] | None:
        """(size, mtime) of the file; None before it exists; :class:`SourceStopped` when it is not the same."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            if self._inode is None:
                return None
            raise SourceStopped("missing", f"{self.name} was deleted or renamed while it was being followed; "
                                           "the points read so far are kept") from None
        self.check(stat)
        return stat.st_size, stat.st_mtime_ns

    def check(self, stat: os.stat_result, handle=None) -> None:
        """Raise :class:`SourceStopped` unless ``stat`` (and the first bytes read from ``handle``) match."""
        if not S_ISREG(stat.st_mode):   # a FIFO or device would block the read for good
            raise SourceStopped("stopped", f"{self.name} is not a regular file; it is not followed")
        inode = (stat.st_dev, stat.st_ino)
        if self._inode is None:
            self._inode = inode
        elif inode != self._inode:
            self.replaced("another file now has its name")
        if stat.st_size < self._size:
            self.replaced(f"it became shorter ({stat.st_size} bytes after {self._size})")
        self._size = stat.st_size
        if handle is not None:
            handle.seek(0)
            head = handle.read(self.prefix_bytes)
            if head[:len(self._prefix)] != self._prefix:
                self.replaced("its first bytes changed")
            if len(head) > len(self._prefix):
                self._prefix = head

    def check_open(self, handle) -> None:
        """:meth:`check` against an open file: the bytes about to be read come from the same file."""
        self.check(os.fstat(handle.fileno()), handle)

    def check_path(self) -> None:
        """:meth:`check` of the file at the path now (after a read through a library that opened it by name)."""
        try:
            with open(self.path, "rb") as handle:
                self.check_open(handle)
        except FileNotFoundError:
            self.look()         # "deleted or renamed" once the file had been seen

    def replaced(self, why: str) -> None:
        """Raise :class:`SourceStopped` ("replaced"), e.g. for a reason the source found in the content."""
        raise SourceStopped("replaced", f"{self.name} was replaced while it was being followed ({why}); "
                                        "the points read so far are kept — open the file again to read the new one")


_SOURCES: list[type] = []


def register(source_class: type) -> type:
    """Make ``source_class`` (``accepts(path)``, ``__init__(path)``) a kind of live source; returns it."""
    if source_class not in _SOURCES:
        _SOURCES.insert(0, source_class)
    return source_class


def open_source(path) -> LiveSource:
    """A live source for ``path``: the last registered kind that accepts it."""
    name = os.fspath(path)
    for source_class in _SOURCES:
        if source_class.accepts(name):
            return source_class(name)
    raise ValueError(f"{os.path.basename(name)}: no live source reads this (known: "
                     f"{', '.join(cls.__name__ for cls in _SOURCES)})")
