# %% [markdown]
# # Unmix an EnMAP GeoTIFF tile and write a Cloud Optimized GeoTIFF
#
# A GIS workflow on a real scene: a 32 × 32 pixel tile of the EnMAP L2A scene over Potsdam
# (24 July 2022, 30 m, 224 bands, UTM zone 33N; EnMAP data © DLR, from the EnMAP-Box test data).
#
# 1. read it with **rioxarray** (a `(band, y, x)` DataArray with CRS and nodata);
# 2. unmix it against the **USGS 1995 spectral library** shipped with hysupp, which is resampled
#    to EnMAP's bands by wavelength;
# 3. plot the abundance maps **on the map grid** (UTM coordinates);
# 4. unmix the file **tile by tile** (Dask) into a **COG**, and read it back with its CRS and transform.

# %%
import io
import tempfile
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import rioxarray
import xarray as xr
from IPython.display import Image, display

import hysupp
from hysupp.bench.suite import shared_data_dir


def show(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    display(Image(buf.getvalue()))


path = shared_data_dir() / "enmap_potsdam" / "enmap_potsdam_tile_128_0.tif"

# %% [markdown]
# ## Read the tile with rioxarray
#
# The values are reflectance × 10 000 stored as float32, with nodata −32768 (six bands of the
# water-vapour absorption near 1400 nm are entirely nodata). Masking the nodata and scaling keeps
# the attributes; hysupp drops all-nodata bands itself (as `hysupp.load` does) and reads the band
# wavelengths from the per-band descriptions that rioxarray keeps in `long_name`.

# %%
raw = rioxarray.open_rasterio(path)
print(raw.dims, raw.shape, raw.rio.crs, "nodata:", raw.rio.nodata)
print(raw.attrs["long_name"][:2], "...")
with xr.set_options(keep_attrs=True):
    reflectance = raw.where(raw != raw.rio.nodata) * 1e-4
reflectance = reflectance.rio.write_nodata(np.nan)

# %% [markdown]
# ## Sparse unmixing over the USGS library
#
# SUnSAL (Bioucas-Dias and Figueiredo 2010) estimates, for every pixel, nonnegative abundances
# over all 498 library spectra with an ℓ1 penalty that keeps few of them active. The library is
# matched to the scene's bands by wavelength (`library="usgs1995"`). The 1995 library is mostly
# minerals, with a few vegetation spectra (grass, leaves, trees). An urban scene is therefore
# explained by the nearest library spectra: read the maps as "which library spectra explain the
# scene", not as a land-cover map.

# %%
run = hysupp.unmix(reflectance, "SUnSAL", library="usgs1995")
maps = run.xarray                            # (endmember, y, x) on the input grid, CRS kept
print(maps.dims, maps.shape, maps.rio.crs)
mean = maps.mean(dim=("y", "x"))
top = mean.sortby(mean, ascending=False).endmember.values[:4]
for name in top:
    print(f"{float(mean.sel(endmember=name)):6.3f}  {name}")

# %% [markdown]
# The four library spectra with the largest mean abundance, on the UTM grid (x and y in metres,
# EPSG:32633):

# %%
fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), constrained_layout=True)
for ax, name in zip(axes, top):
    maps.sel(endmember=name).plot(ax=ax, cmap="viridis", vmin=0, cbar_kwargs={"shrink": 0.8})
    ax.set_title(str(name), fontsize=9)
    ax.set_aspect("equal")
show(fig)

# %% [markdown]
# ## Tile by tile into a Cloud Optimized GeoTIFF
#
# The same file, unmixed by `hysupp.unmix_tiled`: windows of 16 × 16 pixels are read with
# rasterio, the per-pixel solves run on Dask chunks, and the abundances stream into a COG. Here the
# endmembers are fixed to the four spectra above (as resampled by the in-memory run), and FCLS
# estimates their abundances. A scene larger than memory goes the same way, with
# `tile=512` and optionally `scheduler=` a `dask.distributed` cluster (see
# [Scenes larger than memory](../large_scenes.md)).

# %%
names = list(run.endmember_names)
E = run.endmembers[:, [names.index(n) for n in top]]
with tempfile.TemporaryDirectory() as tmp:
    cog = Path(tmp) / "abundances.tif"
    tiled = hysupp.unmix_tiled(path, "FCLS", endmembers=E, tile=16, scale=1e-4, out=cog)
    back = rioxarray.open_rasterio(cog)
    print("written:", cog.name, back.shape, back.rio.crs)
    print("same grid as the input:", back.rio.transform() == raw.rio.transform(), back.rio.crs == raw.rio.crs)
    import rasterio

    with rasterio.open(cog) as ds:
        print("layout:", ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT"), "| bands:", ds.descriptions)
    sums = back.sum(dim="band")
    print("abundance sums: min", float(sums.min()), "max", float(sums.max()))
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), constrained_layout=True)
    for i, ax in enumerate(axes):
        back.isel(band=i).plot(ax=ax, cmap="viridis", vmin=0, vmax=1, cbar_kwargs={"shrink": 0.8})
        ax.set_title(f"FCLS, band {i + 1}: {top[i]}", fontsize=9)
        ax.set_aspect("equal")
    show(fig)
