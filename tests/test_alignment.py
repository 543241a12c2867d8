"""Tests for hysupp.metrics.alignment (Hungarian matching by SAD or by abundance distance)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hysupp.errors import InputError, ParameterError
from hysupp.metrics import Alignment, align, alignment_cost_matrix


def _problem(p=4, L=10, N=50, seed=0):
    rng = np.random.default_rng(seed)
    E = rng.random((L, p)) + 0.05
    A = rng.dirichlet(np.ones(p), N).T
    return E, A


def _inverse(perm):
    # est order perm[j] = true index of estimate j  ->  permutation[i] = j with perm[j] == i
    return tuple(int(j) for j in np.argsort(perm))


@pytest.mark.parametrize("by", ["sad", "abundances"])
def test_recovers_known_permutation(by):
    E, A = _problem()
    perm = [2, 3, 0, 1]
    rng = np.random.default_rng(1)
    # rescaled, slightly noisy estimate in a shuffled order
    E_hat = 2.5 * E[:, perm] + 0.01 * rng.random((E.shape[0], 4))
    A_hat = A[perm] + 0.01 * rng.random((4, A.shape[1]))
    al = align(E, E_hat, A, A_hat, by=by)
    assert al.criterion == by
    assert al.permutation == _inverse(perm) == (2, 3, 0, 1)
    assert al.is_complete and al.unmatched_true == () and al.unmatched_est == ()
    np.testing.assert_allclose(al.apply_endmembers(E_hat), E_hat[:, [2, 3, 0, 1]])
    np.testing.assert_allclose(al.apply_abundances(A_hat), A_hat[[2, 3, 0, 1]])
    # the aligned estimate is close to the truth
    np.testing.assert_allclose(al.apply_abundances(A_hat), A, atol=0.011)


def test_exact_permutation_has_zero_cost_and_roundtrips():
    E, A = _problem(p=3)
    perm = [1, 2, 0]
    al = align(E, E[:, perm], by="sad")
    assert al.permutation == (2, 0, 1)
    assert al.cost == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(al.apply_endmembers(E[:, perm]), E)
    al = align(None, None, A, A[perm], by="abundances")
    assert al.cost == 0.0
    np.testing.assert_array_equal(al.apply_abundances(A[perm]), A)
    # (p, H, W) maps keep their trailing shape
    maps = A.reshape(3, 5, 10)
    np.testing.assert_array_equal(al.apply_abundances(maps[perm]), maps)


def test_sad_cost_golden():
    # true [1,0], [0,1]; estimates [1,1] and [0,1]: best pairing (0->[1,1]: 45°, 1->[0,1]: 0°)
    # total 45°, against 90° + 45° for the other pairing
    al = align(np.eye(2), np.array([[1.0, 0.0], [1.0, 1.0]]), by="sad")
    assert al.permutation == (0, 1)
    assert al.cost == pytest.approx(45.0, abs=1e-12)
    assert al.pair_costs == pytest.approx((45.0, 0.0), abs=1e-12)


def test_abundance_cost_is_euclidean_not_squared():
    # HySUPP's AbundancesAligner minimises the sum of *Euclidean* distances between abundance rows.
    # Rows (N = 2): a1 = b1 = (0, 0); a2 = (6, 0); b2 on the circle of radius 6 with |a2 - b2| = 10
    # (chord 10 = 2*6*sin(d/2) -> d = 2 asin(5/6)).
    #   identity: d11 + d22 = 0 + 10 = 10   (squared: 0 + 100 = 100)
    #   swap:     d12 + d21 = 6 + 6  = 12   (squared: 36 + 36 = 72)
    # Sum of distances picks the identity; sum of squared distances would pick the swap.
    d = 2 * math.asin(5 / 6)
    A = np.array([[0.0, 0.0], [6.0, 0.0]])
    A_hat = np.array([[0.0, 0.0], [6 * math.cos(d), 6 * math.sin(d)]])
    C = alignment_cost_matrix(A_true=A, A_est=A_hat, by="abundances")
    np.testing.assert_allclose(C, [[0.0, 6.0], [6.0, 10.0]], atol=1e-12)
    al = align(A_true=A, A_est=A_hat, by="abundances")
    assert al.permutation == (0, 1)
    assert al.cost == pytest.approx(10.0, abs=1e-12)


def test_more_estimates_than_truth():
    E, A = _problem(p=3)
    rng = np.random.default_rng(5)
    extra = rng.random((E.shape[0], 2)) + 0.05
    E_hat = np.hstack([extra[:, :1], E[:, [2, 0, 1]], extra[:, 1:]])   # 5 estimates
    al = align(E, E_hat, by="sad")
    assert (al.n_true, al.n_est) == (3, 5)
    assert al.permutation == (2, 3, 1)
    assert al.unmatched_est == (0, 4) and al.unmatched_true == ()
    np.testing.assert_array_equal(al.apply_endmembers(E_hat), E)


def test_fewer_estimates_than_truth():
    E, A = _problem(p=4)
    A_hat = A[[3, 1]]                        # 2 estimates: true 3 and true 1
    al = align(A_true=A, A_est=A_hat, by="abundances")
    assert al.permutation == (-1, 1, -1, 0)
    assert al.unmatched_true == (0, 2) and not al.is_complete
    assert al.true_index.tolist() == [1, 3] and al.est_index.tolist() == [1, 0]
    np.testing.assert_array_equal(al.apply_abundances(A_hat), al.select_true_abundances(A))
    filled = al.apply_abundances(A_hat, fill=np.nan)
    assert filled.shape == A.shape
    assert np.isnan(filled[[0, 2]]).all()
    np.testing.assert_array_equal(filled[[1, 3]], A[[1, 3]])
    assert math.isnan(al.pair_costs[0]) and al.pair_costs[1] == 0.0
    d = al.to_dict()
    json.dumps(d)
    assert d["permutation"] == [-1, 1, -1, 0] and d["unmatched_true"] == [0, 2]
    assert d["pair_costs"][0] is None


def test_zero_spectrum_estimate_is_matched_last():
    E = np.eye(3)
    E_hat = np.array([[0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    # est 0 is all zero (angle undefined -> NaN cost); the others match true 1, 0, 2 exactly
    al = align(E, E_hat, by="sad")
    assert al.permutation == (2, 1, 3)
    assert al.unmatched_est == (0,)
    assert al.cost == pytest.approx(0.0, abs=1e-12)


def test_errors():
    E, A = _problem(p=3)
    with pytest.raises(InputError, match="needs both E_true and E_est"):
        align(None, None, A, A, by="sad")
    with pytest.raises(InputError, match="needs both A_true and A_est"):
        align(E, E, by="abundances")
    with pytest.raises(ParameterError, match="by must be"):
        align(E, E, by="mse")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"bands.*E_true \(10, 3\).*E_est \(9, 3\)"):
        align(E, E[:-1], by="sad")
    with pytest.raises(InputError, match="E_true has 3 endmembers .* A_true has 2 rows"):
        align(E, E, A[:2], A, by="sad")
    with pytest.raises(InputError, match="pixels"):
        align(A_true=A, A_est=A[:, :-1], by="abundances")
    al = align(E, E, by="sad")
    with pytest.raises(InputError, match="E_est has 2 columns"):
        al.apply_endmembers(E[:, :2])
    with pytest.raises(InputError, match="A_est has 2 rows"):
        al.apply_abundances(A[:2])


def test_alignment_is_a_plain_value():
    al = Alignment(permutation=(1, 0), criterion="sad", cost=0.0, pair_costs=(0.0, 0.0),
                   n_true=2, n_est=2)
    assert al == align(np.eye(2), np.eye(2)[:, ::-1])


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7), st.integers(0, 2**32 - 1), st.data())
def test_random_permutations_are_recovered(p, seed, data):
    rng = np.random.default_rng(seed)
    E = rng.random((12, p)) + 0.05
    A = rng.dirichlet(np.ones(p), 30).T
    perm = data.draw(st.permutations(range(p)))
    scale = rng.uniform(0.5, 2.0, p)
    for by in ("sad", "abundances"):
        al = align(E, E[:, perm] * scale, A, A[perm], by=by)
        assert al.permutation == _inverse(perm)
        np.testing.assert_allclose(al.apply_endmembers(E[:, perm] * scale),
                                   E * scale[np.array(_inverse(perm))])
