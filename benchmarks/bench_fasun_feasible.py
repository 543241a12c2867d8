"""Benchmark: the feasible split returned by FaSUn, SUnS and MiSiSUn (issue 22).

1. DC1 and DC2 at 30 dB (AWGN as HySUPP/FUnmix, seed 0), T 10000, FUnmix's settings: SRE (dB, true-atom
   rows of ``B A``) of the returned feasible point against the last ADMM iterates (what FUnmix returns),
   from the same run (``fasun_solve(..., feasible=False)`` and the same projection as the default), with
   the primal residuals.
2. The Cuprite crop (shared data, reflectance) with the bundled 498-atom USGS 1995 library resampled to
   its 188 bands, p 12, T ``--cuprite-T`` (default 1000): sparsity and feasibility of ``B`` (atoms per
   endmember above 1e-3 and 1e-2, column sums, most negative entry, ``sum |B|``), ours (feasible) beside
   FUnmix's ``FaSUn`` (``--ref-python``, ``--funmix``; its iterate, with ``torch.set_flush_denormal``).

One thread. Writes ``benchmarks/results/fasun_feasible.json``.

Usage::

    python benchmarks/bench_fasun_feasible.py --ref-python /tmp/ref/venv/bin/python --funmix /tmp/ref/FUnmix
    python benchmarks/bench_fasun_feasible.py --parts dc --scenes dc1
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import uptime  # noqa: E402

SHARED = Path(os.environ.get("HYSUPP_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
SOLVER_KW = {"FaSUn": {}, "SUnS": {"b_step": "soft", "lam": 0.01}, "MiSiSUn": {"misi_lambda": 1e-3}}

_REF_DRIVER = r"""
import io, contextlib, json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, torch
torch.set_num_threads(1); torch.set_flush_denormal(True)
sys.path.insert(0, sys.argv[1])
from src.model.semisupervised import FaSUn
d = np.load(sys.argv[2]); cfg = json.loads(sys.argv[3])
m = FaSUn(mu1=50, mu2=2, mu3=1, TA=5, TB=5, T=cfg["T"]); m.device = torch.device("cpu")
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    t0 = time.perf_counter(); A, B = m.compute_abundances(d["Y"], d["D"], int(d["p"])); wall = time.perf_counter() - t0
np.savez(sys.argv[4], A=A, B=B); print(json.dumps({"wall_s": wall}))
"""


def b_stats(B: np.ndarray, D: np.ndarray) -> dict:
    B = np.asarray(B, dtype=np.float64)
    E = np.asarray(D, dtype=np.float64) @ B
    return {"atoms_gt_1e-3": sorted(int(v) for v in (B > 1e-3).sum(axis=0)),
            "atoms_gt_1e-2": sorted(int(v) for v in (B > 1e-2).sum(axis=0)),
            "col_sum_min": float(B.sum(axis=0).min()), "col_sum_max": float(B.sum(axis=0).max()),
            "abs_col_sum_max": float(np.abs(B).sum(axis=0).max()), "B_min": float(B.min()), "B_max": float(B.max()),
            "E_min": float(E.min())}


def dc_part(scenes: list[str], T: int) -> dict:
    import hysupp
    from hysupp.metrics.unmixing import library_sre
    from hysupp.optim.simplex import project_simplex
    from hysupp.physics import add_awgn
    from hysupp.unmixing.semisupervised.fasun import fasun_solve

    out = {}
    for which in scenes:
        kw = {"data": str(SHARED / "dc2" / "DC2_XT.mat")} if which == "dc2" else {}
        sc = hysupp.simulate(which, dtype="float64", **kw)
        Y = add_awgn(sc.pixels(), 30.0, seed=np.random.RandomState(0))
        idx = np.asarray(sc.library_index)
        At = sc.abundances.reshape(sc.abundances.shape[0], -1)
        for method, skw in SOLVER_KW.items():
            t0 = time.perf_counter()
            A, B, info = fasun_solve(Y, sc.library, len(idx), T=T, device="cpu", feasible=False, **skw)
            wall = time.perf_counter() - t0
            Af = project_simplex(A, axis=0)
            Bf = project_simplex(B, axis=0) if method != "SUnS" else B
            sre_it = library_sre(At, B.astype(float) @ A.astype(float), idx)["sre_index"]
            sre_f = library_sre(At, Bf.astype(float) @ Af.astype(float), idx)["sre_index"]
            out[f"{which}/{method}"] = {"T": T, "sre_feasible_db": float(sre_f), "sre_iterate_db": float(sre_it),
                                        "diff_db": float(sre_f - sre_it), "wall_s": wall,
                                        **{k: v for k, v in info.items() if k.startswith("primal")}}
            print(f"{which} {method}: SRE feasible {sre_f:.4f} iterate {sre_it:.4f} diff {sre_f - sre_it:+.4f}", flush=True)
    return out


def cuprite_part(args) -> dict:
    import hysupp
    from hysupp.datasets import named_library
    from hysupp.libraries import library_for_scene
    from hysupp.methods import get_method

    sc = hysupp.load(str(SHARED / "cuprite" / "Rcuprite50x90x188.mat"),
                     truth=str(SHARED / "cuprite" / "groundTruth_Cuprite_nEnd12.mat"), scale=1e-4)
    D = np.asarray(library_for_scene(named_library("usgs1995"), sc).library, dtype=np.float32)
    Y = sc.pixels().astype(np.float32)
    p, T = 12, args.cuprite_T
    t0 = time.perf_counter()
    r = get_method("FaSUn")(T=T, device="cpu").unmix(Y, D, p=p)
    rec = {"p": p, "T": T, "library_atoms": int(D.shape[1]),
           "ours": {**b_stats(r.library_coefficients, D), "wall_s": time.perf_counter() - t0,
                    **{k: v for k, v in r.info.items() if k.startswith(("primal", "feasibility"))}}}
    if args.ref_python and args.funmix:
        with tempfile.TemporaryDirectory() as tmp:
            inp, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
            np.savez(inp, Y=Y, D=D, p=p)
            proc = subprocess.run([args.ref_python, "-c", _REF_DRIVER, args.funmix, str(inp), json.dumps({"T": T}),
                                   str(out)], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-3000:])
            ref = np.load(out)
            rec["funmix"] = {**b_stats(ref["B"], D), **json.loads(proc.stdout.strip().splitlines()[-1])}
    for k, v in rec.items():
        if isinstance(v, dict):
            print(f"cuprite {k}: atoms>1e-3 {v['atoms_gt_1e-3']} sum|B| max {v['abs_col_sum_max']:.3f} "
                  f"B min {v['B_min']:.2e} E min {v['E_min']:.3e}", flush=True)
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+", default=["dc", "cuprite"], choices=["dc", "cuprite"])
    ap.add_argument("--scenes", nargs="+", default=["dc1", "dc2"], choices=["dc1", "dc2"])
    ap.add_argument("--T", type=int, default=10000)
    ap.add_argument("--cuprite-T", type=int, default=1000)
    ap.add_argument("--ref-python", default=None)
    ap.add_argument("--funmix", default=None, help="FUnmix repository root")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "fasun_feasible.json")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    import hysupp

    record = {"benchmark": "fasun_feasible", "threads": 1, "uptime_before": uptime(), "hysupp": hysupp.__version__}
    if "dc" in args.parts:
        record["dc"] = dc_part(args.scenes, args.T)
    if "cuprite" in args.parts:
        record["cuprite"] = cuprite_part(args)
    record["uptime_after"] = uptime()
    args.out.write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
