"""Scan replayer: rewrite a finished I20 scan into DEST point by point, the way GDA writes it.

``python -m xestools.replay SRC DEST --rate POINTS_PER_S [--swmr] [--extendable] [--split-rows]``

For the tests, demos and benchmarks of following growing scans (:mod:`xestools.live`). A ``.dat``
gets its header first, then one row per point, the two ``#`` footer lines last. A ``.nxs`` appears
with its whole structure and every per-point dataset empty (fill value 0; final shape, or extendable
along the outer scan dimension), then filled point by point, positioners last, so a reader that
sees a point's Ω and ω also sees its intensities; with ``--swmr`` the file is in SWMR-write mode.
Every point is flushed. DEST receives SRC's numbers exactly, in scan order, so the finished DEST
loads to the same models as SRC; the replay is deterministic (only the pacing depends on time).

This imitates the beamline's writer, which grows its files in place: it is the one writer here
that cannot go through :mod:`xestools.io.atomic` (a growing file is the point), so it refuses to
overwrite an existing file and never touches SRC.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Callable

import numpy as np

log = logging.getLogger("xestools.replay")


def _split_dat(raw: bytes) -> tuple[bytes, list[bytes], bytes]:
    """Header (through the column line), the data rows (each with its newline) and the footer."""
    lines = raw.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith(b"#")), None)
    if first is None:
        raise ValueError("the .dat file has no data rows")
    end = next((i for i in range(first, len(lines)) if lines[i].lstrip().startswith(b"#")), len(lines))
    rows = [line if line.endswith(b"\n") else line + b"\n" for line in lines[first:end] if line.strip()]
    return b"".join(lines[:first]), rows, b"".join(lines[end:])


class _DatWriter:
    """Writes an I20 ASCII scan row by row; ``split_rows`` writes each row in two flushed halves."""

    def __init__(self, src: str, dest: str, *, split_rows: bool = False, half_row_pause: float = 0.0):
        with open(src, "rb") as handle:
            self._header, self._rows, self._footer = _split_dat(handle.read())
        self.dest = dest
        self.total = len(self._rows)
        self._split = split_rows
        self._pause = half_row_pause
        self._handle = None

    def open(self) -> None:
        self._handle = open(self.dest, "xb")
        self._handle.write(self._header)
        self._handle.flush()

    def write(self, start: int, count: int) -> None:
        rows = self._rows[start:start + count]
        if self._split and rows:
            last = rows[-1]
            self._handle.write(b"".join(rows[:-1]) + last[:len(last) // 2])
            self._handle.flush()
            if self._pause:
                time.sleep(self._pause)
            self._handle.write(last[len(last) // 2:])
        else:
            self._handle.write(b"".join(rows))
        self._handle.flush()

    def finish(self) -> None:
        self._handle.write(self._footer)
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            self._handle.close()
            self._handle = None


def _per_point(dataset, dims: tuple[int, ...]) -> bool:
    return dataset.ndim >= len(dims) and tuple(dataset.shape[:len(dims)]) == dims


def _copy_attrs(source, target) -> None:
    for name in source.attrs:
        target.attrs.create(name, source.attrs[name], dtype=source.attrs.get_id(name).dtype)


class _NexusWriter:
    """Writes an I20 NeXus scan point by point into a copy of its structure."""

    def __init__(self, src: str, dest: str, *, swmr: bool = False, extendable: bool = False):
        import h5py

        from .io import nexus_i20

        self.dest = dest
        self._swmr, self._extendable = swmr, extendable
        self._src = h5py.File(src, "r", locking=False)
        layout = nexus_i20.probe(self._src, src)
        self.dims = tuple(layout.dims)
        self.total = int(np.prod(self.dims))
        self._last = {layout.incident, *layout.emission.values()}
        self._handle = None
        self._targets: list[tuple[object, np.ndarray]] = []

    def open(self) -> None:
        """Copy the structure to ``DEST.part`` with empty per-point datasets, then rename it to DEST."""
        import h5py

        if os.path.exists(self.dest):
            raise FileExistsError(f"{self.dest} exists; the replayer never overwrites a file")
        partial = self.dest + ".part"
        handle = h5py.File(partial, "x", libver="latest" if self._swmr else "earliest")
        try:
            for name in self._src:
                self._src.copy(self._src[name], handle, name)
            self._empty_per_point_datasets(handle)
            handle.flush()
            os.rename(partial, self.dest)
        except BaseException:
            handle.close()
            os.unlink(partial)
            raise
        self._handle = handle
        if self._swmr:
            handle.swmr_mode = True
        self._src.close()

    def _empty_per_point_datasets(self, handle) -> None:
        """Replace every per-point dataset by an empty one of the same dtype, keeping every hard link."""
        import h5py

        paths: dict[object, list[str]] = {}

        def visit(name, link):
            if isinstance(link, h5py.HardLink):
                obj = handle[name]
                if isinstance(obj, h5py.Dataset) and _per_point(obj, self.dims):
                    paths.setdefault(h5py.h5o.get_info(obj.id).addr, []).append("/" + name)

        handle.visititems_links(visit)
        ordered = sorted(paths.values(), key=lambda names: any(n in self._last for n in names))
        for names in ordered:
            source = self._src[names[0]]
            values = np.asarray(source[()])
            for name in names:
                del handle[name]
            dataset = self._create(handle, names[0], source)
            for name in names[1:]:
                handle[name] = dataset
            self._targets.append((dataset, values.reshape(self.total, *values.shape[len(self.dims):])))

    def _create(self, handle, name: str, source):
        rest = tuple(source.shape[len(self.dims):])
        if self._extendable:
            shape = (0, *self.dims[1:], *rest)
            chunks = (1, *self.dims[1:], *rest) if len(self.dims) > 1 else (min(self.dims[0], 1024), *rest)
            dataset = handle.create_dataset(name, shape=shape, maxshape=(None, *shape[1:]), dtype=source.dtype,
                                            chunks=chunks, fillvalue=0)
        else:
            dataset = handle.create_dataset(name, shape=source.shape, dtype=source.dtype, chunks=source.chunks,
                                            fillvalue=0)
        _copy_attrs(source, dataset)
        return dataset

    def write(self, start: int, count: int) -> None:
        stop = min(start + count, self.total)
        inner = self.dims[1] if len(self.dims) > 1 else None
        for dataset, values in self._targets:
            if inner is None:
                if self._extendable and dataset.shape[0] < stop:
                    dataset.resize(stop, axis=0)
                dataset[start:stop] = values[start:stop]
                continue
            if self._extendable and dataset.shape[0] < (stop - 1) // inner + 1:
                dataset.resize((stop - 1) // inner + 1, axis=0)
            point = start
            while point < stop:
                row, column = divmod(point, inner)
                end = min(stop, (row + 1) * inner)
                dataset[row, column:column + end - point] = values[point:end]
                point = end
        self._handle.flush()

    def finish(self) -> None:
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._src.id.valid:
            self._src.close()


class Replayer:
    """Replays ``src`` into ``dest`` at ``rate`` points per second (None: as fast as possible).

    ``run()`` writes the whole scan; ``start_at`` points are written at once before the pacing
    starts (to begin a demo or a benchmark mid-scan) and ``stop_after`` leaves the scan unfinished
    (no footer: an aborted scan). ``times`` records (points written, time.monotonic()) after each
    flush, for latency measurements.
    """

    def __init__(self, src, dest, *, rate: float | None = None, swmr: bool = False, extendable: bool = False,
                 split_rows: bool = False, sleep: Callable[[float], None] = time.sleep):
        src, dest = os.fspath(src), os.fspath(dest)
        if os.path.isdir(dest):
            dest = os.path.join(dest, os.path.basename(src))
        if os.path.abspath(src) == os.path.abspath(dest):
            raise ValueError("SRC and DEST are the same file")
        self.src, self.dest, self.rate = src, dest, rate
        self._sleep = sleep
        half_pause = min(0.5 / rate, 0.05) if rate else 0.0
        if src.lower().endswith(".dat"):
            self._writer = _DatWriter(src, dest, split_rows=split_rows, half_row_pause=half_pause)
        else:
            self._writer = _NexusWriter(src, dest, swmr=swmr, extendable=extendable)
        self.total = self._writer.total
        self.written = 0
        self.times: list[tuple[int, float]] = []

    def run(self, *, start_at: int = 0, stop_after: int | None = None, first_point_after: float = 0.0,
            should_stop: Callable[[], bool] = lambda: False) -> int:
        """Write the scan (or its first ``stop_after`` points); returns the points written.

        ``first_point_after`` s pass between creating the file and the first point (motors moving).
        """
        last = self.total if stop_after is None else min(stop_after, self.total)
        try:
            self._writer.open()
            if first_point_after > 0:
                self._sleep(first_point_after)
            if start_at:
                self._write(min(start_at, last))
            started, first = time.monotonic(), self.written
            while self.written < last and not should_stop():
                due = last if not self.rate else first + int((time.monotonic() - started) * self.rate) + 1
                if due <= self.written:
                    self._sleep(max((self.written + 1 - first) / self.rate - (time.monotonic() - started), 0.0))
                    continue
                self._write(min(due, last) - self.written)
            if self.written == self.total:
                self._writer.finish()
        finally:
            self._writer.close()
        return self.written

    def _write(self, count: int) -> None:
        self._writer.write(self.written, count)
        self.written += count
        self.times.append((self.written, time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xestools.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="a finished I20 scan (.nxs or .dat)")
    parser.add_argument("dest", help="the file to write (or a folder: same name as SRC); must not exist")
    parser.add_argument("--rate", type=float, default=10.0, help="points per second (0: as fast as possible)")
    parser.add_argument("--swmr", action="store_true", help="NeXus: write in SWMR mode")
    parser.add_argument("--extendable", action="store_true", help="NeXus: grow the datasets instead of filling them")
    parser.add_argument("--split-rows", action="store_true", help=".dat: write each row in two flushed halves")
    parser.add_argument("--start-at", type=int, default=0, help="points written at once before pacing starts")
    parser.add_argument("--stop-after", type=int, default=None, help="stop after this many points (an aborted scan)")
    parser.add_argument("--first-point-after", type=float, default=0.0,
                        help="seconds between creating the file and writing the first point")
    parser.add_argument("--times", help="write [points, time.monotonic()] of every flush to this JSON file")
    args = parser.parse_args(argv)
    from .io.errors import XesFormatError

    try:
        replayer = Replayer(args.src, args.dest, rate=args.rate or None, swmr=args.swmr,
                            extendable=args.extendable, split_rows=args.split_rows)
        written = replayer.run(start_at=args.start_at, stop_after=args.stop_after,
                               first_point_after=args.first_point_after)
    except (OSError, ValueError, XesFormatError) as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2
    if args.times:
        from .io.atomic import atomic_write

        atomic_write(args.times, json.dumps(replayer.times))
    print(f"replay: {written} of {replayer.total} points written to {replayer.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
