"""Do the committed bench records still reproduce? (issue 17: "outputs unchanged").

For each suite under ``benchmarks/results/bench/<suite>/records``:

1. **Coverage.** The suite's current cells (:meth:`hysupp.bench.suite.Suite.runs`) are matched to the
   committed records by ``run_id`` (a hash of the cell's full spec: data set, condition, method,
   parameters, seed). A record without a current cell is *stale* (the suite changed after it was
   written); a cell without a record is *missing*.
2. **Reruns.** Every matched record whose committed ``wall_s`` is at most ``--budget`` seconds (and, with
   ``--sample K``, at most ``K`` per suite and method, seeds in order) is run again through the bench
   runner (:func:`hysupp.bench.runner.compute_cell`, the code ``hysupp bench`` uses) and its scalar
   metrics are compared with the record's: *same* when every metric agrees within
   ``|new - old| <= atol + rtol |old|`` (defaults ``rtol = 1e-3``, ``atol = 1e-6``: the float32 methods
   run on another BLAS or thread count differ in the 4th-5th digit), else *changed* with the largest
   relative difference and the metric it is in. A stale record whose readable prefix (data set,
   condition, method, seed) names a missing cell is *respecified*: the new spec is run and compared
   with the old record.
3. ``--regenerate`` writes the rerun records of the changed and respecified cells as the runner
   does (:func:`hysupp.bench.runner.compute_cell`, :func:`~hysupp.bench.runner.write_cell`: maps,
   then the record; each cell computed once) and removes a respecified cell's stale record;
   ``hysupp bench report`` then rebuilds the suite's tables.
4. ``--relabel`` renames, without a rerun, a respecified cell's record whose run already used the
   new spec's values: every parameter of the new spec equals the value the old run resolved
   (``method.params`` of its record; e.g. a pinned ``tol`` equal to the default it ran with) and
   the old spec's parameters are a subset of the new one's, so the new spec runs the same
   computation. The record's ``bench.run_id`` and ``bench.params`` and its record and map file
   names take the new spec's; ``relabelled`` lists them. (Rerun a sample with ``--sample`` to see it.)

Writes ``benchmarks/results/check_records.json`` (per suite: counts, the changed cells with their
differences) and prints one line per suite. Changed cells are not an error of this script: the
closing note of the session that changed a method says why (e.g. VCA's directions, issue 22).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/check_records.py --budget 2 --sample 1
    python benchmarks/check_records.py --suites hysupp-supervised --budget 10
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "bench"


def scalar_metrics(metrics: Any, prefix: str = "") -> dict[str, float]:
    """The finite scalar metrics of a record's ``metrics`` block, flattened (``a.b`` keys);
    ``conventions`` and ``alignment`` (text, permutations) are left out."""
    out: dict[str, float] = {}
    if not isinstance(metrics, dict):
        return out
    for key, value in metrics.items():
        if key in ("conventions", "alignment"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(scalar_metrics(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[name] = float(value)
    return out


def compare(old: dict[str, float], new: dict[str, float], rtol: float, atol: float) -> dict[str, Any]:
    """``{"same": bool, "worst": metric, "rel": largest relative difference, "missing": [...]}``."""
    worst, rel, same = None, 0.0, True
    for key, a in old.items():
        if key not in new:
            continue
        b = new[key]
        if abs(b - a) > atol + rtol * abs(a):
            same = False
        r = abs(b - a) / max(abs(a), atol)
        if r > rel:
            worst, rel = key, r
    missing = sorted(set(old) ^ set(new))
    return {"same": same and not missing, "worst": worst, "rel": rel, "missing": missing}


def same_computation(old: dict[str, Any], spec: Any) -> bool:
    """Whether the cell ``spec`` runs a record's computation again: the record's run id is the
    cell's with the record's parameters (only the parameters differ), its parameters are among the
    cell's (same values), and the run resolved every parameter of the cell to the same value."""
    import dataclasses

    from hysupp.methods.params import check_value
    from hysupp.methods.registry import get_method

    new_params = spec.params
    old_spec, resolved = old["bench"].get("params", {}), old.get("method", {}).get("params", {})
    if dataclasses.replace(spec, params=old_spec).run_id != old["bench"]["run_id"]:
        return False
    if any(k not in new_params or new_params[k] != v for k, v in old_spec.items()):
        return False
    name = old["bench"]["method"]
    declared = {p.name: p for p in get_method(name).params}
    for k, v in new_params.items():
        if k not in resolved or k not in declared:
            return False
        if check_value(name, declared[k], v) != resolved[k]:
            return False
    return True


def relabel(folder: Path, old: dict[str, Any], spec: Any) -> None:
    """Give ``old`` (a record of ``folder``) the run id and parameters of ``spec`` (same computation)."""
    old_id = old["bench"]["run_id"]
    old["bench"]["run_id"], old["bench"]["params"] = spec.run_id, spec.params
    (folder / "records" / f"{spec.run_id}.json").write_text(json.dumps(old, indent=1))   # as the runner
    (folder / "records" / f"{old_id}.json").unlink()
    maps = folder / "maps" / f"{old_id}.npz"
    if maps.exists():
        maps.rename(folder / "maps" / f"{spec.run_id}.npz")


def check_suite(folder: Path, budget: float, sample: int | None, rtol: float, atol: float,
                regenerate: bool = False, respecified_only: bool = False,
                relabel_same: bool = False) -> dict[str, Any]:
    from hysupp.bench.runner import compute_cell, write_cell
    from hysupp.bench.suite import load_suite

    records = {}
    for path in sorted((folder / "records").glob("*.json")):
        rec = json.loads(path.read_text())
        if rec.get("bench", {}).get("status") == "ok":
            records[rec["bench"]["run_id"]] = rec
    suite = load_suite(folder.name)
    specs = {s.run_id: s for s in suite.runs()}
    matched = [rid for rid in specs if rid in records]
    # a stale record and a missing cell with the same readable prefix (data set, condition, method,
    # seed): the cell's spec changed (e.g. a pinned parameter); rerun the new spec, compare with the
    # old record
    successor = {}
    by_prefix = {rid.rsplit("_", 1)[0]: rid for rid in specs if rid not in records}
    for rid in set(records) - set(specs):
        new_id = by_prefix.get(rid.rsplit("_", 1)[0])
        if new_id is not None:
            successor[new_id] = rid
    out: dict[str, Any] = {"records": len(records), "cells": len(specs), "matched": len(matched),
                           "stale": sorted(set(records) - set(specs)), "missing": sorted(set(specs) - set(records)),
                           "respecified": len(successor), "same": [], "changed": [], "skipped_over_budget": 0,
                           "regenerated": [], "relabelled": []}
    if relabel_same:
        for rid, old_id in list(successor.items()):
            if same_computation(records[old_id], specs[rid]):
                relabel(folder, records[old_id], specs[rid])
                records[rid] = records.pop(old_id)
                out["relabelled"].append({"run_id": rid, "old_run_id": old_id})
                del successor[rid]
                matched.append(rid)
        out["stale"] = sorted(set(records) - set(specs))
        out["missing"] = sorted(set(specs) - set(records))
        out["matched"], out["respecified"] = len(matched), len(successor)
    per_method: dict[str, int] = {}
    for rid in [*([] if respecified_only else matched), *successor]:
        old_id = successor.get(rid, rid)
        old = records[old_id]
        spec = specs[rid]
        if float(old["bench"].get("wall_s", math.inf)) > budget:
            out["skipped_over_budget"] += 1
            continue
        if sample is not None and per_method.get(spec.method, 0) >= sample:
            continue
        per_method[spec.method] = per_method.get(spec.method, 0) + 1
        new, maps = compute_cell(spec)   # the runner's own path (its threads, its maps)
        if new["bench"]["status"] != "ok":
            out["changed"].append({"run_id": rid, "error": new["bench"].get("error")})
            continue
        diff = compare(scalar_metrics(old.get("metrics")), scalar_metrics(new.get("metrics")), rtol, atol)
        entry = {"run_id": rid, "worst": diff["worst"], "rel": diff["rel"]}
        if old_id != rid:
            entry["old_run_id"] = old_id
        if regenerate and (old_id != rid or not diff["same"]):
            write_cell(folder, new, maps)
            if old_id != rid:
                (folder / "records" / f"{old_id}.json").unlink()
                (folder / "maps" / f"{old_id}.npz").unlink(missing_ok=True)
            out["regenerated"].append(rid)
        if diff["missing"]:
            entry["missing"] = diff["missing"]
        if diff["worst"] is not None:
            entry["old"] = scalar_metrics(old.get("metrics"))[diff["worst"]]
            entry["new"] = scalar_metrics(new.get("metrics")).get(diff["worst"])
        out["same" if diff["same"] else "changed"].append(entry)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", nargs="*", help="suite names (default: every folder under results/bench)")
    ap.add_argument("--budget", type=float, default=2.0, help="rerun records whose wall_s is at most this")
    ap.add_argument("--sample", type=int, default=None, help="at most this many reruns per suite and method")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-6)
    ap.add_argument("--regenerate", action="store_true",
                    help="write the rerun records of changed and respecified cells (the stale record removed)")
    ap.add_argument("--respecified-only", action="store_true",
                    help="rerun only the respecified cells (a stale record paired with a missing cell)")
    ap.add_argument("--relabel", action="store_true",
                    help="rename (no rerun) respecified records whose run used the new spec's values")
    ap.add_argument("--out", default=str(HERE / "results" / "check_records.json"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    folders = [RESULTS / s for s in args.suites] if args.suites else sorted(p for p in RESULTS.iterdir() if p.is_dir())
    report: dict[str, Any] = {"benchmark": "check_records", "issue": 17, "uptime_before": uptime,
                              "host": platform.node(), "threads": os.environ.get("OMP_NUM_THREADS"),
                              "budget_s": args.budget, "sample": args.sample, "rtol": args.rtol, "atol": args.atol,
                              "suites": {}}
    for folder in folders:
        res = check_suite(folder, args.budget, args.sample, args.rtol, args.atol, args.regenerate,
                          args.respecified_only, args.relabel)
        report["suites"][folder.name] = res
        print(f"{folder.name}: {res['records']} records, {res['cells']} cells, {res['matched']} matched, "
              f"{len(res['stale'])} stale ({res['respecified']} respecified), {len(res['missing'])} missing; rerun {len(res['same']) + len(res['changed'])}: "
              f"{len(res['same'])} same, {len(res['changed'])} changed; {len(res['relabelled'])} relabelled"
              + "".join(f"\n    changed {c['run_id']}: {c.get('worst')} {c.get('old')} -> {c.get('new')}"
                        f"{' ' + c['error'] if 'error' in c else ''}" for c in res["changed"]), flush=True)
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")   # after each suite: a stopped run keeps its part
    report["wall_s"] = time.perf_counter() - t0
    report["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
