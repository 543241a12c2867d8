r"""The method contract, checked: :func:`check_method` (like scikit-learn's ``check_estimator``).

Every registered method -- built in or from a plugin -- must pass :func:`check_method`; the test
suite runs it over the whole registry (``tests/test_method_contract.py``) and plugin authors run it
in their own tests::

    from hysupp.testing import check_method

    def test_my_method_follows_the_contract():
        check_method(MyMethod)

The checks, each a named sub-check that fails with a message naming the method, the check, what was
expected and what was found (:class:`MethodCheckError`, an ``AssertionError``):

``declaration``
    ``name``, ``task`` (and the matching base class), ``reference``, a docstring with a numpydoc
    *Parameters* section naming every parameter, ``params`` (unique :class:`~hysupp.methods.params.Param`
    s whose defaults are valid), ``inspect.signature(cls)`` matching ``params``, ``output_dtype``,
    ``fast_params``, and the task's method implemented (``_extract`` / ``_unmix`` / ``_fuse`` /
    ``_super_resolve``, or a pre-template public override).
``parameter_validation``
    An unknown keyword, ``None`` for a required value, a value of the wrong type, a value outside
    each bound (at an open bound itself), outside ``choices`` or failing the predicate: all raise
    :class:`~hysupp.errors.ParameterError` at construction.
``cli_round_trip``
    Every default written as ``--param key=value`` text parses back to itself
    (:func:`~hysupp.methods.params.parse_param_strings`).
``outputs``
    On a tiny seeded problem of the task (:func:`tiny_problem`; pixels of 3 endmembers for
    unmixing, an MS/PAN or HS/MS pair at ratio 4 or an image at ratio 2 built with the physics
    operators): the result type, the shapes, finite values.
``dtypes``
    float32 inputs and float64 inputs (with ``dtype="float64"`` for a method with a ``dtype``
    parameter) give the main output the dtype the class declares in ``output_dtype``.
``determinism``
    Two runs with the same parameters (and seed) give identical arrays.
``stochastic``
    The ``stochastic`` declaration (:meth:`~hysupp.methods.base.Method.is_stochastic`) matches the
    behaviour: a method without a ``seed`` parameter is not stochastic; a non-stochastic one gives
    the same arrays for the next seed; a stochastic one gives different arrays (or different
    numbers in ``info``, e.g. PPI's votes) for at least one of the next three seeds.
``invalid_inputs``
    A NaN pixel, a wrong band count or size, a wrong ``p``, a missing ``image_shape`` for a spatial
    method, a wrong ratio: each raises :class:`~hysupp.errors.InputError`.
``scale``
    Unmixing methods and extractors (fusion methods are left to their own checks): the tiny
    problem's pixels and endmembers/library multiplied by 1e4 (reflectance stored as integers x 1e4)
    and by 1e-3 give abundances and library coefficients within 1e-4 of the float64 run, and
    endmembers multiplied by the same factor (within 1e-4 relative), up to an order of the
    endmembers for the methods that choose it (extractors, blind methods, semi-supervised
    methods with ``needs_p``: the data divided by a power of ten differ from the original by an
    ulp, which may break a tie differently). A method declaring
    ``scale_invariant`` must get there without rescaling (``info["input_scale"] == 1``, no
    ``UnitsWarning``); any other is normalised by the template and must say so
    (``info["input_scale"]`` equal to the factor, a :class:`~hysupp.errors.UnitsWarning`). A class
    overriding the public method itself (pre-template plugins) is judged on its results only.
``info``
    The result's ``info`` has the standard keys (:data:`hysupp.methods.base.STANDARD_INFO_KEYS`,
    plus ``seed`` for a seeded method), a ``converged`` key when present is a bool (the runs
    warn when it is False), and it is JSON-serialisable through :func:`hysupp.records.info_jsonable`.

Runs use the class's ``fast_params`` (few iterations, small networks; ``quick=False`` runs the
default parameters instead) and ``device="cpu"`` for torch methods, so the whole registry is
checked in well under a minute.

Example
-------
>>> from hysupp.methods import get_method
>>> from hysupp.testing import check_method
>>> check_method(get_method("FCLS"))
['declaration', 'parameter_validation', 'cli_round_trip', 'outputs', 'dtypes', 'determinism', 'stochastic', 'invalid_inputs', 'scale', 'info']
"""

from __future__ import annotations

import inspect
import json
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from hysupp.errors import InputError, ParameterError, UnitsWarning
from hysupp.methods.base import (STANDARD_INFO_KEYS, BlindUnmixer, ExtractionResult, Extractor, FusionResult,
                                 HSMSFuser, Method, Pansharpener, SemiSupervisedUnmixer, SuperResolver,
                                 SupervisedUnmixer, UnmixingResult)
from hysupp.methods.params import Param, check_value, documented_names, format_value, parse_param_strings

__all__ = ["CHECKS", "MethodCheckError", "TinyProblem", "check_method", "method_checks", "run_method", "tiny_problem"]

#: The task base class of every task.
TASK_BASES: dict[str, type[Method]] = {
    "extractor": Extractor, "supervised": SupervisedUnmixer, "semi-supervised": SemiSupervisedUnmixer,
    "blind": BlindUnmixer, "pansharpening": Pansharpener, "hs-ms-fusion": HSMSFuser,
    "super-resolution": SuperResolver,
}
#: The names of the sub-checks, in the order they run.
CHECKS = ("declaration", "parameter_validation", "cli_round_trip", "outputs", "dtypes", "determinism",
          "stochastic", "invalid_inputs", "scale", "info")
#: the factors of the ``scale`` check, and its tolerance (abundances: absolute; endmembers: relative)
SCALE_FACTORS = (1e4, 1e-3)
SCALE_TOL = 1e-4
OUTPUT_DTYPES = ("input", "dtype", "float32", "float64")


class MethodCheckError(AssertionError):
    """A method failed a contract check; the message names the method and the check."""


# ---------------------------------------------------------------------- tiny problems
@dataclass
class TinyProblem:
    """A small seeded problem of one task. Unmixing: pixels ``Y`` ``(L, N)`` of ``p`` endmembers
    ``E`` on an ``(H, W)`` grid, a library ``D`` ``(L, M)`` holding them; fusion: ``low`` and
    ``high`` images at ``ratio`` (``srf`` the MS response of an HS-MS pair), ``sensor``."""

    task: str
    Y: np.ndarray | None = None
    E: np.ndarray | None = None
    D: np.ndarray | None = None
    p: int = 3
    image_shape: tuple[int, int] = (8, 8)
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    ratio: int = 4
    srf: np.ndarray | None = None
    sensor: str | None = None

    def astype(self, dtype: Any) -> TinyProblem:
        """The same problem with every image in ``dtype``."""
        cast = (lambda a: None if a is None else np.asarray(a, dtype=dtype))
        return TinyProblem(self.task, cast(self.Y), cast(self.E), cast(self.D), self.p, self.image_shape,
                           cast(self.low), cast(self.high), self.ratio, self.srf, self.sensor)


def _smooth_scene(bands: int, size: int, seed: int) -> np.ndarray:
    """A smooth positive cube ``(bands, size, size)`` with band-dependent structure."""
    from hysupp.physics.blur import Blur

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    texture = Blur.gaussian(fwhm=2.0, mode="circular")(rng.random((1, size, size)))[0]
    return np.stack([0.3 + 0.2 * (b + 1) / bands * np.sin(3 * xx + b) * np.cos(2 * yy) + 0.3 * texture
                     for b in range(bands)])


def tiny_problem(task: str, seed: int = 0) -> TinyProblem:
    """The tiny seeded problem :func:`check_method` runs a method of ``task`` on.

    Unmixing: 12 bands, 3 smooth endmembers with one pure pixel each, softmax abundance maps on an
    8 x 8 grid, noise of standard deviation 1e-3, a library of 8 atoms holding the endmembers.
    Pansharpening: a 4-band 96 x 96 scene, its PAN (band mean) and its MS (Gaussian PSF of FWHM 4,
    decimation at the centre phase) at ratio 4, sensor QuickBird. HS-MS: an 8-band 32 x 32 scene,
    its HS at ratio 4 (same degradation) and a 3-band MS through a box SRF. Super-resolution: a
    4-band 16 x 16 image, ratio 2.
    """
    from hysupp.physics.blur import Blur
    from hysupp.physics.sampling import Decimation

    def degrade(x: np.ndarray, ratio: int) -> np.ndarray:
        return Decimation(ratio, "center")(Blur.gaussian(fwhm=ratio, mode="symmetric")(x))

    if task in ("extractor", "supervised", "semi-supervised", "blind"):
        L, p, H, W, M = 12, 3, 8, 8, 8
        rng = np.random.default_rng(seed)
        wl = np.linspace(0, 1, L)
        E = np.stack([0.5 + 0.35 * np.sin(np.pi * (k + 1) * wl + k) for k in range(p)], axis=1)
        yy, xx = np.mgrid[0:H, 0:W] / max(H, W)
        logits = np.stack([3 * np.cos(3 * (k + 1) * yy + 2 * k * xx) for k in range(p)])
        A = (np.exp(logits) / np.exp(logits).sum(0)).reshape(p, -1)
        A[:, :p] = np.eye(p)
        Y = E @ A + 1e-3 * rng.standard_normal((L, H * W))
        others = np.stack([0.5 + 0.3 * np.cos(2 * np.pi * (k + 2) * wl / 3 + 0.5 * k) for k in range(M - p)], axis=1)
        D = np.concatenate([E, others], axis=1)[:, rng.permutation(M)]
        return TinyProblem(task, Y=Y, E=E, D=D, p=p, image_shape=(H, W))
    if task == "pansharpening":
        X = _smooth_scene(4, 96, seed)
        return TinyProblem(task, low=degrade(X, 4), high=X.mean(axis=0), ratio=4, sensor="QB")
    if task == "hs-ms-fusion":
        X = _smooth_scene(8, 32, seed)
        R = np.zeros((3, 8))
        R[0, :3], R[1, 3:6], R[2, 5:] = 1 / 3, 1 / 3, 1 / 3
        return TinyProblem(task, low=degrade(X, 4), high=np.einsum("cl,lhw->chw", R, X), ratio=4, srf=R)
    if task == "super-resolution":
        return TinyProblem(task, low=degrade(_smooth_scene(4, 32, seed), 2), ratio=2)
    raise ValueError(f"unknown task {task!r}")


def run_method(method: Method, problem: TinyProblem, **changes: Any) -> Any:
    """Run ``method`` on ``problem`` through its public entry point; ``changes`` override the
    problem's inputs (``Y``, ``E``, ``D``, ``p``, ``image_shape``, ``low``, ``high``, ``ratio``)."""
    a = {**problem.__dict__, **changes}
    task = problem.task
    if task == "extractor":
        return method.extract(a["Y"], a["p"])  # type: ignore[attr-defined]
    if task == "supervised":
        grid = {"image_shape": a["image_shape"]} if getattr(method, "spatial", False) else {}
        return method.unmix(a["Y"], a["E"], **grid)  # type: ignore[attr-defined]
    if task == "semi-supervised":
        p = a["p"] if getattr(method, "needs_p", False) else None
        if "p" in changes:
            p = changes["p"]
        return method.unmix(a["Y"], a["D"], p=p, image_shape=a["image_shape"])  # type: ignore[attr-defined]
    if task == "blind":
        return method.unmix(a["Y"], a["p"], image_shape=a["image_shape"])  # type: ignore[attr-defined]
    if task == "pansharpening":
        return method.fuse(a["low"], a["high"], ratio=a["ratio"], sensor=a["sensor"])  # type: ignore[attr-defined]
    if task == "hs-ms-fusion":
        return method.fuse(a["low"], a["high"], ratio=a["ratio"], srf=a["srf"])  # type: ignore[attr-defined]
    return method.super_resolve(a["low"], ratio=a["ratio"])  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- helpers
class _Context:
    """What the checks of one class share: the class, its run parameters, the problem, the runs."""

    def __init__(self, cls: type[Method], quick: bool) -> None:
        self.cls = cls
        self.quick = quick
        self.names = {p.name: p for p in getattr(cls, "params", ())}
        self._problem: TinyProblem | None = None
        self._runs: dict[str, Any] = {}

    def fail(self, check: str, message: str) -> MethodCheckError:
        return MethodCheckError(f"check_method({getattr(self.cls, 'name', '') or self.cls.__name__}) "
                                f"[{check}]: {message}")

    def run_params(self, dtype: str | None = None) -> dict[str, Any]:
        kw = dict(getattr(self.cls, "fast_params", {}) or {}) if self.quick else {}
        if "device" in self.names:
            kw["device"] = "cpu"
        if dtype is not None and "dtype" in self.names:
            kw["dtype"] = dtype
        return kw

    @property
    def problem(self) -> TinyProblem:
        if self._problem is None:
            self._problem = tiny_problem(self.cls.task)
        return self._problem

    def run(self, key: str, **changes: Any) -> Any:
        """Cached runs: ``"float32"`` (float32 inputs, default dtype), ``"float64"`` (float64 inputs,
        ``dtype="float64"``), ``"repeat"`` (the float64 run again) and, for ``seed=`` changes, the
        float64 run with that seed."""
        if changes:
            key = f"{key}:" + ",".join(f"{k}={v!r}" for k, v in sorted(changes.items()))
        if key not in self._runs:
            dt = "float32" if key.startswith("float32") else "float64"
            method = self.cls(**{**self.run_params("float64" if dt == "float64" else None), **changes})
            try:
                self._runs[key] = run_method(method, self.problem.astype(dt))
            except Exception as exc:
                raise self.fail("outputs", f"running on the tiny {self.cls.task} problem ({dt} inputs, "
                                f"parameters {self.run_params()!r}) raised {type(exc).__name__}: {exc}") from exc
        return self._runs[key]


def _arrays(result: Any) -> dict[str, np.ndarray]:
    names = ("endmembers", "indices", "abundances", "library_coefficients", "fused")
    return {n: np.asarray(getattr(result, n)) for n in names if getattr(result, n, None) is not None}


def _main(result: Any) -> np.ndarray:
    if isinstance(result, FusionResult):
        return np.asarray(result.fused)
    if isinstance(result, UnmixingResult):
        return np.asarray(result.abundances)
    return np.asarray(result.endmembers)


def _is_template(cls: type[Method]) -> bool:
    public, private = cls.template
    return not getattr(getattr(cls, public), "_hysupp_legacy", False)


# ---------------------------------------------------------------------- the checks
def _check_declaration(ctx: _Context) -> None:
    cls, check = ctx.cls, "declaration"
    from hysupp.methods.registry import TASKS

    if not (inspect.isclass(cls) and issubclass(cls, Method)):
        raise ctx.fail(check, f"expected a hysupp Method subclass, found {cls!r}")
    if not isinstance(cls.name, str) or not cls.name.strip():
        raise ctx.fail(check, f"class attribute 'name' must be a non-empty string, found {cls.name!r}")
    if cls.task not in TASKS:
        raise ctx.fail(check, f"task must be one of {', '.join(TASKS)}, found {cls.task!r}")
    base = TASK_BASES[cls.task]
    if not issubclass(cls, base):
        raise ctx.fail(check, f"a {cls.task} method must subclass {base.__name__}")
    if not isinstance(cls.reference, str) or not cls.reference.strip():
        raise ctx.fail(check, "class attribute 'reference' (the paper, with its DOI) is empty")
    if not (cls.__doc__ or "").strip():
        raise ctx.fail(check, "the class has no docstring (the problem it solves, the algorithm)")
    params = cls.params
    if not isinstance(params, tuple) or not all(isinstance(p, Param) for p in params):
        raise ctx.fail(check, f"'params' must be a tuple of Param, found {type(params).__name__}")
    names = [p.name for p in params]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ctx.fail(check, f"parameters declared twice: {', '.join(dup)}")
    for p in params:
        if p.default is None and p.optional:
            continue
        try:
            clean = check_value(cls.name, p, p.default)
        except ParameterError as exc:
            raise ctx.fail(check, f"the default of parameter {p.name!r} is invalid: {exc}") from None
        if clean != p.default:
            raise ctx.fail(check, f"the default of parameter {p.name!r} is {p.default!r}, which validates to "
                           f"{clean!r}; declare it as the validated value")
    if params:
        documented = documented_names(cls.__doc__ or "")
        if documented is None:
            raise ctx.fail(check, "the class docstring has no 'Parameters' section")
        missing = [n for n in names if n not in documented]
        stale = [n for n in documented if n not in names]
        if missing or stale:
            raise ctx.fail(check, f"the docstring's Parameters section does not match params: missing {missing}, "
                           f"not parameters {stale}")
    sig = inspect.signature(cls)
    found = [(q.name, q.default, q.kind) for q in sig.parameters.values()]
    expected = [(p.name, p.default, inspect.Parameter.KEYWORD_ONLY) for p in params]
    if found != expected:
        raise ctx.fail(check, f"inspect.signature(cls) is {sig}, expected the keyword-only parameters of params")
    if cls.output_dtype not in OUTPUT_DTYPES:
        raise ctx.fail(check, f"output_dtype must be one of {', '.join(OUTPUT_DTYPES)}, found {cls.output_dtype!r}")
    fast = getattr(cls, "fast_params", {}) or {}
    unknown = sorted(set(fast) - set(names))
    if unknown:
        raise ctx.fail(check, f"fast_params names unknown parameters {unknown}")
    try:
        cls(**ctx.run_params())
    except ParameterError as exc:
        raise ctx.fail(check, f"fast_params are invalid: {exc}") from None
    public, private = cls.template
    if _is_template(cls) and getattr(cls, private) is getattr(base, private):
        raise ctx.fail(check, f"the class implements neither {private}() (the template's hook) nor {public}()")


def _bad_values(p: Param) -> Iterator[tuple[str, Any]]:
    """Values ``p`` must reject, each with a label."""
    tp = p.element_type
    wrap = (lambda v: [v]) if p.is_list else (lambda v: v)
    if not p.optional:
        yield "None", None
    if tp is int:
        yield "a non-integer", wrap(2.5)
        yield "text", wrap("not-a-number")
    elif tp is float:
        yield "text", wrap("not-a-number")
        yield "NaN", wrap(float("nan"))
    elif tp is bool:
        yield "text", wrap("maybe")
        yield "a number", wrap(2)
    else:
        yield "a number", 3 if not p.is_list else [3]
        if p.choices is not None:
            yield "a value outside the choices", wrap("__not_a_choice__")
    if p.is_list:
        yield "a scalar", 3 if tp is not str else 3.5
    if tp in (int, float) and p.choices is None:
        step = 1 if tp is int else max(abs(float(p.low if p.low is not None else 1.0)), 1.0)
        if p.low is not None:
            yield "a value below the lower bound", wrap(tp(p.low) if p.low_open else tp(p.low - step))
        if p.high is not None:
            hstep = 1 if tp is int else max(abs(float(p.high)), 1.0)
            yield "a value above the upper bound", wrap(tp(p.high) if p.high_open else tp(p.high + hstep))
        if p.check is not None:
            lo = int(math.ceil(p.low)) if p.low is not None else -8
            candidates: list[Any] = [float("inf"), -float("inf")] if tp is float else []
            candidates += [tp(v) for v in range(lo, lo + 40)]
            for v in candidates:
                ok_low = p.low is None or (v > p.low if p.low_open else v >= p.low)
                ok_high = p.high is None or (v < p.high if p.high_open else v <= p.high)
                if ok_low and ok_high and not p.check.test(v):
                    yield f"a value that is not {p.check.description}", wrap(v)
                    break


def _check_parameter_validation(ctx: _Context) -> None:
    cls, check = ctx.cls, "parameter_validation"
    try:
        cls(__no_such_parameter__=1)
    except ParameterError:
        pass
    else:
        raise ctx.fail(check, "an unknown keyword was accepted; expected ParameterError")
    for p in cls.params:
        for label, value in _bad_values(p):
            try:
                cls(**{p.name: value})
            except ParameterError as exc:
                if p.name not in str(exc) or cls.name not in str(exc):
                    raise ctx.fail(check, f"the error for {p.name}={value!r} does not name the method and the "
                                   f"parameter: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - any other error is the failure reported
                raise ctx.fail(check, f"{p.name}={value!r} ({label}) raised {type(exc).__name__}: {exc}; expected "
                               f"ParameterError") from None
            else:
                raise ctx.fail(check, f"{p.name}={value!r} ({label}) was accepted; expected ParameterError "
                               f"(declared: {p.type_name}, {p.describe_range() or 'any value'})")


def _check_cli_round_trip(ctx: _Context) -> None:
    cls, check = ctx.cls, "cli_round_trip"
    for p in cls.params:
        if p.default is None and not p.optional:
            continue
        text = f"{p.name}={format_value(p, p.default)}"
        try:
            back = parse_param_strings(cls.name, cls.params, [text])[p.name]
        except ParameterError as exc:
            raise ctx.fail(check, f"--param {text} does not parse: {exc}") from None
        if back != p.default:
            raise ctx.fail(check, f"--param {text} parses to {back!r}, expected the default {p.default!r}")


def _expected_shapes(ctx: _Context, result: Any) -> dict[str, tuple[int, ...]]:
    pb, cls = ctx.problem, ctx.cls
    if pb.task in ("extractor", "supervised", "semi-supervised", "blind"):
        L, N = pb.Y.shape  # type: ignore[union-attr]
        M = pb.D.shape[1]  # type: ignore[union-attr]
        p = pb.p
        if pb.task == "extractor":
            out = {"endmembers": (L, p)}
            if result.indices is not None:
                out["indices"] = (p,)
            return out
        if pb.task == "semi-supervised" and not getattr(cls, "needs_p", False):
            return {"abundances": (M, N), "endmembers": (L, M)}
        out = {"abundances": (p, N), "endmembers": (L, p)}
        if pb.task == "semi-supervised":
            out["library_coefficients"] = (M, p)
        return out
    L = pb.low.shape[0]  # type: ignore[union-attr]
    h, w = pb.low.shape[1:]  # type: ignore[union-attr]
    return {"fused": (L, h * pb.ratio, w * pb.ratio)}


def _check_outputs(ctx: _Context) -> None:
    check = "outputs"
    result = ctx.run("float32")
    kind = {"extractor": ExtractionResult}.get(ctx.cls.task, FusionResult if ctx.cls.task in (
        "pansharpening", "hs-ms-fusion", "super-resolution") else UnmixingResult)
    if not isinstance(result, kind):
        raise ctx.fail(check, f"the result is a {type(result).__name__}, expected a {kind.__name__}")
    arrays = _arrays(result)
    for name, shape in _expected_shapes(ctx, result).items():
        if name not in arrays:
            raise ctx.fail(check, f"the result has no {name!r}")
        if arrays[name].shape != shape:
            raise ctx.fail(check, f"{name} has shape {arrays[name].shape}, expected {shape}")
    for name, a in arrays.items():
        if name == "indices":
            if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= ctx.problem.Y.shape[1]:  # type: ignore[union-attr]
                raise ctx.fail(check, f"indices must be pixel indices in [0, N), found {a!r}")
            continue
        if not np.issubdtype(a.dtype, np.floating):
            raise ctx.fail(check, f"{name} has dtype {a.dtype}, expected a floating dtype")
        if not np.isfinite(a).all():
            raise ctx.fail(check, f"{name} has {int((~np.isfinite(a)).sum())} non-finite values")
    if not isinstance(result.info, dict):
        raise ctx.fail(check, f"info must be a dict, found {type(result.info).__name__}")


def _expected_dtype(ctx: _Context, inputs: str) -> str:
    policy = ctx.cls.output_dtype
    if policy == "input":
        return inputs
    if policy == "dtype":
        return inputs if "dtype" in ctx.names else "float32"
    return policy


def _check_dtypes(ctx: _Context) -> None:
    check = "dtypes"
    for key in ("float32", "float64"):
        main = _main(ctx.run(key))
        expected = _expected_dtype(ctx, key)
        if main.dtype != np.dtype(expected):
            how = " with dtype='float64'" if key == "float64" and "dtype" in ctx.names else ""
            raise ctx.fail(check, f"{key} inputs{how}: the main output has dtype {main.dtype}, expected {expected} "
                           f"(output_dtype = {ctx.cls.output_dtype!r})")


def _check_determinism(ctx: _Context) -> None:
    check = "determinism"
    a, b = _arrays(ctx.run("float64")), _arrays(ctx.run("repeat"))
    for name in a:
        if not np.array_equal(a[name], b[name]):
            raise ctx.fail(check, f"two runs with the same parameters{' and seed' if 'seed' in ctx.names else ''} "
                           f"gave different {name} (max difference {np.abs(a[name] - b[name]).max():.3g})")


def _info_numbers(info: dict[str, Any]) -> str:
    """The numbers of ``info`` (JSON text) without the seed and the timings."""
    from hysupp.records import info_jsonable

    kept = {k: v for k, v in info.items() if k != "seed" and "time" not in k}
    return json.dumps(info_jsonable(kept), sort_keys=True, default=str)


def _check_stochastic(ctx: _Context) -> None:
    check = "stochastic"
    declared = ctx.cls(**ctx.run_params()).is_stochastic()
    if "seed" not in ctx.names:
        if declared:
            raise ctx.fail(check, "declared stochastic but has no 'seed' parameter, so its draws cannot be "
                           "reproduced; declare Param('seed', int, 0, ...) and draw from it")
        return
    base = ctx.run("float64")
    seed = ctx.cls(**ctx.run_params("float64")).config["seed"]
    a = _arrays(base)
    if not declared:
        b = _arrays(ctx.run("float64", seed=seed + 1))
        for name in a:
            if not np.array_equal(a[name], b[name]):
                raise ctx.fail(check, f"seed {seed + 1} changed {name} (max difference "
                               f"{np.abs(a[name] - b[name]).max():.3g}) but the method is not declared stochastic; "
                               "set stochastic = True (or override is_stochastic)")
        return
    for s in (seed + 1, seed + 2, seed + 3):
        other = ctx.run("float64", seed=s)
        b = _arrays(other)
        if any(not np.array_equal(a[name], b[name]) for name in a) or \
                _info_numbers(base.info) != _info_numbers(other.info):
            return
    raise ctx.fail(check, f"declared stochastic but seeds {seed}..{seed + 3} gave identical outputs and info; set "
                   "stochastic = False if the seed does not reach a random step")


def _invalid_cases(ctx: _Context) -> Iterator[tuple[str, dict[str, Any]]]:
    pb, cls = ctx.problem, ctx.cls
    if pb.Y is not None:
        Y = pb.Y.copy()
        Y[0, 1] = np.nan
        yield "a NaN pixel", {"Y": Y}
        yield "a 1-D image", {"Y": pb.Y[0]}
        if pb.task == "supervised":
            yield "endmembers with one band too many", {"E": np.vstack([pb.E, pb.E[:1]])}
        if pb.task == "semi-supervised":
            yield "a library with one band too many", {"D": np.vstack([pb.D, pb.D[:1]])}
            if getattr(cls, "needs_p", False):
                yield "p = None", {"p": None}
                yield "p larger than the library", {"p": pb.D.shape[1] + 1}  # type: ignore[union-attr]
        if pb.task in ("extractor", "blind"):
            yield "p = 1", {"p": 1}
            yield "p larger than the band count", {"p": pb.Y.shape[0] + 1}
            yield "a non-integer p", {"p": 2.5}
        if getattr(cls, "spatial", False) and pb.task != "extractor":
            yield "a spatial method without image_shape", {"image_shape": None}
            yield "an image_shape that does not match N", {"image_shape": (pb.image_shape[0] + 1, pb.image_shape[1])}
        return
    low = pb.low.copy()  # type: ignore[union-attr]
    low[0, 0, 0] = np.nan
    yield "a NaN pixel in the low-resolution image", {"low": low}
    yield "ratio = 1", {"ratio": 1}
    yield "a non-integer ratio", {"ratio": 2.5}
    if pb.high is not None:
        high = pb.high.copy()
        high[..., 0, 0] = np.inf
        yield "an Inf pixel in the high-resolution image", {"high": high}
        yield "a high-resolution image one row too small", {"high": pb.high[..., :-1, :]}
        if pb.task == "pansharpening":
            yield "a PAN with two bands", {"high": np.stack([pb.high, pb.high])}


def _check_invalid_inputs(ctx: _Context) -> None:
    check = "invalid_inputs"
    method = ctx.cls(**ctx.run_params())
    for label, change in _invalid_cases(ctx):
        try:
            run_method(method, ctx.problem, **change)
        except InputError:
            continue
        except Exception as exc:  # noqa: BLE001 - any other error is the failure reported
            raise ctx.fail(check, f"{label}: raised {type(exc).__name__}: {exc}; expected InputError") from None
        raise ctx.fail(check, f"{label}: accepted; expected InputError")


def _best_order(arrays: dict[str, np.ndarray], base: dict[str, np.ndarray], f: float) -> dict[str, np.ndarray]:
    """``arrays`` with its endmembers (columns), abundances (rows), library coefficients (columns)
    and indices in the order of the permutation that brings the endmembers closest to ``f`` times
    ``base``'s."""
    import itertools

    E, E0 = arrays.get("endmembers"), base.get("endmembers")
    if E is None or E0 is None or E.shape != E0.shape or E.ndim != 2 or E.shape[1] > 8:
        return arrays
    best = min(itertools.permutations(range(E.shape[1])),
               key=lambda perm: float(np.abs(E[:, list(perm)] / f - E0).max()))
    perm = list(best)
    out = dict(arrays)
    out["endmembers"] = E[:, perm]
    if "abundances" in out and out["abundances"].shape[0] == len(perm):
        out["abundances"] = out["abundances"][perm]
    if "library_coefficients" in out:
        out["library_coefficients"] = out["library_coefficients"][:, perm]
    if "indices" in out and out["indices"].shape == (len(perm),):
        out["indices"] = out["indices"][perm]
    return out


def _check_scale(ctx: _Context) -> None:
    check, cls = "scale", ctx.cls
    if cls.task not in ("extractor", "supervised", "semi-supervised", "blind"):
        return
    base = _arrays(ctx.run("float64"))
    pb = ctx.problem.astype(np.float64)
    invariant = bool(getattr(cls, "scale_invariant", False))
    for f in SCALE_FACTORS:
        scaled = TinyProblem(pb.task, Y=pb.Y * f, E=pb.E * f, D=pb.D * f, p=pb.p,  # type: ignore[operator]
                             image_shape=pb.image_shape)
        method = cls(**ctx.run_params("float64"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = run_method(method, scaled)
            except Exception as exc:  # noqa: BLE001 - any error is the failure reported
                raise ctx.fail(check, f"inputs x {f:g} raised {type(exc).__name__}: {exc}") from None
        units = [w for w in caught if issubclass(w.category, UnitsWarning)]
        got = result.info.get("input_scale") if isinstance(result.info, dict) else None
        if invariant and (units or got not in (None, 1.0)):
            raise ctx.fail(check, f"inputs x {f:g}: the class declares scale_invariant but the data were rescaled "
                           f"(info['input_scale'] = {got!r}, {len(units)} UnitsWarning)")
        if not invariant and _is_template(cls):   # (a pre-template public override: the results decide)
            if got is None or not math.isclose(got, f, rel_tol=1e-9):
                raise ctx.fail(check, f"inputs x {f:g}: info['input_scale'] = {got!r}, expected {f:g} (the data's "
                               f"unit scale); a method whose result depends on the scale is normalised by the template")
            if not units:
                raise ctx.fail(check, f"inputs x {f:g}: the data were rescaled without a UnitsWarning")
        arrays = _arrays(result)
        if cls.task in ("extractor", "blind") or getattr(cls, "needs_p", False):
            arrays = _best_order(arrays, base, f)
        for name, ref in base.items():
            if name not in arrays:
                raise ctx.fail(check, f"inputs x {f:g}: the result has no {name!r}")
            a = arrays[name]
            if name == "indices":
                if not np.array_equal(a, ref):
                    raise ctx.fail(check, f"inputs x {f:g}: the pixel indices changed from {ref.tolist()} to "
                                   f"{a.tolist()}")
                continue
            if name == "endmembers":
                err = float(np.abs(a / f - ref).max()) / max(float(np.abs(ref).max()), 1e-300)
                what = "endmembers / factor (relative to max |endmembers|)"
            else:
                err = float(np.abs(a - ref).max())
                what = name
            if not err <= SCALE_TOL:
                raise ctx.fail(check, f"inputs x {f:g}: {what} differ from the unscaled run by {err:.3g} "
                               f"(tolerance {SCALE_TOL:g}); a common scale of the inputs must not change the result")


def _check_info(ctx: _Context) -> None:
    from hysupp.records import info_jsonable

    check = "info"
    for key in ("float32", "float64"):
        info = ctx.run(key).info
        required = list(STANDARD_INFO_KEYS) + (["seed"] if "seed" in ctx.names else [])
        missing = [k for k in required if k not in info]
        if missing:
            raise ctx.fail(check, f"info lacks the standard keys {missing} (found {sorted(info)})")
        wall = info["wall_time"]
        if not isinstance(wall, (int, float)) or not wall >= 0:
            raise ctx.fail(check, f"info['wall_time'] must be seconds (a number >= 0), found {wall!r}")
        for k in ("dtype", "device"):
            if not isinstance(info[k], str):
                raise ctx.fail(check, f"info[{k!r}] must be a string, found {info[k]!r}")
        if "converged" in info and not isinstance(info["converged"], (bool, np.bool_)):
            raise ctx.fail(check, f"info['converged'] must be a bool (True only when the stopping test was met), "
                           f"found {info['converged']!r}")
        if "seed" in ctx.names and info["seed"] != ctx.cls(**ctx.run_params()).config["seed"]:
            raise ctx.fail(check, f"info['seed'] = {info['seed']!r} is not the method's seed")
        try:
            text = json.dumps(info_jsonable(info), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ctx.fail(check, f"info is not JSON-serialisable through info_jsonable: {exc}") from None
        if " object at 0x" in text:
            raise ctx.fail(check, "info holds an object that serialises only as its repr ('... object at 0x...'); "
                           "store plain values")


_FUNCTIONS: dict[str, Callable[[_Context], None]] = {
    "declaration": _check_declaration, "parameter_validation": _check_parameter_validation,
    "cli_round_trip": _check_cli_round_trip, "outputs": _check_outputs, "dtypes": _check_dtypes,
    "determinism": _check_determinism, "stochastic": _check_stochastic, "invalid_inputs": _check_invalid_inputs,
    "scale": _check_scale,
    "info": _check_info,
}


def method_checks(cls: type[Method], *, quick: bool = True) -> Iterator[tuple[str, Callable[[], None]]]:
    """The checks of :func:`check_method` as ``(name, callable)`` pairs sharing the runs on the tiny
    problem (for a test parametrised by check)."""
    ctx = _Context(cls, quick)
    for name in CHECKS:
        yield name, (lambda f=_FUNCTIONS[name]: f(ctx))


def check_method(cls: type[Method], *, quick: bool = True) -> list[str]:
    """Check that the method class ``cls`` follows the hysupp method contract (module docstring).

    Runs the sub-checks in order and raises :class:`MethodCheckError` (an ``AssertionError``) at the
    first failure, naming the method, the check, what was expected and what was found. Returns the
    names of the checks passed. ``quick=True`` runs the tiny problem with the class's
    ``fast_params``; ``quick=False`` with its default parameters (the published settings: minutes
    for a network).
    """
    passed = []
    for name, run in method_checks(cls, quick=quick):
        run()
        passed.append(name)
    return passed
