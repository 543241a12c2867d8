"""One-call fusion API behind ``hysupp fuse``: :func:`fuse` and :func:`write_fusion_run`.

Protocols (Vivone et al. 2015/2021):

* ``"rr"`` (reduced resolution, Wald): the MS and PAN are degraded with the sensor's MTF filters
  and decimated by the ratio (:func:`hysupp.simulate.wald_pansharpening_pair`); the method fuses
  the degraded pair and is scored against the original MS (Q2n, SAM, ERGAS, SCC, ...).
* ``"fr"`` (full resolution, no reference): the method fuses the pair as given and is scored by
  D_lambda, D_s, QNR, HQNR (with a sensor) and D_rho.
* A saved or simulated :class:`~hysupp.simulate.FusionPair` with a reference is fused as it is
  and scored against its reference (``"reference"``).

Example
-------
>>> import numpy as np
>>> from hysupp.fusion.run import fuse
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
from hysupp.records import RECORD_VERSION, Timer, environment, file_sha256, info_jsonable, to_jsonable, utc_now
from hysupp.scene import Scene

__all__ = ["PROTOCOLS", "FusionRun", "fuse", "write_fusion_run"]

PROTOCOLS = ("rr", "fr")
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
        from hysupp.api import _grid_coords
        from hysupp.io.xarray import maps_to_dataarray, require

        xr = require("xarray")
        cube = self.fused.require_cube()
        template = like if like is not None else {
            "dims": ("y", "x"), "coords": _grid_coords(self.fused.georef, *cube.shape[1:], xr), "attrs": {},
            "name": None}
        names = self.pair.low.extras.get("band_names") or [f"band {k + 1}" for k in range(cube.shape[0])]
        coords = {"wavelength": self.fused.wavelengths} if self.fused.wavelengths is not None else None
        return maps_to_dataarray(cube, names, template, dim="band", georef=self.fused.georef,
                                 name=self.fused.name, band_coords=coords)


def _source(x: Any) -> str | None:
    """The path of a file input, None for in-memory inputs (arrays, Scenes, fusion pairs)."""
    return os.fspath(x) if isinstance(x, (str, os.PathLike)) else None


def _read_pair(data: Any, ms: Any, pan: Any, key: str | None, scale: float | None):
    """A FusionPair file, or the MS Scene (with ``extras['pan']`` when one file holds both)."""
    from hysupp.io import load
    from hysupp.io.xarray import is_dataarray, scene_from_dataarray
    from hysupp.simulate import FusionPair, load_fusion_pair

    ms = scene_from_dataarray(ms) if is_dataarray(ms) else ms
    if is_dataarray(pan):
        pan = scene_from_dataarray(pan if pan.ndim == 3 else pan.expand_dims("band"))
    if isinstance(data, FusionPair):
        return data, None
    if data is not None:
        if ms is not None or pan is not None:
            raise InputError("give either data= (one file with MS and PAN, or a fusion pair) or ms= and pan=")
        path = os.fspath(data)
        suffix = Path(path).suffix.lower()
        if suffix in (".npz", ".h5", ".hdf5"):
            try:
                return load_fusion_pair(path), None
            except InputError:
                pass
        scene = data if isinstance(data, Scene) else load(path, key=key, scale=scale)
        if scene.layout != "pansharpening-pair" and "pan" not in scene.extras:
            raise InputError(f"{path!r} holds no MS+PAN pair (layout {scene.layout!r}); pass --ms and --pan, or a "
                             f"file with I_MS and I_PAN")
        return None, scene
    if ms is None or pan is None:
        raise InputError("no input: pass data= (a file with MS and PAN) or both ms= and pan=")
    ms_scene = ms if isinstance(ms, Scene) else Scene(cube=ms) if isinstance(ms, np.ndarray) else load(ms, scale=scale)
    if isinstance(pan, (str, os.PathLike)):   # a 2-D .npy is an image here, not a spectra matrix
        pan = np.load(pan) * (1.0 if scale is None else scale) if Path(pan).suffix.lower() == ".npy" \
            else load(pan, scale=scale)
    return None, (ms_scene, pan)


def pair_physics(pair: Any) -> dict[str, Any]:
    """The ``srf`` ``(C, L)`` and ``psf`` (FWHM) an HS-MS pair's protocol records (a simulated pair),
    as keyword arguments of :meth:`~hysupp.methods.base.HSMSFuser.fuse`; None where it does not (the
    methods estimate them)."""
    srf = pair.protocol.get("operators", {}).get("ms_srf", {}).get("R")
    psf = pair.protocol.get("psf", {}).get("fwhm") if pair.protocol.get("psf") else None
    return {"srf": None if srf is None else np.asarray(srf, dtype=np.float64), "psf": psf}


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
    from hysupp.simulate.fusion import full_resolution_pair, wald_pansharpening_pair

    if protocol is not None and protocol not in PROTOCOLS:
        raise InputError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    cls = get_method(method)
    if cls.task not in FUSION_TASKS:
        raise InputError(f"{cls.name} is a {cls.task!r} method; hysupp.fuse runs {' and '.join(FUSION_TASKS)} "
                         f"methods (see hysupp.unmix for unmixing)")
    timer = Timer()
    with timer("load"):
        pair, inputs = _read_pair(data, ms, pan, key, scale)
        if pair is None:
            ms_in, pan_in = inputs if isinstance(inputs, tuple) else (inputs, None)
            extras = ms_in.extras if isinstance(ms_in, Scene) else {}
            sensor = sensor if sensor is not None else extras.get("sensor")
            ratio = ratio if ratio is not None else extras.get("ratio")
            if ratio is None:
                raise InputError("the resolution ratio is unknown: pass ratio= (--ratio)")
            protocol = protocol or "fr"
            build = wald_pansharpening_pair if protocol == "rr" else full_resolution_pair
            pair = build(ms_in, pan_in, int(ratio), sensor)
        else:
            sensor = sensor if sensor is not None else pair.protocol.get("sensor")
            if protocol == "rr" and not pair.full_resolution:
                raise InputError("this fusion pair already has a reference: it is scored against it (omit protocol)")
            protocol = "reference" if not pair.full_resolution else "fr"
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
    bits = pair.low.extras.get("bit_depth") or (inputs.extras.get("bit_depth") if isinstance(inputs, Scene) else None)
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
    source = _source(data) if data is not None else _source(ms)
    run.record = to_jsonable({
        "record_version": RECORD_VERSION, "created": utc_now(),
        "method": {"name": cls.name, "task": cls.task, "params": method_obj.config, "reference": cls.reference},
        "input": {"path": source, "pan_path": _source(pan),
                  "sha256": file_sha256(source) if source and os.path.isfile(source) else None,
                  "low_shape": list(low.shape), "high_shape": list(high.shape)},
        "protocol": {"name": protocol, "ratio": pair.ratio, "sensor": sensor, "pair": pair.protocol},
        "timings_s": timer.seconds, "info": run.info, "metrics": metrics, "environment": environment()})
    return run


def write_fusion_run(run: FusionRun, out_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``fused.tif`` (GeoTIFF on the PAN grid, float32), ``metrics.json``, ``run.json`` and a
    ``quicklook.png`` (RGB bands when known) to a new folder, atomically
    (:func:`hysupp.io.atomic.atomic_folder`)."""
    import json

    from hysupp.io import save
    from hysupp.io.atomic import atomic_folder
    from hysupp.viz import plot_rgb, save_figure

    with atomic_folder(out_dir, overwrite=overwrite) as tmp:
        cube = run.fused.require_cube().astype(np.float32)
        save(Scene(cube=cube, wavelengths=run.fused.wavelengths, georef=run.fused.georef, name=run.fused.name),
             tmp / "fused.tif")
        if run.metrics is not None:
            (tmp / "metrics.json").write_text(json.dumps(to_jsonable(run.metrics), indent=2))
        (tmp / "run.json").write_text(json.dumps(run.record, indent=2))
        save_figure(plot_rgb(cube, run.fused.extras.get("rgb_bands"), title=f"{run.method} ({run.protocol})"),
                    tmp / "quicklook.png")
    return Path(out_dir)
