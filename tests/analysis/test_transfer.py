"""Energy transfer per point from the measured energies."""
from __future__ import annotations

import math

import numpy as np

from xestools.analysis import energy_transfer
from xestools.analysis.transfer import transfer_range
from xestools.model import RXESMap


def _map(seed: int = 0) -> RXESMap:
    rng = np.random.default_rng(seed)
    incident_axis = 9658.0 + 0.3 * np.arange(5)
    emission_axis = 8628.0 + 0.2 * np.arange(7)
    incident = incident_axis[:, None] + rng.uniform(-0.005, 0.005, (5, 7))
    emission = emission_axis[None, :] + rng.uniform(-0.002, 0.002, (5, 7))
    intensity = rng.uniform(0, 10, (5, 7))
    intensity[0, 0] = np.nan
    return RXESMap(incident, emission, incident_axis, emission_axis, intensity)


def test_energy_transfer_is_incident_minus_emission_per_point():
    rxes_map = _map()
    transfer = energy_transfer(rxes_map)
    assert transfer.shape == rxes_map.shape
    for i in range(5):
        for j in range(7):
            assert transfer[i, j] == rxes_map.incident[i, j] - rxes_map.emission[i, j]
    transfer[0, 0] = 0.0  # a new writable array, not a view of the map
    assert rxes_map.incident[0, 0] - rxes_map.emission[0, 0] > 1000


def test_transfer_range_skips_unmeasured_points():
    rxes_map = _map(1)
    values = [rxes_map.incident[i, j] - rxes_map.emission[i, j] for i in range(5) for j in range(7) if (i, j) != (0, 0)]
    assert transfer_range(rxes_map) == (min(values), max(values))
    blank = RXESMap(rxes_map.incident, rxes_map.emission, rxes_map.incident_axis, rxes_map.emission_axis,
                    np.full((5, 7), np.nan))
    assert all(math.isnan(value) for value in transfer_range(blank))
