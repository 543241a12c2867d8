"""Unmixing simulation recipes and `hysupp simulate`."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import InputError, ParameterError, UnknownMethodError
from hysupp.libraries import spectral_angles
from hysupp.simulate import available_recipes, get_recipe, simulate
from hysupp.simulate.unmixing import dirichlet_abundances, edge_abundances, gaussian_random_fields

SMALL = {"height": 24, "width": 20}


@pytest.mark.parametrize("recipe", ["dirichlet", "sim1", "grf", "variability"])
def test_recipes_are_seeded_scenes_with_consistent_truth(recipe):
    a = simulate(recipe, p=4, seed=7, **SMALL)
    b = simulate(recipe, p=4, seed=7, **SMALL)
    c = simulate(recipe, p=4, seed=8, **SMALL)
    np.testing.assert_array_equal(a.cube, b.cube)
    assert not np.array_equal(a.cube, c.cube)
    assert a.shape == (224, 24, 20) and a.abundances.shape == (4, 24, 20) and a.endmembers.shape == (224, 4)
    A = a.abundance_matrix().astype(np.float64)
    assert A.min() >= 0 and np.allclose(A.sum(0), 1, atol=1e-6)
    np.testing.assert_array_equal(a.library[:, a.library_index], a.endmembers)
    angles = spectral_angles(a.endmembers.astype(np.float64))
    assert angles[~np.eye(4, dtype=bool)].min() >= 10.0 - 1e-6
    protocol = a.extras["protocol"]
    assert protocol["recipe"] == recipe and protocol["params"]["seed"] == 7 and json.dumps(protocol)
    if recipe != "variability":  # the linear model holds exactly without variability
        Y = a.pixels().astype(np.float64)
        np.testing.assert_allclose(Y, a.endmembers.astype(np.float64) @ A, atol=1e-5)


def test_purity_bound_and_pure_pixels():
    s = simulate("dirichlet", p=5, max_abundance=0.7, seed=1, **SMALL)
    assert s.abundances.max() <= 0.7
    s = simulate("dirichlet", p=3, pure_pixels=True, seed=1, **SMALL)
    A = s.abundance_matrix()
    for k in range(3):
        assert np.any(np.isclose(A[k], 1.0))
    with pytest.raises(InputError, match="below 1/p"):
        dirichlet_abundances(4, 10, np.random.default_rng(0), max_abundance=0.2)


def test_sim1_has_no_pure_pixels_and_edge_mixtures():
    s = simulate("sim1", p=4, seed=3, edge_fraction=0.2, **SMALL)
    A = s.abundance_matrix()
    assert A.max() <= 0.75 + 1e-6
    on_edge = (A > 1e-9).sum(axis=0) == 2
    assert abs(on_edge.mean() - 0.2) < 0.02
    E = edge_abundances(3, 100, np.random.default_rng(0), 0.75)
    assert np.allclose(E.sum(0), 1) and ((E > 0).sum(0) == 2).all() and E.max() <= 0.75


def test_snr_is_applied_with_hysupp_definition():
    clean = simulate("dirichlet", p=3, seed=2, dtype="float64", **SMALL)
    noisy = simulate("dirichlet", p=3, seed=2, snr=25.0, dtype="float64", **SMALL)
    np.testing.assert_array_equal(clean.abundances, noisy.abundances)
    measured = hysupp.physics.snr_db(clean.cube, noisy.cube)
    assert abs(measured - 25.0) < 0.3


def test_gaussian_fields_are_smooth_and_standardised():
    z = gaussian_random_fields(2, 64, 64, 8.0, np.random.default_rng(0))
    assert np.allclose(z.mean(axis=(1, 2)), 0, atol=1e-9) and np.allclose(z.std(axis=(1, 2)), 1)
    lag1 = np.mean(z[:, :, 1:] * z[:, :, :-1])
    assert lag1 > 0.9  # neighbouring pixels strongly correlated at length scale 8


def test_variability_records_scaling():
    s = simulate("variability", p=3, seed=0, perturbation=0.0, **SMALL)
    psi = s.extras["scaling"].ravel()
    assert psi.min() >= 0.8 and psi.max() <= 1.2
    np.testing.assert_allclose(s.pixels(), (s.endmembers @ s.abundance_matrix()) * psi, rtol=1e-5)


def test_dc_recipes_match_the_published_scenes(shared_data):
    import scipy.io as sio

    dc1 = simulate("dc1", dtype="float64")
    Y = sio.loadmat(shared_data / "dc1" / "DC1_Y_clean.mat")["Y_clean"]
    np.testing.assert_allclose(dc1.cube, np.moveaxis(Y, -1, 0), atol=1e-12)
    dc2 = simulate("dc2", data=str(shared_data / "dc2" / "DC2_XT.mat"), snr=30, seed=1)
    assert dc2.shape == (224, 100, 100) and dc2.extras["protocol"]["params"]["snr"] == 30


def test_registry_and_errors():
    names = [r.name for r in available_recipes()]
    assert {"dc1", "dc2", "dirichlet", "sim1", "grf", "variability"} <= set(names)
    assert get_recipe("SIM1").name == "sim1"
    with pytest.raises(UnknownMethodError, match="unknown simulation recipe 'nope'; recipes: dc1"):
        get_recipe("nope")
    with pytest.raises(ParameterError, match="dirichlet: parameter 'p' must be >= 2"):
        simulate("dirichlet", p=1)
    assert hysupp.simulate("dirichlet", p=2, height=2, width=3).shape == (224, 2, 3)


def test_cli_simulate_writes_file_and_protocol(tmp_path):
    out = tmp_path / "sim.mat"
    res = CliRunner().invoke(main, ["simulate", "dirichlet", "--param", "p=3", "--param", "height=8",
                                    "--param", "width=8", "--param", "snr=30", "--out", str(out)])
    assert res.exit_code == 0, res.output
    protocol = json.loads((tmp_path / "sim.mat.protocol.json").read_text())
    assert protocol["params"]["snr"] == 30.0
    scene = hysupp.load(out)
    assert scene.layout == "hysupp" and scene.extras["protocol"] == protocol
    assert scene.abundances.shape == (3, 8, 8)
    again = CliRunner().invoke(main, ["simulate", "dirichlet", "--out", str(out)])
    assert again.exit_code == 2 and "exists" in again.output
    listing = CliRunner().invoke(main, ["simulate"])
    assert "sim1" in listing.output and "max_abundance=0.75" in listing.output
