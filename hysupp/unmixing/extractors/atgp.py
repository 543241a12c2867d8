r"""ATGP: Automatic Target Generation Process (Ren & Chang, 2003).

ATGP finds the pixels of largest energy in successively smaller orthogonal complements: the first
target is the pixel of largest norm; each next one maximises the norm of the pixel's projection
onto the orthogonal complement of the span of the targets found so far (orthogonal subspace
projection, OSP),

.. math::

    t_1 = \arg\max_j \lVert y_j \rVert_2^2, \qquad
    t_{k+1} = \arg\max_j \lVert P_{U_k}^\perp y_j \rVert_2^2, \qquad
    P_{U_k}^\perp = I - U_k (U_k^\top U_k)^{-1} U_k^\top,\ U_k = [t_1, \dots, t_k].

Implementation: an orthonormal basis of :math:`\operatorname{span}(U_k)` is grown by Gram--Schmidt
(with re-orthogonalisation), and the residual energies of every pixel are updated by subtracting
:math:`(q_k^\top y_j)^2` -- one matrix-vector product over the image per target, float64.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import ExtractionResult, Extractor
from hysupp.methods.registry import register

__all__ = ["ATGP", "atgp_indices"]

_CHUNK = 16384


def _rowdot(q: np.ndarray, Y: np.ndarray) -> np.ndarray:
    N = Y.shape[1]
    out = np.empty(N)
    for c0 in range(0, N, _CHUNK):
        out[c0:c0 + _CHUNK] = q @ np.asarray(Y[:, c0:c0 + _CHUNK], dtype=np.float64)
    return out


def atgp_indices(Y: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """ATGP on ``Y`` ``(L, N)``: ``(indices (p,), residual energies of the picks (p,))``."""
    L, N = Y.shape
    energy = np.zeros(N)
    for c0 in range(0, N, _CHUNK):
        Yc = np.asarray(Y[:, c0:c0 + _CHUNK], dtype=np.float64)
        energy[c0:c0 + _CHUNK] = np.einsum("ij,ij->j", Yc, Yc)
    Q = np.zeros((L, p))
    idx = np.zeros(p, dtype=np.int64)
    picked = np.zeros(p)
    for k in range(p):
        j = int(np.argmax(energy))
        idx[k], picked[k] = j, energy[j]
        if k == p - 1:
            break
        v = np.asarray(Y[:, j], dtype=np.float64)
        for _ in range(2):                                  # Gram-Schmidt, twice for stability
            v = v - Q[:, :k] @ (Q[:, :k].T @ v)
        nv = np.linalg.norm(v)
        if nv == 0.0:                                       # data of rank < p: nothing left
            energy[j] = -np.inf
            continue
        Q[:, k] = v / nv
        energy -= _rowdot(Q[:, k], Y) ** 2
        energy[idx[:k + 1]] = -np.inf                       # never pick a target twice
    return idx, picked


@register
class ATGP(Extractor):
    r"""Automatic Target Generation Process: successive orthogonal-subspace-projection maxima.

    Ren & Chang, IEEE TAES 39(4), 2003. The :math:`k`-th endmember is the pixel of largest
    residual energy after projecting out the span of the previous ones (module docstring):

    .. math::

        t_{k+1} = \arg\max_j\ y_j^\top P_{U_k}^\perp y_j .

    Works in the full band space (as in the paper and in pysptools); squared norms are convex, so
    on noise-free data with pure pixels every pick is a vertex of the data simplex. No
    hyperparameters.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((30, 3)); A = rng.dirichlet(np.ones(3), 500).T
    >>> A[:, :3] = np.eye(3)                       # one pure pixel per endmember
    >>> res = get_method("ATGP")().extract(E @ A, 3)
    >>> sorted(res.indices.tolist())
    [0, 1, 2]
    """

    name: ClassVar[str] = "ATGP"
    params: ClassVar[tuple] = ()
    reference: ClassVar[str] = (
        "H. Ren and C.-I. Chang, \"Automatic spectral target recognition in hyperspectral imagery\", IEEE Trans. "
        "Aerosp. Electron. Syst. 39(4), 1232-1249, 2003, doi:10.1109/TAES.2003.1261124")

    def _extract(self, Y: np.ndarray, p: int) -> ExtractionResult:
        """Pick ``p`` pixels of ``Y`` ``(L, N)`` by successive orthogonal subspace projections."""
        idx, energies = atgp_indices(Y, p)
        info: dict[str, Any] = {"method": self.name, "residual_energies": energies.tolist()}
        return ExtractionResult(endmembers=Y[:, idx], indices=idx, info=info)
