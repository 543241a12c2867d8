"""Scenes larger than memory: xarray round trips, tile-wise (Dask) unmixing, LocalCluster, CLI --tile."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("dask.array")
xr = pytest.importorskip("xarray")
rioxarray = pytest.importorskip("rioxarray")
rasterio = pytest.importorskip("rasterio")

import hysupp
from hysupp.errors import InputError
from hysupp.io.geotiff import save_geotiff
from hysupp.scene import Georef
from hysupp.io.raster import chunked_view, open_raster
from hysupp.runs.unmix_tiled import stratified_sample, unmix_tiled

L, H, W, P = 30, 20, 24, 3
GEO = Georef(crs="EPSG:32633", transform=(30.0, 0.0, 366000.0, 0.0, -30.0, 5810000.0), nodata=-9999.0)
NODATA_PIXELS = [(3, 4), (17, 0)]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A noise-free 3-endmember GeoTIFF (30 bands, 20 x 24) with two nodata pixels; (path, E, A)."""
    rng = np.random.default_rng(0)
    E = rng.random((L, P))
    A = rng.dirichlet(np.ones(P), H * W).T
    cube = (E @ A).reshape(L, H, W).astype(np.float32)
    for r, c in NODATA_PIXELS:
        cube[:, r, c] = GEO.nodata
    path = tmp_path_factory.mktemp("tiled") / "scene.tif"
    save_geotiff(path, cube, georef=GEO, wavelengths=np.linspace(400.0, 2400.0, L))
    return path, E, A


def _valid():
    ok = np.ones((H, W), bool)
    for r, c in NODATA_PIXELS:
        ok[r, c] = False
    return ok


def _open(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rioxarray.open_rasterio(path, **kw)


def test_dataarray_round_trip_keeps_coords_crs_attrs_and_nodata(scene):
    path, E, A = scene
    da = _open(path)
    da.attrs["title"] = "test scene"
    run = hysupp.unmix(da, "FCLS", endmembers=E)
    out = run.xarray
    assert out.dims == ("endmember", "y", "x")
    assert out.coords["endmember"].values.tolist() == ["E1", "E2", "E3"]
    np.testing.assert_array_equal(out.y.values, da.y.values)
    np.testing.assert_array_equal(out.x.values, da.x.values)
    assert out.rio.crs == da.rio.crs
    assert tuple(out.rio.transform()) == tuple(da.rio.transform())
    assert out.attrs["title"] == "test scene"
    assert run.scene.wavelengths is not None and run.scene.wavelengths[0] == pytest.approx(400.0)
    valid = _valid()
    assert np.isnan(out.values[:, ~valid]).all()
    np.testing.assert_allclose(out.values.reshape(P, -1)[:, valid.ravel()], A[:, valid.ravel()], atol=1e-5)
    # the round trip back into a Scene keeps the mask
    back = hysupp.unmix(out.isel(endmember=[0, 1, 2]).rename(endmember="band"), "FCLS", endmembers=np.eye(3))
    assert back.scene.mask is not None and (back.scene.mask == valid).all()


def test_dataarray_wavelength_coordinate_and_missing_dependency(monkeypatch):
    from hysupp.io import xarray as hx

    da = xr.DataArray(np.ones((3, 2, 4), np.float32), dims=("band", "y", "x"),
                      coords={"wavelength": ("band", [0.45, 0.55, 0.65])})
    assert hx.scene_from_dataarray(da).wavelengths.tolist() == pytest.approx([450.0, 550.0, 650.0])
    with pytest.raises(InputError, match="band dimension"):
        hx.scene_from_dataarray(da.transpose("y", "band", "x").rename(y="a"))

    def missing(name):
        raise ImportError(name)

    monkeypatch.setattr(hx.importlib, "import_module", missing)
    with pytest.raises(InputError, match=r"pip install 'hysupp\[dask\]'"):
        hx.require("dask.array")


def test_dataarray_long_name_wavelengths_and_all_nodata_bands_dropped():
    """rioxarray keeps only band 1's tags but every band's description in ``long_name``
    ("band 2 (0.55 Micrometers)"): the wavelengths come from there. A band that is entirely
    nodata (a water-vapour band of an L2A product) is dropped as hysupp.load drops it, instead of
    masking every pixel."""
    from hysupp.io import xarray as hx

    cube = np.random.default_rng(0).random((4, 3, 5)).astype(np.float32)
    cube[2] = -9999.0
    da = xr.DataArray(cube, dims=("band", "y", "x"), coords={"band": [1, 2, 3, 4]},
                      attrs={"long_name": tuple(f"band {i + 1} ({w} Micrometers)" for i, w in
                                                enumerate((0.45, 0.55, 1.4, 0.65))),
                             "nodata": -9999.0})
    scene = hx.scene_from_dataarray(da)
    assert scene.shape == (3, 3, 5) and scene.mask is None
    assert scene.wavelengths.tolist() == pytest.approx([450.0, 550.0, 650.0])
    assert scene.extras["kept_bands"].tolist() == [0, 1, 3]
    assert any("dropped 1 bad bands" in n for n in scene.notes)
    da.attrs["long_name"] = ("red", "green", "nir", "swir")   # descriptions without wavelengths
    assert hx.scene_from_dataarray(da).wavelengths is None


def test_tiled_equals_in_memory_and_writes_a_cog(scene, tmp_path):
    path, E, _ = scene
    mem = hysupp.unmix(str(path), "FCLS", endmembers=E).abundances
    run = unmix_tiled(path, "FCLS", endmembers=E, tile=8, out=tmp_path / "ab.tif")
    with rasterio.open(run.path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.crs.to_epsg() == 32633 and tuple(ds.transform)[:6] == GEO.transform
        assert list(ds.descriptions) == ["E1", "E2", "E3"]
        tiled = ds.read()
    np.testing.assert_allclose(tiled, mem, atol=1e-6, equal_nan=True)
    assert np.isnan(tiled[:, ~_valid()]).all()
    # a chunked (dask-backed) DataArray stays lazy and keeps its grid
    lazy = unmix_tiled(_open(path, chunks={"band": -1, "y": 8, "x": 8}), "FCLS", endmembers=E, tile=8).abundances
    assert hasattr(lazy.data, "dask") and lazy.rio.crs.to_epsg() == 32633
    np.testing.assert_array_equal(lazy.values, tiled)


def test_blind_endmembers_from_a_stratified_sample(scene):
    path, _, A = scene
    cube, _ = open_raster(path, tile=8)
    Y, idx = stratified_sample(cube, 100, seed=1, nodata=GEO.nodata)
    rows, cols = np.divmod(idx, W)
    assert Y.shape[0] == L and 80 <= idx.size <= 120 and np.unique(idx).size == idx.size
    assert rows.min() < H / 4 and rows.max() > 3 * H / 4 and cols.min() < W / 4 and cols.max() > 3 * W / 4
    run = unmix_tiled(path, "VCA", p=P, tile=8, n_sample=300, seed=0)
    assert run.info["sample"]["n"] >= 250 and run.record["method"]["per_tile"] == "FCLS"
    # the endmembers are VCA's on the stratified sample (same seed), the abundances FCLS per tile
    Ys, _ = stratified_sample(cube, 300, seed=0, nodata=GEO.nodata)
    E_sample = hysupp.methods.get_method("VCA")(seed=0).extract(Ys.astype(np.float32), P).endmembers
    np.testing.assert_allclose(run.endmembers, E_sample)
    maps = run.compute()
    mem = hysupp.unmix(str(path), "FCLS", endmembers=np.asarray(E_sample)).abundances
    np.testing.assert_allclose(maps, mem, atol=1e-6, equal_nan=True)
    # no pure pixels in the scene: VCA's vertices are close to, not at, the true ones
    valid = _valid().ravel()
    est = maps.reshape(P, -1)[:, valid]
    perm = [int(np.argmin([np.abs(est[j] - A[i, valid]).max() for j in range(P)])) for i in range(P)]
    assert sorted(perm) == list(range(P))
    np.testing.assert_allclose(est[perm], A[:, valid], atol=0.1)


def test_local_cluster_two_workers_identical(scene, tmp_path):
    distributed = pytest.importorskip("distributed")
    path, E, _ = scene
    threaded = unmix_tiled(path, "FCLS", endmembers=E, tile=8).compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            run = unmix_tiled(path, "FCLS", endmembers=E, tile=8, scheduler=client, out=tmp_path / "ab.tif")
            np.testing.assert_array_equal(run.compute(client), threaded)
            assert len(client.scheduler_info()["workers"]) == 2
            assert run.record["protocol"]["scheduler"].startswith("inproc://")
    with rasterio.open(tmp_path / "ab.tif") as ds:   # written by the client as the workers' tiles arrived
        np.testing.assert_array_equal(ds.read(), threaded)


def test_cli_tile(scene, tmp_path):
    from click.testing import CliRunner

    from hysupp.cli import main
    from hysupp.io import save_spectra_csv

    path, E, _ = scene
    save_spectra_csv(tmp_path / "E.csv", E, ["rock", "soil", "water"], wavelengths=np.linspace(400.0, 2400.0, L))
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", "-m", "FCLS", "--data", str(path), "--endmembers", str(tmp_path / "E.csv"),
                                    "--tile", "8", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.output[res.output.index("{"):])
    assert record["protocol"]["tile"] == 8 and record["protocol"]["scheduler"] == "threads"
    with rasterio.open(out / "abundances.tif") as ds:
        assert list(ds.descriptions) == ["rock", "soil", "water"] and ds.crs.to_epsg() == 32633
    assert (out / "endmembers.csv").is_file() and (out / "run.json").is_file()
    bad = CliRunner().invoke(main, ["run", "--scheduler", "tcp://127.0.0.1:1"])
    assert bad.exit_code == 2 and "--tile" in bad.output


def test_cli_tile_on_a_tcp_scheduler(scene, tmp_path):
    distributed = pytest.importorskip("distributed")
    from click.testing import CliRunner

    from hysupp.cli import main

    path, E, _ = scene
    np.save(tmp_path / "E.npy", E)
    expected = unmix_tiled(path, "FCLS", endmembers=E, tile=8).compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                      dashboard_address=None) as cluster:
            res = CliRunner().invoke(main, ["run", "-m", "FCLS", "--data", str(path), "--endmembers",
                                            str(tmp_path / "E.npy"), "--tile", "8", "--scheduler",
                                            cluster.scheduler_address, "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "out" / "run.json").read_text())["protocol"]["scheduler"].startswith("tcp://")
    with rasterio.open(tmp_path / "out" / "abundances.tif") as ds:   # E read back from .npy as float32
        np.testing.assert_allclose(ds.read(), expected, atol=1e-5, equal_nan=True)


def test_in_memory_cube_is_chunked_as_views_and_left_unchanged():
    """An in-memory cube is neither copied nor modified: its chunks are row strips viewing it
    (a chunk's pixels are a reshape, not a gather), and ``scale`` does not write into it; a NaN
    pixel gets NaN abundances and the others are exact."""
    rng = np.random.default_rng(1)
    E = rng.random((12, 3)).astype(np.float32)
    A = rng.dirichlet(np.ones(3), 10 * 9).T.astype(np.float32)
    cube = (E @ A).reshape(12, 10, 9) * np.float32(100)
    cube[:, 4, 5] = np.nan
    before = cube.copy()
    lazy = chunked_view(cube, tile=4)             # 16 pixels per chunk: strips of one row (9 pixels)
    assert lazy.chunks == ((12,), (1,) * 10, (9,))
    assert all(np.shares_memory(chunk, cube) for chunk in dict(lazy.dask).values())
    maps = unmix_tiled(cube, "FCLS", endmembers=E, tile=4, scale=0.01).compute()
    np.testing.assert_array_equal(cube, before)
    assert np.isnan(maps[:, 4, 5]).all()
    ok = np.isfinite(maps[0]).ravel()
    assert ok.sum() == 89
    np.testing.assert_allclose(maps.reshape(3, -1)[:, ok], A[:, ok], atol=1e-4)
