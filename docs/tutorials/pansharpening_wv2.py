# %% [markdown]
# # Pansharpen the WorldView-2 pair (reduced and full resolution)
#
# The WorldView-2 Washington pair: an 8-band MS image (320 × 320) and a PAN image
# (1280 × 1280, ratio 4, 11-bit DN). Pansharpening injects the PAN's spatial detail into the
# upsampled MS. Two protocols score the result:
#
# - **reduced resolution** (`rr`, Wald's protocol): MS and PAN are degraded by the sensor's MTF and
#   decimated by 4; the fused image is compared with the original MS (Q8, SAM, ERGAS, SCC);
# - **full resolution** (`fr`): no reference; quality indexes without reference (D_λ, D_s, QNR,
#   HQNR).
#
# All 22 methods on this pair: [Pansharpening on WV2](../pansharpening_wv2.md).

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
from hysupp.viz import rgb_composite


def show(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    display(Image(buf.getvalue()))


path = shared_data_dir() / "pansharpening_wv2" / "imgWV2.mat"
RGB = (4, 2, 1)  # WV2 bands: coastal, blue, green, yellow, red, red edge, NIR1, NIR2

# %% [markdown]
# ## Reduced resolution (Wald's protocol)
#
# `border=21, clip=True` follow the benchmark: a 21-pixel frame is left out of the metrics and
# the fused values are clipped to the 11-bit range.

# %%
rr = {m: hysupp.fuse(path, m, protocol="rr", border=21, clip=True) for m in ("EXP", "GSA", "MTF-GLP")}
print(f"{'method':8s} {'Q8':>7s} {'SAM':>7s} {'ERGAS':>7s} {'SCC':>7s}")
for m, run in rr.items():
    q = run.metrics
    print(f"{m:8s} {q['q8']:7.4f} {q['sam_deg']:7.3f} {q['ergas']:7.3f} {q['scc']:7.4f}")

# %% [markdown]
# EXP (plain interpolation of the MS) is the baseline without PAN detail. The reference, the
# upsampled degraded MS and the MTF-GLP result, with the per-pixel error of each against the
# reference (mean absolute error over the bands, in DN):

# %%
run = rr["MTF-GLP"]
ref = run.pair.reference.cube
fused = run.fused.cube
exp = rr["EXP"].fused.cube
crop = (slice(None), slice(60, 260), slice(60, 260))
fig, axes = plt.subplots(2, 3, figsize=(10, 7), constrained_layout=True)
for ax, img, title in zip(axes[0], (ref, exp, fused), ("reference (original MS)", "EXP (interpolated)", "MTF-GLP")):
    ax.imshow(rgb_composite(img[crop], RGB))
    ax.set_title(title, fontsize=9)
err_max = np.percentile(np.abs(exp - ref).mean(0), 99)
for ax, img, title in zip(axes[1], (exp, fused), ("|EXP - ref|", "|MTF-GLP - ref|")):
    im = ax.imshow(np.abs(img - ref).mean(0)[crop[1:]], vmin=0, vmax=err_max, cmap="magma")
    ax.set_title(title, fontsize=9)
axes[1, 2].imshow(rgb_composite(run.pair.high.cube[crop], (0, 0, 0)), cmap="gray")
axes[1, 2].set_title("degraded PAN", fontsize=9)
fig.colorbar(im, ax=axes[1, :2], shrink=0.8, label="mean |error| (DN)")
for ax in axes.ravel():
    ax.set_axis_off()
show(fig)

# %% [markdown]
# ## Full resolution
#
# The real pair at its native resolution, scored without reference. The whole scene
# (1280 × 1280 × 8 fused) takes several seconds per method to evaluate; to keep this page quick we
# fuse a 512 × 512 PAN window and the matching 128 × 128 MS window, passed as arrays with the
# ratio and the sensor (its MTF drives the methods and the metrics).

# %%
scene = hysupp.load(path)                       # MS cube (8, 320, 320); the PAN is in extras
pan = scene.extras["pan"]                       # (1, 1280, 1280)
ms_win, pan_win = scene.cube[:, 96:224, 96:224], pan[:, 384:896, 384:896]
fr = hysupp.fuse(ms=ms_win, pan=pan_win, ratio=4, sensor="WV2", method="MTF-GLP", protocol="fr")
q = fr.metrics
print({k: round(q[k], 4) for k in ("d_lambda", "d_s", "qnr", "d_lambda_khan", "hqnr")})
print(fr.fused.cube.shape)

# %%
ms_up = upsampled_low(fr.pair)
crop = (slice(None), slice(100, 400), slice(100, 400))
fig, axes = plt.subplots(1, 3, figsize=(11, 4), constrained_layout=True)
axes[0].imshow(rgb_composite(fr.pair.high.cube[crop], (0, 0, 0)))
axes[0].set_title("PAN", fontsize=9)
axes[1].imshow(rgb_composite(ms_up[crop], RGB))
axes[1].set_title("MS, interpolated", fontsize=9)
axes[2].imshow(rgb_composite(fr.fused.cube[crop], RGB))
axes[2].set_title("MTF-GLP, full resolution", fontsize=9)
for ax in axes:
    ax.set_axis_off()
show(fig)

# %% [markdown]
# On the command line (each writes `fused.tif`, `metrics.json`, `run.json` and `quicklook.png` to
# a new folder):
#
# ```bash
# hysupp fuse --method MTF-GLP --data imgWV2.mat --protocol rr --out wv2-rr
# hysupp fuse --method MTF-GLP --data imgWV2.mat --protocol fr --out wv2-fr   # the whole scene
# hysupp fuse --method GSA --ms ms.tif --pan pan.tif --ratio 4 --sensor WV2 --out fused/   # separate files
# ```
