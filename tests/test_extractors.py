"""Endmember extractors: SiVM, SISAL, N-FINDR, ATGP, PPI (and VCA as the pure-pixel baseline)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import hysupp
from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.metrics import align, sad
from hysupp.unmixing.extractors.atgp import atgp_indices
from hysupp.unmixing.extractors.nfindr import nfindr_indices, random_affine_init
from hysupp.unmixing.extractors.ppi import ppi_counts
from hysupp.unmixing.extractors.sisal import soft_neg
from hysupp.unmixing.extractors.sivm import sivm_indices

PURE_PIXEL_EXTRACTORS = [("VCA", {}), ("SiVM", {}), ("N-FINDR", {}), ("ATGP", {}), ("PPI", {"n_skewers": 2000})]


def _mean_sad(E: np.ndarray, M: np.ndarray) -> float:
    return float(sad(E, align(E, M).apply_endmembers(M), reduce="mean"))


def _pixels(scene) -> np.ndarray:
    return scene.cube.reshape(scene.cube.shape[0], -1)


@pytest.fixture(scope="module")
def pure_scene():
    """30 x 30, p = 5 Dirichlet mixtures with one pure pixel per endmember, noise-free."""
    return hysupp.simulate("dirichlet", p=5, height=30, width=30, pure_pixels=True, seed=0, dtype="float64")


@pytest.fixture(scope="module")
def dc1():
    return hysupp.simulate("dc1", dtype="float64")


@pytest.fixture(scope="module")
def no_pure_scene():
    """Sim1-like: max abundance 0.75, 10 % of the pixels on simplex edges, no pure pixels."""
    s = hysupp.simulate("sim1", p=5, height=30, width=30, max_abundance=0.75, edge_fraction=0.1, seed=0,
                        dtype="float64")
    A = s.abundances.reshape(5, -1)
    assert A.max() <= 0.75 + 1e-12
    assert ((A == 0).sum(axis=0) >= 3).sum() >= 80          # edge pixels: only two non-zero abundances
    return s


# ------------------------------------------------------------------ pure-pixel recovery (done-when)
@pytest.mark.parametrize("name,kw", PURE_PIXEL_EXTRACTORS)
@pytest.mark.parametrize("which", ["pure_scene", "dc1"])
def test_pure_pixel_scenes_recover_endmembers(name, kw, which, request):
    scene = request.getfixturevalue(which)
    Y, E = _pixels(scene), scene.endmembers
    res = get_method(name, task="extractor")(**kw).extract(Y, E.shape[1])
    assert res.endmembers.shape == E.shape and res.indices.shape == (E.shape[1],)
    assert _mean_sad(E, res.endmembers) < 1.0
    # the picks are pure pixels
    A = scene.abundances.reshape(E.shape[1], -1)
    assert np.allclose(A[:, res.indices].max(axis=0), 1.0)
    # the endmembers are those pixels (VCA: projected on the noise-free signal subspace, up to rounding)
    np.testing.assert_allclose(res.endmembers, Y[:, res.indices], rtol=0, atol=1e-10)


# ------------------------------------------------------------------ no pure pixels (done-when)
@pytest.mark.parametrize("spherize", [True, False])
def test_sisal_without_pure_pixels_beats_vca(no_pure_scene, spherize):
    Y, E = _pixels(no_pure_scene), no_pure_scene.endmembers
    res = get_method("SISAL")(spherize=spherize).extract(Y, 5)
    assert res.indices is None and res.endmembers.shape == E.shape
    sad_sisal = _mean_sad(E, res.endmembers)
    sad_vca = _mean_sad(E, get_method("VCA")(seed=0).extract(Y, 5).endmembers)
    assert sad_sisal < 3.0
    assert sad_vca > 3.0 and sad_vca > 5 * sad_sisal
    assert np.isfinite(res.info["objective"]).all() and len(res.info["objective"]) == 80


def test_sisal_exact_on_pure_scene_and_float32(pure_scene):
    Y, E = _pixels(pure_scene), pure_scene.endmembers
    res = get_method("SISAL")(mm_iters=40).extract(Y.astype(np.float32), 5)
    assert res.endmembers.dtype == np.float32
    assert _mean_sad(E, res.endmembers) < 1.0


def test_soft_neg_is_the_hinge_prox():
    t = 0.7
    y = np.linspace(-3, 3, 61)
    grid = np.linspace(-5, 5, 20001)
    obj = 0.5 * (grid[None, :] - y[:, None]) ** 2 + t * np.maximum(-grid[None, :], 0)
    np.testing.assert_allclose(soft_neg(y, t), grid[obj.argmin(axis=1)], atol=1e-3)


def test_sisal_q_step_equals_kronecker_system():
    """The p x p closed form of the constrained quadratic step equals sisal.m's p^2 x p^2 system."""
    rng = np.random.default_rng(3)
    p, N, lam, mu = 4, 50, 1e-6, 2.0
    Yt = np.vstack([rng.standard_normal((p - 1, N)), np.ones((1, N))])
    Q0 = rng.standard_normal((p, p))
    W = rng.standard_normal((p, N))
    YYt = Yt @ Yt.T
    qm = np.linalg.solve(YYt, Yt.sum(axis=1))
    # sisal.m (column-major vec)
    g = (-np.linalg.inv(Q0).T).flatten(order="F")
    AAT = np.kron(YYt, np.eye(p))
    B = np.kron(np.eye(p), np.ones((1, p)))
    H = lam * np.eye(p * p)
    IF = np.linalg.inv(H + mu * AAT)
    G = IF @ B.T @ np.linalg.inv(B @ IF @ B.T)
    q = (IF - G @ B @ IF) @ (H @ Q0.flatten(order="F") - g + mu * (W @ Yt.T).flatten(order="F")) + G @ qm
    Q_kron = q.reshape(p, p, order="F")
    # ours
    Jc = np.eye(p) - 1.0 / p
    Q = Jc @ (lam * Q0 + np.linalg.inv(Q0).T + mu * W @ Yt.T) @ np.linalg.inv(lam * np.eye(p) + mu * YYt) \
        + np.outer(np.ones(p), qm) / p
    np.testing.assert_allclose(Q, Q_kron, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(Q.sum(axis=0), qm, atol=1e-10)          # 1^T Q = q_m^T


# ------------------------------------------------------------------ criteria against brute force
def _simplex_volume2(P: np.ndarray) -> float:
    """Squared volume (up to a constant) of the simplex on the columns of P, by the Gram determinant."""
    D = P[:, 1:] - P[:, :1]
    return float(np.linalg.det(D.T @ D)) if D.shape[1] else 0.0


def test_sivm_greedy_matches_gram_volume():
    rng = np.random.default_rng(1)
    Y = rng.random((12, 60))
    idx, _ = sivm_indices(Y, 5)
    assert idx[0] == np.argmax((Y ** 2).sum(axis=0))
    for k in range(1, 5):
        vols = np.array([_simplex_volume2(Y[:, list(idx[:k]) + [j]]) for j in range(60)])
        assert idx[k] == np.argmax(vols)


def test_atgp_matches_explicit_osp():
    rng = np.random.default_rng(2)
    Y = rng.random((10, 80))
    idx, _ = atgp_indices(Y, 6)
    ref = [int(np.argmax((Y ** 2).sum(axis=0)))]
    for _ in range(5):
        U = Y[:, ref]
        P = np.eye(10) - U @ np.linalg.pinv(U)
        ref.append(int(np.argmax(((P @ Y) ** 2).sum(axis=0))))
    assert idx.tolist() == ref


def test_nfindr_reaches_a_local_volume_maximum():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 40))                       # p = 4 in the 3-D reduced space
    init = random_affine_init(X, rng)
    Z = np.vstack([np.ones((1, 40)), X])
    idx, vol, sweeps, _, converged = nfindr_indices(X, init, max_sweeps=50)
    assert converged and sweeps <= 50
    assert math.isclose(vol, abs(np.linalg.det(Z[:, idx])), rel_tol=1e-10)
    assert vol >= abs(np.linalg.det(Z[:, init]))
    for k, j in itertools.product(range(4), range(40)):    # no single swap increases the volume
        trial = idx.copy()
        trial[k] = j
        assert abs(np.linalg.det(Z[:, trial])) <= vol * (1 + 1e-9)


def test_nfindr_random_init_is_non_degenerate_on_dc1(dc1):
    """DC1 has few distinct spectra: the random start is drawn off the affine hull of the previous picks."""
    for kw in ({"seed": 5}, {"seed": 6}, {"init": "atgp"}):
        res = get_method("N-FINDR")(**kw).extract(_pixels(dc1), 5)
        assert res.info["converged"] and res.info["abs_det"] > 0
        assert _mean_sad(dc1.endmembers, res.endmembers) < 1e-6


def test_ppi_counts_and_dedup():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 30))
    counts = ppi_counts(X, 500, rng)
    assert counts.sum() == 1000                            # one max and one min per skewer
    # only hull vertices can be extreme along a direction
    from scipy.spatial import ConvexHull
    assert set(np.flatnonzero(counts)) <= set(ConvexHull(X.T).vertices.tolist())
    # duplicated pure pixels are merged by the angle de-duplication
    E = rng.random((20, 3))
    A = rng.dirichlet(np.ones(3), 300).T
    A[:, :6] = np.repeat(np.eye(3), 2, axis=1)
    Y = E @ A
    Y[:, 1] *= 1.0 + 1e-6                                  # a near-duplicate of pixel 0
    res = get_method("PPI")(n_skewers=300, seed=1).extract(Y, 3)
    assert _mean_sad(E, res.endmembers) < 1e-3
    assert len({tuple(np.round(res.endmembers[:, k], 5)) for k in range(3)}) == 3


def test_seeded_methods_are_deterministic(pure_scene):
    rng = np.random.default_rng(7)
    Y = _pixels(pure_scene) + 0.01 * rng.standard_normal(_pixels(pure_scene).shape)
    for name, kw in [("N-FINDR", {"seed": 3}), ("PPI", {"seed": 3, "n_skewers": 500}), ("SISAL", {"mm_iters": 5})]:
        a = get_method(name)(**kw).extract(Y, 5)
        b = get_method(name)(**kw).extract(Y.copy(), 5)
        np.testing.assert_array_equal(a.endmembers, b.endmembers)


# ------------------------------------------------------------------ API
@pytest.mark.parametrize("name", ["SiVM", "SISAL", "N-FINDR", "ATGP", "PPI"])
def test_registered_and_validated(name):
    cls = get_method(name.lower(), task="extractor")
    assert cls.name == name and cls.task == "extractor"
    assert "doi" in cls.reference.lower() or name == "PPI"           # Boardman 1993 is a JPL workshop summary
    Y = np.random.default_rng(0).random((4, 10))
    with pytest.raises(InputError):
        cls().extract(Y, 5)                                # p > L
    with pytest.raises(InputError):
        cls().extract(Y, 1)


def test_parameter_errors():
    with pytest.raises(ParameterError):
        get_method("PPI")(n_skewers=0)
    with pytest.raises(ParameterError):
        get_method("N-FINDR")(init="vca")
    with pytest.raises(ParameterError):
        get_method("SISAL")(tau=-1.0)
