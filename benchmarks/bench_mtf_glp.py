"""Timing of MTF-GLP on a synthetic 2048 x 2048 PAN with 8 MS bands (512 x 512), 2 threads.

Target (issue 6): < 5 s. Median of ``--repeat`` runs after one warm-up; ``uptime`` recorded (the
box is shared). Writes benchmarks/results/mtf_glp_speed.json.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--bands", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from hysupp.fusion.pansharpening.mra import MTF_GLP

    rng = np.random.default_rng(0)
    r = 4
    pan = rng.random((args.size, args.size)) * 2047
    ms = rng.random((args.bands, args.size // r, args.size // r)) * 2047
    m = MTF_GLP()
    m.fuse(ms[:, :64, :64], pan[:256, :256], ratio=r, sensor="WV2")  # warm-up (kernel caches)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = m.fuse(ms, pan, ratio=r, sensor="WV2").fused
        times.append(time.perf_counter() - t0)
    res = {"method": "MTF-GLP", "pan": [args.size, args.size], "ms": list(ms.shape), "ratio": r,
           "threads": os.environ["OMP_NUM_THREADS"], "times_s": times, "median_s": float(np.median(times)),
           "target_s": 5.0, "dtype": str(out.dtype),
           "uptime": subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()}
    out_path = Path(__file__).resolve().parent / "results" / "mtf_glp_speed.json"
    out_path.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
