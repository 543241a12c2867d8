"""SUnSAL, CLSUnSAL and SUnSAL-TV (hysupp.unmixing.semisupervised.sunsal): small, fast scenes."""

import numpy as np
import pytest

import hysupp
from hysupp.errors import HysuppError, InputError, ParameterError
from hysupp.methods import get_method
from hysupp.optim.tv import tv_norm
from hysupp.unmixing.semisupervised.sunsal import (
    CLSUnSAL,
    SUnSAL,
    SUnSALTV,
    sunsal_admm,
)


def sre(X, Xh):
    return 10 * np.log10(np.sum(X ** 2) / np.sum((Xh - X) ** 2))


@pytest.fixture(scope="module")
def sparse_scene():
    """Random library (L=40, M=20), 3 active atoms with Dirichlet abundances, 200 pixels, no noise."""
    rng = np.random.default_rng(0)
    D = rng.random((40, 20))
    X = np.zeros((20, 200))
    X[[3, 8, 15]] = rng.dirichlet(np.ones(3), 200).T
    return D, X, D @ X


@pytest.fixture(scope="module")
def tv_scene():
    """Piecewise-constant 24 x 24 abundance maps of 3 of 15 atoms, AWGN at 10 dB."""
    rng = np.random.default_rng(3)
    L, M, H, W = 40, 15, 24, 24
    D = rng.random((L, M))
    X = np.zeros((M, H, W))
    X[2, :12, :] = 1.0
    X[5, 12:, :12] = 1.0
    X[9, 12:, 12:] = 0.6
    X[2, 12:, 12:] = 0.4
    X = X.reshape(M, -1)
    Yc = D @ X
    Y = Yc + np.sqrt(np.mean(Yc ** 2) / 10) * rng.standard_normal(Yc.shape)
    return D, X, Y, (H, W)


def objective_l1(Y, D, X, lam):
    return 0.5 * np.sum((Y - D @ X) ** 2) + lam * np.abs(X).sum()


def test_registered_with_declared_defaults():
    assert get_method("sunsal") is SUnSAL and get_method("CLSUNSAL") is CLSUnSAL
    assert get_method("sunsal-tv") is SUnSALTV and SUnSALTV.spatial and not SUnSAL.spatial
    s = SUnSAL()
    assert (s.lam, s.positivity, s.addone, s.max_iter, s.tol, s.dtype) == (1e-3, True, False, 1000, 1e-5, "float32")
    assert CLSUnSAL().tol == 3e-6      # measured (tests/test_stopping_defaults.py); reference 1e-4
    assert CLSUnSAL().lam == 0.01 and CLSUnSAL().mu == 0.1
    tv = SUnSALTV()
    assert (tv.lam, tv.lam_tv, tv.mu, tv.max_iter, tv.tv_type) == (1e-3, 1e-3, 0.05, 200, "aniso")
    for cls in (SUnSAL, CLSUnSAL):
        assert cls.per_snr == {20: {"lam": 0.7}, 30: {"lam": 0.1}, 40: {"lam": 0.01}}
        assert "doi:" in cls.reference


@pytest.mark.parametrize("addone", [False, True])
def test_sunsal_small_lambda_recovers_noise_free_abundances(sparse_scene, addone):
    D, X, Y = sparse_scene
    res = SUnSAL(lam=1e-7, positivity=True, addone=addone, tol=1e-9, max_iter=5000,
                 dtype="float64").unmix(Y, D)
    Xh = res.abundances
    assert res.over_library and res.endmembers is D and Xh.shape == X.shape and Xh.dtype == np.float64
    assert Xh.min() >= 0
    assert sre(X[[3, 8, 15]], Xh[[3, 8, 15]]) > 50
    if addone:
        np.testing.assert_allclose(Xh.sum(axis=0), 1, atol=1e-5)
    info = res.info
    assert info["converged"] and info["iterations"] > 0 and info["wall_time"] > 0
    hist = info["residual_history"]
    assert hist and all({"iteration", "primal_residual", "dual_residual", "mu"} <= set(h) for h in hist)
    assert [h["iteration"] for h in hist][:2] == [1, 11]


def test_sunsal_reaches_the_l1_minimiser(sparse_scene):
    """At convergence, the KKT conditions of min 1/2||Y-DX||^2 + lam||X||_1, X >= 0 hold."""
    D, X, Y = sparse_scene
    rng = np.random.default_rng(1)
    Yn = Y + 0.01 * rng.standard_normal(Y.shape)
    lam = 0.05
    Xh = SUnSAL(lam=lam, tol=1e-8, max_iter=20000, dtype="float64").unmix(Yn, D).abundances
    g = D.T @ (D @ Xh - Yn) + lam  # gradient of the smooth part + lam on the non-negative orthant
    scale = np.abs(D.T @ Yn).max()
    assert np.abs(g[Xh > 1e-8]).max() < 1e-4 * scale   # stationarity on the support
    assert g[Xh <= 1e-8].min() > -1e-4 * scale          # non-negative multipliers off it
    # and it beats the truth on the objective
    assert objective_l1(Yn, D, Xh, lam) <= objective_l1(Yn, D, X, lam)


def test_sunsal_closed_forms_without_constraints(sparse_scene):
    D, X, Y = sparse_scene
    res = SUnSAL(lam=0.0, positivity=False, dtype="float64").unmix(Y, D)
    np.testing.assert_allclose(res.abundances, X, atol=1e-8)
    assert res.info["closed_form"]
    rng = np.random.default_rng(2)
    Yn = Y + 0.05 * rng.standard_normal(Y.shape)
    Xs = SUnSAL(lam=0.0, positivity=False, addone=True, dtype="float64").unmix(Yn, D).abundances
    np.testing.assert_allclose(Xs.sum(axis=0), 1.0, atol=1e-10)


def test_sunsal_unconstrained_l1_is_signed(sparse_scene):
    D, _, Y = sparse_scene
    res = SUnSAL(lam=1e-6, positivity=False, tol=1e-9, max_iter=5000, dtype="float64").unmix(Y - 0.5 * D[:, [0]], D)
    assert res.abundances[0].mean() < -0.4  # a negative coefficient is allowed without positivity


def test_float32_matches_float64(sparse_scene):
    D, X, Y = sparse_scene
    a = SUnSAL(lam=1e-3, dtype="float32").unmix(Y.astype(np.float32), D.astype(np.float32))
    b = SUnSAL(lam=1e-3, dtype="float64").unmix(Y, D)
    assert a.abundances.dtype == np.float32
    assert abs(sre(X, a.abundances.astype(float)) - sre(X, b.abundances)) < 0.05


def test_clsunsal_row_sparsity():
    """Zero-mean (incoherent) library: inactive rows vanish (to the ADMM's primal residual: the output
    is the non-negative split V3, as the reference's) and the l2,1 KKT hold."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((40, 20))
    X = np.zeros((20, 200))
    active = np.zeros(20, bool)
    active[[3, 8, 15]] = True
    X[active] = rng.dirichlet(np.ones(3), 200).T
    Yn = D @ X + 0.1 * np.random.default_rng(4).standard_normal((40, 200))
    lam = 10.0
    res = CLSUnSAL(lam=lam, dtype="float64", tol=1e-7, max_iter=5000).unmix(Yn, D)
    Xh = res.abundances
    norms = np.linalg.norm(Xh, axis=1)
    assert Xh.min() >= 0 and res.info["converged"]
    assert norms[~active].max() < 1e-5 and norms[active].min() > 5
    assert sre(X[active], Xh[active]) > 20
    # KKT of min 1/2||Y - DX||^2 + lam sum_i ||X_i||, X >= 0 with g = D^T(DX - Y):
    # zero rows: ||(-g_i)_+|| <= lam; active rows: g_i + lam X_i / ||X_i|| = 0 where X_i > 0
    g = D.T @ (D @ Xh - Yn)
    assert np.linalg.norm(np.maximum(-g[~active], 0), axis=1).max() <= lam * (1 + 1e-3)
    stat = g[active] + lam * Xh[active] / norms[active, None]
    assert np.abs(stat[Xh[active] > 1e-6]).max() < 1e-3 * lam
    # SUnSAL (l1) on the same data spreads over more rows
    xs = SUnSAL(lam=1.0, dtype="float64").unmix(Yn, D).abundances
    assert np.count_nonzero(np.linalg.norm(xs, axis=1) > 0) > 3


def test_sunsal_tv_improves_on_piecewise_constant_scene(tv_scene):
    D, X, Y, shape = tv_scene
    base = max(sre(X, SUnSAL(lam=lam, dtype="float64").unmix(Y, D).abundances) for lam in (0.01, 0.1, 1.0))
    for tv_type in ("iso", "aniso"):
        res = SUnSALTV(lam=0.01, lam_tv=0.5, tv_type=tv_type, dtype="float64").unmix(Y, D, image_shape=shape)
        Xh = res.abundances
        assert Xh.shape == X.shape and Xh.min() >= 0
        assert sre(X, Xh) > base + 6, (tv_type, sre(X, Xh), base)
        assert tv_norm(Xh.reshape(-1, *shape), tv_type) < tv_norm(
            SUnSAL(lam=0.01, dtype="float64").unmix(Y, D).abundances.reshape(-1, *shape), tv_type)
    assert res.info["iterations"] <= 200 and res.info["residual_history"]


def test_sunsal_tv_without_tv_solves_the_sunsal_problem(sparse_scene):
    D, _, Y = sparse_scene
    rng = np.random.default_rng(5)
    Yn = Y + 0.01 * rng.standard_normal(Y.shape)
    lam = 0.05
    a = SUnSALTV(lam=lam, lam_tv=0.0, mu=0.5, tol=1e-8, max_iter=5000, dtype="float64").unmix(Yn, D, image_shape=(10, 20))
    b = SUnSAL(lam=lam, tol=1e-8, max_iter=5000, dtype="float64").unmix(Yn, D)
    fa, fb = objective_l1(Yn, D, a.abundances, lam), objective_l1(Yn, D, b.abundances, lam)
    assert abs(fa - fb) <= 1e-5 * fb


def test_unmix_api_runs_sunsal_and_tv():
    scene = hysupp.simulate("dirichlet", p=3, height=6, width=5, seed=4, min_angle=15.0)
    for name in ("SUnSAL", "CLSUnSAL", "SUnSAL-TV"):
        run = hysupp.unmix(scene, name, library="usgs1995-pruned", params={"lam": 1e-3})
        assert run.abundances.shape[1:] == (6, 5)
        assert run.abundances.shape[0] == run.scene.library.shape[1]


def test_bad_inputs(sparse_scene):
    D, _, Y = sparse_scene
    with pytest.raises(InputError, match="bands"):
        SUnSAL().unmix(Y[:-1], D)
    Ybad = Y.copy()
    Ybad[0, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        SUnSAL().unmix(Ybad, D)
    with pytest.raises(InputError, match="image_shape"):
        SUnSALTV().unmix(Y, D)
    with pytest.raises(InputError, match="image_shape"):
        SUnSALTV().unmix(Y, D, image_shape=(7, 7))
    with pytest.raises(ParameterError):
        SUnSAL(lam=-1.0)
    with pytest.raises(ParameterError):
        SUnSAL(lambd=0.1)
    with pytest.raises(ParameterError):
        SUnSALTV(tv_type="l0")
    with pytest.raises(ParameterError):
        CLSUnSAL(dtype="float16")
    with pytest.raises(ParameterError, match="mu"):
        CLSUnSAL(mu=0.0).unmix(Y, D)
    with pytest.raises(HysuppError, match="all zeros"):
        SUnSAL().unmix(Y, np.zeros_like(D))


def test_divergence_guard_names_method_and_iteration(sparse_scene):
    D, _, Y = sparse_scene

    def bad_prox(V, t):
        V[0, 0] = np.inf

    with pytest.raises(HysuppError, match=r"SUnSAL.*iteration 1\b"):
        sunsal_admm(Y, D, bad_prox, lam=0.1, dtype=np.float64, method="SUnSAL")


def test_clsunsal_iterations_and_stopping_test_as_the_reference():
    """clsunsal_admm against the three-way-split ADMM written out with plain loops (Iordache et al.
    2014; HySUPP's initial point and stopping test; multipliers rescaled when mu changes)."""
    from hysupp.optim.prox import group_soft_threshold
    from hysupp.unmixing.semisupervised.sunsal import clsunsal_admm

    rng = np.random.default_rng(3)
    D = rng.uniform(0.1, 1.0, (12, 9))
    X = np.zeros((9, 30))
    X[[1, 4]] = rng.dirichlet([1, 1], 30).T
    Y = D @ X + 0.01 * rng.standard_normal((12, 30))
    lam, mu, tol, iters = 0.05, 0.1, 1e-4, 200
    nu = np.sqrt(np.mean(D ** 2))
    Ds, Ys, ls = D / nu, Y / nu, lam / nu ** 2
    M, N = 9, 30
    AA = np.linalg.inv(Ds.T @ Ds + 2 * np.eye(M))
    u = np.linalg.inv(Ds.T @ Ds + mu * np.eye(M)) @ Ds.T @ Ys
    v1, v2, v3 = Ds @ u, u.copy(), u.copy()
    d1, d2, d3 = v1.copy(), v2.copy(), v3.copy()
    k, rp, rd, thr = 1, np.inf, np.inf, np.sqrt(N * M) * tol
    while k <= iters and (rp > thr or rd > thr):
        if k % 10 == 1:
            u0 = u
        u = AA @ (Ds.T @ (v1 + d1) + v2 + d2 + v3 + d3)
        v1 = (Ys + mu * (Ds @ u - d1)) / (1 + mu)
        v2 = np.stack([row * max(np.linalg.norm(row) - ls / mu, 0) / np.linalg.norm(row) if np.linalg.norm(row) > 0
                       else row for row in u - d2])
        v3 = np.maximum(u - d3, 0)
        d1, d2, d3 = d1 - Ds @ u + v1, d2 - u + v2, d3 - u + v3
        if k % 10 == 1:
            rp = np.linalg.norm(Ds @ u - v1) + np.linalg.norm(u - v2) + np.linalg.norm(u - v3)
            rd = mu * np.linalg.norm(u - u0)
            if rp > 10 * rd:
                mu, d1, d2, d3 = mu * 2, d1 / 2, d2 / 2, d3 / 2
            elif rd > 10 * rp:
                mu, d1, d2, d3 = mu / 2, d1 * 2, d2 * 2, d3 * 2
        k += 1
    V3, info = clsunsal_admm(Y, D, lam=lam, max_iter=iters, tol=tol, mu0=0.1, dtype=np.float64)
    assert info["iterations"] == k - 1 < iters and info["converged"]
    assert (info["iterations"] - 1) % 10 == 0                       # stops right after a check
    np.testing.assert_allclose(V3, v3, rtol=1e-9, atol=1e-12)
    assert group_soft_threshold(np.ones((1, 4)), 4.0).max() == 0.0   # the prox zeroes a small row
    # float32 output, float64 iterations
    V3f, _ = clsunsal_admm(Y, D, lam=lam, max_iter=iters, tol=tol, mu0=0.1, dtype=np.float32)
    assert V3f.dtype == np.float32
    np.testing.assert_allclose(V3f, v3, rtol=1e-6, atol=1e-7)
