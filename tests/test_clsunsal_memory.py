"""CLSUnSAL's ADMM in pixel chunks (issue 21, deliverable 3): the same iterates as the whole-array
updates, with three arrays of state and one of U (stored in the output dtype, computed on in float64)
instead of twelve full-size float64 arrays."""

import tracemalloc

import numpy as np
import pytest

from hysupp.unmixing.semisupervised.sunsal import clsunsal_admm


def problem(seed=0, L=30, M=20, N=500):
    """Seeded scene: 3 active atoms of a random library, float32 cube with 1 % noise."""
    rng = np.random.default_rng(seed)
    D = rng.random((L, M)) + 0.1
    X = np.zeros((M, N))
    X[[2, 7, 11]] = rng.dirichlet([1, 1, 1], N).T
    Y = D @ X + 0.01 * rng.standard_normal((L, N))
    return Y.astype(np.float32), D


def whole_array_reference(Y, D, lam, max_iter, tol, mu=0.1):
    """The three-way-split ADMM written on whole arrays from the equations of ``clsunsal_admm``
    (every split and multiplier stored, in the order of the updates), float64."""
    nu = np.sqrt(np.mean(D ** 2))
    Ds, Ys, ls = D / nu, np.asarray(Y, np.float64) / nu, lam / nu ** 2
    M, N = Ds.shape[1], Ys.shape[1]
    G = Ds.T @ Ds
    AA = np.linalg.inv(G + 2 * np.eye(M))
    U = np.linalg.solve(G + mu * np.eye(M), Ds.T @ Ys)
    V1 = Ds @ U
    V2, V3 = U.copy(), U.copy()
    D1, D2, D3 = V1.copy(), V2.copy(), V3.copy()
    thr, rp, rd, it = np.sqrt(N * M) * tol, np.inf, np.inf, 0
    while it < max_iter and (rp > thr or rd > thr):
        it += 1
        Uprev = U
        U = AA @ (Ds.T @ (V1 + D1) + V2 + D2 + V3 + D3)
        DU = Ds @ U
        V1 = (Ys + mu * (DU - D1)) / (1 + mu)
        T = U - D2
        n = np.linalg.norm(T, axis=1, keepdims=True)
        V2 = T * np.where(n > 0, np.maximum(1 - (ls / mu) / np.where(n > 0, n, 1), 0), 0)
        V3 = np.maximum(U - D3, 0)
        D1, D2, D3 = D1 - DU + V1, D2 - U + V2, D3 - U + V3
        if it % 10 == 1:
            rp = np.linalg.norm(DU - V1) + np.linalg.norm(U - V2) + np.linalg.norm(U - V3)
            rd = mu * np.linalg.norm(U - Uprev)
            if rp > 10 * rd or rd > 10 * rp:
                f = 2.0 if rp > 10 * rd else 0.5
                mu, D1, D2, D3 = mu * f, D1 / f, D2 / f, D3 / f
    return V3, it, mu


#: Golden values computed with the whole-array implementation that preceded the chunked one
#: (branch ``integ2`` at ce40006, ``clsunsal_admm`` on ``problem()``): iterations, final mu,
#: sum(X), sum(X**2), X[7, 3] for dtype float64 / float32.
GOLDEN = [
    ({"lam": 0.05, "max_iter": 57, "tol": 0.0}, "float64",
     (57, 1.6, 500.88363277014946, 252.4035592385046, 0.3948709286726621)),
    ({"lam": 0.05}, "float64",
     (61, 1.6, 500.79482767144333, 252.37633997282745, 0.3948741129728009)),
    ({"lam": 1e-3, "max_iter": 200, "tol": 1e-6}, "float64",
     (121, 1.6, 500.7069251593286, 252.30323627253284, 0.39377191588428906)),
    ({"lam": 0.05, "max_iter": 57, "tol": 0.0}, "float32",
     (57, 1.6, 500.8836322462347, 252.4035586628665, 0.39487093687057495)),
    ({"lam": 0.05}, "float32",
     (61, 1.6, 500.7948277186865, 252.37634005575356, 0.39487412571907043)),
]


@pytest.mark.parametrize("chunk", [64, 333, 2048])
@pytest.mark.parametrize(("kw", "dtype", "golden"), GOLDEN)
def test_clsunsal_chunked_equals_the_whole_array_code(kw, dtype, golden, chunk):
    Y, D = problem()
    X, info = clsunsal_admm(Y, D, dtype=dtype, chunk=chunk, **kw)
    assert X.dtype == np.dtype(dtype) and info["chunk"] == chunk
    it, mu, s, s2, x73 = golden
    assert info["iterations"] == it and info["mu_final"] == mu
    X64 = X.astype(np.float64)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose([X64.sum(), (X64 ** 2).sum(), X64[7, 3]], [s, s2, x73], rtol=rtol)


@pytest.mark.parametrize(("lam", "max_iter", "tol", "mu0", "mu_moves"), [
    (0.02, 300, 1e-4, 0.1, "up"),       # mu doubled, stops on the tolerance
    (20.0, 40, 0.0, 100.0, "down"),     # mu halved, rows shrunk to zero
])
def test_clsunsal_elementwise_against_whole_array_reference(lam, max_iter, tol, mu0, mu_moves):
    rng = np.random.default_rng(1)
    L, M, N = 40, 25, 700
    D = rng.random((L, M)) + 0.1
    X = np.zeros((M, N))
    X[[2, 7, 11, 20]] = rng.dirichlet([1] * 4, N).T
    Y = (D @ X + 0.01 * rng.standard_normal((L, N))).astype(np.float32)
    V3, it, mu = whole_array_reference(Y, D, lam, max_iter, tol, mu=mu0)
    assert (mu > mu0) if mu_moves == "up" else (mu < mu0)
    scale = np.abs(V3).max()
    for chunk in (50, 256, N):
        Xh, info = clsunsal_admm(Y, D, lam=lam, max_iter=max_iter, tol=tol, mu0=mu0, dtype="float64",
                                 chunk=chunk)
        assert info["iterations"] == it and info["mu_final"] == mu
        np.testing.assert_allclose(Xh, V3, rtol=0, atol=1e-12 * scale)
        Xf, _ = clsunsal_admm(Y, D, lam=lam, max_iter=max_iter, tol=tol, mu0=mu0, dtype="float32", chunk=chunk)
        np.testing.assert_allclose(Xf, V3, rtol=0, atol=1e-6 * scale)
    if mu_moves == "down":
        assert (np.abs(V3).max(axis=1) == 0).sum() >= 5        # the row shrinkage acted


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clsunsal_peak_allocation_is_four_arrays_of_the_dtype(dtype):
    """Peak of the traced allocations: T1 (L, N), T2, T3 and U (M, N) stored in ``dtype`` (the
    output reuses T3), the float64 chunk buffers; the whole-array code held 4 (L, N) + 8 (M, N)
    float64 arrays."""
    rng = np.random.default_rng(2)
    L, M, N, chunk = 30, 40, 40_000, 1024
    D = rng.random((L, M)) + 0.1
    Y = (D @ rng.dirichlet(np.ones(M), N).T).astype(np.float32)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        X, _ = clsunsal_admm(Y, D, lam=0.01, max_iter=12, tol=0.0, dtype=dtype, chunk=chunk)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    state = (L + 3 * M) * N * np.dtype(dtype).itemsize
    buffers = (3 * L + 6 * M) * chunk * 8
    assert peak <= state + buffers + 2 * 1024 ** 2
    assert peak < 0.5 * (4 * L + 8 * M) * N * 8
    assert X.shape == (M, N) and X.dtype == np.dtype(dtype)


def test_clsunsal_chunk_and_max_iter_are_checked():
    Y, D = problem(N=20)
    with pytest.raises(ValueError, match="chunk"):
        clsunsal_admm(Y, D, lam=0.1, chunk=0)
    with pytest.raises(ValueError, match="max_iter"):
        clsunsal_admm(Y, D, lam=0.1, max_iter=0)
