"""Benchmark: SUnCNN against HySUPP on DC1 at 30 dB (CPU, one thread, a reduced number of iterations).

Input: ``hysupp.simulate("dc1", dtype="float64")`` (cube (224, 75, 75), library EE (224, 240),
true atoms ``library_index``), AWGN at ``--snr`` dB drawn exactly as HySUPP does
(``add_awgn(Y, snr, seed=np.random.RandomState(seed))``). Settings: HySUPP's
``config/model/SUnCNN.yaml`` (lr 1e-3, exp_weight 0.99, noisy input, seed 0) except the number of
iterations: the reference's 20000 take about 5 hours on one CPU core (~0.9 s per iteration for
the 75 x 75 image), so both sides run the same ``--niters`` (default 250). On a GPU use
``--device cuda`` for ours (the reference picks CUDA itself when available).

Reference: HySUPP's ``SUnCNN`` class imported from ``--ref-repo`` (default /work/ref/HySUPP) and
run by ``--ref-python`` (default /work/ref/venv/bin/python) in a subprocess on the same input,
``compute_abundances(Y, D, H, W, seed=0)``. Both sides: ``torch.set_num_threads(1)`` and
OMP/OPENBLAS/MKL_NUM_THREADS=1. One run each (``--runs``). On CPU ours draws the same weights and
input as the reference for the same seed, so the two outputs agree up to float32 rounding
(``max_abs_diff_X``). Metrics: SRE (dB) on the true-atom rows and over all ``M`` rows, through
``hysupp.metrics.evaluate_unmixing(..., library_index=...)``; seconds per iteration.

Writes ``benchmarks/results/suncnn.json``.

Usage::

    python benchmarks/bench_suncnn.py                 # 250 iterations each side
    python benchmarks/bench_suncnn.py --niters 20 --no-reference
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

_REF_DRIVER = r"""
import json, os, sys, time, warnings, logging, io, contextlib
warnings.filterwarnings("ignore")
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
logging.disable(logging.CRITICAL)
from src.model.semisupervised.SUnCNN import SUnCNN
d = np.load(sys.argv[2]); cfg = json.loads(sys.argv[3])
out = {"numpy": np.__version__, "torch": torch.__version__, "python": sys.version.split()[0], "runs": [],
       "device": "cuda" if torch.cuda.is_available() else "cpu"}
for r in range(cfg["runs"]):
    m = SUnCNN(niters=cfg["niters"], lr=1e-3, exp_weight=0.99, noisy_input=True)
    with contextlib.redirect_stderr(io.StringIO()):  # tqdm
        t = time.perf_counter(); X = m.compute_abundances(d["Y"], d["D"], H=int(d["H"]), W=int(d["W"]), seed=0)
        out["runs"].append(time.perf_counter() - t)
np.save(sys.argv[4], np.asarray(X, dtype=np.float64))
print(json.dumps(out))
"""


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snr", type=int, default=30, choices=(20, 30, 40))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--niters", type=int, default=250)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--ref-python", default="/work/ref/venv/bin/python")
    ap.add_argument("--ref-repo", default="/work/ref/HySUPP")
    ap.add_argument("--output", type=Path, default=HERE / "results" / "suncnn.json")
    return ap.parse_args()


def _metrics(A: np.ndarray, X: np.ndarray, idx: np.ndarray) -> dict:
    from hysupp.metrics import evaluate_unmixing

    rec = evaluate_unmixing(A_true=A, A_est=X, library_index=idx)
    return {"sre_db": rec["sre_db"], "sre_full_db": rec["sre_full_db"], "armse": rec["armse"]}


def main() -> None:
    args = _parse()
    import torch

    import hysupp
    from hysupp.unmixing.semisupervised.suncnn import SUnCNN

    torch.set_num_threads(1)
    scene = hysupp.simulate("dc1", dtype="float64")
    L, H, W = scene.cube.shape
    Y = hysupp.physics.add_awgn(scene.cube.reshape(L, -1), args.snr, seed=np.random.RandomState(args.seed))
    D = np.asarray(scene.library, dtype=np.float64)
    idx = np.asarray(scene.library_index)
    A = np.asarray(scene.abundances, dtype=np.float64).reshape(len(idx), -1)
    record: dict = {
        "benchmark": "suncnn", "dataset": "dc1", "snr_db": args.snr, "seed": args.seed,
        "shape": {"L": L, "H": H, "W": W, "M": D.shape[1]}, "threads": 1, "runs": args.runs,
        "settings": {"niters": args.niters, "lr": 1e-3, "exp_weight": 0.99, "noisy_input": True, "seed": 0,
                     "note": "reference default niters is 20000; both sides run the same reduced niters"},
        "uptime_before": uptime(), "host": platform.node(), "cpu": platform.processor() or platform.machine(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                     "hysupp": getattr(hysupp, "__version__", "dev")},
        "results": {}}
    entry: dict = {}
    X_ref = None
    if not args.no_reference:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "input.npz"
            np.savez(data, Y=Y, D=D, H=H, W=W)
            ref_out = Path(tmp) / "ref.npy"
            cfg = {"niters": args.niters, "runs": args.runs}
            proc = subprocess.run([args.ref_python, "-c", _REF_DRIVER, args.ref_repo, str(data), json.dumps(cfg),
                                   str(ref_out)], capture_output=True, text=True, env=dict(os.environ), check=False)
            if proc.returncode != 0:
                raise SystemExit(f"reference SUnCNN failed:\n{proc.stderr[-3000:]}")
            ref = json.loads(proc.stdout.strip().splitlines()[-1])
            X_ref = np.load(ref_out)
        med = statistics.median(ref["runs"])
        entry["reference"] = {"times_s": ref["runs"], "median_s": med, "s_per_iter": med / args.niters,
                              **_metrics(A, X_ref, idx), "device": ref["device"], "torch": ref["torch"],
                              "numpy": ref["numpy"]}
        print(f"HySUPP SUnCNN: SRE {entry['reference']['sre_db']:.3f} dB (full {entry['reference']['sre_full_db']:.3f})"
              f", {med / args.niters:.3f} s/iteration", flush=True)
    times, res = [], None
    for _ in range(args.runs):
        m = SUnCNN(niters=args.niters, device=args.device, seed=0)
        t0 = time.perf_counter()
        res = m.unmix(Y, D, image_shape=(H, W))
        times.append(time.perf_counter() - t0)
    X = res.library_abundances().astype(np.float64)
    med = statistics.median(times)
    ours = {"times_s": times, "median_s": med, "s_per_iter": med / args.niters, **_metrics(A, X, idx),
            "device": res.info["device"], "loss_first": res.info["loss"][0], "loss_last": res.info["loss"][-1]}
    if X_ref is not None:
        ours["sre_diff_db"] = ours["sre_db"] - entry["reference"]["sre_db"]
        ours["speedup"] = entry["reference"]["median_s"] / med
        ours["max_abs_diff_X"] = float(np.abs(X - X_ref).max())
    entry["hysupp"] = ours
    print(f"hysupp SUnCNN: SRE {ours['sre_db']:.3f} dB (full {ours['sre_full_db']:.3f}), "
          f"{ours['s_per_iter']:.3f} s/iteration" + (f", max|X - X_ref| {ours['max_abs_diff_X']:.1e}, speed ratio "
                                                    f"{ours['speedup']:.2f}x" if X_ref is not None else ""))
    record["results"]["SUnCNN"] = entry
    record["uptime_after"] = uptime()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
