"""data_samples/: the committed files are exactly what ``xestools samples`` writes, and they look like
real I20 scans (structure, attributes, links, ASCII layout, physics); an installed copy writes them
into the per-user data folder on first use, never into the package or the current folder."""
from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from xestools import samples
from xestools.model import Channel, RXESMap, Spectrum

NEXUS_FILES = ["990101_1.nxs", "990102_1.nxs", "990110_1.nxs", "990111_1.nxs", "990112_1.nxs", "990113_1.nxs"]
ASCII_FILES = ["ZnO_synthetic_990101_1.dat", "ZnO_synthetic_990110_1.dat"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    assert samples.main(["--out", str(folder)]) == 0
    return folder


def _hdf5_tree(path: Path) -> dict[str, tuple]:
    """Every link of a file: path -> (kind, attributes, value), without following external links."""
    tree: dict[str, tuple] = {}

    def walk(group: h5py.Group, prefix: str) -> None:
        for name in group:
            full = f"{prefix}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                tree[full] = ("external", {}, (link.filename, link.path))
                continue
            node = group[name]
            attrs = {key: node.attrs[key] for key in node.attrs}
            if isinstance(node, h5py.Group):
                tree[full] = ("group", attrs, None)
                walk(node, full)
            else:
                tree[full] = ("dataset", attrs, (node.dtype, node.shape, node.maxshape, node[()]))

    with h5py.File(path, "r") as handle:
        walk(handle, "")
    return tree


def _assert_same_value(path: str, committed, fresh) -> None:
    dtype, shape, maxshape, value = committed
    dtype2, shape2, maxshape2, value2 = fresh
    assert (dtype, shape, maxshape) == (dtype2, shape2, maxshape2), path
    if np.asarray(value).dtype.kind == "f":
        np.testing.assert_allclose(value2, value, rtol=1e-12, atol=0, err_msg=path)
    else:
        np.testing.assert_array_equal(value2, value, err_msg=path)


@pytest.mark.parametrize("name", NEXUS_FILES)
def test_nexus_sample_regenerates_identically(samples_dir, regenerated, name):
    committed = _hdf5_tree(samples_dir / name)
    fresh = _hdf5_tree(regenerated / name)
    assert sorted(committed) == sorted(fresh)
    for path, (kind, attrs, value) in committed.items():
        kind2, attrs2, value2 = fresh[path]
        assert kind == kind2, path
        assert sorted(attrs) == sorted(attrs2), path
        for key in attrs:
            np.testing.assert_array_equal(attrs2[key], attrs[key], err_msg=f"{path}@{key}")
        if kind == "dataset":
            _assert_same_value(path, value, value2)
        else:
            assert value == value2, path


@pytest.mark.parametrize("name", ASCII_FILES + ["README.md"])
def test_text_sample_regenerates_identically(samples_dir, regenerated, name):
    assert (regenerated / name).read_text(encoding="utf-8") == (samples_dir / name).read_text(encoding="utf-8")


def test_generator_writes_nothing_else(samples_dir, regenerated):
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(p.name for p in samples_dir.iterdir())


@pytest.mark.parametrize("name", NEXUS_FILES + ASCII_FILES)
def test_sample_is_small(samples_dir, name):
    assert (samples_dir / name).stat().st_size < 300_000


def _entry(handle: h5py.File) -> h5py.Group:
    return handle["entry1"]


@pytest.mark.parametrize("name", NEXUS_FILES)
def test_nexus_sample_has_i20_essentials(samples_dir, name):
    with h5py.File(samples_dir / name, "r") as handle:
        entry = _entry(handle)
        assert entry.attrs["NX_class"] == b"NXentry"
        assert entry["I1"].attrs["NX_class"] == b"NXdata"
        assert "signal" not in entry["I1"].attrs and "axes" not in entry["I1"].attrs
        scan = entry["entry_identifier"][()].decode()
        assert name == f"{scan}_1.nxs"
        assert entry["scan_command"][()] == entry["title"][()]
        assert entry["experiment_identifier"][()] == b"sp00000-1"
        assert entry["start_time"][()].decode() < entry["end_time"][()].decode()
        dimensions = tuple(int(n) for n in entry["scan_dimensions"][()])
        assert entry["instrument/I1/I1"].shape == dimensions
        # The NXdata datasets are hard links to the instrument's (same HDF5 object).
        assert entry["I1/I1"].id == entry["instrument/I1/I1"].id
        assert entry["I1/I1"].attrs["target"] == b"/entry1/instrument/I1/I1"
        assert b"<name>ZnO_synthetic</name>" in entry["before_scan/Sample_Parameters"][0]
        detectors = [key for key in entry["instrument"] if key.startswith("medipix")]
        assert detectors
        for detector in detectors:
            for holder in (f"instrument/{detector}", detector):
                link = entry[holder].get("data", getlink=True)
                assert isinstance(link, h5py.ExternalLink)
                assert link.filename == f"{detector}-{scan}.hdf"
                assert not (samples_dir / link.filename).exists()
            roi = entry[f"instrument/{detector}/{detector}_roi_total"][()]
            i1 = entry["instrument/I1/I1"][()]
            assert np.all(roi == np.round(roi)) and roi.min() >= 0
            # FFI1 is ROI counts / I1 exactly, as GDA writes it.
            np.testing.assert_array_equal(entry[f"instrument/{detector}/FFI1_{detector}"][()], roi / i1)


def test_rxes_map_scan_order_attributes(samples_dir):
    with h5py.File(samples_dir / "990101_1.nxs", "r") as handle:
        entry = _entry(handle)
        assert list(entry["scan_dimensions"][()]) == [25, 80]
        incident = entry["I1/bragg1WithOffset"]
        emission = entry["I1/XESEnergyUpper"]
        assert (incident.attrs["label"], incident.attrs["axis"], incident.attrs["primary"]) == (b"1", b"1,2", b"1")
        assert (emission.attrs["label"], emission.attrs["axis"], emission.attrs["primary"]) == (b"2", b"1,2", b"1")
        omega = incident[()]
        demand = 9656.0 + 0.3 * np.arange(25)
        jitter = omega - demand[:, None]
        assert np.abs(jitter).max() <= 0.003 and np.abs(jitter).max() > 0.0005
        assert len(np.unique(omega)) > 25  # read-backs jitter: exact grouping would fail
        small = emission[()] - (8610.0 + 0.5 * np.arange(80))[None, :]
        assert np.all((np.abs(small) < 0.0101))
        assert "medipix2" not in entry["instrument"]


def test_group_scan_has_both_channels_with_gda_labels(samples_dir):
    with h5py.File(samples_dir / "990102_1.nxs", "r") as handle:
        entry = _entry(handle)
        assert "XESEnergyGroup" in entry["scan_command"][()].decode()
        group = entry["instrument/XESEnergyGroup"]
        assert group.attrs["NX_class"] == b"NXpositioner"
        assert group["XESEnergyUpper"].attrs["label"] == b"1"
        assert "label" not in group["XESEnergyLower"].attrs
        assert group["XESEnergyUpper"].attrs["local_name"] == b"XESEnergyGroup.XESEnergyUpper"
        assert np.allclose(entry["I1/bragg1WithOffset"][()], 9900.0, atol=0.003)
        assert {"medipix1", "medipix2"} <= set(entry)


@pytest.mark.parametrize("ours, real", [("990101_1.nxs", "279517_1.nxs"), ("990102_1.nxs", "279496_1.nxs"),
                                        ("990110_1.nxs", "280754_1.nxs"), ("990111_1.nxs", "280772_1.nxs")])
def test_structure_matches_the_real_scan(samples_dir, real_file, ours, real):
    """Outside before_scan, each sample has its real counterpart's links, NX classes, attribute names and
    values (axis, label, primary, local_name), dataset types, ranks and maxshapes."""
    real_tree = _hdf5_tree(real_file(real))
    our_tree = _hdf5_tree(samples_dir / ours)

    def skeleton(tree):
        result = {}
        for path, (kind, attrs, value) in tree.items():
            if path.startswith("/entry1/before_scan"):
                continue
            described = {key: bytes(attrs[key]) for key in ("NX_class", "axis", "label", "primary", "local_name")
                         if key in attrs}
            layout = None
            if kind == "dataset":
                dtype, shape, maxshape, _ = value
                growable = tuple(size is None for size in maxshape)
                layout = (h5py.check_string_dtype(dtype) or dtype.str, len(shape), growable)
            elif kind == "external":
                layout = value[1]
            result[path] = (kind, sorted(attrs), described, layout)
        return result

    assert skeleton(our_tree) == skeleton(real_tree)
    assert {p for p in our_tree if p.startswith("/entry1/before_scan")} <= set(real_tree)


def test_ascii_layout_like_real_files(samples_dir):
    text = (samples_dir / "ZnO_synthetic_990101_1.dat").read_text(encoding="utf-8")
    lines = text.splitlines()
    header_index = next(i for i, line in enumerate(lines) if line.startswith("# Energy"))
    assert 50 <= header_index <= 56
    assert lines[header_index].split() == ["#", "Energy", "XESEnergyUpper", "XESBraggUpper", "I1", "FF_medipix1",
                                           "FFI1_medipix1", "Time"]
    rows = lines[header_index + 1:-2]
    assert len(rows) == 25 * 80
    assert all(row.endswith("\t") and row.count("\t") == 7 for row in rows)
    assert lines[-2].startswith("# Instrument: I20-XAS Date:")
    assert lines[-1].startswith("# Final ring current:")
    assert any(line.startswith("# command: scan bragg1WithOffset") for line in lines[:header_index])
    one_d = (samples_dir / "ZnO_synthetic_990110_1.dat").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("# Sample description: # command: scan XESEnergyLower") for line in one_d)


@pytest.mark.parametrize("scan, name", [(990101, "ZnO_synthetic_990101_1.dat"), (990110, "ZnO_synthetic_990110_1.dat")])
def test_ascii_and_nexus_hold_the_same_numbers(samples_dir, scan, name):
    table = np.loadtxt(samples_dir / name, comments="#", delimiter="\t", usecols=range(7))
    with h5py.File(samples_dir / f"{scan}_1.nxs", "r") as handle:
        entry = _entry(handle)
        detector = "medipix1" if scan == 990101 else "medipix2"
        energy_name = "XESEnergyUpper" if scan == 990101 else "XESEnergyLower"
        np.testing.assert_array_equal(table[:, 0], entry["I1/bragg1WithOffset"][()].ravel())
        np.testing.assert_array_equal(table[:, 1], entry[f"I1/{energy_name}"][()].ravel())
        np.testing.assert_array_equal(table[:, 3], entry["I1/I1"][()].ravel())
        np.testing.assert_array_equal(table[:, 4], entry[f"instrument/{detector}/{detector}_roi_total"][()].ravel())


def _peak_area(energy, counts_per_monitor, centre, half_width):
    """Trapezoid area of intensity above a straight line joining the window ends."""
    window = np.abs(energy - centre) <= half_width
    x, y = energy[window], counts_per_monitor[window]
    baseline = np.interp(x, [x[0], x[-1]], [y[0], y[-1]])
    return float(np.sum((y[1:] - baseline[1:] + y[:-1] - baseline[:-1]) * np.diff(x)) / 2.0)


def test_line_shapes_are_physical(samples_dir):
    with h5py.File(samples_dir / "990102_1.nxs", "r") as handle:
        entry = _entry(handle)
        upper = entry["I1/XESEnergyUpper"][()], entry["instrument/medipix1/FFI1_medipix1"][()]
        lower = entry["I1/XESEnergyLower"][()], entry["instrument/medipix2/FFI1_medipix2"][()]
    assert abs(upper[0][np.argmax(upper[1])] - 8638.9) <= 0.5
    assert abs(lower[0][np.argmax(lower[1])] - 9572.0) <= 0.5
    ratio = _peak_area(*upper, 8638.9, 8.0) / _peak_area(*upper, 8615.8, 8.0)
    assert 1.7 < ratio < 2.3
    with h5py.File(samples_dir / "990111_1.nxs", "r") as handle:
        entry = _entry(handle)
        energy, ffi1 = entry["I1/XESEnergyLower"][()], entry["instrument/medipix2/FFI1_medipix2"][()]
    vtc_peak = energy[np.argmax(ffi1)]
    assert 9650.0 <= vtc_peak <= 9662.0
    with h5py.File(samples_dir / "990110_1.nxs", "r") as handle:
        main_peak = handle["entry1/instrument/medipix2/FFI1_medipix2"][()].max()
    assert 0.005 < ffi1.max() / main_peak < 0.05  # VtC is weak next to Kβ1,3


def test_poisson_noise_and_repeats_differ(samples_dir):
    spectra = []
    for name in ("990111_1.nxs", "990112_1.nxs", "990113_1.nxs"):
        with h5py.File(samples_dir / name, "r") as handle:
            spectra.append(handle["entry1/instrument/medipix2/medipix2_roi_total"][()])
    assert not np.array_equal(spectra[0], spectra[1])
    # Repeats scatter like Poisson counts: var(difference) ≈ 2 × mean counts.
    difference = spectra[0] - spectra[1]
    expected = 2.0 * np.mean((spectra[0] + spectra[1]) / 2.0)
    assert 0.6 < np.var(difference) / expected < 1.6


def test_rxes_map_resonates_across_the_edge(samples_dir):
    with h5py.File(samples_dir / "990101_1.nxs", "r") as handle:
        entry = _entry(handle)
        omega = entry["I1/bragg1WithOffset"][()]
        emission = entry["I1/XESEnergyUpper"][()]
        ffi1 = entry["instrument/medipix1/FFI1_medipix1"][()]
    row_maxima = ffi1.max(axis=1)
    assert row_maxima[-4:].mean() > 3 * row_maxima[:2].mean()  # above the edge much stronger
    # Above the edge the Kα1 maximum sits at the fluorescence energy; below it disperses (Raman).
    top = np.argmax(ffi1[-5], axis=0)
    assert abs(emission[-5, top] - 8638.9) <= 0.6
    low = emission[0, np.argmax(np.where(emission[0] > 8628, ffi1[0], 0))]
    assert low < 8638.4
    i1 = None
    with h5py.File(samples_dir / "990101_1.nxs", "r") as handle:
        i1 = handle["entry1/instrument/I1/I1"][()].ravel()
    assert 0.001 < (i1.max() - i1.min()) / i1.mean() < 0.05  # slowly varying monitor
    assert math.isclose(float(np.median(np.diff(omega[:, 0]))), 0.3, abs_tol=0.005)


def test_line_shape_functions_are_area_normalised():
    x = np.linspace(-400, 400, 400001)
    for values in (samples.lorentzian(x, 2.0), samples.gaussian(x, 2.0), samples.pseudo_voigt(x, 1.0, 2.0)):
        area = np.trapezoid(values, x) if hasattr(np, "trapezoid") else np.trapz(values, x)
        assert abs(area - 1.0) < 0.01
    # Pseudo-Voigt half maximum at ± FWHM/2 of the combined width (pure Gaussian limit: exact).
    gauss_only = samples.pseudo_voigt(np.array([0.0, 0.5]), 1.0, 1e-9)
    assert math.isclose(gauss_only[1] / gauss_only[0], 0.5, rel_tol=1e-6)


def test_samples_cli_reports_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert samples.main(["--out", str(blocker / "sub")]) == 2
    assert "cannot write" in capsys.readouterr().err


# ----------------------------------------------------------------------------- through the io layer
EXPECTED_LOAD = {
    "990101_1.nxs": (RXESMap, [Channel.UPPER], (25, 80)),
    "ZnO_synthetic_990101_1.dat": (RXESMap, [Channel.UPPER], (25, 80)),
    "990102_1.nxs": (Spectrum, [Channel.UPPER, Channel.LOWER], (80,)),
    "990110_1.nxs": (Spectrum, [Channel.LOWER], (207,)),
    "ZnO_synthetic_990110_1.dat": (Spectrum, [Channel.LOWER], (207,)),
    "990111_1.nxs": (Spectrum, [Channel.LOWER], (201,)),
    "990112_1.nxs": (Spectrum, [Channel.LOWER], (201,)),
    "990113_1.nxs": (Spectrum, [Channel.LOWER], (201,)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_LOAD))
def test_io_load_reads_each_sample(samples_dir, name):
    from xestools.io import detect, load

    kind, channels, shape = EXPECTED_LOAD[name]
    loaded = load(samples_dir / name)
    assert [obj.channel for obj in loaded] == channels
    for obj in loaded:
        assert isinstance(obj, kind)
        assert tuple(obj.intensity.shape) == shape
        assert obj.info is not None and obj.info.sample_name == "ZnO_synthetic"
        assert np.all(np.isfinite(obj.intensity))
    detection = detect(samples_dir / name)
    assert detection.kind == ("rxes" if kind is RXESMap else "xes")
    assert tuple(detection.channels) == tuple(channels)


def test_io_map_from_nexus_and_ascii_agree(samples_dir):
    from xestools.io import load

    (from_nexus,) = load(samples_dir / "990101_1.nxs")
    (from_ascii,) = load(samples_dir / "ZnO_synthetic_990101_1.dat")
    np.testing.assert_allclose(from_nexus.incident_axis, 9656.0 + 0.3 * np.arange(25), atol=0.003)
    np.testing.assert_allclose(from_nexus.emission_axis, 8610.0 + 0.5 * np.arange(80), atol=0.011)
    np.testing.assert_allclose(from_ascii.incident_axis, from_nexus.incident_axis, atol=1e-9)
    np.testing.assert_allclose(from_ascii.intensity, from_nexus.intensity, rtol=1e-12)
    # Independent: FFI1 of the first point = ROI counts / I1 from the file itself.
    with h5py.File(samples_dir / "990101_1.nxs", "r") as handle:
        roi = handle["entry1/instrument/medipix1/medipix1_roi_total"][0, 0]
        i1 = handle["entry1/instrument/I1/I1"][0, 0]
    assert from_nexus.intensity[0, 0] == pytest.approx(roi / i1, rel=1e-12)
    assert from_nexus.uncertainty[0, 0] == pytest.approx(math.sqrt(roi) / i1, rel=1e-12)


# ----------------------------------------------------------------------------- the per-user sample folder
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import xestools  # noqa: E402

PACKAGE_DIR = Path(samples.__file__).resolve().parent


@pytest.fixture()
def user_data(tmp_path, monkeypatch) -> Path:
    """A throw-away per-user data folder (platformdirs reads XDG_DATA_HOME on Linux)."""
    folder = tmp_path / "userdata"
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    return folder


def test_sample_names_match_what_generate_writes(samples_dir, regenerated):
    assert samples.sample_names() == [p.name for p in samples.generate(regenerated)]
    assert sorted(samples.sample_names()) == sorted(p.name for p in samples_dir.iterdir())


def test_sample_folder_is_per_user_and_written_once(user_data, samples_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = xestools.sample_folder()
    assert folder == user_data / "xestools" / "samples"
    assert not folder.is_relative_to(PACKAGE_DIR.parent) and not folder.is_relative_to(samples.__file__)
    for name in samples.sample_names():
        assert (folder / name).is_file(), name
    for name in ASCII_FILES:
        assert (folder / name).read_bytes() == (samples_dir / name).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["userdata"]  # nothing in the current folder
    stamps = {name: (folder / name).stat().st_mtime_ns for name in samples.sample_names()}
    assert samples.sample_folder() == folder
    assert stamps == {name: (folder / name).stat().st_mtime_ns for name in samples.sample_names()}


def test_sample_folder_repairs_a_missing_file_and_an_old_generator(user_data):
    folder = samples.sample_folder()
    (folder / "990112_1.nxs").unlink()
    samples.sample_folder()
    assert (folder / "990112_1.nxs").is_file()
    (folder / "README.md").write_text("from an older xestools", encoding="utf-8")
    (folder / samples.STAMP_NAME).write_text("0", encoding="utf-8")
    samples.sample_folder()
    assert "do not edit by hand" in (folder / "README.md").read_text(encoding="utf-8")
    assert (folder / samples.STAMP_NAME).read_text(encoding="utf-8").strip() == str(samples.GENERATOR_VERSION)


def test_sample_folder_reports_an_unwritable_place(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        samples.sample_folder(blocker / "samples")


def test_module_default_writes_to_the_user_folder_not_the_package(user_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in PACKAGE_DIR.iterdir())
    assert samples.main([]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[0] == str(user_data / "xestools" / "samples" / "990101_1.nxs")
    assert sorted(p.name for p in PACKAGE_DIR.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["userdata"]


def test_xestools_samples_command(user_data, tmp_path, capsys):
    from xestools.cli import main

    assert main(["samples"]) == 0
    captured = capsys.readouterr()
    paths = [Path(line) for line in captured.out.split()]
    assert [p.name for p in paths] == samples.sample_names() and all(p.is_file() for p in paths)
    assert "xestools-gui" in captured.err
    out = tmp_path / "demo"
    assert main(["samples", "--out", str(out), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.split()) == len(samples.sample_names())
    (out / "990101_1.nxs").write_bytes(b"mine")
    assert main(["samples", "--out", str(out), "--no-clobber"]) == 2
    assert "exists" in capsys.readouterr().err and (out / "990101_1.nxs").read_bytes() == b"mine"
    assert main(["samples", "--out", str(out / "README.md")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_installed_wheel_copy_writes_samples_outside_site_packages(tmp_path):
    """A non-editable copy of the package (as a wheel installs it) finds its samples in the user folder."""
    site = tmp_path / "site-packages"
    site.mkdir()
    import shutil

    shutil.copytree(PACKAGE_DIR, site / "xestools", ignore=shutil.ignore_patterns("__pycache__"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "xestools", "samples", "-q"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first = Path(done.stdout.split()[0])
    assert first == tmp_path / "data" / "xestools" / "samples" / "990101_1.nxs" and first.is_file()
    done = subprocess.run([sys.executable, "-c", "import xestools; print(xestools.__file__)"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == str(site / "xestools" / "__init__.py")
    assert not list(cwd.iterdir())
    assert not [p for p in site.rglob("*") if p.suffix in (".nxs", ".dat")]
