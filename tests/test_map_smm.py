"""MAP-SMM (Eismann & Hardie 2004, 2005): SMM fit, noise-free behaviour, reduction to MAP-Hardie, validation."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from scipy.ndimage import convolve

from hysupp.errors import InputError, ParameterError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.map_smm import MAP_SMM, MAP_Hardie, fit_smm, fraction_vectors
from hysupp.methods.registry import get_method

RATIO = 4


def _scene(L=8, rank=2, H=32, W=32, seed=0):
    """Low-rank scene with smooth periodic abundances."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.arange(H) / H, np.arange(W) / W, indexing="ij")
    A = np.stack([1.5 + sum(np.cos(2 * np.pi * (rng.integers(0, 4) * yy + rng.integers(0, 4) * xx) + rng.random() * 6)
                            for _ in range(3)) for _ in range(rank)])
    E = rng.random((L, rank))
    return (E @ A.reshape(rank, -1)).reshape(L, H, W), rng


def _circular_psf():
    """The default HS PSF with periodic borders (the blur model of the MAP step, also used by the
    method to degrade the MS for the joint statistics)."""
    from hysupp.physics.blur import Blur

    return Blur(C.psf_kernel(None, RATIO), mode="circular")


def _hs(X, kernel):
    """Periodic blur and decimation at pixel ratio // 2 of each block (the model of the method)."""
    return np.stack([convolve(b, kernel, mode="wrap") for b in X])[:, RATIO // 2::RATIO, RATIO // 2::RATIO]


def test_fraction_vectors():
    for M, J in [(1, 1), (3, 2), (4, 4), (5, 3)]:
        F = fraction_vectors(M, J)
        assert F.shape == (comb(J + M - 1, M - 1), M)
        np.testing.assert_allclose(F.sum(1), 1.0)
        np.testing.assert_allclose(F * J, np.round(F * J))
        np.testing.assert_array_equal(F[:M], np.eye(M))            # pure classes first
        assert len({tuple(r) for r in F}) == F.shape[0]


def test_fit_smm_recovers_endmember_classes():
    rng = np.random.default_rng(3)
    F = fraction_vectors(3, 2)                                      # 3 pure + 3 half-half classes
    m_true = np.array([[0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    labels = rng.integers(0, F.shape[0], 900)
    # SMM samples: u = sum_j a_j eps_j, eps_j ~ N(m_j, 0.3^2 I) independent
    eps = m_true[:, None, :] + 0.3 * rng.standard_normal((2, 900, 3))
    P = np.einsum("dnj,nj->dn", eps, F[labels])
    res = fit_smm(P, 3, 2, 15, np.random.default_rng(0))
    # endmember means up to a permutation
    perm = [int(np.argmin(np.linalg.norm(res["m"] - m_true[:, [j]], axis=0))) for j in range(3)]
    assert sorted(perm) == [0, 1, 2]
    np.testing.assert_allclose(res["m"][:, perm], m_true, atol=0.15)
    # classes: fraction vectors of the final labels match the true ones (same permutation)
    acc = np.mean(np.all(np.isclose(F[res["labels"]][:, perm], F[labels]), axis=1))
    assert acc > 0.97
    for j in range(3):
        np.testing.assert_allclose(res["C"][j], 0.09 * np.eye(2), atol=0.03)
    assert res["prior"].sum() == pytest.approx(1.0) and res["loglik"].shape == (16,)


def test_noise_free_exact_when_ms_determines_hs():
    # rank-2 scene, 3 MS bands: the HR HS is an affine function of the MS, the conditional
    # covariances vanish and the MAP estimate is the truth
    X, rng = _scene(L=8, rank=2)
    R = rng.random((3, 8))
    k = C.psf_kernel(None, RATIO)
    hs, ms = _hs(X, k), np.tensordot(R, X, axes=1)
    for params in ({}, {"n_levels": 2, "n_endmembers": 3}):
        fused = MAP_SMM(noise_var=0.0, dtype="float64", **params).fuse(hs, ms, ratio=RATIO, psf=_circular_psf()).fused
        err = np.linalg.norm(fused - X) / np.linalg.norm(X)
        assert err < 1e-4, (params, err)
    assert np.linalg.norm(C.upsample(hs, RATIO) - X) / np.linalg.norm(X) > 0.05


def test_noise_free_consistent_with_hs_and_sharper():
    X, rng = _scene(L=10, rank=4)
    X += 0.05 * rng.random(X.shape)
    R = rng.random((3, 10))
    k = C.psf_kernel(None, RATIO)
    hs, ms = _hs(X, k), np.tensordot(R, X, axes=1)
    res = MAP_SMM(noise_var=1e-12, dtype="float64", n_pc=10).fuse(hs, ms, ratio=RATIO, psf=_circular_psf())
    # all components estimated (n_pc = L), negligible noise: the estimate reproduces the HS image
    assert np.linalg.norm(_hs(res.fused, k) - hs) < 1e-6 * np.linalg.norm(hs)
    err = np.linalg.norm(res.fused - X) / np.linalg.norm(X)
    assert err < 0.5 * np.linalg.norm(C.upsample(hs, RATIO) - X) / np.linalg.norm(X)
    assert res.info["n_pc"] == 10 and res.info["n_mixture_classes"] == 35


def test_one_class_is_map_hardie():
    # one endmember class, one fraction level: the SMM is one global Gaussian and MAP-SMM on all
    # components is the MAP estimate of Hardie et al. (2004) (which also removes sigma^2 from C_z:
    # negligible here)
    X, rng = _scene(L=6, rank=4)
    X += 0.05 * rng.random(X.shape)
    R = rng.random((2, 6))
    k = C.psf_kernel(None, RATIO)
    hs, ms = _hs(X, k), np.tensordot(R, X, axes=1)
    a = MAP_SMM(n_endmembers=1, n_levels=1, n_pc=6, noise_var=1e-10, dtype="float64").fuse(hs, ms, ratio=RATIO, psf=k)
    b = MAP_Hardie(noise_var=1e-10).fuse(hs, ms, ratio=RATIO, psf=k)
    assert a.info["n_mixture_classes"] == 1
    np.testing.assert_allclose(a.fused, b.fused, rtol=0, atol=1e-6 * np.abs(b.fused).max())


def test_deterministic_seed_and_dtypes():
    rng = np.random.default_rng(0)
    hs, ms = rng.random((6, 8, 8)), rng.random((2, 32, 32))
    a = MAP_SMM(seed=3).fuse(hs, ms, ratio=RATIO)
    b = MAP_SMM(seed=3).fuse(hs, ms, ratio=RATIO)
    np.testing.assert_array_equal(a.fused, b.fused)
    assert a.fused.dtype == np.float32 and a.info["seed"] == 3
    c = MAP_SMM(seed=3, dtype="float64").fuse(hs, ms, ratio=RATIO)
    assert c.fused.dtype == np.float64
    np.testing.assert_allclose(c.fused, a.fused, atol=1e-3 * np.abs(c.fused).max())
    assert get_method("map-smm") is MAP_SMM


@pytest.mark.parametrize("params", [{"n_endmembers": 0}, {"n_levels": 0}, {"iters": -1}, {"dtype": "float16"},
                                    {"n_pc": 0}, {"noise_var": -1.0}, {"outer_iter": 0}, {"bogus": 1}])
def test_bad_params(params):
    with pytest.raises(ParameterError):
        MAP_SMM(**params)


def test_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="too few"):
        MAP_SMM().fuse(rng.random((6, 2, 2)), rng.random((2, 8, 8)), ratio=4)
    with pytest.raises(InputError, match="expected ratio"):
        MAP_SMM().fuse(rng.random((6, 8, 8)), rng.random((2, 30, 32)), ratio=4)
