r"""Pansharpening networks that train on the user's own scene: PNN, A-PNN, PanNet, DiCNN, FusionNet, Z-PNN, VOGTNet.

No pretrained weights are shipped or downloaded. ``fuse(ms, pan, ratio=r, sensor=s)``:

1. without ``weights``: builds Wald's reduced-resolution pair of the scene through the shared
   physics (:func:`hysupp.nn.fusion_training.pansharpening_training_data`: sensor MTF filters,
   decimation by ``r``), trains the network on random aligned patches of it to map the degraded
   MS and PAN to the original MS, then
2. applies it at full resolution to ``(ms, interp23tap(ms), pan)`` (Wald's scale invariance).

With ``weights=PATH`` a checkpoint (:class:`hysupp.nn.fusion_training.Checkpoint`, written by
``hysupp train`` or :meth:`PansharpeningNet.train` + ``.save``) is loaded instead and no training
happens; its normalisation scale is reused. A checkpoint of another method, band count or ratio is
refused.

Recipes
-------
Every net declares the published training recipe (its parameters' defaults) and a CPU recipe
(small patches and batches, a few thousand Adam steps, meant to finish within minutes on two CPU
cores). ``recipe="auto"`` (default) takes the published recipe on CUDA and the CPU recipe on the
CPU; parameters given explicitly always win. ``epochs`` (if given) sets the iterations to
``epochs x ceil(tiles / batch_size)``, a tile being a disjoint patch of the training image.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from hysupp.methods.base import FusionResult, Pansharpener
from hysupp.methods.params import Param
from hysupp.methods.registry import register
from hysupp.nn.scene_trained import SceneTrainedNet, net_params
from hysupp.progress import tracker

__all__ = ["APNN", "PNN", "ZPNN", "DiCNN", "FusionNet", "LearnedDegradation", "PanNet", "PansharpeningNet", "VOGTNet"]

class PansharpeningNet(SceneTrainedNet, Pansharpener):
    """Base of the scene-trained pansharpening networks (module docstring); the recipe, training
    loop and checkpoint come from :class:`hysupp.nn.scene_trained.SceneTrainedNet`."""

    #: Settings of a sub-second CPU training on a tiny scene (hysupp.testing.check_method and
    #: tests/test_fusion_nets.py, which sets its own iterations and batch).
    fast_params: ClassVar[dict[str, Any]] = {"iterations": 2, "batch_size": 2, "patch_size": 16, "history_every": 1}
    #: Defaults of ``fine_tune`` (iterations) and ``fine_tune_lr`` of the net.
    fine_tune_defaults: ClassVar[tuple[int, float]] = (0, 1e-4)
    #: The net's own parameters, after the common ones.
    extra_params: ClassVar[tuple[Param, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A net declares ``published_recipe`` (and ``fine_tune_defaults``, ``extra_params``); its
        ``params`` are derived from them unless the class sets ``params`` itself."""
        super().__init_subclass__(**kwargs)
        if cls.published_recipe and "params" not in cls.__dict__:
            cls.params = net_params(cls.published_recipe, *cls.fine_tune_defaults,
                                    patch_help="training patch size on the PAN grid (published)") + tuple(cls.extra_params)

    @property
    def trains_on_datasets(self) -> bool:
        """Whether the net can learn from a data set of reference samples
        (:func:`hysupp.nn.dataset_training.train_on_dataset`): the supervised nets, whose training data
        is Wald's reduced-resolution pair; not the nets that override :meth:`training_data` (they train
        on the scene they fuse)."""
        return type(self).training_data is PansharpeningNet.training_data

    # ------------------------------------------------------------------ pieces a net may override
    def build(self, architecture: dict[str, Any]) -> Any:
        from hysupp.nn.pansharpening_nets import build

        return build(architecture["name"], int(architecture["n_bands"]), int(architecture["ratio"]))

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:
        """Mean squared error to the reference patch (every net here is trained with an L2 loss)."""
        import torch

        return torch.nn.functional.mse_loss(net(batch["ms"], batch["lms"], batch["pan"]), batch["gt"])

    def training_data(self, ms: np.ndarray, pan: np.ndarray, ratio: int, sensor: str | None, *,
                      scale: float | None = None) -> Any:
        """Wald's reduced-resolution training pair of the scene (supervised nets)."""
        from hysupp.nn.fusion_training import pansharpening_training_data

        return pansharpening_training_data(ms, pan, ratio, sensor, scale=scale)

    # ------------------------------------------------------------------ training and inference
    def train(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              session: Any = None, init: Any = None, iterations: int | None = None) -> Any:
        """Train on the scene's training pairs (Wald's reduced-resolution pairs; the full-resolution
        scene for the zero-shot nets); return a :class:`~hysupp.nn.fusion_training.Checkpoint`
        (``.save(path)`` to keep it). ``init``: a checkpoint to start from (target-adaptive
        fine-tuning: its weights and normalisation are kept), ``iterations`` then overrides the recipe's."""
        from hysupp.nn.training import torch_session

        ms, pan, ratio = self.check_inputs(ms, pan, ratio)
        if session is None:
            with torch_session(self.device, self.dtype, self.seed) as s:
                return self.train(ms, pan, ratio=ratio, sensor=sensor, session=s, init=init, iterations=iterations)
        scale = None if init is None else float(init.normalisation["scale"])
        return self.fit(self.training_data(ms, pan, ratio, sensor, scale=scale), session, init=init,
                        iterations=iterations)

    def load_weights(self, path: str, n_bands: int, ratio: int) -> Any:
        from hysupp.nn.fusion_training import Checkpoint

        return Checkpoint.load(path, method=self.name, n_bands=n_bands, ratio=ratio)

    def apply(self, checkpoint: Any, ms: np.ndarray, pan: np.ndarray, *, ratio: int, session: Any) -> np.ndarray:
        """The network of ``checkpoint`` applied to the full-resolution scene (float64, input scale)."""
        import torch

        from hysupp.nn.fusion_training import full_resolution_inputs
        from hysupp.nn.training import to_numpy, to_tensor

        s = session
        scale = float(checkpoint.normalisation["scale"])
        data = full_resolution_inputs(ms, pan, ratio, scale)
        net = self.build(dict(checkpoint.architecture))
        net.load_state_dict(checkpoint.state_dict)
        net = net.to(device=s.device, dtype=s.dtype).eval()
        with torch.no_grad():
            out = net(to_tensor(data.ms[None], s), to_tensor(data.lms[None], s), to_tensor(data.pan[None], s))[0]
        return np.asarray(to_numpy(out), dtype=np.float64) * scale

    def _fuse(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None) -> FusionResult:
        from hysupp.nn.training import torch_session

        with torch_session(self.device, self.dtype, self.seed) as s:
            if self.weights is not None:
                ck = self.load_weights(self.weights, ms.shape[0], ratio)
                if self.fine_tune > 0:
                    ck = self.train(ms, pan, ratio=ratio, sensor=sensor, session=s, init=ck, iterations=self.fine_tune)
            else:
                ck = self.train(ms, pan, ratio=ratio, sensor=sensor, session=s)
            fused = self.apply(ck, ms, pan, ratio=ratio, session=s)
            info = {"weights": self.weights, "trained_on_scene": self.weights is None or self.fine_tune > 0,
                    "fine_tuned": self.weights is not None and self.fine_tune > 0, "protocol": ck.protocol,
                    "normalisation": ck.normalisation, "training": ck.training, **s.info()}
        if self.weights is not None and sensor is not None:
            from hysupp.physics.mtf import get_sensor

            trained = str(ck.protocol.get("sensor") or "generic").split(" ")[0]
            try:
                same = get_sensor(trained).key == get_sensor(sensor).key
            except Exception:  # noqa: BLE001 - an unknown name is simply "different"
                same = trained == sensor
            if not same:
                info["warning"] = f"weights trained with sensor {trained!r}, applied to {sensor!r}"
        return FusionResult(fused=fused, info=info)


def _published(iterations: int, batch_size: int, patch_size: int, lr: float, optimizer: str = "adam") -> dict[str, Any]:
    """A published recipe (no weight EMA, no learning-rate steps)."""
    return {"iterations": iterations, "batch_size": batch_size, "patch_size": patch_size, "lr": lr,
            "optimizer": optimizer, "ema_decay": 0.0, "lr_step": None}


_CPU = {"batch_size": 8, "patch_size": 32, "lr": 1e-3, "optimizer": "adam", "ema_decay": 0.99, "lr_step": None,
        "iterations": 2000}


@register
class PNN(PansharpeningNet):
    r"""PNN: pansharpening by a three-layer convolutional network (Masi et al. 2016).

    The SRCNN-like network maps the interpolated MS stacked with the PAN to the fused MS:

    .. math::
        \widehat M = W_3 * \max(0, W_2 * \max(0, W_1 * [\widetilde M; P] + b_1) + b_2) + b_3,

    :math:`W_1`: 64 filters 9x9, :math:`W_2`: 32 filters 5x5, :math:`W_3`: :math:`L` filters 5x5, valid
    convolutions (input padded by 8 pixels, replicate, at inference). Trained on Wald's reduced-resolution
    pairs with the L2 loss :math:`\frac1{|B|}\sum_{b}\|\widehat M_b - M_b\|_2^2` over the central
    ``patch - 16`` pixels of each patch.

    Published recipe: SGD with momentum 0.9, learning rate :math:`10^{-4}` (:math:`10^{-5}` for the last
    layer), batches of 128 patches of 33x33, :math:`1.12\times10^6` iterations. CPU recipe: Adam, learning
    rate :math:`10^{-3}` (last layer :math:`10^{-4}`), 8 patches of 48x48, 2000 iterations, weight EMA 0.99.

    References
    ----------
    G. Masi, D. Cozzolino, L. Verdoliva, G. Scarpa, "Pansharpening by convolutional neural networks",
    Remote Sensing 8(7), 594, 2016, doi:10.3390/rs8070594.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ms, pan = rng.random((3, 24, 24)), rng.random((96, 96))
    >>> out = PNN(iterations=2, patch_size=24, batch_size=2, device="cpu").fuse(ms, pan, ratio=4).fused
    >>> out.shape, out.dtype
    ((3, 96, 96), dtype('float64'))
    """

    name: ClassVar[str] = "PNN"
    arch: ClassVar[str] = "PNN"
    published_recipe: ClassVar[dict[str, Any]] = _published(1_120_000, 128, 33, 1e-4, "sgd")
    cpu_recipe: ClassVar[dict[str, Any]] = {**_CPU, "patch_size": 48}
    fast_params: ClassVar[dict[str, Any]] = {**PansharpeningNet.fast_params, "patch_size": 24}
    reference: ClassVar[str] = ("G. Masi, D. Cozzolino, L. Verdoliva, G. Scarpa, \"Pansharpening by convolutional "
                                "neural networks\", Remote Sensing 8(7), 594, 2016, doi:10.3390/rs8070594")

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:
        import torch

        m = net.margin
        out = net(None, batch["lms"], batch["pan"], pad=False)
        return torch.nn.functional.mse_loss(out, batch["gt"][:, :, m:-m, m:-m])

    def param_groups(self, net: Any, lr: float) -> list[dict[str, Any]]:
        head = [p for n, p in net.named_parameters() if not n.startswith("conv3.")]
        return [{"params": head, "lr": lr}, {"params": list(net.conv3.parameters()), "lr": lr / 10.0}]

    def check_patch(self, patch: int, ratio: int) -> int:
        from hysupp.errors import ParameterError

        if patch <= 2 * 8:
            raise ParameterError(f"PNN: the training patch must be > 16 pixels (valid convolutions remove 16), got "
                                 f"{patch} (patch_size {self.patch_size} on a training image of the MS size)")
        return patch


@register
class APNN(PNN):
    r"""A-PNN: target-adaptive residual PNN (Scarpa et al. 2018).

    .. math::
        \widehat M = \widetilde M + W_3 * \max(0, W_2 * \max(0, W_1 * [\widetilde M; P] + b_1) + b_2) + b_3,

    :math:`W_1`: 48 filters 9x9, :math:`W_2`: 32 filters 5x5, :math:`W_3`: :math:`L` filters 5x5, valid
    convolutions (input padded by 8 pixels, replicate, at inference), trained with the L1 loss
    :math:`\frac1{|B|}\sum_b\|\widehat M_b - M_b\|_1` (over the central ``patch - 16`` pixels) on Wald's
    reduced-resolution pairs. *Target adaptation*: given ``weights`` (a network trained on other
    data), the network is first fine-tuned for ``fine_tune`` iterations (default 50) at learning rate
    ``fine_tune_lr`` on the reduced-resolution pairs of the scene to fuse, then applied at full
    resolution; without ``weights`` it trains on the scene from scratch (the CPU recipe).

    Recipes (ours; the paper's pretraining set is not available): CPU: Adam :math:`10^{-3}` (last layer
    :math:`10^{-4}`), 8 patches of 48x48, 2000 iterations, weight EMA 0.99; "published" (GPU): Adam
    :math:`10^{-4}`, 128 patches of 33x33, 100000 iterations.

    References
    ----------
    G. Scarpa, S. Vitale, D. Cozzolino, "Target-adaptive CNN-based pansharpening", IEEE TGRS 56(9),
    5443-5457, 2018, doi:10.1109/TGRS.2018.2817393.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ms, pan = rng.random((3, 24, 24)), rng.random((96, 96))
    >>> APNN(iterations=2, patch_size=24, batch_size=2, device="cpu").fuse(ms, pan, ratio=4).fused.shape
    (3, 96, 96)
    """

    name: ClassVar[str] = "A-PNN"
    arch: ClassVar[str] = "A-PNN"
    published_recipe: ClassVar[dict[str, Any]] = _published(100_000, 128, 33, 1e-4)
    cpu_recipe: ClassVar[dict[str, Any]] = {**_CPU, "patch_size": 48}
    fast_params: ClassVar[dict[str, Any]] = {**PansharpeningNet.fast_params, "patch_size": 24}
    fine_tune_defaults: ClassVar[tuple[int, float]] = (50, 1e-4)
    reference: ClassVar[str] = ("G. Scarpa, S. Vitale, D. Cozzolino, \"Target-adaptive CNN-based pansharpening\", "
                                "IEEE TGRS 56(9), 2018, doi:10.1109/TGRS.2018.2817393")

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:
        m = net.margin
        out = net(None, batch["lms"], batch["pan"], pad=False)
        return (out - batch["gt"][:, :, m:-m, m:-m]).abs().mean()


@register
class PanNet(PansharpeningNet):
    r"""PanNet: a deep residual network in the high-pass domain (Yang et al. 2017).

    .. math::
        \widehat M = \widetilde M + f_\theta\big([\,\mathcal U_\theta(G(M)) ;\, G(P)\,]\big),\qquad
        G(x) = x - \mathrm{box}_5 * x,

    with :math:`\mathcal U_\theta` a learned transposed convolution (kernel :math:`2r`, stride :math:`r`)
    and :math:`f_\theta` = conv3x3(32) - ReLU - 4 residual blocks (conv3x3 - ReLU - conv3x3 + skip) -
    conv3x3(:math:`L`). The high-pass inputs make the network learn details only (spatial
    preservation) and the skip :math:`\widetilde M` keeps the spectra (spectral preservation). L2 loss
    :math:`\frac1{|B|}\sum_b\|\widehat M_b - M_b\|_2^2` on Wald's reduced-resolution pairs.

    Published recipe (authors' code): Adam, learning rate :math:`10^{-3}`, batches of 32 patches of
    64x64, 250000 iterations. CPU recipe: Adam :math:`10^{-3}`, 8 patches of 32x32, 500 iterations,
    weight EMA 0.99 (on the WV2 benchmark, benchmarks/pansharpening_nets_wv2.py, longer training on the
    small reduced-resolution scene raised the SAM above EXP's: 7.80 deg at 1000 and 7.96 at 2000
    iterations against 7.50 at 500; the count was chosen on that scene, there is no separate validation).

    References
    ----------
    J. Yang, X. Fu, Y. Hu, Y. Huang, X. Ding, J. Paisley, "PanNet: A deep network architecture for
    pan-sharpening", ICCV 2017, 5449-5457, doi:10.1109/ICCV.2017.193.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ms, pan = rng.random((3, 16, 16)), rng.random((64, 64))
    >>> PanNet(iterations=2, patch_size=16, batch_size=2, device="cpu").fuse(ms, pan, ratio=4).fused.shape
    (3, 64, 64)
    """

    name: ClassVar[str] = "PanNet"
    arch: ClassVar[str] = "PanNet"
    published_recipe: ClassVar[dict[str, Any]] = _published(250_000, 32, 64, 1e-3)
    cpu_recipe: ClassVar[dict[str, Any]] = {**_CPU, "iterations": 500}
    reference: ClassVar[str] = ("J. Yang, X. Fu, Y. Hu, Y. Huang, X. Ding, J. Paisley, \"PanNet: A deep network "
                                "architecture for pan-sharpening\", ICCV 2017, doi:10.1109/ICCV.2017.193")

    def check_patch(self, patch: int, ratio: int) -> int:
        from hysupp.errors import ParameterError

        if patch % ratio or patch // ratio < 3:
            raise ParameterError(f"PanNet: the training patch must be a multiple of the ratio ({ratio}) and at least "
                                 f"3 x ratio pixels, got {patch}")
        return patch


@register
class DiCNN(PansharpeningNet):
    r"""DiCNN: detail-injection-based convolutional network (He et al. 2019, DiCNN1).

    .. math::
        \widehat M = \widetilde M + W_3 * \max(0, W_2 * \max(0, W_1 * [\widetilde M; P] + b_1) + b_2) + b_3,

    three 3x3 convolutions (64, 64, :math:`L` filters, zero padding): the network estimates only the
    details injected into the interpolated MS. L2 loss :math:`\frac1{|B|}\sum_b\|\widehat M_b - M_b\|_2^2`
    on Wald's reduced-resolution pairs.

    Published recipe (as we read the paper; check before relying on it): Adam, learning rate
    :math:`10^{-4}`, batches of 64 patches of 64x64, 300000 iterations. CPU recipe: Adam
    :math:`10^{-3}`, 8 patches of 32x32, 2000 iterations, weight EMA 0.99.

    References
    ----------
    L. He, Y. Rao, J. Li, J. Chanussot, A. Plaza, J. Zhu, B. Li, "Pansharpening via detail injection based
    convolutional neural networks", IEEE JSTARS 12(4), 1188-1204, 2019, doi:10.1109/JSTARS.2019.2898574.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ms, pan = rng.random((3, 16, 16)), rng.random((64, 64))
    >>> DiCNN(iterations=2, patch_size=8, batch_size=2, device="cpu").fuse(ms, pan, ratio=4).fused.shape
    (3, 64, 64)
    """

    name: ClassVar[str] = "DiCNN"
    arch: ClassVar[str] = "DiCNN"
    published_recipe: ClassVar[dict[str, Any]] = _published(300_000, 64, 64, 1e-4)
    cpu_recipe: ClassVar[dict[str, Any]] = dict(_CPU)
    reference: ClassVar[str] = ("L. He, Y. Rao, J. Li, J. Chanussot, A. Plaza, J. Zhu, B. Li, \"Pansharpening via "
                                "detail injection based convolutional neural networks\", IEEE JSTARS 12(4), 2019, "
                                "doi:10.1109/JSTARS.2019.2898574")


@register
class FusionNet(PansharpeningNet):
    r"""FusionNet: detail injection learned from the PAN-minus-MS difference (Deng et al. 2021).

    .. math::
        \widehat M = \widetilde M + f_\theta(P\,\mathbf 1_L^\top - \widetilde M),

    the PAN replicated over the :math:`L` bands minus the interpolated MS (the difference that the
    classical CS/MRA detail injection uses) fed to :math:`f_\theta` = conv3x3(32) - ReLU - 4 residual
    blocks (conv3x3 - ReLU - conv3x3 + skip) - conv3x3(:math:`L`). L2 loss
    :math:`\frac1{|B|}\sum_b\|\widehat M_b - M_b\|_2^2` on Wald's reduced-resolution pairs.

    Published recipe (as we read the paper; check before relying on it): Adam, learning rate
    :math:`3\times10^{-4}`, batches of 32 patches of 64x64, about 400 epochs of the WV3 training set
    (120000 iterations). CPU recipe: Adam :math:`10^{-3}`, 8 patches of 32x32, 2000 iterations, weight EMA
    0.99.

    References
    ----------
    L.-J. Deng, G. Vivone, C. Jin, J. Chanussot, "Detail injection-based deep convolutional neural networks
    for pansharpening", IEEE TGRS 59(8), 6995-7010, 2021, doi:10.1109/TGRS.2020.3031366.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ms, pan = rng.random((3, 16, 16)), rng.random((64, 64))
    >>> FusionNet(iterations=2, patch_size=8, batch_size=2, device="cpu").fuse(ms, pan, ratio=4).fused.shape
    (3, 64, 64)
    """

    name: ClassVar[str] = "FusionNet"
    arch: ClassVar[str] = "FusionNet"
    published_recipe: ClassVar[dict[str, Any]] = _published(120_000, 32, 64, 3e-4)
    cpu_recipe: ClassVar[dict[str, Any]] = dict(_CPU)
    reference: ClassVar[str] = ("L.-J. Deng, G. Vivone, C. Jin, J. Chanussot, \"Detail injection-based deep "
                                "convolutional neural networks for pansharpening\", IEEE TGRS 59(8), 2021, "
                                "doi:10.1109/TGRS.2020.3031366")


def local_correlation(x: Any, y: Any, window: int, eps: float = 1e-12) -> Any:
    r"""Local correlation coefficient of ``x`` ``(B, L, H, W)`` and ``y`` ``(B, 1 or L, H, W)`` over sliding
    ``window`` x ``window`` boxes (valid positions): :math:`\rho = \sigma_{xy} / \sqrt{\sigma_x^2
    \sigma_y^2}`, with means, variances and covariance from box averages."""
    import torch.nn.functional as F

    def avg(t: Any) -> Any:
        return F.avg_pool2d(t, window, stride=1)

    mx, my = avg(x), avg(y)
    cxy = avg(x * y) - mx * my
    vx = (avg(x * x) - mx * mx).clamp_min(0)
    vy = (avg(y * y) - my * my).clamp_min(0)
    return cxy / (vx * vy + eps).sqrt()


@register
class ZPNN(PansharpeningNet):
    r"""Z-PNN-style zero-shot pansharpening: A-PNN trained on the full-resolution scene alone.

    The network is A-PNN (Scarpa et al. 2018: PNN with 48 and 32 filters and the residual
    :math:`\widehat M = \widetilde M + f_\theta([\widetilde M; P])`). As in Z-PNN (Ciotola et al. 2022)
    it is trained on the *target* scene at full resolution, without reference and without Wald's
    scale-invariance assumption, by the loss

    .. math::
        \mathcal L = \underbrace{\big\| \mathcal D_r(\mathbf h^{MS} * \widehat M) - M \big\|_1}_{\text{spectral}}
        + \beta\,\underbrace{\operatorname{mean}_{b,i}\big(1 - \min(\rho_w(\widehat M_b, P)_i,\,
        \rho_w(\widetilde M_b, \mathbf h^{MS}_b * P)_i)\big)}_{\text{spatial}},

    (mean absolute error of the fused image degraded by the sensor's MTF filters and the toolbox
    decimation against the MS; :math:`\rho_w` the local correlation coefficient over ``window`` x
    ``window`` boxes, :func:`local_correlation`). The spatial term pulls every fused band towards
    the PAN's local structure but not beyond the correlation the interpolated MS has with the PAN
    filtered to the band's resolution (our reading of Z-PNN's thresholded correlation loss; the
    threshold's exact construction in the paper may differ). Z-PNN fine-tunes weights pretrained on
    other scenes; none are available here, so training starts from random weights (the residual
    makes the start :math:`\widetilde M`).

    Recipes (ours, no published from-scratch recipe exists): CPU: Adam :math:`10^{-3}`, 4 patches of
    64x64, 600 iterations, weight EMA 0.9 (chosen on the WV2 benchmark among 300 iterations at
    :math:`10^{-4}` and 600 at :math:`10^{-3}`); "published" (GPU): Adam :math:`10^{-4}`, 8 patches of 128x128,
    3000 iterations.

    References
    ----------
    M. Ciotola, S. Vitale, A. Mazza, G. Poggi, G. Scarpa, "Pansharpening by convolutional neural networks
    in the full resolution framework", IEEE TGRS 60, 5408717, 2022, doi:10.1109/TGRS.2022.3163887.
    G. Scarpa, S. Vitale, D. Cozzolino, "Target-adaptive CNN-based pansharpening", IEEE TGRS 56(9),
    5443-5457, 2018, doi:10.1109/TGRS.2018.2817393.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ms, pan = rng.random((3, 16, 16)), rng.random((64, 64))
    >>> ZPNN(iterations=2, patch_size=32, batch_size=1, device="cpu").fuse(ms, pan, ratio=4).fused.shape
    (3, 64, 64)
    """

    name: ClassVar[str] = "Z-PNN"
    arch: ClassVar[str] = "A-PNN"
    published_recipe: ClassVar[dict[str, Any]] = _published(3000, 8, 128, 1e-4)
    cpu_recipe: ClassVar[dict[str, Any]] = {"iterations": 600, "batch_size": 4, "patch_size": 64, "lr": 1e-3,
                                            "optimizer": "adam", "ema_decay": 0.9, "lr_step": None}
    extra_params: ClassVar[tuple[Param, ...]] = (
        Param("beta", float, 1.0, "weight of the spatial (correlation) loss", low=0.0),
        Param("window", int, None, "window of the local correlation (None: the ratio)", low=2, optional=True),
    )
    reference: ClassVar[str] = ("M. Ciotola, S. Vitale, A. Mazza, G. Poggi, G. Scarpa, \"Pansharpening by "
                                "convolutional neural networks in the full resolution framework\", IEEE TGRS 60, 2022, "
                                "doi:10.1109/TGRS.2022.3163887")

    def check_patch(self, patch: int, ratio: int) -> int:
        from hysupp.errors import ParameterError

        if patch % ratio or patch < 2 * ratio:
            raise ParameterError(f"Z-PNN: the training patch must be a multiple of the ratio ({ratio}) and at least "
                                 f"2 x ratio pixels, got {patch}")
        return patch

    def training_data(self, ms: np.ndarray, pan: np.ndarray, ratio: int, sensor: str | None, *,
                      scale: float | None = None) -> Any:
        """The full-resolution scene itself (normalised), with the sensor's MTF gains as protocol."""
        from hysupp.fusion.pansharpening.common import sensor_gains, sensor_pan_gain
        from hysupp.nn.fusion_training import (
            full_resolution_inputs,
            json_plain,
            normalisation_scale,
        )

        data = full_resolution_inputs(ms, pan, ratio, normalisation_scale(ms, pan) if scale is None else scale)
        gains, key = sensor_gains(sensor, data.n_bands)
        data.protocol = json_plain({"name": "full-resolution (zero-shot)", "ratio": int(ratio), "sensor": key,
                                    "mtf": {"ms_gnyq": gains, "pan_gnyq": sensor_pan_gain(sensor, key),
                                            "design": "exact", "taps": 41},
                                    "phase": int(ratio) // 2, "interpolation": "interp23tap"})
        return data

    def prepare(self, data: Any, session: Any) -> None:
        from hysupp.nn.training import to_tensor
        from hysupp.physics.mtf import mtf_kernel

        r = data.ratio
        k = np.stack([mtf_kernel(float(g), r, 41) for g in data.protocol["mtf"]["ms_gnyq"]])[:, None]
        self._ops = {"kernels": to_tensor(k, session), "ratio": r, "window": self.window or r}

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:
        import torch
        import torch.nn.functional as F

        ops = self._ops
        r, k, w = ops["ratio"], ops["kernels"], ops["window"]
        p = k.shape[-1] // 2
        fused = net(batch["ms"], batch["lms"], batch["pan"])
        L = fused.shape[1]
        low = F.conv2d(F.pad(fused, (p, p, p, p), mode="replicate")[:, :, r // 2:, r // 2:], k, stride=r, groups=L)
        spectral = (low - batch["ms"]).abs().mean()
        with torch.no_grad():
            pan_lp = F.conv2d(F.pad(batch["pan"].expand(-1, L, -1, -1), (p, p, p, p), mode="replicate"), k, groups=L)
            target = local_correlation(batch["lms"], pan_lp, w)
        rho = local_correlation(fused, batch["pan"], w)
        spatial = (1.0 - torch.minimum(rho, target)).mean()
        return spectral + self.beta * spatial


class LearnedDegradation:
    r"""The learnable degradation of :class:`VOGTNet`: a PSF :math:`k` shared by the bands and a
    spectral response :math:`w` (nonnegative, sum to one) with an offset :math:`b`.

    ``psf="gaussian"``: an isotropic Gaussian of width :math:`\sigma = e^{s}` (one parameter);
    ``psf="free"``: a free ``size`` x ``size`` kernel :math:`k = \operatorname{softmax}(\kappa)`
    (nonnegative, sums to one). :math:`w = \operatorname{softmax}(\omega)`. ``blur_decimate(x)`` is
    :math:`\mathcal D_r(k * x)` (replicate borders, the toolbox decimation
    :class:`hysupp.physics.Decimation` at phase ``ratio // 2``); ``srf(x)`` is
    :math:`\sum_l w_l x_l + b`.
    """

    def __init__(self, n_bands: int, ratio: int, size: int, psf: str, session: Any) -> None:
        import torch

        from hysupp.physics import Decimation

        self.ratio, self.size, self.psf = int(ratio), int(size), psf
        opts = {"device": session.device, "dtype": session.dtype}
        self.log_sigma = torch.tensor(math.log(0.5 * ratio), **opts, requires_grad=True)
        self.kernel_logits = torch.zeros(size * size, **opts, requires_grad=True)
        self.srf_logits = torch.zeros(int(n_bands), **opts, requires_grad=True)
        self.offset = torch.zeros((), **opts, requires_grad=True)
        self.decimation = Decimation(int(ratio), phase=int(ratio) // 2)
        c = torch.arange(size, **opts) - (size - 1) / 2
        self._r2 = c[:, None] ** 2 + c[None, :] ** 2

    def parameters(self) -> list[Any]:
        psf = [self.log_sigma] if self.psf == "gaussian" else [self.kernel_logits]
        return [*psf, self.srf_logits, self.offset]

    def kernel(self) -> Any:
        import torch

        if self.psf == "gaussian":
            k = torch.exp(-0.5 * self._r2 / torch.exp(2 * self.log_sigma))
            return k / k.sum()
        return torch.softmax(self.kernel_logits, 0).reshape(self.size, self.size)

    def weights(self) -> Any:
        import torch

        return torch.softmax(self.srf_logits, 0)

    def blur_decimate(self, x: Any) -> Any:
        import torch.nn.functional as F

        L, p = x.shape[1], self.size // 2
        k = self.kernel()[None, None].expand(L, 1, -1, -1)
        return self.decimation.forward(F.conv2d(F.pad(x, (p, p, p, p), mode="replicate"), k, groups=L))

    def srf(self, x: Any) -> Any:
        return (x * self.weights()[None, :, None, None]).sum(1, keepdim=True) + self.offset

    def info(self) -> dict[str, Any]:
        k = self.kernel().detach().cpu().double().numpy()
        from hysupp.physics import kernel_sigma

        return {"psf": self.psf, "psf_size": self.size, "psf_sigma": float(np.mean(kernel_sigma(k, axis=-1))),
                "srf": [float(v) for v in self.weights().detach().cpu()], "offset": float(self.offset.detach().cpu())}


@register
class VOGTNet(PansharpeningNet):
    r"""VOGTNet-style two-stage pansharpening with a learnt PSF and SRF (after VOGTNet, IEEE TNNLS 2024).

    VOGTNet (variational optimisation-guided two-stage network) trains a dual-branch fusion network
    with supervision, then refines it without reference through the spatial and spectral degradation
    (PSF and SRF) estimated from the data. This is our implementation of that scheme, written from
    the abstract (the paper's text and code were not read: architecture sizes, loss weights and
    recipes are ours, not the authors'):

    **Stage 1, degradation.** From the observed MS :math:`M` and PAN :math:`P` alone, learn a PSF
    :math:`k` (an isotropic Gaussian of learnable width, or with ``psf="free"`` a free nonnegative
    kernel summing to one) and an SRF :math:`w \in \Delta_L` (nonnegative, sum to one) with offset
    :math:`b` by the consistency of the PAN degraded to the MS grid with the SRF of the MS:

    .. math::
        \min_{k, w, b}\ \big\| \mathcal D_r(k * P) - (w^\top M + b) \big\|_2^2

    (Adam, ``degradation_iterations`` steps of learning rate ``degradation_lr`` on the whole image;
    :math:`\mathcal D_r` the toolbox decimation at phase :math:`r/2`, :class:`LearnedDegradation`).

    **Stage 2, fusion.** The dual-branch network :math:`f_\theta`
    (:class:`hysupp.nn.pansharpening_nets.DualBranch`, :math:`\widehat X = \widetilde M +
    g_\theta(\widetilde M, P)`) is trained on the sum of a reduced-resolution supervised loss on
    Wald's pairs :math:`(M^{\downarrow}, P^{\downarrow}) \to M` and the two full-resolution
    consistency losses through the learnt physics, on random patches of the observed scene:

    .. math::
        \mathcal L(\theta) = \lambda_{rr} \| f_\theta(M^\downarrow, P^\downarrow) - M \|_2^2
        + \lambda_{ms} \| \mathcal D_r(k * f_\theta(M, P)) - M \|_2^2
        + \lambda_{pan} \| w^\top f_\theta(M, P) + b - P \|_2^2

    (means over pixels; ``lambda_rr``, ``lambda_ms``, ``lambda_pan``). Stage 1's PSF and SRF are kept
    fixed in stage 2 and reported in ``info["training"]["degradation"]``. No ground truth of a
    benchmark pair is used: both stages see only the MS and PAN given to :meth:`fuse`.

    Recipes (ours): CPU: Adam :math:`10^{-3}`, 8 patches of 32x32 (each loss), 1500 iterations,
    weight EMA 0.99; "published" (GPU): Adam :math:`10^{-3}`, 32 patches of 64x64, 50000 iterations.

    References
    ----------
    "VOGTNet: Variational optimization-guided two-stage network for multispectral and panchromatic
    image fusion", IEEE Transactions on Neural Networks and Learning Systems, 2024 (PubMed 38885100;
    authors' code https://github.com/HZC-1998/VOGTNet). The author list and the DOI could not be
    verified here and are left out rather than guessed.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ms, pan = rng.random((3, 16, 16)), rng.random((64, 64))
    >>> res = VOGTNet(iterations=2, degradation_iterations=5, patch_size=16, batch_size=2,
    ...               device="cpu").fuse(ms, pan, ratio=4)
    >>> res.fused.shape, len(res.info["training"]["degradation"]["srf"])
    ((3, 64, 64), 3)
    """

    name: ClassVar[str] = "VOGTNet"
    arch: ClassVar[str] = "DualBranch"
    published_recipe: ClassVar[dict[str, Any]] = _published(50_000, 32, 64, 1e-3)
    cpu_recipe: ClassVar[dict[str, Any]] = {**_CPU, "iterations": 1500}
    fast_params: ClassVar[dict[str, Any]] = {**PansharpeningNet.fast_params, "degradation_iterations": 10}
    extra_params: ClassVar[tuple[Param, ...]] = (
        Param("degradation_iterations", int, 300, "stage 1: Adam steps learning the PSF and SRF", low=1),
        Param("degradation_lr", float, 0.05, "stage 1: learning rate", low=1e-12),
        Param("psf", str, "gaussian", "learnt PSF: isotropic Gaussian (learnable width) or free normalised kernel",
              choices=("gaussian", "free")),
        Param("psf_size", int, None, "PSF size in PAN pixels (None: 4 x ratio + 1)", low=1, optional=True),
        Param("lambda_rr", float, 1.0, "weight of the reduced-resolution supervised loss", low=0.0),
        Param("lambda_ms", float, 1.0, "weight of the full-resolution MS consistency D(k * X) ~ MS", low=0.0),
        Param("lambda_pan", float, 1.0, "weight of the full-resolution PAN consistency SRF(X) ~ PAN", low=0.0),
    )
    reference: ClassVar[str] = ("\"VOGTNet: Variational optimization-guided two-stage network for multispectral and "
                                "panchromatic image fusion\", IEEE TNNLS, 2024 (PubMed 38885100; "
                                "https://github.com/HZC-1998/VOGTNet)")

    def check_patch(self, patch: int, ratio: int) -> int:
        from hysupp.errors import ParameterError

        if patch % ratio:
            raise ParameterError(f"VOGTNet: the training patch must be a multiple of the ratio ({ratio}), got {patch}")
        return patch

    def training_data(self, ms: np.ndarray, pan: np.ndarray, ratio: int, sensor: str | None, *,
                      scale: float | None = None) -> Any:
        """Wald's reduced-resolution pair (supervised term); the full-resolution scene is kept for stage 1
        and the consistency terms."""
        from hysupp.nn.fusion_training import full_resolution_inputs

        data = super().training_data(ms, pan, ratio, sensor, scale=scale)
        data.protocol = {**data.protocol, "name": "wald-reduced-resolution + full-resolution consistency"}
        self._full = full_resolution_inputs(ms, pan, ratio, data.scale)
        return data

    def estimate_degradation(self, full: Any, session: Any) -> LearnedDegradation:
        """Stage 1 on the normalised full-resolution inputs ``full`` (class docstring)."""
        import torch

        from hysupp.nn.training import to_tensor

        r = full.ratio
        deg = LearnedDegradation(full.n_bands, r, self.psf_size or 4 * r + 1, self.psf, session)
        ms, pan = to_tensor(full.ms[None], session), to_tensor(full.pan[None], session)
        opt = torch.optim.Adam(deg.parameters(), lr=float(self.degradation_lr))
        losses = []
        with tracker(f"{self.name} degradation", total=int(self.degradation_iterations)) as bar:
            for k in range(int(self.degradation_iterations)):
                opt.zero_grad(set_to_none=True)
                loss = torch.mean((deg.blur_decimate(pan) - deg.srf(ms)) ** 2)
                loss.backward()
                opt.step()
                if k == 0 or k == int(self.degradation_iterations) - 1:
                    losses.append(float(loss.detach()))
                bar.update(k + 1, loss=lambda loss=loss: float(loss.detach()))
        for p in deg.parameters():
            p.requires_grad_(False)
        self._degradation_info = {**deg.info(), "iterations": int(self.degradation_iterations),
                                  "loss_first": losses[0], "loss_last": losses[-1]}
        return deg

    def prepare(self, data: Any, session: Any) -> None:
        from hysupp.nn.fusion_training import PatchSampler

        full = self._full
        patch = min(int(self.recipe_values(session.device)["patch_size"]), *full.lms.shape[1:])
        patch -= patch % full.ratio
        self._deg = self.estimate_degradation(full, session)
        self._full_sampler = PatchSampler(full, patch, device=session.device, dtype=session.dtype,
                                          seed=(session.seed or 0) + 1)

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:
        import torch.nn.functional as F

        deg = self._deg
        rr = F.mse_loss(net(batch["ms"], batch["lms"], batch["pan"]), batch["gt"])
        f = self._full_sampler.sample(batch["lms"].shape[0])
        x = net(f["ms"], f["lms"], f["pan"])
        return (self.lambda_rr * rr + self.lambda_ms * F.mse_loss(deg.blur_decimate(x), f["ms"])
                + self.lambda_pan * F.mse_loss(deg.srf(x), f["pan"]))

    def train(self, ms: np.ndarray, pan: np.ndarray, *, ratio: int, sensor: str | None = None,
              session: Any = None, init: Any = None, iterations: int | None = None) -> Any:
        ck = super().train(ms, pan, ratio=ratio, sensor=sensor, session=session, init=init, iterations=iterations)
        ck.training = {**ck.training, "degradation": self._degradation_info}
        return ck
