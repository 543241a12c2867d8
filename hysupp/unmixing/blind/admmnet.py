r"""ADMMNet: blind unmixing with an autoencoder whose encoder is unrolled ADMM (Zhou & Rodrigues, 2022).

The encoder unrolls ``K`` iterations of ADMM for the nonnegative sparse regression of a pixel
:math:`y \in \mathbb{R}^L` on the endmembers :math:`E \in \mathbb{R}^{L \times p}`,

.. math::

    \min_{x}\ \tfrac12\lVert y - Ex\rVert_2^2 + \lambda\lVert z\rVert_1 + \iota_{\ge 0}(z)
    \quad\text{s.t.}\quad x = z,

whose iterations (scaled dual :math:`d`, penalty :math:`\mu`) are

.. math::

    x^{k+1} &= (E^\top E + \mu I)^{-1}E^\top y + \mu(E^\top E + \mu I)^{-1}(z^k + d^k)
             = W_k\,y + B_k\,(z^k + d^k) \\
    z^{k+1} &= \max(x^{k+1} - d^k - \theta_k,\ 0) \\
    d^{k+1} &= d^k - \eta_k\,(x^{k+1} - z^{k+1})

from :math:`z^0 = d^0 = 0`. In the network every block ``k`` has its own learnable
:math:`W_k` ``(p, L)``, :math:`B_k` ``(p, p)``, per-endmember thresholds :math:`\theta_k` ``(p,)``
and dual step :math:`\eta_k` (``tied=True`` shares one set across blocks), initialised at the ADMM
values :math:`W = (E_0^\top E_0 + \mu I)^{-1}E_0^\top`, :math:`B = \mu(E_0^\top E_0 + \mu I)^{-1}`,
:math:`\theta = \lambda/\mu`, :math:`\eta = 1` with :math:`E_0` the VCA endmembers. The abundances
are the last :math:`z` normalised to sum to one, :math:`a = z / (\mathbf 1^\top z + 10^{-10})`, and
the decoder is linear, :math:`\hat y = E a`, with :math:`E` initialised at :math:`E_0`. Training
minimises the mean squared reconstruction error over mini-batches of pixels,

.. math::

    \min_{E,\ \{W_k, B_k, \theta_k, \eta_k\}}\ \frac{1}{|b|\,L}\sum_{i \in b}\lVert y_i - E\,a_i\rVert_2^2,
    \qquad E \leftarrow \mathrm{clip}_{[0, 1]}(E)\ \text{after every step},

with Adam (``lr``), ``epochs`` passes over the shuffled pixels in batches of ``batch_size`` (the last
batch of an epoch may be smaller). The returned endmembers are :math:`E`, the abundances those of
the trained encoder on every pixel. A pixel whose last :math:`z` is all zero gets zero abundances
(as in the reference); ``info["zero_abundance_pixels"]`` counts them.

Implementation notes (results identical to the reference formulation):

* The first block's :math:`B_1(z^0 + d^0)` term is zero and the last block's dual update does not
  reach the output, so neither is computed (their gradients are zero, Adam leaves them unchanged).
* The network is written as a few tensor operations on raw parameters (no ``nn.Module``/
  ``DataLoader``): each epoch gathers the permuted pixels once and the batches are contiguous
  slices. The gradients come from a hand-written backward pass through the unrolled blocks
  (:math:`a = z/s`: :math:`\bar z = (\bar a - \langle\bar a, a\rangle\mathbf 1)/s`; ReLU masks;
  the dual recursion) instead of autograd, and Adam runs fused: on these ``(64, p)`` tensors the
  per-step cost is kernel launches, and this halves it. ``admmnet_train(..., autograd=True)`` runs
  the same training with autograd (the tests check both agree to 1e-12 in float64).

Defaults are HySUPP's ``config/model/ADMMNet.yaml`` (lr 1e-4, batch 64, 300 epochs, 2 blocks,
lambda 1e-3, mu 1e-2, untied).

Reference: C. Zhou, M. R. D. Rodrigues, "ADMM-based hyperspectral unmixing networks for abundance
and endmember estimation", IEEE TGRS 60, 2022, doi:10.1109/TGRS.2021.3136336.

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.blind.admmnet import ADMMNet
>>> rng = np.random.default_rng(0)
>>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 100).T
>>> res = ADMMNet(epochs=2, device="cpu").unmix(E @ A, 3)
>>> res.abundances.shape, res.endmembers.shape
((3, 100), (20, 3))
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

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
from hysupp.progress import tracker

__all__ = ["ADMMNet", "admmnet_train"]

#: the reference's guard in the sum-to-one normalisation
_EPS = 1e-10


def vca_init(Y: np.ndarray, p: int, seed: int) -> np.ndarray:
    """VCA endmembers ``(L, p)`` (the registered extractor), the initialisation of the networks."""
    from hysupp.methods.registry import get_method

    return np.asarray(get_method("VCA", "extractor")(seed=seed).extract(Y, p).endmembers)


def admmnet_train(Y: np.ndarray, E0: np.ndarray, *, epochs: int = 300, lr: float = 1e-4, batch_size: int = 64,
                  nblocks: int = 2, lambd: float = 1e-3, mu: float = 1e-2, tied: bool = False,
                  eta_init: float = 1.0, seed: int = 0, device: str = "auto", dtype: str = "float32",
                  history_every: int = 100, autograd: bool = False,
                  on_epoch: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Train ADMMNet on the pixels ``Y`` ``(L, N)`` from the initial endmembers ``E0`` ``(L, p)``.

    ``autograd=True`` computes the gradients with torch's autograd instead of the hand-written
    backward pass (same values up to rounding; kept for verification). ``on_epoch(e)`` is called
    after the last step of every epoch ``e`` (progress reports, timing).

    Returns ``(E, A, info)``: endmembers ``(L, p)``, abundances ``(p, N)`` and the training info
    (loss history every ``history_every`` steps, steps, wall time, device, dtype, seed).
    """
    t0 = time.perf_counter()
    N = Y.shape[1]
    p = E0.shape[1]
    with torch_session(device=device, dtype=dtype, seed=seed) as s:
        torch = s.torch
        Yt = to_tensor(np.asarray(Y).T, s)                       # (N, L): pixels as rows
        E0d = np.asarray(E0, dtype=np.float64)
        M = E0d.T @ E0d + mu * np.eye(p)
        W0 = np.linalg.solve(M, E0d.T)                           # (p, L)
        B0 = np.linalg.solve(M, mu * np.eye(p))                  # (p, p)

        def new(value: Any) -> Any:
            return to_tensor(value, s).clone().requires_grad_(True)   # never the caller's memory

        n_sets = 1 if tied else nblocks
        Ws = [new(W0) for _ in range(n_sets)]
        Bs = [new(B0) for _ in range(n_sets)]
        thetas = [new(np.full(p, lambd / mu)) for _ in range(n_sets)]
        etas = [new(np.full(1, eta_init)) for _ in range(n_sets)]
        E = new(E0d)                                             # decoder (L, p)
        blocks = [(Ws[k % n_sets], Bs[k % n_sets], thetas[k % n_sets], etas[k % n_sets]) for k in range(nblocks)]
        # parameters that can receive a gradient (B_1 and the last eta never do: see module notes)
        params = [E] + Ws + thetas + [b for k, (_, b, _, _) in enumerate(blocks) if k > 0] + \
            [e for k, (_, _, _, e) in enumerate(blocks) if k < nblocks - 1]
        params = list({id(t): t for t in params}.values())
        opt = make_optimizer(params, "adam", lr=lr, **fused_adam(s))

        def encode(y: Any) -> Any:
            z = d = None
            for k, (Wk, Bk, th, eta) in enumerate(blocks):
                x = y @ Wk.T if k == 0 else torch.addmm(y @ Wk.T, z + d, Bk.T)
                xd = x if d is None else x - d
                z = torch.relu(xd - th)
                if k < nblocks - 1:
                    d = -eta * (x - z) if d is None else d - eta * (x - z)
            return z / (z.sum(dim=1, keepdim=True) + _EPS)

        def step_manual(yb: Any) -> Any:
            """Loss of the batch ``yb`` (b, L) with every parameter's ``.grad`` set by the hand-written
            backward pass of the unrolled network (same values as autograd, a third of the kernels)."""
            xs, zs, ds, ms = [], [], [], []
            z = d = None
            for k, (Wk, Bk, th, eta) in enumerate(blocks):
                x = yb @ Wk.T if k == 0 else torch.addmm(yb @ Wk.T, z + d, Bk.T)
                v = x - th if d is None else x - d - th
                m = v > 0
                z = v * m
                xs.append(x)
                zs.append(z)
                ds.append(d)
                ms.append(m)
                if k < nblocks - 1:
                    d = -eta * (x - z) if d is None else d - eta * (x - z)
            S = z.sum(dim=1, keepdim=True) + _EPS
            a = z / S
            r = a @ E.T - yb                                        # (b, L) residual
            loss = (r * r).mean()
            g_out = r * (2.0 / r.numel())
            grads: dict[int, Any] = {}

            def acc(t: Any, g: Any) -> None:
                if id(t) in grads:
                    grads[id(t)] = grads[id(t)] + g
                else:
                    grads[id(t)] = g

            acc(E, g_out.T @ a)
            g_a = g_out @ E
            gz = (g_a - (g_a * a).sum(dim=1, keepdim=True)) / S     # through a = z / S
            gd = None
            for k in range(nblocks - 1, -1, -1):
                Wk, Bk, th, eta = blocks[k]
                x, zk, dprev, m = xs[k], zs[k], ds[k], ms[k]
                gx = None
                if gd is not None:                                  # d_k = d_{k-1} - eta (x_k - z_k)
                    acc(eta, -(gd * (x - zk)).sum().reshape(1))
                    gx = -eta * gd
                    gz = gz + eta * gd
                gv = gz * m                                         # z_k = relu(v_k)
                gx = gv if gx is None else gx + gv
                acc(th, -gv.sum(dim=0))
                acc(Wk, gx.T @ yb)                                  # x_k = W_k y + B_k (z_{k-1} + d_{k-1})
                if k == 0:
                    break
                gd = (gd if gd is not None else 0) - gv             # v_k = x_k - d_{k-1} - theta_k
                zprev = zs[k - 1]
                acc(Bk, gx.T @ (zprev + dprev) if dprev is not None else gx.T @ zprev)
                gs = gx @ Bk
                gz = gs
                gd = gd + gs
            for t in params:
                t.grad = grads.get(id(t))
            return loss

        n_batches = math.ceil(N / batch_size)
        state: dict[str, Any] = {}

        def batch(k: int) -> Any:
            b = k % n_batches
            if b == 0:
                state["Y"] = Yt[torch.randperm(N, generator=s.generator).to(s.device)]
            return state["Y"][b * batch_size:(b + 1) * batch_size]

        def closure(k: int) -> tuple[Any, None]:
            yb = batch(k)
            out = encode(yb) @ E.T
            return torch.mean((yb - out) ** 2), None

        def clamp(k: int) -> None:
            E.clamp_(0.0, 1.0)
            if on_epoch is not None and k % n_batches == n_batches - 1:
                on_epoch(k // n_batches)

        n_steps = epochs * n_batches
        if autograd:
            res = fit(closure, opt, n_steps, post_step=clamp,
                      history=LossHistory(every=int(history_every), method="ADMMNet"))
            fit_info = res.info()
        else:
            hist = LossHistory(every=int(history_every), method="ADMMNet")
            t_fit = time.perf_counter()
            with torch.no_grad(), tracker("ADMMNet", total=n_steps) as bar:
                for k in range(n_steps):
                    loss = step_manual(batch(k))
                    if hist.due(k, n_steps):
                        hist.record(k, loss)
                    opt.step()
                    clamp(k)
                    bar.update(k + 1, loss=lambda loss=loss: float(loss))
            fit_info = {"iterations": n_steps, "wall_time": time.perf_counter() - t_fit, **hist.as_info()}
        with torch.no_grad():
            A = encode(Yt)
        A_np = np.ascontiguousarray(to_numpy(A).T)
        E_np = to_numpy(E).copy()
        info = {**fit_info, "epochs": epochs, "steps_per_epoch": n_batches, **s.info(),
                "zero_abundance_pixels": int((A_np.sum(axis=0) == 0).sum()),
                "wall_time": time.perf_counter() - t0}
    return E_np, A_np, info


@register
class ADMMNet(BlindUnmixer):
    r"""ADMMNet: autoencoder with an unrolled-ADMM encoder and a linear, [0, 1]-clipped decoder.

    Minimises the mean squared reconstruction error
    :math:`\frac{1}{|b|L}\sum_{i\in b}\lVert y_i - E\,a(y_i)\rVert^2` over mini-batches, where the
    abundances :math:`a(y) = z_K / \mathbf 1^\top z_K` come from ``nblocks`` learnable ADMM
    iterations for :math:`\min_x \tfrac12\lVert y - E_0x\rVert^2 + \lambda\lVert x\rVert_1,\ x \ge 0`
    (see :mod:`hysupp.unmixing.blind.admmnet`); :math:`E` and the encoder are initialised from VCA.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> E = rng.random((15, 3)); Y = E @ rng.dirichlet(np.ones(3), 64).T
    >>> res = ADMMNet(epochs=3, device="cpu", seed=2).unmix(Y, 3)
    >>> bool(res.endmembers.min() >= 0 and res.endmembers.max() <= 1)
    True
    """

    name: ClassVar[str] = "ADMMNet"
    stochastic: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"epochs": 2, "batch_size": 32}
    spatial: ClassVar[bool] = False
    reference: ClassVar[str] = ("C. Zhou, M. R. D. Rodrigues, ADMM-based hyperspectral unmixing networks for "
                                "abundance and endmember estimation, IEEE TGRS 60, 2022, "
                                "doi:10.1109/TGRS.2021.3136336")
    params: ClassVar[tuple[Param, ...]] = (
        Param("epochs", int, 300, "passes over the shuffled pixels (HySUPP: 300); lower it for quick runs", low=1),
        Param("lr", float, 1e-4, "Adam learning rate", low=0.0, low_open=True),
        Param("batch_size", int, 64, "pixels per mini-batch", low=1),
        Param("nblocks", int, 2, "unrolled ADMM iterations (network blocks)", low=1),
        Param("lambd", float, 1e-3, "sparsity weight lambda (initial threshold theta = lambd / mu)", low=0.0),
        Param("mu", float, 1e-2, "ADMM penalty mu of the initialisation", low=0.0, low_open=True),
        Param("tied", bool, False, "share the block parameters across the unrolled iterations"),
        Param("eta_init", float, 1.0, "initial dual step eta of every block"),
        Param("init", str, "vca", "endmember initialisation", choices=("vca",)),
    ) + run_params(history_every=1000)

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        c = self.config
        t0 = time.perf_counter()
        E0 = vca_init(Y, p, c["seed"])
        t_init = time.perf_counter() - t0
        E, A, info = admmnet_train(
            Y, E0, epochs=c["epochs"], lr=c["lr"], batch_size=c["batch_size"], nblocks=c["nblocks"],
            lambd=c["lambd"], mu=c["mu"], tied=c["tied"], eta_init=c["eta_init"], seed=c["seed"],
            device=c["device"], dtype=c["dtype"], history_every=c["history_every"])
        info.update(init=c["init"], init_time=t_init)
        return UnmixingResult(abundances=A, endmembers=E, info=info)
