"""Shared pieces of the torch-based methods: device/dtype resolution (more blocks to come)."""

from hysupp.nn.device import resolve_device, resolve_dtype

__all__ = ["resolve_device", "resolve_dtype"]
