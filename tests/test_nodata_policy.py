"""One bad-band and nodata policy for the in-memory and tiled paths (issue 18): bands holding only
nodata are dropped and the GDAL band scale is applied in both, so the abundance maps are identical."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import hysupp
from hysupp.api import unmix_tiled
from hysupp.errors import UnitsWarning

rasterio = pytest.importorskip("rasterio")
pytest.importorskip("dask")

NODATA = -32768


def _enmap_like(path, seed=0):
    """A 12-band int16 GeoTIFF in reflectance x 10^4 with GDAL scale 1e-4 (as EnMAP L2A), two bands
    that are nodata everywhere (water vapour) and a few nodata pixels."""
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.05, 0.6, (12, 3))
    A = rng.dirichlet(np.ones(3), 20 * 24).T
    raw = np.round((E @ A).reshape(12, 20, 24) * 1e4).astype(np.int16)
    raw[[4, 9]] = NODATA
    raw[:, 3, 5] = NODATA
    raw[:, 17, 20] = NODATA
    profile = dict(driver="GTiff", width=24, height=20, count=12, dtype="int16", nodata=NODATA,
                   crs="EPSG:32633", transform=rasterio.transform.from_origin(366000, 5810000, 30, 30))
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(raw)
        ds.scales = (1e-4,) * 12
    keep = np.setdiff1d(np.arange(12), [4, 9])
    return E[keep]


def test_tiled_file_and_in_memory_give_the_same_maps(tmp_path):
    path = tmp_path / "enmap_like.tif"
    E = _enmap_like(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)
        scene = hysupp.load(path)
        assert scene.n_bands == 10 and float(np.nanmax(scene.cube)) < 1.0   # scaled, bands dropped
        ref = hysupp.unmix(scene, "FCLS", endmembers=E).abundances
        tiled = np.asarray(unmix_tiled(path, "FCLS", endmembers=E, tile=8).compute())
    assert np.isnan(ref).sum() == 2 * 3 and np.isfinite(ref).sum() == 3 * (20 * 24 - 2)
    np.testing.assert_allclose(tiled, ref, rtol=0, atol=1e-6, equal_nan=True)


def test_tiled_reader_drops_the_same_bands_and_warns_once(tmp_path):
    from hysupp.io.raster import open_raster

    path = tmp_path / "enmap_like.tif"
    _enmap_like(path)
    with pytest.warns(UnitsWarning) as caught:
        cube, header = open_raster(path, tile=8)
    assert len([w for w in caught if issubclass(w.category, UnitsWarning)]) == 1
    assert cube.shape == (10, 20, 24) and cube.dtype == np.float32
    assert any("2 bands holding only nodata" in n for n in header.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)
        np.testing.assert_array_equal(np.asarray(cube.compute()), hysupp.load(path).cube)
        kept_all, _ = open_raster(path, tile=8, scan_bands=False)
    assert kept_all.shape[0] == 12    # without the scan the nodata bands stay (and mask every pixel)


def test_lazy_dataarray_recipe_gives_the_same_maps(tmp_path):
    rioxarray = pytest.importorskip("rioxarray")
    path = tmp_path / "enmap_like.tif"
    E = _enmap_like(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)
        ref = hysupp.unmix(hysupp.load(path), "FCLS", endmembers=E).abundances
        da = rioxarray.open_rasterio(path, chunks={"band": -1, "y": 8, "x": 8}, mask_and_scale=False)
        lazy = np.asarray(unmix_tiled(da, "FCLS", endmembers=E, tile=8).compute())
    np.testing.assert_allclose(lazy, ref, rtol=0, atol=1e-6, equal_nan=True)


def test_enmap_tile_in_memory_and_tiled_identical(shared_data):
    path = shared_data / "enmap_potsdam" / "enmap_potsdam_tile_128_0.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)
        scene = hysupp.load(path)
        E = scene.pixels()[:, [0, 500, 1000]]
        ref = hysupp.unmix(scene, "FCLS", endmembers=E).abundances
        tiled = np.asarray(unmix_tiled(path, "FCLS", endmembers=E, tile=16).compute())
    assert np.isfinite(tiled).all()
    np.testing.assert_allclose(tiled, ref, rtol=0, atol=1e-6)
