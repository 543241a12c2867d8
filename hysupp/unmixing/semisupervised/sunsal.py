r"""Sparse regression over a spectral library by ADMM: SUnSAL, CLSUnSAL and SUnSAL-TV.

All three estimate the abundances :math:`X \in \mathbb{R}^{M \times N}` of every library atom
(:math:`D \in \mathbb{R}^{L \times M}`) in every pixel (:math:`Y \in \mathbb{R}^{L \times N}`):

* SUnSAL: :math:`\min_X \tfrac12\lVert Y - DX\rVert_F^2 + \lambda\lVert X\rVert_{1,1}`
  (+ :math:`X \ge 0`, + :math:`\mathbf 1^\top X = \mathbf 1^\top`, each optional);
* CLSUnSAL: :math:`\min_X \tfrac12\lVert Y - DX\rVert_F^2 + \lambda\sum_{i=1}^M \lVert X_{i,:}\rVert_2
  + \iota_{\ge 0}(X)` (collaborative, row-sparse);
* SUnSAL-TV: :math:`\min_X \tfrac12\lVert Y - DX\rVert_F^2 + \lambda\lVert X\rVert_{1,1}
  + \lambda_{TV}\,\mathrm{TV}(X) + \iota_{\ge 0}(X)` on the image grid.

The solvers compose the shared kernels of :mod:`hysupp.optim.admm` (SUnSAL's chunked ADMM),
:mod:`hysupp.optim.prox` and :mod:`hysupp.optim.tv`.
The linear system :math:`(D^\top D + \mu I)` is handled through one eigendecomposition
:math:`D^\top D = U \operatorname{diag}(s) U^\top` (float64), from which
:math:`(D^\top D + \mu I)^{-1} = U\operatorname{diag}(1/(s + \mu))U^\top` is rebuilt in
:math:`O(M^3)` whenever the adaptive penalty :math:`\mu` changes; each iteration then costs one
``(M, M) @ (M, N)`` product plus a few fused element-wise passes, all in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import HysuppError
from hysupp.methods.base import SemiSupervisedUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.optim.admm import CHECK_EVERY, DEFAULT_CHUNK, LibraryInverse, sparse_regression_admm
from hysupp.optim.guards import check_finite
from hysupp.optim.prox import group_shrink_factors, soft_threshold
from hysupp.optim.tv import (
    IdentityPlusDtDSolver,
    gradient,
    gradient_adjoint,
    tv_soft_threshold,
)

__all__ = ["ADMM_PARAMS", "CLSUnSAL", "LibraryADMMUnmixer", "SUnSAL", "SUnSALTV", "admm_params", "check_admm_iterates",
           "clsunsal_admm", "sunsal_admm"]


def check_admm_iterates(method: str, it: int, *values: float) -> None:
    """Raise :class:`~hysupp.errors.DivergenceError` when an ADMM residual is NaN/Inf."""
    check_finite(method, it, *values, what="ADMM iterates",
                 hint="check the input scaling and lower the penalty or the regularisation weights")


#: ``(D^T D + mu I)^{-1}`` for any ``mu`` (the shared kernel's; the module's solvers use this name)
_Inverse = LibraryInverse


def _normalised_library(D: np.ndarray, lam: float, method: str) -> tuple[np.ndarray, float, float, LibraryInverse]:
    """The library in float64 divided by its RMS ``nu`` (the ADMM penalty then means the same
    whatever the library's units), the weight ``lam / nu^2`` of the rescaled problem and the
    factorised ``Dd^T Dd``."""
    Dd = np.asarray(D, dtype=np.float64)
    nu = float(np.sqrt(np.mean(Dd ** 2)))
    if not nu > 0:
        raise HysuppError(f"{method}: the library D is all zeros")
    Dd = Dd / nu
    return Dd, nu, lam / nu ** 2, _Inverse(Dd.T @ Dd)


@np.errstate(invalid="ignore", over="ignore")  # non-finite iterates are reported by check_admm_iterates
def sunsal_admm(Y: np.ndarray, D: np.ndarray, prox: Callable[[np.ndarray, float], None] | str, *, lam: float,
                addone: bool = False, max_iter: int = 1000, tol: float = 1e-4, mu0: float | None = None,
                dtype: Any = np.float32, method: str = "SUnSAL") -> tuple[np.ndarray, dict[str, Any]]:
    r"""ADMM for :math:`\min_X \tfrac12\lVert Y - DX\rVert_F^2 + g(Z)` s.t. :math:`X = Z`
    (and :math:`\mathbf 1^\top X = \mathbf 1^\top` with ``addone``), adaptive penalty as in sunsal.m.

    Iterations (scaled multipliers :math:`\Lambda`, :math:`F_\mu = (D^\top D + \mu I)^{-1}`):

    .. math::

        Z &\leftarrow \operatorname{prox}_{g/\mu}(X - \Lambda) \\
        X &\leftarrow F_\mu\,(D^\top Y + \mu (Z + \Lambda))
              \quad(\text{projected on } \mathbf 1^\top X = \mathbf 1^\top \text{ with addone}) \\
        \Lambda &\leftarrow \Lambda - (X - Z)

    Every ``CHECK_EVERY`` iterations: primal residual :math:`r_p = \lVert X - Z\rVert_F`, dual
    residual :math:`r_d = \mu\lVert Z - Z_{\rm prev}\rVert_F`; :math:`\mu` is doubled (and
    :math:`\Lambda` halved) when :math:`r_p > 10 r_d`, halved (:math:`\Lambda` doubled) when
    :math:`r_d > 10 r_p`; stop when both are below :math:`\sqrt{NM}\,\mathrm{tol}` or after
    ``max_iter`` iterations.

    ``D`` and ``Y`` are divided by :math:`\nu = \mathrm{RMS}(D)` and ``lam`` by :math:`\nu^2`
    first (HySUPP's scaling; the minimiser is unchanged). ``prox(V, t)`` overwrites ``V`` with
    :math:`\operatorname{prox}_{t\,g/\lambda}(V)` and receives :math:`t = \lambda/\mu` (scaled);
    ``prox="l1+"`` selects :math:`g = \lambda\lVert\cdot\rVert_1 + \iota_{\ge 0}` with the
    soft threshold folded into a shifted multiplier (one pass fewer per iteration).
    Initial point :math:`X_0 = F_{\mu_0} D^\top Y`, :math:`Z_0 = X_0`, :math:`\Lambda_0 = 0`;
    :math:`\mu_0 = 10\lambda + 0.01` (scaled) unless given. Returns ``(Z, info)``.

    ``prox="l1+"`` runs the chunked kernel :func:`hysupp.optim.admm.sparse_regression_admm` (the
    same iterates, pixel chunks, no full-size float64 product); a callable ``prox`` (not
    pixel-separable in general, e.g. CLSUnSAL's row shrinkage) runs the whole-image loop below.
    """
    if isinstance(prox, str):
        if prox != "l1+":
            raise ValueError(f"unknown fused prox {prox!r}")
        return sparse_regression_admm(Y, D, lam=lam, positivity=True, addone=addone, max_iter=max_iter, tol=tol,
                                      mu0=mu0, dtype=dtype, method=method)
    t0 = time.perf_counter()
    dt = np.dtype(dtype)
    M, N = D.shape[1], Y.shape[1]
    Dd, nu, lam_s, inv = _normalised_library(D, lam, method)
    yy = (Dd.T @ (np.asarray(Y, dtype=np.float64) / nu))
    mu = float(10 * lam_s + 0.01 if mu0 is None else mu0)

    # Z = prox(X - Lam), W = Z + Lam, X = P W + b, Lam <- W - X: five or six passes over (M, N)
    # plus the product per iteration.
    def factors(mu: float) -> tuple[np.ndarray, np.ndarray]:
        if addone:
            F, f = inv.affine(mu)
            b = F @ yy + f[:, None]
        else:
            F = inv.inv(mu)
            b = F @ yy
        P = mu * F
        return P.astype(dt), b.astype(dt)

    X = (inv.inv(mu) @ yy).astype(dt)
    P, b = factors(mu)
    Z = X.copy()
    Lam = np.zeros_like(X)
    W = np.empty_like(X)
    Z0 = np.empty_like(X)
    thr = float(np.sqrt(N * M) * tol)
    history: list[dict[str, float]] = []
    res_p = res_d = np.inf
    it = 0
    while it < max_iter and (res_p > thr or res_d > thr):
        it += 1
        check = it % CHECK_EVERY == 1
        if check:
            np.copyto(Z0, Z)
        np.subtract(X, Lam, out=Z)
        prox(Z, lam_s / mu)
        np.add(Z, Lam, out=W)
        np.matmul(P, W, out=X)
        X += b
        np.subtract(W, X, out=W)
        Lam, W = W, Lam
        if check:
            np.subtract(Z, Z0, out=Z0)
            res_d = mu * float(np.linalg.norm(Z0))
            np.subtract(X, Z, out=Z0)
            res_p = float(np.linalg.norm(Z0))
            check_admm_iterates(method, it, res_p, res_d)
            history.append({"iteration": it, "primal_residual": res_p, "dual_residual": res_d, "mu": mu})
            if res_p > 10 * res_d or res_d > 10 * res_p:
                f = 2.0 if res_p > 10 * res_d else 0.5
                mu *= f
                Lam /= f
                P, b = factors(mu)
    if not np.isfinite(Z).all():
        check_admm_iterates(method, it, float("nan"))
    info = {"iterations": it, "converged": bool(res_p <= thr and res_d <= thr), "mu_final": mu,
            "tolerance": thr, "residual_history": history, "residuals_every": CHECK_EVERY,
            "library_scale": nu, "solver_wall_time": time.perf_counter() - t0}
    return Z, info


@np.errstate(invalid="ignore", over="ignore")  # non-finite iterates are reported by check_admm_iterates
def clsunsal_admm(Y: np.ndarray, D: np.ndarray, *, lam: float, max_iter: int = 1000, tol: float = 1e-4,
                  mu0: float = 0.1, dtype: Any = np.float32, chunk: int = DEFAULT_CHUNK,
                  method: str = "CLSUnSAL") -> tuple[np.ndarray, dict[str, Any]]:
    r"""CLSUnSAL's ADMM with the paper's three-way splitting :math:`V_1 = DU`, :math:`V_2 = U`,
    :math:`V_3 = U` (Iordache et al. 2014; clsunsal.m, HySUPP), scaled multipliers :math:`D_{1,2,3}`:

    .. math::

        U &\leftarrow (D^\top D + 2I)^{-1}\big(D^\top(V_1 + D_1) + V_2 + D_2 + V_3 + D_3\big) \\
        V_1 &\leftarrow (Y + \mu(DU - D_1)) / (1 + \mu), \quad
        V_2 \leftarrow \operatorname{prox}_{(\lambda/\mu)\lVert\cdot\rVert_{2,1}}(U - D_2), \quad
        V_3 \leftarrow \max(U - D_3, 0) \\
        D_1 &\leftarrow D_1 - DU + V_1, \quad D_2 \leftarrow D_2 - U + V_2, \quad D_3 \leftarrow D_3 - U + V_3 .

    Stopping test and penalty update as the reference: every ``CHECK_EVERY`` iterations (at
    iterations 1, 11, 21, ...) the primal residual
    :math:`r_p = \lVert DU - V_1\rVert_F + \lVert U - V_2\rVert_F + \lVert U - V_3\rVert_F` and the
    dual residual :math:`r_d = \mu\lVert U - U_{\rm prev}\rVert_F` (one iteration's change) are
    formed; :math:`\mu` is doubled (halved) when :math:`r_p > 10 r_d` (:math:`r_d > 10 r_p`), the
    scaled multipliers divided (multiplied) by 2 as the scaled form requires (as sunsal.m does; HySUPP's
    port keeps them); the loop stops when both residuals are below :math:`\sqrt{NM}\,\mathrm{tol}`
    or after ``max_iter`` iterations. Initial point as the reference: :math:`U_0 = (D^\top D + \mu_0
    I)^{-1}D^\top Y`, :math:`V_1 = DU_0`, :math:`V_2 = V_3 = U_0`, :math:`D_i = V_i`. ``D``, ``Y`` are
    divided by :math:`\nu = \mathrm{RMS}(D)` and ``lam`` by :math:`\nu^2` first (HySUPP's scaling).
    The iterations compute in float64 whatever ``dtype``: the multipliers start at the size of the
    data (:math:`D_1 = DU_0`) and float32 arithmetic keeps :math:`r_p` above the absolute tolerance
    on real scenes (Cuprite crop, 498 atoms: :math:`r_p` stalls at 0.17 against 0.086), so the test
    would never fire. ``dtype`` is the dtype of the output and of the stored state (below), which
    each chunk reads into float64 buffers: float64 gives the float64 iterates; float32 rounds the
    stored state to float32 between iterations, which moved nothing that matters where measured
    (DC1 at 30 dB, ``lam`` 0.1: the same 131 iterations, SRE 7.39506 dB both, results 1.7e-7 apart
    (relative); the Cuprite crop, 498 atoms, ``lam`` 0.01: the same stop at iteration 181, 1.2e-7
    apart) and halves the memory. Returns ``(V_3, info)`` (non-negative; the reference's output).

    Memory: three full-size arrays of state and one of :math:`U` (in ``dtype``), nothing else of
    size :math:`N`. Each split and its multiplier are functions of one array, the split's argument
    :math:`T_i` (:math:`T_1 = DU - D_1`, :math:`T_2 = U - D_2`, :math:`T_3 = U - D_3`, before the
    update): :math:`V_1 = (Y + \mu T_1)/(1 + \mu)`, :math:`V_2 = c \odot T_2` (:math:`c` the
    per-row shrink factors of the group soft threshold), :math:`V_3 = \max(T_3, 0)`, and
    :math:`D_i = (V_i - T_i)/f` (:math:`f` the factor of a penalty change right after, else 1),
    recomputed from :math:`T_i` with the same floating-point operations as the updates above, so
    only :math:`T_1, T_2, T_3` are kept. Every update except the row norms of :math:`T_2` acts on
    each pixel alone: one pass per iteration over ``chunk``-pixel blocks does the
    :math:`U`-step, :math:`DU` and the three :math:`T_i`; the row norms follow, by row blocks.
    :math:`U` is written to the fourth array only on the iterations whose :math:`U` a residual
    needs (the one before a check, and the check's own, read back to form
    :math:`\lVert U - V_2\rVert` once the new row norms are known). The iterates are those of the
    whole-array updates above to rounding (the residuals are summed chunk by chunk; float32 storage
    adds its rounding). On a 224-band float32 cube with ``M = 240`` the state is 3.9 ``(M, N)``
    float32 arrays (peak about 2.6x cube + one ``(M, N)`` float32 array; 5.1x with float64 storage,
    14x with the twelve full-size float64 arrays of the whole-array form).
    """
    t0 = time.perf_counter()
    out_dt = np.dtype(dtype)
    if max_iter < 1:
        raise ValueError(f"{method}: max_iter must be >= 1, got {max_iter!r}")
    if not (isinstance(chunk, (int, np.integer)) and chunk >= 1):
        raise ValueError(f"{method}: chunk must be a positive integer, got {chunk!r}")
    M, N = D.shape[1], Y.shape[1]
    L = D.shape[0]
    Dd, nu, lam_s, inv = _normalised_library(D, lam, method)
    Dw, DTw = Dd, np.ascontiguousarray(Dd.T)
    AA = inv.inv(2.0)
    mu = float(mu0)
    starts = [(a, min(a + chunk, N)) for a in range(0, N, chunk)]

    # state: T1 (L, N), T2, T3 (M, N); Ub (M, N) holds U on the iterations a residual reads it
    # (first U_0, the initial point)
    sdt = out_dt                 # the state is stored in the output dtype, computed on in float64
    Ub = np.empty((M, N), dtype=sdt)
    F0 = inv.inv(mu)
    for a, b in starts:
        Ub[:, a:b] = F0 @ (Dd.T @ (np.asarray(Y[:, a:b], dtype=np.float64) / nu))
    del F0
    T1 = np.empty((L, N), dtype=sdt)
    T2 = np.empty((M, N), dtype=sdt)
    T3 = np.empty((M, N), dtype=sdt)
    cmax = min(chunk, N)
    bL = [np.empty((L, cmax)) for _ in range(3)]      # Y / nu; V1, V1 + D1, DU; D1
    bM = [np.empty((M, cmax)) for _ in range(5)]      # W; V2, V3; D2; D3; U
    st: dict[str, Any] = {"scale": None, "mu_v1": mu, "f": 1.0}
    # scale: row factors of V2 = scale * T2 (group soft threshold); mu_v1: mu of the V1-update that
    # produced T1; f: D_i = (V_i - T_i) / f (a penalty change after the last update, else 1)

    def sweep(a: int, b: int, mu: float, first: bool, check: bool, keep_u: bool) -> tuple[float, float, float]:
        """One iteration on the pixels ``a:b``: U, DU and the new T1, T2, T3 (and U into Ub); with
        ``check`` the chunk's ``||DU - V1||^2``, ``||U - V3||^2``, ``||U - U_prev||^2``."""
        n = b - a
        y, s1, d1 = (x[:, :n] for x in bL)
        w, v, d2, d3, u = (x[:, :n] for x in bM)
        np.copyto(y, Y[:, a:b])                                         # Y / nu, as float64
        y /= nu
        f_prev = st["f"]
        # the previous split variables and multipliers of this chunk, from T1, T2, T3
        if first:
            np.matmul(Dw, Ub[:, a:b], out=s1)                          # V1 = D1 = D U_0
            np.copyto(d1, s1)
            np.add(s1, d1, out=s1)
            np.matmul(DTw, s1, out=w)
            u0 = Ub[:, a:b]
            for _ in range(4):                                          # V2 = D2 = V3 = D3 = U_0
                w += u0
            np.copyto(d2, u0)
            np.copyto(d3, u0)
        else:
            t1, t2, t3 = T1[:, a:b], T2[:, a:b], T3[:, a:b]
            np.multiply(t1, st["mu_v1"], out=s1)                        # V1 = (Y + mu T1) / (1 + mu)
            s1 += y
            s1 /= 1.0 + st["mu_v1"]
            np.subtract(s1, t1, out=d1)                                 # D1 = V1 - T1
            if f_prev != 1.0:
                d1 /= f_prev
            np.add(s1, d1, out=s1)
            np.matmul(DTw, s1, out=w)
            np.multiply(t2, st["scale"], out=v)                         # V2
            np.subtract(v, t2, out=d2)                                  # D2 = V2 - T2
            if f_prev != 1.0:
                d2 /= f_prev
            w += v
            w += d2
            np.maximum(t3, 0, out=v)                                    # V3
            np.subtract(v, t3, out=d3)                                  # D3 = V3 - T3
            if f_prev != 1.0:
                d3 /= f_prev
            w += v
            w += d3
        np.matmul(AA, w, out=u)                                         # U
        np.matmul(Dw, u, out=s1)                                        # D U
        t1, t3 = T1[:, a:b], T3[:, a:b]
        np.subtract(s1, d1, out=t1)                                     # T1 = DU - D1
        np.subtract(u, d2, out=T2[:, a:b])                              # T2 = U - D2
        np.subtract(u, d3, out=t3)                                      # T3 = U - D3
        sq = (0.0, 0.0, 0.0)
        if check:
            np.multiply(t1, mu, out=d1)                                 # V1 (new)
            d1 += y
            d1 /= 1.0 + mu
            np.subtract(s1, d1, out=d1)
            np.maximum(t3, 0, out=v)                                    # V3 (new)
            np.subtract(u, v, out=v)
            sq1, sq3 = float(np.vdot(d1, d1)), float(np.vdot(v, v))
            np.subtract(u, Ub[:, a:b], out=v)                           # U - U_prev
            sq = (sq1, sq3, float(np.vdot(v, v)))
        if keep_u:
            Ub[:, a:b] = u
        return sq

    def row_sq_norms() -> np.ndarray:
        """Squared row norms of T2, by row blocks of about one chunk (the same sums as whole rows)."""
        rows = max(1, (cmax * M) // N)
        out = np.empty(M)
        for r in range(0, M, rows):
            np.sum(np.square(T2[r:r + rows], dtype=np.float64), axis=1, out=out[r:r + rows])
        return out

    def sq_u_minus_v2(a: int, b: int) -> float:
        v = bM[1][:, :b - a]
        np.multiply(T2[:, a:b], st["scale"], out=v)
        np.subtract(Ub[:, a:b], v, out=v)
        return float(np.vdot(v, v))

    thr = float(np.sqrt(N * M) * tol)
    history: list[dict[str, float]] = []
    res_p = res_d = np.inf
    it = 0
    while it < max_iter and (res_p > thr or res_d > thr):
        it += 1
        check = it % CHECK_EVERY == 1
        keep_u = check or (it + 1) % CHECK_EVERY == 1
        sq = np.zeros(3)
        for a, b in starts:
            sq += sweep(a, b, mu, it == 1, check, keep_u)
        # V2 = row-wise group soft threshold of T2
        st.update(scale=group_shrink_factors(np.sqrt(row_sq_norms())[:, None], lam_s / mu), mu_v1=mu, f=1.0)
        if check:
            sq_p2 = sum(sq_u_minus_v2(a, b) for a, b in starts)
            res_p = float(np.sqrt(sq[0])) + float(np.sqrt(sq_p2)) + float(np.sqrt(sq[1]))
            res_d = mu * float(np.sqrt(sq[2]))
            check_admm_iterates(method, it, res_p, res_d)
            history.append({"iteration": it, "primal_residual": res_p, "dual_residual": res_d, "mu": mu})
            if res_p > 10 * res_d or res_d > 10 * res_p:
                f = 2.0 if res_p > 10 * res_d else 0.5
                mu *= f
                st["f"] = f
    T1 = T2 = Ub = None          # free the state before the output (the inner functions hold these names)
    bL = bM = []
    V3 = np.maximum(T3, 0, out=T3)
    if not all(np.isfinite(V3[:, a:b]).all() for a, b in starts):
        check_admm_iterates(method, it, float("nan"))
    info = {"iterations": it, "converged": bool(res_p <= thr and res_d <= thr), "mu_final": mu,
            "tolerance": thr, "residual_history": history, "residuals_every": CHECK_EVERY,
            "library_scale": nu, "chunk": chunk, "solver_wall_time": time.perf_counter() - t0}
    return V3.astype(out_dt, copy=False), info


def admm_params(tol: float = 1e-4, tol_note: str = "",
                tested: str = "primal and dual residuals") -> tuple[Param, ...]:
    """The parameters every library ADMM method shares, with the method's default ``tol`` (and a
    note on where that default comes from, appended to the help text; ``tested``: what the
    tolerance bounds)."""
    return (
        Param("max_iter", int, 1000, "maximum ADMM iterations (HySUPP AL_iters)", low=1),
        Param("tol", float, tol, f"tolerance on {tested}, times sqrt(N M); 0: run all "
              "iterations" + (f" ({tol_note})" if tol_note else ""), low=0.0),
        Param("dtype", str, "float32", "working and output dtype of the iterations (the factorisation "
              "is float64)", choices=("float32", "float64")),
    )


#: The shared library ADMM parameters with the reference's tolerance, 1e-4.
ADMM_PARAMS = admm_params()
#: SUnSAL's and CLSUnSAL's default tolerances (measured: ``benchmarks/results/stopping_curves.json``;
#: reference 1e-4)
SUNSAL_TOL = 1e-5
CLSUNSAL_TOL = 3e-6


class LibraryADMMUnmixer(SemiSupervisedUnmixer):
    """Base of the sparse library unmixers solved by ADMM (abundances over every atom)."""

    per_snr: ClassVar[dict[int, dict[str, float]]] = {}

    def _result(self, X: np.ndarray, D: np.ndarray, info: dict[str, Any]) -> UnmixingResult:
        info = {"method": self.name, **info, "dtype": self.dtype, "device": "cpu"}
        return UnmixingResult(abundances=X.astype(self.dtype, copy=False), endmembers=D, info=info,
                              over_library=True)


@register
class SUnSAL(LibraryADMMUnmixer):
    r"""SUnSAL: sparse unmixing by variable splitting and augmented Lagrangian (ℓ1, ADMM).

    Solves

    .. math::

        \min_X \tfrac12 \lVert Y - DX \rVert_F^2 + \lambda \lVert X \rVert_{1,1}
        \quad\text{s.t.}\quad X \ge 0\ (\texttt{positivity}),\ \
        \mathbf 1^\top X = \mathbf 1^\top\ (\texttt{addone})

    with the splitting :math:`X = Z` and the ADMM updates of
    :func:`hysupp.optim.admm.sparse_regression_admm`
    (:math:`Z \leftarrow S^{(+)}_{\lambda/\mu}(X - \Lambda)`, soft thresholding from
    :mod:`hysupp.optim.prox`; :math:`X \leftarrow (D^\top D + \mu I)^{-1}(D^\top Y + \mu(Z +
    \Lambda))`; :math:`\Lambda \leftarrow \Lambda - X + Z`) and sunsal.m's adaptive :math:`\mu`.
    With ``lam = 0`` and neither constraint, the least-squares solution :math:`D^+ Y` is returned;
    with ``lam = 0`` and only ``addone``, the closed-form sum-to-one least squares.

    Stopping: every 10 iterations the primal residual :math:`\lVert X - Z\rVert_F` and the dual
    residual :math:`\mu\lVert Z - Z_{\rm prev}\rVert_F` of the scaled problem (``D``, ``Y``
    divided by :math:`\mathrm{RMS}(D)`; abundance units) are recorded in
    ``info["residual_history"]``; the iterations stop when both are below
    :math:`\sqrt{NM}\,\mathrm{tol}` (``tol = 0``: all ``max_iter`` iterations). The default
    ``tol = 1e-5`` is measured, not the reference's 1e-4: it is the largest tolerance whose result
    is within 0.05 dB SRE of the full 1000 iterations on DC1 and DC2 at 30 dB (241 and 281
    iterations, -0.008 and -0.003 dB) and within 30 dB of the full result on the Cuprite crop
    (561 iterations, 32.1 dB). The reference's 1e-4 stops after 111 / 131 / 181 iterations,
    0.070 dB short on DC1 and 11.3 dB from the full result on Cuprite
    (``benchmarks/stopping_curves.py``, ``docs/large_scenes.md``, *Stopping*). The ``hysupp-semi``
    bench suite pins ``tol = 1e-4`` (HySUPP's parity setting).

    Large scenes: the iterations run in pixel chunks (each segment of 10 iterations between two
    residual checks is pixel-separable; ``n_threads`` chunks at a time), with :math:`X`,
    :math:`\Lambda` and :math:`Z` as the only ``(M, N)`` arrays; see :mod:`hysupp.optim.admm`.

    Units: the parameters are defined for data in reflectance units (``docs/design.md``, *Units
    and scale*): other storage scales are divided by their unit scale first, with a warning.

    Defaults are HySUPP's (``config/model/SUnSAL.yaml``: ``lambd`` 1e-3, positivity, 1000
    iterations, tol 1e-4, no sum-to-one) except ``tol`` (1e-5, above). Per-SNR regularisation used for the HySUPP benchmarks
    (:attr:`per_snr`): ``lam`` = 0.7 / 0.1 / 0.01 at 20 / 30 / 40 dB.

    Parameters
    ----------
    lam : float
        ℓ1 weight :math:`\lambda` (in the units of the unscaled problem above).
    positivity : bool
        Enforce :math:`X \ge 0`.
    addone : bool
        Enforce :math:`\mathbf 1^\top X = \mathbf 1^\top` (sum-to-one over the library).
    max_iter, tol, dtype, n_threads
        See the parameter declarations.

    References
    ----------
    J. M. Bioucas-Dias and M. A. T. Figueiredo, "Alternating direction algorithms for
    constrained sparse regression: application to hyperspectral unmixing", WHISPERS 2010,
    doi:10.1109/WHISPERS.2010.5594963.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> D = rng.random((30, 12)); X = np.zeros((12, 40)); X[[1, 5]] = rng.dirichlet([1, 1], 40).T
    >>> res = get_method("sunsal")(lam=1e-6, dtype="float64", tol=1e-8).unmix(D @ X, D)
    >>> res.abundances.shape, bool(np.abs(res.abundances - X).max() < 1e-3)
    ((12, 40), True)
    """

    name: ClassVar[str] = "SUnSAL"
    params: ClassVar[tuple[Param, ...]] = (
        Param("lam", float, 1e-3, "l1 regularisation weight lambda (HySUPP per SNR: 0.7/0.1/0.01 at "
              "20/30/40 dB)", low=0.0),
        Param("positivity", bool, True, "enforce X >= 0"),
        Param("addone", bool, False, "enforce the sum-to-one constraint 1^T X = 1^T"),
    ) + admm_params(SUNSAL_TOL, "reference 1e-4; 1e-5 measured within 0.05 dB of 1000 iterations on DC1, DC2 "
                    "and the Cuprite crop: docs/large_scenes.md, Stopping") + (
        Param("n_threads", int, 1, "pixel chunks iterated concurrently (threads; give BLAS one thread each)",
              low=1),
    )
    per_snr: ClassVar[dict[int, dict[str, float]]] = {20: {"lam": 0.7}, 30: {"lam": 0.1}, 40: {"lam": 0.01}}
    reference: ClassVar[str] = (
        "J. M. Bioucas-Dias and M. A. T. Figueiredo, \"Alternating direction algorithms for constrained "
        "sparse regression: application to hyperspectral unmixing\", WHISPERS 2010, "
        "doi:10.1109/WHISPERS.2010.5594963")

    def _unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
               image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Abundances ``(M, N)`` of every library atom; see the class docstring."""
        if self.lam == 0 and not self.positivity:
            Dd, Yd = D.astype(np.float64), Y.astype(np.float64)
            if not self.addone:
                X = np.linalg.pinv(Dd) @ Yd
            else:
                F = np.linalg.pinv(Dd.T @ Dd)
                X = F @ (Dd.T @ Yd)
                f = F.sum(axis=1)
                X -= np.outer(f / f.sum(), X.sum(axis=0) - 1.0)
            return self._result(X, D, {"iterations": 0, "converged": True, "closed_form": True})

        X, info = sparse_regression_admm(Y, D, lam=self.lam, positivity=self.positivity, addone=self.addone,
                                         max_iter=self.max_iter, tol=self.tol, dtype=self.dtype,
                                         n_threads=self.n_threads, method=self.name)
        return self._result(X, D, info)


@register
class CLSUnSAL(LibraryADMMUnmixer):
    r"""CLSUnSAL: collaborative (row-sparse, ℓ2,1) sparse unmixing with non-negativity, by ADMM.

    Solves

    .. math::

        \min_{X \ge 0} \tfrac12 \lVert Y - DX \rVert_F^2 + \lambda \sum_{i=1}^M \lVert X_{i,:} \rVert_2 ,

    which selects a few atoms shared by all pixels. ADMM with the paper's three-way splitting
    :math:`V_1 = DX`, :math:`V_2 = X` (row-wise group soft thresholding,
    :func:`hysupp.optim.prox.group_soft_threshold`), :math:`V_3 = X` (positivity), and the
    reference's stopping test and penalty adaptation (:func:`clsunsal_admm`): every 10 iterations
    :math:`r_p = \lVert DX - V_1\rVert + \lVert X - V_2\rVert + \lVert X - V_3\rVert` and
    :math:`r_d = \mu\lVert X - X_{\rm prev}\rVert`, stop when both are below
    :math:`\sqrt{NM}\,\mathrm{tol}`. (A two-block splitting solves the same problem with one product
    per iteration instead of three, but its residuals are other quantities, so the same tolerance
    stops it at another point: on the Cuprite crop with the 498-atom USGS library it stopped after
    201 iterations 18 % (relative Frobenius) away from HySUPP's result; this one stops after 221,
    0.27 % away.) With HySUPP's handling of the multipliers when :math:`\mu` changes (it does not
    rescale them) the iterates equal HySUPP's to 1.5e-9 and stop at the same iteration (211); by
    default they are rescaled, as the scaled ADMM requires. The output is the non-negative split :math:`V_3`
    (the reference's); the iterations run in float64. The penalty :math:`\mu` starts at ``mu``
    (HySUPP: 0.1, scaled problem).

    Defaults are HySUPP's (``config/model/CLSUnSAL.yaml``: ``lambd`` 0.01, 1000 iterations,
    tol 1e-4, mu 0.1) except ``tol``. The default ``tol = 3e-6`` is measured: the largest
    tolerance whose result is within 0.05 dB SRE of the full 1000 iterations on DC1 and DC2 at
    30 dB and within 30 dB of the full result on the Cuprite crop (861 iterations there, 49.0 dB).
    The reference's 1e-4 stops 0.336 dB short on DC2 and 13.1 dB from the full result on Cuprite;
    1e-5 reaches only 28.9 dB there (``benchmarks/stopping_curves.py``, ``docs/large_scenes.md``,
    *Stopping*). The ``hysupp-semi`` bench suite pins ``tol = 1e-4`` (HySUPP's parity setting). Per-SNR values (:attr:`per_snr`): ``lam`` = 0.7 / 0.1 / 0.01 at
    20 / 30 / 40 dB.

    References
    ----------
    M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, "Collaborative sparse regression for
    hyperspectral unmixing", IEEE Trans. Geosci. Remote Sens. 52(1), 341-354 (2014),
    doi:10.1109/TGRS.2013.2240001.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> D = rng.random((30, 12)); X = np.zeros((12, 40)); X[[1, 5]] = rng.dirichlet([1, 1], 40).T
    >>> Xh = get_method("clsunsal")(lam=1e-3, dtype="float64").unmix(D @ X, D).abundances
    >>> sorted(np.argsort(-np.linalg.norm(Xh, axis=1))[:2].tolist())
    [1, 5]
    """

    name: ClassVar[str] = "CLSUnSAL"
    params: ClassVar[tuple[Param, ...]] = (
        Param("lam", float, 0.01, "l2,1 (row) regularisation weight lambda (HySUPP per SNR: "
              "0.7/0.1/0.01 at 20/30/40 dB)", low=0.0),
        Param("mu", float, 0.1, "initial ADMM penalty (scaled problem), adapted every 10 iterations",
              low=0.0, low_open=True),
    ) + admm_params(CLSUNSAL_TOL, "reference 1e-4; 3e-6 measured within 0.05 dB of 1000 iterations on DC1, "
                    "DC2 and the Cuprite crop: docs/large_scenes.md, Stopping")
    per_snr: ClassVar[dict[int, dict[str, float]]] = {20: {"lam": 0.7}, 30: {"lam": 0.1}, 40: {"lam": 0.01}}
    reference: ClassVar[str] = (
        "M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, \"Collaborative sparse regression for hyperspectral "
        "unmixing\", IEEE Trans. Geosci. Remote Sens. 52(1), 341-354, 2014, doi:10.1109/TGRS.2013.2240001")

    def _unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
               image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Abundances ``(M, N)`` of every library atom; see the class docstring."""

        X, info = clsunsal_admm(Y, D, lam=self.lam, max_iter=self.max_iter, tol=self.tol, mu0=self.mu,
                                dtype=self.dtype, method=self.name)
        return self._result(X, D, info)


@register
class SUnSALTV(LibraryADMMUnmixer):
    r"""SUnSAL-TV: sparse unmixing with total-variation spatial regularisation (ADMM).

    Solves, on the image grid ``image_shape = (H, W)`` (periodic boundaries),

    .. math::

        \min_{X \ge 0} \tfrac12 \lVert Y - DX \rVert_F^2 + \lambda \lVert X \rVert_{1,1}
        + \lambda_{TV}\,\mathrm{TV}(X),

    with :math:`\mathrm{TV}(X) = \sum_{\text{atoms, pixels}} \lVert (D_hX, D_vX) \rVert` (``iso``:
    Euclidean norm of the pair; ``aniso``: :math:`|D_hX| + |D_vX|`, MATLAB's ``"niso"``;
    :mod:`hysupp.optim.tv`). Splitting :math:`V_2 = X` (ℓ1 + positivity), :math:`V_4 = X`,
    :math:`V_3 = \nabla V_4` (TV), scaled multipliers :math:`\Lambda_2, \Lambda_3, \Lambda_4`; a
    two-block ADMM over :math:`(X, V_3)` and :math:`(V_2, V_4)`:

    .. math::

        X &\leftarrow (D^\top D + 2\mu I)^{-1}\big(D^\top Y + \mu(V_2 + \Lambda_2 + V_4 + \Lambda_4)\big) \\
        V_3 &\leftarrow \operatorname{prox}_{(\lambda_{TV}/\mu)\lVert\cdot\rVert}(\nabla V_4 - \Lambda_3) \\
        V_2 &\leftarrow \max(X - \Lambda_2 - \lambda/\mu,\ 0) \\
        V_4 &\leftarrow (I + \nabla^\top\nabla)^{-1}\big(X - \Lambda_4 + \nabla^\top(V_3 + \Lambda_3)\big)
              \quad\text{(FFT, per atom image)} \\
        \Lambda_2 &\leftarrow \Lambda_2 - (X - V_2),\ \
        \Lambda_4 \leftarrow \Lambda_4 - (X - V_4),\ \
        \Lambda_3 \leftarrow \Lambda_3 - (\nabla V_4 - V_3)

    :math:`\mu` starts at ``mu`` and is adapted every 10 iterations (doubled/halved when the primal
    residual :math:`\lVert X - V_2\rVert + \lVert X - V_4\rVert + \lVert\nabla V_4 - V_3\rVert`
    and the dual residual :math:`\mu\lVert V_2 - V_2^{\rm prev}\rVert` differ by more than 10x,
    multipliers rescaled). Returns :math:`V_2` (non-negative).

    Defaults are HySUPP's call of the MATLAB sunsal_tv (``config/model/SUnSALTV.yaml`` and
    ``matlab.py``: ``lambd`` 1e-3, ``lambd_tv`` 1e-3, MU 0.05, 200 AL iterations, positivity,
    no sum-to-one, TV_TYPE ``niso`` = anisotropic). No data scaling inside (as sunsal_tv.m): the
    parameters are defined for data in reflectance units, and the template divides other storage
    scales by their unit scale first (``docs/design.md``, *Units and scale*). Stopping: primal and
    dual residuals every 10 iterations in ``info["residual_history"]``, both below
    :math:`\sqrt{NM}\,\mathrm{tol}` (``tol = 0``: all ``max_iter`` iterations).

    References
    ----------
    M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, "Total variation spatial regularization for
    sparse hyperspectral unmixing", IEEE Trans. Geosci. Remote Sens. 50(11), 4484-4502 (2012),
    doi:10.1109/TGRS.2012.2191590.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> D = rng.random((30, 12)); X = np.zeros((12, 8, 8)); X[1, :, :4] = 1; X[5, :, 4:] = 1
    >>> Y = D @ X.reshape(12, -1)
    >>> res = get_method("sunsal-tv")(lam=1e-4, lam_tv=1e-4, dtype="float64").unmix(Y, D, image_shape=(8, 8))
    >>> res.abundances.shape
    (12, 64)
    """

    name: ClassVar[str] = "SUnSAL-TV"
    spatial: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("lam", float, 1e-3, "l1 regularisation weight lambda", low=0.0),
        Param("lam_tv", float, 1e-3, "total-variation weight lambda_TV", low=0.0),
        Param("tv_type", str, "aniso", "TV norm: isotropic, or anisotropic (MATLAB's 'niso')",
              choices=("iso", "aniso", "niso")),
        Param("mu", float, 0.05, "initial ADMM penalty, adapted every 10 iterations", low=0.0, low_open=True),
        Param("max_iter", int, 200, "maximum ADMM iterations (HySUPP AL_ITERS)", low=1),
        Param("tol", float, 1e-4, "tolerance on primal and dual residuals, times sqrt(N M)", low=0.0),
        Param("dtype", str, "float32", "working and output dtype of the iterations (the factorisation "
              "is float64)", choices=("float32", "float64")),
    )
    reference: ClassVar[str] = (
        "M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, \"Total variation spatial regularization for sparse "
        "hyperspectral unmixing\", IEEE Trans. Geosci. Remote Sens. 50(11), 4484-4502, 2012, "
        "doi:10.1109/TGRS.2012.2191590")

    @np.errstate(invalid="ignore", over="ignore")  # non-finite iterates are reported by check_admm_iterates
    def _unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
               image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Abundances ``(M, N)`` of every library atom; ``image_shape = (H, W)`` is required."""
        t0 = time.perf_counter()
        H, W = int(image_shape[0]), int(image_shape[1])
        dt = np.dtype(self.dtype)
        M, N = D.shape[1], Y.shape[1]
        Dd = D.astype(np.float64)
        inv = _Inverse(Dd.T @ Dd)
        yy = Dd.T @ Y.astype(np.float64)
        fft_solver = IdentityPlusDtDSolver((H, W), 1.0)
        lam, lam_tv = self.lam, self.lam_tv
        mu = float(self.mu)

        def factors(mu: float) -> tuple[np.ndarray, np.ndarray]:
            F = inv.inv(2.0 * mu)
            return (mu * F).astype(dt), (F @ yy).astype(dt)

        P, b = factors(mu)
        X = (inv.inv(mu) @ yy).astype(dt)
        V2 = X.copy()
        V4 = X.copy()
        GV4 = gradient(V4.reshape(M, H, W))   # grad V4, kept up to date with V4
        V3 = GV4.copy()
        L2 = np.zeros_like(X)
        L4 = np.zeros_like(X)
        L3 = np.zeros_like(V3)
        Wk = np.empty_like(X)
        V2prev = np.empty_like(X)
        G = np.empty_like(V3)
        thr = float(np.sqrt(N * M) * self.tol)
        history: list[dict[str, float]] = []
        res_p = res_d = np.inf
        it = 0
        while it < self.max_iter and (res_p > thr or res_d > thr):
            it += 1
            check = it % CHECK_EVERY == 1
            if check:
                np.copyto(V2prev, V2)
            # block 1: X and V3
            np.add(V2, L2, out=Wk)
            Wk += V4
            Wk += L4
            np.matmul(P, Wk, out=X)
            X += b
            np.subtract(GV4, L3, out=V3)
            tv_soft_threshold(V3, lam_tv / mu, self.tv_type, out=V3)
            # block 2: V2 and V4
            np.subtract(X, L2, out=V2)
            soft_threshold(V2, lam / mu, nonneg=True, out=V2)
            np.add(V3, L3, out=G)
            rhs = gradient_adjoint(G).reshape(M, N)
            rhs += X
            rhs -= L4
            V4[...] = fft_solver(rhs.reshape(M, H, W)).reshape(M, N)
            # multipliers
            L2 -= X
            L2 += V2
            L4 -= X
            L4 += V4
            gradient(V4.reshape(M, H, W), out=GV4)
            L3 -= GV4
            L3 += V3
            if check:
                res_p = float(np.linalg.norm(X - V2) + np.linalg.norm(X - V4) + np.linalg.norm(GV4 - V3))
                res_d = mu * float(np.linalg.norm(V2 - V2prev))
                check_admm_iterates(self.name, it, res_p, res_d)
                history.append({"iteration": it, "primal_residual": res_p, "dual_residual": res_d, "mu": mu})
                if res_p > 10 * res_d or res_d > 10 * res_p:
                    f = 2.0 if res_p > 10 * res_d else 0.5
                    mu *= f
                    L2 /= f
                    L3 /= f
                    L4 /= f
                    P, b = factors(mu)
        if not np.isfinite(V2).all():
            check_admm_iterates(self.name, it, float("nan"))
        info = {"iterations": it, "converged": bool(res_p <= thr and res_d <= thr), "mu_final": mu,
                "tolerance": thr, "residual_history": history, "residuals_every": CHECK_EVERY,
                "solver_wall_time": time.perf_counter() - t0}
        return self._result(V2, D, info)
