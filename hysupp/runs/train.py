"""Training runs (``hysupp train``): :func:`train` fits a fusion network and writes its checkpoint.

The training data is one scene -- an MS+PAN file, separate MS and PAN, or a saved
:class:`~hysupp.simulate.FusionPair` (an HS-MS pair for SSR-Net/SST, whose recorded SRF and PSF
are used) -- on which the network builds its own Wald reduced-resolution pairs, or a PanCollection
HDF5 training set (``h5=``, pansharpening networks). The checkpoint
(:class:`hysupp.nn.fusion_training.Checkpoint`) records the method, architecture, protocol,
normalisation and the training data (path, SHA-256, shapes); ``hysupp fuse --weights`` and the
networks' ``weights=`` parameter apply it. The output file is checked before any training.

Example
-------
>>> import numpy as np
>>> import hysupp
>>> rng = np.random.default_rng(0)
>>> pan = rng.random((96, 96)); ms = rng.random((4, 24, 24))
>>> run = hysupp.train("PNN", ms=ms, pan=pan, ratio=4, iterations=2,
...                    params={"batch_size": 2, "patch_size": 20, "device": "cpu"})
>>> run.checkpoint.method, run.path is None, run.summary()["iterations"]
('PNN', True, 2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hysupp.errors import InputError
from hysupp.methods.registry import get_method
from hysupp.runs.diagnostics import pending_warnings, recording_warnings
from hysupp.runs.inputs import pair_physics, resolve_pair
from hysupp.runs.progress import reports_progress
from hysupp.runs.record import check_output, file_digest, source_path

__all__ = ["TrainingRun", "parse_samples", "train"]


@dataclass
class TrainingRun:
    """The outcome of :func:`train`: the ``checkpoint``, the ``path`` it was written to (None when
    no ``out`` was given) and a description of the training ``source`` (scene name, or the samples
    of an HDF5 set)."""

    method: str
    checkpoint: Any
    path: Path | None
    source: str
    #: the warnings raised while training (``{"category", "message"}``, also in the checkpoint's ``training``)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What ``hysupp train --json`` prints: method, output, iterations, training time, final loss,
        recipe, protocol and device."""
        ck = self.checkpoint
        return {"method": self.method, "out": None if self.path is None else str(self.path),
                "iterations": ck.training.get("iterations"), "training_time_s": ck.training.get("training_time_s"),
                "final_loss": (ck.training.get("loss") or [None])[-1], "recipe": ck.training.get("recipe"),
                "protocol": ck.protocol, "device": ck.training.get("device"), "warnings": self.warnings}


def parse_samples(samples: Any, n: int, path: Any = None) -> tuple[int, int]:
    """``(start, stop)`` of the samples to train on: ``None`` (all ``n``), ``"START:STOP"`` (either
    side may be empty) or a ``(start, stop)`` pair, Python-slice semantics; an empty selection is
    refused."""
    if samples is None:
        return 0, n
    if isinstance(samples, str):
        parts = samples.split(":")
        try:
            if len(parts) != 2:
                raise ValueError
            sl = slice(*[int(p) if p.strip() else None for p in parts])
        except ValueError:
            raise InputError(f"--h5-samples must be START:STOP, got {samples!r}") from None
    else:
        sl = slice(*samples)
    start, stop, _ = sl.indices(n)
    if stop <= start:
        raise InputError(f"--h5-samples {samples} selects no sample of the {n} in {path}")
    return start, stop


def _train_h5(obj: Any, path: Any, h5_scale: float | None, h5_samples: Any, ratio: int | None,
              sensor: str | None) -> tuple[Any, dict[str, Any]]:
    """Train ``obj`` on the PanCollection file ``path``; return the checkpoint and the data description."""
    from hysupp.io.pancollection import PanCollection
    from hysupp.nn.dataset_training import train_on_dataset

    with PanCollection(path, scale=h5_scale, ratio=ratio) as ds:
        start, stop = parse_samples(h5_samples, len(ds), path)
        ck = train_on_dataset(obj, ds, sensor=sensor, indices=None if (start, stop) == (0, len(ds))
                              else list(range(start, stop)))
        info = {"samples": [start, stop], "n_samples": stop - start,
                "shapes": {k: list(v) for k, v in ds.shapes.items()}}
    return ck, info


@reports_progress
def train(method: str, data: Any = None, *, out: str | os.PathLike | None = None, ms: Any = None, pan: Any = None,
          h5: str | os.PathLike | None = None, h5_scale: float | None = None, h5_samples: Any = None,
          ratio: int | None = None, sensor: str | None = None, key: str | None = None, scale: float | None = None,
          epochs: int | None = None, iterations: int | None = None, params: dict[str, Any] | None = None,
          overwrite: bool = False, progress: Any = None) -> TrainingRun:
    """Train a fusion network on a scene (or a PanCollection set) and write its checkpoint.

    Parameters
    ----------
    method : str
        A trainable method (the fusion and super-resolution networks: ``hysupp list``).
    data : path or FusionPair, optional
        One file with MS and PAN (e.g. the toolbox ``.mat``) or a saved fusion pair (its low/high
        inputs are the training scene; an HS-MS pair for SSR-Net/SST).
    out : path, optional
        Checkpoint file to write (``.pt``); checked before training (an existing file needs
        ``overwrite``). None: the checkpoint is only returned.
    ms, pan : path or ndarray, optional
        Separate MS ``(L, h, w)`` and PAN ``(H, W)`` instead of ``data``.
    h5, h5_scale, h5_samples : optional
        A PanCollection HDF5 training set (pansharpening networks) instead of a scene, the full-scale
        value of its data (default: its largest value) and the samples used (``"START:STOP"``).
    ratio, sensor, key, scale : optional
        Resolution ratio and sensor (default: from the file), the variable holding the MS, a
        factor applied to the inputs.
    epochs, iterations : int, optional
        Override the recipe's training length.
    params : dict, optional
        Method hyperparameters (validated; ``weights`` is for fusing, not training).
    progress : None, bool or callable
        Progress of the run's stages and loops (:mod:`hysupp.runs.progress`): None (default) keeps
        the callback in effect (none: nothing is printed), True draws bars with an ETA on stderr, a
        callable receives :class:`~hysupp.progress.ProgressEvent` s, False silences.

    Returns
    -------
    TrainingRun
        ``checkpoint`` and the ``path`` written.
    """
    cls = get_method(method)
    with recording_warnings(cls.name) as log:
        run = _train(cls, data, out=out, ms=ms, pan=pan, h5=h5, h5_scale=h5_scale, h5_samples=h5_samples,
                     ratio=ratio, sensor=sensor, key=key, scale=scale, epochs=epochs, iterations=iterations,
                     params=params, overwrite=overwrite)
    run.warnings = log.entries
    return run


def _train(cls: Any, data: Any, *, out: Any, ms: Any, pan: Any, h5: Any, h5_scale: float | None, h5_samples: Any,
           ratio: int | None, sensor: str | None, key: str | None, scale: float | None, epochs: int | None,
           iterations: int | None, params: dict[str, Any] | None, overwrite: bool) -> TrainingRun:
    if not callable(getattr(cls, "train", None)):
        raise InputError(f"{cls.name} does not train (a {cls.task!r} method without a network); trainable methods: "
                         f"the fusion networks (hysupp list)")
    if out is not None:
        check_output(out, overwrite, kind="file")   # fail before training, not after
    values = dict(params or {})
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
        ck.training["data"] = {"path": source_path(h5), "h5": True, "sha256": file_digest(source_path(h5)), **shapes}
        source = f"{shapes['n_samples']} samples of {h5}"
    else:
        resolved = resolve_pair(data, ms, pan, key=key, scale=scale, ratio=ratio, sensor=sensor, protocol="fr")
        pair, sensor = resolved.pair, resolved.sensor
        low, high = pair.low.require_cube(), pair.high.require_cube()
        if cls.task == "hs-ms-fusion":
            if pair.kind != "hs-ms":
                raise InputError(f"{cls.name} is an HS-MS fusion network but the input is a {pair.kind!r} pair")
            ck = obj.train(low, high, ratio=pair.ratio, **pair_physics(pair))
        else:
            ck = obj.train(low, high, ratio=pair.ratio, sensor=sensor)
        path = source_path(data) if data is not None else source_path(ms)
        ck.training["data"] = {"path": path, "pan_path": source_path(pan), "sha256": file_digest(path),
                               "low_shape": list(pair.low.shape), "high_shape": list(pair.high.shape)}
        source = pair.low.name
    ck.training["warnings"] = pending_warnings()
    written = None if out is None else ck.save(out, overwrite=overwrite)
    return TrainingRun(method=cls.name, checkpoint=ck, path=written, source=source)
