"""GPU check of the scene-trained pansharpening networks: one training epoch and inference on CUDA.

For each network (PNN, PanNet, DiCNN, FusionNet), on the shared WV2 pair at reduced resolution
(the degraded pair of Wald's protocol; a synthetic 8-band scene when the file is absent): trains
``--epochs`` epoch(s) with the published recipe's batch and patch size on ``device="cuda"``, saves
the checkpoint, fuses with it on CUDA and on the CPU, and prints the training time, Q8/SAM/ERGAS of
the CUDA fusion against the reference and the max relative difference between the CUDA and CPU
fusions of the same weights (rounding only; ``--max-rel-diff``, default 1e-3, else exit 1). Without
CUDA it prints ``skipped: no CUDA`` and exits 0; ``--device cpu`` runs the same steps on the CPU (a
dry run of this script).

Usage::

    python benchmarks/gpu_check_fusion_nets.py [--epochs 1 | --iterations 500] [--methods FusionNet,PanNet]
        [--out result.json]

On the WV2 pair one epoch (the disjoint 64 x 64 tiles of the 80 x 80 training image, one batch) is a
single iteration: ``--iterations`` gives a more telling GPU timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path("/work/shared/data/pansharpening_wv2/imgWV2.mat")


def _pair():
    from hysupp.simulate.fusion import wald_pansharpening_pair

    if DATA.exists():
        import hysupp

        scene = hysupp.load(str(DATA))
        return wald_pansharpening_pair(scene)
    rng = np.random.default_rng(0)
    base = rng.random((256, 256))
    ms = np.stack([100 + 50 * k + 200 * base + 20 * rng.random((256, 256)) for k in range(8)])
    pan = ms.mean(axis=0)
    return wald_pansharpening_pair(ms[:, ::4, ::4], pan, 4, "WV2")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="PNN,PanNet,DiCNN,FusionNet")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=None, help="train this many iterations instead of --epochs")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--max-rel-diff", type=float, default=1e-3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import torch

    from hysupp.methods.registry import get_method
    from hysupp.metrics.fusion import evaluate_fusion

    if args.device == "cuda" and not torch.cuda.is_available():
        print("skipped: no CUDA")
        return 0
    pair = _pair()
    ms, pan, ref = pair.low.require_cube(), pair.high.require_cube(), pair.reference.require_cube()
    sensor = pair.protocol.get("sensor")
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.methods.split(","):
            cls = get_method(name)
            budget = {"iterations": args.iterations} if args.iterations else {"epochs": args.epochs}
            net = cls(recipe="published", device=args.device, **budget)
            t0 = time.perf_counter()
            ck = net.train(ms, pan, ratio=pair.ratio, sensor=sensor)
            if args.device == "cuda":
                torch.cuda.synchronize()
            t_train = time.perf_counter() - t0
            path = ck.save(Path(tmp) / f"{name}.pt")
            t0 = time.perf_counter()
            fused_dev = cls(weights=str(path), device=args.device).fuse(ms, pan, ratio=pair.ratio, sensor=sensor).fused
            t_fuse = time.perf_counter() - t0
            fused_cpu = cls(weights=str(path), device="cpu").fuse(ms, pan, ratio=pair.ratio, sensor=sensor).fused
            rel = float(np.abs(fused_dev - fused_cpu).max() / max(np.abs(fused_cpu).max(), 1e-12))
            m = evaluate_fusion(ref, fused_dev, ratio=pair.ratio, protocol="rr", border=21, clip=True)
            row = {"method": name, "device": args.device, "iterations": ck.training["iterations"],
                   "batch_size": ck.training["recipe"]["batch_size"], "patch_size": ck.training["recipe"]["patch_size"],
                   "train_s": t_train, "fuse_s": t_fuse, "max_rel_diff_vs_cpu": rel, "q8": m.get("q8"),
                   "sam_deg": m.get("sam_deg"), "ergas": m.get("ergas"), "final_loss": ck.training["loss"][-1]}
            ok &= rel <= args.max_rel_diff and np.isfinite(fused_dev).all()
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": rows, "device_name": torch.cuda.get_device_name(0)
                                              if args.device == "cuda" else "cpu", "torch": torch.__version__},
                                             indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
