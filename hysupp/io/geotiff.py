"""GeoTIFF / COG reading and writing through rasterio.

Reading gives a cube ``(L, H, W)`` with ``georef`` (CRS as ``"EPSG:xxxx"`` when it is exactly an
EPSG code, else WKT; the 6-tuple transform; nodata), a mask (nodata or non-finite pixels are
``False``), band descriptions in ``extras['band_names']`` and wavelengths/fwhm from, in order:
per-band tags ``wavelength``/``fwhm`` + ``wavelength_units`` (EnMAP-Box style), the ``IMAGERY``
domain (``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM``, GDAL >= 3.10), the ``ENVI`` domain
(``wavelength = {...}``, ``wavelength_units``), or band descriptions like ``"418.2 nm"``. Bands
flagged ``bbl = 0`` or holding only nodata are dropped (noted). A GDAL band scale/offset
(``value = raw x scale + offset``, EnMAP's 1e-4) is applied in float32 after the nodata pixels
are masked (they become NaN), noted, recorded in ``extras['units']['declared']`` and raises a
:class:`~hysupp.errors.UnitsWarning` (:func:`apply_band_scaling`, shared by windowed readers). A
read that GDAL fails (a corrupt compressed payload) raises an ``InputError`` naming the file and
GDAL's cause.

Writing (:func:`save_geotiff`) stores band descriptions (names), per-band ``wavelength``,
``wavelength_units = Nanometers`` and ``fwhm`` tags plus the ``IMAGERY`` domain, the CRS,
transform and nodata; it is atomic (:func:`hysupp.io.atomic.atomic_output`).

Example
-------
>>> import numpy as np, tempfile, os
>>> from hysupp.scene import Georef
>>> from hysupp.io.geotiff import save_geotiff, read_geotiff
>>> path = os.path.join(tempfile.mkdtemp(), "a.tif")
>>> g = Georef(crs="EPSG:32633", transform=(30.0, 0.0, 366015.0, 0.0, -30.0, 5809965.0), nodata=-1.0)
>>> save_geotiff(path, np.zeros((2, 3, 4), np.float32), georef=g, band_names=["rock", "water"])
>>> scene, _ = read_geotiff(path)
>>> scene.georef.crs, scene.extras["band_names"]
('EPSG:32633', ['rock', 'water'])
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hysupp.errors import InputError, UnitsWarning
from hysupp.io._common import FileInfo, check_utf8_name, clean_bands_and_mask, stem_name, to_nm
from hysupp.io._warn import warn_user
from hysupp.io.atomic import atomic_output
from hysupp.scene import Georef, Scene

__all__ = ["band_metadata", "read_geotiff", "save_geotiff", "crs_string", "band_scaling", "apply_band_scaling"]

_DESC_WL = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*"
                      r"(nm|nanometers?|nanometres?|um|µm|micrometers?|micrometres?|microns?)\b", re.IGNORECASE)


def crs_string(crs: Any) -> str | None:
    """``"EPSG:xxxx"`` when ``crs`` is exactly an EPSG code, else its WKT; ``None`` for no CRS."""
    if crs is None:
        return None
    try:
        epsg = crs.to_epsg(confidence_threshold=100)
    except Exception:  # pragma: no cover - pyproj/GDAL lookup failures
        epsg = None
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _ci(tags: dict[str, str], name: str) -> str | None:
    for k, v in tags.items():
        if k.lower() == name:
            return v
    return None


def _parse_list(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    t = text.strip().strip("{}")
    try:
        return np.asarray([float(x) for x in t.split(",") if x.strip()], dtype=np.float64)
    except ValueError:
        return None


def band_metadata(ds: Any, notes: list[str]) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Wavelengths (nm), fwhm (nm) and bad-band flags of every band, from whatever the file carries."""
    n = ds.count
    # 1. per-band tags (EnMAP-Box, our writer)
    per = [ds.tags(i) for i in range(1, n + 1)]
    wl_txt = [_ci(t, "wavelength") for t in per]
    bbl = None
    bbl_txt = [_ci(t, "bbl") for t in per]
    if all(b is not None for b in bbl_txt):
        try:
            bbl = np.asarray([float(b) for b in bbl_txt])  # type: ignore[arg-type]
        except ValueError:
            bbl = None
    if all(w is not None for w in wl_txt):
        try:
            raw = np.asarray([float(w) for w in wl_txt])  # type: ignore[arg-type]
        except ValueError:
            raw = None
        if raw is not None:
            units = _ci(per[0], "wavelength_units")
            wl = to_nm(raw, units, "wavelengths (band tags)", notes)
            factor = 1000.0 if wl is not None and np.any(wl != raw) else 1.0
            fw_txt = [_ci(t, "fwhm") for t in per]
            fwhm = None
            if all(f is not None for f in fw_txt):
                try:
                    fwhm = np.asarray([float(f) for f in fw_txt]) * factor  # type: ignore[arg-type]
                except ValueError:
                    fwhm = None
            if wl is not None:
                notes.append("wavelengths from per-band 'wavelength' tags")
                return wl, fwhm, bbl
    # 2. GDAL IMAGERY domain
    try:
        imag = [ds.tags(i, ns="IMAGERY") for i in range(1, n + 1)]
    except Exception:
        imag = []
    if imag and all("CENTRAL_WAVELENGTH_UM" in t for t in imag):
        wl = np.asarray([float(t["CENTRAL_WAVELENGTH_UM"]) for t in imag]) * 1000.0
        fwhm = (np.asarray([float(t["FWHM_UM"]) for t in imag]) * 1000.0
                if all("FWHM_UM" in t for t in imag) else None)
        notes.append("wavelengths from the IMAGERY metadata domain (um -> nm)")
        return wl, fwhm, bbl
    # 3. ENVI domain
    try:
        envi = ds.tags(ns="ENVI")
    except Exception:
        envi = {}
    raw = _parse_list(_ci(envi, "wavelength"))
    if raw is not None and raw.size == n:
        wl = to_nm(raw, _ci(envi, "wavelength_units"), "wavelengths (ENVI domain)", notes)
        factor = 1000.0 if wl is not None and np.any(wl != raw) else 1.0
        fw = _parse_list(_ci(envi, "fwhm"))
        fwhm = fw * factor if fw is not None and fw.size == n else None
        b = _parse_list(_ci(envi, "bbl"))
        if b is not None and b.size == n:
            bbl = b
        if wl is not None:
            notes.append("wavelengths from the ENVI metadata domain")
            return wl, fwhm, bbl
    # 4. band descriptions such as "band 1 (418.24 Nanometers)"
    desc = ds.descriptions
    if n > 1 and all(desc):
        vals = []
        for d in desc:
            m = _DESC_WL.findall(d or "")
            if len(m) != 1:
                vals = []
                break
            vals.append(m[0])
        if vals:
            raw = np.asarray([float(v) for v, _ in vals])
            wl = to_nm(raw, vals[0][1], "wavelengths (band descriptions)", notes)
            if wl is not None:
                notes.append("wavelengths parsed from band descriptions")
                return wl, None, bbl
    return None, None, bbl


def read_geotiff(path: str | os.PathLike, key: str | None = None) -> tuple[Scene, FileInfo]:
    """Read a GeoTIFF as a Scene with layout ``"geotiff"``."""
    import rasterio
    from rasterio.errors import RasterioIOError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {str(p)!r}")
    if key is not None:
        raise InputError(f"{str(p)!r}: key= selects a variable in .mat/.npz files; a GeoTIFF has none")
    check_utf8_name(p)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(p) as ds:
                cube = ds.read()
                notes: list[str] = [f"GeoTIFF read as (L, H, W) = {cube.shape}"]
                wl, fwhm, bbl = band_metadata(ds, notes)
                nodata = ds.nodata
                crs = crs_string(ds.crs)
                transform = tuple(float(x) for x in tuple(ds.transform)[:6])
                descriptions = list(ds.descriptions)
                layout_tag = ds.tags().get("HYSUPP_LAYOUT")
                scales, offsets = band_scaling(ds)
                identity = transform == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
                info = FileInfo(format="geotiff", extra={"driver": ds.driver, "dtype": ds.dtypes[0],
                                                         "tag_namespaces": ds.tag_namespaces()})
    except (RasterioIOError, rasterio.errors.RasterioError) as exc:
        cause = exc.__cause__ or exc.__context__
        detail = f"{exc}" + (f" ({type(cause).__name__}: {cause})" if cause is not None else "")
        raise InputError(f"cannot read GeoTIFF {str(p)!r}: corrupt, truncated or not a TIFF? {detail}") from exc
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - GDAL errors surface as several types (CPLE_*Error, ...)
        raise InputError(f"cannot read GeoTIFF {str(p)!r}: corrupt or unreadable data "
                         f"({type(exc).__name__}: {exc})") from exc
    L = cube.shape[0]
    extras: dict[str, Any] = {}
    if any(d for d in descriptions):
        extras["band_names"] = [d or f"band {i + 1}" for i, d in enumerate(descriptions)]
    if layout_tag:
        notes.append(f"written by hysupp from a scene with layout {layout_tag!r}")
        extras["hysupp_layout"] = layout_tag
    kept = np.ones(L, dtype=bool)
    cube, wl, fwhm, mask = clean_bands_and_mask(cube, bbl, nodata, notes, wl, fwhm, extras)
    if "kept_bands" in extras:
        kept = np.zeros(L, dtype=bool)
        kept[np.asarray(extras["kept_bands"])] = True
    if scales is not None:
        cube, declared = apply_band_scaling(cube, scales[kept], offsets[kept], nodata, notes)
        extras["units"] = {"declared": declared, "of": "cube"}
    georef = None
    if crs is not None or not identity or nodata is not None:
        georef = Georef(crs=crs, transform=None if identity and crs is None else transform, nodata=nodata)
    if L == 1:
        notes.append("single-band raster read as a 1-band cube")
    return Scene(cube=cube, wavelengths=wl, fwhm=fwhm, mask=mask, georef=georef, name=stem_name(p),
                 layout="geotiff", notes=notes, extras=extras), info


def band_scaling(ds: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """GDAL's per-band scale and offset of an open rasterio dataset (``value = raw * scale +
    offset``), or ``(None, None)`` when every band has scale 1 and offset 0 (or none)."""
    scales = np.asarray([1.0 if v is None else float(v) for v in ds.scales], dtype=np.float64)
    offsets = np.asarray([0.0 if v is None else float(v) for v in ds.offsets], dtype=np.float64)
    if np.all(scales == 1.0) and np.all(offsets == 0.0):
        return None, None
    return scales, offsets


def apply_band_scaling(cube: np.ndarray, scales: np.ndarray, offsets: np.ndarray, nodata: float | None,
                       notes: list[str] | None = None, label: str = "GDAL band", warn: bool = True
                       ) -> tuple[np.ndarray, str]:
    """``raw * scale + offset`` per band (axis 0) in float32; values equal to ``nodata`` (in raw units)
    become NaN so no scaled nodata value looks like data. Returns the cube and a description of the
    scaling (for ``extras['units']['declared']``), appending a note to ``notes`` and emitting a
    :class:`~hysupp.errors.UnitsWarning`.

    Shared by every GeoTIFF read (whole file or windows) so all of them give the same values; a
    windowed reader warns once (``warn=False`` for the other windows).
    """
    raw = cube
    out = raw.astype(np.float32) * scales.astype(np.float32)[:, None, None] + offsets.astype(np.float32)[:, None, None]
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        out[raw == nodata] = np.nan
    s_set, o_set = np.unique(scales), np.unique(offsets)
    text = (f"{label} scale {s_set[0]:g}" if s_set.size == 1 else
            f"{label} scales {s_set.min():g} .. {s_set.max():g}")
    if not (o_set.size == 1 and o_set[0] == 0):
        text += (f", offset {o_set[0]:g}" if o_set.size == 1 else f", offsets {o_set.min():g} .. {o_set.max():g}")
    msg = f"applied the file's {text} (value = raw x scale + offset, float32)" + (
        "; nodata pixels set to NaN" if nodata is not None else "")
    if notes is not None:
        notes.append(msg)
    if warn:
        warn_user(msg, UnitsWarning)
    return out, text


def _tif_dtype(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    return arr


def save_geotiff(path: str | os.PathLike, array: np.ndarray, georef: Georef | None = None,
                 band_names: Sequence[str] | None = None, wavelengths: Sequence[float] | None = None,
                 overwrite: bool = False, *, fwhm: Sequence[float] | None = None,
                 mask: np.ndarray | None = None, layout: str | None = None, compress: str = "deflate") -> None:
    """Write a ``(k, H, W)`` (or ``(H, W)``) array as a GeoTIFF, atomically.

    Parameters
    ----------
    path : path-like
        Target ``.tif``.
    array : ndarray, shape (k, H, W) or (H, W)
        Bands first.
    georef : Georef, optional
        CRS (WKT or ``"EPSG:xxxx"``), transform (6-tuple) and nodata.
    band_names : sequence of str, optional
        Band descriptions (e.g. endmember names for abundance maps).
    wavelengths, fwhm : sequence of float, optional
        In nm; written as per-band tags and in the IMAGERY domain.
    overwrite : bool
        Replace an existing file.
    mask : ndarray of bool, shape (H, W), optional
        Invalid pixels (``False``) are written as nodata (NaN for float data without a nodata).
    layout : str, optional
        Recorded as the dataset tag ``HYSUPP_LAYOUT``.
    """
    import rasterio
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"GeoTIFF data must be (bands, H, W) or (H, W), got shape {arr.shape}")
    arr = _tif_dtype(arr)
    k, h, w = arr.shape
    if band_names is not None and len(band_names) != k:
        raise InputError(f"{len(band_names)} band names for {k} bands")
    for label, vals in (("wavelengths", wavelengths), ("fwhm", fwhm)):
        if vals is not None and len(vals) != k:
            raise InputError(f"{len(vals)} {label} for {k} bands")
    nodata = None if georef is None else georef.nodata
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (h, w):
            raise InputError(f"mask shape {mask.shape} does not match the image {(h, w)}")
        if not mask.all():
            if nodata is None:
                if not np.issubdtype(arr.dtype, np.floating):
                    raise InputError("masked pixels need a nodata value for integer data: set georef.nodata")
                nodata = float("nan")
            arr = arr.copy()
            arr[:, ~mask] = nodata
    crs = None
    transform = None
    if georef is not None:
        if georef.crs:
            try:
                crs = CRS.from_user_input(georef.crs)
            except Exception as exc:
                raise InputError(f"cannot interpret CRS {georef.crs!r}: {exc}") from exc
        if georef.transform is not None:
            if len(georef.transform) < 6:
                raise InputError(f"transform must have 6 numbers (a, b, c, d, e, f), got {georef.transform}")
            transform = Affine(*[float(x) for x in georef.transform[:6]])
    profile: dict[str, Any] = {"driver": "GTiff", "width": w, "height": h, "count": k, "dtype": arr.dtype.name,
                               "interleave": "band"}
    if compress:
        profile["compress"] = compress
    if crs is not None:
        profile["crs"] = crs
    if transform is not None:
        profile["transform"] = transform
    if nodata is not None:
        profile["nodata"] = nodata
    if h >= 256 and w >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_output(path, overwrite) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(tmp, "w", **profile) as ds:
                ds.write(arr)
                if layout:
                    ds.update_tags(HYSUPP_LAYOUT=layout)
                for i in range(k):
                    if band_names is not None:
                        ds.set_band_description(i + 1, str(band_names[i]))
                    tags: dict[str, str] = {}
                    if wavelengths is not None:
                        tags["wavelength"] = repr(float(wavelengths[i]))
                        tags["wavelength_units"] = "Nanometers"
                        ds.update_tags(i + 1, ns="IMAGERY", CENTRAL_WAVELENGTH_UM=repr(float(wavelengths[i]) / 1000.0),
                                       **({"FWHM_UM": repr(float(fwhm[i]) / 1000.0)} if fwhm is not None else {}))
                    if fwhm is not None:
                        tags["fwhm"] = repr(float(fwhm[i]))
                    if tags:
                        ds.update_tags(i + 1, **tags)
