"""Reader for I20 ASCII scans (``.dat``): ``#`` header, a ``#`` column-header line, tab-separated rows
(with a trailing tab) and two ``#`` footer lines.

FFI1 is printed with 6 decimals only, so the intensity is recomputed as FF / I1 and the Poisson
uncertainty as √FF / I1 (FF = medipix ROI counts, I1 already dark-subtracted).
"""
from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from ..model import Channel, ScanInfo
from ..numeric import poisson_sigma
from . import _common
from ._common import EMISSION_MOTORS, INCIDENT_MOTOR
from .errors import XesFormatError

FORMAT = "i20-ascii"
INCIDENT_COLUMNS = ("Energy", INCIDENT_MOTOR)


def looks_like_i20_ascii(head: str) -> bool:
    """True for text whose header is an I20 GDA header (checked on the first few kB)."""
    return "DIAMOND LIGHT SOURCE" in head or "Instrument: I20" in head


@dataclass
class AsciiScan:
    """The parsed text: header lines, column names, the numeric rows and parse warnings."""

    header: list[str]
    footer: list[str]
    columns: list[str]
    data: np.ndarray
    warnings: list[str] = field(default_factory=list)
    #: per detector, (FF ÷ I1, its Poisson σ) of every row when the caller has them already (a followed
    #: scan computes them for its new rows only); :func:`load` computes what is not here
    derived: dict = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray | None:
        if name in self.columns:
            return self.data[:, self.columns.index(name)]
        return None


def parse(text: str, path: str, *, read_data: bool = True) -> AsciiScan:
    """Split an I20 ASCII file into header, column names, data rows and footer.

    The header is walked line by line; the data block (up to the first ``#`` footer line) is
    handed to numpy in one piece, so a 300 000-row map parses in C.
    """
    header: list[str] = []
    position = 0
    data_start = None
    while position < len(text):
        newline = text.find("\n", position)
        line_end = len(text) if newline < 0 else newline
        line = text[position:line_end].rstrip("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            data_start = position
            break
        header.append(line)
        position = line_end + 1
    if data_start is None:
        raise XesFormatError(path, "I20 ASCII file has a header but no data rows",
                             "the scan was probably aborted before its first point")
    columns = column_names(header, path)
    footer_at = text.find("\n#", data_start)
    block_end = len(text) if footer_at < 0 else footer_at + 1
    footer = [] if footer_at < 0 else [line for line in text[footer_at + 1:].splitlines() if line.lstrip().startswith("#")]
    warnings: list[str] = []
    while block_end > data_start and text[block_end - 1].isspace():
        block_end -= 1
    last_break = text.rfind("\n", data_start, block_end)
    last_line = text[max(last_break + 1, data_start):block_end]
    previous_line = text[text.rfind("\n", data_start, max(last_break, data_start)) + 1:last_break] \
        if last_break > data_start else ""
    unfinished = not footer and not text.endswith("\n") and previous_line.rstrip("\r").endswith("\t") \
        and not text[-1:] == "\t"
    if len(last_line.split()) < len(columns) or unfinished:
        block_end = last_break + 1 if last_break >= data_start else data_start
        warnings.append("the last data line was truncated and has been ignored")
    block = text[data_start:block_end]
    if not block.strip():
        raise XesFormatError(path, "no complete data row", "the scan was aborted before its first point")
    if not read_data:
        rows = sum(1 for line in block.splitlines() if line.strip())
        return AsciiScan(header, footer, columns, np.empty((rows, 0)), warnings)
    return AsciiScan(header, footer, columns, parse_rows(block, len(columns), path), warnings)


def column_names(header: list[str], path: str) -> list[str]:
    """The names on the ``# Energy ... I1 ...`` column-header line, the last such line of the header."""
    for line in reversed(header):
        names = line.lstrip("#").split()
        if names and ("I1" in names or any(name in INCIDENT_COLUMNS for name in names)):
            return names
    raise XesFormatError(path, "no column-header line (# Energy ... I1 ...) before the data",
                         "the header is damaged; open the scan's .nxs file instead")


def parse_rows(block: str, width: int, path: str, first_row: int = 0) -> np.ndarray:
    """Complete data lines -> (rows, width) floats, parsed by numpy in one piece.

    ``first_row`` numbers the rows in the message when ``block`` is a later part of the file.
    """
    try:
        data = np.loadtxt(io.StringIO(block), dtype=float, ndmin=2)
    except ValueError as error:
        body = [line for line in block.splitlines() if line.strip()]
        bad = next((n for n, line in enumerate(body) if not _is_number_row(line, width)), None)
        where = f"data row {first_row + bad + 1}" if bad is not None else "a data row"
        raise XesFormatError(path, f"{where} is not a row of {width} numbers ({error})",
                             "the file is damaged; open the scan's .nxs file instead") from error
    if data.size and data.shape[1] != width:
        raise XesFormatError(path, f"data rows have {data.shape[1]} values but the header names {width} columns",
                             "the file is damaged; open the scan's .nxs file instead")
    return data


def _is_number_row(line: str, width: int) -> bool:
    tokens = line.split()
    if len(tokens) != width:
        return False
    try:
        [float(token) for token in tokens]
    except ValueError:
        return False
    return True


def _header_value(lines: list[str], key: str) -> str | None:
    pattern = re.compile(rf"^#\s*{re.escape(key)}\s*:\s*(.*)$")
    for line in lines:
        match = pattern.match(line.strip())
        if match:
            return match.group(1).strip()
    return None


def _command(header: list[str]) -> str:
    """The GDA command: its own ``# command:`` line, or appended to ``# Sample description:``."""
    for line in header:
        match = re.search(r"command\s*:\s*(.*)$", line)
        if match:
            return match.group(1).strip()
    return ""


def _date(lines: list[str]) -> str:
    """The first ``Date:`` of a header (scan start) or footer (scan end)."""
    for line in lines:
        match = re.search(r"Date:\s*(.*)$", line)
        if match:
            return match.group(1).strip()
    return ""


def _float(text: str | None) -> float | None:
    if not text:
        return None
    match = re.search(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", text)
    return float(match.group(0)) if match else None


def scan_info(scan: AsciiScan, path: str) -> tuple[ScanInfo, dict]:
    """ScanInfo and extra metadata (mono crystal, XES energies) from the header and footer."""
    header = scan.header
    metadata: dict = {}
    sample = _header_value(header, "Sample name") or ""
    description = _header_value(header, "Sample description") or ""
    description = re.split(r"#\s*command\s*:", description)[0].strip()
    if description:
        metadata["sample_description"] = description
    command = _command(header)
    crystals: dict[str, str] = {}
    radius: dict[str, float] = {}
    for line in header:
        match = re.search(r"XES (upper|lower) spectrometer\s*:\s*crystal material\s*(\w+),\s*crystal cut:\s*\(([^)]*)\)"
                          r"(?:,\s*Rowland circle radius:\s*([\d.]+))?", line)
        if match:
            crystals[match.group(1)] = f"{match.group(2)}({''.join(match.group(3).split())})"
            if match.group(4):
                radius[match.group(1)] = float(match.group(4))
    mono_crystal = _header_value(header, "Monochromator crystal cut")
    if mono_crystal:
        metadata["mono_crystal"] = mono_crystal
    xes_energy = _header_value(header, "XES energy (upper, lower)")
    if xes_energy:
        values = re.findall(r"[-+]?\d+\.\d+|\d+", xes_energy)
        if len(values) >= 2:
            metadata["xes_energy_setpoints"] = {"upper": float(values[0]), "lower": float(values[1])}
    start_time, end_time = _date(header), _date(scan.footer)
    nexus_file = _header_value(header, "Nexus output file") or ""
    scan_number = None
    for candidate in (os.path.basename(nexus_file.strip("'\"")), os.path.basename(path)):
        match = re.search(r"(\d{4,})_\d+\.\w+$", candidate) or re.search(r"(\d{4,})", candidate)
        if match:
            scan_number = int(match.group(1))
            break
    experiment = re.search(r"/data/\d{4}/([A-Za-z]{2}\d+-\d+)/", nexus_file)
    time_column = scan.column("Time") if scan.data.size else None
    counting_time = float(time_column[0]) if time_column is not None and time_column.size else None
    mono = _float(_header_value(header, "Monochromator energy"))
    info = ScanInfo(
        scan_number=scan_number, sample_name=sample, start_time=start_time, end_time=end_time,
        experiment_id=experiment.group(1) if experiment else "", command=command,
        scan_dimensions=(), mono_energy=mono, spectrometer_crystals=crystals, rowland_radius_mm=radius,
        monitor="I1", counting_time=counting_time, source_format=FORMAT,
    )
    return info, metadata


def _channels(scan: AsciiScan) -> list[Channel]:
    found = []
    for channel in (Channel.UPPER, Channel.LOWER):
        has_counts = f"FF_{channel.detector}" in scan.columns or f"FFI1_{channel.detector}" in scan.columns
        if has_counts and channel.energy_name in scan.columns:
            found.append(channel)
    return found


def _incident_column(scan: AsciiScan) -> str | None:
    return next((name for name in INCIDENT_COLUMNS if name in scan.columns), None)


@dataclass
class AsciiLayout:
    kind: str
    channels: tuple[Channel, ...]
    emission_outer: bool
    dims: tuple[int, ...]
    info: ScanInfo
    metadata: dict


def classify(scan: AsciiScan, path: str) -> AsciiLayout:
    """Decide XES / RXES / refused XANES, the loop order and the grid dimensions."""
    channels = _channels(scan)
    incident_name = _incident_column(scan)
    info, metadata = scan_info(scan, path)
    moving = [motor for motor in _common.moving_motors(info.command)]
    moving_names = [motor.name for motor in moving]
    has_data = scan.data.shape[1] > 0
    if not channels:
        if incident_name is not None and (INCIDENT_MOTOR in moving_names
                                          or has_data and _common.is_moving(scan.column(incident_name))):
            raise XesFormatError(path, "this is a XANES/XAS scan (only the incident energy Ω moves), not XES",
                                 "open it with a XAS program such as Athena; xestools reads XES and RXES scans")
        raise XesFormatError(path, "I20 ASCII file without medipix (FF_medipixN) and XESEnergy columns",
                             "this is not an XES scan; open the scan's .nxs file or a different file")
    if moving_names:
        incident_moves = INCIDENT_MOTOR in moving_names
        emission_moves = any(name in EMISSION_MOTORS for name in moving_names)
    elif has_data:
        incident_moves = incident_name is not None and _common.is_moving(scan.column(incident_name))
        emission_moves = _common.is_moving(scan.column(channels[0].energy_name))
    else:
        raise XesFormatError(path, "cannot tell which energies the scan moves (no command in the header)",
                             "the header is damaged")
    if incident_moves and not emission_moves:
        raise XesFormatError(path, "this is a XANES scan (Ω moves, the emission energy ω is fixed), not XES",
                             "open it as a HERFD/XANES spectrum in a XAS program; xestools reads XES and RXES scans")
    n_rows = scan.data.shape[0]
    if not emission_moves:
        raise XesFormatError(path, "neither the incident nor the emission energy moves in this scan",
                             "xestools reads XES and RXES scans")
    if not incident_moves:
        nominal = next((m.nominal_points(channels[0]) for m in moving if m.name in EMISSION_MOTORS), None)
        dims = (max(n_rows, nominal.size if nominal is not None else 0),)
        return AsciiLayout("xes", tuple(channels), False, dims, _with_dims(info, dims), metadata)
    if moving_names:
        emission_outer = moving_names[0] in EMISSION_MOTORS
    elif has_data and n_rows > 1:
        # the inner loop changes between the first two points
        incident_change = abs(float(np.diff(scan.column(incident_name)[:2])[0]))
        emission_change = abs(float(np.diff(scan.column(channels[0].energy_name)[:2])[0]))
        emission_outer = incident_change > emission_change
    else:
        emission_outer = False
    by_name = {m.name: m for m in moving}
    n_incident = by_name[INCIDENT_MOTOR].nominal_points().size if INCIDENT_MOTOR in by_name else 0
    emission_motor = next((by_name[n] for n in EMISSION_MOTORS if n in by_name), None)
    n_emission = emission_motor.nominal_points(channels[0]).size if emission_motor is not None else 0
    n_outer, n_inner = (n_emission, n_incident) if emission_outer else (n_incident, n_emission)
    if has_data:
        # the data win over the command: the inner loop has as many set points as its grouped read-backs
        grouped = _common.group_count(scan.column(incident_name if emission_outer else channels[0].energy_name))
        if n_rows > grouped or n_inner == 0:
            n_inner = grouped
        n_outer = max(n_outer, math.ceil(n_rows / max(n_inner, 1)))
    dims = (n_outer, n_inner)
    return AsciiLayout("rxes", tuple(channels), emission_outer, dims, _with_dims(info, dims), metadata)


def _with_dims(info: ScanInfo, dims) -> ScanInfo:
    from dataclasses import replace

    return replace(info, scan_dimensions=tuple(int(d) for d in dims))


def load(scan: AsciiScan, path: str, layout: AsciiLayout, channels, *, in_progress: bool = False) -> list:
    """Build one Spectrum or RXESMap per requested channel from the parsed rows.

    ``in_progress`` (a scan still being written, xestools.live) notes the missing points as still
    to come rather than aborted.
    """
    from .nexus_i20 import make_spectrum

    incident_name = _incident_column(scan)
    incident = scan.column(incident_name) if incident_name else np.full(scan.data.shape[0], np.nan)
    monitor = scan.column("I1")
    motors = {m.name: m for m in _common.moving_motors(layout.info.command)}
    results = []
    for channel in channels:
        emission = scan.column(channel.energy_name)
        counts = scan.column(f"FF_{channel.detector}")
        metadata = dict(layout.metadata)
        metadata["warnings"] = list(scan.warnings)
        if in_progress:
            metadata["in_progress"] = True
        with np.errstate(divide="ignore", invalid="ignore"):
            if counts is not None and monitor is not None:
                intensity, uncertainty = scan.derived.get(channel.detector) or (counts / monitor,
                                                                               poisson_sigma(counts, monitor))
                metadata["intensity_source"] = "FFI1"
            else:
                intensity = scan.column(f"FFI1_{channel.detector}").copy()
                uncertainty = None
                metadata["intensity_source"] = "FFI1"
                metadata["warnings"].append("FF or I1 column missing: FFI1 used as printed (6 decimals)")
        label = _common.scan_label(layout.info, path, channel)
        if layout.kind == "xes":
            results.append(make_spectrum(path=path, incident=incident.copy(), emission=emission.copy(),
                                         intensity=intensity, uncertainty=uncertainty,
                                         monitor=None if monitor is None else monitor.copy(),
                                         expected=layout.dims[0], label=label, channel=channel,
                                         info=layout.info, metadata=metadata))
            continue
        n_outer, n_inner = layout.dims
        nominal_incident = motors[INCIDENT_MOTOR].nominal_points() if INCIDENT_MOTOR in motors else None
        emission_motor = next((motors[n] for n in EMISSION_MOTORS if n in motors), None)
        nominal_emission = emission_motor.nominal_points(channel) if emission_motor is not None else None
        nominal_outer, nominal_inner = ((nominal_emission, nominal_incident) if layout.emission_outer
                                        else (nominal_incident, nominal_emission))
        rxes = _common.assemble_map(
            path=path, incident=np.array(incident), emission=np.array(emission), intensity=intensity.copy(),
            uncertainty=None if uncertainty is None else uncertainty.copy(),
            monitor=None if monitor is None else np.array(monitor),
            n_outer=n_outer, n_inner=n_inner, emission_outer=layout.emission_outer,
            nominal_outer=nominal_outer, nominal_inner=nominal_inner, label=label, channel=channel,
            info=layout.info, metadata=metadata)
        if not _rows_form_grid(rxes):
            metadata["warnings"].append("the rows do not follow the scan order; points were placed by their energies")
            rxes = _common.map_by_grouping(
                path=path, incident=incident, emission=emission, intensity=intensity, uncertainty=uncertainty,
                monitor=monitor, label=label, channel=channel, info=layout.info,
                metadata=dict(metadata, scan_order="emission-outer" if layout.emission_outer else "incident-outer",
                              snake=False))
        results.append(rxes)
    return results


def _rows_form_grid(rxes) -> bool:
    """True when the read-backs of every row and column agree within half a grid step."""
    for values, axis, along in ((rxes.incident, rxes.incident_axis, 1), (rxes.emission, rxes.emission_axis, 0)):
        if axis.size < 2 or not rxes.mask.any():
            continue
        step = float(np.median(np.abs(np.diff(axis))))
        measured = np.where(rxes.mask, values, np.nan)
        with _common.quiet_nan_warnings():
            spread = np.nanmax(measured, axis=along) - np.nanmin(measured, axis=along)
            worst = np.nanmax(spread)
        if worst > 0.5 * step:
            return False
    return True
