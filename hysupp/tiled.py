"""Tiled unmixing of scenes larger than memory with ``dask.array`` (``hysupp run --tile``).

The image is a ``(L, H, W)`` dask array chunked ``(L, tile, tile)`` (every band of a tile in one
chunk): windows read from a raster file with rasterio, or the data of an ``xarray.DataArray``
(e.g. ``rioxarray.open_rasterio(path, chunks=...)``). Per-pixel steps run chunk by chunk with
``map_blocks``:

* supervised, non-spatial methods (FCLS, ...) with fixed endmembers (``endmembers=`` an array, a
  file, ``"library"``);
* library methods that estimate abundances over every atom pixel by pixel (non-spatial sparse
  unmixing, e.g. SUnSAL) -- their per-pixel ADMM stopping test then runs on each tile's pixels;
* everything else (extractors, blind and semi-supervised methods that estimate ``p`` endmembers,
  supervised methods without endmembers): the endmembers are estimated **once** on a spatially
  stratified pixel sample (:func:`stratified_sample`: one pixel drawn at random in each cell of a
  regular grid of ``n_sample`` cells, seeded) and FCLS abundances are computed tile-wise with them.
  Methods that need the whole image grid (``spatial``) are refused.

Invalid pixels (any band non-finite or equal to nodata) get NaN abundances.

The result either stays lazy (an ``xarray.DataArray`` / dask array the caller computes) or is
streamed to a GeoTIFF window by window and converted to a Cloud Optimized GeoTIFF (GDAL's COG
driver) without holding the maps in memory: only the chunks in flight are resident, so memory is
bounded by ``tile`` and the number of threads, not by the scene size.

Scheduling is Dask's: the local threaded scheduler by default, or a ``dask.distributed`` cluster
(``scheduler=`` a ``Client``, a cluster such as ``LocalCluster(n_workers=2)`` or an address
``"tcp://host:8786"``). Progress is Dask's progress bar (``progress=True``).

Example
-------
>>> import numpy as np
>>> from hysupp.tiled import unmix_tiled
>>> rng = np.random.default_rng(0)
>>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 30 * 40).T
>>> cube = (E @ A).reshape(20, 30, 40)
>>> run = unmix_tiled(cube, "FCLS", endmembers=E, tile=16)
>>> maps = run.compute()
>>> maps.shape, bool(np.allclose(maps.reshape(3, -1), A, atol=1e-5))
((3, 30, 40), True)
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.io.xarray import is_dataarray, require
from hysupp.scene import Georef, Scene

__all__ = ["PixelUnmixer", "TiledRun", "open_raster", "stratified_sample", "unmix_tiled"]

#: pixels solved at a time inside a chunk (bounds the float64 temporaries of the solvers)
PIXEL_BLOCK = 65536


# ---------------------------------------------------------------------------------------------- input
@dataclass
class RasterSource:
    """A raster file read window by window (picklable, so tasks can run on distributed workers)."""

    path: str
    shape: tuple[int, int, int]
    dtype: str
    band_index: list[int] | None = None   # 1-based bands kept (bad bands dropped), None = all

    def read(self, row0: int, row1: int, col0: int, col1: int) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(self.path) as ds:
                return ds.read(self.band_index, window=Window(col0, row0, col1 - col0, row1 - row0))


def open_raster(path: str | os.PathLike, tile: int = 512) -> tuple[Any, Scene]:
    """A raster file as a lazy ``(L, H, W)`` dask array chunked ``(L, tile, tile)`` and a header
    :class:`Scene` (wavelengths, georef; its cube is a zero-stride placeholder, not the data)."""
    import rasterio

    from hysupp.io.geotiff import _band_metadata, crs_string

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
            wl, fwhm, bbl = _band_metadata(ds, notes)
            crs, nodata = crs_string(ds.crs), ds.nodata
            transform = tuple(float(x) for x in tuple(ds.transform)[:6])
            descriptions = list(ds.descriptions)
    band_index = None
    if bbl is not None and not np.all(bbl != 0):
        keep = np.flatnonzero(bbl != 0)
        band_index = [int(k) + 1 for k in keep]
        wl = None if wl is None else wl[keep]
        fwhm = None if fwhm is None else fwhm[keep]
        notes.append(f"{count - keep.size} bands flagged bbl = 0 dropped")
    L = count if band_index is None else len(band_index)
    src = RasterSource(os.fspath(p), (L, H, W), dtype, band_index)
    rows = [(r, min(r + tile, H)) for r in range(0, H, tile)]
    cols = [(c, min(c + tile, W)) for c in range(0, W, tile)]
    read = dask.delayed(src.read, pure=True)
    blocks = [[dsa.from_delayed(read(r0, r1, c0, c1), shape=(L, r1 - r0, c1 - c0), dtype=dtype)
               for c0, c1 in cols] for r0, r1 in rows]
    cube = _block(dsa, blocks)
    identity = transform == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    georef = None
    if crs is not None or not identity or nodata is not None:
        georef = Georef(crs=crs, transform=None if identity and crs is None else transform, nodata=nodata)
    extras: dict[str, Any] = {}
    if any(descriptions):
        extras["band_names"] = [d or f"band {i + 1}" for i, d in enumerate(descriptions)]
    header = Scene(cube=np.broadcast_to(np.zeros((), np.float32), (L, H, W)), wavelengths=wl, fwhm=fwhm,
                   georef=georef, name=p.stem, layout="geotiff-tiled",
                   notes=notes + [f"read lazily in {len(rows)} x {len(cols)} windows of {tile} x {tile} pixels"],
                   extras=extras)
    return cube, header


def _block(dsa: Any, blocks: list[list[Any]]) -> Any:
    """Assemble a grid of ``(L, h, w)`` dask arrays into one ``(L, H, W)`` array."""
    return dsa.concatenate([dsa.concatenate(row, axis=2) for row in blocks], axis=1)


def _chunked_view(data: np.ndarray, tile: int) -> Any:
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


def _from_dataarray(da: Any, tile: int) -> tuple[Any, Scene, Any]:
    """(dask cube, header Scene, DataArray template) from a ``(band, y, x)`` DataArray."""
    from hysupp.io.xarray import _georef, _template, _wavelengths, band_dim

    require("dask.array")
    bdim = band_dim(da)
    notes = [f"xarray.DataArray {tuple(da.dims)} {tuple(da.shape)}"]
    wl, fwhm = _wavelengths(da, bdim, notes)
    data = da.data
    if not hasattr(data, "dask"):
        data = _chunked_view(np.asarray(data), tile)
    else:
        data = data.rechunk({0: -1})   # all bands of a pixel in one chunk
    header = Scene(cube=np.broadcast_to(np.zeros((), np.float32), tuple(da.shape)), wavelengths=wl, fwhm=fwhm,
                   georef=_georef(da), name=str(da.name or "dataarray"), layout="xarray-tiled", notes=notes)
    return data, header, _template(da, bdim)


# ---------------------------------------------------------------------------------------------- per pixel
@dataclass
class PixelUnmixer:
    """A picklable per-chunk function: ``(L, h, w)`` pixels -> ``(k, h, w)`` float32 maps.

    ``method`` is a registered method name run as ``method.unmix(Y, E)`` on the valid pixels of the
    chunk, ``PIXEL_BLOCK`` pixels at a time; invalid pixels (non-finite or ``nodata`` in any band)
    are NaN. ``scale`` multiplies the pixels first (e.g. 1e-4 for integer reflectance).
    """

    method: str
    E: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    nodata: float | None = None
    scale: float | None = None

    @property
    def k(self) -> int:
        return int(self.E.shape[1])

    def __call__(self, block: np.ndarray) -> np.ndarray:
        from hysupp.io._common import valid_mask
        from hysupp.methods.registry import get_method

        L, h, w = block.shape
        if h * w == 0:
            return np.empty((self.k, h, w), dtype=np.float32)
        valid = valid_mask(block, self.nodata).ravel()
        dtype = np.float64 if self.E.dtype == np.float64 else np.float32
        Y = block.reshape(L, h * w)
        idx = None if valid.all() else np.flatnonzero(valid)
        # one gather of the valid pixels (none when all are valid), then contiguous column blocks
        Y = (Y if idx is None else Y[:, idx]).astype(dtype, copy=False)
        if self.scale is not None:
            Y = Y * dtype(self.scale)   # not in place: Y may be a view of the caller's cube
        unmixer = get_method(self.method)(**self.params)
        A = np.empty((self.k, Y.shape[1]), dtype=np.float32)
        for s in range(0, Y.shape[1], PIXEL_BLOCK):
            A[:, s:s + PIXEL_BLOCK] = unmixer.unmix(Y[:, s:s + PIXEL_BLOCK], self.E).abundances  # type: ignore[attr-defined]
        if idx is None:
            return A.reshape(self.k, h, w)
        out = np.full((self.k, h * w), np.nan, dtype=np.float32)   # invalid pixels: NaN
        out[:, idx] = A
        return out.reshape(self.k, h, w)


def stratified_sample(cube: Any, n_sample: int = 20000, *, seed: int = 0, nodata: float | None = None,
                      scheduler: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """A spatially stratified random sample of valid pixels of a lazy ``(L, H, W)`` cube.

    The image is cut into a regular grid of about ``n_sample`` cells (rows x columns in the
    image's aspect ratio); one pixel is drawn uniformly in each cell (``numpy.random.default_rng
    (seed)``), so the sample covers the whole scene. The pixels are gathered chunk by chunk (one
    pass over the data, bounded memory). Returns ``Y`` ``(L, n)`` (invalid pixels dropped) and the
    flat pixel indices ``(n,)``.
    """
    import dask

    from hysupp.io._common import valid_mask

    L, H, W = cube.shape
    n_sample = int(min(max(n_sample, 1), H * W))
    gr = max(1, min(H, round(np.sqrt(n_sample * H / W))))
    gc = max(1, min(W, round(n_sample / gr)))
    rng = np.random.default_rng(seed)
    r_edges = np.linspace(0, H, gr + 1).astype(int)
    c_edges = np.linspace(0, W, gc + 1).astype(int)
    rows = (r_edges[:-1, None] + (rng.random((gr, gc)) * np.diff(r_edges)[:, None]).astype(int)).ravel()
    cols = (c_edges[None, :-1] + (rng.random((gr, gc)) * np.diff(c_edges)[None, :]).astype(int)).ravel()
    row_off = np.concatenate([[0], np.cumsum(cube.chunks[1])])
    col_off = np.concatenate([[0], np.cumsum(cube.chunks[2])])
    bi = np.searchsorted(row_off, rows, side="right") - 1
    bj = np.searchsorted(col_off, cols, side="right") - 1

    def take(block: np.ndarray, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        return np.asarray(block[:, rr, cc])

    blocks = cube.to_delayed()
    tasks, order = [], []
    for i in range(len(cube.chunks[1])):
        for j in range(len(cube.chunks[2])):
            sel = np.flatnonzero((bi == i) & (bj == j))
            if sel.size:
                tasks.append(dask.delayed(take)(blocks[0, i, j], rows[sel] - row_off[i], cols[sel] - col_off[j]))
                order.append(sel)
    parts = _compute(tasks, scheduler)
    sel = np.concatenate(order)
    Y = np.empty((L, rows.size), dtype=np.result_type(cube.dtype, np.float32))
    Y[:, sel] = np.concatenate(parts, axis=1)
    ok = valid_mask(Y[:, :, None], nodata).ravel()
    return Y[:, ok], (rows * W + cols)[ok]


def _compute(tasks: list[Any], scheduler: Any) -> list[Any]:
    import dask

    client = _client(scheduler)
    if client is not None:
        return client.gather(client.compute(tasks))
    return list(dask.compute(*tasks, scheduler="threads"))


def _open_client(scheduler: Any) -> tuple[Any, bool]:
    """(client or None, whether this call created it and must close it)."""
    client = _client(scheduler)
    return client, client is not None and client is not scheduler


def _client(scheduler: Any) -> Any:
    """A ``distributed.Client`` for ``scheduler`` (a Client, a cluster or an address), or None."""
    if scheduler is None or scheduler in ("threads", "threaded", "sync", "synchronous"):
        return None
    distributed = require("distributed")
    if isinstance(scheduler, distributed.Client):
        return scheduler
    if hasattr(scheduler, "scheduler_address"):
        return distributed.Client(scheduler)
    if isinstance(scheduler, str):
        return distributed.Client(scheduler, set_as_default=False)
    raise InputError(f"scheduler must be None, 'threads', a distributed Client, a cluster or an address "
                     f"'tcp://host:port', got {scheduler!r}")


# ---------------------------------------------------------------------------------------------- output
class _WindowWriter:
    """``da.store`` target: writes each ``(k, h, w)`` region as a window of an open rasterio dataset."""

    def __init__(self, ds: Any):
        self.ds = ds

    def __setitem__(self, key: tuple[slice, slice, slice], value: np.ndarray) -> None:
        from rasterio.windows import Window

        _, rs, cs = key
        self.ds.write(np.asarray(value, dtype=np.float32),
                      window=Window(cs.start, rs.start, cs.stop - cs.start, rs.stop - rs.start))


def _profile(k: int, H: int, W: int, georef: Georef | None, tile: int) -> dict[str, Any]:
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
                  scheduler: Any = None, progress: bool = False, overwrite: bool = False,
                  cog: bool = True) -> Path:
    """Compute a lazy ``(k, H, W)`` dask array chunk by chunk into a tiled GeoTIFF (windowed
    writes, float32, NaN nodata, band descriptions ``names``), then convert it to a COG.

    On the threaded scheduler the chunks are written by ``dask.array.store`` as they finish; on a
    distributed cluster the chunks are computed on the workers and written by the client as they
    arrive (``as_completed``). Either way only the chunks in flight are in memory.
    """
    import rasterio
    import rasterio.shutil

    from hysupp.io.atomic import atomic_output

    k, H, W = maps.shape
    profile = _profile(k, H, W, georef, max(maps.chunks[1]))
    client = _client(scheduler)
    target = Path(path)
    with atomic_output(target, overwrite) as tmp:
        plain = Path(str(tmp) + ".tiles.tif") if cog else Path(tmp)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                with rasterio.Env(GDAL_CACHEMAX=256), rasterio.open(plain, "w", **profile) as ds:
                    for b, name in enumerate(names):
                        ds.set_band_description(b + 1, str(name))
                    if client is None:
                        _store_threaded(maps, _WindowWriter(ds), progress)
                    else:
                        _store_distributed(maps, _WindowWriter(ds), client, progress)
                if cog:
                    with rasterio.Env(GDAL_CACHEMAX=256):
                        rasterio.shutil.copy(plain, tmp, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES",
                                             BLOCKSIZE=512, BIGTIFF="IF_SAFER", OVERVIEW_RESAMPLING="AVERAGE")
        finally:
            if cog and plain.exists():
                plain.unlink()
    return target


def _store_threaded(maps: Any, writer: _WindowWriter, progress: bool) -> None:
    import dask.array as dsa

    lock = threading.Lock()
    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar(out=sys.stderr):
            dsa.store(maps, writer, lock=lock, scheduler="threads")
    else:
        dsa.store(maps, writer, lock=lock, scheduler="threads")


def _store_distributed(maps: Any, writer: _WindowWriter, client: Any, progress: bool) -> None:
    from distributed import as_completed

    row_off = np.concatenate([[0], np.cumsum(maps.chunks[1])])
    col_off = np.concatenate([[0], np.cumsum(maps.chunks[2])])
    blocks = maps.to_delayed()
    keys = [(i, j) for i in range(blocks.shape[1]) for j in range(blocks.shape[2])]
    futures = client.compute([blocks[0, i, j] for i, j in keys])
    where = {f.key: ij for f, ij in zip(futures, keys)}
    t0 = time.perf_counter()
    for done, fut in enumerate(as_completed(futures, loop=client.loop), 1):
        i, j = where[fut.key]
        writer[(slice(0, maps.shape[0]), slice(row_off[i], row_off[i + 1]),
                slice(col_off[j], col_off[j + 1]))] = fut.result()
        fut.release()
        if progress:   # the same text bar as dask.diagnostics.ProgressBar, advanced as tiles are written
            frac = done / len(futures)
            sys.stderr.write(f"\r[{'#' * int(40 * frac):<40}] | {100 * frac:3.0f}% Completed | "
                             f"{time.perf_counter() - t0:.1f} s ({client.scheduler.address})")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")


# ---------------------------------------------------------------------------------------------- driver
@dataclass
class TiledRun:
    """The outcome of :func:`unmix_tiled`.

    ``maps`` is the lazy ``(k, H, W)`` dask array of abundances (NaN at invalid pixels),
    ``abundances`` the same as an ``xarray.DataArray`` when the input was a DataArray (coords,
    CRS, attributes, ``endmember`` coordinate), ``path`` the COG written when ``out`` was given.
    """

    method: str
    maps: Any
    endmembers: np.ndarray
    endmember_names: list[str]
    header: Scene
    info: dict[str, Any]
    abundances: Any = None
    path: Path | None = None
    record: dict[str, Any] = field(default_factory=dict)

    def compute(self, scheduler: Any = None) -> np.ndarray:
        """The abundance maps as a NumPy array (computed on ``scheduler``; threads by default)."""
        client = _client(scheduler)
        if client is not None:
            return np.asarray(client.compute(self.maps).result())
        return np.asarray(self.maps.compute(scheduler="threads"))


def _fixed_endmembers(header: Scene, cls: Any, endmembers: Any, library: Any, scale: float | None
                      ) -> tuple[Scene, np.ndarray | None, list[str] | None, str | None]:
    from hysupp.api import _attach_library, _resolve_endmembers

    if library is not None:
        header = _attach_library(header, library)
    if endmembers is None:
        return header, None, None, None
    if cls.task != "supervised":
        raise InputError(f"{cls.name} is a {cls.task} method; endmembers= applies to supervised methods")
    E, names, source = _resolve_endmembers(header, endmembers)
    return header, np.asarray(E), list(names), source


def unmix_tiled(data: Any, method: str = "FCLS", *, endmembers: Any = None, library: Any = None,
                p: int | None = None, extractor: str = "VCA", params: dict[str, Any] | None = None,
                extractor_params: dict[str, Any] | None = None, tile: int = 512, scheduler: Any = None,
                out: str | os.PathLike | None = None, n_sample: int = 20000, seed: int = 0,
                scale: float | None = None, progress: bool = False, overwrite: bool = False) -> TiledRun:
    """Unmix a raster file, a DataArray or a cube tile by tile with Dask.

    Parameters
    ----------
    data : path, xarray.DataArray or ndarray (L, H, W)
        A raster file (GeoTIFF, ...) read in windows, a (dask-backed) ``(band, y, x)`` DataArray,
        or an array (wrapped in a dask array).
    method : str
        A registered method (see the module docstring for what runs per tile and what is
        estimated on a sample).
    endmembers : "library", ndarray (L, p) or path, optional
        Fixed endmembers of a supervised method (as in :func:`hysupp.unmix`).
    library : str, path or Scene, optional
        Spectral library, matched to the image's bands by wavelength.
    p : int, optional
        Number of endmembers to estimate on the sample (extractor / blind / semi-supervised).
    tile : int
        Chunk size in pixels (rows and columns); all bands are in one chunk.
    scheduler : None, "threads", distributed.Client, cluster or "tcp://..." address
        Where the chunks run (None: Dask's local threaded scheduler).
    out : path, optional
        Write the abundances to this Cloud Optimized GeoTIFF (streamed, bounded memory).
    n_sample, seed
        Size and seed of the stratified pixel sample used to estimate endmembers.
    scale : float, optional
        Multiply the pixels (e.g. 1e-4 for integer reflectance x 10^4).
    progress : bool
        Show Dask's progress bar while writing ``out``.
    """
    require("dask.array")
    if int(tile) < 1:
        raise InputError(f"tile must be a positive number of pixels, got {tile}")
    tile = int(tile)
    client, owned = _open_client(scheduler)
    try:
        return _unmix_tiled(data, method, endmembers=endmembers, library=library, p=p, extractor=extractor,
                            params=params, extractor_params=extractor_params, tile=tile, scheduler=client,
                            scheduler_name=_scheduler_name(scheduler), out=out, n_sample=n_sample, seed=seed,
                            scale=scale, progress=progress, overwrite=overwrite)
    finally:
        if owned:
            client.close()


def _unmix_tiled(data: Any, method: str, *, endmembers: Any, library: Any, p: int | None, extractor: str,
                 params: dict[str, Any] | None, extractor_params: dict[str, Any] | None, tile: int, scheduler: Any,
                 scheduler_name: str, out: Any, n_sample: int, seed: int, scale: float | None, progress: bool,
                 overwrite: bool) -> TiledRun:
    from hysupp.methods.registry import get_method
    from hysupp.records import RECORD_VERSION, environment, to_jsonable, utc_now

    t0 = time.perf_counter()
    template = None
    if is_dataarray(data):
        cube, header, template = _from_dataarray(data, tile)
        source = None
    elif isinstance(data, np.ndarray):
        if data.ndim != 3:
            raise InputError(f"image array must be a cube (L, H, W), got shape {data.shape}")
        cube = _chunked_view(data, tile)
        header = Scene(cube=np.broadcast_to(np.zeros((), np.float32), data.shape), name="array", layout="array")
        source = None
    else:
        cube, header = open_raster(data, tile)
        source = os.fspath(data)
    cls = get_method(method)
    if cls.task not in ("supervised", "extractor", "semi-supervised", "blind"):
        raise InputError(f"{cls.name} is a {cls.task!r} method; tiled runs are for unmixing methods")
    header, E, names, e_source = _fixed_endmembers(header, cls, endmembers, library, scale)
    nodata = None if header.georef is None else header.georef.nodata
    info: dict[str, Any] = {"tile": tile, "chunks": [len(c) for c in cube.chunks[1:]]}
    per_pixel_params = dict(params or {})
    unmix_name = cls.name
    if E is None and cls.task == "semi-supervised" and not cls.needs_p and not cls.spatial:
        if header.library is None:
            raise InputError(f"{cls.name} needs a spectral library: pass library=usgs1995|FILE")
        E, e_source = np.asarray(header.library), "library"
        names = list(header.library_names or [f"D{j + 1}" for j in range(E.shape[1])])
    elif E is None:
        E, names, e_source = _estimate_on_sample(cube, header, cls, p, extractor, params, extractor_params,
                                                 n_sample, seed, nodata, scale, scheduler, info)
        unmix_name, per_pixel_params = "FCLS", {}
    elif getattr(cls, "spatial", False):
        raise InputError(f"{cls.name} works on the whole image grid and cannot run tile by tile")
    fn = PixelUnmixer(unmix_name, E, per_pixel_params, nodata, scale)
    k = E.shape[1]
    maps = cube.map_blocks(fn, dtype=np.float32, chunks=((k,),) + cube.chunks[1:], name=f"unmix-{unmix_name}")
    abundances = None
    if template is not None:
        from hysupp.io.xarray import maps_to_dataarray

        abundances = maps_to_dataarray(maps, names, template, dim="endmember", georef=header.georef,
                                       name="abundances")
    run = TiledRun(method=cls.name, maps=maps, endmembers=E, endmember_names=list(names or []), header=header,
                   info=info, abundances=abundances)
    if out is not None:
        t1 = time.perf_counter()
        run.path = stream_to_cog(maps, out, georef=header.georef, names=run.endmember_names, scheduler=scheduler,
                                 progress=progress, overwrite=overwrite)
        info["write_s"] = time.perf_counter() - t1
    info["wall_s"] = time.perf_counter() - t0
    run.record = to_jsonable({
        "record_version": RECORD_VERSION, "created": utc_now(),
        "method": {"name": cls.name, "task": cls.task, "params": params or {}, "reference": cls.reference,
                   "per_tile": unmix_name},
        "input": {"path": source, "name": header.name, "shape": list(header.shape), "notes": header.notes},
        "protocol": {"endmembers": e_source, "p": int(k), "tile": tile, "seed": seed, "scale": scale,
                     "scheduler": scheduler_name},
        "output": None if run.path is None else str(run.path),
        "info": info, "environment": environment()})
    return run


def _scheduler_name(scheduler: Any) -> str:
    if scheduler is None or isinstance(scheduler, str):
        return scheduler or "threads"
    address = getattr(scheduler, "scheduler_address", None)
    if address is None and getattr(scheduler, "scheduler", None) is not None:
        address = getattr(scheduler.scheduler, "address", None)   # a distributed.Client
    return address or type(scheduler).__name__


def _estimate_on_sample(cube: Any, header: Scene, cls: Any, p: int | None, extractor: str, params: Any,
                        extractor_params: Any, n_sample: int, seed: int, nodata: float | None,
                        scale: float | None, scheduler: Any, info: dict[str, Any]
                        ) -> tuple[np.ndarray, list[str], str]:
    """Endmembers estimated once on a stratified sample of valid pixels."""
    from hysupp.api import _dominant_atom_names, _instantiate
    from hysupp.methods.registry import get_method
    from hysupp.records import to_jsonable

    if getattr(cls, "spatial", False):
        raise InputError(f"{cls.name} works on the whole image grid; it cannot estimate endmembers on a pixel "
                         f"sample for a tiled run")
    if p is None:
        raise InputError(f"{cls.name} estimates endmembers on a pixel sample: pass p (the number of endmembers)")
    t0 = time.perf_counter()
    Y, _idx = stratified_sample(cube, n_sample, seed=seed, nodata=nodata, scheduler=scheduler)
    Y = Y.astype(np.float32, copy=False) if scale is None else (Y * scale).astype(np.float32)
    info["sample"] = {"n": int(Y.shape[1]), "requested": int(n_sample), "seed": seed, "stratified": "grid",
                      "wall_s": None}
    if cls.task == "blind":
        res = _instantiate(cls, params, seed).unmix(Y, int(p))
        E, names, source = res.endmembers, [f"E{j + 1}" for j in range(int(p))], f"{cls.name} on sample"
        info["method"] = to_jsonable(res.info)
    elif cls.task == "semi-supervised":
        if header.library is None:
            raise InputError(f"{cls.name} needs a spectral library: pass library=usgs1995|FILE")
        res = _instantiate(cls, params, seed).unmix(Y, header.library, p=int(p))
        atom_names = list(header.library_names or [f"D{j + 1}" for j in range(header.library.shape[1])])
        E, source = res.endmembers, f"{cls.name} on sample"
        names = _dominant_atom_names(res.library_coefficients, atom_names) or [f"E{j + 1}" for j in range(int(p))]
        info["method"] = to_jsonable(res.info)
    else:
        ext_cls = cls if cls.task == "extractor" else get_method(extractor, "extractor")
        ext_par = params if cls.task == "extractor" else extractor_params
        res = _instantiate(ext_cls, ext_par, seed).extract(Y, int(p))
        E, names, source = res.endmembers, [f"E{j + 1}" for j in range(int(p))], f"{ext_cls.name} on sample"
        info["extractor"] = to_jsonable(res.info)
    info["sample"]["wall_s"] = time.perf_counter() - t0
    info["abundances"] = "FCLS per tile with the endmembers estimated on the sample"
    return np.asarray(E), names, source
