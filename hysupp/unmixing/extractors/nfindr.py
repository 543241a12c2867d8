r"""N-FINDR: the ``p`` pixels spanning the simplex of largest volume (Winter, 1999).

In the ``(p-1)``-dimensional principal subspace of the data, :math:`x_j = U_{p-1}^\top (y_j -
\bar y)`, the volume of the simplex with vertices :math:`x_{i_1}, \dots, x_{i_p}` is

.. math::

    V(i_1, \dots, i_p) = \frac{1}{(p-1)!}\,
    \left|\det \begin{bmatrix} 1 & \cdots & 1 \\ x_{i_1} & \cdots & x_{i_p} \end{bmatrix}\right| .

N-FINDR maximises it by coordinate ascent: starting from ``p`` random pixels, each vertex in turn is
replaced by the pixel that maximises the volume, sweep after sweep, until a sweep changes nothing.
Replacing column ``k`` of :math:`M` by :math:`z = [1; x]` makes :math:`\det` a linear function of
:math:`z`, :math:`\det M_k(z) = \operatorname{cof}_k(M)^\top z` (the ``k``-th column of cofactors),
so the volumes of all ``N`` candidate replacements come from one ``(p, N)`` product.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.base import ExtractionResult, Extractor
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.unmixing.extractors.subspace import moments, project, top_eigvecs

__all__ = ["NFINDR", "nfindr_indices", "random_affine_init"]


def _cofactor_column(M: np.ndarray, k: int) -> np.ndarray:
    """Cofactors ``C[i, k] = (-1)^(i+k) det(M without row i and column k)`` (robust to singular M)."""
    p = M.shape[0]
    sub = np.delete(M, k, axis=1)
    c = np.empty(p)
    for i in range(p):
        c[i] = (-1.0) ** (i + k) * np.linalg.det(np.delete(sub, i, axis=0))
    return c


def random_affine_init(X: np.ndarray, rng: np.random.Generator, rtol: float = 1e-9) -> np.ndarray:
    """``d + 1`` random pixels of ``X`` ``(d, N)`` spanning a non-degenerate simplex.

    The first pixel is uniform over all pixels; each next one is uniform over the pixels off the
    affine hull of those drawn so far (squared distance above ``rtol`` times the largest), so scenes
    with few distinct spectra (e.g. DC1's uniform squares) still give a full-dimensional start.
    """
    d, N = X.shape
    idx = [int(rng.integers(N))]
    D = X - X[:, idx[0]][:, None]
    res = np.einsum("ij,ij->j", D, D)
    for _ in range(d):
        ok = np.flatnonzero(res > rtol * res.max()) if res.max() > 0 else np.empty(0, dtype=np.int64)
        if ok.size == 0:
            raise InputError(f"NFINDR: the data span fewer than {d + 1} affinely independent pixels; lower p")
        j = int(ok[rng.integers(ok.size)])
        idx.append(j)
        v = D[:, j] / np.sqrt(res[j])
        proj = v @ D
        D = D - np.outer(v, proj)
        res = np.einsum("ij,ij->j", D, D)
    return np.asarray(idx, dtype=np.int64)


def nfindr_indices(X: np.ndarray, init: np.ndarray, max_sweeps: int,
                   rtol: float = 1e-10) -> tuple[np.ndarray, float, int, int, bool]:
    """N-FINDR sweeps on reduced data ``X`` ``(p-1, N)`` from the initial pixel ``init`` ``(p,)``.

    Returns ``(indices, |det M|, sweeps run, replacements made, converged)``; converged means the
    last sweep replaced nothing.
    """
    d, N = X.shape
    p = d + 1
    Z = np.vstack([np.ones((1, N)), X])       # lifted pixels [1; x_j]
    idx = np.array(init, dtype=np.int64)
    vol = abs(np.linalg.det(Z[:, idx]))
    sweeps = replacements = 0
    changed = True
    for sweeps in range(1, max_sweeps + 1):
        changed = False
        for k in range(p):
            c = _cofactor_column(Z[:, idx], k)
            v = np.abs(c @ Z)
            j = int(np.argmax(v))
            if v[j] > vol * (1.0 + rtol) and j not in idx:
                idx[k], vol = j, float(v[j])
                changed = True
                replacements += 1
        if not changed:
            break
    return idx, float(vol), sweeps, replacements, not changed


@register
class NFINDR(Extractor):
    r"""N-FINDR: maximum-volume simplex of pixels by cyclic vertex replacement.

    Winter, Proc. SPIE 3753, 1999. In the ``(p-1)``-dimensional PCA subspace (module docstring)

    .. math::

        \max_{i_1, \dots, i_p}\ \left|\det \begin{bmatrix} \mathbf 1^\top \\
        X_{:, \{i_1, \dots, i_p\}} \end{bmatrix}\right| ,

    by coordinate ascent: for :math:`k = 1..p`, :math:`i_k \leftarrow \arg\max_j |\det M_k(x_j)|`,
    vectorised over all pixels through the cofactor expansion of the ``k``-th column, repeated
    until a full sweep replaces nothing or ``max_sweeps`` sweeps have run. The start is ``p``
    random pixels (``seed``) drawn one by one among the pixels off the affine hull of those already
    drawn (so the initial simplex is never degenerate, :func:`random_affine_init`), or the ATGP
    pixels (``init="atgp"``, Plaza & Chang 2006).

    Parameters
    ----------
    seed : int
        Seed of :func:`numpy.random.default_rng` for the random initial pixels.
    max_sweeps : int, optional
        Maximum number of full sweeps over the ``p`` vertices; ``None`` = ``3 p`` (pysptools'
        default ``maxit``).
    init : {"random", "atgp"}
        Initial simplex.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((30, 3)); A = rng.dirichlet(np.ones(3), 500).T
    >>> A[:, :3] = np.eye(3)                       # one pure pixel per endmember
    >>> res = get_method("N-FINDR")(seed=0).extract(E @ A, 3)
    >>> sorted(res.indices.tolist())
    [0, 1, 2]
    """

    name: ClassVar[str] = "N-FINDR"
    stochastic: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("seed", int, 0, "seed of numpy.random.default_rng for the random initial pixels"),
        Param("max_sweeps", int, None, "maximum number of sweeps over the p vertices; None = 3 p", low=1,
              optional=True),
        Param("init", str, "random", "initial simplex: p random pixels or the ATGP pixels",
              choices=("random", "atgp")),
    )
    reference: ClassVar[str] = (
        "M. E. Winter, \"N-FINDR: an algorithm for fast autonomous spectral end-member determination in "
        "hyperspectral data\", Proc. SPIE 3753, Imaging Spectrometry V, 266-275, 1999, doi:10.1117/12.366289")

    def _extract(self, Y: np.ndarray, p: int) -> ExtractionResult:
        """Pick the ``p`` pixels of ``Y`` ``(L, N)`` spanning the largest simplex."""
        mean, R = moments(Y)
        _, U = top_eigvecs(R - np.outer(mean, mean), p - 1)
        X = project(Y, U, mean)
        rng = np.random.default_rng(self.seed)
        if self.init == "atgp":
            from hysupp.unmixing.extractors.atgp import atgp_indices

            init = atgp_indices(Y, p)[0]
        else:
            init = random_affine_init(X, rng)
        max_sweeps = 3 * p if self.max_sweeps is None else int(self.max_sweeps)
        idx, vol, sweeps, repl, converged = nfindr_indices(X, init, max_sweeps)
        info: dict[str, Any] = {"method": self.name, "seed": self.seed, "init": self.init,
                                "init_indices": np.asarray(init).tolist(),
                                "abs_det": vol, "sweeps": sweeps, "replacements": repl,
                                "converged": converged}
        return ExtractionResult(endmembers=Y[:, idx], indices=idx, info=info)
