r"""FUSE: fast fusion of multi-band images by solving a Sylvester equation in closed form."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.responses import resolve_responses
from hysupp.methods.base import FusionResult, HSMSFuser
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["FUSE", "solve_fuse"]


def solve_fuse(hs: np.ndarray, ms: np.ndarray, ratio: int, srf: np.ndarray, kernel: np.ndarray, *,
               lam: float, dim: int, offset: int) -> np.ndarray:
    r"""Closed-form minimiser of (module docstring of :class:`FUSE`) on a periodic grid."""
    L, h, w = hs.shape
    Cb, H, W = ms.shape
    d = ratio * ratio
    E = C.subspace(hs, dim)                                        # (L, dim)
    D = C.kernel_fft(kernel, (H, W), offset)                        # (H, W)
    # right-hand side C3 = E^T Y_h S^T B^T + E^T R^T Y_m + lam * prior, in Fourier per row
    zf = np.zeros((L, H, W))
    zf[:, ::ratio, ::ratio] = hs
    prior = E.T @ C.upsample(hs, ratio).reshape(L, -1)
    rhs = (np.conj(D)[None] * np.fft.fft2((E.T @ zf.reshape(L, -1)).reshape(dim, H, W))
           + np.fft.fft2((E.T @ srf.T @ ms.reshape(Cb, -1) + lam * prior).reshape(dim, H, W)))
    # C1 = E^T R^T R E + lam I = Q diag(mu) Q^T
    mu, Q = np.linalg.eigh(E.T @ srf.T @ srf @ E + lam * np.eye(dim))
    if mu.min() <= 0:
        raise InputError("FUSE: the system is singular; use lam > 0")
    c = np.tensordot(Q.T, rhs, axes=1)                             # (dim, H, W)
    # per eigenvalue and alias group: u = (c - conj(D) t / (mu d + sum |D|^2)) / mu, t = sum D c
    Dg = D.reshape(ratio, h, ratio, w)
    cg = c.reshape(dim, ratio, h, ratio, w)
    t = (Dg[None] * cg).sum(axis=(1, 3))                           # (dim, h, w)
    denom = mu[:, None, None] * d + (np.abs(Dg) ** 2).sum(axis=(0, 2))[None]
    u = (cg - np.conj(Dg)[None] * (t / denom)[:, None, :, None, :]) / mu[:, None, None, None, None]
    U = np.real(np.fft.ifft2(u.reshape(dim, H, W)))
    return (E @ np.tensordot(Q, U, axes=1).reshape(dim, -1)).reshape(L, H, W)


@register
class FUSE(HSMSFuser):
    r"""FUSE: Sylvester-equation fusion with a Gaussian prior, in the HS signal subspace.

    With :math:`X = E U` (:math:`E`: the first ``subspace_dim`` left singular vectors of the HS
    pixels; by default one more than the number of MS bands, since the directions beyond what the
    MS bands see are only interpolated — on the Pavia pair 5 gives 42.4 dB PSNR, 10 gives 34.2), blur :math:`B` (circulant, the HS PSF) and decimation :math:`S`,

    .. math::

        \min_U \tfrac12\lVert Y_h - E U B S\rVert_F^2 + \tfrac12\lVert Y_m - R E U\rVert_F^2
        + \tfrac{\lambda}2 \lVert U - \bar U\rVert_F^2 ,

    with :math:`\bar U = E^\top \mathcal I(Y_h)` the interpolated HS (the naive Gaussian prior of
    the paper, unit noise covariances). Its normal equation is the Sylvester equation
    :math:`C_1 U + U C_2 = C_3` with :math:`C_1 = E^\top R^\top R E + \lambda I`,
    :math:`C_2 = B S S^\top B^\top`, solved in closed form: :math:`C_1 = Q\,\mathrm{diag}(\mu)Q^\top`
    and, in the Fourier domain where :math:`B` is diagonal (:math:`D`) and :math:`SS^\top`
    couples the :math:`d = r^2` aliases of each low-resolution frequency,

    .. math::

        \hat u_l(\omega) = \frac{1}{\mu_l}\Big(\hat c_l(\omega) - \overline{D(\omega)}
        \frac{\sum_{a} D(\omega_a)\hat c_l(\omega_a)}{\mu_l d + \sum_a |D(\omega_a)|^2}\Big).

    ``srf`` is the ``(C, L)`` MS response and ``psf`` the HS PSF, both estimated from the pair when
    None (:func:`hysupp.fusion.hsms.responses.resolve_responses`); the model is periodic (image
    borders wrap). The decimation phase is the simulator's (pixel ``ratio // 2`` of each block).
    Every term is quadratic in the data and the basis orthonormal, so a common scale of the HS
    and MS scales the result and changes nothing else (no normalisation needed).

    References
    ----------
    Q. Wei, N. Dobigeon, J.-Y. Tourneret, "Fast fusion of multi-band images based on solving a
    Sylvester equation", IEEE TIP 24(11), 4109-4121, 2015, doi:10.1109/TIP.2015.2458572.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> FUSE(subspace_dim=3).fuse(rng.random((6, 8, 8)), rng.random((2, 32, 32)), ratio=4).fused.shape
    (6, 32, 32)
    """

    name: ClassVar[str] = "FUSE"
    params: ClassVar[tuple[Param, ...]] = (
        Param("lam", float, 1e-3, "weight of the Gaussian prior (interpolated HS) in the subspace", low=0.0),
        Param("subspace_dim", int, None, "dimension of the HS signal subspace; default the number of MS bands + 1 "
              "(the directions the MS can sharpen, plus one)", low=1, optional=True),
    )
    reference: ClassVar[str] = (
        "Q. Wei, N. Dobigeon, J.-Y. Tourneret, \"Fast fusion of multi-band images based on solving a Sylvester "
        "equation\", IEEE TIP 24(11), 2015, doi:10.1109/TIP.2015.2458572")

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:
        R, psf, rinfo = resolve_responses(hs, ms, ratio, srf, psf, method="FUSE")
        dim = min(self.subspace_dim or ms.shape[0] + 1, hs.shape[0])
        fused = solve_fuse(hs, ms, ratio, R, C.psf_kernel(psf, ratio), lam=self.lam, dim=dim, offset=ratio // 2)
        return C.finish("FUSE", fused, hs, ms, {**rinfo, "subspace_dim": dim})
