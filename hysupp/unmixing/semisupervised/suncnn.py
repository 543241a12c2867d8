r"""SUnCNN: sparse (library-based) unmixing with a convolutional deep image prior.

The abundances of all ``M`` library atoms are the output of a convolutional network
:math:`f_\theta` applied to a fixed random input :math:`Z`, with a softmax over the atoms, so
every pixel's abundance vector lies on the probability simplex (the sum-to-one and nonnegativity
constraints, and through the simplex also a form of sparsity); the weights are fitted to the
image:

.. math::

    \min_\theta\ \frac{1}{LN}\bigl\lVert Y - D\,f_\theta(Z)\bigr\rVert_F^2,
    \qquad X = f_\theta(Z) \in \Delta_M^N

(:math:`Y` ``(L, N)`` seen as an ``(L, H, W)`` image, library :math:`D` ``(L, M)``, :math:`X`
``(M, N)``; :math:`Z` ``(L, H, W)`` uniform on :math:`[0, 1)`, or :math:`Y` itself with
``noisy_input=False``). The network (:class:`hysupp.nn.blocks.DIPSkipNet`, as in the authors'
code) is a one-level encoder/decoder: two ``3x3`` conv-BN-LeakyReLU(0.1) blocks of 256 channels
(the first with stride 2, reflection padding), bilinear 2x upsampling, concatenation with a
``1x1`` skip branch of 4 channels, batch norm, a ``3x3`` block of 256 channels, a ``1x1`` block,
a ``1x1`` convolution to ``M`` channels and the softmax. It is trained by Adam (learning rate
``lr``) for ``niters`` full-image iterations (batch norm in training mode throughout, as the
reference); the estimate is the exponential moving average of the outputs,
:math:`\bar X_t = w\bar X_{t-1} + (1 - w)X_t` (``exp_weight`` :math:`w`, :math:`\bar X_0 = X_0`),
which smooths the iterates of the DIP.

Reproducibility: the weights and the input are drawn from torch's CPU generator seeded with
``seed`` (in the reference's order: weights, then input), inside a context that restores the
caller's generator state, so on CPU the run is the reference's run for the same seed (up to the
floating-point order of the convolutions). On CUDA, cuDNN may pick nondeterministic algorithms.

Reference: B. Rasti, B. Koirala, "SUnCNN: Sparse Unmixing Using Unsupervised Convolutional Neural
Network", IEEE GRSL 19, 2022, doi:10.1109/LGRS.2021.3124289. Defaults: HySUPP
``config/model/SUnCNN.yaml`` (``niters`` 20000, ``lr`` 1e-3, ``exp_weight`` 0.99,
``noisy_input`` True).

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.semisupervised.suncnn import SUnCNN
>>> rng = np.random.default_rng(0)
>>> D = rng.random((6, 5)); X = rng.dirichlet(np.ones(5), 16).T
>>> res = SUnCNN(max_iter=3, device="cpu").unmix(D @ X, D, image_shape=(4, 4))
>>> res.abundances.shape, res.over_library
((5, 16), True)
>>> bool(np.allclose(res.abundances.sum(axis=0), 1, atol=1e-5))
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.errors import HysuppError
from hysupp.methods.base import SemiSupervisedUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.progress import tracker

__all__ = ["SUnCNN"]

#: architecture of the authors' network (hidden channels, skip channels, kernel, stride)
HIDDEN, SKIP, KERNEL, STRIDE = 256, 4, 3, 2


@register
class SUnCNN(SemiSupervisedUnmixer):
    r"""SUnCNN: library abundances as the softmax output of a CNN (deep image prior), fitted by Adam.

    Solves :math:`\min_\theta \tfrac{1}{LN}\lVert Y - D f_\theta(Z)\rVert_F^2` over the weights
    :math:`\theta` of a convolutional encoder/decoder whose softmax output
    :math:`X = f_\theta(Z)` ``(M, H, W)`` holds the abundances of every library atom (columns on
    the simplex); see :mod:`hysupp.unmixing.semisupervised.suncnn`. Returns ``abundances`` ``(M,
    N)`` (the moving average of the outputs), ``endmembers`` = the library, ``over_library=True``.

    Parameters
    ----------
    niters : int
        Adam iterations (HySUPP ``config/model/SUnCNN.yaml``: 20000).
    lr : float
        Adam learning rate (1e-3).
    exp_weight : float
        Weight :math:`w` of the exponential moving average of the outputs (0.99).
    noisy_input : bool
        Input: uniform noise of the image's size (True, reference) or the image itself.
    max_iter : int or None
        Caps ``niters`` (quick runs, tests); ``None`` runs ``niters``.
    seed : int
        Seed of the weights and of the input.
    device, dtype
        Torch device (``auto``: CUDA when available) and working dtype.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> D = rng.random((8, 6)); Y = D[:, :2] @ rng.dirichlet([1, 1], 25).T
    >>> res = SUnCNN(max_iter=2, device="cpu").unmix(Y, D, image_shape=(5, 5))
    >>> res.library_abundances().shape, len(res.info["loss"])
    ((6, 25), 2)
    """

    name: ClassVar[str] = "SUnCNN"
    stochastic: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"niters": 3}
    spatial: ClassVar[bool] = True
    reference: ClassVar[str] = ("B. Rasti, B. Koirala, SUnCNN: Sparse Unmixing Using Unsupervised Convolutional "
                                "Neural Network, IEEE GRSL 19, 2022, doi:10.1109/LGRS.2021.3124289")
    params: ClassVar[tuple[Param, ...]] = (
        Param("niters", int, 20000, "Adam iterations (HySUPP config/model/SUnCNN.yaml: 20000)", low=1),
        Param("lr", float, 1e-3, "Adam learning rate", low=0.0),
        Param("exp_weight", float, 0.99, "weight w of the moving average of the outputs, in [0, 1)",
              low=0.0, high=0.999999),
        Param("noisy_input", bool, True, "network input: uniform noise (True) or the image itself"),
        Param("max_iter", int, None, "cap on the iterations (quick runs); None: niters", low=1, optional=True),
        Param("seed", int, 0, "seed of the network weights and of the noise input"),
        Param("device", str, "auto", "torch device: auto (CUDA when available), cpu or cuda",
              choices=("auto", "cpu", "cuda")),
        Param("dtype", str, "float32", "working dtype (reference: float32)", choices=("float32", "float64")),
    )

    def _unmix(self, Y: np.ndarray, D: np.ndarray, *, p: int | None = None,
               image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        """Abundances ``(M, N)`` of every library atom; ``image_shape`` ``(H, W)`` is required."""
        import torch

        from hysupp.nn.blocks import DIPSkipNet, OutputEMA, noise_input, seeded
        from hysupp.nn.device import resolve_device, resolve_dtype

        c = self.config
        dev, dt = resolve_device(c["device"]), resolve_dtype(c["dtype"])
        L, N = Y.shape
        M = D.shape[1]
        H, W = image_shape
        if min(H, W) < 2:
            raise HysuppError(f"{self.name}: the image must be at least 2 x 2 pixels (reflection padding), "
                              f"got {H} x {W}")
        n_iter = c["niters"] if c["max_iter"] is None else min(c["niters"], c["max_iter"])

        with seeded(c["seed"]):
            net = DIPSkipNet(L, M, hidden=HIDDEN, skip_channels=SKIP, kernel_size=KERNEL, downsample=STRIDE,
                             depth=2, merge_batch_norm=True, head="conv", output="softmax")
            z = noise_input((1, L, H, W)) if c["noisy_input"] else None
        net = net.to(device=dev, dtype=dt).train()
        Yt = torch.as_tensor(np.ascontiguousarray(Y), dtype=torch.float32).to(device=dev, dtype=dt)
        Dt = torch.as_tensor(np.ascontiguousarray(D), dtype=torch.float32).to(device=dev, dtype=dt)
        inp = z.to(device=dev, dtype=dt) if z is not None else Yt.reshape(1, L, H, W)
        opt = torch.optim.Adam(net.parameters(), lr=c["lr"])
        ema = OutputEMA(c["exp_weight"])
        losses = torch.empty(n_iter, dtype=dt, device=dev)
        with tracker(self.name, total=n_iter) as bar:
            for it in range(n_iter):
                opt.zero_grad(set_to_none=True)
                X = net(inp).reshape(M, N)
                ema.update(X)
                loss = torch.nn.functional.mse_loss(Yt, Dt @ X)
                loss.backward()
                opt.step()
                losses[it] = loss.detach()
                bar.update(it + 1, loss=lambda loss=loss: float(loss.detach()))
        hist = losses.cpu().numpy().astype(np.float64)
        if not np.isfinite(hist).all():
            raise HysuppError(f"{self.name}: the loss became non-finite at iteration "
                              f"{int(np.flatnonzero(~np.isfinite(hist))[0]) + 1}; lower lr")
        A = ema.value.reshape(M, N).cpu().numpy()
        info = {"method": self.name, "iterations": n_iter, "loss": hist.tolist(), "device": str(dev),
                "dtype": str(dt).replace("torch.", ""), "seed": int(c["seed"])}
        return UnmixingResult(abundances=A, endmembers=D, info=info, over_library=True)
