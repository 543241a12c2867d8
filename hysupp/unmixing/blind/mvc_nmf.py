r"""MVC-NMF: minimum volume constrained non-negative matrix factorisation (Miao & Qi, 2007).

Endmembers :math:`A \in \mathbb R^{L\times p}` and abundances :math:`S \in \mathbb R^{p\times N}`
of the pixels :math:`X` solve

.. math::

    \min_{A \ge 0,\ S \ge 0}\ F(A, S) = \tfrac12\lVert X - AS\rVert_F^2
    + \tfrac{\delta^2}{2}\lVert \mathbf 1^\top - \mathbf 1^\top S\rVert_2^2
    + \tfrac{\tau}{2}\det{}^2\!\big(Z(A)\big),
    \qquad Z(A) = \begin{bmatrix}\mathbf 1^\top \\ U^\top(A - \mu\mathbf 1^\top)\end{bmatrix},

where :math:`\mu` is the data mean and :math:`U` the ``p - 1`` principal directions of the data,
so that :math:`|\det Z(A)|/(p-1)!` is the volume of the simplex of the endmembers projected on the
principal subspace. The sum-to-one constraint is the soft penalty of weight :math:`\delta`
(``constraint``; the paper's augmented data :math:`[X; \delta\mathbf 1^\top]`,
:math:`[A; \delta\mathbf 1^\top]`) and :math:`\tau` = ``regularization`` / :math:`(p-1)!` (as
in HySUPP's MVC-NMF).

Alternating projected gradient with the Armijo rule (paper, Section III-C): in turn for ``A``
and for ``S``, ``inner_iter`` steps :math:`x \leftarrow [x - \alpha\nabla_x F]_+` with
:math:`\alpha = \alpha_0\beta^m`, ``m`` the smallest integer ``>= 0`` (at most 50) with
:math:`F(x_{\rm new}) - F(x) \le \sigma\,\nabla_x F^\top(x_{\rm new} - x)`; :math:`\alpha_0`
is ``learning_rate`` at the first step and the last accepted step divided by :math:`\beta` after
(so the step can grow back). Gradients:

.. math::

    \nabla_A F = (AS - X)S^\top + \tau\det{}^2(Z)\, U B^\top Z^{-\top},\qquad
    \nabla_S F = \bar A^\top(\bar AS - \bar X),

with :math:`B = [0; I_{p-1}]`. Initialisation: VCA endmembers and FCLS abundances (as in the
authors' code). Stops after ``max_iter`` outer iterations or when the relative decrease of
:math:`F` falls below ``tol``; ``info["converged"]`` is True only in the second case. A run stopped
by ``max_iter``, or in which an Armijo search found no decreasing step while its smallest trial
step was still far from negligible (a stall, ``info["stalled"]``: the step sizes do not fit the
problem's scale, typically on data far from reflectance units, where the volume term dominates),
reports ``converged: False`` with a
:class:`~hysupp.errors.ConvergenceWarning`; an objective that overflows float64 at the start raises
:class:`~hysupp.errors.DivergenceError`. Trial objectives reuse :math:`XS^\top`, :math:`SS^\top`,
:math:`\bar A^\top\bar X` and :math:`\bar A^\top\bar A`, so a trial costs :math:`O(Lp^2)` (``A``)
or :math:`O(p^2 N)` (``S``), and a gradient one :math:`O(LpN)` product.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import ConvergenceWarning, DivergenceError
from hysupp.methods.base import BlindUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.optim import fcls
from hysupp.optim.guards import check_finite
from hysupp.progress import tracker
from hysupp.unmixing.blind.sclsu import nonneg_least_squares

__all__ = ["MVCNMF"]

#: maximum number of step reductions of one Armijo search
MAX_BACKTRACK = 50
#: a failed Armijo search whose smallest trial moved x by less than this (relative) is at a stationary point
STATIONARY_RTOL = 1e-8


#: largest log(det^2) whose exponential is a finite float64 (with room for the weight tau)
LOG_D2_MAX = float(np.log(np.finfo(np.float64).max)) - 60.0


def _volume_terms(A: np.ndarray, U: np.ndarray, mean: np.ndarray) -> tuple[float, np.ndarray | None]:
    """``det(Z(A))^2`` and ``Z^{-T}`` (None when Z is singular). The determinant is computed as
    ``slogdet`` (no overflow in the determinant itself); ``det^2`` is ``inf`` when it exceeds the
    float64 range (data far from reflectance units with many endmembers), which makes the objective
    infinite: such a step is rejected, and such a starting point is a :class:`DivergenceError`."""
    p = A.shape[1]
    Z = np.vstack([np.ones((1, p)), U.T @ (A - mean[:, None])])
    sign, logabs = np.linalg.slogdet(Z)
    if sign == 0.0 or not np.isfinite(logabs):
        return 0.0, None
    if 2.0 * logabs > LOG_D2_MAX:
        return float("inf"), None
    return float(np.exp(2.0 * logabs)), np.linalg.inv(Z).T


@register
class MVCNMF(BlindUnmixer):
    r"""MVC-NMF: NMF with a simplex-volume penalty, by alternating projected gradient (Armijo).

    .. math::

        \min_{A \ge 0,\ S \ge 0}\ \tfrac12\lVert X - AS\rVert_F^2
        + \tfrac{\delta^2}{2}\lVert \mathbf 1^\top - \mathbf 1^\top S\rVert_2^2
        + \tfrac{\tau}{2}\det{}^2\!\begin{bmatrix}\mathbf 1^\top \\ U^\top(A - \mu\mathbf 1^\top)
        \end{bmatrix}

    (see :mod:`hysupp.unmixing.blind.mvc_nmf` for the notation and the iterations). Defaults are
    HySUPP's ``config/model/MVCNMF.yaml``: ``regularization`` 0.5 (:math:`\tau = 0.5/(p-1)!`),
    ``constraint`` :math:`\delta = 1`, ``learning_rate`` 100 (first trial step), ``scaling``
    :math:`\beta = 0.5`, ``max_iter`` 25, with one projected-gradient step per block and
    iteration and the Armijo constant :math:`\sigma = 10^{-4}`; initialisation by VCA and FCLS as
    in the authors' code (HySUPP's Python port starts from random pixels and zero abundances).

    Parameters
    ----------
    regularization : float
        Volume weight before the :math:`1/(p-1)!` normalisation.
    constraint : float
        Weight :math:`\delta` of the sum-to-one row.
    learning_rate : float
        First trial step :math:`\alpha_0` of the Armijo searches.
    scaling : float
        Step reduction factor :math:`\beta` in ``(0, 1)``.
    sigma : float
        Armijo sufficient-decrease constant.
    max_iter : int
        Outer (alternating) iterations.
    inner_iter : int
        Projected-gradient steps per block and outer iteration.
    s_solver : {"pg", "exact"}
        Abundance block by ``inner_iter`` projected-gradient steps (the paper), or exactly (the
        non-negative least squares of the augmented system, the limit of those steps;
        :func:`hysupp.unmixing.blind.sclsu.nonneg_least_squares`).
    tol : float
        Stop when :math:`|F_{k-1} - F_k| \le` ``tol`` :math:`\cdot F_{k-1}`.
    seed : int
        Seed of the VCA initialisation.
    dtype : {"float32", "float64"}
        Output dtype (the computation is float64).

    References
    ----------
    L. Miao, H. Qi, "Endmember extraction from highly mixed data using minimum volume constrained
    nonnegative matrix factorization", IEEE Trans. Geosci. Remote Sens. 45(3), 765-777, 2007,
    doi:10.1109/TGRS.2006.888466.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 300).T
    >>> res = get_method("MVC-NMF", "blind")(max_iter=5).unmix(E @ A, 3)
    >>> res.abundances.shape, res.endmembers.shape
    ((3, 300), (20, 3))
    """

    name: ClassVar[str] = "MVC-NMF"
    stochastic: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("regularization", float, 0.5, "volume weight; tau = regularization / (p-1)!", low=0.0),
        Param("constraint", float, 1.0, "weight delta of the sum-to-one row", low=0.0),
        Param("learning_rate", float, 100.0, "first trial step of the Armijo searches", low=0.0),
        Param("scaling", float, 0.5, "Armijo step reduction factor beta", low=1e-6, high=0.999999),
        Param("sigma", float, 1e-4, "Armijo sufficient-decrease constant", low=0.0, high=0.999999),
        Param("max_iter", int, 25, "outer (alternating) iterations", low=1),
        Param("inner_iter", int, 1, "projected-gradient steps per block and outer iteration", low=1),
        Param("s_solver", str, "pg", "abundance block: projected gradient with Armijo (paper) or its limit, the "
              "exact non-negative least squares", choices=("pg", "exact")),
        Param("tol", float, 1e-6, "stop at this relative decrease of the objective", low=0.0),
        Param("seed", int, 0, "seed of the VCA initialisation"),
        Param("dtype", str, "float32", "output dtype (computation in float64)", choices=("float32", "float64")),
    )
    reference: ClassVar[str] = (
        "L. Miao, H. Qi, \"Endmember extraction from highly mixed data using minimum volume constrained "
        "nonnegative matrix factorization\", IEEE Trans. Geosci. Remote Sens. 45(3), 765-777, 2007, "
        "doi:10.1109/TGRS.2006.888466")

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """VCA + FCLS initialisation, then alternating projected gradient; see the class docstring."""
        from hysupp.unmixing.extractors.vca import VCA

        X = np.asarray(Y, dtype=np.float64)
        N = X.shape[1]
        mean = X.mean(axis=1)
        Xc = X - mean[:, None]
        _, V = np.linalg.eigh(Xc @ Xc.T / N)
        U = V[:, ::-1][:, :p - 1]
        del Xc
        tau = self.regularization / math.factorial(p - 1)
        delta = self.constraint
        beta, sigma = self.scaling, self.sigma
        B = np.vstack([np.zeros((1, p - 1)), np.eye(p - 1)])
        UBt = U @ B.T                                            # (L, p)
        xx = float(np.einsum("ln,ln->", X, X))

        ext = VCA(seed=self.seed).extract(X, p)
        A = np.asarray(ext.endmembers, dtype=np.float64).copy()
        S, _ = fcls(X, A, dtype=np.float64)

        def vol(A_: np.ndarray) -> tuple[float, np.ndarray | None]:
            return _volume_terms(A_, U, mean)

        def objective(A_: np.ndarray, S_: np.ndarray) -> float:
            R = X - A_ @ S_
            d2, _ = vol(A_)
            return 0.5 * float(np.einsum("ln,ln->", R, R)) + 0.5 * delta ** 2 * float(
                ((1.0 - S_.sum(axis=0)) ** 2).sum()) + 0.5 * tau * d2

        F = objective(A, S)
        if not np.isfinite(F):
            raise DivergenceError(
                f"{self.name}: the objective overflows float64 at the VCA+FCLS start (the volume term det^2 exceeds "
                f"1e{LOG_D2_MAX / np.log(10):.0f} with p = {p} endmembers and data up to {float(np.max(X)):.4g}); "
                f"the volume penalty assumes reflectance units: scale the data (e.g. --scale 1e-4 for reflectance "
                f"x 10^4), lower p or lower regularization")
        rejected = 0
        history = [F]
        alpha_a = alpha_s = self.learning_rate
        it = 0
        converged = False
        bar = tracker(self.name, total=self.max_iter)
        for it in range(1, self.max_iter + 1):
            # ------------------------------------------------------------------ A block
            XSt, SSt = X @ S.T, S @ S.T

            def f_a(A_: np.ndarray, XSt: np.ndarray = XSt, SSt: np.ndarray = SSt) -> float:
                d2, _ = vol(A_)
                return 0.5 * (xx - 2 * float((A_ * XSt).sum()) + float((A_ * (A_ @ SSt)).sum())) + 0.5 * tau * d2

            fa = f_a(A)
            stalled = False
            for _ in range(self.inner_iter):
                d2, Zinv_t = vol(A)
                grad = A @ SSt - XSt
                if Zinv_t is not None:
                    grad += tau * d2 * (UBt @ Zinv_t)
                A, fa, alpha_a, ok = self._armijo(A, fa, grad, f_a, alpha_a, beta, sigma)
                stalled |= not ok
            # ------------------------------------------------------------------ S block
            AtA = A.T @ A + delta ** 2
            AtX = A.T @ X + delta ** 2

            def f_s(S_: np.ndarray, AtA: np.ndarray = AtA, AtX: np.ndarray = AtX) -> float:
                return 0.5 * float((S_ * (AtA @ S_)).sum()) - float((S_ * AtX).sum())

            if self.s_solver == "exact":
                S = nonneg_least_squares(np.vstack([X, np.full((1, N), delta)]),
                                         np.vstack([A, np.full((1, p), delta)]))
                fs = f_s(S)
            else:
                fs = f_s(S)
                for _ in range(self.inner_iter):
                    grad = AtA @ S - AtX
                    S, fs, alpha_s, ok = self._armijo(S, fs, grad, f_s, alpha_s, beta, sigma)
                    stalled |= not ok
            d2, _ = vol(A)
            F_new = 0.5 * (xx + delta ** 2 * N) + fs + 0.5 * tau * d2      # = objective(A, S)
            check_finite(self.name, it, F_new, what="objective")
            history.append(F_new)
            bar.update(it, objective=F_new)
            if stalled:     # a block's search failed with steps still far from negligible: a stall, not convergence
                rejected += 1
                F = F_new
                break
            if abs(F - F_new) <= self.tol * max(abs(F), 1e-300):
                F = F_new
                converged = True
                break
            F = F_new
        bar.close()
        if not converged:
            why = (f"no projected-gradient step decreased the objective at iteration {it} (an Armijo search "
                   f"failed after {MAX_BACKTRACK} step reductions with steps still far from negligible; objective {F:.3g}, volume term "
                   f"{0.5 * tau * vol(A)[0]:.3g}); the result is close to the VCA+FCLS start: check the data "
                   f"scale (the volume penalty assumes reflectance units) or lower learning_rate") if rejected else (
                f"stopped at max_iter = {self.max_iter} with a relative objective change above tol = {self.tol:g}")
            warnings.warn(f"{self.name}: {why}", ConvergenceWarning, stacklevel=3)
        d2, _ = vol(A)
        info: dict[str, Any] = {
            "method": self.name, "iterations": it, "converged": converged, "stalled": bool(rejected), "objective": F,
            "objective_history": history, "volume": math.sqrt(d2) / math.factorial(p - 1), "tau": tau,
            "step_A": alpha_a, "step_S": alpha_s, "seed": self.seed, "vca_indices": ext.indices,
            "dtype": self.dtype, "device": "cpu",
        }
        dt = np.dtype(self.dtype)
        return UnmixingResult(abundances=S.astype(dt), endmembers=A.astype(dt), info=info)

    @staticmethod
    def _armijo(x: np.ndarray, fx: float, grad: np.ndarray, f: Any, alpha0: float, beta: float,
                sigma: float) -> tuple[np.ndarray, float, float, bool]:
        """One projected-gradient step with Armijo backtracking; returns ``(x_new, f(x_new), alpha,
        ok)`` with the next first trial ``alpha / beta``. When no step satisfies the
        sufficient-decrease test, ``x`` is returned unchanged, and ``ok`` says whether the smallest
        trial step was already negligible (``||dx|| <= 1e-8 ||x||``: the objective is flat at
        rounding level, a stationary point) or not (the step sizes do not fit the problem's scale:
        a stall)."""
        alpha = alpha0
        move = 0.0
        with np.errstate(over="ignore", invalid="ignore"):   # a trial far out is rejected, not reported
            for _ in range(MAX_BACKTRACK + 1):
                x_new = np.maximum(x - alpha * grad, 0.0)
                f_new = f(x_new)
                if f_new - fx <= sigma * float((grad * (x_new - x)).sum()):
                    return x_new, f_new, alpha / beta, True
                move = float(np.linalg.norm(x_new - x))
                alpha *= beta
        return x, fx, alpha0, move <= STATIONARY_RTOL * max(float(np.linalg.norm(x)), np.finfo(float).tiny)
