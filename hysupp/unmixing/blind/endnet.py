r"""EndNet: sparse autoencoder network for endmember extraction and unmixing (Ozkan et al., 2019).

A pixel-wise autoencoder (no biases anywhere, so no constant term can act as an extra endmember).
For a pixel :math:`x \in \mathbb{R}^L`:

* **Input corruption** (training only, denoising autoencoder): :math:`\tilde x = x + m \odot n`,
  :math:`n \sim \mathcal N(0, \sigma^2 I)` (``noise_std``), :math:`m` a Bernoulli mask hitting a
  fraction ``noise_fraction`` of the entries.
* **Encoder with the SAD projection**: the inner product of a dense layer is replaced by the
  normalised spectral-angle similarity to the columns :math:`w_k` of :math:`W^{(e)}`
  ``(L, p)``, :math:`h_k = C(\tilde x, w_k)`, :math:`C(u, v) = 1 - \angle(u, v)/\pi \in [0, 1]`;
  then batch normalisation without scale and with a learnable shift :math:`\rho`,
  :math:`(h - \mu_b)/\sqrt{\sigma_b^2 + \epsilon} + \rho`, dropout (``dropout_rate``) and ReLU.
* **Abundances**: the sum-to-one normalisation :math:`a = h / (\mathbf 1^\top h + 10^{-7})`.
* **Decoder**: linear, :math:`\hat x = W^{(d)} a` with :math:`W^{(d)} \ge 0` (projected after every
  step); :math:`W^{(d)}` are the endmembers.

Both :math:`W^{(e)}` and :math:`W^{(d)}` start from the VCA endmembers. The loss over a mini-batch
(mean over its pixels) combines the squared error with a Kullback-Leibler term between a perfect
match and the SAD similarity of input and reconstruction,
:math:`D_{\mathrm{KL}}(1 \Vert C(x, \hat x)) = -\log C(x, \hat x)`:

.. math::

    \mathcal L = \frac{\lambda_0}{2}\,\frac{\lVert x - \hat x\rVert_2^2}{L}
        - \lambda_1 \log C(x, \hat x) + \lambda_2\lVert h\rVert_1
        + \gamma\,\bigl(\lVert W^{(e)}\rVert_F^2 + \lVert W^{(d)}\rVert_F^2 + \lVert\rho\rVert_2^2\bigr)

(:math:`\gamma` = ``weight_decay``). Training uses ``num_spectra`` pixels drawn at random from the
image, ``epochs`` shuffled passes in batches of ``batch_size`` and Adam with
:math:`\beta_1` = ``lr_beta_1``. The returned abundances are those of the trained encoder on
every pixel without corruption or dropout. Batch normalisation then uses the mean and variance
of the whole (clean) image (``bn_eval="image"``, the default: the batch statistics of the paper's
formula, computed on the data being unmixed) or the running averages of the training batches
(``bn_eval="running"``, momentum 0.01 and :math:`\epsilon = 10^{-3}` as Keras; on Samson these
averages describe the *corrupted* inputs, and the abundances come out much worse: SRE 5.5 dB
against 11.4 dB). A pixel whose activations are all zero gets zero abundances
(``info["zero_abundance_pixels"]`` counts them).

Defaults: HySUPP's ``config/model/EndNet.yaml`` (4000 spectra, batch 64, lr 1e-3, 40 epochs,
lambda0 0.01, lambda1 50, weight decay 1e-5, noise std 0.3, dropout 0.1, Adam beta1 0.7); HySUPP
ships no implementation, so the rest follows the paper's description (SAD projection, zero-bias
layers, shifted batch normalisation, KL-SAD loss with sparsity and weight penalties). The
corruption mask fraction (0.6) and ``lambda2 = 0`` follow the Keras re-implementation in Palsson et
al.'s autoencoder comparison (IEEE JSTARS 2022), from which HySUPP's defaults come; that
re-implementation also keeps only the two largest activations per pixel, which this one does not.

Reference: S. Ozkan, B. Kaya, G. B. Akar, "EndNet: Sparse autoencoder network for endmember
extraction and hyperspectral unmixing", IEEE TGRS 57(1), 482-496, 2019,
doi:10.1109/TGRS.2018.2856929.

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.blind.endnet import EndNet
>>> rng = np.random.default_rng(0)
>>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 300).T
>>> res = EndNet(epochs=2, num_spectra=256, device="cpu").unmix(E @ A, 3)
>>> res.abundances.shape, res.endmembers.shape, bool(res.endmembers.min() >= 0)
((3, 300), (20, 3), True)
"""

from __future__ import annotations

import math
import time
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
from hysupp.unmixing.blind.admmnet import vca_init

__all__ = ["EndNet", "endnet_train"]

_EPS_SUM = 1e-7          # guard of the sum-to-one normalisation (Keras epsilon)
_BN_EPS = 1e-3           # Keras BatchNormalization defaults
_BN_MOMENTUM = 0.01      # torch convention: running = (1 - m) running + m batch (Keras momentum 0.99)
_COS_CLAMP = 1e-6        # keeps acos differentiable at perfect (anti-)alignment


def endnet_train(Y: np.ndarray, E0: np.ndarray, *, num_spectra: int = 4000, batch_size: int = 64,
                 lr: float = 1e-3, epochs: int = 40, lambda0: float = 0.01, lambda1: float = 50.0,
                 lambda2: float = 0.0, weight_decay: float = 1e-5, noise_std: float = 0.3,
                 noise_fraction: float = 0.6, dropout_rate: float = 0.1, lr_beta_1: float = 0.7,
                 bn_eval: str = "image", seed: int = 0, device: str = "auto", dtype: str = "float32",
                 history_every: int = 100) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Train EndNet on pixels drawn from ``Y`` ``(L, N)`` from the endmembers ``E0`` ``(L, p)``.

    Returns ``(E, A, info)``: endmembers ``(L, p)`` (decoder weights), abundances ``(p, N)`` of all
    pixels and the training info (loss every ``history_every`` steps).
    """
    t0 = time.perf_counter()
    N = Y.shape[1]
    p = E0.shape[1]
    with torch_session(device=device, dtype=dtype, seed=seed) as s:
        torch = s.torch
        F = torch.nn.functional
        gen = s.generator
        Yt = to_tensor(np.asarray(Y).T, s)                                    # (N, L)
        pick = torch.randint(0, N, (int(num_spectra),), generator=gen)
        Xtrain = Yt[pick.to(s.device)]
        We = to_tensor(E0, s).clone().requires_grad_(True)                          # encoder (L, p)
        Wd = to_tensor(E0, s).clone().requires_grad_(True)                          # decoder (L, p)
        rho = torch.zeros(p, dtype=s.dtype, device=s.device, requires_grad=True)
        run_mean = torch.zeros(p, dtype=s.dtype, device=s.device)
        run_var = torch.ones(p, dtype=s.dtype, device=s.device)
        opt = make_optimizer([We, Wd, rho], "adam", lr=lr, betas=(lr_beta_1, 0.999), **fused_adam(s))

        def angle(u: Any, v: Any) -> Any:
            """Spectral angles between the rows of ``u`` (b, L) and the columns of ``v`` (L, k)."""
            cos = F.normalize(u, dim=1) @ F.normalize(v, dim=0)
            return torch.acos(cos.clamp(-1 + _COS_CLAMP, 1 - _COS_CLAMP))

        def encode(x: Any, train: bool, batch_stats: bool | None = None) -> Any:
            h = 1.0 - angle(x, We) / math.pi
            bs = train if batch_stats is None else batch_stats
            h = F.batch_norm(h, run_mean if train or not bs else None, run_var if train or not bs else None,
                             training=bs, momentum=_BN_MOMENTUM, eps=_BN_EPS) + rho
            if train and dropout_rate > 0:
                h = F.dropout(h, dropout_rate, training=True)
            return torch.relu(h)

        def abundances(h: Any) -> Any:
            return h / (h.sum(dim=1, keepdim=True) + _EPS_SUM)

        n = Xtrain.shape[0]
        n_batches = math.ceil(n / batch_size)
        state: dict[str, Any] = {}

        def closure(k: int) -> tuple[Any, None]:
            b = k % n_batches
            if b == 0:
                state["X"] = Xtrain[torch.randperm(n, generator=gen).to(s.device)]
            x = state["X"][b * batch_size:(b + 1) * batch_size]
            xin = x
            if noise_std > 0 and noise_fraction > 0:
                noise = torch.randn(x.shape, generator=gen, dtype=s.dtype).to(s.device)
                mask = (torch.rand(x.shape, generator=gen, dtype=s.dtype) < noise_fraction).to(s.device)
                xin = x + noise_std * noise * mask
            h = encode(xin, True)
            xhat = abundances(h) @ Wd.T
            cos_sim = F.cosine_similarity(x, xhat, dim=1).clamp(-1 + _COS_CLAMP, 1 - _COS_CLAMP)
            sim = 1.0 - torch.acos(cos_sim) / math.pi
            loss = (0.5 * lambda0 * torch.mean((x - xhat) ** 2, dim=1) - lambda1 * torch.log(sim)).mean()
            if lambda2 > 0:
                loss = loss + lambda2 * h.abs().sum(dim=1).mean()
            if weight_decay > 0:
                loss = loss + weight_decay * ((We * We).sum() + (Wd * Wd).sum() + (rho * rho).sum())
            return loss, None

        def project(k: int) -> None:
            Wd.clamp_(min=0.0)

        res = fit(closure, opt, epochs * n_batches, post_step=project,
                  history=LossHistory(every=int(history_every), method="EndNet"))
        with torch.no_grad():
            A = abundances(encode(Yt, False, batch_stats=(bn_eval == "image")))
        A_np = np.ascontiguousarray(to_numpy(A).T)
        info = {**res.info(), "epochs": epochs, "steps_per_epoch": n_batches, **s.info(),
                "zero_abundance_pixels": int((A_np.sum(axis=0) == 0).sum()),
                "wall_time": time.perf_counter() - t0}
        E_np = to_numpy(Wd).copy()
    return E_np, A_np, info


@register
class EndNet(BlindUnmixer):
    r"""EndNet: denoising sparse autoencoder with a spectral-angle encoder and a KL-SAD loss.

    Minimises, over mini-batches of image pixels,
    :math:`\tfrac{\lambda_0}{2}\mathrm{MSE}(x, \hat x) - \lambda_1\log(1 - \angle(x, \hat x)/\pi)
    + \lambda_2\lVert h\rVert_1 + \gamma(\lVert W^{(e)}\rVert^2 + \lVert W^{(d)}\rVert^2 +
    \lVert\rho\rVert^2)` with :math:`\hat x = W^{(d)} a(x)`, :math:`W^{(d)} \ge 0` (the endmembers)
    and :math:`a(x)` on the simplex (:mod:`hysupp.unmixing.blind.endnet` gives the network).

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> E = rng.random((15, 3)); Y = E @ rng.dirichlet(np.ones(3), 200).T
    >>> res = EndNet(epochs=1, num_spectra=128, device="cpu").unmix(Y, 3)
    >>> res.info["iterations"], res.info["steps_per_epoch"]
    (2, 2)
    """

    name: ClassVar[str] = "EndNet"
    stochastic: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"epochs": 2, "num_spectra": 64, "batch_size": 32}
    spatial: ClassVar[bool] = False
    reference: ClassVar[str] = ("S. Ozkan, B. Kaya, G. B. Akar, EndNet: Sparse autoencoder network for endmember "
                                "extraction and hyperspectral unmixing, IEEE TGRS 57(1), 2019, "
                                "doi:10.1109/TGRS.2018.2856929")
    params: ClassVar[tuple[Param, ...]] = (
        Param("epochs", int, 40, "passes over the training spectra; lower it for quick runs", low=1),
        Param("num_spectra", int, 4000, "training pixels drawn at random (with replacement) from the image", low=1),
        Param("batch_size", int, 64, "pixels per mini-batch", low=1),
        Param("lr", float, 1e-3, "Adam learning rate", low=0.0, low_open=True),
        Param("lr_beta_1", float, 0.7, "Adam beta1", low=0.0, high=0.999),
        Param("lambda0", float, 0.01, "weight of the squared-error term", low=0.0),
        Param("lambda1", float, 50.0, "weight of the KL (SAD-similarity) term", low=0.0),
        Param("lambda2", float, 0.0, "l1 weight on the hidden activations", low=0.0),
        Param("weight_decay", float, 1e-5, "squared-norm penalty on encoder, decoder and BN shift", low=0.0),
        Param("noise_std", float, 0.3, "std of the Gaussian input corruption (training only)", low=0.0),
        Param("noise_fraction", float, 0.6, "fraction of input entries corrupted", low=0.0, high=1.0),
        Param("dropout_rate", float, 0.1, "dropout rate of the hidden layer", low=0.0, high=0.99),
        Param("bn_eval", str, "image", "batch-norm statistics at inference: of the (clean) image, or the running "
              "averages of the (corrupted) training batches", choices=("image", "running")),
        Param("init", str, "vca", "initialisation of encoder and decoder weights", choices=("vca",)),
    ) + run_params(history_every=100)

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        c = self.config
        t0 = time.perf_counter()
        E0 = vca_init(Y, p, c["seed"])
        t_init = time.perf_counter() - t0
        keys = ("num_spectra", "batch_size", "lr", "epochs", "lambda0", "lambda1", "lambda2", "weight_decay",
                "noise_std", "noise_fraction", "dropout_rate", "lr_beta_1", "bn_eval", "seed", "device", "dtype",
                "history_every")
        E, A, info = endnet_train(Y, E0, **{k: c[k] for k in keys})
        info.update(init=c["init"], init_time=t_init)
        return UnmixingResult(abundances=A, endmembers=E, info=info)
