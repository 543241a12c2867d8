"""Simulation recipes: declared, seeded generators of scenes with ground truth.

A recipe is a :class:`~hysupp.methods.params.Configurable` with ``generate() -> Scene`` (or a
fusion pair). Recipes register by name (case-insensitive); ``hysupp simulate RECIPE --param k=v``
and :func:`simulate` build them from the same declaration. Every generated scene carries its
protocol in ``extras["protocol"]`` (recipe name, all parameters, package version), so a result
can always say what data it was computed on.

Example
-------
>>> from hysupp.simulate import simulate
>>> s = simulate("dirichlet", p=3, height=8, width=8, seed=1)
>>> s.shape[1:], s.abundances.shape, s.extras["protocol"]["recipe"]
((8, 8), (3, 8, 8), 'dirichlet')
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from hysupp.errors import UnknownMethodError
from hysupp.methods.params import Configurable

_RECIPES: dict[str, type["Recipe"]] = {}
_BUILTIN_MODULES = ("hysupp.simulate.unmixing", "hysupp.simulate.fusion")

R = TypeVar("R", bound=type["Recipe"])


class Recipe(Configurable):
    """Base class of simulation recipes: ``generate()`` returns a scene with its protocol."""

    kind: ClassVar[str] = "unmixing"  # or "fusion"

    def generate(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def protocol(self) -> dict[str, Any]:
        """The JSON-serialisable protocol recorded with every generated scene."""
        from hysupp import __version__
        from hysupp.records import to_jsonable

        return {"recipe": self.name, "kind": self.kind, "params": to_jsonable(self.config),
                "reference": self.reference, "hysupp": __version__}


def register_recipe(cls: R) -> R:
    """Class decorator: make a recipe available by its (case-insensitive) name."""
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} must set a non-empty 'name'")
    _RECIPES[cls.name.lower()] = cls
    return cls


def _ensure_loaded() -> None:
    import importlib

    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def available_recipes() -> list[type[Recipe]]:
    """Registered recipes sorted by name."""
    _ensure_loaded()
    return sorted(_RECIPES.values(), key=lambda c: c.name)


def get_recipe(name: str) -> type[Recipe]:
    """The recipe registered as ``name``; the error lists the known recipes."""
    _ensure_loaded()
    try:
        return _RECIPES[name.lower()]
    except KeyError:
        from hysupp.methods.registry import close_matches

        names = [c.name for c in available_recipes()]
        close = close_matches(name, names)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UnknownMethodError(f"unknown simulation recipe {name!r}; {hint}recipes: {', '.join(names)}") from None


def simulate(recipe: str, **params: Any) -> Any:
    """Generate data with a registered recipe: ``simulate("dc1")``, ``simulate("dirichlet", p=4)``."""
    return get_recipe(recipe)(**params).generate()
