"""Speed of the polyphase interpolation and of MTF-GLP against one FFT convolution per band (issue 21, item 5).

PAN 2048 x 2048, 8 MS bands (512 x 512 at ratio 4; 682 x 682 and a 2046 x 2046 PAN at ratio 3), float64,
1 thread (``OMP_NUM_THREADS`` and the BLAS variables set to 1 before numpy loads). Timed, each the median of
``--repeat`` runs after one warm-up, wall clock and process CPU time:

* ``fft_bound``: one FFT convolution per band -- ``scipy.signal.fftconvolve(band, 41 x 41 kernel,
  mode="same")`` on each of the 8 PAN-size bands (the cost of filtering every band once at full
  resolution, the bound the issue sets);
* ``expand_polyphase``: :func:`hysupp.physics.sampling.expand` (interp23tap cascade at ratio 4, the 12-point
  Lagrange interpolator at ratio 3), 8 bands;
* ``expand_dense``: the interpolation as it was before issue 21, the dense 1-D matrices ``M_y x M_x^T``
  (``Upsampling.matrix``; 2048 x 512 at ratio 4), 8 bands -- the reference for the speed-up;
* ``mtf_glp``: ``MTF_GLP().fuse`` with the WV2 gains (equalisation, 3 PAN filterings, 2 expansions).

Target: ``mtf_glp`` within 1.5 x ``fft_bound``. Writes ``benchmarks/results/interp_speed.json`` with
``uptime`` (the box is shared: compare ratios measured in the same run).

Usage: .venv/bin/python benchmarks/bench_interp.py [--repeat 5] [--size 2048]
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from _common import uptime  # noqa: E402  (benchmarks/ is on sys.path when a script runs)

OUT = Path(__file__).resolve().parent / "results" / "interp_speed.json"


def timed(f, repeat: int) -> dict:
    f()                                                    # warm-up (kernel and table caches)
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        f()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"wall_s": wall, "cpu_s": cpu, "median_wall_s": float(np.median(wall)),
            "median_cpu_s": float(np.median(cpu))}


def dense_expand(ms: np.ndarray, ratio: int) -> np.ndarray:
    """The pre-issue-21 application: dense 1-D interpolation matrices on both axes."""
    from hysupp.physics.sampling import Upsampling

    U = Upsampling(ratio, "interp23tap")
    My, Mx = U.matrix(ms.shape[1]), U.matrix(ms.shape[2])
    return np.matmul(np.matmul(My, ms), Mx.T)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--bands", type=int, default=8)
    args = ap.parse_args()
    from scipy.signal import fftconvolve

    from hysupp.fusion.pansharpening.mra import MTF_GLP
    from hysupp.physics.mtf import mtf_kernel
    from hysupp.physics.sampling import expand

    rng = np.random.default_rng(0)
    res: dict = {"pan": [args.size, args.size], "bands": args.bands, "threads": 1, "dtype": "float64",
                 "repeat": args.repeat, "uptime_start": uptime(), "cases": {}}
    for ratio in (4, 3):
        n = args.size // ratio
        H = n * ratio
        ms = rng.random((args.bands, n, n)) * 2047
        pan = rng.random((H, H)) * 2047
        k = mtf_kernel(0.3, ratio)
        case: dict = {"ms": list(ms.shape), "pan": [H, H]}
        case["fft_bound"] = timed(lambda: [fftconvolve(pan, k, mode="same") for _ in range(args.bands)],
                                  args.repeat)
        case["expand_polyphase"] = timed(lambda: expand(ms, ratio), args.repeat)
        if ratio == 4:
            a, b = expand(ms, ratio), dense_expand(ms, ratio)
            case["dense_vs_polyphase_max_rel_diff"] = float(np.abs(a - b).max() / np.abs(b).max())
            case["expand_dense"] = timed(lambda: dense_expand(ms, ratio), args.repeat)
        m = MTF_GLP()
        case["mtf_glp"] = timed(lambda: m.fuse(ms, pan, ratio=ratio, sensor="WV2"), args.repeat)
        fb = case["fft_bound"]["median_wall_s"]
        case["ratios_wall"] = {"mtf_glp_over_fft_bound": case["mtf_glp"]["median_wall_s"] / fb,
                               "expand_over_fft_bound": case["expand_polyphase"]["median_wall_s"] / fb}
        fc = case["fft_bound"]["median_cpu_s"]
        case["ratios_cpu"] = {"mtf_glp_over_fft_bound": case["mtf_glp"]["median_cpu_s"] / fc,
                              "expand_over_fft_bound": case["expand_polyphase"]["median_cpu_s"] / fc}
        if "expand_dense" in case:
            case["ratios_wall"]["dense_over_polyphase"] = (case["expand_dense"]["median_wall_s"]
                                                           / case["expand_polyphase"]["median_wall_s"])
            case["ratios_cpu"]["dense_over_polyphase"] = (case["expand_dense"]["median_cpu_s"]
                                                          / case["expand_polyphase"]["median_cpu_s"])
        case["target"] = "mtf_glp <= 1.5 x fft_bound"
        case["meets_target_wall"] = bool(case["ratios_wall"]["mtf_glp_over_fft_bound"] <= 1.5)
        res["cases"][f"ratio_{ratio}"] = case
        print(f"ratio {ratio}: " + json.dumps({"wall": case["ratios_wall"], "cpu": case["ratios_cpu"]}))
    res["uptime_end"] = uptime()
    res["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "numpy": np.__version__}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1))
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()
