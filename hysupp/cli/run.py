"""``hysupp run``: unmix a scene and write maps, spectra, metrics, a run record and a figure."""

from __future__ import annotations

import click

from hysupp.cli.common import echo_json


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


@click.command()
@click.option("--method", "-m", default="FCLS", show_default=True, help="Registered method (see `hysupp list`).")
@click.option("--data", "-d", type=click.Path(dir_okay=False), default=None,
              help="Image file (.mat, ENVI, GeoTIFF, .npy/.npz). Default: the bundled DC1-style scene.")
@click.option("--key", default=None, help="Variable holding the image when the file's layout is ambiguous.")
@click.option("--truth", type=click.Path(dir_okay=False), default=None,
              help="Separate ground-truth file (e.g. Samson's end3.mat).")
@click.option("--scale", type=float, default=None,
              help="Multiply the image by this factor (e.g. 1e-4 for integer reflectance x 10000).")
@click.option("--p", "p", type=EndmemberCount(), default=None,
              help="Number of endmembers (default: from the truth), or auto|hysime|hfc|nwhfc to estimate it "
                   "from the data (auto = HySime).")
@click.option("--extractor", default="VCA", show_default=True,
              help="Extractor for supervised methods without --endmembers.")
@click.option("--endmembers", default=None,
              help="'truth', 'library' (every library atom) or a file of known endmembers (L x p).")
@click.option("--library", default=None,
              help="Spectral library: usgs1995, usgs1995-pruned or a file; matched to the image's bands "
                   "by wavelength.")
@click.option("--snr", type=float, default=None, help="Add AWGN at this SNR in dB (HySUPP definition).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for noise and seeded methods.")
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
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty --out folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the run record (metrics included) as JSON.")
@click.option("--tile", type=click.IntRange(min=1), default=None, metavar="PIXELS",
              help="Scenes larger than memory: read --data in windows of PIXELS x PIXELS (all bands), unmix "
                   "tile by tile with Dask and stream the abundances to a COG (abundances.tif). Endmembers of "
                   "blind / extractor runs are estimated once on a stratified pixel sample.")
@click.option("--scheduler", default=None, metavar="ADDR",
              help="With --tile: a dask.distributed scheduler address (tcp://host:8786); default: Dask's local "
                   "threaded scheduler.")
@click.option("--n-sample", type=click.IntRange(min=10), default=20000, show_default=True,
              help="With --tile: pixels of the stratified sample used to estimate endmembers.")
def run(method, data, key, truth, scale, p, extractor, endmembers, library, snr, seed, restarts, seed_list, params,
        extractor_params, align_by, out, overwrite, as_json, tile, scheduler, n_sample) -> None:
    """Unmix a scene: abundance maps, endmembers, metrics (when truth exists), record and figure."""
    from hysupp.api import check_output, unmix, write_run
    from hysupp.datasets import builtin_scene
    from hysupp.methods.params import parse_param_strings
    from hysupp.methods.registry import get_method

    try:
        seeds = None if seed_list is None else [int(x) for x in seed_list.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected integers separated by commas, got {seed_list!r}", param_hint="--seeds") from None
    cls = get_method(method)
    method_params = parse_param_strings(cls.name, cls.params, params)
    ext_cls = cls if cls.task == "extractor" else get_method(extractor, "extractor")
    ext_params = parse_param_strings(ext_cls.name, ext_cls.params, extractor_params)
    if cls.task == "extractor":  # the extractor is the method: one parameter set
        method_params, ext_params = {**method_params, **ext_params}, None
    if tile is not None:
        _run_tiled(cls, data, p=p, endmembers=endmembers, library=library, ext_cls=ext_cls, method_params=method_params,
                   ext_params=ext_params, tile=tile, scheduler=scheduler, n_sample=n_sample, seed=seed, scale=scale,
                   out=out, overwrite=overwrite, as_json=as_json, unsupported={"--key": key, "--truth": truth,
                                                                               "--snr": snr, "--seeds": seed_list,
                                                                               "--restarts": restarts if restarts > 1 else None})
        return
    if scheduler is not None:
        raise click.UsageError("--scheduler applies to tiled runs: add --tile PIXELS")
    check_output(out, overwrite)   # before any computation
    source = builtin_scene("dc1") if data is None else data
    result = unmix(source, cls.name, p=p, endmembers=endmembers, extractor=ext_cls.name, params=method_params,
                   extractor_params=ext_params, snr=snr, seed=seed, align_by=align_by, key=key, truth=truth,
                   scale=scale, library=library, restarts=restarts, seeds=seeds)
    written = write_run(result, out, overwrite=overwrite)
    result.record["output"] = str(written)
    if as_json:
        echo_json(result.record)
    else:
        click.echo("\n".join(_summary_lines(result, written)))


def _run_tiled(cls, data, *, p, endmembers, library, ext_cls, method_params, ext_params, tile, scheduler, n_sample,
               seed, scale, out, overwrite, as_json, unsupported) -> None:
    """``--tile``: :func:`hysupp.api.unmix_tiled_to_folder` (``OUT/abundances.tif`` COG + endmembers + record)."""
    from hysupp.api import unmix_tiled_to_folder

    if data is None:
        raise click.UsageError("--tile needs --data (a raster file, e.g. a GeoTIFF)")
    given = [k for k, v in unsupported.items() if v is not None]
    if given:
        raise click.UsageError(f"{', '.join(given)} cannot be combined with --tile")
    if isinstance(p, str):
        raise click.UsageError("--tile needs an integer --p (estimating p needs the whole image)")
    result = unmix_tiled_to_folder(data, cls.name, out, overwrite=overwrite, progress=not as_json,
                                   endmembers=endmembers, library=library, p=p, extractor=ext_cls.name,
                                   params=method_params, extractor_params=ext_params, tile=tile, scheduler=scheduler,
                                   n_sample=n_sample, seed=seed, scale=scale)
    if as_json:
        echo_json(result.record)
    else:
        shape = tuple(result.header.shape)
        click.echo(f"{result.method} on {result.header.name} {shape} tile-wise ({tile} px tiles, "
                   f"{result.record['protocol']['scheduler']}): p = {len(result.endmember_names)}, "
                   f"{result.info['wall_s']:.2f} s\nwrote {result.path.parent}")
