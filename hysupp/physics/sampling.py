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
:func:`nearest`, :func:`upsample`) map ``(h, w)`` to ``(h r, w r)``. Each is separable and linear,
applied as a sparse matrix per axis, so it is also a :class:`LinearOperator` with an exact adjoint
(the transpose); interpolators are *not* adjoints of decimation. Their grid is set by ``phase``:
an integer ``p`` puts LR sample ``i`` at HR pixel ``i r + p``; ``"center"`` aligns pixel centres
(``imresize``/``skimage``/``scipy.ndimage.zoom(grid_mode=True)``: LR pixel ``i`` covers HR pixels
``[i r, (i + 1) r)``, centre at ``i r + (r - 1) / 2``).

* ``interp23tap``: the 23-tap symmetric interpolator of Aiazzi et al. (2002) used by the
  pansharpening toolbox (``interp23tap.m``): successive x2 stages, each inserting zeros and
  filtering with the half-band kernel whose odd taps are the 12-point Lagrange (Deslauriers-Dubuc)
  midpoint weights: :math:`h[0] = 1`, :math:`h[\pm 2k] = 0`,
  :math:`h[t_k] = \prod_{j \neq k} (0 - t_j) / (t_k - t_j)` over the nodes
  :math:`t_j \in \{\pm 1, \pm 3, \ldots, \pm 11\}` (computed in exact arithmetic; equal to the
  toolbox's ``CDF23`` coefficients to 1e-12), for every power-of-two ratio.
  Default phase ``r // 2`` and circular borders, as the toolbox; it reproduces polynomials up to
  degree 11 away from the borders and keeps the LR samples (an interpolating filter).
* ``bicubic``: Keys cubic convolution (``a = -0.5``, MATLAB ``imresize``); default
  ``phase="center"`` and ``symmetric`` borders (as ``imresize``). Exact on quadratics.
* ``nearest``: pixel replication for ``phase="center"`` (each LR pixel becomes an r x r block);
  with an integer phase, HR pixel ``n`` takes LR pixel ``floor((n - p) / r + 1/2)``.
* ``bilinear``: linear interpolation on the same grids.

References
----------
B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, "Context-driven fusion of high spatial and
spectral resolution images based on oversampled multiresolution analysis", IEEE TGRS
40(10):2300-2312, 2002.
B. Aiazzi, S. Baronti, M. Selva, L. Alparone, "Bi-cubic interpolation for shift-free
pan-sharpening", ISPRS J. Photogramm. Remote Sens. 86:65-76, 2013.
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
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from hysupp.errors import InputError, ParameterError
from hysupp.physics.blur import as_numpy_input as _as_numpy_input
from hysupp.physics.blur import axis_apply_np as _axis_apply_np
from hysupp.physics.blur import boundary_index, canonical_mode
from hysupp.physics.blur import check_torch_input as _check_torch_input
from hysupp.physics.blur import float_dtype as _float_dtype
from hysupp.physics.operator import LinearOperator, is_torch

__all__ = [
    "Decimation",
    "Upsampling",
    "bicubic",
    "interp23tap",
    "lagrange_halfband",
    "nearest",
    "upsample",
]

METHODS = ("interp23tap", "bicubic", "bilinear", "nearest")

# 1-D interpolation matrices up to this many entries are applied as dense matmuls (BLAS/GPU);
# larger ones as sparse products (numpy) or gathers (torch).
_DENSE_LIMIT = 1 << 22


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
# 1-D resampling matrices
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


def _keys(s: np.ndarray, a: float = -0.5) -> np.ndarray:
    s = np.abs(s)
    return np.where(s <= 1, (a + 2) * s ** 3 - (a + 3) * s ** 2 + 1,
                    np.where(s < 2, a * s ** 3 - 5 * a * s ** 2 + 8 * a * s - 4 * a, 0.0))


def _linear(s: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(s), 0.0, None)


def _positions(n_out: int, ratio: int, phase: int | str) -> np.ndarray:
    """LR coordinate of each HR sample."""
    n = np.arange(n_out, dtype=np.float64)
    if phase == "center":
        return (n + 0.5) / ratio - 0.5
    return (n - phase) / ratio


def _kernel_matrix(n_in: int, ratio: int, phase: int | str, mode: str, method: str,
                   a: float) -> sp.csr_matrix:
    n_out = n_in * ratio
    t = _positions(n_out, ratio, phase)
    if method == "nearest":
        src = np.floor(t + 0.5 + 1e-9).astype(np.int64)[:, None]
        w = np.ones_like(src, dtype=np.float64)
    else:
        support = 2 if method == "bicubic" else 1
        base = np.floor(t).astype(np.int64)
        offs = np.arange(-support + 1, support + 1)
        src = base[:, None] + offs[None, :]
        d = t[:, None] - src
        w = _keys(d, a) if method == "bicubic" else _linear(d)
    idx = boundary_index(src, n_in, mode)
    rows = np.repeat(np.arange(n_out), src.shape[1])
    keep = (idx.ravel() >= 0) & (w.ravel() != 0)
    return sp.csr_matrix((w.ravel()[keep], (rows[keep], idx.ravel()[keep])), shape=(n_out, n_in))


def _x2_stage(n_in: int, offset: int, mode: str, h: np.ndarray) -> sp.csr_matrix:
    """One x2 stage: zero insertion at 2 j + offset, then the half-band kernel h."""
    c = len(h) // 2
    n_out = 2 * n_in
    n = np.arange(n_out)
    odd_taps = np.arange(-c, c + 1)
    odd_taps = odd_taps[(odd_taps % 2) != 0]
    rows, cols, vals = [], [], []
    even = (n - offset) % 2 == 0
    ne = n[even]
    rows.append(ne)
    cols.append(boundary_index((ne - offset) // 2, n_in, mode))
    vals.append(np.ones(ne.size))
    no = n[~even]
    for d in odd_taps:
        src = (no - offset - d) // 2           # (no - offset - d) is even
        rows.append(no)
        cols.append(boundary_index(src, n_in, mode))
        vals.append(np.full(no.size, h[c + d]))
    r_ = np.concatenate(rows)
    c_ = np.concatenate(cols)
    v_ = np.concatenate(vals)
    keep = c_ >= 0
    return sp.csr_matrix((v_[keep], (r_[keep], c_[keep])), shape=(n_out, n_in))


def _interp23_matrix(n_in: int, ratio: int, phase: int, mode: str) -> sp.csr_matrix:
    k = int(round(math.log2(ratio)))
    h = lagrange_halfband(23)
    M = sp.identity(n_in, format="csr")
    m = n_in
    for s in range(k):
        bit = (phase >> (k - 1 - s)) & 1        # most significant bit first
        M = (_x2_stage(m, bit, mode, h) @ M).tocsr()
        m *= 2
    M.eliminate_zeros()
    return M


@functools.lru_cache(maxsize=64)
def _matrix(n_in: int, ratio: int, phase: int | str, mode: str, method: str,
            a: float) -> sp.csr_matrix:
    if method == "interp23tap":
        M = _interp23_matrix(n_in, ratio, phase, mode)  # type: ignore[arg-type]
    else:
        M = _kernel_matrix(n_in, ratio, phase, mode, method, a)
    M.sum_duplicates()
    return M


@functools.lru_cache(maxsize=64)
def _gather_arrays(n_in: int, ratio: int, phase: int | str, mode: str, method: str,
                   a: float) -> tuple[np.ndarray, np.ndarray]:
    """Row-padded (n_out, T) source indices and weights of the matrix (for torch)."""
    M = _matrix(n_in, ratio, phase, mode, method, a)
    nnz = np.diff(M.indptr)
    T = max(int(nnz.max()), 1)
    idx = np.zeros((M.shape[0], T), dtype=np.int64)
    w = np.zeros((M.shape[0], T), dtype=np.float64)
    for r in range(M.shape[0]):
        s, e = M.indptr[r], M.indptr[r + 1]
        idx[r, :e - s] = M.indices[s:e]
        w[r, :e - s] = M.data[s:e]
    return idx, w


# --------------------------------------------------------------------------------------------
# the interpolator
# --------------------------------------------------------------------------------------------
_DEFAULTS = {
    "interp23tap": ("ratio//2", "circular"),
    "bicubic": ("center", "symmetric"),
    "bilinear": ("center", "symmetric"),
    "nearest": ("center", "replicate"),
}


class Upsampling(LinearOperator):
    r"""Separable interpolator ``(..., h, w) -> (..., h * ratio, w * ratio)``, exact adjoint.

    Parameters
    ----------
    ratio : int
        Upsampling factor (a power of two for ``interp23tap``).
    method : {"interp23tap", "bicubic", "bilinear", "nearest"}
        See the module notes.
    phase : int or str, optional
        Where LR samples sit on the HR grid: an integer ``p`` (sample ``i`` at ``i * ratio + p``),
        ``"first"``, ``"center-1"``, or ``"center"`` (pixel-centre alignment; for ``interp23tap``,
        which needs an integer phase, ``"center"`` means ``ratio // 2``). Defaults:
        ``interp23tap`` ``ratio // 2``; the others ``"center"``.
    mode : str, optional
        Border mode; defaults: ``interp23tap`` circular (toolbox), ``bicubic``/``bilinear``
        symmetric (``imresize``), ``nearest`` replicate.
    a : float
        Keys parameter of ``bicubic`` (-0.5; PyTorch's ``interpolate`` uses -0.75).

    Examples
    --------
    >>> import numpy as np
    >>> U = Upsampling(2, "nearest")
    >>> U(np.array([[1.0, 2.0]])).tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]
    >>> from hysupp.physics.operator import adjoint_mismatch
    >>> adjoint_mismatch(Upsampling(4, "bicubic"), (2, 5, 6)) < 1e-12
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
        if m == "interp23tap":
            if 2 ** round(math.log2(self.ratio)) != self.ratio:
                raise ParameterError(f"interp23tap needs a power-of-two ratio, got {self.ratio}")
            self.phase = _resolve_phase(phase, self.ratio, allow_mean=False,
                                        allow_center_align=False)
        else:
            self.phase = _resolve_phase(phase, self.ratio, allow_mean=False,
                                        allow_center_align=True)
        self.mode = canonical_mode(mode if mode is not None else dmode)
        self.a = float(a)
        self._torch_cache: dict = {}

    def to_dict(self) -> dict[str, Any]:
        d = {"op": "upsampling", "method": self.method, "ratio": self.ratio, "phase": self.phase,
             "mode": self.mode}
        if self.method == "interp23tap":
            d["taps"] = 23
        if self.method == "bicubic":
            d["a"] = self.a
        return d

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
            return self._apply_torch(x, nin, adjoint)
        dt = _float_dtype(x)
        My, Mx = self._mat(nin[0]), self._mat(nin[1])
        if adjoint:
            My, Mx = My.T.tocsr(), Mx.T.tocsr()
        xf = np.asarray(x, dtype=np.float64)
        if My.shape[0] * My.shape[1] <= _DENSE_LIMIT and Mx.shape[0] * Mx.shape[1] <= _DENSE_LIMIT:
            out = np.matmul(np.matmul(My.toarray(), xf), Mx.toarray().T)
        else:
            out = _axis_apply_np(_axis_apply_np(xf, My, -2), Mx, -1)
        return out.astype(dt, copy=False)

    def _torch_arrays(self, n_in: int, device: Any, dtype: Any) -> tuple[Any, ...]:
        """('dense', M) for moderate sizes, else ('gather', idx, w) of the 1-D matrix."""
        import torch

        key = (n_in, str(device), str(dtype))
        if key not in self._torch_cache:
            M = self._mat(n_in)
            if M.shape[0] * M.shape[1] <= _DENSE_LIMIT:
                val: tuple = ("dense", torch.as_tensor(M.toarray(), dtype=dtype, device=device))
            else:
                idx, w = _gather_arrays(int(n_in), self.ratio, self.phase, self.mode,
                                        self.method, self.a)
                val = ("gather", torch.as_tensor(idx, device=device),
                       torch.as_tensor(w, dtype=dtype, device=device))
            self._torch_cache[key] = val
        return self._torch_cache[key]

    def _apply_torch(self, x: Any, nin: tuple[int, int], adjoint: bool) -> Any:
        out = x
        for axis, n in ((-2, nin[0]), (-1, nin[1])):
            arrs = self._torch_arrays(n, x.device, x.dtype)
            if arrs[0] == "dense":
                M = arrs[1].T if adjoint else arrs[1]
                out = M @ out if axis == -2 else out @ M.T
                continue
            _, idx, w = arrs
            shape_w = (-1, 1) if axis == -2 else (-1,)
            if not adjoint:
                acc = None
                for t in range(idx.shape[1]):
                    term = out.index_select(axis, idx[:, t]) * w[:, t].reshape(shape_w)
                    acc = term if acc is None else acc + term
                out = acc
            else:
                shp = list(out.shape)
                shp[axis] = n
                acc = out.new_zeros(shp)
                for t in range(idx.shape[1]):
                    acc = acc.index_add(axis, idx[:, t], out * w[:, t].reshape(shape_w))
                out = acc
        return out


def upsample(x: Any, ratio: int, method: str = "interp23tap", *, phase: int | str | None = None,
             mode: str | None = None) -> Any:
    """Interpolate ``x`` (numpy or torch, ``(..., h, w)``) by ``ratio`` with ``method``
    (see :class:`Upsampling`)."""
    return Upsampling(ratio, method, phase=phase, mode=mode).forward(x)


def interp23tap(x: Any, ratio: int, *, phase: int | str | None = None,
                mode: str = "circular") -> Any:
    r"""23-tap polynomial interpolation (``interp23tap.m``), every power-of-two ``ratio``.

    ``log2(ratio)`` successive x2 stages of zero insertion and filtering with
    :func:`lagrange_halfband`; LR sample ``i`` lands on HR pixel ``i * ratio + phase``
    (default ``ratio // 2``, as the toolbox, matching ``Decimation(ratio, "center")``), with
    circular borders by default (as the toolbox).

    >>> import numpy as np
    >>> ramp = np.tile(np.arange(32.0), (4, 1))          # x[i, j] = j
    >>> y = interp23tap(ramp, 2)                         # y[., n] = (n - 1) / 2 away from borders
    >>> bool(np.allclose(y[:, 24:40], (np.arange(24, 40) - 1) / 2))
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


def expand(ms: Any, ratio: int) -> np.ndarray:
    r"""``ms`` ``(L, h, w)`` interpolated to ``(L, h r, w r)`` with the 23-tap polynomial kernel
    (circular borders, LR sample ``i`` at HR pixel ``i r + r // 2``, as ``interp23tap.m``), float64.

    The pansharpening methods' :math:`\widetilde{M}`, PanCollection's ``lms`` and the fusion nets'
    inputs; power-of-two ratios (:func:`check_ratio_power_of_two`).
    """
    return np.asarray(interp23tap(np.asarray(ms, dtype=np.float64), ratio), dtype=np.float64)


def check_ratio_power_of_two(ratio: int, method: str) -> None:
    """Raise :class:`~hysupp.errors.InputError` naming ``method`` unless ``ratio`` is a power of two
    (what the 23-tap interpolation :func:`expand` needs)."""
    if ratio & (ratio - 1):
        raise InputError(f"{method}: the 23-tap interpolation needs a power-of-two ratio, got {ratio}")
