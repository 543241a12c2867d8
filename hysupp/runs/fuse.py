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
>>> t = np.linspace(0.0, 6.0, 128)
>>> pan = 100 + 10 * np.outer(np.sin(t), np.cos(2 * t))           # a smooth 128 x 128 scene
>>> ms = np.stack([pan[1::4, 1::4] * g for g in (0.9, 1.0, 1.1, 1.2)])
>>> run = fuse(method="MTF-GLP", ms=ms, pan=pan, ratio=4, sensor="QB", protocol="rr")
>>> run.fused.shape, run.protocol, "q4" in run.metrics, run.record["protocol"]["pan_degradation"]
((4, 32, 32), 'rr', True, 'bicubic')
>>> run.record["physics"]["gains"]["source"], run.record["range_check"]["flagged"], run.record["warnings"]
('sensor', False, [])
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
from hysupp.records import info_jsonable
from hysupp.physics.blur import Blur
from hysupp.runs.diagnostics import recorded_warnings
from hysupp.runs.inputs import FUSION_PROTOCOLS, check_protocol, pair_physics, resolve_pair
from hysupp.runs.progress import StageTimer, reports_progress
from hysupp.runs.physics import (
    Gains,
    ResolvedResponses,
    consistency_metrics,
    ms_band_centres,
    parse_psf,
    read_srf,
    resolve_gains,
    resolve_responses,
)
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


@reports_progress
@recorded_warnings
def fuse(data: Any = None, method: str = "MTF-GLP", *, ms: Any = None, pan: Any = None, hs: Any = None,
         ratio: int | None = None, sensor: str | None = None, protocol: str | None = None,
         params: dict[str, Any] | None = None, key: str | None = None, pan_key: str | None = None,
         scale: float | None = None, border: int = 0, clip: Any = None, evaluate: bool = True, gnyq: Any = None,
         gnyq_pan: float | None = None, srf: Any = None, psf: Any = None,
         pan_degradation: str | None = None, progress: Any = None) -> FusionRun:
    """Fuse an MS+PAN or HS+MS pair (or a saved fusion pair) with a registered method and score it.

    Parameters
    ----------
    data : path, Scene or FusionPair, optional
        One file holding MS and PAN (e.g. the toolbox ``.mat`` with ``I_MS``, ``I_PAN``, ``ratio``,
        ``sensor``, ``L``), or a fusion pair written by :func:`hysupp.simulate.save_fusion_pair`.
    method : str
        A registered ``pansharpening`` or ``hs-ms-fusion`` method (``hysupp list``). HS-MS methods
        also fuse an HS+PAN pair (hyperspectral pansharpening, one MS band).
    ms, pan : path, Scene, ndarray or xarray.DataArray, optional
        The MS ``(L, h, w)`` and PAN ``(H, W)`` when they are separate. DataArrays (e.g. from
        ``rioxarray.open_rasterio``) keep their grid: the fused cube is also returned as a
        DataArray on the PAN's coordinates with its CRS and attributes (``run.xarray``). A 2-D
        matrix in a ``.mat`` given as ``pan`` is the PAN image.
    hs : path, Scene, ndarray or xarray.DataArray, optional
        The HS ``(L, h, w)`` of an HS+MS pair (``ms`` is then the high-resolution image) or of an
        HS+PAN pair.
    ratio, sensor : optional
        Resolution ratio and sensor (:mod:`hysupp.physics.sensors`: MTF gains, band centres);
        default from the file. Without a sensor the generic gains are used, with a
        :class:`~hysupp.errors.SensorWarning` (:mod:`hysupp.runs.physics`).
    protocol : {"rr", "fr"}, optional
        Reduced (Wald) or full resolution; default ``"fr"`` for a real pair. A pair with a
        reference is scored against it.
    params : dict, optional
        Method hyperparameters (validated).
    key, pan_key : str, optional
        Variable of ``data`` or of the low-resolution file, and of the high-resolution file (PAN, or
        the MS of an HS+MS pair), for files with several.
    border, clip
        Frame removed and clipping before the reduced-resolution metrics
        (:func:`hysupp.metrics.fusion.evaluate_fusion`); recorded.
    evaluate : bool
        Compute the metrics.
    gnyq, gnyq_pan : optional
        MTF Nyquist gains of the MS (one value or one per band) and of the PAN, instead of the
        sensor's (pansharpening methods, the Wald degradation, the MTF-based FR indices).
    srf : array, path or SRFSpec, optional
        Spectral response of the high-resolution bands on the HS bands (HS-MS methods): a
        ``(C, L)`` matrix, or a file (:func:`hysupp.runs.physics.read_srf`: a tabulated or Gaussian
        text table, ``.mat``, ``.npz``, ``.npy``). Estimated from the pair when not given.
    psf : float, str, array or path, optional
        Point-spread function of the low-resolution image on the high-resolution grid:
        ``"gaussian:FWHM"`` or a number (FWHM in high-resolution pixels), a 2-D kernel or a kernel
        file. HS-MS methods use it as is (estimated from the pair when not given); pansharpening
        methods use its gain at the MS Nyquist frequency unless ``gnyq`` is given.
    pan_degradation : {"bicubic", "mtf"}, optional
        PAN degradation of the reduced-resolution protocol: ``bicubic`` (default: ``imresize``, the
        pansharpening toolbox's protocol behind the published tables) or ``mtf`` (the PAN's MTF +
        decimation); recorded in ``record["protocol"]``.
    progress : None, bool or callable
        Progress of the run's stages and loops (:mod:`hysupp.runs.progress`): None (default) keeps
        the callback in effect (none: nothing is printed), True draws bars with an ETA on stderr, a
        callable receives :class:`~hysupp.progress.ProgressEvent` s, False silences.

    Notes
    -----
    The record holds the ``physics`` used (gains, SRF, PSF and where each comes from, the SRF/PSF
    estimate and its diagnostic), the ``range_check`` of the fused values
    (:func:`hysupp.metrics.range.fused_range_check`) and the hysupp ``warnings`` issued.
    """
    return _fuse_run(data, method, ms=ms, pan=pan, hs=hs, ratio=ratio, sensor=sensor, protocol=protocol,
                     params=params, key=key, pan_key=pan_key, scale=scale, border=border, clip=clip,
                     evaluate=evaluate, gnyq=gnyq, gnyq_pan=gnyq_pan, srf=srf, psf=psf,
                     pan_degradation=pan_degradation)


def _fuse_run(data: Any, method: str, *, ms: Any, pan: Any, hs: Any, ratio: int | None, sensor: str | None,
              protocol: str | None, params: dict[str, Any] | None, key: str | None, pan_key: str | None,
              scale: float | None, border: int, clip: Any, evaluate: bool, gnyq: Any, gnyq_pan: float | None,
              srf: Any, psf: Any, pan_degradation: str | None) -> FusionRun:
    check_protocol(protocol, PROTOCOLS)
    cls = get_method(method)
    if cls.task not in FUSION_TASKS:
        raise InputError(f"{cls.name} is a {cls.task!r} method; hysupp.fuse runs {' and '.join(FUSION_TASKS)} "
                         f"methods (see hysupp.unmix for unmixing)")
    sharpening = cls.task == "pansharpening"
    if sharpening and srf is not None:
        raise InputError(f"{cls.name} is a pansharpening method: it takes no spectral response (srf=, --srf). The "
                         f"SRF is used by the hs-ms-fusion methods, which also fuse an HS+PAN pair")
    psf_value, psf_record = parse_psf(psf)
    srf_spec, srf_record = read_srf(srf, key=None)
    timer = StageTimer()

    def gains_for(n_bands: int, r: int, file_sensor: str | None, band_names: Any = None) -> Gains:
        return resolve_gains(file_sensor, n_bands, ratio=r, gnyq=gnyq, gnyq_pan=gnyq_pan,
                             psf=None if isinstance(psf_value, Blur) else psf_value, band_names=band_names)

    with timer("load"):
        resolved = resolve_pair(data, ms, pan, key=key, scale=scale, ratio=ratio, sensor=sensor, protocol=protocol,
                                pan_key=pan_key, hs=hs, pan_degradation=pan_degradation, gains_for=gains_for)
    pair, protocol, sensor = resolved.pair, resolved.protocol, resolved.sensor
    low, high = pair.low.require_cube(), pair.high.require_cube()
    if sharpening and high.shape[0] != 1:
        raise InputError(f"{cls.name} is a pansharpening method: it needs a one-band PAN, but the high-resolution "
                         f"image has {high.shape[0]} bands (an HS+MS pair: use an hs-ms-fusion method, "
                         f"hysupp list)")
    gains = resolved.gains
    if gains is None and high.shape[0] == 1:
        gains = gains_for(low.shape[0], pair.ratio, sensor, pair.low.extras.get("band_names"))
    method_obj = cls(**(params or {}))
    physics: dict[str, Any] = {"gains": gains.record() if gains is not None else None}
    with timer("fuse"):
        if sharpening:
            result = method_obj.fuse(low, high, ratio=pair.ratio,  # type: ignore[attr-defined]
                                     sensor=gains.method_sensor() if gains is not None else sensor)
            if gains is not None and "gnyq" in result.info:
                gains.warn()
            if psf_record is not None:
                psf_record["used_as"] = ("MTF gain at the MS Nyquist frequency" if gains is not None and
                                         gains.source == "psf" else "not used (gnyq given)")
        else:
            if psf_record is not None:
                psf_record["used_as"] = "the PSF of the HS-MS method" + (
                    " (and its MTF gain for the MTF-based full-resolution indices)" if gains is not None and
                    gains.source == "psf" else "")
            responses = hsms_responses(pair, low, high, srf_spec, srf_record, psf_value, psf_record, sensor)
            physics["responses"] = responses.record
            result = method_obj.fuse(low, high, ratio=pair.ratio,  # type: ignore[attr-defined]
                                     srf=responses.srf, psf=responses.psf)
    physics.update(srf=srf_record and {**srf_record, **srf_spec.to_dict()}, psf=psf_record)
    fused = np.asarray(result.fused)
    check_result(cls.name, fused=fused)
    from hysupp.metrics.range import MAX_EXCESS, fused_range_check

    range_check = result.info.get("range_check") if isinstance(result.info.get("range_check"), dict) else \
        fused_range_check(fused, low, high, what=f"{cls.name} output", max_excess=MAX_EXCESS)
    metrics = None
    bits = resolved.bit_depth
    if evaluate:
        from hysupp.metrics.fusion import evaluate_fusion

        with timer("evaluate"):
            if protocol in ("rr", "reference"):
                metrics = evaluate_fusion(pair.reference.require_cube(), fused, ratio=pair.ratio, protocol="rr",
                                          border=border, clip=clip, L=bits)
            elif high.shape[0] > 1:
                metrics = consistency_metrics(fused, low, high, pair.ratio, responses.srf, responses.psf)
            else:
                if gains is not None:
                    gains.warn()
                mtf_kw = gains.metric_kwargs() if gains is not None else {"sensor": sensor}
                metrics = evaluate_fusion(None, fused, ratio=pair.ratio, protocol="fr", ms=low, pan=high, L=bits,
                                          **mtf_kw)
                if gains is not None:
                    metrics["conventions"]["mtf_gains"] = gains.source
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
    if data is None and hs is not None:
        source, high_source = source_path(hs), source_path(pan if pan is not None else ms)
    else:
        source, high_source = (source_path(data) if data is not None else source_path(ms)), source_path(pan)
    protocol_block = {"name": protocol, "ratio": pair.ratio, "sensor": sensor, "pair": pair.protocol}
    if protocol == "rr":
        protocol_block["pan_degradation"] = pair.protocol.get("pan_degradation")
    run.record = run_record(
        method=method_block(cls, method_obj.config),
        input=input_block(source, pan_path=high_source, low_shape=list(low.shape), high_shape=list(high.shape)),
        protocol=protocol_block, physics=physics,
        timings_s=timer.seconds, info=run.info, metrics=metrics, range_check=range_check)
    return run


def hsms_responses(pair: Any, low: np.ndarray, high: np.ndarray, srf_spec: Any, srf_record: Any, psf_value: Any,
                   psf_record: Any, sensor: str | None) -> ResolvedResponses:
    """The SRF and PSF an HS-MS method runs with: the user's (:func:`hysupp.runs.physics.read_srf`,
    :func:`~hysupp.runs.physics.parse_psf`), else the pair's protocol (a simulated pair), else
    estimated from the pair with the HS wavelengths and the MS band centres
    (:func:`hysupp.runs.physics.resolve_responses`)."""
    recorded = pair_physics(pair)
    srf_m = srf_from = None
    if srf_spec is not None:
        srf_m = srf_spec.on_grid(pair.low.wavelengths, pair.low.fwhm, n_bands=low.shape[0])
        if srf_m.shape[0] != high.shape[0]:
            raise InputError(f"the SRF has {srf_m.shape[0]} bands but the high-resolution image has {high.shape[0]}")
        srf_from = f"given ({srf_spec.kind})"
    elif recorded["srf"] is not None:
        srf_m, srf_from = recorded["srf"], "the pair's protocol"
    psf_v, psf_from = (psf_value, "given") if psf_value is not None else \
        ((recorded["psf"], "the pair's protocol") if recorded["psf"] is not None else (None, None))
    user = srf_spec is not None or psf_value is not None
    centres, fwhm, where = ms_band_centres(srf_spec, pair.high, sensor)
    return resolve_responses(low, high, pair.ratio, srf=srf_m, psf=psf_v, srf_from=srf_from, psf_from=psf_from,
                             hs_wavelengths=pair.low.wavelengths, ms_centres=centres, ms_fwhm=fwhm,
                             centres_from=where, diagnose=user)


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
