"""Scale invariance of the unmixing methods (issue 18): a common scale of the inputs (reflectance
stored x 1e4, DN, ...) must not change the abundances.

FCLS (and every method declaring ``scale_invariant``) is exactly invariant; the regularised methods
are normalised by the task templates (``hysupp.methods.base.unit_scale``), warn, and give the
reflectance-unit result.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pytest

import hysupp
from hysupp.errors import UnitsWarning
from hysupp.methods import get_method
from hysupp.methods.base import REFLECTANCE_BAND, SupervisedUnmixer, UnmixingResult, unit_scale, unit_statistic
from hysupp.methods.params import Param
from hysupp.optim import fcls
from hysupp.testing import MethodCheckError, check_method

SCALES = [10.0 ** k for k in range(-4, 7)]


@pytest.fixture(scope="module")
def dc1_crop():
    """A 20 x 20 crop of DC1 at 30 dB (float64), its 5 endmembers and the 240-atom library."""
    scene = hysupp.simulate("dc1", dtype="float64")
    L = scene.cube.shape[0]
    cube = scene.cube[:, :20, :20]
    Y = hysupp.physics.add_awgn(cube.reshape(L, -1), 30, seed=np.random.RandomState(0))
    return Y, np.asarray(scene.endmembers, dtype=np.float64), np.asarray(scene.library, dtype=np.float64)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [w for w in caught if issubclass(w.category, UnitsWarning)]


# ---------------------------------------------------------------------- the unit scale
@pytest.mark.parametrize("q, s", [(0.5, 1.0), (0.1, 1.0), (1.99, 1.0), (2.0, 10.0), (9.06, 10.0), (0.0906, 0.1),
                                  (5000.0, 1e4), (9062.0, 1e4), (2e6, 1e7), (5e-5, 1e-4), (0.0, 1.0)])
def test_unit_scale_brings_the_statistic_into_the_band(q, s):
    got, stat = unit_scale(np.full((4, 10), q))
    assert got == pytest.approx(s) and stat == pytest.approx(q)
    if q:
        assert REFLECTANCE_BAND[0] <= q / got < REFLECTANCE_BAND[1]


def test_reflectance_scenes_are_left_alone_and_every_decade_comes_back(dc1_crop):
    Y = dc1_crop[0].copy()
    assert unit_scale(Y)[0] == 1.0                       # DC1: 99th percentile 0.91
    for s in SCALES:
        assert unit_scale(Y * s)[0] == pytest.approx(s)   # x1e-4 ... x1e6: exactly the storage scale
    Y[:, 0] = 1e6                                         # a hot pixel does not move the statistic
    assert unit_statistic(Y) < 1.0


# ---------------------------------------------------------------------- FCLS: exact invariance
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fcls_kkt_violation_is_scale_free(dc1_crop, dtype):
    """Issue 18: the KKT system mixed s^2 with 1 and fell back to a truncated pseudo-inverse for
    reflectance x 1e4 (abundances off by 0.1 on DC1). Now the relative KKT violation stays at
    rounding level and the abundances do not move, from x1e-4 to x1e6."""
    Y, E, _ = dc1_crop
    A0, _ = fcls(Y, E, dtype=np.float64)
    for s in SCALES:
        A, info = fcls((Y * s).astype(dtype), (E * s).astype(dtype), dtype=np.float64)
        assert info["kkt_violation_relative"] <= 1e-5, (s, info["kkt_violation_relative"])
        assert info["n_singular"] == 0
        assert np.abs(A - A0).max() <= (1e-9 if dtype == np.float64 else 1e-5), s


@pytest.mark.parametrize("int_dtype, scales", [(np.int16, (1e2, 1e3, 1e4)), (np.int32, (1e2, 1e4, 1e5, 1e6)),
                                               (np.uint16, (1e4,))])
def test_fcls_method_on_integer_storage(dc1_crop, int_dtype, scales):
    """Integer cubes (reflectance x 10^k): the method's abundances are those of the same quantised data
    in reflectance units, and no unit warning is raised (FCLS is scale-invariant)."""
    Y, E, _ = dc1_crop
    m = get_method("FCLS")(dtype="float64")
    for s in scales:
        Yi = np.round(np.clip(Y, 0, None) * s).astype(int_dtype)
        assert np.abs(Yi.astype(np.float64) / s - np.clip(Y, 0, None)).max() <= 0.5 / s   # no overflow
        ref = m.unmix(Yi.astype(np.float64) / s, E).abundances
        res, units = _quiet(m.unmix, Yi, E * s)
        assert not units and res.info["input_scale"] == 1.0
        assert np.abs(res.abundances - ref).max() <= 1e-4, s
        assert res.info["kkt_violation_relative"] <= 1e-5


def test_fcls_tol_is_relative(dc1_crop):
    Y, E, _ = dc1_crop
    m = get_method("FCLS")(tol=1e-9, dtype="float64")
    a, b = m.unmix(Y, E), m.unmix(Y * 1e4, E * 1e4)
    assert b.info["tol"] == pytest.approx(a.info["tol"] * 1e8)
    assert np.abs(a.abundances - b.abundances).max() < 1e-9


# ---------------------------------------------------------------------- regularised methods
@pytest.mark.parametrize("name", ["SUnSAL", "CLSUnSAL", "SUnSAL-TV", "S2WSU", "MUA-SLIC", "SUnAA"])
def test_library_methods_give_the_reflectance_result_at_any_storage_scale(dc1_crop, name):
    Y, _, D = dc1_crop
    cls = get_method(name)
    kw = {"dtype": "float64"}
    kw.update({"SUnSAL": {"max_iter": 60}, "CLSUnSAL": {"max_iter": 60}, "SUnSAL-TV": {"max_iter": 20},
               "S2WSU": {"outer_iters": 4}, "MUA-SLIC": {"max_iter": 60, "slic_size": 5.0},
               "SUnAA": {"T": 3}}[name])
    extra = {"image_shape": (20, 20)} if cls.spatial else {}
    if cls.needs_p:
        extra["p"] = 5
    ref = cls(**kw).unmix(Y, D, **extra)
    invariant = cls.scale_invariant
    for s, dtype in [(1e-4, np.float64), (1e-2, np.float32), (10.0, np.float64), (1e4, np.float32),
                     (1e4, np.int32), (1e6, np.float64)]:
        Ys = Y * s
        if np.issubdtype(dtype, np.integer):
            Ys = np.round(Ys).astype(dtype)
            ref_s = cls(**kw).unmix(Ys.astype(np.float64) / s, D, **extra)
        else:
            Ys = Ys.astype(dtype)
            ref_s = ref
        res, units = _quiet(cls(**kw).unmix, Ys, D * s, **extra)
        assert res.info["input_scale"] == pytest.approx(1.0 if invariant else s)
        assert bool(units) is (not invariant), (s, dtype)
        tol = 1e-4 if dtype != np.float32 else 2e-3   # float32 data: the input itself is rounded at 6e-8
        assert np.abs(res.abundances - ref_s.abundances).max() <= tol, (s, dtype)
        np.testing.assert_allclose(res.endmembers, ref_s.endmembers * s, rtol=1e-3, atol=1e-6 * s)


def test_a_warning_names_the_units_and_the_remedy(dc1_crop):
    Y, _, D = dc1_crop
    _, units = _quiet(get_method("SUnSAL")(max_iter=20).unmix, Y * 1e4, D * 1e4)
    msg = str(units[0].message)
    assert "SUnSAL" in msg and "divided by 10000" in msg and "reflectance" in msg and "--scale" in msg


def test_pixels_and_library_in_different_units_are_reported(dc1_crop):
    Y, E, D = dc1_crop
    _, units = _quiet(get_method("FCLS")().unmix, Y * 1e4, E)
    assert any("differ in scale" in str(w.message) for w in units)
    _, units = _quiet(get_method("SUnSAL")(max_iter=20).unmix, Y * 1e4, D)
    assert any("differ in scale" in str(w.message) for w in units)
    _, units = _quiet(get_method("FCLS")().unmix, Y, E)
    assert not units


def test_a_known_units_scale_overrides_the_detection(dc1_crop):
    """Callers that know the units (or unmix one scene tile by tile) fix the scale once."""
    Y, _, D = dc1_crop
    m = get_method("SUnSAL")(max_iter=20, dtype="float64")
    m.units_scale = 1e4
    res, units = _quiet(m.unmix, Y[:, :5] * 1e4, D * 1e4)   # any subset of pixels: the same scale
    assert res.info["input_scale"] == 1e4 and not units   # the caller said so: no guess to report
    ref = get_method("SUnSAL")(max_iter=20, dtype="float64").unmix(Y[:, :5], D)
    assert np.abs(res.abundances - ref.abundances).max() < 1e-9


def test_reflectance_input_is_not_copied_nor_warned(dc1_crop):
    Y, _, D = dc1_crop
    seen = {}

    class Spy(SupervisedUnmixer):
        """Records the arrays it receives (a test method)."""

        name: ClassVar[str] = "SpyDemo"
        params: ClassVar[tuple[Param, ...]] = ()
        reference: ClassVar[str] = "hysupp test suite"

        def _unmix(self, Y, E):
            seen["Y"], seen["E"] = Y, E
            return UnmixingResult(np.full((E.shape[1], Y.shape[1]), 1.0 / E.shape[1]), E)

    res, units = _quiet(Spy().unmix, Y, D[:, :5])
    assert seen["Y"] is Y and not units and res.info["input_scale"] == 1.0 and res.endmembers is seen["E"]
    res, units = _quiet(Spy().unmix, Y * 1e4, D[:, :5] * 1e4)
    assert np.abs(seen["Y"] - Y).max() < 1e-12 and units
    np.testing.assert_allclose(res.endmembers, D[:, :5] * 1e4)


# ---------------------------------------------------------------------- the contract check
class _Threshold(SupervisedUnmixer):
    """Abundance 1 on the endmember closest to the pixel when the pixel is brighter than 0.5, else
    equal abundances (an absolute threshold: a test method that depends on the units).
    """

    name: ClassVar[str] = "ThresholdDemo"
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = "hysupp test suite"

    def _unmix(self, Y, E):
        p, N = E.shape[1], Y.shape[1]
        A = np.full((p, N), 1.0 / p)
        bright = Y.mean(axis=0) > 0.5
        A[:, bright] = 0.0
        A[0, bright] = 1.0
        return UnmixingResult(A.astype(np.float32), E)


def test_the_scale_check_catches_a_false_invariance_claim():
    Liar = type("Liar", (_Threshold,), {"__doc__": _Threshold.__doc__, "name": "LiarDemo", "scale_invariant": True})
    with pytest.raises(MethodCheckError, match=r"\[scale\]: inputs x 10000: abundances differ"):
        check_method(Liar)
    assert "scale" in check_method(_Threshold)   # the template's normalisation makes it pass


def test_the_scale_check_wants_the_normalisation_recorded():
    class Silent(_Threshold):
        """Rescales by itself and hides it (a test method)."""

        name: ClassVar[str] = "SilentDemo"

        def unmix(self, Y, E, *, image_shape=None):   # a pre-template override ...
            Y, E = self.check_inputs(Y, E)
            s = unit_scale(Y)[0]
            res = _Threshold()._unmix(Y / s, E / s)
            res.endmembers = E
            return res

    assert "scale" in check_method(Silent)          # ... is judged on its results only
