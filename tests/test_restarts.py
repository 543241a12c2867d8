"""Restarts of stochastic runs (hysupp.runs.restarts): seeds, the selection criterion, the record,
the noise kept across restarts, deterministic methods run once, the CLI options."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import HysuppWarning, InputError
from hysupp.metrics.unmixing import reconstruction_rmse
from hysupp.runs.restarts import restart_seeds, run_is_stochastic, run_rmse
from hysupp.scene import Scene


@pytest.fixture(scope="module")
def scene() -> Scene:
    """40 x 40 pixels of 4 endmembers, max abundance 0.9 (no pure pixel), noise-free: VCA's picks
    depend on its random directions."""
    rng = np.random.default_rng(3)
    L, p, H, W = 30, 4, 40, 40
    E = 0.2 + 0.6 * rng.random((L, p))
    A = rng.dirichlet(np.full(p, 0.7), H * W).T
    A = A[:, A.max(axis=0) < 0.9]
    A = np.concatenate([A, np.tile(A[:, :1], (1, H * W - A.shape[1]))], axis=1)
    return Scene(cube=(E @ A).reshape(L, H, W).astype(np.float32), endmembers=E,
                 abundances=A.reshape(p, H, W), name="restarts-toy")


def test_restart_seeds():
    assert restart_seeds(0, 1) == [0]
    assert restart_seeds(10, 4) == [10, 11, 12, 13]
    assert restart_seeds(3, 5, seeds=[9, 2]) == [9, 2]
    for bad in ({"restarts": 0}, {"restarts": 2.5}, {"restarts": True}, {"seeds": []}, {"seeds": [1, 1]},
                {"seeds": [1.5]}):
        with pytest.raises(InputError):
            restart_seeds(0, **bad)


def test_which_runs_are_stochastic():
    assert run_is_stochastic("VCA")
    assert not run_is_stochastic("SiVM")
    assert run_is_stochastic("FCLS")                         # extracts with VCA
    assert not run_is_stochastic("FCLS", extractor="SiVM")
    assert not run_is_stochastic("FCLS", endmembers="truth")
    assert not run_is_stochastic("AA")                       # the default start is the first p pixels
    assert run_is_stochastic("AA", params={"randominit": True})


def test_the_kept_run_has_the_smallest_reconstruction_error(scene):
    run = hysupp.unmix(scene, "VCA", restarts=4, seed=5)
    r = run.info["restarts"]
    assert r["seeds"] == [5, 6, 7, 8] and len(r["runs"]) == 4 and r["stochastic"]
    rmses = [x["reconstruction_rmse"] for x in r["runs"]]
    assert len(set(np.round(rmses, 12))) > 1, "the toy scene must make VCA's draws differ"
    assert r["kept_seed"] == r["seeds"][int(np.argmin(rmses))]
    assert run.record["protocol"]["seed"] == r["kept_seed"]
    assert run.record["info"]["restarts"]["kept_seed"] == r["kept_seed"]
    # the criterion, recomputed by hand from the kept run's maps: E A against the pixels
    Y = scene.pixels()
    A = run.abundances.reshape(run.abundances.shape[0], -1)
    assert run_rmse(run) == pytest.approx(reconstruction_rmse(Y, run.endmembers, A), rel=1e-12)
    assert run_rmse(run) == pytest.approx(min(rmses), rel=1e-12)
    # each restart equals the single run with that seed, and every restart's metrics are recorded
    for entry in r["runs"]:
        single = hysupp.unmix(scene, "VCA", seed=entry["seed"])
        assert entry["reconstruction_rmse"] == pytest.approx(run_rmse(single), rel=1e-12)
        assert entry["metrics"]["sad_mean_deg"] == pytest.approx(single.metrics["sad_mean_deg"])
        assert entry["wall_s"] >= 0
    json.dumps(run.record, allow_nan=True)


def test_explicit_seeds_and_the_noise_of_the_run_seed(scene):
    run = hysupp.unmix(scene, "VCA", seeds=[4, 1], seed=9, snr=30)
    r = run.info["restarts"]
    assert r["seeds"] == [4, 1] and r["noise_seed"] == 9
    single = hysupp.unmix(scene, "VCA", seed=r["kept_seed"], noise_seed=9, snr=30)
    np.testing.assert_array_equal(run.scene.cube, single.scene.cube)        # the same noisy pixels
    np.testing.assert_array_equal(run.endmembers, single.endmembers)
    assert run.record["protocol"]["noise_seed"] == 9
    assert any("AWGN at 30 dB, seed 9" in n for n in run.scene.notes)
    other = hysupp.unmix(scene, "VCA", seed=9, snr=30)
    np.testing.assert_array_equal(run.scene.cube, other.scene.cube)


def test_a_deterministic_run_runs_once_with_a_warning(scene):
    with pytest.warns(HysuppWarning, match="no random step"):
        run = hysupp.unmix(scene, "SiVM", restarts=3, seed=2)
    r = run.info["restarts"]
    assert r["seeds"] == [2] and not r["stochastic"] and len(r["runs"]) == 1


def test_library_runs_are_scored_on_library_abundances():
    rng = np.random.default_rng(0)
    D = 0.1 + rng.random((20, 8))
    A = rng.dirichlet(np.ones(3), 100).T
    X = np.zeros((8, 100))
    X[[1, 4, 6]] = A
    sc = Scene(cube=(D @ X).reshape(20, 10, 10), library=D, endmembers=D[:, [1, 4, 6]],
               abundances=A.reshape(3, 10, 10), library_index=[1, 4, 6], name="lib-toy")
    run = hysupp.unmix(sc, "FaSUn", params={"T": 30, "init": "random"}, restarts=2)
    X_run = run.library_abundances.reshape(8, -1)
    assert run_rmse(run) == pytest.approx(reconstruction_rmse(sc.pixels(), D, X_run), rel=1e-10)
    assert len(run.info["restarts"]["runs"]) == 2


def test_cli_restarts_and_seeds(tmp_path, scene):
    path = tmp_path / "toy.npz"
    hysupp.save(scene, path)
    runner = CliRunner()
    res = runner.invoke(main, ["run", "-m", "VCA", "-d", str(path), "--restarts", "3", "--seed", "1",
                               "-o", str(tmp_path / "o1")])
    assert res.exit_code == 0, res.output
    assert "restarts: kept seed" in res.output
    rec = json.loads((tmp_path / "o1" / "run.json").read_text())
    assert rec["info"]["restarts"]["seeds"] == [1, 2, 3]
    res = runner.invoke(main, ["run", "-m", "VCA", "-d", str(path), "--seeds", "7,3", "-o", str(tmp_path / "o2"),
                               "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["info"]["restarts"]["seeds"] == [7, 3]
    bad = runner.invoke(main, ["run", "-m", "VCA", "-d", str(path), "--seeds", "1,x"])
    assert bad.exit_code == 2 and "--seeds" in bad.output
    bad = runner.invoke(main, ["run", "-m", "VCA", "-d", str(path), "--restarts", "0"])
    assert bad.exit_code == 2
