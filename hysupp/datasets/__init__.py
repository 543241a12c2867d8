"""Data by name: the shipped data (named libraries, built-in scenes) and the registry of public data sets.

Shipped with the package (:mod:`hysupp.datasets.named`): :func:`usgs_library`,
:data:`LIBRARIES` / :func:`named_library` (the ``--library`` names of ``hysupp run``),
:data:`BUILTIN_SCENES` / :func:`builtin_scene` (``"dc1"``, generated in code).

Fetched on first use (the registry, declared in :mod:`hysupp.io.catalog`, below the readers so
that :func:`hysupp.load` resolves names): :data:`DATASETS` (each entry: name and aliases, kind,
files with their source at a fixed commit, SHA-256 and size, licence, citation, how to read it),
:func:`get_dataset`, :func:`fetch` (download into :func:`cache_dir` with pooch, verify),
:func:`dataset_card` / :func:`write_cards` (the cards in ``datasets/``) and
:func:`dataset_info` (what ``hysupp datasets info --json`` prints).
``hysupp.load("samson")`` reads a registered scene with its ground truth; ``hysupp datasets
list|fetch|info`` is the command line.

Example
-------
>>> from hysupp.datasets import get_dataset, dataset_info
>>> ds = get_dataset("jasper")
>>> ds.name, ds.kind, ds.shape
('jasper-ridge', 'scene', (198, 100, 100))
>>> info = dataset_info(ds)
>>> info["files"][0]["sha256"][:12], info["files"][0]["size"]
('0e4118a6452f', 2987224)
"""

from __future__ import annotations

from hysupp.datasets.cards import dataset_card, dataset_info, write_cards
from hysupp.datasets.named import (AVIRIS_CUPRITE_188, BUILTIN_SCENES, LIBRARIES, USGS_1995_RESOURCE, builtin_scene,
                                   library_key, named_library, usgs_library)
from hysupp.io.catalog import (DATASETS, KINDS, UNREGISTERED, DataFile, Dataset, Source, cache_dir, dataset_key, fetch,
                               fetch_file, find_dataset, get_dataset, is_offline, local_path, mirror_url, suggest)

__all__ = ["AVIRIS_CUPRITE_188", "BUILTIN_SCENES", "DATASETS", "DataFile", "Dataset", "KINDS", "LIBRARIES", "Source",
           "UNREGISTERED", "USGS_1995_RESOURCE", "builtin_scene", "cache_dir", "dataset_card", "dataset_info",
           "dataset_key", "fetch", "fetch_file", "find_dataset", "get_dataset", "is_offline", "library_key",
           "local_path", "mirror_url", "named_library", "suggest", "usgs_library", "write_cards"]
