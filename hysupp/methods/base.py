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
    ``info`` (iterations, objective history, wall time, device, dtype, seed...). Sparse
    library-based methods (SUnSAL & co.) return the ``(M, N)`` abundances of every library atom
    with ``endmembers`` = the library and ``over_library=True``.
    """

    abundances: np.ndarray
    endmembers: np.ndarray
    library_coefficients: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    over_library: bool = False

    def library_abundances(self) -> np.ndarray:
        """Abundances over the library atoms ``(M, N)``: ``abundances`` itself for sparse methods
        (``over_library``), ``library_coefficients @ abundances`` (``X = B A``) for methods that
        estimate ``E = D B``. Raises when the result is not library-based."""
        if self.over_library:
            return self.abundances
        if self.library_coefficients is None:
            raise InputError("this unmixing result is not library-based (no library coefficients)")
        return self.library_coefficients @ self.abundances


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
    if not np.any(Y):
        raise InputError(f"{what} is all zeros (shape {Y.shape}): there is no signal to unmix")
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
    """Abundance estimation with known endmembers: ``unmix(Y, E) -> UnmixingResult``.

    ``spatial``: the method uses the image grid and is called as
    ``unmix(Y, E, image_shape=(H, W))`` with ``Y``'s columns the full image in row-major order.
    """

    task: ClassVar[str] = "supervised"
    spatial: ClassVar[bool] = False

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


class SemiSupervisedUnmixer(Method):
    """Library-based unmixing: ``unmix(Y, D, p=None, image_shape=None) -> UnmixingResult``.

    ``needs_p``: the method estimates ``p`` endmembers ``E = D B`` (FaSUn, SUnS, SUnAA...);
    otherwise it estimates abundances over every atom (``over_library``). ``spatial``: the method
    uses the image grid ``image_shape = (H, W)`` (TV, superpixels, CNNs), so ``Y``'s columns are
    the full image in row-major order.
    """

    task: ClassVar[str] = "semi-supervised"
    needs_p: ClassVar[bool] = False
    spatial: ClassVar[bool] = False

    def unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
              image_shape: tuple[int, int] | None = None) -> UnmixingResult:  # pragma: no cover - interface
        raise NotImplementedError

    def check_inputs(self, Y: np.ndarray, D: np.ndarray, p: int | None = None,
                     image_shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        Y = check_pixels(Y)
        D = check_pixels(D, what="library D")
        L, N = Y.shape
        if D.shape[0] != L:
            raise InputError(f"library D has {D.shape[0]} bands (rows) but the image has {L}; expected D of "
                             f"shape ({L}, M) -- match the library to the image's wavelengths first")
        if self.needs_p:
            if p is None or not isinstance(p, (int, np.integer)) or p < 1:
                raise InputError(f"{self.name} estimates p endmembers from the library: pass an integer p >= 1, "
                                 f"got {p!r}")
            if p > D.shape[1]:
                raise InputError(f"{self.name}: p = {p} exceeds the number of library atoms M = {D.shape[1]}")
        if self.spatial:
            if image_shape is None or int(image_shape[0]) * int(image_shape[1]) != N:
                raise InputError(f"{self.name} is spatial: image_shape (H, W) with H*W = N = {N} is required, "
                                 f"got {image_shape!r}")
        return Y, D


class BlindUnmixer(Method):
    """Blind unmixing: endmembers and abundances both estimated,
    ``unmix(Y, p, image_shape=None) -> UnmixingResult`` with ``endmembers`` (L, p) and
    ``abundances`` (p, N).

    ``spatial``: the method uses the image grid ``image_shape = (H, W)`` (convolutional networks,
    spatial regularisers), so ``Y``'s columns are the full image in row-major order.
    """

    task: ClassVar[str] = "blind"
    spatial: ClassVar[bool] = False

    def unmix(self, Y: np.ndarray, p: int, *,
              image_shape: tuple[int, int] | None = None) -> UnmixingResult:  # pragma: no cover - interface
        raise NotImplementedError

    def check_inputs(self, Y: np.ndarray, p: int, image_shape: tuple[int, int] | None = None) -> np.ndarray:
        """Validate ``Y`` (L, N), ``p`` (2 <= p <= min(L, N)) and, for spatial methods, ``image_shape``."""
        Y = Extractor.check_inputs(Y, p)
        if self.spatial:
            N = Y.shape[1]
            if image_shape is None or int(image_shape[0]) * int(image_shape[1]) != N:
                raise InputError(f"{self.name} is spatial: image_shape (H, W) with H*W = N = {N} is required, "
                                 f"got {image_shape!r}")
        return Y


@dataclass
class FusionResult:
    """Output of a fusion method: the ``fused`` cube ``(L, H, W)`` at the high resolution, with
    ``info`` (parameters actually used, e.g. the MTF gains or estimated injection gains)."""

    fused: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def _check_cube(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or min(x.shape) < 1:
        raise InputError(f"{what} must be a cube (bands, H, W) or an image (H, W), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise InputError(f"{what} has NaN/Inf values; fill them before fusion")
    return x


def check_fusion_inputs(low: np.ndarray, high: np.ndarray, ratio: int, *, low_name: str = "MS",
                        high_name: str = "PAN", single_band_high: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate a fusion pair: ``low`` ``(L, h, w)``, ``high`` ``(C, h*ratio, w*ratio)`` (a
    single band for pansharpening; ``(H, W)`` accepted), integer ``ratio >= 2``. Returns float
    cubes and the ratio."""
    low = _check_cube(low, low_name)
    high = _check_cube(high, high_name)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 2:
        raise InputError(f"ratio must be an integer >= 2, got {ratio!r}")
    ratio = int(ratio)
    if single_band_high and high.shape[0] != 1:
        raise InputError(f"{high_name} must have one band, got {high.shape[0]} (shape {high.shape})")
    h, w = low.shape[1:]
    if high.shape[1:] != (h * ratio, w * ratio):
        raise InputError(f"{high_name} is {high.shape[1]} x {high.shape[2]} pixels, expected ratio {ratio} x "
                         f"{low_name} ({h} x {w}) = {h * ratio} x {w * ratio}")
    return low, high, ratio


class Pansharpener(Method):
    """Pansharpening: ``fuse(ms, pan, *, ratio, sensor=None) -> FusionResult``.

    ``ms`` is the low-resolution multispectral cube ``(L, h, w)``, ``pan`` the panchromatic
    image ``(H, W)`` or ``(1, H, W)`` with ``H = ratio h``; ``sensor`` (a name of the MTF table,
    :func:`hysupp.physics.mtf.get_sensor`) selects the MTF-matched filters of sensor-aware
    methods. The fused cube is ``(L, H, W)`` float64 on the scale of the inputs.
    """

    task: ClassVar[str] = "pansharpening"

    def fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int,
             sensor: str | None = None) -> FusionResult:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def check_inputs(ms: np.ndarray, pan: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Float ``ms`` ``(L, h, w)``, ``pan`` ``(1, H, W)`` and the ratio, or a clear error."""
        return check_fusion_inputs(ms, pan, ratio)


class HSMSFuser(Method):
    """Hyperspectral-multispectral fusion: ``fuse(hs, ms, *, ratio, srf=None, psf=None) -> FusionResult``.

    ``hs`` ``(L, h, w)``, ``ms`` ``(C, H, W)`` with ``H = ratio h``; ``srf`` the ``(C, L)``
    spectral response of the MS bands to the HS bands (estimated from the data when ``None``
    and the method can), ``psf`` a :class:`hysupp.physics.blur.Blur` (or kernel) of the HS
    spatial response. Hyperspectral pansharpening is the case ``C = 1``.
    """

    task: ClassVar[str] = "hs-ms-fusion"

    def fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
             psf: Any = None) -> FusionResult:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def check_inputs(hs: np.ndarray, ms: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray, int]:
        return check_fusion_inputs(hs, ms, ratio, low_name="HS", high_name="MS", single_band_high=False)


class SuperResolver(Method):
    """Single-image super-resolution: ``super_resolve(cube, *, ratio, psf=None) -> FusionResult``.

    ``cube`` is the observed image ``(L, h, w)`` (or ``(h, w)``); the result's ``fused`` is
    ``(L, ratio h, ratio w)`` float64 on the scale of the input. The observation model is
    :math:`\\mathbf y = \\mathcal D_r(\\mathbf h * \\mathbf x)` with the decimation phase
    ``ratio // 2`` of :class:`hysupp.physics.sampling.Decimation` (``"center"``); ``psf`` is the
    spatial response :math:`\\mathbf h` on the high-resolution grid: a
    :class:`hysupp.physics.blur.Blur`, a 2-D kernel, a number (Gaussian FWHM in high-resolution
    pixels) or ``None`` (each method's default, see :mod:`hysupp.fusion.superres.common`).
    """

    task: ClassVar[str] = "super-resolution"

    def super_resolve(self, cube: np.ndarray, *, ratio: int,
                      psf: Any = None) -> FusionResult:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def check_inputs(cube: np.ndarray, ratio: int) -> tuple[np.ndarray, int]:
        """Float ``cube`` ``(L, h, w)`` and the integer ratio (>= 2), or a clear error."""
        cube = _check_cube(cube, "image")
        if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 2:
            raise InputError(f"ratio must be an integer >= 2, got {ratio!r}")
        if min(cube.shape[1:]) < 2:
            raise InputError(f"image of {cube.shape[1]} x {cube.shape[2]} pixels is too small to super-resolve")
        return cube, int(ratio)
