"""End-to-end check of training a pansharpening net from a PanCollection-format ``.h5`` set, on held-out data.

No PanCollection set is stored on the project's machines, so one is made in the PanCollection format from
the shared WorldView-2 pair (/work/shared/data/pansharpening_wv2/imgWV2.mat, 8 x 320 x 320 MS, 1280 x 1280
PAN, 11-bit digital numbers):

1. Wald's reduced-resolution pair of the scene (``hysupp.simulate.wald_pansharpening_pair``, sensor WV2):
   low MS 8 x 80 x 80, PAN 320 x 320, reference = the original MS (8 x 320 x 320).
2. Split by columns: the LEFT half (PAN columns 0..159) makes the training set, the RIGHT half (160..319)
   is the test scene, never seen in training.
3. Training set: 64 x 64 crops (stride 16) of the left half: ``gt`` (reference MS), ``ms`` (16 x 16 low MS),
   ``lms`` (23-tap interpolation of the left half's low MS, cropped), ``pan``, stored as float64 digital
   numbers (0..2047), N x C x H x W, written to a temporary ``.h5``.
4. ``train_on_dataset(DiCNN(recipe="cpu"), PanCollection(h5, scale=2047))`` (what ``hysupp train DiCNN
   --h5 FILE --h5-scale 2047`` runs), seed 0, one torch thread; checkpoint saved, then
   ``DiCNN(weights=...)`` fuses the right half's low MS + PAN.
5. Metrics (``hysupp.metrics.fusion.evaluate_fusion``, rr, border 21, clip to 11 bits) against the right
   half's reference, beside EXP (23-tap interpolation) and DiCNN trained on the test pair itself (Wald's
   pairs of the test input, the default scene training).

Writes benchmarks/results/pancollection_h5_wv2.json. Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pancollection_h5_wv2.py [--method DiCNN] [--iterations N]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path("/work/shared/data/pansharpening_wv2/imgWV2.mat")
ROOT = Path(__file__).resolve().parent.parent


def make_h5(path: Path, low: np.ndarray, pan: np.ndarray, ref: np.ndarray, ratio: int, size: int = 64,
            stride: int = 16) -> int:
    import h5py

    from hysupp.fusion.pansharpening.common import expand

    lms = expand(low, ratio)
    H, W = pan.shape[-2:]
    corners = [(i, j) for i in range(0, H - size + 1, stride) for j in range(0, W - size + 1, stride)]
    q = size // ratio
    with h5py.File(path, "w") as f:
        f["gt"] = np.stack([ref[:, i:i + size, j:j + size] for i, j in corners])
        f["lms"] = np.stack([lms[:, i:i + size, j:j + size] for i, j in corners])
        f["pan"] = np.stack([pan[:, i:i + size, j:j + size] for i, j in corners])
        f["ms"] = np.stack([low[:, i // ratio:i // ratio + q, j // ratio:j // ratio + q] for i, j in corners])
    return len(corners)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="DiCNN")
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pancollection_h5_wv2.json"))
    args = ap.parse_args()
    import torch

    from hysupp.fusion.pansharpening.common import expand
    from hysupp.io import load
    from hysupp.io.pancollection import PanCollection
    from hysupp.methods.registry import get_method
    from hysupp.metrics.fusion import evaluate_fusion
    from hysupp.nn.dataset_training import train_on_dataset
    from hysupp.simulate.fusion import wald_pansharpening_pair

    torch.set_num_threads(1)
    scene = load(DATA)
    r = int(scene.extras["ratio"])
    pair = wald_pansharpening_pair(scene.cube.astype(np.float64), np.asarray(scene.extras["pan"], np.float64), r,
                                   sensor="WV2", dtype=np.float64)
    low, pan, ref = pair.low.require_cube(), pair.high.require_cube(), pair.reference.require_cube()
    half_hr, half_lr = pan.shape[-1] // 2, low.shape[-1] // 2
    left = (low[:, :, :half_lr], pan[:, :, :half_hr], ref[:, :, :half_hr])
    test_low, test_pan, test_ref = low[:, :, half_lr:], pan[:, :, half_hr:], ref[:, :, half_hr:]

    def metrics(fused: np.ndarray) -> dict:
        m = evaluate_fusion(test_ref, fused, ratio=r, border=21, clip=True, include_ssim=False)
        return {k: float(m[k]) for k in ("q8", "sam_deg", "ergas", "scc", "psnr") if k in m}

    cls = get_method(args.method)
    params = {"recipe": "cpu", "device": "cpu", "seed": args.seed}
    if args.iterations is not None:
        params["iterations"] = args.iterations
    rows = [{"method": "EXP", **metrics(expand(test_low, r))}]
    with tempfile.TemporaryDirectory() as tmp:
        h5 = Path(tmp) / "train_wv2_left.h5"
        n = make_h5(h5, *left, r)
        t0 = time.perf_counter()
        with PanCollection(h5, scale=2047) as ds:
            ck = train_on_dataset(cls(**params), ds, sensor="WV2")
        wall = time.perf_counter() - t0
        ck.save(Path(tmp) / "model.pt")
        fused = cls(weights=str(Path(tmp) / "model.pt"), device="cpu").fuse(test_low, test_pan[0], ratio=r,
                                                                             sensor="WV2").fused
    rows.append({"method": f"{args.method} (trained on the left-half .h5, {n} samples)", **metrics(fused),
                 "training_time_s": ck.training["training_time_s"], "train_wall_s": wall,
                 "iterations": ck.training["iterations"], "loss_first": ck.training["loss"][0],
                 "loss_last": ck.training["loss"][-1]})
    print(json.dumps(rows[-1]), flush=True)
    res = cls(**params).fuse(test_low, test_pan[0], ratio=r, sensor="WV2")
    tr = res.info["training"]
    rows.append({"method": f"{args.method} (trained on the test pair itself, Wald)", **metrics(res.fused),
                 "training_time_s": tr["training_time_s"], "iterations": tr["iterations"]})
    print(json.dumps(rows[-1]), flush=True)
    uptime = subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()
    out = {"data": str(DATA), "protocol": "Wald rr pair (WV2 MTF); train: left half as PanCollection-format .h5 "
                                          "(64x64 crops, stride 16, DN 0..2047, scale 2047); test: right half",
           "n_train_samples": n, "test_shapes": {"low": list(test_low.shape), "pan": list(test_pan.shape)},
           "metrics": {"border": 21, "clip": True}, "rows": rows, "seed": args.seed, "torch_threads": 1,
           "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "uptime": uptime, "torch": torch.__version__,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    Path(args.out).write_text(json.dumps(out, indent=1))
    for row in rows:
        print(f"{row['method']:60s} Q8 {row.get('q8', float('nan')):.4f}  SAM {row['sam_deg']:.3f}  "
              f"ERGAS {row['ergas']:.3f}")


if __name__ == "__main__":
    main()
