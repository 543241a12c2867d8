"""Super-resolution runs (``hysupp sr``): :func:`super_resolve` and :func:`write_sr_run`.

Protocols:

* ``"rr"`` (reduced resolution, Wald): the input image is degraded by the ratio through the
  observation model (:func:`hysupp.fusion.superres.common.degrade`: the ``psf``, default the Gaussian of
  MTF gain 0.29 at Nyquist, then decimation at phase ``ratio // 2``); the method super-resolves the
  degraded image and is scored against the input (:func:`hysupp.metrics.fusion.evaluate_fusion`:
  PSNR, SAM, ERGAS, Q2n, ...).
* ``"fr"`` (full resolution, default): the input is super-resolved as given; the metrics are the
  *consistency* of the result, the degraded super-resolved image against the input (``metrics`` with
  ``"consistency": True``; none for inputs under 32 x 32 pixels), which a method can satisfy without
  adding detail.

Example
-------
>>> import numpy as np
>>> from hysupp.runs.superres import super_resolve
>>> cube = 100 + 10 * np.random.default_rng(0).random((4, 32, 32))
>>> run = super_resolve(cube, method="Bicubic", ratio=2, protocol="rr")
>>> run.fused.cube.shape, run.protocol, "sam_deg" in run.metrics
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
from hysupp.records import info_jsonable
from hysupp.runs.diagnostics import recorded_warnings
from hysupp.runs.inputs import as_scene, check_protocol
from hysupp.runs.progress import StageTimer, reports_progress
from hysupp.runs.record import (
    check_output,
    default_output_dir,
    input_block,
    method_block,
    output_folder,
    run_record,
    source_path,
    write_json,
)
from hysupp.scene import Scene

__all__ = ["SR_PROTOCOLS", "SRRun", "output_name", "super_resolve", "write_sr_run"]

SR_PROTOCOLS = ("rr", "fr")


@dataclass
class SRRun:
    """The outcome of :func:`super_resolve`: the ``fused`` Scene (high-resolution grid), the ``input``
    image that was super-resolved (the degraded one for ``"rr"``), the ``reference`` (``"rr"``),
    ``metrics``, ``info`` and the JSON ``record``."""

    method: str
    fused: Scene
    input: np.ndarray
    reference: np.ndarray | None
    protocol: str
    ratio: int
    metrics: dict[str, Any] | None
    info: dict[str, Any]
    record: dict[str, Any] = field(default_factory=dict)


def _psf_record(psf: Any) -> Any:
    if psf is None or isinstance(psf, (int, float, str)):
        return psf
    return psf.to_dict() if hasattr(psf, "to_dict") else {"kernel_shape": list(np.shape(psf))}


@reports_progress
@recorded_warnings
def super_resolve(data: Any, method: str = "Bicubic", *, ratio: int, protocol: str = "fr", psf: Any = None,
                  params: dict[str, Any] | None = None, key: str | None = None, scale: float | None = None,
                  border: int = 0, evaluate: bool = True, save_weights: str | os.PathLike | None = None,
                  overwrite: bool = False, progress: Any = None) -> SRRun:
    """Super-resolve an image (file, Scene or array ``(L, h, w)``) with a registered
    ``super-resolution`` method and score it (module docstring).

    Parameters
    ----------
    data : path, Scene or ndarray
        The image; a file is read with :func:`hysupp.load` (``key``, ``scale``); a pansharpening
        ``.mat`` gives its MS cube.
    method : str
        A registered ``super-resolution`` method (``hysupp list --task super-resolution``).
    ratio : int
        Resolution ratio (>= 2).
    protocol : {"rr", "fr"}
        Reduced resolution (score against the input) or full resolution (consistency only).
    psf : optional
        Spatial response (Blur, kernel, Gaussian FWHM in high-resolution pixels, or None: the
        default); used to degrade the input in ``"rr"`` and passed to the method.
    params : dict, optional
        Method hyperparameters (validated).
    border : int
        Frame removed before the metrics.
    save_weights : path, optional
        Networks only: train on the (possibly degraded) input, save the checkpoint there (``overwrite``
        to replace a file), then super-resolve with it.
    progress : None, bool or callable
        Progress of the run's stages and loops (:mod:`hysupp.runs.progress`): None (default) keeps
        the callback in effect (none: nothing is printed), True draws bars with an ETA on stderr, a
        callable receives :class:`~hysupp.progress.ProgressEvent` s, False silences.
    """
    from hysupp.fusion.superres.common import degrade

    check_protocol(protocol, SR_PROTOCOLS)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 2:
        raise InputError(f"ratio must be an integer >= 2, got {ratio!r}")
    ratio = int(ratio)
    cls = get_method(method)
    if cls.task != "super-resolution":
        raise InputError(f"{cls.name} is a {cls.task!r} method; hysupp.super_resolve runs super-resolution methods")
    method_obj = cls(**(params or {}))
    if save_weights is not None:
        if not hasattr(method_obj, "train"):
            raise InputError(f"{cls.name} is not a trainable network: it has no weights to save")
        check_output(save_weights, overwrite, kind="file")   # before training, not after
    timer = StageTimer()
    with timer("load"):
        if isinstance(data, Scene):
            scene = data
        elif isinstance(data, np.ndarray):
            scene = Scene(cube=data if data.ndim == 3 else data[None])
        elif isinstance(data, (str, os.PathLike)):
            scene = as_scene(os.fspath(data), key, None, scale)
        else:
            scene = as_scene(data, key, None, scale)   # what the readers take, or a clear error
        cube = np.asarray(scene.require_cube(), dtype=np.float64)
    reference = None
    if protocol == "rr":
        H, W = (cube.shape[1] // ratio) * ratio, (cube.shape[2] // ratio) * ratio
        if H < 2 * ratio or W < 2 * ratio:
            raise InputError(f"image of {cube.shape[1]} x {cube.shape[2]} pixels is too small for the reduced-"
                             f"resolution protocol at ratio {ratio}")
        reference = cube[:, :H, :W]
        low = degrade(reference, ratio, psf)
    else:
        low = cube
    if save_weights is not None:
        with timer("train"):
            method_obj.train(low, ratio=ratio, psf=psf).save(save_weights, overwrite=overwrite)
        method_obj = cls(**{**(params or {}), "weights": os.fspath(save_weights), "fine_tune": 0})
    with timer("super_resolve"):
        result = method_obj.super_resolve(low, ratio=ratio, psf=psf)  # type: ignore[attr-defined]
    fused = np.asarray(result.fused)
    check_result(cls.name, fused=fused)
    bits = scene.extras.get("bit_depth")
    metrics = None
    if evaluate:
        from hysupp.metrics.fusion import evaluate_fusion

        with timer("evaluate"):
            if protocol == "rr":
                metrics = evaluate_fusion(reference, fused, ratio=ratio, protocol="rr", border=border, L=bits)
            elif min(low.shape[1:]) >= 32:    # the Q indices need 32 x 32 blocks
                metrics = evaluate_fusion(low, degrade(fused, ratio, psf), ratio=ratio, protocol="rr",
                                          border=border // ratio, L=bits, include_ssim=False)
                metrics["consistency"] = True
    fused_scene = Scene(cube=fused, wavelengths=scene.wavelengths, fwhm=scene.fwhm,
                        name=f"{scene.name or 'image'}-{cls.name}", layout="cube",
                        notes=[f"{cls.name} super-resolution x{ratio} ({protocol} protocol)"],
                        extras={k: v for k, v in scene.extras.items() if k in ("rgb_bands", "bit_depth")})
    run = SRRun(method=cls.name, fused=fused_scene, input=low, reference=reference, protocol=protocol, ratio=ratio,
                metrics=metrics, info=info_jsonable(result.info))
    source = source_path(data)
    run.record = run_record(
        method=method_block(cls, method_obj.config),
        input=input_block(source, shape=list(cube.shape), super_resolved_shape=list(low.shape), notes=scene.notes),
        protocol={"name": protocol, "ratio": ratio, "psf": _psf_record(psf), "decimation_phase": ratio // 2},
        timings_s=timer.seconds, info=run.info, metrics=metrics)
    return run


def output_name(run: SRRun) -> str:
    """The name of a super-resolution run's default output folder: ``<image>-<method>-x<ratio>-<protocol>``."""
    return f"{run.fused.name}-x{run.ratio}-{run.protocol}"


def write_sr_run(run: SRRun, out_dir: str | os.PathLike | None = None, *, overwrite: bool = False) -> Path:
    """Write ``fused.tif`` (float32), ``metrics.json``, ``run.json`` and a ``quicklook.png`` to a new
    folder, atomically (:func:`hysupp.runs.record.output_folder`); ``out_dir`` defaults to a new
    ``hysupp-out/<image>-<method>-x<ratio>-<protocol>-<UTC time of the record>``."""
    from hysupp.io import save
    from hysupp.viz import plot_rgb, save_figure

    out = Path(out_dir) if out_dir is not None else default_output_dir(output_name(run),
                                                                       created=run.record.get("created"))
    with output_folder(out, overwrite=overwrite) as tmp:
        cube = run.fused.require_cube().astype(np.float32)
        save(Scene(cube=cube, wavelengths=run.fused.wavelengths, name=run.fused.name), tmp / "fused.tif")
        if run.metrics is not None:
            write_json(tmp / "metrics.json", run.metrics)
        write_json(tmp / "run.json", run.record)
        save_figure(plot_rgb(cube, run.fused.extras.get("rgb_bands"), title=f"{run.method} x{run.ratio} "
                             f"({run.protocol})"), tmp / "quicklook.png")
    return out
