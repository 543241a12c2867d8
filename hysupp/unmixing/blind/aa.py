r"""Archetypal analysis for blind unmixing: AA (active-set alternating minimisation) and EDAA.

Both methods solve the archetypal-analysis problem of Cutler & Breiman (1994),

.. math::

    \min_{A, B}\ \tfrac12 \lVert Y - Y B A \rVert_F^2
    \quad\text{s.t.}\quad A \ge 0,\ \mathbf 1_p^\top A = \mathbf 1_N^\top,\quad
    B \ge 0,\ \mathbf 1_N^\top B = \mathbf 1_p^\top,

with pixels :math:`Y` ``(L, N)``, abundances :math:`A` ``(p, N)`` and archetype weights
:math:`B` ``(N, p)``: every endmember :math:`E = YB` is a convex combination of pixels (it lies in
the data's convex hull) and every pixel is approximated by a convex combination of the endmembers.

* :class:`AA` alternates exact minimisations (Chen, Mairal & Harchaoui 2014): the :math:`A`-step is
  one fully constrained least-squares problem per pixel, and the :math:`B`-step updates the
  archetypes one at a time (block-coordinate descent), each a least-squares problem over the
  simplex of the ``N`` pixels.
* :class:`EDAA` runs entropic mirror descent on both blocks from many random starts at once and
  selects one run (Zouaoui et al. 2023).

References: A. Cutler, L. Breiman, "Archetypal analysis", Technometrics 36(4), 338-347, 1994,
doi:10.1080/00401706.1994.10485840. Y. Chen, J. Mairal, Z. Harchaoui, "Fast and robust
archetypal analysis for representation learning", CVPR 2014, doi:10.1109/CVPR.2014.192.
A. Zouaoui, G. Muhawenayo, B. Rasti, J. Chanussot, J. Mairal, "Entropic Descent Archetypal
Analysis for Blind Hyperspectral Unmixing", IEEE TIP 32, 4649-4663, 2023,
doi:10.1109/TIP.2023.3301769.

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.blind.aa import AA
>>> rng = np.random.default_rng(0)
>>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 100).T; A[:, :3] = np.eye(3)
>>> res = AA(steps_as=20).unmix(E @ A, 3)
>>> res.abundances.shape, res.endmembers.shape, res.info["B"].shape
((3, 100), (20, 3), (100, 3))
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import HysuppError
from hysupp.methods.base import BlindUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.optim.fcls import fcls
from hysupp.optim.simplex import project_simplex
from hysupp.progress import tracker

__all__ = ["AA", "EDAA", "aa_solve", "edaa_solve", "simplex_ls_wide"]

#: squared norm of an abundance row below which an archetype is considered unused (as SPAMS)
UNUSED_ROW = 1e-7
#: entering candidates added per column-generation round of :func:`simplex_ls_wide`
WIDE_ADD = 8
#: relative tolerance (times max_i ||x_i||^2) of the optimality test of :func:`simplex_ls_wide`
WIDE_RTOL = 1e-10


# ---------------------------------------------------------------------------------------------
# sub-problem solvers
# ---------------------------------------------------------------------------------------------

def simplex_ls_wide(X: np.ndarray, v: np.ndarray, *, Xt: np.ndarray | None = None,
                    start: np.ndarray | None = None, tol: float | None = None,
                    max_rounds: int = 1000, max_start: int = 64,
                    xnorm2: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    r"""Exact :math:`\min_\beta \tfrac12\lVert v - X\beta\rVert_2^2` s.t. :math:`\beta \ge 0,\
    \mathbf 1^\top\beta = 1` for a wide ``X`` ``(L, N)`` (``N`` variables, ``N \gg L``).

    Column generation around the batched active-set solver :func:`hysupp.optim.fcls`: the problem
    is solved exactly on a working set :math:`\mathcal W` of columns, then the KKT conditions of
    the full problem are checked with one product :math:`g = X^\top(X\beta - v)`: with
    :math:`\mu = \beta^\top g`, :math:`\beta` is optimal when :math:`\mu - g_i \le` ``tol`` for
    every :math:`i`; otherwise the most violating columns (up to ``max(WIDE_ADD, |W| / 2)``) join
    :math:`\mathcal W` and the restricted problem is solved again (its optimum strictly
    decreases, so the loop terminates). The solution has at most ``L + 1`` nonzeros generically,
    so the restricted problems stay small; the cost per round is ``O(L N)``. A restricted problem
    whose sum-to-one least-squares solution is positive (and well conditioned) is solved by that
    solution directly, without FCLS.

    ``start``: indices of a warm working set (e.g. the previous support; of a larger set only the
    ``max_start`` columns with the best single-vertex objective are kept). ``tol`` defaults to
    ``WIDE_RTOL * max_i ||x_i||^2`` (``xnorm2``: the squared column norms, if precomputed).
    Returns ``(support indices, weights on them, rounds)``.
    """
    X = np.asarray(X, dtype=np.float64)
    if Xt is None:
        Xt = np.ascontiguousarray(X.T)
    v = np.asarray(v, dtype=np.float64)
    if xnorm2 is None:
        xnorm2 = np.einsum("ij,ij->j", X, X)
    if tol is None:
        tol = WIDE_RTOL * float(xnorm2.max())
    if start is None or len(start) == 0:
        # best single vertex: argmin_i ||x_i||^2 / 2 - x_i^T v
        score = 0.5 * xnorm2 - Xt @ v
        W = np.array([int(np.argmin(score))])
    else:
        W = np.unique(np.asarray(start, dtype=np.int64))
        if W.size > max_start:   # e.g. a dense FISTA iterate: keep the best-scoring columns
            score = 0.5 * xnorm2[W] - Xt[W] @ v
            W = np.sort(W[np.argpartition(score, max_start - 1)[:max_start]])
    rounds = 0
    L = X.shape[0]
    while True:
        rounds += 1
        XW = X[:, W]
        # the restricted problem: when the sum-to-one least-squares solution on W is positive it
        # is the restricted minimiser; otherwise FCLS
        b = _affine_ls(XW, v) if W.size <= L else None
        if b is None:
            b, _ = fcls(v, XW, dtype=np.float64)
        r = XW @ b - v
        g = Xt @ r
        mu = float(b @ g[W])
        viol = mu - g
        viol[W] = -np.inf          # the restricted problem is solved exactly on W
        k = min(max(WIDE_ADD, W.size // 2), viol.size - W.size)
        if k <= 0 or rounds >= max_rounds:
            break
        cand = np.argpartition(-viol, k - 1)[:k]
        cand = cand[viol[cand] > tol]
        if cand.size == 0:
            break
        W = np.union1d(W[b > 0], cand)
    keep = b > 0
    return W[keep], b[keep], rounds


def _affine_ls(XW: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """The minimiser of ``||v - XW b||`` s.t. ``1^T b = 1`` (KKT system) if it is positive and
    well determined, else ``None``."""
    n = XW.shape[1]
    K = np.empty((n + 1, n + 1))
    K[:n, :n] = XW.T @ XW
    K[:n, n] = K[n, :n] = 1.0
    K[n, n] = 0.0
    rhs = np.append(XW.T @ v, 1.0)
    try:
        sol = np.linalg.solve(K, rhs)
    except np.linalg.LinAlgError:
        return None
    b = sol[:n]
    if not (np.isfinite(b).all() and b.min() > 0) or np.linalg.cond(K) > 1e12:
        return None
    return b


def _fista_simplex(G: np.ndarray, C: np.ndarray, lip: float, iters: int) -> np.ndarray:
    r"""``iters`` FISTA steps (Beck & Teboulle 2009, constant step ``1/lip``) on
    :math:`\min \tfrac12 x^\top G x - c^\top x` over the simplex for every column of ``C``
    ``(p, n)``, from the barycentre (as SPAMS' warm-up solver)."""
    p = G.shape[0]
    x_prev = np.full(C.shape, 1.0 / p)
    y = x_prev.copy()
    t = 1.0
    for _ in range(iters):
        x = project_simplex(y - (G @ y - C) / lip, axis=0)
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = x + ((t - 1.0) / t_next) * (x - x_prev)
        x_prev, t = x, t_next
    return x_prev


def _fista_simplex_wide(X: np.ndarray, Xt: np.ndarray, v: np.ndarray, lip: float, iters: int) -> np.ndarray:
    """``iters`` FISTA steps on ``min ||v - X beta||^2 / 2`` over the simplex of ``R^N``, from the
    barycentre; the gradient is formed as ``X^T (X y - v)`` (``O(L N)``, in the dtype of ``X``:
    the warm-up passes float32 copies, which halves the memory traffic of these products)."""
    N = X.shape[1]
    x_prev = np.full(N, 1.0 / N)
    y = x_prev.copy()
    t = 1.0
    v = v.astype(X.dtype)
    for _ in range(iters):
        nz = np.flatnonzero(y)       # the projected iterates are sparse: X y over their support
        Xy = X[:, nz] @ y[nz].astype(X.dtype) if nz.size < N // 4 else X @ y.astype(X.dtype)
        x = project_simplex(y - (Xt @ (Xy - v)) / lip)
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = x + ((t - 1.0) / t_next) * (x - x_prev)
        x_prev, t = x, t_next
    return x_prev


def _huber_norms(R: np.ndarray, eps: float) -> np.ndarray:
    n = np.sqrt(np.einsum("ij,ij->j", R, R))
    small = n <= eps
    n[small] = n[small] ** 2 / (2 * eps) + eps / 2
    return n


# ---------------------------------------------------------------------------------------------
# AA
# ---------------------------------------------------------------------------------------------

def aa_solve(Y: np.ndarray, p: int, *, steps_fista: int = 3, steps_as: int = 100, randominit: bool = False,
             robust: bool = False, epsilon: float = 1e-3, fista_iters: int = 50, seed: int = 0,
             method: str = "AA") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    r"""Archetypal analysis by alternating minimisation (see :class:`AA`); returns
    ``(A (p, N), B (N, p), info)`` in float64."""
    t0 = time.perf_counter()
    X = np.ascontiguousarray(Y, dtype=np.float64)
    N = X.shape[1]
    Xt = np.ascontiguousarray(X.T)
    xnorm2 = np.einsum("ij,ij->j", X, X)
    if randominit:
        idx = np.random.default_rng(seed).choice(N, size=p, replace=False)
    else:
        idx = np.arange(p) % N          # SPAMS: the first p pixels
    Z = X[:, idx].copy()
    supp: list[np.ndarray] = [np.array([i]) for i in idx]
    wts: list[np.ndarray] = [np.ones(1) for _ in idx]
    lip_x = float(np.linalg.eigvalsh(X @ X.T)[-1]) if steps_fista > 0 else 0.0
    X32, Xt32 = (X.astype(np.float32), Xt.astype(np.float32)) if steps_fista > 0 else (None, None)
    R = np.empty_like(X)
    y2 = float(np.einsum("ij,ij->", X, X))
    history: list[float] = []
    n_unused = 0
    wide_rounds = 0
    A = np.full((p, N), 1.0 / p)
    bar = tracker(method, total=steps_fista + steps_as)
    for t in range(steps_fista + steps_as):
        exact = t >= steps_fista
        # ---- A-step: one simplex-constrained least-squares problem per pixel ---------------------
        if exact:
            A, _ = fcls(X, Z, dtype=np.float64)
        else:
            G = Z.T @ Z
            A = _fista_simplex(G, Z.T @ X, max(float(np.linalg.eigvalsh(G)[-1]), 1e-300), fista_iters)
        # ---- B-step: block-coordinate update of each archetype -----------------------------------
        # Only Q = R D A^T (L, p) is needed, R = Y - Z A the residual and D = diag(w) the IRLS
        # weights (identity unless robust): Q = Y D A^T - Z (A D A^T), and after z_j changes by
        # dz, Q <- Q - dz (A D A^T)_j. One pass over Y per iteration instead of O(p) over R.
        w = None
        if robust:  # iteratively reweighted least squares for sum_i h_eps(||r_i||)
            np.matmul(Z, A, out=R)
            np.subtract(X, R, out=R)
            w = 1.0 / np.maximum(np.sqrt(np.einsum("ij,ij->j", R, R)), epsilon)
        AD = A if w is None else A * w
        YAt = X @ AD.T                                   # (L, p)
        ADA = AD @ A.T                                   # (p, p)
        Q = YAt - Z @ ADA
        for j in range(p):
            s = float(ADA[j, j])
            if s < UNUSED_ROW:
                # unused archetype: move it to the worst-represented pixel
                np.matmul(Z, A, out=R)
                np.subtract(X, R, out=R)
                k = int(np.argmax(np.einsum("ij,ij->j", R, R)))
                supp[j], wts[j] = np.array([k]), np.ones(1)
                n_unused += 1
            else:
                target = Z[:, j] + Q[:, j] / s
                if exact:
                    supp[j], wts[j], rounds = simplex_ls_wide(X, target, Xt=Xt, start=supp[j], xnorm2=xnorm2)
                    wide_rounds += rounds
                else:
                    beta = _fista_simplex_wide(X32, Xt32, target, lip_x, fista_iters)
                    nz = np.flatnonzero(beta)
                    supp[j], wts[j] = nz, beta[nz]
                    if t == steps_fista - 1:
                        # warm set of the first exact solve: the largest FISTA weights
                        top = np.argsort(-beta[nz])[:X.shape[0] + 1]
                        supp[j], wts[j] = nz[top], beta[nz][top] / beta[nz][top].sum()
            z_new = X[:, supp[j]] @ wts[j]
            Q -= np.outer(z_new - Z[:, j], ADA[j])
            Z[:, j] = z_new
        if robust:
            np.matmul(Z, A, out=R)
            np.subtract(X, R, out=R)
            history.append(float(_huber_norms(R, epsilon).sum()))
        else:
            # ||Y - Z A||^2 = ||Y||^2 - 2 <Z, Y A^T> + <Z^T Z, A A^T>
            history.append(max(y2 - 2.0 * float(np.sum(Z * YAt)) + float(np.sum((Z.T @ Z) * ADA)), 0.0))
        if not math.isfinite(history[-1]):
            raise HysuppError(f"{method}: the objective became non-finite at iteration {t + 1}; check Y")
        bar.update(t + 1, objective=history[-1])
    bar.close()
    B = np.zeros((N, p))
    for j in range(p):
        B[supp[j], j] = wts[j]
    info = {"iterations": steps_fista + steps_as, "objective": history,
            "objective_name": "sum_i h_eps(||r_i||)" if robust else "||Y - YBA||_F^2",
            "unused_archetype_resets": n_unused, "b_step_rounds": wide_rounds,
            "init_pixels": [int(i) for i in idx], "wall_time": time.perf_counter() - t0}
    return A, B, info


@register
class AA(BlindUnmixer):
    r"""Archetypal analysis (Cutler & Breiman 1994) with the alternating active-set solver of Chen,
    Mairal & Harchaoui (2014), as SPAMS' ``archetypalAnalysis`` (HySUPP's AA).

    Solves

    .. math::

        \min_{A, B}\ \lVert Y - Y B A \rVert_F^2 \quad\text{s.t.}\quad
        A \in \Delta_p^N,\ B \in \Delta_N^p

    (columns of :math:`A` ``(p, N)`` and of :math:`B` ``(N, p)`` on the probability simplex);
    endmembers :math:`E = Z = YB`. Each iteration:

    1. :math:`A`-step, :math:`Z` fixed: :math:`a_i = \arg\min_{a \in \Delta_p}\lVert y_i - Z a\rVert^2`
       for every pixel, solved exactly and batched over pixels by :func:`hysupp.optim.fcls`.
    2. :math:`B`-step, :math:`A` fixed, archetype by archetype (block coordinate descent,
       Gauss-Seidel order :math:`j = 1..p`): with the residual :math:`R = Y - ZA` and
       :math:`a^j` the ``j``-th row of :math:`A`, the objective as a function of :math:`z_j`
       alone is :math:`\lVert a^j\rVert^2 \lVert z_j - v_j\rVert^2 + \text{const}` with
       :math:`v_j = z_j + R\,a^{j\top} / \lVert a^j\rVert^2`, so

       .. math::

           \beta_j = \arg\min_{\beta \in \Delta_N} \lVert v_j - Y\beta\rVert_2^2,\qquad
           z_j \leftarrow Y\beta_j,\qquad R \leftarrow R - (z_j^{\rm new} - z_j^{\rm old})\,a^j,

       i.e. :math:`z_j` becomes the projection of :math:`v_j` onto the convex hull of the pixels,
       solved exactly by :func:`simplex_ls_wide` (column generation over
       :func:`hysupp.optim.fcls`, warm-started from the previous support). An archetype whose
       row has :math:`\lVert a^j\rVert^2 < 10^{-7}` is moved to the pixel with the largest
       residual (as SPAMS).

    The first ``steps_fista`` iterations solve both sub-problems inexactly by ``fista_iters``
    projected FISTA steps from the barycentre (SPAMS' warm-up; SPAMS uses a backtracking step
    starting from :math:`L = 1`, we use the exact Lipschitz constant and, for the :math:`B`-step,
    float32 products), the next ``steps_as`` exactly. The warm-up decides which local minimum
    the alternation reaches, so on some scenes the two differ (benchmarks/results/aa.json: on DC1
    at 30 dB ours reaches a lower objective than SPAMS, 725.4 vs 735.0, which SPAMS keeps after
    400 iterations). ``randominit=False`` starts
    from the first ``p`` pixels (SPAMS' non-random initialisation, HySUPP's setting); ``True``
    from ``p`` distinct seeded random pixels. ``robust=True`` replaces the squared norms of the
    pixel residuals by the Huber-smoothed norm :math:`h_\epsilon(\lVert r_i\rVert)` (``epsilon``:
    the width) and the :math:`B`-step by its iteratively reweighted form (weights
    :math:`1/\max(\lVert r_i\rVert, \epsilon)`, updated after each :math:`A`-step), as SPAMS'
    robust AA; the :math:`A`-step is unchanged (each pixel's problem is unweighted). Every
    sub-problem is solved in float64; the results are cast to ``dtype``.

    Defaults are HySUPP's ``config/model/AA.yaml`` (epsilon 1e-3, stepsFISTA 3, stepsAS 100,
    randominit False, robust False). SPAMS solves the sub-problems up to a small ridge
    (:math:`10^{-10}`) and an active-set tolerance of :math:`10^{-5}`; ours are exact up to
    rounding. ``info["B"]`` holds :math:`B` ``(N, p)``.

    References
    ----------
    A. Cutler, L. Breiman, "Archetypal analysis", Technometrics 36(4), 338-347, 1994,
    doi:10.1080/00401706.1994.10485840. Y. Chen, J. Mairal, Z. Harchaoui, "Fast and robust
    archetypal analysis for representation learning", CVPR 2014, doi:10.1109/CVPR.2014.192.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 100).T; A[:, :3] = np.eye(3)
    >>> res = AA(steps_as=20).unmix(E @ A, 3)
    >>> bool(np.allclose(res.abundances.sum(0), 1)), bool(np.allclose(res.info["B"].sum(0), 1))
    (True, True)
    """

    name: ClassVar[str] = "AA"
    stochastic: ClassVar[bool] = True
    scale_invariant: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"steps_as": 5, "fista_iters": 5}
    reference: ClassVar[str] = (
        "A. Cutler, L. Breiman, Archetypal analysis, Technometrics 36(4), 1994, doi:10.1080/00401706.1994.10485840; "
        "Y. Chen, J. Mairal, Z. Harchaoui, Fast and robust archetypal analysis for representation learning, "
        "CVPR 2014, doi:10.1109/CVPR.2014.192")
    params: ClassVar[tuple[Param, ...]] = (
        Param("steps_fista", int, 3, "warm-up iterations with inexact (FISTA) sub-problem solves (SPAMS "
              "stepsFISTA)", low=0),
        Param("steps_as", int, 100, "iterations with exact (active-set) sub-problem solves (SPAMS stepsAS; "
              "HySUPP 100)", low=0),
        Param("fista_iters", int, 50, "FISTA steps per warm-up sub-problem (SPAMS: 50)", low=1),
        Param("randominit", bool, False, "start from p random pixels instead of the first p (HySUPP: False)"),
        Param("robust", bool, False, "robust AA: Huber-smoothed residual norms (IRLS B-step)"),
        Param("epsilon", float, 1e-3, "Huber width of robust AA (used only with robust=True)", low=0.0),
        Param("seed", int, 0, "seed of randominit"),
        Param("dtype", str, "float32", "dtype of the returned arrays (the solver runs in float64)",
              choices=("float32", "float64")),
    )

    def is_stochastic(self) -> bool:
        """Random only with ``randominit`` (the default starts from the first ``p`` pixels)."""
        return bool(self.config["randominit"])

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Endmembers ``Y B`` ``(L, p)`` and abundances ``(p, N)``; see the class docstring."""
        c = self.config
        if c["steps_fista"] + c["steps_as"] < 1:
            from hysupp.errors import ParameterError
            raise ParameterError(f"{self.name}: steps_fista + steps_as must be >= 1, got "
                                 f"{c['steps_fista']} + {c['steps_as']}")
        if c["robust"] and not c["epsilon"] > 0:
            from hysupp.errors import ParameterError
            raise ParameterError(f"{self.name}: parameter 'epsilon' must be > 0 with robust=True, got {c['epsilon']!r}")
        A, B, info = aa_solve(Y, p, steps_fista=c["steps_fista"], steps_as=c["steps_as"],
                              randominit=c["randominit"], robust=c["robust"], epsilon=c["epsilon"],
                              fista_iters=c["fista_iters"], seed=c["seed"], method=self.name)
        E = np.asarray(Y, dtype=np.float64) @ B
        dt = np.dtype(c["dtype"])
        info = {"method": self.name, **info, "B": B.astype(dt), "dtype": str(dt), "device": "cpu",
                "seed": c["seed"]}
        return UnmixingResult(abundances=A.astype(dt), endmembers=E.astype(dt), info=info)


# ---------------------------------------------------------------------------------------------
# EDAA
# ---------------------------------------------------------------------------------------------

def _edaa_init(N: int, p: int, runs: range, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial ``B`` (N, len(runs) * p) and step factors of the restarts ``runs``: restart ``m``
    draws ``B_m = softmax(0.1 U)`` (``U ~ U[0, 1)^{N x p}`` from ``torch.Generator`` seeded
    ``m + seed``, softmax over pixels) and ``2^k`` (``k`` uniform in {-3..3} from
    ``numpy.random.RandomState(m + seed)``): the draws of the reference implementation."""
    import torch

    Bs, facts = [], []
    for m in runs:
        g = torch.Generator().manual_seed(m + seed)
        Bs.append(torch.softmax(0.1 * torch.rand((N, p), generator=g), dim=0))
        facts.append(2.0 ** np.random.RandomState(m + seed).randint(-3, 4))
    return torch.cat(Bs, dim=1).numpy(), np.asarray(facts, dtype=np.float64)


def edaa_solve(Y: np.ndarray, p: int, *, T: int = 100, K1: int = 5, K2: int = 5, M: int = 50, seed: int = 0,
               fit_tol: float = 0.05, restart_batch: int | None = None, device: Any = "auto",
               dtype: Any = "float32") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    r"""EDAA (see :class:`EDAA`): ``M`` restarts run as one batched computation (``restart_batch``
    restarts at a time); returns ``(A (p, N), B (N, p), info)`` of the selected restart."""
    import torch

    from hysupp.nn.device import resolve_device, resolve_dtype
    from hysupp.optim.entropic import entropic_step_log_
    from hysupp.nn.device import flush_denormal

    t0 = time.perf_counter()
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    L, N = Y.shape
    nb = M if restart_batch is None else max(1, min(int(restart_batch), M))
    # an iterate stored in dtype underflows to 0 below half its smallest subnormal, and then stays 0
    # (log 0 = -inf); the log-domain iterates reproduce that without subnormal arithmetic
    floor = (-150 if dt == torch.float32 else -1075) * math.log(2.0)
    Yt = torch.as_tensor(np.ascontiguousarray(Y), device=dev).to(dt)          # (L, N)
    fits, corrs, facts, results = [], [], [], []
    bar = tracker("EDAA", total=-(-M // nb) * T)   # T iterations of each batch of restarts
    # the iterates decay into the float32 subnormal range, where x86 arithmetic is ~100x slower:
    # flush-to-zero on CPU (results unchanged: subnormals are < 1.2e-38)
    with torch.no_grad(), flush_denormal(dev.type == "cpu"):
        for start in range(0, M, nb):
            runs = range(start, min(start + nb, M))
            m = len(runs)
            B0, fact = _edaa_init(N, p, runs, seed)
            # B is stored transposed, Bt = B^T (m p, N): the softmax over pixels then runs along
            # the contiguous axis; every product below is one GEMM over all the batch's restarts
            Bt = torch.as_tensor(np.ascontiguousarray(B0.T), device=dev).to(dt)
            A = torch.full((m, p, N), 1.0 / p, dtype=dt, device=dev)           # (m, p, N)
            logA, logB = A.log(), Bt.log()     # iterates kept in the log domain (no absorbing zeros)

            def per_run(Z: Any, m: int = m) -> Any:           # (L, m p) -> (m, L, p)
                return Z.view(L, m, p).permute(1, 0, 2)

            smax = torch.linalg.svdvals(per_run(Yt @ Bt.t()))[:, 0]
            etaA = torch.as_tensor(fact, device=dev).to(dt) / smax ** 2      # (m,)
            etaB = etaA * math.sqrt(p / N)
            etaA_b = etaA.view(m, 1, 1)
            etaB_b = etaB.repeat_interleave(p).view(m * p, 1)
            GA = torch.empty_like(A)
            GB = torch.empty_like(Bt)
            for k in range(T):
                # A-steps (B fixed): grad_A = (YB)^T (YB) A - (YB)^T Y
                YBf = Yt @ Bt.t()                                               # (L, m p)
                YB = per_run(YBf)
                G = YB.transpose(1, 2) @ YB                                     # (m, p, p)
                C = (YBf.t() @ Yt).view(m, p, N)                                # (m, p, N)
                for _ in range(K1):
                    torch.baddbmm(C, G, A, beta=-1.0, out=GA)                   # G A - C
                    entropic_step_log_(logA, GA, etaA_b, axis=1, X=A, floor=floor)
                # B-steps (A fixed): grad_B^T = (Y B A A^T - Y A^T)^T Y
                AAt = A @ A.transpose(1, 2)                                     # (m, p, p)
                YAt = per_run(Yt @ A.reshape(m * p, N).t())                     # (m, L, p)
                for _ in range(K2):
                    W = per_run(Yt @ Bt.t()) @ AAt - YAt                         # (m, L, p)
                    torch.mm(W.permute(1, 0, 2).reshape(L, m * p).t(), Yt, out=GB)   # (m p, N)
                    entropic_step_log_(logB, GB, etaB_b, axis=1, X=Bt, floor=floor)
                bar.update(start // nb * T + k + 1, restarts=f"{start + 1}-{start + m} of {M}")
            B = Bt.t()
            # per-restart criteria: l1 fit and largest correlation between endmembers
            E = (Yt @ B).view(L, m, p).permute(1, 0, 2)                         # (m, L, p)
            for i in range(m):
                fits.append(float((Yt - E[i] @ A[i]).abs().sum()))
            En = E.double().cpu().numpy()
            for i in range(m):
                c = np.corrcoef(En[i].T) - np.eye(p)
                corrs.append(float(np.max(c)))
            facts.extend(fact.tolist())
            results.append((A.cpu().numpy(), Bt.cpu().numpy()))
    bar.close()
    fits_a, corrs_a = np.asarray(fits), np.asarray(corrs)
    best = select_restart(fits_a, corrs_a, fit_tol)
    chunk, i = divmod(best, nb)
    A_all, B_all = results[chunk]
    A_best = np.ascontiguousarray(A_all[i])
    B_best = np.ascontiguousarray(B_all[i * p:(i + 1) * p].T)
    info = {"selected_restart": int(best), "fit_l1": fits, "max_correlation": corrs, "step_factors": facts,
            "fit_tol": fit_tol, "iterations": T, "restarts": M, "restart_batch": nb,
            "device": str(dev), "dtype": str(dt).replace("torch.", ""), "seed": int(seed),
            "wall_time": time.perf_counter() - t0}
    return A_best, B_best, info


def select_restart(fit: np.ndarray, corr: np.ndarray, fit_tol: float = 0.05) -> int:
    r"""EDAA's model selection: among the restarts whose l1 fit is within a relative ``fit_tol``
    of the best one, :math:`|f_m - \min f| / f_m <` ``fit_tol``, the one whose endmembers are the
    least correlated (smallest largest off-diagonal correlation coefficient); ties go to the
    first restart. Non-finite fits are never selected (unless all are)."""
    fit = np.asarray(fit, dtype=np.float64)
    corr = np.asarray(corr, dtype=np.float64)
    ok = np.isfinite(fit)
    if not ok.any():
        raise HysuppError("EDAA: every restart diverged (non-finite fit); check the scaling of Y")
    fmin = fit[ok].min()
    with np.errstate(divide="ignore", invalid="ignore"):
        cand = ok & (np.abs(fit - fmin) / np.abs(fit) < fit_tol)
    if not cand.any():          # only when the best fit is 0 (exact fit): keep the exact fits
        cand = ok & (fit == fmin)
    c = np.where(cand, np.nan_to_num(corr, nan=np.inf), np.inf)
    return int(np.argmin(c))


@register
class EDAA(BlindUnmixer):
    r"""EDAA: entropic descent archetypal analysis with random restarts and model selection
    (Zouaoui et al. 2023).

    Solves the archetypal-analysis problem

    .. math::

        \min_{A, B}\ f(A, B) = \tfrac12 \lVert Y - Y B A \rVert_F^2 \quad\text{s.t.}\quad
        A \in \Delta_p^N,\ B \in \Delta_N^p

    by alternating entropic mirror descent (:mod:`hysupp.optim.entropic`): ``T`` outer
    iterations, each ``K1`` steps on :math:`A` then ``K2`` steps on :math:`B`,

    .. math::

        A &\leftarrow \operatorname{softmax}_{\rm col}\bigl(\log A - \eta_A \nabla_A f\bigr),
        \qquad \nabla_A f = (YB)^\top (YBA - Y), \\
        B &\leftarrow \operatorname{softmax}_{\rm col}\bigl(\log B - \eta_B \nabla_B f\bigr),
        \qquad \nabla_B f = Y^\top (YBA - Y) A^\top,

    with :math:`\eta_A = \kappa / \sigma_{\max}(YB_0)^2` (the inverse Lipschitz constant of
    :math:`\nabla_A f` at the initial :math:`B_0`, times a factor :math:`\kappa`) and
    :math:`\eta_B = \eta_A \sqrt{p/N}`. Each of the ``M`` restarts ``m`` starts from
    :math:`A = \mathbf 1/p`, :math:`B_0 = \operatorname{softmax}_{\rm col}(0.1\,U)` with
    :math:`U \sim \mathcal U[0, 1)^{N \times p}` and :math:`\kappa = 2^k`,
    :math:`k \sim \mathcal U\{-3, \dots, 3\}`, drawn with seed ``m + seed`` (the same draws as the
    authors' code in HySUPP: ``torch.Generator`` for :math:`U`, ``numpy.random.RandomState`` for
    :math:`k`). Model selection (the paper's): among the restarts whose residual
    :math:`\ell_1` norm :math:`\lVert Y - YBA\rVert_1` is within 5 % (``fit_tol``) of the best
    one, the one whose endmembers :math:`E = YB` have the smallest largest pairwise correlation
    coefficient (:func:`select_restart`). Returns that restart's :math:`A` and :math:`E = YB`;
    ``info`` holds :math:`B` and every restart's fit, correlation and step factor.

    Implementation: the ``M`` restarts are one batched computation (``restart_batch`` at a time):
    the products with :math:`Y` of all restarts are single matrix products with ``M p`` columns
    (:math:`Y B`, :math:`(YB)^\top Y`, :math:`Y A^\top`, :math:`W^\top Y`), the ``p x p`` products
    batched. The reference runs the restarts one after the other and stores :math:`A, B` in
    float32, so entries that fall below half the smallest subnormal number (:math:`2^{-150}`)
    become 0 and stay 0 for good (:math:`\log 0 = -\infty`), while the entries in the subnormal
    range make x86 arithmetic ~100x slower. Here the iterates are kept in the log domain
    (log-softmax steps, :func:`hysupp.optim.entropic.entropic_step_log_`) and an entry whose log
    falls below :math:`\log 2^{-150}` (float64: :math:`\log 2^{-1075}`) is set to zero for good,
    which reproduces that behaviour without subnormal arithmetic (the exponentials run with
    flush-to-zero on CPU, :func:`hysupp.nn.device.flush_denormal`). Without the
    cut the restarts can end elsewhere: a zero entry of the reference can never grow again.

    Defaults are HySUPP's ``config/model/EDAA.yaml`` (T 100, K1 5, K2 5, M 50), float32.

    References
    ----------
    A. Zouaoui, G. Muhawenayo, B. Rasti, J. Chanussot, J. Mairal, "Entropic Descent Archetypal
    Analysis for Blind Hyperspectral Unmixing", IEEE Trans. Image Process. 32, 4649-4663, 2023,
    doi:10.1109/TIP.2023.3301769.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 100).T
    >>> res = EDAA(T=20, M=4, device="cpu").unmix(E @ A, 3)
    >>> res.abundances.shape, res.endmembers.shape, len(res.info["fit_l1"])
    ((3, 100), (20, 3), 4)
    >>> bool(np.allclose(res.abundances.sum(0), 1, atol=1e-5))
    True
    """

    name: ClassVar[str] = "EDAA"
    stochastic: ClassVar[bool] = True
    scale_invariant: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"T": 3, "M": 3}
    reference: ClassVar[str] = (
        "A. Zouaoui, G. Muhawenayo, B. Rasti, J. Chanussot, J. Mairal, Entropic Descent Archetypal Analysis for "
        "Blind Hyperspectral Unmixing, IEEE TIP 32, 2023, doi:10.1109/TIP.2023.3301769")
    params: ClassVar[tuple[Param, ...]] = (
        Param("T", int, 100, "outer iterations", low=1),
        Param("K1", int, 5, "entropic steps on A per outer iteration", low=1),
        Param("K2", int, 5, "entropic steps on B per outer iteration", low=1),
        Param("M", int, 50, "random restarts", low=1),
        Param("fit_tol", float, 0.05, "model selection: relative l1-fit window around the best restart",
              low=0.0),
        Param("restart_batch", int, None, "restarts computed together (memory ~ 4 M p N values); None: all",
              low=1, optional=True),
        Param("seed", int, 0, "restart m uses seed m + seed"),
        Param("device", str, "auto", "torch device: auto (CUDA when available), cpu or cuda",
              choices=("auto", "cpu", "cuda")),
        Param("dtype", str, "float32", "working dtype (reference: float32)", choices=("float32", "float64")),
    )

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Endmembers ``Y B`` ``(L, p)`` and abundances ``(p, N)`` of the selected restart."""
        c = self.config
        A, B, info = edaa_solve(Y, p, T=c["T"], K1=c["K1"], K2=c["K2"], M=c["M"], seed=c["seed"],
                                fit_tol=c["fit_tol"], restart_batch=c["restart_batch"], device=c["device"],
                                dtype=c["dtype"])
        if not (np.isfinite(A).all() and np.isfinite(B).all()):
            raise HysuppError(f"{self.name}: the selected restart has non-finite iterates; check the scaling of Y")
        dt = np.dtype(c["dtype"])
        E = (np.asarray(Y, dtype=np.float64) @ B.astype(np.float64)).astype(dt)
        info = {"method": self.name, **info, "B": B.astype(dt)}
        return UnmixingResult(abundances=A.astype(dt), endmembers=E, info=info)
