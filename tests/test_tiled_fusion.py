"""Tiled pansharpening (hysupp.fuse_tiled, ``hysupp fuse --tile``; maths in hysupp.fusion.tiled): tile-wise equals
in-memory."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("dask.array")
rasterio = pytest.importorskip("rasterio")

from hysupp.errors import InputError
from hysupp.fusion.pansharpening import common as C
from hysupp.fusion.tiled import EXPAND_HALO_LR, TILED_METHODS, expand_tiled, lowpass_tiled
from hysupp.runs.fuse_tiled import fuse_tiled
from hysupp.methods.registry import get_method
from hysupp.scene import Georef

CRS = "EPSG:32633"
MS_TRANSFORM = (2.0, 0.0, 370000.0, 0.0, -2.0, 5810000.0)   # 2 m MS, 0.5 m PAN, same upper-left corner
PAN_TRANSFORM = (0.5, 0.0, 370000.0, 0.0, -0.5, 5810000.0)


@pytest.fixture(scope="module")
def pair():
    """A smooth-plus-texture 4-band scene (MS 50 x 44, PAN 200 x 176, ratio 4): chunks of 16 MS pixels
    give ragged last chunks (16, 16, 18 after merging a 2-pixel rest, and 16, 16, 12)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:200, 0:176] / 40.0
    pan = 300 + 80 * np.sin(yy) * np.cos(1.3 * xx) + 20 * rng.random((200, 176))
    ms = np.stack([C.decimate(C.mtf_lowpass((k + 1) * 0.3 * pan[None] + 10 * k, 4, [0.3]), 4)[0]
                   for k in range(4)]) + rng.random((4, 50, 44))
    return ms, pan


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("method", TILED_METHODS)
def test_tiled_equals_untiled(pair, method):
    ms, pan = pair
    ref = get_method(method)().fuse(ms, pan, ratio=4, sensor="QB").fused
    run = fuse_tiled(ms, pan, method, ratio=4, sensor="QB", tile=64)
    assert run.info["chunks"] == [3, 3]
    got = run.compute()
    assert got.shape == ref.shape
    assert _rel(got, ref) < 1e-9           # borders included: the halos use the in-memory boundary rules


def test_stats_hook_reproduces_the_in_memory_result(pair):
    """Methods given the whole-scene statistics computed by the tiled run give the untiled result."""
    ms, pan = pair
    for method in ("MTF-GLP", "MTF-GLP-FS", "MTF-GLP-CBD", "GS", "GIHS"):
        cls = get_method(method)
        run = fuse_tiled(ms, pan, method, ratio=4, sensor="QB", tile=64)
        stats = {k: np.asarray(v) for k, v in run.stats.items()}
        with_stats = cls().fuse(ms, pan, ratio=4, sensor="QB", stats=stats).fused
        assert _rel(with_stats, cls().fuse(ms, pan, ratio=4, sensor="QB").fused) < 1e-12
    a, b = get_method("MTF-GLP").matching(np.array([2.0, 4.0]), np.array([1.0, 3.0]), 5.0, 2.0)
    np.testing.assert_allclose(a, [0.5, 1.5])
    np.testing.assert_allclose(b, [2.0 - 2.5, 4.0 - 7.5])


@pytest.mark.parametrize("ratio", [2, 8])
def test_stages_match_the_kernels_for_other_ratios(ratio):
    dsa = pytest.importorskip("dask.array")
    rng = np.random.default_rng(ratio)
    h = 2 * EXPAND_HALO_LR + 5
    x = rng.random((3, h, h + 3))
    lr = ((EXPAND_HALO_LR, h - EXPAND_HALO_LR), (EXPAND_HALO_LR, h + 3 - EXPAND_HALO_LR))
    hr = tuple(tuple(ratio * s for s in c) for c in lr)
    got = expand_tiled(dsa.from_array(x, chunks=(3,) + lr), ratio, hr).compute()
    assert _rel(got, C.expand(x, ratio)) < 1e-12
    pan = rng.random((1, ratio * h, ratio * (h + 3)))
    low = lowpass_tiled(dsa.from_array(pan, chunks=(1,) + hr), ratio, 0.29, decimate=True).compute()
    assert _rel(low, C.decimate(C.mtf_lowpass(pan, ratio, [0.29]), ratio)) < 1e-12


def test_refusals(pair):
    ms, pan = pair
    with pytest.raises(InputError, match="needs the whole image"):
        fuse_tiled(ms, pan, "GSA", ratio=4)
    with pytest.raises(InputError, match="not ratio"):
        fuse_tiled(ms, pan[:-4], "GS", ratio=4)
    with pytest.raises(InputError, match="too small"):
        fuse_tiled(ms[:, :10, :10], pan[:40, :40], "GS", ratio=4)


def _write(path, cube, transform):
    from rasterio.transform import Affine

    cube = np.asarray(cube, dtype=np.float32)
    cube = cube if cube.ndim == 3 else cube[None]
    with rasterio.open(path, "w", driver="GTiff", width=cube.shape[2], height=cube.shape[1], count=cube.shape[0],
                       dtype="float32", crs=CRS, transform=Affine(*transform), tiled=True, blockxsize=16,
                       blockysize=16) as ds:
        ds.write(cube)


def test_geotiff_windows_to_cog_on_the_pan_grid(pair, tmp_path):
    ms, pan = pair
    _write(tmp_path / "ms.tif", ms, MS_TRANSFORM)
    _write(tmp_path / "pan.tif", pan, PAN_TRANSFORM)
    run = fuse_tiled(tmp_path / "ms.tif", tmp_path / "pan.tif", "MTF-GLP", sensor="QB", tile=64,
                     out=tmp_path / "fused.tif")
    ref = get_method("MTF-GLP")().fuse(ms.astype(np.float32), pan.astype(np.float32), ratio=4, sensor="QB").fused
    with rasterio.open(run.path) as ds:
        assert ds.crs.to_string() == CRS
        assert tuple(ds.transform)[:6] == PAN_TRANSFORM
        assert ds.count == 4 and (ds.height, ds.width) == pan.shape
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        np.testing.assert_allclose(ds.read(), ref, rtol=1e-6, atol=1e-3)
    assert run.record["protocol"]["ratio"] == 4 and run.record["method"]["name"] == "MTF-GLP"


def test_cli_fuse_tile(pair, tmp_path):
    from click.testing import CliRunner

    from hysupp.cli import main

    ms, pan = pair
    _write(tmp_path / "ms.tif", ms, MS_TRANSFORM)
    _write(tmp_path / "pan.tif", pan, PAN_TRANSFORM)
    res = CliRunner().invoke(main, ["fuse", "-m", "GS", "--ms", str(tmp_path / "ms.tif"), "--pan",
                                    str(tmp_path / "pan.tif"), "--tile", "64", "-o", str(tmp_path / "out"),
                                    "--json"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["protocol"]["tile"] == 64 and record["method"]["name"] == "GS"
    ref = get_method("GS")().fuse(ms.astype(np.float32), pan.astype(np.float32), ratio=4).fused
    with rasterio.open(tmp_path / "out" / "fused.tif") as ds:
        assert ds.crs.to_string() == CRS and tuple(ds.transform)[:6] == PAN_TRANSFORM
        np.testing.assert_allclose(ds.read(), ref, rtol=1e-6, atol=1e-3)
    assert (tmp_path / "out" / "run.json").is_file()
    bad = CliRunner().invoke(main, ["fuse", "--data", str(tmp_path / "ms.tif"), "--tile", "64"])
    assert bad.exit_code != 0 and "--tile needs --ms and --pan" in bad.output


@pytest.mark.parametrize("method", ["MTF-GLP", "GS", "BT"])
def test_float32_inputs_are_fused_in_float64(pair, method):
    ms, pan = (x.astype(np.float32) for x in pair)
    ref = get_method(method)().fuse(ms, pan, ratio=4, sensor="QB").fused
    got = fuse_tiled(ms, pan, method, ratio=4, sensor="QB", tile=64).compute()
    assert got.dtype == np.float64 and _rel(got, ref) < 1e-7   # float32 input statistics: ~1e-8


def test_local_cluster_gives_the_threaded_result(pair, tmp_path):
    import warnings

    distributed = pytest.importorskip("distributed")
    ms, pan = pair
    threaded = fuse_tiled(ms, pan, "MTF-GLP", ratio=4, sensor="QB", tile=64).compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            run = fuse_tiled(ms, pan, "MTF-GLP", ratio=4, sensor="QB", tile=64, scheduler=client,
                             out=tmp_path / "fused.tif", georef=Georef(crs=CRS, transform=PAN_TRANSFORM))
            np.testing.assert_allclose(run.compute(client), threaded, rtol=1e-12)
            assert run.record["protocol"]["scheduler"].startswith("inproc://")
    with rasterio.open(tmp_path / "fused.tif") as ds:
        assert ds.crs.to_string() == CRS and tuple(ds.transform)[:6] == PAN_TRANSFORM
        np.testing.assert_allclose(ds.read(), threaded.astype(np.float32), rtol=1e-6)


def test_dataarrays_in_lazy_dataarray_out_on_the_pan_grid(pair):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("rioxarray")
    ms, pan = pair
    y, x = 5810000.0 - 0.25 - 0.5 * np.arange(200), 370000.25 + 0.5 * np.arange(176)
    pan_da = xr.DataArray(pan, dims=("y", "x"), coords={"y": y, "x": x}).rio.write_crs(CRS)
    ms_da = xr.DataArray(ms, dims=("band", "y", "x"),
                         coords={"band": ["b", "g", "r", "nir"], "y": y[1::4], "x": x[1::4]}).rio.write_crs(CRS)
    run = fuse_tiled(ms_da.chunk({"y": 16, "x": 16}), pan_da.chunk({"y": 64, "x": 64}), "GS", ratio=4, tile=64)
    out = run.dataarray
    assert hasattr(out.data, "dask") and out.dims == ("band", "y", "x")
    assert list(out["band"].values) == ["b", "g", "r", "nir"]
    np.testing.assert_array_equal(out["x"].values, x)
    assert out.rio.crs.to_string() == CRS
    np.testing.assert_allclose(out.values, get_method("GS")().fuse(ms, pan, ratio=4).fused, rtol=1e-9)
