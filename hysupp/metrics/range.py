r"""How far a fused image's values fall outside the range of the images it was made from.

A fused image estimates the same scene as its inputs, in the same units: with
:math:`[a, b]` the range of all input values (e.g. the HS and MS images, or the MS and PAN) and
:math:`s = b - a` its span, a value :math:`v` is *outside* when :math:`v < a` or :math:`v > b`
and *far outside* when :math:`v < a - f s` or :math:`v > b + f s` (``far``, 0.25 by default).
Sharpening legitimately overshoots a little (the HR scene has extremes that the blurred HS does
not show), but values far outside the span (spikes, sign flips, a result on another scale)
mean the method went wrong. :func:`fused_range_check` measures this and issues a
:class:`~hysupp.errors.FusedRangeWarning` when more than ``max_fraction`` (0.1 % by default) of
the fused values are far outside, or any is NaN/Inf, or (with ``max_excess``) any value lies more
than ``max_excess`` spans outside: a few such values are absurd however rare (ratio-based
pansharpening, e.g. MTF-GLP-HPM, SFIM, MF, divides by a low-pass PAN that can come near zero; on
the WV2 pair at full resolution some values reach hundreds of spans; the pansharpening runs pass
:data:`MAX_EXCESS`).

Example
-------
>>> import numpy as np
>>> hs, ms = np.full((2, 4, 4), 0.2), np.full((1, 8, 8), 0.6)
>>> fused = np.full((2, 8, 8), 0.4); fused[0, 0, 0] = 0.65
>>> r = fused_range_check(fused, hs, ms)
>>> r["fraction_outside"], round(r["excess_above"], 3), r["flagged"]
(0.0078125, 0.125, False)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from hysupp.errors import FusedRangeWarning, InputError

__all__ = ["FAR", "MAX_EXCESS", "MAX_FRACTION", "fused_range_check"]

#: Distance from the inputs' range, in spans, beyond which a value is "far outside".
FAR = 0.25
#: Fraction of far-outside values above which the fused image is flagged.
MAX_FRACTION = 1e-3
#: Distance from the range, in spans, beyond which even one value flags the fused image (the
#: pansharpening runs use it; sharpening overshoots stay within about one span on real pairs).
MAX_EXCESS = 5.0


def _planes(x: np.ndarray):
    """2-D slices of ``x`` (bands of a cube), to keep temporaries one band large."""
    x = np.asarray(x)
    if x.ndim <= 2:
        yield x
    else:
        yield from x.reshape(-1, *x.shape[-2:])


def fused_range_check(fused: Any, *inputs: Any, far: float = FAR, max_fraction: float = MAX_FRACTION,
                      warn: bool = True, what: str = "fused image", max_excess: float | None = None) -> dict[str, Any]:
    """Values of ``fused`` outside the range of ``inputs`` (module docstring).

    Parameters
    ----------
    fused : array_like
        The fused image (any shape).
    *inputs : array_like
        The images it was made from (at least one); their finite values define the range.
    far : float
        Distance from the range, in multiples of its span, that counts as far outside.
    max_fraction : float
        Fraction of far-outside (or non-finite) values above which the result is flagged.
    warn : bool
        Issue a :class:`~hysupp.errors.FusedRangeWarning` when flagged.
    what : str
        Name of the image in the warning (e.g. ``"HySure output"``).
    max_excess : float, optional
        Also flag when any value lies more than ``max_excess`` spans outside the range (None: off).

    Returns
    -------
    dict
        ``input_min``, ``input_max``, ``fused_min``, ``fused_max`` (finite values),
        ``fraction_outside`` and ``fraction_far`` (of all fused values), ``fraction_nonfinite``,
        ``excess_below`` = (input_min - fused_min) / span and ``excess_above`` =
        (fused_max - input_max) / span (0 when inside), ``far``, ``max_fraction`` and
        ``max_excess`` and ``flagged``. JSON-serialisable.
    """
    if not inputs:
        raise InputError("fused_range_check needs at least one input image")
    if not far >= 0 or not 0 <= max_fraction <= 1:
        raise InputError(f"fused_range_check: far must be >= 0 and max_fraction in [0, 1], got {far}, {max_fraction}")
    lo, hi = np.inf, -np.inf
    for x in inputs:
        for p in _planes(x):
            v = np.asarray(p, dtype=np.float64)
            ok = np.isfinite(v)
            if ok.any():
                lo, hi = min(lo, float(v[ok].min())), max(hi, float(v[ok].max()))
    if not np.isfinite(lo):
        raise InputError("fused_range_check: the input images have no finite value")
    span = hi - lo if hi > lo else max(abs(hi), 1e-300)
    n = outside = far_out = nonfinite = 0
    fmin, fmax = np.inf, -np.inf
    for p in _planes(fused):
        v = np.asarray(p, dtype=np.float64)
        n += v.size
        ok = np.isfinite(v)
        nonfinite += int(v.size - np.count_nonzero(ok))
        v = v[ok] if not ok.all() else v
        if v.size:
            fmin, fmax = min(fmin, float(v.min())), max(fmax, float(v.max()))
            outside += int(np.count_nonzero((v < lo) | (v > hi)))
            far_out += int(np.count_nonzero((v < lo - far * span) | (v > hi + far * span)))
    n = max(n, 1)
    res = {
        "input_min": lo, "input_max": hi,
        "fused_min": fmin if np.isfinite(fmin) else None, "fused_max": fmax if np.isfinite(fmax) else None,
        "fraction_outside": outside / n, "fraction_far": far_out / n, "fraction_nonfinite": nonfinite / n,
        "excess_below": max(lo - fmin, 0.0) / span if np.isfinite(fmin) else 0.0,
        "excess_above": max(fmax - hi, 0.0) / span if np.isfinite(fmax) else 0.0,
        "far": far, "max_fraction": max_fraction, "max_excess": max_excess,
    }
    absurd = max_excess is not None and max(res["excess_below"], res["excess_above"]) > max_excess
    res["flagged"] = bool(res["fraction_far"] > max_fraction or nonfinite > 0 or absurd)
    if warn and res["flagged"]:
        detail = (f"{100 * res['fraction_far']:.3g} % of its values lie more than {far:g} x the inputs' span "
                  f"outside the inputs' range [{lo:.4g}, {hi:.4g}] (fused range [{fmin:.4g}, {fmax:.4g}])")
        if absurd:
            detail += (f"; the farthest lie {max(res['excess_below'], res['excess_above']):.3g} spans outside (more "
                       f"than {max_excess:g}): absurd values, not sharpening overshoot")
        if nonfinite:
            detail += f"; {nonfinite} value(s) are NaN/Inf"
        warnings.warn(f"{what}: {detail}", FusedRangeWarning, stacklevel=2)
    return res
