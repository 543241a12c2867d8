r"""MiSiCNet: minimum simplex convolutional network for blind unmixing (Rasti et al. 2022).

Model
-----
A convolutional deep-image-prior network :math:`g_\theta` maps a fixed random input
:math:`Z \sim \mathcal U[0, 1)^{L\times H\times W}` to abundance maps on the simplex
(softmax over the channels), and a linear, bias-free decoder holds the endmembers
:math:`E \in \mathbb R^{L\times p}`. The network and the endmembers minimise

.. math::

    \min_{\theta, E}\ \tfrac12\lVert Y - E\,g_\theta(Z)\rVert_F^2
        + \lambda\,\lVert E - \bar y\mathbf 1_p^\top\rVert_F^2
    \quad\text{s.t.}\ 0 \le E \le 1,

where :math:`\bar y = \frac1N Y\mathbf 1_N` is the mean pixel: the second term pulls the
endmembers towards the data centroid, a convex surrogate of the simplex volume (minimum-simplex
prior, so no pure pixels are needed). Optimisation: Adam on :math:`(\theta, E)` jointly, with
:math:`E` clipped to :math:`[0, 1]` after every step (reflectances), ``niters`` iterations. The
returned abundances are the exponential moving average of the network outputs,
:math:`\bar A_k = w\bar A_{k-1} + (1 - w)A_k` (``exp_weight`` :math:`w`), as in the authors' code.
:math:`E` is initialised with SiVM endmembers (sorted by pixel index, as in HySUPP).

Network (reflection padding, LeakyReLU slope 0.1, BatchNorm in training mode throughout; blocks
from :func:`hysupp.nn.blocks.conv_block`)::

    Z -> Conv(L->256, k) BN LReLU ----\
    Z -> Conv(L->4, 1) BN LReLU -------cat-> Conv(260->256, k) BN LReLU -> Conv(256->p, k) BN LReLU -> softmax

HySUPP's implementation also creates a second 256 -> 256 encoder layer that its forward pass never
uses; it is not part of this network, but its initial weights are drawn (and discarded) so that,
with the same seed on CPU, the initial weights and the input noise are exactly HySUPP's
(benchmarks/bench_nets.py). Defaults are HySUPP's ``config/model/MiSiCNet.yaml``: 8000 iterations, learning
rate 1e-3, EMA weight 0.99, :math:`\lambda = 0.1`, kernel 3 (HySUPP's class default
:math:`\lambda = 100` is overridden by its config).

Reference: B. Rasti, B. Koirala, P. Scheunders, J. Chanussot, "MiSiCNet: Minimum Simplex
Convolutional Network for Deep Hyperspectral Unmixing", IEEE TGRS 60, 1-15, 2022,
doi:10.1109/TGRS.2022.3146904.

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.blind.misicnet import MiSiCNet
>>> rng = np.random.default_rng(0)
>>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 64).T
>>> res = MiSiCNet(niters=5, device="cpu").unmix(E @ A, 3, image_shape=(8, 8))
>>> res.abundances.shape, res.endmembers.shape
((3, 64), (20, 3))
>>> bool(res.endmembers.min() >= 0 and res.endmembers.max() <= 1)
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import BlindUnmixer, UnmixingResult
from hysupp.methods.params import ODD, Param
from hysupp.methods.registry import get_method, register
from hysupp.nn.training import fit, make_optimizer, run_params, to_numpy, to_tensor, torch_session

__all__ = ["MiSiCNet", "sivm_init"]


def sivm_init(Y: np.ndarray, p: int) -> np.ndarray:
    """SiVM endmembers ``(L, p)`` of ``Y``, columns sorted by pixel index (HySUPP's order)."""
    res = get_method("SiVM", "extractor")().extract(Y, p)
    order = np.argsort(res.indices)
    return np.asarray(res.endmembers)[:, order]


def _build(torch: Any, L: int, p: int, hidden: int, k: int, slope: float) -> Any:
    """The abundance network. Modules are created in HySUPP's order, drawing (and discarding) the
    initial weights of its unused second encoder layer and of its linear decoder (overwritten by
    the SiVM endmembers), so that after ``torch.manual_seed(seed)`` the weights and the input noise
    drawn next are HySUPP's."""
    from hysupp.nn.blocks import conv_block

    nn = torch.nn

    class _Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = conv_block(L, hidden, k, negative_slope=slope)
            nn.Conv2d(hidden, hidden, k)                      # HySUPP's unused layer: RNG draws only
            self.skip = conv_block(L, 4, 1, negative_slope=slope)
            self.decoder = conv_block(hidden + 4, hidden, k, negative_slope=slope)
            self.head = conv_block(hidden, p, k, negative_slope=slope)
            nn.Linear(p, L, bias=False)                       # HySUPP's decoder init: RNG draws only

        def forward(self, x: Any) -> Any:
            z = torch.cat([self.encoder(x), self.skip(x)], dim=1)
            return torch.softmax(self.head(self.decoder(z)), dim=1)

    return _Net()


@register
class MiSiCNet(BlindUnmixer):
    r"""MiSiCNet: DIP abundances, linear decoder, minimum-simplex penalty towards the mean pixel.

    Solves :math:`\min_{\theta,E}\tfrac12\lVert Y - E g_\theta(Z)\rVert_F^2 + \lambda\lVert E -
    \bar y\mathbf 1^\top\rVert_F^2` s.t. :math:`0 \le E \le 1` with Adam and projection (see
    :mod:`hysupp.unmixing.blind.misicnet`). Spatial: ``unmix(Y, p, image_shape=(H, W))``.
    Abundances: EMA of the softmax outputs (on the simplex); endmembers in :math:`[0, 1]`.
    """

    name: ClassVar[str] = "MiSiCNet"
    stochastic: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"niters": 3, "hidden": 8}
    spatial: ClassVar[bool] = True
    #: the parameter that sets the training length (for a generic ``--max-iter`` override)
    iteration_param: ClassVar[str] = "niters"
    reference: ClassVar[str] = ("B. Rasti, B. Koirala, P. Scheunders, J. Chanussot, MiSiCNet: Minimum Simplex "
                                "Convolutional Network for Deep Hyperspectral Unmixing, IEEE TGRS 60, 2022, "
                                "doi:10.1109/TGRS.2022.3146904")
    params: ClassVar[tuple[Param, ...]] = (
        Param("niters", int, 8000, "Adam iterations (HySUPP config: 8000)", low=0),
        Param("lr", float, 1e-3, "Adam learning rate", low=0.0, low_open=True),
        Param("exp_weight", float, 0.99, "weight w of the EMA of the abundance outputs", low=0.0, high=0.999999),
        Param("lambd", float, 0.1, "weight lambda of the minimum-simplex term ||E - mean(Y) 1^T||_F^2 "
              "(HySUPP config: 0.1)", low=0.0),
        Param("kernel_size", int, 3, "odd kernel size of the 3x3 convolutions", low=1, check=ODD),
        Param("hidden", int, 256, "channels of the hidden layers", low=1),
        Param("negative_slope", float, 0.1, "LeakyReLU negative slope", low=0.0),
        Param("clip", bool, True, "clip the endmembers to [0, 1] after every step (reference: yes)"),
    ) + run_params(history_every=100)

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        from hysupp.errors import InputError

        c = self.config
        L, N = Y.shape
        H, W = image_shape
        k = c["kernel_size"]
        if (k - 1) // 2 >= min(H, W):
            raise InputError(f"MiSiCNet: reflection padding {(k - 1) // 2} needs an image larger than {H}x{W}")
        E0 = sivm_init(Y, p)
        with torch_session(c["device"], c["dtype"], c["seed"]) as s:
            torch = s.torch
            from hysupp.nn.blocks import noise_input

            net = _build(torch, L, p, c["hidden"], k, c["negative_slope"]).to(device=s.device, dtype=s.dtype)
            Et = torch.nn.Parameter(to_tensor(E0, s))
            Yt = to_tensor(Y, s)
            ybar = Yt.mean(dim=1, keepdim=True)
            Z = noise_input((1, L, H, W), dtype=s.dtype).to(s.device)
            opt = make_optimizer(list(net.parameters()) + [Et], "adam", lr=c["lr"])
            lam = c["lambd"]

            def closure(_: int) -> tuple[Any, Any]:
                A = net(Z).reshape(p, N)
                fit_term = 0.5 * (Yt - Et @ A).square().sum()
                return fit_term + lam * (Et - ybar).square().sum(), A

            post = (lambda _: Et.clamp_(0.0, 1.0)) if c["clip"] else None
            net.train()
            res = fit(closure, opt, c["niters"], history_every=c["history_every"], ema_weight=c["exp_weight"],
                      post_step=post, method=self.name)
            if res.ema is None:          # niters = 0: the untrained network's output
                with torch.no_grad():
                    res.ema = net(Z).reshape(p, N)
            A_out = to_numpy(res.ema)
            E_out = to_numpy(Et)
            info = {**res.info(), "init": "SiVM", **s.info()}
        return UnmixingResult(abundances=A_out, endmembers=E_out, info=info)
