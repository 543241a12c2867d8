"""Data that ships inside the package (see ``hysupp/data/NOTICE.md``): named libraries and built-in scenes.

* :func:`usgs_library` -- the bundled USGS 1995 library (read by :mod:`hysupp.io.shipped`, the
  loader that the simulation recipes use too).
* :data:`LIBRARIES` / :func:`named_library` -- the libraries known by name (the ``--library`` option
  of ``hysupp run``): ``usgs1995`` and its 240-atom DC1/DC2 subset ``usgs1995-pruned``
  (:func:`hysupp.simulate.dc.dc_library`), each declaring the AVIRIS band subsets a scene without
  wavelengths may be on (``extras["band_subsets"]``, used by
  :func:`hysupp.libraries.library_for_scene`).
* :data:`BUILTIN_SCENES` / :func:`builtin_scene` -- scenes generated in code from shipped data
  (``"dc1"``).

This module sits above :mod:`hysupp.simulate` (a built-in scene is a recipe's output); the
recipes read the shipped files through :mod:`hysupp.io.shipped`, never through this module.

Example
-------
>>> from hysupp.datasets import usgs_library, builtin_scene, named_library
>>> lib = usgs_library()
>>> lib.library.shape
(224, 498)
>>> builtin_scene("dc1").shape
(224, 75, 75)
>>> named_library("USGS-1995").library.shape, named_library("usgs1995_pruned").library.shape
((224, 498), (224, 240))
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from hysupp.errors import InputError
from hysupp.io.shipped import USGS_1995_RESOURCE, usgs_library
from hysupp.libraries import copy_library
from hysupp.scene import Scene

__all__ = ["AVIRIS_CUPRITE_188", "BUILTIN_SCENES", "LIBRARIES", "USGS_1995_RESOURCE", "builtin_scene",
           "library_key", "named_library", "usgs_library"]


# ------------------------------------------------------------------------------- named libraries
#: The 188 AVIRIS channels (0-based, of 224) kept in the usual Cuprite scene: channels 1-2, 104-113,
#: 148-167 and 221-224 (1-based; water absorption and low SNR) removed, as in the NMF-QMV, HySUPP
#: and NEBEAE Cuprite files (``slctBnds`` of ``groundTruth_Cuprite_nEnd12.mat``).
AVIRIS_CUPRITE_188 = tuple(b - 1 for b in range(1, 225)
                           if not (b <= 2 or 104 <= b <= 113 or 148 <= b <= 167 or b >= 221))
_AVIRIS_SUBSETS = {188: (AVIRIS_CUPRITE_188, "the standard AVIRIS Cuprite selection (channels 1-2, 104-113, "
                                             "148-167, 221-224 of 224 removed)")}


def _usgs1995() -> Scene:
    lib = usgs_library()
    return replace(lib, extras={**lib.extras, "band_subsets": _AVIRIS_SUBSETS})


def _usgs1995_pruned() -> Scene:
    from hysupp.simulate.dc import dc_library

    lib = dc_library()
    lib.extras["band_subsets"] = _AVIRIS_SUBSETS
    return lib


#: Named libraries: name -> (factory, one-line description). Names are matched case-insensitively,
#: ignoring ``-``, ``_``, ``.`` and spaces (:func:`library_key`).
LIBRARIES: dict[str, tuple[Callable[[], Scene], str]] = {
    "usgs1995": (_usgs1995, "USGS splib 1995 at 224 AVIRIS bands (498 atoms, bundled)"),
    "usgs1995pruned": (_usgs1995_pruned, ("USGS 1995 pruned to 4.44 deg and ordered by angle: the "
                                          "240-atom DC1/DC2 library")),
}


def library_key(name: str) -> str:
    """The key of :data:`LIBRARIES` a library name is looked up under (lower case, without ``-``,
    ``_``, ``.`` and spaces).

    >>> library_key("USGS_1995 pruned") in LIBRARIES
    True
    """
    return "".join(ch for ch in str(name).lower() if ch not in "-_. ")


def named_library(name: str) -> Scene:
    """A library shipped with hysupp, by name (the ``--library`` option of the CLI).

    ``"usgs1995"``: the bundled USGS 1995 library (224 x 498, sorted by wavelength, nm);
    ``"usgs1995-pruned"``: its 240-atom DC1/DC2 subset (:func:`hysupp.libraries.prune_library` at
    4.44° with ``order="min_angle"``). Names ignore case, ``-``, ``_``, ``.`` and spaces. The
    arrays are copies: the caller may modify them.

    Raises
    ------
    InputError
        Unknown name (the message lists the available ones).
    """
    try:
        factory, _ = LIBRARIES[library_key(name)]
    except KeyError:
        raise InputError(f"unknown library {name!r}; available: usgs1995, usgs1995-pruned") from None
    return copy_library(factory())


# ------------------------------------------------------------------------------- built-in scenes
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
