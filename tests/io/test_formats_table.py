"""The table of formats is the only place a format is chosen: a toy export format registered in the
table is offered and written by the CLI, the GUI's save dialogs and batch without touching them."""
from __future__ import annotations

import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from xestools import batch, cli
from xestools import recipe as recipe_model
from xestools.io import formats, load

TOY = formats.FileFormat("tsv", "Tab-separated", (".tsv",), formats.DATA, "Tab-separated (*.tsv)",
                         writer="toy_tsv_format:write")


def _write_tsv(obj, path, *, columns=None, header=None, process=None) -> None:
    """The toy writer: intensities, one per line, after a line naming the format."""
    values = np.asarray(obj.intensity, dtype=float).ravel()
    Path(path).write_text("toy tsv\n" + "\n".join(repr(v) for v in values.tolist()) + "\n", encoding="utf-8")


@pytest.fixture
def toy_format(monkeypatch):
    module = types.ModuleType("toy_tsv_format")
    module.write = _write_tsv
    monkeypatch.setitem(sys.modules, "toy_tsv_format", module)
    monkeypatch.setattr(formats, "FORMATS", [*formats.FORMATS, TOY])
    return TOY


def _toy_values(path: Path) -> np.ndarray:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "toy tsv"
    return np.array([float(v) for v in lines[1:]])


def test_cli_export_writes_a_format_of_the_table(toy_format, samples_dir, tmp_path):
    source = samples_dir / "ZnO_synthetic_990110_1.dat"
    out = tmp_path / "spectrum.tsv"
    assert cli.main(["export", str(source), "--format", "tsv", "-o", str(out)]) == 0
    (spectrum,) = load(source)
    np.testing.assert_array_equal(_toy_values(out), np.asarray(spectrum.intensity, dtype=float))


def test_cli_refuses_a_format_not_in_the_table(samples_dir, tmp_path, capsys):
    source = samples_dir / "ZnO_synthetic_990110_1.dat"
    assert cli.main(["export", str(source), "-o", str(tmp_path / "spectrum.tsv")]) == 2
    assert "unknown output extension '.tsv'" in capsys.readouterr().err


def test_gui_save_dialog_offers_and_writes_the_format(toy_format, samples_dir, tmp_path, monkeypatch):
    from xestools.gui.rxes import export

    (rxes_map,) = load(samples_dir / "990101_1.nxs", channel="upper")
    asked = {}
    target = tmp_path / "map.tsv"

    def save_name(parent, title, suggestion, file_filter, data_path=None):
        asked["filters"] = file_filter.split(";;")
        return str(target)

    monkeypatch.setattr(export, "save_name", save_name)
    panel = SimpleNamespace(document=None, map_plot=SimpleNamespace(rxes_map=rxes_map))
    export.map_dialog(None, panel, lambda text: None)
    assert asked["filters"] == ["NeXus (*.nxs)", "CSV (*.csv)", "Tab-separated (*.tsv)"]
    np.testing.assert_array_equal(_toy_values(target), np.asarray(rxes_map.intensity, dtype=float).ravel())


def test_batch_recipe_takes_and_writes_the_format(toy_format, samples_dir, tmp_path):
    source = samples_dir / "ZnO_synthetic_990110_1.dat"
    recipe = batch.Recipe.from_dict({"format": recipe_model.RECIPE_FORMAT, "version": recipe_model.RECIPE_VERSION,
                                     "output": {"format": "tsv"}})
    task = batch.Task(key="file:0", stem="zno", out_dir=str(tmp_path), recipe=recipe, timeout=60.0, path=str(source))
    outcome = batch.run_task(task)
    (product,) = outcome.products
    assert product.output == str(tmp_path / "zno.tsv"), product.error
    (spectrum,) = load(source)
    np.testing.assert_array_equal(_toy_values(Path(product.output)), np.asarray(spectrum.intensity, dtype=float))


def test_recipe_refuses_a_format_not_in_the_table():
    with pytest.raises(batch.RecipeError, match="output.format must be csv or nxs"):
        batch.Recipe.from_dict({"format": recipe_model.RECIPE_FORMAT, "version": recipe_model.RECIPE_VERSION,
                                "output": {"format": "tsv"}})


def test_every_reader_and_writer_of_the_table_exists():
    for fmt in formats.FORMATS:
        for role in ("recognise", "detect", "load", "writer"):
            if getattr(fmt, role):
                assert callable(fmt.function(role)), (fmt.name, role)
        assert fmt.extensions and all(ext.startswith(".") and ext == ext.lower() for ext in fmt.extensions)
