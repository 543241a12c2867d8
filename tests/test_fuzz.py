"""Property-based tests and a short bounded fuzz (issue 10), with hypothesis.

Readers round-trip any small cube in every format (shape, dtype, values); metrics keep their
invariances (SAM under positive per-pixel scaling, Q2n and SRE under a common scaling, SAD under
column scaling); the ``.mat`` and ENVI header parsers answer arbitrary bytes with a Scene or an
:class:`~hysupp.errors.InputError`, never another exception. Every test is bounded
(``max_examples``, ``deadline``): the whole file runs in well under 30 s on 2 cores.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hysupp.errors import InputError
from hysupp.io import load, save
from hysupp.metrics import sad, sre
from hysupp.metrics.fusion import q2n, sam

FAST = settings(max_examples=15, deadline=2000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ = settings(max_examples=40, deadline=2000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

cube_shapes = st.tuples(st.integers(2, 6), st.integers(1, 5), st.integers(1, 5))
positive = st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def cubes(draw, dtypes=(np.float32, np.float64, np.int16, np.uint16)):
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(cube_shapes)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        elems = st.integers(max(int(info.min), -30000), min(int(info.max), 30000))
    else:
        elems = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)
    return draw(arrays(dtype, shape, elements=elems))


# ------------------------------------------------------------------------------------------------
# readers and writers
# ------------------------------------------------------------------------------------------------

@FAST
@given(cube=cubes(), ext=st.sampled_from([".npy", ".npz", ".mat", ".tif"]))
def test_cube_round_trip_keeps_shape_and_values(cube, ext):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"c{ext}"
        save(cube, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scene = load(path, dtype="float64")
    assert scene.cube.shape == cube.shape and scene.cube.dtype == np.float64
    np.testing.assert_array_equal(scene.cube, cube.astype(np.float64))


@FAST
@given(cube=cubes(dtypes=(np.float32, np.float64)), scale=st.sampled_from([1e-4, 0.5, 3.0]))
def test_load_scale_and_dtype(cube, scale):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.npy"
        np.save(path, cube)
        plain = load(path)
        scaled = load(path, scale=scale, dtype="float64")
    assert plain.cube.dtype == np.float32 and scaled.cube.dtype == np.float64
    np.testing.assert_allclose(scaled.cube, cube.astype(np.float64) * scale, rtol=1e-6, atol=0)


# ------------------------------------------------------------------------------------------------
# metrics
# ------------------------------------------------------------------------------------------------

spectra = arrays(np.float64, st.tuples(st.integers(3, 8), st.integers(2, 4), st.integers(2, 4)),
                 elements=st.floats(0.01, 1.0))


@FAST
@given(ref=spectra, data=st.data())
def test_sam_is_invariant_to_positive_per_pixel_scaling(ref, data):
    _, H, W = ref.shape
    noise = data.draw(arrays(np.float64, ref.shape, elements=st.floats(0.0, 0.2)))
    fused = ref + noise
    gains = data.draw(arrays(np.float64, (1, H, W), elements=positive))
    base = sam(ref, fused, per_pixel=True)
    np.testing.assert_allclose(sam(ref, fused * gains, per_pixel=True), base, atol=1e-4)   # arccos near 1: ~1e-6 deg
    np.testing.assert_allclose(sam(ref * gains, fused, per_pixel=True), base, atol=1e-4)   # arccos near 1: ~1e-6 deg
    assert 0.0 <= sam(ref, fused) <= 180.0 and sam(ref, ref) == pytest.approx(0.0, abs=1e-4)


@FAST
@given(seed=st.integers(0, 2 ** 16), bands=st.sampled_from([3, 4]), scale=positive)
def test_q2n_is_invariant_to_common_scaling(seed, bands, scale):
    rng = np.random.default_rng(seed)
    ref = rng.uniform(0.1, 1.0, (bands, 16, 16))
    fused = ref + rng.normal(0, 0.05, ref.shape)
    base = q2n(ref, fused, block=8)
    assert q2n(ref * scale, fused * scale, block=8) == pytest.approx(base, rel=1e-6, abs=1e-9)
    assert base <= 1.0 + 1e-9 and q2n(ref, ref, block=8) == pytest.approx(1.0, abs=1e-9)


@FAST
@given(seed=st.integers(0, 2 ** 16), p=st.integers(2, 5), scale=positive)
def test_sre_and_sad_invariances(seed, p, scale):
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.ones(p), 20).T
    A_est = np.abs(A + rng.normal(0, 0.05, A.shape))
    assert sre(A * scale, A_est * scale) == pytest.approx(sre(A, A_est), rel=1e-9, abs=1e-9)
    E = rng.uniform(0.05, 1.0, (10, p))
    E_est = E + rng.normal(0, 0.02, E.shape)
    gains = rng.uniform(0.1, 10.0, p)
    np.testing.assert_allclose(sad(E, E_est * gains), sad(E, E_est), atol=1e-9)


# ------------------------------------------------------------------------------------------------
# bounded fuzz of the parsers: a Scene or an InputError, nothing else
# ------------------------------------------------------------------------------------------------

def _valid_mat() -> bytes:
    import scipy.io as sio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.mat"
        rng = np.random.default_rng(0)
        sio.savemat(path, {"Y": rng.random((5, 12)), "M": rng.random((5, 2)), "A": rng.random((2, 12)),
                           "nRow": 3, "nCol": 4})
        return path.read_bytes()


VALID_MAT = _valid_mat()


def _load_quietly(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            load(path)
        except InputError:
            pass            # the documented answer to a bad file (LayoutError is an InputError)


@FUZZ
@given(cuts=st.lists(st.tuples(st.integers(0, len(VALID_MAT) - 1), st.integers(0, 255)), max_size=6),
       truncate=st.one_of(st.none(), st.integers(0, len(VALID_MAT))))
def test_fuzz_mat_parser(cuts, truncate):
    blob = bytearray(VALID_MAT)
    for pos, value in cuts:
        blob[pos] = value
    if truncate is not None:
        del blob[truncate:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.mat"
        path.write_bytes(bytes(blob))
        _load_quietly(path)


HEADER_KEYS = ["samples", "lines", "bands", "header offset", "data type", "interleave", "byte order",
               "wavelength", "fwhm", "bbl", "wavelength units", "data ignore value", "map info", "band names",
               "reflectance scale factor", "file type", "data gain values"]
header_values = st.one_of(st.integers(-3, 40).map(str), st.sampled_from(["bsq", "bil", "bip", "Micrometers", "{",
                                                                         "}", "{1, 2, 3}", "{a, b", "nan", ""]),
                          st.text(alphabet="0123456789.,{} -abcxyz=", max_size=12))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(HEADER_KEYS), header_values, max_size=10),
       magic=st.sampled_from(["ENVI", "ENVI", "ENVI", "NOT", ""]), nbytes=st.integers(0, 2000),
       junk=st.text(max_size=20))
def test_fuzz_envi_header_parser(fields, magic, nbytes, junk):
    base = {"samples": "3", "lines": "2", "bands": "4", "data type": "4", "byte order": "0", "interleave": "bsq"}
    base.update(fields)
    text = magic + "\n" + "".join(f"{k} = {v}\n" for k, v in base.items()) + junk
    with tempfile.TemporaryDirectory() as tmp:
        hdr = Path(tmp) / "f.hdr"
        hdr.write_text(text, encoding="utf-8")
        (Path(tmp) / "f.img").write_bytes(np.arange(nbytes, dtype=np.uint8).tobytes())
        _load_quietly(hdr)
