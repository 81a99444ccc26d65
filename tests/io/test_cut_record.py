"""The record of a cut is written once per file (CSV header lines, NeXus process parameters) and read
back whole; exports of the previous version, which also kept it in the metadata JSON and repeated it
as the command's header lines, still read."""
from __future__ import annotations

import json

import h5py
import pytest

from xestools import analysis
from xestools.io import load, write_csv, write_nexus

CUT_FIELDS = ("cut_type", "cut_position_eV", "cut_width_eV", "cut_statistic", "cut_rule", "cut_coordinate",
              "cut_view", "cut_channel", "cut_source", "cut_label")


@pytest.fixture(scope="module")
def cut_spectrum(samples_dir):
    (rxes_map,) = load(samples_dir / "990101_1.nxs", channel="upper")
    spec = analysis.CutSpec("CIE", float(rxes_map.incident_axis[3]), 0.6, mean=True)
    result = analysis.cut(rxes_map, spec, "transfer")
    expected = {"type": "CIE", "position": float(rxes_map.incident_axis[3]), "width": 0.6, "statistic": "mean",
                "view": "transfer", "rule": "|c - position| <= width/2", "coordinate": "grid centres",
                "channel": "upper", "source": str(samples_dir / "990101_1.nxs"), "label": spec.label()}
    return result.to_spectrum(rxes_map), expected


def _header(path) -> list[tuple[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    return [tuple(part.strip() for part in line[1:].partition(":")[::2]) for line in lines]


def test_csv_holds_the_record_once_and_reads_it_back(cut_spectrum, tmp_path):
    spectrum, expected = cut_spectrum
    write_csv(spectrum, tmp_path / "cut.csv", header={"batch_input": "x.nxs"})
    header = _header(tmp_path / "cut.csv")
    for field in CUT_FIELDS:
        assert [key for key, _ in header if key.endswith(field)] == [f"xestools.{field}"], field
    metadata = json.loads(dict(header)["xestools.metadata"])
    assert "cut" not in metadata
    assert float(dict(header)["xestools.cut_position_eV"]) == expected["position"]
    (back,) = load(tmp_path / "cut.csv")
    assert back.metadata["cut"] == expected


def test_nexus_holds_the_record_once_and_reads_it_back(cut_spectrum, tmp_path):
    spectrum, expected = cut_spectrum
    write_nexus(spectrum, tmp_path / "cut.nxs", process={"program": "xestools", "command": "cut"})
    with h5py.File(tmp_path / "cut.nxs", "r") as handle:
        parameters = handle["entry/process/parameters"]
        assert sorted(name for name in parameters if name.startswith("cut_")) == sorted(CUT_FIELDS)
        assert parameters["cut_width_eV"][()] == 0.6 and parameters["cut_width_eV"].attrs["units"] == "eV"
        assert "cut" not in json.loads(handle["entry/xestools/metadata"][()])
    (back,) = load(tmp_path / "cut.nxs")
    assert back.metadata["cut"] == expected


OLD_CSV = """\
# xestools 0.2.0.dev0 csv
# xestools.kind: xes
# xestools.axis: incident
# xestools.label: "279517 XES (upper) CEE ω = 8638.90 eV ± 0.50"
# xestools.channel: upper
# xestools.source: "/data/279517_1.nxs"
# xestools.cut_type: CEE
# xestools.cut_position_eV: 8638.9
# xestools.cut_width_eV: 1.0
# xestools.cut_statistic: sum
# xestools.cut_rule: |c - position| <= width/2
# xestools.cut_coordinate: grid centres
# xestools.cut_view: incident
# xestools.metadata: {"cut":{"type":"CEE","position":8638.9,"width":1.0,"statistic":"sum","view":"incident",\
"rule":"|c - position| <= width/2","coordinate":"grid centres","source":"/data/279517_1.nxs"},"npoints":[4,4,3],\
"operations":[{"name":"cut","type":"CEE","position":8638.9,"width":1.0,"statistic":"sum","view":"incident",\
"rule":"|c - position| <= width/2","coordinate":"grid centres"}],"warnings":[],"intensity_source":"FFI1"}
# xestools.info: null
# xestools.written: 2026-12-07T19:33:46+00:00
# cut_type: CEE
# cut_position_eV: 8638.9
# cut_width_eV: 1.0
# cut_statistic: sum
# cut_channel: upper
# cut_view: incident
# cut_source: /data/279517_1.nxs
# cut_label: CEE ω = 8638.90 eV ± 0.50
# xestools.columns: omega_eV,intensity,intensity_sigma,npoints
omega_eV,intensity,intensity_sigma,npoints
9658.0,0.0012,4.4e-05,4
9658.3,0.0021,6.0e-05,4
9658.6,0.0046,8.7e-05,3
"""


def test_a_cut_csv_of_the_previous_version_still_reads(tmp_path):
    path = tmp_path / "old_cut.csv"
    path.write_text(OLD_CSV, encoding="utf-8")
    (spectrum,) = load(path)
    assert spectrum.metadata["cut"] == {"type": "CEE", "position": 8638.9, "width": 1.0, "statistic": "sum",
                                        "view": "incident", "rule": "|c - position| <= width/2",
                                        "coordinate": "grid centres", "source": "/data/279517_1.nxs"}
    assert spectrum.axis == "incident" and list(spectrum.energy) == [9658.0, 9658.3, 9658.6]
    assert spectrum.metadata["npoints"] == [4, 4, 3]


def test_a_cut_nexus_of_the_previous_version_still_reads(cut_spectrum, tmp_path):
    """The previous version kept the record in /entry/xestools/metadata too; that copy is used."""
    spectrum, expected = cut_spectrum
    path = tmp_path / "old_cut.nxs"
    write_nexus(spectrum, path)
    old_record = {key: value for key, value in expected.items() if key not in ("channel", "label")}
    with h5py.File(path, "r+") as handle:
        keep = handle["entry/xestools"]
        metadata = json.loads(keep["metadata"][()])
        del keep["metadata"]
        keep.create_dataset("metadata", data=json.dumps({"cut": old_record, **metadata}))
        for name in ("cut_channel", "cut_label", "cut_source"):
            del handle["entry/process/parameters"][name]
    (back,) = load(path)
    assert back.metadata["cut"] == old_record
