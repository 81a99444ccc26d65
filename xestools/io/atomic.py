"""Every file xestools writes goes through here: temp file in the same folder, fsync, os.replace.

A crash or kill at any moment leaves either the old file or the new one, never a torn one. Exports
keep the permissions a plain ``open`` would give; what holds file names and scan metadata for the
user only (sessions, logs, crash reports, run markers) is written ``private``: 0600, stricter with a
stricter umask, never looser. The session format and the runtime both write through here.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator


def _read_umask() -> int:
    """The process umask, read once at import (os.umask can only be read by setting it)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()
#: permissions of a private file (before the umask)
PRIVATE_FILE_MODE = 0o600


def process_umask() -> int:
    """The umask read at import (also what makes private folders stricter)."""
    return _UMASK


def private_file_mode() -> int:
    """0600, or stricter when the umask says so."""
    return PRIVATE_FILE_MODE & ~_UMASK


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", *,
                private: bool = False) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically."""
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open supports mode 'w' or 'wb'")
    binary = "b" in mode
    with atomic_path(path, private=private) as temporary:
        with open(temporary, mode, encoding=None if binary else encoding,
                  newline=None if binary else "") as handle:
            yield handle


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, private: bool = False) -> Iterator[str]:
    """A temporary path next to ``path`` for libraries that write by file name (h5py, savefig).

    The caller writes the temporary file; on success it is fsynced and moved over ``path``. With
    ``private`` the file is created with :func:`private_file_mode` before anything is written to it.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    suffix = os.path.splitext(target)[1]
    fd, tmp = tempfile.mkstemp(prefix=".~" + os.path.basename(target) + ".", suffix=suffix, dir=folder)
    os.close(fd)
    os.chmod(tmp, private_file_mode() if private else _default_mode(target))
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_folder(folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes, encoding: str = "utf-8", *, private: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (``private``: readable by the user only)."""
    mode = "wb" if isinstance(data, bytes) else "w"
    with atomic_open(path, mode, encoding=encoding, private=private) as handle:
        handle.write(data)


def private_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (str as UTF-8) atomically as a file readable by the user only."""
    atomic_write(path, data, private=True)


def _default_mode(target: str) -> int:
    """Keep an existing file's permissions; a new file gets 0666 less the umask, like open().

    ``mkstemp`` creates 0600 files, which would make every export private to its writer.
    """
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); harmless where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse fsync on a folder
            os.fsync(fd)
    finally:
        os.close(fd)
