r"""Reusable network blocks of the deep-image-prior (DIP) unmixing networks (SUnCNN, UnDIP, MiSiCNet...).

Importing this module imports torch: method modules (auto-imported by the registry) must import it
lazily, inside their methods.

* :func:`conv_block`: ``[BN] -> pad -> Conv2d -> [BN] -> [LeakyReLU]``, the unit of all these
  networks (reflection padding ``(k - 1) // 2`` by default, LeakyReLU slope 0.1 as in the authors'
  code).
* :func:`crop_cat`: concatenation along channels after centre-cropping every input to the smallest
  spatial size (a stride-2 encoder followed by a 2x upsampling gives ``2 * ceil(H / 2)`` rows,
  one more than ``H`` for odd ``H``).
* :class:`DIPSkipNet`: the one-level encoder/decoder with a skip branch of Rasti et al.'s
  networks, mapping an input ``(B, C_in, H, W)`` to ``(B, C_out, H, W)`` (softmax over channels by
  default, so every pixel's output is on the probability simplex)::

      x -> enc: conv_block(C_in, h, k, stride s) -> (depth - 1) x conv_block(h, h, k) -> [upsample x s]
      x -> skip: conv_block(C_in, c_skip, 1)
      crop_cat(enc, skip) -> [BN] -> conv_block(h + c_skip, h, k) -> head -> [softmax]

  with ``head="conv"`` = ``conv_block(h, h, 1)`` then a plain ``Conv2d(h, C_out, 1)`` (SUnCNN,
  UnDIP) or ``head="block"`` = ``conv_block(h, C_out, k)`` (MiSiCNet). Submodules are created in
  the order encoder, skip, decoder, head, so the parameters drawn after ``torch.manual_seed(s)``
  are those of the reference implementations built in the same order.
* :class:`OutputEMA`: exponential moving average of the network outputs over the iterations (the
  DIP "exp_weight" smoothing): :math:`\bar x_0 = x_0`, :math:`\bar x_t = w\,\bar x_{t-1} + (1 - w)
  x_t`.
* :func:`noise_input` and :func:`seeded`: the fixed random input of a DIP and a context that seeds
  torch's global generator (which ``nn`` initialisers use) and restores it afterwards.

Example
-------
>>> import torch
>>> from hysupp.nn.blocks import DIPSkipNet, OutputEMA, seeded, noise_input
>>> with seeded(0):
...     net = DIPSkipNet(6, 4, hidden=8)
...     z = noise_input((1, 6, 5, 7))
>>> out = net(z)
>>> out.shape, bool(torch.allclose(out.sum(dim=1), torch.ones(1, 5, 7)))
(torch.Size([1, 4, 5, 7]), True)
>>> ema = OutputEMA(0.5); _ = ema.update(torch.zeros(2)); ema.update(torch.ones(2)).tolist()
[0.5, 0.5]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from hysupp.errors import ParameterError

__all__ = ["DIPSkipNet", "OutputEMA", "conv_block", "crop_cat", "noise_input", "seeded"]

#: LeakyReLU slope of the authors' networks (SUnCNN, UnDIP, MiSiCNet)
LEAKY_SLOPE = 0.1

_PADS = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d, "zeros": nn.ZeroPad2d}


def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3, *, stride: int = 1,
               padding: str = "reflect", batch_norm: bool = True, activation: bool = True,
               negative_slope: float = LEAKY_SLOPE, pre_batch_norm: bool = False) -> nn.Sequential:
    """``[BatchNorm(in)] -> pad((k-1)//2) -> Conv2d(in, out, k, stride) -> [BatchNorm(out)] ->
    [LeakyReLU(negative_slope)]``. ``padding``: ``"reflect"`` (authors' choice), ``"replicate"``
    or ``"zeros"``."""
    if padding not in _PADS:
        raise ParameterError(f"conv_block: padding must be one of {sorted(_PADS)}, got {padding!r}")
    layers: list[nn.Module] = []
    if pre_batch_norm:
        layers.append(nn.BatchNorm2d(in_channels))
    pad = (kernel_size - 1) // 2
    if pad:
        layers.append(_PADS[padding](pad))
    layers.append(nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride))
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    if activation:
        layers.append(nn.LeakyReLU(negative_slope, inplace=True))
    return nn.Sequential(*layers)


def crop_cat(inputs: Sequence[torch.Tensor], dim: int = 1) -> torch.Tensor:
    """Concatenate ``(B, C_i, H_i, W_i)`` tensors along ``dim`` after cropping each to the smallest
    ``(H, W)``, keeping the centre (offset ``(H_i - H) // 2``, as the authors' ``custom_cat``)."""
    h = min(int(x.shape[2]) for x in inputs)
    w = min(int(x.shape[3]) for x in inputs)
    cropped = []
    for x in inputs:
        dh, dw = (int(x.shape[2]) - h) // 2, (int(x.shape[3]) - w) // 2
        cropped.append(x[:, :, dh:dh + h, dw:dw + w])
    return torch.cat(cropped, dim=dim)


class DIPSkipNet(nn.Module):
    """One-level convolutional encoder/decoder with a 1x1 skip branch (module docstring).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input (e.g. the image bands) and of the output (e.g. library atoms).
    hidden : int, default 256
        Channels of the hidden layers.
    skip_channels : int, default 4
        Channels of the skip branch.
    kernel_size : int, default 3
        Kernel of the encoder and decoder convolutions.
    downsample : int, default 2
        Stride of the first encoder convolution; the encoder output is upsampled back by the same
        factor (bilinear, ``align_corners=False``). 1: no down/upsampling (MiSiCNet).
    depth : int, default 2
        Convolution blocks in the encoder (SUnCNN/UnDIP: 2, MiSiCNet: 1).
    merge_batch_norm : bool, default True
        Batch normalisation of the concatenated features before the decoder convolution.
    head : {"conv", "block"}, default "conv"
        ``"conv"``: ``conv_block(hidden, hidden, 1)`` then ``Conv2d(hidden, out, 1)``;
        ``"block"``: ``conv_block(hidden, out, kernel_size)`` (BN and LeakyReLU included).
    output : {"softmax", "none"}, default "softmax"
        Softmax over the channels (outputs on the simplex) or the raw head output.
    negative_slope : float, default 0.1
        LeakyReLU slope.
    """

    def __init__(self, in_channels: int, out_channels: int, *, hidden: int = 256, skip_channels: int = 4,
                 kernel_size: int = 3, downsample: int = 2, depth: int = 2, merge_batch_norm: bool = True,
                 head: str = "conv", output: str = "softmax", negative_slope: float = LEAKY_SLOPE) -> None:
        super().__init__()
        if head not in ("conv", "block"):
            raise ParameterError(f"DIPSkipNet: head must be 'conv' or 'block', got {head!r}")
        if output not in ("softmax", "none"):
            raise ParameterError(f"DIPSkipNet: output must be 'softmax' or 'none', got {output!r}")
        if depth < 1 or downsample < 1:
            raise ParameterError(f"DIPSkipNet: depth and downsample must be >= 1, got {depth}, {downsample}")
        kw = {"negative_slope": negative_slope}
        self.downsample = int(downsample)
        enc = [conv_block(in_channels, hidden, kernel_size, stride=self.downsample, **kw)]
        enc += [conv_block(hidden, hidden, kernel_size, **kw) for _ in range(depth - 1)]
        self.encoder = nn.Sequential(*enc)
        self.skip = conv_block(in_channels, skip_channels, 1, **kw)
        self.decoder = conv_block(hidden + skip_channels, hidden, kernel_size,
                                  pre_batch_norm=merge_batch_norm, **kw)
        if head == "conv":
            self.head = nn.Sequential(conv_block(hidden, hidden, 1, **kw), nn.Conv2d(hidden, out_channels, 1))
        else:
            self.head = conv_block(hidden, out_channels, kernel_size, **kw)
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.encoder(x)
        if self.downsample > 1:
            e = F.interpolate(e, scale_factor=self.downsample, mode="bilinear", align_corners=False)
        out = self.head(self.decoder(crop_cat([e, self.skip(x)])))
        return torch.softmax(out, dim=1) if self.output == "softmax" else out


class OutputEMA:
    r"""Exponential moving average of detached outputs: :math:`\bar x_0 = x_0`,
    :math:`\bar x_t = w\,\bar x_{t-1} + (1 - w)\,x_t` (``weight`` :math:`w \in [0, 1)`; 0 keeps the
    last output)."""

    def __init__(self, weight: float = 0.99) -> None:
        if not 0.0 <= weight < 1.0:
            raise ParameterError(f"OutputEMA: weight must be in [0, 1), got {weight!r}")
        self.weight = float(weight)
        self.value: torch.Tensor | None = None
        self.count = 0

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach()
        if self.value is None:
            self.value = x.clone()
        else:
            self.value.mul_(self.weight).add_(x, alpha=1.0 - self.weight)
        self.count += 1
        return self.value


@contextmanager
def seeded(seed: int, devices: Sequence[int] = ()) -> Iterator[None]:
    """Seed torch's global CPU generator (used by ``nn`` initialisers and ``torch.rand``) with
    ``seed`` inside the block and restore the previous state afterwards (``devices``: CUDA devices
    whose generators are saved and restored too)."""
    with torch.random.fork_rng(devices=list(devices)):
        torch.manual_seed(int(seed))
        yield


def noise_input(shape: Sequence[int], *, kind: str = "uniform", dtype: torch.dtype = torch.float32,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """The fixed random input of a DIP network, drawn on the CPU (so a seed gives the same input on
    every device): ``"uniform"`` on [0, 1) (the authors' ``torch.rand_like``) or ``"normal"``."""
    if kind == "uniform":
        return torch.rand(tuple(shape), generator=generator, dtype=dtype)
    if kind == "normal":
        return torch.randn(tuple(shape), generator=generator, dtype=dtype)
    raise ParameterError(f"noise_input: kind must be 'uniform' or 'normal', got {kind!r}")
