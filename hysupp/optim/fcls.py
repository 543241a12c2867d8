r"""Exact, batched fully constrained least squares (FCLS).

For every pixel :math:`y \in \mathbb{R}^L` (a column of ``Y``) and endmembers
:math:`E \in \mathbb{R}^{L \times p}`, FCLS solves the quadratic programme

.. math::

    \min_{a \in \mathbb{R}^p} \ f(a) = \tfrac12 \lVert y - E a \rVert_2^2
    \quad \text{s.t.} \quad a \ge 0,\ \ \mathbf 1^\top a = 1 ,

i.e. the least-squares abundances on the probability simplex (Heinz & Chang, 2001). With
:math:`G = E^\top E`, :math:`b = E^\top y` and the gradient :math:`g = \nabla f(a) = G a - b`,
the Karush-Kuhn-Tucker (KKT) conditions, necessary and sufficient since the problem is convex, are

.. math::

    a \ge 0, \quad \mathbf 1^\top a = 1, \quad
    g_i = \mu \ \ (i \in \mathcal P), \quad g_i \ge \mu \ \ (i \notin \mathcal P),

for some scalar :math:`\mu` (the multiplier of the sum-to-one constraint), where
:math:`\mathcal P = \{ i : a_i > 0 \}` is the passive (support) set. The multipliers of the
non-negativity constraints are :math:`\lambda_i = g_i - \mu \ge 0`.

Algorithm
---------
A primal active-set method (Lawson & Hanson, 1974, ch. 23, adapted from NNLS to the simplex),
batched over pixels in the "combinatorial" way of Van Benthem & Keenan (2004): every pixel keeps a
feasible iterate and a passive set; at each outer iteration the pixels that need an
equality-constrained solve are grouped by their passive-set bit pattern, and each group is solved
with one factorisation of the KKT matrix

.. math::

    K_{\mathcal P} = \begin{bmatrix} G_{\mathcal P\mathcal P} & \mathbf 1 \\
                     \mathbf 1^\top & 0 \end{bmatrix}, \qquad
    K_{\mathcal P} \begin{bmatrix} z_{\mathcal P} \\ \nu \end{bmatrix}
    = \begin{bmatrix} b_{\mathcal P} \\ 1 \end{bmatrix},

applied to all the group's right-hand sides at once (the factorisations are cached by pattern, so
a pattern is factorised once per call). Then, per pixel,

* if :math:`z_{\mathcal P} > 0`, the iterate moves to :math:`a = z` and the dual test is done:
  with :math:`\mu = a^\top g` (the common value of :math:`g` on :math:`\mathcal P`), if some
  inactive variable has :math:`\mu - g_i > \text{tol}` the most violating one enters
  :math:`\mathcal P`, otherwise the pixel has converged;
* otherwise the Lawson-Hanson interpolation step :math:`a \leftarrow a + \alpha (z - a)`, with the
  largest :math:`\alpha \in [0, 1)` keeping :math:`a \ge 0`, is taken and the variables that hit
  zero leave :math:`\mathcal P`.

Every iterate is feasible and the objective never increases, so a pixel stopped by the iteration
cap still returns a feasible (sub-optimal) point. Any feasible point with
:math:`\mathcal P = \operatorname{supp}(a)` is a valid start. The default start is the Euclidean
projection onto the simplex (:func:`hysupp.optim.project_simplex`) of the sum-to-one least-squares
solution (the solve with :math:`\mathcal P = \{1..p\}`): its support is usually close to the
optimal one, so most pixels need one or two solves. The classical start, the best single vertex
:math:`a = e_k` with :math:`k = \arg\min_i \tfrac12 G_{ii} - b_i`, needs about one iteration per
variable in the solution's support.

A variable that enters and is rejected at once (a degenerate step: its multiplier is at rounding
level) is barred from re-entering until the iterate moves, which prevents cycling. Ill-conditioned
KKT matrices are solved through LU factors (backward stable) instead of an explicit inverse, and
numerically singular ones (affinely dependent endmembers of :math:`\mathcal P`: collinear columns,
or more than ``L + 1`` of them) through the pseudo-inverse, which is exact there because the null
space of :math:`K_{\mathcal P}` is orthogonal to every right-hand side; see ``_PatternCache``.

Scale: the solver works on the normalised system :math:`G / c`, :math:`b / c` with :math:`c` the
power of two nearest to :math:`\max_i G_{ii}` (the same problem with :math:`E` and :math:`y` divided
by :math:`\sqrt c`), so the KKT matrices do not mix :math:`s^2` with the constraint's 1 when the
data are scaled by :math:`s`: without it, reflectance x 1e4 (the usual storage) made them look
singular and the truncated pseudo-inverse gave abundances off by up to 0.1 on DC1. The tolerance and
the relative KKT residual are defined on this system, so the result is invariant to a common scale
of ``Y`` and ``E`` (bit-identical for powers of two, to rounding otherwise).

``G`` and ``b`` are formed in float64 whatever the input dtype (the conversion of ``Y`` is done in
chunks of ``chunk`` pixels), and the solver runs in float64; the result is cast to ``dtype`` at the
end.

References
----------
D. C. Heinz and C.-I Chang, "Fully constrained least squares linear spectral mixture analysis
method for material quantification in hyperspectral imagery", IEEE Trans. Geosci. Remote Sens.
39(3), 529-545 (2001), doi:10.1109/36.911111.

C. L. Lawson and R. J. Hanson, *Solving Least Squares Problems*, Prentice-Hall, 1974 (ch. 23).

M. H. Van Benthem and M. R. Keenan, "Fast algorithm for the solution of large-scale
non-negativity-constrained least squares problems", J. Chemometrics 18, 441-450 (2004),
doi:10.1002/cem.889.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg

from hysupp.errors import InputError, ParameterError
from hysupp.optim.simplex import project_simplex

__all__ = ["fcls", "fcls_kkt_violation"]

#: default relative tolerance on the dual (multiplier) test, times max_i G_ii
DEFAULT_RTOL = 1e-12
#: floor of the tolerance (rounding level of the multipliers), times max_i G_ii
MIN_RTOL = 1e-14
#: passive sets whose KKT matrix has a condition number up to this use an explicit inverse
_COND_INV = 1e6
#: ... above it LU factors; above this one the pseudo-inverse (affinely dependent endmembers)
_COND_SINGULAR = 1e13
#: relative cut-off of the pseudo-inverse
_PINV_RCOND = 1e-13
#: patterns up to this many endmembers are applied as one dense (p, p) product per group
_DENSE_P = 32


# ---------------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------------

def _float_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ParameterError(f"fcls: dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ParameterError(f"fcls: dtype must be float32 or float64, got {dt}")
    return dt


def _check_arrays(Y: Any, E: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return ``(Y (L, N), E (L, p) float64, squeeze)``; ``squeeze`` when ``Y`` was one pixel."""
    Y = np.asarray(Y)
    squeeze = Y.ndim == 1
    if squeeze:
        Y = Y[:, None]
    if Y.ndim != 2:
        raise InputError(f"fcls: Y must be a pixel matrix (L bands, N pixels), got shape {Y.shape}")
    if not np.issubdtype(Y.dtype, np.floating):
        Y = Y.astype(np.float64)
    E = np.asarray(E)
    if E.ndim == 1:
        E = E[:, None]
    if E.ndim != 2 or E.shape[1] < 1:
        raise InputError(f"fcls: E must be an endmember matrix (L bands, p endmembers), got shape {E.shape}")
    if E.shape[0] != Y.shape[0]:
        raise InputError(f"fcls: E has {E.shape[0]} bands (rows) but Y has {Y.shape[0]}; "
                         f"expected E of shape ({Y.shape[0]}, p)")
    E = np.ascontiguousarray(E, dtype=np.float64)
    if not np.isfinite(E).all():
        raise InputError("fcls: the endmember matrix E has NaN/Inf entries")
    return Y, E, squeeze


def _rhs(Y: np.ndarray, Et: np.ndarray, start: int, stop: int, chunk: int) -> np.ndarray:
    """``B = E^T Y[:, start:stop]`` as a ``(p, n)`` float64 array, converting ``Y`` by chunks."""
    L = Y.shape[0]
    n = stop - start
    B = np.empty((Et.shape[0], n), dtype=np.float64)
    buf = None
    for c0 in range(start, stop, chunk):
        c1 = min(c0 + chunk, stop)
        Yc = Y[:, c0:c1]
        if Yc.dtype != np.float64:
            if buf is None:
                buf = np.empty((L, min(chunk, n)), dtype=np.float64)
            tmp = buf[:, :c1 - c0]
            np.copyto(tmp, Yc)
            Yc = tmp
        np.matmul(Et, Yc, out=B[:, c0 - start:c1 - start])
    bad = ~np.isfinite(B).all(axis=0)
    if bad.any():
        cols = np.flatnonzero(bad) + start
        raise InputError(f"fcls: Y has {cols.size} pixel(s) with NaN/Inf values among pixels {start}..{stop - 1} "
                         f"(first at pixel {int(cols[0])}); mask or fill them before unmixing")
    return B


# ---------------------------------------------------------------------------------------------
# KKT residual
# ---------------------------------------------------------------------------------------------

_KKT_PARTS = ("negativity", "sum_to_one", "dual", "spread")


def _kkt_cols(G: np.ndarray, B: np.ndarray, A: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pixel KKT residual components of ``A`` (p, n) float64 given ``G`` and ``B`` (p, n).

    ``mu`` is the mean of ``g`` over the support weighted by ``a`` (``a^T g / 1^T a`` with the
    positive part of ``a``); it lies between the smallest and largest ``g_i`` on the support, so
    ``d = g - mu`` restricted to the support has a non-negative max and a non-positive min, which
    lets the masked reductions be plain products with the support indicator.
    """
    neg = np.maximum(-A.min(axis=0), 0.0)
    total = A.sum(axis=0)
    s2o = np.abs(total - 1.0)
    g = G @ A
    g -= B
    if neg.any():
        A = np.maximum(A, 0.0)
        total = A.sum(axis=0)
    P = A > 0
    has = total > 0
    mu = np.einsum("ij,ij->j", A, g) / np.where(has, total, 1.0)
    d = g
    d -= mu
    dP = d * P
    spread = dP.max(axis=0)
    spread -= dP.min(axis=0)
    np.negative(d, out=d)
    d *= ~P
    dual = d.max(axis=0)
    spread[~has] = 0.0
    dual[~has] = 0.0
    return {"negativity": neg, "sum_to_one": s2o, "dual": dual, "spread": spread}


@dataclass
class _KKTAccumulator:
    """Running maxima of the KKT residual over pixel blocks. The columns it receives are computed
    on the normalised system (``G / norm``, ``B / norm``, :func:`_normalised_system`): their
    gradient terms times ``norm`` are the absolute ones, times ``norm / scale`` the relative ones
    (``scale = max_i G_ii``)."""

    scale: float
    norm: float = 1.0
    parts: dict[str, float] = field(default_factory=lambda: {k: 0.0 for k in _KKT_PARTS})
    absolute: float = 0.0
    relative: float = 0.0
    worst_pixel: int = -1
    worst_pixel_relative: int = -1

    def add(self, cols: dict[str, np.ndarray], offset: int) -> None:
        if cols["negativity"].size == 0:
            return
        rel = self.norm / self.scale
        for k in _KKT_PARTS:
            f = self.norm if k in ("dual", "spread") else 1.0
            self.parts[k] = max(self.parts[k], float(cols[k].max()) * f)
        absr = np.maximum.reduce([cols["negativity"], cols["sum_to_one"],
                                  cols["dual"] * self.norm, cols["spread"] * self.norm])
        relr = np.maximum.reduce([cols["negativity"], cols["sum_to_one"], cols["dual"] * rel, cols["spread"] * rel])
        i, j = int(absr.argmax()), int(relr.argmax())
        if self.worst_pixel < 0 or absr[i] > self.absolute:
            self.absolute, self.worst_pixel = float(absr[i]), offset + i
        if self.worst_pixel_relative < 0 or relr[j] > self.relative:
            self.relative, self.worst_pixel_relative = float(relr[j]), offset + j

    def merge(self, other: "_KKTAccumulator") -> None:
        for k in _KKT_PARTS:
            self.parts[k] = max(self.parts[k], other.parts[k])
        if other.worst_pixel >= 0 and (self.worst_pixel < 0 or other.absolute > self.absolute):
            self.absolute, self.worst_pixel = other.absolute, other.worst_pixel
        if other.worst_pixel_relative >= 0 and (self.worst_pixel_relative < 0 or other.relative > self.relative):
            self.relative, self.worst_pixel_relative = other.relative, other.worst_pixel_relative

    def result(self) -> dict[str, Any]:
        return {"absolute": self.absolute, "relative": self.relative, "scale": self.scale,
                "worst_pixel": self.worst_pixel, "worst_pixel_relative": self.worst_pixel_relative,
                **self.parts}


def _kkt_scale(G: np.ndarray) -> float:
    s = float(np.abs(np.diag(G)).max()) if G.size else 0.0
    return s if s > 0 else 1.0


def _normalised_system(E: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    r"""``(G / c, E^T / c, c, max_i G_ii)`` with ``G = E^T E`` and ``c`` the power of two nearest to
    :math:`\max_i G_{ii}` (the largest squared endmember norm; 1 for an all-zero ``E``).

    The solver works on :math:`\tilde G = G / c` and :math:`\tilde b = E^\top y / c`, the normal
    equations of the same problem with ``E`` and ``y`` divided by :math:`\sqrt c`: the minimiser is
    unchanged, and the KKT matrices :math:`[[\tilde G_{PP}, 1], [1^\top, 0]]` no longer mix
    :math:`s^2` with 1 when the data are scaled by :math:`s` (reflectance x 1e4 would otherwise
    make them look singular). A power of two makes the division exact, so data scaled by
    :math:`2^j` give bit-identical abundances, and any other scale changes them at rounding level
    only.
    """
    G = E.T @ E
    gmax = _kkt_scale(G)
    c = float(2.0 ** round(np.log2(gmax)))   # a power of two: the division is exact
    G /= c
    Et = np.ascontiguousarray(E.T) / c
    return G, Et, c, gmax


def fcls_kkt_violation(Y: np.ndarray, E: np.ndarray, A: np.ndarray, *, chunk: int = 65536) -> dict[str, Any]:
    r"""KKT residual of candidate FCLS abundances ``A`` for data ``Y`` and endmembers ``E``.

    For each pixel, with :math:`g = E^\top(E a - y)`, the support
    :math:`\mathcal P = \{i : a_i > 0\}` and :math:`\mu = \sum_{i \in \mathcal P} a_i g_i \,/
    \sum_{i \in \mathcal P} a_i` (a weighted mean of :math:`g` over the support), the residual is
    the largest of

    * ``negativity``: :math:`\max(0, -\min_i a_i)`;
    * ``sum_to_one``: :math:`|\mathbf 1^\top a - 1|`;
    * ``dual``: :math:`\max_{i \notin \mathcal P} (\mu - g_i)_+` (a negative multiplier
      :math:`\lambda_i = g_i - \mu`);
    * ``spread``: :math:`\max_{i \in \mathcal P} g_i - \min_{i \in \mathcal P} g_i`
      (stationarity on the support).

    All four vanish exactly at the FCLS solution (see :mod:`hysupp.optim.fcls`). The first two
    are dimensionless; the gradient terms have the units of :math:`E^\top y`. The *relative*
    residual divides the gradient terms by the scale :math:`s = \max_i G_{ii} = \max_i
    \lVert e_i \rVert_2^2` (so it is invariant to a common rescaling of ``Y`` and ``E``); the
    *absolute* one does not. Everything is evaluated in float64, whatever the dtype of ``A``.

    Parameters
    ----------
    Y : ndarray, shape (L, N)
        Pixels.
    E : ndarray, shape (L, p)
        Endmembers.
    A : ndarray, shape (p, N)
        Candidate abundances (any float dtype).
    chunk : int, default 65536
        Pixels processed at a time (bounds the float64 temporaries).

    Returns
    -------
    dict
        ``absolute`` and ``relative`` (max over pixels), ``scale``, ``worst_pixel`` (index of the
        largest absolute residual), ``worst_pixel_relative``, and the max over pixels of each
        component: ``negativity``, ``sum_to_one``, ``dual``, ``spread`` (absolute units).

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.optim import fcls, fcls_kkt_violation
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((50, 4)); Y = E @ rng.dirichlet(np.ones(4), 100).T
    >>> A, info = fcls(Y, E, dtype=np.float64)
    >>> fcls_kkt_violation(Y, E, A)["relative"] < 1e-10
    True
    """
    Y, E, squeeze = _check_arrays(Y, E)
    A = np.asarray(A)
    if squeeze and A.ndim == 1:
        A = A[:, None]
    p, N = E.shape[1], Y.shape[1]
    if A.shape != (p, N):
        raise InputError(f"fcls_kkt_violation: A must have shape (p, N) = ({p}, {N}), got {A.shape}")
    if not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ParameterError(f"fcls_kkt_violation: chunk must be a positive integer, got {chunk!r}")
    G, Et, norm, scale = _normalised_system(E)
    acc = _KKTAccumulator(scale, norm)
    for c0 in range(0, N, chunk):
        c1 = min(c0 + chunk, N)
        B = _rhs(Y, Et, c0, c1, min(chunk, 4096))
        acc.add(_kkt_cols(G, B, A[:, c0:c1].astype(np.float64)), c0)
    return acc.result()


# ---------------------------------------------------------------------------------------------
# passive-set factorisations
# ---------------------------------------------------------------------------------------------

class _PatternCache:
    r"""Linear maps solving the KKT system of each passive set, cached by pattern.

    The map for a passive set :math:`\mathcal P` (``k`` variables) is
    :math:`z_{\mathcal P} = H b_{\mathcal P} + h` with ``[H, h]`` the first ``k`` rows of
    :math:`K_{\mathcal P}^{-1}` (without the multiplier column). How it is applied depends on
    the condition number of :math:`K_{\mathcal P}`:

    * ``cond <= _COND_INV``: explicit inverse, applied as one matrix product per group (for
      ``p <= _DENSE_P`` as a dense ``(p, p)`` matrix zero outside ``P x P``). The KKT residual
      of such a solve is about ``cond * eps`` relative, so the threshold keeps it below 1e-10.
    * ``_COND_INV < cond <= _COND_SINGULAR``: LU factors, applied with a backward-stable
      triangular solve per group (residual ~ ``eps`` whatever the conditioning).
    * ``cond > _COND_SINGULAR``: the endmembers of ``P`` are affinely dependent (collinear
      columns, or more than ``L + 1`` of them). The null space of :math:`K_{\mathcal P}` is then
      ``{(v, 0) : E_P v = 0, 1^T v = 0}``, orthogonal to every right-hand side
      ``(E_P^T y, 1)``, so the pseudo-inverse gives an exact minimiser (the one of least norm)
      with the sum-to-one constraint intact.
    """

    def __init__(self, G: np.ndarray, max_bytes: float = 256e6) -> None:
        self.G = G
        self.p = G.shape[0]
        self.dense = self.p <= _DENSE_P
        self.maps: dict[Any, tuple[Any, ...]] = {}
        self.max_entries = max(256, int(max_bytes // (8 * (self.p + 1) ** 2)))
        self.n_factorised = 0
        self.n_ill_conditioned = 0
        self.n_singular = 0
        self.max_cond = 0.0
        self.lock = threading.Lock()

    def get(self, key: Any, mask: np.ndarray) -> tuple[Any, ...]:
        m = self.maps.get(key)
        if m is None:
            with self.lock:  # solver threads share the cache: factorise each pattern once
                m = self.maps.get(key)
                if m is None:
                    m = self._factorise(mask)
                    if len(self.maps) >= self.max_entries:
                        self.maps.clear()
                    self.maps[key] = m
        return m

    def _factorise(self, mask: np.ndarray) -> tuple[Any, ...]:
        idx = np.flatnonzero(mask)
        k = idx.size
        K = np.zeros((k + 1, k + 1))
        K[:k, :k] = self.G[np.ix_(idx, idx)]
        K[:k, k] = 1.0
        K[k, :k] = 1.0
        self.n_factorised += 1
        sv = np.linalg.svd(K, compute_uv=False)
        cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf
        self.max_cond = max(self.max_cond, cond)
        if _COND_INV < cond <= _COND_SINGULAR:
            self.n_ill_conditioned += 1
            lu, piv = scipy.linalg.lu_factor(K, check_finite=False)
            return ("lu", idx, lu, piv)
        if cond > _COND_SINGULAR:
            self.n_singular += 1
            Kinv = np.linalg.pinv(K, rcond=_PINV_RCOND, hermitian=True)
        else:
            Kinv = np.linalg.solve(K, np.eye(k + 1))
        H = np.ascontiguousarray(Kinv[:k, :k])
        h = Kinv[:k, k].copy()
        if self.dense:
            M = np.zeros((self.p, self.p))
            M[np.ix_(idx, idx)] = H
            mv = np.zeros((self.p, 1))
            mv[idx, 0] = h
            return ("dense", M, mv)
        return ("sparse", idx, H, h[:, None])

    def apply(self, mp: tuple[Any, ...], b: np.ndarray, z: np.ndarray) -> None:
        """``z = map(b)`` for one group; ``b`` and ``z`` are ``(p, n_g)`` views, ``z`` filled
        with zeros beforehand unless the cache is dense."""
        kind = mp[0]
        if kind == "dense":
            _, M, mv = mp
            np.matmul(M, b, out=z)
            z += mv
            return
        if kind == "sparse":
            _, idx, H, h = mp
            zz = H @ b[idx]
            zz += h
        else:
            _, idx, lu, piv = mp
            rhs = np.empty((idx.size + 1, b.shape[1]))
            rhs[:-1] = b[idx]
            rhs[-1] = 1.0
            zz = scipy.linalg.lu_solve((lu, piv), rhs, overwrite_b=True, check_finite=False)[:-1]
        if self.dense:
            z[...] = 0.0
        z[idx] = zz


def _mask_key(mask: np.ndarray) -> Any:
    """Cache key of one passive set: its bit pattern as an int (as in :func:`_pattern_keys`) for
    ``p <= 64``, else its bytes."""
    if mask.size <= 64:
        return sum(1 << int(i) for i in np.flatnonzero(mask))
    return mask.tobytes()


def _pattern_keys(P: np.ndarray) -> np.ndarray:
    """One sortable integer per column of the boolean passive-set array ``P`` (p, m): the bit
    pattern for ``p <= 64``, else the rank among this call's distinct columns (not a cache key)."""
    p, m = P.shape
    if p <= 64:
        dt = np.uint16 if p <= 16 else np.uint32 if p <= 32 else np.uint64
        key = np.zeros(m, dtype=dt)
        for i in range(p):
            np.bitwise_or(key, P[i].view(np.uint8).astype(dt) << dt(i), out=key)
        return key
    packed = np.ascontiguousarray(np.packbits(P, axis=0).T)
    _, inv = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_inverse=True)
    return inv.reshape(-1)


# ---------------------------------------------------------------------------------------------
# the batched active-set solver
# ---------------------------------------------------------------------------------------------

@dataclass
class _Stats:
    iterations: int = 0
    n_solves: int = 0
    n_group_solves: int = 0
    max_groups: int = 0
    n_degenerate: int = 0
    not_converged: list[np.ndarray] = field(default_factory=list)

    def merge(self, other: "_Stats") -> None:
        self.iterations = max(self.iterations, other.iterations)
        self.n_solves += other.n_solves
        self.n_group_solves += other.n_group_solves
        self.max_groups = max(self.max_groups, other.max_groups)
        self.n_degenerate += other.n_degenerate
        self.not_converged.extend(other.not_converged)


def _dual_test(G: np.ndarray, a: np.ndarray, b: np.ndarray, P: np.ndarray, forb: np.ndarray | None,
               tol: float, feasible: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """KKT test for columns at the optimum of their passive set; enter the most violating
    variable into ``P`` (in place).

    ``mu = a^T g`` (``1^T a = 1`` and ``g`` is constant on the support, so this is the
    multiplier), ``w_i = mu - g_i`` off the support (and off the barred set ``forb``).
    Returns ``(converged, entering)``, ``entering = -1`` where nothing enters. Columns not in
    ``feasible`` are neither tested nor converged.
    """
    m = a.shape[1]
    g = G @ a
    g -= b
    mu = np.einsum("ij,ij->j", a, g)
    w = np.subtract(mu, g, out=g)
    w *= ~P
    if forb is not None:
        w *= ~forb
    wmax = w.max(axis=0)
    go = wmax > tol
    conv = ~go
    if feasible is not None:
        go &= feasible
        conv &= feasible
    cols = np.flatnonzero(go)
    entering = np.full(m, -1, dtype=np.intp)
    if cols.size:
        j = w[:, cols].argmax(axis=0)
        P[j, cols] = True
        entering[cols] = j
    return conv, entering


def _solve_block(G: np.ndarray, B: np.ndarray, tol: float, max_iter: int, cache: _PatternCache,
                 init: str) -> tuple[np.ndarray, _Stats]:
    """FCLS for the columns of ``B = E^T Y`` (p, n) float64; returns ``A`` (p, n) float64."""
    p, n = B.shape
    st = _Stats()
    out = np.empty((p, n))
    cols = np.arange(n)
    jadd = np.full(n, -1, dtype=np.intp)   # variable that entered at the last dual test
    forb: np.ndarray | None = None         # variables barred after a degenerate entry
    if init == "vertex":
        # best vertex: f(e_i) = G_ii / 2 - b_i + const
        i0 = np.argmin(0.5 * np.diag(G)[:, None] - B, axis=0)
        a = np.zeros((p, n))
        a[i0, cols] = 1.0
        P = a > 0
        conv, jadd = _dual_test(G, a, B, P, forb, tol, None)
    else:
        # Euclidean projection onto the simplex of the sum-to-one least-squares solution: a
        # feasible start whose support is usually close to the optimal one
        full = np.ones(p, dtype=bool)
        z = np.empty((p, n))
        cache.apply(cache.get(_mask_key(full), full), B, z)
        a = project_simplex(z, axis=0)
        del z
        P = a > 0
        conv = np.zeros(n, dtype=bool)
    idx, b = cols, B
    eps_drop = 4 * np.finfo(np.float64).eps
    while True:
        # retire converged pixels, then sort the others by passive-set pattern
        sel = None
        if conv.any():
            done = np.flatnonzero(conv)
            out[:, idx[done]] = a[:, done]
            sel = np.flatnonzero(~conv)
            if sel.size == 0:
                break
        if st.iterations >= max_iter:
            left = np.arange(idx.size) if sel is None else sel
            out[:, idx[left]] = a[:, left]
            st.not_converged.append(idx[left].copy())
            break
        st.iterations += 1
        keys = _pattern_keys(P)
        if sel is not None:
            keys = keys[sel]
        perm = np.argsort(keys, kind="stable")
        ks = keys[perm]
        order = perm if sel is None else sel[perm]
        idx = idx[order]
        b = np.take(b, order, axis=1)
        P = np.take(P, order, axis=1)
        jadd = jadd[order]
        if forb is not None:
            forb = np.take(forb, order, axis=1)
        m = idx.size
        st.n_solves += m

        # one equality-constrained solve per group of identical passive sets
        bounds = np.concatenate(([0], np.flatnonzero(ks[1:] != ks[:-1]) + 1, [m]))
        ng = bounds.size - 1
        st.n_group_solves += ng
        st.max_groups = max(st.max_groups, ng)
        z = np.empty((p, m)) if cache.dense else np.zeros((p, m))
        bit_keys = p <= 64
        for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            key = ks[s].item() if bit_keys else _mask_key(P[:, s])
            cache.apply(cache.get(key, P[:, s]), b[:, s:e], z[:, s:e])

        neg = z <= 0
        neg &= P
        infeas = neg.any(axis=0)
        I = np.flatnonzero(infeas)
        a_prev, a = a, z          # feasible columns move to z; infeasible ones are fixed below
        moved = jadd >= 0         # an accepted entering variable moves the iterate
        if I.size:
            # Lawson-Hanson step towards z, as far as feasibility allows
            aI = np.take(a_prev, order[I], axis=1)
            zI = z[:, I]
            negI = neg[:, I]
            # ratio a_i / (a_i - z_i) in [0, 1] for the violating variables; 0 for one that is
            # at zero already (the entering variable with z_i <= 0)
            ratio = np.full(aI.shape, np.inf)
            step = aI - zI
            np.copyto(ratio, 0.0, where=negI)
            np.divide(aI, step, out=ratio, where=negI & (step > 0))
            alpha = ratio.min(axis=0)
            aI += alpha * (zI - aI)
            np.copyto(aI, 0.0, where=ratio <= alpha)       # the blocking variables leave
            PI = P[:, I] & (aI > eps_drop)
            aI *= PI
            a[:, I] = aI
            P[:, I] = PI
            # alpha == 0 only when the variable that just entered is rejected at once (all
            # other passive variables are > eps_drop): bar it until the iterate moves
            deg = alpha <= 0
            moved[I] = ~deg
            deg &= jadd[I] >= 0   # (always true for deg; a guard against rounding surprises)
            if deg.any():
                D = I[deg]
                if forb is None:
                    forb = np.zeros((p, m), dtype=bool)
                forb[:, moved] = False
                forb[jadd[D], D] = True
                st.n_degenerate += D.size
            elif forb is not None:
                forb[:, moved] = False
        elif forb is not None:
            forb[:, moved] = False
        conv, jadd = _dual_test(G, a, b, P, forb, tol, ~infeas if I.size else None)
    return out, st


def fcls(Y: np.ndarray, E: np.ndarray, *, tol: float | None = None, rtol: float | None = None,
         max_iter: int | None = None,
         dtype: Any = np.float32, chunk: int = 4096, block: int = 1 << 18, n_threads: int = 1,
         init: str = "projection") -> tuple[np.ndarray, dict[str, Any]]:
    r"""Exact fully constrained least squares abundances for every pixel.

    Solves, for every column :math:`y` of ``Y``,

    .. math::

        \min_a \tfrac12 \lVert y - E a \rVert_2^2 \quad \text{s.t.} \quad a \ge 0,\
        \mathbf 1^\top a = 1,

    whose solution is characterised by the KKT conditions (:math:`g = E^\top(E a - y)`,
    :math:`\mathcal P = \{i : a_i > 0\}`): :math:`a \ge 0`, :math:`\mathbf 1^\top a = 1`,
    :math:`g_i = \mu` on :math:`\mathcal P` and :math:`g_i \ge \mu` off it. The solver is a batched
    primal active-set method (Lawson & Hanson 1974; pixels grouped by passive set as in Van Benthem
    & Keenan 2004); see :mod:`hysupp.optim.fcls` for the algorithm. FCLS itself is due to Heinz &
    Chang (IEEE TGRS 39(3), 2001). There is no per-pixel Python loop: the Python-level work per
    iteration is one loop over the distinct passive sets.

    Parameters
    ----------
    Y : ndarray, shape (L, N) or (L,)
        Pixels, any float dtype (float32 input is converted to float64 by chunks, never whole).
    E : ndarray, shape (L, p)
        Endmembers. Collinear endmembers and ``p > L`` are allowed (the minimiser is then not
        unique; one is returned).
    tol : float, optional
        Absolute tolerance of the dual test: a variable enters when :math:`\mu - g_i >` ``tol``
        (units of :math:`E^\top y`). Default (``None``): ``rtol * max_i G_ii``. Values below the
        rounding level of the multipliers, ``1e-14 * max_i G_ii``, are raised to it
        (``info["tol"]`` is the value used).
    rtol : float, optional
        The same tolerance relative to :math:`\max_i G_{ii}` (scale-free); give ``tol`` or
        ``rtol``, not both. Default ``1e-12``.
    max_iter : int, optional
        Cap on outer iterations (one equality-constrained solve per unfinished pixel each).
        Default (``None``): ``10 * p + 50``. Pixels still unfinished keep their last iterate,
        which is feasible, and are listed in ``info["not_converged"]``.
    dtype : {numpy.float32, numpy.float64}, default float32
        Dtype of the returned abundances (the computation is float64 in any case).
    chunk : int, default 4096
        Pixels converted to float64 at a time when forming :math:`E^\top Y`.
    block : int, default 262144
        Pixels solved together; bounds the working memory (roughly ``12 * 8 * p`` bytes per pixel
        of a block, per thread).
    n_threads : int, default 1
        Blocks solved concurrently by Python threads (NumPy releases the GIL in the heavy
        kernels). Give BLAS one thread per solver thread (``threadpoolctl`` or
        ``OPENBLAS_NUM_THREADS``) to avoid oversubscription. With several threads ``block`` is
        lowered so that every thread gets work.
    init : {"projection", "vertex"}, default "projection"
        Starting point: the Euclidean projection onto the simplex of the sum-to-one
        least-squares solution (a feasible point whose support is usually close to the optimal
        one, so most pixels finish after one or two solves), or the best single vertex (the
        classical Lawson-Hanson start, one variable entering per iteration).

    Returns
    -------
    A : ndarray, shape (p, N) (or (p,) for a single pixel)
        Abundances, in ``dtype``.
    info : dict
        ``iterations`` (outer iterations, max over blocks), ``n_solves`` (pixel solves in all),
        ``solves_per_pixel``, ``n_group_solves`` (group products in all), ``max_groups`` (most
        distinct passive sets in one iteration), ``n_patterns`` (KKT matrices factorised),
        ``n_ill_conditioned`` and ``n_singular`` (of which solved by LU factors, resp. with the
        pseudo-inverse), ``max_cond`` (largest KKT-matrix condition number met),
        ``n_degenerate`` (rejected entering
        variables), ``n_not_converged`` and ``not_converged`` (pixel indices), ``tol``,
        ``max_iter``, ``kkt_violation`` and ``kkt_violation_relative`` (max over pixels of the KKT
        residual of the returned ``A``, as :func:`fcls_kkt_violation` defines it: absolute, and
        with the gradient terms divided by ``kkt_scale`` :math:`= \max_i G_{ii}`),
        ``kkt_violation_float64`` and ``kkt_violation_float64_relative`` (the same for the float64
        solution before the cast to ``dtype``; for float32 output the difference is the rounding
        of ``A``), ``kkt_components`` (per-term maxima for ``A``), ``kkt_worst_pixel`` and
        ``kkt_worst_pixel_float64`` (pixels of the largest absolute residual), ``dtype``, ``init``,
        ``n_threads``, ``wall_time`` (s) and ``timings`` (s per phase, summed over blocks).

    Raises
    ------
    hysupp.errors.InputError
        Shapes that do not match, NaN/Inf in ``E`` or in pixels of ``Y``.
    hysupp.errors.ParameterError
        Bad ``dtype``, ``tol``, ``rtol``, ``max_iter``, ``chunk``, ``block``, ``n_threads`` or ``init``.

    References
    ----------
    D. C. Heinz and C.-I Chang, IEEE Trans. Geosci. Remote Sens. 39(3), 529-545 (2001),
    doi:10.1109/36.911111. C. L. Lawson and R. J. Hanson, *Solving Least Squares Problems*
    (1974), ch. 23. M. H. Van Benthem and M. R. Keenan, J. Chemometrics 18, 441-450 (2004),
    doi:10.1002/cem.889.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.optim import fcls
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((100, 3))                        # 100 bands, 3 endmembers
    >>> A_true = rng.dirichlet(np.ones(3), size=500).T  # (3, 500), columns on the simplex
    >>> A, info = fcls(E @ A_true, E, dtype=np.float64)
    >>> bool(np.abs(A - A_true).max() < 1e-8), A.shape
    (True, (3, 500))
    >>> info["kkt_violation_relative"] < 1e-10
    True
    """
    t_start = time.perf_counter()
    out_dtype = _float_dtype(dtype)
    Y, E, squeeze = _check_arrays(Y, E)
    L, N = Y.shape
    p = E.shape[1]
    for name, val in (("chunk", chunk), ("block", block), ("n_threads", n_threads)):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < 1:
            raise ParameterError(f"fcls: {name} must be a positive integer, got {val!r}")
    if init not in ("projection", "vertex"):
        raise ParameterError(f"fcls: init must be 'projection' or 'vertex', got {init!r}")
    G, Et, norm, scale = _normalised_system(E)
    if rtol is not None:
        if tol is not None:
            raise ParameterError("fcls: give tol (absolute) or rtol (relative), not both")
        if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating, np.integer)) \
                or not (np.isfinite(rtol) and rtol >= 0):
            raise ParameterError(f"fcls: rtol must be a finite number >= 0, got {rtol!r}")
        tol = float(rtol) * scale
    if tol is None:
        tol = DEFAULT_RTOL * scale
    elif isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)) \
            or not (np.isfinite(tol) and tol >= 0):
        raise ParameterError(f"fcls: tol must be a finite number >= 0, got {tol!r}")
    if max_iter is None:
        max_iter = 10 * p + 50
    elif not isinstance(max_iter, (int, np.integer)) or isinstance(max_iter, bool) or max_iter < 1:
        raise ParameterError(f"fcls: max_iter must be a positive integer, got {max_iter!r}")
    # below rounding level the dual test would chase noise (and cycle): floor the tolerance
    tol, max_iter = max(float(tol), MIN_RTOL * scale), int(max_iter)
    tol_n = tol / norm   # the solver's system is normalised by norm (_normalised_system)

    A = np.empty((p, N), dtype=out_dtype)
    cache = _PatternCache(G)
    if n_threads > 1:
        block = max(1, min(block, -(-N // (2 * n_threads))))

    def run(c0: int) -> tuple[_Stats, _KKTAccumulator, _KKTAccumulator, dict[str, float]]:
        c1 = min(c0 + block, N)
        t0 = time.perf_counter()
        B = _rhs(Y, Et, c0, c1, chunk)
        t1 = time.perf_counter()
        Ab, st = _solve_block(G, B, tol_n, max_iter, cache, init)
        t2 = time.perf_counter()
        for lst in st.not_converged:
            lst += c0
        A[:, c0:c1] = Ab
        k64 = _KKTAccumulator(scale, norm)
        k64.add(_kkt_cols(G, B, Ab), c0)
        if out_dtype == np.float64:
            kout = k64
        else:
            kout = _KKTAccumulator(scale, norm)
            kout.add(_kkt_cols(G, B, A[:, c0:c1].astype(np.float64)), c0)
        t3 = time.perf_counter()
        return st, k64, kout, {"rhs": t1 - t0, "solve": t2 - t1, "kkt": t3 - t2}

    stats = _Stats()
    acc, acc64 = _KKTAccumulator(scale, norm), _KKTAccumulator(scale, norm)
    timings = {"rhs": 0.0, "solve": 0.0, "kkt": 0.0}
    starts = list(range(0, N, block))
    if n_threads > 1 and len(starts) > 1:
        pool = ThreadPoolExecutor(max_workers=n_threads)
        results = pool.map(run, starts)
    else:
        pool = None
        results = map(run, starts)
    try:
        for st, k64, kout, tm in results:
            stats.merge(st)
            acc64.merge(k64)
            acc.merge(kout)
            for k, v in tm.items():
                timings[k] += v
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    not_conv = (np.sort(np.concatenate(stats.not_converged)) if stats.not_converged
                else np.empty(0, dtype=np.int64))
    kkt, kkt64 = acc.result(), acc64.result()
    info: dict[str, Any] = {
        "iterations": stats.iterations,
        "n_solves": stats.n_solves,
        "solves_per_pixel": stats.n_solves / max(N, 1),
        "n_group_solves": stats.n_group_solves,
        "max_groups": stats.max_groups,
        "n_patterns": cache.n_factorised,
        "n_ill_conditioned": cache.n_ill_conditioned,
        "n_singular": cache.n_singular,
        "max_cond": cache.max_cond,
        "n_degenerate": stats.n_degenerate,
        "n_not_converged": int(not_conv.size),
        "not_converged": not_conv,
        "tol": tol,
        "max_iter": max_iter,
        "kkt_violation": kkt["absolute"],
        "kkt_violation_relative": kkt["relative"],
        "kkt_violation_float64": kkt64["absolute"],
        "kkt_violation_float64_relative": kkt64["relative"],
        "kkt_scale": scale,
        "kkt_components": {k: kkt[k] for k in _KKT_PARTS},
        "kkt_worst_pixel": kkt["worst_pixel"],
        "kkt_worst_pixel_float64": kkt64["worst_pixel"],
        "dtype": str(out_dtype),
        "init": init,
        "n_pixels": N,
        "n_endmembers": p,
        "n_threads": n_threads,
        "timings": timings,
        "wall_time": time.perf_counter() - t_start,
    }
    return (A[:, 0] if squeeze else A), info
