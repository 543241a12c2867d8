r"""Hypersharpening: one synthetic PAN per HS band from the MS bands, then MRA detail injection.

For every HS band :math:`l`, non-negative weights :math:`w_l` regress the band on the MS bands
degraded to the HS grid, :math:`w_l = \arg\min_{w \ge 0} \lVert Y_{h,l} - \sum_k w_k
\mathcal D_r(g * Y_{m,k})\rVert^2`, and :math:`P_l = \sum_k w_{lk} Y_{m,k}` is the band's
synthetic PAN (Selva et al. 2015). The details :math:`P_l - P_l^{LP}` are injected into the
interpolated HS :math:`\widetilde Y_{h,l}` with the band's regression gain (GLP-HS) or by
modulation (SFIM-HS), :math:`P_l^{LP}` being the PSF-matched low-pass of :math:`P_l`
(degraded and re-interpolated, the generalised Laplacian pyramid with the HS PSF). The SRF is
not needed (the weights are regressed); the PSF is estimated from the pair when not given
(:func:`hysupp.fusion.hsms.responses.resolve_responses`). Both methods are invariant to a common
scale of the HS and MS (GLP-HS is linear in them, SFIM-HS a ratio; its guard :math:`\epsilon`
is relative to :func:`~hysupp.fusion.hsms.common.data_scale`).

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
from hysupp.fusion.hsms.responses import resolve_responses
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

    def _details(self, hs: np.ndarray, ms: np.ndarray, ratio: int, srf: Any, psf: Any):
        _, psf, rinfo = resolve_responses(hs, ms, ratio, srf, psf, method=self.name, need_srf=False)
        W, P = synthetic_pans(hs, ms, ratio, psf)
        P_lp = C.upsample(C.degrade(P, ratio, psf), ratio)
        return hs, ms, C.upsample(hs, ratio), P, P_lp, {**rinfo, "weights": W.tolist()}


@register
class GLP_HS(_Hypersharpening):
    r"""GLP-HS: hypersharpening with additive GLP injection,
    :math:`\widehat X_l = \widetilde Y_{h,l} + g_l (P_l - P_l^{LP})`,
    :math:`g_l = \operatorname{cov}(\widetilde Y_{h,l}, P_l^{LP}) / \operatorname{var}(P_l^{LP})`
    (module docstring for :math:`P_l`, :math:`P_l^{LP}`).

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

        hs, ms, up, P, P_lp, info = self._details(hs, ms, ratio, srf, psf)
        g = covariance_gain(up, P_lp)
        return C.finish(self.name, up + g[:, None, None] * (P - P_lp), hs, ms, {**info, "gains": g.tolist()})


@register
class SFIM_HS(_Hypersharpening):
    r"""SFIM-HS: hypersharpening with modulation,
    :math:`\widehat X_l = \widetilde Y_{h,l}\, P_l / (P_l^{LP} + \epsilon)` (module docstring;
    :math:`\epsilon` is the float64 machine epsilon times the data scale).

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
        hs, ms, up, P, P_lp, info = self._details(hs, ms, ratio, srf, psf)
        eps = np.finfo(np.float64).eps * C.data_scale(hs, ms)
        return C.finish(self.name, up * (P / (P_lp + eps)), hs, ms, info)
