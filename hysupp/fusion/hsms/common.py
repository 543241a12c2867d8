r"""Shared pieces of the HS-MS fusion methods.

The observation model of Yokoya et al. (2017) and :func:`hysupp.simulate.hs_ms_pair`:

.. math::
    Y_h = \mathcal D_r(g * X) + N_h,\qquad Y_m = R X + N_m

with :math:`g` the HS point-spread function, :math:`\mathcal D_r` the decimation at pixel
``ratio // 2`` of each block and :math:`R` the ``(C, L)`` spectral response of the MS bands.

Every method's ``fuse(hs, ms, *, ratio, srf=None, psf=None)`` resolves the unknown responses the
same way (:func:`resolve_responses`): a given ``srf``/``psf`` is used as it is; when ``psf`` is
None, or ``srf`` is None and the method uses it, both are estimated from the pair by
:func:`hysupp.fusion.hsms.responses.estimate_srf_psf` (the known one held fixed), and the
estimates with their diagnostic go into the result's ``info["responses"]``. Below that level
(:func:`as_psf`, :func:`degrade`), ``psf=None`` is the Gaussian of FWHM ``ratio`` of Yokoya et al.
(2017).

Scale. A common scale :math:`s` of the HS and MS images multiplies the fused image by :math:`s`
and changes nothing else. Methods whose parameters are absolute solve the problem on normalised
data and multiply the result back: HySure, whose weights act on the data's magnitude, divides by
:func:`data_max`, the largest absolute HS/MS value (the authors' demo divides its data by their
maximum), so it is invariant to any common scale; the MAP methods and SFIM-HS, whose absolute
guards (noise floors, a ridge, a division guard) only matter for degenerate data, divide by
:func:`data_scale`, the power of ten nearest to that value (1 for reflectance), which makes the
guards relative, leaves reflectance data untouched and makes a change of unit by a power of ten
exact (other factors change their results by less than 1e-6 relative, measured).
:func:`finish` attaches :func:`hysupp.metrics.range.fused_range_check` of the output against
both inputs to ``info["range_check"]`` (with a warning when values fall far outside).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.base import FusionResult

#: FWHM of the default HS PSF, in multiples of the ratio (Yokoya et al. 2017).
DEFAULT_PSF_FWHM_RATIO = 1.0


def as_psf(psf: Any, ratio: int):
    """The HS point-spread function as a :class:`~hysupp.physics.blur.Blur`: ``None`` (Gaussian of
    FWHM ``ratio``), a number (Gaussian FWHM in HR pixels), a 2-D kernel or a Blur."""
    from hysupp.physics.blur import Blur

    if psf is None:
        return Blur.gaussian(fwhm=DEFAULT_PSF_FWHM_RATIO * ratio)
    if isinstance(psf, Blur):
        return psf
    if np.ndim(psf) == 0:
        return Blur.gaussian(fwhm=float(psf))
    k = np.asarray(psf, dtype=np.float64)
    if k.ndim != 2:
        raise InputError(f"psf must be a FWHM, a 2-D kernel or a Blur, got an array of shape {k.shape}")
    return Blur(k / k.sum())


def psf_kernel(psf: Any, ratio: int) -> np.ndarray:
    """The PSF as one normalised 2-D kernel (odd sizes)."""
    return np.asarray(as_psf(psf, ratio).kernels[0], dtype=np.float64)


def degrade(x: np.ndarray, ratio: int, psf: Any) -> np.ndarray:
    r""":math:`\mathcal D_r(g * x)` for a cube ``(B, H, W)``."""
    from hysupp.physics.sampling import Decimation

    blurred = np.asarray(as_psf(psf, ratio).forward(np.asarray(x, dtype=np.float64)), dtype=np.float64)
    return np.asarray(Decimation(ratio, "center").forward(blurred), dtype=np.float64)


def upsample(x: np.ndarray, ratio: int) -> np.ndarray:
    """The HS interpolated to the MS grid: 23-tap for power-of-two ratios, bicubic otherwise
    (same sampling phase as :func:`degrade`)."""
    from hysupp.physics.sampling import bicubic, interp23tap

    x = np.asarray(x, dtype=np.float64)
    if ratio & (ratio - 1) == 0:
        return np.asarray(interp23tap(x, ratio), dtype=np.float64)
    return np.asarray(bicubic(x, ratio), dtype=np.float64)


def subspace(hs: np.ndarray, dim: int) -> np.ndarray:
    """Orthonormal basis ``(L, dim)`` of the HS signal subspace (leading left singular vectors of
    the HS pixels, not centred)."""
    L = hs.shape[0]
    if not 1 <= dim <= L:
        raise InputError(f"subspace dimension must be in [1, {L}], got {dim}")
    U, _, _ = np.linalg.svd(hs.reshape(L, -1), full_matrices=False)
    return U[:, :dim]


def kernel_fft(kernel: np.ndarray, shape: tuple[int, int], offset: int) -> np.ndarray:
    r"""FFT of the circulant blur :math:`k'` with :math:`k'[t] = k[t + \text{offset}]` (taps
    relative to the kernel centre, wrapped): sampling :math:`x * k'` at ``ratio * i`` equals
    sampling :math:`x * k` at ``ratio * i + offset``."""
    H, W = shape
    kh, kw = kernel.shape
    K = np.zeros(shape)
    rows = (np.arange(kh) - kh // 2 - offset) % H
    cols = (np.arange(kw) - kw // 2 - offset) % W
    np.add.at(K, (rows[:, None], cols[None, :]), kernel)
    return np.fft.fft2(K)


# --------------------------------------------------------------------------- scale, sign, results
#: Negative values above ``-NEGATIVE_TOLERANCE`` times the largest absolute value are rounding
#: (e.g. -1e-13 after an FFT blur of non-negative data) and are clipped to 0 by methods that need
#: non-negative data.
NEGATIVE_TOLERANCE = 1e-6


def data_max(*arrays: np.ndarray) -> float:
    """The largest absolute value of ``arrays``; 1 for all-zero or non-finite data.

    >>> data_max(np.array([0.2, -0.64]), np.array([0.5]))
    0.64
    """
    m = max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)
    return m if m > 0 and np.isfinite(m) else 1.0


def data_scale(*arrays: np.ndarray) -> float:
    """The power of ten nearest (in log scale) to the largest absolute value of ``arrays``; 1 for
    all-zero or non-finite data. Reflectance data (largest value between 0.32 and 3.2) give 1.

    >>> data_scale(np.array([0.2, 0.64])), data_scale(np.array([2500.0])), data_scale(np.zeros(3))
    (1.0, 1000.0, 1.0)
    """
    return float(10.0 ** round(np.log10(data_max(*arrays))))


def nonnegative(x: np.ndarray, what: str, method: str, tol: float = NEGATIVE_TOLERANCE) -> tuple[np.ndarray, int]:
    """``x`` with its rounding-level negative values (down to ``-tol`` times the largest absolute
    value) set to 0, and how many were; an :class:`~hysupp.errors.InputError` for genuinely
    negative data."""
    lo = float(np.min(x))
    if lo >= 0:
        return x, 0
    big = float(np.max(np.abs(x)))
    if lo < -tol * big:
        n = int(np.count_nonzero(x < -tol * big))
        raise InputError(f"{method} factorises non-negative data: the {what} image has {n} value(s) below "
                         f"-{tol:g} x its largest absolute value (minimum {lo:.4g}, largest {big:.4g}); clip or "
                         f"offset the data first (only rounding-level negatives are clipped automatically)")
    n = int(np.count_nonzero(x < 0))
    return np.maximum(x, 0.0), n


def finish(method: str, fused: np.ndarray, hs: np.ndarray, ms: np.ndarray, info: dict[str, Any]) -> FusionResult:
    """The method's :class:`~hysupp.methods.base.FusionResult`, with the range check of ``fused``
    against the HS and MS (:func:`hysupp.metrics.range.fused_range_check`) in
    ``info["range_check"]``."""
    from hysupp.metrics.range import fused_range_check

    info = {**info, "range_check": fused_range_check(fused, hs, ms, what=f"{method} output")}
    return FusionResult(fused=fused, info=info)
