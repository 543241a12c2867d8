"""Real-scene cases on the reader side (issue 18, "done when"): the Samson scene and its reference
endmembers, stored in other units (x 1e-4 .. x 1e6, integer and float), as a GDAL-scaled GeoTIFF,
in the other axis order, against a library in other units, with all-nodata bands and degenerate
pixels. Every case gives the right answer (FCLS abundances equal to those of the original
reflectance data: a result must not change when only the units or the axis order change) or a
specific error or warning, never a silent wrong result."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.io as sio

from hysupp.errors import InputError, LayoutError, LayoutWarning, UnitsWarning
from hysupp.io import load, save
from hysupp.io.units import harmonise_units
from hysupp.optim.fcls import fcls
from hysupp.scene import Georef, Scene

UTM = Georef(crs="EPSG:32611", transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 3700000.0))


@pytest.fixture(scope="module")
def samson(shared_data):
    s = load(shared_data / "samson/samson_1.mat", truth=shared_data / "samson/end3.mat", dtype=np.float64)
    s.wavelengths = np.linspace(401.0, 889.0, s.n_bands)   # Samson's 156 bands, 3.13 nm apart
    return s


@pytest.fixture(scope="module")
def reference(samson):
    A, _ = fcls(samson.pixels(), samson.endmembers, dtype=np.float64)
    return A


def _library(samson, factor=1.0):
    return Scene(library=samson.endmembers * factor, wavelengths=samson.wavelengths,
                 library_names=samson.endmember_names, name="samson-M")


def _abundances(image: Scene, library: Scene):
    out = harmonise_units(image, library)
    Y = out.image.pixels().astype(np.float64)
    valid = np.ones(Y.shape[1], bool) if out.image.mask is None else out.image.mask.ravel()
    lib = (out.library or library).library.astype(np.float64)
    A, _ = fcls(Y[:, valid], lib, dtype=np.float64)
    return A, valid, out


SCALES = [(1e-4, "float32"), (1e-2, "float32"), (1.0, "float32"), (1e2, "float32"), (1e3, "float32"),
          (1e4, "float32"), (1e4, "int16"), (1e4, "uint16"), (1e5, "float64"), (1e5, "int32"), (1e6, "float32"),
          (1e6, "int32")]


@pytest.mark.parametrize("factor, dtype", SCALES)
def test_scaled_scene_gives_the_reference_abundances(tmp_path, samson, reference, factor, dtype):
    stored = samson.cube * factor
    if np.dtype(dtype).kind in "iu":
        stored = np.round(stored)
    np.save(tmp_path / "s.npy", stored.astype(dtype))
    image = load(tmp_path / "s.npy")
    ctx = pytest.warns(UnitsWarning, match="units harmonised") if factor != 1.0 else warnings.catch_warnings()
    with ctx:
        if factor == 1.0:
            warnings.simplefilter("error", UnitsWarning)
        A, _, out = _abundances(image, _library(samson))
    assert out.image_factor == pytest.approx(1.0 / factor)
    tol = 5e-3 if np.dtype(dtype).kind in "iu" and factor <= 1e4 else 1e-4
    np.testing.assert_allclose(A, reference, atol=tol)


def test_factor_ten_is_refused(tmp_path, samson):
    np.save(tmp_path / "s.npy", (samson.cube * 10).astype(np.float32))
    with pytest.raises(InputError, match=r"no power of ten reconciles them: pass scale= \(--scale\)"):
        _abundances(load(tmp_path / "s.npy"), _library(samson))
    # the user's scale fixes it
    A, _, _ = _abundances(load(tmp_path / "s.npy", scale=0.1), _library(samson))
    assert A.shape == (3, 9025)


def test_gdal_scaled_geotiff(tmp_path, samson, reference):
    import rasterio
    from affine import Affine

    raw = np.round(samson.cube * 1e4).astype(np.int16)
    profile = {"driver": "GTiff", "width": 95, "height": 95, "count": raw.shape[0], "dtype": "int16",
               "crs": UTM.crs, "transform": Affine(*UTM.transform)}
    with rasterio.open(tmp_path / "s.tif", "w", **profile) as ds:
        ds.write(raw)
        ds.scales = [1e-4] * raw.shape[0]
    with pytest.warns(UnitsWarning, match="GDAL band scale 0.0001"):
        image = load(tmp_path / "s.tif")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)     # declared: nothing left to harmonise
        A, _, out = _abundances(image, _library(samson))
    assert out.note is None
    np.testing.assert_allclose(A, reference, atol=5e-3)
    # against a library in x 1e4 the declared image stays and the library follows it
    with pytest.warns(UnitsWarning, match="library multiplied by 1e-4"):
        A2, _, out2 = _abundances(image, _library(samson, 1e4))
    assert out2.image_factor == 1.0
    np.testing.assert_allclose(A2, reference, atol=5e-3)


def test_enmap_tile_is_reflectance_as_declared(shared_data):
    from hysupp.io.shipped import usgs_library
    from hysupp.libraries import library_for_scene

    with pytest.warns(UnitsWarning, match="GDAL band scale 0.0001"):
        tile = load(shared_data / "enmap_potsdam/enmap_potsdam_tile_128_0.tif")
    usgs = usgs_library()
    lib = library_for_scene(Scene(library=usgs.library, wavelengths=usgs.wavelengths, fwhm=usgs.fwhm,
                                  name="usgs"), Scene(cube=tile.cube[:, :1, :1], wavelengths=tile.wavelengths[:],
                                                      name="t")) if tile.wavelengths.min() > 383 else None
    if lib is None:
        pytest.skip("EnMAP bands outside the USGS library")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        assert harmonise_units(tile, lib).note is None


@pytest.mark.parametrize("where", ["npy-HWL", "mat-LHW", "mat-HWL", "array-HWL"])
def test_other_axis_order_gives_the_reference_abundances(tmp_path, samson, reference, where):
    kind, order = where.split("-")
    arr = samson.cube if order == "LHW" else samson.cube.transpose(1, 2, 0)
    against_convention = (kind in ("npy", "array") and order == "HWL") or (kind == "mat" and order == "LHW")
    ctx = pytest.warns(LayoutWarning, match=f"read as {order}") if against_convention else warnings.catch_warnings()
    with ctx:
        if kind == "npy":
            np.save(tmp_path / "s.npy", arr)
            image = load(tmp_path / "s.npy")
        elif kind == "mat":
            sio.savemat(tmp_path / "s.mat", {"samson": arr})
            image = load(tmp_path / "s.mat")
        else:
            image = load(arr)
    assert image.shape == samson.shape
    A, _, _ = _abundances(image, _library(samson))
    np.testing.assert_allclose(A, reference, atol=1e-4)


def test_unit_mismatched_library(samson, reference):
    with pytest.warns(UnitsWarning, match=r"library 'samson-M': reflectance x 10\^4.*library multiplied by 1e-4"):
        A, _, _ = _abundances(Scene(cube=samson.cube, name="samson"), _library(samson, 1e4))
    np.testing.assert_allclose(A, reference, atol=1e-6)
    with pytest.warns(UnitsWarning, match=r"image multiplied by 1e-4 and library multiplied by 1e-2"):
        A, _, _ = _abundances(Scene(cube=samson.cube * 1e4, name="samson"), _library(samson, 100.0))
    np.testing.assert_allclose(A, reference, atol=1e-6)


def test_all_nodata_bands_are_dropped_and_the_rest_agrees(tmp_path, samson):
    cube = np.round(samson.cube * 1e4).astype(np.int16)
    cube[[10, 11, 100]] = -9999
    scene = Scene(cube=cube, wavelengths=samson.wavelengths, georef=Georef(crs=UTM.crs, transform=UTM.transform,
                                                                           nodata=-9999.0), name="s")
    save(scene, tmp_path / "s.tif")
    image = load(tmp_path / "s.tif")
    assert image.n_bands == 153 and image.extras["kept_bands"].size == 153
    assert any("dropped 3 bad bands of 156" in n for n in image.notes)
    from hysupp.libraries import library_for_scene

    lib = library_for_scene(_library(samson), image)           # the library on the kept bands
    with pytest.warns(UnitsWarning, match="image multiplied by 1e-4"):
        A, _, _ = _abundances(image, lib)
    keep = image.extras["kept_bands"]
    ref, _ = fcls(samson.pixels()[keep], samson.endmembers[keep], dtype=np.float64)
    np.testing.assert_allclose(A, ref, atol=5e-3)


def test_degenerate_pixels_are_masked_and_the_rest_agrees(tmp_path, samson, reference):
    cube = (samson.cube * 1e4).astype(np.float32)
    cube[:, 0, :5] = -9999.0          # nodata pixels
    cube[40, 3, 3] = np.nan           # one NaN value
    cube[:, 5, 5] = np.inf
    scene = Scene(cube=cube, georef=Georef(crs=UTM.crs, transform=UTM.transform, nodata=-9999.0), name="d")
    save(scene, tmp_path / "d.tif")
    image = load(tmp_path / "d.tif")
    bad = np.zeros((95, 95), bool)
    bad[0, :5] = bad[3, 3] = bad[5, 5] = True
    np.testing.assert_array_equal(image.mask, ~bad)
    with pytest.warns(UnitsWarning):
        A, valid, _ = _abundances(image, _library(samson))
    np.testing.assert_allclose(A, reference[:, valid], atol=1e-4)


def test_degenerate_images_are_refused(tmp_path, samson):
    np.save(tmp_path / "zero.npy", np.zeros(samson.shape, np.float32))
    with pytest.raises(InputError, match=r"cannot unmix image 'zero'.*no power of ten reconciles them"):
        _abundances(load(tmp_path / "zero.npy"), _library(samson))
    np.save(tmp_path / "mask.npy", samson.cube > 0.3)
    with pytest.raises(InputError, match="boolean"):
        load(tmp_path / "mask.npy")


def test_benchmark_file_as_downloaded(tmp_path, samson, reference):
    """Samson in Zhu's benchmark layout stored as reflectance x maxValue = 5000: read back in
    reflectance, truth attached, abundances as from the original."""
    L, H, W = samson.shape
    colmajor = samson.cube.transpose(0, 2, 1).reshape(L, -1)
    A_cm = samson.abundances.transpose(0, 2, 1).reshape(3, -1)
    sio.savemat(tmp_path / "samson_R156.mat", {"Y": np.round(colmajor * 5000), "maxValue": 5000.0, "nRow": 95.0,
                                               "nCol": 95.0, "nBand": 156.0, "M": samson.endmembers, "A": A_cm,
                                               "cood": samson.endmember_names})
    with pytest.warns(UnitsWarning, match="maxValue = 5000"):
        image = load(tmp_path / "samson_R156.mat", dtype=np.float64)
    np.testing.assert_allclose(image.abundances, samson.abundances)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        A, _, _ = _abundances(image, _library(samson))
    np.testing.assert_allclose(A, reference, atol=5e-3)


def test_ambiguous_axis_order_is_refused(tmp_path, samson):
    """A cube whose values contradict the convention without singling out another band axis (a smooth
    image with noise along the axis the convention takes for the bands) is refused with the remedy,
    never guessed."""
    y, x = np.mgrid[0:60, 0:60] / 60.0
    arr = (np.sin(3 * y) + np.sin(3 * x))[:, :, None] + 0.3 * np.random.default_rng(0).random((60, 60, 40))
    np.save(tmp_path / "amb.npy", arr.transpose(2, 0, 1).astype(np.float32))
    with pytest.raises(LayoutError, match=r"amb\.npy': array of shape \(40, 60, 60\): the axis order is ambiguous.*"
                                          r"layout="):
        load(tmp_path / "amb.npy")
    assert load(tmp_path / "amb.npy", layout="LHW").shape == (40, 60, 60)
