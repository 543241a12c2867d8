"""MUA-SLIC (hysupp.unmixing.semisupervised.mua_slic): superpixels, the two regressions, validation."""

import numpy as np
import pytest

from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.unmixing.semisupervised.mua_slic import (
    MUASLIC,
    multiscale_unmix,
    slic_superpixels,
    superpixel_means,
)
from hysupp.unmixing.semisupervised.sunsal import SUnSAL


def sre(X, Xh):
    return 10 * np.log10(np.sum(X ** 2) / np.sum((Xh - X) ** 2))


@pytest.fixture(scope="module")
def block_scene():
    """20 x 20 pixels, 4 constant 10 x 10 blocks mixing 3 of 20 random atoms (L=40), no noise."""
    rng = np.random.default_rng(1)
    L, M, H, W = 40, 20, 20, 20
    D = rng.random((L, M))
    X = np.zeros((M, H, W))
    mixes = rng.dirichlet(np.ones(3), 4)
    for b, (r, c) in enumerate([(0, 0), (0, 10), (10, 0), (10, 10)]):
        X[[2, 9, 15], r:r + 10, c:c + 10] = mixes[b][:, None, None]
    X = X.reshape(M, -1)
    return D, X, D @ X, (H, W)


@pytest.fixture(scope="module")
def smooth_scene():
    """20 x 20 pixels, random library (L=40, M=20), 3 active atoms with smooth maps, no noise."""
    rng = np.random.default_rng(0)
    L, M, H, W = 40, 20, 20, 20
    D = rng.random((L, M))
    yy, xx = np.mgrid[:H, :W] / (H - 1)
    maps = np.stack([np.exp(-((yy - 0.2) ** 2 + (xx - 0.3) ** 2) / 0.1),
                     np.exp(-((yy - 0.8) ** 2 + (xx - 0.5) ** 2) / 0.1), 0.3 + 0 * xx])
    maps /= maps.sum(0)
    X = np.zeros((M, H * W))
    X[[2, 9, 15]] = maps.reshape(3, -1)
    return D, X, D @ X, (H, W)


def test_registered_with_declared_defaults():
    assert get_method("MUA-SLIC") is MUASLIC and get_method("mua-slic", task="semi-supervised") is MUASLIC
    assert MUASLIC.name == "MUA-SLIC" and MUASLIC.spatial and not MUASLIC.needs_p
    m = MUASLIC()
    assert (m.lambda1, m.lambda2, m.beta, m.slic_size, m.slic_reg, m.max_iter, m.tol, m.dtype) == \
        (0.03, 0.1, 30.0, 6.0, 0.005, 2000, 1e-5, "float32")   # tol: measured (reference 1e-4)
    assert set(MUASLIC.per_snr) == {20, 30, 40}
    assert MUASLIC.per_snr[20] == {"lambda1": 0.03, "lambda2": 0.1, "beta": 30.0, "slic_size": 6.0,
                                   "slic_reg": 0.005}
    for params in MUASLIC.per_snr.values():
        MUASLIC(**params)                                  # every per-SNR setting validates
    assert "doi:10.1109/LGRS.2018.2878394" in MUASLIC.reference


def test_slic_translation_of_vl_slic_parameters(block_scene):
    _D, _X, Y, (H, W) = block_scene
    labels, info = slic_superpixels(Y, (H, W), slic_size=5, slic_reg=0.005)
    # region size 5 on 20 x 20 -> n_segments = 400 / 25 = 16
    assert info["n_segments_requested"] == 16
    s = np.mean(np.linalg.norm(Y, axis=0))
    assert info["data_scale"] == pytest.approx(s)
    assert info["compactness"] == pytest.approx(np.sqrt(0.005) * s / (Y.max() - Y.min()))
    # the superpixels are the 4 x 4 grid of 5 x 5 squares (aligned with the 10 x 10 blocks)
    grid = (np.arange(H)[:, None] // 5) * 4 + np.arange(W)[None, :] // 5
    assert info["n_superpixels"] == 16 and labels.shape == (H * W,)
    assert np.array_equal(labels.reshape(H, W), grid)
    # scale invariance: the vl_slic energy is defined on Y / mean pixel norm
    labels2, _ = slic_superpixels(7.0 * Y, (H, W), slic_size=5, slic_reg=0.005)
    assert np.array_equal(labels, labels2)


def test_small_regulariser_follows_the_spectra():
    """Two materials split at column 7 (off the 5-pixel grid): with a weak spatial term no superpixel
    straddles the edge; with a very strong one the superpixels are the regular grid."""
    rng = np.random.default_rng(4)
    H, W, L = 20, 20, 30
    a, b = rng.random(L), rng.random(L)
    img = np.where(np.arange(W)[None, None, :] < 7, a[:, None, None], b[:, None, None]) * np.ones((L, H, W))
    Y = img.reshape(L, -1) + 1e-3 * rng.standard_normal((L, H * W))
    left = (np.arange(W)[None, :] < 7) * np.ones((H, 1), bool)
    labels, _ = slic_superpixels(Y, (H, W), slic_size=5, slic_reg=1e-4)
    lab = labels.reshape(H, W)
    assert set(np.unique(lab[left])).isdisjoint(np.unique(lab[~left]))
    labels, _ = slic_superpixels(Y, (H, W), slic_size=5, slic_reg=1e4)
    grid = (np.arange(H)[:, None] // 5) * 4 + np.arange(W)[None, :] // 5
    assert np.array_equal(labels.reshape(H, W), grid)


def test_superpixel_means_golden():
    Y = np.arange(12, dtype=float).reshape(2, 6)
    labels = np.array([1, 0, 1, 2, 0, 1])
    np.testing.assert_allclose(superpixel_means(Y, labels), [[2.5, 7 / 3, 3.0], [8.5, 25 / 3, 9.0]])
    with pytest.raises(InputError):
        superpixel_means(Y, np.array([0, 0, 2, 2, 0, 2]))    # label 1 empty


def test_block_scene_recovered_exactly(block_scene):
    D, X, Y, shape = block_scene
    res = MUASLIC(lambda1=1e-6, lambda2=1e-6, beta=30.0, slic_size=5, tol=1e-6, dtype="float64").unmix(
        Y, D, image_shape=shape)
    Xh = res.abundances
    assert res.over_library and Xh.shape == X.shape and Xh.dtype == np.float64 and Xh.min() >= 0
    assert sre(X, Xh) > 60
    assert res.info["n_superpixels"] == 16 and res.info["superpixels"]["n_superpixels"] == 16
    assert res.info["coarse"]["iterations"] > 0 and res.info["iterations"] > 0


def test_smooth_scene_recovered_with_weak_coupling(smooth_scene):
    D, X, Y, shape = smooth_scene
    res = MUASLIC(lambda1=1e-5, lambda2=1e-5, beta=0.01, slic_size=5, tol=1e-6).unmix(
        Y.astype(np.float32), D.astype(np.float32), image_shape=shape)
    assert res.abundances.dtype == np.float32 and sre(X, res.abundances) > 40


def test_zero_coupling_is_sunsal(smooth_scene):
    D, _X, Y, shape = smooth_scene
    Yn = Y + 0.02 * np.random.default_rng(5).standard_normal(Y.shape)
    labels, _ = slic_superpixels(Yn, shape, 5, 0.005)
    Xm, _ = multiscale_unmix(Yn, D, labels, lambda1=0.01, lambda2=0.01, beta=0.0, tol=1e-7, dtype="float64")
    Xs = SUnSAL(lam=0.01, tol=1e-7, max_iter=2000, dtype="float64").unmix(Yn, D).abundances
    np.testing.assert_allclose(Xm, Xs, atol=1e-6)


def test_fine_scale_optimality_conditions(smooth_scene):
    """KKT of min_{X>=0} 1/2||Y-DX||^2 + lam2 ||X||_1 + (beta nu^2 / 2)||X - Xbar||^2."""
    D, _X, Y, shape = smooth_scene
    Yn = Y + 0.02 * np.random.default_rng(6).standard_normal(Y.shape)
    labels, _ = slic_superpixels(Yn, shape, 5, 0.005)
    lam1, lam2, beta = 0.02, 0.05, 3.0
    Xf, info = multiscale_unmix(Yn, D, labels, lambda1=lam1, lambda2=lam2, beta=beta, tol=1e-9,
                                max_iter=20000, dtype="float64")
    Xc, _ = multiscale_unmix(superpixel_means(Yn, labels), D, np.arange(labels.max() + 1), lambda1=lam1,
                             lambda2=lam1, beta=0.0, tol=1e-9, max_iter=20000, dtype="float64")
    Xbar = Xc[:, labels]
    nu2 = np.mean(Yn ** 2)
    assert info["coupling_weight"] == pytest.approx(beta * nu2)
    grad = D.T @ (D @ Xf - Yn) + beta * nu2 * (Xf - Xbar) + lam2
    scale = np.abs(D.T @ Yn).max()
    active = Xf > 1e-6
    assert np.abs(grad[active]).max() < 1e-4 * scale
    assert grad[~active].min() > -1e-4 * scale


def test_image_shape_required(smooth_scene):
    D, _X, Y, _shape = smooth_scene
    with pytest.raises(InputError, match="image_shape"):
        MUASLIC().unmix(Y, D)
    with pytest.raises(InputError, match="image_shape"):
        MUASLIC().unmix(Y, D, image_shape=(10, 10))


@pytest.mark.parametrize("kwargs", [{"lambda1": -1.0}, {"lambda2": -0.1}, {"beta": -1.0}, {"slic_size": 0.5},
                                    {"slic_reg": -1.0}, {"max_iter": 0}, {"dtype": "int8"}, {"tol": -1.0}])
def test_invalid_parameters_rejected(kwargs):
    with pytest.raises(ParameterError):
        MUASLIC(**kwargs)
