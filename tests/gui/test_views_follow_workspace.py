"""The views follow the workspace: each test changes the Qt-free state, then reads the widgets.

No private attribute is read: only the widgets a user sees (combo boxes, spin boxes, lists,
tables) and the artists the plot shows.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from xestools.model import Channel, RXESMap, Spectrum
from xestools.workspace import Dataset, XesPlotSettings, XesToolSettings


def spectrum(offset: float, source: str, channel=Channel.LOWER) -> Spectrum:
    x = np.linspace(9620.0, 9680.0, 121)
    return Spectrum(x, offset + np.exp(-((x - 9650.0) / 3.0) ** 2), np.full(x.size, 0.01), channel=channel,
                    source=source, label=source)


def two_channel_map() -> Dataset:
    incident_axis = np.linspace(9650.0, 9655.5, 12)
    maps = []
    for channel, centre in ((Channel.UPPER, 8630.0), (Channel.LOWER, 9570.0)):
        emission_axis = np.linspace(centre - 7.25, centre + 7.25, 30)
        incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
        intensity = 1.0 + np.exp(-((emission - centre) / 2.0) ** 2) * (1 + (channel is Channel.LOWER))
        maps.append(RXESMap(incident, emission, incident_axis, emission_axis, intensity,
                            uncertainty=np.sqrt(intensity) * 0.1, channel=channel, source="two.nxs"))
    return Dataset("two.nxs", maps)


@pytest.fixture
def xes_panel(qtbot):
    from xestools.gui.xes.xes_panel import XesPanel

    panel = XesPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    panel.show()
    yield panel
    panel.shutdown()


@pytest.fixture
def rxes_panel(qtbot):
    from xestools.gui.rxes.rxes_panel import RxesPanel

    panel = RxesPanel()
    qtbot.addWidget(panel)
    panel.resize(1100, 800)
    panel.show()
    yield panel
    panel.shutdown()


def shown_names(panel) -> list[str]:
    model = panel.list_pane.list_view.model()
    return [model.data(model.index(row, 0)) for row in range(model.rowCount())]


def test_xes_list_plot_and_choosers_follow_the_items(xes_panel):
    workspace = xes_panel.workspace
    a, b = workspace.add_spectra([spectrum(0.0, "a.nxs"), spectrum(1.0, "b.nxs")])
    assert shown_names(xes_panel) == ["a.nxs", "b.nxs"]
    lines = xes_panel.view.overlay.lines
    assert set(lines) == {a.uid, b.uid}
    np.testing.assert_allclose(lines[b.uid].get_ydata(), b.spectrum.intensity)
    combo = xes_panel.tools.difference_a_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["a.nxs", "b.nxs"]
    workspace.items.rename(a.uid, "first")
    workspace.set_visible(b.uid, False)
    assert shown_names(xes_panel) == ["first", "b.nxs"] and set(lines) == {a.uid}
    assert [t.get_text() for t in xes_panel.view.axes.get_legend().get_texts()] == ["first"]
    workspace.items.move(b.uid, -1)
    assert shown_names(xes_panel) == ["b.nxs", "first"]
    workspace.remove([a.uid])
    assert shown_names(xes_panel) == ["b.nxs"] and lines == {}


def test_xes_controls_and_tools_follow_the_settings(xes_panel):
    workspace = xes_panel.workspace
    workspace.add_spectra([spectrum(0.0, "a.nxs"), spectrum(0.0, "b.nxs")])
    workspace.set_plot_settings(XesPlotSettings(offset_percent=40.0, bands=False, y_scale="max"))
    controls = xes_panel.controls
    assert controls.offset_spin.value() == 40.0 and not controls.bands_check.isChecked()
    assert controls.y_scale_combo.currentData() == "max" and controls.offset_spin.isEnabled()
    assert xes_panel.view.axes.get_ylabel() == "Intensity ÷ its maximum (each item)"
    first, second = (line.get_ydata() for line in xes_panel.view.overlay.lines.values())
    np.testing.assert_allclose(second - first, 0.4, atol=1e-12)   # 40 % of the largest range (1 after ÷ max)
    workspace.set_plot_settings(XesPlotSettings(stack=True))
    assert controls.stack_check.isChecked() and not controls.offset_spin.isEnabled()
    workspace.set_tool_settings(XesToolSettings(average_grid="union", average_weighted=True,
                                                normalise_window=(9630.5, 9660.25), metrics_whole_range=False))
    tools = xes_panel.tools
    assert tools.average_grid_combo.currentData() == "union" and tools.average_weighted_check.isChecked()
    assert (tools.window_lo_spin.value(), tools.window_hi_spin.value()) == (9630.5, 9660.25)
    assert not tools.metrics_full_range_check.isChecked()
    tools.setCurrentIndex(1)       # the window is shaded while the Normalise tab is shown
    patch = xes_panel.view.overlay.window_patch
    assert patch.get_visible() and patch.get_x() == pytest.approx(9630.5)


def test_xes_edits_in_widgets_reach_the_workspace(xes_panel):
    xes_panel.controls.stack_check.setChecked(True)
    xes_panel.tools.window_hi_spin.setValue(9700.0)
    xes_panel.tools.average_grid_combo.setCurrentIndex(xes_panel.tools.average_grid_combo.findData("union"))
    settings = xes_panel.workspace.settings
    assert settings.plot.stack and settings.tools.normalise_window[1] == 9700.0
    assert settings.tools.average_grid == "union"


def test_xes_failures_and_maps_follow(xes_panel):
    workspace = xes_panel.workspace
    workspace.add_failures([("/data/x.nxs", "x.nxs: not an HDF5 file")])
    pane = xes_panel.list_pane
    assert pane.failure_list.count() == 1 and pane.failure_list.item(0).text() == "x.nxs: not an HDF5 file"
    assert pane.failure_list.isVisibleTo(xes_panel)
    dataset = two_channel_map()
    for rxes_map in dataset.maps:
        workspace.add_map(rxes_map, path=dataset.path)
    assert pane.map_box.isVisibleTo(xes_panel)
    assert [pane.map_combo.itemText(i) for i in range(pane.map_combo.count())] == ["two.nxs [upper]", "two.nxs [lower]"]
    assert pane.map_combo.currentIndex() == 1
    assert pane.omega_spin.value() == pytest.approx(dataset.maps[1].incident_axis[6])
    workspace.remove_source("two.nxs")
    assert pane.map_combo.count() == 0 and not pane.map_box.isVisibleTo(xes_panel)


def test_map_views_follow_documents_style_channel_and_cuts(rxes_panel):
    workspace = rxes_panel.workspace
    assert rxes_panel.stack.currentIndex() == 0
    document = workspace.add_dataset(two_channel_map())
    assert rxes_panel.stack.currentIndex() == 1
    controls = rxes_panel.controls
    assert controls.title_label.text() == "two.nxs" and controls.channel_combo.currentData() == "upper"
    workspace.set_style(replace(workspace.style, scale="log", cmap="magma", contour_levels=3, view="transfer"))
    assert controls.scale_combo.currentData() == "log" and controls.cmap_combo.currentText() == "magma"
    assert controls.contour_spin.value() == 3 and controls.view_combo.currentData() == "transfer"
    assert rxes_panel.map_ax.get_ylabel() == "Energy transfer Ω − ω (eV)"
    workspace.set_channel("lower")
    assert controls.channel_combo.currentData() == "lower"
    np.testing.assert_allclose(rxes_panel.map_plot.rxes_map.intensity, document.raw_map().intensity)
    ident = document.cuts.add("CIE", 9652.0, 1.5, color="#123456")
    table = rxes_panel.cut_table
    assert table.rowCount() == 1
    overlay = rxes_panel.map_view.overlay(ident)
    xs, _ = overlay.line.get_data()
    np.testing.assert_allclose(xs, 9652.0)
    document.cuts.update(ident, position=9653.0)
    np.testing.assert_allclose(overlay.line.get_data()[0], 9653.0)
    line = rxes_panel.profile_view.profile(ident).line
    assert line.get_color() == "#123456" and len(line.get_xdata()) == 30
    document.cuts.remove(ident)
    assert table.rowCount() == 0 and rxes_panel.map_view.overlay(ident) is None
    workspace.remove(document.dataset.key)
    assert rxes_panel.stack.currentIndex() == 0
