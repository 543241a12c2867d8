"""Archetypal analysis (AA, EDAA) and the entropic simplex steps."""

from __future__ import annotations

import numpy as np
import pytest

import hysupp
from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.metrics import evaluate_unmixing
from hysupp.optim import fcls
from hysupp.optim.entropic import entropic_step, entropic_step_log_, softmax
from hysupp.unmixing.blind.aa import AA, EDAA, aa_solve, select_restart, simplex_ls_wide


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free 20 x 20 Dirichlet scene of 3 USGS spectra with one pure pixel each."""
    s = hysupp.simulate("dirichlet", p=3, height=20, width=20, pure_pixels=True, seed=0, dtype="float64")
    Y = s.cube.reshape(s.cube.shape[0], -1)
    return Y, np.asarray(s.endmembers), np.asarray(s.abundances).reshape(3, -1)


def _on_simplex(X: np.ndarray, axis: int, atol: float) -> bool:
    return bool(X.min() >= -atol and np.allclose(X.sum(axis=axis), 1.0, atol=atol))


# ---- entropic steps -------------------------------------------------------------------------

def test_entropic_step_is_softmax_of_log_minus_step() -> None:
    rng = np.random.default_rng(0)
    X = rng.dirichlet(np.ones(4), size=6).T          # (4, 6), columns on the simplex
    G = rng.normal(size=(4, 6))
    expected = np.exp(np.log(X) - 0.7 * G)
    expected /= expected.sum(axis=0)
    assert np.allclose(entropic_step(X, G, 0.7, axis=0), expected, atol=1e-12)
    assert np.allclose(softmax(np.log(X) - 0.7 * G, axis=0), expected, atol=1e-12)
    logX = np.log(X)
    Xo = np.empty_like(X)
    entropic_step_log_(logX, G.copy(), 0.7, axis=0, X=Xo)
    assert np.allclose(Xo, expected, atol=1e-12) and np.allclose(np.exp(logX), expected, atol=1e-12)


def test_entropic_step_torch_matches_numpy_and_never_nans() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    X = rng.dirichlet(np.ones(3), size=5).T.astype(np.float32)
    G = rng.normal(size=(3, 5)).astype(np.float32)
    ref = entropic_step(X.astype(np.float64), G.astype(np.float64), 0.5, axis=0)
    out = entropic_step(torch.from_numpy(X), torch.from_numpy(G), 0.5, axis=0)
    assert isinstance(out, torch.Tensor) and np.allclose(out.numpy(), ref, atol=1e-6)
    # a huge step whose largest exponent sits on a zero entry: still a point of the simplex
    X0 = np.array([[0.0], [1.0], [0.0]])
    big = entropic_step(X0, np.array([[-1e6], [0.0], [-1e6]]), 1e3, axis=0)
    assert np.isfinite(big).all() and np.allclose(big[:, 0], [0, 1, 0])
    logB = torch.log(torch.tensor([[0.5, 0.5]]))
    entropic_step_log_(logB, torch.tensor([[1e4, -1e4]]), torch.tensor(10.0), axis=1)
    assert torch.isfinite(logB).all() and abs(float(logB.exp().sum()) - 1) < 1e-6


# ---- B-step sub-problem ---------------------------------------------------------------------

def test_simplex_ls_wide_matches_fcls() -> None:
    rng = np.random.default_rng(2)
    X = rng.random((10, 300))
    for v in (X[:, :5].mean(axis=1) * 1.3, rng.random(10), X[:, 7]):
        idx, w, rounds = simplex_ls_wide(X, v)
        beta = np.zeros(300)
        beta[idx] = w
        ref, _ = fcls(v, X, dtype=np.float64)
        assert np.isclose(beta.sum(), 1) and beta.min() >= 0
        obj, obj_ref = np.sum((v - X @ beta) ** 2), np.sum((v - X @ ref) ** 2)
        assert obj <= obj_ref + 1e-10 * max(obj_ref, 1.0)
        # KKT of the full problem
        g = X.T @ (X @ beta - v)
        assert (beta @ g - g).max() <= 1e-8
    # warm start from the optimal support: one round
    idx, w, rounds = simplex_ls_wide(X, X[:, 7], start=idx)
    assert rounds == 1


# ---- AA ---------------------------------------------------------------------------------------

def test_aa_recovers_pure_pixel_endmembers(scene) -> None:
    Y, E, A = scene
    res = AA(steps_as=40).unmix(Y, 3)
    rec = evaluate_unmixing(E_true=E, A_true=A, E_est=res.endmembers, A_est=res.abundances)
    assert rec["sad_mean_deg"] < 1.0
    B = res.info["B"].astype(np.float64)
    assert res.abundances.shape == (3, 400) and B.shape == (400, 3)
    assert _on_simplex(res.abundances.astype(np.float64), 0, 1e-6) and _on_simplex(B, 0, 1e-6)
    assert np.allclose(res.endmembers, Y @ B, atol=1e-5)
    # the exact alternating minimisation never increases the objective
    obj = np.asarray(res.info["objective"][res.info["iterations"] - 40:])
    assert np.all(np.diff(obj) <= 1e-9 * obj[0])


def test_aa_randominit_seed_and_defaults(scene) -> None:
    Y = scene[0]
    m = AA()
    assert (m.steps_fista, m.steps_as, m.randominit, m.robust, m.epsilon) == (3, 100, False, False, 1e-3)
    r1 = aa_solve(Y, 3, steps_fista=1, steps_as=3, randominit=True, seed=5)
    r2 = aa_solve(Y, 3, steps_fista=1, steps_as=3, randominit=True, seed=5)
    r3 = aa_solve(Y, 3, steps_fista=1, steps_as=3, randominit=True, seed=6)
    assert np.array_equal(r1[0], r2[0]) and np.array_equal(r1[1], r2[1])
    assert r1[2]["init_pixels"] != r3[2]["init_pixels"]
    assert aa_solve(Y, 3, steps_fista=0, steps_as=1)[2]["init_pixels"] == [0, 1, 2]   # SPAMS' start
    rob = AA(robust=True, steps_as=5, dtype="float64").unmix(Y, 3)
    assert _on_simplex(rob.abundances, 0, 1e-9) and _on_simplex(rob.info["B"], 0, 1e-9)


def test_aa_parameter_validation(scene) -> None:
    Y = scene[0]
    with pytest.raises(ParameterError):
        AA(steps_as=-1)
    with pytest.raises(ParameterError):
        AA(steps_fista=0, steps_as=0).unmix(Y, 3)
    with pytest.raises(ParameterError):
        AA(robust=True, epsilon=0.0).unmix(Y, 3)
    with pytest.raises(InputError):
        AA().unmix(Y, 1)
    with pytest.raises(InputError):
        AA().unmix(Y[:2], 3)
    assert get_method("aa", task="blind") is AA and get_method("edaa", task="blind") is EDAA


# ---- EDAA -------------------------------------------------------------------------------------

def test_edaa_recovers_pure_pixel_endmembers(scene) -> None:
    Y, E, A = scene
    res = EDAA(T=300, M=10, device="cpu", dtype="float64").unmix(Y, 3)
    rec = evaluate_unmixing(E_true=E, A_true=A, E_est=res.endmembers, A_est=res.abundances)
    assert rec["sad_mean_deg"] < 1.0
    B = res.info["B"]
    assert _on_simplex(res.abundances, 0, 1e-9) and _on_simplex(B, 0, 1e-9)
    assert np.allclose(res.endmembers, Y @ B, atol=1e-9)


def test_edaa_model_selection_and_determinism(scene) -> None:
    Y = scene[0]
    kw = {"T": 30, "M": 6, "device": "cpu"}
    r1, r2 = EDAA(**kw).unmix(Y, 3), EDAA(**kw).unmix(Y, 3)
    assert np.array_equal(r1.abundances, r2.abundances) and np.array_equal(r1.endmembers, r2.endmembers)
    assert not np.array_equal(r1.endmembers, EDAA(**kw, seed=100).unmix(Y, 3).endmembers)
    # restart m with seed s draws with m + s: seed 1's first restart is seed 0's second
    r3 = EDAA(**kw, seed=1).unmix(Y, 3)
    assert np.isclose(r3.info["fit_l1"][0], r1.info["fit_l1"][1], rtol=1e-5)
    assert r1.info["step_factors"] == [2.0 ** np.random.RandomState(m).randint(-3, 4) for m in range(6)]
    # the selected restart: within 5 % of the best l1 fit, least correlated endmembers among those
    fit, corr = np.asarray(r1.info["fit_l1"]), np.asarray(r1.info["max_correlation"])
    k = r1.info["selected_restart"]
    ok = np.abs(fit - fit.min()) / fit < 0.05
    assert ok[k] and corr[k] == corr[ok].min()
    assert np.isclose(np.abs(Y - r1.endmembers @ r1.abundances).sum(), fit[k], rtol=1e-3)
    # restart batching does not change the result
    rb = EDAA(**kw, restart_batch=4).unmix(Y, 3)
    assert rb.info["selected_restart"] == k and np.allclose(rb.endmembers, r1.endmembers, atol=1e-4)


def test_select_restart_prefers_decorrelated_among_good_fits() -> None:
    fit = np.array([100.0, 103.0, 140.0, 101.0, np.nan])
    corr = np.array([0.99, 0.95, 0.10, 0.97, 0.0])
    assert select_restart(fit, corr) == 1          # restart 2 fits too badly, 4 diverged
    assert select_restart(fit, corr, fit_tol=0.0) == 0
    assert select_restart(np.array([0.0, 1.0]), np.array([0.5, 0.1])) == 0


def test_edaa_parameter_validation(scene) -> None:
    Y = scene[0]
    for bad in ({"M": 0}, {"T": 0}, {"K1": 0}, {"device": "tpu"}, {"dtype": "float16"}):
        with pytest.raises(ParameterError):
            EDAA(**bad)
    m = EDAA()
    assert (m.T, m.K1, m.K2, m.M, m.dtype) == (100, 5, 5, 50, "float32")
    with pytest.raises(InputError):
        EDAA(M=1, T=1).unmix(Y, 500)
