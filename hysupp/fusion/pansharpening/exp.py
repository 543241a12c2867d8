"""EXP: the MS interpolated to the PAN grid, the baseline every pansharpening method must beat."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hysupp.fusion.pansharpening.common import expand
from hysupp.methods.base import FusionResult, Pansharpener
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["EXP"]


@register
class EXP(Pansharpener):
    r"""EXP: interpolation of the MS to the PAN grid with the 23-tap polynomial kernel (no PAN).

    :math:`\widehat{M} = \widetilde{M} = \mathcal I_{23}(M)`, the ``interp23tap`` expansion of
    Aiazzi et al. (2002) used as the reference interpolation by the pansharpening toolbox
    (circular borders, toolbox phase; :func:`hysupp.physics.sampling.interp23tap`). Any integer
    ratio: the toolbox's dyadic cascade for powers of two, the 12-point Lagrange interpolator of
    the same order otherwise.

    References
    ----------
    B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, "Context-driven fusion of high spatial and
    spectral resolution images based on oversampled multiresolution analysis", IEEE TGRS 40(10),
    2300-2312, 2002, doi:10.1109/TGRS.2002.803623.

    Examples
    --------
    >>> import numpy as np
    >>> ms, pan = np.ones((3, 4, 4)), np.zeros((16, 16))
    >>> out = EXP().fuse(ms, pan, ratio=4).fused
    >>> out.shape, bool(np.allclose(out, 1.0))
    ((3, 16, 16), True)
    """

    name: ClassVar[str] = "EXP"
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = (
        "B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, \"Context-driven fusion of high spatial and spectral "
        "resolution images based on oversampled multiresolution analysis\", IEEE TGRS 40(10), 2002, "
        "doi:10.1109/TGRS.2002.803623")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        return FusionResult(fused=expand(ms, ratio), info={"interpolation": "interp23tap" if ratio & (ratio - 1) == 0
                                                           else "lagrange-12"})
