r"""Training a pansharpening network on a data set of many samples (PanCollection ``.h5``).

:meth:`hysupp.fusion.pansharpening.nets.PansharpeningNet.train` learns from Wald's reduced-resolution
pairs of *one* scene. Here the network learns instead from the ``N`` reduced-resolution samples
``(ms, lms, pan, gt)`` of a :class:`hysupp.io.pancollection.PanCollection` file (the PanCollection
training sets: 64 x 64 PAN patches with their 16 x 16 MS, ``lms`` and the reference ``gt``), the
usual supervised protocol of the deep pansharpening literature: the samples themselves were made by
Wald's protocol from the sensors' images by the collection's authors, and the file's ``lms`` (23-tap
interpolation) is used as given.

Pieces
------
:class:`DatasetSampler`
    Batches of ``batch`` samples drawn uniformly (with replacement) from a seeded CPU
    ``torch.Generator``; from each, a random ``patch`` x ``patch`` crop with its corner on the MS
    grid (the whole sample when ``patch`` equals its size). The arrays are divided by the
    normalisation ``scale``. Samples are read from the file batch by batch (h5py hyperslabs), or
    held in memory when the selected samples take less than ``cache_mb`` MiB. Same keys as
    :class:`hysupp.nn.fusion_training.PatchSampler` (``ms`` is None when ``patch`` is not a multiple
    of the ratio), so every net's loss works unchanged.
:func:`train_on_dataset`
    The training of :meth:`PansharpeningNet.train` (recipe, architecture, loss, optimiser groups,
    EMA, :func:`hysupp.nn.fusion_training.train_network`) on a :class:`DatasetSampler`; returns a
    :class:`hysupp.nn.fusion_training.Checkpoint` whose normalisation is the data set's scale (the
    value that maps to 1; pass the same units to ``fuse(..., weights=...)``). ``epochs`` counts
    passes over the data set's disjoint crops: ``iterations = epochs x ceil(N tiles / batch)``.
    The zero-shot nets (trained on the scene to fuse, e.g. Z-PNN) and full-resolution sets (no
    ``gt``) are refused with :class:`hysupp.errors.InputError`.

Example
-------
>>> import numpy as np, h5py, tempfile, os
>>> from hysupp.fusion.pansharpening.nets import DiCNN
>>> from hysupp.io.pancollection import PanCollection
>>> from hysupp.nn.dataset_training import train_on_dataset
>>> path = os.path.join(tempfile.mkdtemp(), "train.h5")
>>> rng = np.random.default_rng(0)
>>> with h5py.File(path, "w") as f:
...     f["gt"] = rng.random((4, 3, 16, 16)) * 2047; f["ms"] = rng.random((4, 3, 4, 4)) * 2047
...     f["lms"] = rng.random((4, 3, 16, 16)) * 2047; f["pan"] = rng.random((4, 1, 16, 16)) * 2047
>>> with PanCollection(path, scale=2047) as ds:
...     ck = train_on_dataset(DiCNN(iterations=3, batch_size=2, patch_size=16, device="cpu"), ds)
>>> ck.method, ck.protocol["name"], ck.normalisation["scale"], ck.training["iterations"]
('DiCNN', 'pancollection-h5', 2047.0, 3)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hysupp.errors import InputError, ParameterError
from hysupp.nn.fusion_training import aligned_patch_grid
from hysupp.physics.sampling import check_ratio

__all__ = ["DatasetSampler", "train_on_dataset"]


class DatasetSampler:
    """Random batches of aligned crops of a data set's samples (module docstring).

    Parameters
    ----------
    dataset : hysupp.io.pancollection.PanCollection
        Needs ``gt`` (a reduced-resolution set).
    patch : int
        Crop size on the PAN grid (at most the sample size).
    scale : float
        Divides the arrays read (after the data set's own ``scale``).
    indices : sequence of int or None
        The samples to draw from (default: all).
    cache_mb : float
        Hold the selected samples in memory when they take less than this (MiB, float64).
    """

    def __init__(self, dataset: Any, patch: int, *, scale: float = 1.0, device: Any = "cpu", dtype: Any = None,
                 seed: int = 0, indices: Any = None, cache_mb: float = 512.0) -> None:
        import torch

        if not dataset.has_gt:
            raise InputError(f"{str(dataset.path)!r} has no 'gt' dataset (a full-resolution set): supervised "
                             f"training needs a reduced-resolution set with references")
        H, W = dataset.pan_shape
        patch = int(patch)
        if patch < 1 or patch > min(H, W):
            raise ParameterError(f"patch size must be in [1, {min(H, W)}] for the {H} x {W} samples of "
                                 f"{str(dataset.path)!r}, got {patch}")
        idx = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64).ravel()
        if idx.size == 0:
            raise ParameterError("no training samples selected")
        if idx.min() < 0 or idx.max() >= len(dataset):
            raise ParameterError(f"sample indices must be in [0, {len(dataset)}) for {str(dataset.path)!r}")
        self.dataset, self.indices = dataset, idx
        self.patch, self.ratio = patch, int(dataset.ratio)
        self.scale = float(scale)
        self.device, self.dtype = device, dtype or torch.float32
        self.n_rows, self.n_cols, self.with_ms = aligned_patch_grid(H, W, patch, self.ratio)
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(int(seed))
        L = dataset.n_bands
        h, w = dataset.ms_shape
        nbytes = idx.size * 8 * (L * h * w + (2 * L + 1) * H * W)
        self.cache: dict[str, np.ndarray] | None = None
        if nbytes <= float(cache_mb) * 2 ** 20:
            self.cache = self._read(idx)

    def _read(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        ds = self.dataset
        out = {key: ds.read(key, idx) for key in ("ms", "lms", "pan", "gt")}
        if self.scale != 1.0:
            out = {k: v / self.scale for k, v in out.items()}
        return out

    def n_tiles(self) -> int:
        """Number of disjoint crops over the selected samples (the size of an 'epoch')."""
        H, W = self.dataset.pan_shape
        return max(1, int(self.indices.size) * (H // self.patch) * (W // self.patch))

    def sample(self, batch: int) -> dict[str, Any]:
        import torch

        b = int(batch)
        pick = torch.randint(0, int(self.indices.size), (b,), generator=self.generator).numpy()
        rows = torch.randint(0, self.n_rows, (b,), generator=self.generator).tolist()
        cols = torch.randint(0, self.n_cols, (b,), generator=self.generator).tolist()
        if self.cache is not None:
            arrays = {k: v[pick] for k, v in self.cache.items()}
        else:
            arrays = self._read(self.indices[pick])
        p, r = self.patch, self.ratio
        q = p // r
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device=self.device, dtype=self.dtype)
        out: dict[str, Any] = {}
        for key in ("lms", "pan", "gt"):
            a = arrays[key]
            out[key] = t(np.stack([a[k, :, i * r:i * r + p, j * r:j * r + p] for k, (i, j) in enumerate(zip(rows, cols))]))
        out["ms"] = (t(np.stack([arrays["ms"][k, :, i:i + q, j:j + q] for k, (i, j) in enumerate(zip(rows, cols))]))
                     if self.with_ms else None)
        return out


def train_on_dataset(method: Any, dataset: Any, *, sensor: str | None = None, iterations: int | None = None,
                     indices: Any = None, session: Any = None, cache_mb: float = 512.0) -> Any:
    """Train the pansharpening net ``method`` (a configured
    :class:`~hysupp.fusion.pansharpening.nets.PansharpeningNet`) on ``dataset`` (module docstring).

    The trainer knows no method class (``nn`` sits below the methods): ``method`` says whether it
    can learn from a data set through its ``trains_on_datasets`` attribute (True for the supervised
    nets; False for the nets that train on the scene they fuse; absent for anything that is not a
    pansharpening net) and provides ``name``, ``device``, ``dtype``, ``seed``,
    ``recipe_values(device)``, ``check_patch(patch, ratio)`` and ``fit(data, session, iterations=,
    sampler=)``.

    ``iterations`` overrides the recipe's (and ``epochs``); ``indices`` selects the training
    samples; ``sensor`` is recorded in the protocol (checked against the sensor at ``fuse`` time).
    The normalisation is ``dataset.scale`` when set (the data are then read in [0, 1]-ish units),
    else the largest MS/PAN value of the file. Returns a
    :class:`~hysupp.nn.fusion_training.Checkpoint`.
    """
    from hysupp.nn.fusion_training import TrainingData, json_plain
    from hysupp.nn.training import torch_session

    trains = getattr(method, "trains_on_datasets", None)
    if trains is None:
        raise InputError(f"{getattr(method, 'name', type(method).__name__)} is not a pansharpening network; "
                         f"training from a data set needs one of the PansharpeningNet methods")
    if not trains:
        raise InputError(f"{method.name} is a zero-shot network (it trains on the scene it fuses); it cannot "
                         f"train on a data set")
    if session is None:
        with torch_session(method.device, method.dtype, method.seed) as s:
            return train_on_dataset(method, dataset, sensor=sensor, iterations=iterations, indices=indices,
                                    session=s, cache_mb=cache_mb)
    s = session
    ratio = int(dataset.ratio)
    check_ratio(ratio, f"{method.name} training")
    if dataset.scale is not None:
        norm, extra = float(dataset.scale), 1.0
    else:
        m = float(dataset.max_value())
        norm = extra = m if m > 0 and math.isfinite(m) else 1.0
    rec = method.recipe_values(s.device)
    patch = min(int(rec["patch_size"]), *dataset.pan_shape)
    method.check_patch(patch, ratio)
    sampler = DatasetSampler(dataset, patch, scale=extra, device=s.device, dtype=s.dtype, seed=s.seed,
                             indices=indices, cache_mb=cache_mb)
    # the data the net's prepare() sees (a no-op for the supervised nets): the first sample
    first = sampler.dataset.sample(int(sampler.indices[0]))
    data = TrainingData(ms=first["ms"], lms=first["lms"], pan=first["pan"], gt=first["gt"], ratio=ratio, scale=norm)
    ck = method.fit(data, s, iterations=iterations, sampler=sampler)
    protocol = {"name": "pancollection-h5", "ratio": ratio, "sensor": sensor or "generic",
                "source": str(dataset.path), "n_samples": int(sampler.indices.size),
                "sample_shapes": {k: list(v[1:]) for k, v in dataset.shapes.items()},
                "interpolation": "file lms" if dataset.has_lms else "interp23tap", "data_scale": dataset.scale}
    ck.protocol, ck.normalisation = json_plain(protocol), {"kind": "dataset", "scale": norm}
    return ck
