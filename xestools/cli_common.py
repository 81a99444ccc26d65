"""What every ``xestools`` command shares: its messages (-q/-v), loading with the CLI's warnings, choosing and
checking the output, writing through the format table, and the argument helpers of the parser.

The commands live in :mod:`xestools.cli` and :mod:`xestools.cli_results`; both import these from here, so
neither imports the other's module at load (the parser registers the result commands).
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from xestools.cli_errors import CliError
from xestools.io import formats
from xestools.model import Channel, RXESMap, Spectrum

log = logging.getLogger("xestools.cli")

PROGRAM = "xestools"
#: ``-o -`` means standard output
STDOUT = "-"


class _UsageError(CliError):
    """An argument the parser rejected."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line (exit 2) instead of usage + exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# ----------------------------------------------------------------------------- messages
class _Console:
    """Where the CLI's own messages go: ``-q`` keeps errors only, ``-v`` adds progress and the log.

    Results a command exists to print (``info``, ``report``, CSV on ``-o -``) always go to stdout;
    status lines ("wrote …") go to stdout too, or to stderr when stdout carries the data.
    """

    def __init__(self, verbosity: int = 1) -> None:
        self.verbosity = verbosity
        self.stdout_taken = False

    def reset(self, verbosity: int) -> None:
        """A new command: its verbosity, stdout free again (one console serves every command of the process)."""
        self.verbosity = verbosity
        self.stdout_taken = False

    def status(self, text: str) -> None:
        if self.verbosity >= 1:
            print(text, file=sys.stderr if self.stdout_taken else sys.stdout)

    def note(self, text: str) -> None:
        if self.verbosity >= 1:
            print(f"{PROGRAM}: {text}", file=sys.stderr)

    def detail(self, text: str) -> None:
        if self.verbosity >= 2:
            print(f"{PROGRAM}: {text}", file=sys.stderr)


_console = _Console()


# ----------------------------------------------------------------------------- helpers
def _load(path: str, channel: str | None = None, *, announce: bool = True) -> list[Spectrum | RXESMap]:
    """``xestools.io.load`` with the CLI's messages; warnings recorded by the reader go to stderr."""
    from xestools.io import load

    _console.detail(f"reading {path}")
    objects = load(path, channel=channel)
    if not objects:
        raise CliError(f"{os.path.basename(path)}: no scan data found")
    for obj in objects if announce else ():
        for warning in obj.metadata.get("warnings", []) or []:
            _console.note(f"warning: {os.path.basename(path)}: {warning}")
    return objects


def _channel_names(objects: Sequence[Spectrum | RXESMap]) -> str:
    return ", ".join(str(obj.channel) if obj.channel is not None else "(none)" for obj in objects)


def _single(path: str, objects: list[Spectrum | RXESMap]) -> Spectrum | RXESMap:
    """The one object a command works on; a file with several channels needs ``--channel``."""
    if len(objects) > 1:
        raise CliError(f"{os.path.basename(path)} has channels {_channel_names(objects)}; choose one with --channel")
    return objects[0]


def _load_map(path: str, channel: str | None) -> RXESMap:
    obj = _single(path, _load(path, channel))
    if not isinstance(obj, RXESMap):
        raise CliError(f"{os.path.basename(path)} is a 1D spectrum, not an RXES map; cuts need a map")
    return obj


def _data_format(out: str, explicit: str | None) -> str:
    """The data format of ``-o OUT``: its extension decides; ``--format`` must agree with it.

    An unknown or missing extension is refused rather than silently written as CSV; ``-o -``
    (stdout) is CSV only, since a NeXus file cannot be streamed.
    """
    if out == STDOUT:
        if explicit not in (None, "csv"):
            raise CliError("-o - writes CSV to stdout; NeXus needs a file name (e.g. -o out.nxs)")
        return "csv"
    suffix = Path(out).suffix.lower()
    found = formats.output_format(out)
    if found is None:
        what = f"unknown output extension {suffix!r}" if suffix else "no output extension"
        raise CliError(f"{what} in {out!r}; write {formats.extensions_text()}")
    if explicit and explicit != found.name:
        raise CliError(f"--format {explicit} does not match the extension of {out!r} ({found.name}); "
                       f"use an extension {formats.extensions_text(names=(explicit,))}")
    return found.name


def _figure_format(out: str) -> str:
    """The figure format of ``plot -o OUT`` from its extension (plot has no --format option)."""
    endings = ", ".join(fmt.extension for fmt in formats.output_formats(formats.FIGURE))
    if out == STDOUT:
        raise CliError("plot writes a file; give a name ending in " + endings)
    found = formats.output_format(out, formats.FIGURE)
    if found is None:
        raise CliError(f"plot writes {endings}, not {out!r}; choose a name ending in one of them")
    return found.name


def _check_output(out: str, no_clobber: bool = False) -> Path | None:
    """Refuse early (exit 2) when the output cannot or must not be written; None means stdout."""
    if out == STDOUT:
        _console.stdout_taken = True
        return None
    path = Path(out)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CliError(f"output {out!r} is a folder; give a file name")
    if not folder.is_dir():
        raise CliError(f"output folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(f"output folder {str(folder)!r} is not writable")
    if no_clobber and os.path.lexists(path):
        raise CliError(f"{out} exists; not overwritten (--no-clobber)")
    return path


def _write(obj: Spectrum | RXESMap, out: Path | None, fmt: str, *, columns: dict[str, np.ndarray] | None = None,
           header: dict[str, str] | None = None, process: dict[str, Any] | None = None) -> None:
    """Write through the table's writer (atomic), or CSV to stdout when ``out`` is None."""
    if out is None:
        with tempfile.TemporaryDirectory(prefix="xestools-") as folder:
            staged = Path(folder) / "stdout.csv"
            formats.by_name("csv").write(obj, staged, columns=columns, header=header)
            sys.stdout.write(staged.read_text(encoding="utf-8"))
            sys.stdout.flush()
        return
    try:
        formats.by_name(fmt).write(obj, out, columns=columns, header=header, process=process)
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror or error}") from error


def _wrote(out: Path | None, detail: str = "") -> None:
    where = "CSV to stdout" if out is None else str(out)
    _console.status(f"wrote {where}{': ' + detail if detail else ''}")


def _float_text(value: float) -> str:
    return f"{value:.6g}"


#: shtab's completion actions for file and folder arguments (kept here: shtab is imported only
#: when a completion script is asked for)
_COMPLETE_FILE = {"bash": "_shtab_compgen_files", "zsh": "_files", "tcsh": "f"}
_COMPLETE_DIR = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/", "tcsh": "d"}


def _json_clean(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, NaN/inf as null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(key): _json_clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_clean(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _existing_file(text: str) -> str:
    """Input files must exist; said in one line before anything is loaded."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a scan file")
    return text


def _existing_path(text: str) -> str:
    """A scan file or a folder of scans (``info``)."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"no such file or folder: {text}")
    return text


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _examples(*lines: str) -> str:
    """The epilog every subcommand's --help ends with: examples on real I20 file names."""
    return "examples (I20 file names: NNNNNN_1.nxs, Sample_NNNNNN_1.dat):\n" + "\n".join(f"  {line}" for line in lines)


def _subcommand(commands, name: str, summary: str, description: str, examples: Sequence[str], **kwargs):
    command = commands.add_parser(name, help=summary, description=textwrap.fill(description, 88),
                                  epilog=_examples(*examples),
                                  formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    _add_common_options(command)
    return command


def _add_common_options(command: argparse.ArgumentParser) -> None:
    """-q/-v on a subcommand, so they may stand before or after it."""
    command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                         help="print only errors (and the data a command exists to print)")
    command.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="say what is read; -vv adds the xestools debug log on stderr")


def _add_input(command: argparse.ArgumentParser, *, many: bool = False, channel: bool = True) -> None:
    what = "scan files" if many else "scan file"
    argument = command.add_argument(
        "files" if many else "file", metavar="FILE", nargs="+" if many else None, type=_existing_file,
        help=f"{what}: I20 NeXus (.nxs), I20 ASCII (.dat), two/three-column text or an xestools export")
    argument.complete = _COMPLETE_FILE  # type: ignore[attr-defined]
    if channel:
        command.add_argument("--channel", choices=[c.value for c in Channel],
                             help="spectrometer: upper = Si(642)/medipix1, lower = Ge(555)/medipix2 "
                                  "(needed when the file holds both)")


def _add_output_options(command: argparse.ArgumentParser, *, stdout: bool = True) -> None:
    """``--format``, ``-o OUT`` and ``--no-clobber``, shared by every command that writes a data file."""
    names = formats.output_names()
    command.add_argument("--format", choices=names,
                         help=f"{' or '.join(names)}; optional, the extension of OUT decides and must agree with it")
    where = "; - writes CSV to stdout" if stdout else ""
    kinds = " or ".join(f"{'/'.join(fmt.extensions)} ({fmt.title})" for fmt in formats.output_formats())
    output = command.add_argument("-o", "--output", required=True, metavar="OUT", help=f"output file: {kinds}{where}")
    output.complete = _COMPLETE_FILE  # type: ignore[attr-defined]
    command.add_argument("--no-clobber", action="store_true", help="refuse to overwrite an existing OUT")


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _check_distinct(paths: Sequence[str]) -> None:
    """An average needs two or more different files: one file, or one file twice, is refused."""
    if len(paths) < 2:
        raise CliError(f"an average needs two or more files, got only {os.path.basename(paths[0])}; "
                       f"to write one scan as CSV or NeXus use 'xestools export'")
    seen: dict[str, str] = {}
    for path in paths:
        key = os.path.realpath(path)
        if key in seen:
            also = "" if seen[key] == path else f" (also as {seen[key]})"
            raise CliError(f"{path} is given twice{also}; each repeat must count once")
        seen[key] = path
