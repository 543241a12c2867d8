r"""Training infrastructure of the fusion networks that learn from the user's own scene.

No pretrained weights ship with hysupp: a pansharpening network trains on *reduced-resolution
pairs made from the input scene itself* (Wald's protocol), then fuses the scene at full resolution.
Everything here imports torch lazily (inside functions), so importing this module is free.

Pieces
------
:func:`pansharpening_training_data`
    Wald's reduced-resolution pair of an MS+PAN scene through the shared physics
    (:func:`hysupp.simulate.wald_pansharpening_pair`: per-band MTF-matched Gaussian filters of the
    sensor, decimation by the ratio at the toolbox phase):

    .. math::
        \mathbf M^{\downarrow} = \mathcal D_r(\mathbf h^{MS} * \mathbf M),\quad
        \mathbf P^{\downarrow} = \mathcal D_r(\mathbf h^{PAN} * \mathbf P),\quad
        \widetilde{\mathbf M}^{\downarrow} = \mathcal I_{23}(\mathbf M^{\downarrow}),

    the network learns :math:`(\mathbf M^{\downarrow}, \widetilde{\mathbf M}^{\downarrow},
    \mathbf P^{\downarrow}) \mapsto \mathbf M` (the original MS is the target) and, by the
    scale-invariance assumption of Wald's protocol, is applied to :math:`(\mathbf M,
    \mathcal I_{23}(\mathbf M), \mathbf P)` at full resolution. Without a sensor the toolbox's
    generic gains (0.29 MS, 0.15 PAN) are used. The arrays are divided by one normalisation scale
    (the largest value of the training MS and PAN), stored in the checkpoint and reused at
    inference so that a trained model sees the same radiometric range on another scene.
:class:`PatchSampler`
    Random aligned patches: a high-resolution patch of ``patch`` pixels whose top-left corner is on
    the low-resolution grid, so the matching MS patch is exact (no target at full resolution:
    ``gt`` None, the zero-shot nets). Draws from a seeded CPU
    ``torch.Generator`` (same batches on every device).
:class:`WeightEMA`
    Exponential moving average of the network weights with the usual warm-up
    :math:`d_k = \min(d, (1 + k)/(10 + k))`: :math:`\bar\theta_k = d_k\bar\theta_{k-1} +
    (1 - d_k)\theta_k`; the averaged weights are the ones saved and used for inference.
:func:`train_network`
    The loop: ``iterations`` Adam/SGD steps of ``loss_fn(net, batch)``, optional step decay of the
    learning rate, EMA of the weights, loss history (a device sync only every ``history_every``
    iterations), wall time. Deterministic on CPU for a given seed.
:class:`Checkpoint`
    A ``.pt`` file holding only plain Python containers, strings, numbers and tensors (loadable
    with ``torch.load(..., weights_only=True)``): method name, architecture arguments, the
    method's parameters, the protocol (ratio, sensor, MTF gains), the normalisation, the
    ``state_dict`` and the training summary. :meth:`Checkpoint.save` writes atomically
    (:func:`hysupp.io.atomic.atomic_output`) and never replaces an existing file without
    ``overwrite=True``; :meth:`Checkpoint.load` checks the format and raises
    :class:`hysupp.errors.InputError` for a missing or unreadable file, another method or an
    incompatible band count/ratio.

Example
-------
>>> import numpy as np
>>> from hysupp.nn.fusion_training import pansharpening_training_data
>>> rng = np.random.default_rng(0)
>>> data = pansharpening_training_data(rng.random((4, 16, 16)), rng.random((64, 64)), 4, None)
>>> data.ms.shape, data.lms.shape, data.pan.shape, data.gt.shape, data.protocol["sensor"]
((4, 4, 4), (4, 16, 16), (1, 16, 16), (4, 16, 16), 'generic')
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError, ParameterError
from hysupp.progress import tracker

__all__ = ["CHECKPOINT_FORMAT", "Checkpoint", "PatchSampler", "TrainingData", "WeightEMA", "json_plain",
           "pansharpening_training_data", "train_network"]

CHECKPOINT_FORMAT = "hysupp-fusion-net"
CHECKPOINT_VERSION = 1


def json_plain(x: Any) -> Any:
    """JSON round trip: numpy scalars/arrays and tuples become plain Python (weights_only-safe).

    >>> import numpy as np
    >>> json_plain({"ratio": np.int64(4), "gains": np.array([0.3, 0.2]), "shape": (4, 16)})
    {'ratio': 4, 'gains': [0.3, 0.2], 'shape': [4, 16]}
    """
    from hysupp.records import to_jsonable

    return json.loads(json.dumps(to_jsonable(x)))


@dataclass
class TrainingData:
    """Normalised arrays of one training scene (float64, divided by ``scale``): ``ms`` ``(L, h, w)``
    low resolution, ``lms`` its 23-tap interpolation ``(L, H, W)``, ``pan`` ``(1, H, W)`` and the
    target ``gt`` ``(L, H, W)`` (None at full resolution); the ``protocol`` (ratio, sensor, MTF)."""

    ms: np.ndarray
    lms: np.ndarray
    pan: np.ndarray
    gt: np.ndarray | None
    ratio: int
    scale: float
    protocol: dict[str, Any] = field(default_factory=dict)

    @property
    def n_bands(self) -> int:
        return int(self.ms.shape[0])


def normalisation_scale(ms: np.ndarray, pan: np.ndarray) -> float:
    """The largest value of the MS and PAN (1 when they are not positive)."""
    s = float(max(np.max(ms), np.max(pan)))
    return s if s > 0 and math.isfinite(s) else 1.0


def _sensor_args(sensor: str | None) -> dict[str, Any]:
    return {"sensor": "generic"} if sensor is None else {"sensor": sensor}


def pansharpening_training_data(ms: np.ndarray, pan: np.ndarray, ratio: int, sensor: str | None = None, *,
                                scale: float | None = None) -> TrainingData:
    """Wald's reduced-resolution training pair of ``ms`` ``(L, h, w)`` and ``pan`` ``(H, W)`` or
    ``(1, H, W)`` (module docstring), normalised by ``scale`` (default: :func:`normalisation_scale`
    of the inputs)."""
    from hysupp.physics.sampling import check_ratio, expand
    from hysupp.simulate.fusion import wald_pansharpening_pair

    check_ratio(ratio, "fusion-net training")
    ms = np.asarray(ms, dtype=np.float64)
    pan = np.asarray(pan, dtype=np.float64)
    pan = pan[None] if pan.ndim == 2 else pan
    pair = wald_pansharpening_pair(ms, pan, int(ratio), dtype=np.float64, pan_degradation="mtf",
                                   **_sensor_args(sensor))
    s = normalisation_scale(ms, pan) if scale is None else float(scale)
    low = pair.low.require_cube() / s
    mtf = pair.protocol.get("mtf", {})
    protocol = {"name": "wald-reduced-resolution", "ratio": int(ratio), "sensor": pair.protocol.get("sensor"),
                "mtf": {"ms_gnyq": mtf.get("ms_gnyq"), "pan_gnyq": mtf.get("pan_gnyq"), "design": mtf.get("design"),
                        "taps": mtf.get("taps")},
                "phase": pair.protocol.get("phase"), "interpolation": "interp23tap",
                "training_shapes": pair.protocol.get("shapes")}
    return TrainingData(ms=low, lms=expand(low, int(ratio)), pan=pair.high.require_cube() / s,
                        gt=pair.reference.require_cube() / s, ratio=int(ratio), scale=s, protocol=json_plain(protocol))


def full_resolution_inputs(ms: np.ndarray, pan: np.ndarray, ratio: int, scale: float) -> TrainingData:
    """The full-resolution inputs of a trained network (no target), normalised by ``scale``."""
    from hysupp.physics.sampling import check_ratio, expand

    check_ratio(ratio, "fusion-net inference")
    m = np.asarray(ms, dtype=np.float64) / scale
    p = np.asarray(pan, dtype=np.float64)
    p = (p[None] if p.ndim == 2 else p) / scale
    return TrainingData(ms=m, lms=expand(m, int(ratio)), pan=p, gt=None, ratio=int(ratio), scale=float(scale))


def aligned_patch_grid(H: int, W: int, patch: int, ratio: int) -> tuple[int, int, bool]:
    """The corners a ``patch``-pixel crop of an ``H x W`` high-resolution image can take on the
    low-resolution grid (multiples of ``ratio``): the number of row and column positions, and whether
    the matching low-resolution crop is whole (``patch`` a multiple of ``ratio``)."""
    return (H - patch) // ratio + 1, (W - patch) // ratio + 1, patch % ratio == 0


class PatchSampler:
    """Random batches of aligned training patches.

    Each patch is ``patch`` x ``patch`` pixels of ``lms``, ``pan`` and ``gt`` with its top-left
    corner at ``(ratio i, ratio j)``; when ``patch`` is a multiple of the ratio the batch also holds
    the matching ``(patch / ratio)``-pixel MS patch at ``(i, j)`` (else ``ms`` is None). Corners are
    drawn uniformly from a CPU ``torch.Generator`` seeded with ``seed``.
    """

    def __init__(self, data: TrainingData, patch: int, *, device: Any = "cpu", dtype: Any = None,
                 seed: int = 0) -> None:
        import torch

        H, W = data.lms.shape[1:]
        patch = int(patch)
        if patch < 1 or patch > min(H, W):
            raise ParameterError(f"patch size must be in [1, {min(H, W)}] for a {H} x {W} training image, "
                                 f"got {patch}")
        self.patch, self.ratio = patch, int(data.ratio)
        dtype = dtype or torch.float32
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device=device, dtype=dtype)
        self.ms, self.lms, self.pan = t(data.ms), t(data.lms), t(data.pan)
        self.gt = None if data.gt is None else t(data.gt)
        self.n_rows, self.n_cols, self.with_ms = aligned_patch_grid(H, W, patch, self.ratio)
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(int(seed))

    def n_tiles(self) -> int:
        """Number of disjoint patches covering the training image (the size of an 'epoch')."""
        H, W = self.lms.shape[1:]
        return max(1, (H // self.patch) * (W // self.patch))

    def sample(self, batch: int) -> dict[str, Any]:
        import torch

        rows = torch.randint(0, self.n_rows, (int(batch),), generator=self.generator).tolist()
        cols = torch.randint(0, self.n_cols, (int(batch),), generator=self.generator).tolist()
        p, r = self.patch, self.ratio
        out: dict[str, Any] = {}
        for key in ("lms", "pan", "gt"):
            src = getattr(self, key)
            out[key] = None if src is None else torch.stack([src[:, i * r:i * r + p, j * r:j * r + p] for i, j in zip(rows, cols)])
        q = p // r
        out["ms"] = (torch.stack([self.ms[:, i:i + q, j:j + q] for i, j in zip(rows, cols)])
                     if self.with_ms else None)
        return out


class WeightEMA:
    r"""Exponential moving average of a module's floating-point parameters and buffers, with warm-up
    :math:`d_k = \min(d, (1 + k) / (10 + k))` (module docstring). ``decay=0`` disables it."""

    def __init__(self, module: Any, decay: float) -> None:
        if not 0.0 <= float(decay) < 1.0:
            raise ParameterError(f"EMA decay must be in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.count = 0
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items()} if self.decay > 0 else None

    def update(self, module: Any) -> None:
        import torch

        if self.shadow is None:
            return
        d = min(self.decay, (1.0 + self.count) / (10.0 + self.count))
        self.count += 1
        with torch.no_grad():
            for k, v in module.state_dict().items():
                s = self.shadow[k]
                if s.is_floating_point():
                    s.mul_(d).add_(v.detach(), alpha=1.0 - d)
                else:
                    s.copy_(v)

    def state_dict(self, module: Any) -> dict[str, Any]:
        """The averaged weights (the module's own when the EMA is off)."""
        return dict(self.shadow) if self.shadow is not None else module.state_dict()


@dataclass
class TrainResult:
    """What :func:`train_network` returns: the final (EMA when on) ``state_dict`` (CPU tensors),
    loss ``history`` (iterations and values), ``iterations`` and ``wall_time`` (s)."""

    state_dict: dict[str, Any]
    loss_iterations: list[int]
    loss: list[float]
    iterations: int
    wall_time: float

    def info(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "training_time_s": self.wall_time, "loss": list(self.loss),
                "loss_iterations": list(self.loss_iterations)}


def train_network(net: Any, loss_fn: Callable[[Any, dict[str, Any]], Any], sampler: PatchSampler, *,
                  iterations: int, batch: int, optimizer: str = "adam", lr: float = 1e-3,
                  param_groups: list[dict[str, Any]] | None = None, momentum: float = 0.9,
                  weight_decay: float = 0.0, lr_step: int | None = None, lr_gamma: float = 0.1,
                  ema_decay: float = 0.0, history_every: int = 100,
                  callback: Callable[[int, float], None] | None = None, name: str = "training") -> TrainResult:
    """Train ``net`` for ``iterations`` steps on batches of ``sampler``.

    ``loss_fn(net, batch)`` returns the scalar loss; ``param_groups`` (optional) are torch optimiser
    groups (e.g. a smaller learning rate for PNN's last layer); ``optimizer`` is ``"adam"`` or
    ``"sgd"`` (with ``momentum``); ``lr_step``: multiply the learning rate by ``lr_gamma`` every
    ``lr_step`` iterations. The loss is recorded at iterations ``0, history_every, ...`` and the
    last one; a non-finite recorded loss raises :class:`hysupp.errors.HysuppError`. The
    iterations are reported to :func:`hysupp.progress.tracker` as ``name`` (the method's), with the
    current loss read from the device only for the emitted events (at most ten a second).
    """
    import torch

    from hysupp.nn.training import LossHistory

    iterations = int(iterations)
    if iterations < 1:
        raise ParameterError(f"iterations must be >= 1, got {iterations}")
    groups = param_groups if param_groups is not None else [{"params": list(net.parameters())}]
    name = str(optimizer).lower()
    if name == "adam":
        opt = torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay)
    elif name == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        raise ParameterError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    sched = torch.optim.lr_scheduler.StepLR(opt, int(lr_step), gamma=lr_gamma) if lr_step else None
    ema = WeightEMA(net, ema_decay)
    hist = LossHistory(every=int(history_every), method=name)
    net.train()
    t0 = time.perf_counter()
    with tracker(name, total=iterations) as bar:
        for k in range(iterations):
            batch_k = sampler.sample(batch)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net, batch_k)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            ema.update(net)
            if hist.due(k, iterations):
                v = hist.record(k, loss.detach())
                if callback is not None:
                    callback(k, v)
            bar.update(k + 1, loss=lambda loss=loss: float(loss.detach()))
    wall = time.perf_counter() - t0
    net.eval()
    state = {k: v.detach().to("cpu").clone() for k, v in ema.state_dict(net).items()}
    net.load_state_dict(state)
    return TrainResult(state_dict=state, loss_iterations=hist.iterations, loss=hist.values, iterations=iterations,
                       wall_time=wall)


@dataclass
class Checkpoint:
    """A trained fusion network (module docstring): everything needed to rebuild and apply it."""

    method: str
    architecture: dict[str, Any]
    params: dict[str, Any]
    protocol: dict[str, Any]
    normalisation: dict[str, Any]
    state_dict: dict[str, Any]
    training: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from hysupp import __version__

        return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "hysupp": __version__,
                "method": self.method, "architecture": json_plain(self.architecture), "params": json_plain(self.params),
                "protocol": json_plain(self.protocol), "normalisation": json_plain(self.normalisation),
                "training": json_plain(self.training),
                "state_dict": {k: v.detach().to("cpu").contiguous() for k, v in self.state_dict.items()}}

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the checkpoint to ``path`` atomically; an existing file needs ``overwrite=True``."""
        import torch

        from hysupp.io.atomic import atomic_output

        with atomic_output(path, overwrite=overwrite) as tmp:
            torch.save(self.to_dict(), tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, *, method: str | None = None, n_bands: int | None = None,
             ratio: int | None = None) -> Checkpoint:
        """Read a checkpoint with ``weights_only=True`` and check it is one of ``method`` for
        ``n_bands`` bands at ``ratio`` (each check skipped when None)."""
        import torch

        p = Path(path)
        if not p.is_file():
            raise InputError(f"weights file {str(p)!r} not found")
        try:
            d = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling/zip failure means an unusable file
            raise InputError(f"weights file {str(p)!r} is not a readable hysupp checkpoint "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
        if not isinstance(d, dict) or d.get("format") != CHECKPOINT_FORMAT:
            raise InputError(f"weights file {str(p)!r} is not a hysupp fusion-network checkpoint")
        if int(d.get("version", 0)) > CHECKPOINT_VERSION:
            raise InputError(f"weights file {str(p)!r} has checkpoint version {d.get('version')}; this hysupp "
                             f"reads up to {CHECKPOINT_VERSION}")
        ck = cls(method=d["method"], architecture=d["architecture"], params=d.get("params", {}),
                 protocol=d.get("protocol", {}), normalisation=d["normalisation"], state_dict=d["state_dict"],
                 training=d.get("training", {}))
        if method is not None and ck.method != method:
            raise InputError(f"weights file {str(p)!r} holds a {ck.method} network, not {method}")
        nb = ck.architecture.get("n_bands")
        if n_bands is not None and nb != n_bands:
            raise InputError(f"weights file {str(p)!r} was trained for {nb} bands; the input has {n_bands}")
        r = ck.protocol.get("ratio")
        if ratio is not None and r != ratio:
            raise InputError(f"weights file {str(p)!r} was trained for ratio {r}; the input has ratio {ratio}")
        return ck
