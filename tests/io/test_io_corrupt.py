"""Damaged and wrong inputs: only XesFormatError (or a clean load) may come out of load/detect.

Hypothesis mutates copies of the real files: truncation at many offsets, bit flips, deleted
datasets, NaN-filled datasets, damaged text rows. The originals are read-only and never touched.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import i20_synth as synth
from xestools.io import XesFormatError, detect, load
from xestools.model import RXESMap, Spectrum

REAL_NAMES = ["279517_1.nxs", "279496_1.nxs", "280754_1.nxs", "XES_ZnZSM5_air500_279192_1.dat",
              "ZnO_standard_280772_1.dat"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_format_errors(path):
    """detect + load either succeed with valid objects or raise XesFormatError naming the file."""
    for call in (detect, load):
        try:
            result = call(path)
        except XesFormatError as error:
            assert os.path.basename(str(path)) in str(error)
            continue
        if call is load:
            assert result and all(isinstance(obj, (Spectrum, RXESMap)) for obj in result)


@pytest.fixture(scope="module")
def originals(real_data):
    files = {name: (real_data / name).read_bytes() for name in REAL_NAMES if (real_data / name).is_file()}
    if not files:
        pytest.skip("no real files")
    return files


def _write(folder, name, data: bytes) -> Path:
    path = Path(folder) / name
    path.write_bytes(data)
    return path


@SETTINGS
@given(choice=st.sampled_from(REAL_NAMES), fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_files(originals, choice, fraction):
    data = originals[choice]
    with tempfile.TemporaryDirectory() as folder:
        _only_format_errors(_write(folder, choice, data[: int(len(data) * fraction)]))


@SETTINGS
@given(choice=st.sampled_from(REAL_NAMES), flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                                    st.integers(0, 7)), min_size=1, max_size=8))
def test_bit_flipped_files(originals, choice, flips):
    data = bytearray(originals[choice])
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    with tempfile.TemporaryDirectory() as folder:
        _only_format_errors(_write(folder, choice, bytes(data)))


@SETTINGS
@given(choice=st.sampled_from(REAL_NAMES), where=st.floats(0, 1, exclude_max=True), size=st.integers(1, 4096),
       byte=st.integers(0, 255))
def test_overwritten_blocks(originals, choice, where, size, byte):
    data = bytearray(originals[choice])
    start = int(where * len(data))
    data[start:start + size] = bytes([byte]) * len(data[start:start + size])
    with tempfile.TemporaryDirectory() as folder:
        _only_format_errors(_write(folder, choice, bytes(data)))


def _dataset_names(data: bytes) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, "probe.nxs", data)
        names = []
        with h5py.File(path, "r") as handle:
            handle.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        return names


NEXUS_NAMES = [n for n in REAL_NAMES if n.endswith(".nxs")]


@SETTINGS
@given(choice=st.sampled_from(NEXUS_NAMES), data=st.data())
def test_deleted_datasets(originals, choice, data):
    names = _dataset_names(originals[choice])
    doomed = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, choice, originals[choice])
        with h5py.File(path, "r+") as handle:
            for name in doomed:
                del handle[name]
        _only_format_errors(path)


@SETTINGS
@given(choice=st.sampled_from(NEXUS_NAMES), data=st.data(), fill=st.sampled_from([np.nan, np.inf, 0.0, -1.0]))
def test_nan_filled_datasets(originals, choice, data, fill):
    names = [n for n in _dataset_names(originals[choice]) if "before_scan" not in n]
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, choice, originals[choice])
        with h5py.File(path, "r+") as handle:
            for name in chosen:
                dataset = handle[name]
                if dataset.dtype.kind == "f":
                    dataset[...] = fill
        _only_format_errors(path)


TEXT_NAMES = [n for n in REAL_NAMES if n.endswith(".dat")]


@SETTINGS
@given(choice=st.sampled_from(TEXT_NAMES), data=st.data(),
       replacement=st.sampled_from(["", "nan\tnan", "garbage", "1.0\t", "#", "\t\t\t", "1e999 2 3", "\x00\x01"]))
def test_damaged_text_lines(originals, choice, data, replacement):
    lines = originals[choice].decode().splitlines()
    chosen = data.draw(st.lists(st.integers(0, len(lines) - 1), min_size=1, max_size=5))
    for index in chosen:
        lines[index] = replacement
    with tempfile.TemporaryDirectory() as folder:
        _only_format_errors(_write(folder, choice, "\n".join(lines).encode()))


def test_nan_filled_text_loads_masked(real_file, tmp_path):
    lines = real_file("XES_ZnZSM5_air500_279192_1.dat").read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[first + 3].split("\t")
    fields[4] = "nan"
    lines[first + 3] = "\t".join(fields)
    path = tmp_path / "nan.dat"
    path.write_text("\n".join(lines) + "\n")
    (rxes,) = load(path)
    assert not rxes.mask[0, 3] and rxes.mask.sum() == 17 * 51 - 1


@pytest.mark.parametrize("name", REAL_NAMES)
def test_wrong_extension_is_detected_by_content(real_file, tmp_path, name):
    source = real_file(name)
    renamed = tmp_path / (Path(name).stem + (".dat" if name.endswith(".nxs") else ".nxs"))
    shutil.copyfile(source, renamed)
    expected = detect(source)
    detection = detect(renamed)
    assert (detection.format, detection.kind, detection.shape) == (expected.format, expected.kind, expected.shape)
    assert len(load(renamed)) == len(load(source))


# --- refusals with a message that names the file, the problem and what to do ------------------


def _refused(path, pattern):
    for call in (detect, load):
        with pytest.raises(XesFormatError, match=pattern) as caught:
            call(path)
        message = str(caught.value)
        assert os.path.basename(str(path).rstrip("/")) in message or str(path) in message
        assert "(" in message  # the hint


def test_missing_file(tmp_path):
    _refused(tmp_path / "nope.nxs", "does not exist")


def test_directory(tmp_path):
    _refused(tmp_path, "folder")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.nxs"
    path.write_bytes(b"")
    _refused(path, "empty")


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "locked.dat"
    path.write_text("1 2\n3 4\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(path) else real_access(p, mode))
    _refused(path, "cannot be read")


def test_read_error_while_reading_is_wrapped(tmp_path, monkeypatch):
    import builtins

    path = tmp_path / "flaky.dat"
    path.write_text("1 2\n3 4\n")
    real_open = builtins.open

    def failing_open(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", failing_open)
    _refused(path, "cannot be read")


def test_raw_medipix_file_by_name(tmp_path):
    path = tmp_path / "medipix1-279517.hdf"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("entry/instrument/detector/data", data=np.zeros((2, 4, 4), dtype=np.uint16))
    _refused(path, "raw medipix detector")


def test_detector_frames_only_hdf5(tmp_path):
    path = tmp_path / "frames.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("entry/instrument/detector/data", data=np.zeros((3, 4, 4), dtype=np.uint16))
    _refused(path, "detector frames only")


def test_hdf5_that_is_not_an_i20_scan(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=np.arange(10))
    _refused(path, "not an I20 scan")


def test_text_without_numbers(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is a lab note\nno numbers here\n")
    _refused(path, "no numeric data block")


def test_binary_garbage(tmp_path):
    path = tmp_path / "random.bin"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes() + b"\x00")
    _refused(path, "binary file")


def test_one_column_text(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("1\n2\n3\n")
    _refused(path, "one numeric column")


def test_i20_ascii_header_only(tmp_path):
    scan = synth.make_xes(5)
    text = synth.ascii_text(scan)
    header_only = "\n".join(line for line in text.splitlines() if line.startswith("#")) + "\n"
    path = tmp_path / "header.dat"
    path.write_text(header_only)
    _refused(path, "no data rows")


def test_not_a_path():
    with pytest.raises(XesFormatError):
        load(None)


@pytest.fixture(scope="module")
def exports():
    """Our own exports and synthetic I20 files (no real data needed), as bytes."""
    from xestools.io import write_csv, write_nexus

    with tempfile.TemporaryDirectory() as folder:
        scan = synth.make_rxes(4, 6, snake=True)
        synth.write_nexus(Path(folder) / "map.nxs", scan)
        synth.write_ascii(Path(folder) / "map.dat", scan)
        (rxes,) = load(Path(folder) / "map.nxs")
        write_csv(rxes, Path(folder) / "export.csv")
        write_nexus(rxes, Path(folder) / "export.nxs")
        return {name: (Path(folder) / name).read_bytes() for name in ("map.nxs", "map.dat", "export.csv", "export.nxs")}


@SETTINGS
@given(choice=st.sampled_from(["map.nxs", "map.dat", "export.csv", "export.nxs"]),
       fraction=st.floats(0.0, 1.0, exclude_max=True),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), max_size=6))
def test_mutated_exports_and_synthetic_files(exports, choice, fraction, flips):
    data = bytearray(exports[choice])
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    if fraction > 0.5:
        data = data[: int(len(data) * (fraction - 0.5) * 2)]
    with tempfile.TemporaryDirectory() as folder:
        _only_format_errors(_write(folder, choice, bytes(data)))


def test_scan_dimensions_that_do_not_match_the_data(tmp_path):
    path = tmp_path / "dims.nxs"
    synth.write_nexus(path, synth.make_rxes(4, 5))
    with h5py.File(path, "r+") as handle:
        del handle["/entry1/scan_dimensions"]
        handle["/entry1/scan_dimensions"] = np.array([400000, 500000], dtype=np.int32)
    _refused(path, "do not match the data shape")
