r"""Observation model of single-image super-resolution, shared by every ``super-resolution`` method.

The observed image :math:`\mathbf y` ``(L, h, w)`` is the high-resolution scene :math:`\mathbf x`
``(L, r h, r w)`` blurred band by band by the spatial response (PSF) :math:`\mathbf h` and decimated
by the ratio :math:`r` at the phase ``r // 2`` (:class:`hysupp.physics.sampling.Decimation`
``"center"``, the grid of the pansharpening toolbox and of :func:`hysupp.physics.sampling.interp23tap`):

.. math::
    \mathbf y = \mathcal D_r(\mathbf h * \mathbf x).

The PSF (:func:`resolve_psf`) is a :class:`hysupp.physics.blur.Blur`, a 2-D kernel, a number (the
FWHM of a Gaussian in high-resolution pixels), a sensor name of the MTF table (``"WV2"``, ``"QB"``...:
its per-band MTF-matched filters at the ratio, :func:`hysupp.physics.mtf.mtf_blur`) or ``None``: the default Gaussian whose frequency
response at the low-resolution Nyquist frequency :math:`1/(2r)` is 0.29 (the generic MS gain of the
pansharpening toolbox, :func:`hysupp.physics.mtf.mtf_sigma`), i.e. the sensor MTF of Wald's protocol.

:func:`degrade` applies the model (reduced-resolution protocol, training pairs of the scene-trained
networks); :func:`sr_training_data` builds such a pair from the observed image itself.

>>> import numpy as np
>>> x = np.random.default_rng(0).random((2, 16, 16))
>>> degrade(x, 2).shape, resolve_psf(None, 2).to_dict()["kind"]
((2, 8, 8), 'gaussian')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hysupp.errors import InputError, ParameterError

__all__ = ["DEFAULT_GNYQ", "degrade", "psf_kernel", "resolve_psf", "sr_training_data"]

#: Gain of the default Gaussian PSF at the low-resolution Nyquist frequency (toolbox generic MS gain).
DEFAULT_GNYQ = 0.29


def resolve_psf(psf: Any, ratio: int, mode: str = "replicate") -> Any:
    """A :class:`~hysupp.physics.blur.Blur` from ``psf`` (module docstring); ``mode`` for the
    Gaussian/kernel cases."""
    from hysupp.physics.blur import Blur
    from hysupp.physics.mtf import mtf_sigma

    if psf is None:
        return Blur.gaussian(sigma=mtf_sigma(DEFAULT_GNYQ, int(ratio)), mode=mode)
    if isinstance(psf, Blur):
        return psf
    if isinstance(psf, str):
        from hysupp.physics.mtf import mtf_blur

        return mtf_blur(psf, int(ratio), mode=mode)
    if isinstance(psf, (int, float, np.integer, np.floating)) and not isinstance(psf, bool):
        if not (math.isfinite(float(psf)) and float(psf) > 0):
            raise ParameterError(f"psf as a number is a Gaussian FWHM in pixels and must be > 0, got {psf!r}")
        return Blur.gaussian(fwhm=float(psf), mode=mode)
    k = np.asarray(psf, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0 or not np.isfinite(k).all():
        raise ParameterError(f"psf must be a Blur, a Gaussian FWHM (number), a sensor name, None or an odd-sized finite 2-D "
                             f"kernel; got {type(psf).__name__} of shape {getattr(k, 'shape', None)}")
    return Blur(k, mode=mode)


def psf_kernel(blur: Any) -> np.ndarray:
    """The ``(n_kernels, kh, kw)`` kernels of a Blur (one shared kernel or one per band)."""
    return np.asarray(blur.kernels, dtype=np.float64)


def degrade(x: np.ndarray, ratio: int, psf: Any = None) -> np.ndarray:
    r"""The observation :math:`\mathcal D_r(\mathbf h * \mathbf x)` of a cube ``(L, H, W)``
    (``H``, ``W`` multiples of ``ratio`` are kept whole; trailing rows/columns are dropped)."""
    from hysupp.physics.sampling import Decimation

    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise InputError(f"degrade expects a cube (L, H, W), got shape {x.shape}")
    return Decimation(int(ratio), "center")(resolve_psf(psf, ratio)(x))


def sr_training_data(cube: np.ndarray, ratio: int, psf: Any = None, *, scale: float | None = None,
                     interpolation: str = "bicubic") -> Any:
    r"""Reduced-resolution training pair of a scene-trained network, from the observed image alone.

    The observed ``cube`` :math:`\mathbf y` is degraded through the same model,
    :math:`\mathbf y^{\downarrow} = \mathcal D_r(\mathbf h * \mathbf y)`, and the network learns
    :math:`\mathbf y^{\downarrow} \mapsto \mathbf y` (scale invariance, as in Wald's protocol), then
    is applied to :math:`\mathbf y`. Returns a :class:`hysupp.nn.fusion_training.TrainingData` with
    ``ms`` = :math:`\mathbf y^{\downarrow}` ``(L, h / r, w / r)``, ``lms`` its shift-free bicubic
    interpolation ``(L, h', w')``, ``gt`` = :math:`\mathbf y` cropped to ``(L, h', w')`` with
    ``h' = r (h // r)``, and an empty ``pan`` ``(0, h', w')``; all divided by ``scale`` (default
    the largest value of the image).
    """
    from hysupp.nn.fusion_training import TrainingData, json_plain, normalisation_scale

    r = int(ratio)
    y = np.asarray(cube, dtype=np.float64)
    hh, ww = (y.shape[1] // r) * r, (y.shape[2] // r) * r
    if hh < 2 * r or ww < 2 * r:
        raise InputError(f"image of {y.shape[1]} x {y.shape[2]} pixels is too small to make training pairs at "
                         f"ratio {r} (needs at least {2 * r} x {2 * r})")
    y = y[:, :hh, :ww]
    s = normalisation_scale(y, y) if scale is None else float(scale)
    blur = resolve_psf(psf, r)
    low = degrade(y, r, blur) / s
    lms = upsample_shift_free(low, r, interpolation)
    protocol = {"name": "sr-reduced-resolution", "ratio": r, "psf": blur.to_dict(), "phase": r // 2,
                "interpolation": interpolation, "training_shapes": {"low": list(low.shape), "target": list(y.shape)}}
    return TrainingData(ms=low, lms=lms, pan=np.zeros((0, hh, ww)), gt=y / s, ratio=r, scale=s,
                        protocol=json_plain(protocol))


def upsample_shift_free(x: np.ndarray, ratio: int, method: str = "bicubic") -> np.ndarray:
    """Interpolate ``(L, h, w)`` by ``ratio`` with the low-resolution samples on the decimation
    phase ``ratio // 2`` (so ``Decimation(ratio, "center")`` of the result returns ``x``)."""
    from hysupp.physics.sampling import Upsampling

    return np.asarray(Upsampling(int(ratio), method, phase=int(ratio) // 2, mode="symmetric")(x), dtype=np.float64)
