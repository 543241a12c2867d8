r"""MTF-matched blur filters from a sensor's Nyquist gains, and the sensor table (DESIGN §2).

The modulation transfer function (MTF) of an imaging sensor is modelled, as in the MTF-tailored
multiresolution analysis of Aiazzi et al. (2006) and the pansharpening toolbox of Vivone et al.
(2015), by a Gaussian frequency response fixed by a single number: its value ``GNyq`` at the
Nyquist frequency of the *low-resolution* grid, :math:`f_N = 1 / (2r)` cycles per high-resolution
pixel for a resolution ratio :math:`r`:

.. math::
    H(f) = \exp(-2\pi^2\sigma^2 f^2), \qquad H\!\left(\tfrac{1}{2r}\right) = G_{Nyq}
    \;\Longrightarrow\; \sigma = \frac{r}{\pi}\sqrt{-2\ln G_{Nyq}} .

The spatial kernel is a Gaussian of that standard deviation on ``taps`` x ``taps`` samples (41 in
the toolbox) times a rotationally symmetric Kaiser window (``beta = 0.5``, MATLAB's ``kaiser(N)``
default, rotated as MATLAB's ``fwind1`` does), normalised to sum 1. Because windowing and
truncation slightly narrow the kernel, :func:`mtf_kernel` retunes :math:`\sigma` (a 1-D root
search) so that the *measured* response of the final kernel, :func:`gnyq_of_kernel`, equals
``GNyq`` to better than 1e-9 (``design="exact"``, the default).

``design="toolbox"`` reproduces the toolbox construction instead (``genMTF.m``/``MTF.m``: a
frequency-domain Gaussian sampled on an N x N grid, inverse DFT, Kaiser window). That grid
treats the N samples as spaced 2/(N-1) in normalised frequency while the DFT spaces them 2/N, so
the toolbox kernels are N/(N-1) (2.5 % for N = 41) wider than the formula and their measured gain
is about :math:`G_{Nyq}^{(N/(N-1))^2}` (0.282 instead of 0.30 at ratio 4). Use it to reproduce
published toolbox numbers; use the default to simulate a sensor with the stated gain.

The gains are data of the sensor table, :mod:`hysupp.physics.sensors` (where every sensor is
declared once); :data:`SENSORS` is its MTF view (one :class:`SensorMTF` per sensor with gains:
band names, per-band MS gains, PAN gain, nominal ratio and the source of the numbers) and
:func:`get_sensor` looks a sensor up by name or alias. :func:`mtf_blur` returns a
:class:`~hysupp.physics.blur.Blur` with one kernel per band. :func:`kaiser_radial` is the
rotated Kaiser window of the toolbox's ``fwind1`` design, the one copy every toolbox-kernel
construction uses.

References
----------
B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, M. Selva, "MTF-tailored multiscale fusion of
high-resolution MS and Pan imagery", Photogramm. Eng. Remote Sens. 72(5):591-596, 2006.
G. Vivone, L. Alparone, J. Chanussot, M. Dalla Mura, A. Garzelli, G. Licciardi, R. Restaino,
L. Wald, "A critical comparison among pansharpening algorithms", IEEE TGRS 53(5):2565-2586, 2015.
L. Loncan et al., "Hyperspectral pansharpening: a review", IEEE GRSM 3(3):27-46, 2015.

Example
-------
>>> from hysupp.physics.mtf import mtf_blur, mtf_kernel, gnyq_of_kernel, mtf_sigma
>>> h = mtf_kernel(0.3, ratio=4)
>>> h.shape, round(float(h.sum()), 12), round(gnyq_of_kernel(h, 4), 6)
((41, 41), 1.0, 0.3)
>>> round(mtf_sigma(0.3, 4), 4)
1.9758
>>> B = mtf_blur("QuickBird", ratio=4)                 # one kernel per MS band (B, G, R, NIR)
>>> B.to_dict()["gnyq"]
[0.34, 0.32, 0.3, 0.22]
>>> mtf_blur("QB", 4, pan=True).to_dict()["gnyq"]
[0.15]
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.optimize import brentq

from hysupp.errors import InputError, ParameterError
from hysupp.physics.blur import Blur
from hysupp.physics.sensors import SENSOR_TABLE, Sensor, find_sensor

__all__ = [
    "SENSORS",
    "SensorMTF",
    "get_sensor",
    "gnyq_from_sigma",
    "gnyq_of_kernel",
    "kaiser_radial",
    "list_sensors",
    "mtf_blur",
    "mtf_kernel",
    "mtf_kernel_1d",
    "mtf_sigma",
    "toolbox_dc_gain",
]

DEFAULT_TAPS = 41
DEFAULT_BETA = 0.5  # MATLAB kaiser(N) default, as used by genMTF.m/MTF.m

# --------------------------------------------------------------------------------------------
# the MTF view of the sensor table (hysupp.physics.sensors)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SensorMTF:
    """Nyquist gains of one sensor (the MTF view of a :class:`~hysupp.physics.sensors.Sensor`).

    Attributes
    ----------
    key : str
        Canonical short name (``"QB"``, ``"WV3"``, ...).
    name : str
        Full name.
    ms_bands : tuple of str
        Names of the MS/HS bands in order; empty when the gain is uniform over any number of bands.
    ms_gnyq : tuple of float
        Per-band Nyquist gains (one value when uniform).
    pan_gnyq : float
        Nyquist gain of the panchromatic channel.
    ratio : int
        Nominal MS(HS)/PAN resolution ratio.
    aliases : tuple of str
        Other names accepted by :func:`get_sensor` (case, spaces, '-' and '_' are ignored).
    source : str
        Where the numbers come from.
    note : str
        Caveats.
    """

    key: str
    name: str
    ms_bands: tuple[str, ...]
    ms_gnyq: tuple[float, ...]
    pan_gnyq: float
    ratio: int
    aliases: tuple[str, ...] = ()
    source: str = ""
    note: str = ""
    uniform: bool = field(default=False)

    @classmethod
    def from_sensor(cls, s: Sensor) -> "SensorMTF":
        """The view of a sensor-table entry that has gains (``s.has_mtf``)."""
        return cls(s.key, s.name, () if s.uniform else s.gain_band_names, tuple(s.ms_gnyq), float(s.pan_gnyq),
                   int(s.ratio), tuple(s.aliases), s.mtf_source, s.note, s.uniform)

    def gains(self, n_bands: int | None = None,
              bands: Sequence[int | str] | None = None) -> np.ndarray:
        """Per-band MS gains, optionally a subset (``bands``: 0-based indices or band names).

        Uniform-gain sensors need ``n_bands`` (or return one value when it is None).
        """
        if self.uniform:
            g = np.full(int(n_bands) if n_bands is not None else 1, self.ms_gnyq[0])
            if bands is not None:
                idx = [int(b) for b in bands]
                if n_bands is not None and any(not 0 <= i < len(g) for i in idx):
                    raise InputError(f"band index out of range for {n_bands} bands: {list(bands)}")
                g = np.full(len(idx), self.ms_gnyq[0])
            return g
        g = np.asarray(self.ms_gnyq, dtype=np.float64)
        if bands is not None:
            idx = []
            for b in bands:
                if isinstance(b, str):
                    names = [n.lower() for n in self.ms_bands]
                    if b.lower() not in names:
                        raise InputError(f"{self.name} has no band {b!r}; bands: "
                                         f"{', '.join(self.ms_bands)}")
                    idx.append(names.index(b.lower()))
                else:
                    i = int(b)
                    if not 0 <= i < g.size:
                        raise InputError(f"{self.name} has {g.size} MS bands; index {i} is out "
                                         f"of range")
                    idx.append(i)
            g = g[idx]
        if n_bands is not None and g.size != n_bands:
            raise InputError(f"{self.name} has {g.size} MS gains ({', '.join(self.ms_bands)}) but "
                             f"n_bands={n_bands}; select bands with bands=[...]")
        return g


#: The sensors with Nyquist gains: canonical key -> :class:`SensorMTF` (a view of
#: :data:`hysupp.physics.sensors.SENSOR_TABLE`, where sensors are declared).
SENSORS: dict[str, SensorMTF] = {s.key: SensorMTF.from_sensor(s) for s in SENSOR_TABLE.values() if s.has_mtf}


def list_sensors() -> list[str]:
    """Canonical keys of the sensors with Nyquist gains."""
    return list(SENSORS)


def get_sensor(name: str | SensorMTF) -> SensorMTF:
    """Look a sensor up by key, full name or alias (case, spaces, '-', '_' ignored).

    Raises
    ------
    hysupp.errors.InputError
        For an unknown name, or a sensor of the table without Nyquist gains; the message lists
        the sensors with gains.

    >>> get_sensor("worldview-3").key, get_sensor("GE1").pan_gnyq
    ('WV3', 0.16)
    """
    if isinstance(name, SensorMTF):
        return name
    entry = find_sensor(name)
    known = ", ".join(f"{s.key} ({s.name})" for s in SENSORS.values())
    if entry is None:
        raise InputError(f"unknown sensor {name!r}; known sensors: {known}")
    if not entry.has_mtf:
        raise InputError(f"sensor {name!r} ({entry.name}) has no MTF gains in the sensor table "
                         f"(hysupp.physics.sensors); sensors with gains: {known}")
    return SENSORS[entry.key]


# --------------------------------------------------------------------------------------------
# kernel design
# --------------------------------------------------------------------------------------------
def _check_gnyq(g: Any) -> float:
    try:
        v = float(g)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"Nyquist gain must be a number in (0, 1), got {g!r}") from exc
    if not 0.0 < v < 1.0:
        raise ParameterError(f"Nyquist gain must be in (0, 1) (exclusive), got {g!r}")
    return v


def _check_ratio(ratio: Any) -> int:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise ParameterError(f"ratio must be an integer >= 1, got {ratio!r}")
    return int(ratio)


def _check_taps(taps: Any) -> int:
    if (isinstance(taps, bool) or not isinstance(taps, (int, np.integer)) or taps < 3
            or taps % 2 == 0):
        raise ParameterError(f"taps must be an odd integer >= 3, got {taps!r}")
    return int(taps)


def mtf_sigma(gnyq: float, ratio: int) -> float:
    r"""Standard deviation (pixels) of the Gaussian whose response at 1/(2 ratio) is ``gnyq``:
    :math:`\sigma = (r/\pi)\sqrt{-2\ln G_{Nyq}}`."""
    return ratio / math.pi * math.sqrt(-2.0 * math.log(_check_gnyq(gnyq)))


def gnyq_from_sigma(sigma: float, ratio: int) -> float:
    r"""Response at the LR Nyquist 1/(2 ratio) of a Gaussian of std ``sigma``:
    :math:`\exp(-\pi^2\sigma^2 / (2 r^2))`.

    A Gaussian with FWHM = ratio (Yokoya et al. 2017) has a Nyquist gain of
    :math:`\exp(-\pi^2 / (16\ln 2)) \approx 0.41`:

    >>> from hysupp.physics.blur import fwhm_to_sigma
    >>> round(gnyq_from_sigma(fwhm_to_sigma(4), 4), 4)
    0.4107
    """
    return math.exp(-(math.pi * float(sigma)) ** 2 / (2.0 * ratio ** 2))


def _kaiser_1d(taps: int, beta: float) -> np.ndarray:
    return np.kaiser(taps, beta)


def kaiser_radial(taps: int, beta: float = DEFAULT_BETA) -> np.ndarray:
    """A 1-D Kaiser window rotated into a circularly symmetric 2-D one (zero beyond radius 1).

    The window of the toolbox's MTF kernels (``fwind1(Hd, kaiser(N, beta))`` in ``genMTF.m``):
    the 1-D window ``kaiser(taps, beta)`` on ``t in [-1, 1]`` read at the radius
    ``r = sqrt(t_i^2 + t_j^2)`` (linear interpolation), zero for ``r > 1``.

    >>> w = kaiser_radial(5)
    >>> w.shape, bool(w[2, 2] == w.max()), float(w[0, 0])
    ((5, 5), True, 0.0)
    """
    w1 = _kaiser_1d(taps, beta)
    t = (np.arange(taps) - (taps - 1) / 2) * (2.0 / (taps - 1))
    r = np.hypot(t[:, None], t[None, :])
    w = np.interp(r, t, w1)
    w[r > 1.0] = 0.0
    return w


def _response(kernel: np.ndarray, f: float, axis: int = -1) -> np.ndarray:
    k = np.asarray(kernel, dtype=np.float64)
    marg = k if k.ndim == 1 else k.sum(axis=-2 if axis == -1 else -1)
    m = np.arange(marg.shape[-1]) - marg.shape[-1] // 2
    c = (marg * np.cos(2 * np.pi * f * m)).sum(-1)
    s = (marg * np.sin(2 * np.pi * f * m)).sum(-1)
    return np.hypot(c, s)


def gnyq_of_kernel(kernel: Any, ratio: int, axis: int = -1) -> float | np.ndarray:
    r"""Measured gain of a kernel at the low-resolution Nyquist frequency 1/(2 ratio) cycles/pixel.

    :math:`|H(f)| = |\sum_{m} h[m]\, e^{-2\pi i f (m - c)}|` for a 1-D kernel; for a 2-D kernel
    ``(..., kh, kw)`` the response along ``axis`` (-1: horizontal frequency, -2: vertical) at zero
    frequency on the other axis (i.e. of its marginal). A stack ``(L, kh, kw)`` gives ``(L,)``.

    >>> from hysupp.physics.blur import gaussian_kernel_1d
    >>> k = gaussian_kernel_1d(2.0, 41)
    >>> round(float(gnyq_of_kernel(k, 4)), 4), round(gnyq_from_sigma(2.0, 4), 4)
    (0.2912, 0.2912)
    """
    if axis not in (-1, -2):
        raise ParameterError(f"axis must be -1 or -2, got {axis}")
    r = _check_ratio(ratio)
    out = _response(np.asarray(kernel), 1.0 / (2 * r), axis)
    return float(out) if np.ndim(out) == 0 else out


def _gauss(taps: int, sigma: float) -> np.ndarray:
    m = np.arange(taps) - taps // 2
    return np.exp(-0.5 * (m / sigma) ** 2)


def _exact_1d(sigma: float, taps: int, beta: float) -> np.ndarray:
    h = _gauss(taps, sigma) * _kaiser_1d(taps, beta)
    return h / h.sum()


def _exact_2d(sigma: float, taps: int, beta: float) -> np.ndarray:
    g = _gauss(taps, sigma)
    h = np.outer(g, g) * kaiser_radial(taps, beta)
    return h / h.sum()


def _tune(build, gnyq: float, ratio: int, taps: int) -> np.ndarray:
    f = 1.0 / (2 * ratio)
    s0 = mtf_sigma(gnyq, ratio)

    def err(s: float) -> float:
        return float(_response(build(s), f)) - gnyq

    lo, hi = 1e-3, max(4.0 * s0, 1.0)
    while err(hi) > 0 and hi < 1e3 * taps:
        hi *= 2.0
    if err(lo) < 0 or err(hi) > 0:
        raise ParameterError(f"a {taps}-tap windowed Gaussian cannot reach a Nyquist gain of "
                             f"{gnyq} at ratio {ratio}; use more taps (sigma ~ {s0:.2f} px "
                             f"needs ~{int(8 * s0) | 1})")
    s = brentq(err, lo, hi, xtol=1e-13, rtol=1e-13, maxiter=200)
    return build(s)


def _toolbox_1d(gnyq: float, ratio: int, taps: int, beta: float) -> np.ndarray:
    alpha = (taps - 1) / (2.0 * ratio) / math.sqrt(-2.0 * math.log(gnyq))
    k = np.arange(taps) - taps // 2
    Hd = np.exp(-(k ** 2) / (2 * alpha ** 2))
    h = np.real(np.fft.fftshift(np.fft.ifft(np.fft.ifftshift(Hd)))) * _kaiser_1d(taps, beta)
    return h / h.sum()


def _toolbox_2d_unnormalised(gnyq: float, ratio: int, taps: int, beta: float) -> np.ndarray:
    """``fwind1(Hd, kaiser(N))`` of ``genMTF.m``: the frequency-sampled Gaussian, inverse DFT,
    rotated Kaiser window, not rescaled."""
    alpha = (taps - 1) / (2.0 * ratio) / math.sqrt(-2.0 * math.log(gnyq))
    k = np.arange(taps) - taps // 2
    Hd = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * alpha ** 2))
    return np.real(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(Hd)))) * kaiser_radial(taps, beta)


def _toolbox_2d(gnyq: float, ratio: int, taps: int, beta: float) -> np.ndarray:
    h = _toolbox_2d_unnormalised(gnyq, ratio, taps, beta)
    return h / h.sum()


@functools.lru_cache(maxsize=256)
def toolbox_dc_gain(gnyq: float, ratio: int, taps: int = DEFAULT_TAPS, beta: float = DEFAULT_BETA) -> float:
    r"""Sum of the *unnormalised* toolbox kernel ``fwind1(Hd, kaiser(N))`` (``genMTF.m``).

    MATLAB's ``fwind1`` does not rescale its output, so the toolbox's MTF kernels have a DC gain
    slightly below 1: the frequency-sampled Gaussian :math:`h_0 = \mathcal F^{-1}[H_d]` sums to
    :math:`H_d(0) = 1`, and the radial Kaiser window :math:`w` (:func:`kaiser_radial`, 1 at the
    centre only) removes a little mass. :func:`mtf_kernel` normalises its kernels to unit sum;
    code that reproduces the toolbox multiplies a filtered image back by this gain.

    >>> round(toolbox_dc_gain(0.35, 4), 8), round(toolbox_dc_gain(0.27, 4), 8)
    (0.99889927, 0.99863111)
    """
    return float(_toolbox_2d_unnormalised(float(gnyq), int(ratio), int(taps), float(beta)).sum())


@functools.lru_cache(maxsize=512)
def _kernel_cached(gnyq: float, ratio: int, taps: int, beta: float, design: str,
                   ndim: int) -> np.ndarray:
    if design == "toolbox":
        tb = _toolbox_1d if ndim == 1 else _toolbox_2d
        h = tb(gnyq, ratio, taps, beta)
    else:
        ex = _exact_1d if ndim == 1 else _exact_2d
        h = _tune(lambda s: ex(s, taps, beta), gnyq, ratio, taps)
    h.setflags(write=False)
    return h


def _check_design(design: str) -> str:
    d = str(design).lower()
    if d not in ("exact", "toolbox"):
        raise ParameterError(f"design must be 'exact' or 'toolbox', got {design!r}")
    return d


def mtf_kernel(gnyq: float, ratio: int, taps: int = DEFAULT_TAPS, *, design: str = "exact",
               beta: float = DEFAULT_BETA) -> np.ndarray:
    r"""2-D MTF-matched kernel (``taps`` x ``taps``, Kaiser-windowed Gaussian, sums to 1).

    Parameters
    ----------
    gnyq : float
        Gain at the LR Nyquist frequency 1/(2 ratio), in (0, 1).
    ratio : int
        Resolution ratio.
    taps : int
        Odd kernel size (41 in the toolbox).
    design : {"exact", "toolbox"}
        ``exact``: :math:`\sigma` tuned so the kernel's measured gain is ``gnyq``; ``toolbox``:
        the frequency-sampling construction of ``genMTF.m`` (about 2.5 % wider, see the module
        notes).
    beta : float
        Kaiser window parameter (0.5, MATLAB's default).

    >>> h = mtf_kernel(0.22, 4)
    >>> round(gnyq_of_kernel(h, 4), 9), round(gnyq_of_kernel(h, 4, axis=-2), 9)
    (0.22, 0.22)
    """
    return np.array(_kernel_cached(_check_gnyq(gnyq), _check_ratio(ratio), _check_taps(taps),
                                   float(beta), _check_design(design), 2))


def mtf_kernel_1d(gnyq: float, ratio: int, taps: int = DEFAULT_TAPS, *, design: str = "exact",
                  beta: float = DEFAULT_BETA) -> np.ndarray:
    """1-D MTF-matched kernel (Kaiser-windowed Gaussian, sums to 1) for separable blurs.

    >>> round(gnyq_of_kernel(mtf_kernel_1d(0.15, 2), 2), 9)
    0.15
    """
    return np.array(_kernel_cached(_check_gnyq(gnyq), _check_ratio(ratio), _check_taps(taps),
                                   float(beta), _check_design(design), 1))


def mtf_blur(sensor: str | SensorMTF | None = None, ratio: int | None = None, *, gnyq: Any = None,
             pan: bool = False, bands: Sequence[int | str] | None = None,
             n_bands: int | None = None,
             taps: int = DEFAULT_TAPS, mode: str = "replicate", separable: bool = False,
             design: str = "exact", beta: float = DEFAULT_BETA) -> Blur:
    r"""A :class:`~hysupp.physics.blur.Blur` with MTF-matched kernels (one per band).

    Parameters
    ----------
    sensor : str or SensorMTF, optional
        A sensor of the table (:func:`get_sensor`); its MS gains (or PAN gain with ``pan=True``)
        are used unless ``gnyq`` is given (then ``sensor`` is only recorded).
    ratio : int, optional
        Resolution ratio; defaults to the sensor's nominal ratio.
    gnyq : float or array_like, optional
        Explicit gains: a number (one kernel, all bands), ``(L,)`` (per band), or, with
        ``separable=True``, ``(L, 2)`` / ``(1, 2)`` per-axis gains ``(along rows, along columns)``.
    pan : bool
        Use the sensor's PAN gain (one kernel).
    bands : sequence of int or str, optional
        Subset of the sensor's MS bands (0-based indices or names).
    n_bands : int, optional
        Number of bands for uniform-gain sensors (PRISMA, generic); checks the count otherwise.
    taps : int
        Odd kernel size, 41 by default.
    mode : str
        Border mode of the blur (``replicate`` as the toolbox's ``imfilter``).
    separable : bool
        Product of two 1-D MTF kernels (allows anisotropic per-axis gains) instead of the 2-D
        kernel with a rotated window.
    design, beta
        See :func:`mtf_kernel`.

    Returns
    -------
    Blur
        Its ``to_dict()`` records sensor, ratio, gains, taps, design, window and mode.

    >>> B = mtf_blur(gnyq=[[0.3, 0.2]], ratio=4, separable=True)     # anisotropic
    >>> B.kernel_size, B.to_dict()["gnyq"]
    ((41, 41), [[0.3, 0.2]])
    """
    entry = get_sensor(sensor) if sensor is not None else None
    if ratio is None:
        if entry is None:
            raise ParameterError("give ratio (or a sensor, whose nominal ratio is used)")
        ratio = entry.ratio
    r = _check_ratio(ratio)
    taps = _check_taps(taps)
    design = _check_design(design)
    if gnyq is None:
        if entry is None:
            raise ParameterError("give a sensor or explicit gains gnyq=")
        if pan:
            g = np.asarray(entry.pan_gnyq, dtype=np.float64)
        else:
            g = entry.gains(n_bands=n_bands, bands=bands)
            if entry.uniform and n_bands is None and bands is None:
                g = np.asarray(g[0])
    else:
        g = np.asarray(gnyq, dtype=np.float64)
        if n_bands is not None and g.ndim >= 1 and g.shape[0] not in (1, n_bands):
            raise InputError(f"{g.shape[0]} gains given for n_bands={n_bands}")
    if g.size == 0:
        raise ParameterError("no Nyquist gains given")
    if g.ndim == 2 and g.shape[1] == 2 and not separable:
        raise ParameterError("per-axis gains (L, 2) need separable=True")
    if g.ndim > 2 or (g.ndim == 2 and g.shape[1] != 2):
        raise ParameterError(f"gnyq must be a number, (L,) or (L, 2); got shape {g.shape}")
    for v in g.ravel():
        _check_gnyq(v)
    meta = {"kind": "mtf", "sensor": entry.key if entry is not None else None, "ratio": r,
            "gnyq": g.tolist() if g.ndim else [float(g)], "pan": bool(pan), "taps": taps,
            "design": design, "window": "kaiser", "beta": float(beta),
            "bands": list(bands) if bands is not None else None,
            "sigma_formula": (np.vectorize(lambda v: mtf_sigma(v, r))(g)).tolist() if g.ndim
            else [mtf_sigma(float(g), r)]}
    if separable:
        yx = np.repeat(np.atleast_1d(g)[:, None], 2, axis=1) if g.ndim < 2 else g
        ky = np.stack([mtf_kernel_1d(v, r, taps, design=design, beta=beta) for v in yx[:, 0]])
        kx = np.stack([mtf_kernel_1d(v, r, taps, design=design, beta=beta) for v in yx[:, 1]])
        return Blur.separable(ky, kx, mode, _meta=meta)
    ks = np.stack([mtf_kernel(v, r, taps, design=design, beta=beta) for v in np.atleast_1d(g)])
    return Blur(ks, mode, _meta=meta)
