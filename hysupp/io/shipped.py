"""Reading the files shipped inside the package (``hysupp/data``, see ``hysupp/data/NOTICE.md``).

The one loader of package data, below everything that uses it: the simulation recipes (the DC
library, the random-mixture recipes) and :mod:`hysupp.datasets` (named libraries, built-in scenes)
read the bundled USGS library through :func:`usgs_library`, so neither needs the other.

Example
-------
>>> from hysupp.io.shipped import usgs_library
>>> lib = usgs_library()
>>> lib.library.shape, lib.name, lib.layout
((224, 498), 'USGS_1995_Library', 'usgs-splib')
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import as_file, files

from hysupp.io.matlab import read_usgs_splib
from hysupp.scene import Scene

__all__ = ["USGS_1995_RESOURCE", "usgs_library"]

#: The bundled USGS 1995 library, relative to the package.
USGS_1995_RESOURCE = "data/usgs/USGS_1995_Library.mat"


@lru_cache(maxsize=1)
def _usgs_library_cached() -> Scene:
    with as_file(files("hysupp").joinpath(USGS_1995_RESOURCE)) as path:
        scene = read_usgs_splib(path)
    scene.name = "USGS_1995_Library"
    return scene


def usgs_library() -> Scene:
    """The bundled USGS 1995 library (224 AVIRIS channels, sorted by wavelength, in nm).

    Returns a ``Scene`` with ``cube=None``, ``library`` (224, 498), ``library_names`` and
    ``wavelengths``. The arrays are shared between calls: copy before modifying them
    (:func:`hysupp.libraries.copy_library`).
    """
    return _usgs_library_cached()
