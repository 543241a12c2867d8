"""Tests for hysupp.physics.noise (AWGN at an SNR in dB, HySUPP's global-power definition)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hysupp.errors import InputError, ParameterError
from hysupp.physics import add_awgn, noise_sigma, snr_db


def test_noise_sigma_golden():
    # mean(Y^2) = 4; 20 dB -> 10^2 = 100; sigma = sqrt(4 / 100) = 0.2
    assert noise_sigma(np.full((3, 7), 2.0), 20.0) == pytest.approx(0.2, rel=1e-15)
    # mean([9, 16, 0, 0]) = 6.25; 10 dB -> /10 -> 0.625; sigma = sqrt(0.625) = 0.790569415
    assert noise_sigma([[3.0, 4.0], [0.0, 0.0]], 10.0) == pytest.approx(math.sqrt(0.625), rel=1e-15)
    # 0 dB: noise power equals signal power
    assert noise_sigma(np.full(5, 3.0), 0.0) == pytest.approx(3.0)
    assert noise_sigma(np.ones(4), math.inf) == 0.0


def test_noise_sigma_is_global_not_per_band():
    # band 0 is zero, band 1 is 2: the global mean(Y^2) = (0 + 4) / 2 = 2 sets one sigma for all
    Y = np.vstack([np.zeros(100_000), np.full(100_000, 2.0)])
    sigma = noise_sigma(Y, 10.0)                      # sqrt(2 / 10)
    assert sigma == pytest.approx(math.sqrt(0.2))
    noise = add_awgn(Y, 10.0, seed=3) - Y
    np.testing.assert_allclose(noise.std(axis=1), [sigma, sigma], rtol=0.01)


@pytest.mark.parametrize("target", [-5.0, 10.0, 20.0, 30.0, 40.0])
def test_empirical_snr_within_a_tenth_of_a_db(target):
    rng = np.random.default_rng(0)
    Y = rng.random((100, 5000))                       # 5e5 entries -> noise power within ~0.5 %
    Yn = add_awgn(Y, target, seed=1)
    assert abs(snr_db(Y, Yn) - target) < 0.1


def test_deterministic_for_a_seed_and_seed_kinds():
    Y = np.random.default_rng(2).random((4, 50))
    a = add_awgn(Y, 25.0, seed=7)
    np.testing.assert_array_equal(a, add_awgn(Y, 25.0, seed=7))
    np.testing.assert_array_equal(a, add_awgn(Y, 25.0, seed=np.random.default_rng(7)))
    np.testing.assert_array_equal(a, add_awgn(Y, 25.0, seed=np.random.SeedSequence(7)))
    assert not np.array_equal(a, add_awgn(Y, 25.0, seed=8))
    # a Generator is advanced: two calls with the same generator give different noise
    g = np.random.default_rng(7)
    assert not np.array_equal(add_awgn(Y, 25.0, seed=g), add_awgn(Y, 25.0, seed=g))
    # the formula, written out: Y + sigma * default_rng(seed).standard_normal(Y.shape)
    expected = Y + noise_sigma(Y, 25.0) * np.random.default_rng(7).standard_normal(Y.shape)
    np.testing.assert_array_equal(a, expected)


def test_legacy_randomstate_reproduces_hysupp_draws():
    # HySUPP: np.random.seed(s); Y + diag(sigmas) @ np.random.randn(L, N) with equal sigmas
    Y = np.random.default_rng(3).random((6, 40))
    s = 0
    sigma = math.sqrt(np.mean(Y ** 2) / 10 ** (30 / 10))
    expected = Y + sigma * np.random.RandomState(s).randn(6, 40)
    np.testing.assert_array_equal(add_awgn(Y, 30.0, seed=np.random.RandomState(s)), expected)


def test_cube_and_matrix_get_the_same_noise():
    Y = np.random.default_rng(4).random((3, 4, 5))
    np.testing.assert_array_equal(add_awgn(Y, 20.0, seed=9).reshape(3, 20),
                                  add_awgn(Y.reshape(3, 20), 20.0, seed=9))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_dtype_preserved(dtype):
    Y = np.random.default_rng(5).random((3, 10)).astype(dtype)
    out = add_awgn(Y, 30.0, seed=0)
    assert out.dtype == dtype and out.shape == Y.shape
    assert not np.shares_memory(out, Y)


def test_integer_input_promoted_and_input_untouched():
    Y = np.arange(12, dtype=np.int16).reshape(3, 4)
    before = Y.copy()
    out = add_awgn(Y, 30.0, seed=0)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(Y, before)


def test_no_noise_returns_a_copy():
    Y = np.ones((2, 3), dtype=np.float32)
    for snr in (None, math.inf):
        out = add_awgn(Y, snr, seed=0)
        np.testing.assert_array_equal(out, Y)
        assert out.dtype == np.float32 and out is not Y


def test_non_finite_entries_ignored_in_power_and_kept():
    Y = np.full((2, 4), 2.0)
    Y[0, 0] = np.nan
    # power from the 7 finite entries = 4 -> same sigma as without the NaN
    assert noise_sigma(Y, 20.0) == pytest.approx(0.2)
    out = add_awgn(Y, 20.0, seed=0)
    assert np.isnan(out[0, 0]) and np.isfinite(out[1]).all()


def test_snr_db_golden_and_edge_cases():
    Y = np.array([[1.0, -1.0], [1.0, -1.0]])
    # mean(Y^2) = 1; noise 0.1 everywhere -> mean 0.01; 10 log10(100) = 20 dB
    assert snr_db(Y, Y + 0.1) == pytest.approx(20.0, abs=1e-9)
    # noise 1 everywhere -> 0 dB
    assert snr_db(Y, Y + 1.0) == pytest.approx(0.0, abs=1e-12)
    assert snr_db(Y, Y) == math.inf
    assert snr_db(np.zeros(3), np.ones(3)) == -math.inf


def test_errors():
    with pytest.raises(InputError, match=r"Y_clean \(2, 3\).*Y_noisy \(3, 2\)"):
        snr_db(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ParameterError, match="snr_db"):
        add_awgn(np.ones(3), float("nan"))
    with pytest.raises(ParameterError, match="snr_db"):
        noise_sigma(np.ones(3), "high")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="seed"):
        add_awgn(np.ones(3), 20.0, seed="abc")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="empty"):
        add_awgn(np.ones((0, 3)), 20.0)
    with pytest.raises(InputError, match="real"):
        add_awgn(np.ones(3, dtype=complex), 20.0)
    with pytest.raises(InputError, match="no finite"):
        noise_sigma(np.full(3, np.nan), 20.0)


@settings(max_examples=30, deadline=None)
@given(st.floats(-10.0, 60.0), st.floats(1e-3, 1e3))
def test_sigma_formula_and_scaling(snr, c):
    Y = np.linspace(-1.0, 2.0, 24).reshape(4, 6)
    s = noise_sigma(Y, snr)
    assert s == pytest.approx(math.sqrt(np.mean(Y ** 2) / 10 ** (snr / 10)), rel=1e-12)
    # sigma scales with the data; 10 dB more SNR divides it by sqrt(10)
    assert noise_sigma(c * Y, snr) == pytest.approx(c * s, rel=1e-9)
    assert noise_sigma(Y, snr + 10.0) == pytest.approx(s / math.sqrt(10.0), rel=1e-9)
