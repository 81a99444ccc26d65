"""figures: Qt-free map/profile figures and render_to_file, checked against independent geometry."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.image import imread

from xestools import figures
from xestools.model import Channel, RXESMap, Spectrum


def regular_map(irregular: bool = False) -> RXESMap:
    incident_axis = np.linspace(9650.0, 9656.0, 13)
    emission_axis = np.linspace(8620.0, 8640.0, 41)
    if irregular:
        emission_axis = np.concatenate([np.linspace(8620.0, 8630.0, 11), np.linspace(8631.0, 8640.0, 10) ** 1.0])
        emission_axis[15] += 0.3
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    intensity = np.exp(-((emission - 8630.0) / 3.0) ** 2) * (1 + (incident - 9650.0))
    intensity[0, 0] = np.nan
    return RXESMap(incident, emission, incident_axis, emission_axis, intensity, uncertainty=np.sqrt(np.abs(intensity)),
                   channel=Channel.UPPER, source="synthetic.nxs")


def pixel_std(path) -> float:
    image = imread(str(path))
    return float(np.std(image[..., :3]))


def test_figures_imports_no_qt():
    code = "import sys, xestools.figures; print(any(m.startswith(('PySide6', 'PyQt')) for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("view", ["incident", "transfer"])
@pytest.mark.parametrize("scale", ["linear", "log", "sqrt"])
def test_render_map_with_cuts_not_blank(tmp_path, view, scale):
    path = tmp_path / f"map_{view}_{scale}.png"
    figures.render_to_file(regular_map(), path, view=view, scale=scale,
                           cuts=["CEE:8630:1.0", "CIE:9653:0.5", "CET:1022:1.0:mean"], dpi=60)
    assert pixel_std(path) > 0.05


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_render_vector_formats(tmp_path, suffix):
    path = tmp_path / f"map{suffix}"
    figures.render_to_file(regular_map(), path, view="transfer")
    head = path.read_bytes()[:5]
    assert head.startswith(b"%PDF") if suffix == ".pdf" else b"<" in head


def test_render_spectrum(tmp_path):
    energy = np.linspace(8620, 8650, 100)
    spectrum = Spectrum(energy, np.exp(-((energy - 8638.9) / 2) ** 2), np.full(100, 0.02), label="Kα")
    figures.render_to_file(spectrum, tmp_path / "xes.png", dpi=60)
    assert pixel_std(tmp_path / "xes.png") > 0.05


def test_bad_format_and_cut_strings_are_errors(tmp_path):
    with pytest.raises(ValueError):
        figures.render_to_file(regular_map(), tmp_path / "map.bmp")
    with pytest.raises(ValueError):
        figures.render_to_file(regular_map(), tmp_path / "map.png", cuts=["CEE:8630"])


def test_transfer_view_geometry_regular_image_is_sheared():
    parts = figures.build_map_figure(regular_map(), view="transfer")
    plot = parts.map_plot
    # incident-view image corner (Ω_lo − s/2, ω_hi + s/2) appears at (Ω, Ω − ω) in the transfer view
    omega_lo, omega_hi = 9650.0 - 0.25, 9656.0 + 0.25
    emission_lo, emission_hi = 8620.0 - 0.25, 8640.0 + 0.25
    display = plot.image.get_transform().transform((omega_lo, emission_hi))
    x, y = parts.map_ax.transData.inverted().transform(display)
    assert (x, y) == pytest.approx((omega_lo, omega_lo - emission_hi), abs=1e-6)
    assert parts.map_ax.get_ylim() == pytest.approx((omega_lo - emission_hi, omega_hi - emission_lo))
    assert parts.map_ax.get_ylabel() == "Energy transfer Ω − ω (eV)"
    assert parts.map_ax.get_xlabel() == "Ω (eV)"
    parts.figure.clear()


def test_irregular_grid_uses_true_quad_mesh():
    from matplotlib.collections import QuadMesh

    rxes_map = regular_map(irregular=True)
    parts = figures.build_map_figure(rxes_map, view="transfer")
    mesh = parts.map_plot.image
    assert isinstance(mesh, QuadMesh)
    corners = mesh.get_coordinates()           # (NΩ+1, Nω+1, 2)
    edges_in = np.concatenate([[9650 - 0.25], (rxes_map.incident_axis[1:] + rxes_map.incident_axis[:-1]) / 2,
                               [9656 + 0.25]])
    e = rxes_map.emission_axis
    edges_out = np.concatenate([[e[0] - (e[1] - e[0]) / 2], (e[1:] + e[:-1]) / 2, [e[-1] + (e[-1] - e[-2]) / 2]])
    np.testing.assert_allclose(corners[..., 0], np.broadcast_to(edges_in[:, None], corners.shape[:2]))
    np.testing.assert_allclose(corners[..., 1], edges_in[:, None] - edges_out[None, :])
    parts.figure.clear()


def test_colour_limits_modes():
    data = np.ma.MaskedArray(np.arange(1.0, 101.0), mask=np.zeros(100, bool))
    assert figures.colour_limits(data, figures.MapStyle()) == (1.0, 100.0)
    lo, hi = figures.colour_limits(data, figures.MapStyle(limits="percentile", percentiles=(10, 90)))
    assert (lo, hi) == pytest.approx((np.percentile(np.arange(1.0, 101.0), 10), np.percentile(np.arange(1.0, 101.0), 90)))
    assert figures.colour_limits(data, figures.MapStyle(limits="manual", vmin=5.0, vmax=None)) == (5.0, 100.0)
    negative = np.ma.MaskedArray(np.array([-1.0, 0.0, 0.5, 2.0]))
    assert figures.colour_limits(negative, figures.MapStyle(scale="log")) == (0.5, 2.0)


def test_growing_colour_limits_are_round_and_hold_the_data():
    style = figures.MapStyle()
    assert figures.growing_colour_limits(3.0, 1234.0, style) == (0.0, 1500.0)
    assert figures.growing_colour_limits(-7.0, -0.3, style) == pytest.approx((-7.05, -0.3))
    lo, hi = figures.growing_colour_limits(0.0123, 0.0456, figures.MapStyle(scale="log"))
    assert (lo, hi) == pytest.approx((0.012, 0.05))
    assert figures.growing_colour_limits(1.0, 7.0, figures.MapStyle(limits="manual", vmin=1.0)) == (1.0, 7.0)
    # a maximum growing by 1 % per tick changes the scale on about one tick in twenty
    maxima = 1000.0 * 1.01 ** np.arange(100)
    tops = [figures.growing_colour_limits(0.0, m, style)[1] for m in maxima]
    assert all(top >= m for top, m in zip(tops, maxima)) and len(set(tops)) <= 8


def test_cut_position_at_inverts_the_views():
    assert figures.cut_position_at("CIE", "transfer", 9655.0, 1020.0) == 9655.0
    assert figures.cut_position_at("CEE", "transfer", 9655.0, 1020.0) == pytest.approx(8635.0)
    assert figures.cut_position_at("CET", "incident", 9655.0, 8635.0) == pytest.approx(1020.0)
    assert figures.cut_position_at("CEE", "incident", 9655.0, 8635.0) == pytest.approx(8635.0)


def test_colorbar_label_names_normalisation():
    rxes_map = regular_map()
    from xestools.model import evolve

    normalised = evolve(rxes_map, metadata={"normalisation": {"reference": "ZnO Kβ", "window": [9560, 9590]}})
    label = figures.colorbar_label(normalised, figures.MapStyle(scale="log"))
    assert "area of ZnO Kβ" in label and "9560.0–9590.0 eV" in label and "log" in label


@pytest.mark.parametrize("cuts, expected", [
    (["CEE:8630:1.0"], {"Intensity (sum over band)"}),
    (["CIE:9653:0.5:mean"], {"Intensity (mean over band)"}),
    (["CEE:8630:1.0", "CET:1022:1.0:mean"], {"Intensity (sum or mean over band)"}),
    (["CEE:8630:1.0", "CIE:9653:0.5:mean"], {"Intensity (sum over band)", "Intensity (mean over band)"}),
])
def test_profile_ylabel_names_the_cuts_statistic(cuts, expected):
    parts = figures.build_map_figure(regular_map(), cuts=cuts)
    assert {ax.get_ylabel() for ax in parts.extra["profile_axes"].values()} == expected
    parts.figure.clear()


def test_profile_panels_and_their_labels_do_not_overlap():
    """Each profile panel's y label and tick labels stay clear of the panel to its left."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    parts = figures.build_map_figure(regular_map(), cuts=["CEE:8630:1.0", "CIE:9653:0.5:mean"])
    renderer = FigureCanvasAgg(parts.figure).get_renderer()
    left, right = parts.extra["profile_axes"]["incident"], parts.extra["profile_axes"]["other"]
    assert left.get_tightbbox(renderer).x1 < right.get_tightbbox(renderer).x0
    for ax in (left, right):      # the legend sits inside its panel, above the data (headroom)
        legend_box = ax.get_legend().get_window_extent(renderer)
        assert ax.bbox.x0 <= legend_box.x0 and legend_box.x1 <= ax.bbox.x1
    parts.figure.clear()


def test_legend_location_avoids_the_data():
    from matplotlib.figure import Figure

    from xestools.drawing import legend_location

    ax = Figure().add_subplot()
    (line,) = ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 4)   # rises into the upper right
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    assert legend_location(ax, [line], ["a cut"]) == "upper left"


def test_new_data_on_the_same_scale_keep_norm_and_colour_bar():
    """A followed scan's new points on the same scale: the image takes the data, the colour bar is not
    redrawn (it was, once per set_norm/set_cmap); a changed range or colour map reaches image and bar."""
    from dataclasses import replace

    from matplotlib.figure import Figure

    figure = Figure()
    ax, cax = figure.add_axes((0.1, 0.1, 0.7, 0.8)), figure.add_axes((0.85, 0.1, 0.03, 0.8))
    plot = figures.MapPlot(ax, cax)
    first = regular_map()
    plot.set_map(first)
    norm = plot.image.norm
    drawn = []
    original = plot.colorbar._draw_all
    plot.colorbar._draw_all = lambda: (drawn.append(1), original())[1]
    partial = np.array(first.intensity, float)
    partial[1, 5:-5] = np.nan          # fewer points, the same extremes
    plot.set_map(replace(first, intensity=partial))
    assert plot.image.norm is norm and drawn == []
    np.testing.assert_array_equal(np.ma.getdata(plot.image.get_array()).T[2:], first.intensity[2:])
    brighter = replace(first, intensity=np.array(first.intensity, float) * 2.0)
    plot.set_map(brighter, figures.MapStyle(cmap="magma"))
    assert plot.image.norm.vmax == pytest.approx(2.0 * norm.vmax)
    assert plot.colorbar.norm is plot.image.norm and drawn
    assert plot.image.get_cmap().name == "magma"


def test_profile_band_is_one_path_with_its_nan_gaps_and_draws_like_the_polygons():
    """The ±σ band is one patch (cheap to redraw while a cut is dragged): a subpath per run of
    finite points, the same pixels as the polygons drawn one by one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.path import Path

    from xestools.drawing import ProfileArtists, band_polygons

    x = np.linspace(0.0, 10.0, 400)
    y = np.sin(x) + 2.0
    y[150:160] = np.nan
    sigma = np.full_like(x, 0.2)
    result = type("Result", (), {"x": x, "intensity": y, "uncertainty": sigma, "empty": False})()
    pictures = []
    for kind in ("patch", "collection"):
        figure = Figure(figsize=(4, 3), dpi=100)
        canvas = FigureCanvasAgg(figure)
        ax = figure.add_axes((0.1, 0.1, 0.8, 0.8))
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 4)
        if kind == "patch":
            profile = ProfileArtists(ax, "#377eb8")
            profile.show(result, "#377eb8")
            profile.line.set_visible(False)
            path = profile.band.get_path()
            assert list(path.codes).count(Path.MOVETO) == 2 and list(path.codes).count(Path.CLOSEPOLY) == 2
        else:
            ax.add_collection(PolyCollection(band_polygons(x, y, sigma), facecolors="#377eb8", alpha=0.22,
                                             linewidths=0), autolim=False)
        canvas.draw()
        pictures.append(np.asarray(canvas.buffer_rgba()).copy())
    assert np.array_equal(pictures[0], pictures[1])
