"""Axis order (issue 18, deliverable 4): arrays and file cubes are checked (band count, spectral
smoothness), ambiguous cases refused, ``layout=`` overrides, SPy images accepted with their
wavelengths."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.io as sio

import hysupp
from hysupp.errors import InputError, LayoutError, LayoutWarning
from hysupp.io import load
from hysupp.io.arrays import as_cube, as_scene
from hysupp.io.axes import LAYOUTS, apply_layout, infer_axis_order, normalise_layout, roughness

REAL = ["envi_gamsberg/cubus_gamsberg_subset", "enmap_potsdam/enmap_potsdam_tile_128_0.tif",
        "cuprite/Rcuprite50x90x188.mat", "dc1/DC1_Y_clean.mat", "pavia_university/reg_pavia_dataset.mat",
        "aviris_salton_sea/salton_sea_roi.mat", "samson/samson_1.mat"]


@pytest.fixture(scope="module")
def sim():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hysupp.simulate("dirichlet", p=4, height=30, width=20, seed=1)


@pytest.mark.parametrize("rel", REAL)
def test_real_scenes_are_oriented_in_either_order(shared_data, rel):
    """Every shared real cube, given as (L, H, W) or (H, W, L), is read in its true order whatever
    the source's convention."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = load(shared_data / rel).cube
    for truth, arr in (("LHW", cube), ("HWL", cube.transpose(1, 2, 0))):
        for convention in ("LHW", "HWL", None):
            layout, ev = infer_axis_order(arr, convention=convention)
            assert layout == truth, (rel, truth, convention, ev)
            assert ev["decided_by"] == "spectral smoothness"


@pytest.mark.parametrize("rel", ["samson/samson_1.mat", "cuprite/Rcuprite50x90x188.mat",
                                 "pavia_university/reg_pavia_dataset.mat"])
def test_noisy_scenes_are_oriented_or_refused_never_misread(shared_data, rel):
    """With AWGN the answer stays right (30 dB) or becomes a refusal, or the convention when the
    convention's band axis is the smoothest (10-20 dB): never another order."""
    from hysupp.physics.noise import add_awgn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = load(shared_data / rel, dtype=np.float64).cube
    L = cube.shape[0]
    for snr in (30, 20, 10):
        noisy = add_awgn(cube.reshape(L, -1), snr, seed=0).reshape(cube.shape)
        for truth, arr in (("LHW", noisy), ("HWL", noisy.transpose(1, 2, 0))):
            for convention in ("LHW", "HWL"):
                try:
                    layout, ev = infer_axis_order(arr, convention=convention)
                except LayoutError:
                    assert snr < 30 and truth != convention
                    continue
                assert layout == truth, (rel, snr, truth, convention, ev)


@pytest.mark.parametrize("recipe", ["dirichlet", "grf"])
def test_simulated_scenes_are_oriented(recipe):
    """GRF maps are the smoothest images seen (roughness 0.13 against 0.07 for the spectra)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = hysupp.simulate(recipe, seed=2).cube
    assert infer_axis_order(cube)[0] == "LHW"
    assert infer_axis_order(cube.transpose(1, 2, 0))[0] == "HWL"
    assert infer_axis_order(cube.transpose(2, 1, 0))[0] == "HWL"   # (W, H, L): bands last, image axes swapped


def test_roughness_of_noise_and_smooth_sequences():
    rng = np.random.default_rng(0)
    assert roughness(rng.standard_normal((64, 10, 10)), 0) == pytest.approx(np.sqrt(2), rel=0.05)
    smooth = np.sin(np.linspace(0, 3, 200))[:, None, None] + 0.01 * rng.standard_normal((200, 40, 40))
    assert roughness(smooth, 0) < 0.05          # the 4 x 4 averaging over the other axes removes the noise
    assert np.isnan(roughness(np.ones((5, 4, 4)), 0))   # shorter than 8
    assert np.isnan(roughness(np.ones((9, 4, 4)), 0))   # constant


def test_band_count_decides(sim):
    arr = sim.cube.transpose(1, 2, 0)   # (30, 20, 224)
    layout, ev = infer_axis_order(arr, wavelengths=sim.wavelengths)
    assert (layout, ev["decided_by"]) == ("HWL", "band count")
    with pytest.raises(LayoutError, match=r"no axis has the 7 bands of the wavelengths; pass layout="):
        infer_axis_order(arr, n_bands=7)


def test_multispectral_and_single_band(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wv2 = load(shared_data / "pansharpening_wv2/imgWV2.mat")
    ms, pan = wv2.cube, wv2.extras["pan"]          # (8, 320, 320), (1, 1280, 1280)
    assert infer_axis_order(ms.transpose(1, 2, 0)) == ("HWL", infer_axis_order(ms.transpose(1, 2, 0))[1])
    assert infer_axis_order(ms)[1]["decided_by"] == "multispectral"   # 8 rough bands beside two alike axes
    assert infer_axis_order(ms[:5])[1]["decided_by"] == "few bands"   # 5 bands: too short to measure
    assert infer_axis_order(pan.transpose(1, 2, 0))[0] == "HWL"
    sub = ms[:, :40, :40]
    many = np.concatenate([sub, sub[::-1], sub, sub[::-1]], axis=0)     # 32 jagged "bands"
    assert infer_axis_order(many.transpose(1, 2, 0))[1]["decided_by"] in ("multispectral", "spectral smoothness")


def test_structureless_data_follow_the_convention_or_are_refused():
    noise = np.random.default_rng(0).random((12, 10, 9))
    assert infer_axis_order(noise, convention="LHW")[0] == "LHW"
    with pytest.warns(LayoutWarning, match="the values do not confirm the order: pass layout= to state it"):
        as_cube(noise)
    assert infer_axis_order(noise, convention="HWL")[0] == "HWL"
    with pytest.raises(LayoutError, match=r"the axis order is ambiguous.*layout='LHW'.*layout='HWL'"):
        infer_axis_order(noise)
    tiny = np.arange(24.0).reshape(2, 3, 4)
    assert infer_axis_order(tiny, convention="LHW")[1]["decided_by"] == "convention"


def _smooth_image_rough_third_axis(n: int = 50) -> np.ndarray:
    """(40, 40, n): an image equally smooth along axes 0 and 1, noise along axis 2 (longer than a
    multispectral band count): nothing says which axis holds the bands."""
    y, x = np.mgrid[0:40, 0:40] / 40.0
    rng = np.random.default_rng(0)
    return (np.sin(3 * y) + np.sin(3 * x))[:, :, None] + 0.5 * rng.random((40, 40, n))


def test_ambiguous_evidence_against_the_convention_is_refused():
    arr = _smooth_image_rough_third_axis()
    with pytest.raises(LayoutError, match="ambiguous"):
        infer_axis_order(arr, convention="HWL")


def test_layout_names():
    assert normalise_layout("hwl") == "HWL" and normalise_layout("(H, W, B)") == "HWL"
    assert normalise_layout("CHW") == "LHW" and len(LAYOUTS) == 6
    with pytest.raises(LayoutError, match="not an order of the three axes"):
        normalise_layout("HWX")
    arr = np.zeros((2, 3, 4))
    assert apply_layout(arr, "HWL").shape == (4, 2, 3) and apply_layout(arr, "WLH").shape == (3, 4, 2)


# ------------------------------------------------------------------------------------------------
# readers and arrays
# ------------------------------------------------------------------------------------------------

def test_array_passed_bands_last_is_transposed_with_a_warning(sim):
    hwl = sim.cube.transpose(1, 2, 0)
    with pytest.warns(LayoutWarning, match=r"read as HWL.*not the LHW convention"):
        cube = as_cube(hwl)
    np.testing.assert_array_equal(cube, sim.cube)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(as_cube(sim.cube), sim.cube)                 # already LHW: no warning
        np.testing.assert_array_equal(as_cube(hwl, layout="HWL"), sim.cube)       # explicit: no warning
    s = as_scene(hwl, layout="HWL", wavelengths=sim.wavelengths, name="x")
    assert s.shape == sim.shape and s.wavelengths.size == 224 and any("layout='HWL' given" in n for n in s.notes)


def test_npy_and_mat_cubes_in_the_unconventional_order(tmp_path, sim):
    np.save(tmp_path / "hwl.npy", sim.cube.transpose(1, 2, 0))
    with pytest.warns(LayoutWarning):
        s = load(tmp_path / "hwl.npy")
    np.testing.assert_array_equal(s.cube, sim.cube)
    sio.savemat(tmp_path / "lhw.mat", {"cube": sim.cube})       # saved (L, H, W): not the MATLAB convention
    with pytest.warns(LayoutWarning, match=r"MATLAB H x W x L by convention.*read as LHW"):
        m = load(tmp_path / "lhw.mat")
    np.testing.assert_array_equal(m.cube, sim.cube)
    sio.savemat(tmp_path / "hwl.mat", {"cube": sim.cube.transpose(1, 2, 0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        np.testing.assert_array_equal(load(tmp_path / "hwl.mat").cube, sim.cube)


def test_layout_override_in_load(tmp_path, sim):
    np.save(tmp_path / "a.npy", sim.cube.transpose(2, 1, 0))     # (W, H, L)
    s = load(tmp_path / "a.npy", layout="WHL")
    np.testing.assert_array_equal(s.cube, sim.cube)
    sio.savemat(tmp_path / "a.mat", {"X": sim.cube.transpose(1, 0, 2)})   # (H, L, W)
    np.testing.assert_array_equal(load(tmp_path / "a.mat", layout="HLW").cube, sim.cube)
    with pytest.raises(InputError, match=r"layout= orders the axes of an array in a \.mat/\.npy/\.npz file"):
        load(tmp_path / "x.tif", layout="LHW")
    sio.savemat(tmp_path / "lib.mat", {"D": sim.endmembers})
    with pytest.raises(LayoutError, match=r"layout='LHW' orders the axes of a 3-D image, but the file was read as "
                                          r"'hysupp'"):
        load(tmp_path / "lib.mat", layout="LHW")


def test_ambiguous_file_cube_is_refused_with_the_remedy(tmp_path):
    sio.savemat(tmp_path / "amb.mat", {"X": _smooth_image_rough_third_axis()})
    with pytest.raises(LayoutError, match=r"amb\.mat: array of shape \(40, 40, 50\): the axis order is ambiguous"
                                          r".*Pass layout= \(--layout\)"):
        load(tmp_path / "amb.mat")
    assert load(tmp_path / "amb.mat", layout="HWL").shape == (50, 40, 40)


def test_spectral_image_objects(tmp_path, sim):
    """SPy SpyFile (spectral.open_image) and ImageArray (SpyFile.load()) give their wavelengths and FWHM."""
    spectral = pytest.importorskip("spectral")
    from hysupp.io.envi import save_envi

    fwhm = np.full(224, 10.0)
    hdr, _ = save_envi(tmp_path / "s.hdr", sim.cube, wavelengths=sim.wavelengths, fwhm=fwhm)
    img = spectral.open_image(str(hdr))
    for obj in (img, img.load()):
        s = as_scene(obj)
        np.testing.assert_allclose(s.cube, sim.cube, rtol=1e-6)
        np.testing.assert_allclose(s.wavelengths, sim.wavelengths)
        np.testing.assert_allclose(s.fwhm, fwhm)
        assert s.layout == "spectral"
        t = load(obj)                                   # load() takes the object too (float32, units recorded)
        assert t.cube.dtype == np.float32 and t.extras["units"]["kind"] == "reflectance"
    with pytest.raises(InputError, match="layout= does not apply to a SPy image"):
        as_scene(img, layout="HWL")


def test_objects_that_are_not_images_are_refused():
    with pytest.raises(InputError, match=r"cannot read an object of type builtins\.dict"):
        as_scene({"a": 1})
    with pytest.raises(InputError, match=r"image array is boolean"):
        as_scene(np.zeros((3, 4, 5), bool))
    with pytest.raises(InputError, match=r"must be a cube \(L, H, W\), got shape \(3, 4\)"):
        as_scene(np.zeros((3, 4)))
