r"""Shared pieces of the HS-MS fusion methods.

The observation model of Yokoya et al. (2017) and :func:`hysupp.simulate.hs_ms_pair`:

.. math::
    Y_h = \mathcal D_r(g * X) + N_h,\qquad Y_m = R X + N_m

with :math:`g` the HS point-spread function (a Gaussian of FWHM ``ratio`` HR pixels unless
given), :math:`\mathcal D_r` the decimation at pixel ``ratio // 2`` of each block and :math:`R`
the ``(C, L)`` spectral response of the MS bands.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hysupp.errors import InputError

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


def estimate_srf(hs: np.ndarray, ms: np.ndarray, ratio: int, psf: Any) -> np.ndarray:
    r"""Non-negative least-squares estimate of :math:`R` (``(C, L)``) from the HS and the MS
    degraded to the HS grid: :math:`\min_{R \ge 0}\lVert \mathcal D_r(g*Y_m) - R Y_h\rVert^2`,
    one NNLS per MS band."""
    from scipy.optimize import nnls

    L = hs.shape[0]
    H = hs.reshape(L, -1).T
    ms_lr = degrade(ms, ratio, psf).reshape(ms.shape[0], -1)
    return np.stack([nnls(H, band, maxiter=50 * L)[0] for band in ms_lr])


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
