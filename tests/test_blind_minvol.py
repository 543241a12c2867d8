"""Minimum-volume blind unmixing: NMF-QMV and MVC-NMF on a noise-free scene without pure pixels."""

from __future__ import annotations

import numpy as np
import pytest

import hysupp
from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.metrics import evaluate_unmixing
from hysupp.unmixing.blind.nmf_qmv import boundary_pixels, facet_distance_criterion


@pytest.fixture(scope="module")
def sim1():
    """Sim1-like: p = 4, 900 pixels, max abundance 0.75, 10 % of the pixels on simplex edges; every
    other band of the 224 (112 bands, to keep the eigendecompositions cheap on a loaded machine)."""
    scene = hysupp.simulate("sim1", p=4, height=30, width=30, seed=0, dtype="float64")
    A = scene.abundances.reshape(4, -1)
    assert A.max() <= 0.75 + 1e-12                      # no pure pixel
    Y, E = scene.pixels()[::2], scene.endmembers[::2]
    vca = get_method("VCA", "extractor")(seed=0).extract(Y, 4)
    sad_vca = evaluate_unmixing(E_true=E, E_est=vca.endmembers)["sad_mean_deg"]
    return Y, E, A, sad_vca


def _sad(E, A, res):
    return evaluate_unmixing(E_true=E, A_true=A, E_est=res.endmembers, A_est=res.abundances)


def test_nmf_qmv_recovers_endmembers_without_pure_pixels(sim1):
    Y, E, A, sad_vca = sim1
    res = get_method("NMF-QMV", "blind")(dtype="float64", max_iter=40).unmix(Y, 4)
    m = _sad(E, A, res)
    assert m["sad_mean_deg"] < 6.0
    assert m["sad_mean_deg"] < sad_vca                   # VCA needs pure pixels
    assert sad_vca > 2.0
    # the abundances live on the simplex; the selected beta is one of the candidates
    assert res.abundances.shape == (4, Y.shape[1]) and res.endmembers.shape == (Y.shape[0], 4)
    assert res.abundances.min() >= -1e-12
    np.testing.assert_allclose(res.abundances.sum(axis=0), 1.0, atol=1e-9)
    assert res.info["beta"] in (100.0, 10.0, 1.0, 0.1, 0.01)
    crit = [c["criterion"] for c in res.info["candidates"]]
    assert res.info["criterion"] == min(crit)


def test_nmf_qmv_terms_seed_determinism_and_dtype(sim1):
    Y = sim1[0]
    Ysub = Y[:, :400]
    for term in ("boundary", "totalVar"):
        r1 = get_method("NMF-QMV", "blind")(term=term, betas="1,0.1", max_iter=10).unmix(Ysub, 4)
        r2 = get_method("NMF-QMV", "blind")(term=term, betas="1,0.1", max_iter=10).unmix(Ysub, 4)
        assert r1.abundances.dtype == np.float32 and r1.endmembers.dtype == np.float32
        np.testing.assert_array_equal(r1.abundances, r2.abundances)
        np.testing.assert_array_equal(r1.endmembers, r2.endmembers)
        assert [c["beta"] for c in r1.info["candidates"]] == [1.0, 0.1]


def test_nmf_qmv_parameter_validation():
    with pytest.raises(ParameterError):
        get_method("NMF-QMV", "blind")(betas="1,abc")
    with pytest.raises(ParameterError):
        get_method("NMF-QMV", "blind")(betas="-1")
    with pytest.raises(ParameterError):
        get_method("NMF-QMV", "blind")(term="volume")
    with pytest.raises(InputError):
        get_method("NMF-QMV", "blind")().unmix(np.ones((10, 20)), 1)


def test_facet_criterion_and_boundary_pixels_golden():
    # unit triangle (0,0), (1,0), (0,1): distances to the nearest edge
    M = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    pts = np.array([[0.25, 0.5, 0.0], [0.25, 0.5, 0.5]])
    d = [0.25, 0.0, 0.0]                 # (0.5, 0.5) lies on the hypotenuse, (0, 0.5) on the edge x = 0
    assert facet_distance_criterion(M, pts) == pytest.approx(np.mean(d))
    # boundary pixels of a square with an interior point: its 4 corners
    G = np.array([[0.0, 1.0, 1.0, 0.0, 0.5], [0.0, 0.0, 1.0, 1.0, 0.5]])
    np.testing.assert_array_equal(boundary_pixels(G), [0, 1, 2, 3])
    # FastBPI branch (d > 5): every vertex of a 6-D simplex is found, the centroid is not
    V = np.hstack([np.zeros((6, 1)), np.eye(6)])
    G6 = np.hstack([V, V.mean(axis=1, keepdims=True)])
    np.testing.assert_array_equal(boundary_pixels(G6, n_proj=20), np.arange(7))


def test_mvc_nmf_recovers_endmembers_without_pure_pixels(sim1):
    Y, E, A, sad_vca = sim1
    # a lighter volume weight than HySUPP's 0.5 and more steps than its 25: noise-free data
    res = get_method("MVC-NMF", "blind")(dtype="float64", max_iter=60, inner_iter=10,
                                         regularization=0.05).unmix(Y, 4)
    m = _sad(E, A, res)
    assert m["sad_mean_deg"] < 6.0
    assert m["sad_mean_deg"] < sad_vca
    assert res.endmembers.min() >= 0 and res.abundances.min() >= 0     # projected gradient keeps both >= 0
    # the Armijo steps never increase the objective
    h = np.asarray(res.info["objective_history"])
    assert np.all(np.diff(h) <= 1e-12 * h[:-1])
    # soft sum-to-one: close to one
    assert np.abs(res.abundances.sum(axis=0) - 1).mean() < 0.05
    # the exact abundance block (limit of the inner projected-gradient loop) also works
    res2 = get_method("MVC-NMF", "blind")(dtype="float64", max_iter=20, regularization=0.05,
                                          s_solver="exact").unmix(Y, 4)
    assert _sad(E, A, res2)["sad_mean_deg"] < sad_vca


def test_mvc_nmf_objective_matches_definition_and_is_deterministic(sim1):
    Y, _, _, _ = sim1
    Ysub = Y[:, :300]
    r = get_method("MVC-NMF", "blind")(dtype="float64", max_iter=5, regularization=2.0, constraint=3.0).unmix(Ysub, 4)
    Em, S = r.endmembers, r.abundances
    mean = Ysub.mean(axis=1)
    _, V = np.linalg.eigh(np.cov(Ysub, bias=True))
    U = V[:, ::-1][:, :3]
    Z = np.vstack([np.ones((1, 4)), U.T @ (Em - mean[:, None])])
    tau = 2.0 / 6.0
    F = 0.5 * ((Ysub - Em @ S) ** 2).sum() + 0.5 * 9.0 * ((1 - S.sum(axis=0)) ** 2).sum() \
        + 0.5 * tau * np.linalg.det(Z) ** 2
    assert r.info["objective"] == pytest.approx(F, rel=1e-9)
    assert r.info["volume"] == pytest.approx(abs(np.linalg.det(Z)) / 6.0, rel=1e-9)
    r2 = get_method("MVC-NMF", "blind")(dtype="float64", max_iter=5, regularization=2.0, constraint=3.0).unmix(Ysub, 4)
    np.testing.assert_array_equal(r.endmembers, r2.endmembers)


def test_mvc_nmf_parameter_validation():
    M = get_method("MVC-NMF", "blind")
    for bad in ({"scaling": 1.5}, {"max_iter": 0}, {"regularization": -1.0}, {"sigma": 1.0}):
        with pytest.raises(ParameterError):
            M(**bad)
    with pytest.raises(InputError):
        M().unmix(np.ones((5, 20)), 6)
