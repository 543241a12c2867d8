r"""GSA-HS: Gram-Schmidt adaptive pansharpening applied to groups of HS bands, one MS band as PAN."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.responses import resolve_responses
from hysupp.fusion.pansharpening.common import gs_inject
from hysupp.methods.base import FusionResult, HSMSFuser
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["GSA_HS", "group_bands"]


def group_bands(hs: np.ndarray, ms_lr: np.ndarray, srf: np.ndarray | None, rule: str = "auto") -> np.ndarray:
    r"""MS band assigned to each HS band ``(L,)``: the band of largest response :math:`R_{kl}` when
    the SRF covers HS band :math:`l` (``rule`` ``"srf"`` or ``"auto"`` with an SRF), else the MS band
    (degraded to the HS grid, ``ms_lr``) of highest correlation with it."""
    L = hs.shape[0]
    Cb = ms_lr.shape[0]
    a = hs.reshape(L, -1) - hs.reshape(L, -1).mean(1, keepdims=True)
    b = ms_lr.reshape(Cb, -1) - ms_lr.reshape(Cb, -1).mean(1, keepdims=True)
    corr = (a @ b.T) / np.maximum(np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None], 1e-300)
    groups = np.argmax(corr, axis=1)
    if rule in ("srf", "auto") and srf is not None:
        R = np.asarray(srf, dtype=np.float64)
        covered = R.max(axis=0) > 0
        groups = np.where(covered, np.argmax(R, axis=0), groups)
    elif rule == "srf":
        raise InputError("GSA-HS: grouping='srf' needs the MS spectral response (srf)")
    return groups


@register
class GSA_HS(HSMSFuser):
    r"""GSA-HS: each HS band is assigned to one MS band (the MS band whose spectral response
    covers it, or the most correlated one for bands outside every response), and within each group
    :math:`G_k` GSA pansharpening (Aiazzi et al. 2007) runs with MS band :math:`k` as the PAN:

    .. math::

        (w, b) = \arg\min \big\lVert \mathcal D_r(g * Y_{m,k}) - \bar Y_{m,k}
        - \textstyle\sum_{l\in G_k} w_l (Y_{h,l} - \bar Y_{h,l}) - b\big\rVert^2,\quad
        I = \textstyle\sum_{l\in G_k} w_l (\widetilde Y_{h,l} - \bar{\widetilde Y}_{h,l}) + b,

    :math:`\widehat X_l = \widetilde Y_{h,l} + g_l\,(Y_{m,k} - \bar Y_{m,k} - (I - \bar I))` with
    :math:`g_l = \operatorname{cov}(I, \widetilde Y_{h,l}) / \operatorname{var}(I)` and each band's
    mean restored (:math:`\widetilde Y_h`: the HS interpolated to the MS grid; the low-pass
    :math:`\mathcal D_r(g * \cdot)` is the HS PSF, estimated from the pair when not given; the
    ``"auto"`` grouping uses the SRF only when it is given). Linear in the data: a common scale of
    the HS and MS scales the result.

    References
    ----------
    N. Yokoya, C. Grohnfeldt, J. Chanussot, "Hyperspectral and multispectral data fusion: A
    comparative review of the recent literature", IEEE GRSM 5(2), 29-56, 2017,
    doi:10.1109/MGRS.2016.2637824; B. Aiazzi, S. Baronti, M. Selva, "Improving component
    substitution pansharpening through multivariate regression of MS+Pan data", IEEE TGRS
    45(10), 3230-3239, 2007, doi:10.1109/TGRS.2007.901007.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> GSA_HS().fuse(rng.random((10, 8, 8)), rng.random((3, 32, 32)), ratio=4).fused.shape
    (10, 32, 32)
    """

    name: ClassVar[str] = "GSA-HS"
    params: ClassVar[tuple[Param, ...]] = (
        Param("grouping", str, "auto", "HS band groups: by the SRF when given ('auto'), by the SRF ('srf') or "
              "by the highest correlation ('correlation')", choices=("auto", "srf", "correlation")),
    )
    reference: ClassVar[str] = (
        "N. Yokoya, C. Grohnfeldt, J. Chanussot, \"Hyperspectral and multispectral data fusion: A comparative "
        "review of the recent literature\", IEEE GRSM 5(2), 2017, doi:10.1109/MGRS.2016.2637824")

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:
        hs = np.asarray(hs, dtype=np.float64)
        ms = np.asarray(ms, dtype=np.float64)
        Cb = ms.shape[0]
        srf, psf, rinfo = resolve_responses(hs, ms, ratio, srf, psf, method="GSA-HS", need_srf=False)
        ms_lr = C.degrade(ms, ratio, psf)
        groups = group_bands(hs, ms_lr, srf, "correlation" if self.grouping == "correlation" else self.grouping)
        up = C.upsample(hs, ratio)
        fused = np.empty_like(up)
        weights: dict[int, list[float]] = {}
        for k in range(Cb):
            idx = np.flatnonzero(groups == k)
            if idx.size == 0:
                continue
            n = idx.size
            lr0 = hs[idx].reshape(n, -1) - hs[idx].reshape(n, -1).mean(1, keepdims=True)
            target = ms_lr[k].ravel() - ms_lr[k].mean()
            design = np.vstack([lr0, np.ones((1, lr0.shape[1]))])
            alpha, *_ = np.linalg.lstsq(design.T, target, rcond=None)
            M0 = up[idx] - up[idx].mean(axis=(1, 2), keepdims=True)
            I = (np.tensordot(alpha[:n], M0, axes=1) + alpha[n])[None]
            fused[idx], _ = gs_inject(up[idx], I, (ms[k] - ms[k].mean())[None])
            weights[k] = alpha.tolist()
        return C.finish("GSA-HS", fused, hs, ms, {**rinfo, "groups": groups.tolist(), "weights": weights})
