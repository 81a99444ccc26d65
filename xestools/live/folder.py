"""Watch a data folder for new I20 scans, without inotify and without loading anything.

``poll()`` costs one ``stat`` of the folder when nothing was added (its mtime changes when a file is
created), otherwise one directory listing plus one ``stat`` per *new* name: cheap with hundreds of
scans, also on the network file systems of the beamline. The ``.nxs`` and ``.dat`` of one scan are
one entry. Entries are loaded (or followed) only when asked.
"""
from __future__ import annotations

import fnmatch
import logging
import os
import re
import time
from dataclasses import dataclass

log = logging.getLogger("xestools.live")

#: GDA names: ``279517_1.nxs``, ``ZnO_standard_280754_1.dat`` (scan number, then the file index)
#: a folder mtime younger than this may not show a file created in the same tick: list again
MTIME_SETTLED_NS = 2_000_000_000
I20_NAME = re.compile(r"(?:^|_)(\d{4,})_(\d+)\.(nxs|dat)$", re.IGNORECASE)


@dataclass(frozen=True)
class ScanEntry:
    """One scan of the folder: its files (NeXus first) and the newest modification time among them."""

    number: int
    index: int
    paths: tuple[str, ...]
    mtime_ns: int

    @property
    def path(self) -> str:
        """The file to open: the NeXus file when there is one (same numbers, more metadata)."""
        return self.paths[0]

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def load(self, channel=None) -> list:
        """The scan's models, as File → Open gives them (a scan still being written: use follower())."""
        from ..io.reader import load

        return load(self.path, channel=channel)

    def follower(self, **options):
        from .follower import Follower

        return Follower(self.path, **options)


def _order(path: str) -> int:
    return 0 if path.lower().endswith(".nxs") else 1


class FolderPoller:
    """Lists the I20 scans appearing in ``folder`` (optionally only names matching the glob ``pattern``)."""

    def __init__(self, folder, pattern: str | None = None):
        self.folder = os.fspath(folder)
        self.pattern = pattern
        self._seen: set[str] = set()
        self._entries: dict[tuple[int, int], ScanEntry] = {}
        self._folder_mtime: int | None = None

    @property
    def entries(self) -> list[ScanEntry]:
        """Every scan found so far, newest first."""
        return sorted(self._entries.values(), key=lambda e: (e.mtime_ns, e.number, e.index), reverse=True)

    def poll(self) -> list[ScanEntry]:
        """The scans that appeared since the last poll (all of them the first time), newest first."""
        try:
            folder_mtime = os.stat(self.folder).st_mtime_ns
        except OSError as error:
            log.debug("%s: cannot be listed now: %s", self.folder, error)
            return []
        if folder_mtime == self._folder_mtime and time.time_ns() - folder_mtime > MTIME_SETTLED_NS:
            return []
        try:
            listing = list(os.scandir(self.folder))
        except OSError as error:
            log.debug("%s: cannot be listed now: %s", self.folder, error)
            return []
        self._folder_mtime = folder_mtime
        new_keys = []
        for item in listing:
            if item.name in self._seen or item.name.startswith("."):
                continue
            self._seen.add(item.name)
            match = I20_NAME.search(item.name)
            if match is None or self.pattern and not fnmatch.fnmatch(item.name, self.pattern):
                continue
            try:
                if not item.is_file():
                    continue
                mtime = item.stat().st_mtime_ns
            except OSError:
                self._seen.discard(item.name)  # vanished or not readable yet: look again next time
                continue
            key = (int(match.group(1)), int(match.group(2)))
            if self._add(key, item.path, mtime):
                new_keys.append(key)
        return sorted((self._entries[key] for key in new_keys),
                      key=lambda e: (e.mtime_ns, e.number, e.index), reverse=True)

    def _add(self, key: tuple[int, int], path: str, mtime: int) -> bool:
        """Record ``path`` under its scan; True when the scan itself is new."""
        known = self._entries.get(key)
        paths = (path,) if known is None else tuple(sorted((*known.paths, path), key=_order))
        self._entries[key] = ScanEntry(key[0], key[1], paths, max(mtime, known.mtime_ns if known else 0))
        return known is None
