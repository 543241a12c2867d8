r"""Tiled pansharpening maths on ``dask.array``: the chunk-wise filters, the global statistics and
the per-method assembly behind :func:`hysupp.fuse_tiled` (``hysupp fuse --tile``).

The MS ``(L, h, w)`` and the PAN ``(1, H, W)`` (``H = r h``) are dask arrays whose chunks are
aligned (a PAN chunk of ``r t`` pixels covers an MS chunk of ``t`` pixels; :func:`tiled_fusion`
rechunks them so). The run (:mod:`hysupp.runs.fuse_tiled`) reads them from raster files, DataArrays
or arrays, chooses the scheduler and streams the result; this module holds only the method's
maths, so that it can be tested against the in-memory methods. Every filter runs chunk by chunk
with ``dask.array.map_overlap`` and a halo wide enough for its support, with the boundary
condition of the in-memory method at the scene borders, so that the tiled result equals the
untiled one (up to rounding) everywhere, borders included:

* the 23-tap polynomial expansion :math:`\mathcal I_{23}` (circular borders, as ``interp23tap``):
  halo of :data:`EXPAND_HALO_LR` MS pixels, ``boundary="periodic"`` -- each :math:`\times 2`
  stage reaches 11 samples of its own output grid, i.e. at most 6 samples of its input, so the
  whole cascade reaches less than :math:`6 (1 + 1/2 + 1/4 + \dots) = 12` MS pixels;
* the MTF-matched Gaussian filters (41 taps, replicate borders): halo of 20 PAN pixels rounded up
  to a multiple of the ratio, ``boundary="nearest"``; the MTF-GLP low-pass is staged as the
  filtered-and-decimated PAN (one map_overlap per distinct Nyquist gain), then the expansion.

The *global* statistics of a method (PAN equalisation, regression/injection gains) are computed
once over the whole scene with dask reductions (a first pass over the data) and handed to every
chunk through the methods' ``stats`` hook (``MTF_GLP.fuse(..., stats=)``, ``GS.inject``...), so
a chunk never sees statistics of its own window only.

Supported methods: MTF-GLP, MTF-GLP-HPM, MTF-GLP-FS, MTF-GLP-CBD (MRA; the regression gains of
FS/CBD in two passes: means, then centred cross sums) and GS, GIHS, BT (CS). Methods whose
statistics need a reduced-resolution regression (GSA, BDSD), the wavelet and box-filter MRA
methods and the networks are refused (they run in memory with :func:`hysupp.fuse`).

Example
-------
>>> import numpy as np
>>> import dask, dask.array as dsa
>>> from hysupp.fusion.pansharpening.mra import MTF_GLP
>>> rng = np.random.default_rng(0)
>>> ms, pan = rng.random((4, 40, 40)), rng.random((160, 160))
>>> fused, stats, info = tiled_fusion(MTF_GLP, dsa.from_array(ms), dsa.from_array(pan[None]), 4, "QB", 64,
...                                   lambda lazy: dask.compute(*lazy, scheduler="sync"))
>>> info["chunks"], sorted(stats)
([2, 2], ['offset', 'scale'])
>>> ref = MTF_GLP().fuse(ms, pan, ratio=4, sensor="QB").fused
>>> bool(np.allclose(fused.compute(scheduler="sync"), ref, rtol=1e-9, atol=1e-9))
True
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from hysupp.errors import InputError
from hysupp.fusion.pansharpening import common as C
from hysupp.io.xarray import require

__all__ = ["EXPAND_HALO_LR", "MTF_HALO", "TILED_METHODS", "expand_tiled", "global_stats", "glp_lowpass_tiled",
           "lowpass_tiled", "mtf_depth", "second_pass", "tile_chunks", "tiled_fusion"]

#: Halo (MS pixels) of the expansion for every ratio (see the module docstring; the 12-point Lagrange
#: interpolator of the other ratios reaches 6 MS pixels).
EXPAND_HALO_LR = 12
#: Half-support of the toolbox MTF kernels (PAN pixels).
MTF_HALO = C.MTF_TAPS // 2
#: Methods :func:`tiled_fusion` (and :func:`hysupp.fuse_tiled`) run tile-wise.
TILED_METHODS = ("MTF-GLP", "MTF-GLP-HPM", "MTF-GLP-FS", "MTF-GLP-CBD", "GS", "GIHS", "BT")
_REGRESSION = ("MTF-GLP-FS", "MTF-GLP-CBD")


# ---------------------------------------------------------------------------------------------- chunking
def tile_chunks(n: int, tile: int, minimum: int) -> tuple[int, ...]:
    """``n`` split in chunks of ``tile``, the remainder merged into the last chunk when smaller
    than ``minimum`` (a halo may not exceed a chunk)."""
    tile = max(int(tile), minimum)
    sizes = [tile] * (n // tile)
    rest = n - tile * len(sizes)
    if rest:
        if sizes and rest < minimum:
            sizes[-1] += rest
        else:
            sizes.append(rest)
    if min(sizes) < minimum:
        raise InputError(f"a side of {n} MS pixels is too small for the tiled fusion (halo {minimum} pixels); "
                         "fuse it in memory with hysupp.fuse")
    return tuple(sizes)


# ---------------------------------------------------------------------------------------------- stages
def expand_tiled(x: Any, ratio: int, hr_chunks: tuple[tuple[int, ...], tuple[int, ...]]) -> Any:
    """:func:`.common.expand` of a chunked ``(L, h, w)`` dask array, chunk by chunk (periodic halo)."""
    d = EXPAND_HALO_LR
    c = d * ratio

    def f(block: np.ndarray) -> np.ndarray:
        return C.expand(block, ratio)[:, c:-c, c:-c]

    return x.map_overlap(f, depth={0: 0, 1: d, 2: d}, boundary={0: "none", 1: "periodic", 2: "periodic"},
                         trim=False, chunks=(x.chunks[0],) + hr_chunks, dtype=np.float64, meta=np.array(()))


def mtf_depth(ratio: int) -> int:
    """The halo (PAN pixels) of the MTF filters at ``ratio``: :data:`MTF_HALO` rounded up to a multiple of ``ratio``."""
    return ratio * math.ceil(MTF_HALO / ratio)


def lowpass_tiled(pan: Any, ratio: int, gains: Any, *, decimate: bool, gauss: bool = False) -> Any:
    """The MTF filters of the one-band ``pan`` (``(1, H, W)`` dask, replicate borders) for each
    Nyquist gain of ``gains`` (``gauss``: the ``LPfilterGauss`` filter, gains ignored), decimated at
    the toolbox phase when ``decimate``: ``(n_gains, H, W)`` or ``(n_gains, H / r, W / r)``, every
    filter of a chunk in one task (the PAN chunk has one consumer)."""
    d = mtf_depth(ratio)
    g = np.atleast_1d(np.asarray(gains, dtype=np.float64))
    n = 1 if gauss else g.size

    def f(block: np.ndarray) -> np.ndarray:
        b = block.astype(np.float64)
        y = C.gauss_lowpass(b, ratio) if gauss else np.concatenate([C.mtf_lowpass(b, ratio, gv[None]) for gv in g])
        y = y[:, d:-d, d:-d]
        return C.decimate(y, ratio) if decimate else y

    spatial = pan.chunks[1:] if not decimate else tuple(tuple(s // ratio for s in c) for c in pan.chunks[1:])
    return pan.map_overlap(f, depth={0: 0, 1: d, 2: d}, boundary={0: "none", 1: "nearest", 2: "nearest"},
                           trim=False, chunks=((n,),) + spatial, dtype=np.float64, meta=np.array(()))


def _std(x: Any) -> Any:
    return x.std(ddof=1)


def global_stats(method: str, ms_up: Any, pan: Any, ratio: int, P_lp: Any = None) -> dict[str, Any]:
    """The lazy global statistics of ``method`` (dask scalars/vectors, one pass over the data)."""
    pan = pan.astype(np.float64)
    if method in _REGRESSION:
        return {"ms_up_mean": ms_up.mean(axis=(1, 2)), "lowpass_mean": P_lp.mean(axis=(1, 2)), "pan_mean": pan.mean()}
    if method in ("MTF-GLP", "MTF-GLP-HPM"):
        return {"ms_up_mean": ms_up.mean(axis=(1, 2)), "ms_up_std": ms_up.std(axis=(1, 2), ddof=1),
                "pan_mean": pan.mean(), "pan_lowpass_std": _std(lowpass_tiled(pan, ratio, 0.0, decimate=False,
                                                                               gauss=True))}
    I = ms_up.mean(axis=0)
    stats = {"pan_mean": pan.mean(), "pan_std": _std(pan), "intensity_mean": I.mean(), "intensity_std": _std(I)}
    if method == "GS":
        stats["band_means"] = ms_up.mean(axis=(1, 2))
    return stats


def second_pass(method: str, ms_up: Any, first: dict[str, np.ndarray], pan: Any = None,
                 P_lp: Any = None) -> dict[str, Any]:
    """Statistics about the first pass's means (a separate pass, so that no chunk of ``ms_up`` is
    held between two reductions): the regression gains of MTF-GLP-FS/CBD, the Gram-Schmidt gains of GS."""
    if method in _REGRESSION:
        Xc = ms_up - first["ms_up_mean"][:, None, None]
        Yc = P_lp - first["lowpass_mean"][:, None, None]
        if method == "MTF-GLP-CBD":     # cov(M~_l, P_l^LP) / var(P_l^LP)  (C.covariance_gain)
            return {"gains": (Xc * Yc).sum(axis=(1, 2)) / np.maximum((Yc * Yc).sum(axis=(1, 2)), C.EPS)}
        Pc = pan.astype(np.float64) - first["pan_mean"]     # cov(M~_l, P) / cov(P_l^LP, P)
        num, den = (Xc * Pc).sum(axis=(1, 2)), (Yc * Pc).sum(axis=(1, 2))
        return {"gains": num / np.where(np.abs(den) > C.EPS, den, C.EPS)}
    if method != "GS":
        return {}
    # cov(M_l, I) = sum(Mc_l I0) - mean(I0) sum(Mc_l), var(I) = sum(I0^2) - n mean(I0)^2 with
    # I0 = I - mean(I): one pass (centring I0 by its own lazy mean would hold every chunk until
    # that mean is known); mean(I0) is zero up to rounding, so the corrections are tiny.
    I0 = ms_up.mean(axis=0) - first["intensity_mean"]
    Mc = ms_up - first["band_means"][:, None, None]
    n = I0.size
    mI0 = I0.sum() / n
    cov = (Mc * I0[None]).sum(axis=(1, 2)) - mI0 * Mc.sum(axis=(1, 2))
    var = (I0 * I0).sum() - n * mI0 * mI0
    return {"intensity0_mean": mI0, "gains": cov / np.maximum(var, C.EPS)}


def glp_lowpass_tiled(pan: Any, ratio: int, gains: np.ndarray, a: np.ndarray, b: np.ndarray) -> Any:
    r"""The lazy MTF-GLP low-pass of the affine PANs :math:`a_l P + b_l`, staged as
    :math:`\mathcal I_{23}(a_l \mathcal D(h_l * P) + b_l \sum h_l)` (as :func:`.common.glp_lowpass_affine`)."""
    distinct, which = np.unique(gains, return_inverse=True)
    dc = np.array([C.toolbox_dc_gain(float(g), int(ratio)) for g in gains])
    decimated = lowpass_tiled(pan, ratio, distinct, decimate=True)      # (n_gains, h, w)
    low = decimated.map_blocks(lambda F: a[:, None, None] * F[which] + (b * dc)[:, None, None],
                               chunks=((len(a),),) + decimated.chunks[1:], dtype=np.float64, meta=np.array(()))
    return expand_tiled(low, ratio, pan.chunks[1:])


def _map(f: Any, *arrays: Any) -> Any:
    dsa = require("dask.array")
    return dsa.map_blocks(f, *arrays, dtype=np.float64, meta=np.array(()))


# ---------------------------------------------------------------------------------------------- assembly
def tiled_fusion(cls: Any, ms: Any, pan: Any, ratio: int, sensor: str | None, tile: int,
                 compute: Callable[[list[Any]], list[Any]]) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The lazy fused cube of the pansharpening method ``cls`` (one of :data:`TILED_METHODS`).

    ``ms`` ``(L, h, w)`` and ``pan`` ``(1, r h, r w)`` are dask arrays (any chunks: they are rechunked
    to aligned chunks of about ``tile`` PAN pixels, :func:`tile_chunks`); the inputs keep their dtype in
    the graph and every task computes in float64. The global statistics are computed with
    ``compute(list of lazy values) -> list of values`` (one or two passes over the data, on the run's
    scheduler). Returns ``(fused (L, r h, r w) float64 dask array, stats, info)``: the statistics handed
    to every chunk, and the chunking (``tile_pan_px``, ``chunks``, halos, sensor and Nyquist gains).
    """
    L, h, w = ms.shape
    C.check_ratio(ratio, cls.name)
    minimum = max(EXPAND_HALO_LR, mtf_depth(ratio) // ratio)
    t_lr = max(1, tile // ratio)
    lr_chunks = (tile_chunks(h, t_lr, minimum), tile_chunks(w, t_lr, minimum))
    hr_chunks = tuple(tuple(ratio * s for s in c) for c in lr_chunks)
    # the inputs keep their dtype in the graph (float32 rasters: half the bytes of the chunks Dask
    # holds between their consumers); every task computes in float64
    ms_d = ms.rechunk((L,) + lr_chunks)
    pan_d = pan.rechunk((1,) + hr_chunks)
    ms_up = expand_tiled(ms_d, ratio, hr_chunks)

    gains, used = C.sensor_gains(sensor, L)
    P_lp = None
    if cls.name in _REGRESSION:    # unmatched PAN: P_l = P
        P_lp = glp_lowpass_tiled(pan_d, ratio, gains, np.ones(L), np.zeros(L))
    lazy = global_stats(cls.name, ms_up, pan_d, ratio, P_lp)
    keys = list(lazy)
    values = compute([lazy[k] for k in keys])
    computed = {k: np.asarray(v, dtype=np.float64) for k, v in zip(keys, values)}
    lazy = second_pass(cls.name, ms_up, computed, pan_d, P_lp)
    if lazy:
        values = compute(list(lazy.values()))
        computed.update({k: np.asarray(v, dtype=np.float64) for k, v in zip(lazy, values)})
    info: dict[str, Any] = {"tile_pan_px": int(hr_chunks[0][0]), "chunks": [len(c) for c in hr_chunks],
                            "halo_ms_px": EXPAND_HALO_LR, "halo_pan_px": mtf_depth(ratio)}
    if cls.name in ("MTF-GLP", "MTF-GLP-HPM"):
        a, b = cls.matching(computed["ms_up_mean"], computed["ms_up_std"], computed["pan_mean"],
                            computed["pan_lowpass_std"])
        stats = {"scale": a, "offset": b}
        info.update(sensor=used, gnyq=gains.tolist())
        P_lp = glp_lowpass_tiled(pan_d, ratio, gains, a, b)
        fused = _map(lambda m, p, lp: cls.inject(m, p.astype(np.float64) * a[:, None, None] + b[:, None, None], lp),
                     ms_up, pan_d, P_lp)
    elif cls.name in _REGRESSION:
        g = computed["gains"]
        stats = {"gains": g}
        info.update(sensor=used, gnyq=gains.tolist())
        fused = _map(lambda m, p, lp: cls.inject(m, p.astype(np.float64), lp, g), ms_up, pan_d, P_lp)
    else:
        stats = {k: (float(v) if v.ndim == 0 else v) for k, v in computed.items()}
        fused = ms_up.map_blocks(lambda m, p: cls.inject(m, p.astype(np.float64), stats), pan_d, dtype=np.float64,
                                 meta=np.array(()))
    return fused, stats, info
