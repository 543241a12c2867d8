r"""MAP estimation of the HR HS image given the MS image (Hardie, Eismann & Wilson 2004), global
jointly-Gaussian statistics. The stochastic mixing model (SMM) extension of Eismann & Hardie (2005)
is not implemented."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.fuse_sylvester import _kernel_fft
from hysupp.methods.base import FusionResult, HSMSFuser
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["MAP_Hardie"]


@register
class MAP_Hardie(HSMSFuser):
    r"""MAP fusion with a jointly Gaussian model of the HS and MS pixels (Hardie et al. 2004).

    With :math:`Y_h = \mathcal W z + n` (:math:`\mathcal W`: HS blur and decimation, :math:`n \sim
    \mathcal N(0, \sigma^2 I)`), and the HR HS pixels :math:`z_j` given the MS pixels :math:`y_j`
    modelled as independent Gaussians with the global joint statistics of :math:`(z, y)`:

    .. math::

        \mu_j = \mu_z + C_{zy} C_y^{-1}(y_j - \mu_y),\qquad
        \Sigma = C_z - C_{zy} C_y^{-1} C_{yz},

    the MAP (here also MMSE) estimate is

    .. math::

        \hat z = \mu + (\Sigma\otimes I)\mathcal W^\top \big(\mathcal W(\Sigma\otimes I)\mathcal W^\top
        + \sigma^2 I\big)^{-1}(Y_h - \mathcal W\mu).

    The statistics are estimated on the HS grid from the HS and the MS degraded by the HS PSF
    (:math:`C_z` with the HS noise variance removed from its diagonal). With
    :math:`\Sigma = V\Lambda V^\top` and a periodic blur, the inverse decouples into one
    circulant system per eigen-band :math:`k`, diagonal in the Fourier domain of the HS grid with
    symbol :math:`\lambda_k \frac1d\sum_a |\hat B(\omega_a)|^2 + \sigma^2` (sum over the
    :math:`d = r^2` aliases), so the estimate is exact and costs a few FFTs. ``noise_var``
    (:math:`\sigma^2`) is estimated by multiple regression (HySime's estimator, mean over bands)
    when None. ``srf`` is not used (the MS-HS relation is learnt through :math:`C_{zy}`).

    References
    ----------
    R. C. Hardie, M. T. Eismann, G. L. Wilson, "MAP estimation for hyperspectral image resolution
    enhancement using an auxiliary sensor", IEEE TIP 13(9), 1174-1184, 2004,
    doi:10.1109/TIP.2004.829779. (Stochastic mixing model, not implemented: M. T. Eismann,
    R. C. Hardie, "Hyperspectral resolution enhancement using high-resolution multispectral
    imagery with arbitrary response functions", IEEE TGRS 43(3), 455-465, 2005,
    doi:10.1109/TGRS.2004.837324.)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> MAP_Hardie().fuse(rng.random((6, 8, 8)), rng.random((2, 32, 32)), ratio=4).fused.shape
    (6, 32, 32)
    """

    name: ClassVar[str] = "MAP-Hardie"
    params: ClassVar[tuple[Param, ...]] = (
        Param("noise_var", float, None, "HS noise variance sigma^2; None = estimate by multiple regression",
              low=0.0, optional=True),
    )
    reference: ClassVar[str] = (
        "R. C. Hardie, M. T. Eismann, G. L. Wilson, \"MAP estimation for hyperspectral image resolution enhancement "
        "using an auxiliary sensor\", IEEE TIP 13(9), 2004, doi:10.1109/TIP.2004.829779")

    def fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
             psf: Any = None) -> FusionResult:
        hs, ms, ratio = self.check_inputs(hs, ms, ratio)
        hs = np.asarray(hs, dtype=np.float64)
        ms = np.asarray(ms, dtype=np.float64)
        L, h, w = hs.shape
        Cb, H, W = ms.shape
        if Cb >= h * w:
            raise InputError("MAP-Hardie: too few HS pixels to estimate the joint statistics")
        if self.noise_var is None:
            from hysupp.unmixing.order import estimate_noise

            noise_var = float(np.mean(np.diag(estimate_noise(hs.reshape(L, -1))[1])))
        else:
            noise_var = float(self.noise_var)
        Z = hs.reshape(L, -1)
        Y = C.degrade(ms, ratio, psf).reshape(Cb, -1)
        mz, my = Z.mean(1, keepdims=True), Y.mean(1, keepdims=True)
        Zc, Yc = Z - mz, Y - my
        n = Z.shape[1]
        Cz = Zc @ Zc.T / n - noise_var * np.eye(L)
        Czy, Cy = Zc @ Yc.T / n, Yc @ Yc.T / n
        G = np.linalg.solve(Cy, Czy.T).T                                   # C_zy C_y^-1
        Sigma = Cz - G @ Czy.T
        lam, V = np.linalg.eigh((Sigma + Sigma.T) / 2)
        lam = np.maximum(lam, 0.0)
        mu = (mz + G @ (ms.reshape(Cb, -1) - my)).reshape(L, H, W)
        kernel = C.psf_kernel(psf, ratio)
        Bf = _kernel_fft(kernel, (H, W), ratio // 2)                       # blur whose ::ratio sampling is W
        resid = hs - np.real(np.fft.ifft2(np.fft.fft2(mu) * Bf))[:, ::ratio, ::ratio]
        g = (np.abs(Bf) ** 2).reshape(ratio, h, ratio, w).sum(axis=(0, 2)) / (ratio * ratio)   # symbol of W W^T
        rk = np.fft.fft2(np.tensordot(V.T, resid, axes=1))                  # eigen-bands, HS-grid spectra
        q = rk / (lam[:, None, None] * g[None] + max(noise_var, 1e-12))
        # W^T q: zero-fill to the HR grid (spectrum tiled), then the adjoint blur
        up = np.tile(q, (1, ratio, ratio)) * np.conj(Bf)[None]
        upd = np.real(np.fft.ifft2(up)) * lam[:, None, None]
        fused = mu + np.tensordot(V, upd, axes=1)
        return FusionResult(fused=fused, info={"noise_var": noise_var})
