r"""Kernels shared by the pansharpening methods (the toolbox's ``Tools/`` folder, from the equations).

All images are float64 arrays ``(bands, H, W)``; ``pan`` is ``(1, H, W)``. Every kernel works at
any integer ratio >= 2.

* :func:`expand` -- the MS interpolated to the PAN grid (:func:`hysupp.physics.sampling.expand`:
  ``interp23tap`` for power-of-two ratios, the 12-point Lagrange interpolator otherwise; the EXP
  baseline and every method's :math:`\widetilde{M}`).
* :func:`mtf_lowpass` -- per-band MTF-matched Gaussian filters of a sensor
  (``genMTF`` + ``imfilter(..., 'replicate')``, :func:`hysupp.physics.mtf.mtf_blur` with the
  toolbox kernel design).
* :func:`glp_lowpass` -- the generalised Laplacian pyramid low-pass: MTF filter, decimation by
  ``ratio`` at the toolbox phase (``imresize(., 1/r, 'nearest')``, pixel ``i r + r // 2``),
  the expansion back.
* :func:`match_pan` -- PAN histogram matching (mean/std) to each MS band.
* :func:`injection_ratio`, :func:`regression_gain` -- the usual injection gains.

Resampling helpers (:func:`expand`, :func:`check_ratio`, :func:`imresize_down_up`) live in
:mod:`hysupp.physics.sampling` and are re-exported here for the methods.
"""

from __future__ import annotations

import math

import numpy as np

from hysupp.errors import InputError
from hysupp.physics.mtf import toolbox_dc_gain
from hysupp.physics.sampling import check_ratio, expand, imresize_down_up  # noqa: F401 (re-exported)

#: Size of the toolbox's MTF kernels.
MTF_TAPS = 41
#: Nyquist gain of the toolbox's ``LPfilterGauss`` (the PAN low-pass used for histogram matching).
LPFILTER_GAUSS_GNYQ = 0.3
#: MATLAB's ``eps`` (guards the divisions of the HPM / ratio methods as the toolbox does).
EPS = float(np.finfo(np.float64).eps)


def sensor_gains(sensor: str | None, n_bands: int) -> tuple[np.ndarray, str]:
    """Per-band MS Nyquist gains of ``sensor`` for ``n_bands`` bands (the generic gains when
    ``sensor`` is None or has a different band count: ``genMTF``'s 'otherwise' case)."""
    from hysupp.physics.mtf import get_sensor

    entry = get_sensor(sensor if sensor is not None else "generic")
    gains = np.asarray(entry.gains(n_bands=n_bands) if entry.uniform else entry.ms_gnyq, dtype=np.float64)
    if gains.size == 1:
        gains = np.full(n_bands, float(gains[0]))
    if gains.size != n_bands:
        generic = get_sensor("generic")
        return np.full(n_bands, float(generic.ms_gnyq[0])), f"{generic.key} ({entry.key} has {gains.size} bands)"
    return gains, entry.key


def sensor_pan_gain(sensor: str | None, used: str) -> float:
    """The PAN Nyquist gain that goes with :func:`sensor_gains` (``used``: its second value): the
    sensor's when its MS gains were used, the generic one otherwise. ``sensor`` may be a name or a
    :class:`~hysupp.physics.mtf.SensorMTF` (e.g. the user's gains of a run)."""
    from hysupp.physics.mtf import get_sensor

    entry = get_sensor(sensor if sensor is not None else "generic")
    return float(entry.pan_gnyq if used == entry.key else get_sensor("generic").pan_gnyq)


def mtf_lowpass(x: np.ndarray, ratio: int, gains: np.ndarray) -> np.ndarray:
    """Each band of ``x`` ``(L, H, W)`` filtered with the toolbox MTF kernel of its Nyquist gain
    (``gains`` ``(L,)`` or one value), replicate borders."""
    from hysupp.physics.mtf import mtf_blur

    g = np.broadcast_to(np.asarray(gains, dtype=np.float64), (x.shape[0],))
    y = np.asarray(mtf_blur(gnyq=g, ratio=ratio, taps=MTF_TAPS, design="toolbox",
                            mode="replicate").forward(x), dtype=np.float64)
    dc = np.array([toolbox_dc_gain(float(gi), int(ratio), MTF_TAPS) for gi in g])
    return y * dc[:, None, None]


def decimate(x: np.ndarray, ratio: int) -> np.ndarray:
    """One pixel per ``ratio`` x ``ratio`` block at the toolbox phase (``imresize(., 1/r, 'nearest')``)."""
    from hysupp.physics.sampling import Decimation

    return np.asarray(Decimation(ratio, "center").forward(x), dtype=np.float64)


def glp_lowpass(x: np.ndarray, ratio: int, gains: np.ndarray) -> np.ndarray:
    """The GLP low-pass version of ``x``: MTF filter, decimation, 23-tap interpolation back."""
    return expand(decimate(mtf_lowpass(x, ratio, gains), ratio), ratio)


def glp_lowpass_affine(pan: np.ndarray, scale: np.ndarray, offset: np.ndarray, ratio: int,
                       gains: np.ndarray) -> np.ndarray:
    r""":func:`glp_lowpass` of the per-band affine images :math:`P_l = a_l P + b_l` without forming them.

    Filtering (replicate borders) and decimation are linear, so
    :math:`\mathcal D(h_l * (a_l P + b_l)) = a_l\,\mathcal D(h_l * P) + b_l \sum h_l`: the PAN is
    filtered once per *distinct* Nyquist gain at full resolution (WV2: 2 filterings instead of 8)
    and the affine maps act on the decimated images. Equal to ``glp_lowpass(a P + b)`` up to
    rounding.
    """
    p = np.asarray(pan, dtype=np.float64).reshape((1,) + pan.shape[-2:])
    L = len(scale)
    g = np.broadcast_to(np.asarray(gains, dtype=np.float64), (L,))
    low = np.empty((L, -(-p.shape[1] // ratio), -(-p.shape[2] // ratio)))
    for gv in np.unique(g):
        F = decimate(mtf_lowpass(p, ratio, np.array([gv])), ratio)[0]
        dc = toolbox_dc_gain(float(gv), int(ratio))
        for band in np.flatnonzero(g == gv):
            low[band] = scale[band] * F + offset[band] * dc
    return expand(low, ratio)


def gauss_lowpass(x: np.ndarray, ratio: int) -> np.ndarray:
    r"""The toolbox's ``LPfilterGauss``: the MTF kernel design with Nyquist gain 0.3 but the
    Gaussian width computed with ``N`` instead of ``N - 1`` taps, i.e. the toolbox design at the
    gain :math:`0.3^{((N-1)/N)^2}`."""
    g = LPFILTER_GAUSS_GNYQ ** (((MTF_TAPS - 1) / MTF_TAPS) ** 2)
    return mtf_lowpass(x, ratio, np.full(x.shape[0], g))


#: Samples per chunk of :func:`std2` (a few hundred kB: the centred chunk stays in cache).
_STD_CHUNK = 1 << 16


def std2(x: np.ndarray) -> np.ndarray:
    """Per-band sample standard deviation (MATLAB ``std2``: normalised by ``n - 1``).

    Two passes (mean, then the centred sum of squares) over chunks of each band, so no full-size
    centred copy is made (``np.std`` allocates one the size of the whole cube)."""
    flat = np.asarray(x, dtype=np.float64).reshape(x.shape[0], -1)
    n = flat.shape[1]
    out = np.empty(flat.shape[0])
    for band, v in enumerate(flat):
        m = v.mean()
        acc = 0.0
        for i in range(0, n, _STD_CHUNK):
            d = v[i:i + _STD_CHUNK] - m
            acc += float(d @ d)
        out[band] = math.sqrt(acc / (n - 1)) if n > 1 else 0.0
    return out


def mean2(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1).mean(axis=1)


def match_pan(pan: np.ndarray, ms_up: np.ndarray, pan_low: np.ndarray | None = None) -> np.ndarray:
    r"""PAN equalised to every band: :math:`P_l = (P - \mu_P)\,\sigma_{M_l}/\sigma_{P^{LP}} + \mu_{M_l}`
    (``(L, H, W)``), with :math:`\sigma_{P^{LP}}` the std of a low-pass PAN when given (the
    toolbox's MRA methods), else of the PAN."""
    sd = std2(pan if pan_low is None else pan_low)
    scale = std2(ms_up) / np.maximum(sd, EPS)
    return (pan - pan.mean()) * scale[:, None, None] + mean2(ms_up)[:, None, None]


def covariance_gain(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Per band :math:`\operatorname{cov}(x_l, y_l)/\operatorname{var}(y_l)` (``y`` broadcasts)."""
    X = x.reshape(x.shape[0], -1)
    Y = np.broadcast_to(y, x.shape).reshape(x.shape[0], -1)
    Xc = X - X.mean(axis=1, keepdims=True)
    Yc = Y - Y.mean(axis=1, keepdims=True)
    return (Xc * Yc).sum(axis=1) / np.maximum((Yc * Yc).sum(axis=1), EPS)


def levels(ratio: int) -> int:
    """Number of dyadic levels for ``ratio``: ``ceil(log2(ratio))``, the smallest dyadic analysis
    whose approximation is at least as coarse as the MS grid (``log2(ratio)`` for the toolbox's
    power-of-two ratios; 2 for ratio 3, 3 for ratios 5 to 8)."""
    return math.ceil(math.log2(ratio))


#: Analysis and synthesis low-pass filters of the toolbox's undecimated wavelet (B3 spline, x sqrt 2).
B3_LOWPASS = np.sqrt(2.0) * np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _sym_extend_conv(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """One analysis step along the last axis as ``ndwt2_working``'s ``wdec1D`` (half-point
    symmetric extension, full convolution, central ``n + len(h) - 1`` samples)."""
    lf, lx = h.size, x.shape[-1]
    ext = np.concatenate([x[..., lf - 2::-1][..., :lf - 1], x, x[..., :-lf - 1:-1]], axis=-1)
    full = _conv_full(ext, h)
    full = full[..., lf - 1:full.shape[-1] - lf + 1]
    first = (full.shape[-1] - (lx + lf - 1)) // 2
    return full[..., first:first + lx + lf - 1]


def _conv_full(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Full 1-D convolution of every row (last axis) of ``x`` with ``h``."""
    n, k = x.shape[-1], h.size
    out = np.zeros(x.shape[:-1] + (n + k - 1,))
    for j, hj in enumerate(h):
        out[..., j:j + n] += hj * x
    return out


def ndwt_lowpass(x: np.ndarray, n_levels: int, h: np.ndarray = B3_LOWPASS) -> np.ndarray:
    r"""The approximation of the toolbox's undecimated separable wavelet transform
    (``ndwt2_working`` with ``n_levels`` levels, every detail set to zero, ``indwt2_working``).

    Each level filters rows and columns with ``h`` (no holes: the same 5 taps at every level)
    after a half-point symmetric extension and keeps ``n + 4`` samples; the synthesis convolves
    with ``h`` again and crops centrally back to the previous size, dividing by
    :math:`4 = (\sqrt2 \cdot \sqrt2)^2`. The result has unit DC gain.
    """
    sizes = [x.shape[-2:]]
    a = np.asarray(x, dtype=np.float64)
    for _ in range(n_levels):
        a = _sym_extend_conv(a, h)
        a = np.swapaxes(_sym_extend_conv(np.swapaxes(a, -1, -2), h), -1, -2)
        sizes.append(a.shape[-2:])
    for target in reversed(sizes[:-1]):
        a = _conv_full(a, h)
        a = np.swapaxes(_conv_full(np.swapaxes(a, -1, -2), h), -1, -2) / 4.0
        (H, W), (h0, w0) = a.shape[-2:], target
        r0, c0 = (H - h0) // 2, (W - w0) // 2
        a = a[..., r0:r0 + h0, c0:c0 + w0]
    return a


def box_lowpass(x: np.ndarray, size: int) -> np.ndarray:
    """``imfilter(x, fspecial('average', size), 'replicate')`` on every band (odd ``size``)."""
    from scipy.ndimage import uniform_filter

    if size % 2 == 0:
        raise InputError(f"box filter size must be odd, got {size}")
    return uniform_filter(np.asarray(x, dtype=np.float64), size=(1, size, size), mode="nearest")


def gs_inject(ms_up: np.ndarray, I: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Gram-Schmidt injection (``GS.m``/``GSA.m``): on zero-mean bands,
    :math:`\widehat M_l = M_l^0 + g_l (P - I^0)`, :math:`g_l = \operatorname{cov}(I^0, M^0_l) /
    \operatorname{var}(I^0)`, then each band's mean restored to that of :math:`\widetilde M_l`."""
    means = mean2(ms_up)[:, None, None]
    M0 = ms_up - means
    I0 = I - I.mean()
    g = covariance_gain(M0, I0)
    fused = M0 + g[:, None, None] * (P - I0)
    return fused - mean2(fused)[:, None, None] + means, g
