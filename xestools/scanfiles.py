"""Which files in a folder are scans, and opening a whole folder: Qt-free, for the GUI and scripts.

The GUI's file dialog filter, its File → Open folder… and ``xestools info FOLDER`` use these, so
"a scan file" means the same everywhere. A folder on a beamline holds scans next to raw detector
images (``medipix1-279517.hdf``), half-written temporary files and notes: only files with a scan
extension are listed, raw detector files and hidden or temporary files never are, and every file
that cannot be read is reported once, in one summary, instead of stopping the others.
"""
from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from xestools.io.regular_files import special_file_kind
from xestools.io import formats

#: Extensions of every file xestools reads (I20 NeXus and ASCII, plain columns, its own exports).
SCAN_EXTENSIONS = formats.input_extensions()


def file_dialog_filter() -> str:
    """The Qt file-dialog filter string covering every extension xestools reads."""
    def patterns(extensions) -> str:
        return " ".join(f"*{extension}" for extension in extensions)

    return (f"Scan files ({patterns(formats.input_extensions())});;NeXus ({patterns(formats.input_extensions('hdf5'))});;"
            f"Text ({patterns(formats.input_extensions('text'))});;All files (*)")


def start_folder(last_used: str | os.PathLike | None, current: str | os.PathLike | None = None) -> Path:
    """Where a file dialog opens: the folder last used if it still exists, else the current folder."""
    if last_used and Path(last_used).is_dir():
        return Path(last_used)
    return Path(current) if current is not None else Path.cwd()


def is_scan_name(name: str) -> bool:
    """True for a file name xestools would try to open (extension known, not raw, hidden or temporary)."""
    lower = name.lower()
    if lower.startswith("."):
        return False
    if formats.is_raw_detector_name(lower):
        return False
    return os.path.splitext(lower)[1] in formats.input_extensions()


def natural_key(path: Path) -> tuple:
    """Sort key that puts ``279_1.nxs`` before ``1000_1.nxs`` (numbers compared as numbers)."""
    parts = re.split(r"(\d+)", path.name.lower())
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts)


@dataclass
class FolderListing:
    """The scan files of a folder, and the entries named like scans that cannot be opened (with why)."""

    files: list[Path]
    problems: list[tuple[Path, str]]


def _entry_problem(entry: os.DirEntry) -> str | None:
    """Why an entry named like a scan is not a file to open (None: it is a regular file, or a folder)."""
    try:
        mode = entry.stat().st_mode  # follows links: a link loop or a dangling link fails here
    except OSError as error:
        return f"cannot be examined: {error.strerror or error}"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"is a {special_file_kind(mode)}, not a regular file"


def list_scan_folder(folder: str | os.PathLike, pattern: str | None = None) -> FolderListing:
    """The scan files directly inside ``folder`` in natural order (optionally matching a glob ``pattern``),
    and every entry named like a scan that is not a regular file (a link loop, a FIFO) with the reason:
    one bad entry never hides the good files.

    Raises ``NotADirectoryError``/``FileNotFoundError``/``PermissionError`` for a folder that
    cannot be listed.
    """
    base = Path(folder)
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    with os.scandir(base) as entries:
        for entry in entries:
            if not is_scan_name(entry.name) or (pattern and not fnmatch.fnmatch(entry.name, pattern)):
                continue
            problem = _entry_problem(entry)
            if problem is not None:
                problems.append((base / entry.name, problem))
            elif entry.is_file():
                files.append(base / entry.name)
    return FolderListing(sorted(files, key=natural_key), sorted(problems, key=lambda item: natural_key(item[0])))


def scan_files(folder: str | os.PathLike, pattern: str | None = None) -> list[Path]:
    """The scan files directly inside ``folder`` in natural order (see :func:`list_scan_folder`)."""
    return list_scan_folder(folder, pattern).files


@dataclass
class FolderLoad:
    """What opening a folder gave: the objects of every good file and one message per bad file."""

    folder: Path
    loaded: list[tuple[Path, list]] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def objects(self) -> list:
        return [obj for _, objects in self.loaded for obj in objects]

    def summary(self) -> str:
        """One text for the user: how many files opened, and each bad file once with its reason."""
        total = len(self.loaded) + len(self.failures)
        if total == 0:
            return f"no scan files in {self.folder}"
        lines = [f"opened {len(self.loaded)} of {total} scan files in {self.folder}"]
        if self.failures:
            lines.append(f"{len(self.failures)} could not be opened:")
            lines.extend(f"  {path.name}: {message}" for path, message in self.failures)
        return "\n".join(lines)


def load_folder(folder: str | os.PathLike, *, pattern: str | None = None, channel: str | None = None,
                loader: Callable[..., Sequence] | None = None) -> FolderLoad:
    """Load every scan in ``folder``; a file that fails is recorded once and never stops the others.

    ``loader`` defaults to :func:`xestools.io.load` (the same reader the GUI and the CLI use); only
    :class:`~xestools.io.XesFormatError` and ``OSError`` count as a bad file, anything else is a bug
    and propagates.
    """
    from xestools.io import XesFormatError

    if loader is None:
        from xestools.io import load as loader
    result = FolderLoad(Path(folder))
    listing = list_scan_folder(folder, pattern)
    result.failures.extend(listing.problems)
    for path in listing.files:
        try:
            objects = list(loader(path, channel=channel))
        except XesFormatError as error:
            reason = f"{error.problem} ({error.hint})" if error.hint else error.problem
            result.failures.append((path, " ".join(reason.split())))
            continue
        except OSError as error:
            result.failures.append((path, f"cannot be read: {error.strerror or error}"))
            continue
        if objects:
            result.loaded.append((path, objects))
        else:
            result.failures.append((path, "no scan data found"))
    return result
