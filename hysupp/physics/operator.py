"""Base class of the physics operators (DESIGN §2): ``forward``/``adjoint`` on numpy or torch.

Every degradation is a small object with ``forward(x)`` and ``adjoint(y)`` that accepts either a
``numpy.ndarray`` or a ``torch.Tensor`` and returns the same kind (same device, same dtype),
batched over bands (and over a leading batch axis for torch). Operators compose with ``@``
(``(B @ A).forward(x) == B.forward(A.forward(x))``) and describe themselves as a JSON-serialisable
dict (``to_dict``), so a protocol is a value that travels with every result.

Example
-------
>>> import numpy as np
>>> from hysupp.physics.operator import LinearOperator, adjoint_mismatch
>>> class Scale(LinearOperator):
...     def __init__(self, c): self.c = c
...     def forward(self, x): return self.c * x
...     def adjoint(self, y): return self.c * y
...     def to_dict(self): return {"op": "scale", "c": self.c}
>>> op = Scale(2.0) @ Scale(3.0)
>>> float(op.forward(np.ones(2))[0]), op.to_dict()["ops"][0]["c"]
(6.0, 3.0)
>>> adjoint_mismatch(op, (4, 3), seed=0) < 1e-12
True
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_torch(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (without importing torch when it is not loaded)."""
    return type(x).__module__.startswith("torch")


class LinearOperator:
    """A linear map with its adjoint; subclasses implement ``forward``, ``adjoint`` and ``to_dict``."""

    def forward(self, x: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def adjoint(self, y: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, x: Any) -> Any:
        return self.forward(x)

    def __matmul__(self, other: "LinearOperator") -> "Composition":
        """``B @ A`` applies ``A`` first, then ``B`` (matrix-product order)."""
        return Composition([other, self])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()})"


class Composition(LinearOperator):
    """Operators applied in sequence: ``ops[0]`` first."""

    def __init__(self, ops: list[LinearOperator]) -> None:
        flat: list[LinearOperator] = []
        for op in ops:
            flat.extend(op.ops if isinstance(op, Composition) else [op])
        self.ops = flat

    def forward(self, x: Any) -> Any:
        for op in self.ops:
            x = op.forward(x)
        return x

    def adjoint(self, y: Any) -> Any:
        for op in reversed(self.ops):
            y = op.adjoint(y)
        return y

    def to_dict(self) -> dict[str, Any]:
        return {"op": "composition", "ops": [op.to_dict() for op in self.ops]}


def adjoint_mismatch(op: LinearOperator, in_shape: tuple[int, ...], *, seed: int = 0,
                     dtype: Any = np.float64) -> float:
    """Relative dot-product test ``|<A x, y> - <x, A* y>| / (|<A x, y>| + tiny)`` on random x, y."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(in_shape).astype(dtype)
    ax = op.forward(x)
    y = rng.standard_normal(np.shape(ax)).astype(dtype)
    aty = op.adjoint(y)
    lhs = float(np.vdot(np.asarray(ax), y))
    rhs = float(np.vdot(x, np.asarray(aty)))
    return abs(lhs - rhs) / (abs(lhs) + 1e-300)
