r"""Boundary pixels of a data cloud and the distance of a simplex's facets to them.

Minimum-volume unmixing needs a criterion that does not depend on the weight of its volume term.
Zhuang, Lin, Figueiredo and Bioucas-Dias (IEEE TGRS 57(12), 2019) select that weight by how well
the simplex fits the *boundary* of the data: for the boundary pixels :math:`g_j` (vertices of the
convex hull of the data in their ``(p-1)``-dimensional affine coordinates) the criterion is

.. math::

    c(M) = \frac1{|\mathcal B|}\sum_{j\in\mathcal B}\ \min_k\ \operatorname{dist}(g_j, H_k),

with :math:`H_k` the hyperplane of the facet opposite vertex ``k``. NMF-QMV (its beta) and SISAL
(its hinge weight tau) both use it. In more than five dimensions the hull is replaced by the union
of the hull vertices of random 5-D projections (FastBPI). :func:`pull_back_to_floor` moves
minimum-volume vertices that left the data's physical range back along the ray from the simplex
centroid (SISAL by default, NMF-QMV with ``nonneg=True``).

>>> import numpy as np
>>> G = np.array([[0.0, 1.0, 0.0, 0.2], [0.0, 0.0, 1.0, 0.2]])
>>> boundary_pixels(G).tolist()
[0, 1, 2]
>>> round(facet_distance_criterion(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), G[:, [0, 1, 2]]), 12)
0.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["boundary_pixels", "facet_distance_criterion", "pull_back_to_floor"]


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


def pull_back_to_floor(M: np.ndarray, floor: np.ndarray, anchor_fallback: np.ndarray) -> tuple[np.ndarray, list[int],
                                                                                                list[float]]:
    r"""Move every column of ``M`` ``(L, p)`` with an entry below ``floor`` ``(L,)`` along the ray from the
    simplex centroid :math:`c = \frac1p M\mathbf 1` towards it, to the first point of that segment that is
    ``>= floor`` in every band: :math:`m_i \leftarrow c + t_i (m_i - c)`,
    :math:`t_i = \min_{l:\,m_{li} < f_l} (c_l - f_l) / (c_l - m_{li})`. Where the centroid itself is below
    the floor in such a band, ``anchor_fallback`` (the mean pixel, never below the floor) is the anchor.
    Returns the new matrix, the indices of the moved columns and their factors :math:`t_i`.

    >>> M = np.array([[1.0, 0.5, -0.5], [1.0, 0.5, 0.0]])
    >>> out, moved, t = pull_back_to_floor(M, np.zeros(2), M.mean(axis=1))
    >>> out[:, 2].round(3).tolist(), moved, [round(v, 3) for v in t]
    ([0.0, 0.3], [2], [0.4])
    """
    out = M.copy()
    moved: list[int] = []
    factors: list[float] = []
    centroid = M.mean(axis=1)
    for i in range(M.shape[1]):
        low = M[:, i] < floor
        if not low.any():
            continue
        c = centroid if np.all(centroid[low] > floor[low]) else anchor_fallback
        t = float(np.min((c[low] - floor[low]) / (c[low] - M[low, i])))
        t = min(max(t, 0.0), 1.0)
        out[:, i] = c + t * (M[:, i] - c)
        moved.append(i)
        factors.append(t)
    return out, moved, factors
