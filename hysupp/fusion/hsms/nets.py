r"""HS-MS fusion networks that train on the observed pair itself: SSR-Net and SST.

No pretrained weights are shipped or downloaded, and the reference image is never used.
``fuse(hs, ms, ratio=r, srf=R, psf=g)``:

1. **Training data** (:func:`hs_ms_training_data`): Wald's reduced-resolution pair made with
   the pair's own physics, :math:`Y_h^{\downarrow} = \mathcal D_r(g * Y_h)` and
   :math:`Y_m^{\downarrow} = \mathcal D_r(g * Y_m)`, whose target is the observed HS image
   :math:`Y_h`; and the full-resolution inputs :math:`(Y_h, Y_m)`.
2. **Loss**: the network's own loss on the reduced-resolution pair (supervised by :math:`Y_h`),
   plus ``consistency`` times the observation-model consistency of the full-resolution output
   :math:`\widehat X = f_\theta(\mathcal I(Y_h), Y_m)`:

   .. math::
       \mathcal L = \mathcal L_{net}\big(f_\theta(\mathcal I(Y_h^{\downarrow}), Y_m^{\downarrow}), Y_h\big)
       + \lambda_c\Big(\|\mathcal D_r(g * \widehat X) - Y_h\|^2 + \|R\widehat X - Y_m\|^2\Big),

   with :math:`\mathcal I` the HS interpolation of :func:`hysupp.fusion.hsms.common.upsample`,
   :math:`g` the HS PSF, :math:`R` the ``(C, L)`` SRF (both estimated from the pair when not given,
   :func:`hysupp.fusion.hsms.responses.resolve_responses`) and mean squared errors. The degradations are the shared
   :class:`~hysupp.physics.blur.Blur` and :class:`~hysupp.physics.sampling.Decimation` operators
   applied to torch tensors. ``consistency=0`` keeps only the reduced-resolution pair, the
   papers' supervised setting transposed to the scene's own data.
3. **Inference** at full resolution on :math:`(\mathcal I(Y_h), Y_m)`.

Images larger than ``patch_size`` are trained on random crops aligned on the HS grid. Inputs
are divided by one normalisation scale (the largest HS/MS value), stored in the checkpoint.
``weights=PATH`` loads a checkpoint (:class:`hysupp.nn.fusion_training.Checkpoint`) instead
of training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hysupp.errors import InputError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.responses import resolve_responses
from hysupp.methods.base import FusionResult, HSMSFuser
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.nn.scene_trained import RecipeMixin

__all__ = ["SST", "HSMSNet", "HSMSTrainingData", "SSRNet", "hs_ms_training_data"]


@dataclass
class HSMSTrainingData:
    """Normalised float64 arrays of one HS-MS pair: the reduced-resolution inputs ``hs_rr_up``
    ``(L, h, w)`` (the degraded HS interpolated to the HS grid) and ``ms_rr`` ``(C, h, w)`` with the
    target ``hs`` ``(L, h, w)``; the full-resolution inputs ``hs_up`` ``(L, H, W)`` and ``ms``
    ``(C, H, W)`` with the observed HS ``hs_obs`` ``(L, H / r, W / r)`` they must be consistent with; the SRF ``srf`` ``(C, L)``, the PSF kernel, the ratio and the scale."""

    hs_rr_up: np.ndarray
    ms_rr: np.ndarray
    hs: np.ndarray
    hs_up: np.ndarray
    ms: np.ndarray
    hs_obs: np.ndarray
    srf: np.ndarray
    psf: np.ndarray
    ratio: int
    scale: float


def hs_ms_training_data(hs: np.ndarray, ms: np.ndarray, ratio: int, srf: np.ndarray, psf: Any, *,
                        scale: float | None = None) -> HSMSTrainingData:
    """Wald's reduced-resolution pair and the full-resolution inputs of an HS-MS pair (module
    docstring), divided by ``scale`` (default: the largest HS/MS value)."""
    hs = np.asarray(hs, dtype=np.float64)
    ms = np.asarray(ms, dtype=np.float64)
    h, w = hs.shape[1:]
    if h < ratio or w < ratio:
        raise InputError(f"the HS image ({h} x {w}) is smaller than the ratio {ratio}: no reduced-resolution "
                         f"training pair can be made")
    hc, wc = (h // ratio) * ratio, (w // ratio) * ratio   # the degraded pair needs whole HS blocks
    s = float(max(hs.max(), ms.max())) if scale is None else float(scale)
    s = s if s > 0 and np.isfinite(s) else 1.0
    hs_c, ms_c = hs[:, :hc, :wc], ms[:, :hc * ratio, :wc * ratio]
    hs_rr, ms_rr = C.degrade(hs_c, ratio, psf), C.degrade(ms_c, ratio, psf)
    return HSMSTrainingData(hs_rr_up=C.upsample(hs_rr, ratio) / s, ms_rr=ms_rr / s, hs=hs_c / s,
                            hs_up=C.upsample(hs, ratio) / s, ms=ms / s, hs_obs=hs / s, srf=np.asarray(srf, dtype=np.float64),
                            psf=C.psf_kernel(psf, ratio), ratio=int(ratio), scale=s)


class _Sampler:
    """Batches for :func:`hysupp.nn.fusion_training.train_network`: random crops (aligned on the
    HS grid) of the reduced-resolution pair and of the full-resolution inputs, drawn from a seeded
    CPU generator; the whole images when they are smaller than ``patch`` pixels."""

    def __init__(self, data: HSMSTrainingData, patch: int, session: Any) -> None:
        import torch

        from hysupp.nn.training import to_tensor

        self.torch, self.r, self.patch = torch, data.ratio, int(patch)
        t = {k: to_tensor(getattr(data, k)[None], session) for k in ("hs_rr_up", "ms_rr", "hs", "hs_up", "ms", "hs_obs")}
        self.t = t
        self.gen = torch.Generator().manual_seed(int(session.seed or 0))

    def _crop(self, size_hw: tuple[int, int], step: int) -> tuple[slice, slice]:
        H, W = size_hw
        p = min(self.patch, H, W) // step * step
        i = int(self.torch.randint(0, (H - p) // step + 1, (1,), generator=self.gen)) * step
        j = int(self.torch.randint(0, (W - p) // step + 1, (1,), generator=self.gen)) * step
        return slice(i, i + p), slice(j, j + p)

    def sample(self, batch: int) -> dict[str, Any]:
        t = self.t
        r = self.r
        ri, rj = self._crop(t["hs"].shape[-2:], 1)
        fi, fj = self._crop(t["ms"].shape[-2:], r)       # on whole HS pixels: the observed HS crop matches
        li, lj = slice(fi.start // r, fi.stop // r), slice(fj.start // r, fj.stop // r)
        return {"hs_rr_up": t["hs_rr_up"][..., ri, rj], "ms_rr": t["ms_rr"][..., ri, rj], "hs": t["hs"][..., ri, rj],
                "hs_up": t["hs_up"][..., fi, fj], "ms": t["ms"][..., fi, fj], "hs_obs": t["hs_obs"][..., li, lj]}


def _params(published: dict[str, Any], extra: tuple[Param, ...] = ()) -> tuple[Param, ...]:
    from hysupp.nn.training import run_params

    return (
        Param("weights", str, None, "checkpoint (.pt) to load instead of training on the pair", optional=True),
        Param("recipe", str, "auto", "training recipe: published, cpu, or auto (published on CUDA, cpu on CPU); "
              "explicit parameters override it", choices=("auto", "published", "cpu")),
        Param("iterations", int, published["iterations"], "training iterations (published recipe)", low=1),
        Param("patch_size", int, published["patch_size"], "training crop size (pixels; whole images when smaller)",
              low=4),
        Param("lr", float, published["lr"], "Adam learning rate (published recipe)", low=1e-12),
        Param("ema_decay", float, published["ema_decay"], "EMA decay of the weights (0: off)", low=0.0, high=0.9999),
        Param("consistency", float, published["consistency"], "weight of the full-resolution observation-model "
              "consistency loss (0: reduced-resolution pair only)", low=0.0),
    ) + extra + run_params(history_every=100)


class HSMSNet(RecipeMixin, HSMSFuser):
    """Base of the pair-trained HS-MS fusion networks (module docstring)."""

    recipe_keys: ClassVar[tuple[str, ...]] = ("iterations", "patch_size", "lr", "ema_decay", "consistency")
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"iterations": 2, "patch_size": 8}

    # ------------------------------------------------------------------ per-net pieces
    def architecture(self, n_bands: int, srf: np.ndarray) -> dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def net_loss(self, net: Any, hs_up: Any, ms: Any, target: Any) -> Any:
        """The network's own loss on the reduced-resolution pair (mean squared error here)."""
        import torch

        return torch.nn.functional.mse_loss(net(hs_up, ms), target)

    # ------------------------------------------------------------------ training and inference
    def train(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None, psf: Any = None,
              session: Any = None) -> Any:
        """Train on the pair (module docstring); return a :class:`~hysupp.nn.fusion_training.Checkpoint`."""
        import torch

        from hysupp.nn.fusion_training import Checkpoint, train_network
        from hysupp.nn.hsms_nets import build
        from hysupp.nn.training import to_tensor, torch_session
        from hysupp.physics.blur import Blur
        from hysupp.physics.sampling import Decimation

        hs, ms, ratio = self.check_inputs(hs, ms, ratio)
        if session is None:
            with torch_session(self.device, self.dtype, self.seed) as s:
                return self.train(hs, ms, ratio=ratio, srf=srf, psf=psf, session=s)
        s = session
        R, psf_used, rinfo = resolve_responses(hs, ms, ratio, srf, psf, method=self.name)
        data = hs_ms_training_data(hs, ms, ratio, R, psf_used)
        rec = self.recipe_values(s.device)
        arch = self.architecture(hs.shape[0], R)
        net = build(arch).to(device=s.device, dtype=s.dtype)
        blur, dec = Blur(data.psf), Decimation(ratio, "center")
        Rt = to_tensor(R, s)
        lam = float(rec["consistency"])

        def loss_fn(net: Any, b: dict[str, Any]) -> Any:
            loss = self.net_loss(net, b["hs_rr_up"], b["ms_rr"], b["hs"])
            if lam > 0:
                x = net(b["hs_up"], b["ms"])
                hs_fit = torch.nn.functional.mse_loss(dec.forward(blur.forward(x)), b["hs_obs"])
                ms_fit = torch.nn.functional.mse_loss(torch.einsum("cl,blhw->bchw", Rt, x), b["ms"])
                loss = loss + lam * (hs_fit + ms_fit)
            return loss

        sampler = _Sampler(data, int(rec["patch_size"]), s)
        result = train_network(net, loss_fn, sampler, iterations=int(rec["iterations"]), batch=1, optimizer="adam",
                               lr=float(rec["lr"]), ema_decay=float(rec["ema_decay"]),
                               history_every=self.history_every, name=self.name)
        protocol = {"name": "wald-reduced-resolution+consistency" if lam > 0 else "wald-reduced-resolution",
                    "ratio": ratio, "psf_kernel_shape": list(data.psf.shape), "srf_given": srf is not None,
                    "psf_given": psf is not None, "srf": R.tolist(), "psf": data.psf.tolist(),
                    "interpolation": "hysupp.fusion.hsms.common.upsample"}
        if "responses" in rinfo:
            protocol["response_diagnostics"] = rinfo["responses"]["diagnostics"]
        return Checkpoint(method=self.name, architecture=arch,
                          params={k: v for k, v in self.config.items() if k != "weights"}, protocol=protocol,
                          normalisation={"kind": "max", "scale": data.scale}, state_dict=result.state_dict,
                          training={**result.info(), "recipe": rec, **s.info()})

    def apply(self, checkpoint: Any, hs: np.ndarray, ms: np.ndarray, *, ratio: int, session: Any) -> np.ndarray:
        """The network of ``checkpoint`` applied to the full-resolution pair (float64, input scale)."""
        import torch

        from hysupp.nn.hsms_nets import build
        from hysupp.nn.training import to_numpy, to_tensor

        s, scale = session, float(checkpoint.normalisation["scale"])
        net = build(checkpoint.architecture)
        net.load_state_dict(checkpoint.state_dict)
        net = net.to(device=s.device, dtype=s.dtype).eval()
        with torch.no_grad():
            out = net(to_tensor(C.upsample(hs, ratio)[None] / scale, s), to_tensor(ms[None] / scale, s))[0]
        return np.asarray(to_numpy(out), dtype=np.float64) * scale

    def _fuse(self, hs: np.ndarray, ms: np.ndarray, *, ratio: int, srf: np.ndarray | None = None,
              psf: Any = None) -> FusionResult:
        from hysupp.nn.fusion_training import Checkpoint
        from hysupp.nn.training import torch_session

        with torch_session(self.device, self.dtype, self.seed) as s:
            if self.weights is not None:
                ck = Checkpoint.load(self.weights, method=self.name, n_bands=hs.shape[0], ratio=ratio)
                n_ms = ck.architecture.get("n_ms")
                if n_ms is not None and n_ms != ms.shape[0]:
                    raise InputError(f"weights file {self.weights!r} was trained with {n_ms} MS bands; the MS "
                                     f"image has {ms.shape[0]}")
            else:
                ck = self.train(hs, ms, ratio=ratio, srf=srf, psf=psf, session=s)
            fused = self.apply(ck, hs, ms, ratio=ratio, session=s)
            info = {"weights": self.weights, "trained_on_pair": self.weights is None, "protocol": ck.protocol,
                    "normalisation": ck.normalisation, "training": ck.training, **s.info()}
        return C.finish(self.name, fused, hs, ms, info)


_CPU = {"iterations": 1500, "patch_size": 64, "lr": 1e-3, "ema_decay": 0.99, "consistency": 1.0}


@register
class SSRNet(HSMSNet):
    r"""SSR-Net: spatial-spectral reconstruction network for HS-MS fusion (Zhang et al. 2021).

    Cross-mode message insertion (CMMI): the interpolated HS image :math:`\mathcal I(Y_h)` with,
    for each MS band :math:`c`, the HS band at the peak of its response :math:`rg\max_l R_{cl}`
    replaced by :math:`Y_{m,c}`; then

    .. math::
        Z = \sigma(W_f * X_{cmmi}),\quad Z_{spat} = Z + \sigma(W_a * Z),\quad
        \widehat X = Z_{spec} = Z_{spat} + \sigma(W_e * Z_{spat}),

    3x3 convolutions of :math:`L` channels and ReLU :math:`\sigma`. Loss: reconstruction plus the
    spatial-edge loss of :math:`Z_{spat}` and the spectral-edge loss of :math:`Z_{spec}`,

    .. math::
        \mathcal L_{net} = \|\widehat X - X\|^2 + \|
abla_{x,y} Z_{spat} - 
abla_{x,y} X\|^2
        + \|
abla_\lambda Z_{spec} - 
abla_\lambda X\|^2

    (mean squared errors; :math:`
abla_{x,y}` differences of neighbouring pixels,
    :math:`
abla_\lambda` of neighbouring bands), with :math:`X` the target of the
    reduced-resolution pair, plus the full-resolution consistency term of the module docstring.

    Choices of ours: the CMMI positions come from the SRF (the paper spaces them evenly over the
    bands); the HS is interpolated with the 23-tap/bicubic kernel of the other HS-MS methods (the
    paper: bilinear); the fusion convolution starts as the identity (a fast start on CPU).
    Published recipe: Adam, learning rate :math:`10^{-4}`, 10000 iterations on the image. CPU
    recipe: Adam :math:`10^{-4}` (:math:`10^{-3}` makes the :math:`L\times L` convolutions jump), 1500
    iterations, weight EMA 0.99.

    References
    ----------
    X. Zhang, W. Huang, Q. Wang, X. Li, "SSR-NET: Spatial-spectral reconstruction network for
    hyperspectral and multispectral image fusion", IEEE TGRS 59(7), 5953-5965, 2021,
    doi:10.1109/TGRS.2020.3018732.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> hs, ms = rng.random((6, 4, 4)), rng.random((2, 16, 16))
    >>> SSRNet(iterations=2, device="cpu").fuse(hs, ms, ratio=4, srf=np.full((2, 6), 1 / 6)).fused.shape
    (6, 16, 16)
    """

    name: ClassVar[str] = "SSR-Net"
    published_recipe: ClassVar[dict[str, Any]] = {"iterations": 10_000, "patch_size": 128, "lr": 1e-4,
                                                  "ema_decay": 0.0, "consistency": 1.0}
    cpu_recipe: ClassVar[dict[str, Any]] = {**_CPU, "lr": 1e-4}
    params: ClassVar[tuple[Param, ...]] = _params(published_recipe)
    reference: ClassVar[str] = ("X. Zhang, W. Huang, Q. Wang, X. Li, \"SSR-NET: Spatial-spectral reconstruction "
                                "network for hyperspectral and multispectral image fusion\", IEEE TGRS 59(7), 2021, "
                                "doi:10.1109/TGRS.2020.3018732")

    def architecture(self, n_bands: int, srf: np.ndarray) -> dict[str, Any]:
        return {"name": "SSR-Net", "n_bands": int(n_bands), "n_ms": int(srf.shape[0]),
                "insert": [int(i) for i in np.argmax(srf, axis=1)]}

    def net_loss(self, net: Any, hs_up: Any, ms: Any, target: Any) -> Any:
        from torch.nn.functional import mse_loss

        from hysupp.nn.hsms_nets import spatial_edges, spectral_edges

        spec, spat = net.stages(hs_up, ms)
        (sx, sy), (tx, ty) = spatial_edges(spat), spatial_edges(target)
        return (mse_loss(spec, target) + mse_loss(sx, tx) + mse_loss(sy, ty)
                + mse_loss(spectral_edges(spec), spectral_edges(target)))


@register
class SST(HSMSNet):
    r"""SST: a compact spectral-spatial transformer for HS-MS fusion.

    .. math::
        F_0 = W_e * [\mathcal I(Y_h), Y_m],\qquad
        F_{k} = B_k(F_{k-1}),\qquad \widehat X = \mathcal I(Y_h) + W_o * (\mathrm{LN}(F_K) + F_0),

    each block :math:`B_k` being pre-normalised and residual: spectral-wise multi-head
    self-attention (tokens = the ``dim`` feature channels, :math:`d	imes d` attention maps from
    L2-normalised queries and keys with a learnt temperature, as in MST), window multi-head
    self-attention between the pixels of ``window`` x ``window`` windows (as in Swin, without shifts),
    then a two-layer GELU feed-forward layer. The output convolution starts at zero, so training
    starts from the interpolated HS. Loss: mean squared error on the reduced-resolution pair plus
    the full-resolution consistency term of the module docstring.

    This is our compact composition of published blocks for the CPU budget (tens of thousands of
    weights), in the spirit of the transformer HS-MS fusion networks (e.g. Fusformer), not the
    reproduction of one paper. Published recipe (as for those networks): Adam :math:`10^{-4}`,
    10000 iterations; CPU recipe: Adam :math:`10^{-3}`, 1500 iterations, weight EMA 0.99.

    References
    ----------
    Y. Cai, J. Lin, X. Hu, H. Wang, X. Yuan, Y. Zhang, R. Timofte, L. Van Gool, "Mask-guided
    spectral-wise transformer for efficient hyperspectral image reconstruction", CVPR 2022,
    doi:10.1109/CVPR52688.2022.01698. Z. Liu et al., "Swin Transformer: hierarchical vision
    transformer using shifted windows", ICCV 2021, doi:10.1109/ICCV48922.2021.00986.
    J.-F. Hu, T.-Z. Huang, L.-J. Deng, H.-X. Dou, D. Hong, G. Vivone, "Fusformer: a
    transformer-based fusion network for hyperspectral image super-resolution", IEEE GRSL 19,
    2022, doi:10.1109/LGRS.2022.3194257.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> hs, ms = rng.random((6, 4, 4)), rng.random((2, 16, 16))
    >>> SST(iterations=2, device="cpu").fuse(hs, ms, ratio=4, srf=np.full((2, 6), 1 / 6)).fused.shape
    (6, 16, 16)
    """

    name: ClassVar[str] = "SST"
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {**HSMSNet.fast_params, "dim": 8, "window": 4}
    published_recipe: ClassVar[dict[str, Any]] = {"iterations": 10_000, "patch_size": 128, "lr": 1e-4,
                                                  "ema_decay": 0.0, "consistency": 1.0}
    cpu_recipe: ClassVar[dict[str, Any]] = dict(_CPU)
    params: ClassVar[tuple[Param, ...]] = _params(published_recipe, (
        Param("dim", int, 32, "feature channels", low=2),
        Param("blocks", int, 2, "transformer blocks", low=1),
        Param("heads", int, 2, "attention heads (dim must be a multiple)", low=1),
        Param("window", int, 8, "window size of the spatial attention (pixels)", low=1),
    ))
    reference: ClassVar[str] = ("Y. Cai et al., \"Mask-guided spectral-wise transformer for efficient hyperspectral "
                                "image reconstruction\", CVPR 2022, doi:10.1109/CVPR52688.2022.01698; Z. Liu et al., "
                                "\"Swin Transformer\", ICCV 2021, doi:10.1109/ICCV48922.2021.00986")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.dim % self.heads:
            from hysupp.errors import ParameterError

            raise ParameterError(f"SST: dim ({self.dim}) must be a multiple of heads ({self.heads})")

    def architecture(self, n_bands: int, srf: np.ndarray) -> dict[str, Any]:
        return {"name": "SST", "n_bands": int(n_bands), "n_ms": int(srf.shape[0]), "dim": self.dim,
                "blocks": self.blocks, "heads": self.heads, "window": self.window}
