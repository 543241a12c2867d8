"""SUnAA (hysupp.unmixing.semisupervised.sunaa).

Small synthetic scenes (random positive library, 3 true atoms, pure pixels, noise-free). The DC1
parity with HySUPP (T 500) is in benchmarks/bench_sunaa.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from hysupp.errors import InputError, ParameterError
from hysupp.methods.registry import get_method
from hysupp.metrics.unmixing import sad
from hysupp.unmixing.semisupervised.sunaa import SUnAA, _first_copies, sunaa_solve


def _scene(seed: int = 0, L: int = 40, M: int = 30, p: int = 3, N: int = 150):
    rng = np.random.default_rng(seed)
    D = rng.uniform(0.1, 1.0, (L, M))
    idx = np.sort(rng.choice(M, p, replace=False))
    A = rng.dirichlet(np.ones(p), N).T
    A[:, :p] = np.eye(p)  # pure pixels
    return D[:, idx] @ A, D, idx, A


def _match(res, idx):
    """Order of the estimated endmembers matching the true atoms (by the dominant atom of B)."""
    dom = np.argmax(res.library_coefficients, axis=0)
    return [int(np.flatnonzero(dom == i)[0]) for i in idx]


def test_registered():
    assert get_method("sunaa", task="semi-supervised") is SUnAA
    assert SUnAA.needs_p and not SUnAA.spatial
    assert SUnAA().T == 500  # HySUPP config/model/SUnAA.yaml


def test_noise_free_recovery_with_pure_pixels():
    Y, D, idx, A = _scene()
    res = SUnAA(T=300, dtype="float64").unmix(Y, D, p=3)
    assert res.abundances.shape == (3, 150) and res.library_coefficients.shape == (30, 3)
    assert res.endmembers.shape == (40, 3) and not res.over_library
    B = res.library_coefficients
    assert sorted(np.argmax(B, axis=0).tolist()) == idx.tolist()   # B selects the true atoms
    order = _match(res, idx)
    assert B[idx, order].min() > 0.999
    assert sad(D[:, idx], res.endmembers[:, order]).max() < 0.1            # degrees
    np.testing.assert_allclose(res.abundances[order], A, atol=5e-3)
    X = res.library_abundances()
    assert np.abs(np.delete(X, idx, axis=0)).max() < 2e-3
    np.testing.assert_allclose(res.endmembers, D @ B, rtol=1e-12, atol=1e-12)
    obj = np.asarray(res.info["objective"])
    assert obj[-1] < 1e-6 * res.info["objective_initial"]
    assert np.all(np.diff(obj) <= 1e-12 * obj[0])                      # exact block descent: monotone


def test_simplex_invariants_dtype_and_info():
    Y, D, _, _ = _scene(1)
    res = SUnAA(T=5).unmix(Y, D, p=4)
    A, B = res.abundances, res.library_coefficients
    assert A.dtype == np.float32 and B.dtype == np.float32 and res.endmembers.dtype == np.float32
    for Z in (A, B):
        assert Z.min() >= 0
        np.testing.assert_allclose(Z.sum(axis=0), 1, atol=1e-6)
    info = res.info
    assert info["iterations"] == 5 and len(info["objective"]) == 5 and info["fcls_not_converged"] == 0
    assert info["device"] == "cpu" and info["dtype"] == "float32" and info["wall_time"] > 0


def test_objective_matches_definition():
    Y, D, _, _ = _scene(2)
    A, B, info = sunaa_solve(Y, D, 3, T=4, dtype=np.float64)
    assert info["objective"][-1] == pytest.approx(0.5 * np.sum((Y - D @ B @ A) ** 2), rel=1e-10)
    # uniform start: B = 1/M, A = 1/p
    assert info["objective_initial"] == pytest.approx(0.5 * np.sum((Y - D.mean(axis=1, keepdims=True)) ** 2))


def test_deterministic_and_seeded():
    Y, D, _, _ = _scene(3)
    r1 = SUnAA(T=5).unmix(Y, D, p=3)
    r2 = SUnAA(T=5, seed=7).unmix(Y, D, p=3)  # the reference start uses no randomness
    np.testing.assert_array_equal(r1.library_coefficients, r2.library_coefficients)
    np.testing.assert_array_equal(r1.abundances, r2.abundances)
    a = SUnAA(T=5, init="random", seed=1).unmix(Y, D, p=3)
    b = SUnAA(T=5, init="random", seed=1).unmix(Y, D, p=3)
    c = SUnAA(T=5, init="random", seed=2).unmix(Y, D, p=3)
    np.testing.assert_array_equal(a.library_coefficients, b.library_coefficients)
    np.testing.assert_array_equal(a.abundances, b.abundances)
    assert not np.array_equal(a.library_coefficients, c.library_coefficients)


def test_duplicate_endmembers_get_zero_abundance_rows():
    assert _first_copies(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])).tolist() == [0, 1]
    Y, D, _, _ = _scene(4)
    # p larger than the number of distinct materials: copies of an atom may appear; whatever
    # happens, a copy of an earlier column of B has a zero abundance row
    res = SUnAA(T=10, dtype="float64").unmix(Y, D, p=6)
    B, A = res.library_coefficients, res.abundances
    keep = set(_first_copies(B).tolist())
    for j in range(6):
        if j not in keep:
            assert np.all(A[j] == 0)


def test_tol_stops_early():
    Y, D, _, _ = _scene(5)
    res = SUnAA(T=500, tol=0.2).unmix(Y, D, p=3)  # linear rate ~0.9 per iteration here
    assert res.info["stopped_early"] and res.info["iterations"] < 500


def test_parameter_validation():
    Y, D, _, _ = _scene()
    with pytest.raises(ParameterError):
        SUnAA(T=0)
    with pytest.raises(ParameterError):
        SUnAA(init="vca")
    with pytest.raises(ParameterError):
        SUnAA(dtype="float16")
    with pytest.raises(ParameterError):
        SUnAA(tol=-1.0)
    with pytest.raises(InputError):
        SUnAA(T=1).unmix(Y, D)            # p required
    with pytest.raises(InputError):
        SUnAA(T=1).unmix(Y, D, p=31)      # p > M
    with pytest.raises(InputError):
        SUnAA(T=1).unmix(Y, D[:-1], p=3)  # band mismatch


def test_threads_and_chunks_do_not_change_the_result(monkeypatch):
    """The passes over Y run by pixel chunks (several threads with n_threads): same iterates."""
    import hysupp.unmixing.semisupervised.sunaa as mod

    Y, D, _, _ = _scene(2, N=400)
    ref = SUnAA(T=15, dtype="float64").unmix(Y, D, p=3)
    monkeypatch.setattr(mod, "CHUNK", 64)
    res = SUnAA(T=15, dtype="float64", n_threads=3).unmix(Y, D, p=3)
    np.testing.assert_allclose(res.abundances, ref.abundances, atol=1e-12)
    np.testing.assert_allclose(res.info["objective"], ref.info["objective"], rtol=1e-12)
    assert len(res.info["segment_times"]) == 15
