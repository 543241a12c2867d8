r"""Hypersharpening: one synthetic PAN per HS band from the MS bands, then MRA detail injection.

For every HS band :math:`l`, non-negative weights :math:`w_l` regress the band on the MS bands
degraded to the HS grid, :math:`w_l = \arg\min_{w \ge 0} \lVert Y_{h,l} - \sum_k w_k
\mathcal D_r(g * Y_{m,k})\rVert^2`, and :math:`P_l = \sum_k w_{lk} Y_{m,k}` is the band's
synthetic PAN (Selva et al. 2015). The details :math:`P_l - P_l^{LP}` are injected into the
interpolated HS :math:`\widetilde Y_{h,l}` with the band's regression gain (GLP-HS) or by
modulation (SFIM-HS), :math:`P_l^{LP}` being the PSF-matched low-pass of :math:`P_l`
(degraded and re-interpolated, the generalised Laplacian pyramid with the HS PSF).

References: M. Selva, B. Aiazzi, F. Butera, L. Chiarantini, S. Baronti, "Hyper-sharpening: A
first approach on SIM-GA data", IEEE JSTARS 8(6), 3008-3024, 2015,
doi:10.1109/JSTARS.2015.2440092; N. Yokoya, C. Grohnfeldt, J. Chanussot, "Hyperspectral and
multispectral data fusion: A comparative review of the recent literature", IEEE GRSM 5(2),
29-56, 2017, doi:10.1109/MGRS.2016.2637824.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.fusion.hsms import common as C
from hysupp.methods.base import FusionResult, HSMSFuser
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["GLP_HS", "SFIM_HS"]

_REF = ("M. Selva, B. Aiazzi, F. Butera, L. Chiarantini, S. Baronti, \"Hyper-sharpening: A first approach on "
        "SIM-GA data\", IEEE JSTARS 8(6), 2015, doi:10.1109/JSTARS.2015.2440092")


def synthetic_pans(hs: np.ndarray, ms: np.ndarray, ratio: int, psf: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-band non-negative regression weights ``W`` ``(L, C)`` and synthetic PANs ``(L, H, W)``."""
    from scipy.optimize import nnls

    Cb = ms.shape[0]
    A = C.degrade(ms, ratio, psf).reshape(Cb, -1).T
    W = np.stack([nnls(A, band, maxiter=50 * Cb)[0] for band in hs.reshape(hs.shape[0], -1)])
    return W, np.tensordot(W, ms, axes=1)


class _Hypersharpening(HSMSFuser):
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = _REF

    def _details(self, hs: np.ndarray, ms: np.ndarray, ratio: int, psf: Any):
        W, P = synthetic_pans(hs, ms, ratio, psf)
        P_lp = C.upsample(C.degrade(P, ratio, psf), ratio)
        return C.upsample(hs, ratio), P, P_lp, {"weights": W.tolist()}


@register
class GLP_HS(_Hypersharpening):
    r"""GLP-HS: hypersharpening with additive GLP injection,
    :math:`\widehat X_l = \widetilde Y_{h,l} + g_l (P_l - P_l^{LP})`,
    :math:`g_l = \operatorname{cov}(\widetilde Y_{h,l}, P_l^{LP}) / \operatorname{var}(P_l^{LP})`
    (module docstring for :math:`P_l`, :math:`P_l^{LP}`). ``psf`` defaults to a Gaussian of FWHM
    ``ratio``; the SRF is not needed (the weights are regressed).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> GLP_HS().fuse(rng.random((10, 8, 8)), rng.random((3, 32, 32)), ratio=4).fused.shape
    (10, 32, 32)
    """

    name: ClassVar[str] = "GLP-HS"

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:
        from hysupp.fusion.pansharpening.common import covariance_gain

        up, P, P_lp, info = self._details(hs, ms, ratio, psf)
        g = covariance_gain(up, P_lp)
        return FusionResult(fused=up + g[:, None, None] * (P - P_lp), info={**info, "gains": g.tolist()})


@register
class SFIM_HS(_Hypersharpening):
    r"""SFIM-HS: hypersharpening with modulation,
    :math:`\widehat X_l = \widetilde Y_{h,l}\, P_l / (P_l^{LP} + \epsilon)` (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> SFIM_HS().fuse(1 + rng.random((10, 8, 8)), 1 + rng.random((3, 32, 32)), ratio=4).fused.shape
    (10, 32, 32)
    """

    name: ClassVar[str] = "SFIM-HS"

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:
        up, P, P_lp, info = self._details(hs, ms, ratio, psf)
        eps = np.finfo(np.float64).eps
        return FusionResult(fused=up * (P / (P_lp + eps)), info=info)
