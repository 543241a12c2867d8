"""The ``progress=`` argument of the runs, written once (issue 20, :mod:`hysupp.progress`).

:func:`reports_progress` decorates a run function that declares ``progress=None`` (and, usually,
``method``): the whole run executes inside :func:`hysupp.progress.reporting_to` (``None`` keeps the
callback in effect -- none by default, so a library call prints nothing, and a run inside a bench
suite reports to the suite's callback; ``False`` silences; ``True`` draws text bars on stderr; a
callable receives :class:`~hysupp.progress.ProgressEvent` s) and inside a
:func:`hysupp.progress.stages` block named after the method. :class:`StageTimer` is the runs'
:class:`~hysupp.records.Timer` that also reports each timed block (``load``, ``extract``,
``unmix``, ``fuse``, ``evaluate``...) as a stage. The loops below the run (iterative solvers,
network training, the full-resolution metrics, tiles) report through their own
:func:`hysupp.progress.tracker`, nested under the stages.

Example
-------
>>> import hysupp
>>> from hysupp.datasets import builtin_scene
>>> events = []
>>> run = hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth", progress=events.append)
>>> [e.info["stage"] for e in events if e.unit == "stage" and not e.done]
['load', 'unmix']
>>> hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth").method   # progress=None: silent
'FCLS'
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hysupp.errors import HysuppError
from hysupp.progress import current_callback, reporting_to, stage, stages
from hysupp.records import Timer

__all__ = ["StageTimer", "reports_progress"]


class StageTimer(Timer):
    """A :class:`~hysupp.records.Timer` whose blocks are also the run's progress stages:
    ``with timer("unmix"):`` times the block and reports stage ``"unmix"``
    (:func:`hysupp.progress.stage`)."""

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        stage(name)
        with super().__call__(name):
            yield


def _label(method: Any, default: str) -> str:
    """The registered name of ``method`` (as given when it is unknown: the run raises its own error)."""
    from hysupp.methods.registry import get_method

    if not isinstance(method, str):
        return str(getattr(method, "name", default))
    try:
        return get_method(method).name
    except HysuppError:
        return method


def reports_progress(fn: Any) -> Any:
    """Decorator of a run function with a ``progress=None`` parameter (module docstring): the run
    inside :func:`~hysupp.progress.reporting_to` ``(progress)`` and a
    :func:`~hysupp.progress.stages` block named after its ``method`` (the function's name when it
    has none)."""
    signature = inspect.signature(fn)
    if "progress" not in signature.parameters:
        raise TypeError(f"{fn.__qualname__} has no 'progress' parameter")
    method_param = signature.parameters.get("method")

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        with reporting_to(bound.arguments.get("progress")):
            if current_callback() is None:      # nobody listens: no label, no stages
                return fn(*args, **kwargs)
            label = fn.__name__
            if method_param is not None:
                label = _label(bound.arguments.get("method", method_param.default), label)
            with stages(label):
                return fn(*args, **kwargs)

    return wrapper
