r"""Component-substitution (CS) pansharpening: :math:`\widehat M_l = \widetilde M_l + g_l\,(P - I)`,
with an intensity :math:`I = \sum_l w_l \widetilde M_l` (+ bias) and injection gains :math:`g_l`.

:math:`\widetilde M` is the MS expanded to the PAN grid (:func:`.common.expand`). The methods
differ in the weights (uniform, PCA, regression on a low-pass PAN), the PAN equalisation and the
gains. Formulas and defaults follow Vivone et al., IEEE TGRS 2015 (doi:10.1109/TGRS.2014.2361734)
and IEEE GRSM 2021 (doi:10.1109/MGRS.2020.3019315).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.fusion.pansharpening import common as C
from hysupp.methods.base import FusionResult, Pansharpener
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["BDSD", "BT", "BT_H", "CSPansharpener", "GIHS", "GS", "GSA", "PCA"]


class CSPansharpener(Pansharpener):
    params: ClassVar[tuple[Param, ...]] = ()

    def _prepare(self, ms: np.ndarray, pan: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        return ms, pan, ratio, C.expand(ms, ratio)


def _equalise(pan: np.ndarray, target: np.ndarray) -> np.ndarray:
    """PAN with the mean and (n-1) standard deviation of ``target`` (one band, ``(1, H, W)``)."""
    return (pan - pan.mean()) * (target.std(ddof=1) / max(pan.std(ddof=1), C.EPS)) + target.mean()


def _equalise_with(pan: np.ndarray, stats: dict, mean_key: str = "intensity_mean") -> np.ndarray:
    """:func:`_equalise` with precomputed scene statistics (``pan_mean``, ``pan_std``,
    ``intensity_std`` and ``mean_key``; the global statistics of a tiled run)."""
    return ((pan - stats["pan_mean"]) * (stats["intensity_std"] / max(float(stats["pan_std"]), C.EPS))
            + stats[mean_key])


@register
class BT(CSPansharpener):
    r"""Brovey transform: :math:`\widehat M_l = \widetilde M_l\, P_I / (I + \epsilon)`,
    :math:`I = \frac1L\sum_l \widetilde M_l`, :math:`P_I` the PAN equalised to :math:`I` (mean, std).

    References
    ----------
    A. R. Gillespie, A. B. Kahle, R. E. Walker, "Color enhancement of highly correlated images. II.
    Channel ratio and 'chromaticity' transformation techniques", Remote Sens. Environ. 22(3),
    343-365, 1987, doi:10.1016/0034-4257(87)90088-5.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> BT().fuse(1 + rng.random((4, 8, 8)), 1 + rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "BT"
    reference: ClassVar[str] = (
        "A. R. Gillespie, A. B. Kahle, R. E. Walker, Remote Sens. Environ. 22(3), 343-365, 1987, "
        "doi:10.1016/0034-4257(87)90088-5")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              stats: dict | None = None) -> FusionResult:
        """``stats`` (optional): ``pan_mean``, ``pan_std``, ``intensity_mean``, ``intensity_std`` of
        the whole scene (a tiled run's global statistics); computed from the inputs when None."""
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        if stats is not None:
            return FusionResult(fused=self.inject(ms_up, pan, stats))
        I = ms_up.mean(axis=0, keepdims=True)
        return FusionResult(fused=ms_up * (_equalise(pan, I) / (I + C.EPS)))

    @staticmethod
    def inject(ms_up: np.ndarray, pan: np.ndarray, stats: dict) -> np.ndarray:
        """The fused pixels given the scene statistics (pixel-wise)."""
        I = ms_up.mean(axis=0, keepdims=True)
        return ms_up * (_equalise_with(pan, stats) / (I + C.EPS))


@register
class BT_H(CSPansharpener):
    r"""BT-H: Brovey with haze correction and regression intensity,
    :math:`\widehat M_l = (\widetilde M_l - h_l)_+\, P_I / (I + \epsilon) + h_l`.

    :math:`I = \sum_l w_l (\widetilde M_l - h_l)` with :math:`w` the least-squares regression of
    the low-pass PAN (``LPfilterGauss``) on :math:`\widetilde M`; :math:`P_I` the PAN equalised
    to :math:`I` with the mean and std of the low-pass PAN. Haze :math:`h_l`: for 4 bands
    (B, G, R, NIR) ``(0.95, 0.45, 0.40, 0.05)`` times each band's 1st percentile, otherwise each
    band's minimum (as the toolbox).

    References
    ----------
    S. Lolli, L. Alparone, A. Garzelli, G. Vivone, "Haze correction for contrast-based
    multispectral pansharpening", IEEE GRSL 14(12), 2255-2259, 2017, doi:10.1109/LGRS.2017.2761021.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> BT_H().fuse(1 + rng.random((4, 8, 8)), 1 + rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "BT-H"
    reference: ClassVar[str] = (
        "S. Lolli, L. Alparone, A. Garzelli, G. Vivone, \"Haze correction for contrast-based multispectral "
        "pansharpening\", IEEE GRSL 14(12), 2017, doi:10.1109/LGRS.2017.2761021")
    #: haze fractions of the 1st percentile for 4-band (B, G, R, NIR) sensors
    HAZE_FRACTIONS: ClassVar[tuple[float, ...]] = (0.95, 0.45, 0.40, 0.05)

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        L = ms_up.shape[0]
        flat = ms_up.reshape(L, -1)
        if L == 4:
            haze = np.asarray(self.HAZE_FRACTIONS) * np.percentile(flat, 1, axis=1, method="hazen")
        else:
            haze = flat.min(axis=1)
        pan_lp = C.gauss_lowpass(pan, ratio)
        w, *_ = np.linalg.lstsq(flat.T, pan_lp.reshape(-1), rcond=None)
        shifted = ms_up - haze[:, None, None]
        I = np.tensordot(w, shifted, axes=1)[None]
        P = (pan - pan_lp.mean()) * (I.std(ddof=1) / max(pan_lp.std(ddof=1), C.EPS)) + I.mean()
        fused = np.maximum(shifted, 0.0) * (P / (I + C.EPS)) + haze[:, None, None]
        return FusionResult(fused=fused, info={"haze": haze.tolist(), "weights": w.tolist()})


@register
class GIHS(CSPansharpener):
    r"""GIHS: generalised IHS, :math:`\widehat M_l = \widetilde M_l + (P_I - I)`,
    :math:`I = \frac1L\sum_l \widetilde M_l`, :math:`P_I` the PAN equalised to :math:`I`.

    References
    ----------
    T.-M. Tu, S.-C. Su, H.-C. Shyu, P. S. Huang, "A new look at IHS-like image fusion methods",
    Inf. Fusion 2(3), 177-186, 2001, doi:10.1016/S1566-2535(01)00036-7.

    Examples
    --------
    >>> import numpy as np
    >>> ms = np.ones((3, 4, 4)); pan = np.ones((16, 16))
    >>> bool(np.allclose(GIHS().fuse(ms, pan, ratio=4).fused, 1.0))
    True
    """

    name: ClassVar[str] = "GIHS"
    reference: ClassVar[str] = (
        "T.-M. Tu, S.-C. Su, H.-C. Shyu, P. S. Huang, \"A new look at IHS-like image fusion methods\", "
        "Inf. Fusion 2(3), 2001, doi:10.1016/S1566-2535(01)00036-7")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              stats: dict | None = None) -> FusionResult:
        """``stats``: as :meth:`BT.fuse`."""
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        if stats is not None:
            return FusionResult(fused=self.inject(ms_up, pan, stats))
        I = ms_up.mean(axis=0, keepdims=True)
        return FusionResult(fused=ms_up + (_equalise(pan, I) - I))

    @staticmethod
    def inject(ms_up: np.ndarray, pan: np.ndarray, stats: dict) -> np.ndarray:
        """The fused pixels given the scene statistics (pixel-wise)."""
        return ms_up + (_equalise_with(pan, stats) - ms_up.mean(axis=0, keepdims=True))


@register
class PCA(CSPansharpener):
    r"""PCA: the first principal component of :math:`\widetilde M` replaced by the PAN.

    With centred pixels :math:`X = \widetilde M - \bar m` and eigenvectors :math:`V` of their
    covariance (decreasing eigenvalues; the first signed to correlate positively with the band
    mean), :math:`F = V^\top X`; :math:`F_1 \leftarrow` the PAN equalised to :math:`F_1` (mean,
    std); :math:`\widehat M = V F + \bar m`. Equivalently CS with :math:`I = F_1` and
    :math:`g = V_{:,1}`.

    References
    ----------
    P. S. Chavez Jr., A. Y. Kwarteng, "Extracting spectral contrast in Landsat Thematic Mapper image
    data using selective principal component analysis", PE&RS 55(3), 339-348, 1989.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> PCA().fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "PCA"
    reference: ClassVar[str] = (
        "P. S. Chavez Jr., A. Y. Kwarteng, \"Extracting spectral contrast in Landsat Thematic Mapper image data "
        "using selective principal component analysis\", PE&RS 55(3), 339-348, 1989")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        L = ms_up.shape[0]
        X = ms_up.reshape(L, -1)
        mean = X.mean(axis=1, keepdims=True)
        Xc = X - mean
        _, V = np.linalg.eigh(Xc @ Xc.T)
        v1 = V[:, -1] * (1.0 if V[:, -1].sum() >= 0 else -1.0)
        F1 = v1 @ Xc
        P = _equalise(pan.reshape(1, -1), F1[None]).reshape(-1)
        fused = X + np.outer(v1, P - F1)
        return FusionResult(fused=fused.reshape(ms_up.shape), info={"pc1": v1.tolist()})


@register
class GS(CSPansharpener):
    r"""Gram-Schmidt (mode 1): intensity :math:`I = \frac1L\sum_l \widetilde M_l`, PAN equalised to
    :math:`I` (mean, std), injection gains :math:`g_l = \operatorname{cov}(I, \widetilde M_l) /
    \operatorname{var}(I)`: :math:`\widehat M_l = \widetilde M_l + g_l (P_I - I)`.

    References
    ----------
    C. A. Laben, B. V. Brower, "Process for enhancing the spatial resolution of multispectral
    imagery using pan-sharpening", U.S. Patent 6 011 875, 2000.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> GS().fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "GS"
    reference: ClassVar[str] = ("C. A. Laben, B. V. Brower, \"Process for enhancing the spatial resolution of "
                                "multispectral imagery using pan-sharpening\", U.S. Patent 6 011 875, 2000")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              stats: dict | None = None) -> FusionResult:
        """``stats`` (optional): the scene statistics of :meth:`inject` (a tiled run's global
        statistics); computed from the inputs when None."""
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        if stats is not None:
            return FusionResult(fused=self.inject(ms_up, pan, stats),
                                info={"gains": np.asarray(stats["gains"]).tolist()})
        I = ms_up.mean(axis=0, keepdims=True)
        I0 = I - I.mean()
        fused, g = C.gs_inject(ms_up, I, _equalise(pan, I0))
        return FusionResult(fused=fused, info={"gains": g.tolist()})

    @staticmethod
    def inject(ms_up: np.ndarray, pan: np.ndarray, stats: dict) -> np.ndarray:
        r"""The fused pixels given the scene statistics (pixel-wise): ``pan_mean``, ``pan_std``,
        ``intensity_mean`` (:math:`\bar I`), ``intensity_std``, ``intensity0_mean`` (mean of
        :math:`I - \bar I`, zero up to rounding) and the Gram-Schmidt ``gains``
        :math:`g_l = \operatorname{cov}(I, \widetilde M_l)/\operatorname{var}(I)`. The band-mean
        correction of :func:`~hysupp.fusion.pansharpening.common.gs_inject` is zero in exact arithmetic and dropped:
        :math:`\widehat M_l = \widetilde M_l + g_l (P_I - I + \bar I)`."""
        g = np.asarray(stats["gains"], dtype=np.float64)[:, None, None]
        I0 = ms_up.mean(axis=0, keepdims=True) - stats["intensity_mean"]
        P = _equalise_with(pan, stats, "intensity0_mean")
        return ms_up + g * (P - I0)


@register
class GSA(CSPansharpener):
    r"""GSA: Gram-Schmidt adaptive. The intensity weights come from the least-squares regression
    of the low-pass, decimated PAN on the (zero-mean) low-resolution MS bands and a constant:

    .. math::

        (w, b) = \arg\min \big\lVert \mathcal D_r W_J(P - \bar P) - \textstyle\sum_l w_l (M_l - \bar M_l)
        - b \big\rVert^2, \qquad I = \sum_l w_l (\widetilde M_l - \bar M_l) + b,

    (:math:`W_J`: the undecimated B3-spline low-pass of :func:`.common.ndwt_lowpass`,
    :math:`\mathcal D_r`: the toolbox decimation), then Gram-Schmidt injection of
    :math:`P - \bar P - (I - \bar I)` with :math:`g_l = \operatorname{cov}(I, \widetilde M_l) /
    \operatorname{var}(I)` and each band's mean restored.

    References
    ----------
    B. Aiazzi, S. Baronti, M. Selva, "Improving component substitution pansharpening through
    multivariate regression of MS+Pan data", IEEE TGRS 45(10), 3230-3239, 2007,
    doi:10.1109/TGRS.2007.901007.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> GSA().fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "GSA"
    reference: ClassVar[str] = (
        "B. Aiazzi, S. Baronti, M. Selva, \"Improving component substitution pansharpening through multivariate "
        "regression of MS+Pan data\", IEEE TGRS 45(10), 2007, doi:10.1109/TGRS.2007.901007")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        L = ms.shape[0]
        ms_lr0 = (ms - C.mean2(ms)[:, None, None]).reshape(L, -1)
        pan_lr = C.decimate(C.ndwt_lowpass(pan - pan.mean(), C.levels(ratio)), ratio).reshape(-1)
        design = np.vstack([ms_lr0, np.ones((1, ms_lr0.shape[1]))])
        alpha, *_ = np.linalg.lstsq(design.T, pan_lr, rcond=None)
        M0 = ms_up - C.mean2(ms_up)[:, None, None]
        I = (np.tensordot(alpha[:L], M0, axes=1) + alpha[L])[None]
        fused, g = C.gs_inject(ms_up, I, pan - pan.mean())
        return FusionResult(fused=fused, info={"weights": alpha.tolist(), "gains": g.tolist()})


@register
class BDSD(CSPansharpener):
    r"""BDSD: band-dependent spatial detail, MMSE injection estimated at reduced resolution.

    For each band :math:`l`, :math:`\widehat M_l = \widetilde M_l + H\gamma_l` with
    :math:`H = [\widetilde M_1, \dots, \widetilde M_L, P]` and :math:`\gamma_l` the least-squares
    solution at the reduced scale:

    .. math::

        \gamma_l = (H_d^\top H_d)^{-1} H_d^\top (M^{d}_l - M^{dLP}_l),\qquad
        H_d = [M^{dLP}_1, \dots, M^{dLP}_L, P^{LP}_d],

    where :math:`M^d = \mathrm{imresize}(\widetilde M, 1/r)` (bicubic), :math:`M^{dLP}` its MTF
    low-pass (sensor MS gains), :math:`P^{LP}_d` the PAN filtered with the sensor's PAN MTF and
    decimated at phase :math:`\lfloor r/2 \rfloor` (pixels :math:`i r + \lfloor r/2 \rfloor`: the
    grid of the MS samples in :math:`\widetilde M` and of the toolbox's ``imresize(., 1/r,
    'nearest')``). The toolbox's ``BDSD.m`` hard-codes the offset 2 (``pan_LP(3:ratio:end, ...)``),
    which is this phase at its ratio 4 but leaves too few rows at ratio 2 (it fails) and samples
    off-centre at ratio 8. ``block_size`` (in PAN pixels, even, a multiple of the
    ratio dividing the image) estimates :math:`\gamma` per block; 0 (default) uses the whole
    image, as in Vivone et al. (2015).

    References
    ----------
    A. Garzelli, F. Nencini, L. Capobianco, "Optimal MMSE pan sharpening of very high resolution
    multispectral images", IEEE TGRS 46(1), 228-236, 2008, doi:10.1109/TGRS.2007.907604.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> BDSD().fuse(rng.random((4, 16, 16)), rng.random((64, 64)), ratio=4, sensor="QB").fused.shape
    (4, 64, 64)
    """

    name: ClassVar[str] = "BDSD"
    params: ClassVar[tuple[Param, ...]] = (
        Param("block_size", int, 0, "block size (PAN pixels) for local estimation; 0 = whole image (global)",
              low=0),
    )
    reference: ClassVar[str] = (
        "A. Garzelli, F. Nencini, L. Capobianco, \"Optimal MMSE pan sharpening of very high resolution "
        "multispectral images\", IEEE TGRS 46(1), 2008, doi:10.1109/TGRS.2007.907604")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        from hysupp.physics.sampling import ImresizeBicubic

        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        L, H, W = ms_up.shape
        S = self.block_size
        if S and (S % 2 or S % ratio or H % S or W % S):
            raise InputError(f"BDSD: block_size {S} must be even, a multiple of the ratio {ratio} and divide "
                             f"the image size {H} x {W}")
        gains, used = C.sensor_gains(sensor, L)
        pan_gain = C.sensor_pan_gain(sensor, used)
        pan_lp_d = C.decimate(C.mtf_lowpass(pan, ratio, np.array([pan_gain])), ratio)
        ms_d = np.asarray(ImresizeBicubic(ratio).forward(ms_up), dtype=np.float64)
        ms_lp_d = C.mtf_lowpass(ms_d, ratio, gains)
        blocks_r = [(0, H)] if not S else [(r, r + S) for r in range(0, H, S)]
        blocks_c = [(0, W)] if not S else [(c, c + S) for c in range(0, W, S)]
        fused = np.empty_like(ms_up)
        for r0, r1 in blocks_r:
            for c0, c1 in blocks_c:
                lr = (slice(None), slice(r0 // ratio, r1 // ratio), slice(c0 // ratio, c1 // ratio))
                Hd = np.vstack([ms_lp_d[lr].reshape(L, -1), pan_lp_d[lr].reshape(1, -1)]).T
                target = (ms_d[lr] - ms_lp_d[lr]).reshape(L, -1).T
                gamma = np.linalg.solve(Hd.T @ Hd, Hd.T @ target)          # (L + 1, L)
                hr = (slice(None), slice(r0, r1), slice(c0, c1))
                Hh = np.vstack([ms_up[hr].reshape(L, -1), pan[hr].reshape(1, -1)])
                fused[hr] = ms_up[hr] + (gamma.T @ Hh).reshape(L, r1 - r0, c1 - c0)
        return FusionResult(fused=fused, info={"sensor": used, "gnyq": gains.tolist(), "pan_gnyq": pan_gain})
