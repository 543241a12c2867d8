"""Spectral library tools: the DC1 pruning, band selection/resampling, named libraries, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hysupp import Scene
from hysupp.datasets import named_library, usgs_library
from hysupp.errors import InputError, ParameterError
from hysupp.io import load
from hysupp.libraries import (library_for_scene, min_pairwise_angle, nearest_bands,
                              prune_library, resample_library, select_bands, sort_by_min_angle,
                              spectral_angles, take_atoms)


@pytest.fixture(scope="module")
def EE(shared_data: Path) -> np.ndarray:
    return scipy.io.loadmat(shared_data / "dc1" / "DC1_EE.mat")["EE"]


@pytest.fixture(scope="module")
def cuprite(shared_data: Path) -> tuple[Scene, dict]:
    d = shared_data / "cuprite"
    crop = load(d / "Rcuprite50x90x188.mat", truth=d / "groundTruth_Cuprite_nEnd12.mat")
    return crop, scipy.io.loadmat(d / "groundTruth_Cuprite_nEnd12.mat")


# ------------------------------------------------------------------------------ pruning
def test_prune_reproduces_dc1_library_set_and_order(EE: np.ndarray) -> None:
    D = usgs_library().library
    keep = prune_library(D, 4.44)
    assert keep.size == 240
    assert np.all(np.diff(keep) > 0)  # library order
    assert min_pairwise_angle(D[:, keep]) >= 4.44
    # EE's columns are library columns, bit for bit
    ee_cols = np.array([int(np.flatnonzero((D == EE[:, [j]]).all(axis=0))[0]) for j in range(EE.shape[1])])
    assert set(ee_cols.tolist()) == set(keep.tolist())
    ordered = prune_library(D, 4.44, order="min_angle")
    np.testing.assert_array_equal(ordered, ee_cols)
    np.testing.assert_array_equal(D[:, ordered], EE)
    # the published comment of the SUnSAL-TV demos: the first atoms are the two Jarosites
    names = usgs_library().library_names
    assert [names[k] for k in ordered[:3]] == ["Jarosite GDS99 K,Sy 200C", "Jarosite GDS101 Na,Sy 200",
                                               "Anorthite HS349.3B"]


def test_dc1_library_min_angle_and_margin(EE: np.ndarray) -> None:
    ang = spectral_angles(EE)
    assert np.array_equal(ang, ang.T)
    np.fill_diagonal(ang, np.inf)
    assert ang.min() >= 4.44
    # no pair angle of the full library lies within 1e-4 deg of the threshold: result is BLAS-proof
    full = spectral_angles(usgs_library().library)
    assert np.abs(full[np.triu_indices_from(full, 1)] - 4.44).min() > 1e-4
    order, m = sort_by_min_angle(EE)
    np.testing.assert_array_equal(order, np.arange(240))  # EE is already in min-angle order
    assert np.all(np.diff(m) >= 0) and m[0] == m[1]


def test_named_pruned_library_matches_ee(EE: np.ndarray) -> None:
    lib = named_library("usgs1995-pruned")
    np.testing.assert_array_equal(lib.library, EE)
    assert len(lib.library_names) == 240 and lib.library_names[1] == "Jarosite GDS101 Na,Sy 200"
    assert lib.extras["atom_index"].shape == (240,)
    lib.library[:] = 0  # a copy: the next call is unaffected
    assert named_library("USGS_1995 pruned").library.max() > 0


def test_prune_small_cases_and_errors() -> None:
    D = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 0.05, 0.1, 1.0]])
    assert prune_library(D, 4.0).tolist() == [0, 2, 3]
    assert prune_library(D, 0.0).tolist() == [0, 1, 2, 3]
    assert prune_library(D, 90.0).tolist() == [0, 3]  # exactly 90 deg apart is kept
    with pytest.raises(ParameterError, match="min_angle_deg"):
        prune_library(D, -1)
    with pytest.raises(ParameterError, match="order"):
        prune_library(D, 1.0, order="random")
    with pytest.raises(InputError, match=r"columns \[1\] are all zero"):
        prune_library(np.array([[1.0, 0.0], [0.0, 0.0]]), 1.0)
    with pytest.raises(InputError, match=r"columns \[0\] hold NaN"):
        prune_library(np.array([[np.nan, 1.0], [1.0, 0.0]]), 1.0)
    with pytest.raises(InputError, match="2-D"):
        prune_library(np.ones(3), 1.0)


def test_take_atoms_composes_indices() -> None:
    s = Scene(library=np.eye(4), library_names=list("abcd"), name="toy")
    t = take_atoms(take_atoms(s, [3, 1, 0]), [2, 0], note="sub")
    assert t.library_names == ["a", "d"] and t.extras["atom_index"].tolist() == [0, 3]
    assert t.notes[-1] == "sub"
    with pytest.raises(InputError, match="out of range"):
        take_atoms(s, [4])


# ------------------------------------------------------------------------------ band matching
def test_cuprite_selection_picks_slctbnds(cuprite: tuple[Scene, dict]) -> None:
    crop, gt = cuprite
    wl224 = gt["waveLength"].ravel() * 1000.0  # AVIRIS channel order (spectrometers overlap)
    slct = gt["slctBnds"].ravel().astype(int) - 1
    assert crop.n_bands == 188
    np.testing.assert_array_equal(nearest_bands(wl224, crop.wavelengths, tol_nm=0.0), slct)
    M = gt["M"]
    D, idx = select_bands(M, wl224, crop.wavelengths, return_index=True)
    np.testing.assert_array_equal(idx, slct)
    np.testing.assert_array_equal(D, M[slct])
    # the same through Scenes: a 224-band library matched to the 188-band crop
    lib = Scene(library=M, library_names=[f"m{k}" for k in range(12)], wavelengths=wl224, name="gt224")
    out = library_for_scene(lib, crop)
    np.testing.assert_array_equal(out.extras["band_index"], slct)
    np.testing.assert_array_equal(out.library, M[slct])
    np.testing.assert_array_equal(out.wavelengths, crop.wavelengths)
    assert "selected by nearest centre" in out.notes[-1]


def test_usgs1995_on_cuprite_grid_is_resampled(cuprite: tuple[Scene, dict]) -> None:
    """USGS 1995's AVIRIS calibration is 17-33 nm off the Cuprite truth file's channel for channel:
    nearest selection within 1 nm fails (naming the worst band); auto mode interpolates."""
    crop, gt = cuprite
    usgs = usgs_library()
    with pytest.raises(InputError, match=r"target wavelength \d+\.\d+ nm .* beyond tol_nm=1; "
                                         r"\d+ of 188 target bands"):
        select_bands(usgs.library, usgs.wavelengths, crop.wavelengths)
    out = library_for_scene(usgs, crop)
    assert out.library.shape == (188, 498) and "band_index" not in out.extras
    assert "linear interpolation" in out.notes[-1]
    j = 100
    expected = np.array([np.interp(crop.wavelengths[j], usgs.wavelengths, usgs.library[:, k])
                         for k in range(498)])
    np.testing.assert_allclose(out.library[j], expected, rtol=0, atol=1e-12)
    # forcing selection with a loose tolerance picks nearest channels, not slctBnds
    sel = library_for_scene(usgs, crop, method="select", tol_nm=5.0)
    slct = gt["slctBnds"].ravel().astype(int) - 1
    assert not np.array_equal(sel.extras["band_index"], slct)


def test_resample_linear_and_gaussian() -> None:
    wl = np.arange(400.0, 1001.0, 1.0)
    D = np.stack([wl / 1000.0, np.ones_like(wl), (wl - 700.0) ** 2], axis=1)
    np.testing.assert_allclose(resample_library(D, wl, wl), D, atol=0)
    out = resample_library(D, wl, [500.5, 999.0])
    np.testing.assert_allclose(out[:, :2], [[0.5005, 1.0], [0.999, 1.0]], atol=1e-12)
    # unsorted source grid gives the same result
    perm = np.random.default_rng(0).permutation(wl.size)
    np.testing.assert_allclose(resample_library(D[perm], wl[perm], [500.5, 999.0]), out, atol=1e-12)
    # Gaussian band integration: exact for a ramp at a grid-centred symmetric response; a
    # quadratic gains the response variance sigma^2
    g = resample_library(D, wl, [700.0], dst_fwhm=20.0)
    sigma2 = np.sum(np.exp(-0.5 * ((wl - 700) / (20 / 2.3548200450309493)) ** 2) * (wl - 700) ** 2) \
        / np.sum(np.exp(-0.5 * ((wl - 700) / (20 / 2.3548200450309493)) ** 2))
    np.testing.assert_allclose(g[0], [0.7, 1.0, sigma2], rtol=1e-10)
    assert abs(sigma2 - (20 / 2.3548200450309493) ** 2) < 0.1


def test_library_for_scene_uses_fwhm_when_known() -> None:
    wl = np.arange(400.0, 1001.0, 2.0)
    lib = Scene(library=np.stack([wl, np.ones_like(wl)], axis=1), wavelengths=wl, fwhm=np.full(wl.size, 2.0),
                name="lib")
    # centres within tol_nm of library bands, but 10 nm wide bands against 2 nm: integrate
    img = Scene(cube=np.zeros((3, 2, 2)), wavelengths=[500.5, 600.5, 700.5], fwhm=[10.0, 10.0, 10.0], name="ms")
    out = library_for_scene(lib, img)
    assert "Gaussian band integration with the scene's FWHM and the library's FWHM" in out.notes[-1]
    np.testing.assert_allclose(out.library[:, 1], 1.0, rtol=1e-12)
    np.testing.assert_allclose(out.library[:, 0], [500.5, 600.5, 700.5], atol=1e-3)
    np.testing.assert_array_equal(out.fwhm, [10.0, 10.0, 10.0])
    # same centres and widths: selection
    same = Scene(cube=np.zeros((2, 1, 1)), wavelengths=[500.3, 600.0], fwhm=[2.1, 2.0], name="hs")
    sel = library_for_scene(lib, same)
    assert sel.extras["band_index"].tolist() == [50, 100]
    np.testing.assert_array_equal(sel.library[:, 0], [500.0, 600.0])
    # forced resampling without FWHM on the scene: linear
    lin = library_for_scene(lib, Scene(cube=np.zeros((1, 1, 1)), wavelengths=[500.3]), method="resample")
    assert "linear interpolation" in lin.notes[-1]
    np.testing.assert_allclose(lin.library[0, 0], 500.3, atol=1e-12)


def test_errors_name_the_offending_wavelength() -> None:
    wl = np.linspace(400.0, 1000.0, 61)
    D = np.ones((61, 2))
    with pytest.raises(InputError, match=r"target wavelength 1200\.00 nm \(target band 1\) lies 200\.00 nm "
                                         r"above the library's wavelength range 400\.00-1000\.00 nm; 2 of 3"):
        resample_library(D, wl, [500.0, 1200.0, 1100.0])
    with pytest.raises(InputError, match=r"target wavelength 1200\.00 nm \(target band 1\) lies 200\.00 nm "
                                         r"above"):
        resample_library(D, wl, [500.0, 1200.0], dst_fwhm=10.0)
    with pytest.raises(InputError, match=r"target wavelength 2000\.00 nm \(target band 0\) is 1000\.00 nm from "
                                         r"the nearest library band \(1000\.00 nm, band 60\)"):
        select_bands(D, wl, [2000.0, 500.0])
    with pytest.raises(InputError, match="micrometres"):
        resample_library(D, wl, [0.5, 0.6])
    with pytest.raises(InputError, match="61 bands .* 60 source wavelengths"):
        resample_library(D, wl[:60], [500.0])
    with pytest.raises(InputError, match="Gaussian resampling .* does not cover"):
        resample_library(D, wl, [1000.0], dst_fwhm=50.0)
    lib = Scene(library=D, wavelengths=wl, name="lib")
    with pytest.raises(InputError, match="no wavelengths and 4 bands, the library 'lib' has 61"):
        library_for_scene(lib, Scene(cube=np.zeros((4, 1, 1)), name="img"))
    with pytest.raises(InputError, match="lies .* below"):
        library_for_scene(lib, Scene(cube=np.zeros((2, 1, 1)), wavelengths=[300.0, 500.0], name="img"))


def test_named_library() -> None:
    lib = named_library("usgs1995")
    assert lib.library.shape == (224, 498) and lib.wavelengths.shape == (224,)
    assert named_library("USGS-1995").library_names == lib.library_names
    with pytest.raises(InputError, match="unknown library 'usgs2007'; available: usgs1995"):
        named_library("usgs2007")


def test_named_libraries_are_datasets_over_the_shipped_loader() -> None:
    # the shipped loader (below simulate and datasets) is shared, never modified by a named library
    from hysupp.datasets import AVIRIS_CUPRITE_188
    from hysupp.io.shipped import usgs_library as shipped
    from hysupp.simulate.dc import dc_library

    assert usgs_library() is shipped()
    full = named_library("usgs1995")
    assert full.extras["band_subsets"][188][0] == AVIRIS_CUPRITE_188
    assert "band_subsets" not in shipped().extras
    full.library[:] = 0.0                                   # a copy
    assert shipped().library.max() > 0
    pruned, dc = named_library("usgs1995-pruned"), dc_library()
    np.testing.assert_array_equal(pruned.library, dc.library)
    assert pruned.library_names == dc.library_names and pruned.name == dc.name == "USGS_1995_Library_pruned_4.44"
    assert pruned.extras["band_subsets"][188][0] == AVIRIS_CUPRITE_188 and "band_subsets" not in dc.extras
    np.testing.assert_array_equal(pruned.extras["atom_index"], dc.extras["atom_index"])
