r"""Indusion: pansharpening by induction scaling (Khan, Chanussot, Condat, Montanvert 2008)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hysupp.fusion.pansharpening import common as C
from hysupp.fusion.pansharpening.mra import MRAPansharpener
from hysupp.methods.base import FusionResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["Indusion", "cdf97_down2", "cdf97_up2"]

# Cohen-Daubechies-Feauveau 9/7 low-pass filters: analysis (9 taps, unit DC gain) and synthesis (7 taps,
# DC gain 2, i.e. unit gain on each polyphase component after zero insertion).
CDF97_ANALYSIS = np.array([0.026748757411, -0.016864118443, -0.078223266529, 0.266864118443, 0.602949018236,
                           0.266864118443, -0.078223266529, -0.016864118443, 0.026748757411])
CDF97_SYNTHESIS = np.array([-0.091271763114, -0.057543526229, 0.591271763114, 1.115087052457, 0.591271763114,
                            -0.057543526229, -0.091271763114])


def _filt(x: np.ndarray, h: np.ndarray, axis: int) -> np.ndarray:
    from scipy.ndimage import convolve1d

    return convolve1d(x, h, axis=axis, mode="mirror")


def cdf97_down2(x: np.ndarray, phase: int = 0) -> np.ndarray:
    """Analysis low-pass (symmetric borders) and decimation by 2 (keeping ``phase::2``) on the last two axes."""
    y = _filt(_filt(x, CDF97_ANALYSIS, -1), CDF97_ANALYSIS, -2)
    return y[..., phase::2, phase::2]


def cdf97_up2(x: np.ndarray, phase: int = 0) -> np.ndarray:
    """Zero insertion (samples at ``phase::2``) and synthesis low-pass on the last two axes."""
    z = np.zeros(x.shape[:-2] + (2 * x.shape[-2], 2 * x.shape[-1]))
    z[..., phase::2, phase::2] = x
    return _filt(_filt(z, CDF97_SYNTHESIS, -1), CDF97_SYNTHESIS, -2)


def _phases(J: int) -> list[int]:
    """Per dyadic level, fine to coarse, the polyphase kept so that MS pixel ``k`` sits at PAN pixel
    ``r k + r/2`` (the toolbox grid of ``interp23tap`` and ``imresize(., 1/r, 'nearest')``): only the
    coarsest step is odd."""
    return [0] * (J - 1) + [1]


@register
class Indusion(MRAPansharpener):
    r"""Indusion: induction scaling with CDF 9/7 filters, details of the PAN added to the upscaled MS.

    For a dyadic ratio :math:`r = 2^J`, with :math:`\mathcal D` (analysis low-pass and decimation
    by 2) and :math:`\mathcal U` (zero insertion and synthesis low-pass) the Cohen-Daubechies-Feauveau
    9/7 biorthogonal pair (:func:`cdf97_down2`, :func:`cdf97_up2`; polyphases chosen so that MS
    pixel :math:`k` sits at PAN pixel :math:`rk + r/2`, the toolbox grid), and :math:`P_l` the PAN
    equalised to band :math:`l` of the MS (mean and standard deviation):

    .. math::

        \widehat M_l = \mathcal U^J M_l + \big(P_l - \mathcal U^J \mathcal D^J P_l\big).

    Induction (Khan et al.) scales the MS so that the decimated fused image is consistent with
    the MS; with linear filters it reduces to adding the PAN's high frequencies that the
    :math:`\mathcal D^J`/:math:`\mathcal U^J` filter bank removes to the MS upscaled by the same
    synthesis filters. No hyperparameters.

    References
    ----------
    M. M. Khan, J. Chanussot, L. Condat, A. Montanvert, "Indusion: fusion of multispectral and
    panchromatic images using the induction scaling technique", IEEE GRSL 5(1), 98-102, 2008,
    doi:10.1109/LGRS.2007.909934.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> out = Indusion().fuse(np.full((2, 8, 8), 5.0), rng.random((32, 32)), ratio=4).fused
    >>> out.shape, bool(np.allclose(out.mean(), 5.0, atol=0.05))
    ((2, 32, 32), True)
    """

    name: ClassVar[str] = "Indusion"
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = (
        "M. M. Khan, J. Chanussot, L. Condat, A. Montanvert, \"Indusion: fusion of multispectral and panchromatic "
        "images using the induction scaling technique\", IEEE GRSL 5(1), 2008, doi:10.1109/LGRS.2007.909934")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        C.check_ratio_power_of_two(ratio, self.name)
        J = C.levels(ratio)
        a = C.std2(ms) / max(float(C.std2(pan)[0]), C.EPS)
        ph = _phases(J)
        low = pan
        for p in ph:
            low = cdf97_down2(low, p)
        for p in reversed(ph):
            low = cdf97_up2(low, p)
        up = ms
        for p in reversed(ph):
            up = cdf97_up2(up, p)
        fused = up + a[:, None, None] * (pan - low)       # P_l - U^J D^J P_l = a_l (P - U^J D^J P)
        return FusionResult(fused=fused, info={"levels": J})
