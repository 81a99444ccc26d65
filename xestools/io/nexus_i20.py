"""Reader for I20 NeXus scans written by GDA (``/entry1/I1`` NXdata + ``instrument/medipixN``).

Only the datasets a scan needs are read, lazily through h5py and the guards of ``_hdf5``; the
external ``data`` links to the medipix frame files are inspected with ``getlink=True`` and never
followed, and a needed dataset that lives in another file (link, external storage, VDS) is refused. The scan order comes
from ``scan_dimensions``, the ``label`` attributes (label "1" = outer loop) and the GDA command.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..model import Channel, ScanInfo, Spectrum
from ..numeric import poisson_sigma
from . import _common, _hdf5
from ._common import EMISSION_MOTORS, INCIDENT_MOTOR
from .errors import XesFormatError

FORMAT = "i20-nexus"


@dataclass
class NexusLayout:
    """Where the pieces of one I20 scan live in the file (found without reading arrays)."""

    entry: str
    dims: tuple[int, ...]
    command: str
    incident: str
    emission: dict = field(default_factory=dict)       # Channel -> dataset path
    ffi1: dict = field(default_factory=dict)           # Channel -> dataset path
    roi: dict = field(default_factory=dict)            # Channel -> dataset path
    monitor: str | None = None
    time: str | None = None
    kind: str = "xes"
    emission_outer: bool = False
    info: ScanInfo | None = None
    mono_crystal: str = ""

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(c for c in (Channel.UPPER, Channel.LOWER) if c in self.emission)

    @property
    def shape(self) -> tuple[int, ...]:
        if self.kind == "rxes" and self.emission_outer:
            return (self.dims[1], self.dims[0])
        return tuple(self.dims)


def _path(obj) -> str:
    return _hdf5.filename(obj)


def _dataset(group, name):
    """A dataset of this file, or None; one reached through an external link is refused (its storage is
    checked when it is read)."""
    import h5py

    obj = _hdf5.get(group, name, _path(group))
    return obj if isinstance(obj, h5py.Dataset) else None


def _numeric(dataset) -> bool:
    return dataset is not None and dataset.dtype.kind in "fiu" and dataset.size > 0


def _scan_data(dataset):
    """A dataset the scan's arrays come from, refused at once if its values live in another file."""
    if dataset is not None:
        _hdf5.check_storage(dataset, _path(dataset))
    return dataset


def _group(group, name):
    import h5py

    obj = _hdf5.get(group, name, _path(group), external="ignore")
    return obj if isinstance(obj, h5py.Group) else None


def _nx_class(obj) -> str:
    return _hdf5.read_attr_text(obj, "NX_class", _path(obj))


def _find_entry(handle):
    for name in handle:
        entry = _group(handle, name)
        if entry is not None and (name.startswith("entry") or _nx_class(entry) == "NXentry"):
            if _dataset(entry, "scan_dimensions") is not None or _group(entry, "I1") is not None:
                return name, entry
    return None, None


def looks_like_i20(handle) -> bool:
    _, entry = _find_entry(handle)
    return entry is not None


def _first_value(dataset) -> float | None:
    """The first value of a scan dataset whose storage the probe has checked."""
    if not _numeric(dataset):
        return None
    value = float(_hdf5.read_array(dataset, _path(dataset), element=(0,) * dataset.ndim, checked=True))
    return value if np.isfinite(value) else None


def _text_field(entry, name) -> str:
    dataset = _dataset(entry, name)
    if dataset is None:
        return ""
    return _hdf5.read_text(dataset, _path(dataset))


def _sample_name(entry) -> str:
    """The sample name: ``<name>`` of the (truncated) Sample_Parameters XML in before_scan."""
    before = _group(entry, "before_scan")
    if before is None:
        return ""
    for key in before:
        if "sample" not in key.lower() or not key.endswith("Parameters"):
            continue
        dataset = _dataset(before, key)
        if dataset is None or dataset.dtype.kind not in "SOU":
            continue
        match = re.search(r"<name>(.*?)</name>", _hdf5.read_text(dataset, _path(dataset)), re.S)
        if match:
            return match.group(1).strip()
    return ""


def _label(dataset) -> str:
    return _hdf5.read_attr_text(dataset, "label", _path(dataset)) if dataset is not None else ""


def probe(handle, path: str) -> NexusLayout:
    """Find the scan's datasets and decide what it is, reading only attributes and small fields."""
    entry_name, entry = _find_entry(handle)
    if entry is None:
        raise XesFormatError(path, "HDF5 file is not an I20 scan (no NXentry with scan_dimensions or an I1 group)",
                             "open the scan's .nxs file written by GDA")
    command = _text_field(entry, "scan_command") or _text_field(entry, "title")
    dims_ds = _dataset(entry, "scan_dimensions")
    data_group = _group(entry, "I1")
    if data_group is None:
        raise XesFormatError(path, "I20 scan without the /entry1/I1 data group", "the file is incomplete or not an XES scan")
    incident = _scan_data(_dataset(data_group, INCIDENT_MOTOR))
    if not _numeric(incident):
        raise XesFormatError(path, f"no {INCIDENT_MOTOR} (incident energy) dataset in {data_group.name}",
                             "the file is incomplete or not an XES scan")
    if dims_ds is not None and _numeric(dims_ds):
        if dims_ds.size > 8:
            raise XesFormatError(path, f"scan_dimensions holds {dims_ds.size} values", "the file is damaged")
        dims = tuple(int(v) for v in np.atleast_1d(_hdf5.read_array(dims_ds, path)))
    else:
        dims = tuple(int(v) for v in incident.shape)
    if not dims or any(d <= 0 for d in dims) or len(dims) > 2:
        raise XesFormatError(path, f"unsupported scan dimensions {list(dims)}", "only 1D XES and 2D RXES scans can be read")
    if not _fits(tuple(incident.shape), dims):
        raise XesFormatError(path, f"scan_dimensions {list(dims)} do not match the data shape {list(incident.shape)}",
                             "the file is damaged or was written by an unsupported GDA version")
    layout = NexusLayout(entry=entry_name, dims=dims, command=command, incident=incident.name)
    instrument = _group(entry, "instrument")
    _find_channels(layout, entry, data_group, instrument)
    monitor = _scan_data(_dataset(data_group, "I1"))
    layout.monitor = monitor.name if _numeric(monitor) else None
    time = _scan_data(_dataset(data_group, "Time"))
    layout.time = time.name if _numeric(time) else None
    moving = [motor.name for motor in _common.moving_motors(command)]
    if not layout.emission:
        if any(name.startswith("XESEnergy") for name in data_group) or instrument is not None and any(
                name.startswith("medipix") for name in instrument):
            raise XesFormatError(path, "I20 scan without readable medipix intensities or emission energies",
                                 "the detector datasets are missing; re-export the scan at the beamline")
        raise XesFormatError(path, "this is a XANES/XAS scan (only the incident energy Ω moves), not XES",
                             "open it with a XAS program such as Athena; xestools reads XES and RXES scans")
    emission_datasets = [handle[p] for p in layout.emission.values()]
    incident_label = _label(incident)
    emission_labels = [_label(ds) for ds in emission_datasets]
    if len(dims) == 2:
        layout.kind = "rxes"
        if incident_label == "1" or "2" in emission_labels:
            layout.emission_outer = False
        elif "1" in emission_labels or incident_label == "2":
            layout.emission_outer = True
        elif moving:
            layout.emission_outer = moving[0] in EMISSION_MOTORS
        else:
            layout.emission_outer = False
    else:
        if "1" in emission_labels or any(name in EMISSION_MOTORS for name in moving):
            emission_moves = True
        elif incident_label == "1" or INCIDENT_MOTOR in moving:
            emission_moves = False
        else:
            emission_moves = _common.is_moving(
                np.asarray(_hdf5.read_array(emission_datasets[0], path, checked=True), dtype=float).ravel())
        if not emission_moves:
            raise XesFormatError(path, "this is a XANES scan (Ω moves, the emission energy ω is fixed), not XES",
                                 "open it as a HERFD/XANES spectrum in a XAS program; xestools reads XES and RXES scans")
        layout.kind = "xes"
    layout.info = _scan_info(entry, layout, handle, path)
    return layout


def _find_channels(layout: NexusLayout, entry, data_group, instrument) -> None:
    """Record each spectrometer that has an emission energy and FFI1 or ROI counts."""
    for channel in (Channel.UPPER, Channel.LOWER):
        emission = _dataset(data_group, channel.energy_name)
        if not _numeric(emission):
            detector_data = _group(entry, channel.detector)  # the detector's own NXdata holds the axes too
            emission = _dataset(detector_data, channel.energy_name) if detector_data is not None else None
        detector = _group(instrument, channel.detector) if instrument is not None else None
        if not _numeric(emission) or detector is None:
            continue
        ffi1 = _scan_data(_dataset(detector, f"FFI1_{channel.detector}"))
        roi = _scan_data(_dataset(detector, f"{channel.detector}_roi_total"))
        if not (_numeric(ffi1) or _numeric(roi)):
            continue
        layout.emission[channel] = _scan_data(emission).name
        if _numeric(ffi1):
            layout.ffi1[channel] = ffi1.name
        if _numeric(roi):
            layout.roi[channel] = roi.name


def _scan_info(entry, layout: NexusLayout, handle, path: str) -> ScanInfo:
    identifier = _text_field(entry, "entry_identifier")
    scan_number = int(identifier) if identifier.isdigit() else None
    if scan_number is None:
        match = re.search(r"(\d{4,})", path.rsplit("/", 1)[-1])
        scan_number = int(match.group(1)) if match else None
    before = _group(entry, "before_scan")
    mono_group = _group(before, "Monochromator") if before is not None else None
    mono_crystal = _dataset(mono_group, "crystalcut") if mono_group is not None else None
    mono = _first_value(handle[layout.incident])
    counting_time = _first_value(handle[layout.time]) if layout.time else None
    info = ScanInfo(
        scan_number=scan_number,
        sample_name=_sample_name(entry),
        start_time=_text_field(entry, "start_time"),
        end_time=_text_field(entry, "end_time"),
        experiment_id=_text_field(entry, "experiment_identifier"),
        command=layout.command,
        scan_dimensions=tuple(layout.dims),
        mono_energy=mono,
        spectrometer_crystals={},
        rowland_radius_mm={},
        monitor="I1",
        counting_time=counting_time,
        source_format=FORMAT,
    )
    if mono_crystal is not None:
        layout.mono_crystal = _hdf5.read_text(mono_crystal, path)
    return info


def _fits(shape: tuple[int, ...], dims: tuple[int, ...]) -> bool:
    """A dataset fits the scan when it has its shape, or fewer outer rows (an aborted scan)."""
    return len(shape) == len(dims) and shape[1:] == dims[1:] and 0 < shape[0] <= dims[0]


def _read_flat(handle, name: str, dims: tuple[int, ...], path: str) -> np.ndarray:
    """Read one dataset as a flat float64 array in scan order (a shorter outer dimension is allowed).

    ``name`` is one of the layout's datasets, whose storage ``probe`` checked in this open file.
    """
    dataset = handle[name]
    if dataset.dtype.kind not in "fiu":
        raise XesFormatError(path, f"{name} is not numeric ({dataset.dtype})", "the file is damaged")
    shape = tuple(dataset.shape)
    if not _fits(shape, dims):
        raise XesFormatError(path, f"{name} has shape {list(shape)}, expected scan dimensions {list(dims)}",
                             "the file is damaged or was written by an unsupported GDA version")
    return np.asarray(_hdf5.read_array(dataset, path, checked=True), dtype=float).ravel()


def _measured_count(incident: np.ndarray, emission: np.ndarray) -> int:
    """Points actually measured: up to the last one with finite, non-zero Ω and ω (fill value 0)."""
    valid = np.isfinite(incident) & np.isfinite(emission) & (incident != 0) & (emission != 0)
    positions = np.flatnonzero(valid)
    return int(positions[-1]) + 1 if positions.size else 0


def load(handle, path: str, layout: NexusLayout, channels) -> list:
    """Read the arrays of ``channels`` (a sequence of Channel) from an open I20 NeXus file."""
    return load_arrays(path, layout, channels, lambda name: _read_flat(handle, name, layout.dims, path))


def load_arrays(path: str, layout: NexusLayout, channels, read, *, in_progress: bool = False) -> list:
    """Build the models from ``read(dataset_path)`` -> flat scan-order array.

    Split from :func:`load` so that a growing scan (xestools.live) can hand in the points it has
    read so far; ``in_progress`` marks the missing points as still to come rather than aborted.
    """
    n_grid = int(np.prod(layout.dims))
    _common.check_memory(path, n_grid * 8.0 * _common.ARRAYS_PER_POINT_PER_CHANNEL * max(len(channels), 1),
                         f"the {' × '.join(map(str, layout.dims))} scan")
    incident_all = read(layout.incident)
    monitor_all = read(layout.monitor) if layout.monitor else None
    mono_crystal = layout.mono_crystal
    results = []
    for channel in channels:
        emission = read(layout.emission[channel])
        ffi1 = read(layout.ffi1[channel]) if channel in layout.ffi1 else None
        roi = read(layout.roi[channel]) if channel in layout.roi else None
        lengths = [a.size for a in (incident_all, emission, ffi1, roi, monitor_all) if a is not None]
        n_points = min(_measured_count(incident_all[:min(lengths)], emission[:min(lengths)]), min(lengths))
        if n_points == 0:
            raise XesFormatError(path, f"no measured points for the {channel.value} spectrometer",
                                 "the scan was aborted before its first point")
        # the map assembly reorders its inputs in place (snake rows): later channels need their own copy
        shared = (lambda array: array[:n_points]) if channel is channels[-1] else (lambda array: array[:n_points].copy())
        incident = shared(incident_all)
        emission = emission[:n_points]
        monitor = shared(monitor_all) if monitor_all is not None else None
        metadata: dict = {"warnings": [], **({"in_progress": True} if in_progress else {})}
        with np.errstate(divide="ignore", invalid="ignore"):
            if ffi1 is not None:
                intensity = _ffi1_or_recomputed(ffi1[:n_points], roi, monitor, channel, metadata)
                metadata["intensity_source"] = "FFI1"
            elif monitor is not None:
                intensity = roi[:n_points] / monitor
                metadata["intensity_source"] = "roi_total/I1"
                metadata["warnings"].append(f"FFI1_{channel.detector} is missing: intensity recomputed as roi_total / I1")
            else:
                raise XesFormatError(path, f"{channel.detector}: neither FFI1 nor I1 is present",
                                     "the intensities cannot be normalised")
            if roi is not None and monitor is not None:
                uncertainty = poisson_sigma(roi[:n_points], monitor)
            else:
                uncertainty = None
        del ffi1, roi
        if mono_crystal:
            metadata["mono_crystal"] = mono_crystal
        label = _common.scan_label(layout.info, path, channel)
        if layout.kind == "rxes":
            n_outer, n_inner = layout.dims
            motors = {m.name: m for m in _common.moving_motors(layout.command)}
            nominal_incident = motors[INCIDENT_MOTOR].nominal_points() if INCIDENT_MOTOR in motors else None
            emission_motor = next((motors[n] for n in EMISSION_MOTORS if n in motors), None)
            nominal_emission = emission_motor.nominal_points(channel) if emission_motor is not None else None
            nominal_outer, nominal_inner = ((nominal_emission, nominal_incident) if layout.emission_outer
                                            else (nominal_incident, nominal_emission))
            results.append(_common.assemble_map(
                path=path, incident=incident, emission=emission, intensity=intensity, uncertainty=uncertainty,
                monitor=monitor, n_outer=n_outer, n_inner=n_inner, emission_outer=layout.emission_outer,
                nominal_outer=nominal_outer, nominal_inner=nominal_inner,
                label=label, channel=channel, info=layout.info, metadata=metadata))
        else:
            results.append(make_spectrum(path=path, incident=incident, emission=emission, intensity=intensity,
                                         uncertainty=uncertainty, monitor=monitor, expected=layout.dims[0],
                                         label=label, channel=channel, info=layout.info, metadata=metadata))
    return results


def _ffi1_or_recomputed(ffi1: np.ndarray, roi, monitor, channel: Channel, metadata: dict) -> np.ndarray:
    """FFI1, with points where it is not finite but ROI counts and I1 are recomputed as roi_total / I1."""
    missing = ~np.isfinite(ffi1)
    if roi is None or monitor is None or not missing.any():
        return ffi1
    roi = roi[:ffi1.size]
    with np.errstate(divide="ignore", invalid="ignore"):
        recomputed = roi / monitor
    usable = missing & np.isfinite(recomputed) & (monitor != 0)
    if not usable.any():
        return ffi1
    ffi1 = np.array(ffi1)
    ffi1[usable] = recomputed[usable]
    metadata["warnings"].append(f"FFI1_{channel.detector} was not finite at {int(usable.sum())} point(s) where the "
                                "ROI counts and I1 are: recomputed there as roi_total / I1")
    return ffi1


def make_spectrum(*, path, incident, emission, intensity, uncertainty, monitor, expected, label, channel, info,
                  metadata) -> Spectrum:
    """A 1D XES at fixed Ω, sorted by ω ascending; an aborted scan keeps its measured points and says so."""
    n_points = emission.size
    if n_points < expected:
        metadata["warnings"].append(f"in progress — {n_points} of {expected} points" if metadata.get("in_progress")
                                    else f"aborted scan: {n_points} of {expected} points were measured")
    finite_incident = incident[np.isfinite(incident)]
    metadata["incident_energy"] = float(np.median(finite_incident)) if finite_incident.size else float("nan")
    if _common.is_moving(incident):
        metadata["warnings"].append(
            f"the incident energy moved during this XES scan ({np.nanmin(incident):.2f}–{np.nanmax(incident):.2f} eV)")
    if n_points > 1 and np.all(np.diff(emission) <= 0):  # scanned downwards; any other order is left to _sanity
        order = np.argsort(emission, kind="stable")
        emission, intensity = emission[order], intensity[order]
        uncertainty = uncertainty[order] if uncertainty is not None else None
        monitor = monitor[order] if monitor is not None else None
        metadata["scan_direction"] = "descending"
    return Spectrum(energy=emission, intensity=intensity, uncertainty=uncertainty, monitor=monitor, label=label,
                    channel=channel, source=path, metadata=metadata, info=info, axis="emission")
