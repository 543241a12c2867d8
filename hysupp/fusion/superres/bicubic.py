r"""Shift-free bicubic interpolation (the reference of the super-resolution task)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import FusionResult, SuperResolver
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["Bicubic"]


@register
class Bicubic(SuperResolver):
    r"""Keys bicubic interpolation on the decimation grid (shift-free).

    Each band is interpolated separably with the cubic convolution kernel of Keys (1981),

    .. math::
        \hat x(t) = \sum_k y_k\, u(t - k),\quad
        u(s) = \begin{cases} (a+2)|s|^3 - (a+3)|s|^2 + 1 & |s| \le 1\\
        a|s|^3 - 5a|s|^2 + 8a|s| - 4a & 1 < |s| < 2\\ 0 & \text{else}\end{cases}

    with :math:`a = -0.5`, low-resolution sample :math:`k` placed on high-resolution pixel
    :math:`r k + \lfloor r/2 \rfloor`, the phase of :class:`hysupp.physics.sampling.Decimation`
    ``"center"`` used by the observation model (:mod:`hysupp.fusion.superres.common`), so that
    decimating the interpolated image returns the input exactly (Aiazzi et al. 2013 call this a
    shift-free interpolation for odd-length filters). The kernel reproduces polynomials up to degree
    2 exactly away from the borders (mirror borders, ``symmetric``). The PSF is ignored.
    Uses :func:`hysupp.physics.sampling.Upsampling`.

    References
    ----------
    R. Keys, "Cubic convolution interpolation for digital image processing", IEEE TASSP 29(6),
    1153-1160, 1981, doi:10.1109/TASSP.1981.1163711.
    B. Aiazzi, S. Baronti, M. Selva, L. Alparone, "Bi-cubic interpolation for shift-free
    pan-sharpening", ISPRS J. Photogramm. Remote Sens. 86, 65-76, 2013,
    doi:10.1016/j.isprsjprs.2013.09.007.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp.physics.sampling import Decimation
    >>> y = np.random.default_rng(0).random((3, 8, 8))
    >>> x = Bicubic().super_resolve(y, ratio=2).fused
    >>> x.shape, bool(np.allclose(Decimation(2, "center")(x), y))
    ((3, 16, 16), True)
    """

    name: ClassVar[str] = "Bicubic"
    params: ClassVar[tuple[Param, ...]] = (
        Param("a", float, -0.5, "Keys parameter (-0.5: MATLAB imresize; -0.75: PyTorch)", low=-1.0, high=0.0),
        Param("border", str, "symmetric", "border extension", choices=("symmetric", "replicate", "reflect",
                                                                         "circular")),
    )
    reference: ClassVar[str] = ("R. Keys, \"Cubic convolution interpolation for digital image processing\", IEEE "
                                "TASSP 29(6), 1981, doi:10.1109/TASSP.1981.1163711")

    def _super_resolve(self, cube: np.ndarray, *, ratio: int, psf: Any = None) -> FusionResult:
        from hysupp.physics.sampling import Upsampling

        up = Upsampling(ratio, "bicubic", phase=ratio // 2, mode=self.border, a=self.a)
        fused = np.asarray(up(cube.astype(np.float64, copy=False)), dtype=np.float64)
        return FusionResult(fused=fused, info={"interpolation": up.to_dict()})
