"""Physics: forward models and degradations (DESIGN §2).

Every linear degradation is a :class:`~hysupp.physics.operator.LinearOperator` with ``forward``
and ``adjoint`` on numpy arrays and torch tensors: spatial blur and MTF filters
(:mod:`~hysupp.physics.blur`, :mod:`~hysupp.physics.mtf`), decimation and interpolation
(:mod:`~hysupp.physics.sampling`). Noise models live in :mod:`hysupp.physics.noise`.
"""

from __future__ import annotations

from hysupp.physics.blur import (BORDER_MODES, Blur, fwhm_to_sigma, gaussian_kernel, gaussian_kernel_1d,
                                 kernel_sigma, sigma_to_fwhm)
from hysupp.physics.mtf import (SENSORS, SensorMTF, get_sensor, gnyq_of_kernel, list_sensors, mtf_blur,
                                mtf_kernel, mtf_sigma)
from hysupp.physics.noise import add_awgn, noise_sigma, snr_db
from hysupp.physics.operator import Composition, LinearOperator, adjoint_mismatch
from hysupp.physics.sampling import Decimation, Upsampling, bicubic, interp23tap, nearest, upsample

__all__ = ["BORDER_MODES", "Blur", "Composition", "Decimation", "LinearOperator", "SENSORS", "SensorMTF",
           "Upsampling", "add_awgn", "adjoint_mismatch", "bicubic", "fwhm_to_sigma", "gaussian_kernel",
           "gaussian_kernel_1d", "get_sensor", "gnyq_of_kernel", "interp23tap", "kernel_sigma", "list_sensors",
           "mtf_blur", "mtf_kernel", "mtf_sigma", "nearest", "noise_sigma", "sigma_to_fwhm", "snr_db",
           "upsample"]
