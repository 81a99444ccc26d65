"""Qt-free pieces of "what a user sees": the shared intensity format, the mixed-units warning, short
legend labels, the first window size and the layout engine that keeps labels on the canvas."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from xestools.drawing import MarginsToFit, XesOverlay, is_mixed, short_cut_label
from xestools.figures import IntensityFormatter
from xestools.gui.common.geometry import MINIMUM_SIZE, first_size
from xestools.model import Spectrum


def spectrum(intensity, normalised: bool = False) -> Spectrum:
    energy = np.linspace(9620.0, 9680.0, len(intensity))
    metadata = {"normalisation": {"reference": "self", "window": [9620.0, 9680.0]}} if normalised else {}
    return Spectrum(energy=energy, intensity=np.asarray(intensity, float), metadata=metadata)


def test_intensity_format_uses_one_power_of_ten_for_small_values():
    formatter = IntensityFormatter()
    formatter.set_range(0.0, 5.4e-3)
    assert formatter.exponent == -3 and formatter.get_offset() == "×10⁻³"
    labels = [formatter(value) for value in (1.08e-3, 2.16e-3, 3e-3, 4.32e-3)]
    assert labels == ["1.1", "2.2", "3.0", "4.3"]    # one format, not 0.00108 / 5.06e-05 / 0.003
    assert float(labels[0]) * 1e-3 == pytest.approx(1.08e-3, abs=5e-5)


def test_intensity_format_plain_range_and_log():
    formatter = IntensityFormatter()
    formatter.set_range(0.0, 0.06)
    assert formatter.exponent == 0 and formatter(0.0214) == "0.021" and formatter.get_offset() == ""
    formatter.set_range(1e-5, 1e-2, log=True)
    assert formatter(2.5e-4) == "2.5×10⁻⁴"


def test_mixed_means_some_but_not_all_normalised():
    raw, normalised = spectrum([1.0, 2.0, 1.0]), spectrum([0.1, 0.2, 0.1], normalised=True)
    assert is_mixed([raw, normalised])
    assert not is_mixed([raw, raw]) and not is_mixed([normalised]) and not is_mixed([])
    assert not is_mixed([raw, normalised], scale="max"), "each ÷ its maximum is one quantity again"


def test_short_cut_labels_keep_kind_position_and_emptiness():
    assert short_cut_label("CEE ω = 8638.90 eV ± 0.50") == "CEE 8638.90"
    assert short_cut_label("CET Ω − ω = 1020.90 eV ± 0.45 (mean)") == "CET 1020.90"
    assert short_cut_label("CEE ω = 8700.00 eV ± 0.50 — empty: outside the map") == "CEE 8700.00 (empty)"


@pytest.mark.parametrize("available, expected", [((1366, 768 - 28), (1350, 700)), ((1920, 1080 - 40), (1600, 1000)),
                                                 ((700, 520), MINIMUM_SIZE), ((800, 560), (784, 520))])
def test_first_window_fits_the_screen(available, expected):
    size = first_size(*available)
    assert size == expected
    if available[1] >= MINIMUM_SIZE[1] + 40:
        assert size[1] + 40 <= available[1], "title bar, status bar and readout on screen"


@pytest.mark.parametrize("size", [(3.45, 2.09), (6.16, 3.63), (12.0, 6.0)])
def test_xes_labels_stay_inside_with_long_ticks(size):
    figure = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    overlay = XesOverlay(ax)
    assert isinstance(figure.get_layout_engine(), MarginsToFit)
    from xestools.drawing import OverlayEntry
    from xestools.plot_settings import XesPlotSettings

    raw_vtc = spectrum(0.0025 + 0.0001 * np.sin(np.linspace(0, 6, 200)))     # ticks like 0.00250
    overlay.update([OverlayEntry(0, raw_vtc, "#1f77b4", "280772_1.nxs")], XesPlotSettings())
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    lo, hi = sorted(ax.get_ylim())
    drawn_ticks = [tick.label1 for tick in ax.yaxis.get_major_ticks() if lo <= tick.get_loc() <= hi]
    assert drawn_ticks and len(drawn_ticks[0].get_text()) >= 5, "long tick labels, as for raw VtC"
    for text in [ax.yaxis.label, ax.xaxis.label, *drawn_ticks]:
        if text.get_text():
            box = text.get_window_extent(renderer)
            assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= figure.bbox.x1 + 1 and box.y1 <= figure.bbox.y1 + 1, \
                text.get_text()
