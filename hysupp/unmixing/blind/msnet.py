r"""MSNet: multi-stage convolutional autoencoder for blind unmixing (Yu et al., 2022).

The image :math:`Y` ``(L, H, W)`` is unmixed at three scales, coarse to fine: :math:`Y_3 =
\mathrm{avg}_{4\times4}(Y)`, :math:`Y_2 = \mathrm{avg}_{2\times2}(Y)`, :math:`Y_1 = Y` (average
pooling, windows clipped at the border). Each stage ``s`` is a convolutional encoder :math:`f_s`
(``3x3`` convolutions :math:`\to 96 \to 48 \to p` channels, each hidden one followed by
LeakyReLU(0.2), batch normalisation and dropout) whose logits :math:`u_s` give the abundances
:math:`A_s = \mathrm{softmax}(u_s)` (over the ``p`` channels: on the simplex in every pixel) and a
linear decoder :math:`\hat Y_s = E_s A_s` (a ``1x1`` convolution without bias). The stages are
chained: the coarser logits, bilinearly upsampled to the next grid and mixed by a shared ``1x1``
convolution :math:`T_p`, are concatenated with the next input mixed by a shared ``1x1`` convolution
:math:`T_L`,

.. math::

    u_3 = f_3(Y_3),\quad u_2 = f_2\bigl([T_L Y_2;\ T_p\,\mathrm{up}(u_3)]\bigr),\quad
    u_1 = f_1\bigl([T_L Y_1;\ T_p\,\mathrm{up}(u_2)]\bigr).

The three decoders start from the same VCA endmembers :math:`E_0`. Training minimises

.. math::

    \sum_{s=1}^3 \mathrm{SAD}(Y_s, \hat Y_s) + \alpha\sum_{s=1}^3 \mathrm{MSE}(Y_s, \hat Y_s)
    + \beta\,\bigl[\mathcal E(A_2, A_3) + \mathcal E(A_1, A_2)\bigr]

with :math:`\mathrm{SAD}` the mean spectral angle (radians) between the pixels of :math:`Y_s` and
:math:`\hat Y_s`, :math:`\mathrm{MSE}` the mean squared error, and the edge-consistency term
:math:`\mathcal E(A_f, A_c) = \mathrm{mean}\sqrt{(\Delta\,\mathrm{avg}_{2\times2}(A_f) - \Delta A_c)^2
+ \epsilon^2}` (Charbonnier, :math:`\epsilon = 10^{-3}`) between the Laplacian-pyramid details
:math:`\Delta X = X - G(4\,\mathrm{up}_0(\mathrm{down}_2(G X)))` of a finer map (pooled) and of the
coarser one (:math:`G` the separable 5-tap Gaussian ``[.05, .25, .4, .25, .05]`` with replicate
padding, :math:`\mathrm{down}_2` keeping every other pixel and :math:`\mathrm{up}_0` putting them
back between zeros); the cosine inside :math:`\mathrm{SAD}` is clipped to
:math:`[-1 + 10^{-7}, 1 - 10^{-7}]` (a pixel reconstructed to within 0.026 degrees would otherwise
give an infinite gradient: NaN in the reference). Optimiser: Adam (``lr``, L2 ``weight_decay`` on
every parameter) with the learning rate multiplied by ``gamma`` every ``step_size`` epochs; one
epoch = one step on the whole image. The returned abundances are :math:`A_1` of the trained
network in evaluation mode (dropout off, batch-norm running statistics), the endmembers the
weights of the finest decoder :math:`E_1` (not constrained to be nonnegative, as in the
reference).

Implementation notes:

* The three decoders are separate parameters initialised with copies of :math:`E_0`, as in the
  authors' code. HySUPP assigns the *same* tensor to the three decoder weights, so they alias one
  matrix that receives the three decoders' Adam updates every step; ``tie_decoders=True``
  reproduces that (benchmarks/bench_nets2.py reports both against HySUPP).
* The shared ``1x1`` mixing :math:`T_L` (weights :math:`T`, bias :math:`b`) is folded into the first
  ``3x3`` convolution of stages 1 and 2: with that convolution's kernel split as
  :math:`[K_a\ K_b]` over :math:`[T_LY_s;\ t]`, :math:`K_a * (TY_s + b) = (K_aT) * Y_s +
  K_a * (b\,\mathbf 1)` (zero padding: the second term is a one-channel convolution of the
  indicator of the image). Same function and same gradients for every parameter, but the
  ``(L+p) -> 96`` input-gradient convolution and the ``L x L`` mixing at full and half resolution
  disappear (the per-iteration gain on CPU is in benchmarks/results/nets2.json).

Defaults are HySUPP's ``config/model/MSNet.yaml`` (800 epochs, lr 1e-3, alpha 0.1, beta 0.03,
dropout 0.2, weight decay 1e-4, StepLR 30 / 0.6); with that schedule the learning rate has fallen
below 1% of its initial value after 300 epochs (the authors' Samson script uses lr 0.03 and weight
decay 1e-3 with Kaiming-normal convolution weights; HySUPP's setting is the reference here). Layers
are created in the reference's order after seeding, so with the same seed and the same initial
endmembers the initial weights and dropout masks are HySUPP's.

Reference: Y. Yu, Y. Ma, X. Mei, F. Fan, J. Huang, H. Li, "Multi-stage convolutional autoencoder
network for hyperspectral unmixing", Int. J. Appl. Earth Obs. Geoinf. 113, 102981, 2022,
doi:10.1016/j.jag.2022.102981 (authors' code: github.com/yuyang95/JAG-MSNet).

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.blind.msnet import MSNet
>>> rng = np.random.default_rng(0)
>>> E = rng.random((12, 3)); A = rng.dirichlet(np.ones(3), 64).T
>>> res = MSNet(epochs=2, device="cpu").unmix(E @ A, 3, image_shape=(8, 8))
>>> res.abundances.shape, res.endmembers.shape
((3, 64), (12, 3))
>>> bool(np.allclose(res.abundances.sum(axis=0), 1, atol=1e-5))
True
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import ParameterError
from hysupp.methods.base import BlindUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.nn.training import (
    LossHistory,
    fit,
    fused_adam,
    make_optimizer,
    run_params,
    to_numpy,
    to_tensor,
    torch_session,
)
from hysupp.unmixing.blind.admmnet import vca_init

__all__ = ["MSNet", "msnet_train"]

#: separable Gaussian of the Laplacian pyramid (Burt & Adelson's a = 0.4 kernel)
_GAUSS_TAPS = (0.05, 0.25, 0.40, 0.25, 0.05)
#: Charbonnier epsilon of the edge loss
_CHARBONNIER_EPS = 1e-3
#: acos is not differentiable at +-1: a pixel reconstructed to within 0.026 degrees (cos > 1 - 1e-7)
#: contributes no gradient instead of an infinite one (the reference gives NaN there)
_COS_CLAMP = 1e-7
_HIDDEN = (96, 48)
_LEAKY_SLOPE = 0.2


def _build(L: int, p: int, drop_out: float) -> Any:
    """The MSNet modules, created in the reference's order (so a seed gives its initial weights)."""
    from torch import nn

    def stage(c_in: int) -> Any:
        h1, h2 = _HIDDEN
        return nn.Sequential(
            nn.Conv2d(c_in, h1, 3, padding=1), nn.LeakyReLU(_LEAKY_SLOPE), nn.BatchNorm2d(h1), nn.Dropout(drop_out),
            nn.Conv2d(h1, h2, 3, padding=1), nn.LeakyReLU(_LEAKY_SLOPE), nn.BatchNorm2d(h2), nn.Dropout(drop_out),
            nn.Conv2d(h2, p, 3, padding=1))

    net = nn.Module()
    net.stage1 = stage(L + p)
    net.stage2 = stage(L + p)
    net.stage3 = stage(L)
    net.mix_p = nn.Conv2d(p, p, 1)            # T_p: shared 1x1 conv on the upsampled coarser logits
    net.mix_L = nn.Conv2d(L, L, 1)            # T_L: shared 1x1 conv on the stage input
    net.dec1 = nn.Conv2d(p, L, 1, bias=False)
    net.dec2 = nn.Conv2d(p, L, 1, bias=False)
    net.dec3 = nn.Conv2d(p, L, 1, bias=False)
    return net


def msnet_train(Y: np.ndarray, E0: np.ndarray, image_shape: tuple[int, int], *, epochs: int = 800,
                alpha: float = 0.1, beta: float = 0.03, drop_out: float = 0.2, lr: float = 1e-3,
                weight_decay: float = 1e-4, step_size: int = 30, gamma: float = 0.6, seed: int = 0,
                device: str = "auto", dtype: str = "float32", history_every: int = 50,
                tie_decoders: bool = False, fold: bool = True) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Train MSNet on ``Y`` ``(L, H*W)`` (row-major image) from the endmembers ``E0`` ``(L, p)``.

    Returns ``(E, A, info)``: the finest decoder's endmembers ``(L, p)``, the abundances ``(p, N)``
    of the trained network in evaluation mode and the training info. ``tie_decoders``: HySUPP's
    variant (module notes). ``fold=False`` evaluates the ``T_L`` mixing as a separate convolution
    (same function and gradients; kept for verification).
    """
    t0 = time.perf_counter()
    L, N = Y.shape
    p = E0.shape[1]
    H, W = (int(v) for v in image_shape)
    with torch_session(device=device, dtype=dtype, seed=seed) as s:
        torch = s.torch
        F = torch.nn.functional
        net = _build(L, p, drop_out).to(device=s.device, dtype=s.dtype)
        E0t = to_tensor(np.asarray(E0)[:, :, None, None], s)
        with torch.no_grad():
            for dec in (net.dec1, net.dec2, net.dec3):
                dec.weight.copy_(E0t)
        if tie_decoders:    # HySUPP: the three decoder parameters alias one tensor
            net.dec2.weight.data = net.dec1.weight.data
            net.dec3.weight.data = net.dec1.weight.data
        Yt = to_tensor(np.asarray(Y).reshape(1, L, H, W), s)
        Y2 = F.avg_pool2d(Yt, 2, 2, ceil_mode=True)
        Y3 = F.avg_pool2d(Yt, 4, 4, ceil_mode=True)
        g = torch.tensor(_GAUSS_TAPS, dtype=s.dtype, device=s.device)
        gauss = torch.outer(g, g).expand(p, 1, 5, 5).contiguous()
        size2 = (int(Y2.shape[2]), int(Y2.shape[3]))

        ones = {size: torch.ones((1, 1) + size, dtype=s.dtype, device=s.device) for size in (size2, (H, W))}

        def stage_in(stage: Any, Ys: Any, t: Any) -> Any:
            """``stage(cat(T_L Ys, t))`` with T_L folded into the first convolution (see module notes)."""
            if not fold:
                return stage(torch.cat((net.mix_L(Ys), t), 1))
            conv = stage[0]
            Wa, Wb = conv.weight[:, :L], conv.weight[:, L:]
            T = net.mix_L.weight[:, :, 0, 0]                               # (L, L): T_L
            Kc = torch.einsum("ocij,cd->odij", Wa, T)                     # conv(Wa, T_L y) = conv(Wa T_L, y)
            Kb = torch.einsum("ocij,c->oij", Wa, net.mix_L.bias)[:, None]  # conv(Wa, b_L 1), zero padding
            h = (F.conv2d(Ys, Kc, conv.bias, padding=1) + F.conv2d(ones[tuple(Ys.shape[2:])], Kb, padding=1)
                 + F.conv2d(t, Wb, padding=1))
            return stage[1:](h.contiguous())

        def forward() -> tuple[Any, ...]:
            u3 = net.stage3(Y3)
            A3 = torch.softmax(u3, dim=1)
            t3 = net.mix_p(F.interpolate(u3, size2, mode="bilinear"))
            u2 = stage_in(net.stage2, Y2, t3)
            A2 = torch.softmax(u2, dim=1)
            t2 = net.mix_p(F.interpolate(u2, (H, W), mode="bilinear"))
            u1 = stage_in(net.stage1, Yt, t2)
            A1 = torch.softmax(u1, dim=1)
            return A1, A2, A3

        def blur(x: Any) -> Any:
            return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), gauss, groups=p)

        def detail(x: Any) -> Any:
            low = blur(x)
            up = torch.zeros_like(low)
            up[:, :, ::2, ::2] = 4 * low[:, :, ::2, ::2]
            return x - blur(up)

        def edge(fine: Any, coarse: Any) -> Any:
            diff = detail(F.avg_pool2d(fine, 2, 2, ceil_mode=True)) - detail(coarse)
            return torch.sqrt(diff * diff + _CHARBONNIER_EPS ** 2).mean()

        # pixel norms of the (constant) targets, once: the cosine needs only <y, y_hat> and |y_hat|
        norms = {id(T): torch.linalg.vector_norm(T, dim=1) for T in (Yt, Y2, Y3)}

        def sad(Yr: Any, Yh: Any) -> Any:
            den = (norms[id(Yr)] * torch.linalg.vector_norm(Yh, dim=1)).clamp_min(1e-8)
            cos = ((Yr * Yh).sum(dim=1) / den).clamp(-1.0 + _COS_CLAMP, 1.0 - _COS_CLAMP)
            return torch.acos(cos).mean()

        def closure(k: int) -> tuple[Any, None]:
            A1, A2, A3 = forward()
            R1, R2, R3 = net.dec1(A1), net.dec2(A2), net.dec3(A3)
            loss = (sad(Yt, R1) + sad(Y2, R2) + sad(Y3, R3)
                    + alpha * (F.mse_loss(R1, Yt) + F.mse_loss(R2, Y2) + F.mse_loss(R3, Y3))
                    + beta * (edge(A2, A3) + edge(A1, A2)))
            return loss, None

        # the aliased decoders are updated one after the other, as by torch's per-tensor Adam loop
        opt = make_optimizer(net.parameters(), "adam", lr=lr, weight_decay=weight_decay,
                             **({"foreach": False} if tie_decoders else fused_adam(s)))
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma)
        net.train()
        res = fit(closure, opt, epochs, post_step=lambda k: sched.step(),
                  history=LossHistory(every=int(history_every), method="MSNet"))
        net.eval()
        with torch.no_grad():
            A1 = forward()[0]
        A = to_numpy(A1).reshape(p, N).copy()
        E = to_numpy(net.dec1.weight).reshape(L, p).copy()
        info = {**res.info(), **s.info(), "final_lr": float(opt.param_groups[0]["lr"]),
                "wall_time": time.perf_counter() - t0}
    return E, A, info


@register
class MSNet(BlindUnmixer):
    r"""MSNet: three-scale convolutional autoencoder (coarse-to-fine stages, softmax abundances).

    Minimises :math:`\sum_s \mathrm{SAD}(Y_s, E_sA_s) + \alpha\sum_s\mathrm{MSE}(Y_s, E_sA_s) +
    \beta\,[\mathcal E(A_2, A_3) + \mathcal E(A_1, A_2)]` over the weights of the three stages and
    decoders (:mod:`hysupp.unmixing.blind.msnet` gives the architecture and the terms); the
    decoders start from VCA endmembers.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> E = rng.random((10, 2)); Y = E @ rng.dirichlet([1, 1], 100).T
    >>> res = MSNet(epochs=3, device="cpu").unmix(Y, 2, image_shape=(10, 10))
    >>> res.info["iterations"]
    3
    """

    name: ClassVar[str] = "MSNet"
    stochastic: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"epochs": 2}
    spatial: ClassVar[bool] = True
    reference: ClassVar[str] = ("Y. Yu, Y. Ma, X. Mei, F. Fan, J. Huang, H. Li, Multi-stage convolutional "
                                "autoencoder network for hyperspectral unmixing, Int. J. Appl. Earth Obs. Geoinf. "
                                "113, 2022, doi:10.1016/j.jag.2022.102981")
    params: ClassVar[tuple[Param, ...]] = (
        Param("epochs", int, 800, "training iterations (one step on the whole image each; HySUPP: 800); "
              "lower it for quick runs", low=1),
        Param("lr", float, 1e-3, "Adam learning rate (HySUPP config; its class default is 0.03)", low=0.0,
              low_open=True),
        Param("alpha", float, 0.1, "weight of the MSE reconstruction terms", low=0.0),
        Param("beta", float, 0.03, "weight of the cross-scale edge (Laplacian) terms", low=0.0),
        Param("drop_out", float, 0.2, "dropout rate of the encoder stages", low=0.0, high=0.99),
        Param("weight_decay", float, 1e-4, "Adam L2 weight decay on every parameter", low=0.0),
        Param("step_size", int, 30, "epochs between learning-rate decays (StepLR)", low=1),
        Param("gamma", float, 0.6, "learning-rate decay factor (StepLR)", low=0.0, high=1.0),
        Param("tie_decoders", bool, False, "reproduce HySUPP's implementation, whose three decoders alias one "
              "tensor (three Adam updates of the same endmembers per step); the authors' code keeps them apart"),
        Param("init", str, "vca", "endmember initialisation of the decoders", choices=("vca",)),
    ) + run_params(history_every=50)

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        c = self.config
        H, W = image_shape
        if min(H, W) < 2:
            raise ParameterError(f"{self.name}: the image must be at least 2 x 2 pixels, got {H} x {W}")
        t0 = time.perf_counter()
        E0 = vca_init(Y, p, c["seed"])
        t_init = time.perf_counter() - t0
        E, A, info = msnet_train(
            Y, E0, (H, W), epochs=c["epochs"], alpha=c["alpha"], beta=c["beta"], drop_out=c["drop_out"],
            lr=c["lr"], weight_decay=c["weight_decay"], step_size=c["step_size"], gamma=c["gamma"],
            seed=c["seed"], device=c["device"], dtype=c["dtype"], history_every=c["history_every"],
            tie_decoders=c["tie_decoders"])
        info.update(init=c["init"], init_time=t_init)
        return UnmixingResult(abundances=A, endmembers=E, info=info)

