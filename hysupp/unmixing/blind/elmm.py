r"""ELMM: blind unmixing with the extended linear mixing model (Drumetz et al., 2016).

Model: every pixel has its own endmember matrix :math:`S_n \in \mathbb R^{L\times p}`, close to a
scaled version of reference endmembers :math:`E_0` (one scaling factor per endmember and pixel,
:math:`\psi_n \in \mathbb R^p`):

.. math::

    y_n = S_n a_n + e_n, \qquad S_n \approx E_0 \operatorname{diag}(\psi_n),
    \qquad a_n \ge 0,\ \mathbf 1^\top a_n = 1 .

Optimisation problem (the paper's functional, with the weights as in the authors' code):

.. math::

    \min_{A, \Psi, \{S_n\}}\ \tfrac12\sum_n \lVert y_n - S_n a_n\rVert_2^2
    + \tfrac{\lambda_S}{2}\sum_n \lVert S_n - E_0\operatorname{diag}(\psi_n)\rVert_F^2
    + \lambda_A \big(\lVert H_h A\rVert_{q,1} + \lVert H_v A\rVert_{q,1}\big)
    + \sum_k \tfrac{\lambda_{\psi,k}}{2}\big(\lVert H_h \psi_k\rVert_2^2 + \lVert H_v \psi_k\rVert_2^2\big)

s.t. every :math:`a_n` on the unit simplex; :math:`H_h, H_v` are the horizontal and vertical
periodic differences on the image grid (:mod:`hysupp.optim.tv`), :math:`q = 1` (``norm="1,1"``,
anisotropic, each abundance map on its own) or :math:`q = 2` (``norm="2,1"``, the differences of
the ``p`` maps grouped per pixel and direction), :math:`\psi_k` the ``k``-th scaling map.

Alternating non-negative least squares (ANLS), in the order of the authors' ``ELMM_ADMM.m``
(``S``, then ``A``, then ``psi``), each block exactly or by ADMM:

* ``S``: per pixel :math:`S_n = (y_n a_n^\top + \lambda_S E_0\Psi_n)(a_n a_n^\top +
  \lambda_S I)^{-1} = E_0\Psi_n + \frac{(y_n - E_0\Psi_n a_n)a_n^\top}{\lambda_S + \lVert a_n
  \rVert^2}` (Sherman-Morrison): a rank-one update of the scaled references, so ``S`` is stored
  as :math:`(\Psi, a, z_n)` in :math:`O((L + p)N)` memory instead of the ``L x p x N`` tensor.
  (The authors' code also clips :math:`S_n` to :math:`\ge 10^{-6}`; that clipping is not
  applied here, which keeps the rank-one form: ``S`` is the exact unconstrained minimiser.)
* ``A``: ADMM with the splitting :math:`U_1 = A` (data term, per-pixel ``p x p`` systems
  :math:`(S_n^\top S_n + \rho I)^{-1}`), :math:`U_2 = A` (simplex projection,
  :func:`hysupp.optim.project_simplex`), :math:`U_3 = HA` (soft thresholding); the ``A`` step is
  :math:`(2I + H^\top H)A = \dots`, one FFT solve (:class:`hysupp.optim.IdentityPlusDtDSolver`).
  Stopped by the primal/dual residual test of Boyd et al. (absolute and relative tolerances
  ``eps_admm_abs``, ``eps_admm_rel``) or ``maxiter_admm``; :math:`\rho_0 = 10` and residual
  balancing (x2 / /2 when the residuals differ by a factor 10); the split variables and
  multipliers are warm-started from one outer iteration to the next.
* ``psi``: for every endmember, :math:`(\lambda_S \lVert e_{0k}\rVert^2 I + \lambda_{\psi,k}
  H^\top H)\psi_k = \lambda_S [e_{0k}^\top S_{n,k}]_n`, one FFT solve.

The outer loop stops (after at least two iterations) when the relative changes
:math:`\lVert A - A_{\rm old}\rVert_F/\lVert A_{\rm old}\rVert_F`, the same for ``Psi``, and the
pixel mean of :math:`\lVert S_n - S_n^{\rm old}\rVert_F/\lVert S_n^{\rm old}\rVert_F` (as in
the authors' code) are below ``eps_a``, ``eps_psi`` and ``eps_s``, or after ``maxiter_anls``
iterations.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.fft

from hysupp.errors import InputError
from hysupp.methods.base import BlindUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.optim import (
    IdentityPlusDtDSolver,
    gradient,
    gradient_adjoint,
    project_simplex,
    soft_threshold,
)
from hysupp.optim.guards import check_finite
from hysupp.optim.prox import group_soft_threshold
from hysupp.optim.tv import dtd_symbol
from hysupp.progress import tracker
from hysupp.unmixing.blind.sclsu import sclsu

__all__ = ["ELMM", "elmm"]

#: initial ADMM penalty (as in ELMM_ADMM.m); then residual balancing (factor 2 when the residuals differ by 10x)
RHO0 = 10.0


class _LocalEndmembers:
    r"""The per-pixel endmembers :math:`S_n = E_0\operatorname{diag}(\psi_n) + z_n a_n^\top`,
    stored as ``psi`` (p, N), ``a`` (p, N), ``z`` (L, N)."""

    def __init__(self, E0: np.ndarray, psi: np.ndarray, a: np.ndarray, z: np.ndarray) -> None:
        self.E0, self.psi, self.a, self.z = E0, psi, a, z
        self.e = E0.T @ z                         # E0^T z_n, (p, N)
        self.zz = np.einsum("ln,ln->n", z, z)

    def gram(self, G0: np.ndarray) -> np.ndarray:
        """``S_n^T S_n`` for every pixel, (N, p, p)."""
        psi, a, e = self.psi.T, self.a.T, self.e.T
        G = G0[None] * (psi[:, :, None] * psi[:, None, :])
        cross = (psi * e)[:, :, None] * a[:, None, :]
        G += cross + cross.transpose(0, 2, 1)
        G += self.zz[:, None, None] * (a[:, :, None] * a[:, None, :])
        return G

    def times_y(self, E0tY: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """``S_n^T y_n`` for every pixel, (p, N)."""
        return self.psi * E0tY + self.a * np.einsum("ln,ln->n", self.z, Y)

    def ref_projection(self) -> np.ndarray:
        """``e_{0k}^T S_{n,k}`` for every endmember and pixel, (p, N)."""
        d0 = np.einsum("lk,lk->k", self.E0, self.E0)
        return self.psi * d0[:, None] + self.e * self.a

    def pixel_norms(self) -> np.ndarray:
        """``||S_n||_F`` for every pixel, (N,)."""
        d0 = np.einsum("lk,lk->k", self.E0, self.E0)
        sq = (self.psi ** 2 * d0[:, None]).sum(axis=0) + 2 * (self.psi * self.a * self.e).sum(axis=0) \
            + self.zz * (self.a ** 2).sum(axis=0)
        return np.sqrt(np.maximum(sq, 0.0))

    def relative_change(self, old: _LocalEndmembers) -> np.ndarray:
        """``||S_n - S_n^old||_F / ||S_n^old||_F`` for every pixel, (N,)."""
        d0 = np.einsum("lk,lk->k", self.E0, self.E0)
        dpsi = self.psi - old.psi
        sq = (dpsi ** 2 * d0[:, None]).sum(axis=0) + self.zz * (self.a ** 2).sum(axis=0) \
            + old.zz * (old.a ** 2).sum(axis=0) + 2 * (dpsi * self.a * self.e).sum(axis=0) \
            - 2 * (dpsi * old.a * old.e).sum(axis=0) \
            - 2 * np.einsum("ln,ln->n", self.z, old.z) * (self.a * old.a).sum(axis=0)
        n_old = old.pixel_norms()
        return np.sqrt(np.maximum(sq, 0.0)) / np.where(n_old > 0, n_old, 1.0)

    def mean(self) -> np.ndarray:
        """Pixel average of the local endmembers, (L, p)."""
        return self.E0 * self.psi.mean(axis=1)[None, :] + self.z @ self.a.T / self.z.shape[1]


def _s_update(Y: np.ndarray, E0: np.ndarray, A: np.ndarray, psi: np.ndarray, lam_s: float) -> _LocalEndmembers:
    r = Y - E0 @ (psi * A)
    z = r / (lam_s + (A ** 2).sum(axis=0))[None, :]
    return _LocalEndmembers(E0, psi.copy(), A.copy(), z)


def _objective_terms(Y: np.ndarray, S: _LocalEndmembers, A: np.ndarray, psi: np.ndarray, norm: str,
                     shape: tuple[int, int]) -> tuple[float, float, float, np.ndarray]:
    """The terms of the ELMM objective at ``(S, A, psi)``: ``1/2 sum ||y_n - S_n a_n||^2``,
    ``1/2 sum ||S_n - E0 diag(psi_n)||_F^2``, the mixed norm of the abundance differences and, per
    endmember, ``1/2 ||H psi_k||^2``."""
    p = A.shape[0]
    fit = Y - S.E0 @ (S.psi * A) - S.z * (S.a * A).sum(axis=0)[None, :]
    d0 = np.einsum("lk,lk->k", S.E0, S.E0)
    dpsi = S.psi - psi
    src = (dpsi ** 2 * d0[:, None]).sum() + 2 * (dpsi * S.a * S.e).sum() + (S.zz * (S.a ** 2).sum(axis=0)).sum()
    G = gradient(A.reshape(p, *shape))
    tv = float(np.abs(G).sum()) if norm == "1,1" else float(np.sqrt((G ** 2).sum(axis=1)).sum())
    Gp = gradient(psi.reshape(p, *shape))
    smooth = 0.5 * (Gp ** 2).sum(axis=(0, 2, 3))
    return 0.5 * float((fit ** 2).sum()), 0.5 * float(src), tv, smooth


def _rel(diff: np.ndarray, old: np.ndarray) -> float:
    n_old = float(np.linalg.norm(old))
    n_diff = float(np.linalg.norm(diff))
    return n_diff / n_old if n_old > 0 else (0.0 if n_diff == 0 else np.inf)


def elmm(Y: np.ndarray, image_shape: tuple[int, int], E0: np.ndarray, A0: np.ndarray, psi0: np.ndarray | None = None,
         *, lambda_s: float = 0.5, lambda_a: float = 0.01, lambda_psi: float | np.ndarray = 0.05,
         norm: str = "1,1", maxiter_anls: int = 100, maxiter_admm: int = 100, eps_s: float = 1e-3,
         eps_a: float = 1e-3, eps_psi: float = 1e-3, eps_admm_abs: float = 1e-2,
         eps_admm_rel: float = 1e-2) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    r"""ELMM by ANLS/ADMM (see the module docstring). Float64 throughout.

    Parameters
    ----------
    Y : (L, N) pixels, columns the image in row-major order; image_shape : (H, W) with H W = N.
    E0 : (L, p) reference endmembers; A0 : (p, N) initial abundances; psi0 : (p, N) initial
        scaling factors (default ones).
    Other parameters: see :class:`ELMM`.

    Returns
    -------
    A : (p, N) abundances on the simplex; psi : (p, N) scaling factors; E_mean : (L, p) the pixel
    average of the local endmembers :math:`S_n`; info : dict.
    """
    Y = np.asarray(Y, dtype=np.float64)
    E0 = np.asarray(E0, dtype=np.float64)
    L, N = Y.shape
    p = E0.shape[1]
    H, W = int(image_shape[0]), int(image_shape[1])
    if H * W != N:
        raise InputError(f"ELMM: image_shape {image_shape!r} does not match N = {N} pixels")
    if norm not in ("1,1", "2,1"):
        raise InputError(f"ELMM: norm must be '1,1' or '2,1', got {norm!r}")
    lam_psi = np.broadcast_to(np.asarray(lambda_psi, dtype=np.float64), (p,)).copy()
    A = project_simplex(np.asarray(A0, dtype=np.float64).reshape(p, N), axis=0)
    psi = np.ones((p, N)) if psi0 is None else np.asarray(psi0, dtype=np.float64).reshape(p, N).copy()

    G0 = E0.T @ E0
    d0 = np.diag(G0).copy()
    E0tY = E0.T @ Y
    a_solver = IdentityPlusDtDSolver((H, W), alpha=0.5)          # (2 I + H^T H) / 2
    sym = dtd_symbol((H, W))

    S = _LocalEndmembers(E0, psi.copy(), A.copy(), np.zeros((L, N)))  # S_n = E0 diag(psi_n)
    # ADMM state (warm-started across outer iterations)
    U1, U2 = A.copy(), A.copy()
    U3 = gradient(A.reshape(p, H, W)).reshape(2, p, N)
    W1, W2, W3 = np.zeros_like(A), np.zeros_like(A), np.zeros_like(U3)
    rho = RHO0
    t_admm = 0
    history: list[dict[str, float]] = []
    n_c = np.sqrt(4.0 * p * N)
    n_x = np.sqrt(float(p * N))

    def D(X: np.ndarray) -> np.ndarray:
        return gradient(X.reshape(p, H, W)).reshape(2, p, N)

    def Dt(G: np.ndarray) -> np.ndarray:
        return gradient_adjoint(G.reshape(2, p, H, W)).reshape(p, N)

    def prox_tv(V: np.ndarray, t: float) -> np.ndarray:
        if norm == "1,1":
            return soft_threshold(V, t)
        return group_soft_threshold(V, t, axis=1)

    it = 0
    converged = False
    eye = np.eye(p)
    bar = tracker("ELMM", total=maxiter_anls)
    for it in range(1, maxiter_anls + 1):
        A_old, psi_old, S_old = A, psi, S
        # ---------------------------------------------------------------- S: closed form
        S = _s_update(Y, E0, A, psi, lambda_s)
        # ---------------------------------------------------------------- A: ADMM
        Gs = S.gram(G0)
        SY = S.times_y(E0tY, Y)
        Q = np.linalg.inv(Gs + rho * eye)
        for j in range(maxiter_admm):
            t_admm += 1
            rhs = 0.5 * ((U1 - W1) + (U2 - W2) + Dt(U3 - W3))
            A = a_solver(rhs.reshape(p, H, W)).reshape(p, N)
            DA = D(A)
            U1o, U2o, U3o = U1, U2, U3
            U1 = np.einsum("npq,qn->pn", Q, SY + rho * (A + W1))
            U2 = project_simplex(A + W2, axis=0)
            U3 = prox_tv(DA + W3, lambda_a / rho)
            R1, R2, R3 = A - U1, A - U2, DA - U3
            W1 += R1
            W2 += R2
            W3 += R3
            r = np.sqrt((R1 ** 2).sum() + (R2 ** 2).sum() + (R3 ** 2).sum())
            s = rho * np.linalg.norm((U1 - U1o) + (U2 - U2o) + Dt(U3 - U3o))
            eps_pri = n_c * eps_admm_abs + eps_admm_rel * max(
                np.sqrt(2 * (A ** 2).sum() + (DA ** 2).sum()),
                np.sqrt((U1 ** 2).sum() + (U2 ** 2).sum() + (U3 ** 2).sum()))
            eps_dual = n_x * eps_admm_abs + eps_admm_rel * rho * np.linalg.norm(W1 + W2 + Dt(W3))
            check_finite("ELMM", it, r, s, what="abundance ADMM (outer iteration)")
            if j > 0 and r <= eps_pri and s <= eps_dual:
                break
            if r > 10 * s or s > 10 * r:
                f = 2.0 if r > 10 * s else 0.5
                rho *= f
                W1 /= f
                W2 /= f
                W3 /= f
                Q = np.linalg.inv(Gs + rho * eye)
        A = U2.copy()                                            # on the simplex
        # ---------------------------------------------------------------- psi: FFT solves
        num = lambda_s * S.ref_projection()
        psi = np.empty((p, N))
        for k in range(p):
            den = lambda_s * d0[k] + lam_psi[k] * sym
            F = scipy.fft.rfft2(num[k].reshape(H, W))
            psi[k] = scipy.fft.irfft2(F / den, s=(H, W)).reshape(N)
        rel = (_rel(A - A_old, A_old), _rel(psi - psi_old, psi_old), float(S.relative_change(S_old).mean()))
        terms = _objective_terms(Y, S, A, psi, norm, (H, W))
        objective = terms[0] + lambda_s * terms[1] + lambda_a * terms[2] + float(lam_psi @ terms[3])
        history.append({"iteration": it, "objective": objective, "fit": terms[0], "source_model": terms[1],
                        "tv_a": terms[2], "smooth_psi": float(terms[3].sum()), "rel_A": rel[0],
                        "rel_psi": rel[1], "rel_S": rel[2], "admm_iterations": j + 1, "rho": rho})
        bar.update(it, objective=objective)
        if it > 1 and rel[0] < eps_a and rel[1] < eps_psi and rel[2] < eps_s:
            converged = True
            break
    bar.close()
    info = {"iterations": it, "converged": converged, "admm_iterations_total": t_admm, "rho_final": rho,
            "history": history}
    return A, psi, S.mean(), info


@register
class ELMM(BlindUnmixer):
    r"""ELMM: extended linear mixing model with per-pixel scaling of the endmembers (spatial).

    Solves (see :mod:`hysupp.unmixing.blind.elmm` for the algorithm)

    .. math::

        \min_{A, \Psi, \{S_n\}}\ \tfrac12\sum_n \lVert y_n - S_n a_n\rVert_2^2
        + \tfrac{\lambda_S}{2}\sum_n \lVert S_n - E_0\operatorname{diag}(\psi_n)\rVert_F^2
        + \lambda_A \lVert H A\rVert_{q,1}
        + \tfrac{\lambda_\psi}{2}\lVert H \Psi^\top\rVert_F^2
        \quad\text{s.t.}\quad A \ge 0,\ \mathbf 1^\top A = \mathbf 1^\top

    on the image grid (``H`` = horizontal and vertical differences). As in HySUPP's wrapper of
    ``ELMM_ADMM.m``: the reference endmembers :math:`E_0` are extracted by VCA, the abundances
    start from SCLSU (:func:`hysupp.unmixing.blind.sclsu.sclsu`) and the scaling factors from
    ones; the returned endmembers are the pixel average of the local endmembers :math:`S_n`.
    Defaults are HySUPP's ``config/model/ELMM.yaml`` (the same :math:`\lambda_\psi` for every
    endmember). ``info`` holds the mean/min/max of the scaling factors; the maps themselves are
    returned by the function :func:`elmm`.

    Parameters
    ----------
    lambda_s, lambda_a, lambda_psi : float
        Weights of the closeness of :math:`S_n` to the scaled references, of the spatial
        regularisation of the abundances, and of the smoothness of the scaling maps.
    norm : {"1,1", "2,1"}
        Mixed norm of the abundance differences (anisotropic per map, or grouped over maps).
    maxiter_anls, maxiter_admm : int
        Outer (ANLS) and inner (abundance ADMM) iteration caps.
    eps_s, eps_a, eps_psi : float
        Outer stopping tolerances on the relative change of the norms of S, A and Psi.
    eps_admm_abs, eps_admm_rel : float
        Absolute and relative tolerances of the ADMM residual test.
    seed : int
        Seed of the VCA extraction of :math:`E_0`.
    dtype : {"float32", "float64"}
        Output dtype (the computation is float64).

    References
    ----------
    L. Drumetz, M.-A. Veganzones, S. Henrot, R. Phlypo, J. Chanussot, C. Jutten, "Blind
    hyperspectral unmixing using an extended linear mixing model to address spectral
    variability", IEEE Trans. Image Process. 25(8), 3890-3905, 2016, doi:10.1109/TIP.2016.2579259.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 64).T; A[:, :3] = np.eye(3)
    >>> res = get_method("ELMM", "blind")(maxiter_anls=5).unmix(E @ A, 3, image_shape=(8, 8))
    >>> res.abundances.shape, res.endmembers.shape
    ((3, 64), (20, 3))
    """

    name: ClassVar[str] = "ELMM"
    stochastic: ClassVar[bool] = True
    spatial: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("lambda_s", float, 0.5, "weight of ||S_n - E0 diag(psi_n)||_F^2 / 2", low=0.0, low_open=True),
        Param("lambda_a", float, 0.01, "weight of the spatial regularisation of the abundances", low=0.0),
        Param("lambda_psi", float, 0.05, "weight of the smoothness of the scaling maps", low=0.0),
        Param("norm", str, "1,1", "mixed norm of the abundance differences", choices=("1,1", "2,1")),
        Param("maxiter_anls", int, 100, "outer (alternating) iterations", low=1),
        Param("maxiter_admm", int, 100, "abundance ADMM iterations per outer iteration", low=1),
        Param("eps_s", float, 1e-3, "stopping tolerance on the relative change of ||S||", low=0.0),
        Param("eps_a", float, 1e-3, "stopping tolerance on the relative change of ||A||", low=0.0),
        Param("eps_psi", float, 1e-3, "stopping tolerance on the relative change of ||Psi||", low=0.0),
        Param("eps_admm_abs", float, 1e-2, "ADMM absolute tolerance", low=0.0),
        Param("eps_admm_rel", float, 1e-2, "ADMM relative tolerance", low=0.0),
        Param("seed", int, 0, "seed of the VCA extraction of the reference endmembers"),
        Param("dtype", str, "float32", "output dtype (computation in float64)", choices=("float32", "float64")),
    )
    reference: ClassVar[str] = (
        "L. Drumetz, M.-A. Veganzones, S. Henrot, R. Phlypo, J. Chanussot, C. Jutten, \"Blind hyperspectral "
        "unmixing using an extended linear mixing model to address spectral variability\", IEEE Trans. Image "
        "Process. 25(8), 3890-3905, 2016, doi:10.1109/TIP.2016.2579259")

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """VCA references, SCLSU initial abundances, then ELMM; see the class docstring."""
        from hysupp.unmixing.extractors.vca import VCA

        ext = VCA(seed=self.seed).extract(Y, p)
        E0 = np.asarray(ext.endmembers, dtype=np.float64)
        Yd = np.asarray(Y, dtype=np.float64)
        A0, _ = sclsu(Yd, E0)
        A, psi, E, info = elmm(
            Yd, image_shape, E0, A0, None, lambda_s=self.lambda_s, lambda_a=self.lambda_a,
            lambda_psi=self.lambda_psi, norm=self.norm, maxiter_anls=self.maxiter_anls,
            maxiter_admm=self.maxiter_admm, eps_s=self.eps_s, eps_a=self.eps_a, eps_psi=self.eps_psi,
            eps_admm_abs=self.eps_admm_abs, eps_admm_rel=self.eps_admm_rel)
        info = {"method": self.name, **info, "seed": self.seed, "extractor": "VCA", "vca_indices": ext.indices,
                "scaling_mean": float(psi.mean()), "scaling_min": float(psi.min()),
                "scaling_max": float(psi.max()), "dtype": self.dtype, "device": "cpu"}
        dt = np.dtype(self.dtype)
        return UnmixingResult(abundances=A.astype(dt), endmembers=E.astype(dt), info=info)
