"""``hysupp fuse``: pansharpen an MS+PAN pair and write the fused GeoTIFF, metrics and a record."""

from __future__ import annotations

import click

from hysupp.cli.common import SingleValuedCommand, complete_method, echo, echo_json, notes, say, verbosity_options
from hysupp.cli.config import config_option, config_record, merged_params
from hysupp.cli.progress import progress_option

SUMMARY_METRICS = ("q2n", "sam_deg", "ergas", "scc", "psnr_db", "d_lambda", "d_s", "qnr", "d_lambda_khan", "hqnr",
                   "spectral_psnr_db", "spectral_sam_deg", "spatial_psnr_db", "spatial_sam_deg")

FUSE_HELP = """Fuse MS + PAN (or HS + MS, HS + PAN): fused GeoTIFF, metrics, run record and a quick-look.

Writes a new folder (--out, default hysupp-out/<scene>-<method>-<protocol>-<UTC time>): fused.tif,
metrics.json, run.json and quicklook.png. Inputs: --data (one file with MS and PAN, or a saved pair),
--ms/--pan, --hs/--ms, --hs/--pan. Physics: --sensor (MTF gains, band centres), --gnyq/--gnyq-pan,
--psf and, for HS-MS methods, --srf; what is missing is estimated (SRF/PSF) or taken generic (MTF
gains), with a warning. --protocol rr scores the method on Wald's reduced-resolution pair (Q2n, SAM,
ERGAS, SCC; the PAN degraded by bicubic imresize, the toolbox's protocol behind the published tables,
or --pan-degradation mtf), fr scores the full-resolution result without reference (D_lambda, D_s,
QNR, HQNR; for HS + MS the consistency with the SRF and PSF); a saved fusion pair with a reference
is scored against it. run.json records the physics, the range check of the fused values and the
warnings.

\b
Examples:
  hysupp fuse -m MTF-GLP -d wv2.mat --protocol rr -o out/mtf-glp
  hysupp fuse -m GSA --ms ms.tif --pan pan.tif --ratio 4 --sensor WV2
  hysupp fuse -m HySure -d pavia_pair.npz
  hysupp fuse -m HySure --hs hs.tif --ms ms.tif --srf srf.csv --psf gaussian:3
  hysupp fuse -m FusionNet --weights model.pt -d wv2.mat
  hysupp fuse -m MTF-GLP --ms ms.tif --pan pan.tif --tile 2048 -o out/big
  hysupp fuse --config fuse.toml --dry-run
"""


@click.command(cls=SingleValuedCommand, help=FUSE_HELP,
               short_help="Fuse MS + PAN or HS + MS: fused GeoTIFF, metrics, record.")
@config_option
@click.option("--method", "-m", default="MTF-GLP", show_default=True,
              shell_complete=complete_method(("pansharpening", "hs-ms-fusion")),
              help="Registered pansharpening or HS-MS fusion method.")
@click.option("--data", "-d", type=click.Path(dir_okay=False), default=None,
              help="One file with MS and PAN (e.g. the toolbox .mat: I_MS, I_PAN, ratio, sensor, L) or a saved "
                   "fusion pair.")
@click.option("--ms", type=click.Path(dir_okay=False), default=None,
              help="MS image file (with --pan; with --hs it is the high-resolution image).")
@click.option("--pan", type=click.Path(dir_okay=False), default=None, help="PAN image file (with --ms or --hs).")
@click.option("--hs", type=click.Path(dir_okay=False), default=None,
              help="HS image file: HS+MS fusion with --ms, HS pansharpening with --pan.")
@click.option("--ratio", type=click.IntRange(min=2), default=None, help="Resolution ratio (default: from the file).")
@click.option("--sensor", default=None,
              help="Sensor of the sensor table (WV2, QB, S2, Landsat-8, ALI, Hyperion, PRISMA...; default: from the "
                   "file): MTF gains, band centres. Without one the generic gains are used, with a warning.")
@click.option("--gnyq", default=None, metavar="G[,G...]",
              help="MTF Nyquist gains of the MS bands (one value, or one per band) instead of the sensor's.")
@click.option("--gnyq-pan", type=float, default=None, help="MTF Nyquist gain of the PAN instead of the sensor's.")
@click.option("--srf", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Spectral response of the MS (or PAN) bands on the HS bands, for HS-MS methods: a CSV/text table "
                   "(wavelength + one column per band, or band,centre,fwhm), .mat, .npz or .npy. Default: estimated.")
@click.option("--psf", default=None, metavar="gaussian:FWHM|FILE",
              help="PSF of the low-resolution image on the high-resolution grid: gaussian:FWHM (HR pixels) or a "
                   "kernel file (.npy, .csv, .mat). HS-MS methods use it (default: estimated); pansharpening "
                   "methods its MTF gain.")
@click.option("--protocol", type=click.Choice(["rr", "fr"]), default=None,
              help="rr: Wald's reduced-resolution protocol; fr: full resolution (default for a real pair).")
@click.option("--pan-degradation", type=click.Choice(["bicubic", "mtf"]), default=None,
              help="With --protocol rr: PAN degraded by bicubic imresize (default, the pansharpening toolbox's "
                   "protocol behind the published tables) or by its MTF + decimation.")
@click.option("--key", default=None,
              help="Variable holding the MS (or --data, or --hs) when the file's layout is ambiguous.")
@click.option("--pan-key", default=None,
              help="Variable holding the PAN (or, with --hs, the MS) in its file.")
@click.option("--scale", type=float, default=None, help="Multiply the inputs by this factor.")
@click.option("--border", type=click.IntRange(min=0), default=0, show_default=True,
              help="Frame (pixels) removed before the reduced-resolution metrics (toolbox dim_cut).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Method parameter (repeatable).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint of a fusion network (hysupp train) to use instead of training on the scene.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="New output folder (default: hysupp-out/<scene>-<method>-<protocol>-<UTC time>).")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing --out folder written by hysupp (never a folder holding other files).")
@click.option("--json", "as_json", is_flag=True, help="Print the run record (metrics included) as JSON.")
@click.option("--dry-run", is_flag=True,
              help="Read the inputs, validate the parameters and the output folder, print the plan and a time "
                   "estimate; compute and write nothing.")
@click.option("--tile", type=click.IntRange(min=8), default=None, metavar="PIXELS",
              help="Scenes larger than memory: read --ms/--pan (GeoTIFF/ENVI) window by window, fuse tile by tile "
                   "with Dask (PIXELS-wide PAN tiles, halos for the filters, global statistics of the whole scene) "
                   "and stream the result to a COG (fused.tif, PAN grid). MTF-GLP(-HPM/-FS/-CBD), GS, GIHS, BT.")
@click.option("--scheduler", default=None, metavar="ADDR",
              help="With --tile: the address of a trusted dask.distributed scheduler (tcp://host:8786; Dask ships "
                   "pickled tasks, so a hostile scheduler runs code here); default: local threads.")
@progress_option
@verbosity_options
@click.pass_context
def fuse(ctx, method, data, ms, pan, hs, ratio, sensor, gnyq, gnyq_pan, srf, psf, protocol, pan_degradation, key,
         pan_key, scale, border, params, weights, out, overwrite, as_json, dry_run, tile, scheduler) -> None:
    from hysupp.api import check_output, plan_fuse, write_fusion_run
    from hysupp.api import fuse as run_fusion
    from hysupp.errors import ParameterError
    from hysupp.methods.params import parse_param_strings
    from hysupp.methods.registry import get_method

    params = merged_params("params", params)
    ctx.params["params"] = list(params)   # as recorded (config)
    cls = get_method(method)
    if tile is not None:
        given = [name for name, v in (("--data", data), ("--protocol", protocol), ("--key", key), ("--scale", scale),
                                      ("--param", params or None), ("--weights", weights), ("--hs", hs),
                                      ("--gnyq", gnyq), ("--gnyq-pan", gnyq_pan), ("--srf", srf), ("--psf", psf),
                                      ("--pan-degradation", pan_degradation), ("--pan-key", pan_key))
                 if v is not None]
        if given or ms is None or pan is None:
            raise click.UsageError("--tile needs --ms and --pan raster files" +
                                   (f" and no {', '.join(given)}" if given else ""))
    elif scheduler is not None:
        raise click.UsageError("--scheduler applies to tiled runs: add --tile PIXELS")
    if pan_degradation is not None and protocol != "rr":
        raise click.UsageError("--pan-degradation applies to the reduced-resolution protocol: add --protocol rr")
    values = parse_param_strings(cls.name, cls.params, params)
    if weights is not None:
        if "weights" not in {p.name for p in cls.params}:
            raise ParameterError(f"{cls.name} takes no --weights (only the fusion networks do)")
        values["weights"] = weights
    if dry_run:
        plan = plan_fuse(data, cls.name, ms=ms, pan=pan, hs=hs, ratio=ratio, sensor=sensor, protocol=protocol,
                         params=values, key=key, pan_key=pan_key, scale=scale, gnyq=gnyq, gnyq_pan=gnyq_pan, srf=srf,
                         psf=psf, pan_degradation=pan_degradation, out=out, overwrite=overwrite, tile=tile,
                         scheduler=scheduler)
        plan.details["config"] = config_record(ctx.params)
        echo_json(plan.to_dict()) if as_json else echo(plan.text())
        return
    if tile is not None:
        _fuse_tiled(ctx, cls.name, ms, pan, ratio, sensor, tile, scheduler, out, overwrite, as_json)
        return
    check_output(out, overwrite)   # before any computation
    run = run_fusion(data, cls.name, ms=ms, pan=pan, hs=hs, ratio=ratio, sensor=sensor, protocol=protocol,
                     params=values, key=key, pan_key=pan_key, scale=scale, border=border, gnyq=gnyq,
                     gnyq_pan=gnyq_pan, srf=srf, psf=psf, pan_degradation=pan_degradation)
    config = config_record(ctx.params)
    if config is not None:
        run.record["config"] = config
    written = write_fusion_run(run, out, overwrite=overwrite)
    run.record["output"] = str(written)
    notes(run.pair.low.notes, "low")
    notes(run.pair.high.notes, "high")
    if as_json:
        echo_json(run.record)
        return
    lines = [f"{run.method} ({run.protocol}) on {run.pair.low.name}: fused {tuple(run.fused.shape)}",
             "time: " + ", ".join(f"{k} {v:.3f} s" for k, v in run.record["timings_s"].items())]
    if run.metrics:
        lines.append("metrics: " + ", ".join(f"{k} {run.metrics[k]:.4g}" for k in SUMMARY_METRICS
                                               if isinstance(run.metrics.get(k), (int, float))))
    lines.extend(physics_lines(run.record))
    lines.append(f"wrote {written}")
    say("\n".join(lines))


def physics_lines(record: dict) -> list[str]:
    """Summary lines of the physics a fusion run used (gains, SRF/PSF and the estimate's fit)."""
    phys = record.get("physics") or {}
    lines = []
    gains = phys.get("gains")
    if gains:
        ms = gains["ms_gnyq"]
        shown = f"{ms[0]:g}" if len(set(ms)) == 1 else ",".join(f"{g:g}" for g in ms)
        lines.append(f"MTF gains: {gains['source']}{' ' + gains['sensor'] if gains.get('sensor') else ''} "
                     f"(MS {shown}, PAN {gains['pan_gnyq']:g})")
    resp = phys.get("responses")
    if resp:
        diag = (resp.get("estimate") or {}).get("diagnostics") or {}
        fit = f", fit residual {diag['fit_residual']:.3g}" if "fit_residual" in diag else ""
        lines.append(f"SRF: {resp['srf']}; PSF: {resp['psf']}{fit}")
    rc = record.get("range_check") or {}
    if rc.get("flagged"):
        lines.append(f"range: {100 * rc['fraction_far']:.3g} % of the fused values far outside the inputs' range "
                     f"[{rc['input_min']:.4g}, {rc['input_max']:.4g}] (fused [{rc['fused_min']:.4g}, "
                     f"{rc['fused_max']:.4g}])")
    return lines


def _fuse_tiled(ctx, method, ms, pan, ratio, sensor, tile, scheduler, out, overwrite, as_json) -> None:
    """``--tile``: :func:`hysupp.api.fuse_tiled_to_folder` (``OUT/fused.tif`` COG + ``run.json``)."""
    from hysupp.api import fuse_tiled_to_folder

    run = fuse_tiled_to_folder(ms, pan, method, out, overwrite=overwrite, ratio=ratio, sensor=sensor, tile=tile,
                               scheduler=scheduler, config=config_record(ctx.params))
    if as_json:
        echo_json(run.record)
        return
    say(f"{run.method} tile-wise on {tuple(run.fused.shape)} ({run.info['chunks'][0]} x "
        f"{run.info['chunks'][1]} tiles): {run.info['wall_s']:.2f} s\nwrote {run.path.parent}")
