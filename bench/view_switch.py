"""Time to switch incident ↔ transfer view (transform change, cut overlays and profiles, full draw).

Measured from the request to both canvases having drawn (as the event loop runs them, no extra draws;
only the axes a view switch changes are redrawn: the map without its colour bar, the CIE profile panel).

Synthetic 300 × 1000 map with three cuts, offscreen; median of 10 switches each way.
Prints ``name: value unit``, with the same-run reference: one full draw (and paint) of the same
map sheared into the transfer view on a plain matplotlib canvas of the map canvas' pixel size
(``view_switch_bare_draw_…``), and each switch ÷ that draw (goal: ≤ 1.5). The machine's speed
drifts (other jobs share its cores), so a bare draw follows every switch and the ratio is the
median of those pairs' ratios.
"""
from __future__ import annotations

import statistics
import time

from _common import app, map_panel


def main(shape=(300, 1000), repeats: int = 10) -> None:
    application, panel = map_panel(shape)
    for kind in ("CIE", "CEE", "CET"):
        panel.add_cut(kind, None, 0.5)
    application.processEvents()
    panel.map_canvas.canvas.draw()
    application.processEvents()
    draws = []
    panel.map_canvas.connect("draw_event", lambda event: draws.append("map"))
    panel.profile_canvas.connect("draw_event", lambda event: draws.append("profile"))
    # a view switch redraws only the axes that change (the map, not its colour bar; the CIE profile
    # panel, not the Ω one): no full draw, so no draw_event, but a partial_redrawn signal
    panel.profile_canvas.partial_redrawn.connect(lambda: draws.append("profile"))
    panel.map_canvas.partial_redrawn.connect(lambda: draws.append("map"))
    timings = {"incident_to_transfer": [], "transfer_to_incident": []}
    ratios = {"incident_to_transfer": [], "transfer_to_incident": []}
    size = (panel.map_canvas.canvas.width(), panel.map_canvas.canvas.height())
    bare_draw, close_bare = bare_sheared_canvas(panel.map_plot.rxes_map, panel.map_plot.image, size)
    bare = []
    for _ in range(repeats):
        for view, name in (("transfer", "incident_to_transfer"), ("incident", "transfer_to_incident")):
            draws.clear()
            began = time.perf_counter()
            panel.set_view(view)
            while len(draws) < 2:           # the map and the profile canvas have both been redrawn
                application.processEvents()
            timings[name].append(time.perf_counter() - began)
            bare.append(bare_draw())
            ratios[name].append(timings[name][-1] / bare[-1])
    close_bare()
    label = f"{shape[0]}x{shape[1]}"
    print(f"view_switch_bare_draw_{label}_median: {statistics.median(bare) * 1000:.1f} ms")
    for name, values in timings.items():
        print(f"view_switch_{name}_{label}_median: {statistics.median(values) * 1000:.1f} ms")
        print(f"view_switch_{name}_{label}_ratio: {statistics.median(ratios[name]):.2f} x")
    panel.shutdown()


def bare_sheared_canvas(rxes_map, image, size: tuple[int, int]):
    """(draw, close): ``draw()`` returns the seconds of one full draw + paint of the map sheared to
    Ω − ω on a plain canvas."""
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure

    from xestools.figures import transfer_shear, view_limits

    application = app()
    figure = Figure(figsize=(size[0] / 100.0, size[1] / 100.0), dpi=100.0)
    canvas = FigureCanvasQTAgg(figure)
    canvas.resize(*size)
    canvas.show()
    ax = figure.add_axes((0.07, 0.1, 0.8, 0.82))
    shown = ax.imshow(image.get_array(), origin="lower", extent=image.get_extent(), aspect="auto",
                      cmap=image.get_cmap(), norm=image.norm, interpolation="nearest",
                      interpolation_stage="data", resample=False)
    shown.set_transform(transfer_shear() + ax.transData)
    (x0, x1), (y0, y1) = view_limits(rxes_map, "transfer")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("Ω (eV)")
    ax.set_ylabel("Energy transfer Ω − ω (eV)")
    application.processEvents()

    def draw() -> float:
        began = time.perf_counter()
        canvas.draw()
        canvas.repaint()
        return time.perf_counter() - began

    def close() -> None:
        canvas.close()
        canvas.deleteLater()

    draw()      # the first draw lays out and caches fonts: not what a switch pays
    return draw, close


if __name__ == "__main__":
    main()
