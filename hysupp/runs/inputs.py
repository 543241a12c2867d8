"""The inputs of a run, resolved once for every kind of run.

* Scenes (:func:`as_scene`): a path or a registered data set name, a
  :class:`~hysupp.scene.Scene`, a NumPy array (axis order checked, ``layout=`` overrides), an
  ``xarray.DataArray`` or a SPy image, all read by :func:`hysupp.io.load` (the readers' scales,
  units record, nodata mask and notes), with optional separate truth (``truth``, ``truth_key``) and a
  scale factor (:func:`check_scale`: positive and finite).
* Libraries (:func:`attach_library`): a name (``"usgs1995"``), a file (:func:`hysupp.io.load_library`
  with ``key``/``scale``), a Scene or an array, matched to the image's bands by wavelength.
* Units (:func:`harmonise`): the image, the library and the known or true endmembers brought to the
  same units by :func:`hysupp.io.units.harmonise_units` (a :class:`~hysupp.errors.UnitsWarning` and a
  note saying what was multiplied), or an :class:`~hysupp.errors.InputError` naming both ranges.
* Pixels (:func:`screen_pixels`): negative pixels are kept and counted; all-zero and constant
  (flat-spectrum) pixels are excluded from the valid pixels (NaN abundances), with a
  :class:`~hysupp.errors.DegeneratePixelsWarning`.
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
>>> as_scene(np.zeros((20, 8, 224)) + np.linspace(0, 1, 224), layout="HWL").shape
(224, 20, 8)
>>> pair = resolve_pair(ms=np.ones((4, 8, 8)), pan=np.ones((32, 32)), ratio=4, protocol="fr")
>>> pair.protocol, pair.pair.ratio, pair.pair.high.shape
('fr', 4, (1, 32, 32))
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import DegeneratePixelsWarning, InputError, ParameterError, UnitsWarning
from hysupp.methods.base import Method
from hysupp.scene import Scene

__all__ = ["FUSION_PROTOCOLS", "PAN_DEGRADATIONS", "P_ESTIMATORS", "SEED_MAX", "PairInput", "as_scene", "atoms_of",
           "attach_library", "check_file_name", "check_protocol", "check_scale", "check_seed", "check_unmixing_task",
           "degenerate_pixels", "endmembers_keyword", "harmonise", "harmonise_endmembers", "hs_ms_full_resolution_pair", "instantiate",
           "known_endmembers", "pair_physics", "prepare_scene", "read_high_image", "read_pair", "resolve_endmembers", "resolve_p", "resolve_pair", "screen_pixels",
           "units_record", "unreadable"]

#: ``p`` values that estimate the number of endmembers from the data (``"auto"`` = HySime)
P_ESTIMATORS = {"auto": "hysime", "hysime": "hysime", "hfc": "hfc", "nwhfc": "nwhfc"}
#: protocols a fusion run can be asked for (a pair with a reference is scored against it: ``"reference"``)
FUSION_PROTOCOLS = ("rr", "fr")
#: PAN degradations of the reduced-resolution protocol (:func:`hysupp.simulate.wald_pansharpening_pair`)
PAN_DEGRADATIONS = ("bicubic", "mtf")


def check_file_name(path: str | os.PathLike) -> None:
    """Refuse a file name that is not valid UTF-8 (bytes that ``os.fsdecode`` kept as surrogates):
    GDAL/rasterio, which read GeoTIFF and ENVI files, need UTF-8 names."""
    from hysupp.io import check_utf8_name

    check_utf8_name(path)


def check_scale(scale: Any, name: str = "scale") -> float | None:
    """``scale`` as a float (None passes): a positive, finite number, else
    :class:`~hysupp.errors.ParameterError` (a zero, negative or NaN factor would turn the image into
    something that is not reflectance, silently)."""
    if scale is None:
        return None
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a positive number (e.g. 1e-4 for reflectance x 10^4), got {scale!r}")
    s = float(scale)
    if not (math.isfinite(s) and s > 0):
        raise ParameterError(f"{name} must be a positive, finite number (the factor that converts the values, "
                             f"e.g. 1e-4 for reflectance x 10^4), got {scale!r}")
    return s


def _load(path: Any, **kwargs: Any) -> Scene:
    """:func:`hysupp.load`, with a clear error for a name that is not UTF-8 and for an object no
    reader takes."""
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
    """The message for an input object no reader takes (what a run accepts)."""
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    return (f"{what}: cannot read a {kind} object; pass a file path, a Scene, a NumPy array (L, H, W) (layout= "
            f"for another axis order), an xarray.DataArray (band, y, x) or a SPy (spectral) image")


def _float_dtype(data: Any) -> Any:
    """The float type an in-memory input keeps (float64 stays float64), float32 otherwise."""
    arr = data.cube if isinstance(data, Scene) else data if isinstance(data, np.ndarray) else None
    if arr is None and hasattr(data, "dtype") and not isinstance(data, (str, os.PathLike)):
        arr = data
    dt = getattr(arr, "dtype", None)
    return np.float64 if dt is not None and np.dtype(dt) == np.float64 else np.float32


# ---------------------------------------------------------------------------------------------- scenes
def as_scene(data: Any, key: str | None = None, truth: str | os.PathLike | None = None,
             scale: float | None = None, *, layout: str | None = None, truth_key: str | None = None) -> Scene:
    """The Scene a run works on, read by :func:`hysupp.io.load` whatever ``data`` is.

    ``data``: a path or a registered data set name (read with ``key`` and ``layout``), a Scene (a
    copy: the caller's object is never modified), a NumPy array (channels first ``(L, H, W)`` by
    convention, its axis order checked; ``layout="HWL"``... says it), an ``xarray.DataArray`` or a SPy
    image (its wavelengths and FWHM). ``scale`` multiplies the cube (:func:`check_scale`), ``truth``
    (and ``truth_key``, its variable) is a separate ground-truth file. In-memory float64 data stay
    float64, everything else is float32. NaN/Inf pixels are masked (a note), a boolean cube is
    refused."""
    scale = check_scale(scale)
    if isinstance(data, Scene):
        if layout is not None:
            raise InputError("layout= orders the axes of an array or of a file's cube; a Scene is already (L, H, W)")
        if key is not None:
            raise InputError("key= selects a variable of a file; a Scene has none")
        data = replace(data, notes=list(data.notes), extras=dict(data.extras))   # finalize works in place
    return _load(data, key=key, truth=truth, truth_key=truth_key, scale=scale, layout=layout,
                 dtype=_float_dtype(data))


def _scaled_library(source: Scene, scale: float | None) -> Scene:
    if scale is None:
        return source
    upd = {k: (np.asarray(getattr(source, k), dtype=np.float64) * scale).astype(np.float32)
           for k in ("library", "endmembers") if getattr(source, k) is not None}
    units = dict(source.extras.get("units") or {}, declared=f"library_scale={scale:g} given", of="library")
    return replace(source, **upd, notes=[*source.notes, f"library multiplied by library_scale={scale:g}"],
                   extras={**source.extras, "units": units})


def attach_library(scene: Scene, library: str | os.PathLike | Scene | np.ndarray, *, key: str | None = None,
                   scale: float | None = None) -> Scene:
    """``scene`` with ``library`` matched to its bands by wavelength
    (:func:`hysupp.libraries.library_for_scene`).

    ``library``: a name such as ``"usgs1995"``, a file read by :func:`hysupp.io.load_library` (``key``
    names its variable, e.g. a library stored as ``A``), a Scene or an array ``(L, M)`` on the
    image's bands. ``scale`` (``library_scale``) multiplies the spectra; the library is then never
    rescaled by :func:`harmonise`, nor when its file declares its scale. The library's units record
    is kept in ``extras["library_units"]``."""
    from hysupp.datasets import LIBRARIES, library_key, named_library
    from hysupp.libraries import library_for_scene

    scale = check_scale(scale, "library_scale")
    is_file = not isinstance(library, (Scene, np.ndarray)) and not (
        isinstance(library, str) and library_key(library) in LIBRARIES)
    if key is not None and not is_file:
        raise InputError("library_key (--library-key) names a variable of a library file; the library given is "
                         f"{'a named library' if isinstance(library, str) else type(library).__name__}")
    if isinstance(library, Scene):
        source = library
    elif isinstance(library, np.ndarray):
        if library.ndim != 2:
            raise InputError(f"library array must be 2-D (L bands, M atoms), got shape {library.shape}")
        same = scene.wavelengths is not None and library.shape[0] == scene.n_bands
        source = Scene(library=library, wavelengths=scene.wavelengths if same else None, name="library array")
    elif not is_file:
        source = named_library(str(library))
    else:
        from hysupp.io import load_library

        try:
            source = load_library(library, key=key, scale=scale)
        except UnicodeEncodeError:
            check_file_name(library)
            raise
        scale = None   # applied by the reader
    source = _scaled_library(source, scale)
    if source.library is None:
        raise InputError(f"library {os.fspath(library) if not isinstance(library, Scene) else library.name!r} "
                         f"holds no spectral library (layout {source.layout!r})")
    matched = library_for_scene(source, scene)
    notes = scene.notes + [f"library {source.name!r} ({source.library.shape[1]} atoms) matched to the image's "
                           f"{scene.n_bands} bands"] + matched.notes[len(source.notes):]
    wavelengths = scene.wavelengths
    if wavelengths is None and "band_index" in matched.extras and matched.wavelengths is not None:
        wavelengths = matched.wavelengths   # a declared band subset of the library (see library_for_scene)
    units = source.extras.get("units")
    extras = {**scene.extras, "library_name": source.name}
    if isinstance(units, dict):
        extras["library_units"] = {**units, "of": "library"}
    return replace(scene, library=matched.library, library_names=matched.library_names, wavelengths=wavelengths,
                   library_index=atoms_of(scene.endmembers, matched.library), notes=notes, extras=extras)


def prepare_scene(data: Any, *, key: str | None = None, truth: Any = None, truth_key: str | None = None,
                  scale: float | None = None, layout: str | None = None, library: Any = None,
                  library_key: str | None = None, library_scale: float | None = None,
                  truth_required: bool = False) -> Scene:
    """The scene of an unmixing run: :func:`as_scene`, the library attached (:func:`attach_library`)
    and the units harmonised (:func:`harmonise`; ``scale`` / ``library_scale`` fix their side)."""
    scene = as_scene(data, key, truth, scale, layout=layout, truth_key=truth_key)
    library_scale = check_scale(library_scale, "library_scale")
    if library is not None:
        scene = attach_library(scene, library, key=library_key, scale=library_scale)
    elif library_key is not None or library_scale is not None:
        raise InputError("library_key / library_scale (--library-key / --library-scale) apply to a library: pass "
                         "library= (--library) too")
    return harmonise(scene, image_fixed=scale is not None, library_fixed=library_scale is not None,
                     truth_required=truth_required)


def units_record(scene: Scene) -> dict[str, Any] | None:
    """The ``units`` of a run record's input: how the image's values were classified (kind, power of
    ten, the scale the file declared or the user gave) and what :func:`harmonise` multiplied."""
    units = scene.extras.get("units")
    if not isinstance(units, dict) and "units_harmonised" not in scene.extras:
        return None
    out: dict[str, Any] = {}
    if isinstance(units, dict):
        out.update({k: units.get(k) for k in ("kind", "exponent", "declared")})
    if "units_harmonised" in scene.extras:
        out["harmonised"] = scene.extras["units_harmonised"]
    return out


# ---------------------------------------------------------------------------------------------- units
def _image_view(scene: Scene) -> Scene:
    return replace(scene, library=None, endmembers=None, library_names=None, endmember_names=None,
                   abundances=None, library_index=None)


def _record_harmony(scene: Scene, what: str, h: Any) -> Scene:
    if h.note is None:
        return scene
    done = dict(scene.extras.get("units_harmonised") or {})
    done[what] = {"image_factor": h.image_factor, f"{what}_factor": h.library_factor, "note": h.note}
    return replace(scene, extras={**scene.extras, "units_harmonised": done})


def harmonise(scene: Scene, *, image_fixed: bool = False, library_fixed: bool = False,
              truth_required: bool = False) -> Scene:
    """``scene`` with its image, library and true endmembers in the same units
    (:func:`hysupp.io.units.harmonise_units`, which warns and notes what it multiplied).

    First the image and the library (``image_fixed``: the user gave ``scale``; ``library_fixed``:
    ``library_scale`` was given or the library's file declared its scale -- that side is never
    rescaled), then the image and the true endmembers (which follow the image once a library has
    set its units). A mismatch no power of ten reconciles raises :class:`~hysupp.errors.InputError`
    (library, or the true endmembers when the run unmixes with them: ``truth_required``); for true
    endmembers that only score the result it is a :class:`~hysupp.errors.UnitsWarning`. What was
    done is in ``extras["units_harmonised"]`` and the notes."""
    from hysupp.io.units import harmonise_units

    if scene.cube is None:
        return scene
    lib_units = scene.extras.get("library_units") or {}
    if scene.library is not None:
        lib = Scene(library=scene.library, name=scene.extras.get("library_name", "library"),
                    extras={"units": lib_units} if lib_units else {})
        h = harmonise_units(_image_view(scene), lib, image_fixed=image_fixed,
                            library_fixed=library_fixed or bool(lib_units.get("declared")))
        if h.note is not None:
            out = replace(scene, cube=h.image.cube, notes=h.image.notes)
            if h.library_factor != 1.0:
                out = replace(out, library=h.library.library)
            scene = _record_harmony(out, "library", h)
        image_fixed = True   # the library has set the units: the truth follows the image
    if scene.endmembers is not None:
        truth = Scene(endmembers=scene.endmembers, name="true endmembers")
        try:
            h = harmonise_units(_image_view(scene), truth, image_fixed=image_fixed)
        except InputError as exc:
            if truth_required:
                raise
            warnings.warn(f"{exc} (the true endmembers only score this run: their metrics compare values in "
                          f"other units)", UnitsWarning, stacklevel=2)
            return scene
        if h.note is not None:
            out = replace(scene, cube=h.image.cube, notes=h.image.notes)
            if h.library_factor != 1.0:
                out = replace(out, endmembers=h.library.endmembers)
            scene = _record_harmony(out, "endmembers", h)
    return scene


def harmonise_endmembers(scene: Scene, E: np.ndarray, source: str, *, image_fixed: bool = False
                         ) -> tuple[Scene, np.ndarray]:
    """The image and known endmembers ``E`` ``(L, p)`` (from ``source``, a file or an array) in the
    same units (:func:`hysupp.io.units.harmonise_units`; ``image_fixed``: the image keeps its units)."""
    from hysupp.io.units import harmonise_units

    h = harmonise_units(_image_view(scene), Scene(endmembers=np.asarray(E), name=f"endmembers from {source}"),
                        image_fixed=image_fixed)
    if h.note is None:
        return scene, E
    out = _record_harmony(replace(scene, cube=h.image.cube, notes=h.image.notes), "endmembers", h)
    return out, (h.library.endmembers if h.library_factor != 1.0 else E)


# ---------------------------------------------------------------------------------------------- pixels
def degenerate_pixels(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(zero, constant)`` boolean masks over the columns of ``Y`` ``(L, N)``: all-zero pixels, and
    pixels whose spectrum is flat (every band equal, not zero; only for ``L >= 3``)."""
    Y = np.asarray(Y)
    zero = ~np.any(Y, axis=0)
    if Y.shape[0] < 3:
        return zero, np.zeros_like(zero)
    constant = np.all(Y == Y[:1], axis=0) & ~zero
    return zero, constant


def screen_pixels(scene: Scene, *, exclude: bool = True) -> tuple[Scene, np.ndarray, np.ndarray]:
    """The valid pixels of ``scene`` and its degenerate ones, with the warnings.

    Returns ``(scene, valid, degenerate)`` (boolean over the ``H W`` pixels, row-major): ``valid`` is
    the scene's mask less the degenerate pixels when ``exclude`` (a spatial method, which needs the
    whole grid, computes them and gets NaN there); ``scene`` has a note per finding.

    * Negative pixels are kept (noise and atmospheric correction give a few): counted, with a
      :class:`~hysupp.errors.DegeneratePixelsWarning`.
    * All-zero pixels (no abundance vector on the simplex reproduces a zero spectrum: fill values
      such as a swath's border) and constant pixels (the same value in every band: fill or
      saturation values) are degenerate: their abundances are NaN, a
      :class:`~hysupp.errors.DegeneratePixelsWarning` gives the counts.
    """
    Y_full = scene.pixels()
    valid = np.ones(scene.n_pixels, bool) if scene.mask is None else scene.mask.ravel().copy()
    Y = Y_full[:, valid]
    notes = []
    negative = int((Y < 0).any(axis=0).sum()) if Y.size else 0
    if negative:   # kept (noise and atmospheric correction give some), but said
        note = (f"{negative} of {int(valid.sum())} pixels have negative values (min {float(np.min(Y)):g}); "
                f"reflectance is >= 0: check the calibration or scale")
        notes.append(note)
        warnings.warn(note, DegeneratePixelsWarning, stacklevel=3)
    zero, constant = degenerate_pixels(Y)
    degenerate = np.zeros(scene.n_pixels, bool)
    degenerate[np.flatnonzero(valid)[zero | constant]] = True
    n_zero, n_const = int(zero.sum()), int(constant.sum())
    if n_zero or n_const:
        what = " and ".join(x for x in (f"{n_zero} all-zero" if n_zero else "",
                                          f"{n_const} constant (flat-spectrum)" if n_const else "") if x)
        if n_zero + n_const == int(valid.sum()):
            raise InputError(f"scene {scene.name!r}: every pixel is degenerate ({what}): there is no signal to "
                             f"unmix")
        fate = ("excluded from the valid pixels (NaN abundances)" if exclude else
                "unmixed with the others (the method needs the whole grid) and reported as NaN")
        note = (f"{what} pixels of {int(valid.sum())}: no mixture of endmembers fits them (fill, nodata or "
                f"saturated values?); {fate}")
        notes.append(note)
        warnings.warn(note, DegeneratePixelsWarning, stacklevel=3)
        if exclude:
            valid &= ~degenerate
    if notes:
        scene = replace(scene, notes=[*scene.notes, *notes])
    return scene, valid, degenerate


def atoms_of(endmembers: np.ndarray | None, library: np.ndarray, max_angle_deg: float = 0.01) -> np.ndarray | None:
    """Library columns equal (spectral angle < ``max_angle_deg``) to each true endmember, or None."""
    from hysupp.metrics import sad_matrix

    if endmembers is None:
        return None
    angles = np.nan_to_num(sad_matrix(endmembers, library), nan=180.0)  # (p, M); NaN: all-zero column
    best = angles.argmin(axis=1)
    return best if (angles[np.arange(best.size), best] < max_angle_deg).all() else None


# ---------------------------------------------------------------------------------------------- endmembers
def check_unmixing_task(cls: type[Method], endmembers: Any) -> None:
    """An :class:`~hysupp.errors.InputError` unless ``cls`` is an unmixing method or an extractor,
    and unless known ``endmembers`` go with a supervised method."""
    if cls.task not in ("supervised", "extractor", "semi-supervised", "blind"):
        raise InputError(f"{cls.name} is a {cls.task!r} method; hysupp.unmix runs unmixing methods and "
                         f"extractors (see hysupp.fuse for fusion)")
    if cls.task != "supervised" and endmembers is not None:
        raise InputError(f"{cls.name} is a {cls.task} method; --endmembers applies to supervised methods")


def known_endmembers(scene: Scene, cls: type[Method], endmembers: Any, *, scale: float | None
                     ) -> tuple[Scene, tuple[np.ndarray, list[str], str] | None]:
    """The known endmembers of a supervised run (:func:`resolve_endmembers`), those from a file or
    an array brought to the image's units (:func:`harmonise_endmembers`; the image keeps its units
    when ``scale`` was given or it was already harmonised with a library), and the scene that goes
    with them; ``None`` when the run has none."""
    if cls.task != "supervised" or endmembers is None:
        return scene, None
    E, names, source = resolve_endmembers(scene, endmembers)
    if source not in ("truth", "library"):
        scene, E = harmonise_endmembers(scene, E, source,
                                        image_fixed=scale is not None or "units_harmonised" in scene.extras)
    return scene, (E, names, source)


def endmembers_keyword(endmembers: Any) -> str | None:
    """``"truth"`` or ``"library"`` when ``endmembers`` names one of them (any case), else ``None``
    (an array, a file, or no endmembers)."""
    if isinstance(endmembers, str) and endmembers.lower() in ("truth", "library"):
        return endmembers.lower()
    return None


def resolve_endmembers(scene: Scene, endmembers: Any) -> tuple[np.ndarray, list[str], str]:
    """Known endmembers from ``"truth"``, ``"library"`` (every atom of the scene's library), an
    array ``(L, p)`` or a file; returns (E, names, source)."""
    keyword = endmembers_keyword(endmembers)
    if keyword == "library":
        if scene.library is None:
            raise InputError(f"--endmembers library: scene {scene.name!r} has no library; pass --library "
                             f"NAME|FILE (e.g. usgs1995)")
        names = scene.library_names or [f"D{k + 1}" for k in range(scene.library.shape[1])]
        return scene.library, list(names), "library"
    if keyword == "truth":
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

    scale = check_scale(scale)
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
