"""xarray / rioxarray interchange: a ``DataArray`` in, a ``DataArray`` out.

A hyperspectral ``DataArray`` has dims ``(band, y, x)`` (the order of
``rioxarray.open_rasterio``); the wavelengths (nm) come from a ``wavelength`` coordinate on the
band dimension, else from a ``wavelength``/``wavelengths`` attribute (a sequence or a
``"{...}"`` string as written by ENVI/GDAL); the CRS and transform from rioxarray's ``.rio``
accessor (when rioxarray is installed) or the ``crs``/``transform`` attributes; nodata from
``.rio.nodata``/``_FillValue``/``nodata``.

:func:`scene_from_dataarray` builds a :class:`~hysupp.scene.Scene` (nodata and non-finite pixels
masked), :func:`maps_to_dataarray` turns ``(k, H, W)`` maps (abundances, fused bands) back into a
``DataArray`` on the same ``y``/``x`` grid with the same CRS, transform and attributes, with the
map names (endmember names) as the coordinate of the first dimension and NaN where the input was
nodata.

xarray (and rioxarray) are optional: ``pip install hysupp[dask]``. They are imported lazily and a
missing one gives an :class:`~hysupp.errors.InputError` that says what to install.

Example
-------
>>> import numpy as np, xarray as xr
>>> from hysupp.io.xarray import scene_from_dataarray, maps_to_dataarray
>>> da = xr.DataArray(np.ones((3, 2, 4), np.float32), dims=("band", "y", "x"),
...                   coords={"band": [1, 2, 3], "wavelength": ("band", [450.0, 550.0, 650.0]),
...                           "y": [1.5, 0.5], "x": [0.5, 1.5, 2.5, 3.5]}, attrs={"units": "1"})
>>> scene = scene_from_dataarray(da)
>>> scene.shape, scene.wavelengths.tolist()
((3, 2, 4), [450.0, 550.0, 650.0])
>>> out = maps_to_dataarray(np.zeros((2, 2, 4)), ["rock", "water"], da, dim="endmember")
>>> out.dims, out.coords["endmember"].values.tolist(), out.x.values.tolist() == da.x.values.tolist()
(('endmember', 'y', 'x'), ['rock', 'water'], True)
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.scene import Georef, Scene

__all__ = ["band_dim", "dataarray_georef", "dataarray_scaling", "dataarray_template", "dataarray_wavelengths", "is_dataarray",
           "maps_to_dataarray", "require", "scene_from_dataarray"]

#: what to install for each optional module
_EXTRA = {"xarray": "xarray", "rioxarray": "rioxarray", "dask": "dask[array]", "distributed": "distributed"}

#: band-specific attributes that do not describe a map derived from the cube
_BAND_ATTRS = ("wavelength", "wavelengths", "wavelength_units", "fwhm", "long_name", "band_names", "scale_factor",
               "add_offset", "_FillValue", "nodata", "bbl")


def require(module: str) -> Any:
    """Import an optional dependency, or raise an :class:`InputError` that names the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pkg = _EXTRA.get(module.split(".")[0], module)
        raise InputError(f"this feature needs the optional package {pkg!r}: pip install 'hysupp[dask]' "
                         f"(or pip install {pkg})") from exc


def is_dataarray(obj: Any) -> bool:
    """True when ``obj`` is an ``xarray.DataArray`` (without importing xarray when it is not loaded)."""
    import sys

    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(obj, xr.DataArray)


def band_dim(da: Any) -> str:
    """The name of the spectral dimension of a 3-D ``(band, y, x)`` DataArray."""
    if da.ndim != 3:
        raise InputError(f"a hyperspectral DataArray must have 3 dims (band, y, x), got {da.dims}")
    for name in ("band", "wavelength", "bands", "spectral"):
        if name in da.dims:
            if da.dims.index(name) != 0:
                raise InputError(f"the band dimension {name!r} must come first (dims {da.dims}): "
                                 f"use da.transpose({name!r}, ...)")
            return name
    return str(da.dims[0])


def _as_floats(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return np.asarray([float(x) for x in value.strip().strip("{}").split(",") if x.strip()])
        except ValueError:
            return None
    arr = np.asarray(value, dtype=np.float64).ravel()
    return arr if arr.size else None


def dataarray_wavelengths(da: Any, bdim: str, notes: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    from hysupp.io._common import to_nm

    L = da.shape[0]
    wl = fwhm = None
    for name in ("wavelength", "wavelengths", "center_wavelength"):
        if name in da.coords and da.coords[name].dims == (bdim,):
            wl, units = np.asarray(da.coords[name].values, dtype=np.float64), da.coords[name].attrs.get("units")
            break
    else:
        if bdim == "wavelength" and np.issubdtype(da.coords[bdim].dtype if bdim in da.coords else np.int8,
                                                  np.floating):
            wl, units = np.asarray(da.coords[bdim].values, dtype=np.float64), da.coords[bdim].attrs.get("units")
        else:
            units = da.attrs.get("wavelength_units")
            for name in ("wavelength", "wavelengths"):
                wl = _as_floats(da.attrs.get(name))
                if wl is not None:
                    break
    if wl is not None:
        if wl.size != L:
            notes.append(f"ignored {wl.size} wavelengths for {L} bands")
            wl = None
        else:
            wl = to_nm(wl, units or da.attrs.get("wavelength_units"), "wavelengths (DataArray)", notes)
    if wl is None and isinstance(da.encoding.get("source"), str) and da.encoding.get("source"):
        wl, fwhm = _file_wavelengths(da.encoding["source"], L, notes)
        if wl is not None:
            return wl, fwhm
    if wl is None:
        wl = _long_name_wavelengths(da.attrs.get("long_name"), L, notes)
    if "fwhm" in da.coords and da.coords["fwhm"].dims == (bdim,):
        fwhm = np.asarray(da.coords["fwhm"].values, dtype=np.float64)
    elif _as_floats(da.attrs.get("fwhm")) is not None and _as_floats(da.attrs.get("fwhm")).size == L:
        fwhm = _as_floats(da.attrs.get("fwhm"))
    return wl, fwhm


_LONG_NAME_WL = re.compile(r"\(\s*([-+0-9.eE]+)\s*([A-Za-z\u00b5]+)\s*\)\s*$")


def _long_name_wavelengths(long_name: Any, L: int, notes: list[str]) -> np.ndarray | None:
    """Wavelengths from per-band descriptions such as ``"band 1 (418.24 Nanometers)"`` (GDAL's ENVI
    descriptions, which rioxarray keeps as the ``long_name`` tuple, one entry per band)."""
    from hysupp.io._common import to_nm

    if not isinstance(long_name, (tuple, list)) or len(long_name) != L:
        return None
    found = [_LONG_NAME_WL.search(str(name)) for name in long_name]
    if not all(found) or len({m.group(2).lower() for m in found}) != 1:  # type: ignore[union-attr]
        return None
    values = [float(m.group(1)) for m in found]  # type: ignore[union-attr]
    wl = to_nm(values, found[0].group(2), "wavelengths (DataArray long_name)", notes)  # type: ignore[union-attr]
    if wl is not None:
        notes.append("wavelengths from the per-band descriptions (long_name)")
    return wl


def _file_wavelengths(path: str, L: int, notes: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-band wavelengths of the raster a rioxarray DataArray was opened from (rioxarray keeps
    only the first band's tags as attributes)."""
    import os
    import warnings

    if not os.path.isfile(path):
        return None, None
    try:
        import rasterio

        from hysupp.io.geotiff import band_metadata

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(path) as ds:
                if ds.count != L:
                    return None, None
                wl, fwhm, _ = band_metadata(ds, notes)
    except (OSError, ValueError, RuntimeError):  # pragma: no cover - unreadable source: no wavelengths
        return None, None
    if wl is not None:
        notes.append(f"wavelengths read from the DataArray's source file {os.path.basename(path)!r}")
    return wl, fwhm


def dataarray_georef(da: Any) -> Georef | None:
    """CRS, transform and nodata from rioxarray's accessor when available, else from attributes."""
    from hysupp.io.geotiff import crs_string

    crs = transform = nodata = None
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)

        rio = da.rio
        crs = crs_string(rio.crs) if rio.crs is not None else None
        if "x" in da.dims and "y" in da.dims and da.sizes["x"] > 1 and da.sizes["y"] > 1:
            transform = tuple(float(v) for v in tuple(rio.transform(recalc=False))[:6])
        nodata = rio.nodata if rio.nodata is not None else rio.encoded_nodata
    except ImportError:
        crs = da.attrs.get("crs")
        t = da.attrs.get("transform")
        transform = None if t is None else tuple(float(v) for v in list(t)[:6])
    if nodata is None:
        for key in ("_FillValue", "nodata"):
            if da.attrs.get(key) is not None:
                nodata = da.attrs[key]
                break
    nodata = None if nodata is None else float(nodata)
    identity = transform == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    if crs is None and (transform is None or identity) and nodata is None:
        return None
    return Georef(crs=crs, transform=transform, nodata=nodata)


def scene_from_dataarray(da: Any, *, name: str | None = None) -> Scene:
    """A :class:`Scene` from a ``(band, y, x)`` DataArray (dask-backed arrays are computed).

    The mask is ``False`` where every band is nodata or any band is non-finite;
    ``extras["xarray_template"]`` keeps the input's spatial coords and attributes (no data) for
    :func:`maps_to_dataarray`.
    """
    from hysupp.io._common import clean_bands_and_mask

    require("xarray")
    bdim = band_dim(da)
    notes = [f"xarray.DataArray {tuple(da.dims)} {tuple(da.shape)}"]
    wl, fwhm = dataarray_wavelengths(da, bdim, notes)
    georef = dataarray_georef(da)
    nodata = None if georef is None else georef.nodata
    cube = np.asarray(da.values)
    if not np.issubdtype(cube.dtype, np.floating):
        notes.append(f"{cube.dtype} values kept as they are (pass scale= for integer reflectance)")
    extras: dict[str, Any] = {"xarray_template": dataarray_template(da, bdim)}
    if bdim in da.coords and da.coords[bdim].dtype.kind in "OUS":
        extras["band_names"] = [str(v) for v in da.coords[bdim].values]
    # bad bands as hysupp.load drops them: flagged in a per-band ``bbl`` coordinate, or all nodata/NaN
    bbl = da.coords["bbl"].values if "bbl" in da.coords and da.coords["bbl"].dims == (bdim,) else None
    cube, wl, fwhm, mask = clean_bands_and_mask(cube, bbl, nodata, notes, wl, fwhm, extras)
    scaling = dataarray_scaling(da, da.shape[0])
    if scaling is not None:   # the file's scale, left unapplied by open_rasterio(mask_and_scale=False)
        from hysupp.io.geotiff import apply_band_scaling

        kept = extras.get("kept_bands", slice(None))
        cube, declared = apply_band_scaling(cube, scaling[0][kept], scaling[1][kept], nodata, notes,
                                            label="DataArray (scale_factor/add_offset)")
        extras["units"] = {"declared": declared, "of": "cube"}
    return Scene(cube=cube, wavelengths=wl, fwhm=fwhm, mask=mask, georef=georef,
                 name=name or str(da.name or "dataarray"), layout="xarray", notes=notes, extras=extras)


def dataarray_scaling(da: Any, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-band ``(scale, offset)`` from the ``scale_factor``/``add_offset`` attributes (one value or
    one per band), or None when absent or neutral."""
    out = []
    for key, neutral in (("scale_factor", 1.0), ("add_offset", 0.0)):
        v = _as_floats(da.attrs.get(key))
        if v is None:
            v = np.asarray([neutral])
        if v.size not in (1, n):
            return None
        out.append(np.broadcast_to(v, (n,)).astype(np.float64))
    if np.all(out[0] == 1.0) and np.all(out[1] == 0.0):
        return None
    return out[0], out[1]


def dataarray_template(da: Any, bdim: str) -> dict[str, Any]:
    """What :func:`maps_to_dataarray` needs from the input: spatial coords, attrs, CRS, name."""
    spatial = da.isel({bdim: 0}, drop=True)
    coords = {k: v.variable.copy(deep=False) for k, v in spatial.coords.items() if set(v.dims) <= set(spatial.dims)}
    attrs = {k: v for k, v in da.attrs.items() if k not in _BAND_ATTRS}
    return {"dims": tuple(spatial.dims), "coords": coords, "attrs": attrs, "name": da.name}


def maps_to_dataarray(maps: Any, names: Sequence[str] | None, like: Any, *, dim: str = "endmember",
                      georef: Georef | None = None, mask: np.ndarray | None = None,
                      name: str | None = None, band_coords: dict[str, Any] | None = None) -> Any:
    """``(k, H, W)`` maps as a DataArray on the grid of ``like``.

    ``like`` is the input DataArray (or the template a Scene read from one keeps in
    ``extras["xarray_template"]``). Spatial coords (``y``, ``x``, ``spatial_ref``...) and
    non-band attributes are copied; the CRS and transform are written with rioxarray when it is
    installed (``georef`` overrides the input's); ``names`` become the coordinate of ``dim`` and
    the ``long_name`` attribute (a tuple, one per band: ``da.rio.to_raster`` writes them as the band
    descriptions);
    pixels where ``mask`` is ``False`` are NaN (and NaN is declared the nodata of float maps).
    ``maps`` may be a dask array (the result stays lazy).
    """
    xr = require("xarray")
    if is_dataarray(like):
        like = (dataarray_template(like, band_dim(like)) if like.ndim == 3
                else dataarray_template(like.expand_dims("_b"), "_b"))
    k = maps.shape[0]
    if tuple(maps.shape[1:]) != tuple(like["coords"][d].shape[0] if d in like["coords"] else maps.shape[1 + i]
                                      for i, d in enumerate(like["dims"])):
        raise InputError(f"maps of shape {tuple(maps.shape)} do not match the template grid {like['dims']}")
    if mask is not None and not np.asarray(mask).all():
        maps = _masked(maps, np.asarray(mask, bool))
    coords = dict(like["coords"])
    coords[dim] = list(names) if names is not None else np.arange(1, k + 1)
    for key, values in (band_coords or {}).items():
        if values is not None:
            coords[key] = (dim, np.asarray(values))
    attrs = dict(like["attrs"])
    if names is not None:   # rioxarray's convention: one long_name per band, written as band descriptions
        attrs["long_name"] = tuple(str(n) for n in names)
    out = xr.DataArray(maps, dims=(dim, *like["dims"]), coords=coords, attrs=attrs,
                       name=name if name is not None else like["name"])
    try:
        import rioxarray  # noqa: F401

        if georef is not None and georef.crs:
            out = out.rio.write_crs(georef.crs)
        if georef is not None and georef.transform is not None:
            from affine import Affine

            out = out.rio.write_transform(Affine(*georef.transform[:6]))
        if np.issubdtype(out.dtype, np.floating):
            out = out.rio.write_nodata(np.nan, encoded=False)
    except ImportError:
        if georef is not None:
            out.attrs.update({"crs": georef.crs, "transform": None if georef.transform is None
                              else list(georef.transform)})
    return out


def _masked(maps: Any, mask: np.ndarray) -> Any:
    if hasattr(maps, "dask") or type(maps).__module__.startswith("dask"):
        import dask.array as dsa

        return dsa.where(mask[None], maps, np.nan)
    out = np.array(maps, dtype=np.result_type(maps.dtype, np.float32), copy=True)
    out[:, ~mask] = np.nan
    return out
