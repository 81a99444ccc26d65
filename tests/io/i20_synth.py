"""Small I20-like scan files written by the tests (and bench/load.py): NeXus and ASCII with the
same groups, attributes, external links, header lines and column layout as the real GDA files.

The truth is kept on the ``[i_Ω, i_ω]`` grid so tests can compare a reader's output with an
independent expectation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHANNELS = {"upper": ("medipix1", "XESEnergyUpper", "XESBraggUpper"),
            "lower": ("medipix2", "XESEnergyLower", "XESBraggLower")}


@dataclass
class SynthScan:
    """A scan in scan order (flat arrays) plus its truth on the [i_Ω, i_ω] grid."""

    kind: str                       # "rxes", "xes" or "xanes"
    dims: tuple                     # scan_dimensions (outer, inner) or (n,)
    command: str
    incident: np.ndarray            # flat, scan order
    emission: dict                  # channel -> flat
    roi: dict                       # channel -> flat counts
    i1: np.ndarray
    time: np.ndarray
    emission_outer: bool = False
    snake: bool = False
    omega_axis: np.ndarray = field(default_factory=lambda: np.empty(0))
    emission_axes: dict = field(default_factory=dict)
    grid_index: tuple = ()          # (i_Ω, i_ω) of each flat point
    sample: str = "synthetic_sample"
    scan_number: int = 123456


def make_rxes(n_omega=6, n_emission=9, *, emission_outer=False, snake=False, seed=0, jitter=0.003,
              omega0=9658.0, omega_step=0.3, emission0=8628.0, emission_step=0.3, channels=("upper",)) -> SynthScan:
    """An RXES scan; with two channels the spectrometers move together (XESEnergyGroup), the lower
    one 936 eV higher with the same step."""
    rng = np.random.default_rng(seed)
    omega_axis = omega0 + omega_step * np.arange(n_omega)
    offsets = {"upper": 0.0, "lower": 936.0}
    emission_axes = {c: emission0 + offsets[c] + emission_step * np.arange(n_emission) for c in channels}
    n_outer, n_inner = (n_emission, n_omega) if emission_outer else (n_omega, n_emission)
    outer = np.repeat(np.arange(n_outer), n_inner)
    inner = np.tile(np.arange(n_inner), n_outer)
    if snake:
        inner = np.where(outer % 2 == 1, n_inner - 1 - inner, inner)
    i_omega, i_emission = (inner, outer) if emission_outer else (outer, inner)
    incident = omega_axis[i_omega] + rng.uniform(-jitter, jitter, i_omega.size)
    emission, roi = {}, {}
    for channel in channels:
        emission[channel] = emission_axes[channel][i_emission] + rng.uniform(-jitter, jitter, i_omega.size)
        centre = emission_axes[channel][n_emission // 2]
        roi[channel] = rng.poisson(200 + 800 * np.exp(-((emission[channel] - centre) / 2.0) ** 2)
                                   * (1 + 0.1 * i_omega)).astype(float)
    i1 = rng.uniform(5.9e5, 6.1e5, i_omega.size).round()
    if len(channels) == 2:
        ranges = ", ".join(f"Range{k + 1} : {emission_axes[c][0]:.2f}, {emission_axes[c][-1]:.2f}, {emission_step:.2f}"
                           for k, c in enumerate(channels))
        emission_motor = f"XESEnergyGroup [{ranges}]"
        bragg = "XESBraggGroup"
    else:
        axis = emission_axes[channels[0]]
        emission_motor = (f"{CHANNELS[channels[0]][1]} [Range1 : {axis[0]:.2f}, {axis[-1]:.2f}, {emission_step:.2f}]")
        bragg = CHANNELS[channels[0]][2]
    incident_motor = f"bragg1WithOffset {omega_axis[0]:.1f} {omega_axis[-1] + omega_step / 3:.1f} {omega_step:.1f}"
    motors = f"{emission_motor} {incident_motor}" if emission_outer else f"{incident_motor} {emission_motor}"
    detectors = " ".join(CHANNELS[c][0] for c in channels)
    command = f"scan {motors} {bragg} xes_2d_plotter I1 {detectors} XAS Progress Updater"
    return SynthScan("rxes", (n_outer, n_inner), command, incident, emission, roi, i1,
                     np.ones(i1.size), emission_outer, snake, omega_axis, emission_axes, (i_omega, i_emission))


def make_xes(n=40, *, channels=("lower",), seed=1, omega=9900.0) -> SynthScan:
    rng = np.random.default_rng(seed)
    starts = {"upper": (8634.0, 0.2), "lower": (9564.0, 0.3)}
    emission, roi, axes = {}, {}, {}
    for channel in channels:
        start, step = starts[channel]
        axes[channel] = start + step * np.arange(n)
        emission[channel] = axes[channel] + rng.uniform(-0.005, 0.005, n)
        roi[channel] = rng.poisson(1000 + 3000 * np.exp(-((axes[channel] - axes[channel][n // 2]) / 2) ** 2)).astype(float)
    i1 = rng.uniform(6.7e5, 6.8e5, n).round()
    incident = omega + rng.uniform(-0.002, 0.002, n)
    if len(channels) == 2:
        motor = (f"XESEnergyGroup [Range1 : {axes['upper'][0]:.2f}, {axes['upper'][-1]:.2f}, 0.20, "
                 f"Range2 : {axes['lower'][0]:.2f}, {axes['lower'][-1]:.2f}, 0.30] bragg1WithOffset {omega:.1f} XESBraggGroup")
    else:
        channel = channels[0]
        step = starts[channel][1]
        motor = (f"{CHANNELS[channel][1]} [Range1 : {axes[channel][0]:.2f}, {axes[channel][-1]:.2f}, {step:.2f}] "
                 f"bragg1WithOffset {omega:.1f} {CHANNELS[channel][2]}")
    detectors = " ".join(CHANNELS[c][0] for c in channels)
    return SynthScan("xes", (n,), f"scan {motor} I1 {detectors} XAS Progress Updater", incident, emission, roi, i1,
                     np.ones(n), emission_axes=axes)


def make_xanes(n=30, seed=2) -> SynthScan:
    rng = np.random.default_rng(seed)
    incident = 9650.0 + 0.5 * np.arange(n) + rng.uniform(-0.002, 0.002, n)
    emission = np.full(n, 8638.0) + rng.uniform(-0.003, 0.003, n)
    roi = rng.poisson(500, n).astype(float)
    i1 = rng.uniform(6e5, 6.1e5, n).round()
    command = (f"scan bragg1WithOffset 9650.0 {9650 + 0.5 * (n - 1):.1f} 0.5 XESEnergyUpper 8638.0 XESBraggUpper "
               "I1 medipix1 XAS Progress Updater")
    return SynthScan("xanes", (n,), command, incident, {"upper": emission}, {"upper": roi}, i1, np.ones(n))


def write_nexus(path, scan: SynthScan, *, measured: int | None = None, short_datasets: bool = False,
                with_ffi1: bool = True, with_labels: bool = True, fill: float = 0.0) -> None:
    """An I20-like NeXus file. ``measured`` < all points writes an aborted scan: datasets keep the
    full shape with the unmeasured points at the HDF5 fill value 0, or (``short_datasets``) only
    the rows begun are stored."""
    import h5py

    total = scan.i1.size
    measured = total if measured is None else measured
    dims = tuple(scan.dims)
    if short_datasets and len(dims) == 2:
        rows = -(-measured // dims[1])
        shape = (rows, dims[1])
    elif short_datasets:
        shape = (measured,)
    else:
        shape = dims

    def shaped(flat):
        out = np.full(int(np.prod(shape)), fill)
        out[:measured] = flat[:measured]
        return out.reshape(shape)

    emission_names = {c: CHANNELS[c][1] for c in scan.emission}
    with h5py.File(path, "w") as handle:
        entry = handle.create_group("entry1")
        entry.attrs["NX_class"] = "NXentry"
        entry.create_dataset("scan_dimensions", data=np.array(dims, dtype=np.int32))
        entry.create_dataset("scan_command", data=scan.command.encode())
        entry.create_dataset("title", data=scan.command.encode())
        entry.create_dataset("entry_identifier", data=str(scan.scan_number).encode())
        entry.create_dataset("experiment_identifier", data=b"sp00000-1")
        entry.create_dataset("start_time", data=b"2025-10-10T08:43:21.272+01")
        entry.create_dataset("end_time", data=np.bytes_(b"2025-10-10T09:36:07.773+01"))
        entry.create_dataset("program_name", data=b"GDA 9.38.0")
        before = entry.create_group("before_scan")
        before.attrs["NX_class"] = "NXinstrument"
        before.create_dataset("Sample_Parameters", data=np.array(
            [f"<?xml version=\"1.0\"?>\n<I20SampleParameters>\n    <name>{scan.sample}</name>\n    <descr".encode()],
            dtype="S1024"))
        mono = before.create_group("Monochromator")
        mono.attrs["NX_class"] = "NXmonochromator"
        mono.create_dataset("crystalcut", data=np.array([b"Si(111)"], dtype="S1024"))
        data = entry.create_group("I1")
        data.attrs["NX_class"] = "NXdata"
        data.create_dataset("I1", data=shaped(scan.i1))
        data.create_dataset("Time", data=shaped(scan.time))
        incident = data.create_dataset("bragg1WithOffset", data=shaped(scan.incident))
        incident.attrs["axis"] = b"1,2" if len(dims) == 2 else b"1"
        for channel, name in emission_names.items():
            dataset = data.create_dataset(name, data=shaped(scan.emission[channel]))
            dataset.attrs["axis"] = b"1,2" if len(dims) == 2 else b"1"
        if with_labels:
            if scan.kind == "rxes":
                first_emission = next(iter(emission_names.values()))
                outer, inner = ((first_emission, "bragg1WithOffset") if scan.emission_outer
                                else ("bragg1WithOffset", first_emission))
                data[outer].attrs["label"] = b"1"
                data[inner].attrs["label"] = b"2"
            elif scan.kind == "xes":
                data[next(iter(emission_names.values()))].attrs["label"] = b"1"
            else:
                data["bragg1WithOffset"].attrs["label"] = b"1"
        instrument = entry.create_group("instrument")
        instrument.attrs["NX_class"] = "NXinstrument"
        for channel in scan.emission:
            detector = CHANNELS[channel][0]
            group = instrument.create_group(detector)
            group.attrs["NX_class"] = "NXdetector"
            roi = shaped(scan.roi[channel])
            group.create_dataset(f"{detector}_roi_total", data=roi)
            if with_ffi1:
                with np.errstate(invalid="ignore", divide="ignore"):
                    group.create_dataset(f"FFI1_{detector}", data=roi / shaped(scan.i1))
            group["data"] = h5py.ExternalLink(f"{detector}-{scan.scan_number}.hdf", "/entry/instrument/detector/data")
            nxdata = entry.create_group(detector)
            nxdata.attrs["NX_class"] = "NXdata"
            nxdata["data"] = h5py.ExternalLink(f"{detector}-{scan.scan_number}.hdf", "/entry/instrument/detector/data")
            nxdata["bragg1WithOffset"] = data["bragg1WithOffset"]


def ascii_text(scan: SynthScan, *, measured: int | None = None, truncate_last_line: bool = False,
               command_on_description: bool | None = None) -> str:
    """The I20 ASCII rendering of a scan (header, column line, tab-separated rows, footer)."""
    total = scan.i1.size
    measured = total if measured is None else measured
    channels = list(scan.emission)
    if command_on_description is None:
        command_on_description = scan.kind != "rxes"
    lines = [
        "# DIAMOND LIGHT SOURCE",
        "# Instrument: I20-XAS Date: Wed, 8 Oct 2025 17:04:54 BST",
        "# Ring energy: 3.00088 GeV",
        "# Monochromator crystal cut: Si(111)",
        f"# Monochromator energy : {scan.incident[0]:.4f} eV",
        "# XES energy (upper, lower): 8632.30 eV , 9571.70 eV",
        "# XES upper spectrometer : crystal material Si, crystal cut: (6 4 2), Rowland circle radius: 995.0 mm",
        "# XES lower spectrometer : crystal material Ge, crystal cut: (5 5 5), Rowland circle radius: 992.0 mm",
        "#",
        f"# Nexus output file: '/dls/i20/data/2025/sp00000-1/Experiment_1/nexus/{scan.scan_number}_1.nxs'",
        "#",
        f"# Sample name: {scan.sample}",
    ]
    if command_on_description:
        lines.append(f"# Sample description: # command: {scan.command}")
    else:
        lines += ["# Sample description: synthetic", f"# command: {scan.command}"]
    lines += ["#", "# Dark current has been automatically removed from counts in main scan (I1)", "#"]
    names = ["Energy"] + [CHANNELS[c][1] for c in channels] + [CHANNELS[c][2] for c in channels] + ["I1"]
    for channel in channels:
        names += [f"FF_{CHANNELS[channel][0]}", f"FFI1_{CHANNELS[channel][0]}"]
    names.append("Time")
    lines.append("# " + "".join(f"{name:<16}\t" for name in names))
    rows = []
    for k in range(measured):
        values = [f"{scan.incident[k]:.4f}"] + [f"{scan.emission[c][k]:.4f}" for c in channels]
        values += [f"{81.7:.4f}" for _ in channels] + [f"{scan.i1[k]:.2f}"]
        for channel in channels:
            values += [f"{scan.roi[channel][k]:.6f}", f"{scan.roi[channel][k] / scan.i1[k]:.6f}"]
        values.append(f"{scan.time[k]:.4f}")
        rows.append("".join(f"{v:<16}\t" for v in values))
    if truncate_last_line:
        rows[-1] = rows[-1][: len(rows[-1]) // 2].rstrip("\t")
        return "\n".join(lines + rows)
    footer = ["# Instrument: I20-XAS Date: Wed, 8 Oct 2025 17:42:01 BST", "# Final ring current: 297.13961"]
    return "\n".join(lines + rows + footer) + "\n"


def write_ascii(path, scan: SynthScan, **kwargs) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(ascii_text(scan, **kwargs))


def truth_grid(scan: SynthScan, values: np.ndarray, measured: int | None = None) -> np.ndarray:
    """Flat scan-order values placed on the [i_Ω, i_ω] grid (NaN where not measured)."""
    measured = scan.i1.size if measured is None else measured
    i_omega, i_emission = scan.grid_index
    grid = np.full((scan.omega_axis.size, next(iter(scan.emission_axes.values())).size), np.nan)
    grid[i_omega[:measured], i_emission[:measured]] = values[:measured]
    return grid
