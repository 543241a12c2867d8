"""Exact batched FCLS (hysupp.optim.fcls) and the registered FCLS method."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.optim import fcls, fcls_kkt_violation
from hysupp.unmixing.supervised.fcls import FCLS


def _reference_fcls(y: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Exact FCLS by enumeration: solve the equality-constrained LS on every support with
    affinely independent endmembers, keep the feasible one with the lowest objective."""
    p = E.shape[1]
    best, best_f = None, np.inf
    for k in range(1, p + 1):
        for S in itertools.combinations(range(p), k):
            S = list(S)
            K = np.zeros((k + 1, k + 1))
            K[:k, :k] = E[:, S].T @ E[:, S]
            K[:k, k] = K[k, :k] = 1.0
            if np.linalg.cond(K) > 1e10:
                continue
            sol = np.linalg.solve(K, np.r_[E[:, S].T @ y, 1.0])
            if (sol[:k] >= -1e-12).all():
                a = np.zeros(p)
                a[S] = np.maximum(sol[:k], 0)
                f = 0.5 * np.sum((y - E @ a) ** 2)
                if f < best_f:
                    best, best_f = a, f
    return best


def _objective(Y, E, A):
    return 0.5 * np.sum((Y - E @ A) ** 2, axis=0)


def _sparse_abundances(rng, p, N, zero_frac=0.5):
    A = rng.dirichlet(np.ones(p), N).T
    drop = rng.random((p, N)) < zero_frac
    drop[rng.integers(0, p, N), np.arange(N)] = False
    A[drop] = 0
    A /= A.sum(axis=0)
    A[:, : min(p, N)] = np.eye(p)[:, : min(p, N)]      # some vertices too
    return A


@pytest.mark.parametrize("init", ["projection", "vertex"])
@pytest.mark.parametrize("p", [3, 5, 8, 10])
def test_noise_free_exact_recovery(p, init):
    rng = np.random.default_rng(p)
    E = rng.random((60, p))
    A_true = _sparse_abundances(rng, p, 400)
    A, info = fcls(E @ A_true, E, dtype=np.float64, init=init)
    np.testing.assert_allclose(A, A_true, atol=1e-6)
    assert info["n_not_converged"] == 0
    assert info["kkt_violation_relative"] < 1e-10


@pytest.mark.parametrize("init", ["projection", "vertex"])
def test_matches_exact_reference(init):
    rng = np.random.default_rng(10)
    for trial in range(12):
        L, p, N = int(rng.integers(4, 25)), int(rng.integers(2, 7)), 25
        E = rng.random((L, p))
        Y = rng.random((L, N)) * 1.3                        # arbitrary pixels: many active sets
        A, info = fcls(Y, E, dtype=np.float64, init=init)
        A_ref = np.stack([_reference_fcls(Y[:, j], E) for j in range(N)], axis=1)
        np.testing.assert_allclose(A, A_ref, atol=1e-6, err_msg=f"trial {trial}, L={L}, p={p}")
        assert info["kkt_violation_relative"] < 1e-10


def test_kkt_tiny_on_noisy_data_and_certificate():
    rng = np.random.default_rng(3)
    E = rng.random((100, 8)) + 0.2 * np.linspace(0, 1, 100)[:, None]
    A_true = _sparse_abundances(rng, 8, 3000)
    Y = E @ A_true
    Y += rng.standard_normal(Y.shape) * np.sqrt(np.mean(Y ** 2) / 10 ** 2.5)   # 25 dB
    A, info = fcls(Y, E, dtype=np.float64)
    kkt = fcls_kkt_violation(Y, E, A)
    assert kkt["relative"] < 1e-10
    assert kkt["absolute"] == pytest.approx(info["kkt_violation"])
    assert info["kkt_violation_float64"] == info["kkt_violation"]
    # the certificate rejects non-optimal points
    U = np.full_like(A, 1 / 8)
    assert fcls_kkt_violation(Y, E, U)["relative"] > 1e-3
    B = A.copy()
    B[0] -= 0.01
    bad = fcls_kkt_violation(Y, E, B)
    assert bad["sum_to_one"] == pytest.approx(0.01) and bad["negativity"] > 0


def test_lower_objective_than_perturbations():
    rng = np.random.default_rng(4)
    E = rng.random((30, 5))
    Y = rng.random((30, 200))
    A, _ = fcls(Y, E, dtype=np.float64)
    f = _objective(Y, E, A)
    from hysupp.optim import project_simplex
    for _ in range(10):
        Z = project_simplex(A + 0.01 * rng.standard_normal(A.shape))
        assert (_objective(Y, E, Z) >= f - 1e-12).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", "float64"])
def test_output_dtypes(dtype):
    rng = np.random.default_rng(5)
    E = rng.random((40, 4)).astype(np.float32)
    Y = (E @ rng.dirichlet(np.ones(4), 300).T).astype(np.float32)
    A, info = fcls(Y, E, dtype=dtype)
    assert A.dtype == np.dtype(dtype) and A.shape == (4, 300)
    assert info["dtype"] == str(np.dtype(dtype))
    assert (A >= 0).all()
    assert info["kkt_violation_float64_relative"] < 1e-10
    assert info["kkt_violation_relative"] < (1e-6 if np.dtype(dtype) == np.float32 else 1e-10)


def test_single_endmember_and_single_pixel():
    rng = np.random.default_rng(6)
    Y = rng.random((10, 50))
    A, info = fcls(Y, rng.random((10, 1)))
    np.testing.assert_array_equal(A, np.ones((1, 50), dtype=np.float32))
    a, _ = fcls(Y[:, 0], rng.random((10, 3)), dtype=np.float64)
    assert a.shape == (3,) and a.sum() == pytest.approx(1.0)


def test_more_endmembers_than_bands_and_collinear():
    rng = np.random.default_rng(7)
    for L, p in [(3, 8), (2, 5), (6, 6)]:
        E = rng.random((L, p))
        E[:, 1] = E[:, 0]                                   # exact duplicate column too
        Y = rng.random((L, 40))
        A, info = fcls(Y, E, dtype=np.float64)
        assert info["n_not_converged"] == 0
        assert (A >= 0).all() and np.allclose(A.sum(axis=0), 1.0)
        A_ref = np.stack([_reference_fcls(Y[:, j], E) for j in range(Y.shape[1])], axis=1)
        np.testing.assert_allclose(_objective(Y, E, A), _objective(Y, E, A_ref), atol=1e-10)
        assert info["kkt_violation_relative"] < 1e-9


def test_ill_conditioned_endmembers():
    rng = np.random.default_rng(8)
    E = rng.random((50, 5))
    E[:, 1] = E[:, 0] + 1e-5 * rng.standard_normal(50)     # nearly collinear: cond(K) ~ 1e10
    Y = rng.random((50, 60))
    A, info = fcls(Y, E, dtype=np.float64)
    assert info["n_ill_conditioned"] > 0
    assert info["kkt_violation_relative"] < 1e-9
    A_ref = np.stack([_reference_fcls(Y[:, j], E) for j in range(Y.shape[1])], axis=1)
    assert (_objective(Y, E, A) <= _objective(Y, E, A_ref) + 1e-10).all()


def test_many_endmembers_sparse_path():
    rng = np.random.default_rng(9)
    E = rng.random((80, 40))                                # p > 32: per-index application
    Y = E @ _sparse_abundances(rng, 40, 100, zero_frac=0.9)
    Y += 0.01 * rng.standard_normal(Y.shape)
    A, info = fcls(Y, E, dtype=np.float64)
    assert info["n_not_converged"] == 0
    assert info["kkt_violation_relative"] < 1e-9


def test_more_than_64_endmembers():
    rng = np.random.default_rng(19)
    E = rng.random((90, 70))                                # keys are no longer bit patterns
    Y = E @ _sparse_abundances(rng, 70, 60, zero_frac=0.95) + 0.01 * rng.standard_normal((90, 60))
    for init in ("projection", "vertex"):
        A, info = fcls(Y, E, dtype=np.float64, init=init)
        assert info["n_not_converged"] == 0
        assert info["kkt_violation_relative"] < 1e-9


def test_threads_and_blocks_give_the_same_results():
    rng = np.random.default_rng(11)
    E = rng.random((30, 6))
    Y = rng.random((30, 2000))
    A1, i1 = fcls(Y, E, dtype=np.float64)
    A2, i2 = fcls(Y, E, dtype=np.float64, n_threads=2, block=300, chunk=77)
    np.testing.assert_allclose(A1, A2, rtol=0, atol=1e-12)   # group sizes differ: rounding only
    assert i2["kkt_violation_relative"] < 1e-10


def test_iteration_cap_reports_and_stays_feasible():
    rng = np.random.default_rng(12)
    E = rng.random((30, 8))
    Y = E @ rng.dirichlet(np.ones(8), 200).T
    A, info = fcls(Y, E, dtype=np.float64, init="vertex", max_iter=2)
    assert info["n_not_converged"] > 0
    assert info["not_converged"].size == info["n_not_converged"]
    assert (A >= 0).all() and np.allclose(A.sum(axis=0), 1.0)


def test_info_fields():
    rng = np.random.default_rng(13)
    E = rng.random((20, 4))
    _, info = fcls(rng.random((20, 100)), E)
    for key in ("iterations", "n_solves", "n_group_solves", "max_groups", "n_patterns", "kkt_violation",
                "kkt_violation_relative", "kkt_scale", "tol", "max_iter", "dtype", "wall_time"):
        assert key in info
    assert info["kkt_scale"] == pytest.approx(np.max(np.sum(E ** 2, axis=0)))
    assert info["max_iter"] == 10 * 4 + 50


def test_empty_pixel_set():
    A, info = fcls(np.zeros((5, 0)), np.ones((5, 2)))
    assert A.shape == (2, 0) and info["iterations"] == 0


def test_kernel_input_errors():
    rng = np.random.default_rng(14)
    E = rng.random((10, 3))
    with pytest.raises(InputError, match="bands"):
        fcls(rng.random((11, 5)), E)
    Y = rng.random((10, 5))
    Y[2, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        fcls(Y, E)
    with pytest.raises(InputError):
        fcls(rng.random((10, 5)), np.full((10, 3), np.inf))
    with pytest.raises(ParameterError):
        fcls(rng.random((10, 5)), E, dtype=np.int32)
    with pytest.raises(ParameterError):
        fcls(rng.random((10, 5)), E, tol=-1.0)
    with pytest.raises(ParameterError):
        fcls(rng.random((10, 5)), E, max_iter=0)
    with pytest.raises(InputError):
        fcls_kkt_violation(rng.random((10, 5)), E, np.ones((3, 4)))


def test_registered_method():
    cls = get_method("fcls")
    assert cls is FCLS and cls.name == "FCLS" and cls.task == "supervised"
    assert {p.name for p in cls.params} >= {"tol", "max_iter", "dtype"}
    assert "10.1109/36.911111" in cls.reference
    rng = np.random.default_rng(15)
    E = rng.random((25, 4))
    A_true = rng.dirichlet(np.ones(4), 100).T
    res = cls(dtype="float64").unmix(E @ A_true, E)
    np.testing.assert_allclose(res.abundances, A_true, atol=1e-8)
    assert res.endmembers.shape == (25, 4)
    for key in ("wall_time", "iterations", "kkt_violation", "dtype"):
        assert key in res.info
    assert res.info["dtype"] == "float64"
    assert cls().unmix(E @ A_true, E).abundances.dtype == np.float32


def test_method_input_errors():
    rng = np.random.default_rng(16)
    E = rng.random((10, 3))
    with pytest.raises(InputError):
        FCLS().unmix(rng.random((12, 20)), E)
    Y = rng.random((10, 20))
    Y[:, 4] = np.nan
    with pytest.raises(InputError):
        FCLS().unmix(Y, E)
    with pytest.raises(ParameterError):
        FCLS(dtype="float16")


def test_zero_tolerance_is_floored_at_rounding_level():
    # noise-free pixels on faces of the simplex: every multiplier of an absent endmember is zero,
    # so tol=0 would let rounding noise decide (and cycle); the floor keeps it finite
    rng = np.random.default_rng(17)
    E = rng.random((40, 6))
    A_true = _sparse_abundances(rng, 6, 2000, zero_frac=0.6)
    for init in ("projection", "vertex"):
        A, info = fcls(E @ A_true, E, dtype=np.float64, tol=0.0, init=init)
        assert info["tol"] > 0 and info["n_not_converged"] == 0
        assert np.isfinite(A).all()
        np.testing.assert_allclose(A, A_true, atol=1e-12)


def test_degenerate_entries_without_floor(monkeypatch):
    # with the floor removed and tol=0, variables enter on rounding noise and are rejected at
    # once (degenerate steps): the result must stay finite, feasible and correct
    import sys
    monkeypatch.setattr(sys.modules["hysupp.optim.fcls"], "MIN_RTOL", 0.0)
    rng = np.random.default_rng(18)
    E = rng.random((40, 6))
    A_true = _sparse_abundances(rng, 6, 1000, zero_frac=0.6)
    A, info = fcls(E @ A_true, E, dtype=np.float64, tol=0.0, max_iter=30)
    assert info["n_degenerate"] > 0
    assert np.isfinite(A).all() and (A >= 0).all()
    np.testing.assert_allclose(A, A_true, atol=1e-12)
