r"""Linear mixing ``Y = E A`` as a physics operator (DESIGN §2), on numpy arrays and torch tensors.

The linear mixing model writes every pixel spectrum as a combination of ``p`` endmember spectra:

.. math::
    \mathbf y_n = \mathbf E\, \mathbf a_n, \qquad
    \mathbf E \in \mathbb R^{L \times p},\ \mathbf a_n \in \mathbb R^{p},

so a whole image is ``Y = E A`` with ``A`` of shape ``(p, N)`` (or ``(p, H, W)``). Its adjoint is
``A' = E^T Y``. Both are "a matrix applied along the channel axis"; :class:`ChannelMatrix` does
that once for numpy and torch, and :class:`LinearMixing` and
:class:`hysupp.physics.spectral.SpectralResponse` are the two named instances of it.

Shapes (channel axis first, DESIGN §1)
--------------------------------------
=========================  =========================  =====================================
input                      forward output             notes
=========================  =========================  =====================================
``(n_in,)``                ``(n_out,)``               one spectrum / one abundance vector
``(n_in, N)``              ``(n_out, N)``             pixel matrix
``(n_in, H, W)``           ``(n_out, H, W)``          cube
``(B, n_in, H, W)``        ``(B, n_out, H, W)``       a batch (numpy or torch)
=========================  =========================  =====================================

A 3-D input is always a cube ``(n_in, H, W)``; batches must be 4-D.

Precision: a floating input keeps its dtype (the matrix is cast to it once and cached); integer and
boolean numpy inputs give float64 (torch inputs must be floating). Torch tensors get
a tensor copy of the matrix created lazily on their device and dtype (one cached copy per
``(device, dtype)``), so the operator can be built once and applied on CPU and GPU alike; autograd
flows through ``forward`` and ``adjoint``.

Example
-------
>>> import numpy as np
>>> from hysupp.physics.mixing import LinearMixing
>>> E = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])        # L = 3 bands, p = 2 endmembers
>>> op = LinearMixing(E)
>>> A = np.array([[0.25, 1.0], [0.75, 0.0]])                   # (p, N) = (2, 2)
>>> op.forward(A)
array([[0.25, 1.  ],
       [0.5 , 0.5 ],
       [0.75, 0.  ]])
>>> op.adjoint(np.ones((3, 2)))                                # E^T Y
array([[1.5, 1.5],
       [1.5, 1.5]])
>>> from hysupp.physics.operator import adjoint_mismatch
>>> adjoint_mismatch(op, (2, 4, 5)) < 1e-12                     # <E A, Y> = <A, E^T Y>
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.physics.operator import LinearOperator, is_torch

__all__ = ["ChannelMatrix", "LinearMixing"]


def _as_matrix(M: Any, name: str) -> np.ndarray:
    """A read-only float64 copy of a finite real 2-D matrix (torch tensors accepted)."""
    if is_torch(M):
        M = M.detach().cpu().numpy()
    arr = np.asarray(M)
    if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{name} must be a real numeric matrix, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    out = np.array(arr, dtype=np.float64, copy=True)
    if not np.isfinite(out).all():
        bad = int((~np.isfinite(out)).sum())
        raise InputError(f"{name} has {bad} non-finite entries (shape {out.shape})")
    out.flags.writeable = False
    return out


class ChannelMatrix(LinearOperator):
    r"""A fixed matrix ``M`` (``n_out x n_in``) applied along the channel axis.

    ``forward(x) = M x`` and ``adjoint(y) = M^T y``, for numpy arrays and torch tensors of the
    shapes listed in the module docstring (the channel axis is axis 0, or axis 1 for a 4-D batch).

    Parameters
    ----------
    matrix : array_like, shape (n_out, n_in)
        Real and finite; stored as a read-only float64 copy.
    name : str
        Used in error messages (e.g. ``"E"``, ``"R"``).
    in_what, out_what : str
        What the input and output channels are (for error messages).

    Examples
    --------
    >>> import numpy as np
    >>> op = ChannelMatrix(np.array([[1.0, 1.0]]))
    >>> op.forward(np.ones((2, 3, 4), dtype=np.float32)).shape, op.forward(np.ones((2, 3))).dtype
    ((1, 3, 4), dtype('float64'))
    """

    op_name = "channel_matrix"

    def __init__(self, matrix: Any, *, name: str = "M", in_what: str = "channels",
                 out_what: str = "channels") -> None:
        self._M = _as_matrix(matrix, name)
        self._name = name
        self._in_what = in_what
        self._out_what = out_what
        self._np_cache: dict[Any, np.ndarray] = {}
        self._torch_cache: dict[Any, Any] = {}

    # ------------------------------------------------------------------ properties
    @property
    def matrix(self) -> np.ndarray:
        """The matrix (read-only float64 view)."""
        return self._M

    @property
    def n_in(self) -> int:
        """Number of input channels (columns of the matrix)."""
        return int(self._M.shape[1])

    @property
    def n_out(self) -> int:
        """Number of output channels (rows of the matrix)."""
        return int(self._M.shape[0])

    # ------------------------------------------------------------------ application
    def forward(self, x: Any) -> Any:
        """``M x`` along the channel axis (see the module docstring for shapes)."""
        return self._apply(x, transpose=False)

    def adjoint(self, y: Any) -> Any:
        """``M^T y`` along the channel axis."""
        return self._apply(y, transpose=True)

    def _apply(self, x: Any, *, transpose: bool) -> Any:
        n_in = self.n_out if transpose else self.n_in
        what = self._out_what if transpose else self._in_what
        direction = "adjoint" if transpose else "forward"
        torch_in = is_torch(x)
        if not torch_in:
            x = np.asarray(x)
            if np.iscomplexobj(x) or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
                raise InputError(f"{type(self).__name__}.{direction}: input must be a real numeric "
                                 f"array, got dtype {x.dtype}")
        shape = tuple(x.shape)
        ndim = len(shape)
        if ndim not in (1, 2, 3, 4):
            raise InputError(f"{type(self).__name__}.{direction}: input must be 1-D ({n_in},), 2-D "
                             f"({n_in}, N), 3-D ({n_in}, H, W) or 4-D (B, {n_in}, H, W); got shape "
                             f"{shape}")
        axis = 1 if ndim == 4 else 0
        if shape[axis] != n_in:
            raise InputError(f"{type(self).__name__}.{direction}: {self._name} expects {n_in} "
                             f"{what} along axis {axis}, got shape {shape}")
        M = self._torch_matrix(x, transpose) if torch_in else self._numpy_matrix(x.dtype, transpose)
        if ndim == 4:
            b = shape[0]
            out = M @ x.reshape(b, n_in, -1)
            return out.reshape((b, M.shape[0]) + shape[2:])
        out = M @ x.reshape(n_in, -1)
        return out.reshape((M.shape[0],) + shape[1:])

    def _numpy_matrix(self, dtype: np.dtype, transpose: bool) -> np.ndarray:
        if dtype in (np.float32, np.float64):
            target = np.dtype(dtype)
        elif dtype == np.float16:
            target = np.dtype(np.float16)
        else:
            target = np.dtype(np.float64)
        key = (target.str, transpose)
        M = self._np_cache.get(key)
        if M is None:
            base = self._M.T if transpose else self._M
            M = np.ascontiguousarray(base, dtype=target)
            M.flags.writeable = False
            self._np_cache[key] = M
        return M

    def _torch_matrix(self, x: Any, transpose: bool) -> Any:
        import torch

        if x.is_complex():
            raise InputError(f"{type(self).__name__}: input must be a real tensor, got {x.dtype}")
        if not x.is_floating_point():
            raise InputError(f"{type(self).__name__}: integer/boolean tensors are not supported; "
                             f"cast the input to a floating dtype (got {x.dtype})")
        key = (str(x.device), x.dtype, transpose)
        M = self._torch_cache.get(key)
        if M is None:
            base = self._M.T if transpose else self._M
            M = torch.from_numpy(np.array(base, dtype=np.float64, order="C", copy=True))
            M = M.to(device=x.device, dtype=x.dtype)
            self._torch_cache[key] = M
        return M

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op_name, "shape": [self.n_out, self.n_in], "matrix": self._M.tolist()}


class LinearMixing(ChannelMatrix):
    r"""Linear mixing operator ``A -> E A`` with adjoint ``Y -> E^T Y``.

    .. math::
        \mathcal M(\mathbf A) = \mathbf E \mathbf A,\qquad
        \mathcal M^*(\mathbf Y) = \mathbf E^{\mathsf T} \mathbf Y,\qquad
        \langle \mathbf E \mathbf A, \mathbf Y\rangle
        = \langle \mathbf A, \mathbf E^{\mathsf T}\mathbf Y\rangle

    Parameters
    ----------
    E : array_like, shape (L, p)
        Endmember matrix, one spectrum per column (DESIGN §1). Stored as a read-only float64 copy;
        numpy/torch copies in the input's dtype (and device) are made on first use and cached.

    Notes
    -----
    Abundances ``(p, N)``, ``(p, H, W)`` or a torch/numpy batch ``(B, p, H, W)`` map to
    ``(L, N)``, ``(L, H, W)`` and ``(B, L, H, W)``. No constraint (non-negativity, sum to one) is
    checked: the operator is the plain linear map.

    Examples
    --------
    >>> import numpy as np
    >>> E = np.random.default_rng(0).random((5, 3))
    >>> A = np.random.default_rng(1).random((3, 4, 6))
    >>> Y = LinearMixing(E).forward(A)
    >>> Y.shape, bool(np.allclose(Y.reshape(5, -1), E @ A.reshape(3, -1)))
    ((5, 4, 6), True)
    >>> import torch
    >>> Yt = LinearMixing(E).forward(torch.as_tensor(A[None]))     # batch (1, p, H, W)
    >>> tuple(Yt.shape), Yt.dtype
    ((1, 5, 4, 6), torch.float64)
    """

    op_name = "linear_mixing"

    def __init__(self, E: Any) -> None:
        super().__init__(E, name="E", in_what="endmembers (abundance channels)",
                         out_what="bands")

    @property
    def E(self) -> np.ndarray:
        """The endmember matrix ``(L, p)`` (read-only float64)."""
        return self._M

    @property
    def n_bands(self) -> int:
        """``L``, the number of bands."""
        return self.n_out

    @property
    def n_endmembers(self) -> int:
        """``p``, the number of endmembers."""
        return self.n_in

    def to_dict(self) -> dict[str, Any]:
        """``{"op": "linear_mixing", "shape": [L, p], "E": [[...], ...]}`` (JSON-serialisable)."""
        return {"op": self.op_name, "shape": [self.n_bands, self.n_endmembers],
                "E": self._M.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LinearMixing":
        """Rebuild from :meth:`to_dict` output."""
        if d.get("op") != cls.op_name or "E" not in d:
            raise InputError(f"not a linear_mixing description: keys {sorted(d)}, "
                             f"op {d.get('op')!r}")
        return cls(np.asarray(d["E"], dtype=np.float64))
