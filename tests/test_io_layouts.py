"""Files in the layouts real data sets use, built here from their description (issue 18, deliverable
3): Zhu's benchmark layout with ``maxValue`` and its truth, libraries with their names, truth files
with abundance cubes, variables whose role comes from shapes and names together, SRF matrices,
``load_library(key=)``, ``load(truth_key=)``, ``hysupp info`` failing on an unreadable file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.io as sio
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import InputError, LayoutError, LayoutWarning, UnitsWarning
from hysupp.io import describe, load, load_library
from hysupp.io.units import harmonise_units
from hysupp.scene import Scene

NAMES = ["tree", "water", "soil", "road"]


@pytest.fixture(scope="module")
def sim() -> Scene:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hysupp.simulate("dirichlet", p=4, height=20, width=30, seed=5)


def _column_major(maps: np.ndarray) -> np.ndarray:
    """(k, H, W) -> (k, H*W) with pixels in column-major order (MATLAB's ``reshape(X, k, [])``)."""
    return maps.transpose(0, 2, 1).reshape(maps.shape[0], -1)


def _benchmark_file(path, sim, max_value=5000.0, with_truth=True, **extra):
    L, H, W = sim.shape
    variables = {"Y": _column_major(sim.cube) * max_value, "maxValue": max_value, "nRow": float(H),
                 "nCol": float(W), "nBand": float(L), **extra}
    if with_truth:
        variables.update(A=_column_major(sim.abundances), M=sim.endmembers, cood=NAMES)
    sio.savemat(path, variables)


def test_benchmark_layout_with_max_value_and_truth(tmp_path, sim):
    """Y (L, N) column-major, A (p, N), M (L, p), maxValue, nRow, nCol, nBand: read as downloaded."""
    _benchmark_file(tmp_path / "jasper.mat", sim, SlectBands=np.arange(1, 225, dtype=float)[None])
    with pytest.warns(UnitsWarning, match=r"Y divided by maxValue = 5000"):
        s = load(tmp_path / "jasper.mat")
    assert s.layout == "zhu" and s.shape == sim.shape
    np.testing.assert_allclose(s.cube, sim.cube, rtol=1e-6)                 # reflectance, not x 5000
    np.testing.assert_allclose(s.abundances, sim.abundances, atol=1e-7)     # column-major pixels honoured
    np.testing.assert_allclose(s.endmembers, sim.endmembers, rtol=1e-6)
    assert s.endmember_names == NAMES
    assert s.extras["units"]["kind"] == "reflectance" and "maxValue = 5000" in s.extras["units"]["declared"]
    assert s.extras["sensor_bands"][:3].tolist() == [0, 1, 2]
    # the abundances reconstruct the image: the truth is registered to the pixels
    recon = np.tensordot(s.endmembers, s.abundances, axes=1)
    np.testing.assert_allclose(recon, s.cube, atol=1e-5)
    # next to a reflectance library nothing is rescaled any more (the 1e-4 guess gave sums of 0.54)
    lib = Scene(library=sim.endmembers, name="lib")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        assert harmonise_units(s, lib).note is None


def test_benchmark_image_and_separate_truth_file(tmp_path, sim):
    _benchmark_file(tmp_path / "img.mat", sim, with_truth=False)
    sio.savemat(tmp_path / "end4.mat", {"M": sim.endmembers, "A": _column_major(sim.abundances), "cood": NAMES,
                                        "nEnd": 4.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)
        s = load(tmp_path / "img.mat", truth=tmp_path / "end4.mat")
    np.testing.assert_allclose(s.abundances, sim.abundances, atol=1e-7)
    assert s.endmember_names == NAMES


def test_pixels_by_bands_matrix_is_transposed(tmp_path, sim):
    L, H, W = sim.shape
    sio.savemat(tmp_path / "t.mat", {"Y": _column_major(sim.cube).T, "nRow": float(H), "nCol": float(W)})
    s = load(tmp_path / "t.mat")
    np.testing.assert_allclose(s.cube, sim.cube, rtol=1e-6)
    assert any("stored as pixels x bands" in n for n in s.notes)


def test_truth_file_with_an_abundance_cube_beside_M(tmp_path, sim):
    """An (H, W, p) abundance cube beside M is attached (transposed, noted), not dropped."""
    sio.savemat(tmp_path / "gt.mat", {"M": sim.endmembers, "A": sim.abundances.transpose(1, 2, 0), "cood": NAMES,
                                      "extra": np.ones((3, 3))})
    t = load(tmp_path / "gt.mat")
    np.testing.assert_allclose(t.abundances, sim.abundances, atol=1e-7)
    assert any("H x W x p) transposed to (p, H, W)" in n for n in t.notes)
    assert any(n.startswith("ignored variables: extra (3, 3)") for n in t.notes)
    np.save(tmp_path / "img.npy", sim.cube)
    s = load(tmp_path / "img.npy", truth=tmp_path / "gt.mat")
    np.testing.assert_allclose(s.abundances, sim.abundances, atol=1e-7)


def test_library_files_with_their_names(tmp_path, sim):
    lib = np.hstack([sim.endmembers, sim.endmembers[:, :2] * 0.5])
    names = ["a", "b", "c", "d", "e", "f"]
    # a library stored as A: its columns are named, its rows match the wavelengths -> a library
    sio.savemat(tmp_path / "libA.mat", {"A": lib, "names": names, "wavelength": sim.wavelengths})
    with pytest.warns(LayoutWarning, match=r"'A' read as a spectral library, not abundances \(library: its 224 "
                                           r"rows match the 224 wavelengths in 'wavelength'; library: the 6 names"):
        s = load(tmp_path / "libA.mat")
    assert s.layout == "library" and s.library.shape == (224, 6) and s.library_names == names
    assert s.abundances is None and s.wavelengths is not None
    assert "'A' read as a spectral library, not abundances" in s.notes[0]
    # A whose columns sum to one and with names for its rows: abundances (HySUPP keeps it as (p, N))
    A = sim.abundances.reshape(4, -1)
    t = load_truth_like(tmp_path, {"A": A, "labels": NAMES})
    assert t.abundances.shape == (4, 600) and t.library is None
    # nothing tells: refused, with both remedies
    sio.savemat(tmp_path / "amb.mat", {"A": np.random.default_rng(0).random((30, 40))})
    with pytest.raises(LayoutError, match=r"'A' \(30 x 40\) could be a spectral library \(bands x spectra\) or "
                                          r"abundances \(p x N\).*load_library\(path, key='A'\).*truth_key='A'"):
        load(tmp_path / "amb.mat")
    assert load_library(tmp_path / "amb.mat", key="A").library.shape == (30, 40)


def load_truth_like(tmp_path, variables):
    sio.savemat(tmp_path / "a.mat", variables)
    return load(tmp_path / "a.mat")


def test_load_library_reads_any_library_file(tmp_path, sim, shared_data):
    usgs = load_library(shared_data / "usgs/USGS_1995_Library.mat")
    assert usgs.library.shape == (224, 498) and len(usgs.library_names) == 498
    ee = load_library(shared_data / "dc1/DC1_EE.mat")
    assert ee.library.shape == (224, 240)
    # a truth file: its endmembers are the library
    truth = load_library(shared_data / "samson/end3.mat")
    assert truth.library.shape == (156, 3) and truth.library_names == ["1-rock", "2-Tree", "3-water"]
    # a library stored spectra x bands, told by its wavelengths
    sio.savemat(tmp_path / "rows.mat", {"S": sim.endmembers.T, "wl": sim.wavelengths})
    s = load_library(tmp_path / "rows.mat", key="S")
    assert s.library.shape == (224, 4) and any("transposed to bands x spectra" in n for n in s.notes)
    # an image file holds no library
    np.save(tmp_path / "cube.npy", sim.cube)
    with pytest.raises(InputError, match=r"cube\.npy' holds no spectral library \(read as 'cube'\); pass key="):
        load_library(tmp_path / "cube.npy")
    with pytest.raises(LayoutError, match=r"library variable 'X' has shape \(3, 4, 5\): a library is 2-D"):
        sio.savemat(tmp_path / "x.mat", {"X": np.ones((3, 4, 5)), "Y": np.ones((2, 2))})
        load_library(tmp_path / "x.mat", key="X")


def test_truth_key_picks_the_truth_variable(tmp_path, sim):
    sio.savemat(tmp_path / "gt.mat", {"endm": sim.endmembers, "abund_est": sim.abundances.reshape(4, -1) * 0.9,
                                      "abund_true": sim.abundances.reshape(4, -1)})
    np.save(tmp_path / "img.npy", sim.cube)
    s = load(tmp_path / "img.npy", truth=tmp_path / "gt.mat", truth_key="abund_true")
    np.testing.assert_allclose(s.abundances, sim.abundances, atol=1e-7)
    e = load(tmp_path / "img.npy", truth=tmp_path / "gt.mat", truth_key="endm")
    np.testing.assert_allclose(e.endmembers, sim.endmembers, rtol=1e-6)
    with pytest.raises(InputError, match="truth_key= names a variable of the truth file: pass truth= too"):
        load(tmp_path / "img.npy", truth_key="endm")
    with pytest.raises(LayoutError, match="no variable 'nope'"):
        load(tmp_path / "img.npy", truth=tmp_path / "gt.mat", truth_key="nope")


def test_srf_matrix_is_not_a_library(tmp_path, sim):
    """A 6 x 200 R_gt is a spectral response (6 sensor bands), not a 6-band library of 200 spectra."""
    wl = np.linspace(400, 2400, 200)
    centres = np.linspace(500, 2200, 6)
    R = np.exp(-0.5 * ((wl[None] - centres[:, None]) / 40.0) ** 2)
    sio.savemat(tmp_path / "r.mat", {"R_gt": R})
    with pytest.warns(LayoutWarning, match=r"'R_gt' \(6 x 200\) read as a spectral response"):
        found = load(tmp_path / "r.mat")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)      # named by key=: not a guess
        named = load(tmp_path / "r.mat", key="R_gt")
    for s in (found, named):
        assert s.layout == "srf" and s.library is None and s.extras["srf"].shape == (6, 200)
    assert load_library(tmp_path / "r.mat", key="R_gt").library.shape == (6, 200)   # when the user says so


def test_info_fails_on_an_unreadable_file(tmp_path, sim):
    sio.savemat(tmp_path / "two.mat", {"X1": sim.cube, "X2": 2 * sim.cube})
    res = CliRunner().invoke(main, ["info", str(tmp_path / "two.mat")])
    assert res.exit_code == 2 and "pass key= to choose one" in res.output and "X1" in res.output
    res = CliRunner().invoke(main, ["info", "--json", str(tmp_path / "two.mat")])
    assert res.exit_code == 2 and '"error"' in res.output
    ok = CliRunner().invoke(main, ["info", "--key", "X1", str(tmp_path / "two.mat")])
    assert ok.exit_code == 0, ok.output
    (tmp_path / "bad.mat").write_bytes(b"MATLAB 5.0 MAT-file garbage" + b"\0" * 10)
    bad = CliRunner().invoke(main, ["info", str(tmp_path / "bad.mat")])
    assert bad.exit_code == 2 and "not a valid v5/v7 .mat file" in bad.output
    assert describe(tmp_path / "two.mat")["layout"] is None   # the API still describes it
