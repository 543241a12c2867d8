"""Unmixing runs (``hysupp run``): :func:`unmix` and :func:`write_run`.

:func:`unmix` = load (:func:`hysupp.runs.inputs.as_scene`, optional library) -> optional AWGN
(seeded) -> valid-pixel selection (mask) -> extraction (or known endmembers, a library, or a blind
method) -> abundance estimation -> metrics against any truth (Hungarian alignment; estimates are
reordered to the truth's order) -> the run record (:func:`hysupp.runs.record.run_record`).
:func:`write_run` writes the maps, spectra, metrics, record and a figure to a new folder.

Example
-------
>>> import hysupp
>>> from hysupp.datasets import builtin_scene
>>> run = hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth")
>>> run.abundances.shape, run.metrics["sre_db"] > 40
((5, 75, 75), True)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.base import Method
from hysupp.methods.registry import get_method
from hysupp.optim.guards import check_result
from hysupp.records import info_jsonable
from hysupp.runs.diagnostics import WarningLog, attach_warnings, convergence_warning, recording_warnings
from hysupp.runs.inputs import (
    check_seed,
    check_unmixing_task,
    endmembers_keyword,
    instantiate,
    known_endmembers,
    prepare_scene,
    resolve_p,
    screen_pixels,
    units_record,
)
from hysupp.runs.progress import StageTimer, reports_progress
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

__all__ = ["ALIGN_CRITERIA", "MAX_MAPS_IN_FIGURE", "UnmixingRun", "dominant_atom_names", "output_name", "unmix",
           "write_run"]

ALIGN_CRITERIA = ("sad", "abundances")
MAX_MAPS_IN_FIGURE = 24


@dataclass
class UnmixingRun:
    """The outcome of :func:`unmix`.

    ``abundances`` is ``(p, H, W)`` (NaN at masked pixels), ``endmembers`` ``(L, p)``; when truth
    was available and the endmembers were estimated, both are reordered to match the truth (the
    permutation is in ``metrics["alignment"]``). ``record`` is the JSON run record (DESIGN §5).
    When the input was an ``xarray.DataArray``, ``xarray`` holds the abundances as a DataArray
    ``(endmember, y, x)`` with the input's coords, CRS, transform and attributes
    (:meth:`to_xarray`). ``library_abundances`` ``(M, H, W)`` holds the abundances over the
    library atoms of a library-based run (semi-supervised methods, ``endmembers="library"``):
    for methods with ``E = D B`` these are ``B A``, on which HySUPP's metrics are computed.
    """

    scene: Scene
    method: str
    abundances: np.ndarray
    endmembers: np.ndarray
    endmember_names: list[str]
    metrics: dict[str, Any] | None
    info: dict[str, Any]
    record: dict[str, Any] = field(default_factory=dict)
    xarray: Any = None
    library_abundances: np.ndarray | None = None

    def to_xarray(self) -> Any:
        """The abundances as an ``xarray.DataArray`` ``(endmember, y, x)`` (endmember names as a
        coordinate, NaN at masked pixels; the input's grid, CRS and attributes when it was a
        DataArray, else its georef)."""
        if self.xarray is not None:
            return self.xarray
        from hysupp.io.raster import grid_coords
        from hysupp.io.xarray import maps_to_dataarray, require

        require("xarray")
        _, h, w = self.abundances.shape
        template = self.scene.extras.get("xarray_template") or {
            "dims": ("y", "x"), "coords": grid_coords(self.scene.georef, h, w), "attrs": {}, "name": None}
        return maps_to_dataarray(self.abundances, self.endmember_names, template, dim="endmember",
                                 georef=self.scene.georef, mask=self.scene.mask, name="abundances")

    def abundance_scene(self) -> Scene:
        """The abundance maps as a ``Scene`` (cube ``(p, H, W)``) that keeps the input's georef."""
        return Scene(cube=self.abundances, georef=self.scene.georef, name=f"{self.scene.name}-abundances",
                     layout="abundances", extras={"band_names": list(self.endmember_names)})


def dominant_atom_names(B: np.ndarray | None, atom_names: list[str]) -> list[str]:
    """Name each estimated endmember ``E = D B`` after its dominant library atom (largest B entry)."""
    if B is None:
        return []
    top = np.argmax(B, axis=0)
    return [f"{atom_names[j]} ({B[j, k]:.2f})" for k, j in enumerate(top)]


@reports_progress
def unmix(data: Any, method: str = "FCLS", *, p: int | str | None = None,
          endmembers: Any = None, extractor: str = "VCA", params: dict[str, Any] | None = None,
          extractor_params: dict[str, Any] | None = None, snr: float | None = None, seed: int = 0,
          align_by: str = "abundances", key: str | None = None, truth: str | None = None,
          scale: float | None = None, library: str | os.PathLike | Scene | None = None,
          layout: str | None = None, truth_key: str | None = None, library_key: str | None = None,
          library_scale: float | None = None, restarts: int = 1, seeds: Sequence[int] | None = None,
          noise_seed: int | None = None, progress: Any = None) -> UnmixingRun:
    """Unmix a scene with a registered method and evaluate against any ground truth.

    Parameters
    ----------
    data : Scene, ndarray, xarray.DataArray (band, y, x), SPy image or path
        The image, read with :func:`hysupp.load` (:func:`hysupp.runs.inputs.as_scene`): a path or
        a registered data set name (``key`` names the variable of a ``.mat``/``.npz``), a Scene, a
        NumPy array (``(L, H, W)`` by convention, its axis order checked: ``layout`` says it, e.g.
        ``"HWL"``), a SPy image (with its wavelengths) or a DataArray (e.g. from
        ``rioxarray.open_rasterio``: its wavelengths, CRS, transform and nodata; the run then also
        returns the abundances as a DataArray, ``run.xarray``, on the same grid). For scenes larger
        than memory see :func:`hysupp.unmix_tiled`.
    key, layout : str, optional
        The image's variable in its file, and the axis order of a 3-D array (``"LHW"``, ``"HWL"``...).
    truth, truth_key : path and str, optional
        A separate ground-truth file (e.g. Samson's ``end3.mat``) and the variable to read from it.
    scale : float, optional
        Multiplies the image (positive): e.g. ``1e-4`` for reflectance x 10000. Without it, the
        image and the library (or the known or true endmembers) are brought to the same units when
        they differ by a power of ten (:func:`hysupp.runs.inputs.harmonise`: a ``UnitsWarning`` and
        a note say what was multiplied); with it the image keeps the units it gives.
    library_key, library_scale : str and float, optional
        The library's variable in its file (e.g. a library stored as ``A``) and a factor for its
        spectra (the library then keeps these units).
    method : str
        A registered method: a ``supervised`` one (endmembers given or extracted), an
        ``extractor`` (its endmembers, then FCLS abundances), a ``semi-supervised`` one (needs a
        library) or a ``blind`` one.
    p : int or {"auto", "hysime", "hfc", "nwhfc"}, optional
        Number of endmembers (default: from the ground truth); a string estimates it from the
        (noisy) pixels with :func:`hysupp.unmixing.order.estimate_p` (``"auto"`` = HySime).
    endmembers : "truth", "library", ndarray (L, p) or path, optional
        Known endmembers for a supervised method instead of extracting them (``"library"``: every
        atom of the library, i.e. sparse unmixing over the library).
    library : str, path, Scene or ndarray (L, M), optional
        A spectral library (``"usgs1995"``, ``"usgs1995-pruned"``, a library file, a Scene or an
        array on the image's bands),
        matched to the image's bands by wavelength (selected where the grids coincide,
        resampled otherwise) and attached as ``scene.library``.
    extractor : str
        Extractor used when a supervised method has no known endmembers.
    params, extractor_params : dict, optional
        Hyperparameters (validated against the methods' declarations).
    snr : float, optional
        Add AWGN at this SNR (dB, HySUPP's definition) before unmixing, seeded with ``seed``.
    seed : int
        Seed for noise and for seeded methods that were not given one explicitly.
    align_by : {"sad", "abundances"}
        Hungarian alignment criterion of estimated to true endmembers.
    restarts, seeds : int, list of int, optional
        Run a stochastic method (one with a random step) with the seeds ``seed, ..., seed +
        restarts - 1`` (or ``seeds``) and keep the run with the smallest reconstruction RMSE of the
        valid pixels; every restart is recorded in ``info["restarts"]``
        (:mod:`hysupp.runs.restarts`).
    noise_seed : int, optional
        Seed of the AWGN (default: ``seed``); restarts keep the noise of the run's ``seed``.
    progress : None, bool or callable
        Progress of the run's stages and loops (:mod:`hysupp.runs.progress`): None (default) keeps
        the callback in effect (none: nothing is printed), True draws bars with an ETA on stderr, a
        callable receives :class:`~hysupp.progress.ProgressEvent` s, False silences.
    """
    if restarts != 1 or seeds is not None:
        call = dict(locals(), progress=None)   # the arguments, repeated per restart seed (progress: the outer one)
        from hysupp.runs.restarts import unmix_restarts

        return unmix_restarts(unmix, call, restarts=restarts, seeds=seeds)
    if align_by not in ALIGN_CRITERIA:
        raise InputError(f"align_by must be one of {', '.join(ALIGN_CRITERIA)}, got {align_by!r}")
    check_seed(seed)
    cls = get_method(method)
    with recording_warnings(cls.name) as log:
        run = _unmix(data, cls, p=p, endmembers=endmembers, extractor=extractor, params=params,
                     extractor_params=extractor_params, snr=snr, seed=seed, align_by=align_by, key=key, truth=truth,
                     scale=scale, library=library, layout=layout, truth_key=truth_key, library_key=library_key,
                     library_scale=library_scale, noise_seed=noise_seed, log=log)
    attach_warnings(run.record, log.entries)
    return run


def _unmix(data: Any, cls: type[Method], *, p: int | str | None, endmembers: Any, extractor: str,
           params: dict[str, Any] | None, extractor_params: dict[str, Any] | None, snr: float | None, seed: int,
           align_by: str, key: str | None, truth: str | None, scale: float | None,
           library: str | os.PathLike | Scene | None, layout: str | None, truth_key: str | None,
           library_key: str | None, library_scale: float | None, noise_seed: int | None,
           log: WarningLog) -> UnmixingRun:
    timer = StageTimer()
    with timer("load"):
        scene = prepare_scene(data, key=key, truth=truth, truth_key=truth_key, scale=scale, layout=layout,
                              library=library, library_key=library_key, library_scale=library_scale,
                              truth_required=endmembers_keyword(endmembers) == "truth")
    from hysupp.io.xarray import is_dataarray

    from_xarray = is_dataarray(data)
    source = source_path(data)
    check_unmixing_task(cls, endmembers)
    scene, known = known_endmembers(scene, cls, endmembers, scale=scale)   # in the image's units
    spatial = bool(getattr(cls, "spatial", False))
    scene, valid, degenerate = screen_pixels(scene, exclude=not spatial)
    Y_full = scene.pixels()
    if snr is not None:
        from hysupp.physics.noise import add_awgn

        noise_seed = seed if noise_seed is None else noise_seed
        Y_full = add_awgn(Y_full, snr, seed=noise_seed)
        scene = replace(scene, cube=Y_full.reshape(scene.shape),
                        notes=scene.notes + [f"AWGN at {snr} dB, seed {noise_seed}"])
    Y = Y_full[:, valid]
    if not np.issubdtype(Y.dtype, np.floating):
        Y = Y.astype(np.float32)

    if spatial and not valid.all():
        raise InputError(f"{cls.name} works on the whole image grid: fill the {int((~valid).sum())} masked "
                         f"pixels first")
    info: dict[str, Any] = {}
    extractor_cls: type[Method] | None = None
    extractor_obj: Method | None = None
    library_abundances = None  # (M, N) abundances over the library atoms, for library-based results
    if cls.task == "semi-supervised":
        unmixer = instantiate(cls, params, seed)
        D = scene.library
        if D is None:
            raise InputError(f"{cls.name} needs a spectral library: the scene {scene.name!r} has none; pass "
                             f"--library usgs1995|FILE (library=...)")
        k = resolve_p(scene, p, Y, info) if cls.needs_p else None  # type: ignore[attr-defined]
        with timer("unmix"):
            result = unmixer.unmix(Y, D, p=k, image_shape=scene.image_shape)  # type: ignore[attr-defined]
        info["method"] = info_jsonable(result.info)
        convergence_warning(cls.name, result.info, log)
        library_abundances, e_source = result.library_abundances(), "library"
        atom_names = list(scene.library_names or [f"D{j + 1}" for j in range(D.shape[1])])
        A_valid, E_est = result.abundances, result.endmembers
        names = atom_names if result.over_library else dominant_atom_names(result.library_coefficients, atom_names)
    elif cls.task == "blind":
        unmixer = instantiate(cls, params, seed)
        k = resolve_p(scene, p, Y, info)
        with timer("unmix"):
            result = unmixer.unmix(Y, k, image_shape=scene.image_shape)  # type: ignore[attr-defined]
        info["method"] = info_jsonable(result.info)
        convergence_warning(cls.name, result.info, log)
        A_valid, E_est, e_source = result.abundances, result.endmembers, cls.name
        names = [f"E{j + 1}" for j in range(A_valid.shape[0])]
    else:
        if cls.task == "extractor":
            extractor_cls, extractor_params = cls, params
            unmixer: Method = get_method("FCLS", "supervised")()
        else:
            unmixer = instantiate(cls, params, seed)
        if known is not None:
            E, names, e_source = known
        else:
            extractor_cls = extractor_cls or get_method(extractor, "extractor")
            extractor_obj = instantiate(extractor_cls, extractor_params, seed)
            k = resolve_p(scene, p, Y, info)
            with timer("extract"):
                ext = extractor_obj.extract(Y, k)  # type: ignore[attr-defined]
            E, names, e_source = ext.endmembers, [f"E{j + 1}" for j in range(k)], extractor_cls.name
            info["extractor"] = info_jsonable(ext.info)
            convergence_warning(extractor_cls.name, ext.info, log)
        grid = {"image_shape": scene.image_shape} if getattr(unmixer, "spatial", False) else {}
        with timer("unmix"):
            result = unmixer.unmix(Y, E, **grid)  # type: ignore[attr-defined]
        info["method"] = info_jsonable(result.info)
        convergence_warning(cls.name, result.info, log)
        A_valid, E_est = result.abundances, result.endmembers
        if e_source == "library":
            library_abundances = A_valid

    check_result(cls.name, abundances=A_valid, endmembers=E_est)
    keep = slice(None)   # the columns of Y that are scored: a spatial method's degenerate pixels are not
    if spatial and degenerate.any():
        cols = degenerate[valid]
        A_valid = np.where(cols[None, :], np.nan, A_valid)
        if library_abundances is not None:
            library_abundances = np.where(cols[None, :], np.nan, library_abundances)
        keep = ~cols
    metrics = None
    if library_abundances is not None:  # never reordered; HySUPP's true-atom-row metrics + full matrix
        if scene.abundances is not None and scene.library_index is not None:
            from hysupp.metrics import evaluate_unmixing

            metrics = evaluate_unmixing(Y=Y[:, keep], A_true=scene.abundance_matrix()[:, valid][:, keep],
                                        E_est=scene.library, A_est=library_abundances[:, keep],
                                        library_index=scene.library_index)
    elif scene.abundances is not None or scene.endmembers is not None:
        metrics, A_valid, E_est, names = _evaluate(scene, Y, valid, A_valid, E_est, names,
                                                   aligned=e_source == "truth", align_by=align_by, keep=keep)
    p_est = A_valid.shape[0]
    A = np.full((p_est, scene.n_pixels), np.nan, dtype=A_valid.dtype)
    A[:, valid] = A_valid
    run = UnmixingRun(scene=scene, method=cls.name, abundances=A.reshape(p_est, *scene.image_shape),
                      endmembers=E_est, endmember_names=names, metrics=metrics, info=info)
    if library_abundances is not None:
        X = np.full((library_abundances.shape[0], scene.n_pixels), np.nan, dtype=library_abundances.dtype)
        X[:, valid] = library_abundances
        run.library_abundances = X.reshape(-1, *scene.image_shape)
    if from_xarray:
        run.xarray = run.to_xarray()
    run.record = run_record(
        method=method_block(cls, getattr(unmixer, "config", {})),
        extractor=None if extractor_obj is None else {"name": extractor_cls.name,  # type: ignore[union-attr]
                                                      "params": extractor_obj.config},
        input=input_block(source, name=scene.name, layout=scene.layout, shape=list(scene.shape),
                          valid_pixels=int(valid.sum()), units=units_record(scene), notes=scene.notes),
        protocol={"snr_db": snr, "noise": None if snr is None else "awgn: sigma^2 = mean(Y^2) / 10^(SNR/10)",
                  "seed": seed, "noise_seed": None if snr is None else noise_seed, "endmembers": e_source,
                  "align_by": align_by, "p": int(p_est)},
        timings_s=timer.seconds, info=info, metrics=metrics)
    return run


def _evaluate(scene: Scene, Y: np.ndarray, valid: np.ndarray, A: np.ndarray, E: np.ndarray,
              names: list[str], *, aligned: bool, align_by: str, keep: Any = slice(None)):
    """Metrics against the scene's truth on the columns ``keep`` of ``Y`` and ``A`` (the valid
    pixels); reorders the estimates to the truth when aligning."""
    from hysupp.metrics import evaluate_unmixing

    A_true = None if scene.abundances is None else scene.abundance_matrix()[:, valid][:, keep]
    E_true = scene.endmembers
    metrics = evaluate_unmixing(Y=Y[:, keep], E_true=E_true, A_true=A_true, E_est=E, A_est=A[:, keep],
                                align_by=None if aligned else align_by)
    alignment = metrics.get("alignment")
    if alignment and alignment.get("permutation") is not None:
        perm = [int(k) for k in alignment["permutation"] if k is not None and k >= 0]
        rest = [k for k in range(A.shape[0]) if k not in perm]
        order = perm + rest
        A, E = A[order], E[:, order]
        true_names = scene.endmember_names or [f"E{k + 1}" for k in range(len(perm))]
        names = [true_names[i] if i < len(perm) else names[k] for i, k in enumerate(order)]
    elif aligned and scene.endmember_names:
        names = list(scene.endmember_names)
    return metrics, A, E, names


def output_name(run: UnmixingRun) -> str:
    """The name of a run's default output folder: ``<scene>-<method>``."""
    return f"{run.scene.name}-{run.method}"


def write_run(run: UnmixingRun, out_dir: str | os.PathLike | None = None, *, overwrite: bool = False) -> Path:
    """Write a run's outputs to a new folder, atomically (a temporary sibling renamed at the end).

    Files: ``abundances.tif`` (when the input had georef) or ``abundances.npz`` + ``abundances.mat``
    (HySUPP layout), ``endmembers.csv``, ``metrics.json`` (when truth existed), ``run.json`` and
    ``abundances.png`` (at most 24 maps: the most abundant ones). ``out_dir`` defaults to a new
    ``hysupp-out/<scene>-<method>-<UTC time of the record>``
    (:func:`hysupp.runs.record.default_output_dir`); an existing non-empty ``out_dir`` is replaced
    only with ``overwrite`` (:func:`hysupp.runs.record.output_folder`).
    """
    from hysupp.io import save, save_spectra_csv
    from hysupp.viz import plot_abundance_maps, save_figure

    out = Path(out_dir) if out_dir is not None else default_output_dir(output_name(run),
                                                                       created=run.record.get("created"))
    with output_folder(out, overwrite=overwrite) as tmp:
        names = run.endmember_names
        if run.scene.georef is not None:
            save(run.abundance_scene(), tmp / "abundances.tif")
        else:
            np.savez_compressed(tmp / "abundances.npz", abundances=run.abundances, endmembers=run.endmembers,
                                endmember_names=np.array(names))
            save(Scene(cube=None, endmembers=run.endmembers, abundances=run.abundances,
                       endmember_names=names, name=run.scene.name), tmp / "abundances.mat")
        save_spectra_csv(tmp / "endmembers.csv", run.endmembers, names, wavelengths=run.scene.wavelengths)
        if run.metrics is not None:
            write_json(tmp / "metrics.json", run.metrics)
        write_json(tmp / "run.json", run.record)
        shown, title = np.arange(len(names)), f"{run.method} on {run.scene.name}"
        if len(names) > MAX_MAPS_IN_FIGURE:  # e.g. a whole library: show the most abundant atoms
            shown = np.sort(np.argsort(-np.nanmean(run.abundances, axis=(1, 2)))[:MAX_MAPS_IN_FIGURE])
            title += f" ({MAX_MAPS_IN_FIGURE} most abundant of {len(names)})"
        save_figure(plot_abundance_maps(run.abundances[shown], [names[k] for k in shown], title=title),
                    tmp / "abundances.png")
    return out
