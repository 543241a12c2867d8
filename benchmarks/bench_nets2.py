"""Benchmark: MSNet, ADMMNet (parity and speed against HySUPP) and EndNet on the Samson scene.

Input: Samson (``/work/shared/data/samson/samson_1.mat``, cube (156, 95, 95), truth ``end3.mat``,
p = 3) read with ``hysupp.load`` (float32). The same pixel matrix goes to both sides.

Reference: HySUPP's ``MSNet`` / ``ADMMNet`` classes imported from ``--ref-repo`` (default
/work/ref/HySUPP) and run by the reference interpreter ``--ref-python`` (default
/work/ref/venv/bin/python) in a subprocess, with ``seed`` = ``--seed`` (MSNet seeds itself in
``init_architecture`` and uses VCA with that seed; for ADMMNet, whose shuffling draws from torch's
global generator, the driver calls ``torch.manual_seed(seed)`` first). Settings: HySUPP's config
files (MSNet lr 1e-3, ADMMNet defaults), with the epochs of ``--msnet-epochs`` /
``--admmnet-epochs`` on both sides (HySUPP's defaults: 800 and 300).

Ours: the registered methods at the same settings and seed, each with its own VCA
(``end_to_end``), and the training functions started from the reference's VCA endmembers
(``shared_init``: same input, same initial endmembers, so only the implementations differ); for
MSNet also ``shared_init_tied`` (``tie_decoders=True``: HySUPP's aliased decoders). Rerunning a
subset of ``--methods`` keeps the other methods' results already in the output file.

Metrics: ``hysupp.metrics.evaluate_unmixing`` with ``align_by="abundances"`` (HySUPP's alignment):
mean SAD (degrees), SRE (dB), aRMSE. Timing: one thread on both sides
(OMP/OPENBLAS/MKL_NUM_THREADS=1 and ``torch.set_num_threads(1)``); per-iteration times are
taken inside the training loops (the reference's ``tqdm`` iterator and our ``fit`` closure are
wrapped to timestamp every iteration) and summarised by the median and the minimum. The parity
runs are sequential (reference, then ours), so on a shared box their timings see different loads;
the speed claim therefore rests on ``interleaved_timing``: one process (the reference interpreter,
with both packages importable) alternates HySUPP's and our training for ``--interleave-epochs``
epochs each, ``--interleave-rounds`` times, from the same VCA endmembers. ``uptime`` is recorded
before and after. ``--seeds`` repeats the parity runs for several seeds (means in
``mean_over_seeds``).

Writes ``benchmarks/results/nets2.json``.

Usage::

    python benchmarks/bench_nets2.py                              # MSNet at 300 epochs, ADMMNet at 300
    python benchmarks/bench_nets2.py --seeds 0 1 2
    python benchmarks/bench_nets2.py --methods ADMMNet --admmnet-epochs 20 --interleave-rounds 0
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
DATA = Path("/work/shared/data/samson")
TARGETS = {"sre_abs_diff_db": 1.0, "sad_abs_diff_deg": 1.0, "per_iteration_speedup": 1.0}

# run by the reference interpreter: imports HySUPP's class, timestamps every training iteration
_REF_DRIVER = r"""
import importlib, json, logging, sys, time, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
import numpy as np
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
cfg = json.loads(sys.argv[3])
d = np.load(sys.argv[2])
Y = np.asarray(d["Y"], dtype=np.float64)
stamps = []
def timed(iterable, *a, **k):
    for item in iterable:
        stamps.append(time.perf_counter())
        yield item
    stamps.append(time.perf_counter())
class _Bar:
    def __init__(self, it): self.it = it
    def __iter__(self): return timed(self.it)
    def set_postfix_str(self, *a, **k): pass
from src.model.extractors import VCA
# the initial endmembers each class computes: MSNet passes its seed to VCA, ADMMNet calls VCA with
# the default seed 0 whatever the run's seed
E0 = VCA().extract_endmembers(Y, cfg["p"], seed=cfg["seed"] if cfg["method"] == "MSNet" else 0)
if cfg["method"] == "MSNet":
    mod = importlib.import_module("src.model.blind.MSNet")
    mod.tqdm = _Bar
    m = mod.MSNet(epochs=cfg["epochs"], learning_rate=1e-3, alpha=0.1, beta=0.03, drop_out=0.2,
                  weight_decay=1e-4, step_size=30, gamma=0.6)
    t = time.perf_counter()
    E, A = m.compute_endmembers_and_abundances(Y, cfg["p"], cfg["H"], cfg["W"], seed=cfg["seed"])
else:
    mod = importlib.import_module("src.model.blind.ADMMNet")
    mod.tqdm = _Bar
    torch.manual_seed(cfg["seed"])
    m = mod.ADMMNet(lr=1e-4, epochs=cfg["epochs"], batchsize=64, nblocks=2, lambd=1e-3, mu=1e-2, tied=False)
    t = time.perf_counter()
    E, A = m.compute_endmembers_and_abundances(Y, cfg["p"])
total = time.perf_counter() - t
np.savez(sys.argv[4], E=np.asarray(E, dtype=np.float64), A=np.asarray(A, dtype=np.float64),
         E0=np.asarray(E0, dtype=np.float64))
print(json.dumps({"total_s": total, "iter_s": list(np.diff(stamps)), "torch": torch.__version__,
                  "numpy": np.__version__, "python": sys.version.split()[0]}))
"""

# run by the reference interpreter with both packages importable: the two implementations alternate
# (round r: HySUPP for `epochs` epochs, then ours for `epochs` epochs) so both see the same machine load
_INTERLEAVE_DRIVER = r"""
import importlib, json, logging, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
import numpy as np
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
d = np.load(sys.argv[3]); cfg = json.loads(sys.argv[4])
Y = np.asarray(d["Y"], dtype=np.float64); Y32 = np.asarray(d["Y"], dtype=np.float32)
ep, p = cfg["epochs"], cfg["p"]
ref_st = []
class _Bar:
    def __init__(self, it): self.it = it
    def __iter__(self):
        for x in self.it:
            ref_st.append(time.perf_counter()); yield x
        ref_st.append(time.perf_counter())
    def set_postfix_str(self, *a, **k): pass
from src.model.extractors import VCA
E0 = VCA().extract_endmembers(Y, p, seed=0).astype(np.float32)
from hysupp.unmixing.blind import admmnet as ad, msnet as ms
our_st = []
_fit = ms.fit
def _timed_fit(closure, *a, **k):
    def c(i):
        our_st.append(time.perf_counter()); return closure(i)
    out = _fit(c, *a, **k); our_st.append(time.perf_counter()); return out
ms.fit = _timed_fit
def steady(s):
    x = list(np.diff(s)); return x[2:] if len(x) > 4 else x
ref_t, our_t = [], []
for r in range(cfg["rounds"]):
    ref_st.clear(); our_st.clear()
    if cfg["method"] == "MSNet":
        mod = importlib.import_module("src.model.blind.MSNet"); mod.tqdm = _Bar
        mod.MSNet(epochs=ep, learning_rate=1e-3).compute_endmembers_and_abundances(Y, p, cfg["H"], cfg["W"], seed=0)
        ms.msnet_train(Y32, E0, (cfg["H"], cfg["W"]), epochs=ep, device="cpu")
    else:
        mod = importlib.import_module("src.model.blind.ADMMNet"); mod.tqdm = _Bar
        torch.manual_seed(0)
        mod.ADMMNet(lr=1e-4, epochs=ep, batchsize=64, nblocks=2, lambd=1e-3, mu=1e-2,
                    tied=False).compute_endmembers_and_abundances(Y, p)
        our_st.append(time.perf_counter())
        ad.admmnet_train(Y32, E0, epochs=ep, device="cpu", on_epoch=lambda e: our_st.append(time.perf_counter()))
    ref_t += steady(ref_st); our_t += steady(our_st)
out = {"rounds": cfg["rounds"], "epochs_per_round": ep, "ref_median_s": statistics.median(ref_t),
       "ours_median_s": statistics.median(our_t), "ref_min_s": min(ref_t), "ours_min_s": min(our_t),
       "n": [len(ref_t), len(our_t)]}
out["speedup_median"] = out["ref_median_s"] / out["ours_median_s"]
out["speedup_min"] = out["ref_min_s"] / out["ours_min_s"]
print(json.dumps(out))
"""


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["MSNet", "ADMMNet", "EndNet"],
                    choices=("MSNet", "ADMMNet", "EndNet"))
    ap.add_argument("--msnet-epochs", type=int, default=300)
    ap.add_argument("--admmnet-epochs", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--interleave-epochs", type=int, default=8, help="epochs per side and round of the "
                    "interleaved timing (both implementations alternate in one process)")
    ap.add_argument("--interleave-rounds", type=int, default=3, help="0 skips the interleaved timing")
    ap.add_argument("--no-shared-init", action="store_true", help="skip the runs from the reference's VCA")
    ap.add_argument("--ref-python", default="/work/ref/venv/bin/python")
    ap.add_argument("--ref-repo", default="/work/ref/HySUPP")
    ap.add_argument("--output", type=Path, default=HERE / "results" / "nets2.json")
    return ap.parse_args()


def _summary(iter_s: list[float]) -> dict:
    # the first iterations carry one-off warm-up (allocator, oneDNN primitive creation)
    steady = iter_s[2:] if len(iter_s) > 4 else iter_s
    return {"median_s": statistics.median(steady), "min_s": min(steady), "n": len(iter_s)}


class _Stamps:
    """Wraps ``hysupp.nn.training.fit`` in a method module so every closure call is timestamped."""

    def __init__(self, module: object) -> None:
        self.module, self.stamps = module, []

    def __enter__(self):
        self.orig = self.module.fit

        def fit(closure, *a, **k):
            def timed(i):
                self.stamps.append(time.perf_counter())
                return closure(i)
            out = self.orig(timed, *a, **k)
            self.stamps.append(time.perf_counter())
            return out
        self.module.fit = fit
        return self

    def __exit__(self, *exc: object) -> None:
        self.module.fit = self.orig

    def iter_s(self) -> list[float]:
        return list(np.diff(self.stamps))


def _metrics(evaluate, truth: dict, E: np.ndarray, A: np.ndarray) -> dict:
    m = evaluate(E_true=truth["E"], A_true=truth["A"], E_est=E, A_est=A, align_by="abundances")
    return {"sad_mean_deg": m["sad_mean_deg"], "sad_per_endmember_deg": m["sad_per_endmember_deg"],
            "sre_db": m["sre_db"], "armse": m["armse"]}


def _parity(name, seed, ep, args, data, tmp, Y, p, H, W, truth, evaluate_unmixing, admm_mod, msnet_mod) -> dict:
    """One seed: the reference, ours end to end, ours from the reference's VCA endmembers."""
    entry: dict = {}
    cfg = {"method": name, "epochs": ep, "seed": seed, "p": p, "H": H, "W": W}
    out = Path(tmp) / f"{name}_ref.npz"
    print(f"{name} seed {seed}: reference, {ep} epochs ...", flush=True)
    proc = subprocess.run([args.ref_python, "-c", _REF_DRIVER, args.ref_repo, str(data), json.dumps(cfg), str(out)],
                          capture_output=True, text=True, env=dict(os.environ), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"reference {name} failed:\n{proc.stderr[-3000:]}")
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    r = np.load(out)
    entry["reference"] = {"total_s": ref["total_s"], "per_iteration": _summary(ref["iter_s"]),
                          **_metrics(evaluate_unmixing, truth, r["E"], r["A"]),
                          "versions": {k: ref[k] for k in ("torch", "numpy", "python")}}
    runs = [("hysupp_end_to_end", admm_mod.vca_init(Y, p, seed))]
    if not args.no_shared_init:
        runs.append(("hysupp_shared_init", r["E0"].astype(np.float32)))
        if name == "MSNet":   # HySUPP's aliased decoders (tie_decoders=True), same initial endmembers
            runs.append(("hysupp_shared_init_tied", r["E0"].astype(np.float32)))
    for key, E0 in runs:
        print(f"{name} seed {seed}: ours ({key}), {ep} epochs ...", flush=True)
        stamps = [time.perf_counter()]
        t0 = time.perf_counter()
        if name == "MSNet":
            with _Stamps(msnet_mod) as st:
                E, A, _ = msnet_mod.msnet_train(Y, E0, (H, W), epochs=ep, seed=seed, device="cpu",
                                                tie_decoders=key.endswith("_tied"))
            iter_s = st.iter_s()
        else:
            E, A, _ = admm_mod.admmnet_train(Y, E0, epochs=ep, seed=seed, device="cpu",
                                             on_epoch=lambda e, st=stamps: st.append(time.perf_counter()))
            iter_s = list(np.diff(stamps))
        total = time.perf_counter() - t0
        entry[key] = {"total_s": total, "per_iteration": _summary(iter_s), **_metrics(evaluate_unmixing, truth, E, A)}
    ref_it = entry["reference"]["per_iteration"]
    for key, _ in runs:
        e = entry[key]
        e["sre_diff_db"] = e["sre_db"] - entry["reference"]["sre_db"]
        e["sad_diff_deg"] = e["sad_mean_deg"] - entry["reference"]["sad_mean_deg"]
        e["speedup_per_iteration_median"] = ref_it["median_s"] / e["per_iteration"]["median_s"]
        e["speedup_per_iteration_min"] = ref_it["min_s"] / e["per_iteration"]["min_s"]
        print(f"{name} seed {seed} {key}: SAD {e['sad_mean_deg']:.2f} vs {entry['reference']['sad_mean_deg']:.2f} "
              f"deg, SRE {e['sre_db']:.2f} vs {entry['reference']['sre_db']:.2f} dB, per iteration "
              f"{e['per_iteration']['median_s'] * 1e3:.2f} vs {ref_it['median_s'] * 1e3:.2f} ms (median, sequential "
              f"runs) -> {e['speedup_per_iteration_median']:.2f}x", flush=True)
    return entry


def main() -> None:
    args = _parse()
    import torch

    torch.set_num_threads(1)
    import hysupp
    from hysupp.methods import get_method
    from hysupp.metrics import evaluate_unmixing
    from hysupp.unmixing.blind import admmnet as admm_mod
    from hysupp.unmixing.blind import endnet as endnet_mod
    from hysupp.unmixing.blind import msnet as msnet_mod

    scene = hysupp.load(DATA / "samson_1.mat", truth=DATA / "end3.mat")
    L, H, W = scene.cube.shape
    Y = np.ascontiguousarray(scene.pixels(), dtype=np.float32)
    p = scene.endmembers.shape[1]
    truth = {"E": np.asarray(scene.endmembers, dtype=np.float64),
             "A": np.asarray(scene.abundances, dtype=np.float64).reshape(p, -1)}
    record: dict = {
        "benchmark": "nets2", "dataset": "samson", "shape": {"L": L, "H": H, "W": W, "p": p}, "seeds": args.seeds,
        "threads": 1, "alignment": "abundances (HySUPP)", "uptime_before": uptime(), "host": platform.node(),
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                     "hysupp": getattr(hysupp, "__version__", "dev")},
        "targets": TARGETS, "note": "shared 2-core box, other jobs running: see uptime; per-iteration minimum is "
        "the least load-disturbed figure", "results": {}}
    epochs = {"MSNet": args.msnet_epochs, "ADMMNet": args.admmnet_epochs}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "input.npz"
        np.savez(data, Y=Y)
        for name in args.methods:
            entry: dict = {}
            if name == "EndNet":
                with _Stamps(endnet_mod) as st:
                    t0 = time.perf_counter()
                    res = get_method("EndNet", "blind")(seed=args.seeds[0], device="cpu").unmix(Y, p)
                    total = time.perf_counter() - t0
                entry["hysupp"] = {"params": "defaults", "total_s": total, "per_iteration": _summary(st.iter_s()),
                                   **_metrics(evaluate_unmixing, truth, res.endmembers, res.abundances),
                                   "zero_abundance_pixels": res.info["zero_abundance_pixels"]}
                record["results"][name] = entry
                print(f"EndNet: SAD {entry['hysupp']['sad_mean_deg']:.2f} deg, SRE {entry['hysupp']['sre_db']:.2f} dB, "
                      f"aRMSE {entry['hysupp']['armse']:.4f}, {total:.1f} s")
                continue
            ep = epochs[name]
            entry["epochs"] = ep
            entry["seeds"] = {}
            for seed in args.seeds:
                entry["seeds"][str(seed)] = _parity(name, seed, ep, args, data, tmp, Y, p, H, W, truth,
                                                    evaluate_unmixing, admm_mod, msnet_mod)
            runs = list(entry["seeds"].values())
            entry["mean_over_seeds"] = {
                key: {m: float(np.mean([r[key][m] for r in runs]))
                      for m in ("sad_mean_deg", "sre_db", "armse", "sre_diff_db", "sad_diff_deg")
                      if m in runs[0][key]}
                for key in ("reference", "hysupp_end_to_end", "hysupp_shared_init", "hysupp_shared_init_tied")
                if key in runs[0]}
            if args.interleave_rounds > 0:
                print(f"{name}: interleaved timing ({args.interleave_rounds} rounds of "
                      f"{args.interleave_epochs} epochs each side, one process) ...", flush=True)
                proc = subprocess.run([args.ref_python, "-c", _INTERLEAVE_DRIVER, args.ref_repo, str(HERE.parent),
                                       str(data), json.dumps({"method": name, "epochs": args.interleave_epochs,
                                                              "rounds": args.interleave_rounds, "p": p, "H": H,
                                                              "W": W})],
                                      capture_output=True, text=True, env=dict(os.environ), check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"interleaved timing {name} failed:\n{proc.stderr[-3000:]}")
                it = json.loads(proc.stdout.strip().splitlines()[-1])
                entry["interleaved_timing"] = it
                print(f"{name} interleaved: per iteration ours {it['ours_median_s'] * 1e3:.2f} ms vs HySUPP "
                      f"{it['ref_median_s'] * 1e3:.2f} ms (median) -> {it['speedup_median']:.2f}x "
                      f"(min: {it['speedup_min']:.2f}x)", flush=True)
            record["results"][name] = entry
    record["uptime_after"] = uptime()
    if args.output.exists():   # keep the other methods' results of an earlier run
        old = json.loads(args.output.read_text())
        kept = {k: v for k, v in old.get("results", {}).items() if k not in record["results"]}
        if kept:
            record["results"] = {**kept, **record["results"]}
            record["earlier_run"] = {k: old.get(k) for k in ("uptime_before", "uptime_after", "versions")}
            record["earlier_run"]["methods"] = sorted(kept)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
