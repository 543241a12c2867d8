r"""SCLSU: scaled constrained least squares unmixing (the scaled version of the linear mixing model).

The *scaled* linear mixing model (the special case of the extended LMM of Drumetz et al. with one
scaling factor per pixel) writes every pixel as

.. math::

    y_n = \psi_n E_0 a_n, \qquad a_n \ge 0,\ \mathbf 1^\top a_n = 1,\ \psi_n \ge 0,

with reference endmembers :math:`E_0` (extracted from the image, VCA as in HySUPP). With
:math:`\phi_n = \psi_n a_n` the problem becomes a non-negative least-squares problem in
:math:`\phi_n` (no sum-to-one), and :math:`(\psi_n, a_n)` are recovered as

.. math::

    \phi_n = \arg\min_{\phi \ge 0} \tfrac12 \lVert y_n - E_0 \phi \rVert_2^2, \qquad
    \psi_n = \mathbf 1^\top \phi_n, \qquad a_n = \phi_n / \psi_n .

The non-negative least squares are solved exactly and batched through the shared simplex solver
(:func:`hysupp.optim.fcls`), see :func:`nonneg_least_squares`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.errors import HysuppError
from hysupp.methods.base import BlindUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.optim import fcls

__all__ = ["SCLSU", "nonneg_least_squares", "sclsu"]


def nonneg_least_squares(Y: np.ndarray, E: np.ndarray, *, max_rounds: int = 30) -> np.ndarray:
    r"""Exact batched non-negative least squares :math:`\min_{\phi \ge 0} \lVert y - E\phi\rVert_2`
    for every column of ``Y`` ``(L, N)``, returned ``(p, N)`` in float64.

    Reduction to the simplex-constrained problem solved by :func:`hysupp.optim.fcls`: with a
    scale :math:`c > 0` and a zero column appended,

    .. math::

        \min_{b \ge 0,\ \mathbf 1^\top b = 1} \lVert y - [cE,\ 0]\, b \rVert_2
        \;=\; \min_{\phi \ge 0,\ \mathbf 1^\top \phi \le c} \lVert y - E\phi \rVert_2
        \quad (\phi = c\, b_{1:p}),

    which is the non-negative least squares problem whenever the bound
    :math:`\mathbf 1^\top\phi \le c` is inactive at the solution, i.e. whenever the slack
    :math:`b_{p+1} > 0`. Pixels where the slack vanishes are solved again with ``c`` multiplied
    by 4 until it is positive (at most ``max_rounds`` rounds).
    """
    Y = np.asarray(Y, dtype=np.float64)
    E = np.asarray(E, dtype=np.float64)
    L, p = E.shape
    N = Y.shape[1]
    if N == 0:
        return np.zeros((p, 0))
    # start from the size of the unconstrained least-squares solution
    ls = np.linalg.lstsq(E, Y, rcond=None)[0]
    c = 2.0 * max(float(np.abs(ls).sum(axis=0).max()), 1e-12)
    scale = float(np.sqrt(np.mean(E ** 2))) or 1.0
    Phi = np.zeros((p, N))
    todo = np.arange(N)
    Ea = np.hstack([E / scale, np.zeros((L, 1))])      # [c E, 0] and y both divided by c * scale
    for _ in range(max_rounds):
        B, _ = fcls(Y[:, todo] / (scale * c), Ea, dtype=np.float64)
        Phi[:, todo] = c * B[:p]
        slack = B[p]
        active = slack <= 1e-10
        if not active.any():
            return Phi
        todo = todo[active]
        c *= 4.0
    raise HysuppError("non-negative least squares: the scale bound stayed active; the endmembers may be "
                      "(nearly) linearly dependent")


def sclsu(Y: np.ndarray, E0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Scaled constrained least squares: abundances ``A`` ``(p, N)`` on the simplex and one scaling
    factor per pixel ``psi`` ``(N,)`` with ``Y[:, n] ~ psi[n] * E0 @ A[:, n]`` (float64).

    Pixels whose non-negative least-squares solution is zero (``psi = 0``, e.g. a zero pixel) get
    uniform abundances :math:`1/p`.
    """
    Phi = nonneg_least_squares(Y, E0)
    psi = Phi.sum(axis=0)
    p = Phi.shape[0]
    A = np.full_like(Phi, 1.0 / p)
    ok = psi > 0
    A[:, ok] = Phi[:, ok] / psi[ok]
    return A, psi


@register
class SCLSU(BlindUnmixer):
    r"""SCLSU: scaled constrained least squares unmixing with extracted reference endmembers.

    For reference endmembers :math:`E_0` (VCA on the image, as HySUPP does), every pixel is
    modelled as :math:`y_n = \psi_n E_0 a_n` and solved as

    .. math::

        \phi_n = \arg\min_{\phi \ge 0} \tfrac12\lVert y_n - E_0\phi\rVert_2^2,\quad
        \psi_n = \mathbf 1^\top\phi_n,\quad a_n = \phi_n/\psi_n

    (fully constrained least squares without the sum-to-one constraint, then normalised; the
    exact batched solver is :func:`nonneg_least_squares`). The returned endmembers are, as in
    HySUPP's wrapper, the pixel average of the scaled endmembers,
    :math:`\frac1N\sum_n \psi_n E_0 = \bar\psi E_0`. SCLSU is the initialisation and the baseline
    of ELMM (:class:`hysupp.unmixing.blind.elmm.ELMM`). HySUPP has no hyperparameter for it
    (``config/model/SCLSU.yaml``); the only ones here are VCA's seed and the dtype.

    Parameters
    ----------
    seed : int
        Seed of the VCA extraction of :math:`E_0`.
    dtype : {"float32", "float64"}
        Output dtype (the computation is float64).

    References
    ----------
    M. A. Veganzones, L. Drumetz, G. Tochon, M. Dalla Mura, A. Plaza, J. M. Bioucas-Dias,
    J. Chanussot, "A new extended linear mixing model to address spectral variability",
    WHISPERS 2014, doi:10.1109/WHISPERS.2014.8077595.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.methods import get_method
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 200).T; A[:, :3] = np.eye(3)
    >>> Y = E @ A * rng.uniform(0.8, 1.2, 200)            # per-pixel scaling
    >>> res = get_method("SCLSU", "blind")(dtype="float64").unmix(Y, 3)
    >>> res.abundances.shape, bool(np.allclose(res.abundances.sum(0), 1))
    ((3, 200), True)
    """

    name: ClassVar[str] = "SCLSU"
    stochastic: ClassVar[bool] = True
    scale_invariant: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("seed", int, 0, "seed of the VCA extraction of the reference endmembers"),
        Param("dtype", str, "float32", "output dtype (computation in float64)", choices=("float32", "float64")),
    )
    reference: ClassVar[str] = (
        "M. A. Veganzones, L. Drumetz, G. Tochon, M. Dalla Mura, A. Plaza, J. M. Bioucas-Dias, J. Chanussot, "
        "\"A new extended linear mixing model to address spectral variability\", WHISPERS 2014, "
        "doi:10.1109/WHISPERS.2014.8077595")

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Extract ``E0`` with VCA, then scaled least squares; see the class docstring."""
        from hysupp.unmixing.extractors.vca import VCA

        ext = VCA(seed=self.seed).extract(Y, p)
        E0 = np.asarray(ext.endmembers, dtype=np.float64)
        A, psi = sclsu(Y, E0)
        info: dict[str, Any] = {
            "method": self.name, "seed": self.seed, "extractor": "VCA", "vca_indices": ext.indices,
            "scaling_mean": float(psi.mean()), "scaling_min": float(psi.min()), "scaling_max": float(psi.max()),
            "dtype": self.dtype, "device": "cpu",
        }
        dt = np.dtype(self.dtype)
        return UnmixingResult(abundances=A.astype(dt), endmembers=(E0 * psi.mean()).astype(dt), info=info)

