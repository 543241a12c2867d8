"""hysupp.metrics.unmixing.degenerate_endmembers: the data's range read by column blocks equals the
range computed with loops over every value; the four reasons on hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hysupp.errors import InputError
from hysupp.metrics.unmixing import _band_range, degenerate_endmembers


def _range_by_loops(Y):
    L, N = Y.shape
    low, high = [math.inf] * L, [-math.inf] * L
    for i in range(L):
        for j in range(N):
            v = float(Y[i, j])
            if math.isfinite(v):
                low[i], high[i] = min(low[i], v), max(high[i], v)
    return np.array(low), np.array(high)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("block", [1, 7, 1 << 20])
def test_band_range_by_blocks_equals_loops(dtype, block):
    rng = np.random.default_rng(0)
    Y = (rng.standard_normal((4, 23)) * 100).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        Y[1, 5] = np.nan
        Y[2, :] = np.inf                      # a band without a finite value
        Y[3, 0] = -np.inf
    low, high = _band_range(Y, 4, block_values=block)
    want_low, want_high = _range_by_loops(Y)
    np.testing.assert_array_equal(low, want_low)
    np.testing.assert_array_equal(high, want_high)
    assert low.dtype == np.float64


def test_band_range_makes_no_full_size_copy():
    import tracemalloc

    Y = np.random.default_rng(1).random((50, 40000), dtype=np.float32)
    _band_range(Y, 50)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        _band_range(Y, 50, block_values=50 * 1000)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 0.1 * Y.nbytes                 # one block's mask, not a float64 copy (2 cubes)


def test_reasons_on_hand_made_endmembers():
    Y = np.array([[0.2, 0.4, 0.3, np.nan], [0.5, 0.1, 0.2, 0.3]], dtype=np.float32)
    E = np.array([[0.3, 0.0, -0.5, 3.0, np.nan],
                  [0.2, 0.0, 0.2, 0.2, 0.1]])
    found = {d["index"]: d["reason"] for d in degenerate_endmembers(E, Y)}
    assert found == {1: "zero", 2: "below the data's floor", 3: "above the data's range", 4: "non-finite"}


def test_all_zero_data_flags_nothing_and_complex_data_is_refused():
    assert degenerate_endmembers(np.ones((2, 1)), np.zeros((2, 5))) == []
    with pytest.raises(InputError, match="real-valued"):
        degenerate_endmembers(np.ones((2, 1)), np.ones((2, 5), dtype=complex))
