"""Domain objects: what a loaded scan *is*, independent of any file format or widget.

All objects are frozen dataclasses holding numpy arrays. Arrays are made read-only on
construction so that nothing downstream (GUI, analysis) can alter loaded data in place; derived
results are new objects (``dataclasses.replace`` or the ``evolve`` helper).

Conventions (see DESIGN.md): Ω = incident energy, ω = emission energy, energy transfer
ET = Ω − ω. An :class:`RXESMap` is always laid out on its grid as ``[i_Ω, i_ω]`` (axis 0 = Ω,
axis 1 = ω) whatever the scan order was; the reader transposes / un-snakes and records the
original order in ``metadata["scan_order"]``.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

INCIDENT_LABEL = "Ω (eV)"
EMISSION_LABEL = "ω (eV)"
TRANSFER_LABEL = "Energy transfer Ω − ω (eV)"


class Channel(str, enum.Enum):
    """I20 spectrometer: upper = Si(642) analysers on medipix1, lower = Ge(555) on medipix2."""

    UPPER = "upper"
    LOWER = "lower"

    @property
    def detector(self) -> str:
        return "medipix1" if self is Channel.UPPER else "medipix2"

    @property
    def energy_name(self) -> str:
        """Name of the emission-energy positioner of this spectrometer."""
        return "XESEnergyUpper" if self is Channel.UPPER else "XESEnergyLower"

    @classmethod
    def from_detector(cls, name: str) -> "Channel":
        lowered = name.lower()
        if "medipix1" in lowered or "upper" in lowered:
            return cls.UPPER
        if "medipix2" in lowered or "lower" in lowered:
            return cls.LOWER
        raise ValueError(f"not an I20 XES detector or channel name: {name!r}")

    def __str__(self) -> str:
        return self.value


def _readonly(array: Any, dtype=float) -> np.ndarray | None:
    if array is None:
        return None
    result = np.array(array, dtype=dtype, copy=True)
    result.flags.writeable = False
    return result


@dataclass(frozen=True)
class ScanInfo:
    """What the beamline recorded about a scan, from the NeXus entry or the ASCII header."""

    scan_number: int | None = None
    sample_name: str = ""
    start_time: str = ""
    end_time: str = ""
    experiment_id: str = ""
    command: str = ""
    scan_dimensions: tuple[int, ...] = ()
    mono_energy: float | None = None
    #: channel value ("upper"/"lower") -> crystal, e.g. {"upper": "Si(642)", "lower": "Ge(555)"}
    spectrometer_crystals: Mapping[str, str] = field(default_factory=dict)
    #: channel value -> Rowland circle radius in mm
    rowland_radius_mm: Mapping[str, float] = field(default_factory=dict)
    monitor: str = "I1"
    counting_time: float | None = None
    #: "i20-nexus", "i20-ascii", "plain", "xestools-csv", "xestools-nexus"
    source_format: str = ""


class _NotebookViews:
    """The notebook conveniences of spectra and maps: conversions and Jupyter pictures, each importing
    its module only when called (``xestools.convert``, ``xestools.display``)."""

    def to_xarray(self):
        """This object as an ``xarray.Dataset`` (see :mod:`xestools.convert`; needs xarray)."""
        from xestools.convert import to_xarray

        return to_xarray(self)

    def to_pandas(self):
        """This object as a tidy ``pandas.DataFrame``, one row per point (see :mod:`xestools.convert`)."""
        from xestools.convert import to_pandas

        return to_pandas(self)

    def _repr_png_(self) -> bytes | None:
        """A small picture for Jupyter (None when it cannot be drawn; never raises)."""
        from xestools.display import png

        return png(self)

    def _repr_html_(self) -> str | None:
        """A summary table and a small picture for Jupyter (None when it cannot be made; never raises)."""
        from xestools.display import html

        return html(self)


@dataclass(frozen=True, eq=False)
class Spectrum(_NotebookViews):
    """A 1D spectrum: intensity against one energy axis.

    ``axis`` says which energy the abscissa is: "emission" (ω, an XES scan or a CIE cut),
    "incident" (Ω, a CEE/HERFD or CET cut) or "transfer" (Ω − ω, a CIE cut in the transfer view).
    ``uncertainty`` is one standard deviation (None when unknown); ``monitor`` the I1 per point.
    """

    energy: np.ndarray
    intensity: np.ndarray
    uncertainty: np.ndarray | None = None
    monitor: np.ndarray | None = None
    label: str = ""
    channel: Channel | None = None
    source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    info: ScanInfo | None = None
    axis: str = "emission"

    def __post_init__(self) -> None:
        energy = _readonly(self.energy)
        intensity = _readonly(self.intensity)
        if energy.ndim != 1 or intensity.shape != energy.shape:
            raise ValueError(
                f"Spectrum needs 1D energy and intensity of equal length, got {energy.shape} and {intensity.shape}"
            )
        object.__setattr__(self, "energy", energy)
        object.__setattr__(self, "intensity", intensity)
        for name in ("uncertainty", "monitor"):
            value = _readonly(getattr(self, name))
            if value is not None and value.shape != energy.shape:
                raise ValueError(f"Spectrum.{name} has shape {value.shape}, expected {energy.shape}")
            object.__setattr__(self, name, value)
        if self.axis not in ("emission", "incident", "transfer"):
            raise ValueError(f"Spectrum.axis must be emission, incident or transfer, not {self.axis!r}")
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def axis_label(self) -> str:
        return {"emission": EMISSION_LABEL, "incident": INCIDENT_LABEL, "transfer": TRANSFER_LABEL}[self.axis]

    def __len__(self) -> int:
        return int(self.energy.size)


@dataclass(frozen=True, eq=False)
class RXESMap(_NotebookViews):
    """A 2D RXES map on its measurement grid, indexed ``[i_Ω, i_ω]``.

    ``incident`` and ``emission`` hold the *measured* Ω and ω of every point (read-backs jitter
    by a few meV), ``incident_axis`` and ``emission_axis`` the reduced 1D grid axes (tolerance-
    grouped, ascending). ``mask`` is True where a point was measured; unmeasured points (an
    aborted scan) are NaN in ``intensity``.
    """

    incident: np.ndarray
    emission: np.ndarray
    incident_axis: np.ndarray
    emission_axis: np.ndarray
    intensity: np.ndarray
    uncertainty: np.ndarray | None = None
    mask: np.ndarray | None = None
    monitor: np.ndarray | None = None
    label: str = ""
    channel: Channel | None = None
    source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    info: ScanInfo | None = None

    def __post_init__(self) -> None:
        intensity = _readonly(self.intensity)
        if intensity.ndim != 2:
            raise ValueError(f"RXESMap.intensity must be 2D, got shape {intensity.shape}")
        object.__setattr__(self, "intensity", intensity)
        for name in ("incident", "emission", "uncertainty", "monitor"):
            value = _readonly(getattr(self, name))
            if value is not None and value.shape != intensity.shape:
                raise ValueError(f"RXESMap.{name} has shape {value.shape}, expected {intensity.shape}")
            object.__setattr__(self, name, value)
        incident_axis = _readonly(self.incident_axis)
        emission_axis = _readonly(self.emission_axis)
        if incident_axis.shape != (intensity.shape[0],) or emission_axis.shape != (intensity.shape[1],):
            raise ValueError(
                f"RXESMap axes {incident_axis.shape}, {emission_axis.shape} do not match intensity {intensity.shape}"
            )
        object.__setattr__(self, "incident_axis", incident_axis)
        object.__setattr__(self, "emission_axis", emission_axis)
        mask = np.isfinite(intensity) if self.mask is None else _readonly(self.mask, dtype=bool)
        if mask.shape != intensity.shape:
            raise ValueError(f"RXESMap.mask has shape {mask.shape}, expected {intensity.shape}")
        mask = np.array(mask, dtype=bool)
        mask.flags.writeable = False
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.intensity.shape)  # type: ignore[return-value]

    @property
    def transfer(self) -> np.ndarray:
        """Energy transfer Ω − ω of every point, from the measured energies."""
        return self.incident - self.emission


Scan = Spectrum | RXESMap


# ---------------------------------------------------------------------------------------------
# cut types: the one table (the cut, its drawing, the CLI, recipes and the GUI take them from here)


@dataclass(frozen=True)
class CutKind:
    """One type of cut: it holds ``incident·Ω + emission·ω`` constant (coefficients such as 1, 0 or −1).

    A type with ``emission == 0`` bins its band along the ω columns (its profile is against ω, or
    Ω − ω in the transfer view); any other bins along the Ω rows (its profile is against Ω).
    ``description`` and ``shortcut`` are what the GUI shows and binds for adding one.
    """

    name: str
    incident: float
    emission: float
    symbol: str
    description: str
    shortcut: str = ""

    @property
    def bins(self) -> str:
        """The grid axis the profile runs along: "emission" (ω columns) or "incident" (Ω rows)."""
        return "emission" if self.emission == 0 else "incident"

    def coordinate(self, incident, emission) -> np.ndarray:
        """``incident·Ω + emission·ω`` of arrays Ω, ω; a zero coefficient leaves its term out (NaN there too)."""
        return _linear(self.incident, incident, self.emission, emission)

    def coordinate_in_view(self, x, y, view) -> np.ndarray:
        """The held coordinate at the view point (x, y): (Ω, ω) in the incident view, (Ω, Ω − ω) in the transfer view."""
        if str(getattr(view, "value", view)).strip().lower() == "transfer":   # a·Ω + b·(Ω − t) = (a + b)·Ω − b·t
            return _linear(self.incident + self.emission, x, -self.emission, y)
        return _linear(self.incident, x, self.emission, y)


def _linear(a: float, x, b: float, y):
    """``a·x + b·y`` with exact unit and zero coefficients (no rounding, no NaN from a term left out)."""
    terms = [(coefficient, values) for coefficient, values in ((a, x), (b, y)) if coefficient != 0]
    if not terms:
        raise ValueError("a cut type needs a non-zero coefficient")
    (first, values), rest = terms[0], terms[1:]
    total = values if first == 1 else np.multiply(first, values, dtype=float)
    for coefficient, more in rest:
        total = np.subtract(total, more, dtype=float) if coefficient == -1 else \
            np.add(total, more if coefficient == 1 else np.multiply(coefficient, more, dtype=float), dtype=float)
    return total


#: every cut type, in the order the GUI offers them
CUT_KINDS: tuple[CutKind, ...] = (
    CutKind("CIE", 1.0, 0.0, "Ω", "constant incident energy Ω", "Ctrl+Shift+I"),
    CutKind("CEE", 0.0, 1.0, "ω", "constant emission energy ω (HERFD)", "Ctrl+Shift+E"),
    CutKind("CET", 1.0, -1.0, "Ω − ω", "constant energy transfer Ω − ω", "Ctrl+Shift+T"),
)


def cut_kind_names() -> tuple[str, ...]:
    """The names of the cut types ("CIE", "CEE", "CET")."""
    return tuple(kind.name for kind in CUT_KINDS)


def cut_kinds_text(separator: str = ", ", last: str = " or ") -> str:
    """The names for a message: ``CIE, CEE or CET``."""
    names = cut_kind_names()
    return separator.join(names[:-1]) + last + names[-1] if len(names) > 1 else names[0]


def evolve(obj, **changes):
    """A copy of a frozen model object with some fields replaced (metadata is merged, not replaced)."""
    if "metadata" in changes:
        merged = dict(obj.metadata)
        merged.update(changes["metadata"])
        changes["metadata"] = merged
    return dataclasses.replace(obj, **changes)
