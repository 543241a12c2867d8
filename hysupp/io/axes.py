"""Axis order of a 3-D array: which axis holds the bands, checked rather than assumed.

A NumPy array handed to hysupp is channels-first ``(L, H, W)`` by convention and a MATLAB cube is
``(H, W, L)``, but files and arrays arrive in both orders. :func:`infer_axis_order` decides which
axis is spectral from, in this order:

1. an explicit ``layout`` (``"LHW"``, ``"HWL"``, ``"LWH"``, ...: the letter at each position names
   what that axis of the array holds);
2. the band count: the one axis whose length equals ``n_bands`` / the number of wavelengths;
3. spectral smoothness: the *roughness* of an axis (:func:`roughness`) is ``mean |x[k+1] - x[k]|``
   over ``mean |x - mean(x)|`` along its fibres, after averaging 4 x 4 neighbourhoods of the two
   other axes (which lowers white noise fourfold). Reflectance spectra are smooth (0.04-0.10 on the
   shared AVIRIS, ROSIS, EnMAP and ENVI scenes; up to 0.65 with AWGN at 10 dB), image rows and
   columns rougher (0.13-1.4; a Gaussian-random-field scene is the smoothest seen, 0.13 against
   0.07 for its spectra). The spectral axis is the smoothest one when its roughness is at most 0.7
   and the next axis is at least 1.7 times rougher (measured: 1.83 for the GRF scene, 2.2-20 for
   the others, clean or at 10-30 dB SNR; lower ratios are refused, never guessed);
4. a multispectral image (at most 32 bands) has a spectrum rougher than its image axes: an axis of
   at most 32 values that is 1.7 times rougher than both others, which agree within 1.3 and have
   structure (roughness at most 0.8), is spectral;
5. an image with few bands: an axis too short to measure (fewer than 8 values) beside two
   structured axes neither of which is clearly smoother than the other (not 1.7 times);
6. data with no structure along any axis (roughness at least 1.2 everywhere, white noise gives
   1.41) or too small to measure follow the ``convention`` of the source, noted; so does data
   whose smoothest axis is the convention's band axis, without a clear margin.

Anything else is ambiguous: :class:`~hysupp.errors.LayoutError` lists the candidate layouts with
their roughness and asks for ``layout=``. The two image axes keep their order (``HW``); pass
``layout=`` to swap them.

Example
-------
>>> import numpy as np
>>> from hysupp.io.axes import infer_axis_order, apply_layout
>>> wl = np.linspace(400, 2400, 120)
>>> spectra = np.stack([np.sin(wl / 300.0 + k) + 2.0 for k in range(3)])        # 3 smooth spectra
>>> rng = np.random.default_rng(0)
>>> abund = rng.dirichlet(np.ones(3), size=(20, 30))                             # (20, 30, 3) rough maps
>>> hwl = abund @ spectra                                                        # (H, W, L)
>>> layout, evidence = infer_axis_order(hwl)
>>> layout, evidence["decided_by"], apply_layout(hwl, layout).shape
('HWL', 'spectral smoothness', (120, 20, 30))
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from hysupp.errors import LayoutError

__all__ = ["LAYOUTS", "normalise_layout", "apply_layout", "roughness", "infer_axis_order", "to_lhw"]

#: every order of the three axes
LAYOUTS = tuple("".join(p) for p in itertools.permutations("LHW"))
SMOOTH_MAX = 0.7        # roughness of a spectral axis (0.04-0.10 clean, up to 0.65 at 10 dB SNR)
SMOOTH_RATIO = 1.7      # next axis at least this much rougher
NOISE_MIN = 1.2         # no structure along any axis (white noise: 1.41)
SPATIAL_MAX = 0.8       # image axes of a multispectral image have structure
MS_MAX_BANDS = 32
MIN_LENGTH = 8          # shorter axes are not measured (too few values to tell smooth from rough)
BLOCK = 4               # neighbourhood averaged before measuring (noise / 4)


def normalise_layout(layout: str) -> str:
    """``"hwl"``, ``"(H, W, L)"``, ``"HWB"``/``"HWC"`` (bands/channels) -> ``"HWL"``; anything else
    raises :class:`LayoutError` listing the valid values."""
    text = "".join(ch for ch in str(layout).upper() if ch.isalpha()).replace("B", "L").replace("C", "L")
    if text not in LAYOUTS:
        raise LayoutError(f"layout {layout!r} is not an order of the three axes; use one of "
                          f"{', '.join(LAYOUTS)} (L = bands, H = rows, W = columns)")
    return text


def apply_layout(array: np.ndarray, layout: str) -> np.ndarray:
    """``array`` (whose axes are named by ``layout``) as ``(L, H, W)`` (a view)."""
    lay = normalise_layout(layout)
    if np.ndim(array) != 3:
        raise LayoutError(f"layout {lay!r} needs a 3-D array, got shape {np.shape(array)}")
    return np.transpose(array, (lay.index("L"), lay.index("H"), lay.index("W")))


def _layout_with_bands_at(axis: int) -> str:
    rest = iter("HW")
    return "".join("L" if i == axis else next(rest) for i in range(3))


def _central(n: int, limit: int) -> slice:
    start = max(0, (n - limit) // 2)
    return slice(start, start + min(n, limit))


def roughness(array: np.ndarray, axis: int, *, block: int = BLOCK) -> float:
    """``mean |first difference|`` over ``mean |deviation from the fibre mean|`` along ``axis``
    (NaN-aware): about 1.41 for white noise, near 0 for smooth sequences; NaN for an axis shorter
    than :data:`MIN_LENGTH` or constant fibres.

    The fibres are first averaged over ``block`` x ``block`` neighbourhoods of the two other axes
    (when they have at least ``4 block`` values), which lowers white noise by ``block`` without
    touching the signal along ``axis``: the spectral axis stays the smoothest down to 10 dB SNR on
    the shared scenes. Only a central window is read (at most 512 values along ``axis``, 128 along
    the others), so the cost does not grow with the scene.
    """
    arr = np.asarray(array)
    n = arr.shape[axis]
    if n < MIN_LENGTH:
        return float("nan")
    x = np.moveaxis(arr, axis, 0)
    x = x[_central(n, 512), _central(x.shape[1], 128), _central(x.shape[2], 128)].astype(np.float32)
    m, p, q = x.shape
    bp = block if p >= 4 * block else 1
    bq = block if q >= 4 * block else 1
    x = x[:, : p // bp * bp, : q // bq * bq].reshape(m, p // bp, bp, q // bq, bq)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN blocks and fibres
        fib = np.nanmean(x, axis=(2, 4)).reshape(m, -1).T.astype(np.float64)
        dev = np.nanmean(np.abs(fib - np.nanmean(fib, axis=1, keepdims=True)))
        step = np.nanmean(np.abs(np.diff(fib, axis=1)))
    if not (np.isfinite(dev) and np.isfinite(step)) or dev <= 0:
        return float("nan")
    return float(step / dev)


def infer_axis_order(array: np.ndarray, wavelengths: Any = None, n_bands: int | None = None, *,
                     layout: str | None = None, convention: str | None = None) -> tuple[str, dict[str, Any]]:
    """The layout of a 3-D ``array`` (see the module docstring).

    Parameters
    ----------
    array : array-like, 3-D
    wavelengths : sequence, optional
        Band centres: their count names the spectral axis (``n_bands`` too).
    layout : str, optional
        An explicit order; returned (normalised) without checking the values.
    convention : str, optional
        The source's usual order (``"LHW"`` for NumPy, ``"HWL"`` for MATLAB): used only when the
        values carry no structure to check. Without it such data are refused.

    Returns
    -------
    layout : str
        One of :data:`LAYOUTS`.
    evidence : dict
        ``decided_by`` (``"layout="``, ``"band count"``, ``"spectral smoothness"``,
        ``"multispectral"``, ``"convention"``), ``roughness`` (per axis), ``shape``, ``note`` (one
        sentence for the scene notes) and ``against_convention`` (True when the result differs from
        ``convention``: the caller warns).

    Raises
    ------
    LayoutError
        No axis matches the band count, or the evidence does not single out one axis.
    """
    shape = tuple(int(s) for s in np.shape(array))
    if len(shape) != 3:
        raise LayoutError(f"axis order: expected a 3-D array, got shape {shape}")
    conv = normalise_layout(convention) if convention else None
    ev: dict[str, Any] = {"shape": list(shape), "convention": conv}

    def done(lay: str, by: str, why: str) -> tuple[str, dict[str, Any]]:
        ev.update(decided_by=by, layout=lay, against_convention=bool(conv and lay != conv))
        ev["note"] = (f"array of shape {shape} read as {lay} (bands on axis {lay.index('L')}): {why}"
                      + (f"; not the {conv} convention of its source" if ev["against_convention"] else ""))
        return lay, ev

    if layout is not None:
        lay = normalise_layout(layout)
        return done(lay, "layout=", f"layout={lay!r} given")
    n = n_bands if n_bands is not None else (None if wavelengths is None else int(np.size(wavelengths)))
    cands = [0, 1, 2]
    if n is not None:
        cands = [a for a in range(3) if shape[a] == n]
        if not cands:
            raise LayoutError(f"array of shape {shape}: no axis has the {n} bands of the wavelengths; "
                              f"pass layout= (e.g. 'LHW' or 'HWL') or the matching wavelengths")
        if len(cands) == 1:
            return done(_layout_with_bands_at(cands[0]), "band count",
                        f"only axis {cands[0]} has the {n} bands of the wavelengths")
    rough = [roughness(array, a) for a in range(3)]
    ev["roughness"] = [None if np.isnan(r) else round(r, 4) for r in rough]
    measured = [a for a in range(3) if not np.isnan(rough[a])]
    text = ", ".join(f"axis {a}: {rough[a]:.3g}" for a in measured)
    if len(measured) >= 2:
        order = sorted(measured, key=lambda a: rough[a])
        best, second = order[0], order[1]
        if best in cands and rough[best] <= SMOOTH_MAX and rough[second] >= SMOOTH_RATIO * rough[best]:
            return done(_layout_with_bands_at(best), "spectral smoothness",
                        f"axis {best} is the smooth (spectral) one (roughness {text})")
        short = [a for a in cands if a not in measured]
        if len(short) == 1 and len(measured) == 2 and rough[second] < SMOOTH_RATIO * rough[best] \
                and rough[best] < NOISE_MIN:
            return done(_layout_with_bands_at(short[0]), "few bands",
                        f"axis {short[0]} has {shape[short[0]]} value(s) and neither other axis is the smooth "
                        f"spectral one: they look like the two axes of an image (roughness {text})")
        if len(measured) == 3:
            for a in cands:
                others = [rough[b] for b in range(3) if b != a]
                if (shape[a] <= MS_MAX_BANDS and rough[a] >= SMOOTH_RATIO * max(others)
                        and max(others) <= SPATIAL_MAX and max(others) <= 1.3 * min(others)):
                    return done(_layout_with_bands_at(a), "multispectral",
                                f"axis {a} ({shape[a]} values) differs from the two image axes, which agree "
                                f"(roughness {text})")
        if rough[best] >= NOISE_MIN and conv is not None and conv.index("L") in cands:
            return done(conv, "convention", f"no structure along any axis to check the order (roughness "
                                            f"{text}): the {conv} convention of its source")
        if conv is not None and best == conv.index("L") and best in cands:
            return done(conv, "convention", f"the {conv} convention of its source, whose band axis is the "
                                            f"smoothest though not clearly (roughness {text})")
    elif conv is not None and conv.index("L") in cands:
        return done(conv, "convention", f"too few values along the axes to check the order (fewer than "
                                        f"{MIN_LENGTH} on two axes): the {conv} convention of its source")
    options = ", ".join(f"{_layout_with_bands_at(a)!r} (bands on axis {a}"
                        + (f", roughness {rough[a]:.3g})" if not np.isnan(rough[a]) else ")") for a in cands)
    why = ("no axis is clearly the smooth spectral one" if len(measured) >= 2 else
           f"too few values along its axes to check (fewer than {MIN_LENGTH})")
    raise LayoutError(f"array of shape {shape}: the axis order is ambiguous ({options}); {why}. Pass layout= "
                      f"(--layout), e.g. layout='LHW' for (bands, rows, columns) or layout='HWL' for (rows, "
                      f"columns, bands)")


def to_lhw(array: np.ndarray, *, layout: str | None = None, convention: str | None = None,
           wavelengths: Any = None, n_bands: int | None = None, what: str = "array"
           ) -> tuple[np.ndarray, str, dict[str, Any]]:
    """``array`` as ``(L, H, W)`` with :func:`infer_axis_order`: returns ``(cube, note, evidence)``
    and emits a :class:`~hysupp.errors.LayoutWarning` when the order read differs from the
    ``convention`` of the source (the array was transposed on evidence, not by rule) or follows the
    convention without the values confirming it (arrays too small to measure excepted)."""
    from hysupp.errors import LayoutWarning
    from hysupp.io._warn import warn_user

    lay, ev = infer_axis_order(array, wavelengths, n_bands, layout=layout, convention=convention)
    cube = apply_layout(np.asarray(array), lay)
    note = f"{what}: {ev['note']}" + ("" if lay == "LHW" else f"; transposed to (L, H, W) = {tuple(cube.shape)}")
    measured = sum(r is not None for r in ev.get("roughness") or [])
    if ev["against_convention"] and ev["decided_by"] != "layout=":
        warn_user(note + "; pass layout= to read it otherwise", LayoutWarning)
    elif ev["decided_by"] == "convention" and measured >= 2:   # the values could not confirm it
        warn_user(note + "; the values do not confirm the order: pass layout= to state it", LayoutWarning)
    return cube, note, ev
