"""``hysupp train``: train a fusion network on a scene (Wald's reduced-resolution pairs) or on a
PanCollection ``.h5`` training set (``--h5``) and save it."""

from __future__ import annotations

import click

from hysupp.cli.common import echo_json


@click.command()
@click.argument("method")
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
def train(method, data, h5, h5_scale, h5_samples, ms, pan, ratio, sensor, key, scale, epochs, iterations, params, out,
          overwrite, as_json) -> None:
    """Train METHOD (e.g. FusionNet) on a scene, or on a PanCollection set (--h5), and write a checkpoint for
    ``hysupp fuse --weights``."""
    from hysupp.errors import InputError
    from hysupp.fusion.run import _read_pair, pair_physics
    from hysupp.io.atomic import check_target
    from hysupp.methods.params import parse_param_strings
    from hysupp.methods.registry import get_method
    from hysupp.records import file_sha256
    from hysupp.simulate.fusion import full_resolution_pair

    cls = get_method(method)
    if not callable(getattr(cls, "train", None)):
        raise InputError(f"{cls.name} does not train (a {cls.task!r} method without a network); trainable methods: "
                         f"the fusion networks (hysupp list)")
    check_target(out, overwrite)   # fail before training, not after
    values = parse_param_strings(cls.name, cls.params, params)
    if "weights" in values:
        raise InputError("hysupp train writes weights; --param weights=... is for hysupp fuse")
    if epochs is not None:
        values["epochs"] = epochs
    if iterations is not None:
        values["iterations"] = iterations
    obj = cls(**values)
    if h5 is not None:
        if data is not None or ms is not None or pan is not None:
            raise InputError("--h5 is the training data: do not also pass --data/--ms/--pan")
        ck, shapes = _train_h5(obj, h5, h5_scale, h5_samples, ratio, sensor)
        ck.training["data"] = {"path": h5, "h5": True, "sha256": file_sha256(h5), **shapes}
        _report(cls.name, ck, ck.save(out, overwrite=overwrite), f"{shapes['n_samples']} samples of {h5}",
                as_json)
        return
    pair, inputs = _read_pair(data, ms, pan, key, scale)
    if pair is None:
        ms_in, pan_in = inputs if isinstance(inputs, tuple) else (inputs, None)
        extras = getattr(ms_in, "extras", {}) or {}
        sensor = sensor if sensor is not None else extras.get("sensor")
        ratio = ratio if ratio is not None else extras.get("ratio")
        if ratio is None:
            raise InputError("the resolution ratio is unknown: pass --ratio")
        pair = full_resolution_pair(ms_in, pan_in, int(ratio), sensor)
    else:
        sensor = sensor if sensor is not None else pair.protocol.get("sensor")
    low, high = pair.low.require_cube(), pair.high.require_cube()
    if cls.task == "hs-ms-fusion":
        if pair.kind != "hs-ms":
            raise InputError(f"{cls.name} is an HS-MS fusion network but the input is a {pair.kind!r} pair")
        ck = obj.train(low, high, ratio=pair.ratio, **pair_physics(pair))
    else:
        ck = obj.train(low, high, ratio=pair.ratio, sensor=sensor)
    source = data if data is not None else ms
    ck.training["data"] = {"path": source, "pan_path": pan, "sha256": file_sha256(source) if source else None,
                           "low_shape": list(pair.low.shape), "high_shape": list(pair.high.shape)}
    _report(cls.name, ck, ck.save(out, overwrite=overwrite), pair.low.name, as_json)


def _train_h5(obj, path, h5_scale, h5_samples, ratio, sensor):
    """Train ``obj`` on the PanCollection file ``path``; return the checkpoint and the data description."""
    from hysupp.errors import InputError
    from hysupp.io.pancollection import PanCollection
    from hysupp.nn.dataset_training import train_on_dataset

    with PanCollection(path, scale=h5_scale, ratio=ratio) as ds:
        start, stop = 0, len(ds)
        if h5_samples is not None:
            parts = str(h5_samples).split(":")
            try:
                if len(parts) != 2:
                    raise ValueError
                sl = slice(*[int(p) if p.strip() else None for p in parts])
            except ValueError:
                raise InputError(f"--h5-samples must be START:STOP, got {h5_samples!r}") from None
            start, stop, _ = sl.indices(len(ds))
            if stop <= start:
                raise InputError(f"--h5-samples {h5_samples} selects no sample of the {len(ds)} in {path}")
        ck = train_on_dataset(obj, ds, sensor=sensor, indices=None if (start, stop) == (0, len(ds))
                              else list(range(start, stop)))
        info = {"samples": [start, stop], "n_samples": stop - start,
                "shapes": {k: list(v) for k, v in ds.shapes.items()}}
    return ck, info


def _report(name, ck, written, source, as_json) -> None:
    summary = {"method": name, "out": str(written), "iterations": ck.training.get("iterations"),
               "training_time_s": ck.training.get("training_time_s"),
               "final_loss": (ck.training.get("loss") or [None])[-1], "recipe": ck.training.get("recipe"),
               "protocol": ck.protocol, "device": ck.training.get("device")}
    if as_json:
        echo_json(summary)
        return
    click.echo(f"{name} trained on {source} ({summary['recipe']['recipe']} recipe, {summary['device']}): "
               f"{summary['iterations']} iterations in {summary['training_time_s']:.1f} s, final loss "
               f"{summary['final_loss']:.4g}\nwrote {written}")
