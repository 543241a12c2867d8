"""Fusion pair files: :func:`save_fusion_pair` / :func:`load_fusion_pair`, and the ``lms`` image.

:func:`save_fusion_pair` writes a :class:`~hysupp.pair.FusionPair` to ``.npz`` (channels first:
``gt``, ``ms``, ``lms``, ``pan`` for pansharpening -- PanCollection's names, ``lms`` being the
``interp23tap``-upsampled ``ms`` -- or ``gt``, ``hs``, ``ms`` for HS-MS), ``.mat`` (the same names
in MATLAB's ``(H, W, C)`` order, PAN as ``(H, W)``) and ``.h5`` (PanCollection layout
``N x C x H x W`` with ``N = 1``). Each file embeds the protocol as a JSON string
(``protocol_json``) and the scene metadata (``layout_json``: wavelengths, georef, names, how ``lms``
was made); :func:`load_fusion_pair` reads them back (and item ``index`` of a PanCollection ``.h5``
without a protocol).

``lms`` (:func:`upsampled_low`, :func:`lms_operator`) is the low input interpolated to the grid of
the high one: ``interp23tap`` on the protocol's decimation phase for power-of-two ratios (as
PanCollection's files), bicubic otherwise. :func:`pair_arrays` gives the arrays under their file
names.

Example
-------
>>> import numpy as np, os, tempfile
>>> from hysupp.io.pair import load_fusion_pair, save_fusion_pair, upsampled_low
>>> pair = _example_pair()
>>> upsampled_low(pair).shape
(4, 8, 8)
>>> back = load_fusion_pair(save_fusion_pair(pair, os.path.join(tempfile.mkdtemp(), "pair.mat")))
>>> back.kind, back.ratio, back.high.shape, back.protocol == pair.protocol
('pansharpening', 4, (1, 8, 8), True)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.io.atomic import atomic_output, check_target
from hysupp.pair import KINDS, FusionPair, attach_protocol, check_ratio
from hysupp.physics.operator import LinearOperator
from hysupp.physics.sampling import Upsampling
from hysupp.records import to_jsonable
from hysupp.scene import Georef, Scene

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load_fusion_pair", "lms_operator", "pair_arrays", "save_fusion_pair",
           "upsampled_low"]

FORMAT_NAME = "hysupp-fusion-pair"
FORMAT_VERSION = 1


def _example_pair() -> FusionPair:
    """A small pansharpening pair for the examples."""
    rng = np.random.default_rng(0)
    return FusionPair(Scene(cube=rng.random((4, 8, 8))), Scene(cube=rng.random((4, 2, 2))),
                      Scene(cube=rng.random((1, 8, 8))), 4, {"protocol": "example", "phase": 2})


# =============================================================================================
# the lms image
# =============================================================================================
def lms_operator(pair: FusionPair, method: str | None = None) -> LinearOperator:
    """The interpolator that makes ``lms`` (``pair.low`` upsampled to the grid of ``pair.high``).

    ``interp23tap`` (PanCollection's ``lms``, power-of-two ratios) on the decimation phase of
    the protocol, otherwise bicubic (pixel-centre alignment); ``method`` forces one.
    """
    r = pair.ratio
    pow2 = 2 ** round(math.log2(r)) == r
    m = method or ("interp23tap" if pow2 else "bicubic")
    phase = pair.protocol.get("phase")
    if m == "interp23tap":
        return Upsampling(r, m, phase=phase if isinstance(phase, int) and 0 <= phase < r else None)
    return Upsampling(r, m)


def upsampled_low(pair: FusionPair, method: str | None = None) -> np.ndarray:
    """``pair.low`` interpolated to the size of ``pair.high`` (``lms``), see :func:`lms_operator`."""
    cube = pair.low.require_cube()
    return np.asarray(lms_operator(pair, method).forward(cube)).astype(cube.dtype, copy=False)


def pair_arrays(pair: FusionPair) -> dict[str, np.ndarray]:
    """The arrays of a pair under their file names, channels first.

    Pansharpening: ``gt`` (if a reference), ``ms``, ``lms``, ``pan``; HS-MS: ``gt``, ``hs``,
    ``ms``.
    """
    out: dict[str, np.ndarray] = {}
    if pair.reference is not None:
        out["gt"] = pair.reference.require_cube()
    if pair.kind == "pansharpening":
        out["ms"] = pair.low.require_cube()
        out["lms"] = upsampled_low(pair)
        out["pan"] = pair.high.require_cube()
    else:
        out["hs"] = pair.low.require_cube()
        out["ms"] = pair.high.require_cube()
    return out


# =============================================================================================
# files
# =============================================================================================
_ROLES = {"pansharpening": {"gt": "reference", "ms": "low", "pan": "high"},
          "hs-ms": {"gt": "reference", "hs": "low", "ms": "high"}}


def _scene_meta(s: Scene | None) -> Any:
    if s is None:
        return None
    return {"name": s.name, "wavelengths": None if s.wavelengths is None else s.wavelengths.tolist(),
            "fwhm": None if s.fwhm is None else s.fwhm.tolist(),
            "georef": None if s.georef is None else s.georef.to_dict(),
            "band_names": s.extras.get("band_names"), "notes": list(s.notes)}


def _layout(pair: FusionPair, fmt: str) -> dict[str, Any]:
    lay = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": pair.kind, "ratio": pair.ratio,
           "file_format": fmt, "roles": _ROLES[pair.kind],
           "scenes": {"reference": _scene_meta(pair.reference), "low": _scene_meta(pair.low),
                      "high": _scene_meta(pair.high)}}
    if pair.kind == "pansharpening":
        lay["lms"] = lms_operator(pair).to_dict()
    if fmt == "mat":
        lay["axes"] = "MATLAB (H, W, C); pan (H, W)"
    elif fmt == "h5":
        lay["axes"] = "(N, C, H, W), N = 1"
    else:
        lay["axes"] = "(C, H, W)"
    return to_jsonable(lay)


def save_fusion_pair(pair: FusionPair, path: str | Path, overwrite: bool = False) -> Path:
    """Write a pair to ``.npz``, ``.mat`` or ``.h5`` (atomic; never overwrites unless asked).

    ============ ======================================================= =========================
    format       arrays                                                  axes
    ============ ======================================================= =========================
    ``.npz``     pansharpening: ``gt``, ``ms``, ``lms``, ``pan``;        ``(C, H, W)``
                 HS-MS: ``gt``, ``hs``, ``ms``
    ``.mat``     the same names (MATLAB toolboxes' order)                ``(H, W, C)``, pan ``(H, W)``
    ``.h5``      PanCollection: the same names                           ``(N, C, H, W)``, ``N = 1``
    ============ ======================================================= =========================

    ``gt`` is absent for a full-resolution pair; ``lms`` is ``ms`` upsampled with ``interp23tap``
    (bicubic for ratios that are not powers of two). Every file also holds ``protocol_json`` (the
    protocol, a JSON string), ``layout_json`` (wavelengths, georef, names, the ``lms``
    interpolator), ``kind`` and ``ratio`` (``.h5``: as root attributes).

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    InputError
        Unsupported extension.

    >>> import tempfile, os
    >>> out = save_fusion_pair(_example_pair(), os.path.join(tempfile.mkdtemp(), "pair.npz"))
    >>> sorted(np.load(out).files)
    ['gt', 'kind', 'layout_json', 'lms', 'ms', 'pan', 'protocol_json', 'ratio']
    """
    if not isinstance(pair, FusionPair):
        raise InputError(f"save_fusion_pair takes a FusionPair, got {type(pair).__name__}")
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".npz", ".mat", ".h5", ".hdf5"):
        raise InputError(f"{str(p)!r}: fusion pairs are written as .npz, .mat or .h5, "
                         f"got {suffix or 'no extension'!r}")
    check_target(p, overwrite)
    arrays = pair_arrays(pair)
    protocol_json = json.dumps(to_jsonable(pair.protocol))
    fmt = {".npz": "npz", ".mat": "mat"}.get(suffix, "h5")
    layout_json = json.dumps(_layout(pair, fmt))
    with atomic_output(p, overwrite) as tmp:
        if fmt == "npz":
            np.savez_compressed(tmp, protocol_json=np.array(protocol_json), layout_json=np.array(layout_json),
                                kind=np.array(pair.kind), ratio=np.array(pair.ratio), **arrays)
        elif fmt == "mat":
            import scipy.io as sio

            mat = {}
            for k, v in arrays.items():
                mat[k] = v[0] if (k == "pan") else np.moveaxis(v, 0, -1)
            mat.update(protocol_json=protocol_json, layout_json=layout_json, kind=pair.kind,
                       ratio=float(pair.ratio))
            sio.savemat(tmp, mat, do_compression=True, oned_as="column")
        else:
            import h5py

            with h5py.File(tmp, "w") as fh:
                for k, v in arrays.items():
                    fh.create_dataset(k, data=v[None])
                fh.attrs["protocol_json"] = protocol_json
                fh.attrs["layout_json"] = layout_json
                fh.attrs["kind"] = pair.kind
                fh.attrs["ratio"] = pair.ratio
    return p


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray):
        if v.dtype.kind in ("U", "S"):
            return _text(v.reshape(-1)[0] if v.size == 1 else "".join(map(str, v.reshape(-1))))
        if v.dtype == object and v.size == 1:
            return _text(v.reshape(-1)[0])
    return str(v)


def _restore_scene(cube: np.ndarray, meta: Any, role: str, protocol: dict) -> Scene:
    meta = meta or {}
    g = meta.get("georef")
    georef = None
    if g:
        georef = Georef(crs=g.get("crs"), transform=None if g.get("transform") is None else tuple(g["transform"]),
                        nodata=g.get("nodata"))
    extras: dict[str, Any] = {"fusion_role": role, "protocol": protocol}
    if meta.get("band_names") is not None:
        extras["band_names"] = meta["band_names"]
    return Scene(cube=np.ascontiguousarray(cube), wavelengths=meta.get("wavelengths"), fwhm=meta.get("fwhm"),
                 georef=georef, name=meta.get("name") or role, layout=f"fusion:{role}",
                 notes=list(meta.get("notes") or []), extras=extras)


def _pair_from_arrays(arrays: dict[str, np.ndarray], protocol: dict, layout: dict | None, path: Path,
                      kind: str | None, ratio: Any) -> FusionPair:
    if kind is None:
        kind = "hs-ms" if "hs" in arrays else "pansharpening"
    if kind not in KINDS:
        raise InputError(f"{str(path)!r}: unknown pair kind {kind!r}")
    need = ("ms", "pan") if kind == "pansharpening" else ("hs", "ms")
    missing = [k for k in need if k not in arrays]
    if missing:
        raise InputError(f"{str(path)!r}: a {kind} pair needs arrays {', '.join(need)}; missing "
                         f"{', '.join(missing)} (found {', '.join(sorted(arrays))})")
    low_key, high_key = need
    low, high = arrays[low_key], arrays[high_key]
    if ratio is None:
        ratio = high.shape[-1] / low.shape[-1]
    scenes = (layout or {}).get("scenes", {})
    ref = None
    if "gt" in arrays:
        ref = _restore_scene(arrays["gt"], scenes.get("reference"), "reference", protocol)
    lo = _restore_scene(low, scenes.get("low"), "low", protocol)
    hi = _restore_scene(high, scenes.get("high"), "high", protocol)
    return FusionPair(ref, lo, hi, check_ratio(ratio), protocol, kind)


def load_fusion_pair(path: str | Path, *, index: int = 0) -> FusionPair:
    """Read a pair written by :func:`save_fusion_pair` (``.npz``, ``.h5``, ``.mat``).

    A PanCollection ``.h5`` (``gt``, ``ms``, ``lms``, ``pan`` of shape ``(N, C, H, W)``) without an
    embedded protocol is read too: item ``index``, with a protocol saying where it came from.
    ``lms`` is not read back (it is recomputed by :func:`upsampled_low`).

    Raises
    ------
    InputError
        Missing file, unsupported extension, missing arrays, ``index`` out of range.

    >>> import tempfile, os
    >>> pair = _example_pair()
    >>> back = load_fusion_pair(save_fusion_pair(pair, os.path.join(tempfile.mkdtemp(), "p.h5")))
    >>> back.kind, back.ratio, back.low.shape, back.protocol == pair.protocol
    ('pansharpening', 4, (4, 2, 2), True)
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: {str(p)!r}")
    suffix = p.suffix.lower()
    names = ("gt", "ms", "pan", "hs")
    if suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            if "protocol_json" not in z.files:
                raise InputError(f"{str(p)!r} is not a hysupp fusion pair (no protocol_json; arrays: "
                                 f"{', '.join(z.files)})")
            protocol = json.loads(_text(z["protocol_json"]))
            layout = json.loads(_text(z["layout_json"])) if "layout_json" in z.files else None
            kind = _text(z["kind"]) if "kind" in z.files else None
            ratio = int(z["ratio"]) if "ratio" in z.files else None
            arrays = {k: np.asarray(z[k]) for k in names if k in z.files}
    elif suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(p, "r") as fh:
            found = {k: fh[k] for k in names if k in fh}
            if not found:
                raise InputError(f"{str(p)!r}: no fusion arrays (gt, ms, pan, hs); datasets: {', '.join(fh.keys())}")
            n = {k: v.shape[0] for k, v in found.items()}
            if any(v.ndim != 4 for v in found.values()):
                raise InputError(f"{str(p)!r}: expected (N, C, H, W) datasets, got "
                                 f"{ {k: v.shape for k, v in found.items()} }")
            n_items = min(n.values())
            if not 0 <= index < n_items:
                raise InputError(f"{str(p)!r} holds {n_items} item(s); index {index} is out of range")
            arrays = {k: np.asarray(v[index]) for k, v in found.items()}
            attrs = dict(fh.attrs)
        if "protocol_json" in attrs:
            protocol = json.loads(_text(attrs["protocol_json"]))
            layout = json.loads(_text(attrs["layout_json"])) if "layout_json" in attrs else None
            kind = _text(attrs["kind"]) if "kind" in attrs else None
            ratio = int(attrs["ratio"]) if "ratio" in attrs else None
        else:
            protocol = {"protocol": "unknown (foreign file)", "source": {"file": str(p), "index": index},
                        "note": "no embedded protocol; ratio inferred from the array sizes"}
            layout, kind, ratio = None, None, None
    elif suffix == ".mat":
        import scipy.io as sio

        raw = sio.loadmat(p)
        if "protocol_json" not in raw:
            raise InputError(f"{str(p)!r} is not a hysupp fusion pair (no protocol_json); read it with hysupp.load")
        protocol = json.loads(_text(raw["protocol_json"]))
        layout = json.loads(_text(raw["layout_json"])) if "layout_json" in raw else None
        kind = _text(raw["kind"]) if "kind" in raw else None
        ratio = int(np.asarray(raw["ratio"]).ravel()[0]) if "ratio" in raw else None
        arrays = {}
        for k in names:
            if k in raw:
                v = np.asarray(raw[k])
                arrays[k] = v[None] if v.ndim == 2 else np.moveaxis(v, -1, 0)
    else:
        raise InputError(f"{str(p)!r}: fusion pairs are read from .npz, .h5 or .mat, "
                         f"got {suffix or 'no extension'!r}")
    pair = _pair_from_arrays(arrays, protocol, layout, p, kind, ratio)
    return attach_protocol(pair)
