"""Tiled unmixing runs of scenes larger than memory with ``dask.array`` (``hysupp run --tile``).

The image is a ``(L, H, W)`` dask array chunked ``(L, tile, tile)`` (every band of a tile in one
chunk): windows read from a raster file with rasterio (:func:`hysupp.io.raster.open_raster`), or the
data of an ``xarray.DataArray`` (e.g. ``rioxarray.open_rasterio(path, chunks=...)``). Per-pixel
steps run chunk by chunk with ``map_blocks`` (:class:`PixelUnmixer`):

* supervised, non-spatial methods (FCLS, ...) with fixed endmembers (``endmembers=`` an array, a
  file, ``"library"``);
* library methods that estimate abundances over every atom pixel by pixel (non-spatial sparse
  unmixing, e.g. SUnSAL) -- their per-pixel ADMM stopping test then runs on each tile's pixels;
* everything else (extractors, blind and semi-supervised methods that estimate ``p`` endmembers,
  supervised methods without endmembers): the endmembers are estimated **once** on a spatially
  stratified pixel sample (:func:`stratified_sample`: one pixel drawn at random in each cell of a
  regular grid of ``n_sample`` cells, seeded) and FCLS abundances are computed tile-wise with them.
  Methods that need the whole image grid (``spatial``) are refused.

Invalid pixels (any band non-finite or equal to nodata) and degenerate ones (all-zero or constant
spectra, :func:`hysupp.runs.inputs.degenerate_pixels`, as in :func:`hysupp.unmix`) get NaN
abundances; degenerate pixels never enter the sample. When a library or fixed endmembers are given,
the image and them are brought to the same units as in :func:`hysupp.unmix`
(:func:`hysupp.io.units.harmonise_units`), the image's units judged on the valid pixels of at most
16 chunks spread over the scene (:func:`units_sample`); the factor found multiplies the pixels of
every tile.

The result either stays lazy (an ``xarray.DataArray`` / dask array the caller computes) or is
streamed to a GeoTIFF window by window and converted to a Cloud Optimized GeoTIFF (GDAL's COG
driver, :func:`hysupp.io.raster.stream_to_cog`) without holding the maps in memory: only the chunks
in flight are resident, so memory is bounded by ``tile`` and the number of threads, not by the
scene size. :func:`unmix_tiled_to_folder` (``hysupp run --tile``) writes the COG, the endmembers
and the run record into a new output folder.

Scheduling is Dask's (:mod:`hysupp.runs.scheduling`): the local threaded scheduler by default, or a
``dask.distributed`` cluster (``scheduler=`` a ``Client``, a cluster such as
``LocalCluster(n_workers=2)`` or an address ``"tcp://host:8786"``). Progress (``progress=``) counts
the tiles as Dask finishes them (:func:`hysupp.io.raster.stream_to_cog`).

Example
-------
>>> import numpy as np
>>> from hysupp.runs.unmix_tiled import unmix_tiled
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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.io.raster import chunked_view, dataarray_to_dask, open_raster, stream_to_cog, valid_mask
from hysupp.io.xarray import is_dataarray, require
from hysupp.records import to_jsonable
from hysupp.runs.diagnostics import convergence_warning, recorded_warnings
from hysupp.runs.inputs import (
    attach_library,
    check_scale,
    degenerate_pixels,
    instantiate,
    resolve_endmembers,
    units_record,
)
from hysupp.runs.progress import reports_progress
from hysupp.runs.record import (
    check_output,
    default_output_dir,
    method_block,
    run_record,
    source_path,
    streamed_run_folder,
)
from hysupp.runs.scheduling import compute, compute_array, open_client, scheduler_name
from hysupp.runs.unmix import dominant_atom_names
from hysupp.scene import Scene

__all__ = ["NOT_WINDOWED", "PIXEL_BLOCK", "PixelUnmixer", "TiledRun", "check_tiled_source", "harmonise_tiled",
           "stratified_sample", "units_sample", "unmix_tiled", "unmix_tiled_to_folder"]

#: pixels solved at a time inside a chunk (bounds the float64 temporaries of the solvers)
PIXEL_BLOCK = 65536


#: file types a tiled run cannot read window by window (they are read whole by :func:`hysupp.load`)
NOT_WINDOWED = {".mat": "a MATLAB file", ".npz": "a NumPy archive", ".npy": "a NumPy array file",
                ".h5": "an HDF5 file", ".hdf5": "an HDF5 file", ".csv": "a CSV file", ".txt": "a text file"}


def check_tiled_source(data: Any) -> None:
    """Refuse, before any work, a file a tiled run cannot read window by window: tiled runs read
    rasters (GeoTIFF, ENVI, any GDAL format) through rasterio; a ``.mat``/``.npz``/``.npy``/``.h5``
    file holds arrays that are read whole (run without ``tile``, or convert it to a GeoTIFF). A
    file name that is not valid UTF-8 is refused too (GDAL needs UTF-8 names)."""
    from hysupp.io.envi import is_spectral_image

    if is_spectral_image(data):
        return   # read into memory with its wavelengths (hysupp.io.arrays.as_scene)
    if not isinstance(data, (str, os.PathLike, np.ndarray)) and not is_dataarray(data) and not hasattr(data, "dask"):
        from hysupp.runs.inputs import unreadable

        raise InputError(unreadable(data) + " (tiled runs: a raster file, a DataArray or a dask/NumPy array)")
    if not isinstance(data, (str, os.PathLike)):
        return
    path = os.fspath(data)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    suffix = Path(path).suffix.lower()
    if suffix in NOT_WINDOWED:
        raise InputError(f"{path!r} is {NOT_WINDOWED[suffix]}: tiled runs (--tile) read GeoTIFF or ENVI rasters "
                         f"window by window. Run without --tile, or convert it first: "
                         f"hysupp.save(hysupp.load({path!r}), {str(Path(path).with_suffix('.tif'))!r})")
    from hysupp.runs.inputs import check_file_name

    check_file_name(path)


# ---------------------------------------------------------------------------------------------- per pixel
@dataclass
class PixelUnmixer:
    """A picklable per-chunk function: ``(L, h, w)`` pixels -> ``(k, h, w)`` float32 maps.

    ``method`` is a registered method name run as ``method.unmix(Y, E)`` on the valid pixels of the
    chunk, ``PIXEL_BLOCK`` pixels at a time; invalid pixels (non-finite or ``nodata`` in any band)
    and degenerate ones (all-zero or constant spectra) are NaN. ``scale`` multiplies the pixels
    first (e.g. 1e-4 for integer reflectance).
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
        from hysupp.methods.registry import get_method

        L, h, w = block.shape
        if h * w == 0:
            return np.empty((self.k, h, w), dtype=np.float32)
        valid = valid_mask(block, self.nodata).ravel()
        zero, constant = degenerate_pixels(block.reshape(L, h * w))
        valid &= ~(zero | constant)
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
    pass over the data, bounded memory). Returns ``Y`` ``(L, n)`` (invalid and degenerate pixels
    dropped) and the flat pixel indices ``(n,)``.
    """
    import dask

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
    client, owned = open_client(scheduler)
    try:
        parts = compute(tasks, client)
    finally:
        if owned:
            client.close()
    sel = np.concatenate(order)
    Y = np.empty((L, rows.size), dtype=np.result_type(cube.dtype, np.float32))
    Y[:, sel] = np.concatenate(parts, axis=1)
    zero, constant = degenerate_pixels(Y)
    ok = valid_mask(Y[:, :, None], nodata).ravel() & ~zero & ~constant
    return Y[:, ok], (rows * W + cols)[ok]


def units_sample(cube: Any, *, nodata: float | None = None, max_chunks: int = 16, max_pixels: int = 20000,
                 scheduler: Any = None) -> np.ndarray:
    """Valid, non-degenerate pixels ``(L, n)`` of at most ``max_chunks`` chunks of a lazy ``(L, H, W)``
    cube, evenly spread over its chunk grid (at most ``max_pixels`` in all, strided): enough to judge
    the image's units (the 99th percentile of :func:`hysupp.io.units.infer_units`) without a pass
    over the whole scene."""
    import dask

    blocks = cube.to_delayed()
    nr, nc = blocks.shape[1], blocks.shape[2]
    total = nr * nc
    picks = np.unique(np.linspace(0, total - 1, min(max_chunks, total)).round().astype(int))
    per = max(1, max_pixels // picks.size)

    def pick(block: np.ndarray) -> np.ndarray:
        b = np.asarray(block)
        Y = b.reshape(b.shape[0], -1)
        zero, constant = degenerate_pixels(Y)
        Y = Y[:, valid_mask(b, nodata).ravel() & ~zero & ~constant]
        return Y[:, ::max(1, -(-Y.shape[1] // per))]

    client, owned = open_client(scheduler)
    try:
        parts = compute([dask.delayed(pick)(blocks[0, i // nc, i % nc]) for i in picks], client)
    finally:
        if owned:
            client.close()
    return np.concatenate(parts, axis=1)


def harmonise_tiled(cube: Any, header: Scene, E: np.ndarray | None, e_source: str | None, *,
                    scale: float | None, library_scale: float | None, nodata: float | None, scheduler: Any
                    ) -> tuple[Scene, np.ndarray | None, float | None]:
    """The image (judged on :func:`units_sample`) and the fixed endmembers, else the library, in the
    same units (:func:`hysupp.io.units.harmonise_units`): ``(header, E, scale)`` with the library or
    ``E`` rescaled and ``scale`` the factor the tiles' pixels are multiplied by."""
    from dataclasses import replace

    from hysupp.io.units import harmonise_units

    on_library = E is None or e_source == "library"
    ref = header.library if E is None else E
    if ref is None:
        return header, E, scale
    Ys = units_sample(cube, nodata=nodata, scheduler=scheduler)
    if Ys.shape[1] == 0:
        return header, E, scale
    Ys = Ys.astype(np.float32) if scale is None else (Ys * scale).astype(np.float32)
    image = Scene(cube=Ys[:, None, :], wavelengths=header.wavelengths, name=header.name)
    lib_units = header.extras.get("library_units") or {} if on_library else {}
    other = Scene(library=np.asarray(ref), name=header.extras.get("library_name", "library") if on_library
                  else f"endmembers from {e_source}", extras={"units": lib_units} if lib_units else {})
    h = harmonise_units(image, other, image_fixed=scale is not None,
                        library_fixed=(on_library and library_scale is not None) or bool(lib_units.get("declared")))
    if h.note is None:
        return header, E, scale
    what = "library" if on_library else "endmembers"   # the keys of runs.inputs.harmonise's record
    done = {"image_factor": h.image_factor, f"{what}_factor": h.library_factor, "note": h.note}
    header = replace(header, notes=[*header.notes, h.note], extras={**header.extras, "units_harmonised": {what: done}})
    if h.image_factor != 1.0:
        scale = (1.0 if scale is None else scale) * h.image_factor
    if h.library_factor != 1.0:
        if on_library and header.library is not None:
            header = replace(header, library=h.library.library)
        if E is not None:
            E = h.library.library
    return header, E, scale


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
        return compute_array(self.maps, scheduler)


def _fixed_endmembers(header: Scene, cls: Any, endmembers: Any, library: Any, library_key: str | None,
                      library_scale: float | None) -> tuple[Scene, np.ndarray | None, list[str] | None, str | None]:
    if library is not None:
        header = attach_library(header, library, key=library_key, scale=library_scale)
    elif library_key is not None or library_scale is not None:
        raise InputError("library_key / library_scale apply to a library: pass library= too")
    if endmembers is None:
        return header, None, None, None
    if cls.task != "supervised":
        raise InputError(f"{cls.name} is a {cls.task} method; endmembers= applies to supervised methods")
    E, names, source = resolve_endmembers(header, endmembers)
    return header, np.asarray(E), list(names), source


@reports_progress
@recorded_warnings
def unmix_tiled(data: Any, method: str = "FCLS", *, endmembers: Any = None, library: Any = None,
                p: int | None = None, extractor: str = "VCA", params: dict[str, Any] | None = None,
                extractor_params: dict[str, Any] | None = None, tile: int = 512, scheduler: Any = None,
                out: str | os.PathLike | None = None, n_sample: int = 20000, seed: int = 0,
                scale: float | None = None, progress: Any = None, overwrite: bool = False,
                library_key: str | None = None, library_scale: float | None = None,
                layout: str | None = None) -> TiledRun:
    """Unmix a raster file, a DataArray or a cube tile by tile with Dask.

    Parameters
    ----------
    data : path, xarray.DataArray, ndarray or SPy image
        A raster file (GeoTIFF, ...) read in windows, a (dask-backed) ``(band, y, x)`` DataArray,
        an array (``(L, H, W)`` by convention, its axis order checked as in :func:`hysupp.unmix`;
        ``layout`` says it, e.g. ``"HWL"``; wrapped in a dask array) or a SPy image (read into
        memory with its wavelengths).
    method : str
        A registered method (see the module docstring for what runs per tile and what is
        estimated on a sample).
    endmembers : "library", ndarray (L, p) or path, optional
        Fixed endmembers of a supervised method (as in :func:`hysupp.unmix`).
    library : str, path or Scene, optional
        Spectral library, matched to the image's bands by wavelength; ``library_key`` names its
        variable in its file, ``library_scale`` multiplies its spectra (as in :func:`hysupp.unmix`).
    p : int, optional
        Number of endmembers to estimate on the sample (extractor / blind / semi-supervised).
    tile : int
        Chunk size in pixels (rows and columns); all bands are in one chunk.
    scheduler : None, "threads", distributed.Client, cluster or "tcp://..." address
        Where the chunks run (None: Dask's local threaded scheduler).
    out : path, optional
        Write the abundances to this Cloud Optimized GeoTIFF (streamed, bounded memory); an existing
        file is refused before any work unless ``overwrite``.
    n_sample, seed
        Size and seed of the stratified pixel sample used to estimate endmembers.
    scale : float, optional
        Multiply the pixels (positive; e.g. 1e-4 for integer reflectance x 10^4). Without it, an
        image whose units differ from the library's or the fixed endmembers' by a power of ten is
        brought to theirs (module docstring).
    progress : None, bool or callable
        Progress (:mod:`hysupp.runs.progress`): the tiles written to ``out`` (Dask's tasks) and the
        loops of the sample's estimation. None (default) keeps the callback in effect (none: nothing
        is printed), True draws bars with an ETA on stderr, a callable receives
        :class:`~hysupp.progress.ProgressEvent` s, False silences.
    """
    require("dask.array")
    scale = check_scale(scale)
    library_scale = check_scale(library_scale, "library_scale")
    if int(tile) < 1:
        raise InputError(f"tile must be a positive number of pixels, got {tile}")
    tile = int(tile)
    if out is not None:
        check_output(out, overwrite, kind="file")   # before the sample and the tiles are computed
    client, owned = open_client(scheduler)
    try:
        return _unmix_tiled(data, method, endmembers=endmembers, library=library, p=p, extractor=extractor,
                            params=params, extractor_params=extractor_params, tile=tile, scheduler=client,
                            scheduler_label=scheduler_name(scheduler), out=out, n_sample=n_sample, seed=seed,
                            scale=scale, overwrite=overwrite, library_key=library_key,
                            library_scale=library_scale, layout=layout)
    finally:
        if owned:
            client.close()


def _unmix_tiled(data: Any, method: str, *, endmembers: Any, library: Any, p: int | None, extractor: str,
                 params: dict[str, Any] | None, extractor_params: dict[str, Any] | None, tile: int, scheduler: Any,
                 scheduler_label: str, out: Any, n_sample: int, seed: int, scale: float | None,
                 overwrite: bool, library_key: str | None, library_scale: float | None, layout: str | None
                 ) -> TiledRun:
    from hysupp.methods.registry import get_method

    t0 = time.perf_counter()
    template = None
    check_tiled_source(data)
    spy = None
    from hysupp.io.envi import is_spectral_image

    if is_spectral_image(data):   # a SPy image: read into memory with its wavelengths, then tiled as an array
        from hysupp.io.arrays import as_scene

        spy = as_scene(data, layout=layout)   # layout= is refused for a SPy image (rows, columns, bands)
        data = spy.require_cube()
    if is_dataarray(data):
        cube, header, template = dataarray_to_dask(data, tile)
        source = None
    elif isinstance(data, np.ndarray):
        if data.ndim != 3:
            raise InputError(f"image array must be a cube (L, H, W), got shape {data.shape}")
        if spy is None:   # axis order checked (or layout=) as in hysupp.unmix; a transposed view, no copy
            from hysupp.io.arrays import as_cube

            data = as_cube(data, layout=layout)
        cube = chunked_view(data, tile)
        header = Scene(cube=np.broadcast_to(np.zeros((), np.float32), data.shape), name="array", layout="array")
        if spy is not None:
            header = Scene(cube=header.cube, wavelengths=spy.wavelengths, fwhm=spy.fwhm, name=spy.name,
                           layout=spy.layout, notes=list(spy.notes))
        source = None
    else:
        if layout is not None:
            raise InputError("layout= orders the axes of an array; a raster file or a DataArray names its axes")
        cube, header = open_raster(data, tile)
        source = os.fspath(data)
    cls = get_method(method)
    if cls.task not in ("supervised", "extractor", "semi-supervised", "blind"):
        raise InputError(f"{cls.name} is a {cls.task!r} method; tiled runs are for unmixing methods")
    header, E, names, e_source = _fixed_endmembers(header, cls, endmembers, library, library_key, library_scale)
    nodata = None if header.georef is None else header.georef.nodata
    header, E, scale = harmonise_tiled(cube, header, E, e_source, scale=scale, library_scale=library_scale,
                                       nodata=nodata, scheduler=scheduler)
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
        run.path = stream_to_cog(maps, out, georef=header.georef, names=run.endmember_names, client=scheduler,
                                 overwrite=overwrite)
        info["write_s"] = time.perf_counter() - t1
    info["wall_s"] = time.perf_counter() - t0
    run.record = run_record(
        method=method_block(cls, params or {}, per_tile=unmix_name),
        input={"path": source, "name": header.name, "shape": list(header.shape), "units": units_record(header),
               "notes": header.notes},
        protocol={"endmembers": e_source, "p": int(k), "tile": tile, "seed": seed, "scale": scale,
                  "scheduler": scheduler_label},
        output=None if run.path is None else str(run.path), info=info)
    return run


def _estimate_on_sample(cube: Any, header: Scene, cls: Any, p: int | None, extractor: str, params: Any,
                        extractor_params: Any, n_sample: int, seed: int, nodata: float | None,
                        scale: float | None, scheduler: Any, info: dict[str, Any]
                        ) -> tuple[np.ndarray, list[str], str]:
    """Endmembers estimated once on a stratified sample of valid pixels."""
    from hysupp.methods.registry import get_method

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
        res = instantiate(cls, params, seed).unmix(Y, int(p))
        E, names, source = res.endmembers, [f"E{j + 1}" for j in range(int(p))], f"{cls.name} on sample"
        info["method"] = to_jsonable(res.info)
        convergence_warning(cls.name, res.info)
    elif cls.task == "semi-supervised":
        if header.library is None:
            raise InputError(f"{cls.name} needs a spectral library: pass library=usgs1995|FILE")
        res = instantiate(cls, params, seed).unmix(Y, header.library, p=int(p))
        atom_names = list(header.library_names or [f"D{j + 1}" for j in range(header.library.shape[1])])
        E, source = res.endmembers, f"{cls.name} on sample"
        names = dominant_atom_names(res.library_coefficients, atom_names) or [f"E{j + 1}" for j in range(int(p))]
        info["method"] = to_jsonable(res.info)
        convergence_warning(cls.name, res.info)
    else:
        ext_cls = cls if cls.task == "extractor" else get_method(extractor, "extractor")
        ext_par = params if cls.task == "extractor" else extractor_params
        res = instantiate(ext_cls, ext_par, seed).extract(Y, int(p))
        E, names, source = res.endmembers, [f"E{j + 1}" for j in range(int(p))], f"{ext_cls.name} on sample"
        info["extractor"] = to_jsonable(res.info)
        convergence_warning(ext_cls.name, res.info)
    info["sample"]["wall_s"] = time.perf_counter() - t0
    info["abundances"] = "FCLS per tile with the endmembers estimated on the sample"
    return np.asarray(E), names, source


def unmix_tiled_to_folder(data: Any, method: str = "FCLS", out_dir: str | os.PathLike | None = None, *,
                          overwrite: bool = False, progress: Any = None, config: dict[str, Any] | None = None,
                          **options: Any) -> TiledRun:
    """:func:`unmix_tiled` into a new output folder (``hysupp run --tile``): ``abundances.tif`` (the
    COG, streamed), ``endmembers.csv`` and ``run.json`` (whose ``output`` is the COG's final path).

    The folder is checked before any work (an existing non-empty one needs ``overwrite``) and
    written atomically (:func:`hysupp.runs.record.streamed_run_folder`); ``config`` (the ``--config``
    file's record) is stored in ``run.json``; ``out_dir`` defaults to a new
    ``hysupp-out/<input name>-<method>-tiled-<UTC time>``. ``options`` are those of
    :func:`unmix_tiled` (``endmembers``, ``library``, ``p``, ``tile``, ``scheduler``...).
    """
    from hysupp.io import save_spectra_csv
    from hysupp.methods.registry import get_method

    if "out" in options:
        raise InputError("unmix_tiled_to_folder writes out_dir/abundances.tif: pass out_dir, not out")
    if out_dir is None:
        path = source_path(data)
        name = Path(path).stem if path is not None else str(getattr(data, "name", None) or "array")
        out_dir = default_output_dir(f"{name}-{get_method(method).name}-tiled")
    def endmembers_csv(tmp: Path, run: TiledRun) -> None:
        save_spectra_csv(tmp / "endmembers.csv", run.endmembers, run.endmember_names,
                         wavelengths=run.header.wavelengths)

    return streamed_run_folder(out_dir, "abundances.tif",
                               lambda target: unmix_tiled(data, method, out=target, progress=progress, **options),
                               overwrite=overwrite, config=config, extra=endmembers_csv)
