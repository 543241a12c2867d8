"""The chunked sparse-regression ADMM (hysupp.optim.admm): pixel chunks, threads and the cached or
recomputed data term give the iterates of the whole-image loop."""

from __future__ import annotations

import numpy as np
import pytest

import hysupp.optim.admm as admm
from hysupp.errors import ParameterError
from hysupp.optim.admm import sparse_regression_admm
from hysupp.optim.prox import soft_threshold
from hysupp.unmixing.semisupervised.sunsal import sunsal_admm


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    L, M, N = 20, 14, 300
    D = rng.uniform(0.1, 1.0, (L, M))
    X = np.zeros((M, N))
    X[[2, 7, 11]] = rng.dirichlet(np.ones(3), N).T
    return D @ X + 0.01 * rng.standard_normal((L, N)), D, X


def _whole_loop(Y, D, lam, max_iter, *, positivity=True, addone=False):
    """The whole-image loop of sunsal_admm (a callable prox)."""
    def prox(V, t):
        soft_threshold(V, t, nonneg=positivity, out=V)
    return sunsal_admm(Y, D, prox, lam=lam, addone=addone, max_iter=max_iter, tol=0.0, dtype=np.float64)


@pytest.mark.parametrize("positivity, addone", [(True, False), (False, False), (True, True)])
def test_chunks_and_threads_give_the_whole_image_iterates(problem, monkeypatch, positivity, addone):
    Y, D, _ = problem
    ref, rinfo = _whole_loop(Y, D, 0.01, 47, positivity=positivity, addone=addone)
    for chunk, threads, cache in ((300, 1, True), (64, 1, True), (37, 2, True), (50, 2, False)):
        if not cache:
            monkeypatch.setattr(admm, "CACHE_B_BYTES", 0)     # b recomputed at every segment
        X, info = sparse_regression_admm(Y, D, lam=0.01, positivity=positivity, addone=addone, max_iter=47,
                                         tol=0.0, dtype=np.float64, chunk=chunk, n_threads=threads)
        np.testing.assert_allclose(X, ref, atol=1e-11)
        assert info["iterations"] == 47 and info["chunk"] == chunk and info["n_threads"] == threads
        assert [h["iteration"] for h in info["residual_history"]] == [1, 11, 21, 31, 41]
        for a, b in zip(info["residual_history"], rinfo["residual_history"]):
            assert a["mu"] == b["mu"]
            assert a["primal_residual"] == pytest.approx(b["primal_residual"], rel=1e-8)
            assert a["dual_residual"] == pytest.approx(b["dual_residual"], rel=1e-8)
        assert sum(s["iterations"] for s in info["segment_times"]) == 47


def test_stopping_test_and_recovery(problem):
    Y, D, X = problem
    Xh, info = sparse_regression_admm(Y, D, lam=1e-4, tol=1e-5, dtype=np.float64, chunk=64)
    assert info["converged"] and info["iterations"] < 1000 and info["iterations"] % 10 == 1
    last = info["residual_history"][-1]
    assert max(last["primal_residual"], last["dual_residual"]) <= info["tolerance"]
    assert info["tolerance"] == pytest.approx(np.sqrt(Y.shape[1] * D.shape[1]) * 1e-5)
    assert np.abs(Xh - X).max() < 0.05 and Xh.min() >= 0
    _, full = sparse_regression_admm(Y, D, lam=1e-4, tol=0.0, max_iter=30, dtype=np.float64)
    assert full["iterations"] == 30 and not full["converged"]


def test_ridge_prior_is_the_stacked_regression(problem):
    """MUA's fine scale: (w/2)||X - Xbar||^2 added = the l1 regression of [Y; sqrt(w) Xbar] on [D; sqrt(w) I],
    with the prior given chunk by chunk."""
    Y, D, X = problem
    M, N = X.shape
    Xbar = np.clip(X + 0.05 * np.random.default_rng(1).standard_normal(X.shape), 0, None)
    w = 0.3
    Ya = np.vstack([Y, np.sqrt(w) * Xbar])
    Da = np.vstack([D, np.sqrt(w) * np.eye(M)])
    ref, rinfo = sparse_regression_admm(Ya, Da, lam=0.01, max_iter=33, tol=0.0, dtype=np.float64)
    got, info = sparse_regression_admm(Y, D, lam=0.01, max_iter=33, tol=0.0, dtype=np.float64, chunk=70,
                                       ridge=w, prior=lambda c0, c1: Xbar[:, c0:c1])
    np.testing.assert_allclose(got, ref, atol=1e-11)
    assert info["library_scale"] == pytest.approx(rinfo["library_scale"])


def test_float32_iterates_are_close_and_the_input_is_not_converted_whole(problem):
    Y, D, _ = problem
    X64, _ = sparse_regression_admm(Y, D, lam=0.01, max_iter=40, tol=0.0, dtype=np.float64)
    X32, _ = sparse_regression_admm(Y.astype(np.float32), D, lam=0.01, max_iter=40, tol=0.0, dtype=np.float32,
                                    chunk=50)
    assert X32.dtype == np.float32 and np.abs(X32 - X64).max() < 1e-4


@pytest.mark.parametrize("kw", [{"chunk": 0}, {"n_threads": 0}, {"max_iter": 0}, {"chunk": 2.5},
                                {"ridge": 1.0}, {"ridge": -1.0, "prior": lambda a, b: None}])
def test_bad_settings_are_refused(problem, kw):
    Y, D, _ = problem
    with pytest.raises(ParameterError):
        sparse_regression_admm(Y, D, lam=0.01, **kw)
