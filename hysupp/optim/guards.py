"""Divergence guards shared by every iterative solver (ADMM, projected gradients, torch training).

A solver calls :func:`check_finite` every few iterations (where it already computes residuals or
a loss, so the check costs one scalar test) and once on its final iterates. A non-finite value
raises :class:`~hysupp.errors.DivergenceError` naming the method and the iteration, instead of
returning NaN abundances.

Example
-------
>>> import numpy as np
>>> from hysupp.optim.guards import check_finite
>>> check_finite("Demo", 3, 1.0, np.ones(2))
>>> check_finite("Demo", 7, float("nan"))
Traceback (most recent call last):
...
hysupp.errors.DivergenceError: Demo: the iterates diverged (NaN/Inf) at iteration 7; check the input scaling
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hysupp.errors import DivergenceError

__all__ = ["check_finite", "check_result", "divergence_error", "is_finite"]


def is_finite(value: Any) -> bool:
    """Whether a number, NumPy array or torch tensor holds only finite values."""
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if hasattr(value, "isfinite") and not isinstance(value, np.ndarray):   # torch.Tensor
        return bool(value.isfinite().all())
    return bool(np.isfinite(np.asarray(value)).all())


def divergence_error(method: str, iteration: int, *, what: str = "iterates",
                     hint: str = "check the input scaling") -> DivergenceError:
    """The error raised when ``method``'s ``what`` became non-finite at ``iteration``."""
    return DivergenceError(f"{method}: the {what} diverged (NaN/Inf) at iteration {iteration}; {hint}")


def check_finite(method: str, iteration: int, *values: Any, what: str = "iterates",
                 hint: str = "check the input scaling") -> None:
    """Raise :class:`~hysupp.errors.DivergenceError` if any of ``values`` is NaN/Inf."""
    for value in values:
        if not is_finite(value):
            raise divergence_error(method, iteration, what=what, hint=hint)


def check_result(method: str, **arrays: Any) -> None:
    """Raise :class:`~hysupp.errors.DivergenceError` when a method returned NaN/Inf in any of
    ``arrays`` (e.g. ``abundances=A, endmembers=E``); masked pixels are not passed here."""
    for name, value in arrays.items():
        if value is None:
            continue
        arr = np.asarray(value)
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise DivergenceError(f"{method} returned non-finite {name}: {bad} of {arr.size} values are NaN/Inf "
                                  f"(shape {arr.shape}); the method diverged or its input is degenerate")
