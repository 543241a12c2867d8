r"""Super-resolution networks that train on the user's own scene: SRCNN, VDSR, EDSR-lite, S5Net.

No pretrained weights are shipped or downloaded. ``super_resolve(y, ratio=r, psf=h)``:

1. without ``weights``: builds the reduced-resolution training pair of the observed image through
   the shared observation model (:func:`hysupp.fusion.superres.common.sr_training_data`:
   :math:`\mathbf y^{\downarrow} = \mathcal D_r(\mathbf h * \mathbf y)`, the default PSF being the
   Gaussian of MTF gain 0.29 at Nyquist), trains the network on random aligned patches to map
   :math:`\mathbf y^{\downarrow}` (and its shift-free bicubic interpolation) to :math:`\mathbf y`, then
2. applies it to :math:`\mathbf y` (scale invariance, as Wald's protocol), giving ``(L, r h, r w)``.

With ``weights=PATH`` a checkpoint (:class:`hysupp.nn.fusion_training.Checkpoint`, from
:meth:`SRNet.train` + ``.save``) is loaded instead (``fine_tune`` > 0: fine-tuned on the scene's own
pairs first); a checkpoint of another method, band count or ratio is refused. The arrays are divided
by the largest value of the training image (stored in the checkpoint, reused at inference).

Recipes: each net declares the published recipe (its parameters' defaults; deviations are stated)
and a CPU recipe (small patches and batches, a few hundred to a few thousand Adam steps, minutes on
two cores for a scene of a few hundred pixels square). ``recipe="auto"`` takes the published recipe
on CUDA and the CPU recipe on the CPU; explicit parameters win. The training machinery is shared with
the pansharpening networks (:mod:`hysupp.nn.scene_trained`, :mod:`hysupp.nn.fusion_training`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import FusionResult, SuperResolver
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.nn.scene_trained import SceneTrainedNet, net_params
from hysupp.progress import tracker

__all__ = ["EDSR", "SRCNN", "VDSR", "S5Net", "SRNet"]


class SRNet(SceneTrainedNet, SuperResolver):
    """Base of the scene-trained super-resolution networks (module docstring)."""

    #: Architecture parameters copied from the method's config into the checkpoint.
    arch_params: ClassVar[tuple[str, ...]] = ()
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {"iterations": 2, "batch_size": 2, "patch_size": 8}

    def build(self, architecture: dict[str, Any]) -> Any:
        from hysupp.nn.superres_nets import build

        return build(architecture)

    def architecture(self, data: Any) -> dict[str, Any]:
        return {**super().architecture(data), **{k: self.config[k] for k in self.arch_params}}

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:
        """Mean squared error to the target patch."""
        import torch

        return torch.nn.functional.mse_loss(net(batch["ms"], batch["lms"]), batch["gt"])

    def check_patch(self, patch: int, ratio: int) -> int:
        from hysupp.errors import ParameterError

        p = patch - patch % ratio        # the low-resolution patch must be whole
        if p < 2 * ratio:
            raise ParameterError(f"{self.name}: the training patch must be >= {2 * ratio} pixels, got {patch}")
        return p

    def training_data(self, cube: np.ndarray, ratio: int, psf: Any, scale: float | None) -> Any:
        from hysupp.fusion.superres.common import sr_training_data

        return sr_training_data(cube, ratio, psf, scale=scale)

    def train(self, cube: np.ndarray, *, ratio: int, psf: Any = None, session: Any = None, init: Any = None,
              iterations: int | None = None) -> Any:
        """Train on the image's reduced-resolution pairs; return a
        :class:`~hysupp.nn.fusion_training.Checkpoint` (``.save(path)`` to keep it)."""
        from hysupp.nn.training import torch_session

        cube, ratio = self.check_inputs(cube, ratio)
        if session is None:
            with torch_session(self.device, self.dtype, self.seed) as s:
                return self.train(cube, ratio=ratio, psf=psf, session=s, init=init, iterations=iterations)
        scale = None if init is None else float(init.normalisation["scale"])
        return self.fit(self.training_data(cube, ratio, psf, scale), session, init=init, iterations=iterations)

    def apply(self, checkpoint: Any, cube: np.ndarray, *, ratio: int, session: Any) -> np.ndarray:
        """The network of ``checkpoint`` applied to the observed image (float64, input scale)."""
        import torch

        from hysupp.fusion.superres.common import upsample_shift_free
        from hysupp.nn.training import to_numpy, to_tensor

        s = session
        scale = float(checkpoint.normalisation["scale"])
        y = np.asarray(cube, dtype=np.float64) / scale
        net = self.build(dict(checkpoint.architecture))
        net.load_state_dict(self.shared_state(checkpoint.state_dict))
        net = net.to(device=s.device, dtype=s.dtype).eval()
        with torch.no_grad():
            out = net(to_tensor(y[None], s), to_tensor(upsample_shift_free(y, ratio)[None], s))[0]
        return np.asarray(to_numpy(out), dtype=np.float64) * scale

    def _super_resolve(self, cube: np.ndarray, *, ratio: int, psf: Any = None) -> FusionResult:
        from hysupp.nn.training import torch_session

        with torch_session(self.device, self.dtype, self.seed) as s:
            ck = self.obtain_checkpoint(s, lambda scale: self.training_data(cube, ratio, psf, scale),
                                        n_bands=cube.shape[0], ratio=ratio)
            fused = self.apply(ck, cube, ratio=ratio, session=s)
            info = self.run_info(ck, s)
        return FusionResult(fused=fused, info=info)


_CPU = {"batch_size": 8, "patch_size": 32, "lr": 1e-3, "optimizer": "adam", "ema_decay": 0.99, "lr_step": None,
        "iterations": 1000}



@register
class SRCNN(SRNet):
    r"""SRCNN: super-resolution convolutional network (Dong et al. 2016).

    Three convolutional layers on the bicubic-interpolated image :math:`\widetilde{\mathbf y}`
    (patch extraction, non-linear mapping, reconstruction; the 9-5-5 variant with 64 and 32 filters):

    .. math::
        \hat{\mathbf x} = W_3 * \max(0, W_2 * \max(0, W_1 * \widetilde{\mathbf y} + b_1) + b_2) + b_3,

    all bands as channels, "same" convolutions with replicate padding (the paper uses valid ones).
    Loss: mean squared error :math:`\frac1{|B|}\sum_b\|\hat{\mathbf x}_b - \mathbf x_b\|_2^2` on the
    scene's reduced-resolution pairs.

    Published recipe: SGD (momentum 0.9), learning rate :math:`10^{-4}` (:math:`10^{-5}` for the last
    layer), patches 33x33, batches of 128; the paper trains for about :math:`8\times10^8`
    back-propagations; we set :math:`10^6` iterations. CPU recipe: Adam :math:`10^{-3}` (last layer
    :math:`10^{-4}`), 8 patches of 32x32, 1000 iterations, weight EMA 0.99.

    References
    ----------
    C. Dong, C. C. Loy, K. He, X. Tang, "Image super-resolution using deep convolutional networks",
    IEEE TPAMI 38(2), 295-307, 2016, doi:10.1109/TPAMI.2015.2439281.
    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).random((2, 12, 12))
    >>> net = SRCNN(iterations=2, batch_size=2, patch_size=8, device="cpu")
    >>> net.super_resolve(y, ratio=2).fused.shape
    (2, 24, 24)
    """

    name: ClassVar[str] = "SRCNN"
    arch: ClassVar[str] = "SRCNN"
    published_recipe: ClassVar[dict[str, Any]] = {"iterations": 1_000_000, "batch_size": 128, "patch_size": 33,
                                                  "lr": 1e-4, "optimizer": "sgd", "ema_decay": 0.0, "lr_step": None}
    cpu_recipe: ClassVar[dict[str, Any]] = dict(_CPU)
    params: ClassVar[tuple[Param, ...]] = net_params(published_recipe)
    reference: ClassVar[str] = ("C. Dong, C. C. Loy, K. He, X. Tang, \"Image super-resolution using deep convolutional "
                                "networks\", IEEE TPAMI 38(2), 2016, doi:10.1109/TPAMI.2015.2439281")

    def param_groups(self, net: Any, lr: float) -> list[dict[str, Any]]:
        head = [p for n, p in net.named_parameters() if not n.startswith("conv3.")]
        return [{"params": head, "lr": lr}, {"params": list(net.conv3.parameters()), "lr": lr / 10.0}]


@register
class VDSR(SRNet):
    r"""VDSR: very deep residual super-resolution network (Kim et al. 2016).

    ``depth`` (20) 3x3 convolutional layers of 64 filters with ReLU predict the residual to the
    bicubic interpolation: :math:`\hat{\mathbf x} = \widetilde{\mathbf y} + f_\theta(\widetilde{\mathbf y})`.
    Loss: mean squared error :math:`\frac1{|B|}\sum_b\|\hat{\mathbf x}_b - \mathbf x_b\|_2^2`.

    Published recipe (paper): SGD with momentum 0.9, weight decay :math:`10^{-4}`, learning rate 0.1
    divided by 10 every 20 epochs with adjustable gradient clipping, batches of 64 patches of 41x41,
    80 epochs. Gradient clipping is not in the shared training loop, so our "published" recipe keeps the
    architecture, batches and patches and uses Adam :math:`10^{-4}`, 100000 iterations, divided by 10
    every 20000. CPU recipe: Adam :math:`10^{-3}`, 8 patches of 32x32, 500 iterations, weight EMA 0.99
    (set ``depth`` lower for a faster net).

    References
    ----------
    J. Kim, J. K. Lee, K. M. Lee, "Accurate image super-resolution using very deep convolutional
    networks", CVPR 2016, 1646-1654, doi:10.1109/CVPR.2016.182.
    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).random((2, 12, 12))
    >>> net = VDSR(iterations=2, batch_size=2, patch_size=8, device="cpu", depth=3)
    >>> net.super_resolve(y, ratio=2).fused.shape
    (2, 24, 24)
    """

    name: ClassVar[str] = "VDSR"
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {**SRNet.fast_params, "depth": 3}
    arch: ClassVar[str] = "VDSR"
    arch_params: ClassVar[tuple[str, ...]] = ("depth",)
    published_recipe: ClassVar[dict[str, Any]] = {"iterations": 100_000, "batch_size": 64, "patch_size": 41,
                                                  "lr": 1e-4, "optimizer": "adam", "ema_decay": 0.0,
                                                  "lr_step": 20_000}
    cpu_recipe: ClassVar[dict[str, Any]] = {**_CPU, "iterations": 500}
    params: ClassVar[tuple[Param, ...]] = (Param("depth", int, 20, "number of convolutional layers", low=2),
                                           ) + net_params(published_recipe)
    reference: ClassVar[str] = ("J. Kim, J. K. Lee, K. M. Lee, \"Accurate image super-resolution using very deep "
                                "convolutional networks\", CVPR 2016, doi:10.1109/CVPR.2016.182")


@register
class EDSR(SRNet):
    r"""EDSR-lite: enhanced deep residual network without batch normalisation (Lim et al. 2017).

    Head 3x3 convolution of the low-resolution image :math:`\mathbf y` to 64 features, ``blocks``
    residual blocks (conv-ReLU-conv, scaled by ``res_scale``, no batch norm), a long skip, a pixel-shuffle
    upsampler (sub-pixel convolution: x2 stages for powers of two) and a tail convolution to the bands.
    Our "lite" variant has 4 blocks (the EDSR baseline: 16) and adds the shift-free bicubic interpolation
    (global residual), which helps when training on one scene:
    :math:`\hat{\mathbf x} = \widetilde{\mathbf y} + g_\theta(\mathbf y)`.
    Loss: :math:`\ell_1`, :math:`\frac1{|B|}\sum_b\|\hat{\mathbf x}_b - \mathbf x_b\|_1` (as the paper).

    Published recipe: Adam :math:`10^{-4}` halved every :math:`2\times10^5` iterations, batches of 16
    patches of 48x48 low-resolution pixels (``patch_size`` = 48 r on the high-resolution grid, 96 at ratio 2),
    :math:`3\times10^5` iterations. CPU recipe: Adam :math:`10^{-3}`, 8 patches of 32x32, 1000
    iterations, weight EMA 0.99.

    References
    ----------
    B. Lim, S. Son, H. Kim, S. Nah, K. M. Lee, "Enhanced deep residual networks for single image
    super-resolution", CVPR Workshops 2017, 1132-1140, doi:10.1109/CVPRW.2017.151.
    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).random((2, 12, 12))
    >>> net = EDSR(iterations=2, batch_size=2, patch_size=8, device="cpu", blocks=1, features=8)
    >>> net.super_resolve(y, ratio=2).fused.shape
    (2, 24, 24)
    """

    name: ClassVar[str] = "EDSR"
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {**SRNet.fast_params, "blocks": 1, "features": 8}
    arch: ClassVar[str] = "EDSR"
    arch_params: ClassVar[tuple[str, ...]] = ("blocks", "features", "res_scale")
    lr_gamma: ClassVar[float] = 0.5
    published_recipe: ClassVar[dict[str, Any]] = {"iterations": 300_000, "batch_size": 16, "patch_size": 96,
                                                  "lr": 1e-4, "optimizer": "adam", "ema_decay": 0.0,
                                                  "lr_step": 200_000}
    cpu_recipe: ClassVar[dict[str, Any]] = dict(_CPU)
    params: ClassVar[tuple[Param, ...]] = (
        Param("blocks", int, 4, "residual blocks (EDSR baseline: 16)", low=0),
        Param("features", int, 64, "feature maps", low=1),
        Param("res_scale", float, 1.0, "scaling of the residual branches (0.1 in the large EDSR)", low=0.0),
    ) + net_params(published_recipe)
    reference: ClassVar[str] = ("B. Lim, S. Son, H. Kim, S. Nah, K. M. Lee, \"Enhanced deep residual networks for single "
                                "image super-resolution\", CVPRW 2017, doi:10.1109/CVPRW.2017.151")

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:
        return (net(batch["ms"], batch["lms"]) - batch["gt"]).abs().mean()


@register
class S5Net(SRNet):
    r"""S5Net-like per-channel network with per-band fine-tuning (after Carbone et al. 2024).

    Our interpretation (the paper's network is described for Sentinel-5P radiance bands; this is not a
    reproduction): every band is super-resolved *alone* by one residual CNN shared across bands,
    :math:`\hat{\mathbf x}_\ell = \widetilde{\mathbf y}_\ell + f_\theta(\widetilde{\mathbf y}_\ell)`
    (:math:`f_\theta`: conv 9x9 (64) - ReLU - conv 5x5 (32) - ReLU - conv 5x5 (1) on the shift-free
    bicubic interpolation of the band), trained on all bands of the scene's reduced-resolution pairs
    (bands folded into the batch); then, with ``band_iterations`` > 0, a copy per band is fine-tuned
    ``band_iterations`` steps at ``band_lr`` on that band only (the shared training draws
    ``bands_per_batch`` random bands per batch, so its cost does not grow with the band count), and band :math:`\ell` is super-resolved
    with its own weights. The degradation of the training pairs is the ``psf`` given (the paper's point:
    the filter of the training pairs must match the sensor's PSF). Loss: mean squared error
    :math:`\frac1{|B|}\sum_b\|\hat{\mathbf x}_b - \mathbf x_b\|_2^2`.

    Recipes (ours): "published": Adam :math:`10^{-4}`, 64 patches of 33x33, 50000 iterations;
    CPU: Adam :math:`10^{-3}`, 8 patches of 32x32, 500 iterations, weight EMA 0.99. Per-band fine-tuning:
    ``band_iterations`` (50) Adam steps at ``band_lr`` (:math:`10^{-4}`).

    References
    ----------
    A. Carbone, R. Restaino, G. Vivone, J. Chanussot, "Model-based super-resolution for Sentinel-5P
    data", IEEE TGRS 62, 2024, doi:10.1109/TGRS.2024.3387877.
    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).random((2, 12, 12))
    >>> net = S5Net(iterations=2, batch_size=2, patch_size=8, device="cpu", band_iterations=2)
    >>> net.super_resolve(y, ratio=2).fused.shape
    (2, 24, 24)
    """

    name: ClassVar[str] = "S5Net"
    #: Settings of a sub-second run on a tiny problem (hysupp.testing.check_method).
    fast_params: ClassVar[dict[str, Any]] = {**SRNet.fast_params, "band_iterations": 2, "bands_per_batch": 2}
    arch: ClassVar[str] = "S5Net"
    published_recipe: ClassVar[dict[str, Any]] = {"iterations": 50_000, "batch_size": 64, "patch_size": 33,
                                                  "lr": 1e-4, "optimizer": "adam", "ema_decay": 0.0, "lr_step": None}
    cpu_recipe: ClassVar[dict[str, Any]] = {**_CPU, "iterations": 500}
    params: ClassVar[tuple[Param, ...]] = (
        Param("band_iterations", int, 50, "per-band fine-tuning steps (0: one network for all bands)", low=0),
        Param("bands_per_batch", int, 4, "bands drawn at random per patch batch in the shared training", low=1),
        Param("band_lr", float, 1e-4, "learning rate of the per-band fine-tuning", low=1e-12),
    ) + net_params(published_recipe)
    reference: ClassVar[str] = ("A. Carbone, R. Restaino, G. Vivone, J. Chanussot, \"Model-based super-resolution for "
                                "Sentinel-5P data\", IEEE TGRS 62, 2024, doi:10.1109/TGRS.2024.3387877")

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:
        import torch

        lms, gt = batch["lms"], batch["gt"]
        if lms.shape[1] > int(self.bands_per_batch):   # the global torch RNG, seeded by the session
            pick = torch.randperm(lms.shape[1])[:int(self.bands_per_batch)].to(lms.device)
            lms, gt = lms[:, pick], gt[:, pick]
        return torch.nn.functional.mse_loss(net(None, lms), gt)

    def shared_state(self, state: dict[str, Any]) -> dict[str, Any]:
        if not any(k.startswith("shared.") for k in state):
            return state
        return {k[len("shared."):]: v for k, v in state.items() if k.startswith("shared.")}

    def after_fit(self, net: Any, result: Any, data: Any, sampler: Any, session: Any, init: Any,
                  rec: dict[str, Any]) -> dict[str, Any]:
        import torch

        from hysupp.nn.fusion_training import train_network

        state = {f"shared.{k}": v for k, v in result.state_dict.items()}
        n = int(self.band_iterations)
        rec["band_iterations"] = n
        if n == 0:
            return state
        bands = tracker(f"{self.name} per band", total=int(data.n_bands), unit="band")
        for b in range(int(data.n_bands)):
            net.load_state_dict(result.state_dict)

            def band_loss(m: Any, batch: dict[str, Any], b: int = b) -> Any:
                return torch.nn.functional.mse_loss(m(None, batch["lms"][:, b:b + 1]), batch["gt"][:, b:b + 1])

            res_b = train_network(net, band_loss, sampler, iterations=n, batch=int(rec["batch_size"]),
                                  optimizer="adam", lr=float(self.band_lr), history_every=max(n, 1),
                                  name=f"{self.name} band {b + 1}")
            state.update({f"band{b}.{k}": v for k, v in res_b.state_dict.items()})
            bands.update(b + 1)
        bands.close()
        return state

    def apply(self, checkpoint: Any, cube: np.ndarray, *, ratio: int, session: Any) -> np.ndarray:
        import torch

        from hysupp.fusion.superres.common import upsample_shift_free
        from hysupp.nn.training import to_numpy, to_tensor

        s = session
        scale = float(checkpoint.normalisation["scale"])
        y = np.asarray(cube, dtype=np.float64) / scale
        lms = upsample_shift_free(y, ratio)
        net = self.build(dict(checkpoint.architecture)).to(device=s.device, dtype=s.dtype).eval()
        st = checkpoint.state_dict
        shared = self.shared_state(st)
        out = np.empty_like(lms)
        with torch.no_grad():
            for b in range(y.shape[0]):
                own = {k.split(".", 1)[1]: v for k, v in st.items() if k.startswith(f"band{b}.")}
                net.load_state_dict(own or shared)
                out[b] = to_numpy(net(None, to_tensor(lms[None, b:b + 1], s))[0, 0])
        return out * scale
