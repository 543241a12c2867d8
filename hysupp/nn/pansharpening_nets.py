r"""Architectures of the pansharpening networks (PNN, PanNet, DiCNN, FusionNet), written from the papers.

Importing this module imports torch; the registered methods (:mod:`hysupp.fusion.pansharpening.nets`)
import it lazily. Every network has the same call ``net(ms, lms, pan) -> (B, L, H, W)`` with ``ms``
the low-resolution MS ``(B, L, H/r, W/r)`` (None for the nets that do not use it), ``lms`` the
MS interpolated to the PAN grid ``(B, L, H, W)`` and ``pan`` ``(B, 1, H, W)``.

* :class:`PNN` (Masi et al. 2016): ``[lms, pan] -> conv9x9(64) -> ReLU -> conv5x5(32) -> ReLU ->
  conv5x5(L)``, *valid* convolutions (the output is 16 pixels smaller; :meth:`PNN.forward`
  pads the input by 8 pixels, replicate, unless ``pad=False``); ``residual=True`` adds ``lms``
  (A-PNN, Scarpa et al. 2018, with 48 first-layer filters: the Z-PNN network).
* :class:`PanNet` (Yang et al. 2017): high-pass inputs :math:`x - \mathrm{box}_5 * x`, the MS
  high-pass upsampled by a learned transposed convolution (kernel ``2r``, stride ``r``),
  concatenated with the PAN high-pass, ``conv3x3(32) -> ReLU -> 4 x ResBlock(32) -> conv3x3(L)``,
  plus ``lms`` (spectral preservation by the skip).
* :class:`DiCNN` (DiCNN1, He et al. 2019): ``[lms, pan] -> conv3x3(64) -> ReLU -> conv3x3(64) ->
  ReLU -> conv3x3(L)`` plus ``lms`` (detail injection).
* :class:`FusionNet` (Deng et al. 2021): the difference :math:`P\mathbf 1_L - \widetilde M`
  (PAN replicated over the bands minus ``lms``) ``-> conv3x3(32) -> ReLU -> 4 x ResBlock(32) ->
  conv3x3(L)`` plus ``lms``.
* :class:`DualBranch` (the fusion network of :class:`hysupp.fusion.pansharpening.nets.VOGTNet`, our
  reading of VOGTNet's dual-branch fusion network): a spectral branch ``lms -> conv3x3(c) -> ReLU``
  and a spatial branch ``pan -> conv3x3(c) -> ReLU``, concatenated, ``2 x ResBlock(2c) ->
  conv3x3(L)`` plus ``lms``.

``ResBlock(c)``: ``x + conv3x3(c)(ReLU(conv3x3(c)(x)))``. The 3x3 convolutions are zero-padded
('same') as in the authors' code.

Example
-------
>>> import torch
>>> from hysupp.nn.pansharpening_nets import build
>>> torch.manual_seed(0) and None
>>> ms, lms, pan = torch.rand(2, 4, 4, 4), torch.rand(2, 4, 16, 16), torch.rand(2, 1, 16, 16)
>>> [tuple(build(a, 4, 4)(ms, lms, pan).shape) for a in ("PNN", "PanNet", "DiCNN", "FusionNet", "DualBranch")]
[(2, 4, 16, 16), (2, 4, 16, 16), (2, 4, 16, 16), (2, 4, 16, 16), (2, 4, 16, 16)]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from hysupp.errors import ParameterError

__all__ = ["PNN", "DiCNN", "DualBranch", "FusionNet", "PanNet", "ResBlock", "build", "high_pass"]


def high_pass(x: torch.Tensor, size: int = 5) -> torch.Tensor:
    r"""PanNet's high-pass: :math:`x - \mathrm{box}_{s} * x` (``size`` x ``size`` mean, reflected borders)."""
    p = size // 2
    return x - F.avg_pool2d(F.pad(x, (p, p, p, p), mode="reflect"), size, stride=1)


class ResBlock(nn.Module):
    """``x + conv3x3(ReLU(conv3x3(x)))`` with ``channels`` feature maps."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class PNN(nn.Module):
    """Masi et al. (2016) three-layer CNN on ``[lms, pan]`` (valid convolutions; module docstring)."""

    margin = 8   # (9 - 1) / 2 + (5 - 1) / 2 + (5 - 1) / 2

    def __init__(self, n_bands: int, ratio: int = 4, *, features: tuple[int, int] = (64, 32),
                 residual: bool = False) -> None:
        super().__init__()
        self.residual = bool(residual)
        self.conv1 = nn.Conv2d(n_bands + 1, features[0], 9)
        self.conv2 = nn.Conv2d(features[0], features[1], 5)
        self.conv3 = nn.Conv2d(features[1], n_bands, 5)

    def forward(self, ms: Any, lms: torch.Tensor, pan: torch.Tensor, *, pad: bool = True) -> torch.Tensor:
        x = torch.cat([lms, pan], dim=1)
        if pad:
            m = self.margin
            x = F.pad(x, (m, m, m, m), mode="replicate")
        out = self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))
        if self.residual:
            m = 0 if pad else self.margin
            out = out + (lms[:, :, m:-m, m:-m] if m else lms)
        return out


class PanNet(nn.Module):
    """Yang et al. (2017): high-pass domain ResNet with a learned MS upsampling, plus ``lms``."""

    def __init__(self, n_bands: int, ratio: int = 4, *, features: int = 32, blocks: int = 4) -> None:
        super().__init__()
        # kernel 2r (even r, the published 8 x 8 at r = 4) or 2r - 1 (odd r): output exactly r x the input, each
        # MS pixel's footprint centred on PAN pixel r i + r // 2 (the interp23tap grid)
        self.up = nn.ConvTranspose2d(n_bands, n_bands, 2 * ratio - ratio % 2, stride=ratio, padding=ratio // 2)
        self.head = nn.Conv2d(n_bands + 1, features, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(features) for _ in range(blocks)])
        self.tail = nn.Conv2d(features, n_bands, 3, padding=1)

    def forward(self, ms: torch.Tensor, lms: torch.Tensor, pan: torch.Tensor) -> torch.Tensor:
        if ms is None:
            raise ParameterError("PanNet needs the low-resolution MS patch (patch size a multiple of the ratio)")
        x = torch.cat([self.up(high_pass(ms)), high_pass(pan)], dim=1)
        return lms + self.tail(self.body(F.relu(self.head(x))))


class DiCNN(nn.Module):
    """He et al. (2019) DiCNN1: three 3x3 convolutions on ``[lms, pan]``, plus ``lms``."""

    def __init__(self, n_bands: int, ratio: int = 4, *, features: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(n_bands + 1, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        self.conv3 = nn.Conv2d(features, n_bands, 3, padding=1)

    def forward(self, ms: Any, lms: torch.Tensor, pan: torch.Tensor) -> torch.Tensor:
        x = torch.cat([lms, pan], dim=1)
        return lms + self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))


class FusionNet(nn.Module):
    """Deng et al. (2021): ResNet on ``pan - lms`` (PAN replicated over the bands), plus ``lms``."""

    def __init__(self, n_bands: int, ratio: int = 4, *, features: int = 32, blocks: int = 4) -> None:
        super().__init__()
        self.head = nn.Conv2d(n_bands, features, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(features) for _ in range(blocks)])
        self.tail = nn.Conv2d(features, n_bands, 3, padding=1)

    def forward(self, ms: Any, lms: torch.Tensor, pan: torch.Tensor) -> torch.Tensor:
        x = pan.expand_as(lms) - lms
        return lms + self.tail(self.body(F.relu(self.head(x))))


class DualBranch(nn.Module):
    """Spectral branch on ``lms`` and spatial branch on ``pan``, fused by residual blocks, plus ``lms``."""

    def __init__(self, n_bands: int, ratio: int = 4, *, features: int = 32, blocks: int = 2) -> None:
        super().__init__()
        self.spectral = nn.Conv2d(n_bands, features, 3, padding=1)
        self.spatial = nn.Conv2d(1, features, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(2 * features) for _ in range(blocks)])
        self.tail = nn.Conv2d(2 * features, n_bands, 3, padding=1)

    def forward(self, ms: Any, lms: torch.Tensor, pan: torch.Tensor) -> torch.Tensor:
        x = torch.cat([F.relu(self.spectral(lms)), F.relu(self.spatial(pan))], dim=1)
        return lms + self.tail(self.body(x))


def apnn(n_bands: int, ratio: int = 4) -> PNN:
    """A-PNN (Scarpa et al. 2018): PNN with 48 and 32 filters and a residual connection to ``lms``."""
    return PNN(n_bands, ratio, features=(48, 32), residual=True)


ARCHITECTURES = {"PNN": PNN, "PanNet": PanNet, "DiCNN": DiCNN, "FusionNet": FusionNet, "A-PNN": apnn,
                 "DualBranch": DualBranch}


def build(name: str, n_bands: int, ratio: int, **kwargs: Any) -> nn.Module:
    """The network ``name`` for ``n_bands`` bands at ``ratio`` (extra architecture keywords passed on)."""
    if name not in ARCHITECTURES:
        raise ParameterError(f"unknown pansharpening network {name!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name](int(n_bands), int(ratio), **kwargs)
