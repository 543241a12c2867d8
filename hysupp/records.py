"""Run records (DESIGN §5): what ran, on what, with which versions and hardware, how long it took.

A record is a plain JSON-serialisable dict, so benchmarks, the CLI and notebooks share one format.

Example
-------
>>> from hysupp.records import environment
>>> sorted(environment())[:3]
['cpu_count', 'hysupp', 'machine']
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

RECORD_VERSION = 1
_PACKAGES = ("numpy", "scipy", "torch", "h5py", "rasterio", "spectral", "scikit-image")


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed versions of hysupp and its main dependencies (``None`` when absent)."""
    out: dict[str, str | None] = {}
    for name in ("hysupp",) + _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def environment() -> dict[str, Any]:
    """Hardware and software facts recorded beside every result."""
    return {
        "hysupp": package_versions().get("hysupp"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
    }


class Timer:
    """Named wall-clock timings: ``with timer("unmix"): ...`` then ``timer.seconds``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, paths and tuples recursively to JSON types (NaN/inf -> None)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


#: arrays in a method's ``info`` larger than this are summarised in records (see :func:`info_jsonable`)
MAX_INFO_ARRAY = 1024


def info_jsonable(info: Any, max_elements: int = MAX_INFO_ARRAY) -> Any:
    """:func:`to_jsonable` for a method's diagnostics: arrays with more than ``max_elements``
    entries (per-pixel maps such as C-GSA's segment labels) become ``{"array": "omitted",
    "shape", "dtype", "min", "max"}`` so that a run record stays small.

    >>> info_jsonable({"n": 2, "labels": np.zeros((64, 64), dtype=int), "gains": np.ones(3)})["labels"]["shape"]
    [64, 64]
    """
    if isinstance(info, dict):
        return {str(k): info_jsonable(v, max_elements) for k, v in info.items()}
    if isinstance(info, (list, tuple)):
        return [info_jsonable(v, max_elements) for v in info]
    if isinstance(info, np.ndarray) and info.size > max_elements:
        finite = info[np.isfinite(info)] if np.issubdtype(info.dtype, np.number) else np.array([])
        return {"array": "omitted", "shape": list(info.shape), "dtype": str(info.dtype),
                "min": to_jsonable(finite.min()) if finite.size else None,
                "max": to_jsonable(finite.max()) if finite.size else None}
    return to_jsonable(info)


@dataclass(frozen=True)
class Timestamp:
    """One UTC instant (to the second) in the two forms records and outputs use: ``iso``
    (``2024-03-01T12:34:56+00:00``, a record's ``created``) and ``folder`` (``20240301T123456Z``,
    output folder names)."""

    iso: str
    folder: str


def timestamp(iso: str | None = None) -> Timestamp:
    """Now (UTC, to the second), or the instant of the ISO 8601 string ``iso``, in both forms.

    >>> timestamp("2024-03-01T13:34:56+01:00")
    Timestamp(iso='2024-03-01T12:34:56+00:00', folder='20240301T123456Z')
    """
    when = datetime.now(timezone.utc) if iso is None else datetime.fromisoformat(iso).astimezone(timezone.utc)
    when = when.replace(microsecond=0)
    return Timestamp(iso=when.isoformat(timespec="seconds"), folder=when.strftime("%Y%m%dT%H%M%SZ"))


def utc_now() -> str:
    """Now in ISO 8601 (UTC, seconds): ``timestamp().iso``."""
    return timestamp().iso
