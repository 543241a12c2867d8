"""ENVI images and ENVI spectral libraries (``.sli``) through the ``spectral`` package.

A path may name the header (``x.hdr``) or the data file (``x``, ``x.img``, ``x.sli``, ...); the
other one is found next to it. Header fields used: ``wavelength`` + ``wavelength units``
(micrometres and nanometres converted to nm), ``fwhm``, ``bbl`` (bad bands dropped, noted),
``data ignore value`` (-> mask), ``reflectance scale factor`` (data divided by it) and
``data gain values`` / ``data offset values`` (applied; each scale noted, recorded in
``extras['units']['declared']`` and raising a :class:`~hysupp.errors.UnitsWarning`), ``band
names``, ``spectra names`` (library names) and ``map info`` / ``coordinate system string`` (->
georef; a WKT that is exactly an EPSG code becomes ``"EPSG:xxxx"``). A data file shorter or longer
than the header describes is refused. SPy image objects (``spectral.open_image``, ``.load()``)
are read by :func:`scene_from_spectral`.

Writing (:func:`save_envi`): BSQ float32 ``.img`` + ``.hdr`` with wavelengths, FWHM, band names,
``map info`` / ``coordinate system string`` and ``data ignore value``, atomically.

Example
-------
>>> from hysupp.io.envi import parse_map_info
>>> g, msg = parse_map_info("{UTM, 1, 1, 500000, 4000000, 30, 30, 33, North, WGS-84}")
>>> g.crs, g.transform
('EPSG:32633', (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0))
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hysupp.errors import InputError, UnitsWarning
from hysupp.io._common import FileInfo, bad_band_keep, drop_bad_bands, drop_bands, stem_name, to_nm, valid_mask
from hysupp.io._warn import warn_user
from hysupp.scene import Georef, Scene

__all__ = ["find_header", "read_envi", "resolve_envi", "is_envi", "parse_map_info", "is_spectral_image",
           "scene_from_spectral", "save_envi", "envi_paths", "map_info_from_georef"]

DATA_EXTENSIONS = ("", ".img", ".dat", ".sli", ".bsq", ".bil", ".bip", ".raw", ".bin", ".spc")


def _exists_ci(candidates: list[Path]) -> Path | None:
    for c in candidates:
        if c.is_file():
            return c
        up = c.with_name(c.name.upper()) if c.suffix else None
        if up is not None and up.is_file():
            return up
    return None


def _header_candidates(data: Path) -> list[Path]:
    cands = [data.with_name(data.name + ".hdr")]
    if data.suffix:
        cands.append(data.with_suffix(".hdr"))
    return cands


def find_header(data: str | os.PathLike) -> Path | None:
    """The ENVI header of a data file, if one sits next to it (``DATA.hdr`` or ``DATA`` with its
    extension replaced by ``.hdr``; an upper-case ``.HDR`` too), else None."""
    return _exists_ci(_header_candidates(Path(data)))


def is_envi(path: str | os.PathLike) -> bool:
    """True for a ``.hdr`` path or a data file with a sibling ENVI header."""
    p = Path(path)
    if p.suffix.lower() == ".hdr":
        return True
    return _exists_ci(_header_candidates(p)) is not None


def resolve_envi(path: str | os.PathLike) -> tuple[Path, Path]:
    """Return ``(header, data)`` for a path naming either of them.

    Raises
    ------
    InputError
        Naming the header and every data path tried when the data file is missing, or the header
        paths tried when the header is missing.
    """
    p = Path(path)
    if p.suffix.lower() == ".hdr":
        if not p.is_file():
            raise InputError(f"file not found: {str(p)!r}")
        base = p.with_suffix("")
        cands = [base.with_name(base.name + ext) for ext in DATA_EXTENSIONS]
        data = _exists_ci(cands)
        if data is None:
            tried = ", ".join(repr(str(c)) for c in cands)
            raise InputError(f"ENVI header {str(p)!r} has no data file next to it (looked for {tried})")
        return p, data
    if not p.is_file():
        raise InputError(f"file not found: {str(p)!r}")
    hdr = _exists_ci(_header_candidates(p))
    if hdr is None:
        tried = ", ".join(repr(str(c)) for c in _header_candidates(p))
        raise InputError(f"{str(p)!r}: no ENVI header found (looked for {tried})")
    return hdr, p


# ---------------------------------------------------------------------------------------------
# map info
# ---------------------------------------------------------------------------------------------
def _split_braced(text: str | list[str]) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(t).strip() for t in text]
    t = text.strip()
    if t.startswith("{") and t.endswith("}"):
        t = t[1:-1]
    return [s.strip() for s in t.split(",")]


def parse_map_info(text: str | list[str], coordinate_system: str | None = None) -> tuple[Georef | None, str]:
    """Georef from an ENVI ``map info`` value (and optional ``coordinate system string`` WKT).

    The transform is the one GDAL's ENVI driver gives (checked against it in the tests): for a
    rotation angle ``t`` (degrees) ``a = dx cos t``, ``b = dx sin t``, ``d = dy sin t``,
    ``e = -dy cos t``; the origin is the tie point moved by the 1-based reference pixel offset
    times the unrotated pixel size. UTM zones on WGS-84 map to EPSG:326zz/327zz, Geographic Lat/Lon on
    WGS-84 to EPSG:4326; other systems keep only the transform unless a WKT is given.

    Returns
    -------
    georef : Georef or None
    message : str
        What was done (for the scene notes), empty when nothing notable.
    """
    parts = _split_braced(text)
    if len(parts) < 7:
        return None, f"map info {text!r} has fewer than 7 fields: ignored"
    proj = parts[0].strip().lower()
    try:
        rx, ry, e0, n0, dx, dy = (float(x) for x in parts[1:7])
    except ValueError:
        return None, f"map info {text!r}: non-numeric tie point or pixel size: ignored"
    opts = {}
    rest = []
    for item in parts[7:]:
        if "=" in item:
            k, _, val = item.partition("=")
            opts[k.strip().lower()] = val.strip()
        else:
            rest.append(item)
    rot = 0.0
    if "rotation" in opts:
        try:
            rot = float(opts["rotation"])
        except ValueError:
            pass
    t = math.radians(rot)
    # GDAL's ENVI driver: rotation applied to the pixel sizes, tie point offset applied unrotated
    a, b, d, e = dx * math.cos(t), dx * math.sin(t), dy * math.sin(t), -dy * math.cos(t)
    if abs(rot) < 1e-12:
        a, b, d, e = dx, 0.0, 0.0, -dy
    c = e0 - (rx - 1) * dx
    f = n0 + (ry - 1) * dy
    transform = (a, b, c, d, e, f)
    crs = None
    msgs = []
    if coordinate_system:
        crs = coordinate_system
    elif proj == "utm" and len(rest) >= 3:
        try:
            zone = int(float(rest[0]))
        except ValueError:
            zone = None
        hemi = rest[1].strip().lower()
        datum = rest[2].strip().lower().replace(" ", "").replace("-", "")
        if zone is not None and datum in ("wgs84",):
            crs = f"EPSG:{(32600 if hemi.startswith('n') else 32700) + zone}"
        elif zone is not None and datum in ("northamerica1983", "nad83") and hemi.startswith("n"):
            crs = f"EPSG:{26900 + zone}"
        else:
            msgs.append(f"UTM datum {rest[2]!r} not mapped to a CRS")
    elif proj.startswith("geographic") and rest and rest[0].lower().replace("-", "").replace(" ", "") == "wgs84":
        crs = "EPSG:4326"
    elif proj != "arbitrary":
        msgs.append(f"projection {parts[0]!r} not mapped to a CRS")
    if proj == "arbitrary" and crs is None:
        if (dx, dy, c, f) == (1.0, 1.0, 0.0, 0.0) and not rot:
            return None, "map info 'Arbitrary': no georeferencing"
        return Georef(crs=None, transform=transform, nodata=None), \
            "map info 'Arbitrary': transform kept without a CRS (as GDAL does)"
    if rot:
        msgs.append(f"rotation={rot:g} deg applied as GDAL does")
    msgs.insert(0, f"georef {crs or 'without CRS'} from map info")
    return Georef(crs=crs, transform=transform, nodata=None), "; ".join(msgs)


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------
def _floats(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = _split_braced(value)
    try:
        return np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _spectral_units(md: dict[str, Any], values: np.ndarray | None, notes: list[str]
                    ) -> tuple[np.ndarray | None, float]:
    """Wavelengths in nm and the factor applied (so fwhm can follow)."""
    if values is None:
        return None, 1.0
    units = md.get("wavelength units")
    wl = to_nm(values, units if isinstance(units, str) else None, "wavelengths", notes)
    if wl is None:
        return None, 1.0
    factor = 1000.0 if np.any(wl != values) else 1.0
    return wl, factor


#: bytes per value of each ENVI ``data type`` code
DATA_TYPE_BYTES = {1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 6: 8, 9: 16, 12: 2, 13: 4, 14: 8, 15: 8}
INTERLEAVES = ("bsq", "bil", "bip")


def check_header(hdr: Path, data: Path | None = None) -> dict[str, Any]:
    """Parse an ENVI header and check the fields the reader relies on, before any data is read.

    ``samples``, ``lines`` and ``bands`` must be positive integers, ``data type`` a known code,
    ``interleave`` one of bsq/bil/bip and ``byte order`` 0 or 1; with ``data``, the data file must
    hold at least ``header offset + samples * lines * bands * bytes`` bytes. Returns the header
    (lower-case keys).

    Raises
    ------
    InputError
        Naming the header, the field, what was expected and what was found.
    """
    from spectral.io import envi

    where = f"ENVI header {str(hdr)!r}"
    try:
        header = envi.read_envi_header(str(hdr))
    except Exception as exc:  # spectral: EnviHeaderParsingError, UnicodeDecodeError, ...
        raise InputError(f"{where} is not a valid ENVI header ({type(exc).__name__}: {exc})") from exc
    md = {str(k).lower(): v for k, v in header.items()}

    def integer(field: str, low: int, default: int | None = None) -> int:
        if field not in md:
            if default is not None:
                return default
            raise InputError(f"{where}: required field {field!r} is missing")
        try:
            value = int(str(md[field]).strip())
        except ValueError:
            raise InputError(f"{where}: {field!r} must be an integer, got {md[field]!r}") from None
        if value < low:
            raise InputError(f"{where}: {field!r} must be >= {low}, got {value}")
        return value

    dims = [integer(f, 1) for f in ("samples", "lines", "bands")]
    offset = integer("header offset", 0, default=0)
    code = integer("data type", 1)
    if code not in DATA_TYPE_BYTES:
        raise InputError(f"{where}: unknown 'data type' {code}; expected one of "
                         f"{', '.join(map(str, DATA_TYPE_BYTES))}")
    interleave = str(md.get("interleave", "bsq")).strip().lower()
    if interleave not in INTERLEAVES:
        raise InputError(f"{where}: 'interleave' must be bsq, bil or bip, got {md.get('interleave')!r}")
    if "byte order" in md and str(md["byte order"]).strip() not in ("0", "1"):
        raise InputError(f"{where}: 'byte order' must be 0 or 1, got {md['byte order']!r}")
    if data is not None:
        need = offset + dims[0] * dims[1] * dims[2] * DATA_TYPE_BYTES[code]
        have = data.stat().st_size
        sizes = (f"({dims[0]} samples x {dims[1]} lines x {dims[2]} bands x {DATA_TYPE_BYTES[code]} "
                 f"bytes + offset {offset})")
        if have < need:
            raise InputError(f"ENVI data file {str(data)!r} is truncated: {have} bytes, the header "
                             f"{sizes} needs {need}")
        if have > need:
            plane = dims[0] * dims[1] * DATA_TYPE_BYTES[code]
            extra = have - need
            hint = (f": it holds {extra // plane} more band(s) than the header's 'bands = {dims[2]}'; fix "
                    f"'bands' in the header" if extra % plane == 0 else
                    "; check 'samples', 'lines', 'bands', 'data type' and 'header offset'")
            raise InputError(f"ENVI data file {str(data)!r} has {have} bytes, the header {str(hdr)!r} "
                             f"{sizes} describes {need}{hint}")
    return md


def read_envi(path: str | os.PathLike, key: str | None = None) -> tuple[Scene, FileInfo]:
    """Read an ENVI image (layout ``"envi"``) or spectral library (layout ``"envi-library"``)."""
    import spectral.io.envi as envi

    hdr, data = resolve_envi(path)
    if key is not None:
        raise InputError(f"{str(path)!r}: key= selects a variable in .mat/.npz files; an ENVI file has none")
    check_header(hdr, data)
    try:
        obj = envi.open(str(hdr), str(data))
    except Exception as exc:  # spectral raises a variety of exception types for bad headers
        raise InputError(f"cannot read ENVI file {str(hdr)!r} / {str(data)!r}: {exc}") from exc
    try:  # the full header: spectral moves some fields (wavelength, fwhm) out of a library's metadata
        header = envi.read_envi_header(str(hdr))
    except Exception:  # pragma: no cover - envi.open already parsed it
        header = obj.metadata
    md = {k.lower(): v for k, v in header.items()}
    info = FileInfo(format="envi", variables=None,
                    extra={"header": str(hdr), "data": str(data), "file type": md.get("file type")})
    name = stem_name(data)
    if isinstance(obj, envi.SpectralLibrary):
        return _library(obj, md, name, hdr), info
    return _image(obj, md, name, hdr), info


def _library(lib: Any, md: dict[str, Any], name: str, hdr: Path) -> Scene:
    notes = [f"ENVI spectral library {hdr.name}: spectra (rows) transposed to a library (bands x spectra)"]
    spectra = np.asarray(lib.spectra)
    if spectra.ndim != 2:
        raise InputError(f"ENVI library {str(hdr)!r}: expected 2-D spectra, got shape {spectra.shape}")
    library = spectra.T.copy()
    L = library.shape[0]
    names = [str(n).strip() for n in (lib.names or [])]
    if len(names) != library.shape[1]:
        if names:
            notes.append(f"'spectra names' has {len(names)} entries for {library.shape[1]} spectra: ignored")
        names = None
    raw_wl = _floats(md.get("wavelength"))
    wl, factor = _spectral_units(md, raw_wl if raw_wl is not None and raw_wl.size == L else None, notes)
    fwhm = _floats(md.get("fwhm"))
    if fwhm is not None:
        fwhm = fwhm * factor if fwhm.size == L else None
    bbl = _floats(md.get("bbl"))
    keep = np.ones(L, dtype=bool)
    if bbl is not None and bbl.size == L:
        keep = bbl != 0
    keep &= ~np.all(~np.isfinite(library), axis=1)
    if not keep.all():
        library = drop_bands(library, keep, {"bbl == 0 or all NaN": int((~keep).sum())}, notes)
        wl = None if wl is None else wl[keep]
        fwhm = None if fwhm is None else fwhm[keep]
    extras: dict[str, Any] = {}
    library = _apply_scaling(library, md, notes, band_axis=0, keep=keep, extras=extras, what="library")
    zt = md.get("z plot titles")
    if zt:
        notes.append(f"header 'z plot titles': {', '.join(zt) if isinstance(zt, list) else zt}")
    if not keep.all():
        extras["kept_bands"] = np.flatnonzero(keep)
    return Scene(cube=None, library=library, library_names=names, wavelengths=wl, fwhm=fwhm, name=name,
                 layout="envi-library", notes=notes, extras=extras)


def _apply_scaling(arr: np.ndarray, md: dict[str, Any], notes: list[str], band_axis: int,
                   keep: np.ndarray, extras: dict[str, Any] | None = None, nodata: float | None = None,
                   what: str = "cube") -> np.ndarray:
    """Apply the header's ``data gain values`` / ``data offset values`` (``value = raw x gain +
    offset``, per band) and ``reflectance scale factor`` (``value / factor``). Each applied scale is
    noted, recorded in ``extras['units']['declared']`` and raises a
    :class:`~hysupp.errors.UnitsWarning`; values equal to ``nodata`` (raw units) become NaN."""
    gain = _floats(md.get("data gain values"))
    offset = _floats(md.get("data offset values"))
    shape = [1] * arr.ndim
    shape[band_axis] = -1
    raw = arr
    done: list[str] = []
    for label, values, neutral in (("data gain values", gain, 1.0), ("data offset values", offset, 0.0)):
        if values is not None and values.size != keep.size:
            notes.append(f"header '{label}' has {values.size} values for {keep.size} bands: ignored")
        elif values is not None and np.all(values == neutral):
            pass
        elif values is not None:
            arr = arr.astype(np.float64)
            arr = arr * values[keep].reshape(shape) if neutral == 1.0 else arr + values[keep].reshape(shape)
            kept = values[keep]
            done.append(f"{label} {kept.min():g}" + (f" .. {kept.max():g}" if kept.max() != kept.min() else ""))
    rsf = md.get("reflectance scale factor")
    if rsf is not None:
        try:
            factor = float(rsf if not isinstance(rsf, list) else rsf[0])
        except ValueError:
            factor = 1.0
            notes.append(f"'reflectance scale factor' {rsf!r} is not a number: ignored")
        if factor > 0 and factor != 1.0:
            arr = arr.astype(np.float64) / factor
            done.append(f"reflectance scale factor {factor:g} (values divided by it)")
        elif factor <= 0:
            notes.append(f"'reflectance scale factor' {factor:g} is not positive: ignored")
    if done:
        if nodata is not None and not np.isnan(nodata) and arr is not raw:
            arr[raw == nodata] = np.nan
        text = "ENVI header " + "; ".join(done)
        msg = f"applied the {text}" + ("; 'data ignore value' pixels set to NaN" if nodata is not None else "")
        notes.append(msg)
        warn_user(msg, UnitsWarning)
        if extras is not None:
            extras["units"] = {"declared": text, "of": what}
    return arr


def _crs_from_wkt(wkt: str) -> str:
    """A ``coordinate system string`` as ``"EPSG:xxxx"`` when it is exactly an EPSG code, else the WKT."""
    try:
        from rasterio.crs import CRS

        from hysupp.io.geotiff import crs_string

        return crs_string(CRS.from_wkt(wkt)) or wkt
    except Exception:  # noqa: BLE001 - an unparsable WKT is kept as written
        return wkt


def _image(img: Any, md: dict[str, Any], name: str, hdr: Path | str) -> Scene:
    try:
        arr = np.asarray(img.load(dtype=img.dtype, scale=False))
    except Exception as exc:
        raise InputError(f"cannot read ENVI data of {str(hdr)!r}: {exc}") from exc
    return _image_scene(arr, md, name, f"ENVI image ({md.get('interleave', '?')} interleave)")


def _image_scene(arr: np.ndarray, md: dict[str, Any], name: str, what: str,
                 bands: Any = None) -> Scene:
    """The Scene of an ``(H, W, L)`` array with its ENVI metadata ``md`` (lower-case keys); ``bands``
    is a SPy ``BandInfo`` used when ``md`` has no wavelengths."""
    cube = np.ascontiguousarray(np.asarray(arr).transpose(2, 0, 1))
    L = cube.shape[0]
    notes = [f"{what} read as (L, H, W) = {cube.shape}"]
    raw_wl = _floats(md.get("wavelength"))
    if raw_wl is None and bands is not None and getattr(bands, "centers", None) is not None:
        raw_wl = _floats(list(bands.centers))
        if raw_wl is not None and "wavelength units" not in md and getattr(bands, "band_unit", None):
            md = {**md, "wavelength units": str(bands.band_unit)}
        if raw_wl is not None and md.get("fwhm") is None and getattr(bands, "bandwidths", None) is not None:
            md = {**md, "fwhm": list(bands.bandwidths)}
        notes.append("wavelengths from the SPy image's band information (bands.centers)")
    if raw_wl is not None and raw_wl.size != L:
        notes.append(f"header has {raw_wl.size} wavelengths for {L} bands: ignored")
        raw_wl = None
    wl, factor = _spectral_units(md, raw_wl, notes)
    fwhm = _floats(md.get("fwhm"))
    if fwhm is not None:
        fwhm = fwhm * factor if fwhm.size == L else None
    nodata = None
    div = md.get("data ignore value")
    if div is not None:
        try:
            nodata = float(div if not isinstance(div, list) else div[0])
        except ValueError:
            nodata = None
    bbl = _floats(md.get("bbl"))
    keep, reasons = bad_band_keep(cube, bbl if bbl is not None and bbl.size == L else None, nodata)
    extras: dict[str, Any] = {}
    names = md.get("band names")
    if isinstance(names, list) and len(names) == L:
        extras["band_names"] = [str(n).strip() for n in names]
    cube, wl, fwhm = drop_bad_bands(cube, keep, reasons, notes, wl, fwhm, extras)
    mask = valid_mask(cube, nodata)
    mask = None if mask.all() else mask
    if mask is not None:
        why = "non-finite" if nodata is None else f"equal to 'data ignore value' {nodata:g} or non-finite"
        notes.append(f"{int((~mask).sum())} pixels {why} marked invalid")
    cube = _apply_scaling(cube, md, notes, band_axis=0, keep=keep, extras=extras, nodata=nodata)
    georef = None
    if md.get("map info") is not None:
        cs = md.get("coordinate system string")
        if isinstance(cs, list):
            cs = ",".join(cs)
        georef, msg = parse_map_info(md["map info"], _crs_from_wkt(cs) if cs else None)
        if msg:
            notes.append(msg)
        if georef is not None:
            georef.nodata = nodata
    elif nodata is not None:
        georef = Georef(nodata=nodata)
    return Scene(cube=cube, wavelengths=wl, fwhm=fwhm, mask=mask, georef=georef, name=name, layout="envi",
                 notes=notes, extras=extras)


# ---------------------------------------------------------------------------------------------
# SPy (spectral) image objects
# ---------------------------------------------------------------------------------------------
def is_spectral_image(obj: Any) -> bool:
    """True for a SPy image: a ``SpyFile`` (``spectral.open_image``, ``envi.open``) or an
    ``ImageArray`` (``SpyFile.load()``)."""
    return type(obj).__module__.split(".")[0] == "spectral" and hasattr(obj, "bands") and hasattr(obj, "shape") \
        and len(getattr(obj, "shape", ())) == 3


def scene_from_spectral(obj: Any, *, name: str | None = None) -> Scene:
    """A Scene from a SPy image (rows x columns x bands): the data (read with SPy's scale off, then
    the header's gains/offsets and ``reflectance scale factor`` applied as :func:`read_envi` does),
    wavelengths and FWHM (``bands.centers``/``bands.bandwidths`` or the ENVI metadata, in nm), bad
    bands, ``data ignore value`` and ``map info``.

    Raises
    ------
    InputError
        When the object's data cannot be read.
    """
    md = {str(k).lower(): v for k, v in (getattr(obj, "metadata", None) or {}).items()}
    filename = getattr(obj, "filename", None)
    label = name or (stem_name(Path(filename)) if filename else "spectral-image")
    kind = type(obj).__name__
    if isinstance(obj, np.ndarray):
        arr = np.asarray(obj)
    else:
        try:
            arr = np.asarray(obj.load(dtype=obj.dtype, scale=False))
        except Exception as exc:  # noqa: BLE001 - SPy raises several types on unreadable data
            raise InputError(f"cannot read the data of the SPy image {filename or kind!r}: {exc}") from exc
    if arr.ndim != 3:
        raise InputError(f"SPy image {filename or kind!r} has shape {arr.shape}, expected (rows, columns, bands)")
    scene = _image_scene(arr, md, label, f"SPy {kind} (rows, columns, bands)", bands=getattr(obj, "bands", None))
    scene.layout = "spectral"
    if filename:
        scene.extras["source"] = str(filename)
    return scene


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def envi_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(header, data)`` written for ``path``: ``x.hdr`` -> (``x.hdr``, ``x.img``); ``x.img`` (or
    any other name) -> (``x.hdr``, ``x.img``), GDAL's and ENVI's pairing."""
    p = Path(path)
    if p.suffix.lower() == ".hdr":
        return p, p.with_suffix(".img")
    return (p.with_suffix(".hdr") if p.suffix else p.with_name(p.name + ".hdr")), p


def _envi_text(value: str) -> str:
    """A value inside ``{...}``: ENVI splits lists on commas and ends them at ``}``."""
    return str(value).replace(",", ";").replace("{", "(").replace("}", ")").replace("\n", " ").strip()


def _envi_list(values: Any, fmt: Any = repr) -> str:
    return "{" + ", ".join(fmt(v) for v in values) + "}"


def map_info_from_georef(georef: Georef) -> tuple[str | None, str | None]:
    """ENVI ``map info`` and ``coordinate system string`` for a georef (the inverse of
    :func:`parse_map_info`: tie point = the upper-left corner of pixel (1, 1), pixel sizes and a
    ``rotation`` when the transform rotates). UTM on WGS-84 / NAD83 and geographic WGS-84 are named
    as ENVI names them; any other CRS is written as ``Arbitrary`` with its WKT in the coordinate
    system string (which GDAL and hysupp read). ``(None, None)`` without a transform.

    Raises
    ------
    InputError
        A transform with shear (not a rotation of the pixel grid) or a zero pixel size.
    """
    if georef.transform is None:
        return None, None
    a, b, c, d, e, f = (float(x) for x in georef.transform[:6])
    dx, dy = math.hypot(a, b), math.hypot(d, e)
    if dx == 0 or dy == 0:
        raise InputError(f"cannot write ENVI map info: transform {georef.transform} has a zero pixel size")
    rot = 0.0
    if b != 0 or d != 0:
        rot = math.degrees(math.atan2(b, a))
        if abs(math.degrees(math.atan2(d, -e)) - rot) > 1e-6:
            raise InputError(f"cannot write ENVI map info: transform {georef.transform} shears the pixel grid "
                             f"(ENVI stores pixel sizes and a rotation only)")
    elif e > 0:
        raise InputError(f"cannot write ENVI map info: transform {georef.transform} has rows going north "
                         f"(positive y pixel size); ENVI map info is north-up")
    proj, tail, wkt = "Arbitrary", [], None
    if georef.crs:
        from rasterio.crs import CRS

        try:
            crs = CRS.from_user_input(georef.crs)
        except Exception as exc:  # noqa: BLE001 - rasterio raises CRSError and others
            raise InputError(f"cannot interpret CRS {georef.crs!r}: {exc}") from exc
        wkt = crs.to_wkt()
        epsg = crs.to_epsg(confidence_threshold=100)
        if epsg is not None and (32601 <= epsg <= 32660 or 32701 <= epsg <= 32760):
            proj, tail = "UTM", [str(epsg % 100), "North" if epsg < 32700 else "South", "WGS-84", "units=Meters"]
        elif epsg is not None and 26901 <= epsg <= 26923:
            proj, tail = "UTM", [str(epsg - 26900), "North", "North America 1983", "units=Meters"]
        elif epsg == 4326:
            proj, tail = "Geographic Lat/Lon", ["WGS-84", "units=Degrees"]
    fields = [proj, "1", "1", repr(c), repr(f), repr(dx), repr(dy), *tail]
    if rot:
        fields.append(f"rotation={rot!r}")
    return "{" + ", ".join(fields) + "}", (None if wkt is None else "{" + wkt + "}")


def save_envi(path: str | os.PathLike, array: np.ndarray, *, georef: Georef | None = None,
              band_names: Sequence[str] | None = None, wavelengths: Sequence[float] | None = None,
              fwhm: Sequence[float] | None = None, mask: np.ndarray | None = None, overwrite: bool = False,
              dtype: Any = np.float32, description: str | None = None) -> tuple[Path, Path]:
    """Write a ``(k, H, W)`` (or ``(H, W)``) array as an ENVI image: BSQ, little-endian, a ``.img``
    data file and its ``.hdr``.

    The header holds ``wavelength`` (``wavelength units = Nanometers``), ``fwhm``, ``band names``
    (commas and braces, which ENVI cannot quote, become ``;`` and parentheses), ``map info`` and
    ``coordinate system string`` from ``georef`` (:func:`map_info_from_georef`) and
    ``data ignore value`` = ``georef.nodata``. Pixels where ``mask`` is ``False`` are written as the
    nodata value, NaN without one. Both files are written completely to temporary files, then
    renamed (:func:`~hysupp.io.atomic.atomic_output`), the data first and the header last: a failure
    while writing leaves neither, and neither replaces an existing file unless ``overwrite=True``.

    Parameters
    ----------
    path : path-like
        ``x.hdr`` or ``x.img`` (see :func:`envi_paths`).
    dtype : numpy float dtype
        float32 (ENVI data type 4, default) or float64 (5).

    Returns
    -------
    (header, data) : tuple of Path

    Example
    -------
    >>> import numpy as np, tempfile, os, spectral
    >>> from hysupp.io.envi import save_envi
    >>> hdr, img = save_envi(os.path.join(tempfile.mkdtemp(), "a.hdr"), np.ones((2, 3, 4)),
    ...                      wavelengths=[450.0, 550.0], band_names=["blue", "green"])
    >>> im = spectral.open_image(str(hdr))
    >>> im.shape, im.bands.centers, im.metadata["band names"]
    ((3, 4, 2), [450.0, 550.0], ['blue', 'green'])
    """
    from hysupp.io.atomic import atomic_output, check_target

    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"ENVI image data must be (bands, H, W) or (H, W), got shape {arr.shape}")
    dt = np.dtype(dtype)
    codes = {np.dtype(np.float32): 4, np.dtype(np.float64): 5}
    if dt not in codes:
        raise InputError(f"ENVI writer: dtype must be float32 or float64, got {dt}")
    k, h, w = arr.shape
    for label, vals in (("band names", band_names), ("wavelengths", wavelengths), ("fwhm", fwhm)):
        if vals is not None and len(vals) != k:
            raise InputError(f"{len(vals)} {label} for {k} bands")
    hdr, data = envi_paths(path)
    check_target(hdr, overwrite)
    check_target(data, overwrite)
    out = arr.astype(dt.newbyteorder("<"))
    nodata = None if georef is None else georef.nodata
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (h, w):
            raise InputError(f"mask shape {mask.shape} does not match the image {(h, w)}")
        if not mask.all():
            out = out.copy()
            out[:, ~mask] = np.nan if nodata is None else nodata
    lines = ["ENVI", f"description = {{{_envi_text(description or 'written by hysupp')}}}",
             f"samples = {w}", f"lines = {h}", f"bands = {k}", "header offset = 0",
             "file type = ENVI Standard", f"data type = {codes[dt]}", "interleave = bsq", "byte order = 0"]
    if wavelengths is not None:
        lines += ["wavelength units = Nanometers", f"wavelength = {_envi_list(float(v) for v in wavelengths)}"]
    if fwhm is not None:
        lines.append(f"fwhm = {_envi_list(float(v) for v in fwhm)}")
    if band_names is not None:
        lines.append(f"band names = {_envi_list(band_names, _envi_text)}")
    if nodata is not None and np.isfinite(nodata):
        lines.append(f"data ignore value = {float(nodata)!r}")
    if georef is not None:
        info, wkt = map_info_from_georef(georef)
        if info is not None:
            lines.append(f"map info = {info}")
        if wkt is not None:
            lines.append(f"coordinate system string = {wkt}")
    with atomic_output(hdr, overwrite) as tmp_hdr:
        with atomic_output(data, overwrite) as tmp_data:
            with open(tmp_data, "wb") as fh:
                fh.write(np.ascontiguousarray(out).tobytes())
            tmp_hdr.write_text("\n".join(lines) + "\n", encoding="utf-8")
        # both files are complete before either is renamed: the data first, the header last
    return hdr, data
