"""The inputs of a run, resolved once for every kind of run.

* Scenes (:func:`as_scene`): a path (:func:`hysupp.load`), a :class:`~hysupp.scene.Scene`, an
  array ``(L, H, W)`` or an ``xarray.DataArray``, with optional separate truth and a scale factor.
* Libraries (:func:`attach_library`): a name (``"usgs1995"``), a file, a Scene or an array,
  matched to the image's bands by wavelength; :func:`as_reflectance` reads integer images as
  reflectance x 10^4 next to a reflectance library.
* Endmembers (:func:`resolve_endmembers`): ``"truth"``, ``"library"``, an array or a file.
* The number of endmembers (:func:`resolve_p`): given, from the truth, or estimated
  (:data:`P_ESTIMATORS`).
* Methods (:func:`instantiate`): a registered class with its parameters and the run's seed.
* Fusion pairs (:func:`resolve_pair`): one MS+PAN file, separate MS and PAN, or a saved
  :class:`~hysupp.simulate.FusionPair`, built into the pair of the protocol (Wald reduced
  resolution, full resolution, or the pair's own reference); :func:`pair_physics` gives the SRF
  and PSF an HS-MS pair records.

Example
-------
>>> import numpy as np
>>> from hysupp.datasets import builtin_scene
>>> scene = builtin_scene("dc1")
>>> E, names, source = resolve_endmembers(scene, "truth")
>>> E.shape, source, resolve_p(scene, None)
((224, 5), 'truth', 5)
>>> pair = resolve_pair(ms=np.ones((4, 8, 8)), pan=np.ones((32, 32)), ratio=4, protocol="fr")
>>> pair.protocol, pair.pair.ratio, pair.pair.high.shape
('fr', 4, (1, 32, 32))
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError, ParameterError, UnitsWarning
from hysupp.methods.base import Method
from hysupp.scene import Scene

__all__ = ["FUSION_PROTOCOLS", "INTEGER_REFLECTANCE_MIN", "PAN_DEGRADATIONS", "P_ESTIMATORS", "SEED_MAX", "PairInput",
           "as_reflectance", "as_scene", "atoms_of", "attach_library", "check_file_name", "check_protocol",
           "check_seed", "hs_ms_full_resolution_pair", "instantiate", "pair_physics", "read_high_image",
           "read_pair", "resolve_endmembers", "resolve_p", "resolve_pair", "unreadable"]

#: ``p`` values that estimate the number of endmembers from the data (``"auto"`` = HySime)
P_ESTIMATORS = {"auto": "hysime", "hysime": "hysime", "hfc": "hfc", "nwhfc": "nwhfc"}
#: integer images whose values exceed this are read as reflectance x 10^4 next to a reflectance library
INTEGER_REFLECTANCE_MIN = 100.0
#: protocols a fusion run can be asked for (a pair with a reference is scored against it: ``"reference"``)
FUSION_PROTOCOLS = ("rr", "fr")
#: PAN degradations of the reduced-resolution protocol (:func:`hysupp.simulate.wald_pansharpening_pair`)
PAN_DEGRADATIONS = ("bicubic", "mtf")


def check_file_name(path: str | os.PathLike) -> None:
    """Refuse a file name that is not valid UTF-8 (bytes that ``os.fsdecode`` kept as surrogates):
    GDAL/rasterio, which read GeoTIFF and ENVI files, need UTF-8 names."""
    from hysupp.io import check_utf8_name

    check_utf8_name(path)


def _load(path: Any, **kwargs: Any) -> Scene:
    """:func:`hysupp.load`, with a clear error for a name that is not UTF-8 and for an object it
    cannot read (e.g. a SPy image when no reader takes it)."""
    from hysupp.io import load

    try:
        return load(path, **kwargs)
    except UnicodeEncodeError:   # a non-UTF-8 name that the reader's library could not pass on
        check_file_name(path)
        raise
    except TypeError as exc:
        if isinstance(path, (str, bytes, os.PathLike)):
            raise
        raise InputError(unreadable(path)) from exc


def unreadable(obj: Any, what: str = "data") -> str:
    """The message for an input object a run cannot read (what it accepts, and for SPy images how
    to pass them)."""
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    hint = ""
    if type(obj).__module__.split(".")[0] == "spectral":
        hint = ("; for a SPy image pass the path of its file (ENVI .hdr), or its array as (L, H, W): "
                "np.asarray(img.load()).transpose(2, 0, 1)")
    return (f"{what}: cannot read a {kind} object; pass a file path, a Scene, a NumPy array (L, H, W) or an "
            f"xarray.DataArray (band, y, x){hint}")


# ---------------------------------------------------------------------------------------------- scenes
def as_scene(data: Any, key: str | None = None, truth: str | os.PathLike | None = None,
             scale: float | None = None) -> Scene:
    """A Scene from a path (read with ``key``, ``truth``, ``scale``), a Scene, an array ``(L, H, W)``
    or a ``(band, y, x)`` DataArray (with ``scale`` applied and ``truth`` merged)."""
    from hysupp.io.xarray import is_dataarray, scene_from_dataarray

    if is_dataarray(data):
        data = scene_from_dataarray(data)
    if type(data).__module__.split(".")[0] == "spectral":   # SPy images (ImageArray is an (H, W, L) ndarray)
        return _load(data, key=key, truth=truth, scale=scale)
    if isinstance(data, (Scene, np.ndarray)):
        if isinstance(data, np.ndarray):
            if data.ndim != 3:
                raise InputError(f"image array must be a cube (L, H, W), got shape {data.shape}")
            data = Scene(cube=data)
        if scale is not None:
            data = replace(data, cube=(data.require_cube() * scale).astype(data.cube.dtype),
                           notes=data.notes + [f"cube multiplied by scale {scale:g}"])
        return data if truth is None else data.with_truth(_load(truth))
    return _load(data, key=key, truth=truth, scale=scale)


def attach_library(scene: Scene, library: str | os.PathLike | Scene | np.ndarray) -> Scene:
    """``scene`` with ``library`` (a name such as ``"usgs1995"``, a file, a Scene or an array on the
    image's bands) matched to its bands by wavelength (:func:`hysupp.libraries.library_for_scene`)."""
    from hysupp.datasets import LIBRARIES, library_key, named_library
    from hysupp.libraries import library_for_scene

    if isinstance(library, Scene):
        source = library
    elif isinstance(library, np.ndarray):
        if library.ndim != 2:
            raise InputError(f"library array must be 2-D (L bands, M atoms), got shape {library.shape}")
        same = scene.wavelengths is not None and library.shape[0] == scene.n_bands
        source = Scene(library=library, wavelengths=scene.wavelengths if same else None, name="library array")
    elif isinstance(library, str) and library_key(library) in LIBRARIES:
        source = named_library(library)
    else:
        source = _load(library)
    if source.library is None:
        raise InputError(f"library {os.fspath(library) if not isinstance(library, Scene) else library.name!r} "
                         f"holds no spectral library (layout {source.layout!r})")
    matched = library_for_scene(source, scene)
    notes = scene.notes + [f"library {source.name!r} ({source.library.shape[1]} atoms) matched to the image's "
                           f"{scene.n_bands} bands"] + matched.notes[len(source.notes):]
    wavelengths = scene.wavelengths
    if wavelengths is None and "band_index" in matched.extras and matched.wavelengths is not None:
        wavelengths = matched.wavelengths   # a declared band subset of the library (see library_for_scene)
    return replace(scene, library=matched.library, library_names=matched.library_names, wavelengths=wavelengths,
                   library_index=atoms_of(scene.endmembers, matched.library), notes=notes)


def as_reflectance(scene: Scene) -> Scene:
    """Integer-valued images (e.g. AVIRIS int16 reflectance x 10^4, stored as integers or as whole
    numbers) unmixed over a reflectance library (values <= 2) are scaled by 1e-4 when no ``scale``
    was given, with a note; other data unchanged."""
    cube, D = scene.cube, scene.library
    if cube is None or D is None or float(np.max(D)) > 2.0:
        return scene
    top = float(np.max(cube))
    if not top > INTEGER_REFLECTANCE_MIN:
        return scene
    if not (np.issubdtype(cube.dtype, np.integer) or np.array_equal(cube, np.round(cube))):
        return scene   # not integer-valued (e.g. radiance): left to the user
    note = (f"integer image (max {top:g}) unmixed over a reflectance library: read as reflectance x 10^4 and "
            f"scaled by 1e-4 (pass scale / --scale to choose another factor)")
    warnings.warn(note, UnitsWarning, stacklevel=2)
    return replace(scene, cube=(cube * np.float32(1e-4)).astype(np.float32), notes=scene.notes + [note])


def atoms_of(endmembers: np.ndarray | None, library: np.ndarray, max_angle_deg: float = 0.01) -> np.ndarray | None:
    """Library columns equal (spectral angle < ``max_angle_deg``) to each true endmember, or None."""
    from hysupp.metrics import sad_matrix

    if endmembers is None:
        return None
    angles = np.nan_to_num(sad_matrix(endmembers, library), nan=180.0)  # (p, M); NaN: all-zero column
    best = angles.argmin(axis=1)
    return best if (angles[np.arange(best.size), best] < max_angle_deg).all() else None


# ---------------------------------------------------------------------------------------------- endmembers
def resolve_endmembers(scene: Scene, endmembers: Any) -> tuple[np.ndarray, list[str], str]:
    """Known endmembers from ``"truth"``, ``"library"`` (every atom of the scene's library), an
    array ``(L, p)`` or a file; returns (E, names, source)."""
    if isinstance(endmembers, str) and endmembers.lower() == "library":
        if scene.library is None:
            raise InputError(f"--endmembers library: scene {scene.name!r} has no library; pass --library "
                             f"NAME|FILE (e.g. usgs1995)")
        names = scene.library_names or [f"D{k + 1}" for k in range(scene.library.shape[1])]
        return scene.library, list(names), "library"
    if isinstance(endmembers, str) and endmembers.lower() == "truth":
        if scene.endmembers is None:
            raise InputError(f"--endmembers truth: scene {scene.name!r} has no true endmembers "
                             f"(layout {scene.layout!r}); pass --truth FILE or an endmember file")
        names = scene.endmember_names or [f"E{k + 1}" for k in range(scene.endmembers.shape[1])]
        return scene.endmembers, list(names), "truth"
    if isinstance(endmembers, np.ndarray):
        E = endmembers
        names, source = [f"E{k + 1}" for k in range(E.shape[1] if E.ndim == 2 else 0)], "array"
    else:
        src = _load(endmembers)
        E = src.endmembers if src.endmembers is not None else src.library
        if E is None:
            raise InputError(f"endmember file {os.fspath(endmembers)!r} holds no endmembers or library "
                             f"(layout {src.layout!r})")
        names = list(src.endmember_names or src.library_names or [f"E{k + 1}" for k in range(E.shape[1])])
        source = os.fspath(endmembers)
    if E.ndim != 2 or E.shape[0] != scene.n_bands:
        raise InputError(f"endmembers from {source} have shape {E.shape}; expected ({scene.n_bands}, p) "
                         f"to match the image's {scene.n_bands} bands")
    return E, names, source


def resolve_p(scene: Scene, p: int | str | None, Y: np.ndarray | None = None,
              info: dict[str, Any] | None = None) -> int:
    """``p`` as given, estimated from ``Y`` (``"auto"``/``"hysime"``/``"hfc"``/``"nwhfc"``, recorded in
    ``info["p_estimate"]``), or taken from the scene's ground truth."""
    if isinstance(p, str):
        key = p.strip().lower()
        if key.isdigit():
            return int(key)
        if key not in P_ESTIMATORS:
            raise InputError(f"p must be an integer or one of {', '.join(P_ESTIMATORS)}, got {p!r}")
        if Y is None:
            raise InputError("estimating p needs the pixels")
        from hysupp.unmixing.order import estimate_p

        k = int(estimate_p(Y, method=P_ESTIMATORS[key]))
        if info is not None:
            info["p_estimate"] = {"method": P_ESTIMATORS[key], "p": k}
        if k < 2:
            raise InputError(f"{P_ESTIMATORS[key]} estimated p = {k} endmembers (fewer than 2); pass p explicitly")
        return k
    if p is not None:
        if isinstance(p, (bool, np.bool_)) or not float(p).is_integer():
            raise InputError(f"p (number of endmembers) must be a whole number, got {p!r}")
        return int(p)
    for truth in (scene.endmembers, scene.abundances):
        if truth is not None:
            return int(truth.shape[1] if truth is scene.endmembers else truth.shape[0])
    raise InputError(f"scene {scene.name!r} has no ground truth to take the number of endmembers from; "
                     f"pass p (--p N or --p auto)")


#: seeds a run accepts: what numpy's legacy ``RandomState``, ``default_rng`` and ``torch.manual_seed`` all take
SEED_MAX = 2 ** 32 - 1


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """``seed`` as an int in ``0 .. 2**32 - 1`` (None passes): the range every seeded method accepts
    (``numpy.random.RandomState`` stops at ``2**32 - 1``, ``torch.manual_seed`` at ``2**64 - 1`` and
    neither takes negative seeds); else :class:`~hysupp.errors.ParameterError`."""
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer in 0 .. {SEED_MAX} (2**32 - 1), got {seed!r}")
    if not 0 <= int(seed) <= SEED_MAX:
        raise ParameterError(f"{name} must be in 0 .. {SEED_MAX} (2**32 - 1), got {seed}")
    return int(seed)


def instantiate(cls: type[Method], params: dict[str, Any] | None, seed: int | None) -> Method:
    """``cls(**params)``, with the run's ``seed`` when the method declares one and none was given."""
    params = dict(params or {})
    if "seed" in params:
        check_seed(params["seed"], f"{cls.name}: parameter 'seed'")
    if seed is not None and "seed" in {prm.name for prm in cls.params} and "seed" not in params:
        params["seed"] = seed
    return cls(**params)


# ---------------------------------------------------------------------------------------------- fusion pairs
def read_pair(data: Any = None, ms: Any = None, pan: Any = None, key: str | None = None,
              scale: float | None = None, *, pan_key: str | None = None, hs: Any = None) -> tuple[Any, Any]:
    """``(FusionPair, None)`` for a saved fusion pair, else ``(None, inputs)``: the MS Scene (with
    ``extras['pan']`` when one file holds both) or a ``(low, high)`` tuple.

    Separate inputs: ``ms`` + ``pan`` (pansharpening), ``hs`` + ``ms`` (HS-MS fusion: the MS is
    then the high-resolution image) or ``hs`` + ``pan`` (hyperspectral pansharpening). ``key`` names
    the variable of ``data`` or of the low-resolution file, ``pan_key`` that of the high-resolution
    file (:func:`read_high_image`)."""
    from hysupp.io.xarray import is_dataarray, scene_from_dataarray
    from hysupp.simulate import FusionPair, load_fusion_pair

    if hs is not None:
        if ms is not None and pan is not None:
            raise InputError("give hs= with ms= (HS-MS fusion) or with pan= (HS pansharpening), not both")
        ms, pan = hs, (pan if pan is not None else ms)
        if data is not None:
            raise InputError("give either data= or hs= with ms=/pan=")
    ms = scene_from_dataarray(ms) if is_dataarray(ms) else ms
    if is_dataarray(pan):
        pan = scene_from_dataarray(pan if pan.ndim == 3 else pan.expand_dims("band"))
    if isinstance(data, FusionPair):
        return data, None
    if data is not None:
        if ms is not None or pan is not None:
            raise InputError("give either data= (one file with MS and PAN, or a fusion pair) or ms= and pan=")
        path = os.fspath(data)
        suffix = Path(path).suffix.lower()
        if suffix in (".npz", ".h5", ".hdf5"):
            try:
                return load_fusion_pair(path), None
            except InputError:
                pass
        scene = data if isinstance(data, Scene) else _load(path, key=key, scale=scale)
        if scene.layout != "pansharpening-pair" and "pan" not in scene.extras:
            raise InputError(f"{path!r} holds no MS+PAN pair (layout {scene.layout!r}); pass --ms and --pan, or a "
                             f"file with I_MS and I_PAN")
        return None, scene
    if ms is None or pan is None:
        raise InputError("no input: pass data= (a file with MS and PAN) or both ms= and pan= (or hs= with ms=/pan=)")
    for name, x in (("ms", ms), ("pan", pan)):
        spy = type(x).__module__.split(".")[0] == "spectral"
        if x is not None and (spy or not isinstance(x, (str, os.PathLike, Scene, np.ndarray))):
            try:
                loaded = _load(x, scale=scale)   # what the readers take (or a clear error)
            except InputError as exc:
                raise InputError(unreadable(x, name)) from exc
            ms, pan = (loaded, pan) if name == "ms" else (ms, loaded)
    ms_scene = ms if isinstance(ms, Scene) else Scene(cube=ms) if isinstance(ms, np.ndarray) else \
        _load(ms, key=key, scale=scale)
    if isinstance(pan, (str, os.PathLike)):   # an image here, whatever the reader would take it for
        pan = read_high_image(pan, key=pan_key, scale=scale)
    return None, (ms_scene, pan)


def read_high_image(path: str | os.PathLike, key: str | None = None, scale: float | None = None) -> Any:
    """The high-resolution image of a pair (the PAN, or the MS of an HS-MS pair) from a file.

    The run knows this file holds an image: a 2-D matrix (a ``.npy``, or the one 2-D variable of a
    ``.mat``/``.npz`` that the reader would take for a spectral library) is read as a one-band image
    ``(1, H, W)``, with a note; ``key`` names the variable when the file holds several."""
    path = os.fspath(path)
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        if arr.ndim == 2:
            arr = arr[None]
        return Scene(cube=arr * (1.0 if scale is None else scale), name=Path(path).stem, layout="cube",
                     notes=[f"{Path(path).name}: {arr.shape[1]} x {arr.shape[2]} image with {arr.shape[0]} band(s)"])
    from hysupp.errors import LayoutError

    try:
        scene = _load(path, key=key, scale=scale)
    except LayoutError:
        if key is not None or suffix not in (".mat", ".npz"):
            raise
        names = ", ".join(f"{k} {tuple(shp)}" for k, shp in _two_d_variables(path))
        raise InputError(f"{path!r}: several variables could be the high-resolution image ({names}); name it "
                         f"with --pan-key (pan_key=)") from None
    if scene.cube is None and key is None and suffix in (".mat", ".npz"):
        two_d = _two_d_variables(path)
        if scene.library is not None:
            two_d = [k for k, shp in two_d if tuple(shp) in (scene.library.shape, scene.library.shape[::-1])]
        else:
            two_d = [k for k, _ in two_d]
        if len(two_d) != 1:
            raise InputError(f"{path!r} holds no image the run can use as the high-resolution input (read as "
                             f"{scene.layout!r}); name its variable with --pan-key (pan_key=)")
        scene = _load(path, key=two_d[0], scale=scale)
        scene.notes.append(f"the 2-D matrix {two_d[0]!r} is the high-resolution image (PAN) of the pair, not a "
                           f"spectral library")
    if scene.cube is None:
        raise InputError(f"{path!r} holds no image (layout {scene.layout!r}); name its variable with --pan-key "
                         f"(pan_key=)")
    return scene


def _two_d_variables(path: str) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of the numeric 2-D variables of a ``.mat`` or ``.npz`` file."""
    if Path(path).suffix.lower() == ".mat":
        from hysupp.io.matlab import load_mat_variables

        info = load_mat_variables(path)[1]
        return [(v["name"], tuple(v["shape"])) for v in info if len(v["shape"]) == 2 and min(v["shape"]) > 1]
    with np.load(path, allow_pickle=False) as z:
        return [(k, z[k].shape) for k in z.files if z[k].ndim == 2 and min(z[k].shape) > 1]


def check_protocol(protocol: str | None, allowed: tuple[str, ...] = FUSION_PROTOCOLS) -> None:
    """Refuse a protocol name that is not in ``allowed`` (None: the run's default)."""
    if protocol is not None and protocol not in allowed:
        raise InputError(f"protocol must be one of {', '.join(allowed)}, got {protocol!r}")


@dataclass
class PairInput:
    """A fusion run's input: the ``pair`` fused, the ``protocol`` it is scored by (``"rr"``,
    ``"fr"`` or ``"reference"``), the ``sensor`` (MTF table), the ``bit_depth`` of the data when
    known, and the MTF ``gains`` the pair was built with (:class:`hysupp.runs.physics.Gains`, when
    ``gains_for`` was given)."""

    pair: Any
    protocol: str
    sensor: str | None
    bit_depth: int | None = None
    gains: Any = None


def _n_bands(x: Any) -> int:
    if isinstance(x, Scene):
        return x.n_bands
    x = np.asarray(x)
    return 1 if x.ndim == 2 else int(x.shape[0])


def resolve_pair(data: Any = None, ms: Any = None, pan: Any = None, *, key: str | None = None,
                 scale: float | None = None, ratio: int | None = None, sensor: str | None = None,
                 protocol: str | None = None, pan_key: str | None = None, hs: Any = None,
                 pan_degradation: str | None = None, gains_for: Any = None) -> PairInput:
    """The pair a fusion run fuses (:func:`read_pair`, then the protocol's pair).

    MS+PAN inputs become the Wald reduced-resolution pair (``protocol="rr"``,
    :func:`hysupp.simulate.wald_pansharpening_pair`, PAN degraded by ``pan_degradation``: its
    default ``"bicubic"``, the toolbox's protocol, or ``"mtf"``) or the full-resolution pair
    (``"fr"``, the default); ``ratio`` and ``sensor`` default to the file's. ``gains_for(n_bands,
    ratio, sensor, band_names)`` gives the MTF gains (:func:`hysupp.runs.physics.resolve_gains`) the Wald degradation
    uses instead of the sensor's. HS+MS inputs (a high-resolution image with several bands) become
    a full-resolution HS-MS pair. A saved pair is used as it is, scored against its reference when
    it has one (``"reference"``)."""
    from hysupp.simulate.fusion import full_resolution_pair, wald_pansharpening_pair

    check_protocol(protocol)
    if pan_degradation is not None and pan_degradation not in PAN_DEGRADATIONS:
        raise InputError(f"pan_degradation must be one of {', '.join(PAN_DEGRADATIONS)}, got {pan_degradation!r}")
    pair, inputs = read_pair(data, ms, pan, key, scale, pan_key=pan_key, hs=hs)
    gains = None
    if pair is None:
        ms_in, pan_in = inputs if isinstance(inputs, tuple) else (inputs, None)
        extras = ms_in.extras if isinstance(ms_in, Scene) else {}
        sensor = sensor if sensor is not None else extras.get("sensor")
        ratio = ratio if ratio is not None else extras.get("ratio")
        if ratio is None:
            raise InputError("the resolution ratio is unknown: pass ratio= (--ratio)")
        protocol = protocol or "fr"
        high = pan_in if pan_in is not None else extras.get("pan")
        if high is not None and _n_bands(high) > 1:
            if protocol == "rr":
                raise InputError("protocol 'rr' degrades an MS+PAN pair (one-band high-resolution image); for an "
                                 "HS+MS pair use 'fr', or simulate a pair with a reference (hysupp simulate hs-ms)")
            pair = hs_ms_full_resolution_pair(ms_in, high, int(ratio))
        else:
            n = _n_bands(ms_in)
            names = ms_in.extras.get("band_names") if isinstance(ms_in, Scene) else None
            gains = gains_for(n, int(ratio), sensor, names) if gains_for is not None else None
            if protocol == "rr":
                kw = gains.pair_kwargs() if gains is not None else {"sensor": sensor}
                if pan_degradation is not None:
                    kw["pan_degradation"] = pan_degradation
                if gains is not None:
                    gains.warn()
                pair = wald_pansharpening_pair(ms_in, pan_in, int(ratio), **kw)
            else:
                pair = full_resolution_pair(ms_in, pan_in, int(ratio), sensor)
    else:
        sensor = sensor if sensor is not None else pair.protocol.get("sensor")
        if protocol == "rr" and not pair.full_resolution:
            raise InputError("this fusion pair already has a reference: it is scored against it (omit protocol)")
        protocol = "reference" if not pair.full_resolution else "fr"
    bits = pair.low.extras.get("bit_depth") or (inputs.extras.get("bit_depth") if isinstance(inputs, Scene) else None)
    return PairInput(pair=pair, protocol=protocol, sensor=sensor, bit_depth=bits, gains=gains)


def hs_ms_full_resolution_pair(low: Any, high: Any, ratio: int) -> Any:
    """A real HS+MS pair at its native resolution (no reference): the HS ``low`` ``(L, h, w)`` and
    the MS ``high`` ``(C, ratio h, ratio w)`` (Scenes or arrays), kind ``"hs-ms"``."""
    from hysupp.pair import FusionPair, attach_protocol, check_ratio

    r = check_ratio(ratio)
    lo = low if isinstance(low, Scene) else Scene(cube=np.asarray(low), name="hs")
    hi = high if isinstance(high, Scene) else Scene(cube=np.asarray(high), name="ms")
    L, h, w = lo.require_cube().shape
    C, H, W = hi.require_cube().shape
    if (H, W) != (h * r, w * r):
        raise InputError(f"HS/MS size mismatch: the MS is {H} x {W} pixels, ratio {r} x the HS ({h} x {w}) is "
                         f"{h * r} x {w * r}")
    protocol = {"protocol": "full-resolution", "kind": "hs-ms", "ratio": r, "phase": None, "operators": {},
                "chains": {"low": [], "high": []}, "noise": {"low": None, "high": None}, "seed": None,
                "source": {"name": lo.name, "layout": lo.layout}, "crop": None,
                "shapes": {"reference": None, "low": [L, h, w], "high": [C, H, W]}}
    return attach_protocol(FusionPair(None, lo, hi, r, protocol, "hs-ms"))


def pair_physics(pair: Any) -> dict[str, Any]:
    """The ``srf`` ``(C, L)`` and ``psf`` (FWHM) an HS-MS pair's protocol records (a simulated pair),
    as keyword arguments of :meth:`~hysupp.methods.base.HSMSFuser.fuse`; None where it does not (the
    methods estimate them)."""
    srf = pair.protocol.get("operators", {}).get("ms_srf", {}).get("R")
    psf = pair.protocol.get("psf", {}).get("fwhm") if pair.protocol.get("psf") else None
    return {"srf": None if srf is None else np.asarray(srf, dtype=np.float64), "psf": psf}
