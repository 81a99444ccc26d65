"""Cuts through an RXES map (CIE, CEE, CET) and the 1D XES views of a map.

A cut holds one coordinate ``c = a·Ω + b·ω`` constant inside a band and bins the map along its grid.
Every cut type is one :class:`~xestools.model.CutKind` of :data:`xestools.model.CUT_KINDS` (its name,
coefficients, symbol, what the GUI shows of it): :class:`CutType`, the cut, its band and line on the
map in each view, the CLI, recipes and the GUI all take the types from there, so a new cut type is
one entry of that table.

================  ==========================  =========================  ===========================
cut               coordinate in band          bins                       abscissa
================  ==========================  =========================  ===========================
CIE               Ω row centre                ω columns                  ω (incident view),
                                                                         mean Ω − ω of the band (transfer)
CEE (HERFD)       ω column centre             Ω rows                     Ω
CET               Ω_row − ω_col (centres)     Ω rows                     Ω
================  ==========================  =========================  ===========================

The band rule (:data:`CUT_RULE`): a point (i, j) is in the band when it was measured, its
intensity is finite and ``|c[i, j] − position| ≤ width / 2``, where ``c`` is the coordinate of the
point's **grid cell** — the grouped row/column centres the readers compute from the jittered
read-backs (``incident_axis``, ``emission_axis``) — so read-back jitter never decides whether a
row or column counts. The only allowance is floating-point rounding (:func:`rounding_allowance`,
10⁻⁹ of the energy, ≈10 µeV), so that a band edge that falls on a grid value (0.6 eV at 9661.0 on a
0.3 eV grid) includes it however the sum was rounded. A map whose read-backs do not sit in their
grid cells (:func:`has_grid` is False: a scattered plain-text map) falls back to the measured
coordinates with the same rule. The band drawn on the map (:mod:`xestools.analysis.mapview`) is
exactly ``|c − position| ≤ width / 2``, and every exported cut records the rule, the coordinate it
was applied to, the position, the width and the statistic (:meth:`CutResult.record`).
For each bin b with the set B of points in the band:

* sum:  ``I_b = Σ_B I``,      ``σ_b = √(Σ_B σ²)``
* mean: ``I_b = Σ_B I / n_b``, ``σ_b = √(Σ_B σ²) / n_b``   with ``n_b = |B|``

Bins with ``n_b = 0`` are NaN. A cut with a non-positive width, outside the data or with no
measured point in its band is *empty*: :attr:`CutResult.empty` is True and
:attr:`CutResult.reason` says why; :func:`cut` never raises for that.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from xestools.analysis.grid import pixel_edges
from xestools.model import CUT_KINDS, CutKind, RXESMap, Spectrum, cut_kind_names, cut_kinds_text

#: the band rule, as written into every exported cut
CUT_RULE = "|c - position| <= width/2"
#: floating-point rounding allowed at a band edge, relative to the energy (not a jitter tolerance)
ROUNDING_RELATIVE = 1e-9


#: Which coordinate a cut holds constant: one member (a str, e.g. "CEE") per entry of :data:`CUT_KINDS`
CutType = enum.Enum("CutType", [(kind.name, kind.name) for kind in CUT_KINDS], type=str,  # type: ignore[misc]
                    module=__name__, qualname="CutType")


def _type_text(self, spec: str = "") -> str:
    return format(self.value, spec)


def _type_definition(self) -> CutKind:
    """The :class:`CutKind` of this type."""
    return next(kind for kind in CUT_KINDS if kind.name == self.value)


def _type_symbol(self) -> str:
    """The held coordinate as printed in labels."""
    return _type_definition(self).symbol


CutType.__str__ = CutType.__format__ = _type_text  # type: ignore[method-assign]
CutType.definition = property(_type_definition)  # type: ignore[attr-defined]
CutType.symbol = property(_type_symbol)  # type: ignore[attr-defined]


class View(str, enum.Enum):
    """Map view: Ω against ω (incident) or Ω against Ω − ω (transfer)."""

    INCIDENT = "incident"
    TRANSFER = "transfer"

    def __str__(self) -> str:
        return self.value


def _as_cut_type(kind: Any) -> CutType:
    if isinstance(kind, CutType):
        return kind
    try:
        return CutType(str(kind).strip().upper())
    except ValueError:
        raise ValueError(f"unknown cut type {kind!r}; choose {cut_kinds_text()}") from None


def as_view(view: Any) -> View:
    """``View`` from a View or its name ("incident"/"transfer", any case)."""
    if isinstance(view, View):
        return view
    try:
        return View(str(view).strip().lower())
    except ValueError:
        raise ValueError(f"unknown view {view!r}; choose incident or transfer") from None


@dataclass(frozen=True)
class CutSpec:
    """What to cut: type, band centre ``position`` (eV), full band ``width`` (eV), sum or mean."""

    kind: CutType
    position: float
    width: float
    mean: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _as_cut_type(self.kind))
        object.__setattr__(self, "position", float(self.position))
        object.__setattr__(self, "width", float(self.width))
        object.__setattr__(self, "mean", bool(self.mean))

    @property
    def half_width(self) -> float:
        return self.width / 2.0

    @property
    def band(self) -> tuple[float, float]:
        """(position − width/2, position + width/2)."""
        return self.position - self.half_width, self.position + self.half_width

    @property
    def statistic(self) -> str:
        return "mean" if self.mean else "sum"

    def label(self) -> str:
        """e.g. ``"CEE ω = 8638.90 eV ± 0.50"`` (± half the full width); ``" (mean)"`` for a mean cut."""
        text = f"{self.kind.value} {self.kind.symbol} = {self.position:.2f} eV ± {self.half_width:.2f}"
        return text + " (mean)" if self.mean else text

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.kind.value, "position": self.position, "width": self.width, "statistic": self.statistic}


def _readonly(values, dtype=float) -> np.ndarray:
    array = np.array(values, dtype=dtype, copy=True)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class CutResult:
    """The profile of one cut: abscissa ``x`` (ascending), intensity, σ and points per bin.

    ``axis`` names the abscissa ("emission", "incident" or "transfer"). ``empty`` results have
    zero-length arrays and a ``reason``; ``note`` carries a non-fatal remark (band partly outside
    the data) for results that are not empty. ``uncertainty`` is None when the map has none.
    """

    spec: CutSpec
    view: View
    x: np.ndarray
    intensity: np.ndarray
    uncertainty: np.ndarray | None
    npoints: np.ndarray
    axis: str
    empty: bool = False
    reason: str = ""
    note: str = ""
    #: mean measured Ω of the points in the band (CIE cuts; NaN otherwise or when empty)
    mean_incident: float = float("nan")
    #: what the band rule was applied to: "grid centres" or "measured read-backs"
    coordinate: str = "grid centres"

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", as_view(self.view))
        object.__setattr__(self, "x", _readonly(self.x))
        object.__setattr__(self, "intensity", _readonly(self.intensity))
        if self.uncertainty is not None:
            object.__setattr__(self, "uncertainty", _readonly(self.uncertainty))
        object.__setattr__(self, "npoints", _readonly(self.npoints, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.x.size)

    def to_xarray(self):
        """This profile as an ``xarray.Dataset`` with the cut's record in attrs (see :mod:`xestools.convert`)."""
        from xestools.convert import to_xarray

        return to_xarray(self)

    def to_pandas(self):
        """This profile as a ``pandas.DataFrame``: abscissa, intensity, σ, points per bin."""
        from xestools.convert import to_pandas

        return to_pandas(self)

    def record(self, source_map: RXESMap | None = None) -> dict[str, Any]:
        """The one record of this cut: type, position, width, statistic, view, band rule, coordinate;
        with ``source_map`` also the map's channel and source file and the cut's label.

        The complete record is ``metadata["cut"]`` of :meth:`to_spectrum`, which every writer puts
        once into each file (CSV header lines, NeXus process parameters); the short one is the cut's
        entry in the history of operations.
        """
        record = {**self.spec.as_dict(), "view": self.view.value, "rule": CUT_RULE, "coordinate": self.coordinate}
        if source_map is not None:
            channel = source_map.channel.value if source_map.channel is not None else ""
            record.update(channel=channel, source=source_map.source, label=self.spec.label())
        return record

    def to_spectrum(self, source_map: RXESMap) -> Spectrum:
        """This cut as a :class:`Spectrum` of ``source_map`` (raises ValueError for an empty cut).

        Metadata: ``cut`` (the record of :meth:`record`), ``npoints``, the map's
        ``operations`` plus this cut, and the map's ``normalisation``/``warnings``/``intensity_source``
        when present (a cut of a normalised map is itself normalised by the same factor).
        """
        if self.empty:
            raise ValueError(f"cannot make a spectrum from an empty cut ({self.spec.label()}): {self.reason}")
        cut_record = self.record(source_map)
        operations = list(source_map.metadata.get("operations", []))
        operations.append({"name": "cut", **self.record()})
        metadata: dict[str, Any] = {"cut": cut_record, "npoints": self.npoints.tolist(), "operations": operations}
        for key in ("normalisation", "warnings", "intensity_source"):
            if key in source_map.metadata:
                metadata[key] = source_map.metadata[key]
        if self.spec.kind.definition.bins == "emission" and math.isfinite(self.mean_incident):
            metadata["incident_energy"] = self.mean_incident
        label = f"{source_map.label} {self.spec.label()}".strip()
        return Spectrum(
            energy=self.x,
            intensity=self.intensity,
            uncertainty=self.uncertainty,
            label=label,
            channel=source_map.channel,
            source=source_map.source,
            metadata=metadata,
            info=source_map.info,
            axis=self.axis,
        )


def valid_points(rxes_map: RXESMap) -> np.ndarray:
    """Boolean [i_Ω, i_ω]: measured (mask) and with a finite intensity."""
    return rxes_map.mask & np.isfinite(rxes_map.intensity)


def has_grid(rxes_map: RXESMap) -> bool:
    """True when the map's measured points sit in their grid cells, so the grid centres may decide.

    Both axes must be finite and strictly ascending, and every measured read-back must lie inside
    its row's Ω pixel and its column's ω pixel (edges midway between centres). A scattered map
    (plain text grouped onto a grid it does not follow) is False and is cut on its read-backs.
    """
    incident_axis = np.asarray(rxes_map.incident_axis, dtype=float)
    emission_axis = np.asarray(rxes_map.emission_axis, dtype=float)
    for axis in (incident_axis, emission_axis):
        if not np.all(np.isfinite(axis)) or np.any(np.diff(axis) <= 0):
            return False
    valid = valid_points(rxes_map)
    for readback, axis, broadcast in ((rxes_map.incident, incident_axis, (slice(None), None)),
                                      (rxes_map.emission, emission_axis, (None, slice(None)))):
        if axis.size == 1:
            continue
        edges = pixel_edges(axis)
        lower = edges[:-1][broadcast]
        upper = edges[1:][broadcast]
        values = np.asarray(readback, dtype=float)
        with np.errstate(invalid="ignore"):
            inside = (values >= lower) & (values <= upper)
        if not np.all(inside[valid & np.isfinite(values)]):
            return False
    return True


def cut_coordinate(rxes_map: RXESMap, kind: CutType | str, gridded: bool | None = None) -> np.ndarray:
    """Per-point coordinate a cut holds constant (see :data:`CUT_RULE`), shape of the map.

    On a gridded map the grid centres: Ω row (CIE), ω column (CEE), Ω_row − ω_col (CET); otherwise
    the measured Ω, ω or Ω − ω. ``gridded=None`` asks :func:`has_grid`.
    """
    kind = _as_cut_type(kind)
    if gridded is None:
        gridded = has_grid(rxes_map)
    shape = rxes_map.shape
    if gridded:
        incident = np.broadcast_to(np.asarray(rxes_map.incident_axis, float)[:, None], shape)
        emission = np.broadcast_to(np.asarray(rxes_map.emission_axis, float)[None, :], shape)
    else:
        incident = np.asarray(rxes_map.incident, dtype=float)
        emission = np.asarray(rxes_map.emission, dtype=float)
    return kind.definition.coordinate(incident, emission)


def rounding_allowance(position: float) -> float:
    """Rounding allowed at a band edge: ``ROUNDING_RELATIVE`` × |position| (at least 10⁻⁹ eV)."""
    return ROUNDING_RELATIVE * max(abs(float(position)), 1.0)


def coordinate_name(gridded: bool) -> str:
    """What the band rule was applied to, as recorded in exports."""
    return "grid centres" if gridded else "measured read-backs"


def _bin_statistics(intensity, uncertainty, selected: np.ndarray, reduce_axis: int, mean: bool):
    """Sum or mean over ``selected`` points along ``reduce_axis``: (intensity, σ or None, n)."""
    count = selected.sum(axis=reduce_axis).astype(np.int64)
    total = np.where(selected, intensity, 0.0).sum(axis=reduce_axis)
    sigma = None
    if uncertainty is not None:
        variance = np.where(selected, np.square(uncertainty), 0.0).sum(axis=reduce_axis)
        sigma = np.sqrt(variance)
    with np.errstate(invalid="ignore", divide="ignore"):
        if mean:
            total = total / count
            if sigma is not None:
                sigma = sigma / count
    has_points = count > 0
    total = np.where(has_points, total, np.nan)
    if sigma is not None:
        sigma = np.where(has_points, sigma, np.nan)
    return total, sigma, count


def _axis_for(kind: CutType, view: View) -> str:
    if kind.definition.bins == "emission":
        return "transfer" if view is View.TRANSFER else "emission"
    return "incident"


def _empty(spec: CutSpec, view: View, reason: str) -> CutResult:
    return CutResult(
        spec=spec,
        view=view,
        x=np.empty(0),
        intensity=np.empty(0),
        uncertainty=np.empty(0),
        npoints=np.empty(0, dtype=np.int64),
        axis=_axis_for(spec.kind, view),
        empty=True,
        reason=reason,
    )


def cut(rxes_map: RXESMap, spec: CutSpec, view: View | str = View.INCIDENT) -> CutResult:
    """Cut ``rxes_map`` along ``spec`` in ``view`` (see the module docstring for the formulas).

    Never raises for a cut that selects nothing: returns ``empty=True`` with a ``reason``.
    """
    view = as_view(view)
    if not (math.isfinite(spec.position) and math.isfinite(spec.width)):
        return _empty(spec, view, f"position and width must be finite numbers (got {spec.position}, {spec.width})")
    if spec.width <= 0:
        return _empty(spec, view, f"the cut width must be positive (got {spec.width:g} eV)")
    valid = valid_points(rxes_map)
    gridded = has_grid(rxes_map)
    coordinate = cut_coordinate(rxes_map, spec.kind, gridded)
    usable = valid & np.isfinite(coordinate)
    if not usable.any():
        return _empty(spec, view, "the map has no measured points")
    data_lo = float(coordinate[usable].min())
    data_hi = float(coordinate[usable].max())
    band_lo, band_hi = spec.band
    name = spec.kind.symbol
    data_range = f"{name} {data_lo:.2f}–{data_hi:.2f} eV"
    tolerance = rounding_allowance(spec.position)
    if band_hi < data_lo - tolerance or band_lo > data_hi + tolerance:
        return _empty(
            spec, view, f"the band {name} = {band_lo:.2f}–{band_hi:.2f} eV lies outside the data ({data_range})"
        )
    distance = np.abs(coordinate - spec.position)
    selected = usable & (distance <= spec.half_width + tolerance)
    if not selected.any():
        nearest = float(coordinate[usable][np.argmin(distance[usable])])
        return _empty(
            spec,
            view,
            f"no measured point has {name} within {spec.position:.2f} ± {spec.half_width:.2f} eV "
            f"(nearest at {nearest:.3f} eV); widen the cut",
        )
    note = band_note(spec, data_lo, data_hi, tolerance)
    return binned_result(rxes_map, spec, view, rxes_map.intensity, rxes_map.uncertainty, rxes_map.incident,
                         rxes_map.emission, selected, note, gridded)


def band_note(spec: CutSpec, data_lo: float, data_hi: float, tolerance: float) -> str:
    """The note of a band that runs past the data (such a cut is kept; only points inside count)."""
    band_lo, band_hi = spec.band
    if band_lo < data_lo - tolerance or band_hi > data_hi + tolerance:
        return (f"the band extends beyond the data ({spec.kind.symbol} {data_lo:.2f}–{data_hi:.2f} eV); "
                "only points inside it contribute")
    return ""


def binned_result(rxes_map: RXESMap, spec: CutSpec, view: View, intensity, uncertainty, incident, emission,
                  selected: np.ndarray, note: str = "", gridded: bool = True) -> CutResult:
    """Bin the selected points into the cut's profile (the one place the cut formulas are applied).

    ``intensity``, ``uncertainty``, ``incident``, ``emission`` and ``selected`` are the whole map or a
    block of it that holds every point of the band: all Ω rows of the chosen ω columns for CEE/CET
    (bins are Ω rows) or all ω columns of the chosen Ω rows for CIE (bins are ω columns).
    ``incident``/``emission`` are only read for CIE.
    """
    definition = spec.kind.definition
    along_emission = definition.bins == "emission"
    reduce_axis = 0 if along_emission else 1
    total, sigma, count = _bin_statistics(intensity, uncertainty, selected, reduce_axis, spec.mean)
    if along_emission:
        if view is View.TRANSFER:
            transfer = np.subtract(incident, emission, dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_transfer = np.where(selected, transfer, 0.0).sum(axis=0) / count
            held_incident = spec.position / definition.incident   # the band's Ω (emission coefficient 0)
            x = np.where(count > 0, mean_transfer, held_incident - rxes_map.emission_axis)
        else:
            x = np.asarray(rxes_map.emission_axis, dtype=float)
        mean_incident = float(np.mean(np.asarray(incident)[selected]))
    else:
        x = np.asarray(rxes_map.incident_axis, dtype=float)
        mean_incident = float("nan")
    order = np.argsort(x, kind="stable")
    return CutResult(
        spec=spec,
        view=view,
        x=x[order],
        intensity=total[order],
        uncertainty=None if sigma is None else sigma[order],
        npoints=count[order],
        axis=_axis_for(spec.kind, view),
        note=note,
        mean_incident=mean_incident,
        coordinate=coordinate_name(gridded),
    )


def _xes_metadata(rxes_map: RXESMap, operation: dict[str, Any], **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for key in ("normalisation", "warnings", "intensity_source"):
        if key in rxes_map.metadata:
            metadata[key] = rxes_map.metadata[key]
    metadata["operations"] = list(rxes_map.metadata.get("operations", [])) + [operation]
    metadata.update(extra)
    return metadata


def xes_at_incident(rxes_map: RXESMap, omega: float, width: float | None = None) -> Spectrum:
    """The XES (intensity against ω) of ``rxes_map`` at incident energy ``omega``.

    ``width=None``: the Ω row whose pixel contains ``omega`` (pixel edges midway between grid
    values), ``I(ω_j) = I[i, j]``. With a width: the mean over the band |Ω − omega| ≤ width/2 of
    each ω column, ``I(ω_j) = Σ_B I / n_j``, ``σ = √Σ_B σ² / n_j`` (a CIE mean cut), so the
    intensity scale matches a single row. ``metadata["incident_energy"]`` is the mean measured Ω of
    the points used. Raises ValueError when ``omega`` is outside the map or nothing was measured there.
    """
    omega = float(omega)
    if not math.isfinite(omega):
        raise ValueError(f"Ω must be a finite energy, got {omega}")
    if width is not None:
        spec = CutSpec(CutType.CIE, omega, float(width), mean=True)
        result = cut(rxes_map, spec, View.INCIDENT)
        if result.empty:
            raise ValueError(f"no XES at Ω = {omega:.2f} eV: {result.reason}")
        operation = {"name": "xes_at_incident", "omega": omega, "width": float(width)}
        metadata = _xes_metadata(
            rxes_map, operation, incident_energy=result.mean_incident, npoints=result.npoints.tolist()
        )
        # a CIE cut in the incident view is binned on the map's (ascending) ω axis
        return _map_xes(rxes_map, result.intensity, result.uncertainty,
                        f"XES at Ω = {omega:.2f} ± {float(width) / 2:.2f} eV", metadata)
    edges = pixel_edges(rxes_map.incident_axis)
    if not edges[0] <= omega <= edges[-1]:
        raise ValueError(
            f"Ω = {omega:.2f} eV is outside the map's incident range "
            f"{rxes_map.incident_axis[0]:.2f}–{rxes_map.incident_axis[-1]:.2f} eV"
        )
    row = int(np.clip(np.searchsorted(edges, omega, side="right") - 1, 0, rxes_map.shape[0] - 1))
    valid = valid_points(rxes_map)[row]
    if not valid.any():
        raise ValueError(f"no measured points in the Ω = {rxes_map.incident_axis[row]:.2f} eV row")
    intensity = np.where(valid, rxes_map.intensity[row], np.nan)
    sigma = None if rxes_map.uncertainty is None else np.where(valid, rxes_map.uncertainty[row], np.nan)
    monitor = None if rxes_map.monitor is None else rxes_map.monitor[row]
    row_omega = float(np.mean(rxes_map.incident[row][valid]))
    operation = {"name": "xes_at_incident", "omega": omega, "width": None, "row": row}
    metadata = _xes_metadata(rxes_map, operation, incident_energy=row_omega, npoints=valid.astype(int).tolist())
    return _map_xes(rxes_map, intensity, sigma, f"XES at Ω = {row_omega:.2f} eV", metadata, monitor)


def xes_summed(rxes_map: RXESMap) -> Spectrum:
    """The XES summed over every Ω row: ``I(ω_j) = Σ_i I[i, j]``, ``σ = √Σ_i σ²[i, j]``.

    Unmeasured points are left out; a column with none measured is NaN. ``metadata["npoints"]``
    holds the number of rows summed per column.
    """
    selected = valid_points(rxes_map)
    intensity, sigma, count = _bin_statistics(rxes_map.intensity, rxes_map.uncertainty, selected, 0, mean=False)
    metadata = _xes_metadata(rxes_map, {"name": "xes_summed"}, npoints=count.tolist())
    return _map_xes(rxes_map, intensity, sigma, "XES summed over Ω", metadata)


def _map_xes(rxes_map: RXESMap, intensity, sigma, what: str, metadata: dict[str, Any], monitor=None) -> Spectrum:
    """A 1D XES (against the map's ω axis) taken from ``rxes_map``, labelled ``<map label> <what>``."""
    return Spectrum(
        energy=np.asarray(rxes_map.emission_axis, dtype=float),
        intensity=intensity,
        uncertainty=sigma,
        monitor=monitor,
        label=f"{rxes_map.label} {what}".strip(),
        channel=rxes_map.channel,
        source=rxes_map.source,
        metadata=metadata,
        info=rxes_map.info,
        axis="emission",
    )


__all__ = [
    "CUT_KINDS",
    "CUT_RULE",
    "CutKind",
    "cut_kind_names",
    "cut_kinds_text",
    "coordinate_name",
    "has_grid",
    "rounding_allowance",
    "CutResult",
    "CutSpec",
    "CutType",
    "View",
    "as_view",
    "band_note",
    "binned_result",
    "cut",
    "cut_coordinate",
    "valid_points",
    "xes_at_incident",
    "xes_summed",
]

