"""Base classes and result objects shared by every method (DESIGN §3).

A method is a class with a ``name``, a ``task``, a ``params`` declaration and a ``reference``.
It is constructed with keyword hyperparameters (validated against ``params``), receives arrays
(never paths) and returns a result object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.params import Configurable


class Method(Configurable):
    """Base class of every method: declared, validated hyperparameters and a task.

    Subclasses set ``name``, ``task``, ``params`` (a tuple of :class:`Param`) and ``reference``
    (the paper, with DOI). ``self.config`` holds the full validated parameter dict and each
    parameter is also an attribute.
    """

    task: ClassVar[str] = ""


@dataclass
class ExtractionResult:
    """Output of an endmember extractor: ``endmembers`` (L, p), pixel ``indices`` when the
    endmembers are pixels of the image, and ``info``."""

    endmembers: np.ndarray
    indices: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class UnmixingResult:
    """Output of an unmixing method.

    ``abundances`` (p, N), ``endmembers`` (L, p), optional ``library_coefficients`` (M, p) and
    ``info`` (iterations, objective history, wall time, device, dtype, seed...).
    """

    abundances: np.ndarray
    endmembers: np.ndarray
    library_coefficients: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


def check_pixels(Y: np.ndarray, what: str = "Y") -> np.ndarray:
    """Validate a pixel matrix ``(L, N)``: 2-D, non-empty, finite."""
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise InputError(f"{what} must be a 2-D pixel matrix (L bands, N pixels), got shape {Y.shape}")
    if Y.shape[0] < 1 or Y.shape[1] < 1:
        raise InputError(f"{what} is empty: shape {Y.shape}")
    if not np.issubdtype(Y.dtype, np.floating):
        Y = Y.astype(np.float32)
    # np.isfinite over the whole matrix would allocate an L x N temporary; check in column blocks
    step = max(1, (1 << 22) // max(Y.shape[0], 1))
    for start in range(0, Y.shape[1], step):
        finite = np.isfinite(Y[:, start:start + step]).all(axis=0)
        if not finite.all():
            bad = ~np.isfinite(Y).all(axis=0)
            raise InputError(
                f"{what} has {int(bad.sum())} pixel(s) with NaN/Inf values (first at pixel "
                f"{int(np.flatnonzero(bad)[0])}); mask them (Scene.mask) or fill them before unmixing")
    return Y


class Extractor(Method):
    """Endmember extraction: ``extract(Y, p) -> ExtractionResult``."""

    task: ClassVar[str] = "extractor"

    def extract(self, Y: np.ndarray, p: int) -> ExtractionResult:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def check_inputs(Y: np.ndarray, p: int) -> np.ndarray:
        Y = check_pixels(Y)
        L, N = Y.shape
        if not isinstance(p, (int, np.integer)) or p < 2:
            raise InputError(f"number of endmembers p must be an integer >= 2, got {p!r}")
        if p > L:
            raise InputError(f"p = {p} endmembers exceeds the number of bands L = {L}")
        if p > N:
            raise InputError(f"p = {p} endmembers exceeds the number of pixels N = {N}")
        return Y


class SupervisedUnmixer(Method):
    """Abundance estimation with known endmembers: ``unmix(Y, E) -> UnmixingResult``."""

    task: ClassVar[str] = "supervised"

    def unmix(self, Y: np.ndarray, E: np.ndarray) -> UnmixingResult:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def check_inputs(Y: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Y = check_pixels(Y)
        E = check_pixels(E, what="endmembers E")
        if E.shape[0] != Y.shape[0]:
            raise InputError(
                f"endmembers E have {E.shape[0]} bands (rows) but the image has {Y.shape[0]}; "
                f"expected E of shape ({Y.shape[0]}, p)")
        return Y, E
