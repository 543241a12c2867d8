r"""SISAL: simplex identification via split augmented Lagrangian (Bioucas-Dias, 2009).

SISAL fits the minimum-volume simplex that (softly) contains the data, so it needs no pure pixels.
The data are first reduced to their ``(p-1)``-dimensional affine hull and written in ``p``
coordinates, :math:`\tilde y_j \in \mathbb R^p` (an orthonormal basis :math:`U_p` of that
``(p-1)``-dimensional subspace plus the direction of the mean's orthogonal component, so every
:math:`\tilde y_j` has the same last coordinate). With :math:`Q = M^{-1}` (the inverse of the
``p x p`` endmember matrix in these coordinates) the abundances are :math:`Q \tilde Y`, the volume
of the simplex is proportional to :math:`1/|\det Q|`, and SISAL solves

.. math::

    \min_Q\ -\log|\det Q| + \tau\, \lVert Q \tilde Y \rVert_h
    \quad \text{s.t.}\quad \mathbf 1_p^\top Q = q_m^\top,
    \qquad \lVert X \rVert_h = \sum_{ij} \max(-X_{ij}, 0),

where the hinge term softly enforces non-negative abundances (robust to noise and outliers) and
:math:`q_m^\top = \mathbf 1_N^\top \tilde Y^\top (\tilde Y \tilde Y^\top)^{-1}` makes the abundances
sum to one. The non-convex :math:`-\log|\det Q|` is majorised at the current :math:`Q_0` by its
linearisation plus :math:`\frac{\lambda}{2}\lVert Q - Q_0\rVert_F^2`, and each convex subproblem is
solved by a few ADMM (split augmented Lagrangian) steps on the splitting :math:`Z = Q \tilde Y`:

.. math::

    Q &\leftarrow \arg\min_{\mathbf 1^\top Q = q_m^\top}
        \langle -Q_0^{-\top}, Q\rangle + \tfrac{\lambda}{2}\lVert Q - Q_0\rVert_F^2
        + \tfrac{\mu}{2}\lVert Q\tilde Y - Z - B\rVert_F^2 \\
    &\phantom{\leftarrow}= (I - \tfrac1p \mathbf 1\mathbf 1^\top)\,
        (\lambda Q_0 + Q_0^{-\top} + \mu (Z + B)\tilde Y^\top)(\lambda I + \mu \tilde Y\tilde Y^\top)^{-1}
        + \tfrac1p \mathbf 1 q_m^\top, \\
    Z &\leftarrow \operatorname{prox}_{(\tau/\mu)\lVert\cdot\rVert_h}(Q\tilde Y - B), \qquad
    B \leftarrow B - (Q\tilde Y - Z),

with a backtracking step towards :math:`Q_0` when the true objective increased. The ``p x p``
closed form above replaces sisal.m's ``p^2 x p^2`` Kronecker system (same solution); every step is
a ``(p, p) @ (p, N)`` product and element-wise operations over all pixels.

Real scenes (issue 22). The problem above is affine-invariant (the spherising and the scale of the
data do not change its minimiser; measured: the endmembers of ``Y`` and ``1e-3 Y`` agree to 1e-10)
and the solver reaches the same minimum from VCA, from its expansion and from the reference
endmembers; the optimisation is not what fails. What fails is the model: real pixels do not fill
the simplex of their reference endmembers (spectral variability, illumination). Under the
reference endmembers 29 % (Samson) and 31 % (Jasper Ridge) of the barycentric coordinates of the
pixels are negative, so the minimum-volume simplex that holds the pixels (``tau = 1``: about
:math:`1/\tau` pixel beyond each facet at the optimum) is 4-17x larger, and the vertex of a dark
endmember (water) lands far below zero reflectance: SAD 100-106 degrees. Two changes make it robust
without touching the noise-free case, where the simplex is exact and non-negative:

* ``nonneg`` (default): a vertex with a band below the data's floor :math:`\min(0, \min_j y_{lj})`
  is pulled back along the ray from the simplex centroid to the first point that is above the floor
  in every band (:func:`pull_back_to_floor`): the physical part of the edge the volume term pushed
  it along. Vertices inside the range are not moved.
* ``tau=None`` (default): the hinge weight is chosen among :data:`TAU_CANDIDATES` (1, 0.1, 0.01)
  by the boundary-pixel criterion of Zhuang et al. (2019) (:mod:`hysupp.unmixing.boundary`, as
  NMF-QMV chooses its volume weight): the simplex whose facets lie closest to the boundary pixels.
  A softer hinge lets noisy pixels out of the simplex (the role the paper gives tau).

Mean SAD over seeds 0-4 with FCLS abundances (HySUPP's convention; ``benchmarks/realscene_extractors.py``),
this SISAL / the paper's (``tau=1, nonneg=False``) / HySUPP's port: Samson 7.6 / 36.6 / 12.7,
Jasper Ridge 7.8 / 33.6 / 13.5; synthetic scenes: noise-free 0.0 / 0.0 / 7-12, 30 dB 0.8 / 5.5 / 7.1.
HySUPP's port runs ``tau = 1e-6``, ``mu = 1`` and 40 iterations from unexpanded VCA pixels, a
short walk from VCA whose end depends on the scale of the data (Samson x 10: 30.8 degrees).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import HysuppError, InputError
from hysupp.methods.base import ExtractionResult, Extractor
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.metrics.unmixing import flag_degenerate_endmembers
from hysupp.optim.guards import check_finite
from hysupp.progress import tracker
from hysupp.unmixing.boundary import pull_back_to_floor
from hysupp.unmixing.extractors.subspace import moments as _moments
from hysupp.unmixing.extractors.subspace import project as _project
from hysupp.unmixing.extractors.subspace import top_eigvecs as _top_eigvecs
from hysupp.unmixing.extractors.vca import VCA

__all__ = ["SISAL", "TAU_CANDIDATES", "pull_back_to_floor", "sisal", "sisal_select_tau", "soft_neg"]

_LAM_SPHE = 1e-8     # spherisation regulariser (sisal.m)
_LAM_QUAD = 1e-6     # quadratic majoriser weight lambda (sisal.m)
_AL_ITERS = 4        # ADMM passes per subproblem (sisal.m; 100 at the last MM iteration)
#: hinge weights tried when ``tau`` is not given (the boundary-pixel criterion picks one)
TAU_CANDIDATES = (1.0, 0.1, 0.01)


def soft_neg(Y: np.ndarray, t: float) -> np.ndarray:
    r"""Proximal operator of :math:`t \sum \max(-x, 0)` (the hinge), element-wise:
    ``y`` if ``y >= 0``, ``0`` if ``-t <= y < 0``, ``y + t`` if ``y < -t``.

    >>> soft_neg(np.array([-3.0, -0.5, 0.0, 2.0]), 1.0)
    array([-2.,  0.,  0.,  2.])
    """
    return np.where(Y >= 0, Y, np.minimum(Y + t, 0.0))


def _hinge_sum(X: np.ndarray) -> float:
    return float(np.maximum(-X, 0.0).sum())


def sisal(Y: np.ndarray, p: int, *, mm_iters: int = 80, tau: float = 1.0, mu: float | None = None,
          spherize: bool = True, M0: np.ndarray | None = None, seed: int = 0,
          nonneg: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """SISAL on ``Y`` ``(L, N)``: endmembers ``(L, p)`` (float64) and an info dict (see :class:`SISAL`)."""
    Y = np.asarray(Y)
    L, N = Y.shape
    mu = p * 1000.0 / N if mu is None else float(mu)
    mean, R = _moments(Y)
    d_vals, Up = _top_eigvecs(R - np.outer(mean, mean), p - 1)
    d_vals = np.maximum(d_vals, 0.0)
    ortho = mean - Up @ (Up.T @ mean)
    n_ortho = float(np.linalg.norm(ortho))
    if n_ortho <= 1e-12 * max(float(np.linalg.norm(mean)), 1e-300):
        raise InputError("SISAL: the data's affine hull passes through the origin (e.g. centred data); the "
                         "simplex cannot be lifted -- add the mean back or use a pure-pixel extractor")
    Ub = np.hstack([Up, ortho[:, None] / n_ortho])              # (L, p) orthonormal
    # coordinates of the data projected on its affine hull: [Up^T y; ||ortho||] (last row constant)
    Xa = _project(Y, Up, mean)                                  # (p-1, N) centred coordinates, by chunks
    if spherize:
        scale = 1.0 / np.sqrt(d_vals + _LAM_SPHE)
        Yt = np.vstack([Xa * scale[:, None], np.ones((1, N))]) / math.sqrt(p)
    else:
        Yt = np.vstack([Xa + (Up.T @ mean)[:, None], np.full((1, N), n_ortho)])

    def to_coords(M: np.ndarray) -> np.ndarray:                 # (L, p) spectra -> simplex coordinates
        Ma = Up.T @ (M - mean[:, None])
        if spherize:
            return np.vstack([Ma * scale[:, None], np.ones((1, M.shape[1]))]) / math.sqrt(p)
        return np.vstack([Ma + (Up.T @ mean)[:, None], np.full((1, M.shape[1]), n_ortho)])

    def to_spectra(Mt: np.ndarray) -> np.ndarray:               # inverse of to_coords on the affine hull
        if spherize:
            return Up @ (Mt[:p - 1] * (math.sqrt(p) / scale[:, None])) + mean[:, None]
        return Ub @ Mt

    if M0 is None:
        vca = VCA(seed=seed).extract(Yt, p)
        Mt = vca.endmembers.astype(np.float64)
        Mt = Mt + p * (Mt - Mt.mean(axis=1, keepdims=True))      # expand: start outside the data
        init = "vca"
    else:
        M0 = np.asarray(M0, dtype=np.float64)
        if M0.shape != (L, p):
            raise InputError(f"SISAL: M0 must have shape ({L}, {p}), got {M0.shape}")
        Mt = to_coords(M0)
        init = "M0"
    try:
        Q = np.linalg.inv(Mt)
    except np.linalg.LinAlgError as exc:
        raise HysuppError("SISAL: the initial simplex is degenerate (singular); try another seed or M0") from exc

    YYt = Yt @ Yt.T
    qm = np.linalg.solve(YYt, Yt.sum(axis=1))                   # (p,)
    Finv = np.linalg.inv(_LAM_QUAD * np.eye(p) + mu * YYt)
    Jc = np.eye(p) - 1.0 / p                                    # centring I - 11^T/p
    offset = np.outer(np.ones(p), qm) / p

    def f_true(Qm: np.ndarray) -> float:
        sign, logdet = np.linalg.slogdet(Qm)
        return math.inf if sign == 0 else -logdet + tau * _hinge_sum(Qm @ Yt)

    Z = Q @ Yt
    Bk = np.zeros_like(Z)
    history: list[float] = []
    al_iters = _AL_ITERS
    bar = tracker("SISAL", total=mm_iters)
    for k in range(mm_iters):
        Q0 = Q
        G0 = np.linalg.inv(Q0).T                                # -gradient of -log|det Q| at Q0
        base = _LAM_QUAD * Q0 + G0
        if k == mm_iters - 1:
            al_iters = 100
        for _ in range(100):                                    # sisal.m: repeat until the model decreased
            f0_val = f_true(Q)
            dq = Q - Q0
            hinge0 = tau * _hinge_sum(Q @ Yt)
            f0_quad = float(-(G0 * dq).sum() + 0.5 * _LAM_QUAD * (dq * dq).sum()) + hinge0
            for _ in range(al_iters - 1):
                Q = Jc @ (base + mu * (Z + Bk) @ Yt.T) @ Finv + offset
                QY = Q @ Yt
                Z = soft_neg(QY - Bk, tau / mu)
                Bk -= QY - Z
            dq = Q - Q0
            f_quad = float(-(G0 * dq).sum() + 0.5 * _LAM_QUAD * (dq * dq).sum()) + tau * _hinge_sum(Q @ Yt)
            f_val = f_true(Q)
            if f0_quad >= f_quad:
                for _ in range(60):                             # backtrack towards Q0
                    if not f0_val < f_val:
                        break
                    Q = 0.5 * (Q + Q0)
                    f_val = f_true(Q)
                break
        history.append(f_val)
        check_finite("SISAL", k + 1, Q, hint="check the input scaling or raise tau")
        bar.update(k + 1, objective=f_val)
    bar.close()

    Mt = np.linalg.inv(Q)
    M = to_spectra(Mt)
    info = {"objective": history, "mu": mu, "init": init, "singular_values": d_vals.tolist(),
            "volume_reduced": float(abs(np.linalg.det(Mt)) / math.factorial(p - 1)),
            "hinge_violation": _hinge_sum(Q @ Yt), "pulled_back": [], "pull_back_factors": []}
    if nonneg:
        floor = np.minimum(_band_minimum(Y), 0.0)
        M, info["pulled_back"], info["pull_back_factors"] = pull_back_to_floor(M, floor, mean)
    return M, info


def sisal_select_tau(Y: np.ndarray, p: int, taus: tuple[float, ...] = TAU_CANDIDATES,
                     **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`sisal` for every hinge weight in ``taus``; keeps the simplex whose facets lie closest to the
    data's boundary pixels (:func:`hysupp.unmixing.boundary.facet_distance_criterion`, Zhuang et al.
    2019), measured in the centred ``(p-1)``-dimensional principal coordinates of ``Y``."""
    from hysupp.unmixing.boundary import boundary_pixels, facet_distance_criterion

    mean, R = _moments(Y)
    _, Up = _top_eigvecs(R - np.outer(mean, mean), p - 1)
    G = _project(Y, Up, mean)
    bidx = boundary_pixels(G, seed=1)
    Gb = G[:, bidx]
    runs = []
    bar = tracker("SISAL tau selection", total=len(taus), unit="tau")
    for tau in taus:
        M, info = sisal(Y, p, tau=float(tau), **kwargs)
        runs.append((facet_distance_criterion(Up.T @ (M - mean[:, None]), Gb), float(tau), M, info))
        bar.update(len(runs))
    bar.close()
    k = int(np.argmin([r[0] for r in runs]))
    crit, tau, M, info = runs[k]
    info = {**info, "tau": tau, "criterion": crit, "n_boundary_pixels": int(bidx.size),
            "tau_candidates": [{"tau": r[1], "criterion": r[0]} for r in runs]}
    return M, info


def _band_minimum(Y: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Per-band minimum of ``Y`` ``(L, N)`` in float64, by chunks."""
    out = np.full(Y.shape[0], np.inf)
    for c0 in range(0, Y.shape[1], chunk):
        np.minimum(out, np.asarray(Y[:, c0:c0 + chunk], dtype=np.float64).min(axis=1), out=out)
    return out


@register
class SISAL(Extractor):
    r"""SISAL: minimum-volume simplex with a hinge soft-constraint on the abundances.

    Bioucas-Dias, WHISPERS 2009 (module docstring for the derivation):

    .. math::

        \min_{Q \in \mathbb R^{p \times p}}\ -\log|\det Q| + \tau \sum_{i,j} \max\big(-(Q\tilde Y)_{ij}, 0\big)
        \quad \text{s.t.}\quad \mathbf 1_p^\top Q = q_m^\top ,

    with :math:`\tilde Y` the data in ``p`` coordinates of their ``(p-1)``-dimensional affine hull and
    the endmembers :math:`M = U Q^{-1}` mapped back to the band space. Solved by a sequence of
    majorised quadratic-hinge subproblems, each by a few ADMM steps. Defaults are sisal.m's
    (80 MM iterations, :math:`\mu = 1000 p / N`, spherised coordinates, VCA initialisation
    expanded by a factor ``p`` around its centroid) except :math:`\tau` (sisal.m: 1; here chosen)
    and the non-negativity pull-back. HySUPP's Python port uses
    ``mm_iters=40``, ``tau=1e-6``, ``mu=1``, ``spherize=False`` and no expansion; its MATLAB
    configuration ``MM_ITERS=40, TAU=10, spherize=no``.

    On real scenes the paper's problem overshoots (module docstring): by default the hinge weight is
    chosen by the boundary-pixel criterion and vertices below the data's floor are pulled back to
    it; ``tau=1, nonneg=False`` is sisal.m exactly. ``info`` records the chosen ``tau``, every
    candidate's criterion and the pulled-back vertices (``pulled_back``, ``pull_back_factors``).

    The endmembers are not pixels (``indices`` is ``None``); they lie on the data's affine hull.

    Parameters
    ----------
    mm_iters : int
        Number of majorisation-minimisation (quadratic-hinge) subproblems.
    tau : float, optional
        Weight of the hinge penalty (large = hard non-negativity; small = robust to noise and
        variability); ``None`` chooses among 1, 0.1 and 0.01 (sisal.m: 1).
    mu : float, optional
        ADMM penalty; ``None`` = ``1000 p / N`` (sisal.m).
    spherize : bool
        Whiten the ``p - 1`` affine coordinates (sisal.m's ``spherize='yes'``) before fitting.
    seed : int
        Seed of the VCA initialisation.
    nonneg : bool
        Pull vertices below the data's floor back along the ray from the simplex centroid.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> from hysupp.metrics import align, sad
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((30, 3)); A = rng.dirichlet(np.ones(3), 500).T
    >>> A = A[:, A.max(axis=0) < 0.8]              # no pure pixels
    >>> M = get_method("SISAL")(mm_iters=30).extract(E @ A, 3).endmembers
    >>> bool(sad(E, align(E, M).apply_endmembers(M), reduce="mean") < 1.0)
    True
    """

    name: ClassVar[str] = "SISAL"
    stochastic: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("mm_iters", int, 80, "number of quadratic-hinge (majorisation) subproblems", low=1),
        Param("tau", float, None, "weight of the hinge soft constraint on negative abundances; None = choose "
              "among 1, 0.1, 0.01 by the boundary-pixel criterion (sisal.m: 1)", low=0.0, optional=True),
        Param("mu", float, None, "ADMM penalty; None = 1000 p / N (sisal.m)", low=1e-12, optional=True),
        Param("spherize", bool, True, "whiten the affine coordinates first (sisal.m default 'yes')"),
        Param("seed", int, 0, "seed of the VCA initialisation"),
        Param("nonneg", bool, True, "pull vertices below the data's floor min(0, band minimum) back along the "
              "ray from the simplex centroid (real scenes: dark endmembers); False = the paper's raw vertices"),
    )
    reference: ClassVar[str] = (
        "J. M. Bioucas-Dias, \"A variable splitting augmented Lagrangian approach to linear spectral unmixing\", "
        "First IEEE Workshop on Hyperspectral Image and Signal Processing (WHISPERS), 2009, "
        "doi:10.1109/WHISPERS.2009.5289072")

    def _extract(self, Y: np.ndarray, p: int) -> ExtractionResult:
        """Estimate ``p`` endmembers ``(L, p)`` of ``Y`` ``(L, N)`` as the minimum-volume simplex."""
        kw = {"mm_iters": self.mm_iters, "mu": self.mu, "spherize": self.spherize, "seed": self.seed,
              "nonneg": self.nonneg}
        if self.tau is None:
            M, info = sisal_select_tau(Y, int(p), **kw)
        else:
            M, info = sisal(Y, int(p), tau=self.tau, **kw)
            info["tau"] = float(self.tau)
        info = {"method": self.name, **info, "seed": self.seed}
        flag_degenerate_endmembers(M, Y, info, self.name)
        return ExtractionResult(endmembers=M.astype(Y.dtype, copy=False), indices=None, info=info)
