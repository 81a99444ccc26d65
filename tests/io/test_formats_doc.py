"""Every snippet of docs/formats.md runs as written on real exports and gives the exported numbers."""
from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from xestools.analysis import CutSpec, cut
from xestools.cli import main
from xestools.io import load

DOC = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


def snippets() -> dict[str, str]:
    """The ```python blocks of the page, keyed by the word after '# ' on their first line."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return {block.split("\n", 1)[0].lstrip("# ").split(":")[0].split()[0].lower(): block for block in blocks}


@pytest.fixture(scope="module")
def exported(real_file, tmp_path_factory):
    """cut.csv and cut.nxs of a CEE cut of the real Kα map, and the expected profile."""
    folder = tmp_path_factory.mktemp("formats")
    source = str(real_file("279517_1.nxs"))
    for name in ("cut.csv", "cut.nxs"):
        assert main(["cut", source, "--type", "CEE", "--at", "8638.9", "--width", "0.6", "-o", str(folder / name)]) == 0
    (rxes,) = load(source)
    return folder, cut(rxes, CutSpec("CEE", 8638.9, 0.6))


def run(name: str, folder: Path, monkeypatch) -> dict:
    monkeypatch.chdir(folder)
    namespace: dict = {}
    exec(compile(snippets()[name], f"formats.md:{name}", "exec"), namespace)
    return namespace


def test_the_page_has_every_snippet():
    assert {"numpy", "pandas", "pivot", "larch", "h5py", "silx", "nexusformat", "xarray"} <= set(snippets())


def test_numpy_snippet(exported, monkeypatch):
    folder, expected = exported
    ns = run("numpy", folder, monkeypatch)
    np.testing.assert_array_equal(ns["omega"], expected.x)
    np.testing.assert_array_equal(ns["intensity"], expected.intensity)
    np.testing.assert_array_equal(ns["data"]["npoints"], expected.npoints)
    np.testing.assert_array_equal(ns["data"]["intensity_sigma"], expected.uncertainty)


def test_pandas_snippet(exported, monkeypatch):
    pytest.importorskip("pandas")
    folder, expected = exported
    table = run("pandas", folder, monkeypatch)["table"]
    assert list(table.columns) == ["omega_eV", "intensity", "intensity_sigma", "npoints"]
    assert table["npoints"].dtype.kind == "i"
    np.testing.assert_array_equal(table["omega_eV"].to_numpy(), expected.x)
    np.testing.assert_array_equal(table["intensity"].to_numpy(), expected.intensity)


def test_larch_snippet(exported, monkeypatch):
    pytest.importorskip("larch.io", reason="xraylarch is not installed")
    folder, expected = exported
    group = run("larch", folder, monkeypatch)["group"]
    np.testing.assert_allclose(group.omega_ev, expected.x, rtol=1e-15)
    np.testing.assert_allclose(group.intensity, expected.intensity, rtol=1e-15)


def test_h5py_snippet(exported, monkeypatch):
    folder, expected = exported
    ns = run("h5py", folder, monkeypatch)
    np.testing.assert_array_equal(ns["omega"], expected.x)
    np.testing.assert_array_equal(ns["intensity"], expected.intensity)
    np.testing.assert_array_equal(ns["sigma"], expected.uncertainty)


def test_silx_snippet(exported, monkeypatch):
    pytest.importorskip("silx.io.nxdata")
    folder, expected = exported
    ns = run("silx", folder, monkeypatch)
    np.testing.assert_array_equal(ns["signal"], expected.intensity)
    np.testing.assert_array_equal(ns["axes"][0], expected.x)
    np.testing.assert_array_equal(ns["errors"], expected.uncertainty)


def test_nexusformat_snippet(exported, monkeypatch):
    pytest.importorskip("nexusformat.nexus")
    folder, expected = exported
    np.testing.assert_array_equal(run("nexusformat", folder, monkeypatch)["signal"], expected.intensity)


def test_documented_map_layout(tmp_path, real_file):
    """The long-format map CSV: Ω outer, ω inner, mask as integers, as the page says."""
    out = tmp_path / "map.csv"
    assert main(["export", str(real_file("279517_1.nxs")), "-o", str(out)]) == 0
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == ("incident_index,emission_index,incident_energy_eV,emission_energy_eV,incident_readback_eV,"
                        "emission_readback_eV,energy_transfer_eV,intensity,intensity_sigma,monitor,mask")
    assert lines[1].endswith(",1")
    with h5py.File(real_file("279517_1.nxs"), "r", locking=False) as handle:
        omega = handle["entry1/I1/bragg1WithOffset"][()]
        emission = handle["entry1/I1/XESEnergyUpper"][()]
    first = [float(v) for v in lines[1].split(",")[4:6]]
    second = [float(v) for v in lines[2].split(",")[4:6]]
    assert first == [omega[0, 0], emission[0, 0]] and second == [omega[0, 1], emission[0, 1]]
    assert lines[2].split(",")[:2] == ["0", "1"] and lines[75].split(",")[:2] == ["1", "0"]  # 74 ω per Ω row


def test_pivot_snippet_gives_the_map_back(tmp_path, real_file, monkeypatch):
    """pandas.pivot on the grid columns of the map CSV is the map, bit for bit (rows Ω, columns ω)."""
    pytest.importorskip("pandas")
    assert main(["export", str(real_file("279517_1.nxs")), "-o", str(tmp_path / "map.csv")]) == 0
    (rxes,) = load(real_file("279517_1.nxs"))
    table = run("pivot", tmp_path, monkeypatch)["rxes"]
    np.testing.assert_array_equal(table.to_numpy(), rxes.intensity)
    np.testing.assert_array_equal(table.index.to_numpy(), rxes.incident_axis)
    np.testing.assert_array_equal(table.columns.to_numpy(), rxes.emission_axis)


def test_xarray_snippet_has_real_coordinates(exported, monkeypatch):
    pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    folder, expected = exported
    profile = run("xarray", folder, monkeypatch)["profile"]
    assert profile.dims == ("energy",)
    np.testing.assert_array_equal(profile["energy"].values, expected.x)
    np.testing.assert_array_equal(profile.values, expected.intensity)
    assert profile["energy"].attrs["units"] == "eV"
