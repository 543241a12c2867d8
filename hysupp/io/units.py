"""Units of an image or a library: what the values are, and how an image and a library are made to agree.

Readers apply the scale a file *declares* (GDAL band scale/offset, ENVI ``reflectance scale
factor`` / ``data gain values``, a benchmark file's ``maxValue``) and only *detect* everything else:
:func:`infer_units` classifies the values and the reader records the result in
``Scene.extras["units"]`` and the notes, without rescaling. The decision is taken where an image
meets a library, by :func:`harmonise_units`.

Classification (:func:`infer_units`) uses a robust level, the 99th percentile ``q`` of the valid,
finite values (a sample of at most ``200 000`` values):

- **reflectance** when ``0.012 < q <= 1.2`` (a dark water scene to a bright snow scene);
- **reflectance x 10^k** (``k`` = ``exponent``) when ``q / 10^k`` falls in ``(0.12, 1.2]`` for an
  integer ``|k| >= 2``: ``k = 2`` percent, ``k = 4`` the common int16/float storage (AVIRIS,
  EnMAP, Sentinel-2), ``k <= -2`` tiny values. Integer-valued data in ``(120, 1200]`` are read as
  ``x 10^4`` (a dark scene) rather than ``x 10^3``; both exponents are then reported;
- **radiance** when the values are not in the reflectance window and, with wavelengths covering
  450-650 nm and 2000-2400 nm, the scene's mean spectrum falls to less than 0.12 of its visible
  level in the SWIR (the solar irradiance falls by ~20x there; reflectance spectra of scenes stay
  within a few times their visible level);
- **dn** (digital numbers) when the file declares a bit depth (e.g. a pansharpening pair's ``L``);
- **unknown** otherwise (``1.2 < q <= 12``: no storage convention multiplies reflectance by 10;
  at-sensor radiance in uW/(cm2 sr nm) lies there).

Example
-------
>>> import numpy as np
>>> from hysupp.io.units import infer_units
>>> rng = np.random.default_rng(0)
>>> u = infer_units((rng.random((5, 8, 8)) * 6000).astype(np.int16))
>>> u.kind, u.exponent, u.factor
('scaled-reflectance', 4, 0.0001)
>>> infer_units(rng.random((5, 8, 8)) * 0.6).kind
'reflectance'
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hysupp.errors import InputError, UnitsWarning
from hysupp.io._warn import warn_user

__all__ = ["format_factor", "Units", "UnitsHarmony", "infer_units", "harmonise_units", "units_of", "REFLECTANCE_WINDOW"]

#: robust level (99th percentile) of data read as plain reflectance
REFLECTANCE_WINDOW = (0.012, 1.2)
#: the decade a scaled level is brought into by 10^-k
_DECADE = (0.12, 1.2)
#: the SWIR / visible ratio of the mean spectrum below which data are read as radiance
RADIANCE_SWIR_RATIO = 0.12
_SAMPLE = 200_000


def format_factor(f: float) -> str:
    """A power of ten as ``1e-4`` (the spelling of ``scale=1e-4``), anything else with ``%g``."""
    if f > 0:
        k = round(math.log10(f))
        if abs(10.0 ** k - f) <= 1e-9 * f:
            return "1" if k == 0 else f"1e{k}"
    return f"{f:g}"


@dataclass(frozen=True)
class Units:
    """What the values of an array are.

    Attributes
    ----------
    kind : {"reflectance", "scaled-reflectance", "radiance", "dn", "unknown"}
    exponent : int or None
        ``k`` such that the values are reflectance x 10^k (0 for reflectance); ``None`` when the
        values are not reflectance.
    level : float or None
        The 99th percentile of the valid finite values.
    declared : str or None
        The scale the file declared and the reader applied (e.g. ``"GDAL band scale 0.0001"``).
    evidence : dict
        dtype, integer-valued, 1st/99th percentiles, min/max, fraction of negative values,
        SWIR/visible ratio, alternative exponent: what the decision rests on.
    """

    kind: str
    exponent: int | None
    level: float | None
    declared: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def factor(self) -> float | None:
        """The factor that converts the values to reflectance (``10^-exponent``), or None."""
        return None if self.exponent is None else float(10.0 ** -self.exponent)

    @property
    def is_reflectance_like(self) -> bool:
        return self.exponent is not None

    def describe(self) -> str:
        """One phrase: ``"reflectance x 10^4 (int16, 99th percentile 6190)"``."""
        ev = self.evidence
        what = {"reflectance": "reflectance", "radiance": "radiance (not reflectance)", "dn": "digital numbers",
                "unknown": "neither reflectance nor reflectance x 10^k"}.get(self.kind, self.kind)
        ratio = ev.get("swir_vis_ratio")
        if self.kind == "reflectance" and ratio is not None and ratio < RADIANCE_SWIR_RATIO:
            what = "reflectance (or radiance: the mean spectrum falls in the SWIR like the sun's)"
        if self.kind == "scaled-reflectance":
            what = f"reflectance x 10^{self.exponent}"
            alt = ev.get("alternative_exponent")
            if alt is not None:
                what += f" (or x 10^{alt} for a {'dark' if alt < (self.exponent or 0) else 'bright'} scene)"
        parts = []
        if ev.get("dtype"):
            parts.append(f"{ev['dtype']}{', integer-valued' if ev.get('integer_valued') and 'int' not in ev['dtype'] else ''}")
        if self.level is not None:
            parts.append(f"99th percentile {self.level:.4g}, range {ev.get('min', float('nan')):.4g} .. "
                         f"{ev.get('max', float('nan')):.4g}")
        if ev.get("swir_vis_ratio") is not None:
            parts.append(f"SWIR/visible ratio {ev['swir_vis_ratio']:.3g}")
        if ev.get("bit_depth"):
            parts.append(f"{ev['bit_depth']}-bit")
        if self.declared:
            parts.append(f"declared by the file: {self.declared}")
        return what + (f" ({'; '.join(parts)})" if parts else "")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "exponent": self.exponent, "factor": self.factor, "level": self.level,
                "declared": self.declared, "evidence": dict(self.evidence)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Units":
        return cls(kind=str(d.get("kind", "unknown")), exponent=d.get("exponent"), level=d.get("level"),
                   declared=d.get("declared"), evidence=dict(d.get("evidence") or {}))


def _pixel_index(shape: tuple[int, ...], mask: np.ndarray | None, budget: int) -> np.ndarray | slice:
    """Columns of the ``(L, H*W)`` pixel matrix to look at: the valid pixels, strided to ``budget``."""
    n = int(np.prod(shape[1:]))
    if mask is not None and mask.size == n and not mask.all():
        idx = np.flatnonzero(mask.ravel())
        return idx[:: max(1, int(math.ceil(idx.size / budget)))]
    return slice(None, None, max(1, int(math.ceil(n / budget))))


def _sample(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Valid finite values as a 1-D float64 array (a deterministic strided sample of the large ones)."""
    arr = np.asarray(values)
    if arr.ndim == 3:
        pix = arr.reshape(arr.shape[0], -1)[:, _pixel_index(arr.shape, mask, max(1, _SAMPLE // arr.shape[0]))]
        flat = pix.reshape(-1)
    else:
        flat = arr.reshape(-1)
        if flat.size > _SAMPLE:
            flat = flat[:: int(math.ceil(flat.size / _SAMPLE))]
    flat = flat.astype(np.float64)
    return flat[np.isfinite(flat)]


def _extremes(arr: np.ndarray, mask: np.ndarray | None) -> tuple[float, float]:
    """Exact min and max of the valid finite values (the percentiles use a sample)."""
    if mask is not None and arr.ndim == 3 and mask.shape == arr.shape[1:] and not mask.all():
        arr = arr[:, mask]
    if np.issubdtype(arr.dtype, np.floating):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN
            return float(np.nanmin(arr)), float(np.nanmax(arr))
    return float(arr.min()), float(arr.max())


def _swir_vis_ratio(values: np.ndarray, mask: np.ndarray | None, wavelengths: Any) -> float | None:
    if wavelengths is None or np.ndim(values) != 3:
        return None
    wl = np.asarray(wavelengths, dtype=np.float64).ravel()
    if wl.size != values.shape[0]:
        return None
    vis = (wl >= 450) & (wl <= 650)
    swir = (wl >= 2000) & (wl <= 2400)
    if vis.sum() < 2 or swir.sum() < 2:
        return None
    pix = np.asarray(values).reshape(values.shape[0], -1)[:, _pixel_index(values.shape, mask, 20_000)]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN bands
        mean = np.nanmean(pix.astype(np.float64), axis=1)
        v, s = np.nanmean(mean[vis]), np.nanmean(mean[swir])
    if not (np.isfinite(v) and np.isfinite(s)) or v <= 0:
        return None
    return float(s / v)


def infer_units(values: np.ndarray, *, mask: np.ndarray | None = None, wavelengths: Any = None,
                bit_depth: int | None = None, declared: str | None = None) -> Units:
    """Classify ``values`` (a cube ``(L, H, W)``, a library ``(L, M)`` or any array); see the module
    docstring for the rules. ``mask`` (``(H, W)``, valid pixels) restricts a cube to its valid
    pixels; ``wavelengths`` (nm) enables the radiance test; ``bit_depth`` (declared by the file)
    makes integer data digital numbers; ``declared`` records a scale the reader already applied
    (:func:`harmonise_units` never rescales that side).

    Limit: radiance in W m-2 sr-1 nm-1 lies in the reflectance window; its low SWIR/visible ratio
    is recorded (and shown by :meth:`Units.describe`) but does not change the class there, since
    water-dominated reflectance scenes share it."""
    arr = np.asarray(values)
    if arr.dtype == bool:
        raise InputError("a boolean array has no units: it is a mask, not an image or a library")
    flat = _sample(arr, mask)
    integer_dtype = np.issubdtype(arr.dtype, np.integer)
    ev: dict[str, Any] = {"dtype": str(arr.dtype)}
    if flat.size == 0:
        return Units("unknown", None, None, declared, ev)
    integer_valued = bool(integer_dtype or np.array_equal(flat, np.round(flat)))
    q1, q99 = (float(v) for v in np.percentile(flat, [1, 99]))
    vmin, vmax = _extremes(arr, mask)
    ev.update(integer_valued=integer_valued, p1=q1, p99=q99, min=vmin, max=vmax,
              negative_fraction=float((flat < 0).mean()))
    if bit_depth:
        ev["bit_depth"] = int(bit_depth)
        return Units("dn", None, q99, declared, ev)
    if not q99 > 0:
        return Units("unknown", None, q99, declared, ev)
    ratio = _swir_vis_ratio(arr, mask, wavelengths)
    if ratio is not None:
        ev["swir_vis_ratio"] = ratio
    low, high = REFLECTANCE_WINDOW
    if low < q99 <= high:
        return Units("reflectance", 0, q99, declared, ev)
    if q99 > high:
        k = int(math.ceil(math.log10(q99 / _DECADE[1]) - 1e-12))
    else:
        k = -int(math.floor(math.log10(_DECADE[0] / q99)) + 1)
    if k == 3 and integer_valued:
        k, ev["alternative_exponent"] = 4, 3
    elif k >= 2 and q99 / 10.0 ** k > 0.8 and k + 1 == 4:
        ev["alternative_exponent"] = 4
    elif k >= 2 and q99 / 10.0 ** k < 0.2 and k - 1 >= 2:
        ev["alternative_exponent"] = k - 1
    if abs(k) < 2:
        return Units("unknown", None, q99, declared, ev)
    if ratio is not None and ratio < RADIANCE_SWIR_RATIO:
        return Units("radiance", None, q99, declared, ev)
    return Units("scaled-reflectance", k, q99, declared, ev)


def units_of(scene: Any, what: str | None = None) -> Units:
    """The units of a Scene's ``cube`` (or ``library``/``endmembers``), inferred from the values now
    (so a cube changed after reading is judged as it is); a scale the reader applied from the file
    (``extras["units"]["declared"]`` for the same array) is carried over."""
    what = what or ("cube" if scene.cube is not None else "library" if scene.library is not None else "endmembers")
    arr = getattr(scene, what)
    if arr is None:
        raise InputError(f"scene {scene.name!r} has no {what} to take units from")
    rec = scene.extras.get("units")
    declared = rec.get("declared") if isinstance(rec, dict) and rec.get("of") == what else None
    return infer_units(arr, mask=scene.mask if what == "cube" else None, wavelengths=scene.wavelengths,
                       bit_depth=scene.extras.get("bit_depth") if what == "cube" else None, declared=declared)


@dataclass
class UnitsHarmony:
    """What :func:`harmonise_units` did: the two scenes, the note, the warning (None when nothing was
    changed), and the factors applied to each side (1.0: unchanged)."""

    image: Any
    library: Any
    note: str | None
    warning: UnitsWarning | None
    image_factor: float = 1.0
    library_factor: float = 1.0


def _scaled(arr: np.ndarray, factor: float) -> np.ndarray:
    dt = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float32)
    return (arr.astype(dt) * dt.type(factor)).astype(dt)


def harmonise_units(image: Any, library: Any = None, *, image_fixed: bool = False, library_fixed: bool = False,
) -> UnitsHarmony:
    """Bring an image and a spectral library to the same units, or refuse.

    Parameters
    ----------
    image : Scene
        With a cube. When ``library`` is None its attached ``library`` (and ``endmembers``, scaled
        with it) is the library.
    library : Scene, optional
        A scene holding ``library`` (and/or ``endmembers``).
    image_fixed, library_fixed : bool
        The user gave that side's scale (``scale=`` / ``library_scale=``) or the file declared it:
        that side is never rescaled; a mismatch that would need it raises.

    Returns
    -------
    UnitsHarmony
        ``image`` and ``library`` (scaled copies where needed), the note and the
        :class:`~hysupp.errors.UnitsWarning` emitted (``None`` when the units already agree).

    Raises
    ------
    InputError
        When the two cannot be reconciled (radiance, digital numbers or unrecognised values against
        reflectance, or a fixed side that does not match): the message names both ranges and the fix.

    Rules: each side is classified with :func:`infer_units` (a file-declared scale counts as fixed);
    equal exponents are left alone (an image and a library both in reflectance x 10^4 agree);
    otherwise each side that is reflectance x 10^k with ``k != 0`` is multiplied by ``10^-k``, or,
    when one side is fixed, the other is brought to its units. A fixed side whose values are not
    recognised (e.g. a bright scene whose 99th percentile exceeds 1.2, read with ``scale=1``) is
    taken as reflectance.

    Example
    -------
    >>> import numpy as np
    >>> from hysupp.scene import Scene
    >>> rng = np.random.default_rng(1)
    >>> lib = Scene(library=rng.random((20, 4)) * 0.6, name="lib")
    >>> img = Scene(cube=(rng.random((20, 3, 3)) * 5800).astype(np.float32), name="img")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     out = harmonise_units(img, lib)
    >>> out.image_factor, float(out.image.cube.max()) < 0.6
    (0.0001, True)
    """
    attached = library is None
    lib_scene = image if attached else library
    lib_what = "library" if lib_scene.library is not None else "endmembers"
    if getattr(lib_scene, lib_what) is None:
        raise InputError(f"harmonise_units: {lib_scene.name!r} holds no library or endmembers")
    if image.cube is None:
        raise InputError(f"harmonise_units: {image.name!r} holds no image cube")
    ui = units_of(image, "cube")
    ul = units_of(lib_scene, lib_what)
    image_fixed = image_fixed or bool(ui.declared)
    library_fixed = library_fixed or bool(ul.declared and not attached)
    img_desc = f"image {image.name!r}: {ui.describe()}"
    lib_desc = f"the library: {ul.describe()}" if attached else f"library {lib_scene.name!r}: {ul.describe()}"
    fix = ("pass scale= (--scale) with the factor that converts the image to the library's units "
           "(e.g. scale=1e-4 for reflectance x 10^4), or library_scale= (--library-scale) for the library")
    ki, kl = ui.exponent, ul.exponent
    if ki is None and image_fixed and kl is not None:
        ki = 0   # the caller vouches for the image: taken as reflectance, the library is brought to it
    if kl is None and library_fixed and ki is not None:
        kl = 0
    if ki is None or kl is None:
        if ui.kind == ul.kind and ui.level and ul.level and 0.1 <= ui.level / ul.level <= 10:
            return UnitsHarmony(image, library, None, None)   # the same non-reflectance units, same magnitude
        raise InputError(f"cannot unmix {img_desc} over {lib_desc}. The two are not in the same units and "
                         f"no power of ten reconciles them: {fix}")
    if ki == kl:
        return UnitsHarmony(image, library, None, None)
    if image_fixed and library_fixed:
        given = "declared by the files or given"
        raise InputError(f"{img_desc}; {lib_desc}. They are in different units and both scales are {given}: {fix}")
    if image_fixed:      # the library follows the image
        fi, fl = 1.0, 10.0 ** (ki - kl)
    elif library_fixed:  # the image follows the library
        fi, fl = 10.0 ** (kl - ki), 1.0
    else:                # both to reflectance
        fi, fl = 10.0 ** -ki, 10.0 ** -kl
    new_image, new_lib = image, lib_scene
    done = []
    if fi != 1.0:
        new_image = replace(image, cube=_scaled(image.cube, fi))
        done.append(f"image multiplied by {format_factor(fi)}")
    if fl != 1.0:
        upd = {k: _scaled(getattr(lib_scene, k), fl) for k in ("library", "endmembers")
               if getattr(lib_scene, k) is not None}
        if attached:
            new_image = replace(new_image, **upd)
        else:
            new_lib = replace(lib_scene, **upd)
        done.append(f"library multiplied by {format_factor(fl)}")
    note = (f"units harmonised ({img_desc}; {lib_desc}): " + " and ".join(done)
            + " (pass scale= / library_scale= to choose other factors)")
    new_image = replace(new_image, notes=[*new_image.notes, note])
    warning = warn_user(note, UnitsWarning)
    return UnitsHarmony(new_image, None if attached else new_lib, note, warning, fi, fl)
