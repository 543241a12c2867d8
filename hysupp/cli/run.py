"""``hysupp run``: unmix a scene and write maps, spectra, metrics, a run record and a figure."""

from __future__ import annotations

import click

from hysupp.cli.common import (SEED_MAX, SingleValuedCommand, complete_method, echo, echo_json, notes, say,
                               verbosity_options)
from hysupp.cli.config import config_option, config_record, merged_params
from hysupp.cli.progress import progress_option


class EndmemberCount(click.ParamType):
    """``--p``: an integer >= 2 or the name of an estimator of the number of endmembers."""

    name = "INT|auto"

    def convert(self, value, param, ctx):
        from hysupp.api import P_ESTIMATORS

        if isinstance(value, int):
            n = value
        else:
            text = str(value).strip().lower()
            if text in P_ESTIMATORS:
                return text
            try:
                n = int(text)
            except ValueError:
                self.fail(f"{value!r} is neither an integer nor one of {', '.join(P_ESTIMATORS)}", param, ctx)
        if n < 2:
            self.fail(f"the number of endmembers must be >= 2, got {n}", param, ctx)
        return n


def _summary_lines(run, out) -> list[str]:
    lines = [f"{run.method} on {run.scene.name} {tuple(run.scene.shape)}: p = {run.abundances.shape[0]}"]
    timings = run.record.get("timings_s", {})
    lines.append("time: " + ", ".join(f"{k} {v:.3f} s" for k, v in timings.items()))
    if run.metrics:
        keys = [k for k in ("sre_db", "armse", "sad_mean_deg", "ermse", "reconstruction_rmse") if k in run.metrics]
        lines.append("metrics: " + ", ".join(f"{k} {run.metrics[k]:.4g}" for k in keys
                                               if isinstance(run.metrics[k], (int, float))))
    restarts = run.info.get("restarts")
    if restarts and len(restarts["runs"]) > 1:
        lines.append(f"restarts: kept seed {restarts['kept_seed']} of {restarts['seeds']} (reconstruction RMSE "
                     + ", ".join(f"{r['reconstruction_rmse']:.4g}" for r in restarts["runs"]) + ")")
    if out is not None:
        lines.append(f"wrote {out}")
    return lines


RUN_HELP = """Unmix a scene: abundance maps, endmembers, metrics (when truth exists), record and figure.

Writes a new folder (--out, default hysupp-out/<scene>-<method>-<UTC time>): abundances (GeoTIFF
when the input is georeferenced, else .npz + HySUPP .mat), endmembers.csv, metrics.json, run.json
and abundances.png. Warnings (units, layout, convergence...) are printed on stderr and recorded in
run.json.

\b
Examples:
  hysupp run                                   # FCLS + VCA on the bundled DC1 scene
  hysupp run -m FCLS -d scene.mat --endmembers truth -o out/fcls
  hysupp run -m SUnSAL -d cuprite.mat --library usgs1995 --param lam=1e-3
  hysupp run -m MVC-NMF -d enmap.tif --scale 1e-4 --p auto
  hysupp run -m FCLS -d flightline.tif --endmembers E.csv --tile 512
  hysupp run --config run.toml --dry-run       # the plan and a time estimate, nothing computed
"""


@click.command(cls=SingleValuedCommand, help=RUN_HELP, short_help="Unmix a scene: abundance maps, endmembers, metrics, record.")
@config_option
@click.option("--method", "-m", default="FCLS", show_default=True, shell_complete=complete_method(
    ("supervised", "extractor", "semi-supervised", "blind")), help="Registered method (see `hysupp list`).")
@click.option("--data", "-d", type=click.Path(dir_okay=False), default=None,
              help="Image file (.mat, ENVI, GeoTIFF, .npy/.npz). Default: the bundled DC1-style scene.")
@click.option("--key", default=None, help="Variable holding the image when the file's layout is ambiguous.")
@click.option("--layout", default=None, metavar="LHW|HWL|...",
              help="Axis order of the image's 3-D array in a .mat/.npy/.npz file (L = bands, H = rows, W = columns), "
                   "instead of checking it (band count, spectral smoothness).")
@click.option("--truth", type=click.Path(dir_okay=False), default=None,
              help="Separate ground-truth file (e.g. Samson's end3.mat, or the X.truth.npz of hysupp simulate).")
@click.option("--truth-key", default=None,
              help="Variable of the --truth file to read (its endmembers or abundances).")
@click.option("--scale", type=float, default=None,
              help="Multiply the image by this positive factor (e.g. 1e-4 for reflectance x 10000). Without it, an "
                   "image whose units differ from the library's (or the endmembers') by a power of ten is brought "
                   "to them, with a warning.")
@click.option("--p", "p", type=EndmemberCount(), default=None,
              help="Number of endmembers (default: from the truth), or auto|hysime|hfc|nwhfc to estimate it "
                   "from the data (auto = HySime).")
@click.option("--extractor", default="VCA", show_default=True, shell_complete=complete_method(("extractor",)),
              help="Extractor for supervised methods without --endmembers.")
@click.option("--endmembers", default=None,
              help="'truth', 'library' (every library atom) or a file of known endmembers (L x p).")
@click.option("--library", default=None,
              help="Spectral library: usgs1995, usgs1995-pruned or a file; matched to the image's bands "
                   "by wavelength.")
@click.option("--library-key", default=None,
              help="Variable holding the library in the --library file (e.g. a library stored as A).")
@click.option("--library-scale", type=float, default=None,
              help="Multiply the library's spectra by this positive factor (the library then keeps these units).")
@click.option("--snr", type=float, default=None, help="Add AWGN at this SNR in dB (HySUPP definition).")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True,
              help=f"Seed for noise and seeded methods (0 .. {SEED_MAX}).")
@click.option("--restarts", type=click.IntRange(min=1), default=1, show_default=True, metavar="K",
              help="Stochastic methods: run with the seeds SEED..SEED+K-1 and keep the run with the smallest "
                   "reconstruction RMSE (every restart is recorded in run.json, info.restarts).")
@click.option("--seeds", "seed_list", default=None, metavar="S1,S2,...",
              help="Like --restarts, with these seeds (the noise keeps --seed).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Method parameter (repeatable).")
@click.option("--extractor-param", "extractor_params", multiple=True, metavar="KEY=VALUE",
              help="Extractor parameter (repeatable).")
@click.option("--align-by", type=click.Choice(["sad", "abundances"]), default="abundances", show_default=True,
              help="Hungarian alignment to the truth: by spectral angle or by abundance maps.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="New output folder (default: hysupp-out/<scene>-<method>-<time>).")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing --out folder written by hysupp (never a folder holding other files).")
@click.option("--json", "as_json", is_flag=True, help="Print the run record (metrics included) as JSON.")
@click.option("--dry-run", is_flag=True,
              help="Resolve the inputs, parameters and output folder, print the plan and a time estimate; "
                   "compute and write nothing.")
@click.option("--tile", type=click.IntRange(min=1), default=None, metavar="PIXELS",
              help="Scenes larger than memory: read --data (GeoTIFF/ENVI) in windows of PIXELS x PIXELS (all bands), "
                   "unmix tile by tile with Dask and stream the abundances to a COG (abundances.tif). Endmembers of "
                   "blind / extractor runs are estimated once on a stratified pixel sample.")
@click.option("--scheduler", default=None, metavar="ADDR",
              help="With --tile: the address of a trusted dask.distributed scheduler (tcp://host:8786; Dask ships "
                   "pickled tasks, so a hostile scheduler runs code here); default: Dask's local threads.")
@click.option("--n-sample", type=click.IntRange(min=10), default=20000, show_default=True,
              help="With --tile: pixels of the stratified sample used to estimate endmembers.")
@progress_option
@verbosity_options
@click.pass_context
def run(ctx, method, data, key, layout, truth, truth_key, scale, p, extractor, endmembers, library, library_key,
        library_scale, snr, seed, restarts, seed_list, params, extractor_params, align_by, out, overwrite, as_json,
        dry_run, tile, scheduler, n_sample) -> None:
    from hysupp.api import check_output, plan_unmix, unmix, write_run
    from hysupp.datasets import builtin_scene
    from hysupp.methods.params import parse_param_strings
    from hysupp.methods.registry import get_method

    try:
        seeds = None if seed_list is None else [int(x) for x in seed_list.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected integers separated by commas, got {seed_list!r}", param_hint="--seeds") from None
    params = merged_params("params", params)
    extractor_params = merged_params("extractor_params", extractor_params)
    ctx.params.update(params=list(params), extractor_params=list(extractor_params))   # as recorded (config)
    cls = get_method(method)
    method_params = parse_param_strings(cls.name, cls.params, params)
    ext_cls = cls if cls.task == "extractor" else get_method(extractor, "extractor")
    ext_params = parse_param_strings(ext_cls.name, ext_cls.params, extractor_params)
    if cls.task == "extractor":  # the extractor is the method: one parameter set
        method_params, ext_params = {**method_params, **ext_params}, None
    if tile is not None:
        _check_tiled(data, p, {"--key": key, "--layout": layout, "--truth": truth, "--truth-key": truth_key,
                               "--snr": snr, "--seeds": seed_list, "--restarts": restarts if restarts > 1 else None})
    elif scheduler is not None:
        raise click.UsageError("--scheduler applies to tiled runs: add --tile PIXELS")
    source = builtin_scene("dc1") if data is None else data
    if dry_run:
        plan = plan_unmix(source, cls.name, p=p, endmembers=endmembers, extractor=ext_cls.name, params=method_params,
                          extractor_params=ext_params, snr=snr, seed=seed, align_by=align_by, key=key, truth=truth,
                          scale=scale, library=library, out=out, overwrite=overwrite, tile=tile, scheduler=scheduler,
                          n_sample=n_sample, layout=layout, truth_key=truth_key, library_key=library_key,
                          library_scale=library_scale)
        plan.details["config"] = config_record(ctx.params)
        echo_json(plan.to_dict()) if as_json else echo(plan.text())
        return
    if tile is not None:
        _run_tiled(ctx, cls, data, p=p, endmembers=endmembers, library=library, ext_cls=ext_cls,
                   method_params=method_params, ext_params=ext_params, tile=tile, scheduler=scheduler,
                   n_sample=n_sample, seed=seed, scale=scale, out=out, overwrite=overwrite, as_json=as_json,
                   library_key=library_key, library_scale=library_scale)
        return
    check_output(out, overwrite)   # before any computation
    result = unmix(source, cls.name, p=p, endmembers=endmembers, extractor=ext_cls.name, params=method_params,
                   extractor_params=ext_params, snr=snr, seed=seed, align_by=align_by, key=key, truth=truth,
                   scale=scale, library=library, layout=layout, truth_key=truth_key, library_key=library_key,
                   library_scale=library_scale, restarts=restarts, seeds=seeds)
    config = config_record(ctx.params)
    if config is not None:
        result.record["config"] = config
    written = write_run(result, out, overwrite=overwrite)
    result.record["output"] = str(written)
    notes(result.scene.notes)
    if as_json:
        echo_json(result.record)
    else:
        say("\n".join(_summary_lines(result, written)))


def _check_tiled(data, p, unsupported) -> None:
    if data is None:
        raise click.UsageError("--tile needs --data (a raster file, e.g. a GeoTIFF)")
    given = [k for k, v in unsupported.items() if v is not None]
    if given:
        raise click.UsageError(f"{', '.join(given)} cannot be combined with --tile")
    if isinstance(p, str):
        raise click.UsageError("--tile needs an integer --p (estimating p needs the whole image)")


def _run_tiled(ctx, cls, data, *, p, endmembers, library, ext_cls, method_params, ext_params, tile, scheduler,
               n_sample, seed, scale, out, overwrite, as_json, library_key, library_scale) -> None:
    """``--tile``: :func:`hysupp.api.unmix_tiled_to_folder` (``OUT/abundances.tif`` COG + endmembers + record)."""
    from hysupp.api import unmix_tiled_to_folder

    config = config_record(ctx.params)
    result = unmix_tiled_to_folder(data, cls.name, out, overwrite=overwrite,
                                   endmembers=endmembers, library=library, p=p, extractor=ext_cls.name,
                                   params=method_params, extractor_params=ext_params, tile=tile, scheduler=scheduler,
                                   n_sample=n_sample, seed=seed, scale=scale, library_key=library_key,
                                   library_scale=library_scale, config=config)
    notes(result.header.notes)
    if as_json:
        echo_json(result.record)
    else:
        shape = tuple(result.header.shape)
        say(f"{result.method} on {result.header.name} {shape} tile-wise ({tile} px tiles, "
            f"{result.record['protocol']['scheduler']}): p = {len(result.endmember_names)}, "
            f"{result.info['wall_s']:.2f} s\nwrote {result.path.parent}")
