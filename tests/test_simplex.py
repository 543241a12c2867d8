"""Euclidean projection onto the probability simplex (hysupp.optim.project_simplex)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hysupp.optim import project_simplex


def _brute_force(x: np.ndarray) -> np.ndarray:
    """Projection by enumerating supports: on support S, a_S = x_S - (sum x_S - 1)/|S|."""
    p = x.size
    best, best_d = None, np.inf
    for k in range(1, p + 1):
        for S in itertools.combinations(range(p), k):
            S = list(S)
            a = np.zeros(p)
            a[S] = x[S] - (x[S].sum() - 1.0) / k
            if (a >= -1e-12).all():
                d = np.sum((a - x) ** 2)
                if d < best_d:
                    best, best_d = a, d
    return best


def test_known_values():
    X = np.array([[0.5, 2.0, 0.2], [0.5, 0.0, 0.3], [1.0, -1.0, 0.5]])
    expected = np.array([[1 / 6, 1.0, 0.2], [1 / 6, 0.0, 0.3], [2 / 3, 0.0, 0.5]])
    np.testing.assert_allclose(project_simplex(X), expected, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_on_simplex_and_dtype(dtype):
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((7, 1000)) * 3).astype(dtype)
    P = project_simplex(X)
    assert P.dtype == dtype and P.shape == X.shape
    assert (P >= 0).all()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(P.sum(axis=0), 1.0, atol=tol)


def test_integer_input_is_float64():
    P = project_simplex(np.array([3, 0, 0]))
    assert P.dtype == np.float64
    np.testing.assert_array_equal(P, [1.0, 0.0, 0.0])


def test_idempotent_on_simplex_points():
    rng = np.random.default_rng(1)
    A = rng.dirichlet(np.ones(6), 500).T
    A[:, :50] = np.eye(6)[:, rng.integers(0, 6, 50)]        # vertices
    drop = rng.random(A.shape) < 0.3
    drop[A.argmax(axis=0), np.arange(A.shape[1])] = False      # keep every column non-zero
    A[drop] = 0                                                # points on faces
    A /= A.sum(axis=0)
    np.testing.assert_allclose(project_simplex(A), A, atol=1e-15)


def test_matches_brute_force():
    rng = np.random.default_rng(2)
    for _ in range(200):
        p = int(rng.integers(1, 7))
        x = rng.standard_normal(p) * rng.choice([0.1, 1.0, 10.0])
        np.testing.assert_allclose(project_simplex(x), _brute_force(x), atol=1e-12)


def test_optimality_variational_inequality():
    # P(x) is the projection iff <x - P(x), z - P(x)> <= 0 for every z in the simplex
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 300)) * 2
    P = project_simplex(X)
    for _ in range(20):
        Z = rng.dirichlet(np.ones(5) * 0.5, X.shape[1]).T
        assert (np.sum((X - P) * (Z - P), axis=0) <= 1e-12).all()


def test_axis_and_radius():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 8, 4))
    P1 = project_simplex(X, axis=1, radius=2.5)
    P0 = project_simplex(np.moveaxis(X, 1, 0), axis=0, radius=2.5)
    np.testing.assert_allclose(P1, np.moveaxis(P0, 0, 1))
    np.testing.assert_allclose(P1.sum(axis=1), 2.5)
    np.testing.assert_allclose(project_simplex(X.T, axis=-1), project_simplex(X.T.copy(), axis=2))


def test_ties_and_constant_vectors():
    P = project_simplex(np.full((4, 3), 7.0))
    np.testing.assert_allclose(P, 0.25)
    P = project_simplex(np.array([1.0, 1.0, -5.0]))
    np.testing.assert_allclose(P, [0.5, 0.5, 0.0])


def test_bad_arguments():
    with pytest.raises(ValueError):
        project_simplex(np.ones(3), radius=0)
    with pytest.raises(ValueError):
        project_simplex(np.float64(1.0))
