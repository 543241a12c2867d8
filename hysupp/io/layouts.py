"""Layout detection for variable-based files (``.mat`` and ``.npz``).

:func:`interpret` turns a dictionary of named variables into a :class:`~hysupp.scene.Scene`. It
recognises, in this order, and never guesses silently when two readings fit (it raises
:class:`~hysupp.errors.LayoutError` listing the candidates and asking for ``key=``):

===================== =========================================================================
layout                variables
===================== =========================================================================
``hysupp``            ``Y (L, N)``, ``E (L, p)``, ``A (p, N)``, ``D (L, M)``, scalars ``H, W``
                      (+ ``p, L, N, M``), ``index`` (0-based), ``labels``; row-major pixels
``funmix``            same arrays with FUnmix's scalars ``h, w, r, p, n, m`` (``p`` = bands)
``zhu``               ``V`` or ``Y`` ``(L, N)``, ``nRow``, ``nCol`` (+ ``nBand``): column-major pixels
                      (Samson, Jasper, Urban); ``maxValue`` divides the data (stored as reflectance
                      x maxValue), ``SlectBands`` -> ``extras['sensor_bands']``, and ``M``/``A``/
                      ``cood`` in the same file are attached as truth
``zhu-truth``         ``M (L, p)``, ``A (p, N)``, ``cood`` names: pixels column-major
                      (``extras['pixel_order'] = "F"``, honoured by ``Scene.with_truth``)
``endmembers``        ``M``/``E (L, p)`` with names (``cood``/``labels``), optional ``waveLength``
                      and ``slctBnds`` (kept bands, stored 0-based in ``extras['band_selection']``)
``truth``             ``E``/``M`` and ``A`` without Zhu's names (row-major pixels)
``usgs-splib``        ``datalib`` + ``names`` (see :func:`usgs_splib_scene`)
``pansharpening-pair`` ``I_MS (H, W, B)`` + ``I_PAN (H', W')``, ``ratio``, ``sensor``, ``L`` (bits)
``cube``              one 3-D image (MATLAB ``(H, W, L)`` -> ``(L, H, W)``; ``.npz``/``.npy``
                      arrays are already channels-first) + wavelengths/fwhm/bbl/ENVI ``params``
``abundances``        a 3-D abundance cube (non-negative, sums to one along an axis, or named
                      ``XT``/``A``/``abundances``) -> ``Scene(abundances=(p, H, W))``
``library``           one 2-D matrix, bands as rows (``L, M``)
``spectral-table``    one 2-D matrix whose column 0 is a wavelength grid (e.g. an SRF table)
``wavelengths``       only a wavelength vector
``srf``               a ``(C, L)`` matrix with few rows (<= 16) named like a spectral response
                      (``R``, ``R_gt``, ``srf``...) or, when asked for by ``key=``, shaped like one
                      -> ``extras['srf']`` (not a C-band library)
``matrix``            any other single 2-D matrix (kept in ``extras['matrix']``)
===================== =========================================================================

The role of a variable comes from its shape against the file's other variables (wavelengths,
names, image size) and its values (columns summing to one), never from its name alone: a lone
``A`` is a library when its rows match the wavelengths or its columns the names, abundances when
its columns are the image's pixels or sum to one, and ambiguous otherwise. ``role="library"``
(:func:`hysupp.io.load_library`) and ``role="truth"`` (``load(truth_key=)``) read the ``key``
variable in that role. A 3-D image's axis order is checked by :mod:`hysupp.io.axes` (``layout=``
overrides it).
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from hysupp.errors import LayoutError
from hysupp.io._common import (BBL_NAME, FWHM_NAME, WAVELENGTH_NAME, bad_band_keep, drop_bands, to_nm,
                               wavelengths_nm)
from hysupp.scene import Scene

ABUNDANCE_NAME = re.compile(r"^(xt|a|abundances?|abund\w*|fractions?)$", re.IGNORECASE)
ENDMEMBER_NAME = re.compile(r"^(m|e|em|endmembers?|ems)$", re.IGNORECASE)
NAMES_NAME = re.compile(r"^(cood|labels|names|endmember_names|em_names)$", re.IGNORECASE)
LIBRARY_NAME = re.compile(r"(lib|^ee$|^d$|^e$|^m$|endmember|spectra|signature)", re.IGNORECASE)
SELECTION_NAME = re.compile(r"^(slctbnds|slectbands|selectbands|selected_?bands|band_?selection|kept_?bands)$",
                            re.IGNORECASE)
#: names of spectral response matrices (C sensor bands x L hyperspectral bands)
SRF_NAME = re.compile(r"^(r|r_?gt|r_?true|srf\w*|rsr\w*|\w*_srf|\w*response\w*|spec_?resp\w*)$", re.IGNORECASE)
#: a variable that gives the image's scale: data stored as reflectance x maxValue (Zhu's benchmark files)
MAXVALUE_NAME = re.compile(r"^(maxvalue|max_?value|scale_?max)$", re.IGNORECASE)

HYSUPP_ARRAYS = {"Y", "E", "A", "D"}
HYSUPP_EXTRA = {"index", "labels", "library_names", "mask", "wavelengths", "fwhm", "protocol"}
HYSUPP_SCALARS = {"H", "W", "p", "L", "N", "M"}
FUNMIX_SCALARS = {"h", "w", "r", "p", "n", "m"}


class _Ctx:
    """The variables of one file plus what is needed for messages."""

    def __init__(self, variables: dict[str, Any], label: str, name: str, convention: str,
                 infos: list[dict[str, Any]] | None, layout: str | None = None) -> None:
        self.v = variables
        self.label = label
        self.name = name
        self.convention = convention
        self.layout = layout          # an explicit axis order for a 3-D image (layout=)
        self.layout_used = False
        self.infos = infos or [_info(k, val) for k, val in variables.items()]

    # ---------------------------------------------------------------- lookups
    def ci(self, *names: str) -> str | None:
        """The actual name of the first variable matching one of ``names`` (case-insensitive)."""
        lower = {k.lower(): k for k in self.v}
        for n in names:
            if n.lower() in lower:
                return lower[n.lower()]
        return None

    def scalar(self, name: str | None) -> float | None:
        if name is None or name not in self.v:
            return None
        val = self.v[name]
        if isinstance(val, np.ndarray) and val.size == 1 and val.dtype.kind in "biuf":
            return float(val.ravel()[0])
        return None

    def numeric(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.v.items() if _is_num(v) and v.size > 0}

    def listing(self) -> str:
        return "; ".join(f"{i['name']} {tuple(i['shape'])} {i['dtype']}" for i in self.infos)

    def error(self, message: str) -> LayoutError:
        return LayoutError(f"{self.label}: {message}. Variables: {self.listing()}")

    # ---------------------------------------------------------------- side information
    def wavelength_var(self) -> str | None:
        for k, v in self.v.items():
            if WAVELENGTH_NAME.match(k) and _is_num(v) and _is_vector(v):
                return k
        return None

    def fwhm_var(self) -> str | None:
        for k, v in self.v.items():
            if FWHM_NAME.match(k) and _is_num(v) and _is_vector(v):
                return k
        return None

    def bbl_var(self) -> str | None:
        for k, v in self.v.items():
            if BBL_NAME.match(k) and _is_num(v) and _is_vector(v):
                return k
        return None

    def side_names(self) -> set[str]:
        return {k for k in (self.wavelength_var(), self.fwhm_var(), self.bbl_var()) if k}


def _info(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, np.ndarray):
        return {"name": name, "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, str):
        return {"name": name, "shape": [1, len(value)], "dtype": "char"}
    if isinstance(value, list):
        return {"name": name, "shape": [len(value)], "dtype": "cell"}
    if isinstance(value, dict):
        return {"name": name, "shape": [1, 1], "dtype": "struct"}
    return {"name": name, "shape": [], "dtype": type(value).__name__}


def _is_num(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind in "biufc"


def _is_vector(v: np.ndarray) -> bool:
    return v.ndim <= 2 and v.size >= 1 and (v.ndim < 2 or min(v.shape) == 1)


def _shape(a: np.ndarray) -> str:
    return " x ".join(str(s) for s in a.shape)


def as_names(value: Any) -> list[str] | None:
    """Names from a char matrix, a cell array of strings, or a string array."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value.strip()]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, list) and len(item) == 1:
                item = item[0]
            out.append(str(item).strip())
        return out
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            return [str(s).strip() for s in value.ravel()]
        if value.dtype.kind in "iu" and value.ndim == 2:
            return ["".join(chr(int(c)) for c in row if int(c) > 0).strip() for row in value]
    return None


# =============================================================================================
# entry point
# =============================================================================================
def interpret(variables: dict[str, Any], *, key: str | None, label: str, name: str,
              convention: str = "matlab", infos: list[dict[str, Any]] | None = None,
              layout: str | None = None, role: str | None = None) -> Scene:
    """Interpret named variables as a Scene (see the module docstring for the layouts).

    Parameters
    ----------
    variables : dict
        name -> value (numeric arrays in the file's axis order, str, list, dict).
    key : str, optional
        The variable to read; resolves ambiguous files.
    label : str
        The file path (used in messages).
    name : str
        The scene name.
    convention : {"matlab", "numpy"}
        How a 3-D image is ordered: MATLAB ``(H, W, L)`` or NumPy channels-first ``(L, H, W)``.
    infos : list of dict, optional
        Variable descriptions (name, shape, dtype) for error messages.
    layout : str, optional
        The axis order of a 3-D image variable (``"LHW"``, ``"HWL"``, ...), instead of checking it
        (:mod:`hysupp.io.axes`); an error when the file holds no 3-D image.
    role : {"library"}, optional
        What the caller needs from the file (see :func:`hysupp.io.load_library`): with ``key``, a
        2-D variable is read as a library whatever its name.
    """
    ctx = _Ctx(variables, label, name, convention, infos, layout)
    if not variables:
        raise LayoutError(f"{label}: the file holds no variables")
    if key is not None:
        if key not in variables:
            raise ctx.error(f"no variable {key!r}")
        scene = _interpret_key(ctx, key, role)
    else:
        detectors: tuple[Callable[[_Ctx], Scene | None], ...] = (
            _zhu_image, _hysupp, _usgs, _pan_pair, _truth)
        scene = next((s for s in (detect(ctx) for detect in detectors) if s is not None), None)
        if scene is None:
            scene = _generic(ctx)
    if layout is not None and not ctx.layout_used:
        raise ctx.error(f"layout={layout!r} orders the axes of a 3-D image, but the file was read as "
                        f"{scene.layout!r} (no 3-D image variable was used)")
    return scene


def _pixel_dims(ctx: _Ctx) -> tuple[int, int, str, str] | None:
    """Image size declared by scalars: ``(H, W, pixel order, names)`` or None."""
    for hk, wk, order in (("H", "W", "C"), ("h", "w", "C")):
        H, W = ctx.scalar(hk if hk in ctx.v else None), ctx.scalar(wk if wk in ctx.v else None)
        if H is not None and W is not None:
            return int(H), int(W), order, f"{hk} x {wk}"
    rk, ck = ctx.ci("nRow"), ctx.ci("nCol")
    H, W = ctx.scalar(rk), ctx.scalar(ck)
    if H is not None and W is not None:
        return int(H), int(W), "F", f"{rk} x {ck}"
    return None


def _interpret_key(ctx: _Ctx, key: str, role: str | None = None) -> Scene:
    v = ctx.v[key]
    if not _is_num(v):
        raise ctx.error(f"variable {key!r} is a {_info(key, v)['dtype']}, not a numeric array")
    if role == "library":
        if key.lower() == "datalib":
            return _usgs(ctx)  # type: ignore[return-value]
        if v.ndim != 2 or min(v.shape) < 1:
            raise ctx.error(f"library variable {key!r} has shape {tuple(v.shape)}: a library is 2-D "
                            f"(bands x spectra)")
        return _matrix_scene(ctx, key, forced=True, role="library")
    if role == "truth":
        if v.ndim == 3:
            return _truth(ctx, ak=key)  # type: ignore[return-value]
        if v.ndim == 2:
            kind, _ = _matrix_role(ctx, key)
            if kind == "abundances" or (kind is None and ABUNDANCE_NAME.match(key)):
                return _truth(ctx, ak=key)  # type: ignore[return-value]
            return _truth(ctx, ek=key)  # type: ignore[return-value]
        raise ctx.error(f"truth variable {key!r} has shape {tuple(v.shape)}: expected endmembers (bands x p) "
                        f"or abundances (p x N or a 3-D cube)")
    if key.lower() in ("v", "y") and ctx.ci("nRow") and ctx.ci("nCol") and v.ndim == 2:
        return _zhu_image(ctx)  # type: ignore[return-value]
    # keys that are the primary variable of a specific layout
    if key == "Y" and _hysupp_fits(ctx):
        return _hysupp(ctx)  # type: ignore[return-value]
    if key.lower() == "datalib":
        return _usgs(ctx)  # type: ignore[return-value]
    pair = _pair_names(ctx)
    if pair is not None and key in pair:
        return _pan_pair(ctx, pan_as_cube=(key == pair[1]))  # type: ignore[return-value]
    if v.ndim == 3:
        axis = _abundance_axis(key, v)
        if axis is not None:
            return _abundance_scene(ctx, key, axis)
        return _image_scene(ctx, key, others=[k for k in ctx.numeric() if k != key])
    if v.ndim == 2 and min(v.shape) > 1:
        hw = _pixel_dims(ctx)
        if hw is not None and v.shape[1] == hw[0] * hw[1]:
            H, W, order, names = hw
            cube = v.reshape(v.shape[0], H, W, order=order)
            notes = [f"variable {key!r} ({_shape(v)}) read as a pixel matrix (bands x pixels) with "
                     f"{names} = {H} x {W}, {'column' if order == 'F' else 'row'}-major pixel order"]
            return _with_side(ctx, Scene(cube=cube, name=ctx.name, layout="cube", notes=notes), key)
        if "pan" in key.lower():
            notes = [f"variable {key!r} ({_shape(v)}) read as a single-band image (1, H, W)"]
            return Scene(cube=v[None], name=ctx.name, layout="cube", notes=notes)
        return _matrix_scene(ctx, key, forced=True)
    if _is_vector(v) and WAVELENGTH_NAME.match(key):
        return _wavelength_scene(ctx, key)
    raise ctx.error(f"variable {key!r} has shape {tuple(v.shape)}: expected a 3-D image or abundance "
                    f"cube, or a 2-D pixel matrix or library")


def _sums_to_one(arr: np.ndarray) -> bool:
    a = np.asarray(arr, dtype=np.float64)
    if a.dtype.kind not in "fiu" or not np.isfinite(a).all() or a.min() < -1e-6:
        return False
    return bool(np.allclose(a.sum(axis=0), 1.0, atol=2e-3))


def _matrix_role(ctx: _Ctx, key: str) -> tuple[str | None, str]:
    """Whether the 2-D variable ``key`` is a ``"library"`` (bands x spectra) or ``"abundances"``
    (p x N), from its shape against the file's other variables (wavelengths, names, image size)
    and its values (columns summing to one), never from its name alone. Returns ``(role or None,
    the evidence in words)``; ``None`` when both or neither fit."""
    arr = ctx.v[key]
    R, C = arr.shape
    lib: list[str] = []
    abund: list[str] = []
    wk = ctx.wavelength_var()
    if wk is not None:
        n = int(np.asarray(ctx.v[wk]).size)
        if n == R:
            lib.append(f"its {R} rows match the {n} wavelengths in {wk!r}")
    nk = next((k for k in ctx.v if NAMES_NAME.match(k) or k.lower() == "library_names"), None)
    names = as_names(ctx.v[nk]) if nk else None
    if names is not None and len(names) == C != R:
        lib.append(f"the {C} names in {nk!r} name its columns (spectra)")
    if names is not None and len(names) == R != C:
        abund.append(f"the {R} names in {nk!r} name its rows (endmembers)")
    hw = _pixel_dims(ctx)
    if hw is not None and C == hw[0] * hw[1]:
        abund.append(f"its {C} columns are the {hw[3]} = {hw[0]} x {hw[1]} pixels")
    if _sums_to_one(arr):
        abund.append("its columns are non-negative and sum to one")
    evidence = "; ".join([f"library: {w}" for w in lib] + [f"abundances: {w}" for w in abund]) or \
        "no wavelengths, names, image size or sum-to-one columns to tell"
    if lib and not abund:
        return "library", evidence
    if abund and not lib:
        return "abundances", evidence
    return None, evidence


# =============================================================================================
# HySUPP / FUnmix
# =============================================================================================
def _hysupp_fits(ctx: _Ctx) -> bool:
    core = [k for k in HYSUPP_ARRAYS if k in ctx.v and _is_num(ctx.v[k])]
    if not core or ("Y" in core and ctx.v["Y"].ndim != 2):  # a 3-D Y is a plain cube
        return False
    if ctx.ci("nRow") and ctx.ci("nCol") and not any(k in ctx.v for k in ("H", "W", "h", "w")):
        return False  # Zhu's image size (Jasper Ridge's Y): the zhu layout
    side = ctx.side_names()
    for k, val in ctx.v.items():
        if k in HYSUPP_ARRAYS or k in HYSUPP_EXTRA or k in side:
            continue
        if k in HYSUPP_SCALARS or k in FUNMIX_SCALARS:
            if _is_num(val) and val.size == 1:
                continue
            return False
        if _is_num(val) and val.size > 1:
            return False  # an array HySUPP's layout does not know: not this layout
    return True


def _hysupp(ctx: _Ctx) -> Scene | None:
    if not _hysupp_fits(ctx):
        return None
    v = ctx.v
    if "H" in v and "W" in v:
        flavor, H, W = "hysupp", ctx.scalar("H"), ctx.scalar("W")
        bands_key, p_key, n_key, m_key = "L", "p", "N", "M"
    elif "h" in v and "w" in v:
        flavor, H, W = "funmix", ctx.scalar("h"), ctx.scalar("w")
        bands_key, p_key, n_key, m_key = "p", "r", "n", "m"
    else:
        flavor, H, W = "hysupp", None, None
        bands_key, p_key, n_key, m_key = "L", "p", "N", "M"
    Y, E, A, D = (v.get(k) for k in ("Y", "E", "A", "D"))
    if A is not None and Y is None and E is None and D is None and H is None and A.ndim == 2:
        role, evidence = _matrix_role(ctx, "A")
        if role == "library":
            from hysupp.errors import LayoutWarning
            from hysupp.io._warn import warn_user

            scene = _matrix_scene(ctx, "A", forced=True, role="library")
            msg = f"'A' read as a spectral library, not abundances ({evidence})"
            scene.notes.insert(0, msg)
            warn_user(f"{ctx.label}: {msg}; pass truth_key='A' to read it as abundances", LayoutWarning)
            return scene
        if role is None:
            raise ctx.error(f"'A' ({_shape(A)}) could be a spectral library (bands x spectra) or abundances "
                            f"(p x N): {evidence}. Use hysupp.io.load_library(path, key='A') (--library-key A) "
                            f"for a library, or load(path, truth_key='A') for abundances")
    if Y is not None and H is None:
        raise ctx.error("Y looks like HySUPP's pixel matrix (L x N) but the image size (H, W or h, w) "
                        "is missing")
    notes = [f"{'FUnmix' if flavor == 'funmix' else 'HySUPP'} layout"]
    Hi = None if H is None else int(H)
    Wi = None if W is None else int(W)
    cube = None
    L = None
    if Y is not None:
        if Y.ndim != 2:
            raise ctx.error(f"Y must be 2-D (L x N), got shape {Y.shape}")
        L, N = Y.shape
        if N != Hi * Wi:
            raise ctx.error(f"Y has {N} pixels (columns) but H x W = {Hi} x {Wi} = {Hi * Wi}")
        cube = Y.reshape(L, Hi, Wi)
        notes.append(f"Y ({L} x {N}) reshaped row-major to (L, H, W) = ({L}, {Hi}, {Wi})")
    abundances = None
    p = None
    if A is not None:
        if A.ndim == 2:
            p = A.shape[0]
            if Hi is not None:
                if A.shape[1] != Hi * Wi:
                    raise ctx.error(f"A has {A.shape[1]} pixels (columns) but H x W = {Hi * Wi}")
                abundances = A.reshape(p, Hi, Wi)
                notes.append(f"A ({_shape(A)}) reshaped row-major to ({p}, {Hi}, {Wi})")
            else:
                abundances = A
                notes.append(f"A ({_shape(A)}) kept as (p, N): the file gives no image size")
        elif A.ndim == 3:
            p = A.shape[0]
            if Hi is not None and A.shape[1:] != (Hi, Wi):
                raise ctx.error(f"A has shape {A.shape}, expected (p, {Hi}, {Wi})")
            abundances = A
            notes.append(f"A ({_shape(A)}) read as (p, H, W)")
        else:
            raise ctx.error(f"A must be (p, N) or (p, H, W), got shape {A.shape}")
    if E is not None:
        if E.ndim != 2:
            raise ctx.error(f"E must be 2-D (L x p), got shape {E.shape}")
        if L is not None and E.shape[0] != L:
            raise ctx.error(f"E has {E.shape[0]} rows but Y has {L} bands; expected E of shape ({L}, p)")
        if p is not None and E.shape[1] != p:
            raise ctx.error(f"E has {E.shape[1]} columns but A has {p} rows")
        L = E.shape[0] if L is None else L
        p = E.shape[1]
    if D is not None:
        if D.ndim != 2:
            raise ctx.error(f"D must be 2-D (L x M), got shape {D.shape}")
        if L is not None and D.shape[0] != L:
            raise ctx.error(f"D has {D.shape[0]} rows but the data have {L} bands")
        L = D.shape[0] if L is None else L
    # declared scalars must agree with the arrays
    declared = {bands_key: L, p_key: p, n_key: None if Hi is None else Hi * Wi,
                m_key: None if D is None else D.shape[1]}
    for k, actual in declared.items():
        val = ctx.scalar(k) if k in v else None
        if val is not None and actual is not None and int(val) != actual:
            raise ctx.error(f"scalar {k} = {int(val)} disagrees with the arrays ({actual})")
    index = None
    if "index" in v and _is_num(v["index"]):
        index = np.asarray(v["index"]).ravel().astype(np.int64)
        if D is not None and index.size and (index.min() < 0 or index.max() >= D.shape[1]):
            raise ctx.error(f"index values {index.min()}..{index.max()} are not 0-based columns of D "
                            f"(M = {D.shape[1]})")
        notes.append("index: 0-based library columns of the true endmembers")
    labels = as_names(v.get("labels"))
    if labels is not None and p is not None and len(labels) != p:
        notes.append(f"labels has {len(labels)} names for {p} endmembers: ignored")
        labels = None
    lib_names = as_names(v.get("library_names"))
    if lib_names is not None and D is not None and len(lib_names) != D.shape[1]:
        lib_names = None
    mask = None
    if "mask" in v and _is_num(v["mask"]) and Hi is not None and v["mask"].shape == (Hi, Wi):
        mask = v["mask"].astype(bool)
    extras: dict[str, Any] = {}
    protocol = as_names(v.get("protocol"))
    if protocol:
        import json

        try:
            extras["protocol"] = json.loads("".join(protocol))
            notes.append("protocol: the simulation protocol this file was generated with (extras['protocol'])")
        except json.JSONDecodeError:
            notes.append("protocol variable is not valid JSON: ignored")
    scene = Scene(cube=cube, endmembers=E, abundances=abundances, library=D, library_index=index,
                  endmember_names=labels, library_names=lib_names, mask=mask, name=ctx.name,
                  layout=flavor, notes=notes, extras=extras)
    return _with_side(ctx, scene, None)


# =============================================================================================
# Zhu (Samson, Jasper Ridge, Urban)
# =============================================================================================
def _zhu_image(ctx: _Ctx) -> Scene | None:
    """Zhu's benchmark layout (Samson, Jasper Ridge, Urban as distributed): the pixel matrix ``V`` or
    ``Y`` (L x N, column-major pixels), ``nRow``, ``nCol``, optional ``nBand``, ``maxValue`` (the data
    are reflectance x maxValue: divided by it), ``SlectBands`` (1-based kept bands of the sensor) and,
    in some copies, the truth ``M (L, p)``, ``A (p, N)`` and ``cood`` names in the same file."""
    rk, ck = ctx.ci("nRow"), ctx.ci("nCol")
    if not (rk and ck):
        return None
    vk = next((k for k in (ctx.ci("V"), ctx.ci("Y")) if k and _is_num(ctx.v[k]) and ctx.v[k].ndim == 2), None)
    if vk is None:
        return None
    V = ctx.v[vk]
    nrow, ncol = ctx.scalar(rk), ctx.scalar(ck)
    if nrow is None or ncol is None:
        raise ctx.error(f"{rk} and {ck} must be scalars")
    H, W = int(nrow), int(ncol)
    nbk = ctx.ci("nBand")
    nb = ctx.scalar(nbk)
    notes: list[str] = []
    if V.shape[1] != H * W and V.shape[0] == H * W:
        V = V.T
        notes.append(f"{vk} stored as pixels x bands ({_shape(ctx.v[vk])}): transposed to bands x pixels")
    L, N = V.shape
    if N != H * W:
        raise ctx.error(f"{vk} has {N} pixels (columns) but {rk} x {ck} = {H} x {W} = {H * W}")
    sk = next((k for k in ctx.v if SELECTION_NAME.match(k)), None)
    selected = sk is not None and _is_num(ctx.v[sk]) and np.asarray(ctx.v[sk]).size == L
    if nb is not None and int(nb) != L and not selected:   # Jasper Ridge: nBand 224, 198 SlectBands
        raise ctx.error(f"{nbk} = {int(nb)} but {vk} has {L} rows")
    cube = V.reshape(L, H, W, order="F")
    notes.insert(0, f"Zhu layout: {vk} ({L} x {N}) holds pixels in column-major order; reshaped with "
                    f"order='F' to (L, H, W) = ({L}, {H}, {W})")
    extras: dict[str, Any] = {"source_pixel_order": "F"}
    mk = next((k for k in ctx.v if MAXVALUE_NAME.match(k)), None)
    used = {vk, rk, ck, nbk, mk}
    if mk is not None:
        mv = ctx.scalar(mk)
        if mv is not None and mv > 0:
            from hysupp.errors import UnitsWarning
            from hysupp.io._warn import warn_user

            cube = cube / (np.float32(mv) if cube.dtype == np.float32 else float(mv))
            msg = (f"{vk} divided by {mk} = {mv:g} (the file stores reflectance x {mk})")
            notes.append(msg)
            warn_user(f"{ctx.label}: {msg}", UnitsWarning)
            extras["units"] = {"declared": f"{mk} = {mv:g} (values divided by it)", "of": "cube"}
        else:
            notes.append(f"{mk} is not a positive scalar: ignored")
    if sk is not None and _is_num(ctx.v[sk]):
        sel = np.asarray(ctx.v[sk]).ravel()
        if sel.size == L and np.all(sel >= 1) and np.all(np.diff(sel) > 0):
            extras["sensor_bands"] = (sel - 1).astype(np.int64)
            notes.append(f"{sk!r}: the {L} bands are these 1-based sensor bands (0-based in extras['sensor_bands'])")
        used.add(sk)
    scene = Scene(cube=cube, name=ctx.name, layout="zhu", notes=notes, extras=extras)
    scene = _with_side(ctx, scene, vk)
    truth = _truth(ctx, zhu=True, skip=tuple(k for k in used if k))
    if truth is not None:
        scene = scene.with_truth(truth)
        scene.notes.extend(f"truth: {n}" for n in truth.notes)
    return scene


# =============================================================================================
# truth files: Zhu's end*.mat, NEBEAE's Cuprite truth, generic E + A
# =============================================================================================
def _truth(ctx: _Ctx, *, ek: str | None = None, ak: str | None = None, zhu: bool | None = None,
           skip: tuple[str, ...] = ()) -> Scene | None:
    """Endmembers ``(L, p)`` with abundances and/or names: Zhu's ``end*.mat``, NEBEAE's Cuprite truth,
    generic ``E``/``M`` + ``A``. ``ek``/``ak`` force the variables (``truth_key=``); ``zhu`` forces
    column-major pixels (a Zhu image file holding its own truth); ``skip`` names variables already
    used by the caller."""
    num = {k: v for k, v in ctx.numeric().items() if k not in skip}
    forced = ek is not None or ak is not None
    if not forced:
        if any(val.ndim == 3 for k, val in num.items() if not ABUNDANCE_NAME.match(k)):
            return None
        if not skip and ctx.ci("Y", "V") in num:
            return None
    if ek is None:
        em_keys = [k for k, val in num.items() if ENDMEMBER_NAME.match(k) and val.ndim == 2 and min(val.shape) >= 1
                   and k != ak]
        if len(em_keys) != 1:
            if ak is None:
                return None
            em_keys = [None]  # type: ignore[list-item]
        ek = em_keys[0]
    E = None if ek is None else num[ek]
    if E is not None and E.ndim != 2:
        raise ctx.error(f"endmembers {ek!r} must be 2-D (bands x p), got shape {E.shape}")
    if ak is None and E is not None:
        p = E.shape[1]
        ak = next((k for k, val in num.items() if ABUNDANCE_NAME.match(k) and k != ek and val.ndim in (2, 3)
                   and p in (val.shape[0], val.shape[-1])), None)
    p = E.shape[1] if E is not None else None
    nk = next((k for k in ctx.v if NAMES_NAME.match(k)), None)
    names = as_names(ctx.v[nk]) if nk else None
    if names is not None and p is not None and len(names) != p:
        names = None
    if ak is None and names is None and not forced:
        return None
    zhu = (nk is not None and nk.lower() == "cood") if zhu is None else zhu
    notes: list[str] = []
    extras: dict[str, Any] = {}
    abundances = None
    if ak is not None:
        A = num[ak]
        if A.ndim == 3 and p is None:
            axis = _abundance_axis(ak, A)
            return _abundance_scene(ctx, ak, axis if axis is not None else (2 if ctx.convention == "matlab" else 0))
        if A.ndim == 3:
            first, last = A.shape[0] == p, A.shape[2] == p
            if first and last:   # (p, H, p): the axis that sums to one, else the file's convention
                axis = _abundance_axis(ak, A)
                axis = axis if axis is not None else (2 if ctx.convention == "matlab" else 0)
                first, last = axis == 0, axis == 2
            if last and not first:
                abundances = np.ascontiguousarray(A.transpose(2, 0, 1))
                notes.append(f"{ak} ({_shape(A)}, H x W x p) transposed to (p, H, W) = {abundances.shape}")
            elif first:
                abundances = A
                notes.append(f"{ak} ({_shape(A)}) read as (p, H, W)")
            else:
                raise ctx.error(f"abundances {ak!r} ({_shape(A)}) have no axis of the {p} endmembers of {ek!r}")
        elif A.ndim == 2:
            if p is None:
                p = A.shape[0]
            if A.shape[0] != p and A.shape[1] == p:
                A = A.T
                notes.append(f"{ak} stored as (N, p) = {_shape(num[ak])}: transposed to (p, N)")
            elif A.shape[0] != p:
                raise ctx.error(f"abundances {ak!r} ({_shape(A)}) have no axis of the {p} endmembers of {ek!r}")
            abundances = A
            if zhu:
                extras["pixel_order"] = "F"
                notes.append(f"{ak} ({_shape(A)}) kept as (p, N); Zhu's files store pixels in "
                             f"column-major order (extras['pixel_order'] = 'F'), applied when merged "
                             f"into an image")
            else:
                notes.append(f"{ak} ({_shape(A)}) kept as (p, N), row-major pixel order assumed when merged "
                             f"into an image")
        else:
            raise ctx.error(f"abundances {ak!r} must be (p, N) or a 3-D cube, got shape {A.shape}")
    if E is None:
        layout = "abundances"
    else:
        layout = "zhu-truth" if (zhu and ak is not None) else ("endmembers" if ak is None else "truth")
        notes.insert(0, f"{ek} ({_shape(E)}) read as endmembers (bands x p)"
                     + (f", names from {nk!r}" if names else ""))
    wl = None
    wk = ctx.wavelength_var()
    if wk is not None and E is not None:
        wl = wavelengths_nm(ctx.v[wk], f"wavelengths {wk!r}", notes)
        if wl is not None and wl.size != E.shape[0]:
            notes.append(f"{wk!r} has {wl.size} values for {E.shape[0]} bands: ignored")
            wl = None
    sk = next((k for k in num if SELECTION_NAME.match(k)), None)
    if sk is not None and E is not None:
        sel = np.asarray(num[sk]).ravel().astype(np.int64)
        if sel.size and sel.min() >= 1 and sel.max() <= E.shape[0]:
            extras["band_selection"] = sel - 1
            notes.append(f"{sk!r}: {sel.size} of {E.shape[0]} bands kept in the matching image (1-based in "
                         f"the file, 0-based in extras['band_selection']); applied when merged into an "
                         f"image with {sel.size} bands")
        else:
            notes.append(f"{sk!r} values {sel.min()}..{sel.max()} are not 1-based band numbers: ignored")
    used = {ek, ak, nk, wk, sk, *ctx.side_names()}
    ignored = [k for k, v in num.items() if k not in used and v.size > 1]
    if ignored:
        notes.append("ignored variables: " + ", ".join(f"{k} {tuple(num[k].shape)}" for k in ignored))
    return Scene(cube=None, endmembers=E, abundances=abundances, endmember_names=names, wavelengths=wl,
                 name=ctx.name, layout=layout, notes=notes, extras=extras)


# =============================================================================================
# USGS splib and pansharpening pairs
# =============================================================================================
#: Values below this flag deleted channels in USGS splib ``datalib`` matrices.
USGS_DELETED = -1e30


def _char_rows(names: Any) -> list[str]:
    if isinstance(names, str):
        return [names.strip()]
    if isinstance(names, list):
        return [str(n).strip() for n in names]
    arr = np.asarray(names)
    if arr.dtype.kind in "US":
        return [str(n).strip() for n in arr.ravel()]
    arr = np.atleast_2d(arr)
    return ["".join(chr(int(c)) for c in row if int(c) > 0).strip() for row in arr]


_USGS_META = re.compile(r"^(wavelength|resolution|data value|channel|bandpass|fwhm)", re.IGNORECASE)


def usgs_splib_scene(datalib: np.ndarray, names: Any, *, label: str, name: str = "usgs-splib") -> Scene:
    """Build the library Scene from a USGS ``datalib`` matrix and its ``names`` char rows.

    ``datalib`` is ``(L, 3 + M)``: 0-based column 0 is the wavelength (um), column 1 the
    resolution (um, used as FWHM), column 2 the channel number; the signatures are columns 3..
    (MATLAB's ``datalib(:, 4:end)``). Row ``j`` of ``names`` names column ``j``; the number of
    metadata columns is taken from the leading ``names`` rows that describe them ("Wavelengths in
    microns", "Resolution in microns", "Data value = channel number"), 3 when ``names`` is absent.
    Rows are sorted by wavelength; values below -1e30 flag deleted channels: in signatures they
    become NaN, and bands deleted in every signature are dropped.
    """
    data = np.asarray(datalib, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] < 4:
        raise LayoutError(f"{label}: datalib must be 2-D (bands, 3 + signatures), got shape {data.shape}")
    rows = _char_rows(names) if names is not None and len(names) else []
    notes: list[str] = []
    L, ncol = data.shape
    n_meta = 3
    if len(rows) == ncol:
        n_meta = 0
        while n_meta < len(rows) and _USGS_META.match(rows[n_meta]):
            n_meta += 1
        if n_meta < 2:
            raise LayoutError(f"{label}: 'names' rows do not describe datalib's metadata columns "
                              f"(first rows: {rows[:3]})")
    order = np.argsort(data[:, 0], kind="stable")
    if np.any(order != np.arange(L)):
        moved = int((order != np.arange(L)).sum())
        notes.append(f"rows sorted by wavelength ({moved} of {L} rows moved)")
        data = data[order]
    wl = data[:, 0] * 1000.0
    fwhm = data[:, 1] * 1000.0
    notes.append("wavelengths (column 0) and resolution (column 1, used as fwhm) converted from micrometres to nm")
    lib = data[:, n_meta:].copy()
    meta_flags = int((data[:, 1:n_meta] < USGS_DELETED).sum())
    deleted = lib < USGS_DELETED
    extras: dict[str, Any] = {}
    if deleted.any():
        lib[deleted] = np.nan
        notes.append(f"{int(deleted.sum())} deleted-channel values (< -1e30) set to NaN")
    if meta_flags:
        notes.append(f"{meta_flags} deleted-channel flags (< -1e30) in metadata columns 1..{n_meta - 1} "
                     f"ignored (signatures unaffected)")
    all_deleted = deleted.all(axis=1)
    if all_deleted.any():
        keep = ~all_deleted
        notes.append(f"dropped {int(all_deleted.sum())} bands deleted in every signature")
        lib, wl, fwhm = lib[keep], wl[keep], fwhm[keep]
        extras["kept_bands"] = np.flatnonzero(keep)
    m = lib.shape[1]
    if len(rows) == ncol:
        lib_names = rows[n_meta:]
    elif len(rows) == m:
        lib_names = rows
    else:
        lib_names = [f"signature {k + 1}" for k in range(m)]
        notes.append(f"'names' has {len(rows)} rows, expected {ncol} or {m}: signatures numbered instead")
    notes.append(f"USGS splib layout: datalib columns 0..{n_meta - 1} are metadata"
                 + (f" ({'; '.join(rows[:n_meta])})" if len(rows) == ncol else "")
                 + f", columns {n_meta}.. the {m} signatures named by the matching rows of 'names'")
    return Scene(cube=None, library=lib, library_names=lib_names, wavelengths=wl, fwhm=fwhm,
                 name=name, layout="usgs-splib", notes=notes, extras=extras)


def _usgs(ctx: _Ctx) -> Scene | None:
    dk = ctx.ci("datalib")
    if dk is None or not _is_num(ctx.v[dk]):
        return None
    nk = ctx.ci("names")
    return usgs_splib_scene(ctx.v[dk], ctx.v[nk] if nk else [], label=ctx.label, name=ctx.name)


def _pair_names(ctx: _Ctx) -> tuple[str, str] | None:
    ms = ctx.ci("I_MS", "MS")
    pan = ctx.ci("I_PAN", "PAN")
    if ms and pan and _is_num(ctx.v[ms]) and _is_num(ctx.v[pan]) and ctx.v[ms].ndim == 3 \
            and ctx.v[pan].ndim == 2:
        return ms, pan
    return None


def _pan_pair(ctx: _Ctx, pan_as_cube: bool = False) -> Scene | None:
    pair = _pair_names(ctx)
    if pair is None:
        return None
    mk, pk = pair
    ms, pan = ctx.v[mk], ctx.v[pk]
    if ctx.convention == "matlab":
        ms_cube = ms.transpose(2, 0, 1)
        how = f"{mk} ({_shape(ms)}, MATLAB H x W x B) transposed to (B, H, W)"
    else:
        ms_cube = ms
        how = f"{mk} ({_shape(ms)}) read as (B, H, W)"
    extras: dict[str, Any] = {}
    ratio = ctx.scalar(ctx.ci("ratio"))
    if ratio is not None:
        extras["ratio"] = int(ratio) if float(ratio).is_integer() else ratio
    sk = ctx.ci("sensor")
    if sk and isinstance(ctx.v[sk], str):
        extras["sensor"] = ctx.v[sk].strip()
    bits = ctx.scalar(ctx.ci("L"))
    if bits is not None:
        extras["bit_depth"] = int(bits)
    rgb = ctx.ci("RGB_indexes", "rgb_indexes", "rgb_bands")
    if rgb and _is_num(ctx.v[rgb]):
        extras["rgb_bands"] = [int(i) - 1 for i in np.asarray(ctx.v[rgb]).ravel()]
    notes = []
    desc = ", ".join(f"{k}={v}" for k, v in extras.items())
    if pan_as_cube:
        cube = pan[None]
        extras["ms_shape"] = list(ms_cube.shape)
        notes.append(f"pansharpening pair: loaded the PAN band {pk} ({_shape(pan)}) as a 1-band cube "
                     f"(key={pk!r}); {desc}")
    else:
        cube = ms_cube
        extras["pan"] = pan[None]
        extras["pan_variable"] = pk
        notes.append(f"pansharpening pair: {how}; PAN {pk} ({_shape(pan)}) in extras['pan'] as (1, H, W); "
                     f"{desc} (pass key={pk!r} to load the PAN as the cube)")
        if ratio is not None and (pan.shape[0] != ms_cube.shape[1] * ratio or pan.shape[1] != ms_cube.shape[2] * ratio):
            notes.append(f"PAN size {pan.shape} is not ratio x MS size {ms_cube.shape[1:]}")
    if "bit_depth" in extras:
        notes.append(f"data are {extras['bit_depth']}-bit DN (extras['bit_depth'])")
    scene = Scene(cube=cube, name=ctx.name, layout="pansharpening-pair", notes=notes, extras=extras)
    return scene if pan_as_cube else _with_side(ctx, scene, mk)


# =============================================================================================
# generic: 3-D cubes, abundance cubes, single matrices
# =============================================================================================
def _bands_of(ctx: _Ctx, arr: np.ndarray) -> int:
    return arr.shape[2] if ctx.convention == "matlab" else arr.shape[0]


def _abundance_axis(name: str, arr: np.ndarray) -> int | None:
    """Axis along which a 3-D array holds abundances (non-negative, sum to one), else None."""
    if arr.dtype.kind not in "fiu" or arr.size == 0:
        return None
    a = np.asarray(arr, dtype=np.float64)
    finite = np.isfinite(a)
    if not finite.any() or np.nanmin(a) < -1e-6:
        return None
    for axis in (0, 2):
        s = np.nansum(a, axis=axis)
        valid = finite.all(axis=axis)
        if valid.any() and np.allclose(s[valid], 1.0, atol=2e-3):
            return axis
    if ABUNDANCE_NAME.match(name) and arr.dtype.kind == "f":
        return 0
    return None


def _generic(ctx: _Ctx) -> Scene:
    num = ctx.numeric()
    high = [k for k, v in num.items() if v.ndim > 3]
    three = [k for k, v in num.items() if v.ndim == 3]
    abund = [k for k in three if _abundance_axis(k, num[k]) is not None]
    images = [k for k in three if k not in abund]
    if images:
        pick = images[0]
        why = ""
        if len(images) > 1:
            wk = ctx.wavelength_var()
            match = [k for k in images if wk and _bands_of(ctx, num[k]) == num[wk].size]
            if len(match) != 1:
                raise ctx.error("several 3-D arrays could be the image (" + ", ".join(
                    f"{k} {tuple(num[k].shape)}" for k in images) + ")"
                    + (f" and none or several match the {num[wk].size} wavelengths in {wk!r}" if wk else
                       " and no wavelength variable tells them apart")
                    + "; pass key= to choose one")
            pick = match[0]
            why = f" (its {_bands_of(ctx, num[pick])} bands match the wavelengths {wk!r})"
        return _image_scene(ctx, pick, others=[k for k in num if k != pick], why=why)
    if abund:
        if len(abund) > 1:
            raise ctx.error("several 3-D abundance arrays (" + ", ".join(abund) + "); pass key= to choose one")
        return _abundance_scene(ctx, abund[0], _abundance_axis(abund[0], num[abund[0]]))  # type: ignore[arg-type]
    if high:
        raise ctx.error(f"arrays with more than 3 dimensions ({', '.join(high)}) are not images; "
                        f"expected a 3-D cube or 2-D matrices")
    side = ctx.side_names()
    mats = [k for k, v in num.items() if v.ndim == 2 and min(v.shape) > 1 and k not in side]
    if len(mats) == 1:
        return _matrix_scene(ctx, mats[0])
    if len(mats) > 1:
        raise ctx.error("several 2-D matrices (" + ", ".join(f"{k} {tuple(num[k].shape)}" for k in mats)
                        + ") and no known layout combines them; pass key= to choose one")
    wk = ctx.wavelength_var()
    if wk is not None:
        return _wavelength_scene(ctx, wk)
    raise ctx.error("no image (3-D), pixel matrix, library or truth variable found")


def _image_scene(ctx: _Ctx, key: str, others: list[str], why: str = "") -> Scene:
    from hysupp.io.axes import to_lhw

    arr = ctx.v[key]
    if arr.ndim != 3:
        raise ctx.error(f"variable {key!r} has shape {arr.shape}: an image must be 3-D")
    convention = "HWL" if ctx.convention == "matlab" else "LHW"
    n_bands = None
    wk = ctx.wavelength_var()
    if wk is not None and wk != key and np.asarray(ctx.v[wk]).size in arr.shape:
        n_bands = int(np.asarray(ctx.v[wk]).size)
    source = "MATLAB H x W x L" if ctx.convention == "matlab" else "NumPy L x H x W"
    try:
        cube, note, _ = to_lhw(arr, layout=ctx.layout, convention=convention, n_bands=n_bands,
                               what=f"image {key!r} ({_shape(arr)}, {source} by convention)")
    except LayoutError as exc:
        raise LayoutError(f"{ctx.label}: {exc}") from None
    ctx.layout_used = True
    notes = [note + why]
    side = ctx.side_names()
    ignored = [k for k in others if k not in side and not (ctx.v[k].size == 1)]
    if ignored:
        notes.append("ignored variables: " + ", ".join(f"{k} {tuple(ctx.v[k].shape)}" for k in ignored))
    scene = Scene(cube=cube, name=ctx.name, layout="cube", notes=notes)
    return _with_side(ctx, scene, key)


def _abundance_scene(ctx: _Ctx, key: str, axis: int) -> Scene:
    arr = ctx.v[key]
    if axis == 0:
        A = arr
        notes = [f"{key!r} ({_shape(arr)}) read as abundances (p, H, W): non-negative"
                 + (", sums to one along axis 0" if np.allclose(np.nansum(arr, 0), 1, atol=2e-3)
                    else f"; channels-first because of its name {key!r}")]
    else:
        A = arr.transpose(2, 0, 1)
        notes = [f"{key!r} ({_shape(arr)}) read as abundances (H, W, p), sums to one along the last axis; "
                 f"transposed to (p, H, W)"]
    return Scene(cube=None, abundances=A, name=ctx.name, layout="abundances", notes=notes)


def _looks_like_wavelength_column(col: np.ndarray) -> bool:
    col = np.asarray(col, dtype=np.float64)
    if col.size < 3 or not np.all(np.isfinite(col)) or not np.all(np.diff(col) > 0):
        return False
    lo, hi = col.min(), col.max()
    return (0.3 <= lo and 0.9 <= hi <= 30) or (200 <= lo and hi <= 30000)


def _looks_like_responses(arr: np.ndarray) -> bool:
    """Rows that are spectral response functions: non-negative, each concentrated on a part of the
    columns (more than 40 % of the columns below 5 % of the row's peak) or a broad PAN row."""
    a = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(a).all() or a.min() < -1e-6 * max(1.0, float(np.abs(a).max())):
        return False
    peak = a.max(axis=1, keepdims=True)
    if np.any(peak <= 0):
        return False
    narrow = (a < 0.05 * peak).mean(axis=1) > 0.4
    return bool(narrow.mean() >= 0.5)


def _matrix_scene(ctx: _Ctx, key: str, forced: bool = False, role: str | None = None) -> Scene:
    arr = ctx.v[key]
    R, C = arr.shape
    notes: list[str] = []
    if C >= 2 and _looks_like_wavelength_column(arr[:, 0]):
        wl = wavelengths_nm(arr[:, 0], f"column 0 of {key!r}", notes)
        notes.insert(0, f"{key!r} ({_shape(arr)}) read as a spectral table: column 0 = wavelengths, "
                        f"columns 1..{C - 1} = spectra (bands as rows)")
        return Scene(cube=None, library=arr[:, 1:], wavelengths=wl, name=ctx.name, layout="spectral-table",
                     notes=notes)
    wk = ctx.wavelength_var()
    n_wl = None if wk is None else int(np.asarray(ctx.v[wk]).size)
    if role != "library" and R <= 16 and C >= 3 * R and (n_wl is None or n_wl == C) and (
            (SRF_NAME.match(key) and arr.min() >= 0) or (forced and _looks_like_responses(arr))):
        notes.append(f"{key!r} ({_shape(arr)}) read as a spectral response: {R} sensor bands (rows) x {C} "
                     f"hyperspectral bands, in extras['srf'] (not a library of {C} spectra with {R} bands; "
                     f"pass it as a library with load_library(path, key={key!r}))")
        if not forced:
            from hysupp.errors import LayoutWarning
            from hysupp.io._warn import warn_user

            warn_user(f"{ctx.label}: {notes[-1]}", LayoutWarning)
        return Scene(cube=None, name=ctx.name, layout="srf", notes=notes,
                     extras={"srf": arr, "matrix": arr, "variable": key})
    if role == "library" and n_wl is not None and n_wl == C != R:
        arr = arr.T
        notes.append(f"{key!r} stored as spectra x bands ({_shape(ctx.v[key])}): its {C} columns match the "
                     f"{n_wl} wavelengths in {wk!r}; transposed to bands x spectra")
        R, C = arr.shape
    if forced or R >= 20 or LIBRARY_NAME.search(key):
        notes.append(f"{key!r} ({_shape(arr)}) read as a spectral library: {R} bands (rows) x {C} spectra")
        names = None
        nk = next((k for k in ctx.v if NAMES_NAME.match(k) or k.lower() == "library_names"), None)
        if nk:
            names = as_names(ctx.v[nk])
            if names is not None and len(names) != C:
                names = None
            elif names is not None:
                notes.append(f"spectrum names from {nk!r}")
        scene = Scene(cube=None, library=arr, library_names=names, name=ctx.name, layout="library", notes=notes)
        if wk is not None:
            wl = wavelengths_nm(ctx.v[wk], f"wavelengths {wk!r}", scene.notes)
            if wl is not None and wl.size == R:
                scene.wavelengths = wl
            else:
                scene.notes.append(f"{wk!r} has {ctx.v[wk].size} values for {R} bands: ignored")
        return scene
    notes.append(f"{key!r} ({_shape(arr)}) is a 2-D matrix that is not an image, library or truth "
                 f"(only {R} rows); kept in extras['matrix']")
    return Scene(cube=None, name=ctx.name, layout="matrix", notes=notes,
                 extras={"matrix": arr, "variable": key})


def _wavelength_scene(ctx: _Ctx, key: str) -> Scene:
    notes = [f"{key!r} read as band centre wavelengths"]
    wl = wavelengths_nm(ctx.v[key], f"wavelengths {key!r}", notes)
    return Scene(cube=None, wavelengths=wl, name=ctx.name, layout="wavelengths", notes=notes)


# =============================================================================================
# side information (wavelengths, fwhm, bad bands, ENVI header struct)
# =============================================================================================
def _params_struct(ctx: _Ctx) -> dict[str, Any] | None:
    for k, val in ctx.v.items():
        if isinstance(val, dict) and any(f.lower() in ("map_info", "wavelength", "fwhm", "bbl") for f in val):
            return {f.lower(): x for f, x in val.items()}
    return None


def _with_side(ctx: _Ctx, scene: Scene, key: str | None) -> Scene:
    """Attach wavelengths, fwhm and georef from the file, and drop bad bands of the cube."""
    cube = scene.cube
    if cube is None:
        return scene
    L = cube.shape[0]
    notes = scene.notes
    params = _params_struct(ctx)
    wl = fwhm = bbl = None
    wk = ctx.wavelength_var()
    if wk is not None and wk != key:
        vals = np.asarray(ctx.v[wk], dtype=np.float64).ravel()
        if vals.size == L:
            wl = wavelengths_nm(vals, f"wavelengths {wk!r}", notes)
            notes.append(f"wavelengths from {wk!r}")
        else:
            notes.append(f"{wk!r} has {vals.size} values for {L} bands: ignored")
    punits = None
    if params is not None:
        punits = params.get("wavelength_units")
        punits = punits if isinstance(punits, str) else None
        if wl is None and _is_num(params.get("wavelength")) and params["wavelength"].size == L:
            wl = to_nm(params["wavelength"], punits, "wavelengths (params)", notes)
            notes.append("wavelengths from the ENVI header fields in 'params'")
    fk = ctx.fwhm_var()
    if fk is not None and np.asarray(ctx.v[fk]).size == L:
        fwhm = np.asarray(ctx.v[fk], dtype=np.float64).ravel()
        if wl is not None and np.nanmax(fwhm) < 1 and np.nanmax(wl) > 100:
            fwhm = fwhm * 1000.0
            notes.append(f"fwhm {fk!r} converted from micrometres to nm")
        notes.append(f"fwhm from {fk!r}")
    elif params is not None and _is_num(params.get("fwhm")) and params["fwhm"].size == L:
        fwhm = to_nm(params["fwhm"], punits or ("nm" if np.nanmax(params["fwhm"]) >= 1 else "um"),
                     "fwhm (params)", notes)
        notes.append("fwhm from the ENVI header fields in 'params'")
    bk = ctx.bbl_var()
    if bk is not None and np.asarray(ctx.v[bk]).size == L:
        bbl = np.asarray(ctx.v[bk]).ravel()
    elif params is not None and _is_num(params.get("bbl")) and params["bbl"].size == L:
        bbl = np.asarray(params["bbl"]).ravel()
    if params is not None and isinstance(params.get("map_info"), str) and scene.georef is None:
        from hysupp.io.envi import parse_map_info

        georef, msg = parse_map_info(params["map_info"])
        if georef is not None:
            scene.georef = georef
        if msg:
            notes.append(f"map info (params): {msg}")
    keep, reasons = bad_band_keep(cube, bbl)
    if not keep.all():
        scene.cube = drop_bands(cube, keep, reasons, notes)
        scene.extras["kept_bands"] = np.flatnonzero(keep)
        wl = None if wl is None else wl[keep]
        fwhm = None if fwhm is None else fwhm[keep]
    scene.wavelengths = wl
    scene.fwhm = fwhm
    scene._validate()
    return scene
