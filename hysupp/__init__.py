"""hysupp: hyperspectral unmixing and fusion with one data model, shared physics and metrics.

The top-level API is one call per job::

    import hysupp
    scene = hysupp.load("cuprite.mat")                  # -> hysupp.Scene
    result = hysupp.unmix(scene, "FCLS", p=12, extractor="VCA")
    hysupp.save(result.abundance_scene(), "abundances.tif")

and likewise ``hysupp.fuse``, ``hysupp.super_resolve``, ``hysupp.train``, ``hysupp.unmix_tiled``,
``hysupp.fuse_tiled`` (:mod:`hysupp.api`).
"""

from __future__ import annotations

from typing import Any

from hysupp.errors import HysuppError, InputError, LayoutError, ParameterError, UnknownMethodError
from hysupp.scene import Georef, Scene

__version__ = "0.1.0"

__all__ = ["Georef", "HysuppError", "InputError", "LayoutError", "ParameterError", "Scene",
           "UnknownMethodError", "__version__", "fuse", "fuse_tiled", "list_methods", "load", "save", "simulate",
           "super_resolve", "train", "unmix", "unmix_tiled"]

# Heavy entry points are imported on first use so `import hysupp` stays fast; the runs come from
# the public facade hysupp.api.
_LAZY = {
    "load": ("hysupp.io", "load"),
    "save": ("hysupp.io", "save"),
    "unmix": ("hysupp.api", "unmix"),
    "unmix_tiled": ("hysupp.api", "unmix_tiled"),
    "fuse": ("hysupp.api", "fuse"),
    "fuse_tiled": ("hysupp.api", "fuse_tiled"),
    "super_resolve": ("hysupp.api", "super_resolve"),
    "train": ("hysupp.api", "train"),
    "list_methods": ("hysupp.methods.registry", "available"),
    "simulate": ("hysupp.simulate", None),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        value = value if attr is None else getattr(value, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hysupp' has no attribute {name!r}")
