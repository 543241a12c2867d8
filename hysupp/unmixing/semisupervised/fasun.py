r"""Fast semi-supervised unmixing with a nonconvex factorisation ``Y ~ D B A``: FaSUn, SUnS, MiSiSUn.

The endmembers are convex combinations (FaSUn, MiSiSUn) or sparse nonnegative combinations (SUnS)
of the library atoms, :math:`E = DB`, and the abundances :math:`A` lie on the simplex:

.. math::

    \text{FaSUn:}\quad &\min_{A, B}\ \tfrac12\lVert Y - DBA\rVert_F^2
        \ \ \text{s.t.}\ A \ge 0,\ \mathbf 1_p^\top A = \mathbf 1_N^\top,\
        B \ge 0,\ \mathbf 1_M^\top B = \mathbf 1_p^\top \\
    \text{SUnS:}\quad &\min_{A, B}\ \tfrac12\lVert Y - DBA\rVert_F^2 + \lambda\lVert B\rVert_1
        \ (\text{or } \lambda\lVert B\rVert_0)
        \ \ \text{s.t.}\ A \ge 0,\ \mathbf 1_p^\top A = \mathbf 1_N^\top,\ 0 \le B \le 1 \\
    \text{MiSiSUn:}\quad &\text{FaSUn} + \tfrac{\lambda}{2}\lVert DB - \bar y\mathbf 1_p^\top\rVert_F^2
        \quad(\bar y = \text{mean pixel: a minimum-simplex-volume surrogate})

(:math:`Y` ``(L, N)``, :math:`D` ``(L, M)``, :math:`B` ``(M, p)``, :math:`A` ``(p, N)``).

Algorithm (Rasti et al. 2024, as implemented in the authors' FUnmix/MiSiSUn code). Splits
:math:`S_1 = A`, :math:`S_2 = B`, :math:`S_3 = DB` with scaled multipliers :math:`\Lambda_{1,2,3}`
(all zero at the start) and penalties :math:`\mu_1, \mu_2, \mu_3`. Each of the ``T`` outer
iterations runs ``TA`` ADMM steps on :math:`A` (with :math:`S_3` fixed), then ``TB`` ADMM steps on
:math:`(B, S_3)` (with :math:`A` fixed):

.. math::

    A &\leftarrow \arg\min_{\mathbf 1^\top A = \mathbf 1^\top}
        \tfrac{\mu_3}{2}\,\mathrm{tr}(A^\top S_3^\top S_3 A) - \langle S_3^\top Y, A\rangle
        + \tfrac{\mu_1}{2}\lVert A - S_1 + \Lambda_1\rVert_F^2,\quad
    S_1 \leftarrow \max(A + \Lambda_1, 0),\quad \Lambda_1 \leftarrow \Lambda_1 + A - S_1 \\
    B &\leftarrow \arg\min_{\mathbf 1^\top B = \mathbf 1^\top}
        \tfrac{\mu_3}{2}\lVert DB - S_3 + \Lambda_3\rVert_F^2
        + \tfrac{\mu_2}{2}\lVert B - S_2 + \Lambda_2\rVert_F^2
        \quad(\text{SUnS: unconstrained}) \\
    S_2 &\leftarrow \Pi(B + \Lambda_2),\quad
    S_3 \leftarrow \bigl(YA^\top + \lambda_{\rm MiSi}\bar y\mathbf 1^\top + \mu_3(DB + \Lambda_3)\bigr)
        \bigl(AA^\top + (\mu_3 + \lambda_{\rm MiSi}) I\bigr)^{-1} \\
    \Lambda_2 &\leftarrow \Lambda_2 + B - S_2,\quad \Lambda_3 \leftarrow \Lambda_3 + DB - S_3

with :math:`\Pi = \max(\cdot, 0)` (FaSUn, MiSiSUn) or :math:`\Pi = \mathrm{clip}_{[0,1]}\circ
\mathrm{shrink}` with the soft threshold :math:`\lambda/\mu_2` or the hard threshold
:math:`\sqrt{2\lambda/\mu_2}` (SUnS). The equality-constrained least-squares steps have the closed
form :math:`X = P W + q\mathbf 1^\top` with :math:`P = Q^{-1} - zz^\top/(\mathbf 1^\top z)`,
:math:`z = Q^{-1}\mathbf 1`, :math:`q = z/(\mathbf 1^\top z)` for the system matrix :math:`Q`
(:math:`Q_1 = \mu_3 D^\top D + \mu_2 I`, constant: factorised once, in float64;
:math:`Q_2 = \mu_3 S_3^\top S_3 + \mu_1 I` and :math:`Q_3`, ``p x p``: once per outer iteration).
As in the reference code the :math:`A`-step weighs :math:`S_3^\top S_3` by :math:`\mu_3` (identical
at the default :math:`\mu_3 = 1`).

Returned point (the feasible split). After ``T`` iterations the ADMM iterates satisfy the
constraints only up to the primal residuals: the iterate :math:`B` sums to one but has negative
entries (on the Cuprite crop with the 498-atom USGS library at T 1000, negative entries adding up
to -0.24 in one column, so :math:`\sum_m |B_{mj}|` reaches 1.48 and :math:`E = DB` can leave the
library's range); FUnmix returns that iterate. Here the returned pair is feasible: :math:`A` and, for FaSUn and
MiSiSUn, :math:`B` are the Euclidean projections of the iterates onto the simplex (columns sum to
one, non-negative: a threshold :math:`\max(b - \theta, 0)`, which also drops the many tiny
coefficients of the iterate); for SUnS :math:`B` is the split :math:`S_2` (in :math:`[0, 1]`,
sparse, as FUnmix). The endmembers are :math:`E = DB` of the returned :math:`B`. ``info`` holds the
relative primal residuals at the last iterate, :math:`\lVert A - S_1\rVert/\lVert A\rVert`,
:math:`\lVert B - S_2\rVert/\lVert B\rVert`, :math:`\lVert DB - S_3\rVert/\lVert DB\rVert`
(``primal_residual_A``, ``_B``, ``_DB``) and how far the returned point is from the iterates
(``feasibility_shift_A``, ``_B``); with ``tol`` set, ``change_history`` holds the stopping statistic
(the relative change of :math:`A` and :math:`B` over one iteration) at every check. On DC1 and DC2 the SRE of the feasible point and of the
iterates agree within 0.05 dB (``benchmarks/bench_fasun_feasible.py``).

Stopping: ``T`` iterations (the reference), or, with ``tol``, when the relative change of :math:`A`
and :math:`B` over one iteration falls below ``tol`` (checked every 10 iterations). Measured against
the full 10000 iterations on DC1 and DC2 at 30 dB and the Cuprite crop
(``benchmarks/stopping_curves.py``, ``docs/large_scenes.md``, *Stopping*), the change of
:math:`B` lingers between 1e-5 and 1e-4 for thousands of iterations while the SRE still improves,
so a tolerance that stops early mostly stops short: FaSUn with 3e-5 stops after 1460 iterations on
DC1, 0.52 dB short, and after 4440 on DC2, 0.11 dB short; with 1e-5 and below it never stops
before 10000. FaSUn and SUnS therefore keep the reference's ``tol = None`` (all ``T``). MiSiSUn's
default is ``tol = 1e-5``: it stops after 8760 iterations on DC1 (-0.004 dB) and runs all ``T``
on DC2 and Cuprite. The ``hysupp-semi`` bench suite pins ``tol = "none"`` for the three.

Endmember order: the ``p`` columns are returned in the order the symmetry breaking produced, which
depends on rounding (dtype, BLAS, device); as for every unmixing result, compare runs after aligning
the endmembers (:func:`hysupp.metrics.align`).

Implementation notes:

* Per outer iteration the products :math:`S_3^\top Y` and :math:`YA^\top` (``O(L p N)``) are formed
  once, not once per inner step; the ``(p, N)`` inner :math:`A`-steps use the identity
  :math:`S_1 - \Lambda_1 = |A + \Lambda_1|` (so one small GEMM and three element-wise passes each,
  likewise for :math:`S_2`); the :math:`B`-step applies the precomputed operators
  :math:`\mu_3 P_1 D^\top` and :math:`\mu_2 P_1` to ``(p, .)``-transposed iterates (skinny products
  are several times faster that way). On CPU the many small element-wise passes run in NumPy (about
  1 us each against 3-8 us through torch's dispatcher) and the two large products in torch (MKL) on
  the same memory; on CUDA everything runs in torch. :math:`AY^\top` is taken on a transposed view
  of :math:`Y` (no second copy of the cube). The objective is evaluated in float64 only every
  ``history_every`` iterations, by pixel blocks of ``OBJECTIVE_BLOCK_VALUES`` values (no
  full-size float64 array): the memory is the cube plus ``(p, N)`` and ``(p, L)`` state.
* float32 on CPU: the multipliers and the inactive abundances decay geometrically into the
  subnormal range, where x86 arithmetic is ~100x slower (FUnmix as shipped takes > 30 min on DC1 at
  30 dB). The solver runs with flush-to-zero/denormals-are-zero on (``torch.set_flush_denormal``,
  restored afterwards); results are unchanged (subnormals are < 1.2e-38).
* Initialisation: ``init="uniform"`` is the reference's (all splits and multipliers zero, so the
  first iterate is :math:`A = \mathbf 1/p`); the ``p`` endmembers are then identical in exact
  arithmetic and only rounding separates them, which the reference relies on. To make this
  deterministic and independent of the BLAS, ``uniform`` adds a tiny seeded perturbation
  (relative 1e-6) to the first :math:`S_1`. ``init="random"`` starts from a seeded random
  :math:`S_1` on the simplex (Dirichlet(1)). Because the symmetry is broken differently, the
  order of the ``p`` estimated endmembers generally differs from FUnmix's (align before comparing
  iterates); on DC1 the SRE agrees with FUnmix to 0.01 dB (benchmarks/bench_fasun.py).
* Defaults are those of FUnmix's ``config/model/FaSUn.yaml`` / ``SUnS.yaml`` (the paper's runs),
  not its class defaults (mu1 100, mu2 10, T 5000).

Reference: B. Rasti, A. Zouaoui, J. Mairal, J. Chanussot, "Fast Semisupervised Unmixing Using
Nonconvex Optimization", IEEE TGRS 62, 2024, doi:10.1109/TGRS.2024.3440663 (FaSUn, SUnS; code:
github.com/BehnoodRasti/FUnmix). MiSiSUn: B. Rasti, B. Koirala, P. Scheunders, "MiSiSUn: Minimum
Simplex Semisupervised Unmixing", arXiv:2603.20263, 2026, doi:10.48550/arXiv.2603.20263 (code:
github.com/BehnoodRasti/MiSiSUn; authors' setting at 20/30/40 dB: lambda 1e-3). Its README writes
the penalty as :math:`\lambda\lVert DB - \bar y\mathbf 1^\top\rVert`; the code's :math:`S_3`-step
(and so this one) minimises the squared form :math:`\tfrac{\lambda}{2}\lVert\cdot\rVert_F^2`.

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.semisupervised.fasun import FaSUn
>>> rng = np.random.default_rng(0)
>>> D = rng.random((30, 12)); A = rng.dirichlet(np.ones(3), 200).T
>>> Y = D[:, [1, 5, 9]] @ A
>>> res = FaSUn(T=50, device="cpu").unmix(Y, D, p=3)
>>> res.abundances.shape, res.endmembers.shape, res.library_coefficients.shape
((3, 200), (30, 3), (12, 3))
>>> bool(np.allclose(res.abundances.sum(axis=0), 1, atol=1e-5))
True
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np
from scipy import linalg as scipy_linalg

from hysupp.methods.base import SemiSupervisedUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.metrics.unmixing import flag_degenerate_endmembers
from hysupp.optim.guards import divergence_error
from hysupp.optim.simplex import project_simplex
from hysupp.progress import tracker

__all__ = ["MISISUN_TOL", "FaSUn", "MiSiSUn", "SUnS", "fasun_solve"]

#: iterations between two relative-change checks when ``tol`` is set
TOL_CHECK_EVERY = 10
#: relative size of the symmetry-breaking perturbation of ``init="uniform"``
UNIFORM_JITTER = 1e-6
#: float64 values per pixel block of the objective (``L x block``: 16 MiB)
OBJECTIVE_BLOCK_VALUES = 1 << 21


def _common_params(T: int = 10000) -> tuple[Param, ...]:
    return (
        Param("T", int, T, "outer iterations (FUnmix default for DC1 and the paper's runs: 10000)", low=1),
        Param("TA", int, 5, "inner ADMM iterations on A per outer iteration", low=1),
        Param("TB", int, 5, "inner ADMM iterations on B per outer iteration", low=1),
        Param("mu1", float, 50.0, "ADMM penalty of the split S1 = A", low=0.0, low_open=True),
        Param("mu2", float, 2.0, "ADMM penalty of the split S2 = B", low=0.0, low_open=True),
        Param("mu3", float, 1.0, "ADMM penalty of the split S3 = D B", low=0.0, low_open=True),
    )


#: the measured default tolerances (docs/large_scenes.md, *Stopping*; reference: None, all T)
MISISUN_TOL = 1e-5
_TOL_KEPT = ("reference, and the default as measured: every tol from 1e-3 to 1e-6 either stops more "
             "than 0.05 dB short on DC1 or DC2 (or below 30 dB of the full result on the Cuprite crop) or "
             "runs all T on the three: docs/large_scenes.md, Stopping")
_TOL_MISISUN = ("reference None; 1e-5 measured: within 0.05 dB of T 10000 on DC1 and DC2 and of the full "
                "result on the Cuprite crop, stopping at 8760 on DC1: docs/large_scenes.md, Stopping")


def _run_params(tol: float | None = None, tol_note: str = _TOL_KEPT) -> tuple[Param, ...]:
    return (
        Param("init", str, "uniform", "initial S1: 'uniform' (reference: A = 1/p, plus a seeded 1e-6 "
              "perturbation) or 'random' (seeded Dirichlet)", choices=("uniform", "random")),
        Param("seed", int, 0, "seed of the initial perturbation / random initialisation"),
        Param("tol", float, tol, "stop when the relative change of A and B per iteration is below tol "
              f"(checked every {TOL_CHECK_EVERY}); None: run all T iterations ({tol_note})", low=0.0,
              optional=True),
        Param("history_every", int, 100, "record the objective every k outer iterations", low=1),
        Param("device", str, "auto", "torch device: auto (CUDA when available), cpu or cuda",
              choices=("auto", "cpu", "cuda")),
        Param("dtype", str, "float32", "working dtype of the iterations (reference: float32)",
              choices=("float32", "float64")),
    )


class _TorchOps:
    """Element-wise and small-matrix kernels on torch tensors (any device)."""

    def __init__(self, torch: Any, dev: Any, dt: Any) -> None:
        self.t, self.dev, self.dt = torch, dev, dt

    def array(self, x: np.ndarray) -> Any:
        return self.t.as_tensor(np.ascontiguousarray(x), device=self.dev).to(self.dt)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self.t.zeros(shape, dtype=self.dt, device=self.dev)

    def numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def mm(self, a: Any, b: Any, out: Any) -> Any:
        return self.t.mm(a, b, out=out)

    big_mm = mm

    def addmm(self, c: Any, a: Any, b: Any, out: Any) -> Any:
        return self.t.addmm(c, a, b, out=out)

    def add(self, a: Any, b: Any, out: Any) -> Any:
        return self.t.add(a, b, out=out)

    def sub(self, a: Any, b: Any, out: Any) -> Any:
        return self.t.sub(a, b, out=out)

    def pos(self, a: Any, out: Any) -> Any:
        return self.t.clamp(a, min=0, out=out)

    def neg(self, a: Any, out: Any) -> Any:
        return self.t.clamp(a, max=0, out=out)

    def abs(self, a: Any, out: Any) -> Any:
        return self.t.abs(a, out=out)

    def clip(self, a: Any, lo: float, hi: float, out: Any) -> Any:
        return self.t.clamp(a, lo, hi, out=out)

    def hard(self, a: Any, thr: float, out: Any) -> Any:
        return self.t.where(a > thr, a.clamp(max=1), self.t.zeros((), dtype=self.dt, device=self.dev), out=out)

    def affine(self, Q: Any, with_q: bool = True) -> tuple[Any, Any]:
        """``(P, q)``: ``X = P W + q 1^T`` minimises ``tr(X^T Q X)/2 - <W, X>`` s.t. ``1^T X = 1^T``
        (``Q`` SPD); ``with_q=False``: ``(Q^-1, None)``."""
        C, _ = self.t.linalg.cholesky_ex(Q)
        Qi = self.t.cholesky_inverse(C)
        if not with_q:
            return Qi, None
        z = Qi.sum(dim=1)
        s = z.sum()
        return Qi - self.t.outer(z, z) / s, (z / s).unsqueeze(1)

    def norm(self, a: Any) -> float:
        return float(self.t.linalg.vector_norm(a))


class _NumpyOps(_TorchOps):
    """CPU: NumPy for the many small element-wise passes (about 1 us each instead of 3-8 us
    through torch's dispatcher) and torch (MKL) for the two large ``O(L p N)`` products, on
    shared memory."""

    def array(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=self.np_dt)

    def __init__(self, torch: Any, dev: Any, dt: Any) -> None:
        super().__init__(torch, dev, dt)
        self.np_dt = np.float32 if dt == torch.float32 else np.float64

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, dtype=self.np_dt)

    def numpy(self, x: np.ndarray) -> np.ndarray:
        return np.array(x)

    def mm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.matmul(a, b, out=out)

    def big_mm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        f = self.t.from_numpy
        self.t.mm(f(np.ascontiguousarray(a)), f(b), out=f(out))
        return out

    def addmm(self, c: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.matmul(a, b, out=out)
        out += c
        return out

    def add(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.add(a, b, out=out)

    def sub(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.subtract(a, b, out=out)

    def pos(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.maximum(a, 0, out=out)

    def neg(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.minimum(a, 0, out=out)

    def abs(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.abs(a, out=out)

    def clip(self, a: np.ndarray, lo: float, hi: float, out: np.ndarray) -> np.ndarray:
        return np.clip(a, lo, hi, out=out)

    def hard(self, a: np.ndarray, thr: float, out: np.ndarray) -> np.ndarray:
        np.minimum(a, 1, out=out)
        out[a <= thr] = 0
        return out

    def affine(self, Q: np.ndarray, with_q: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        Qi = np.linalg.inv(np.asarray(Q, dtype=np.float64))
        Qi = 0.5 * (Qi + Qi.T)
        if not with_q:
            return Qi.astype(self.np_dt), None
        z = Qi.sum(axis=1)
        s = z.sum()
        return (Qi - np.outer(z, z) / s).astype(self.np_dt), (z / s)[:, None].astype(self.np_dt)

    def norm(self, a: np.ndarray) -> float:
        return float(np.linalg.norm(a))


def fasun_solve(Y: np.ndarray, D: np.ndarray, p: int, *, T: int = 10000, TA: int = 5, TB: int = 5,
                mu1: float = 50.0, mu2: float = 2.0, mu3: float = 1.0, b_step: str = "simplex",
                lam: float = 0.0, misi_lambda: float = 0.0, init: str = "uniform", seed: int = 0,
                tol: float | None = None, history_every: int = 100, device: Any = "auto",
                dtype: Any = "float32", method: str = "FaSUn", backend: str | None = None,
                feasible: bool = True) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    r"""The FaSUn / SUnS / MiSiSUn solver (module docstring): returns ``(A, B, info)`` as numpy.

    ``b_step``: ``"simplex"`` (FaSUn, MiSiSUn: :math:`B` on the simplex), ``"soft"`` / ``"hard"``
    (SUnS: :math:`0 \le B \le 1` with soft (:math:`\lambda\lVert B\rVert_1`) or hard
    (:math:`\lambda\lVert B\rVert_0`) shrinkage of weight ``lam``). ``misi_lambda``: MiSiSUn's
    minimum-simplex weight (0 for FaSUn). On CPU the element-wise passes run in NumPy and the two
    large products in torch (MKL), on shared memory; on CUDA everything runs in torch
    (``backend="torch"`` forces the all-torch path on CPU too, for testing). ``feasible=False``
    returns the last iterates instead of the feasible split (FaSUn/MiSiSUn: ``A`` and ``B``; SUnS:
    ``A`` and ``S2``), as FUnmix does.
    """
    import torch

    from hysupp.nn.device import flush_denormal, resolve_device, resolve_dtype

    if b_step not in ("simplex", "soft", "hard"):
        raise ValueError(f"unknown b_step {b_step!r}")
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    t0 = time.perf_counter()
    L, N = Y.shape
    M = D.shape[1]
    r = int(p)
    simplex = b_step == "simplex"
    use_numpy = dev.type == "cpu" and backend != "torch"
    xp = _NumpyOps(torch, dev, dt) if use_numpy else _TorchOps(torch, dev, dt)

    # non-finite iterates are reported by diverged() (HysuppError), not as NumPy warnings
    with torch.no_grad(), flush_denormal(dev.type == "cpu"), np.errstate(over="ignore", invalid="ignore"):
        # ---- constant operators, formed in float64 (numpy) then cast ---------------------------
        Dd = np.asarray(D, dtype=np.float64)
        Q1 = mu3 * (Dd.T @ Dd) + mu2 * np.eye(M)
        try:
            Q1inv = scipy_linalg.cho_solve(scipy_linalg.cho_factor(Q1), np.eye(M))
        except np.linalg.LinAlgError:  # mu2 = 0 and D rank-deficient
            Q1inv = np.linalg.pinv(Q1, hermitian=True)
        Q1inv = 0.5 * (Q1inv + Q1inv.T)
        if simplex:
            z1 = Q1inv.sum(axis=1)
            P1 = Q1inv - np.outer(z1, z1) / z1.sum()
            q1t = xp.array((z1 / z1.sum())[None, :])                       # (1, M)
        else:
            P1, q1t = Q1inv, None
        # The small (., p) quantities of the B-step are kept transposed, (p, .), where the skinny
        # products are several times faster:  B^T = q1^T + (S3 - L3)^T K3 + (S2 - L2)^T K2
        K3 = xp.array(mu3 * (P1 @ Dd.T).T)                                 # (L, M)
        K2 = xp.array(mu2 * P1.T)                                          # (M, M)
        DT = xp.array(Dd.T)                                                # (M, L)
        Yw = xp.array(Y)                                                   # (L, N)
        ybar64 = np.asarray(Y).mean(axis=1, dtype=np.float64)                # (L,)
        ybar = xp.array(ybar64[None, :]) if misi_lambda else None
        eye_r = np.eye(r)

        # ---- state: W1 = S1 - L1, L1 (p, N); R3 = (S3 - L3)^T, R2 = (S2 - L2)^T; L2, L3 ----------
        rng = np.random.default_rng(int(seed))
        if init == "random":
            S1 = rng.dirichlet(np.ones(r), size=N).T
        else:
            S1 = np.full((r, N), 1.0 / r) * (1.0 + UNIFORM_JITTER * rng.uniform(-1, 1, size=(r, N)))
        W1 = xp.array(S1)
        L1, A, V1, G = (xp.zeros((r, N)) for _ in range(4))
        R3, L3, S3, DB, T3 = (xp.zeros((r, L)) for _ in range(5))
        R2, L2, B, S2, V2 = (xp.zeros((r, M)) for _ in range(5))
        C3 = xp.zeros((r, L))
        if b_step == "soft":
            thr = lam / mu2 if mu2 > 0 else math.inf
        elif b_step == "hard":
            thr = math.sqrt(2 * lam / mu2) if mu2 > 0 else math.inf

        def small(x: Any) -> np.ndarray:  # a (p, p) product as float64 numpy
            return np.asarray(xp.numpy(x), dtype=np.float64)

        def b_out() -> Any:
            if simplex:
                return B
            return S2

        block = max(1, OBJECTIVE_BLOCK_VALUES // L)

        def objective() -> float:
            Bo = np.asarray(xp.numpy(b_out()), dtype=np.float64)
            E = Dd @ Bo.T
            value = 0.0
            for j in range(0, N, block):     # 0.5 ||Y - E A||^2 by pixel blocks, in float64
                Yb = np.array(xp.numpy(Yw[:, j:j + block]), dtype=np.float64)   # a copy: Yw is kept
                Yb -= E @ np.asarray(xp.numpy(A[:, j:j + block]), dtype=np.float64)
                value += 0.5 * float(np.einsum("ij,ij->", Yb, Yb))
            if b_step == "soft":
                value += lam * float(np.abs(Bo).sum())
            elif b_step == "hard":
                value += lam * float(np.count_nonzero(Bo))
            if misi_lambda:
                value += 0.5 * misi_lambda * float(np.sum((E - ybar64[:, None]) ** 2))
            return value

        def diverged(it: int) -> None:
            raise divergence_error(method, it, hint="check the scaling of Y and D and the penalties mu1, mu2, mu3")

        history: list[tuple[int, float]] = []
        it_done = 0
        stopped_early = False
        changes: list[tuple[int, float, float]] = []    # (iteration, change of A, change of B) per check
        A_prev = B_prev = None
        bar = tracker(method, total=T)      # hysupp.progress: a no-op when nobody listens
        for it in range(1, T + 1):
            check = tol is not None and it % TOL_CHECK_EVERY == 0
            if check:
                A_prev, B_prev = xp.numpy(A).copy(), xp.numpy(b_out()).copy()
            # ---- A-step: Q2 = mu3 S3^T S3 + mu1 I; A = P2 (S3^T Y + mu1 W1) + q2 1^T ----------------
            S3g = S3 @ S3.T
            P2, q2 = xp.affine(mu3 * small(S3g) + mu1 * eye_r if use_numpy
                               else mu3 * S3g + mu1 * torch.eye(r, dtype=dt, device=dev))
            xp.big_mm(P2 @ S3, Yw, out=G)
            G += q2
            P2 = P2 * mu1
            for _ in range(TA):
                xp.addmm(G, P2, W1, out=A)
                xp.add(A, L1, out=V1)       # V = A + L1
                xp.neg(V1, out=L1)          # L1 <- L1 + A - max(V, 0) = min(V, 0)
                xp.abs(V1, out=W1)          # S1 - L1 = max(V, 0) - min(V, 0) = |V|
            # ---- B-step (transposed): S3^T = Q3^-1 (A Y^T [+ lam ybar 1^T]^T + mu3 (DB + L3)^T) ----
            AAt = A @ A.T
            Q3inv, _ = xp.affine(small(AAt) + (mu3 + misi_lambda) * eye_r if use_numpy
                                 else AAt + (mu3 + misi_lambda) * torch.eye(r, dtype=dt, device=dev),
                                 with_q=False)
            xp.big_mm(A, Yw.T, out=DB)      # DB used as scratch for A Y^T (Y^T a view)
            if misi_lambda:
                DB += misi_lambda * ybar
            xp.mm(Q3inv, DB, out=C3)
            Q3inv = Q3inv * mu3
            for _ in range(TB):
                if simplex:
                    xp.addmm(q1t, R3, K3, out=B)
                else:
                    xp.mm(R3, K3, out=B)
                B += R2 @ K2
                xp.add(B, L2, out=V2)                  # V = B + L2
                if simplex:
                    xp.neg(V2, out=L2)                 # L2 <- V - max(V, 0)
                    xp.abs(V2, out=R2)                 # S2 - L2 = |V|
                else:
                    if b_step == "soft":
                        xp.clip(V2 - thr, 0.0, 1.0, out=S2)
                    else:
                        xp.hard(V2, thr, out=S2)
                    xp.sub(V2, S2, out=L2)             # L2 <- L2 + B - S2
                    xp.sub(S2, L2, out=R2)             # S2 - L2
                xp.mm(B, DT, out=DB)
                xp.add(DB, L3, out=T3)                 # T3 = D B + L3
                xp.addmm(C3, Q3inv, T3, out=S3)        # S3 = (Y A^T + mu3 T3) Q3^-1
                xp.sub(T3, S3, out=L3)                 # L3 <- L3 + D B - S3
                xp.sub(S3, L3, out=R3)                 # S3 - L3
            it_done = it
            if it % history_every == 0 or it == T:
                value = objective()
                if not math.isfinite(value):
                    diverged(it)
                history.append((it, value))
            bar.update(it, objective=history[-1][1] if history else None)   # the last recorded value
            if check:
                An, Bn = xp.numpy(A), xp.numpy(b_out())
                da = float(np.linalg.norm(An - A_prev)) / max(float(np.linalg.norm(A_prev)), 1e-30)
                db = float(np.linalg.norm(Bn - B_prev)) / max(float(np.linalg.norm(B_prev)), 1e-30)
                if not (math.isfinite(da) and math.isfinite(db)):
                    diverged(it)
                changes.append((it, da, db))
                if da < tol and db < tol:
                    stopped_early = True
                    if not history or history[-1][0] != it:
                        history.append((it, objective()))
                    break
        bar.close()
        A_it = np.array(xp.numpy(A))
        B_it = np.array(xp.numpy(B)).T                    # the B iterate (M, p)
        S2n = (np.array(xp.numpy(R2)) + np.array(xp.numpy(L2))).T if simplex else np.array(xp.numpy(S2)).T
        if not (np.isfinite(A_it).all() and np.isfinite(B_it).all() and np.isfinite(S2n).all()):
            diverged(it_done)
        S1n = np.maximum(xp.numpy(W1) + xp.numpy(L1), 0)  # S1 = max(V, 0) = W1 + L1
        DBn, S3n = np.array(xp.numpy(DB)), np.array(xp.numpy(S3))
        # the feasible split returned (module docstring): A and B (FaSUn, MiSiSUn) projected on the
        # simplex, B = S2 (SUnS: in [0, 1], sparse)
        if feasible:
            A_np = project_simplex(A_it, axis=0)
            B_np = np.ascontiguousarray(project_simplex(B_it, axis=0) if simplex else S2n)
        else:
            A_np, B_np = A_it, np.ascontiguousarray(B_it if simplex else S2n)
    wall = time.perf_counter() - t0
    info = {
        "iterations": it_done, "stopped_early": stopped_early,
        # the stopping statistic at every check (with tol set; tol = 0 records it and runs all T)
        "change_history": [{"iteration": k, "change_A": a, "change_B": b} for k, a, b in changes],
        "objective": [v for _, v in history], "objective_iterations": [k for k, _ in history],
        "wall_time": wall, "device": str(dev), "dtype": str(dt).replace("torch.", ""),
        "seed": int(seed), "init": init,
        # ADMM primal residuals at the last iterate, relative: ||A - S1||, ||B - S2||, ||D B - S3||
        "primal_residual_A": _rel(A_it - S1n, A_it),
        "primal_residual_B": _rel(B_it - S2n, B_it),
        "primal_residual_DB": _rel(DBn - S3n, DBn),
        # how far the returned feasible point is from the last iterate, relative
        "feasibility_shift_A": _rel(A_np - A_it, A_it),
        "feasibility_shift_B": _rel(B_np - B_it, B_it),
    }
    return A_np, B_np, info


def _rel(diff: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(diff)) / max(float(np.linalg.norm(ref)), 1e-30)


class _FaSUnBase(SemiSupervisedUnmixer):
    needs_p: ClassVar[bool] = True
    b_step: ClassVar[str] = "simplex"
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"T": 5}

    def _solver_kwargs(self) -> dict[str, Any]:
        return {}

    def _unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
               image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        c = self.config
        A, B, info = fasun_solve(
            Y, D, p, T=c["T"], TA=c["TA"], TB=c["TB"], mu1=c["mu1"], mu2=c["mu2"], mu3=c["mu3"],
            init=c["init"], seed=c["seed"], tol=c["tol"], history_every=c["history_every"],
            device=c["device"], dtype=c["dtype"], method=self.name, **self._solver_kwargs())
        E = (np.asarray(D, dtype=np.float64) @ B.astype(np.float64)).astype(B.dtype)
        flag_degenerate_endmembers(E, Y, info, self.name)
        return UnmixingResult(abundances=A, endmembers=E, library_coefficients=B, info=info)


@register
class FaSUn(_FaSUnBase):
    r"""FaSUn: fast semi-supervised unmixing, Y ~ D B A with A and B on the simplex (nonconvex ADMM).

    Solves :math:`\min_{A,B}\tfrac12\lVert Y - DBA\rVert_F^2` with the columns of :math:`A`
    ``(p, N)`` and of :math:`B` ``(M, p)`` on the probability simplex, by the alternating ADMM of
    Rasti et al. (2024) described in :mod:`hysupp.unmixing.semisupervised.fasun`. Returns
    ``abundances`` :math:`A`, ``endmembers`` :math:`DB` and ``library_coefficients`` :math:`B`,
    the feasible split (both on the simplex; primal residuals in ``info``); library abundances are
    :math:`X = BA`.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> D = rng.random((20, 10)); Y = D[:, [0, 4]] @ rng.dirichlet([1, 1], 100).T
    >>> res = FaSUn(T=30, device="cpu").unmix(Y, D, p=2)
    >>> res.library_abundances().shape
    (10, 100)
    """

    name: ClassVar[str] = "FaSUn"
    stochastic: ClassVar[bool] = True
    reference: ClassVar[str] = ("B. Rasti, A. Zouaoui, J. Mairal, J. Chanussot, Fast Semisupervised Unmixing "
                                "Using Nonconvex Optimization, IEEE TGRS 2024, doi:10.1109/TGRS.2024.3440663")
    params: ClassVar[tuple[Param, ...]] = _common_params() + _run_params()


@register
class SUnS(_FaSUnBase):
    r"""SUnS: sparse semi-supervised unmixing, Y ~ D B A with A on the simplex, 0 <= B <= 1, l1/l0 on B.

    Solves :math:`\min_{A,B}\tfrac12\lVert Y - DBA\rVert_F^2 + \lambda\lVert B\rVert_1` (soft
    shrinkage; with ``hard=True`` :math:`\lambda\lVert B\rVert_0`, hard threshold
    :math:`\sqrt{2\lambda/\mu_2}`) s.t. :math:`A` column-stochastic and :math:`0 \le B \le 1`, by
    the ADMM of Rasti et al. (2024) (FUnmix's ``SUnShrink``). The returned ``B`` is the split
    variable :math:`S_2` (exactly sparse, in :math:`[0, 1]`), as in the reference, and :math:`A` the
    projection of its iterate on the simplex; primal residuals in ``info``.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> D = rng.random((20, 10)); Y = D[:, [0, 4]] @ rng.dirichlet([1, 1], 100).T
    >>> B = SUnS(T=30, device="cpu").unmix(Y, D, p=2).library_coefficients
    >>> bool(B.min() >= 0 and B.max() <= 1)
    True
    """

    name: ClassVar[str] = "SUnS"
    stochastic: ClassVar[bool] = True
    reference: ClassVar[str] = FaSUn.reference
    params: ClassVar[tuple[Param, ...]] = _common_params() + (
        Param("lam", float, 0.01, "sparsity weight lambda on B (FUnmix 'lambd')", low=0.0),
        Param("hard", bool, False, "hard shrinkage (l0 penalty) instead of soft (l1)"),
    ) + _run_params()

    def _solver_kwargs(self) -> dict[str, Any]:
        return {"b_step": "hard" if self.config["hard"] else "soft", "lam": self.config["lam"]}


@register
class MiSiSUn(_FaSUnBase):
    r"""MiSiSUn: FaSUn plus a minimum-simplex term lambda/2 ||D B - mean(Y) 1^T||^2 on the endmembers.

    Solves :math:`\min_{A,B}\tfrac12\lVert Y - DBA\rVert_F^2 + \tfrac{\lambda}{2}\lVert DB -
    \bar y\mathbf 1^\top\rVert_F^2` (:math:`\bar y` the mean pixel) with :math:`A` and :math:`B`
    column-stochastic, by the FaSUn ADMM whose :math:`S_3`-step absorbs the new term
    (authors' code github.com/BehnoodRasti/MiSiSUn; their setting for 20/30/40 dB: T 10000, TA 5,
    TB 5, mu1 50, mu2 2, mu3 1, lambda 1e-3, all T iterations). Default ``tol = 1e-5`` (measured;
    the reference runs all ``T``): see *Stopping* in :mod:`hysupp.unmixing.semisupervised.fasun`.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> D = rng.random((20, 10)); Y = D[:, [0, 4]] @ rng.dirichlet([1, 1], 100).T
    >>> MiSiSUn(T=30, device="cpu").unmix(Y, D, p=2).endmembers.shape
    (20, 2)
    """

    name: ClassVar[str] = "MiSiSUn"
    stochastic: ClassVar[bool] = True
    reference: ClassVar[str] = ("B. Rasti, B. Koirala, P. Scheunders, MiSiSUn: Minimum Simplex Semisupervised "
                                "Unmixing, arXiv:2603.20263, 2026, doi:10.48550/arXiv.2603.20263")
    params: ClassVar[tuple[Param, ...]] = _common_params() + (
        Param("lam", float, 1e-3, "weight of the minimum-simplex term (authors' run_all.sh: 1e-3 at "
              "20/30/40 dB)", low=0.0),
    ) + _run_params(MISISUN_TOL, _TOL_MISISUN)

    def _solver_kwargs(self) -> dict[str, Any]:
        return {"misi_lambda": self.config["lam"]}
