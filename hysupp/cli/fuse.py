"""``hysupp fuse``: pansharpen an MS+PAN pair and write the fused GeoTIFF, metrics and a record."""

from __future__ import annotations

import click

from hysupp.cli.common import echo_json

SUMMARY_METRICS = ("q2n", "sam_deg", "ergas", "scc", "psnr_db", "d_lambda", "d_s", "qnr", "d_lambda_khan", "hqnr")


@click.command()
@click.option("--method", "-m", default="MTF-GLP", show_default=True, help="Registered pansharpening method.")
@click.option("--data", "-d", type=click.Path(dir_okay=False), default=None,
              help="One file with MS and PAN (e.g. the toolbox .mat: I_MS, I_PAN, ratio, sensor, L) or a saved "
                   "fusion pair.")
@click.option("--ms", type=click.Path(dir_okay=False), default=None, help="MS image file (with --pan).")
@click.option("--pan", type=click.Path(dir_okay=False), default=None, help="PAN image file (with --ms).")
@click.option("--ratio", type=click.IntRange(min=2), default=None, help="Resolution ratio (default: from the file).")
@click.option("--sensor", default=None, help="Sensor of the MTF table (WV2, QB, IKONOS...; default: from the file).")
@click.option("--protocol", type=click.Choice(["rr", "fr"]), default=None,
              help="rr: Wald's reduced-resolution protocol; fr: full resolution (default for a real pair).")
@click.option("--key", default=None, help="Variable holding the MS when the file's layout is ambiguous.")
@click.option("--scale", type=float, default=None, help="Multiply the inputs by this factor.")
@click.option("--border", type=click.IntRange(min=0), default=0, show_default=True,
              help="Frame (pixels) removed before the reduced-resolution metrics (toolbox dim_cut).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Method parameter (repeatable).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint of a fusion network (hysupp train) to use instead of training on the scene.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="New output folder (default: hysupp-out/<scene>-<method>-<protocol>-<UTC time>).")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty --out folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the run record (metrics included) as JSON.")
@click.option("--tile", type=click.IntRange(min=8), default=None, metavar="PIXELS",
              help="Scenes larger than memory: read --ms/--pan window by window, fuse tile by tile with Dask "
                   "(PIXELS-wide PAN tiles, halos for the filters, global statistics of the whole scene) and "
                   "stream the result to a COG (fused.tif, PAN grid). MTF-GLP(-HPM/-FS/-CBD), GS, GIHS, BT.")
@click.option("--scheduler", default=None,
              help="With --tile: a dask.distributed scheduler address (tcp://host:8786); default: local threads.")
def fuse(method, data, ms, pan, ratio, sensor, protocol, key, scale, border, params, weights, out, overwrite,
         as_json, tile, scheduler) -> None:
    """Fuse MS + PAN: fused GeoTIFF (PAN grid), metrics, run record and a quick-look."""
    from hysupp.api import check_output, write_fusion_run
    from hysupp.api import fuse as run_fusion
    from hysupp.methods.params import parse_param_strings
    from hysupp.methods.registry import get_method

    cls = get_method(method)
    if tile is not None:
        given = [name for name, v in (("--data", data), ("--protocol", protocol), ("--key", key), ("--scale", scale),
                                      ("--param", params or None), ("--weights", weights)) if v is not None]
        if given or ms is None or pan is None:
            raise click.UsageError("--tile needs --ms and --pan raster files" +
                                   (f" and no {', '.join(given)}" if given else ""))
        _fuse_tiled(cls.name, ms, pan, ratio, sensor, tile, scheduler, out, overwrite, as_json)
        return
    if scheduler is not None:
        raise click.UsageError("--scheduler applies to tiled runs: add --tile PIXELS")
    values = parse_param_strings(cls.name, cls.params, params)
    if weights is not None:
        if "weights" not in {p.name for p in cls.params}:
            from hysupp.errors import ParameterError

            raise ParameterError(f"{cls.name} takes no --weights (only the fusion networks do)")
        values["weights"] = weights
    check_output(out, overwrite)   # before any computation
    run = run_fusion(data, cls.name, ms=ms, pan=pan, ratio=ratio, sensor=sensor, protocol=protocol,
                     params=values, key=key, scale=scale, border=border)
    written = write_fusion_run(run, out, overwrite=overwrite)
    run.record["output"] = str(written)
    if as_json:
        echo_json(run.record)
        return
    lines = [f"{run.method} ({run.protocol}) on {run.pair.low.name}: fused {tuple(run.fused.shape)}",
             "time: " + ", ".join(f"{k} {v:.3f} s" for k, v in run.record["timings_s"].items())]
    if run.metrics:
        lines.append("metrics: " + ", ".join(f"{k} {run.metrics[k]:.4g}" for k in SUMMARY_METRICS
                                               if isinstance(run.metrics.get(k), (int, float))))
    lines.append(f"wrote {written}")
    click.echo("\n".join(lines))


def _fuse_tiled(method, ms, pan, ratio, sensor, tile, scheduler, out, overwrite, as_json) -> None:
    """``--tile``: :func:`hysupp.api.fuse_tiled_to_folder` (``OUT/fused.tif`` COG + ``run.json``)."""
    from hysupp.api import fuse_tiled_to_folder

    run = fuse_tiled_to_folder(ms, pan, method, out, overwrite=overwrite, progress=not as_json, ratio=ratio,
                               sensor=sensor, tile=tile, scheduler=scheduler)
    if as_json:
        echo_json(run.record)
        return
    click.echo(f"{run.method} tile-wise on {tuple(run.fused.shape)} ({run.info['chunks'][0]} x "
               f"{run.info['chunks'][1]} tiles): {run.info['wall_s']:.2f} s\nwrote {run.path.parent}")
