"""The blind-unmixing path of ``hysupp.unmix`` / ``hysupp run`` (a toy blind method: VCA + FCLS)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

import hysupp
from hysupp.datasets import builtin_scene
from hysupp.errors import InputError
from hysupp.methods import BlindUnmixer, Param, UnmixingResult, get_method
from hysupp.methods import registry


class ToyBlind(BlindUnmixer):
    """VCA endmembers, FCLS abundances, endmembers returned in reverse order."""

    name: ClassVar[str] = "ToyBlindForTests"
    params: ClassVar[tuple[Param, ...]] = (Param("seed", int, 0, "seed"),)
    reference: ClassVar[str] = "test"
    calls: ClassVar[list] = []

    def unmix(self, Y, p, *, image_shape=None):
        Y = self.check_inputs(Y, p, image_shape)
        ToyBlind.calls.append((p, image_shape, self.seed))
        E = get_method("VCA", "extractor")(seed=self.seed).extract(Y, p).endmembers[:, ::-1]
        A = get_method("FCLS", "supervised")().unmix(Y, E).abundances
        return UnmixingResult(abundances=A, endmembers=E, info={"toy": True})


class ToySpatialBlind(ToyBlind):
    name: ClassVar[str] = "ToySpatialBlindForTests"
    spatial: ClassVar[bool] = True


@pytest.fixture
def toy_methods():
    ToyBlind.calls.clear()
    for cls in (ToyBlind, ToySpatialBlind):
        registry.register(cls)
    yield
    for cls in (ToyBlind, ToySpatialBlind):
        registry._REGISTRY.pop((cls.task, cls.name.lower()), None)


def test_blind_run_aligns_to_truth_and_records(toy_methods):
    scene = builtin_scene("dc1")
    run = hysupp.unmix(scene, "ToyBlindForTests", seed=3)
    assert ToyBlind.calls == [(5, (75, 75), 3)]
    assert run.abundances.shape == (5, 75, 75)
    assert run.metrics["sad_mean_deg"] < 0.5          # noise-free DC1 has pure pixels
    assert run.metrics["sre_db"] > 30
    assert run.endmember_names == list(scene.endmember_names)   # reordered to the truth
    assert run.record["method"]["task"] == "blind"
    info = run.record["info"]["method"]      # the method's own info plus the standard keys of the base class
    assert info["toy"] is True and {"wall_time", "dtype", "device", "seed"} <= set(info)


def test_blind_spatial_method_needs_the_full_grid(toy_methods):
    scene = builtin_scene("dc1")
    mask = np.ones(scene.image_shape, bool)
    mask[0, 0] = False
    from dataclasses import replace

    with pytest.raises(InputError, match="whole image grid"):
        hysupp.unmix(replace(scene, mask=mask), "ToySpatialBlindForTests")
    run = hysupp.unmix(scene, "ToySpatialBlindForTests", p=4)
    assert run.abundances.shape[0] == 4


def test_blind_method_checks_p_and_grid():
    with pytest.raises(InputError, match="p must be an integer >= 2|number of endmembers p"):
        ToyBlind().check_inputs(np.ones((10, 20)), 1)
    with pytest.raises(InputError, match="image_shape"):
        ToySpatialBlind().check_inputs(np.ones((10, 20)), 3, (4, 4))


def test_p_must_be_an_integer_or_an_estimator_name():
    with pytest.raises(InputError, match="auto"):
        hysupp.unmix(builtin_scene("dc1"), "VCA", p="many")
