r"""Estimating the number of endmembers ``p`` (signal subspace dimension / virtual dimensionality).

* :func:`hysime` -- HySime (Bioucas-Dias & Nascimento, IEEE TGRS 46(8), 2008): estimates the noise
  by multiple regression (:func:`estimate_noise`), then keeps the eigenvectors of the signal
  correlation matrix for which the projection of the data has more power than twice the projected
  noise (the minimum of the mean squared projection error).
* :func:`hfc` -- the Harsanyi--Farrand--Chang test of virtual dimensionality (Chang & Du, IEEE TGRS
  42(3), 2004): counts the eigenvalues of the correlation matrix that exceed the matching eigenvalues
  of the covariance matrix by more than a Neyman--Pearson threshold; ``whiten=True`` (or
  :func:`nwhfc`) first whitens the noise (NWHFC).
* :func:`estimate_p` -- one call for ``hysupp run --p auto``: ``estimate_p(Y, method)`` -> ``int``.

Everything is computed from the ``(L, L)`` moment matrices, accumulated over pixel chunks in
float64, so the cost is one pass over the image plus :math:`O(L^3)`.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> E = rng.random((50, 4)); A = rng.dirichlet(np.ones(4), 2000).T
>>> Y = E @ A + 1e-3 * rng.standard_normal((50, 2000))
>>> estimate_p(Y), estimate_p(E @ A, method="hfc"), estimate_p(E @ A, method="nwhfc")
(4, 4, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from hysupp.errors import InputError, ParameterError

__all__ = ["HFCResult", "HySimeResult", "estimate_noise", "estimate_p", "hfc", "hysime", "nwhfc"]

_CHUNK = 16384
_METHODS = ("hysime", "hfc", "nwhfc")


def _as_pixels(Y: object) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim == 3:
        Y = Y.reshape(Y.shape[0], -1)
    if Y.ndim != 2 or Y.shape[0] < 2 or Y.shape[1] < 2:
        raise InputError(f"Y must be a pixel matrix (L, N) or a cube (L, H, W) with L, N >= 2, got shape {Y.shape}")
    if not np.isfinite(Y).all():
        raise InputError("Y has NaN/Inf values; mask or fill them before estimating p")
    return Y


def _moments(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(L,)`` and correlation ``Y Y^T / N`` ``(L, L)``, float64, by chunks."""
    L, N = Y.shape
    s = np.zeros(L)
    R = np.zeros((L, L))
    for c0 in range(0, N, _CHUNK):
        Yc = np.asarray(Y[:, c0:c0 + _CHUNK], dtype=np.float64)
        s += Yc.sum(axis=1)
        R += Yc @ Yc.T
    return s / N, R / N


def _regression_operator(R: np.ndarray, N: int, small: float) -> np.ndarray:
    r"""``P`` with ``P Y`` = the multiple-regression residuals of every band on all the others.

    With :math:`S = (Y Y^\top + \epsilon I)^{-1}`, the residual of the (ridge) regression of band
    ``i`` on the other bands is :math:`(S y)_i / S_{ii}` (block inversion), so
    :math:`P = \operatorname{diag}(S)^{-1} S` -- the vectorised form of estNoise's per-band loop.
    """
    L = R.shape[0]
    S = np.linalg.inv(R * N + small * np.eye(L))
    S = 0.5 * (S + S.T)
    return S / np.diag(S)[:, None]


def estimate_noise(Y: object, noise_type: str = "additive", small: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    r"""Noise of every pixel by multiple regression (Bioucas-Dias & Nascimento, 2008, Sec. III).

    Each band is modelled as a linear combination of the other bands,
    :math:`y_i = Y_{\partial i}^\top \beta_i + \xi_i`, with
    :math:`\hat\beta_i = (Y_{\partial i} Y_{\partial i}^\top + \epsilon I)^{-1} Y_{\partial i} y_i`;
    the residuals :math:`\hat\xi_i = y_i - Y_{\partial i}^\top \hat\beta_i` estimate the noise
    (``noise_type="additive"``). For ``"poisson"`` (signal-dependent noise) the regression runs on
    :math:`\sqrt{y}` and the residuals :math:`u` are mapped back as :math:`2 u \sqrt{(\sqrt y - u)^2}`.

    Parameters
    ----------
    Y : array_like, shape (L, N) or (L, H, W)
    noise_type : {"additive", "poisson"}
    small : float
        Ridge :math:`\epsilon` added to :math:`Y Y^\top` (estNoise's ``small``).

    Returns
    -------
    noise : ndarray (L, N), float64
        The noise estimate of every pixel.
    noise_cov : ndarray (L, L)
        Its correlation matrix: diagonal (per-band variances) for additive noise, full for Poisson.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> Y = rng.random((20, 3)) @ rng.dirichlet(np.ones(3), 4000).T
    >>> W, Rn = estimate_noise(Y + 0.01 * rng.standard_normal(Y.shape))
    >>> bool(np.allclose(np.sqrt(np.diag(Rn)), 0.01, rtol=0.2))
    True
    """
    if noise_type not in ("additive", "poisson"):
        raise ParameterError(f"noise_type must be 'additive' or 'poisson', got {noise_type!r}")
    Y = np.asarray(_as_pixels(Y), dtype=np.float64)
    N = Y.shape[1]
    if noise_type == "poisson":
        sq = np.sqrt(np.maximum(Y, 0.0))
        _, R = _moments(sq)
        u = _regression_operator(R, N, small) @ sq
        W = 2.0 * u * np.abs(sq - u)
        return W, W @ W.T / N
    _, R = _moments(Y)
    W = _regression_operator(R, N, small) @ Y
    return W, np.diag(np.einsum("ij,ij->i", W, W) / N)


@dataclass
class HySimeResult:
    """Output of :func:`hysime`.

    Attributes
    ----------
    p : int
        Signal subspace dimension (the number of endmembers).
    basis : ndarray (L, p)
        Orthonormal eigenvectors spanning the signal subspace (most negative cost first).
    noise_cov : ndarray (L, L)
        Estimated noise correlation matrix (diagonal for additive noise), before the small ridge
        HySime adds to it.
    cost : ndarray (L,)
        HySime's cost :math:`-P_y + 2 P_n` of each eigenvector of the signal correlation matrix
        (in their order, largest eigenvalue first); negative = signal.
    eigenvalues : ndarray (L,)
        Eigenvalues of the estimated signal correlation matrix, decreasing.
    """

    p: int
    basis: np.ndarray
    noise_cov: np.ndarray
    cost: np.ndarray
    eigenvalues: np.ndarray

    def __iter__(self):
        """Unpack as ``p, basis, noise_cov``."""
        return iter((self.p, self.basis, self.noise_cov))


def hysime(Y: object, noise_type: str = "additive", *, noise_cov: np.ndarray | None = None,
           small: float = 1e-6) -> HySimeResult:
    r"""HySime: hyperspectral signal subspace identification by minimum error.

    Bioucas-Dias & Nascimento, IEEE TGRS 46(8), 2435-2445, 2008, doi:10.1109/TGRS.2008.918089.
    With the noise :math:`\hat N` estimated by multiple regression (:func:`estimate_noise`),
    :math:`\hat R_x = (Y - \hat N)(Y - \hat N)^\top / N = \sum_i \lambda_i e_i e_i^\top` (signal
    correlation), :math:`\hat R_y = Y Y^\top / N` and :math:`\hat R_n` the noise correlation (plus
    the ridge :math:`\operatorname{tr}(\hat R_x) / (10^5 L)\, I`), the mean squared error of
    projecting onto a subset :math:`\mathcal K` of the eigenvectors is, up to a constant,

    .. math::

        \sum_{i \in \mathcal K} \big(-e_i^\top \hat R_y e_i + 2\, e_i^\top \hat R_n e_i\big),

    minimised by keeping every :math:`e_i` of negative cost (paper eqs. 22-24): ``p`` is their
    number. Correlation (not covariance) matrices are used, as in the paper, so noise-free data of
    exact rank ``p`` give exactly ``p``.

    For additive noise everything is formed from ``(L, L)`` matrices: with
    :math:`P = \operatorname{diag}(S)^{-1} S`, :math:`S = (Y Y^\top + \epsilon I)^{-1}`, the noise
    is :math:`P Y`, so :math:`\hat R_n = \operatorname{diag}(P \hat R_y P^\top)` and
    :math:`\hat R_x = (I - P) \hat R_y (I - P)^\top`, without an ``(L, N)`` noise matrix.

    Parameters
    ----------
    Y : array_like, shape (L, N) or (L, H, W)
    noise_type : {"additive", "poisson"}
        Noise model of :func:`estimate_noise`.
    noise_cov : ndarray (L, L), optional
        A known noise correlation matrix (skips the noise estimation; the signal correlation is then
        :math:`\hat R_y - R_n`).
    small : float
        Ridge of the multiple regression.

    Returns
    -------
    HySimeResult
        Unpacks as ``p, basis, noise_cov``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.random((40, 3)) @ rng.dirichlet(np.ones(3), 1000).T
    >>> p, basis, Rn = hysime(Y + 1e-3 * rng.standard_normal(Y.shape))
    >>> p, basis.shape
    (3, (40, 3))
    """
    if noise_type not in ("additive", "poisson"):
        raise ParameterError(f"noise_type must be 'additive' or 'poisson', got {noise_type!r}")
    Y = _as_pixels(Y)
    L, N = Y.shape
    _, Ry = _moments(Y)
    if noise_cov is not None:
        Rn = np.asarray(noise_cov, dtype=np.float64)
        if Rn.shape != (L, L):
            raise InputError(f"noise_cov must have shape ({L}, {L}), got {Rn.shape}")
        Rx = Ry - Rn
    elif noise_type == "additive":
        P = _regression_operator(Ry, N, small)
        Rn = np.diag(((P @ Ry) * P).sum(axis=1))
        IP = np.eye(L) - P
        Rx = IP @ Ry @ IP.T
    else:
        W, Rn = estimate_noise(Y, "poisson", small)
        X = np.asarray(Y, dtype=np.float64) - W
        Rx = X @ X.T / N
    Rx = 0.5 * (Rx + Rx.T)
    dx, Ev = np.linalg.eigh(Rx)
    dx, Ev = dx[::-1], Ev[:, ::-1]
    Rn_reg = Rn + np.trace(Rx) / L / 1e5 * np.eye(L)
    Py = ((Ry @ Ev) * Ev).sum(axis=0)
    Pn = ((Rn_reg @ Ev) * Ev).sum(axis=0)
    cost = -Py + 2.0 * Pn
    k = int((cost < 0).sum())
    order = np.argsort(cost, kind="stable")
    return HySimeResult(p=k, basis=Ev[:, order[:k]], noise_cov=Rn, cost=cost, eigenvalues=dx)


@dataclass
class HFCResult:
    """Output of :func:`hfc` / :func:`nwhfc`.

    Attributes
    ----------
    p : int
        Virtual dimensionality: the number of eigenvalue pairs passing the test.
    eig_corr, eig_cov : ndarray (L,)
        Eigenvalues of the sample correlation :math:`R` and covariance :math:`K` matrices
        (decreasing; those under the numerical-rank tolerance set to 0).
    threshold : ndarray (L,)
        Neyman--Pearson thresholds :math:`\\tau_l`.
    passed : ndarray (L,) of bool
        :math:`\\hat\\lambda_l - \\lambda_l > \\tau_l`.
    pf : float
        False-alarm probability.
    whitened : bool
        Whether the noise was whitened first (NWHFC).
    noise_free : bool
        Whether the data were numerically noise-free, so the zero-threshold rule applied.
    """

    p: int
    eig_corr: np.ndarray
    eig_cov: np.ndarray
    threshold: np.ndarray
    passed: np.ndarray
    pf: float
    whitened: bool
    noise_free: bool = False


def hfc(Y: object, pf: float = 1e-3, *, whiten: bool = False, noise_free: str = "auto", small: float = 1e-6,
        noise_floor: float = 1e-8) -> HFCResult:
    r"""Harsanyi--Farrand--Chang (HFC) virtual dimensionality (Chang & Du, 2004).

    Chang & Du, "Estimation of number of spectrally distinct signal sources in hyperspectral
    imagery", IEEE TGRS 42(3), 608-619, 2004, doi:10.1109/TGRS.2003.819189. With the sample
    correlation :math:`R = Y Y^\top / N` (eigenvalues :math:`\hat\lambda_1 \ge \dots \ge
    \hat\lambda_L`) and covariance :math:`K = R - \bar y \bar y^\top` (eigenvalues
    :math:`\lambda_l`), a component carrying only zero-mean noise has :math:`\hat\lambda_l =
    \lambda_l`, a signal component :math:`\hat\lambda_l > \lambda_l`. Each pair is tested,

    .. math::

        H_0: \hat\lambda_l - \lambda_l = 0 \quad\text{vs}\quad H_1: \hat\lambda_l - \lambda_l > 0,
        \qquad \sigma_l^2 \approx \frac{2\hat\lambda_l^2}{N} + \frac{2\lambda_l^2}{N},

    and :math:`H_1` is accepted when :math:`\hat\lambda_l - \lambda_l > \tau_l =
    \sigma_l\, \Phi^{-1}(1 - P_F)` (Neyman--Pearson detector at false-alarm probability
    :math:`P_F`); ``p`` is the number of accepted pairs.

    Conventions (documented because implementations differ):

    * :math:`R` is the *correlation matrix* :math:`Y Y^\top / N` and :math:`K` the covariance with
      the same :math:`1/N` normalisation, so :math:`R = K + \bar y \bar y^\top` holds exactly (by
      interlacing, :math:`\hat\lambda_l \ge \lambda_l` for every ``l``). pysptools' ``HfcVd`` uses
      the matrix of correlation *coefficients* (``np.corrcoef``, unit diagonal) against the
      covariance, which are not comparable and gives different counts.
    * Round-off: eigenvalues below :math:`\mathrm{tol} = L\,\max(\varepsilon_{64},
      \varepsilon_{\mathrm{in}}^2)\,\hat\lambda_1` (float64 round-off of the eigensolver, or the
      rounding of float32 input data, whose error enters the eigenvalues squared) are set to 0.
    * Noise-free data (``noise_free="auto"``): when :math:`R` is numerically rank-deficient (fewer
      than :math:`\min(L, N)` non-zero eigenvalues after the rounding above: no noise fills the
      remaining dimensions), the
      noise variance is 0, the distribution of :math:`\hat\lambda_l - \lambda_l` under
      :math:`H_0` is a point mass at 0, and the paper's plug-in
      :math:`\sigma_l^2` (which estimates the noise variance of a component by its observed
      eigenvalues) does not apply: the thresholds become :math:`\tau_l = \mathrm{tol}`, i.e. every
      pair with :math:`\hat\lambda_l > \lambda_l` counts. For exact linear mixtures of ``p``
      endmembers off the origin :math:`R` has rank ``p`` and :math:`K` rank ``p - 1``, and this gives
      ``p``. The plug-in test on the same data can miss components whose eigenvector is nearly
      orthogonal to the mean (e.g. 4 instead of 5 on DC1, 7 instead of 9 on DC2): the same happens
      with noise at any SNR (HFC is known to underestimate on such scenes).
      ``noise_free="never"`` always applies the paper's test.
    * ``whiten=True`` (NWHFC): the bands are first divided by the noise standard deviations
      estimated by multiple regression (:func:`estimate_noise`; the inter-band prediction
      residuals, as the paper's noise estimate), floored at ``noise_floor`` times the mean band
      variance so that noise-free data (whose residuals vanish) are left unweighted.

    Parameters
    ----------
    Y : array_like, shape (L, N) or (L, H, W)
    pf : float
        False-alarm probability :math:`P_F` (the paper's 1e-3 default).
    whiten : bool
        Noise-whitened HFC (NWHFC).
    noise_free : {"auto", "never"}
        Zero thresholds on numerically rank-deficient (noise-free) data (see above), or never.
    small : float
        Ridge of the regression in the noise estimate (NWHFC only).
    noise_floor : float
        Relative floor of the noise variances (NWHFC only).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.random((30, 4)) @ rng.dirichlet(np.ones(4), 1000).T
    >>> hfc(Y).p                                   # noise-free, exact rank 4
    4
    """
    if not 0.0 < pf < 1.0:
        raise ParameterError(f"pf (false-alarm probability) must be in (0, 1), got {pf!r}")
    if noise_free not in ("auto", "never"):
        raise ParameterError(f"noise_free must be 'auto' or 'never', got {noise_free!r}")
    Y = _as_pixels(Y)
    eps_in = float(np.finfo(Y.dtype).eps) if np.issubdtype(Y.dtype, np.floating) else 0.0
    L, N = Y.shape
    mean, R = _moments(Y)
    if whiten:
        P = _regression_operator(R, N, small)
        var = ((P @ R) * P).sum(axis=1)
        band_var = np.diag(R) - mean ** 2
        floor = noise_floor * max(float(band_var.mean()), np.finfo(float).tiny)
        s = 1.0 / np.sqrt(np.maximum(var, floor))
        R = R * np.outer(s, s)
        mean = mean * s
    K = R - np.outer(mean, mean)
    lam_r = np.linalg.eigvalsh(0.5 * (R + R.T))[::-1]
    lam_k = np.linalg.eigvalsh(0.5 * (K + K.T))[::-1]
    tol = L * max(float(np.finfo(np.float64).eps), eps_in ** 2) * max(float(lam_r[0]), 0.0)
    lam_r = np.where(lam_r > tol, lam_r, 0.0)
    lam_k = np.where(lam_k > tol, lam_k, 0.0)
    # noise fills every dimension it can: rank(R) = min(L, N); fewer non-zero eigenvalues = noise-free
    exact = noise_free == "auto" and int((lam_r > 0.0).sum()) < min(L, N)
    if exact:
        tau = np.full(L, tol)
    else:
        tau = np.sqrt(2.0 * (lam_r ** 2 + lam_k ** 2) / N) * norm.isf(pf)
    passed = (lam_r - lam_k) > tau
    return HFCResult(p=int(passed.sum()), eig_corr=lam_r, eig_cov=lam_k, threshold=tau, passed=passed,
                     pf=float(pf), whitened=bool(whiten), noise_free=exact)


def nwhfc(Y: object, pf: float = 1e-3, **kw) -> HFCResult:
    """Noise-whitened HFC: :func:`hfc` with ``whiten=True`` (Chang & Du, 2004, Sec. IV)."""
    return hfc(Y, pf, whiten=True, **kw)


def estimate_p(Y: object, method: str = "hysime", **kw) -> int:
    """Estimated number of endmembers of ``Y`` ``(L, N)`` or ``(L, H, W)``.

    Parameters
    ----------
    Y : array_like
    method : {"hysime", "hfc", "nwhfc"}
        :func:`hysime`, :func:`hfc` or :func:`nwhfc`.
    **kw
        Passed to that function (e.g. ``pf=1e-4`` for HFC, ``noise_type="poisson"`` for HySime).

    Returns
    -------
    int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> estimate_p(rng.random((30, 5)) @ rng.dirichlet(np.ones(5), 800).T, method="hfc")
    5
    """
    key = str(method).strip().lower()
    if key == "hysime":
        return hysime(Y, **kw).p
    if key == "hfc":
        return hfc(Y, **kw).p
    if key == "nwhfc":
        return nwhfc(Y, **kw).p
    raise ParameterError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
