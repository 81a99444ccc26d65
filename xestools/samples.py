"""Synthetic I20 sample scans: ``xestools samples [--out DIR]`` (or ``python -m xestools.samples``).

An installed copy has no ``data_samples/`` folder, and must never write into ``site-packages`` or
the current folder: :func:`sample_folder` writes the samples on first use into the per-user data
folder (platformdirs) and returns it; the GUI's File → Open sample data and ``xestools samples``
call it. Generating them takes well under a second and is deterministic, so a copy generated
anywhere equals the committed ``data_samples/`` of a checkout.

The files imitate what GDA 9.38 writes on I20 (checked against the real scans described in
``../shared/data/README.md``): the same NeXus groups, ``NX_class`` attributes, per-dataset ``axis``/
``label``/``primary``/``local_name``/``target`` attributes, hard-linked NXdata groups, external links
``medipixN/data`` to a ``medipixN-<scan>.hdf`` that does not exist, XML ``before_scan`` parameters cut
at 1023 characters, and for ``.dat`` the ~53 ``#`` header lines, the column header, tab-separated
rows with a trailing tab and the two footer lines. Storage layout is simplified (contiguous
``before_scan`` scalars instead of 32 kB chunks) so each file stays far below 300 kB.

Physics (Zn, ZnO-like), eV:

* Emission lines are pseudo-Voigt peaks (Thompson–Cox–Hastings), area-normalised:
  Kα1 8638.9 and Kα2 8615.8 with area ratio 2:1, Kβ1,3 9572.0, Kβ'' 9645.5 and Kβ2,5 9657.5 (weak).
* The RXES map uses the Kramers–Heisenberg form without interference,
  ``I(Ω, ω) = Σ_lines a_l ∫ ρ(ε) L_K(Ω − E_K − ε) V_l(Ω − ω − (E_K − E_l) − ε) dε``,
  with E_K = 9659.0 (Zn K edge), ρ(ε) = an arctan edge step + a 1s→4p white line + a weak bound
  pre-edge state, L_K a Lorentzian of the 1s core-hole width, V_l the final-state line shape. Below
  the edge the emission disperses with Ω (Raman, constant Ω − ω); above it, it stays at the
  fluorescence energies.
* Counts: ROI counts = Poisson(FFI1_model × I1) with a fixed seed per file; I1 drifts slowly
  (top-up ripple and decay); FFI1 = ROI counts / I1 exactly, as the beamline writes it.
* Ω read-backs jitter by ±2.5 meV around the demand (printed to 1 meV), ω read-backs by about
  −0.01 eV (printed to 10 meV), as on the real spectrometer.

Everything is deterministic: fixed seeds (NumPy's legacy ``RandomState``, whose streams are frozen
across NumPy versions), fixed timestamps and identifiers derived from the scan number.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xestools.io.atomic import atomic_path, atomic_write
from xestools.model import Channel

log = logging.getLogger("xestools.samples")

#: Bumped whenever the generator's output changes, so an older copy in the user folder is rewritten.
GENERATOR_VERSION = 1
#: File in a sample folder recording the generator version that completed it.
STAMP_NAME = ".xestools-samples"

#: Fluorescence line energies (eV) used in the samples.
KALPHA1 = 8638.9
KALPHA2 = 8615.8
KBETA13 = 9572.0
KBETA_DOUBLE_PRIME = 9645.5
KBETA25 = 9657.5
ZN_K_EDGE = 9659.0
#: Zn 1s core-hole lifetime width (FWHM, eV).
GAMMA_K = 1.67

SAMPLE_NAME = "ZnO_synthetic"
EXPERIMENT_ID = "sp00000-1"
PROGRAM_NAME = "GDA 9.38.0"
USER_NAME = "xestools"
MONO_CRYSTAL = "Si(111)"
UPPER_CRYSTAL = ("Si", (6, 4, 2), 995.0)
LOWER_CRYSTAL = ("Ge", (5, 5, 5), 992.0)
#: Lattice constants (Å) of the analyser crystals, for the Bragg angles written next to ω.
LATTICE = {"Si": 5.4310, "Ge": 5.6579}
HC_EV_ANGSTROM = 12398.4198
BST = dt.timezone(dt.timedelta(hours=1))

RXES_SCAN = 990101
GROUP_SCAN = 990102
KB13_SCAN = 990110
VTC_SCANS = (990111, 990112, 990113)


# ----------------------------------------------------------------------------- line shapes
def lorentzian(x: np.ndarray, fwhm: float) -> np.ndarray:
    """Area-normalised Lorentzian: L(x) = (Γ/2π) / (x² + (Γ/2)²)."""
    half = fwhm / 2.0
    return (half / math.pi) / (np.square(x) + half * half)


def gaussian(x: np.ndarray, fwhm: float) -> np.ndarray:
    """Area-normalised Gaussian with σ = FWHM / (2√(2 ln 2))."""
    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return np.exp(-0.5 * np.square(x / sigma)) / (sigma * math.sqrt(2.0 * math.pi))


def pseudo_voigt(x: np.ndarray, fwhm_gauss: float, fwhm_lorentz: float) -> np.ndarray:
    """Area-normalised Thompson–Cox–Hastings pseudo-Voigt: η L(x; f) + (1 − η) G(x; f).

    f⁵ = fG⁵ + 2.69269 fG⁴fL + 2.42843 fG³fL² + 4.47163 fG²fL³ + 0.07842 fG fL⁴ + fL⁵,
    η = 1.36603 (fL/f) − 0.47719 (fL/f)² + 0.11116 (fL/f)³.
    """
    fg, fl = fwhm_gauss, fwhm_lorentz
    f = (fg**5 + 2.69269 * fg**4 * fl + 2.42843 * fg**3 * fl**2 + 4.47163 * fg**2 * fl**3
         + 0.07842 * fg * fl**4 + fl**5) ** 0.2
    ratio = fl / f
    eta = 1.36603 * ratio - 0.47719 * ratio**2 + 0.11116 * ratio**3
    return eta * lorentzian(x, f) + (1.0 - eta) * gaussian(x, f)


def kalpha_emission(omega: np.ndarray) -> np.ndarray:
    """Kα1 + Kα2 fluorescence (area ratio 2:1), peak-normalised to 1 at Kα1; Si(642) resolution 1.0 eV."""
    shape = (2.0 * pseudo_voigt(omega - KALPHA1, 1.0, 2.3)
             + 1.0 * pseudo_voigt(omega - KALPHA2, 1.0, 2.4))
    peak = 2.0 * pseudo_voigt(np.zeros(1), 1.0, 2.3)[0] + pseudo_voigt(np.array([KALPHA1 - KALPHA2]), 1.0, 2.4)[0]
    return shape / peak


def kbeta_emission(omega: np.ndarray) -> np.ndarray:
    """Kβ1,3 + Kβ'' + Kβ2,5 (valence-to-core) plus a slowly falling background, peak ≈ 1 at Kβ1,3.

    Ge(555) resolution 1.3 eV; VtC lines at about 0.5 % (Kβ'') and 1.8 % (Kβ2,5) of the main peak.
    """
    main = pseudo_voigt(omega - KBETA13, 1.3, 2.9)
    norm = pseudo_voigt(np.zeros(1), 1.3, 2.9)[0]
    satellite = 0.005 * pseudo_voigt(omega - KBETA_DOUBLE_PRIME, 1.3, 4.0) / pseudo_voigt(np.zeros(1), 1.3, 4.0)[0]
    vtc = 0.018 * pseudo_voigt(omega - KBETA25, 1.3, 3.2) / pseudo_voigt(np.zeros(1), 1.3, 3.2)[0]
    background = 0.004 * np.exp(-(omega - 9560.0) / 80.0)
    return main / norm + satellite + vtc + background


def unoccupied_density(epsilon: np.ndarray) -> np.ndarray:
    """ρ(ε) above the Zn 1s level (ε = E − E_K): arctan edge step + 1s→4p white line + weak pre-edge state."""
    step = 0.5 + np.arctan(epsilon / 0.8) / math.pi
    white_line = 1.2 * np.exp(-0.5 * np.square((epsilon - 3.2) / 1.0))
    pre_edge = 0.6 * np.exp(-0.5 * np.square((epsilon + 2.0) / 0.4))
    return step + white_line + pre_edge


def kalpha_rxes(incident: np.ndarray, emission: np.ndarray) -> np.ndarray:
    """Kα RXES across the Zn K edge, evaluated at every measured (Ω, ω); peak-normalised to 1.

    I(Ω, ω) = Σ_l a_l Σ_ε ρ(ε) L_K(Ω − E_K − ε) V_l(Ω − ω − (E_K − E_l) − ε) Δε, a = (2, 1) for Kα1, Kα2.
    """
    epsilon = np.arange(-20.0, 45.0 + 1e-9, 0.05)
    weight = unoccupied_density(epsilon) * 0.05
    result = np.empty(incident.shape, dtype=float)
    for index in np.ndindex(incident.shape[:-1]):
        omega_in = incident[index][:, None]
        transfer = (incident[index] - emission[index])[:, None]
        core_hole = lorentzian(omega_in - ZN_K_EDGE - epsilon[None, :], GAMMA_K)
        total = np.zeros(omega_in.shape[0])
        for line, area, lorentz_width in ((KALPHA1, 2.0, 0.6), (KALPHA2, 1.0, 0.7)):
            final = pseudo_voigt(transfer - (ZN_K_EDGE - line) - epsilon[None, :], 1.0, lorentz_width)
            total += area * np.sum(weight[None, :] * core_hole * final, axis=1)
        result[index] = total
    return result / np.nanmax(result)


# ----------------------------------------------------------------------------- scan description
@dataclass
class ChannelData:
    """What one spectrometer recorded: ω read-backs, Bragg angles, ROI counts."""

    channel: Channel
    emission: np.ndarray
    bragg: np.ndarray
    counts: np.ndarray


@dataclass
class SyntheticScan:
    """Everything a writer needs to produce one I20 scan file (NeXus and/or ASCII)."""

    number: int
    command: str
    dimensions: tuple[int, ...]
    incident: np.ndarray
    i1: np.ndarray
    time: np.ndarray
    channels: list[ChannelData]
    scanned: str                   # "incident-outer" (2D map), "emission" or "group" (1D XES)
    parameters_name: str           # before_scan XML name, e.g. "RXES_Parameters"
    start: dt.datetime
    seconds_per_point: float
    ascii_prefix: str = ""         # e.g. "ZnO_synthetic" -> ZnO_synthetic_990101_1.dat
    ring_current: float = 296.8
    extras: dict = field(default_factory=dict)

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=round(self.seconds_per_point * self.i1.size, 3))

    @property
    def nexus_name(self) -> str:
        return f"{self.number}_1.nxs"

    @property
    def ascii_name(self) -> str:
        return f"{self.ascii_prefix}_{self.number}_1.dat"

    @property
    def emission_positioner(self) -> str:
        if self.scanned == "group":
            return "XESEnergyGroup"
        return self.channels[0].channel.energy_name


def bragg_angle(energy: np.ndarray, material: str, hkl: tuple[int, int, int]) -> np.ndarray:
    """Analyser Bragg angle in degrees: θ = asin(hc / (2 d E)), d = a / √(h² + k² + l²)."""
    d_spacing = LATTICE[material] / math.sqrt(sum(i * i for i in hkl))
    return np.degrees(np.arcsin(HC_EV_ANGSTROM / (2.0 * d_spacing * energy)))


def _crystal(channel: Channel) -> tuple[str, tuple[int, int, int], float]:
    return UPPER_CRYSTAL if channel is Channel.UPPER else LOWER_CRYSTAL


def _incident_readback(rng: np.random.RandomState, demand: np.ndarray) -> np.ndarray:
    """Mono read-backs: demand ± 2.5 meV, printed to 1 meV."""
    return np.round(demand + rng.uniform(-0.0025, 0.0025, size=demand.shape), 3)


def _emission_readback(rng: np.random.RandomState, demand: np.ndarray) -> np.ndarray:
    """Spectrometer read-backs: usually the demand, sometimes 10 meV short, printed to 10 meV."""
    return np.round(demand - 0.01 * (rng.uniform(size=demand.shape) < 0.35), 2)


def _monitor(rng: np.random.RandomState, shape: tuple[int, ...], per_second: float, seconds: float,
             seconds_per_point: float) -> np.ndarray:
    """I1 (dark-subtracted counts): a slow top-up ripple (period 10 min, ±0.7 %), a 0.2 %/h decay, noise."""
    elapsed = np.arange(int(np.prod(shape)), dtype=float).reshape(shape) * seconds_per_point
    level = per_second * seconds * (1.0 + 0.007 * np.sin(2.0 * math.pi * elapsed / 600.0)) * (1.0 - 0.002 * elapsed / 3600.0)
    return np.round(level + rng.normal(0.0, 0.0004 * per_second * seconds, size=shape))


def _counts(rng: np.random.RandomState, ffi1_model: np.ndarray, i1: np.ndarray) -> np.ndarray:
    """ROI counts ~ Poisson(FFI1 × I1); the mean is rounded to 6 significant digits so the draw is stable."""
    mean = ffi1_model * i1
    mean = np.array([float(f"{value:.6g}") for value in mean.ravel()]).reshape(mean.shape)
    return rng.poisson(mean).astype(float)


def rxes_map_scan() -> SyntheticScan:
    """Kα RXES across the Zn K edge: Ω 9656.0–9663.2 (25, outer), ω 8610.0–8649.5 (80, inner), upper."""
    rng = np.random.RandomState(RXES_SCAN)
    omega_demand = 9656.0 + 0.3 * np.arange(25)
    emission_demand = 8610.0 + 0.5 * np.arange(80)
    shape = (omega_demand.size, emission_demand.size)
    incident = _incident_readback(rng, np.repeat(omega_demand[:, None], shape[1], axis=1))
    column_readback = _emission_readback(rng, emission_demand)
    emission = np.repeat(column_readback[None, :], shape[0], axis=0)
    # Now and then a row reads the other of the two usual values (demand or 10 meV short).
    other = np.where(column_readback < emission_demand - 0.005, emission_demand, np.round(emission_demand - 0.01, 2))
    emission = np.where(rng.uniform(size=shape) < 0.03, other[None, :], emission)
    i1 = _monitor(rng, shape, 607000.0, 1.0, 1.6)
    ffi1 = 0.064 * kalpha_rxes(incident, emission) + 0.00004
    counts = _counts(rng, ffi1, i1)
    material, hkl, _ = UPPER_CRYSTAL
    command = ("scan bragg1WithOffset 9656.0 9663.2 0.3 XESEnergyUpper [Range1 : 8610.00, 8649.50, 0.50] "
               "XESBraggUpper xes_2d_plotter I1 medipix1 XAS Progress Updater")
    return SyntheticScan(
        number=RXES_SCAN, command=command, dimensions=shape, incident=incident, i1=i1,
        time=np.ones(shape), scanned="incident-outer", parameters_name="RXES_Parameters",
        channels=[ChannelData(Channel.UPPER, emission, bragg_angle(emission, material, hkl), counts)],
        start=dt.datetime(2025, 10, 10, 8, 43, 21, 272000, tzinfo=BST), seconds_per_point=1.6,
        ascii_prefix=SAMPLE_NAME, ring_current=296.8062,
        extras={"mono_range": (9656.0, 9663.2, 0.3), "ranges": {Channel.UPPER: (8610.0, 8649.5, 0.5)},
                "integration_time": 1.0},
    )


def group_xes_scan() -> SyntheticScan:
    """Both spectrometers together (XESEnergyGroup) at Ω = 9900: Kα on upper, Kβ1,3 on lower, 80 points."""
    rng = np.random.RandomState(GROUP_SCAN)
    n = 80
    upper_demand = 8608.0 + 0.5 * np.arange(n)
    lower_demand = 9552.0 + 0.5 * np.arange(n)
    incident = _incident_readback(rng, np.full(n, 9900.0))
    i1 = _monitor(rng, (n,), 686000.0, 2.0, 3.7)
    channels = []
    for channel, demand, model in ((Channel.UPPER, upper_demand, lambda e: 0.043 * kalpha_emission(e)),
                                   (Channel.LOWER, lower_demand, lambda e: 0.0079 * kbeta_emission(e))):
        emission = _emission_readback(rng, demand)
        material, hkl, _ = _crystal(channel)
        channels.append(ChannelData(channel, emission, bragg_angle(emission, material, hkl),
                                    _counts(rng, model(emission) + 0.0002, i1)))
    command = ("scan XESEnergyGroup [Range1 : 8608.00, 8647.50, 0.50, Range2 : 9552.00, 9591.50, 0.50] "
               "bragg1WithOffset 9900.0 XESBraggGroup I1 medipix1 medipix2 XAS Progress Updater")
    return SyntheticScan(
        number=GROUP_SCAN, command=command, dimensions=(n,), incident=incident, i1=i1, time=np.full(n, 2.0),
        channels=channels, scanned="group", parameters_name="XES_Parameters",
        start=dt.datetime(2025, 10, 10, 10, 10, 31, 889000, tzinfo=BST), seconds_per_point=3.7,
        ring_current=297.9619,
        extras={"ranges": {Channel.UPPER: (8608.0, 8647.5, 0.5), Channel.LOWER: (9552.0, 9591.5, 0.5)},
                "integration_time": 2.0},
    )


def lower_xes_scan(number: int, start: dt.datetime, first: float, last: float, seconds: float,
                   parameters_name: str) -> SyntheticScan:
    """A 1D Kβ scan on the lower spectrometer at Ω = 9900, step 0.3 eV, FFI1 from :func:`kbeta_emission`."""
    rng = np.random.RandomState(number)
    demand = first + 0.3 * np.arange(int(round((last - first) / 0.3)) + 1)
    n = demand.size
    incident = _incident_readback(rng, np.full(n, 9900.0))
    i1 = _monitor(rng, (n,), 672000.0, seconds, seconds + 1.4)
    emission = _emission_readback(rng, demand)
    material, hkl, _ = LOWER_CRYSTAL
    counts = _counts(rng, 0.14 * kbeta_emission(emission) + 0.0001, i1)
    command = (f"scan XESEnergyLower [Range1 : {first:.2f}, {last:.2f}, 0.30] bragg1WithOffset 9900.0 "
               "XESBraggLower I1 medipix2 XAS Progress Updater")
    return SyntheticScan(
        number=number, command=command, dimensions=(n,), incident=incident, i1=i1, time=np.full(n, seconds),
        channels=[ChannelData(Channel.LOWER, emission, bragg_angle(emission, material, hkl), counts)],
        scanned="emission", parameters_name=parameters_name, start=start, seconds_per_point=seconds + 1.4,
        ascii_prefix=SAMPLE_NAME, ring_current=296.8183,
        extras={"ranges": {Channel.LOWER: (first, last, 0.3)}, "integration_time": seconds},
    )


def all_scans() -> list[SyntheticScan]:
    """The sample scans, in the order they are described in data_samples/README.md."""
    scans = [rxes_map_scan(), group_xes_scan(),
             lower_xes_scan(KB13_SCAN, dt.datetime(2025, 10, 13, 2, 11, 40, 869000, tzinfo=BST),
                            9558.0, 9619.8, 1.0, "XES_ParametersKb")]
    for repeat, number in enumerate(VTC_SCANS):
        start = dt.datetime(2025, 10, 13, 4, 21, 54, 977000, tzinfo=BST) + dt.timedelta(minutes=20 * repeat)
        scans.append(lower_xes_scan(number, start, 9620.0, 9680.0, 4.0, "XES_Parameters1"))
    return scans


# ----------------------------------------------------------------------------- NeXus writer
def _bytes_attr(value: str) -> np.bytes_:
    """Fixed-length ASCII attribute, as GDA writes NX_class, axis, label, local_name, target."""
    return np.bytes_(value.encode("ascii"))


def _vlen_string(group, name: str, value: str) -> None:
    import h5py

    group.create_dataset(name, data=value, dtype=h5py.string_dtype("utf-8"))


def _fixed_strings(group, name: str, value: str, attrs: dict[str, str] | None = None) -> None:
    """A (1,) |S1024 dataset: GDA's before_scan strings, cut at 1023 characters."""
    data = np.array([value[:1023].encode("ascii")], dtype="S1024")
    dataset = group.create_dataset(name, data=data)
    for key, text in (attrs or {}).items():
        dataset.attrs[key] = _bytes_attr(text)


def _nx_group(parent, name: str, nx_class: str):
    group = parent.create_group(name)
    group.attrs["NX_class"] = _bytes_attr(nx_class)
    return group


def _scan_array(group, name: str, data: np.ndarray, attrs: dict[str, str]):
    """A scan dataset as GDA writes it: float64, one chunk, unlimited dimensions."""
    dataset = group.create_dataset(name, data=np.asarray(data, dtype=float), chunks=data.shape,
                                   maxshape=(None,) * data.ndim)
    for key in ("axis", "label", "local_name", "primary", "target"):
        if key in attrs:
            dataset.attrs[key] = _bytes_attr(attrs[key])
    return dataset


def _before_scan_scalar(group, name: str, value: float, local_name: str, units: str) -> None:
    dataset = group.create_dataset(name, data=np.array([value], dtype=float))
    dataset.attrs["axis"] = _bytes_attr("1")
    dataset.attrs["local_name"] = _bytes_attr(local_name)
    dataset.attrs["units"] = _bytes_attr(units)


def _xml(root: str, body: list[tuple[int, str]]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{root}>"]
    lines += ["    " * depth + text for depth, text in body]
    lines.append(f"</{root}>")
    return "\n".join(lines) + "\n"


def _sample_parameters() -> str:
    body = [(1, "<shouldValidate>true</shouldValidate>"), (1, f"<name>{SAMPLE_NAME}</name>"),
            (1, "<description>synthetic sample written by xestools.samples</description>"),
            (1, "<sampleWheelPosition>Empty</sampleWheelPosition>"), (1, "<useSampleWheel>false</useSampleWheel>")]
    for axis, description in (("x", "X"), ("y", "Y"), ("z", "Z"), ("rot", "Rot"), ("roll", "Roll"), ("pitch", "Pitch")):
        body += [(1, "<sampleParameterMotorPosition>"), (2, f"<scannableName>sample_{axis}</scannableName>"),
                 (2, f"<description>Sample {description}</description>"), (2, "<doMove>false</doMove>"),
                 (2, "<demandPosition>0.0</demandPosition>"), (1, "</sampleParameterMotorPosition>")]
    return _xml("I20SampleParameters", body)


def _scan_parameters(scan: SyntheticScan) -> str:
    is_map = scan.scanned == "incident-outer"
    mono_first, mono_last, mono_step = scan.extras.get("mono_range", (2000.0, 15000.0, 0.01))
    body = [(1, "<shouldValidate>true</shouldValidate>"), (1, f"<scanType>{4 if is_map else 1}</scanType>"),
            (1, f"<scanColourType>{1 if is_map else (3 if scan.scanned == 'group' else 2)}</scanColourType>"),
            (1, "<scanEnergyTransfer>false</scanEnergyTransfer>"), (1, "<element>Zn</element>"),
            (1, "<edge>K</edge>"), (1, "<monoEnergy>9900.0</monoEnergy>"),
            (1, "<loopChoice>E0 outer, Ef inner</loopChoice>"), (1, f"<monoInitialEnergy>{mono_first}</monoInitialEnergy>"),
            (1, f"<monoFinalEnergy>{mono_last}</monoFinalEnergy>"), (1, f"<monoStepSize>{mono_step}</monoStepSize>"),
            (1, "<scanFileName></scanFileName>")]
    body += [(1, f"<additionalCrystal{i}>{'true' if i in (1, 2) else 'false'}</additionalCrystal{i}>") for i in range(4)]
    for channel, (first, last, step) in scan.extras["ranges"].items():
        body += [(1, "<spectrometerScanParameters>"), (2, f"<scannableName>{channel.energy_name}</scannableName>"),
                 (2, f"<initialEnergy>{first}</initialEnergy>"), (2, f"<finalEnergy>{last}</finalEnergy>"),
                 (2, f"<stepSize>{step}</stepSize>"),
                 (2, f"<integrationTime>{scan.extras['integration_time']}</integrationTime>"),
                 (2, "<fixedEnergy>2000.0</fixedEnergy>"), (1, "</spectrometerScanParameters>")]
    return _xml("XesScanParameters", body)


def _detector_parameters(scan: SyntheticScan) -> str:
    used = {data.channel.detector for data in scan.channels}
    body = [(1, "<shouldValidate>true</shouldValidate>"), (1, "<detectorConfiguration>"),
            (2, "<description>Ionchambers (I1)</description>"), (2, "<detectorName>I1</detectorName>"),
            (2, "<alwaysUseDetectorInScan>true</alwaysUseDetectorInScan>"), (2, "<configFileName></configFileName>"),
            (2, "<scriptCommand></scriptCommand>"), (2, "<useDetectorInScan>true</useDetectorInScan>"),
            (2, "<useConfigFile>false</useConfigFile>"), (1, "</detectorConfiguration>")]
    for number in (1, 2):
        name = f"medipix{number}"
        body += [(1, "<detectorConfiguration>"), (2, f"<description>Medipix{number}</description>"),
                 (2, f"<detectorName>{name}</detectorName>"),
                 (2, f"<configFileName>Medipix{number}_Parameters.xml</configFileName>"),
                 (2, f"<useDetectorInScan>{'true' if name in used else 'false'}</useDetectorInScan>"),
                 (2, "<useScriptCommand>false</useScriptCommand>"), (2, "<useConfigFile>true</useConfigFile>"),
                 (1, "</detectorConfiguration>")]
    return _xml("DetectorParameters", body)


def _output_parameters() -> str:
    body = [(1, "<shouldValidate>true</shouldValidate>"), (1, "<asciiFileName>I20</asciiFileName>"),
            (1, "<asciiDirectory>ascii</asciiDirectory>"), (1, "<nexusDirectory>nexus</nexusDirectory>"),
            (1, "<extraData>false</extraData>"), (1, "<signalActive>true</signalActive>"),
            (1, "<metadataActive>false</metadataActive>")]
    return _xml("I20OutputParameters", body)


#: Medipix regions of interest: detector -> (x start, y start, x size, y size).
ROI = {"medipix1": (446, 99, 128, 50), "medipix2": (449, 98, 126, 59)}


def _medipix_configuration(detector: str) -> str:
    x0, y0, width, height = ROI[detector]
    body = [(1, f"<detectorName>{detector}</detectorName>"), (1, "<roiRegion>"), (2, "<roiName>ROI</roiName>"),
            (2, "<xRoi>"), (3, "<roiName>xRoi</roiName>"), (3, f"<roiStart>{x0}</roiStart>"),
            (3, f"<roiEnd>{x0 + width}</roiEnd>"), (2, "</xRoi>"), (2, "<yRoi>"), (3, "<roiName>yRoi</roiName>"),
            (3, f"<roiStart>{y0}</roiStart>"), (3, f"<roiEnd>{y0 + height}</roiEnd>"), (2, "</yRoi>"),
            (1, "</roiRegion>")]
    return _xml("MedipixParameters", body)


def _detector_parameters_name(scan: SyntheticScan) -> str:
    if len(scan.channels) > 1:
        return "XESDetector_Parameters"
    return f"XESDetector_Parameters_{scan.channels[0].channel.value}"


def _write_before_scan(entry, scan: SyntheticScan) -> None:
    before = _nx_group(entry, "before_scan", "NXinstrument")
    mono = _nx_group(before, "Monochromator", "NXmonochromator")
    _fixed_strings(mono, "crystalcut", MONO_CRYSTAL, {"local_name": "crystalcut.crystalcut"})
    sample = _nx_group(before, "Sample", "NXsample")
    for axis, value, units in (("x", 1.5, "mm"), ("y", 31.5, "mm"), ("z", 0.0, "mm"), ("rot", 0.0, "deg")):
        _before_scan_scalar(sample, f"sample_{axis}", value, f"sample_{axis}.sample_{axis}", units)
    source = _nx_group(before, "source", "NXsource")
    _before_scan_scalar(source, "current", scan.ring_current - 0.17, "ringCurrent.ringCurrent", "mA")
    _before_scan_scalar(source, "energy", 3.0009, "ringEnergy.ringEnergy", "GeV")
    spectrometer = _nx_group(before, "XesSpectrometer", "NXsample")
    _fixed_strings(spectrometer, "XesLowerCystalsAllowedToMove", "true", {"local_name": "lower_crystalsAllowedToMove.value"})
    _fixed_strings(spectrometer, "XesUpperCystalsAllowedToMove", "true", {"local_name": "upper_crystalsAllowedToMove.value"})
    checker = _nx_group(before, "ionchamberChecker", "NXinstrument")
    _fixed_strings(checker, "status", f"Data seems to be ok (check run at {scan.start:%H:%M:%S} on {scan.start:%d-%m-%Y})",
                   {"local_name": "ionchamberChecker.status"})
    _fixed_strings(before, "Output_Parameters", _output_parameters())
    _fixed_strings(before, scan.parameters_name, _scan_parameters(scan))
    _fixed_strings(before, "Sample_Parameters", _sample_parameters())
    _fixed_strings(before, _detector_parameters_name(scan), _detector_parameters(scan))
    for data in scan.channels:
        _fixed_strings(before, f"{data.channel.detector} configuration", _medipix_configuration(data.channel.detector))
    before.create_dataset("current_repetition", data=np.array([1], dtype=np.int32))
    before.create_dataset("total_num_repetitions", data=np.array([1], dtype=np.int32))
    _fixed_strings(before, "files_in_repetition_scan", "")


def _axis_attributes(scan: SyntheticScan, role: str, channel: Channel | None) -> dict[str, str]:
    """``axis``/``label``/``primary`` as GDA writes them: label 1 = outer scan dimension, 2 = inner."""
    if scan.scanned == "incident-outer":
        attrs = {"axis": "1,2"}
        if role == "incident":
            attrs.update(label="1", primary="1")
        elif role == "emission":
            attrs.update(label="2", primary="1")
        return attrs
    attrs = {"axis": "1"}
    if role == "emission" and (scan.scanned == "emission" or channel is Channel.UPPER):
        attrs.update(label="1", primary="1")
    return attrs


def _timestamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+01"


def write_nexus(scan: SyntheticScan, path: Path) -> None:
    """Write ``scan`` as an I20 GDA NeXus file (atomically)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=False) as handle:
        entry = _nx_group(handle, "entry1", "NXentry")
        instrument = _nx_group(entry, "instrument", "NXinstrument")
        i1_group = _nx_group(instrument, "I1", "NXdetector")
        linked: dict[str, object] = {}
        for name, data in (("I1", scan.i1), ("Time", scan.time)):
            linked[name] = _scan_array(i1_group, name, data, {"local_name": f"I1.{name}", "target": f"/entry1/instrument/I1/{name}"})
        _vlen_string(i1_group, "description", "Tfg Scaler")
        _vlen_string(i1_group, "id", "unknown")
        _vlen_string(i1_group, "type", "Scaler")

        positioners: dict[str, object] = {}
        mono = _nx_group(instrument, "bragg1WithOffset", "NXpositioner")
        positioners["bragg1WithOffset"] = _scan_array(
            mono, "bragg1WithOffset", scan.incident,
            {**_axis_attributes(scan, "incident", None), "local_name": "bragg1WithOffset.bragg1WithOffset",
             "target": "/entry1/instrument/bragg1WithOffset/bragg1WithOffset"})
        for data in scan.channels:
            suffix = data.channel.value.capitalize()
            for kind, values, role in (("Energy", data.emission, "emission"), ("Bragg", data.bragg, "bragg")):
                name = f"XES{kind}{suffix}"
                holder_name = f"XES{kind}Group" if scan.scanned == "group" else name
                holder = instrument[holder_name] if holder_name in instrument else _nx_group(instrument, holder_name, "NXpositioner")
                positioners[name] = _scan_array(
                    holder, name, values,
                    {**_axis_attributes(scan, role, data.channel), "local_name": f"{holder_name}.{name}",
                     "target": f"/entry1/instrument/{holder_name}/{name}"})

        for data in scan.channels:
            detector = data.channel.detector
            group = _nx_group(instrument, detector, "NXdetector")
            ffi1 = data.counts / scan.i1
            _scan_array(group, f"FFI1_{detector}", ffi1, {"local_name": f"{detector}.FFI1_{detector}"})
            _scan_array(group, f"{detector}_roi_total", data.counts, {"local_name": f"{detector}.{detector}_roi_total"})
            group["data"] = h5py.ExternalLink(f"{detector}-{scan.number}.hdf", "/entry/instrument/detector/data")
            _vlen_string(group, "local_name", detector)
        _vlen_string(instrument, "name", "i20")
        source = _nx_group(instrument, "source", "NXsource")
        source.create_dataset("current", data=float(scan.ring_current)).attrs["units"] = _bytes_attr("mA")
        source.create_dataset("energy", data=3.0009).attrs["units"] = _bytes_attr("GeV")
        _vlen_string(source, "name", "DLS")
        _vlen_string(source, "probe", "x-ray")
        _vlen_string(source, "type", "Synchrotron X-ray Source")

        monitor_data = _nx_group(entry, "I1", "NXdata")
        for name, dataset in {**linked, **positioners}.items():
            monitor_data[name] = dataset
        for data in scan.channels:
            detector_data = _nx_group(entry, data.channel.detector, "NXdata")
            for name, dataset in positioners.items():
                detector_data[name] = dataset
            detector_data["data"] = h5py.ExternalLink(f"{data.channel.detector}-{scan.number}.hdf",
                                                      "/entry/instrument/detector/data")

        _write_before_scan(entry, scan)
        entry.create_dataset("end_time", data=np.bytes_(_timestamp(scan.end).encode("ascii")), dtype="S1024")
        _vlen_string(entry, "entry_identifier", str(scan.number))
        _vlen_string(entry, "experiment_identifier", EXPERIMENT_ID)
        _vlen_string(entry, "program_name", PROGRAM_NAME)
        _vlen_string(entry, "scan_command", scan.command)
        entry.create_dataset("scan_dimensions", data=np.array(scan.dimensions, dtype=np.int32))
        _vlen_string(entry, "scan_identifier", str(uuid.uuid5(uuid.NAMESPACE_URL, f"xestools-sample-{scan.number}")))
        _vlen_string(entry, "start_time", _timestamp(scan.start))
        _vlen_string(entry, "title", scan.command)
        user = _nx_group(entry, "user01", "NXuser")
        _vlen_string(user, "username", USER_NAME)


# ----------------------------------------------------------------------------- ASCII writer
ASCII_FORMATS = {"Energy": "{:.4f}", "XESEnergy": "{:.4f}", "XESBragg": "{:.4f}", "I1": "{:.2f}",
                 "FF": "{:.6f}", "FFI1": "{:.6f}", "Time": "{:.4f}"}


def _ascii_date(moment: dt.datetime) -> str:
    return f"{moment:%a}, {moment.day} {moment:%b %Y %H:%M:%S} BST"


def _ascii_cell(text: str) -> str:
    return text.ljust(16) + "\t"


def ascii_text(scan: SyntheticScan) -> str:
    """The I20 ASCII (.dat) rendering of a single-channel scan: header, column line, rows, footer."""
    if len(scan.channels) != 1:
        raise ValueError("the I20 ASCII writer here handles single-channel scans only")
    data = scan.channels[0]
    footer = [f"# Instrument: I20-XAS Date: {_ascii_date(scan.end)}",
              f"# Final ring current: {scan.ring_current + 0.33:.5f}"]
    return "\n".join(_ascii_header(scan, data) + _ascii_table(scan, data) + footer) + "\n"


def _ascii_header(scan: SyntheticScan, data) -> list[str]:
    """The ``#`` lines before the column line, as GDA writes them on I20."""
    detector = data.channel.detector
    material_upper, hkl_upper, radius_upper = UPPER_CRYSTAL
    material_lower, hkl_lower, radius_lower = LOWER_CRYSTAL
    upper_now = data.emission.flat[0] if data.channel is Channel.UPPER else 8639.30
    lower_now = data.emission.flat[0] if data.channel is Channel.LOWER else 9571.70
    written = scan.start + dt.timedelta(seconds=84)
    folder = "XES_synthetic"
    x0, y0, width, height = ROI[detector]
    is_map = scan.scanned == "incident-outer"
    lines = [
        "# DIAMOND LIGHT SOURCE",
        f"# Instrument: I20-XAS Date: {_ascii_date(written)}",
        "# Ring energy: 3.00088 GeV",
        f"# Initial ring current: {scan.ring_current - 0.3:.5f} mA",
        "# Filling mode: Standby",
        "# Wiggler gap selected: 19.99900 mm",
        "#  ",
        "# Primary slits:  vertical gap= 0.11000 mrad; horizontal gap= 0.69983 mrad; vertical offset= 0.02496 mrad; horizontal offset= -0.02915 mrad",
        "# Secondary slits:  vertical gap= 7.19850 mm; horizontal gap= 24.69800 mm; vertical offset= 1.29930 mm; horizontal offset= 0.00100 mm",
        "# Experimental slits:  vertical gap= 1.50006 mm; horizontal gap= 4.99995 mm; vertical offset= 2.19365 mm; horizontal offset= -2.10002 mm",
        "#  ",
        "# Optic Hutch Mirrors Coating: Rhodium",
        f"# Monochromator crystal cut: {MONO_CRYSTAL}",
        f"# Monochromator energy : {scan.incident.flat[0]:.4f} eV",
        "# Incident angle for Harmonic Rejection Mirrors: -7.86 mrad",
        "# Harmonic rejection mirrors coating: Rhodium",
        "# I0 Stanford sensitivity: 5 uA/V Offsets: 50 nA",
        "# It Stanford sensitivity: 100 nA/V Offsets: 1 nA",
        "# Iref Stanford sensitivity: 50 pA/V Offsets: 50 pA",
        "# I1 Stanford sensitivity: 1 uA/V Offsets: 5 nA",
        "#  ",
        "#  ",
        "# Atn5 (Xia) filters: Al 0.2 mm In Al 0.5 mm Out Al 1.0 mm Out Al 3.0 mm Out C 0.5 mm Out C 1.0 mm In C 2.0 mm Out C 4.0 mm Out",
        "# XAS Sample stage: x: 1.50 mm y: 31.50 mm z: 0.00 mm rot: 0.00 deg",
        "# XES Sample stage: x: 0.00 mm y: -25.00 mm z: -4.00 mm rot: 45.00 deg",
        f"# XES energy (upper, lower): {upper_now:.2f} eV , {lower_now:.2f} eV",
        "# XES analysers to move (lower) : M3: true, M2: true, M1: true, C: true, P1: true, P2: true, P3: true",
        "# XES analysers to move (upper) : M3: true, M2: true, M1: true, C: true, P1: true, P2: true, P3: true",
        f"# XES upper spectrometer : crystal material {material_upper}, crystal cut: ({' '.join(map(str, hkl_upper))}), Rowland circle radius: {radius_upper:.1f} mm",
        f"# XES lower spectrometer : crystal material {material_lower}, crystal cut: ({' '.join(map(str, hkl_lower))}), Rowland circle radius: {radius_lower:.1f} mm",
        "# Fluo detector x position : 250.0000 mm",
        f"# Ion chamber status : Data seems to be ok (check run at {scan.start - dt.timedelta(seconds=11):%H:%M:%S} on {scan.start:%d-%m-%Y})",
        f"# {detector} ROI : ROI : start = ({x0}, {y0}), size = ({width}, {height})",
        "#",
        f"# Ascii output file name: '{folder}/ascii/{scan.ascii_name}'",
        f"# Nexus output file: '/dls/i20/data/2025/{EXPERIMENT_ID}/{folder}/nexus/{scan.nexus_name}'",
        "# XML folder and files:",
        f"# /dls/i20/data/2025/{EXPERIMENT_ID}/xml/{folder}/",
        f"# {scan.parameters_name}",
        f"# {_detector_parameters_name(scan)}",
        "# Sample_Parameters",
        "# Output_Parameters",
        "# The contents of these files are also stored in the nexus file.",
        "#",
        f"# Sample name: {SAMPLE_NAME}",
    ]
    if is_map:
        lines += ["# Sample description: synthetic sample written by xestools.samples", f"# command: {scan.command}"]
    else:
        lines += [f"# Sample description: # command: {scan.command}"]
    seconds = scan.extras["integration_time"]
    lines += ["#", "#", "#",
              f"# Dark current intensity (Hz), collected over {seconds:.2f}s: I1 512.25",
              "# Dark current has been automatically removed from counts in main scan (I1)",
              "#"]
    return lines


def _ascii_table(scan: SyntheticScan, data) -> list[str]:
    """The column line and one line per point."""
    detector = data.channel.detector
    suffix = data.channel.value.capitalize()
    columns = [("Energy", scan.incident, "Energy"), (f"XESEnergy{suffix}", data.emission, "XESEnergy"),
               (f"XESBragg{suffix}", data.bragg, "XESBragg"), ("I1", scan.i1, "I1"),
               (f"FF_{detector}", data.counts, "FF"), (f"FFI1_{detector}", data.counts / scan.i1, "FFI1"),
               ("Time", scan.time, "Time")]
    header = "# " + "".join(_ascii_cell(name) for name, _, _ in columns)
    rows = []
    flat = [(values.ravel(), ASCII_FORMATS[kind]) for _, values, kind in columns]
    for index in range(scan.i1.size):
        rows.append("".join(_ascii_cell(fmt.format(values[index])) for values, fmt in flat))
    return [header] + rows


def write_ascii(scan: SyntheticScan, path: Path) -> None:
    atomic_write(path, ascii_text(scan))


# ----------------------------------------------------------------------------- README and entry point
def readme_text(scans: list[SyntheticScan]) -> str:
    rxes, group, wide, *vtc = scans
    vtc_names = ", ".join(f"`{scan.nexus_name}`" for scan in vtc)
    return f"""# Sample data (synthetic)

Written by `xestools samples` — do not edit by hand; regenerate instead. The files imitate the
I20 GDA 9.38 NeXus and ASCII formats (same groups, attributes, external detector links, header lines),
with synthetic Zn line shapes, Poisson noise on the ROI counts (fixed seeds), a drifting I1 monitor and
jittered energy read-backs. Sample name `{SAMPLE_NAME}`, experiment `{EXPERIMENT_ID}`.

| file | what it is | shape | Ω (eV) | ω (eV) | channel(s) |
|---|---|---|---|---|---|
| `{rxes.nexus_name}` | RXES map, Kα across the Zn K edge, Ω outer / ω inner | {rxes.dimensions[0]} × {rxes.dimensions[1]} | 9656.0–9663.2, step 0.3 | 8610.0–8649.5, step 0.5 | upper |
| `{rxes.ascii_name}` | the same map as I20 ASCII | {rxes.i1.size} rows | same | same | upper |
| `{group.nexus_name}` | XES with both spectrometers (`XESEnergyGroup`), Kα + Kβ1,3 | {group.dimensions[0]} | fixed 9900 | upper 8608.0–8647.5, lower 9552.0–9591.5, step 0.5 | upper + lower |
| `{wide.nexus_name}`, `{wide.ascii_name}` | wide Kβ1,3 scan (the normalisation reference) | {wide.dimensions[0]} | fixed 9900 | 9558.0–9619.8, step 0.3 | lower |
| {vtc_names} | three repeats of the valence-to-core (Kβ'', Kβ2,5) region, for averaging | {vtc[0].dimensions[0]} | fixed 9900 | 9620.0–9680.0, step 0.3 | lower |

Line energies: Kα1 {KALPHA1}, Kα2 {KALPHA2} (area 2:1), Kβ1,3 {KBETA13}, Kβ'' {KBETA_DOUBLE_PRIME},
Kβ2,5 {KBETA25}; Zn K edge {ZN_K_EDGE}. The `medipixN/data` links point to `medipixN-<scan>.hdf`, which
does not exist (as away from the beamline).

XES workflow on these files: average the three VtC repeats, then normalise the average by the area of
the Kβ1,3 scan over 9560–9590 eV, e.g.
`xestools average {' '.join(s.nexus_name for s in vtc)} -o vtc_avg.csv` and
`xestools normalise vtc_avg.csv --window 9560 9590 --reference {wide.nexus_name} -o vtc_norm.csv`.
"""


def generate(out_dir: str | Path) -> list[Path]:
    """Write every sample file into ``out_dir`` (created if needed); return the paths written."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    scans = all_scans()
    written: list[Path] = []
    for scan in scans:
        path = folder / scan.nexus_name
        write_nexus(scan, path)
        written.append(path)
        if scan.ascii_prefix and len(scan.channels) == 1 and scan.number in (RXES_SCAN, KB13_SCAN):
            path = folder / scan.ascii_name
            write_ascii(scan, path)
            written.append(path)
    readme = folder / "README.md"
    atomic_write(readme, readme_text(scans))
    written.append(readme)
    log.info("wrote %d sample files to %s", len(written), folder)
    return written


def default_folder() -> Path:
    """The per-user data folder for the samples (e.g. ``~/.local/share/xestools/samples`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("xestools", appauthor=False)) / "samples"


def sample_names() -> list[str]:
    """Names of the files :func:`generate` writes (scans first, README last), without generating."""
    names = []
    for number in (RXES_SCAN, GROUP_SCAN, KB13_SCAN, *VTC_SCANS):
        names.append(f"{number}_1.nxs")
        if number in (RXES_SCAN, KB13_SCAN):
            names.append(f"{SAMPLE_NAME}_{number}_1.dat")
    return names + ["README.md"]


def _complete(folder: Path) -> bool:
    stamp = folder / STAMP_NAME
    try:
        current = stamp.read_text(encoding="utf-8").strip() == str(GENERATOR_VERSION)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return current and all((folder / name).is_file() for name in sample_names())


def sample_folder(folder: str | Path | None = None) -> Path:
    """The folder holding the sample scans, written there first if missing, incomplete or outdated.

    Default: :func:`default_folder`. Safe when two processes call it at once (every file is written
    atomically with identical content). Raises ``OSError`` when the folder cannot be written.
    """
    target = Path(folder) if folder is not None else default_folder()
    if not _complete(target):
        generate(target)
        atomic_write(target / STAMP_NAME, f"{GENERATOR_VERSION}\n")
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m xestools.samples [--out DIR]``: the same as ``xestools samples``."""
    parser = argparse.ArgumentParser(prog="python -m xestools.samples",
                                     description="Write the synthetic I20 sample scans and list them.")
    parser.add_argument("--out", metavar="DIR", help=f"output folder (default: {default_folder()})")
    args = parser.parse_args(argv)
    folder = args.out or default_folder()
    try:
        paths = generate(folder) if args.out else [sample_folder() / name for name in sample_names()]
    except OSError as exc:
        print(f"xestools.samples: cannot write to {folder}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
