r"""Torch modules of the HS-MS fusion networks (:mod:`hysupp.fusion.hsms.nets`).

Both take the HS image interpolated to the MS grid, ``hs_up`` ``(B, L, H, W)``, and the MS image
``ms`` ``(B, C, H, W)``, and return the fused cube ``(B, L, H, W)``. Torch is imported when this
module is imported; the method classes import it lazily.

:class:`SSRNet`
    SSR-Net (Zhang et al. 2021): cross-mode message insertion (each MS band replaces the HS band at
    the peak of its spectral response), a fusion convolution, then a spatial and a spectral
    reconstruction convolution, each residual. ``forward`` returns the output; ``stages`` also the
    intermediate spatial reconstruction that the spatial-edge loss scores.
:class:`SST`
    A compact spectral-spatial transformer: a convolutional embedding of ``[hs_up, ms]``, blocks of
    spectral-wise self-attention (attention between feature channels, MST style), window
    self-attention over pixels (Swin style, non-overlapping windows) and a feed-forward layer,
    each pre-normalised and residual, and a convolution back to ``L`` bands added to ``hs_up``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SST", "SSRNet", "build", "spatial_edges", "spectral_edges"]


def spatial_edges(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Differences of neighbouring pixels along rows and columns of ``(B, L, H, W)``."""
    return x[:, :, :-1, :] - x[:, :, 1:, :], x[:, :, :, :-1] - x[:, :, :, 1:]


def spectral_edges(x: torch.Tensor) -> torch.Tensor:
    """Differences of neighbouring bands of ``(B, L, H, W)``."""
    return x[:, :-1] - x[:, 1:]


class SSRNet(nn.Module):
    """SSR-Net on ``L`` HS bands; ``insert`` the HS band index replaced by each MS band."""

    def __init__(self, n_bands: int, insert: list[int]) -> None:
        super().__init__()
        L = int(n_bands)
        self.register_buffer("insert", torch.as_tensor(list(insert), dtype=torch.long), persistent=False)
        self.fusion = nn.Conv2d(L, L, 3, padding=1)
        self.spatial = nn.Conv2d(L, L, 3, padding=1)
        self.spectral = nn.Conv2d(L, L, 3, padding=1)
        with torch.no_grad():   # start near the CMMI image: identity fusion, small residual branches
            nn.init.dirac_(self.fusion.weight)
            self.fusion.bias.zero_()
            for conv in (self.spatial, self.spectral):
                conv.weight.mul_(0.01)
                conv.bias.zero_()

    def stages(self, hs_up: torch.Tensor, ms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = hs_up.clone()
        x[:, self.insert] = ms
        x = F.relu(self.fusion(x))
        spat = x + F.relu(self.spatial(x))
        spec = spat + F.relu(self.spectral(spat))
        return spec, spat

    def forward(self, hs_up: torch.Tensor, ms: torch.Tensor) -> torch.Tensor:
        return self.stages(hs_up, ms)[0]


class SpectralAttention(nn.Module):
    """Spectral-wise multi-head self-attention: tokens are feature channels, attention maps are
    ``d x d`` per head (queries/keys L2-normalised over pixels, learnt temperature)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # x (B, N, D)
        B, N, D = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 4, 1)  # (B, h, d, N)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)                        # (B, h, d, d)
        out = (attn @ v).permute(0, 3, 1, 2).reshape(B, N, D)
        return self.proj(out)


class WindowAttention(nn.Module):
    """Multi-head self-attention between the pixels of non-overlapping ``window x window`` windows
    (the image is padded by reflection to a multiple of the window)."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:   # x (B, H*W, D)
        B, _, D = x.shape
        w = self.window
        img = x.transpose(1, 2).reshape(B, D, H, W)
        ph, pw = (-H) % w, (-W) % w
        if ph or pw:
            img = F.pad(img, (0, pw, 0, ph), mode="reflect" if min(H, W) > max(ph, pw) else "replicate")
        Hp, Wp = H + ph, W + pw
        win = img.reshape(B, D, Hp // w, w, Wp // w, w).permute(0, 2, 4, 3, 5, 1).reshape(-1, w * w, D)
        q, k, v = self.qkv(win).reshape(win.shape[0], w * w, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(-1, w * w, D)
        out = self.proj(out).reshape(B, Hp // w, Wp // w, w, w, D).permute(0, 5, 1, 3, 2, 4).reshape(B, D, Hp, Wp)
        return out[:, :, :H, :W].reshape(B, D, H * W).transpose(1, 2)


class SSTBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, expansion: int = 2) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.spectral = SpectralAttention(dim, heads)
        self.spatial = WindowAttention(dim, heads, window)
        self.ffn = nn.Sequential(nn.Linear(dim, expansion * dim), nn.GELU(), nn.Linear(expansion * dim, dim))

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = x + self.spectral(self.norm1(x))
        x = x + self.spatial(self.norm2(x), H, W)
        return x + self.ffn(self.norm3(x))


class SST(nn.Module):
    """Compact spectral-spatial transformer for HS-MS fusion (module docstring)."""

    def __init__(self, n_bands: int, n_ms: int, dim: int = 32, blocks: int = 2, heads: int = 2,
                 window: int = 8) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be a multiple of heads ({heads})")
        self.embed = nn.Conv2d(int(n_bands) + int(n_ms), dim, 3, padding=1)
        self.blocks = nn.ModuleList(SSTBlock(dim, heads, window) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Conv2d(dim, int(n_bands), 3, padding=1)
        with torch.no_grad():   # the network starts as the interpolated HS
            self.out.weight.zero_()
            self.out.bias.zero_()

    def forward(self, hs_up: torch.Tensor, ms: torch.Tensor) -> torch.Tensor:
        B, _, H, W = hs_up.shape
        f = self.embed(torch.cat([hs_up, ms], dim=1))
        x = f.flatten(2).transpose(1, 2)
        for blk in self.blocks:
            x = blk(x, H, W)
        x = self.norm(x).transpose(1, 2).reshape(B, -1, H, W) + f
        return hs_up + self.out(x)


def build(arch: dict) -> nn.Module:
    """The module described by a checkpoint's ``architecture`` dict."""
    name = arch["name"]
    if name == "SSR-Net":
        return SSRNet(int(arch["n_bands"]), [int(i) for i in arch["insert"]])
    if name == "SST":
        return SST(int(arch["n_bands"]), int(arch["n_ms"]), dim=int(arch["dim"]), blocks=int(arch["blocks"]),
                   heads=int(arch["heads"]), window=int(arch["window"]))
    raise ValueError(f"unknown HS-MS fusion architecture {name!r}")
