"""Readers and writers: every reader returns a :class:`~hysupp.scene.Scene`, every writer takes one.

=========================== ================================================ ====================
extension                   reader                                           writer
=========================== ================================================ ====================
``.mat``                    :mod:`hysupp.io.matlab` (v5 and v7.3) +          HySUPP layout
                            :mod:`hysupp.io.layouts`                         (``flavor="funmix"``)
``.hdr``/``.img``/``.sli``/ :mod:`hysupp.io.envi` (``spectral``)             ENVI image (BSQ)
data file with a ``.hdr``
``.tif``/``.tiff``          :mod:`hysupp.io.geotiff` (rasterio)              GeoTIFF
``.npy``/``.npz``           :mod:`hysupp.io.arrays`                          own ``.npz`` layout
``.csv``                    :mod:`hysupp.io.spectra_csv`                     spectra columns
=========================== ================================================ ====================

Every writer is atomic (:func:`hysupp.io.atomic.atomic_output`) and refuses to replace an existing
file unless ``overwrite=True``.

Example
-------
>>> import numpy as np, tempfile, os
>>> from hysupp import Scene
>>> from hysupp.io import load, save
>>> path = os.path.join(tempfile.mkdtemp(), "toy.mat")
>>> _ = save(Scene(cube=np.arange(24, dtype=np.float32).reshape(4, 2, 3)), path)
>>> s = load(path)
>>> s.layout, s.shape, s.cube.dtype
('hysupp', (4, 2, 3), dtype('float32'))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError, LayoutError
from hysupp.io._common import FileInfo, check_utf8_name, finalize, jsonable
from hysupp.io.atomic import atomic_output, check_target
from hysupp.io.geotiff import save_geotiff
from hysupp.io.matlab import read_usgs_splib
from hysupp.io.spectra_csv import save_spectra_csv
from hysupp.scene import Georef, Scene

__all__ = ["load", "load_library", "save", "check_utf8_name", "describe", "format_description", "save_spectra_csv", "save_geotiff",
           "read_usgs_splib", "atomic_output", "check_target", "SUPPORTED_EXTENSIONS"]

SUPPORTED_EXTENSIONS = (".mat", ".npz", ".npy", ".tif", ".tiff", ".csv", ".hdr", ".img", ".sli", ".dat")


def _read(path: str | os.PathLike, key: str | None, layout: str | None = None,
          role: str | None = None) -> tuple[Scene, FileInfo]:
    p = Path(path)
    suffix = p.suffix.lower()
    if layout is not None and suffix not in (".mat", ".npz", ".npy"):
        raise InputError(f"{str(p)!r}: layout= orders the axes of an array in a .mat/.npy/.npz file; "
                         f"a {suffix or 'extensionless'} file declares its band order")
    if not p.exists():
        if suffix != ".hdr":
            from hysupp.io.envi import find_header

            hdr = find_header(p)
            if hdr is not None:
                raise InputError(f"ENVI data file {str(p)!r} not found (its header {str(hdr)!r} exists)")
        raise InputError(f"file not found: {str(p)!r}")
    if p.is_dir():
        raise InputError(f"{str(p)!r} is a folder, not a file")
    if suffix == ".mat":
        from hysupp.io.matlab import read_mat

        return read_mat(p, key, layout, role)
    if suffix == ".npz":
        from hysupp.io.arrays import read_npz

        return read_npz(p, key, layout, role)
    if suffix == ".npy":
        from hysupp.io.arrays import read_npy

        return read_npy(p, key, layout)
    if suffix in (".tif", ".tiff"):
        from hysupp.io.geotiff import read_geotiff

        return read_geotiff(p, key)
    if suffix == ".csv":
        from hysupp.io.spectra_csv import read_spectra_csv

        return read_spectra_csv(p, key)
    from hysupp.io.envi import is_envi, read_envi

    if suffix == ".hdr" or is_envi(p):
        return read_envi(p, key)
    raise InputError(f"{str(p)!r}: unsupported file type {suffix or '(no extension)'!r}; supported: "
                     f"{', '.join(SUPPORTED_EXTENSIONS)} or an ENVI data file with a sibling .hdr")


def load(path: str | os.PathLike | Any, *, key: str | None = None, truth: str | os.PathLike | None = None,
         scale: float | None = None, dtype: Any = np.float32, layout: str | None = None,
         truth_key: str | None = None) -> Scene:
    """Read an image, library or truth file into a :class:`~hysupp.scene.Scene`.

    Parameters
    ----------
    path : path-like or object
        ``.mat`` (v5 or v7.3), ENVI (``.hdr`` or its data file, ``.sli`` libraries), ``.tif``,
        ``.npy``, ``.npz`` or a spectra ``.csv``; the name of a registered data set
        (``"samson"``, ``"jasper-ridge"``: :mod:`hysupp.io.catalog`, ``hysupp datasets list``),
        fetched into the user cache on first use, verified, and read with its ground truth (an
        existing path always wins over a name); or an in-memory image (a NumPy array, a SPy
        ``SpyFile``/``ImageArray``, an ``xarray.DataArray``: :func:`hysupp.io.arrays.as_scene`).
    key : str, optional
        The variable to read from a ``.mat``/``.npz`` whose layout is ambiguous. An unknown key
        raises :class:`~hysupp.errors.LayoutError` listing the variables (name, shape, dtype).
    truth : path-like, optional
        A separate ground-truth file (e.g. Samson's ``end3.mat``) merged with
        :meth:`Scene.with_truth` (pixel order and band selection of the truth are honoured). For a
        data set name it replaces the registered truth.
    layout : str, optional
        The axis order of a 3-D image in a ``.mat``/``.npy``/``.npz`` file or array (``"LHW"``,
        ``"HWL"``, ...), instead of checking it (:mod:`hysupp.io.axes`).
    truth_key : str, optional
        The variable of the ``truth`` file to read: its endmembers ``(L, p)`` or abundances
        (``(p, N)``/3-D), the rest of the file's truth attached when consistent.
    scale : float, optional
        Multiplies the cube (for library/endmember-only files: the spectra; also a PAN band in
        ``extras['pan']``). Integer data are never scaled implicitly: they are read with their
        values kept and a note.
    dtype : numpy dtype
        Float type of the returned arrays (cube, spectra, abundances); float32 by default.

    Returns
    -------
    Scene
        With ``layout`` (how the file was read) and ``notes`` (what was done).

    Raises
    ------
    InputError
        Missing or unreadable file, unsupported extension, inconsistent arrays; a bare name that is
        neither a file nor a registered data set (the message suggests close names).
    DatasetError
        A data set file that cannot be fetched or whose SHA-256 differs from the registry's.
    LayoutError
        Unknown ``key``, or a file whose variables fit no layout or several (pass ``key=``).

    Example
    -------
    >>> from hysupp.io import load
    >>> s = load("samson_1.mat", truth="end3.mat")  # doctest: +SKIP
    >>> s.shape, s.abundances.shape  # doctest: +SKIP
    ((156, 95, 95), (3, 95, 95))
    """
    if not isinstance(path, (str, os.PathLike)):
        if key is not None:
            raise InputError("key= selects a variable in a file; an in-memory image has none")
        from hysupp.io.arrays import as_scene

        scene = finalize(as_scene(path, layout=layout), scale=scale, dtype=dtype)
    else:
        p = Path(path)
        bare_word = isinstance(path, str) and not p.suffix and len(p.parts) == 1 and not p.exists()
        if isinstance(path, str) and not p.exists():
            from hysupp.io.catalog import find_dataset

            dataset = find_dataset(path)
            if dataset is not None:
                return _load_dataset(dataset, key=key, truth=truth, scale=scale, dtype=dtype)
        try:
            scene, _ = _read(p, key, layout)
        except InputError as exc:
            if bare_word and str(exc).startswith("file not found"):  # perhaps a mistyped data set name
                from hysupp.io.catalog import unknown_name_message

                raise InputError(f"{exc}; {unknown_name_message(path)}") from None
            raise
        scene = finalize(scene, scale=scale, dtype=dtype)
    if truth is not None:
        truth_scene, _ = _read(Path(truth), truth_key, None, "truth")
        scene = scene.with_truth(finalize(truth_scene, scale=None, dtype=dtype))
    elif truth_key is not None:
        raise InputError("truth_key= names a variable of the truth file: pass truth= too")
    return scene


def load_library(path: str | os.PathLike, *, key: str | None = None, scale: float | None = None,
                 dtype: Any = np.float32) -> Scene:
    """Read a spectral library file: a Scene with ``library`` ``(L, M)``, its names and wavelengths.

    Any file :func:`load` reads: a library layout (USGS ``datalib`` + ``names``, ENVI ``.sli``, a
    ``.csv`` of spectra, a ``.mat``/``.npz`` matrix with its names); a truth file's endmembers are
    used as the library (noted). ``key`` reads that variable as a library (bands as rows; a matrix
    stored spectra x bands is transposed when its columns match the file's wavelengths), whatever
    its name: ``key="A"`` reads a library stored as ``A``, which :func:`load` would take for
    abundances when the file does not tell. ``scale`` multiplies the spectra.

    Raises
    ------
    InputError
        The file holds no library or endmembers (the message names its layout and variables).

    Example
    -------
    >>> import numpy as np, os, tempfile, scipy.io
    >>> path = os.path.join(tempfile.mkdtemp(), "lib.mat")
    >>> scipy.io.savemat(path, {"A": np.random.default_rng(0).random((30, 4)), "names": ["a", "b", "c", "d"]})
    >>> lib = load_library(path, key="A")
    >>> lib.library.shape, lib.library_names
    ((30, 4), ['a', 'b', 'c', 'd'])
    """
    p = Path(path)
    scene, info = _read(p, key, None, "library")
    scene = finalize(scene, scale=scale, dtype=dtype)
    if scene.library is None and scene.endmembers is not None:
        from dataclasses import replace

        scene = replace(scene, library=scene.endmembers, library_names=scene.endmember_names,
                        notes=[*scene.notes, f"the file's {scene.endmembers.shape[1]} endmembers used as the library"])
    if scene.library is None:
        listing = "" if not info.variables else " Variables: " + "; ".join(
            f"{v['name']} {tuple(v['shape'])} {v['dtype']}" for v in info.variables)
        raise InputError(f"{str(p)!r} holds no spectral library (read as {scene.layout!r}); pass key= (--library-key) "
                         f"to name the library variable.{listing}")
    return scene


def _load_dataset(dataset: Any, *, key: str | None, truth: str | os.PathLike | None, scale: float | None,
                  dtype: Any) -> Scene:
    """A registered data set (:mod:`hysupp.io.catalog`), fetched on first use: its image file with the
    entry's key and scale (explicit arguments win), its truth files (or ``truth``) merged in order."""
    from dataclasses import replace

    from hysupp.io.catalog import assemble, describe_source, fetch

    paths = fetch(dataset)
    scene = load(paths[dataset.read], key=key if key is not None else dataset.key,
                 scale=scale if scale is not None else dataset.scale, dtype=dtype)
    for t in ([truth] if truth is not None else [paths[t] for t in dataset.truth]):
        scene = scene.with_truth(load(t, dtype=dtype))
    scene = assemble(dataset, scene)
    return replace(scene, name=dataset.name,
                   notes=[f"data set {dataset.name!r} of the registry ({dataset.title}), read from "
                          f"{str(paths[dataset.read])!r}"] + scene.notes,
                   extras={**scene.extras, "dataset": describe_source(dataset, paths)})


# ---------------------------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------------------------
def _array_scene(arr: np.ndarray, suffix: str) -> Scene:
    if arr.ndim == 3:
        return Scene(cube=arr, name="array", layout="arrays")
    if arr.ndim == 2:
        if suffix in (".tif", ".tiff"):
            return Scene(cube=arr[None], name="array", layout="arrays")
        return Scene(cube=None, library=arr, name="array", layout="arrays")
    raise InputError(f"cannot save an array of shape {arr.shape}: expected a cube (L, H, W) or a "
                     f"matrix (L, k) / single-band image (H, W)")


def _raster_payload(scene: Scene, band_names: Any) -> tuple[np.ndarray, Any, Any, Any, Any]:
    """What a raster writer (GeoTIFF, ENVI) writes for a scene: its cube (band names from
    ``extras['band_names']``, wavelengths, fwhm, mask), else its ``(p, H, W)`` abundance maps named by
    the endmember names."""
    if scene.cube is not None:
        data = scene.cube
        band_names = band_names if band_names is not None else scene.extras.get("band_names")
        wl, fwhm, mask = scene.wavelengths, scene.fwhm, scene.mask
    elif scene.abundances is not None and scene.abundances.ndim == 3:
        data = scene.abundances
        band_names = band_names if band_names is not None else scene.endmember_names
        wl = fwhm = mask = None
    else:
        raise InputError(f"scene {scene.name!r} has no cube or (p, H, W) abundance maps to write as a raster")
    if band_names is not None and len(band_names) != data.shape[0]:
        band_names = None
    return data, band_names, wl, fwhm, mask


def save(obj: Scene | np.ndarray, path: str | os.PathLike, *, overwrite: bool = False,
         georef: Georef | None = None, **kw: Any) -> Path:
    """Write a Scene or an array; the format follows the extension. Atomic; never overwrites
    unless ``overwrite=True``.

    Parameters
    ----------
    obj : Scene or ndarray
        An ndarray is a cube when 3-D ``(L, H, W)``; when 2-D it is a single-band image for
        ``.tif`` and a spectra matrix ``(L, k)`` otherwise (``D`` in ``.mat``, columns in ``.csv``).
    path : path-like
        ``.tif``/``.tiff``: GeoTIFF of the cube (or, for a scene without cube, of its abundance
        maps with the endmember names as band descriptions); band names from ``band_names=`` or
        ``scene.extras['band_names']``; wavelengths/fwhm as band tags.
        ``.hdr``/``.img``: the same as an ENVI image (``x.img`` + ``x.hdr``, BSQ float32, with
        wavelengths, fwhm, band names, map info; :func:`hysupp.io.envi.save_envi`).
        ``.mat``: HySUPP layout (``flavor="funmix"`` for FUnmix's scalar names).
        ``.npz``: hysupp's round-trippable layout. ``.npy``: the cube (or array) only.
        ``.csv``: spectra (endmembers, else library), names from ``names=`` or the scene.
    overwrite : bool
        Replace an existing file; otherwise :class:`~hysupp.errors.OutputExistsError`.
    georef : Georef, optional
        Overrides the scene's georef (GeoTIFF, npz).
    **kw
        Format options: ``band_names`` (tif, hdr/img), ``compress`` (tif), ``dtype`` (hdr/img);
        ``flavor`` (mat); ``names`` (csv).

    Returns
    -------
    Path
        The written file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if isinstance(obj, np.ndarray):
        scene = _array_scene(obj, ".tif" if suffix in (".hdr", ".img") else suffix)
    elif isinstance(obj, Scene):
        scene = obj
    else:
        raise InputError(f"save() takes a Scene or a numpy array, got {type(obj).__name__}")
    g = georef if georef is not None else scene.georef
    if suffix in (".tif", ".tiff", ".hdr", ".img"):
        data, band_names, wl, fwhm, mask = _raster_payload(scene, kw.pop("band_names", None))
        if suffix in (".hdr", ".img"):
            from hysupp.io.envi import save_envi

            save_envi(p, data, georef=g, band_names=band_names, wavelengths=wl, fwhm=fwhm, mask=mask,
                      overwrite=overwrite, description=f"{scene.name} ({scene.layout}), written by hysupp", **kw)
            return p
        save_geotiff(p, data, georef=g, band_names=band_names, wavelengths=wl, overwrite=overwrite, fwhm=fwhm,
                     mask=mask, layout=scene.layout, **kw)
    elif suffix == ".mat":
        from hysupp.io.matlab import write_mat

        write_mat(scene, p, overwrite=overwrite, **kw)
    elif suffix == ".npz":
        from hysupp.io.arrays import write_npz

        if georef is not None:
            from dataclasses import replace

            scene = replace(scene, georef=georef)
        write_npz(scene, p, overwrite=overwrite, **kw)
    elif suffix == ".npy":
        from hysupp.io.arrays import write_npy

        arr = obj if isinstance(obj, np.ndarray) else scene.require_cube()
        write_npy(arr, p, overwrite=overwrite, **kw)
    elif suffix == ".csv":
        names = kw.pop("names", None)
        if kw:
            raise InputError(f"unknown options for .csv: {', '.join(kw)}")
        if scene.endmembers is not None:
            spectra, default = scene.endmembers, scene.endmember_names
            prefix = "E"
        elif scene.library is not None:
            spectra, default = scene.library, scene.library_names
            prefix = "S"
        else:
            raise InputError(f"scene {scene.name!r} has no endmembers or library to write as CSV spectra")
        names = names if names is not None else default
        if names is None:
            names = [f"{prefix}{k + 1}" for k in range(spectra.shape[1])]
        save_spectra_csv(p, spectra, names, wavelengths=scene.wavelengths, overwrite=overwrite)
    else:
        raise InputError(f"cannot save {str(p)!r}: unsupported extension {suffix or '(none)'!r}; "
                         f"use .tif, .mat, .npz, .npy, .csv or .hdr/.img (ENVI)")
    return p


# ---------------------------------------------------------------------------------------------
# describe
# ---------------------------------------------------------------------------------------------
def _extras_summary(extras: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in extras.items():
        if isinstance(v, np.ndarray) and v.ndim >= 1 and v.size > 12:
            out[k] = {"shape": list(v.shape), "dtype": str(v.dtype)}
        else:
            out[k] = jsonable(v)
    return out


def describe(path: str | os.PathLike, key: str | None = None) -> dict[str, Any]:
    """What a file holds and how it was read (what ``hysupp info`` prints). JSON-serialisable.

    Keys: ``file``, ``format`` (``mat-v5``, ``mat-v7.3``, ``npz``, ``npy``, ``envi``,
    ``geotiff``, ``csv``), ``layout``, ``key``, ``variables`` (name, shape, dtype[, class] for
    ``.mat``/``.npz``; ``None`` otherwise), the content of :meth:`Scene.summary` (``name``,
    ``cube``, ``wavelengths``, ``fwhm``, ``mask``, ``georef``, ``truth``, ``notes``), ``extras``
    (summarised) and ``file_info`` (format specifics). When no ``key`` is given and the layout is
    ambiguous, the result has ``layout: None`` and ``error`` (the message, listing the
    variables) instead of raising.
    """
    p = Path(path)
    try:
        scene, info = _read(p, key)
    except LayoutError as exc:
        if key is not None:
            raise
        variables = None
        fmt = p.suffix.lower().lstrip(".")
        if p.suffix.lower() == ".mat":
            from hysupp.io.matlab import load_mat_variables

            _, variables, fmt = load_mat_variables(p)
        elif p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as z:
                variables = [{"name": k, "shape": list(z[k].shape), "dtype": str(z[k].dtype)} for k in z.files]
        return {"file": str(p), "format": fmt, "layout": None, "key": None, "variables": variables,
                "error": str(exc)}
    scene = finalize(scene, scale=None, dtype=np.float32)
    summary = scene.summary()
    out: dict[str, Any] = {"file": str(p), "format": info.format, "layout": scene.layout, "key": key,
                           "variables": info.variables}
    for k, v in summary.items():
        if k not in out:
            out[k] = v
    out["extras"] = _extras_summary(scene.extras)
    out["file_info"] = jsonable(info.extra)
    return out


def _arr_line(a: dict[str, Any] | None) -> str:
    if a is None:
        return "-"
    shape = " x ".join(str(s) for s in a["shape"])
    rng = a.get("range")
    r = f", values {rng[0]:.6g} .. {rng[1]:.6g}" if rng else ""
    return f"{shape} {a['dtype']}{r}"


_MATLAB_CLASS_DTYPE = {"double": "float64", "single": "float32", "logical": "uint8", "int8": "int8",
                       "uint8": "uint8", "int16": "int16", "uint16": "uint16", "int32": "int32",
                       "uint32": "uint32", "int64": "int64", "uint64": "uint64"}


def format_description(d: dict[str, Any]) -> str:
    """Human-readable text for a :func:`describe` result."""
    lines = [f"file:        {d['file']}",
             f"format:      {d.get('format')}",
             f"layout:      {d.get('layout') or '(not determined)'}"
             + (f"  (key={d['key']!r})" if d.get("key") else "")]
    variables = d.get("variables")
    if variables:
        lines.append("variables:")
        width = max(len(v["name"]) for v in variables)
        for v in variables:
            shape = " x ".join(str(s) for s in v["shape"]) or "scalar"
            same = _MATLAB_CLASS_DTYPE.get(v.get("class", ""), v.get("class"))
            cls = f"  (MATLAB class {v['class']})" if v.get("class") and same != v["dtype"] else ""
            lines.append(f"  {v['name']:<{width}}  {shape:<16} {v['dtype']}{cls}")
    if d.get("error"):
        lines.append(f"error:       {d['error']}")
        return "\n".join(lines)
    lines.append(f"cube:        {_arr_line(d.get('cube'))}" + ("  (L, H, W)" if d.get("cube") else ""))
    wl = d.get("wavelengths")
    lines.append("wavelengths: " + (f"{wl['n']} bands, {wl['min']:.6g} .. {wl['max']:.6g} nm" if wl else "-")
                 + ("; fwhm present" if d.get("fwhm") else ""))
    m = d.get("mask")
    if m:
        lines.append(f"mask:        {m['valid']} of {m['total']} pixels valid")
    g = d.get("georef")
    if g:
        crs = g.get("crs")
        if crs and len(crs) > 60:
            crs = crs[:57] + "..."
        lines.append(f"georef:      crs {crs}, transform {g.get('transform')}, nodata {g.get('nodata')}")
    t = d.get("truth") or {}
    truth_lines = []
    for k in ("endmembers", "abundances", "library"):
        if t.get(k):
            truth_lines.append(f"  {k + ':':<13}{_arr_line(t[k])}")
    if t.get("endmember_names"):
        truth_lines.append(f"  {'names:':<13}{', '.join(t['endmember_names'])}")
    if t.get("library_names"):
        truth_lines.append(f"  {'library names:':<13} {t['library_names']}")
    if t.get("library_index"):
        truth_lines.append(f"  {'library index:':<13} {t['library_index']}")
    lines.append("truth:       " + ("" if truth_lines else "-"))
    lines.extend(truth_lines)
    extras = d.get("extras") or {}
    if extras:
        lines.append("extras:")
        for k, v in extras.items():
            if isinstance(v, dict) and set(v) == {"shape", "dtype"}:
                v = f"{' x '.join(str(s) for s in v['shape'])} {v['dtype']}"
            if k == "units" and isinstance(v, dict) and "kind" in v:
                from hysupp.io.units import Units

                v = Units.from_dict(v).describe()
                lines.append(f"  {k}: {v}")
                continue
            text = str(v)
            lines.append(f"  {k}: {text if len(text) <= 100 else text[:97] + '...'}")
    notes = d.get("notes") or []
    if notes:
        lines.append("notes:")
        lines.extend(f"  - {n}" for n in notes)
    return "\n".join(lines)
