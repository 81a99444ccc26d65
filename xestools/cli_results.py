"""``xestools fit | align | repeats | background | metrics``: the XES tab's result steps on the command line.

Each command calls the same analysis functions as the GUI (:mod:`xestools.analysis.fitting`,
``alignment``, ``repeats``, ``background``, ``metrics``), so a notebook, a shell script and the GUI
give the same numbers. Errors, exit codes and messages follow :mod:`xestools.cli`: 0 on success,
2 with one line for a user error, 1 for an unexpected failure. ``--json`` prints one JSON document
(NaN as null) on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from xestools import cli_common as cli
from xestools.model import Spectrum


def _json_on_stdout(args: argparse.Namespace) -> None:
    """With --json stdout carries the document: status lines ("wrote …") go to stderr."""
    if getattr(args, "json", False):
        cli._console.stdout_taken = True


def _print_json(value: Any) -> None:
    print(json.dumps(cli._json_clean(value), indent=2, ensure_ascii=False))


def _spectrum(path: str, channel: str | None) -> Spectrum:
    obj = cli._single(path, cli._load(path, channel))
    if not isinstance(obj, Spectrum):
        raise cli.CliError(f"{os.path.basename(path)} is an RXES map; this command takes a 1D spectrum "
                           f"(cut the map first with 'xestools cut')")
    return obj


def _window(args: argparse.Namespace) -> tuple[float, float] | None:
    return None if args.window is None else (float(args.window[0]), float(args.window[1]))


def _peaks(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"peak positions must be numbers separated by commas, not {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one peak position")
    return values


# ----------------------------------------------------------------------------- fit
def _cmd_fit(args: argparse.Namespace) -> int:
    from xestools import __version__
    from xestools.analysis.fitting import fit_lines, parameters_csv
    from xestools.io.atomic import atomic_write

    _json_on_stdout(args)
    out = cli._check_output(args.output, args.no_clobber) if args.output else None
    fmt = cli._data_format(args.output, None) if args.output else None
    spectrum = _spectrum(args.file, args.channel)
    try:
        fit = fit_lines(spectrum, args.peaks, shape=args.shape, background=args.background, window=_window(args),
                        share_width=args.share_width, fwhm=args.fwhm)
    except ValueError as error:
        raise cli.CliError(f"cannot fit {os.path.basename(args.file)}: {error}") from error
    if fmt == "csv" and out is None:
        sys.stdout.write(parameters_csv(fit))
    elif fmt == "csv":
        try:
            atomic_write(out, parameters_csv(fit))
        except OSError as error:
            raise cli.CliError(f"cannot write {out}: {error.strerror or error}") from error
    elif fmt == "nxs":
        process = {"program": cli.PROGRAM, "version": __version__, "command": "fit", "source": args.file,
                   "fit_shape": fit.shape, "fit_background": fit.background_kind, "fit_chi2_reduced": fit.chi2_reduced}
        cli._write(fit.to_spectra()[0], out, "nxs", process=process)
    if fmt is not None:
        cli._wrote(out, f"{fit.label}: {len(fit.components)} {fit.shape} peaks, χ²ᵣ = {fit.chi2_reduced:.3g}")
    if args.json:
        _print_json(fit.as_dict())
    elif args.output != cli.STDOUT:
        print(_fit_text(fit))
    return 0


def _fit_text(fit) -> str:
    lines = [f"{fit.label}: {fit.shape} peaks + {fit.background_kind} background over "
             f"{fit.window[0]:.2f}–{fit.window[1]:.2f} eV, χ²ᵣ = {fit.chi2_reduced:.4g} ({fit.covariance_note})"]
    for component in fit.components:
        lines.append(f"  {component.name}: centre {component.center.value:.3f} ± {component.center.sigma:.3f} eV, "
                     f"FWHM {component.fwhm.value:.3f} ± {component.fwhm.sigma:.3f} eV, "
                     f"area {component.area.value:.6g} ± {component.area.sigma:.3g}")
    for name, ratio in fit.ratios.items():
        lines.append(f"  area ratio {name}: {ratio.value:.4g} ± {ratio.sigma:.2g}")
    if fit.undetermined:
        lines.append("  undetermined (σ not well below the value): " + ", ".join(fit.undetermined))
    return "\n".join(lines)


def add_fit(commands) -> None:
    from xestools.analysis.fitting import BACKGROUND_KINDS, PEAK_SHAPES

    fit = cli._subcommand(
        commands, "fit", "fit peaks (Voigt, Gaussian, …) + a background to a spectrum, with σ",
        "Fit a sum of peaks of one shape plus a background to a spectrum over a window, weighted by 1/σ; "
        "report each peak's centre, FWHM, height and area and the area ratios with σ from the covariance "
        "(scaled by χ²ᵣ). -o writes the parameter table (.csv) or the fitted curve with the model (.nxs).",
        ["xestools fit 280772_1.nxs --peaks 9638,9655.7 --shape voigt --window 9630 9672",
         "xestools fit vtc_avg.csv --peaks 9638,9655.7 --shape pseudovoigt --share-width --json",
         "xestools fit 280754_1.nxs --peaks 9572 --shape pearson7 --background constant -o kb13_fit.csv"])
    cli._add_input(fit)
    fit.add_argument("--peaks", required=True, type=_peaks, metavar="E1[,E2…]", help="starting peak centres in eV")
    fit.add_argument("--shape", default="voigt", choices=PEAK_SHAPES, help="peak shape (default: %(default)s)")
    fit.add_argument("--background", default="linear", choices=BACKGROUND_KINDS, help="default: %(default)s")
    fit.add_argument("--window", nargs=2, type=cli._finite_float, metavar=("LO", "HI"), help="fit only LO–HI eV")
    fit.add_argument("--share-width", action="store_true", help="one width (and shape) for every peak")
    fit.add_argument("--fwhm", type=cli._positive_float, metavar="W", help="starting FWHM in eV")
    fit.add_argument("--json", action="store_true", help="print the result as JSON")
    fit.add_argument("-o", "--output", metavar="OUT", help="parameter table (.csv, - for stdout) or fit (.nxs)")
    fit.add_argument("--no-clobber", action="store_true", help="refuse to overwrite an existing OUT")
    fit.set_defaults(handler=_cmd_fit)


# ----------------------------------------------------------------------------- align
def _cmd_align(args: argparse.Namespace) -> int:
    from xestools.analysis.alignment import find_shift, shift_spectrum
    from xestools.io import write_csv

    _json_on_stdout(args)
    folder = Path(args.output) if args.output else None
    if folder is not None and not folder.is_dir():
        raise cli.CliError(f"output folder {args.output!r} does not exist")
    reference = _spectrum(args.to, args.channel)
    records = []
    for path in args.files:
        spectrum = _spectrum(path, args.channel)
        try:
            shift = find_shift(spectrum, reference, _window(args), method=args.method)
        except ValueError as error:
            raise cli.CliError(f"cannot align {os.path.basename(path)}: {error}") from error
        records.append({"file": path, "shift_eV": shift.value, "shift_sigma_eV": shift.sigma})
        if folder is not None:
            target = folder / f"{Path(path).stem}_aligned.csv"
            try:
                write_csv(shift_spectrum(spectrum, shift), target, header={"energy_shift_eV": repr(shift.value),
                                                                         "energy_shift_sigma_eV": repr(shift.sigma),
                                                                         "aligned_to": args.to})
            except OSError as error:
                raise cli.CliError(f"cannot write {target}: {error.strerror or error}") from error
            cli._console.detail(f"wrote {target}")
    if args.json:
        _print_json(records)
    else:
        for record in records:
            print(f"{record['file']}: shift {record['shift_eV']:+.4f} ± {record['shift_sigma_eV']:.4f} eV")
    return 0


def add_align(commands) -> None:
    from xestools.analysis.alignment import SHIFT_METHODS

    align = cli._subcommand(
        commands, "align", "energy shift (with σ) of spectra onto a reference",
        "Find the energy shift s (applied as E' = E + s) that aligns each spectrum to a reference, with σ: "
        "by cross-correlation over a window (σ from noise realisations, fixed seed) or by the fitted "
        "position of one line. -o DIR writes each aligned spectrum as DIR/<name>_aligned.csv.",
        ["xestools align 280773_1.nxs 280774_1.nxs --to 280772_1.nxs --window 9645 9672",
         "xestools align sample_*.nxs --to ZnO_standard_280754_1.dat --method peak --window 9560 9585 --json",
         "xestools align 28077[34]_1.nxs --to 280772_1.nxs -o aligned/"])
    cli._add_input(align, many=True)
    reference = align.add_argument("--to", required=True, type=cli._existing_file, metavar="REF",
                                   help="the reference spectrum")
    reference.complete = cli._COMPLETE_FILE  # type: ignore[attr-defined]
    align.add_argument("--window", nargs=2, type=cli._finite_float, metavar=("LO", "HI"), help="compare over LO–HI eV")
    align.add_argument("--method", default="xcorr", choices=SHIFT_METHODS, help="default: %(default)s")
    align.add_argument("--json", action="store_true", help="print the shifts as JSON")
    align.add_argument("-o", "--output", metavar="DIR", help="write the aligned spectra into this folder")
    align.set_defaults(handler=_cmd_align)


# ----------------------------------------------------------------------------- repeats
def _cmd_repeats(args: argparse.Namespace) -> int:
    from xestools.analysis.repeats import repeats_table

    cli._check_distinct(args.files)
    spectra = [_spectrum(path, args.channel) for path in args.files]
    try:
        table = repeats_table(spectra, _window(args))
    except ValueError as error:
        raise cli.CliError(f"cannot compare the repeats: {error}") from error
    if args.json:
        record = table.as_dict()
        for row, path in zip(record["repeats"], args.files):
            row["file"] = path
        _print_json(record)
        return 0
    print(f"{'file':<28} {'peak (eV)':>16} {'area':>22} {'IAD':>16} {'χ²ᵣ':>6}  flag")
    for row, path in zip(table.rows, args.files):
        print(f"{os.path.basename(path):<28} {row.peak:9.3f} ± {row.peak_sigma:<5.3f} {row.area:11.5g} ± "
              f"{row.area_sigma:<8.2g} {row.iad:7.4f} ± {row.iad_sigma:<6.4f} {row.chi2_reduced:6.2f}  {row.flag}")
    trend = table.trend
    print(f"trend of the {trend.metric.replace('_', ' ')}: {trend.slope_per_repeat:+.4g} ± {trend.slope_sigma:.2g} "
          f"per repeat{' — FLAGGED (beyond 3σ)' if trend.flagged else ''}")
    return 0


def add_repeats(commands) -> None:
    repeats = cli._subcommand(
        commands, "repeats", "check repeats: metrics with σ, consistency, drift (radiation damage)",
        "For repeated scans: each repeat's peak, first moment, area and IAD against the mean of the others "
        "with σ, its χ²ᵣ against that mean, and a trend test of the metrics against the repeat number "
        "(flagged beyond 3σ).",
        ["xestools repeats 280772_1.nxs 280773_1.nxs 280774_1.nxs --window 9645 9672",
         "xestools repeats ZnO_standard_2807*_1.dat --json > repeats.json"])
    cli._add_input(repeats, many=True)
    repeats.add_argument("--window", nargs=2, type=cli._finite_float, metavar=("LO", "HI"),
                         help="metrics over LO–HI eV (default: the common range)")
    repeats.add_argument("--json", action="store_true", help="print the table as JSON")
    repeats.set_defaults(handler=_cmd_repeats)


# ----------------------------------------------------------------------------- background
def _background_record(fit, spectrum: Spectrum) -> dict[str, Any]:
    return {"file": spectrum.source or spectrum.label, "model": fit.model_name,
            "exclusions": [list(span) for span in fit.exclusions], "weighting": fit.weighting,
            "parameters": {p.name: {"value": p.value, "sigma": p.stderr} for p in fit.parameters if p.vary},
            "reduced_chi_square": fit.reduced_chi_square, "scan_reduced_chi_square": dict(fit.scan_reduced_chi_square),
            "success": fit.success, "sensible": fit.sensible, "problems": list(fit.problems), "advice": fit.advice}


def _cmd_background(args: argparse.Namespace) -> int:
    from xestools import __version__
    from xestools.analysis.background import default_exclusions, fit_background

    _json_on_stdout(args)
    out = cli._check_output(args.output, args.no_clobber) if args.output else None
    fmt = cli._data_format(args.output, None) if args.output else "csv"
    spectrum = _spectrum(args.file, args.channel)
    wide = _spectrum(args.wide, str(spectrum.channel) if spectrum.channel else None) if args.wide else None
    exclusions = [tuple(span) for span in args.exclude] if args.exclude else default_exclusions(spectrum)
    try:
        fit = fit_background(spectrum, [part for part in args.model.split("+") if part], exclusions=exclusions,
                             wide=wide, weighting=args.weighting)
    except ValueError as error:
        raise cli.CliError(f"cannot fit the background of {os.path.basename(args.file)}: {error}") from error
    if out is not None or args.output == cli.STDOUT:
        process = {"program": cli.PROGRAM, "version": __version__, "command": "background", "source": args.file,
                   "background_model": fit.model_name,
                   "background_exclusions_eV": "; ".join(f"{lo!r} {hi!r}" for lo, hi in fit.exclusions)}
        cli._write(fit.residual, out, fmt, header={key: str(value) for key, value in process.items()}, process=process)
        cli._wrote(out, f"{fit.residual.label}")
    if args.json:
        _print_json(_background_record(fit, spectrum))
    elif args.output != cli.STDOUT:
        print(fit.report, end="")
    return 0


def add_background(commands) -> None:
    from xestools.analysis.background import WEIGHTINGS

    background = cli._subcommand(
        commands, "background", "fit a background (e.g. the Kβ1,3 tail) outside excluded lines",
        "Fit a background — linear, polynomialN, pearson7, pseudovoigt, joined with '+' — to a spectrum "
        "outside the exclusion spans (default: Kβ'' through the end of Kβ2,5, found in the data), optionally "
        "with a wide Kβ1,3 scan; check that it is physically sensible. -o writes the background-subtracted "
        "spectrum.",
        ["xestools background 280772_1.nxs --model linear --json",
         "xestools background 280772_1.nxs --model pearson7+linear --wide 280754_1.nxs -o vtc_sub.csv",
         "xestools background vtc_avg.csv --model polynomial2 --exclude 9634 9670"])
    cli._add_input(background)
    background.add_argument("--model", default="linear", metavar="M[+M…]",
                            help="components joined by '+': linear, polynomialN, pearson7, pseudovoigt")
    background.add_argument("--exclude", action="append", nargs=2, type=cli._finite_float, metavar=("LO", "HI"),
                            help="exclude LO–HI eV from the fit (repeatable; default: found in the data)")
    wide = background.add_argument("--wide", type=cli._existing_file, metavar="FILE", help="the wide Kβ1,3 scan")
    wide.complete = cli._COMPLETE_FILE  # type: ignore[attr-defined]
    background.add_argument("--weighting", choices=WEIGHTINGS, help="default: sigma")
    background.add_argument("--json", action="store_true", help="print the result as JSON")
    background.add_argument("-o", "--output", metavar="OUT", help="background-subtracted spectrum (.csv, .nxs, -)")
    background.add_argument("--no-clobber", action="store_true", help="refuse to overwrite an existing OUT")
    background.set_defaults(handler=_cmd_background)


# ----------------------------------------------------------------------------- metrics
def _cmd_metrics(args: argparse.Namespace) -> int:
    from xestools.analysis.metrics import line_shape_metrics, metrics_csv

    reference = _spectrum(args.reference, args.channel) if args.reference else None
    rows = []
    for path in args.files:
        try:
            rows.append(line_shape_metrics(_spectrum(path, args.channel), window=_window(args), reference=reference))
        except ValueError as error:
            raise cli.CliError(f"cannot compute the metrics of {os.path.basename(path)}: {error}") from error
    if args.json:
        _print_json([dict(row.as_dict(), file=path) for row, path in zip(rows, args.files)])
    else:
        sys.stdout.write(metrics_csv(rows))
    return 0


def add_metrics(commands) -> None:
    metrics = cli._subcommand(
        commands, "metrics", "peak, FWHM, first moment, area, IAD of spectra over a window",
        "The metrics table of the XES tab: peak position (5-point parabola, with σ and the 5/7/9-point "
        "spread), FWHM, first moment, area and IAD against a reference, as CSV or JSON.",
        ["xestools metrics 280772_1.nxs --window 9645 9672",
         "xestools metrics vtc_*.csv --window 9645 9672 --reference vtc_avg.csv --json"])
    cli._add_input(metrics, many=True)
    metrics.add_argument("--window", nargs=2, type=cli._finite_float, metavar=("LO", "HI"), help="over LO–HI eV")
    reference = metrics.add_argument("--reference", type=cli._existing_file, metavar="REF",
                                     help="IAD against this spectrum")
    reference.complete = cli._COMPLETE_FILE  # type: ignore[attr-defined]
    metrics.add_argument("--json", action="store_true", help="print the rows as JSON")
    metrics.set_defaults(handler=_cmd_metrics)
