r"""PGMSU: probabilistic generative model for unmixing with endmember variability (Shi et al. 2022).

Model
-----
Each pixel :math:`y_n \in \mathbb R^L` is generated from its abundances
:math:`a_n \in \Delta_p` and its own endmembers :math:`E_n = f_\psi(z_n) \in [0, 1]^{L\times p}`,
decoded from a low-dimensional latent code :math:`z_n \in \mathbb R^{d}` (``z_dim``):
:math:`y_n \approx E_n a_n`. Two encoders act on the pixel: :math:`a_n = \mathrm{softmax}(h_\phi(y_n))`
and a Gaussian posterior :math:`q(z_n\mid y_n) = \mathcal N(\mu(y_n), \mathrm{diag}\,\sigma^2(y_n))`
(variational autoencoder, prior :math:`\mathcal N(0, I)`). With the reparametrisation
:math:`z_n = \mu + \sigma\odot\varepsilon`, :math:`\varepsilon\sim\mathcal N(0, I)`, the loss of a
batch :math:`\mathcal B` is

.. math::

    \mathcal L = \frac{1}{|\mathcal B|}\sum_n \lVert y_n - E_n a_n\rVert^2
        + \lambda_{KL}\max\Bigl(\tfrac{1}{|\mathcal B|}\sum_n \mathrm{KL}\bigl(q(z_n|y_n)\,\|\,\mathcal N(0, I)\bigr),\ 0.2\Bigr)
        + \mathcal R,

with, during the first half of the epochs (pre-training towards the VCA endmembers :math:`E_0`),
:math:`\mathcal R = \frac{0.1}{|\mathcal B|}\sum_n\lVert E_n - E_0\rVert_F^2`, and afterwards

.. math::

    \mathcal R = \lambda_{vol}\frac{1}{|\mathcal B| p L}\sum_n\lVert E_n - \bar e_n\mathbf 1^\top\rVert_F^2
        + \lambda_{SAD}\frac{1}{|\mathcal B| p}\sum_{n, j}\angle(E_{n,:j}, \bar E_{:j}),

a minimum-volume term (distance of each pixel's endmembers to their centroid :math:`\bar e_n`) and
an optional spectral-angle term tying every pixel's endmember :math:`j` to the batch mean
:math:`\bar E_{:j}`. :math:`\mathrm{KL} = -\tfrac12\sum_i(1 + \log\sigma_i^2 - \mu_i^2 - \sigma_i^2)`.

Networks (as HySUPP's implementation of the authors' code): encoder :math:`z`:
``Linear(L, 32p) BN ReLU - Linear(32p, 16p) BN ReLU - Linear(16p, 4p) BN ReLU -> Linear(4p, d)`` for
:math:`\mu` and for :math:`\log\sigma^2`; encoder :math:`a`:
``Linear(L, 32p) BN ReLU - (16p) BN ReLU - (4p) BN ReLU - (4p) BN ReLU - Linear(4p, p) softmax``;
decoder: ``Linear(d, 4p) BN ReLU - Linear(4p, 64p) BN ReLU - Linear(64p, Lp) sigmoid``. Linear
weights are Xavier-uniform with zero bias; BatchNorm weights :math:`\mathcal N(1, 0.02)`, zero bias.
Adam (learning rate ``lr``), mini-batches of ``N // 10`` pixels reshuffled every epoch.
Reproducibility: the modules are created and re-initialised in HySUPP's order after
``torch.manual_seed(seed)``, and the batch order (:func:`hysupp.nn.training.loader_order`, as a
shuffling ``DataLoader``) and the reparametrisation noise come from torch's global generator in
HySUPP's order, so on CPU with float32 the network follows HySUPP's run with the same seed given
the same initial endmembers. The initial endmembers are VCA's projected pixels (:func:`vca_init`),
drawn as HySUPP's VCA draws them (uniform directions from the same NumPy stream), so both start
from the same pixels for the same seed where the two SVDs agree in sign (they do on Samson; see
``docs/real_scenes.md``).

Output: the network in evaluation mode on all pixels (one draw of :math:`\varepsilon`, as in the
reference): abundances :math:`a_n` (on the simplex) and endmembers the mean
:math:`\frac1N\sum_n E_n` (in :math:`[0, 1]`). Defaults are HySUPP's ``config/model/PGMSU.yaml``:
200 epochs, lr 1e-3, :math:`d = 4`, :math:`\lambda_{KL} = 0.1`, :math:`\lambda_{SAD} = 0`,
:math:`\lambda_{vol} = 0.5`.

Reference: S. Shi, M. Zhao, L. Zhang, Y. Altmann, J. Chen, "Probabilistic Generative Model for
Hyperspectral Unmixing Accounting for Endmember Variability", IEEE TGRS 60, 1-15, 2022,
doi:10.1109/TGRS.2021.3121799 (code: github.com/shuaikaishi/PGMSU).

Example
-------
>>> import numpy as np
>>> from hysupp.unmixing.blind.pgmsu import PGMSU
>>> rng = np.random.default_rng(0)
>>> E = rng.random((20, 3)); A = rng.dirichlet(np.ones(3), 200).T
>>> res = PGMSU(epochs=2, device="cpu").unmix(E @ A, 3)
>>> res.abundances.shape, res.endmembers.shape, res.info["endmember_std"].shape
((3, 200), (20, 3), (20, 3))
"""

from __future__ import annotations

import itertools
import time
from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import BlindUnmixer, UnmixingResult
from hysupp.methods.params import Param
from hysupp.methods.registry import get_method, register
from hysupp.nn.training import LossHistory, loader_order, make_optimizer, run_params, to_numpy, to_tensor, torch_session
from hysupp.progress import tracker

__all__ = ["PGMSU", "vca_init"]

#: floor of the batch-mean KL divergence ("KL balance" of the authors' code)
KL_FLOOR = 0.2


def _build(torch: Any, L: int, p: int, d: int) -> Any:
    nn = torch.nn
    F = torch.nn.functional

    def mlp(sizes: list[int]) -> Any:
        layers: list[Any] = []
        for a, b in itertools.pairwise(sizes):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
        return nn.Sequential(*layers)

    class _Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc_z = mlp([L, 32 * p, 16 * p, 4 * p])
            self.mu = nn.Linear(4 * p, d)
            self.log_var = nn.Linear(4 * p, d)
            self.enc_a = nn.Sequential(mlp([L, 32 * p, 16 * p, 4 * p, 4 * p]), nn.Linear(4 * p, p))
            self.dec = nn.Sequential(mlp([d, 4 * p, 64 * p]), nn.Linear(64 * p, L * p))

        def forward(self, y: Any) -> tuple[Any, Any, Any, Any, Any]:
            h = self.enc_z(y)
            mu, log_var = self.mu(h), self.log_var(h)
            a = F.softmax(self.enc_a(y), dim=1)
            z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
            em = torch.sigmoid(self.dec(z)).view(-1, p, L)          # (B, p, L): rows are endmembers
            y_hat = torch.bmm(a.unsqueeze(1), em).squeeze(1)
            return y_hat, mu, log_var, a, em

    net = _Net()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def vca_init(Y: np.ndarray, p: int, seed: int = 0) -> np.ndarray:
    """The VCA endmembers ``(L, p)`` that PGMSU pre-trains towards: the picked pixels projected on
    the signal subspace, as HySUPP's VCA returns them (``projected=True``)."""
    return get_method("VCA", "extractor")(seed=seed, projected=True).extract(Y, p).endmembers


@register
class PGMSU(BlindUnmixer):
    r"""PGMSU: variational autoencoder with per-pixel endmembers (endmember variability), VCA-initialised.

    Minimises the reconstruction error of :math:`y_n \approx E_n a_n` plus the KL divergence of
    the latent code of :math:`E_n` and, after a pre-training half towards the VCA endmembers, a
    minimum-volume (and optional spectral-angle) regulariser (see :mod:`hysupp.unmixing.blind.pgmsu`).
    Returns the abundances and the mean endmembers; ``info["endmember_std"]`` ``(L, p)`` is the
    per-band standard deviation of the per-pixel endmembers (the estimated variability).
    """

    name: ClassVar[str] = "PGMSU"
    stochastic: ClassVar[bool] = True
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"epochs": 2}
    #: the parameter that sets the training length (for a generic ``--max-iter`` override)
    iteration_param: ClassVar[str] = "epochs"
    reference: ClassVar[str] = ("S. Shi, M. Zhao, L. Zhang, Y. Altmann, J. Chen, Probabilistic Generative Model for "
                                "Hyperspectral Unmixing Accounting for Endmember Variability, IEEE TGRS 60, 2022, "
                                "doi:10.1109/TGRS.2021.3121799")
    params: ClassVar[tuple[Param, ...]] = (
        Param("epochs", int, 200, "training epochs (HySUPP config: 200; the first half pre-trains towards VCA)",
              low=0),
        Param("lr", float, 1e-3, "Adam learning rate", low=0.0, low_open=True),
        Param("z_dim", int, 4, "dimension d of the latent code of the endmembers", low=1),
        Param("lambda_kl", float, 0.1, "weight of the KL divergence", low=0.0),
        Param("lambda_sad", float, 0.0, "weight of the spectral-angle variability term", low=0.0),
        Param("lambda_vol", float, 0.5, "weight of the minimum-volume term", low=0.0),
        Param("lambda_init", float, 0.1, "weight of the pre-training term ||E_n - E_VCA||^2", low=0.0),
        Param("batch_size", int, None, "pixels per batch; None: N // 10 (reference)", low=1, optional=True),
    ) + run_params(history_every=1)

    def _unmix(self, Y: np.ndarray, p: int, *, image_shape: tuple[int, int] | None = None) -> UnmixingResult:
        c = self.config
        L, N = Y.shape
        bs = c["batch_size"] or max(1, N // 10)
        if bs < 2 and N > 1:
            bs = min(2, N)       # BatchNorm needs two samples per batch
        t0 = time.perf_counter()
        E0 = vca_init(Y, p, c["seed"])
        with torch_session(c["device"], c["dtype"], c["seed"]) as s:
            torch = s.torch
            net = _build(torch, L, p, c["z_dim"]).to(device=s.device, dtype=s.dtype)
            Yt = to_tensor(np.ascontiguousarray(Y.T), s)                 # (N, L)
            EM0 = to_tensor(np.ascontiguousarray(E0.T), s).unsqueeze(0)  # (1, p, L)
            opt = make_optimizer(net.parameters(), "adam", lr=c["lr"])
            hist = LossHistory(every=c["history_every"], method=self.name)
            kl_floor = torch.tensor(KL_FLOOR, dtype=s.dtype, device=s.device)
            epochs, pre = c["epochs"], c["epochs"] // 2
            lam_kl, lam_vol, lam_sad, lam_init = c["lambda_kl"], c["lambda_vol"], c["lambda_sad"], c["lambda_init"]
            net.train()
            bar = tracker(self.name, total=epochs, unit="epoch")
            for ep in range(epochs):
                order = loader_order(N).to(s.device)
                running = torch.zeros((), dtype=s.dtype, device=s.device)
                for b0 in range(0, N, bs):
                    idx = order[b0:b0 + bs]
                    if idx.numel() < 2:      # a last batch of one pixel: BatchNorm cannot train on it
                        continue
                    y = Yt[idx]
                    B = y.shape[0]
                    y_hat, mu, log_var, _, em = net(y)
                    loss = (y_hat - y).square().sum() / B
                    kl = (-0.5 * (log_var + 1 - mu.square() - log_var.exp())).sum() / B
                    loss = loss + lam_kl * torch.maximum(kl, kl_floor)
                    if ep < pre:
                        loss = loss + lam_init * (em - EM0).square().sum() / B
                    else:
                        loss = loss + lam_vol * (em - em.mean(dim=1, keepdim=True)).square().sum() / (B * p * L)
                        if lam_sad:
                            eb = em.mean(dim=0, keepdim=True)
                            cos = (em * eb).sum(2) / ((torch.linalg.vector_norm(eb, dim=2) + 1e-6)
                                                      * (torch.linalg.vector_norm(em, dim=2) + 1e-6))
                            loss = loss + lam_sad * cos.acos().sum() / (B * p)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    running += loss.detach()
                if hist.due(ep, epochs):
                    hist.record(ep, running)
                bar.update(ep + 1, loss=lambda running=running: float(running))
            bar.close()
            t_train = time.perf_counter() - t0
            net.eval()
            with torch.no_grad():
                _, _, _, a, em = net(Yt)
            A_out = to_numpy(a.T.contiguous())
            E_out = to_numpy(em.mean(0).T.contiguous())
            E_std = to_numpy(em.std(0).T.contiguous()) if N > 1 else np.zeros_like(E_out)
            info = {"epochs": epochs, "batch_size": int(bs), "iterations": epochs * -(-N // bs), "init": "VCA",
                    "endmember_std": E_std, "train_time": t_train,
                    **hist.as_info(), **s.info()}
        return UnmixingResult(abundances=A_out, endmembers=E_out, info=info)
