"""Simulation runs (``hysupp simulate RECIPE --out FILE``): :func:`simulate_to_file`.

A recipe's scene (or fusion pair) is written with its protocol:

* ``.mat``/``.npz`` scenes embed the ground truth (endmembers, abundances, library) and the
  protocol; ``.tif`` and ``.npy`` hold the cube only, so the truth goes **beside** the image in
  ``FILE.truth.npz`` (read back with ``hysupp.load(FILE, truth=FILE + ".truth.npz")`` or
  ``hysupp run --data FILE --truth FILE.truth.npz``);
* fusion pairs go to ``.npz``, ``.mat`` or ``.h5`` (:func:`hysupp.simulate.save_fusion_pair`);
* the protocol (recipe, every parameter, operators, seed, version) is always written beside the
  output as ``FILE.protocol.json``.

Every output is checked before anything is generated (an existing file needs ``overwrite``), and
a scene too large for this machine's memory is refused with its size before any allocation
(:func:`check_memory`); a ``MemoryError`` raised anyway becomes a clear :class:`~hysupp.errors.InputError`.

Example
-------
>>> import tempfile, pathlib
>>> import hysupp
>>> out = pathlib.Path(tempfile.mkdtemp()) / "scene.tif"
>>> written = simulate_to_file("dirichlet", out, params={"height": 6, "width": 5})
>>> [p.name for p in written.paths]
['scene.tif', 'scene.tif.truth.npz', 'scene.tif.protocol.json']
>>> hysupp.load(out, truth=written.truth).abundances.shape
(5, 6, 5)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hysupp.errors import InputError
from hysupp.scene import Scene

__all__ = ["CUBE_ONLY_FORMATS", "SimulationOutput", "check_memory", "simulate_to_file", "truth_path"]

#: formats that hold the cube only: the truth is written beside them
CUBE_ONLY_FORMATS = (".tif", ".tiff", ".npy")
#: bands of the recipes built on the USGS library (the size check's default)
DEFAULT_BANDS = 224


@dataclass
class SimulationOutput:
    """What :func:`simulate_to_file` wrote: the ``paths`` (data, truth when separate, protocol), the
    ``truth`` file (None when the data file embeds it), the ``protocol`` and the generated ``result``
    (a Scene or a FusionPair)."""

    recipe: str
    paths: list[Path]
    protocol: dict[str, Any]
    result: Any
    truth: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def truth_path(out: str | os.PathLike) -> Path:
    """Where the ground truth of a cube-only output goes: ``FILE.truth.npz``."""
    return Path(f"{os.fspath(out)}.truth.npz")


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (physical available memory), None if unknown."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(recipe: Any, *, available: int | None = None) -> int | None:
    """Refuse a recipe whose scene cannot fit in memory before generating it: a lower bound of its
    peak memory is two float64 copies of the cube (``bands x height x width``; recipes with
    ``height``/``width`` parameters, 224 bands unless declared) -- the simulation also holds the
    abundances and noise -- compared with the available memory. Returns the bound in bytes (None
    for recipes without a declared size)."""
    config = getattr(recipe, "config", {})
    if "height" not in config or "width" not in config:
        return None
    bands = int(config.get("bands") or DEFAULT_BANDS)
    pixels = int(config["height"]) * int(config["width"])
    need = 2 * 8 * bands * pixels
    available = _available_memory() if available is None else available
    if available is not None and need > available:
        raise InputError(f"simulate {recipe.name}: a {config['height']} x {config['width']} scene of {bands} bands "
                         f"needs at least {need / 2**30:.3g} GiB of memory (two float64 copies of the cube); "
                         f"{available / 2**30:.3g} GiB are available: lower height/width")
    return need


def simulate_to_file(recipe: str, out: str | os.PathLike, *, params: dict[str, Any] | None = None,
                     overwrite: bool = False) -> SimulationOutput:
    """Generate ``recipe`` with ``params`` and write it to ``out`` (see the module docstring)."""
    from hysupp.io.atomic import atomic_output, check_target
    from hysupp.records import to_jsonable
    from hysupp.simulate import get_recipe

    cls = get_recipe(recipe)
    obj = cls(**(params or {}))
    out = Path(out)
    suffix = out.suffix.lower()
    protocol_path = Path(f"{os.fspath(out)}.protocol.json")
    truth = truth_path(out) if suffix in CUBE_ONLY_FORMATS else None
    for path in (out, protocol_path, truth):     # every output checked before anything is generated
        if path is not None:
            check_target(path, overwrite)
    check_memory(obj)
    try:
        result = obj.generate()
    except MemoryError as exc:
        raise InputError(f"simulate {cls.name}: not enough memory to generate the scene ({exc}); lower its size "
                         f"parameters") from None
    paths = [out]
    if isinstance(result, Scene):
        from hysupp.io import save

        protocol = result.extras.get("protocol", {})
        save(result, out, overwrite=overwrite)
        if truth is not None:
            if result.endmembers is None and result.abundances is None and result.library is None:
                truth = None
            else:
                save(Scene(cube=None, wavelengths=result.wavelengths, endmembers=result.endmembers,
                           abundances=result.abundances, endmember_names=result.endmember_names,
                           library=result.library, library_names=result.library_names,
                           library_index=result.library_index, name=result.name,
                           extras={"protocol": protocol}), truth, overwrite=overwrite)
                paths.append(truth)
    else:
        from hysupp.io.pair import save_fusion_pair

        protocol, truth = result.protocol, None
        save_fusion_pair(result, out, overwrite=overwrite)
    with atomic_output(protocol_path, overwrite) as tmp:
        Path(tmp).write_text(json.dumps(to_jsonable(protocol), indent=2))
    paths.append(protocol_path)
    return SimulationOutput(recipe=cls.name, paths=paths, protocol=protocol, result=result, truth=truth)
