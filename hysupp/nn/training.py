r"""Training-loop utilities shared by the torch unmixing networks (CNNAEU, MiSiCNet, PGMSU, UnDIP,
MSNet, ADMMNet, EndNet...).

Everything here imports torch lazily (inside functions), so importing this module is free.

Pieces
------
:func:`torch_session`
    Context manager: resolves ``device``/``dtype`` (:mod:`hysupp.nn.device`), seeds torch's global
    generator **inside a forked RNG state** (the caller's global RNG is restored on exit), optionally
    sets the number of CPU threads (restored on exit) and turns on deterministic algorithms where
    cheap. Yields a :class:`Session` with ``torch``, ``device``, ``dtype``, ``seed`` and a seeded
    ``generator`` (CPU ``torch.Generator``, for data shuffling / noise drawn on CPU).
:func:`to_tensor` / :func:`to_numpy`
    numpy -> tensor on the session's device/dtype (contiguous), tensor -> numpy (detached, CPU).
:class:`EMA`
    Exponential moving average of network outputs as in the deep-image-prior methods
    (MiSiCNet, UnDIP, SUnCNN): :math:`\bar a_0 = a_0`, :math:`\bar a_k = w\,\bar a_{k-1} + (1-w)\,a_k`.
:class:`LossHistory`
    Loss values recorded every ``every`` iterations (plus the last one) without a device sync at the
    other iterations; ``.as_info()`` gives ``{"loss": [...], "loss_iterations": [...]}``.
:func:`loader_order`
    The batch order of one epoch of a shuffling ``DataLoader``, drawn from torch's global generator
    the same way (reproduces reference implementations that use a DataLoader).
:func:`make_optimizer`
    ``"adam"`` / ``"rmsprop"`` / ``"sgd"`` with torch's defaults except ``lr``.
:func:`run_params`
    The ``seed``/``device``/``dtype``/``history_every`` parameter declarations every torch method takes.
:func:`fit`
    The generic loop: ``n_iter`` times ``zero_grad -> loss, out = closure(k) -> backward -> step ->
    post_step(k)`` (``post_step`` runs under ``torch.no_grad``, e.g. to clamp endmembers), with the
    EMA of ``out`` and the loss history. Raises :class:`hysupp.errors.HysuppError` when the
    recorded loss is not finite. Its iterations are reported to :mod:`hysupp.progress` (the
    current loss shown when an event is emitted), so every network trained through it shows a
    progress bar with an ETA under the CLI without code of its own.

Example
-------
>>> import numpy as np
>>> from hysupp.nn.training import torch_session, to_tensor, fit, make_optimizer
>>> with torch_session(device="cpu", dtype="float32", seed=0, threads=1) as s:
...     w = s.torch.zeros(3, device=s.device, dtype=s.dtype, requires_grad=True)
...     target = to_tensor(np.array([1.0, 2.0, 3.0]), s)
...     opt = make_optimizer([w], "adam", lr=0.1)
...     res = fit(lambda k: (((w - target) ** 2).sum(), w), opt, 200, history_every=50, ema_weight=0.9)
>>> res.history.iterations
[0, 50, 100, 150, 199]
>>> bool(res.history.values[-1] < res.history.values[0])
True
>>> tuple(res.ema.shape)
(3,)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hysupp.errors import ParameterError
from hysupp.optim.guards import check_finite
from hysupp.progress import tracker

__all__ = ["EMA", "FitResult", "LossHistory", "Session", "fit", "fused_adam", "loader_order", "make_optimizer",
           "run_params", "to_numpy", "to_tensor", "torch_session"]


def loader_order(n: int) -> Any:
    """A random permutation of ``range(n)`` (CPU int64 tensor) drawn from torch's *global* generator
    exactly as one epoch of ``torch.utils.data.DataLoader(..., shuffle=True)`` (single process)
    draws it: one int64 for the iterator's base seed, one int64 seeding a fresh generator, then
    ``randperm(n)`` from that generator. Using it for the batch order makes a seeded run reproduce a
    reference implementation that shuffles with a DataLoader (same seed, same RNG stream), without
    the DataLoader's per-batch overhead."""
    import torch

    torch.empty((), dtype=torch.int64).random_()                   # the iterator's base seed
    seed = int(torch.empty((), dtype=torch.int64).random_().item())  # RandomSampler's generator seed
    gen = torch.Generator()
    gen.manual_seed(seed)
    return torch.randperm(int(n), generator=gen)


def run_params(history_every: int = 100) -> tuple:
    """The common run parameters of a torch method, as :class:`hysupp.methods.params.Param` s:
    ``seed`` (0), ``device`` ("auto"), ``dtype`` ("float32"), ``history_every`` (record the loss
    every k iterations/epochs). Append them to a method's ``params``."""
    from hysupp.methods.params import Param

    return (
        Param("seed", int, 0, "seed of the weight initialisation, input noise and batch order"),
        Param("device", str, "auto", "torch device: auto (CUDA when available), cpu or cuda",
              choices=("auto", "cpu", "cuda")),
        Param("dtype", str, "float32", "working dtype (reference: float32)", choices=("float32", "float64")),
        Param("history_every", int, history_every, "record the training loss every k iterations", low=1),
    )


@dataclass
class Session:
    """What :func:`torch_session` yields: the torch module, resolved device and dtype, the seed and a
    seeded CPU ``torch.Generator``."""

    torch: Any
    device: Any
    dtype: Any
    seed: int
    generator: Any

    @property
    def numpy_dtype(self) -> type:
        return np.float64 if self.dtype == self.torch.float64 else np.float32

    def info(self) -> dict[str, Any]:
        """``{"device", "dtype", "seed"}`` for a result's ``info``."""
        return {"device": str(self.device), "dtype": str(self.dtype).replace("torch.", ""), "seed": self.seed}


@contextmanager
def torch_session(device: Any = "auto", dtype: Any = "float32", seed: int | None = 0,
                  threads: int | None = None, deterministic: bool = True) -> Iterator[Session]:
    """Resolve device/dtype, seed torch (in a forked RNG state) and set CPU threads for a block.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:k"} or torch.device
        ``"cuda"`` without CUDA raises :class:`hysupp.errors.ParameterError` (no silent fallback).
    dtype : {"float32", "float64"}
    seed : int or None
        Seeds the global torch RNG (and CUDA's on a CUDA device) inside ``torch.random.fork_rng``,
        so the caller's RNG state is unchanged afterwards. ``None``: draw a fresh seed.
    threads : int or None
        ``torch.set_num_threads(threads)`` for the block (restored afterwards); ``None`` leaves it.
    deterministic : bool
        On CUDA, disable cuDNN autotuning and request deterministic cuDNN kernels (restored). CPU
        runs with a fixed seed are deterministic anyway.
    """
    import torch

    from hysupp.nn.device import resolve_device, resolve_dtype

    dev = resolve_device(device)
    dt = resolve_dtype(dtype)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    seed = int(seed)
    if threads is not None and int(threads) < 1:
        raise ParameterError(f"threads must be a positive integer or None, got {threads!r}")
    old_threads = torch.get_num_threads()
    cudnn = torch.backends.cudnn
    old_cudnn = (cudnn.benchmark, cudnn.deterministic)
    fork_devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        try:
            if threads is not None:
                torch.set_num_threads(int(threads))
            if dev.type == "cuda" and deterministic:
                cudnn.benchmark, cudnn.deterministic = False, True
            torch.manual_seed(seed)
            gen = torch.Generator(device="cpu")
            gen.manual_seed(seed)
            yield Session(torch=torch, device=dev, dtype=dt, seed=seed, generator=gen)
        finally:
            if threads is not None:
                torch.set_num_threads(old_threads)
            cudnn.benchmark, cudnn.deterministic = old_cudnn


def to_tensor(x: Any, session: Session) -> Any:
    """A numpy array (or anything ``np.asarray`` takes) as a contiguous tensor on the session's
    device and dtype."""
    torch = session.torch
    arr = np.ascontiguousarray(np.asarray(x), dtype=session.numpy_dtype)
    return torch.from_numpy(arr).to(session.device)


def to_numpy(t: Any) -> np.ndarray:
    """A tensor as a numpy array (detached, on CPU)."""
    return t.detach().cpu().numpy()


class EMA:
    r"""Exponential moving average of a tensor: :math:`\bar a_0 = a_0`,
    :math:`\bar a_k = w\bar a_{k-1} + (1 - w) a_k` (the DIP output smoothing of MiSiCNet/UnDIP,
    ``exp_weight`` = ``w``). ``weight=0`` keeps the last value."""

    def __init__(self, weight: float) -> None:
        if not 0.0 <= float(weight) < 1.0:
            raise ParameterError(f"EMA weight must be in [0, 1), got {weight!r}")
        self.weight = float(weight)
        self.value: Any = None
        self.count = 0

    def update(self, x: Any) -> Any:
        x = x.detach()
        if self.value is None:
            self.value = x.clone()
        else:
            self.value.mul_(self.weight).add_(x, alpha=1.0 - self.weight)
        self.count += 1
        return self.value


@dataclass
class LossHistory:
    """Loss values at iterations ``0, every, 2 every, ...`` and the last one."""

    every: int = 100
    method: str = "training"
    iterations: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def due(self, k: int, n_iter: int) -> bool:
        return k % self.every == 0 or k == n_iter - 1

    def record(self, k: int, value: Any) -> float:
        v = float(value)
        check_finite(self.method, k, v, what="training loss",
                     hint="try a smaller learning rate or dtype='float64'")
        self.iterations.append(int(k))
        self.values.append(v)
        return v

    def as_info(self) -> dict[str, list]:
        return {"loss": list(self.values), "loss_iterations": list(self.iterations)}


@dataclass
class FitResult:
    """Output of :func:`fit`: loss ``history``, the ``ema`` of the outputs (a tensor or None), the
    ``last`` output, ``iterations`` run and ``wall_time`` (s)."""

    history: LossHistory
    ema: Any
    last: Any
    iterations: int
    wall_time: float

    def info(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "wall_time": self.wall_time, **self.history.as_info()}


def make_optimizer(params: Iterable[Any], name: str = "adam", lr: float = 1e-3, **kwargs: Any) -> Any:
    """``torch.optim.Adam`` / ``RMSprop`` / ``SGD`` over ``params`` with learning rate ``lr`` (torch's
    defaults otherwise; extra keywords are passed through)."""
    import torch

    table = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
    key = str(name).lower()
    if key not in table:
        raise ParameterError(f"optimizer must be one of {', '.join(table)}, got {name!r}")
    if not lr > 0:
        raise ParameterError(f"learning rate must be > 0, got {lr!r}")
    return table[key](params, lr=lr, **kwargs)


def fused_adam(session: Any) -> dict[str, Any]:
    """Keywords selecting Adam's fused (single-kernel) implementation where torch has it for the
    session's device (``{"fused": True}`` on CPU and CUDA): the same update as the default
    per-tensor loop, without its Python overhead on small tensors."""
    return {"fused": True} if session.device.type in ("cpu", "cuda") else {}


def fit(closure: Callable[[int], tuple[Any, Any]], optimizer: Any, n_iter: int, *, history_every: int = 100,
        ema_weight: float | None = None, post_step: Callable[[int], None] | None = None,
        history: LossHistory | None = None, method: str = "training") -> FitResult:
    """Run ``n_iter`` optimisation steps.

    Each iteration ``k``: ``optimizer.zero_grad(set_to_none=True)``; ``loss, out = closure(k)``;
    the EMA of ``out`` is updated (``ema_weight`` not None; ``out`` may be None otherwise); the loss
    is recorded when ``k % history_every == 0`` or at the last iteration (the only device syncs);
    ``loss.backward()``; ``optimizer.step()``; ``post_step(k)`` under ``torch.no_grad()``.

    The EMA is updated with the output of the forward pass *before* the step, as the reference DIP
    implementations do. A non-finite recorded loss raises
    :class:`~hysupp.errors.DivergenceError` naming ``method`` (or ``history.method``) and the
    iteration (:func:`hysupp.optim.guards.check_finite`). Pass ``history`` to continue an existing :class:`LossHistory` (several
    phases of training). The iterations are reported to :func:`hysupp.progress.tracker` under the
    method's name, with the current loss (read from the device only for the emitted events, at
    most ten a second).
    """
    import torch

    n_iter = int(n_iter)
    if n_iter < 0:
        raise ParameterError(f"number of iterations must be >= 0, got {n_iter}")
    hist = history if history is not None else LossHistory(every=int(history_every), method=method)
    ema = EMA(ema_weight) if ema_weight is not None else None
    out = None
    t0 = time.perf_counter()
    with tracker(hist.method, total=n_iter) as bar:
        for k in range(n_iter):
            optimizer.zero_grad(set_to_none=True)
            loss, out = closure(k)
            if ema is not None:
                ema.update(out)
            if hist.due(k, n_iter):
                hist.record(k, loss.detach())
            loss.backward()
            optimizer.step()
            if post_step is not None:
                with torch.no_grad():
                    post_step(k)
            bar.update(k + 1, loss=lambda loss=loss: float(loss.detach()))
    return FitResult(history=hist, ema=None if ema is None else ema.value, last=out, iterations=n_iter,
                     wall_time=time.perf_counter() - t0)
