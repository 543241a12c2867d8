r"""SUnAA: semi-supervised (library-based) unmixing by archetypal analysis, :math:`Y \approx DBA`.

The endmembers are convex combinations of the library atoms, :math:`E = DB`, and the abundances
are on the simplex:

.. math::

    \min_{A, B}\ \tfrac12\lVert Y - DBA\rVert_F^2
    \quad\text{s.t.}\quad A \ge 0,\ \mathbf 1_p^\top A = \mathbf 1_N^\top,\quad
    B \ge 0,\ \mathbf 1_M^\top B = \mathbf 1_p^\top

(:math:`Y` ``(L, N)``, library :math:`D` ``(L, M)``, :math:`B` ``(M, p)``, :math:`A` ``(p, N)``).
This is archetypal analysis (Cutler & Breiman 1994) with the archetypes drawn from the library
instead of from the data. The library abundances are :math:`X = BA` ``(M, N)``.

Algorithm (block coordinate descent, as in archetypal analysis by active sets, Chen, Mairal &
Harchaoui 2014, and in the authors' HySUPP code). Each of the ``T`` iterations

1. updates the columns :math:`b_j` of :math:`B` one after the other (Gauss-Seidel), :math:`A`
   fixed. With :math:`R = Y - DBA` the current residual, :math:`a_j` the :math:`j`-th row of
   :math:`A` and :math:`z_j = Db_j`, the objective as a function of :math:`b_j` alone is, up to a
   constant, :math:`\tfrac12\lVert a_j\rVert^2\,\lVert \zeta_j - Db_j\rVert^2` with

   .. math::

       \zeta_j = z_j + R\,a_j^\top / \lVert a_j\rVert_2^2 ,

   so :math:`b_j \leftarrow \arg\min_{b \ge 0,\ \mathbf 1^\top b = 1}\lVert \zeta_j - Db\rVert_2^2`,
   a simplex-constrained least-squares problem over the ``M`` atoms, solved exactly (active set,
   :func:`hysupp.optim.fcls`); then :math:`R \leftarrow R + (z_j - Db_j)\,a_j`. A row with
   :math:`\lVert a_j\rVert < 10^{-10}` (an unused endmember) leaves :math:`b_j` unchanged (the
   reference re-solves for :math:`\zeta_j = z_j`, which returns a :math:`b` with the same
   :math:`Db`);
2. updates all abundances at once, :math:`A \leftarrow \arg\min_{A \text{ on the simplex}}
   \lVert Y - (DB)A\rVert_F^2`: fully constrained least squares per pixel, solved exactly and
   batched over pixels (:func:`hysupp.optim.fcls`). When several columns of :math:`B` are equal
   (two endmembers picked the same atom, which happens in the first iterations on DC1) this
   minimiser is not unique; as the active-set solver of the reference (SPAMS ``decompSimplex``,
   which starts from a vertex), the abundance goes to the first copy and the other copies get
   zero rows (which then keep their :math:`b_j` in step 1, so the copy persists: the reference
   effectively continues with fewer endmembers, and so does this implementation).

Both steps are exact minimisations of their block, so the objective never increases.

Initialisation (reference): :math:`B = \mathbf 1_M\mathbf 1_p^\top / M` (every endmember the
library mean) and :math:`A = \mathbf 1_p\mathbf 1_N^\top / p`. The sequential column updates break
the symmetry deterministically (column 1 is fitted to the residual first, column 2 to what is
left, ...), so the reference initialisation needs no randomness; ``init="random"`` starts instead
from seeded Dirichlet(1) columns of :math:`B`.

Implementation notes: the residual is never formed. Step 1 needs :math:`Ra_j^\top = Ya_j^\top -
E(Aa_j^\top)`, i.e. the small factors :math:`YA^\top` ``(L, p)`` (fixed during step 1, since
:math:`A` is) and :math:`AA^\top` ``(p, p)`` with the current :math:`E`; one pass over :math:`Y` by
pixel chunks after every :math:`A`-step gives :math:`YA^\top` for the next step 1 and the objective
:math:`\tfrac12\lVert Y - EA\rVert_F^2` (summed chunk by chunk), recorded every iteration. So the
working set is :math:`A` ``(p, N)`` and a chunk: ``Y`` is neither copied nor converted whole (the
solver's float64 arithmetic, as :func:`~hysupp.optim.fcls`'s, is done chunk by chunk); ``dtype``
is the dtype of the returned arrays. The
``B``-subproblems have ``M`` unknowns (``M > L`` for DC1's library), so their minimiser
:math:`b_j` need not be unique; :math:`Db_j` is. HySUPP solves both steps with SPAMS'
``decompSimplex`` (also an exact active-set method).

References: B. Rasti, A. Zouaoui, J. Mairal, J. Chanussot, "SUnAA: Sparse Unmixing Using
Archetypal Analysis", IEEE GRSL 20, 2023, doi:10.1109/LGRS.2023.3251219; B. Rasti, A. Zouaoui,
J. Mairal, J. Chanussot, "Image Processing and Machine Learning for Hyperspectral Unmixing: An
Overview and the HySUPP Python Package", IEEE TGRS 62, 2024, doi:10.1109/TGRS.2024.3393570.
Defaults: HySUPP ``config/model/SUnAA.yaml`` (``T`` 500).

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.semisupervised.sunaa import SUnAA
>>> rng = np.random.default_rng(0)
>>> D = rng.random((30, 12)); A = rng.dirichlet(np.ones(3), 200).T
>>> res = SUnAA(T=20).unmix(D[:, [1, 5, 9]] @ A, D, p=3)
>>> res.abundances.shape, res.endmembers.shape, res.library_coefficients.shape
((3, 200), (30, 3), (12, 3))
>>> sorted(np.argmax(res.library_coefficients, axis=0).tolist())
[1, 5, 9]
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import HysuppError
from hysupp.methods.base import SemiSupervisedUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.optim.fcls import fcls
from hysupp.progress import tracker

__all__ = ["SUnAA", "sunaa_solve"]

#: rows of A with a smaller 2-norm are treated as unused (their column of B is not updated)
ROW_NORM_EPS = 1e-10


#: pixels per chunk of the passes over Y
CHUNK = 8192


def _pass(Y: np.ndarray, E: np.ndarray, A: np.ndarray, pool: ThreadPoolExecutor | None = None
          ) -> tuple[np.ndarray, float]:
    """One pass over the pixels by chunks (float64; chunks spread over ``pool``):
    ``(Y A^T (L, p), 1/2 ||Y - E A||_F^2)``."""
    N = Y.shape[1]

    def part(c0: int) -> tuple[np.ndarray, float]:
        Yc = np.asarray(Y[:, c0:c0 + CHUNK], dtype=np.float64)
        Ac = A[:, c0:c0 + CHUNK]
        Rc = E @ Ac
        np.subtract(Yc, Rc, out=Rc)
        return Yc @ Ac.T, float(np.vdot(Rc, Rc))

    starts = range(0, N, CHUNK)
    parts = list(pool.map(part, starts)) if pool is not None else [part(c0) for c0 in starts]
    return sum(q[0] for q in parts), 0.5 * sum(q[1] for q in parts)


def _first_copies(B: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``B`` that are not exact copies of an earlier column (sorted)."""
    _, first = np.unique(B.T, axis=0, return_index=True)
    return np.sort(first)


def sunaa_solve(Y: np.ndarray, D: np.ndarray, p: int, *, T: int = 500, init: str = "uniform", seed: int = 0,
                tol: float | None = None, dtype: Any = np.float32, n_threads: int = 1,
                method: str = "SUnAA") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    r"""The SUnAA block-coordinate solver (module docstring): returns ``(A (p, N), B (M, p), info)``.

    ``tol``: stop when the relative decrease of the objective over one iteration is below ``tol``
    (``None`` or 0: run all ``T`` iterations, as the reference). ``info`` holds ``iterations``,
    ``objective`` (one value per iteration, :math:`\tfrac12\lVert Y - DBA\rVert_F^2`),
    ``objective_initial``, ``fcls_not_converged`` (pixel/column solves stopped by the iteration
    cap, 0 normally), ``segment_times`` (seconds of each iteration) and ``wall_time``.
    """
    t0 = time.perf_counter()
    out_dt = np.dtype(dtype)
    Y = np.asarray(Y)
    Dd = np.ascontiguousarray(D, dtype=np.float64)
    N = Y.shape[1]
    M = Dd.shape[1]
    r = int(p)
    if init == "uniform":
        B = np.full((M, r), 1.0 / M)
    elif init == "random":
        B = np.random.default_rng(int(seed)).dirichlet(np.ones(M), size=r).T
    else:
        raise ValueError(f"unknown init {init!r}")
    A = np.full((r, N), 1.0 / r)
    E = Dd @ B                       # (L, p), kept equal to D B
    pool = ThreadPoolExecutor(max_workers=n_threads) if n_threads > 1 else None
    YA, value = _pass(Y, E, A, pool)   # Y A^T and the objective 1/2 ||Y - E A||^2
    history: list[float] = []
    initial = value
    not_conv = 0
    stopped_early = False
    segments: list[dict[str, float]] = []
    it = 0
    bar = tracker(method, total=T)      # hysupp.progress: a no-op when nobody listens
    for it in range(1, T + 1):
        ts = time.perf_counter()
        # ---- B-step: Gauss-Seidel over the columns, each an exact simplex LS over the library ----
        AA = A @ A.T
        for j in range(r):
            n2 = float(AA[j, j])
            if math.sqrt(n2) < ROW_NORM_EPS:
                continue
            zeta = YA[:, j] - E @ AA[:, j]   # R a_j with the current E (R = Y - E A)
            zeta /= n2
            zeta += E[:, j]
            bj, finfo = fcls(zeta, Dd, dtype=np.float64, init="vertex")
            not_conv += int(finfo["n_not_converged"])
            B[:, j] = bj
            E[:, j] = Dd @ bj
        # ---- A-step: FCLS of every pixel on E = D B -----------------------------------------------
        keep = _first_copies(B)
        if keep.size == r:
            A, finfo = fcls(Y, E, dtype=np.float64, n_threads=n_threads)
        else:  # identical endmembers: the abundance goes to the first copy
            A = np.zeros((r, N))
            A[keep], finfo = fcls(Y, E[:, keep], dtype=np.float64, n_threads=n_threads)
        not_conv += int(finfo["n_not_converged"])
        YA, value = _pass(Y, E, A, pool)
        if not math.isfinite(value):
            if pool is not None:
                pool.shutdown()
            raise HysuppError(f"{method}: the objective is not finite at iteration {it}; check Y and D for "
                              f"extreme values")
        history.append(value)
        segments.append({"iterations": 1, "seconds": time.perf_counter() - ts})
        bar.update(it, objective=value)
        if tol and len(history) >= 2:
            prev = history[-2]
            if prev - value <= tol * max(prev, 1e-300):
                stopped_early = it < T
                break
    bar.close()
    if pool is not None:
        pool.shutdown()
    info = {
        "method": method, "iterations": it, "stopped_early": stopped_early, "objective": history,
        "objective_initial": initial, "fcls_not_converged": not_conv, "segment_times": segments, "init": init, "seed": int(seed),
        "dtype": out_dt.name, "device": "cpu", "wall_time": time.perf_counter() - t0,
    }
    return A.astype(out_dt), B.astype(out_dt), info


@register
class SUnAA(SemiSupervisedUnmixer):
    r"""SUnAA: semi-supervised unmixing by archetypal analysis, Y ~ D B A with A and B on the simplex.

    Solves

    .. math::

        \min_{A,B}\ \tfrac12\lVert Y - DBA\rVert_F^2 \quad\text{s.t.}\quad
        A \ge 0,\ \mathbf 1^\top A = \mathbf 1^\top,\ B \ge 0,\ \mathbf 1^\top B = \mathbf 1^\top

    by alternating exact block minimisations (columns of :math:`B` one at a time, then all of
    :math:`A`), each a simplex-constrained least-squares problem solved by an active-set method;
    see :mod:`hysupp.unmixing.semisupervised.sunaa`. Returns ``abundances`` :math:`A` ``(p, N)``,
    ``endmembers`` :math:`DB` ``(L, p)`` and ``library_coefficients`` :math:`B` ``(M, p)``; the
    library abundances (HySUPP's output) are :math:`X = BA`.

    Parameters
    ----------
    T : int
        Iterations (HySUPP ``config/model/SUnAA.yaml``: 500).
    init : {"uniform", "random"}
        ``"uniform"`` (reference): :math:`B = \mathbf 1\mathbf 1^\top/M`, :math:`A = \mathbf 1
        \mathbf 1^\top/p` (deterministic); ``"random"``: seeded Dirichlet(1) columns of :math:`B`.
    seed : int
        Seed of ``init="random"`` (the reference initialisation uses no randomness).
    tol : float or None
        Stop when the objective decreases by less than ``tol`` (relative) in one iteration;
        ``None`` (reference, and the default): run all ``T`` iterations. Measured
        (``benchmarks/stopping_curves.py``, ``docs/large_scenes.md``, *Stopping*): the objective's
        relative decrease passes below 1e-5 long before the abundances settle, so on DC2 at 30 dB
        every tolerance from 1e-3 to 1e-7 stops 0.054 dB or more short of the 500 iterations'
        SRE (1e-7: 336 iterations); no tolerance is a safe default.
    dtype : {"float32", "float64"}
        Dtype of the returned arrays (the solver works in float64).
    n_threads : int
        Pixel blocks of the A-step and of the passes over ``Y`` done concurrently (threads).

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> D = rng.random((20, 10)); Y = D[:, [0, 4]] @ rng.dirichlet([1, 1], 100).T
    >>> res = SUnAA(T=10).unmix(Y, D, p=2)
    >>> res.library_abundances().shape
    (10, 100)
    """

    name: ClassVar[str] = "SUnAA"
    stochastic: ClassVar[bool] = True
    #: no weight or penalty: the objective scales with the data and the solver is exact (FCLS)
    scale_invariant: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"T": 5}
    needs_p: ClassVar[bool] = True
    reference: ClassVar[str] = ("B. Rasti, A. Zouaoui, J. Mairal, J. Chanussot, SUnAA: Sparse Unmixing Using "
                                "Archetypal Analysis, IEEE GRSL 20, 2023, doi:10.1109/LGRS.2023.3251219")
    params: ClassVar[tuple[Param, ...]] = (
        Param("T", int, 500, "iterations (HySUPP config/model/SUnAA.yaml: 500)", low=1),
        Param("init", str, "uniform", "initial B: 'uniform' (reference: every column the library mean, "
              "deterministic) or 'random' (seeded Dirichlet)", choices=("uniform", "random")),
        Param("seed", int, 0, "seed of init='random'"),
        Param("tol", float, None, "stop when the relative objective decrease per iteration is below tol; "
              "None: run all T iterations (reference; kept as measured: no tol down to 1e-7 stops within "
              "0.05 dB of 500 iterations on DC2: docs/large_scenes.md, Stopping)", low=0.0, optional=True),
        Param("dtype", str, "float32", "dtype of the returned arrays (the solver works in float64)",
              choices=("float32", "float64")),
        Param("n_threads", int, 1, "pixel blocks of the A-step and of the passes over Y done concurrently "
              "(threads; give BLAS one thread each)", low=1),
    )

    def is_stochastic(self) -> bool:
        """Random only with ``init="random"`` (the uniform start is deterministic)."""
        return self.config["init"] == "random"

    def _unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
               image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Estimate ``A`` ``(p, N)`` and ``B`` ``(M, p)``; see the class docstring."""
        c = self.config
        A, B, info = sunaa_solve(Y, D, p, T=c["T"], init=c["init"], seed=c["seed"], tol=c["tol"],
                                 dtype=c["dtype"], n_threads=c["n_threads"], method=self.name)
        E = (np.asarray(D, dtype=np.float64) @ B.astype(np.float64)).astype(B.dtype)
        return UnmixingResult(abundances=A, endmembers=E, library_coefficients=B, info=info)
