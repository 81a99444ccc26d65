"""Series of repeats, twins, and averaging a series (spectra or maps). Qt-free.

Repeats. Two scans are repeats when they have the same sample, kind (XES spectrum or RXES map),
channel and abscissa, and the same command: the same nominal Ω/ω ranges and steps within
read-back jitter (starts and ends within :data:`RANGE_TOLERANCE_FRACTION` × the step, steps within
:data:`STEP_RTOL`; the fixed Ω of an XES scan within :data:`FIXED_TOLERANCE_EV`). The nominal ranges
come from the GDA command when there is one (so a scan still in progress, with fewer points, already
belongs to its series), otherwise from the measured axes.

Twins. The same scan opened in two formats is one scan (:mod:`xestools.analysis.twins`): only one of
them is a member; averaging both would report σ too small by √2.

:class:`SeriesIndex` groups scans incrementally (``add`` puts a new scan into its series or starts
one) and can keep each series' average up to date; :func:`average_series` averages any list of
repeats after removing twins.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from xestools.analysis.average import average_spectra
from xestools.analysis.grid import estimate_step
from xestools.analysis.map_average import average_maps
from xestools.analysis.twins import deduplicate, is_twin, measured_points, twin_notice, without_twins
from xestools.gda import parse_command
from xestools.model import RXESMap, Spectrum

#: starts/ends of two nominal ranges agree within this fraction of the step
RANGE_TOLERANCE_FRACTION = 0.25
#: two steps agree within this relative difference
STEP_RTOL = 0.02
#: the fixed Ω of two XES scans agrees within this (mono read-backs jitter by a few meV)
FIXED_TOLERANCE_EV = 0.1

#: (element, Kα1, Kβ1,3, K edge) in eV, for naming the scan type of 3d-metal spectra
_K_LINES = (
    ("Ti", 4510.8, 4931.8, 4966.0), ("V", 4952.2, 5427.3, 5465.0), ("Cr", 5414.7, 5946.7, 5989.0),
    ("Mn", 5898.8, 6490.5, 6539.0), ("Fe", 6403.8, 7058.0, 7112.0), ("Co", 6930.3, 7649.4, 7709.0),
    ("Ni", 7478.2, 8264.7, 8333.0), ("Cu", 8047.8, 8905.3, 8979.0), ("Zn", 8638.9, 9572.0, 9659.0),
)


@dataclass(frozen=True)
class Range:
    """A nominal scan range: first and last point and the step (positive), in eV."""

    first: float
    last: float
    step: float

    def matches(self, other: "Range") -> bool:
        tolerance = RANGE_TOLERANCE_FRACTION * max(self.step, other.step, 1e-6)
        return (abs(self.first - other.first) <= tolerance and abs(self.last - other.last) <= tolerance
                and abs(self.step - other.step) <= STEP_RTOL * max(self.step, other.step))


@dataclass(frozen=True)
class ScanSignature:
    """What makes scans repeats of each other; small and picklable (sent between processes)."""

    sample: str
    kind: str                       # "xes" or "rxes"
    channel: str                    # "upper", "lower" or ""
    axis: str                       # the spectrum's abscissa, "map" for a map
    ranges: tuple[Range, ...]       # XES: the scanned energy; RXES: Ω then ω
    fixed_incident: float | None = None
    scan_number: int | None = None
    source: str = ""

    def same_series(self, other: "ScanSignature") -> bool:
        """True when the two scans are repeats of one measurement (see the module docstring).

        Scans without a sample name (plain columns, derived results) are never grouped automatically.
        """
        if not self.sample or not other.sample:
            return False
        if (self.sample, self.kind, self.channel, self.axis) != (other.sample, other.kind, other.channel, other.axis):
            return False
        if len(self.ranges) != len(other.ranges):
            return False
        if not all(a.matches(b) for a, b in zip(self.ranges, other.ranges)):
            return False
        if (self.fixed_incident is None) != (other.fixed_incident is None):
            return False
        return self.fixed_incident is None or abs(self.fixed_incident - other.fixed_incident) <= FIXED_TOLERANCE_EV


def _range_of(values: np.ndarray) -> Range | None:
    values = np.asarray(values, dtype=float)
    values = np.sort(values[np.isfinite(values)])
    if values.size == 0:
        return None
    step = estimate_step(values) if values.size > 1 else 0.0
    return Range(float(values[0]), float(values[-1]), float(step))


def _command_ranges(obj: Spectrum | RXESMap) -> tuple[Range, ...] | None:
    """Nominal ranges from the GDA command: (scanned energy,) for XES, (Ω, ω) for a map; None if unknown."""
    command = obj.info.command if obj.info is not None else ""
    if not command:
        return None
    moving = [motor for motor in parse_command(command) if motor.moves]
    ranges = []
    for motor in moving:
        points = np.asarray(motor.nominal_points(obj.channel), dtype=float)
        if points.size == 0:
            return None
        step = abs(float(points[-1] - points[0])) / (points.size - 1) if points.size > 1 else 0.0
        ranges.append((motor.name, Range(float(points.min()), float(points.max()), step)))
    if isinstance(obj, RXESMap):
        emission = [r for name, r in ranges if name.startswith("XESEnergy")]
        incident = [r for name, r in ranges if not name.startswith("XESEnergy")]
        return (incident[0], emission[0]) if len(emission) == 1 and len(incident) == 1 else None
    return (ranges[0][1],) if len(ranges) == 1 else None


def _fixed_incident(obj: Spectrum | RXESMap) -> float | None:
    if isinstance(obj, RXESMap):
        return None
    value = obj.metadata.get("incident_energy")
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    if obj.info is not None and obj.info.mono_energy is not None and obj.axis != "incident":
        return float(obj.info.mono_energy)
    return None


def signature(obj: Spectrum | RXESMap) -> ScanSignature:
    """The :class:`ScanSignature` of a loaded scan (nominal ranges from its command when it has one)."""
    ranges = _command_ranges(obj)
    if ranges is None:
        if isinstance(obj, RXESMap):
            measured = (_range_of(obj.incident_axis), _range_of(obj.emission_axis))
        else:
            measured = (_range_of(obj.energy),)
        ranges = tuple(r for r in measured if r is not None)
    info = obj.info
    sample = (info.sample_name if info is not None else "") or ""
    return ScanSignature(
        sample=sample,
        kind="rxes" if isinstance(obj, RXESMap) else "xes",
        channel=str(obj.channel) if obj.channel is not None else "",
        axis="map" if isinstance(obj, RXESMap) else obj.axis,
        ranges=tuple(ranges),
        fixed_incident=_fixed_incident(obj),
        scan_number=info.scan_number if info is not None else None,
        source=obj.source,
    )


def scan_type(sig: ScanSignature) -> str:
    """A short name of the measurement, e.g. "VtC XES", "Kβ1,3 XES", "Kα RXES" (ranges when unrecognised)."""
    kind = "RXES" if sig.kind == "rxes" else "XES"
    if not sig.ranges:
        return kind
    emission = sig.ranges[-1] if sig.kind == "rxes" else sig.ranges[0]
    if sig.kind == "xes" and sig.axis != "emission":
        return f"{kind} {'Ω' if sig.axis == 'incident' else 'Ω − ω'} {emission.first:.1f}–{emission.last:.1f} eV"
    for _, kalpha, kbeta, edge in _K_LINES:
        if emission.first - 30 <= kalpha <= emission.last + 10 and emission.last < kbeta - 100:
            return f"Kα {kind}"
        if emission.first <= kbeta <= emission.last:
            return f"Kβ1,3 {kind}"
        if kbeta < emission.first < edge + 5 and emission.last <= edge + 60:
            return f"VtC {kind}"
    return f"{kind} ω {emission.first:.1f}–{emission.last:.1f} eV"


def average_series(scans: Sequence[Spectrum | RXESMap], *, weighted: bool = False, grid: str = "overlap",
                   label: str = "") -> Spectrum | RXESMap:
    """Average of repeats (spectra or maps) with twins counted once; ``metadata["notes"]`` says which.

    Spectra go to :func:`~xestools.analysis.average.average_spectra`, maps to
    :func:`~xestools.analysis.map_average.average_maps`. ``metadata["twins"]`` lists the dropped
    sources. Raises ValueError for mixed spectra and maps and whatever the averaging refuses.
    """
    scans = list(scans)
    if scans and len({isinstance(scan, RXESMap) for scan in scans}) > 1:
        raise ValueError("cannot average spectra together with maps")
    if scans and isinstance(scans[0], RXESMap):
        return average_maps(scans, grid=grid, weighted=weighted, label=label)
    return average_spectra(scans, grid=grid, weighted=weighted, label=label)


@dataclass(eq=False)
class Series:
    """Repeats of one measurement: members (twins removed), their twins, an optional kept-up average."""

    signature: ScanSignature
    members: list = field(default_factory=list)
    twins: list = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    #: when True, :meth:`SeriesIndex.add` recomputes :attr:`average` whenever the members change
    follow_average: bool = False
    average_options: dict[str, Any] = field(default_factory=dict)
    average: Spectrum | RXESMap | None = None

    @property
    def name(self) -> str:
        """e.g. "ZnO_standard — VtC XES, 3 scans"."""
        count = len(self.members)
        sample = self.signature.sample or "unnamed sample"
        return f"{sample} — {scan_type(self.signature)}, {count} scan{'s' if count != 1 else ''}"

    @property
    def scan_numbers(self) -> list[int | None]:
        return [member.info.scan_number if member.info is not None else None for member in self.members]

    def compute_average(self, **options: Any) -> Spectrum | RXESMap:
        """Average of the members, twins counted once (options as :func:`average_series`, remembered)."""
        if options:
            self.average_options = dict(options)
        self.average = average_series(self.members + self.twins, **self.average_options)
        return self.average


@dataclass(frozen=True)
class AddResult:
    """What :meth:`SeriesIndex.add` did: the series, whether the scan is new there, and a notice if any."""

    series: Series
    joined: bool          # the scan became a member (False: it is a twin of a member and was set aside)
    new_series: bool
    notice: str = ""


class SeriesIndex:
    """Scans grouped into series, incrementally; listeners are called with each changed :class:`Series`."""

    def __init__(self) -> None:
        self._series: list[Series] = []
        self.listeners: list[Callable[[Series], None]] = []

    @property
    def series(self) -> tuple[Series, ...]:
        return tuple(self._series)

    def series_of(self, scan) -> Series | None:
        return next((series for series in self._series
                     if any(member is scan for member in series.members + series.twins)), None)

    def add(self, scan: Spectrum | RXESMap) -> AddResult:
        """Put ``scan`` into its series (a new one if none matches); a twin of a member is set aside.

        A scan read again from the same file (a growing scan followed while it is written) replaces
        its earlier state silently.
        """
        sig = signature(scan)
        series = next((s for s in self._series if s.signature.same_series(sig)), None)
        created = series is None
        if series is None:
            series = Series(sig)
            self._series.append(series)
        joined, notice = self._place(series, scan)
        if notice:
            series.notices.append(notice)
        if series.follow_average and joined:
            series.compute_average()
        for listener in list(self.listeners):
            listener(series)
        return AddResult(series, joined, created, notice)

    @staticmethod
    def _place(series: Series, scan) -> tuple[bool, str]:
        """Make ``scan`` a member (or a twin) of ``series``: (became a member, notice)."""
        again = next((index for index, member in enumerate(series.members)
                      if scan.source and member.source == scan.source and member.channel == scan.channel), None)
        if again is not None:
            series.members[again] = scan
            return True, ""
        twin = next((index for index, member in enumerate(series.members) if is_twin(member, scan)), None)
        if twin is None:
            series.members.append(scan)
            return True, ""
        if measured_points(scan) > measured_points(series.members[twin]):
            series.twins.append(series.members[twin])
            notice = twin_notice(scan, series.members[twin])
            series.members[twin] = scan
            return True, notice
        series.twins.append(scan)
        return False, twin_notice(series.members[twin], scan)

    def remove(self, scan) -> None:
        """Take ``scan`` out of its series (a series left empty disappears)."""
        series = self.series_of(scan)
        if series is None:
            return
        series.members = [member for member in series.members if member is not scan]
        series.twins = [twin for twin in series.twins if twin is not scan]
        if not series.members:
            self._series.remove(series)
        elif series.follow_average:
            series.compute_average()
        for listener in list(self.listeners):
            listener(series)


def group_signatures(signatures: Sequence[ScanSignature]) -> list[list[int]]:
    """Indices of ``signatures`` grouped into series, in order of first appearance (for batch runs)."""
    groups: list[tuple[ScanSignature, list[int]]] = []
    for index, sig in enumerate(signatures):
        group = next((members for first, members in groups if first.same_series(sig)), None)
        if group is None:
            groups.append((sig, [index]))
        else:
            group.append(index)
    return [members for _, members in groups]


__all__ = ["AddResult", "Range", "ScanSignature", "Series", "SeriesIndex", "average_series", "deduplicate",
           "group_signatures", "is_twin", "scan_type", "signature", "twin_notice", "without_twins"]
