"""Writers: GeoTIFF, npz, npy, csv round trips; atomic output; overwrite protection."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import scipy.io

from hysupp import Scene
from hysupp.errors import InputError, OutputExistsError
from hysupp.io import atomic_output, load, save, save_geotiff, save_spectra_csv
from hysupp.scene import Georef

GEOREF = Georef(crs="EPSG:32633", transform=(30.0, 0.0, 366015.0, 0.0, -30.0, 5809965.0), nodata=-32768.0)


def cube_scene(L: int = 5, H: int = 6, W: int = 7) -> Scene:
    rng = np.random.default_rng(0)
    cube = rng.random((L, H, W)).astype(np.float32)
    mask = np.ones((H, W), bool)
    mask[0, 0] = mask[2, 3] = False
    return Scene(cube=cube, wavelengths=np.linspace(400.5, 2400.25, L), fwhm=np.full(L, 9.5), mask=mask,
                 georef=GEOREF, name="geo", extras={"band_names": [f"b{k}" for k in range(L)]})


# ------------------------------------------------------------------------------------------ GeoTIFF
def test_geotiff_round_trip(tmp_path: Path) -> None:
    s = cube_scene()
    path = save(s, tmp_path / "cube.tif")
    back = load(path)
    assert back.layout == "geotiff"
    assert back.georef.crs == "EPSG:32633"
    assert back.georef.transform == GEOREF.transform
    assert back.georef.nodata == -32768.0
    np.testing.assert_array_equal(back.mask, s.mask)
    np.testing.assert_array_equal(back.cube[:, s.mask], s.cube[:, s.mask])
    np.testing.assert_allclose(back.wavelengths, s.wavelengths)
    np.testing.assert_allclose(back.fwhm, s.fwhm)
    assert back.extras["band_names"] == s.extras["band_names"]
    with rasterio.open(path) as ds:  # what other tools see
        assert ds.descriptions[0] == "b0"
        assert ds.tags(1)["wavelength_units"] == "Nanometers"
        assert float(ds.tags(2, ns="IMAGERY")["CENTRAL_WAVELENGTH_UM"]) == pytest.approx(s.wavelengths[1] / 1000)


def test_geotiff_abundance_maps_with_names(tmp_path: Path) -> None:
    A = np.random.default_rng(1).dirichlet([1, 1, 1], size=(4, 5)).transpose(2, 0, 1).astype(np.float32)
    s = Scene(cube=None, abundances=A, endmember_names=["rock", "tree", "water"], georef=GEOREF)
    save(s, tmp_path / "ab.tif")
    back = load(tmp_path / "ab.tif")
    assert back.extras["band_names"] == ["rock", "tree", "water"]
    np.testing.assert_array_equal(back.cube, A)
    # the helper the run command uses, with a WKT CRS and no nodata
    wkt = rasterio.crs.CRS.from_epsg(4326).to_wkt()
    save_geotiff(tmp_path / "h.tif", A, georef=Georef(crs=wkt, transform=(0.1, 0, 10, 0, -0.1, 50)),
                 band_names=["rock", "tree", "water"])
    h = load(tmp_path / "h.tif")
    assert h.georef.crs == "EPSG:4326" and h.georef.nodata is None and h.mask is None


def test_geotiff_without_georef_and_2d_array(tmp_path: Path) -> None:
    save(np.arange(12, dtype=np.float32).reshape(3, 4), tmp_path / "plain.tif")
    s = load(tmp_path / "plain.tif")
    assert s.shape == (1, 3, 4) and s.georef is None
    save(np.ones((2, 3, 4), np.float32), tmp_path / "g.tif", georef=GEOREF)
    assert load(tmp_path / "g.tif").georef.crs == "EPSG:32633"


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_geotiff_wavelengths_from_envi_domain_and_descriptions(tmp_path: Path) -> None:
    profile = dict(driver="GTiff", width=2, height=2, count=3, dtype="float32")
    with rasterio.open(tmp_path / "envi.tif", "w", **profile) as ds:
        ds.write(np.ones((3, 2, 2), np.float32))
        ds.update_tags(ns="ENVI", wavelength="{0.5, 0.6, 0.7}", wavelength_units="Micrometers")
    s = load(tmp_path / "envi.tif")
    np.testing.assert_allclose(s.wavelengths, [500, 600, 700])
    with rasterio.open(tmp_path / "desc.tif", "w", **profile) as ds:
        ds.write(np.ones((3, 2, 2), np.float32))
        for i, wl in enumerate((450.5, 550, 650)):
            ds.set_band_description(i + 1, f"Band {i + 1} ({wl} nm)")
    s = load(tmp_path / "desc.tif")
    np.testing.assert_allclose(s.wavelengths, [450.5, 550, 650])


# ------------------------------------------------------------------------------------------ npz / npy
def test_npz_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    s = cube_scene()
    s.endmembers = rng.random((5, 2)).astype(np.float32)
    s.abundances = rng.random((2, 6, 7)).astype(np.float32)
    s.library = rng.random((5, 4)).astype(np.float32)
    s.library_index = np.array([3, 1])
    s.endmember_names = ["a", "b"]
    s.library_names = ["w", "x", "y", "z"]
    s.layout = "custom"
    s.notes = ["one", "two"]
    s.extras = {"ratio": 4, "sensor": "WV2", "pan": np.ones((1, 2, 2), np.float32)}
    save(s, tmp_path / "s.npz")
    b = load(tmp_path / "s.npz")
    for key in ("cube", "wavelengths", "fwhm", "mask", "endmembers", "abundances", "library", "library_index"):
        np.testing.assert_array_equal(getattr(b, key), getattr(s, key), err_msg=key)
    assert b.endmember_names == s.endmember_names and b.library_names == s.library_names
    assert b.georef == s.georef and b.name == "geo" and b.layout == "custom"
    assert b.notes[:2] == ["one", "two"]
    assert b.extras["ratio"] == 4 and b.extras["sensor"] == "WV2"
    np.testing.assert_array_equal(b.extras["pan"], s.extras["pan"])


def test_npz_with_hysupp_keys_and_npy(tmp_path: Path) -> None:
    cube = np.random.default_rng(0).random((3, 2, 4))
    np.savez(tmp_path / "h.npz", Y=cube.reshape(3, 8), H=2, W=4, E=np.ones((3, 2)))
    s = load(tmp_path / "h.npz", dtype=np.float64)
    assert s.layout == "hysupp"
    np.testing.assert_array_equal(s.cube, cube)
    np.save(tmp_path / "c.npy", cube)
    c = load(tmp_path / "c.npy", dtype=np.float64)
    assert c.layout == "cube"
    np.testing.assert_array_equal(c.cube, cube)  # channels-first, no transpose
    np.save(tmp_path / "lib.npy", np.ones((30, 4)))
    assert load(tmp_path / "lib.npy").library.shape == (30, 4)
    np.save(tmp_path / "bad.npy", np.ones(5))
    with pytest.raises(InputError, match=r"shape \(5,\)"):
        load(tmp_path / "bad.npy")
    save(cube, tmp_path / "out.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), cube)


# ------------------------------------------------------------------------------------------ CSV
def test_csv_round_trip(tmp_path: Path) -> None:
    E = np.random.default_rng(3).random((5, 3)).astype(np.float32)
    names = ["rock, dark", "tree", "water"]
    save_spectra_csv(tmp_path / "e.csv", E, names, wavelengths=[400.5, 500, 600, 700, 800])
    first = (tmp_path / "e.csv").read_text().splitlines()[0]
    assert first == 'wavelength_nm,"rock, dark",tree,water'
    s = load(tmp_path / "e.csv")
    assert s.layout == "spectra-csv" and s.library_names == names
    np.testing.assert_array_equal(s.library, E)  # float32 written with 9 significant digits
    np.testing.assert_array_equal(s.wavelengths, [400.5, 500, 600, 700, 800])
    # without wavelengths: band numbers
    save(Scene(cube=None, endmembers=E.astype(np.float64), endmember_names=names), tmp_path / "b.csv")
    assert (tmp_path / "b.csv").read_text().splitlines()[1].startswith("1,")
    b = load(tmp_path / "b.csv", dtype=np.float64)
    assert b.wavelengths is None
    np.testing.assert_array_equal(b.library, E.astype(np.float64))
    with pytest.raises(InputError, match="2 names for 3 spectra"):
        save_spectra_csv(tmp_path / "c.csv", E, ["a", "b"])


# ------------------------------------------------------------------------------------------ atomicity
def _only(path: Path) -> list[str]:
    return sorted(os.listdir(path))


def test_existing_target_needs_overwrite(tmp_path: Path) -> None:
    s = cube_scene()
    for name in ("x.tif", "x.mat", "x.npz", "x.csv", "x.npy"):
        target = tmp_path / name
        target.write_bytes(b"old")
        obj = Scene(cube=None, library=np.ones((3, 2))) if name.endswith(".csv") else s
        with pytest.raises(OutputExistsError, match=str(target)):
            save(obj, target)
        assert target.read_bytes() == b"old"
        save(obj, target, overwrite=True)
        assert target.read_bytes() != b"old"
        load(target)  # a complete, readable file
    assert not [f for f in _only(tmp_path) if ".tmp" in f]


def test_failed_npz_and_mat_writes_leave_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = cube_scene()
    (tmp_path / "old.npz").write_bytes(b"previous")
    (tmp_path / "old.mat").write_bytes(b"previous")

    def boom(fh, *args, **kwargs):
        fh.write(b"partial data")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    monkeypatch.setattr(scipy.io, "savemat", boom)
    for name in ("new.npz", "old.npz", "new.mat", "old.mat"):
        with pytest.raises(OSError, match="disk full"):
            save(s, tmp_path / name, overwrite=True)
    assert _only(tmp_path) == ["old.mat", "old.npz"]
    assert (tmp_path / "old.npz").read_bytes() == b"previous"
    assert (tmp_path / "old.mat").read_bytes() == b"previous"


def test_failed_geotiff_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = rasterio.open

    class Failing:
        def __init__(self, ds):
            self.ds = ds

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.ds.close()
            return False

        def write(self, arr):
            self.ds.write(arr)
            raise OSError("disk full")

        def __getattr__(self, name):
            return getattr(self.ds, name)

    def fake_open(fp, mode="r", **kw):
        ds = real_open(fp, mode, **kw)
        return Failing(ds) if mode == "w" else ds

    (tmp_path / "old.tif").write_bytes(b"previous")
    monkeypatch.setattr(rasterio, "open", fake_open)
    with pytest.raises(OSError, match="disk full"):
        save(cube_scene(), tmp_path / "old.tif", overwrite=True)
    with pytest.raises(OSError, match="disk full"):
        save(cube_scene(), tmp_path / "new.tif")
    assert _only(tmp_path) == ["old.tif"]
    assert (tmp_path / "old.tif").read_bytes() == b"previous"


def test_atomic_output_helper(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".txt" and tmp.exists()
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # like open(), not mkstemp's 0600
    with pytest.raises(RuntimeError):
        with atomic_output(target, overwrite=True) as tmp:
            tmp.write_text("half")
            raise RuntimeError("stop")
    assert target.read_text() == "done" and _only(tmp_path) == ["t.txt"]


def test_unwritable_or_missing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match=r"folder .*nope.* does not exist"):
        save(cube_scene(), tmp_path / "nope" / "x.npz")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    with pytest.raises(InputError, match=r"folder .*locked.* is not writable"):
        save(cube_scene(), locked / "x.npz")
    monkeypatch.setattr(os, "access", real_access)

    def deny(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", deny)
    with pytest.raises(InputError, match=r"cannot create a file in folder .*locked.*Permission denied"):
        save(cube_scene(), locked / "x.npz")
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(OutputExistsError, match="is a folder"):
        save(cube_scene(), tmp_path / "dir.npz", overwrite=True)


def test_unsupported_output_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unsupported extension '\.xyz'"):
        save(cube_scene(), tmp_path / "x.xyz")
