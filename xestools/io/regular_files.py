"""Only regular files are opened: a FIFO, socket or device named like a scan or a state file would block
the first read for good (or never end), so the kind of file is checked with ``os.stat`` before opening."""
from __future__ import annotations

import os
import stat

from .errors import XesFormatError


def regular_file_status(name: str) -> os.stat_result:
    """``os.stat`` of ``name`` when it is a regular file (links followed); XesFormatError for anything else.

    A FIFO, socket or device named like a scan would block or never end on the first read, so the kind of
    file is checked before it is opened.
    """
    try:
        status = os.stat(name)
    except FileNotFoundError as error:
        raise XesFormatError(name, "file does not exist", "check the path and the file name") from error
    except OSError as error:
        raise XesFormatError(name, f"cannot be examined: {error.strerror or error}",
                             "check the path (a link loop or a folder without access permission?)") from error
    if stat.S_ISDIR(status.st_mode):
        raise XesFormatError(name, "is a folder, not a scan file", "open one of the .nxs or .dat files inside it")
    if not stat.S_ISREG(status.st_mode):
        raise XesFormatError(name, f"is a {special_file_kind(status.st_mode)}, not a regular file",
                             "xestools reads only regular files; open the scan file itself")
    return status


def special_file_kind(mode: int) -> str:
    """Plain words for a file that is not regular (for messages)."""
    kinds = ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder"))
    return next((name for test, name in kinds if test(mode)), "special file")


def is_regular_file(path) -> bool:
    """True for an existing regular file (links followed); False for anything else or an unreachable path."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
