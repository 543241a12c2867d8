"""Bad input gets a clear error (issue 10): every case asserts a message that names the file or
array, what was expected and what was found. Python API (readers, hysupp.unmix, hysupp.fuse,
method classes) and the CLI (exit code 2, one line, no traceback)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.io as sio
from click.testing import CliRunner

import hysupp
from hysupp.api import write_run
from hysupp.cli import main
from hysupp.errors import (
    DegeneratePixelsWarning,
    HysuppError,
    InputError,
    LayoutError,
    OutputExistsError,
    ParameterError,
    UnknownMethodError,
)
from hysupp.api import fuse
from hysupp.io import load, save
from hysupp.methods.registry import get_method
from hysupp.scene import Scene

RNG = np.random.default_rng(0)
L, H, W = 10, 6, 6
CUBE = (0.05 + RNG.random((L, H, W))).astype(np.float32)
E3 = (0.05 + RNG.random((L, 3))).astype(np.float32)
WL = np.linspace(400.0, 900.0, L)


def envi_pair(folder, name, header_extra="", nbytes=L * H * W * 4, fields=None):
    """An ENVI header + data file; ``fields`` replaces the default header lines."""
    base = fields if fields is not None else {"samples": W, "lines": H, "bands": L, "header offset": 0,
                                              "byte order": 0, "data type": 4, "interleave": "bsq"}
    text = "ENVI\n" + "".join(f"{k} = {v}\n" for k, v in base.items()) + header_extra
    (folder / f"{name}.hdr").write_text(text)
    if nbytes is not None:
        (folder / f"{name}.img").write_bytes(np.ones(nbytes // 4, np.float32).tobytes()[:nbytes].ljust(nbytes, b"\0"))
    return folder / f"{name}.hdr"


def cli(*args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    return res.output


# ------------------------------------------------------------------------------------------------
# corrupt / truncated files
# ------------------------------------------------------------------------------------------------

def test_corrupt_mat_header(tmp_path):
    path = tmp_path / "c.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file garbage" + b"\0" * 10)
    with pytest.raises(InputError, match=r"cannot read MATLAB file '.*c\.mat' \(37 bytes\): not a valid v5/v7"):
        load(path)


def test_truncated_mat(tmp_path):
    good = tmp_path / "good.mat"
    sio.savemat(good, {"Y": CUBE})
    blob = good.read_bytes()
    (tmp_path / "t.mat").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError, match=r"MATLAB file '.*t\.mat' is corrupt at byte 128: data element of type 14 "
                                         r"claims \d+ bytes, only \d+ remain"):
        load(tmp_path / "t.mat")


def test_corrupt_mat_tag_is_caught_before_scipy(tmp_path):
    """SciPy's reader can crash the interpreter on a corrupt tag (bus error with scipy 1.17); the tags are
    checked first."""
    sio.savemat(tmp_path / "ok.mat", {"Y": CUBE[:, 0]})
    blob = bytearray((tmp_path / "ok.mat").read_bytes())
    blob[178] = 0x9E                     # the real-part tag of Y becomes a 158-byte "small" element
    (tmp_path / "bad.mat").write_bytes(bytes(blob))
    with pytest.raises(InputError, match=r"bad\.mat' is corrupt at byte 176: small data element of type 7 and 158 "
                                         r"bytes \(at most 4 bytes"):
        load(tmp_path / "bad.mat")
    blob[178] = 0
    blob[176] = 77                       # unknown type code
    (tmp_path / "bad.mat").write_bytes(bytes(blob))
    with pytest.raises(InputError, match=r"corrupt at byte 176: unknown data-element type 77"):
        load(tmp_path / "bad.mat")


def test_corrupt_mat_dimensions_and_complex_flag(tmp_path):
    sio.savemat(tmp_path / "ok.mat", {"Y": np.ones((5, 4), np.float32)})
    good = (tmp_path / "ok.mat").read_bytes()
    bigger = bytearray(good)
    bigger[164] = 200                    # dims (5, 4) -> (5, 200): more values than the data holds
    (tmp_path / "dims.mat").write_bytes(bytes(bigger))
    with pytest.raises(InputError, match=r"dims\.mat' is corrupt at byte 176: array dimensions \(5, 200\) need 4000 "
                                         r"bytes of type 7, the data element holds 80"):
        load(tmp_path / "dims.mat")
    cplx = bytearray(good)
    cplx[145] |= 0x08                    # complex flag without an imaginary part
    (tmp_path / "cplx.mat").write_bytes(bytes(cplx))
    with pytest.raises(InputError, match=r"cplx\.mat' is corrupt at byte 136: complex array without an imaginary"):
        load(tmp_path / "cplx.mat")


def test_empty_mat(tmp_path):
    (tmp_path / "e.mat").write_bytes(b"")
    with pytest.raises(InputError, match=r"e\.mat' \(0 bytes\).*truncated"):
        load(tmp_path / "e.mat")


def test_truncated_geotiff(tmp_path):
    save(CUBE, tmp_path / "ok.tif")
    blob = (tmp_path / "ok.tif").read_bytes()
    (tmp_path / "t.tif").write_bytes(blob[: len(blob) // 3])
    with pytest.raises(InputError, match=r"cannot read GeoTIFF '.*t\.tif'"):
        load(tmp_path / "t.tif")


def test_garbage_geotiff(tmp_path):
    (tmp_path / "g.tif").write_bytes(b"II*\0garbage")
    with pytest.raises(InputError, match=r"cannot read GeoTIFF '.*g\.tif'"):
        load(tmp_path / "g.tif")


def test_envi_header_without_data_file(tmp_path):
    hdr = envi_pair(tmp_path, "h", nbytes=None)
    with pytest.raises(InputError, match=r"ENVI header '.*h\.hdr' has no data file next to it \(looked for .*h\.img"):
        load(hdr)


def test_envi_truncated_data(tmp_path):
    hdr = envi_pair(tmp_path, "h", nbytes=400)
    with pytest.raises(InputError, match=r"ENVI data file '.*h\.img' is truncated: 400 bytes, the header "
                                         r"\(6 samples x 6 lines x 10 bands x 4 bytes \+ offset 0\) needs 1440"):
        load(hdr)


def test_envi_not_a_header(tmp_path):
    (tmp_path / "x.hdr").write_text("NOT ENVI\nsamples = 6\n")
    (tmp_path / "x.img").write_bytes(b"\0" * 100)
    with pytest.raises(InputError, match=r"ENVI header '.*x\.hdr' is not a valid ENVI header"):
        load(tmp_path / "x.hdr")


def test_envi_unclosed_brace(tmp_path):
    hdr = envi_pair(tmp_path, "b", header_extra="wavelength = {1, 2\n")
    with pytest.raises(InputError, match=r"b\.hdr' is not a valid ENVI header \(EnviHeaderParsingError"):
        load(hdr)


def test_envi_missing_bands(tmp_path):
    hdr = envi_pair(tmp_path, "m", fields={"samples": W, "lines": H, "data type": 4, "byte order": 0})
    with pytest.raises(InputError, match=r"m\.hdr': required field 'bands' is missing"):
        load(hdr)


@pytest.mark.parametrize("field, value, message", [
    ("data type", 99, r"unknown 'data type' 99; expected one of 1, 2, 3, 4, 5, 6, 9, 12, 13, 14, 15"),
    ("interleave", "xyz", r"'interleave' must be bsq, bil or bip, got 'xyz'"),
    ("samples", -6, r"'samples' must be >= 1, got -6"),
    ("lines", "six", r"'lines' must be an integer, got 'six'"),
    ("byte order", 2, r"'byte order' must be 0 or 1, got '2'"),
])
def test_envi_bad_header_fields(tmp_path, field, value, message):
    fields = {"samples": W, "lines": H, "bands": L, "header offset": 0, "byte order": 0, "data type": 4,
              "interleave": "bsq", field: value}
    hdr = envi_pair(tmp_path, "f", fields=fields)
    with pytest.raises(InputError, match=r"ENVI header '.*f\.hdr': " + message):
        load(hdr)


def test_envi_wavelength_count_mismatch_is_noted(tmp_path):
    hdr = envi_pair(tmp_path, "w", header_extra="wavelength = {1, 2, 3}\n")
    scene = load(hdr)
    assert scene.wavelengths is None
    assert any("header has 3 wavelengths for 10 bands: ignored" in n for n in scene.notes)


def test_envi_header_declares_fewer_bands_than_the_file_holds(tmp_path):
    hdr = envi_pair(tmp_path, "few", fields={"samples": W, "lines": H, "bands": L - 2, "header offset": 0,
                                             "byte order": 0, "data type": 4, "interleave": "bsq"})
    with pytest.raises(InputError, match=r"ENVI data file '.*few\.img' has 1440 bytes, the header '.*few\.hdr' "
                                         r"\(6 samples x 6 lines x 8 bands x 4 bytes \+ offset 0\) describes 1152: it "
                                         r"holds 2 more band\(s\) than the header's 'bands = 8'"):
        load(hdr)
    odd = envi_pair(tmp_path, "odd", nbytes=L * H * W * 4 + 6)
    with pytest.raises(InputError, match=r"has 1446 bytes.*describes 1440; check 'samples', 'lines', 'bands'"):
        load(odd)


def test_corrupt_compressed_geotiff_payload(tmp_path):
    """Bytes flipped inside the deflate stream: GDAL fails on read; the error names the file and GDAL's cause."""
    save(np.tile(CUBE, (1, 20, 20)), tmp_path / "ok.tif")
    blob = bytearray((tmp_path / "ok.tif").read_bytes())
    mid = len(blob) // 2
    blob[mid:mid + 200] = bytes(b ^ 0xFF for b in blob[mid:mid + 200])
    (tmp_path / "bad.tif").write_bytes(bytes(blob))
    with pytest.raises(InputError, match=r"cannot read GeoTIFF '.*bad\.tif': corrupt, truncated or not a TIFF\?.*"
                                         r"IReadBlock failed"):
        load(tmp_path / "bad.tif")


def test_boolean_cube_is_refused(tmp_path):
    mask = CUBE > 0.5
    np.save(tmp_path / "m.npy", mask)
    with pytest.raises(InputError, match=r"m\.npy': a boolean array \(a mask\?\) is not an image or a library"):
        load(tmp_path / "m.npy")
    sio.savemat(tmp_path / "m.mat", {"mask": mask.transpose(1, 2, 0)})
    with pytest.raises(InputError, match=r"scene 'm': the cube is boolean \(a mask\?\)"):
        load(tmp_path / "m.mat")
    with pytest.raises(InputError, match=r"image array is boolean"):
        hysupp.io.arrays.as_scene(mask)


@pytest.mark.parametrize("payload, message", [
    (b"\x93NUMPY garbage", r"cannot read '.*bad\.npy'"),
])
def test_corrupt_npy(tmp_path, payload, message):
    (tmp_path / "bad.npy").write_bytes(payload)
    with pytest.raises(InputError, match=message):
        load(tmp_path / "bad.npy")


def test_missing_file_and_folder_and_unknown_extension(tmp_path):
    with pytest.raises(InputError, match=r"file not found: '.*nope\.mat'"):
        load(tmp_path / "nope.mat")
    with pytest.raises(InputError, match=r"is a folder, not a file"):
        load(tmp_path)
    (tmp_path / "z.xyz").write_text("x")
    with pytest.raises(InputError, match=r"z\.xyz': unsupported file type '\.xyz'; supported: \.mat"):
        load(tmp_path / "z.xyz")


# ------------------------------------------------------------------------------------------------
# layouts: unknown key, ambiguity, dimensionality, dtypes
# ------------------------------------------------------------------------------------------------

def test_unknown_key(tmp_path):
    sio.savemat(tmp_path / "two.mat", {"X1": CUBE, "X2": 2 * CUBE})
    with pytest.raises(LayoutError, match=r"two\.mat: no variable 'nope'\. Variables: X1 \(10, 6, 6\)"):
        load(tmp_path / "two.mat", key="nope")


def test_ambiguous_layout(tmp_path):
    sio.savemat(tmp_path / "two.mat", {"X1": CUBE, "X2": 2 * CUBE})
    with pytest.raises(LayoutError, match=r"several 3-D arrays could be the image \(X1 \(10, 6, 6\), X2 \(10, 6, 6\)\)"
                                          r".*pass key= to choose one"):
        load(tmp_path / "two.mat")
    assert load(tmp_path / "two.mat", key="X2").cube.ndim == 3   # key= resolves it


def test_four_dimensional_mat(tmp_path):
    sio.savemat(tmp_path / "four.mat", {"X": RNG.random((2, 3, 4, 5))})
    with pytest.raises(LayoutError, match=r"arrays with more than 3 dimensions \(X\) are not images; expected a 3-D"):
        load(tmp_path / "four.mat")


@pytest.mark.parametrize("shape", [(5,), (2, 2, 2, 2)])
def test_npy_wrong_dimensionality(tmp_path, shape):
    np.save(tmp_path / "a.npy", RNG.random(shape))
    with pytest.raises(InputError, match=rf"a\.npy': array of shape {shape!r}".replace("(", r"\(").replace(")", r"\)")
                       + r" is neither a cube \(L, H, W\) nor a library \(L, M\)"):
        load(tmp_path / "a.npy")


def test_complex_and_object_arrays(tmp_path):
    np.save(tmp_path / "c.npy", RNG.random((3, 4, 4)) + 1j)
    with pytest.raises(InputError, match=r"c\.npy': array of dtype complex128 is not numeric"):
        load(tmp_path / "c.npy")
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match=r"cannot read '.*o\.npy': Object arrays cannot be loaded"):
        load(tmp_path / "o.npy")


def test_wrong_dimensionality_arrays():
    with pytest.raises(InputError, match=r"image array must be a cube \(L, H, W\), got shape \(10, 36\)"):
        hysupp.unmix(CUBE.reshape(L, -1), "VCA", p=3)
    with pytest.raises(InputError, match=r"Y must be a 2-D pixel matrix \(L bands, N pixels\), got shape \(10, 6, 6\)"):
        get_method("FCLS")().unmix(CUBE, E3)


def test_non_float_dtype_requested(tmp_path):
    np.save(tmp_path / "a.npy", CUBE)
    with pytest.raises(InputError, match=r"dtype must be a floating type \(float32 or float64\), got int32"):
        load(tmp_path / "a.npy", dtype="int32")


# ------------------------------------------------------------------------------------------------
# pixel values: NaN/Inf, zeros, negatives, integers
# ------------------------------------------------------------------------------------------------

def test_nan_pixels_in_an_array_are_masked_as_in_a_file():
    """One nodata policy: an array's NaN pixels are masked like a file's; the solver alone refuses them."""
    cube = CUBE.copy()
    cube[:, 0, 3] = np.nan
    run = hysupp.unmix(cube, "FCLS", endmembers=E3)
    assert np.isnan(run.abundances[:, 0, 3]).all() and np.isfinite(run.abundances[:, 0, 4]).all()
    with pytest.raises(InputError, match=r"Y has 1 pixel\(s\) with NaN/Inf values \(first at pixel 3\); mask them"):
        get_method("FCLS")().unmix(cube.reshape(L, -1), E3)


def test_inf_in_endmembers_is_rejected():
    E = E3.copy()
    E[2, 1] = np.inf
    with pytest.raises(InputError, match=r"endmembers E has 1 pixel\(s\) with NaN/Inf values \(first at pixel 1\)"):
        get_method("FCLS")().unmix(CUBE.reshape(L, -1), E)


def test_nan_pixels_in_a_file_are_masked(tmp_path):
    cube = CUBE.copy()
    cube[:, 2, 2] = np.nan
    np.save(tmp_path / "n.npy", cube)
    scene = load(tmp_path / "n.npy")
    assert not scene.mask[2, 2] and scene.mask.sum() == H * W - 1
    assert any("1 pixels with non-finite values marked invalid" in n for n in scene.notes)
    run = hysupp.unmix(tmp_path / "n.npy", "FCLS", endmembers=E3)
    assert np.isnan(run.abundances[:, 2, 2]).all() and np.isfinite(np.delete(run.abundances.reshape(3, -1),
                                                                             2 * W + 2, axis=1)).all()


def test_all_zero_image_is_rejected():
    with pytest.raises(InputError, match=r"every pixel is degenerate \(36 all-zero\): there is no signal to unmix"):
        hysupp.unmix(np.zeros((L, H, W), np.float32), "VCA", p=3)
    with pytest.raises(InputError, match=r"Y is all zeros \(shape \(10, 36\)\): there is no signal to unmix"):
        get_method("VCA")().extract(np.zeros((L, H * W), np.float32), 3)


def test_all_zero_library_is_rejected():
    with pytest.raises(InputError, match=r"library D is all zeros \(shape \(10, 4\)\)"):
        get_method("SUnSAL")().unmix(CUBE.reshape(L, -1), np.zeros((L, 4)))


def test_single_all_zero_pixel_is_excluded_with_a_warning():
    """No abundance vector on the simplex gives a zero spectrum: the pixel is left out (NaN), said."""
    cube = CUBE.copy()
    cube[:, 1, 1] = 0.0
    with pytest.warns(DegeneratePixelsWarning, match="1 all-zero pixels of 36"):
        run = hysupp.unmix(cube, "FCLS", endmembers=E3)
    assert np.isnan(run.abundances[:, 1, 1]).all()
    others = np.delete(run.abundances.reshape(3, -1), 1 * W + 1, axis=1)
    np.testing.assert_allclose(others.sum(axis=0), 1.0, atol=1e-4)


def test_negative_reflectance_is_kept_and_noted():
    cube = CUBE.copy()
    cube[:, 0, :2] = -0.25
    run = hysupp.unmix(cube, "FCLS", endmembers=E3)
    assert any("2 of 36 pixels have negative values (min -0.25)" in n for n in run.record["input"]["notes"])


def test_integer_data_without_scale_is_noted(tmp_path):
    hdr = envi_pair(tmp_path, "i", fields={"samples": W, "lines": H, "bands": L, "header offset": 0,
                                           "byte order": 0, "data type": 2, "interleave": "bsq"}, nbytes=None)
    (tmp_path / "i.img").write_bytes((np.full(L * H * W, 5000, np.int16)).tobytes())
    scene = load(hdr)
    assert scene.cube.dtype == np.float32 and scene.cube.max() == 5000
    assert any("integer data kept as stored; pass scale=1e-4 for reflectance (cube is int16" in n for n in scene.notes)


# ------------------------------------------------------------------------------------------------
# spectral libraries
# ------------------------------------------------------------------------------------------------

def test_library_on_other_bands():
    img = Scene(cube=CUBE, wavelengths=WL, name="img")
    lib = Scene(library=RNG.random((5, 8)), wavelengths=np.linspace(2000, 2500, 5), name="lib")
    with pytest.raises(InputError, match=r"target wavelength 400\.00 nm \(target band 0\) lies 1600\.00 nm below the "
                                         r"library's wavelength range 2000\.00-2500\.00 nm"):
        hysupp.unmix(img, "SUnSAL", library=lib)


def test_library_with_other_band_count_and_no_wavelengths():
    with pytest.raises(InputError, match=r"scene 'scene' has no wavelengths and 10 bands, the library 'lib' has 7"):
        hysupp.unmix(Scene(cube=CUBE), "SUnSAL", library=Scene(library=RNG.random((7, 8)), name="lib"))


def test_library_array_with_wrong_band_count():
    with pytest.raises(InputError, match=r"library D has 9 bands \(rows\) but the image has 10"):
        get_method("SUnSAL")().unmix(CUBE.reshape(L, -1), RNG.random((9, 8)))


def test_library_array_is_accepted_on_the_image_bands():
    run = hysupp.unmix(Scene(cube=CUBE, wavelengths=WL), "SUnSAL", library=RNG.random((L, 8)),
                       params={"max_iter": 20})
    assert run.abundances.shape == (8, H, W)
    with pytest.raises(InputError, match=r"library array must be 2-D \(L bands, M atoms\), got shape \(10,\)"):
        hysupp.unmix(CUBE, "SUnSAL", library=RNG.random(L))


def test_library_unsorted_or_duplicate_wavelengths_are_resolved():
    """Documented (resample_library): any order; repeated centres are averaged."""
    from hysupp.libraries import library_for_scene

    wl = np.linspace(380.0, 920.0, 14)
    D = np.stack([wl / 1000.0, np.ones_like(wl)], axis=1)
    img = Scene(cube=CUBE, wavelengths=WL + 1.3, name="img")   # off-grid: resampled
    ref = library_for_scene(Scene(library=D, wavelengths=wl, name="lib"), img).library
    perm = RNG.permutation(wl.size)
    shuffled = library_for_scene(Scene(library=D[perm], wavelengths=wl[perm], name="lib"), img).library
    np.testing.assert_allclose(shuffled, ref, rtol=1e-12)
    dup = library_for_scene(Scene(library=np.vstack([D, D[3:4]]), wavelengths=np.append(wl, wl[3]), name="lib"),
                            img).library
    np.testing.assert_allclose(dup, ref, rtol=1e-12)


def test_semisupervised_without_library():
    with pytest.raises(InputError, match=r"SUnSAL needs a spectral library: the scene 'img' has none; pass --library"):
        hysupp.unmix(Scene(cube=CUBE, name="img"), "SUnSAL")


# ------------------------------------------------------------------------------------------------
# number of endmembers, image size
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p, message", [
    (11, r"p = 11 endmembers exceeds the number of bands L = 10"),
    (1, r"number of endmembers p must be an integer >= 2, got 1"),
    (0, r"number of endmembers p must be an integer >= 2, got 0"),
    (2.5, r"p \(number of endmembers\) must be a whole number, got 2\.5"),
    ("many", r"p must be an integer or one of auto, hysime, hfc, nwhfc, got 'many'"),
])
def test_bad_p(p, message):
    with pytest.raises(InputError, match=message):
        hysupp.unmix(CUBE, "VCA", p=p)


def test_p_larger_than_pixels():
    with pytest.raises(InputError, match=r"p = 3 endmembers exceeds the number of pixels N = 2"):
        hysupp.unmix(CUBE[:, :1, :2], "VCA", p=3)


def test_p_without_truth():
    with pytest.raises(InputError, match=r"scene 'array' has no ground truth to take the number of endmembers from"):
        hysupp.unmix(CUBE, "VCA")


def test_empty_image():
    with pytest.raises(InputError, match=r"scene 'array': cube is empty, shape \(10, 0, 5\)"):
        hysupp.unmix(np.zeros((L, 0, 5), np.float32), "VCA", p=3)


def test_one_pixel_image():
    run = hysupp.unmix(CUBE[:, :1, :1], "FCLS", endmembers=E3)   # supervised: fine
    assert run.abundances.shape == (3, 1, 1)
    with pytest.raises(InputError, match=r"p = 3 endmembers exceeds the number of pixels N = 1"):
        hysupp.unmix(CUBE[:, :1, :1], "VCA", p=3)


def test_endmembers_with_wrong_band_count():
    with pytest.raises(InputError, match=r"endmembers from array have shape \(9, 3\); expected \(10, p\) to match"):
        hysupp.unmix(CUBE, "FCLS", endmembers=E3[:9])


# ------------------------------------------------------------------------------------------------
# fusion
# ------------------------------------------------------------------------------------------------

MS = 100 + 10 * RNG.random((4, 8, 8))
PAN = 100 + 10 * RNG.random((32, 32))


def test_fusion_size_mismatch():
    with pytest.raises(InputError, match=r"MS/PAN size mismatch: the PAN is 30 x 30 pixels, ratio 4 x the MS "
                                         r"\(8 x 8\) is 32 x 32"):
        fuse(method="BT", ms=MS, pan=PAN[:30, :30], ratio=4)


def test_fusion_non_integer_ratio():
    with pytest.raises(InputError, match=r"the PAN is 36 x 36 pixels, ratio 4 x the MS \(8 x 8\) is 32 x 32"):
        fuse(method="BT", ms=MS, pan=100 + RNG.random((36, 36)), ratio=4)   # 36 / 8 = 4.5
    with pytest.raises(InputError, match=r"ratio must be an integer >= 2 \(the resolution ratio\), got 1"):
        fuse(method="BT", ms=MS, pan=MS[0], ratio=1)


def test_fusion_ratio_unknown():
    with pytest.raises(InputError, match=r"the resolution ratio is unknown: pass ratio= \(--ratio\)"):
        fuse(method="BT", ms=MS, pan=PAN)


def test_fusion_missing_sensor_mtf():
    # reduced resolution no longer demands a sensor: the generic gains, with a warning (issue 19)
    from hysupp.errors import SensorWarning

    with pytest.warns(SensorWarning, match=r"no sensor given: the generic MTF gains .* Pass sensor=/--sensor"):
        fuse(method="MTF-GLP", ms=MS, pan=PAN, ratio=4, protocol="rr", evaluate=False)
    with pytest.raises(InputError, match=r"unknown sensor 'XYZ'; known sensors: QB"):
        fuse(method="MTF-GLP", ms=MS, pan=PAN, ratio=4, sensor="XYZ", protocol="rr")


def test_fusion_pan_with_several_bands_and_nan():
    with pytest.raises(InputError, match=r"BT is a pansharpening method: it needs a one-band PAN, but the "
                                          r"high-resolution image has 3 bands"):
        fuse(method="BT", ms=MS, pan=RNG.random((3, 32, 32)), ratio=4)
    ms = MS.copy()
    ms[0, 0, 0] = np.nan
    with pytest.raises(InputError, match=r"MS has 1 non-finite values; fusion pairs need a complete image"):
        fuse(method="BT", ms=ms, pan=PAN, ratio=4)


def test_fusion_wrong_task_and_protocol():
    with pytest.raises(InputError, match=r"FCLS is a 'supervised' method; hysupp\.fuse runs pansharpening"):
        fuse(method="FCLS", ms=MS, pan=PAN, ratio=4)
    with pytest.raises(InputError, match=r"protocol must be one of rr, fr, got 'zz'"):
        fuse(method="BT", ms=MS, pan=PAN, ratio=4, protocol="zz")


# ------------------------------------------------------------------------------------------------
# methods and parameters
# ------------------------------------------------------------------------------------------------

def test_unknown_method():
    with pytest.raises(UnknownMethodError, match=r"unknown method 'FOO'; `hysupp list` shows all"):
        hysupp.unmix(CUBE, "FOO", p=3)
    with pytest.raises(InputError, match=r"BT is a 'pansharpening' method; hysupp\.unmix runs unmixing methods"):
        hysupp.unmix(CUBE, "BT", p=3)


def test_unknown_parameter():
    with pytest.raises(ParameterError, match=r"SUnSAL: unknown parameter\(s\) 'foo'; valid: lam, positivity"):
        get_method("SUnSAL")(foo=1)


@pytest.mark.parametrize("params, message", [
    ({"lam": -1}, r"SUnSAL: parameter 'lam' must be >= 0\.0, got -1\.0"),
    ({"lam": "abc"}, r"SUnSAL: parameter 'lam' must be a number, got 'abc'"),
    ({"max_iter": 2.5}, r"SUnSAL: parameter 'max_iter' must be an integer, got float 2\.5"),
    ({"positivity": "maybe"}, r"SUnSAL: parameter 'positivity' must be a boolean \(true/false\), got 'maybe'"),
    ({"dtype": "int8"}, r"SUnSAL: parameter 'dtype' must be one of float32, float64, got 'int8'"),
    ({"lam": float("nan")}, r"SUnSAL: parameter 'lam' must be a number, got NaN"),
])
def test_parameter_type_and_range(params, message):
    with pytest.raises(ParameterError, match=message):
        get_method("SUnSAL")(**params)


def test_device_cuda_without_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    from hysupp.unmixing.semisupervised.fasun import FaSUn

    with pytest.raises(ParameterError, match=r"device 'cuda' requested but CUDA is not available \(torch .*\); "
                                             r"use device='cpu'"):
        FaSUn(device="cuda", T=2).unmix(CUBE.reshape(L, -1), RNG.random((L, 8)), p=3)
    with pytest.raises(ParameterError, match=r"FaSUn: parameter 'device' must be one of auto, cpu, cuda, got 'tpu'"):
        FaSUn(device="tpu")


# ------------------------------------------------------------------------------------------------
# outputs
# ------------------------------------------------------------------------------------------------

def test_output_file_exists(tmp_path):
    save(CUBE, tmp_path / "a.npy")
    before = (tmp_path / "a.npy").read_bytes()
    with pytest.raises(OutputExistsError, match=r"output file '.*a\.npy' exists; pass overwrite=True \(--overwrite\)"):
        save(2 * CUBE, tmp_path / "a.npy")
    assert (tmp_path / "a.npy").read_bytes() == before
    save(2 * CUBE, tmp_path / "a.npy", overwrite=True)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), 2 * CUBE)


def test_output_folder_missing_or_a_file(tmp_path):
    with pytest.raises(InputError, match=r"cannot write '.*nodir/x\.npy': folder '.*nodir' does not exist"):
        save(CUBE, tmp_path / "nodir" / "x.npy")
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match=r"cannot write '.*f/x\.npy': '.*f' is not a folder"):
        save(CUBE, tmp_path / "f" / "x.npy")


def test_output_folder_not_writable(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda *a, **k: False)   # also meaningful when the tests run as root
    with pytest.raises(InputError, match=r"cannot write '.*x\.npy': folder '.*' is not writable"):
        save(CUBE, tmp_path / "x.npy")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_output_folder_read_only(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(InputError, match=r"is not writable"):
            save(CUBE, ro / "x.npy")
    finally:
        ro.chmod(0o755)


def test_unsupported_output_extension(tmp_path):
    with pytest.raises(InputError, match=r"cannot save '.*x\.xyz': unsupported extension '\.xyz'; use \.tif, \.mat"):
        save(CUBE, tmp_path / "x.xyz")


def test_run_folder_exists(tmp_path):
    run = hysupp.unmix(CUBE, "FCLS", endmembers=E3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"output folder '.*out' exists and is not empty; choose another --out "
                                                r"or pass --overwrite"):
        write_run(run, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


# ------------------------------------------------------------------------------------------------
# the same through the CLI: exit code 2 and the message, no traceback
# ------------------------------------------------------------------------------------------------

def test_cli_corrupt_mat(tmp_path):
    (tmp_path / "c.mat").write_bytes(b"MATLAB 5.0 MAT-file garbage" + b"\0" * 10)
    assert "not a valid v5/v7 .mat file" in cli("run", "--data", tmp_path / "c.mat", "--out", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_cli_info_envi_header_without_data(tmp_path):
    hdr = envi_pair(tmp_path, "h", nbytes=None)
    assert "has no data file next to it" in cli("info", hdr)


def test_cli_ambiguous_layout_and_unknown_key(tmp_path):
    sio.savemat(tmp_path / "two.mat", {"X1": CUBE, "X2": 2 * CUBE})
    assert "pass key= to choose one" in cli("run", "--data", tmp_path / "two.mat", "--p", "3")
    assert "no variable 'nope'" in cli("info", tmp_path / "two.mat", "--key", "nope")
    assert "pass key= to choose one" in cli("info", tmp_path / "two.mat")   # exit 2, not 0 (issue 18)


def test_cli_unknown_method_and_parameter(tmp_path):
    assert "unknown method 'FOO'" in cli("run", "--method", "FOO")
    assert "SUnSAL: unknown parameter 'foo'; valid: lam" in cli("run", "--method", "SUnSAL", "--param", "foo=1")
    assert "SUnSAL: parameter 'lam' must be >= 0.0, got -1.0" in cli("run", "--method", "SUnSAL", "--param", "lam=-1")
    assert "must be an integer, got '3x'" in cli("run", "--method", "SUnSAL", "--param", "max_iter=3x")


def test_cli_bad_p(tmp_path):
    np.save(tmp_path / "a.npy", CUBE)
    assert "the number of endmembers must be >= 2, got 1" in cli("run", "--data", tmp_path / "a.npy", "--p", "1")
    assert "p = 11 endmembers exceeds the number of bands L = 10" in cli(
        "run", "--data", tmp_path / "a.npy", "--p", "11", "--out", tmp_path / "o")


def test_cli_output_exists(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "x").write_text("x")
    assert "exists and is not empty" in cli("run", "--endmembers", "truth", "--out", out)
    assert (out / "x").read_text() == "x"
    np.save(tmp_path / "s.npz", CUBE)
    (tmp_path / "s.mat").write_text("old")
    assert "output file" in cli("simulate", "dirichlet", "--out", tmp_path / "s.mat")
    assert (tmp_path / "s.mat").read_text() == "old"


def test_cli_fusion_size_mismatch(tmp_path):
    np.save(tmp_path / "ms.npy", MS)
    np.save(tmp_path / "pan.npy", PAN[:30, :30])
    assert "MS/PAN size mismatch" in cli("fuse", "--method", "BT", "--ms", tmp_path / "ms.npy", "--pan",
                                         tmp_path / "pan.npy", "--ratio", "4", "--out", tmp_path / "o")
    res = CliRunner().invoke(main, ["fuse", "--ratio", "1"])
    assert res.exit_code == 2 and "1 is not in the range x>=2" in res.output


def test_every_error_is_a_hysupp_error():
    """The CLI turns HysuppError into exit code 2; an input error is also a ValueError for Python callers."""
    assert issubclass(InputError, (HysuppError, ValueError)) and issubclass(ParameterError, (HysuppError, ValueError))
