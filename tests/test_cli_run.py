"""End-to-end `hysupp run` / `hysupp.unmix` on DC1 (the issue's acceptance scenario)."""

import json

import numpy as np
import pytest
import scipy.io as sio
from click.testing import CliRunner

import hysupp
import hysupp.datasets
from hysupp.cli import main
from hysupp.datasets import builtin_scene
from hysupp.methods.registry import get_method


@pytest.fixture(scope="module")
def dc1_hysupp_mat(shared_data, tmp_path_factory):
    """DC1 written in the HySUPP layout: Y = EE @ XT, E = the 5 active atoms, A their abundances."""
    EE = sio.loadmat(shared_data / "dc1" / "DC1_EE.mat")["EE"]
    XT = sio.loadmat(shared_data / "dc1" / "DC1_XT.mat")["XT"]
    M, H, W = XT.shape
    X = XT.reshape(M, H * W)
    index = np.flatnonzero(X.max(axis=1) > 0)
    path = tmp_path_factory.mktemp("dc1") / "DC1.mat"
    sio.savemat(path, {"Y": EE @ X, "E": EE[:, index], "A": X[index], "D": EE, "index": index,
                       "H": H, "W": W, "p": index.size, "L": EE.shape[0], "N": H * W, "M": M})
    return path


def invoke(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result


def test_fcls_with_true_endmembers_recovers_abundances(dc1_hysupp_mat, tmp_path):
    out = tmp_path / "fcls"
    res = invoke(["run", "--method", "FCLS", "--data", str(dc1_hysupp_mat), "--endmembers", "truth",
                  "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["metrics"]["sre_db"] >= 40
    assert record["input"]["layout"] == "hysupp" and len(record["input"]["sha256"]) == 64
    assert record["protocol"]["endmembers"] == "truth"
    for name in ("abundances.npz", "abundances.mat", "endmembers.csv", "metrics.json", "run.json", "abundances.png"):
        assert (out / name).is_file(), name
    A = np.load(out / "abundances.npz")["abundances"]
    assert A.shape == (5, 75, 75)


def test_vca_endmembers_on_noise_free_dc1(dc1_hysupp_mat, tmp_path):
    res = invoke(["run", "--method", "FCLS", "--data", str(dc1_hysupp_mat), "--extractor", "VCA",
                  "--out", str(tmp_path / "vca"), "--json"])
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.stdout)["metrics"]
    assert metrics["sad_mean_deg"] < 1.0
    assert metrics["alignment"]["criterion"] == "abundances"


def test_default_run_uses_the_bundled_scene(tmp_path):
    res = invoke(["run", "--out", str(tmp_path / "default")])
    assert res.exit_code == 0, res.output
    assert "FCLS on dc1" in res.output and "sad_mean_deg" in res.output
    record = json.loads((tmp_path / "default" / "run.json").read_text())
    assert record["extractor"]["name"] == "VCA" and record["metrics"]["sad_mean_deg"] < 1.0


def test_snr_protocol_is_recorded_and_seeded():
    scene = builtin_scene("dc1")
    a = hysupp.unmix(scene, "FCLS", endmembers="truth", snr=30, seed=3)
    b = hysupp.unmix(scene, "FCLS", endmembers="truth", snr=30, seed=3)
    assert a.record["protocol"]["snr_db"] == 30 and a.record["protocol"]["seed"] == 3
    np.testing.assert_array_equal(a.abundances, b.abundances)
    assert 15 < a.metrics["sre_db"] < 40


def test_extractor_as_method(tmp_path):
    run = hysupp.unmix(builtin_scene("dc1"), "VCA", p=5)
    assert run.record["extractor"]["name"] == "VCA" and run.record["method"]["name"] == "VCA"
    assert run.metrics["sad_mean_deg"] < 1.0


def test_existing_output_folder_is_not_overwritten(tmp_path):
    out = tmp_path / "keep"
    out.mkdir()
    (out / "precious.txt").write_text("do not touch")
    res = CliRunner().invoke(main, ["run", "--out", str(out)])
    assert res.exit_code == 2 and "exists and is not empty" in res.output
    assert (out / "precious.txt").read_text() == "do not touch"
    res = CliRunner().invoke(main, ["run", "--out", str(out), "--overwrite"])   # not a hysupp run: refused
    assert res.exit_code == 2 and "not a hysupp run folder" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]
    run_folder = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", "--out", str(run_folder)]).exit_code == 0
    first = (run_folder / "run.json").read_text()
    res = CliRunner().invoke(main, ["run", "--out", str(run_folder), "--overwrite", "--seed", "3"])
    assert res.exit_code == 0 and (run_folder / "run.json").read_text() != first      # a hysupp run is replaced


@pytest.mark.parametrize("args, message", [
    (["run", "--method", "nosuch"], "unknown method 'nosuch'"),
    (["run", "--param", "tol=-1"], "FCLS: parameter 'tol'"),
    (["run", "--param", "bogus=1"], "FCLS: unknown parameter 'bogus'"),
    (["run", "--data", "/nonexistent/scene.mat"], "/nonexistent/scene.mat"),
    (["run", "--p", "300"], "exceeds the number of bands"),
])
def test_cli_errors_are_one_clear_line(args, message, tmp_path):
    res = CliRunner().invoke(main, args + ["--out", str(tmp_path / "x")])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_nan_pixels_of_an_array_are_masked_as_in_files():
    """One nodata policy: NaN pixels of an array handed to hysupp.unmix are masked (NaN abundances,
    a note) as the readers and the tiled runs do; a method called directly still rejects them."""
    scene = builtin_scene("dc1")
    cube = scene.cube.copy()
    cube[:, 3, 4] = np.nan
    run = hysupp.unmix(cube, "FCLS", p=5)
    assert np.isnan(run.abundances[:, 3, 4]).all() and np.isfinite(run.abundances[:, 3, 5]).all()
    assert any("1 pixels with non-finite values marked invalid" in n for n in run.record["input"]["notes"])
    with pytest.raises(hysupp.InputError, match="NaN/Inf"):
        get_method("FCLS")().unmix(cube.reshape(224, -1), scene.endmembers)


def test_masked_pixels_are_skipped_and_left_nan():
    from dataclasses import replace

    scene = builtin_scene("dc1")
    mask = np.ones(scene.image_shape, bool)
    mask[0, :10] = False
    cube = scene.cube.copy()
    cube[:, 0, :10] = np.nan
    run = hysupp.unmix(replace(scene, cube=cube, mask=mask), "FCLS", endmembers="truth")
    assert np.isnan(run.abundances[:, 0, :10]).all() and np.isfinite(run.abundances[:, 1:]).all()
    assert run.metrics["sre_db"] >= 40


def test_scale_applies_to_files_and_scenes(shared_data, tmp_path):
    crop = shared_data / "cuprite" / "Rcuprite50x90x188.mat"
    raw = hysupp.unmix(str(crop), "FCLS", p=3)
    scaled = hysupp.unmix(str(crop), "FCLS", p=3, scale=1e-4)
    assert np.allclose(scaled.endmembers, raw.endmembers * 1e-4, rtol=1e-5)
    scene = builtin_scene("dc1")
    run = hysupp.unmix(scene, "FCLS", endmembers="truth", scale=2.0)
    assert any("cube multiplied by scale=2" in n for n in run.record["input"]["notes"])


def test_library_is_matched_to_cuprite_bands_by_wavelength(shared_data, tmp_path):
    crop = shared_data / "cuprite" / "Rcuprite50x90x188.mat"
    truth = shared_data / "cuprite" / "groundTruth_Cuprite_nEnd12.mat"
    res = invoke(["run", "--data", str(crop), "--truth", str(truth), "--scale", "1e-4", "--library", "usgs1995",
                  "--p", "3", "--out", str(tmp_path / "cup"), "--json"])
    assert res.exit_code == 0, res.output
    notes = json.loads(res.stdout)["input"]["notes"]
    assert any("(498 atoms) matched to the image's 188 bands" in n for n in notes)
    run = hysupp.unmix(str(crop), "FCLS", p=3, truth=str(truth), library="usgs1995")
    assert run.scene.library.shape == (188, 498) and run.scene.wavelengths.size == 188


def test_unmixing_over_a_whole_library():
    scene = hysupp.simulate("dirichlet", p=3, height=6, width=5, seed=4)
    run = hysupp.unmix(scene, "FCLS", library="usgs1995", endmembers="library")
    assert run.abundances.shape == (498, 6, 5) and run.record["protocol"]["endmembers"] == "library"
    A = run.abundances.reshape(498, -1)
    assert np.allclose(A.sum(0), 1, atol=1e-5)
    # library order is kept; the true atoms carry (almost) all the abundance; HySUPP-style metrics
    assert A[scene.library_index].sum(0).min() > 0.9
    assert run.metrics["sre_db"] > 20 and "sre_full_db" in run.metrics and run.metrics["alignment"]["criterion"] == "library_index"
    with pytest.raises(hysupp.InputError, match="--endmembers library: scene .* has no library"):
        hysupp.unmix(builtin_scene("dc1").cube, "FCLS", endmembers="library")


def test_library_without_wavelengths_and_other_band_count_is_rejected(shared_data):
    crop = hysupp.load(shared_data / "cuprite" / "Rcuprite50x90x188.mat")
    with pytest.raises(hysupp.InputError, match="no wavelengths and 150 bands"):
        hysupp.unmix(crop.cube[:150], "FCLS", p=3, library="usgs1995")


def test_fasun_on_the_cuprite_crop_names_the_dominant_atoms(shared_data, tmp_path):
    """The issue's command (with few iterations): the 188-band crop has no wavelengths, so the
    declared AVIRIS Cuprite band subset of usgs1995 is used, and the int16 x 1e4 data are scaled."""
    crop = shared_data / "cuprite" / "Rcuprite50x90x188.mat"
    out = tmp_path / "cup"
    res = invoke(["run", "--method", "FaSUn", "--data", str(crop), "--library", "usgs1995", "--p", "14",
                  "--param", "T=15", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    notes = " | ".join(record["input"]["notes"])
    assert "standard AVIRIS Cuprite selection" in notes and "image multiplied by 1e-4" in notes
    header = (out / "endmembers.csv").read_text().splitlines()[0].split(",")
    usgs = set(hysupp.datasets.named_library("usgs1995").library_names)
    assert header[0] == "wavelength_nm" and len(header) == 15
    assert all(name.rsplit(" (", 1)[0] in usgs for name in header[1:])
    run = hysupp.unmix(str(crop), "FaSUn", p=14, library="usgs1995", params={"T": 2})
    np.testing.assert_allclose(run.scene.wavelengths,
                               hysupp.datasets.named_library("usgs1995").wavelengths[
                                   list(hysupp.datasets.AVIRIS_CUPRITE_188)])
    assert float(np.nanmax(run.scene.cube)) < 1.0
    # an explicit scale is respected (no automatic 1e-4)
    kept = hysupp.unmix(str(crop), "FaSUn", p=3, library="usgs1995", scale=1.0, params={"T": 2})
    assert float(np.nanmax(kept.scene.cube)) > 100
