# %% [markdown]
# # Unmix the Cuprite crop with FaSUn and the USGS library
#
# The AVIRIS Cuprite crop (50 × 90 pixels, 188 bands, int16 reflectance × 10⁴) is unmixed with
# **FaSUn**, a semi-supervised method: the endmembers are convex combinations of the atoms of a
# spectral library, \(E = DB\), and the abundances lie on the simplex (see the
# [FaSUn page](../methods/semi-supervised/fasun.md) for the optimisation problem). The library is
# the USGS 1995 splib resampled to AVIRIS (`usgs1995`), matched to the image's bands by hysupp.
#
# This page is executed when the documentation is built. To keep that fast, FaSUn runs
# `T = 200` outer iterations instead of the paper's 10000; drop `params` to use the reference
# defaults.

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
    """Display a matplotlib figure as PNG, then close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    display(Image(buf.getvalue()))


# $HYSUPP_SHARED_DATA, or the first shared/data folder above the working directory or the package
data = shared_data_dir()
path = data / "cuprite" / "Rcuprite50x90x188.mat"
print(path)

# %% [markdown]
# ## Look at the file first
#
# `hysupp.load` reads the MATLAB file into a `Scene` (cube `(L, H, W)`) and says what it did;
# `hysupp info FILE` prints the same on the command line.

# %%
scene = hysupp.load(path)
print(scene.cube.shape, scene.cube.dtype, scene.layout)
for note in scene.notes:
    print("-", note)

# %% [markdown]
# ## Unmix
#
# `library="usgs1995"` attaches the library matched to the image's 188 bands (the crop has no
# wavelengths; the library declares the standard AVIRIS Cuprite band selection) and reads the
# integer image as reflectance × 10⁴. `p = 14` endmembers as in the FaSUn paper.

# %%
run = hysupp.unmix(path, "FaSUn", library="usgs1995", p=14, params={"T": 200}, seed=0)
print("abundances", run.abundances.shape, " endmembers", run.endmembers.shape)
print("library", run.scene.library.shape)
for k, name in enumerate(run.endmember_names):
    print(f"{k + 1:2d}  {name}")

# %% [markdown]
# Each endmember is named after its dominant library atom (the largest entry of its column of
# \(B\); the weight is in brackets). The abundance maps, one per endmember, share a colour scale:

# %%
show(plot_abundance_maps(run.abundances, run.endmember_names, title="Cuprite, FaSUn (T = 200)"))

# %% [markdown]
# ## Endmember spectra against the library
#
# The estimated endmembers (solid) over the library atom each one is named after (dashed):

# %%
names = list(run.scene.library_names)
atom = [names.index(n.rsplit(" (", 1)[0]) for n in run.endmember_names]
show_k = [0, 1, 2, 3, 4, 5]
fig = plot_endmembers(run.endmembers[:, show_k], run.scene.wavelengths,
                      [run.endmember_names[k] for k in show_k],
                      reference=run.scene.library[:, [atom[k] for k in show_k]],
                      title="estimated (solid) vs dominant USGS atom (dashed)")
show(fig)

# %%
from hysupp.metrics import sad

angles = sad(run.endmembers, run.scene.library[:, atom])
print("spectral angle to the dominant atom (deg):", np.round(np.atleast_1d(angles), 2))

# %% [markdown]
# ## The same from the command line
#
# `hysupp run` does the same and writes a new output folder (`abundances.npz`/`.mat`,
# `endmembers.csv`, `run.json`, `abundances.png`):
#
# ```bash
# hysupp run --method FaSUn --data Rcuprite50x90x188.mat --library usgs1995 --p 14 --param T=200 --out cuprite-fasun
# ```
#
# In Python, `hysupp.api.write_run(run, "cuprite-fasun")` writes the same folder for the run above.

# %%
import tempfile
from pathlib import Path

out = hysupp.api.write_run(run, Path(tempfile.mkdtemp()) / "cuprite-fasun")
print(sorted(p.name for p in Path(out).iterdir()))
