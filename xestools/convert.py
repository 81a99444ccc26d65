"""Conversions to the scientific Python stack: xarray Datasets and tidy pandas DataFrames, and back.

``to_xarray`` gives a Dataset whose data variables are the intensity and its σ (plus the monitor,
the mask of measured points and the member count per point of an average), whose coordinates are
the energies with units and long names (a map: the grid axes ``incident_energy`` and
``emission_energy`` as dimensions, the per-point read-backs and the energy transfer Ω − ω as 2-D
coordinates), and whose ``attrs`` carry the provenance as JSON-serialisable values only, so
``ds.to_netcdf(path, engine="h5netcdf")`` writes it as it is. :func:`from_xarray` rebuilds an object
equal to the original, arrays bit for bit. ``to_pandas`` gives one row per point.

xarray and pandas are imported only when these functions are called (``pip install
'xestools[notebook]'`` installs them).
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from xestools import __version__
from xestools.analysis.cuts import CutResult, CutSpec, View
from xestools.numeric import readonly_counts
from xestools.io import _json, _schema
from xestools.io.writers import map_table
from xestools.model import EMISSION_LABEL, INCIDENT_LABEL, TRANSFER_LABEL, Channel, RXESMap, Spectrum

#: dimension name of a spectrum's abscissa, by ``Spectrum.axis``
AXIS_DIMENSIONS = {"emission": "emission_energy", "incident": "incident_energy", "transfer": "energy_transfer"}
_AXIS_LABELS = {"emission": EMISSION_LABEL, "incident": INCIDENT_LABEL, "transfer": TRANSFER_LABEL}
#: DataFrame column of a spectrum's abscissa, by ``Spectrum.axis`` (the map table's names)
AXIS_COLUMNS = {"emission": "emission_energy_eV", "incident": "incident_energy_eV", "transfer": "energy_transfer_eV"}


def _require(module: str):
    """Import xarray or pandas, with the install command in the message when it is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"{module} is needed for this conversion: pip install 'xestools[notebook]'") from error


def _intensity_attrs(obj) -> dict[str, str]:
    name = obj.metadata.get("intensity_source") or "FFI1"
    if isinstance(obj.metadata.get("normalisation"), dict):
        return {"units": "1/eV", "long_name": f"Intensity ({name}, area-normalised)"}
    return {"units": "counts/I1", "long_name": f"Intensity ({name} = ROI counts / I1)"}


def _per_point_members(obj) -> np.ndarray | None:
    counts = obj.metadata.get("member_count")
    if counts is None or np.shape(counts) != np.shape(obj.intensity):
        return None
    return np.asarray(counts, dtype=np.int64)


def _history(metadata: dict) -> str:
    """What was done, in words: the names of the operations in order."""
    names = [str(op.get("name") or op.get("operation") or "operation") for op in metadata.get("operations", []) or []
             if isinstance(op, dict)]
    return "; ".join(names) if names else "loaded"


def provenance(obj) -> dict[str, Any]:
    """Attributes naming where ``obj`` came from and what was done to it (plain values only, netCDF-safe).

    ``xestools_metadata`` and ``xestools_info`` hold the full record as JSON text, from which
    :func:`from_xarray` rebuilds the object; the other keys say the same for a human reader.
    """
    metadata = {key: value for key, value in obj.metadata.items()
                if not (key == "member_count" and _per_point_members(obj) is not None)}
    info = obj.info
    attrs: dict[str, Any] = {
        "title": obj.label,
        "xestools_kind": "rxes" if isinstance(obj, RXESMap) else "xes",
        "xestools_version": __version__,
        "channel": obj.channel.value if obj.channel is not None else "",
        "source_file": obj.source,
        "source_sha256": str(obj.metadata.get("sha256", "")),
        "sample": info.sample_name if info is not None else "",
        "history": _history(obj.metadata),
        "xestools_metadata": _json.dumps(metadata),
        "xestools_info": _json.dumps(_json.info_dict(info)),
    }
    if info is not None and info.scan_number is not None:
        attrs["scan_number"] = int(info.scan_number)
    members = obj.metadata.get("members")
    if isinstance(members, list) and members:
        attrs["member_files"] = [str(m.get("source", "")) for m in members if isinstance(m, dict)]
        attrs["member_sha256"] = [str(m.get("sha256", "")) for m in members if isinstance(m, dict)]
    if isinstance(obj, Spectrum):
        attrs["axis"] = obj.axis
    return attrs


def _energy_attrs(label: str) -> dict[str, str]:
    return {"units": "eV", "long_name": label}


def rxes_to_xarray(rxes_map: RXESMap):
    """An RXESMap as a Dataset on its grid (``incident_energy`` × ``emission_energy``); see the module doc."""
    xr = _require("xarray")
    dims = ("incident_energy", "emission_energy")
    coords = {
        "incident_energy": ("incident_energy", np.array(rxes_map.incident_axis), _energy_attrs(f"grid {INCIDENT_LABEL}")),
        "emission_energy": ("emission_energy", np.array(rxes_map.emission_axis), _energy_attrs(f"grid {EMISSION_LABEL}")),
        "incident_readback": (dims, np.array(rxes_map.incident), _energy_attrs(f"measured {INCIDENT_LABEL}")),
        "emission_readback": (dims, np.array(rxes_map.emission), _energy_attrs(f"measured {EMISSION_LABEL}")),
        "energy_transfer": (dims, np.array(rxes_map.transfer), _energy_attrs(f"measured {TRANSFER_LABEL}")),
    }
    variables = {"intensity": (dims, np.array(rxes_map.intensity), _intensity_attrs(rxes_map)),
                 "mask": (dims, np.array(rxes_map.mask), {"long_name": "measured point"})}
    _optional_variables(variables, dims, rxes_map)
    return xr.Dataset(variables, coords=coords, attrs=provenance(rxes_map))


def _optional_variables(variables: dict, dims, obj) -> None:
    """σ, monitor and the member count per point, each only when the object has it."""
    intensity = _intensity_attrs(obj)
    if obj.uncertainty is not None:
        variables["intensity_sigma"] = (dims, np.array(obj.uncertainty),
                                        {"units": intensity["units"], "long_name": "Uncertainty of the intensity (1σ)"})
    if obj.monitor is not None:
        variables["monitor"] = (dims, np.array(obj.monitor), {"units": "counts", "long_name": "I1 monitor"})
    members = _per_point_members(obj)
    if members is not None:
        variables["members"] = (dims, members, {"long_name": "members averaged at this point"})


def spectrum_to_xarray(spectrum: Spectrum):
    """A Spectrum as a Dataset along its abscissa (``emission_energy``, ``incident_energy`` or ``energy_transfer``)."""
    xr = _require("xarray")
    dim = AXIS_DIMENSIONS[spectrum.axis]
    coords = {dim: (dim, np.array(spectrum.energy), _energy_attrs(_AXIS_LABELS[spectrum.axis]))}
    variables = {"intensity": ((dim,), np.array(spectrum.intensity), _intensity_attrs(spectrum))}
    _optional_variables(variables, (dim,), spectrum)
    npoints = spectrum.metadata.get("npoints")
    if isinstance(npoints, (list, tuple, np.ndarray)) and np.shape(npoints) == spectrum.energy.shape:
        variables["npoints"] = ((dim,), np.asarray(npoints, dtype=np.int64), {"long_name": "map points in the bin"})
    return xr.Dataset(variables, coords=coords, attrs=provenance(spectrum))


def cut_to_xarray(result: CutResult):
    """A cut's profile as a Dataset along its abscissa, with the cut's record (type, band, rule) in attrs."""
    xr = _require("xarray")
    dim = AXIS_DIMENSIONS[result.axis]
    coords = {dim: (dim, np.array(result.x), _energy_attrs(_AXIS_LABELS[result.axis]))}
    variables = {"intensity": ((dim,), np.array(result.intensity), {"long_name": f"Intensity ({result.spec.statistic})"}),
                 "npoints": ((dim,), np.array(result.npoints), {"long_name": "map points in the bin"})}
    if result.uncertainty is not None:
        variables["intensity_sigma"] = ((dim,), np.array(result.uncertainty), {"long_name": "Uncertainty (1σ)"})
    record = result.record()
    attrs = {"title": result.spec.label(), "xestools_kind": "cut", "xestools_version": __version__,
             "axis": result.axis, "cut_type": record["type"], "cut_position_eV": record["position"],
             "cut_width_eV": record["width"], "cut_statistic": record["statistic"], "cut_view": record["view"],
             "cut_rule": record["rule"], "cut_coordinate": record["coordinate"], "empty": int(result.empty),
             "reason": result.reason, "note": result.note, "mean_incident_eV": float(result.mean_incident)}
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def to_xarray(obj):
    """``obj`` (Spectrum, RXESMap or CutResult) as an ``xarray.Dataset``."""
    if isinstance(obj, RXESMap):
        return rxes_to_xarray(obj)
    if isinstance(obj, Spectrum):
        return spectrum_to_xarray(obj)
    if isinstance(obj, CutResult):
        return cut_to_xarray(obj)
    raise TypeError(f"to_xarray needs a Spectrum, RXESMap or cut result, not {type(obj).__name__}")


def _array(ds, name: str, dtype=float) -> np.ndarray | None:
    if name not in ds.variables:
        return None
    return np.asarray(ds[name].values, dtype=dtype)


def _record(ds, key: str):
    text = ds.attrs.get(key)
    if not isinstance(text, str):
        raise ValueError(f"the Dataset has no {key!r} attribute; it was not made by xestools' to_xarray")
    return json.loads(text)


def _common_fields(ds) -> dict[str, Any]:
    where = "xarray Dataset"
    metadata = _schema.metadata(_record(ds, "xestools_metadata"), where, "attrs['xestools_metadata']")
    members = _array(ds, "members", np.int64)
    if members is not None:
        metadata["member_count"] = readonly_counts(members)
    channel = ds.attrs.get("channel", "")
    return {"label": str(ds.attrs.get("title", "")), "channel": Channel(channel) if channel else None,
            "source": str(ds.attrs.get("source_file", "")), "metadata": metadata,
            "info": _schema.info(_record(ds, "xestools_info"), where, "attrs['xestools_info']")}


def _cut_from_xarray(ds) -> CutResult:
    attrs = ds.attrs
    axis = str(attrs["axis"])
    spec = CutSpec(str(attrs["cut_type"]), float(attrs["cut_position_eV"]), float(attrs["cut_width_eV"]),
                   attrs["cut_statistic"] == "mean")
    return CutResult(spec=spec, view=View(str(attrs["cut_view"])), x=_array(ds, AXIS_DIMENSIONS[axis]),
                     intensity=_array(ds, "intensity"), uncertainty=_array(ds, "intensity_sigma"),
                     npoints=_array(ds, "npoints", np.int64), axis=axis, empty=bool(attrs["empty"]),
                     reason=str(attrs["reason"]), note=str(attrs["note"]),
                     mean_incident=float(attrs["mean_incident_eV"]), coordinate=str(attrs["cut_coordinate"]))


def from_xarray(ds):
    """The Spectrum, RXESMap or CutResult that :func:`to_xarray` made ``ds`` from (also after netCDF)."""
    kind = ds.attrs.get("xestools_kind")
    if kind == "cut":
        return _cut_from_xarray(ds)
    if kind == "rxes":
        return RXESMap(incident=_array(ds, "incident_readback"), emission=_array(ds, "emission_readback"),
                       incident_axis=_array(ds, "incident_energy"), emission_axis=_array(ds, "emission_energy"),
                       intensity=_array(ds, "intensity"), uncertainty=_array(ds, "intensity_sigma"),
                       mask=_array(ds, "mask", bool), monitor=_array(ds, "monitor"), **_common_fields(ds))
    if kind == "xes":
        axis = str(ds.attrs.get("axis", "emission"))
        return Spectrum(energy=_array(ds, AXIS_DIMENSIONS[axis]), intensity=_array(ds, "intensity"),
                        uncertainty=_array(ds, "intensity_sigma"), monitor=_array(ds, "monitor"), axis=axis,
                        **_common_fields(ds))
    raise ValueError(f"the Dataset's attrs['xestools_kind'] is {kind!r}; from_xarray reads Datasets made by "
                     "xestools' to_xarray (kind 'xes', 'rxes' or 'cut')")


def to_pandas(obj):
    """``obj`` as a tidy ``pandas.DataFrame``, one row per point, the provenance in ``DataFrame.attrs``.

    A map: the columns of the map CSV (grid indices, grid energies, read-backs, transfer, intensity,
    σ, monitor, mask, members), so ``df.pivot(index="incident_energy_eV", columns="emission_energy_eV",
    values="intensity")`` is the map. A spectrum: its abscissa (``emission_energy_eV``,
    ``incident_energy_eV`` or ``energy_transfer_eV``), ``intensity``, ``intensity_sigma``, ``monitor``,
    and ``members``/``npoints`` when it has them. A cut result: the same columns plus ``npoints``.
    """
    pd = _require("pandas")
    if isinstance(obj, RXESMap):
        columns = map_table(obj)
        members = _per_point_members(obj)
        if members is not None:
            columns["members"] = members.ravel()
        frame = pd.DataFrame(columns)
    elif isinstance(obj, (Spectrum, CutResult)):
        frame = pd.DataFrame(_profile_columns(obj))
    else:
        raise TypeError(f"to_pandas needs a Spectrum, RXESMap or cut result, not {type(obj).__name__}")
    frame.attrs.update(provenance(obj) if not isinstance(obj, CutResult) else to_xarray(obj).attrs)
    return frame


def _profile_columns(obj) -> dict[str, np.ndarray]:
    energy = obj.energy if isinstance(obj, Spectrum) else obj.x
    columns = {AXIS_COLUMNS[obj.axis]: np.array(energy), "intensity": np.array(obj.intensity)}
    if obj.uncertainty is not None:
        columns["intensity_sigma"] = np.array(obj.uncertainty)
    if getattr(obj, "monitor", None) is not None:
        columns["monitor"] = np.array(obj.monitor)
    counts = obj.npoints if isinstance(obj, CutResult) else obj.metadata.get("npoints")
    if isinstance(counts, (list, tuple, np.ndarray)) and np.shape(counts) == energy.shape:
        columns["npoints"] = np.asarray(counts, dtype=np.int64)
    if isinstance(obj, Spectrum) and _per_point_members(obj) is not None:
        columns["members"] = _per_point_members(obj)
    return columns


__all__ = ["AXIS_COLUMNS", "AXIS_DIMENSIONS", "from_xarray", "provenance", "to_pandas", "to_xarray"]
