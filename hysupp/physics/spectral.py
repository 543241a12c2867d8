r"""Spectral response functions (SRFs) and the spectral degradation operator (DESIGN §2).

A multispectral (MS) or panchromatic (PAN) band sees a weighted average of the hyperspectral (HS)
bands. With the HS cube ``X`` of shape ``(L, H, W)`` and an SRF matrix ``R`` of shape ``(M, L)``,

.. math::
    \mathbf Z = \mathbf R \mathbf X, \qquad
    R_{ml} \ge 0,\quad \sum_{l=1}^{L} R_{ml} = 1 ,

so each MS band is a convex combination of HS bands (rows of unit area on the HS grid, the
convention of HySure and the HS-MS fusion literature). :class:`SpectralResponse` is that matrix as
an operator (``forward``: ``R X``, ``adjoint``: ``R^T Z``, numpy and torch); the functions below
build ``R``:

* :func:`gaussian_srf` -- Gaussian responses from band centres and FWHM;
* :func:`srf_from_table` -- a tabulated (measured) response curve resampled onto any HS grid;
* :func:`sensor_srf` -- Gaussian approximations of common MS/PAN sensors from their published band
  centres and widths (:data:`SENSORS_SPECTRAL`, the spectral view of the sensor table
  :mod:`hysupp.physics.sensors`).

Wavelengths are in nanometres everywhere. "Target wavelengths" are the centres of the HS bands the
SRF is expressed on (the *input* bands of the operator, its ``source_wavelengths``).

Sampling, and the band-integrated variant
-----------------------------------------
Without the HS band widths, a response curve ``s_m(λ)`` is *point-sampled* at the HS centres
``λ_l`` and each row is normalised, ``R_{ml} = s_m(λ_l) / Σ_k s_m(λ_k)``. This assumes a roughly
uniform HS grid whose bands are narrow compared with the MS band.

When the HS FWHM is known (``target_fwhm=`` / ``fwhm=``), each HS band ``l`` is modelled by a
Gaussian response ``g_l(λ) = exp(-(λ-λ_l)^2 / (2σ_l^2))`` (peak 1, ``σ_l = FWHM_l / (2√(2 ln 2))``)
and the weight is the overlap integral

.. math::
    R_{ml} \propto \int s_m(\lambda)\, g_l(\lambda)\, d\lambda .

Rationale: if the HS responses tile the spectrum (``Σ_l g_l ≈ 1``) then
``∫ρ s_m ≈ Σ_l (∫ s_m g_l) ȳ_l`` with ``ȳ_l`` the HS measurement, so these are the weights that
reproduce the MS band from the HS bands. Unlike point sampling, this does not miss an MS band
narrower than the HS spacing, and it weights bands by their width on non-uniform grids. For a
Gaussian ``s_m`` (σ_m) the integral is closed-form,
``R_{ml} ∝ σ_l (σ_m^2+σ_l^2)^{-1/2} exp(-(λ_l-c_m)^2 / (2(σ_m^2+σ_l^2)))``; for a tabulated,
piecewise-linear ``s_m`` it is evaluated exactly segment by segment with the normal CDF.

Coverage check
--------------
A row normalised to unit area on a grid that misses most of the band would silently describe a
different band. Each band's *coverage* is the fraction of its response area lying within the
wavelength intervals sampled by the grid (each HS band owns the interval up to half-way to its
neighbours; a gap wider than 3x the median spacing -- e.g. removed water-absorption bands -- is
not sampled beyond half a median spacing). A band with coverage below ``min_coverage`` (default
0.9) raises :class:`~hysupp.errors.InputError` naming the band.

Example
-------
>>> import numpy as np
>>> from hysupp.physics.spectral import gaussian_srf, sensor_srf
>>> wl = np.arange(400.0, 1001.0, 10.0)                  # a 61-band HS grid (nm)
>>> R = gaussian_srf([500.0, 700.0], [40.0, 60.0], wl)
>>> R.shape, np.allclose(R.sum(axis=1), 1.0), int(wl[R[0].argmax()])
((2, 61), True, 500)
>>> op = sensor_srf("ikonos", wl)                          # IKONOS B, G, R, NIR
>>> op.band_names, op.forward(np.ones((61, 4, 4))).shape
(['B', 'G', 'R', 'NIR'], (4, 4, 4))
>>> sensor_srf("ikonos", wl, pan=True).band_names
['PAN']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
from scipy.special import ndtr

from hysupp.errors import InputError, ParameterError
from hysupp.physics.mixing import ChannelMatrix
from hysupp.physics.sensors import SENSOR_TABLE, Sensor, SpectralBand, find_sensor

__all__ = [
    "SENSORS_SPECTRAL",
    "SRFSpec",
    "SensorSpectral",
    "SpectralBand",
    "SpectralResponse",
    "fwhm_to_sigma",
    "gaussian_srf",
    "get_sensor",
    "read_srf_text",
    "sensor_srf",
    "srf_from_table",
    "srf_spec_from_variables",
]

#: ``σ = FWHM / (2 √(2 ln 2)) ≈ FWHM / 2.3548`` for a Gaussian.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

#: Gaps in a wavelength grid wider than this many median spacings are treated as unsampled.
_GAP_FACTOR = 3.0


def fwhm_to_sigma(fwhm: Any) -> Any:
    """Standard deviation of a Gaussian with the given full width at half maximum.

    >>> round(fwhm_to_sigma(2.3548200450309493), 12)
    1.0
    """
    if np.ndim(fwhm) == 0:
        return float(fwhm) / FWHM_PER_SIGMA
    return np.asarray(fwhm, dtype=np.float64) / FWHM_PER_SIGMA


# ---------------------------------------------------------------------------- validation helpers
def _vector(x: Any, name: str, *, positive: bool = False) -> np.ndarray:
    arr = np.asarray(x)
    if np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{name} must be real numbers, got dtype {arr.dtype}")
    arr = np.atleast_1d(arr.astype(np.float64))
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise InputError(f"{name} has non-finite values: {arr[~np.isfinite(arr)][:5].tolist()}")
    if positive and (arr <= 0).any():
        raise InputError(f"{name} must be > 0, got {arr[arr <= 0][:5].tolist()}")
    return arr


def _per_band(x: Any, n: int, name: str, what: str) -> np.ndarray:
    """A scalar or a length-``n`` vector of positive values, broadcast to ``(n,)``."""
    arr = _vector(x, name, positive=True)
    if arr.size == 1:
        return np.full(n, float(arr[0]))
    if arr.size != n:
        raise InputError(f"{name} must be a scalar or have one value per {what} ({n}), "
                         f"got {arr.size} values")
    return arr


def _grid(target_wavelengths: Any) -> np.ndarray:
    wl = _vector(target_wavelengths, "target_wavelengths")
    if np.unique(wl).size < 2:
        raise InputError(f"target_wavelengths needs at least 2 distinct wavelengths, "
                         f"got {wl.tolist()}")
    return wl


def _names(band_names: Sequence[str] | None, m: int, default_prefix: str = "band ") -> list[str]:
    if band_names is None:
        return [f"{default_prefix}{i}" for i in range(m)]
    names = [str(b) for b in band_names]
    if len(names) != m:
        raise InputError(f"band_names has {len(names)} names for {m} bands: {names}")
    return names


def _check_min_coverage(min_coverage: Any) -> float:
    try:
        v = float(min_coverage)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"min_coverage must be a number in [0, 1], "
                             f"got {min_coverage!r}") from exc
    if not 0.0 <= v <= 1.0:
        raise ParameterError(f"min_coverage must be in [0, 1], got {min_coverage!r}")
    return v


# ---------------------------------------------------------------------------- grid coverage
def _sampled_intervals(wl: np.ndarray) -> list[tuple[float, float]]:
    """Wavelength intervals "seen" by a grid (merged; see the module docstring)."""
    s = np.unique(wl)
    d = np.diff(s)
    h = float(np.median(d))
    gap = d > _GAP_FACTOR * h
    half = np.where(gap, h / 2.0, d / 2.0)
    left = np.concatenate([[half[0]], half])
    right = np.concatenate([half, [half[-1]]])
    out: list[tuple[float, float]] = []
    for a, b in zip(s - left, s + right):
        if out and a <= out[-1][1] + 1e-9 * max(1.0, abs(a)):
            out[-1] = (out[-1][0], max(out[-1][1], float(b)))
        else:
            out.append((float(a), float(b)))
    return out


def _ndtr_diff(u0: np.ndarray, u1: np.ndarray) -> np.ndarray:
    """``Φ(u1) - Φ(u0)`` without cancellation in the upper tail."""
    return np.where(u0 > 0, ndtr(-u0) - ndtr(-u1), ndtr(u1) - ndtr(u0))


def _gaussian_coverage(centres: np.ndarray, sigmas: np.ndarray,
                       intervals: list[tuple[float, float]]) -> np.ndarray:
    cov = np.zeros_like(centres)
    for a, b in intervals:
        cov += _ndtr_diff((a - centres) / sigmas, (b - centres) / sigmas)
    return np.clip(cov, 0.0, 1.0)


def _piecewise_linear_integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Exact ``∫_lo^hi`` of the piecewise-linear interpolant of the columns of ``y (K, M)``."""
    lo, hi = max(lo, x[0]), min(hi, x[-1])
    if hi <= lo:
        return np.zeros(y.shape[1])
    inner = (x > lo) & (x < hi)
    xs = np.concatenate([[lo], x[inner], [hi]])
    ys = np.stack([np.interp(xs, x, y[:, j]) for j in range(y.shape[1])], axis=1)
    return (0.5 * (ys[1:] + ys[:-1]) * np.diff(xs)[:, None]).sum(axis=0)


def _table_coverage(x: np.ndarray, y: np.ndarray,
                    intervals: list[tuple[float, float]]) -> np.ndarray:
    total = _piecewise_linear_integral(x, y, x[0], x[-1])
    inside = sum((_piecewise_linear_integral(x, y, a, b) for a, b in intervals),
                 np.zeros(y.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(total > 0, inside / total, 0.0), 0.0, 1.0)


def _coverage_error(bad: list[str], wl: np.ndarray, min_coverage: float, hint: str) -> InputError:
    lo, hi = float(wl.min()), float(wl.max())
    units = ""
    if hi < 100.0:
        units = (" The target grid looks like micrometres; SRFs here are in nanometres "
                 "(multiply the wavelengths by 1000).")
    return InputError(
        f"the target wavelength grid ({lo:.1f}-{hi:.1f} nm, {wl.size} bands) does not cover "
        f"{'band' if len(bad) == 1 else 'bands'} {'; '.join(bad)}: less than "
        f"{min_coverage:.0%} of the response lies where the grid has bands (min_coverage). "
        f"{hint}{units}")


def _normalise_rows(R: np.ndarray, names: list[str], wl: np.ndarray) -> np.ndarray:
    sums = R.sum(axis=1)
    tiny = sums <= 1e-300
    if tiny.any():
        bad = [names[i] for i in np.nonzero(tiny)[0]]
        raise InputError(f"the response of band(s) {bad} is zero on the target grid "
                         f"({wl.min():.1f}-{wl.max():.1f} nm): cannot normalise to unit area")
    return R / sums[:, None]


# ---------------------------------------------------------------------------- SRF construction
def gaussian_srf(centres: Any, fwhm: Any, target_wavelengths: Any, *, target_fwhm: Any = None,
                 band_names: Sequence[str] | None = None, min_coverage: float = 0.9) -> np.ndarray:
    r"""Gaussian spectral responses sampled on an HS grid, rows normalised to unit area.

    .. math::
        R_{ml} = \frac{w_{ml}}{\sum_k w_{mk}},\qquad
        w_{ml} = \exp\!\Big(-\frac{(\lambda_l - c_m)^2}{2\sigma_m^2}\Big),\qquad
        \sigma_m = \frac{\mathrm{FWHM}_m}{2\sqrt{2\ln 2}}

    With ``target_fwhm`` (the HS band widths) the overlap integral with Gaussian HS responses is
    used instead (module docstring):
    ``w_ml = σ_l (σ_m² + σ_l²)^{-1/2} exp(-(λ_l - c_m)² / (2(σ_m² + σ_l²)))``.

    Parameters
    ----------
    centres, fwhm : array_like, shape (M,)
        Band centres and full widths at half maximum in nm (``fwhm`` may be a scalar).
    target_wavelengths : array_like, shape (L,)
        Centres of the HS bands (nm), any order (duplicates allowed, e.g. AVIRIS' overlapping
        spectrometers).
    target_fwhm : float or array_like, shape (L,), optional
        HS band FWHM (nm) for the band-integrated weights.
    band_names : sequence of str, optional
        Names for error messages.
    min_coverage : float
        Minimum fraction of each Gaussian's area within the grid's sampled intervals (0 disables
        the check; a row that is entirely zero still raises).

    Returns
    -------
    ndarray, shape (M, L), float64
        Non-negative rows summing to 1.

    Raises
    ------
    InputError
        Bad shapes or values, or a band not covered by the grid (the message names it).

    Examples
    --------
    >>> import numpy as np
    >>> wl = np.linspace(400.0, 500.0, 101)                   # 1 nm grid
    >>> R = gaussian_srf(450.0, 20.0, wl)
    >>> float(wl[R[0].argmax()]), round(float(R.sum()), 12)
    (450.0, 1.0)
    >>> half = wl[R[0] >= R[0].max() / 2]                       # samples above half maximum
    >>> float(half[-1] - half[0])                               # 20 nm FWHM, sampled at 1 nm
    20.0
    """
    wl = _grid(target_wavelengths)
    c = _vector(centres, "centres")
    f = _per_band(fwhm, c.size, "fwhm", "band")
    names = _names(band_names, c.size)
    mincov = _check_min_coverage(min_coverage)
    sig_m = f / FWHM_PER_SIGMA
    if mincov > 0:
        cov = _gaussian_coverage(c, sig_m, _sampled_intervals(wl))
        bad = [f"{names[i]!r} ({c[i]:.1f} nm, FWHM {f[i]:.1f} nm; {cov[i]:.0%} covered)"
               for i in np.nonzero(cov < mincov)[0]]
        if bad:
            raise _coverage_error(bad, wl, mincov, "Drop the band or lower min_coverage.")
    diff = wl[None, :] - c[:, None]
    if target_fwhm is None:
        W = np.exp(-0.5 * (diff / sig_m[:, None]) ** 2)
    else:
        sig_l = _per_band(target_fwhm, wl.size, "target_fwhm", "target wavelength") / FWHM_PER_SIGMA
        var = sig_m[:, None] ** 2 + sig_l[None, :] ** 2
        W = sig_l[None, :] / np.sqrt(var) * np.exp(-0.5 * diff ** 2 / var)
    return _normalise_rows(W, names, wl)


def srf_from_table(table_wavelengths: Any, responses: Any, target_wavelengths: Any,
                   fwhm: Any = None, *, band_names: Sequence[str] | None = None,
                   min_coverage: float = 0.9) -> np.ndarray:
    r"""Resample tabulated response curves onto an HS grid; rows normalised to unit area.

    The table is read as piecewise-linear curves ``s_m(λ)`` (zero outside the tabulated range;
    negative entries, i.e. measurement noise, are set to zero). Then

    * ``fwhm=None``: point sampling, ``R_ml ∝ s_m(λ_l)`` (linear interpolation);
    * ``fwhm`` given (HS band FWHM, scalar or ``(L,)``): band integration,
      ``R_ml ∝ ∫ s_m(λ) exp(-(λ-λ_l)²/(2σ_l²)) dλ``, computed exactly for the piecewise-linear
      curve (each segment's integral against the Gaussian in closed form with the normal CDF).

    Each row is divided by its sum, so the MS band is a weighted average of HS bands.

    Parameters
    ----------
    table_wavelengths : array_like, shape (K,)
        Wavelengths of the table (nm), distinct (sorted here if they are not).
    responses : array_like, shape (K, M) or (K,)
        One response curve per column (any scale: peak 1, percent, ...).
    target_wavelengths : array_like, shape (L,)
        HS band centres (nm).
    fwhm : float or array_like, shape (L,), optional
        HS band FWHM (nm) for the band-integrated weights.
    band_names : sequence of str, optional
        Names of the ``M`` table columns, for error messages.
    min_coverage : float
        Minimum fraction of each curve's area that must lie within the grid's sampled intervals.

    Returns
    -------
    ndarray, shape (M, L), float64

    Examples
    --------
    >>> import numpy as np
    >>> tw = np.array([500.0, 510.0, 520.0, 530.0])             # a triangular band at 515 nm
    >>> resp = np.array([0.0, 1.0, 1.0, 0.0])
    >>> R = srf_from_table(tw, resp, np.arange(500.0, 531.0, 5.0))
    >>> R.round(3)
    array([[0.   , 0.125, 0.25 , 0.25 , 0.25 , 0.125, 0.   ]])
    >>> float(R.sum())
    1.0
    """
    tw = _vector(table_wavelengths, "table_wavelengths")
    resp = np.asarray(responses)
    if np.iscomplexobj(resp) or not np.issubdtype(resp.dtype, np.number):
        raise InputError(f"responses must be real numbers, got dtype {resp.dtype}")
    resp = resp.astype(np.float64)
    if resp.ndim == 1:
        resp = resp[:, None]
    if resp.ndim != 2 or resp.shape[0] != tw.size:
        raise InputError(f"responses must have shape (K, M) with K = len(table_wavelengths) = "
                         f"{tw.size}; got {np.shape(responses)}")
    if not np.isfinite(resp).all():
        raise InputError("responses has non-finite values")
    order = np.argsort(tw, kind="stable")
    tw, resp = tw[order], resp[order]
    if (np.diff(tw) <= 0).any():
        dup = tw[1:][np.diff(tw) <= 0]
        raise InputError(f"table_wavelengths has repeated values: {dup[:5].tolist()}")
    resp = np.clip(resp, 0.0, None)
    m = resp.shape[1]
    names = _names(band_names, m)
    peak = resp.max(axis=0)
    if (peak <= 0).any():
        raise InputError(f"response column(s) {[names[i] for i in np.nonzero(peak <= 0)[0]]} "
                         f"are zero everywhere")
    wl = _grid(target_wavelengths)
    mincov = _check_min_coverage(min_coverage)
    if mincov > 0:
        cov = _table_coverage(tw, resp, _sampled_intervals(wl))
        bad = []
        for i in np.nonzero(cov < mincov)[0]:
            above = tw[resp[:, i] >= peak[i] / 2]
            bad.append(f"{names[i]!r} (half maximum {above[0]:.1f}-{above[-1]:.1f} nm; "
                       f"{cov[i]:.0%} covered)")
        if bad:
            raise _coverage_error(bad, wl, mincov, "Drop the band or lower min_coverage.")
    if fwhm is None:
        W = np.stack([np.interp(wl, tw, resp[:, j], left=0.0, right=0.0) for j in range(m)])
    else:
        sig = _per_band(fwhm, wl.size, "fwhm", "target wavelength") / FWHM_PER_SIGMA
        x0, x1 = tw[:-1], tw[1:]
        slope = (resp[1:] - resp[:-1]) / (x1 - x0)[:, None]             # (K-1, M)
        intercept = resp[:-1] - slope * x0[:, None]                       # s = intercept + slope λ
        u0 = (x0[:, None] - wl[None, :]) / sig[None, :]                   # (K-1, L)
        u1 = (x1[:, None] - wl[None, :]) / sig[None, :]
        i0 = math.sqrt(2.0 * math.pi) * sig[None, :] * _ndtr_diff(u0, u1)  # ∫ g
        i1 = sig[None, :] ** 2 * (np.exp(-0.5 * u0 ** 2) - np.exp(-0.5 * u1 ** 2))  # ∫ (λ-λ_l) g
        # ∫ (a + b λ) g = (a + b λ_l) ∫ g + b ∫ (λ - λ_l) g
        W = intercept.T @ i0 + slope.T @ (i0 * wl[None, :] + i1)
        W = np.clip(W, 0.0, None)
    return _normalise_rows(W, names, wl)


# ---------------------------------------------------------------------------- built-in sensors
@dataclass(frozen=True)
class SensorSpectral:
    """A sensor's bands (in product order) and where the numbers come from: the spectral view of a
    :class:`~hysupp.physics.sensors.Sensor` (the table where sensors are declared)."""

    key: str
    name: str
    bands: tuple[SpectralBand, ...]
    source: str
    aliases: tuple[str, ...] = ()

    @classmethod
    def from_sensor(cls, s: Sensor) -> "SensorSpectral":
        """The view of a sensor-table entry that has bands (``s.has_srf``)."""
        return cls(s.spectral_key, s.name, tuple(s.bands), s.srf_source, tuple(s.aliases))

    def group(self, group: str) -> tuple[SpectralBand, ...]:
        return tuple(b for b in self.bands if b.group == group)

    @property
    def band_names(self) -> list[str]:
        return [b.name for b in self.bands]


#: Sensors with spectral bands by key (a view of :data:`hysupp.physics.sensors.SENSOR_TABLE`, where
#: each entry's ``srf_source`` says where its numbers come from); :func:`get_sensor` also accepts
#: the aliases (case, ``-``, ``_`` and spaces ignored).
SENSORS_SPECTRAL: dict[str, SensorSpectral] = {
    s.spectral_key: SensorSpectral.from_sensor(s) for s in SENSOR_TABLE.values() if s.has_srf
}


def get_sensor(name: str) -> SensorSpectral:
    """The sensor called ``name`` (canonical key or alias, case-insensitive).

    Raises :class:`~hysupp.errors.InputError` for an unknown name or a sensor of the table without
    spectral bands; the message lists the sensors with bands.

    >>> get_sensor("Sentinel-2").key, get_sensor("WV2").name
    ('sentinel2', 'WorldView-2')
    """
    entry = find_sensor(name)
    known = ", ".join(f"{s.key} ({', '.join(s.aliases)})" for s in SENSORS_SPECTRAL.values())
    if entry is None:
        raise InputError(f"unknown sensor {name!r}; known sensors (aliases): {known}")
    if not entry.has_srf:
        raise InputError(f"sensor {name!r} ({entry.name}) has no spectral bands in the sensor table "
                         f"(hysupp.physics.sensors); sensors with bands (aliases): {known}")
    return SENSORS_SPECTRAL[entry.spectral_key]


def sensor_srf(name: str, target_wavelengths: Any, *, pan: bool = False, swir: bool = False,
               bands: Iterable[str] | None = None, target_fwhm: Any = None,
               min_coverage: float = 0.9) -> "SpectralResponse":
    """Gaussian SRF of a built-in sensor on an HS wavelength grid (rows of unit area).

    Parameters
    ----------
    name : str
        A key of :data:`SENSORS_SPECTRAL` or an alias (``"s2"``, ``"l8"``, ``"wv2"``, ``"wv3"``,
        ``"qb"``, ...), case-insensitive.
    target_wavelengths : array_like, shape (L,)
        HS band centres in nm.
    pan : bool
        ``False``: the multispectral bands (rows in product order). ``True``: the panchromatic
        band alone (a ``1 x L`` SRF), e.g. for pansharpening simulations. Sensors without a PAN
        band raise.
    swir : bool
        Add the optional SWIR bands after the MS bands (WorldView-3's SWIR-1..8); other sensors
        raise (Sentinel-2 and Landsat-8 SWIR bands are part of their standard MS set).
    bands : iterable of str, optional
        Explicit band names (case-insensitive), in the order wanted; overrides ``pan``/``swir``.
        Use it to leave out bands the grid does not cover (e.g. Sentinel-2 ``B10`` on a grid
        without the 1.38 um water-absorption region).
    target_fwhm : float or array_like, optional
        HS band FWHM (nm): band-integrated weights instead of point sampling.
    min_coverage : float
        See :func:`gaussian_srf`.

    Returns
    -------
    SpectralResponse
        With ``band_names``, ``target_centres`` (published centres), ``target_fwhm``,
        ``source_wavelengths`` and ``sensor`` set; ``to_dict`` records the construction.

    Raises
    ------
    InputError
        Unknown sensor (the message lists the known ones), unknown band names, no PAN/SWIR group,
        or bands the grid does not cover (the message names them and the covered ones).

    Examples
    --------
    >>> import numpy as np
    >>> wl = np.arange(400.0, 2501.0, 10.0)
    >>> op = sensor_srf("sentinel2", wl)
    >>> op.n_bands_out, op.band_names[:3], float(op.target_centres[7])
    (13, ['B1', 'B2', 'B3'], 832.8)
    >>> sensor_srf("wv3", wl, swir=True).n_bands_out
    16
    >>> sensor_srf("s2", np.arange(400.0, 1001.0, 5.0))     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hysupp.errors.InputError: the target wavelength grid (400.0-1000.0 nm, 121 bands) does not \
cover bands 'B10' (1373.5 nm, FWHM 31.0 nm; 0% covered); 'B11' ...; 'B12' ...: less than 90% of \
the response lies where the grid has bands (min_coverage). Covered bands of Sentinel-2A MSI: \
['B1', ..., 'B9'] (pass them as bands=[...]).
    """
    sensor = get_sensor(name)
    if bands is not None:
        if isinstance(bands, str):
            bands = [bands]
        by_name = {b.name.upper(): b for b in sensor.bands}
        chosen = []
        for b in bands:
            if str(b).upper() not in by_name:
                raise InputError(f"{sensor.name} has no band {b!r}; its bands are "
                                 f"{sensor.band_names}")
            chosen.append(by_name[str(b).upper()])
        selection: tuple[SpectralBand, ...] = tuple(chosen)
        if not selection:
            raise InputError("bands is empty")
    elif pan:
        selection = sensor.group("pan")
        if not selection:
            raise InputError(f"{sensor.name} has no panchromatic band (bands: {sensor.band_names})")
        if swir:
            raise ParameterError("pan=True selects the PAN band alone; do not combine it with swir")
    else:
        selection = sensor.group("ms")
        if not selection:
            raise InputError(f"{sensor.name} has no multispectral bands in the sensor table (bands: "
                             f"{sensor.band_names}); its source: {sensor.source}")
        if swir:
            extra = sensor.group("swir")
            if not extra:
                raise InputError(f"{sensor.name} has no optional SWIR band set (swir=True is for "
                                 f"worldview3); its bands are {sensor.band_names}")
            selection = selection + extra
    wl = _grid(target_wavelengths)
    mincov = _check_min_coverage(min_coverage)
    centres = np.array([b.centre for b in selection])
    fwhm = np.array([b.fwhm for b in selection])
    names = [b.name for b in selection]
    if mincov > 0:
        cov = _gaussian_coverage(centres, fwhm / FWHM_PER_SIGMA, _sampled_intervals(wl))
        if (cov < mincov).any():
            bad = [f"{names[i]!r} ({centres[i]:.1f} nm, FWHM {fwhm[i]:.1f} nm; "
                   f"{cov[i]:.0%} covered)" for i in np.nonzero(cov < mincov)[0]]
            all_bands = np.array([b.centre for b in sensor.bands])
            all_cov = _gaussian_coverage(all_bands,
                                         np.array([b.fwhm for b in sensor.bands]) / FWHM_PER_SIGMA,
                                         _sampled_intervals(wl))
            ok = [b.name for b, cv in zip(sensor.bands, all_cov) if cv >= mincov]
            raise _coverage_error(bad, wl, mincov, f"Covered bands of {sensor.name}: {ok} "
                                                   f"(pass them as bands=[...]).")
    R = gaussian_srf(centres, fwhm, wl, target_fwhm=target_fwhm, band_names=names, min_coverage=0.0)
    meta = {"construction": "gaussian", "sensor_name": sensor.name, "pan": bool(pan),
            "swir": bool(swir), "bands": names, "source": sensor.source,
            "source_fwhm": None if target_fwhm is None else np.atleast_1d(
                np.asarray(target_fwhm, dtype=np.float64)).tolist()}
    return SpectralResponse(R, source_wavelengths=wl, band_names=names, target_centres=centres,
                            target_fwhm=fwhm, sensor=sensor.key, meta=meta)


# ---------------------------------------------------------------------------- a user's SRF (files)
#: Column names (normalised: lower case, letters and digits) read as the wavelength column of a
#: tabulated SRF, as band centres, and as band widths.
_WL_NAMES = ("wavelength", "wavelengths", "wavelengthnm", "wavelengthum", "wl", "lambda", "nm", "um", "micrometre",
             "micrometer", "micron")
_CENTRE_NAMES = ("centre", "center", "centrenm", "centernm", "centreum", "centerum", "centrewavelength",
                 "centerwavelength", "wavelength", "wl")
_FWHM_NAMES = ("fwhm", "fwhmnm", "fwhmum", "width", "bandwidth")
_NAME_NAMES = ("band", "bands", "name", "names", "bandname")
_RESPONSE_NAMES = ("responses", "response", "srf", "rsr", "r")
#: Wavelengths below this are read as micrometres (converted to nm, with a note).
_MICROMETRE_MAX = 30.0


def _colkey(name: str) -> str:
    return "".join(ch for ch in str(name).lower().replace("µ", "u") if ch.isalnum())


@dataclass(frozen=True)
class SRFSpec:
    r"""A spectral response given by a user, before it is put on an HS grid.

    Three forms (``kind``):

    * ``"table"``: measured curves, ``wavelengths`` ``(K,)`` (nm) and ``responses`` ``(K, C)``, one
      column per band (any scale) -- :func:`srf_from_table` resamples them;
    * ``"gaussian"``: band ``centres`` and ``fwhm`` ``(C,)`` (nm) -- :func:`gaussian_srf`;
    * ``"matrix"``: the ``(C, L)`` matrix on the HS bands themselves (no wavelengths needed).

    :meth:`on_grid` gives the ``(C, L)`` matrix with rows of unit sum; :meth:`band_centres` the
    centres and widths (for a table: the centroid and the half-maximum width of each curve) that the
    SRF/PSF estimator uses to restrict and check its estimate.

    >>> spec = SRFSpec("gaussian", ("G", "R"), centres=np.array([550.0, 650.0]), fwhm=np.array([40.0, 40.0]))
    >>> R = spec.on_grid(np.arange(500.0, 701.0, 10.0))
    >>> R.shape, np.allclose(R.sum(axis=1), 1.0), spec.to_dict()["kind"]
    ((2, 21), True, 'gaussian')
    """

    kind: str
    band_names: tuple[str, ...]
    wavelengths: np.ndarray | None = None
    responses: np.ndarray | None = None
    centres: np.ndarray | None = None
    fwhm: np.ndarray | None = None
    matrix: np.ndarray | None = None
    source: str = ""
    notes: tuple[str, ...] = ()


    def band_centres(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(centres, fwhm)`` of the bands in nm (None for a matrix)."""
        if self.kind == "gaussian":
            return np.asarray(self.centres, dtype=np.float64), np.asarray(self.fwhm, dtype=np.float64)
        if self.kind == "table":
            wl = np.asarray(self.wavelengths, dtype=np.float64)
            centres, widths = [], []
            fine = np.linspace(wl.min(), wl.max(), max(2001, 4 * wl.size))
            for col in np.asarray(self.responses, dtype=np.float64).T:
                y = np.interp(fine, wl, np.clip(col, 0.0, None))
                centres.append(float((fine * y).sum() / y.sum()))
                above = fine[y >= 0.5 * y.max()]
                widths.append(float(max(above.max() - above.min(), fine[1] - fine[0])))
            return np.array(centres), np.array(widths)
        return None, None

    def on_grid(self, wavelengths: Any = None, fwhm: Any = None, *, n_bands: int | None = None,
                min_coverage: float = 0.9) -> np.ndarray:
        """The ``(C, L)`` SRF on HS bands of centres ``wavelengths`` (nm; HS ``fwhm`` for the
        band-integrated weights), rows of unit sum. A ``matrix`` needs no wavelengths: it is checked
        against ``n_bands`` (the HS band count; transposed when it is stored ``(L, C)``)."""
        where = f"SRF {self.source}" if self.source else "SRF"
        if self.kind == "matrix":
            R = np.asarray(self.matrix, dtype=np.float64)
            if n_bands is not None and R.shape[1] != n_bands:
                if R.shape[0] == n_bands:
                    R = R.T
                else:
                    raise InputError(f"{where}: a {R.shape[0]} x {R.shape[1]} matrix does not fit {n_bands} HS bands "
                                     f"(expected (MS bands, {n_bands}))")
            if not np.isfinite(R).all() or (R < 0).any():
                raise InputError(f"{where}: the matrix must be finite and non-negative")
            sums = R.sum(axis=1, keepdims=True)
            if (sums <= 0).any():
                raise InputError(f"{where}: row(s) {np.flatnonzero(sums.ravel() <= 0).tolist()} of the matrix are zero")
            return R / sums
        if wavelengths is None:
            raise InputError(f"{where} is given by wavelength ({self.kind}) but the HS image has no band wavelengths; "
                             f"give the HS file's wavelengths (e.g. an ENVI header or a 'wavelength' variable) or the "
                             f"SRF as a (MS bands, HS bands) matrix")
        names = list(self.band_names)
        try:
            if self.kind == "table":
                return srf_from_table(self.wavelengths, self.responses, wavelengths, fwhm, band_names=names,
                                      min_coverage=min_coverage)
            return gaussian_srf(self.centres, self.fwhm, wavelengths, target_fwhm=fwhm, band_names=names,
                                min_coverage=min_coverage)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON summary for a run record (the curves themselves are not copied)."""
        c, f = self.band_centres()
        out: dict[str, Any] = {"kind": self.kind, "bands": list(self.band_names), "source": self.source,
                               "notes": list(self.notes)}
        if c is not None:
            out["centres_nm"] = [round(float(v), 3) for v in c]
            out["fwhm_nm"] = [round(float(v), 3) for v in f]
        if self.kind == "table":
            wl = np.asarray(self.wavelengths)
            out["table"] = {"points": int(wl.size), "range_nm": [float(wl.min()), float(wl.max())]}
        if self.kind == "matrix":
            out["shape"] = list(np.asarray(self.matrix).shape)
        return out


def _in_nm(values: np.ndarray, what: str, unit_hint: str | None, notes: list[str]) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if unit_hint == "um" or (unit_hint is None and np.nanmax(np.abs(values)) < _MICROMETRE_MAX):
        notes.append(f"{what} read as micrometres and converted to nm")
        return values * 1000.0
    return values


def _table_spec(wl: Any, responses: Any, names: Sequence[str] | None, source: str, unit: str | None,
                notes: list[str]) -> SRFSpec:
    w = _vector(wl, "SRF table wavelengths")
    resp = np.asarray(responses, dtype=np.float64)
    if resp.ndim == 1:
        resp = resp[:, None]
    if resp.ndim != 2:
        raise InputError(f"SRF {source}: responses must be (wavelengths, bands), got shape {resp.shape}")
    if resp.shape[0] != w.size and resp.shape[1] == w.size:
        resp = resp.T
    if resp.shape[0] != w.size:
        raise InputError(f"SRF {source}: {w.size} wavelengths for responses of shape {resp.shape}")
    if not np.isfinite(resp).all():
        raise InputError(f"SRF {source}: the response table has NaN/Inf values")
    w = _in_nm(w, "SRF table wavelengths", unit, notes)
    order = np.argsort(w)
    names = tuple(names) if names is not None else tuple(f"band {k + 1}" for k in range(resp.shape[1]))
    if len(names) != resp.shape[1]:
        raise InputError(f"SRF {source}: {len(names)} band names for {resp.shape[1]} response columns")
    if not (resp.max(axis=0) > 0).all():
        raise InputError(f"SRF {source}: band(s) {[names[i] for i in np.flatnonzero(~(resp.max(axis=0) > 0))]} have "
                         f"no positive response")
    return SRFSpec("table", names, wavelengths=w[order], responses=resp[order], source=source, notes=tuple(notes))


def _gaussian_spec(centres: Any, fwhm: Any, names: Sequence[str] | None, source: str, unit: str | None,
                   notes: list[str]) -> SRFSpec:
    c = _vector(centres, "SRF band centres", positive=True)
    f = _per_band(fwhm, c.size, "SRF band FWHM", "band")
    if unit == "um" or (unit is None and c.max() < _MICROMETRE_MAX):
        c, f = c * 1000.0, f * 1000.0
        notes.append("band centres and FWHM read as micrometres and converted to nm")
    names = tuple(names) if names is not None else tuple(f"band {k + 1}" for k in range(c.size))
    if len(names) != c.size:
        raise InputError(f"SRF {source}: {len(names)} band names for {c.size} bands")
    return SRFSpec("gaussian", names, centres=c, fwhm=f, source=source, notes=tuple(notes))


def _unit_of(header: str) -> str | None:
    h = str(header).lower().replace("µ", "u")
    if "um" in _colkey(h) or "micro" in h:
        return "um"
    return "nm" if "nm" in _colkey(h) else None


def read_srf_text(path: Any) -> SRFSpec:
    r"""Read a spectral response from a text table (``.csv``, ``.txt``, ``.tsv``).

    The file has a header row; ``#`` starts a comment; values are separated by commas,
    semicolons, tabs or spaces. Two layouts, told apart by the header:

    * **tabulated** -- the first column is the wavelength (``wavelength``, ``wl``, ``lambda``,
      ``nm``...), every other column one band's response (any scale), named by its header::

          wavelength,B,G,R,NIR
          400,0.01,0.00,0.00,0.00
          ...

    * **Gaussian** -- one row per band with its ``centre`` (or ``center``) and ``fwhm``, and
      optionally its ``band`` name::

          band,centre,fwhm
          B,480,60
          G,550,70

    Wavelengths are nanometres; a header naming ``um``/``micrometre``, or values all below 30,
    are read as micrometres and converted (with a note).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); f = os.path.join(d, "srf.csv")
    >>> _ = open(f, "w").write("band,centre,fwhm\nG,550,40\nR,650,40\n")
    >>> spec = read_srf_text(f); spec.kind, spec.band_names, spec.centres.tolist()
    ('gaussian', ('G', 'R'), [550.0, 650.0])
    """
    import os
    import re

    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8-sig") as fh:
            lines = [ln.split("#", 1)[0].strip() for ln in fh]
    except OSError as exc:
        raise InputError(f"cannot read the SRF file {source!r}: {exc}") from None
    lines = [ln for ln in lines if ln]
    if len(lines) < 2:
        raise InputError(f"SRF file {source!r}: expected a header row and at least one data row")

    def split(ln: str) -> list[str]:
        return [t.strip() for t in re.split(r"[,;\t]" if re.search(r"[,;\t]", ln) else r"\s+", ln) if t.strip()]

    header = split(lines[0])
    keys = [_colkey(h) for h in header]
    rows = [split(ln) for ln in lines[1:]]
    bad = [i + 2 for i, r in enumerate(rows) if len(r) != len(header)]
    if bad:
        raise InputError(f"SRF file {source!r}: row(s) {bad[:5]} do not have the header's {len(header)} columns "
                         f"({', '.join(header)})")
    notes: list[str] = []
    centre_col = next((i for i, k in enumerate(keys) if k in _CENTRE_NAMES), None)
    fwhm_col = next((i for i, k in enumerate(keys) if k in _FWHM_NAMES), None)
    if fwhm_col is not None and centre_col is not None:
        name_col = next((i for i, k in enumerate(keys) if k in _NAME_NAMES), None)
        try:
            c = [float(r[centre_col]) for r in rows]
            f = [float(r[fwhm_col]) for r in rows]
        except ValueError as exc:
            raise InputError(f"SRF file {source!r}: non-numeric centre/FWHM ({exc})") from None
        names = [r[name_col] for r in rows] if name_col is not None else None
        return _gaussian_spec(c, f, names, source, _unit_of(header[centre_col]), notes)
    if keys[0] not in _WL_NAMES:
        raise InputError(f"SRF file {source!r}: the header {header} is neither a tabulated SRF (first column "
                         f"'wavelength', then one column per band) nor a Gaussian one (columns 'band', 'centre', "
                         f"'fwhm')")
    try:
        table = np.array([[float(v) for v in r] for r in rows])
    except ValueError as exc:
        raise InputError(f"SRF file {source!r}: non-numeric value in the table ({exc})") from None
    if table.shape[1] < 2:
        raise InputError(f"SRF file {source!r}: a tabulated SRF needs a wavelength column and at least one band")
    return _table_spec(table[:, 0], table[:, 1:], header[1:], source, _unit_of(header[0]), notes)


def srf_spec_from_variables(variables: dict[str, Any], source: str = "", key: str | None = None,
                            band_names: Sequence[str] | None = None) -> SRFSpec:
    """An :class:`SRFSpec` from the arrays of a ``.mat``/``.npz`` file (or a single array).

    Recognised, in order: ``centres`` (``centers``) + ``fwhm`` (Gaussian); a wavelength vector
    (``wavelength(s)``, ``wl``, ``lambda``) + a response array (``responses``, ``srf``, ``rsr``, ``R``,
    or the only other 2-D array) (tabulated); a single 2-D array whose first column increases
    through wavelengths (>= 100 nm, or < 30 um) with the responses in the other columns (the layout of
    HySure's ``ikonos_spec_resp.mat``) (tabulated); any other single 2-D array, or ``key``: the
    ``(MS bands, HS bands)`` matrix.

    >>> v = {"wl": np.array([500.0, 550.0, 600.0]), "R": np.array([[0.0, 1.0, 0.0]])}
    >>> srf_spec_from_variables(v).kind
    'table'
    >>> srf_spec_from_variables({"R": np.ones((3, 10))}).kind
    'matrix'
    """
    arrays = {k: np.asarray(v) for k, v in variables.items() if not str(k).startswith("__")}
    arrays = {k: v for k, v in arrays.items() if np.issubdtype(v.dtype, np.number) and v.size > 0}
    by = {_colkey(k): k for k in arrays}
    notes: list[str] = []
    names = list(band_names) if band_names is not None else None
    if key is not None:
        if key not in arrays:
            raise InputError(f"SRF {source}: no numeric variable {key!r}; variables: {sorted(arrays)}")
        arr = arrays[key]
        if arr.ndim != 2:
            raise InputError(f"SRF {source}: variable {key!r} has shape {arr.shape}; expected a 2-D matrix")
        return _matrix_or_table(arr, source, names, notes, f"variable {key!r}")
    centre_k = next((by[n] for n in ("centres", "centers", "centre", "center") if n in by), None)
    fwhm_k = next((by[n] for n in ("fwhm", "fwhms", "width", "widths") if n in by), None)
    if centre_k is not None and fwhm_k is not None:
        return _gaussian_spec(arrays[centre_k].ravel(), arrays[fwhm_k].ravel(), names, source, None, notes)
    wl_k = next((by[n] for n in ("wavelengths", "wavelength", "wl", "lambda") if n in by), None)
    if wl_k is not None:
        resp_k = next((by[n] for n in _RESPONSE_NAMES if n in by), None)
        if resp_k is None:
            others = [k for k, v in arrays.items() if k != wl_k and v.ndim == 2]
            if len(others) != 1:
                raise InputError(f"SRF {source}: wavelengths {wl_k!r} but no response array (name it 'responses', "
                                 f"'srf' or 'R'); variables: {sorted(arrays)}")
            resp_k = others[0]
        return _table_spec(arrays[wl_k].ravel(), arrays[resp_k], names, source, None, notes)
    two_d = {k: v for k, v in arrays.items() if v.ndim == 2}
    if len(two_d) != 1:
        raise InputError(f"SRF {source}: cannot tell which variable holds the SRF among {sorted(arrays)}: use "
                         f"'centres' + 'fwhm', 'wavelength' + 'responses', or one (MS bands, HS bands) matrix")
    (k, arr), = two_d.items()
    return _matrix_or_table(arr, source, names, notes, f"variable {k!r}")


def _matrix_or_table(arr: np.ndarray, source: str, names: list[str] | None, notes: list[str], what: str) -> SRFSpec:
    arr = np.asarray(arr, dtype=np.float64)
    first = arr[:, 0] if arr.shape[1] >= 2 else None
    if first is not None and arr.shape[0] >= 3 and np.all(np.diff(first) > 0) and \
            (first.min() >= 100.0 or first.max() < _MICROMETRE_MAX) and first.min() > 0:
        notes.append(f"{what}: first column read as wavelengths, the others as band responses")
        return _table_spec(first, arr[:, 1:], names, source, None, notes)
    notes.append(f"{what} read as the (MS bands, HS bands) matrix on the HS bands")
    return SRFSpec("matrix", tuple(names or ()), matrix=arr, source=source, notes=tuple(notes))


# ---------------------------------------------------------------------------- the operator
class SpectralResponse(ChannelMatrix):
    r"""Spectral degradation ``X -> R X`` (HS ``L`` bands to MS ``M`` bands), adjoint ``R^T``.

    .. math::
        \mathcal R(\mathbf X) = \mathbf R \mathbf X,\qquad
        \mathcal R^*(\mathbf Z) = \mathbf R^{\mathsf T} \mathbf Z,\qquad
        \mathbf R \in \mathbb R^{M \times L}

    Shapes: ``(L,)``, ``(L, N)``, ``(L, H, W)`` and batches ``(B, L, H, W)`` (numpy or torch) map
    to ``(M,)``, ``(M, N)``, ``(M, H, W)``, ``(B, M, H, W)`` (see :mod:`hysupp.physics.mixing`).

    Parameters
    ----------
    R : array_like, shape (M, L)
        The SRF matrix. Any real finite matrix is accepted (estimated SRFs need not be normalised);
        the builders in this module return non-negative rows summing to 1.
    source_wavelengths : array_like, shape (L,), optional
        HS band centres (nm) that the columns of ``R`` refer to.
    band_names : sequence of str, optional
        Names of the ``M`` output bands (default ``band 0``, ``band 1``, ...).
    target_centres : array_like, shape (M,), optional
        Published/nominal centres (nm) of the output bands.
    target_fwhm : array_like, shape (M,), optional
        Published widths (nm) of the output bands.
    sensor : str, optional
        Key of the built-in sensor this SRF approximates.
    meta : dict, optional
        JSON-serialisable notes on how ``R`` was built (recorded by :meth:`to_dict`).

    Examples
    --------
    >>> import numpy as np
    >>> wl = np.array([450.0, 550.0, 650.0])
    >>> op = SpectralResponse([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], source_wavelengths=wl,
    ...                       band_names=["BG", "R"])
    >>> op.forward(np.array([2.0, 4.0, 6.0]))
    array([3., 6.])
    >>> op.centroids
    array([500., 650.])
    >>> SpectralResponse.from_dict(op.to_dict()).band_names
    ['BG', 'R']
    """

    op_name = "spectral_response"

    def __init__(self, R: Any, source_wavelengths: Any = None,
                 band_names: Sequence[str] | None = None, target_centres: Any = None, *,
                 target_fwhm: Any = None, sensor: str | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        super().__init__(R, name="R", in_what="HS bands", out_what="MS bands")
        m, l_ = self._M.shape
        self.source_wavelengths = None if source_wavelengths is None else \
            _vector(source_wavelengths, "source_wavelengths")
        if self.source_wavelengths is not None and self.source_wavelengths.size != l_:
            raise InputError(f"source_wavelengths has {self.source_wavelengths.size} values but R "
                             f"has {l_} columns (R is {m} x {l_})")
        self.band_names = _names(band_names, m)
        self.target_centres = None if target_centres is None else _vector(target_centres,
                                                                          "target_centres")
        if self.target_centres is not None and self.target_centres.size != m:
            raise InputError(f"target_centres has {self.target_centres.size} values for {m} bands")
        self.target_fwhm = None if target_fwhm is None else _per_band(target_fwhm, m, "target_fwhm",
                                                                      "band")
        self.sensor = sensor
        self.meta = dict(meta or {})

    # -------------------------------------------------------------- properties
    @property
    def R(self) -> np.ndarray:
        """The SRF matrix ``(M, L)`` (read-only float64)."""
        return self._M

    @property
    def n_bands_in(self) -> int:
        """``L``, the number of HS bands."""
        return self.n_in

    @property
    def n_bands_out(self) -> int:
        """``M``, the number of MS/PAN bands."""
        return self.n_out

    @property
    def centroids(self) -> np.ndarray:
        """Centroid wavelength of each row, ``Σ_l R_ml λ_l / Σ_l R_ml`` (needs wavelengths)."""
        if self.source_wavelengths is None:
            raise InputError("centroids need source_wavelengths")
        return (self._M @ self.source_wavelengths) / self._M.sum(axis=1)

    def select(self, bands: Iterable[str | int]) -> "SpectralResponse":
        """A new operator with the rows ``bands`` (names or indices), in that order."""
        idx = []
        for b in ([bands] if isinstance(bands, (str, int)) else bands):
            if isinstance(b, (int, np.integer)) and not isinstance(b, bool):
                if not -self.n_out <= int(b) < self.n_out:
                    raise InputError(f"band index {b} out of range for {self.n_out} bands")
                idx.append(int(b) % self.n_out)
            else:
                upper = [n.upper() for n in self.band_names]
                if str(b).upper() not in upper:
                    raise InputError(f"no band {b!r}; bands are {self.band_names}")
                idx.append(upper.index(str(b).upper()))
        if not idx:
            raise InputError("select needs at least one band")
        return SpectralResponse(
            self._M[idx], self.source_wavelengths, [self.band_names[i] for i in idx],
            None if self.target_centres is None else self.target_centres[idx],
            target_fwhm=None if self.target_fwhm is None else self.target_fwhm[idx],
            sensor=self.sensor, meta={**self.meta, "selected": [self.band_names[i] for i in idx]})

    # -------------------------------------------------------------- constructors
    @classmethod
    def gaussian(cls, centres: Any, fwhm: Any, source_wavelengths: Any, *, source_fwhm: Any = None,
                 band_names: Sequence[str] | None = None,
                 min_coverage: float = 0.9) -> "SpectralResponse":
        """Operator from :func:`gaussian_srf` (``source_*`` are the HS grid and widths)."""
        c = _vector(centres, "centres")
        R = gaussian_srf(c, fwhm, source_wavelengths, target_fwhm=source_fwhm,
                         band_names=band_names, min_coverage=min_coverage)
        return cls(R, source_wavelengths, band_names, c, target_fwhm=_per_band(fwhm, c.size, "fwhm",
                                                                                "band"),
                   meta={"construction": "gaussian",
                         "source_fwhm": None if source_fwhm is None else np.atleast_1d(
                             np.asarray(source_fwhm, dtype=np.float64)).tolist()})

    @classmethod
    def from_table(cls, table_wavelengths: Any, responses: Any, source_wavelengths: Any,
                   source_fwhm: Any = None, *, band_names: Sequence[str] | None = None,
                   min_coverage: float = 0.9) -> "SpectralResponse":
        """Operator from :func:`srf_from_table` (``source_*`` are the HS grid and widths)."""
        R = srf_from_table(table_wavelengths, responses, source_wavelengths, source_fwhm,
                           band_names=band_names, min_coverage=min_coverage)
        return cls(R, source_wavelengths, band_names,
                   meta={"construction": "table",
                         "source_fwhm": None if source_fwhm is None else np.atleast_1d(
                             np.asarray(source_fwhm, dtype=np.float64)).tolist()})

    # -------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (the full matrix plus its provenance)."""
        return {
            "op": self.op_name,
            "shape": [self.n_out, self.n_in],
            "R": self._M.tolist(),
            "source_wavelengths": None if self.source_wavelengths is None
            else self.source_wavelengths.tolist(),
            "band_names": list(self.band_names),
            "target_centres": None if self.target_centres is None else self.target_centres.tolist(),
            "target_fwhm": None if self.target_fwhm is None else self.target_fwhm.tolist(),
            "sensor": self.sensor,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SpectralResponse":
        """Rebuild from :meth:`to_dict` output."""
        if d.get("op") != cls.op_name or "R" not in d:
            raise InputError(f"not a spectral_response description: op {d.get('op')!r}, "
                             f"keys {sorted(d)}")
        return cls(np.asarray(d["R"], dtype=np.float64), d.get("source_wavelengths"),
                   d.get("band_names"), d.get("target_centres"), target_fwhm=d.get("target_fwhm"),
                   sensor=d.get("sensor"), meta=d.get("meta"))
