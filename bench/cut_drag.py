"""Drag a cut across synthetic maps offscreen: profile updates per second and event→paint latency.

Each mouse move goes through the map canvas like a real one (matplotlib MouseEvent), then the
event loop runs once (the panel coalesces moves and blits map and profile). Latency is measured
from dispatching the move to the profile canvas having blitted. Prints ``name: value unit``.

The same-run reference (``…_bare_updates_per_s``) is plain matplotlib drawing the same picture on
two canvases of the same pixel sizes (``_common.BareBlit``: set_data, restore the background,
draw_artist, blit), and ``…_rate_ratio`` is ours ÷ bare (goal at 2000²: ≥ 0.7, i.e. an update
takes at most 1.4 × the bare one).
"""
from __future__ import annotations

import statistics
import time

from _common import bare_blit_rate, map_panel


def drag(shape, kind: str, view: str, moves: int = 150) -> tuple[float, float, float]:
    from matplotlib.backend_bases import MouseEvent

    application, panel = map_panel(shape, view)
    omega, emission = 9655.0, 8630.0
    start_position = {"CIE": omega, "CEE": emission, "CET": omega - emission}[kind]
    ident = panel.add_cut(kind, start_position, 0.5)
    for _ in range(5):
        application.processEvents()
    panel.map_canvas.canvas.draw()
    line_x, line_y = panel.map_view.overlay(ident).line.get_data()
    x0, y0 = float(sum(line_x) / 2), float(sum(line_y) / 2)
    step = 10.0 / moves
    canvas = panel.map_canvas.canvas

    def send(name, x, y):
        px, py = panel.map_ax.transData.transform((x, y))
        MouseEvent(name, canvas, px, py, button=1)._process()

    send("button_press_event", x0, y0)
    latencies = []
    began = time.perf_counter()
    for index in range(1, moves + 1):
        x, y = (x0 + index * step, y0) if kind == "CIE" else (x0, y0 + index * step * (1 if kind == "CEE" and view == "incident" or kind == "CET" and view == "transfer" else -1))
        sent = time.perf_counter()
        send("motion_notify_event", x, y)
        application.processEvents()
        latencies.append(panel.last_profile_paint - sent)
    elapsed = time.perf_counter() - began
    send("button_release_event", x, y)
    sizes = [(c.canvas.width(), c.canvas.height()) for c in (panel.map_canvas, panel.profile_canvas)]
    intensity = panel.map_plot.rxes_map.intensity
    panel.shutdown()
    panel.deleteLater()
    application.processEvents()
    bare = bare_blit_rate(intensity, *sizes, moves=moves)
    return moves / elapsed, statistics.median(latencies) * 1000.0, bare


def main() -> None:
    for shape in ((300, 1000), (2000, 2000)):
        label = f"{shape[0]}x{shape[1]}"
        for kind, view in (("CEE", "incident"), ("CIE", "incident"), ("CEE", "transfer"), ("CET", "transfer")):
            rate, latency, bare = drag(shape, kind, view, moves=150)
            print(f"cut_drag_{kind}_{view}_{label}_updates_per_s: {rate:.1f} 1/s")
            print(f"cut_drag_{kind}_{view}_{label}_bare_updates_per_s: {bare:.1f} 1/s")
            print(f"cut_drag_{kind}_{view}_{label}_rate_ratio: {rate / bare:.2f} x")
            print(f"cut_drag_{kind}_{view}_{label}_median_latency: {latency:.2f} ms")


if __name__ == "__main__":
    main()
