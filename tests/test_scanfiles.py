"""xestools.scanfiles: which files of a folder are scans, the file-dialog filter, and loading a folder
with each bad file reported once."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from xestools import scanfiles
from xestools.io import load


def _link(folder: Path, source: Path, name: str | None = None) -> Path:
    target = folder / (name or source.name)
    target.symlink_to(source)
    return target


def test_scan_files_in_natural_order_without_raw_hidden_or_foreign_files(tmp_path):
    for name in ("99_1.nxs", "279517_1.nxs", "ZnO_standard_280754_1.dat", "a.csv", "b.TXT", "c.xy",
                 "medipix1-279517.hdf", "medipix2-280754.h5", ".~279517_1.nxs.tmp", ".hidden.nxs",
                 "notes.pdf", "image.png", "README"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub.nxs").mkdir()
    names = [p.name for p in scanfiles.scan_files(tmp_path)]
    assert names == ["99_1.nxs", "279517_1.nxs", "a.csv", "b.TXT", "c.xy", "ZnO_standard_280754_1.dat"]
    assert [p.name for p in scanfiles.scan_files(tmp_path, "*_1.*")] == [
        "99_1.nxs", "279517_1.nxs", "ZnO_standard_280754_1.dat"]
    with pytest.raises(NotADirectoryError):
        scanfiles.scan_files(tmp_path / "a.csv")


def test_dialog_filter_covers_every_readable_extension():
    first = scanfiles.file_dialog_filter().split(";;")[0]
    for extension in scanfiles.SCAN_EXTENSIONS:
        assert f"*{extension}" in first
    assert scanfiles.file_dialog_filter().endswith("All files (*)")
    for extension in (".nxs", ".dat", ".csv", ".txt"):  # what the readers and writers use
        assert extension in scanfiles.SCAN_EXTENSIONS


def test_start_folder_prefers_the_last_existing_one(tmp_path):
    assert scanfiles.start_folder(tmp_path, "/") == tmp_path
    assert scanfiles.start_folder(tmp_path / "gone", tmp_path / "cwd") == tmp_path / "cwd"
    assert scanfiles.start_folder(None) == Path.cwd()


def test_load_folder_loads_good_files_and_lists_each_bad_one_once(tmp_path, samples_dir):
    _link(tmp_path, samples_dir / "990101_1.nxs")
    _link(tmp_path, samples_dir / "990110_1.nxs")
    (tmp_path / "broken_1.nxs").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    (tmp_path / "empty.dat").write_text("")
    (tmp_path / "medipix1-990101.hdf").write_bytes(b"\x00" * 16)
    found = scanfiles.load_folder(tmp_path)
    assert [p.name for p, _ in found.loaded] == ["990101_1.nxs", "990110_1.nxs"]
    assert sorted(p.name for p, _ in found.failures) == ["broken_1.nxs", "empty.dat"]
    (expected_map,) = load(samples_dir / "990101_1.nxs")
    np.testing.assert_array_equal(found.objects[0].intensity, expected_map.intensity)
    summary = found.summary()
    assert summary.startswith(f"opened 2 of 4 scan files in {tmp_path}")
    assert summary.count("broken_1.nxs") == 1 and summary.count("empty.dat") == 1
    assert "broken_1.nxs: broken_1.nxs" not in summary  # the name is said once per line


def test_load_folder_channel_and_unreadable_file(tmp_path, samples_dir):
    _link(tmp_path, samples_dir / "990102_1.nxs")
    unreadable = tmp_path / "990110_1.nxs"
    unreadable.write_bytes((samples_dir / "990110_1.nxs").read_bytes())
    os.chmod(unreadable, 0)
    try:
        found = scanfiles.load_folder(tmp_path, channel="lower")
    finally:
        os.chmod(unreadable, 0o600)
    if os.geteuid() == 0:  # root reads anything
        assert [obj.channel.value for obj in found.objects] == ["lower", "lower"]
    else:
        assert [obj.channel.value for obj in found.objects] == ["lower"]
        assert [p.name for p, _ in found.failures] == ["990110_1.nxs"]


def test_load_folder_on_an_empty_folder(tmp_path):
    found = scanfiles.load_folder(tmp_path)
    assert found.objects == [] and found.failures == []
    assert found.summary() == f"no scan files in {tmp_path}"


def test_a_link_loop_or_a_fifo_in_a_folder_is_reported_and_the_good_files_still_listed(tmp_path, samples_dir):
    good = _link(tmp_path, samples_dir / "990101_1.nxs")
    (tmp_path / "loop.dat").symlink_to(tmp_path / "loop.dat")
    os.mkfifo(tmp_path / "fifo_2.dat")
    listing = scanfiles.list_scan_folder(tmp_path)
    assert listing.files == [good]
    assert [(path.name, problem.split(":")[0]) for path, problem in listing.problems] == [
        ("fifo_2.dat", "is a FIFO (named pipe), not a regular file"), ("loop.dat", "cannot be examined")]
    result = scanfiles.load_folder(tmp_path)
    assert [path for path, _ in result.loaded] == [good]
    assert sorted(path.name for path, _ in result.failures) == ["fifo_2.dat", "loop.dat"]


def test_xestools_info_on_a_folder_with_a_link_loop_describes_the_good_files(tmp_path, samples_dir, capsys):
    from xestools.cli import main

    _link(tmp_path, samples_dir / "990101_1.nxs")
    (tmp_path / "loop.dat").symlink_to(tmp_path / "loop.dat")
    assert main(["info", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "990101_1.nxs" in captured.out and "format:" in captured.out
    assert "loop.dat: cannot be examined: Too many levels of symbolic links" in captured.err
