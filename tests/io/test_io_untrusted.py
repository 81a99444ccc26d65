"""Nothing in a file makes xestools read another file; every read is sized first; our own metadata is
checked against its schema; ``Detection`` lives in a leaf module.

Covers I20 NeXus scans and our own NeXus/CSV exports alike. Files are crafted with h5py here.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import i20_synth as synth
from xestools.cli import main
from xestools.io import XesFormatError, detect, load, sandbox, write_csv, write_nexus
from xestools.model import Channel, RXESMap, Spectrum

ROOT = Path(__file__).resolve().parents[2]
FFI1 = "/entry1/instrument/medipix1/FFI1_medipix1"
EXPORT_SIGNAL = "/entry/data/intensity"


def _i20(tmp_path) -> tuple[Path, synth.SynthScan]:
    scan = synth.make_rxes(4, 6, seed=5)
    path = tmp_path / "scan.nxs"
    synth.write_nexus(path, scan)
    return path, scan


def _export(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    energy = np.linspace(8620.0, 8660.0, 41)
    spectrum = Spectrum(energy=energy, intensity=rng.uniform(1, 2, 41), uncertainty=np.full(41, 0.1),
                        label="s", channel=Channel.UPPER, source="origin.nxs", metadata={"warnings": []})
    path = tmp_path / "export.nxs"
    write_nexus(spectrum, path)
    return path


def _other_file(tmp_path, values: np.ndarray) -> Path:
    """A file the scan points at: an HDF5 file with the values and, next to it, the same values raw."""
    target = tmp_path / "elsewhere.h5"
    with h5py.File(target, "w") as handle:
        handle["values"] = values
    (tmp_path / "elsewhere.raw").write_bytes(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return target


def _replace(path: Path, name: str, how: str, tmp_path: Path) -> None:
    with h5py.File(path, "r+") as handle:
        values = np.asarray(handle[name][()], dtype="<f8")
        target = _other_file(tmp_path, values)
        del handle[name]
        if how == "external link":
            handle[name] = h5py.ExternalLink(str(target), "/values")
        elif how == "soft link to an external link":
            handle["/planted"] = h5py.ExternalLink(str(target), "/values")
            handle[name] = h5py.SoftLink("/planted")
        elif how == "external storage":
            handle.create_dataset(name, shape=values.shape, dtype="<f8",
                                  external=[(str(tmp_path / "elsewhere.raw"), 0, values.nbytes)])
        else:
            layout = h5py.VirtualLayout(shape=values.shape, dtype="<f8")
            layout[...] = h5py.VirtualSource(str(target), "values", shape=values.shape)
            handle.create_virtual_dataset(name, layout)


HOW = ["external link", "soft link to an external link", "external storage", "virtual dataset"]
MESSAGE = {"external link": "is an HDF5 external link to", "soft link to an external link": "reached by a soft link",
           "external storage": "keeps its values in external raw files", "virtual dataset": "is a virtual dataset"}


@pytest.mark.parametrize("how", HOW)
def test_i20_scan_pointing_at_another_file_is_refused(tmp_path, how):
    path, _ = _i20(tmp_path)
    _replace(path, FFI1, how, tmp_path)
    for call in (detect, load):
        with pytest.raises(XesFormatError, match=MESSAGE[how]) as caught:
            call(path)
        assert "scan.nxs" in str(caught.value) and "never reads a file named inside another file" in str(caught.value)


@pytest.mark.parametrize("how", HOW)
def test_export_pointing_at_another_file_is_refused(tmp_path, how):
    path = _export(tmp_path)
    _replace(path, EXPORT_SIGNAL, how, tmp_path)
    with pytest.raises(XesFormatError, match=MESSAGE[how]):
        load(path)


def test_detector_frame_links_of_real_scans_are_left_alone(real_file):
    """The GDA files link to their medipix frame files: ignored (never followed), the scan loads."""
    path = real_file("279517_1.nxs")
    with h5py.File(path, "r", locking=False) as handle:
        assert isinstance(handle.get("/entry1/instrument/medipix1/data", getlink=True), h5py.ExternalLink)
    (rxes,) = load(path)
    assert rxes.shape == (17, 74)


def test_declared_huge_export_is_refused_before_reading(tmp_path):
    """A small file declaring 200000² points (chunks never written) is sized and refused, not allocated."""
    path = _export(tmp_path)
    with h5py.File(path, "r+") as handle:
        for name in ("energy", "intensity", "intensity_errors"):
            del handle[f"/entry/data/{name}"]
            handle.create_dataset(f"/entry/data/{name}", shape=(200_000 * 200_000,), dtype="<f8", chunks=(4096,),
                                  compression="gzip")
    assert path.stat().st_size < 1_000_000
    with pytest.raises(XesFormatError, match=r"needs about \d+ MB(, more than the \d+ MB xestools reads| but only \d+ MB)"):
        load(path)


def test_export_read_is_sized_against_available_memory(tmp_path, monkeypatch):
    import psutil

    class Small:
        available = 50_000_000

    rxes = RXESMap(incident=np.zeros((2000, 2000)), emission=np.zeros((2000, 2000)),
                   incident_axis=np.arange(2000.0), emission_axis=np.arange(2000.0), intensity=np.ones((2000, 2000)))
    path = tmp_path / "map.nxs"
    write_nexus(rxes, path)
    monkeypatch.setattr(sandbox, "enabled", lambda: False)  # the patched psutil exists in this process only
    monkeypatch.setattr(psutil, "virtual_memory", lambda: Small())
    with pytest.raises(XesFormatError, match=r"loading the export's arrays needs about \d+ MB but only 50 MB"):
        load(path)


@pytest.mark.parametrize("variable", [False, True])
def test_huge_scan_command_is_refused(tmp_path, variable):
    path, _ = _i20(tmp_path)
    text = "scan bragg1WithOffset " + "9" * (17 * 1024 * 1024)
    with h5py.File(path, "r+") as handle:
        del handle["/entry1/scan_command"]
        if variable:
            handle.create_dataset("/entry1/scan_command", data=text, dtype=h5py.string_dtype())
        else:
            handle.create_dataset("/entry1/scan_command", data=np.bytes_(text.encode()))
    with pytest.raises(XesFormatError, match=r"/entry1/scan_command .*(bytes|characters)"):
        detect(path)


def test_text_attribute_holding_an_array_is_refused(tmp_path):
    path, _ = _i20(tmp_path)
    with h5py.File(path, "r+") as handle:
        handle["/entry1/I1/bragg1WithOffset"].attrs["label"] = np.zeros(15, dtype="S4096")  # 60 kB where a label is a few bytes
    with pytest.raises(XesFormatError, match=r"attribute 'label' of /entry1/I1/bragg1WithOffset holds \d+ bytes"):
        detect(path)


# ----------------------------------------------------------------------------- our metadata's schema
def _csv(tmp_path) -> Path:
    spectrum = Spectrum(energy=np.linspace(1.0, 2.0, 5), intensity=np.arange(5.0), label="x", metadata={"warnings": []})
    path = tmp_path / "spectrum.csv"
    write_csv(spectrum, path)
    return path


def _set_csv_header(path: Path, key: str, value: str) -> None:
    lines = path.read_text().splitlines()
    prefix = f"# xestools.{key}:"
    lines = [f"{prefix} {value}" if line.startswith(prefix) else line for line in lines]
    path.write_text("\n".join(lines) + "\n")


def _set_nexus_json(path: Path, key: str, value: str) -> None:
    with h5py.File(path, "r+") as handle:
        del handle[f"/entry/xestools/{key}"]
        handle[f"/entry/xestools/{key}"] = value


CRAFTED = [("metadata", '{"warnings": 5}', "'warnings' must be a list of texts"),
           ("metadata", "[1, 2]", "metadata must be a JSON object"),
           ("metadata", '{"normalisation": 3}', "'normalisation' must be an object"),
           ("metadata", '{"incident_energy": "high"}', "'incident_energy' must be a number"),
           ("info", '{"scan_dimensions": "abc"}', "'scan_dimensions' must be a list"),
           ("info", '{"scan_number": "12"}', "'scan_number' must be an integer"),
           ("info", "7", "info must be a JSON object"),
           ("label", "5", "must be a text")]


@pytest.mark.parametrize(("key", "value", "problem"), CRAFTED)
def test_crafted_csv_metadata_is_a_format_error(tmp_path, key, value, problem):
    path = _csv(tmp_path)
    _set_csv_header(path, key, value)
    with pytest.raises(XesFormatError, match=problem) as caught:
        load(path)
    assert str(caught.value).startswith("spectrum.csv:")


@pytest.mark.parametrize(("key", "value", "problem"), [c for c in CRAFTED if c[0] != "label"])
def test_crafted_nexus_metadata_is_a_format_error(tmp_path, key, value, problem):
    path = _export(tmp_path)
    _set_nexus_json(path, key, value)
    with pytest.raises(XesFormatError, match=problem) as caught:
        load(path)
    assert str(caught.value).startswith("export.nxs:")


def test_xestools_info_reports_crafted_metadata_as_a_user_error(tmp_path, capsys):
    path = _csv(tmp_path)
    _set_csv_header(path, "metadata", '{"warnings": 5}')
    code = main(["info", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "spectrum.csv" in err and "'warnings' must be a list of texts" in err and "internal error" not in err


def test_valid_metadata_still_round_trips(tmp_path):
    spectrum = Spectrum(energy=np.linspace(1.0, 2.0, 5), intensity=np.arange(1.0, 6.0), label="x",
                        metadata={"warnings": ["w"], "normalisation": {"factor": 2.0}, "npoints": [1, 2],
                                  "operations": [{"op": "x"}]})
    for suffix, writer in ((".csv", write_csv), (".nxs", write_nexus)):
        path = tmp_path / f"ok{suffix}"
        writer(spectrum, path)
        (back,) = load(path)
        assert back.metadata["warnings"] == ["w"] and back.metadata["normalisation"] == {"factor": 2.0}
        assert json.loads(json.dumps(back.metadata["operations"])) == [{"op": "x"}]


# ----------------------------------------------------------------------------- Detection is a leaf
def test_detection_is_one_class_in_a_leaf_module():
    import xestools.io
    import xestools.io.detection
    import xestools.io.reader

    assert xestools.io.Detection is xestools.io.detection.Detection is xestools.io.reader.Detection
    code = "import sys, xestools.io.detection; print('xestools.io.reader' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "False"


def test_no_io_module_hides_an_import_of_the_reader_inside_a_function():
    hidden = []
    for source in (ROOT / "xestools" / "io").glob("*.py"):
        tree = ast.parse(source.read_text())
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module in ("reader", "plain",
                                                                                            "xestools_nexus"):
                    hidden.append(f"{source.name}:{node.lineno} imports .{node.module}")
    assert hidden == []


def test_soft_link_loop_is_a_format_error(tmp_path):
    path, _ = _i20(tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle[FFI1]
        handle[FFI1] = h5py.SoftLink("/entry1/loop_a")
        handle["/entry1/loop_a"] = h5py.SoftLink("/entry1/loop_b")
        handle["/entry1/loop_b"] = h5py.SoftLink("/entry1/loop_a")
    with pytest.raises(XesFormatError, match="soft links loop or chain more than 16 times"):
        load(path)


def test_soft_link_inside_the_file_is_followed(tmp_path):
    path, scan = _i20(tmp_path)
    with h5py.File(path, "r+") as handle:
        handle.move(FFI1, "/entry1/moved_ffi1")
        handle[FFI1] = h5py.SoftLink("/entry1/moved_ffi1")
    (rxes,) = load(path)
    np.testing.assert_allclose(rxes.intensity, synth.truth_grid(scan, scan.roi["upper"] / scan.i1), rtol=1e-12)


def _generic_nxdata(tmp_path) -> Path:
    path = tmp_path / "other_program.nxs"
    with h5py.File(path, "w") as handle:
        handle.attrs["default"] = "entry"
        entry = handle.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.attrs["default"] = "data"
        data = entry.create_group("data")
        data.attrs.update({"NX_class": "NXdata", "signal": "intensity", "axes": "energy"})
        data["energy"] = np.linspace(8630.0, 8650.0, 21)
        data["energy"].attrs["units"] = "eV"
        data["intensity"] = np.linspace(1.0, 2.0, 21)
    return path


@pytest.mark.parametrize("how", HOW)
def test_generic_nxdata_pointing_at_another_file_is_refused(tmp_path, how):
    path = _generic_nxdata(tmp_path)
    (spectrum,) = load(path)
    np.testing.assert_array_equal(spectrum.intensity, np.linspace(1.0, 2.0, 21))
    sandbox.forget()
    _replace(path, "/entry/data/intensity", how, tmp_path)
    with pytest.raises(XesFormatError, match=MESSAGE[how]):
        load(path)


def test_generic_nxdata_attribute_is_sized(tmp_path):
    path = _generic_nxdata(tmp_path)
    with h5py.File(path, "r+") as handle:
        handle["/entry/data"].attrs["axes"] = np.zeros(15, dtype="S4096")
    with pytest.raises(XesFormatError, match=r"attribute 'axes' of /entry/data holds 61440 bytes"):
        load(path)


@pytest.mark.parametrize("name", ["scan_1.dat", "scan_1.nxs"])
def test_a_fifo_named_like_a_scan_is_refused_without_opening_it(tmp_path, name):
    """Opening a FIFO blocks until a writer comes: it is refused by its kind, before any open."""
    fifo = tmp_path / name
    os.mkfifo(fifo)
    for operation in (load, detect):
        with pytest.raises(XesFormatError, match=rf"{name}: is a FIFO \(named pipe\), not a regular file"):
            operation(fifo)


def test_a_device_is_refused_and_a_symlink_loop_is_named(tmp_path):
    with pytest.raises(XesFormatError, match="is a character device, not a regular file"):
        load("/dev/zero")
    loop = tmp_path / "loop.dat"
    loop.symlink_to(loop)
    with pytest.raises(XesFormatError, match="loop.dat: cannot be examined"):
        load(loop)
