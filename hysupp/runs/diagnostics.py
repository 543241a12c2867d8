"""Warnings of a run: recorded in ``run.json`` and shown to the user (DESIGN §6, issue 18).

Library code raises :class:`~hysupp.errors.HysuppWarning` subclasses with :func:`warnings.warn`
(units guessed, layout heuristics, non-convergence, ill-conditioning, degenerate pixels...). A run
wraps its whole computation in :func:`recording_warnings`, which

* catches every warning raised during the run (in any thread: ``warnings`` state is global);
* keeps the :class:`~hysupp.errors.HysuppWarning` ones, and NumPy's floating-point
  :class:`RuntimeWarning` (overflow, invalid value, division by zero), re-labelled with the
  method's name, as ``{"category", "message"}`` entries (de-duplicated, with a ``count`` when a
  message came more than once) for the record's ``warnings`` section (:func:`attach_warnings`);
* re-emits every caught warning when the run ends, through the caller's filters, so a Python
  user sees them as usual (``warnings.simplefilter("error", hysupp.errors.ConvergenceWarning)``
  turns them into errors, ``"ignore"`` hides them) and the CLI prints them on stderr.

:func:`convergence_warning` is the run layer's own check: a method whose ``info`` says
``converged: False`` and that raised no :class:`~hysupp.errors.ConvergenceWarning` itself gets
one, so a run that stopped at its iteration cap always says so.

Example
-------
>>> import warnings
>>> from hysupp.errors import UnitsWarning
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")       # the caller's filter applies to the re-emitted warnings
...     with recording_warnings("Demo") as log:
...         warnings.warn("integer image read as reflectance x 10^4", UnitsWarning)
...         warnings.warn("integer image read as reflectance x 10^4", UnitsWarning)
>>> log.entries
[{'category': 'units', 'message': 'integer image read as reflectance x 10^4', 'count': 2}]
>>> category_label(UnitsWarning), category_label(RuntimeWarning)
('units', 'numerical')
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator

from hysupp.errors import ConvergenceWarning, HysuppWarning

__all__ = ["WarningLog", "attach_warnings", "category_label", "convergence_warning", "pending_warnings", "recorded_warnings",
           "recording_warnings"]

#: where re-emitted warnings are de-duplicated (one registry per originating file, as Python does per module)
_REGISTRIES: dict[str, dict[Any, Any]] = {}
#: the logs of the recording blocks in progress, innermost last
_ACTIVE: list["WarningLog"] = []


def category_label(category: type[Warning]) -> str:
    """The short name of a warning class shown to users: ``UnitsWarning`` -> ``"units"``,
    ``DegeneratePixelsWarning`` -> ``"degenerate-pixels"``, NumPy's ``RuntimeWarning`` ->
    ``"numerical"``, :class:`~hysupp.errors.HysuppWarning` itself -> ``"hysupp"``."""
    if issubclass(category, RuntimeWarning) and not issubclass(category, HysuppWarning):
        return "numerical"
    name = category.__name__
    if name == "HysuppWarning":
        return "hysupp"
    name = name[:-len("Warning")] if name.endswith("Warning") and name != "Warning" else name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower() or "warning"


@dataclass
class WarningLog:
    """The warnings kept from one run: ``entries`` (``{"category", "message"[, "count"]}``, in
    the order first seen) once the :func:`recording_warnings` block has ended; ``label`` prefixes
    the messages of NumPy ``RuntimeWarning``\\ s (the method's name, set by the run when known)."""

    label: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    caught: list[warnings.WarningMessage] = field(default_factory=list)

    def categories(self) -> set[str]:
        """The categories recorded so far (also inside the block)."""
        return {category_label(w.category) for w in self.caught if _kept(w)} | {e["category"] for e in self.entries}

    def _collect(self) -> None:
        seen = {(e["category"], e["message"]): e for e in self.entries}
        for w in self.caught:
            if not _kept(w):
                continue
            label = category_label(w.category)
            text = str(w.message)
            if label == "numerical" and self.label and not text.startswith(f"{self.label}:"):
                text = f"{self.label}: {text}"
            entry = seen.get((label, text))
            if entry is None:
                entry = {"category": label, "message": text}
                seen[(label, text)] = entry
                self.entries.append(entry)
            else:
                entry["count"] = entry.get("count", 1) + 1


def _kept(w: warnings.WarningMessage) -> bool:
    return issubclass(w.category, HysuppWarning) or issubclass(w.category, RuntimeWarning)


@contextlib.contextmanager
def recording_warnings(label: str | None = None) -> Iterator[WarningLog]:
    """Record the warnings raised in the block into a :class:`WarningLog`, then re-emit them
    through the caller's filters (see the module docstring). Nested blocks each record the
    warnings of their part; the outer block sees the inner block's re-emitted ones."""
    log = WarningLog(label=label)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            log.caught = caught          # the live list: categories() works inside the block
            _ACTIVE.append(log)
            try:
                yield log
            finally:
                _ACTIVE.remove(log)
                log.caught = list(caught)
                log._collect()
    finally:   # re-emitted even when the run failed (e.g. overflow warnings before a DivergenceError)
        _reemit(log)


def _reemit(log: WarningLog) -> None:
    for w in log.caught:
        registry = _REGISTRIES.setdefault(w.filename or "<unknown>", {})
        message: Any = w.message
        if (issubclass(w.category, RuntimeWarning) and not issubclass(w.category, HysuppWarning)
                and log.label and not str(message).startswith(f"{log.label}:")):
            message = w.category(f"{log.label}: {message}")
        warnings.warn_explicit(message, w.category, w.filename or "<unknown>", w.lineno or 0, registry=registry)


def pending_warnings() -> list[dict[str, Any]]:
    """The entries the innermost :func:`recording_warnings` block in progress has kept so far (for
    a record written before the block ends, e.g. a checkpoint)."""
    if not _ACTIVE:
        return []
    partial = WarningLog(label=_ACTIVE[-1].label, caught=list(_ACTIVE[-1].caught))
    partial._collect()
    return partial.entries


def convergence_warning(method: str, info: dict[str, Any] | None, log: WarningLog | None = None) -> bool:
    """Warn (:class:`~hysupp.errors.ConvergenceWarning`) when ``info["converged"]`` is False and
    the method did not warn itself (no convergence warning in ``log``, default the innermost
    :func:`recording_warnings` block in progress); returns whether it warned."""
    if not isinstance(info, dict) or info.get("converged") is not False:
        return False
    log = log if log is not None else (_ACTIVE[-1] if _ACTIVE else None)
    if log is not None and "convergence" in log.categories():
        return False
    iterations = info.get("iterations")
    done = f" after {iterations} iterations" if isinstance(iterations, int) else ""
    warnings.warn(f"{method} stopped{done} without meeting its convergence tolerance (info['converged'] is "
                  f"False); raise its iteration cap or check the input scaling", ConvergenceWarning, stacklevel=2)
    return True


def attach_warnings(record: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``record`` with its ``warnings`` section (``entries``) placed before ``environment``."""
    env = record.pop("environment", None)
    record["warnings"] = list(entries)
    if env is not None:
        record["environment"] = env
    return record


def _method_label(method: Any) -> str | None:
    from hysupp.errors import HysuppError
    from hysupp.methods.registry import get_method

    if not isinstance(method, str):
        return None
    try:
        return get_method(method).name
    except HysuppError:
        return method


def recorded_warnings(fn: Any) -> Any:
    """Decorator of a run function (with a ``method`` argument, returning an object with ``record``
    and ``info``): the run inside :func:`recording_warnings` labelled with the method's name, the
    :func:`convergence_warning` check of ``run.info``, and the ``warnings`` section added to
    ``run.record``."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        method = bound.arguments.get("method", signature.parameters["method"].default)
        label = _method_label(method)
        with recording_warnings(label) as log:
            run = fn(*args, **kwargs)
            convergence_warning(label or str(method), getattr(run, "info", None), log)
        record = getattr(run, "record", None)
        if isinstance(record, dict):
            attach_warnings(record, log.entries)
        return run

    return wrapper
