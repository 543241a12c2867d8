r"""Noise models: white Gaussian at an SNR (HySUPP's definition), band-dependent, spectrally
coloured and Poisson-Gaussian, plus a declarative :class:`NoiseModel` for protocols.

White Gaussian noise (:func:`add_awgn`)
---------------------------------------

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

Other models
------------
* :func:`add_band_noise` -- independent Gaussian noise with a per-band SNR (each band's SNR is
  relative to that band's own power) or per-band standard deviations.
* :func:`add_coloured_noise` -- Gaussian noise whose variance varies across bands following a
  profile (by default the bell-shaped profile of Bioucas-Dias & Nascimento's HySime experiments),
  scaled to a *global* SNR (the same definition as :func:`add_awgn`).
* :func:`add_poisson_gaussian` -- signal-dependent shot noise plus read noise,
  ``Var = gain * Y + sigma_read^2``.
* :class:`NoiseModel` -- ``kind`` + ``snr_db`` + ``params`` as a value: ``apply(Y, seed)``,
  ``to_dict()``/``from_dict()``.

Band axis: axis 0 of ``(L,)``, ``(L, N)`` and ``(L, H, W)`` arrays, axis 1 of a batch
``(B, L, H, W)``.

Determinism and torch
---------------------
All noise is drawn with NumPy (``numpy.random.default_rng(seed)`` unless a ``Generator`` or
legacy ``RandomState`` is given), in C order over the whole array, standard normals scaled per
band. Torch tensors are accepted everywhere: they are copied to host memory, noised with the same
NumPy draws and returned as a tensor of the input's dtype on the input's device. The noise for a
seed is therefore the same for numpy and torch inputs, on CPU and GPU (it does not depend on
torch's RNG). A ``torch.Generator`` may be passed as ``seed``: one 62-bit integer is drawn from it
and seeds NumPy, so the result is deterministic given the generator's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Union

import numpy as np

from hysupp.errors import InputError, ParameterError
from hysupp.physics.operator import is_torch

__all__ = [
    "NoiseModel",
    "add_awgn",
    "add_band_noise",
    "add_coloured_noise",
    "add_poisson_gaussian",
    "band_noise_sigma",
    "band_snr_db",
    "coloured_noise_sigma",
    "gaussian_noise_profile",
    "noise_sigma",
    "snr_db",
]

SeedLike = Union[None, int, np.random.Generator, np.random.SeedSequence, np.random.RandomState, Any]


def _torch_to_numpy(x: Any) -> np.ndarray:
    """Host copy of a tensor, in its own dtype where numpy has it (bfloat16 -> float32)."""
    import torch

    t = x.detach().to("cpu")
    if t.dtype == torch.bfloat16:
        t = t.to(torch.float32)
    return t.numpy()


def _restore(out: np.ndarray, like: Any) -> Any:
    """``out`` as a tensor with ``like``'s device and dtype when ``like`` is a tensor."""
    if not is_torch(like):
        return out
    import torch

    dtype = like.dtype if like.is_floating_point() else torch.float64
    return torch.from_numpy(np.ascontiguousarray(out)).to(device=like.device, dtype=dtype)


def _real_array(x: object, name: str) -> np.ndarray:
    if is_torch(x):
        x = _torch_to_numpy(x)
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


def _out_dtype(Y: np.ndarray) -> np.dtype:
    """Floating dtypes are kept; everything else becomes float64."""
    return Y.dtype if np.issubdtype(Y.dtype, np.floating) else np.dtype(np.float64)


def _rng(seed: Any) -> Any:
    """A numpy ``Generator`` (or the given legacy ``RandomState``) for ``seed``."""
    if isinstance(seed, np.random.RandomState):
        return seed
    kinds = (int, np.integer, np.random.Generator, np.random.SeedSequence)
    if seed is None or (isinstance(seed, kinds) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    if type(seed).__module__.startswith("torch") and type(seed).__name__ == "Generator":
        import torch

        drawn = torch.randint(0, 2 ** 62, (1,), generator=seed, device=seed.device)
        return np.random.default_rng(int(drawn.item()))
    raise ParameterError(f"seed must be None, an int, a SeedSequence, a numpy Generator, a "
                         f"RandomState or a torch.Generator; got {type(seed).__name__}")


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


def add_awgn(Y: object, snr_db: float | None, *, seed: SeedLike = None) -> Any:
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
    seed : None, int, SeedSequence, Generator, RandomState or torch.Generator
        Source of ``Z``. ``None``/int/SeedSequence/Generator go through
        ``numpy.random.default_rng`` (a Generator is used, and advanced, as is). A legacy
        ``RandomState`` is used through its ``standard_normal``: with ``Y`` of shape ``(L, N)`` in
        float64, ``add_awgn(Y, snr, seed=np.random.RandomState(s))`` equals HySUPP's noisy image
        after ``np.random.seed(s)`` (when nothing else drew from the global RNG in between). A
        ``torch.Generator`` seeds NumPy with one integer drawn from it (module docstring).

    Returns
    -------
    ndarray or torch.Tensor
        Same shape as ``Y``. Floating dtypes are preserved (the sum is formed in float64, then
        cast once); integer and boolean inputs give float64. Non-finite entries of ``Y`` (e.g.
        NaN nodata) are left out of the power and stay non-finite. A torch tensor gives a tensor on
        its device with the same noise as the equivalent numpy array.

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
    out_dtype = _out_dtype(Ya)
    if snr_db is None:
        return _restore(Ya.astype(out_dtype, copy=True), Y)
    snr = _check_snr(snr_db)
    if snr == math.inf:
        return _restore(Ya.astype(out_dtype, copy=True), Y)
    sigma = noise_sigma(Ya, snr)
    z = _rng(seed).standard_normal(Ya.shape)
    out = (Ya.astype(np.float64, copy=False) + sigma * z).astype(out_dtype, copy=False)
    return _restore(out, Y)


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


# ================================================================================ band-wise noise
def _band_axis(Y: np.ndarray) -> int:
    if Y.ndim > 4:
        raise InputError(f"Y must be (L,), (L, N), (L, H, W) or (B, L, H, W); got shape {Y.shape}")
    return 1 if Y.ndim == 4 else 0


def _per_band_power(Y: np.ndarray, axis: int) -> np.ndarray:
    """mean(Y^2) of each band over its finite entries (NaN for a band with none), in float64."""
    Yf = np.moveaxis(Y.astype(np.float64, copy=False), axis, 0).reshape(Y.shape[axis], -1)
    finite = np.isfinite(Yf)
    sq = np.where(finite, Yf, 0.0) ** 2
    count = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, sq.sum(axis=1) / np.maximum(count, 1), np.nan)


def _band_values(x: Any, n: int, name: str, *, allow_inf: bool) -> np.ndarray:
    """A scalar or a length-``n`` vector as float64 ``(n,)``."""
    if is_torch(x):
        x = _torch_to_numpy(x)
    try:
        arr = np.atleast_1d(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a number or one number per band, got {x!r}") from exc
    if arr.ndim != 1 or arr.size not in (1, n):
        raise ParameterError(f"{name} must be a scalar or have one value per band ({n}); got shape "
                             f"{arr.shape}")
    if np.isnan(arr).any() or (not allow_inf and np.isinf(arr).any()):
        raise ParameterError(f"{name} has invalid values: {arr[~np.isfinite(arr)][:5].tolist()}")
    return np.broadcast_to(arr, (n,)).copy()


def _add_scaled_normal(Ya: np.ndarray, sigma_band: np.ndarray, axis: int, seed: Any) -> np.ndarray:
    """``Y + sigma_b * Z`` with ``Z`` drawn over ``Y``'s shape in C order."""
    z = _rng(seed).standard_normal(Ya.shape)
    shape = [1] * Ya.ndim
    shape[axis] = -1
    out = Ya.astype(np.float64, copy=False) + sigma_band.reshape(shape) * z
    return out.astype(_out_dtype(Ya), copy=False)


def band_noise_sigma(Y: object, snr_db: Any) -> np.ndarray:
    r"""Per-band noise standard deviations that give each band its own SNR ``snr_db``.

    .. math:: \sigma_b = \sqrt{\operatorname{mean}_j(Y_{bj}^2) \,/\, 10^{\mathrm{SNR}_b/10}}

    The mean runs over the (finite) pixels of band ``b`` only, unlike :func:`noise_sigma`.

    Parameters
    ----------
    Y : array_like or torch.Tensor
        ``(L,)``, ``(L, N)``, ``(L, H, W)`` or ``(B, L, H, W)`` (band axis 0, or 1 for 4-D).
    snr_db : float or array_like, shape (L,)
        Per-band SNR in dB; ``inf`` gives ``0``.

    Returns
    -------
    ndarray, shape (L,), float64
        A band with zero power (or no finite entry) gets ``0``.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.vstack([np.full(4, 1.0), np.full(4, 10.0)])
    >>> band_noise_sigma(Y, 20.0)                     # sqrt(1/100), sqrt(100/100)
    array([0.1, 1. ])
    >>> band_noise_sigma(Y, [0.0, np.inf])
    array([1., 0.])
    """
    Ya = _real_array(Y, "Y")
    axis = _band_axis(Ya)
    snr = _band_values(snr_db, Ya.shape[axis], "snr_db", allow_inf=True)
    if (snr == -math.inf).any():
        raise ParameterError("snr_db must be finite dB values or +inf (no noise); got -inf")
    power = np.nan_to_num(_per_band_power(Ya, axis), nan=0.0)
    return np.sqrt(power / 10.0 ** (snr / 10.0))


def band_snr_db(Y_clean: object, Y_noisy: object) -> np.ndarray:
    r"""Measured SNR of each band in dB: ``10 log10(mean_j Y_bj^2 / mean_j (Ỹ_bj - Y_bj)^2)``.

    Means over the pixels where both arrays are finite; ``inf`` for a band without noise,
    ``-inf`` for a zero band with noise, ``nan`` for a band without finite pixels.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.vstack([np.full(4, 1.0), np.full(4, 2.0)])
    >>> band_snr_db(Y, Y + np.array([[0.1], [0.0]])).round(6)
    array([20., inf])
    """
    Yc = _real_array(Y_clean, "Y_clean").astype(np.float64, copy=False)
    Yn = _real_array(Y_noisy, "Y_noisy").astype(np.float64, copy=False)
    if Yc.shape != Yn.shape:
        raise InputError(f"Y_clean and Y_noisy must have the same shape; got Y_clean {Yc.shape} "
                         f"and Y_noisy {Yn.shape}")
    axis = _band_axis(Yc)
    c = np.moveaxis(Yc, axis, 0).reshape(Yc.shape[axis], -1)
    n = np.moveaxis(Yn, axis, 0).reshape(Yn.shape[axis], -1)
    ok = np.isfinite(c) & np.isfinite(n)
    count = ok.sum(axis=1)
    sig = np.where(ok, c, 0.0) ** 2
    err = np.where(ok, n - c, 0.0) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10.0 * np.log10(sig.sum(axis=1) / err.sum(axis=1))
    out[(err.sum(axis=1) == 0) & (count > 0)] = math.inf
    out[count == 0] = math.nan
    return out


def add_band_noise(Y: object, snr_db: Any = None, *, sigma: Any = None,
                   seed: SeedLike = None) -> Any:
    r"""Add independent Gaussian noise with a band-dependent level.

    .. math::
        \tilde Y_{bj} = Y_{bj} + \sigma_b Z_{bj},\qquad
        \sigma_b = \sqrt{\operatorname{mean}_j(Y_{bj}^2) / 10^{\mathrm{SNR}_b / 10}}
        \ \text{(from ``snr_db``) or given directly (``sigma``)}

    Parameters
    ----------
    Y : array_like or torch.Tensor
        ``(L,)``, ``(L, N)``, ``(L, H, W)`` or ``(B, L, H, W)``.
    snr_db : float or array_like, shape (L,), optional
        Per-band SNR in dB, each relative to *that band's* power (a scalar gives every band the
        same SNR, which is not :func:`add_awgn`'s global definition). ``inf`` entries leave a band
        clean.
    sigma : float or array_like, shape (L,), optional
        Per-band noise standard deviations (>= 0), instead of ``snr_db``.
    seed : see :func:`add_awgn`
        ``Z`` is ``rng.standard_normal(Y.shape)``, the same draws as :func:`add_awgn`, so
        ``add_band_noise(Y, sigma=noise_sigma(Y, snr), seed=s)`` equals
        ``add_awgn(Y, snr, seed=s)``.

    Returns
    -------
    ndarray or torch.Tensor
        Same shape; dtype rules as :func:`add_awgn`. Non-finite entries stay non-finite.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.random.default_rng(0).random((3, 20000)) + 1.0
    >>> Yn = add_band_noise(Y, [10.0, 20.0, 30.0], seed=1)
    >>> band_snr_db(Y, Yn).round(0)
    array([10., 20., 30.])
    >>> add_band_noise(Y, sigma=[0.0, 0.0, 0.5], seed=1)[0].tolist() == Y[0].tolist()
    True
    """
    if (snr_db is None) == (sigma is None):
        raise ParameterError("give exactly one of snr_db (per-band SNR in dB) and sigma "
                             "(per-band standard deviations)")
    Ya = _real_array(Y, "Y")
    axis = _band_axis(Ya)
    n_bands = Ya.shape[axis]
    if sigma is not None:
        s = _band_values(sigma, n_bands, "sigma", allow_inf=False)
        if (s < 0).any():
            raise ParameterError(f"sigma must be >= 0, got {s[s < 0][:5].tolist()}")
    else:
        s = band_noise_sigma(Ya, snr_db)
    return _restore(_add_scaled_normal(Ya, s, axis, seed), Y)


def gaussian_noise_profile(n_bands: int, eta: float) -> np.ndarray:
    r"""Bell-shaped noise-variance profile across bands, normalised to sum to 1.

    .. math::
        p_i = \frac{\exp\!\big(-(i - L/2)^2 / (2\eta^2)\big)}
                   {\sum_{j=1}^{L} \exp\!\big(-(j - L/2)^2 / (2\eta^2)\big)},\qquad i = 1, \dots, L

    This is the coloured-noise model of J. M. Bioucas-Dias and J. M. P. Nascimento, "Hyperspectral
    subspace identification", IEEE TGRS 46(8):2435-2445, 2008 (HySime experiments), where the noise
    variance of band ``i`` is ``σ_i^2 = σ^2 p_i``; ``η`` (in bands) sets the width of the bell:
    ``η -> inf`` gives white noise (``p_i = 1/L``), ``η -> 0`` noise in the central band only.

    Examples
    --------
    >>> p = gaussian_noise_profile(5, 1.0)
    >>> round(float(p.sum()), 12), int(p.argmax())            # peak at i = L/2 -> index 1 or 2
    (1.0, 1)
    >>> gaussian_noise_profile(4, float("inf"))
    array([0.25, 0.25, 0.25, 0.25])
    """
    if isinstance(n_bands, bool) or not isinstance(n_bands, (int, np.integer)) or n_bands < 1:
        raise ParameterError(f"n_bands must be a positive integer, got {n_bands!r}")
    try:
        eta = float(eta)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"eta must be a positive number of bands, got {eta!r}") from exc
    if not eta > 0:
        raise ParameterError(f"eta must be > 0 (in bands; inf for white noise), got {eta!r}")
    if eta == math.inf:
        return np.full(int(n_bands), 1.0 / n_bands)
    i = np.arange(1, int(n_bands) + 1, dtype=np.float64)
    logw = -((i - n_bands / 2.0) ** 2) / (2.0 * eta ** 2)
    w = np.exp(logw - logw.max())
    return w / w.sum()


def coloured_noise_sigma(Y: object, snr_db: float, eta: float | None = None, *,
                         profile: Any = None) -> np.ndarray:
    r"""Per-band standard deviations of coloured noise at a global SNR.

    .. math::
        \sigma_b^2 = p_b \,\frac{\sum_{c} \operatorname{mean}_j(Y_{cj}^2)}{10^{\mathrm{SNR}/10}},
        \qquad \sum_b p_b = 1

    i.e. ``SNR = 10 log10(E[||y||^2] / E[||n||^2])`` per pixel, HySime's definition, which is the
    same global definition as :func:`noise_sigma` (a flat profile gives exactly its ``sigma``).
    ``p`` is :func:`gaussian_noise_profile` ``(L, eta)``, or ``profile`` (any non-negative vector,
    rescaled to sum to 1).

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.full((4, 10), 2.0)
    >>> coloured_noise_sigma(Y, 20.0, float("inf"))            # = noise_sigma(Y, 20) = 0.2
    array([0.2, 0.2, 0.2, 0.2])
    >>> coloured_noise_sigma(Y, 20.0, profile=[1, 0, 0, 1]).round(6)
    array([0.282843, 0.      , 0.      , 0.282843])
    """
    Ya = _real_array(Y, "Y")
    axis = _band_axis(Ya)
    n_bands = Ya.shape[axis]
    snr = _check_snr(snr_db)
    if (eta is None) == (profile is None):
        raise ParameterError("give exactly one of eta (HySime bell width, in bands) and profile "
                             "(per-band variance weights)")
    if profile is not None:
        p = _band_values(profile, n_bands, "profile", allow_inf=False)
        if p.size != n_bands or (p < 0).any() or p.sum() <= 0:
            raise ParameterError(f"profile must hold {n_bands} non-negative weights, not all zero")
        p = p / p.sum()
    else:
        p = gaussian_noise_profile(n_bands, eta)  # type: ignore[arg-type]
    if snr == math.inf:
        return np.zeros(n_bands)
    total = float(np.nansum(_per_band_power(Ya, axis)))
    return np.sqrt(p * total / 10.0 ** (snr / 10.0))


def add_coloured_noise(Y: object, snr_db: float | None, eta: float | None = None, *,
                       profile: Any = None, seed: SeedLike = None) -> Any:
    r"""Add spectrally coloured Gaussian noise at a global SNR (HySime's model by default).

    ``Ỹ_bj = Y_bj + σ_b Z_bj`` with ``σ_b`` from :func:`coloured_noise_sigma`: the variance
    follows the bell :func:`gaussian_noise_profile` ``(L, eta)`` (or ``profile``) and the total
    noise power matches ``snr_db`` in the :func:`add_awgn` sense, so :func:`snr_db` of the result is
    ``snr_db`` (up to sampling). ``snr_db=None``/``inf`` returns a copy.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.random.default_rng(0).random((50, 4000))
    >>> Yn = add_coloured_noise(Y, 25.0, eta=8.0, seed=3)
    >>> round(snr_db(Y, Yn), 1)
    25.0
    >>> s = coloured_noise_sigma(Y, 25.0, eta=8.0)          # the sigmas used: peak at band L/2
    >>> int(s.argmax()), round(float(s[0] / s[24]), 3)      # exp(-24^2 / (4 * 8^2))
    (24, 0.105)
    """
    Ya = _real_array(Y, "Y")
    if snr_db is None or _check_snr(snr_db) == math.inf:
        if (eta is None) == (profile is None):
            raise ParameterError("give exactly one of eta and profile")
        return _restore(Ya.astype(_out_dtype(Ya), copy=True), Y)
    s = coloured_noise_sigma(Ya, snr_db, eta, profile=profile)
    return _restore(_add_scaled_normal(Ya, s, _band_axis(Ya), seed), Y)


# ======================================================================== Poisson-Gaussian noise
def add_poisson_gaussian(Y: object, gain: float | None = None, sigma_read: float = 0.0, *,
                         peak: float | None = None, seed: SeedLike = None) -> Any:
    r"""Add signal-dependent Poisson (shot) noise plus Gaussian read noise.

    .. math::
        \tilde Y = g\, \mathcal P(Y / g) + \sigma_r Z,\qquad
        \mathbb E[\tilde Y] = Y,\qquad \operatorname{Var}[\tilde Y] = g\, Y + \sigma_r^2

    ``Y / g`` is the expected photo-electron count, ``g`` the gain (signal units per electron)
    and ``σ_r`` the read-noise standard deviation in signal units.

    Parameters
    ----------
    Y : array_like or torch.Tensor
        Clean, non-negative signal (any shape); non-finite entries stay non-finite.
    gain : float, optional
        ``g > 0``. Exactly one of ``gain`` and ``peak``.
    sigma_read : float
        ``σ_r >= 0``.
    peak : float, optional
        Expected count at the brightest entry: ``g = max(Y) / peak`` (larger peak, less shot
        noise; SNR at the peak ~ ``sqrt(peak)`` without read noise).
    seed : see :func:`add_awgn`
        One generator draws ``poisson(Y / g)`` over the whole array (C order), then
        ``standard_normal(Y.shape)``.

    Returns
    -------
    ndarray or torch.Tensor
        Same shape; dtype rules as :func:`add_awgn`. Values can be negative (read noise).

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.full((2, 200_000), 4.0)
    >>> Yn = add_poisson_gaussian(Y, gain=0.5, sigma_read=1.0, seed=0)
    >>> round(float(Yn.mean()), 1), round(float(Yn.var()), 1)    # 4, 0.5 * 4 + 1 = 3
    (4.0, 3.0)
    """
    Ya = _real_array(Y, "Y")
    Yf = Ya.astype(np.float64, copy=False)
    finite = np.isfinite(Yf)
    if not finite.any():
        raise InputError(f"Y has no finite entries (shape {Ya.shape})")
    if (Yf[finite] < 0).any():
        raise InputError(f"Poisson noise needs a non-negative signal; Y has "
                         f"{int((Yf[finite] < 0).sum())} negative entries "
                         f"(min {Yf[finite].min():.4g})")
    if (gain is None) == (peak is None):
        raise ParameterError("give exactly one of gain (signal units per count) and peak "
                             "(expected count at max(Y))")
    if peak is not None:
        peak = _positive(peak, "peak")
        top = float(Yf[finite].max())
        g = top / peak if top > 0 else 1.0
    else:
        g = _positive(gain, "gain")
    try:
        sr = float(sigma_read)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"sigma_read must be a number >= 0, got {sigma_read!r}") from exc
    if not (sr >= 0 and math.isfinite(sr)):
        raise ParameterError(f"sigma_read must be a finite number >= 0, got {sigma_read!r}")
    lam = np.where(finite, Yf, 0.0) / g
    if lam.max() > 1e15:
        raise ParameterError(f"expected counts Y / gain reach {lam.max():.3g}; use a larger gain "
                             f"(or a smaller peak)")
    rng = _rng(seed)
    counts = rng.poisson(lam)
    z = rng.standard_normal(Ya.shape)
    out = g * counts + sr * z
    out = np.where(finite, out, Yf)
    return _restore(out.astype(_out_dtype(Ya), copy=False), Y)


def _positive(x: Any, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a positive number, got {x!r}") from exc
    if not (v > 0 and math.isfinite(v)):
        raise ParameterError(f"{name} must be a finite number > 0, got {x!r}")
    return v


# ================================================================================ declarative model
_KIND_ALIASES = {
    "none": "none", "clean": "none", "noiseless": "none",
    "awgn": "awgn", "white": "awgn", "gaussian": "awgn",
    "band": "band", "bandwise": "band", "banddependent": "band", "perband": "band",
    "coloured": "coloured", "colored": "coloured", "hysime": "coloured",
    "poissongaussian": "poisson_gaussian", "poisson": "poisson_gaussian",
}
_PARAMS = {
    "none": set(),
    "awgn": set(),
    "band": {"sigma"},
    "coloured": {"eta", "profile"},
    "poisson_gaussian": {"gain", "peak", "sigma_read"},
}


def _json_number(v: float) -> Any:
    """JSON has no inf/nan: they become the strings "inf", "-inf", "nan"."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _from_json_number(v: Any) -> Any:
    if isinstance(v, str) and v.lower() in {"inf", "+inf", "-inf", "nan", "infinity", "-infinity"}:
        return float(v)
    return v


def _freeze(v: Any) -> Any:
    """A number (float), a sequence of numbers (tuple of floats) or None; JSON "inf" accepted."""
    if v is None:
        return None
    if is_torch(v):
        v = _torch_to_numpy(v)
    try:
        if isinstance(v, (list, tuple, np.ndarray)):
            return tuple(float(_from_json_number(x)) for x in np.ravel(np.asarray(v, dtype=object)))
        if isinstance(v, bool):
            raise TypeError
        return float(_from_json_number(v))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"expected a number or a list of numbers, got {v!r}") from exc


@dataclass(frozen=True)
class NoiseModel:
    """A noise model as a value: what a protocol records and re-applies.

    Parameters
    ----------
    kind : str
        ``"none"``, ``"awgn"`` (:func:`add_awgn`, global SNR), ``"band"`` (:func:`add_band_noise`),
        ``"coloured"`` (:func:`add_coloured_noise`, global SNR with a band profile) or
        ``"poisson_gaussian"`` (:func:`add_poisson_gaussian`). Case-insensitive; aliases: white,
        gaussian -> awgn; colored, hysime -> coloured; poisson -> poisson_gaussian; clean -> none.
    snr_db : float, sequence of float or None
        ``awgn``/``coloured``: the global SNR (``None`` = no noise). ``band``: one SNR for all
        bands or one per band (or ``None`` with ``params={"sigma": ...}``). Unused (``None``) for
        ``poisson_gaussian`` and ``none``.
    params : mapping
        ``band``: ``sigma``; ``coloured``: ``eta`` or ``profile``; ``poisson_gaussian``: ``gain``
        or ``peak``, and ``sigma_read`` (default 0).

    Examples
    --------
    >>> import numpy as np
    >>> m = NoiseModel("coloured", 30.0, {"eta": 20.0})
    >>> m.to_dict()
    {'kind': 'coloured', 'snr_db': 30.0, 'params': {'eta': 20.0}}
    >>> NoiseModel.from_dict(m.to_dict()) == m
    True
    >>> Y = np.ones((8, 100))
    >>> bool(np.array_equal(m.apply(Y, seed=0), add_coloured_noise(Y, 30.0, eta=20.0, seed=0)))
    True
    >>> NoiseModel("poisson", params={"peak": 1000, "sigma_read": 0.01}).kind
    'poisson_gaussian'
    >>> str(NoiseModel("awgn", 40))
    'awgn 40 dB'
    """

    kind: str = "none"
    snr_db: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        raw = "".join(ch for ch in str(self.kind).lower() if ch.isalnum())
        if raw not in _KIND_ALIASES:
            raise ParameterError(f"unknown noise kind {self.kind!r}; known: "
                                 f"{sorted(set(_KIND_ALIASES.values()))} (aliases "
                                 f"{sorted(k for k in _KIND_ALIASES if k not in _PARAMS)})")
        kind = _KIND_ALIASES[raw]
        params = {str(k): _freeze(v) for k, v in dict(self.params or {}).items()}
        unknown = set(params) - _PARAMS[kind]
        if unknown:
            raise ParameterError(f"noise kind {kind!r} takes params "
                                 f"{sorted(_PARAMS[kind]) or 'none'}; "
                                 f"got unknown {sorted(unknown)}")
        snr = _freeze(self.snr_db)
        if isinstance(snr, tuple) and kind != "band":
            raise ParameterError(f"noise kind {kind!r} takes one snr_db value; per-band SNRs are "
                                 f"kind 'band'")
        if kind in ("none", "poisson_gaussian") and snr is not None:
            raise ParameterError(f"noise kind {kind!r} takes no snr_db (got {snr!r})")
        if kind == "band" and (snr is None) == ("sigma" not in params):
            raise ParameterError("noise kind 'band' needs exactly one of snr_db and "
                                 "params['sigma']")
        if kind == "coloured" and (("eta" in params) == ("profile" in params)):
            raise ParameterError("noise kind 'coloured' needs exactly one of params['eta'] and "
                                 "params['profile']")
        if kind == "poisson_gaussian" and (("gain" in params) == ("peak" in params)):
            raise ParameterError("noise kind 'poisson_gaussian' needs exactly one of "
                                 "params['gain'] and params['peak']")
        if isinstance(snr, float):
            _check_snr(snr)
        elif isinstance(snr, tuple):
            if not snr or any(math.isnan(v) or v == -math.inf for v in snr):
                raise ParameterError(f"snr_db values must be finite dB or +inf; got {snr!r}")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "snr_db", snr)
        object.__setattr__(self, "params", params)

    def apply(self, Y: Any, seed: SeedLike = None) -> Any:
        """Noisy copy of ``Y`` (numpy or torch; see the function for ``kind``)."""
        p = dict(self.params)
        if self.kind == "none":
            Ya = _real_array(Y, "Y")
            return _restore(Ya.astype(_out_dtype(Ya), copy=True), Y)
        if self.kind == "awgn":
            return add_awgn(Y, self.snr_db, seed=seed)
        if self.kind == "band":
            if self.snr_db is not None:
                return add_band_noise(Y, list(np.atleast_1d(self.snr_db)), seed=seed)
            return add_band_noise(Y, sigma=list(np.atleast_1d(p["sigma"])), seed=seed)
        if self.kind == "coloured":
            profile = p.get("profile")
            if profile is not None:
                profile = list(np.atleast_1d(profile))
            return add_coloured_noise(Y, self.snr_db, p.get("eta"), profile=profile, seed=seed)
        return add_poisson_gaussian(Y, p.get("gain"), p.get("sigma_read", 0.0), peak=p.get("peak"),
                                    seed=seed)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind", "snr_db", "params"}``, JSON-serialisable (inf as the string ``"inf"``)."""
        def conv(v: Any) -> Any:
            if isinstance(v, tuple):
                return [_json_number(x) for x in v]
            return _json_number(v)

        return {"kind": self.kind, "snr_db": conv(self.snr_db),
                "params": {k: conv(v) for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "NoiseModel":
        """Inverse of :meth:`to_dict`."""
        if "kind" not in d:
            raise ParameterError(f"a noise model needs a 'kind'; got keys {sorted(d)}")
        extra = set(d) - {"kind", "snr_db", "params"}
        if extra:
            raise ParameterError(f"unknown noise model keys {sorted(extra)}")
        return cls(d["kind"], d.get("snr_db"), d.get("params") or {})

    def __str__(self) -> str:
        if self.kind == "none":
            return "no noise"
        if self.kind == "awgn":
            return "no noise" if self.snr_db is None else f"awgn {self.snr_db:g} dB"
        if self.kind == "band":
            if self.snr_db is None:
                return "band noise (sigma per band)"
            s = self.snr_db
            return f"band noise {s:g} dB" if isinstance(s, float) else \
                f"band noise {min(s):g}-{max(s):g} dB"
        if self.kind == "coloured":
            shape = f"eta {self.params['eta']:g}" if "eta" in self.params else "custom profile"
            if self.snr_db is None:
                return "no noise"
            return f"coloured {self.snr_db:g} dB ({shape})"
        p = self.params
        level = f"gain {p['gain']:g}" if "gain" in p else f"peak {p['peak']:g}"
        return f"poisson-gaussian ({level}, sigma_read {p.get('sigma_read', 0.0):g})"
