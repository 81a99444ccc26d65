"""RXES tab: real maps in both views, cuts of each type, dragging, channel/view switches, export."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backend_bases import KeyEvent, MouseEvent

from xestools.workspace.datasets import Dataset
from xestools.gui.rxes.rxes_panel import RxesPanel
from xestools.model import Channel, RXESMap

REAL_MAPS = ("279517_1.nxs", "XES_ZnZSM5_air500_279192_1.dat")


# ---------------------------------------------------------------------- independent reference
def reference_cut(rxes_map: RXESMap, kind: str, position: float, width: float, view: str, mean: bool = False):
    """Band |c − p| ≤ w/2 on the grid centres (Ω row, ω column, Ω_row − ω_col for CET; 1e-9 relative
    rounding); sum (or mean) per bin, σ = √Σσ² (/n)."""
    incident = np.asarray(rxes_map.incident, float)
    emission = np.asarray(rxes_map.emission, float)
    rows = np.broadcast_to(np.asarray(rxes_map.incident_axis, float)[:, None], incident.shape)
    columns = np.broadcast_to(np.asarray(rxes_map.emission_axis, float)[None, :], incident.shape)
    coordinate = {"CIE": rows, "CEE": columns, "CET": rows - columns}[kind]
    tolerance = 1e-9 * abs(position)
    intensity = np.asarray(rxes_map.intensity, float)
    valid = np.asarray(rxes_map.mask, bool) & np.isfinite(intensity)
    inside = valid & (np.abs(coordinate - position) <= width / 2 + tolerance)
    axis = 0 if kind == "CIE" else 1
    n = inside.sum(axis=axis)
    total = np.where(inside, intensity, 0.0).sum(axis=axis)
    sigma = np.sqrt(np.where(inside, np.asarray(rxes_map.uncertainty, float) ** 2, 0.0).sum(axis=axis))
    if mean:
        with np.errstate(invalid="ignore", divide="ignore"):
            total, sigma = total / n, sigma / n
    total = np.where(n > 0, total, np.nan)
    if kind == "CIE":
        x = np.asarray(rxes_map.emission_axis, float)
        if view == "transfer":
            with np.errstate(invalid="ignore", divide="ignore"):
                x = np.where(n > 0, np.where(inside, incident - emission, 0).sum(axis=0) / n, position - x)
    else:
        x = np.asarray(rxes_map.incident_axis, float)
    order = np.argsort(x, kind="stable")
    return x[order], total[order], np.where(n > 0, sigma, np.nan)[order], n[order]


def assert_profile_matches(panel: RxesPanel, ident: int) -> None:
    entry = panel.document.cuts.get(ident)
    result = dict((e.ident, r) for e, r in panel.cut_results())[ident]
    x, total, sigma, n = reference_cut(panel.map_plot.rxes_map, entry.kind, entry.position, entry.width,
                                       panel.style.view, entry.mean)
    assert not result.empty, result.reason
    np.testing.assert_allclose(result.x, x, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.intensity, total, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(result.uncertainty, sigma, rtol=1e-10, equal_nan=True)
    np.testing.assert_array_equal(result.npoints, n)
    line = panel.profile_view.profile(ident).line
    np.testing.assert_allclose(np.asarray(line.get_xdata(), float), x, atol=1e-9)
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), total, rtol=1e-10, equal_nan=True)


# ---------------------------------------------------------------------- fixtures
@pytest.fixture
def panel(qtbot):
    widget = RxesPanel()
    widget.resize(1100, 800)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def load_map(path) -> Dataset:
    from xestools.io import load

    return Dataset(str(path), load(path))


def synthetic_two_channel(n_incident: int = 12, n_emission: int = 30) -> Dataset:
    """A regular two-channel map with jittered read-backs and one unmeasured point."""
    rng = np.random.default_rng(3)
    incident_axis = np.linspace(9650.0, 9655.5, n_incident)
    maps = []
    for channel, centre in ((Channel.UPPER, 8630.0), (Channel.LOWER, 9570.0)):
        emission_axis = np.linspace(centre - 7.25, centre + 7.25, n_emission)
        incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
        incident = incident + rng.normal(0, 0.003, incident.shape)
        emission = emission + rng.normal(0, 0.003, emission.shape)
        intensity = rng.random(incident.shape) + 1.0
        intensity[-1, -1] = np.nan
        maps.append(RXESMap(incident, emission, incident_axis, emission_axis, intensity,
                            uncertainty=np.sqrt(intensity) * 0.1, channel=channel, source="synthetic.nxs"))
    return Dataset("synthetic.nxs", maps)


def mouse(panel: RxesPanel, name: str, xdata: float, ydata: float, button=1) -> None:
    canvas = panel.map_canvas.canvas
    x, y = panel.map_ax.transData.transform((xdata, ydata))
    MouseEvent(name, canvas, x, y, button=button)._process()


# ---------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", REAL_MAPS)
def test_real_map_views_and_cuts_of_each_type(panel, qtbot, real_file, name, tmp_path):
    dataset = load_map(real_file(name))
    panel.add_dataset(dataset)
    rxes_map = panel.map_plot.rxes_map
    assert panel.map_plot.image is not None
    omega = float(np.mean(rxes_map.incident_axis))
    emission = 8638.9
    positions = {"CIE": round(omega, 2), "CEE": emission, "CET": round(omega - emission, 2)}
    idents = {kind: panel.add_cut(kind, positions[kind], 1.0) for kind in positions}
    for view in ("incident", "transfer"):
        panel.set_view(view)
        assert panel.map_ax.get_ylabel() == ("ω (eV)" if view == "incident" else "Energy transfer Ω − ω (eV)")
        for kind, ident in idents.items():
            assert_profile_matches(panel, ident)
            band = panel.map_view.overlay(ident).band.get_xy()
            assert len(band) >= 3, f"{kind} band missing in the {view} view"
        panel.map_canvas.canvas.draw()
        image = panel.grab().toImage()
        path = tmp_path / f"{view}.png"
        image.save(str(path))
        pixels = np.array([image.pixelColor(x, y).value() for x in range(0, image.width(), 7)
                           for y in range(0, image.height(), 7)])
        assert pixels.std() > 10, "the rendered panel is blank"


def test_transfer_view_is_true_shear_with_half_step_extent(panel):
    from xestools.analysis.grid import image_extent

    dataset = synthetic_two_channel()
    panel.add_dataset(dataset)
    rxes_map = panel.map_plot.rxes_map
    lo, hi = image_extent(rxes_map.incident_axis)
    step = (rxes_map.incident_axis[-1] - rxes_map.incident_axis[0]) / (rxes_map.incident_axis.size - 1)
    assert lo == pytest.approx(rxes_map.incident_axis[0] - step / 2)
    assert panel.map_plot.image.get_extent()[:2] == pytest.approx([lo, hi])
    panel.set_view("transfer")
    # the image corner (Ω_lo, ω_hi) must land on (Ω_lo, Ω_lo − ω_hi) in data coordinates
    e_lo, e_hi = image_extent(rxes_map.emission_axis)
    corner_display = panel.map_plot.image.get_transform().transform((lo, e_hi))
    corner_data = panel.map_ax.transData.inverted().transform(corner_display)
    assert corner_data == pytest.approx([lo, lo - e_hi], abs=1e-6)
    assert panel.map_ax.get_ylim() == pytest.approx((lo - e_hi, hi - e_lo))


def test_masked_point_is_blank(panel):
    panel.add_dataset(synthetic_two_channel())
    data = panel.map_plot.image.get_array()
    assert np.ma.is_masked(data) and data.mask.T[-1, -1]


@pytest.mark.parametrize("view", ["incident", "transfer"])
@pytest.mark.parametrize("kind", ["CIE", "CEE", "CET"])
def test_drag_updates_profile_to_analysis_at_new_position(panel, qtbot, kind, view):
    panel.add_dataset(synthetic_two_channel())
    panel.set_view(view)
    rxes_map = panel.map_plot.rxes_map
    omega = float(rxes_map.incident_axis[4])
    emission = float(rxes_map.emission_axis[12])
    position = {"CIE": omega, "CEE": emission, "CET": omega - emission}[kind]
    ident = panel.add_cut(kind, round(position, 2), 0.8)
    panel.map_canvas.canvas.draw()
    # a point on the cut line, then the same point moved by +0.9 eV in Ω (CIE) or ω-ish (others)
    line_x, line_y = panel.map_view.overlay(ident).line.get_data()
    start = (float(np.mean(line_x)), float(np.mean(line_y)))
    # moving the mouse by `shift` (view coordinates) moves the cut by +0.9 eV in its own coordinate
    shift = {("CIE", "incident"): (0.9, 0.0), ("CIE", "transfer"): (0.9, 0.0),
             ("CEE", "incident"): (0.0, 0.9), ("CEE", "transfer"): (0.0, -0.9),
             ("CET", "incident"): (0.0, -0.9), ("CET", "transfer"): (0.0, 0.9)}[kind, view]
    mouse(panel, "button_press_event", *start)
    assert panel.map_view.dragging == ident
    paints = panel.last_profile_paint
    qtbot.wait(20)  # let any pending full draw happen before counting
    full_draws = []
    panel.map_canvas.connect("draw_event", lambda event: full_draws.append("map"))
    panel.profile_canvas.connect("draw_event", lambda event: full_draws.append("profile"))
    for step in range(1, 6):
        mouse(panel, "motion_notify_event", start[0] + shift[0] * step / 5, start[1] + shift[1] * step / 5)
    qtbot.waitUntil(lambda: panel.last_profile_paint > paints, timeout=2000)
    qtbot.wait(20)
    assert full_draws == [], "dragging must blit, not redraw the canvases"
    mouse(panel, "button_release_event", start[0] + shift[0], start[1] + shift[1])
    entry = panel.document.cuts.get(ident)
    expected = round(position, 2) + 0.9
    assert entry.position == pytest.approx(expected, abs=0.011)
    assert_profile_matches(panel, ident)
    assert panel.cut_table.cellWidget(0, 2).value() == pytest.approx(entry.position, abs=0.005)


def test_arrow_keys_move_selected_cut(panel):
    panel.add_dataset(synthetic_two_channel())
    ident = panel.add_cut("CEE", 8630.0, 0.5)
    panel.select_cut(ident)
    canvas = panel.map_canvas.canvas
    KeyEvent("key_press_event", canvas, "right")._process()
    KeyEvent("key_press_event", canvas, "shift+up")._process()
    assert panel.document.cuts.get(ident).position == pytest.approx(8630.11)
    KeyEvent("key_press_event", canvas, "down")._process()
    assert panel.document.cuts.get(ident).position == pytest.approx(8630.10)
    assert_profile_matches(panel, ident)


def test_cuts_survive_channel_view_scale_switches(panel):
    panel.add_dataset(synthetic_two_channel())
    kinds = ["CIE", "CEE", "CET", "CIE", "CEE", "CET", "CIE", "CEE", "CET"]
    idents = [panel.add_cut(kind, None, 0.6) for kind in kinds]
    assert len(idents) >= 8 and len({panel.document.cuts.get(i).color for i in idents}) >= 8
    before = panel.document.cuts.to_state()
    panel.set_channel("lower")
    assert panel.map_plot.rxes_map.channel is Channel.LOWER
    panel.set_view("transfer")
    panel.controls.scale_combo.setCurrentIndex(panel.controls.scale_combo.findData("log"))
    panel.set_channel("upper")
    panel.set_view("incident")
    assert panel.document.cuts.to_state() == before
    for ident in idents:
        assert_profile_matches(panel, ident)


def test_missing_channel_is_disabled(panel, real_file):
    panel.add_dataset(load_map(real_file("279517_1.nxs")))
    model = panel.controls.channel_combo.model()
    lower_row = panel.controls.channel_combo.findData("lower")
    assert not model.item(lower_row).isEnabled()
    with pytest.raises(ValueError):
        panel.set_channel("lower")
    assert panel.map_plot.rxes_map.channel is Channel.UPPER


def test_colour_scale_limits_and_contours(panel):
    from dataclasses import replace

    panel.add_dataset(synthetic_two_channel())
    data = panel.map_plot.rxes_map.intensity
    finite = data[np.isfinite(data)]
    assert panel.map_plot.colour_range == pytest.approx((finite.min(), finite.max()))
    panel.set_style(replace(panel.style, limits="percentile"))
    assert panel.map_plot.colour_range == pytest.approx(tuple(np.percentile(finite, [1, 99])))
    panel.set_style(replace(panel.style, limits="manual", vmin=1.2, vmax=1.8, scale="sqrt", contour_levels=4))
    assert panel.map_plot.colour_range == pytest.approx((1.2, 1.8))
    assert panel.map_plot.contours is not None
    colorbar = panel.map_plot.colorbar
    panel.set_style(replace(panel.style, scale="log", cmap="magma"))
    assert panel.map_plot.colorbar is colorbar, "the colour bar must be updated, not recreated"
    assert "log" in colorbar.ax.get_ylabel()


def test_normalisation_is_labelled_removable_and_not_compounding(panel):
    from xestools.model import Spectrum

    dataset = synthetic_two_channel()
    panel.add_dataset(dataset)
    ident = panel.add_cut("CEE", 8630.0, 1.0)
    raw = np.asarray(panel.map_plot.rxes_map.intensity)
    energy = np.linspace(8620, 8640, 201)
    reference = Spectrum(energy, np.full_like(energy, 2.0), label="ref")
    panel.normalise(reference, (8625.0, 8635.0))          # area = 2 × 10 = 20
    panel.normalise(reference, (8625.0, 8635.0))
    np.testing.assert_allclose(panel.map_plot.rxes_map.intensity, raw / 20.0, rtol=1e-9)
    assert "area of ref" in panel.map_plot.colorbar.ax.get_ylabel()
    assert_profile_matches(panel, ident)
    panel.remove_normalisation()
    np.testing.assert_allclose(panel.map_plot.rxes_map.intensity, raw, rtol=0)
    assert "area" not in panel.map_plot.colorbar.ax.get_ylabel()


def test_cursor_readout(panel, qtbot):
    panel.add_dataset(synthetic_two_channel())
    panel.set_view("transfer")
    panel.map_canvas.canvas.draw()
    rxes_map = panel.map_plot.rxes_map
    omega, emission = float(rxes_map.incident_axis[3]), float(rxes_map.emission_axis[7])
    mouse(panel, "motion_notify_event", omega, omega - emission)
    qtbot.waitUntil(lambda: "Ω =" in panel.readout.text(), timeout=2000)
    text = panel.readout.text()
    assert f"ω = {emission:.2f}" in text and f"Ω − ω = {omega - emission:.2f}" in text
    assert f"I = {rxes_map.intensity[3, 7]:.4g}" in text


def test_a_cut_drag_lays_nothing_out_and_formats_no_toolbar_message(panel, qtbot, monkeypatch):
    """Each move of a drag repaints the overlays, the profile and the readout line, nothing else:
    no layout request reaches the tab (a new readout text once relaid the whole page), and the
    toolbar, which shows no coordinates, asks no axes to format them."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject

    panel.add_dataset(synthetic_two_channel())
    ident = panel.add_cut("CEE", 8630.0, 1.0)
    qtbot.wait(20)
    panel.map_canvas.canvas.draw()
    requests = []

    class Counter(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 - Qt name
            if event.type() == QEvent.Type.LayoutRequest:
                requests.append(watched)
            return False

    counter = Counter()
    watched = [panel, panel.readout.parentWidget(), panel.splitter, panel.map_canvas]
    for widget in watched:
        widget.installEventFilter(counter)
    formatted = []
    monkeypatch.setattr(type(panel.map_ax), "format_coord", lambda ax, x, y: formatted.append(1) or "")
    omega = float(np.mean(panel.map_ax.get_xlim()))
    mouse(panel, "button_press_event", omega, 8630.0)
    assert panel.map_view.dragging == ident
    for step in range(1, 6):
        mouse(panel, "motion_notify_event", omega + 0.3 * step, 8630.0 + 0.4 * step)
        # the moves are coalesced on a timer: wait for this one to be shown (a loaded machine is slow)
        qtbot.waitUntil(lambda step=step: f"ω = {8630.0 + 0.4 * step:.2f}" in panel.readout.text(), timeout=5000)
        if step == 1:       # pressing selected the cut (its table row): that may lay the table out once
            QCoreApplication.sendPostedEvents()
            qtbot.wait(100)     # the table's delayed item layout runs on a timer
            requests.clear()
    assert panel.document.cuts.get(ident).position == pytest.approx(8632.0)
    mouse(panel, "button_release_event", omega + 1.5, 8632.0)
    for widget in watched:
        widget.removeEventFilter(counter)
    assert requests == [] and formatted == []


def test_a_view_switch_keeps_the_unchanged_texts_and_looks_like_a_full_draw(panel, qtbot, monkeypatch):
    """Switching views redraws the map axes and the CIE panel only, and of those not the texts that
    stay (the map's Ω axis and title, the CIE panel's intensity axis and legend): their pixels come
    from the last frame. The result is the picture a full draw makes, pixel for pixel."""
    from matplotlib.text import Text

    panel.add_dataset(synthetic_two_channel())
    for kind in ("CIE", "CEE", "CET"):
        panel.add_cut(kind, None, 0.5)
    qtbot.wait(20)
    panel.map_canvas.canvas.draw()
    panel.profile_canvas.canvas.draw()
    for view in ("transfer", "incident", "transfer"):
        cie_panel = panel.profile_axes["emission"]
        kept = {id(panel.map_ax.title), id(panel.map_ax.xaxis.label), id(cie_panel.yaxis.label)}
        kept |= {id(text) for text in panel.profile_view.legends["emission"].get_texts()}
        drawn = []
        original = Text.draw
        monkeypatch.setattr(Text, "draw", lambda text, renderer: (text.get_visible() and drawn.append(id(text)),
                                                                  original(text, renderer)))
        panel.set_view(view)
        qtbot.wait(20)
        monkeypatch.setattr(Text, "draw", original)
        assert panel.map_ax.get_ylabel() == ("Energy transfer Ω − ω (eV)" if view == "transfer" else "ω (eV)")
        assert drawn and not kept & set(drawn), "the unchanged texts are not drawn again"
        for canvas in (panel.map_canvas.canvas, panel.profile_canvas.canvas):
            switched = np.asarray(canvas.buffer_rgba()).copy()
            canvas.draw()
            assert np.array_equal(switched, np.asarray(canvas.buffer_rgba())), view


def test_export_profiles_csv_and_nexus_read_back(panel, tmp_path):
    from xestools.io import load

    panel.add_dataset(synthetic_two_channel())
    panel.add_cut("CEE", 8630.0, 1.0)
    panel.add_cut("CIE", 9652.0, 0.6, mean=True)
    from xestools.gui.rxes import export

    written = export.export_profiles(panel, tmp_path / "profiles.csv")
    assert len(written) == 2
    text = open(written[0], encoding="utf-8").read()
    header = [line for line in text.splitlines() if line.startswith("#")]
    for line in ("# xestools.cut_type: CEE", "# xestools.cut_position_eV: 8630.0", "# xestools.cut_width_eV: 1.0",
                 "# xestools.cut_channel: upper", "# xestools.cut_view: incident"):
        assert header.count(line) == 1, line
    assert len([line for line in header if "cut_position" in line]) == 1, "the cut is recorded once"
    assert any(line.startswith("# xestools.cut_source: ") and line.endswith("synthetic.nxs") for line in header)
    assert "npoints" in text
    for (entry, result), path in zip(panel.cut_results(), written):
        (spectrum,) = load(path)
        np.testing.assert_allclose(spectrum.energy, result.x)
        np.testing.assert_allclose(spectrum.intensity, result.intensity, rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(spectrum.uncertainty, result.uncertainty, rtol=1e-9, equal_nan=True)
    nexus = export.export_profiles(panel, tmp_path / "profiles.nxs")
    (spectrum,) = load(nexus[0])
    np.testing.assert_allclose(spectrum.intensity, panel.cut_results()[0][1].intensity, rtol=1e-9, equal_nan=True)
    for suffix in (".png", ".svg", ".pdf"):
        export.export_figure(panel.map_canvas, tmp_path / f"map{suffix}")
        assert (tmp_path / f"map{suffix}").stat().st_size > 1000
    export.export_map(panel, tmp_path / "map.nxs")
    (read_map,) = load(tmp_path / "map.nxs")
    np.testing.assert_allclose(read_map.intensity, panel.map_plot.rxes_map.intensity, equal_nan=True)


def test_drag_with_real_qt_mouse_events(panel, qtbot):
    """The same drag through Qt's event path (QTest press/move/release on the canvas widget)."""
    from PySide6.QtCore import QPoint, Qt

    panel.add_dataset(synthetic_two_channel())
    ident = panel.add_cut("CIE", 9652.0, 0.8)
    widget = panel.map_canvas.canvas
    widget.draw()
    ratio = widget.device_pixel_ratio

    def to_widget(x, y) -> QPoint:
        px, py = panel.map_ax.transData.transform((x, y))
        return QPoint(int(round(px / ratio)), int(round(widget.height() - py / ratio)))

    start = to_widget(9652.0, 8630.0)
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):
        qtbot.mouseMove(widget, to_widget(9652.0 + 0.3 * step, 8630.0))
        qtbot.wait(5)
    end = to_widget(9653.5, 8630.0)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)
    entry = panel.document.cuts.get(ident)
    pixel_ev = (panel.map_ax.get_xlim()[1] - panel.map_ax.get_xlim()[0]) / panel.map_ax.bbox.width * ratio
    assert entry.position == pytest.approx(9653.5, abs=max(0.011, 2 * pixel_ev))
    assert_profile_matches(panel, ident)


def test_cut_outside_the_data_is_empty_with_reason_not_an_error(panel):
    panel.add_dataset(synthetic_two_channel())
    ident = panel.add_cut("CEE", 8700.0, 1.0)
    result = dict((e.ident, r) for e, r in panel.cut_results())[ident]
    assert result.empty and result.reason
    assert len(panel.profile_view.profile(ident).line.get_xdata()) == 0
    texts = [t.get_text() for legend in panel.profile_view.legends.values() for t in legend.get_texts()]
    assert any("empty" in text for text in texts)
    panel.document.cuts.update(ident, position=8630.0)
    assert_profile_matches(panel, ident)


def test_reopening_a_file_refreshes_data_and_keeps_cuts(panel):
    first = synthetic_two_channel()
    panel.add_dataset(first)
    ident = panel.add_cut("CEE", 8630.0, 1.0)
    second = synthetic_two_channel()
    second = Dataset(first.path, [RXESMap(m.incident, m.emission, m.incident_axis, m.emission_axis,
                                          np.asarray(m.intensity) * 3.0, uncertainty=m.uncertainty,
                                          channel=m.channel, source=m.source) for m in second.maps])
    panel.add_dataset(second)
    assert [e.to_state() for e in panel.document.cuts.entries()][0]["position"] == 8630.0
    np.testing.assert_allclose(panel.map_plot.rxes_map.intensity, second.maps[0].intensity)
    assert_profile_matches(panel, ident)


def test_view_switch_redraws_only_the_cie_panel_with_the_pixels_of_a_full_draw(panel, qtbot):
    """A view switch repaints the map axes and the CIE profile panel; the result equals full redraws."""
    panel.add_dataset(synthetic_two_channel())
    for kind in ("CIE", "CEE", "CET"):
        panel.add_cut(kind, None, 0.8)
    qtbot.wait(300)      # let the first layout passes (and their resize draws) settle
    panel.map_canvas.canvas.draw()
    panel.profile_canvas.canvas.draw()
    qtbot.wait(20)
    events = []
    panel.profile_canvas.connect("draw_event", lambda event: events.append("full"))
    panel.profile_canvas.partial_redrawn.connect(lambda: events.append("partial"))
    map_events = []
    panel.map_canvas.connect("draw_event", lambda event: map_events.append("full"))
    panel.map_canvas.partial_redrawn.connect(lambda: map_events.append("partial"))
    for view in ("transfer", "incident", "transfer"):
        events.clear()
        map_events.clear()
        panel.set_view(view)
        qtbot.wait(30)
        assert events == ["partial"], "a view switch redraws the CIE panel only"
        assert map_events == ["partial"], "a view switch redraws the map axes, not the colour bar"
        partial_map = np.array(panel.map_canvas.canvas.buffer_rgba())
        panel.map_canvas.canvas.draw()
        full_map = np.array(panel.map_canvas.canvas.buffer_rgba())
        assert np.count_nonzero(np.any(partial_map != full_map, axis=-1)) == 0, "partial map redraw differs"
        assert panel.profile_axes["emission"].get_xlabel() == ("Energy transfer Ω − ω (eV)" if view == "transfer"
                                                               else "ω (eV)")
        partial = np.array(panel.profile_canvas.canvas.buffer_rgba())
        panel.profile_canvas.canvas.draw()
        full = np.array(panel.profile_canvas.canvas.buffer_rgba())
        assert partial.shape == full.shape
        assert np.count_nonzero(np.any(partial != full, axis=-1)) == 0, "partial profile redraw differs"


def test_profile_area_shows_a_hint_until_the_first_cut(panel):
    """No empty 0..1 axes before a cut: a centred hint instead, gone with the first cut, back after the last."""
    panel.add_dataset(synthetic_two_channel())
    hint = panel.profile_view.hint
    assert hint.get_visible() and "Add a cut" in hint.get_text()
    assert not any(ax.get_visible() for ax in panel.profile_axes.values())
    panel.add_cut("CEE", None, 0.8)
    assert not hint.get_visible()
    assert panel.profile_axes["incident"].get_visible()
    panel.remove_all_cuts()
    assert hint.get_visible()
    assert not any(ax.get_visible() for ax in panel.profile_axes.values())


def _legend_texts(panel: RxesPanel) -> dict[str, list[str]]:
    return {key: [text.get_text() for text in legend.get_texts()] for key, legend in panel.profile_view.legends.items()}


def test_view_switch_keeps_unchanged_legends_and_rebuilds_changed_ones(panel, qtbot):
    """Building a legend lays out its text: a view switch (same cuts, same labels) keeps the legend
    objects; a dragged cut's new position or a new cut shows in a rebuilt legend."""
    panel.add_dataset(synthetic_two_channel())
    panel.show()
    first = panel.add_cut("CEE", 8630.0, 0.8)
    panel.add_cut("CIE", 9652.0, 0.8)
    legends = dict(panel.profile_view.legends)
    texts = _legend_texts(panel)
    assert set(legends) == {"incident", "emission"}
    panel.set_view("transfer")
    assert all(panel.profile_view.legends[key] is legends[key] for key in legends)
    assert _legend_texts(panel) == texts
    panel.document.cuts.update(first, position=8631.0)
    assert any("8631.00" in text for text in _legend_texts(panel)["incident"]), _legend_texts(panel)
    assert panel.profile_view.legends["incident"] is not legends["incident"]
    assert panel.profile_view.legends["emission"] is legends["emission"]
    panel.add_cut("CEE", 8640.0, 0.8)
    assert len(_legend_texts(panel)["incident"]) == 2


def test_new_points_on_the_same_colour_scale_redraw_only_the_map_axes(panel, qtbot):
    """A followed scan's new points that leave the colour range as it was: the inside of the map axes
    is repainted, the colour bar is not (no full draw), and the picture equals a full draw; a new
    maximum repaints the colour bar too, still without a full draw."""
    from dataclasses import replace

    dataset = synthetic_two_channel()
    panel.add_dataset(dataset)
    panel.show()
    panel.add_cut("CEE", 8630.0, 0.8)
    panel.map_canvas.canvas.draw()
    qtbot.wait(20)
    events = []
    panel.map_canvas.connect("draw_event", lambda event: events.append("full"))
    panel.map_canvas.partial_redrawn.connect(lambda: events.append("axes"))

    def grown(rxes_map, factor=1.0):
        intensity = np.array(rxes_map.intensity, float) * factor
        middle = np.nanargmin(np.abs(intensity - np.nanmedian(intensity)))
        intensity.flat[middle] = np.nan            # one point fewer: neither the minimum nor the maximum
        return replace(rxes_map, intensity=intensity)

    dataset.replace_objects([grown(m) for m in dataset.objects])
    panel.workspace.replace_data(dataset)
    qtbot.wait(50)
    assert events == ["axes"]
    partial = np.array(panel.map_canvas.canvas.buffer_rgba())
    panel.map_canvas.canvas.draw()
    np.testing.assert_array_equal(partial, np.array(panel.map_canvas.canvas.buffer_rgba()))
    events.clear()
    dataset.replace_objects([grown(m, 2.0) for m in dataset.objects])
    panel.workspace.replace_data(dataset)
    qtbot.wait(50)
    assert "full" not in events and events
    assert panel.map_plot.colorbar.norm.vmax == pytest.approx(np.nanmax(panel.map_plot.rxes_map.intensity))
    partial = np.array(panel.map_canvas.canvas.buffer_rgba())
    panel.map_canvas.canvas.draw()
    np.testing.assert_array_equal(partial, np.array(panel.map_canvas.canvas.buffer_rgba()))
