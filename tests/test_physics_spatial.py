"""Spatial degradation operators: blur (Gaussian, kernels, MTF), decimation, interpolators."""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pytest
import torch
from scipy import ndimage

import hysupp.physics.blur as blur_mod
import hysupp.physics.mtf as mtf_mod
import hysupp.physics.sampling as sampling_mod
from hysupp.errors import InputError, ParameterError
from hysupp.physics.blur import (BORDER_MODES, Blur, boundary_index, fwhm_to_sigma, gaussian_kernel,
                                 gaussian_kernel_1d, kernel_sigma, sigma_to_fwhm)
from hysupp.physics.mtf import (SENSORS, get_sensor, gnyq_from_sigma, gnyq_of_kernel, list_sensors,
                                mtf_blur, mtf_kernel, mtf_kernel_1d, mtf_sigma)
from hysupp.physics.operator import Composition, adjoint_mismatch
from hysupp.physics.sampling import (Decimation, Upsampling, bicubic, interp23tap,
                                     lagrange_halfband, nearest, upsample)

RNG = np.random.default_rng(20240607)
ADJ_TOL = 1e-10


def _torch_adjoint_mismatch(op, shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    ax = op.forward(x)
    y = torch.randn(ax.shape, generator=g, dtype=torch.float64)
    aty = op.adjoint(y)
    assert aty.shape == x.shape
    lhs = float((ax * y).sum())
    rhs = float((x * aty).sum())
    return abs(lhs - rhs) / (abs(lhs) + 1e-300)


def _blurs(mode):
    """Isotropic / anisotropic / per-band / arbitrary-kernel blurs on 3 bands."""
    return {
        "gauss-iso": Blur.gaussian(sigma=1.3, mode=mode),
        "gauss-aniso": Blur.gaussian(sigma=[[0.8, 2.1]], mode=mode),
        "gauss-perband": Blur.gaussian(fwhm=[1.0, 2.0, 3.5], mode=mode),
        "gauss-perband-aniso": Blur.gaussian(sigma=[[1.0, 0.5], [0.7, 1.9], [2.0, 1.2]], mode=mode),
        "kernel-2d": Blur(RNG.random((5, 7)), mode),
        "kernel-perband": Blur(RNG.random((3, 3, 5)), mode),
        "separable-perband": Blur.separable(RNG.random((3, 7)), RNG.random((3, 3)), mode),
        "mtf-perband": mtf_blur(gnyq=[0.3, 0.25, 0.2], ratio=2, taps=9, mode=mode),
        "mtf-aniso": mtf_blur(gnyq=[[0.3, 0.15]], ratio=2, taps=9, separable=True, mode=mode),
    }


# ------------------------------------------------------------------------------------------
# adjoint (dot-product) tests
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", BORDER_MODES)
def test_blur_adjoint_every_mode_numpy_and_torch(mode):
    for name, B in _blurs(mode).items():
        assert adjoint_mismatch(B, (3, 13, 11), seed=1) < ADJ_TOL, (mode, name)
        assert _torch_adjoint_mismatch(B, (2, 3, 13, 11), seed=2) < ADJ_TOL, (mode, name)


def test_blur_adjoint_when_the_kernel_exceeds_the_image():
    # the border extension wraps/reflects several times; the adjoint must still be exact
    for mode in BORDER_MODES:
        B = Blur(RNG.random((9, 11)), mode)
        assert adjoint_mismatch(B, (2, 4, 3), seed=3) < ADJ_TOL, mode
        assert _torch_adjoint_mismatch(B, (2, 4, 3)) < ADJ_TOL, mode


def test_circular_blur_adjoint_is_correlation_with_flipped_kernel():
    k = RNG.random((3, 5))
    B = Blur(k, "circular")
    y = RNG.standard_normal((12, 10))
    expected = ndimage.correlate(y, k, mode="wrap")   # correlation = convolution with flip(k)
    np.testing.assert_allclose(B.adjoint(y), expected, atol=1e-12)


@pytest.mark.parametrize("phase", [0, 1, 2, 3, "first", "center", "center-1", "mean"])
def test_decimation_adjoint(phase):
    D = Decimation(4, phase)
    assert adjoint_mismatch(D, (3, 16, 12), seed=4) < ADJ_TOL
    assert _torch_adjoint_mismatch(D, (2, 3, 16, 12)) < ADJ_TOL
    # sizes that are not multiples of the ratio: hr_shape fixes the adjoint's grid
    D2 = Decimation(4, phase, hr_shape=(18, 13))
    assert adjoint_mismatch(D2, (2, 18, 13), seed=5) < ADJ_TOL
    assert _torch_adjoint_mismatch(D2, (2, 18, 13)) < ADJ_TOL


@pytest.mark.parametrize("method", ["interp23tap", "bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize("mode", BORDER_MODES)
def test_upsampling_adjoint(method, mode):
    U = Upsampling(4, method, mode=mode)
    assert adjoint_mismatch(U, (2, 5, 6), seed=6) < ADJ_TOL
    assert _torch_adjoint_mismatch(U, (2, 2, 5, 6)) < ADJ_TOL


@pytest.mark.parametrize("method", ["interp23tap", "lagrange", "bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize("ratio", [2, 3, 5, 6])
def test_polyphase_application_equals_the_matrix(method, ratio):
    # the polyphase filters (numpy correlate1d / torch conv1d) are the 1-D matrices applied per axis,
    # including tiny images whose borders wrap several times
    for mode in ("circular", "symmetric", "zero"):
        U = Upsampling(ratio, method, mode=mode)
        for shape in ((2, 7, 5), (1, 2, 3)):
            x = RNG.random(shape)
            My, Mx = U.matrix(shape[1]), U.matrix(shape[2])
            expected = np.einsum("ij,bjk,lk->bil", My, x, Mx)
            np.testing.assert_allclose(U(x), expected, atol=1e-12)
            np.testing.assert_allclose(U(torch.tensor(x)).numpy(), expected, atol=1e-12)
            y = RNG.random((shape[0], shape[1] * ratio, shape[2] * ratio))
            adj = np.einsum("ji,bjk,kl->bil", My, y, Mx)
            np.testing.assert_allclose(U.adjoint(y), adj, atol=1e-12)
            np.testing.assert_allclose(U.adjoint(torch.tensor(y)).numpy(), adj, atol=1e-12)


def test_composition_adjoint_and_protocol():
    B = mtf_blur("QB", 4, taps=9)
    D = Decimation(4, "center")
    U = Upsampling(4, "interp23tap")
    A = D @ B                      # blur, then decimate
    assert isinstance(A, Composition)
    assert adjoint_mismatch(A, (4, 16, 20), seed=8) < ADJ_TOL
    assert _torch_adjoint_mismatch(A, (2, 4, 16, 20)) < ADJ_TOL
    A2 = B @ U @ D @ B
    assert adjoint_mismatch(A2, (4, 16, 16), seed=9) < ADJ_TOL
    assert _torch_adjoint_mismatch(A2, (1, 4, 16, 16)) < ADJ_TOL
    d = json.loads(json.dumps(A.to_dict()))
    assert [o["op"] for o in d["ops"]] == ["blur", "decimation"]
    assert d["ops"][0]["sensor"] == "QB" and d["ops"][1]["phase"] == 2


# ------------------------------------------------------------------------------------------
# numpy and torch agree; torch batched, dtype/device kept, differentiable
# ------------------------------------------------------------------------------------------
def _operators():
    ops = {}
    for mode in ("replicate", "circular", "reflect", "symmetric"):
        ops.update({f"{k}-{mode}": v for k, v in _blurs(mode).items()})
    ops["mtf-qb-41"] = mtf_blur("QB", 4)
    ops["mtf-qb-41-toolbox"] = mtf_blur("QB", 4, design="toolbox")
    for phase in (0, 1, "center", "mean"):
        ops[f"dec-{phase}"] = Decimation(2, phase)
    for method in ("interp23tap", "bicubic", "bilinear", "nearest"):
        ops[f"up-{method}"] = Upsampling(2, method)
    ops["up-interp23tap-x8"] = Upsampling(8, "interp23tap")
    ops["chain"] = Decimation(4, "center") @ mtf_blur("QB", 4, taps=9)
    return ops


def _close(actual, desired, tol, msg, long_sums=False):
    """Agreement to ``tol`` relative to the data scale (max |desired|, at least 1).

    ``long_sums``: float32 convolutions with 41 x 41 = 1681-tap kernels round like any float32
    1681-term dot product (max error over a few thousand pixels ~1.2e-6, RMS ~2.5e-7 with
    oneDNN); there the RMS error must be below ``tol`` and the max below ``4 tol``.
    """
    scale = max(1.0, float(np.abs(desired).max()))
    if long_sums:
        err = np.abs(np.asarray(actual, dtype=np.float64) - desired)
        assert float(np.sqrt(np.mean(err ** 2))) < tol * scale, msg
        assert float(err.max()) < 4 * tol * scale, msg
        return
    np.testing.assert_allclose(actual, desired, rtol=0, atol=tol * scale, err_msg=msg)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_torch_agree_batched(dtype):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    tol = 1e-10 if dtype == np.float64 else 1e-6
    x = RNG.random((2, 4, 16, 16)).astype(dtype)          # (B, L, H, W)
    xt = torch.tensor(x)
    for name, op in _operators().items():
        if getattr(op, "per_band", False) and op.n_kernels != 4:
            xx, xxt = x[:, :op.n_kernels], xt[:, :op.n_kernels]
        else:
            xx, xxt = x, xt
        long_sums = (dtype == np.float32 and isinstance(op, Blur) and not op.is_separable
                     and op.kernel_size[0] * op.kernel_size[1] > 1000)
        y = op.forward(xx)
        yt = op.forward(xxt)
        assert isinstance(y, np.ndarray) and y.dtype == dtype, name
        assert yt.dtype == tdt and yt.device == xt.device, name
        _close(yt.numpy(), y, tol, name, long_sums)
        # per-sample: the batched torch result equals the unbatched one
        _close(op.forward(xxt[1]).numpy(), yt[1].numpy(), tol, name, long_sums)
        z = op.adjoint(y)
        zt = op.adjoint(yt)
        assert zt.dtype == tdt and z.dtype == dtype
        _close(zt.numpy(), z, tol, name, long_sums)


def test_torch_path_is_differentiable_and_gradient_is_the_adjoint():
    for op in (mtf_blur("WV3", 4, taps=11, mode="reflect"), Decimation(2, "mean"),
               Upsampling(2, "bicubic"), Decimation(2, 1) @ Blur.gaussian(1.0, mode="symmetric")):
        x = torch.rand(1, 8, 12, 12, dtype=torch.float64, requires_grad=True)
        w = torch.rand(op.forward(x.detach()).shape, dtype=torch.float64)
        (op.forward(x) * w).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), op.adjoint(w).numpy(), atol=1e-12)


def test_numpy_accepts_single_images_and_integer_input():
    B = Blur.gaussian(1.0)
    img = RNG.random((9, 10))
    assert B(img).shape == (9, 10)
    yi = B(np.ones((2, 6, 6), dtype=np.int32))
    assert yi.dtype == np.float64 and np.allclose(yi, 1.0)
    d = Decimation(2, 0)(np.arange(16, dtype=np.int64).reshape(4, 4))
    assert d.dtype == np.int64 and d.tolist() == [[0, 2], [8, 10]]


# ------------------------------------------------------------------------------------------
# blur semantics
# ------------------------------------------------------------------------------------------
_SCIPY_MODE = {"replicate": "nearest", "circular": "wrap", "reflect": "mirror",
               "symmetric": "reflect", "zero": "constant"}


@pytest.mark.parametrize("mode", BORDER_MODES)
def test_blur_matches_scipy_convolve(mode):
    k = RNG.random((5, 3))
    x = RNG.random((2, 11, 9))
    expected = np.stack([ndimage.convolve(b, k, mode=_SCIPY_MODE[mode]) for b in x])
    np.testing.assert_allclose(Blur(k, mode)(x), expected, atol=1e-12)
    # per-band kernels
    ks = RNG.random((2, 3, 5))
    expected = np.stack([ndimage.convolve(b, kk, mode=_SCIPY_MODE[mode]) for b, kk in zip(x, ks)])
    np.testing.assert_allclose(Blur(ks, mode)(x), expected, atol=1e-12)


def test_blur_is_a_convolution_not_a_correlation():
    k = np.zeros((3, 3))
    k[1, 2] = 1.0                       # h[0, +1]: y[i, j] = x[i, j - 1]
    x = np.zeros((5, 5))
    x[2, 2] = 1.0
    y = Blur(k, "zero")(x)
    assert abs(y[2, 3] - 1.0) < 1e-12 and abs(y.sum() - 1.0) < 1e-12


def test_separable_equals_outer_product_kernel():
    ky, kx = RNG.random(5), RNG.random(7)
    x = RNG.random((3, 12, 13))
    for mode in BORDER_MODES:
        np.testing.assert_allclose(Blur.separable(ky, kx, mode)(x), Blur(np.outer(ky, kx), mode)(x),
                                   atol=1e-12)


def test_gaussian_kernel_and_fwhm():
    assert math.isclose(fwhm_to_sigma(sigma_to_fwhm(1.7)), 1.7)
    assert math.isclose(sigma_to_fwhm(1.0), 2 * math.sqrt(2 * math.log(2)))
    h = gaussian_kernel(2.0)
    assert h.shape == (17, 17) and math.isclose(h.sum(), 1.0)
    np.testing.assert_allclose(h, h.T)
    assert gaussian_kernel(fwhm=3.0, size=7).shape == (7, 7)
    # frequency response of the sampled Gaussian: exp(-2 pi^2 sigma^2 f^2)
    k1 = gaussian_kernel_1d(2.0, 41)
    for r in (2, 4, 10):                     # f = 1 / (2 r)
        expected = math.exp(-2 * math.pi ** 2 * 2.0 ** 2 * (1 / (2 * r)) ** 2)
        assert abs(gnyq_of_kernel(k1, r) - expected) < 1e-6
    assert abs(kernel_sigma(h) - 2.0) < 1e-3
    # Yokoya et al. (2017): FWHM = ratio
    B = Blur.gaussian(fwhm=4)
    d = json.loads(json.dumps(B.to_dict()))
    assert d["kind"] == "gaussian" and math.isclose(d["fwhm"][0][0], 4.0)
    assert math.isclose(d["sigma"][0][1], fwhm_to_sigma(4))


def test_gaussian_blur_keeps_constants_and_mass():
    x = np.full((2, 10, 12), 3.0)
    for mode in ("replicate", "circular", "reflect", "symmetric"):
        np.testing.assert_allclose(Blur.gaussian(sigma=[[1.5, 0.7]], mode=mode)(x), 3.0)
    z = RNG.random((1, 16, 16))
    assert math.isclose(Blur.gaussian(2.0, mode="circular")(z).sum(), z.sum())


def test_blur_errors():
    with pytest.raises(ParameterError):
        Blur(np.ones((4, 3)))                       # even size
    with pytest.raises(ParameterError):
        Blur(np.ones((3, 3)), mode="bogus")
    with pytest.raises(ParameterError):
        Blur.gaussian(sigma=1.0, fwhm=2.0)
    with pytest.raises(ParameterError):
        Blur.gaussian(sigma=-1.0)
    B = Blur(np.ones((3, 3, 3)) / 9)
    with pytest.raises(InputError, match="3 per-band kernels"):
        B(np.ones((4, 8, 8)))
    with pytest.raises(InputError):
        B(torch.ones(2, 4, 8, 8))
    with pytest.raises(InputError):
        B(np.ones(5))


def test_boundary_index_conventions():
    p = np.arange(-2, 5)
    assert boundary_index(p, 3, "replicate").tolist() == [0, 0, 0, 1, 2, 2, 2]
    assert boundary_index(p, 3, "circular").tolist() == [1, 2, 0, 1, 2, 0, 1]
    assert boundary_index(p, 3, "reflect").tolist() == [2, 1, 0, 1, 2, 1, 0]
    assert boundary_index(p, 3, "symmetric").tolist() == [1, 0, 0, 1, 2, 2, 1]
    assert boundary_index(p, 3, "zero").tolist() == [-1, -1, 0, 1, 2, -1, -1]
    for a, b in (("nearest", "replicate"), ("wrap", "circular"), ("mirror", "reflect")):
        assert blur_mod.canonical_mode(a) == b


def test_blur_to_dict_is_json_and_records_the_kernel():
    B = Blur(np.ones((3, 3)) / 9, "circular")
    d = json.loads(json.dumps(B.to_dict()))
    assert d["op"] == "blur" and d["mode"] == "circular" and d["kind"] == "kernel"
    assert d["kernel"] == (np.ones((3, 3)) / 9).tolist() and len(d["kernel_sha256"]) == 64


# ------------------------------------------------------------------------------------------
# MTF filters
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [2, 3, 4, 6, 8])
def test_mtf_kernel_gain_sigma_sum_taps(ratio):
    gains = sorted({g for s in SENSORS.values() for g in s.ms_gnyq + (s.pan_gnyq,)})
    for g in gains:
        h = mtf_kernel(g, ratio)
        assert h.shape == (41, 41)
        assert abs(h.sum() - 1.0) < 1e-12
        np.testing.assert_allclose(h, h.T, atol=1e-15)
        assert abs(gnyq_of_kernel(h, ratio) - g) < 1e-3
        assert abs(gnyq_of_kernel(h, ratio, axis=-2) - g) < 1e-3
        s_formula = ratio / math.pi * math.sqrt(-2 * math.log(g))
        assert math.isclose(mtf_sigma(g, ratio), s_formula)
        assert abs(kernel_sigma(h) / s_formula - 1) < 0.01, (g, ratio)
        h1 = mtf_kernel_1d(g, ratio)
        assert h1.shape == (41,) and abs(h1.sum() - 1) < 1e-12
        assert abs(gnyq_of_kernel(h1, ratio) - g) < 1e-3
        assert abs(kernel_sigma(h1) / s_formula - 1) < 0.01


def test_mtf_toolbox_design_is_wider_as_documented():
    # genMTF.m samples the frequency Gaussian on a grid it takes as 2/(N-1) apart while the DFT
    # places the samples 2/N apart: kernels N/(N-1) wider, gain ~ G^((N/(N-1))^2).
    for g, r in ((0.3, 4), (0.15, 4), (0.35, 2)):
        h = mtf_kernel(g, r, design="toolbox")
        assert h.shape == (41, 41) and abs(h.sum() - 1) < 1e-12
        assert abs(gnyq_of_kernel(h, r) - g ** ((41 / 40) ** 2)) < 2e-3
        assert abs(kernel_sigma(h) / mtf_sigma(g, r) - 41 / 40) < 0.01


def test_mtf_formula_helpers():
    assert math.isclose(gnyq_from_sigma(mtf_sigma(0.27, 3), 3), 0.27)
    # FWHM = ratio Gaussian (Yokoya et al.) has a Nyquist gain of exp(-pi^2 / (16 ln 2))
    assert math.isclose(gnyq_from_sigma(fwhm_to_sigma(4), 4),
                        math.exp(-math.pi ** 2 / (16 * math.log(2))))
    with pytest.raises(ParameterError):
        mtf_kernel(1.2, 4)
    with pytest.raises(ParameterError):
        mtf_kernel(0.3, 4, taps=40)
    with pytest.raises(ParameterError):
        mtf_kernel(0.1, 32, taps=11)          # unreachable with so few taps


def test_mtf_blur_per_band_and_anisotropic():
    B = mtf_blur("QB", 4)
    assert B.n_kernels == 4 and B.kernel_size == (41, 41) and not B.is_separable
    np.testing.assert_allclose(gnyq_of_kernel(B.kernels, 4), [0.34, 0.32, 0.30, 0.22], atol=1e-3)
    P = mtf_blur("QB", 4, pan=True)
    assert P.n_kernels == 1 and abs(gnyq_of_kernel(P.kernels[0], 4) - 0.15) < 1e-3
    A = mtf_blur(gnyq=[[0.3, 0.15], [0.25, 0.25]], ratio=4, separable=True)
    k = A.kernels
    assert abs(gnyq_of_kernel(k[0], 4, axis=-2) - 0.3) < 1e-3      # along rows
    assert abs(gnyq_of_kernel(k[0], 4, axis=-1) - 0.15) < 1e-3     # along columns
    assert abs(gnyq_of_kernel(k[1], 4, axis=-1) - 0.25) < 1e-3
    sub = mtf_blur("WV3", bands=[1, 2, 4, 6])             # the toolbox's WV3_4bands
    assert sub.to_dict()["gnyq"] == [0.355, 0.36, 0.365, 0.335]
    assert mtf_blur("WV2", bands=["NIR2"]).to_dict()["gnyq"] == [0.27]
    pr = mtf_blur("PRISMA", n_bands=5)
    assert pr.n_kernels == 5 and pr.to_dict()["ratio"] == 6
    assert mtf_blur("PRISMA").n_kernels == 1             # shared kernel, any number of bands
    d = json.loads(json.dumps(B.to_dict()))
    for key in ("sensor", "ratio", "gnyq", "taps", "design", "mode", "window", "beta"):
        assert key in d
    assert d["taps"] == 41 and d["ratio"] == 4 and d["mode"] == "replicate"
    with pytest.raises(InputError):
        mtf_blur("QB", n_bands=8)
    with pytest.raises(ParameterError):
        mtf_blur(gnyq=[[0.3, 0.2]], ratio=4)                 # per-axis gains need separable
    with pytest.raises(ParameterError):
        mtf_blur(gnyq=0.3)                                   # no ratio


def test_mtf_blur_low_passes_by_the_gain():
    # a horizontal cosine at the LR Nyquist frequency is attenuated by GNyq (circular borders)
    r, g = 4, 0.3
    n = np.arange(64)
    x = np.cos(2 * np.pi * n / (2 * r))[None, None, :] * np.ones((1, 64, 1))
    y = mtf_blur(gnyq=g, ratio=r, mode="circular")(x)
    np.testing.assert_allclose(y, g * x, atol=1e-9)


# ------------------------------------------------------------------------------------------
# sensor table
# ------------------------------------------------------------------------------------------
REQUIRED = {"QuickBird": "QB", "IKONOS": "IKONOS", "GeoEye-1": "GeoEye1", "WorldView-2": "WV2",
            "WorldView-3": "WV3", "Pleiades": "Pleiades", "SPOT-7": "SPOT7", "EO-1 ALI": "ALI",
            "EO-1 Hyperion": "Hyperion", "PRISMA": "PRISMA", "generic": "generic"}


def test_sensor_table_has_every_required_sensor():
    assert set(REQUIRED.values()) <= set(list_sensors())
    for alias, key in REQUIRED.items():
        s = get_sensor(alias)
        assert s.key == key
        assert 0 < s.pan_gnyq < 1
        assert len(s.ms_gnyq) >= 1 and all(0 < g < 1 for g in s.ms_gnyq)
        assert s.uniform or len(s.ms_gnyq) == len(s.ms_bands)
        assert s.source and s.ratio >= 2


def test_sensor_table_pinned_values():
    # Vivone et al. (2015) toolbox MTF.m / MTF_PAN.m; DLPan-Toolbox genMTF.m (WV3)
    assert get_sensor("QB").ms_gnyq == (0.34, 0.32, 0.30, 0.22)
    assert get_sensor("QB").pan_gnyq == 0.15
    assert get_sensor("ikonos").ms_gnyq == (0.26, 0.28, 0.29, 0.28)
    assert get_sensor("IKONOS").pan_gnyq == 0.17
    assert get_sensor("GE1").ms_gnyq == (0.23,) * 4 and get_sensor("GE1").pan_gnyq == 0.16
    assert get_sensor("wv2").ms_gnyq == (0.35,) * 7 + (0.27,) and get_sensor("wv2").pan_gnyq == 0.11
    assert get_sensor("wv3").ms_gnyq == (0.325, 0.355, 0.360, 0.350, 0.365, 0.360, 0.335, 0.315)
    assert get_sensor("wv3").pan_gnyq == 0.14
    hyp = get_sensor("HYP")
    assert len(hyp.ms_gnyq) == 242 and hyp.ms_gnyq[0] == 0.27 and hyp.ms_gnyq[21] == 0.28
    assert hyp.ms_gnyq[69] == 0.26 and hyp.ms_gnyq[70] == 0.30 and hyp.ms_gnyq[241] == 0.27
    assert get_sensor("Ali_MS").ms_gnyq == (0.29, 0.30, 0.28, 0.29, 0.28, 0.29, 0.25, 0.25, 0.25)
    assert get_sensor("none").ms_gnyq == (0.29,) and get_sensor("none").pan_gnyq == 0.15
    assert "PLACEHOLDER" in get_sensor("SPOT-7").note


def test_unknown_sensor_lists_known_sensors():
    with pytest.raises(InputError) as exc:
        get_sensor("Landsat-42")
    msg = str(exc.value)
    for key in ("QB", "IKONOS", "WV3", "Hyperion", "PRISMA"):
        assert key in msg
    with pytest.raises(InputError):
        mtf_blur("Landsat-42", 4)


# ------------------------------------------------------------------------------------------
# decimation semantics (hand arrays)
# ------------------------------------------------------------------------------------------
def test_decimation_phases_by_hand():
    x = np.arange(36.0).reshape(6, 6)
    assert Decimation(3, 0)(x).tolist() == [[0, 3], [18, 21]]
    assert Decimation(3, "first")(x).tolist() == [[0, 3], [18, 21]]
    assert Decimation(3, "center")(x).tolist() == [[7, 10], [25, 28]]          # 3 // 2 = 1
    assert Decimation(3, 2)(x).tolist() == [[14, 17], [32, 35]]
    assert Decimation(3, "mean")(x).tolist() == [[7, 10], [25, 28]]
    x4 = np.arange(16.0).reshape(4, 4)
    assert Decimation(2, "center")(x4).tolist() == [[5, 7], [13, 15]]          # 2 // 2 = 1
    assert Decimation(2, "center-1")(x4).tolist() == [[0, 2], [8, 10]]
    assert Decimation(2, "mean")(x4).tolist() == [[2.5, 4.5], [10.5, 12.5]]
    x8 = np.arange(64.0).reshape(8, 8)
    assert Decimation(4, "center")(x8).tolist() == [[18, 22], [50, 54]]        # 4 // 2 = 2
    assert Decimation(4, "center-1")(x8).tolist() == [[9, 13], [41, 45]]
    # trailing rows/columns that do not fill a block are dropped
    assert Decimation(2, 1)(np.arange(15.0).reshape(3, 5)).tolist() == [[6, 8]]
    # adjoints by hand
    assert Decimation(2, 1).adjoint(np.array([[1.0, 2.0]])).tolist() == [[0, 0, 0, 0], [0, 1, 0, 2]]
    assert Decimation(2, "mean").adjoint(np.array([[4.0]])).tolist() == [[1, 1], [1, 1]]
    # torch gives the same
    t = Decimation(3, "center")(torch.tensor(x))
    assert t.tolist() == [[7, 10], [25, 28]]
    d = Decimation(4, "center").to_dict()
    assert d == {"op": "decimation", "ratio": 4, "phase": 2, "hr_shape": None}


def test_decimation_errors():
    with pytest.raises(ParameterError):
        Decimation(4, 4)
    with pytest.raises(ParameterError):
        Decimation(4, "middle")
    with pytest.raises(ParameterError):
        Decimation(0, 0)
    with pytest.raises(InputError):
        Decimation(4, 0)(np.ones((3, 3)))
    with pytest.raises(InputError):
        Decimation(4, 0, hr_shape=(16, 16))(np.ones((12, 16)))


# ------------------------------------------------------------------------------------------
# interpolators
# ------------------------------------------------------------------------------------------
def test_lagrange_halfband_is_the_toolbox_23_tap_filter():
    # CDF23 of interp23tap.m (Aiazzi et al. 2002; Vivone et al. 2015), published coefficients
    half = 2 * np.array([0.5, 0.305334091185, 0, -0.072698593239, 0, 0.021809577942, 0,
                         -0.005192756653, 0, 0.000807762146, 0, -0.000060081482])
    cdf23 = np.concatenate([half[:0:-1], half])
    h = lagrange_halfband(23)
    np.testing.assert_allclose(h, cdf23, atol=1e-11)
    assert h[11] == 1.0 and np.all(h[11 + 2::2] == 0)


def _interp23tap_reference(x, ratio):
    """Straight transcription of the toolbox algorithm description: zero insertion (first stage at
    odd positions, later stages at even ones), circular filtering with the 23 taps per axis."""
    h = lagrange_halfband(23)
    first = True
    for _ in range(int(round(math.log2(ratio)))):
        up = np.zeros(x.shape[:-2] + (2 * x.shape[-2], 2 * x.shape[-1]))
        if first:
            up[..., 1::2, 1::2] = x
            first = False
        else:
            up[..., 0::2, 0::2] = x
        up = ndimage.correlate1d(up, h, axis=-2, mode="wrap")
        x = ndimage.correlate1d(up, h, axis=-1, mode="wrap")
    return x


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_interp23tap_shapes_reference_and_interpolating(ratio):
    x = RNG.random((3, 6, 5))
    y = interp23tap(x, ratio)
    assert y.shape == (3, 6 * ratio, 5 * ratio)
    np.testing.assert_allclose(y, _interp23tap_reference(x, ratio), atol=1e-12)
    # LR samples are kept at i * ratio + ratio // 2 (the 'center' decimation phase)
    np.testing.assert_allclose(Decimation(ratio, "center")(y), x, atol=1e-12)
    np.testing.assert_allclose(interp23tap(torch.tensor(x), ratio).numpy(), y, atol=1e-12)


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_interp23tap_exact_on_constants_and_ramps(ratio):
    c = np.full((2, 8, 7), 2.5)
    for mode in BORDER_MODES[:-1]:
        np.testing.assert_allclose(interp23tap(c, ratio, mode=mode), 2.5, atol=1e-12)
    n = 40
    i, j = np.mgrid[0:n, 0:n].astype(float)
    ramp = 0.5 + 0.3 * i - 0.7 * j
    y = interp23tap(ramp, ratio)
    p = ratio // 2
    hi, hj = np.mgrid[0:n * ratio, 0:n * ratio].astype(float)
    expected = 0.5 + 0.3 * (hi - p) / ratio - 0.7 * (hj - p) / ratio
    m = 14 * ratio                                     # stay clear of the circular wrap
    np.testing.assert_allclose(y[m:-m, m:-m], expected[m:-m, m:-m], atol=1e-10)
    # an explicit phase moves the grid
    y0 = interp23tap(ramp, ratio, phase=0)
    e0 = 0.5 + 0.3 * hi / ratio - 0.7 * hj / ratio
    np.testing.assert_allclose(y0[m:-m, m:-m], e0[m:-m, m:-m], atol=1e-10)
    np.testing.assert_allclose(Decimation(ratio, 0)(y0), ramp, atol=1e-12)


@pytest.mark.parametrize("ratio", [3, 5, 6, 7])
def test_interp23tap_any_ratio_is_the_12_point_lagrange_interpolator(ratio):
    x = RNG.random((2, 6, 5))
    y = interp23tap(x, ratio)
    assert y.shape == (2, 6 * ratio, 5 * ratio)
    np.testing.assert_allclose(Decimation(ratio, "center")(y), x, atol=1e-12)      # interpolating
    np.testing.assert_allclose(y, Upsampling(ratio, "lagrange")(x), atol=0)
    # the 1-D kernel: 12 r - 1 taps, symmetric, h[0] = 1, h[m r] = 0, unit gain per polyphase component
    M = Upsampling(ratio, "lagrange", phase=0).matrix(40)
    h = M[:, 20][20 * ratio - 6 * ratio + 1:20 * ratio + 6 * ratio]
    assert h.size == 12 * ratio - 1 and np.count_nonzero(M[:, 20]) <= 12 * ratio - 1
    np.testing.assert_allclose(h, h[::-1], atol=1e-15)
    assert h[6 * ratio - 1] == 1.0 and np.all(h[6 * ratio - 1::ratio][1:] == 0)
    np.testing.assert_allclose([h[k::ratio].sum() for k in range(ratio)], 1.0, atol=1e-13)
    # exact on polynomials of degree 11 away from the (circular) borders
    n = 48
    t = np.arange(n, dtype=float) / n
    poly = lambda u: 1 + u - 3 * u ** 2 + 2 * u ** 5 - u ** 11                    # noqa: E731
    y1 = interp23tap(np.tile(poly(t), (3, 1)), ratio)
    p = ratio // 2
    tt = (np.arange(n * ratio) - p) / ratio / n
    m = 7 * ratio
    np.testing.assert_allclose(y1[:, m:-m], np.tile(poly(tt), (3 * ratio, 1))[:, m:-m], atol=1e-9)


def test_lagrange_at_ratio_two_is_the_23_tap_kernel():
    x = RNG.random((2, 9, 7))
    np.testing.assert_allclose(Upsampling(2, "lagrange")(x), interp23tap(x, 2), atol=1e-15)
    assert Upsampling(2).to_dict()["taps"] == 23
    d = Upsampling(3).to_dict()
    assert d["taps"] == 35 and d["kernel"].startswith("12-point Lagrange")


def test_interp23tap_errors():
    with pytest.raises(ParameterError):
        interp23tap(np.ones((4, 4)), 0)
    with pytest.raises(ParameterError):
        interp23tap(np.ones((4, 4)), 3, phase="mean")
    with pytest.raises(ParameterError):
        Upsampling(4, "lanczos9")


@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_nearest_then_decimate_returns_the_input(ratio):
    x = RNG.random((2, 5, 7))
    y = nearest(x, ratio)
    assert y.shape == (2, 5 * ratio, 7 * ratio)
    for p in range(ratio):
        np.testing.assert_array_equal(Decimation(ratio, p)(y), x)
    np.testing.assert_allclose(Decimation(ratio, "mean")(y), x, atol=1e-15)
    np.testing.assert_array_equal(y, np.kron(x, np.ones((1, ratio, ratio))))   # pixel replication
    # an integer phase: LR sample i at i * ratio + p, decimating at that phase gives it back
    for p in range(ratio):
        np.testing.assert_array_equal(Decimation(ratio, p)(nearest(x, ratio, phase=p)), x)


def test_bicubic_matches_scipy_on_a_smooth_image():
    n, r = 32, 4
    i, j = np.mgrid[0:n, 0:n].astype(float)
    img = np.sin(2 * np.pi * 1.5 * i / n) * np.cos(2 * np.pi * j / n) + 0.3 * i / n
    b = bicubic(img, r)
    ref = ndimage.zoom(img, r, order=3, grid_mode=True, mode="grid-mirror")
    assert b.shape == ref.shape == (n * r, n * r)
    inner = (slice(4 * r, -4 * r),) * 2
    np.testing.assert_allclose(b[inner], ref[inner], atol=2e-3)
    assert np.abs(b - ref).max() < 0.02
    # Keys cubic convolution (a = -0.5) is exact on quadratics away from the borders
    q = 1.0 + 0.2 * i - 0.1 * j + 0.03 * i * j - 0.02 * i ** 2
    hi, hj = np.mgrid[0:n * r, 0:n * r].astype(float)
    ti, tj = (hi + 0.5) / r - 0.5, (hj + 0.5) / r - 0.5                # pixel-centre grid
    qe = 1.0 + 0.2 * ti - 0.1 * tj + 0.03 * ti * tj - 0.02 * ti ** 2
    inner = (slice(2 * r, -2 * r),) * 2
    np.testing.assert_allclose(bicubic(q, r)[inner], qe[inner], atol=1e-10)
    # bilinear on a ramp
    lin = upsample(0.5 * i + j, r, "bilinear")
    np.testing.assert_allclose(lin[r:-r, r:-r], (0.5 * ti + tj)[r:-r, r:-r], atol=1e-12)


def test_upsampling_to_dict_and_defaults():
    assert Upsampling(4).to_dict() == {"op": "upsampling", "method": "interp23tap", "ratio": 4,
                                       "phase": 2, "mode": "circular", "taps": 23}
    d = Upsampling(4, "bicubic").to_dict()
    assert d["phase"] == "center" and d["mode"] == "symmetric" and d["a"] == -0.5
    assert json.loads(json.dumps(Upsampling(2, "nearest", phase=1).to_dict()))["phase"] == 1
    M = Upsampling(2, "bilinear").matrix(4)
    np.testing.assert_allclose(M.sum(axis=1), 1.0)


# ------------------------------------------------------------------------------------------
# the examples in the docstrings run
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mod", [blur_mod, mtf_mod, sampling_mod])
def test_docstring_examples(mod):
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0


# ------------------------------------------------------------------------------------------
# CUDA (skipped without a GPU)
# ------------------------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_numpy_adjoint_and_gradient(monkeypatch):
    # cuDNN convolutions default to TF32 on Ampere and later (~1e-3 relative): compare in IEEE fp32
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    dev = torch.device("cuda")
    for name, op in _operators().items():
        n = op.n_kernels if getattr(op, "per_band", False) else 4
        for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-6)):
            x = RNG.random((2, n, 16, 16)).astype(dtype)
            xt = torch.tensor(x, device=dev)
            y, yt = op.forward(x), op.forward(xt)
            assert yt.device == xt.device and yt.dtype == xt.dtype, name
            long_sums = (dtype == np.float32 and isinstance(op, Blur) and not op.is_separable
                         and op.kernel_size[0] * op.kernel_size[1] > 1000)
            _close(yt.cpu().numpy(), y, tol, name, long_sums)
            _close(op.adjoint(yt).cpu().numpy(), op.adjoint(y), tol, name, long_sums)
        g = torch.Generator(device=dev).manual_seed(0)
        x = torch.randn((2, n, 16, 16), generator=g, dtype=torch.float64, device=dev,
                        requires_grad=True)
        ax = op.forward(x)
        w = torch.randn(ax.shape, generator=g, dtype=torch.float64, device=dev)
        (ax * w).sum().backward()
        aw = op.adjoint(w)
        lhs, rhs = float((ax.detach() * w).sum()), float((x.detach() * aw).sum())
        assert abs(lhs - rhs) / abs(lhs) < ADJ_TOL, name
        torch.testing.assert_close(x.grad, aw, atol=1e-12, rtol=0)
