# %% [markdown]
# # HS–MS fusion of a simulated Pavia pair
#
# A hyperspectral image with fine spectral but coarse spatial resolution (HS) and a
# multispectral image with the opposite (MS) are fused into a high-resolution hyperspectral cube.
# To score the result we need the truth, so the pair is **simulated** from the ROSIS Pavia
# University crop (80 × 48 pixels kept, 103 bands), as in the `hsms-pavia` benchmark suite:
# Gaussian PSF (FWHM 4) and decimation by 4 for the HS, the IKONOS spectral responses (B, G, R,
# NIR) for the MS, 35 dB noise on both (Yokoya et al. 2017's protocol).

# %%
import io

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.display import Image, display

import hysupp
from hysupp.bench.suite import shared_data_dir
from hysupp.io.pair import upsampled_low
from hysupp.simulate import simulate
from hysupp.viz import rgb_composite


def show(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    display(Image(buf.getvalue()))


pair = simulate("hs-ms", data=str(shared_data_dir() / "pavia_university" / "reg_pavia_dataset.mat"),
                ratio=4, snr_hs=35.0, snr_ms=35.0, seed=0)
print("HS", pair.low.cube.shape, " MS", pair.high.cube.shape, " reference", pair.reference.cube.shape)
print({k: v for k, v in pair.protocol.items() if k in ("protocol", "ratio", "sensor", "ms_bands")})

# %% [markdown]
# ## Fuse with three methods
#
# GLP-HS (hypersharpening by MRA, no model), CNMF (coupled NMF) and MAP-Hardie (MAP estimate
# with a stochastic mixing model); HySure, FUSE and the others are called the same way.
# `hysupp.fuse` takes the in-memory pair; the methods receive the SRF and PSF recorded in its
# protocol. `evaluate=True` (the default) would compute the full metric set (Q, SSIM,
# Q2n, ...) and record it; here we compute three metrics directly with `hysupp.metrics.fusion`.

# %%
from hysupp.metrics.fusion import ergas, psnr, sam

runs = {m: hysupp.fuse(pair, m, evaluate=False) for m in ("GLP-HS", "CNMF", "MAP-Hardie")}
print(f"{'method':8s} {'PSNR (dB)':>9s} {'SAM (deg)':>9s} {'ERGAS':>7s} {'time (s)':>8s}")
for m, r in runs.items():
    ref, out = pair.reference.cube, r.fused.cube
    print(f"{m:8s} {psnr(ref, out):9.2f} {sam(ref, out):9.3f} {ergas(ref, out, ratio=4):7.3f} "
          f"{r.record['timings_s']['fuse']:8.2f}")

# %% [markdown]
# ## Fused images and error maps
#
# False-colour composites (bands 60, 30, 10) of the reference, the interpolated HS and the
# fused results; below, the per-pixel spectral angle to the reference (degrees).

# %%
bands = (60, 30, 10)
ref = pair.reference.cube


def sam_map(x, y):
    num = (x * y).sum(0)
    den = np.linalg.norm(x, axis=0) * np.linalg.norm(y, axis=0) + 1e-12
    return np.degrees(np.arccos(np.clip(num / den, -1, 1)))


images = {"reference": ref, "HS, interpolated": upsampled_low(pair)}
images.update({m: r.fused.cube for m, r in runs.items()})
fig, axes = plt.subplots(2, 5, figsize=(12, 5.5), constrained_layout=True)
for ax, (title, img) in zip(axes[0], images.items()):
    ax.imshow(rgb_composite(img, bands))
    ax.set_title(title, fontsize=9)
axes[1, 0].imshow(rgb_composite(pair.high.cube, (2, 1, 0)))
axes[1, 0].set_title("MS (IKONOS R, G, B)", fontsize=9)
for ax, (title, img) in zip(axes[1, 1:], list(images.items())[1:]):
    im = ax.imshow(sam_map(img, ref), vmin=0, vmax=8, cmap="magma")
    ax.set_title(f"SAM: {title}", fontsize=9)
fig.colorbar(im, ax=axes[1, 1:], shrink=0.8, label="degrees")
for ax in axes.ravel():
    ax.set_axis_off()
show(fig)

# %% [markdown]
# ## Spectra of one pixel

# %%
y, x = 40, 24
fig, ax = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
wl = pair.reference.wavelengths
ax.plot(wl, ref[:, y, x], "k", lw=2, label="reference")
for m, r in runs.items():
    ax.plot(wl, r.fused.cube[:, y, x], lw=1, label=m)
ax.set_xlabel("wavelength (nm)")
ax.set_ylabel("reflectance")
ax.legend(fontsize=8)
show(fig)

# %% [markdown]
# Save the pair and fuse it from the command line:
#
# ```bash
# hysupp simulate hs-ms --param data=reg_pavia_dataset.mat --param snr_hs=35 --param snr_ms=35 --out pavia_pair.npz
# hysupp fuse --method HySure --data pavia_pair.npz --out pavia-hysure
# ```
#
# All seven HS–MS methods on this pair: [benchmark suites](../benchmarks.md).
