r"""Torch modules of the single-image super-resolution networks (:mod:`hysupp.fusion.superres.nets`).

Importing this module imports torch; the registered methods import it lazily. Every network has the
call ``net(ms, lms) -> (B, L, H, W)`` with ``ms`` the low-resolution image ``(B, L, h, w)`` and
``lms`` its shift-free bicubic interpolation ``(B, L, H, W)`` (``H = r h``); convolutions use
replicate padding ("same" size).

>>> import torch
>>> from hysupp.nn.superres_nets import build
>>> net = build({"name": "VDSR", "n_bands": 3, "ratio": 2, "depth": 4})
>>> net(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 16, 16)).shape
torch.Size([1, 3, 16, 16])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["EDSR", "SRCNN", "VDSR", "S5Net", "build"]


def _conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2, padding_mode="replicate")


class SRCNN(nn.Module):
    """Three layers 9-5-5 (64, 32 filters) on the interpolated image (Dong et al. 2016, 9-5-5 variant)."""

    def __init__(self, n_bands: int, f1: int = 9, f2: int = 5, f3: int = 5, n1: int = 64, n2: int = 32) -> None:
        super().__init__()
        self.conv1 = _conv(n_bands, n1, f1)
        self.conv2 = _conv(n1, n2, f2)
        self.conv3 = _conv(n2, n_bands, f3)

    def forward(self, ms: Any, lms: torch.Tensor) -> torch.Tensor:
        return self.conv3(torch.relu(self.conv2(torch.relu(self.conv1(lms)))))


class VDSR(nn.Module):
    """``depth`` 3x3 conv layers (64 filters, ReLU, He initialisation) predicting the residual to the
    interpolated image."""

    def __init__(self, n_bands: int, depth: int = 20, features: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv(n_bands, features, 3), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [_conv(features, features, 3), nn.ReLU(inplace=True)]
        layers.append(_conv(features, n_bands, 3))
        self.body = nn.Sequential(*layers)
        for m in self.body:       # He et al. (2015) initialisation, as the paper (the default shrinks 20 layers)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, ms: Any, lms: torch.Tensor) -> torch.Tensor:
        return lms + self.body(lms)


class _ResBlock(nn.Module):
    def __init__(self, features: int, res_scale: float) -> None:
        super().__init__()
        self.conv1 = _conv(features, features, 3)
        self.conv2 = _conv(features, features, 3)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.conv2(torch.relu(self.conv1(x)))


class EDSR(nn.Module):
    """EDSR-lite: head conv, ``blocks`` residual blocks without batch norm, long skip, pixel-shuffle
    upsampler (x2 stages for powers of two, one stage otherwise), tail conv; plus the interpolated image
    (global residual, our addition for small training sets)."""

    def __init__(self, n_bands: int, ratio: int, blocks: int = 8, features: int = 64, res_scale: float = 1.0) -> None:
        super().__init__()
        self.head = _conv(n_bands, features, 3)
        self.body = nn.Sequential(*[_ResBlock(features, res_scale) for _ in range(blocks)], _conv(features, features, 3))
        ups: list[nn.Module] = []
        r = int(ratio)
        if r & (r - 1) == 0:
            while r > 1:
                ups += [_conv(features, 4 * features, 3), nn.PixelShuffle(2)]
                r //= 2
        else:
            ups += [_conv(features, r * r * features, 3), nn.PixelShuffle(r)]
        self.up = nn.Sequential(*ups)
        self.tail = _conv(features, n_bands, 3)

    def forward(self, ms: torch.Tensor, lms: torch.Tensor) -> torch.Tensor:
        h = self.head(ms)
        return lms + self.tail(self.up(h + self.body(h)))


class S5Net(nn.Module):
    """Per-channel residual CNN: each band alone (folded into the batch) through conv 9x9 (64) - ReLU -
    conv 5x5 (32) - ReLU - conv 5x5 (1), added to the band's interpolation; the same weights for every
    band (per-band copies after fine-tuning)."""

    def __init__(self, n1: int = 64, n2: int = 32) -> None:
        super().__init__()
        self.net = SRCNN(1, n1=n1, n2=n2)

    def forward(self, ms: Any, lms: torch.Tensor) -> torch.Tensor:
        B, L, H, W = lms.shape
        x = lms.reshape(B * L, 1, H, W)
        return (x + self.net(None, x)).reshape(B, L, H, W)


def build(architecture: dict[str, Any]) -> nn.Module:
    """The module of an architecture dict (``name``, ``n_bands``, ``ratio`` and the net's options)."""
    a = dict(architecture)
    name, L, r = a.pop("name"), int(a.pop("n_bands")), int(a.pop("ratio"))
    if name == "SRCNN":
        return SRCNN(L, **a)
    if name == "VDSR":
        return VDSR(L, **a)
    if name == "EDSR":
        return EDSR(L, r, **a)
    if name == "S5Net":
        return S5Net(**a)
    raise ValueError(f"unknown super-resolution architecture {name!r}")
