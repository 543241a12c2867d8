r"""Multiresolution-analysis (MRA) pansharpening: detail injection :math:`\widehat M_l = \widetilde M_l
+ g_l\,(P_l - P_l^{LP})` (or the multiplicative form :math:`\widetilde M_l P_l / P_l^{LP}`).

:math:`\widetilde M` is the MS expanded to the PAN grid (:func:`.common.expand`), :math:`P_l` the
PAN equalised to band :math:`l` (mean and standard deviation), :math:`P^{LP}` a low-pass PAN
that differs from method to method (box filter, undecimated wavelet, MTF-matched generalised
Laplacian pyramid). Formulas and defaults follow Vivone et al., IEEE TGRS 2015
(doi:10.1109/TGRS.2014.2361734) and IEEE GRSM 2021 (doi:10.1109/MGRS.2020.3019315).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hysupp.fusion.pansharpening import common as C
from hysupp.methods.base import FusionResult, Pansharpener
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["ATWT", "AWLP", "HPF", "MRAPansharpener", "MTF_GLP", "MTF_GLP_CBD", "MTF_GLP_FS", "MTF_GLP_HPM", "SFIM"]

_VIVONE_2015 = ("G. Vivone et al., \"A critical comparison among pansharpening algorithms\", IEEE TGRS 53(5), "
                "2565-2586, 2015, doi:10.1109/TGRS.2014.2361734")


class MRAPansharpener(Pansharpener):
    """Shared input handling: float cubes, the ratio, the expanded MS."""

    def _prepare(self, ms: np.ndarray, pan: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        return ms, pan, ratio, C.expand(ms, ratio)


def box_size(ratio: int) -> int:
    """Side of the HPF/SFIM box low-pass: the smallest odd size not below the ratio, so the box is
    centred on a pixel (shift-free): ``ratio + 1`` for even ratios (the toolbox's ``ratio + 1`` at
    its ratios 2, 4, 8), ``ratio`` for odd ones (an even box, as ``fspecial('average', ratio + 1)``
    would give, has no centre pixel and shifts the details by half a pixel)."""
    return 2 * (int(ratio) // 2) + 1


class _BoxMRA(MRAPansharpener):
    """HPF / SFIM: PAN equalised to each band by its own std, box low-pass of :func:`box_size` pixels."""

    multiplicative: ClassVar[bool] = False

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        P = C.match_pan(pan, ms_up)
        size = box_size(ratio)
        P_lp = C.box_lowpass(P, size)
        fused = ms_up * (P / (P_lp + C.EPS)) if self.multiplicative else ms_up + P - P_lp
        return FusionResult(fused=fused, info={"lowpass": f"box {size} x {size}"})


@register
class HPF(_BoxMRA):
    r"""HPF: high-pass filtering, :math:`\widehat M_l = \widetilde M_l + P_l - B_{r+1} * P_l`.

    :math:`P_l` is the PAN matched to :math:`\widetilde M_l` (mean, std) and :math:`B_{r+1}` the
    :math:`(r+1)\times(r+1)` box filter (replicate borders) for even ratios, :math:`r \times r` for
    odd ones (:func:`box_size`: the box stays centred).

    References
    ----------
    P. S. Chavez Jr., S. C. Sides, J. A. Anderson, "Comparison of three different methods to merge
    multiresolution and multispectral data: Landsat TM and SPOT panchromatic", PE&RS 57(3), 295-303,
    1991; Vivone et al. 2015, doi:10.1109/TGRS.2014.2361734.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> HPF().fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "HPF"
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = ("P. S. Chavez Jr., S. C. Sides, J. A. Anderson, PE&RS 57(3), 295-303, 1991; "
                                + _VIVONE_2015)


@register
class SFIM(_BoxMRA):
    r"""SFIM: smoothing-filter-based intensity modulation,
    :math:`\widehat M_l = \widetilde M_l \, P_l / (B_{r+1} * P_l)` (box of :func:`box_size`, as HPF).

    References
    ----------
    J. G. Liu, "Smoothing filter-based intensity modulation: a spectral preserve image fusion
    technique for improving spatial details", Int. J. Remote Sens. 21(18), 3461-3472, 2000,
    doi:10.1080/014311600750037499.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> SFIM().fuse(1 + rng.random((4, 8, 8)), 1 + rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "SFIM"
    params: ClassVar[tuple[Param, ...]] = ()
    multiplicative: ClassVar[bool] = True
    reference: ClassVar[str] = ("J. G. Liu, \"Smoothing filter-based intensity modulation\", Int. J. Remote Sens. "
                                "21(18), 3461-3472, 2000, doi:10.1080/014311600750037499")


@register
class ATWT(MRAPansharpener):
    r"""ATWT: additive injection of the undecimated wavelet details of the PAN,
    :math:`\widehat M_l = \widetilde M_l + P_l - W_J(P_l)`.

    :math:`W_J` keeps the approximation of a :math:`J = \lceil\log_2 r\rceil`-level undecimated
    separable transform with the B3-spline filter :math:`[1, 4, 6, 4, 1]/16`
    (:func:`.common.ndwt_lowpass`, the toolbox's ``ndwt2_working``/``indwt2_working``);
    :math:`P_l` is the PAN matched to each band (mean, std).

    References
    ----------
    J. Núñez, X. Otazu, O. Fors, A. Prades, V. Palà, R. Arbiol, "Multiresolution-based image fusion
    with additive wavelet decomposition", IEEE TGRS 37(3), 1204-1211, 1999, doi:10.1109/36.763274.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ATWT().fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "ATWT"
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = (
        "J. Nunez, X. Otazu, O. Fors, A. Prades, V. Pala, R. Arbiol, \"Multiresolution-based image fusion with "
        "additive wavelet decomposition\", IEEE TGRS 37(3), 1999, doi:10.1109/36.763274")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        P = C.match_pan(pan, ms_up)
        n = C.levels(ratio)
        return FusionResult(fused=ms_up + P - C.ndwt_lowpass(P, n), info={"levels": n})


@register
class AWLP(MRAPansharpener):
    r"""AWLP: additive wavelet luminance proportional,
    :math:`\widehat M_l = \widetilde M_l + \frac{\widetilde M_l}{\frac1L\sum_k \widetilde M_k}
    \big(P_l - W_J(P_l)\big)`.

    :math:`P_l` is matched to band :math:`l` with the standard deviation of the PAN degraded and
    re-expanded by bicubic ``imresize`` (as the toolbox), :math:`W_J` the undecimated B3-spline
    approximation of :class:`ATWT`.

    References
    ----------
    X. Otazu, M. González-Audícana, O. Fors, J. Núñez, "Introduction of sensor spectral response
    into image fusion methods. Application to wavelet-based methods", IEEE TGRS 43(10), 2376-2385,
    2005, doi:10.1109/TGRS.2005.856106.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> AWLP().fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "AWLP"
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = (
        "X. Otazu, M. Gonzalez-Audicana, O. Fors, J. Nunez, \"Introduction of sensor spectral response into "
        "image fusion methods. Application to wavelet-based methods\", IEEE TGRS 43(10), 2005, "
        "doi:10.1109/TGRS.2005.856106")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        intensity_ratio = ms_up / (ms_up.mean(axis=0, keepdims=True) + C.EPS)
        P = C.match_pan(pan, ms_up, pan_low=C.imresize_down_up(pan, ratio))
        n = C.levels(ratio)
        details = P - C.ndwt_lowpass(P, n)
        return FusionResult(fused=ms_up + details * intensity_ratio, info={"levels": n})


class _GLP(MRAPansharpener):
    """MTF-matched generalised Laplacian pyramid: ``P_lp = glp_lowpass(P)`` with the sensor's gains."""

    params: ClassVar[tuple[Param, ...]] = ()

    @staticmethod
    def matching(ms_up_mean: np.ndarray, ms_up_std: np.ndarray, pan_mean: float,
                 pan_lowpass_std: float) -> tuple[np.ndarray, np.ndarray]:
        r"""Scale and offset of the PAN equalised to each band, :math:`P_l = a_l P + b_l`, from the
        scene statistics (band means and stds of :math:`\widetilde M`, PAN mean, std of the
        ``LPfilterGauss`` PAN) -- the global statistics :func:`hysupp.fusion.tiled.fuse_tiled`
        computes once over the whole scene and passes as ``stats``."""
        a = np.asarray(ms_up_std, dtype=np.float64) / np.maximum(float(pan_lowpass_std), C.EPS)
        return a, np.asarray(ms_up_mean, dtype=np.float64) - a * float(pan_mean)

    @staticmethod
    def inject(ms_up: np.ndarray, P: np.ndarray, P_lp: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _glp(self, ms: np.ndarray, pan: np.ndarray, ratio: int, sensor: str | None,
             matched: bool, stats: dict | None = None) -> tuple[np.ndarray, np.ndarray, tuple, np.ndarray, dict]:
        """``(ms_up, pan, (a, b), P_lp, info)``: the equalised PAN is :math:`P_l = a_l P + b_l`
        (:meth:`_matched`; ``a = 1, b = 0`` unmatched), never formed for all bands at once."""
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        gains, used = C.sensor_gains(sensor, ms.shape[0])
        L = ms.shape[0]
        if matched and stats is not None:   # global statistics of a tiled run (hysupp.fusion.tiled)
            a, b = (np.asarray(stats[k], dtype=np.float64) for k in ("scale", "offset"))
        elif matched:   # P_l = a_l P + b_l (C.match_pan); low-passed through the affine shortcut
            a = C.std2(ms_up) / np.maximum(C.std2(C.gauss_lowpass(pan, ratio)), C.EPS)
            b = C.mean2(ms_up) - a * pan.mean()
        else:
            a, b = np.ones(L), np.zeros(L)
        P_lp = C.glp_lowpass_affine(pan, a, b, ratio, gains)
        return ms_up, pan, (a, b), P_lp, {"sensor": used, "gnyq": gains.tolist()}

    @staticmethod
    def _matched(pan: np.ndarray, ab: tuple[np.ndarray, np.ndarray], band: int) -> np.ndarray:
        """The PAN equalised to one band, :math:`a_l P + b_l` ``(H, W)``."""
        return pan[0] * ab[0][band] + ab[1][band]


@register
class MTF_GLP(_GLP):
    r"""MTF-GLP: additive injection of the MTF-matched generalised Laplacian pyramid details,
    :math:`\widehat M_l = \widetilde M_l + P_l - \mathcal I_{23}\big(\mathcal D_r(h_l * P_l)\big)`.

    :math:`h_l` is the Gaussian-like filter matched to the sensor's Nyquist gain of band
    :math:`l` (:mod:`hysupp.physics.mtf`, toolbox kernel design, 41 taps), :math:`\mathcal D_r`
    the decimation at the toolbox phase and :math:`\mathcal I_{23}` the 23-tap expansion; the PAN
    is matched to each band with the std of its ``LPfilterGauss`` low-pass. Unknown sensors use
    the generic gain.

    References
    ----------
    B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, M. Selva, "MTF-tailored multiscale fusion of
    high-resolution MS and Pan imagery", PE&RS 72(5), 591-596, 2006, doi:10.14358/PERS.72.5.591.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> MTF_GLP().fuse(rng.random((8, 8, 8)), rng.random((32, 32)), ratio=4, sensor="WV2").info["gnyq"][-1]
    0.27
    """

    name: ClassVar[str] = "MTF-GLP"
    reference: ClassVar[str] = (
        "B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, M. Selva, \"MTF-tailored multiscale fusion of "
        "high-resolution MS and Pan imagery\", PE&RS 72(5), 2006, doi:10.14358/PERS.72.5.591")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              stats: dict | None = None) -> FusionResult:
        """``stats`` (optional): ``{"scale": a, "offset": b}`` of the PAN equalisation
        (:meth:`matching`), precomputed on a whole scene; computed from the inputs when None."""
        ms_up, pan, ab, P_lp, info = self._glp(ms, pan, ratio, sensor, matched=True, stats=stats)
        fused = np.subtract(ms_up, P_lp, out=ms_up)       # :meth:`inject`, band by band in place
        for band in range(fused.shape[0]):
            fused[band] += self._matched(pan, ab, band)
        return FusionResult(fused=fused, info=info)

    @staticmethod
    def inject(ms_up: np.ndarray, P: np.ndarray, P_lp: np.ndarray) -> np.ndarray:
        """Additive detail injection (pixel-wise)."""
        return ms_up + P - P_lp


@register
class MTF_GLP_HPM(_GLP):
    r"""MTF-GLP-HPM: multiplicative (high-pass modulation) injection,
    :math:`\widehat M_l = \widetilde M_l \, P_l / (P_l^{LP} + \epsilon)` with the MTF-GLP low-pass
    :math:`P_l^{LP}` of :class:`MTF_GLP`.

    References
    ----------
    B. Aiazzi, S. Baronti, F. Lotti, M. Selva, "A comparison between global and context-adaptive
    pansharpening of multispectral images", IEEE GRSL 6(2), 302-306, 2009,
    doi:10.1109/LGRS.2008.2012003.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> MTF_GLP_HPM().fuse(1 + rng.random((4, 8, 8)), 1 + rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "MTF-GLP-HPM"
    reference: ClassVar[str] = (
        "B. Aiazzi, S. Baronti, F. Lotti, M. Selva, \"A comparison between global and context-adaptive "
        "pansharpening of multispectral images\", IEEE GRSL 6(2), 2009, doi:10.1109/LGRS.2008.2012003")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              stats: dict | None = None) -> FusionResult:
        """``stats``: as :meth:`MTF_GLP.fuse`."""
        ms_up, pan, ab, P_lp, info = self._glp(ms, pan, ratio, sensor, matched=True, stats=stats)
        fused = np.empty_like(ms_up)
        for band in range(fused.shape[0]):
            fused[band] = self.inject(ms_up[band], self._matched(pan, ab, band), P_lp[band])
        return FusionResult(fused=fused, info=info)

    @staticmethod
    def inject(ms_up: np.ndarray, P: np.ndarray, P_lp: np.ndarray) -> np.ndarray:
        """Multiplicative (high-pass modulation) injection (pixel-wise)."""
        return ms_up * (P / (P_lp + C.EPS))


@register
class MTF_GLP_FS(_GLP):
    r"""MTF-GLP-FS: MTF-GLP with full-scale regression gains,
    :math:`\widehat M_l = \widetilde M_l + g_l (P - P_l^{LP})`,
    :math:`g_l = \operatorname{cov}(\widetilde M_l, P)/\operatorname{cov}(P_l^{LP}, P)`
    (raw PAN, no equalisation).

    References
    ----------
    G. Vivone, R. Restaino, J. Chanussot, "Full scale regression-based injection coefficients for
    panchromatic sharpening", IEEE TIP 27(7), 3418-3431, 2018, doi:10.1109/TIP.2018.2819501.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> MTF_GLP_FS().fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "MTF-GLP-FS"
    reference: ClassVar[str] = (
        "G. Vivone, R. Restaino, J. Chanussot, \"Full scale regression-based injection coefficients for "
        "panchromatic sharpening\", IEEE TIP 27(7), 2018, doi:10.1109/TIP.2018.2819501")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              stats: dict | None = None) -> FusionResult:
        """``stats`` (optional): ``{"gains": g}`` computed on a whole scene (a tiled run's global
        statistics); estimated from the inputs when None."""
        ms_up, pan, _, P_lp, info = self._glp(ms, pan, ratio, sensor, matched=False)
        if stats is not None:
            g = np.asarray(stats["gains"], dtype=np.float64)
        else:
            Pc = (pan - pan.mean()).reshape(-1)
            num = ((ms_up - C.mean2(ms_up)[:, None, None]).reshape(len(ms_up), -1) @ Pc)
            den = ((P_lp - C.mean2(P_lp)[:, None, None]).reshape(len(P_lp), -1) @ Pc)
            g = num / np.where(np.abs(den) > C.EPS, den, C.EPS)
        return FusionResult(fused=self.inject(ms_up, pan, P_lp, g), info={**info, "gains": g.tolist()})

    @staticmethod
    def inject(ms_up: np.ndarray, P: np.ndarray, P_lp: np.ndarray, gains: np.ndarray) -> np.ndarray:
        """Additive injection with per-band gains (pixel-wise)."""
        return ms_up + gains[:, None, None] * (P - P_lp)


@register
class MTF_GLP_CBD(_GLP):
    r"""MTF-GLP-CBD: MTF-GLP with context-based decision (global) regression gains,
    :math:`\widehat M_l = \widetilde M_l + g_l (P - P_l^{LP})`,
    :math:`g_l = \operatorname{cov}(P_l^{LP}, \widetilde M_l)/\operatorname{var}(P_l^{LP})`
    (the toolbox's ``GS2_GLP``: Gram-Schmidt-like gains on the GLP low-pass PAN).

    References
    ----------
    B. Aiazzi, S. Baronti, M. Selva, "Improving component substitution pansharpening through
    multivariate regression of MS+Pan data", IEEE TGRS 45(10), 3230-3239, 2007,
    doi:10.1109/TGRS.2007.901007; Vivone et al. 2015, doi:10.1109/TGRS.2014.2361734.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> MTF_GLP_CBD().fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "MTF-GLP-CBD"
    reference: ClassVar[str] = (
        "B. Aiazzi, S. Baronti, M. Selva, \"Improving component substitution pansharpening through multivariate "
        "regression of MS+Pan data\", IEEE TGRS 45(10), 2007, doi:10.1109/TGRS.2007.901007")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              stats: dict | None = None) -> FusionResult:
        """``stats``: as :meth:`MTF_GLP_FS.fuse`."""
        ms_up, pan, _, P_lp, info = self._glp(ms, pan, ratio, sensor, matched=False)
        g = C.covariance_gain(ms_up, P_lp) if stats is None else np.asarray(stats["gains"], dtype=np.float64)
        return FusionResult(fused=self.inject(ms_up, pan, P_lp, g), info={**info, "gains": g.tolist()})

    inject = staticmethod(MTF_GLP_FS.inject)
