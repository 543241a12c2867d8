r"""Signal-subspace kernels shared by the geometric extractors (VCA, N-FINDR, PPI, SISAL).

The extractors work on the pixels' coordinates in a low-dimensional subspace: the first two moments
of the pixels :math:`\bar y = \frac1N \sum_j y_j` and :math:`R = \frac1N Y Y^\top`
(:func:`moments`), the leading eigenvectors :math:`U_d` of :math:`R` or of the covariance
:math:`R - \bar y \bar y^\top` with a fixed sign convention (:func:`top_eigvecs`), and the
projections :math:`U_d^\top (y_j - s)` (:func:`project`). All three run in float64 over blocks of
pixels, so a float32 image of any size is never copied whole.

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.extractors.subspace import moments, project, top_eigvecs
>>> rng = np.random.default_rng(0)
>>> Y = rng.random((5, 3)) @ rng.dirichlet(np.ones(3), 100).T      # 100 pixels in a 2-D affine set
>>> mean, R = moments(Y)
>>> w, U = top_eigvecs(R - np.outer(mean, mean), 2)
>>> X = project(Y, U, mean)
>>> X.shape, bool(np.allclose(U @ X + mean[:, None], Y))
((2, 100), True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["moments", "project", "top_eigvecs"]

CHUNK = 16384   # pixels per block


def moments(Y: np.ndarray, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(L,)`` and second-moment matrix ``Y Y^T / N`` ``(L, L)`` in float64, by chunks."""
    L, N = Y.shape
    s = np.zeros(L)
    R = np.zeros((L, L))
    for c0 in range(0, N, chunk):
        Yc = np.asarray(Y[:, c0:c0 + chunk], dtype=np.float64)
        s += Yc.sum(axis=1)
        R += Yc @ Yc.T
    return s / N, R / N


def top_eigvecs(S: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``d`` leading eigenpairs of the symmetric ``S``, largest first, with a fixed sign
    convention (the largest-magnitude entry of each vector is positive) for reproducibility."""
    w, V = np.linalg.eigh(S)
    w, V = w[::-1][:d], V[:, ::-1][:, :d]
    rows = np.abs(V).argmax(axis=0)
    V = V * np.sign(V[rows, np.arange(d)])
    return w, np.ascontiguousarray(V)


def project(Y: np.ndarray, U: np.ndarray, shift: np.ndarray | None, chunk: int = CHUNK) -> np.ndarray:
    """``U^T (Y - shift)`` in float64, ``(d, N)``, by chunks."""
    d, N = U.shape[1], Y.shape[1]
    X = np.empty((d, N))
    Ut = np.ascontiguousarray(U.T)
    for c0 in range(0, N, chunk):
        Yc = np.asarray(Y[:, c0:c0 + chunk], dtype=np.float64)
        if shift is not None:
            Yc = Yc - shift[:, None]
        np.matmul(Ut, Yc, out=X[:, c0:c0 + chunk])
    return X
