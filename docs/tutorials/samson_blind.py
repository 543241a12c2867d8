# %% [markdown]
# # Blind unmixing of Samson
#
# Samson (95 × 95 pixels, 156 bands) with its reference endmembers and abundances (rock, tree,
# water; `end3.mat`). Blind methods estimate both the endmembers and the abundances from the
# image alone; the reference is used only to score them (after Hungarian alignment).
# Measured results of every blind method on this scene are on the
# [Samson page](../samson_blind.md).

# %%
import io

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.display import Image, display

import hysupp
from hysupp.bench.suite import shared_data_dir
from hysupp.viz import plot_abundance_maps, plot_endmembers


def show(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    display(Image(buf.getvalue()))


data = shared_data_dir() / "samson"
scene = hysupp.load(data / "samson_1.mat", truth=str(data / "end3.mat"))
print(scene.cube.shape, "truth:", scene.endmembers.shape, scene.endmember_names)

# %% [markdown]
# ## Three blind methods
#
# - **VCA + FCLS**: a geometric extractor (pure pixels), then fully constrained least squares;
# - **MVC-NMF**: NMF with a minimum-volume penalty (no pure pixel needed);
# - **SCLSU**: scaled constrained least squares (endmember scaling variability).

# %%
runs = {
    "VCA + FCLS": hysupp.unmix(scene, "FCLS", extractor="VCA", p=3, seed=0),
    "MVC-NMF": hysupp.unmix(scene, "MVC-NMF", p=3, seed=0),
    "SCLSU": hysupp.unmix(scene, "SCLSU", p=3, seed=0),
}
print(f"{'method':12s} {'mean SAD (deg)':>15s} {'aRMSE x100':>11s}  SAD per endmember")
for name, r in runs.items():
    m = r.metrics
    per = " / ".join(f"{v:.2f}" for v in m["sad_per_endmember_deg"])
    print(f"{name:12s} {m['sad_mean_deg']:15.2f} {m['armse']:11.2f}  {per}")

# %% [markdown]
# ## Endmembers against the reference
#
# Estimates are reordered to the reference's order, so colours match (solid: MVC-NMF, dashed:
# reference).

# %%
r = runs["MVC-NMF"]
show(plot_endmembers(r.endmembers, scene.wavelengths, scene.endmember_names, reference=scene.endmembers,
                     title="Samson: MVC-NMF (solid) vs reference (dashed)"))

# %% [markdown]
# ## Abundance maps and their errors
#
# Top: the reference; middle: MVC-NMF; bottom: absolute error.

# %%
ref = scene.abundances.reshape(r.abundances.shape)
stack = np.concatenate([ref, r.abundances, np.abs(r.abundances - ref)])
labels = ([f"ref {n}" for n in scene.endmember_names] + [f"MVC-NMF {n}" for n in scene.endmember_names]
          + [f"|error| {n}" for n in scene.endmember_names])
fig, axes = plt.subplots(3, 3, figsize=(7.5, 7.5), constrained_layout=True)
for ax, img, lab in zip(axes.ravel(), stack, labels):
    im = ax.imshow(img, vmin=0, vmax=1, cmap="viridis")
    ax.set_title(lab, fontsize=8)
    ax.set_axis_off()
fig.colorbar(im, ax=axes, shrink=0.6)
show(fig)

# %% [markdown]
# The VCA + FCLS maps for comparison:

# %%
show(plot_abundance_maps(runs["VCA + FCLS"].abundances, scene.endmember_names, title="VCA + FCLS"))

# %% [markdown]
# On the command line:
#
# ```bash
# hysupp run --method MVC-NMF --data samson_1.mat --truth end3.mat --p 3
# hysupp run --method FCLS --extractor VCA --data samson_1.mat --truth end3.mat --p 3
# ```
