r"""Morphological-pyramid pansharpening (MF, half-gradient operator)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hysupp.fusion.pansharpening import common as C
from hysupp.fusion.pansharpening.mra import MRAPansharpener
from hysupp.methods.base import FusionResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["MF"]

_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)


def half_gradient_pyramid_lowpass(x: np.ndarray, levels: int) -> np.ndarray:
    r"""Coarsest level of the half-gradient morphological pyramid, resized back to ``x``'s grid.

    Each level applies :math:`\psi(I) = \tfrac12(\delta_B I + \varepsilon_B I)` (``B`` the 3 x 3
    cross; :math:`I - \tfrac12(\rho^- - \rho^+)` with the half gradients :math:`\rho^- = I -
    \varepsilon_B I`, :math:`\rho^+ = \delta_B I - I`), keeps every second pixel (phase 1 at
    the first level, 0 after, as ``Pyr_Dec.m``), and the result is brought back level by level with
    bilinear ``imresize`` to the exact size of the level above (a factor 2 for even sizes; any
    size otherwise, so every ratio works, as the toolbox's ``ceil(log2(ratio))`` levels).
    ``x`` ``(L, H, W)``; ``levels`` = number of decimations.
    """
    from scipy.ndimage import grey_dilation, grey_erosion

    cur = np.asarray(x, dtype=np.float64)
    sizes = []
    for lev in range(levels):
        sizes.append(cur.shape[-2:])
        ps = np.stack([0.5 * (grey_dilation(b, footprint=_CROSS, mode="nearest")
                              + grey_erosion(b, footprint=_CROSS, mode="nearest")) for b in cur])
        cur = ps[:, 1::2, 1::2] if lev == 0 else ps[:, 0::2, 0::2]
    for shape in reversed(sizes):
        cur = _resize_bilinear(cur, shape)
    return cur


def _resize_bilinear(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    r"""MATLAB ``imresize(x, shape, 'bilinear')`` when enlarging, on the last two axes: output pixel
    ``i`` at input position :math:`u = (i + 1/2)\,n_{in}/n_{out} - 1/2`, linear weights, edge samples
    replicated. For a factor 2, output ``2k`` is ``0.75 x[k] + 0.25 x[k-1]`` and ``2k+1`` is
    ``0.75 x[k] + 0.25 x[k+1]``."""
    for ax, n_out in zip((-2, -1), shape):
        x = np.moveaxis(x, ax, -1)
        n_in = x.shape[-1]
        u = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        j0 = np.floor(u).astype(np.int64)
        f = u - j0
        lo, hi = np.clip(j0, 0, n_in - 1), np.clip(j0 + 1, 0, n_in - 1)
        x = np.moveaxis(x[..., lo] * (1.0 - f) + x[..., hi] * f, -1, ax)
    return x


@register
class MF(MRAPansharpener):
    r"""MF: morphological-filter pansharpening with the half-gradient pyramid (high-pass modulation).

    .. math::

        \widehat M_l = \widetilde M_l \, \frac{P_l}{\Psi(P_l) + \epsilon},\qquad
        P_l = (P - \mu_P)\,\frac{\sigma_{\widetilde M_l}}{\sigma_P} + \mu_{\widetilde M_l},

    where :math:`\widetilde M` is the interp23tap-expanded MS, :math:`\Psi` the coarsest level of
    a morphological pyramid with :math:`\lceil \log_2 r \rceil` dyadic levels (any ratio, as the
    toolbox), each the half-gradient filter :math:`\psi(I) = \tfrac12(\delta_B I + \varepsilon_B I)`
    (dilation and erosion by the 3 x 3 cross :math:`B`) followed by a factor-2 decimation,
    interpolated back to the PAN grid with bilinear interpolation
    (:func:`half_gradient_pyramid_lowpass`). Because
    dilation, erosion, decimation and bilinear interpolation commute with increasing affine maps,
    :math:`\Psi(P_l) = a_l \Psi(P) + b_l` and the pyramid is computed once on the PAN.
    Defaults as the toolbox's ``MF_HG_Pansharpen.m``.

    References
    ----------
    R. Restaino, G. Vivone, M. Dalla Mura, J. Chanussot, "Fusion of multispectral and panchromatic
    images based on morphological operators", IEEE TIP 25(6), 2882-2895, 2016,
    doi:10.1109/TIP.2016.2556944.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> MF().fuse(1 + rng.random((4, 8, 8)), 1 + rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "MF"
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = (
        "R. Restaino, G. Vivone, M. Dalla Mura, J. Chanussot, \"Fusion of multispectral and panchromatic images "
        "based on morphological operators\", IEEE TIP 25(6), 2016, doi:10.1109/TIP.2016.2556944")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        a = C.std2(ms_up) / max(float(C.std2(pan)[0]), C.EPS)
        b = C.mean2(ms_up) - a * pan.mean()
        low = half_gradient_pyramid_lowpass(pan, C.levels(ratio))
        P = pan * a[:, None, None] + b[:, None, None]
        P_lp = low * a[:, None, None] + b[:, None, None]
        return FusionResult(fused=ms_up * (P / (P_lp + C.EPS)), info={"levels": C.levels(ratio)})
