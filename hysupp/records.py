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


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
