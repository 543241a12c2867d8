r"""Shared base of the fusion/super-resolution networks that train on the user's own scene.

A *scene-trained* network has no pretrained weights: it learns on reduced-resolution pairs built from
the input itself through the shared physics (Wald's protocol), then is applied at full resolution.
This module holds what every such network shares, independent of its task:

* :func:`net_params` — the declared parameters (``weights``, ``recipe``, ``iterations``/``epochs``,
  ``batch_size``, ``patch_size``, ``lr``, ``optimizer``, ``ema_decay``, ``lr_step``, ``fine_tune``,
  ``fine_tune_lr`` and the torch run parameters ``seed``/``device``/``dtype``/``history_every``);
* :class:`SceneTrainedNet` — a mixin (put it *before* the task base class, e.g.
  ``class SRNet(SceneTrainedNet, SuperResolver)``) with the recipe logic
  (:meth:`~SceneTrainedNet.recipe_values`: ``"published"`` on CUDA, ``"cpu"`` on the CPU for
  ``recipe="auto"``, explicit parameters always win), the training of a network on a
  :class:`hysupp.nn.fusion_training.TrainingData` (:meth:`~SceneTrainedNet.fit`, returning a
  :class:`~hysupp.nn.fusion_training.Checkpoint`), and the weights / fine-tuning logic
  (:meth:`~SceneTrainedNet.obtain_checkpoint`).

A task subclass provides :meth:`~SceneTrainedNet.build` (the torch module from the checkpoint's
``architecture`` dict), :meth:`~SceneTrainedNet.loss` and its own inputs/inference. Nothing here
imports torch at module level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["RECIPE_KEYS", "RecipeMixin", "SceneTrainedNet", "net_params"]

#: The parameters a recipe sets.
RECIPE_KEYS = ("iterations", "batch_size", "patch_size", "lr", "optimizer", "ema_decay", "lr_step")


def net_params(published: dict[str, Any], fine_tune: int = 0, fine_tune_lr: float = 1e-4,
               patch_help: str = "training patch size on the high-resolution grid (published)") -> tuple:
    """The :class:`hysupp.methods.params.Param` declarations of a scene-trained network, with the
    published recipe as defaults (module docstring)."""
    from hysupp.methods.params import Param
    from hysupp.nn.training import run_params

    return (
        Param("weights", str, None, "checkpoint (.pt) to load instead of training on the scene", optional=True),
        Param("recipe", str, "auto", "training recipe: published, cpu, or auto (published on CUDA, cpu on CPU); "
              "explicit parameters override it", choices=("auto", "published", "cpu")),
        Param("iterations", int, published["iterations"], "training iterations (published recipe)", low=1),
        Param("epochs", int, None, "training epochs over the scene's tiles (overrides iterations)", low=1,
              optional=True),
        Param("batch_size", int, published["batch_size"], "patches per batch (published recipe)", low=1),
        Param("patch_size", int, published["patch_size"], patch_help, low=1),
        Param("lr", float, published["lr"], "learning rate (published recipe)", low=1e-12),
        Param("optimizer", str, published["optimizer"], "optimiser (published recipe)", choices=("adam", "sgd")),
        Param("ema_decay", float, published["ema_decay"], "EMA decay of the weights (0: off)", low=0.0, high=0.9999),
        Param("lr_step", int, published["lr_step"], "multiply the learning rate by lr_gamma every lr_step iterations",
              low=1, optional=True),
        Param("fine_tune", int, fine_tune, "with weights: fine-tune this many iterations on the scene's own "
              "training pairs first (target-adaptive; 0: off)", low=0),
        Param("fine_tune_lr", float, fine_tune_lr, "learning rate of the fine-tuning", low=1e-12),
    ) + run_params(history_every=100)


class RecipeMixin:
    """The training recipes of a network method: ``published_recipe`` and ``cpu_recipe`` (dicts of
    the ``recipe_keys`` parameters), chosen by the ``recipe`` parameter (``"auto"``: published on
    CUDA, cpu otherwise); parameters given explicitly to the constructor always win. Shared by every
    trainable fusion network (pansharpening, HS-MS, super-resolution)."""

    published_recipe: ClassVar[dict[str, Any]] = {}
    cpu_recipe: ClassVar[dict[str, Any]] = {}
    recipe_keys: ClassVar[tuple[str, ...]] = RECIPE_KEYS
    #: seeded weights, batches and crops (``Method.stochastic``)
    stochastic: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._given = frozenset(kwargs)

    def recipe_values(self, device: Any) -> dict[str, Any]:
        """The training settings: the recipe's values, overridden by the parameters given explicitly."""
        name = self.recipe  # type: ignore[attr-defined]
        if name == "auto":
            name = "published" if getattr(device, "type", str(device)) == "cuda" else "cpu"
        base = dict(self.published_recipe if name == "published" else self.cpu_recipe)
        for key in self.recipe_keys:
            if key in self._given:
                base[key] = self.config[key]  # type: ignore[attr-defined]
        base["recipe"] = name
        return base


class SceneTrainedNet(RecipeMixin):
    """Mixin of the scene-trained networks (module docstring)."""

    arch: ClassVar[str] = ""
    #: Multiplier of the learning rate every ``lr_step`` iterations.
    lr_gamma: ClassVar[float] = 0.1

    # ------------------------------------------------------------------ hooks
    def build(self, architecture: dict[str, Any]) -> Any:  # pragma: no cover - interface
        """The torch module described by ``architecture`` (the checkpoint's dict)."""
        raise NotImplementedError

    def architecture(self, data: Any) -> dict[str, Any]:
        """The architecture dict of a network trained on ``data`` (default: name, bands, ratio)."""
        return {"name": self.arch, "n_bands": int(data.n_bands), "ratio": int(data.ratio)}

    def loss(self, net: Any, batch: dict[str, Any]) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def param_groups(self, net: Any, lr: float) -> list[dict[str, Any]] | None:
        return None

    def check_patch(self, patch: int, ratio: int) -> int:
        """The patch size actually used (raise :class:`hysupp.errors.ParameterError` when impossible)."""
        return patch

    def prepare(self, data: Any, session: Any) -> None:
        """Set up what :meth:`loss` needs beyond the batch."""

    def after_fit(self, net: Any, result: Any, data: Any, sampler: Any, session: Any, init: Any,
                  rec: dict[str, Any]) -> dict[str, Any]:
        """The state dict to save (default: the trained one); a net may train more here (per-band
        fine-tuning)."""
        return result.state_dict

    # ------------------------------------------------------------------ training
    def fit(self, data: Any, session: Any, *, init: Any = None, iterations: int | None = None,
            sampler: Any = None) -> Any:
        """Train on ``data`` (a :class:`~hysupp.nn.fusion_training.TrainingData`) and return a
        :class:`~hysupp.nn.fusion_training.Checkpoint`. ``init``: a checkpoint to start from
        (fine-tuning at ``fine_tune_lr``, no EMA nor learning-rate steps); ``iterations`` then
        overrides the recipe's."""
        from hysupp.nn.fusion_training import Checkpoint, PatchSampler, train_network

        s = session
        rec = self.recipe_values(s.device)
        if sampler is None:   # random aligned patches of data (another sampler: e.g. a data set's samples)
            patch = self.check_patch(min(int(rec["patch_size"]), *data.lms.shape[1:]), int(data.ratio))
            sampler = PatchSampler(data, patch, device=s.device, dtype=s.dtype, seed=s.seed)
        if iterations is None:
            iterations = int(rec["iterations"])
            if self.epochs is not None:
                iterations = int(self.epochs) * math.ceil(sampler.n_tiles() / int(rec["batch_size"]))
        arch = self.architecture(data) if init is None else dict(init.architecture)
        net = self.build(arch)
        if init is not None:
            net.load_state_dict(self.shared_state(init.state_dict))
        net = net.to(device=s.device, dtype=s.dtype)
        self.prepare(data, s)
        lr = float(rec["lr"]) if init is None else float(self.fine_tune_lr)
        result = train_network(net, self.loss, sampler, iterations=iterations, batch=int(rec["batch_size"]),
                               optimizer=rec["optimizer"], lr=lr, param_groups=self.param_groups(net, lr),
                               lr_step=rec.get("lr_step") if init is None else None, lr_gamma=self.lr_gamma,
                               ema_decay=float(rec["ema_decay"]) if init is None else 0.0,
                               history_every=self.history_every, name=self.name)
        rec.update(iterations=iterations, patch_size=sampler.patch, lr=lr)
        state = self.after_fit(net, result, data, sampler, s, init, rec)
        training = {**result.info(), "recipe": rec, **s.info()}
        if init is not None:
            training = {**training, "fine_tuned_from": {"training": init.training, "protocol": init.protocol}}
        return Checkpoint(method=self.name, architecture=arch,
                          params={k: v for k, v in self.config.items() if k != "weights"},
                          protocol=data.protocol, normalisation={"kind": "max", "scale": data.scale},
                          state_dict=state, training=training)

    def shared_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """The part of a saved state dict that :meth:`build`'s module loads (default: all of it)."""
        return state

    def obtain_checkpoint(self, session: Any, make_data: Callable[[float | None], Any], *, n_bands: int,
                          ratio: int) -> Any:
        """The checkpoint to apply: ``weights`` loaded (and fine-tuned ``fine_tune`` iterations on
        ``make_data(scale)`` when asked), or a network trained on ``make_data(None)``."""
        from hysupp.nn.fusion_training import Checkpoint

        if self.weights is not None:
            ck = Checkpoint.load(self.weights, method=self.name, n_bands=n_bands, ratio=ratio)
            if self.fine_tune > 0:
                ck = self.fit(make_data(float(ck.normalisation["scale"])), session, init=ck,
                              iterations=int(self.fine_tune))
            return ck
        return self.fit(make_data(None), session)

    def run_info(self, checkpoint: Any, session: Any) -> dict[str, Any]:
        """The ``info`` of a result: weights, whether trained on the scene, protocol, training."""
        return {"weights": self.weights, "trained_on_scene": self.weights is None or self.fine_tune > 0,
                "fine_tuned": self.weights is not None and self.fine_tune > 0, "protocol": checkpoint.protocol,
                "normalisation": checkpoint.normalisation, "training": checkpoint.training, **session.info()}
