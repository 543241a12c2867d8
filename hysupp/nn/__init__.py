"""Shared pieces of the torch-based methods: device/dtype resolution (:mod:`.device`), the training
loop utilities (:mod:`.training`: seeding, optimisers, EMA of outputs, loss history) and network
blocks (:mod:`.blocks`: conv-BN-LeakyReLU, the deep-image-prior skip network). ``training`` and
``blocks`` import torch, so they are not imported here."""

from hysupp.nn.device import resolve_device, resolve_dtype

__all__ = ["resolve_device", "resolve_dtype"]
