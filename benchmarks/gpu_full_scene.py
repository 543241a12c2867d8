"""Issue 21: the library unmixing methods on DC1 and on a full-size synthetic scene, on CUDA and on CPU.

**Status: written and dry-run on CPU only. The GPU run has not been done in this session** (no GPU
was lent to it); no GPU number below is measured, and the targets are unassessed until the script is
run on an H100/H200 and its JSON committed.

For each of FaSUn, SUnS, MiSiSUn (a torch path: ``device="cuda"`` when CUDA is available and
``--device`` allows it, else ``device="cpu"`` with ``--threads`` torch threads) and SUnSAL,
CLSUnSAL, S2WSU, SUnAA, FCLS (CPU only: ``n_threads=--threads`` pixel chunks; CLSUnSAL has no
``n_threads`` and uses the BLAS threads of the environment), the script runs

(a) **DC1**: :func:`hysupp.datasets.builtin_scene` ``("dc1")`` (224 bands, 75 x 75 px, its 240-atom
    USGS 1995 library as the ``hysupp-semi`` suite uses it, 5 true atoms), white noise at 30 dB
    drawn as HySUPP does (``add_awgn(..., seed=RandomState(0))``), float32; every method at its
    reference iteration count (FaSUn family ``T = 10 000``; SUnSAL / CLSUnSAL ``max_iter`` 1000,
    S2WSU 60 blocks, SUnAA ``T`` 500, with the methods' default ``tol``) and its 30 dB ``per_snr``
    settings; ``p = 5``; FCLS gets the 5 true endmembers;
(b) **full scene**: a synthetic 512 x 614 px (3.1e5 px), 224-band scene generated in code (seed 0)
    from the bundled USGS 1995 library (all 498 atoms): ``p = 14`` atoms drawn at random, each at
    least 5 degrees from the others; abundances the softmax of 14 smooth Gaussian random fields (a
    Gaussian filter of max(H, W) / 32 = 19.2 px on white noise, standardised, times 3), so
    sum-to-one, non-negative and spatially smooth (S2WSU's neighbourhood weights see structure);
    ``Y = E A`` + white noise at 30 dB; the same settings as (a).

Each (scene, method) first runs two short **probes** (``tol = 0``: FaSUn family 100 and 200
iterations, SUnSAL / CLSUnSAL 10 and 20, S2WSU 1 and 2 blocks, SUnAA 5 and 10; FCLS none) whose
difference gives the marginal time per iteration (objective and residual checks included) and the
set-up time; the full run is then made only when its projection ``setup + per-iteration x
iterations`` (an upper bound where the method's default ``tol`` stops it earlier) is at most
``--cap-s`` (60 s, the full-scene target: a run projected beyond it misses the target anyway) and fits the global time budget (``--budget-s``, 420 s from the start of the
script, checked before every run: what does not fit is skipped and recorded as such). A run that
was not made reports its projection and the probe's result (``status: "projected"``).

Recorded per (scene, method): device, wall time, iterations, time per iteration (wall / iterations
of the full run, and the probes' marginal time), peak GPU memory (``torch.cuda.max_memory_allocated``
after ``reset_peak_memory_stats``) for CUDA runs and the peak resident memory for every run (the
high-water mark ``VmHWM``, reset before each run through ``/proc/self/clear_refs``), the SRE (dB)
against the truth (HySUPP's convention: the true atoms' rows of the library abundances ``B A`` or
``X``; FCLS: its abundances), and per method a **parity** check on a 20 x 20 crop of DC1 at rows
20, columns 5 (all 5 materials present; FaSUn family 100 iterations, the others 50 / 50 / 2 blocks
/ 20), in float32 (the default) and in float64: ``cuda`` = max abs difference of the library
abundances between ``device="cuda"`` and ``device="cpu"`` (torch methods, when CUDA is available),
``threads`` = the same between 1 thread and ``--threads`` threads (every method with a thread
setting), with the crop SRE of both sides. The FaSUn family is nonconvex and sensitive to float32
rounding: on CPU alone, 1 vs 2 torch threads (a different GEMM blocking) already differ by 0.07 in
``A`` and 0.48 in ``B`` after 5 iterations on this crop (0.04 / 0.06 after 100; SRE 15.9 vs 16.3 dB),
while float64 agrees exactly; so the float64 difference is the parity test, and the float32 one is
judged through the SREs (as ``benchmarks/gpu_check.py`` does). Writes ``benchmarks/results/gpu_full_scene_<device>.json`` (``<device>``: ``h100``,
``h200``, another GPU's name, or ``cpu``) with the targets (DC1 FaSUn ``T = 10 000`` <= 2 s; each
method on the full scene <= 60 s, on one H100/H200), met / not met (``null`` when the run is not on
a GPU), ``uptime`` before and after.

Estimate on one H100 with 16 CPU cores (from the work per iteration; not measured): start-up
(imports, CUDA context, the two scenes: 6 s here) ~25 s; parity ~15 s; DC1: FaSUn family 3 x ~16 s
(1.5 ms/iteration measured earlier on an H200, launch-bound; probes included) + CPU methods ~30 s;
full scene: the FaSUn family does ~4.6 GFLOP and ~1.5 GB of memory traffic per iteration (0.5 ms at
3 TB/s) + ~90 kernel launches (~0.5 ms), and 100 float64 objectives on the host (~0.3 s each: the
0.28 GB cube copied back and converted), so ~40 s each, 3 x 45 s with the probes; the CPU methods
cost 3.2-3.4 s per iteration on one core at 240 atoms and 3.6e5 px
(``benchmarks/results/full_scene_cpu.json``), so ~0.5-1 s at 498 atoms on 16 cores: their full
runs project beyond 60 s and only their probes run (SUnSAL, CLSUnSAL 30 iterations ~25 s each;
S2WSU, SUnAA, FCLS ~10 s each). Total ~5.5-6.5 min; the 420 s budget guard (checked before each
run; the longest single run after it is a ~30 s probe) keeps it under 8 minutes whatever the
estimate's error.

``--dry-run``: the 20 x 20 crop of DC1, a 20 x 20 synthetic scene, libraries of 30 atoms (the true
ones included), every method at 5 iterations (S2WSU one block of 5), probes of 1 and 2, parity at 5:
seconds on CPU, every code path but the CUDA calls.

Usage::

    python benchmarks/gpu_full_scene.py                             # on the GPU machine
    python benchmarks/gpu_full_scene.py --methods FaSUn SUnS --device cuda --scenes dc1
    python benchmarks/gpu_full_scene.py --dry-run --out /tmp/gpu_full_scene_dry.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import uptime  # noqa: E402

SNR_DB = 30.0
TORCH_METHODS = ("FaSUn", "SUnS", "MiSiSUn")
#: per method: the iteration parameter, the probe sizes, the parity-crop iterations (``None``: not iterative)
METHODS: dict[str, dict[str, Any]] = {
    "FaSUn": {"iter": "T", "probes": (100, 200), "parity": 100},
    "SUnS": {"iter": "T", "probes": (100, 200), "parity": 100},
    "MiSiSUn": {"iter": "T", "probes": (100, 200), "parity": 100},
    "SUnSAL": {"iter": "max_iter", "probes": (10, 20), "parity": 50},
    "CLSUnSAL": {"iter": "max_iter", "probes": (10, 20), "parity": 50},
    "S2WSU": {"iter": "outer_iters", "probes": (1, 2), "parity": 2},
    "SUnAA": {"iter": "T", "probes": (5, 10), "parity": 20},
    "FCLS": {"iter": None, "probes": None, "parity": None},
}
TARGET_DC1_FASUN_S = 2.0
TARGET_FULL_SCENE_S = 60.0
FULL_SHAPE = (512, 614)
FULL_P = 14
MIN_ANGLE_DEG = 5.0
#: the corner of the DC1 crops: at (20, 5) a 20 x 20 window holds all 5 materials (A A^T of full rank;
#: in the top-left corner it is singular, and float32 rounding differences grow by orders of magnitude)
CROP_AT = (20, 5)


# ------------------------------------------------------------------------------------ scenes
def dc1(crop: int | None, n_atoms: int | None, at: tuple[int, int] = CROP_AT) -> dict[str, Any]:
    """DC1 at 30 dB (module docstring), optionally cropped to ``crop x crop`` px from ``at`` and its
    library cut to ``n_atoms`` atoms (the true ones first)."""
    from hysupp.datasets import builtin_scene
    from hysupp.physics import add_awgn

    sc = builtin_scene("dc1")
    L, H, W = sc.cube.shape
    Y = add_awgn(np.asarray(sc.cube, dtype=np.float64).reshape(L, -1), SNR_DB, seed=np.random.RandomState(0))
    Y = Y.reshape(L, H, W)
    A = np.asarray(sc.abundances, dtype=np.float64)
    D = np.asarray(sc.library, dtype=np.float32)
    idx = np.asarray(sc.library_index)
    if crop:
        (i, j), H, W = at, crop, crop
        Y, A = Y[:, i:i + crop, j:j + crop], A[:, i:i + crop, j:j + crop]
    if n_atoms and n_atoms < D.shape[1]:
        rest = [j for j in range(D.shape[1]) if j not in set(idx.tolist())][: n_atoms - len(idx)]
        D, idx = D[:, list(idx) + rest], np.arange(len(idx))
    return {"name": "dc1", "Y": np.ascontiguousarray(Y.reshape(L, -1), dtype=np.float32), "D": D,
            "E": np.asarray(sc.endmembers, dtype=np.float32), "A": A.reshape(A.shape[0], -1), "idx": idx,
            "shape": (H, W), "p": len(idx),
            "info": {"source": "hysupp.datasets.builtin_scene('dc1')", "snr_db": SNR_DB, "noise_seed": 0,
                     "shape": [L, H, W], "library_atoms": int(D.shape[1]), "p": int(len(idx)), "dtype": "float32"}}


def synthetic(shape: tuple[int, int], n_atoms: int | None, p: int, seed: int = 0) -> dict[str, Any]:
    """The synthetic full scene of the module docstring (``shape`` px, ``p`` of the USGS 1995 atoms)."""
    from scipy.ndimage import gaussian_filter

    from hysupp.datasets import named_library

    rng = np.random.default_rng(seed)
    lib = np.asarray(named_library("usgs1995").library, dtype=np.float64)
    L, M = lib.shape
    if n_atoms and n_atoms < M:
        lib = lib[:, np.sort(rng.choice(M, n_atoms, replace=False))]
        M = n_atoms
    unit = lib / np.linalg.norm(lib, axis=0)
    chosen: list[int] = []
    for j in rng.permutation(M):        # random atoms, each >= MIN_ANGLE_DEG from those kept
        if len(chosen) == p:
            break
        cos = unit[:, chosen].T @ unit[:, j] if chosen else np.zeros(0)
        if np.all(cos < math.cos(math.radians(MIN_ANGLE_DEG))):
            chosen.append(int(j))
    if len(chosen) < p:
        raise ValueError(f"only {len(chosen)} of the {M} atoms are {MIN_ANGLE_DEG} degrees apart; need p = {p}")
    idx = np.asarray(chosen)
    H, W = shape
    sigma = max(H, W) / 32
    z = gaussian_filter(rng.standard_normal((p, H, W)), sigma=(0, sigma, sigma), mode="wrap").reshape(p, -1)
    z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
    e = np.exp(3.0 * (z - z.max(axis=0)))
    A = e / e.sum(axis=0)
    E = lib[:, idx].astype(np.float32)
    Y = E @ A.astype(np.float32)
    noise_sd = float(np.sqrt(np.mean(Y.astype(np.float64) ** 2) / 10 ** (SNR_DB / 10)))
    Y += noise_sd * rng.standard_normal(Y.shape, dtype=np.float32)
    return {"name": "full", "Y": Y, "D": lib.astype(np.float32), "E": E, "A": A, "idx": idx, "shape": (H, W),
            "p": p, "info": {"source": "synthetic from named_library('usgs1995')", "seed": seed, "snr_db": SNR_DB,
                             "shape": [L, H, W], "pixels": H * W, "library_atoms": int(M), "p": p,
                             "library_index": idx.tolist(), "min_angle_deg": MIN_ANGLE_DEG,
                             "abundances": "softmax(3 z), z = Gaussian-filtered white noise "
                                           f"(sigma {sigma:g} px), standardised", "dtype": "float32"}}


# ------------------------------------------------------------------------------------ measuring
def _rss_now() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> bool:
    """Reset the resident high-water mark (Linux >= 4.0); False where it cannot be."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sre(ref: np.ndarray, est: np.ndarray) -> float:
    ref, est = np.asarray(ref, dtype=np.float64), np.asarray(est, dtype=np.float64)
    return float(10 * np.log10(np.sum(ref ** 2) / max(float(np.sum((ref - est) ** 2)), 1e-300)))


def true_rows(res: Any, idx: np.ndarray) -> np.ndarray:
    """The library abundances of the true atoms, ``(p, N)`` (``B[idx] A`` without forming ``B A``)."""
    if res.over_library:
        return np.asarray(res.abundances)[idx]
    return np.asarray(res.library_coefficients)[idx] @ np.asarray(res.abundances)


class Runner:
    """Runs the methods under one device policy, thread count and global time budget."""

    def __init__(self, device: str, threads: int, budget_s: float, cap_s: float, t_start: float) -> None:
        import torch

        self.torch = torch
        self.cuda = device != "cpu" and torch.cuda.is_available()
        self.threads, self.budget_s, self.cap_s, self.t_start = threads, budget_s, cap_s, t_start

    def elapsed(self) -> float:
        return time.perf_counter() - self.t_start

    def device_of(self, name: str) -> str:
        return "cuda" if (self.cuda and name in TORCH_METHODS) else "cpu"

    def params(self, name: str, scene: dict[str, Any], **over: Any) -> dict[str, Any]:
        from hysupp.methods import get_method

        cls = get_method(name)
        names = {p.name for p in cls.params}
        kw: dict[str, Any] = dict(getattr(cls, "per_snr", {}).get(int(SNR_DB), {}))
        if "n_threads" in names:
            kw["n_threads"] = self.threads
        if "device" in names:
            kw["device"] = self.device_of(name)
        kw.update(over)
        return kw

    def run(self, name: str, scene: dict[str, Any], params: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """One call of ``unmix``: its record and the result."""
        from hysupp.methods import get_method

        torch = self.torch
        cls = get_method(name)
        m = cls(**params)
        on_cuda = params.get("device") == "cuda"
        if on_cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        reset = _reset_peak_rss()
        rss0 = _rss_now()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name == "FCLS":
                res = m.unmix(scene["Y"], scene["E"], image_shape=scene["shape"])
            else:
                res = m.unmix(scene["Y"], scene["D"], p=scene["p"] if cls.needs_p else None,
                              image_shape=scene["shape"])
        if on_cuda:
            torch.cuda.synchronize()
        wall = time.perf_counter() - t0
        its = res.info.get("iterations")
        est = np.asarray(res.abundances) if name == "FCLS" else true_rows(res, scene["idx"])
        rec: dict[str, Any] = {"wall_s": wall, "iterations": int(its) if its is not None else None,
                               "sre_db": _sre(scene["A"], est.reshape(scene["A"].shape)),
                               "peak_rss_b": _peak_rss(), "rss_before_b": rss0,
                               "peak_rss_kind": "VmHWM reset before the run" if reset else
                               "process high-water mark (could not be reset)"}
        rec["peak_rss_over_start_b"] = rec["peak_rss_b"] - rss0
        if on_cuda:
            rec["peak_gpu_b"] = int(torch.cuda.max_memory_allocated())
        return rec, res

    def over_budget(self, need_s: float = 0.0) -> bool:
        return self.elapsed() + need_s > self.budget_s

    def scene_run(self, name: str, scene: dict[str, Any], main_iters: int | None,
                  probes: tuple[int, int] | None) -> dict[str, Any]:
        """Probes, projection, then the full run when it fits (module docstring)."""
        spec = METHODS[name]
        k = spec["iter"]
        out: dict[str, Any] = {"device": self.device_of(name), "threads": self.threads}
        if self.over_budget():
            out.update(status="skipped", reason=f"global time budget of {self.budget_s:g} s spent "
                       f"({self.elapsed():.0f} s elapsed)")
            return out
        from hysupp.methods import get_method

        cls = get_method(name)
        defaults = {p.name: p.default for p in cls.params}
        main = self.params(name, scene, **({k: main_iters or defaults[k]} if k else {}))
        out["params"] = main
        need = 0.0
        if probes and k:
            tol0 = {"tol": 0.0} if defaults.get("tol") is not None else {}
            recs = [self.run(name, scene, self.params(name, scene, **{k: n}, **tol0))[0] for n in probes]
            r1, r2 = recs
            d_it = (r2["iterations"] or probes[1]) - (r1["iterations"] or probes[0])
            per_it = max((r2["wall_s"] - r1["wall_s"]) / max(d_it, 1), 0.0)
            setup = max(r1["wall_s"] - per_it * (r1["iterations"] or probes[0]), 0.0)
            per_unit = (r1["iterations"] or probes[0]) / probes[0]        # ADMM iterations per unit of k
            need = setup + per_it * per_unit * main[k]
            out["probe"] = {"sizes": list(probes), "runs": recs, "per_iteration_marginal_s": per_it,
                            "setup_s": setup, "projected_wall_s": need,
                            "projected_iterations": int(per_unit * main[k])}
            if need > self.cap_s:
                out.update(status="projected", reason=f"projected {need:.1f} s > cap {self.cap_s:g} s: not run in "
                           "full; wall_s is the projection, sre_db and memory are the longer probe's",
                           wall_s=need, per_iteration_s=per_it, iterations=int(per_unit * main[k]),
                           sre_db=r2["sre_db"], sre_iterations=r2["iterations"],
                           **{m: r2[m] for m in ("peak_rss_b", "peak_rss_over_start_b", "peak_gpu_b") if m in r2})
                return out
            if self.over_budget(need):
                out.update(status="skipped", reason=f"projected {need:.1f} s does not fit the global budget of "
                           f"{self.budget_s:g} s ({self.elapsed():.0f} s elapsed)", wall_s=need, per_iteration_s=per_it)
                return out
        rec, _ = self.run(name, scene, main)
        out.update(status="ran", **rec)
        out["per_iteration_s"] = rec["wall_s"] / rec["iterations"] if rec.get("iterations") else rec["wall_s"]
        out["per_iteration_kind"] = ("one call (not iterative)" if not rec.get("iterations") else
                                     "wall / active-set iterations" if name == "FCLS" else
                                     "wall / iterations (set-up included)")
        return out

    def parity(self, name: str, crop: dict[str, Any], iters: int | None) -> dict[str, Any]:
        """CUDA vs CPU and 1 thread vs ``threads`` on the crop, in float32 (the default) and float64:
        the max abs difference of the library abundances and the SRE of each side."""
        torch = self.torch
        spec = METHODS[name]
        over = {spec["iter"]: iters} if spec["iter"] and iters else {}
        out: dict[str, Any] = {"crop": list(crop["shape"]), "crop_at": list(CROP_AT), "iterations": iters}

        def X(threads: int, **kw: Any) -> tuple[np.ndarray, float]:
            torch.set_num_threads(threads)
            try:
                _, res = self.run(name, crop, self.params(name, crop, **over, **kw))
            finally:
                torch.set_num_threads(self.threads)
            est = np.asarray(res.abundances) if name == "FCLS" else true_rows(res, crop["idx"])
            full = res.abundances if name == "FCLS" else res.library_abundances()
            return np.asarray(full, dtype=np.float64), _sre(crop["A"], est.reshape(crop["A"].shape))

        def compare(a: dict[str, Any], b: dict[str, Any], what: str) -> dict[str, Any]:
            res: dict[str, Any] = {"compared": what}
            for dt in ("float32", "float64"):
                (xa, sa), (xb, sb) = X(**a, dtype=dt), X(**b, dtype=dt)
                res[dt] = {"max_abs_diff": float(np.abs(xa - xb).max()), "sre_db": [sa, sb], "sre_diff_db": sa - sb}
            res["max_abs_diff"] = res["float32"]["max_abs_diff"]
            return res

        if self.over_budget():
            out["skipped"] = "global time budget spent"
            return out
        n = self.threads
        if name in TORCH_METHODS and self.cuda:
            out["cuda"] = compare({"threads": n, "device": "cuda"}, {"threads": n, "device": "cpu"},
                                  f"device='cuda' vs device='cpu' ({n} threads)")
        else:
            out["cuda"] = {"max_abs_diff": None, "reason": "CUDA not available (or --device cpu)"
                           if name in TORCH_METHODS else "no torch/device path: CPU only"}
        if name in TORCH_METHODS:
            out["threads"] = compare({"threads": 1, "device": "cpu"}, {"threads": n, "device": "cpu"},
                                     f"device='cpu', 1 vs {n} torch threads")
        elif name == "CLSUnSAL":
            out["threads"] = {"max_abs_diff": None, "reason": "no thread setting (BLAS threads of the environment)"}
        else:
            out["threads"] = compare({"threads": n, "n_threads": 1}, {"threads": n, "n_threads": n},
                                     f"n_threads 1 vs {n}")
        return out


# ------------------------------------------------------------------------------------ driver
def _device_label(runner: Runner) -> str:
    if not runner.cuda:
        return "cpu"
    name = runner.torch.cuda.get_device_name(0).lower()
    for tag in ("h200", "h100", "a100", "l40s", "l4"):
        if tag in name:
            return tag
    return "".join(c if c.isalnum() else "_" for c in name).strip("_") or "cuda"


def targets(record: dict[str, Any], on_gpu: bool) -> dict[str, Any]:
    """The issue's targets, met / not met (``None`` off a GPU or when the run is missing)."""
    fas = record["methods"].get("FaSUn", {}).get("dc1", {})
    t_dc1 = fas.get("wall_s") if fas.get("status") == "ran" and fas.get("params", {}).get("T") == 10000 else None
    out: dict[str, Any] = {
        "note": "targets are for one H100/H200; met is null off a GPU" + ("" if on_gpu else " (this run is on CPU)"),
        "dc1_fasun_T10000_s": {"target_s": TARGET_DC1_FASUN_S, "measured_s": t_dc1,
                               "met": (t_dc1 <= TARGET_DC1_FASUN_S) if (on_gpu and t_dc1 is not None) else None},
        "full_scene_s": {}}
    for name, m in record["methods"].items():
        r = m.get("full", {})
        t = r.get("wall_s")
        out["full_scene_s"][name] = {"target_s": TARGET_FULL_SCENE_S, "seconds": t, "status": r.get("status"),
                                     "device": r.get("device"),
                                     "met": (t <= TARGET_FULL_SCENE_S and r.get("status") == "ran")
                                     if (on_gpu and t is not None and r.get("status") in ("ran", "projected"))
                                     else None}
    return out


def main(argv: list[str] | None = None) -> int:
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto",
                    help="for the torch methods (the others run on CPU)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads (default: all cores)")
    ap.add_argument("--budget-s", type=float, default=420.0, help="global time budget (s) from the start")
    ap.add_argument("--cap-s", type=float, default=TARGET_FULL_SCENE_S,
                    help="a full run projected beyond this (s) is not made; its projection is recorded")
    ap.add_argument("--scenes", nargs="+", default=["dc1", "full"], choices=["dc1", "full"])
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes: seconds on CPU, every code path")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    import hysupp

    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: CUDA is not available", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    runner = Runner(args.device, args.threads, args.budget_s, args.cap_s, t_start)
    label = _device_label(runner)
    out = args.out or HERE / "results" / f"gpu_full_scene_{label}{'_dryrun' if args.dry_run else ''}.json"

    t0 = time.perf_counter()
    makers = {"dc1": lambda: dc1(20, 30) if args.dry_run else dc1(None, None),
              "full": lambda: synthetic((20, 20), 30, FULL_P) if args.dry_run else synthetic(FULL_SHAPE, None, FULL_P)}
    scenes = {k: makers[k]() for k in args.scenes}
    crop = dc1(20, 30 if args.dry_run else None)
    t_scenes = time.perf_counter() - t0
    record: dict[str, Any] = {
        "benchmark": "gpu_full_scene", "issue": 21, "dry_run": args.dry_run,
        "status_note": "the GPU run of this script has not been made yet" if not runner.cuda else None,
        "uptime_before": uptime(), "host": platform.node(),
        "device": {"requested": args.device, "cuda": runner.cuda, "label": label,
                   "gpu": torch.cuda.get_device_name(0) if runner.cuda else None,
                   "cpu_count": os.cpu_count(), "threads": args.threads,
                   "torch_threads": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                     "hysupp": getattr(hysupp, "__version__", "dev")},
        "budget_s": args.budget_s, "cap_s": args.cap_s, "scene_generation_s": t_scenes,
        "scenes": {k: v["info"] for k, v in scenes.items()}, "parity_crop": crop["info"],
        "metric": "SRE (dB) of the true atoms' rows of the library abundances (FCLS: abundances) against the truth",
        "methods": {}, "skipped": []}

    for name in args.methods:             # parity first: short, and the CUDA warm-up
        it = 5 if args.dry_run else METHODS[name]["parity"]
        p = runner.parity(name, crop, it)
        record["methods"][name] = {"parity": p}
        print(f"{name:9s} parity: cuda {p.get('cuda', {}).get('max_abs_diff')}, threads "
              f"{p.get('threads', {}).get('max_abs_diff')}", flush=True)
    order = [n for n in args.methods if runner.device_of(n) == "cuda"] + \
            [n for n in args.methods if runner.device_of(n) != "cuda"]
    for sname in args.scenes:
        for name in order:
            spec = METHODS[name]
            main_iters = 5 if args.dry_run else None
            if args.dry_run and name == "S2WSU":
                main_iters = 1
            probes = ((1, 2) if args.dry_run else spec["probes"]) if spec["probes"] else None
            r = runner.scene_run(name, scenes[sname], main_iters, probes)
            record["methods"][name][sname] = r
            if r["status"] == "skipped":
                record["skipped"].append({"method": name, "scene": sname, "reason": r["reason"]})
            mem = (f"GPU {r['peak_gpu_b'] / 2**20:.0f} MiB" if "peak_gpu_b" in r
                   else f"RSS +{r.get('peak_rss_over_start_b', 0) / 2**20:.0f} MiB")
            print(f"{name:9s} {sname:4s} {r['device']:4s} {r['status']:9s} "
                  + (f"{r['wall_s']:.2f} s, {r['per_iteration_s'] * 1e3:.3f} ms/it, SRE {r.get('sre_db', float('nan')):.2f} "
                     f"dB, {mem}" if "wall_s" in r and "per_iteration_s" in r else r.get("reason", "")), flush=True)
    record["targets"] = targets(record, runner.cuda)
    record["uptime_after"] = uptime()
    record["wall_s"] = time.perf_counter() - t_start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out} ({record['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
