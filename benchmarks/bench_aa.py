"""Benchmark: AA and EDAA parity and speed against HySUPP (SPAMS archetypalAnalysis; EDAA).

Inputs: the Samson scene (``/work/shared/data/samson/samson_1.mat`` read by ``hysupp.load`` with
the truth ``end3.mat``: 156 bands, 95 x 95 pixels, p = 3, no added noise) and DC1
(``hysupp.simulate("dc1", dtype="float64")``: 224 bands, 75 x 75 pixels, p = 5) with AWGN at
``--snr`` dB drawn as HySUPP does (``add_awgn(Y, snr, seed=np.random.RandomState(seed))``).
Both sides receive the same float64 pixel matrix ``Y`` (L, N).

Reference: HySUPP's ``ArchetypalAnalysis`` (``config/model/AA.yaml``: epsilon 1e-3, robust False,
computeXtX True, stepsFISTA 3, stepsAS 100, randominit False; ``numThreads=1`` instead of -1 so that
SPAMS uses one thread like ours) and ``EDAA`` (T 100, K1 5, K2 5, seed 0), imported from
``--ref-repo`` and run by ``--ref-python`` in a subprocess. EDAA's restarts are independent and
cost the same, and the reference runs them one after the other, so the reference is run with
``--ref-edaa-m`` restarts (default 5; the full M = 50 takes tens of minutes on a shared 2-core
machine) and ours both with the same ``M`` (parity: restart m uses the same draws on both sides,
and the same selection rule) and with the default M = 50 (timing). The M = 50 reference time is
extrapolated linearly from the measured run and labelled so.

One thread on both sides (OMP/OPENBLAS/MKL_NUM_THREADS=1 before NumPy is imported,
``torch.set_num_threads(1)``). AA timings: median of ``--runs`` runs; EDAA: one run per
configuration (``--edaa-runs``). Metrics (``hysupp.metrics.evaluate_unmixing``, alignment by SAD):
mean SAD (deg), SRE (dB), aRMSE; and the SAD between our and HySUPP's endmembers.

Writes ``benchmarks/results/aa.json`` (with ``uptime`` before/after: other jobs share the machine,
so absolute times vary; the ratios are measured back to back).

Usage::

    python benchmarks/bench_aa.py
    python benchmarks/bench_aa.py --datasets samson --runs 1 --ref-edaa-m 2
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
TARGETS = {"sad_abs_diff_deg": 1.0, "sre_abs_diff_db": 1.0, "speedup": 5.0}

_REF_DRIVER = r"""
import contextlib, io, json, logging, sys, time, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
import numpy as np
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
from src.model.blind.AA import EDAA, ArchetypalAnalysis
d = np.load(sys.argv[2]); cfg = json.loads(sys.argv[3])
Y, p = d["Y"], int(d["p"])
out = {"runs": [], "numpy": np.__version__, "torch": torch.__version__, "python": sys.version.split()[0]}
for r in range(cfg["runs"]):
    if cfg["method"] == "AA":
        m = ArchetypalAnalysis(epsilon=1e-3, robust=False, computeXtX=True, stepsFISTA=3, stepsAS=100,
                               randominit=False, numThreads=1)
    else:
        m = EDAA(T=100, K1=5, K2=5, M=cfg["M"])
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        t = time.perf_counter()
        if cfg["method"] == "AA":
            E, A = m.compute_endmembers_and_abundances(Y, p)
        else:
            E, A = m.compute_endmembers_and_abundances(Y, p, seed=0)
        out["runs"].append(time.perf_counter() - t)
np.savez(sys.argv[4], E=np.asarray(E, dtype=np.float64), A=np.asarray(A, dtype=np.float64),
         B=np.asarray(m.B, dtype=np.float64))
print(json.dumps(out))
"""


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["samson", "dc1"], choices=("samson", "dc1"))
    ap.add_argument("--methods", nargs="+", default=["AA", "EDAA"], choices=("AA", "EDAA"))
    ap.add_argument("--snr", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3, help="timed runs of AA (median)")
    ap.add_argument("--edaa-runs", type=int, default=1)
    ap.add_argument("--ref-edaa-m", type=int, default=5, help="restarts of the reference EDAA run")
    ap.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--ref-python", default="/work/ref/venv/bin/python")
    ap.add_argument("--ref-repo", default="/work/ref/HySUPP")
    ap.add_argument("--output", type=Path, default=HERE / "results" / "aa.json")
    return ap.parse_args()


def _dataset(name: str, args: argparse.Namespace) -> dict:
    import hysupp

    if name == "samson":
        d = args.data_dir / "samson"
        s = hysupp.load(d / "samson_1.mat", truth=d / "end3.mat", dtype=np.float64)
        Y = np.ascontiguousarray(s.pixels(), dtype=np.float64)
        snr = None
    else:
        s = hysupp.simulate("dc1", dtype="float64")
        L = s.cube.shape[0]
        Y = hysupp.physics.add_awgn(s.cube.reshape(L, -1), args.snr, seed=np.random.RandomState(args.seed))
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        snr = args.snr
    E = np.asarray(s.endmembers, dtype=np.float64)
    A = np.asarray(s.abundances, dtype=np.float64).reshape(E.shape[1], -1)
    return {"Y": Y, "E": E, "A": A, "p": E.shape[1], "snr_db": snr, "shape": list(s.cube.shape)}


def _metrics(ds: dict, E: np.ndarray, A: np.ndarray) -> dict:
    from hysupp.metrics import evaluate_unmixing

    rec = evaluate_unmixing(Y=ds["Y"], E_true=ds["E"], A_true=ds["A"], E_est=E, A_est=A)
    keys = ("sad_mean_deg", "sad_per_endmember_deg", "sre_db", "armse", "reconstruction_rmse")
    return {k: rec[k] for k in keys if k in rec}


def _sad_between(E_ref: np.ndarray, E: np.ndarray) -> list[float]:
    from hysupp.metrics import align, sad_matrix

    al = align(E_ref, E, by="sad")
    S = sad_matrix(E_ref, E)
    return [float(S[i, j]) for i, j in enumerate(al.permutation)]


def _run_ref(args: argparse.Namespace, tmp: Path, data: Path, cfg: dict) -> tuple[dict, dict]:
    out = tmp / f"ref_{cfg['method']}.npz"
    proc = subprocess.run([args.ref_python, "-c", _REF_DRIVER, args.ref_repo, str(data), json.dumps(cfg), str(out)],
                          capture_output=True, text=True, env=dict(os.environ), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"reference {cfg} failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    arrs = dict(np.load(out))
    return info, arrs


def main() -> None:
    args = _parse()
    import scipy
    import torch

    torch.set_num_threads(1)
    import hysupp
    from hysupp.unmixing.blind.aa import AA, EDAA

    record: dict = {
        "benchmark": "aa", "threads": 1, "aa_runs": args.runs, "edaa_runs": args.edaa_runs,
        "ref_edaa_restarts": args.ref_edaa_m, "uptime_before": uptime(), "host": platform.node(),
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                     "torch": torch.__version__, "hysupp": getattr(hysupp, "__version__", "dev")},
        "targets": TARGETS, "results": {}}
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for dname in args.datasets:
            ds = _dataset(dname, args)
            data = tmp / f"{dname}.npz"
            np.savez(data, Y=ds["Y"], p=ds["p"])
            rec_ds: dict = {"shape": ds["shape"], "p": ds["p"], "snr_db": ds["snr_db"]}
            for method in args.methods:
                entry: dict = {}
                if method == "AA":
                    ref_info, ref = _run_ref(args, tmp, data, {"method": "AA", "runs": args.runs})
                    entry["reference"] = {"implementation": "HySUPP ArchetypalAnalysis (spams)",
                                          "times_s": ref_info["runs"], "median_s": statistics.median(ref_info["runs"]),
                                          **_metrics(ds, ref["E"], ref["A"])}
                    times, res = [], None
                    for _ in range(args.runs):
                        t0 = time.perf_counter()
                        res = AA().unmix(ds["Y"], ds["p"])
                        times.append(time.perf_counter() - t0)
                    ours = {"params": AA().config, "times_s": times,
                            "median_s": statistics.median(times), **_metrics(ds, res.endmembers, res.abundances),
                            "objective_final": res.info["objective"][-1],
                            "reference_objective_final": float(np.sum((ds["Y"] - ref["E"] @ ref["A"]) ** 2))}
                    ours["sad_vs_reference_deg"] = _sad_between(ref["E"], res.endmembers.astype(np.float64))
                    ours["speedup"] = entry["reference"]["median_s"] / ours["median_s"]
                    entry["hysupp"] = ours
                else:
                    M = args.ref_edaa_m
                    ref_info, ref = _run_ref(args, tmp, data, {"method": "EDAA", "runs": args.edaa_runs, "M": M})
                    ref_t = statistics.median(ref_info["runs"])
                    entry["reference"] = {"implementation": "HySUPP EDAA", "M": M, "times_s": ref_info["runs"],
                                          "median_s": ref_t, "per_restart_s": ref_t / M,
                                          "M50_extrapolated_s": ref_t / M * 50,
                                          **_metrics(ds, ref["E"], ref["A"])}
                    for label, m_ours in ((f"M{M}", M), ("M50", 50)):
                        times, res = [], None
                        for _ in range(args.edaa_runs):
                            t0 = time.perf_counter()
                            res = EDAA(M=m_ours, device="cpu").unmix(ds["Y"], ds["p"])
                            times.append(time.perf_counter() - t0)
                        med = statistics.median(times)
                        ours = {"M": m_ours, "times_s": times, "median_s": med,
                                **_metrics(ds, res.endmembers, res.abundances),
                                "selected_restart": res.info["selected_restart"],
                                "fit_l1_selected": res.info["fit_l1"][res.info["selected_restart"]],
                                "sad_vs_reference_deg": _sad_between(ref["E"], res.endmembers.astype(np.float64))}
                        if m_ours == M:
                            ours["speedup_same_M"] = ref_t / med
                            ours["reference_fit_l1"] = float(np.abs(ds["Y"] - ref["E"] @ ref["A"]).sum())
                        else:
                            ours["speedup_vs_extrapolated_reference_M50"] = ref_t / M * 50 / med
                        entry[f"hysupp_{label}"] = ours
                rec_ds[method] = entry
                r = entry["reference"]
                for key, e in entry.items():
                    if key == "reference":
                        continue
                    sp = e.get("speedup", e.get("speedup_same_M", e.get("speedup_vs_extrapolated_reference_M50")))
                    print(f"{dname:6s} {method:4s} {key:13s}: SAD {e['sad_mean_deg']:.3f} deg (HySUPP "
                          f"{r['sad_mean_deg']:.3f}), SRE {e['sre_db']:.2f} dB (HySUPP {r['sre_db']:.2f}), "
                          f"aRMSE {e['armse']:.4f} ({r['armse']:.4f}); time {e['median_s']:.2f} s vs "
                          f"{r['median_s']:.2f} s -> {sp:.1f}x; SAD ours-vs-HySUPP "
                          f"{np.round(e['sad_vs_reference_deg'], 3).tolist()}", flush=True)
            record["results"][dname] = rec_ds
    record["uptime_after"] = uptime()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2, default=float) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
