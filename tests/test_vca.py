"""VCA endmember extraction (hysupp.unmixing.extractors.vca)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.unmixing.extractors.vca import VCA, estimate_snr


@pytest.fixture(scope="module")
def library(shared_data: Path) -> np.ndarray:
    """DC1 library spectra ``EE`` (224, 240); ``shared_data`` (conftest.py) is
    ``../shared/data`` or ``$HYSUPP_SHARED_DATA``, and skips when absent."""
    path = shared_data / "dc1" / "DC1_EE.mat"
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (set HYSUPP_SHARED_DATA)")
    from scipy.io import loadmat
    EE = loadmat(path)["EE"]
    assert EE.shape == (224, 240)
    return EE


def _scene(library: np.ndarray, p: int = 5, N: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    E = library[:, rng.choice(library.shape[1], p, replace=False)]
    A = rng.dirichlet(np.ones(p), N).T
    A[:, :p] = np.eye(p)                                   # one pure pixel per endmember
    A = A[:, rng.permutation(N)]
    return E, A, E @ A


def _mean_sad_deg(E_hat: np.ndarray, E: np.ndarray) -> float:
    Un = E / np.linalg.norm(E, axis=0)
    Vn = E_hat / np.linalg.norm(E_hat, axis=0)
    angles = np.degrees(np.arccos(np.clip(Un.T @ Vn, -1.0, 1.0)))
    rows, cols = linear_sum_assignment(angles)
    return float(angles[rows, cols].mean())


def test_noise_free_scene_recovers_library_endmembers(library):
    E, A, Y = _scene(library)
    res = VCA(seed=0).extract(Y, 5)
    assert res.endmembers.shape == (224, 5) and res.indices.shape == (5,)
    assert _mean_sad_deg(res.endmembers, E) < 1.0
    # the picks are the pure pixels
    pure = set(np.flatnonzero(A.max(axis=0) == 1.0).tolist())
    assert set(res.indices.tolist()) == pure
    # noise-free: the projected pixels (default) are the pixels, up to rounding
    np.testing.assert_allclose(res.endmembers, Y[:, res.indices], rtol=0, atol=1e-10)
    raw = VCA(seed=0, projected=False).extract(Y, 5)
    np.testing.assert_array_equal(raw.endmembers, Y[:, raw.indices])
    assert res.info["projection"] == "projective" and res.info["snr"] == math.inf


def test_float32_input(library):
    E, _, Y = _scene(library, seed=1)
    res = VCA(seed=0).extract(Y.astype(np.float32), 5)
    assert res.endmembers.dtype == np.float32
    assert _mean_sad_deg(res.endmembers, E) < 1.0


def test_deterministic_with_seed(library):
    _, _, Y = _scene(library, p=6, seed=2)
    rng = np.random.default_rng(9)
    Yn = Y + rng.standard_normal(Y.shape) * 0.01
    r1 = VCA(seed=3).extract(Yn, 6)
    r2 = VCA(seed=3).extract(Yn.copy(), 6)
    np.testing.assert_array_equal(r1.indices, r2.indices)
    np.testing.assert_array_equal(r1.endmembers, r2.endmembers)


def test_snr_estimate_and_low_snr_branch(library):
    E, _, Y = _scene(library, seed=4)
    rng = np.random.default_rng(5)
    sigma = math.sqrt(np.mean(Y ** 2) / 10 ** (15 / 10))     # 15 dB < 15 + 10 log10(5)
    Yn = Y + rng.standard_normal(Y.shape) * sigma
    assert estimate_snr(Yn, 5) == pytest.approx(15.0, abs=0.5)
    res = VCA(seed=0, projected=False).extract(Yn, 5)
    assert res.info["projection"] == "pca"
    assert res.info["snr"] == pytest.approx(15.0, abs=0.5)
    # the projected endmembers (paper's output, the default) are closer to the truth than noisy raw pixels
    proj = VCA(seed=0).extract(Yn, 5)
    np.testing.assert_array_equal(proj.indices, res.indices)
    assert _mean_sad_deg(proj.endmembers, E) < _mean_sad_deg(res.endmembers, E)
    # a given SNR overrides the estimate
    assert VCA(snr_input=40.0).extract(Yn, 5).info["projection"] == "projective"


def test_registered():
    cls = get_method("vca")
    assert cls is VCA and cls.task == "extractor"
    assert "10.1109/TGRS.2005.844293" in cls.reference
    assert {p.name for p in cls.params} >= {"seed", "snr_input"}


def test_input_errors():
    Y = np.random.default_rng(0).random((4, 50))
    with pytest.raises(InputError):
        VCA().extract(Y, 5)                                  # p > L
    with pytest.raises(InputError):
        VCA().extract(Y, 1)                                  # p < 2
    Y[0, 3] = np.nan
    with pytest.raises(InputError):
        VCA().extract(Y, 3)
    with pytest.raises(ParameterError):
        VCA(seed="abc")


def test_centred_data_fall_back_to_pca():
    rng = np.random.default_rng(6)
    E = rng.random((20, 3))
    A = rng.dirichlet(np.ones(3), 300).T
    A[:, :3] = np.eye(3)
    Y = E @ A
    Y -= Y.mean(axis=1, keepdims=True)                       # no longer a cone: x^T u ~ 0
    res = VCA(seed=0, snr_input=100.0).extract(Y, 3)
    assert res.info["projection"].startswith("pca")
    assert sorted(res.indices.tolist()) == [0, 1, 2]


def test_uniform_directions_follow_the_seeded_stream():
    """The random directions are ``default_rng(seed).random(p)`` (uniform on [0, 1)^p, as vca.m and
    HySUPP): replaying that stream by hand on the projected data picks the same pixels."""
    rng = np.random.default_rng(11)
    p, N = 4, 300
    E = rng.random((30, p))
    A = rng.dirichlet(np.ones(p), N).T
    Y = E @ A
    res = VCA(seed=5).extract(Y, p)
    assert res.info["projection"] == "projective"
    w_all, V = np.linalg.eigh(Y @ Y.T / N)
    Ud = V[:, ::-1][:, :p]
    Ud = Ud * np.sign(Ud[np.abs(Ud).argmax(axis=0), np.arange(p)])
    X = Ud.T @ Y
    Yp = X / (X.mean(axis=1) @ X)
    draws = np.random.default_rng(5)
    Am = np.zeros((p, p))
    Am[-1, 0] = 1.0
    picks = []
    for i in range(p):
        w = draws.random(p)
        f = w - Am @ np.linalg.pinv(Am) @ w
        k = int(np.abs(f / np.linalg.norm(f) @ Yp).argmax())
        picks.append(k)
        Am[:, i] = Yp[:, k]
    assert res.indices.tolist() == picks
    np.testing.assert_allclose(res.endmembers, Ud @ X[:, picks], rtol=1e-10)
