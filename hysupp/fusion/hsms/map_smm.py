r"""MAP estimation of the HR HS image given the MS image: :class:`MAP_Hardie` (Hardie, Eismann &
Wilson 2004, global jointly-Gaussian statistics) and :class:`MAP_SMM` (Eismann & Hardie 2004, 2005,
class-conditional statistics of a stochastic mixing model)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.responses import resolve_responses
from hysupp.methods.base import FusionResult, HSMSFuser
from hysupp.methods.params import Param
from hysupp.methods.registry import register

__all__ = ["MAP_SMM", "MAP_Hardie", "fit_smm", "fraction_vectors"]


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
    when None (``noise_var`` is in the data's units). ``srf`` is not used (the MS-HS relation is
    learnt through :math:`C_{zy}`); ``psf`` is estimated from the pair when None
    (:func:`hysupp.fusion.hsms.responses.resolve_responses`). :math:`\sigma^2` is floored at
    :math:`10^{-15}` times the largest eigenvalue of :math:`\Sigma`. Scale: the noise estimator's
    ridge is absolute, so the estimate runs on the data divided by
    :func:`~hysupp.fusion.hsms.common.data_scale` and the result is multiplied back.

    References
    ----------
    R. C. Hardie, M. T. Eismann, G. L. Wilson, "MAP estimation for hyperspectral image resolution
    enhancement using an auxiliary sensor", IEEE TIP 13(9), 1174-1184, 2004,
    doi:10.1109/TIP.2004.829779. (Class-conditional statistics of a stochastic mixing model
    instead of the global ones: :class:`MAP_SMM`.)

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

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:
        hs_in, ms_in = hs, ms
        scale = C.data_scale(hs, ms)
        hs = np.asarray(hs, dtype=np.float64) / scale
        ms = np.asarray(ms, dtype=np.float64) / scale
        L, h, w = hs.shape
        Cb, H, W = ms.shape
        if Cb >= h * w:
            raise InputError("MAP-Hardie: too few HS pixels to estimate the joint statistics")
        _, psf, rinfo = resolve_responses(hs, ms, ratio, srf, psf, method="MAP-Hardie", need_srf=False)
        if self.noise_var is None:
            from hysupp.unmixing.order import estimate_noise

            noise_var = float(np.mean(np.diag(estimate_noise(hs.reshape(L, -1))[1])))
        else:
            noise_var = float(self.noise_var) / scale ** 2
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
        Bf = C.kernel_fft(kernel, (H, W), ratio // 2)                       # blur whose ::ratio sampling is W
        resid = hs - np.real(np.fft.ifft2(np.fft.fft2(mu) * Bf))[:, ::ratio, ::ratio]
        g = (np.abs(Bf) ** 2).reshape(ratio, h, ratio, w).sum(axis=(0, 2)) / (ratio * ratio)   # symbol of W W^T
        rk = np.fft.fft2(np.tensordot(V.T, resid, axes=1))                  # eigen-bands, HS-grid spectra
        q = rk / (lam[:, None, None] * g[None] + max(noise_var, 1e-15 * max(float(lam.max()), 1e-300)))
        # W^T q: zero-fill to the HR grid (spectrum tiled), then the adjoint blur
        up = np.tile(q, (1, ratio, ratio)) * np.conj(Bf)[None]
        upd = np.real(np.fft.ifft2(up)) * lam[:, None, None]
        fused = (mu + np.tensordot(V, upd, axes=1)) * scale
        return C.finish("MAP-Hardie", fused, hs_in, ms_in,
                        {**rinfo, "noise_var": noise_var * scale ** 2,
                         "normalisation": {"kind": "decade", "scale": scale}})


# ---------------------------------------------------------------------------------------------
# MAP-SMM (Eismann & Hardie 2004, 2005)
# ---------------------------------------------------------------------------------------------

def fraction_vectors(n_endmembers: int, n_levels: int) -> np.ndarray:
    r"""All fraction vectors of the SMM mixture classes, ``(Q, M)``: the compositions of
    ``n_levels`` into ``M = n_endmembers`` non-negative parts, divided by ``n_levels``
    (:math:`a_{kj} \in \{0, 1/J, \dots, 1\}`, :math:`\sum_j a_{kj} = 1`), the pure classes first
    (row ``j``: endmember ``j``);
    :math:`Q = \binom{J + M - 1}{M - 1}`.

    >>> fraction_vectors(2, 2)
    array([[1. , 0. ],
           [0. , 1. ],
           [0.5, 0.5]])
    """
    from itertools import combinations

    rows = []
    for bars in combinations(range(n_levels + n_endmembers - 1), n_endmembers - 1):
        edges = (-1, *bars, n_levels + n_endmembers - 1)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(n_endmembers)])
    F = np.asarray(rows, dtype=np.float64) / n_levels
    mixed = F[F.max(axis=1) < 1.0]
    return np.vstack([np.eye(n_endmembers), mixed])


def _gauss_loglik(U: np.ndarray, means: np.ndarray, covs: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """``log N(u_i; m_k, C_k)`` for pixels ``U`` ``(D, n)`` and classes ``(D, Q)``, ``(Q, D, D)``:
    ``(Q, n)``, batched over the classes by Cholesky factors, ``chunk`` pixels at a time."""
    D, n = U.shape
    Lc = np.linalg.cholesky(covs)                                            # (Q, D, D)
    logdet = 2.0 * np.log(np.abs(np.diagonal(Lc, axis1=1, axis2=2))).sum(axis=1)
    out = np.empty((covs.shape[0], n))
    for s in range(0, n, chunk):
        diff = np.asarray(U[:, s:s + chunk], dtype=np.float64)[None] - means.T[:, :, None]   # (Q, D, c)
        w = np.linalg.solve(Lc, diff)
        out[:, s:s + chunk] = np.einsum("qdn,qdn->qn", w, w)
    return -0.5 * (out + logdet[:, None] + D * np.log(2.0 * np.pi))


def _psd(S: np.ndarray, floor: float) -> np.ndarray:
    """Symmetric part of the stack ``S`` ``(..., D, D)`` with its eigenvalues raised to ``floor``."""
    lam, V = np.linalg.eigh(0.5 * (S + np.swapaxes(S, -1, -2)))
    return (V * np.maximum(lam, floor)[..., None, :]) @ np.swapaxes(V, -1, -2)


def _mixed_stats(F: np.ndarray, m_pure: np.ndarray, C_pure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""SMM mixing rule: :math:`m_k = \sum_j a_{kj} m_j`, :math:`C_k = \sum_j a_{kj}^2 C_j`."""
    return m_pure @ F.T, np.tensordot(F ** 2, C_pure, axes=1)


def _endmember_update(U: np.ndarray, A: np.ndarray, m_old: np.ndarray, C_old: np.ndarray,
                      floor: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Least-squares endmember-class statistics from pixels ``U`` ``(D, n)`` with the fraction
    vectors ``A`` ``(n, M)`` of their classes:
    :math:`\min_{m}\sum_i\lVert u_i - \sum_j a_{ij} m_j\rVert^2`, then, with
    :math:`r_i = u_i - \sum_j a_{ij} m_j`,
    :math:`\min_{C}\sum_i\lVert r_i r_i^\top - \sum_j a_{ij}^2 C_j\rVert_F^2` (both with a tiny
    ridge towards the previous values, so an endmember no pixel uses keeps its statistics),
    covariances projected to eigenvalues ``>= floor``."""
    M = A.shape[1]
    G = A.T @ A
    eps = 1e-9 * max(float(np.trace(G)) / M, 1.0)
    m = np.linalg.solve(G + eps * np.eye(M), (U @ A + eps * m_old).T).T         # (D, M)
    R = U - m @ A.T
    B = A ** 2
    G2 = B.T @ B
    rhs = np.einsum("im,di,ei->mde", B, R, R)                                   # sum_i b_ij r_i r_i^T
    eps2 = 1e-9 * max(float(np.trace(G2)) / M, 1.0)
    C = np.linalg.solve(G2 + eps2 * np.eye(M), (rhs + eps2 * C_old).reshape(M, -1)).reshape(C_old.shape)
    return m, _psd(C, floor)


def _nfindr_init(P: np.ndarray, M: int, rng: np.random.Generator, keep: float = 0.98) -> np.ndarray:
    """Initial endmember-class means ``(K, M)``: N-FINDR vertices in the leading ``min(K, M-1)``
    components among the ``keep`` fraction of pixels nearest to the mean (Mahalanobis distance),
    the other components at the mean; random pixels if the data span too few dimensions."""
    from hysupp.unmixing.extractors.nfindr import nfindr_indices, random_affine_init

    K, n = P.shape
    mean = P.mean(axis=1, keepdims=True)
    cov = np.cov(P) if n > 1 else np.eye(K)
    d2 = np.einsum("kn,kn->n", P - mean, np.linalg.pinv(np.atleast_2d(cov)) @ (P - mean))
    sel = np.argsort(d2, kind="stable")[: max(int(np.floor(keep * n)), M)]
    dim = min(K, M - 1)
    m0 = np.repeat(mean, M, axis=1)
    try:
        Xs = P[:dim, sel]
        idx = nfindr_indices(Xs, random_affine_init(Xs, rng), max_sweeps=3 * (dim + 1))[0]
        m0[:dim, : dim + 1] = Xs[:, idx]
    except InputError:
        m0 = P[:, rng.choice(n, size=M, replace=n < M)]
    return m0


def fit_smm(P: np.ndarray, n_endmembers: int, n_levels: int, iters: int, rng: np.random.Generator,
            floor: float | None = None) -> dict[str, np.ndarray]:
    r"""Stochastic-EM fit of the stochastic mixing model to the pixels ``P`` ``(K, n)``.

    Returns the fraction vectors ``F`` ``(Q, M)``, the priors ``prior`` ``(Q,)``, the endmember
    class means ``m`` ``(K, M)`` and covariances ``C`` ``(M, K, K)``, the final (maximum
    posterior) mixture class of every pixel ``labels`` ``(n,)`` and the log-likelihood of every
    E-step ``loglik`` (``iters + 1`` values). See :class:`MAP_SMM` for the algorithm.
    """
    K, n = P.shape
    F = fraction_vectors(n_endmembers, n_levels)
    Q = F.shape[0]
    cov = np.atleast_2d(np.cov(P))
    if floor is None:
        floor = 1e-8 * max(float(np.trace(cov)) / K, 1e-300)
    m = _nfindr_init(P, n_endmembers, rng)
    C = np.repeat(_psd(cov, floor)[None], n_endmembers, axis=0)
    prior = np.full(Q, 1.0 / Q)
    history = []

    def posterior():
        mk, Ck = _mixed_stats(F, m, C)
        ll = _gauss_loglik(P, mk, _psd(Ck, floor)) + np.log(np.maximum(prior, 1e-300))[:, None]
        top = ll.max(axis=0)
        post = np.exp(ll - top)
        s = post.sum(axis=0)
        history.append(float(np.sum(top + np.log(s))))
        return post / s

    for _ in range(iters):
        post = posterior()
        cum = np.cumsum(post, axis=0)                                          # random class assignment
        labels = np.minimum((cum < rng.random(n)[None] * cum[-1]).sum(axis=0), Q - 1)
        prior = np.bincount(labels, minlength=Q) / n
        m, C = _endmember_update(P, F[labels], m, C, floor)
    post = posterior()
    labels = np.argmax(post, axis=0)
    return {"F": F, "prior": prior, "m": m, "C": C, "labels": labels, "loglik": np.asarray(history)}


def _pcg(apply_A, b: np.ndarray, precond, tol: float, maxiter: int) -> tuple[np.ndarray, int]:
    """Preconditioned conjugate gradients for the SPD operator ``apply_A`` from 0; returns
    ``(x, iterations)``; stops when the residual norm is ``<= tol * ||b||``."""
    x = np.zeros_like(b)
    r = b.copy()
    zr = precond(r)
    p = zr.copy()
    rz = float(np.vdot(r, zr))
    stop = tol * float(np.linalg.norm(b))
    it = 0
    while it < maxiter and float(np.linalg.norm(r)) > stop and rz > 0.0:
        it += 1
        Ap = apply_A(p)
        alpha = rz / float(np.vdot(p, Ap))
        x += alpha * p
        r -= alpha * Ap
        zr = precond(r)
        rz_new = float(np.vdot(r, zr))
        p = zr + (rz_new / rz) * p
        rz = rz_new
    return x, it


@register
class MAP_SMM(HSMSFuser):
    r"""MAP fusion with a stochastic mixing model (MAP-SMM; Eismann & Hardie 2004, 2005).

    Works on the ``K`` leading principal components of the HS image (``z``: HR, ``y``: observed),
    the other components being interpolated. With :math:`y = \mathcal W z + n`
    (:math:`\mathcal W`: HS blur and decimation, :math:`n \sim \mathcal N(0, \sigma^2 I)`) and the
    MS pixels :math:`x_j`:

    **1. Stochastic mixing model (SMM) of the HS pixels.** Each pixel is a mixture of ``M``
    random endmember classes :math:`\varepsilon_j \sim \mathcal N(m_j, C_j)`,
    :math:`u = \sum_j a_j \varepsilon_j`, with fraction vectors :math:`a` from the discrete set
    :math:`a_j \in \{0, \frac1J, \dots, 1\}`, :math:`\sum_j a_j = 1` (``J = n_levels``), i.e. a
    Gaussian mixture of :math:`Q = \binom{J+M-1}{M-1}` mixture classes

    .. math::

        p(u) = \sum_{k=1}^{Q} \pi_k\, \mathcal N\Big(u;\ \sum_j a_{kj} m_j,\ \sum_j a_{kj}^2 C_j\Big).

    It is fitted to the HS pixels (leading components) by stochastic expectation maximisation,
    ``iters`` times: posterior class probabilities; a random class drawn for every pixel from
    its posterior; priors :math:`\pi_k` = fraction of the pixels drawn into class :math:`k`;
    endmember statistics by least squares over the drawn classes,
    :math:`\min_m \sum_i \lVert u_i - \sum_j a_{k_i j} m_j\rVert^2` and, with the residuals
    :math:`r_i`, :math:`\min_C \sum_i \lVert r_i r_i^\top - \sum_j a_{k_i j}^2 C_j\rVert_F^2`
    (covariances projected onto the PSD cone). The means start from N-FINDR vertices in the
    leading ``M - 1`` components (98 % of the pixels nearest to the mean), the covariances from the
    global covariance, the priors uniform. Each pixel finally takes its maximum-posterior class.

    **2. Joint HS-MS class statistics (arbitrary response functions).** With the pixels of the
    MS degraded to the HS grid, :math:`\tilde x_i = [\mathcal W x]_i`, the endmember-class
    statistics of the joint vector :math:`u = [z; x]` are estimated by the same least-squares
    step from :math:`[y_i; \tilde x_i]` and the final classes, and mixed into the class
    statistics :math:`(m_{z,k}, m_{x,k}, C_{zz,k}, C_{zx,k}, C_{xx,k})`. The MS-HS relation is
    thus learnt from the data; ``srf`` is not used.

    **3. Class map and MAP estimate.** Every HR pixel gets the maximum-posterior mixture class
    :math:`k_j` of :math:`[z^{(0)}_j; x_j]` under the joint SMM, :math:`z^{(0)}` the interpolated HS.
    Given the classes, :math:`z_j \mid x_j \sim \mathcal N(\mu_j, \Sigma_{k_j})` with

    .. math::

        \mu_j = m_{z,k} + C_{zx,k}C_{xx,k}^{-1}(x_j - m_{x,k}),\qquad
        \Sigma_k = C_{zz,k} - C_{zx,k}C_{xx,k}^{-1}C_{xz,k},

    and the MAP estimate

    .. math::

        \hat z = \arg\min_z \frac{1}{\sigma^2}\lVert y - \mathcal W z\rVert^2
        + \sum_j (z_j - \mu_j)^\top \Sigma_{k_j}^{-1}(z_j - \mu_j)
        = \mu + P\mathcal W^\top(\mathcal W P \mathcal W^\top + \sigma^2 I)^{-1}(y - \mathcal W\mu),

    :math:`P = \operatorname{blkdiag}(\Sigma_{k_j})`, is computed by conjugate gradients on the
    HS-grid system (periodic blur by FFT), preconditioned by the exact inverse of that system for
    the class-averaged covariance :math:`\bar\Sigma = \sum_k \frac{N_k}{N}\Sigma_k` (one
    circulant system per eigen-direction of :math:`\bar\Sigma`, as :class:`MAP_Hardie`). ``outer_iter > 1`` alternates
    class map (from :math:`[\hat z_j; x_j]`) and estimate, as in the joint cost of Eismann &
    Hardie (2004). The fused image is the interpolated HS with its ``K`` leading components
    replaced by :math:`\hat z`. ``noise_var`` (:math:`\sigma^2`, white, the same in every
    component) is estimated by multiple regression when None.

    Simplifications (stated): the SMM is fitted on the HS grid and used on the MS grid; the
    endmember updates are the least-squares (moment) estimators above; there is no limit on the
    number of endmembers of a mixture class; the trailing components are interpolated
    (:func:`hysupp.fusion.hsms.common.upsample`). ``psf`` is estimated from the pair when None
    (:func:`hysupp.fusion.hsms.responses.resolve_responses`); ``noise_var`` is in the data's units.
    Scale: the fit runs on the data divided by :func:`~hysupp.fusion.hsms.common.data_scale`
    (absolute floors become relative) and the result is multiplied back. Defaults follow the
    MAPSMM code of Yokoya et al. (2017): ``M = 4`` endmember classes, ``J = 4`` fraction levels
    (35 mixture classes), 10 SEM iterations, ``K = M + 1`` components.

    References
    ----------
    M. T. Eismann, R. C. Hardie, "Hyperspectral resolution enhancement using high-resolution
    multispectral imagery with arbitrary response functions", IEEE TGRS 43(3), 455-465, 2005,
    doi:10.1109/TGRS.2004.837324.
    M. T. Eismann, R. C. Hardie, "Application of the stochastic mixing model to hyperspectral
    resolution enhancement", IEEE TGRS 42(9), 1924-1933, 2004, doi:10.1109/TGRS.2004.830644.
    N. Yokoya, C. Grohnfeldt, J. Chanussot, "Hyperspectral and multispectral data fusion: a
    comparative review of the recent literature", IEEE GRSM 5(2), 29-56, 2017,
    doi:10.1109/MGRS.2016.2637824.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> res = MAP_SMM(n_endmembers=3, n_levels=2).fuse(rng.random((6, 8, 8)), rng.random((2, 32, 32)), ratio=4)
    >>> res.fused.shape, res.fused.dtype, res.info["n_mixture_classes"]
    ((6, 32, 32), dtype('float32'), 6)
    """

    name: ClassVar[str] = "MAP-SMM"
    stochastic: ClassVar[bool] = True
    output_dtype: ClassVar[str] = "dtype"   # the fused cube has the dtype parameter's dtype
    params: ClassVar[tuple[Param, ...]] = (
        Param("n_endmembers", int, 4, "number of endmember classes M of the SMM", low=1),
        Param("n_levels", int, 4, "fraction levels J (fractions in {0, 1/J, ..., 1})", low=1),
        Param("iters", int, 10, "stochastic EM iterations of the SMM fit", low=0),
        Param("n_pc", int, None, "leading principal components estimated by MAP; None = n_endmembers + 1",
              low=1, optional=True),
        Param("outer_iter", int, 1, "class map / MAP estimate rounds", low=1),
        Param("noise_var", float, None, "HS noise variance sigma^2; None = estimate by multiple regression",
              low=0.0, optional=True),
        Param("cg_iter", int, 100, "maximum conjugate-gradient iterations of the MAP system", low=1),
        Param("cg_tol", float, 1e-8, "relative residual at which conjugate gradients stop (at least 10 eps of dtype)",
              low=0.0),
        Param("seed", int, 0, "seed of the N-FINDR start and the random class assignments"),
        Param("dtype", str, "float32", "dtype of the image-sized arrays and of the output (statistics are float64)",
              choices=("float32", "float64")),
    )
    reference: ClassVar[str] = (
        "M. T. Eismann, R. C. Hardie, \"Hyperspectral resolution enhancement using high-resolution multispectral "
        "imagery with arbitrary response functions\", IEEE TGRS 43(3), 2005, doi:10.1109/TGRS.2004.837324")

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:
        import scipy.fft as sfft

        dt = np.dtype(self.dtype)
        hs_in, ms_in = hs, ms
        scale = C.data_scale(hs, ms)
        hs = np.asarray(hs, dtype=np.float64) / scale
        ms = np.asarray(ms, dtype=np.float64) / scale
        L, h, w = hs.shape
        Cb, H, W = ms.shape
        n = h * w
        M = self.n_endmembers
        K = min(M + 1 if self.n_pc is None else self.n_pc, L)
        if n <= K + Cb:
            raise InputError("MAP-SMM: too few HS pixels to estimate the class statistics")
        _, psf, rinfo = resolve_responses(hs, ms, ratio, srf, psf, method="MAP-SMM", need_srf=False)
        rng = np.random.default_rng(self.seed)
        if self.noise_var is None:
            from hysupp.unmixing.order import estimate_noise

            noise_var = float(np.mean(np.diag(estimate_noise(hs.reshape(L, -1))[1])))
        else:
            noise_var = float(self.noise_var) / scale ** 2

        # principal components of the HS pixels
        Z = hs.reshape(L, n)
        mean = Z.mean(axis=1, keepdims=True)
        lam, V = np.linalg.eigh((Z - mean) @ (Z - mean).T / n)
        V = V[:, ::-1][:, :K]
        Y = V.T @ (Z - mean)                                                   # (K, n) observed components

        # 1. SMM of the HS pixels; 2. joint HS-MS statistics
        smm = fit_smm(Y, M, self.n_levels, self.iters, rng)
        F, prior = smm["F"], smm["prior"]
        Xl = C.degrade(ms, ratio, psf).reshape(Cb, n)
        U = np.vstack([Y, Xl])
        cov_u = np.cov(U)
        floor = 1e-8 * max(float(np.trace(cov_u)) / U.shape[0], 1e-300)
        m_old = np.vstack([smm["m"], np.repeat(Xl.mean(axis=1, keepdims=True), M, axis=1)])
        mj, Cj = _endmember_update(U, F[smm["labels"]], m_old, np.repeat(cov_u[None], M, axis=0), floor)
        mk, Ck = _mixed_stats(F, mj, Cj)
        Ck = _psd(Ck, floor)
        Czz, Czx, Cxx = Ck[:, :K, :K], Ck[:, :K, K:], Ck[:, K:, K:]
        G = np.linalg.solve(Cxx, np.swapaxes(Czx, 1, 2)).transpose(0, 2, 1)   # (Q, K, Cb) C_zx C_xx^-1
        Sig = _psd(Czz - G @ np.swapaxes(Czx, 1, 2), 0.0)                      # (Q, K, K)
        logprior = np.log(np.maximum(prior, 1e-300))

        # 3. class map and MAP estimate on the MS grid
        up = C.upsample(hs, ratio).astype(dt)                                  # (L, H, W)
        Xh = ms.reshape(Cb, -1)
        z0 = (V.T.astype(dt) @ (up.reshape(L, -1) - mean.astype(dt))).reshape(K, H, W)   # interpolated components
        z = z0.reshape(K, -1).astype(np.float64)
        kernel = C.psf_kernel(psf, ratio)
        Bf = C.kernel_fft(kernel, (H, W), ratio // 2).astype(np.complex64 if dt == np.float32 else np.complex128)
        yk = Y.reshape(K, h, w).astype(dt)
        sig2 = max(noise_var, 1e-12 * max(float(lam[-1]), 1e-300))
        g = (np.abs(Bf) ** 2).reshape(ratio, h, ratio, w).sum(axis=(0, 2)) / (ratio * ratio)   # symbol of W W^T

        def Wop(x):                                                           # (K, H, W) -> (K, h, w)
            return sfft.ifft2(sfft.fft2(x) * Bf).real[:, ::ratio, ::ratio]

        def Wt(q):                                                            # (K, h, w) -> (K, H, W)
            zf = np.zeros((q.shape[0], H, W), dtype=dt)
            zf[:, ::ratio, ::ratio] = q
            return sfft.ifft2(sfft.fft2(zf) * np.conj(Bf)).real

        total_cg = 0
        for _ in range(self.outer_iter):
            ll = _gauss_loglik(np.vstack([z, Xh]), mk, Ck) + logprior[:, None]
            cls = np.argmax(ll, axis=0)
            order = np.argsort(cls, kind="stable")
            bounds = np.searchsorted(cls[order], np.arange(F.shape[0] + 1))
            mu = np.empty((K, H * W))
            for k in np.unique(cls):
                idx = order[bounds[k]:bounds[k + 1]]
                mu[:, idx] = mk[:K, k:k + 1] + G[k] @ (Xh[:, idx] - mk[K:, k:k + 1])
            Sig_dt = Sig.astype(dt)

            def apply_P(v, order=order, bounds=bounds, cls=cls, Sig_dt=Sig_dt):
                flat = v.reshape(K, -1)
                out = np.empty_like(flat)
                for k in np.unique(cls):
                    idx = order[bounds[k]:bounds[k + 1]]
                    out[:, idx] = Sig_dt[k] @ flat[:, idx]
                return out.reshape(v.shape)

            mu_img = mu.reshape(K, H, W).astype(dt)
            resid = yk - Wop(mu_img)
            # preconditioner: the exact inverse for the class-averaged covariance (one circulant
            # system per eigen-direction of P_bar, as MAP-Hardie)
            frac = np.bincount(cls, minlength=F.shape[0]) / cls.size
            lam_b, V_b = np.linalg.eigh(np.tensordot(frac, Sig, axes=1))
            den = (np.maximum(lam_b, 0.0)[:, None, None] * g[None] + sig2).astype(dt)
            V_bt = V_b.astype(dt)

            def precond(r, V_bt=V_bt, den=den):
                return np.tensordot(V_bt, sfft.ifft2(sfft.fft2(np.tensordot(V_bt.T, r, axes=1)) / den).real, axes=1)

            q, it = _pcg(lambda v, apply_P=apply_P: Wop(apply_P(Wt(v))) + sig2 * v, resid, precond,
                         max(self.cg_tol, 10 * float(np.finfo(dt).eps)), self.cg_iter)
            total_cg += it
            zhat = mu_img + apply_P(Wt(q))
            z = zhat.reshape(K, -1).astype(np.float64)
        fused = (up + np.tensordot(V.astype(dt), zhat - z0, axes=1)) * dt.type(scale)
        info = {**rinfo, "noise_var": noise_var * scale ** 2, "normalisation": {"kind": "decade", "scale": scale},
                "n_pc": K, "n_mixture_classes": int(F.shape[0]), "smm_loglik": smm["loglik"].tolist(), "cg_iterations": total_cg,
                "class_counts_hs": np.bincount(smm["labels"], minlength=F.shape[0]).tolist(),
                "class_counts_ms": np.bincount(cls, minlength=F.shape[0]).tolist(), "seed": self.seed,
                "dtype": self.dtype}
        return C.finish("MAP-SMM", np.asarray(fused, dtype=dt), hs_in, ms_in, info)
