"""Drag a cut across synthetic maps offscreen: profile updates per second and event→paint latency.

Each mouse move goes through the map canvas like a real one (matplotlib MouseEvent), then the
event loop runs once (the panel coalesces moves and blits map and profile). Only moves whose
profile was painted in that turn count as updates (a coalesced, unpainted move is not an update).
Latency is measured from dispatching the move to the profile canvas having blitted.
Prints ``name: value unit``.

The same-run reference (``…_bare_updates_per_s``) is plain matplotlib drawing the same picture on
two canvases of the same pixel sizes (``_common.BareBlit``: set_data, restore the background,
draw_artist, blit). The machine's speed drifts (other jobs share its cores), so ours and the bare
reference run in alternating rounds in one process; each figure is the median over the rounds and
``…_rate_ratio`` is the median of the rounds' ours ÷ bare (goal at 2000²: ≥ 0.7, i.e. an update
takes at most 1.4 × the bare one). ``…_cpu_ratio`` is the same ratio in process CPU time per update
(bare ÷ ours), which the other jobs on the machine disturb less than the wall clock.
"""
from __future__ import annotations

import statistics
import sys
import time

from _common import BareBlit, map_panel


def drag(shape, kind: str, view: str, moves: int = 150, rounds: int = 3) -> tuple[float, float, float, float, float]:
    """(updates/s, median latency ms, bare updates/s, median ratio, median CPU ratio) over ``rounds``
    alternating rounds."""
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
    sign = 1 if kind == "CEE" and view == "incident" or kind == "CET" and view == "transfer" else -1
    sizes = [(c.canvas.width(), c.canvas.height()) for c in (panel.map_canvas, panel.profile_canvas)]
    intensity = panel.map_plot.rxes_map.intensity
    bare = BareBlit(intensity, *sizes)
    application.processEvents()

    def send(name, x, y):
        px, py = panel.map_ax.transData.transform((x, y))
        MouseEvent(name, canvas, px, py, button=1)._process()

    def ours(forward: bool) -> tuple[float, float, list[float]]:
        send("button_press_event", x0 if forward or kind != "CIE" else x0 + 10.0,
             y0 if forward or kind == "CIE" else y0 + 10.0 * sign)
        latencies, painted = [], 0
        began, cpu_began = time.perf_counter(), time.process_time()
        for index in range(1, moves + 1):
            offset = (index if forward else moves - index) * step
            x, y = (x0 + offset, y0) if kind == "CIE" else (x0, y0 + offset * sign)
            sent = time.perf_counter()
            send("motion_notify_event", x, y)
            application.processEvents()
            if panel.last_profile_paint >= sent:
                painted += 1
                latencies.append(panel.last_profile_paint - sent)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        send("button_release_event", x, y)
        application.processEvents()
        return painted / elapsed, cpu / max(painted, 1), latencies

    def reference() -> tuple[float, float]:
        columns = intensity.shape[1]
        began, cpu_began = time.perf_counter(), time.process_time()
        for index in range(moves):
            bare.update(int(columns * 0.3) + index % max(columns // 3, 1))
            application.processEvents()
        return moves / (time.perf_counter() - began), (time.process_time() - cpu_began) / moves

    rates, bare_rates, ratios, cpu_ratios, latencies = [], [], [], [], []
    for round_ in range(rounds):
        rate, cpu, lat = ours(forward=round_ % 2 == 0)
        bare_rate, bare_cpu = reference()
        rates.append(rate)
        bare_rates.append(bare_rate)
        ratios.append(rate / bare_rate)
        cpu_ratios.append(bare_cpu / cpu)
        latencies.extend(lat)
    bare.close()
    panel.shutdown()
    panel.deleteLater()
    application.processEvents()
    latency = statistics.median(latencies) * 1000.0 if latencies else float("nan")
    return (statistics.median(rates), latency, statistics.median(bare_rates), statistics.median(ratios),
            statistics.median(cpu_ratios))


def main(only: list[str]) -> None:
    """All shapes and cuts, or only those whose label (e.g. ``2000x2000``, ``CEE_incident``) is named."""
    for shape in ((300, 1000), (2000, 2000)):
        label = f"{shape[0]}x{shape[1]}"
        for kind, view in (("CEE", "incident"), ("CIE", "incident"), ("CEE", "transfer"), ("CET", "transfer")):
            if only and not any(name in (label, f"{kind}_{view}") for name in only):
                continue
            rate, latency, bare, ratio, cpu_ratio = drag(shape, kind, view)
            print(f"cut_drag_{kind}_{view}_{label}_updates_per_s: {rate:.1f} 1/s")
            print(f"cut_drag_{kind}_{view}_{label}_bare_updates_per_s: {bare:.1f} 1/s")
            print(f"cut_drag_{kind}_{view}_{label}_rate_ratio: {ratio:.2f} x")
            print(f"cut_drag_{kind}_{view}_{label}_cpu_ratio: {cpu_ratio:.2f} x")
            print(f"cut_drag_{kind}_{view}_{label}_median_latency: {latency:.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
