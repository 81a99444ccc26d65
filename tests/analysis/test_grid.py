"""Grid helpers: tolerance grouping of jittered read-backs, half-step pixel edges and extents."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xestools.analysis.grid import estimate_step, group_axis, image_extent, is_regular, pixel_edges


def test_group_axis_recovers_set_points_from_jittered_readbacks():
    rng = np.random.default_rng(0)
    set_points = 9658.0 + 0.3 * np.arange(17)
    values = np.repeat(set_points, 51) + rng.uniform(-0.004, 0.004, 17 * 51)
    rng.shuffle(values)
    axis, index = group_axis(values)
    assert axis.size == 17
    np.testing.assert_allclose(axis, set_points, atol=0.004)
    np.testing.assert_array_equal(index, np.rint((values - 9658.0) / 0.3).astype(int))
    np.testing.assert_allclose(axis[index], values, atol=0.01)


def test_group_axis_distinct_values_are_their_own_groups():
    values = np.array([3.0, 1.0, 2.0, 1.0])
    axis, index = group_axis(values)
    np.testing.assert_array_equal(axis, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(index, [2, 0, 1, 0])


def test_group_axis_explicit_tolerance_and_nan():
    axis, index = group_axis([0.0, 0.05, 1.0, np.nan], tolerance=0.1)
    np.testing.assert_allclose(axis, [0.025, 1.0])
    np.testing.assert_array_equal(index, [0, 0, 1, -1])
    axis, index = group_axis([np.nan, np.nan])
    assert axis.size == 0 and list(index) == [-1, -1]


def test_estimate_step_ignores_jitter():
    rng = np.random.default_rng(1)
    values = np.repeat(8628.0 + 0.3 * np.arange(74), 17) + rng.uniform(-0.005, 0.005, 74 * 17)
    assert estimate_step(values) == pytest.approx(0.3, abs=0.01)
    assert estimate_step([5.0]) == 0.0
    assert estimate_step([5.0, 5.0, 5.0]) == 0.0


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 60), step=st.floats(0.05, 5.0), repeats=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_group_axis_property(n, step, repeats, seed):
    rng = np.random.default_rng(seed)
    set_points = 1000.0 + step * np.arange(n)
    values = np.repeat(set_points, repeats) + rng.uniform(-0.02, 0.02, n * repeats) * step
    axis, index = group_axis(values)
    assert axis.size == n
    np.testing.assert_allclose(axis, set_points, atol=0.021 * step)
    np.testing.assert_array_equal(index, np.repeat(np.arange(n), repeats))


def test_image_extent_half_step_rule():
    axis = np.linspace(9658.0, 9662.8, 17)
    step = (9662.8 - 9658.0) / 16
    assert image_extent(axis) == pytest.approx((9658.0 - step / 2, 9662.8 + step / 2))
    assert image_extent([5.0]) == (4.5, 5.5)
    with pytest.raises(ValueError):
        image_extent([])


def test_pixel_edges():
    axis = np.array([0.0, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(pixel_edges(axis), [-0.5, 0.5, 1.5, 3.0, 5.0])
    regular = np.linspace(10.0, 12.0, 5)
    edges = pixel_edges(regular)
    assert edges.size == 6
    assert (edges[0], edges[-1]) == pytest.approx(image_extent(regular))
    np.testing.assert_allclose(pixel_edges([3.0]), [2.5, 3.5])


def test_is_regular():
    assert is_regular(np.linspace(0, 1, 11))
    assert is_regular(8628.0 + 0.3 * np.arange(74))
    assert not is_regular([0.0, 1.0, 3.0, 4.0])
    assert is_regular([0.0, 0.3, 0.59, 0.89], rtol=0.05)
    assert not is_regular([0.0, 0.0, 0.0])
    assert not is_regular([0.0, np.nan, 2.0])
