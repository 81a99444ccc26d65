"""Generic NeXus NXdata written by other programs (silx, nexusformat/NeXpy, Larch-like layouts).

The plotted NXdata is found as a NeXus viewer finds it: the ``@default`` chain from the root
(``/@default`` → entry, ``entry/@default`` → NXdata), otherwise the first NXentry's first NXdata
that names a signal. The signal is ``@signal`` on the group, or (older NeXus) the dataset with
``@signal = 1``; the axes are ``@axes`` on the group (``"."`` = none) or ``@axes = "x:y"`` on the
signal; errors are ``<signal>_errors`` or ``errors``. A 1-D signal becomes a Spectrum on its
axis (emission, or incident/transfer when the axis is named so); a 2-D signal becomes an RXESMap
laid out ``[Ω, ω]`` (axes ordered by their names, otherwise the first axis is Ω). Energies in keV
are converted to eV. External links, virtual and external-storage datasets are refused (DESIGN.md),
and every attribute and dataset is sized before it is read (``_hdf5``).
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..model import RXESMap, ScanInfo, Spectrum
from . import _hdf5
from ._common import as_text, check_memory, scan_label
from .detection import Detection
from .errors import XesFormatError

FORMAT = "nxdata"
_UNIT_SCALE = {"ev": 1.0, "kev": 1000.0, "mev": 1e-3}
_INCIDENT_NAMES = re.compile(r"incident|omega(?!_?out)|mono|bragg|energy_in|\bin\b|excitation|Ω", re.I)
_EMISSION_NAMES = re.compile(r"emission|xesenergy|omega_?out|analy[sz]er|spectrometer|ω", re.I)
_TRANSFER_NAMES = re.compile(r"transfer|loss", re.I)


def _member(group, name: str):
    """``group[name]`` reached inside this file; an external link, VDS or external raw data is refused."""
    import h5py

    path = _hdf5.filename(group)
    obj = _hdf5.get(group, name, path)
    if isinstance(obj, h5py.Dataset):
        _hdf5.check_storage(obj, path)
    return obj


def _attr(obj, key: str, default=None):
    return _hdf5.read_attr(obj, key, _hdf5.filename(obj), default)


def _nx_class(obj) -> str:
    return _hdf5.read_attr_text(obj, "NX_class", _hdf5.filename(obj))


def _names(value) -> list[str]:
    """An @axes value as a list of names: array of strings, or one string split at ':' or ','."""
    if value is None:
        return []
    if isinstance(value, (bytes, str)):
        return [n.strip() for n in re.split(r"[:,]", as_text(value)) if n.strip()]
    return [as_text(v).strip() for v in np.atleast_1d(value)]


def _signal_name(group) -> str | None:
    import h5py

    signal = _attr(group, "signal")
    if signal is not None and not isinstance(signal, (int, np.integer)):
        name = as_text(signal)
        return name if isinstance(_member(group, name), h5py.Dataset) else None
    for name in group:
        obj = _member(group, name)
        if isinstance(obj, h5py.Dataset) and as_text(_attr(obj, "signal", b"")).strip() == "1":
            return name
    return None


def _default_child(group, wanted: str):
    import h5py

    name = _attr(group, "default")
    if name is not None:
        obj = _member(group, as_text(name))
        if isinstance(obj, h5py.Group):
            return obj
    for name in group:
        obj = _member(group, name)
        if isinstance(obj, h5py.Group) and _nx_class(obj) == wanted:
            if wanted != "NXdata" or _signal_name(obj) is not None:
                return obj
    return None


def find_nxdata(handle):
    """The NXdata group a NeXus viewer would plot, or None."""
    entry = _default_child(handle, "NXentry")
    if entry is None:
        return None
    data = entry if _nx_class(entry) == "NXdata" else _default_child(entry, "NXdata")
    if data is None or _nx_class(data) != "NXdata" or _signal_name(data) is None:
        return None
    return data


def _axis_names(group, signal_name: str, ndim: int) -> list[str | None]:
    names = _names(_attr(group, "axes"))
    if not names:
        names = _names(_attr(group[signal_name], "axes"))
    names = [None if n in (".", "") else n for n in names][:ndim]
    return names + [None] * (ndim - len(names))


def _read(dataset, path: str, what: str) -> np.ndarray:
    check_memory(path, dataset.size * 8.0, what)
    if dataset.dtype.kind not in "fiub":
        raise XesFormatError(path, f"NXdata field {dataset.name} is not numeric", "export numeric data")
    return np.asarray(_hdf5.read_array(dataset, path), dtype=float)


def _energy_axis(group, name: str | None, length: int, path: str) -> tuple[np.ndarray, str]:
    """(values in eV, "name long_name") of one 1-D axis; refuses a missing or non-energy axis."""
    obj = _member(group, name) if name else None
    if obj is None or not hasattr(obj, "shape"):
        raise XesFormatError(path, "the NXdata has no energy axis for its signal",
                             "write the energies as an axis (@axes) of the NXdata")
    values = _read(obj, path, "the NXdata axis").ravel()
    if values.size != length:
        raise XesFormatError(path, f"the axis {name!r} has {values.size} values for {length} signal points",
                             "write a 1-D axis per signal dimension")
    units = as_text(_attr(obj, "units", b"eV")).strip().lower() or "ev"
    if units not in _UNIT_SCALE:
        raise XesFormatError(path, f"the axis {name!r} is in {units!r}, not an energy unit",
                             "xestools reads energies in eV or keV")
    return values * _UNIT_SCALE[units], f"{name} {as_text(_attr(obj, 'long_name', b''))}"


def _errors(group, signal_name: str, shape, path: str) -> np.ndarray | None:
    for name in (f"{signal_name}_errors", "errors"):
        obj = _member(group, name)
        if obj is not None and hasattr(obj, "shape") and tuple(obj.shape) == tuple(shape):
            return _read(obj, path, "the NXdata errors")
    return None


def _info(group, path: str) -> ScanInfo:
    entry = group.parent
    fields = {}
    for key, name in (("start_time", "start_time"), ("end_time", "end_time"), ("experiment_id", "experiment_identifier")):
        obj = _member(entry, name)
        if obj is not None and hasattr(obj, "shape") and obj.size == 1:
            fields[key] = _hdf5.read_text(obj, path)
    sample = _member(entry, "sample")
    name = _member(sample, "name") if sample is not None and hasattr(sample, "keys") else None
    if name is not None and hasattr(name, "shape") and name.size == 1:
        fields["sample_name"] = _hdf5.read_text(name, path)
    return ScanInfo(source_format=FORMAT, **fields)


def _parts(handle, path: str):
    group = find_nxdata(handle)
    if group is None:
        raise XesFormatError(path, "HDF5 file is not an I20 scan, a xestools export or a NeXus NXdata with a signal",
                             "open an I20 .nxs scan, an I20 .dat file or a NeXus file with a default NXdata")
    signal_name = _signal_name(group)
    signal = group[signal_name]
    if signal.ndim not in (1, 2) or signal.size < 2:
        raise XesFormatError(path, f"the NXdata signal {signal_name!r} has shape {signal.shape}",
                             "xestools reads 1-D spectra and 2-D maps")
    return group, signal_name, signal


def _emission_first(group, names: list[str | None]) -> bool:
    """True when a 2-D signal's first axis is named as ω and its second is not (stored [ω, Ω])."""
    described = []
    for name in names:
        obj = _member(group, name) if name else None
        described.append(f"{name} {as_text(_attr(obj, 'long_name', b''))}" if obj is not None else "")
    return bool(_EMISSION_NAMES.search(described[0])) and not _EMISSION_NAMES.search(described[1])


def detect(handle, path: str) -> Detection:
    group, signal_name, signal = _parts(handle, path)
    shape = tuple(int(v) for v in signal.shape)
    if signal.ndim == 2 and _emission_first(group, _axis_names(group, signal_name, 2)):
        shape = shape[::-1]
    kind = "rxes" if signal.ndim == 2 else "xes"
    return Detection(path, FORMAT, kind, (), shape, _info(group, path))


def _spectrum(group, signal_name, intensity, errors, path, info) -> Spectrum:
    (axis_name,) = _axis_names(group, signal_name, 1)
    energy, described = _energy_axis(group, axis_name, intensity.size, path)
    axis = "transfer" if _TRANSFER_NAMES.search(described) else \
        "incident" if _INCIDENT_NAMES.search(described) and not _EMISSION_NAMES.search(described) else "emission"
    order = np.argsort(energy, kind="stable")
    return Spectrum(energy=energy[order], intensity=intensity[order],
                    uncertainty=None if errors is None else errors[order], label=scan_label(None, path, None),
                    source=path, metadata={"nxdata": group.name, "signal": signal_name}, info=info, axis=axis)


def _map(group, signal_name, intensity, errors, path, info) -> RXESMap:
    names = _axis_names(group, signal_name, 2)
    axes = [_energy_axis(group, names[k], intensity.shape[k], path) for k in (0, 1)]
    first_is_emission = _emission_first(group, names)
    if first_is_emission:
        axes.reverse()
        intensity = intensity.T
        errors = None if errors is None else errors.T
    incident_axis, emission_axis = axes[0][0], axes[1][0]
    rows, columns = np.argsort(incident_axis, kind="stable"), np.argsort(emission_axis, kind="stable")
    incident_axis, emission_axis = incident_axis[rows], emission_axis[columns]
    intensity = intensity[np.ix_(rows, columns)]
    errors = None if errors is None else errors[np.ix_(rows, columns)]
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    return RXESMap(incident=incident, emission=emission, incident_axis=incident_axis, emission_axis=emission_axis,
                   intensity=intensity, uncertainty=errors, label=scan_label(None, path, None), source=path,
                   metadata={"nxdata": group.name, "signal": signal_name, "transposed": first_is_emission},
                   info=info)


def _check_axis_lengths(group, signal_name: str, signal, path: str) -> None:
    """Refuse axes whose declared length disagrees with the signal's, before the signal is read."""
    for index, name in enumerate(_axis_names(group, signal_name, signal.ndim)):
        obj = _member(group, name) if name else None
        if obj is None or not hasattr(obj, "shape"):
            continue
        length = int(math.prod(int(n) for n in obj.shape))
        if length != int(signal.shape[index]):
            raise XesFormatError(path, f"the axis {name!r} declares {length} values for {int(signal.shape[index])} "
                                 "signal points", "the file is damaged or not written by a NeXus writer we know")


def load(handle, path: str, channel=None) -> list:
    if channel is not None:
        raise XesFormatError(path, "a generic NXdata has no spectrometer channel", "open it without choosing a channel")
    group, signal_name, signal = _parts(handle, path)
    _check_axis_lengths(group, signal_name, signal, path)
    intensity = _read(signal, path, "the NXdata signal")
    errors = _errors(group, signal_name, signal.shape, path)
    info = _info(group, path)
    if signal.ndim == 1:
        return [_spectrum(group, signal_name, intensity, errors, path, info)]
    return [_map(group, signal_name, intensity, errors, path, info)]
