r"""Proximal operators shared by the ADMM solvers (SUnSAL, CLSUnSAL, SUnSAL-TV, ...).

The proximal operator of a closed convex function :math:`g` with step :math:`t > 0` is

.. math::

    \operatorname{prox}_{t g}(v) = \arg\min_x \ t\, g(x) + \tfrac12 \lVert x - v \rVert_2^2 .

This module gives the closed forms used by sparse unmixing:

=======================================  ==================================================
:math:`g`                                :math:`\operatorname{prox}_{t g}(v)`
=======================================  ==================================================
:math:`\lVert x \rVert_1`                :func:`soft_threshold`: :math:`\operatorname{sign}(v)\max(|v| - t, 0)`
:math:`\lVert x \rVert_1 + \iota_{\ge 0}`  :func:`soft_threshold` with ``nonneg=True``: :math:`\max(v - t, 0)`
:math:`\lVert x \rVert_0` (times         :func:`hard_threshold`: :math:`v\,[\,|v| > \sqrt{2t}\,]`
:math:`t`)
:math:`\iota_{\ge 0}`                    :func:`project_nonneg`: :math:`\max(v, 0)`
:math:`\sum_i \lVert x_{i,:} \rVert_2`   :func:`group_soft_threshold`: :math:`v_{i,:}\max(1 - t / \lVert v_{i,:}\rVert_2, 0)`
(:math:`\ell_{2,1}`, rows)
:math:`\iota_{\Delta}` (simplex)         :func:`project_simplex` (re-exported from :mod:`hysupp.optim.simplex`)
=======================================  ==================================================

For a group norm plus non-negativity, :math:`\operatorname{prox}_{t(\lVert\cdot\rVert_2 +
\iota_{\ge 0})}(v) = \operatorname{prox}_{t\lVert\cdot\rVert_2}(\max(v, 0))` (project, then
shrink): ``group_soft_threshold(v, t, nonneg=True)``.

Every function accepts an ``out=`` array (which may be the input itself) so that ADMM loops can
run without temporaries, keeps the floating dtype of its input and accepts a scalar or a
broadcastable array threshold.

References
----------
N. Parikh and S. Boyd, "Proximal algorithms", Foundations and Trends in Optimization 1(3),
127-239 (2014), doi:10.1561/2400000003.

Examples
--------
>>> import numpy as np
>>> from hysupp.optim.prox import soft_threshold, group_soft_threshold
>>> soft_threshold(np.array([-2.0, 0.5, 3.0]), 1.0)
array([-1.,  0.,  2.])
>>> soft_threshold(np.array([-2.0, 0.5, 3.0]), 1.0, nonneg=True)
array([0., 0., 2.])
>>> group_soft_threshold(np.array([[3.0, 4.0], [0.3, 0.4]]), 1.0)   # row norms 5 and 0.5
array([[2.4, 3.2],
       [0. , 0. ]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hysupp.optim.simplex import project_simplex

__all__ = [
    "group_shrink_factors",
    "group_soft_threshold",
    "hard_threshold",
    "project_nonneg",
    "project_simplex",
    "soft_threshold",
]


def _float(x: Any) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _check_t(t: Any) -> Any:
    if np.ndim(t) == 0:
        t = float(t)
        if not t >= 0:
            raise ValueError(f"threshold must be >= 0, got {t!r}")
    elif np.any(np.asarray(t) < 0):
        raise ValueError("threshold must be >= 0 everywhere")
    return t


def soft_threshold(v: Any, t: Any, *, nonneg: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    r"""Soft thresholding, the prox of :math:`t\lVert x\rVert_1` (optionally plus :math:`x \ge 0`).

    .. math::

        S_t(v) = \operatorname{sign}(v) \max(|v| - t, 0), \qquad
        S_t^{+}(v) = \max(v - t, 0)\ \ (\texttt{nonneg=True}).

    Parameters
    ----------
    v : array_like
        Input (any shape).
    t : float or array_like
        Threshold(s) :math:`\ge 0`, broadcast against ``v``.
    nonneg : bool, default False
        Also project onto :math:`x \ge 0` (prox of :math:`t\lVert x\rVert_1 + \iota_{\ge 0}`).
    out : ndarray, optional
        Output array (may be ``v`` itself).

    Returns
    -------
    ndarray
        Same shape (and floating dtype) as ``v``.

    Examples
    --------
    >>> soft_threshold([1.5, -0.2], 0.5)
    array([ 1., -0.])
    """
    v = _float(v)
    t = _check_t(t)
    if nonneg:
        out = np.subtract(v, t, out=out)
        return np.maximum(out, 0, out=out)
    mag = np.abs(v)
    mag -= t
    np.maximum(mag, 0, out=mag)
    # copysign keeps the sign of v (also for v = -0.0), no sign() temporary
    return np.copysign(mag, v, out=out)


def hard_threshold(v: Any, t: Any, *, out: np.ndarray | None = None) -> np.ndarray:
    r"""Hard thresholding :math:`H_\tau(v) = v\,[\,|v| > \tau\,]` (entries with :math:`|v| \le \tau`
    set to zero).

    With :math:`\tau = \sqrt{2 s}` this is the prox of :math:`s \lVert x \rVert_0`.

    Parameters
    ----------
    v : array_like
        Input.
    t : float or array_like
        Threshold :math:`\tau \ge 0`.
    out : ndarray, optional
        Output array (may be ``v``).

    Examples
    --------
    >>> hard_threshold([1.5, -0.2, -3.0], 0.5)
    array([ 1.5,  0. , -3. ])
    """
    v = _float(v)
    t = _check_t(t)
    keep = np.abs(v) > t
    if out is None:
        return np.where(keep, v, np.zeros((), v.dtype))
    np.multiply(v, keep, out=out)
    return out


def project_nonneg(v: Any, *, out: np.ndarray | None = None) -> np.ndarray:
    r"""Projection onto the non-negative orthant, :math:`\max(v, 0)` (prox of :math:`\iota_{\ge 0}`).

    Examples
    --------
    >>> project_nonneg([-1.0, 2.0])
    array([0., 2.])
    """
    return np.maximum(_float(v), 0, out=out)


def group_soft_threshold(v: Any, t: Any, *, axis: int = 1, nonneg: bool = False,
                         out: np.ndarray | None = None) -> np.ndarray:
    r"""Group (vector) soft thresholding: the prox of :math:`t\sum_g \lVert x_g \rVert_2`.

    The groups are the 1-D slices along ``axis`` (``axis=1`` on an ``(M, N)`` matrix: the rows,
    i.e. the :math:`\ell_{2,1}` norm :math:`\sum_i \lVert x_{i,:}\rVert_2` of collaborative sparse
    regression):

    .. math::

        \big[\operatorname{prox}_{t\lVert\cdot\rVert_{2,1}}(v)\big]_g
        = v_g \max\!\Big(1 - \frac{t}{\lVert v_g\rVert_2},\ 0\Big)

    (zero for :math:`\lVert v_g \rVert_2 \le t`, including :math:`v_g = 0`).

    Parameters
    ----------
    v : array_like
        Input.
    t : float or array_like
        Threshold(s) :math:`\ge 0`; an array is broadcast against the group norms (shape of ``v``
        with ``axis`` of length 1 removed or kept).
    axis : int or tuple of int, default 1
        Axis (axes) spanning a group.
    nonneg : bool, default False
        Project onto :math:`x \ge 0` first: the prox of :math:`t\lVert\cdot\rVert_{2,1} +
        \iota_{\ge 0}`.
    out : ndarray, optional
        Output array (may be ``v``).

    Examples
    --------
    >>> group_soft_threshold(np.array([[3.0, -4.0]]), 1.0, nonneg=True)   # [3, 0] then shrink
    array([[2., 0.]])
    """
    v = _float(v)
    t = _check_t(t)
    if nonneg:
        v = np.maximum(v, 0, out=out)
        out = v
    norms = np.sqrt(np.sum(np.square(v), axis=axis, keepdims=True))
    if np.ndim(t) and np.ndim(t) < norms.ndim:
        t = np.expand_dims(t, axis)
    scale = group_shrink_factors(norms, t).astype(v.dtype, copy=False)
    return np.multiply(v, scale, out=out)


def group_shrink_factors(norms: np.ndarray, t: Any) -> np.ndarray:
    r"""The factors :math:`\max(1 - t/\lVert v_gVert_2, 0)` (0 where :math:`\lVert v_gVert_2 = 0`)
    by which :func:`group_soft_threshold` multiplies each group, from the group norms.

    For solvers that keep :math:`v` and apply the factors later, or form the norms in blocks
    (CLSUnSAL's chunked ADMM); ``group_soft_threshold(v, t)`` is ``v * group_shrink_factors(norms, t)``.

    >>> group_shrink_factors(np.array([[5.0], [0.5], [0.0]]), 1.0).ravel().tolist()
    [0.8, 0.0, 0.0]
    """
    norms = np.asarray(norms)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 - t / norms
    return np.where(norms > 0, np.maximum(scale, 0.0), 0.0)
