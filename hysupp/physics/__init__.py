"""Physics: forward models and degradations (DESIGN §2).

Every linear degradation is a :class:`~hysupp.physics.operator.LinearOperator` with ``forward``
and ``adjoint`` on numpy arrays and torch tensors: spatial blur and MTF filters
(:mod:`~hysupp.physics.blur`, :mod:`~hysupp.physics.mtf`), decimation and interpolation
(:mod:`~hysupp.physics.sampling`), linear mixing (:mod:`~hysupp.physics.mixing`) and spectral
response functions of sensors (:mod:`~hysupp.physics.spectral`). Noise models live in
:mod:`hysupp.physics.noise`. Every sensor is declared once, in the sensor table
:mod:`hysupp.physics.sensors` (``SENSOR_TABLE``, ``lookup_sensor``); ``get_mtf_sensor`` (Nyquist
gains) and ``get_spectral_sensor`` (band centres and widths) are its two views.
"""

from __future__ import annotations

from hysupp.physics.blur import (BORDER_MODES, Blur, fwhm_to_sigma, gaussian_kernel, gaussian_kernel_1d,
                                 kernel_sigma, sigma_to_fwhm)
from hysupp.physics.mixing import ChannelMatrix, LinearMixing
from hysupp.physics.mtf import SENSORS, SensorMTF
from hysupp.physics.mtf import get_sensor as get_mtf_sensor
from hysupp.physics.mtf import gnyq_of_kernel, list_sensors, mtf_blur, mtf_kernel, mtf_sigma
from hysupp.physics.noise import (NoiseModel, add_awgn, add_band_noise, add_coloured_noise, add_poisson_gaussian,
                                  band_noise_sigma, band_snr_db, coloured_noise_sigma, gaussian_noise_profile,
                                  noise_sigma, snr_db)
from hysupp.physics.operator import Composition, LinearOperator, adjoint_mismatch
from hysupp.physics.sampling import Decimation, Upsampling, bicubic, interp23tap, nearest, upsample
from hysupp.physics.sensors import SENSOR_TABLE, Sensor, lookup_sensor
from hysupp.physics.spectral import SENSORS_SPECTRAL, SpectralResponse, gaussian_srf, sensor_srf, srf_from_table
from hysupp.physics.spectral import get_sensor as get_spectral_sensor

__all__ = [
    "BORDER_MODES",
    "Blur",
    "ChannelMatrix",
    "Composition",
    "Decimation",
    "LinearMixing",
    "LinearOperator",
    "NoiseModel",
    "SENSORS",
    "SENSORS_SPECTRAL",
    "SENSOR_TABLE",
    "Sensor",
    "SensorMTF",
    "SpectralResponse",
    "Upsampling",
    "add_awgn",
    "add_band_noise",
    "add_coloured_noise",
    "add_poisson_gaussian",
    "adjoint_mismatch",
    "band_noise_sigma",
    "band_snr_db",
    "bicubic",
    "coloured_noise_sigma",
    "fwhm_to_sigma",
    "gaussian_kernel",
    "gaussian_kernel_1d",
    "gaussian_noise_profile",
    "gaussian_srf",
    "get_mtf_sensor",
    "get_spectral_sensor",
    "gnyq_of_kernel",
    "interp23tap",
    "kernel_sigma",
    "list_sensors",
    "lookup_sensor",
    "mtf_blur",
    "mtf_kernel",
    "mtf_sigma",
    "nearest",
    "noise_sigma",
    "sensor_srf",
    "sigma_to_fwhm",
    "snr_db",
    "srf_from_table",
    "upsample",
]
