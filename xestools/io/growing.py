"""Is a scan file still being written? One answer for the readers, the CLI, the window and exports.

A scan with fewer points than its command asks for is either still being measured or was aborted.
:func:`may_still_grow` decides which (changed within the stall time, and unfinished: a ``.dat`` whose
last line is a data row, an HDF5 file whose superblock says a writer has it open), and
:func:`missing_points_note` says it: "in progress — N of M points" while the file may still grow,
"aborted scan: …" only once it has stopped. The readers note it in the models' warnings, so
``xestools info``, the window and every export say the same.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from .signature import HDF5_SIGNATURE

log = logging.getLogger("xestools.io")

#: a scan whose file has not changed for this long has stopped (finished, aborted, or the writer died)
STALL_TIME_S = 120.0
#: superblock file-consistency flags of a writer (HDF5 1.10+): open for writing, in SWMR-write mode
WRITE_FLAG = 0x01
SWMR_WRITE_FLAG = 0x04


@dataclass(frozen=True)
class Superblock:
    """What the first bytes of an HDF5 file say: format version, writer flags and the end of file."""

    version: int
    flags: int
    stored_eof: int

    @property
    def writer_open(self) -> bool:
        """A writer (HDF5 1.10 or newer) has the file open for writing."""
        return bool(self.flags & WRITE_FLAG)

    @property
    def swmr_writing(self) -> bool:
        """A writer has the file open in SWMR-write mode (only readers in SWMR mode may open it)."""
        return self.version >= 3 and bool(self.flags & SWMR_WRITE_FLAG)


def read_superblock(path: str) -> Superblock | None:
    """The superblock at offset 0, 512, 1024, …; None when there is none (yet)."""
    with open(path, "rb") as handle:
        for base in (0, 512, 1024, 2048, 4096):
            handle.seek(base)
            head = handle.read(64)
            if head[:8] != HDF5_SIGNATURE or len(head) < 24:
                continue
            version = head[8]
            if version >= 2:
                size = head[9]
                flags, eof_at = head[11], 12 + 2 * size
            else:
                size = head[13]
                flags = int.from_bytes(head[20:24], "little")
                eof_at = (24 if version == 0 else 28) + 2 * size
            if size not in (4, 8) or len(head) < eof_at + size:
                return None
            return Superblock(version, flags, base + int.from_bytes(head[eof_at:eof_at + size], "little"))
    return None


def may_still_grow(path, *, stale_after: float = STALL_TIME_S) -> bool:
    """Whether the scan file ``path`` may still be being written (cheap: one stat and a few bytes).

    Changed within ``stale_after`` seconds, and: a ``.dat`` whose last line is a data row (the footer
    is not there yet), or an HDF5 file whose superblock says a writer has it open.
    """
    name = os.fspath(path)
    try:
        if time.time() - os.path.getmtime(name) > stale_after:
            return False
        if name.lower().endswith((".dat", ".txt")):
            with open(name, "rb") as handle:
                handle.seek(max(0, os.path.getsize(name) - 4096))
                lines = [line for line in handle.read().splitlines() if line.strip()]
            return bool(lines) and not lines[-1].lstrip().startswith(b"#")
        superblock = read_superblock(name)
    except OSError as error:
        log.debug("%s: cannot tell whether it is being written: %s", name, error)
        return False
    return superblock is not None and superblock.writer_open


def missing_points_note(measured: int, expected: int, *, in_progress: bool, grid: tuple[int, int] | None = None) -> str:
    """The warning of a scan with ``measured`` of ``expected`` points (``grid``: outer × inner of a map)."""
    if in_progress:
        return f"in progress — {measured} of {expected} points"
    if grid is None:
        return f"aborted scan: {measured} of {expected} points were measured"
    return (f"aborted scan: {measured} of {expected} points ({grid[0]} × {grid[1]}) were measured; "
            "the missing points are masked")


def describes_missing_points(note: str) -> bool:
    """``note`` is one :func:`missing_points_note` wrote (a scan in progress or aborted)."""
    return note.startswith(("in progress — ", "aborted scan: "))
