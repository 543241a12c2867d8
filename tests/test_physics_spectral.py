"""Tests for hysupp.physics.mixing (LinearMixing) and hysupp.physics.spectral (SRFs, sensors)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from hysupp.errors import InputError, ParameterError
from hysupp.physics.mixing import ChannelMatrix, LinearMixing
from hysupp.physics.operator import adjoint_mismatch
from hysupp.physics.spectral import (
    FWHM_PER_SIGMA,
    SENSORS_SPECTRAL,
    SpectralResponse,
    gaussian_srf,
    get_sensor,
    sensor_srf,
    srf_from_table,
)

RNG = np.random.default_rng(12345)


def _half_max_width(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Half-maximum crossings of a single-peaked sampled curve, linearly interpolated."""
    half = y.max() / 2.0
    above = np.nonzero(y >= half)[0]
    i0, i1 = above[0], above[-1]
    left = np.interp(half, [y[i0 - 1], y[i0]], [x[i0 - 1], x[i0]])
    right = np.interp(half, [y[i1 + 1], y[i1]], [x[i1 + 1], x[i1]])
    return float(left), float(right)


# ================================================================================ LinearMixing
@pytest.mark.parametrize("in_shape", [(4, 30), (4, 5, 6), (2, 4, 5, 6), (4,)])
def test_mixing_adjoint_dot_product(in_shape):
    E = RNG.random((17, 4))
    assert adjoint_mismatch(LinearMixing(E), in_shape, seed=1) < 1e-10


def test_mixing_forward_is_E_at_A_on_every_layout():
    E = RNG.random((9, 3))
    A = RNG.random((3, 4, 5))
    op = LinearMixing(E)
    Y = op.forward(A)
    assert Y.shape == (9, 4, 5)
    np.testing.assert_allclose(Y.reshape(9, -1), E @ A.reshape(3, -1), rtol=1e-13)
    np.testing.assert_allclose(op.forward(A.reshape(3, -1)), E @ A.reshape(3, -1), rtol=1e-13)
    batch = np.stack([A, 2 * A])
    Yb = op.forward(batch)
    assert Yb.shape == (2, 9, 4, 5)
    np.testing.assert_allclose(Yb[1], 2 * Y, rtol=1e-13)
    np.testing.assert_allclose(op.adjoint(Y).reshape(3, -1), E.T @ Y.reshape(9, -1), rtol=1e-13)
    assert op.n_bands == 9 and op.n_endmembers == 3 and op.E.shape == (9, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mixing_numpy_torch_agree_and_keep_dtype(dtype):
    E = RNG.random((12, 4))
    A = RNG.random((2, 4, 6, 7)).astype(dtype)
    op = LinearMixing(E)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    At = torch.as_tensor(A)
    Yn, Yt = op.forward(A), op.forward(At)
    assert Yn.dtype == dtype and Yt.dtype == tdtype and Yt.device == At.device
    np.testing.assert_allclose(Yt.numpy(), Yn, rtol=1e-6, atol=1e-6)
    Y = RNG.random((12, 6, 7)).astype(dtype)
    np.testing.assert_allclose(op.adjoint(torch.as_tensor(Y)).numpy(), op.adjoint(Y), rtol=1e-6,
                               atol=1e-6)
    # the batched torch result equals the per-image result
    np.testing.assert_allclose(Yt[1].numpy(), op.forward(A[1]), rtol=1e-6, atol=1e-6)


def test_mixing_torch_autograd_and_cache():
    E = RNG.random((5, 3))
    op = LinearMixing(E)
    A = torch.rand(3, 4, 4, dtype=torch.float64, requires_grad=True)
    op.forward(A).sum().backward()
    # d/dA sum(E A) = E^T 1
    np.testing.assert_allclose(A.grad.numpy(), np.broadcast_to(E.sum(0)[:, None, None], (3, 4, 4)))
    op.forward(torch.rand(3, 2, dtype=torch.float32))
    op.forward(torch.rand(3, 2, dtype=torch.float32))
    assert len(op._torch_cache) == 2           # one float64, one float32 copy of E


def test_mixing_integer_input_and_readonly_matrix():
    E = np.eye(2)
    op = LinearMixing(E)
    out = op.forward(np.array([[1, 2], [3, 4]], dtype=np.int32))
    assert out.dtype == np.float64
    E[0, 0] = 5.0                              # the operator keeps its own copy
    assert op.E[0, 0] == 1.0
    with pytest.raises(ValueError):
        op.E[0, 0] = 2.0


def test_mixing_errors():
    op = LinearMixing(np.ones((6, 3)))
    with pytest.raises(InputError, match=r"3 endmembers.*axis 0.*\(4, 10\)"):
        op.forward(np.ones((4, 10)))
    with pytest.raises(InputError, match=r"6 bands.*axis 1.*\(2, 5, 3, 3\)"):
        op.adjoint(np.ones((2, 5, 3, 3)))
    with pytest.raises(InputError, match="4-D"):
        op.forward(np.ones((1, 1, 3, 2, 2)))
    with pytest.raises(InputError, match="real"):
        op.forward(np.ones((3, 2), dtype=complex))
    with pytest.raises(InputError, match="floating"):
        op.forward(torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(InputError, match="non-finite"):
        LinearMixing(np.array([[1.0, np.nan]]))
    with pytest.raises(InputError, match="2-D"):
        LinearMixing(np.ones(4))


def test_channel_matrix_generic_layouts_and_float16():
    M = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])
    op = ChannelMatrix(M, name="M")
    assert (op.n_out, op.n_in) == (2, 3)
    np.testing.assert_allclose(op.forward(np.array([1.0, 1.0, 1.0])), [3.0, 0.0])
    x16 = np.ones((3, 2, 2), dtype=np.float16)
    y16 = op.forward(x16)
    assert y16.dtype == np.float16
    np.testing.assert_allclose(y16[:, 0, 0], [3.0, 0.0])
    assert op.to_dict() == {"op": "channel_matrix", "shape": [2, 3], "matrix": M.tolist()}


def test_mixing_to_dict_roundtrip():
    E = RNG.random((4, 2))
    op = LinearMixing(E)
    d = json.loads(json.dumps(op.to_dict()))
    assert d["op"] == "linear_mixing" and d["shape"] == [4, 2]
    np.testing.assert_array_equal(LinearMixing.from_dict(d).E, E)
    with pytest.raises(InputError):
        LinearMixing.from_dict({"op": "blur"})


# ================================================================================ SpectralResponse
@pytest.mark.parametrize("in_shape", [(40, 25), (40, 6, 5), (3, 40, 6, 5), (40,)])
def test_spectral_response_adjoint_dot_product(in_shape):
    wl = np.linspace(400, 1100, 40)
    op = sensor_srf("wv2", wl)
    assert adjoint_mismatch(op, in_shape, seed=2) < 1e-10


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spectral_response_numpy_torch_agree(dtype):
    wl = np.arange(400.0, 2501.0, 10.0)
    op = sensor_srf("sentinel2", wl)
    X = RNG.random((2, wl.size, 8, 9)).astype(dtype)
    Zn = op.forward(X)
    Zt = op.forward(torch.as_tensor(X))
    assert Zn.shape == (2, 13, 8, 9) and Zn.dtype == dtype
    assert Zt.dtype == (torch.float32 if dtype == np.float32 else torch.float64)
    np.testing.assert_allclose(Zt.numpy(), Zn, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(op.adjoint(torch.as_tensor(Zn[0])).numpy(), op.adjoint(Zn[0]),
                               rtol=1e-6, atol=1e-6)
    # a spectrally flat cube stays flat (rows sum to one)
    np.testing.assert_allclose(op.forward(np.full((wl.size, 2, 2), 0.3)), 0.3, rtol=1e-12)


def test_spectral_response_composes_with_mixing():
    wl = np.linspace(420, 980, 57)
    E = RNG.random((57, 4))
    A = RNG.random((4, 5, 5))
    srf = sensor_srf("quickbird", wl)
    op = srf @ LinearMixing(E)
    np.testing.assert_allclose(op.forward(A).reshape(4, -1), srf.R @ E @ A.reshape(4, -1),
                               rtol=1e-12)
    assert adjoint_mismatch(op, (4, 5, 5)) < 1e-10
    assert [o["op"] for o in op.to_dict()["ops"]] == ["linear_mixing", "spectral_response"]


def test_spectral_response_metadata_select_and_roundtrip():
    wl = np.arange(400.0, 1001.0, 5.0)
    op = sensor_srf("ikonos", wl)
    assert op.band_names == ["B", "G", "R", "NIR"] and op.sensor == "ikonos"
    assert op.n_bands_in == wl.size and op.n_bands_out == 4
    np.testing.assert_allclose(op.centroids, op.target_centres, atol=0.5)
    sub = op.select(["nir", 0])
    assert sub.band_names == ["NIR", "B"]
    np.testing.assert_array_equal(sub.R, op.R[[3, 0]])
    d = json.loads(json.dumps(op.to_dict()))
    back = SpectralResponse.from_dict(d)
    np.testing.assert_array_equal(back.R, op.R)
    assert back.band_names == op.band_names and back.meta["source"].startswith("Space Imaging")
    np.testing.assert_array_equal(back.source_wavelengths, wl)
    with pytest.raises(InputError, match="no band 'X'"):
        op.select(["X"])
    with pytest.raises(InputError, match="4 values but R has 3 columns"):
        SpectralResponse(np.ones((2, 3)), source_wavelengths=[1, 2, 3, 4])
    with pytest.raises(InputError, match="3 names for 2 bands"):
        SpectralResponse(np.ones((2, 3)), band_names=["a", "b", "c"])
    with pytest.raises(InputError, match="5 HS bands"):
        SpectralResponse(np.ones((2, 5))).forward(np.ones((4, 3)))


# ================================================================================ Gaussian SRFs
@pytest.mark.parametrize("centre,fwhm", [(550.0, 37.3), (1610.0, 91.0), (705.0, 15.0)])
def test_gaussian_srf_peak_and_fwhm_on_a_fine_grid(centre, fwhm):
    wl = np.arange(centre - 200.0, centre + 200.0, 0.01)
    R = gaussian_srf(centre, fwhm, wl)
    assert R.shape == (1, wl.size)
    assert R.sum() == pytest.approx(1.0, abs=1e-12) and (R >= 0).all()
    assert abs(wl[R[0].argmax()] - centre) <= 0.01
    left, right = _half_max_width(wl, R[0])
    assert right - left == pytest.approx(fwhm, abs=0.01)
    assert (left + right) / 2 == pytest.approx(centre, abs=0.01)


def test_gaussian_srf_rows_and_golden_values():
    wl = np.array([490.0, 500.0, 510.0])
    R = gaussian_srf([500.0], [20.0], wl)
    # sigma = 20 / 2.3548; weights exp(-0.5 (10/sigma)^2) = 0.5 at +-10 nm (half maximum)
    np.testing.assert_allclose(R, [[0.25, 0.5, 0.25]], rtol=1e-12)
    R2 = gaussian_srf([450.0, 700.0], 30.0, np.linspace(400, 800, 41))
    np.testing.assert_allclose(R2.sum(axis=1), 1.0, rtol=1e-12)


def test_gaussian_srf_band_integrated_matches_numerical_overlap():
    wl = np.array([480.0, 490.0, 500.0, 515.0, 530.0, 560.0])     # non-uniform HS grid
    hs_fwhm = np.array([8.0, 10.0, 12.0, 15.0, 15.0, 30.0])
    R = gaussian_srf([505.0], [25.0], wl, target_fwhm=hs_fwhm, min_coverage=0.0)
    lam = np.linspace(300, 700, 400001)
    s = np.exp(-0.5 * ((lam - 505.0) / (25.0 / FWHM_PER_SIGMA)) ** 2)
    g = np.exp(-0.5 * ((lam[None] - wl[:, None]) / (hs_fwhm[:, None] / FWHM_PER_SIGMA)) ** 2)
    w = (s[None] * g).sum(axis=1)
    np.testing.assert_allclose(R[0], w / w.sum(), rtol=1e-9)
    # narrow HS bands: the band-integrated weights tend to point sampling
    wl2 = np.arange(400.0, 600.0, 5.0)
    np.testing.assert_allclose(gaussian_srf(500.0, 40.0, wl2, target_fwhm=1e-6),
                               gaussian_srf(500.0, 40.0, wl2), atol=1e-12)


def test_gaussian_srf_coverage_errors():
    wl = np.arange(400.0, 1001.0, 10.0)
    with pytest.raises(InputError, match=r"'far' \(1500.0 nm.*0% covered"):
        gaussian_srf([500.0, 1500.0], 20.0, wl, band_names=["near", "far"])
    # a band centred on the last HS band is only ~half covered
    with pytest.raises(InputError, match="band 0"):
        gaussian_srf(1000.0, 50.0, wl)
    R = gaussian_srf(1000.0, 50.0, wl, min_coverage=0.0)
    assert R.sum() == pytest.approx(1.0)
    # a band inside a gap of the grid (removed water-absorption bands) is not covered
    gappy = np.concatenate([np.arange(1200.0, 1340.0, 10.0), np.arange(1460.0, 1700.0, 10.0)])
    with pytest.raises(InputError, match="1400.0 nm"):
        gaussian_srf(1400.0, 30.0, gappy)
    # micrometres: the message says so
    with pytest.raises(InputError, match="micrometres"):
        gaussian_srf(500.0, 20.0, np.linspace(0.4, 2.5, 100))
    with pytest.raises(InputError, match="zero on the target grid"):
        gaussian_srf(5000.0, 1.0, wl, min_coverage=0.0)
    with pytest.raises(InputError, match="one value per band"):
        gaussian_srf([500.0, 600.0], [10.0, 20.0, 30.0], wl)
    with pytest.raises(InputError, match="> 0"):
        gaussian_srf(500.0, 0.0, wl)
    with pytest.raises(InputError, match="at least 2"):
        gaussian_srf(500.0, 10.0, [500.0])
    with pytest.raises(ParameterError, match="min_coverage"):
        gaussian_srf(500.0, 10.0, wl, min_coverage=2)


# ================================================================================ tabulated SRFs
def test_srf_from_table_golden_triangle_and_sorting():
    tw = np.array([500.0, 510.0, 520.0, 530.0])
    resp = np.array([0.0, 1.0, 1.0, 0.0])
    target = np.arange(500.0, 531.0, 5.0)
    R = srf_from_table(tw, resp, target)
    np.testing.assert_allclose(R, [[0, 0.125, 0.25, 0.25, 0.25, 0.125, 0]], atol=1e-15)
    # unsorted table, columns scaled: same result
    order = [2, 0, 3, 1]
    np.testing.assert_allclose(srf_from_table(tw[order], 7.0 * resp[order], target), R)
    # negative (noise) entries are clipped to zero
    np.testing.assert_allclose(srf_from_table(tw, resp - np.array([0.01, 0, 0, 0.01]), target), R)


def test_srf_from_table_band_integrated_exact():
    tw = np.array([480.0, 500.0, 505.0, 540.0, 560.0])
    resp = np.array([[0.0, 0.2], [0.6, 1.0], [1.0, 0.9], [0.8, 0.1], [0.0, 0.0]])
    target = np.arange(470.0, 571.0, 7.0)
    fwhm = np.linspace(6.0, 14.0, target.size)
    R = srf_from_table(tw, resp, target, fwhm, min_coverage=0.0)
    quad = pytest.importorskip("scipy.integrate").quad
    W = np.zeros_like(R)
    for j in range(2):
        for k, (centre, width) in enumerate(zip(target, fwhm)):
            sig = width / FWHM_PER_SIGMA

            def f(x, j=j, centre=centre, sig=sig):
                return np.interp(x, tw, resp[:, j]) * np.exp(-0.5 * ((x - centre) / sig) ** 2)

            W[j, k] = sum(quad(f, a, b, epsabs=1e-14, epsrel=1e-12)[0]
                          for a, b in zip(tw[:-1], tw[1:]))
    np.testing.assert_allclose(R, W / W.sum(axis=1, keepdims=True), rtol=1e-9, atol=1e-14)


def test_srf_from_table_errors():
    tw = np.array([500.0, 510.0, 520.0])
    with pytest.raises(InputError, match="repeated"):
        srf_from_table([500.0, 500.0, 510.0], np.ones(3), tw)
    with pytest.raises(InputError, match=r"\(K, M\)"):
        srf_from_table(tw, np.ones((4, 2)), tw)
    with pytest.raises(InputError, match="zero everywhere"):
        srf_from_table(tw, np.zeros(3), tw)
    with pytest.raises(InputError, match="'NIR' \\(half maximum 800.0-900.0 nm"):
        srf_from_table([800.0, 850.0, 900.0], np.ones((3, 1)), np.arange(400.0, 700.0, 10.0),
                       band_names=["NIR"])


def _load_ikonos(shared_data):
    sio = pytest.importorskip("scipy.io")
    t = sio.loadmat(shared_data / "srf" / "ikonos_spec_resp.mat")["ikonos_sp"]
    return t[:, 0], t[:, 1:], ["PAN", "B", "G", "R", "NIR"]


def test_ikonos_table_resampled_to_unit_area_rows(shared_data):
    tw, resp, names = _load_ikonos(shared_data)
    sio = pytest.importorskip("scipy.io")
    aviris = sio.loadmat(shared_data / "wavelengths" / "AVIRIS_wavelengths.mat")["AVIRIS_wavlen"]
    aviris = aviris.ravel()
    for grid, fwhm in [(aviris, None), (aviris, 10.0), (np.arange(400.0, 1001.0, 5.0), None)]:
        R = srf_from_table(tw, resp, grid, fwhm, band_names=names)
        assert R.shape == (5, grid.size)
        np.testing.assert_allclose(R.sum(axis=1), 1.0, rtol=1e-12)
        assert (R >= 0).all()
        # the resampled centroids stay within 2 nm of the table's centroids over the same range
        lam = np.arange(max(grid.min(), tw[0]), min(grid.max(), tw[-1]), 0.1)
        curves = np.stack([np.interp(lam, tw, resp[:, j]) for j in range(5)], axis=1).clip(0)
        table_centroid = (curves * lam[:, None]).sum(0) / curves.sum(0)
        np.testing.assert_allclose(R @ grid, table_centroid, atol=2.0)
    # nothing of IKONOS lies beyond 1035 nm: a SWIR-only grid is refused, naming the bands
    with pytest.raises(InputError, match="'PAN'.*'B'.*'G'.*'R'.*'NIR'"):
        srf_from_table(tw, resp, np.arange(1100.0, 2500.0, 10.0), band_names=names)


def test_ikonos_table_agrees_with_builtin_gaussian_band_edges(shared_data):
    """Half-maximum edges of the measured IKONOS curves vs the built-in (published) band edges."""
    tw, resp, names = _load_ikonos(shared_data)
    grid = np.arange(350.0, 1036.0, 1.0)
    R = srf_from_table(tw, resp, grid, band_names=names)
    builtin = {b.name: b for b in get_sensor("ikonos").bands}
    for row, name in zip(R, names):
        lo, hi = _half_max_width(grid, row)
        b = builtin[name]
        # the table is sampled every 5 nm
        assert abs(lo - (b.centre - b.fwhm / 2)) < 10.0, (name, lo)
        assert abs(hi - (b.centre + b.fwhm / 2)) < 10.0, (name, hi)


# ================================================================================ R_avirSentin2
# srf/R_avirSentin2.mat (FuVar) is a 10 x 173 Sentinel-2 SRF on AVIRIS bands, but the file does not
# say which 173 of the 224 AVIRIS bands it uses. The mapping below is inferred from R itself:
#  * VNIR: the B4 row puts ~0.2 on each of five columns, which are exactly the AVIRIS bands inside
#    650-680 nm *including both spectrometers' overlap bands* (655.8, 665.7, 675.6, 664.1, 673.7)
#    when column c is AVIRIS band c + 1 (0-based); offsets 0 or 2 shift every VNIR centroid by
#    ~10 nm. So AVIRIS band 1 is dropped and nothing else before column 56.
#  * SWIR: B11 (cols 111-125) and B12 (cols 136-157) centre on 1614 and 2204 nm with offsets 14
#    and 47 (the neighbouring offsets are >= 8 nm off); 1 + 13 + 33 dropped bands + AVIRIS 221-224
#    = 51 = 224 - 173, consistent with removing the 1.4 um and 1.9 um water-absorption regions.
#  * R is zero on columns 56-110 and 126-135, so where exactly the water bands were cut does not
#    change any row's centroid. The SWIR offsets are a best fit, so their agreement is weaker
#    evidence than the VNIR one.
_S2_ROWS = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]


def test_r_avirsentin2_centroids_match_builtin_sentinel2(shared_data):
    sio = pytest.importorskip("scipy.io")
    R = sio.loadmat(shared_data / "srf" / "R_avirSentin2.mat")["R"]
    aviris = sio.loadmat(shared_data / "wavelengths" / "AVIRIS_wavelengths.mat")["AVIRIS_wavlen"]
    aviris = aviris.ravel()
    assert R.shape == (10, 173) and aviris.shape == (224,)
    assert 360 < aviris.min() < 380 and 2500 < aviris.max() < 2510      # nm
    np.testing.assert_allclose(R.sum(axis=1), 1.0, atol=1e-6)
    cols = np.arange(173)
    offset = np.full(173, -1)
    offset[:56], offset[111:126], offset[136:] = 1, 14, 47
    assert not R[:, offset < 0].any()
    wl = np.where(offset >= 0, aviris[np.clip(cols + offset, 0, 223)], np.nan)
    used = offset >= 0
    # the B4 row sits on the five AVIRIS bands within 650-680 nm (spectrometer overlap included)
    b4 = wl[R[2] > 0.1]
    assert b4.size == 5 and b4.min() > 650 and b4.max() < 680
    centroid_file = (R[:, used] @ wl[used]) / R[:, used].sum(axis=1)
    ours = sensor_srf("s2", aviris, bands=_S2_ROWS).centroids
    np.testing.assert_allclose(centroid_file, ours, atol=6.0)


# ================================================================================ built-in sensors
FINE = np.arange(350.0, 2500.5, 1.0)
WIDE = np.arange(-500.0, 3500.5, 1.0)       # far beyond every band: no truncated Gaussian tails


def test_sensor_table_shapes():
    counts = {"sentinel2": (13, 0, 0), "landsat8": (7, 1, 0), "worldview2": (8, 1, 0),
              "worldview3": (8, 1, 8), "quickbird": (4, 1, 0), "ikonos": (4, 1, 0), "landsat7": (6, 1, 0),
              "landsat9": (7, 1, 0), "ALI": (9, 1, 0), "Hyperion": (0, 1, 0), "PRISMA": (0, 1, 0)}
    assert set(SENSORS_SPECTRAL) == set(counts)
    for key, (ms, pan, swir) in counts.items():
        s = SENSORS_SPECTRAL[key]
        assert (len(s.group("ms")), len(s.group("pan")), len(s.group("swir"))) == (ms, pan, swir)
        assert s.source
        assert len(set(s.band_names)) == len(s.band_names)
        for b in s.bands:
            assert 400 <= b.centre <= 2400 and 10 <= b.fwhm <= 460, (key, b)


@pytest.mark.parametrize("key", sorted(SENSORS_SPECTRAL))
def test_builtin_sensors_cover_their_band_centres(key):
    sensor = SENSORS_SPECTRAL[key]
    # every band of every sensor is covered by a 350-2500 nm grid (AVIRIS-like range)
    op = sensor_srf(key, FINE, bands=sensor.band_names)
    assert op.band_names == sensor.band_names
    np.testing.assert_allclose(op.R.sum(axis=1), 1.0, rtol=1e-12)
    for row, b in zip(op.R, sensor.bands):
        assert abs(FINE[row.argmax()] - b.centre) <= 0.5, (key, b.name)
        lo, hi = _half_max_width(FINE, row)
        assert hi - lo == pytest.approx(b.fwhm, abs=0.05), (key, b.name)
    # on an untruncated grid the centroid is the published centre
    wide = sensor_srf(key, WIDE, bands=sensor.band_names)
    np.testing.assert_allclose(wide.centroids, [b.centre for b in sensor.bands], atol=1e-6)


def test_sentinel2_and_landsat_reference_values():
    s2 = sensor_srf("S2", FINE)
    assert s2.band_names == ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10",
                             "B11", "B12"]
    np.testing.assert_allclose(s2.target_centres[[1, 2, 3, 7, 11, 12]],
                               [492.4, 559.8, 664.6, 832.8, 1613.7, 2202.4])
    l8 = sensor_srf("landsat-8", FINE)
    assert l8.band_names == [f"B{i}" for i in range(1, 8)]
    pan = sensor_srf("oli", FINE, pan=True)
    assert pan.band_names == ["B8"] and pan.target_centres[0] == pytest.approx(589.5)


def test_worldview2_pan_is_broad():
    pan = sensor_srf("wv2", FINE, pan=True)
    assert pan.n_bands_out == 1 and pan.band_names == ["PAN"]
    lo, hi = _half_max_width(FINE, pan.R[0])
    assert hi - lo > 300.0 and lo < 460.0 and hi > 790.0
    ms = sensor_srf("wv2", FINE)
    ms_widths = [np.diff(_half_max_width(FINE, r))[0] for r in ms.R]
    assert hi - lo > 5 * np.median(ms_widths)
    # the PAN spans the MS blue..red-edge bands: its weight at 480 and 740 nm is > 30 % of the peak
    row = pan.R[0]
    assert row[FINE == 480.0][0] > 0.3 * row.max() and row[FINE == 740.0][0] > 0.3 * row.max()


def test_worldview3_swir_option():
    ms = sensor_srf("worldview3", FINE)
    both = sensor_srf("WorldView-3", FINE, swir=True)
    assert ms.n_bands_out == 8 and both.n_bands_out == 16
    assert both.band_names[8:] == [f"SWIR{i}" for i in range(1, 9)]
    np.testing.assert_array_equal(both.R[:8], ms.R)
    with pytest.raises(InputError, match="no optional SWIR"):
        sensor_srf("wv2", FINE, swir=True)
    with pytest.raises(ParameterError, match="pan=True"):
        sensor_srf("wv3", FINE, pan=True, swir=True)


def test_sensor_errors():
    with pytest.raises(InputError, match=r"unknown sensor 'spot6'.*quickbird.*ikonos.*worldview2"
                                         r".*worldview3.*sentinel2.*landsat8"):
        sensor_srf("spot6", FINE)
    # SPOT-7 is in the sensor table, with MTF gains but no bands
    with pytest.raises(InputError, match=r"'spot7' \(SPOT-7 \(NAOMI\)\) has no spectral bands.*quickbird"):
        sensor_srf("spot7", FINE)
    with pytest.raises(InputError, match="no panchromatic band"):
        sensor_srf("sentinel2", FINE, pan=True)
    with pytest.raises(InputError, match=r"has no band 'B13'.*B8A"):
        sensor_srf("sentinel2", FINE, bands=["B13"])
    # VNIR-only grid: the SWIR bands are named, the covered ones are listed
    with pytest.raises(InputError, match=r"'B10'.*'B11'.*'B12'.*Covered bands.*'B9'\]"):
        sensor_srf("sentinel2", np.arange(400.0, 1001.0, 5.0))
    # AVIRIS-like grid without the 1.4 um water bands: only B10 is missing
    gappy = FINE[(FINE < 1340) | (FINE > 1450)][::10]
    with pytest.raises(InputError, match=r"covers? band 'B10'"):
        sensor_srf("sentinel2", gappy)
    keep = [b for b in get_sensor("s2").band_names if b != "B10"]
    op = sensor_srf("sentinel2", gappy, bands=keep)
    assert op.n_bands_out == 12


def test_sensor_srf_band_integrated_and_real_enmap_grid(shared_data):
    table = np.loadtxt(shared_data / "enmap_potsdam" / "enmap_potsdam_srf.csv", delimiter=",",
                       skiprows=1)
    wl, fwhm = table[:, 0], table[:, 1]
    op = sensor_srf("sentinel2", wl, target_fwhm=fwhm)
    assert op.n_bands_out == 13 and op.meta["source_fwhm"] == fwhm.tolist()
    np.testing.assert_allclose(op.R.sum(axis=1), 1.0, rtol=1e-12)
    # narrow red-edge bands are resolved; centroids close to the band centres
    np.testing.assert_allclose(op.centroids[[1, 2, 3, 4, 5, 11, 12]],
                               op.target_centres[[1, 2, 3, 4, 5, 11, 12]], atol=3.0)


def test_aliases_resolve():
    for alias, key in [("s2", "sentinel2"), ("Sentinel-2", "sentinel2"), ("L8", "landsat8"),
                       ("WV-2", "worldview2"), ("wv3", "worldview3"), ("QB", "quickbird"),
                       ("IKONOS", "ikonos")]:
        assert get_sensor(alias).key == key
    assert math.isclose(sensor_srf("ikonos", FINE, pan=True).target_fwhm[0], 928.5 - 525.8)
