r"""Spatial blur (point-spread function) as a linear operator, numpy and torch (DESIGN §2).

A :class:`Blur` convolves every band of a cube ``(..., L, H, W)`` with a 2-D kernel (the PSF),
either one kernel shared by all bands or one kernel per band (an MTF differs per band), and either
a full 2-D kernel or a separable pair ``(k_y, k_x)`` (anisotropic PSFs, per-axis gains):

.. math::
    y_l = h_l \ast \mathcal P(x_l), \qquad
    (h \ast z)[i, j] = \sum_{a, b} h[a, b]\; z[i + 2c_y - a,\, j + 2c_x - b],

where :math:`\mathcal P` extends the image by the kernel half-widths :math:`(c_y, c_x)` with the
border ``mode`` and the convolution keeps the ``H x W`` "valid" part, so the output has the shape
of the input. Kernel sizes are odd; the centre tap is ``h[c_y, c_x]`` with ``c = size // 2``.

Border modes (the extension of ``a b c d`` to the left):

============  =====================  ==============================================
``mode``      extension              also known as
============  =====================  ==============================================
replicate     ``a a a | a b c d``    scipy ``nearest``, MATLAB ``replicate``, numpy ``edge``
circular      ``b c d | a b c d``    scipy ``wrap``, MATLAB ``circular``
reflect       ``d c b | a b c d``    numpy/torch ``reflect``, scipy ``mirror`` (edge not repeated)
symmetric     ``c b a | a b c d``    numpy/MATLAB ``symmetric``, scipy ``reflect`` (edge repeated)
zero          ``0 0 0 | a b c d``    ``constant`` 0
============  =====================  ==============================================

The adjoint is exact for every mode: :math:`A^* = \mathcal P^* \circ C^*` where :math:`C^*` is the
"full" correlation with the kernel (``conv_transpose2d`` in torch) and :math:`\mathcal P^*` the
adjoint of the border extension, which scatter-adds every padded sample back onto the pixel it was
copied from (for ``circular`` this is the wrap-around, so :math:`A^*` is the circular correlation
with the flipped kernel). The torch path (``conv2d`` with ``groups=L``, ``index_select`` padding)
is differentiable; the numpy path runs in float64 through FFTs and returns the input dtype.

Gaussian PSF. A Gaussian of standard deviation :math:`\sigma` (pixels) has the frequency response
:math:`H(f) = \exp(-2\pi^2\sigma^2 f^2)` (``f`` in cycles/pixel) and
:math:`\mathrm{FWHM} = 2\sqrt{2\ln 2}\,\sigma \approx 2.3548\,\sigma`. In the HS-MS fusion review of
Yokoya, Grohnfeldt and Chanussot (IEEE GRSM 2017) the simulated PSF is a Gaussian whose FWHM equals
the resolution ratio: ``Blur.gaussian(fwhm=ratio)``. MTF-matched Gaussians set from a sensor's
Nyquist gain live in :mod:`hysupp.physics.mtf`.

References
----------
N. Yokoya, C. Grohnfeldt, J. Chanussot, "Hyperspectral and multispectral data fusion: a comparative
review of the recent literature", IEEE Geosci. Remote Sens. Mag. 5(2):29-56, 2017.
G. Vivone et al., "A critical comparison among pansharpening algorithms", IEEE TGRS
53(5):2565-2586, 2015.

Example
-------
>>> import numpy as np
>>> from hysupp.physics.blur import Blur, fwhm_to_sigma
>>> from hysupp.physics.operator import adjoint_mismatch
>>> B = Blur.gaussian(fwhm=4.0, mode="symmetric")          # Yokoya et al. (2017): FWHM = ratio
>>> round(B.to_dict()["sigma"][0][0], 4) == round(fwhm_to_sigma(4.0), 4)
True
>>> x = np.ones((3, 16, 16))
>>> bool(np.allclose(B(x), 1.0))                            # normalised kernel keeps constants
True
>>> adjoint_mismatch(B, (3, 16, 16)) < 1e-12
True
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.signal import fftconvolve

from hysupp.errors import InputError, ParameterError
from hysupp.physics.operator import LinearOperator, is_torch

__all__ = [
    "BORDER_MODES",
    "Blur",
    "as_numpy_input",
    "axis_apply_np",
    "boundary_index",
    "canonical_mode",
    "check_torch_input",
    "float_dtype",
    "fwhm_to_sigma",
    "gaussian_kernel",
    "gaussian_kernel_1d",
    "kernel_sigma",
    "sigma_to_fwhm",
]

#: Canonical border modes accepted by every spatial operator.
BORDER_MODES = ("replicate", "circular", "reflect", "symmetric", "zero")

_MODE_ALIASES = {
    "replicate": "replicate", "nearest": "replicate", "edge": "replicate",
    "circular": "circular", "wrap": "circular", "periodic": "circular",
    "reflect": "reflect", "mirror": "reflect",
    "symmetric": "symmetric",
    "zero": "zero", "zeros": "zero", "constant": "zero",
}

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


# --------------------------------------------------------------------------------------------
# small helpers shared with hysupp.physics.sampling
# --------------------------------------------------------------------------------------------
def canonical_mode(mode: str) -> str:
    """The canonical name of a border mode (see the module table); raises ParameterError."""
    key = str(mode).strip().lower()
    if key not in _MODE_ALIASES:
        raise ParameterError(f"unknown border mode {mode!r}; expected one of "
                             f"{', '.join(BORDER_MODES)} (aliases: nearest/edge, wrap/periodic, "
                             f"mirror, constant)")
    return _MODE_ALIASES[key]


def boundary_index(pos: Any, n: int, mode: str) -> np.ndarray:
    """Map integer positions of the infinite grid onto ``[0, n)`` with a border ``mode``.

    Positions that fall outside under ``mode="zero"`` map to ``-1`` (no source sample).

    >>> boundary_index(np.arange(-3, 7), 4, "symmetric").tolist()
    [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]
    >>> boundary_index(np.arange(-3, 7), 4, "reflect").tolist()
    [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    """
    mode = canonical_mode(mode)
    p = np.asarray(pos, dtype=np.int64)
    if n < 1:
        raise InputError(f"cannot extend an axis of length {n}")
    if mode == "replicate":
        return np.clip(p, 0, n - 1)
    if mode == "circular":
        return np.mod(p, n)
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(p)
        t = np.mod(p, 2 * n - 2)
        return np.where(t < n, t, 2 * n - 2 - t)
    if mode == "symmetric":
        t = np.mod(p, 2 * n)
        return np.where(t < n, t, 2 * n - 1 - t)
    return np.where((p >= 0) & (p < n), p, -1)  # zero


def _index_matrix(src: np.ndarray, n_in: int, weights: np.ndarray | None = None) -> sp.csr_matrix:
    """Sparse (len(src) x n_in) matrix with ``weights`` (default 1) at (i, src[i]); -1 = empty."""
    src = np.asarray(src, dtype=np.int64).ravel()
    w = np.ones(src.size) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    rows = np.arange(src.size)
    keep = src >= 0
    return sp.csr_matrix((w[keep], (rows[keep], src[keep])), shape=(src.size, n_in))


def axis_apply_np(x: np.ndarray, M: sp.spmatrix, axis: int) -> np.ndarray:
    """Apply the sparse matrix ``M`` (n_out x n_in) along ``axis`` of ``x`` (float64 result)."""
    xm = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    shp = xm.shape
    out = M @ xm.reshape(shp[0], -1)
    out = np.asarray(out).reshape((M.shape[0],) + shp[1:])
    return np.moveaxis(out, 0, axis)


def float_dtype(x: np.ndarray) -> np.dtype:
    """The dtype an operator returns for ``x``: its own if floating, else float64."""
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)


def as_numpy_input(x: Any, name: str = "x", min_ndim: int = 2) -> np.ndarray:
    """``x`` as a numpy array, checked: real numeric (or boolean), at least ``min_ndim``
    dimensions ``(..., H, W)``; :class:`~hysupp.errors.InputError` naming ``name`` otherwise."""
    arr = np.asarray(x)
    if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise InputError(f"{name} must have at least {min_ndim} dimensions (..., H, W), "
                         f"got shape {arr.shape}")
    return arr


def check_torch_input(x: Any, name: str = "x", min_ndim: int = 2) -> None:
    """Check a tensor input: at least ``min_ndim`` dimensions ``(..., H, W)`` and floating point;
    :class:`~hysupp.errors.InputError` naming ``name`` otherwise."""
    if x.ndim < min_ndim:
        raise InputError(f"{name} must have at least {min_ndim} dimensions (..., H, W), "
                         f"got shape {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise InputError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


# --------------------------------------------------------------------------------------------
# Gaussian kernels
# --------------------------------------------------------------------------------------------
def fwhm_to_sigma(fwhm: float) -> float:
    r"""Standard deviation of a Gaussian of FWHM ``fwhm``: :math:`\mathrm{FWHM}/(2\sqrt{2\ln 2})`.

    >>> round(fwhm_to_sigma(2.3548200450309493), 12)
    1.0
    """
    return float(fwhm) / _FWHM_PER_SIGMA


def sigma_to_fwhm(sigma: float) -> float:
    r"""FWHM of a Gaussian of standard deviation ``sigma``: :math:`2\sqrt{2\ln 2}\,\sigma`."""
    return float(sigma) * _FWHM_PER_SIGMA


def _default_size(sigma: float) -> int:
    return 2 * int(math.ceil(4.0 * sigma)) + 1 if sigma > 0 else 1


def _check_size(size: Any, what: str = "size") -> int:
    if (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1
            or size % 2 == 0):
        raise ParameterError(f"{what} must be an odd positive integer, got {size!r}")
    return int(size)


def _check_sigma(sigma: Any, what: str = "sigma") -> float:
    try:
        s = float(sigma)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{what} must be a number of pixels, got {sigma!r}") from exc
    if not math.isfinite(s) or s < 0:
        raise ParameterError(f"{what} must be a finite number >= 0, got {sigma!r}")
    return s


def gaussian_kernel_1d(sigma: float | None = None, size: int | None = None, *,
                       fwhm: float | None = None) -> np.ndarray:
    r"""Sampled, normalised 1-D Gaussian ``exp(-n^2 / (2 sigma^2))``, ``n = -size//2 .. size//2``.

    Parameters
    ----------
    sigma, fwhm : float
        Standard deviation or full width at half maximum in pixels (give exactly one).
        ``sigma = 0`` gives the identity kernel ``[1]`` (padded to ``size``).
    size : int, optional
        Odd number of taps; default ``2 * ceil(4 sigma) + 1`` (truncation below 3.4e-4 of the peak).

    Returns
    -------
    numpy.ndarray of shape (size,), summing to 1.

    >>> k = gaussian_kernel_1d(1.0, 5)
    >>> k.shape, round(float(k.sum()), 12), bool(k[2] == k.max())
    ((5,), 1.0, True)
    """
    s = _sigma_from(sigma, fwhm)
    n = _check_size(size) if size is not None else _default_size(s)
    m = np.arange(n) - n // 2
    if s == 0:
        k = (m == 0).astype(np.float64)
    else:
        k = np.exp(-0.5 * (m / s) ** 2)
    return k / k.sum()


def _sigma_from(sigma: Any, fwhm: Any) -> float:
    if (sigma is None) == (fwhm is None):
        raise ParameterError("give exactly one of sigma and fwhm")
    return _check_sigma(sigma) if sigma is not None else fwhm_to_sigma(_check_sigma(fwhm, "fwhm"))


def gaussian_kernel(sigma: float | Sequence[float] | None = None,
                    size: int | Sequence[int] | None = None, *,
                    fwhm: float | Sequence[float] | None = None) -> np.ndarray:
    r"""Sampled, normalised 2-D Gaussian PSF (isotropic, or anisotropic ``(sigma_y, sigma_x)``).

    The kernel is the outer product of two :func:`gaussian_kernel_1d`. Its frequency response is
    close to :math:`\exp(-2\pi^2(\sigma_y^2 f_y^2 + \sigma_x^2 f_x^2))` (sampling aliases below 1e-4
    for :math:`\sigma \ge 1`).

    Parameters
    ----------
    sigma, fwhm : float or (float, float)
        Standard deviation or FWHM in pixels, one value or ``(along rows, along columns)``.
    size : int or (int, int), optional
        Odd kernel size(s); default ``2 * ceil(4 sigma) + 1`` per axis.

    >>> h = gaussian_kernel(fwhm=4.0)
    >>> h.shape, round(float(h.sum()), 12)
    ((15, 15), 1.0)
    >>> gaussian_kernel((1.0, 2.0)).shape
    (9, 17)
    """
    src = sigma if sigma is not None else fwhm
    if src is None or (sigma is not None and fwhm is not None):
        raise ParameterError("give exactly one of sigma and fwhm")
    vals = np.atleast_1d(np.asarray(src, dtype=object))
    if vals.size not in (1, 2) or vals.ndim != 1:
        raise ParameterError(f"sigma/fwhm must be one number or a pair (y, x), got {src!r}")
    pair = [vals[0], vals[-1]]
    sizes = ([None, None] if size is None
             else list(np.broadcast_to(np.asarray(size, dtype=object), (2,))))
    ks = [gaussian_kernel_1d(sigma=p if sigma is not None else None,
                             fwhm=p if fwhm is not None else None, size=sz)
          for p, sz in zip(pair, sizes)]
    return np.outer(ks[0], ks[1])


def kernel_sigma(kernel: Any, axis: int = -1) -> float | np.ndarray:
    r"""Equivalent Gaussian standard deviation of a kernel along an axis (square root of the
    second central moment of its marginal, in pixels).

    ``kernel`` is 1-D ``(k,)`` or 2-D ``(..., kh, kw)``; for 2-D kernels ``axis=-1`` measures along
    columns (horizontal), ``axis=-2`` along rows. A stack ``(L, kh, kw)`` gives an array ``(L,)``.

    >>> round(float(kernel_sigma(gaussian_kernel_1d(2.0, 41))), 6)
    2.0
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim == 1:
        marg = k
    else:
        if axis not in (-1, -2):
            raise ParameterError(f"axis must be -1 (columns) or -2 (rows), got {axis}")
        marg = k.sum(axis=-2 if axis == -1 else -1)
    n = np.arange(marg.shape[-1]) - marg.shape[-1] // 2
    tot = marg.sum(-1)
    mean = (marg * n).sum(-1) / tot
    var = (marg * (n - np.asarray(mean)[..., None]) ** 2).sum(-1) / tot
    out = np.sqrt(var)
    return float(out) if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------------------------
# border extension (padding) and its adjoint, numpy and torch
# --------------------------------------------------------------------------------------------
def _pad_indices(n: int, before: int, after: int, mode: str) -> np.ndarray:
    return boundary_index(np.arange(-before, n + after), n, mode)


def _pad_np(x: np.ndarray, py: int, px: int, mode: str) -> np.ndarray:
    H, W = x.shape[-2:]
    if mode == "zero":
        return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(py, py), (px, px)])
    iy = _pad_indices(H, py, py, mode)
    ix = _pad_indices(W, px, px, mode)
    return np.take(np.take(x, iy, axis=-2), ix, axis=-1)


def _pad_adjoint_np(z: np.ndarray, H: int, W: int, py: int, px: int, mode: str) -> np.ndarray:
    if mode == "zero":
        return z[..., py:py + H, px:px + W]
    My = _index_matrix(_pad_indices(H, py, py, mode), H).T.tocsr()
    Mx = _index_matrix(_pad_indices(W, px, px, mode), W).T.tocsr()
    return axis_apply_np(axis_apply_np(z, My, -2), Mx, -1)


def _pad_torch(x: Any, py: int, px: int, mode: str) -> Any:
    import torch
    import torch.nn.functional as F

    H, W = x.shape[-2:]
    if mode == "zero":
        return F.pad(x, (px, px, py, py))
    iy = torch.as_tensor(_pad_indices(H, py, py, mode), device=x.device)
    ix = torch.as_tensor(_pad_indices(W, px, px, mode), device=x.device)
    return x.index_select(-2, iy).index_select(-1, ix)


def _pad_adjoint_torch(z: Any, H: int, W: int, py: int, px: int, mode: str) -> Any:
    import torch

    if mode == "zero":
        return z[..., py:py + H, px:px + W]
    iy = torch.as_tensor(_pad_indices(H, py, py, mode), device=z.device)
    ix = torch.as_tensor(_pad_indices(W, px, px, mode), device=z.device)
    lead = tuple(z.shape[:-2])
    t = z.new_zeros(lead + (H, z.shape[-1])).index_add(-2, iy, z)
    return t.new_zeros(lead + (H, W)).index_add(-1, ix, t)


# --------------------------------------------------------------------------------------------
# the operator
# --------------------------------------------------------------------------------------------
def _as_kernel_stack(k: Any, ndim: int, what: str) -> np.ndarray:
    """(L, ...) float64 stack from a single kernel (ndim) or a per-band stack (ndim + 1)."""
    arr = np.asarray(k, dtype=np.float64)
    if arr.ndim == ndim:
        arr = arr[None]
    if arr.ndim != ndim + 1 or arr.shape[0] < 1:
        raise ParameterError(f"{what} must have {ndim} dimensions (one kernel) or {ndim + 1} "
                             f"(one kernel per band), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{what} has non-finite entries")
    for s in arr.shape[1:]:
        _check_size(s, f"{what} size")
    return np.ascontiguousarray(arr)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_jsonable(u) for u in v]
    if isinstance(v, dict):
        return {str(a): _jsonable(b) for a, b in v.items()}
    return v


class Blur(LinearOperator):
    r"""Band-wise 2-D convolution with a PSF and a border mode; exact adjoint for every mode.

    Parameters
    ----------
    kernel : array_like, shape (kh, kw) or (L, kh, kw)
        One kernel for all bands, or one kernel per band (the band axis of the input, ``-3``, must
        then have length ``L``). Odd sizes; the centre tap is ``kernel[..., kh // 2, kw // 2]``.
        Kernels are used as given (not normalised).
    mode : str
        Border extension: ``replicate`` (default, as the pansharpening toolbox's ``imfilter``),
        ``circular``, ``reflect``, ``symmetric`` or ``zero`` (see the module table).

    See Also
    --------
    See :meth:`separable` (a pair ``(k_y, k_x)``), :meth:`gaussian` and
    :func:`hysupp.physics.mtf.mtf_blur`.

    Notes
    -----
    Inputs are numpy arrays ``(..., L, H, W)`` (``(H, W)`` with a shared kernel) or torch tensors
    of the same layout, e.g. ``(L, H, W)`` or ``(B, L, H, W)``; the output has the input's shape,
    type, dtype and device. numpy integers give float64. On CUDA, float32 convolutions follow
    PyTorch's settings: with ``torch.backends.cudnn.allow_tf32`` (PyTorch's default) cuDNN may
    compute in TF32; set it to False for IEEE float32 accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> B = Blur(np.full((3, 3), 1 / 9), mode="circular")
    >>> x = np.zeros((1, 5, 5)); x[0, 0, 0] = 9.0
    >>> [round(float(B(x)[0, i, j]), 12) for i, j in [(4, 4), (1, 1), (2, 2)]]  # wrap-around
    [1.0, 1.0, 0.0]
    """

    def __init__(self, kernel: Any, mode: str = "replicate", *, _meta: dict | None = None) -> None:
        self._init(mode, full=_as_kernel_stack(kernel, 2, "kernel"), meta=_meta)

    def _init(self, mode: str, *, full: np.ndarray | None = None, ky: np.ndarray | None = None,
              kx: np.ndarray | None = None, meta: dict | None = None) -> None:
        self.mode = canonical_mode(mode)
        self._full = full
        self._ky = ky
        self._kx = kx
        if full is not None:
            self.n_kernels = full.shape[0]
            self.kernel_size = (full.shape[1], full.shape[2])
        else:
            if ky.shape[0] != kx.shape[0] and 1 not in (ky.shape[0], kx.shape[0]):
                raise ParameterError(f"k_y and k_x stacks disagree on the number of bands: "
                                     f"{ky.shape[0]} vs {kx.shape[0]}")
            n = max(ky.shape[0], kx.shape[0])
            self._ky = np.ascontiguousarray(np.broadcast_to(ky, (n, ky.shape[1])))
            self._kx = np.ascontiguousarray(np.broadcast_to(kx, (n, kx.shape[1])))
            self.n_kernels = n
            self.kernel_size = (ky.shape[1], kx.shape[1])
        self._meta = dict(meta or {"kind": "kernel"})
        self._torch_cache: dict = {}

    # ---------------------------------------------------------------- constructors
    @classmethod
    def separable(cls, k_y: Any, k_x: Any, mode: str = "replicate", *,
                  _meta: dict | None = None) -> "Blur":
        """Separable blur ``h[a, b] = k_y[a] k_x[b]``; 1-D kernels ``(k,)`` or per band ``(L, k)``.

        >>> import numpy as np
        >>> B = Blur.separable([0.25, 0.5, 0.25], [1.0], mode="symmetric")    # blur rows only
        >>> B.kernel_size, B.kernels.shape
        ((3, 1), (1, 3, 1))
        """
        obj = cls.__new__(cls)
        obj._init(mode, ky=_as_kernel_stack(k_y, 1, "k_y"), kx=_as_kernel_stack(k_x, 1, "k_x"),
                  meta=_meta or {"kind": "separable"})
        return obj

    @classmethod
    def gaussian(cls, sigma: Any = None, *, fwhm: Any = None, size: int | None = None,
                 mode: str = "replicate") -> "Blur":
        r"""Gaussian PSF, separable, shared or per band, isotropic or anisotropic.

        Parameters
        ----------
        sigma, fwhm : float or array_like
            Standard deviation or full width at half maximum in pixels (exactly one). The leading
            axis is bands and an optional trailing axis of length 2 is ``(y, x)``: a number
            (isotropic, shared), shape ``(L,)`` (isotropic, per band), ``(1, 2)`` (anisotropic,
            shared) or ``(L, 2)`` (anisotropic, per band).
        size : int, optional
            Odd number of taps per axis; default ``2 * ceil(4 sigma_max) + 1``.
        mode : str
            Border mode.

        Notes
        -----
        Frequency response :math:`H(f) \approx \exp(-2\pi^2\sigma^2 f^2)`; Yokoya et al. (2017)
        simulate HS images with ``fwhm = ratio``.

        >>> B = Blur.gaussian(sigma=[[1.0, 2.0]])            # anisotropic, all bands
        >>> B.kernel_size
        (9, 17)
        >>> Blur.gaussian(fwhm=[2.0, 3.0, 4.0]).n_kernels    # one per band
        3
        """
        if (sigma is None) == (fwhm is None):
            raise ParameterError("give exactly one of sigma and fwhm")
        raw = np.asarray(sigma if sigma is not None else fwhm, dtype=np.float64)
        if raw.ndim == 0:
            yx = np.full((1, 2), float(raw))
        elif raw.ndim == 1:
            yx = np.repeat(raw[:, None], 2, axis=1)
        elif raw.ndim == 2 and raw.shape[1] == 2:
            yx = raw.copy()
        else:
            raise ParameterError(f"sigma/fwhm must be a number, (L,), (1, 2) or (L, 2); "
                                 f"got shape {raw.shape}")
        if raw.size == 0:
            raise ParameterError("sigma/fwhm is empty")
        for v in yx.ravel():
            _check_sigma(v, "sigma" if sigma is not None else "fwhm")
        sig = yx if sigma is not None else yx / _FWHM_PER_SIGMA
        if size is None:
            sizes = (_default_size(float(sig[:, 0].max())), _default_size(float(sig[:, 1].max())))
        else:
            sizes = (_check_size(size), _check_size(size))
        ky = np.stack([gaussian_kernel_1d(s, sizes[0]) for s in sig[:, 0]])
        kx = np.stack([gaussian_kernel_1d(s, sizes[1]) for s in sig[:, 1]])
        meta = {"kind": "gaussian", "sigma": sig.tolist(), "fwhm": (sig * _FWHM_PER_SIGMA).tolist(),
                "size": list(sizes)}
        return cls.separable(ky, kx, mode, _meta=meta)

    # ---------------------------------------------------------------- properties
    @property
    def is_separable(self) -> bool:
        return self._full is None

    @property
    def per_band(self) -> bool:
        """Whether the operator holds one kernel per band (the input must have that many bands)."""
        return self.n_kernels > 1

    @property
    def kernels(self) -> np.ndarray:
        """The 2-D kernels, shape ``(n_kernels, kh, kw)`` (outer products when separable)."""
        if self._full is not None:
            return self._full.copy()
        return np.einsum("la,lb->lab", self._ky, self._kx)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"op": "blur", "mode": self.mode, "separable": self.is_separable,
                             "kernel_size": list(self.kernel_size),
                             "n_kernels": int(self.n_kernels)}
        d.update(_jsonable(self._meta))
        if d.get("kind") in ("kernel", "separable"):
            parts = [self._full] if self._full is not None else [self._ky, self._kx]
            h = hashlib.sha256()
            for p in parts:
                h.update(np.ascontiguousarray(p, dtype="<f8").tobytes())
            d["kernel_sha256"] = h.hexdigest()
            if sum(p.size for p in parts) <= 4096:   # small kernels are recorded in full
                one = self.n_kernels == 1
                if self._full is not None:
                    d["kernel"] = (self._full[0] if one else self._full).tolist()
                else:
                    d["kernel_y"] = (self._ky[0] if one else self._ky).tolist()
                    d["kernel_x"] = (self._kx[0] if one else self._kx).tolist()
        return d

    # ---------------------------------------------------------------- application
    def _check_bands(self, shape: tuple) -> None:
        if self.per_band and (len(shape) < 3 or shape[-3] != self.n_kernels):
            raise InputError(f"this blur holds {self.n_kernels} per-band kernels; the input needs "
                             f"{self.n_kernels} bands on axis -3, got shape {tuple(shape)}")

    def forward(self, x: Any) -> Any:
        return self._apply(x, adjoint=False)

    def adjoint(self, y: Any) -> Any:
        return self._apply(y, adjoint=True)

    def _apply(self, x: Any, adjoint: bool) -> Any:
        if is_torch(x):
            check_torch_input(x)
            self._check_bands(tuple(x.shape))
            return self._apply_torch(x, adjoint)
        arr = as_numpy_input(x)
        self._check_bands(arr.shape)
        out_dtype = float_dtype(arr)
        out = self._apply_np(arr.astype(np.float64, copy=False), adjoint)
        return out.astype(out_dtype, copy=False)

    def _np_kernel(self, k: np.ndarray, ndim: int, flip: bool) -> np.ndarray:
        """Broadcastable kernel of ndim dims; k is (n_kernels, kh, kw)."""
        if flip:
            k = k[:, ::-1, ::-1]
        if self.n_kernels == 1:
            k = k[0]
            return k.reshape((1,) * (ndim - 2) + k.shape)
        return k.reshape((1,) * (ndim - 3) + k.shape)

    def _apply_np(self, x: np.ndarray, adjoint: bool) -> np.ndarray:
        H, W = x.shape[-2:]
        cy, cx = self.kernel_size[0] // 2, self.kernel_size[1] // 2
        if self._full is not None:
            stages = [self._full]
        else:
            stages = [self._ky[:, :, None], self._kx[:, None, :]]
        if not adjoint:
            z = _pad_np(x, cy, cx, self.mode)
            for k in stages:
                z = fftconvolve(z, self._np_kernel(k, z.ndim, False), mode="valid", axes=(-2, -1))
            return z
        z = x
        for k in reversed(stages):
            z = fftconvolve(z, self._np_kernel(k, z.ndim, True), mode="full", axes=(-2, -1))
        return _pad_adjoint_np(z, H, W, cy, cx, self.mode)

    def _torch_weights(self, device: Any, dtype: Any) -> list:
        key = (str(device), str(dtype))
        if key not in self._torch_cache:
            import torch

            if self._full is not None:
                stages = [self._full]
            else:
                stages = [self._ky[:, :, None], self._kx[:, None, :]]
            # conv2d correlates: flip to convolve; weight (n_kernels, 1, kh, kw)
            self._torch_cache[key] = [
                torch.as_tensor(np.ascontiguousarray(k[:, ::-1, ::-1])[:, None], dtype=dtype,
                                device=device)
                for k in stages]
        return self._torch_cache[key]

    def _apply_torch(self, x: Any, adjoint: bool) -> Any:
        import torch.nn.functional as F

        shape = tuple(x.shape)
        H, W = shape[-2:]
        cy, cx = self.kernel_size[0] // 2, self.kernel_size[1] // 2
        g = self.n_kernels
        xb = x.reshape((-1, g, H, W))
        weights = self._torch_weights(x.device, x.dtype)
        if not adjoint:
            z = _pad_torch(xb, cy, cx, self.mode)
            for w in weights:
                z = F.conv2d(z, w, groups=g)
        else:
            z = xb
            for w in reversed(weights):
                z = F.conv_transpose2d(z, w, groups=g)
            z = _pad_adjoint_torch(z, H, W, cy, cx, self.mode)
        return z.reshape(shape)
