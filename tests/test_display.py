"""In a notebook: ``xestools.plot`` returns the Figure that ``xestools plot`` saves, and Spectrum/RXESMap show a
small picture and a summary table, without ever raising."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

import xestools
from xestools.cli import main
from xestools.figures import save_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("userdata")))
        return xestools.sample_folder()


@pytest.mark.parametrize("view", ["incident", "transfer"])
def test_plot_is_the_figure_the_command_saves(samples, tmp_path, view):
    (rxes,) = xestools.load(samples / "990101_1.nxs")
    figure = xestools.plot(rxes, view=view, cuts=["CEE:8638.9:1.0", "CIE:9660:0.4"])
    assert isinstance(figure, Figure)
    save_figure(figure, tmp_path / "api.png", dpi=40)
    assert main(["plot", str(samples / "990101_1.nxs"), "--view", view, "--cut", "CEE:8638.9:1.0",
                 "--cut", "CIE:9660:0.4", "--dpi", "40", "-o", str(tmp_path / "cli.png"), "-q"]) == 0
    np.testing.assert_array_equal(imread(tmp_path / "api.png"), imread(tmp_path / "cli.png"))


def test_plot_overlays_spectra_with_sigma_bands(samples):
    import matplotlib.pyplot as plt

    repeats = [xestools.load(samples / f"{scan}_1.nxs")[0] for scan in (990111, 990112)]
    figure = xestools.plot(repeats)
    (ax,) = figure.axes
    assert len(ax.get_lines()) == 2 and ax.collections        # the lines and their ±1σ bands
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), repeats[1].intensity)
    assert plt.get_fignums() == []                           # no pyplot state
    with pytest.raises(ValueError, match="cuts need an RXES map"):
        xestools.plot(repeats[0], cuts=["CEE:8638.9:1.0"])
    with pytest.raises(TypeError):
        xestools.plot("990111_1.nxs")


def test_reprs_show_a_picture_and_a_summary(samples):
    (rxes,) = xestools.load(samples / "990101_1.nxs")
    spectrum = xestools.load(samples / "990111_1.nxs")[0]
    for obj in (rxes, spectrum):
        picture = obj._repr_png_()
        assert picture.startswith(PNG_SIGNATURE) and len(picture) < 200_000
        page = obj._repr_html_()
        assert "<table" in page and "data:image/png;base64," in page and "990101" in rxes._repr_html_()
    assert "25 Ω × 80 ω (2000 measured)" in rxes._repr_html_()


def test_reprs_never_raise(samples, monkeypatch, caplog):
    """A drawing that fails is logged with its traceback; the summary is still shown, the picture left out."""
    import xestools.figures

    (rxes,) = xestools.load(samples / "990101_1.nxs")

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(xestools.figures, "plot", broken)
    with caplog.at_level(logging.ERROR, logger="xestools.display"):
        assert rxes._repr_png_() is None
        page = rxes._repr_html_()
    assert "<table" in page and "<img" not in page
    assert "drawing failed" in caplog.text
    empty = xestools.Spectrum(energy=np.arange(3.0), intensity=np.full(3, np.nan), label="<all missing>")
    assert "&lt;all missing&gt;" in empty._repr_html_()
