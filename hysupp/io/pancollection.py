r"""PanCollection HDF5 training and test sets (lazy, sliced reading with h5py).

The PanCollection data sets (L.-J. Deng et al., "Machine learning in pansharpening: a benchmark,
from shallow to deep networks", IEEE Geoscience and Remote Sensing Magazine 10(3), 2022,
doi:10.1109/MGRS.2022.3187652; https://github.com/liangjiandeng/PanCollection) store each set as
one ``.h5`` file with four datasets of ``N`` samples in ``N x C x H x W`` layout:

========= ====================== ==============================================================
dataset   shape                  content
========= ====================== ==============================================================
``ms``    ``(N, L, h, w)``       low-resolution multispectral image
``lms``   ``(N, L, rh, rw)``     the MS interpolated to the PAN grid (23-tap, ``interp23tap.m``)
``pan``   ``(N, 1, rh, rw)``     panchromatic image
``gt``    ``(N, L, rh, rw)``     reference MS (reduced-resolution sets; absent at full resolution)
========= ====================== ==============================================================

The values are the sensors' digital numbers (0..2047 for the 11-bit WorldView-3, WorldView-2 and
QuickBird sets, 0..1023 for GaoFen-2); ``scale`` divides every array read (PanCollection's own
loaders use 2047 or 1023), None keeps the stored values.

Nothing is read at construction beyond the dataset shapes; :meth:`PanCollection.read` reads a
sample, a slice or an index list of one dataset (h5py hyperslabs; an index list is read in sorted
order and returned in the requested order), so a multi-gigabyte training set never needs to fit in
memory. ``lms`` is optional: when the file lacks it it is computed from ``ms`` with the toolbox's
23-tap interpolation (:func:`hysupp.physics.sampling.expand`).

Errors (:class:`hysupp.errors.InputError`, naming the file and the dataset): a missing or
unreadable file, a missing ``ms``/``pan`` dataset, a dataset that is not 4-D, sample counts or band
counts that differ, a PAN with more than one band, spatial sizes that are not ``ratio`` times the
MS size.

Example
-------
>>> import numpy as np, h5py, tempfile, os
>>> from hysupp.io.pancollection import PanCollection
>>> path = os.path.join(tempfile.mkdtemp(), "train.h5")
>>> rng = np.random.default_rng(0)
>>> with h5py.File(path, "w") as f:
...     f["ms"] = rng.random((3, 4, 8, 8)) * 2047; f["lms"] = rng.random((3, 4, 32, 32)) * 2047
...     f["pan"] = rng.random((3, 1, 32, 32)) * 2047; f["gt"] = rng.random((3, 4, 32, 32)) * 2047
>>> with PanCollection(path, scale=2047) as ds:
...     print(len(ds), ds.ratio, ds.n_bands, ds.has_gt, ds.read("ms", [2, 0]).shape, float(ds.read("pan").max()) <= 1)
3 4 4 True (2, 4, 8, 8) True
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Self

import numpy as np

from hysupp.errors import InputError, ParameterError

__all__ = ["DATASETS", "PanCollection"]

#: The datasets of a PanCollection file (``gt`` and ``lms`` optional).
DATASETS = ("gt", "ms", "lms", "pan")


class PanCollection:
    """A PanCollection ``.h5`` file (module docstring), opened lazily.

    Parameters
    ----------
    path : str or path-like
    scale : float or None
        Every array read is divided by it (2047 for the 11-bit sets, 1023 for GaoFen-2); None: the
        stored values.
    ratio : int or None
        Expected resolution ratio; None: inferred from the ``pan`` and ``ms`` sizes. A mismatch
        raises :class:`hysupp.errors.InputError`.
    dtype : numpy dtype
        Of the arrays returned (float64 default).

    Use as a context manager (or call :meth:`close`) to release the file handle.
    """

    def __init__(self, path: str | os.PathLike, *, scale: float | None = None, ratio: int | None = None,
                 dtype: Any = np.float64) -> None:
        import h5py

        self.path = Path(path)
        if scale is not None and not (math.isfinite(float(scale)) and float(scale) > 0):
            raise ParameterError(f"PanCollection scale must be a positive finite number, got {scale!r}")
        self.scale = None if scale is None else float(scale)
        self.dtype = np.dtype(dtype)
        if not self.path.is_file():
            raise InputError(f"PanCollection file {str(self.path)!r} not found")
        try:
            self._file = h5py.File(self.path, "r")
        except Exception as exc:  # noqa: BLE001 - any HDF5 failure means an unusable file
            raise InputError(f"{str(self.path)!r} is not a readable HDF5 file ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        try:
            self._check(ratio)
        except Exception:
            self._file.close()
            raise

    # ------------------------------------------------------------------ validation
    def _where(self, key: str) -> str:
        return f"PanCollection file {str(self.path)!r}, dataset {key!r}"

    def _check(self, ratio: int | None) -> None:
        import h5py

        f = self._file
        present = [k for k in DATASETS if k in f]
        for key in ("ms", "pan"):
            if key not in f:
                raise InputError(f"PanCollection file {str(self.path)!r} has no dataset {key!r} (found: "
                                 f"{sorted(f.keys())}; a PanCollection set holds {', '.join(DATASETS)})")
        shapes: dict[str, tuple[int, ...]] = {}
        for key in present:
            obj = f[key]
            if not isinstance(obj, h5py.Dataset):
                raise InputError(f"{self._where(key)} is a group, not a dataset")
            if obj.ndim != 4:
                raise InputError(f"{self._where(key)} has {obj.ndim} dimensions {tuple(obj.shape)}; expected 4 "
                                 f"(N x C x H x W)")
            if not (np.issubdtype(obj.dtype, np.floating) or np.issubdtype(obj.dtype, np.integer)):
                raise InputError(f"{self._where(key)} has non-numeric dtype {obj.dtype}")
            shapes[key] = tuple(int(s) for s in obj.shape)
        n, L, h, w = shapes["ms"]
        for key, shp in shapes.items():
            if shp[0] != n:
                raise InputError(f"{self._where(key)} holds {shp[0]} samples but 'ms' holds {n}")
            if key in ("gt", "lms") and shp[1] != L:
                raise InputError(f"{self._where(key)} has {shp[1]} bands but 'ms' has {L}")
        if shapes["pan"][1] != 1:
            hint = (" (the file looks N x H x W x C; PanCollection sets are N x C x H x W)"
                    if shapes["pan"][3] == 1 else "")
            raise InputError(f"{self._where('pan')} has {shapes['pan'][1]} bands; a PAN has 1 (shape N x 1 x H x W)"
                             f"{hint}")
        if n < 1:
            raise InputError(f"{self._where('ms')} holds no samples")
        H, W = shapes["pan"][2:]
        r = int(ratio) if ratio is not None else (H // h if h else 0)
        if ratio is not None and r < 1:
            raise ParameterError(f"ratio must be a positive integer, got {ratio!r}")
        for key in ("pan", "lms", "gt"):
            if key in shapes and shapes[key][2:] != (r * h, r * w):
                why = f"ratio {r} given" if ratio is not None else f"ratio {r} inferred from 'pan'"
                raise InputError(f"{self._where(key)} is {shapes[key][2]} x {shapes[key][3]} pixels; with the "
                                 f"{h} x {w} 'ms' and the {why} it must be {r * h} x {r * w}")
        if r < 2:
            raise InputError(f"{self._where('pan')} is not larger than 'ms' ({H} x {W} vs {h} x {w}): no "
                             f"resolution ratio")
        self.shapes = shapes
        self.ratio = r
        self.n_samples, self.n_bands = n, L
        self.ms_shape, self.pan_shape = (h, w), (H, W)

    # ------------------------------------------------------------------ properties
    def __len__(self) -> int:
        return self.n_samples

    @property
    def has_gt(self) -> bool:
        """True for reduced-resolution sets (with a reference ``gt``)."""
        return "gt" in self.shapes

    @property
    def has_lms(self) -> bool:
        return "lms" in self.shapes

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "n_samples": self.n_samples, "n_bands": self.n_bands, "ratio": self.ratio,
                "shapes": {k: list(v) for k, v in self.shapes.items()}, "scale": self.scale,
                "has_gt": self.has_gt}

    def __repr__(self) -> str:
        return (f"PanCollection({str(self.path)!r}, n_samples={self.n_samples}, n_bands={self.n_bands}, "
                f"ratio={self.ratio}, gt={self.has_gt})")

    # ------------------------------------------------------------------ reading
    def _indices(self, index: Any) -> tuple[Any, bool]:
        """(h5py selection, squeeze) of an int, a slice, None (all) or a sequence of sample indices."""
        n = self.n_samples
        if index is None:
            return slice(None), False
        if isinstance(index, slice):
            return index, False
        if np.isscalar(index) and np.issubdtype(type(index), np.integer):
            i = int(index)
            if not -n <= i < n:
                raise InputError(f"sample {i} out of range for {str(self.path)!r} ({n} samples)")
            return i % n, True
        idx = np.asarray(index)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ParameterError(f"sample index must be an int, a slice or a 1-D integer sequence, got {index!r}")
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise InputError(f"sample indices out of range for {str(self.path)!r} ({n} samples)")
        return idx % n, False

    def read(self, key: str, index: Any = None) -> np.ndarray:
        """Dataset ``key`` (one of :data:`DATASETS`) at ``index`` (int: one ``(C, H, W)`` sample;
        slice, index list or None: ``(n, C, H, W)``), as ``dtype``, divided by ``scale``."""
        if key not in DATASETS:
            raise ParameterError(f"PanCollection dataset must be one of {DATASETS}, got {key!r}")
        if key == "lms" and not self.has_lms:
            ms = self.read("ms", index)
            from hysupp.physics.sampling import expand

            if ms.ndim == 3:
                return expand(ms, self.ratio).astype(self.dtype, copy=False)
            return np.stack([expand(m, self.ratio) for m in ms]).astype(self.dtype, copy=False) if len(ms) else \
                np.zeros((0, self.n_bands, *self.pan_shape), dtype=self.dtype)
        if key not in self.shapes:
            raise InputError(f"PanCollection file {str(self.path)!r} has no dataset {key!r} (a full-resolution set "
                             f"has no reference)")
        sel, _ = self._indices(index)
        ds = self._file[key]
        if isinstance(sel, np.ndarray):
            order = np.argsort(sel, kind="stable")
            uniq, inverse = np.unique(sel[order], return_inverse=True)
            block = ds[uniq.tolist(), ...] if uniq.size else np.zeros((0, *ds.shape[1:]), dtype=ds.dtype)
            out = np.empty((sel.size, *ds.shape[1:]), dtype=self.dtype)
            out[order] = block[inverse]
        else:
            out = np.asarray(ds[sel], dtype=self.dtype)
        if self.scale is not None:
            out = out / np.asarray(self.scale, dtype=self.dtype)
        return out.astype(self.dtype, copy=False)

    def sample(self, i: int) -> dict[str, np.ndarray | None]:
        """Sample ``i``: ``ms``, ``lms``, ``pan`` (``(C, H, W)`` arrays) and ``gt`` (None at full resolution)."""
        return {"ms": self.read("ms", i), "lms": self.read("lms", i), "pan": self.read("pan", i),
                "gt": self.read("gt", i) if self.has_gt else None}

    def max_value(self, keys: tuple[str, ...] = ("ms", "pan"), chunk: int = 256) -> float:
        """Largest value of ``keys`` over the file (read ``chunk`` samples at a time; after ``scale``)."""
        m = -np.inf
        for key in keys:
            for start in range(0, self.n_samples, int(chunk)):
                m = max(m, float(np.max(self.read(key, slice(start, start + int(chunk))))))
        return m

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        f = getattr(self, "_file", None)
        if f is not None:
            f.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
