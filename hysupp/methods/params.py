"""Typed, documented, validated hyperparameters (DESIGN §3).

A method declares its hyperparameters once, as a tuple of :class:`Param`; the constructor, the CLI's
``--param key=value`` parsing, ``hysupp list METHOD``, the class signature
(``inspect.signature(cls)``), the class docstring's *Parameters* section and the docs all read that
declaration.

A declaration says what the paper requires: a type (``int``, ``float``, ``bool``, ``str`` or a list
of one of them, ``list[float]``...), bounds that may be closed (``low=0.0``: :math:`\\ge 0`) or open
(``low=0.0, low_open=True``: :math:`> 0`, e.g. a step size or an ADMM penalty), allowed
``choices``, and a named predicate (:data:`ODD` kernel sizes, :data:`POWER_OF_TWO` ratios...). For
a list parameter, bounds, choices and the predicate apply to every element; on the command line it
is written ``1,2,3``.

Example
-------
>>> from hysupp.methods.params import ODD, Param, validate_params, parse_param_strings
>>> spec = (Param("max_iter", int, 100, "iteration cap", low=1),
...         Param("step", float, 0.5, "gradient step", low=0.0, low_open=True),
...         Param("kernel", int, 3, "kernel size", low=1, check=ODD),
...         Param("betas", list[float], (1.0, 0.1), "candidate weights", low=0.0))
>>> validate_params("Demo", spec, {"step": 1e-3})
{'max_iter': 100, 'step': 0.001, 'kernel': 3, 'betas': (1.0, 0.1)}
>>> parse_param_strings("Demo", spec, ["max_iter=5", "betas=10,1,0.1"])
{'max_iter': 5, 'betas': (10.0, 1.0, 0.1)}
>>> validate_params("Demo", spec, {"kernel": 4})
Traceback (most recent call last):
...
hysupp.errors.ParameterError: Demo: parameter 'kernel' must be an odd integer >= 1, got 4
"""

from __future__ import annotations

import inspect
import math
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Sequence

from hysupp.errors import ParameterError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_SCALARS = (int, float, bool, str)
_KIND = {int: "an integer", float: "a number", bool: "a boolean", str: "a string"}
_KINDS = {int: "integers", float: "numbers", bool: "booleans", str: "strings"}


@dataclass(frozen=True)
class Check:
    """A named predicate a parameter value must satisfy (each element, for a list parameter).

    ``test(value) -> bool`` receives the value after type coercion and range checks;
    ``description`` is an adjective phrase that completes "must be ...": ``"odd"``.
    """

    test: Callable[[Any], bool]
    description: str


#: Odd integers (kernel sizes with a centre tap).
ODD = Check(lambda v: int(v) % 2 == 1, "odd")
#: Even integers.
EVEN = Check(lambda v: int(v) % 2 == 0, "even")
#: Finite numbers (not inf).
FINITE = Check(math.isfinite, "finite")
#: Powers of two (1, 2, 4, 8, ...).
POWER_OF_TWO = Check(lambda v: int(v) >= 1 and int(v) & (int(v) - 1) == 0, "a power of two")


def _is_list_type(tp: Any) -> bool:
    return typing.get_origin(tp) in (list, tuple)


def _element_type(tp: Any) -> type:
    if _is_list_type(tp):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return args[0] if args else str
    return tp


@dataclass(frozen=True)
class Param:
    """One hyperparameter: name, type, reference default and a one-line doc.

    Parameters
    ----------
    name : str
        Keyword name (Python identifier).
    type : type
        ``int``, ``float``, ``bool``, ``str``, or a list of one of them: ``list[int]``,
        ``list[float]``, ``list[str]`` (values are tuples; the CLI writes ``1,2,3``).
    default : Any
        The reference implementation's default (``None`` allowed when ``optional``), unless ``doc``
        says otherwise (e.g. the measured stopping tolerances of issue 21, whose ``doc`` gives the
        reference's value).
    doc : str
        One line shown by ``hysupp list METHOD``.
    low, high : float, optional
        Bounds for numbers (closed unless ``low_open`` / ``high_open``).
    choices : tuple, optional
        Allowed values (strings compare case-insensitively).
    optional : bool
        Whether ``None`` is accepted.
    low_open, high_open : bool
        Exclude the bound itself: ``low=0.0, low_open=True`` means ``> 0``.
    check : Check, optional
        A further predicate (:data:`ODD`, :data:`POWER_OF_TWO` or your own :class:`Check`).
    """

    name: str
    type: Any
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    low_open: bool = False
    high_open: bool = False
    check: Check | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise TypeError(f"Param name {self.name!r} is not a Python identifier")
        if _element_type(self.type) not in _SCALARS:
            raise TypeError(f"Param {self.name!r}: type must be int, float, bool, str or a list of one of them, "
                            f"got {self.type!r}")
        if self.is_list and isinstance(self.default, list):
            object.__setattr__(self, "default", tuple(self.default))

    @property
    def is_list(self) -> bool:
        """Whether the parameter is a list (``list[int]``, ``list[float]``, ``list[str]``)."""
        return _is_list_type(self.type)

    @property
    def element_type(self) -> type:
        """The scalar type (of each element, for a list parameter)."""
        return _element_type(self.type)

    @property
    def type_name(self) -> str:
        """``"int"``, ``"float"``, ..., ``"list[float]"``."""
        return f"list[{self.element_type.__name__}]" if self.is_list else self.type.__name__

    @property
    def annotation(self) -> Any:
        """The type as an annotation (``float | None`` when optional)."""
        tp = list[self.element_type] if self.is_list else self.type  # type: ignore[name-defined]
        return tp | None if self.optional else tp

    def _bounds(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high}")
        return " and ".join(parts)

    def describe_range(self) -> str:
        """The allowed values in words, e.g. ``">= 1"``, ``"> 0.0 and <= 1.0"``, ``"one of a, b"``,
        ``">= 1 and odd"`` (each element's, for a list)."""
        text = "one of " + ", ".join(map(str, self.choices)) if self.choices is not None else self._bounds()
        if self.check is not None:
            text = f"{text} and {self.check.description}" if text else self.check.description
        return text

    def describe(self) -> str:
        """What a value must be, as in the error messages: ``"an odd integer >= 1"``,
        ``"a number > 0.0"``, ``"a list of numbers >= 0.0"``, ``"one of l1, l2"``."""
        if self.choices is not None:
            text = "one of " + ", ".join(map(str, self.choices))
            return f"a list of values, each {text}" if self.is_list else text
        tp = self.element_type
        noun = _KINDS[tp] if self.is_list else _KIND[tp].split(" ", 1)[1]
        check = self.check.description if self.check is not None else ""
        bounds = self._bounds()
        if check and " " not in check:             # an adjective: "an odd integer"
            noun, check = f"{check} {noun}", ""
        if check:
            bounds = f"{bounds} and {check}" if bounds else check
        if self.is_list:
            return f"a list of {noun} {bounds}".strip()
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} {bounds}".strip()

    def to_dict(self) -> dict[str, Any]:
        """The declaration as JSON-ready values (``hysupp list --json``)."""
        default = list(self.default) if self.is_list and self.default is not None else self.default
        return {"name": self.name, "type": self.type_name, "default": default, "doc": self.doc,
                "low": self.low, "high": self.high,
                "choices": None if self.choices is None else list(self.choices), "optional": self.optional,
                "low_open": self.low_open, "high_open": self.high_open,
                "check": None if self.check is None else self.check.description}


def _coerce_scalar(where: str, tp: type, value: Any, *, text_ok: bool = True) -> Any:
    if isinstance(value, str) and tp is not str and text_ok:
        text = value.strip()
        if tp is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ParameterError(f"{where} must be a boolean (true/false), got {value!r}")
        try:
            value = int(text) if tp is int else float(text)
        except ValueError:
            raise ParameterError(f"{where} must be {_KIND[tp]}, got {value!r}") from None
    if tp is bool:
        if not isinstance(value, bool):
            raise ParameterError(f"{where} must be a boolean, got {type(value).__name__} {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            if hasattr(value, "__index__") and not isinstance(value, bool):
                return int(value)
            raise ParameterError(f"{where} must be an integer, got {type(value).__name__} {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise ParameterError(f"{where} must be a number, got {type(value).__name__} {value!r}")
        value = float(value)
        if math.isnan(value):
            raise ParameterError(f"{where} must be a number, got NaN")
        return value
    if not isinstance(value, str):
        raise ParameterError(f"{where} must be a string, got {type(value).__name__} {value!r}")
    return value


def _split_list(text: str) -> list[str]:
    """``"1, 2,3"``, ``"[1, 2, 3]"``, ``"(1;2;3)"`` -> ``["1", "2", "3"]`` (empty items dropped)."""
    text = text.strip()
    if len(text) >= 2 and text[0] + text[-1] in ("[]", "()"):
        text = text[1:-1]
    return [item.strip().strip("'\"") for item in re.split(r"[,;]", text) if item.strip()]


def _coerce(method: str, param: Param, value: Any) -> Any:
    where = f"{method}: parameter {param.name!r}"
    if value is None:
        if param.optional:
            return None
        raise ParameterError(f"{where} must be {param.describe()}, got None")
    if isinstance(value, str) and param.optional and value.strip().lower() in {"none", "null"}:
        return None
    if not param.is_list:
        return _coerce_scalar(where, param.type, value)
    tp = param.element_type
    if isinstance(value, str):
        items: Sequence[Any] = _split_list(value)
    elif isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and getattr(value, "ndim", 0) == 1):
        items = list(value.tolist() if hasattr(value, "tolist") else value)
    else:
        raise ParameterError(f"{where} must be {param.describe()} (e.g. 1,2,3 on the command line), got "
                             f"{type(value).__name__} {value!r}")
    if not items:
        raise ParameterError(f"{where} must be {param.describe()} (at least one value), got {value!r}")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_coerce_scalar(f"{where}[{i}]", tp, item))
        except ParameterError as exc:
            raise ParameterError(f"{where} must be {param.describe()}, got {value!r} ({exc})") from None
    return tuple(out)


def _check_scalar(param: Param, value: Any) -> bool:
    """Whether one (coerced) value satisfies the choices, bounds and predicate; the folded choice."""
    if param.low is not None and (value <= param.low if param.low_open else value < param.low):
        return False
    if param.high is not None and (value >= param.high if param.high_open else value > param.high):
        return False
    return param.check is None or bool(param.check.test(value))


def _fold_choice(param: Param, value: Any) -> Any:
    folded = {str(c).lower(): c for c in param.choices or ()}
    return folded.get(str(value).lower(), _NO_CHOICE)


_NO_CHOICE = object()


def check_value(method: str, param: Param, value: Any) -> Any:
    """Coerce ``value`` to the parameter's type and check its range; return the clean value."""
    value = _coerce(method, param, value)
    if value is None:
        return None
    where = f"{method}: parameter {param.name!r}"
    items = value if param.is_list else (value,)
    clean = []
    for item in items:
        if param.choices is not None:
            item = _fold_choice(param, item)
            if item is _NO_CHOICE:
                raise ParameterError(f"{where} must be {param.describe()}, got {value!r}")
        if not _check_scalar(param, item):
            expected = param.describe() if param.is_list or param.check is not None else param.describe_range()
            raise ParameterError(f"{where} must be {expected}, got {value!r}")
        clean.append(item)
    return tuple(clean) if param.is_list else clean[0]


def _did_you_mean(unknown: Iterable[str], names: Iterable[str]) -> str:
    """``"did you mean 'lam'? "`` for the declared names closest to the unknown ones, else ``""``."""
    import difflib

    names = list(names)
    close: list[str] = []
    for word in unknown:
        close += [m for m in difflib.get_close_matches(str(word).lower(), names, n=2, cutoff=0.6) if m not in close]
    return f"did you mean {' or '.join(map(repr, close))}? " if close else ""


def validate_params(method: str, spec: Sequence[Param], values: dict[str, Any]) -> dict[str, Any]:
    """Return the full parameter dict: defaults overridden by ``values``, each checked.

    Raises :class:`ParameterError` naming the method and the valid parameters for unknown keys.
    """
    by_name = {p.name: p for p in spec}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ParameterError(f"{method}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                             f"{_did_you_mean(unknown, by_name)}valid: {', '.join(by_name) or '(none)'}")
    clean = {}
    for p in spec:
        clean[p.name] = check_value(method, p, values[p.name]) if p.name in values else p.default
    return clean


def parse_param_strings(method: str, spec: Sequence[Param], items: Iterable[str]) -> dict[str, Any]:
    """Parse CLI ``key=value`` strings against ``spec`` (types coerced, ranges checked)."""
    by_name = {p.name: p for p in spec}
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"{method}: --param expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if key not in by_name:
            raise ParameterError(f"{method}: unknown parameter {key!r}; {_did_you_mean([key], by_name)}"
                                 f"valid: {', '.join(by_name) or '(none)'}")
        out[key] = check_value(method, by_name[key], value)
    return out


def format_value(param: Param, value: Any) -> str:
    """``value`` written as the CLI's ``--param key=VALUE`` text (parsed back by
    :func:`parse_param_strings`)."""
    if value is None:
        return "none"
    if param.is_list:
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------- signature and docstring
_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n(?P<rule>-{3,})$", re.MULTILINE)
#: numpydoc sections that come after "Parameters".
_AFTER_PARAMETERS = ("Attributes", "Returns", "Yields", "Receives", "Other Parameters", "Raises", "Warns",
                     "Warnings", "See Also", "Notes", "References", "Examples", "Example", "Methods")


def signature_of(spec: Sequence[Param]) -> inspect.Signature:
    """The keyword-only constructor signature declared by ``spec`` (``inspect.signature(cls)``)."""
    return inspect.Signature([inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default,
                                                annotation=p.annotation) for p in spec],
                             return_annotation=inspect.Signature.empty)


def parameter_entry(p: Param) -> str:
    """One numpydoc entry: ``name : type, default X`` and the indented doc with the allowed values."""
    if p.choices is not None and not p.is_list:
        kind = "{" + ", ".join(repr(c) for c in p.choices) + "}"
    else:
        kind = p.type_name
    if p.optional:
        kind += " or None"
    default = list(p.default) if p.is_list and p.default is not None else p.default
    doc = p.doc.rstrip(".") + "."
    allowed = p.describe_range() if p.choices is None or p.is_list else ""
    if allowed:
        doc += f" Allowed: {allowed}{' (each value)' if p.is_list else ''}."
    return f"{p.name} : {kind}, default {default!r}\n    {doc}"


def parameters_section(spec: Sequence[Param]) -> str:
    """The numpydoc *Parameters* section generated from ``spec``."""
    return "Parameters\n----------\n" + "\n".join(parameter_entry(p) for p in spec)


def documented_names(doc: str) -> list[str] | None:
    """The parameter names of the numpydoc *Parameters* section of ``doc`` (``None``: no section);
    an entry ``a, b : float`` documents ``a`` and ``b``."""
    text = inspect.cleandoc(doc or "")
    m = next((m for m in _SECTION.finditer(text) if m.group("title") == "Parameters"), None)
    if m is None:
        return None
    body = text[m.end():]
    nxt = _SECTION.search(body)
    body = body[:nxt.start()] if nxt else body
    names: list[str] = []
    for line in body.splitlines():
        if line and not line[0].isspace():
            head = line.split(" : ", 1)[0].strip()
            names += [n.strip().lstrip("*") for n in head.split(",") if n.strip()]
    return names


def with_parameters_section(doc: str | None, spec: Sequence[Param]) -> str | None:
    """``doc`` with the *Parameters* of ``spec`` (the rule of :class:`Configurable`): a hand-written
    section is kept and the parameters it does not name are appended to it; otherwise the
    generated section is inserted before the first later numpydoc section (Notes, References,
    Examples...) or at the end."""
    if doc is None or not spec:
        return doc
    text = inspect.cleandoc(doc)
    names = documented_names(text)
    if names is not None:
        missing = [p for p in spec if p.name not in names]
        if not missing:
            return text
        m = next(m for m in _SECTION.finditer(text) if m.group("title") == "Parameters")
        nxt = _SECTION.search(text, m.end())
        end = nxt.start() if nxt else len(text)
        head, tail = text[:end].rstrip("\n"), text[end:]
        extra = "\n".join(parameter_entry(p) for p in missing)
        return f"{head}\n{extra}\n\n{tail}" if tail else f"{head}\n{extra}\n"
    section = parameters_section(spec)
    later = next((m for m in _SECTION.finditer(text) if m.group("title") in _AFTER_PARAMETERS), None)
    if later is None:
        return f"{text.rstrip()}\n\n{section}\n"
    return f"{text[:later.start()].rstrip()}\n\n{section}\n\n{text[later.start():]}"


class Configurable:
    """Base of everything with declared hyperparameters (methods, simulation recipes).

    Subclasses set ``name``, ``params`` (a tuple of :class:`Param`) and ``reference``. The
    constructor validates keyword arguments against ``params``; ``self.config`` holds the full
    parameter dict and each parameter is also an attribute.

    The declaration is also the class's public face: ``inspect.signature(cls)`` lists the
    parameters as keyword arguments with their defaults, and the class docstring gets a numpydoc
    *Parameters* section generated from ``params`` (a hand-written section is kept as written,
    parameters it does not name are appended to it). Both are (re)built when the class is created;
    a class that assigns ``params`` after its creation calls :meth:`declare` again.
    """

    name: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.declare()

    @classmethod
    def declare(cls) -> None:
        """Build ``__signature__`` and the docstring's *Parameters* from ``params`` (idempotent)."""
        own = cls.__dict__
        raw = own.get("_raw_doc", own.get("__doc__"))
        cls._raw_doc = raw
        cls.__signature__ = signature_of(cls.params)
        cls.__doc__ = with_parameters_section(raw, cls.params)

    def __init__(self, **kwargs: Any) -> None:
        self.config = validate_params(self.name or type(self).__name__, self.params, kwargs)
        for key, value in self.config.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def summary(cls) -> str:
        """First line of the class docstring."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
