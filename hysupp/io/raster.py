"""Rasters larger than memory: lazy windowed reads and streamed Cloud Optimized GeoTIFF writes.

Reading
    :func:`open_raster` gives a raster file (GeoTIFF or any rasterio format) as a lazy
    ``(L, H, W)`` ``dask.array`` chunked ``(L, tile, tile)`` (every band of a window in one
    chunk), each chunk read by a picklable :class:`RasterSource` (so that tasks also run on
    ``dask.distributed`` workers), plus a header :class:`~hysupp.scene.Scene` (wavelengths, fwhm,
    georef, bad bands dropped). :func:`dataarray_to_dask` does the same for an
    ``xarray.DataArray`` ``(band, y, x)``, :func:`chunked_view` for an in-memory cube (chunks that
    are views, not copies).

Writing
    :func:`stream_to_cog` computes a lazy ``(k, H, W)`` array chunk by chunk into a tiled GeoTIFF
    (windowed writes by :class:`WindowWriter`, float32, NaN nodata, band descriptions) and converts
    it to a COG (GDAL's COG driver): only the chunks in flight are in memory. The file is written
    atomically (:func:`hysupp.io.atomic.atomic_output`).

:func:`grid_coords` gives the pixel-centre ``y``/``x`` coordinates of a georeferenced grid (for
DataArray outputs); :func:`valid_mask` the pixels that are finite and not nodata in every band.

Example
-------
>>> import numpy as np, tempfile, os
>>> from hysupp.io.geotiff import save_geotiff
>>> folder = tempfile.mkdtemp()
>>> cube = np.arange(3 * 20 * 30, dtype=np.float32).reshape(3, 20, 30)
>>> geo = Georef(crs="EPSG:32633", transform=(30.0, 0.0, 366000.0, 0.0, -30.0, 5810000.0))
>>> _ = save_geotiff(os.path.join(folder, "cube.tif"), cube, georef=geo)
>>> lazy, header = open_raster(os.path.join(folder, "cube.tif"), tile=8)
>>> lazy.numblocks, header.shape, bool(np.array_equal(lazy.compute(), cube))
((1, 3, 4), (3, 20, 30), True)
>>> path = stream_to_cog(lazy[:2] / 2, os.path.join(folder, "half.tif"), georef=header.georef, names=["a", "b"])
>>> import rasterio
>>> with rasterio.open(path) as ds:
...     ds.descriptions, ds.crs.to_epsg(), bool(np.array_equal(ds.read(), cube[:2] / 2))
(('a', 'b'), 32633, True)
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.io._common import band_has_valid, valid_mask
from hysupp.io.xarray import require
from hysupp.progress import tracker
from hysupp.scene import Georef, Scene

__all__ = ["RasterSource", "WindowWriter", "chunked_view", "dataarray_to_dask", "grid_coords", "open_raster",
           "stream_to_cog", "valid_mask"]


# ---------------------------------------------------------------------------------------------- reading
@dataclass
class RasterSource:
    """A raster file read window by window (picklable, so tasks can run on distributed workers)."""

    path: str
    shape: tuple[int, int, int]
    dtype: str
    band_index: list[int] | None = None   # 1-based bands kept (bad bands dropped), None = all
    scales: tuple[float, ...] | None = None    # GDAL scale/offset of the kept bands (None: none declared)
    offsets: tuple[float, ...] | None = None
    nodata: float | None = None

    def read(self, row0: int, row1: int, col0: int, col1: int) -> np.ndarray:
        """The window's kept bands, scaled as :func:`hysupp.io.geotiff.read_geotiff` scales the whole
        file (nodata -> NaN when a scale applies), so tiled and in-memory runs see the same values."""
        import rasterio
        from rasterio.windows import Window

        from hysupp.io.geotiff import apply_band_scaling

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(self.path) as ds:
                raw = ds.read(self.band_index, window=Window(col0, row0, col1 - col0, row1 - row0))
        if self.scales is None:
            return raw
        return apply_band_scaling(raw, np.asarray(self.scales), np.asarray(self.offsets), self.nodata, warn=False)[0]

    def band_has_valid(self, row0: int, row1: int, col0: int, col1: int) -> np.ndarray:
        """``(L,)``: the bands with a valid value in this window (:func:`hysupp.io._common.band_has_valid`)."""
        return band_has_valid(self.read(row0, row1, col0, col1), self.nodata)


def _header_cube(shape: tuple[int, ...]) -> np.ndarray:
    """A zero-stride placeholder cube: a header Scene's shape without its data."""
    return np.broadcast_to(np.zeros((), np.float32), tuple(shape))


def open_raster(path: str | os.PathLike, tile: int = 512, *, scan_bands: bool = True,
                scheduler: Any = None) -> tuple[Any, Scene]:
    """A raster file as a lazy ``(L, H, W)`` dask array chunked ``(L, tile, tile)`` and a header
    :class:`Scene` (wavelengths, georef; its cube is a zero-stride placeholder, not the data).

    The bands and values are those of :func:`hysupp.load` on the same file (one bad-band and
    nodata policy for both paths): bands flagged ``bbl = 0`` are dropped, the GDAL band
    scale/offset is applied window by window (nodata -> NaN, a :class:`~hysupp.errors.UnitsWarning`
    once), and with ``scan_bands`` (default) one windowed pass over the file finds the bands that
    hold only nodata/NaN (e.g. EnMAP's water-vapour bands), which are dropped too -- kept, they
    would mark every pixel invalid. The pass reads the file once more; ``scan_bands=False`` skips it
    when the file has no such bands. ``scheduler`` runs that pass (default: Dask's threads).
    """
    import rasterio

    from hysupp.io.geotiff import apply_band_scaling, band_metadata, band_scaling, crs_string

    dsa = require("dask.array")
    import dask

    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {str(p)!r}")
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(p) as ds:
            H, W, count, dtype = ds.height, ds.width, ds.count, ds.dtypes[0]
            wl, fwhm, bbl = band_metadata(ds, notes)
            crs, nodata = crs_string(ds.crs), ds.nodata
            transform = tuple(float(x) for x in tuple(ds.transform)[:6])
            descriptions = list(ds.descriptions)
            scales, offsets = band_scaling(ds)
    rows = [(r, min(r + tile, H)) for r in range(0, H, tile)]
    cols = [(c, min(c + tile, W)) for c in range(0, W, tile)]
    keep = np.ones(count, dtype=bool) if bbl is None else np.asarray(bbl).ravel() != 0
    if not keep.all():
        notes.append(f"{count - int(keep.sum())} bands flagged bbl = 0 dropped")
    out_dtype = dtype if scales is None else "float32"
    if scan_bands and keep.any():
        probe = RasterSource(os.fspath(p), (int(keep.sum()), H, W), dtype, [int(k) + 1 for k in np.flatnonzero(keep)],
                             None if scales is None else tuple(scales[keep]),
                             None if offsets is None else tuple(offsets[keep]), nodata)
        has = dask.delayed(probe.band_has_valid, pure=True)
        parts = dask.compute(*[has(r0, r1, c0, c1) for r0, r1 in rows for c0, c1 in cols], scheduler=scheduler)
        empty = np.flatnonzero(keep)[~np.any(np.stack(parts), axis=0)]
        if empty.size:
            keep[empty] = False
            notes.append(f"{empty.size} bands holding only nodata/NaN dropped (a windowed pass over the file)")
    if not keep.any():
        raise InputError(f"{str(p)!r}: every band is flagged bad or holds only nodata/NaN")
    kept = np.flatnonzero(keep)
    band_index = None if keep.all() else [int(k) + 1 for k in kept]
    if band_index is not None:
        wl = None if wl is None else wl[kept]
        fwhm = None if fwhm is None else fwhm[kept]
    if scales is not None:   # the note and the UnitsWarning, once (windows are scaled silently)
        apply_band_scaling(np.zeros((kept.size, 1, 1), dtype=np.float32), scales[kept], offsets[kept], nodata, notes)
    L = kept.size
    src = RasterSource(os.fspath(p), (L, H, W), out_dtype, band_index,
                       None if scales is None else tuple(float(v) for v in scales[kept]),
                       None if offsets is None else tuple(float(v) for v in offsets[kept]), nodata)
    read = dask.delayed(src.read, pure=True)
    blocks = [[dsa.from_delayed(read(r0, r1, c0, c1), shape=(L, r1 - r0, c1 - c0), dtype=out_dtype)
               for c0, c1 in cols] for r0, r1 in rows]
    cube = dsa.concatenate([dsa.concatenate(row, axis=2) for row in blocks], axis=1)
    identity = transform == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    georef = None
    if crs is not None or not identity or nodata is not None:
        georef = Georef(crs=crs, transform=None if identity and crs is None else transform, nodata=nodata)
    extras: dict[str, Any] = {}
    if any(descriptions):
        extras["band_names"] = [d or f"band {i + 1}" for i, d in enumerate(descriptions)]
    header = Scene(cube=_header_cube((L, H, W)), wavelengths=wl, fwhm=fwhm,
                   georef=georef, name=p.stem, layout="geotiff-tiled",
                   notes=notes + [f"read lazily in {len(rows)} x {len(cols)} windows of {tile} x {tile} pixels"],
                   extras=extras)
    return cube, header


def chunked_view(data: np.ndarray, tile: int) -> Any:
    """An in-memory ``(L, H, W)`` cube as a dask array whose chunks are *views* of it: strips of
    whole rows holding about ``tile x tile`` pixels each, so that a chunk's pixels ``(L, rows W)``
    are a reshape of the view, not a copy (``dask.array.from_array`` would also copy and hash the
    whole cube, two full passes and twice the memory, before any work starts)."""
    import uuid

    dsa = require("dask.array")
    from dask.highlevelgraph import HighLevelGraph

    L, H, W = data.shape
    step = max(1, min(H, (tile * tile) // max(W, 1)))
    name = f"cube-{uuid.uuid4().hex}"
    rows = [(r, min(r + step, H)) for r in range(0, H, step)]
    dsk = {(name, 0, i, 0): data[:, r0:r1, :] for i, (r0, r1) in enumerate(rows)}
    chunks = ((L,), tuple(r1 - r0 for r0, r1 in rows), (W,))
    return dsa.Array(HighLevelGraph.from_collections(name, dsk, dependencies=()), name, chunks, dtype=data.dtype)


def dataarray_to_dask(da: Any, tile: int, *, scan_bands: bool = True, scheduler: Any = None
                      ) -> tuple[Any, Scene, Any]:
    """(dask cube, header Scene, DataArray template) from a ``(band, y, x)`` DataArray: a dask-backed
    one keeps its chunks (all bands of a pixel in one chunk), an in-memory one is wrapped by
    :func:`chunked_view`.

    Bands and values follow :func:`hysupp.io.xarray.scene_from_dataarray` (the in-memory path):
    bands flagged in a ``bbl`` coordinate are dropped, the ``scale_factor``/``add_offset``
    attributes are applied lazily (nodata -> NaN), and with ``scan_bands`` one pass over the data
    (on ``scheduler``) drops the bands that hold only nodata/NaN.
    """
    from hysupp.io.geotiff import apply_band_scaling
    from hysupp.io.xarray import (band_dim, dataarray_georef, dataarray_scaling, dataarray_template,
                                  dataarray_wavelengths)

    dsa = require("dask.array")
    bdim = band_dim(da)
    notes = [f"xarray.DataArray {tuple(da.dims)} {tuple(da.shape)}"]
    wl, fwhm = dataarray_wavelengths(da, bdim, notes)
    georef = dataarray_georef(da)
    nodata = None if georef is None else georef.nodata
    data = da.data
    if not hasattr(data, "dask"):
        data = chunked_view(np.asarray(data), tile)
    else:
        data = data.rechunk({0: -1})   # all bands of a pixel in one chunk
    L = data.shape[0]
    keep = np.ones(L, dtype=bool)
    if "bbl" in da.coords and da.coords["bbl"].dims == (bdim,):
        keep &= np.asarray(da.coords["bbl"].values).ravel() != 0
        if not keep.all():
            notes.append(f"{L - int(keep.sum())} bands flagged bbl = 0 dropped")
    if scan_bands and keep.any():
        ok = dsa.ones(data.shape, dtype=bool, chunks=data.chunks)
        if np.issubdtype(data.dtype, np.floating):
            ok = dsa.isfinite(data)
        if nodata is not None and not np.isnan(nodata):
            ok = ok & (data != nodata)
        has = np.asarray(ok.any(axis=(1, 2)).compute(scheduler=scheduler))
        empty = np.flatnonzero(keep & ~has)
        if empty.size:
            keep[empty] = False
            notes.append(f"{empty.size} bands holding only nodata/NaN dropped (a pass over the data)")
    if not keep.any():
        raise InputError("every band of the DataArray is flagged bad or holds only nodata/NaN")
    kept = np.flatnonzero(keep)
    if not keep.all():
        data = data[kept]
        wl = None if wl is None else wl[kept]
        fwhm = None if fwhm is None else fwhm[kept]
    scaling = dataarray_scaling(da, L)
    if scaling is not None:   # the file's scale, left unapplied by open_rasterio(mask_and_scale=False)
        s, o = scaling[0][kept], scaling[1][kept]
        apply_band_scaling(np.zeros((kept.size, 1, 1), dtype=np.float32), s, o, nodata, notes,
                           label="DataArray (scale_factor/add_offset)")
        data = data.map_blocks(lambda b: apply_band_scaling(b, s, o, nodata, warn=False)[0], dtype=np.float32)
    header = Scene(cube=_header_cube(data.shape), wavelengths=wl, fwhm=fwhm, georef=georef,
                   name=str(da.name or "dataarray"), layout="xarray-tiled", notes=notes)
    return data, header, dataarray_template(da, bdim)


def grid_coords(georef: Georef | None, h: int, w: int) -> dict[str, np.ndarray]:
    """Pixel-centre ``y``/``x`` coordinates from a georef's transform (pixel indices without one, or
    for a rotated grid)."""
    t = None if georef is None else georef.transform
    if t is None:
        return {"y": np.arange(h, dtype=np.float64), "x": np.arange(w, dtype=np.float64)}
    a, b, c, d, e, f = (float(v) for v in t[:6])
    if b == 0.0 and d == 0.0:
        return {"y": f + e * (np.arange(h) + 0.5), "x": c + a * (np.arange(w) + 0.5)}
    return {"y": np.arange(h, dtype=np.float64), "x": np.arange(w, dtype=np.float64)}


# ---------------------------------------------------------------------------------------------- writing
class WindowWriter:
    """``da.store`` target: writes each ``(k, h, w)`` region as a window of an open rasterio dataset."""

    def __init__(self, ds: Any, bar: Any = None):
        self.ds = ds
        self.bar = bar      # a hysupp.progress tracker of the tiles written, or None
        self.written = 0

    def __setitem__(self, key: tuple[slice, slice, slice], value: np.ndarray) -> None:
        from rasterio.windows import Window

        _, rs, cs = key
        self.ds.write(np.asarray(value, dtype=np.float32),
                      window=Window(cs.start, rs.start, cs.stop - cs.start, rs.stop - rs.start))
        self.written += 1       # under the store's lock (threaded) or in the client's loop (distributed)
        if self.bar is not None:
            self.bar.update(self.written)


def _profile(k: int, H: int, W: int, georef: Georef | None) -> dict[str, Any]:
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    block = 256 if min(H, W) >= 256 else 16 * max(1, min(H, W) // 16) if min(H, W) >= 16 else None
    profile: dict[str, Any] = {"driver": "GTiff", "width": W, "height": H, "count": k, "dtype": "float32",
                               "nodata": float("nan"), "interleave": "band", "BIGTIFF": "IF_SAFER"}
    if block:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    if georef is not None and georef.crs:
        profile["crs"] = CRS.from_user_input(georef.crs)
    if georef is not None and georef.transform is not None:
        profile["transform"] = Affine(*georef.transform[:6])
    return profile


def stream_to_cog(maps: Any, path: str | os.PathLike, *, georef: Georef | None, names: list[str],
                  client: Any = None, overwrite: bool = False, cog: bool = True) -> Path:
    """Compute a lazy ``(k, H, W)`` dask array chunk by chunk into a tiled GeoTIFF (windowed
    writes, float32, NaN nodata, band descriptions ``names``), then convert it to a COG.

    Without ``client`` the chunks are written by ``dask.array.store`` on the threaded scheduler as
    they finish; with a ``dask.distributed`` ``client`` they are computed on the workers and written
    by the client as they arrive (``as_completed``). Either way only the chunks in flight are in
    memory. The tiles written are reported to :func:`hysupp.progress.tracker` (``"tiles"``, unit
    ``"tile"``; nothing when nobody listens).
    """
    import rasterio
    import rasterio.shutil

    from hysupp.io.atomic import atomic_output

    k, H, W = maps.shape
    profile = _profile(k, H, W, georef)
    target = Path(path)
    with atomic_output(target, overwrite) as tmp:
        plain = Path(str(tmp) + ".tiles.tif") if cog else Path(tmp)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                with rasterio.Env(GDAL_CACHEMAX=256), rasterio.open(plain, "w", **profile) as ds:
                    for b, name in enumerate(names):
                        ds.set_band_description(b + 1, str(name))
                    with tracker("tiles", total=int(np.prod(maps.numblocks)), unit="tile") as bar:
                        if client is None:
                            _store_threaded(maps, WindowWriter(ds, bar))
                        else:
                            _store_distributed(maps, WindowWriter(ds, bar), client)
                if cog:
                    with rasterio.Env(GDAL_CACHEMAX=256):
                        rasterio.shutil.copy(plain, tmp, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES",
                                             BLOCKSIZE=512, BIGTIFF="IF_SAFER", OVERVIEW_RESAMPLING="AVERAGE")
        finally:
            if cog and plain.exists():
                plain.unlink()
    return target


def _store_threaded(maps: Any, writer: WindowWriter) -> None:
    import dask.array as dsa

    dsa.store(maps, writer, lock=threading.Lock(), scheduler="threads")


def _store_distributed(maps: Any, writer: WindowWriter, client: Any) -> None:
    from distributed import as_completed

    row_off = np.concatenate([[0], np.cumsum(maps.chunks[1])])
    col_off = np.concatenate([[0], np.cumsum(maps.chunks[2])])
    blocks = maps.to_delayed()
    keys = [(i, j) for i in range(blocks.shape[1]) for j in range(blocks.shape[2])]
    futures = client.compute([blocks[0, i, j] for i, j in keys])
    where = {f.key: ij for f, ij in zip(futures, keys)}
    for fut in as_completed(futures, loop=client.loop):
        i, j = where[fut.key]
        writer[(slice(0, maps.shape[0]), slice(row_off[i], row_off[i + 1]),
                slice(col_off[j], col_off[j + 1]))] = fut.result()
        fut.release()
