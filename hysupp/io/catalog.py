"""The catalogue of public data sets: each declared once, fetched by name into the user cache.

Every entry names byte-exact public files (a repository at a fixed commit, or a DOI/direct URL),
with the SHA-256 and size computed from the real file, its licence and citation, and how
:func:`hysupp.io.load` reads it (the image file, its ground truth, a variable, a scale). A name
that is not an existing path resolves here: ``hysupp.load("samson")`` fetches the two Samson files
on first use, checks them and returns the scene with its ground truth attached. The higher-level
view (dataset cards, the CLI ``hysupp datasets``) is :mod:`hysupp.datasets`.

Where files go and where they come from:

* cache: ``$HYSUPP_DATA_DIR`` or pooch's user cache (``pooch.os_cache("hysupp")``, e.g.
  ``~/.cache/hysupp``), as ``<cache>/<file path>`` (``samson/samson_1.mat``);
* sources: each file's own URLs (tried in order) or, when ``$HYSUPP_DATA_URL`` (or
  ``base_url=``) is set, ``<base url>/<file path>`` only: a mirror, a local HTTP server or a
  ``file://`` folder laid out like the cache;
* ``$HYSUPP_OFFLINE=1``: nothing is downloaded; a missing file raises
  :class:`~hysupp.errors.DatasetError` naming the URL and the path where the file can be placed.

Every file is verified (size and SHA-256) before use, cached or just downloaded; a download is
written to a temporary file beside its target and renamed only once verified, so the cache never
holds a partial or wrong file. A wrong checksum raises :class:`~hysupp.errors.DatasetError`.

To add a data set, append a :class:`Dataset` to ``_DATASETS`` with its files' real SHA-256 and
size (``sha256sum FILE``, ``stat -c %s FILE``), then regenerate the cards
(:func:`hysupp.datasets.write_cards`). Entries are validated at import (unique names and aliases,
40-hex commits, 64-hex checksums, declared files).

Example
-------
>>> from hysupp.io.catalog import get_dataset
>>> ds = get_dataset("Samson")
>>> ds.name, ds.kind, [f.path for f in ds.files]
('samson', 'scene', ['samson/samson_1.mat', 'samson/end3.mat'])
>>> ds.files[1].sources[0].url  # doctest: +NORMALIZE_WHITESPACE
'https://raw.githubusercontent.com/vleplat/Tubal_TT/108f92cd4d4951b606d97a94f847ad0f70835417/DataSets/Samson/GroundTruth/end3.mat'
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from hysupp.errors import DatasetError
from hysupp.io.shipped import USGS_1995_RESOURCE
from hysupp.records import file_sha256
from hysupp.scene import Scene

__all__ = ["DATASETS", "DataFile", "Dataset", "KINDS", "Source", "UNREGISTERED", "assemble", "cache_dir",
           "dataset_key", "describe_source", "fetch", "fetch_file", "find_dataset", "get_dataset",
           "is_offline", "local_path", "mirror_url", "suggest", "unknown_name_message"]

#: What an entry holds: an image (with or without truth), a spectral library, a fusion pair, a
#: spectral response (or band table).
KINDS = ("scene", "library", "pair", "srf")

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Source:
    """Where a file can be downloaded: a GitHub repository at a fixed commit, or a direct URL
    (with the DOI of its landing page, when it has one)."""

    repo: str | None = None
    commit: str | None = None
    path: str | None = None
    direct_url: str | None = None
    doi: str | None = None

    @property
    def url(self) -> str:
        if self.direct_url is not None:
            return self.direct_url
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"

    def __str__(self) -> str:
        if self.repo is not None:
            return f"{self.repo} @ {self.commit} : {self.path}"
        return self.url + (f" (doi:{self.doi})" if self.doi else "")


def _gh(repo: str, commit: str, path: str) -> Source:
    return Source(repo=repo, commit=commit, path=path)


@dataclass(frozen=True)
class DataFile:
    """One file of a data set: its path in the cache (and on a mirror), checksum, size, sources.

    ``shipped``: the file is bundled in the package (``hysupp/<shipped>``) and read from there.
    """

    path: str
    sha256: str
    size: int
    sources: tuple[Source, ...]
    shipped: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Dataset:
    """A public data set, declared once.

    ``read`` is the file :func:`hysupp.io.load` reads (with ``key`` and ``scale``); ``truth`` the
    files merged into it with :meth:`Scene.with_truth`, in order; the other files are fetched with
    it (headers, readmes, label maps). ``sparse_truth``: the truth abundances are over a library
    (one row per atom, zero outside the true atoms): they become ``endmembers``, ``abundances``
    and ``library_index``. ``cube_from_truth``: the image is ``library @ abundances`` (no image file).
    ``shape`` is the main array as loaded (the cube; the library for a library; the matrix or the
    band count for a spectral response), checked against the real files by the tests.
    """

    name: str
    title: str
    kind: str
    files: tuple[DataFile, ...]
    read: str
    licence: str
    citation: str
    description: str
    shape: tuple[int, ...]
    units: str
    ground_truth: str = "none"
    truth: tuple[str, ...] = ()
    key: str | None = None
    scale: float | None = None
    sparse_truth: bool = False
    cube_from_truth: bool = False
    aliases: tuple[str, ...] = ()
    may_ship: bool = False
    caveats: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Total bytes of the files."""
        return sum(f.size for f in self.files)

    def file(self, path: str) -> DataFile:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)


# ------------------------------------------------------------------------------------- sources
_MUA = ("ricardoborsoi/MUA_SparseUnmixing", "089f5d61162807a5304759e293b132ed9d0d6ab4")
_TUBAL = ("vleplat/Tubal_TT", "108f92cd4d4951b606d97a94f847ad0f70835417")
_MAXVOL = ("mabdolali/MaxVol_Dual", "2ceb4f74f119163163a1851e24a4c7d71d1015f7")
_MSKERNEL = ("ricardoborsoi/MultiscaleKernelSURelease", "6cd4f83faa98bd6d3c7a49d9781f420befa13db2")
_SUNCNN = ("BehnoodRasti/SUnCNN", "1c35015ffa204b6795d03fef239f187e1aede09a")
_HYSUPP = ("BehnoodRasti/HySUPP", "cb7d633a3b4a458504e31d1e5fcd3f6a00be688d")
_NMFQMV = ("LinaZhuang/NMF-QMV_demo", "571b93010acc6fbd10aff3f3fe07b1172f2eeb09")
_NEBEAE = ("Alex-CruzG/NEBEAE", "b64034da343151002f21a3bcb263e83505f10170")
_ZHOU = ("zhouyuanzxcv/Hyperspectral", "f32dcca86677f8d37596376f57e9c733058f8cff")
_ENMAPBOX = ("EnMAP-Box/enmap-box", "f9e8f486c9614813410cc9d715bb056e6ad3cfd5")
_PYPAN = ("codegaj/py_pansharpening", "a1bf9ec0d4fa5694615ac6e9b7ee61a121fc5145")
_FUVAR = ("ricardoborsoi/FuVarRelease", "2164cd871f32448dd02647a90c5ca7d6dfa8c4de")
_HYSURE = ("alfaiate/HySure", "8652a5838b95c29ca056f7921f8ac58def6bbaf7")
_VARIAB = ("ricardoborsoi/unmixing_spectral_variability", "d069df8ef6f0e5641f9fcf346121931e0c23bc21")

_ENMAP_TESTDATA = "tests/testdata/external"

_ZHU_2017 = ('F. Zhu, "Hyperspectral unmixing: ground truth labeling, datasets, benchmark performances and '
             'survey", arXiv:1708.05125, 2017.')
_DC_CITATION = ('M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, "Total variation spatial regularization for sparse '
                'hyperspectral unmixing", IEEE TGRS 50(11):4484-4502, 2012; B. Rasti, A. Zouaoui, J. Mairal, '
                'J. Chanussot, "Image processing and machine learning for hyperspectral unmixing: an overview and '
                'the HySUPP Python package", IEEE TGRS 62, 2024 (files of SUnCNN, B. Rasti, B. Koirala, IEEE GRSL '
                '19, 2022).')
_ENMAPBOX_CITATION = ('A. Jakimow, A. Janz, F. Thiel, A. Okujeni, P. Hostert, S. van der Linden, "EnMAP-Box: '
                      'Imaging spectroscopy in QGIS", SoftwareX 23:101507, 2023.')

_USGS_1995 = DataFile(
    "usgs/USGS_1995_Library.mat", "fe2be84e4da2abf6ab00091b36f30a1a8dd247d18a78146f61235c8b5229da63", 438954,
    (_gh(*_MUA, "USGS_1995_Library.mat"), _gh(*_MSKERNEL, "DATA/USGS_1995_Library.mat")),
    shipped=USGS_1995_RESOURCE)
_DC1_EE = DataFile(
    "dc1/DC1_EE.mat", "0313c9f25f2c699d16aebfa2e9c2dad9c7f4c1122bc3036aaf215fc010c3ef4b", 211166,
    (_gh(*_SUNCNN, "Data/DC1/EE.mat"), _gh(*_SUNCNN, "Data/DC2/EE.mat")))
_ENMAP_README = DataFile(
    "enmap_potsdam/exampledata_readme.txt", "a2eaa3e9a225427c6e1b7c35abec12145cb0b2122c4d06c98d268d1e0dbd8e5d",
    1801, (_gh(*_ENMAPBOX, "enmapbox/exampledata/readme.txt"),))
_ENMAP_SRF = DataFile(
    "enmap_potsdam/enmap_potsdam_srf.csv", "b8d8edc1d5063488bd63808a362774e1e95d4a1380d5795597966176bb46a0eb",
    3544, (_gh(*_ENMAPBOX, "tests/testdata/srf/enmap_potsdam_srf.csv"),
           _gh(*_ENMAPBOX, "enmapboxprocessing/algorithm/spectralresampling/enmap.csv")))
_ENMAP_LICENCE = ("EnMAP data (c) DLR, distributed with the EnMAP-Box test data (GPL-3.0 repository); see "
                  "exampledata_readme.txt")


def _enmap_tile(tag: str, sha256: str) -> DataFile:
    return DataFile(f"enmap_potsdam/enmap_potsdam_tile_{tag}.tif", sha256, 1014030,
                    (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/specdeepmap/test_requierments/images/"
                                     f"enmap_potsdam_tile_{tag}.tif"),))


_ENMAP_CAVEATS = ("6 of the 224 EnMAP bands are no-data (filled with -32768) and are dropped by the reader "
                  "(218 bands kept, `extras['kept_bands']`).",
                  "Values are reflectance x 1e4 stored as float32; the registry reads them with scale 1e-4.")

_DATASETS: tuple[Dataset, ...] = (
    # ------------------------------------------------------------------------------ real scenes
    Dataset(
        name="samson", title="Samson (AVIRIS-like, 95 x 95, 156 bands) with Zhu's 3-endmember truth",
        kind="scene", aliases=("samson1",),
        files=(DataFile("samson/samson_1.mat", "1ebacaf7cd32bfc31c0ee3fd56c63a7f29a434893a8b45705fb59cd8a0c8beb6",
                        3604014, (_gh(*_MUA, "real_data/samson_1.mat"),
                                  _gh(*_TUBAL, "DataSets/Samson/samson_1.mat"))),
               DataFile("samson/end3.mat", "ce768182ce5292390180f827ff5769112cf3d299f4e64ab43e950a310b7ec9fa",
                        134259, (_gh(*_TUBAL, "DataSets/Samson/GroundTruth/end3.mat"),))),
        read="samson/samson_1.mat", truth=("samson/end3.mat",),
        licence=("research redistribution of Zhu's files (image copy from a repository without a licence; the "
                 "truth copy from a CC0 repository); cite Zhu 2017"),
        citation=_ZHU_2017,
        description=("The Samson scene of Zhu's unmixing benchmark: 95 x 95 pixels, 156 bands (401-889 nm), "
                     "reflectance in [0, 1], with the reference endmembers and abundances of rock, tree and "
                     "water (end3.mat)."),
        shape=(156, 95, 95), units="reflectance in [0, 1] (as distributed)",
        ground_truth="endmembers M (156 x 3: rock, tree, water) and abundances A (3 x 9025, column-major pixels)",
        caveats=("Both files store pixels in column-major order (MATLAB); the reader reshapes them with "
                 "order='F' (checked: the truth reconstructs the image with a median spectral correlation "
                 "> 0.99).",
                 "No wavelengths in the files.")),
    Dataset(
        name="jasper-ridge", title="Jasper Ridge (AVIRIS, 100 x 100, 198 bands) with Zhu's 4-endmember truth",
        kind="scene", aliases=("jasper", "jasperridge2"),
        files=(DataFile("jasper_ridge/jasperRidge2_R198.mat",
                        "0e4118a6452f6044978a8ca3762fb0f791115467904936d463c4e111e56e682e", 2987224,
                        (_gh(*_MAXVOL, "data/jasper/jasperRidge2_R198.mat"),
                         _gh(*_MUA, "real_data/jasperRidge2_R198.mat"),
                         _gh(*_TUBAL, "DataSets/jasperRidge2_R198.mat"),
                         _gh(*_MSKERNEL, "DATA/jasperRidge2_R198.mat"))),
               DataFile("jasper_ridge/end4.mat", "92f5697b43705802b904fd13ba99b6ce65a3d203682864abc3fbec922beec374",
                        178271, (_gh(*_MAXVOL, "data/jasper/end4.mat"),))),
        read="jasper_ridge/jasperRidge2_R198.mat", truth=("jasper_ridge/end4.mat",),
        licence="AVIRIS data (NASA/JPL, public domain); research redistribution of Zhu's files; cite Zhu 2017",
        citation=_ZHU_2017,
        description=("The Jasper Ridge scene of Zhu's unmixing benchmark: a 100 x 100 crop (rows 105-204, "
                     "columns 269-368) of an AVIRIS image, 198 of the 224 channels (380-2500 nm) kept, with the "
                     "reference endmembers and abundances of tree, water, dirt and road (end4.mat)."),
        shape=(198, 100, 100), units="Y / maxValue (maxValue = 5000): the units of the truth endmembers",
        ground_truth="endmembers M (198 x 4: tree, water, dirt, road) and abundances A (4 x 10000, column-major)",
        caveats=("Y is stored as integers (max 5437); the reader divides it by the file's maxValue = 5000, "
                 "the scale in which Zhu's endmembers M are given (a least-squares fit Y = c M A gives "
                 "c = 5367).",
                 "Pixels are column-major (order='F'); checked: the truth reconstructs the image with a median "
                 "spectral correlation of 0.994 (0.145 with the transposed maps).",
                 "No wavelengths in the file; `extras['sensor_bands']` holds the 198 kept AVIRIS channels "
                 "(0-based, from SlectBands).")),
    Dataset(
        name="cuprite-crop", title="Cuprite AVIRIS crop (50 x 90, 188 bands) of NMF-QMV, 12-mineral reference",
        kind="scene", aliases=("rcuprite", "cuprite50x90"),
        files=(DataFile("cuprite/Rcuprite50x90x188.mat",
                        "755772e67f6dd58d5bbcb650007f8e22198b46b27c7afcfe74f84b1d8abfc73a", 1290077,
                        (_gh(*_NMFQMV, "Rcuprite50x90x188.mat"),)),
               DataFile("cuprite/groundTruth_Cuprite_nEnd12.mat",
                        "011be17bb753b7d608745d5130fbb1bf326a6cb984421207ef72091fc7a33503", 22673,
                        (_gh(*_NEBEAE, "groundTruth_Cuprite_nEnd12.mat"),))),
        read="cuprite/Rcuprite50x90x188.mat", truth=("cuprite/groundTruth_Cuprite_nEnd12.mat",), scale=1e-4,
        licence=("AVIRIS data (NASA/JPL, public domain); image copy from a GPL-2.0 repository, reference from a "
                 "GPL-3.0 repository"),
        citation=('L. Zhuang, C.-H. Lin, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Regularization parameter '
                  'selection in minimum volume hyperspectral unmixing", IEEE TGRS 57(12), 2019 (the crop); '
                  'D. U. Campos-Delgado et al., "Nonlinear extended blind end-member and abundance extraction '
                  'for hyperspectral images", Signal Processing 201:108718, 2022 (the 12-mineral reference).'),
        description=("A 50 x 90 crop of the AVIRIS Cuprite scene (188 channels after removing water-absorption "
                     "and low-SNR channels) used in the NMF-QMV demo, with 12 USGS reference minerals at the "
                     "224 AVIRIS channels reduced to the 188 kept ones (slctBnds)."),
        shape=(188, 50, 90), units="reflectance (stored as int16 reflectance x 1e4; read with scale 1e-4)",
        ground_truth="12 reference endmembers (USGS minerals), no abundances",
        caveats=("The reference minerals are spectra of the USGS library, not endmembers extracted from this "
                 "crop: only some of them are present in it.",
                 "Wavelengths come from the reference file (its band selection), not from the image file.")),
    Dataset(
        name="pavia-university-crop", title="ROSIS Pavia University crop (80 x 50, 103 bands) with a co-registered RGB",
        kind="scene", aliases=("pavia-crop",),
        files=(DataFile("pavia_university/reg_pavia_dataset.mat",
                        "1f8fbef14fa4311e7dc087a023bd5a478d5422bf242d597e938806f55495dc20", 3476287,
                        (_gh(*_ZHOU, "REG/reg_pavia_dataset.mat"),)),),
        read="pavia_university/reg_pavia_dataset.mat",
        licence="BSD-3-Clause-style licence of the repository (Y. Zhou); ROSIS data courtesy of P. Gamba",
        citation=('Y. Zhou, A. Rangarajan, P. D. Gader, "An integrated approach to registration and fusion of '
                  'hyperspectral and multispectral images", IEEE TGRS 58(5):3020-3033, 2020.'),
        description=("An 80 x 50 crop of the ROSIS Pavia University scene (103 bands, 430-860 nm, reflectance) "
                     "and an RGB image of the same area at a finer resolution (rgb1, 500 x 340 x 3), from Zhou's "
                     "registration and fusion experiments."),
        shape=(103, 80, 50), units="reflectance",
        caveats=("Not the full 610 x 340 Pavia University scene (not registered yet).",
                 "The RGB image is read with key='rgb1': hysupp.load('pavia-university-crop', key='rgb1').")),
    Dataset(
        name="salton-sea", title="AVIRIS Salton Sea ROI (51 x 56, 204 of 224 channels, georeferenced)",
        kind="scene", aliases=("salton-sea-roi",),
        files=(DataFile("aviris_salton_sea/salton_sea_roi.mat",
                        "ac1b397bdb90ea854975f83ed32523ae447b74b0c3601f37cd09eb3a6f11fd40", 2272000,
                        (_gh(*_ZHOU, "REG/salton_sea_roi.mat"),)),),
        read="aviris_salton_sea/salton_sea_roi.mat",
        licence="AVIRIS data (NASA/JPL, public domain); BSD-3-Clause-style licence of the repository",
        citation=('Y. Zhou, A. Rangarajan, P. D. Gader, "An integrated approach to registration and fusion of '
                  'hyperspectral and multispectral images", IEEE TGRS 58(5):3020-3033, 2020.'),
        description=("A 51 x 56 region of an AVIRIS reflectance image of the Salton Sea with its ENVI header "
                     "fields (map info, wavelengths, FWHM, bad-band list)."),
        shape=(204, 51, 56), units="reflectance",
        caveats=("The 20 bad bands (NaN in the file, bbl = 0) are dropped by the reader: 204 of 224 kept "
                 "(`extras['kept_bands']`).",
                 "Georeferenced: UTM zone 11N (EPSG:32611) from the ENVI map info.")),
    Dataset(
        name="enmap-potsdam", title="EnMAP L2A tile over Potsdam (32 x 32, 218 bands) with a land-cover label tile",
        kind="scene", aliases=("enmap",),
        files=(_enmap_tile("128_0", "b3188eabb94fb40cc6e5ad0ec6b3a03983d188e6736ada84e90080fbcd6d4271"),
               DataFile("enmap_potsdam/label_enmap_potsdam_tile_128_0.tif",
                        "6f7945743ab1af207b9dd01108d5eda13c4518955e453f5b2e2197dde9a5b962", 4456,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/specdeepmap/test_requierments/labels/"
                                         "enmap_potsdam_tile_128_0.tif"),)),
               _ENMAP_SRF, _ENMAP_README),
        read="enmap_potsdam/enmap_potsdam_tile_128_0.tif", scale=1e-4,
        licence=_ENMAP_LICENCE, citation=_ENMAPBOX_CITATION,
        description=("A 32 x 32 tile of the EnMAP L2A scene of Potsdam (24 July 2022, 30 m, EPSG:32633) from the "
                     "EnMAP-Box test data, with a land-cover label tile of the same grid (classes 0-5), the EnMAP "
                     "spectral response table and the EnMAP-Box example-data readme."),
        shape=(218, 32, 32), units="reflectance (stored as reflectance x 1e4; read with scale 1e-4)",
        ground_truth="land-cover labels (a class map, not abundances): enmap_potsdam/label_enmap_potsdam_tile_128_0.tif",
        caveats=_ENMAP_CAVEATS + ("The label tile is fetched with the scene but not merged into it: read it with "
                                  "hysupp.load(path) from hysupp.datasets.fetch('enmap-potsdam').",)),
    Dataset(
        name="enmap-potsdam-96-96", title="EnMAP L2A tile over Potsdam (32 x 32, 218 bands), second tile",
        kind="scene",
        files=(_enmap_tile("96_96", "e3d12471a31336c41f43ac53fdfb9aa857309b5d5106275d523556977d2bb9b6"),
               _ENMAP_README),
        read="enmap_potsdam/enmap_potsdam_tile_96_96.tif", scale=1e-4,
        licence=_ENMAP_LICENCE, citation=_ENMAPBOX_CITATION,
        description="A second 32 x 32 tile of the EnMAP L2A Potsdam scene (see enmap-potsdam).",
        shape=(218, 32, 32), units="reflectance (stored as reflectance x 1e4; read with scale 1e-4)",
        caveats=_ENMAP_CAVEATS),
    Dataset(
        name="gamsberg", title="EnGeoMAP Gamsberg subset (ENVI, 25 x 10, 189 bands)",
        kind="scene",
        files=(DataFile("envi_gamsberg/cubus_gamsberg_subset",
                        "aa419833137ec187caa47948d257a9851fa7813706709cafda74d4f0b24ecc32", 189000,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/engeomap/cubus_gamsberg_subset"),)),
               DataFile("envi_gamsberg/cubus_gamsberg_subset.hdr",
                        "c32b4e5881b54e66d191f61eeb28619ba5fa04963e9f1aae0803aba466eb5d72", 15821,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/engeomap/cubus_gamsberg_subset.hdr"),))),
        read="envi_gamsberg/cubus_gamsberg_subset", scale=1e-4,
        licence="GFZ EnGeoMAP example data distributed with the EnMAP-Box test data (GPL-3.0 repository)",
        citation=('C. Mielke, C. Rogass, N. Boesche, K. Segl, U. Altenberger, "EnGeoMAP 2.0 - Automated '
                  'hyperspectral mineral identification for the German EnMAP space mission", Remote Sensing '
                  '8(2):127, 2016.'),
        description=("A small ENVI image (BSQ, float32) of the Gamsberg mine area (South Africa) used by the "
                     "EnGeoMAP tests, 189 bands from 427 to 2325 nm."),
        shape=(189, 25, 10), units="reflectance (stored as reflectance x 1e4; read with scale 1e-4)"),
    # ------------------------------------------------------------------------------ synthetic scenes
    Dataset(
        name="dc1", title="DC1 simulated scene (75 x 75, 224 bands, 5 USGS endmembers), published files",
        kind="scene",
        files=(DataFile("dc1/DC1_Y_clean.mat", "c28230d26616a0b0e2f9934d2efa18266033a1c807f1e7a89f6237db9758dcaa",
                        158516, (_gh(*_SUNCNN, "Data/DC1/Y_clean.mat"),)),
               DataFile("dc1/DC1_XT.mat", "2ae49874b71aa3166643e73bac44c789eb57c9cbc9958b4a9cf24198ea9484aa",
                        140127, (_gh(*_SUNCNN, "Data/DC1/XT.mat"),)),
               _DC1_EE,
               DataFile("dc1/reference_endmembers.txt",
                        "803d6991accf956c57bd6d0dd6cda7a15709fe5a687eb29b25b01ffb990d7d99", 589,
                        (_gh(*_HYSUPP, "data/reference_endmembers.txt"),))),
        read="dc1/DC1_Y_clean.mat", truth=("dc1/DC1_XT.mat", "dc1/DC1_EE.mat"), sparse_truth=True,
        licence="Apache-2.0 (SUnCNN files), MIT (HySUPP's reference_endmembers.txt)",
        citation=_DC_CITATION,
        description=("The noiseless DC1 scene of Iordache et al. (2012) as published with SUnCNN/HySUPP: "
                     "Y = EE XT with the 240-atom pruned USGS 1995 library EE and abundances XT that are zero "
                     "except for 5 atoms. hysupp.datasets.builtin_scene('dc1') rebuilds the same scene from "
                     "the bundled library without a download."),
        shape=(224, 75, 75), units="reflectance",
        ground_truth="the 240-atom library, the 5 true atoms (library_index) and their abundances",
        caveats=("The cube is noiseless: add noise with hysupp run --snr.",
                 "Endmember names are not in the .mat files: reference_endmembers.txt lists them.")),
    Dataset(
        name="dc2", title="DC2 simulated scene (100 x 100, 224 bands, 9 USGS endmembers), published abundances",
        kind="scene",
        files=(DataFile("dc2/DC2_XT.mat", "631f050ea8ceb18d2c088fb4654e63edfdf558ade07bc172e454d1e54e375964",
                        908714, (_gh(*_SUNCNN, "Data/DC2/XT.mat"),)),
               _DC1_EE),
        read="dc2/DC2_XT.mat", truth=("dc1/DC1_EE.mat",), sparse_truth=True, cube_from_truth=True,
        licence="Apache-2.0 (SUnCNN files)", citation=_DC_CITATION,
        description=("DC2 of Iordache et al. (2012) as published with SUnCNN: abundances XT (240 x 100 x 100, "
                     "9 active atoms, one stored random draw) over DC1's 240-atom library EE; the noiseless "
                     "image is EE XT (SUnCNN's Y_clean.mat holds exactly that product)."),
        shape=(224, 100, 100), units="reflectance",
        ground_truth="the 240-atom library, the 9 true atoms (library_index) and their abundances",
        caveats=("The image is computed as EE XT when read (no image file is downloaded).",
                 "hysupp.simulate('dc2') rebuilds the same scene from these abundances.")),
    # ------------------------------------------------------------------------------ libraries
    Dataset(
        name="usgs1995", title="USGS splib 1995 at the 224 AVIRIS channels (498 spectra), bundled",
        kind="library", aliases=("usgs",), may_ship=True, files=(_USGS_1995,),
        read="usgs/USGS_1995_Library.mat",
        licence="USGS, U.S. public domain (ships with hysupp: hysupp/data/NOTICE.md)",
        citation=('R. N. Clark, G. A. Swayze, A. J. Gallagher, T. V. V. King, W. M. Calvin, "The U.S. Geological '
                  'Survey Digital Spectral Library: Version 1: 0.2 to 3.0 microns", USGS Open File Report '
                  '93-592, 1993.'),
        description=("498 laboratory reflectance spectra (minerals, soils, vegetation, man-made materials) "
                     "resampled to the 224 AVIRIS channels (0.38-2.51 um). Bundled in the package: read from "
                     "there, never downloaded."),
        shape=(224, 498), units="reflectance",
        caveats=("Rows are not sorted by wavelength in the file; the reader sorts them.",
                 "Columns 0-2 are wavelength, resolution and channel number, the signatures follow; values "
                 "below -1e30 flag deleted channels (only in the channel-number column here).",
                 "hysupp run --library usgs1995 uses the same file (hysupp.datasets.named_library).")),
    Dataset(
        name="berlin-urban-library", title="Berlin Urban Gradient 2009 spectral library (75 spectra, 177 bands)",
        kind="library", aliases=("berlin-library", "library-berlin"),
        files=(DataFile("envi_library_berlin/library_berlin.sli",
                        "351641cb6fd331077a0fdd9956269b13c415bde559bffd63b6d1ac51b8a45a0f", 106200,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/envi/library_berlin.sli"),)),
               DataFile("envi_library_berlin/library_berlin.hdr",
                        "ce2cc4ffd4f6a458830e26725c7d9e538e0f1198fe6bc421eb3221caae74ba39", 5572,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/envi/library_berlin.hdr"),)),
               DataFile("envi_library_berlin/library_berlin.csv",
                        "6090b2e570105bff471d19fe6a2aa253a7de7ebeb9fa1b7653a94da4f1074eea", 3596,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/envi/library_berlin.csv"),)),
               DataFile("envi_library_berlin/library_berlin.json",
                        "0a882b9a5e01992fafe87316cef98ebebcdbdf04a86ecffcd6302629eb1dea27", 980,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/envi/library_berlin.json"),))),
        read="envi_library_berlin/library_berlin.sli", scale=1e-4,
        licence="CC BY-SA 4.0 (Berlin-Urban-Gradient dataset 2009)",
        citation=('A. Okujeni, S. van der Linden, P. Hostert, "Berlin-Urban-Gradient dataset 2009 - An EnMAP '
                  'Preparatory Flight Campaign (Datasets)", GFZ Data Services, 2016, doi:10.5880/enmap.2016.002.'),
        description=("An ENVI spectral library of 75 urban spectra (roofs, pavements, vegetation, soil, water) "
                     "at the 177 HyMap bands of the Berlin Urban Gradient campaign, with the class table "
                     "(csv/json) of the EnMAP-Box test data."),
        shape=(177, 75), units="reflectance (stored as reflectance x 1e4; read with scale 1e-4)",
        caveats=("Wavelengths are given in micrometres in the header; the reader converts them to nm.",)),
    Dataset(
        name="gamsberg-field-library", title="EnGeoMAP Gamsberg field spectral library (27 spectra, 350-2500 nm)",
        kind="library", aliases=("gamsberg-library",),
        files=(DataFile("envi_gamsberg/gamsberg_field_library",
                        "d9e7581c1f5a9bbeb265f5160f9b7103d2582aacee9c50ef7cbc3e6d682d65f8", 464616,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/engeomap/gamsberg_field_library"),)),
               DataFile("envi_gamsberg/gamsberg_field_library.hdr",
                        "11595c9fae66c03fcfa91caac5c11df07d9a04b6bb2358a79b76abf5858213f1", 29282,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/engeomap/gamsberg_field_library.hdr"),)),
               DataFile("envi_gamsberg/gamesberg_field_library_color_mod.csv",
                        "039837ed77228ccf4a40fef2a6d5169248f50a32f8b33c2a5a1b34d245df299a", 1253,
                        (_gh(*_ENMAPBOX, f"{_ENMAP_TESTDATA}/engeomap/gamesberg_field_library_color_mod.csv"),))),
        read="envi_gamsberg/gamsberg_field_library.hdr",
        licence="GFZ EnGeoMAP example data distributed with the EnMAP-Box test data (GPL-3.0 repository)",
        citation=('C. Mielke, C. Rogass, N. Boesche, K. Segl, U. Altenberger, "EnGeoMAP 2.0 - Automated '
                  'hyperspectral mineral identification for the German EnMAP space mission", Remote Sensing '
                  '8(2):127, 2016.'),
        description=("27 field spectra of rocks and weathering products of the Gamsberg area at 1 nm "
                     "(350-2500 nm), with the class colour table used by EnGeoMAP."),
        shape=(2151, 27), units="reflectance"),
    Dataset(
        name="jasper-ridge-library", title="USGS-derived library for Jasper Ridge (529 spectra, 198 bands)",
        kind="library",
        files=(DataFile("jasper_ridge/spectral_library_jasperRidge.mat",
                        "a58296ea60ec7f5e80fd59300a4a4d1287adf4075092d0d731d909ca21cc3bd7", 788456,
                        (_gh(*_MUA, "real_data/spectral_library_jasperRidge.mat"),)),),
        read="jasper_ridge/spectral_library_jasperRidge.mat", key="A",
        licence="no licence stated by the repository; cite Borsoi et al. 2019",
        citation=('R. A. Borsoi, T. Imbiriba, J. C. M. Bermudez, C. Richard, "A fast multiscale spatial '
                  'regularization for sparse hyperspectral unmixing", IEEE GRSL 16(4):598-602, 2019.'),
        description=("The spectral library of the MUA sparse-unmixing experiments on Jasper Ridge: 529 spectra at "
                     "its 198 bands, in four groups (lib1-lib4: tree, water, dirt, road; A = [lib1 lib2 lib3 "
                     "lib4])."),
        shape=(198, 529), units="reflectance",
        caveats=("Columns 0-128 are tree, 129-266 water, 267-393 dirt, 394-528 road (the sizes of lib1-lib4); "
                 "the atoms carry no names.",)),
    Dataset(
        name="urban-library", title="USGS-derived library for Urban (651 spectra, 162 bands)",
        kind="library",
        files=(DataFile("urban/spectral_library_urban.mat",
                        "19047fa928b762ed1ca9405e56b0085845c56db1c18d7c176f3a51a467af8d83", 432534,
                        (_gh(*_MUA, "real_data/spectral_library_urban.mat"),)),),
        read="urban/spectral_library_urban.mat", key="A",
        licence="no licence stated by the repository; cite Borsoi et al. 2019",
        citation=('R. A. Borsoi, T. Imbiriba, J. C. M. Bermudez, C. Richard, "A fast multiscale spatial '
                  'regularization for sparse hyperspectral unmixing", IEEE GRSL 16(4):598-602, 2019.'),
        description=("The spectral library of the MUA sparse-unmixing experiments on the Urban scene: 651 spectra "
                     "at its 162 bands, in six groups (lib1-lib6; A = [lib1 ... lib6])."),
        shape=(162, 651), units="reflectance",
        caveats=("The Urban image itself is not registered yet.",
                 "Columns by group: 69, 100, 115, 118, 85 and 164 spectra (lib1-lib6, in the order of the "
                 "file's material_names); the atoms carry no names.")),
    Dataset(
        name="cuprite-usgs3", title="Three USGS minerals at the 188 Cuprite channels (NMF-QMV demo)",
        kind="library",
        files=(DataFile("cuprite/USGS_lib_DesertVanish_Montmorillonite_Alunite_188b.mat",
                        "0d9232cb03853fe2abbf091641aa47d5440ae4ab1af724e44bcea4bfd92fe78f", 2458,
                        (_gh(*_NMFQMV, "USGS_lib_DesertVanish_Montmorillonite_Alunite_188b.mat"),)),),
        read="cuprite/USGS_lib_DesertVanish_Montmorillonite_Alunite_188b.mat",
        licence="USGS spectra (public domain); copy from a GPL-2.0 repository",
        citation=('L. Zhuang, C.-H. Lin, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Regularization parameter '
                  'selection in minimum volume hyperspectral unmixing", IEEE TGRS 57(12), 2019.'),
        description=("Desert varnish, montmorillonite and alunite (USGS library) at the 188 channels of the "
                     "cuprite-crop scene: the references of the NMF-QMV Cuprite demo."),
        shape=(188, 3), units="reflectance",
        caveats=("The file carries no names or wavelengths; the column order is that of the file name.",)),
    # ------------------------------------------------------------------------------ fusion pairs
    Dataset(
        name="wv2-washington", title="WorldView-2 Washington pansharpening pair (MS 320 x 320 x 8, PAN 1280 x 1280)",
        kind="pair", aliases=("wv2", "imgwv2"),
        files=(DataFile("pansharpening_wv2/imgWV2.mat",
                        "8a33d87006088e3bb0aadd157d59195d2cbab47b97f71efb94fc18568929d5cd", 3439445,
                        (_gh(*_PYPAN, "images/imgWV2.mat"),)),),
        read="pansharpening_wv2/imgWV2.mat",
        licence="MIT (repository); imagery: Maxar/DigitalGlobe sample data",
        citation=('G. Vivone, L. Alparone, J. Chanussot, M. Dalla Mura, A. Garzelli, G. A. Licciardi, R. Restaino, '
                  'L. Wald, "A critical comparison among pansharpening algorithms", IEEE TGRS 53(5):2565-2586, '
                  '2015.'),
        description=("The WorldView-2 Washington pair of the pansharpening toolbox: 8 MS bands (320 x 320) and a "
                     "PAN band (1280 x 1280), ratio 4, 11-bit DN."),
        shape=(8, 320, 320), units="digital numbers (11 bits), kept as stored",
        ground_truth="none at full resolution (reduced-resolution protocol: the MS is the reference)",
        caveats=("The PAN band is in extras['pan'] (or hysupp.load('wv2-washington', key='I_PAN')).",)),
    # ------------------------------------------------------------------------------ spectral responses
    Dataset(
        name="srf-aviris-sentinel2", title="Sentinel-2 spectral responses on 173 AVIRIS bands (10 x 173)",
        kind="srf",
        files=(DataFile("srf/R_avirSentin2.mat", "00e818fc824e1fe5f7d9f82d57db0b4ae03e98a92d9f2255bde4f72979a91c73",
                        1074, (_gh(*_FUVAR, "DATA/R_avirSentin2.mat"),)),),
        read="srf/R_avirSentin2.mat",
        licence="no licence stated by the repository; cite Borsoi et al. 2020",
        citation=('R. A. Borsoi, T. Imbiriba, J. C. M. Bermudez, "Super-resolution for hyperspectral and '
                  'multispectral image fusion accounting for seasonal spectral variability", IEEE TIP 29:116-127, '
                  '2020.'),
        description="The matrix R (10 x 173) mapping 173 AVIRIS bands to 10 Sentinel-2 bands (FuVar experiments).",
        shape=(10, 173), units="response weights",
        caveats=("Read as a plain matrix: extras['matrix'].",)),
    Dataset(
        name="srf-ikonos", title="IKONOS spectral responses (PAN, B, G, R, NIR; 350-1035 nm)",
        kind="srf",
        files=(DataFile("srf/ikonos_spec_resp.mat", "039b5db00616eced50e41a6232b0b5a3e672e98efba0a90357b6e206030cfb17",
                        5749, (_gh(*_HYSURE, "data/ikonos_spec_resp.mat"),)),),
        read="srf/ikonos_spec_resp.mat",
        licence="GPL-3.0 (HySure repository)",
        citation=('M. Simoes, J. M. Bioucas-Dias, L. B. Almeida, J. Chanussot, "A convex formulation for '
                  'hyperspectral image superresolution via subspace-based regularization", IEEE TGRS '
                  '53(6):3373-3388, 2015.'),
        description="The IKONOS relative spectral responses used by HySure: 138 wavelengths x 5 bands.",
        shape=(138, 5), units="relative response (peak 1)",
        caveats=("Read as a table: the responses in `library` (one column per band), wavelengths in nm.",)),
    Dataset(
        name="aviris-wavelengths", title="AVIRIS nominal band centres (224 channels)",
        kind="srf",
        files=(DataFile("wavelengths/AVIRIS_wavelengths.mat",
                        "4b583286733d38f6f788cda39b70a7af139c9e89d4e945aa24d8e526c7a48d1b", 1108,
                        (_gh(*_VARIAB, "synthetic_data_generation/AVIRIS_wavelengths.mat"),)),),
        read="wavelengths/AVIRIS_wavelengths.mat",
        licence="no licence stated by the repository; cite Borsoi et al. 2021",
        citation=('R. A. Borsoi et al., "Spectral variability in hyperspectral data unmixing: a comprehensive '
                  'review", IEEE GRSM 9(4):223-270, 2021.'),
        description="The 224 nominal AVIRIS channel centres (370-2507 nm), without response shapes.",
        shape=(224,), units="nm",
        caveats=("Band centres only: no FWHM or response shapes.",)),
)

#: Every registered data set, in declaration order.
DATASETS: tuple[Dataset, ...] = _DATASETS

#: Standard public scenes that are not registered yet, with the reason (shown when one is asked for).
UNREGISTERED: dict[str, str] = {
    "urban": ("Urban (HYDICE, 307 x 307, 162 bands): no copy of Urban_R162.mat has been verified byte for byte "
              "yet; its truth files end4/end5/end6_groundTruth.mat are in Alex-CruzG/NEBEAE. Load your copy by "
              "path: hysupp.load('Urban_R162.mat', truth='end6_groundTruth.mat'). The Urban library is "
              "registered (urban-library)"),
    "cuprite": ("the full Cuprite scene (250 x 191, 188 bands, CupriteS1_R188.mat): no copy verified yet; the "
                "50 x 90 crop is registered (cuprite-crop)"),
    "pavia-university": ("the full Pavia University scene (610 x 340, 103 bands, PaviaU.mat): no copy verified "
                         "yet; an 80 x 50 crop is registered (pavia-university-crop)"),
    "houston": "Houston (GRSS DFC 2013): no copy verified yet",
    "indian-pines": "Indian Pines (AVIRIS, 145 x 145): no copy verified yet",
    "washington-dc-mall": "Washington DC Mall (HYDICE, 1280 x 307, 191 bands): no copy verified yet",
    "salinas": "Salinas (AVIRIS, 512 x 217): no copy verified yet",
    "moffett-field": "Moffett Field (AVIRIS): no copy with a documented layout verified yet",
}


# ------------------------------------------------------------------------------------- lookup
def dataset_key(name: str) -> str:
    """How a data set name is matched: lower case, without ``-``, ``_``, ``.`` and spaces.

    >>> dataset_key("Jasper_Ridge") == dataset_key("jasper-ridge")
    True
    """
    return "".join(ch for ch in str(name).lower() if ch not in "-_. ")


def _build_index(datasets: Iterable[Dataset]) -> dict[str, Dataset]:
    index: dict[str, Dataset] = {}
    for ds in datasets:
        if ds.kind not in KINDS:
            raise ValueError(f"data set {ds.name!r}: kind {ds.kind!r} is not one of {KINDS}")
        paths = [f.path for f in ds.files]
        if len(set(paths)) != len(paths):
            raise ValueError(f"data set {ds.name!r}: a file is declared twice")
        for needed in (ds.read,) + ds.truth:
            if needed not in paths:
                raise ValueError(f"data set {ds.name!r}: {needed!r} is not one of its files")
        for f in ds.files:
            if not _HEX64.match(f.sha256) or f.size <= 0 or not f.sources:
                raise ValueError(f"data set {ds.name!r}: file {f.path!r} needs a sha256, a size and a source")
            for s in f.sources:
                if s.direct_url is None and not (s.repo and s.path and s.commit and _HEX40.match(s.commit)):
                    raise ValueError(f"data set {ds.name!r}: {f.path!r}: a GitHub source needs repo, path and a "
                                     f"40-hex commit, got {s}")
        for label in (ds.name,) + ds.aliases:
            k = dataset_key(label)
            if k in index and index[k] is not ds:
                raise ValueError(f"data set name {label!r} ({ds.name}) collides with {index[k].name!r}")
            index[k] = ds
    # one file path, one content: a file shared by two data sets is declared identically
    seen: dict[str, DataFile] = {}
    for ds in datasets:
        for f in ds.files:
            other = seen.setdefault(f.path, f)
            if (other.sha256, other.size) != (f.sha256, f.size):
                raise ValueError(f"file {f.path!r} is declared with two checksums")
    return index


_INDEX = _build_index(_DATASETS)


def find_dataset(name: str) -> Dataset | None:
    """The data set registered under ``name`` or one of its aliases (:func:`dataset_key`), or None."""
    return _INDEX.get(dataset_key(name))


def suggest(name: str, n: int = 3) -> list[str]:
    """Registered names close to ``name`` (for "did you mean" messages).

    >>> suggest("samsom")
    ['samson']
    """
    key = dataset_key(name)
    labels: dict[str, str] = {}
    for ds in _DATASETS:
        for label in (ds.name,) + ds.aliases:
            labels.setdefault(dataset_key(label), ds.name)
    close = difflib.get_close_matches(key, list(labels), n=2 * n, cutoff=0.6)
    close += [k for k in labels if len(key) >= 4 and k.startswith(key) and k not in close]
    out: list[str] = []
    for k in close:
        if labels[k] not in out:
            out.append(labels[k])
    return out[:n]


def _unregistered(name: str) -> str | None:
    key = dataset_key(name)
    for label, reason in UNREGISTERED.items():
        if dataset_key(label) == key:
            return reason
    return None


def unknown_name_message(name: str) -> str:
    """Why ``name`` is not a registered data set: a known but unregistered scene, or the closest names."""
    reason = _unregistered(name)
    if reason is not None:
        return f"{name!r} is not registered yet: {reason}"
    close = suggest(name)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"{name!r} is not a registered data set{hint} (list them with: hysupp datasets list)"


def get_dataset(name: str | Dataset) -> Dataset:
    """The registered data set ``name`` (aliases and case ignored).

    Raises
    ------
    DatasetError
        Unknown name; the message suggests close names or says why a known scene is not registered.
    """
    if isinstance(name, Dataset):
        return name
    ds = find_dataset(name)
    if ds is None:
        raise DatasetError(unknown_name_message(name))
    return ds


# ------------------------------------------------------------------------------------- cache
def cache_dir() -> Path:
    """The folder downloaded files go to: ``$HYSUPP_DATA_DIR`` or ``pooch.os_cache("hysupp")``."""
    env = os.environ.get("HYSUPP_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("hysupp"))


def mirror_url() -> str | None:
    """``$HYSUPP_DATA_URL``: a base URL laid out like the cache (``<base>/<file path>``), or None."""
    return os.environ.get("HYSUPP_DATA_URL") or None


def is_offline() -> bool:
    """True when ``$HYSUPP_OFFLINE`` is set to 1/true/yes/on: nothing is downloaded."""
    return os.environ.get("HYSUPP_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _shipped_path(f: DataFile) -> Path:
    from importlib.resources import files

    return Path(str(files("hysupp").joinpath(f.shipped or "")))


def local_path(f: DataFile, cache: str | os.PathLike | None = None) -> Path:
    """Where ``f`` is (or will be) on this machine: the package file when it ships, else in the cache."""
    if f.shipped is not None:
        return _shipped_path(f)
    return Path(cache if cache is not None else cache_dir()) / f.path


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def _check(ds: Dataset, f: DataFile, path: Path, *, origin: str, remedy: str) -> str | None:
    """None when ``path`` has ``f``'s size and checksum, else the reason (expected vs found)."""
    size = path.stat().st_size
    found = file_sha256(path)
    if size == f.size and found == f.sha256:
        return None
    return (f"data set {ds.name!r}: {origin} has sha256 {found} ({size} bytes); the registry expects "
            f"{f.sha256} ({f.size} bytes). {remedy}")


def _download(url: str, target: Path, progress: bool) -> None:
    """Download ``url`` to ``target`` (pooch's downloaders; ``file://`` copies the local file)."""
    if url.startswith("file:"):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        shutil.copyfile(url2pathname(urlparse(url).path), target)
        return
    import pooch

    downloader = pooch.downloaders.choose_downloader(url, progressbar=progress)
    downloader(url, str(target), None)


def _progress_default() -> bool:
    import importlib.util

    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and importlib.util.find_spec("tqdm") is not None


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fetch_file(ds: Dataset | str, f: DataFile | str, *, cache: str | os.PathLike | None = None,
               base_url: str | None = None, progress: bool | None = None,
               log: Callable[[str], None] | None = _stderr) -> Path:
    """The local path of one file of a data set, downloaded and verified on first use.

    Parameters
    ----------
    ds, f : Dataset or name, DataFile or its path
    cache : path-like, optional
        Cache folder (default :func:`cache_dir`).
    base_url : str, optional
        Mirror to download from instead of the file's sources: ``<base_url>/<file path>``
        (default ``$HYSUPP_DATA_URL``). ``file://`` URLs are copied.
    progress : bool, optional
        Show pooch's progress bar (tqdm) while downloading; default: when stderr is a terminal.
    log : callable, optional
        Receives one line per download (what, from where, verified); None for silence.

    Raises
    ------
    DatasetError
        A cached or downloaded file whose checksum differs (expected and found, the remedy); a file
        missing while offline (``$HYSUPP_OFFLINE``) or that no source could provide (the URLs and the
        path where the file can be placed by hand).
    """
    ds = get_dataset(ds)
    f = f if isinstance(f, DataFile) else ds.file(f)
    target = local_path(f, cache)
    if f.shipped is not None:
        problem = _check(ds, f, target, origin=f"the package file {str(target)!r}",
                         remedy="The installed package was modified: reinstall hysupp.")
        if problem:
            raise DatasetError(problem)
        return target
    if target.exists():
        problem = _check(ds, f, target, origin=f"the cached file {str(target)!r}",
                         remedy=(f"It was modified or is another file: delete it ({str(target)!r}) and fetch "
                                 f"again (hysupp datasets fetch {ds.name})."))
        if problem:
            raise DatasetError(problem)
        return target
    base = base_url if base_url is not None else mirror_url()
    urls = [base.rstrip("/") + "/" + f.path] if base else [s.url for s in f.sources]
    if is_offline():
        raise DatasetError(f"data set {ds.name!r}: {f.path!r} is not in the cache and HYSUPP_OFFLINE is set; "
                           f"download {urls[0]} and place it at {str(target)!r} (sha256 {f.sha256}, {f.size} "
                           f"bytes), or unset HYSUPP_OFFLINE")
    show = _progress_default() if progress is None else bool(progress)
    target.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for url in urls:
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            if log is not None:
                log(f"downloading {ds.name}: {f.path} ({_human(f.size)}) from {url}")
            try:
                _download(url, tmp, show)
            except (OSError, ValueError) as exc:  # requests' errors are OSErrors; pooch raises ValueError
                failures.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            problem = _check(ds, f, tmp, origin=f"the file downloaded from {url}",
                             remedy=("The download was discarded. The source changed or the transfer was "
                                     "altered: try again, and if it persists report the URL to the hysupp "
                                     "maintainers."))
            if problem:
                failures.append(problem)
                continue
            os.replace(tmp, target)
            if log is not None:
                log(f"  sha256 ok -> {target}")
            return target
        finally:
            tmp.unlink(missing_ok=True)
    if len(failures) == 1 and "sha256" in failures[0] and failures[0].startswith("data set"):
        raise DatasetError(failures[0])
    tried = "\n  ".join(failures)
    hint = (f"Check the mirror ({base})" if base else "Check the network (or set HYSUPP_DATA_URL to a mirror)")
    raise DatasetError(f"data set {ds.name!r}: could not get {f.path!r} (sha256 {f.sha256}, {f.size} bytes):\n  "
                       f"{tried}\n{hint}, or download the file by hand and place it at {str(target)!r}")


def fetch(name: Dataset | str, **kwargs: Any) -> dict[str, Path]:
    """Every file of a data set, downloaded and verified on first use: ``{file path: local path}``.

    Keyword arguments are those of :func:`fetch_file` (``cache``, ``base_url``, ``progress``, ``log``).
    """
    ds = get_dataset(name)
    return {f.path: fetch_file(ds, f, **kwargs) for f in ds.files}


# ------------------------------------------------------------------------------------- reading
def assemble(ds: Dataset, scene: Scene) -> Scene:
    """The last step of reading a data set: sparse truth over a library and computed cubes.

    ``sparse_truth``: abundances with one row per library atom (zero outside the true atoms) become
    ``abundances`` of the true atoms, ``endmembers`` (their library columns) and ``library_index``.
    ``cube_from_truth``: the cube is ``library @ abundances`` (row-major pixels).
    """
    notes = list(scene.notes)
    updates: dict[str, Any] = {}
    if ds.sparse_truth:
        D, X = scene.library, scene.abundances
        if D is None or X is None or X.shape[0] != D.shape[1]:
            raise DatasetError(f"data set {ds.name!r}: expected abundances over the library's atoms, got "
                               f"library {None if D is None else D.shape}, abundances {None if X is None else X.shape}")
        if ds.cube_from_truth:
            L, (h, w) = D.shape[0], X.shape[1:]
            cube = (D.astype(np.float64) @ X.reshape(X.shape[0], -1).astype(np.float64)).reshape(L, h, w)
            updates["cube"] = cube.astype(D.dtype)
            notes.append(f"cube computed as library @ abundances ({L} x {D.shape[1]} @ {X.shape[0]} x {h * w})")
        flat = X.reshape(X.shape[0], -1)
        index = [int(i) for i in np.flatnonzero(np.abs(flat).max(axis=1) > 0)]
        updates.update(abundances=X[index], endmembers=D[:, index], library_index=index)
        if scene.library_names is not None:
            updates["endmember_names"] = [scene.library_names[i] for i in index]
        notes.append(f"abundances over the {D.shape[1]}-atom library: {len(index)} non-zero atoms "
                     f"(library columns {index}) kept as the endmembers")
    return replace(scene, notes=notes, **updates)


def describe_source(ds: Dataset, paths: dict[str, Path]) -> dict[str, Any]:
    """What a loaded data set records in ``Scene.extras['dataset']``: name and files with checksums."""
    return {"name": ds.name, "title": ds.title,
            "files": [{"path": f.path, "sha256": f.sha256, "local": str(paths[f.path]),
                       "source": str(f.sources[0])} for f in ds.files if f.path in paths]}

