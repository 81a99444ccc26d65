"""Incremental reading of an I20 NeXus scan that GDA is still writing.

Each read opens the file read-only without HDF5 file locking (in SWMR-read mode while the writer is in
SWMR mode, told by the superblock's flags), reads only the slice of each per-point dataset after the
points already read, and closes the file again: nothing is held open between polls. The datasets may
have their final shape (unwritten points hold the fill value 0) or grow along the outer dimension.
The layout and the models come from :mod:`xestools.io.nexus_i20`, so the finished file gives the
same models as opening it.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os

import numpy as np

from ..io import nexus_i20
from ..io.growing import Superblock, read_superblock  # noqa: F401  (part of this module's interface)
from ..io.signature import HDF5_SIGNATURE
from ._buffer import Rows
from .source import FileIdentity

log = logging.getLogger("xestools.live")

#: points examined at least per read when looking for the end of the written part
MIN_WINDOW = 4096


@contextlib.contextmanager
def open_readonly(path: str):
    """(h5py file, superblock): open read-only and without locking; SWMR-read mode while a SWMR writer has it.

    A file shorter than the end its superblock records is still being written out: that is
    "not yet" (OSError), decided before libhdf5 reads anything from it.
    """
    import h5py

    superblock = read_superblock(path)
    size = os.path.getsize(path)
    if superblock is None:
        raise OSError(f"{path}: no HDF5 superblock yet ({size} bytes)")
    if superblock.stored_eof > size and not superblock.swmr_writing:
        raise OSError(f"{path}: still being written ({size} of {superblock.stored_eof} bytes)")
    handle = h5py.File(path, "r", locking=False, swmr=superblock.swmr_writing)
    try:
        yield handle, superblock
    finally:
        handle.close()


def read_points(dataset, start: int, stop: int, dims: tuple[int, ...]) -> np.ndarray:
    """Flat scan-order points ``start``..``stop`` of a per-point dataset (only the rows holding them)."""
    if len(dims) == 1:
        return np.asarray(dataset[start:stop], dtype=float).ravel()
    inner = dims[1]
    first_row, last_row = start // inner, min(math.ceil(stop / inner), dataset.shape[0])
    if last_row <= first_row:
        return np.empty(0)
    rows = np.asarray(dataset[first_row:last_row], dtype=float).reshape(-1)
    return rows[start - first_row * inner:stop - first_row * inner]


def _valid(values: np.ndarray) -> np.ndarray:
    """Written points: finite and not the fill value 0 (as nexus_i20 counts measured points)."""
    return np.isfinite(values) & (values != 0)


class NexusTail:
    """The points of a growing I20 NeXus scan read so far, one buffer per dataset.

    A live source (:mod:`xestools.live.source`): the file's identity is its inode (checked after
    every read, before the points are kept), its HDF5 signature, and the scan number and command of
    its scan info (checked whenever the scan info is read again).
    """

    complete_reason = "all points written"

    def __init__(self, path: str):
        self.path = path
        self.identity = FileIdentity(path, prefix_bytes=len(HDF5_SIGNATURE))
        self.layout = None
        self.measured = 0
        self._buffers: dict[str, Rows] = {}
        self._window = MIN_WINDOW
        #: the last read found a writer at work (an unreadable layout may still be being created)
        self.writer_open = True
        self._vetted = False

    @staticmethod
    def accepts(path: str) -> bool:
        """Any file that is not text: NeXus is the readers' default too."""
        return True

    def look(self):
        return self.identity.look()

    def vet(self) -> str:
        """Before the first read in this process: the structure read once in the io layer's reader process.

        A file that makes libhdf5 hang or crash is refused there (returns why) instead of blocking or
        killing this process; a format-level answer means no hang and no crash (a scan being written
        may simply not be complete yet: the follower decides). Checked once, when the file is HDF5.
        """
        from ..io import detect, sandbox
        from ..io.errors import XesFormatError, XesReadRefused

        if self._vetted or not sandbox.enabled():
            return ""
        try:
            if read_superblock(self.path) is None:
                return ""
        except OSError as error:
            log.debug("%s: not there to be checked yet: %s", self.path, error)
            return ""
        try:
            detect(self.path)
        except XesReadRefused as error:       # the reader process hung or crashed on it
            return error.problem
        except XesFormatError as error:
            log.debug("%s: structure not readable yet: %s", self.path, error)
        self._vetted = True
        return ""

    def error_is_final(self, error: Exception) -> bool:
        """A format error of a file nobody writes any more (or that is complete) will not go away."""
        return self.complete or not self.writer_open

    @property
    def expected(self) -> int | None:
        return int(np.prod(self.layout.dims)) if self.layout is not None else None

    @property
    def complete(self) -> bool:
        return self.layout is not None and self.measured >= self.expected

    def _names(self) -> list[str]:
        layout = self.layout
        names = [layout.incident, *layout.emission.values(), *layout.ffi1.values(), *layout.roi.values()]
        return names + ([layout.monitor] if layout.monitor else [])

    def read_new(self) -> int:
        """Read the points written since the last call; returns how many there are.

        An unfinished file can make h5py raise OSError/KeyError/ValueError/RuntimeError and the probe
        raise XesFormatError (a dataset not created or still empty): the caller retries next poll.
        """
        if self.complete:
            return 0
        with open_readonly(self.path) as (handle, superblock):
            self.writer_open = superblock.writer_open
            if self.layout is None:
                self.layout = nexus_i20.probe(handle, self.path)
                self.identity.check_path()
                self._buffers = {name: Rows(capacity=self.expected) for name in self._names()}
            stop = self._written_until(handle)
            if stop <= self.measured:
                return 0
            slices = {name: read_points(handle[name], self.measured, stop, self.layout.dims)
                      for name in self._names()}
            short = [name for name, values in slices.items() if values.size != stop - self.measured]
            if short:
                log.debug("%s: %s has not grown to %d points yet", self.path, short[0], stop)
                return 0
            # the scan info holds first-point values (Ω, counting time) and end-of-scan fields
            layout = self._reprobe(handle) if self.measured == 0 or stop >= self.expected else self.layout
            self.identity.check_path()     # what was read comes from the file followed so far
        for name, values in slices.items():
            self._buffers[name].extend(values)
        new, self.measured, self.layout = stop - self.measured, stop, layout
        self._window = max(MIN_WINDOW, 2 * new)
        return new

    def _reprobe(self, handle):
        """The scan info read again; a different scan number or command is another scan."""
        layout = nexus_i20.probe(handle, self.path)
        before, now = self.layout.info, layout.info
        for field in ("scan_number", "command"):
            if getattr(before, field, None) != getattr(now, field, None):
                self.identity.replaced(f"its {field.replace('_', ' ')} changed from "
                                       f"{getattr(before, field, None)!r} to {getattr(now, field, None)!r}")
        return layout

    def finalize(self) -> None:
        """Read the scan info again before the last models of a scan that stopped unfinished."""
        with open_readonly(self.path) as (handle, _):
            self.layout = self._reprobe(handle)

    def _written_until(self, handle) -> int:
        """One past the last point whose Ω and ω are written (nexus_i20's measured-count rule).

        Writers store a point's positions last, so its intensities and I1 are there too.
        """
        layout = self.layout
        keys = [layout.incident, *layout.emission.values()]
        available = min(int(np.prod(handle[name].shape)) for name in keys)
        stop = self.measured
        while stop < available:
            end = min(available, stop + self._window)
            valid = None
            for name in keys:
                values = read_points(handle[name], stop, end, layout.dims)
                if values.size != end - stop:
                    return stop
                valid = _valid(values) if valid is None else valid & _valid(values)
            found = np.flatnonzero(valid)
            if found.size == 0:
                break
            stop_here = stop + int(found[-1]) + 1
            if stop_here < end:
                return stop_here
            stop = end
        return stop

    def models(self, channel=None, *, in_progress: bool) -> list:
        from ..io.reader import _select

        if self.layout is None or self.measured == 0:
            return []
        channels = _select(self.path, self.layout.channels, channel)
        return nexus_i20.load_arrays(self.path, self.layout, channels,
                                     lambda name: self._buffers[name].view(self.measured), in_progress=in_progress)
