"""Golden and property tests for hysupp.metrics.unmixing and evaluate_unmixing.

Golden values are computed by hand in the comments; conventions follow HySUPP (aRMSE/eRMSE x100,
global averaging; SAD in degrees, mean over endmembers; SRE in dB over the whole matrix).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hysupp.errors import InputError, ParameterError
from hysupp.metrics import (
    armse,
    embed_library_abundances,
    ermse,
    evaluate_unmixing,
    library_sre,
    reconstruction_rmse,
    sad,
    sad_matrix,
    sre,
)

# ---------------------------------------------------------------------------- SRE


def test_sre_golden_ten_percent_scaling():
    # ||A||^2 = 2; A - 0.9A = 0.1A -> ||.||^2 = 0.02; 10 log10(2 / 0.02) = 10 log10(100) = 20 dB
    A = np.eye(2)
    assert sre(A, 0.9 * A) == pytest.approx(20.0, abs=1e-12)


def test_sre_golden_single_entry_error():
    # A = [[3, 4]] -> ||A||^2 = 25; estimate [[3, 3]] -> error^2 = 1; 10 log10(25) = 13.9794000867 dB
    assert sre([[3.0, 4.0]], [[3.0, 3.0]]) == pytest.approx(13.979400086720377, abs=1e-12)


def test_sre_matches_20log10_norm_ratio_form():
    # HySUPP writes 20 log10(||A||_F / ||A - Â||_F): same number
    rng = np.random.default_rng(0)
    A, Ah = rng.random((4, 30)), rng.random((4, 30))
    expected = 20 * np.log10(np.linalg.norm(A) / np.linalg.norm(A - Ah))
    assert sre(A, Ah) == pytest.approx(expected, rel=1e-12)


def test_sre_exact_is_inf_and_zero_truth_is_minus_inf():
    A = np.array([[0.2, 0.8], [0.8, 0.2]])
    assert sre(A, A) == math.inf
    assert sre(np.zeros((2, 2)), np.zeros((2, 2))) == math.inf
    assert sre(np.zeros((2, 2)), A) == -math.inf


def test_sre_accepts_maps_and_matrices_alike():
    rng = np.random.default_rng(1)
    A, Ah = rng.random((3, 4, 5)), rng.random((3, 4, 5))
    assert sre(A, Ah) == sre(A.reshape(3, 20), Ah.reshape(3, 20))
    assert sre(A, Ah.reshape(3, 20)) == sre(A.reshape(3, 20), Ah)


def test_sre_shape_mismatch_names_arrays_and_shapes():
    with pytest.raises(InputError, match=r"A_true.*\(2, 3\).*A_est.*\(3, 3\)"):
        sre(np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(InputError, match="A_true"):
        sre(np.ones(3), np.ones(3))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (3, 6), elements=st.floats(0.01, 1.0)),
       arrays(np.float64, (3, 6), elements=st.floats(0.01, 1.0)),
       st.floats(0.01, 100.0))
def test_sre_invariant_to_common_scaling(A, Ah, c):
    if np.linalg.norm(A - Ah) <= 1e-8 * np.linalg.norm(A):   # equal up to rounding: the error's ulps are not
        return                                               # scale-invariant (hypothesis found 313 vs 315 dB)
    assert sre(c * A, c * Ah) == pytest.approx(sre(A, Ah), rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------------------- aRMSE / eRMSE


def test_armse_golden_hysupp_convention():
    # errors: row 0 none, row 1 (-0.2, +0.2): sum of squares 0.08 over 4 entries
    # global: 100 * sqrt(0.08 / 4) = 100 * sqrt(0.02) = 14.1421356
    A = np.array([[0.5, 0.5], [0.5, 0.5]])
    Ah = np.array([[0.5, 0.5], [0.3, 0.7]])
    assert armse(A, Ah) == pytest.approx(100 * math.sqrt(0.02), rel=1e-12)
    assert armse(A, Ah, scale=1.0) == pytest.approx(math.sqrt(0.02), rel=1e-12)
    # per endmember (rows): 0 and 100 * sqrt(0.08 / 2) = 20
    np.testing.assert_allclose(armse(A, Ah, average=None), [0.0, 20.0], atol=1e-12)
    # mean of per-endmember RMSEs: (0 + 20) / 2 = 10 (differs from the global 14.14)
    assert armse(A, Ah, average="endmember") == pytest.approx(10.0, rel=1e-12)


def test_armse_exact_is_zero_and_bad_average_rejected():
    A = np.full((2, 3), 0.5)
    assert armse(A, A) == 0.0
    with pytest.raises(ParameterError, match="average"):
        armse(A, A, average="pixels")  # type: ignore[arg-type]


def test_ermse_golden():
    # column 0 exact; column 1 off by +0.1, -0.1: 0.02 over 4 entries -> 100 * sqrt(0.005) = 7.0710678
    E = np.array([[0.2, 0.4], [0.2, 0.4]])
    Eh = np.array([[0.2, 0.5], [0.2, 0.3]])
    assert ermse(E, Eh) == pytest.approx(100 * math.sqrt(0.005), rel=1e-12)
    # per endmember (columns): 0 and sqrt(0.02 / 2) = 0.1
    np.testing.assert_allclose(ermse(E, Eh, average=None, scale=1.0), [0.0, 0.1], atol=1e-12)
    assert ermse(E, Eh, average="endmember", scale=1.0) == pytest.approx(0.05, rel=1e-12)


def test_ermse_shape_mismatch():
    with pytest.raises(InputError, match=r"E_true.*\(3, 2\).*E_est.*\(3, 3\)"):
        ermse(np.ones((3, 2)), np.ones((3, 3)))


# ---------------------------------------------------------------------------- SAD


def test_sad_golden_2d_angles():
    # columns: [1,0] vs [1,1] -> 45°; [1,0] vs [0,1] -> 90°; [1,0] vs [-1,0] -> 180°
    E = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    Eh = np.array([[1.0, 0.0, -1.0], [1.0, 1.0, 0.0]])
    np.testing.assert_allclose(sad(E, Eh), [45.0, 90.0, 180.0], atol=1e-12)
    # mean: (45 + 90 + 180) / 3 = 105
    assert sad(E, Eh, reduce="mean") == pytest.approx(105.0, abs=1e-12)


def test_sad_golden_3d_angle():
    # [1,1,1] vs [1,0,0]: cos = 1/sqrt(3) -> arccos = 54.7356103172°
    assert sad([1.0, 1.0, 1.0], [1.0, 0.0, 0.0], reduce="mean") == pytest.approx(
        54.735610317245346, abs=1e-10)


def test_sad_identical_is_exactly_zero_and_tiny_angles_resolved():
    E = np.array([[0.3, 1.0], [0.7, 2.0], [0.1, 0.5]])
    np.testing.assert_array_equal(sad(E, E), [0.0, 0.0])
    # [1, 0] vs [1, 1e-9]: angle = atan(1e-9) = 1e-9 rad = 5.729578e-8 degrees
    # (arccos of the cosine would round to 0 here)
    assert sad([1.0, 0.0], [1.0, 1e-9], reduce="mean") == pytest.approx(math.degrees(1e-9), rel=1e-6)


def test_sad_zero_spectrum_is_nan():
    out = sad(np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.0, 2.0], [0.0, 2.0]]))
    assert math.isnan(out[0]) and out[1] == pytest.approx(0.0, abs=1e-12)


def test_sad_bad_reduce():
    with pytest.raises(ParameterError, match="reduce"):
        sad(np.eye(2), np.eye(2), reduce="sum")  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (5, 3), elements=st.floats(0.01, 10.0)),
       arrays(np.float64, (5, 3), elements=st.floats(0.01, 10.0)),
       arrays(np.float64, (3,), elements=st.floats(1e-3, 1e3)),
       arrays(np.float64, (3,), elements=st.floats(1e-3, 1e3)))
def test_sad_invariant_to_positive_column_scaling(E, Eh, s, t):
    angles = sad(E, Eh)
    np.testing.assert_allclose(sad(E * s, Eh * t), angles, atol=1e-9)
    # symmetric, within [0, 180], and agrees with the textbook arccos formula
    np.testing.assert_allclose(sad(Eh, E), angles, atol=1e-9)
    assert np.all((angles >= 0) & (angles <= 180))
    cos = np.sum(E * Eh, 0) / (np.linalg.norm(E, axis=0) * np.linalg.norm(Eh, axis=0))
    np.testing.assert_allclose(angles, np.degrees(np.arccos(np.clip(cos, -1, 1))), atol=1e-5)


def test_sad_matrix_golden():
    # true [1,0],[0,1]; estimates [0,1],[1,0],[1,1]
    M = sad_matrix(np.eye(2), np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]))
    np.testing.assert_allclose(M, [[90.0, 0.0, 45.0], [0.0, 90.0, 45.0]], atol=1e-12)
    with pytest.raises(InputError, match="bands"):
        sad_matrix(np.eye(2), np.eye(3))


# ---------------------------------------------------------------------------- reconstruction


def test_reconstruction_rmse_golden_and_cube_input():
    # Y - E A = [[0, 0], [0, 2]] -> sqrt(4 / 4) = 1
    Y = np.array([[1.0, 2.0], [3.0, 4.0]])
    A = np.array([[1.0, 2.0], [3.0, 2.0]])
    assert reconstruction_rmse(Y, np.eye(2), A) == 1.0
    assert reconstruction_rmse(Y.reshape(2, 1, 2), np.eye(2), A.reshape(2, 1, 2)) == 1.0
    assert reconstruction_rmse(Y, np.eye(2), Y) == 0.0


def test_reconstruction_rmse_errors_name_shapes():
    with pytest.raises(InputError, match=r"E has 3 bands but Y has 2"):
        reconstruction_rmse(np.ones((2, 4)), np.ones((3, 2)), np.ones((2, 4)))
    with pytest.raises(InputError, match=r"E has 2 columns but A has 3 rows"):
        reconstruction_rmse(np.ones((2, 4)), np.ones((2, 2)), np.ones((3, 4)))
    with pytest.raises(InputError, match=r"A has 5 pixels but Y has 4"):
        reconstruction_rmse(np.ones((2, 4)), np.ones((2, 2)), np.ones((2, 5)))


# ---------------------------------------------------------------------------- library-based


def test_library_sre_golden():
    # truth: one atom (library column 1) with abundances [1, 0]
    # estimate: row 1 exact -> SRE on index rows = inf; row 0 has a stray 0.1
    # full: ||X||^2 = 1, error^2 = 0.01 -> 10 log10(100) = 20 dB
    A = np.array([[1.0, 0.0]])
    X_hat = np.array([[0.0, 0.1], [1.0, 0.0], [0.0, 0.0]])
    out = library_sre(A, X_hat, [1])
    assert out["sre_index"] == math.inf
    assert out["sre_full"] == pytest.approx(20.0, abs=1e-12)
    # the full truth in library order gives the same numbers
    assert library_sre(embed_library_abundances(A, [1], 3), X_hat, [1]) == out


def test_library_sre_index_order_matters():
    # truth rows follow index order: A[0] is atom 2, A[1] is atom 0
    A = np.array([[1.0, 0.0], [0.0, 1.0]])
    X = embed_library_abundances(A, [2, 0], 4)
    np.testing.assert_array_equal(X, [[0, 1], [0, 0], [1, 0], [0, 0]])
    assert library_sre(A, X, [2, 0]) == {"sre_index": math.inf, "sre_full": math.inf}
    assert library_sre(A, X, [0, 2])["sre_index"] < 0  # swapped atoms are wrong


def test_library_sre_errors():
    A, X = np.ones((2, 3)), np.ones((4, 3))
    with pytest.raises(InputError, match="repeated"):
        library_sre(A, X, [1, 1])
    with pytest.raises(InputError, match=r"\[0, 3\]"):
        library_sre(A, X, [0, 4])
    with pytest.raises(InputError, match="empty"):
        library_sre(A, X, [])
    with pytest.raises(InputError, match="rows"):
        library_sre(np.ones((3, 3)), X, [0, 1])
    # p == M and a non-trivial permutation: truth layout is ambiguous -> refuse to guess
    with pytest.raises(InputError, match="ambiguous"):
        library_sre(np.eye(2), np.eye(2), [1, 0])


# ---------------------------------------------------------------------------- evaluate_unmixing


def _toy(p=3, L=6, N=40, seed=0):
    rng = np.random.default_rng(seed)
    E = rng.random((L, p)) + 0.1
    A = rng.dirichlet(np.ones(p), N).T
    return E, A, E @ A


def test_evaluate_unmixing_recovers_permuted_exact_estimate():
    E, A, Y = _toy()
    perm = [2, 0, 1]
    for by in ("sad", "abundances"):
        rec = evaluate_unmixing(Y=Y, E_true=E, A_true=A, E_est=E[:, perm], A_est=A[perm], align_by=by)
        assert rec["alignment"]["criterion"] == by
        # true endmember i is estimate j with perm[j] == i -> [1, 2, 0]
        assert rec["alignment"]["permutation"] == [1, 2, 0]
        assert rec["sre_db"] == math.inf
        assert rec["armse"] == 0.0 and rec["ermse"] == 0.0
        assert rec["sad_mean_deg"] == pytest.approx(0.0, abs=1e-12)
        assert rec["reconstruction_rmse"] == pytest.approx(0.0, abs=1e-12)
        json.dumps(rec)  # serialisable


def test_evaluate_unmixing_values_match_functions():
    E, A, Y = _toy(seed=3)
    rng = np.random.default_rng(4)
    Eh, Ah = E + 0.05 * rng.random(E.shape), np.clip(A + 0.05 * rng.standard_normal(A.shape), 0, 1)
    rec = evaluate_unmixing(Y=Y, E_true=E, A_true=A, E_est=Eh, A_est=Ah)
    assert rec["alignment"]["permutation"] == [0, 1, 2]
    # (reordering by the identity permutation may change the summation order: compare to 1e-12)
    assert rec["sre_db"] == pytest.approx(sre(A, Ah), rel=1e-12)
    assert rec["armse"] == pytest.approx(armse(A, Ah), rel=1e-12)
    assert rec["sad_mean_deg"] == pytest.approx(sad(E, Eh, reduce="mean"), rel=1e-12)
    assert rec["ermse"] == pytest.approx(ermse(E, Eh), rel=1e-12)
    assert rec["reconstruction_rmse"] == pytest.approx(reconstruction_rmse(Y, Eh, Ah), rel=1e-12)
    assert rec["sad_per_endmember_deg"] == pytest.approx(list(sad(E, Eh)))
    assert rec["conventions"]["rmse_scale"] == 100.0
    assert json.loads(json.dumps(rec))["armse"] == rec["armse"]


def test_evaluate_unmixing_falls_back_and_records_it():
    E, A, _ = _toy()
    rec = evaluate_unmixing(A_true=A, A_est=A[[1, 0, 2]])  # align_by="sad" but no endmembers
    assert rec["alignment"]["criterion"] == "abundances"
    assert rec["alignment"]["requested"] == "sad"
    assert rec["alignment"]["permutation"] == [1, 0, 2]
    assert "sad_mean_deg" not in rec and rec["sre_db"] == math.inf


def test_evaluate_unmixing_without_alignment():
    E, A, _ = _toy()
    rec = evaluate_unmixing(E_true=E, E_est=E[:, [1, 0, 2]], align_by=None)
    assert rec["alignment"] is None and rec["sad_mean_deg"] > 0
    with pytest.raises(InputError, match="without alignment"):
        evaluate_unmixing(E_true=E, E_est=E[:, :2], align_by=None)


def test_evaluate_unmixing_rectangular_reports_unmatched():
    E, A, _ = _toy(p=3)
    # only 2 estimates: true 0 and 2, in swapped order -> true 1 unmatched
    rec = evaluate_unmixing(E_true=E, A_true=A, E_est=E[:, [2, 0]], A_est=A[[2, 0]])
    al = rec["alignment"]
    assert al["permutation"] == [1, -1, 0] and al["unmatched_true"] == [1]
    assert rec["sad_per_endmember_deg"][1] is None and rec["armse_per_endmember"][1] is None
    assert rec["sre_db"] == math.inf  # matched pairs only
    json.dumps(rec)


def test_evaluate_unmixing_library_mode():
    # library of 4 atoms, truth = atoms [3, 1]; estimate puts 0.1 on atom 0 in pixel 0
    A = np.array([[0.5, 1.0], [0.5, 0.0]])
    X = embed_library_abundances(A, [3, 1], 4)
    X[0, 0] = 0.1
    rec = evaluate_unmixing(A_true=A, A_est=X, library_index=[3, 1])
    assert rec["sre_db"] == math.inf                       # HySUPP: true atoms' rows only
    # full: ||A||^2 = 1.5, error^2 = 0.01 -> 10 log10(150) = 21.7609125906 dB
    assert rec["sre_full_db"] == pytest.approx(21.760912590556813, abs=1e-10)
    assert rec["armse"] == 0.0
    # full aRMSE: 100 * sqrt(0.01 / 8)
    assert rec["armse_full"] == pytest.approx(100 * math.sqrt(0.01 / 8), rel=1e-12)
    assert rec["alignment"] == {"criterion": "library_index", "permutation": [3, 1]}
    json.dumps(rec)


def test_evaluate_unmixing_shape_errors():
    E, A, Y = _toy()
    with pytest.raises(InputError, match="band counts differ"):
        evaluate_unmixing(Y=Y, E_true=E[:-1], A_true=A)
    with pytest.raises(InputError, match="pixel counts differ"):
        evaluate_unmixing(A_true=A, A_est=A[:, :-1])
    with pytest.raises(InputError, match="E_est has 3 columns but A_est has 2 rows"):
        evaluate_unmixing(E_est=E, A_est=A[:2])
    with pytest.raises(ParameterError, match="align_by"):
        evaluate_unmixing(E_true=E, E_est=E, align_by="spectra")  # type: ignore[arg-type]
