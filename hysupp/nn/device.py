"""Device and dtype resolution for torch methods (``device="auto"|"cpu"|"cuda"[:k]``).

Example
-------
>>> from hysupp.nn.device import resolve_device, resolve_dtype
>>> resolve_device("cpu").type, resolve_dtype("float64")
('cpu', torch.float64)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hysupp.errors import ParameterError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float64")


def resolve_device(device: str | Any = "auto") -> Any:
    """A ``torch.device``: ``"auto"`` picks CUDA when available, else CPU; ``"cuda"`` without a
    usable CUDA device raises :class:`ParameterError` (never a silent fallback)."""
    import torch

    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ParameterError(f"device {device!r} requested but CUDA is not available (torch "
                                 f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); use device='cpu'")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda[:k]', got {device!r}")


def resolve_dtype(dtype: str | Any = "float32") -> Any:
    """``torch.float32`` (default) or ``torch.float64`` from a name or a torch/numpy dtype."""
    import torch

    if isinstance(dtype, torch.dtype):
        if dtype in (torch.float32, torch.float64):
            return dtype
        raise ParameterError(f"dtype must be float32 or float64, got {dtype}")
    name = getattr(dtype, "name", None) or str(dtype)
    name = name.replace("torch.", "")
    if name not in DTYPES:
        raise ParameterError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return getattr(torch, name)


@contextmanager
def flush_denormal(enable: bool = True) -> Iterator[bool]:
    """Turn on flush-to-zero / denormals-are-zero for torch CPU arithmetic, restoring the previous
    state afterwards (detected by computing a subnormal product). Yields whether FTZ is supported."""
    import torch

    def flushes() -> bool:  # a subnormal product is flushed to zero
        return (torch.tensor([1e-30]) * torch.tensor([1e-10])).item() == 0.0

    before = flushes()
    supported = torch.set_flush_denormal(True) if enable else False
    try:
        yield supported
    finally:
        if enable and supported and not before:
            torch.set_flush_denormal(False)
