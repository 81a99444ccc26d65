"""Exports: xestools CSV (``# xestools`` header + columns) and NeXus NXdata; both atomic, both read
back by :func:`xestools.io.load` to an equal object."""
from __future__ import annotations

import datetime as _dt
import io
import os
import re

import numpy as np

from .. import __version__
from ..model import EMISSION_LABEL, INCIDENT_LABEL, TRANSFER_LABEL, RXESMap, Spectrum
from . import _json, cut_record
from .atomic import atomic_open, atomic_path
from .plain import CSV_MAGIC, MEMBERS_IN_COLUMN, RESERVED

PROGRAM = "xestools"
#: tables up to this many values are written with the shortest exact float text (slower, readable)
_SHORTEST_REPR_LIMIT = 2_000_000


#: CSV column of a spectrum's abscissa, by ``Spectrum.axis``: named after the quantity, with its unit
AXIS_COLUMNS = {"emission": "emission_eV", "incident": "omega_eV", "transfer": "transfer_eV"}
#: CSV columns of a map, in order (uncertainty and monitor only when present): the grid indices and grid
#: centres (so that pivoting on them gives back the map), the measured read-backs and their Ω − ω
MAP_COLUMNS = ("incident_index", "emission_index", "incident_energy_eV", "emission_energy_eV",
               "incident_readback_eV", "emission_readback_eV", "energy_transfer_eV",
               "intensity", "intensity_sigma", "monitor", "mask")


def _check_extra(name: str, values, length: int) -> np.ndarray:
    array = np.asarray(values)
    if array.size != length:
        raise ValueError(f"extra column {name!r} has {array.size} values, expected {length}")
    return array.ravel()


def _header_value(text) -> str:
    return " ".join(str(text).splitlines())


#: extra columns that hold counts: written as integers even when handed over as floats
COUNT_COLUMNS = ("npoints", "members", "mask")


def _is_integer_column(values: np.ndarray, name: str = "") -> bool:
    """Counts and flags print as integers: integer or bool dtype, or a count column of whole numbers."""
    if values.dtype.kind in "biu":
        return True
    if name not in COUNT_COLUMNS or values.dtype.kind != "f" or values.size == 0:
        return False
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53))


def _data_columns(obj: Spectrum | RXESMap) -> tuple[list[str], dict[str, np.ndarray], int]:
    """Header lines describing the object's shape, its data columns, and the number of rows."""
    columns: dict[str, np.ndarray] = {}
    if isinstance(obj, RXESMap):
        lines = [f"# {RESERVED}kind: rxes", f"# {RESERVED}shape: {obj.shape[0]} {obj.shape[1]}",
                 f"# {RESERVED}incident_axis: {_json.dumps(obj.incident_axis)}",
                 f"# {RESERVED}emission_axis: {_json.dumps(obj.emission_axis)}"]
        return lines, map_table(obj), obj.intensity.size
    if isinstance(obj, Spectrum):
        lines = [f"# {RESERVED}kind: xes", f"# {RESERVED}axis: {obj.axis}"]
        columns[AXIS_COLUMNS[obj.axis]] = obj.energy
        columns["intensity"] = obj.intensity
        if obj.uncertainty is not None:
            columns["intensity_sigma"] = obj.uncertainty
        if obj.monitor is not None:
            columns["monitor"] = obj.monitor
        return lines, columns, obj.energy.size
    raise TypeError(f"write_csv needs a Spectrum or RXESMap, not {type(obj).__name__}")


def map_table(rxes_map: RXESMap) -> dict[str, np.ndarray]:
    """The map in long format, one row per grid point in ``[i_Ω, i_ω]`` order, by :data:`MAP_COLUMNS`."""
    rows, cols = np.indices(rxes_map.shape)
    incident_grid, emission_grid = np.meshgrid(rxes_map.incident_axis, rxes_map.emission_axis, indexing="ij")
    values = {"incident_index": rows, "emission_index": cols, "incident_energy_eV": incident_grid,
              "emission_energy_eV": emission_grid, "incident_readback_eV": rxes_map.incident,
              "emission_readback_eV": rxes_map.emission, "energy_transfer_eV": rxes_map.transfer,
              "intensity": rxes_map.intensity, "intensity_sigma": rxes_map.uncertainty, "monitor": rxes_map.monitor,
              "mask": rxes_map.mask}
    return {name: np.array(values[name]).ravel() for name in MAP_COLUMNS if values[name] is not None}


def _per_point_counts(obj) -> np.ndarray | None:
    """An average's member count per point (``metadata["member_count"]`` of the data's shape), if any."""
    counts = obj.metadata.get("member_count") if isinstance(obj, (RXESMap, Spectrum)) else None
    if counts is None or np.shape(counts) != np.shape(obj.intensity):
        return None
    return np.asarray(counts, dtype=np.int64)


def _header_metadata(obj) -> dict:
    """The metadata for a text header: per-point arrays are data columns, not header text; a cut's
    record has fields of its own (:mod:`.cut_record`), so it is not repeated here."""
    metadata = cut_record.without_record(obj.metadata)
    if _per_point_counts(obj) is None:
        return metadata
    return {**metadata, "member_count": MEMBERS_IN_COLUMN}


def _with_counts(obj, extra: dict | None) -> dict:
    """``extra`` plus an averaged map's ``members`` (contributing maps per point) unless already given."""
    counts = _per_point_counts(obj)
    extra = dict(extra or {})
    if counts is not None and "members" not in extra:
        extra["members"] = counts
    return extra


def _cut_header(obj) -> list[str]:
    """The record of a cut, once: type, position, width, statistic, rule, coordinate, view, channel, source, label."""
    if not isinstance(obj, Spectrum):
        return []
    return [f"# {RESERVED}{name}: {_header_value(value)}" for name, value in cut_record.fields(obj.metadata)]


def _table_text(columns: dict[str, np.ndarray]) -> str:
    """Rows of the table: integer columns as integers, floats exactly (shortest round-trip text)."""
    integer = [_is_integer_column(np.asarray(values), name) for name, values in columns.items()]
    arrays = [np.asarray(values, dtype=np.int64 if whole else float) for values, whole in zip(columns.values(), integer)]
    length = arrays[0].size if arrays else 0
    if length * len(arrays) <= _SHORTEST_REPR_LIMIT:
        # Python's float repr is the shortest text that reads back to the same double: 9558.3, not 9558.2999999999993
        formatted = [list(map(str, array.tolist())) if whole else list(map(repr, array.tolist()))
                     for array, whole in zip(arrays, integer)]
        return "".join(",".join(row) + "\n" for row in zip(*formatted))
    buffer = io.StringIO()
    table = np.column_stack([array.astype(float) for array in arrays])
    np.savetxt(buffer, table, delimiter=",", fmt=["%d" if whole else "%.17g" for whole in integer])
    return buffer.getvalue()


def write_csv(obj: Spectrum | RXESMap, path, *, extra_columns: dict | None = None, header: dict | None = None) -> None:
    """Write ``obj`` as CSV with a ``# xestools`` header (metadata as JSON) so it reads back identically.

    Columns are named after the quantity with its unit (docs/formats.md). A Spectrum has its abscissa
    (``emission_eV``, ``omega_eV`` or ``transfer_eV``, by axis), ``intensity`` [, ``intensity_sigma``,
    ``monitor``]; an RXESMap is written in long format, one row per grid point in ``[i_Ω, i_ω]``
    order (:func:`map_table`): grid indices and grid centres (``incident_energy_eV``,
    ``emission_energy_eV``), the read-backs and their Ω − ω (``energy_transfer_eV``), ``intensity[,
    intensity_sigma, monitor], mask`` and an average's ``members``.
    Counts (``npoints``, ``mask``) are written as integers, floats exactly (shortest round-trip
    text, or 17 significant digits for very large tables).
    """
    lines, columns, length = _data_columns(obj)
    lines.insert(0, f"{CSV_MAGIC} {__version__} csv")
    extra_columns = _with_counts(obj, extra_columns)
    for name, values in extra_columns.items():
        clean = str(name).replace(",", "_").strip()
        if clean in columns:
            raise ValueError(f"extra column {name!r} clashes with a data column")
        columns[clean] = _check_extra(clean, values, length)
    lines.append(f"# {RESERVED}label: {_json.dumps(obj.label)}")
    lines.append(f"# {RESERVED}channel: {obj.channel.value if obj.channel is not None else ''}")
    lines.append(f"# {RESERVED}source: {_json.dumps(obj.source)}")
    lines.extend(_cut_header(obj))
    lines.append(f"# {RESERVED}metadata: {_json.dumps(_header_metadata(obj))}")
    lines.append(f"# {RESERVED}info: {_json.dumps(_json.info_dict(obj.info))}")
    lines.append(f"# {RESERVED}written: {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')}")
    for key, value in (header or {}).items():
        name = _header_value(key).replace(":", "_")
        if name.startswith(RESERVED):
            name = "user." + name
        lines.append(f"# {name}: {_header_value(value)}")
    lines.append(f"# {RESERVED}columns: {','.join(columns)}")
    text = "\n".join(lines) + "\n" + ",".join(columns) + "\n" + _table_text(columns)
    with atomic_open(path, "w") as handle:
        handle.write(text)


def _dataset(group, name, data, *, units: str | None = None, long_name: str | None = None, compress: bool = False):
    kwargs = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if compress and np.size(data) > 4096 else {}
    dataset = group.create_dataset(name, data=data, **kwargs)
    if units:
        dataset.attrs["units"] = units
    if long_name:
        dataset.attrs["long_name"] = long_name
    return dataset


_NUMBER_TEXT = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _parameter(group, key: str, value) -> None:
    """A process parameter as a NeXus field: numbers (also numbers given as text) stay numbers, with
    ``units="eV"`` for a name ending in ``_eV``; lists of numbers become arrays; anything else is text."""
    units = "eV" if key.endswith("_eV") else None
    if isinstance(value, str) and _NUMBER_TEXT.match(value):
        value = float(value) if any(c in value for c in ".eE") else int(value)
    elif isinstance(value, str) and len(value.split()) == 2 and all(_NUMBER_TEXT.match(v) for v in value.split()):
        value = [float(v) for v in value.split()]
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, (int, float, np.integer, np.floating)) or (
            isinstance(value, (list, tuple, np.ndarray)) and len(value) and
            all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in value)):
        _dataset(group, key, np.asarray(value), units=units)
    else:
        group.create_dataset(key, data=value if isinstance(value, str) else _json.dumps(value))


def _intensity_units(obj) -> tuple[str, str]:
    """(units, long name) of the signal: FFI1 is ROI counts per I1 count; an area-normalised signal is per eV."""
    name = obj.metadata.get("intensity_source", "FFI1")
    if isinstance(obj.metadata.get("normalisation"), dict):
        return "1/eV", f"Intensity ({name}, area-normalised)"
    return "counts/I1", f"Intensity ({name} = ROI counts / I1)"


def _write_entry_fields(entry, obj) -> None:
    """NeXus fields of the entry: title, times, experiment id, scan number, program and the sample."""
    info = obj.info
    entry.create_dataset("title", data=obj.label or os.path.basename(obj.source) or "xestools export")
    entry.create_dataset("program_name", data=f"{PROGRAM} {__version__}")
    if info is not None:
        for field, name in (("start_time", "start_time"), ("end_time", "end_time"),
                            ("experiment_id", "experiment_identifier")):
            if getattr(info, field):
                entry.create_dataset(name, data=str(getattr(info, field)))
        if info.scan_number is not None:
            entry.create_dataset("entry_identifier", data=str(info.scan_number))
    sample = entry.create_group("sample")
    sample.attrs["NX_class"] = "NXsample"
    sample.create_dataset("name", data=(info.sample_name if info is not None else "") or "")


def _write_data(entry, obj, extra: dict | None):
    """The NXdata group: signal, errors, axes; a map's per-point Ω, ω and Ω − ω as 2-D coordinates."""
    import h5py

    data = entry.create_group("data")
    data.attrs["NX_class"] = "NXdata"
    data.attrs["signal"] = "intensity"
    data.create_dataset("title", data=obj.label or "xestools export")
    compress = isinstance(obj, RXESMap)
    if isinstance(obj, RXESMap):
        data.attrs["axes"] = np.array(["incident_axis", "emission_axis"], dtype=h5py.string_dtype())
        data.attrs["incident_axis_indices"] = 0
        data.attrs["emission_axis_indices"] = 1
        _dataset(data, "incident_axis", obj.incident_axis, units="eV", long_name=INCIDENT_LABEL)
        _dataset(data, "emission_axis", obj.emission_axis, units="eV", long_name=EMISSION_LABEL)
        for name, values, label in (("incident", obj.incident, INCIDENT_LABEL), ("emission", obj.emission, EMISSION_LABEL),
                                    ("transfer", obj.transfer, TRANSFER_LABEL)):
            _dataset(data, name, values, units="eV", long_name=label, compress=True)
            data.attrs[f"{name}_indices"] = np.array([0, 1], dtype=np.int32)
        _dataset(data, "mask", obj.mask.astype(np.int8), long_name="measured point (1) or missing (0)", compress=True)
        data.attrs["mask_indices"] = np.array([0, 1], dtype=np.int32)
    else:
        data.attrs["axes"] = "energy"
        data.attrs["energy_indices"] = 0
        _dataset(data, "energy", obj.energy, units="eV", long_name=obj.axis_label)
    units, long_name = _intensity_units(obj)
    _dataset(data, "intensity", obj.intensity, units=units, long_name=long_name, compress=compress)
    if obj.uncertainty is not None:
        _dataset(data, "intensity_errors", obj.uncertainty, units=units, long_name="Uncertainty (1σ)", compress=compress)
    if obj.monitor is not None:
        _dataset(data, "monitor", obj.monitor, units="counts", long_name="I1 monitor", compress=compress)
    for name, values in (extra or {}).items():
        if name in data:
            raise ValueError(f"extra dataset {name!r} clashes with a data field")
        array = np.asarray(values)
        _dataset(data, str(name), array.astype(np.int64) if _is_integer_column(array.ravel(), str(name)) else array,
                 compress=compress)
    _attach_dimension_scales(data, obj)
    return data


def _attach_dimension_scales(data, obj) -> None:
    """The axes as HDF5 dimension scales on every array of the data's shape, and a map's per-point Ω, ω
    and Ω − ω named as its coordinates: netCDF readers (xarray with h5netcdf) then open the group with
    real coordinates instead of phony dimensions."""
    import h5py

    scales = ["incident_axis", "emission_axis"] if isinstance(obj, RXESMap) else ["energy"]
    coordinates = ("incident", "emission", "transfer") if isinstance(obj, RXESMap) else ()
    for name in scales:
        data[name].make_scale(name)
    for name, dataset in data.items():
        if name in scales or not isinstance(dataset, h5py.Dataset) or dataset.shape != obj.intensity.shape:
            continue
        for index, scale in enumerate(scales):
            dataset.dims[index].attach_scale(data[scale])
        if coordinates and name not in coordinates:
            dataset.attrs["coordinates"] = " ".join(coordinates)


def _record_parameters(parameters, obj, process: dict | None) -> None:
    """Numeric parameters with units: the caller's, the cut's record (its one place in the file) and
    the normalisation's."""
    cut_fields = cut_record.fields(obj.metadata) if isinstance(obj, Spectrum) else []
    recorded = {name for name, _ in cut_fields}
    for key, value in (process or {}).items():
        if key not in recorded:
            _parameter(parameters, str(key), value)
    for name, value in cut_fields:
        _parameter(parameters, name, value)
    norm = obj.metadata.get("normalisation")
    if isinstance(norm, dict):
        for key, name in (("factor", "normalisation_factor"), ("area", "normalisation_area"),
                          ("window", "normalisation_window_eV"),
                          ("requested_window", "normalisation_window_requested_eV")):
            if key in norm and name not in parameters:
                _parameter(parameters, name, norm[key])


def _write_history(proc, obj) -> None:
    """Each operation of ``metadata["operations"]`` as an NXnote (description = its name, data = JSON)."""
    for index, operation in enumerate(obj.metadata.get("operations", []) or [], start=1):
        note = proc.create_group(f"step_{index:02d}")
        note.attrs["NX_class"] = "NXnote"
        name = operation.get("name") or operation.get("operation", "") if isinstance(operation, dict) else ""
        note.create_dataset("description", data=str(name or "operation"))
        note.create_dataset("type", data="application/json")
        note.create_dataset("data", data=_json.dumps(operation))
        note.create_dataset("sequence_index", data=index)


def _write_members(proc, obj) -> None:
    """An average's members: source file, scan number (−1 unknown), label and SHA-256 of each file."""
    import h5py

    members = obj.metadata.get("members")
    if not isinstance(members, list) or not members:
        return
    group = proc.create_group("members")
    group.attrs["NX_class"] = "NXcollection"
    text = h5py.string_dtype()
    rows = [member if isinstance(member, dict) else {} for member in members]
    group.create_dataset("source_file", data=np.array([str(m.get("source", "")) for m in rows], dtype=object), dtype=text)
    group.create_dataset("label", data=np.array([str(m.get("label", "")) for m in rows], dtype=object), dtype=text)
    group.create_dataset("sha256", data=np.array([str(m.get("sha256", "")) for m in rows], dtype=object), dtype=text)
    numbers = [m.get("scan_number") for m in rows]
    group.create_dataset("scan_number", data=np.array([n if isinstance(n, int) else -1 for n in numbers], dtype=np.int64))


def _write_process(entry, obj, process: dict | None, now: str) -> None:
    import h5py

    proc = entry.create_group("process")
    proc.attrs["NX_class"] = "NXprocess"
    proc.create_dataset("program", data=PROGRAM)
    proc.create_dataset("version", data=__version__)
    proc.create_dataset("date", data=now)
    proc.create_dataset("sequence_index", data=1)
    parameters = proc.create_group("parameters")
    parameters.attrs["NX_class"] = "NXparameters"
    _record_parameters(parameters, obj, process)
    _write_history(proc, obj)
    _write_members(proc, obj)
    members = obj.metadata.get("members")
    sources = [str(m.get("source", "")) for m in members if isinstance(m, dict)] if isinstance(members, list) else []
    proc.create_dataset("source", data=np.array(sources or [obj.source], dtype=object), dtype=h5py.string_dtype())


def write_nexus(obj: Spectrum | RXESMap, path, *, process: dict | None = None, extra: dict | None = None) -> None:
    """Write ``obj`` as a NeXus file that generic NXdata readers (silx, nexusformat) plot (docs/formats.md).

    ``/@default`` → ``entry``, ``/entry/@default`` → ``data``. The entry has ``title``, ``start_time``,
    ``end_time``, ``experiment_identifier``, ``entry_identifier`` (scan number) and ``sample/name``.
    NXdata: ``intensity`` (units, long_name) with ``intensity_errors``; a spectrum's ``energy`` axis, or a
    map's 1-D grid axes plus per-point Ω, ω, Ω − ω as coordinates (``*_indices = [0, 1]``).
    ``/entry/process`` (NXprocess): program, version, date, numeric ``parameters`` with units (the
    caller's, a cut's rule/position/width/statistic, a normalisation's factor and windows), one NXnote
    per operation of the history, and an average's members (file, scan number, SHA-256).
    ``/entry/xestools`` keeps what :func:`load` needs to rebuild an equal object.
    """
    import h5py

    if not isinstance(obj, (Spectrum, RXESMap)):
        raise TypeError(f"write_nexus needs a Spectrum or RXESMap, not {type(obj).__name__}")
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            handle.attrs["NX_class"] = "NXroot"
            handle.attrs["default"] = "entry"
            handle.attrs["creator"] = PROGRAM
            handle.attrs["creator_version"] = __version__
            handle.attrs["file_name"] = os.path.basename(os.fspath(path))
            handle.attrs["file_time"] = now
            entry = handle.create_group("entry")
            entry.attrs["NX_class"] = "NXentry"
            entry.attrs["default"] = "data"
            _write_entry_fields(entry, obj)
            _write_data(entry, obj, _with_counts(obj, extra))
            _write_process(entry, obj, process, now)
            keep = entry.create_group("xestools")
            keep.attrs["NX_class"] = "NXcollection"
            keep.create_dataset("kind", data="rxes" if isinstance(obj, RXESMap) else "xes")
            keep.create_dataset("label", data=obj.label)
            keep.create_dataset("channel", data=obj.channel.value if obj.channel is not None else "")
            keep.create_dataset("source", data=obj.source)
            keep.create_dataset("axis", data=getattr(obj, "axis", "emission"))
            keep.create_dataset("metadata", data=_json.dumps(_header_metadata(obj)))
            keep.create_dataset("info", data=_json.dumps(_json.info_dict(obj.info)))
