r"""Boundary pixels of a data cloud and the distance of a simplex's facets to them.

Minimum-volume unmixing needs a criterion that does not depend on the weight of its volume term.
Zhuang, Lin, Figueiredo and Bioucas-Dias (IEEE TGRS 57(12), 2019) select that weight by how well
the simplex fits the *boundary* of the data: for the boundary pixels :math:`g_j` (vertices of the
convex hull of the data in their ``(p-1)``-dimensional affine coordinates) the criterion is

.. math::

    c(M) = \frac1{|\mathcal B|}\sum_{j\in\mathcal B}\ \min_k\ \operatorname{dist}(g_j, H_k),

with :math:`H_k` the hyperplane of the facet opposite vertex ``k``. NMF-QMV (its beta) and SISAL
(its hinge weight tau) both use it. In more than five dimensions the hull is replaced by the union
of the hull vertices of random 5-D projections (FastBPI).

>>> import numpy as np
>>> G = np.array([[0.0, 1.0, 0.0, 0.2], [0.0, 0.0, 1.0, 0.2]])
>>> boundary_pixels(G).tolist()
[0, 1, 2]
>>> round(facet_distance_criterion(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), G[:, [0, 1, 2]]), 12)
0.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["boundary_pixels", "facet_distance_criterion"]


def boundary_pixels(G: np.ndarray, *, n_proj: int = 100, dim: int = 5, seed: int = 1) -> np.ndarray:
    """Indices of the boundary pixels of ``G`` ``(d, N)``: convex hull vertices (``d <= dim``) or the
    union of the hull vertices of ``n_proj`` random orthonormal ``dim``-D projections (FastBPI)."""
    from scipy.spatial import ConvexHull, QhullError

    d = G.shape[0]
    if d == 1:
        return np.unique([int(G[0].argmin()), int(G[0].argmax())])

    def hull(X: np.ndarray) -> np.ndarray:
        try:
            return ConvexHull(X.T).vertices
        except QhullError:   # flat or degenerate point set: joggle
            return ConvexHull(X.T, qhull_options="QJ").vertices

    if d <= dim:
        return np.unique(hull(G))
    rng = np.random.default_rng(seed)
    idx: set[int] = set()
    for _ in range(n_proj):
        Q, R = np.linalg.qr(rng.standard_normal((d, d)))
        Q = Q * np.sign(np.diag(R))[None, :]
        idx.update(hull(Q[:, :dim].T @ G).tolist())
    return np.array(sorted(idx), dtype=np.int64)


def facet_distance_criterion(M: np.ndarray, Gb: np.ndarray) -> float:
    r"""Mean over the points ``Gb`` ``(d, n)`` of their distance to the nearest facet hyperplane of
    the simplex with vertices ``M`` ``(d, d + 1)`` (the NMF-QMV selection criterion)."""
    d, p = M.shape
    D = np.empty((p, Gb.shape[1]))
    for k in range(p):
        P = np.delete(M, k, axis=1)               # the d vertices of facet k
        base = P[:, :1]
        if d == 1:
            normal = np.ones(1)
        else:
            U, _, _ = np.linalg.svd(P[:, 1:] - base, full_matrices=True)
            normal = U[:, -1]                     # orthogonal to the facet's directions
        D[k] = np.abs(normal @ (Gb - base))
    return float(D.min(axis=0).mean())
