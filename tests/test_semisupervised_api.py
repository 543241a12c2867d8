"""The semi-supervised path of hysupp.unmix with two small test methods (one per result kind)."""

import numpy as np
import pytest

import hysupp
from hysupp.methods import SemiSupervisedUnmixer, UnmixingResult, register
from hysupp.methods import registry
from hysupp.optim import fcls


class OverLibrary(SemiSupervisedUnmixer):
    """FCLS over every library atom (test method)."""

    name = "TestOverLibrary"

    def unmix(self, Y, D, *, p=None, image_shape=None):
        Y, D = self.check_inputs(Y, D, p, image_shape)
        X, info = fcls(Y, D)
        return UnmixingResult(abundances=X, endmembers=D, info={"iterations": info["iterations"]}, over_library=True)


class PickAtoms(SemiSupervisedUnmixer):
    """Endmembers E = D B with B selecting the p atoms FCLS uses most (test method)."""

    name = "TestPickAtoms"
    needs_p = True

    def unmix(self, Y, D, *, p=None, image_shape=None):
        Y, D = self.check_inputs(Y, D, p, image_shape)
        X, _ = fcls(Y, D)
        top = np.sort(np.argsort(-X.mean(axis=1))[:p])
        B = np.zeros((D.shape[1], p))
        B[top, np.arange(p)] = 1.0
        A, _ = fcls(Y, D @ B)
        return UnmixingResult(abundances=A, endmembers=D @ B, library_coefficients=B)


@pytest.fixture(autouse=True)
def test_methods(monkeypatch):
    registry.ensure_loaded()   # built-ins first: a copy taken before loading would be empty after the test
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register(OverLibrary)
    register(PickAtoms)


@pytest.fixture(scope="module")
def scene():
    return hysupp.simulate("dirichlet", p=3, height=6, width=5, seed=4, min_angle=15.0)


def test_over_library_result_keeps_library_order_and_reports_both_conventions(scene):
    run = hysupp.unmix(scene, "TestOverLibrary", library="usgs1995-pruned")
    M = run.scene.library.shape[1]
    assert run.abundances.shape == (M, 6, 5) and len(run.endmember_names) == M
    assert run.record["protocol"]["endmembers"] == "library"


def test_p_endmember_result_names_the_dominant_atoms(scene):
    run = hysupp.unmix(scene, "TestPickAtoms", p=3)
    assert run.abundances.shape == (3, 6, 5)
    truth_names = {scene.library_names[j] for j in scene.library_index}
    assert {n.rsplit(" (", 1)[0] for n in run.endmember_names} == truth_names
    assert run.metrics["sre_db"] > 40 and "sre_full_db" in run.metrics


def test_semi_supervised_needs_a_library_and_p():
    bare = hysupp.simulate("dirichlet", p=3, height=4, width=4).cube
    with pytest.raises(hysupp.InputError, match="needs a spectral library"):
        hysupp.unmix(bare, "TestOverLibrary")
    with pytest.raises(hysupp.InputError, match="pass p"):
        hysupp.unmix(bare, "TestPickAtoms", library="usgs1995")
    with pytest.raises(hysupp.InputError, match="--endmembers applies to supervised"):
        hysupp.unmix(bare, "TestOverLibrary", library="usgs1995", endmembers="truth")
