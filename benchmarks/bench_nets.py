"""Benchmark: CNNAEU, MiSiCNet, PGMSU (blind) and UnDIP (supervised) parity and speed against HySUPP on Samson.

Input: the Samson scene (``--data``, default /work/shared/data/samson/samson_1.mat, 156 bands,
95 x 95 pixels) with the reference abundances/endmembers ``end3.mat`` (p = 3), loaded with
``hysupp.load`` (pixels in row-major order, values in [0, 1]); no added noise, no normalisation.
UnDIP (supervised) gets the reference endmembers ``end3.mat`` on both sides.

Reference: HySUPP's classes (``src.model.blind.CNNAEU`` / ``MiSiCNet`` / ``PGMSU``,
``src.model.supervised.UnDIP``) imported from ``--ref-repo`` and run by ``--ref-python`` in a
subprocess on the same input, seed 0 (``compute_*(..., seed=0)``; NumPy's global RNG seeded with 0
for CNNAEU's patch sampling), with HySUPP's config values (MiSiCNet ``lambd`` 0.1 from
``config/model/MiSiCNet.yaml``; PGMSU's device forced to CPU, since its class picks ``cuda:0``
unconditionally). Both sides: one thread (OMP/MKL/OPENBLAS_NUM_THREADS=1 and
``torch.set_num_threads(1)``), float32, device CPU, seed 0. Iterations: ``--epochs-cnnaeu``,
``--epochs-pgmsu`` (defaults: the published 320 and 200) and ``--niters-misicnet``,
``--niters-undip`` (defaults 200 each, reduced from the published 8000 and 3000, which take hours on
one CPU thread at about 1 s per iteration); the same count on both sides.

Reproducibility: with the same seed, our modules draw the same random numbers in the same order
as HySUPP's on CPU (weights, input noise, batch order, dropout masks, reparametrisation noise,
CNNAEU's patch positions), so the two runs should coincide up to floating-point rounding, which
grows with the number of iterations (chaotic training dynamics); ``max_abs_diff_vs_reference``
records the largest difference of the (unaligned) abundances and endmembers.

PGMSU's initial endmembers come from VCA, and HySUPP's VCA draws its random directions from a
uniform distribution (ours: Gaussian, as in the VCA paper), so with the same seed the two pick
different pixels; with ``--pgmsu-same-init 1`` (default) HySUPP's PGMSU is given our VCA
endmembers (its ``VCA`` class is replaced in the driver), so that both networks get the same input.

Metrics (``hysupp.metrics.evaluate_unmixing`` with ``align_by="abundances"``, HySUPP's alignment;
UnDIP, whose endmembers are the given true ones, is evaluated in the true order, ``align_by=None``):
SRE (dB) and aRMSE of the abundances, mean SAD (degrees) of the endmembers. Timing: wall time of
one call and its process CPU time (``time.process_time``; with one thread the CPU time is the
compute time, robust to the other jobs on a shared box); "time per iteration" = (wall or CPU -
initialisation) / optimizer steps, where the
initialisation (SiVM for MiSiCNet, VCA for PGMSU) is timed separately (CPU time) on each side (HySUPP's SiVM is
a Python loop over pixels). Runs are sequential (reference then ours, per method) and the machine
load (``uptime``) is recorded before and after: the box is shared, so timings are indicative.

Writes ``benchmarks/results/nets.json``.

Usage::

    python benchmarks/bench_nets.py
    python benchmarks/bench_nets.py --methods PGMSU --epochs-pgmsu 20
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
           "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ["TQDM_DISABLE"] = "1"

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import uptime  # benchmarks/ is on sys.path when a script runs

HERE = Path(__file__).resolve().parent
TARGETS = {"sre_abs_diff_db": 1.0, "sad_abs_diff_deg": 1.0, "time_per_iteration_ratio_max": 1.0}
METHODS = ("CNNAEU", "MiSiCNet", "PGMSU", "UnDIP")

# run by the reference interpreter: HySUPP's class on the saved input, prints JSON
_REF_DRIVER = r"""
import json, os, sys, time, warnings, logging
warnings.filterwarnings("ignore")
import numpy as np
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
logging.disable(logging.CRITICAL)
d = np.load(sys.argv[2]); cfg = json.loads(sys.argv[3])
Y, Etrue = d["Y"], d["E"]
H, W, p = int(d["H"]), int(d["W"]), int(d["p"])
name, n = cfg["method"], cfg["iters"]
init_s = 0.0
np.random.seed(0)
if name == "CNNAEU":
    from src.model.blind.CNNAEU import CNNAEU
    m = CNNAEU(epochs=n)
elif name == "MiSiCNet":
    from src.model.blind.MiSiCNet import MiSiCNet
    from src.model.extractors import SiVM
    t = time.process_time(); SiVM().extract_endmembers(Y, p, seed=0); init_s = time.process_time() - t
    m = MiSiCNet(niters=n, lambd=0.1)
elif name == "PGMSU":
    from src.model.blind.PGMSU import PGMSU
    from src.model.extractors import VCA
    t = time.process_time(); VCA().extract_endmembers(Y, p, seed=0); init_s = time.process_time() - t
    m = PGMSU(epochs=n)
    m.device = torch.device("cpu")
    if cfg["same_init"]:          # pre-train towards our VCA endmembers (same input to the network)
        _mod = sys.modules["src.model.blind.PGMSU"]   # (the package attribute is the class)
        class _GivenVCA:
            def extract_endmembers(self, Y, p, seed=0, *a, **k):
                return d["E0"]
        _mod.VCA = _GivenVCA
elif name == "UnDIP":
    from src.model.supervised.UnDIP import UnDIP
    m = UnDIP(niters=n)
np.random.seed(0)
t = time.perf_counter(); c = time.process_time()
if name == "UnDIP":
    A = m.compute_abundances(Y, Etrue, H=H, W=W, seed=0); E = Etrue
else:
    E, A = m.compute_endmembers_and_abundances(Y, p, H=H, W=W, seed=0)
wall = time.perf_counter() - t; cpu = time.process_time() - c
np.savez(sys.argv[4], E=np.asarray(E, dtype=np.float64), A=np.asarray(A, dtype=np.float64))
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "init_s": init_s, "torch": torch.__version__, "python": sys.version.split()[0]}))
"""


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/samson"))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--epochs-cnnaeu", type=int, default=320)
    ap.add_argument("--epochs-pgmsu", type=int, default=200)
    ap.add_argument("--niters-misicnet", type=int, default=200)
    ap.add_argument("--niters-undip", type=int, default=200)
    ap.add_argument("--pgmsu-same-init", type=int, default=1, choices=(0, 1),
                    help="1: HySUPP's PGMSU pre-trains towards our VCA endmembers (network parity); 0: its own VCA")
    ap.add_argument("--ref-python", default="/work/ref/venv/bin/python")
    ap.add_argument("--ref-repo", default="/work/ref/HySUPP")
    ap.add_argument("--output", type=Path, default=HERE / "results" / "nets.json")
    ap.add_argument("--update", action="store_true",
                    help="keep the other methods' results already in --output (rerun only --methods)")
    return ap.parse_args()


def _steps(name: str, n: int, H: int, W: int, L: int) -> int:
    """Optimizer steps of a run with ``n`` epochs/iterations (same count on both sides)."""
    if name == "CNNAEU":
        from hysupp.unmixing.blind.cnnaeu import default_num_patches

        return n * -(-default_num_patches(H, W, L) // 15)
    if name == "PGMSU":
        N = H * W
        return n * -(-N // (N // 10))
    return n


def _metrics(E_true: np.ndarray, A_true: np.ndarray, E: np.ndarray, A: np.ndarray, align: bool = True) -> dict:
    from hysupp.metrics import evaluate_unmixing

    r = evaluate_unmixing(E_true=E_true, A_true=A_true, E_est=E, A_est=A,
                          align_by="abundances" if align else None)
    return {"sre_db": r["sre_db"], "armse": r["armse"], "sad_mean_deg": r["sad_mean_deg"],
            "sad_per_endmember_deg": r["sad_per_endmember_deg"]}


def main() -> None:
    args = _parse()
    import torch

    torch.set_num_threads(1)
    import hysupp
    from hysupp.methods import get_method
    from hysupp.unmixing.blind.misicnet import sivm_init
    from hysupp.unmixing.blind.pgmsu import vca_init

    scene = hysupp.load(args.data / "samson_1.mat", truth=args.data / "end3.mat", dtype=np.float64)
    L, H, W = scene.shape
    Y = np.ascontiguousarray(scene.pixels(), dtype=np.float64)
    E_true = np.asarray(scene.endmembers, dtype=np.float64)
    A_true = np.asarray(scene.abundances, dtype=np.float64).reshape(E_true.shape[1], -1)
    p = E_true.shape[1]
    iters = {"CNNAEU": args.epochs_cnnaeu, "PGMSU": args.epochs_pgmsu, "MiSiCNet": args.niters_misicnet,
             "UnDIP": args.niters_undip}
    published = {"CNNAEU": 320, "PGMSU": 200, "MiSiCNet": 8000, "UnDIP": 3000}
    record: dict = {
        "benchmark": "nets", "dataset": "samson", "p": p, "shape": {"L": L, "H": H, "W": W}, "seed": 0,
        "threads": 1, "dtype": "float32", "device": "cpu", "align_by": "abundances",
        "uptime_before": uptime(), "host": platform.node(), "cpu": platform.processor() or platform.machine(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                     "hysupp": getattr(hysupp, "__version__", "dev")},
        "targets": TARGETS, "argv": sys.argv[1:], "pgmsu_same_init": bool(args.pgmsu_same_init), "results": {}}
    if args.update and args.output.exists():
        old = json.loads(args.output.read_text())
        record["results"] = old.get("results", {})
        record["previous_runs"] = [*old.get("previous_runs", []),
                                   {k: old.get(k) for k in ("argv", "uptime_before", "uptime_after")}]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "input.npz"
        np.savez(data, Y=Y, E=E_true, H=H, W=W, p=p, E0=vca_init(Y, p, 0))
        for name in args.methods:
            n = iters[name]
            steps = _steps(name, n, H, W, L)
            entry: dict = {"iterations_param": n, "published": published[name], "optimizer_steps": steps,
                           "uptime_before": uptime()}
            # reference
            ref_out = Path(tmp) / f"{name}_ref.npz"
            cfg = {"method": name, "iters": n, "same_init": bool(args.pgmsu_same_init)}
            proc = subprocess.run([args.ref_python, "-c", _REF_DRIVER, args.ref_repo, str(data), json.dumps(cfg),
                                   str(ref_out)], capture_output=True, text=True, env=dict(os.environ), check=False)
            if proc.returncode != 0:
                raise SystemExit(f"reference {name} failed:\n{proc.stderr[-3000:]}")
            ref = json.loads(proc.stdout.strip().splitlines()[-1])
            out = np.load(ref_out)
            entry["reference"] = {**_metrics(E_true, A_true, out["E"], out["A"], name != "UnDIP"), "wall_s": ref["wall_s"],
                                  "cpu_s": ref["cpu_s"], "init_s": ref["init_s"],
                                  "time_per_iteration_s": (ref["wall_s"] - ref["init_s"]) / steps,
                                  "cpu_per_iteration_s": (ref["cpu_s"] - ref["init_s"]) / steps}
            # ours
            key = "iterations" if name in ("MiSiCNet", "UnDIP") else "epochs"
            kw = {"niters" if key == "iterations" else "epochs": n, "device": "cpu", "dtype": "float32", "seed": 0}
            init_s = 0.0
            if name == "MiSiCNet":
                t = time.process_time()
                sivm_init(Y, p)
                init_s = time.process_time() - t
            elif name == "PGMSU":
                t = time.process_time()
                vca_init(Y, p, 0)
                init_s = time.process_time() - t
            t0, c0 = time.perf_counter(), time.process_time()
            if name == "UnDIP":
                res = get_method(name, "supervised")(**kw).unmix(Y, E_true, image_shape=(H, W))
            else:
                res = get_method(name, "blind")(**kw).unmix(Y, p, image_shape=(H, W))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            entry["hysupp"] = {**_metrics(E_true, A_true, res.endmembers, res.abundances, name != "UnDIP"), "wall_s": wall,
                               "cpu_s": cpu, "init_s": init_s, "time_per_iteration_s": (wall - init_s) / steps,
                               "cpu_per_iteration_s": (cpu - init_s) / steps,
                               "final_loss": res.info["loss"][-1] if res.info.get("loss") else None}
            # same seed, same RNG streams: the runs should coincide up to floating-point rounding
            entry["max_abs_diff_vs_reference"] = {
                "abundances": float(np.abs(res.abundances.astype(np.float64) - out["A"]).max()),
                "endmembers": float(np.abs(res.endmembers.astype(np.float64) - out["E"]).max())}
            o, r = entry["hysupp"], entry["reference"]
            entry["sre_diff_db"] = o["sre_db"] - r["sre_db"]
            entry["sad_diff_deg"] = o["sad_mean_deg"] - r["sad_mean_deg"]
            entry["time_per_iteration_ratio"] = o["time_per_iteration_s"] / r["time_per_iteration_s"]
            entry["cpu_per_iteration_ratio"] = o["cpu_per_iteration_s"] / r["cpu_per_iteration_s"]
            entry["uptime_after"] = uptime()
            record["results"][name] = entry
            print(f"{name:8s} ({n} {key}, {steps} steps): SRE ours {o['sre_db']:.2f} dB vs HySUPP {r['sre_db']:.2f} dB; "
                  f"SAD ours {o['sad_mean_deg']:.2f} deg vs {r['sad_mean_deg']:.2f} deg; aRMSE ours "
                  f"{o['armse']:.4f} vs {r['armse']:.4f}; s/iter ours {o['time_per_iteration_s']:.4f} vs "
                  f"{r['time_per_iteration_s']:.4f} (ratio {entry['time_per_iteration_ratio']:.2f}); CPU s/iter ours "
                  f"{o['cpu_per_iteration_s']:.4f} vs {r['cpu_per_iteration_s']:.4f} "
                  f"(ratio {entry['cpu_per_iteration_ratio']:.2f})", flush=True)
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps({**record, "uptime_after": uptime()}, indent=2) + "\n")
    record["uptime_after"] = uptime()
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
