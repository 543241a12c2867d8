"""GPU check for FaSUn and SUnS: CUDA against CPU on DC1 at 30 dB (seed 0).

Runs each method on ``device="cuda"`` and ``device="cpu"`` (float32, same input, same settings)
and prints the wall times, the max abs difference of the abundances ``A`` and the SRE (dB, true-atom
rows of ``B A``) of both. The runs are nonconvex and only rounding differs between the devices, so
the two SREs (not the iterates) are the meaningful comparison at large ``T``; ``--T`` (default
10000, the reference) can be lowered for a quicker look. Exits 0 with a ``skipped: no CUDA`` line
when CUDA is not available; exits 1 when an SRE differs by more than ``--max-sre-diff`` dB.

Usage::

    python benchmarks/gpu_check.py              # T = 10000
    python benchmarks/gpu_check.py --T 2000 --methods FaSUn
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=10000)
    ap.add_argument("--snr", type=float, default=30.0)
    ap.add_argument("--methods", nargs="+", default=["FaSUn", "SUnS"], choices=["FaSUn", "SUnS", "MiSiSUn"])
    ap.add_argument("--max-sre-diff", type=float, default=0.3)
    ap.add_argument("--cpu-threads", type=int, default=None, help="torch threads for the CPU run")
    ap.add_argument("--out", default=None, help="optional JSON output path")
    args = ap.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("skipped: no CUDA")
        return 0
    if args.cpu_threads:
        torch.set_num_threads(args.cpu_threads)

    import hysupp
    from hysupp.methods.registry import get_method
    from hysupp.metrics.unmixing import library_sre
    from hysupp.physics import add_awgn

    scene = hysupp.simulate("dc1", dtype="float64")
    Y = add_awgn(scene.pixels(), args.snr, seed=np.random.RandomState(0)).astype(np.float32)
    D = scene.library.astype(np.float32)
    idx = np.asarray(scene.library_index)
    A_true = scene.abundances.reshape(scene.abundances.shape[0], -1)
    p = A_true.shape[0]
    print(f"device: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; CPU threads "
          f"{torch.get_num_threads()}; T = {args.T}; DC1 at {args.snr:g} dB")

    ok = True
    record = {"T": args.T, "snr_db": args.snr, "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "cpu_threads": torch.get_num_threads(), "results": {}}
    for name in args.methods:
        cls = get_method(name, "semi-supervised")
        cls(T=5, device="cuda").unmix(Y, D, p=p)  # warm-up (CUDA context, kernels)
        out = {}
        for dev in ("cuda", "cpu"):
            res = cls(T=args.T, device=dev).unmix(Y, D, p=p)
            X = res.library_coefficients.astype(np.float64) @ res.abundances.astype(np.float64)
            out[dev] = {"wall_time_s": res.info["wall_time"], "sre_db": library_sre(A_true, X, idx)["sre_index"],
                        "A": res.abundances}
        diff = float(np.abs(out["cuda"]["A"] - out["cpu"]["A"]).max())
        dsre = out["cuda"]["sre_db"] - out["cpu"]["sre_db"]
        ok &= abs(dsre) <= args.max_sre_diff
        print(f"{name}: cuda {out['cuda']['wall_time_s']:.2f} s, SRE {out['cuda']['sre_db']:.3f} dB | cpu "
              f"{out['cpu']['wall_time_s']:.2f} s, SRE {out['cpu']['sre_db']:.3f} dB | max|A_cuda - A_cpu| "
              f"{diff:.2e}, SRE diff {dsre:+.3f} dB, speed-up {out['cpu']['wall_time_s'] / out['cuda']['wall_time_s']:.1f}x")
        record["results"][name] = {dev: {k: v for k, v in o.items() if k != "A"} for dev, o in out.items()}
        record["results"][name].update(max_abs_diff_A=diff, sre_diff_db=dsre)
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=2))
    print("PASS" if ok else f"FAIL: an SRE differs by more than {args.max_sre_diff} dB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
