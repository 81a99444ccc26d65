"""docs/api.md is executed: its shell commands through ``xestools.cli.main`` and its Python blocks in
one namespace, in the samples folder, as a user would run them; the results are then checked
against independent numpy/h5py computations on the sample files."""
from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

import h5py
import numpy as np
import pytest

import xestools
from xestools.cli import main

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def doc_blocks() -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in BLOCK.findall(API_DOC.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run every block of docs/api.md in order, in the samples folder; return the Python namespace."""
    user_data = tmp_path_factory.mktemp("userdata")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(user_data))
        folder = xestools.sample_folder()
        patch.chdir(folder)
        namespace: dict = {"__name__": "api_doc"}
        for lang, code in doc_blocks():
            if lang == "sh":
                for line in code.splitlines():
                    words = shlex.split(line, comments=True)
                    if words:
                        assert words[0] == "xestools", line
                        assert main([*words[1:], "-q"]) == 0, line
            else:
                assert lang == "python"
                exec(compile(code, str(API_DOC), "exec"), namespace)
    return namespace


def test_doc_has_shell_and_python_examples():
    langs = [lang for lang, _ in doc_blocks()]
    assert langs.count("python") >= 3 and langs.count("sh") >= 2


def test_doc_names_every_public_name():
    text = API_DOC.read_text(encoding="utf-8")
    for name in xestools.__all__:
        assert f"`xestools.{name}" in text or f"xestools.{name}(" in text, name


def test_public_names_resolve_lazily():
    for name in xestools.__all__:
        assert getattr(xestools, name) is not None, name
    assert set(dir(xestools)) >= set(xestools.__all__)
    with pytest.raises(AttributeError):
        xestools.no_such_name  # noqa: B018


def test_cut_example_equals_raw_sum(executed):
    """The HERFD of the doc equals the FFI1 sum over the ω columns within 0.5 eV of 8638.9, from h5py."""
    folder = executed["folder"]
    with h5py.File(folder / "990101_1.nxs", "r") as handle:
        counts = handle["entry1/instrument/medipix1/medipix1_roi_total"][()]
        i1 = handle["entry1/instrument/I1/I1"][()]
        omega_in = handle["entry1/instrument/bragg1WithOffset/bragg1WithOffset"][()]
        emission = handle["entry1/instrument/XESEnergyUpper/XESEnergyUpper"][()]
    columns = np.abs(emission.mean(axis=0) - 8638.9) <= 0.5
    assert columns.sum() == 2
    herfd = executed["herfd"]
    np.testing.assert_allclose(herfd.intensity, (counts / i1)[:, columns].sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(herfd.x, omega_in.mean(axis=1), atol=0.003)
    assert list(herfd.npoints) == [2] * 25


def test_xes_workflow_example_is_physical(executed):
    repeats, vtc, normalised = executed["repeats"], executed["vtc"], executed["normalised"]
    # The repeats share their ω grid within jitter: the average is their point-wise mean to 0.5 %.
    mean = np.mean([spectrum.intensity for spectrum in repeats], axis=0)
    np.testing.assert_allclose(np.interp(repeats[0].energy, vtc.energy, vtc.intensity), mean, rtol=5e-3)
    # Divided by the Kβ1,3 area over 9560–9590 eV, computed here with numpy's trapezoid rule.
    kb13 = executed["kb13"]
    inside = (kb13.energy >= 9560) & (kb13.energy <= 9590)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    area = trapezoid(kb13.intensity[inside], kb13.energy[inside])
    np.testing.assert_allclose(normalised.intensity * area, vtc.intensity, rtol=2e-2)
    # The synthetic Kβ2,5 line lies at 9657.5 eV (xestools.samples.KBETA25).
    assert abs(executed["metrics"].peak_position - 9657.5) < 0.5
    assert 0 < executed["metrics"].fwhm < 15
    assert Path("vtc_norm_api.csv").name in {p.name for p in executed["folder"].iterdir()}


def test_background_and_folder_examples(executed):
    fit, vtc = executed["fit"], executed["vtc"]
    assert fit.background.intensity.shape == vtc.intensity.shape
    assert np.all(np.isfinite(executed["subtracted"]))
    found = executed["found"]
    assert not found.failures
    assert {path.name for path, _ in found.loaded} >= {"990101_1.nxs", "herfd.csv", "vtc_norm.csv"}
    assert len(executed["maps"]) == 2  # 990101_1.nxs and its ASCII twin


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    readme = API_DOC.parents[1] / "README.md"
    blocks = [code for lang, code in BLOCK.findall(readme.read_text(encoding="utf-8")) if lang == "python"]
    assert blocks
    namespace: dict = {"__name__": "readme"}
    for code in blocks:
        exec(compile(code, str(readme), "exec"), namespace)
    assert len(namespace["herfd"]) == 25 and set(namespace["herfd"].npoints) == {2}


def test_import_xestools_stays_light():
    """The crash supervisor imports xestools: the public names must not pull numpy, h5py or Qt in."""
    import subprocess
    import sys

    code = ("import sys, xestools; xestools.__version__; "
            "print(sorted(m for m in ('numpy', 'h5py', 'PySide6', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=API_DOC.parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_conversion_examples_give_the_file_numbers(executed):
    """The pivoted DataFrame and the netCDF round trip give the FFI1 of the file, read here with h5py."""
    with h5py.File(executed["folder"] / "990101_1.nxs", "r") as handle:
        counts = handle["entry1/instrument/medipix1/medipix1_roi_total"][()]
        i1 = handle["entry1/instrument/I1/I1"][()]
    np.testing.assert_array_equal(executed["grid"].to_numpy(), counts / i1)
    np.testing.assert_array_equal(executed["again"].intensity, counts / i1)
    assert executed["ds"].attrs["source_sha256"] == hashlib.sha256(
        (executed["folder"] / "990101_1.nxs").read_bytes()).hexdigest()
    assert list(executed["spectrum_table"].columns)[:3] == ["emission_energy_eV", "intensity", "intensity_sigma"]
    labels = {ax.get_ylabel() for ax in executed["figure"].axes}
    assert len(executed["figure"].axes) == 4 and "Energy transfer Ω − ω (eV)" in labels
    assert executed["profile"].attrs["cut_type"] == "CEE"
