"""Benchmark: the cost of the progress hooks (issue 20: "no measurable slowdown", target < 2 %).

Input: ``builtin_scene("dc1")`` (cube (224, 75, 75), its library), FaSUn with ``T`` outer
iterations (``--T``, default 2000; FaSUn reports every iteration to :func:`hysupp.progress.tracker`).
Conditions, run alternately (off, listening, off, listening...) after one warm-up run of each so
that a drift of the machine's load hits both alike:

- ``off``: ``hysupp.unmix(scene, "FaSUn", params={"T": T})`` -- nobody listens (the library
  default): every hook is a call on the shared no-op tracker;
- ``listening``: the same with ``progress=`` a no-op callback: the trackers read the clock at each
  update and emit (rate-limited) events to it.

One thread everywhere (``OMP_NUM_THREADS=1`` etc. set before NumPy/torch are imported,
``torch.set_num_threads(1)``). Metric: median wall time of ``--runs`` runs per condition (default
5) of the whole ``unmix`` call; overhead = median(listening) / median(off) - 1. Also measured: the
cost of one ``update`` on the no-op tracker and on a listening tracker between two emitted events
(``timeit``, ns per call), from which the hooks' own share of a run is estimated
(``hook_cost_estimate_percent``: on a loaded machine the spread of the run times is far larger).
``uptime`` is recorded before and after.

Writes ``benchmarks/results/progress_overhead.json``.

Usage::

    python benchmarks/progress_overhead.py              # T 2000, 5 runs each
    python benchmarks/progress_overhead.py --T 500 --runs 3
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
import sys
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
TARGET_OVERHEAD = 0.02

from _common import uptime  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--T", type=int, default=2000, help="FaSUn outer iterations")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per condition (median)")
    parser.add_argument("--out", default=str(HERE / "results" / "progress_overhead.json"))
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    import hysupp
    from hysupp.datasets import builtin_scene
    from hysupp.progress import ProgressEvent, reporting, tracker

    scene = builtin_scene("dc1")
    params = {"T": int(args.T)}
    events: list[int] = [0]

    def listener(event: ProgressEvent) -> None:     # a listening no-op: counts the events
        events[0] += 1

    def one(listening: bool) -> float:
        t0 = time.perf_counter()
        hysupp.unmix(scene, "FaSUn", params=params, progress=listener if listening else None)
        return time.perf_counter() - t0

    load_before = uptime()
    one(False)
    one(True)                                       # warm-up (imports, caches, torch init)
    times: dict[str, list[float]] = {"off": [], "listening": []}
    events[0] = 0
    for _ in range(args.runs):
        times["off"].append(one(False))
        times["listening"].append(one(True))
    events_per_run = events[0] / args.runs
    load_after = uptime()

    # the per-update cost of a hook (ns): the no-op tracker, and a listening tracker between events
    n = 200_000
    null = tracker("x", total=n)
    ns_null = 1e9 * min(timeit.repeat(lambda: null.update(1), number=n, repeat=5)) / n
    with reporting(listener):
        live = tracker("x", total=10 * n, min_interval=3600.0)
        live.update(1)                              # the first update emits; the next ones are rate-limited
        ns_live = 1e9 * min(timeit.repeat(lambda: live.update(2), number=n, repeat=5)) / n
        live.close()

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["listening"] / med["off"]
    result = {
        "benchmark": "progress hooks: FaSUn on DC1, nobody listening vs a listening no-op callback",
        "input": {"scene": "builtin_scene('dc1')", "shape": list(scene.cube.shape), "method": "FaSUn",
                  "params": params},
        "threads": 1,
        "runs_per_condition": args.runs,
        "times_s": times,
        "median_s": med,
        "ratio_listening_over_off": ratio,
        "overhead_percent": 100.0 * (ratio - 1.0),
        "target_percent": 100.0 * TARGET_OVERHEAD,
        "events_per_listening_run": events_per_run,
        "spread_s": {k: [min(v), max(v)] for k, v in times.items()},
        "update_cost_ns": {"no_listener": ns_null, "listening_between_events": ns_live},
        # what the hooks themselves cost per run: T updates at the listening price over the median
        # run (the emitted events, a few per second, add one no-op call each)
        "hook_cost_estimate_percent": 100.0 * args.T * ns_live * 1e-9 / med["off"],
        "uptime_before": load_before,
        "uptime_after": load_after,
        "platform": {"python": platform.python_version(), "machine": platform.machine(),
                     "processor": platform.processor(), "cpu_count": os.cpu_count()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"FaSUn DC1 T={args.T}, 1 thread, median of {args.runs}: off {med['off']:.3f} s, listening "
          f"{med['listening']:.3f} s -> ratio {ratio:.4f} ({100 * (ratio - 1):+.2f} %, target < "
          f"{100 * TARGET_OVERHEAD:.0f} %); {events_per_run:.0f} events per run; update: {ns_null:.0f} ns "
          f"(nobody listening), {ns_live:.0f} ns (listening, between events)")
    print(f"spread: off {min(times['off']):.3f}-{max(times['off']):.3f} s, listening "
          f"{min(times['listening']):.3f}-{max(times['listening']):.3f} s; the hooks' own cost: about "
          f"{result['hook_cost_estimate_percent']:.3f} % ({args.T} updates x {ns_live:.0f} ns)")
    print(f"uptime: {load_before} | {load_after}")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
