r"""SiVM: simplex volume maximisation from pairwise distances (Heylen, Parente & Gader, 2011).

The volume of the simplex spanned by points :math:`s_1, \dots, s_k` depends only on their pairwise
squared distances :math:`d_{ij} = \lVert s_i - s_j \rVert^2`, through the Cayley--Menger
determinant

.. math::

    V^2(s_1, \dots, s_k) = \frac{(-1)^{k}}{2^{k-1} ((k-1)!)^2}
    \det \begin{bmatrix} D_S & \mathbf 1 \\ \mathbf 1^\top & 0 \end{bmatrix},
    \qquad (D_S)_{ij} = d_{ij}.

SiVM grows the simplex greedily, one vertex at a time, adding the pixel that maximises the volume
of the enlarged simplex. With :math:`\Gamma_S` the bordered matrix above and
:math:`c(y) = [d(y, s_1), \dots, d(y, s_k), 1]^\top`, the Schur complement gives
:math:`\det \Gamma_{S \cup \{y\}} = -\det \Gamma_S \, c(y)^\top \Gamma_S^{-1} c(y)`, so

.. math::

    V^2(s_1, \dots, s_k, y) \propto c(y)^\top \Gamma_S^{-1} c(y),

a quadratic form evaluated for every pixel at once. Because the squared distance of a point to the
affine hull of the current vertices is a convex function of the point, every pick is a vertex of the
convex hull of the data: on noise-free data with pure pixels SiVM returns the endmembers.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import ExtractionResult, Extractor
from hysupp.methods.registry import register

__all__ = ["SiVM", "sivm_indices"]

_CHUNK = 16384


def _sq_dist_to(Y: np.ndarray, sq_norms: np.ndarray, k: int) -> np.ndarray:
    """Squared Euclidean distances ``||y_j - y_k||^2`` of every pixel to pixel ``k`` (float64)."""
    yk = np.asarray(Y[:, k], dtype=np.float64)
    N = Y.shape[1]
    out = np.empty(N)
    for c0 in range(0, N, _CHUNK):
        out[c0:c0 + _CHUNK] = yk @ np.asarray(Y[:, c0:c0 + _CHUNK], dtype=np.float64)
    out *= -2.0
    out += sq_norms
    out += sq_norms[k]
    np.maximum(out, 0.0, out=out)
    out[k] = 0.0
    return out


def sivm_indices(Y: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy Cayley--Menger volume maximisation: ``(indices (p,), volume criteria (p,))``.

    ``criteria[k]`` is :math:`c^\\top \\Gamma_S^{-1} c` of the ``k``-th pick (proportional to the
    squared volume ratio it adds); ``criteria[0]`` is the squared norm of the first pick.
    """
    N = Y.shape[1]
    sq_norms = np.zeros(N)
    for c0 in range(0, N, _CHUNK):
        Yc = np.asarray(Y[:, c0:c0 + _CHUNK], dtype=np.float64)
        sq_norms[c0:c0 + _CHUNK] = np.einsum("ij,ij->j", Yc, Yc)
    idx = np.zeros(p, dtype=np.int64)
    crit = np.zeros(p)
    idx[0] = int(np.argmax(sq_norms))          # farthest pixel from the origin
    crit[0] = sq_norms[idx[0]]
    dist = np.zeros((p, N))                    # rows: squared distances to each picked vertex
    dist[0] = _sq_dist_to(Y, sq_norms, idx[0])
    for k in range(1, p):
        G = np.zeros((k + 1, k + 1))
        G[:k, :k] = dist[:k][:, idx[:k]]
        G[:k, k] = G[k, :k] = 1.0
        Ck = np.vstack([dist[:k], np.ones((1, N))])    # c(y) for every pixel
        q = np.einsum("ij,ij->j", Ck, np.linalg.lstsq(G, Ck, rcond=None)[0])
        q[idx[:k]] = -np.inf                    # never pick a vertex twice
        idx[k] = int(np.argmax(q))
        crit[k] = q[idx[k]]
        dist[k] = _sq_dist_to(Y, sq_norms, idx[k])
    return idx, crit


@register
class SiVM(Extractor):
    r"""Simplex volume maximisation (SiVM): greedy vertex growth by Cayley--Menger volumes.

    Heylen, Parente & Gader, IEEE TGRS 49(12), 2011. The criterion (module docstring) is

    .. math::

        s_1 = \arg\max_j \lVert y_j \rVert_2, \qquad
        s_{k+1} = \arg\max_{j} \operatorname{vol}(s_1, \dots, s_k, y_j)^2
        \propto c(y_j)^\top \Gamma_{S_k}^{-1} c(y_j),

    evaluated for all pixels with one ``(k+1, k+1)`` solve and one matrix product per vertex. The
    first vertex is the pixel farthest from the origin, as in HySUPP's SiVM (the initialiser of
    MiSiCNet); the second is then the pixel farthest from it. Distances are Euclidean, in the full
    band space (no dimension reduction), computed in float64.

    Endmembers are returned in the order of selection (HySUPP sorts them by pixel index; the set is
    the same). The extractor has no hyperparameters.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((30, 3)); A = rng.dirichlet(np.ones(3), 500).T
    >>> A[:, :3] = np.eye(3)                       # one pure pixel per endmember
    >>> res = get_method("SiVM")().extract(E @ A, 3)
    >>> sorted(res.indices.tolist())
    [0, 1, 2]
    """

    name: ClassVar[str] = "SiVM"
    params: ClassVar[tuple] = ()
    reference: ClassVar[str] = (
        "R. Heylen, M. A. Parente and P. Gader, \"A simplex volume "
        "maximization framework for hyperspectral endmember extraction\", IEEE Trans. Geosci. Remote Sens. 49(12), "
        "5046-5060, 2011, doi:10.1109/TGRS.2011.2119457")

    def _extract(self, Y: np.ndarray, p: int) -> ExtractionResult:
        """Pick ``p`` pixels of ``Y`` ``(L, N)`` maximising the simplex volume greedily."""
        idx, crit = sivm_indices(Y, p)
        info: dict[str, Any] = {"method": self.name, "volume_criteria": crit.tolist()}
        return ExtractionResult(endmembers=Y[:, idx], indices=idx, info=info)
