"""Issue 18, deliverable 6: warnings are raised by the library, recorded in run.json and printed
on stderr by the CLI (-q silences, -v adds the reader notes); convergence is reported honestly."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import (ConvergenceWarning, DegeneratePixelsWarning, DivergenceError, HysuppWarning, LayoutWarning,
                           UnitsWarning)
from hysupp.runs.diagnostics import category_label, convergence_warning, recording_warnings


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def negative_scene(tmp_path):
    """A scene with a few negative pixels (a DegeneratePixelsWarning) and known endmembers."""
    rng = np.random.default_rng(0)
    E = rng.random((12, 3))
    A = rng.dirichlet(np.ones(3), 36).T
    Y = E @ A
    Y[:, :2] -= 0.5
    path = tmp_path / "neg.npz"
    hysupp.save(hysupp.Scene(cube=Y.reshape(12, 6, 6).astype(np.float32), endmembers=E), path)
    return path


def test_category_labels():
    assert [category_label(c) for c in (UnitsWarning, LayoutWarning, ConvergenceWarning, DegeneratePixelsWarning,
                                        HysuppWarning, RuntimeWarning)] == [
        "units", "layout", "convergence", "degenerate-pixels", "hysupp", "numerical"]


def test_recording_keeps_hysupp_and_numpy_warnings_and_reemits_them():
    with pytest.warns(UserWarning) as shown:
        with recording_warnings("Demo") as log:
            warnings.warn("kept", LayoutWarning)
            warnings.warn("kept", LayoutWarning)
            np.log(np.zeros(1))                      # numpy RuntimeWarning: divide by zero
            warnings.warn("not a hysupp warning", UserWarning)
    assert log.entries == [{"category": "layout", "message": "kept", "count": 2},
                           {"category": "numerical", "message": "Demo: divide by zero encountered in log"}]
    assert {str(w.message) for w in shown} >= {"kept", "not a hysupp warning"}   # the caller still sees them


def test_library_users_see_the_warnings_and_the_record_holds_them(negative_scene):
    with pytest.warns(DegeneratePixelsWarning, match="2 of 36 pixels have negative values"):
        run = hysupp.unmix(str(negative_scene), "FCLS", endmembers="truth")
    assert {"category": "degenerate-pixels", "message": run.record["warnings"][0]["message"]} in run.record["warnings"]
    assert list(run.record)[-2:] == ["warnings", "environment"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegeneratePixelsWarning)       # filters apply to the re-emitted warnings
        with pytest.raises(DegeneratePixelsWarning):
            hysupp.unmix(str(negative_scene), "FCLS", endmembers="truth")


def test_cli_prints_warnings_on_stderr_and_records_them(negative_scene, tmp_path):
    res = cli("run", "--data", negative_scene, "--endmembers", "truth", "--out", tmp_path / "a")
    assert res.exit_code == 0, res.output
    assert "warning [degenerate-pixels]: 2 of 36 pixels have negative values" in res.stderr
    assert "note [input]" not in res.stderr
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    assert record["warnings"][0]["category"] == "degenerate-pixels"
    quiet = cli("run", "--data", negative_scene, "--endmembers", "truth", "--out", tmp_path / "b", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""
    assert json.loads((tmp_path / "b" / "run.json").read_text())["warnings"] == record["warnings"]
    group_quiet = cli("-q", "run", "--data", negative_scene, "--endmembers", "truth", "--out", tmp_path / "c")
    assert group_quiet.exit_code == 0 and group_quiet.output == ""
    verbose = cli("run", "--data", negative_scene, "--endmembers", "truth", "--out", tmp_path / "d", "-v")
    assert "note [input]: read from a hysupp .npz" in verbose.stderr and "warning [degenerate-pixels]" in verbose.stderr


def test_units_warning_for_integer_reflectance(shared_data, tmp_path):
    crop = shared_data / "cuprite" / "Rcuprite50x90x188.mat"
    res = cli("run", "--data", crop, "--library", "usgs1995", "--p", "3", "--out", tmp_path / "o")
    assert res.exit_code == 0, res.output
    assert "warning [units]: units harmonised (image 'Rcuprite50x90x188': reflectance x 10^4" in res.stderr
    assert "image multiplied by 1e-4" in res.stderr


def test_convergence_fallback_for_methods_that_do_not_warn():
    with pytest.warns(ConvergenceWarning, match="Demo stopped after 7 iterations"):
        with recording_warnings("Demo") as log:
            assert convergence_warning("Demo", {"converged": False, "iterations": 7})
            assert not convergence_warning("Demo", {"converged": True})
    assert log.entries[0]["category"] == "convergence"
    with pytest.warns(ConvergenceWarning) as caught:
        with recording_warnings("Demo") as log:
            warnings.warn("Demo: my own words", ConvergenceWarning)
            assert not convergence_warning("Demo", {"converged": False})     # the method already said so
    assert len(caught) == 1


def test_iteration_cap_reported_by_the_run():
    from hysupp.datasets import builtin_scene

    with pytest.warns(ConvergenceWarning):
        run = hysupp.unmix(builtin_scene("dc1"), "SUnSAL", params={"max_iter": 2})
    assert run.record["info"]["method"]["converged"] is False
    assert any(w["category"] == "convergence" for w in run.record["warnings"])


# ---------------------------------------------------------------------------------------------- MVC-NMF
def _mixture(scale=1.0, p=3, seed=0):
    rng = np.random.default_rng(seed)
    E = 0.1 + 0.8 * rng.random((30, p))
    A = rng.dirichlet(np.ones(p), 400).T
    return scale * (E @ A)


def test_mvcnmf_never_reports_convergence_on_a_stall():
    """The issue's case: data in units far from reflectance (EnMAP x 10^4) with many endmembers
    makes the volume term dominate: no Armijo step is accepted, the objective does not move, and the
    old test reported converged after one iteration. The template now divides such data by 10^4
    (UnitsWarning); ``units_scale=1`` keeps the raw units, which reaches the solver's own stall test."""
    cls = hysupp.methods.registry.get_method("MVC-NMF")
    Y = _mixture(scale=1e4, p=8, seed=1)

    def raw_units():
        m = cls()
        m.units_scale = 1.0
        return m

    with pytest.warns(ConvergenceWarning, match="no projected-gradient step decreased the objective"):
        res = raw_units().unmix(Y, 8)
    assert res.info["converged"] is False and res.info["stalled"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)        # no raw numpy overflow warning any more
        with pytest.warns(ConvergenceWarning):
            raw_units().unmix(Y, 8)
    with pytest.warns(UnitsWarning, match="divided by 10000"):   # the default: reflectance units, no stall
        normalised = cls().unmix(Y, 8)
    assert not normalised.info["stalled"]


def test_mvcnmf_objective_overflow_is_a_divergence_error():
    cls = hysupp.methods.registry.get_method("MVC-NMF")
    m = cls()
    m.units_scale = 1.0                                          # keep the absurd units (no normalisation)
    with pytest.raises(DivergenceError, match="MVC-NMF: the objective overflows float64 at the VCA\\+FCLS start"):
        m.unmix(_mixture(scale=1e40, p=12, seed=2), 12)


def test_mvcnmf_converged_only_when_the_tolerance_is_met():
    cls = hysupp.methods.registry.get_method("MVC-NMF")
    Y = _mixture()
    with pytest.warns(ConvergenceWarning, match="stopped at max_iter = 2"):
        capped = cls(max_iter=2).unmix(Y, 3)
    assert capped.info["converged"] is False and capped.info["iterations"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        done = cls(max_iter=500, tol=1e-3).unmix(Y, 3)
    assert done.info["converged"] is True and done.info["iterations"] < 500 and not done.info["stalled"]
