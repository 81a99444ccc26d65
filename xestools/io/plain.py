"""Plain numeric text (2 columns E, I; 3 columns E, I, σ; long format Ω, ω, I) and xestools CSV exports."""
from __future__ import annotations

import io
import json
import re

import numpy as np

from ..model import Channel, RXESMap, ScanInfo, Spectrum
from . import _common, _schema, cut_record
from .detection import Detection
from .errors import XesFormatError

CSV_MAGIC = "# xestools"
#: prefix of the header fields the reader rebuilds the object from (user header keys never clash)
RESERVED = "xestools."
_NUMERIC_LINE = re.compile(r"^\s*[-+]?(?:\d|\.\d|nan|inf)", re.I)
_SPLIT = re.compile(r"[,;\s]+")


_CSV_SIGNATURE = re.compile(r"^# xestools \S+ csv\s*$")


def is_xestools_csv(head: str) -> bool:
    """Our CSV starts with ``# xestools <version> csv``; other text (a README titled "# xestools")
    is read as plain columns instead."""
    first_line = head.lstrip("\ufeff").split("\n", 1)[0]
    return bool(_CSV_SIGNATURE.match(first_line))


# ---------------------------------------------------------------------------------------------
# plain columns


def _numeric_block(text: str, path: str) -> tuple[np.ndarray, list[str], list[str]]:
    """The numeric rows (comment / header lines skipped), the names of the last header line, and
    warnings (a short last row, as left by an interrupted write, is dropped)."""
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    rows: list[str] = []
    names: list[str] = []
    warnings: list[str] = []
    width = None
    for number, stripped in enumerate(lines):
        if not stripped:
            continue
        if stripped.startswith(("#", "%", "!", ";")) or not _NUMERIC_LINE.match(stripped):
            if not rows:
                names = [n for n in _SPLIT.split(stripped.lstrip("#%!; ")) if n]
                continue
            break
        tokens = [t for t in _SPLIT.split(stripped) if t]
        if width is None:
            width = len(tokens)
        if len(tokens) != width:
            if rows and number == len(lines) - 1 and len(tokens) < width:
                warnings.append("the last row was incomplete and has been ignored")
                break
            raise XesFormatError(path, f"numeric row {len(rows) + 1} has {len(tokens)} values, expected {width}",
                                 "every row needs the same number of columns")
        rows.append(" ".join(tokens))
    if not rows:
        raise XesFormatError(path, "no numeric data block found",
                             "open an I20 .nxs/.dat scan or a text file with columns energy, intensity[, uncertainty]")
    try:
        data = np.loadtxt(io.StringIO("\n".join(rows)), dtype=float, ndmin=2)
    except ValueError as error:
        raise XesFormatError(path, f"the numeric block cannot be parsed ({error})",
                             "check the file for damaged rows") from error
    return data, names, warnings


def _plain_kind(data: np.ndarray) -> str:
    """"rxes" for a long-format map (Ω and ω both repeat), else "xes"."""
    if data.shape[1] < 3 or data.shape[0] < 4:
        return "xes"
    n_incident = _common.group_count(data[:, 0])
    n_emission = _common.group_count(data[:, 1])
    if n_incident > 1 and n_emission > 1 and n_incident * n_emission >= data.shape[0] * 0.5 \
            and n_incident < data.shape[0] and n_emission < data.shape[0]:
        return "rxes"
    return "xes"


def _check_plain(data: np.ndarray, path: str) -> None:
    if data.shape[1] < 2:
        raise XesFormatError(path, "only one numeric column", "a spectrum needs at least energy and intensity columns")
    if data.shape[0] < 2:
        raise XesFormatError(path, "only one numeric row", "a spectrum needs at least two points")


def _plain_channel(names: list[str]) -> Channel | None:
    joined = " ".join(names).lower()
    for channel in Channel:
        if channel.value in joined or channel.detector in joined:
            return channel
    return None


def detect_text(text: str, path: str, kind: str):
    if kind == "xestools-csv":
        header, data = _read_csv(text, path)
        objects = _csv_objects(header, data, path)
        obj = objects[0]
        shape = obj.shape if isinstance(obj, RXESMap) else (len(obj),)
        channels = (obj.channel,) if obj.channel is not None else ()
        return Detection(path, "xestools-csv", "rxes" if isinstance(obj, RXESMap) else "xes", channels, shape, obj.info)
    data, _, _ = _numeric_block(text, path)
    _check_plain(data, path)
    if _plain_kind(data) == "rxes":
        n_incident = _common.group_count(data[:, 0])
        n_emission = _common.group_count(data[:, 1])
        return Detection(path, "plain", "rxes", (), (n_incident, n_emission), None)
    return Detection(path, "plain", "xes", (), (data.shape[0],), None)


def load_text(text: str, path: str, kind: str) -> list:
    if kind == "xestools-csv":
        header, data = _read_csv(text, path)
        return _csv_objects(header, data, path)
    data, names, warnings = _numeric_block(text, path)
    _check_plain(data, path)
    label = _common.scan_label(None, path, None)
    info = ScanInfo(source_format="plain")
    if _plain_kind(data) == "rxes":
        return [_common.map_by_grouping(
            path=path, incident=data[:, 0], emission=data[:, 1], intensity=data[:, 2],
            uncertainty=data[:, 3] if data.shape[1] >= 4 else None, monitor=None, label=label,
            channel=_plain_channel(names), info=info, metadata={"warnings": warnings})]
    energy, intensity = data[:, 0], data[:, 1]
    uncertainty = data[:, 2] if data.shape[1] >= 3 else None
    metadata = {"warnings": warnings}
    # a descending scan is turned round; any other order is sorted, and said so, by _sanity
    if energy.size > 1 and np.all(np.diff(energy) <= 0):
        order = np.argsort(energy, kind="stable")
        energy, intensity = energy[order], intensity[order]
        uncertainty = uncertainty[order] if uncertainty is not None else None
    return [Spectrum(energy=energy, intensity=intensity, uncertainty=uncertainty, label=label, source=path,
                     channel=_plain_channel(names), metadata=metadata, info=info, axis="emission")]


# ---------------------------------------------------------------------------------------------
# xestools CSV


def _read_csv(text: str, path: str) -> tuple[dict, np.ndarray]:
    header: dict[str, str] = {}
    body_start = 0
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = index
            break
        key, sep, value = line[1:].strip().partition(":")
        if sep and key.strip().startswith(RESERVED):
            header[key.strip()[len(RESERVED):]] = value.strip()
    else:
        body_start = len(lines)
    columns = [c.strip() for c in header.get("columns", "").split(",") if c.strip()]
    if not columns:
        raise XesFormatError(path, "xestools CSV without its '# columns:' line", "the file was edited or truncated")
    body = [line for line in lines[body_start:] if line.strip()]
    if body and body[0].split(",")[0].strip() == columns[0]:
        body = body[1:]
    if not body:
        raise XesFormatError(path, "xestools CSV without data rows", "the file was truncated; export it again")
    try:
        data = np.loadtxt(io.StringIO("\n".join(body)), dtype=float, delimiter=",", ndmin=2)
    except ValueError as error:
        raise XesFormatError(path, f"xestools CSV rows cannot be parsed ({error})",
                             "the file was edited or truncated; export it again") from error
    if data.shape[1] != len(columns):
        raise XesFormatError(path, f"rows have {data.shape[1]} values for {len(columns)} columns",
                             "the file was edited or truncated; export it again")
    header["_columns"] = columns  # type: ignore[assignment]
    return header, data


def _json(header: dict, key: str, default, path: str):
    if key not in header:
        return default
    try:
        return json.loads(header[key])
    except json.JSONDecodeError as error:
        raise XesFormatError(path, f"header field {key!r} is not valid JSON", "the file was edited; export it again") \
            from error


#: column names of our CSV (quantity_unit) and of exports before 0.x (bare names), to the fields they fill
_CSV_FIELDS = {"incident_readback_eV": "incident", "emission_readback_eV": "emission",
               "energy_transfer_eV": "transfer", "omega_eV": "incident", "emission_eV": "emission",
               "transfer_eV": "transfer", "intensity_sigma": "uncertainty"}
_SPECTRUM_ABSCISSAE = ("emission_eV", "omega_eV", "transfer_eV", "energy")
#: what an export's metadata says of ``member_count`` when the counts per point are its ``members`` column
MEMBERS_IN_COLUMN = "per point, in the members column"


def restore_member_count(metadata: dict, members, shape: tuple[int, ...]) -> dict:
    """An average's counts per point, written as a ``members`` column or dataset, back in its metadata."""
    if members is None or metadata.get("member_count") != MEMBERS_IN_COLUMN or np.size(members) != np.prod(shape):
        return metadata
    counts = np.array(members, dtype=np.int64).reshape(shape)
    counts.flags.writeable = False
    return {**metadata, "member_count": counts}


def _csv_objects(header: dict, data: np.ndarray, path: str) -> list:
    columns: list[str] = header["_columns"]  # type: ignore[assignment]
    column = {name: data[:, i] for i, name in enumerate(columns)}
    for name in _SPECTRUM_ABSCISSAE:
        if name in column and header.get("kind", "xes") != "rxes":
            column.setdefault("energy", column[name])
            break
    for name, field in _CSV_FIELDS.items():
        if name in column:
            column.setdefault(field, column[name])
    kind = header.get("kind", "xes")
    channel_text = header.get("channel", "")
    channel = Channel(channel_text) if channel_text in ("upper", "lower") else None
    metadata = _schema.metadata(_json(header, "metadata", {}, path), path, "header field 'xestools.metadata'")
    info = _schema.info(_json(header, "info", None, path), path, "header field 'xestools.info'")
    label = _schema.text(_json(header, "label", "", path), path, "header field 'xestools.label'")
    source = _schema.text(_json(header, "source", "", path), path, "header field 'xestools.source'")
    if kind == "rxes":
        shape = tuple(int(v) for v in header.get("shape", "").split())
        metadata = restore_member_count(metadata, column.get("members"), shape)
        if len(shape) != 2 or shape[0] * shape[1] != data.shape[0]:
            raise XesFormatError(path, f"xestools CSV map shape {header.get('shape')!r} does not match {data.shape[0]} rows",
                                 "the file was edited or truncated; export it again")
        for needed in ("incident", "emission", "intensity"):
            if needed not in column:
                raise XesFormatError(path, f"xestools CSV map without the {needed!r} column", "export it again")
        incident_axis = np.asarray(_json(header, "incident_axis", [], path), dtype=float)
        emission_axis = np.asarray(_json(header, "emission_axis", [], path), dtype=float)

        def grid(name, dtype=float):
            return None if name not in column else column[name].reshape(shape).astype(dtype)

        return [RXESMap(incident=grid("incident"), emission=grid("emission"), incident_axis=incident_axis,
                        emission_axis=emission_axis, intensity=grid("intensity"), uncertainty=grid("uncertainty"),
                        mask=np.ones(shape, dtype=bool) if "mask" not in column else grid("mask") > 0.5,
                        monitor=grid("monitor"),
                        label=label, channel=channel, source=source, metadata=metadata, info=info)]
    if "energy" not in column or "intensity" not in column:
        raise XesFormatError(path, "xestools CSV spectrum without energy/intensity columns", "export it again")
    record = cut_record.from_fields(header) if "cut" not in metadata else None
    if record is not None:  # since the record is written once, as its header lines, not in the JSON
        metadata = {**metadata, "cut": record}
    metadata = restore_member_count(metadata, column.get("members"), column["energy"].shape)
    return [Spectrum(energy=column["energy"], intensity=column["intensity"], uncertainty=column.get("uncertainty"),
                     monitor=column.get("monitor"), label=label, channel=channel, source=source, metadata=metadata,
                     info=info, axis=header.get("axis", "emission"))]
