"""MATLAB ``.mat`` files: v5/v7 through :func:`scipy.io.loadmat`, v7.3 (HDF5) through h5py.

Both versions are normalised into the same dictionary of variables (numeric arrays in MATLAB's
axis order, ``str`` for char arrays, ``list`` for cell arrays, ``dict`` for structs), which
:func:`hysupp.io.layouts.interpret` turns into a :class:`~hysupp.scene.Scene`. v7.3 files store
every array transposed (HDF5 is row-major); the reader reverses the axes, decodes ``uint16`` char
arrays and follows cell-array references.

Writing (:func:`write_mat`) uses the HySUPP layout that HySUPP and FUnmix read with
``scipy.io.loadmat``: ``Y (L, N)``, ``E (L, p)``, ``A (p, N)``, ``D (L, M)``, scalars
``H, W, p, L, N, M``, ``index`` (0-based library columns of the true endmembers), ``labels``
(endmember names), row-major pixel order (``Y = cube.reshape(L, H*W)``). ``flavor="funmix"`` writes
FUnmix's lower-case scalars instead (``h, w, r, p, n, m`` with ``p`` = bands, ``r`` = endmembers).

Example
-------
>>> import numpy as np, tempfile, os
>>> from hysupp import Scene
>>> from hysupp.io.matlab import write_mat, read_mat
>>> path = os.path.join(tempfile.mkdtemp(), "toy.mat")
>>> write_mat(Scene(cube=np.ones((4, 2, 3), np.float32)), path)
>>> scene, info = read_mat(path)
>>> scene.layout, scene.cube.shape, info.format
('hysupp', (4, 2, 3), 'mat-v5')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError, LayoutError
from hysupp.io._common import FileInfo, stem_name
from hysupp.io.atomic import atomic_output
from hysupp.io.layouts import interpret, usgs_splib_scene
from hysupp.scene import Scene

__all__ = ["load_mat_variables", "read_mat", "read_usgs_splib", "write_mat"]


# ---------------------------------------------------------------------------------------------
# reading: v5 / v7
# ---------------------------------------------------------------------------------------------
def _convert_v5(value: Any) -> Any:
    """scipy.io.loadmat output (squeeze_me=False, chars_as_strings=True) -> plain Python/NumPy."""
    import scipy.sparse

    if scipy.sparse.issparse(value):
        return value.toarray()
    if isinstance(value, np.ndarray):
        if value.dtype.names:  # struct (array)
            items = [{name: _convert_v5(rec[name]) for name in value.dtype.names}
                     for rec in value.ravel(order="F")]
            return items[0] if len(items) == 1 else items
        if value.dtype.kind == "U":  # char array: one string per row
            rows = [str(s) for s in value.ravel(order="F")]
            if len(rows) == 1:
                return rows[0]
            return [r.rstrip() for r in rows]
        if value.dtype == object:  # cell array
            return [_convert_v5(v) for v in value.ravel(order="F")]
        return value
    return value


#: MATLAB v5 data-element type codes (miINT8 .. miUTF32)
_V5_TYPES = frozenset((1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18))
_V5_MATRIX, _V5_COMPRESSED = 14, 15
_V5_ITEMSIZE = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}


def check_v5_structure(path: Path) -> None:
    """Walk the data-element tags of an uncompressed MATLAB v5 file before SciPy reads it.

    SciPy's C reader trusts the tags: a corrupt type or byte count can make it read past its
    buffer and crash the interpreter (seen with scipy 1.17: a bus error on a .mat with three bytes
    changed). Every tag must have a known type, a small element at most 4 bytes and a byte count
    that fits in its enclosing element; ``miMATRIX`` elements are checked down to their
    sub-elements (cells and structs recursively) and a numeric array's data must hold the values
    its dimensions declare. Compressed elements are only bounded (zlib
    checks their content). Other versions (v4, v7.3) are left to their readers.

    Raises
    ------
    InputError
        Naming the file, the byte offset, what the tag says and what the file allows.
    """
    import struct

    from scipy.io.matlab import matfile_version

    try:   # SciPy's own test of the format (the text header itself may be damaged)
        if matfile_version(path)[0] != 1:
            return
    except Exception:  # noqa: BLE001 - not a v5 file: loadmat reports it (as InputError)
        return
    blob = path.read_bytes() if path.stat().st_size <= (64 << 20) else None
    if blob is None:   # large files: check the top-level tags only, read by seeking
        return _check_v5_top_level(path)
    order = {b"IM": "<", b"MI": ">"}.get(blob[126:128])
    if order is None:
        raise InputError(f"MATLAB file {str(path)!r}: bad endian indicator {blob[126:128]!r} at byte 126 "
                         f"(expected 'IM' or 'MI'); the file is corrupt")
    fmt = order + "II"

    def fail(off: int, msg: str) -> None:
        raise InputError(f"MATLAB file {str(path)!r} is corrupt at byte {off}: {msg} "
                         f"(file size {len(blob)} bytes)")

    def check_matrix(elements: list[tuple[int, int, int, int]]) -> None:
        """flags, dims, name, real part: the real part must hold prod(dims) values of its type."""
        if len(elements) < 4 or elements[0][1] != 6 or elements[1][1] != 5:
            return
        flags = struct.unpack_from(order + "I", blob, elements[0][2])[0]
        mx_class, complex_ = flags & 0xFF, bool(flags & 0x800)
        dims_off, dims_size = elements[1][2], elements[1][3]
        dims = struct.unpack_from(order + f"{dims_size // 4}i", blob, dims_off)
        if any(d < 0 for d in dims):
            fail(elements[1][0], f"negative array dimensions {dims}")
        count = int(np.prod(dims, dtype=np.int64))
        if mx_class == 5:   # sparse: ir, jc (columns + 1 entries), pr [, pi]
            if len(elements) < 6 + complex_ or len(dims) != 2:
                fail(elements[0][0], f"sparse array with {len(elements)} sub-elements and dimensions {dims}")
            if elements[4][3] < 4 * (dims[1] + 1):
                fail(elements[4][0], f"sparse column index holds {elements[4][3]} bytes, {dims[1] + 1} "
                                     f"entries needed")
            return
        if not (6 <= mx_class <= 15):   # cells, structs, objects: sub-matrices walked; char: left to SciPy
            return
        parts = elements[3:5] if complex_ else elements[3:4]
        if complex_ and len(parts) < 2:
            fail(elements[0][0], "complex array without an imaginary part")
        for tag_off, kind, _, size in parts:
            need = count * _V5_ITEMSIZE.get(kind, 1)
            if size < need:
                fail(tag_off, f"array dimensions {dims} need {need} bytes of type {kind}, the data element "
                              f"holds {size}")

    def walk(off: int, end: int, top: bool) -> None:
        elements: list[tuple[int, int, int, int]] = []   # (tag offset, type, data offset, bytes)
        while off < end:
            if end - off < 8:
                fail(off, f"{end - off} stray bytes where an 8-byte data-element tag was expected")
            kind, nbytes = struct.unpack_from(fmt, blob, off)
            if kind >> 16:   # small data element: 2-byte size, 2-byte type, <= 4 bytes of data
                size, kind = kind >> 16, kind & 0xFFFF
                if top or size > 4 or kind not in _V5_TYPES:
                    fail(off, f"small data element of type {kind} and {size} bytes (at most 4 bytes of a known "
                              f"type{', never at the top level' if top else ''})")
                elements.append((off, kind, off + 4, size))
                off += 8
                continue
            if kind not in _V5_TYPES:
                fail(off, f"unknown data-element type {kind}")
            if top and kind not in (_V5_MATRIX, _V5_COMPRESSED):
                fail(off, f"top-level data element of type {kind} (expected a matrix (14) or compressed (15))")
            if nbytes > end - off - 8:
                fail(off, f"data element of type {kind} claims {nbytes} bytes, only {end - off - 8} remain")
            if kind == _V5_MATRIX:
                walk(off + 8, off + 8 + nbytes, False)
            elements.append((off, kind, off + 8, nbytes))
            off += 8 + nbytes + (0 if top else (-nbytes) % 8)
        if not top:
            check_matrix(elements)

    walk(128, len(blob), True)


def _check_v5_top_level(path: Path) -> None:
    import struct

    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(128)
        fmt = {b"IM": "<II", b"MI": ">II"}.get(head[126:128])
        if fmt is None:
            raise InputError(f"MATLAB file {str(path)!r}: bad endian indicator {head[126:128]!r} at byte 126")
        off = 128
        while off < size:
            tag = fh.read(8)
            kind, nbytes = struct.unpack(fmt, tag) if len(tag) == 8 else (0, 0)
            if kind not in (_V5_MATRIX, _V5_COMPRESSED) or nbytes > size - off - 8:
                raise InputError(f"MATLAB file {str(path)!r} is corrupt at byte {off}: top-level tag says type "
                                 f"{kind}, {nbytes} bytes; {size - off - 8} bytes remain")
            off += 8 + nbytes
            fh.seek(off)


def _v5_variables(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import scipy.io

    check_v5_structure(path)
    try:
        who = scipy.io.whosmat(path)
        raw = scipy.io.loadmat(path, squeeze_me=False, chars_as_strings=True, mat_dtype=False,
                               struct_as_record=True)
    except Exception as exc:  # scipy raises ValueError, MatReadError, IndexError... on corrupt files
        size = path.stat().st_size
        raise InputError(f"cannot read MATLAB file {str(path)!r} ({size} bytes): not a valid v5/v7 .mat file, "
                         f"corrupt or truncated? ({type(exc).__name__}: {exc})") from exc
    classes = {name: (shape, cls) for name, shape, cls in who}
    variables: dict[str, Any] = {}
    infos: list[dict[str, Any]] = []
    for name, value in raw.items():
        if name.startswith("__"):
            continue
        shape, cls = classes.get(name, (getattr(value, "shape", ()), "?"))
        stored = str(value.dtype) if isinstance(value, np.ndarray) and value.dtype.kind not in "OUV" else cls
        infos.append({"name": name, "shape": list(shape), "dtype": stored, "class": cls})
        value = _convert_v5(value)
        if cls == "logical" and isinstance(value, np.ndarray) and value.dtype.kind in "iu":
            value = value.astype(bool)   # SciPy gives MATLAB logicals as uint8; v7.3 reads them as bool
        variables[name] = value
    return variables, infos


# ---------------------------------------------------------------------------------------------
# reading: v7.3 (HDF5)
# ---------------------------------------------------------------------------------------------
_MATLAB_NUMERIC = {"double": np.float64, "single": np.float32, "int8": np.int8, "uint8": np.uint8,
                   "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
                   "int64": np.int64, "uint64": np.uint64, "logical": np.bool_}


def _attr_str(obj: Any, name: str) -> str | None:
    val = obj.attrs.get(name)
    if val is None:
        return None
    if isinstance(val, bytes):
        return val.decode()
    if isinstance(val, np.ndarray):
        val = val.ravel()[0] if val.size else ""
        return val.decode() if isinstance(val, bytes) else str(val)
    return str(val)


def _h5_convert(f: Any, obj: Any) -> Any:
    import h5py

    cls = _attr_str(obj, "MATLAB_class")
    if isinstance(obj, h5py.Group):
        if "MATLAB_sparse" in obj.attrs:
            import scipy.sparse

            nrows = int(np.asarray(obj.attrs["MATLAB_sparse"]).ravel()[0])
            jc = obj["jc"][()].astype(np.int64)
            ir = obj["ir"][()].astype(np.int64) if "ir" in obj else np.zeros(0, np.int64)
            data = obj["data"][()] if "data" in obj else np.zeros(0)
            return scipy.sparse.csc_matrix((data, ir, jc), shape=(nrows, jc.size - 1)).toarray()
        return {k: _h5_convert(f, obj[k]) for k in obj.keys()}
    empty = obj.attrs.get("MATLAB_empty")
    if empty is not None and int(np.asarray(empty).ravel()[0]):
        dims = tuple(int(d) for d in np.asarray(obj[()]).ravel()[::-1]) if obj.size else (0, 0)
        if cls == "char":
            return ""
        if cls == "cell":
            return []
        return np.zeros(dims, dtype=_MATLAB_NUMERIC.get(cls or "double", np.float64))
    data = obj[()]
    if cls == "cell" or (data.dtype == object and h5py.check_dtype(ref=data.dtype) is not None):
        arr = np.asarray(data).T
        return [_h5_convert(f, f[ref]) for ref in arr.ravel(order="F")]
    if cls == "char":
        arr = np.asarray(data).T  # back to MATLAB (rows, cols)
        arr = np.atleast_2d(arr)
        rows = ["".join(chr(int(c)) for c in row) for row in arr]
        return rows[0] if len(rows) == 1 else [r.rstrip() for r in rows]
    arr = np.asarray(data)
    if arr.dtype.names and {"real", "imag"} <= set(arr.dtype.names):
        arr = arr["real"] + 1j * arr["imag"]
    arr = arr.T  # HDF5 stores MATLAB arrays with the axes reversed
    if cls == "logical":
        arr = arr.astype(bool)
    return np.ascontiguousarray(arr)


def _h5_variables(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import h5py

    variables: dict[str, Any] = {}
    infos: list[dict[str, Any]] = []
    try:
        with h5py.File(path, "r") as f:
            for name in f.keys():
                if name.startswith("#"):  # '#refs#', '#subsystem#'
                    continue
                obj = f[name]
                cls = _attr_str(obj, "MATLAB_class") or ("struct" if isinstance(obj, h5py.Group) else "?")
                shape = list(obj.shape[::-1]) if isinstance(obj, h5py.Dataset) else [1, 1]
                value = _h5_convert(f, obj)
                dtype = str(value.dtype) if isinstance(value, np.ndarray) else cls
                infos.append({"name": name, "shape": shape, "dtype": dtype, "class": cls})
                variables[name] = value
    except (OSError, KeyError, ValueError, RuntimeError) as exc:  # h5py: corrupt or truncated HDF5
        raise InputError(f"cannot read MATLAB v7.3 (HDF5) file {str(path)!r}: corrupt or truncated? "
                         f"({type(exc).__name__}: {exc})") from exc
    return variables, infos


def load_mat_variables(path: str | os.PathLike) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Read every variable of a ``.mat`` file.

    Returns
    -------
    variables : dict
        name -> value, arrays in MATLAB axis order (v7.3 arrays already transposed back).
    infos : list of dict
        ``name``, ``shape`` (MATLAB's), ``dtype`` (as stored) and MATLAB ``class`` of each variable.
    version : str
        ``"mat-v5"`` or ``"mat-v7.3"``.
    """
    import h5py

    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {str(p)!r}")
    if h5py.is_hdf5(p):
        variables, infos = _h5_variables(p)
        return variables, infos, "mat-v7.3"
    variables, infos = _v5_variables(p)
    return variables, infos, "mat-v5"


def read_mat(path: str | os.PathLike, key: str | None = None, layout: str | None = None,
             role: str | None = None) -> tuple[Scene, FileInfo]:
    """Read a ``.mat`` file into a Scene (layout detection in :mod:`hysupp.io.layouts`; ``layout``
    orders a 3-D image's axes, ``role`` as in :func:`~hysupp.io.layouts.interpret`)."""
    p = Path(path)
    variables, infos, version = load_mat_variables(p)
    scene = interpret(variables, key=key, label=str(p), name=stem_name(p), convention="matlab", infos=infos,
                      layout=layout, role=role)
    if version == "mat-v7.3":
        scene.notes.insert(0, "MATLAB v7.3 (HDF5) file: array axes reversed back to MATLAB order")
    return scene, FileInfo(format=version, variables=infos)


# ---------------------------------------------------------------------------------------------
# USGS splib (datalib + names)
# ---------------------------------------------------------------------------------------------
def read_usgs_splib(path: str | os.PathLike) -> Scene:
    """Read a USGS spectral library ``.mat`` (``datalib`` + ``names``), e.g. ``USGS_1995_Library.mat``.

    Returns a Scene with ``cube=None``, ``library (L, M)`` sorted by wavelength (nm),
    ``library_names``, ``wavelengths`` and ``fwhm`` (the channel resolution column), all in nm.

    Example
    -------
    >>> from hysupp.io.matlab import read_usgs_splib  # doctest: +SKIP
    >>> read_usgs_splib("USGS_1995_Library.mat").library.shape  # doctest: +SKIP
    (224, 498)
    """
    p = Path(path)
    variables, _, _ = load_mat_variables(p)
    lower = {k.lower(): k for k in variables}
    if "datalib" not in lower:
        raise LayoutError(f"{str(p)!r} is not a USGS splib file: no 'datalib' variable "
                          f"(variables: {', '.join(variables)})")
    names = variables[lower["names"]] if "names" in lower else []
    return usgs_splib_scene(variables[lower["datalib"]], names, label=str(p), name=stem_name(p))


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def hysupp_variables(scene: Scene, flavor: str = "hysupp") -> dict[str, Any]:
    """The variables of the HySUPP (or FUnmix) ``.mat`` layout for ``scene``.

    Raises
    ------
    InputError
        When the scene's arrays are inconsistent (e.g. abundances whose pixel count differs from
        the cube's) or hold nothing to write.
    """
    if flavor not in ("hysupp", "funmix"):
        raise InputError(f"unknown .mat flavor {flavor!r}; use 'hysupp' or 'funmix'")
    out: dict[str, Any] = {}
    H = W = L = p = None
    if scene.cube is not None:
        L, H, W = scene.cube.shape
        out["Y"] = np.ascontiguousarray(scene.cube.reshape(L, H * W))
    A = scene.abundances
    if A is not None:
        if A.ndim == 3:
            if H is not None and A.shape[1:] != (H, W):
                raise InputError(f"scene {scene.name!r}: abundances {A.shape} do not match the image {H}x{W}")
            p, H, W = A.shape
            A = A.reshape(p, H * W)
        elif A.ndim == 2:
            p = A.shape[0]
            if H is not None and A.shape[1] != H * W:
                raise InputError(f"scene {scene.name!r}: abundances {A.shape} do not match the image {H}x{W}")
            if scene.extras.get("pixel_order") == "F" and H is not None:
                A = A.reshape(p, H, W, order="F").reshape(p, H * W)
        else:
            raise InputError(f"scene {scene.name!r}: abundances must be (p, H, W) or (p, N), got {A.shape}")
        out["A"] = np.ascontiguousarray(A)
    if scene.endmembers is not None:
        E = scene.endmembers
        if p is not None and E.shape[1] != p:
            raise InputError(f"scene {scene.name!r}: endmembers {E.shape} but abundances have {p} rows")
        p = E.shape[1]
        L = E.shape[0] if L is None else L
        out["E"] = E
    if scene.library is not None:
        L = scene.library.shape[0] if L is None else L
        out["D"] = scene.library
    if not out:
        raise InputError(f"scene {scene.name!r} holds no cube, endmembers, abundances or library to write")
    if scene.library_index is not None:
        out["index"] = np.asarray(scene.library_index, dtype=np.int64).reshape(1, -1)
    if scene.endmember_names:
        out["labels"] = list(scene.endmember_names)
    if scene.library_names:
        out["library_names"] = list(scene.library_names)
    if scene.wavelengths is not None:
        out["wavelengths"] = np.asarray(scene.wavelengths, dtype=np.float64).reshape(1, -1)
    if scene.fwhm is not None:
        out["fwhm"] = np.asarray(scene.fwhm, dtype=np.float64).reshape(1, -1)
    if scene.mask is not None:
        out["mask"] = np.asarray(scene.mask, dtype=bool)
    if "protocol" in scene.extras:  # a simulation protocol travels with the data (JSON text)
        import json

        from hysupp.records import to_jsonable

        out["protocol"] = json.dumps(to_jsonable(scene.extras["protocol"]))
    scalars: dict[str, Any]
    N = None if H is None else H * W
    M = None if scene.library is None else scene.library.shape[1]
    if flavor == "hysupp":
        scalars = {"H": H, "W": W, "p": p, "L": L, "N": N, "M": M}
    else:
        scalars = {"h": H, "w": W, "r": p, "p": L, "n": N, "m": M}
    for k, v in scalars.items():
        if v is not None:
            out[k] = float(v)
    return out


def write_mat(scene: Scene, path: str | os.PathLike, *, overwrite: bool = False, flavor: str = "hysupp") -> None:
    """Write ``scene`` as a MATLAB v5 file in the HySUPP layout (atomically).

    Parameters
    ----------
    scene : Scene
    path : path-like
        Target ``.mat`` file.
    overwrite : bool
        Replace an existing file.
    flavor : {"hysupp", "funmix"}
        ``"funmix"`` writes FUnmix's scalar names (``h, w, r, p, n, m``; its ``p`` is the number of
        bands) instead of HySUPP's (``H, W, p, L, N, M``).
    """
    import scipy.io

    variables = hysupp_variables(scene, flavor)
    with atomic_output(path, overwrite) as tmp:
        with open(tmp, "wb") as fh:
            scipy.io.savemat(fh, variables, do_compression=True, oned_as="row")
