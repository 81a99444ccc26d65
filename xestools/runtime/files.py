"""The runtime's own files: created private, and trusted only when they are ours.

Logs, crash reports, run markers, sessions and the support bundle hold file names and scan metadata,
so they are created readable by the user only: 0600 files, 0700 folders (a stricter umask makes them
stricter still, never looser). Files are written whole by :func:`xestools.io.atomic.private_write`,
the program's one atomic-write helper (the session format uses it too, without the runtime). A path read back from one of these files (a run marker) or found by a
glob in the log folder is used only when it is a regular file of this user, not a symlink, directly
inside the folder it belongs to: a planted file cannot make xestools read, rename or delete anything
else. Light: no Qt, no numpy.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from xestools.io import atomic
from xestools.io.atomic import private_write  # noqa: F401 (the runtime's files are written through it)

log = logging.getLogger("xestools.runtime.files")

FILE_MODE = atomic.PRIVATE_FILE_MODE
FOLDER_MODE = 0o700
_UID = os.getuid() if hasattr(os, "getuid") else None


class UnsafeFolderError(OSError):
    """A folder the runtime must not keep its files in (someone else's, or writable by others)."""


def file_mode() -> int:
    """0600, or stricter when the umask says so (:func:`xestools.io.atomic.private_file_mode`)."""
    return atomic.private_file_mode()


def folder_mode() -> int:
    return FOLDER_MODE & ~atomic.process_umask()


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` may not hold our files, or None: a symlink, not a folder, another user's, or
    writable by the group or everyone (anyone who can write there could plant a run marker)."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    if _UID is not None and info.st_uid != _UID:
        return f"belongs to another user (uid {info.st_uid})"
    if _UID is not None and info.st_mode & 0o022:
        return f"is writable by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def private_folder(folder: Path, *, tighten: bool = True) -> Path:
    """Create ``folder`` (0700), or accept an existing one that is safe; :class:`UnsafeFolderError`
    otherwise. With ``tighten`` an existing folder of this user that others can write is made 0700
    (for folders that only xestools uses, such as ``run/``)."""
    folder = Path(folder)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    problem = folder_problem(folder)
    if problem is not None and tighten and problem.startswith("is writable by other users"):
        os.chmod(folder, folder_mode())
        log.warning("%s was writable by other users; made it private (mode %o)", folder, folder_mode())
        problem = folder_problem(folder)
    if problem is not None:
        raise UnsafeFolderError(f"{folder} {problem}")
    return folder


def open_private_append(path: Path, encoding: str = "utf-8", *, truncate: bool = False):
    """An append stream on ``path`` created 0600 (an existing file is made 0600 too), emptied first
    with ``truncate``; refuses a symlink, so a planted link cannot redirect our log elsewhere."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | (os.O_TRUNC if truncate else 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, file_mode())
        return os.fdopen(fd, "a", encoding=encoding)
    except BaseException:
        os.close(fd)
        raise


def own_regular_file(path: Path) -> bool:
    """Is ``path`` a regular file (not a symlink) of this user?"""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and (_UID is None or info.st_uid == _UID)


def directly_inside(path: str | os.PathLike, folder: Path) -> Path | None:
    """``path`` as a Path when it names an entry directly in ``folder`` (compared after resolving
    the folders, not the entry itself), else None."""
    try:
        candidate = Path(path)
        if not candidate.name or candidate.name in (".", ".."):
            return None
        if candidate.parent.resolve() != Path(folder).resolve():
            return None
    except (OSError, ValueError, TypeError):
        return None
    return Path(folder).resolve() / candidate.name


def read_own_bytes(path: Path, max_bytes: int, *, from_end: bool = False) -> bytes | None:
    """Up to ``max_bytes`` of a regular file of this user (the last ones with ``from_end``); None
    when it is missing, a symlink, someone else's or not a regular file. Opened without following
    symlinks and checked on the open descriptor, so it cannot be swapped between check and read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or (_UID is not None and info.st_uid != _UID):
            log.warning("not reading %s: not a regular file of this user", path)
            return None
        if from_end and info.st_size > max_bytes:
            handle.seek(info.st_size - max_bytes)
        return handle.read(max_bytes)
