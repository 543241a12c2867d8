r"""CNMF: coupled non-negative matrix factorisation of the HS and MS images."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.responses import resolve_responses
from hysupp.methods.base import FusionResult, HSMSFuser
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["CNMF"]

_TINY = 1e-12


def _update_abundances(Y: np.ndarray, E: np.ndarray, A: np.ndarray, n: int, delta: float) -> np.ndarray:
    """``n`` multiplicative updates of ``A`` for ``Y ~ E A`` with the sum-to-one row ``delta``."""
    Ea = np.vstack([E, np.full((1, E.shape[1]), delta)])
    Ya = np.vstack([Y, np.full((1, Y.shape[1]), delta)])
    EtY, EtE = Ea.T @ Ya, Ea.T @ Ea
    for _ in range(n):
        A *= EtY / np.maximum(EtE @ A, _TINY)
    return A


def _update_endmembers(Y: np.ndarray, E: np.ndarray, A: np.ndarray, n: int) -> np.ndarray:
    YAt, AAt = Y @ A.T, A @ A.T
    for _ in range(n):
        E *= YAt / np.maximum(E @ AAt, _TINY)
    return E


@register
class CNMF(HSMSFuser):
    r"""CNMF: the HS and MS images unmixed alternately with shared endmembers and abundances.

    With :math:`Y_h \approx E A_h` (HS grid) and :math:`Y_m \approx (R E) A` (MS grid),
    :math:`A_h = \mathcal D_r(g * A)`, CNMF alternates non-negative factorisations by
    Lee-Seung multiplicative updates (sum-to-one enforced softly by an extra row of weight
    ``delta`` on data and endmembers):

    1. HS: :math:`E` from VCA on :math:`Y_h`, then :math:`(E, A_h)` by NMF of :math:`Y_h`;
    2. MS: :math:`A` (initialised with :math:`A_h` interpolated) by NMF of :math:`Y_m` with
       :math:`E_m = R E` (first :math:`A` alone, then both);
    3. HS again: :math:`A_h = \mathcal D_r(g * A)` fixed, :math:`E` updated; back to 2 for
       ``outer_iter`` rounds.

    The fused image is :math:`\widehat X = E A`. ``srf`` (``(C, L)``) and ``psf`` are estimated
    from the pair when not given (:func:`hysupp.fusion.hsms.responses.resolve_responses`). The data
    must be non-negative: rounding-level negatives (down to ``-1e-6`` times the largest value,
    e.g. ``-1e-13`` left by an FFT blur) are set to 0 and counted in ``info["clipped_negatives"]``;
    genuinely negative data are refused.
    Defaults after Yokoya's code: 30 endmembers (capped by the bands and pixels), 300 initial
    and 200 inner updates, 2 outer rounds; ``delta`` (0.15) is relative to the mean data value,
    so the result does not depend on the data scale.

    References
    ----------
    N. Yokoya, T. Yairi, A. Iwasaki, "Coupled nonnegative matrix factorization unmixing for
    hyperspectral and multispectral data fusion", IEEE TGRS 50(2), 528-537, 2012,
    doi:10.1109/TGRS.2011.2161320.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> CNMF(n_endmembers=3, inner_iter=20, init_iter=20).fuse(rng.random((10, 8, 8)), rng.random((3, 32, 32)),
    ...                                                        ratio=4).fused.shape
    (10, 32, 32)
    """

    name: ClassVar[str] = "CNMF"
    stochastic: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("n_endmembers", int, 30, "number of endmembers (capped by the HS bands and pixels)", low=2),
        Param("init_iter", int, 300, "multiplicative updates of the initial HS factorisation", low=1),
        Param("inner_iter", int, 200, "multiplicative updates per HS/MS step", low=1),
        Param("outer_iter", int, 2, "outer HS/MS rounds", low=1),
        Param("delta", float, 0.15, "weight of the sum-to-one row, relative to the mean data value", low=0.0),
        Param("seed", int, 0, "seed of VCA's random projections"),
    )
    reference: ClassVar[str] = (
        "N. Yokoya, T. Yairi, A. Iwasaki, \"Coupled nonnegative matrix factorization unmixing for hyperspectral "
        "and multispectral data fusion\", IEEE TGRS 50(2), 2012, doi:10.1109/TGRS.2011.2161320")

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:
        from hysupp.methods.registry import get_method

        hs, n_hs = C.nonnegative(hs, "HS", "CNMF")
        ms, n_ms = C.nonnegative(ms, "MS", "CNMF")
        L, h, w = hs.shape
        Cb, H, W = ms.shape
        R, psf, rinfo = resolve_responses(hs, ms, ratio, srf, psf, method="CNMF")
        p = int(min(self.n_endmembers, L, h * w))
        Yh, Ym = hs.reshape(L, -1), ms.reshape(Cb, -1)
        dh, dm = self.delta * Yh.mean(), self.delta * Ym.mean()
        E = np.maximum(get_method("VCA", "extractor")(seed=self.seed).extract(Yh, p).endmembers.astype(np.float64),
                       _TINY)
        Ah = _update_abundances(Yh, E, np.full((p, h * w), 1.0 / p), self.init_iter, dh)
        E = _update_endmembers(Yh, E, Ah, self.init_iter)
        A = np.maximum(C.upsample(Ah.reshape(p, h, w), ratio).reshape(p, -1), _TINY)
        for _ in range(self.outer_iter):
            Em = np.maximum(R @ E, _TINY)
            A = _update_abundances(Ym, Em, A, self.inner_iter, dm)
            Em = _update_endmembers(Ym, Em, A, self.inner_iter)
            A = _update_abundances(Ym, Em, A, self.inner_iter, dm)
            Ah = np.maximum(C.degrade(A.reshape(p, H, W), ratio, psf).reshape(p, -1), _TINY)
            E = _update_endmembers(Yh, E, Ah, self.inner_iter)
        return C.finish("CNMF", (E @ A).reshape(L, H, W), hs, ms,
                        {**rinfo, "n_endmembers": p, "clipped_negatives": {"hs": n_hs, "ms": n_ms}})
