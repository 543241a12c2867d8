r"""Non-blind (or PSF-estimating) deconvolution super-resolution, closed form in the Fourier domain."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.base import FusionResult, SuperResolver
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["Deconvolution", "estimate_gaussian_psf", "l2_superres"]


def _otf(kernels: np.ndarray, H: int, W: int) -> np.ndarray:
    """FFT ``(n, H, W)`` of centred kernels ``(n, kh, kw)`` zero-padded to ``H x W`` (psf2otf)."""
    n, kh, kw = kernels.shape
    if kh > H or kw > W:   # crop the (negligible) tails of a kernel larger than the image
        cy, cx = kh // 2, kw // 2
        ry, rx = min(cy, (H - 1) // 2), min(cx, (W - 1) // 2)
        kernels = kernels[:, cy - ry:cy + ry + 1, cx - rx:cx + rx + 1]
        n, kh, kw = kernels.shape
    pad = np.zeros((n, H, W))
    pad[:, :kh, :kw] = kernels
    pad = np.roll(pad, (-(kh // 2), -(kw // 2)), axis=(1, 2))
    return np.fft.fft2(pad)


def _alias_mean(Z: np.ndarray, r: int) -> np.ndarray:
    """Spectrum of the phase-0 decimation: (1/r^2) sum of the r^2 aliases, ``(..., H, W) -> (..., H/r, W/r)``."""
    *lead, H, W = Z.shape
    return Z.reshape(*lead, r, H // r, r, W // r).mean(axis=(-4, -2))


def l2_superres(y: np.ndarray, kernels: np.ndarray, ratio: int, lam: float, *, x0: np.ndarray | None = None,
                eps: float = 1e-6) -> np.ndarray:
    r"""Exact minimiser of :math:`\|S_0 H x - y\|^2 + \lambda\|\nabla x\|^2 + \varepsilon\|x - x_0\|^2`
    per band with circular boundaries (module :class:`Deconvolution`), ``y`` ``(L, h, w)`` on the
    phase-0 grid, ``kernels`` ``(1 or L, kh, kw)``; returns ``(L, r h, r w)``.

    Woodbury on :math:`A = \lambda G^\top G + \varepsilon I` (circulant) gives
    :math:`x = A^{-1}b - A^{-1}H^\top S_0^\top (I + S_0 H A^{-1} H^\top S_0^\top)^{-1} S_0 H A^{-1} b`,
    :math:`b = H^\top S_0^\top y + \varepsilon x_0`, where the middle operator is diagonal in the
    low-resolution Fourier domain, :math:`1 + r^{-2}\sum_{\text{aliases}} |\hat h|^2/\hat a`
    (Zhao et al. 2016)."""
    r = int(ratio)
    _, h, w = y.shape
    H, W = h * r, w * r
    Hf = _otf(kernels, H, W)
    fy = np.fft.fftfreq(H)[:, None]
    fx = np.fft.fftfreq(W)[None, :]
    G2 = np.abs(1 - np.exp(-2j * np.pi * fy)) ** 2 + np.abs(1 - np.exp(-2j * np.pi * fx)) ** 2
    a = lam * G2 + eps
    Yf = np.fft.fft2(y)
    Bf = np.conj(Hf) * np.tile(Yf, (1, r, r))          # H^T S^T y (zero filling = spectrum replication)
    if x0 is not None:
        Bf = Bf + eps * np.fft.fft2(x0)
    Af = Bf / a
    num = _alias_mean(Hf * Af, r)
    den = 1.0 + _alias_mean(np.abs(Hf) ** 2 / a, r)
    Xf = Af - np.conj(Hf) / a * np.tile(num / den, (1, r, r))
    return np.real(np.fft.ifft2(Xf))


def estimate_gaussian_psf(y: np.ndarray, ratio: int, *, band: tuple[float, float] = (0.05, 0.45),
                          alpha: float | None = 2.0) -> float:
    r"""Standard deviation (high-resolution pixels) of a Gaussian PSF estimated from the image alone.

    Model of the radially averaged power spectrum of the observed image (natural scenes have a
    power-law spectrum :math:`\propto\rho^{-\alpha}`; the Gaussian PSF multiplies it by
    :math:`|\hat h|^2 = \exp(-4\pi^2\sigma^2 f^2)` with the high-resolution frequency
    :math:`f = \rho / r`):

    .. math::
        \log P(\rho) = c - \alpha\log\rho - 4\pi^2\sigma^2\rho^2/r^2,

    fitted by least squares over :math:`\rho` in ``band`` (cycles per low-resolution pixel) on the
    mean over bands of the Hann-windowed, mean-removed, variance-normalised periodograms. ``alpha``
    fixed (2, the usual natural-image exponent) or ``None`` to fit it too. The estimate is clipped to
    ``[0.1, 2 r]``. It is a rough estimator (scene texture and aliasing bias it): check it on your
    data (the ``info`` of :class:`Deconvolution` records it).
    """
    r = int(ratio)
    y = np.asarray(y, dtype=np.float64)
    _, h, w = y.shape
    win = np.hanning(h)[:, None] * np.hanning(w)[None, :]
    z = y - y.mean(axis=(1, 2), keepdims=True)
    P = np.abs(np.fft.fft2(z * win)) ** 2
    P = (P / np.maximum(P.sum(axis=(1, 2), keepdims=True), 1e-300)).mean(axis=0)
    rho = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    edges = np.linspace(band[0], band[1], 17)
    idx = np.digitize(rho.ravel(), edges)
    centres, logp = [], []
    for k in range(1, len(edges)):
        m = idx == k
        if m.any() and P.ravel()[m].mean() > 0:
            centres.append(rho.ravel()[m].mean())
            logp.append(math.log(P.ravel()[m].mean()))
    if len(centres) < 4:
        raise InputError(f"image of {h} x {w} pixels is too small to estimate the PSF from its spectrum")
    c, lp = np.asarray(centres), np.asarray(logp)
    q = -4 * math.pi ** 2 * c ** 2 / r ** 2
    if alpha is None:
        A = np.stack([np.ones_like(c), -np.log(c), q], axis=1)
        coef = np.linalg.lstsq(A, lp, rcond=None)[0]
        s2 = coef[2]
    else:
        A = np.stack([np.ones_like(c), q], axis=1)
        coef = np.linalg.lstsq(A, lp + float(alpha) * np.log(c), rcond=None)[0]
        s2 = coef[1]
    return float(np.clip(math.sqrt(max(s2, 0.0)), 0.1, 2.0 * r))


@register
class Deconvolution(SuperResolver):
    r"""Super-resolution by regularised deconvolution with a known (or estimated) PSF.

    Per band, the high-resolution image solves the quadratic problem

    .. math::
        \hat{\mathbf x} = \arg\min_{\mathbf x}\ \|\mathcal D_r(\mathbf h * \mathbf x) - \mathbf y\|_2^2
        + \lambda \|\nabla \mathbf x\|_2^2 + \varepsilon\|\mathbf x - \mathbf x_{bic}\|_2^2,

    :math:`\nabla` the forward differences along rows and columns, :math:`\mathbf x_{bic}` the
    shift-free bicubic interpolation (:class:`~hysupp.fusion.superres.bicubic.Bicubic`) and a tiny
    :math:`\varepsilon` (relative, ``1e-6``) that makes the regulariser invertible at the zero frequency.
    With circular boundaries the solution is in closed form in the Fourier domain (the analytical
    solution of Zhao et al. 2016 for decimation + blur, :func:`l2_superres`), vectorised over bands.
    The phase ``r // 2`` of the decimation is handled by a circular shift; the image is first extended
    by ``pad`` low-resolution pixels with mirror borders (and cropped after) to limit the wrap-around.

    PSF: the ``psf`` argument (a :class:`hysupp.physics.blur.Blur`, e.g.
    :func:`hysupp.physics.mtf.mtf_blur` of a sensor, a kernel, or a Gaussian FWHM in high-resolution
    pixels, or a sensor name: its MTF-matched filters); ``None``: the default Gaussian of :mod:`hysupp.fusion.superres.common` (MTF gain 0.29 at
    Nyquist), or, with ``estimate_psf=True`` (or ``psf="estimate"``), a Gaussian whose width is
    estimated from the image's power spectrum (:func:`estimate_gaussian_psf`).

    References
    ----------
    N. Zhao, Q. Wei, A. Basarab, N. Dobigeon, D. Kouamé, J.-Y. Tourneret, "Fast single image
    super-resolution using a new analytical solution for l2-l2 problems", IEEE TIP 25(8),
    3683-3697, 2016, doi:10.1109/TIP.2016.2567075.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).random((2, 12, 12))
    >>> Deconvolution(lam=1e-2).super_resolve(y, ratio=2).fused.shape
    (2, 24, 24)
    """

    name: ClassVar[str] = "Deconvolution"
    params: ClassVar[tuple[Param, ...]] = (
        Param("lam", float, 1e-3, "weight lambda of the squared-gradient regulariser", low=1e-12),
        Param("eps", float, 1e-6, "weight of the (tiny) pull to the bicubic image, relative", low=1e-14, high=1.0),
        Param("pad", int, 8, "mirror extension (low-resolution pixels) against wrap-around; 0: circular image",
              low=0),
        Param("estimate_psf", bool, False, "estimate a Gaussian PSF from the image when psf is None"),
    )
    reference: ClassVar[str] = ("N. Zhao, Q. Wei, A. Basarab, N. Dobigeon, D. Kouame, J.-Y. Tourneret, \"Fast single "
                                "image super-resolution using a new analytical solution for l2-l2 problems\", IEEE "
                                "TIP 25(8), 2016, doi:10.1109/TIP.2016.2567075")

    def _super_resolve(self, cube: np.ndarray, *, ratio: int, psf: Any = None) -> FusionResult:
        from hysupp.fusion.superres.common import psf_kernel, resolve_psf, upsample_shift_free

        r = ratio
        y = cube.astype(np.float64, copy=False)
        info: dict[str, Any] = {}
        if isinstance(psf, str) and psf.strip().lower() == "estimate":
            psf, estimate = None, True
        else:
            estimate = bool(self.estimate_psf) and psf is None
        if estimate:
            sigma = estimate_gaussian_psf(y, r)
            info["psf_estimate"] = {"kind": "gaussian", "sigma": sigma, "estimator": "power-spectrum fit"}
            from hysupp.physics.blur import Blur

            blur = Blur.gaussian(sigma=sigma)
        else:
            blur = resolve_psf(psf, r)
        kern = psf_kernel(blur)
        if kern.shape[0] not in (1, y.shape[0]):
            raise InputError(f"the PSF has {kern.shape[0]} per-band kernels; the image has {y.shape[0]} bands")
        p = int(self.pad)
        yp = np.pad(y, ((0, 0), (p, p), (p, p)), mode="symmetric") if p else y
        x0 = upsample_shift_free(yp, r)
        ph = r // 2
        # LR sample k sits on HR pixel r k + ph: solve on the grid shifted by -ph (phase 0), shift back.
        x0s = np.roll(x0, (-ph, -ph), axis=(1, 2))
        scale = float(np.mean(np.abs(yp))) or 1.0
        xs = l2_superres(yp / scale, kern, r, float(self.lam), x0=x0s / scale, eps=float(self.eps)) * scale
        x = np.roll(xs, (ph, ph), axis=(1, 2))
        if p:
            x = x[:, p * r:x.shape[1] - p * r, p * r:x.shape[2] - p * r]
        info.update(psf=blur.to_dict(), lam=float(self.lam), boundary=f"mirror pad {p} + circular")
        return FusionResult(fused=np.ascontiguousarray(x), info=info)
