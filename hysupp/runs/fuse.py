"""Fusion runs (``hysupp fuse``): :func:`fuse` and :func:`write_fusion_run`.

Protocols (Vivone et al. 2015/2021):

* ``"rr"`` (reduced resolution, Wald): the MS and PAN are degraded with the sensor's MTF filters
  and decimated by the ratio (:func:`hysupp.simulate.wald_pansharpening_pair`); the method fuses
  the degraded pair and is scored against the original MS (Q2n, SAM, ERGAS, SCC, ...).
* ``"fr"`` (full resolution, no reference): the method fuses the pair as given and is scored by
  D_lambda, D_s, QNR, HQNR (with a sensor) and D_rho.
* A saved or simulated :class:`~hysupp.simulate.FusionPair` with a reference is fused as it is
  and scored against its reference (``"reference"``).

The inputs are resolved by :func:`hysupp.runs.inputs.resolve_pair`; scenes larger than memory are
fused tile by tile by :func:`hysupp.fuse_tiled`.

Example
-------
>>> import numpy as np
>>> from hysupp.runs.fuse import fuse
>>> rng = np.random.default_rng(0)
>>> ms, pan = 100 + 10 * rng.random((4, 32, 32)), 100 + 10 * rng.random((128, 128))
>>> run = fuse(method="MTF-GLP", ms=ms, pan=pan, ratio=4, sensor="QB", protocol="rr")
>>> run.fused.shape, run.protocol, "q4" in run.metrics
((4, 32, 32), 'rr', True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.registry import get_method
from hysupp.optim.guards import check_result
from hysupp.records import Timer, info_jsonable
from hysupp.runs.diagnostics import recorded_warnings
from hysupp.runs.inputs import FUSION_PROTOCOLS, check_protocol, pair_physics, resolve_pair
from hysupp.runs.record import (
    default_output_dir,
    input_block,
    method_block,
    output_folder,
    run_record,
    source_path,
    write_json,
)
from hysupp.scene import Scene

__all__ = ["FUSION_TASKS", "PROTOCOLS", "FusionRun", "fuse", "output_name", "write_fusion_run"]

PROTOCOLS = FUSION_PROTOCOLS
FUSION_TASKS = ("pansharpening", "hs-ms-fusion")


@dataclass
class FusionRun:
    """The outcome of :func:`fuse`: the ``fused`` Scene (on the high-resolution grid, with its
    georeference), the ``pair`` that was fused, ``metrics`` and the JSON ``record``. When the PAN
    (or the MS) was an ``xarray.DataArray``, ``xarray`` holds the fused cube as a DataArray
    ``(band, y, x)`` on the PAN's grid (coords, CRS, transform, attributes) with the MS band
    coordinates (:meth:`to_xarray`)."""

    method: str
    fused: Scene
    pair: Any
    protocol: str
    metrics: dict[str, Any] | None
    info: dict[str, Any]
    record: dict[str, Any] = field(default_factory=dict)
    xarray: Any = None

    def to_xarray(self, like: Any = None) -> Any:
        """The fused cube as an ``xarray.DataArray`` ``(band, y, x)`` on the grid of ``like`` (a
        DataArray with the fused cube's ``y``/``x`` sizes, e.g. the PAN; default: coordinates from
        the georef)."""
        if self.xarray is not None and like is None:
            return self.xarray
        from hysupp.io.raster import grid_coords
        from hysupp.io.xarray import maps_to_dataarray, require

        require("xarray")
        cube = self.fused.require_cube()
        template = like if like is not None else {
            "dims": ("y", "x"), "coords": grid_coords(self.fused.georef, *cube.shape[1:]), "attrs": {}, "name": None}
        names = self.pair.low.extras.get("band_names") or [f"band {k + 1}" for k in range(cube.shape[0])]
        coords = {"wavelength": self.fused.wavelengths} if self.fused.wavelengths is not None else None
        return maps_to_dataarray(cube, names, template, dim="band", georef=self.fused.georef,
                                 name=self.fused.name, band_coords=coords)


@recorded_warnings
def fuse(data: Any = None, method: str = "MTF-GLP", *, ms: Any = None, pan: Any = None, ratio: int | None = None,
         sensor: str | None = None, protocol: str | None = None, params: dict[str, Any] | None = None,
         key: str | None = None, scale: float | None = None, border: int = 0, clip: Any = None,
         evaluate: bool = True) -> FusionRun:
    """Fuse an MS+PAN pair (or a saved fusion pair) with a registered method and score it.

    Parameters
    ----------
    data : path, Scene or FusionPair, optional
        One file holding MS and PAN (e.g. the toolbox ``.mat`` with ``I_MS``, ``I_PAN``, ``ratio``,
        ``sensor``, ``L``), or a fusion pair written by :func:`hysupp.simulate.save_fusion_pair`.
    method : str
        A registered ``pansharpening`` method (``hysupp list``).
    ms, pan : path, Scene, ndarray or xarray.DataArray, optional
        The MS ``(L, h, w)`` and PAN ``(H, W)`` when they are separate. DataArrays (e.g. from
        ``rioxarray.open_rasterio``) keep their grid: the fused cube is also returned as a
        DataArray on the PAN's coordinates with its CRS and attributes (``run.xarray``).
    ratio, sensor : optional
        Resolution ratio and sensor (MTF table); default from the file.
    protocol : {"rr", "fr"}, optional
        Reduced (Wald) or full resolution; default ``"fr"`` for a real pair. A pair with a
        reference is scored against it.
    params : dict, optional
        Method hyperparameters (validated).
    border, clip
        Frame removed and clipping before the reduced-resolution metrics
        (:func:`hysupp.metrics.fusion.evaluate_fusion`); recorded.
    evaluate : bool
        Compute the metrics.
    """
    check_protocol(protocol, PROTOCOLS)
    cls = get_method(method)
    if cls.task not in FUSION_TASKS:
        raise InputError(f"{cls.name} is a {cls.task!r} method; hysupp.fuse runs {' and '.join(FUSION_TASKS)} "
                         f"methods (see hysupp.unmix for unmixing)")
    timer = Timer()
    with timer("load"):
        resolved = resolve_pair(data, ms, pan, key=key, scale=scale, ratio=ratio, sensor=sensor, protocol=protocol)
    pair, protocol, sensor = resolved.pair, resolved.protocol, resolved.sensor
    expected_kind = "pansharpening" if cls.task == "pansharpening" else "hs-ms"
    if pair.kind != expected_kind:
        raise InputError(f"{cls.name} is a {cls.task} method but the input is a {pair.kind!r} pair")
    method_obj = cls(**(params or {}))
    low, high = pair.low.require_cube(), pair.high.require_cube()
    with timer("fuse"):
        if cls.task == "pansharpening":
            result = method_obj.fuse(low, high, ratio=pair.ratio, sensor=sensor)  # type: ignore[attr-defined]
        else:
            result = method_obj.fuse(low, high, ratio=pair.ratio, **pair_physics(pair))  # type: ignore[attr-defined]
    fused = np.asarray(result.fused)
    check_result(cls.name, fused=fused)
    metrics = None
    bits = resolved.bit_depth
    if evaluate:
        from hysupp.metrics.fusion import evaluate_fusion

        with timer("evaluate"):
            if protocol in ("rr", "reference"):
                metrics = evaluate_fusion(pair.reference.require_cube(), fused, ratio=pair.ratio, protocol="rr",
                                          border=border, clip=clip, L=bits)
            else:
                metrics = evaluate_fusion(None, fused, ratio=pair.ratio, protocol="fr", ms=low, pan=high,
                                          sensor=sensor, L=bits)
    fused_scene = Scene(cube=fused, wavelengths=pair.low.wavelengths, fwhm=pair.low.fwhm, georef=pair.high.georef,
                        name=f"{pair.low.name}-{cls.name}", layout="cube",
                        notes=[f"{cls.name} fusion ({protocol} protocol), ratio {pair.ratio}"],
                        extras={k: v for k, v in pair.low.extras.items() if k in ("rgb_bands", "bit_depth")})
    run = FusionRun(method=cls.name, fused=fused_scene, pair=pair, protocol=protocol, metrics=metrics,
                    info=info_jsonable(result.info))
    from hysupp.io.xarray import is_dataarray

    grids = [x if x.ndim == 3 else x.expand_dims("band") for x in (pan, ms) if is_dataarray(x)]
    grids = [x for x in grids if tuple(x.shape[1:]) == tuple(fused.shape[1:])]
    if grids:
        run.xarray = run.to_xarray(grids[0])
    source = source_path(data) if data is not None else source_path(ms)
    run.record = run_record(
        method=method_block(cls, method_obj.config),
        input=input_block(source, pan_path=source_path(pan), low_shape=list(low.shape), high_shape=list(high.shape)),
        protocol={"name": protocol, "ratio": pair.ratio, "sensor": sensor, "pair": pair.protocol},
        timings_s=timer.seconds, info=run.info, metrics=metrics)
    return run


def output_name(run: FusionRun) -> str:
    """The name of a fusion run's default output folder: ``<MS name>-<method>-<protocol>``."""
    return f"{run.pair.low.name}-{run.method}-{run.protocol}"


def write_fusion_run(run: FusionRun, out_dir: str | os.PathLike | None = None, *, overwrite: bool = False) -> Path:
    """Write ``fused.tif`` (GeoTIFF on the PAN grid, float32), ``metrics.json``, ``run.json`` and a
    ``quicklook.png`` (RGB bands when known) to a new folder, atomically
    (:func:`hysupp.runs.record.output_folder`); ``out_dir`` defaults to a new
    ``hysupp-out/<MS name>-<method>-<protocol>-<UTC time of the record>``."""
    from hysupp.io import save
    from hysupp.viz import plot_rgb, save_figure

    out = Path(out_dir) if out_dir is not None else default_output_dir(output_name(run),
                                                                       created=run.record.get("created"))
    with output_folder(out, overwrite=overwrite) as tmp:
        cube = run.fused.require_cube().astype(np.float32)
        save(Scene(cube=cube, wavelengths=run.fused.wavelengths, georef=run.fused.georef, name=run.fused.name),
             tmp / "fused.tif")
        if run.metrics is not None:
            write_json(tmp / "metrics.json", run.metrics)
        write_json(tmp / "run.json", run.record)
        save_figure(plot_rgb(cube, run.fused.extras.get("rgb_bands"), title=f"{run.method} ({run.protocol})"),
                    tmp / "quicklook.png")
    return out
