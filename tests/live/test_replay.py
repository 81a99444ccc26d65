"""The scan replayer writes what GDA writes, in the same order, and ends with SRC's numbers exactly."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from xestools.replay import Replayer, main


def _lines(path):
    return open(path, "rb").read().splitlines(keepends=True)


@pytest.mark.parametrize("name", ["XES_ZnZSM5_air500_279192_1.dat", "ZnO_standard_280772_1.dat"])
def test_finished_ascii_replay_is_the_source_byte_for_byte(real_file, tmp_path, name):
    src = real_file(name)
    assert Replayer(src, tmp_path).run() == len([l for l in _lines(src) if l[:1].isdigit()])
    assert (tmp_path / name).read_bytes() == src.read_bytes()


def test_sample_ascii_replay_is_the_source_byte_for_byte(samples_dir, tmp_path):
    src = samples_dir / "ZnO_synthetic_990101_1.dat"
    Replayer(src, tmp_path / "out.dat", split_rows=True).run()
    assert (tmp_path / "out.dat").read_bytes() == src.read_bytes()


def test_unfinished_ascii_replay_has_header_and_rows_but_no_footer(real_file, tmp_path):
    src = real_file("ZnO_standard_280754_1.dat")
    Replayer(src, tmp_path / "part.dat").run(stop_after=10)
    source, written = _lines(src), _lines(tmp_path / "part.dat")
    first_row = next(i for i, line in enumerate(source) if line[:1].isdigit())
    assert written == source[:first_row + 10]
    assert not written[-1].startswith(b"#")


def _datasets(path):
    """Every dataset stored in the file: name -> (values, attributes); external links as their targets."""
    found = {}
    with h5py.File(path, "r", locking=False) as handle:
        def visit(name, link):
            if isinstance(link, h5py.ExternalLink):
                found[name] = ("external", link.filename, link.path)
            elif isinstance(handle[name], h5py.Dataset):
                found[name] = (handle[name][()], dict(handle[name].attrs))
        handle.visititems_links(visit)
    return found


def _same(left, right):
    if isinstance(left, np.ndarray):
        return left.dtype == right.dtype and np.array_equal(left, right)
    return left == right


@pytest.mark.parametrize("swmr, extendable", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("name", ["279517_1.nxs", "279496_1.nxs"])
def test_finished_nexus_replay_holds_the_source_datasets(real_file, tmp_path, name, swmr, extendable):
    src = real_file(name)
    Replayer(src, tmp_path, swmr=swmr, extendable=extendable).run()
    got, expected = _datasets(tmp_path / name), _datasets(src)
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        if isinstance(value[0], str):
            assert got[key] == value
            continue
        assert _same(got[key][0], value[0]), key
        assert sorted(got[key][1]) == sorted(value[1]) and all(_same(got[key][1][a], v) for a, v in value[1].items())
    with h5py.File(tmp_path / name, "r", locking=False) as handle:
        # NXdata and instrument share the same dataset (a hard link), as GDA writes it
        shared = h5py.h5o.get_info(handle["entry1/I1/I1"].id).addr
        assert shared == h5py.h5o.get_info(handle["entry1/instrument/I1/I1"].id).addr
    with open(tmp_path / name, "rb") as handle:
        assert (handle.read(9)[8] >= 2) == swmr             # SWMR needs the newest superblock


@pytest.mark.parametrize("extendable", [False, True])
def test_unfinished_nexus_replay_holds_the_first_points_only(real_file, tmp_path, extendable):
    src = real_file("279517_1.nxs")
    Replayer(src, tmp_path / "part.nxs", extendable=extendable).run(stop_after=100)
    with h5py.File(src, "r", locking=False) as source, h5py.File(tmp_path / "part.nxs", "r", locking=False) as part:
        expected = source["entry1/instrument/medipix1/FFI1_medipix1"][()].ravel()
        written = part["entry1/instrument/medipix1/FFI1_medipix1"]
        assert written.shape == ((2, 74) if extendable else (17, 74))   # 100 points = one row and 26 points
        flat = written[()].ravel()
        assert np.array_equal(flat[:100], expected[:100]) and not flat[100:].any()


def test_pacing_never_writes_ahead_of_the_rate(real_file, tmp_path):
    replayer = Replayer(real_file("ZnO_standard_280754_1.dat"), tmp_path / "paced.dat", rate=50.0)
    replayer.run(stop_after=11)
    points, times = zip(*replayer.times)
    assert points[-1] == 11 and list(points) == sorted(points)
    assert times[-1] - times[0] >= (11 - points[0]) / 50.0 - 1e-3


def test_start_at_writes_the_first_points_at_once(real_file, tmp_path):
    replayer = Replayer(real_file("279517_1.nxs"), tmp_path / "late.nxs", rate=1000.0)
    replayer.run(start_at=1000)
    assert replayer.times[0][0] == 1000 and replayer.times[-1][0] == 1258


def test_refuses_to_overwrite_and_reports_on_the_command_line(real_file, tmp_path, capsys):
    src = real_file("279517_1.nxs")
    (tmp_path / "279517_1.nxs").write_bytes(b"keep me")
    assert main([str(src), str(tmp_path), "--rate", "0"]) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert (tmp_path / "279517_1.nxs").read_bytes() == b"keep me"
    assert not list(tmp_path.glob("*.part"))
    dat = real_file("ZnO_standard_280754_1.dat")
    (tmp_path / dat.name).write_bytes(b"keep")
    assert main([str(dat), str(tmp_path), "--rate", "0"]) == 2
    assert (tmp_path / dat.name).read_bytes() == b"keep"
    with pytest.raises(ValueError, match="same file"):
        Replayer(src, src)


def test_command_line_writes_a_whole_scan_and_its_times(real_file, tmp_path, capsys):
    import json

    src = real_file("280772_1.nxs")
    assert main([str(src), str(tmp_path / "out.nxs"), "--rate", "0", "--swmr", "--times",
                 str(tmp_path / "times.json")]) == 0
    assert "201 of 201 points" in capsys.readouterr().out
    points = [p for p, _ in json.loads((tmp_path / "times.json").read_text())]
    assert points[-1] == 201


def test_should_stop_ends_a_replay_early(real_file, tmp_path):
    src = real_file("ZnO_standard_280754_1.dat")
    calls = []
    replayer = Replayer(src, tmp_path / "stopped.dat", rate=1000.0)
    assert replayer.run(should_stop=lambda: calls.append(1) or len(calls) > 3) < replayer.total
    assert not (tmp_path / "stopped.dat").read_bytes().rstrip().endswith(src.read_bytes().rstrip()[-20:])
