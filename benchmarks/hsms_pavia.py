"""HS-MS fusion on the Pavia University crop: every registered classical ``hs-ms-fusion`` method vs bicubic
(the networks: ``hsms_nets_pavia.py``).

Pair: :func:`hysupp.simulate.fusion.hs_ms_pair` (ratio 4, SNR 35 dB on HS and MS, IKONOS SRF,
Gaussian PSF of FWHM 4), the known SRF and PSF given to the methods. Metrics:
:func:`hysupp.metrics.fusion.evaluate_fusion` (PSNR, SAM, ERGAS). Times: median of ``--runs``
runs, one thread. Writes ``benchmarks/results/hsms_pavia.json``.

    .venv/bin/python benchmarks/hsms_pavia.py [--runs 3]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "hsms_pavia.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from _common import hsms_scores, pavia_hs_ms_pair, uptime

    from hysupp.methods.registry import available
    from hysupp.physics.sampling import bicubic

    p = pavia_hs_ms_pair()
    hs, ms, ref, R, fwhm = p["hs"], p["ms"], p["ref"], p["R"], p["fwhm"]
    uptime_before = uptime()

    def timed(fn):
        times, out = [], None
        for _ in range(args.runs):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return out, float(np.median(times))

    def score(fused):
        return hsms_scores(ref, fused)

    rows = {}
    fused, t = timed(lambda: bicubic(hs, 4))
    rows["bicubic"] = {**score(fused), "time_s": t, "params": {}}
    # the networks (trained on the pair, a "weights" parameter) have their own script: hsms_nets_pavia.py
    classical = [c for c in available("hs-ms-fusion") if "weights" not in {q.name for q in c.params}]
    for cls in sorted(classical, key=lambda c: c.name):
        name = cls.name
        method = cls()
        res, t = timed(lambda method=method: method.fuse(hs, ms, ratio=4, srf=R, psf=fwhm))
        rows[name] = {**score(res.fused), "time_s": t, "params": method.config}
        print(f"{name:10s} PSNR {rows[name]['psnr_db']:6.2f} dB  SAM {rows[name]['sam_deg']:5.2f} deg  "
              f"ERGAS {rows[name]['ergas']:5.3f}  {t:7.3f} s")
    print(f"{'bicubic':10s} PSNR {rows['bicubic']['psnr_db']:6.2f} dB  SAM {rows['bicubic']['sam_deg']:5.2f} deg  "
          f"ERGAS {rows['bicubic']['ergas']:5.3f}")
    result = {
        "benchmark": "HS-MS fusion, Pavia University crop",
        "pair": {**p["info"], "srf_psf": "known (given to the methods)"},
        "metrics": "hysupp.metrics.fusion.evaluate_fusion(ref, fused, ratio=4, include_ssim=False)",
        "timing": f"median of {args.runs} runs, 1 thread (OMP/OPENBLAS/MKL_NUM_THREADS=1)",
        "uptime_before": uptime_before,
        "uptime_after": uptime(),
        "results": rows,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
