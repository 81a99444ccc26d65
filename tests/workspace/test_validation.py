"""Cut widths a user types: refused at 0 eV and beyond the map's range, with a message (no Qt)."""
from __future__ import annotations

import numpy as np
import pytest

from xestools.model import RXESMap
from xestools.workspace.validation import cut_span, cut_width_problem


def small_map() -> RXESMap:
    incident = np.linspace(9658.0, 9662.8, 17)        # step 0.3
    emission = np.linspace(8632.0, 8647.0, 51)        # step 0.3
    grid_in, grid_em = np.meshgrid(incident, emission, indexing="ij")
    return RXESMap(incident=grid_in, emission=grid_em, incident_axis=incident, emission_axis=emission,
                   intensity=np.ones((17, 51)), mask=np.ones((17, 51), dtype=bool))


@pytest.mark.parametrize("kind, expected", [("CIE", 4.8 + 0.3), ("CEE", 15.0 + 0.3),
                                            # Ω − ω runs from 9658 − 8647.15 − 0.15 to 9662.8 + 0.15 − 8631.85
                                            ("CET", (9662.95 - 8631.85) - (9657.85 - 8647.15))])
def test_span_along_each_cut(kind, expected):
    assert cut_span(small_map(), kind) == pytest.approx(expected)


def test_zero_negative_and_nan_widths_are_refused():
    for width in (0.0, -1.0, float("nan")):
        assert "more than 0 eV" in cut_width_problem(width, "CEE", small_map())


def test_wider_than_the_map_is_refused_and_within_is_accepted():
    message = cut_width_problem(50.0, "CIE", small_map())
    assert "5.10 eV" in message and "50" in message
    assert cut_width_problem(5.1, "CIE", small_map()) is None
    assert cut_width_problem(0.01, "CET", small_map()) is None
    assert cut_width_problem(50.0, "CIE", None) is None, "without a map only > 0 is checked"
