r"""Discrete total variation (TV) kernels on stacks of images ``(p, H, W)``.

Operators (periodic boundaries, forward differences), for an image stack :math:`X` with
:math:`X_{k,i,j}` (map :math:`k`, row :math:`i`, column :math:`j`):

.. math::

    (D_h X)_{k,i,j} = X_{k,i,j+1} - X_{k,i,j}, \qquad
    (D_v X)_{k,i,j} = X_{k,i+1,j} - X_{k,i,j}

(indices modulo :math:`W` and :math:`H`). :func:`gradient` returns :math:`DX = (D_h X, D_v X)` as
one array ``(2, p, H, W)`` and :func:`gradient_adjoint` applies

.. math::

    D^\top G = D_h^\top G_h + D_v^\top G_v, \qquad
    (D_h^\top G)_{k,i,j} = G_{k,i,j-1} - G_{k,i,j}

(the negative divergence), so that :math:`\langle DX, G\rangle = \langle X, D^\top G\rangle`.

With periodic boundaries :math:`D_h, D_v` are circulant, diagonalised by the 2-D DFT: the symbol of
:math:`D^\top D` at frequency :math:`(u, v)` is

.. math::

    \lambda_{u,v} = |1 - e^{-2\pi i v / W}|^2 + |1 - e^{-2\pi i u / H}|^2
    = 4 - 2\cos(2\pi v / W) - 2\cos(2\pi u / H),

so :math:`(I + \alpha D^\top D)^{-1}` is a point-wise division in the Fourier domain
(:func:`solve_identity_plus_dtd`, :class:`IdentityPlusDtDSolver`), :math:`O(pHW\log HW)`.

TV norms and their proxes (:func:`tv_norm`, :func:`tv_soft_threshold`):

* isotropic: :math:`\mathrm{TV}(X) = \sum_{k,i,j} \sqrt{(D_hX)_{kij}^2 + (D_vX)_{kij}^2}`, prox
  = vector soft thresholding of each pair :math:`(g_h, g_v)`:
  :math:`g \max(1 - t/\lVert g\rVert_2, 0)`;
* anisotropic (``"aniso"``, HySUPP/MATLAB ``"niso"``): :math:`\sum |D_hX| + |D_vX|`, prox =
  element-wise soft thresholding.

References
----------
M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, "Total variation spatial regularization for sparse
hyperspectral unmixing", IEEE Trans. Geosci. Remote Sens. 50(11), 4484-4502 (2012),
doi:10.1109/TGRS.2012.2191590.

A. Chambolle, "An algorithm for total variation minimization and applications", J. Math.
Imaging Vision 20, 89-97 (2004), doi:10.1023/B:JMIV.0000011325.36760.1e.

Examples
--------
>>> import numpy as np
>>> from hysupp.optim.tv import gradient, gradient_adjoint, solve_identity_plus_dtd
>>> X = np.arange(12.0).reshape(1, 3, 4)
>>> G = gradient(X); G.shape
(2, 1, 3, 4)
>>> G[0, 0, 0]            # horizontal differences of row 0 (periodic: 0 - 3 at the end)
array([ 1.,  1.,  1., -3.])
>>> U = solve_identity_plus_dtd(X, 0.5)
>>> bool(np.allclose(U + 0.5 * gradient_adjoint(gradient(U)), X))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft

from hysupp.optim.prox import group_soft_threshold, soft_threshold

__all__ = [
    "TV_TYPES",
    "IdentityPlusDtDSolver",
    "dtd_symbol",
    "gradient",
    "gradient_adjoint",
    "solve_identity_plus_dtd",
    "tv_norm",
    "tv_soft_threshold",
]

#: accepted TV types: isotropic, anisotropic (``"niso"`` is MATLAB sunsal_tv's name for it)
TV_TYPES = ("iso", "aniso", "niso")


def _stack(X: Any) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"expected an image stack (p, H, W) or one image (H, W), got shape {X.shape}")
    return X if np.issubdtype(X.dtype, np.floating) else X.astype(np.float64)


def gradient(X: Any, out: np.ndarray | None = None) -> np.ndarray:
    r"""Periodic forward differences :math:`(D_h X, D_v X)` of an image stack.

    Parameters
    ----------
    X : array_like, shape (p, H, W) or (H, W)
        Images.
    out : ndarray, shape (2, p, H, W), optional
        Output array.

    Returns
    -------
    ndarray, shape (2, p, H, W)
        ``[0]`` horizontal (along columns ``W``), ``[1]`` vertical (along rows ``H``) differences.
    """
    X = _stack(X)
    if out is None:
        out = np.empty((2,) + X.shape, dtype=X.dtype)
    # horizontal: X[..., j+1] - X[..., j], periodic
    np.subtract(X[:, :, 1:], X[:, :, :-1], out=out[0, :, :, :-1])
    np.subtract(X[:, :, :1], X[:, :, -1:], out=out[0, :, :, -1:])
    np.subtract(X[:, 1:, :], X[:, :-1, :], out=out[1, :, :-1, :])
    np.subtract(X[:, :1, :], X[:, -1:, :], out=out[1, :, -1:, :])
    return out


def gradient_adjoint(G: Any, out: np.ndarray | None = None) -> np.ndarray:
    r"""Adjoint :math:`D^\top G = D_h^\top G_h + D_v^\top G_v` of :func:`gradient`.

    Parameters
    ----------
    G : array_like, shape (2, p, H, W)
        Horizontal and vertical components.
    out : ndarray, shape (p, H, W), optional
        Output array.

    Returns
    -------
    ndarray, shape (p, H, W)
        :math:`(D_h^\top G_h)_{ij} = G_{h,i,j-1} - G_{h,i,j}` plus the vertical analogue.
    """
    G = np.asarray(G)
    if G.ndim != 4 or G.shape[0] != 2:
        raise ValueError(f"expected a gradient field (2, p, H, W), got shape {G.shape}")
    Gh, Gv = G[0], G[1]
    if out is None:
        out = np.empty(Gh.shape, dtype=np.result_type(G.dtype, np.float32))
    np.subtract(Gh[:, :, :-1], Gh[:, :, 1:], out=out[:, :, 1:])
    np.subtract(Gh[:, :, -1:], Gh[:, :, :1], out=out[:, :, :1])
    out[:, 1:, :] += Gv[:, :-1, :]
    out[:, 1:, :] -= Gv[:, 1:, :]
    out[:, :1, :] += Gv[:, -1:, :]
    out[:, :1, :] -= Gv[:, :1, :]
    return out


def dtd_symbol(shape: tuple[int, int], *, real: bool = True) -> np.ndarray:
    r"""Fourier symbol :math:`4 - 2\cos(2\pi v/W) - 2\cos(2\pi u/H)` of :math:`D^\top D`.

    Parameters
    ----------
    shape : (H, W)
        Image size.
    real : bool, default True
        Return the half spectrum ``(H, W // 2 + 1)`` matching :func:`numpy.fft.rfft2`; else the full
        ``(H, W)`` one.
    """
    H, W = (int(s) for s in shape)
    if H < 1 or W < 1:
        raise ValueError(f"image shape must be positive, got {shape!r}")
    fv = np.arange(W // 2 + 1 if real else W)
    fu = np.arange(H)
    return (4.0 - 2.0 * np.cos(2 * np.pi * fv / W))[None, :] - 2.0 * np.cos(2 * np.pi * fu / H)[:, None]


class IdentityPlusDtDSolver:
    r"""Reusable FFT solver of :math:`(I + \alpha D^\top D) U = B` on ``(p, H, W)`` stacks.

    The symbol :math:`1 / (1 + \alpha\lambda_{u,v})` is computed once (``alpha > 0``, so the
    system is always positive definite); each call costs one ``rfft2`` and one ``irfft2`` (:mod:`scipy.fft`).

    Parameters
    ----------
    shape : (H, W)
        Image size.
    alpha : float, default 1
        Weight :math:`\alpha \ge 0`.

    Examples
    --------
    >>> solver = IdentityPlusDtDSolver((4, 5), alpha=2.0)
    >>> B = np.ones((3, 4, 5)); bool(np.allclose(solver(B), 1.0))   # constants: D 1 = 0
    True
    """

    def __init__(self, shape: tuple[int, int], alpha: float = 1.0) -> None:
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha!r}")
        self.shape = (int(shape[0]), int(shape[1]))
        self.alpha = float(alpha)
        self.inv_symbol = 1.0 / (1.0 + self.alpha * dtd_symbol(self.shape))

    def __call__(self, B: Any) -> np.ndarray:
        B = _stack(B)
        if B.shape[1:] != self.shape:
            raise ValueError(f"images have shape {B.shape[1:]}, the solver was built for {self.shape}")
        # scipy.fft keeps single precision (complex64) for float32 input and is ~2x faster than
        # numpy.fft here; the symbol is real, so the result is real up to rounding
        F = scipy.fft.rfft2(B, axes=(1, 2))
        F *= self.inv_symbol.astype(B.dtype, copy=False)
        return scipy.fft.irfft2(F, s=self.shape, axes=(1, 2)).astype(B.dtype, copy=False)


def solve_identity_plus_dtd(B: Any, alpha: float = 1.0) -> np.ndarray:
    r"""Solve :math:`(I + \alpha D^\top D) U = B` for an image stack ``(p, H, W)`` (periodic, FFT).

    One-shot form of :class:`IdentityPlusDtDSolver`.
    """
    B = _stack(B)
    return IdentityPlusDtDSolver(B.shape[1:], alpha)(B)


def _tv_type(tv_type: str) -> str:
    key = str(tv_type).lower()
    if key not in TV_TYPES:
        raise ValueError(f"tv_type must be one of {', '.join(TV_TYPES)}, got {tv_type!r}")
    return "aniso" if key == "niso" else key


def tv_norm(X: Any, tv_type: str = "iso") -> float:
    r"""Total variation :math:`\sum \sqrt{(D_hX)^2 + (D_vX)^2}` (``"iso"``) or
    :math:`\sum |D_hX| + |D_vX|` (``"aniso"``/``"niso"``) of an image stack, periodic boundaries.

    Examples
    --------
    >>> X = np.zeros((1, 4, 4)); X[0, :, 2:] = 1.0      # a vertical edge (and its periodic twin)
    >>> tv_norm(X, "iso"), tv_norm(X, "aniso")
    (8.0, 8.0)
    """
    G = gradient(X)
    if _tv_type(tv_type) == "aniso":
        return float(np.abs(G).sum())
    return float(np.sqrt(np.square(G).sum(axis=0)).sum())


def tv_soft_threshold(G: Any, t: Any, tv_type: str = "iso", *, out: np.ndarray | None = None) -> np.ndarray:
    r"""Prox of :math:`t\,\lVert\cdot\rVert` on a gradient field ``(2, p, H, W)``.

    ``"iso"``: vector soft thresholding of each pair :math:`g = (g_h, g_v)`,
    :math:`g\max(1 - t/\lVert g\rVert_2, 0)`; ``"aniso"``/``"niso"``: element-wise soft
    thresholding :math:`\operatorname{sign}(g)\max(|g| - t, 0)`.

    Examples
    --------
    >>> G = np.array([3.0, 4.0]).reshape(2, 1, 1, 1)
    >>> tv_soft_threshold(G, 1.0, "iso").ravel(), tv_soft_threshold(G, 1.0, "aniso").ravel()
    (array([2.4, 3.2]), array([2., 3.]))
    """
    G = np.asarray(G)
    if G.ndim != 4 or G.shape[0] != 2:
        raise ValueError(f"expected a gradient field (2, p, H, W), got shape {G.shape}")
    if _tv_type(tv_type) == "aniso":
        return soft_threshold(G, t, out=out)
    return group_soft_threshold(G, t, axis=0, out=out)
