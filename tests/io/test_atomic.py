"""Atomic writes: whole file or old file, never a torn one, and ordinary permissions."""
import os
import stat

import pytest

from xestools.io.atomic import atomic_open, atomic_path, atomic_write


def test_new_file_gets_umask_permissions_not_private(tmp_path):
    target = tmp_path / "out.csv"
    atomic_write(target, "a,b\n")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~umask
    assert target.read_text() == "a,b\n"


def test_existing_permissions_are_kept(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write(target, b"new")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert target.read_bytes() == b"new"


def test_failure_inside_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("original")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("partial")
            raise RuntimeError("boom")
    assert target.read_text() == "original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_atomic_path_for_libraries_writing_by_name(tmp_path):
    target = tmp_path / "fig.png"
    with atomic_path(target) as temporary:
        assert os.path.dirname(temporary) == str(tmp_path)
        with open(temporary, "wb") as handle:
            handle.write(b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]
