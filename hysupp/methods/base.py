"""Base classes and result objects shared by every method (DESIGN §3).

A method is a class with a ``name``, a ``task``, a ``params`` declaration and a ``reference``.
It is constructed with keyword hyperparameters (validated against ``params``), receives arrays
(never paths) and returns a result object.

Each task base class is a *template*: its public method (``Extractor.extract``,
``SupervisedUnmixer.unmix``, ``Pansharpener.fuse``, ...) validates the inputs once
(``check_inputs``), times the call, calls the method's own underscore method (``_extract``,
``_unmix``, ``_fuse``, ``_super_resolve``) with the checked arrays, and completes the result's
``info`` with the standard keys (:data:`STANDARD_INFO_KEYS`). A method implements only the
underscore method, plus the checks peculiar to it. A class that overrides the public method itself
(the contract before the templates, still accepted for plugins) keeps it; the standard ``info`` keys
it does not set are added around it.

Units (the unmixing templates): a method whose result depends on the scale of the data
(``scale_invariant = False``: regularisation weights, penalties, networks) has its parameters
defined for data in reflectance units. The template computes the data's unit scale
:math:`s = 10^k` (:func:`unit_scale`: ``k = 0`` when the 99th percentile of :math:`|Y|` is in the
reflectance-like band :data:`REFLECTANCE_BAND`, else the ``k`` that brings it into the band's top
decade), divides the pixels and the endmembers/library by ``s`` before calling the hook, multiplies
the returned endmembers back, records ``info["input_scale"] = s`` and warns
(:class:`~hysupp.errors.UnitsWarning`) when ``s != 1``. A scale-invariant method
(``scale_invariant = True``: FCLS, the geometric extractors) receives the data as given. Every
unmixing template also warns when the pixels and the endmembers/library differ in scale by more
than :data:`UNIT_MISMATCH_DECADES` decades. See ``docs/design.md`` (Units and scale).
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from hysupp.errors import InputError, UnitsWarning
from hysupp.methods.params import Configurable

#: The ``info`` keys every method's result carries (set by the task base classes):
#: ``wall_time`` (seconds of the public call, input checks included), ``dtype`` (the dtype the
#: method reports computing in, else that of its main output), ``device`` (``"cpu"`` for methods
#: without a ``device`` parameter; torch methods report the device they resolved) and, for methods
#: with a ``seed`` parameter, ``seed``.
STANDARD_INFO_KEYS = ("wall_time", "dtype", "device")

#: The reflectance-like band ``[low, high)`` of the unit statistic (99th percentile of ``|Y|``):
#: data whose statistic falls in it are taken as reflectance (``k = 0``, nothing is rescaled).
#: Reflectance scenes measured: DC1 0.91, DC2 0.93, Samson 0.71, Cuprite crop (x1e-4) 0.62, Salton
#: Sea 0.52, Gamsberg (x1e-4) 0.56, Pavia University 0.47, EnMAP Potsdam (x1e-4) 0.40; reflectance
#: cannot exceed about 1 (2 leaves room for specular pixels). The band is 1.3 decades wide, so a
#: reflectance scene whose statistic is in ``[0.2, 1)`` is recognised under every storage scale
#: ``10^j``: ``x10`` and above move it above 2, ``x0.1`` and below move it under 0.1, and both come
#: back to the band's top decade ``[0.2, 2)`` exactly.
REFLECTANCE_BAND = (0.1, 2.0)
#: pixels and endmembers/library whose unit statistics differ by more decades than this are
#: reported (:class:`~hysupp.errors.UnitsWarning`): probably not in the same units
UNIT_MISMATCH_DECADES = 1.5
#: at most this many evenly spaced pixels enter the unit statistic (all bands: ~2e5 values for
#: L = 224, a few milliseconds)
_UNIT_SAMPLE = 1024


def unit_statistic(Y: np.ndarray) -> float:
    """The 99th percentile of ``|Y|`` over at most 1024 evenly spaced columns (pixels) of ``Y``
    ``(L, N)``: a robust magnitude of the data (a few hot or specular pixels do not move it)."""
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    step = max(1, -(-Y.shape[1] // _UNIT_SAMPLE))
    sample = np.abs(np.asarray(Y[:, ::step], dtype=np.float64))
    return float(np.percentile(sample, 99)) if sample.size else 0.0


def unit_scale(Y: np.ndarray, q: float | None = None) -> tuple[float, float]:
    """``(s, q)``: the unit scale :math:`s = 10^k` of the pixels ``Y`` and their statistic ``q``
    (:func:`unit_statistic`, unless given as ``q``).

    ``k = 0`` when ``q`` is in :data:`REFLECTANCE_BAND` (or ``q = 0``); otherwise the ``k`` with
    ``q / 10^k`` in the band's top decade ``[0.2, 2)``, so that reflectance x 10^j (the usual
    integer storage: x1e4) is divided by exactly 10^j.

    >>> unit_scale(np.full((3, 4), 0.5))
    (1.0, 0.5)
    >>> unit_scale(np.full((3, 4), 5000.0))
    (10000.0, 5000.0)
    >>> unit_scale(np.full((3, 4), 5e-5))
    (0.0001, 5e-05)
    """
    q = unit_statistic(Y) if q is None else float(q)
    lo, hi = REFLECTANCE_BAND
    if q == 0 or not math.isfinite(q) or lo <= q < hi:
        return 1.0, q
    k = math.floor(math.log10(q / hi)) + 1
    if not q / 10.0 ** k < hi:   # log10 rounding at a decade boundary
        k += 1
    return 10.0 ** k, q

class Method(Configurable):
    """Base class of every method: declared, validated hyperparameters and a task.

    Subclasses set ``name``, ``task``, ``params`` (a tuple of :class:`Param`) and ``reference``
    (the paper, with DOI). ``self.config`` holds the full validated parameter dict and each
    parameter is also an attribute.

    ``output_dtype`` declares the dtype of the main output (endmembers of an extractor, abundances,
    the fused cube): ``"input"`` (that of the input pixels), ``"dtype"`` (the method's ``dtype``
    parameter, float32 without one), ``"float32"`` or ``"float64"``; :func:`hysupp.testing.check_method`
    checks it. ``fast_params`` are settings for a sub-second run on a tiny problem (few iterations,
    small networks) used by the contract checks and smoke tests, never for results.

    ``stochastic`` declares a random step (random directions or pixels, random restarts, network
    weights, a random start) whose draws follow the ``seed`` parameter, so that two seeds give two
    draws of the result; :meth:`is_stochastic` says it for a configured instance (a method whose
    random step is optional overrides it, e.g. AA's ``randominit``). ``hysupp.unmix(...,
    restarts=K)`` repeats only stochastic runs (:mod:`hysupp.runs.restarts`) and
    :func:`hysupp.testing.check_method` checks the declaration both ways.
    """

    task: ClassVar[str] = ""
    output_dtype: ClassVar[str] = "dtype"
    fast_params: ClassVar[dict[str, Any]] = {}
    stochastic: ClassVar[bool] = False
    #: (public method, underscore hook) of the task's template method; empty on :class:`Method` itself.
    template: ClassVar[tuple[str, str]] = ()
    #: The result does not depend on a common scale of the inputs (abundances unchanged, endmembers
    #: scaled): the unmixing templates pass the data as given. ``False`` (regularised methods,
    #: networks): the templates divide the data by their unit scale first (module docstring).
    scale_invariant: ClassVar[bool] = False
    #: The unit scale to divide the data by, instead of detecting it from the pixels (``None``):
    #: for callers that know the units, or that unmix one scene in several calls (tiles) and want
    #: the same scale for all. Ignored by scale-invariant methods.
    units_scale: float | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.template:
            public = cls.template[0]
            own = cls.__dict__.get(public)
            if own is not None and not getattr(own, "_hysupp_template", False):
                setattr(cls, public, _legacy_entry(own))

    def is_stochastic(self) -> bool:
        """Whether this configured method draws random numbers that follow its ``seed`` (the class's
        ``stochastic`` declaration unless a parameter turns the random step off)."""
        return bool(self.stochastic)

    def _finish_info(self, info: dict[str, Any], main: Any, t0: float, *, keep_time: bool = False) -> dict[str, Any]:
        """Add the standard keys to ``info`` (in place): the wall time since ``t0`` (kept if
        ``keep_time`` and already there), the dtype of ``main``, ``device`` and ``seed``."""
        elapsed = time.perf_counter() - t0
        if keep_time:
            info.setdefault("wall_time", elapsed)
        else:
            info["wall_time"] = elapsed
        dtype = getattr(main, "dtype", None)
        if dtype is not None:
            info.setdefault("dtype", np.dtype(dtype).name)
        names = {p.name for p in self.params}
        if "device" not in names:
            info.setdefault("device", "cpu")
        if "seed" in names:
            info.setdefault("seed", self.config["seed"])
        return info

    def _input_scale(self, Y: np.ndarray, other: np.ndarray | None = None, what: str = "") -> float:
        """The factor the template divides the inputs by (1 for a scale-invariant method), with the
        unit warnings: ``UnitsWarning`` when it is not 1, and when ``Y`` and ``other`` (the
        endmembers or the library, named ``what``) differ in scale by more than
        :data:`UNIT_MISMATCH_DECADES` decades."""
        name = getattr(self, "name", "") or type(self).__name__
        qy = None
        if other is not None:
            qy, qo = unit_statistic(Y), unit_statistic(other)
            if qy > 0 and qo > 0 and abs(math.log10(qy / qo)) > UNIT_MISMATCH_DECADES:
                warnings.warn(
                    f"{name}: the pixels and the {what} differ in scale (99th percentile of |values| "
                    f"{qy:.3g} vs {qo:.3g}, a factor {qy / qo:.3g}); are they in the same units? Rescale one of "
                    f"them (e.g. reflectance x 1e4 -> hysupp run --scale 1e-4)", UnitsWarning, stacklevel=4)
        if self.scale_invariant:
            return 1.0
        if self.units_scale is not None:
            s = float(self.units_scale)
            if not (math.isfinite(s) and s > 0):
                raise InputError(f"{name}: units_scale must be a positive number, got {self.units_scale!r}")
            return s
        s, q = unit_scale(Y, qy)
        if s != 1.0:
            lo, hi = REFLECTANCE_BAND
            warnings.warn(
                f"{name}: the pixels are not in reflectance units (99th percentile of |Y| = {q:.3g}, outside "
                f"[{lo:g}, {hi:g})): divided by {s:g} before unmixing, because {name}'s parameters are defined "
                f"for reflectance; pass reflectance (e.g. hysupp run --scale) to silence this, or set the "
                f"method's units_scale", UnitsWarning, stacklevel=4)
        return s


def _template(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a task base class's public method as the template (not a legacy override)."""
    fn._hysupp_template = True  # type: ignore[attr-defined]
    return fn


def _main_output(result: Any) -> Any:
    for name in ("fused", "abundances", "endmembers"):
        value = getattr(result, name, None)
        if value is not None:
            return value
    return None


def _legacy_entry(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a public ``unmix``/``extract``/``fuse``/``super_resolve`` written by a subclass (the
    pre-template contract): it runs as written; the standard ``info`` keys it lacks are added."""

    @functools.wraps(fn)
    def wrapper(self: Method, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        result = fn(self, *args, **kwargs)
        info = getattr(result, "info", None)
        if isinstance(info, dict):
            self._finish_info(info, _main_output(result), t0, keep_time=True)
        return result

    wrapper._hysupp_template = True  # type: ignore[attr-defined]
    wrapper._hysupp_legacy = True  # type: ignore[attr-defined]
    return wrapper


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
    # all zeros: column blocks, stopping at the first block with a non-zero (the first, on real data)
    if not any(np.any(Y[:, start:start + step]) for start in range(0, Y.shape[1], step)):
        raise InputError(f"{what} is all zeros (shape {Y.shape}): there is no signal to unmix")
    return Y


def _divide(X: np.ndarray, s: float) -> np.ndarray:
    """``X / s`` in ``X``'s dtype (``X`` itself, no copy, when ``s == 1``; a multiplication by the
    exact integer ``1 / s`` when ``s`` is a negative power of ten)."""
    if s == 1.0:
        return X
    inv = round(1.0 / s)
    if s < 1.0 and inv > 0 and abs(inv * s - 1.0) < 1e-12:
        return np.multiply(X, float(inv), dtype=X.dtype)
    return np.divide(X, s, dtype=X.dtype)


def _multiply(X: Any, s: float) -> Any:
    X = np.asarray(X)
    return np.multiply(X, s, dtype=X.dtype) if np.issubdtype(X.dtype, np.floating) else X * s


def _rescale_endmembers(result: Any, s: float, scaled: np.ndarray | None = None,
                        original: np.ndarray | None = None) -> None:
    """Put a result computed on data divided by ``s`` back in the data's units: the endmembers
    times ``s`` (the caller's own array when the method returned the scaled input itself, e.g.
    a library), ``info["input_scale"] = s``. Abundances and library coefficients are unit-free."""
    result.info["input_scale"] = s
    if s == 1.0 or getattr(result, "endmembers", None) is None:
        return
    if scaled is not None and result.endmembers is scaled:
        result.endmembers = original
    else:
        result.endmembers = _multiply(result.endmembers, s)


def _check_image_shape(method: Method, Y: np.ndarray, image_shape: Any) -> None:
    """A spatial method's ``image_shape`` ``(H, W)`` must have ``H * W = N`` (the columns of ``Y``)."""
    N = Y.shape[1]
    if image_shape is None or int(image_shape[0]) * int(image_shape[1]) != N:
        raise InputError(f"{method.name} is spatial: image_shape (H, W) with H*W = N = {N} is required, "
                         f"got {image_shape!r}")


class Extractor(Method):
    """Endmember extraction: ``extract(Y, p) -> ExtractionResult``.

    A subclass implements ``_extract(Y, p)``: ``Y`` the checked pixel matrix ``(L, N)`` (2-D,
    finite, float), ``p`` an integer with ``2 <= p <= min(L, N)``. The endmembers have the dtype
    of ``Y`` (``output_dtype = "input"``).
    """

    task: ClassVar[str] = "extractor"
    output_dtype: ClassVar[str] = "input"
    #: geometric extractors select or fit a simplex, which scales with the data; an extractor with
    #: a scale-dependent parameter declares ``False`` (the template then normalises the data)
    scale_invariant: ClassVar[bool] = True
    template: ClassVar[tuple[str, str]] = ("extract", "_extract")

    @_template
    def extract(self, Y: np.ndarray, p: int) -> ExtractionResult:
        """Extract ``p`` endmembers ``(L, p)`` from the pixels ``Y`` ``(L, N)``."""
        t0 = time.perf_counter()
        Y = self.check_inputs(Y, p)
        s = self._input_scale(Y)
        result = self._extract(_divide(Y, s), int(p))
        if s != 1.0:
            result.endmembers = _multiply(result.endmembers, s)
        result.info["input_scale"] = s
        self._finish_info(result.info, result.endmembers, t0)
        return result

    def _extract(self, Y: np.ndarray, p: int) -> ExtractionResult:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must implement _extract(Y, p)")

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
    template: ClassVar[tuple[str, str]] = ("unmix", "_unmix")

    @_template
    def unmix(self, Y: np.ndarray, E: np.ndarray, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Abundances ``(p, N)`` of the pixels ``Y`` ``(L, N)`` for the endmembers ``E`` ``(L, p)``.

        Calls ``_unmix(Y, E)`` with the checked arrays, or ``_unmix(Y, E, image_shape=(H, W))``
        for a ``spatial`` method (``image_shape`` is then required and checked).
        """
        t0 = time.perf_counter()
        Y, E = self.check_inputs(Y, E)
        if self.spatial:
            _check_image_shape(self, Y, image_shape)
        s = self._input_scale(Y, E, "endmembers")
        Yn, En = _divide(Y, s), _divide(E, s)
        if self.spatial:
            result = self._unmix(Yn, En, image_shape=(int(image_shape[0]), int(image_shape[1])))  # type: ignore[index]
        else:
            result = self._unmix(Yn, En)
        _rescale_endmembers(result, s, En, E)
        self._finish_info(result.info, result.abundances, t0)
        return result

    def _unmix(self, Y: np.ndarray, E: np.ndarray, **kwargs: Any) -> UnmixingResult:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} must implement _unmix(Y, E)")

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
    template: ClassVar[tuple[str, str]] = ("unmix", "_unmix")

    @_template
    def unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
              image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Unmix the pixels ``Y`` ``(L, N)`` over the library ``D`` ``(L, M)``; calls
        ``_unmix(Y, D, p=p, image_shape=image_shape)`` with the checked arrays (``p`` an int when
        ``needs_p``, ``image_shape`` a checked ``(H, W)`` when ``spatial``)."""
        t0 = time.perf_counter()
        Y, D = self.check_inputs(Y, D, p, image_shape)
        if self.needs_p:
            p = int(p)  # type: ignore[arg-type]
        if self.spatial:
            image_shape = (int(image_shape[0]), int(image_shape[1]))  # type: ignore[index]
        s = self._input_scale(Y, D, "library")
        Dn = _divide(D, s)
        result = self._unmix(_divide(Y, s), Dn, p=p, image_shape=image_shape)
        _rescale_endmembers(result, s, Dn, D)
        self._finish_info(result.info, result.abundances, t0)
        return result

    def _unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
               image_shape: tuple[int, int] | None = None) -> UnmixingResult:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must implement _unmix(Y, D, p=, image_shape=)")

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
            _check_image_shape(self, Y, image_shape)
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
    template: ClassVar[tuple[str, str]] = ("unmix", "_unmix")

    @_template
    def unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Endmembers ``(L, p)`` and abundances ``(p, N)`` of the pixels ``Y`` ``(L, N)``; calls
        ``_unmix(Y, p, image_shape=image_shape)`` with the checked ``Y``, an int ``p`` and, when
        ``spatial``, a checked ``(H, W)``."""
        t0 = time.perf_counter()
        Y = self.check_inputs(Y, p, image_shape)
        if self.spatial:
            image_shape = (int(image_shape[0]), int(image_shape[1]))  # type: ignore[index]
        s = self._input_scale(Y)
        result = self._unmix(_divide(Y, s), int(p), image_shape=image_shape)
        _rescale_endmembers(result, s)
        self._finish_info(result.info, result.abundances, t0)
        return result

    def _unmix(self, Y: np.ndarray, p: int, *,
               image_shape: tuple[int, int] | None = None) -> UnmixingResult:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must implement _unmix(Y, p, image_shape=)")

    def check_inputs(self, Y: np.ndarray, p: int, image_shape: tuple[int, int] | None = None) -> np.ndarray:
        """Validate ``Y`` (L, N), ``p`` (2 <= p <= min(L, N)) and, for spatial methods, ``image_shape``."""
        Y = Extractor.check_inputs(Y, p)
        if self.spatial:
            _check_image_shape(self, Y, image_shape)
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
    output_dtype: ClassVar[str] = "float64"
    template: ClassVar[tuple[str, str]] = ("fuse", "_fuse")

    @_template
    def fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
             **kwargs: Any) -> FusionResult:
        """The fused cube ``(L, H, W)``; calls ``_fuse(ms, pan, ratio=, sensor=, **kwargs)`` with the
        checked float cubes ``ms`` ``(L, h, w)``, ``pan`` ``(1, H, W)`` and the int ratio
        (``kwargs``: a method's own options, e.g. the tiled runs' ``stats``)."""
        t0 = time.perf_counter()
        ms, pan, ratio = self.check_inputs(ms, pan, ratio)
        result = self._fuse(ms, pan, ratio=ratio, sensor=sensor, **kwargs)
        self._finish_info(result.info, result.fused, t0)
        return result

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              **kwargs: Any) -> FusionResult:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must implement _fuse(ms, pan, ratio=, sensor=)")

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
    output_dtype: ClassVar[str] = "float64"
    template: ClassVar[tuple[str, str]] = ("fuse", "_fuse")

    @_template
    def fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
             psf: Any = None) -> FusionResult:
        """The fused cube ``(L, H, W)``; calls ``_fuse(hs, ms, ratio=, srf=, psf=)`` with the checked
        float cubes ``hs`` ``(L, h, w)``, ``ms`` ``(C, H, W)`` and the int ratio."""
        t0 = time.perf_counter()
        hs, ms, ratio = self.check_inputs(hs, ms, ratio)
        result = self._fuse(hs, ms, ratio=ratio, srf=srf, psf=psf)
        self._finish_info(result.info, result.fused, t0)
        return result

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must implement _fuse(hs, ms, ratio=, srf=, psf=)")

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
    output_dtype: ClassVar[str] = "float64"
    template: ClassVar[tuple[str, str]] = ("super_resolve", "_super_resolve")

    @_template
    def super_resolve(self, cube: np.ndarray, *, ratio: int, psf: Any = None) -> FusionResult:
        """The super-resolved cube ``(L, ratio h, ratio w)``; calls ``_super_resolve(cube, ratio=,
        psf=)`` with the checked float cube ``(L, h, w)`` and the int ratio."""
        t0 = time.perf_counter()
        cube, ratio = self.check_inputs(cube, ratio)
        result = self._super_resolve(cube, ratio=ratio, psf=psf)
        self._finish_info(result.info, result.fused, t0)
        return result

    def _super_resolve(self, cube: np.ndarray, *, ratio: int,
                       psf: Any = None) -> FusionResult:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must implement _super_resolve(cube, ratio=, psf=)")

    @staticmethod
    def check_inputs(cube: np.ndarray, ratio: int) -> tuple[np.ndarray, int]:
        """Float ``cube`` ``(L, h, w)`` and the integer ratio (>= 2), or a clear error."""
        cube = _check_cube(cube, "image")
        if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 2:
            raise InputError(f"ratio must be an integer >= 2, got {ratio!r}")
        if min(cube.shape[1:]) < 2:
            raise InputError(f"image of {cube.shape[1]} x {cube.shape[2]} pixels is too small to super-resolve")
        return cube, int(ratio)
