r"""Entropic mirror-descent (exponentiated-gradient) steps on the probability simplex.

For a differentiable :math:`f` and a point :math:`x` in the relative interior of the simplex
:math:`\Delta_p = \{x \ge 0, \mathbf 1^\top x = 1\}`, mirror descent with the negative entropy
:math:`h(x) = \sum_i x_i \log x_i` as mirror map takes the step

.. math::

    x^+ = \arg\min_{u \in \Delta_p} \ \eta \langle \nabla f(x), u \rangle + \mathrm{KL}(u \,\|\, x)
        = \frac{x \odot e^{-\eta \nabla f(x)}}{\langle x, e^{-\eta \nabla f(x)} \rangle}
        = \operatorname{softmax}\bigl(\log x - \eta \nabla f(x)\bigr),

(Nemirovski & Yudin 1983; Beck & Teboulle, Oper. Res. Lett. 31(3), 2003,
doi:10.1016/S0167-6377(02)00231-6). The iterate stays positive and sums to one; an entry that
underflows to zero stays zero (:math:`\log 0 = -\infty`). The step is computed in the log
domain, :math:`\log x - \eta g` shifted by its maximum along the simplex axis before
exponentiation, so neither overflow nor a 0/0 can occur whatever :math:`\eta` (the shortcut
:math:`x \odot e^{-\eta g}` can underflow to an all-zero vector for large steps).

Every function here accepts NumPy arrays or torch tensors (any device) and returns the same kind;
``axis`` is the simplex axis (the one that sums to one). The ``*_`` variants work in place and
use their gradient argument as scratch (it is overwritten). :func:`entropic_step_log_` keeps the
iterate in the log domain, :math:`\ell = \log x`: then no entry ever underflows to an absorbing
zero (in float32, :math:`x_i < 10^{-38}` becomes subnormal and then 0, and an entry at 0 can never
grow again), and the step costs one log-softmax and one exponential.

Examples
--------
>>> import numpy as np
>>> from hysupp.optim.entropic import entropic_step, softmax
>>> x = np.full((3, 2), 1 / 3)
>>> g = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
>>> y = entropic_step(x, g, 1.0, axis=0)
>>> np.allclose(y.sum(axis=0), 1), bool(y[0, 0] < y[1, 0]), np.allclose(y[:, 1], 1 / 3)
(True, True, True)
>>> np.allclose(softmax(np.log(x) - g, axis=0), y)
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["entropic_step", "entropic_step_", "entropic_step_log_", "softmax"]


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def softmax(Z: Any, axis: int = 0) -> Any:
    r"""Numerically stable :math:`\operatorname{softmax}` along ``axis``:
    :math:`e^{z_i - \max z} / \sum_j e^{z_j - \max z}` (NumPy array or torch tensor)."""
    if _is_torch(Z):
        return Z.softmax(dim=axis)
    Z = np.asarray(Z)
    if not np.issubdtype(Z.dtype, np.floating):
        Z = Z.astype(np.float64)
    E = np.exp(Z - Z.max(axis=axis, keepdims=True))
    E /= E.sum(axis=axis, keepdims=True)
    return E


def entropic_step_(X: Any, G: Any, eta: Any, axis: int = 0) -> Any:
    r"""In place: ``X <- X * exp(-eta G) / sum(...)`` along ``axis``; ``G`` is overwritten.

    ``eta`` is a scalar or an array/tensor broadcastable to ``X`` (e.g. one step size per
    restart or per column). Returns ``X``.
    """
    if _is_torch(X):
        import torch

        G.mul_(-eta)
        G.add_(X.log_())
        torch.softmax(G, dim=axis, out=X)
        return X
    np.multiply(G, -np.asarray(eta, dtype=G.dtype) if np.ndim(eta) else -eta, out=G)
    with np.errstate(divide="ignore"):
        G += np.log(X)
    G -= G.max(axis=axis, keepdims=True)
    np.exp(G, out=G)
    np.divide(G, G.sum(axis=axis, keepdims=True), out=X)
    return X


def entropic_step(X: Any, G: Any, eta: Any, axis: int = 0) -> Any:
    r"""One entropic mirror-descent step :math:`\operatorname{softmax}(\log X - \eta G)` along
    ``axis`` (see the module docstring). Inputs are left unchanged."""
    if _is_torch(X):
        return entropic_step_(X.clone(), G.clone(), eta, axis)
    X = np.array(X, dtype=np.result_type(X, np.float32))
    return entropic_step_(X, np.array(G, dtype=X.dtype), eta, axis)


def entropic_step_log_(logX: Any, G: Any, eta: Any, axis: int = 0, X: Any = None,
                       floor: float | None = None) -> Any:
    r"""In place, in the log domain: ``logX <- log_softmax(logX - eta G)`` along ``axis``
    (``G`` is overwritten); with ``X`` given, also ``X <- exp(logX)``. Returns ``logX``.

    The same step as :func:`entropic_step_` on :math:`x = e^{\ell}`, without underflow of
    :math:`\ell`. ``floor``: entries whose log falls below it are set to :math:`-\infty` (to
    zero for good), which reproduces the underflow of an iterate stored in a floating-point
    format, e.g. ``log(2**-150)`` for float32 (values below half the smallest subnormal round to
    0), without computing with subnormal numbers."""
    if _is_torch(logX):
        import torch

        G.mul_(eta)
        logX.sub_(G)
        torch.log_softmax(logX, dim=axis, out=G)
        logX.copy_(G)
        if floor is not None:
            logX.masked_fill_(logX < floor, -math.inf)
        if X is not None:
            torch.exp(logX, out=X)
        return logX
    np.multiply(G, np.asarray(eta, dtype=G.dtype) if np.ndim(eta) else eta, out=G)
    logX -= G
    logX -= logX.max(axis=axis, keepdims=True)
    np.exp(logX, out=G)
    logX -= np.log(G.sum(axis=axis, keepdims=True))
    if floor is not None:
        logX[logX < floor] = -np.inf
    if X is not None:
        np.exp(logX, out=X)
    return logX
