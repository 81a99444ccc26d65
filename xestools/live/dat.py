"""Incremental reading of an I20 ASCII scan (``.dat``) that GDA is still writing.

Only the bytes appended since the last read are read and parsed (the byte offset of the last complete
line is kept); a last line without its newline is "not yet" and is read again next time. Header,
column names and rows are parsed by :mod:`xestools.io.ascii_i20`, so the finished file gives the
same models as opening it.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from ..io import ascii_i20
from ..numeric import poisson_sigma
from ._buffer import Rows
from .source import FileIdentity

log = logging.getLogger("xestools.live")


def _decode(raw: bytes, at_start: bool) -> str:
    try:
        return raw.decode("utf-8-sig" if at_start else "utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class DatTail:
    """The part of a growing ``.dat`` read so far: header, column names, rows and (at the end) footer.

    A live source (:mod:`xestools.live.source`): the file's identity is its inode and its first 4 KiB
    (the header names the scan), checked on the open file before every read.
    """

    complete_reason = "footer written"

    def __init__(self, path: str):
        self.path = path
        self.identity = FileIdentity(path, prefix_bytes=4096)
        self.offset = 0
        self.header: list[str] = []
        self.columns: list[str] | None = None
        self.footer: list[str] = []
        self._rows: Rows | None = None
        self._derived: dict[str, tuple[Rows, Rows]] = {}   # detector -> FF ÷ I1 and σ of the rows so far
        self._layout = None
        self._classified_rows = -1

    @staticmethod
    def accepts(path: str) -> bool:
        return path.lower().endswith((".dat", ".txt"))

    def look(self):
        return self.identity.look()

    @staticmethod
    def vet() -> str:
        """Text is parsed in this process without risk: nothing to check first."""
        return ""

    @staticmethod
    def error_is_final(error: Exception) -> bool:
        """Complete lines of text never change: a line that does not parse stays wrong."""
        return True

    @property
    def measured(self) -> int:
        return self._rows.size if self._rows is not None else 0

    @property
    def expected(self) -> int | None:
        if self._layout is None:
            return None
        total = 1
        for size in self._layout.dims:
            total *= size
        return max(total, self.measured)

    @property
    def complete(self) -> bool:
        """The two ``#`` footer lines arrive only when GDA has finished the scan."""
        return bool(self.footer)

    def read_new(self) -> int:
        """Read and parse the complete lines appended since the last call; returns the new rows."""
        with open(self.path, "rb") as handle:
            self.identity.check_open(handle)      # the bytes read below come from the file followed so far
            size = os.fstat(handle.fileno()).st_size
            if size == self.offset or self.complete:
                return 0
            handle.seek(self.offset)
            raw = handle.read(size - self.offset)
        end = raw.rfind(b"\n")
        if end < 0:
            log.debug("%s: no complete new line yet (%d bytes pending)", self.path, len(raw))
            return 0
        text = _decode(raw[:end + 1], self.offset == 0)
        before = self.measured
        self._consume(text)
        self.offset += end + 1
        if len(raw) > end + 1:
            log.debug("%s: half-written last line (%d bytes) left for the next read", self.path, len(raw) - end - 1)
        return self.measured - before

    def _consume(self, text: str) -> None:
        """Parse complete lines; nothing is kept unless all of them parse (a failed read changes nothing)."""
        header, columns = self.header, self.columns
        if columns is None:
            lines = text.splitlines(keepends=True)
            first = next((i for i, line in enumerate(lines)
                          if line.strip() and not line.lstrip().startswith("#")), None)
            header = header + [line.rstrip("\r\n") for line in lines[:len(lines) if first is None else first]]
            if first is None:
                self.header = header
                return
            columns = ascii_i20.column_names(header, self.path)
            text = "".join(lines[first:])
        footer_at = 0 if text.startswith("#") else text.find("\n#") + 1
        has_footer = footer_at > 0 or text.startswith("#")
        block = text[:footer_at] if has_footer else text
        rows = ascii_i20.parse_rows(block, len(columns), self.path, first_row=self.measured) \
            if block.strip() else None
        self.header, self.columns = header, columns
        if has_footer:
            self.footer = [line for line in text[footer_at:].splitlines() if line.lstrip().startswith("#")]
        if rows is not None and len(rows):
            if self._rows is None:
                self._rows = Rows(capacity=max(4 * len(rows), 1024), width=len(columns))
            self._rows.extend(rows)

    def finalize(self) -> None:
        """Classify again before the last models of a scan that stopped unfinished."""
        self._classified_rows = -1
        self._layout = None

    def _needs_classify(self) -> bool:
        """Classify (an O(rows) pass) until the grid is settled by two inner rows, and at the end."""
        if self._layout is None or self.complete:
            return self._classified_rows != self.measured
        dims = self._layout.dims
        if self._layout.kind == "xes":
            return self.measured > dims[0]
        settled = 2 * dims[1] < self.measured <= dims[0] * dims[1]
        return not settled and self._classified_rows != self.measured

    def models(self, channel=None, *, in_progress: bool) -> list:
        """Spectra or maps of the rows read so far (none before the first row)."""
        from ..io.reader import _select

        if self._rows is None or self.measured == 0:
            return []
        scan = ascii_i20.AsciiScan(self.header, list(self.footer), list(self.columns), self._rows.view(), [])
        if self._needs_classify():
            self._layout = ascii_i20.classify(scan, self.path)
            self._classified_rows = self.measured
        channels = _select(self.path, self._layout.channels, channel)
        scan.derived = self._derived_columns(channels)
        return ascii_i20.load(scan, self.path, self._layout, channels, in_progress=in_progress)

    def _derived_columns(self, channels) -> dict:
        """FF ÷ I1 and its Poisson σ per detector, computed for the rows new since the last call only
        (the same numbers, point by point, as :func:`ascii_i20.load` computes for all rows)."""
        if "I1" not in self.columns:
            return {}
        rows = self._rows.view()
        derived = {}
        for channel in channels:
            name = f"FF_{channel.detector}"
            if name not in self.columns:
                continue
            intensity, sigma = self._derived.setdefault(channel.detector, (Rows(max(self.measured, 1024)),
                                                                           Rows(max(self.measured, 1024))))
            new = rows[intensity.size:]
            counts, monitor = new[:, self.columns.index(name)], new[:, self.columns.index("I1")]
            with np.errstate(divide="ignore", invalid="ignore"):
                intensity.extend(counts / monitor)
                sigma.extend(poisson_sigma(counts, monitor))
            derived[channel.detector] = (intensity.view(), sigma.view())
        return derived
