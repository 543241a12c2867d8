"""The data model shared by every reader, writer, method and metric (DESIGN §1).

A hyperspectral image is a cube ``(L, H, W)`` (bands, rows, columns), the order of rasterio and
torch. Its pixel matrix is ``Y = cube.reshape(L, H * W)`` (row-major pixel order). Abundances are
``(p, H, W)`` / ``(p, N)``, endmembers ``(L, p)``, a spectral library ``(L, M)``.

Example
-------
>>> import numpy as np
>>> from hysupp import Scene
>>> s = Scene(cube=np.ones((3, 2, 4)), name="ones")
>>> s.shape, s.n_bands, s.n_pixels, s.pixels().shape
((3, 2, 4), 3, 8, (3, 8))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hysupp.errors import InputError


@dataclass
class Georef:
    """Georeferencing of a raster: CRS (WKT or EPSG string), affine transform and nodata value.

    ``transform`` is the 6-tuple ``(a, b, c, d, e, f)`` of an :class:`affine.Affine`
    (``x = a*col + b*row + c``, ``y = d*col + e*row + f``).
    """

    crs: str | None = None
    transform: tuple[float, ...] | None = None
    nodata: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"crs": self.crs, "transform": None if self.transform is None else list(self.transform),
                "nodata": self.nodata}


@dataclass
class Scene:
    """A hyperspectral scene with optional ground truth.

    Parameters
    ----------
    cube : ndarray, shape (L, H, W), optional
        The image, float32 unless a reader was asked for float64. ``None`` for files that hold only
        a spectral library or only ground truth.
    wavelengths, fwhm : ndarray, shape (L,), optional
        Band centres and widths in nanometres.
    mask : ndarray of bool, shape (H, W), optional
        Valid pixels; nodata and non-finite pixels are ``False``. ``None`` means all valid.
    georef : Georef, optional
        CRS, affine transform and nodata of the source raster.
    name : str
        A short label (file stem for files read from disk).
    endmembers : ndarray, shape (L, p), optional
        True endmember signatures.
    abundances : ndarray, shape (p, H, W), optional
        True abundance maps.
    library : ndarray, shape (L, M), optional
        A spectral library (dictionary) for library-based unmixing.
    library_names, endmember_names : list of str, optional
    library_index : ndarray of int, shape (p,), optional
        Columns of ``library`` that are the true endmembers (HySUPP's ``index``, 0-based).
    layout : str
        How the reader interpreted the file (e.g. ``"hysupp"``, ``"samson"``, ``"cube"``).
    notes : list of str
        What the reader did to normalise the data (transposes, scaling, dropped bands).
    extras : dict
        Reader-specific side information that has no field of its own (e.g. a PAN band, the
        resolution ratio, a truth file's band selection or pixel order). Keys are documented by
        the reader that sets them.
    """

    cube: np.ndarray | None = None
    wavelengths: np.ndarray | None = None
    fwhm: np.ndarray | None = None
    mask: np.ndarray | None = None
    georef: Georef | None = None
    name: str = "scene"
    endmembers: np.ndarray | None = None
    abundances: np.ndarray | None = None
    library: np.ndarray | None = None
    library_names: list[str] | None = None
    endmember_names: list[str] | None = None
    library_index: np.ndarray | None = None
    layout: str = "arrays"
    notes: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._validate()

    # ------------------------------------------------------------------ shape helpers
    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.require_cube().shape)  # type: ignore[return-value]

    @property
    def n_bands(self) -> int:
        if self.cube is not None:
            return int(self.cube.shape[0])
        for arr in (self.library, self.endmembers):
            if arr is not None:
                return int(arr.shape[0])
        raise InputError(f"scene {self.name!r} holds no cube, library or endmembers")

    @property
    def image_shape(self) -> tuple[int, int]:
        _, h, w = self.shape
        return h, w

    @property
    def n_pixels(self) -> int:
        h, w = self.image_shape
        return h * w

    def require_cube(self) -> np.ndarray:
        """Return the cube, or raise a clear error when the scene holds none."""
        if self.cube is None:
            what = [k for k in ("library", "endmembers", "abundances") if getattr(self, k) is not None]
            raise InputError(
                f"scene {self.name!r} holds no image cube (layout {self.layout!r}; it holds "
                f"{', '.join(what) or 'nothing'}); pass an image file")
        return self.cube

    def pixels(self) -> np.ndarray:
        """The pixel matrix ``Y`` of shape ``(L, H*W)`` (a view when possible)."""
        cube = self.require_cube()
        return cube.reshape(cube.shape[0], -1)

    def abundance_matrix(self) -> np.ndarray | None:
        """True abundances as ``(p, N)``, or ``None``."""
        if self.abundances is None:
            return None
        return self.abundances.reshape(self.abundances.shape[0], -1)

    def with_truth(self, truth: "Scene") -> "Scene":
        """Return a copy whose ground truth (endmembers, abundances, names, library) comes from
        ``truth`` wherever ``truth`` has it.

        Two ``truth.extras`` keys set by the readers are honoured:

        - ``"pixel_order"``: ``"F"`` when ``truth.abundances`` is a ``(p, N)`` matrix whose pixels
          are in column-major order (Zhu's Samson/Jasper/Urban truth files); ``"C"`` (default) for
          row-major. The matrix is reshaped to ``(p, H, W)`` accordingly.
        - ``"band_selection"``: 0-based band indices; when the truth's spectra have more bands than
          the image and the selection has exactly the image's band count, the spectra (and
          wavelengths) are reduced to those bands (e.g. Cuprite's ``slctBnds``).

        The image's wavelengths are taken from the truth when the image has none.
        """
        updates: dict[str, Any] = {}
        for key in ("endmembers", "abundances", "endmember_names", "library", "library_names",
                    "library_index"):
            value = getattr(truth, key)
            if value is not None:
                updates[key] = value
        extra_notes: list[str] = []
        selection = truth.extras.get("band_selection")
        selection = None if selection is None else np.asarray(selection, dtype=np.int64).ravel()
        n_img = None if self.cube is None else int(self.cube.shape[0])
        selected = False
        if n_img is not None:
            for key in ("endmembers", "library"):
                arr = updates.get(key)
                if arr is None or arr.shape[0] == n_img:
                    continue
                if selection is not None and selection.size == n_img and arr.shape[0] > selection.max():
                    updates[key] = arr[selection]
                    selected = True
                    continue
                hint = (f"; its band selection has {selection.size} bands" if selection is not None
                        else "; the truth file carries no band selection")
                raise InputError(
                    f"truth {truth.name!r}: {key} have {arr.shape[0]} bands (rows), the image "
                    f"{self.name!r} has {n_img}{hint}")
            if selected:
                extra_notes.append(f"truth spectra reduced to the image's {n_img} bands with the truth's "
                                   f"band selection (extras['band_selection'])")
            if self.wavelengths is None and truth.wavelengths is not None:
                twl = truth.wavelengths
                if twl.size != n_img and selection is not None and selection.size == n_img \
                        and twl.size > selection.max():
                    twl = twl[selection]
                if twl.size == n_img:
                    updates["wavelengths"] = twl
                    extra_notes.append(f"wavelengths taken from truth {truth.name!r}")
        if "abundances" in updates and self.cube is not None:
            A = updates["abundances"]
            h, w = self.image_shape
            if A.ndim == 2:
                p = A.shape[0]
                if A.shape[1] != h * w:
                    raise InputError(
                        f"truth {truth.name!r}: abundances have {A.shape[1]} pixels, "
                        f"the image {self.name!r} has {h}x{w} = {h * w}")
                order = str(truth.extras.get("pixel_order", "C")).upper()
                if order not in ("C", "F"):
                    raise InputError(f"truth {truth.name!r}: extras['pixel_order'] must be 'C' or 'F', "
                                     f"got {order!r}")
                updates["abundances"] = A.reshape(p, h, w, order=order)
                extra_notes.append(f"truth abundances ({p} x {h * w}) reshaped to ({p}, {h}, {w}) in "
                                   f"{'column' if order == 'F' else 'row'}-major pixel order")
            elif A.ndim == 3 and A.shape[1:] != (h, w):
                raise InputError(f"truth {truth.name!r}: abundance maps are {A.shape[1]}x{A.shape[2]}, "
                                 f"the image {self.name!r} is {h}x{w}")
        notes = self.notes + [f"truth from {truth.name!r} ({truth.layout}): " + ", ".join(sorted(updates))] \
            + extra_notes
        return replace(self, notes=notes, **updates)

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        name = self.name
        if self.cube is not None:
            if self.cube.ndim != 3:
                raise InputError(f"scene {name!r}: cube must be 3-D (L, H, W), got shape {self.cube.shape}")
            if min(self.cube.shape) < 1:
                raise InputError(f"scene {name!r}: cube is empty, shape {self.cube.shape}")
        n_bands = None
        if self.cube is not None:
            n_bands = self.cube.shape[0]
        for key in ("wavelengths", "fwhm"):
            value = getattr(self, key)
            if value is None:
                continue
            value = np.asarray(value, dtype=np.float64).ravel()
            setattr(self, key, value)
            if n_bands is not None and value.size != n_bands:
                raise InputError(f"scene {name!r}: {key} has {value.size} values, the cube has {n_bands} bands")
        for key in ("endmembers", "library"):
            value = getattr(self, key)
            if value is None:
                continue
            if value.ndim != 2:
                raise InputError(f"scene {name!r}: {key} must be 2-D (L, columns), got shape {value.shape}")
            if n_bands is not None and value.shape[0] != n_bands:
                raise InputError(
                    f"scene {name!r}: {key} has {value.shape[0]} bands (rows), the cube has {n_bands}; "
                    f"expected shape ({n_bands}, k)")
        if self.mask is not None and self.cube is not None:
            if self.mask.shape != self.cube.shape[1:]:
                raise InputError(f"scene {name!r}: mask shape {self.mask.shape} != image shape {self.cube.shape[1:]}")
        if self.library_index is not None:
            self.library_index = np.asarray(self.library_index, dtype=np.int64).ravel()

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable description (what ``hysupp info`` prints)."""
        def arr(a: np.ndarray | None) -> Any:
            if a is None:
                return None
            finite = a[np.isfinite(a)] if np.issubdtype(a.dtype, np.floating) else a
            rng = [float(finite.min()), float(finite.max())] if finite.size else None
            return {"shape": list(a.shape), "dtype": str(a.dtype), "range": rng}

        wl = self.wavelengths
        return {
            "name": self.name,
            "layout": self.layout,
            "cube": arr(self.cube),
            "wavelengths": None if wl is None else {"n": int(wl.size), "min": float(wl.min()), "max": float(wl.max()),
                                                    "unit": "nm"},
            "fwhm": self.fwhm is not None,
            "mask": None if self.mask is None else {"valid": int(self.mask.sum()), "total": int(self.mask.size)},
            "georef": None if self.georef is None else self.georef.to_dict(),
            "truth": {
                "endmembers": arr(self.endmembers),
                "abundances": arr(self.abundances),
                "endmember_names": self.endmember_names,
                "library": arr(self.library),
                "library_names": None if self.library_names is None else len(self.library_names),
                "library_index": None if self.library_index is None else self.library_index.tolist(),
            },
            "notes": list(self.notes),
        }
