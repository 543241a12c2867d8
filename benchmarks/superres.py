"""Single-image super-resolution methods at ratio 2, reduced-resolution protocol; writes
benchmarks/results/superres.json (one row per scene x method, printed as JSON lines as they finish).

Protocol (``hysupp.super_resolve(..., protocol="rr")``): the image is degraded by the default
observation model (Gaussian PSF of MTF gain 0.29 at Nyquist, decimation by 2 at phase 1), super-resolved
by each method and scored against the original (PSNR, SAM, ERGAS, Q2n; ``border`` pixels removed).
The networks have no pretrained weights: they train on reduced-resolution pairs of the *degraded*
image (the only data they see), with their CPU recipe, on one torch thread.

Scenes: the WorldView-2 MS cube (``imgWV2.mat`` ``I_MS``, 8 x 320 x 320, 11-bit DN) and the ROSIS
Pavia University crop (``reg_pavia_dataset.mat`` ``I1``, 103 x 80 x 50).

Usage: .venv/bin/python benchmarks/superres.py [--scenes wv2,pavia] [--methods Bicubic,...] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENES = {"wv2": Path("/work/shared/data/pansharpening_wv2/imgWV2.mat"),
          "pavia": Path("/work/shared/data/pavia_university/reg_pavia_dataset.mat")}
METHODS = ("Bicubic", "Deconvolution", "SRCNN", "VDSR", "EDSR", "S5Net")
NETS = ("SRCNN", "VDSR", "EDSR", "S5Net")


def _load() -> str:
    return subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", default="wv2,pavia")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ratio", type=int, default=2)
    ap.add_argument("--border", type=int, default=4)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "superres.json"))
    args = ap.parse_args()
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(v, str(args.threads))
    import torch

    import hysupp
    from hysupp.io import load

    torch.set_num_threads(args.threads)
    rows = []
    for scene_name in args.scenes.split(","):
        path = SCENES[scene_name]
        scene = load(str(path), key="I1") if scene_name == "pavia" else load(str(path))
        cube = scene.require_cube()
        for name in args.methods.split(","):
            params = {"recipe": "cpu", "device": "cpu", "seed": 0} if name in NETS else {}
            before = _load()
            t0 = time.perf_counter()
            run = hysupp.super_resolve(scene, name, ratio=args.ratio, protocol="rr", params=params,
                                       border=args.border)
            wall = time.perf_counter() - t0
            m = run.metrics
            training = run.info.get("training", {})
            row = {"scene": scene_name, "shape": list(cube.shape), "method": name, "ratio": args.ratio,
                   "psnr_db": m["psnr_db"], "sam_deg": m["sam_deg"], "ergas": m["ergas"], "q2n": m.get("q2n"),
                   "training_time_s": training.get("training_time_s"),
                   "iterations": training.get("iterations"), "recipe": (training.get("recipe") or {}).get("recipe"),
                   "wall_time_s": wall, "threads": args.threads, "uptime_before": before, "uptime_after": _load()}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = {"protocol": "rr: default PSF (Gaussian, MTF gain 0.29 at Nyquist), decimation phase ratio//2; "
                       "networks trained on the degraded image only (CPU recipe, seed 0)",
           "border": args.border, "torch": torch.__version__, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
