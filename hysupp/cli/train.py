"""``hysupp train``: train a fusion network on a scene (Wald's reduced-resolution pairs) or on a
PanCollection ``.h5`` training set (``--h5``) and save it."""

from __future__ import annotations

import click

from hysupp.cli.common import SingleValuedCommand, complete_method, echo_json, say, verbosity_options

TRAIN_HELP = """Train METHOD (a fusion or super-resolution network) and write a checkpoint for `hysupp fuse --weights`.

The training data is one scene -- the network builds Wald reduced-resolution pairs from it -- or a
PanCollection .h5 training set (--h5). The checkpoint records the method, architecture, protocol,
normalisation and the training data.

\b
Examples:
  hysupp train FusionNet --data wv2.mat --out fusionnet.pt
  hysupp train PNN --ms ms.tif --pan pan.tif --ratio 4 --sensor WV2 --iterations 2000 --out pnn.pt
  hysupp train FusionNet --h5 train_wv3.h5 --h5-samples 0:1000 --out fusionnet_wv3.pt
  hysupp train SSR-Net --data pavia_pair.npz --out ssrnet.pt
"""


@click.command(cls=SingleValuedCommand, help=TRAIN_HELP,
               short_help="Train a fusion network on a scene or an .h5 set; write a checkpoint.")
@click.argument("method", shell_complete=complete_method(trainable=True))
@click.option("--data", "-d", type=click.Path(dir_okay=False), default=None,
              help="One file with MS and PAN (e.g. the toolbox .mat: I_MS, I_PAN, ratio, sensor) or a saved fusion "
                   "pair (its low/high inputs are the training scene; an HS-MS pair for SSR-Net/SST).")
@click.option("--h5", "h5", type=click.Path(dir_okay=False), default=None,
              help="PanCollection HDF5 training set (datasets gt, ms, lms, pan; N x C x H x W): train on its samples "
                   "instead of one scene's Wald pairs (pansharpening nets).")
@click.option("--h5-scale", type=float, default=None,
              help="With --h5: full-scale value of the stored data, divided out (2047 for the WV3/WV2/QB sets, 1023 "
                   "for GF2); default: the file's largest MS/PAN value. Fuse later with inputs in the same units.")
@click.option("--h5-samples", default=None, metavar="START:STOP",
              help="With --h5: train on this slice of the samples only (e.g. 0:1000).")
@click.option("--ms", type=click.Path(dir_okay=False), default=None, help="MS image file (with --pan).")
@click.option("--pan", type=click.Path(dir_okay=False), default=None, help="PAN image file (with --ms).")
@click.option("--ratio", type=click.IntRange(min=2), default=None, help="Resolution ratio (default: from the file).")
@click.option("--sensor", default=None, help="Sensor of the MTF table (WV2, QB...; default: from the file, else the "
                                             "generic gains).")
@click.option("--key", default=None, help="Variable holding the MS when the file's layout is ambiguous.")
@click.option("--scale", type=float, default=None, help="Multiply the inputs by this factor.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs over the scene's disjoint training tiles (overrides the recipe's iterations).")
@click.option("--iterations", type=click.IntRange(min=1), default=None, help="Training iterations.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Method parameter (repeatable).")
@click.option("--out", "-o", type=click.Path(dir_okay=False), required=True, help="Checkpoint to write (.pt).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
@click.option("--json", "as_json", is_flag=True, help="Print the training summary as JSON.")
@verbosity_options
def train(method, data, h5, h5_scale, h5_samples, ms, pan, ratio, sensor, key, scale, epochs, iterations, params, out,
          overwrite, as_json) -> None:
    from hysupp.api import train as train_network
    from hysupp.methods.params import parse_param_strings
    from hysupp.methods.registry import get_method

    cls = get_method(method)
    values = parse_param_strings(cls.name, cls.params, params)
    run = train_network(cls.name, data, out=out, ms=ms, pan=pan, h5=h5, h5_scale=h5_scale, h5_samples=h5_samples,
                        ratio=ratio, sensor=sensor, key=key, scale=scale, epochs=epochs, iterations=iterations,
                        params=values, overwrite=overwrite)
    summary = run.summary()
    if as_json:
        echo_json(summary)
        return
    say(f"{run.method} trained on {run.source} ({summary['recipe']['recipe']} recipe, {summary['device']}): "
        f"{summary['iterations']} iterations in {summary['training_time_s']:.1f} s, final loss "
        f"{summary['final_loss']:.4g}\nwrote {run.path}")
