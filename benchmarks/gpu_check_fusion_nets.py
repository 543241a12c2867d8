"""GPU check of every registered scene-trained fusion network: a short training and inference on CUDA.

The networks are discovered in the registry, not listed here (:func:`scene_trained_nets`): every
registered fusion method (pansharpening, HS-MS fusion, super-resolution) whose class has ``train``
and ``apply`` methods and declares the ``weights`` and ``recipe`` parameters (the interface of
:class:`hysupp.fusion.pansharpening.nets.PansharpeningNet` and the HS-MS nets), so a net added later
is checked without editing this script. For each: trains ``--epochs`` epoch(s) (or ``--iterations``)
with the published recipe's batch and patch size on ``--device``, saves the checkpoint, fuses with
it on that device and on the CPU, and reports the training time, the metrics of the device's fusion
against the reference and the max relative difference between the device and CPU fusions of the
same weights (float32 rounding only; ``--max-rel-diff``, default 1e-3). A net that fails, or exceeds
the tolerance, or gives non-finite values, makes the exit status 1 (its row holds the error).

Inputs: pansharpening, the shared WV2 pair at reduced resolution (Wald's degraded pair; a synthetic
8-band scene when the file is absent); HS-MS fusion, a synthetic 16-band 64 x 64 scene with a 4-band MS
(ratio 4); super-resolution, a synthetic 8-band 64 x 64 scene (ratio 4). Without CUDA and
``--device cuda`` (default) it prints ``skipped: no CUDA available (torch.cuda.is_available() is
False); nothing checked`` and exits 0; ``--device cpu`` runs the same steps on the CPU (a dry run).

Usage::

    python benchmarks/gpu_check_fusion_nets.py [--epochs 1 | --iterations 500] [--methods FusionNet,PanNet]
        [--device cuda|cpu] [--out result.json]

On the WV2 pair one epoch (the disjoint 64 x 64 tiles of the 80 x 80 training image, one batch) is a
single iteration: ``--iterations`` gives a more telling GPU timing.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path("/work/shared/data/pansharpening_wv2/imgWV2.mat")
FUSION_TASKS = ("pansharpening", "hs-ms-fusion", "super-resolution")


def scene_trained_nets() -> list[type]:
    """Registered fusion methods with the scene-trained network interface (module docstring)."""
    from hysupp.methods.registry import available

    out = []
    for cls in available():
        names = {p.name for p in getattr(cls, "params", ())}
        if (cls.task in FUSION_TASKS and callable(getattr(cls, "train", None))
                and callable(getattr(cls, "apply", None)) and {"weights", "recipe"} <= names):
            out.append(cls)
    return out


def _smooth(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return np.stack([gaussian_filter(rng.random(shape[1:]), 1.5) for _ in range(shape[0])])


def _pansharpening_inputs() -> dict[str, Any]:
    from hysupp.simulate.fusion import wald_pansharpening_pair

    if DATA.exists():
        import hysupp

        pair = wald_pansharpening_pair(hysupp.load(str(DATA)))
        source = str(DATA)
    else:
        rng = np.random.default_rng(0)
        base = rng.random((256, 256))
        ms = np.stack([100 + 50 * k + 200 * base + 20 * rng.random((256, 256)) for k in range(8)])
        pair = wald_pansharpening_pair(ms[:, ::4, ::4], ms.mean(axis=0), 4, "WV2")
        source = "synthetic 8-band"
    return {"args": (pair.low.require_cube(), pair.high.require_cube()), "ratio": pair.ratio,
            "kwargs": {"sensor": pair.protocol.get("sensor")}, "reference": pair.reference.require_cube(),
            "source": source + " (Wald reduced resolution)"}


def _hsms_inputs() -> dict[str, Any]:
    rng = np.random.default_rng(1)
    hr = 0.1 + _smooth(rng, (16, 64, 64))
    srf = np.repeat(np.eye(4), 4, axis=1) / 4.0                   # 4 MS bands, each the mean of 4 HS bands
    ms = np.einsum("ml,lhw->mhw", srf, hr)
    hs = hr.reshape(16, 16, 4, 16, 4).mean(axis=(2, 4))
    return {"args": (hs, ms), "ratio": 4, "kwargs": {}, "reference": hr, "source": "synthetic 16-band HS / 4-band MS"}


def _superres_inputs() -> dict[str, Any]:
    rng = np.random.default_rng(2)
    hr = 0.1 + _smooth(rng, (8, 64, 64))
    return {"args": (hr.reshape(8, 16, 4, 16, 4).mean(axis=(2, 4)),), "ratio": 4, "kwargs": {}, "reference": hr,
            "source": "synthetic 8-band"}


INPUTS = {"pansharpening": _pansharpening_inputs, "hs-ms-fusion": _hsms_inputs, "super-resolution": _superres_inputs}


def _metrics(ref: np.ndarray, fused: np.ndarray, ratio: int, task: str) -> dict[str, Any]:
    from hysupp.metrics.fusion import evaluate_fusion

    border = 21 if task == "pansharpening" else 0
    m = evaluate_fusion(ref, fused, ratio=ratio, protocol="rr", border=border, clip=task == "pansharpening")
    return {k: m.get(k) for k in ("q2n", "q8", "sam_deg", "ergas", "psnr") if m.get(k) is not None}


def check_one(cls: type, inputs: dict[str, Any], args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    import torch

    budget = {"iterations": args.iterations} if args.iterations else {"epochs": args.epochs}
    if "epochs" in budget and "epochs" not in {p.name for p in cls.params}:
        budget = {"iterations": 1}
    kw = {k: v for k, v in inputs["kwargs"].items() if k in inspect.signature(cls.train).parameters}
    ratio = inputs["ratio"]
    net = cls(recipe="published", device=args.device, **budget)
    t0 = time.perf_counter()
    ck = net.train(*inputs["args"], ratio=ratio, **kw)
    if args.device == "cuda":
        torch.cuda.synchronize()
    t_train = time.perf_counter() - t0
    path = ck.save(Path(tmp) / f"{cls.task}_{cls.name}.pt")
    apply_name = "super_resolve" if cls.task == "super-resolution" else "fuse"   # the task's entry point
    fkw = {k: v for k, v in inputs["kwargs"].items() if k in inspect.signature(getattr(cls, apply_name)).parameters}

    def run(device: str) -> np.ndarray:
        return getattr(cls(weights=str(path), device=device), apply_name)(*inputs["args"], ratio=ratio, **fkw).fused

    t0 = time.perf_counter()
    fused_dev = run(args.device)
    if args.device == "cuda":
        torch.cuda.synchronize()
    t_fuse = time.perf_counter() - t0
    fused_cpu = run("cpu")
    rel = float(np.abs(fused_dev - fused_cpu).max() / max(np.abs(fused_cpu).max(), 1e-12))
    rec = ck.training.get("recipe", {})
    row = {"method": cls.name, "task": cls.task, "device": args.device, "data": inputs["source"],
           "iterations": ck.training.get("iterations"), "batch_size": rec.get("batch_size"),
           "patch_size": rec.get("patch_size"), "train_s": t_train, "fuse_s": t_fuse, "max_rel_diff_vs_cpu": rel,
           "finite": bool(np.isfinite(fused_dev).all()), "final_loss": (ck.training.get("loss") or [None])[-1],
           **_metrics(inputs["reference"], fused_dev, ratio, cls.task)}
    row["ok"] = row["finite"] and rel <= args.max_rel_diff
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=None, help="comma-separated names (default: every discovered net)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=None, help="train this many iterations instead of --epochs")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--max-rel-diff", type=float, default=1e-3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("skipped: no CUDA available (torch.cuda.is_available() is False); nothing checked. "
              "Use --device cpu for a dry run on the CPU.")
        return 0
    nets = scene_trained_nets()
    if args.methods:
        wanted = {m.strip().lower() for m in args.methods.split(",")}
        nets = [c for c in nets if c.name.lower() in wanted]
    print(f"checking {len(nets)} nets: {', '.join(f'{c.task}/{c.name}' for c in nets)}", flush=True)
    cache: dict[str, Any] = {}
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for cls in nets:
            try:
                inputs = cache.setdefault(cls.task, INPUTS[cls.task]())
                row = check_one(cls, inputs, args, tmp)
            except Exception as exc:  # noqa: BLE001 - every failure is reported, the others still run
                row = {"method": cls.name, "task": cls.task, "device": args.device, "ok": False,
                       "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=3)}
            ok &= row["ok"]
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "traceback"}), flush=True)
    print(f"{sum(r['ok'] for r in rows)}/{len(rows)} nets ok", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": rows, "ok": ok, "max_rel_diff": args.max_rel_diff,
                                              "device_name": torch.cuda.get_device_name(0)
                                              if args.device == "cuda" else "cpu", "torch": torch.__version__,
                                              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
                                             indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
