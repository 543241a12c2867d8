"""Proximal operators (hysupp.optim.prox) and TV kernels (hysupp.optim.tv) against closed forms."""

import numpy as np
import pytest
from scipy.optimize import minimize

from hysupp.optim import prox, tv
from hysupp.optim.prox import (
    group_soft_threshold,
    hard_threshold,
    project_nonneg,
    project_simplex,
    soft_threshold,
)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _prox_numeric(g, v, t):
    """argmin_x t g(x) + 0.5 ||x - v||^2 by a derivative-free solve (small vectors only)."""
    res = minimize(lambda x: t * g(x) + 0.5 * np.sum((x - v) ** 2), v, method="Powell",
                   options={"xtol": 1e-10, "ftol": 1e-14, "maxiter": 20000})
    return res.x


def test_soft_threshold_closed_form_and_optimality(rng):
    v = rng.normal(size=50) * 2
    t = 0.7
    x = soft_threshold(v, t)
    np.testing.assert_allclose(x, np.sign(v) * np.maximum(np.abs(v) - t, 0))
    # optimality: v - x in t * subdifferential of |.|
    r = (v - x) / t
    assert np.all(np.abs(r) <= 1 + 1e-12)
    np.testing.assert_allclose(r[x != 0], np.sign(x[x != 0]))
    xn = soft_threshold(v, t, nonneg=True)
    np.testing.assert_allclose(xn, np.maximum(v - t, 0))
    v3 = rng.normal(size=3)
    np.testing.assert_allclose(soft_threshold(v3, 0.3, nonneg=True),
                               _prox_numeric(lambda x: np.abs(x).sum() + 1e6 * np.sum(np.minimum(x, 0) ** 2), v3, 0.3),
                               atol=1e-4)


def test_soft_threshold_array_threshold_out_and_dtype(rng):
    v = rng.normal(size=(4, 6)).astype(np.float32)
    t = np.linspace(0, 1, 6, dtype=np.float32)
    out = v.copy()
    res = soft_threshold(out, t, out=out)
    assert res is out and res.dtype == np.float32
    np.testing.assert_allclose(res, np.sign(v) * np.maximum(np.abs(v) - t, 0), rtol=1e-6)
    with pytest.raises(ValueError):
        soft_threshold(v, -1.0)
    assert soft_threshold([1, -3], 1).dtype == np.float64


def test_hard_threshold_and_nonneg():
    v = np.array([-2.0, -0.5, 0.5, 1.0, 3.0])
    np.testing.assert_array_equal(hard_threshold(v, 1.0), [-2.0, 0, 0, 0, 3.0])
    # prox of s*||x||_0 is hard thresholding at sqrt(2 s): scalar check
    s = 0.5
    for vi in (-1.2, -0.9, 0.3, 1.01, 2.0):
        keep = 0.5 * vi ** 2 > s
        assert hard_threshold(np.array([vi]), np.sqrt(2 * s))[0] == (vi if keep else 0.0)
    np.testing.assert_array_equal(project_nonneg(v), np.maximum(v, 0))
    out = v.copy()
    assert project_nonneg(out, out=out) is out


def test_group_soft_threshold_rows_closed_form(rng):
    V = rng.normal(size=(6, 5))
    V[2] *= 0.01  # a row below the threshold
    t = 0.8
    X = group_soft_threshold(V, t)
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    np.testing.assert_allclose(X, V * np.maximum(1 - t / norms, 0))
    assert np.all(X[2] == 0)
    # optimality for active rows: v - x = t x / ||x||
    act = np.linalg.norm(X, axis=1) > 0
    np.testing.assert_allclose((V - X)[act], t * X[act] / np.linalg.norm(X[act], axis=1, keepdims=True))
    # zero rows stay zero (no division by zero warnings)
    Z = np.zeros((3, 4))
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(group_soft_threshold(Z, 1.0), Z)
    # columns as groups
    np.testing.assert_allclose(group_soft_threshold(V, t, axis=0), group_soft_threshold(V.T, t).T)


def test_group_soft_threshold_nonneg_is_prox_of_sum(rng):
    v = rng.normal(size=4)
    t = 0.4
    num = _prox_numeric(lambda x: np.linalg.norm(x) + 1e6 * np.sum(np.minimum(x, 0) ** 2), v, t)
    np.testing.assert_allclose(group_soft_threshold(v[None], t, nonneg=True)[0], num, atol=1e-4)


def test_simplex_projection_is_shared():
    assert prox.project_simplex is project_simplex
    np.testing.assert_allclose(project_simplex(np.array([[0.2], [2.0]])), [[0.0], [1.0]])


# --------------------------------------------------------------------------------------------
# TV
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 5, 7), (1, 1, 4), (2, 6, 1)])
def test_gradient_adjoint_dot_product_test(rng, shape):
    X = rng.normal(size=shape)
    G = rng.normal(size=(2,) + shape)
    lhs = np.vdot(tv.gradient(X), G)
    rhs = np.vdot(X, tv.gradient_adjoint(G))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


def test_gradient_values_and_constants(rng):
    X = rng.normal(size=(2, 4, 5))
    G = tv.gradient(X)
    np.testing.assert_allclose(G[0], np.roll(X, -1, axis=2) - X)
    np.testing.assert_allclose(G[1], np.roll(X, -1, axis=1) - X)
    assert np.all(tv.gradient(np.ones((2, 3, 3))) == 0)
    assert tv.gradient(X.astype(np.float32)).dtype == np.float32


def test_fft_solver_matches_dense_system(rng):
    H, W, alpha = 4, 5, 0.7
    # dense D^T D on one image
    n = H * W
    E = np.eye(n).reshape(n, H, W)
    DtD = np.stack([tv.gradient_adjoint(tv.gradient(e[None]))[0].ravel() for e in E], axis=1)
    np.testing.assert_allclose(DtD, DtD.T, atol=1e-12)
    B = rng.normal(size=(3, H, W))
    U = tv.solve_identity_plus_dtd(B, alpha)
    dense = np.linalg.solve(np.eye(n) + alpha * DtD, B.reshape(3, n).T).T.reshape(3, H, W)
    np.testing.assert_allclose(U, dense, atol=1e-12)
    # eigenvalues of D^T D are the symbol
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(DtD)), np.sort(tv.dtd_symbol((H, W), real=False).ravel()),
                               atol=1e-10)
    solver = tv.IdentityPlusDtDSolver((H, W), alpha)
    assert solver(B.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError):
        solver(np.zeros((1, H + 1, W)))


def test_tv_soft_threshold_iso_and_aniso(rng):
    G = rng.normal(size=(2, 3, 4, 4))
    t = 0.5
    iso = tv.tv_soft_threshold(G, t, "iso")
    n = np.sqrt(G[0] ** 2 + G[1] ** 2)
    np.testing.assert_allclose(iso, G * np.maximum(1 - t / n, 0))
    np.testing.assert_allclose(tv.tv_soft_threshold(G, t, "niso"), soft_threshold(G, t))
    np.testing.assert_allclose(tv.tv_soft_threshold(G, t, "aniso"), soft_threshold(G, t))
    with pytest.raises(ValueError):
        tv.tv_soft_threshold(G, t, "l0")
    with pytest.raises(ValueError):
        tv.tv_soft_threshold(G[0], t)


def test_tv_norm():
    X = np.zeros((1, 4, 4))
    X[0, 1:3, 1:3] = 1.0  # a 2x2 square: 8 unit jumps on each axis direction pair
    assert tv.tv_norm(X, "aniso") == 8.0
    iso = tv.tv_norm(X, "iso")
    assert 8.0 / np.sqrt(2) <= iso <= 8.0
