r"""FCLS: fully constrained least squares abundance estimation (Heinz & Chang, 2001).

For every pixel :math:`y \in \mathbb{R}^L` and known endmembers :math:`E \in \mathbb{R}^{L \times p}`,

.. math::

    \hat a = \arg\min_{a} \tfrac12 \lVert y - E a \rVert_2^2
    \quad \text{s.t.} \quad a \ge 0 \ \text{(ANC)}, \quad \mathbf 1^\top a = 1 \ \text{(ASC)}.

The solution is computed exactly (to float64 rounding) by the batched active-set solver
:func:`hysupp.optim.fcls`, whose KKT residual is reported in ``info``. The method is invariant to a
common scale of ``Y`` and ``E`` (``scale_invariant``): the solver normalises its system, so the
pixels are never rescaled and any storage scale (reflectance x 1e4, DN) gives the same abundances.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import SupervisedUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.optim.fcls import fcls

__all__ = ["FCLS"]

_MAX_LISTED = 1000


@register
class FCLS(SupervisedUnmixer):
    r"""Fully constrained least squares: per-pixel least squares on the probability simplex.

    Solves, independently for every pixel :math:`y` (column of ``Y``),

    .. math::

        \min_a \tfrac12 \lVert y - E a \rVert_2^2 \quad \text{s.t.} \quad a \ge 0,\
        \mathbf 1^\top a = 1,

    exactly: the KKT conditions (:math:`g = E^\top(E a - y)` equal to a common :math:`\mu` on the
    support of :math:`a`, :math:`g_i \ge \mu` off it) hold to float64 rounding. The algorithm is a
    batched Lawson-Hanson active-set method with pixels grouped by passive set (Van Benthem &
    Keenan, 2004); see :func:`hysupp.optim.fcls`.

    Parameters
    ----------
    tol : float, optional
        Tolerance of the dual (multiplier) test relative to :math:`\max_i \lVert e_i\rVert^2`
        (scale-free); ``None`` = ``1e-12``.
    max_iter : int, optional
        Cap on active-set iterations; ``None`` = ``10 p + 50``.
    dtype : {"float32", "float64"}
        Dtype of the returned abundances (the computation is float64 either way).
    n_threads : int
        Blocks of pixels solved concurrently (Python threads; NumPy releases the GIL).
    init : {"projection", "vertex"}
        Active-set start: simplex projection of the sum-to-one least-squares solution, or the best
        single vertex.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((50, 3)); A = rng.dirichlet(np.ones(3), 200).T
    >>> res = get_method("fcls")(dtype="float64").unmix(E @ A, E)
    >>> res.abundances.shape, bool(np.allclose(res.abundances, A, atol=1e-8))
    ((3, 200), True)
    """

    name: ClassVar[str] = "FCLS"
    scale_invariant: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("tol", float, None, "dual-test tolerance relative to max_i ||e_i||^2 (scale-free); None = 1e-12",
              low=0.0, optional=True),
        Param("max_iter", int, None, "cap on active-set iterations; None = 10 p + 50", low=1, optional=True),
        Param("dtype", str, "float32", "dtype of the returned abundances (computed in float64)",
              choices=("float32", "float64")),
        Param("n_threads", int, 1, "pixel blocks solved concurrently (threads)", low=1),
        Param("init", str, "projection", "active-set start: projection of the sum-to-one LS "
              "solution, or the best vertex", choices=("projection", "vertex")),
    )
    reference: ClassVar[str] = (
        "D. C. Heinz and C.-I Chang, \"Fully constrained least squares linear spectral mixture "
        "analysis method for material quantification in hyperspectral imagery\", IEEE Trans. "
        "Geosci. Remote Sens. 39(3), 529-545, 2001, doi:10.1109/36.911111")

    def _unmix(self, Y: np.ndarray, E: np.ndarray) -> UnmixingResult:
        """Abundances ``(p, N)`` for pixels ``Y`` ``(L, N)`` and endmembers ``E`` ``(L, p)``."""
        A, kinfo = fcls(Y, E, rtol=self.tol, max_iter=self.max_iter, dtype=self.dtype,
                        n_threads=self.n_threads, init=self.init)
        not_conv = kinfo.pop("not_converged")
        info: dict[str, Any] = {
            "method": self.name,
            **kinfo,
            "not_converged": not_conv[:_MAX_LISTED].tolist(),
            "solver_wall_time": kinfo["wall_time"],
            "device": "cpu",
        }
        return UnmixingResult(abundances=A, endmembers=E, info=info)
