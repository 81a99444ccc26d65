"""Series of repeats and twins: grouping, the twin rule, averaging a series."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xestools.analysis import average_spectra
from xestools.analysis.series import (SeriesIndex, average_series, deduplicate, group_signatures, is_twin,
                                      scan_type, signature)
from xestools.io import load


def one(path):
    (obj,) = load(path)
    return obj


def test_twins_average_to_the_one_scan_result_with_a_notice(real_file):
    nexus = one(real_file("280772_1.nxs"))
    ascii_twin = one(real_file("ZnO_standard_280772_1.dat"))
    assert is_twin(nexus, ascii_twin)
    result = average_series([nexus, ascii_twin])
    single = average_spectra([nexus])
    np.testing.assert_array_equal(result.energy, single.energy)
    np.testing.assert_array_equal(result.intensity, single.intensity)
    np.testing.assert_array_equal(result.uncertainty, single.uncertainty)
    assert len(result.metadata["members"]) == 1
    assert result.metadata["twins"] == [str(real_file("ZnO_standard_280772_1.dat"))]
    notes = " ".join(result.metadata["notes"])
    assert "ZnO_standard_280772_1.dat is the same scan as 280772_1.nxs" in notes and "counted once" in notes
    # the core itself counts a twin once (a two-member average would report σ too small by √2),
    # so the CLI's and the XES tab's averages of ticked scans agree with the series average
    direct = average_spectra([nexus, ascii_twin])
    np.testing.assert_array_equal(direct.uncertainty, single.uncertainty)
    assert direct.metadata["notes"] == result.metadata["notes"]


def test_different_scans_are_not_twins(real_file):
    assert not is_twin(one(real_file("280772_1.nxs")), one(real_file("280754_1.nxs")))
    nexus = one(real_file("280772_1.nxs"))
    changed = np.array(nexus.intensity)
    changed[100] *= 1.01                          # one count differs: another measurement
    assert not is_twin(nexus, dataclasses.replace(nexus, intensity=changed))
    renumbered = dataclasses.replace(nexus, info=dataclasses.replace(nexus.info, scan_number=280773))
    assert not is_twin(nexus, renumbered)


def test_a_copy_in_progress_is_a_twin_and_the_complete_one_is_kept(real_file):
    full = one(real_file("280772_1.nxs"))
    partial = dataclasses.replace(full, energy=full.energy[:50], intensity=full.intensity[:50],
                                  uncertainty=full.uncertainty[:50], monitor=full.monitor[:50], source="partial.dat")
    kept, notices = deduplicate([partial, full])
    assert kept == [full] and len(notices) == 1 and "partial.dat" in notices[0]


def test_repeats_form_one_series_named_after_sample_and_type(samples_dir, real_file):
    index = SeriesIndex()
    changed = []
    index.listeners.append(changed.append)
    repeats = [one(samples_dir / f"{number}_1.nxs") for number in (990111, 990112, 990113)]
    wide = one(samples_dir / "990110_1.nxs")
    for scan in repeats[:2] + [wide]:
        index.add(scan)
    assert len(index.series) == 2
    vtc = index.series_of(repeats[0])
    assert vtc.name == "ZnO_synthetic — VtC XES, 2 scans"
    assert index.series_of(wide).name == "ZnO_synthetic — Kβ1,3 XES, 1 scan"
    vtc.follow_average = True
    result = index.add(repeats[2])                 # a new repeat arrives and joins its series
    assert result.series is vtc and result.joined and not result.new_series
    assert vtc.name == "ZnO_synthetic — VtC XES, 3 scans" and changed[-1] is vtc
    expected = average_spectra(repeats)
    np.testing.assert_allclose(vtc.average.intensity, expected.intensity, rtol=1e-12)
    assert [m["source"] for m in vtc.average.metadata["members"]] == [r.source for r in repeats]
    index.remove(repeats[0])
    assert vtc.name.endswith("2 scans") and len(vtc.average.metadata["members"]) == 2


def test_a_twin_added_to_a_series_is_set_aside(real_file):
    index = SeriesIndex()
    index.add(one(real_file("280772_1.nxs")))
    result = index.add(one(real_file("ZnO_standard_280772_1.dat")))
    assert not result.joined and "counted once" in result.notice
    assert result.series.name == "ZnO_standard — VtC XES, 1 scan"
    average = result.series.compute_average()
    assert len(average.metadata["members"]) == 1 and average.metadata["twins"]


def test_a_scan_in_progress_joins_its_series_by_its_command(real_file):
    full = one(real_file("280772_1.nxs"))
    other = dataclasses.replace(full, energy=full.energy[:40], intensity=full.intensity[:40] * 1.1,
                                uncertainty=None, monitor=None,
                                info=dataclasses.replace(full.info, scan_number=280773))
    assert signature(full).same_series(signature(other))
    without_command = dataclasses.replace(other, info=dataclasses.replace(other.info, command=""))
    assert not signature(full).same_series(signature(without_command))   # measured range is shorter
    unnamed = dataclasses.replace(full, info=dataclasses.replace(full.info, sample_name=""))
    assert not signature(unnamed).same_series(signature(unnamed))


def test_maps_series_and_scan_types(real_file, samples_dir):
    real_map = one(real_file("279517_1.nxs"))
    assert scan_type(signature(real_map)) == "Kα RXES"
    sample_map = one(samples_dir / "990101_1.nxs")
    ascii_map = one(samples_dir / "ZnO_synthetic_990101_1.dat")
    assert is_twin(sample_map, ascii_map)
    assert group_signatures([signature(real_map), signature(sample_map), signature(ascii_map)]) == [[0], [1, 2]]
    averaged = average_series([sample_map, ascii_map])
    np.testing.assert_array_equal(averaged.intensity, sample_map.intensity)
    assert len(averaged.metadata["members"]) == 1


def test_range_tolerance_is_jitter_not_a_step():
    from xestools.analysis.series import Range

    base = Range(9620.0, 9680.0, 0.3)
    assert base.matches(Range(9620.004, 9679.996, 0.3))
    assert not base.matches(Range(9620.3, 9680.0, 0.3))
    assert not base.matches(Range(9620.0, 9680.0, 0.2))


def test_mixed_kinds_are_refused(real_file):
    with pytest.raises(ValueError, match="spectra together with maps"):
        average_series([one(real_file("280772_1.nxs")), one(real_file("279517_1.nxs"))])


def test_a_growing_scan_read_again_replaces_its_earlier_state(real_file):
    full = one(real_file("280772_1.nxs"))
    early = dataclasses.replace(full, energy=full.energy[:30], intensity=full.intensity[:30],
                                uncertainty=full.uncertainty[:30], monitor=full.monitor[:30])
    index = SeriesIndex()
    index.add(early)
    series = index.series[0]
    series.follow_average = True
    result = index.add(full)                                   # the same file, read again when complete
    assert result.joined and result.notice == "" and series.members == [full] and series.twins == []
    assert len(series.average.energy) == len(average_spectra([full]).energy)
    twin = index.add(one(real_file("ZnO_standard_280772_1.dat")))
    assert not twin.joined and series.members == [full] and len(series.twins) == 1
