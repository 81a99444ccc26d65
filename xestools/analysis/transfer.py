"""Energy-transfer coordinates of an RXES map.

Energy transfer ET = Ω − ω (elastic line at 0, energy losses positive), computed per point from the
*measured* incident and emission energies, so read-back jitter is carried into the transfer view
instead of being smoothed away by the reduced grid axes.
"""
from __future__ import annotations

import numpy as np

from xestools.model import RXESMap


def energy_transfer(rxes_map: RXESMap) -> np.ndarray:
    """Ω − ω of every point, ``ET[i, j] = Ω[i, j] − ω[i, j]`` (a new, writable 2D array).

    Unmeasured points keep whatever the reader stored for their energies (NaN for an aborted scan).
    """
    return np.subtract(rxes_map.incident, rxes_map.emission, dtype=float)


def transfer_range(rxes_map: RXESMap) -> tuple[float, float]:
    """(min, max) of Ω − ω over the measured points; ``(nan, nan)`` when none was measured."""
    transfer = energy_transfer(rxes_map)
    valid = rxes_map.mask & np.isfinite(transfer)
    if not valid.any():
        return float("nan"), float("nan")
    values = transfer[valid]
    return float(values.min()), float(values.max())
