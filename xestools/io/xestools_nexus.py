"""Reading back NeXus files written by :func:`xestools.io.write_nexus`."""
from __future__ import annotations

import json

import numpy as np

from ..model import Channel, RXESMap, Spectrum
from ._common import as_text
from .errors import XesFormatError
from .plain import info_from_dict

FORMAT = "xestools-nexus"


def is_xestools_nexus(handle) -> bool:
    return as_text(handle.attrs.get("creator", b"")) == "xestools" and "entry" in handle


def _text(group, name: str, path: str) -> str:
    if name not in group:
        raise XesFormatError(path, f"xestools NeXus file without /entry/xestools/{name}", "export it again")
    return as_text(group[name][()])


def _json(group, name: str, path: str):
    try:
        return json.loads(_text(group, name, path))
    except json.JSONDecodeError as error:
        raise XesFormatError(path, f"/entry/xestools/{name} is not valid JSON", "export it again") from error


def _array(data, name: str, path: str, *, required: bool = True):
    if name not in data:
        if required:
            raise XesFormatError(path, f"xestools NeXus file without /entry/data/{name}", "export it again")
        return None
    return np.asarray(data[name][()])


def _parts(handle, path: str):
    entry = handle["entry"]
    if "xestools" not in entry or "data" not in entry:
        raise XesFormatError(path, "xestools NeXus file without /entry/data or /entry/xestools", "export it again")
    return entry["data"], entry["xestools"]


def detect(handle, path: str):
    from .reader import Detection

    data, keep = _parts(handle, path)
    kind = _text(keep, "kind", path)
    channel_text = _text(keep, "channel", path)
    channels = (Channel(channel_text),) if channel_text in ("upper", "lower") else ()
    signal = data["intensity"] if "intensity" in data else None
    if signal is None:
        raise XesFormatError(path, "xestools NeXus file without /entry/data/intensity", "export it again")
    return Detection(path, FORMAT, kind, channels, tuple(int(v) for v in signal.shape),
                     info_from_dict(_json(keep, "info", path)))


def load(handle, path: str, channel=None) -> list:
    data, keep = _parts(handle, path)
    kind = _text(keep, "kind", path)
    channel_text = _text(keep, "channel", path)
    common = dict(
        label=_text(keep, "label", path),
        channel=Channel(channel_text) if channel_text in ("upper", "lower") else None,
        source=_text(keep, "source", path),
        metadata=_json(keep, "metadata", path) or {},
        info=info_from_dict(_json(keep, "info", path)),
    )
    if channel is not None:
        wanted = channel if isinstance(channel, Channel) else Channel(str(channel).lower())
        if common["channel"] is not wanted:
            raise XesFormatError(path, f"has no {wanted.value} channel", "choose the channel the export holds")
    if kind == "rxes":
        mask = _array(data, "mask", path, required=False)
        return [RXESMap(
            incident=_array(data, "incident", path), emission=_array(data, "emission", path),
            incident_axis=_array(data, "incident_axis", path), emission_axis=_array(data, "emission_axis", path),
            intensity=_array(data, "intensity", path), uncertainty=_array(data, "intensity_errors", path, required=False),
            mask=None if mask is None else mask.astype(bool), monitor=_array(data, "monitor", path, required=False),
            **common)]
    return [Spectrum(energy=_array(data, "energy", path), intensity=_array(data, "intensity", path),
                     uncertainty=_array(data, "intensity_errors", path, required=False),
                     monitor=_array(data, "monitor", path, required=False),
                     axis=_text(keep, "axis", path), **common)]
