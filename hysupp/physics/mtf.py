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

The sensor table :data:`SENSORS` (one :class:`SensorMTF` per sensor: band names, per-band MS
gains, PAN gain, nominal ratio and the source of the numbers) is data; :func:`get_sensor` looks a
sensor up by name or alias. :func:`mtf_blur` returns a :class:`~hysupp.physics.blur.Blur` with one
kernel per band.

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
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.optimize import brentq

from hysupp.errors import InputError, ParameterError
from hysupp.physics.blur import Blur

__all__ = [
    "SENSORS",
    "SensorMTF",
    "get_sensor",
    "gnyq_from_sigma",
    "gnyq_of_kernel",
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
# sensor table
# --------------------------------------------------------------------------------------------
# Where the numbers come from (values only; no code was taken):
# [TB13]  Pansharpening Toolbox v1.3 (Vivone et al., TGRS 2015), MTF.m / MTF_PAN.m /
#         resize_images.m: QB, IKONOS, GeoEye1, WV2 MS and PAN gains; 'none' = 0.29 (MS) /
#         0.15 (PAN). Public copy read: github.com/liuyuim/Pansharpening-Evaluation,
#         "Toolbox/Pansharpening Tool ver 1.3/resize_images.m" @ 32ad0a4.
# [DLP]   DLPan-Toolbox (Deng et al., IEEE GRSM 2022), Matlab test toolbox, Tools/genMTF.m and
#         Tools/MTF_PAN.m: the same QB/IKONOS/GeoEye1/WV2 values and WV3 (MS and PAN = 0.14).
#         github.com/liangjiandeng/DLPan-Toolbox @ 3af93d2.
# [HSTB]  Later versions of the toolbox's MTF.m / MTF_PAN.m extended for hyperspectral
#         pansharpening (Loncan et al., GRSM 2015): 'Pleiades' MS 0.3 x 4 / PAN 0.15,
#         'HYP' (EO-1 Hyperion, 242 bands) MS per-band blocks / PAN 0.11 (ALI PAN),
#         'Ali_MS' 9 bands / 'Ali_PAN' 0.11 (marked "To check" in that source). Read from public
#         copies in the code index (the copies do not name their upstream repository).
# [HPTB]  Hyperspectral pansharpening toolbox (Ciotola, Vivone et al.),
#         github.com/matciotola/hyperspectral_pansharpening_toolbox, Utils/spectral_tools.py @
#         056c0cd: PRISMA HS 0.3 (all bands), PAN 0.2 (citing ASI's PRISMA mission status, 2021).
_SRC_TB = ("Vivone et al. 2015 Pansharpening Toolbox (MTF.m, MTF_PAN.m, resize_images.m); "
           "copies: liuyuim/Pansharpening-Evaluation@32ad0a4 (ver 1.3), "
           "liangjiandeng/DLPan-Toolbox@3af93d2 (Tools/genMTF.m, MTF_PAN.m)")
_SRC_HSTB = ("hyperspectral extension of the Pansharpening Toolbox MTF.m/MTF_PAN.m "
             "(Loncan et al., IEEE GRSM 2015), public copies")

_WV_BANDS = ("Coastal", "Blue", "Green", "Yellow", "Red", "RedEdge", "NIR1", "NIR2")
_BGRN = ("Blue", "Green", "Red", "NIR")


def _norm_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower().replace("é", "e"))


@dataclass(frozen=True)
class SensorMTF:
    """Nyquist gains of one sensor (a row of the sensor table).

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


def _hyperion_gains() -> tuple[float, ...]:
    g = np.empty(242)
    g[0:21] = 0.27     # VNIR bands 1-21
    g[21:41] = 0.28    # 22-41
    g[41:70] = 0.26    # 42-70
    g[70:130] = 0.30   # SWIR 71-130
    g[130:242] = 0.27  # 131-242
    return tuple(float(v) for v in g)


_TABLE = [
    SensorMTF("QB", "QuickBird", _BGRN, (0.34, 0.32, 0.30, 0.22), 0.15, 4,
              ("QuickBird", "QB"), _SRC_TB),
    SensorMTF("IKONOS", "IKONOS", _BGRN, (0.26, 0.28, 0.29, 0.28), 0.17, 4, ("IKONOS",), _SRC_TB),
    SensorMTF("GeoEye1", "GeoEye-1", _BGRN, (0.23, 0.23, 0.23, 0.23), 0.16, 4,
              ("GeoEye-1", "GeoEye1", "GE1", "GE-1"), _SRC_TB),
    SensorMTF("WV2", "WorldView-2", _WV_BANDS, (0.35,) * 7 + (0.27,), 0.11, 4,
              ("WorldView-2", "WorldView2", "WV2", "WV-2"), _SRC_TB),
    SensorMTF("WV3", "WorldView-3", _WV_BANDS,
              (0.325, 0.355, 0.360, 0.350, 0.365, 0.360, 0.335, 0.315), 0.14, 4,
              ("WorldView-3", "WorldView3", "WV3", "WV-3"),
              "DLPan-Toolbox Tools/genMTF.m and MTF_PAN.m (liangjiandeng/DLPan-Toolbox@3af93d2)",
              "VNIR MS bands only; the toolbox's 'WV3_4bands' subset is bands=[1, 2, 4, 6]."),
    SensorMTF("Pleiades", "Pleiades 1A/1B", _BGRN, (0.30, 0.30, 0.30, 0.30), 0.15, 4,
              ("Pleiades", "Pleiades-1", "Pleiades1", "PHR", "Pleiades-1A", "Pleiades-1B"),
              _SRC_HSTB),
    SensorMTF("SPOT7", "SPOT-7 (NAOMI)", _BGRN, (0.29, 0.29, 0.29, 0.29), 0.15, 4,
              ("SPOT-7", "SPOT7", "SPOT 7"),
              "no published toolbox value found; the toolbox's generic default ('none') is used",
              "PLACEHOLDER: generic default gains (0.29 MS, 0.15 PAN); replace with measured "
              "values or pass gnyq= explicitly."),
    SensorMTF("ALI", "EO-1 ALI",
              ("MS-1p", "MS-1", "MS-2", "MS-3", "MS-4", "MS-4p", "MS-5p", "MS-5", "MS-7"),
              (0.29, 0.30, 0.28, 0.29, 0.28, 0.29, 0.25, 0.25, 0.25), 0.11, 3,
              ("ALI", "EO-1 ALI", "EO1-ALI", "Ali_MS"), _SRC_HSTB,
              "the PAN gain 0.11 is marked 'To check' in the source."),
    SensorMTF("Hyperion", "EO-1 Hyperion", tuple(f"B{i:03d}" for i in range(1, 243)),
              _hyperion_gains(), 0.11, 3, ("Hyperion", "HYP", "EO-1 Hyperion", "EO1-Hyperion"),
              _SRC_HSTB,
              "242 bands (1-21: 0.27, 22-41: 0.28, 42-70: 0.26, 71-130: 0.30, 131-242: 0.27); "
              "the PAN gain is the EO-1 ALI PAN (0.11) used with Hyperion in HS pansharpening; "
              "the toolbox's 'HYP_14_33' subset is bands=range(13, 33)."),
    SensorMTF("PRISMA", "PRISMA (ASI)", (), (0.30,), 0.20, 6, ("PRISMA",),
              "matciotola/hyperspectral_pansharpening_toolbox@056c0cd Utils/spectral_tools.py "
              "(PAN value citing ASI's PRISMA mission status, 2021)",
              "uniform HS gain for any number of bands (pass n_bands).", uniform=True),
    SensorMTF("generic", "generic sensor (toolbox default)", (), (0.29,), 0.15, 4,
              ("generic", "none", "default"), _SRC_TB + " ('none' case)",
              "uniform gain for any number of bands.", uniform=True),
]

#: The sensor table: canonical key -> :class:`SensorMTF`.
SENSORS: dict[str, SensorMTF] = {s.key: s for s in _TABLE}

_LOOKUP: dict[str, str] = {}
for _s in _TABLE:
    for _a in (_s.key, _s.name) + _s.aliases:
        _LOOKUP[_norm_name(_a)] = _s.key


def list_sensors() -> list[str]:
    """Canonical keys of the sensor table."""
    return list(SENSORS)


def get_sensor(name: str | SensorMTF) -> SensorMTF:
    """Look a sensor up by key, full name or alias (case, spaces, '-', '_' ignored).

    Raises
    ------
    hysupp.errors.InputError
        For an unknown name; the message lists the known sensors.

    >>> get_sensor("worldview-3").key, get_sensor("GE1").pan_gnyq
    ('WV3', 0.16)
    """
    if isinstance(name, SensorMTF):
        return name
    key = _LOOKUP.get(_norm_name(name))
    if key is None:
        known = ", ".join(f"{s.key} ({s.name})" for s in _TABLE)
        raise InputError(f"unknown sensor {name!r}; known sensors: {known}")
    return SENSORS[key]


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


def _kaiser_radial(taps: int, beta: float) -> np.ndarray:
    """A 1-D Kaiser window rotated into a circularly symmetric 2-D one (zero beyond radius 1)."""
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
    h = np.outer(g, g) * _kaiser_radial(taps, beta)
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


def _toolbox_2d(gnyq: float, ratio: int, taps: int, beta: float) -> np.ndarray:
    alpha = (taps - 1) / (2.0 * ratio) / math.sqrt(-2.0 * math.log(gnyq))
    k = np.arange(taps) - taps // 2
    Hd = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * alpha ** 2))
    h = np.real(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(Hd)))) * _kaiser_radial(taps, beta)
    return h / h.sum()


@functools.lru_cache(maxsize=256)
def toolbox_dc_gain(gnyq: float, ratio: int, taps: int = DEFAULT_TAPS, beta: float = DEFAULT_BETA) -> float:
    r"""Sum of the *un-normalised* toolbox kernel ``fwind1(Hd, kaiser(N))`` (``genMTF.m``).

    MATLAB's ``fwind1`` does not rescale its output, so the toolbox's MTF kernels have a DC gain
    slightly below 1: the frequency-sampled Gaussian :math:`h_0 = \mathcal F^{-1}[H_d]` sums to
    :math:`H_d(0) = 1` and the radial Kaiser window (1 at the centre only) removes a little mass.
    :func:`mtf_kernel` normalises every kernel to unit sum; multiplying a ``design="toolbox"``
    blur by this gain reproduces the toolbox's filtered values exactly (any ratio).

    >>> round(toolbox_dc_gain(0.35, 4), 5), round(toolbox_dc_gain(0.27, 4), 5)
    (0.9989, 0.99863)
    """
    g = _check_gnyq(gnyq)
    r = _check_ratio(ratio)
    n = _check_taps(taps)
    alpha = (n - 1) / (2.0 * r) / math.sqrt(-2.0 * math.log(g))
    k = np.arange(n) - n // 2
    Hd = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * alpha ** 2))
    h = np.real(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(Hd)))) * _kaiser_radial(n, float(beta))
    return float(h.sum())


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
