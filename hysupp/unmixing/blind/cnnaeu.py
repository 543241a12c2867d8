r"""CNNAEU: convolutional autoencoder for spectral-spatial blind unmixing (Palsson et al. 2021).

Model
-----
An encoder maps an image patch :math:`Y \in \mathbb R^{L\times h\times w}` to abundance maps
:math:`A = \mathrm{softmax}_\text{channels}(s\,f_\theta(Y))` (``s`` = ``scale``), so every pixel's
abundances lie on the probability simplex. The decoder is a single bias-free convolution with
``p`` input and ``L`` output channels and a ``k x k`` kernel (``k = 11``, reflect padding),
:math:`\hat Y = W * A`: a spatially extended linear mixing model whose kernel
:math:`W \in \mathbb R^{L\times p\times k\times k}` carries the endmembers. The network minimises
the mean spectral angle between input and reconstruction over the pixels of a batch of patches,

.. math::

    \min_{\theta, W}\ \frac{1}{|\mathcal B|}\sum_{n\in\mathcal B}
        \arccos\frac{\langle y_n, \hat y_n\rangle}{\lVert y_n\rVert\,\lVert\hat y_n\rVert},

(scale-invariant, so the endmembers are estimated up to scale), with RMSprop. Encoder:
``Conv(L->48, 3x3, reflect, no bias) - LeakyReLU(0.02) - BatchNorm - Dropout2d(0.2) -
Conv(48->p, 1x1, no bias) - LeakyReLU(0.02) - BatchNorm - Dropout2d(0.2)``.

After training, the network is put in evaluation mode (no dropout, running BatchNorm statistics),
the whole image is encoded to give the abundances ``(p, N)``, and the endmembers are the spatial
means of the decoder kernel, :math:`E_{:, j} = \frac{1}{k^2}\sum_{u,v} W_{:, j, u, v}`.

Training data (as in HySUPP): ``num_patches`` random ``patch_size x patch_size`` patches
(top-left rows then columns drawn uniformly with replacement by ``np.random.RandomState(seed)``,
the draws of scikit-learn's ``extract_patches_2d``), by default
``int(250 H W L / (307 * 307 * 162))`` (the paper's 250 patches for Urban scaled by the data
volume), shuffled into batches of ``batch_size`` every epoch. Patches larger than the image are
reduced to the image size. As ``extract_patches_2d``, the count is capped at the number of patch
positions ``(H - ps + 1)(W - ps + 1)`` (a 40 x 40 image with 40 x 40 patches trains on its one
patch, not on 5 copies of it), and a count of 0 (the default formula on small scenes) takes every
position once (:func:`patch_corners`). Reproducibility: the weights are initialised after
``torch.manual_seed(seed)`` in HySUPP's module order and the batch order and dropout masks come
from torch's global generator as with HySUPP's ``DataLoader`` (:func:`hysupp.nn.training.loader_order`),
so on CPU a run reproduces HySUPP's run with the same seed when its NumPy global seed is also
``seed`` (benchmarks/bench_nets.py). Defaults are HySUPP's ``config/model/CNNAEU.yaml`` (the
paper's: 320 epochs, RMSprop with learning rate 3e-4, batch 15, patches 40 x 40, softmax scale 3).

The endmembers are not constrained to be non-negative (the reference does not constrain them);
the abundances are exactly on the simplex (softmax).

Reference: B. Palsson, M. O. Ulfarsson, J. R. Sveinsson, "Convolutional Autoencoder for
Spectral-Spatial Hyperspectral Unmixing", IEEE TGRS 59(1), 535-549, 2021,
doi:10.1109/TGRS.2020.2992743.

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.blind.cnnaeu import CNNAEU
>>> rng = np.random.default_rng(0)
>>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 100).T
>>> res = CNNAEU(epochs=2, device="cpu").unmix(E @ A, 3, image_shape=(10, 10))
>>> res.abundances.shape, res.endmembers.shape
((3, 100), (20, 3))
>>> bool(np.allclose(res.abundances.sum(0), 1, atol=1e-5))
True
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.base import BlindUnmixer, UnmixingResult
from hysupp.methods.params import ODD, Param
from hysupp.methods.registry import register
from hysupp.nn.training import LossHistory, loader_order, make_optimizer, run_params, to_numpy, to_tensor, torch_session
from hysupp.progress import tracker

__all__ = ["CNNAEU", "default_num_patches", "patch_corners"]


def default_num_patches(H: int, W: int, L: int) -> int:
    """HySUPP's patch count ``int(250 H W L / (307 * 307 * 162))`` (the paper's 250 patches for the
    307 x 307 x 162 Urban scene, scaled by data volume); 0 on small scenes, where HySUPP takes every
    patch position (:func:`patch_corners`)."""
    return int(250 * H * W * L / (307 * 307 * 162))


def patch_corners(H: int, W: int, ps: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corners (rows, cols) of the training patches, as scikit-learn's ``extract_patches_2d``
    draws them for HySUPP: with ``P = (H - ps + 1)(W - ps + 1)`` patch positions, ``count = 0`` takes
    every position once (row-major), otherwise ``min(count, P)`` corners are drawn uniformly with
    replacement, rows then columns, by ``np.random.RandomState(seed)``.

    >>> patch_corners(40, 40, 40, 5, 0)                 # one position: one patch, not five copies
    (array([0]), array([0]))
    >>> [c.tolist() for c in patch_corners(3, 3, 2, 0, 0)]
    [[0, 0, 1, 1], [0, 1, 0, 1]]
    """
    nh, nw = H - ps + 1, W - ps + 1
    if count == 0:
        rows, cols = np.divmod(np.arange(nh * nw), nw)
        return rows, cols
    n = min(int(count), nh * nw)
    rng = np.random.RandomState(seed)
    rows = rng.randint(nh, size=n)
    cols = rng.randint(nw, size=n)
    return rows, cols


def _build(torch: Any, L: int, p: int, c: dict[str, Any]) -> Any:
    nn = torch.nn
    slope, drop, k = c["negative_slope"], c["dropout"], c["decoder_kernel"]

    class _Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(L, c["hidden"], 3, padding=1, padding_mode="reflect", bias=False),
                nn.LeakyReLU(slope, inplace=True), nn.BatchNorm2d(c["hidden"]), nn.Dropout2d(drop),
                nn.Conv2d(c["hidden"], p, 1, bias=False),
                nn.LeakyReLU(slope, inplace=True), nn.BatchNorm2d(p), nn.Dropout2d(drop),
            )
            self.decoder = nn.Conv2d(p, L, k, padding=k // 2, padding_mode="reflect", bias=False)
            self.scale = float(c["scale"])

        def forward(self, x: Any) -> tuple[Any, Any]:
            abund = torch.softmax(self.encoder(x) * self.scale, dim=1)
            return abund, self.decoder(abund)

    return _Net()


def _sad_loss(y: Any, y_hat: Any, y_norm: Any) -> Any:
    """Mean spectral angle (rad) between ``y`` and ``y_hat`` ``(B, L, h, w)`` over pixels, given the
    norms ``y_norm`` ``(B, h, w)`` of ``y`` (precomputed once per patch; squared sums over the
    channel axis are several times faster than ``vector_norm`` along a non-last axis)."""
    cos = (y * y_hat).sum(1) / (y_norm * (y_hat * y_hat).sum(1).sqrt())
    return cos.clamp(-1.0, 1.0).acos().mean()


@register
class CNNAEU(BlindUnmixer):
    r"""CNNAEU: convolutional autoencoder, softmax abundances, k x k convolutional decoder, SAD loss.

    Minimises the mean spectral angle between the patches and their reconstruction
    :math:`\hat Y = W * \mathrm{softmax}(s f_\theta(Y))` with RMSprop (see
    :mod:`hysupp.unmixing.blind.cnnaeu`); endmembers are the spatial means of the decoder kernel.
    Spatial: ``unmix(Y, p, image_shape=(H, W))``. ``info`` holds the loss per epoch (sum over the
    batches, as HySUPP prints it), the number of patches and the timings.
    """

    name: ClassVar[str] = "CNNAEU"
    stochastic: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"epochs": 2, "patch_size": 4, "num_patches": 2, "batch_size": 2,
                                                  "hidden": 8, "decoder_kernel": 3}
    spatial: ClassVar[bool] = True
    #: the parameter that sets the training length (for a generic ``--max-iter`` override)
    iteration_param: ClassVar[str] = "epochs"
    reference: ClassVar[str] = ("B. Palsson, M. O. Ulfarsson, J. R. Sveinsson, Convolutional Autoencoder for "
                                "Spectral-Spatial Hyperspectral Unmixing, IEEE TGRS 59(1), 535-549, 2021, "
                                "doi:10.1109/TGRS.2020.2992743")
    params: ClassVar[tuple[Param, ...]] = (
        Param("epochs", int, 320, "training epochs over the patches (HySUPP/paper: 320)", low=0),
        Param("lr", float, 3e-4, "RMSprop learning rate", low=0.0, low_open=True),
        Param("batch_size", int, 15, "patches per batch", low=1),
        Param("patch_size", int, 40, "patch side (reduced to the image size when larger)", low=1),
        Param("num_patches", int, None, "number of random training patches (at most the number of patch "
              "positions); None: HySUPP's int(250 H W L / (307*307*162)), 0 = every position", low=1,
              optional=True),
        Param("scale", float, 3.0, "softmax scale s (abundances = softmax(s * code))", low=0.0),
        Param("hidden", int, 48, "channels of the first encoder convolution", low=1),
        Param("decoder_kernel", int, 11, "odd side of the decoder kernel", low=1, check=ODD),
        Param("negative_slope", float, 0.02, "LeakyReLU negative slope", low=0.0),
        Param("dropout", float, 0.2, "Dropout2d probability", low=0.0, high=0.999),
    ) + run_params(history_every=1)

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        c = self.config
        L, N = Y.shape
        H, W = image_shape
        k = c["decoder_kernel"]
        ps = min(c["patch_size"], H, W)
        if k // 2 >= ps:
            raise InputError(f"CNNAEU: the {k}x{k} decoder (reflect padding {k // 2}) needs patches and an image "
                             f"of at least {k // 2 + 1} pixels per side; got image {H}x{W}, patch {ps}")
        requested = c["num_patches"] if c["num_patches"] is not None else default_num_patches(H, W, L)
        rows, cols = patch_corners(H, W, ps, requested, c["seed"])
        n_patches = int(rows.size)
        t0 = time.perf_counter()
        with torch_session(c["device"], c["dtype"], c["seed"]) as s:
            torch = s.torch
            net = _build(torch, L, p, c).to(device=s.device, dtype=s.dtype)
            cube = to_tensor(Y.reshape(L, H, W), s)
            patches = torch.stack([cube[:, r:r + ps, q:q + ps] for r, q in zip(rows, cols)])
            patch_norms = (patches * patches).sum(1).sqrt()
            opt = make_optimizer(net.parameters(), "rmsprop", lr=c["lr"])
            hist = LossHistory(every=c["history_every"], method=self.name)
            net.train()
            bs = c["batch_size"]
            epochs = c["epochs"]
            bar = tracker(self.name, total=epochs, unit="epoch")
            for ep in range(epochs):
                order = loader_order(n_patches).to(s.device)
                running = torch.zeros((), dtype=s.dtype, device=s.device)
                for b0 in range(0, n_patches, bs):
                    sel = order[b0:b0 + bs]
                    batch = patches[sel]
                    opt.zero_grad(set_to_none=True)
                    _, out = net(batch)
                    loss = _sad_loss(batch, out, patch_norms[sel])
                    running += loss.detach()
                    loss.backward()
                    opt.step()
                if hist.due(ep, epochs):
                    hist.record(ep, running)
                bar.update(ep + 1, loss=lambda running=running: float(running))
            bar.close()
            t_train = time.perf_counter() - t0
            net.eval()
            with torch.no_grad():
                abund, _ = net(cube.unsqueeze(0))
            A = to_numpy(abund[0].reshape(p, N))
            E = to_numpy(net.decoder.weight.mean(dim=(2, 3)))
            info = {"epochs": epochs, "iterations": epochs * -(-n_patches // bs), "num_patches": int(n_patches),
                    "num_patches_requested": int(requested), "patch_positions": (H - ps + 1) * (W - ps + 1),
                    "patch_size": ps, "train_time": t_train,
                    **hist.as_info(), **s.info()}
        return UnmixingResult(abundances=A, endmembers=E, info=info)
