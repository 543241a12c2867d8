r"""Adaptive component-substitution pansharpening: BDSD-PC, C-GSA and PRACS.

BDSD-PC (Vivone 2019) is the BDSD detail injection of :class:`.cs.BDSD` with a *physically
constrained* estimate of the injection coefficients, computed at reduced resolution. C-GSA
(Restaino et al. 2017) is GSA with injection gains estimated per cluster of a k-means
segmentation of the MS.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hysupp.fusion.pansharpening import common as C
from hysupp.fusion.pansharpening.cs import CSPansharpener
from hysupp.methods.base import FusionResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["BDSD_PC", "C_GSA", "PRACS", "kmeans_labels"]


def _nonneg_pan_nonpos_ms_lsq(H: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``argmin ||H x - y||^2`` s.t. ``x[0] >= 0`` and ``x[1:] <= 0`` (bounded least squares)."""
    from scipy.optimize import lsq_linear

    n = H.shape[1]
    lo = np.r_[0.0, np.full(n - 1, -np.inf)]
    hi = np.r_[np.inf, np.zeros(n - 1)]
    return lsq_linear(H, y, bounds=(lo, hi), method="bvls", tol=1e-12).x


@register
class BDSD_PC(CSPansharpener):
    r"""BDSD-PC: band-dependent spatial detail with physical constraints.

    For each band :math:`l`, :math:`\widehat M_l = \widetilde M_l + \gamma_{l,0} P -
    \sum_k \gamma'_{l,k} \widetilde M_k` written as :math:`\widehat M_l = \widetilde M_l + H\gamma_l`,
    :math:`H = [P, \widetilde M_1, \dots, \widetilde M_L]`. The coefficients solve, at the reduced
    scale, the constrained least-squares problem

    .. math::

        \gamma_l = \arg\min_{\gamma}\ \big\| H_d \gamma - (M^{d}_l - M^{dLP}_l) \big\|_2^2
        \quad\text{s.t.}\quad \gamma_0 \ge 0,\ \gamma_k \le 0\ (k = 1..L),

    :math:`H_d = [P^{LP}_d, M^{dLP}_1, \dots, M^{dLP}_L]`, with :math:`M^d = \mathrm{imresize}
    (\widetilde M, 1/r)` (bicubic), :math:`M^{dLP}` its MTF low-pass (sensor MS gains, no
    decimation) and :math:`P^{LP}_d` the PAN filtered with the sensor's PAN MTF and decimated
    (``imresize(., 1/r, 'nearest')``). The constraints state that the injected detail is a
    non-negative multiple of the PAN minus a non-negative combination of the MS bands (the
    synthetic intensity), which the unconstrained BDSD can violate. Solved exactly per band with
    bounded-variable least squares (``lsqlin`` in the toolbox's ``BDSD_PC.m``). No
    hyperparameters; the estimate is global (whole image).

    References
    ----------
    G. Vivone, "Robust band-dependent spatial-detail approaches for panchromatic sharpening",
    IEEE TGRS 57(9), 6421-6433, 2019, doi:10.1109/TGRS.2019.2908412.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = BDSD_PC().fuse(rng.random((4, 16, 16)), rng.random((64, 64)), ratio=4, sensor="QB")
    >>> r.fused.shape, bool((r.info["gamma"][0] >= 0).all() and (r.info["gamma"][1:] <= 0).all())
    ((4, 64, 64), True)
    """

    name: ClassVar[str] = "BDSD-PC"
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = (
        "G. Vivone, \"Robust band-dependent spatial-detail approaches for panchromatic sharpening\", "
        "IEEE TGRS 57(9), 2019, doi:10.1109/TGRS.2019.2908412")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        from hysupp.physics.sampling import ImresizeBicubic

        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        L, H, W = ms_up.shape
        gains, used = C.sensor_gains(sensor, L)
        pan_gain = C.sensor_pan_gain(sensor, used)
        pan_lp_d = C.decimate(C.mtf_lowpass(pan, ratio, np.array([pan_gain])), ratio)
        ms_d = np.asarray(ImresizeBicubic(ratio).forward(ms_up), dtype=np.float64)
        ms_lp_d = C.mtf_lowpass(ms_d, ratio, gains)
        Hd = np.vstack([pan_lp_d.reshape(1, -1), ms_lp_d.reshape(L, -1)]).T
        gamma = np.empty((L + 1, L))
        for band in range(L):
            gamma[:, band] = _nonneg_pan_nonpos_ms_lsq(Hd, (ms_d[band] - ms_lp_d[band]).ravel())
        Hh = np.vstack([pan.reshape(1, -1), ms_up.reshape(L, -1)])
        fused = ms_up + (gamma.T @ Hh).reshape(L, H, W)
        return FusionResult(fused=fused, info={"sensor": used, "gnyq": gains.tolist(), "pan_gnyq": pan_gain,
                                               "gamma": gamma})


def kmeans_labels(ms_up: np.ndarray, n_clusters: int, *, seed: int = 0, max_iter: int = 100) -> np.ndarray:
    r"""k-means segmentation of the pixels of ``ms_up`` ``(L, H, W)`` (``k_means_clustering.m``).

    Features: each band divided by its maximum; squared Euclidean distance; k-means++ seeding
    (MATLAB ``kmeans``'s default) from ``numpy.random.default_rng(seed)``; Lloyd iterations until
    the assignment stops changing (at most ``max_iter``). Returns ``(H, W)`` labels ``0..k-1``.
    """
    L, H, W = ms_up.shape
    F = (ms_up.reshape(L, -1) / np.maximum(ms_up.reshape(L, -1).max(axis=1, keepdims=True), C.EPS)).T
    rng = np.random.default_rng(seed)
    n = F.shape[0]
    k = int(min(n_clusters, n))
    centres = [F[rng.integers(n)]]
    d2 = ((F - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        centres.append(F[rng.choice(n, p=d2 / d2.sum()) if d2.sum() > 0 else rng.integers(n)])
        d2 = np.minimum(d2, ((F - centres[-1]) ** 2).sum(axis=1))
    Cm = np.array(centres)
    lab = np.full(n, -1)
    f2 = (F ** 2).sum(axis=1)[:, None]
    for _ in range(max_iter):
        new = np.argmin(f2 - 2 * F @ Cm.T + (Cm ** 2).sum(axis=1)[None, :], axis=1)
        if np.array_equal(new, lab):
            break
        lab = new
        for j in range(k):
            members = lab == j
            if members.any():
                Cm[j] = F[members].mean(axis=0)
    return lab.reshape(H, W)


def gsa_intensity(ms: np.ndarray, ms_up: np.ndarray, pan: np.ndarray, ratio: int) -> np.ndarray:
    r"""GSA intensity :math:`I = \sum_l \alpha_l \widetilde M_l + \alpha_0` (``gen_LP_image('GSA')``):
    :math:`\alpha` regresses the Gaussian-low-passed, decimated PAN on ``[M_1..M_L, 1]`` at the MS
    scale (least squares, global)."""
    p_lp = C.decimate(C.gauss_lowpass(pan, ratio), ratio)[0]
    A = np.column_stack([ms.reshape(ms.shape[0], -1).T, np.ones(ms[0].size)])
    alpha = np.linalg.lstsq(A, p_lp.ravel(), rcond=None)[0]
    return np.tensordot(alpha[:-1], ms_up, axes=1) + alpha[-1]


def segment_gains(I: np.ndarray, ms_up: np.ndarray, labels: np.ndarray) -> np.ndarray:
    r"""Per cluster :math:`g_{l,s} = \operatorname{cov}(I|_s, M_l|_s) / \operatorname{var}(I|_s)`
    (``(L, H, W)`` map of gains; a single-pixel or flat cluster gets 0)."""
    L = ms_up.shape[0]
    G = np.zeros_like(ms_up)
    flat_lab = labels.ravel()
    Mf = ms_up.reshape(L, -1)
    If = I.ravel()
    for s in np.unique(flat_lab):
        idx = flat_lab == s
        i = If[idx] - If[idx].mean()
        m = Mf[:, idx] - Mf[:, idx].mean(axis=1, keepdims=True)
        den = (i * i).sum()
        g = (m @ i) / den if den > 0 else np.zeros(L)
        G.reshape(L, -1)[:, idx] = g[:, None]
    return G


@register
class C_GSA(CSPansharpener):
    r"""C-GSA: context-based (clustered) Gram-Schmidt adaptive pansharpening.

    .. math::

        \widehat M_l = \widetilde M_l + g_{l,s(i)} \big(P - I\big)_i,\qquad
        g_{l,s} = \frac{\operatorname{cov}(I|_s, \widetilde M_l|_s)}{\operatorname{var}(I|_s)},

    where :math:`I` is the GSA intensity (:func:`gsa_intensity`: weights regressing the low-pass
    PAN on the MS at reduced scale, plus a bias), :math:`s(i)` the cluster of pixel :math:`i` in a
    k-means segmentation of the expanded MS into ``n_segments`` clusters
    (:func:`kmeans_labels`, bands normalised by their maximum) and the gains are the GSA
    regression coefficients computed inside each cluster. The PAN is used as is (no
    equalisation), as ``GS_Segm.m``. Defaults: 5 segments (toolbox demo). k-means is randomly
    seeded (MATLAB's ``kmeans`` too): ``seed`` fixes it.

    References
    ----------
    R. Restaino, M. Dalla Mura, G. Vivone, J. Chanussot, "Context-adaptive pansharpening based
    on image segmentation", IEEE TGRS 55(2), 753-766, 2017, doi:10.1109/TGRS.2016.2614367
    (the clustering variant, C-GSA, of the toolbox; see also Vivone et al., IEEE GRSM 2021,
    doi:10.1109/MGRS.2020.3019315).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> C_GSA(n_segments=2).fuse(rng.random((4, 8, 8)), rng.random((32, 32)), ratio=4).info["n_segments"]
    2
    """

    name: ClassVar[str] = "C-GSA"
    stochastic: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (
        Param("n_segments", int, 5, "number of k-means clusters (toolbox demo: 5)", low=1),
        Param("seed", int, 0, "k-means++ seed", low=0),
        Param("max_iter", int, 100, "maximum Lloyd iterations (MATLAB kmeans: 100)", low=1),
    )
    reference: ClassVar[str] = (
        "R. Restaino, M. Dalla Mura, G. Vivone, J. Chanussot, \"Context-adaptive pansharpening based on image "
        "segmentation\", IEEE TGRS 55(2), 2017, doi:10.1109/TGRS.2016.2614367")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, ms_up = self._prepare(ms, pan, ratio)
        labels = kmeans_labels(ms_up, self.n_segments, seed=self.seed, max_iter=self.max_iter)
        I = gsa_intensity(ms, ms_up, pan, ratio)
        G = segment_gains(I, ms_up, labels)
        fused = ms_up + G * (pan - I)
        return FusionResult(fused=fused, info={"n_segments": int(np.unique(labels).size), "labels": labels})


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two arrays (MATLAB ``corr2``)."""
    a, b = x.ravel() - x.mean(), y.ravel() - y.mean()
    return float((a @ b) / max(np.sqrt((a @ a) * (b @ b)), C.EPS))


def _regress(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(X, y, rcond=None)[0]


@register
class PRACS(CSPansharpener):
    r"""PRACS: partial replacement adaptive component substitution.

    With :math:`\widetilde M_l` the expanded MS, :math:`P^L = \mathrm{imresize}(\mathrm{imresize}(P,
    1/r), r)` (bicubic), :math:`M^{hm}_l = \max(0, (\widetilde M_l - \mu_{M_l})\sigma_P/\sigma_{M_l}
    + \mu_P)` the MS histogram-matched to the PAN and :math:`\rho` the correlation coefficient:

    .. math::

        I_L &= \textstyle\beta_0 + \sum_k \beta_k M^{hm}_k
              \quad(\beta = \text{least squares of } P^L \text{ on } [1, M^{hm}]),\\
        I^H_l &= \rho(I_L, M^{hm}_l)\,P + (1 - \rho(I_L, M^{hm}_l))\,M^{hm}_l
              \quad\text{(partial replacement)},\\
        I'_l &= \textstyle\alpha_{l,0} + \sum_k \alpha_{l,k} M^{hm}_k
              \quad(\alpha_l: \text{least squares of } \mathrm{imresize}^{\downarrow\uparrow}(I^H_l)
              \text{ on } [1, M^{hm}]),\\
        \delta_l &= I^H_l - I'_l - (\mu_{I^H_l} - \mu_{I'_l}),\qquad
        w_l = \beta_w\,\rho(I'_l, \widetilde M_l)\,\sigma_{\widetilde M_l} / \overline{\sigma_{\widetilde M}},\\
        \widehat M_l &= \widetilde M_l + w_l\,L_l\,\delta_l,\qquad
        L_l = 1 - \big|1 - \rho(I_L, \widetilde M_l)\,\widetilde M_l / I'_l\big| .

    ``beta`` (:math:`\beta_w`) is 0.95, the toolbox's value for 11-bit data (``PRACS.m``).

    References
    ----------
    J. Choi, K. Yu, Y. Kim, "A new adaptive component-substitution-based satellite image fusion by
    using partial replacement", IEEE TGRS 49(1), 295-309, 2011, doi:10.1109/TGRS.2010.2051674.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> PRACS().fuse(1 + rng.random((4, 8, 8)), 1 + rng.random((32, 32)), ratio=4).fused.shape
    (4, 32, 32)
    """

    name: ClassVar[str] = "PRACS"
    params: ClassVar[tuple[Param, ...]] = (
        Param("beta", float, 0.95, "detail weight factor (toolbox: 0.95 for 11-bit data)", low=0.0),
    )
    reference: ClassVar[str] = (
        "J. Choi, K. Yu, Y. Kim, \"A new adaptive component-substitution-based satellite image fusion by using "
        "partial replacement\", IEEE TGRS 49(1), 2011, doi:10.1109/TGRS.2010.2051674")

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        ms, pan, ratio, M = self._prepare(ms, pan, ratio)
        L, H, W = M.shape
        P = pan[0]
        sP, mP = float(C.std2(pan)[0]), float(pan.mean())
        sM, mM = C.std2(M), C.mean2(M)
        hm = np.maximum((M - mM[:, None, None]) * (sP / np.maximum(sM, C.EPS))[:, None, None] + mP, 0.0)
        X = np.column_stack([np.ones(H * W), hm.reshape(L, -1).T])
        pan_l = C.imresize_down_up(pan, ratio)[0]
        I_l = (X @ _regress(pan_l.ravel(), X)).reshape(H, W)
        cc = np.array([_corr(I_l, hm[k]) for k in range(L)])
        I_h = cc[:, None, None] * P + (1 - cc[:, None, None]) * hm
        I_h_low = C.imresize_down_up(I_h, ratio)
        alpha = _regress(I_h_low.reshape(L, -1).T, X)                 # (L + 1, L)
        I_lp = (X @ alpha).T.reshape(L, H, W)
        delta = I_h - I_lp - (C.mean2(I_h) - C.mean2(I_lp))[:, None, None]
        w = np.array([self.beta * _corr(I_lp[k], M[k]) * sM[k] / sM.mean() for k in range(L)])
        LI = np.stack([1 - np.abs(1 - _corr(I_l, M[k]) * M[k] / I_lp[k]) for k in range(L)])
        fused = M + w[:, None, None] * LI * delta
        return FusionResult(fused=fused, info={"w": w.tolist(), "cc": cc.tolist()})
