r"""Fusion metrics (pansharpening, HS-MS fusion): plain functions with declared conventions (DESIGN §4).

Images are cubes ``(L, H, W)`` (bands first, as :class:`hysupp.scene.Scene`); a 2-D array is one
band. The first argument is the reference (ground truth, or the MS/PAN the fused image is
compared with), the second the fused image. Everything is computed in float64 whatever the input
dtype, so DN and [0, 1]-scaled inputs give the same scale-invariant values (Q2n, SAM, ERGAS, CC,
SCC, Q, the QNR family).

Reduced-resolution (reference) metrics
--------------------------------------
With reference :math:`x` and fused :math:`\hat x`, band :math:`b`, pixel :math:`n`,
:math:`N` pixels:

* ``rmse``: :math:`\sqrt{\frac{1}{LN}\sum_{b,n}(x_{bn}-\hat x_{bn})^2}` (input units); per band with
  ``per_band=True``.
* ``psnr``: per band :math:`10\log_{10}(P_b^2 / \mathrm{MSE}_b)` dB, averaged over bands; the peak
  :math:`P_b` is declared: ``"global"`` (max of the whole reference), ``"band"`` (max of band
  :math:`b` of the reference) or a number (e.g. ``2**L - 1``).
* ``sam``: per-pixel angle :math:`\arccos\frac{\langle x_n,\hat x_n\rangle}{\|x_n\|\|\hat x_n\|}` in
  degrees, averaged over the *valid* pixels, those with :math:`\|x_n\|\|\hat x_n\| \neq 0`
  (the toolbox's ``SAM.m`` drops zero-norm pixels from the mean; its map shows them as 90°, ours
  as NaN). The cosine is clipped to [-1, 1] (the toolbox's ``real(acos(.))``).
* ``ergas``: :math:`\frac{100}{r}\sqrt{\frac{1}{L}\sum_b \mathrm{MSE}_b / \mu_b^2}` with
  :math:`\mu_b` the mean of reference band :math:`b` and :math:`r` the resolution ratio
  (PAN / MS pixel-size ratio; the "100/ratio" convention of Wald and the toolbox).
* ``cc``: Pearson correlation per band, mean over bands.
* ``scc``: spatial correlation of high-pass details. ``"sobel"`` (toolbox ``SCC.m``, default): the
  one-pixel frame is dropped, each band is filtered with the horizontal and vertical Sobel kernels
  (``imfilter`` zero padding), the gradient magnitudes :math:`g, \hat g` give
  :math:`\sum g\hat g / \sqrt{\sum g^2 \sum \hat g^2}` over all bands and pixels (uncentred).
  ``"laplacian"`` (Zhou et al. 1998): the 3x3 Laplacian ``[[-1,-1,-1],[-1,8,-1],[-1,-1,-1]]``
  (symmetric borders) and the Pearson correlation per band, averaged.
* ``q_index`` / ``uiqi`` (Wang & Bovik 2002): in each ``block`` x ``block`` window (32) of each band
  :math:`Q = \frac{4\sigma_{x\hat x}\mu_x\mu_{\hat x}}{(\sigma_x^2+\sigma_{\hat x}^2)(\mu_x^2+\mu_{\hat x}^2)}`;
  the toolbox's ``Q.m``/``img_qi.m`` slide the window by one pixel (``stride=1``, all "valid"
  positions), average the map and then the bands. Degenerate windows as ``img_qi.m``:
  :math:`\sigma_x^2+\sigma_{\hat x}^2 = 0` gives :math:`2\mu_x\mu_{\hat x}/(\mu_x^2+\mu_{\hat x}^2)`,
  and 1 when the means vanish too.
* ``ssim``: :func:`skimage.metrics.structural_similarity` per band, Wang et al. (2004) settings
  (Gaussian window sigma 1.5, ``K1=0.01``, ``K2=0.03``, population covariance), ``data_range`` as
  the PSNR peak; mean over bands.
* ``q2n`` (Q4/Q8/Q2^n; Garzelli & Nencini 2009): pixels are hypercomplex numbers with
  :math:`2^{\lceil\log_2 L\rceil}` components (bands padded with zeros). In each ``block`` x
  ``block`` block (32, shift = block as ``indexes_evaluation.m``; the image is first extended by
  mirror symmetry so the blocks cover it), every band of both images is normalised with the
  reference block's mean and standard deviation (:math:`z = (v - \mu_b)/s_b + 1`), and with
  :math:`\bar z` the block means and :math:`z^*` the conjugate

  .. math::
      Q_{2^n} = \frac{|\sigma_{z\hat z}|}{\sigma_z\sigma_{\hat z}}
      \cdot\frac{2\sigma_z\sigma_{\hat z}}{\sigma_z^2+\sigma_{\hat z}^2}
      \cdot\frac{2|\bar z||\bar{\hat z}|}{|\bar z|^2+|\bar{\hat z}|^2}
      = \frac{4\,|\sigma_{z\hat z}|\,|\bar z||\bar{\hat z}|}
      {(\sigma_z^2+\sigma_{\hat z}^2)(|\bar z|^2+|\bar{\hat z}|^2)},\quad
      \sigma_{z\hat z} = \tfrac{N}{N-1}\left(\overline{z\,\hat z^*} - \bar z\,\bar{\hat z}^*\right)

  with the Cayley-Dickson product of hypercomplex numbers; the value is the mean over blocks.
  Computed in float64 on the given values. The toolbox's ``q2n.m`` converts both images to
  ``uint16`` first (rounding, saturating at 0 and 65535), so its value changes when the images are
  scaled to [0, 1] (they become 0/1 images); ``toolbox_uint16=True`` reproduces that rounding
  for parity. Degenerate blocks follow ``onions_quality.m`` (std 0 -> eps; a block whose band mean
  is exactly 0 shifts the fused band by +1 without dividing by the std; zero total variance gives
  the mean-bias term alone).

Full-resolution (no reference) metrics
--------------------------------------
With the fused image :math:`\hat x` (PAN scale), the MS :math:`m` (MS scale) and the PAN
:math:`p`, :math:`Q(\cdot,\cdot)` the UIQI on non-overlapping ``block`` x ``block`` blocks
(``blockproc``), averaged over the blocks:

* ``d_lambda`` (Alparone et al. 2008): :math:`\left(\frac{2}{L(L-1)}\sum_{i<j}|Q(\hat x_i,\hat x_j)
  - Q(m_i, m_j)|^p\right)^{1/p}`. ``convention="toolbox"`` (toolbox 1.0, ``flag_orig_paper = 0``):
  :math:`m` is the MS interpolated to the PAN grid (``ms_up``; interp23tap of ``ms`` when not
  given) and both use ``block``; ``"paper"``: the MS at its own scale with ``block / ratio`` blocks.
* ``d_s``: :math:`\left(\frac1L\sum_b |Q(\hat x_b, p) - Q(m_b, \tilde p)|^q\right)^{1/q}` with the
  degraded PAN :math:`\tilde p` = ``imresize(p, 1/ratio)`` (MATLAB bicubic with antialiasing),
  interpolated back with interp23tap and compared with ``ms_up`` in the toolbox convention, or at
  the MS scale with ``block / ratio`` blocks (``"paper"``). ``pan_degradation="mtf"`` uses the
  sensor's PAN MTF + decimation instead of ``imresize``.
* ``qnr``: :math:`(1-D_\lambda)^\alpha (1-D_s)^\beta`.
* ``d_lambda_khan`` (Khan, Alparone, Chanussot 2009): :math:`1 - Q_{2^n}(m, \mathrm{MTF}(\hat x))`.
  ``convention="toolbox"`` (``D_lambda_K.m``): the fused image is filtered with the per-band sensor
  MTF on the PAN grid (not decimated) and compared with ``ms_up`` in ``block`` blocks;
  ``"paper"``: the MTF-filtered image is decimated (:func:`reproject`) and compared with ``ms``.
* ``hqnr``: :math:`(1 - D_\lambda^{K})(1 - D_s)`.
* ``d_rho`` (Scarpa & Ciotola 2022): :math:`1 - \overline{\rho}` with :math:`\rho` the local
  correlation coefficient between each fused band and the PAN in square windows of side ``ratio``
  (``2 * ceil(ratio / 2)``), clipped to [-1, 1], averaged over pixels and bands.
* Block sizes: the full-resolution block indices (D_lambda, D_s, Khan's D_lambda) use whole
  ``block`` x ``block`` blocks; on an image whose sides are not multiples of ``block`` they keep
  the top-left whole blocks (``block_edges="crop"``, default; the toolbox stops with an error),
  or extend the image symmetrically (``"pad"``), or refuse (``"error"``) -- :func:`fit_blocks`,
  recorded by :func:`evaluate_fusion` as ``fr_block_edges`` with the evaluated area. The RR Q2n
  extends the image symmetrically to whole blocks, as ``q2n.m``.
* ``reproject``: the reprojection protocol, :math:`D(\mathrm{MTF}(\hat x))`: sensor MTF per band +
  decimation (phase ``ratio // 2``, ``imresize(.., 'nearest')``), so the result can be compared
  with the MS by any reference metric (:func:`evaluate_fusion` with ``protocol="fr"`` reports
  ``reprojection_q2n``, ``reprojection_sam``, ``reprojection_ergas``).

Border crop and clipping (:func:`crop_border`, :func:`evaluate_fusion`) are parameters recorded
in the result's ``conventions``. ``border=k`` follows the toolbox's ``flag_cut_bounds``/``dim_cut``
indexing ``I(dim_cut:end-dim_cut)`` (1-based), which drops ``k - 1`` leading and ``k`` trailing
rows and columns; ``clip=True`` is the toolbox's ``th_values`` (values clipped to
:math:`[0, 2^L]`).

References
----------
L. Wald, T. Ranchin, M. Mangolini, "Fusion of satellite images of different spatial
resolutions: assessing the quality of resulting images", PE&RS 63(6):691-699, 1997.
Z. Wang, A. C. Bovik, "A universal image quality index", IEEE SPL 9(3):81-84, 2002,
doi:10.1109/97.995823.
Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error
visibility to structural similarity", IEEE TIP 13(4):600-612, 2004, doi:10.1109/TIP.2003.819861.
J. Zhou, D. L. Civco, J. A. Silander, "A wavelet transform method to merge Landsat TM and SPOT
panchromatic data", IJRS 19(4):743-757, 1998, doi:10.1080/014311698215973.
A. Garzelli, F. Nencini, "Hypercomplex quality assessment of multi/hyperspectral images", IEEE
GRSL 6(4):662-665, 2009, doi:10.1109/LGRS.2009.2022650.
L. Alparone, B. Aiazzi, S. Baronti, A. Garzelli, F. Nencini, M. Selva, "Multispectral and
panchromatic data fusion assessment without reference", PE&RS 74(2):193-200, 2008,
doi:10.14358/PERS.74.2.193.
M. M. Khan, L. Alparone, J. Chanussot, "Pansharpening quality assessment using the modulation
transfer functions of instruments", IEEE TGRS 47(11):3880-3891, 2009,
doi:10.1109/TGRS.2009.2029094.
G. Scarpa, M. Ciotola, "Full-resolution quality assessment for pansharpening", Remote Sens.
14(8):1808, 2022, doi:10.3390/rs14081808; M. Ciotola et al., IEEE TGRS 60, 2022,
doi:10.1109/TGRS.2022.3211617.
G. Vivone et al., "A critical comparison among pansharpening algorithms", IEEE TGRS
53(5):2565-2586, 2015 (toolbox; copy liangjiandeng/DLPan-Toolbox @ a34f884).

Example
-------
>>> import numpy as np
>>> from hysupp.metrics.fusion import evaluate_fusion, q2n, sam, ergas
>>> rng = np.random.default_rng(0)
>>> ref = rng.uniform(100, 2000, size=(4, 64, 64))
>>> round(q2n(ref, ref), 12), sam(ref, ref), ergas(ref, ref, ratio=4)
(1.0, 0.0, 0.0)
>>> rec = evaluate_fusion(ref, 1.01 * ref, ratio=4)     # a gain error: no angle, ERGAS > 0
>>> round(rec["sam_deg"], 5), round(rec["ergas"], 4), rec["conventions"]["border"]
(0.0, 0.2818, 0)
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from hysupp.errors import InputError, ParameterError
from hysupp.progress import tracker

__all__ = [
    "FUSION_CONVENTIONS",
    "TOOLBOX_DIM_CUT",
    "cc",
    "clip_values",
    "crop_border",
    "d_lambda",
    "d_lambda_khan",
    "d_rho",
    "d_s",
    "ergas",
    "evaluate_fusion",
    "fit_blocks",
    "hqnr",
    "hypercomplex_multiply",
    "psnr",
    "q2n",
    "q_index",
    "qnr",
    "reproject",
    "rmse",
    "sam",
    "scc",
    "ssim",
    "uiqi",
]

#: The toolbox's reduced-resolution demo crop (``dim_cut = 21`` with ``flag_cut_bounds = 1``).
TOOLBOX_DIM_CUT = 21

_EPS = np.finfo(np.float64).eps

#: Definitions used by :func:`evaluate_fusion`, recorded in every result.
FUSION_CONVENTIONS: dict[str, Any] = {
    "layout": "(L, H, W) cubes, float64",
    "rmse": "sqrt(mean((ref - fused)^2)) over all bands and pixels, input units",
    "psnr_db": "mean over bands of 10 log10(peak_b^2 / MSE_b); peak declared in 'psnr_peak'",
    "sam_deg": "mean over pixels with |ref||fused| != 0 of the per-pixel angle, degrees (toolbox SAM.m)",
    "ergas": "100/ratio * sqrt(mean_b MSE_b / mean(ref_b)^2) (toolbox ERGAS.m)",
    "cc": "Pearson correlation per band, mean over bands",
    "scc": "toolbox SCC.m: Sobel gradient magnitude on the image without its 1-px frame (zero padding), "
           "uncentred correlation over all bands",
    "q": "UIQI in 32x32 windows sliding by 1 px (toolbox Q.m/img_qi.m), mean over windows then bands",
    "ssim": "skimage structural_similarity per band (gaussian sigma 1.5, K1 0.01, K2 0.03, population "
            "covariance), data_range = psnr peak; mean over bands",
    "q2n": "Garzelli-Nencini Q2^n, 32x32 blocks shifted by 32 after mirror extension, bands zero-padded "
           "to 2^n, float64 (no uint16 rounding unless q2n_uint16)",
    "d_lambda": "Alparone 2008 QNR D_lambda, p=1, UIQI on non-overlapping 32x32 blocks; toolbox 1.0 "
                "convention (MS interpolated to the PAN grid); sides not multiples of the block: see "
                "fr_block_edges (default: the whole blocks only)",
    "d_s": "Alparone 2008 D_s, q=1, PAN degraded with MATLAB imresize(P, 1/ratio) then interp23tap "
           "(toolbox 1.0 convention)",
    "qnr": "(1 - D_lambda)^alpha (1 - D_s)^beta, alpha = beta = 1",
    "d_lambda_khan": "Khan 2009, toolbox D_lambda_K.m: 1 - Q2n(MS interpolated, MTF(fused)) with 32x32 "
                     "blocks, MTF filter without decimation; kernels of unit gain unless mtf_gain='toolbox'",
    "hqnr": "(1 - D_lambda_khan)(1 - D_s)",
    "d_rho": "Scarpa-Ciotola 2022: 1 - mean local correlation (window side 2*ceil(ratio/2)) of each "
             "fused band with the PAN, clipped to [-1, 1]",
    "reprojection": "fused degraded with the sensor MTF (per band) + decimation at phase ratio//2, "
                    "compared with the MS",
}


# ------------------------------------------------------------------------------- input helpers
def _cube(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise InputError(f"{name} could not be converted to an array: {exc}") from exc
    if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"{name} must have shape (L, H, W) or (H, W); got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty: shape {arr.shape}")
    return arr.astype(np.float64, copy=False)


def _pair(ref: Any, fused: Any, names: tuple[str, str] = ("reference", "fused")) -> tuple[np.ndarray, np.ndarray]:
    r, f = _cube(ref, names[0]), _cube(fused, names[1])
    if r.shape != f.shape:
        raise InputError(f"{names[0]} and {names[1]} must have the same shape (L, H, W); got "
                         f"{r.shape} and {f.shape}")
    return r, f


def _check_ratio(ratio: Any) -> int | float:
    try:
        r = float(ratio)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"ratio must be a positive number, got {ratio!r}") from exc
    if not r > 0 or not math.isfinite(r):
        raise ParameterError(f"ratio must be a positive number, got {ratio!r}")
    return int(r) if r == int(r) else r


def _check_int_ratio(ratio: Any) -> int:
    r = _check_ratio(ratio)
    if not isinstance(r, int) or r < 1:
        raise ParameterError(f"ratio must be a positive integer here, got {ratio!r}")
    return r


def _check_block(block: Any, name: str = "block") -> int:
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 2:
        raise ParameterError(f"{name} must be an integer >= 2, got {block!r}")
    return int(block)


# ------------------------------------------------------------------------------- crop / clip
def crop_border(x: Any, border: int | None, *, convention: Literal["toolbox", "symmetric"] = "toolbox") -> np.ndarray:
    """Drop a frame of pixels from a cube ``(L, H, W)`` (or an image ``(H, W)``).

    ``convention="toolbox"``: ``flag_cut_bounds``/``dim_cut`` indexing of the toolbox,
    ``I(k:end-k)`` in 1-based MATLAB, i.e. ``x[..., k-1:H-k, k-1:W-k]``: ``k - 1`` leading and ``k``
    trailing rows/columns are dropped. ``"symmetric"``: ``k`` on each side. ``border`` 0 or None:
    no crop.

    >>> import numpy as np
    >>> crop_border(np.zeros((2, 50, 40)), 21).shape
    (2, 9, 0)
    >>> crop_border(np.zeros((2, 50, 40)), 5, convention="symmetric").shape
    (2, 40, 30)
    """
    arr = np.asarray(x)
    if border is None or border == 0:
        return arr
    if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 0:
        raise ParameterError(f"border must be a non-negative integer, got {border!r}")
    k = int(border)
    H, W = arr.shape[-2:]
    if convention == "toolbox":
        return arr[..., k - 1:H - k, k - 1:W - k]
    if convention == "symmetric":
        return arr[..., k:H - k, k:W - k]
    raise ParameterError(f"border convention must be 'toolbox' or 'symmetric', got {convention!r}")


def clip_values(x: Any, clip: Any, L: int | None = None) -> tuple[np.ndarray, list[float] | None]:
    """Clip ``x``: ``clip=True`` -> ``[0, 2**L]`` (toolbox ``th_values``), ``(lo, hi)`` explicit,
    ``None``/``False`` nothing. Returns the array (float64) and the bounds used (or None).

    >>> clip_values([[-1.0, 5000.0]], True, L=11)[0].tolist(), clip_values([1.0], True, L=11)[1]
    ([[0.0, 2048.0]], [0.0, 2048.0])
    """
    arr = np.asarray(x, dtype=np.float64)
    if clip is None or clip is False:
        return arr, None
    if clip is True:
        if L is None:
            raise ParameterError("clip=True needs the bit depth L (values clipped to [0, 2**L])")
        lo, hi = 0.0, float(2 ** int(L))
    else:
        try:
            lo, hi = (float(v) for v in clip)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"clip must be None, True or (lo, hi); got {clip!r}") from exc
        if not lo < hi:
            raise ParameterError(f"clip bounds must satisfy lo < hi, got {clip!r}")
    return np.clip(arr, lo, hi), [lo, hi]


# ------------------------------------------------------------------------------- simple metrics
def _mse_per_band(r: np.ndarray, f: np.ndarray) -> np.ndarray:
    return np.mean((r - f) ** 2, axis=(1, 2))


def rmse(reference: Any, fused: Any, *, per_band: bool = False) -> float | np.ndarray:
    r"""Root-mean-square error over all bands and pixels (``per_band=True``: ``(L,)`` per band).

    >>> rmse([[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 3.0]])   # sqrt((1 + 1 + 1 + 9) / 4)
    1.7320508075688772
    """
    r, f = _pair(reference, fused)
    mse = _mse_per_band(r, f)
    return np.sqrt(mse) if per_band else float(np.sqrt(np.mean(mse)))


def _peaks(r: np.ndarray, peak: Any) -> np.ndarray:
    if isinstance(peak, str):
        p = peak.lower()
        if p == "global":
            return np.full(r.shape[0], float(np.max(r)))
        if p == "band":
            return np.max(r, axis=(1, 2))
        raise ParameterError(f"peak must be 'global', 'band' or a positive number; got {peak!r}")
    try:
        v = float(peak)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"peak must be 'global', 'band' or a positive number; got {peak!r}") from exc
    if not v > 0:
        raise ParameterError(f"peak must be positive, got {peak!r}")
    return np.full(r.shape[0], v)


def psnr(reference: Any, fused: Any, *, peak: Any = "global", per_band: bool = False) -> float | np.ndarray:
    r"""Peak signal-to-noise ratio in dB: per band :math:`10\log_{10}(P_b^2/\mathrm{MSE}_b)`, mean over bands.

    Parameters
    ----------
    peak : {"global", "band"} or float
        ``"global"``: the maximum of the whole reference (one peak for all bands); ``"band"``: the
        maximum of each reference band; a number: a fixed peak (``2**L - 1`` for L-bit data, 1 for
        reflectance).
    per_band : bool
        Return the ``(L,)`` per-band values instead of their mean. A band with zero error gives inf.

    >>> round(psnr([[1.0, 0.0]], [[0.9, 0.0]]), 6)          # 10 log10(1 / 0.005)
    23.0103
    """
    r, f = _pair(reference, fused)
    P = _peaks(r, peak)
    mse = _mse_per_band(r, f)
    with np.errstate(divide="ignore"):
        vals = 10.0 * np.log10(P ** 2 / mse)
    return vals if per_band else float(np.mean(vals))


def sam(reference: Any, fused: Any, *, per_pixel: bool = False) -> float | np.ndarray:
    r"""Spectral angle mapper in degrees, averaged over pixels with non-zero norms (toolbox ``SAM.m``).

    ``per_pixel=True`` returns the ``(H, W)`` map (NaN where a norm is zero). Returns NaN when no
    pixel is valid.

    >>> round(sam(np.array([[[1.0]], [[0.0]]]), np.array([[[1.0]], [[1.0]]])), 12)
    45.0
    """
    r, f = _pair(reference, fused)
    dot = np.einsum("bhw,bhw->hw", r, f)
    nrm = np.sqrt(np.einsum("bhw,bhw->hw", r, r) * np.einsum("bhw,bhw->hw", f, f))
    valid = nrm != 0
    cosang = np.full(dot.shape, np.nan)
    cosang[valid] = np.clip(dot[valid] / nrm[valid], -1.0, 1.0)
    ang = np.degrees(np.arccos(cosang))
    if per_pixel:
        return ang
    if not valid.any():
        return float("nan")
    # mean of the radian angles, then degrees (the toolbox's order of operations)
    return float(np.degrees(np.mean(np.arccos(cosang[valid]))))


def ergas(reference: Any, fused: Any, *, ratio: Any) -> float:
    r"""ERGAS: :math:`\frac{100}{r}\sqrt{\frac1L\sum_b \mathrm{MSE}_b/\mu_b^2}` (toolbox ``ERGAS.m``).

    ``ratio`` is the resolution ratio r (e.g. 4 for 0.5 m PAN / 2 m MS); :math:`\mu_b` is the mean
    of reference band b.

    >>> ergas([[2.0, 2.0]], [[1.0, 3.0]], ratio=4)          # 25 * sqrt(1 / 4)
    12.5
    """
    r, f = _pair(reference, fused)
    rt = _check_ratio(ratio)
    mu = np.mean(r, axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        val = (100.0 / rt) * np.sqrt(np.mean(_mse_per_band(r, f) / mu ** 2))
    return float(val)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float(np.sum(a * a)) * float(np.sum(b * b)))
    return float(np.sum(a * b)) / den if den > 0 else float("nan")


def cc(reference: Any, fused: Any, *, per_band: bool = False) -> float | np.ndarray:
    """Pearson correlation coefficient per band; mean over bands (or ``(L,)`` with ``per_band``).

    >>> cc([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]])                  # doctest: +ELLIPSIS
    0.99339...
    """
    r, f = _pair(reference, fused)
    vals = np.array([_pearson(r[b], f[b]) for b in range(r.shape[0])])
    return vals if per_band else float(np.mean(vals))


_SOBEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])
_LAPLACIAN = np.array([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])


def _sobel_magnitude(x: np.ndarray) -> np.ndarray:
    inner = x[:, 1:-1, 1:-1]
    out = np.empty_like(inner)
    for b in range(inner.shape[0]):
        gy = ndimage.correlate(inner[b], _SOBEL, mode="constant", cval=0.0)
        gx = ndimage.correlate(inner[b], _SOBEL.T, mode="constant", cval=0.0)
        out[b] = np.hypot(gy, gx)
    return out


def scc(reference: Any, fused: Any, *, filter: Literal["sobel", "laplacian"] = "sobel") -> float:
    r"""Spatial correlation coefficient of high-pass details.

    ``"sobel"`` (toolbox ``SCC.m``): Sobel gradient magnitudes of the images without their
    one-pixel frame (zero padding inside), uncentred correlation
    :math:`\sum g\hat g/\sqrt{\sum g^2\sum\hat g^2}` over all bands. ``"laplacian"`` (Zhou et al.
    1998): 3x3 Laplacian high-pass (symmetric borders), Pearson correlation per band, mean.

    >>> x = np.arange(25.0).reshape(5, 5) ** 2
    >>> round(scc(x, 2 * x), 12), round(scc(x, x + 3, filter="laplacian"), 12)
    (1.0, 1.0)
    """
    r, f = _pair(reference, fused)
    if filter == "sobel":
        if min(r.shape[1:]) < 3:
            raise InputError(f"scc (sobel) needs images of at least 3 x 3 pixels; got {r.shape[1:]}")
        gr, gf = _sobel_magnitude(r), _sobel_magnitude(f)
        den = math.sqrt(float(np.sum(gr * gr)) * float(np.sum(gf * gf)))
        return float(np.sum(gr * gf)) / den if den > 0 else float("nan")
    if filter == "laplacian":
        vals = [_pearson(ndimage.correlate(r[b], _LAPLACIAN, mode="reflect"),
                         ndimage.correlate(f[b], _LAPLACIAN, mode="reflect")) for b in range(r.shape[0])]
        return float(np.mean(vals))
    raise ParameterError(f"filter must be 'sobel' or 'laplacian', got {filter!r}")


# ------------------------------------------------------------------------------- UIQI
def _window_sums(x: np.ndarray, block: int, stride: int) -> np.ndarray:
    """Sums of ``x`` (..., H, W) over ``block`` x ``block`` windows at multiples of ``stride``."""
    if stride == block:
        H, W = x.shape[-2:]
        nh, nw = H // block, W // block
        v = x[..., :nh * block, :nw * block].reshape(x.shape[:-2] + (nh, block, nw, block))
        return v.sum(axis=(-3, -1))
    c = np.cumsum(np.cumsum(x, axis=-2), axis=-1)
    c = np.pad(c, [(0, 0)] * (x.ndim - 2) + [(1, 0), (1, 0)])
    s = c[..., block:, block:] - c[..., :-block, block:] - c[..., block:, :-block] + c[..., :-block, :-block]
    return s[..., ::stride, ::stride]


def _uiqi_map(x: np.ndarray, y: np.ndarray, block: int, stride: int,
              degenerate: Literal["toolbox", "nan"] = "toolbox") -> np.ndarray:
    """UIQI of every window; x, y (..., H, W). Variances from mean-removed data (accuracy)."""
    n = float(block * block)
    cx = x.mean(axis=(-2, -1), keepdims=True)
    cy = y.mean(axis=(-2, -1), keepdims=True)
    xc, yc = x - cx, y - cy
    sx, sy = _window_sums(xc, block, stride), _window_sums(yc, block, stride)
    sxx, syy = _window_sums(xc * xc, block, stride), _window_sums(yc * yc, block, stride)
    sxy = _window_sums(xc * yc, block, stride)
    vx = np.maximum(sxx / n - (sx / n) ** 2, 0.0)
    vy = np.maximum(syy / n - (sy / n) ** 2, 0.0)
    cxy = sxy / n - (sx / n) * (sy / n)
    mx = sx / n + cx
    my = sy / n + cy
    den_v = vx + vy
    den_m = mx * mx + my * my
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 4.0 * cxy * mx * my / (den_v * den_m)
        if degenerate == "toolbox":
            q = np.where(den_v == 0, np.where(den_m != 0, 2.0 * mx * my / den_m, 1.0), q)
            q = np.where((den_v != 0) & (den_m == 0), 1.0, q)
    return q


def q_index(reference: Any, fused: Any, *, block: int = 32, stride: int = 1,
            per_band: bool = False) -> float | np.ndarray:
    r"""Universal image quality index (Wang & Bovik 2002) in ``block`` x ``block`` windows.

    Windows slide by ``stride`` pixels (1: every "valid" position, toolbox ``Q.m``/``img_qi.m``;
    ``stride=block``: non-overlapping blocks). The map is averaged, then the bands (``per_band``
    returns ``(L,)``). Windows with zero variances follow ``img_qi.m`` (see the module notes).

    >>> x = np.arange(16.0).reshape(4, 4) + 1
    >>> q_index(x, x, block=2), round(q_index(x, 2 * x, block=4, stride=4), 12)   # 16 / 25
    (1.0, 0.64)
    """
    r, f = _pair(reference, fused)
    block = _check_block(block)
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ParameterError(f"stride must be a positive integer, got {stride!r}")
    if min(r.shape[1:]) < block:
        raise InputError(f"q_index needs images of at least {block} x {block} pixels; got {r.shape[1:]}")
    qm = _uiqi_map(r, f, block, int(stride))
    vals = qm.mean(axis=(-2, -1))
    return vals if per_band else float(np.mean(vals))


uiqi = q_index


def _blocks_q(x: np.ndarray, y: np.ndarray, S: int) -> float:
    """Mean UIQI over non-overlapping S x S blocks (blockproc); sides are multiples of S
    (:func:`fit_blocks`)."""
    H, W = x.shape[-2:]
    if H % S or W % S:
        raise InputError(f"image sides must be multiples of the block size {S}; got {H} x {W}")
    return float(np.mean(_uiqi_map(x, y, S, S, degenerate="toolbox")))


BLOCK_EDGES = ("crop", "pad", "error")


def fit_blocks(arrays: list[np.ndarray], block: int, edges: str = "crop", *,
               what: str = "image") -> list[np.ndarray]:
    """Make the sides of ``arrays`` (same ``(H, W)``) multiples of ``block`` for block indices.

    ``"crop"`` (default of the full-resolution indices): keep the top-left
    ``block * floor(H / block)`` x ``block * floor(W / block)`` pixels, the whole blocks
    ``blockproc`` would visit (the toolbox's ``D_lambda.m``/``D_s.m``/``D_lambda_K.m`` stop with an
    error instead); ``"pad"``: extend the bottom and right edges by half-sample symmetry to the next
    multiple (what ``q2n.m`` does for Q2n); ``"error"``: refuse (the toolbox's behaviour).

    >>> [a.shape for a in fit_blocks([np.zeros((2, 70, 40))], 32)]
    [(2, 64, 32)]
    >>> [a.shape for a in fit_blocks([np.zeros((2, 70, 40))], 32, "pad")]
    [(2, 96, 64)]
    """
    if edges not in BLOCK_EDGES:
        raise ParameterError(f"block edges must be one of {', '.join(BLOCK_EDGES)}, got {edges!r}")
    H, W = arrays[0].shape[-2:]
    if H % block == 0 and W % block == 0:
        return list(arrays)
    if edges == "error":
        raise InputError(f"{what} sides must be multiples of the block size {block}; got {H} x {W} "
                         f"(block_edges='crop' or 'pad' evaluates it anyway)")
    if edges == "crop":
        h, w = H // block * block, W // block * block
        if h == 0 or w == 0:
            raise InputError(f"{what} of {H} x {W} pixels is smaller than one {block} x {block} block")
        return [a[..., :h, :w] for a in arrays]
    ph, pw = -H % block, -W % block
    if ph > H or pw > W:
        raise InputError(f"{what} of {H} x {W} pixels is too small to pad to {block} x {block} blocks")
    pad = [(0, 0)] * (arrays[0].ndim - 2) + [(0, ph), (0, pw)]
    return [np.pad(a, pad, mode="symmetric") for a in arrays]


def ssim(reference: Any, fused: Any, *, data_range: Any = "global", per_band: bool = False,
         **kwargs: Any) -> float | np.ndarray:
    """SSIM (Wang et al. 2004) per band via :func:`skimage.metrics.structural_similarity`, mean over bands.

    Settings: ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False`` (the paper's);
    ``data_range`` as the ``peak`` of :func:`psnr` (``"global"``, ``"band"`` or a number). Extra
    keyword arguments go to skimage.

    >>> x = np.random.default_rng(0).uniform(0, 1, (2, 16, 16))
    >>> ssim(x, x)
    1.0
    """
    from skimage.metrics import structural_similarity

    r, f = _pair(reference, fused)
    P = _peaks(r, data_range)
    opts = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
    opts.update(kwargs)
    vals = np.array([structural_similarity(r[b], f[b], data_range=float(P[b]), **opts)
                     for b in range(r.shape[0])])
    return vals if per_band else float(np.mean(vals))


# ------------------------------------------------------------------------------- Q2n
def _conj(v: np.ndarray) -> np.ndarray:
    out = -v
    out[0] = v[0]
    return out


def hypercomplex_multiply(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Product of hypercomplex numbers stored along axis 0 (``2^n`` components), as the toolbox's Q2n.

    The recursion of ``onion_mult.m`` / ``onion_mult2D.m`` (Garzelli & Nencini 2009): with
    :math:`x = (a, B)`, :math:`y = (c, D)` split into halves and :math:`v^*` negating every
    component of :math:`v` but the first,
    :math:`xy = (a c - D^* B,\; a^* D^* + c B^*)`; one component: the real product. For two
    components this is the complex product; for four or more it is the toolbox's own doubling
    rule, not the textbook Cayley-Dickson one (e.g. ``e0 * e3 = -e3`` for four components).
    Q2n is defined with this product, so it is reproduced exactly.

    >>> i = np.array([0.0, 1.0])
    >>> hypercomplex_multiply(i, i).tolist()                        # complex: i * i = -1
    [-1.0, 0.0]
    >>> e = np.eye(4)
    >>> hypercomplex_multiply(e[1], e[2]).tolist(), hypercomplex_multiply(e[0], e[3]).tolist()
    ([0.0, 0.0, 0.0, -1.0], [0.0, 0.0, 0.0, -1.0])
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    if n != y.shape[0] or n & (n - 1):
        raise InputError(f"hypercomplex numbers need the same power-of-two length; got {n}, {y.shape[0]}")
    if n == 1:
        return x * y
    h = n // 2
    a, b = x[:h], _conj(x[h:])
    c, d = y[:h], _conj(y[h:])
    first = hypercomplex_multiply(a, c) - hypercomplex_multiply(d, _conj(b))
    second = hypercomplex_multiply(_conj(a), d) + hypercomplex_multiply(c, b)
    return np.concatenate([first, second], axis=0)


def _matlab_uint16(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint16(x)``: round half away from zero, saturate to [0, 65535], NaN -> 0."""
    out = np.where(np.isnan(x), 0.0, x)
    out = np.sign(out) * np.floor(np.abs(out) + 0.5)
    return np.clip(out, 0.0, 65535.0)


def _q2n_blocks(z1: np.ndarray, z2: np.ndarray) -> np.ndarray:
    """Q2n of each block: z1, z2 (C, nb, N) with C a power of two; returns (nb,)."""
    N = z1.shape[2]
    s = z1.mean(axis=2, keepdims=True)
    t = z1.std(axis=2, ddof=1, keepdims=True) if N > 1 else np.zeros_like(s)
    t = np.where(t == 0, _EPS, t)
    a = (z1 - s) / t + 1.0
    bnorm = np.where(s == 0, z2 - s + 1.0, (z2 - s) / t + 1.0)   # onions_quality.m: no /t when mean 0
    bc = _conj(bnorm)
    m1 = a.mean(axis=2)                      # (C, nb)
    m2 = bc.mean(axis=2)
    k = N / (N - 1.0)
    mod1m2 = np.sum(m1 * m1, axis=0)
    mod2m2 = np.sum(m2 * m2, axis=0)
    int1 = k * np.mean(np.sum(a * a, axis=0), axis=1)
    int2 = k * np.mean(np.sum(bc * bc, axis=0), axis=1)
    term3 = int1 + int2 - k * (mod1m2 + mod2m2)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_bias = 2.0 * np.sqrt(mod1m2) * np.sqrt(mod2m2) / (mod1m2 + mod2m2)
        qu = hypercomplex_multiply(a, bc).mean(axis=2)          # (C, nb)
        qm = hypercomplex_multiply(m1, m2)
        q = k * (qu - qm) * (mean_bias * 2.0 / term3)[None]
        val = np.sqrt(np.sum(q * q, axis=0))
    return np.where(term3 == 0, np.abs(mean_bias), val)


def q2n(reference: Any, fused: Any, *, block: int = 32, shift: int | None = None,
        toolbox_uint16: bool = False, return_map: bool = False) -> float | tuple[float, np.ndarray]:
    r"""Hypercomplex quality index Q2^n (Q4 for 4 bands, Q8 for 8; Garzelli & Nencini 2009).

    Parameters
    ----------
    reference, fused : array_like, shape (L, H, W)
        Bands are padded with zero bands up to :math:`2^{\lceil \log_2 L \rceil}` components.
    block : int
        Block side (32).
    shift : int, optional
        Step between blocks; default ``block`` (non-overlapping, as ``indexes_evaluation.m``). The
        image is extended by mirror symmetry (edge repeated) so that the blocks cover it, as
        ``q2n.m``.
    toolbox_uint16 : bool
        Round both images to MATLAB ``uint16`` first, as ``q2n.m`` does (parity only: makes the
        value depend on the data scale).
    return_map : bool
        Also return the ``(n_rows, n_cols)`` map of block values.

    Returns
    -------
    float
        Mean over blocks; 1 for identical images. Invariant to a common positive scaling.

    >>> rng = np.random.default_rng(1)
    >>> x = rng.uniform(0, 1, (3, 40, 40))
    >>> round(q2n(x, x), 12)
    1.0
    >>> y = x + 0.05 * rng.standard_normal(x.shape)
    >>> abs(q2n(x, y) - q2n(2047 * x, 2047 * y)) < 1e-12
    True
    """
    r, f = _pair(reference, fused)
    block = _check_block(block)
    step = block if shift is None else int(shift)
    if step < 1:
        raise ParameterError(f"shift must be a positive integer, got {shift!r}")
    L, H, W = r.shape
    ny, nx = math.ceil(H / step), math.ceil(W / step)
    ey, ex = (ny - 1) * step + block - H, (nx - 1) * step + block - W
    if ey > 0 or ex > 0:
        if ey > H or ex > W:
            raise InputError(f"image {H} x {W} too small for {block} x {block} blocks")
        pad = [(0, 0), (0, max(ey, 0)), (0, max(ex, 0))]
        r = np.pad(r, pad, mode="symmetric")
        f = np.pad(f, pad, mode="symmetric")
    if toolbox_uint16:
        r, f = _matlab_uint16(r), _matlab_uint16(f)
    C = 1 << max(0, math.ceil(math.log2(L)))
    if C > L:
        zeros = np.zeros((C - L,) + r.shape[1:])
        r = np.concatenate([r, zeros])
        f = np.concatenate([f, zeros])
    iy = np.arange(ny)[:, None] * step + np.arange(block)[None, :]      # (ny, block)
    ix = np.arange(nx)[:, None] * step + np.arange(block)[None, :]

    def blocks(v: np.ndarray) -> np.ndarray:
        b = v[:, iy[:, None, :, None], ix[None, :, None, :]]            # (C, ny, nx, block, block)
        return b.reshape(C, ny * nx, block * block)

    vals = _q2n_blocks(blocks(r), blocks(f)).reshape(ny, nx)
    value = float(np.mean(vals))
    return (value, vals) if return_map else value


# ------------------------------------------------------------------------------- full resolution
def _ms_up(ms: np.ndarray, ratio: int, ms_up: Any, shape: tuple[int, int]) -> np.ndarray:
    if ms_up is not None:
        up = _cube(ms_up, "ms_up")
    else:
        from hysupp.physics.sampling import interp23tap

        up = np.asarray(interp23tap(ms, ratio), dtype=np.float64)
    if up.shape[1:] != shape or up.shape[0] != ms.shape[0]:
        raise InputError(f"ms_up must have shape {(ms.shape[0],) + shape}; got {up.shape}")
    return up


def _fr_inputs(fused: Any, ms: Any, ratio: Any) -> tuple[np.ndarray, np.ndarray, int]:
    f = _cube(fused, "fused")
    m = _cube(ms, "ms")
    r = _check_int_ratio(ratio)
    if m.shape[0] != f.shape[0]:
        raise InputError(f"fused has {f.shape[0]} bands but ms has {m.shape[0]}")
    if (m.shape[1] * r, m.shape[2] * r) != f.shape[1:]:
        raise InputError(f"fused {f.shape[1:]} must be ratio={r} times the MS size {m.shape[1:]}")
    return f, m, r


def _check_conv(convention: str) -> str:
    if convention not in ("toolbox", "paper"):
        raise ParameterError(f"convention must be 'toolbox' or 'paper', got {convention!r}")
    return convention


def d_lambda(fused: Any, ms: Any, *, ratio: int, ms_up: Any = None, block: int = 32, p: float = 1.0,
             convention: Literal["toolbox", "paper"] = "toolbox", block_edges: str = "crop") -> float:
    r"""Spectral distortion :math:`D_\lambda` of QNR (Alparone et al. 2008).

    Parameters
    ----------
    fused : array_like, shape (L, H, W)
        Fused image on the PAN grid.
    ms : array_like, shape (L, H / ratio, W / ratio)
        The original MS.
    ratio : int
        Resolution ratio.
    ms_up : array_like, optional
        MS interpolated to the PAN grid (toolbox convention); default ``interp23tap(ms, ratio)``.
    block : int
        Block side at the PAN scale (32); blocks do not overlap.
    p : float
        Exponent (1).
    convention : {"toolbox", "paper"}
        ``toolbox``: inter-band Q of ``ms_up`` in ``block`` blocks (toolbox 1.0,
        ``flag_orig_paper = 0``); ``paper``: of ``ms`` in ``block / ratio`` blocks.
    block_edges : {"crop", "pad", "error"}
        Sides that are not multiples of ``block`` (:func:`fit_blocks`): the whole blocks only
        (default; the same region at the MS scale for ``paper``), a symmetric extension, or an error
        (the toolbox).

    >>> rng = np.random.default_rng(0)
    >>> ms = rng.uniform(100, 200, (3, 8, 8))
    >>> from hysupp.physics.sampling import interp23tap
    >>> up = interp23tap(ms, 4)
    >>> d_lambda(up, ms, ratio=4)
    0.0
    """
    f, m, r = _fr_inputs(fused, ms, ratio)
    S = _check_block(block)
    if _check_conv(convention) == "toolbox":
        f, ref = fit_blocks([f, _ms_up(m, r, ms_up, f.shape[1:])], S, block_edges, what="fused")
        Sr = S
    else:
        if S % r:
            raise ParameterError(f"block {S} must be a multiple of ratio {r} for the paper convention")
        Sr = S // r
        (f,) = fit_blocks([f], S, block_edges, what="fused")
        (ref,) = fit_blocks([m], Sr, block_edges, what="ms")
    L = f.shape[0]
    if L < 2:
        raise InputError("d_lambda needs at least two bands")
    acc = 0.0
    bar, done = tracker("D_lambda", total=L * (L - 1) // 2, unit="pair"), 0
    for i in range(L - 1):
        for j in range(i + 1, L):
            acc += abs(_blocks_q(f[i], f[j], S) - _blocks_q(ref[i], ref[j], Sr)) ** p
            done += 1
            bar.update(done)
    bar.close()
    return float((acc / (L * (L - 1) / 2)) ** (1.0 / p))


def _degrade_pan(pan: np.ndarray, ratio: int, how: str, sensor: Any, mtf_design: str) -> np.ndarray:
    if how == "imresize":
        from hysupp.physics.sampling import ImresizeBicubic

        return np.asarray(ImresizeBicubic(ratio)(pan), dtype=np.float64)
    if how == "mtf":
        if sensor is None:
            raise ParameterError("pan_degradation='mtf' needs a sensor")
        from hysupp.physics.mtf import mtf_blur
        from hysupp.physics.sampling import Decimation

        B = mtf_blur(sensor, ratio, pan=True, design=mtf_design)
        return np.asarray(Decimation(ratio, "center")(B(pan[None])[0]), dtype=np.float64)
    raise ParameterError(f"pan_degradation must be 'imresize' or 'mtf', got {how!r}")


def d_s(fused: Any, ms: Any, pan: Any, *, ratio: int, ms_up: Any = None, block: int = 32, q: float = 1.0,
        convention: Literal["toolbox", "paper"] = "toolbox",
        pan_degradation: Literal["imresize", "mtf"] = "imresize", sensor: Any = None,
        mtf_design: str = "toolbox", block_edges: str = "crop") -> float:
    r"""Spatial distortion :math:`D_s` of QNR (Alparone et al. 2008).

    :math:`\left(\frac1L\sum_b |Q(\hat x_b, P) - Q(m_b, \tilde P)|^q\right)^{1/q}` with the PAN
    degraded by ``pan_degradation`` (``imresize``: MATLAB bicubic ``imresize(P, 1/ratio)``;
    ``mtf``: the sensor's PAN MTF + decimation). ``convention="toolbox"``: the degraded PAN is
    interpolated back (interp23tap) and compared with ``ms_up`` in ``block`` blocks;
    ``"paper"``: compared with ``ms`` in ``block / ratio`` blocks. ``block_edges``: as
    :func:`d_lambda` (the PAN is degraded on the whole image, then cropped).

    >>> rng = np.random.default_rng(0)
    >>> pan = rng.uniform(100, 200, (32, 32))
    >>> ms = rng.uniform(100, 200, (2, 8, 8))
    >>> 0.0 <= d_s(np.stack([pan, pan]), ms, pan, ratio=4, block=16) <= 2.0
    True
    """
    f, m, r = _fr_inputs(fused, ms, ratio)
    P = _cube(pan, "pan")
    if P.shape[0] != 1 or P.shape[1:] != f.shape[1:]:
        raise InputError(f"pan must be one band of size {f.shape[1:]}; got {P.shape}")
    P = P[0]
    S = _check_block(block)
    p_lr = _degrade_pan(P, r, pan_degradation, sensor, mtf_design)
    if _check_conv(convention) == "toolbox":
        from hysupp.physics.sampling import interp23tap

        f, P, ref, p_ref = fit_blocks([f, P, _ms_up(m, r, ms_up, f.shape[1:]), np.asarray(interp23tap(p_lr, r))],
                                      S, block_edges, what="fused")
        Sr = S
    else:
        if S % r:
            raise ParameterError(f"block {S} must be a multiple of ratio {r} for the paper convention")
        Sr = S // r
        f, P = fit_blocks([f, P], S, block_edges, what="fused")
        ref, p_ref = fit_blocks([m, p_lr], Sr, block_edges, what="ms")
    L = f.shape[0]
    acc = 0.0
    bar = tracker("D_s", total=L, unit="band")
    for b in range(L):
        acc += abs(_blocks_q(f[b], P, S) - _blocks_q(ref[b], p_ref, Sr)) ** q
        bar.update(b + 1)
    bar.close()
    return float((acc / L) ** (1.0 / q))


def qnr(fused: Any, ms: Any, pan: Any, *, ratio: int, alpha: float = 1.0, beta: float = 1.0,
        p: float = 1.0, q: float = 1.0, return_components: bool = False,
        **kwargs: Any) -> float | tuple[float, float, float]:
    r"""Quality with no reference :math:`(1-D_\lambda)^\alpha(1-D_s)^\beta` (Alparone et al. 2008).

    Keyword arguments (``ms_up``, ``block``, ``convention``, ``block_edges``, ``pan_degradation``,
    ``sensor``) go to :func:`d_lambda` / :func:`d_s`. ``return_components=True`` returns
    ``(qnr, d_lambda, d_s)``.

    >>> rng = np.random.default_rng(0)
    >>> pan = rng.uniform(100, 200, (32, 32))
    >>> ms = rng.uniform(100, 200, (2, 8, 8))
    >>> v, dl, ds = qnr(np.stack([pan, pan]), ms, pan, ratio=4, block=16, return_components=True)
    >>> bool(abs(v - (1 - dl) * (1 - ds)) < 1e-15)
    True
    """
    dl_kw = {k: v for k, v in kwargs.items() if k in ("ms_up", "block", "convention", "block_edges")}
    dl = d_lambda(fused, ms, ratio=ratio, p=p, **dl_kw)
    ds = d_s(fused, ms, pan, ratio=ratio, q=q, **kwargs)
    val = float((1.0 - dl) ** alpha * (1.0 - ds) ** beta)
    return (val, dl, ds) if return_components else val


def _mtf_filter(x: np.ndarray, sensor: Any, ratio: int, mtf_design: str, gnyq: Any = None,
                mtf_gain: str = "unit") -> np.ndarray:
    from hysupp.physics.mtf import mtf_blur

    if mtf_gain not in ("unit", "toolbox"):
        raise ParameterError(f"mtf_gain must be 'unit' or 'toolbox', got {mtf_gain!r}")
    if mtf_gain == "toolbox" and mtf_design != "toolbox":
        raise ParameterError("mtf_gain='toolbox' needs mtf_design='toolbox'")
    if gnyq is not None:
        B = mtf_blur(sensor, ratio, gnyq=gnyq, design=mtf_design)
    elif sensor is None:
        raise ParameterError("the MTF needs a sensor (e.g. 'WV2') or explicit gains gnyq=")
    else:
        B = mtf_blur(sensor, ratio, n_bands=x.shape[0], design=mtf_design)
    if B.n_kernels not in (1, x.shape[0]):
        raise InputError(f"the sensor MTF has {B.n_kernels} bands but the image has {x.shape[0]}")
    out = np.asarray(B(x), dtype=np.float64)
    if mtf_gain == "toolbox":
        from hysupp.physics.mtf import toolbox_dc_gain

        gains = np.array([toolbox_dc_gain(float(g), ratio) for g in np.ravel(B.to_dict()["gnyq"])])
        out = out * (gains[:, None, None] if gains.size > 1 else gains[0])
    return out


def reproject(fused: Any, *, ratio: int, sensor: Any = None, gnyq: Any = None,
              mtf_design: str = "toolbox", mtf_gain: str = "unit", phase: Any = "center") -> np.ndarray:
    """Reprojection protocol: per-band sensor MTF filter, then decimation by ``ratio``.

    ``phase="center"`` keeps pixels ``i * ratio + ratio // 2`` (MATLAB ``imresize(.., 'nearest')``
    after ``MTF.m``, the toolbox's Wald degradation). ``gnyq`` overrides the sensor's gains.
    ``mtf_gain="unit"``: kernels sum to 1; ``"toolbox"``: scaled to the DC gain of the toolbox's
    un-normalised ``genMTF.m`` kernels (about 0.999; parity only).

    >>> x = np.ones((2, 16, 16))
    >>> reproject(x, ratio=4, gnyq=0.3).shape
    (2, 4, 4)
    """
    from hysupp.physics.sampling import Decimation

    f = _cube(fused, "fused")
    r = _check_int_ratio(ratio)
    return np.asarray(Decimation(r, phase)(_mtf_filter(f, sensor, r, mtf_design, gnyq, mtf_gain)),
                      dtype=np.float64)


def d_lambda_khan(fused: Any, ms: Any, *, ratio: int, sensor: Any = None, gnyq: Any = None, ms_up: Any = None,
                  block: int = 32, convention: Literal["toolbox", "paper"] = "toolbox",
                  mtf_design: str = "toolbox", mtf_gain: str = "unit", toolbox_uint16: bool = False,
                  block_edges: str = "crop") -> float:
    r"""Khan's spectral distortion :math:`D_\lambda^{K} = 1 - Q_{2^n}(\text{MS}, \text{MTF}(\hat x))`.

    ``convention="toolbox"`` (``D_lambda_K.m``): the fused image filtered with the per-band MTF on
    the PAN grid (no decimation) against ``ms_up`` in ``block`` blocks (``block_edges``: whole
    blocks only by default, see :func:`fit_blocks`; the filtering uses the whole image);
    ``"paper"``: :func:`reproject` (MTF + decimation) against ``ms``, ``block``
    blocks at the MS scale. ``mtf_design="toolbox"`` uses the toolbox's ``genMTF`` kernels
    (normalised to sum 1, see :mod:`hysupp.physics.mtf`); ``mtf_gain="toolbox"`` rescales them to
    the toolbox kernels' DC gain (about 0.999, they are not renormalised in ``genMTF.m``), which
    reproduces ``D_lambda_K.m`` exactly: Q2n's per-band normalisation with the reference block
    statistics makes it sensitive to that 0.1 % gain (about 1.6e-4 on Q2n for the WV2 pair).

    >>> ms = np.random.default_rng(0).uniform(100, 200, (4, 8, 8))
    >>> from hysupp.physics.sampling import interp23tap
    >>> 0 <= d_lambda_khan(interp23tap(ms, 4), ms, ratio=4, gnyq=0.3) < 1
    True
    """
    f, m, r = _fr_inputs(fused, ms, ratio)
    S = _check_block(block)
    if _check_conv(convention) == "toolbox":
        up, low = fit_blocks([_ms_up(m, r, ms_up, f.shape[1:]), _mtf_filter(f, sensor, r, mtf_design, gnyq, mtf_gain)],
                             S, block_edges, what="fused")
        return 1.0 - q2n(up, low, block=S, shift=S, toolbox_uint16=toolbox_uint16)
    low = reproject(f, ratio=r, sensor=sensor, gnyq=gnyq, mtf_design=mtf_design, mtf_gain=mtf_gain)
    return 1.0 - q2n(m, low, block=S, shift=S, toolbox_uint16=toolbox_uint16)


def hqnr(fused: Any, ms: Any, pan: Any, *, ratio: int, sensor: Any = None, gnyq: Any = None,
         ms_up: Any = None, block: int = 32, convention: Literal["toolbox", "paper"] = "toolbox",
         mtf_design: str = "toolbox", mtf_gain: str = "unit", toolbox_uint16: bool = False,
         block_edges: str = "crop", return_components: bool = False,
         **ds_kwargs: Any) -> float | tuple[float, float, float]:
    r"""Hybrid QNR :math:`(1 - D_\lambda^{K})(1 - D_s)` (Khan's :math:`D_\lambda`, Alparone's :math:`D_s`).

    ``return_components=True`` returns ``(hqnr, d_lambda_khan, d_s)``.

    >>> rng = np.random.default_rng(0)
    >>> pan = rng.uniform(100, 200, (32, 32))
    >>> ms = rng.uniform(100, 200, (2, 8, 8))
    >>> v, dl, ds = hqnr(np.stack([pan, pan]), ms, pan, ratio=4, gnyq=0.3, block=16, return_components=True)
    >>> bool(abs(v - (1 - dl) * (1 - ds)) < 1e-15)
    True
    """
    dl = d_lambda_khan(fused, ms, ratio=ratio, sensor=sensor, gnyq=gnyq, ms_up=ms_up, block=block,
                       convention=convention, mtf_design=mtf_design, mtf_gain=mtf_gain,
                       toolbox_uint16=toolbox_uint16, block_edges=block_edges)
    ds = d_s(fused, ms, pan, ratio=ratio, ms_up=ms_up, block=block, convention=convention, sensor=sensor,
             mtf_design=mtf_design, block_edges=block_edges, **ds_kwargs)
    val = float((1.0 - dl) * (1.0 - ds))
    return (val, dl, ds) if return_components else val


def _local_corr(x: np.ndarray, y: np.ndarray, w: int) -> np.ndarray:
    """Local correlation in (2w) x (2w) windows, zero-padded by w (Scarpa & Ciotola's tool)."""
    size = 2 * w
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(w, w), (w, w)])
    yp = np.pad(y, [(0, 0)] * (y.ndim - 2) + [(w, w), (w, w)])
    n = float(size * size)
    mx = _window_sums(xp, size, 1)[..., 1:, 1:] / n
    my = _window_sums(yp, size, 1)[..., 1:, 1:] / n
    xc = np.pad(x - mx, [(0, 0)] * (x.ndim - 2) + [(w, w), (w, w)])
    yc = np.pad(y - my, [(0, 0)] * (y.ndim - 2) + [(w, w), (w, w)])
    sxy = _window_sums(xc * yc, size, 1)[..., 1:, 1:]
    sxx = np.maximum(_window_sums(xc * xc, size, 1)[..., 1:, 1:], 1e-20)
    syy = np.maximum(_window_sums(yc * yc, size, 1)[..., 1:, 1:], 1e-20)
    return sxy / (np.sqrt(sxx * syy) + 1e-20)


def d_rho(fused: Any, pan: Any, *, ratio: int) -> float:
    r"""Spatial consistency :math:`D_\rho` (Scarpa & Ciotola 2022).

    :math:`1 - \overline{\rho}`, with :math:`\rho` the local correlation coefficient between
    each fused band and the PAN in square windows of side ``2 * ceil(ratio / 2)`` (the image
    zero-padded by half a window; the window of pixel ``(i, j)`` covers rows ``i - w + 1 .. i + w``),
    clipped to [-1, 1] and averaged over pixels and bands. Near 0 when every band is locally an
    increasing affine function of the PAN (exactly 0 away from the zero-padded borders).

    >>> pan = np.random.default_rng(0).uniform(0, 1, (16, 16))
    >>> noise = np.random.default_rng(1).uniform(0, 1, (16, 16))
    >>> d_rho(np.stack([pan, 3 * pan + 1]), pan, ratio=4) < 0.01 < d_rho(noise, pan, ratio=4)
    True
    """
    f = _cube(fused, "fused")
    P = _cube(pan, "pan")
    if P.shape[0] != 1 or P.shape[1:] != f.shape[1:]:
        raise InputError(f"pan must be one band of size {f.shape[1:]}; got {P.shape}")
    w = math.ceil(_check_int_ratio(ratio) / 2)
    rho = np.clip(_local_corr(f, np.broadcast_to(P, f.shape), w), -1.0, 1.0)
    return float(np.mean(1.0 - rho))


# ------------------------------------------------------------------------------- entry point
def evaluate_fusion(reference: Any = None, fused: Any = None, *, ratio: int,
                    protocol: Literal["rr", "fr"] = "rr", ms: Any = None, pan: Any = None,
                    sensor: Any = None, gnyq: Any = None, ms_up: Any = None, border: int | None = 0,
                    border_convention: Literal["toolbox", "symmetric"] = "toolbox", clip: Any = None,
                    L: int | None = 11, block: int = 32, q_stride: int = 1, psnr_peak: Any = "global",
                    q2n_uint16: bool = False, fr_convention: Literal["toolbox", "paper"] = "toolbox",
                    mtf_design: str = "toolbox", mtf_gain: str = "unit",
                    pan_degradation: Literal["imresize", "mtf"] = "imresize",
                    fr_block_edges: str = "crop", include_ssim: bool = True) -> dict[str, Any]:
    """Evaluate a fused image; returns the metric values and the ``conventions`` used.

    Parameters
    ----------
    reference : array_like, shape (L, H, W)
        Ground truth (``protocol="rr"``, Wald's reduced-resolution protocol); ignored for ``"fr"``.
    fused : array_like, shape (L, H, W)
        Fused image.
    ratio : int
        Resolution ratio (ERGAS scale, MTF, block sizes of the FR indices).
    protocol : {"rr", "fr"}
        ``rr``: RMSE, PSNR, SAM, ERGAS, CC, SCC, Q, SSIM, Q2n (named ``q4``/``q8``/... too).
        ``fr`` (no reference; needs ``ms`` and ``pan``): D_lambda, D_s, QNR, D_rho, and, with a
        ``sensor`` (or ``gnyq``), Khan's D_lambda, HQNR and the reprojection metrics (Q2n, SAM,
        ERGAS of the MTF-degraded fused image against ``ms``); without either those are skipped
        with a :class:`~hysupp.errors.SensorWarning` and a note (``conventions["mtf_indices"]``).
    ms, pan : array_like
        Original MS ``(L, h, w)`` and PAN ``(H, W)`` (``fr``).
    sensor : str, optional
        Sensor of the MTF table (``"WV2"``...), for HQNR/reprojection.
    gnyq : float or array_like, optional
        Explicit MTF Nyquist gains instead of the sensor's.
    ms_up : array_like, optional
        MS interpolated to the PAN grid (toolbox FR convention); default interp23tap.
    border : int, optional
        Frame removed before the RR metrics (toolbox ``dim_cut``; 0 = none; the toolbox demos use
        :data:`TOOLBOX_DIM_CUT` = 21). For ``fr`` the crop is not applied (block-based indices
        need the full grid).
    border_convention : {"toolbox", "symmetric"}
        See :func:`crop_border`.
    clip : None, True or (lo, hi)
        Clip the fused image first (``True``: ``[0, 2**L]``, toolbox ``th_values``).
    L : int, optional
        Bit depth (for ``clip=True``; recorded).
    block : int
        Block side of Q2n and of the QNR family (32); Q uses ``block`` windows sliding by
        ``q_stride``.
    psnr_peak : {"global", "band"} or float
        PSNR peak and SSIM data range.
    q2n_uint16 : bool
        Reproduce the toolbox's uint16 rounding inside Q2n (``q2n.m``; RR Q2n and the FR Khan /
        reprojection Q2n), for toolbox-compatible values on DN data; recorded.
    fr_convention, mtf_design, mtf_gain, pan_degradation
        See :func:`d_lambda`, :func:`d_lambda_khan`, :func:`d_s`.
    fr_block_edges : {"crop", "pad", "error"}
        Images whose sides are not multiples of ``block`` in the full-resolution block indices
        (D_lambda, D_s, Khan's D_lambda): the whole blocks only (default, :func:`fit_blocks`), a
        symmetric extension, or an error (the toolbox). Recorded with the evaluated size. The RR
        Q2n always extends the image symmetrically to whole blocks, as ``q2n.m``.
    include_ssim : bool
        Skip SSIM (the slowest RR metric) when False.

    Returns
    -------
    dict
        Floats keyed by metric (``rmse``, ``psnr_db``, ``sam_deg`` (also ``sam``), ``ergas``, ``cc``,
        ``scc``, ``q``, ``ssim``, ``q2n`` and ``q<2^n>``; ``d_lambda``, ``d_s``, ``qnr``, ``d_rho``,
        ``d_lambda_khan``, ``hqnr``, ``reprojection_q2n``, ``reprojection_sam_deg``,
        ``reprojection_ergas``), ``protocol`` and ``conventions`` (definitions plus the crop,
        clipping, block, peak... used).

    >>> x = np.random.default_rng(0).uniform(1, 2, (4, 40, 40))
    >>> rec = evaluate_fusion(x, x, ratio=4, include_ssim=False)
    >>> round(rec["q4"], 12), rec["sam_deg"], rec["ergas"]
    (1.0, 0.0, 0.0)
    """
    if protocol not in ("rr", "fr"):
        raise ParameterError(f"protocol must be 'rr' or 'fr', got {protocol!r}")
    rt = _check_ratio(ratio)
    if fused is None:
        raise ParameterError("fused is required")
    f, clip_used = clip_values(_cube(fused, "fused"), clip, L)
    conv: dict[str, Any] = {"protocol": protocol, "ratio": rt, "L": L, "clip": clip_used,
                            "clip_rule": "toolbox th_values: fused clipped to [0, 2^L]" if clip is True else None,
                            "block": int(block)}
    out: dict[str, Any] = {"protocol": protocol}
    if protocol == "rr":
        if reference is None:
            raise ParameterError("protocol 'rr' needs the reference image")
        r, f = _pair(reference, f)
        r = crop_border(r, border, convention=border_convention)
        f = crop_border(f, border, convention=border_convention)
        if min(r.shape[1:]) < 3:
            raise InputError(f"border={border} leaves {r.shape[1:]} pixels")
        conv.update({"border": int(border or 0), "border_convention": border_convention,
                     "evaluated_shape": list(r.shape), "psnr_peak": psnr_peak, "q_stride": int(q_stride),
                     "q2n_uint16": bool(q2n_uint16),
                     "q2n_edges": "symmetric extension to whole blocks (q2n.m)"})
        bar = tracker("RR metrics", total=9 if include_ssim else 8, unit="metric")
        out["rmse"] = rmse(r, f)
        out["psnr_db"] = psnr(r, f, peak=psnr_peak)
        out["sam_deg"] = out["sam"] = sam(r, f)
        out["ergas"] = ergas(r, f, ratio=rt)
        bar.update(4, metric="ergas")
        out["cc"] = cc(r, f)
        out["scc"] = scc(r, f)
        bar.update(6, metric="scc")
        out["q"] = q_index(r, f, block=block, stride=q_stride)
        bar.update(7, metric="q")
        if include_ssim:
            out["ssim"] = ssim(r, f, data_range=psnr_peak)
            bar.update(8, metric="ssim")
        out["q2n"] = q2n(r, f, block=block, toolbox_uint16=q2n_uint16)
        bar.update(9 if include_ssim else 8, metric="q2n")
        bar.close()
        out[f"q{1 << max(0, math.ceil(math.log2(r.shape[0])))}"] = out["q2n"]
    else:
        if ms is None or pan is None:
            raise ParameterError("protocol 'fr' needs ms and pan")
        ri = _check_int_ratio(rt)
        m = _cube(ms, "ms")
        P = _cube(pan, "pan")
        up = _ms_up(m, ri, ms_up, f.shape[1:]) if fr_convention == "toolbox" else None
        H, W = f.shape[1:]
        conv.update({"fr_block_edges": fr_block_edges,
                     "fr_block_area": ([H, W] if fr_block_edges != "crop" or (H % block == 0 and W % block == 0)
                                       else [H // block * block, W // block * block]),
                     "fr_convention": fr_convention, "pan_degradation": pan_degradation,
                     "mtf_design": mtf_design, "mtf_gain": mtf_gain, "sensor": str(sensor) if sensor is not None else None,
                     "gnyq": np.asarray(gnyq).tolist() if gnyq is not None else None,
                     "ms_up": "given" if ms_up is not None else "interp23tap(ms)", "q2n_uint16": bool(q2n_uint16)})
        common = {"block": block, "convention": fr_convention, "block_edges": fr_block_edges}
        mtf = sensor is not None or gnyq is not None
        bar = tracker("FR metrics", total=6 if mtf else 3, unit="metric")
        q_val, dl, ds = qnr(f, m, P, ratio=ri, ms_up=up, pan_degradation=pan_degradation, sensor=sensor,
                            mtf_design=mtf_design, return_components=True, **common)
        out.update({"d_lambda": dl, "d_s": ds, "qnr": q_val})
        bar.update(2, metric="qnr")
        out["d_rho"] = d_rho(f, P, ratio=ri)
        bar.update(3, metric="d_rho")
        if mtf:
            dlk = d_lambda_khan(f, m, ratio=ri, ms_up=up, sensor=sensor, gnyq=gnyq, mtf_design=mtf_design,
                                mtf_gain=mtf_gain, toolbox_uint16=q2n_uint16, **common)
            out["d_lambda_khan"] = dlk
            out["hqnr"] = float((1.0 - dlk) * (1.0 - ds))
            bar.update(4, metric="hqnr")
            low = reproject(f, ratio=ri, sensor=sensor, gnyq=gnyq, mtf_design=mtf_design, mtf_gain=mtf_gain)
            if 2 * min(m.shape[1:]) >= block:
                out["reprojection_q2n"] = q2n(m, low, block=block, toolbox_uint16=q2n_uint16)
            else:
                conv["reprojection_q2n"] = (f"skipped: the MS ({m.shape[1]} x {m.shape[2]}) is too small for "
                                            f"{block} x {block} blocks")
            bar.update(5, metric="reprojection_q2n")
            out["reprojection_sam_deg"] = sam(m, low)
            out["reprojection_ergas"] = ergas(m, low, ratio=ri)
            bar.update(6, metric="reprojection")
        else:
            import warnings

            from hysupp.errors import SensorWarning

            conv["mtf_indices"] = ("skipped: no sensor or gnyq (Khan's D_lambda, HQNR and the reprojection metrics "
                                   "filter with the sensor's MTF)")
            warnings.warn("evaluate_fusion(protocol='fr'): no sensor or gnyq given, so Khan's D_lambda, HQNR and the "
                          "reprojection metrics (which filter with the MTF) are not computed; pass sensor= or gnyq= "
                          "(hysupp.fuse passes the generic gains with a warning)", SensorWarning, stacklevel=2)
    bar.close()
    defs = {k: v for k, v in FUSION_CONVENTIONS.items()}
    out["conventions"] = {**conv, "definitions": defs}
    return out
