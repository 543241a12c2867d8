"""Tiled pansharpening runs of scenes larger than memory (``hysupp fuse --tile``).

:func:`fuse_tiled` reads the MS ``(L, h, w)`` and the PAN ``(H, W)`` (``H = r h``) as dask arrays
-- windows of raster files (:func:`hysupp.io.raster.open_raster`), ``xarray.DataArray``\\ s (e.g.
``rioxarray.open_rasterio(path, chunks=...)``) or arrays -- and builds the lazy fused cube with
the chunk-wise maths of :mod:`hysupp.fusion.tiled` (filters with halos, global statistics computed
once over the whole scene), so that the tiled result equals the in-memory method's. The result
stays lazy (``run.fused``, ``run.dataarray`` on the PAN's grid) or is streamed to a Cloud Optimized
GeoTIFF (:func:`hysupp.io.raster.stream_to_cog`); :func:`fuse_tiled_to_folder` writes the COG
and the run record into a new output folder. Chunks run on Dask's threads or a
``dask.distributed`` cluster (:mod:`hysupp.runs.scheduling`).

Example
-------
>>> import numpy as np
>>> from hysupp.fusion.pansharpening.mra import MTF_GLP
>>> rng = np.random.default_rng(0)
>>> ms, pan = rng.random((4, 40, 40)), rng.random((160, 160))
>>> run = fuse_tiled(ms, pan, "MTF-GLP", ratio=4, sensor="QB", tile=64)
>>> ref = MTF_GLP().fuse(ms, pan, ratio=4, sensor="QB").fused
>>> bool(np.allclose(run.compute(), ref, rtol=1e-9, atol=1e-9))
True
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.fusion.tiled import TILED_METHODS, tiled_fusion
from hysupp.io.raster import dataarray_to_dask, open_raster, stream_to_cog
from hysupp.io.xarray import is_dataarray, require
from hysupp.runs.diagnostics import recorded_warnings
from hysupp.runs.progress import reports_progress
from hysupp.runs.record import check_output, default_output_dir, method_block, run_record, streamed_run_folder
from hysupp.runs.scheduling import compute, compute_array, open_client, scheduler_name
from hysupp.scene import Georef

__all__ = ["TILED_METHODS", "TiledFusion", "fuse_tiled", "fuse_tiled_to_folder"]


@dataclass
class TiledFusion:
    """The outcome of :func:`fuse_tiled`: ``fused`` the lazy ``(L, H, W)`` float64 dask array,
    ``stats`` the global statistics passed to every chunk, ``path`` the COG written (if ``out``)."""

    method: str
    fused: Any
    stats: dict[str, Any]
    georef: Georef | None
    info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    record: dict[str, Any] = field(default_factory=dict)
    #: the lazy result as an ``xarray.DataArray`` on the PAN's grid (coords, CRS) when the PAN was one
    dataarray: Any = None

    def compute(self, scheduler: Any = None) -> np.ndarray:
        """The fused cube as a NumPy array (threads by default, or a ``dask.distributed`` scheduler)."""
        return compute_array(self.fused, scheduler)


def _as_dask(x: Any, tile: int) -> tuple[Any, Georef | None, Any]:
    """(dask ``(B, H, W)`` array, georef, DataArray or None) from a file, DataArray or array."""
    from hysupp.runs.unmix_tiled import check_tiled_source

    dsa = require("dask.array")
    check_tiled_source(x)
    if isinstance(x, (str, os.PathLike)):
        cube, header = open_raster(x, tile=tile)
        return cube, header.georef, None
    if is_dataarray(x):
        cube, header, _ = dataarray_to_dask(x if x.ndim == 3 else x.expand_dims("band"), tile)
        return cube, header.georef, x
    if hasattr(x, "dask"):
        return (x if x.ndim == 3 else x[None]), None, None
    a = np.asarray(x)
    a = a if a.ndim == 3 else a[None]
    return dsa.from_array(a, chunks=(-1, tile, tile)), None, None


def _describe(x: Any) -> str:
    return os.fspath(x) if isinstance(x, (str, os.PathLike)) else type(x).__name__


@reports_progress
@recorded_warnings
def fuse_tiled(ms: Any, pan: Any, method: str = "MTF-GLP", *, ratio: int | None = None, sensor: str | None = None,
               tile: int = 1024, out: str | os.PathLike | None = None, georef: Georef | None = None,
               scheduler: Any = None, progress: Any = None, overwrite: bool = False) -> TiledFusion:
    """Pansharpen ``ms`` + ``pan`` tile by tile (lazy ``dask.array``), optionally into a COG.

    Parameters
    ----------
    ms, pan : path, xarray.DataArray, dask or NumPy array
        MS ``(L, h, w)`` and PAN ``(H, W)``/``(1, H, W)`` with ``H = ratio h``; files are read
        window by window (GeoTIFF / any rasterio format).
    method : str
        One of :data:`~hysupp.fusion.tiled.TILED_METHODS`.
    ratio : int, optional
        Resolution ratio (any integer >= 2); default ``H // h``.
    sensor : str, optional
        MTF table entry (WV2, QB, ...) of the MTF-GLP filters.
    tile : int
        Chunk side in PAN pixels (a multiple of ``ratio`` is used).
    out : path, optional
        Stream the fused cube (float32) to this Cloud Optimized GeoTIFF, on the PAN grid
        (the PAN file's georeference, or ``georef``); an existing file is refused before any work
        unless ``overwrite``.
    scheduler
        Dask scheduler: threads by default, or a ``dask.distributed`` Client/cluster/address.
    progress : None, bool or callable
        Progress (:mod:`hysupp.runs.progress`): the tiles written to ``out`` (Dask's tasks). None
        (default) keeps the callback in effect (none: nothing is printed), True draws bars with an
        ETA on stderr, a callable receives :class:`~hysupp.progress.ProgressEvent` s, False silences.
    """
    from hysupp.methods.registry import get_method

    cls = get_method(method)
    if cls.name not in TILED_METHODS:
        raise InputError(f"fuse_tiled runs {', '.join(TILED_METHODS)}; {cls.name} needs the whole image "
                         "(use hysupp.fuse)")
    require("dask")
    if out is not None:
        check_output(out, overwrite, kind="file")   # before the statistics pass over the data
    client, owned = open_client(scheduler)
    try:
        return _fuse_tiled(cls, ms, pan, ratio, sensor, tile, out, georef, client, scheduler_name(scheduler),
                           overwrite)
    finally:
        if owned:
            client.close()


def _fuse_tiled(cls: Any, ms: Any, pan: Any, ratio: int | None, sensor: str | None, tile: int, out: Any,
                georef: Georef | None, client: Any, scheduler_label: str, overwrite: bool) -> TiledFusion:
    t0 = time.perf_counter()
    ms_d, _, ms_da = _as_dask(ms, max(1, tile // (ratio or 4)))
    pan_d, pan_georef, pan_da = _as_dask(pan, tile)
    if pan_d.shape[0] != 1:
        raise InputError(f"the PAN must have one band, got {pan_d.shape[0]}")
    L, h, w = ms_d.shape
    H, W = pan_d.shape[1:]
    ratio = int(ratio) if ratio is not None else H // max(h, 1)
    if (H, W) != (ratio * h, ratio * w):
        raise InputError(f"PAN {H} x {W} is not ratio {ratio} x MS {h} x {w}")
    fused, stats, info = tiled_fusion(cls, ms_d, pan_d, ratio, sensor, tile, lambda lazy: compute(lazy, client))
    info["stats_s"] = time.perf_counter() - t0
    run = TiledFusion(method=cls.name, fused=fused, stats={k: np.asarray(v).tolist() for k, v in stats.items()},
                      georef=georef if georef is not None else pan_georef, info=info)
    names = [f"fused band {i + 1}" for i in range(L)]
    if ms_da is not None and ms_da.ndim == 3:
        from hysupp.io.xarray import band_dim

        bdim = band_dim(ms_da)
        if bdim in ms_da.coords:
            names = [str(v) for v in np.asarray(ms_da[bdim].values)]
    if pan_da is not None:
        from hysupp.io.xarray import maps_to_dataarray

        run.dataarray = maps_to_dataarray(fused, names, pan_da, dim="band", georef=run.georef, name="fused")
    if out is not None:
        t1 = time.perf_counter()
        run.path = stream_to_cog(fused, out, georef=run.georef, names=names, client=client,
                                 overwrite=overwrite)
        info["write_s"] = time.perf_counter() - t1
    info["wall_s"] = time.perf_counter() - t0
    run.record = run_record(
        method=method_block(cls),
        input={"ms": _describe(ms), "pan": _describe(pan), "shape": list(fused.shape)},
        protocol={"name": "fr", "ratio": ratio, "sensor": sensor, "tile": tile, "mode": "tiled",
                  "scheduler": scheduler_label},
        stats=run.stats, output=None if run.path is None else str(run.path), info=info)
    return run


def fuse_tiled_to_folder(ms: Any, pan: Any, method: str = "MTF-GLP", out_dir: str | os.PathLike | None = None, *,
                         overwrite: bool = False, progress: Any = None, config: dict[str, Any] | None = None,
                         **options: Any) -> TiledFusion:
    """:func:`fuse_tiled` into a new output folder (``hysupp fuse --tile``): ``fused.tif`` (the COG on
    the PAN grid, streamed) and ``run.json`` (whose ``output`` is the COG's final path).

    The folder is checked before any work (an existing non-empty one needs ``overwrite``) and
    written atomically (:func:`hysupp.runs.record.streamed_run_folder`); ``config`` (the ``--config``
    file's record) is stored in ``run.json``; ``out_dir`` defaults to a new
    ``hysupp-out/<PAN name>-<method>-tiled-<UTC time>``. ``options`` are those of
    :func:`fuse_tiled` (``ratio``, ``sensor``, ``tile``, ``scheduler``...).
    """
    from hysupp.methods.registry import get_method

    if "out" in options:
        raise InputError("fuse_tiled_to_folder writes out_dir/fused.tif: pass out_dir, not out")
    if out_dir is None:
        name = Path(pan).stem if isinstance(pan, (str, os.PathLike)) else str(getattr(pan, "name", None) or "pan")
        out_dir = default_output_dir(f"{name}-{get_method(method).name}-tiled")
    return streamed_run_folder(out_dir, "fused.tif",
                               lambda target: fuse_tiled(ms, pan, method, out=target, progress=progress, **options),
                               overwrite=overwrite, config=config)
