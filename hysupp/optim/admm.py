r"""Pixel-separable ADMM for sparse regression over a library (SUnSAL's problem), in pixel chunks.

For pixels :math:`Y \in \mathbb{R}^{L \times N}` and a library :math:`D \in \mathbb{R}^{L \times M}`,

.. math::

    \min_X \tfrac12 \lVert Y - DX \rVert_F^2 + \lambda \lVert X \rVert_{1,1}
    \ (+\ \iota_{\ge 0}(X))\ (+\ \iota_{\{\mathbf 1^\top X = \mathbf 1^\top\}}(X)),

solved by the ADMM of ``sunsal.m`` (Bioucas-Dias & Figueiredo, 2010) with the splitting
:math:`X = Z` and scaled multipliers :math:`\Lambda`, :math:`F_\mu = (D^\top D + \mu I)^{-1}`:

.. math::

    Z &\leftarrow \operatorname{prox}_{(\lambda/\mu)\lVert\cdot\rVert_1 (+\iota_{\ge 0})}(X - \Lambda) \\
    X &\leftarrow F_\mu\,(D^\top Y + \mu (Z + \Lambda))
          \quad(\text{projected on } \mathbf 1^\top X = \mathbf 1^\top \text{ with addone}) \\
    \Lambda &\leftarrow \Lambda - (X - Z)

with ``sunsal.m``'s adaptive penalty: every ``check_every`` iterations (at iterations 1, 11, 21,
...) the primal residual :math:`r_p = \lVert X - Z\rVert_F` and the dual residual
:math:`r_d = \mu\lVert Z - Z_{\rm prev}\rVert_F` are evaluated; :math:`\mu` is doubled (multipliers
halved) when :math:`r_p > 10 r_d`, halved (doubled) when :math:`r_d > 10 r_p`, and the iterations
stop when both are below :math:`\sqrt{NM}\,\mathrm{tol}` or after ``max_iter``. ``D`` and ``Y`` are
divided by :math:`\nu = \mathrm{RMS}(D)` and :math:`\lambda` by :math:`\nu^2` first (the minimiser
is unchanged; residuals and :math:`\mu` refer to this scaled problem, as in HySUPP).

Pixel chunks. Between two residual checks :math:`\mu` is fixed, and every update above acts on
each pixel (column) alone. So each *segment* of iterations between two checks runs chunk by chunk
(``chunk`` pixels at a time, chunks spread over ``n_threads`` threads), each chunk doing all the
segment's iterations on cache-resident arrays; only the residuals (sums of squares per chunk) are
global. The iterates are exactly those of the whole-image loop. What persists across segments is
:math:`X`, :math:`\Lambda` and the last :math:`Z` (three ``(M, N)`` arrays in ``dtype``);
:math:`b = F_\mu D^\top Y` is recomputed per chunk at the start of each segment
(:math:`Q_\mu Y_c` with :math:`Q_\mu = F_\mu D^\top / \nu^2`, one ``(M, L) @ (L, n_c)`` product per
``check_every`` iterations) instead of being stored (it is kept, per chunk, while :math:`\mu` does
not change when it is small: :data:`CACHE_B_BYTES`), and no float64 copy of ``Y`` is made. Per
iteration and chunk: one ``(M, M) @ (M, n_c)`` product and five element-wise passes.

Example
-------
>>> import numpy as np
>>> from hysupp.optim.admm import sparse_regression_admm
>>> rng = np.random.default_rng(0)
>>> D = rng.random((30, 12)); X = np.zeros((12, 40)); X[[1, 5]] = rng.dirichlet([1, 1], 40).T
>>> Xh, info = sparse_regression_admm(D @ X, D, lam=1e-6, tol=1e-8, dtype=np.float64, chunk=16)
>>> bool(np.abs(Xh - X).max() < 1e-3), info["converged"]
(True, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from hysupp.errors import HysuppError, ParameterError
from hysupp.optim.guards import check_finite
from hysupp.optim.prox import soft_threshold
from hysupp.progress import tracker

__all__ = ["CACHE_B_BYTES", "CHECK_EVERY", "DEFAULT_CHUNK", "LibraryInverse", "sparse_regression_admm"]

#: iterations between residual evaluations / penalty updates (as in sunsal.m)
CHECK_EVERY = 10
#: pixels per chunk (measured on DC1-like data, M = 240, 1 thread: 4096-pixel chunks 0.83x the per-iteration
#: time of whole-array passes, 128-pixel chunks 1.5x: the GEMM needs wide blocks; 2048 keeps six
#: (M, chunk) float32 working arrays within 12 MB)
DEFAULT_CHUNK = 2048
#: ``b = F D^T Y`` is kept (not recomputed every segment) when it is at most this large
CACHE_B_BYTES = 64 << 20


class LibraryInverse:
    r"""``(D^T D + mu I)^{-1}`` (optionally restricted to the affine set ``1^T x = 1``) for any
    ``mu`` from one float64 eigendecomposition of ``G = D^T D``."""

    def __init__(self, G: np.ndarray) -> None:
        s, U = np.linalg.eigh(G)
        self.s = np.maximum(s, 0.0)
        self.U = U

    def inv(self, mu: float) -> np.ndarray:
        return (self.U / (self.s + mu)) @ self.U.T

    def affine(self, mu: float) -> tuple[np.ndarray, np.ndarray]:
        r"""``(F1, f)`` with ``x = F1 r + f`` the minimiser of ``x^T (G + mu I) x / 2 - r^T x``
        subject to ``1^T x = 1``: ``F1 = F - F 1 1^T F / (1^T F 1)``, ``f = F 1 / (1^T F 1)``."""
        F = self.inv(mu)
        F1 = F.sum(axis=1)
        f = F1 / F1.sum()
        return F - np.outer(f, F1), f


def _check_admm(method: str, it: int, *values: float) -> None:
    check_finite(method, it, *values, what="ADMM iterates",
                 hint="check the input scaling and lower the penalty or the regularisation weights")


@np.errstate(invalid="ignore", over="ignore")  # non-finite iterates are reported by _check_admm
def sparse_regression_admm(Y: np.ndarray, D: np.ndarray, *, lam: float, positivity: bool = True,
                           addone: bool = False, max_iter: int = 1000, tol: float = 1e-4,
                           mu0: float | None = None, dtype: Any = np.float32, chunk: int = DEFAULT_CHUNK,
                           n_threads: int = 1, check_every: int = CHECK_EVERY, ridge: float = 0.0,
                           prior: Callable[[int, int], np.ndarray] | None = None,
                           method: str = "SUnSAL") -> tuple[np.ndarray, dict[str, Any]]:
    r"""SUnSAL's ADMM (module docstring) in pixel chunks; returns ``(Z (M, N) in dtype, info)``.

    ``Y`` ``(L, N)`` (any float dtype; never copied whole), ``D`` ``(L, M)``. ``lam``:
    :math:`\lambda` of the unscaled problem; ``mu0``: initial penalty of the scaled problem
    (default :math:`10\lambda/\nu^2 + 0.01`); ``tol = 0``: run all ``max_iter`` iterations.
    Start: :math:`X_0 = F_{\mu_0} D^\top Y`, :math:`Z_0 = X_0`, :math:`\Lambda_0 = 0`.
    ``n_threads`` chunks are processed concurrently (NumPy releases the GIL; give BLAS one
    thread per solver thread, e.g. ``OPENBLAS_NUM_THREADS=1``, to avoid oversubscription).

    ``ridge`` :math:`= w \ge 0` and ``prior(c0, c1)`` (the columns ``c0:c1`` of an ``(M, N)``
    matrix :math:`\bar X`, produced per chunk, never whole) add :math:`\tfrac w2\lVert X -
    \bar X\rVert_F^2` to the objective: the ℓ1 regression of the stacked system
    :math:`[Y; \sqrt w \bar X] \approx [D; \sqrt w I] X` (MUA's fine scale), solved with the
    stacked system's :math:`\nu` without forming it.

    ``info``: ``iterations``, ``converged``, ``mu_final``, ``tolerance`` (the threshold
    :math:`\sqrt{NM}\,\mathrm{tol}`), ``residual_history`` (per check: ``iteration``,
    ``primal_residual``, ``dual_residual``, ``mu``), ``residuals_every``, ``library_scale``
    (:math:`\nu`), ``segment_times`` (seconds and iterations of each segment between checks),
    ``chunk``, ``n_threads``, ``solver_wall_time``.
    """
    t0 = time.perf_counter()
    dt = np.dtype(dtype)
    for name, val in (("chunk", chunk), ("n_threads", n_threads), ("check_every", check_every),
                      ("max_iter", max_iter)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ParameterError(f"{method}: {name} must be a positive integer, got {val!r}")
    L, N = Y.shape
    M = D.shape[1]
    Dd = np.asarray(D, dtype=np.float64)
    ridge = float(ridge)
    if ridge < 0 or (ridge > 0) != (prior is not None):
        raise ParameterError(f"{method}: ridge must be >= 0, and > 0 exactly when a prior is given")
    # RMS of D, or of the stacked [D; sqrt(ridge) I]
    nu = float(np.sqrt((np.sum(Dd ** 2) + ridge * M) / ((L + (M if ridge else 0)) * M)))
    if not nu > 0:
        raise HysuppError(f"{method}: the library D is all zeros")
    Dd = Dd / nu
    lam_s = lam / nu ** 2
    G = Dd.T @ Dd
    G[np.diag_indices(M)] += ridge / nu ** 2
    inv = LibraryInverse(G)
    del G
    Dt_s = Dd.T / nu                    # b = F D^T Y / nu^2 = F (Dd^T (Y / nu))
    mu = float(10 * lam_s + 0.01 if mu0 is None else mu0)
    fused = bool(positivity)            # g = lam ||.||_1 + nonneg: prox folded into a shifted multiplier

    def factors(mu: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(P, Q, q)`` in dt: ``X = P W + Q Y_c (+ (ridge / (mu nu^2)) P prior_c) + q`` is the
        X-step for ``W = Z + Lam`` (with the fused soft threshold's shift in ``q``)."""
        if addone:
            F, f = inv.affine(mu)
            q = f.copy()
        else:
            F = inv.inv(mu)
            q = np.zeros(M)
        P = mu * F
        if fused:
            q -= (lam_s / mu) * P.sum(axis=1)
        return P.astype(dt), (F @ Dt_s).astype(dt), q.astype(dt)[:, None]

    X = np.empty((M, N), dtype=dt)
    S = np.empty((M, N), dtype=dt)      # Lam, or Lam + t (t = lam/mu) when fused
    Z = np.empty((M, N), dtype=dt)      # Z at the end of the last segment
    F0 = inv.inv(mu)
    Q0 = (F0 @ Dt_s).astype(dt)
    F0 = F0.astype(dt)
    P, Q, q = factors(mu)
    starts = list(range(0, N, chunk))
    # b = F_mu D^T Y per chunk: kept while mu does not change when it is small (M N below
    # CACHE_B_BYTES), recomputed at every segment otherwise (one (M, L) @ (L, n_c) product per
    # check_every iterations instead of a fourth (M, N) array)
    cached_b: dict[int, np.ndarray] | None = {} if M * N * dt.itemsize <= CACHE_B_BYTES else None
    pool = ThreadPoolExecutor(max_workers=n_threads) if n_threads > 1 and len(starts) > 1 else None

    def run_chunk(c0: int, first: int, last: int, check: bool, pending: tuple[float, float, float] | None
                  ) -> tuple[float, float]:
        """Iterations ``first..last`` on pixels ``c0:c0+chunk``; the residual sums of squares of the
        last one when ``check``. ``pending = (shift_old, factor, shift_new)``: the multiplier
        rescaling of the last penalty change, applied here instead of in a pass of its own."""
        c1 = min(c0 + chunk, N)
        Xc, Sc = X[:, c0:c1], S[:, c0:c1]
        b = cached_b.get(c0) if cached_b is not None else None
        if b is None:
            Yc = np.asarray(Y[:, c0:c1], dtype=dt)
            b = Q @ Yc
            b += q
            if prior is not None:        # F (w / nu^2) Xbar_c = (w / (mu nu^2)) P Xbar_c
                Xb = np.asarray(prior(c0, c1), dtype=dt)
                b += (ridge / (mu * nu ** 2)) * (P @ Xb)
            if first == 1:               # start: X0 = F_mu0 D^T Y, Z0 = X0, Lam0 = 0
                np.matmul(Q0, Yc, out=Xc)
                if prior is not None:
                    Xc += (ridge / nu ** 2) * (F0 @ Xb)
            del Yc
            if cached_b is not None:
                cached_b[c0] = b
        if first == 1:
            Sc[...] = lam_s / mu if fused else 0.0
            Zc = Xc.copy()
        else:
            Zc = Z[:, c0:c1].copy()
            if pending is not None:
                s_old, f, s_new = pending
                if s_old:
                    Sc -= s_old
                Sc /= f
                if s_new:
                    Sc += s_new
        W = np.empty_like(Xc)
        Zp = None
        t = lam_s / mu
        pp = dd = 0.0
        for it in range(first, last + 1):
            if check and it == last:
                Zp = Zc.copy()           # Z of the previous iteration (the dual residual)
            np.subtract(Xc, Sc, out=Zc)
            if fused:
                np.maximum(Zc, 0, out=Zc)
            else:
                soft_threshold(Zc, t, out=Zc)
            np.add(Zc, Sc, out=W)
            np.matmul(P, W, out=Xc)
            Xc += b
            np.subtract(W, Xc, out=Sc)
        if check:
            np.subtract(Zc, Zp, out=W)
            dd = float(np.vdot(W, W))
            np.subtract(Xc, Zc, out=W)
            pp = float(np.vdot(W, W))
        Z[:, c0:c1] = Zc
        return pp, dd

    thr = float(np.sqrt(N * M) * tol)
    history: list[dict[str, float]] = []
    segments: list[dict[str, float]] = []
    res_p = res_d = np.inf
    it = 0
    pending: tuple[float, float, float] | None = None
    bar = tracker(method, total=max_iter)     # hysupp.progress: a no-op when nobody listens
    try:
        while it < max_iter and (res_p > thr or res_d > thr):
            first = it + 1
            # the next check is at the next iteration with it % check_every == 1
            nxt = first if first % check_every == 1 or check_every == 1 else \
                first + (check_every - (first - 1) % check_every) % check_every
            last = min(nxt, max_iter)
            check = last == nxt
            ts = time.perf_counter()
            args = [(c0, first, last, check, pending) for c0 in starts]
            parts = list(pool.map(lambda a: run_chunk(*a), args)) if pool is not None else \
                [run_chunk(*a) for a in args]
            segments.append({"iterations": last - first + 1, "seconds": time.perf_counter() - ts})
            pending = None
            it = last
            if check:
                res_p = float(np.sqrt(sum(p for p, _ in parts)))
                res_d = mu * float(np.sqrt(sum(d for _, d in parts)))
                _check_admm(method, it, res_p, res_d)
                history.append({"iteration": it, "primal_residual": res_p, "dual_residual": res_d, "mu": mu})
                if res_p > 10 * res_d or res_d > 10 * res_p:
                    f = 2.0 if res_p > 10 * res_d else 0.5
                    t_old = lam_s / mu if fused else 0.0
                    mu *= f
                    pending = (t_old, f, lam_s / mu if fused else 0.0)
                    P, Q, q = factors(mu)
                    if cached_b is not None:
                        cached_b.clear()
            bar.update(it, primal_residual=res_p, dual_residual=res_d)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    if not np.isfinite(Z).all():
        _check_admm(method, it, float("nan"))
    info = {"iterations": it, "converged": bool(res_p <= thr and res_d <= thr), "mu_final": mu,
            "tolerance": thr, "residual_history": history, "residuals_every": check_every,
            "library_scale": nu, "segment_times": segments, "chunk": int(chunk), "n_threads": int(n_threads),
            "solver_wall_time": time.perf_counter() - t0}
    return Z, info
