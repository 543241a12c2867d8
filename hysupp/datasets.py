"""Data that ships inside the package (see ``hysupp/data/NOTICE.md``) and named built-in scenes.

Example
-------
>>> from hysupp.datasets import usgs_library, builtin_scene
>>> lib = usgs_library()
>>> lib.library.shape
(224, 498)
>>> builtin_scene("dc1").shape
(224, 75, 75)
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import as_file, files
from typing import Callable

from hysupp.errors import InputError
from hysupp.scene import Scene

USGS_1995_RESOURCE = "data/usgs/USGS_1995_Library.mat"


@lru_cache(maxsize=1)
def _usgs_library_cached() -> Scene:
    from hysupp.io.matlab import read_usgs_splib

    with as_file(files("hysupp").joinpath(USGS_1995_RESOURCE)) as path:
        scene = read_usgs_splib(path)
    scene.name = "USGS_1995_Library"
    return scene


def usgs_library() -> Scene:
    """The bundled USGS 1995 library (224 AVIRIS channels, sorted by wavelength, in nm).

    Returns a ``Scene`` with ``cube=None``, ``library`` (224, 498), ``library_names`` and
    ``wavelengths``. The arrays are shared between calls: copy before modifying them.
    """
    return _usgs_library_cached()


def _dc1() -> Scene:
    from hysupp.simulate.dc import dc1_scene

    return dc1_scene()


BUILTIN_SCENES: dict[str, Callable[[], Scene]] = {
    "dc1": _dc1,
}


def builtin_scene(name: str) -> Scene:
    """A named scene generated in code from shipped data (``"dc1"``: the DC1-style scene)."""
    try:
        factory = BUILTIN_SCENES[name.lower()]
    except KeyError:
        raise InputError(f"unknown built-in scene {name!r}; available: {', '.join(BUILTIN_SCENES)}") from None
    return factory()
