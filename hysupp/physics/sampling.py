r"""Decimation with an explicit phase, and upsampling/interpolators, numpy and torch (DESIGN §2).

Grids. With a ratio :math:`r`, low-resolution (LR) pixel :math:`i` of a decimated image is the
high-resolution (HR) pixel :math:`i r + p` for a *phase* :math:`p \in [0, r)` (both axes), or the
mean of the block :math:`[i r, (i + 1) r)` for ``phase="mean"``:

* ``phase=0`` (``"first"``): MATLAB ``x(1:r:end, 1:r:end)``;
* ``phase=r // 2`` (``"center"``): MATLAB ``imresize(x, 1/r, 'nearest')`` as used by the
  pansharpening toolbox (Vivone et al. 2015) after the MTF filter, and the grid on which
  :func:`interp23tap` puts the LR samples;
* ``phase=r // 2 - 1`` (``"center-1"``): the other centre for even ratios;
* ``"mean"``: block average (an ideal box PSF followed by decimation).

The output has ``H // r`` x ``W // r`` pixels (trailing rows/columns that do not fill a block are
dropped). :class:`Decimation` is a linear operator whose adjoint scatters the LR samples back
onto an all-zero HR grid (``hr_shape`` fixes its size when ``H`` is not a multiple of ``r``);
``"mean"`` spreads each value over its block divided by :math:`r^2`.

Interpolators (:class:`Upsampling`, functions :func:`interp23tap`, :func:`bicubic`,
:func:`nearest`, :func:`upsample`) map ``(h, w)`` to ``(h r, w r)`` for every integer ratio. Each is
separable and linear, applied along each axis as a *polyphase* filter (:class:`Polyphase`: output
sample :math:`i r + k` is a short weighted sum of the input samples near :math:`i`, one set of
weights per phase :math:`k`; numpy: overlapping slabs of the signal times one small local
matrix (BLAS), torch: ``conv1d`` with one channel per phase), so the cost is a few multiply-adds
per output sample, never an ``n_out x n_in`` matrix product; it is also a :class:`LinearOperator` with an exact adjoint (the transpose, also
polyphase). Interpolators are *not* adjoints of decimation. Their grid is set by ``phase``: an
integer ``p`` puts LR sample ``i`` at HR pixel ``i r + p``; ``"center"`` aligns pixel centres
(``imresize``/``skimage``/``scipy.ndimage.zoom(grid_mode=True)``: LR pixel ``i`` covers HR pixels
``[i r, (i + 1) r)``, centre at ``i r + (r - 1) / 2``).

* ``interp23tap``: the 23-tap symmetric interpolator of Aiazzi et al. (2002) used by the
  pansharpening toolbox (``interp23tap.m``). For a power-of-two ratio: successive x2 stages,
  each inserting zeros and filtering with the half-band kernel whose odd taps are the 12-point
  Lagrange (Deslauriers-Dubuc) midpoint weights: :math:`h[0] = 1`, :math:`h[\pm 2k] = 0`,
  :math:`h[t_k] = \prod_{j \neq k} (0 - t_j) / (t_k - t_j)` over the nodes
  :math:`t_j \in \{\pm 1, \pm 3, \ldots, \pm 11\}` (computed in exact arithmetic; equal to the
  toolbox's ``CDF23`` coefficients to 1e-12), the toolbox's algorithm, reproduced to rounding. With
  circular borders (the default) the stages compose exactly into one polyphase filter of the full
  ratio (17 taps per phase at ratio 4), which is what runs; other border modes run the stages.
  For any other ratio the x2 cascade does not exist; the interpolator is then ``lagrange``, the
  same kernel family designed for the ratio.
* ``lagrange``: direct Lagrange interpolation of the same order at ratio :math:`r` -- the kernel
  family of the 23-tap filter (whose odd taps are the 12-point Lagrange midpoint weights)
  evaluated at the :math:`r - 1` fractional positions of the ratio, a polyphase FIR interpolator
  in the sense of Schafer and Rabiner (1973): HR sample at LR coordinate :math:`i + f`, :math:`f = k/r`, is
  :math:`\sum_{o=-5}^{6} w_o(f)\, x[i + o]` with the degree-11 Lagrange weights
  :math:`w_o(f) = \prod_{j \neq o}(f - j)/(o - j)` (:func:`lagrange_weights`, exact rational
  arithmetic). The 1-D kernel has :math:`12 r - 1` taps, is symmetric and interpolating
  (:math:`h[0] = 1`, :math:`h[\pm m r] = 0`), has unit gain on every polyphase component and
  reproduces polynomials up to degree 11; at :math:`r = 2` it *is* the 23-tap kernel. Default
  phase ``r // 2`` (the toolbox grid; the exact centre of the MS pixel for odd ratios) and
  circular borders, as ``interp23tap``.
* ``bicubic``: Keys cubic convolution (``a = -0.5``, MATLAB ``imresize``); default
  ``phase="center"`` and ``symmetric`` borders (as ``imresize``). Exact on quadratics.
* ``nearest``: pixel replication for ``phase="center"`` (each LR pixel becomes an r x r block);
  with an integer phase, HR pixel ``n`` takes LR pixel ``floor((n - p) / r + 1/2)``.
* ``bilinear``: linear interpolation on the same grids.

:class:`ImresizeBicubic` is MATLAB's ``imresize(x, 1/r)`` (bicubic with antialiasing), a
decimating polyphase filter, and :func:`imresize_down_up` the toolbox's resize down and up.
:func:`expand` (the pansharpening methods' expanded MS), :func:`check_ratio` and
:func:`check_ratio_power_of_two` are the resampling helpers the fusion code shares.

References
----------
B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, "Context-driven fusion of high spatial and
spectral resolution images based on oversampled multiresolution analysis", IEEE TGRS
40(10):2300-2312, 2002.
B. Aiazzi, S. Baronti, M. Selva, L. Alparone, "Bi-cubic interpolation for shift-free
pan-sharpening", ISPRS J. Photogramm. Remote Sens. 86:65-76, 2013.
R. W. Schafer, L. R. Rabiner, "A digital signal processing approach to interpolation", Proc.
IEEE 61(6):692-702, 1973, doi:10.1109/PROC.1973.9150.
R. Keys, "Cubic convolution interpolation for digital image processing", IEEE TASSP
29(6):1153-1160, 1981.
G. Vivone et al., "A critical comparison among pansharpening algorithms", IEEE TGRS
53(5):2565-2586, 2015.

Example
-------
>>> import numpy as np
>>> from hysupp.physics.sampling import Decimation, Upsampling, interp23tap
>>> x = np.arange(16.0).reshape(1, 4, 4)
>>> Decimation(2, phase=0)(x)[0].tolist()
[[0.0, 2.0], [8.0, 10.0]]
>>> Decimation(2, phase="mean")(x)[0].tolist()
[[2.5, 4.5], [10.5, 12.5]]
>>> y = interp23tap(x, 4)                         # (1, 16, 16); LR samples at 4 i + 2
>>> y.shape, bool(np.allclose(Decimation(4, phase=2)(y), x))
((1, 16, 16), True)
>>> y3 = interp23tap(x, 3)                        # any ratio; LR samples at 3 i + 1
>>> y3.shape, bool(np.allclose(Decimation(3, phase="center")(y3), x))
((1, 12, 12), True)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from hysupp.errors import InputError, ParameterError
from hysupp.physics.blur import as_numpy_input as _as_numpy_input
from hysupp.physics.blur import boundary_index, canonical_mode
from hysupp.physics.blur import check_torch_input as _check_torch_input
from hysupp.physics.blur import float_dtype as _float_dtype
from hysupp.physics.operator import LinearOperator, is_torch

__all__ = [
    "LAGRANGE_POINTS",
    "Decimation",
    "ImresizeBicubic",
    "Polyphase",
    "Upsampling",
    "bicubic",
    "check_ratio",
    "check_ratio_power_of_two",
    "expand",
    "imresize_down_up",
    "interp23tap",
    "lagrange_halfband",
    "lagrange_weights",
    "nearest",
    "upsample",
]

METHODS = ("interp23tap", "lagrange", "bicubic", "bilinear", "nearest")

#: Output images of at least this many pixels are interpolated one band at a time (numpy).
_BAND_BY_BAND = 1 << 18

#: Samples of the Lagrange interpolator for ratios that are not powers of two (the order of the
#: 23-tap kernel: 12 nodes, degree 11).
LAGRANGE_POINTS = 12


def _check_ratio(ratio: Any) -> int:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise ParameterError(f"ratio must be an integer >= 1, got {ratio!r}")
    return int(ratio)


def _resolve_phase(phase: Any, ratio: int, *, allow_mean: bool,
                   allow_center_align: bool) -> int | str:
    """Integer phase in [0, ratio), 'mean' (decimation) or 'center' (pixel-centre alignment)."""
    if isinstance(phase, str):
        p = phase.strip().lower().replace("centre", "center")
        if p in ("mean", "average", "block", "block-average", "box") and allow_mean:
            return "mean"
        if p == "first":
            return 0
        if p == "center":
            return "center" if allow_center_align else ratio // 2
        if p == "center-1":
            if ratio < 2:
                raise ParameterError("phase 'center-1' needs ratio >= 2")
            return ratio // 2 - 1
        names = "'first', 'center', 'center-1'" + (", 'mean'" if allow_mean else "")
        raise ParameterError(f"unknown phase {phase!r}; use an integer in [0, {ratio}) or one "
                             f"of {names}")
    if isinstance(phase, bool) or not isinstance(phase, (int, np.integer)):
        raise ParameterError(f"phase must be an integer in [0, {ratio}) or a name, got {phase!r}")
    if not 0 <= int(phase) < ratio:
        raise ParameterError(f"phase must be in [0, {ratio}) for ratio {ratio}, got {phase}")
    return int(phase)


# --------------------------------------------------------------------------------------------
# decimation
# --------------------------------------------------------------------------------------------
class Decimation(LinearOperator):
    r"""Keep one pixel per ``ratio`` x ``ratio`` block (at ``phase``) or average the block.

    Parameters
    ----------
    ratio : int
        Decimation factor (both axes).
    phase : int or str
        Required. An integer ``p`` in ``[0, ratio)`` keeps HR pixels ``i * ratio + p``; names:
        ``"first"`` (0), ``"center"`` (``ratio // 2``, MATLAB ``imresize(.., 'nearest')``),
        ``"center-1"`` (``ratio // 2 - 1``), ``"mean"`` (block average).
    hr_shape : (int, int), optional
        Size of the HR grid the adjoint returns; default ``(h * ratio, w * ratio)``.

    Notes
    -----
    ``forward``: ``(..., H, W) -> (..., H // ratio, W // ratio)``; ``adjoint``: zero-filling
    (sampling phases) or block replication divided by ``ratio**2`` (``"mean"``), which satisfy
    :math:`\langle Dx, y\rangle = \langle x, D^*y\rangle` exactly. Works on numpy arrays and torch
    tensors (differentiable), keeping dtype and device.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(36.0).reshape(6, 6)
    >>> Decimation(3, phase="center")(x).tolist()              # pixels 1 and 4 of each axis
    [[7.0, 10.0], [25.0, 28.0]]
    >>> Decimation(2, phase=1).adjoint(np.ones((1, 1))).tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """

    def __init__(self, ratio: int, phase: int | str, *,
                 hr_shape: tuple[int, int] | None = None) -> None:
        self.ratio = _check_ratio(ratio)
        self.phase = _resolve_phase(phase, self.ratio, allow_mean=True, allow_center_align=False)
        if hr_shape is not None:
            hs = tuple(int(v) for v in hr_shape)
            if len(hs) != 2 or min(hs) < self.ratio:
                raise ParameterError(f"hr_shape must be (H, W) with H, W >= ratio, "
                                     f"got {hr_shape!r}")
            self.hr_shape: tuple[int, int] | None = hs
        else:
            self.hr_shape = None

    def to_dict(self) -> dict[str, Any]:
        return {"op": "decimation", "ratio": self.ratio, "phase": self.phase,
                "hr_shape": list(self.hr_shape) if self.hr_shape else None}

    def _lr_shape(self, H: int, W: int) -> tuple[int, int]:
        h, w = H // self.ratio, W // self.ratio
        if h < 1 or w < 1:
            raise InputError(f"image of {H} x {W} pixels is smaller than the decimation ratio "
                             f"{self.ratio}")
        return h, w

    def forward(self, x: Any) -> Any:
        r = self.ratio
        if is_torch(x):
            _check_torch_input(x)
        else:
            x = _as_numpy_input(x)
        H, W = x.shape[-2:]
        if self.hr_shape is not None and (H, W) != self.hr_shape:
            raise InputError(f"this decimation was set up for {self.hr_shape[0]} x "
                             f"{self.hr_shape[1]} images, got {H} x {W}")
        h, w = self._lr_shape(H, W)
        if self.phase == "mean":
            xc = x[..., :h * r, :w * r]
            lead = tuple(x.shape[:-2])
            if is_torch(x):
                return xc.reshape(lead + (h, r, w, r)).mean(dim=(-3, -1))
            xf = xc.astype(_float_dtype(xc), copy=False)
            return xf.reshape(lead + (h, r, w, r)).mean(axis=(-3, -1))
        p = self.phase
        out = x[..., p:p + h * r:r, p:p + w * r:r]
        return out.contiguous() if is_torch(out) else np.ascontiguousarray(out)

    def adjoint(self, y: Any) -> Any:
        r = self.ratio
        if is_torch(y):
            _check_torch_input(y, "y")
        else:
            y = _as_numpy_input(y, "y")
        h, w = y.shape[-2:]
        H, W = self.hr_shape if self.hr_shape is not None else (h * r, w * r)
        if (H // r, W // r) != (h, w):
            raise InputError(f"y has {h} x {w} pixels but the HR grid {H} x {W} decimates to "
                             f"{H // r} x {W // r}")
        lead = tuple(y.shape[:-2])
        if is_torch(y):
            import torch.nn.functional as F

            if self.phase == "mean":
                z = y[..., :, None, :, None].expand(lead + (h, r, w, r))
                z = z.reshape(lead + (h * r, w * r)) / (r * r)
                return F.pad(z, (0, W - w * r, 0, H - h * r))
            out = y.new_zeros(lead + (H, W))
            p = self.phase
            out[..., p:p + h * r:r, p:p + w * r:r] = y
            return out
        dt = _float_dtype(y) if self.phase == "mean" else y.dtype
        out = np.zeros(lead + (H, W), dtype=dt)
        if self.phase == "mean":
            blk = np.broadcast_to(y[..., :, None, :, None].astype(dt), lead + (h, r, w, r))
            out[..., :h * r, :w * r] = blk.reshape(lead + (h * r, w * r)) / (r * r)
        else:
            p = self.phase
            out[..., p:p + h * r:r, p:p + w * r:r] = y
        return out


# --------------------------------------------------------------------------------------------
# 1-D kernels
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def lagrange_halfband(taps: int = 23) -> np.ndarray:
    r"""The ``taps``-tap interpolating half-band kernel (``interp23tap`` for ``taps=23``).

    ``h[c] = 1``, ``h[c +- 2k] = 0`` and ``h[c +- (2k - 1)]`` are the weights of the Lagrange
    polynomial through the ``(taps + 1) / 2`` samples at odd half-offsets evaluated at the midpoint
    (Deslauriers-Dubuc), computed in exact rational arithmetic.

    >>> h = lagrange_halfband(23)
    >>> h.shape, round(float(h[12]), 12), round(float(h.sum()), 12)  # CDF23: 2 * 0.305334091185
    ((23,), 0.610668182373, 2.0)
    """
    if taps < 3 or taps % 4 != 3:
        raise ParameterError(f"a Lagrange half-band kernel has 4k + 3 taps (7, 11, ..., 23), "
                             f"got {taps}")
    n = (taps + 1) // 4           # number of odd taps on each side
    nodes = [2 * k - 1 for k in range(-n + 1, n + 1)]
    h = np.zeros(taps)
    c = taps // 2
    h[c] = 1.0
    for j in nodes:
        wgt = Fraction(1)
        for m in nodes:
            if m != j:
                wgt *= Fraction(-m, j - m)
        h[c + j] = float(wgt)
    h.setflags(write=False)
    return h


def lagrange_weights(frac: Fraction | float, points: int = LAGRANGE_POINTS) -> np.ndarray:
    r"""Weights of the Lagrange interpolating polynomial through ``points`` (even) unit-spaced
    samples at offsets :math:`-(P/2 - 1), \ldots, P/2` evaluated at ``frac`` in [0, 1):

    .. math:: w_o(f) = \prod_{j \neq o} \frac{f - j}{o - j}, \qquad \sum_o w_o\,o^d = f^d
              \quad (d < P).

    A :class:`~fractions.Fraction` is evaluated in exact arithmetic. At ``frac = 1/2`` the
    12-point weights are the odd taps of the 23-tap half-band kernel (:func:`lagrange_halfband`).

    >>> w = lagrange_weights(Fraction(1, 2))
    >>> bool(np.allclose(w, lagrange_halfband(23)[0::2]))
    True
    >>> [round(float(v), 6) for v in lagrange_weights(Fraction(1, 3), 4)]   # cubic Lagrange
    [-0.061728, 0.740741, 0.37037, -0.049383]
    """
    if points < 2 or points % 2:
        raise ParameterError(f"Lagrange interpolation needs an even number of points, got {points}")
    nodes = range(-(points // 2 - 1), points // 2 + 1)
    out = np.empty(points)
    for i, o in enumerate(nodes):
        wgt: Any = Fraction(1) if isinstance(frac, Fraction) else 1.0
        for j in nodes:
            if j != o:
                wgt *= (frac - j) / (o - j) if not isinstance(frac, Fraction) else Fraction(frac - j, o - j)
        out[i] = float(wgt)
    return out


def _keys(s: np.ndarray, a: float = -0.5) -> np.ndarray:
    s = np.abs(s)
    return np.where(s <= 1, (a + 2) * s ** 3 - (a + 3) * s ** 2 + 1,
                    np.where(s < 2, a * s ** 3 - 5 * a * s ** 2 + 8 * a * s - 4 * a, 0.0))


def _linear(s: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(s), 0.0, None)


# --------------------------------------------------------------------------------------------
# polyphase filters (the interpolators' and decimators' 1-D building block)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Polyphase:
    r"""A periodically time-varying FIR filter along one axis, applied without matrices.

    ``kind="up"`` (an interpolator, ``n -> n * ratio``):
    :math:`y[i r + k] = \sum_t W_{k,t}\, x[i + s + t]`, one row of weights per output phase
    :math:`k`; ``kind="down"`` (a decimating filter, ``n -> n / ratio``):
    :math:`y[i] = \sum_t W_{0,t}\, x[i r + s + t]`. ``x`` is extended beyond its ends with a border
    mode of :func:`hysupp.physics.blur.boundary_index`. Cost: one multiply-add per non-zero tap and
    output sample (the dense-matrix product it replaces costs ``n_in`` per output sample).
    """

    ratio: int
    start: int
    weights: np.ndarray          # (ratio, T) for "up", (1, T) for "down"
    kind: str = "up"

    @property
    def taps(self) -> int:
        return int(self.weights.shape[1])

    def pads(self) -> tuple[int, int]:
        """Samples needed before the first and after the last input sample."""
        T = self.taps
        if self.kind == "up":
            return max(0, -self.start), max(0, self.start + T - 1)
        return max(0, -self.start), max(0, self.start + T - self.ratio)

    def n_out(self, n_in: int) -> int:
        if self.kind == "up":
            return n_in * self.ratio
        if n_in % self.ratio:
            raise InputError(f"a decimation by {self.ratio} needs a side that is a multiple of "
                             f"{self.ratio}, got {n_in}")
        return n_in // self.ratio

    def matrix(self, n_in: int, mode: str) -> sp.csr_matrix:
        """The sparse ``(n_out, n_in)`` matrix of the filter (for tests and small adjoints)."""
        r, T = self.weights.shape[0] if self.kind == "up" else self.ratio, self.taps
        n_out = self.n_out(n_in)
        rows, cols, vals = [], [], []
        for n in range(n_out):
            i, k = (divmod(n, r) if self.kind == "up" else (n, 0))
            base = (i if self.kind == "up" else i * self.ratio) + self.start
            for t in range(T):
                w = self.weights[k, t]
                if w != 0:
                    rows.append(n)
                    cols.append(base + t)
                    vals.append(w)
        c = boundary_index(np.asarray(cols, dtype=np.int64), n_in, mode)
        keep = c >= 0
        M = sp.csr_matrix((np.asarray(vals)[keep], (np.asarray(rows)[keep], c[keep])), shape=(n_out, n_in))
        M.sum_duplicates()
        return M


def _sl(ndim: int, axis: int, s: slice | int) -> tuple:
    out: list = [slice(None)] * ndim
    out[axis] = s
    return tuple(out)


def _pad_np(x: np.ndarray, axis: int, lo: int, hi: int, mode: str) -> np.ndarray:
    n = x.shape[axis]
    idx = boundary_index(np.arange(-lo, n + hi), n, mode)
    if (idx < 0).any():                       # zero mode: one extra zero sample
        zshape = list(x.shape)
        zshape[axis] = 1
        x = np.concatenate([x, np.zeros(zshape, dtype=x.dtype)], axis=axis)
        idx = np.where(idx < 0, n, idx)
    return np.take(x, idx, axis=axis)


def _fold_np(z: np.ndarray, axis: int, n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Adjoint of :func:`_pad_np`: the padded samples are added back onto their sources."""
    x = np.array(z[_sl(z.ndim, axis, slice(lo, lo + n))])
    idx = boundary_index(np.arange(-lo, n + hi), n, mode)
    for j in list(range(lo)) + list(range(lo + n, lo + n + hi)):
        if idx[j] >= 0:
            x[_sl(z.ndim, axis, int(idx[j]))] += z[_sl(z.ndim, axis, j)]
    return x


@functools.lru_cache(maxsize=64)
def _block_matrix(P: Polyphase, B: int) -> np.ndarray:
    """The local ``(B + T - 1, r B)`` matrix mapping ``B + T - 1`` consecutive (padded) input
    samples to the ``r B`` outputs of ``B`` consecutive input positions (block polyphase form)."""
    r, T = P.weights.shape
    K = np.zeros((B + T - 1, r * B))
    for i in range(B):
        K[i:i + T, i * r:(i + 1) * r] = P.weights.T
    K.setflags(write=False)
    return K


def _poly_np(x: np.ndarray, P: Polyphase, axis: int, mode: str) -> np.ndarray:
    """Apply ``P`` along ``axis`` of a float64 array.

    Interpolators run in block polyphase form: the padded signal is cut into overlapping slabs of
    ``B + T - 1`` samples (``B`` input positions), each mapped to its ``r B`` outputs by one small
    local matrix (:func:`_block_matrix`), so the work is a few BLAS products of shape
    ``(slabs, B + T - 1) x (B + T - 1, r B)`` -- ``2 (B + T - 1)`` flops per output sample, never
    an ``n_out x n_in`` matrix -- and the outputs come out interleaved.
    """
    axis = axis % x.ndim
    n = x.shape[axis]
    n_out = P.n_out(n)
    if P.kind == "down":
        lo, hi = P.pads()
        xp = _pad_np(x, axis, lo, hi, mode)
        m = n_out
        out = np.zeros(x.shape[:axis] + (m,) + x.shape[axis + 1:])
        for t in np.flatnonzero(P.weights[0]):
            b = lo + P.start + int(t)
            out += P.weights[0, t] * xp[_sl(x.ndim, axis, slice(b, b + P.ratio * (m - 1) + 1, P.ratio))]
        return out
    r, T = P.weights.shape
    last = axis == x.ndim - 1
    B = max(1, min(32 if last else 16, n))
    nb = -(-n // B)
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    trail = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    # the extended signal from the first tap of input position 0 to the last tap of the last block
    # (samples past n + hi only feed outputs that are cut off)
    idx = boundary_index(np.arange(P.start, P.start + nb * B + T - 1), n, mode)
    x3 = x.reshape(lead, n, trail)
    if (idx < 0).any():                       # zero mode: one extra zero sample
        x3 = np.concatenate([x3, np.zeros((lead, 1, trail))], axis=1)
        idx = np.where(idx < 0, n, idx)
    xp = np.take(x3, idx, axis=1)
    K = _block_matrix(P, B)
    st = xp.strides
    if last:                                    # trail == 1: slabs along the rows, one GEMM
        view = np.lib.stride_tricks.as_strided(xp, (lead, nb, B + T - 1), (st[0], B * st[1], st[1]))
        y = (np.ascontiguousarray(view).reshape(lead * nb, B + T - 1) @ K).reshape(lead, nb * r * B)
        y = y[:, :n_out]
    else:                                       # slabs of rows (contiguous), batched GEMM
        view = np.lib.stride_tricks.as_strided(xp, (lead, nb, B + T - 1, trail),
                                               (st[0], B * st[1], st[1], st[2]))
        y = np.matmul(np.ascontiguousarray(K.T), view).reshape(lead, nb * r * B, trail)[:, :n_out]
    return np.ascontiguousarray(y).reshape(x.shape[:axis] + (n_out,) + x.shape[axis + 1:])


def _poly_adjoint_np(y: np.ndarray, P: Polyphase, axis: int, mode: str, n: int) -> np.ndarray:
    """Adjoint of :func:`_poly_np` (``y`` on the output grid, ``n`` the input length)."""
    axis = axis % y.ndim
    lo, hi = P.pads()
    zshape = y.shape[:axis] + (n + lo + hi,) + y.shape[axis + 1:]
    z = np.zeros(zshape)
    if P.kind == "down":
        m = y.shape[axis]
        for t in np.flatnonzero(P.weights[0]):
            b = lo + P.start + int(t)
            z[_sl(y.ndim, axis, slice(b, b + P.ratio * (m - 1) + 1, P.ratio))] += P.weights[0, t] * y
    else:
        r = P.ratio
        yv = y.reshape(y.shape[:axis] + (n, r) + y.shape[axis + 1:])
        for k in range(r):
            yk = yv[_sl(yv.ndim, axis + 1, k)]
            for t in np.flatnonzero(P.weights[k]):
                b = lo + P.start + int(t)
                z[_sl(y.ndim, axis, slice(b, b + n))] += P.weights[k, t] * yk
    return _fold_np(z, axis, n, lo, hi, mode)


def _torch_pad_index(n: int, lo: int, hi: int, mode: str, device: Any) -> tuple[Any, bool]:
    import torch

    idx = boundary_index(np.arange(-lo, n + hi), n, mode)
    zero = bool((idx < 0).any())
    return torch.as_tensor(np.where(idx < 0, n, idx), device=device), zero


def _poly_torch(x: Any, P: Polyphase, axis: int, mode: str) -> Any:
    import torch
    import torch.nn.functional as F

    xm = x.movedim(axis, -1)
    lead, n = tuple(xm.shape[:-1]), xm.shape[-1]
    n_out = P.n_out(n)
    lo, hi = P.pads()
    flat = xm.reshape(-1, 1, n)
    idx, zero = _torch_pad_index(n, lo, hi, mode, x.device)
    if zero:
        flat = torch.cat([flat, flat.new_zeros(flat.shape[0], 1, 1)], dim=-1)
    xp = flat.index_select(-1, idx)
    W = torch.as_tensor(P.weights.copy(), dtype=x.dtype, device=x.device)[:, None, :]
    s = lo + P.start
    if P.kind == "down":
        seg = xp[..., s:s + P.ratio * (n_out - 1) + P.taps]
        out = F.conv1d(seg, W, stride=P.ratio)[:, 0]
    else:
        seg = xp[..., s:s + n + P.taps - 1]
        out = F.conv1d(seg, W).transpose(1, 2).reshape(-1, n_out)
    return out.reshape(lead + (n_out,)).movedim(-1, axis)


def _poly_adjoint_torch(y: Any, P: Polyphase, axis: int, mode: str, n: int) -> Any:
    import torch
    import torch.nn.functional as F

    ym = y.movedim(axis, -1)
    lead, m = tuple(ym.shape[:-1]), ym.shape[-1]
    lo, hi = P.pads()
    W = torch.as_tensor(P.weights.copy(), dtype=y.dtype, device=y.device)[:, None, :]
    if P.kind == "down":
        seg = F.conv_transpose1d(ym.reshape(-1, 1, m), W, stride=P.ratio)
    else:
        seg = F.conv_transpose1d(ym.reshape(-1, n, P.ratio).transpose(1, 2), W)
    s = lo + P.start
    total = n + lo + hi
    z = F.pad(seg, (s, total - s - seg.shape[-1]))[:, 0]
    idx = boundary_index(np.arange(-lo, n + hi), n, mode)
    keep = np.flatnonzero(idx >= 0)
    src = torch.as_tensor(keep, device=y.device)
    tgt = torch.as_tensor(idx[keep], device=y.device)
    out = z.new_zeros(z.shape[0], n).index_add(1, tgt, z.index_select(1, src))
    return out.reshape(lead + (n,)).movedim(-1, axis)


def _apply_chain(x: Any, chain: tuple[Polyphase, ...], mode: str, adjoint: bool,
                 in_shape: tuple[int, int]) -> Any:
    """Apply the separable chain (each stage along rows, then columns), or its adjoint."""
    torch_in = is_torch(x)
    if not adjoint:
        # the two axes commute; the columns first keeps the (costlier) last-axis work on the
        # fewest rows
        for ax in (-1, -2):
            for P in chain:
                x = _poly_torch(x, P, ax, mode) if torch_in else _poly_np(x, P, ax, mode)
        return x
    sizes = [in_shape]
    for P in chain[:-1]:
        sizes.append((P.n_out(sizes[-1][0]), P.n_out(sizes[-1][1])))
    for P, (h, w) in zip(reversed(chain), reversed(sizes)):
        for ax, nn in ((-1, w), (-2, h)):
            x = (_poly_adjoint_torch(x, P, ax, mode, nn) if torch_in
                 else _poly_adjoint_np(x, P, ax, mode, nn))
    return x


# --------------------------------------------------------------------------------------------
# polyphase tables of the interpolators
# --------------------------------------------------------------------------------------------
def _table(ratio: int, taps: list[tuple[list[int], list[float]]]) -> Polyphase:
    """Polyphase from per-phase (offsets, weights) lists, on their common offset span."""
    lo = min(min(o) for o, _ in taps)
    hi = max(max(o) for o, _ in taps)
    W = np.zeros((ratio, hi - lo + 1))
    for k, (offs, ws) in enumerate(taps):
        for o, w in zip(offs, ws):
            W[k, o - lo] += w
    W.setflags(write=False)
    return Polyphase(ratio, lo, W, "up")


def _position(k: int, ratio: int, phase: int | str) -> Fraction:
    """LR coordinate of HR sample ``k`` (exact)."""
    if phase == "center":
        return Fraction(2 * k + 1, 2 * ratio) - Fraction(1, 2)
    return Fraction(k - int(phase), ratio)


@functools.lru_cache(maxsize=64)
def _stages(ratio: int, phase: int | str, method: str, a: float) -> tuple[Polyphase, ...]:
    """The interpolator as a chain of polyphase stages (one stage except the dyadic interp23tap)."""
    if method == "interp23tap" and _is_pow2(ratio):
        h = lagrange_halfband(23)
        c = len(h) // 2
        odd = [d for d in range(-c, c + 1) if d % 2]
        J = ratio.bit_length() - 1
        chain = []
        for s in range(J):
            bit = (int(phase) >> (J - 1 - s)) & 1        # most significant bit first
            per_phase = []
            for k in range(2):
                if k == bit:
                    per_phase.append(([0], [1.0]))
                else:
                    per_phase.append(([(k - bit - d) // 2 for d in odd], [float(h[c + d]) for d in odd]))
            chain.append(_table(2, per_phase))
        return tuple(chain)
    per_phase = []
    for k in range(ratio):
        t = _position(k, ratio, phase)
        base = math.floor(t)
        frac = t - base
        if method == "nearest":
            per_phase.append(([math.floor(t + Fraction(1, 2))], [1.0]))
        elif method in ("interp23tap", "lagrange"):
            if frac == 0:
                per_phase.append(([base], [1.0]))
            else:
                half = LAGRANGE_POINTS // 2
                offs = list(range(base - half + 1, base + half + 1))
                per_phase.append((offs, lagrange_weights(frac).tolist()))
        else:
            support = 2 if method == "bicubic" else 1
            offs = list(range(base - support + 1, base + support + 1))
            d = float(t) - np.asarray(offs, dtype=np.float64)
            w = _keys(d, a) if method == "bicubic" else _linear(d)
            per_phase.append((offs, w.tolist()))
    return (_table(ratio, per_phase),)


@functools.lru_cache(maxsize=64)
def _composite(ratio: int, phase: int | str, method: str, a: float) -> Polyphase:
    """The chain of :func:`_stages` as ONE polyphase filter of the full ratio (its exact composition on an
    unbounded grid; equal to the chain with circular borders, where the stages' periodic extensions compose;
    the other border modes keep the chain)."""
    chain = _stages(ratio, phase, method, a)
    if len(chain) == 1:
        return chain[0]
    n = 8 * max(P.taps for P in chain) + 8
    M = sp.identity(n, format="csr")
    m = n
    for P in chain:
        M = (P.matrix(m, "zero") @ M).tocsr()
        m = P.n_out(m)
    i0 = n // 2
    per_phase = []
    for k in range(ratio):
        row = M.getrow(i0 * ratio + k)
        per_phase.append(([int(c) - i0 for c in row.indices], row.data.tolist()))
    return _table(ratio, per_phase)


def _is_pow2(ratio: int) -> bool:
    return ratio >= 1 and ratio & (ratio - 1) == 0


@functools.lru_cache(maxsize=64)
def _matrix(n_in: int, ratio: int, phase: int | str, mode: str, method: str,
            a: float) -> sp.csr_matrix:
    M = sp.identity(n_in, format="csr")
    m = n_in
    for P in _stages(ratio, phase, method, a):
        M = (P.matrix(m, mode) @ M).tocsr()
        m = P.n_out(m)
    M.sum_duplicates()
    M.eliminate_zeros()
    return M


# --------------------------------------------------------------------------------------------
# the interpolator
# --------------------------------------------------------------------------------------------
_DEFAULTS = {
    "interp23tap": ("ratio//2", "circular"),
    "lagrange": ("ratio//2", "circular"),
    "bicubic": ("center", "symmetric"),
    "bilinear": ("center", "symmetric"),
    "nearest": ("center", "replicate"),
}


class Upsampling(LinearOperator):
    r"""Separable interpolator ``(..., h, w) -> (..., h * ratio, w * ratio)``, exact adjoint.

    Parameters
    ----------
    ratio : int
        Upsampling factor (any integer >= 1).
    method : {"interp23tap", "lagrange", "bicubic", "bilinear", "nearest"}
        See the module notes. ``interp23tap`` is the toolbox's dyadic cascade for power-of-two
        ratios and the 12-point Lagrange interpolator (``lagrange``) otherwise.
    phase : int or str, optional
        Where LR samples sit on the HR grid: an integer ``p`` (sample ``i`` at ``i * ratio + p``),
        ``"first"``, ``"center-1"``, or ``"center"`` (pixel-centre alignment; for ``interp23tap``
        and ``lagrange``, which need an integer phase, ``"center"`` means ``ratio // 2``).
        Defaults: ``interp23tap``/``lagrange`` ``ratio // 2``; the others ``"center"``.
    mode : str, optional
        Border mode; defaults: ``interp23tap``/``lagrange`` circular (toolbox),
        ``bicubic``/``bilinear`` symmetric (``imresize``), ``nearest`` replicate.
    a : float
        Keys parameter of ``bicubic`` (-0.5; PyTorch's ``interpolate`` uses -0.75).

    Notes
    -----
    Applied as separable polyphase filters (:class:`Polyphase`; numpy: block polyphase form,
    slabs of ``B + T - 1`` input samples times one small local matrix; torch: one ``conv1d`` with
    one output channel per phase), never as ``n_out x n_in`` matrices; :meth:`matrix` builds the
    1-D matrix for inspection.

    Examples
    --------
    >>> import numpy as np
    >>> U = Upsampling(2, "nearest")
    >>> U(np.array([[1.0, 2.0]])).tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]
    >>> from hysupp.physics.operator import adjoint_mismatch
    >>> adjoint_mismatch(Upsampling(4, "bicubic"), (2, 5, 6)) < 1e-12
    True
    >>> adjoint_mismatch(Upsampling(3, "interp23tap", mode="symmetric"), (2, 5, 6)) < 1e-12
    True
    """

    def __init__(self, ratio: int, method: str = "interp23tap", *, phase: int | str | None = None,
                 mode: str | None = None, a: float = -0.5) -> None:
        self.ratio = _check_ratio(ratio)
        m = str(method).strip().lower()
        if m in ("interp23", "23tap", "23-tap", "exp"):
            m = "interp23tap"
        if m in ("cubic",):
            m = "bicubic"
        if m in ("linear",):
            m = "bilinear"
        if m not in METHODS:
            raise ParameterError(f"unknown interpolation method {method!r}; expected one of "
                                 f"{', '.join(METHODS)}")
        self.method = m
        dphase, dmode = _DEFAULTS[m]
        if phase is None:
            phase = self.ratio // 2 if dphase == "ratio//2" else dphase
        integer_phase = m in ("interp23tap", "lagrange")
        self.phase = _resolve_phase(phase, self.ratio, allow_mean=False,
                                    allow_center_align=not integer_phase)
        self.mode = canonical_mode(mode if mode is not None else dmode)
        self.a = float(a)

    @property
    def dyadic(self) -> bool:
        """Whether ``interp23tap`` runs the toolbox's cascade of x2 half-band stages."""
        return self.method == "interp23tap" and _is_pow2(self.ratio)

    def to_dict(self) -> dict[str, Any]:
        d = {"op": "upsampling", "method": self.method, "ratio": self.ratio, "phase": self.phase,
             "mode": self.mode}
        if self.dyadic:
            d["taps"] = 23
        elif self.method in ("interp23tap", "lagrange"):
            d["kernel"] = f"{LAGRANGE_POINTS}-point Lagrange (degree {LAGRANGE_POINTS - 1}), direct"
            d["taps"] = LAGRANGE_POINTS * self.ratio - 1
        if self.method == "bicubic":
            d["a"] = self.a
        return d

    def _chain(self) -> tuple[Polyphase, ...]:
        if self.mode == "circular":               # the cascade composes into one filter of the full ratio
            return (_composite(self.ratio, self.phase, self.method, self.a),)
        return _stages(self.ratio, self.phase, self.method, self.a)

    def _mat(self, n_in: int) -> sp.csr_matrix:
        return _matrix(int(n_in), self.ratio, self.phase, self.mode, self.method, self.a)

    def matrix(self, n_in: int) -> np.ndarray:
        """The dense 1-D interpolation matrix ``(n_in * ratio, n_in)`` applied along each axis."""
        return self._mat(n_in).toarray()

    def forward(self, x: Any) -> Any:
        return self._apply(x, adjoint=False)

    def adjoint(self, y: Any) -> Any:
        return self._apply(y, adjoint=True)

    def _apply(self, x: Any, adjoint: bool) -> Any:
        r = self.ratio
        if is_torch(x):
            _check_torch_input(x)
        else:
            x = _as_numpy_input(x)
        H, W = x.shape[-2:]
        if adjoint:
            if H % r or W % r:
                raise InputError(f"the adjoint of a x{r} upsampling takes images whose sides are "
                                 f"multiples of {r}, got {H} x {W}")
            nin = (H // r, W // r)
        else:
            nin = (H, W)
        if is_torch(x):
            return _apply_chain(x, self._chain(), self.mode, adjoint, nin)
        dt = _float_dtype(x)
        xf = np.asarray(x, dtype=np.float64)
        lead = xf.shape[:-2]
        n_lead = int(np.prod(lead, dtype=np.int64))
        out_hw = (H // r, W // r) if adjoint else (H * r, W * r)
        if n_lead > 1 and out_hw[0] * out_hw[1] >= _BAND_BY_BAND:
            # one band at a time: the intermediates stay small (reused by the allocator instead of
            # fresh page-faulted blocks), the output is allocated once
            flat = xf.reshape((n_lead,) + xf.shape[-2:])
            out = np.empty((n_lead,) + out_hw, dtype=dt)
            for i in range(n_lead):
                out[i] = _apply_chain(flat[i], self._chain(), self.mode, adjoint, nin)
            return out.reshape(lead + out_hw)
        out = _apply_chain(xf, self._chain(), self.mode, adjoint, nin)
        return out.astype(dt, copy=False)


def upsample(x: Any, ratio: int, method: str = "interp23tap", *, phase: int | str | None = None,
             mode: str | None = None) -> Any:
    """Interpolate ``x`` (numpy or torch, ``(..., h, w)``) by ``ratio`` with ``method``
    (see :class:`Upsampling`)."""
    return Upsampling(ratio, method, phase=phase, mode=mode).forward(x)


def interp23tap(x: Any, ratio: int, *, phase: int | str | None = None,
                mode: str = "circular") -> Any:
    r"""23-tap polynomial interpolation (``interp23tap.m``) for every integer ``ratio``.

    Power-of-two ratios: ``log2(ratio)`` successive x2 stages of zero insertion and filtering
    with :func:`lagrange_halfband` (the toolbox's algorithm). Other ratios: the direct 12-point
    Lagrange interpolator of the same polynomial order (``method="lagrange"``, module notes). LR
    sample ``i`` lands on HR pixel ``i * ratio + phase`` (default ``ratio // 2``, as the toolbox,
    matching ``Decimation(ratio, "center")``), with circular borders by default (as the toolbox).

    >>> import numpy as np
    >>> ramp = np.tile(np.arange(32.0), (4, 1))          # x[i, j] = j
    >>> y = interp23tap(ramp, 2)                         # y[., n] = (n - 1) / 2 away from borders
    >>> bool(np.allclose(y[:, 24:40], (np.arange(24, 40) - 1) / 2))
    True
    >>> y3 = interp23tap(ramp, 3)                        # y[., n] = (n - 1) / 3 away from borders
    >>> bool(np.allclose(y3[:, 36:60], (np.arange(36, 60) - 1) / 3))
    True
    """
    return Upsampling(ratio, "interp23tap", phase=phase, mode=mode).forward(x)


def bicubic(x: Any, ratio: int, *, phase: int | str = "center", mode: str = "symmetric",
            a: float = -0.5) -> Any:
    """Keys bicubic interpolation (``a = -0.5``; MATLAB ``imresize`` grid and borders)."""
    return Upsampling(ratio, "bicubic", phase=phase, mode=mode, a=a).forward(x)


def nearest(x: Any, ratio: int, *, phase: int | str = "center", mode: str = "replicate") -> Any:
    """Nearest-neighbour interpolation (pixel replication with the default ``phase="center"``)."""
    return Upsampling(ratio, "nearest", phase=phase, mode=mode).forward(x)


# --------------------------------------------------------------------------------------------
# MATLAB imresize(x, 1/r) (bicubic with antialiasing)
# --------------------------------------------------------------------------------------------
def _keys_cubic(s: np.ndarray) -> np.ndarray:
    return _keys(s, -0.5)


@functools.lru_cache(maxsize=32)
def _imresize_table(ratio: int) -> Polyphase:
    r = ratio
    u = (r - 1) / 2.0                          # input position of output sample 0
    j = np.floor(u - 2 * r) + np.arange(4 * r + 2)
    w = _keys_cubic((u - j) / r)
    w /= w.sum()
    nz = np.flatnonzero(w)
    W = w[nz[0]:nz[-1] + 1][None].copy()
    W.setflags(write=False)
    return Polyphase(r, int(j[nz[0]]), W, "down")


class ImresizeBicubic(LinearOperator):
    r"""Reduce ``(..., H, W)`` by an integer ``ratio`` like MATLAB's ``imresize(x, 1/ratio)``.

    Bicubic (Keys, :math:`a = -1/2`) with antialiasing: output sample :math:`i` sits at input
    position :math:`u_i = r i + (r - 1)/2` (the centre of its :math:`r`-block) and takes

    .. math::
        y_i = \sum_j w_{ij} x_j, \qquad
        w_{ij} \propto k\!\left(\frac{u_i - j}{r}\right), \qquad \sum_j w_{ij} = 1,

    the cubic kernel :math:`k` stretched by :math:`r` (support :math:`4r` samples), rows
    normalised, with half-sample symmetric borders (MATLAB's mirrored indices). Applied separably
    as a decimating polyphase filter (:class:`Polyphase`, ``kind="down"``); the adjoint is the
    transpose. Sides must be multiples of ``ratio``.

    Examples
    --------
    >>> import numpy as np
    >>> op = ImresizeBicubic(4)
    >>> op(np.full((1, 8, 12), 3.0)).round(12).tolist()
    [[[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]]
    >>> from hysupp.physics.operator import adjoint_mismatch
    >>> adjoint_mismatch(op, (2, 8, 12)) < 1e-12
    True
    """

    def __init__(self, ratio: int) -> None:
        r = _check_ratio(ratio)
        if r < 2:
            raise InputError(f"ImresizeBicubic needs an integer ratio >= 2, got {ratio!r}")
        self.ratio = r

    def to_dict(self) -> dict[str, Any]:
        return {"op": "imresize", "method": "bicubic", "ratio": self.ratio, "kernel": "keys", "a": -0.5,
                "antialiasing": True, "mode": "symmetric",
                "note": "MATLAB imresize(x, 1/ratio) semantics (pansharpening toolbox v1.3 PAN resize)"}

    def matrix(self, n: int) -> np.ndarray:
        """The ``(n / ratio, n)`` 1-D reduction matrix."""
        return _imresize_table(self.ratio).matrix(int(n), "symmetric").toarray()

    def _apply(self, x: Any, adjoint: bool) -> Any:
        P = _imresize_table(self.ratio)
        if is_torch(x):
            _check_torch_input(x)
        else:
            x = _as_numpy_input(x)
        H, W = x.shape[-2:]
        if not adjoint:
            for n in (H, W):
                P.n_out(n)                        # sides must be multiples of the ratio
            if is_torch(x):
                return _poly_torch(_poly_torch(x, P, -2, "symmetric"), P, -1, "symmetric")
            dt = _float_dtype(x)
            out = _poly_np(_poly_np(np.asarray(x, dtype=np.float64), P, -2, "symmetric"), P, -1, "symmetric")
            return out.astype(dt, copy=False)
        r = self.ratio
        if is_torch(x):
            return _poly_adjoint_torch(_poly_adjoint_torch(x, P, -1, "symmetric", W * r), P, -2,
                                       "symmetric", H * r)
        dt = _float_dtype(x)
        out = _poly_adjoint_np(_poly_adjoint_np(np.asarray(x, dtype=np.float64), P, -1, "symmetric", W * r),
                               P, -2, "symmetric", H * r)
        return out.astype(dt, copy=False)

    def forward(self, x: Any) -> Any:
        return self._apply(x, adjoint=False)

    def adjoint(self, y: Any) -> Any:
        return self._apply(y, adjoint=True)


def imresize_down_up(x: Any, ratio: int) -> np.ndarray:
    """``imresize(imresize(x, 1/ratio), ratio)``: :class:`ImresizeBicubic` down, :func:`bicubic`
    up (float64), the toolbox's "low-pass by resizing" (AWLP, PRACS, BDSD)."""
    return np.asarray(bicubic(ImresizeBicubic(ratio).forward(np.asarray(x, dtype=np.float64)), ratio),
                      dtype=np.float64)


# --------------------------------------------------------------------------------------------
# helpers of the fusion methods
# --------------------------------------------------------------------------------------------
def check_ratio(ratio: Any, what: str = "ratio") -> int:
    """An integer resolution ratio >= 2 (any, not only powers of two), or a clear
    :class:`~hysupp.errors.InputError` naming ``what`` needs it.

    >>> check_ratio(3, "MTF-GLP")
    3
    >>> check_ratio(1.5, "MTF-GLP")
    Traceback (most recent call last):
    ...
    hysupp.errors.InputError: MTF-GLP: the resolution ratio must be an integer >= 2, got 1.5
    """
    ok = (not isinstance(ratio, (bool, np.bool_)) and isinstance(ratio, (int, np.integer, float, np.floating))
          and math.isfinite(float(ratio)) and float(ratio).is_integer() and float(ratio) >= 2)
    if not ok:
        raise InputError(f"{what}: the resolution ratio must be an integer >= 2, got {ratio!r}")
    return int(ratio)


def check_ratio_power_of_two(ratio: Any, what: str = "ratio") -> int:
    """:func:`check_ratio` plus a power of two (for code that still needs a dyadic ratio)."""
    r = check_ratio(ratio, what)
    if not _is_pow2(r):
        raise InputError(f"{what}: needs a power-of-two ratio, got {r}")
    return r


def expand(ms: Any, ratio: int) -> np.ndarray:
    r"""``ms`` ``(L, h, w)`` interpolated to ``(L, h r, w r)`` in float64 with :func:`interp23tap`
    (circular borders, LR sample ``i`` at HR pixel ``i r + r // 2``): the toolbox's
    ``interp23tap.m`` for power-of-two ratios, the 12-point Lagrange interpolator otherwise. The
    pansharpening methods' :math:`\widetilde M` and the EXP baseline."""
    return np.asarray(interp23tap(np.asarray(ms, dtype=np.float64), check_ratio(ratio, "expand")),
                      dtype=np.float64)
