"""Helpers shared by the readers: unit handling, bad-band removal, final dtype/scale step."""

from __future__ import annotations

import os

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hysupp.errors import InputError
from hysupp.scene import Scene

# Variable names (case-insensitive) read as band centres / widths / bad-band lists.
WAVELENGTH_NAME = re.compile(r"^(wavelengths?|wl|wvl|wavelen\w*|wave_?lengths?\w*|\w*wavlen\w*|lambdas?|centers)$",
                             re.IGNORECASE)
FWHM_NAME = re.compile(r"^(fwhm|bandwidths?)$", re.IGNORECASE)
BBL_NAME = re.compile(r"^(bbl|bad_?bands?_?list)$", re.IGNORECASE)

_UM_UNITS = {"micrometers", "micrometer", "microns", "micron", "um", "µm", "micrometres", "micrometre"}
_NM_UNITS = {"nanometers", "nanometer", "nm", "nanometres", "nanometre"}


@dataclass
class FileInfo:
    """What a reader learnt about the file itself (for :func:`hysupp.io.describe`)."""

    format: str
    variables: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def to_nm(values: Any, units: str | None, what: str, notes: list[str]) -> np.ndarray | None:
    """Convert band centres/widths to nanometres.

    ``units`` is a unit word (``"Micrometers"``, ``"nm"``); ``None`` or ``"unknown"`` infers
    micrometres when every value is below 100 and says so in ``notes``. Returns ``None`` for units
    that are not lengths (e.g. wavenumbers or band indices), with a note.
    """
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        return None
    u = (units or "").strip().lower()
    finite = arr[np.isfinite(arr)]
    top = float(np.abs(finite).max()) if finite.size else 0.0
    if u in _UM_UNITS:
        notes.append(f"{what} converted from micrometres to nm")
        return arr * 1000.0
    if u in _NM_UNITS:
        return arr
    if u in ("", "unknown", "none"):
        if what == "fwhm":  # widths are small numbers: follow the centres' unit (decided by caller)
            return arr
        if top < 100:
            notes.append(f"{what}: no unit given, values up to {top:g} read as micrometres and converted to nm")
            return arr * 1000.0
        if u == "unknown":
            notes.append(f"{what}: unit 'Unknown', values up to {top:g} read as nm")
        return arr
    notes.append(f"{what} in unit {units!r} not converted to nm; ignored")
    return None


def wavelengths_nm(values: Any, what: str, notes: list[str]) -> np.ndarray | None:
    """Band centres without a declared unit: micrometres when max < 100 (noted), else nm."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        return None
    top = float(np.nanmax(np.abs(arr))) if np.isfinite(arr).any() else 0.0
    if top < 100:
        notes.append(f"{what}: values up to {top:g} read as micrometres and converted to nm")
        return arr * 1000.0
    return arr


def drop_bands(cube: np.ndarray, keep: np.ndarray, reasons: dict[str, int], notes: list[str],
               what: str = "bands") -> np.ndarray:
    """Keep the bands (axis 0) where ``keep`` is true; note what was dropped and why."""
    n_drop = int((~keep).sum())
    if n_drop:
        dropped = np.flatnonzero(~keep)
        why = ", ".join(f"{k}: {v}" for k, v in reasons.items() if v)
        notes.append(f"dropped {n_drop} bad {what} of {keep.size} ({why}); 0-based indices "
                     f"{compact_ranges(dropped)}; kept {int(keep.sum())} (extras['kept_bands'])")
        return cube[keep]
    return cube


def drop_bad_bands(cube: np.ndarray, keep: np.ndarray, reasons: dict[str, int], notes: list[str],
                   wavelengths: np.ndarray | None, fwhm: np.ndarray | None, extras: dict[str, Any]
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """:func:`drop_bands` on the cube and the per-band metadata (wavelengths, fwhm, band names);
    records the kept indices in ``extras['kept_bands']``. Returns ``(cube, wavelengths, fwhm)``."""
    if keep.all():
        return cube, wavelengths, fwhm
    cube = drop_bands(cube, keep, reasons, notes)
    extras["kept_bands"] = np.flatnonzero(keep)
    if "band_names" in extras:
        extras["band_names"] = [n for n, k in zip(extras["band_names"], keep) if k]
    return (cube, None if wavelengths is None else wavelengths[keep], None if fwhm is None else fwhm[keep])


def clean_bands_and_mask(cube: np.ndarray, bbl: Any, nodata: float | None, notes: list[str],
                         wavelengths: np.ndarray | None, fwhm: np.ndarray | None, extras: dict[str, Any],
                         nodata_label: str = "nodata") -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None,
                                                                np.ndarray | None]:
    """What every raster reader does after reading: drop the bad bands (:func:`bad_band_keep`,
    :func:`drop_bad_bands`), then mask the pixels that are non-finite or ``nodata`` in any band,
    with a note. Returns ``(cube, wavelengths, fwhm, mask)``; ``mask`` is None when every pixel is
    valid. ``nodata_label`` names the nodata value in the note (e.g. ENVI's 'data ignore value')."""
    keep, reasons = bad_band_keep(cube, bbl, nodata)
    cube, wavelengths, fwhm = drop_bad_bands(cube, keep, reasons, notes, wavelengths, fwhm, extras)
    mask = valid_mask(cube, nodata)
    if mask.all():
        return cube, wavelengths, fwhm, None
    what = "non-finite" if nodata is None else f"{nodata_label} ({nodata:g}) or non-finite"
    notes.append(f"{int((~mask).sum())} of {mask.size} pixels are {what}: mask False")
    return cube, wavelengths, fwhm, mask


def compact_ranges(idx: Sequence[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"``."""
    idx = [int(i) for i in idx]
    if not idx:
        return ""
    parts, start, prev = [], idx[0], idx[0]
    for i in idx[1:]:
        if i == prev + 1:
            prev = i
            continue
        parts.append(f"{start}-{prev}" if prev > start else f"{start}")
        start = prev = i
    parts.append(f"{start}-{prev}" if prev > start else f"{start}")
    return ", ".join(parts)


def bad_band_keep(cube: np.ndarray, bbl: Any = None, nodata: float | None = None
                  ) -> tuple[np.ndarray, dict[str, int]]:
    """Which bands of a ``(L, H, W)`` cube to keep: not flagged in ``bbl`` and not entirely invalid.

    A band is entirely invalid when every value is non-finite or equal to ``nodata``.
    """
    L = cube.shape[0]
    keep = np.ones(L, dtype=bool)
    reasons: dict[str, int] = {}
    if bbl is not None:
        flags = np.asarray(bbl, dtype=np.float64).ravel()
        if flags.size != L:
            raise InputError(f"bad-band list has {flags.size} entries, the cube has {L} bands")
        keep &= flags != 0
        reasons["bbl == 0"] = int((flags == 0).sum())
    all_bad = ~band_has_valid(cube, nodata) if cube[0].size else np.zeros(L, dtype=bool)
    label = "all NaN" if nodata is None else "all nodata/NaN"
    reasons[label] = int(all_bad.sum())
    keep &= ~all_bad
    return keep, reasons


def check_utf8_name(path: str | os.PathLike, reader: str = "GDAL/rasterio (GeoTIFF, ENVI)") -> None:
    """Refuse a file name that is not valid UTF-8 (bytes that ``os.fsdecode`` kept as surrogates)
    before a library that needs UTF-8 names (``reader``) is asked to open it."""
    text = os.fsdecode(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise InputError(f"the file name {shown!r} is not valid UTF-8; {reader} cannot open it: rename the "
                         f"file") from None


def band_has_valid(cube: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """``(L,)``: whether each band of a ``(L, H, W)`` cube (or of one window of it) holds at least
    one finite value that differs from ``nodata``. A band for which this is False over the whole
    image is dropped by every reader, in memory and tiled (:func:`bad_band_keep`)."""
    flat = cube.reshape(cube.shape[0], -1)
    ok = np.ones(flat.shape, dtype=bool)
    if np.issubdtype(cube.dtype, np.floating):
        ok &= np.isfinite(flat)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        ok &= flat != nodata
    return ok.any(axis=1)


def valid_mask(cube: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """Pixels ``(H, W)`` whose values are finite and differ from ``nodata`` in every band."""
    ok = np.ones(cube.shape[1:], dtype=bool)
    if np.issubdtype(cube.dtype, np.floating):
        ok &= np.isfinite(cube).all(axis=0)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        ok &= (cube != nodata).all(axis=0)
    return ok


def finalize(scene: Scene, *, scale: float | None, dtype: Any) -> Scene:
    """The common last step of :func:`hysupp.io.load`: scaling, dtype, mask, units and their notes.

    ``scale`` multiplies the cube (or, for library/endmember-only files, the spectra) and a PAN
    band in ``extras['pan']``. Integer cubes are converted to ``dtype`` with their values kept and
    a note saying so. The units of the primary array (cube, else library, else endmembers) are
    classified by :func:`hysupp.io.units.infer_units` and recorded in ``extras["units"]`` (its
    :meth:`~hysupp.io.units.Units.to_dict` plus ``"of"``, the array it describes; a scale the
    reader applied from the file stays in ``"declared"``) with a note when they are not plain
    reflectance. Nothing is rescaled on a guess. A boolean cube is refused.
    """
    from hysupp.io.units import format_factor, infer_units

    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        raise InputError(f"dtype must be a floating type (float32 or float64), got {dt}")
    notes = scene.notes
    primary = "cube" if scene.cube is not None else None
    if primary is None:
        primary = next((k for k in ("library", "endmembers") if getattr(scene, k) is not None), None)
    ref = getattr(scene, primary) if primary else None
    if ref is not None and ref.dtype == bool:
        raise InputError(f"scene {scene.name!r}: the {primary} is boolean (a mask?), not reflectance or "
                         f"radiance values; pass the image itself")
    declared = scene.extras.get("units") if isinstance(scene.extras.get("units"), dict) else {}
    guessed = None
    if ref is not None and scale is None:
        guessed = infer_units(ref, mask=scene.mask if primary == "cube" else None, wavelengths=scene.wavelengths,
                              bit_depth=scene.extras.get("bit_depth"), declared=declared.get("declared"))
        lo, hi = guessed.evidence.get("min"), guessed.evidence.get("max")
        if lo is not None and hi is not None:
            if np.issubdtype(ref.dtype, np.integer) and scene.layout == "pansharpening-pair":
                bits = scene.extras.get("bit_depth")
                notes.append(f"integer data kept as stored ({primary} is {ref.dtype}, values {lo:g} to {hi:g}"
                             + (f", {bits}-bit DN" if bits else "") + "); pass scale= to rescale"
                             + (f" (e.g. scale={1 / (2 ** bits - 1):.6g} for [0, 1])" if bits else ""))
            elif np.issubdtype(ref.dtype, np.integer):
                f = guessed.factor if guessed.kind == "scaled-reflectance" else 1e-4
                notes.append(f"integer data kept as stored; pass scale={format_factor(f)} for reflectance "
                             f"({primary} is {ref.dtype}, values {lo:g} to {hi:g}; or the factor that applies)")
            elif guessed.kind != "reflectance" and scene.layout != "pansharpening-pair":
                hint = (f"; if this is {guessed.describe().split(' (')[0]} pass scale={format_factor(guessed.factor)}"
                        if guessed.kind == "scaled-reflectance" else "")
                notes.append(f"values up to {hi:g} kept as stored{hint}")
    for key in ("cube", "library", "endmembers", "abundances"):
        arr = getattr(scene, key)
        if arr is None:
            continue
        arr = np.asarray(arr)
        if scale is not None and key in ("cube", "library", "endmembers") and (
                key == primary or (primary == "library" and key == "endmembers")):
            arr = arr.astype(dt) * dt.type(scale)
        elif arr.dtype != dt or arr.dtype.byteorder != "=":  # native byte order: float32, not '<f4'
            arr = arr.astype(dt)
        setattr(scene, key, arr)
    if scale is not None and primary is not None:
        notes.append(f"{primary} multiplied by scale={scale:g}")
    pan = scene.extras.get("pan")
    if isinstance(pan, np.ndarray):
        pan = pan.astype(dt)
        if scale is not None:
            pan = pan * dt.type(scale)
            notes.append(f"PAN band (extras['pan']) multiplied by scale={scale:g}")
        scene.extras["pan"] = pan
    if scene.cube is not None:
        nonfinite = ~np.isfinite(scene.cube).all(axis=0)
        if nonfinite.any():
            base = scene.mask if scene.mask is not None else np.ones(scene.cube.shape[1:], dtype=bool)
            scene.mask = base & ~nonfinite
            notes.append(f"{int(nonfinite.sum())} pixels with non-finite values marked invalid in mask")
    if primary is not None:
        units = guessed if guessed is not None else infer_units(
            getattr(scene, primary), mask=scene.mask if primary == "cube" else None,
            wavelengths=scene.wavelengths, bit_depth=scene.extras.get("bit_depth"),
            declared=declared.get("declared") or (f"scale={scale:g} given" if scale is not None else None))
        scene.extras["units"] = {**units.to_dict(), "of": primary}
        if units.kind != "reflectance" or units.declared:
            notes.append(f"units ({primary}): {units.describe()}; recorded in extras['units']")
    return scene


def stem_name(path: Path) -> str:
    name = path.name
    for suf in (".hdr",):
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
    return Path(name).stem if Path(name).suffix.lower() in (
        ".mat", ".npz", ".npy", ".tif", ".tiff", ".img", ".sli", ".dat", ".csv", ".bsq", ".bil", ".bip",
        ".raw") else name


def jsonable(value: Any, max_items: int = 12) -> Any:
    """A short JSON-serialisable rendering of ``value`` (arrays become shape/dtype summaries)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not np.isfinite(value):
            return str(value)
        return value
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, np.ndarray):
        if value.size <= max_items and value.ndim <= 1:
            return [jsonable(v) for v in value.tolist()]
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) > max_items * 4:
            return [jsonable(v) for v in value[:max_items]] + [f"... ({len(value)} items)"]
        return [jsonable(v) for v in value]
    return str(value)
