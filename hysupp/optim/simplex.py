r"""Euclidean projection onto the probability simplex.

The probability simplex (of radius :math:`s > 0`) in :math:`\mathbb{R}^p` is

.. math::

    \Delta_p = \{\, a \in \mathbb{R}^p : a_i \ge 0,\ \textstyle\sum_i a_i = s \,\}.

Its Euclidean projection :math:`P_\Delta(x) = \arg\min_{a \in \Delta_p} \lVert a - x \rVert_2`
has the closed form :math:`P_\Delta(x) = \max(x - \tau, 0)` (element-wise), where the threshold
:math:`\tau` is found by sorting :math:`x` in decreasing order, :math:`u_1 \ge \dots \ge u_p`, and
taking

.. math::

    \rho = \max\Big\{\, j : u_j - \tfrac{1}{j}\big(\textstyle\sum_{r \le j} u_r - s\big) > 0 \,\Big\},
    \qquad
    \tau = \tfrac{1}{\rho}\Big(\textstyle\sum_{r \le \rho} u_r - s\Big)
          = \max_{1 \le j \le p} \tfrac{1}{j}\Big(\textstyle\sum_{r \le j} u_r - s\Big).

The last form (the sequence :math:`\tfrac1j(\sum_{r\le j} u_r - s)` increases up to
:math:`j = \rho` and decreases after it) is the one computed: it needs no search for
:math:`\rho` and is robust to rounding near ties.

References
----------
J. Duchi, S. Shalev-Shwartz, Y. Singer, T. Chandra, "Efficient projections onto the l1-ball for
learning in high dimensions", ICML 2008.

L. Condat, "Fast projection onto the simplex and the l1 ball", Mathematical Programming 158,
575-585 (2016), doi:10.1007/s10107-015-0946-6.
"""

from __future__ import annotations

import numpy as np

__all__ = ["project_simplex"]


def project_simplex(X: np.ndarray, axis: int = 0, *, radius: float = 1.0) -> np.ndarray:
    r"""Project every vector of ``X`` along ``axis`` onto the probability simplex.

    Solves, independently for every vector :math:`x` taken along ``axis``,

    .. math::

        P_\Delta(x) = \arg\min_{a} \tfrac12 \lVert a - x \rVert_2^2
        \quad \text{s.t.} \quad a \ge 0,\ \mathbf 1^\top a = s,

    with the sort-based algorithm of Duchi et al. (2008) (see the module docstring), fully
    vectorised: cost :math:`O(p \log p)` per vector, no Python loop over vectors.

    Parameters
    ----------
    X : array_like
        Input array; e.g. abundances ``(p, N)`` with ``axis=0`` (one column per pixel).
    axis : int, default 0
        Axis along which the vectors lie (the simplex dimension ``p``).
    radius : float, default 1.0
        The simplex radius :math:`s` (sum of every projected vector), must be positive.

    Returns
    -------
    ndarray
        Same shape as ``X``. Floating inputs keep their dtype (float32 stays float32); integer and
        boolean inputs are projected in float64.

    Notes
    -----
    The result is exact up to rounding: entries are accurate to a few ulps of the largest
    ``|x_i|`` (so inputs much larger than ``radius / eps`` lose the answer to cancellation).

    Raises
    ------
    ValueError
        If ``radius`` is not positive or ``X`` is a 0-d array.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.optim import project_simplex
    >>> project_simplex(np.array([[0.5, 2.0], [0.5, 0.0], [1.0, -1.0]])).round(4)
    array([[0.1667, 1.    ],
           [0.1667, 0.    ],
           [0.6667, 0.    ]])
    """
    if not radius > 0:
        raise ValueError(f"project_simplex: radius must be positive, got {radius!r}")
    X = np.asarray(X)
    if X.ndim == 0:
        raise ValueError("project_simplex: expected at least a 1-D array, got a scalar")
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)
    Xm = np.moveaxis(X.astype(dtype, copy=False), axis, 0)  # (p, ...)
    p = Xm.shape[0]
    if p == 0:
        return np.moveaxis(Xm.copy(), 0, axis)
    # tau = max_j (sum_{r<=j} u_r - s) / j: the sequence is unimodal with its maximum at j = rho
    # (its increments are (u_{j+1} - value_j) / (j + 1)), so no search for rho is needed and
    # rounding near ties cannot pick an inconsistent index.
    U = np.sort(Xm, axis=0)[::-1]                   # decreasing order
    css = np.cumsum(U, axis=0)
    css -= dtype.type(radius)
    css /= np.arange(1, p + 1, dtype=dtype).reshape((p,) + (1,) * (Xm.ndim - 1))
    tau = css.max(axis=0)
    out = Xm - tau
    np.maximum(out, 0, out=out)
    return np.moveaxis(out, 0, axis)
