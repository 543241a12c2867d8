"""NumPy files: ``.npy`` (one array) and ``.npz`` (hysupp's own layout or named arrays).

``.npy``: a 3-D array is a cube, channels-first ``(L, H, W)`` by convention but checked
(:mod:`hysupp.io.axes`: band count, spectral smoothness; ``layout=`` overrides); a 2-D array is a
library ``(L, M)`` (bands as rows).

:func:`as_scene` / :func:`as_cube` turn what a caller hands the API into a Scene / an
``(L, H, W)`` cube: a NumPy array (axis order checked the same way), a SPy image (``SpyFile``
from ``spectral.open_image``, or an ``ImageArray``) with its wavelengths and FWHM, an
``xarray.DataArray``, or a Scene.

``.npz`` written by :func:`write_npz` round-trips every :class:`~hysupp.scene.Scene` field:
arrays under their field names, ``georef_crs``/``georef_transform``/``georef_nodata``, ``name``,
``layout``, ``notes``, string lists as string arrays, JSON-able ``extras`` in ``extras_json`` and
array-valued extras as ``extras__<key>``; the marker ``hysupp_npz_version`` identifies it. Any
other ``.npz`` goes through :func:`hysupp.io.layouts.interpret` with NumPy's channels-first
convention, so the HySUPP keys (``Y, E, A, D, H, W, index``) work as in ``.mat`` files.

Example
-------
>>> import numpy as np, tempfile, os
>>> from hysupp import Scene
>>> from hysupp.io.arrays import write_npz, read_npz
>>> path = os.path.join(tempfile.mkdtemp(), "s.npz")
>>> write_npz(Scene(cube=np.zeros((3, 2, 2), np.float32), name="z"), path)
>>> read_npz(path)[0].name
'z'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError, LayoutError
from hysupp.io._common import FileInfo, stem_name
from hysupp.io.atomic import atomic_output
from hysupp.scene import Georef, Scene

__all__ = ["read_npy", "read_npz", "write_npz", "write_npy", "NPZ_VERSION", "as_scene", "as_cube"]

NPZ_VERSION = 1
_ARRAY_FIELDS = ("cube", "wavelengths", "fwhm", "mask", "endmembers", "abundances", "library", "library_index")
_NAME_FIELDS = ("library_names", "endmember_names")


def read_npy(path: str | os.PathLike, key: str | None = None, layout: str | None = None
             ) -> tuple[Scene, FileInfo]:
    """Read a ``.npy`` array: 3-D -> cube ``(L, H, W)`` (axis order checked, ``layout=`` overrides),
    2-D -> library ``(L, M)``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {str(p)!r}")
    if key is not None:
        raise InputError(f"{str(p)!r}: key= selects a variable in .mat/.npz files; a .npy file holds one array")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as exc:
        raise InputError(f"cannot read {str(p)!r}: {exc}") from exc
    info = FileInfo(format="npy", variables=[{"name": "array", "shape": list(arr.shape), "dtype": str(arr.dtype)}])
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{str(p)!r}: array of dtype {arr.dtype} is not numeric")
    if arr.dtype == bool:
        raise InputError(f"{str(p)!r}: a boolean array (a mask?) is not an image or a library")
    if arr.ndim == 3:
        from hysupp.io.axes import to_lhw

        try:
            cube, note, _ = to_lhw(arr, layout=layout, convention="LHW", what=f"3-D .npy array {p.name!r}")
        except LayoutError as exc:
            raise LayoutError(f"{str(p)!r}: {exc}") from None
        return Scene(cube=np.ascontiguousarray(cube), name=stem_name(p), layout="cube", notes=[note]), info
    if layout is not None:
        raise InputError(f"{str(p)!r}: layout= orders the axes of a 3-D image; this array has shape {arr.shape}")
    if arr.ndim == 2:
        return Scene(cube=None, library=arr, name=stem_name(p), layout="library",
                     notes=["2-D .npy array read as a library (bands x spectra)"]), info
    raise InputError(f"{str(p)!r}: array of shape {arr.shape} is neither a cube (L, H, W) nor a library (L, M)")


def read_npz(path: str | os.PathLike, key: str | None = None, layout: str | None = None,
             role: str | None = None) -> tuple[Scene, FileInfo]:
    """Read a ``.npz``: hysupp's layout exactly, anything else through layout detection
    (``layout``/``role`` as in :func:`hysupp.io.layouts.interpret`)."""
    from hysupp.io.layouts import interpret

    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {str(p)!r}")
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except ValueError as exc:
        raise InputError(f"cannot read {str(p)!r} (object arrays are not read, for safety): {exc}") from exc
    infos = [{"name": k, "shape": list(v.shape), "dtype": str(v.dtype)} for k, v in data.items()]
    info = FileInfo(format="npz", variables=infos)
    if "hysupp_npz_version" in data:
        if key is not None:
            if key not in data:
                raise LayoutError(f"{str(p)!r}: no array {key!r}. Variables: "
                                  + "; ".join(f"{i['name']} {tuple(i['shape'])} {i['dtype']}" for i in infos))
            if key != "cube":
                return interpret(_plain(data), key=key, label=str(p), name=stem_name(p), convention="numpy",
                                 infos=infos, layout=layout, role=role), info
        if layout is not None:
            from hysupp.io.axes import normalise_layout

            if normalise_layout(layout) != "LHW":
                raise InputError(f"{str(p)!r} is a hysupp .npz: its cube is stored (L, H, W); layout={layout!r} "
                                 f"does not apply")
        return _from_hysupp_npz(data, p), info
    return interpret(_plain(data), key=key, label=str(p), name=stem_name(p), convention="numpy",
                     infos=infos, layout=layout, role=role), info


def _plain(data: dict[str, np.ndarray]) -> dict[str, Any]:
    """npz arrays -> the variable conventions of :func:`interpret` (strings as str / list)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if v.dtype.kind in "US":
            out[k] = str(v.item()) if v.ndim == 0 else [str(s) for s in v.ravel()]
        else:
            out[k] = v
    return out


def _from_hysupp_npz(data: dict[str, np.ndarray], path: Path) -> Scene:
    kw: dict[str, Any] = {}
    for f in _ARRAY_FIELDS:
        if f in data:
            kw[f] = data[f]
    for f in _NAME_FIELDS:
        if f in data:
            kw[f] = [str(s) for s in data[f].ravel()]
    if "mask" in kw:
        kw["mask"] = kw["mask"].astype(bool)
    if any(k in data for k in ("georef_crs", "georef_transform", "georef_nodata")):
        crs = str(data["georef_crs"].item()) if "georef_crs" in data else None
        tr = tuple(float(x) for x in data["georef_transform"].ravel()) if "georef_transform" in data else None
        nd = float(data["georef_nodata"].item()) if "georef_nodata" in data else None
        kw["georef"] = Georef(crs=crs or None, transform=tr, nodata=nd)
    extras: dict[str, Any] = {}
    if "extras_json" in data:
        extras.update(json.loads(str(data["extras_json"].item())))
    for k, v in data.items():
        if k.startswith("extras__"):
            extras[k[len("extras__"):]] = v
    notes = [str(s) for s in data["notes"].ravel()] if "notes" in data else []
    layout = str(data["layout"].item()) if "layout" in data else "arrays"
    name = str(data["name"].item()) if "name" in data else stem_name(path)
    notes.append(f"read from a hysupp .npz (version {int(data['hysupp_npz_version'])})")
    return Scene(name=name, layout=layout, notes=notes, extras=extras, **kw)


def _json_extras(extras: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    plain: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for k, v in extras.items():
        if isinstance(v, np.ndarray):
            if v.dtype == object:
                continue
            arrays[f"extras__{k}"] = v
            continue
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        plain[k] = v
    return plain, arrays


def npz_arrays(scene: Scene) -> dict[str, np.ndarray]:
    """The arrays :func:`write_npz` stores for ``scene``."""
    out: dict[str, np.ndarray] = {"hysupp_npz_version": np.array(NPZ_VERSION)}
    for f in _ARRAY_FIELDS:
        val = getattr(scene, f)
        if val is not None:
            out[f] = np.asarray(val)
    for f in _NAME_FIELDS:
        val = getattr(scene, f)
        if val is not None:
            out[f] = np.asarray([str(s) for s in val], dtype=str)
    g = scene.georef
    if g is not None:
        if g.crs is not None:
            out["georef_crs"] = np.array(str(g.crs))
        if g.transform is not None:
            out["georef_transform"] = np.asarray(g.transform, dtype=np.float64)
        if g.nodata is not None:
            out["georef_nodata"] = np.array(float(g.nodata))
    out["name"] = np.array(scene.name)
    out["layout"] = np.array(scene.layout)
    out["notes"] = np.asarray(list(scene.notes), dtype=str)
    plain, arrays = _json_extras(scene.extras)
    if plain:
        out["extras_json"] = np.array(json.dumps(plain))
    out.update(arrays)
    return out


def write_npz(scene: Scene, path: str | os.PathLike, *, overwrite: bool = False, compress: bool = True) -> None:
    """Write ``scene`` in hysupp's round-trippable ``.npz`` layout (atomically)."""
    arrays = npz_arrays(scene)
    with atomic_output(path, overwrite) as tmp:
        with open(tmp, "wb") as fh:
            (np.savez_compressed if compress else np.savez)(fh, **arrays)


def write_npy(array: np.ndarray, path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Write one array as ``.npy`` (atomically)."""
    arr = np.asarray(array)
    if arr.dtype == object:
        raise InputError("object arrays cannot be written to .npy")
    with atomic_output(path, overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)


# ---------------------------------------------------------------------------------------------
# objects handed to the API
# ---------------------------------------------------------------------------------------------
def as_scene(obj: Any, *, layout: str | None = None, wavelengths: Any = None, fwhm: Any = None,
             name: str | None = None) -> Scene:
    """A :class:`Scene` from an in-memory image.

    Parameters
    ----------
    obj : Scene, ndarray (3-D), SPy image or xarray.DataArray
        A NumPy array is channels-first ``(L, H, W)`` by convention; its axis order is checked
        (:func:`hysupp.io.axes.infer_axis_order`: the band count of ``wavelengths``, spectral
        smoothness) and an ``(H, W, L)`` array is transposed with a
        :class:`~hysupp.errors.LayoutWarning`; an ambiguous one raises
        :class:`~hysupp.errors.LayoutError`. A SPy ``SpyFile``/``ImageArray`` gives its wavelengths
        and FWHM (:func:`hysupp.io.envi.scene_from_spectral`).
    layout : str, optional
        The order of a NumPy array's axes (``"LHW"``, ``"HWL"``, ...) instead of checking it.
    wavelengths, fwhm : sequence, optional
        Band centres and widths (nm) of a NumPy array.
    name : str, optional

    Returns
    -------
    Scene
        The values as given (no dtype conversion, no scaling); ``notes`` say how it was read.

    Raises
    ------
    InputError
        A boolean, non-numeric or non-3-D array, or an object of another type.

    Example
    -------
    >>> import numpy as np
    >>> from hysupp.io.arrays import as_scene
    >>> s = as_scene(np.zeros((5, 4, 3)), layout="HWL")
    >>> s.shape
    (3, 5, 4)
    """
    from hysupp.io.envi import is_spectral_image, scene_from_spectral
    from hysupp.io.xarray import is_dataarray, scene_from_dataarray

    if isinstance(obj, Scene):
        if layout is not None:
            raise InputError("layout= orders the axes of an array; a Scene is already (L, H, W)")
        return obj
    if is_spectral_image(obj):
        if layout is not None:
            raise InputError("layout= does not apply to a SPy image: SPy images are (rows, columns, bands)")
        return scene_from_spectral(obj, name=name)
    if is_dataarray(obj):
        if layout is not None:
            raise InputError("layout= does not apply to a DataArray: its dims name the axes")
        return scene_from_dataarray(obj, name=name)
    if not isinstance(obj, np.ndarray):
        raise InputError(f"cannot read an object of type {type(obj).__module__}.{type(obj).__name__}: pass a path, "
                         f"a hysupp.Scene, a NumPy array (L, H, W), an xarray.DataArray or a SPy (spectral) image")
    arr = obj
    if arr.dtype == bool:
        raise InputError(f"the image array is boolean (shape {arr.shape}; a mask?), not reflectance or radiance "
                         f"values")
    if arr.dtype.kind not in "iuf":
        raise InputError(f"the image array has dtype {arr.dtype}; expected integer or float values")
    if arr.ndim != 3:
        raise InputError(f"image array must be a cube (L, H, W), got shape {arr.shape}")
    from hysupp.io.axes import to_lhw

    cube, note, _ = to_lhw(arr, layout=layout, convention="LHW", wavelengths=wavelengths, what="image array")
    return Scene(cube=cube, wavelengths=wavelengths, fwhm=fwhm, name=name or "array", layout="arrays", notes=[note])


def as_cube(array: Any, *, layout: str | None = None, wavelengths: Any = None) -> np.ndarray:
    """The ``(L, H, W)`` cube of :func:`as_scene` (same checks, warnings and errors).

    >>> import numpy as np
    >>> from hysupp.io.arrays import as_cube
    >>> as_cube(np.zeros((4, 6, 3)), layout="HWL").shape
    (3, 4, 6)
    """
    return as_scene(array, layout=layout, wavelengths=wavelengths).require_cube()
