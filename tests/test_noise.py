"""Tests for hysupp.physics.noise: AWGN at an SNR in dB (HySUPP's global-power definition),
band-dependent, coloured and Poisson-Gaussian noise, and the NoiseModel value."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hysupp.errors import InputError, ParameterError
from hysupp.physics import add_awgn, noise_sigma, snr_db
from hysupp.physics.noise import (
    NoiseModel,
    add_band_noise,
    add_coloured_noise,
    add_poisson_gaussian,
    band_noise_sigma,
    band_snr_db,
    coloured_noise_sigma,
    gaussian_noise_profile,
)


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


# ====================================================================== band-dependent noise

def _spectra(L=24, N=40_000, seed=0):
    """Positive test data whose band powers differ by ~2 orders of magnitude."""
    rng = np.random.default_rng(seed)
    return (rng.random((L, N)) + 0.5) * np.linspace(0.1, 1.0, L)[:, None]


def test_band_noise_empirical_snr_per_band_within_0p2_db():
    Y = _spectra()
    target = np.linspace(5.0, 45.0, Y.shape[0])
    Yn = add_band_noise(Y, target, seed=11)
    np.testing.assert_allclose(band_snr_db(Y, Yn), target, atol=0.2)
    # a scalar gives every band the same band-wise SNR (unlike add_awgn's global SNR)
    np.testing.assert_allclose(band_snr_db(Y, add_band_noise(Y, 25.0, seed=1)), 25.0, atol=0.2)


def test_band_noise_sigma_formula_and_golden():
    Y = np.vstack([np.full(10, 1.0), np.full(10, 10.0), np.zeros(10)])
    np.testing.assert_allclose(band_noise_sigma(Y, 20.0), [0.1, 1.0, 0.0])
    np.testing.assert_allclose(band_noise_sigma(Y, [0.0, 40.0, 10.0]), [1.0, 0.1, 0.0])
    out = add_band_noise(Y, [20.0, np.inf, 30.0], seed=0)
    np.testing.assert_array_equal(out[1:], Y[1:])           # inf dB and zero power: no noise


def test_band_noise_sigma_variant_and_same_draws_as_awgn():
    Y = _spectra(L=6, N=100_000)
    sig = np.array([0.0, 0.01, 0.02, 0.05, 0.1, 0.2])
    noise = add_band_noise(Y, sigma=sig, seed=4) - Y
    np.testing.assert_allclose(noise.std(axis=1)[1:], sig[1:], rtol=0.02)
    assert not noise[0].any()
    # equal sigmas: exactly add_awgn's noise for the same seed
    s = noise_sigma(Y, 22.0)
    np.testing.assert_array_equal(add_band_noise(Y, sigma=s, seed=9), add_awgn(Y, 22.0, seed=9))


def test_band_noise_layouts_dtypes_and_nan():
    Y = np.random.default_rng(1).random((5, 6, 7)).astype(np.float32)
    a = add_band_noise(Y, [10, 20, 30, 40, 50], seed=3)
    assert a.dtype == np.float32 and a.shape == Y.shape
    np.testing.assert_array_equal(a.reshape(5, -1), add_band_noise(Y.reshape(5, -1),
                                                                    [10, 20, 30, 40, 50], seed=3))
    # a batch (B, L, H, W): bands on axis 1, power per band over the whole batch
    B = np.stack([Y, 3 * Y])
    sig = band_noise_sigma(B, 20.0)
    assert sig.shape == (5,)
    np.testing.assert_allclose(sig, np.sqrt((B.astype(np.float64) ** 2).mean(axis=(0, 2, 3)) / 100))
    assert add_band_noise(B, 20.0, seed=0).shape == B.shape
    Yi = np.arange(12, dtype=np.int16).reshape(3, 4)
    assert add_band_noise(Yi, 20.0, seed=0).dtype == np.float64
    Yh = np.ones((2, 8), dtype=np.float16)
    assert add_band_noise(Yh, sigma=0.1, seed=0).dtype == np.float16
    Yz = np.full((2, 4), 2.0)
    Yz[0, 1] = np.nan
    out = add_band_noise(Yz, 20.0, seed=0)
    assert np.isnan(out[0, 1]) and np.isfinite(np.delete(out.ravel(), 1)).all()
    np.testing.assert_allclose(band_noise_sigma(Yz, 20.0), [0.2, 0.2])


def test_band_noise_errors():
    Y = np.ones((3, 4))
    with pytest.raises(ParameterError, match="exactly one"):
        add_band_noise(Y)
    with pytest.raises(ParameterError, match="exactly one"):
        add_band_noise(Y, 20.0, sigma=0.1)
    with pytest.raises(ParameterError, match=r"one value per band \(3\)"):
        add_band_noise(Y, [10.0, 20.0])
    with pytest.raises(ParameterError, match=">= 0"):
        add_band_noise(Y, sigma=[0.1, -0.1, 0.1])
    with pytest.raises(ParameterError, match="-inf"):
        add_band_noise(Y, -np.inf)
    with pytest.raises(ParameterError, match="invalid"):
        add_band_noise(Y, [10.0, np.nan, 10.0])
    with pytest.raises(InputError, match="shape"):
        add_band_noise(np.ones((1, 1, 1, 1, 2)), 10.0)
    with pytest.raises(ParameterError, match="seed"):
        add_band_noise(Y, 10.0, seed=1.5)


def test_band_snr_db_golden_and_edges():
    Y = np.vstack([np.full(4, 1.0), np.full(4, 2.0), np.zeros(4)])
    Yn = Y + np.array([[0.1], [0.0], [1.0]])
    np.testing.assert_allclose(band_snr_db(Y, Yn), [20.0, np.inf, -np.inf])
    with pytest.raises(InputError, match="same shape"):
        band_snr_db(Y, Y[:2])


# ====================================================================== coloured noise
def test_gaussian_noise_profile_formula():
    L, eta = 7, 2.0
    i = np.arange(1, L + 1)
    w = np.exp(-(i - L / 2) ** 2 / (2 * eta ** 2))
    np.testing.assert_allclose(gaussian_noise_profile(L, eta), w / w.sum(), rtol=1e-14)
    np.testing.assert_allclose(gaussian_noise_profile(L, np.inf), np.full(L, 1 / L))
    # tiny eta: all the noise in the band(s) nearest L/2, no underflow to 0/0
    p = gaussian_noise_profile(10, 1e-3)
    assert p.sum() == pytest.approx(1.0) and p[4] == pytest.approx(1.0)
    for bad in (0.0, -1.0, "x"):
        with pytest.raises(ParameterError, match="eta"):
            gaussian_noise_profile(5, bad)
    with pytest.raises(ParameterError, match="n_bands"):
        gaussian_noise_profile(0, 1.0)


def test_coloured_noise_global_snr_and_band_profile():
    Y = _spectra(L=40, N=25_000)
    eta = 8.0
    Yn = add_coloured_noise(Y, 28.0, eta, seed=5)
    assert abs(snr_db(Y, Yn) - 28.0) < 0.2
    var = (Yn - Y).var(axis=1)
    p = gaussian_noise_profile(40, eta)
    expected = p * (Y ** 2).mean(axis=1).sum() / 10 ** 2.8
    strong = p > 0.2 * p.max()
    np.testing.assert_allclose(var[strong], expected[strong], rtol=0.06)
    # the per-band sigmas are exactly those of coloured_noise_sigma
    s = coloured_noise_sigma(Y, 28.0, eta)
    np.testing.assert_allclose(s ** 2, expected, rtol=1e-12)
    # empirical band SNRs match the ones implied by the sigmas within 0.2 dB
    implied = 10 * np.log10((Y ** 2).mean(axis=1) / s ** 2)
    np.testing.assert_allclose(band_snr_db(Y, Yn)[strong], implied[strong], atol=0.2)


def test_coloured_noise_white_limit_and_custom_profile():
    Y = _spectra(L=8, N=2000)
    np.testing.assert_allclose(add_coloured_noise(Y, 20.0, np.inf, seed=2),
                               add_awgn(Y, 20.0, seed=2), rtol=1e-12, atol=1e-12)
    prof = np.array([0, 0, 1, 1, 0, 0, 0, 2.0])
    out = add_coloured_noise(Y, 20.0, profile=prof, seed=2)
    np.testing.assert_array_equal(out[prof == 0], Y[prof == 0])
    np.testing.assert_array_equal(add_coloured_noise(Y, None, 3.0), Y)
    with pytest.raises(ParameterError, match="exactly one"):
        add_coloured_noise(Y, 20.0, 3.0, profile=prof)
    with pytest.raises(ParameterError, match="exactly one"):
        add_coloured_noise(Y, 20.0)
    with pytest.raises(ParameterError, match="non-negative"):
        add_coloured_noise(Y, 20.0, profile=-prof)


# ====================================================================== Poisson-Gaussian noise
def test_poisson_gaussian_mean_and_variance():
    levels = np.array([0.0, 0.5, 2.0, 10.0, 40.0])
    Y = np.repeat(levels[:, None], 200_000, axis=1)
    gain, sr = 0.25, 0.3
    Yn = add_poisson_gaussian(Y, gain, sr, seed=7)
    np.testing.assert_allclose(Yn.mean(axis=1), levels, atol=0.01)
    np.testing.assert_allclose(Yn.var(axis=1), gain * levels + sr ** 2, rtol=0.02)


def test_poisson_gaussian_peak_counts_and_determinism():
    Y = np.random.default_rng(0).random((3, 50)) * 8.0
    a = add_poisson_gaussian(Y, peak=100.0, seed=1)
    gain = Y.max() / 100.0
    counts = a / gain
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)   # no read noise: integers
    np.testing.assert_array_equal(a, add_poisson_gaussian(Y, gain, 0.0, seed=1))
    np.testing.assert_array_equal(a, add_poisson_gaussian(Y, peak=100.0, seed=1))
    assert not np.array_equal(a, add_poisson_gaussian(Y, peak=100.0, seed=2))
    # the draw order is documented: poisson, then standard normal, from one generator
    g = np.random.default_rng(3)
    expected = gain * g.poisson(Y / gain) + 0.1 * g.standard_normal(Y.shape)
    np.testing.assert_allclose(add_poisson_gaussian(Y, peak=100.0, sigma_read=0.1, seed=3),
                               expected, rtol=1e-15)


def test_poisson_gaussian_dtype_nan_and_errors():
    Y = np.full((2, 3), 5.0, dtype=np.float32)
    Y[1, 2] = np.nan
    out = add_poisson_gaussian(Y, 1.0, 0.5, seed=0)
    assert out.dtype == np.float32 and np.isnan(out[1, 2])
    assert add_poisson_gaussian(np.zeros((2, 2)), peak=10.0, seed=0).sum() == 0.0
    with pytest.raises(InputError, match="non-negative"):
        add_poisson_gaussian(np.array([1.0, -0.5]), 1.0)
    with pytest.raises(ParameterError, match="exactly one"):
        add_poisson_gaussian(np.ones(3))
    with pytest.raises(ParameterError, match="exactly one"):
        add_poisson_gaussian(np.ones(3), 1.0, peak=10.0)
    with pytest.raises(ParameterError, match="gain"):
        add_poisson_gaussian(np.ones(3), 0.0)
    with pytest.raises(ParameterError, match="sigma_read"):
        add_poisson_gaussian(np.ones(3), 1.0, -1.0)
    with pytest.raises(ParameterError, match="larger gain"):
        add_poisson_gaussian(np.full(3, 1e20), 1.0)


# ====================================================================== torch inputs
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_inputs_give_tensors_with_the_numpy_noise(dtype):
    Yt = torch.rand(4, 5, 6, dtype=dtype) + 0.1
    Yn = Yt.numpy()
    cases = [
        (lambda y, s: add_awgn(y, 20.0, seed=s)),
        (lambda y, s: add_band_noise(y, [10.0, 20.0, 30.0, 40.0], seed=s)),
        (lambda y, s: add_coloured_noise(y, 20.0, 1.5, seed=s)),
        (lambda y, s: add_poisson_gaussian(y, peak=50.0, sigma_read=0.01, seed=s)),
        (lambda y, s: NoiseModel("band", 25.0).apply(y, seed=s)),
    ]
    for f in cases:
        out = f(Yt, 5)
        assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.device == Yt.device
        np.testing.assert_array_equal(out.numpy(), f(Yn, 5))
    assert noise_sigma(Yt, 20.0) == noise_sigma(Yn, 20.0)
    assert snr_db(Yt, Yt + 0.1) == snr_db(Yn, Yn + 0.1)


def test_torch_generator_seed_is_deterministic():
    Y = np.ones((3, 10))
    a = add_band_noise(Y, 20.0, seed=torch.Generator().manual_seed(4))
    b = add_band_noise(Y, 20.0, seed=torch.Generator().manual_seed(4))
    c = add_band_noise(Y, 20.0, seed=torch.Generator().manual_seed(5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g = torch.Generator().manual_seed(4)
    assert not np.array_equal(add_awgn(Y, 20.0, seed=g), add_awgn(Y, 20.0, seed=g))


# ====================================================================== NoiseModel
def test_noise_model_apply_matches_functions():
    Y = _spectra(L=6, N=500)
    cases = [
        (NoiseModel("awgn", 30.0), add_awgn(Y, 30.0, seed=1)),
        (NoiseModel("band", [10, 20, 30, 40, 50, 60]),
         add_band_noise(Y, [10, 20, 30, 40, 50, 60], seed=1)),
        (NoiseModel("band", params={"sigma": 0.01}), add_band_noise(Y, sigma=0.01, seed=1)),
        (NoiseModel("colored", 25.0, {"eta": 2.0}), add_coloured_noise(Y, 25.0, 2.0, seed=1)),
        (NoiseModel("coloured", 25.0, {"profile": [1, 2, 3, 3, 2, 1]}),
         add_coloured_noise(Y, 25.0, profile=[1, 2, 3, 3, 2, 1], seed=1)),
        (NoiseModel("Poisson-Gaussian", params={"gain": 0.01, "sigma_read": 0.02}),
         add_poisson_gaussian(Y, 0.01, 0.02, seed=1)),
        (NoiseModel("none"), Y),
        (NoiseModel("awgn", None), Y),
    ]
    for model, expected in cases:
        np.testing.assert_array_equal(model.apply(Y, seed=1), expected)
        back = NoiseModel.from_dict(json.loads(json.dumps(model.to_dict())))
        assert back == model
        np.testing.assert_array_equal(back.apply(Y, seed=1), expected)
        assert str(model)


def test_noise_model_json_infinity_and_normalisation():
    m = NoiseModel("white", np.float32(30.0))
    assert m.kind == "awgn" and m.snr_db == 30.0 and isinstance(m.snr_db, float)
    c = NoiseModel("hysime", 30, {"eta": float("inf")})
    d = c.to_dict()
    assert d == {"kind": "coloured", "snr_db": 30.0, "params": {"eta": "inf"}}
    assert json.loads(json.dumps(d)) == d                     # strict JSON: no Infinity token
    assert NoiseModel.from_dict(d).params["eta"] == math.inf
    b = NoiseModel("band", np.array([10.0, np.inf]))
    assert b.to_dict()["snr_db"] == [10.0, "inf"]
    assert NoiseModel.from_dict(b.to_dict()) == b


@pytest.mark.parametrize("kwargs,match", [
    ({"kind": "speckle"}, "unknown noise kind"),
    ({"kind": "awgn", "snr_db": 30, "params": {"eta": 1}}, "takes params"),
    ({"kind": "awgn", "snr_db": [10, 20]}, "one snr_db"),
    ({"kind": "awgn", "snr_db": float("nan")}, "snr_db"),
    ({"kind": "band"}, "exactly one"),
    ({"kind": "band", "snr_db": 10, "params": {"sigma": 0.1}}, "exactly one"),
    ({"kind": "coloured", "snr_db": 10}, "exactly one"),
    ({"kind": "poisson_gaussian", "params": {"sigma_read": 1}}, "exactly one"),
    ({"kind": "poisson_gaussian", "snr_db": 30, "params": {"gain": 1}}, "no snr_db"),
    ({"kind": "none", "snr_db": 30}, "no snr_db"),
    ({"kind": "band", "snr_db": "loud"}, "number"),
])
def test_noise_model_validation(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        NoiseModel(**kwargs)


def test_noise_model_from_dict_errors():
    with pytest.raises(ParameterError, match="kind"):
        NoiseModel.from_dict({"snr_db": 3})
    with pytest.raises(ParameterError, match="unknown noise model keys"):
        NoiseModel.from_dict({"kind": "awgn", "snr": 3})
