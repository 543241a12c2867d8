"""Benchmark: SUnAA parity and speed against HySUPP on DC1 at 30 dB.

Input: ``hysupp.simulate("dc1", dtype="float64")`` (cube (224, 75, 75), library EE (224, 240),
true atoms ``library_index``), AWGN at ``--snr`` dB drawn exactly as HySUPP does
(``add_awgn(Y, snr, seed=np.random.RandomState(seed))``), ``p = 5`` (the number of true atoms).
Settings: HySUPP's ``config/model/SUnAA.yaml`` (T 500; the reference initialisation).

Reference: HySUPP's ``SUnAA`` class imported from ``--ref-repo`` (default /work/ref/HySUPP) and
run by the reference interpreter ``--ref-python`` (default /work/ref/venv/bin/python: SPAMS'
``decompSimplex`` for both steps) in a subprocess on the same input (a temporary ``.npz``). It
returns the library abundances ``X = B A`` (M, N); ours are ``res.library_abundances()``. Both
sides use one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1 set before NumPy is imported). Timings:
median of ``--runs`` runs of ``compute_abundances`` / ``unmix``. Metrics: SRE (dB) on the
true-atom rows (HySUPP's) and over all ``M`` rows (``sre_full_db``), through
``hysupp.metrics.evaluate_unmixing(..., library_index=...)``, for both sides; plus the largest
differences of ``X``, ``B``, ``A`` and of the final objective against the reference.

Writes ``benchmarks/results/sunaa.json`` and prints the SRE difference and the speed ratio.

Usage::

    python benchmarks/bench_sunaa.py
    python benchmarks/bench_sunaa.py --runs 1 --T 50
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
           "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import uptime  # benchmarks/ is on sys.path when a script runs

HERE = Path(__file__).resolve().parent
TARGET_SRE_DB = 0.3

# run by the reference interpreter: imports HySUPP's SUnAA, times it, prints JSON
_REF_DRIVER = r"""
import json, os, sys, time, warnings, logging, io, contextlib
warnings.filterwarnings("ignore")
import numpy as np
sys.path.insert(0, sys.argv[1])
logging.disable(logging.CRITICAL)
from src.model.semisupervised.SUnAA import SUnAA
d = np.load(sys.argv[2]); cfg = json.loads(sys.argv[3])
Y, D = d["Y"], d["D"]
out = {"numpy": np.__version__, "python": sys.version.split()[0], "runs": []}
for r in range(cfg["runs"]):
    m = SUnAA(T=cfg["T"])
    with contextlib.redirect_stderr(io.StringIO()):  # tqdm
        t = time.perf_counter(); X = m.compute_abundances(Y, D, p=int(d["p"]))
        out["runs"].append(time.perf_counter() - t)
np.savez(sys.argv[4], X=np.asarray(X, dtype=np.float64), B=m.B, A=m.A_lowrank)
print(json.dumps(out))
"""


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snr", type=int, default=30, choices=(20, 30, 40))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--T", type=int, default=500)
    ap.add_argument("--ref-python", default="/work/ref/venv/bin/python")
    ap.add_argument("--ref-repo", default="/work/ref/HySUPP")
    ap.add_argument("--output", type=Path, default=HERE / "results" / "sunaa.json")
    return ap.parse_args()


def _metrics(A: np.ndarray, X: np.ndarray, idx: np.ndarray) -> dict:
    from hysupp.metrics import evaluate_unmixing

    rec = evaluate_unmixing(A_true=A, A_est=X, library_index=idx)
    return {"sre_db": rec["sre_db"], "sre_full_db": rec["sre_full_db"], "armse": rec["armse"],
            "armse_full": rec["armse_full"]}


def main() -> None:
    args = _parse()
    import scipy

    import hysupp
    from hysupp.unmixing.semisupervised.sunaa import SUnAA

    scene = hysupp.simulate("dc1", dtype="float64")
    L, H, W = scene.cube.shape
    Y = hysupp.physics.add_awgn(scene.cube.reshape(L, -1), args.snr, seed=np.random.RandomState(args.seed))
    D = np.asarray(scene.library, dtype=np.float64)
    idx = np.asarray(scene.library_index)
    A = np.asarray(scene.abundances, dtype=np.float64).reshape(len(idx), -1)
    p = len(idx)
    record: dict = {
        "benchmark": "sunaa", "dataset": "dc1", "snr_db": args.snr, "seed": args.seed, "p": p,
        "shape": {"L": L, "H": H, "W": W, "M": D.shape[1]}, "threads": 1, "runs": args.runs,
        "settings": {"T": args.T, "init": "uniform"},
        "uptime_before": uptime(), "host": platform.node(), "cpu": platform.processor() or platform.machine(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                     "hysupp": getattr(hysupp, "__version__", "dev")},
        "targets": {"sre_abs_diff_db": TARGET_SRE_DB}, "results": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "input.npz"
        np.savez(data, Y=Y, D=D, p=p)
        ref_out = Path(tmp) / "ref.npz"
        cfg = {"T": args.T, "runs": args.runs}
        proc = subprocess.run([args.ref_python, "-c", _REF_DRIVER, args.ref_repo, str(data), json.dumps(cfg),
                               str(ref_out)], capture_output=True, text=True, env=dict(os.environ), check=False)
        if proc.returncode != 0:
            raise SystemExit(f"reference SUnAA failed:\n{proc.stderr[-3000:]}")
        ref = json.loads(proc.stdout.strip().splitlines()[-1])
        r = np.load(ref_out)
        X_ref, B_ref, A_ref = r["X"], r["B"], r["A"]
    obj_ref = 0.5 * float(np.sum((Y - D @ B_ref @ A_ref) ** 2))
    entry: dict = {"reference": {"times_s": ref["runs"], "median_s": statistics.median(ref["runs"]),
                                 **_metrics(A, X_ref, idx), "objective": obj_ref,
                                 "numpy": ref["numpy"], "python": ref["python"]}}
    for dt in ("float32", "float64"):
        times, res = [], None
        for _ in range(args.runs):
            m = SUnAA(T=args.T, dtype=dt)
            t0 = time.perf_counter()
            res = m.unmix(Y, D, p=p)
            times.append(time.perf_counter() - t0)
        X = res.library_abundances().astype(np.float64)
        med = statistics.median(times)
        met = _metrics(A, X, idx)
        entry[f"hysupp_{dt}"] = {
            "times_s": times, "median_s": med, **met,
            "sre_diff_db": met["sre_db"] - entry["reference"]["sre_db"],
            "sre_full_diff_db": met["sre_full_db"] - entry["reference"]["sre_full_db"],
            "speedup": entry["reference"]["median_s"] / med,
            "objective": res.info["objective"][-1],
            "max_abs_diff_X": float(np.abs(X - X_ref).max()),
            "max_abs_diff_B": float(np.abs(res.library_coefficients - B_ref).max()),
            "max_abs_diff_A": float(np.abs(res.abundances - A_ref).max()),
            "fcls_not_converged": res.info["fcls_not_converged"]}
    record["results"]["SUnAA"] = entry
    rr = entry["reference"]
    for dt in ("float32", "float64"):
        e = entry[f"hysupp_{dt}"]
        print(f"SUnAA {dt}: SRE ours {e['sre_db']:.4f} dB (full {e['sre_full_db']:.4f}) vs HySUPP "
              f"{rr['sre_db']:.4f} dB (full {rr['sre_full_db']:.4f}); diff {e['sre_diff_db']:+.2e}; "
              f"max|X - X_ref| {e['max_abs_diff_X']:.1e}; time ours {e['median_s']:.2f} s vs {rr['median_s']:.2f} s "
              f"-> speed ratio {e['speedup']:.2f}x")
    record["uptime_after"] = uptime()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
