"""HS-MS fusion networks on the Pavia University crop, trained on the observed pair with the CPU recipe.

Pair: :func:`hysupp.simulate.fusion.hs_ms_pair` (ratio 4, 35 dB on HS and MS, IKONOS SRF, Gaussian
PSF of FWHM 4), exactly the ``hsms-pavia`` pair of ``benchmarks/hsms_pavia.py``. The networks see
only the observed HS and MS (and the known SRF/PSF); the reference is used for scoring only.
Training and fusion time: one run per net, one thread (training is the cost; the CPU recipe is the
budget), ``uptime`` recorded before and after. Writes ``benchmarks/results/hsms_nets_pavia.json``.

    .venv/bin/python benchmarks/hsms_nets_pavia.py [--nets SSR-Net SST] [--seed 0]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import time
from pathlib import Path


OUT = Path(__file__).parent / "results" / "hsms_nets_pavia.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", nargs="+", default=["SSR-Net", "SST"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from _common import hsms_scores, pavia_hs_ms_pair, uptime

    from hysupp.methods.registry import get_method
    from hysupp.physics.sampling import bicubic

    p = pavia_hs_ms_pair()
    hs, ms, ref, R, fwhm = p["hs"], p["ms"], p["ref"], p["R"], p["fwhm"]

    def score(fused):
        return hsms_scores(ref, fused)

    rows = {"bicubic": score(bicubic(hs, 4))}
    previous = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for name in args.nets:
        net = get_method(name, "hs-ms-fusion")(device="cpu", seed=args.seed)
        before = uptime()
        t0 = time.perf_counter()
        res = net.fuse(hs, ms, ratio=4, srf=R, psf=fwhm)
        wall = time.perf_counter() - t0
        tr = res.info["training"]
        rows[name] = {**score(res.fused), "wall_s": wall, "training_s": tr["training_time_s"],
                      "iterations": tr["iterations"], "recipe": tr["recipe"], "final_loss": tr["loss"][-1],
                      "uptime_before": before, "uptime_after": uptime(), "seed": args.seed}
        print(f"{name:8s} PSNR {rows[name]['psnr_db']:6.2f} dB  SAM {rows[name]['sam_deg']:5.2f} deg  "
              f"ERGAS {rows[name]['ergas']:6.3f}  training {tr['training_time_s']:.0f} s", flush=True)
    b = rows["bicubic"]
    print(f"bicubic  PSNR {b['psnr_db']:6.2f} dB  SAM {b['sam_deg']:5.2f} deg  ERGAS {b['ergas']:6.3f}")
    results = {**previous.get("results", {}), **rows}
    record = {
        "benchmark": "HS-MS fusion networks trained on the observed pair, Pavia University crop",
        "pair": {**p["info"], "srf_psf": "known (given to the nets)"},
        "protocol": "trained on Wald reduced-resolution pairs of the observed HS/MS plus full-resolution "
                    "consistency (hysupp.fusion.hsms.nets); the reference is used for scoring only",
        "metrics": "hysupp.metrics.fusion.evaluate_fusion(ref, fused, ratio=4, include_ssim=False)",
        "timing": "one run per net, torch.set_num_threads(1), OMP/OPENBLAS/MKL_NUM_THREADS=1, CPU recipe",
        "results": results,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(record, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
