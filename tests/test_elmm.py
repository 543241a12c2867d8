"""SCLSU and ELMM: scaled and extended linear mixing models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls

from hysupp.datasets import usgs_library
from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.metrics import armse
from hysupp.optim import fcls
from hysupp.simulate.unmixing import gaussian_random_fields
from hysupp.unmixing.blind.elmm import elmm
from hysupp.unmixing.blind.sclsu import nonneg_least_squares, sclsu

H = W = 24
P = 3


@pytest.fixture(scope="module")
def elmm_scene():
    """Extended LMM data: y_n = E0 diag(psi) a_n with one scaling factor per endmember (0.75, 1, 1.3),
    smooth abundance maps (Gaussian random fields through a softmax), noise-free."""
    rng = np.random.default_rng(0)
    E0 = usgs_library().library.astype(np.float64)[::2, [10, 200, 400]]      # 112 bands
    z = gaussian_random_fields(P, H, W, 4.0, rng) / 0.3
    a = np.exp(z - z.max(axis=0))
    A = (a / a.sum(axis=0)).reshape(P, -1)
    psi = np.array([0.75, 1.0, 1.3])[:, None] * np.ones((P, H * W))
    return E0 @ (psi * A), E0, A, psi


def test_nonneg_least_squares_is_exact():
    rng = np.random.default_rng(1)
    E = rng.random((40, 4))
    Y = rng.random((40, 200)) - 0.3                      # many active constraints
    Phi = nonneg_least_squares(Y, E)
    ref = np.stack([nnls(E, Y[:, i])[0] for i in range(Y.shape[1])], axis=1)
    np.testing.assert_allclose(Phi, ref, atol=1e-10)
    assert (Phi == 0).any() and Phi.min() >= 0


def test_sclsu_exact_on_scaled_data():
    rng = np.random.default_rng(2)
    E = usgs_library().library.astype(np.float64)[:, [5, 100, 300, 450]]
    A = rng.dirichlet(np.ones(4), 500).T
    psi = rng.uniform(0.6, 1.4, 500)
    A_hat, psi_hat = sclsu(E @ A * psi, E)
    np.testing.assert_allclose(A_hat, A, atol=1e-8)
    np.testing.assert_allclose(psi_hat, psi, atol=1e-8)
    # a zero pixel: psi = 0 and uniform abundances
    A0, psi0 = sclsu(np.zeros((E.shape[0], 1)), E)
    assert psi0[0] == 0 and np.allclose(A0, 0.25)


def test_sclsu_blind_with_pure_pixels_and_scaling():
    rng = np.random.default_rng(3)
    E = usgs_library().library.astype(np.float64)[::2, [5, 100, 300]]
    A = rng.dirichlet(np.ones(3), 400).T
    A[:, :3] = np.eye(3)
    psi = rng.uniform(0.8, 1.2, 400)
    psi[:3] = 1.0
    res = get_method("SCLSU", "blind")(dtype="float64").unmix(E @ A * psi, 3)
    order = np.argsort(res.info["vca_indices"])            # VCA picks the pure pixels 0, 1, 2
    np.testing.assert_array_equal(np.sort(res.info["vca_indices"]), [0, 1, 2])
    np.testing.assert_allclose(res.abundances[order], A, atol=1e-8)
    np.testing.assert_allclose(res.endmembers[:, order], E * psi.mean(), rtol=1e-8)


def test_elmm_beats_sclsu_and_fcls_on_extended_lmm_data(elmm_scene):
    Y, E0, A, psi = elmm_scene
    A_sclsu, _ = sclsu(Y, E0)
    A_fcls, _ = fcls(Y, E0, dtype=np.float64)
    A_elmm, psi_hat, E_mean, info = elmm(Y, (H, W), E0, A_sclsu, lambda_psi=100.0, lambda_a=0.001)
    e_elmm, e_sclsu, e_fcls = armse(A, A_elmm), armse(A, A_sclsu), armse(A, A_fcls)
    assert e_elmm < e_sclsu < e_fcls
    assert e_elmm < 0.8 * e_sclsu
    # invariants: abundances on the simplex, scaling maps close to the truth's
    assert A_elmm.min() >= -1e-12
    np.testing.assert_allclose(A_elmm.sum(axis=0), 1.0, atol=1e-9)
    assert np.abs(psi_hat - psi).mean() < 0.1
    assert E_mean.shape == E0.shape
    assert info["iterations"] >= 2


def test_elmm_stationary_at_the_truth(elmm_scene):
    """Without regularisation (lambda_a = lambda_psi = 0) the truth, with S_n = E0 diag(psi_n), is a
    fixed point of the alternating updates."""
    Y, E0, A, psi = elmm_scene
    A_hat, psi_hat, E_mean, _ = elmm(Y, (H, W), E0, A, psi, lambda_a=0.0, lambda_psi=0.0, maxiter_anls=3,
                                     eps_admm_abs=1e-9, eps_admm_rel=1e-9, maxiter_admm=300)
    np.testing.assert_allclose(A_hat, A, atol=1e-4)
    np.testing.assert_allclose(psi_hat, psi, atol=1e-4)
    np.testing.assert_allclose(E_mean, E0 * psi.mean(axis=1), rtol=1e-4, atol=1e-6)


def test_elmm_blind_class_determinism_and_validation(elmm_scene):
    Y, _, _, _ = elmm_scene
    M = get_method("ELMM", "blind")
    assert M.spatial
    r1 = M(maxiter_anls=3, norm="2,1").unmix(Y, 3, image_shape=(H, W))
    r2 = M(maxiter_anls=3, norm="2,1").unmix(Y, 3, image_shape=(H, W))
    np.testing.assert_array_equal(r1.abundances, r2.abundances)
    assert r1.abundances.dtype == np.float32 and r1.endmembers.shape == (Y.shape[0], 3)
    np.testing.assert_allclose(r1.abundances.sum(axis=0), 1.0, atol=1e-5)
    with pytest.raises(InputError):
        M().unmix(Y, 3)                                    # spatial: image_shape required
    with pytest.raises(InputError):
        M().unmix(Y, 3, image_shape=(H, W + 1))
    for bad in ({"norm": "2,2"}, {"lambda_s": -1.0}, {"maxiter_admm": 0}):
        with pytest.raises(ParameterError):
            M(**bad)
    with pytest.raises(ParameterError):
        get_method("SCLSU", "blind")(dtype="float16")


@pytest.mark.parametrize("norm", ["1,1", "2,1"])
def test_elmm_objective_decreases(elmm_scene, norm):
    """ANLS with exact S and psi blocks and a tightly solved (convex) A block never increases the
    objective; the recorded terms add up to it."""
    Y, E0, _, _ = elmm_scene
    Yn = Y + 0.005 * np.random.default_rng(4).standard_normal(Y.shape)
    lam_s, lam_a, lam_psi = 0.5, 0.05, 1.0
    _, _, _, info = elmm(Yn, (H, W), E0, sclsu(Yn, E0)[0], lambda_s=lam_s, lambda_a=lam_a, lambda_psi=lam_psi,
                         norm=norm, maxiter_anls=6, maxiter_admm=300, eps_admm_abs=1e-5, eps_admm_rel=1e-5)
    h = np.array([rec["objective"] for rec in info["history"]])
    assert len(h) == 6 and np.all(np.diff(h) <= 1e-9 * h[:-1])
    last = info["history"][-1]
    assert last["objective"] == pytest.approx(last["fit"] + lam_s * last["source_model"] + lam_a * last["tv_a"]
                                              + lam_psi * last["smooth_psi"], rel=1e-12)
