"""Typed, documented, validated hyperparameters (DESIGN §3).

A method declares its hyperparameters once, as a tuple of :class:`Param`; the constructor, the CLI's
``--param key=value`` parsing, ``hysupp list METHOD`` and the docs all read that declaration.

Example
-------
>>> from hysupp.methods.params import Param, validate_params, parse_param_strings
>>> spec = (Param("max_iter", int, 100, "iteration cap", low=1),
...         Param("tol", float, 1e-6, "stopping tolerance", low=0.0))
>>> validate_params("Demo", spec, {"tol": 1e-3})
{'max_iter': 100, 'tol': 0.001}
>>> parse_param_strings("Demo", spec, ["max_iter=5"])
{'max_iter': 5}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Sequence

from hysupp.errors import ParameterError

_TRUE = {"1", "true", "yes", "on"}
_KIND = {int: "an integer", float: "a number", bool: "a boolean", str: "a string"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Param:
    """One hyperparameter: name, type, reference default and a one-line doc.

    Parameters
    ----------
    name : str
        Keyword name (Python identifier).
    type : type
        ``int``, ``float``, ``bool`` or ``str``.
    default : Any
        The reference implementation's default (``None`` allowed when ``optional``).
    doc : str
        One line shown by ``hysupp list METHOD``.
    low, high : float, optional
        Inclusive bounds for numbers.
    choices : tuple, optional
        Allowed values.
    optional : bool
        Whether ``None`` is accepted.
    """

    name: str
    type: type
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    optional: bool = False

    def describe_range(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        parts = []
        if self.low is not None:
            parts.append(f">= {self.low}")
        if self.high is not None:
            parts.append(f"<= {self.high}")
        return " and ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.__name__, "default": self.default, "doc": self.doc,
                "low": self.low, "high": self.high,
                "choices": None if self.choices is None else list(self.choices), "optional": self.optional}


def _coerce(method: str, param: Param, value: Any) -> Any:
    where = f"{method}: parameter {param.name!r}"
    if value is None:
        if param.optional:
            return None
        raise ParameterError(f"{where} must be {_KIND.get(param.type, param.type.__name__)}, got None")
    if isinstance(value, str) and param.type is not str:
        text = value.strip()
        if param.optional and text.lower() in {"none", "null"}:
            return None
        if param.type is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ParameterError(f"{where} must be a boolean (true/false), got {value!r}")
        try:
            value = int(text) if param.type is int else float(text)
        except ValueError:
            raise ParameterError(f"{where} must be {_KIND[param.type]}, got {value!r}") from None
    if param.type is bool:
        if not isinstance(value, bool):
            raise ParameterError(f"{where} must be a boolean, got {type(value).__name__} {value!r}")
        return value
    if param.type is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            if hasattr(value, "__index__") and not isinstance(value, bool):
                return int(value)
            raise ParameterError(f"{where} must be an integer, got {type(value).__name__} {value!r}")
        return int(value)
    if param.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise ParameterError(f"{where} must be a number, got {type(value).__name__} {value!r}")
        value = float(value)
        if math.isnan(value):
            raise ParameterError(f"{where} must be a number, got NaN")
        return value
    if param.type is str:
        if not isinstance(value, str):
            raise ParameterError(f"{where} must be a string, got {type(value).__name__} {value!r}")
        return value
    return param.type(value)


def check_value(method: str, param: Param, value: Any) -> Any:
    """Coerce ``value`` to the parameter's type and check its range; return the clean value."""
    value = _coerce(method, param, value)
    if value is None:
        return None
    where = f"{method}: parameter {param.name!r}"
    if param.choices is not None:
        folded = {str(c).lower(): c for c in param.choices}
        key = str(value).lower()
        if key not in folded:
            raise ParameterError(f"{where} must be {param.describe_range()}, got {value!r}")
        value = folded[key]
    if param.low is not None and value < param.low:
        raise ParameterError(f"{where} must be {param.describe_range()}, got {value!r}")
    if param.high is not None and value > param.high:
        raise ParameterError(f"{where} must be {param.describe_range()}, got {value!r}")
    return value


def validate_params(method: str, spec: Sequence[Param], values: dict[str, Any]) -> dict[str, Any]:
    """Return the full parameter dict: defaults overridden by ``values``, each checked.

    Raises :class:`ParameterError` naming the method and the valid parameters for unknown keys.
    """
    by_name = {p.name: p for p in spec}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        valid = ", ".join(by_name) or "(none)"
        raise ParameterError(f"{method}: unknown parameter(s) {', '.join(map(repr, unknown))}; valid: {valid}")
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
            valid = ", ".join(by_name) or "(none)"
            raise ParameterError(f"{method}: unknown parameter {key!r}; valid: {valid}")
        out[key] = check_value(method, by_name[key], value)
    return out


class Configurable:
    """Base of everything with declared hyperparameters (methods, simulation recipes).

    Subclasses set ``name``, ``params`` (a tuple of :class:`Param`) and ``reference``. The
    constructor validates keyword arguments against ``params``; ``self.config`` holds the full
    parameter dict and each parameter is also an attribute.
    """

    name: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    reference: ClassVar[str] = ""

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
