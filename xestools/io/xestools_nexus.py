"""Reading back NeXus files written by :func:`xestools.io.write_nexus`.

Our own exports are untrusted input like any scan: every object is reached through hard links inside
the file, every dataset is sized before it is read and the JSON it carries is checked against its schema.
"""
from __future__ import annotations

import json

import numpy as np

from ..model import Channel, RXESMap, Spectrum
from . import _hdf5, _schema, cut_record
from .detection import Detection
from .errors import XesFormatError
from .plain import restore_member_count

FORMAT = "xestools-nexus"
_MAP_ARRAYS = ("incident", "emission", "incident_axis", "emission_axis", "intensity", "intensity_errors", "mask",
               "monitor")
_SPECTRUM_ARRAYS = ("energy", "intensity", "intensity_errors", "monitor")
#: copies of each array held while loading (h5py's read, the float conversion, the model's own copy)
_COPIES = 3


def is_xestools_nexus(handle) -> bool:
    path = handle.filename
    return _hdf5.read_attr_text(handle, "creator", path) == "xestools" and "entry" in handle


def _text(group, name: str, path: str) -> str:
    import h5py

    obj = _hdf5.get(group, name, path)
    if not isinstance(obj, h5py.Dataset):
        raise XesFormatError(path, f"xestools NeXus file without the text /entry/xestools/{name}", "export it again")
    return _hdf5.read_text(obj, path)


def _json(group, name: str, path: str):
    try:
        return json.loads(_text(group, name, path))
    except json.JSONDecodeError as error:
        raise XesFormatError(path, f"/entry/xestools/{name} is not valid JSON", "export it again") from error


def _dataset(data, name: str, path: str, *, required: bool = True):
    import h5py

    obj = _hdf5.get(data, name, path)
    if obj is None:
        if required:
            raise XesFormatError(path, f"xestools NeXus file without /entry/data/{name}", "export it again")
        return None
    if not isinstance(obj, h5py.Dataset):
        raise XesFormatError(path, f"/entry/data/{name} is not a dataset", "export it again")
    return obj


def _parts(handle, path: str):
    import h5py

    entry = _hdf5.get(handle, "entry", path)
    data = _hdf5.get(entry, "data", path) if isinstance(entry, h5py.Group) else None
    keep = _hdf5.get(entry, "xestools", path) if isinstance(entry, h5py.Group) else None
    if not isinstance(data, h5py.Group) or not isinstance(keep, h5py.Group):
        raise XesFormatError(path, "xestools NeXus file without /entry/data or /entry/xestools", "export it again")
    return data, keep


def _channel(text: str, path: str) -> Channel | None:
    if text in ("", "none"):
        return None
    try:
        return Channel(text)
    except ValueError as error:
        raise XesFormatError(path, f"/entry/xestools/channel {text!r} is not upper or lower", "export it again") \
            from error


def detect(handle, path: str) -> Detection:
    data, keep = _parts(handle, path)
    kind = _text(keep, "kind", path)
    channel = _channel(_text(keep, "channel", path), path)
    signal = _dataset(data, "intensity", path)
    return Detection(path, FORMAT, kind, (channel,) if channel is not None else (),
                     tuple(int(v) for v in signal.shape), _schema.info(_json(keep, "info", path), path, "info"))


def _declared_shapes(datasets: dict, kind: str) -> dict[str, tuple[int, ...]]:
    """What each array must hold, from the intensity's declared shape (axes: one value per row/column)."""
    shape = tuple(int(n) for n in datasets["intensity"].shape)
    wanted = {name: shape for name in datasets}
    if kind == "rxes":
        if len(shape) != 2:
            return {"intensity": (-1, -1)}
        wanted["incident_axis"], wanted["emission_axis"] = (shape[0],), (shape[1],)
    elif len(shape) != 1:
        return {"intensity": (-1,)}
    return wanted


def _check_shapes(datasets: dict, kind: str, path: str) -> None:
    """Refuse declared shapes that disagree, before a byte of any array is read."""
    for name, wanted in _declared_shapes(datasets, kind).items():
        dataset = datasets.get(name)
        if dataset is not None and tuple(int(n) for n in dataset.shape) != wanted:
            declared = "×".join(str(int(n)) for n in dataset.shape) or "a scalar"
            raise XesFormatError(path, f"/entry/data/{name} declares {declared} values, which does not match "
                                 f"the intensity ({'×'.join(str(int(n)) for n in datasets['intensity'].shape)})",
                                 "the export is damaged; export it again")


def _read_all(data, names, path: str, kind: str) -> dict:
    """The float arrays ``names`` (absent optional ones are None), checked and sized together before any is read."""
    datasets = {name: _dataset(data, name, path, required=name not in ("intensity_errors", "mask", "monitor"))
                for name in names}
    _check_shapes(datasets, kind, path)
    total = sum(int(ds.size) * 8 for ds in datasets.values() if ds is not None)
    _hdf5.guard_size(path, total * _COPIES, "the export's arrays")
    return {name: None if ds is None else np.asarray(_hdf5.read_array(ds, path), dtype=float)
            for name, ds in datasets.items()}


def _cut_parameters(handle, path: str) -> dict:
    """The ``cut_*`` fields of /entry/process/parameters: numbers as floats, texts as str."""
    import h5py

    group = handle
    for name in ("entry", "process", "parameters"):
        group = _hdf5.get(group, name, path) if isinstance(group, h5py.Group) else None
    if not isinstance(group, h5py.Group):
        return {}
    values = {}
    for name in group:
        dataset = _hdf5.get(group, name, path) if name.startswith("cut_") else None
        if isinstance(dataset, h5py.Dataset) and dataset.shape == ():
            numeric = dataset.dtype.kind in "fiu"
            values[name] = float(_hdf5.read_array(dataset, path)) if numeric else _hdf5.read_text(dataset, path)
    return values


def load(handle, path: str, channel=None) -> list:
    data, keep = _parts(handle, path)
    kind = _text(keep, "kind", path)
    common = dict(
        label=_schema.text(_text(keep, "label", path), path, "label"),
        channel=_channel(_text(keep, "channel", path), path),
        source=_schema.text(_text(keep, "source", path), path, "source"),
        metadata=_schema.metadata(_json(keep, "metadata", path), path, "/entry/xestools/metadata"),
        info=_schema.info(_json(keep, "info", path), path, "/entry/xestools/info"),
    )
    if channel is not None:
        wanted = channel if isinstance(channel, Channel) else Channel(str(channel).lower())
        if common["channel"] is not wanted:
            raise XesFormatError(path, f"has no {wanted.value} channel", "choose the channel the export holds")
    members = _dataset(data, "members", path, required=False)
    if members is not None:
        _hdf5.guard_size(path, int(members.size) * 8 * _COPIES, "the export's member counts")
        common["metadata"] = restore_member_count(common["metadata"], _hdf5.read_array(members, path), members.shape)
    if kind == "rxes":
        arrays = _read_all(data, _MAP_ARRAYS, path, "rxes")
        mask = arrays["mask"]
        return [RXESMap(
            incident=arrays["incident"], emission=arrays["emission"], incident_axis=arrays["incident_axis"],
            emission_axis=arrays["emission_axis"], intensity=arrays["intensity"],
            uncertainty=arrays["intensity_errors"],
            mask=np.ones(arrays["intensity"].shape, dtype=bool) if mask is None else mask.astype(bool),
            monitor=arrays["monitor"], **common)]
    if "cut" not in common["metadata"]:
        record = cut_record.from_fields(_cut_parameters(handle, path))
        if record is not None:  # since the record is written once, in the process parameters
            common["metadata"] = {**common["metadata"], "cut": record}
    arrays = _read_all(data, _SPECTRUM_ARRAYS, path, "xes")
    return [Spectrum(energy=arrays["energy"], intensity=arrays["intensity"], uncertainty=arrays["intensity_errors"],
                     monitor=arrays["monitor"], axis=_text(keep, "axis", path), **common)]
