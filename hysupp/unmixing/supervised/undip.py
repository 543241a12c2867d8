r"""UnDIP: abundance estimation with a deep image prior and known endmembers (Rasti et al. 2022).

Model
-----
The abundance maps are the output of a convolutional network :math:`g_\theta` fed with a fixed
input :math:`Z` (uniform noise, or the image itself with ``noisy_input=False``); a softmax over the
channels keeps every pixel on the probability simplex. With the endmembers :math:`E` fixed
(given, or extracted beforehand, e.g. by VCA), the weights solve

.. math::

    \min_\theta\ \frac{1}{LN}\lVert Y - E\,g_\theta(Z)\rVert_F^2

by Adam (``niters`` iterations, learning rate ``lr``); the network's structure is the prior
(spatial regularity), early stopping by the iteration count. The returned abundances are the
exponential moving average of the outputs, :math:`\bar A_k = w\bar A_{k-1} + (1 - w)A_k`
(``exp_weight`` :math:`w`).

Network (:class:`hysupp.nn.blocks.DIPSkipNet`: reflection padding, LeakyReLU slope 0.1, BatchNorm
in training mode throughout)::

    Z -> Conv(L->256, k, stride 2) BN LReLU -> Conv(256->256, k) BN LReLU -> bilinear x2 --\
    Z -> Conv(L->4, 1) BN LReLU -------------------------------------------------- crop-cat ->
      BN(260) -> Conv(260->256, k) BN LReLU -> Conv(256->256, 1) BN LReLU -> Conv(256->p, 1) -> softmax

(the upsampled branch is centre-cropped to ``H x W`` for odd sizes). Its modules are created in the
same order as in HySUPP's implementation, so with the same seed the initial weights and the input
noise are the same as the reference's on CPU. Defaults are HySUPP's ``config/model/UnDIP.yaml``:
3000 iterations, lr 1e-3, EMA weight 0.99, noise input, kernel 3.

Reference: B. Rasti, B. Koirala, P. Scheunders, P. Ghamisi, "UnDIP: Hyperspectral Unmixing Using
Deep Image Prior", IEEE TGRS 60, 1-15, 2022, doi:10.1109/TGRS.2021.3067802.

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.supervised.undip import UnDIP
>>> rng = np.random.default_rng(0)
>>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 64).T
>>> res = UnDIP(niters=5, device="cpu").unmix(E @ A, E, image_shape=(8, 8))
>>> res.abundances.shape
(3, 64)
>>> bool(np.allclose(res.abundances.sum(0), 1, atol=1e-5))
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.base import SupervisedUnmixer, UnmixingResult
from hysupp.methods.params import ODD, Param
from hysupp.methods.registry import register
from hysupp.nn.training import fit, make_optimizer, run_params, to_numpy, to_tensor, torch_session

__all__ = ["UnDIP"]


@register
class UnDIP(SupervisedUnmixer):
    r"""UnDIP: deep-image-prior abundances for known endmembers (softmax output, MSE fit, EMA).

    Solves :math:`\min_\theta \tfrac{1}{LN}\lVert Y - E g_\theta(Z)\rVert_F^2` by Adam (see
    :mod:`hysupp.unmixing.supervised.undip`). Spatial: ``unmix(Y, E, image_shape=(H, W))``.
    Returns the EMA of the abundance outputs (on the simplex) and ``E`` unchanged.
    """

    name: ClassVar[str] = "UnDIP"
    stochastic: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"niters": 3, "hidden": 8}
    spatial: ClassVar[bool] = True
    #: the parameter that sets the training length (for a generic ``--max-iter`` override)
    iteration_param: ClassVar[str] = "niters"
    reference: ClassVar[str] = ("B. Rasti, B. Koirala, P. Scheunders, P. Ghamisi, UnDIP: Hyperspectral Unmixing "
                                "Using Deep Image Prior, IEEE TGRS 60, 2022, doi:10.1109/TGRS.2021.3067802")
    params: ClassVar[tuple[Param, ...]] = (
        Param("niters", int, 3000, "Adam iterations (HySUPP config: 3000)", low=0),
        Param("lr", float, 1e-3, "Adam learning rate", low=0.0, low_open=True),
        Param("exp_weight", float, 0.99, "weight w of the EMA of the abundance outputs", low=0.0, high=0.999999),
        Param("noisy_input", bool, True, "feed uniform noise (True, reference) or the image itself"),
        Param("kernel_size", int, 3, "odd kernel size of the k x k convolutions", low=1, check=ODD),
        Param("hidden", int, 256, "channels of the hidden layers", low=1),
        Param("negative_slope", float, 0.1, "LeakyReLU negative slope", low=0.0),
    ) + run_params(history_every=100)

    def _unmix(self, Y: np.ndarray, E: np.ndarray, *, image_shape: tuple[int, int]) -> UnmixingResult:
        c = self.config
        L, N = Y.shape
        p = E.shape[1]
        H, W = image_shape
        k = c["kernel_size"]
        if (k - 1) // 2 >= min((H + 1) // 2, W // 2 + W % 2):
            raise InputError(f"UnDIP: the image {H}x{W} is too small for the stride-2 encoder with kernel {k}")
        with torch_session(c["device"], c["dtype"], c["seed"]) as s:
            torch = s.torch
            from hysupp.nn.blocks import DIPSkipNet, noise_input

            net = DIPSkipNet(L, p, hidden=c["hidden"], skip_channels=4, kernel_size=k, downsample=2, depth=2,
                             merge_batch_norm=True, head="conv", output="softmax",
                             negative_slope=c["negative_slope"]).to(device=s.device, dtype=s.dtype)
            Yt = to_tensor(Y, s)
            Et = to_tensor(E, s)
            Z = (noise_input((1, L, H, W), dtype=s.dtype).to(s.device) if c["noisy_input"]
                 else Yt.reshape(1, L, H, W))
            opt = make_optimizer(net.parameters(), "adam", lr=c["lr"])
            scale = 1.0 / (L * N)

            def closure(_: int) -> tuple[Any, Any]:
                A = net(Z).reshape(p, N)
                return (Yt - Et @ A).square().sum() * scale, A

            net.train()
            res = fit(closure, opt, c["niters"], history_every=c["history_every"], ema_weight=c["exp_weight"],
                      method=self.name)
            if res.ema is None:
                with torch.no_grad():
                    res.ema = net(Z).reshape(p, N)
            A_out = to_numpy(res.ema)
            info = {**res.info(), **s.info()}
        return UnmixingResult(abundances=A_out, endmembers=np.array(E, dtype=A_out.dtype), info=info)
