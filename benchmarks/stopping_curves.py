"""Issue 21, deliverable 4: SRE against iterations, and the stopping tolerance of ``hysupp run``.

For each iterative library method (SUnSAL, CLSUnSAL, MUA-SLIC, S2WSU, SUnAA, FaSUn, SUnS,
MiSiSUn) and each scene (DC1 and DC2 at 30 dB, HySUPP's noise draw with seed 0; the Cuprite AVIRIS
crop x 1e-4 over the USGS 1995 library, 498 atoms, p = 12), with the settings of the benchmark
suites (``per_snr[30]`` on DC1/DC2, the defaults on Cuprite):

1. a full run with ``tol = 0`` (all of the reference's iterations ``T``: SUnSAL and CLSUnSAL 1000,
   MUA-SLIC 2000 per regression, S2WSU 60 blocks of 5, SUnAA 500, FaSUn/SUnS/MiSiSUn 10000 outer
   iterations; the FaSUn family records its stopping statistic, ``change_history``) gives the
   full-T result;
2. runs capped at the iterations of the method's ``grid`` give the SRE-vs-iteration curve;
3. a run for every candidate ``tol`` gives the iteration where the method's convergence test stops
   it and the SRE there. The tolerance only decides where to stop, so a candidate below one that
   ran all T (or, for the FaSUn family, one the recorded statistic never falls below) runs all T:
   it is recorded as the full-T result (``runs_all_T``) without a rerun.

Working dtype: float64 for the ADMM methods and SUnAA (as first measured); the class default
float32 (the reference's) for FaSUn, SUnS and MiSiSUn, on the CPU (``device="cpu"``).

SRE: against the true abundances on DC1/DC2 (HySUPP's SRE over the true atoms' rows; SUnAA and the
FaSUn family: their library abundances ``B A``); on Cuprite, which has no abundance truth, the
reconstruction SRE :math:`10\\log_{10}(\\lVert Y\\rVert^2 / \\lVert Y - DX\\rVert^2)` (recorded, not used: it
keeps rising by whole dB while the abundances change by a few percent), and the SRE of the iterate
against the full-T result (``sre_vs_full_db``).

The rule (``choose``): a candidate is *within the gap* when its SRE is within ``--max-gap``
(0.05 dB) of the full-T SRE on DC1 and DC2 and its iterate within ``--min-sre-vs-full`` (30 dB: a
relative change of 3 %) of the full-T result on Cuprite; a candidate not measured on all three
scenes is not. Among the within-gap candidates and the current default (the reference's ``tol``;
``None``/0, all T, is within the gap by definition), the default becomes the one with the fewest
iterations (summed over the scenes as fractions of T); ties (e.g. candidates that run all T
everywhere) go to the current default, then to the largest ``tol``. With no candidate within the
gap and a default that is not, the default is kept (and said to miss). (30 dB is what 0.05 dB
means at the SRE of these scenes, about 10 dB, for a change uncorrelated with the estimate's
error: :math:`10\\log_{10}(1 + 10^{-3} / 10^{-1}) = 0.043` dB.)

Writes ``benchmarks/results/stopping_curves.json`` (after every scene). A rerun for some methods or
scenes keeps the others' records; ``--merge`` takes the records of other output files (runs in
parallel processes) into ``--output``; ``--markdown`` prints the tables of ``docs/large_scenes.md``.
Single-threaded (``OMP_NUM_THREADS=1``).

Usage::

    python benchmarks/stopping_curves.py
    python benchmarks/stopping_curves.py --methods SUnSAL --scenes cuprite
    python benchmarks/stopping_curves.py --methods FaSUn --output /tmp/fasun.json
    python benchmarks/stopping_curves.py --merge /tmp/fasun.json      # into the default --output
    python benchmarks/stopping_curves.py --markdown
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _common import uptime  # benchmarks/ is on sys.path when a script runs

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("HYSUPP_SHARED_DATA", "/work/shared/data"))

#: per method: the iteration parameter, the full-T value, the grid (in that parameter), the
#: candidate tolerances, the reference's tolerance (what the parity suites run), and how the
#: parameter maps to ADMM iterations
METHODS: dict[str, dict[str, Any]] = {
    "SUnSAL": {"cap": "max_iter", "full": 1000, "grid": [11, 21, 41, 61, 101, 151, 201, 301, 501, 1000],
               "tols": [1e-3, 3e-4, 1e-4, 3e-5, 1e-5], "reference_tol": 1e-4, "per": 1},
    "MUA-SLIC": {"cap": "max_iter", "full": 2000, "grid": [11, 51, 101, 201, 501, 1000, 2000],
                 "tols": [1e-3, 3e-4, 1e-4, 3e-5, 1e-5], "reference_tol": 1e-4, "per": 1},
    "S2WSU": {"cap": "outer_iters", "full": 60, "grid": [2, 5, 10, 20, 30, 40, 60],
              "tols": [3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5], "reference_tol": 1e-4, "per": 5},
    "CLSUnSAL": {"cap": "max_iter", "full": 1000, "grid": [11, 51, 101, 201, 501, 1000],
                 "tols": [1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6], "reference_tol": 1e-4, "per": 1},
    "SUnAA": {"cap": "T", "full": 500, "grid": [5, 10, 20, 50, 100, 200, 300, 500],
              "tols": [1e-3, 1e-4, 1e-5, 1e-6, 1e-7], "reference_tol": 0.0, "per": 1},
}
#: FaSUn, SUnS, MiSiSUn: ``T`` outer iterations (each TA + TB ADMM steps), ``tol=None`` runs all T
#: (the reference), the relative change is checked every ``TOL_CHECK_EVERY`` iterations; the class's
#: working dtype (float32, the reference's) on the CPU
for _name in ("FaSUn", "SUnS", "MiSiSUn"):
    METHODS[_name] = {"cap": "T", "full": 10000, "grid": [100, 300, 1000, 3000, 10000],
                      "tols": [1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6], "reference_tol": None, "per": 1,
                      "fixed": {"device": "cpu"}, "dtype": "float32"}
SCENES = ("dc1", "dc2", "cuprite")


def load_scene(name: str) -> dict[str, Any]:
    """``Y`` (L, N) float64, library ``D``, grid, truth (``A`` over ``idx``) or None."""
    import hysupp

    if name in ("dc1", "dc2"):
        kw = {"data": str(DATA / "dc2" / "DC2_XT.mat")} if name == "dc2" else {}
        sc = hysupp.simulate(name, dtype="float64", **kw)
        L, H, W = sc.cube.shape
        Y = hysupp.physics.add_awgn(sc.cube.reshape(L, -1), 30, seed=np.random.RandomState(0))
        idx = np.asarray(sc.library_index)
        A = np.asarray(sc.abundances, dtype=np.float64).reshape(len(idx), -1)
        return {"Y": Y, "D": np.asarray(sc.library, dtype=np.float64), "shape": (H, W), "A": A, "idx": idx,
                "snr": 30, "p": len(idx)}
    from hysupp.datasets import named_library
    from hysupp.libraries import library_for_scene

    sc = hysupp.load(str(DATA / "cuprite" / "Rcuprite50x90x188.mat"), scale=1e-4)
    lib = library_for_scene(named_library("usgs1995"), sc)
    L, H, W = sc.cube.shape
    return {"Y": np.asarray(sc.cube, dtype=np.float64).reshape(L, -1), "D": np.asarray(lib.library, dtype=np.float64),
            "shape": (H, W), "A": None, "idx": None, "snr": None, "p": 12}


def settings(name: str, scene: dict[str, Any]) -> dict[str, Any]:
    from hysupp.methods import get_method

    cls = get_method(name)
    return dict(getattr(cls, "per_snr", {}).get(scene["snr"], {})) if scene["snr"] else {}


def run(name: str, scene: dict[str, Any], **params: Any) -> tuple[np.ndarray, dict[str, Any], float]:
    """Library abundances ``(M, N)`` float64, info, seconds (working dtype: the spec's, else float64)."""
    from hysupp.methods import get_method

    cls = get_method(name)
    spec = METHODS[name]
    dtype = params.pop("dtype", spec.get("dtype", "float64"))
    m = cls(**params, **spec.get("fixed", {}), dtype=dtype)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = m.unmix(scene["Y"], scene["D"], p=scene["p"] if cls.needs_p else None, image_shape=scene["shape"])
    return res.library_abundances().astype(np.float64), res.info, time.perf_counter() - t0


def quality(scene: dict[str, Any], X: np.ndarray) -> float:
    """SRE (dB): against the truth (true atoms' rows), or the reconstruction SRE without truth."""
    if scene["A"] is not None:
        A, Xi = scene["A"], X[scene["idx"]]
        return float(10 * np.log10(np.sum(A ** 2) / np.sum((A - Xi) ** 2)))
    Y = scene["Y"]
    R = Y - scene["D"] @ X
    return float(10 * np.log10(np.sum(Y ** 2) / np.sum(R ** 2)))


def sre_vs(Xref: np.ndarray, X: np.ndarray) -> float:
    d = float(np.sum((X - Xref) ** 2))
    return float("inf") if d == 0 else float(10 * np.log10(np.sum(Xref ** 2) / d))


def choose(record: dict[str, Any], max_gap: float, min_sre_vs_full: float) -> None:
    """Apply the rule (module docstring) to every method of ``record`` (in place)."""
    record["max_gap_db"], record["min_sre_vs_full_db"] = max_gap, min_sre_vs_full
    for name, out in record["methods"].items():
        def rows(tol: float) -> list[dict[str, Any]] | None:
            found = [next((r for r in out["scenes"].get(s, {}).get("tols", []) if r["tol"] == tol), None)
                     for s in SCENES]
            return None if any(r is None for r in found) else found   # measured on every scene

        def within(tol: float) -> bool:
            found = rows(tol)
            return found is not None and all(
                (r["sre_vs_full_db"] >= min_sre_vs_full) if s == "cuprite" else (abs(r["gap_db"]) <= max_gap)
                for s, r in zip(SCENES, found))

        def cost(tol: float | None) -> float:   # iterations as a fraction of T, summed over the scenes
            if tol is None:
                return float(len(SCENES))
            return sum(r["iterations"] / out["scenes"][s]["full"]["iterations"] for s, r in zip(SCENES, rows(tol)))

        ref = out["spec"]["reference_tol"] or None      # the current default (0 / None: all T)
        meet = [t for t in out["spec"]["tols"] if within(t)]
        pool = meet + ([ref] if ref is None or within(ref) else [])
        # fewest iterations; ties: the current default, then the largest tolerance
        best = min(pool, key=lambda t: (round(cost(t), 9), t != ref, -(t or 0.0)), default=ref)
        out["within_gap"] = meet
        out["reference_within_gap"] = ref is None or within(ref)
        out["chosen_tol"] = best
        out["changed"] = best != ref
        out["scenes_measured"] = [s for s in SCENES if s in out["scenes"]]
        out["chosen_rule"] = (f"among the current default and the candidates within {max_gap} dB of the full-T SRE "
                              f"on DC1/DC2 and within {min_sre_vs_full} dB (SRE against the full-T result) on "
                              "Cuprite, the one with the fewest iterations (ties: the current default, then the "
                              "largest tol); none within: the default is kept")
        print(f"{name}: chosen tol {out['chosen_tol']} (reference {ref}; within the gap: {meet})")


def write(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")


def merge_scene(old: dict[str, Any] | None, new: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """``new``'s scene record with the curve points and tolerances of ``old`` it did not rerun (a
    run with ``--grid``/``--tols``; the full-T run is deterministic, so ``old``'s entries stay valid)."""
    if not old:
        return new
    out = dict(new)
    curve = {r["iterations"]: r for r in old.get("curve", [])}
    curve.update({r["iterations"]: r for r in new["curve"]})
    out["curve"] = [curve[k] for k in sorted(curve)]
    tols = {r["tol"]: r for r in old.get("tols", [])}
    tols.update({r["tol"]: r for r in new["tols"]})
    order = {t: i for i, t in enumerate(spec["tols"])}
    out["tols"] = sorted(tols.values(), key=lambda r: (order.get(r["tol"], len(order)), -r["tol"]))
    if old.get("uptime_before"):
        out["earlier"] = old.get("earlier", []) + [{k: old[k] for k in ("uptime_before", "uptime_after", "date")
                                                    if k in old}]
    return out


def merge(record: dict[str, Any], other: dict[str, Any]) -> None:
    """Take the scenes of ``other``'s methods into ``record`` (``other``'s spec and entries win)."""
    for name, out in other.get("methods", {}).items():
        mine = record["methods"].setdefault(name, {"spec": out["spec"], "scenes": {}})
        mine["spec"] = out["spec"]
        for sname, sc in out["scenes"].items():
            mine["scenes"][sname] = merge_scene(mine["scenes"].get(sname), sc, out["spec"])
    record.setdefault("runs", []).extend(other.get("runs", []))


def _label(scene: str) -> str:
    return "Cuprite" if scene == "cuprite" else scene.upper()


def _fmt_tol(t: float | None) -> str:
    return "all T" if t is None else f"{t:g}"


def markdown(record: dict[str, Any]) -> str:
    """The tables of ``docs/large_scenes.md`` ("Stopping"): per method, the full-T result on each
    scene and, per candidate ``tol``, the iteration where the test stops and the gap (DC1/DC2: SRE
    gap to the full-T SRE, dB; Cuprite: SRE against the full-T result, dB)."""
    lines = ["| method | reference tol | default tol | " + " | ".join(
        f"{_label(s)}: iterations (of T), {'gap' if s != 'cuprite' else 'vs full'}, s (full-T s)" for s in SCENES)
        + " |", "|---|---|---|" + "---|" * len(SCENES)]
    order = [m for m in METHODS if m in record["methods"]] + [m for m in record["methods"] if m not in METHODS]
    for name in order:
        out = record["methods"][name]
        spec, chosen = out["spec"], out.get("chosen_tol")
        row = [name, _fmt_tol(spec["reference_tol"] or None), f"**{_fmt_tol(chosen)}**"]
        for s in SCENES:
            sc = out["scenes"].get(s)
            r = None if sc is None else (sc["full"] | {"gap_db": 0.0, "sre_vs_full_db": float("inf")} if chosen is None
                                         else next((r for r in sc["tols"] if r["tol"] == chosen), None))
            if r is None:
                row.append("-")
                continue
            q = f"{r['gap_db']:+.3f} dB" if s != "cuprite" else (
                "=" if r["sre_vs_full_db"] == float("inf") else f"{r['sre_vs_full_db']:.1f} dB")
            t = r.get("seconds") if r.get("seconds") is not None else sc["full"]["seconds"]
            row.append(f"{r['iterations']} ({sc['full']['iterations']}), {q}, {t:.1f} ({sc['full']['seconds']:.1f})")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for name in order:
        out = record["methods"][name]
        spec = out["spec"]
        scenes = [s for s in SCENES if s in out["scenes"]]
        lines.append(f"**{name}** (full T = {spec['full']} `{spec['cap']}`; reference tol "
                     f"{_fmt_tol(spec['reference_tol'] or None)}; default: {_fmt_tol(out.get('chosen_tol'))})")
        lines.append("")
        head = "| tol | " + " | ".join(
            f"{_label(s)} it | " +
            ("gap (dB)" if s != "cuprite" else "vs full (dB)") for s in scenes) + " |"
        lines += [head, "|---|" + "---:|---:|" * len(scenes)]
        row = ["full"]
        for s in scenes:
            f = out["scenes"][s]["full"]
            row += [str(f["iterations"]), f"{f['sre_db']:.2f} dB" if s != "cuprite" else "="]
        lines.append("| " + " | ".join(row) + " |")
        for tol in spec["tols"]:
            row = [f"{tol:g}" + (" **(chosen)**" if tol == out.get("chosen_tol") else "")]
            for s in scenes:
                r = next((r for r in out["scenes"][s]["tols"] if r["tol"] == tol), None)
                if r is None:
                    row += ["-", "-"]
                elif s == "cuprite":
                    v = r["sre_vs_full_db"]
                    row += [str(r["iterations"]), "=" if v == float("inf") else f"{v:.1f}"]
                else:
                    row += [str(r["iterations"]), f"{r['gap_db']:+.3f}"]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--scenes", nargs="+", default=list(SCENES), choices=SCENES)
    ap.add_argument("--grid", type=int, nargs="*", default=None,
                    help="run only these grid points (none: no curve); the others' records are kept")
    ap.add_argument("--tols", type=float, nargs="+", default=None,
                    help="run only these candidate tolerances; the others' records are kept")
    ap.add_argument("--max-gap", type=float, default=0.05)
    ap.add_argument("--min-sre-vs-full", type=float, default=30.0)
    ap.add_argument("--choose", action="store_true", help="only apply the rule to the JSON in --output")
    ap.add_argument("--merge", type=Path, nargs="+", default=[],
                    help="take these JSON files' scenes into --output, then apply the rule")
    ap.add_argument("--markdown", action="store_true", help="print the tables of --output as Markdown")
    ap.add_argument("--defaults", action="store_true",
                    help="run each method at its class defaults (dtype and tol: what hysupp run uses) and record "
                         "where it stops (default_run), beside the curves in --output")
    ap.add_argument("--output", type=Path, default=HERE / "results" / "stopping_curves.json")
    args = ap.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.output.read_text())))
        return
    if args.choose or args.merge:
        record = json.loads(args.output.read_text())
        for other in args.merge:
            merge(record, json.loads(other.read_text()))
        choose(record, args.max_gap, args.min_sre_vs_full)
        write(args.output, record)
        return
    if args.defaults:
        record = json.loads(args.output.read_text())
        for name in args.methods:
            from hysupp.methods import get_method

            cls = get_method(name)
            out = record["methods"][name]
            for sname in args.scenes:
                scene, sc = load_scene(sname), out["scenes"][sname]
                base = settings(name, scene)
                up0 = uptime()
                X, inf_d, t = run(name, scene, **base, dtype=cls().dtype, tol=cls().tol)
                q = quality(scene, X)
                sc["default_run"] = {
                    "dtype": cls().dtype, "tol": cls().tol, "iterations": int(inf_d["iterations"]),
                    "converged": inf_d.get("converged", inf_d.get("stopped_early")), "sre_db": q,
                    "gap_db": q - sc["full"]["sre_db"], "seconds": t, "uptime_before": up0, "uptime_after": uptime(),
                    "note": "gap against the full-T result of the curves (their dtype); Cuprite: reconstruction SRE"}
                print(f"{name:8s} {sname:7s} defaults ({cls().dtype}, tol {cls().tol}): {inf_d['iterations']} it, "
                      f"converged {sc['default_run']['converged']}, {q:.4f} dB ({q - sc['full']['sre_db']:+.4f}), "
                      f"{t:.1f} s", flush=True)
                write(args.output, record)
        return
    import scipy

    import hysupp

    run_info = {"methods": args.methods, "scenes": args.scenes, "grid": args.grid, "tols": args.tols,
                "uptime_before": uptime(),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    record: dict[str, Any] = {
        "benchmark": "stopping_curves", "issue": 21, "threads": 1, "host": platform.node(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                     "hysupp": getattr(hysupp, "__version__", "dev")},
        "quality": "SRE (dB) against the true abundances (DC1, DC2); reconstruction SRE (Cuprite)",
        "methods": {}, "runs": []}
    if args.output.exists():   # keep the methods and scenes this invocation does not rerun
        old = json.loads(args.output.read_text())
        record["methods"] = old.get("methods", {})
        record["runs"] = old.get("runs") or [{k: old[k] for k in ("uptime_before", "uptime_after") if k in old}]
    record["runs"].append(run_info)
    for name in args.methods:
        spec = METHODS[name]
        # keep the scenes this invocation does not rerun (measured under the same spec)
        out: dict[str, Any] = record["methods"].get(name) or {"spec": spec, "scenes": {}}
        out["spec"] = spec
        # tol = 0 runs all T (FaSUn family: and records its stopping statistic, change_history);
        # the grid runs use the reference's "run all T" (FaSUn family: None, no checks)
        notol = spec["reference_tol"] if spec["reference_tol"] is None else 0.0
        for sname in args.scenes:
            scene = load_scene(sname)
            base = settings(name, scene)
            up0 = uptime()
            Xf, info, tf = run(name, scene, **base, tol=0.0, **{spec["cap"]: spec["full"]})
            full = quality(scene, Xf)
            curve = []
            for k in spec["grid"] if args.grid is None else args.grid:
                X, inf_k, t = (Xf, info, tf) if k == spec["full"] else run(name, scene, **base, tol=notol,
                                                                           **{spec["cap"]: k})
                curve.append({"iterations": int(inf_k.get("iterations", k * spec["per"])),
                              "sre_db": quality(scene, X), "sre_vs_full_db": sre_vs(Xf, X), "seconds": t})
            tols: list[dict[str, Any]] = []
            changes = info.get("change_history")   # FaSUn family: the statistic at every check
            for tol in sorted(spec["tols"] if args.tols is None else args.tols, reverse=True):
                # the tolerance only decides where to stop (the iterates do not depend on it), so a
                # tol below one that ran all T, or one the recorded statistic never falls below,
                # runs all T: its result is the full-T result (not rerun)
                never = bool(tols and tols[-1]["iterations"] == info["iterations"]) or (
                    changes is not None and not any(max(c["change_A"], c["change_B"]) < tol for c in changes))
                if never:
                    tols.append({"tol": tol, "iterations": int(info["iterations"]), "sre_db": full, "gap_db": 0.0,
                                 "sre_vs_full_db": float("inf"), "seconds": None, "runs_all_T": True})
                    continue
                X, inf_t, t = run(name, scene, **base, tol=tol, **{spec["cap"]: spec["full"]})
                q = quality(scene, X)
                tols.append({"tol": tol, "iterations": int(inf_t["iterations"]), "sre_db": q,
                             "gap_db": q - full, "sre_vs_full_db": sre_vs(Xf, X), "seconds": t})
            new = {"params": base, "full": {"iterations": int(info["iterations"]), "sre_db": full, "seconds": tf},
                   "change_history": changes,
                   "curve": curve, "tols": tols, "uptime_before": up0, "uptime_after": uptime(),
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
            out["scenes"][sname] = merge_scene(out["scenes"].get(sname), new, spec)
            print(f"{name:8s} {sname:7s} full-T {info['iterations']:5d} it {full:8.4f} dB ({tf:.1f} s); " + "; ".join(
                f"tol {r['tol']:g}: {r['iterations']} it, {r['gap_db']:+.4f} dB, vs full {r['sre_vs_full_db']:.1f} dB"
                for r in tols), flush=True)
            record["methods"][name] = out
            write(args.output, record)      # after every scene: a long run leaves what it measured
        choose(record, args.max_gap, args.min_sre_vs_full)
    run_info["uptime_after"] = uptime()
    write(args.output, record)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
