"""S2WSU (hysupp.unmixing.semisupervised.s2wsu): weights, ADMM algebra, recovery, validation."""

import numpy as np
import pytest

from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.unmixing.semisupervised.s2wsu import (
    S2WSU,
    neighbourhood_mean,
    s2wsu_weights,
)

C = 1 / np.sqrt(2)


def sre(X, Xh):
    return 10 * np.log10(np.sum(X ** 2) / np.sum((Xh - X) ** 2))


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


def naive_s2wsu(Y, D, shape, lam, mu, inner, outer, eps_spa=0.01):
    """The paper's three-split ADMM written directly (image domain data split), no stopping rule."""
    M = D.shape[1]
    G = D.T @ D
    X0 = np.linalg.solve(G + mu * np.eye(M), D.T @ Y)
    A2 = np.linalg.inv(G + 2 * np.eye(M))
    U, V1, V2, V3 = X0, D @ X0, X0.copy(), X0.copy()
    D1, D2, D3 = np.zeros_like(V1), np.zeros_like(X0), np.zeros_like(X0)
    H, W = shape
    for _ in range(outer):
        Xh = (V3 - D3).reshape(M, H, W)
        P = np.pad(Xh, ((0, 0), (1, 1), (1, 1)))
        nb = np.zeros_like(Xh)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy or dx:
                    w = C if (dy and dx) else 1.0
                    nb += w * P[:, 1 + dy:1 + dy + H, 1 + dx:1 + dx + W]
        nb /= 4 + 4 * C
        wgt = 1 / (eps_spa + np.abs(nb.reshape(M, -1))) / np.linalg.norm(V3 - D3, axis=1, keepdims=True)
        for _ in range(inner):
            U = A2 @ (D.T @ (V1 + D1) + V2 + D2 + V3 + D3)
            V1 = (Y + mu * (D @ U - D1)) / (1 + mu)
            V2 = np.maximum(U - D2, 0)
            Z = U - D3
            V3 = np.sign(Z) * np.maximum(np.abs(Z) - lam / mu * wgt, 0)
            D1 = D1 - D @ U + V1
            D2 = D2 - U + V2
            D3 = D3 - U + V3
    return U


def test_registered_with_declared_defaults():
    assert get_method("s2wsu") is S2WSU and get_method("S2WSU", task="semi-supervised") is S2WSU
    assert S2WSU.spatial and S2WSU.task == "semi-supervised" and not S2WSU.needs_p
    m = S2WSU()
    assert (m.lam, m.mu, m.inner_iters, m.outer_iters, m.eps_spa, m.eps_spe, m.tol, m.dtype) == \
        (1e-3, 0.5, 5, 60, 0.01, 0.0, 3e-5, "float32")   # tol: measured (reference 1e-4)
    assert S2WSU.per_snr == {20: {"lam": 0.1}, 30: {"lam": 0.005}, 40: {"lam": 0.001}}
    assert "doi:10.1109/TGRS.2018.2797200" in S2WSU.reference


def test_neighbourhood_mean_golden_values():
    X = np.zeros((2, 16))
    X[0, 5] = 1.0                        # pixel (1, 1) of a 4 x 4 image
    X[1] = 1.0                           # constant image
    nb = neighbourhood_mean(X, (4, 4)).reshape(2, 4, 4) * (4 + 4 * C)
    expected0 = np.array([[C, 1, C, 0], [1, 0, 1, 0], [C, 1, C, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(nb[0], expected0, atol=1e-12)
    # constant image: 4 + 4c inside, zero padding at the border (corner: 2 edge + 1 diagonal neighbours)
    np.testing.assert_allclose(nb[1][1:3, 1:3], 4 + 4 * C)
    np.testing.assert_allclose(nb[1][0, 0], 2 + C)
    np.testing.assert_allclose(nb[1][0, 1], 3 + 2 * C)
    assert neighbourhood_mean(X.astype(np.float32), (4, 4)).dtype == np.float32


def test_weights_formula():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 20))
    w = s2wsu_weights(X, (4, 5), eps_spa=0.02, eps_spe=0.1)
    nb = neighbourhood_mean(X, (4, 5))
    expected = 1 / (0.02 + np.abs(nb)) / (np.linalg.norm(X, axis=1, keepdims=True) + 0.1)
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    X[1] = 0.0                           # a zero row gets an infinite weight (atom switched off)
    assert np.isinf(s2wsu_weights(X, (4, 5))[1]).all()


def test_iterates_match_the_papers_admm():
    """The atom-domain implementation reproduces the plain three-split ADMM iterate for iterate."""
    rng = np.random.default_rng(2)
    L, M, H, W = 12, 8, 6, 5
    D = rng.random((L, M))
    X = np.zeros((M, H * W))
    X[[1, 4]] = rng.dirichlet([1, 1], H * W).T
    Y = D @ X + 0.01 * rng.standard_normal((L, H * W))
    lam, mu = 0.01, 0.5
    res = S2WSU(lam=lam, mu=mu, inner_iters=3, outer_iters=4, tol=0.0, dtype="float64").unmix(
        Y, D, image_shape=(H, W))
    U = naive_s2wsu(Y, D, (H, W), lam, mu, 3, 4)
    np.testing.assert_allclose(res.abundances, np.maximum(U, 0), atol=1e-10)
    assert res.info["iterations"] == 12 and res.info["outer_iterations"] == 4 and not res.info["converged"]
    hist = res.info["residual_history"]
    assert [h["iteration"] for h in hist] == [1, 4, 7, 10] and all(h["primal_residual"] > 0 for h in hist)


@pytest.mark.parametrize("tol", [0.0, 0.05])
def test_image_row_blocks_give_the_whole_image_iterates(monkeypatch, tol):
    """Large scenes run each block of iterations on blocks of image rows (the weights' neighbourhoods
    across the block edges included) and recompute D^T Y, U and the weights instead of keeping them:
    the iterates are those of one block, also when the stopping test ends the run after the first
    step of a block."""
    import hysupp.unmixing.semisupervised.s2wsu as mod

    rng = np.random.default_rng(3)
    L, M, H, W = 12, 8, 7, 5
    D = rng.random((L, M))
    X = np.zeros((M, H * W))
    X[[1, 4]] = rng.dirichlet([1, 1], H * W).T
    Y = D @ X + 0.01 * rng.standard_normal((L, H * W))
    kw = dict(lam=0.01, inner_iters=3, outer_iters=5, tol=tol, dtype="float64")
    whole = S2WSU(**kw).unmix(Y, D, image_shape=(H, W))
    monkeypatch.setattr(mod, "CHUNK_PIXELS", 2 * W)           # blocks of 2 rows: 2, 2, 2, 1
    monkeypatch.setattr(mod, "CACHE_B_BYTES", 0)              # the large-scene path
    blocks = S2WSU(**kw).unmix(Y, D, image_shape=(H, W))
    assert blocks.info["chunk_rows"] == 2 and whole.info["chunk_rows"] == H
    np.testing.assert_allclose(blocks.abundances, whole.abundances, atol=1e-12)
    threaded = S2WSU(**kw, n_threads=3).unmix(Y, D, image_shape=(H, W))     # blocks on 3 threads
    np.testing.assert_allclose(threaded.abundances, whole.abundances, atol=1e-12)
    assert blocks.info["iterations"] == whole.info["iterations"]
    assert whole.info["converged"] is (tol > 0)
    if tol:
        assert whole.info["iterations"] < 15
        U = naive_s2wsu(Y, D, (H, W), 0.01, 0.5, 3, 5)   # the run stopped earlier than the naive one
        assert np.abs(whole.abundances - np.maximum(U, 0)).max() > 1e-8
    for a, b in zip(blocks.info["residual_history"], whole.info["residual_history"]):
        assert a["primal_residual"] == pytest.approx(b["primal_residual"], rel=1e-10)


def test_noise_free_smooth_scene_recovered(smooth_scene):
    D, X, Y, shape = smooth_scene
    res = S2WSU(lam=1e-4, dtype="float64").unmix(Y, D, image_shape=shape)
    Xh = res.abundances
    assert res.over_library and Xh.shape == X.shape and Xh.dtype == np.float64 and Xh.min() >= 0
    assert sre(X, Xh) > 50
    assert res.info["converged"] and res.info["iterations"] < 300
    r32 = S2WSU(lam=1e-4).unmix(Y.astype(np.float32), D.astype(np.float32), image_shape=shape)
    assert r32.abundances.dtype == np.float32 and sre(X, r32.abundances) > 40


def test_sparsity_grows_with_lambda(smooth_scene):
    D, _X, Y, shape = smooth_scene
    Yn = Y + 0.01 * np.random.default_rng(3).standard_normal(Y.shape)
    small = S2WSU(lam=1e-4, dtype="float64").unmix(Yn, D, image_shape=shape).abundances
    large = S2WSU(lam=1e-1, dtype="float64").unmix(Yn, D, image_shape=shape).abundances
    inactive = np.setdiff1d(np.arange(D.shape[1]), [2, 9, 15])
    assert np.abs(large[inactive]).sum() < 0.5 * np.abs(small[inactive]).sum()


def test_tolerance_stops_after_first_check(smooth_scene):
    D, _X, Y, shape = smooth_scene
    res = S2WSU(tol=1e3, dtype="float64").unmix(Y, D, image_shape=shape)
    assert res.info["iterations"] == 1 and res.info["converged"]


def test_image_shape_required(smooth_scene):
    D, _X, Y, _shape = smooth_scene
    with pytest.raises(InputError, match="image_shape"):
        S2WSU().unmix(Y, D)
    with pytest.raises(InputError, match="image_shape"):
        S2WSU().unmix(Y, D, image_shape=(10, 10))


@pytest.mark.parametrize("kwargs", [{"lam": -1.0}, {"inner_iters": 0}, {"outer_iters": 0}, {"eps_spe": -1.0},
                                    {"dtype": "float16"}, {"tol": -1.0}, {"max_iter": 10}])
def test_invalid_parameters_rejected(kwargs):
    with pytest.raises(ParameterError):
        S2WSU(**kwargs)


@pytest.mark.parametrize("kwargs", [{"mu": 0.0}, {"eps_spa": 0.0}])
def test_zero_penalty_or_spatial_eps_rejected(smooth_scene, kwargs):
    D, _X, Y, shape = smooth_scene
    with pytest.raises(ParameterError, match=next(iter(kwargs))):
        S2WSU(**kwargs).unmix(Y, D, image_shape=shape)


def golden_problem():
    """Seeded scene for the golden values: 3 active atoms of a random library, 1 % noise, 12 x 10 px."""
    rng = np.random.default_rng(4)
    L, M, H, W = 30, 24, 12, 10
    D = rng.random((L, M)) + 0.1
    X = np.zeros((M, H * W))
    X[[3, 8, 17]] = rng.dirichlet([1, 1, 1], H * W).T
    return D @ X + 0.01 * rng.standard_normal((L, H * W)), D, (H, W)


#: Golden values of the implementation that kept six (M, N) arrays of state (R, D^T Delta1, C, -Delta2,
#: -Delta3, W3; branch ``memfcls`` at c58cb93): iterations, sum(X), sum(X**2), X[8, 7], last primal residual
#: (``golden_problem()``, lam 0.01, 8 weight updates, whole image); the row-block path agrees to 1e-12
#: (float64) / 2e-7 (float32; the residual to 3e-5).
S2WSU_GOLDEN = [
    ("float64", 0.0, (40, 119.96430980938288, 58.04233581416462, 0.38413029396901593, 0.019793189186062383)),
    ("float64", 2e-3, (16, 120.07020355112462, 57.75202299282619, 0.3842400228493061, 0.05992429451526245)),
    ("float32", 0.0, (40, 119.96426315613706, 58.04230899021648, 0.3841300904750824, 0.019793372265193215)),
    ("float32", 2e-3, (16, 120.07016162631984, 57.75199393405181, 0.3842402696609497, 0.05992442290659999)),
]


@pytest.mark.parametrize("path", ["whole", "rows"])
@pytest.mark.parametrize(("dtype", "tol", "golden"), S2WSU_GOLDEN)
def test_recomputed_rhs_gives_the_earlier_iterates(monkeypatch, dtype, tol, golden, path):
    """The right-hand side R is recomputed from the state (W2 = U - Delta2 kept instead of -Delta2),
    -Delta3 stored where it differs from W3: the iterates, stopping step and residuals are those of
    the six-array implementation."""
    import hysupp.unmixing.semisupervised.s2wsu as mod

    if path == "rows":
        monkeypatch.setattr(mod, "CHUNK_PIXELS", 30)               # blocks of 3 image rows
        monkeypatch.setattr(mod, "CACHE_B_BYTES", 0)               # the large-scene path
    Y, D, shape = golden_problem()
    res = S2WSU(lam=0.01, outer_iters=8, tol=tol, dtype=dtype).unmix(Y.astype(dtype), D, image_shape=shape)
    X = res.abundances.astype(np.float64)
    it, s, s2, x87, rp = golden
    assert res.info["iterations"] == it and res.info["converged"] is (tol > 0)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose([X.sum(), (X ** 2).sum(), X[8, 7]], [s, s2, x87], rtol=rtol)
    # float32: the residual sums of squares are taken per row block (3e-5 apart from the whole image's)
    assert res.info["residual_history"][-1]["primal_residual"] == pytest.approx(rp, rel=10 * rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_and_dense_storage_of_delta3_give_the_same_iterates(monkeypatch, dtype):
    """-Delta3 per row block stored as the entries that differ from W3, or whole: the same numbers."""
    import hysupp.unmixing.semisupervised.s2wsu as mod

    monkeypatch.setattr(mod, "CHUNK_PIXELS", 30)
    monkeypatch.setattr(mod, "CACHE_B_BYTES", 0)
    Y, D, shape = golden_problem()
    out = {}
    for frac in (0.0, 0.5, 1e9):                                   # always whole, the default, always sparse
        monkeypatch.setattr(mod, "N3_SPARSE_MAX", frac)
        res = S2WSU(lam=0.01, outer_iters=6, tol=0.0, dtype=dtype).unmix(Y.astype(dtype), D, image_shape=shape)
        out[frac] = res
    assert out[0.0].info["n3_stored_fraction"] == 1.0 and 0 < out[1e9].info["n3_stored_fraction"] < 1.0
    for frac in (0.5, 1e9):
        np.testing.assert_array_equal(out[frac].abundances, out[0.0].abundances)
        assert [h["primal_residual"] for h in out[frac].info["residual_history"]] == \
            [h["primal_residual"] for h in out[0.0].info["residual_history"]]


def test_large_scene_state_is_four_arrays_and_the_active_entries(monkeypatch):
    """Peak of the traced allocations on the row-block path: four (M, N) arrays of state (D^T Delta1,
    C, W2, W3), -Delta3 where it differs from W3 (the active entries of the weighted soft threshold),
    and the row block's buffers (one row of W3 carried between blocks, not two per block); the
    six-array implementation with its halo copies peaked at 6.8 arrays on this layout."""
    import tracemalloc

    import hysupp.unmixing.semisupervised.s2wsu as mod

    monkeypatch.setattr(mod, "CACHE_B_BYTES", 0)
    monkeypatch.setattr(mod, "CHUNK_PIXELS", 1000)                # 20 blocks of 5 image rows
    rng = np.random.default_rng(5)
    L, M, H, W = 20, 32, 100, 200
    D = rng.random((L, M)) + 0.1
    X = np.zeros((M, H * W))
    X[[3, 9, 20]] = rng.dirichlet(np.ones(3), H * W).T
    Y = (D @ X + 0.01 * rng.standard_normal((L, H * W))).astype(np.float32)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        res = S2WSU(lam=0.2, outer_iters=3, tol=0.0).unmix(Y, D, image_shape=(H, W))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    unit = M * H * W * 4
    buffers = 12 * M * 1000 * 4                                   # a row block's arrays
    frac = res.info["n3_stored_fraction"]
    assert res.abundances.shape == (M, H * W) and res.abundances.dtype == np.float32
    assert 0 < frac < 0.5
    assert peak <= (4 + frac) * unit + buffers + 1024 ** 2
    assert peak < 5 * unit                                        # five whole arrays: 5.5 here
