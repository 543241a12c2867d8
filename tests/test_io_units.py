"""Units (issue 18, deliverable 2): declared scales applied and noted, reflectance x 10^k detected for
integer and float data, image/library mismatches harmonised with a warning or refused with an error
that names both ranges and the fix."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

import hysupp
from hysupp.errors import InputError, UnitsWarning
from hysupp.io import load, save
from hysupp.io.units import harmonise_units, infer_units
from hysupp.scene import Georef, Scene


@pytest.fixture(scope="module")
def sim() -> Scene:
    """A 224-band Dirichlet scene on USGS spectra (reflectance, 0.02 .. 0.92), with its endmembers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hysupp.simulate("dirichlet", p=4, height=24, width=24, seed=3)


def _lib(sim: Scene, factor: float = 1.0) -> Scene:
    return Scene(library=(sim.endmembers * factor).astype(np.float32), wavelengths=sim.wavelengths, name="lib")


# ------------------------------------------------------------------------------------------------
# classification
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [-6, -4, -2, 0, 2, 3, 4, 5, 6])
def test_float_reflectance_times_power_of_ten_is_recognised(sim, k):
    u = infer_units((sim.cube * 10.0 ** k).astype(np.float32), wavelengths=sim.wavelengths)
    assert u.exponent == k
    assert u.kind == ("reflectance" if k == 0 else "scaled-reflectance")
    assert u.factor == pytest.approx(10.0 ** -k)


@pytest.mark.parametrize("dtype, k", [(np.int16, 4), (np.uint16, 4), (np.int32, 6), (np.int16, 2)])
def test_integer_reflectance_is_recognised(sim, dtype, k):
    u = infer_units(np.round(sim.cube * 10 ** k).astype(dtype))
    assert (u.kind, u.exponent) == ("scaled-reflectance", k)
    assert u.evidence["integer_valued"]


def test_dark_integer_scene_prefers_the_common_x1e4():
    """Integer data whose 99th percentile is 120..1200 are x 10^4 (a dark scene), with x 10^3 reported."""
    dark = np.random.default_rng(0).uniform(0.01, 0.09, (30, 10, 10))
    u = infer_units(np.round(dark * 1e4).astype(np.int16))
    assert u.exponent == 4 and u.evidence["alternative_exponent"] == 3
    assert "or x 10^3" in u.describe()


def test_radiance_and_unknown_and_digital_numbers(sim):
    wl = sim.wavelengths
    sun = (wl / 500.0) ** -4.0 * np.exp(-((wl - 500.0) / 900.0) ** 2)   # falls ~50x from 500 to 2200 nm
    radiance = sim.cube * sun[:, None, None] * 150.0                    # W m-2 sr-1 um-1
    u = infer_units(radiance.astype(np.float32), wavelengths=wl)
    assert u.kind == "radiance" and u.exponent is None and u.evidence["swir_vis_ratio"] < 0.12
    per_nm = infer_units((radiance / 1000).astype(np.float32), wavelengths=wl)   # W m-2 sr-1 nm-1: 0 .. 0.2
    assert per_nm.kind == "reflectance" and "or radiance" in per_nm.describe()   # the documented limit
    assert infer_units(sim.cube * 6.0).kind == "unknown"                 # 1.2 < q99 <= 12: no convention
    dn = infer_units(np.round(sim.cube * 2047).astype(np.uint16), bit_depth=11)
    assert dn.kind == "dn" and dn.exponent is None and "11-bit" in dn.describe()
    with pytest.raises(InputError, match="boolean"):
        infer_units(sim.cube > 0.5)


def test_loaded_scene_records_units(tmp_path, sim):
    np.save(tmp_path / "i.npy", np.round(sim.cube * 1e4).astype(np.int16))
    s = load(tmp_path / "i.npy")
    assert s.extras["units"]["kind"] == "scaled-reflectance" and s.extras["units"]["exponent"] == 4
    assert s.extras["units"]["of"] == "cube"
    assert any("integer data kept as stored; pass scale=1e-4 for reflectance" in n for n in s.notes)
    assert float(s.cube.max()) > 1000   # detection only: nothing rescaled on a guess
    np.save(tmp_path / "f.npy", (sim.cube * 1e4).astype(np.float32))
    f = load(tmp_path / "f.npy")
    assert f.extras["units"]["exponent"] == 4
    assert any("if this is reflectance x 10^4 pass scale=1e-4" in n for n in f.notes)


# ------------------------------------------------------------------------------------------------
# declared scales
# ------------------------------------------------------------------------------------------------

def _scaled_geotiff(path, raw, scales, offsets, nodata=None):
    import rasterio
    from affine import Affine

    profile = {"driver": "GTiff", "width": raw.shape[2], "height": raw.shape[1], "count": raw.shape[0],
               "dtype": raw.dtype.name, "crs": "EPSG:32633", "transform": Affine(30, 0, 366000, 0, -30, 5810000)}
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(raw)
        ds.scales = scales
        ds.offsets = offsets


def test_geotiff_gdal_scale_and_offset_are_applied(tmp_path, sim):
    raw = np.round(sim.cube[:6] * 1e4).astype(np.int16)
    raw[:, 0, 0] = -9999
    _scaled_geotiff(tmp_path / "s.tif", raw, [1e-4] * 6, [0.0] * 5 + [0.01], nodata=-9999)
    with pytest.warns(UnitsWarning, match=r"GDAL band scale 0.0001, offsets 0 .. 0.01"):
        s = load(tmp_path / "s.tif")
    want = raw.astype(np.float32) * np.float32(1e-4)
    want[5] += np.float32(0.01)
    np.testing.assert_allclose(s.cube[:, 1:, 1:], want[:, 1:, 1:], rtol=1e-6)
    assert not s.mask[0, 0] and np.isnan(s.cube[:, 0, 0]).all()   # nodata masked before scaling
    assert s.georef.nodata == -9999
    assert s.extras["units"]["kind"] == "reflectance" and "GDAL band scale" in s.extras["units"]["declared"]
    assert any("applied the file's GDAL band scale" in n for n in s.notes)


def test_enmap_tiles_are_read_in_reflectance(shared_data):
    with pytest.warns(UnitsWarning, match="GDAL band scale 0.0001"):
        s = load(shared_data / "enmap_potsdam/enmap_potsdam_tile_128_0.tif")
    assert 0.5 < float(np.nanmax(s.cube)) < 1.0      # raw values reach 7432
    assert s.extras["units"]["kind"] == "reflectance"


def test_envi_gain_offset_and_reflectance_scale_factor(tmp_path, sim):
    raw = np.round(sim.cube[:5] * 2e4).astype(np.int16)   # x 1e4 after a gain of 0.5
    from hysupp.io.envi import save_envi

    hdr, img = save_envi(tmp_path / "e.hdr", raw.astype(np.float32))
    text = hdr.read_text() + "data gain values = {0.5, 0.5, 0.5, 0.5, 0.5}\nreflectance scale factor = 10000\n"
    hdr.write_text(text)
    with pytest.warns(UnitsWarning, match=r"ENVI header data gain values 0.5; reflectance scale factor 10000"):
        s = load(hdr)
    np.testing.assert_allclose(s.cube, raw * 0.5 / 1e4, rtol=1e-6)
    assert s.extras["units"]["kind"] == "reflectance" and "declared" in s.extras["units"]


# ------------------------------------------------------------------------------------------------
# harmonisation
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k, dtype", [(4, np.float32), (4, np.int16), (2, np.float32), (6, np.float64),
                                      (-4, np.float32), (3, np.float32), (5, np.float32)])
def test_image_in_other_units_is_brought_to_the_library(sim, k, dtype):
    stored = sim.cube * 10.0 ** k
    img = Scene(cube=np.round(stored).astype(dtype) if np.dtype(dtype).kind == "i" else stored.astype(dtype),
                name="img")
    with pytest.warns(UnitsWarning, match=rf"reflectance x 10\^{k}.*image multiplied by 1e{-k}"):
        out = harmonise_units(img, _lib(sim))
    assert out.image_factor == pytest.approx(10.0 ** -k) and out.library_factor == 1.0
    np.testing.assert_allclose(out.image.cube, sim.cube, atol=6e-5 if np.dtype(dtype).kind == "i" else 1e-6)
    assert out.note in out.image.notes and isinstance(out.warning, UnitsWarning)


def test_library_in_other_units_is_brought_to_the_image(sim):
    with pytest.warns(UnitsWarning, match=r"library multiplied by 1e-4"):
        out = harmonise_units(Scene(cube=sim.cube, name="img"), _lib(sim, 1e4))
    np.testing.assert_allclose(out.library.library, sim.endmembers, rtol=1e-6)
    assert out.image.cube is sim.cube


def test_attached_library_and_same_units(sim):
    both = Scene(cube=(sim.cube * 1e4).astype(np.float32), library=(sim.endmembers * 1e4).astype(np.float32),
                 name="img")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = harmonise_units(both)                 # both x 10^4: they agree, nothing changes
    assert same.note is None and same.image is both
    mixed = replace(both, library=sim.endmembers.astype(np.float32))
    with pytest.warns(UnitsWarning):
        out = harmonise_units(mixed)                 # the attached library stays, the image is scaled
    assert out.library is None and float(out.image.cube.max()) < 1.0
    np.testing.assert_array_equal(out.image.library, mixed.library)


def test_irreconcilable_units_are_refused_with_both_ranges_and_the_fix(sim):
    wl = sim.wavelengths
    sun = (wl / 500.0) ** -4.0 * np.exp(-((wl - 500.0) / 900.0) ** 2)
    radiance = Scene(cube=(sim.cube * sun[:, None, None] * 150.0).astype(np.float32), wavelengths=wl, name="rad")
    with pytest.raises(InputError, match=r"cannot unmix image 'rad': radiance.*over library 'lib': reflectance.*"
                                         r"pass scale= \(--scale\).*library_scale="):
        harmonise_units(radiance, _lib(sim))
    odd = Scene(cube=(sim.cube * 6.5).astype(np.float32), name="odd")   # a factor that is not 10^k
    with pytest.raises(InputError, match=r"99th percentile 5\.\d+.*no power of ten reconciles them"):
        harmonise_units(odd, _lib(sim))
    dn = Scene(cube=np.round(sim.cube * 2047).astype(np.uint16), extras={"bit_depth": 11}, name="dn")
    with pytest.raises(InputError, match="digital numbers"):
        harmonise_units(dn, _lib(sim))


def test_fixed_sides(sim):
    """A scale the user gave (or the file declared) is never overridden: the other side follows it."""
    img = Scene(cube=(sim.cube * 1e4).astype(np.float32), name="img")
    with pytest.warns(UnitsWarning, match=r"library multiplied by 1e4"):
        out = harmonise_units(img, _lib(sim), image_fixed=True)
    assert out.image_factor == 1.0 and float(out.library.library.max()) > 1000
    with pytest.raises(InputError, match="both scales are declared by the files or given"):
        harmonise_units(img, _lib(sim), image_fixed=True, library_fixed=True)
    bright = Scene(cube=(sim.cube * 1.6).astype(np.float32), name="snow")   # q99 > 1.2: refused unless vouched for
    with pytest.raises(InputError):
        harmonise_units(bright, _lib(sim))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert harmonise_units(bright, _lib(sim), image_fixed=True).note is None


def test_declared_scale_counts_as_fixed(tmp_path, sim):
    raw = np.round(sim.cube * 1e4).astype(np.int16)
    _scaled_geotiff(tmp_path / "s.tif", raw, [1e-4] * raw.shape[0], [0.0] * raw.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)
        s = load(tmp_path / "s.tif")
    with pytest.warns(UnitsWarning, match=r"declared by the file: GDAL band scale 0.0001.*library multiplied by 1e-4"):
        out = harmonise_units(s, _lib(sim, 1e4))
    assert out.image_factor == 1.0


def test_gamsberg_image_and_its_own_library(shared_data):
    """The issue's case: the ENVI image reaches 5837, its field library 0.59: every pixel went to 100 %
    on one atom. Harmonised, the image is in reflectance and within the library's range."""
    from hysupp.libraries import library_for_scene

    img = load(shared_data / "envi_gamsberg/cubus_gamsberg_subset")
    lib = load(shared_data / "envi_gamsberg/gamsberg_field_library")
    assert img.extras["units"]["exponent"] == 4 and lib.extras["units"]["exponent"] == 0
    matched = library_for_scene(lib, img)
    with pytest.warns(UnitsWarning, match=r"image 'cubus_gamsberg_subset': reflectance x 10\^4.*"
                                          r"image multiplied by 1e-4"):
        out = harmonise_units(img, matched)
    assert float(out.image.cube.max()) == pytest.approx(0.58372, abs=1e-4)
    assert 0.3 < np.percentile(out.image.cube, 99) / np.percentile(matched.library, 99) < 3


def test_berlin_library_x1e4_against_a_reflectance_image(shared_data):
    lib = load(shared_data / "envi_library_berlin/library_berlin.sli")
    assert lib.extras["units"]["exponent"] == 4 and lib.extras["units"]["of"] == "library"
    A = np.random.default_rng(0).dirichlet(np.ones(6), size=(12, 12)).transpose(2, 0, 1)
    cube = np.tensordot(lib.library[:, :6] / 1e4, A, axes=1).astype(np.float32)   # reflectance mixtures
    img = Scene(cube=cube, wavelengths=lib.wavelengths, name="urban")
    with pytest.warns(UnitsWarning, match="library multiplied by 1e-4"):
        out = harmonise_units(img, lib)
    np.testing.assert_allclose(out.library.library, lib.library / 1e4, rtol=1e-6)


def test_georef_is_kept_by_harmonisation(sim):
    img = Scene(cube=(sim.cube * 1e4).astype(np.float32), georef=Georef(crs="EPSG:32633"), name="img")
    with pytest.warns(UnitsWarning):
        out = harmonise_units(img, _lib(sim))
    assert out.image.georef == img.georef and out.image.shape == img.shape


def test_save_and_reload_keeps_the_recorded_units(tmp_path, sim):
    s = Scene(cube=(sim.cube * 1e4).astype(np.float32), name="x")
    save(s, tmp_path / "x.npz")
    back = load(tmp_path / "x.npz")
    assert back.extras["units"]["exponent"] == 4
