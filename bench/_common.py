"""Shared helpers for the GUI benchmarks (offscreen Qt, synthetic maps)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def synthetic_map(n_incident: int, n_emission: int, seed: int = 0):
    """A regular Ω×ω map with jittered read-backs, a Kα-like line and Poisson-like σ."""
    from xestools.model import Channel, RXESMap

    rng = np.random.default_rng(seed)
    incident_axis = np.linspace(9650.0, 9670.0, n_incident)
    emission_axis = np.linspace(8620.0, 8660.0, n_emission)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    incident = incident + rng.normal(0.0, 0.002, incident.shape)
    emission = emission + rng.normal(0.0, 0.002, emission.shape)
    intensity = np.exp(-((emission - 8638.9) / 1.5) ** 2) * (1.0 + np.tanh(incident - 9659.0)) + 0.01
    return RXESMap(incident, emission, incident_axis, emission_axis, intensity,
                   uncertainty=np.sqrt(intensity) * 0.05, channel=Channel.UPPER, source=f"synthetic_{n_incident}x{n_emission}")


def app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def map_panel(shape: tuple[int, int], view: str | None = None):
    """An RxesPanel shown offscreen (1200 × 900) with a synthetic map of ``shape``; returns (app, panel)."""
    from xestools.workspace.datasets import Dataset
    from xestools.gui.rxes.rxes_panel import RxesPanel

    application = app()
    panel = RxesPanel()
    panel.resize(1200, 900)
    panel.show()
    rxes_map = synthetic_map(*shape)
    panel.add_dataset(Dataset(rxes_map.source, [rxes_map]))
    if view is not None:
        panel.set_view(view)
    return application, panel
