"""FaSUn, SUnS and MiSiSUn return a feasible point (issue 22): A and B on the simplex (SUnS: B in
[0, 1]), E = D B, primal residuals in ``info``; on DC1 and on the real Cuprite crop with the USGS
library. Short runs (the constraints hold at any T: the returned point is the feasible split)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import hysupp
from hysupp.optim.simplex import project_simplex
from hysupp.unmixing.semisupervised.fasun import FaSUn, MiSiSUn, SUnS, fasun_solve

KEYS = ("primal_residual_A", "primal_residual_B", "primal_residual_DB", "feasibility_shift_A", "feasibility_shift_B")


def _check_feasible(res, D: np.ndarray, simplex_b: bool) -> None:
    A, B, E = res.abundances, res.library_coefficients, res.endmembers
    assert A.min() >= 0.0 and np.abs(A.sum(axis=0) - 1.0).max() < 1e-6
    if simplex_b:
        assert B.min() >= 0.0 and np.abs(B.sum(axis=0) - 1.0).max() < 1e-6
    else:
        assert B.min() >= 0.0 and B.max() <= 1.0
    np.testing.assert_allclose(E, D.astype(np.float64) @ B.astype(np.float64), rtol=1e-5, atol=1e-6)
    for k in KEYS:
        assert np.isfinite(res.info[k]) and res.info[k] >= 0.0


@pytest.fixture(scope="module")
def dc1():
    scene = hysupp.simulate("dc1")
    return scene.pixels().astype(np.float32), scene.library.astype(np.float32)


@pytest.fixture(scope="module")
def cuprite(shared_data: Path):
    root = shared_data / "cuprite"
    if not (root / "Rcuprite50x90x188.mat").exists():
        pytest.skip("Cuprite crop not in the shared data")
    from hysupp.datasets import named_library
    from hysupp.libraries import library_for_scene

    scene = hysupp.load(str(root / "Rcuprite50x90x188.mat"),
                        truth=str(root / "groundTruth_Cuprite_nEnd12.mat"), scale=1e-4)
    lib = library_for_scene(named_library("usgs1995"), scene)
    # a 30 x 30 window keeps the test short; the library keeps all 498 atoms
    cube = scene.require_cube()[:, 10:40, 30:60]
    return cube.reshape(cube.shape[0], -1).astype(np.float32), np.asarray(lib.library, dtype=np.float32)


@pytest.mark.parametrize("cls, simplex_b", [(FaSUn, True), (MiSiSUn, True), (SUnS, False)])
def test_feasible_on_dc1(dc1, cls, simplex_b):
    Y, D = dc1
    res = cls(T=150, device="cpu", history_every=50).unmix(Y, D, p=5)
    _check_feasible(res, D, simplex_b)


@pytest.mark.parametrize("cls, simplex_b", [(FaSUn, True), (MiSiSUn, True), (SUnS, False)])
def test_feasible_on_the_cuprite_crop(cuprite, cls, simplex_b):
    import warnings

    from hysupp.errors import DegenerateResultWarning

    Y, D = cuprite
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cls(T=100, device="cpu", history_every=50).unmix(Y, D, p=8)
    _check_feasible(res, D, simplex_b)
    # an all-zero library combination (SUnS can shrink a whole column of B to 0) is flagged and warned
    B = res.library_coefficients
    zero = [k for k in range(B.shape[1]) if not B[:, k].any()]
    flagged = [d["index"] for d in res.info["degenerate_endmembers"] if d["reason"] == "zero"]
    assert flagged == zero
    assert bool(res.info["degenerate_endmembers"]) == any(issubclass(w.category, DegenerateResultWarning)
                                                          for w in caught)
    if simplex_b:                                           # convex combinations stay in the library's range
        assert res.endmembers.min() >= D.min() - 1e-6 and res.endmembers.max() <= D.max() + 1e-6


def test_feasible_point_is_the_projection_of_the_iterates(dc1):
    Y, D = dc1
    Y = Y[:, :800]
    kw = {"T": 60, "device": "cpu", "dtype": "float64", "history_every": 30}
    A, B, info = fasun_solve(Y, D, 5, **kw)
    Ai, Bi, _ = fasun_solve(Y, D, 5, feasible=False, **kw)
    assert np.abs(Bi.sum(axis=0) - 1).max() < 1e-8            # the iterate sums to one ...
    np.testing.assert_allclose(A, project_simplex(Ai, axis=0), atol=1e-12)
    np.testing.assert_allclose(B, project_simplex(Bi, axis=0), atol=1e-12)
    assert info["feasibility_shift_B"] == pytest.approx(np.linalg.norm(B - Bi) / np.linalg.norm(Bi), rel=1e-6)
