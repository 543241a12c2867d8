"""HS-MS fusion on the Pavia University crop: every registered ``hs-ms-fusion`` method vs bicubic.

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
import subprocess
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("HYSUPP_SHARED_DATA", "/work/shared/data")) / "pavia_university" / "reg_pavia_dataset.mat"
OUT = Path(__file__).parent / "results" / "hsms_pavia.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    import hysupp
    from hysupp.methods.registry import available
    from hysupp.metrics.fusion import evaluate_fusion
    from hysupp.physics.sampling import bicubic
    from hysupp.simulate.fusion import hs_ms_pair

    pair = hs_ms_pair(hysupp.load(str(DATA)), 4, snr_hs=35, snr_ms=35)
    hs, ms, ref = pair.low.require_cube(), pair.high.require_cube(), pair.reference.require_cube()
    R = np.asarray(pair.protocol["operators"]["ms_srf"]["R"], dtype=np.float64)
    fwhm = pair.protocol["psf"]["fwhm"]
    uptime_before = subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()

    def timed(fn):
        times, out = [], None
        for _ in range(args.runs):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return out, float(np.median(times))

    def score(fused):
        m = evaluate_fusion(ref, np.asarray(fused), ratio=4, include_ssim=False)
        return {k: float(m[k]) for k in ("psnr_db", "sam_deg", "ergas")}

    rows = {}
    fused, t = timed(lambda: bicubic(hs, 4))
    rows["bicubic"] = {**score(fused), "time_s": t, "params": {}}
    for cls in sorted(available("hs-ms-fusion"), key=lambda c: c.name):
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
        "pair": {"data": str(DATA), "ratio": 4, "snr_hs_db": 35, "snr_ms_db": 35, "psf_fwhm": fwhm,
                 "hs_shape": list(hs.shape), "ms_shape": list(ms.shape), "srf_psf": "known (given to the methods)"},
        "metrics": "hysupp.metrics.fusion.evaluate_fusion(ref, fused, ratio=4, include_ssim=False)",
        "timing": f"median of {args.runs} runs, 1 thread (OMP/OPENBLAS/MKL_NUM_THREADS=1)",
        "uptime_before": uptime_before,
        "uptime_after": subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip(),
        "results": rows,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
