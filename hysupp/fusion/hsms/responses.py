r"""The MS spectral response (SRF) and the HS point-spread function (PSF), estimated from the pair.

With :math:`Y_h = \mathcal D_r(g * X)` and :math:`Y_m = R X` (:mod:`.common`), the relative
responses of the two sensors satisfy, up to noise,

.. math::
    R\,Y_h = \mathcal D_r(g * Y_m),

with :math:`R` ``(C, L)`` and :math:`g` the PSF on the high-resolution grid (Simões et al. 2015,
§IV). :func:`estimate_srf_psf` solves it by alternating two regularised, non-negative least-squares
problems:

- **SRF** (given :math:`g`): both sides are blurred by a box :math:`b` of ``2m + 1`` HS pixels
  (the authors' strong blur, which averages the noise and makes the step insensitive to errors in
  :math:`g`); on the HS grid :math:`b * \mathcal D_r(y) = \mathcal D_r(b^{\uparrow} * y)` with
  :math:`b^{\uparrow}` the box spread ``ratio`` pixels apart, so the relation stays exact:

  .. math::
      \min_{\rho_c \ge 0,\ \operatorname{supp}\rho_c \subseteq S_c}
      \big\lVert \mathcal D_r(b^{\uparrow} * g * Y_{m,c}) - \rho_c^\top (b * Y_h)\big\rVert^2
      + \lambda_R \lVert \Delta \rho_c\rVert^2

  for every MS band :math:`c` (row :math:`\rho_c^\top` of :math:`R`): non-negative, smooth along
  the wavelength (:math:`\Delta`: first differences of neighbouring HS bands, not across gaps of
  removed bands when the wavelengths are known) and band-limited (support :math:`S_c`, all bands
  unless given, :func:`srf_support` from the wavelengths).
- **PSF** (given :math:`R`): a ``k x k`` kernel,

  .. math::
      \min_{g \ge 0} \big\lVert R Y_h - \mathcal D_r(g * Y_m)\big\rVert^2
      + \lambda_B \big(\lVert \Delta_v g\rVert^2 + \lVert \Delta_h g\rVert^2\big),

  then :math:`g \leftarrow g / \sum g` and, when :math:`R` is estimated too, :math:`R \leftarrow
  R / \sum g` (the relation only fixes the product; the PSF keeps a unit DC gain, as in the
  authors' code).

Only HS pixels whose whole footprint lies inside the images are used (no border assumption).
The weights are relative to the data, :math:`\lambda_R = \lambda_{srf}\,\mathrm{tr}(A A^\top)/|S_c|`
(:math:`A` the blurred HS bands of :math:`S_c`) and :math:`\lambda_B = \lambda_{psf}\,
\mathrm{tr}(P^\top P)/k^2` (:math:`P` the MS patches), so the estimate does not depend on the
data's scale. The first SRF step uses a Gaussian PSF of FWHM ``ratio``.

The diagnostic (``ResponseEstimate.diagnostics``) holds the relative fit residual
:math:`\lVert R Y_h - \mathcal D_r(g * Y_m)\rVert / \lVert R Y_h - \overline{R Y_h}\rVert` (relative
to the spread of each band about its mean, so that a constant level does not hide a misfit), the
SRF peaks (band index,
and wavelength and offset from the MS band centre when known), the PSF's moment FWHM, centroid
and the mass on its window's border; an :class:`~hysupp.errors.ImplausibleEstimateWarning` is
issued when the estimate looks unphysical (list in :func:`estimate_srf_psf`).

References
----------
M. Simões, J. Bioucas-Dias, L. B. Almeida, J. Chanussot, "A convex formulation for hyperspectral
image superresolution via subspace-based regularization", IEEE TGRS 53(6), 3373-3388, 2015,
doi:10.1109/TGRS.2014.2375320 (§IV).

Examples
--------
A rough scene, three Gaussian MS responses and a Gaussian PSF of FWHM 4 (ratio 4), noise-free,
no smoothness: both are recovered exactly.

>>> import numpy as np
>>> from hysupp.fusion.hsms.common import degrade
>>> rng = np.random.default_rng(0)
>>> wl = np.linspace(400, 900, 16)
>>> X = rng.random((16, 64, 64))
>>> R = np.stack([np.exp(-0.5 * ((wl - c) / 40) ** 2) for c in (500, 650, 800)])
>>> R /= R.sum(axis=1, keepdims=True)
>>> hs, ms = degrade(X, 4, 4.0), np.einsum("cl,lhw->chw", R, X)
>>> est = estimate_srf_psf(hs, ms, 4, psf_size=15, lambda_srf=0.0, lambda_psf=0.0)
>>> bool(np.abs(est.srf - R).max() < 1e-6), [round(f, 3) for f in est.diagnostics["psf_fwhm"]]
(True, [4.0, 4.0])
>>> est.diagnostics["fit_residual"] < 1e-8, est.diagnostics["srf_peak_band"]
(True, [3, 7, 12])
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hysupp.errors import ImplausibleEstimateWarning, InputError
from hysupp.fusion.hsms import common as C

__all__ = ["ResponseEstimate", "estimate_srf_psf", "srf_support"]

#: Default relative weights of the SRF and PSF smoothness terms (see the module docstring).
LAMBDA_SRF = 0.1
LAMBDA_PSF = 1e-2
#: Fit residual (relative) above which the estimate is reported as implausible.
MAX_RESIDUAL = 0.1


@dataclass
class ResponseEstimate:
    """Estimated (or given) ``srf`` ``(C, L)`` and PSF ``psf`` (a normalised odd ``(k, k)`` kernel
    on the high-resolution grid), with ``diagnostics`` and the ``warnings`` issued."""

    srf: np.ndarray
    psf: np.ndarray
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_info(self) -> dict[str, Any]:
        """JSON-friendly summary for a run record: the estimates, the diagnostic, the warnings."""
        return {"srf": self.srf.tolist(), "psf": self.psf.tolist(), "diagnostics": self.diagnostics,
                "warnings": list(self.warnings)}


def srf_support(hs_wavelengths: Any, ms_centres: Any, ms_fwhm: Any, *, width: float = 1.0) -> np.ndarray:
    """Band-limited support ``(C, L)`` of the MS responses: HS band ``l`` can feed MS band ``c``
    when its wavelength lies within ``width`` FWHM of the band's centre (all in the same unit).

    >>> srf_support([450, 500, 550, 600, 650], [500, 620], [60, 40]).astype(int)
    array([[1, 1, 1, 0, 0],
           [0, 0, 0, 1, 1]])
    """
    wl = np.asarray(hs_wavelengths, dtype=np.float64).ravel()
    c = np.asarray(ms_centres, dtype=np.float64).ravel()
    f = np.broadcast_to(np.asarray(ms_fwhm, dtype=np.float64).ravel(), c.shape)
    if not (np.isfinite(wl).all() and np.isfinite(c).all() and (f > 0).all()):
        raise InputError("srf_support: wavelengths, centres and FWHMs must be finite (FWHM > 0)")
    return np.abs(wl[None, :] - c[:, None]) <= width * f[:, None]


# --------------------------------------------------------------------------------- building blocks
def _default_psf_size(ratio: int) -> int:
    """Odd window ``2 ceil(1.5 ratio) + 1``: +-3.5 sigma of a Gaussian of FWHM ``ratio``."""
    return 2 * math.ceil(1.5 * ratio) + 1


def _valid_rows(n_lr: int, ratio: int, reach: int, box: int = 0) -> np.ndarray:
    """HS rows ``i`` whose footprint ``ratio i + ratio // 2 +- reach`` (and HS box ``i +- box``) is
    inside the image."""
    i = np.arange(n_lr)
    p = ratio * i + ratio // 2
    return i[(p - reach >= 0) & (p + reach <= ratio * n_lr - 1) & (i - box >= 0) & (i + box <= n_lr - 1)]


def _subsample(rows: np.ndarray, cols: np.ndarray, max_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """A regular subset of the grid ``rows x cols`` with at most ``max_pixels`` pixels."""
    step = max(1, math.ceil(math.sqrt(rows.size * cols.size / max(max_pixels, 1))))
    return rows[::step], cols[::step]


def _nnls_quadratic(G: np.ndarray, q: np.ndarray) -> np.ndarray:
    r""":math:`\arg\min_{x \ge 0} x^\top G x - 2 q^\top x` for a symmetric positive (semi)definite
    ``G``, as the NNLS problem :math:`\min \lVert U x - U^{-\top} q\rVert` with :math:`G = U^\top U`."""
    from scipy.linalg import cholesky, solve_triangular
    from scipy.optimize import nnls

    n = G.shape[0]
    jitter = 1e-12 * max(float(np.trace(G)) / n, 1e-300)
    U = cholesky(G + jitter * np.eye(n), lower=False)
    z = solve_triangular(U, q, trans="T", lower=False)
    return nnls(U, z, maxiter=50 * n)[0]


def _differences(n: int, gaps: np.ndarray | None = None) -> np.ndarray:
    """First differences ``(n - 1, n)``; rows across a gap (``gaps[j]``: bands ``j, j+1`` not
    neighbours) are zero."""
    D = np.zeros((max(n - 1, 0), n))
    if n > 1:
        D[np.arange(n - 1), np.arange(n - 1)] = -1.0
        D[np.arange(n - 1), np.arange(1, n)] = 1.0
        if gaps is not None:
            D[gaps] = 0.0
    return D


def _band_gaps(wl: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    """Neighbouring support bands more than 1.5 median spacings apart (removed bands between)."""
    if wl is None or idx.size < 3:
        return None
    d = np.diff(wl[idx])
    return d > 1.5 * np.median(np.abs(np.diff(wl))) if wl.size > 1 else None


def _srf_step(hs_b: np.ndarray, target: np.ndarray, support: np.ndarray, lam: float,
              wl: np.ndarray | None) -> np.ndarray:
    """Rows of R ``(C, L)``: one regularised NNLS per MS band on its support (module docstring)."""
    Cb, L = support.shape
    R = np.zeros((Cb, L))
    for c in range(Cb):
        idx = np.flatnonzero(support[c])
        if idx.size == 0:
            continue
        A = hs_b[idx]
        G = A @ A.T
        D = _differences(idx.size, _band_gaps(wl, idx))
        spread = float(np.trace(G)) - A.shape[1] * float(np.sum(A.mean(axis=1) ** 2))   # centred trace
        G = G + lam * spread / idx.size * (D.T @ D)
        R[c, idx] = _nnls_quadratic(G, A @ target[c])
    return R


def _patch_offsets(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``c - a`` (rows) and ``c - b`` (columns) of the ``k x k`` taps, in tap order."""
    c = k // 2
    a, b = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    return (c - a).ravel(), (c - b).ravel()


def _psf_normal_equations(ms: np.ndarray, t: np.ndarray, rows: np.ndarray, cols: np.ndarray, ratio: int,
                          k: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray, float]:
    r""":math:`P^\top P`, :math:`P^\top t` and the centred trace :math:`\mathrm{tr}(P_c^\top P_c)`
    (:math:`P_c`: each band's patches minus their mean) of the PSF regression :math:`t \approx P g`
    over the HS pixels ``rows x cols`` (``t`` ``(C, n)`` in that order), accumulated over pixel
    chunks."""
    dy, dx = _patch_offsets(k)
    phase = ratio // 2
    py = (ratio * rows + phase)[:, None].repeat(cols.size, 1).ravel()
    px = (ratio * cols + phase)[None, :].repeat(rows.size, 0).ravel()
    G = np.zeros((k * k, k * k))
    q = np.zeros(k * k)
    sums = np.zeros((ms.shape[0], k * k))
    for s in range(0, py.size, chunk):
        P = ms[:, py[s:s + chunk, None] + dy[None], px[s:s + chunk, None] + dx[None]]   # (C, n_c, k^2)
        sums += P.sum(axis=1)
        P = P.reshape(-1, k * k)
        G += P.T @ P
        q += P.T @ t[:, s:s + chunk].ravel()
    return G, q, float(np.trace(G)) - float(np.sum(sums ** 2)) / max(py.size, 1)


def _psf_step(ms: np.ndarray, t: np.ndarray, rows: np.ndarray, cols: np.ndarray, ratio: int, k: int,
              lam: float) -> np.ndarray:
    """Non-negative smooth ``k x k`` kernel (not normalised) with ``t ~ D_r(g * ms)``."""
    G, q, spread = _psf_normal_equations(ms, t, rows, cols, ratio, k)
    Dk = _differences(k)
    I = np.eye(k)
    Dv, Dh = np.kron(Dk, I), np.kron(I, Dk)
    G = G + lam * spread / (k * k) * (Dv.T @ Dv + Dh.T @ Dh)
    return _nnls_quadratic(G, q).reshape(k, k)


def _blur(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    from hysupp.physics.blur import Blur

    return np.asarray(Blur(kernel).forward(x), dtype=np.float64)


def _box_up(m: int, ratio: int) -> np.ndarray:
    """The HS-grid box of ``2m + 1`` pixels spread ``ratio`` pixels apart on the HR grid (sum 1)."""
    n = 2 * m * ratio + 1
    b = np.zeros((n, n))
    b[::ratio, ::ratio] = 1.0
    return b / b.sum()


def _psf_stats(g: np.ndarray) -> dict[str, Any]:
    """Moment FWHM (y, x) in HR pixels, centroid offset from the window centre, border mass."""
    k = g.shape[0]
    c = k // 2
    s = float(g.sum())
    if not s > 0:
        return {"psf_fwhm": [0.0, 0.0], "psf_centroid_offset": [0.0, 0.0], "psf_border_mass": 0.0}
    y, x = np.mgrid[0:k, 0:k].astype(np.float64)
    my, mx = float((g * y).sum() / s), float((g * x).sum() / s)
    vy, vx = float((g * (y - my) ** 2).sum() / s), float((g * (x - mx) ** 2).sum() / s)
    border = float(g.sum() - g[1:-1, 1:-1].sum()) / s if k > 2 else 1.0
    fw = 2.0 * math.sqrt(2.0 * math.log(2.0))
    return {"psf_fwhm": [fw * math.sqrt(vy), fw * math.sqrt(vx)], "psf_centroid_offset": [my - c, mx - c],
            "psf_border_mass": border}


# --------------------------------------------------------------------------------- the estimator
def estimate_srf_psf(hs: np.ndarray, ms: np.ndarray, ratio: int, *, srf: Any = None, psf: Any = None,
                     support: Any = None, hs_wavelengths: Any = None, ms_centres: Any = None, ms_fwhm: Any = None,
                     psf_size: int | None = None, lambda_srf: float = LAMBDA_SRF, lambda_psf: float = LAMBDA_PSF,
                     iterations: int = 3, box: int | None = None, max_residual: float = MAX_RESIDUAL,
                     max_pixels: int = 20000, warn: bool = True) -> ResponseEstimate:
    r"""Estimate the MS spectral response and the HS PSF from an HS-MS pair (module docstring).

    Parameters
    ----------
    hs, ms : ndarray
        HS ``(L, h, w)`` and MS ``(C, ratio h, ratio w)``.
    ratio : int
        Resolution ratio; the decimation phase is ``ratio // 2`` (:func:`.common.degrade`).
    srf, psf : optional
        Known responses, kept fixed: ``srf`` ``(C, L)``; ``psf`` as :func:`.common.as_psf` takes it.
        Only the unknown one(s) are estimated; with both given only the diagnostic is computed.
    support : array_like of bool ``(C, L)``, optional
        HS bands each MS band may respond to (default: all, or :func:`srf_support` of
        ``hs_wavelengths``, ``ms_centres``, ``ms_fwhm`` when they are given).
    hs_wavelengths, ms_centres, ms_fwhm : array_like, optional
        HS band wavelengths, MS band centres and widths (same unit): the support, the gaps of the
        smoothness term and the peak check of the diagnostic.
    psf_size : int, optional
        Odd window of the estimated kernel; default ``2 ceil(1.5 ratio) + 1``.
    lambda_srf, lambda_psf : float
        Relative smoothness weights (module docstring).
    iterations : int
        SRF/PSF alternations when both are unknown.
    box : int, optional
        Half-width ``m`` (HS pixels) of the box blur of the SRF step; default
        ``max(1, round(4 / ratio))`` (the authors' 9-pixel MS box, in HS pixels).
    max_residual : float
        Relative fit residual above which the estimate is flagged.
    max_pixels : int
        HS pixels used at most (a regular subset of the valid ones).
    warn : bool
        Issue an :class:`~hysupp.errors.ImplausibleEstimateWarning` for each problem found:

        - the relative fit residual exceeds ``max_residual``;
        - an MS band responds to no HS band (an all-zero SRF row), or every SRF row peaks at the
          same HS band (``C >= 2``);
        - an SRF peak falls outside its MS band's ``centre +- FWHM / 2`` (when known);
        - the PSF's centroid is more than ``ratio / 2`` pixels off the decimation phase
          (misregistration), or more than 10 % of its mass lies on the window's border (window
          too small);
        - with a given SRF, the PSF's DC gain (before normalisation) is off 1 by more than 20 %
          (the given SRF and the data disagree in scale);
        - too few valid pixels to estimate the PSF (the default Gaussian of FWHM ``ratio`` is
          then kept).

    Returns
    -------
    ResponseEstimate
    """
    hs = np.asarray(hs, dtype=np.float64)
    ms = np.asarray(ms, dtype=np.float64)
    L, h, w = hs.shape
    Cb, H, W = ms.shape
    if (H, W) != (ratio * h, ratio * w):
        raise InputError(f"estimate_srf_psf: MS is {H} x {W}, expected ratio {ratio} x HS = {ratio * h} x {ratio * w}")
    if not (np.isfinite(hs).all() and np.isfinite(ms).all()):
        raise InputError("estimate_srf_psf: the HS or MS image has NaN/Inf values")
    if iterations < 1:
        raise InputError(f"estimate_srf_psf: iterations must be >= 1, got {iterations}")
    wl = None if hs_wavelengths is None else np.asarray(hs_wavelengths, dtype=np.float64).ravel()
    if wl is not None and wl.size != L:
        raise InputError(f"estimate_srf_psf: {wl.size} HS wavelengths for {L} HS bands")
    if support is None:
        if wl is not None and ms_centres is not None and ms_fwhm is not None:
            support = srf_support(wl, ms_centres, ms_fwhm)
        else:
            support = np.ones((Cb, L), dtype=bool)
    support = np.asarray(support, dtype=bool)
    if support.shape != (Cb, L):
        raise InputError(f"estimate_srf_psf: support must be (MS bands, HS bands) = {(Cb, L)}, got {support.shape}")
    R_given = srf is not None
    if R_given:
        R = np.asarray(srf, dtype=np.float64)
        if R.shape != (Cb, L):
            raise InputError(f"srf must be (MS bands, HS bands) = {(Cb, L)}, got {R.shape}")
    g_given = psf is not None
    k = int(psf_size) if psf_size is not None else _default_psf_size(ratio)
    if k < 1 or k % 2 == 0:
        raise InputError(f"estimate_srf_psf: psf_size must be odd and >= 1, got {psf_size}")
    g = C.psf_kernel(psf, ratio) if g_given else C.psf_kernel(None, ratio)
    notes: list[str] = []
    problems: list[str] = []

    # pixels of the PSF step: whole k x k footprint inside the MS
    rows_g = _valid_rows(h, ratio, k // 2)
    cols_g = _valid_rows(w, ratio, k // 2)
    rows_g, cols_g = _subsample(rows_g, cols_g, max_pixels)
    if not g_given and Cb * rows_g.size * cols_g.size < k * k:
        g_given = True
        problems.append(f"too few valid pixels ({rows_g.size * cols_g.size} HS pixels x {Cb} MS bands for "
                        f"{k * k} PSF taps) to estimate the PSF: the default Gaussian of FWHM {ratio} is kept")
    # pixels of the SRF step: footprint of the box-blurred relation inside the images
    m = max(1, round(4 / ratio)) if box is None else int(box)
    bup = _box_up(m, ratio)
    hs_box = np.full((2 * m + 1, 2 * m + 1), 1.0 / (2 * m + 1) ** 2)

    def srf_pixels(g_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reach = (bup.shape[0] + g_.shape[0]) // 2 - 1
        r_, c_ = _valid_rows(h, ratio, reach, m), _valid_rows(w, ratio, reach, m)
        if r_.size * c_.size == 0:      # tiny images: use every pixel (border extension assumed)
            notes.append("SRF step on all pixels (no pixel has its whole blurred footprint inside the image)")
            r_, c_ = np.arange(h), np.arange(w)
        return _subsample(r_, c_, max_pixels)

    hs_b = _blur(hs, hs_box) if not R_given else None

    def srf_estimate(g_: np.ndarray) -> np.ndarray:
        from scipy.signal import convolve2d

        r_, c_ = srf_pixels(g_)
        target = C.degrade(ms, ratio, convolve2d(bup, g_))[:, r_][:, :, c_].reshape(Cb, -1)
        return _srf_step(hs_b[:, r_][:, :, c_].reshape(L, -1), target, support, lambda_srf, wl)

    hs_g = hs[:, rows_g][:, :, cols_g].reshape(L, -1)
    gain = None
    n_iter = 0
    if not R_given and g_given:
        R = srf_estimate(g)
        n_iter = 1
    elif R_given and not g_given:
        raw = _psf_step(ms, R @ hs_g, rows_g, cols_g, ratio, k, lambda_psf)
        gain = float(raw.sum())
        g = raw / gain if gain > 0 else C.psf_kernel(None, ratio)
        n_iter = 1
    elif not R_given and not g_given:
        for n_iter in range(1, iterations + 1):
            R = srf_estimate(g)
            raw = _psf_step(ms, R @ hs_g, rows_g, cols_g, ratio, k, lambda_psf)
            vol = float(raw.sum())
            if not vol > 0:
                problems.append("the PSF estimate is zero (the HS and MS images do not match)")
                g = C.psf_kernel(None, ratio)
                break
            g, R = raw / vol, R / vol

    # diagnostic: fit of the full relation R Y_h = D_r(g * Y_m) on the valid pixels of g
    kg = g.shape[0]
    rows_d, cols_d = _subsample(_valid_rows(h, ratio, kg // 2), _valid_rows(w, ratio, kg // 2), max_pixels)
    if rows_d.size * cols_d.size < 4:           # too small an interior: every pixel (border extension)
        rows_d, cols_d = _subsample(np.arange(h), np.arange(w), max_pixels)
    lhs = R @ hs[:, rows_d][:, :, cols_d].reshape(L, -1)
    rhs = C.degrade(ms, ratio, g)[:, rows_d][:, :, cols_d].reshape(Cb, -1)
    centred = lhs - lhs.mean(axis=1, keepdims=True)          # relative to the spread, not the mean level
    spread = np.linalg.norm(centred, axis=1)
    spread = np.where(spread > 1e-12 * np.linalg.norm(lhs, axis=1), spread, np.linalg.norm(lhs, axis=1))
    residual = float(np.linalg.norm(lhs - rhs) / max(float(np.sqrt(np.sum(spread ** 2))), 1e-300))
    band_res = (np.linalg.norm(lhs - rhs, axis=1) / np.maximum(spread, 1e-300)).tolist()
    peaks = np.argmax(R, axis=1)
    diag: dict[str, Any] = {
        "srf": "given" if R_given else "estimated", "psf": "given" if psf is not None else
        ("estimated" if not g_given else "assumed (Gaussian of FWHM ratio)"),
        "fit_residual": residual, "fit_residual_per_band": band_res, "pixels_used": int(rows_d.size * cols_d.size),
        "iterations": n_iter, "lambda_srf": lambda_srf, "lambda_psf": lambda_psf, "psf_size": int(kg),
        "srf_peak_band": peaks.tolist(), **_psf_stats(g)}
    if gain is not None:
        diag["psf_gain"] = gain
    if wl is not None:
        diag["srf_peak_wavelength"] = wl[peaks].tolist()
        if ms_centres is not None:
            centres = np.asarray(ms_centres, dtype=np.float64).ravel()
            diag["srf_peak_offset"] = (wl[peaks] - centres).tolist()
    if notes:
        diag["notes"] = notes

    # plausibility
    if residual > max_residual:
        problems.append(f"relative fit residual {residual:.3g} > {max_residual:g}: R Y_h and the blurred, decimated "
                        f"MS disagree (wrong ratio, misregistration, or different scenes/dates)")
    zero = np.flatnonzero(~(R.max(axis=1) > 0))
    if zero.size:
        problems.append(f"MS band(s) {zero.tolist()} respond to no HS band (all-zero SRF rows): outside the HS "
                        f"range, or a support that excludes them")
    if Cb >= 2 and zero.size < Cb and np.unique(peaks).size == 1:
        where = f" ({wl[peaks[0]]:g})" if wl is not None else ""
        problems.append(f"every SRF row peaks at the same HS band {int(peaks[0])}{where}")
    if wl is not None and ms_centres is not None and ms_fwhm is not None:
        centres = np.asarray(ms_centres, dtype=np.float64).ravel()
        fw = np.broadcast_to(np.asarray(ms_fwhm, dtype=np.float64).ravel(), centres.shape)
        off = np.flatnonzero(np.abs(wl[peaks] - centres) > fw / 2)
        if off.size:
            problems.append(f"SRF peak(s) of MS band(s) {off.tolist()} at {wl[peaks[off]].tolist()}, outside their "
                            f"band (centre {centres[off].tolist()} +- FWHM/2)")
    stats = _psf_stats(g)
    if max(abs(v) for v in stats["psf_centroid_offset"]) > ratio / 2:
        problems.append(f"PSF centroid {np.round(stats['psf_centroid_offset'], 2).tolist()} HR pixels off the "
                        f"decimation phase (misregistered pair?)")
    if psf is None and not g_given and stats["psf_border_mass"] > 0.1:
        problems.append(f"{100 * stats['psf_border_mass']:.0f} % of the PSF on its window's border: increase psf_size")
    if gain is not None and abs(gain - 1.0) > 0.2:
        problems.append(f"PSF DC gain {gain:.3g} (expected 1): the given SRF and the data disagree in scale")
    if warn:
        for p in problems:
            warnings.warn(f"SRF/PSF estimate: {p}", ImplausibleEstimateWarning, stacklevel=2)
    diag["plausible"] = not problems
    return ResponseEstimate(srf=R, psf=np.asarray(g, dtype=np.float64), diagnostics=diag, warnings=problems)


def resolve_responses(hs: np.ndarray, ms: np.ndarray, ratio: int, srf: Any, psf: Any, *, method: str,
                      need_srf: bool = True) -> tuple[np.ndarray | None, Any, dict[str, Any]]:
    """The SRF and PSF a method runs with (module docstring): ``(R, psf, info)``.

    ``R`` is the given ``srf`` (checked ``(C, L)``) or its estimate (None when the method does not
    use it, ``need_srf=False``, and it is not given); ``psf`` the given PSF or the estimated kernel;
    ``info`` says which were given or estimated and holds the estimate and its diagnostic
    (``responses``), for the run record."""
    L, Cb = hs.shape[0], ms.shape[0]
    R = None
    if srf is not None:
        R = np.asarray(srf, dtype=np.float64)
        if R.shape != (Cb, L):
            raise InputError(f"{method}: srf must be (MS bands, HS bands) = {(Cb, L)}, got {R.shape}")
        if not np.isfinite(R).all():
            raise InputError(f"{method}: srf has NaN/Inf values")
    info: dict[str, Any] = {}
    if psf is None or (R is None and need_srf):
        est = estimate_srf_psf(hs, ms, ratio, srf=R, psf=psf)
        info["responses"] = est.to_info()
        if R is None and need_srf:
            R = est.srf
        if psf is None:
            psf = est.psf
        info["psf"] = "given" if est.diagnostics["psf"] == "given" else est.diagnostics["psf"]
    else:
        info["psf"] = "given"
    if need_srf:
        info["srf"] = "given" if srf is not None else "estimated"
    return R, psf, info
