"""Issue 21, deliverable 4: the stopping tolerances of the iterative library methods.

The class default ``tol`` (what ``hysupp run`` and :func:`hysupp.unmix` use) is the one
``benchmarks/stopping_curves.py`` chose from the measured SRE-vs-iteration curves
(``benchmarks/results/stopping_curves.json``); the ``hysupp-semi`` bench suite pins the
reference's tolerance, so its records do not depend on that choice.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hysupp.bench.suite import load_suite
from hysupp.methods.params import check_value
from hysupp.methods.registry import get_method

CURVES = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "stopping_curves.json"


def _curves() -> dict:
    return json.loads(CURVES.read_text())["methods"]


def _reference(spec: dict) -> float | None:
    """The reference's tolerance as the class spells it (``None``: run all iterations)."""
    return spec["reference_tol"] or None


def _tol_param(name: str):
    return next(p for p in get_method(name).params if p.name == "tol")


def test_every_measured_method_is_covered():
    assert set(_curves()) >= {"SUnSAL", "MUA-SLIC", "S2WSU", "SUnAA", "FaSUn", "SUnS", "MiSiSUn"}


@pytest.mark.parametrize("name", sorted(json.loads(CURVES.read_text())["methods"]))
def test_default_tol_is_the_measured_choice(name):
    out = _curves()[name]
    default = get_method(name)().tol
    assert (default or None) == out["chosen_tol"]        # None / 0: all T (the reference's schedule)
    if out["changed"]:
        assert out["scenes_measured"] == ["dc1", "dc2", "cuprite"] and out["chosen_tol"] in out["within_gap"]
    assert "measured" in _tol_param(name).doc


@pytest.mark.parametrize("name", sorted(json.loads(CURVES.read_text())["methods"]))
def test_semi_suite_pins_the_reference_tolerance(name):
    suite = load_suite("hysupp-semi")
    entry = next(m for m in suite.methods if m["name"] == name)
    spec = _curves()[name]["spec"]
    if "tol" in entry.get("params", {}):
        pinned = check_value(name, _tol_param(name), entry["params"]["tol"])
        assert (pinned or None) == _reference(spec)
    else:   # unpinned only where the default is the reference's
        assert (get_method(name)().tol or None) == _reference(spec)
    for run in suite.runs(methods=[name], seeds=1):
        assert (check_value(name, _tol_param(name), run.params.get("tol", get_method(name)().tol)) or None) \
            == _reference(spec)


def _scene(seed: int = 0, L: int = 40, M: int = 20, p: int = 3, N: int = 300):
    rng = np.random.default_rng(seed)
    D = rng.uniform(0.1, 1.0, (L, M))
    idx = rng.choice(M, p, replace=False)
    A = rng.dirichlet(np.full(p, 0.5), N).T
    Y = D[:, idx] @ A + 1e-3 * rng.standard_normal((L, N))
    return Y, D


def test_fasun_family_defaults():
    pytest.importorskip("torch")
    Y, D = _scene()
    for name in ("FaSUn", "SUnS"):
        assert get_method(name)().tol is None
    info = get_method("FaSUn")(T=40, device="cpu").unmix(Y, D, p=3).info
    assert info["iterations"] == 40 and not info["stopped_early"] and info["change_history"] == []
    misi = get_method("MiSiSUn")
    early = misi(T=4000, device="cpu").unmix(Y, D, p=3).info        # default tol 1e-5
    full = misi(T=4000, device="cpu", tol="none").unmix(Y, D, p=3).info    # the suite's pin
    assert early["stopped_early"] and early["iterations"] < 4000
    assert not full["stopped_early"] and full["iterations"] == 4000


def test_sunsal_default_stops_early_and_the_pinned_reference_tol_stops_first():
    cls = get_method("SUnSAL")
    Y, D = _scene(1)
    ref = cls(lam=1e-3, tol=1e-4, dtype="float64").unmix(Y, D).info
    default = cls(lam=1e-3, dtype="float64").unmix(Y, D).info
    assert ref["tolerance"] == pytest.approx(np.sqrt(Y.shape[1] * D.shape[1]) * 1e-4)
    assert default["tolerance"] == pytest.approx(np.sqrt(Y.shape[1] * D.shape[1]) * cls().tol)
    assert ref["converged"] and default["converged"]
    assert ref["iterations"] <= default["iterations"] < cls().max_iter
