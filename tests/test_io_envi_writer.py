"""The ENVI writer (issue 20): ``.img`` + ``.hdr`` read back by SPy (wavelengths, band names) and by
hysupp (georef), atomic and never overwriting; band names carried as ``long_name`` so
``rio.to_raster`` keeps them."""

from __future__ import annotations

import numpy as np
import pytest

from hysupp.errors import InputError, OutputExistsError
from hysupp.io import load, save
from hysupp.io.envi import map_info_from_georef, parse_map_info, save_envi
from hysupp.scene import Georef, Scene

spectral = pytest.importorskip("spectral")

RNG = np.random.default_rng(0)
CUBE = (0.05 + 0.5 * RNG.random((6, 7, 9))).astype(np.float32)
WL = np.array([450.0, 550.0, 650.0, 850.0, 1650.0, 2200.0])
FWHM = np.full(6, 12.5)
UTM = Georef(crs="EPSG:32633", transform=(30.0, 0.0, 366015.0, 0.0, -30.0, 5809965.0), nodata=-9999.0)


def test_round_trip_through_spectral_and_hysupp(tmp_path):
    mask = np.ones((7, 9), bool)
    mask[2, 3] = False
    scene = Scene(cube=CUBE, wavelengths=WL, fwhm=FWHM, mask=mask, georef=UTM, name="toy",
                  extras={"band_names": ["blue", "green", "red", "nir", "swir1, wide", "swir2 {b}"]})
    out = save(scene, tmp_path / "toy.hdr")
    assert out == tmp_path / "toy.hdr" and (tmp_path / "toy.img").stat().st_size == CUBE.nbytes
    img = spectral.open_image(str(tmp_path / "toy.hdr"))
    assert img.shape == (7, 9, 6)
    np.testing.assert_allclose(img.bands.centers, WL)
    np.testing.assert_allclose(img.bands.bandwidths, FWHM)
    assert img.metadata["band names"] == ["blue", "green", "red", "nir", "swir1; wide", "swir2 (b)"]
    data = np.asarray(img.load()).transpose(2, 0, 1)
    assert (data[:, 2, 3] == -9999).all()                      # masked pixel written as nodata
    np.testing.assert_array_equal(data[:, mask], CUBE[:, mask])
    back = load(tmp_path / "toy.img")
    assert back.georef.crs == "EPSG:32633" and back.georef.transform == UTM.transform
    assert back.georef.nodata == -9999.0 and not back.mask[2, 3] and back.mask.sum() == 62
    np.testing.assert_allclose(back.wavelengths, WL)
    assert back.extras["band_names"][0] == "blue"
    np.testing.assert_array_equal(back.cube[:, mask], CUBE[:, mask])


def test_abundance_maps_are_written_with_endmember_names(tmp_path):
    A = RNG.dirichlet(np.ones(3), size=(7, 9)).transpose(2, 0, 1)
    truth = Scene(abundances=A, endmember_names=["rock", "tree", "water"], georef=UTM, name="abund")
    save(truth, tmp_path / "abund.img")
    img = spectral.open_image(str(tmp_path / "abund.hdr"))
    assert img.metadata["band names"] == ["rock", "tree", "water"]
    np.testing.assert_allclose(np.asarray(img.load()).transpose(2, 0, 1), A, rtol=1e-6)


def test_array_and_float64_and_other_crs(tmp_path):
    save(CUBE[0], tmp_path / "one.hdr")                        # (H, W) -> one band
    assert spectral.open_image(str(tmp_path / "one.hdr")).shape == (7, 9, 1)
    laea = Georef(crs="EPSG:3035", transform=(10.0, 0.0, 4321000.0, 0.0, -10.0, 3210000.0))
    hdr, img = save_envi(tmp_path / "d.img", CUBE.astype(np.float64), georef=laea, dtype=np.float64)
    text = hdr.read_text()
    assert "data type = 5" in text and "map info = {Arbitrary, 1, 1, 4321000.0" in text
    assert "coordinate system string = {" in text
    back = load(img)
    assert back.georef.crs == "EPSG:3035" and back.georef.transform == laea.transform
    np.testing.assert_array_equal(back.cube, CUBE)


@pytest.mark.parametrize("georef", [
    Georef(crs="EPSG:4326", transform=(0.001, 0.0, 13.1, 0.0, -0.001, 52.6)),
    Georef(crs="EPSG:32711", transform=(20.0, 0.0, 500000.0, 0.0, -20.0, 7000000.0)),
    Georef(crs=None, transform=(2.0, 0.0, 100.0, 0.0, -2.0, 50.0)),
])
def test_map_info_round_trips_through_the_reader(georef):
    info, wkt = map_info_from_georef(georef)
    back, _ = parse_map_info(info, None)
    if georef.crs is not None:
        assert back.crs == georef.crs
    np.testing.assert_allclose(back.transform, georef.transform)


@pytest.mark.parametrize("georef", [
    UTM,
    Georef(crs="EPSG:3035", transform=(10.0, 0.0, 4321000.0, 0.0, -10.0, 3210000.0)),
    Georef(crs="EPSG:32633", transform=(30 * np.cos(0.35), 30 * np.sin(0.35), 366000.0, 30 * np.sin(0.35),
                                        -30 * np.cos(0.35), 5810000.0)),
    Georef(crs="EPSG:4326", transform=(0.001, 0.0, 13.1, 0.0, -0.001, 52.6)),
])
def test_gdal_reads_the_same_georeference(tmp_path, georef):
    """GDAL's ENVI driver (rasterio) gives the CRS, transform (rotation included), nodata and band
    names that were written."""
    import rasterio

    save_envi(tmp_path / "g.hdr", CUBE[:2], georef=georef, band_names=["a", "b"], wavelengths=WL[:2])
    with rasterio.open(tmp_path / "g.img") as ds:
        assert ds.crs.to_epsg() == int(georef.crs.split(":")[1])
        np.testing.assert_allclose(tuple(ds.transform)[:6], georef.transform, rtol=1e-12, atol=1e-9)
        assert ds.nodata == georef.nodata
        assert [d.split(" (")[0] for d in ds.descriptions] == ["a", "b"]
        np.testing.assert_array_equal(ds.read(), CUBE[:2])


def test_rotated_transform_round_trips_and_shear_is_refused():
    t = np.radians(20.0)
    rot = Georef(crs="EPSG:32633", transform=(30 * np.cos(t), 30 * np.sin(t), 366000.0, 30 * np.sin(t),
                                              -30 * np.cos(t), 5810000.0))
    info, _ = map_info_from_georef(rot)
    assert "rotation=" in info
    back, msg = parse_map_info(info)
    np.testing.assert_allclose(back.transform, rot.transform, atol=1e-9)
    with pytest.raises(InputError, match="shears the pixel grid"):
        map_info_from_georef(Georef(transform=(30.0, 5.0, 0.0, 0.0, -30.0, 0.0)))


def test_never_overwrites_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    save(CUBE, tmp_path / "a.hdr")
    before = (tmp_path / "a.img").read_bytes()
    with pytest.raises(OutputExistsError, match=r"a\.hdr' exists; pass overwrite=True"):
        save(CUBE * 2, tmp_path / "a.hdr")
    (tmp_path / "b.img").write_bytes(b"keep")                  # the data file alone blocks too
    with pytest.raises(OutputExistsError, match=r"b\.img' exists"):
        save(CUBE, tmp_path / "b.hdr")
    assert (tmp_path / "b.img").read_bytes() == b"keep" and not (tmp_path / "b.hdr").exists()
    save(CUBE * 2, tmp_path / "a.hdr", overwrite=True)
    assert (tmp_path / "a.img").read_bytes() != before

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr("pathlib.Path.write_text", boom)   # the header fails after the data was written
    with pytest.raises(OSError, match="disk full"):
        save(CUBE, tmp_path / "c.hdr")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.hdr", "a.img", "b.img"]


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="2 band names for 6 bands"):
        save_envi(tmp_path / "x.hdr", CUBE, band_names=["a", "b"])
    with pytest.raises(InputError, match="dtype must be float32 or float64"):
        save_envi(tmp_path / "x.hdr", CUBE, dtype=np.int16)
    with pytest.raises(InputError, match="no cube or"):
        save(Scene(library=np.ones((6, 2))), tmp_path / "x.hdr")


def test_band_names_survive_rio_to_raster(tmp_path):
    """``maps_to_dataarray`` (run.xarray) sets ``long_name`` per band: rasterio reads them back as the
    band descriptions of the GeoTIFF rioxarray writes."""
    xr = pytest.importorskip("xarray")
    pytest.importorskip("rioxarray")
    import rasterio

    from hysupp.io.xarray import maps_to_dataarray

    da = xr.DataArray(CUBE, dims=("band", "y", "x"),
                      coords={"band": np.arange(1, 7), "y": 5809950.0 - 30 * np.arange(7), "x": 366030.0 + 30 * np.arange(9)})
    da = da.rio.write_crs("EPSG:32633")
    out = maps_to_dataarray(RNG.random((3, 7, 9)).astype(np.float32), ["rock", "tree", "water"], da)
    assert out.attrs["long_name"] == ("rock", "tree", "water")
    out.rio.to_raster(tmp_path / "a.tif")
    with rasterio.open(tmp_path / "a.tif") as ds:
        assert ds.descriptions == ("rock", "tree", "water")
