"""The method registry: methods by (task, case-insensitive name), plus third-party plugins.

Built-in methods register with the :func:`register` decorator when their module is imported
(:func:`_import_builtins` imports every module under ``hysupp.unmixing`` and ``hysupp.fusion``). Third-party packages expose an entry point in the group
``hysupp.methods`` whose target is a module (imported, so its decorators run), a method class, or
a callable returning method classes.

Example
-------
>>> from hysupp.methods.registry import get_method, available
>>> get_method("fcls").name
'FCLS'
>>> "VCA" in [m.name for m in available("extractor")]
True
"""

from __future__ import annotations

import importlib
import inspect
import logging
from importlib.metadata import entry_points
from typing import Iterable, TypeVar

from hysupp.errors import UnknownMethodError
from hysupp.methods.base import Method

TASKS = ("extractor", "supervised", "semi-supervised", "blind", "pansharpening", "hs-ms-fusion",
         "super-resolution")
ENTRY_POINT_GROUP = "hysupp.methods"

# Packages holding built-in methods: every module below them is imported, which registers the
# methods (their modules import heavy dependencies such as torch lazily, inside the methods).
_BUILTIN_PACKAGES = ("hysupp.unmixing", "hysupp.fusion")

_REGISTRY: dict[tuple[str, str], type[Method]] = {}
_PLUGIN_ERRORS: dict[str, str] = {}
_loaded = False
log = logging.getLogger(__name__)

M = TypeVar("M", bound=type[Method])


def register(cls: M) -> M:
    """Class decorator: add a method class to the registry under ``(cls.task, cls.name)``."""
    if not (inspect.isclass(cls) and issubclass(cls, Method)):
        raise TypeError(f"register() expects a hysupp Method subclass, got {cls!r}")
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} must set a non-empty class attribute 'name'")
    if cls.task not in TASKS:
        raise TypeError(f"{cls.__qualname__}.task = {cls.task!r}; expected one of {', '.join(TASKS)}")
    cls.declare()  # params may have been assigned after the class was created (e.g. by a base's hook)
    key = (cls.task, cls.name.lower())
    existing = _REGISTRY.get(key)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"a {cls.task} method named {cls.name!r} is already registered "
                        f"({existing.__module__}.{existing.__qualname__})")
    _REGISTRY[key] = cls
    return cls


def _import_builtins() -> None:
    import pkgutil

    for package_name in _BUILTIN_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError as exc:
            if exc.name == package_name:
                continue
            raise
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(info.name)


def _load_plugins() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = ep.load()
            if inspect.isclass(target) and issubclass(target, Method):
                register(target)
            elif inspect.isfunction(target):
                result = target()
                for cls in result if isinstance(result, Iterable) else ():
                    register(cls)
            # a module: importing it ran its @register decorators
        except Exception as exc:  # a broken plugin must not break the toolbox
            _PLUGIN_ERRORS[ep.name] = f"{type(exc).__name__}: {exc}"
            log.warning("hysupp: plugin %r (%s) failed to load: %s", ep.name, ep.value, exc)


def ensure_loaded() -> None:
    """Import built-in methods and entry-point plugins (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    _import_builtins()
    _load_plugins()


def plugin_errors() -> dict[str, str]:
    """Entry points that failed to load, with the error."""
    ensure_loaded()
    return dict(_PLUGIN_ERRORS)


def available(task: str | None = None) -> list[type[Method]]:
    """Registered method classes, sorted by task then name; optionally one task only."""
    ensure_loaded()
    if task is not None and task not in TASKS:
        close = close_matches(task, TASKS)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UnknownMethodError(f"unknown task {task!r}; {hint}tasks: {', '.join(TASKS)}")
    items = [cls for (t, _), cls in _REGISTRY.items() if task is None or t == task]
    return sorted(items, key=lambda c: (TASKS.index(c.task), c.name.lower()))


def close_matches(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The names in ``choices`` closest to ``word`` (case-insensitive, :mod:`difflib`), best first."""
    import difflib

    lowered: dict[str, str] = {}
    for c in choices:
        lowered.setdefault(c.lower(), c)
    return [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)]


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _suggestion(name: str, classes: list[type[Method]], where: str) -> str:
    """``did you mean X or Y?`` and where to see the names (listed when they are few)."""
    close = close_matches(name, [c.name for c in classes])
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    if len(classes) <= 12:
        return hint + f"{where}: {', '.join(c.name for c in classes) or '(none)'}"
    return hint + f"`hysupp list` shows all {len(classes)} {where}"


def get_method(name: str, task: str | None = None) -> type[Method]:
    """The method class registered as ``name`` (case-insensitive), optionally within ``task``.

    Raises :class:`UnknownMethodError` with the closest names (*did you mean ...?*), or the tasks
    to choose from when the name exists under several tasks.

    >>> get_method("FLCS")
    Traceback (most recent call last):
    ...
    hysupp.errors.UnknownMethodError: unknown method 'FLCS'; did you mean FCLS? `hysupp list` shows all ... methods
    """
    ensure_loaded()
    if not isinstance(name, str):
        raise UnknownMethodError(f"a method is given by its name (a string), got {type(name).__name__} {name!r}")
    key = name.lower()
    if task is not None:
        if task not in TASKS:
            close = close_matches(task, TASKS)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            raise UnknownMethodError(f"unknown task {task!r}; {hint}tasks: {', '.join(TASKS)}")
        cls = _REGISTRY.get((task, key))
        if cls is None:
            elsewhere = [c for (t, n), c in _REGISTRY.items() if n == key]
            if elsewhere:
                names = ", ".join(c.name for c in available(task)) or "(none)"
                other = elsewhere[0].task
                raise UnknownMethodError(f"{elsewhere[0].name} is {_a(other)} {other} method, not {_a(task)} {task} one; "
                                         f"{task} methods: {names}")
            raise UnknownMethodError(f"no {task} method named {name!r}; "
                                     + _suggestion(name, available(task), f"{task} methods"))
        return cls
    matches = [cls for (t, n), cls in _REGISTRY.items() if n == key]
    if not matches:
        raise UnknownMethodError(f"unknown method {name!r}; " + _suggestion(name, available(), "methods"))
    if len(matches) > 1:
        tasks = ", ".join(c.task for c in matches)
        raise UnknownMethodError(f"method name {name!r} exists under several tasks ({tasks}); pass task=")
    return matches[0]
