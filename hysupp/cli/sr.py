"""``hysupp sr``: single-image super-resolution of a cube, with a record (and metrics for ``--protocol rr``)."""

from __future__ import annotations

import click

from hysupp.cli.common import SingleValuedCommand, complete_method, echo, echo_json, notes, say, verbosity_options

SUMMARY_METRICS = ("psnr_db", "sam_deg", "ergas", "q2n")


SR_HELP = """Super-resolve one image: fused.tif, metrics.json, run.json and a quick-look in --out.

--protocol rr degrades the image by the ratio, super-resolves it and scores the result against the
image (PSNR, SAM, ERGAS, Q2n); fr super-resolves the image itself and reports the consistency of
the result (its degraded version against the input).

\b
Examples:
  hysupp sr -m Bicubic -d scene.tif --ratio 2 -o out/bicubic
  hysupp sr -m Deconvolution -d scene.tif --ratio 4 --protocol rr --sensor WV2 -o out/deconv
  hysupp sr -m SRCNN -d scene.tif --ratio 2 --save-weights srcnn.pt -o out/srcnn
  hysupp sr -m SRCNN -d scene.tif --ratio 2 -o out/srcnn --dry-run
"""


@click.command("sr", cls=SingleValuedCommand, help=SR_HELP,
               short_help="Single-image super-resolution: fused GeoTIFF, metrics, record.")
@click.option("--method", "-m", default="Bicubic", show_default=True,
              shell_complete=complete_method(("super-resolution",)), help="Registered super-resolution method.")
@click.option("--data", "-d", type=click.Path(dir_okay=False, exists=True), required=True,
              help="Image file (any format hysupp.load reads; a pansharpening .mat gives its MS).")
@click.option("--ratio", type=click.IntRange(min=2), required=True, help="Resolution ratio.")
@click.option("--protocol", type=click.Choice(["rr", "fr"]), default="fr", show_default=True,
              help="rr: degrade the input by the ratio, super-resolve, score against the input; fr: super-resolve "
                   "the input (consistency metrics only).")
@click.option("--psf-fwhm", type=float, default=None,
              help="Gaussian PSF FWHM in high-resolution pixels (default: MTF gain 0.29 at Nyquist).")
@click.option("--sensor", default=None,
              help="PSF = the MTF-matched filters of this sensor (WV2, QB, IKONOS...; instead of --psf-fwhm).")
@click.option("--key", default=None, help="Variable holding the cube when the file's layout is ambiguous.")
@click.option("--scale", type=float, default=None, help="Multiply the input by this factor.")
@click.option("--border", type=click.IntRange(min=0), default=0, show_default=True,
              help="Frame (pixels) removed before the metrics.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Method parameter (repeatable).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint of a super-resolution network to use instead of training on the scene.")
@click.option("--save-weights", type=click.Path(dir_okay=False), default=None,
              help="With a network: also save the checkpoint trained on the scene to this .pt file.")
@click.option("--out", "-o", type=click.Path(file_okay=False), required=True, help="New output folder.")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing --out folder written by hysupp (never a folder holding other files).")
@click.option("--json", "as_json", is_flag=True, help="Print the run record (metrics included) as JSON.")
@click.option("--dry-run", is_flag=True,
              help="Read the image, validate the parameters and the output folder, print the plan and a time "
                   "estimate; compute and write nothing.")
@verbosity_options
def sr(method, data, ratio, protocol, psf_fwhm, sensor, key, scale, border, params, weights, save_weights, out, overwrite,
       as_json, dry_run) -> None:
    from hysupp.api import check_output, plan_super_resolve, super_resolve, write_sr_run
    from hysupp.errors import ParameterError
    from hysupp.methods.params import parse_param_strings
    from hysupp.methods.registry import get_method

    if psf_fwhm is not None and sensor is not None:
        raise ParameterError("give --psf-fwhm or --sensor, not both")
    psf = sensor if sensor is not None else psf_fwhm
    cls = get_method(method, "super-resolution")
    values = parse_param_strings(cls.name, cls.params, params)
    has_weights = "weights" in {p.name for p in cls.params}
    if (weights is not None or save_weights is not None) and not has_weights:
        raise ParameterError(f"{cls.name} takes no --weights/--save-weights (only the super-resolution networks do)")
    if weights is not None:
        values["weights"] = weights
    if dry_run:
        plan = plan_super_resolve(data, cls.name, ratio=ratio, protocol=protocol, psf=psf, params=values, key=key,
                                  scale=scale, out=out, overwrite=overwrite, save_weights=save_weights)
        echo_json(plan.to_dict()) if as_json else echo(plan.text())
        return
    check_output(out, overwrite)   # before any computation (super_resolve checks --save-weights)
    run = super_resolve(data, cls.name, ratio=ratio, protocol=protocol, psf=psf, params=values, key=key,
                        scale=scale, border=border, save_weights=save_weights, overwrite=overwrite)
    written = write_sr_run(run, out, overwrite=overwrite)
    run.record["output"] = str(written)
    if save_weights is not None:
        run.record["weights_saved"] = str(save_weights)
    notes(run.record["input"].get("notes") or [])
    if as_json:
        echo_json(run.record)
        return
    lines = [f"{run.method} x{run.ratio} ({run.protocol}): {tuple(run.input.shape)} -> {tuple(run.fused.cube.shape)}",
             "time: " + ", ".join(f"{k} {v:.3f} s" for k, v in run.record["timings_s"].items())]
    if run.metrics:
        lines.append(("consistency: " if run.metrics.get("consistency") else "metrics: ") + ", ".join(
            f"{k} {run.metrics[k]:.4g}" for k in SUMMARY_METRICS if isinstance(run.metrics.get(k), (int, float))))
    lines.append(f"wrote {written}")
    say("\n".join(lines))
