r"""Additive white Gaussian noise at a prescribed SNR (HySUPP's definition).

The noise level is set from the *global* mean power of the clean data:

.. math::
    \sigma^2 = \frac{\operatorname{mean}(Y^2)}{10^{\mathrm{SNR}/10}},
    \qquad \tilde Y = Y + \sigma Z,\quad Z_{ij} \sim \mathcal N(0, 1)\ \text{i.i.d.}

where the mean runs over all entries of ``Y`` (all bands and pixels), so every band gets the same
``sigma``. This is what BehnoodRasti/HySUPP (cb7d633, ``src/data/noise.py``,
``AdditiveWhiteGaussianNoise``) does: per-band sigmas ``1/sqrt(L)`` times
``sqrt(sum(Y**2) / N / 10**(SNR/10))`` for ``Y`` of shape ``(L, N)``, which is the same ``sigma``.
HySUPP draws ``Z`` from NumPy's global legacy RNG (``np.random.randn(L, N)`` after
``np.random.seed(seed)``); here ``Z`` comes from ``numpy.random.default_rng(seed)`` unless a
``numpy.random.RandomState`` is passed as ``seed``, which reproduces HySUPP's draws exactly (see
:func:`add_awgn`).

Example
-------
>>> import numpy as np
>>> from hysupp.physics.noise import add_awgn, noise_sigma, snr_db
>>> Y = np.full((4, 1000), 2.0)                 # mean(Y^2) = 4
>>> noise_sigma(Y, 20.0)                        # sqrt(4 / 100)
0.2
>>> Y_noisy = add_awgn(Y, 20.0, seed=0)
>>> bool(abs(snr_db(Y, Y_noisy) - 20.0) < 0.2)
True
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np

from hysupp.errors import InputError, ParameterError

__all__ = ["add_awgn", "noise_sigma", "snr_db"]

SeedLike = Union[None, int, np.random.Generator, np.random.SeedSequence, np.random.RandomState]


def _real_array(x: object, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    return arr


def _check_snr(snr: object) -> float:
    try:
        value = float(snr)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"snr_db must be a number in dB, got {snr!r}") from exc
    if math.isnan(value) or value == -math.inf:
        raise ParameterError(f"snr_db must be a finite number of dB or +inf (no noise); got {snr!r}")
    return value


def _signal_power(Y: np.ndarray) -> float:
    """mean(Y^2) over the finite entries, accumulated in float64."""
    Yf = Y.astype(np.float64, copy=False)
    finite = np.isfinite(Yf)
    if finite.all():
        return float(np.mean(Yf * Yf))
    if not finite.any():
        raise InputError(f"Y has no finite entries (shape {Y.shape})")
    vals = Yf[finite]
    return float(np.mean(vals * vals))


def noise_sigma(Y: object, snr_db: float) -> float:
    r"""Standard deviation of the white Gaussian noise that gives ``Y`` the SNR ``snr_db``.

    .. math:: \sigma = \sqrt{\operatorname{mean}(Y^2) \,/\, 10^{\mathrm{SNR}/10}}

    The mean is over all (finite) entries of ``Y``, whatever its shape (HySUPP's definition).

    Parameters
    ----------
    Y : array_like
        Clean data, any shape (usually ``(L, N)`` or ``(L, H, W)``).
    snr_db : float
        Target SNR in dB; ``inf`` gives ``0.0``.

    Examples
    --------
    >>> import numpy as np
    >>> noise_sigma(np.array([[3.0, 4.0], [0.0, 0.0]]), 10.0)   # mean(Y^2) = 25/4, /10 -> 0.625
    0.7905694150420949
    """
    Ya = _real_array(Y, "Y")
    snr = _check_snr(snr_db)
    if snr == math.inf:
        return 0.0
    return math.sqrt(_signal_power(Ya) / 10.0 ** (snr / 10.0))


def add_awgn(Y: object, snr_db: float | None, *, seed: SeedLike = None) -> np.ndarray:
    r"""Add white Gaussian noise at ``snr_db`` dB (HySUPP's global-power definition).

    .. math::
        \tilde Y = Y + \sigma Z,\qquad
        \sigma^2 = \frac{\operatorname{mean}(Y^2)}{10^{\mathrm{SNR}/10}},\qquad
        Z \sim \mathcal N(0, I)

    Parameters
    ----------
    Y : array_like
        Clean data, any shape; ``(L, N)`` pixel matrices and ``(L, H, W)`` cubes give the same noise
        for the same seed (``Z`` is drawn with ``Y``'s shape, in C order).
    snr_db : float or None
        Target SNR in dB. ``None`` or ``inf`` adds no noise (HySUPP's ``SNR: null``) and returns a
        copy. Negative values are allowed (HySUPP only accepts positive ones).
    seed : None, int, SeedSequence, numpy.random.Generator or numpy.random.RandomState
        Source of ``Z``. ``None``/int/SeedSequence/Generator go through
        ``numpy.random.default_rng`` (a Generator is used, and advanced, as is). A legacy
        ``RandomState`` is used through its ``standard_normal``: with ``Y`` of shape ``(L, N)`` in
        float64, ``add_awgn(Y, snr, seed=np.random.RandomState(s))`` equals HySUPP's noisy image
        after ``np.random.seed(s)`` (when nothing else drew from the global RNG in between).

    Returns
    -------
    ndarray
        Same shape as ``Y``. Floating dtypes are preserved (the sum is formed in float64, then
        cast once); integer and boolean inputs give float64. Non-finite entries of ``Y`` (e.g.
        NaN nodata) are left out of the power and stay non-finite.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.ones((3, 5), dtype=np.float32)
    >>> Yn = add_awgn(Y, 30.0, seed=42)
    >>> Yn.dtype, Yn.shape
    (dtype('float32'), (3, 5))
    >>> bool(np.array_equal(Yn, add_awgn(Y, 30.0, seed=42)))     # deterministic for a seed
    True
    """
    Ya = _real_array(Y, "Y")
    out_dtype = Ya.dtype if np.issubdtype(Ya.dtype, np.floating) else np.dtype(np.float64)
    if snr_db is None:
        return Ya.astype(out_dtype, copy=True)
    snr = _check_snr(snr_db)
    if snr == math.inf:
        return Ya.astype(out_dtype, copy=True)
    sigma = noise_sigma(Ya, snr)
    if isinstance(seed, np.random.RandomState):
        z = seed.standard_normal(Ya.shape)
    elif seed is None or (isinstance(seed, (int, np.integer, np.random.Generator, np.random.SeedSequence))
                          and not isinstance(seed, bool)):
        z = np.random.default_rng(seed).standard_normal(Ya.shape)
    else:
        raise ParameterError(f"seed must be None, an int, a SeedSequence, a numpy Generator or a "
                             f"RandomState; got {type(seed).__name__}")
    return (Ya.astype(np.float64, copy=False) + sigma * z).astype(out_dtype, copy=False)


def snr_db(Y_clean: object, Y_noisy: object) -> float:
    r"""Measured SNR in dB of ``Y_noisy`` with respect to ``Y_clean`` (same definition as above).

    .. math::
        \mathrm{SNR} = 10 \log_{10} \frac{\operatorname{mean}(Y^2)}{\operatorname{mean}((\tilde Y - Y)^2)}

    Means over all entries where both arrays are finite. ``inf`` when the arrays are equal.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[1.0, -1.0], [1.0, -1.0]])
    >>> round(snr_db(Y, Y + 0.1), 9)      # 10 log10(1 / 0.01)
    20.0
    """
    Yc = _real_array(Y_clean, "Y_clean").astype(np.float64, copy=False)
    Yn = _real_array(Y_noisy, "Y_noisy").astype(np.float64, copy=False)
    if Yc.shape != Yn.shape:
        raise InputError(f"Y_clean and Y_noisy must have the same shape; got Y_clean {Yc.shape} "
                         f"and Y_noisy {Yn.shape}")
    ok = np.isfinite(Yc) & np.isfinite(Yn)
    if not ok.any():
        raise InputError(f"Y_clean and Y_noisy have no finite entries in common (shape {Yc.shape})")
    c, n = Yc[ok], Yn[ok]
    signal = float(np.mean(c * c))
    noise = float(np.mean((n - c) ** 2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)
