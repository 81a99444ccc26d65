"""The ``xestools`` command line: info, export, cut, average, batch, normalise, plot, report.

Every number comes from :mod:`xestools.analysis` and :mod:`xestools.io` (the same code the GUI
calls); the CLI only parses arguments, picks objects, and writes results through the io writers,
which write atomically. Exit status: 0 on success, 2 with a one-line message on stderr for a user
error (bad arguments, unreadable or unsuitable files, empty cuts, unwritable output), 1 with a
one-line message for an unexpected failure, whose traceback goes to the log file only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from xestools import __version__
from xestools.model import Channel, RXESMap, Spectrum, evolve

log = logging.getLogger("xestools.cli")

PROGRAM = "xestools"
DATA_FORMATS = ("csv", "nxs")
_EXTENSION_FORMATS = {".csv": "csv", ".txt": "csv", ".nxs": "nxs", ".h5": "nxs", ".hdf5": "nxs", ".nx5": "nxs"}


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


class _UsageError(CliError):
    """An argument the parser rejected."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line (exit 2) instead of usage + exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# ----------------------------------------------------------------------------- helpers
def _load(path: str, channel: str | None = None, *, announce: bool = True) -> list[Spectrum | RXESMap]:
    """``xestools.io.load`` with the CLI's messages; warnings recorded by the reader go to stderr."""
    from xestools.io import load

    objects = load(path, channel=channel)
    if not objects:
        raise CliError(f"{os.path.basename(path)}: no scan data found")
    for obj in objects if announce else ():
        for warning in obj.metadata.get("warnings", []) or []:
            print(f"{PROGRAM}: warning: {os.path.basename(path)}: {warning}", file=sys.stderr)
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


def _output_format(out: str, explicit: str | None, allowed: Sequence[str], what: str) -> str:
    """The format asked for, or the one the output's extension names."""
    if explicit:
        return explicit
    suffix = Path(out).suffix.lower()
    fmt = _EXTENSION_FORMATS.get(suffix) if allowed == DATA_FORMATS else suffix.lstrip(".")
    if fmt not in allowed:
        raise CliError(f"cannot tell the {what} format from {out!r}; use --format {'|'.join(allowed)} "
                       f"or an extension {', '.join('.' + a for a in allowed)}")
    return fmt


def _check_output(out: str) -> Path:
    """Refuse early (exit 2) when the output cannot be written, before any work is done."""
    path = Path(out)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CliError(f"output {out!r} is a folder; give a file name")
    if not folder.is_dir():
        raise CliError(f"output folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(f"output folder {str(folder)!r} is not writable")
    return path


def _write(obj: Spectrum | RXESMap, out: Path, fmt: str, *, columns: dict[str, np.ndarray] | None = None,
           header: dict[str, str] | None = None, process: dict[str, Any] | None = None) -> None:
    """Write through the io writers (atomic); an OS refusal is a user error."""
    from xestools.io import write_csv, write_nexus

    try:
        if fmt == "csv":
            write_csv(obj, out, extra_columns=columns, header=header)
        else:
            write_nexus(obj, out, process=process, extra=columns)
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror or error}") from error


def _float_text(value: float) -> str:
    return f"{value:.6g}"


def _range_text(values: np.ndarray) -> str:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return "none"
    return f"{finite.min():.2f}–{finite.max():.2f} eV ({finite.size} points)"


# ----------------------------------------------------------------------------- info
def _describe(path: str) -> dict[str, Any]:
    """Everything ``info`` prints about one file, as JSON-ready values."""
    from xestools.io import detect

    detection = detect(path)
    objects = _load(path, announce=False)
    info = detection.info or objects[0].info
    record: dict[str, Any] = {
        "file": path,
        "format": detection.format,
        "kind": detection.kind,
        "shape": list(detection.shape),
        "channels": [str(channel) for channel in detection.channels],
    }
    if info is not None:
        record.update({
            "scan_number": info.scan_number,
            "sample": info.sample_name,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "experiment_id": info.experiment_id,
            "command": info.command,
            "scan_dimensions": list(info.scan_dimensions),
            "mono_energy": info.mono_energy,
        })
    datasets = []
    for obj in objects:
        entry: dict[str, Any] = {"channel": str(obj.channel) if obj.channel is not None else None,
                                 "label": obj.label}
        if isinstance(obj, RXESMap):
            entry["incident_range"] = [float(obj.incident_axis.min()), float(obj.incident_axis.max()), int(obj.incident_axis.size)]
            entry["emission_range"] = [float(obj.emission_axis.min()), float(obj.emission_axis.max()), int(obj.emission_axis.size)]
            entry["measured_points"] = int(np.count_nonzero(obj.mask))
        else:
            finite = obj.energy[np.isfinite(obj.energy)]
            entry["axis"] = obj.axis
            entry["energy_range"] = [float(finite.min()), float(finite.max()), int(finite.size)] if finite.size else None
            if "incident_energy" in obj.metadata:
                entry["incident_energy"] = float(obj.metadata["incident_energy"])
        values = np.asarray(obj.intensity, dtype=float)
        values = values[np.isfinite(values)]
        entry["intensity_range"] = [float(values.min()), float(values.max())] if values.size else None
        entry["intensity_source"] = obj.metadata.get("intensity_source")
        entry["warnings"] = list(obj.metadata.get("warnings", []) or [])
        datasets.append(entry)
    record["datasets"] = datasets
    return record


def _info_text(record: dict[str, Any]) -> str:
    kind = {"rxes": "RXES map", "xes": "XES spectrum"}.get(record["kind"], record["kind"])
    shape = " × ".join(str(n) for n in record["shape"])
    if record["kind"] == "rxes":
        shape += " (Ω × ω)"
    lines = [record["file"],
             f"  format:      {record['format']}",
             f"  kind:        {kind}",
             f"  shape:       {shape}",
             f"  channels:    {', '.join(record['channels']) or '(none)'}"]
    if record.get("scan_number") is not None or record.get("sample"):
        lines.append(f"  scan:        {record.get('scan_number')}   sample: {record.get('sample') or '?'}"
                     f"   experiment: {record.get('experiment_id') or '?'}")
    if record.get("start_time") or record.get("end_time"):
        lines.append(f"  time:        {record.get('start_time') or '?'} → {record.get('end_time') or '?'}")
    if record.get("command"):
        lines.append(f"  command:     {record['command']}")
    for entry in record["datasets"]:
        name = entry["channel"] or "data"
        if "incident_range" in entry:
            lo, hi, n = entry["incident_range"]
            lines.append(f"  {name + ':':<12} Ω {lo:.2f}–{hi:.2f} eV ({n})")
            lo, hi, n = entry["emission_range"]
            lines.append(f"  {'':<12} ω {lo:.2f}–{hi:.2f} eV ({n}), {entry['measured_points']} points measured")
        elif entry.get("energy_range"):
            lo, hi, n = entry["energy_range"]
            symbol = {"emission": "ω", "incident": "Ω", "transfer": "Ω − ω"}[entry["axis"]]
            at = f" at Ω = {entry['incident_energy']:.2f} eV" if "incident_energy" in entry else ""
            lines.append(f"  {name + ':':<12} {symbol} {lo:.2f}–{hi:.2f} eV ({n}){at}")
        if entry["intensity_range"]:
            lo, hi = entry["intensity_range"]
            source = f" [{entry['intensity_source']}]" if entry.get("intensity_source") else ""
            lines.append(f"  {'':<12} intensity {_float_text(lo)} … {_float_text(hi)}{source}")
        for warning in entry["warnings"]:
            lines.append(f"  {'':<12} warning: {warning}")
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    from xestools.io import XesFormatError

    records, failures = [], 0
    for path in args.files:
        try:
            records.append(_describe(path))
        except (XesFormatError, CliError) as error:
            failures += 1
            print(f"{PROGRAM}: {error}", file=sys.stderr)
    if args.json:
        print(json.dumps(_json_clean(records), indent=2, ensure_ascii=False, allow_nan=False))
    elif records:
        print("\n\n".join(_info_text(record) for record in records))
    return 2 if failures else 0


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


# ----------------------------------------------------------------------------- export, cut, average, normalise
def _cmd_export(args: argparse.Namespace) -> int:
    out = _check_output(args.output)
    fmt = _output_format(args.output, args.format, DATA_FORMATS, "output")
    obj = _single(args.file, _load(args.file, args.channel))
    _write(obj, out, fmt, process={"program": PROGRAM, "version": __version__, "command": "export",
                                   "source": args.file, "channel": str(obj.channel)})
    print(f"wrote {out}")
    return 0


def _cmd_cut(args: argparse.Namespace) -> int:
    from xestools.analysis import CutSpec, CutType, View, cut

    out = _check_output(args.output)
    fmt = _output_format(args.output, args.format, DATA_FORMATS, "output")
    rxes_map = _load_map(args.file, args.channel)
    spec = CutSpec(CutType(args.type), args.at, args.width, args.mean)
    result = cut(rxes_map, spec, View(args.view))
    if result.empty:
        raise CliError(f"empty cut {spec.label()}: {result.reason}")
    if result.note:
        print(f"{PROGRAM}: note: {result.note}", file=sys.stderr)
    spectrum = result.to_spectrum(rxes_map)
    header = {
        "cut_type": spec.kind.value,
        "cut_position_eV": repr(spec.position),
        "cut_width_eV": repr(spec.width),
        "cut_statistic": spec.statistic,
        "cut_channel": str(rxes_map.channel),
        "cut_view": result.view.value,
        "cut_source": rxes_map.source or args.file,
        "cut_label": spec.label(),
    }
    _write(spectrum, out, fmt, columns={"npoints": np.asarray(result.npoints)}, header=header,
           process={"program": PROGRAM, "version": __version__, "command": "cut", **header})
    print(f"wrote {out}: {spec.label()}, {len(result)} bins, view {result.view.value}")
    return 0


def _spectra_from(paths: Sequence[str], channel: str | None) -> list[Spectrum]:
    spectra: list[Spectrum] = []
    for path in paths:
        obj = _single(path, _load(path, channel))
        if not isinstance(obj, Spectrum):
            raise CliError(f"{os.path.basename(path)} is an RXES map; average and normalise take 1D spectra "
                           f"(cut the map first with 'xestools cut')")
        spectra.append(evolve(obj, metadata={"sha256": _sha256(path)}))
    return spectra


def _sha256(path: str) -> str:
    """SHA-256 of an input file, recorded with an average's members so a reader can check its sources."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cmd_average(args: argparse.Namespace) -> int:
    from xestools.analysis import average_spectra

    out = _check_output(args.output)
    fmt = _output_format(args.output, args.format, DATA_FORMATS, "output")
    spectra = _spectra_from(args.files, args.channel)
    mode = "union" if args.union else "overlap"
    try:
        average = average_spectra(spectra, grid=mode, weighted=args.weighted)
    except ValueError as error:
        raise CliError(f"cannot average: {error}") from error
    header = {"average_grid": mode, "average_weighting": average.metadata.get("weighting", ""),
              "average_members": "; ".join(spectrum.source or spectrum.label for spectrum in spectra),
              "average_channel": str(average.channel)}
    counts = np.asarray(average.metadata.get("member_count", []), dtype=np.int64)
    columns = {"members": counts} if counts.shape == average.energy.shape else None
    _write(average, out, fmt, columns=columns, header=header,
           process={"program": PROGRAM, "version": __version__, "command": "average", **header})
    print(f"wrote {out}: average of {len(spectra)} spectra on the {mode} grid, {len(average)} points")
    return 0


def _reference_for(path: str, channel: Channel | None) -> Spectrum:
    """The reference spectrum: the file's only spectrum, or the one on the data's channel."""
    objects = _load(path)
    spectra = [obj for obj in objects if isinstance(obj, Spectrum)]
    if not spectra:
        raise CliError(f"{os.path.basename(path)} is an RXES map; the reference must be a 1D spectrum")
    if len(spectra) == 1:
        return spectra[0]
    matching = [spectrum for spectrum in spectra if spectrum.channel == channel]
    if len(matching) == 1:
        return matching[0]
    raise CliError(f"reference {os.path.basename(path)} has channels {_channel_names(spectra)}; "
                   f"give the data a --channel that the reference also holds")


def _cmd_normalise(args: argparse.Namespace) -> int:
    from xestools.analysis import normalise_area, normalise_map

    out = _check_output(args.output)
    fmt = _output_format(args.output, args.format, DATA_FORMATS, "output")
    obj = _single(args.file, _load(args.file, args.channel))
    reference = _reference_for(args.reference, obj.channel) if args.reference else None
    window = tuple(args.window)
    try:
        if isinstance(obj, RXESMap):
            result = normalise_map(obj, reference, window)
        else:
            result = normalise_area(obj, window, reference=reference)
    except ValueError as error:
        raise CliError(f"cannot normalise: {error}") from error
    record = result.metadata.get("normalisation", {})
    used = record.get("effective_window", window)
    if record.get("window_clipped"):
        print(f"{PROGRAM}: warning: {result.metadata['warnings'][-1]}", file=sys.stderr)
    header = {"normalisation_window_eV": f"{window[0]!r} {window[1]!r}",
              "normalisation_window_used_eV": f"{used[0]!r} {used[1]!r}",
              "normalisation_reference": args.reference or "self",
              "normalisation_factor": repr(record.get("factor")), "normalisation_area": repr(record.get("area")),
              "normalisation_channel": str(obj.channel), "normalisation_source": obj.source or args.file}
    _write(result, out, fmt, header=header,
           process={"program": PROGRAM, "version": __version__, "command": "normalise", **header})
    print(f"wrote {out}: divided by area {_float_text(record.get('area', float('nan')))} over "
          f"{used[0]:g}–{used[1]:g} eV of {args.reference or 'itself'}")
    return 0


# ----------------------------------------------------------------------------- plot
def _cmd_plot(args: argparse.Namespace) -> int:
    from xestools.figures import FIGURE_FORMATS  # matplotlib only for this command

    out = _check_output(args.output)
    fmt = _output_format(args.output, None, FIGURE_FORMATS, "figure")
    objects = _load(args.file, args.channel)
    maps = [obj for obj in objects if isinstance(obj, RXESMap)]
    cuts = tuple(args.cut or ())
    if maps:
        scan: Any = _single(args.file, maps)
        from xestools.analysis import cut

        for spec in cuts:
            result = cut(scan, spec, args.view)
            if result.empty:
                raise CliError(f"empty cut {spec.label()}: {result.reason}")
    else:
        if args.cut:
            raise CliError(f"{os.path.basename(args.file)} is a 1D spectrum; --cut needs an RXES map")
        scan = objects if len(objects) > 1 else objects[0]
    from xestools.figures import render_to_file

    try:
        render_to_file(scan, out, view=args.view, scale=args.scale, cuts=cuts, cmap=args.cmap,
                       dpi=args.dpi)
    except ValueError as error:
        raise CliError(f"cannot plot: {error}") from error
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror or error}") from error
    print(f"wrote {out} ({fmt})")
    return 0


def _parse_cut_option(text: str):
    """``TYPE:position:width[:mean]`` as a CutSpec, validated early with a clear message."""
    from xestools.analysis import CutSpec
    parts = text.split(":")
    if len(parts) not in (3, 4) or parts[0].strip().upper() not in ("CIE", "CEE", "CET"):
        raise argparse.ArgumentTypeError(f"cut {text!r}: expected TYPE:position:width[:mean], e.g. CEE:8638.9:1.0")
    try:
        position, width = float(parts[1]), float(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(f"cut {text!r}: position and width must be numbers (eV)") from None
    if not (math.isfinite(position) and math.isfinite(width)) or width <= 0:
        raise argparse.ArgumentTypeError(f"cut {text!r}: width must be a positive number of eV")
    if len(parts) == 4 and parts[3].strip().lower() not in ("mean", "sum"):
        raise argparse.ArgumentTypeError(f"cut {text!r}: the fourth field may only be 'mean' or 'sum'")
    mean = len(parts) == 4 and parts[3].strip().lower() == "mean"
    return CutSpec(parts[0].strip().upper(), position, width, mean)


def _colormap(name: str) -> str:
    """A matplotlib colormap name (matplotlib is imported only when --cmap is given)."""
    import matplotlib

    if name not in matplotlib.colormaps:
        raise argparse.ArgumentTypeError(f"unknown colormap {name!r} (e.g. viridis, magma, cividis, gray)")
    return name


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


# ----------------------------------------------------------------------------- report
def _crash_folder(args: argparse.Namespace) -> Path:
    from xestools.runtime import crash_reports

    log_dir = getattr(args, "log_dir", None)
    if log_dir:
        return Path(log_dir).expanduser() / "crash_reports"
    return crash_reports.default_crash_folder()


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        return _report(args)
    except PermissionError as error:
        raise CliError(f"cannot use the log folder: {error.strerror or error} ({error.filename})") from error


def _report(args: argparse.Namespace) -> int:
    from xestools.runtime import crash_reports

    action = args.report_action or "list"
    if action == "bundle":
        out = _check_output(args.output)
        log_dir = Path(args.log_dir).expanduser() if getattr(args, "log_dir", None) else None
        if log_dir is not None and not log_dir.is_dir():
            raise CliError(f"log folder {str(log_dir)!r} does not exist")
        try:
            crash_reports.build_bundle(out, log_dir)
        except OSError as error:
            raise CliError(f"cannot write {out}: {error.strerror or error}") from error
        print(f"wrote {out}")
        return 0
    folder = _crash_folder(args)
    if action == "show":
        try:
            report = crash_reports.find_report(folder, args.id)
        except KeyError as error:
            raise CliError(f"{error.args[0]} in {folder}") from error
        print(crash_reports.format_report(report), end="")
        return 0
    reports = crash_reports.list_reports(folder)
    if getattr(args, "json", False):
        print(json.dumps([crash_reports.report_to_jsonable(r) for r in reports], indent=2, ensure_ascii=False))
        return 0
    if not reports:
        print(f"no crash reports in {folder}")
        return 0
    print(f"{len(reports)} crash report(s) in {folder}:")
    for report in reports:
        print(f"  {report.get('id', '?'):<28} {report.get('time_utc', ''):<22} {report.get('kind', ''):<17} "
              f"{str(report.get('summary', '')).splitlines()[0] if report.get('summary') else ''}")
    return 0


# ----------------------------------------------------------------------------- parser and entry point
def _existing_file(text: str) -> str:
    """Input files must exist; said in one line before anything is loaded."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a scan file")
    return text


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _add_output_options(command: argparse.ArgumentParser) -> None:
    """``--format`` and ``-o OUT``, shared by every command that writes a data file."""
    command.add_argument("--format", choices=DATA_FORMATS, help="output format (default: from the extension)")
    command.add_argument("-o", "--output", required=True, metavar="OUT")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROGRAM, description="XES/RXES tools for Diamond I20 scans (.nxs, .dat) and xestools exports.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    channel_help = "spectrometer channel (needed when the file holds both)"

    info = commands.add_parser("info", help="describe scan files: kind, shape, channels, ranges, sample, times")
    info.add_argument("files", nargs="+", metavar="FILE", type=_existing_file)
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_cmd_info)

    export = commands.add_parser("export", help="write a scan (one channel) as CSV or NeXus")
    export.add_argument("file", metavar="FILE", type=_existing_file)
    export.add_argument("--channel", choices=[c.value for c in Channel], help=channel_help)
    _add_output_options(export)
    export.set_defaults(handler=_cmd_export)

    cut = commands.add_parser("cut", help="cut an RXES map (CIE, CEE/HERFD, CET) into a profile")
    cut.add_argument("file", metavar="FILE", type=_existing_file)
    cut.add_argument("--type", required=True, type=str.upper, choices=["CIE", "CEE", "CET"],
                     help="CIE: constant Ω; CEE: constant ω (HERFD); CET: constant Ω − ω")
    cut.add_argument("--at", required=True, type=_finite_float, metavar="E", help="band centre (eV)")
    cut.add_argument("--width", required=True, type=_finite_float, metavar="W", help="full band width (eV)")
    cut.add_argument("--mean", action="store_true", help="mean over the band instead of the sum")
    cut.add_argument("--view", choices=["incident", "transfer"], default="incident",
                     help="abscissa of a CIE cut: ω (incident) or Ω − ω (transfer)")
    cut.add_argument("--channel", choices=[c.value for c in Channel], help=channel_help)
    _add_output_options(cut)
    cut.set_defaults(handler=_cmd_cut)

    average = commands.add_parser("average", help="average 1D spectra on a common grid")
    average.add_argument("files", nargs="+", metavar="FILE", type=_existing_file)
    average.add_argument("--weighted", action="store_true", help="1/σ² weighting (default: plain mean)")
    average.add_argument("--union", action="store_true", help="union of the ranges (default: their overlap)")
    average.add_argument("--channel", choices=[c.value for c in Channel], help=channel_help)
    _add_output_options(average)
    average.set_defaults(handler=_cmd_average)

    from xestools import batch as _batch

    _batch.add_subcommand(commands)

    normalise = commands.add_parser("normalise", aliases=["normalize"],
                                    help="divide a spectrum or map by an area over an energy window")
    normalise.add_argument("file", metavar="FILE", type=_existing_file)
    normalise.add_argument("--window", required=True, nargs=2, type=_finite_float, metavar=("A", "B"),
                           help="energy window (eV) of the area")
    normalise.add_argument("--reference", metavar="REF", type=_existing_file,
                           help="take the area of this spectrum (default: of FILE itself)")
    normalise.add_argument("--channel", choices=[c.value for c in Channel], help=channel_help)
    _add_output_options(normalise)
    normalise.set_defaults(handler=_cmd_normalise)

    plot = commands.add_parser("plot", help="render a map (with cuts) or a spectrum to PNG, SVG or PDF")
    plot.add_argument("file", metavar="FILE", type=_existing_file)
    plot.add_argument("--channel", choices=[c.value for c in Channel], help=channel_help)
    plot.add_argument("--view", choices=["incident", "transfer"], default="incident")
    plot.add_argument("--scale", choices=["linear", "log", "sqrt"], default="linear")
    plot.add_argument("--cut", action="append", type=_parse_cut_option, metavar="TYPE:E:W",
                      help="add a cut, e.g. CEE:8638.9:1.0 (repeatable)")
    plot.add_argument("--cmap", default="viridis", type=_colormap, help="matplotlib colormap (default: %(default)s)")
    plot.add_argument("--dpi", type=_positive_float, default=150.0, help="resolution of PNG output (default: %(default)s)")
    plot.add_argument("-o", "--output", required=True, metavar="OUT", help="out.png, out.svg or out.pdf")
    plot.set_defaults(handler=_cmd_plot)

    log_dir_help = "log folder holding crash_reports/ (default: XESTOOLS_LOG_DIR, else logs/ or the user log folder)"
    report = commands.add_parser("report", help="list, show or bundle crash reports for support")
    report.add_argument("--log-dir", metavar="DIR", help=log_dir_help)
    report.add_argument("--json", action="store_true", help="list the reports as JSON")
    report.set_defaults(handler=_cmd_report, report_action=None)
    actions = report.add_subparsers(dest="report_action", metavar="ACTION", parser_class=_Parser)
    report_list = actions.add_parser("list", help="list the crash reports (default)")
    report_list.add_argument("--log-dir", metavar="DIR", default=argparse.SUPPRESS, help=log_dir_help)
    report_list.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    show = actions.add_parser("show", help="print one report readably")
    show.add_argument("id", metavar="ID", help="report id (or a unique prefix)")
    show.add_argument("--log-dir", metavar="DIR", default=argparse.SUPPRESS, help=log_dir_help)
    bundle = actions.add_parser("bundle", help="zip the scrubbed reports and logs for support")
    bundle.add_argument("-o", "--output", required=True, metavar="FILE")
    bundle.add_argument("--log-dir", metavar="DIR", default=argparse.SUPPRESS, help=log_dir_help)
    return parser


def _one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (some library messages span several)."""
    return " ".join(str(error).split())


def _log_internal_error(error: BaseException, argv: Sequence[str]) -> str | None:
    """Write the traceback to the xestools log; return the log file, or None if no log could be written."""
    try:
        from xestools.runtime import logs, paths

        setup = logs.current()
        if setup is None:
            setup = logs.setup_logging(paths.resolve_log_dir(), console=False)
        log.error("xestools %s failed", " ".join(argv), exc_info=(type(error), error, error.__traceback__))
        setup.flush()
        return str(setup.main_file)
    except (ImportError, OSError) as log_error:
        print(f"{PROGRAM}: could not write the log ({log_error})", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``xestools`` command; returns the exit status (0 ok, 2 user error, 1 internal error)."""
    from xestools.io import XesFormatError

    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except CliError as error:
        print(f"{PROGRAM}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except SystemExit as stop:  # --help, --version
        return int(stop.code or 0) if isinstance(stop.code, (int, type(None))) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (CliError, XesFormatError) as error:
        print(f"{PROGRAM}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as error:  # anything else is our bug: one line here, the traceback in the log
        where = _log_internal_error(error, arguments)
        detail = f"; details in {where}" if where else ""
        print(f"{PROGRAM}: internal error: {type(error).__name__}: {_one_line(error)}{detail}", file=sys.stderr)
        if where is None:
            import traceback

            traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
