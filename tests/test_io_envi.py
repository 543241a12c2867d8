"""ENVI images and libraries: header fields, path resolution, map info against GDAL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from hysupp.errors import InputError
from hysupp.io import describe, load
from hysupp.io.envi import parse_map_info


def write_envi(base: Path, data: np.ndarray, header: dict[str, str], interleave: str = "bsq",
               data_ext: str = "") -> Path:
    """Write ``data`` (L, H, W) as ENVI with the given extra header fields; returns the data path."""
    L, H, W = data.shape
    dtype_code = {np.dtype("int16"): 2, np.dtype("float32"): 4, np.dtype("float64"): 5}[data.dtype]
    order = {"bsq": (0, 1, 2), "bil": (1, 0, 2), "bip": (1, 2, 0)}[interleave]
    path = base.with_name(base.name + data_ext)
    data.transpose(order).astype(data.dtype.newbyteorder("<")).tofile(path)
    lines = ["ENVI", f"samples = {W}", f"lines = {H}", f"bands = {L}", "header offset = 0",
             "file type = ENVI Standard", f"data type = {dtype_code}", f"interleave = {interleave}",
             "byte order = 0"]
    lines += [f"{k} = {v}" for k, v in header.items()]
    base.with_name(base.name + ".hdr").write_text("\n".join(lines) + "\n")
    return path


def braces(values) -> str:
    return "{" + ", ".join(str(v) for v in values) + "}"


def test_envi_image_header_fields(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    L, H, W = 5, 4, 3
    refl = rng.random((L, H, W))
    stored = np.round(refl * 10000).astype(np.int16)
    stored[:, 1, 2] = -9999  # nodata pixel
    stored[3] = -9999  # a band that is entirely nodata
    header = {
        "wavelength units": "Micrometers",
        "wavelength": braces([0.45, 0.55, 0.65, 0.75, 0.85]),
        "fwhm": braces([0.01] * L),
        "bbl": braces([1, 0, 1, 1, 1]),
        "data ignore value": "-9999",
        "reflectance scale factor": "10000",
        "band names": braces(["b1", "b2", "b3", "b4", "b5"]),
        "map info": "{UTM, 1.000, 1.000, 500000.0, 4000000.0, 30.0, 30.0, 33, North, WGS-84, units=Meters}",
    }
    data = write_envi(tmp_path / "img", stored, header, interleave="bil", data_ext=".img")
    s = load(data)
    t = load(tmp_path / "img.hdr")
    np.testing.assert_array_equal(s.cube, t.cube)
    assert s.layout == "envi"
    assert s.shape == (3, H, W)  # band 2 (bbl = 0) and band 4 (all nodata) dropped
    np.testing.assert_array_equal(s.extras["kept_bands"], [0, 2, 4])
    np.testing.assert_allclose(s.wavelengths, [450, 650, 850])
    np.testing.assert_allclose(s.fwhm, [10, 10, 10])
    assert s.extras["band_names"] == ["b1", "b3", "b5"]
    assert s.mask[1, 2] == np.False_ and s.mask.sum() == H * W - 1
    np.testing.assert_allclose(s.cube[:, 0, 0], refl[[0, 2, 4], 0, 0], atol=1e-4)  # divided by 10000
    assert any("reflectance scale factor 10000" in n for n in s.notes)
    assert s.georef.crs == "EPSG:32633"
    assert s.georef.transform == (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)
    assert s.georef.nodata == -9999
    assert describe(data)["format"] == "envi"


def test_envi_header_without_data(tmp_path: Path) -> None:
    write_envi(tmp_path / "gone", np.zeros((2, 2, 2), np.float32), {})
    (tmp_path / "gone").unlink()
    with pytest.raises(InputError) as err:
        load(tmp_path / "gone.hdr")
    msg = str(err.value)
    assert str(tmp_path / "gone.hdr") in msg and str(tmp_path / "gone.img") in msg and "no data file" in msg
    with pytest.raises(InputError, match=r"ENVI data file .*gone.* not found .*header"):
        load(tmp_path / "gone")


def test_envi_data_without_header(tmp_path: Path) -> None:
    (tmp_path / "raw.img").write_bytes(b"\0" * 16)
    with pytest.raises(InputError, match=r"unsupported file type '\.img'"):
        load(tmp_path / "raw.img")


def test_envi_library_sli(tmp_path: Path) -> None:
    spectra = np.arange(12, dtype=np.float64).reshape(3, 4)  # 3 spectra x 4 bands
    spectra.tofile(tmp_path / "lib.sli")
    (tmp_path / "lib.hdr").write_text("\n".join([
        "ENVI", "samples = 4", "lines = 3", "bands = 1", "header offset = 0",
        "file type = ENVI Spectral Library", "data type = 5", "interleave = bsq", "byte order = 0",
        "wavelength units = Nanometers", "wavelength = {400, 500, 600, 700}", "bbl = {1, 1, 0, 1}",
        "spectra names = {soil, grass, water}"]) + "\n")
    s = load(tmp_path / "lib.sli", dtype=np.float64)
    assert s.layout == "envi-library" and s.cube is None
    assert s.library_names == ["soil", "grass", "water"]
    np.testing.assert_array_equal(s.library, spectra.T[[0, 1, 3]])
    np.testing.assert_array_equal(s.wavelengths, [400, 500, 700])


@pytest.mark.parametrize("info", [
    "{ UTM , 1 , 1 , 579717.180 , 3714550.700 , 16.900 , 16.900 , 11 , North , WGS-84 , units=Meters , "
    "rotation=34.0000 }",
    "{UTM, 1.5, 2.5, 366015.0, 5809965.0, 30.0, 30.0, 33, North, WGS-84, units=Meters}",
    "{UTM, 3, 4, 366015.0, 5809965.0, 20.0, 10.0, 19, South, WGS-84, units=Meters, rotation=-12.5}",
])
def test_map_info_matches_gdal(tmp_path: Path, info: str) -> None:
    write_envi(tmp_path / "m", np.zeros((1, 2, 3), np.float32), {"map info": info})
    georef, _ = parse_map_info(info)
    with rasterio.open(tmp_path / "m") as ds:
        gdal_transform = tuple(ds.transform)[:6]
        gdal_epsg = ds.crs.to_epsg()
    np.testing.assert_allclose(georef.transform, gdal_transform, rtol=1e-9, atol=1e-6)
    assert georef.crs == f"EPSG:{gdal_epsg}"


def test_map_info_without_crs() -> None:
    g, msg = parse_map_info("{Arbitrary, 1, 1, 0, 0, 1, 1}")
    assert g is None and "Arbitrary" in msg
