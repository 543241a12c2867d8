# %% [markdown]
# # Pansharpen georeferenced rasters with xarray, and compare true-colour views
#
# The GIS form of pansharpening: the MS and PAN images are two GeoTIFFs on nested grids (the PAN
# pixel is a quarter of the MS pixel), opened with **rioxarray**, fused by `hysupp.fuse`, and the
# result is a DataArray on the **PAN grid** with the CRS and transform kept, written as a COG.
#
# The WorldView-2 Washington pair shipped with the pansharpening toolbox has no georeference. To
# show the workflow we first write a window of it as two GeoTIFFs with an *illustrative*
# georeference (UTM zone 18N, 2 m MS / 0.5 m PAN); with your own data, start at the second cell.

# %%
import io
import tempfile
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import rasterio
import rioxarray
from IPython.display import Image, display
from rasterio.transform import from_origin

import hysupp
from hysupp.bench.suite import shared_data_dir
from hysupp.io.pair import upsampled_low
from hysupp.viz import rgb_composite


def show(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    display(Image(buf.getvalue()))


scene = hysupp.load(shared_data_dir() / "pansharpening_wv2" / "imgWV2.mat")
ms_arr = scene.cube[:, 96:224, 96:224].astype(np.float32)            # (8, 128, 128) MS window
pan_arr = scene.extras["pan"][:, 384:896, 384:896].astype(np.float32)  # (1, 512, 512) PAN window

tmp = Path(tempfile.mkdtemp())
x0, y0 = 323_000.0, 4_307_000.0                                      # illustrative UTM 18N origin
for name, arr, res in (("ms.tif", ms_arr, 2.0), ("pan.tif", pan_arr, 0.5)):
    with rasterio.open(tmp / name, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1],
                       count=arr.shape[0], dtype="float32", crs="EPSG:32618",
                       transform=from_origin(x0, y0, res, res)) as ds:
        ds.write(arr)

# %% [markdown]
# ## Open the two rasters and fuse them
#
# `hysupp.fuse` takes the DataArrays as they are. It checks that the PAN has 4 × the MS pixels
# in each direction, runs MTF-GLP with WorldView-2's MTF, and scores the result without a
# reference (full-resolution protocol: D_λ, D_s, QNR).

# %%
ms = rioxarray.open_rasterio(tmp / "ms.tif")
pan = rioxarray.open_rasterio(tmp / "pan.tif")
print("MS ", ms.shape, ms.rio.resolution(), ms.rio.crs)
print("PAN", pan.shape, pan.rio.resolution(), pan.rio.crs)

run = hysupp.fuse(ms=ms, pan=pan, ratio=4, sensor="WV2", method="MTF-GLP", protocol="fr")
fused = run.xarray
print("fused", fused.dims, fused.shape, fused.rio.resolution(), fused.rio.crs)
print("on the PAN grid:", fused.rio.transform() == pan.rio.transform())
print({k: round(run.metrics[k], 4) for k in ("d_lambda", "d_s", "qnr")})

# %% [markdown]
# ## True-colour views
#
# Bands 5, 3 and 2 of WV2 (red, green, blue), each stretched between its 1st and 99th percentiles:
# the MS interpolated to the PAN grid (no PAN detail), the fused image, and the PAN itself. The
# axes are map coordinates (metres).

# %%
ms_up = upsampled_low(run.pair)
extent = [float(pan.x.min()), float(pan.x.max()), float(pan.y.min()), float(pan.y.max())]
views = [("MS, interpolated (23-tap)", rgb_composite(ms_up, (4, 2, 1))),
         ("MTF-GLP fused", rgb_composite(fused.values, (4, 2, 1))),
         ("PAN", rgb_composite(pan.values, (0, 0, 0)))]
fig, axes = plt.subplots(1, 3, figsize=(15, 5), constrained_layout=True)
for ax, (title, img) in zip(axes, views):
    ax.imshow(img, extent=extent)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x (m)")
axes[0].set_ylabel("y (m)")
show(fig)

# %% [markdown]
# A zoom on a 100 × 100 PAN-pixel (50 m) window shows the injected detail:

# %%
win = {"y": slice(150, 250), "x": slice(150, 250)}
fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), constrained_layout=True)
for ax, (title, img) in zip(axes, views):
    ax.imshow(img[win["y"], win["x"]])
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
show(fig)

# %% [markdown]
# ## Write the fused image as a Cloud Optimized GeoTIFF

# %%
cog = tmp / "fused_cog.tif"
fused.rio.to_raster(cog, driver="COG")
with rasterio.open(cog) as ds:
    print(ds.count, "bands", ds.width, "x", ds.height, ds.crs, "| layout:",
          ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT"))
    print("transform = PAN transform:", ds.transform == pan.rio.transform())

# %%
import shutil

shutil.rmtree(tmp)   # the example's temporary files
