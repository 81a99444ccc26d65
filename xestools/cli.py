"""The ``xestools`` command line: info, export, cut, average, batch, normalise, plot, report, samples.

Every number comes from :mod:`xestools.analysis` and :mod:`xestools.io` (the same code the GUI
calls); the CLI only parses arguments, picks objects, and writes results through the io writers,
which write atomically. Exit status: 0 on success, 2 with a one-line message on stderr for a user
error (bad arguments, unreadable or unsuitable files, empty cuts, unwritable output), 1 with a
one-line message for an unexpected failure, whose traceback goes to the log file only.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from xestools import __version__
from xestools.cli_common import (
    PROGRAM, _Parser, _console, _load, _channel_names, _single, _load_map,
    _data_format, _figure_format, _check_output, _write, _wrote, _float_text, _COMPLETE_FILE, _COMPLETE_DIR,
    _json_clean, _existing_file, _existing_path, _finite_float, _examples, _subcommand, _add_common_options,
    _add_input, _add_output_options, _check_distinct, _positive_float)
from xestools.cli_errors import CliError
from xestools.model import Channel, RXESMap, Spectrum, cut_kinds_text, evolve

log = logging.getLogger("xestools.cli")


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


def _info_paths(arguments: Sequence[str]) -> tuple[list[str], int]:
    """Files to describe: each FILE, and every scan file inside each FOLDER (natural order)."""
    from xestools.scanfiles import list_scan_folder

    paths: list[str] = []
    failures = 0
    for argument in arguments:
        if not os.path.isdir(argument):
            paths.append(argument)
            continue
        try:
            listing = list_scan_folder(argument)
        except OSError as error:
            failures += 1
            print(f"{PROGRAM}: {argument}: cannot list the folder: {error.strerror or error}", file=sys.stderr)
            continue
        found = listing.files
        for path, problem in listing.problems:
            failures += 1
            print(f"{PROGRAM}: {path}: {problem}", file=sys.stderr)
        if not found and not listing.problems:
            failures += 1
            print(f"{PROGRAM}: {argument}: no scan files in this folder", file=sys.stderr)
        paths.extend(str(path) for path in found)
    return paths, failures


def _cmd_info(args: argparse.Namespace) -> int:
    from xestools.io import XesFormatError

    paths, failures = _info_paths(args.files)
    records = []
    for path in paths:
        try:
            records.append(_describe(path))
        except (XesFormatError, CliError) as error:
            failures += 1
            print(f"{PROGRAM}: {_one_line(error)}", file=sys.stderr)
    if args.json:
        print(json.dumps(_json_clean(records), indent=2, ensure_ascii=False, allow_nan=False))
    elif records:
        print("\n\n".join(_info_text(record) for record in records))
    return 2 if failures else 0


# ----------------------------------------------------------------------------- export, cut, average, normalise
def _cmd_export(args: argparse.Namespace) -> int:
    out = _check_output(args.output, args.no_clobber)
    fmt = _data_format(args.output, args.format)
    obj = _single(args.file, _load(args.file, args.channel))
    _write(obj, out, fmt, process={"program": PROGRAM, "version": __version__, "command": "export",
                                   "source": args.file, "channel": str(obj.channel)})
    _wrote(out)
    return 0


def _cmd_cut(args: argparse.Namespace) -> int:
    from xestools.analysis import CutSpec, CutType, View, cut

    out = _check_output(args.output, args.no_clobber)
    fmt = _data_format(args.output, args.format)
    rxes_map = _load_map(args.file, args.channel)
    spec = CutSpec(CutType(args.type), args.at, args.width, args.mean)
    result = cut(rxes_map, spec, View(args.view))
    if result.empty:
        raise CliError(f"empty cut {spec.label()}: {result.reason}")
    if result.note:
        _console.note(f"note: {result.note}")
    spectrum = result.to_spectrum(rxes_map)  # its metadata holds the record of the cut, written once
    _write(spectrum, out, fmt, columns={"npoints": np.asarray(result.npoints)},
           process={"program": PROGRAM, "version": __version__, "command": "cut"})
    _wrote(out, f"{spec.label()}, {len(result)} bins, view {result.view.value}")
    return 0


def _repeats_from(paths: Sequence[str], channel: str | None) -> list[Spectrum | RXESMap]:
    """The scans to average: all 1D spectra or all RXES maps, each with its file's SHA-256."""
    scans = [_single(path, _load(path, channel)) for path in paths]
    kinds = {isinstance(scan, RXESMap) for scan in scans}
    if len(kinds) > 1:
        maps = [os.path.basename(path) for path, scan in zip(paths, scans) if isinstance(scan, RXESMap)]
        raise CliError(f"cannot average RXES maps ({', '.join(maps)}) together with 1D spectra; "
                       f"give only maps or only spectra")
    from xestools.io.reader import file_sha256

    return [scan if scan.metadata.get("sha256") else evolve(scan, metadata={"sha256": file_sha256(path)})
            for path, scan in zip(paths, scans)]


def _cmd_average(args: argparse.Namespace) -> int:
    from xestools.analysis import average_series

    out = _check_output(args.output, args.no_clobber)
    fmt = _data_format(args.output, args.format)
    _check_distinct(args.files)
    scans = _repeats_from(args.files, args.channel)
    mode = "union" if args.union else "overlap"
    try:
        average = average_series(scans, grid=mode, weighted=args.weighted)
    except ValueError as error:
        raise CliError(f"cannot average: {error}") from error
    header = {"average_grid": mode, "average_weighting": average.metadata.get("weighting", ""),
              "average_members": "; ".join(member["source"] or member["label"] for member in average.metadata["members"]),
              "average_channel": str(average.channel)}
    for note in average.metadata.get("notes", []):
        _console.note(note)
    _write(average, out, fmt, header=header,
           process={"program": PROGRAM, "version": __version__, "command": "average", **header})
    size = " × ".join(str(n) for n in average.shape) if isinstance(average, RXESMap) else str(len(average))
    _wrote(out, f"{average.label} on the {average.metadata.get('grid_mode', mode)} grid, {size} points")
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
    from xestools.analysis.normalise import window_parameters

    out = _check_output(args.output, args.no_clobber)
    fmt = _data_format(args.output, args.format)
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
    used = record.get("window", window)
    if record.get("window_clipped"):
        _console.note(f"warning: {result.metadata['warnings'][-1]}")
    header = {**window_parameters(record),
              "normalisation_reference": args.reference or "self",
              "normalisation_factor": repr(record.get("factor")), "normalisation_area": repr(record.get("area")),
              "normalisation_channel": str(obj.channel), "normalisation_source": obj.source or args.file}
    _write(result, out, fmt, header=header,
           process={"program": PROGRAM, "version": __version__, "command": "normalise", **header})
    _wrote(out, f"divided by area {_float_text(record.get('area', float('nan')))} over "
                f"{used[0]:g}–{used[1]:g} eV of {args.reference or 'itself'}")
    return 0


# ----------------------------------------------------------------------------- plot
def _cmd_plot(args: argparse.Namespace) -> int:
    out = _check_output(args.output, args.no_clobber)
    fmt = _figure_format(args.output)
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
    _wrote(out, f"{fmt.upper()} figure")
    return 0


def _parse_cut_option(text: str):
    """``TYPE:position:width[:mean]`` as a CutSpec, validated early with a clear message."""
    from xestools.analysis import CutSpec
    from xestools.model import cut_kind_names

    parts = text.split(":")
    if len(parts) not in (3, 4) or parts[0].strip().upper() not in cut_kind_names():
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
        if Path(args.output).suffix.lower() != ".zip":
            raise CliError(f"a support bundle is a zip file; give a name ending in .zip, not {args.output!r}")
        out = _check_output(args.output, args.no_clobber)
        log_dir = Path(args.log_dir).expanduser() if getattr(args, "log_dir", None) else None
        if log_dir is not None and not log_dir.is_dir():
            raise CliError(f"log folder {str(log_dir)!r} does not exist")
        try:
            crash_reports.build_bundle(out, log_dir)
        except OSError as error:
            raise CliError(f"cannot write {out}: {error.strerror or error}") from error
        _wrote(out)
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


# ----------------------------------------------------------------------------- samples, completion
def _cmd_samples(args: argparse.Namespace) -> int:
    from xestools import samples

    if args.out is None:
        folder = samples.default_folder()
        try:
            folder = samples.sample_folder(folder)
        except OSError as error:
            raise CliError(f"cannot write the samples to {folder}: {error.strerror or error}") from error
        paths = [folder / name for name in samples.sample_names()]
    else:
        folder = Path(args.out)
        if folder.exists() and not folder.is_dir():
            raise CliError(f"{args.out} is a file, not a folder")
        taken = [name for name in samples.sample_names() if (folder / name).exists()] if args.no_clobber else []
        if taken:
            raise CliError(f"{folder / taken[0]} exists; not overwritten (--no-clobber)")
        try:
            paths = samples.generate(folder)
        except OSError as error:
            raise CliError(f"cannot write the samples to {folder}: {error.strerror or error}") from error
    for path in paths:
        print(path)
    _console.note(f"open them with: xestools-gui {folder / '990101_1.nxs'}   or: xestools info {folder}")
    return 0




def _cmd_completion(args: argparse.Namespace) -> int:
    import shtab

    print(shtab.complete(build_parser(), shell=args.shell), end="")
    return 0


# ----------------------------------------------------------------------------- parser and entry point
def _add_batch(commands) -> None:
    """``xestools batch`` is defined by :mod:`xestools.batch`; it gets the shared -q/-v here."""
    from xestools import batch

    batch.add_subcommand(commands)
    _add_common_options(commands.choices["batch"])


def _add_info(commands) -> None:
    info = _subcommand(
        commands, "info", "describe scan files: kind, shape, channels, ranges, sample, times",
        "Describe scan files without loading the GUI: kind (RXES map or XES), shape, channels, Ω/ω "
        "ranges, sample, scan number, start/end time, GDA command, intensity range and warnings.",
        ["xestools info 279517_1.nxs XES_ZnZSM5_air500_279192_1.dat",
         "xestools info --json 280754_1.nxs > 280754_info.json",
         "xestools info /dls/i20/data/2025/sp12345-1/nexus/     # every scan in the folder"])
    argument = info.add_argument("files", nargs="+", metavar="FILE", type=_existing_path,
                                 help="scan files, or folders whose scan files are all described")
    argument.complete = _COMPLETE_FILE  # type: ignore[attr-defined]
    info.add_argument("--json", action="store_true", help="print one JSON list instead of text")
    info.set_defaults(handler=_cmd_info)


def _add_export(commands) -> None:
    export = _subcommand(
        commands, "export", "write a scan (one channel) as CSV or NeXus",
        "Write one channel of a scan as CSV (header lines + named columns) or NeXus NXdata; "
        "xestools reads both back identically.",
        ["xestools export 279517_1.nxs -o 279517_map.nxs",
         "xestools export 279496_1.nxs --channel lower -o 279496_kbeta.csv",
         "xestools export ZnO_standard_280754_1.dat -o - | head -30"])
    _add_input(export)
    _add_output_options(export)
    export.set_defaults(handler=_cmd_export)


def _add_cut(commands) -> None:
    cut = _subcommand(
        commands, "cut", f"cut an RXES map ({cut_kinds_text(', ', ', ')}) into a profile",
        "Cut an RXES map into a profile: every point whose coordinate c satisfies |c − E| ≤ W/2 "
        "contributes; sum (default) or mean per bin, with σ and the number of points per bin.",
        ["xestools cut 279517_1.nxs --type CEE --at 8638.9 --width 1.0 -o 279517_herfd.csv",
         "xestools cut 279517_1.nxs --type CIE --at 9662 --width 0.6 --mean --view transfer -o 279517_xes.csv",
         "xestools cut XES_ZnZSM5_air500_279192_1.dat --type CET --at 1020 --width 1 -o -"])
    _add_input(cut)
    from xestools.model import CUT_KINDS

    cut.add_argument("--type", required=True, type=str.upper, choices=[kind.name for kind in CUT_KINDS],
                     help="; ".join(f"{kind.name}: {kind.description}, profile against "
                                    f"{'ω' if kind.bins == 'emission' else 'Ω'}" for kind in CUT_KINDS))
    cut.add_argument("--at", required=True, type=_finite_float, metavar="E",
                     help="band centre E in eV (an Ω, an ω or an Ω − ω, as --type says)")
    cut.add_argument("--width", required=True, type=_finite_float, metavar="W", help="full band width W in eV")
    cut.add_argument("--mean", action="store_true", help="mean over the band instead of the sum")
    cut.add_argument("--view", choices=["incident", "transfer"], default="incident",
                     help="abscissa of a CIE cut: ω (incident, default) or Ω − ω (transfer); "
                          "CEE and CET profiles are always against Ω")
    _add_output_options(cut)
    cut.set_defaults(handler=_cmd_cut)


def _add_average(commands) -> None:
    average = _subcommand(
        commands, "average", "average repeated 1D spectra or RXES maps (two or more files)",
        "Average repeated XES scans or RXES maps of one channel, point by point when they share their "
        "energies, else on a common grid, with σ propagated (the same average as the viewer and 'batch'). "
        "Needs two or more different files: one file is not an average (use 'export').",
        ["xestools average 280772_1.nxs 280773_1.nxs 280774_1.nxs -o vtc_avg.csv",
         "xestools average --weighted ZnO_standard_28077[234]_1.dat -o vtc_avg.nxs",
         "xestools average --channel lower --union 279496_1.nxs 279497_1.nxs -o kbeta_avg.csv"])
    _add_input(average, many=True)
    average.add_argument("--weighted", action="store_true", help="1/σ² weighting (default: plain mean)")
    average.add_argument("--union", action="store_true",
                         help="grid over the union of the energy ranges (default: only their overlap)")
    _add_output_options(average)
    average.set_defaults(handler=_cmd_average)


def _add_normalise(commands) -> None:
    normalise = _subcommand(
        commands, "normalise", "divide a spectrum or map by an area over an energy window",
        "Divide a spectrum (or a map) by the area under a reference spectrum over an energy window; "
        "the factor is recorded in the output, and normalising again replaces it, never compounds.",
        ["xestools normalise vtc_avg.csv --window 9560 9590 --reference 280754_1.nxs -o vtc_norm.csv",
         "xestools normalise ZnO_standard_280754_1.dat --window 9560 9590 -o kb13_norm.csv",
         "xestools normalise 279517_1.nxs --window 8630 8645 -o 279517_norm.nxs"],
        aliases=["normalize"])
    _add_input(normalise)
    normalise.add_argument("--window", required=True, nargs=2, type=_finite_float, metavar=("A", "B"),
                           help="energy window A B (eV) over which the area is taken")
    reference = normalise.add_argument("--reference", metavar="REF", type=_existing_file,
                                       help="take the area of this spectrum (default: of FILE itself), "
                                            "e.g. the wide Kβ1,3 scan for a valence-to-core scan")
    reference.complete = _COMPLETE_FILE  # type: ignore[attr-defined]
    _add_output_options(normalise)
    normalise.set_defaults(handler=_cmd_normalise)


def _add_plot(commands) -> None:
    plot = _subcommand(
        commands, "plot", "render a map (with cuts) or a spectrum to PNG, SVG or PDF",
        "Draw the viewer's figure without the GUI: a map with its cut bands and profiles, or a spectrum.",
        ["xestools plot 279517_1.nxs --scale log --cut CEE:8638.9:1.0 -o 279517.png",
         "xestools plot 279517_1.nxs --view transfer --cut CET:1020:1:mean --cut CIE:9662:0.6 -o 279517.pdf",
         "xestools plot 279496_1.nxs -o 279496.svg"])
    _add_input(plot)
    plot.add_argument("--view", choices=["incident", "transfer"], default="incident",
                      help="map axes: Ω against ω (incident, default) or Ω against Ω − ω (transfer)")
    plot.add_argument("--scale", choices=["linear", "log", "sqrt"], default="linear",
                      help="colour scale of a map (default: %(default)s)")
    plot.add_argument("--cut", action="append", type=_parse_cut_option, metavar="TYPE:E:W[:mean]",
                      help="draw a cut band and its profile, e.g. CEE:8638.9:1.0 (repeatable)")
    plot.add_argument("--cmap", default="viridis", type=_colormap, help="matplotlib colormap (default: %(default)s)")
    plot.add_argument("--dpi", type=_positive_float, default=150.0,
                      help="resolution of PNG output in dots per inch (default: %(default)s)")
    output = plot.add_argument("-o", "--output", required=True, metavar="OUT",
                               help="figure file; the extension chooses the format: .png, .svg or .pdf")
    output.complete = _COMPLETE_FILE  # type: ignore[attr-defined]
    plot.add_argument("--no-clobber", action="store_true", help="refuse to overwrite an existing OUT")
    plot.set_defaults(handler=_cmd_plot)


def _add_report(commands) -> None:
    log_dir_help = "log folder holding crash_reports/ (default: XESTOOLS_LOG_DIR, else logs/ or the user log folder)"
    report = _subcommand(
        commands, "report", "list, show or bundle crash reports for support",
        "Crash reports the viewer wrote: list them (default), print one readably, or zip the scrubbed "
        "reports and logs into one file to send to support.",
        ["xestools report", "xestools report show 3f2a", "xestools report bundle -o xestools-support.zip"])
    report.add_argument("--log-dir", metavar="DIR", help=log_dir_help).complete = _COMPLETE_DIR  # type: ignore[attr-defined]
    report.add_argument("--json", action="store_true", help="list the reports as JSON")
    report.set_defaults(handler=_cmd_report, report_action=None)
    actions = report.add_subparsers(dest="report_action", metavar="ACTION", parser_class=_Parser,
                                    help="list (the default), show or bundle")
    report_list = actions.add_parser("list", help="list the crash reports (default)", description="List the crash reports.")
    report_list.add_argument("--log-dir", metavar="DIR", default=argparse.SUPPRESS, help=log_dir_help)
    report_list.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    show = actions.add_parser("show", help="print one report readably", description="Print one crash report readably.")
    show.add_argument("id", metavar="ID", help="report id (or a unique prefix), as 'xestools report' lists them")
    show.add_argument("--log-dir", metavar="DIR", default=argparse.SUPPRESS, help=log_dir_help)
    bundle = actions.add_parser("bundle", help="zip the scrubbed reports and logs for support",
                                description="Zip the scrubbed crash reports and logs for support.")
    bundle.add_argument("-o", "--output", required=True, metavar="FILE", help="the zip file to write (.zip)")
    bundle.add_argument("--log-dir", metavar="DIR", default=argparse.SUPPRESS, help=log_dir_help)
    bundle.add_argument("--no-clobber", action="store_true", help="refuse to overwrite an existing FILE")


def _add_samples(commands) -> None:
    samples = _subcommand(
        commands, "samples", "write the synthetic sample scans and list them",
        "Write the small synthetic I20 scans (an RXES map, XES on both spectrometers, three VtC repeats, "
        "a wide Kβ1,3 scan; NeXus and ASCII) and print their paths. Without --out they go to your "
        "per-user data folder, once; the files are the same every time.",
        ["xestools samples", "xestools samples --out ~/xes-demo", "xestools samples -q --out . --no-clobber"])
    samples.add_argument("--out", metavar="DIR",
                         help="write (or rewrite) them into DIR instead of the per-user data folder"
                         ).complete = _COMPLETE_DIR  # type: ignore[attr-defined]
    samples.add_argument("--no-clobber", action="store_true", help="refuse to overwrite files already in DIR")
    samples.set_defaults(handler=_cmd_samples)


def _add_completion(commands) -> None:
    completion = _subcommand(
        commands, "completion", "print a bash or zsh completion script",
        "Print a shell completion script for xestools (subcommands, options, file names).",
        ["xestools completion bash > ~/.local/share/bash-completion/completions/xestools",
         "xestools completion zsh > ~/.zfunc/_xestools    # with fpath+=~/.zfunc before compinit in ~/.zshrc"])
    completion.add_argument("shell", choices=["bash", "zsh"], help="the shell to complete for")
    completion.set_defaults(handler=_cmd_completion)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROGRAM, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="XES/RXES tools for Diamond I20 scans (.nxs, .dat) and xestools exports. "
                    "Run 'xestools COMMAND --help' for a command's options and examples.",
        epilog=_examples("xestools samples", "xestools info 279517_1.nxs",
                         "xestools cut 279517_1.nxs --type CEE --at 8638.9 --width 1.0 -o 279517_herfd.csv"))
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version and exit")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="say what is read; -vv: debug log")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    from xestools import cli_results

    for add in (_add_info, _add_export, _add_cut, _add_average, _add_batch, _add_normalise, _add_plot,
                _add_report, _add_samples, _add_completion,
                cli_results.add_fit,
                cli_results.add_align,
                cli_results.add_repeats,
                cli_results.add_background,
                cli_results.add_metrics):
        add(commands)
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


def _verbosity(args: argparse.Namespace) -> int:
    """0 with -q, 1 by default, 2 with -v, 3 with -vv; -q and -v together are refused."""
    if args.quiet and args.verbose:
        raise CliError("choose either -q/--quiet or -v/--verbose")
    return 0 if args.quiet else 1 + min(int(args.verbose or 0), 2)


@contextlib.contextmanager
def _log_to_stderr(verbosity: int) -> Iterator[None]:
    """With -v the xestools loggers' INFO (with -vv DEBUG) records go to stderr for this command."""
    if verbosity < 2:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROGRAM}: %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO if verbosity == 2 else logging.DEBUG)
    root = logging.getLogger("xestools")
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(previous or logging.WARNING, handler.level))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _quiet_broken_pipe() -> None:
    """After the reader of stdout went away (``| head``), stop Python complaining when it flushes at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError) as error:  # stdout is not a real file (tests, IDEs)
        log.debug("could not redirect stdout after a broken pipe: %s", error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``xestools`` command; returns the exit status (0 ok, 2 user error, 1 internal error)."""
    from xestools.io import XesFormatError

    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
        _console.reset(_verbosity(args))
    except CliError as error:
        print(f"{PROGRAM}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except SystemExit as stop:  # --help, --version
        return int(stop.code or 0) if isinstance(stop.code, (int, type(None))) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        with _log_to_stderr(_console.verbosity):
            return handler(args)
    except (CliError, XesFormatError) as error:
        print(f"{PROGRAM}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()
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
