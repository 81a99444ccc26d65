"""The one table of file formats: what xestools reads and writes, and how each is chosen.

Every format is one :class:`FileFormat` in :data:`FORMATS`: its name, extensions, what it can hold,
its file-dialog filter (plain text, no Qt), and the functions that recognise, read or write it
(``"module:function"`` strings, imported only when used, so this module stays light: the crash
supervisor and the CLI's argument parser import it without numpy or h5py). The CLI's ``-o``, the
GUI's open and save dialogs, batch and the workspace's exports all choose formats here; a new format
is one entry here plus its reader or writer module.

Reading is decided by content, not by name: the readable entries of an HDF5 or text container are
asked in table order whether they recognise the file (the last text entry, plain columns, takes any
text). Extensions only say which files a dialog or a folder listing offers.
"""
from __future__ import annotations

import fnmatch
import importlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .signature import HDF5_SIGNATURE, is_hdf5  # noqa: F401 (the table's callers use them from here)

#: the first 8 bytes of every HDF5 file (at offset 0, or 512, 1024, … after a user block)
#: raw detector images that sit next to the scans on a beamline; never scans themselves
RAW_DETECTOR_PATTERNS = ("medipix*.hdf", "medipix*.h5", "medipix*.hdf5")

#: what a format can hold
SPECTRUM = "spectrum"
MAP = "map"
PROFILE = "profile"
FIGURE = "figure"
DATA = frozenset({SPECTRUM, MAP, PROFILE})


@dataclass(frozen=True)
class FileFormat:
    """One file format: names, extensions (lower case, with the dot), contents and functions.

    ``container`` ("hdf5" or "text") says how a readable format is opened before ``recognise``
    (``(opened) -> bool``; a text format sees the first 16 kB), ``detect`` (``(opened, path) ->
    Detection``) and ``load`` (``(opened, path, channel) -> list``) are called; ``opened`` is the
    h5py file or the whole text.
    ``writer`` is ``(obj, path, *, columns, header, process) -> None`` and writes atomically.
    """

    name: str
    title: str
    extensions: tuple[str, ...]
    holds: frozenset[str]
    dialog_filter: str = ""
    container: str = ""
    recognise: str = ""
    detect: str = ""
    load: str = ""
    writer: str = ""

    @property
    def readable(self) -> bool:
        return bool(self.container and self.load)

    @property
    def writable(self) -> bool:
        return bool(self.writer) or FIGURE in self.holds

    @property
    def extension(self) -> str:
        """The extension a new file of this format gets."""
        return self.extensions[0]

    @property
    def file_filter(self) -> str:
        """Its line of a file dialog's filter, e.g. ``CSV (*.csv)``."""
        return self.dialog_filter or f"{self.title} (*{self.extension})"

    def function(self, role: str) -> Callable[..., Any]:
        """The ``recognise``/``detect``/``load``/``writer`` function, imported now."""
        module, _, name = getattr(self, role).partition(":")
        return getattr(importlib.import_module(module), name)

    def write(self, obj, path, *, columns: dict | None = None, header: dict | None = None,
              process: dict | None = None) -> None:
        """Write ``obj`` (extra ``columns``, ``header`` lines, NeXus ``process`` parameters) atomically."""
        if not self.writer:
            raise ValueError(f"xestools does not write {self.title} data files")
        self.function("writer")(obj, path, columns=columns, header=header, process=process)


def write_csv(obj, path, *, columns: dict | None = None, header: dict | None = None,
              process: dict | None = None) -> None:
    """xestools CSV: ``header`` lines (a CSV names its program and version in its first line)."""
    from .writers import write_csv as write

    write(obj, path, extra_columns=columns, header=header)


def write_nexus(obj, path, *, columns: dict | None = None, header: dict | None = None,
                process: dict | None = None) -> None:
    """NeXus NXdata: ``process`` (else ``header``) as the NXprocess parameters, ``columns`` as NXdata fields."""
    from .writers import write_nexus as write

    write(obj, path, process=header if process is None else process, extra=columns)


#: every format, in the order readers are tried and dialogs list them
FORMATS: list[FileFormat] = [
    FileFormat("csv", "CSV", (".csv", ".txt"), DATA, "CSV (*.csv)", writer="xestools.io.formats:write_csv"),
    FileFormat("nxs", "NeXus", (".nxs", ".h5", ".hdf5", ".nx5"), DATA, "NeXus (*.nxs)",
               writer="xestools.io.formats:write_nexus"),
    FileFormat("xestools-nexus", "xestools NeXus export", (".nxs", ".nx5", ".h5", ".hdf5"), DATA, container="hdf5",
               recognise="xestools.io.xestools_nexus:is_xestools_nexus", detect="xestools.io.xestools_nexus:detect",
               load="xestools.io.xestools_nexus:load"),
    FileFormat("i20-nexus", "I20 NeXus scan", (".nxs", ".nx5", ".h5", ".hdf5"), frozenset({SPECTRUM, MAP}),
               container="hdf5", recognise="xestools.io.nexus_i20:looks_like_i20",
               detect="xestools.io.reader:detect_i20_nexus", load="xestools.io.reader:load_i20_nexus"),
    FileFormat("nxdata", "NeXus NXdata", (".nxs", ".nx5", ".h5", ".hdf5"), frozenset({SPECTRUM, MAP}),
               container="hdf5", recognise="xestools.io.reader:has_nxdata", detect="xestools.io.nxdata:detect",
               load="xestools.io.nxdata:load"),
    FileFormat("xestools-csv", "xestools CSV export", (".csv", ".txt"), DATA, container="text",
               recognise="xestools.io.plain:is_xestools_csv", detect="xestools.io.reader:detect_xestools_csv",
               load="xestools.io.reader:load_xestools_csv"),
    FileFormat("i20-ascii", "I20 ASCII scan", (".dat",), frozenset({SPECTRUM, MAP}), container="text",
               recognise="xestools.io.ascii_i20:looks_like_i20_ascii", detect="xestools.io.reader:detect_i20_ascii",
               load="xestools.io.reader:load_i20_ascii"),
    FileFormat("plain", "text columns", (".txt", ".csv", ".xy", ".dat"), frozenset({SPECTRUM, MAP}), container="text",
               recognise="xestools.io.reader:any_text", detect="xestools.io.reader:detect_plain",
               load="xestools.io.reader:load_plain"),
    FileFormat("png", "PNG image", (".png",), frozenset({FIGURE}), "PNG image (*.png)"),
    FileFormat("svg", "SVG", (".svg",), frozenset({FIGURE}), "SVG (*.svg)"),
    FileFormat("pdf", "PDF", (".pdf",), frozenset({FIGURE}), "PDF (*.pdf)"),
]


def by_name(name: str) -> FileFormat:
    """The format called ``name`` (KeyError naming the known ones otherwise)."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise KeyError(f"unknown format {name!r}; known: {', '.join(f.name for f in FORMATS)}")


def output_formats(holds: str | Iterable[str] = DATA) -> list[FileFormat]:
    """The formats xestools writes that can hold ``holds`` (a kind, or any of several kinds)."""
    wanted = {holds} if isinstance(holds, str) else set(holds)
    return [fmt for fmt in FORMATS if fmt.writable and wanted & fmt.holds]


def output_names(holds: str | Iterable[str] = DATA) -> tuple[str, ...]:
    """Names of the output formats for ``holds`` (the choices of ``--format`` and of a recipe)."""
    return tuple(fmt.name for fmt in output_formats(holds))


def output_format(path: str | os.PathLike, holds: str | Iterable[str] = DATA) -> FileFormat | None:
    """The output format that the extension of ``path`` names, among those for ``holds``; None if none."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    for fmt in output_formats(holds):
        if extension in fmt.extensions:
            return fmt
    return None


def data_format_for(path: str | os.PathLike, default: str = "csv") -> FileFormat:
    """The data format of a file the GUI saves: by extension, ``default`` for an unknown one."""
    return output_format(path) or by_name(default)


def extensions_text(holds: str | Iterable[str] = DATA, names: Iterable[str] | None = None) -> str:
    """``.csv/.txt or .nxs/.h5/.hdf5/.nx5``: the extensions of the output formats, for messages."""
    formats = output_formats(holds) if names is None else [by_name(name) for name in names]
    return " or ".join("/".join(fmt.extensions) for fmt in formats)


def save_filter(holds: str | Iterable[str] = DATA, first: str | None = None) -> str:
    """The save dialog's filter for ``holds`` (format ``first`` listed first, as the default)."""
    formats = output_formats(holds)
    formats.sort(key=lambda fmt: fmt.name != first)
    return ";;".join(fmt.file_filter for fmt in formats)


def write(obj, path, *, columns: dict | None = None, header: dict | None = None, process: dict | None = None,
          default: str = "csv") -> FileFormat:
    """Write ``obj`` in the data format its extension names (``default`` for another); returns the format."""
    fmt = data_format_for(path, default)
    fmt.write(obj, path, columns=columns, header=header, process=process)
    return fmt


def input_formats(container: str | None = None) -> list[FileFormat]:
    """The formats xestools reads (of one container), in the order they are tried."""
    return [fmt for fmt in FORMATS if fmt.readable and (container is None or fmt.container == container)]


def input_extensions(container: str | None = None) -> tuple[str, ...]:
    """Every extension of a file xestools reads (of one container), each once, HDF5 ones first."""
    seen: dict[str, None] = {}
    for kind in ("hdf5", "text") if container is None else (container,):
        for fmt in input_formats(kind):
            seen.update(dict.fromkeys(fmt.extensions))
    return tuple(seen)


def is_raw_detector_name(name: str) -> bool:
    """A raw detector image file by its name (``medipix1-279517.hdf``)."""
    lower = os.path.basename(name).lower()
    return any(fnmatch.fnmatch(lower, pattern) for pattern in RAW_DETECTOR_PATTERNS)


