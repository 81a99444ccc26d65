"""Poisson σ with the documented non-zero value for zero counts, through the readers and the weighting."""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from xestools.analysis import average_spectra
from xestools.analysis.uncertainty import ZERO_COUNT_SIGMA, poisson_sigma
from xestools.io import load


def test_rule_by_hand():
    counts = np.array([0.0, 1.0, 4.0, 9.0, -3.0, np.nan])
    monitor = np.array([2.0, 2.0, 2.0, 3.0, 2.0, 2.0])
    expected = np.array([1.0 / 2, 1.0 / 2, 2.0 / 2, 3.0 / 3, 1.0 / 2, np.nan])
    np.testing.assert_array_equal(poisson_sigma(counts, monitor), expected)
    assert ZERO_COUNT_SIGMA == 1.0


@pytest.mark.parametrize("name", ["280772_1.nxs", "ZnO_standard_280772_1.dat"])
def test_zero_count_point_gets_one_count_over_monitor(real_file, tmp_path, name):
    """A copy of the real VtC scan with one ROI total set to 0: σ there is 1/I1, elsewhere √N/I1 (h5py/numpy)."""
    source = real_file(name)
    copy = tmp_path / name
    shutil.copyfile(source, copy)
    with h5py.File(real_file("280772_1.nxs"), "r", locking=False) as handle:
        roi = handle["entry1/instrument/medipix2/medipix2_roi_total"][()].astype(float)
        i1 = handle["entry1/I1/I1"][()].astype(float)
        energy = handle["entry1/instrument/XESEnergyLower/XESEnergyLower"][()]
    if name.endswith(".nxs"):
        with h5py.File(copy, "r+") as handle:
            handle["entry1/instrument/medipix2/medipix2_roi_total"][10] = 0
    else:
        lines = copy.read_text().splitlines()
        rows = [k for k, line in enumerate(lines) if line.strip() and not line.startswith("#")]
        header = next(line for line in lines if line.startswith("#") and "FF_medipix2" in line).lstrip("#").split()
        cells = lines[rows[10]].rstrip("\t").split("\t")
        cells[header.index("FF_medipix2")] = "0"
        lines[rows[10]] = "\t".join(cells) + "\t"
        copy.write_text("\n".join(lines) + "\n")
    roi[10] = 0.0
    (spectrum,) = load(copy)
    order = np.argsort(energy)
    expected = np.where(roi > 0, np.sqrt(roi), 1.0) / i1
    np.testing.assert_allclose(spectrum.uncertainty, expected[order], rtol=1e-12)
    assert np.all(spectrum.uncertainty > 0)
    weighted = average_spectra([spectrum, spectrum], weighted=True)  # no longer refused
    assert np.all(np.isfinite(weighted.intensity))
