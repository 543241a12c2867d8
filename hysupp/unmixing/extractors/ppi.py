r"""PPI: Pixel Purity Index (Boardman, 1993; Boardman, Kruse & Green, 1995).

Pixels are projected onto many random unit directions ("skewers"); the two pixels at the extremes
of each projection are extreme points of the data's convex hull and get one vote each. The purity
index of a pixel is its vote count,

.. math::

    \mathrm{PPI}(j) = \sum_{s=1}^{K} \left[ j = \arg\max_i u_s^\top x_i \right]
    + \left[ j = \arg\min_i u_s^\top x_i \right],
    \qquad u_s \sim \mathcal U(\mathbb S^{d-1}),

on the data reduced to ``d`` principal components, :math:`x_j = U_d^\top (y_j - \bar y)` (Boardman's
procedure reduces the data with MNF first; at white noise PCA is the same subspace). Pixels with at
least ``threshold`` votes are candidates. De-duplication: taken in decreasing vote order, a
candidate within ``dedup_angle`` degrees of a better-voted representative joins it and adds its votes
to it (with noise, the votes of one vertex spread over the many noisy pixels around it); the
endmembers are the ``p`` representatives with the most pooled votes (only the ``200 p`` best-voted
candidates are grouped, which bounds the quadratic cost of grouping). Projections are batched over
skewers and pixels (``(K_b, d) @ (d, N)`` products).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import ExtractionResult, Extractor
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.unmixing.extractors.subspace import moments, project, top_eigvecs

__all__ = ["PPI", "ppi_counts"]

_BLOCK = 1 << 22     # elements of one projection block (skewers x pixels)
_MAX_CANDIDATES_PER_P = 200   # only the 200 p best-voted candidates are grouped (bounds the O(n^2) grouping)


def ppi_counts(X: np.ndarray, n_skewers: int, rng: np.random.Generator) -> np.ndarray:
    """Purity votes ``(N,)`` of the columns of ``X`` ``(d, N)`` over ``n_skewers`` random skewers."""
    d, N = X.shape
    counts = np.zeros(N, dtype=np.int64)
    per = max(1, _BLOCK // max(N, 1))
    done = 0
    while done < n_skewers:
        k = min(per, n_skewers - done)
        U = rng.standard_normal((k, d))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        P = U @ X
        counts += np.bincount(P.argmax(axis=1), minlength=N)
        counts += np.bincount(P.argmin(axis=1), minlength=N)
        done += k
    return counts


def _group_candidates(Y: np.ndarray, order: np.ndarray, counts: np.ndarray,
                      angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy grouping of candidate pixels (``order``: decreasing votes) by spectral angle.

    Each candidate joins the first representative (a better-voted candidate) within ``angle_deg``
    degrees, adding its votes to it; otherwise it becomes a new representative. Returns the
    representatives and their pooled votes.
    """
    if order.size == 0:
        return order, np.zeros(0, dtype=np.int64)
    V = np.asarray(Y[:, order], dtype=np.float64)
    norms = np.linalg.norm(V, axis=0)
    U = V / np.where(norms > 0, norms, 1.0)
    cos_min = np.cos(np.radians(angle_deg))
    reps: list[int] = []
    votes: list[int] = []
    for i in range(order.size):
        if reps:
            cos = U[:, reps].T @ U[:, i]
            k = int(np.argmax(cos >= cos_min)) if (cos >= cos_min).any() else -1
            if k >= 0:
                votes[k] += int(counts[order[i]])
                continue
        reps.append(i)
        votes.append(int(counts[order[i]]))
    return order[np.asarray(reps, dtype=np.int64)], np.asarray(votes, dtype=np.int64)


@register
class PPI(Extractor):
    r"""Pixel Purity Index: the ``p`` most often extreme pixels over random projections.

    Boardman, 1993 (module docstring). Criterion: the vote count
    :math:`\mathrm{PPI}(j) = \#\{s : x_j \text{ is the max or the min of } u_s^\top x\}` over
    ``n_skewers`` isotropic random directions in the ``(p-1)``-dimensional PCA subspace (or the full
    centred band space with ``reduce=False``). Returned: the ``p`` pixels with the highest counts
    among those with at least ``threshold`` votes, after de-duplication (a candidate within
    ``dedup_angle`` degrees of a better-voted one is merged into it, pooling the votes; see the module
    docstring). If fewer than ``p`` distinct candidates remain, the list is completed with the
    best-voted remaining pixels (``info["filled"]``).

    Parameters
    ----------
    n_skewers : int
        Number of random skewers (pysptools' default, 10000).
    threshold : int
        Minimum vote count of a candidate pixel.
    dedup_angle : float
        Spectral angle (degrees) under which two candidates count as the same endmember (3 degrees:
        above the angle spread of 30 dB noise around a pure spectrum, below the smallest angle
        between the DC1/DC2 library signatures).
    reduce : bool
        Project on the ``p - 1`` leading principal components first (True) or use all bands.
    seed : int
        Seed of the skewers.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((30, 3)); A = rng.dirichlet(np.ones(3), 500).T
    >>> A[:, :3] = np.eye(3)                       # one pure pixel per endmember
    >>> res = get_method("PPI")(n_skewers=200, seed=0).extract(E @ A, 3)
    >>> sorted(res.indices.tolist())
    [0, 1, 2]
    """

    name: ClassVar[str] = "PPI"
    stochastic: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("n_skewers", int, 10000, "number of random skewers (projection directions)", low=1),
        Param("threshold", int, 1, "minimum purity count of a candidate pixel", low=1),
        Param("dedup_angle", float, 3.0, "candidates within this spectral angle (deg) of a better-voted one are "
              "merged", low=0.0, high=90.0),
        Param("reduce", bool, True, "project on the p - 1 leading principal components first"),
        Param("seed", int, 0, "seed of numpy.random.default_rng for the skewers"),
    )
    reference: ClassVar[str] = (
        "J. W. Boardman, \"Automating spectral unmixing of AVIRIS data using convex geometry concepts\", Summaries "
        "of the 4th Annual JPL Airborne Geoscience Workshop, JPL Pub. 93-26, vol. 1, 11-14, 1993; J. W. Boardman, "
        "F. A. Kruse and R. O. Green, \"Mapping target signatures via partial unmixing of AVIRIS data\", "
        "Summaries of the 5th JPL Airborne Earth Science Workshop, JPL Pub. 95-1, vol. 1, 23-26, 1995")

    def _extract(self, Y: np.ndarray, p: int) -> ExtractionResult:
        """Pick the ``p`` purest pixels of ``Y`` ``(L, N)``."""
        L = Y.shape[0]
        mean, R = moments(Y)
        d = p - 1 if self.reduce else L
        if self.reduce:
            _, U = top_eigvecs(R - np.outer(mean, mean), d)
        else:
            U = np.eye(L)
        X = project(Y, U, mean)
        counts = ppi_counts(X, self.n_skewers, np.random.default_rng(self.seed))
        order = np.argsort(-counts, kind="stable")
        n_cand = int((counts >= self.threshold).sum())
        n_group = min(n_cand, _MAX_CANDIDATES_PER_P * p)
        reps, pooled = _group_candidates(Y, order[:n_group], counts, self.dedup_angle)
        rank = np.argsort(-pooled, kind="stable")[:p]
        kept = reps[rank].tolist()
        merged = n_group - reps.size
        filled = 0
        if len(kept) < p:
            taken = set(kept)
            rest = [int(j) for j in order if int(j) not in taken]
            filled = p - len(kept)
            kept += rest[:filled]
        idx = np.asarray(kept, dtype=np.int64)
        info: dict[str, Any] = {"method": self.name, "seed": self.seed, "n_skewers": self.n_skewers,
                                "counts": counts[idx].tolist(), "pooled_counts": pooled[rank].tolist(),
                                "n_candidates": n_cand, "n_merged": int(merged),
                                "filled": filled}
        return ExtractionResult(endmembers=Y[:, idx], indices=idx, info=info)
