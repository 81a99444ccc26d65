"""Time to switch incident ↔ transfer view (transform change, cut overlays and profiles, full draw).

Measured from the request to both canvases having drawn (as the event loop runs them, no extra draws;
only the axes a view switch changes are redrawn: the map without its colour bar, the CIE profile panel).

Synthetic 300 × 1000 map with three cuts, offscreen; median of 10 switches each way.
Prints ``name: value unit``. Goal: ≤ 150 ms.
"""
from __future__ import annotations

import statistics
import time

from _common import map_panel


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
    for _ in range(repeats):
        for view, name in (("transfer", "incident_to_transfer"), ("incident", "transfer_to_incident")):
            draws.clear()
            began = time.perf_counter()
            panel.set_view(view)
            while len(draws) < 2:           # the map and the profile canvas have both been redrawn
                application.processEvents()
            timings[name].append(time.perf_counter() - began)
    label = f"{shape[0]}x{shape[1]}"
    for name, values in timings.items():
        print(f"view_switch_{name}_{label}_median: {statistics.median(values) * 1000:.1f} ms")
    panel.shutdown()


if __name__ == "__main__":
    main()
